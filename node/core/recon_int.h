/* recon_int.h - what the parts of recon share; not for use outside node/core/recon*.c.
 *
 * recon.h is the module's contract and docs/PROTOCOL.md "Reconciliation" the wire format. The
 * implementation is split by concern, one file each:
 *   recon_range.c  256-bit sums of ids, items and bounds, this side's view of a range
 *   recon_write.c  writing a reply: SKIP, FP, IDLIST and DIFF ranges, deferral, closing
 *   recon_read.c   reading and checking a peer's message, processing each of its ranges
 *   recon.c        sessions: lifetime, learned needs, recon_initiate, recon_respond, strerror
 */
#ifndef TLPMESH_NODE_RECON_INT_H
#define TLPMESH_NODE_RECON_INT_H

#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "node/core/recon.h"

enum { MODE_SKIP = 0, MODE_FP = 1, MODE_IDLIST = 2, MODE_DIFF = 3, MODE_NEWEST = 4 };

/* Prefix sums every STRIDE items: 2 bytes of memory per item, at most STRIDE additions per range
 * sum. A full prefix array would cost 32 bytes per item (32 MB per session at 10^6 items). */
#define STRIDE 16

/* Worst-case encodings, used to keep room so that a reply can always be closed. */
#define VARINT_MAX 10
#define COUNT_MAX 3 /* varint of any count <= 2^21 */
#define BOUND_MAX (VARINT_MAX + 1 + LIMIT_ID_BYTES)
#define ITEM_MIN (1 + LIMIT_ID_BYTES)
#define ITEM_MAX (VARINT_MAX + LIMIT_ID_BYTES)
#define SKIP_ENTRY_MAX (BOUND_MAX + 1)
#define FP_ENTRY_MAX (BOUND_MAX + 1 + RECON_FP_BYTES)
#define NEWEST_ENTRY_MAX (FP_ENTRY_MAX + VARINT_MAX)
#define BITMAP_MAX ((LIMIT_RECON_LIST_ITEMS + 7) / 8)
/* Kept free while writing ranges: a SKIP up to the deferral point and the deferring FP range. */
#define RESERVE (SKIP_ENTRY_MAX + FP_ENTRY_MAX)
#define FRESH_MAX (LIMIT_RECON_MSG_BYTES / ITEM_MIN + 1)

/* Every range must fit one message after the version byte: a list or DIFF range carries at
 * most this many items (recon_chunk_items), at least one even at the smallest cap. */
#define LIST_RANGE_FIXED (BOUND_MAX + 1 + COUNT_MAX + BITMAP_MAX)
_Static_assert(1 + LIST_RANGE_FIXED + ITEM_MAX <= LIMIT_RECON_MSG_MIN &&
                   1 + NEWEST_ENTRY_MAX <= LIMIT_RECON_MSG_MIN,
               "LIMIT_RECON_MSG_MIN too small for a range with one item");
/* Progress needs the first range of a flight to fit with at least one item next to the reserve. */
_Static_assert(SKIP_ENTRY_MAX + LIST_RANGE_FIXED + ITEM_MAX + RESERVE <= LIMIT_RECON_FLIGHT_BYTES,
               "LIMIT_RECON_FLIGHT_BYTES too small to guarantee progress");
_Static_assert(LIMIT_RECON_FLIGHT_BYTES < UINT32_MAX, "range offsets are 32 bits");
_Static_assert(LIMIT_RECON_LEAF_ITEMS < LIMIT_RECON_LIST_ITEMS &&
                   LIMIT_RECON_BUCKETS_MAX >= LIMIT_RECON_BUCKETS,
               "the last split's buckets are listed, not split again");
_Static_assert(LIMIT_RECON_LIST_ITEMS >= LIMIT_RECON_BUCKETS, "a split range must fill its buckets");
_Static_assert(LIMIT_RECON_MSG_BYTES < LIMIT_FRAME_BYTES, "a message must fit one frame");

/* 256-bit sums of ids read as little-endian integers, mod 2^256 (recon_range.c). */
struct sum256 {
    uint64_t w[4];
};

/* --- items and bounds --- */

/* A bound is the point (ts, prefix padded with zeros to 32 bytes), or infinity. */
struct bound {
    uint64_t ts;
    uint8_t len; /* significant prefix bytes on the wire */
    bool inf;
    uint8_t prefix[LIMIT_ID_BYTES]; /* zero-padded */
};

static const struct bound BOUND_MIN = {0};
static const struct bound BOUND_INF = {.inf = true};

static inline int item_cmp(const struct recon_item *a, const struct recon_item *b)
{
    if (a->ts != b->ts)
        return a->ts < b->ts ? -1 : 1;
    return memcmp(a->id, b->id, LIMIT_ID_BYTES);
}

static inline int item_bound_cmp(const struct recon_item *a, const struct bound *b)
{
    if (b->inf)
        return -1;
    if (a->ts != b->ts)
        return a->ts < b->ts ? -1 : 1;
    return memcmp(a->id, b->prefix, LIMIT_ID_BYTES);
}

