/* verifier.h - signature checks on libuv's thread pool for a node (node/core/node.h).
 *
 * Each job (gossip: up to LIMIT_GOSSIP_JOB_RECORDS records of one peer) runs gossip_job_run() on
 * a pool thread, so that several are checked at once while the loop goes on; its after-callback
 * gives the job back with node_verified() on the loop thread. A job the pool refuses is checked
 * at the node's next turn (node_verify_later) instead. `tlpmesh run` and the ingest bench use it.
 *
 * Fair across peers (issue 12; the schedule is verifyq.h's): jobs wait in one queue per sending
 * peer slot (job->from), and a pool thread that becomes free takes the next job of the next peer
 * in turn, not the oldest. A quiet peer's job thus waits for about one running job, however many
 * a flooding peer queued; a quiet peer's small job skips the pool (checked at the node's turn).
 *
 * Ownership: struct verifier is caller-owned and must outlive every job it queued: stop the loop
 * only after `out` is back to 0 (uv_run returns once no work is queued), then verifier_close().
 * It keeps pointers to the loop and the node. Between verifier_submit and node_verified it owns
 * the job's `user` field (the queue link).
 */
#ifndef TLPMESH_NODE_VERIFIER_H
#define TLPMESH_NODE_VERIFIER_H

#include <stddef.h>

#include <uv.h>

#include "node/core/node.h"
#include "node/shell/verifyq.h"

struct verifier {
    uv_loop_t *loop;
    struct node *node;
    size_t out;      /* jobs on the pool, not yet given back */
    uv_mutex_t lock; /* q: the loop thread adds, pool threads take */
    struct verifyq q;
};

/* 0, or a negative libuv error (the mutex). */
int verifier_init(struct verifier *v, uv_loop_t *loop, struct node *node);
/* After the last job came back; safe on a zeroed or failed verifier. */
void verifier_close(struct verifier *v);

/* What node_io.verify does: queue job on the pool, or have the node check it at its next turn. */
void verifier_submit(struct verifier *v, struct gossip_job *job);

#endif
