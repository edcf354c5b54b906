/* recon_write.c - writing a reply: ranges as SKIP, FP, IDLIST or DIFF, as much as fits, the rest
 * deferred to one FP range (recon_int.h lists the parts, recon.h is the contract). */
#include "node/core/recon_int.h"

#include <stdlib.h>

/* --- writing a flight --- */

static struct mark w_mark(const struct writer *w)
{
    struct mark m = {w->pos, w->entries, w->n_starts, w->prev, w->asks};
    return m;
}

/* True when everything since m was written; otherwise undoes it. */
static bool w_commit(struct writer *w, const struct mark *m)
{
    if (!w->full)
        return true;
    w->pos = m->pos;
    w->entries = m->entries;
    w->n_starts = m->n_starts;
    w->prev = m->prev;
    w->asks = m->asks;
    w->full = false;
    return false;
}

/* Room for `more` bytes plus the reserve that closes a flight; false if allocation fails. */
static bool w_room(struct writer *w, size_t more)
{
    size_t need = w->pos + more + RESERVE;
    if (need <= w->cap)
        return true;
    size_t cap = w->cap * 2 > need ? w->cap * 2 : need;
    uint8_t *p = realloc(w->buf, cap);
    if (!p)
        return w->pos + more <= w->cap; /* the reserve itself is always there */
    w->buf = p;
    w->cap = cap;
    return true;
}

static void w_bytes(struct writer *w, const void *p, size_t len)
{
    if (w->full || len > w->lim - w->pos || !w_room(w, len)) {
        w->full = true;
        return;
    }
    memcpy(w->buf + w->pos, p, len);
    w->pos += len;
}

/* A range starts here: recon_next cuts messages only at range starts. Two spare slots close a
 * flight whatever allocation does. */
static void w_range_start(struct writer *w)
{
    if (w->full)
        return;
    if (w->n_starts + 2 >= w->cap_starts) {
        size_t cap = w->cap_starts * 2;
        uint32_t *p = realloc(w->starts, cap * sizeof *p);
        if (p) {
            w->starts = p;
            w->cap_starts = cap;
        } else if (w->n_starts == w->cap_starts) {
            w->full = true;
            return;
        }
    }
    w->starts[w->n_starts++] = (uint32_t)w->pos;
}

static void w_byte(struct writer *w, uint8_t b)
{
    w_bytes(w, &b, 1);
}

static size_t varint_len(uint64_t v)
{
    size_t k = 1;
    while (v >>= 7)
        k++;
    return k;
}

static void w_varint(struct writer *w, uint64_t v)
{
    uint8_t tmp[VARINT_MAX];
    size_t k = 0;
    do {
        tmp[k] = (uint8_t)(v & 0x7f);
        v >>= 7;
        if (v)
            tmp[k] |= 0x80;
        k++;
    } while (v);
    w_bytes(w, tmp, k);
}

static void w_bound(struct writer *w, const struct bound *b)
{
    assert(bound_cmp(&w->prev, b) < 0);
    w_range_start(w);
    if (b->inf) {
        w_varint(w, 0);
    } else {
        w_varint(w, b->ts - w->prev.ts + 1);
        w_byte(w, b->len);
        w_bytes(w, b->prefix, b->len);
    }
    w->prev = *b;
}

static void w_item(struct writer *w, uint64_t *base, const struct recon_item *it)
{
    assert(it->ts >= *base);
    w_varint(w, it->ts - *base);
    w_bytes(w, it->id, LIMIT_ID_BYTES);
    *base = it->ts;
}

/* Opens a range starting at lo: agreed space since the last bound becomes one SKIP range. */
static void w_entry_start(struct writer *w, const struct bound *lo)
{
    assert(bound_cmp(&w->prev, lo) <= 0);
    if (bound_cmp(&w->prev, lo) < 0) {
        w_bound(w, lo);
        w_byte(w, MODE_SKIP);
        w->entries++;
    }
    w->entries++;
}

