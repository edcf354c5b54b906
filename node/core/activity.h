/* activity.h - what a node did in each of its last LIMIT_ACTIVITY_MINUTES minutes, sans-IO.
 *
 * A ring of one-minute buckets (LIMIT_ACTIVITY_MINUTE_MS each, aligned to multiples of it on the
 * caller's monotonic clock): records received new from peers (stored), records sent to peers,
 * records published locally, records refused. The owner (gossip) does not count into it event by
 * event: it passes its cumulative counters with the `now` of each call (activity_note), and the
 * difference since the last note goes to now's minute. Time only moves the ring forward: the
 * buckets of minutes no note fell in read as zero, however long the gap; a `now` earlier than the
 * last note's counts in the newest bucket. No clock is read.
 *
 * Ownership: struct activity is plain data inside its owner, zeroed to start (as by calloc);
 * nothing to free.
 */
#ifndef TLPMESH_NODE_ACTIVITY_H
#define TLPMESH_NODE_ACTIVITY_H

#include <stddef.h>
#include <stdint.h>

#include "proto/limits.h"

/* What the ring counts, in this order in activity_note's totals. */
enum activity_kind {
    ACTIVITY_RECEIVED,  /* records from peers stored new */
    ACTIVITY_SENT,      /* records sent in full to peers */
    ACTIVITY_PUBLISHED, /* records this node's own tools added (the local scan) */
    ACTIVITY_REFUSED,   /* records refused: time rules, inbound gate, outbound gate */
    ACTIVITY_KINDS,
};

/* One minute, as activity_read gives it: start_ms on the caller's clock. */
struct activity_minute {
    uint64_t start_ms;
    uint32_t received, sent, published, refused;
};

struct activity {
    uint32_t count[LIMIT_ACTIVITY_MINUTES][ACTIVITY_KINDS]; /* minute m in row m % MINUTES */
    uint64_t minute;               /* the newest row's minute (now / MINUTE_MS) */
    uint64_t last[ACTIVITY_KINDS]; /* the totals of the last note */
};
_Static_assert(sizeof(((struct activity *)0)->count[0]) == 16, "a minute is 16 bytes");

/* The owner's cumulative counters (never decreasing) at now_ms: what grew since the last note
 * is added to now's minute (saturating at UINT32_MAX). */
void activity_note(struct activity *a, uint64_t now_ms, const uint64_t totals[ACTIVITY_KINDS]);

/* The last min(max, LIMIT_ACTIVITY_MINUTES) minutes up to now_ms's, oldest first, into out
 * (fewer while the clock has not yet counted that many minutes); returns how many. */
size_t activity_read(const struct activity *a, uint64_t now_ms, struct activity_minute *out,
                     size_t max);

#endif