static inline int bound_cmp(const struct bound *a, const struct bound *b)
{
    if (a->inf || b->inf)
        return (int)a->inf - (int)b->inf;
    if (a->ts != b->ts)
        return a->ts < b->ts ? -1 : 1;
    return memcmp(a->prefix, b->prefix, LIMIT_ID_BYTES);
}

/* --- this side's view of a range: its items plus the needs it learned, merged --- */

struct view {
    size_t i0, i1; /* items[i0..i1) */
    size_t j0, j1; /* needs[j0..j1) */
};

struct cursor {
    size_t i, j;
};

static inline size_t view_count(const struct view *v)
{
    return (v->i1 - v->i0) + (v->j1 - v->j0);
}

/* The next element at c (NULL at the end); *learned tells whether it is a learned need. */
static inline const struct recon_item *view_peek(const struct recon *r, const struct view *v,
                                                 const struct cursor *c, bool *learned)
{
    const struct recon_item *a = c->i < v->i1 ? &r->items[c->i] : NULL;
    const struct recon_item *b = c->j < v->j1 ? &r->needs[c->j] : NULL;
    *learned = b && (!a || item_cmp(b, a) < 0);
    return *learned ? b : a;
}

static inline void view_advance(struct cursor *c, bool learned)
{
    if (learned)
        c->j++;
    else
        c->i++;
}

/* The newest element of a non-empty view. */
static inline const struct recon_item *view_newest(const struct recon *r, const struct view *v)
{
    assert(view_count(v) > 0);
    const struct recon_item *a = v->i1 > v->i0 ? &r->items[v->i1 - 1] : NULL;
    const struct recon_item *b = v->j1 > v->j0 ? &r->needs[v->j1 - 1] : NULL;
    return !a ? b : !b ? a : item_cmp(a, b) > 0 ? a : b;
}

/* --- a flight being written --- */

/* The flight's ranges, without version bytes, in one growing buffer; recon_next cuts it into
 * messages at range starts. The buffer always has RESERVE bytes spare, so a flight can be closed
 * whatever allocation does; an allocation that fails counts as a full flight. */
struct writer {
    uint8_t *buf;
    size_t pos, cap, lim; /* lim: the flight cap (less the reserve while ranges are written) */
    bool full;          /* a write did not fit under lim; roll back to the last mark */
    struct bound prev;  /* the last bound written: the lower bound of the next range */
    size_t entries;
    bool asks;          /* an FP, NEWEST or IDLIST range was written: the peer must answer */
    uint32_t *starts;   /* offset of each range */
    size_t n_starts, cap_starts;
};

struct mark {
    size_t pos, entries, n_starts;
    struct bound prev;
    bool asks;
};

struct reply {
    struct writer w;
    bool deferred;      /* work from `defer` on did not fit; one FP range will cover it */
    struct bound defer;
    bool peer_asked;    /* the flight answered has an FP, NEWEST or IDLIST range: answer it */
    size_t chunk;       /* items per list or DIFF range, so that any range fits one message */
    const struct recon_diff *diff;
};

/* Between calls: where the peer's flight stands, the answer being written, what is sent of it. */
struct recon_turn {
    struct reply rp;
    struct bound in_lo; /* where the peer's next message starts */
    bool replying;      /* rp holds the answer to a peer flight that has not ended */
    size_t next_range;  /* the first range of rp.w not yet returned in a message */
};

/* recon_range.c */
struct bound recon_bound_between(const struct recon_item *a, const struct recon_item *b);
bool recon_contains(const struct recon_item *a, size_t n, const struct recon_item *it);
struct view recon_view_of(const struct recon *r, const struct bound *lo, const struct bound *up);
const struct recon_item *recon_view_at(const struct recon *r, const struct view *v,
                                       struct cursor *c, size_t *at, size_t p);
void recon_prefix_build(const struct recon_item *a, size_t n, struct sum256 *prefix);
void recon_prefix_update(const struct recon_item *a, size_t n, struct sum256 *prefix,
                         size_t from);
void recon_view_fp(const struct recon *r, const struct view *v, uint8_t fp[RECON_FP_BYTES]);

/* recon_write.c */
void recon_emit_open(const struct recon *r, struct reply *rp, const struct bound *lo,
                     const struct bound *up);
void recon_emit_newest(const struct recon *r, struct reply *rp, const struct bound *lo,
                       const struct bound *up);
void recon_answer_newest(struct recon *r, struct reply *rp, const struct bound *lo,
                         const struct bound *up, uint64_t newest_ts,
                         const uint8_t fp[RECON_FP_BYTES]);
void recon_emit_diff(struct recon *r, struct reply *rp, const struct bound *lo,
                     const struct bound *up, const struct recon_item *peer, size_t k);
void recon_fresh_add(struct recon *r, const struct recon_item *it);
void recon_report(const struct recon_diff *d, bool have, const struct recon_item *it);
void recon_reply_start(const struct recon *r, struct reply *rp, const struct recon_diff *d);
void recon_reply_finish(struct recon *r, struct reply *rp);
void recon_writer_free(struct writer *w);

/* recon_read.c */
int recon_walk_message(struct recon *r, const uint8_t *in, size_t in_len, struct reply *rp,
                       size_t *learnable, struct bound *end);

#endif