static void defer_at(struct reply *rp, const struct bound *at)
{
    assert(!rp->deferred);
    rp->deferred = true;
    rp->defer = *at;
}

static bool emit_fp(const struct recon *r, struct reply *rp, const struct bound *lo,
                    const struct bound *up, const struct view *v)
{
    struct mark m = w_mark(&rp->w);
    uint8_t fp[RECON_FP_BYTES];
    recon_view_fp(r, v, fp);
    w_entry_start(&rp->w, lo);
    w_bound(&rp->w, up);
    w_byte(&rp->w, MODE_FP);
    w_bytes(&rp->w, fp, sizeof fp);
    rp->w.asks = true;
    return w_commit(&rp->w, &m);
}

/* IDLIST [lo, up) of list[0..k); false (nothing written) when the flight is full. */
static bool write_list(struct reply *rp, const struct bound *lo, const struct bound *up,
                       const struct recon_item *list, size_t k)
{
    struct mark m = w_mark(&rp->w);
    uint64_t base = lo->ts;
    w_entry_start(&rp->w, lo);
    w_bound(&rp->w, up);
    w_byte(&rp->w, MODE_IDLIST);
    w_varint(&rp->w, k);
    for (size_t i = 0; i < k; i++)
        w_item(&rp->w, &base, &list[i]);
    rp->w.asks = true;
    return w_commit(&rp->w, &m);
}

/* Sends this side's whole (small) view of [lo, up), in ranges of at most rp->chunk items so that
 * each fits one message; what does not fit the flight is deferred. */
static void emit_list(const struct recon *r, struct reply *rp, const struct bound *lo,
                      const struct bound *up, const struct view *v)
{
    struct recon_item list[LIMIT_RECON_LIST_ITEMS];
    size_t k = view_count(v);
    assert(k <= LIMIT_RECON_LIST_ITEMS && rp->chunk > 0);
    struct cursor c = {v->i0, v->j0};
    bool learned;
    for (size_t i = 0; i < k; i++) {
        list[i] = *view_peek(r, v, &c, &learned);
        view_advance(&c, learned);
    }
    struct bound at = *lo;
    size_t done = 0;
    do {
        size_t take = k - done < rp->chunk ? k - done : rp->chunk;
        struct bound x = *up;
        if (done + take < k)
            x = recon_bound_between(&list[done + take - 1], &list[done + take]);
        if (!write_list(rp, &at, &x, list + done, take)) {
            defer_at(rp, &at);
            return;
        }
        at = x;
        done += take;
    } while (done < k);
}

/* Splits [lo, up) into ranges of equal counts of this side's view: LIMIT_RECON_BUCKETS of them,
 * or, when the view is small enough, as many as leave LIMIT_RECON_LEAF_ITEMS in each, which the
 * peer then lists rather than splitting once more. */
static void emit_buckets(const struct recon *r, struct reply *rp, const struct bound *lo,
                         const struct bound *up, const struct view *v)
{
    size_t n = view_count(v);
    assert(n > LIMIT_RECON_LIST_ITEMS);
    size_t nb = LIMIT_RECON_BUCKETS;
    if (n <= (size_t)LIMIT_RECON_LEAF_ITEMS * LIMIT_RECON_BUCKETS_MAX)
        nb = (n + LIMIT_RECON_LEAF_ITEMS - 1) / LIMIT_RECON_LEAF_ITEMS;
    struct cursor c = {v->i0, v->j0};
    size_t at = 0;
    struct bound b_lo = *lo;
    for (size_t k = 1; k <= nb; k++) {
        struct bound b_up = *up;
        if (k < nb) {
            size_t p = k * n / nb;
            struct recon_item before = *recon_view_at(r, v, &c, &at, p - 1);
            b_up = recon_bound_between(&before, recon_view_at(r, v, &c, &at, p));
        }
        struct view bv = recon_view_of(r, &b_lo, &b_up);
        if (!emit_fp(r, rp, &b_lo, &b_up, &bv)) {
            defer_at(rp, &b_lo);
            return;
        }
        b_lo = b_up;
    }
}

