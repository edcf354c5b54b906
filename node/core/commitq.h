/* commitq.h - the commit queue: verified records waiting for their store commit, one FIFO per
 * source (a peer slot, or this node), taken into commits by deficit round robin (fair ingest,
 * issue 12).
 *
 * Why: a commit is one durable write transaction, and a record is announced, acknowledged or
 * forwarded only after it. Taken in arrival order, a flooding peer's verified records fill every
 * commit and an honest peer's record waits behind thousands of them. Taken in turn, each source
 * with records gets up to LIMIT_GOSSIP_COMMIT_QUANTUM of them per round, so a quiet source's
 * records go into the next commit whatever the flooder queued; and while more than one source
 * delivered lately (commitq_shared), gossip keeps commits to LIMIT_GOSSIP_COMMIT_SHARED records
 * of each source (commitq_round), so that the commit an honest record waits for is short too: a
 * flooder adds that many to it, however much it queued, and a hub's thousand constituents with a
 * few records each still share one commit rather than wait for a thousand. A lone source (an initial sync, a
 * bulk transfer) still gets commits of up to LIMIT_GOSSIP_COMMIT_BATCH.
 *
 * Items are caller's indices below cap (gossip's candidate slots), each queued at most once;
 * sources are 0..n_sources-1. Every operation is O(1) per item but for finding the next source
 * with items, a scan of a bitset (n_sources / 64 words).
 *
 * Ownership: struct commitq is caller-owned; commitq_init allocates its arrays, commitq_free
 * releases them (safe on a zeroed or failed queue). It keeps no pointer to its arguments.
 */
#ifndef TLPMESH_NODE_COMMITQ_H
#define TLPMESH_NODE_COMMITQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct commitq {
    uint32_t *next;        /* per item: the next item of its source's FIFO */
    uint32_t *head, *tail; /* per source: its FIFO (UINT32_MAX: empty) */
    uint32_t *count;       /* per source: items in its FIFO */
    uint64_t *active;      /* bitset of the sources with items */
    size_t cap, n_sources, len;
    size_t cursor;      /* the source being served, or the one to look from */
    size_t credit;      /* what the cursor's source may still take in this round */
    size_t quantum;     /* items per source per round */
    size_t last_source; /* the source of the last push: a change marks the queue shared */
    uint64_t shared_until;
    uint64_t shared_ms;
};

/* False when out of memory. cap items, n_sources sources (>= 1), quantum >= 1; the queue counts
 * as shared for shared_ms after a push from a source other than the previous push's. */
bool commitq_init(struct commitq *q, size_t cap, size_t n_sources, size_t quantum,
                  uint64_t shared_ms);
void commitq_free(struct commitq *q);

/* Queues item (< cap, not queued) at the tail of source's FIFO. */
void commitq_push(struct commitq *q, size_t source, uint32_t item, uint64_t now);

/* Takes up to max items into out, by deficit round robin: the source being served goes on with
 * what is left of its quantum, then each source with items in slot order (wrapping) takes up to
 * a quantum. Returns how many were taken; within a source, in the order pushed. */
size_t commitq_take(struct commitq *q, uint32_t *out, size_t max);

/* Items queued. */
size_t commitq_len(const struct commitq *q);

/* How many items one round would take with at most per_source from each source: the sum over
 * the sources of min(queued, per_source). O(sources with items + n_sources / 64). */
size_t commitq_round(const struct commitq *q, size_t per_source);

/* Did more than one source push within the last shared_ms before now? */
bool commitq_shared(const struct commitq *q, uint64_t now);

#endif
