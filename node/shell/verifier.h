/* verifier.h - signature checks on libuv's thread pool for a node (node/core/node.h).
 *
 * One job per RECORDS message runs gossip_job_run() on a pool thread, so that several messages'
 * signatures are checked at once while the loop goes on; its after-callback gives the job back
 * with node_verified() on the loop thread. A job the pool refuses is checked at the node's next
 * turn (node_verify_later) instead. `tlpmesh run` and the ingest bench use it.
 *
 * Ownership: struct verifier is caller-owned and must outlive every job it queued: stop the loop
 * only after `out` is back to 0 (uv_run returns once no work is queued). It keeps pointers to
 * the loop and the node.
 */
#ifndef TLPMESH_NODE_VERIFIER_H
#define TLPMESH_NODE_VERIFIER_H

#include <stddef.h>

#include <uv.h>

#include "node/core/node.h"

struct verifier {
    uv_loop_t *loop;
    struct node *node;
    size_t out; /* jobs on the pool, not yet given back */
};

void verifier_init(struct verifier *v, uv_loop_t *loop, struct node *node);

/* What node_io.verify does: queue job on the pool, or have the node check it at its next turn. */
void verifier_submit(struct verifier *v, struct gossip_job *job);

#endif