/* An open range: the peer's fingerprint differs, or nothing was said about it yet. */
void recon_emit_open(const struct recon *r, struct reply *rp, const struct bound *lo,
                     const struct bound *up)
{
    struct view v = recon_view_of(r, lo, up);
    if (view_count(&v) <= LIMIT_RECON_LIST_ITEMS)
        emit_list(r, rp, lo, up, &v);
    else
        emit_buckets(r, rp, lo, up, &v);
}

/* NEWEST [lo, up): the fingerprint of this side's (non-empty) view and its newest timestamp. */
void recon_emit_newest(const struct recon *r, struct reply *rp, const struct bound *lo,
                       const struct bound *up)
{
    struct view v = recon_view_of(r, lo, up);
    struct mark m = w_mark(&rp->w);
    uint8_t fp[RECON_FP_BYTES];
    recon_view_fp(r, &v, fp);
    w_entry_start(&rp->w, lo);
    w_bound(&rp->w, up);
    w_byte(&rp->w, MODE_NEWEST);
    w_varint(&rp->w, view_newest(r, &v)->ts - lo->ts);
    w_bytes(&rp->w, fp, sizeof fp);
    rp->w.asks = true;
    if (!w_commit(&rp->w, &m))
        defer_at(rp, lo);
}

static bool fp_equal(const struct recon *r, const struct bound *lo, const struct bound *up,
                     const uint8_t fp[RECON_FP_BYTES])
{
    struct view v = recon_view_of(r, lo, up);
    uint8_t mine[RECON_FP_BYTES];
    recon_view_fp(r, &v, mine);
    return memcmp(mine, fp, RECON_FP_BYTES) == 0; /* both public: no secret to time */
}

/* The peer's NEWEST [lo, up) with its newest timestamp t differs from this side's view (docs/
 * PROTOCOL.md "Turns"): first the cases where one side lacks the other's newest records. */
void recon_answer_newest(struct recon *r, struct reply *rp, const struct bound *lo,
                         const struct bound *up, uint64_t t, const uint8_t fp[RECON_FP_BYTES])
{
    if (fp_equal(r, lo, up, fp))
        return; /* agreed */
    struct view v = recon_view_of(r, lo, up);
    if (view_count(&v) > 0) {
        const struct recon_item *newest = view_newest(r, &v);
        if (newest->ts > t && t + 1 < UINT64_MAX) {
            struct bound x = {.ts = t + 1};
            if (fp_equal(r, lo, &x, fp)) { /* the peer holds exactly my items below x */
                recon_emit_diff(r, rp, &x, up, NULL, 0);
                return;
            }
        }
        if (view_count(&v) > LIMIT_RECON_LIST_ITEMS && newest->ts < t) {
            /* Claim that my view is the peer's below y: one fingerprint, an empty list above. */
            struct bound y = {.ts = newest->ts + 1};
            struct mark m = w_mark(&rp->w);
            if (emit_fp(r, rp, lo, &y, &v) && write_list(rp, &y, up, NULL, 0))
                return;
            rp->w.full = true; /* undo the fingerprint if the list did not fit */
            w_commit(&rp->w, &m);
            defer_at(rp, lo);
            return;
        }
    }
    recon_emit_open(r, rp, lo, up);
}

/* --- answering a peer's list: walk the union of this side's view and the peer's items --- */

enum elem_kind { ELEM_BOTH, ELEM_HAVE, ELEM_LEARNED_ONLY, ELEM_NEED };

struct union_walk {
    const struct view *v;
    struct cursor c;
    const struct recon_item *peer;
    size_t k, p;
};

