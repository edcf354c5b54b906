/* recon_write.c - writing a reply: ranges as SKIP, FP, IDLIST or DIFF, as much as fits, the rest
 * deferred to one FP range (recon_int.h lists the parts, recon.h is the contract). */
#include "node/core/recon_int.h"

/* --- writing a reply --- */

static struct mark w_mark(const struct writer *w)
{
    struct mark m = {w->pos, w->entries, w->prev, w->asks};
    return m;
}

/* True when everything since m was written; otherwise undoes it. */
static bool w_commit(struct writer *w, const struct mark *m)
{
    if (!w->full)
        return true;
    w->pos = m->pos;
    w->entries = m->entries;
    w->prev = m->prev;
    w->asks = m->asks;
    w->full = false;
    return false;
}

static void w_bytes(struct writer *w, const void *p, size_t len)
{
    if (w->full || len > w->lim - w->pos) {
        w->full = true;
        return;
    }
    memcpy(w->buf + w->pos, p, len);
    w->pos += len;
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
    if (w->entries > LIMIT_RECON_RANGES - 2) /* room for the closing SKIP and FP */
        w->full = true;
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

static void write_list(struct reply *rp, const struct bound *lo, const struct bound *up,
                       const struct recon_item *list, size_t k)
{
    uint64_t base = lo->ts;
    w_entry_start(&rp->w, lo);
    w_bound(&rp->w, up);
    w_byte(&rp->w, MODE_IDLIST);
    w_varint(&rp->w, k);
    for (size_t i = 0; i < k; i++)
        w_item(&rp->w, &base, &list[i]);
    rp->w.asks = true;
}

/* Sends this side's whole (small) view of [lo, up), or as much of it as fits. */
static void emit_list(const struct recon *r, struct reply *rp, const struct bound *lo,
                      const struct bound *up, const struct view *v)
{
    struct recon_item list[LIMIT_RECON_LIST_ITEMS];
    size_t k = view_count(v);
    assert(k <= LIMIT_RECON_LIST_ITEMS);
    struct cursor c = {v->i0, v->j0};
    bool learned;
    for (size_t i = 0; i < k; i++) {
        list[i] = *view_peek(r, v, &c, &learned);
        view_advance(&c, learned);
    }
    struct mark m = w_mark(&rp->w);
    write_list(rp, lo, up, list, k);
    if (w_commit(&rp->w, &m))
        return;
    size_t room = rp->w.lim - rp->w.pos;
    size_t used = SKIP_ENTRY_MAX + BOUND_MAX + 1 + COUNT_MAX;
    size_t take = 0;
    for (uint64_t base = lo->ts; take < k; base = list[take++].ts) {
        used += varint_len(list[take].ts - base) + LIMIT_ID_BYTES;
        if (used > room)
            break;
    }
    if (take == 0) {
        defer_at(rp, lo);
        return;
    }
    assert(take < k);
    struct bound x = recon_bound_between(&list[take - 1], &list[take]);
    write_list(rp, lo, &x, list, take);
    assert(!rp->w.full);
    defer_at(rp, &x);
}

/* Splits [lo, up) into LIMIT_RECON_BUCKETS ranges of equal counts of this side's view. */
static void emit_buckets(const struct recon *r, struct reply *rp, const struct bound *lo,
                         const struct bound *up, const struct view *v)
{
    size_t n = view_count(v);
    assert(n > LIMIT_RECON_LIST_ITEMS);
    struct cursor c = {v->i0, v->j0};
    size_t at = 0;
    struct bound b_lo = *lo;
    for (size_t k = 1; k <= LIMIT_RECON_BUCKETS; k++) {
        struct bound b_up = *up;
        if (k < LIMIT_RECON_BUCKETS) {
            size_t p = k * n / LIMIT_RECON_BUCKETS;
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

/* The peer listed its items of [lo, up): answer with what each side lacks, as much as fits. */
void recon_emit_diff(struct recon *r, struct reply *rp, const struct bound *lo,
                     const struct bound *up, const struct recon_item *peer, size_t k)
{
    struct view v = recon_view_of(r, lo, up);
    struct union_walk start = {&v, {v.i0, v.j0}, peer, k, 0};
    struct union_walk u = start;
    enum elem_kind kind;
    size_t total = 0, m = 0, diffs = 0;
    while (union_next(r, &u, &kind)) {
        total++;
        m += kind == ELEM_HAVE;
        diffs += kind == ELEM_HAVE || kind == ELEM_NEED;
    }
    if (diffs == 0)
        return; /* the views agree: the range becomes part of a SKIP */
    if (write_diff(r, rp, lo, up, start, total, m, k))
        return;
    /* Too big: answer a prefix [lo, x) and defer the rest. */
    size_t room = rp->w.lim - rp->w.pos;
    size_t used = SKIP_ENTRY_MAX + BOUND_MAX + 1 + COUNT_MAX;
    size_t take = 0, kp = 0, items = 0;
    uint64_t base = lo->ts;
    const struct recon_item *prev = NULL, *it;
    u = start;
    m = 0;
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
    if (take == 0) {
        defer_at(rp, lo);
        return;
    }
    assert(it && take < total);
    struct bound x = recon_bound_between(prev, it);
    bool ok = write_diff(r, rp, lo, &x, start, take, m, kp);
    assert(ok);
    (void)ok;
    defer_at(rp, &x);
}

/* --- opening and closing a reply --- */

void recon_reply_start(struct reply *rp, uint8_t *out, size_t cap, const struct recon_diff *d)
{
    assert(cap >= LIMIT_RECON_MSG_MIN);
    memset(rp, 0, sizeof *rp);
    rp->w.buf = out;
    rp->w.lim = cap - RESERVE;
    rp->w.prev = BOUND_MIN;
    rp->diff = d;
    w_byte(&rp->w, RECON_VERSION);
}

/* Closes the reply: deferred work becomes one FP range to infinity; otherwise agreed space to
 * infinity becomes a SKIP. Only a message that asked nothing gets no answer (length 0): a peer
 * that asked must hear "all agreed" to know it is done. */
int recon_reply_finish(struct recon *r, struct reply *rp, size_t cap)
{
    struct writer *w = &rp->w;
    w->lim = cap;
    if (rp->deferred) {
        /* A first range always fits (LIMIT_RECON_MSG_MIN), so the deferral point moved on. */
        assert(w->entries > 0 && bound_cmp(&rp->defer, &BOUND_MIN) > 0);
        struct view v = recon_view_of(r, &rp->defer, &BOUND_INF);
        bool ok = emit_fp(r, rp, &rp->defer, &BOUND_INF, &v);
        assert(ok);
        (void)ok;
    } else if (w->entries == 0 && !rp->peer_asked) {
        r->done = true;
        return 0;
    } else if (!w->prev.inf) {
        w_bound(w, &BOUND_INF);
        w_byte(w, MODE_SKIP);
    }
    assert(!w->full && w->pos <= cap);
    r->done = !w->asks;
    return (int)w->pos;
}
