/* verifyq.h - the verifier's schedule (node/shell/verifier.h): which signature job runs next,
 * and which small jobs skip the pool (fair ingest, issue 12). No locks, no clock: the verifier
 * holds its lock around push and take and passes the loop's ms.
 *
 * Jobs wait in one FIFO per sending peer slot (job->from); a pool thread that becomes free takes
 * the first job of the next slot with one, round robin, so a quiet peer's job waits for about one
 * running job however many a flooder queued. The slots with jobs wait in a ring (each at most
 * once), so a take costs the same with 2 slots as with LIMIT_PEERS; the slot just served goes
 * back to the ring's tail at the next take, behind any slot that got its first job meanwhile. A small job of a slot with no job queued or on the
 * pool is checked on the loop thread instead, within LIMIT_VERIFY_INLINE_RECORDS per loop ms: a
 * pool result is handed back only in the loop turn after, and under a flood each turn holds a
 * store commit, so the quiet peer's record is committed a turn sooner; a flooder always has jobs
 * on the pool, so its records never are checked there.
 *
 * Ownership: caller-owned (zero it to start); it links queued jobs through their `user` field
 * until verifyq_take returns them, and frees nothing.
 */
#ifndef TLPMESH_NODE_VERIFYQ_H
#define TLPMESH_NODE_VERIFYQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "node/core/gossip.h"
#include "proto/limits.h"

struct verifyq {
    struct gossip_job *head[LIMIT_PEERS], *tail[LIMIT_PEERS]; /* by verifyq_slot */
    uint16_t busy[LIMIT_PEERS]; /* per slot: jobs pushed and not yet done */
    uint16_t ready[LIMIT_PEERS]; /* ring of the slots with queued jobs, in the order served */
    size_t ready_head, ready_len;
    size_t served; /* + 1: the slot the last take served, jobs left, not yet back in the ring */
    uint64_t inline_ms;         /* the loop ms that inline_left is the budget of */
    size_t inline_left;
};

/* The queue job waits in: its sender's slot (gossip verifies peers' records only). */
size_t verifyq_slot(const struct gossip_job *job);

/* Should job be checked on the loop thread rather than pushed? True takes it from now_ms's
 * budget: job->n records at most LIMIT_VERIFY_INLINE_RECORDS a loop ms, its slot not busy. */
bool verifyq_inline(struct verifyq *q, const struct gossip_job *job, uint64_t now_ms);

/* Queues job at the tail of its slot's FIFO; its slot is busy until verifyq_done. */
void verifyq_push(struct verifyq *q, struct gossip_job *job);

/* The first job of the next slot with one, round robin, or NULL when none is queued. */
struct gossip_job *verifyq_take(struct verifyq *q);

/* A pushed job was checked. */
void verifyq_done(struct verifyq *q, const struct gossip_job *job);

#endif