static const struct recon_item *union_next(const struct recon *r, struct union_walk *u,
                                           enum elem_kind *kind)
{
    bool learned;
    const struct recon_item *mine = view_peek(r, u->v, &u->c, &learned);
    const struct recon_item *theirs = u->p < u->k ? &u->peer[u->p] : NULL;
    if (!mine && !theirs)
        return NULL;
    int cmp = !mine ? 1 : !theirs ? -1 : item_cmp(mine, theirs);
    if (cmp <= 0)
        view_advance(&u->c, learned);
    if (cmp >= 0)
        u->p++;
    /* A learned need the peer did not list is the peer's inconsistency: neither side's report. */
    *kind = cmp == 0 ? ELEM_BOTH : cmp > 0 ? ELEM_NEED : learned ? ELEM_LEARNED_ONLY : ELEM_HAVE;
    return cmp > 0 ? theirs : mine;
}

void recon_fresh_add(struct recon *r, const struct recon_item *it)
{
    assert(r->n_fresh < r->cap_fresh);
    assert(r->n_fresh == 0 || item_cmp(&r->fresh[r->n_fresh - 1], it) < 0);
    r->fresh[r->n_fresh++] = *it;
}

void recon_report(const struct recon_diff *d, bool have, const struct recon_item *it)
{
    if (!d)
        return;
    void (*fn)(void *, const struct recon_item *) = have ? d->have : d->need;
    if (fn)
        fn(d->ctx, it);
}

/* Writes DIFF [lo, up) over the first `take` union elements (m of them mine only, kp the peer's)
 * and, once written, reports them. */
static bool write_diff(struct recon *r, struct reply *rp, const struct bound *lo,
                       const struct bound *up, struct union_walk u, size_t take, size_t m,
                       size_t kp)
{
    struct mark mk = w_mark(&rp->w);
    uint8_t bitmap[BITMAP_MAX] = {0};
    struct union_walk again = u;
    uint64_t base = lo->ts;
    enum elem_kind kind;
    w_entry_start(&rp->w, lo);
    w_bound(&rp->w, up);
    w_byte(&rp->w, MODE_DIFF);
    w_varint(&rp->w, m);
    for (size_t e = 0, bit = 0; e < take; e++) {
        const struct recon_item *it = union_next(r, &u, &kind);
        if (kind == ELEM_HAVE)
            w_item(&rp->w, &base, it);
        if (kind == ELEM_NEED)
            bitmap[bit / 8] |= (uint8_t)(1u << (bit % 8));
        bit += kind == ELEM_BOTH || kind == ELEM_NEED;
    }
    w_bytes(&rp->w, bitmap, (kp + 7) / 8);
    if (!w_commit(&rp->w, &mk))
        return false;
    for (size_t e = 0; e < take; e++) {
        const struct recon_item *it = union_next(r, &again, &kind);
        if (kind == ELEM_NEED)
            recon_fresh_add(r, it);
        if (kind == ELEM_HAVE || kind == ELEM_NEED)
            recon_report(rp->diff, kind == ELEM_HAVE, it);
    }
    return true;
}

/* DIFF [lo, ...) over union elements from u, as many as fit the rest of the flight, then a
 * deferral (the flight is full). */
static void diff_fit(struct recon *r, struct reply *rp, const struct bound *lo, struct union_walk u)
{
    size_t room = rp->w.lim - rp->w.pos;
    size_t used = SKIP_ENTRY_MAX + BOUND_MAX + 1 + COUNT_MAX;
    size_t take = 0, kp = 0, items = 0, m = 0;
    uint64_t base = lo->ts;
    const struct recon_item *prev = NULL, *it;
    struct union_walk start = u;
    enum elem_kind kind;
    while ((it = union_next(r, &u, &kind))) {
        size_t add = kind == ELEM_HAVE ? varint_len(it->ts - base) + LIMIT_ID_BYTES : 0;
        size_t kp_next = kp + (kind == ELEM_BOTH || kind == ELEM_NEED);
        if (used + items + add + (kp_next + 7) / 8 > room)
            break;
        items += add;
        kp = kp_next;
        m += kind == ELEM_HAVE;
        base = kind == ELEM_HAVE ? it->ts : base;
        prev = it;
        take++;
    }
    if (take == 0 || !it) { /* !it: it all fits, so memory ran out */
        defer_at(rp, lo);
        return;
    }
    struct bound x = recon_bound_between(prev, it);
    defer_at(rp, write_diff(r, rp, lo, &x, start, take, m, kp) ? &x : lo);
}

/* The peer listed its items of [lo, up) (k of them; none for a range it holds nothing in): answer
 * with what each side lacks, in DIFF ranges of at most rp->chunk own items, as much as fits. */
void recon_emit_diff(struct recon *r, struct reply *rp, const struct bound *lo,
                     const struct bound *up, const struct recon_item *peer, size_t k)
{
    struct view v = recon_view_of(r, lo, up);
    struct union_walk u = {&v, {v.i0, v.j0}, peer, k, 0};
    struct bound at = *lo;
    enum elem_kind kind;
    for (;;) {
        /* The next chunk: elements up to the one that would be the (chunk + 1)-th own item. */
        struct union_walk start = u;
        size_t take = 0, m = 0, kp = 0, diffs = 0;
        const struct recon_item *prev = NULL, *it;
        while ((it = union_next(r, &u, &kind))) {
            if (kind == ELEM_HAVE && m == rp->chunk)
                break;
            take++;
            m += kind == ELEM_HAVE;
            kp += kind == ELEM_BOTH || kind == ELEM_NEED;
            diffs += kind == ELEM_HAVE || kind == ELEM_NEED;
            prev = it;
        }
        struct bound x = *up;
        if (it)
            x = recon_bound_between(prev, it);
        u = start;
        if (diffs > 0 && !write_diff(r, rp, &at, &x, start, take, m, kp)) {
            diff_fit(r, rp, &at, start);
            return;
        }
        if (!it)
            return; /* a chunk without differences stays agreed space (a SKIP) */
        for (size_t e = 0; e < take; e++)
            union_next(r, &u, &kind);
        at = x;
    }
}

/* --- opening and closing a flight --- */

void recon_reply_start(const struct recon *r, struct reply *rp, const struct recon_diff *d)
{
    struct writer *w = &rp->w;
    assert(w->buf && w->cap >= RESERVE && w->cap_starts >= 2);
    w->pos = w->entries = w->n_starts = 0;
    w->lim = LIMIT_RECON_FLIGHT_BYTES - RESERVE;
    w->full = w->asks = false;
    w->prev = BOUND_MIN;
    rp->deferred = rp->peer_asked = false;
    rp->chunk = (r->max_msg - 1 - LIST_RANGE_FIXED) / ITEM_MAX;
    rp->diff = d;
}

/* Closes the flight: deferred work becomes one FP range to infinity; otherwise agreed space to
 * infinity becomes a SKIP. Only a flight that asked nothing gets no answer (nothing written): a
 * peer that asked must hear "all agreed" to know it is done. */
void recon_reply_finish(struct recon *r, struct reply *rp)
{
    struct writer *w = &rp->w;
    w->lim = LIMIT_RECON_FLIGHT_BYTES;
    if (rp->deferred) {
        /* The first range of a flight always fits, so the deferral point moved on, unless memory
         * ran out: then the peer is asked to start over, within LIMIT_RECON_ROUNDS. */
        struct view v = recon_view_of(r, &rp->defer, &BOUND_INF);
        bool ok = emit_fp(r, rp, &rp->defer, &BOUND_INF, &v);
        assert(ok);
        (void)ok;
    } else if (w->entries == 0 && !rp->peer_asked) {
        r->done = true;
        return;
    } else if (!w->prev.inf) {
        w_bound(w, &BOUND_INF);
        w_byte(w, MODE_SKIP);
    }
    assert(!w->full && w->pos <= LIMIT_RECON_FLIGHT_BYTES);
    r->done = !w->asks;
}

void recon_writer_free(struct writer *w)
{
    free(w->buf);
    free(w->starts);
    memset(w, 0, sizeof *w);
}
