/* recon.c - range-based set reconciliation; see recon.h for the contract and docs/PROTOCOL.md
 * "Reconciliation" for the wire format. */
#include "node/core/recon.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

enum { MODE_SKIP = 0, MODE_FP = 1, MODE_IDLIST = 2, MODE_DIFF = 3 };

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
#define BITMAP_MAX ((LIMIT_RECON_LIST_ITEMS + 7) / 8)
/* Kept free while writing ranges: a SKIP up to the deferral point and the deferring FP range. */
#define RESERVE (SKIP_ENTRY_MAX + FP_ENTRY_MAX)
#define FRESH_MAX (LIMIT_RECON_MSG_BYTES / ITEM_MIN + 1)

/* Progress needs the first range of a reply to fit with at least one item next to the reserve;
 * the largest such first entry is a SKIP then a DIFF carrying one item. */
_Static_assert(1 + SKIP_ENTRY_MAX + BOUND_MAX + 1 + COUNT_MAX + ITEM_MAX + BITMAP_MAX + RESERVE <=
                   LIMIT_RECON_MSG_MIN,
               "LIMIT_RECON_MSG_MIN too small to guarantee progress");
_Static_assert(LIMIT_RECON_LIST_ITEMS >= LIMIT_RECON_BUCKETS, "a split range must fill its buckets");
_Static_assert(LIMIT_RECON_MSG_BYTES < LIMIT_FRAME_BYTES, "a message must fit one frame");

static const uint8_t FP_KEY[16] = "tlpmesh-recon-v1"; /* domain separation, not a secret */

/* --- 256-bit sums of ids read as little-endian integers, mod 2^256 --- */

struct sum256 {
    uint64_t w[4];
};

static uint64_t load64_le(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static void store64_le(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++, v >>= 8)
        p[i] = (uint8_t)v;
}

static void sum_add_words(struct sum256 *s, const uint64_t w[4])
{
    uint64_t carry = 0;
    for (int i = 0; i < 4; i++) {
        uint64_t a = s->w[i] + carry;
        carry = a < carry;
        s->w[i] = a + w[i];
        carry += s->w[i] < w[i];
    }
}

static void sum_add_id(struct sum256 *s, const uint8_t id[LIMIT_ID_BYTES])
{
    uint64_t w[4];
    for (int i = 0; i < 4; i++)
        w[i] = load64_le(id + 8 * i);
    sum_add_words(s, w);
}

static void sum_sub(struct sum256 *s, const struct sum256 *a)
{
    /* s - a = s + (~a + 1) mod 2^256 */
    uint64_t neg[4];
    uint64_t carry = 1;
    for (int i = 0; i < 4; i++) {
        neg[i] = ~a->w[i] + carry;
        carry = carry && neg[i] == 0;
    }
    sum_add_words(s, neg);
}

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

static int item_cmp(const struct recon_item *a, const struct recon_item *b)
{
    if (a->ts != b->ts)
        return a->ts < b->ts ? -1 : 1;
    return memcmp(a->id, b->id, LIMIT_ID_BYTES);
}

static int item_bound_cmp(const struct recon_item *a, const struct bound *b)
{
    if (b->inf)
        return -1;
    if (a->ts != b->ts)
        return a->ts < b->ts ? -1 : 1;
    return memcmp(a->id, b->prefix, LIMIT_ID_BYTES);
}

static int bound_cmp(const struct bound *a, const struct bound *b)
{
    if (a->inf || b->inf)
        return (int)a->inf - (int)b->inf;
    if (a->ts != b->ts)
        return a->ts < b->ts ? -1 : 1;
    return memcmp(a->prefix, b->prefix, LIMIT_ID_BYTES);
}

/* The shortest bound x with a < x <= b: both sides then split at the same point, in few bytes. */
static struct bound bound_between(const struct recon_item *a, const struct recon_item *b)
{
    assert(item_cmp(a, b) < 0);
    struct bound x = {.ts = b->ts};
    if (a->ts == b->ts) {
        size_t l = 0;
        while (a->id[l] == b->id[l])
            l++;
        assert(l < LIMIT_ID_BYTES);
        x.len = (uint8_t)(l + 1);
        memcpy(x.prefix, b->id, x.len);
    }
    return x;
}

/* First index in a[0..n) whose item is >= b. */
static size_t lower_index(const struct recon_item *a, size_t n, const struct bound *b)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (item_bound_cmp(&a[mid], b) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static bool contains(const struct recon_item *a, size_t n, const struct recon_item *it)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = item_cmp(&a[mid], it);
        if (c == 0)
            return true;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

/* --- this side's view of a range: its items plus the needs it learned, merged --- */

struct view {
    size_t i0, i1; /* items[i0..i1) */
    size_t j0, j1; /* needs[j0..j1) */
};

struct cursor {
    size_t i, j;
};

static struct view view_of(const struct recon *r, const struct bound *lo, const struct bound *up)
{
    assert(bound_cmp(lo, up) < 0);
    struct view v = {lower_index(r->items, r->n, lo), lower_index(r->items, r->n, up),
                     lower_index(r->needs, r->n_needs, lo), lower_index(r->needs, r->n_needs, up)};
    return v;
}

static size_t view_count(const struct view *v)
{
    return (v->i1 - v->i0) + (v->j1 - v->j0);
}

/* The next element at c (NULL at the end); *learned tells whether it is a learned need. */
static const struct recon_item *view_peek(const struct recon *r, const struct view *v,
                                          const struct cursor *c, bool *learned)
{
    const struct recon_item *a = c->i < v->i1 ? &r->items[c->i] : NULL;
    const struct recon_item *b = c->j < v->j1 ? &r->needs[c->j] : NULL;
    *learned = b && (!a || item_cmp(b, a) < 0);
    return *learned ? b : a;
}

static void view_advance(struct cursor *c, bool learned)
{
    if (learned)
        c->j++;
    else
        c->i++;
}

/* Element number p (0-based) of the view; c and *at walk forward only, p >= *at. */
static const struct recon_item *view_at(const struct recon *r, const struct view *v,
                                        struct cursor *c, size_t *at, size_t p)
{
    assert(p >= *at && p < view_count(v));
    bool learned;
    if (v->j0 == v->j1) { /* no learned needs here: plain indexing */
        c->i = v->i0 + p;
        *at = p;
        return &r->items[c->i];
    }
    for (; *at < p; (*at)++) {
        if (!view_peek(r, v, c, &learned))
            break; /* unreachable: p < view_count */
        view_advance(c, learned);
    }
    return view_peek(r, v, c, &learned);
}

/* prefix[k] = sum of a[0 .. k*STRIDE); prefix has n / STRIDE + 1 entries. */
static void prefix_build(const struct recon_item *a, size_t n, struct sum256 *prefix)
{
    struct sum256 acc = {{0}};
    for (size_t i = 0; i < n; i++) {
        if (i % STRIDE == 0)
            prefix[i / STRIDE] = acc;
        sum_add_id(&acc, a[i].id);
    }
    if (n % STRIDE == 0)
        prefix[n / STRIDE] = acc;
}

/* Sum of a[i0 .. i1) in at most 2 * STRIDE additions. */
static struct sum256 prefix_range(const struct recon_item *a, const struct sum256 *prefix,
                                  size_t i0, size_t i1)
{
    assert(i0 <= i1);
    struct sum256 s = prefix[i1 / STRIDE], below = prefix[i0 / STRIDE];
    for (size_t k = i1 - i1 % STRIDE; k < i1; k++)
        sum_add_id(&s, a[k].id);
    for (size_t k = i0 - i0 % STRIDE; k < i0; k++)
        sum_add_id(&below, a[k].id);
    sum_sub(&s, &below);
    return s;
}

static void view_fp(const struct recon *r, const struct view *v, uint8_t fp[RECON_FP_BYTES])
{
    struct sum256 s = prefix_range(r->items, r->prefix, v->i0, v->i1);
    if (v->j0 < v->j1) {
        struct sum256 learned = prefix_range(r->needs, r->needs_prefix, v->j0, v->j1);
        sum_add_words(&s, learned.w);
    }
    uint8_t buf[LIMIT_ID_BYTES + 8];
    for (int i = 0; i < 4; i++)
        store64_le(buf + 8 * i, s.w[i]);
    store64_le(buf + LIMIT_ID_BYTES, (uint64_t)view_count(v));
    crypto_generichash(fp, RECON_FP_BYTES, buf, sizeof buf, FP_KEY, sizeof FP_KEY);
}

/* --- writing a reply --- */

struct writer {
    uint8_t *buf;
    size_t pos, lim;
    bool full;          /* a write did not fit under lim; roll back to the last mark */
    struct bound prev;  /* the last bound written: the lower bound of the next range */
    size_t entries;
    bool asks;          /* an FP or IDLIST range was written: the peer must answer */
};

struct mark {
    size_t pos, entries;
    struct bound prev;
    bool asks;
};

struct reply {
    struct writer w;
    bool deferred;      /* work from `defer` on did not fit; one FP range will cover it */
    struct bound defer;
    bool peer_asked;    /* the message answered has an FP or IDLIST range: it gets an answer */
    const struct recon_diff *diff;
};

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
    view_fp(r, v, fp);
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
    struct bound x = bound_between(&list[take - 1], &list[take]);
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
            struct recon_item before = *view_at(r, v, &c, &at, p - 1);
            b_up = bound_between(&before, view_at(r, v, &c, &at, p));
        }
        struct view bv = view_of(r, &b_lo, &b_up);
        if (!emit_fp(r, rp, &b_lo, &b_up, &bv)) {
            defer_at(rp, &b_lo);
            return;
        }
        b_lo = b_up;
    }
}

/* An open range: the peer's fingerprint differs, or nothing was said about it yet. */
static void emit_open(const struct recon *r, struct reply *rp, const struct bound *lo,
                      const struct bound *up)
{
    struct view v = view_of(r, lo, up);
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

static void fresh_add(struct recon *r, const struct recon_item *it)
{
    assert(r->n_fresh < r->cap_fresh);
    assert(r->n_fresh == 0 || item_cmp(&r->fresh[r->n_fresh - 1], it) < 0);
    r->fresh[r->n_fresh++] = *it;
}

static void report(const struct recon_diff *d, bool have, const struct recon_item *it)
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
            fresh_add(r, it);
        if (kind == ELEM_HAVE || kind == ELEM_NEED)
            report(rp->diff, kind == ELEM_HAVE, it);
    }
    return true;
}

/* The peer listed its items of [lo, up): answer with what each side lacks, as much as fits. */
static void emit_diff(struct recon *r, struct reply *rp, const struct bound *lo,
                      const struct bound *up, const struct recon_item *peer, size_t k)
{
    struct view v = view_of(r, lo, up);
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
    struct bound x = bound_between(prev, it);
    bool ok = write_diff(r, rp, lo, &x, start, take, m, kp);
    assert(ok);
    (void)ok;
    defer_at(rp, &x);
}

/* --- reading a message --- */

struct reader {
    const uint8_t *p;
    size_t len, pos;
};

struct range_in {
    struct bound lo, up;
    uint8_t mode;
    uint8_t fp[RECON_FP_BYTES];
    size_t count;     /* IDLIST, DIFF: items listed */
    size_t items_at;  /* offset of the first item */
    size_t bitmap_at; /* DIFF */
    size_t bitmap_bits;
    size_t end;       /* offset just past the range */
};

static int r_bytes(struct reader *rd, void *out, size_t n)
{
    if (n > rd->len - rd->pos)
        return RECON_E_TRUNCATED;
    if (out)
        memcpy(out, rd->p + rd->pos, n);
    rd->pos += n;
    return RECON_OK;
}

static int r_varint(struct reader *rd, uint64_t *v)
{
    *v = 0;
    for (unsigned i = 0; i < VARINT_MAX; i++) {
        uint8_t b;
        int rc = r_bytes(rd, &b, 1);
        if (rc < 0)
            return rc;
        if (i == VARINT_MAX - 1 && b > 1)
            return RECON_E_VARINT; /* bits beyond 64 */
        *v |= (uint64_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80))
            return b == 0 && i > 0 ? RECON_E_VARINT : RECON_OK; /* not minimal */
    }
    return RECON_E_VARINT;
}

static int r_count(struct reader *rd, size_t max, size_t *count)
{
    uint64_t v;
    int rc = r_varint(rd, &v);
    if (rc < 0)
        return rc;
    if (v > max)
        return RECON_E_COUNT;
    *count = (size_t)v;
    return RECON_OK;
}

static int r_bound(struct reader *rd, const struct bound *prev, struct bound *b)
{
    uint64_t v;
    int rc = r_varint(rd, &v);
    if (rc < 0)
        return rc;
    memset(b, 0, sizeof *b);
    if (v == 0) {
        b->inf = true;
    } else {
        if (v - 1 >= UINT64_MAX - prev->ts) /* ts must stay below UINT64_MAX */
            return RECON_E_BOUND;
        b->ts = prev->ts + (v - 1);
        if ((rc = r_bytes(rd, &b->len, 1)) < 0)
            return rc;
        if (b->len > LIMIT_ID_BYTES)
            return RECON_E_BOUND;
        if ((rc = r_bytes(rd, b->prefix, b->len)) < 0)
            return rc;
        if (b->len > 0 && b->prefix[b->len - 1] == 0)
            return RECON_E_BOUND; /* not the shortest prefix */
    }
    return bound_cmp(prev, b) < 0 ? RECON_OK : RECON_E_BOUND;
}

/* One listed item: ts as a delta from *base, then the id; it must lie in [lo, up) above prev. */
static int r_item(struct reader *rd, const struct range_in *g, uint64_t *base,
                  const struct recon_item *prev, struct recon_item *it)
{
    uint64_t delta;
    int rc = r_varint(rd, &delta);
    if (rc < 0)
        return rc;
    if (delta >= UINT64_MAX - *base)
        return RECON_E_ITEM;
    it->ts = *base + delta;
    if ((rc = r_bytes(rd, it->id, LIMIT_ID_BYTES)) < 0)
        return rc;
    if (item_bound_cmp(it, &g->lo) < 0 || item_bound_cmp(it, &g->up) >= 0)
        return RECON_E_ITEM;
    if (prev && item_cmp(prev, it) >= 0)
        return RECON_E_ITEM;
    *base = it->ts;
    return RECON_OK;
}

/* Checks g's items; a DIFF's items must be ones this side lacks. */
static int r_items(const struct recon *r, struct reader *rd, struct range_in *g)
{
    struct recon_item prev, it;
    uint64_t base = g->lo.ts;
    g->items_at = rd->pos;
    for (size_t i = 0; i < g->count; i++) {
        int rc = r_item(rd, g, &base, i ? &prev : NULL, &it);
        if (rc < 0)
            return rc;
        if (g->mode == MODE_DIFF &&
            (contains(r->items, r->n, &it) || contains(r->needs, r->n_needs, &it)))
            return RECON_E_PROTO;
        prev = it;
    }
    return RECON_OK;
}

/* A DIFF's bitmap has one bit per element of this side's view of the range, which this side
 * listed: so at most LIMIT_RECON_LIST_ITEMS; unused high bits are zero. */
static int r_bitmap(const struct recon *r, struct reader *rd, struct range_in *g)
{
    struct view v = view_of(r, &g->lo, &g->up);
    g->bitmap_bits = view_count(&v);
    if (g->bitmap_bits > LIMIT_RECON_LIST_ITEMS)
        return RECON_E_PROTO;
    g->bitmap_at = rd->pos;
    size_t bytes = (g->bitmap_bits + 7) / 8;
    int rc = r_bytes(rd, NULL, bytes);
    if (rc < 0)
        return rc;
    if (g->bitmap_bits % 8 && rd->p[rd->pos - 1] >> (g->bitmap_bits % 8))
        return RECON_E_PROTO;
    return RECON_OK;
}

static int read_range(const struct recon *r, struct reader *rd, const struct bound *lo,
                      struct range_in *g)
{
    memset(g, 0, sizeof *g);
    g->lo = *lo;
    int rc = r_bound(rd, lo, &g->up);
    if (rc < 0 || (rc = r_bytes(rd, &g->mode, 1)) < 0)
        return rc;
    switch (g->mode) {
    case MODE_SKIP:
        return RECON_OK;
    case MODE_FP:
        return r_bytes(rd, g->fp, sizeof g->fp);
    case MODE_IDLIST:
        if ((rc = r_count(rd, LIMIT_RECON_LIST_ITEMS, &g->count)) < 0)
            return rc;
        return r_items(r, rd, g);
    case MODE_DIFF:
        if ((rc = r_count(rd, (rd->len - rd->pos) / ITEM_MIN, &g->count)) < 0 ||
            (rc = r_items(r, rd, g)) < 0)
            return rc;
        return r_bitmap(r, rd, g);
    default:
        return RECON_E_MODE;
    }
}

/* --- processing one received range --- */

static void decode_items(const uint8_t *in, const struct range_in *g, struct recon_item *out,
                         size_t max)
{
    struct reader rd = {in, g->end, g->items_at};
    uint64_t base = g->lo.ts;
    assert(g->count <= max);
    (void)max;
    for (size_t i = 0; i < g->count; i++) {
        int rc = r_item(&rd, g, &base, i ? &out[i - 1] : NULL, &out[i]);
        assert(rc == RECON_OK);
        (void)rc;
    }
}

static void apply_diff(struct recon *r, struct reply *rp, const uint8_t *in,
                       const struct range_in *g)
{
    struct reader rd = {in, g->end, g->items_at};
    struct recon_item prev, it;
    uint64_t base = g->lo.ts;
    for (size_t i = 0; i < g->count; i++) {
        int rc = r_item(&rd, g, &base, i ? &prev : NULL, &it);
        assert(rc == RECON_OK);
        (void)rc;
        fresh_add(r, &it);
        report(rp->diff, false, &it);
        prev = it;
    }
    struct view v = view_of(r, &g->lo, &g->up);
    struct cursor c = {v.i0, v.j0};
    assert(view_count(&v) == g->bitmap_bits);
    for (size_t bit = 0; bit < g->bitmap_bits; bit++) {
        bool learned;
        const struct recon_item *mine = view_peek(r, &v, &c, &learned);
        view_advance(&c, learned);
        if (!learned && (in[g->bitmap_at + bit / 8] >> (bit % 8) & 1))
            report(rp->diff, true, mine);
    }
}

static void process_range(struct recon *r, struct reply *rp, const uint8_t *in,
                          const struct range_in *g)
{
    if (g->mode == MODE_DIFF) { /* applied even past a deferral: the peer already reported it */
        apply_diff(r, rp, in, g);
        return;
    }
    rp->peer_asked |= g->mode == MODE_FP || g->mode == MODE_IDLIST;
    if (rp->deferred || g->mode == MODE_SKIP)
        return;
    if (g->mode == MODE_FP) {
        struct view v = view_of(r, &g->lo, &g->up);
        uint8_t fp[RECON_FP_BYTES];
        view_fp(r, &v, fp);
        if (sodium_memcmp(fp, g->fp, sizeof fp) != 0)
            emit_open(r, rp, &g->lo, &g->up);
        return;
    }
    assert(g->mode == MODE_IDLIST);
    struct recon_item peer[LIMIT_RECON_LIST_ITEMS];
    decode_items(in, g, peer, LIMIT_RECON_LIST_ITEMS);
    emit_diff(r, rp, &g->lo, &g->up, peer, g->count);
}

/* Visits every range of a message, stopping at the first error; with rp NULL it only checks.
 * *learnable accumulates the items listed: an upper bound on the needs the message can teach. */
static int walk_message(struct recon *r, const uint8_t *in, size_t in_len, struct reply *rp,
                        size_t *learnable)
{
    struct reader rd = {in, in_len, 0};
    uint8_t version;
    int rc = r_bytes(&rd, &version, 1);
    if (rc == RECON_OK && version != RECON_VERSION) {
        rd.pos = 0;
        rc = RECON_E_VERSION;
    }
    struct bound lo = BOUND_MIN;
    for (size_t ranges = 0; rc == RECON_OK; ranges++) {
        struct range_in g;
        if (ranges == LIMIT_RECON_RANGES) {
            rc = RECON_E_LIMIT;
            break;
        }
        if ((rc = read_range(r, &rd, &lo, &g)) < 0)
            break;
        g.end = rd.pos;
        if (g.mode == MODE_IDLIST || g.mode == MODE_DIFF)
            *learnable += g.count;
        if (rp)
            process_range(r, rp, in, &g);
        if (g.up.inf)
            break;
        lo = g.up;
    }
    if (rc == RECON_OK && rd.pos != rd.len)
        rc = RECON_E_TRAILING;
    if (rc < 0)
        r->err_offset = rd.pos;
    return rc;
}

/* --- sessions --- */

static int reserve_needs(struct recon *r, size_t more)
{
    if (more > LIMIT_RECON_NEEDS - r->n_needs)
        return RECON_E_LIMIT;
    size_t want = r->n_needs + more;
    if (want <= r->cap_needs)
        return RECON_OK;
    size_t cap = r->cap_needs ? r->cap_needs : 64;
    while (cap < want)
        cap *= 2;
    struct recon_item *p = realloc(r->needs, cap * sizeof *p);
    if (!p)
        return RECON_E_NOMEM;
    r->needs = p;
    struct sum256 *q = realloc(r->needs_prefix, (cap / STRIDE + 1) * sizeof *q);
    if (!q)
        return RECON_E_NOMEM; /* needs grew; cap_needs still bounds both arrays */
    r->needs_prefix = q;
    r->cap_needs = cap;
    return RECON_OK;
}

/* Merges this call's learned needs (ascending, disjoint from needs) into needs, from the back. */
static void merge_fresh(struct recon *r)
{
    assert(r->n_needs + r->n_fresh <= r->cap_needs || r->n_fresh == 0);
    size_t i = r->n_needs, j = r->n_fresh, k = r->n_needs + r->n_fresh;
    while (j > 0) {
        if (i > 0 && item_cmp(&r->needs[i - 1], &r->fresh[j - 1]) > 0)
            r->needs[--k] = r->needs[--i];
        else
            r->needs[--k] = r->fresh[--j];
    }
    if (r->n_fresh > 0)
        prefix_build(r->needs, r->n_needs + r->n_fresh, r->needs_prefix);
    r->n_needs += r->n_fresh;
    r->n_fresh = 0;
}

static void reply_start(struct reply *rp, uint8_t *out, size_t cap, const struct recon_diff *d)
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
static int reply_finish(struct recon *r, struct reply *rp, size_t cap)
{
    struct writer *w = &rp->w;
    w->lim = cap;
    if (rp->deferred) {
        /* A first range always fits (LIMIT_RECON_MSG_MIN), so the deferral point moved on. */
        assert(w->entries > 0 && bound_cmp(&rp->defer, &BOUND_MIN) > 0);
        struct view v = view_of(r, &rp->defer, &BOUND_INF);
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

static size_t out_cap(const struct recon *r, size_t cap)
{
    return cap < r->max_msg ? cap : r->max_msg;
}

int recon_init(struct recon *r, const struct recon_item *items, size_t n, size_t max_msg_bytes)
{
    if (!r)
        return RECON_E_INPUT;
    memset(r, 0, sizeof *r);
    if ((n && !items) || max_msg_bytes < LIMIT_RECON_MSG_MIN ||
        max_msg_bytes > LIMIT_RECON_MSG_BYTES)
        return RECON_E_INPUT;
    if (n > LIMIT_RECON_ITEMS)
        return RECON_E_LIMIT;
    for (size_t i = 0; i < n; i++) {
        if (items[i].ts == UINT64_MAX || (i > 0 && item_cmp(&items[i - 1], &items[i]) >= 0))
            return RECON_E_INPUT;
    }
    int rc = RECON_E_NOMEM;
    struct sum256 *prefix = calloc(n / STRIDE + 1, sizeof *prefix);
    r->prefix = prefix;
    r->fresh = malloc(FRESH_MAX * sizeof *r->fresh);
    if (!prefix || !r->fresh)
        goto out;
    prefix_build(items, n, prefix);
    r->items = items;
    r->n = n;
    r->cap_fresh = FRESH_MAX;
    r->max_msg = max_msg_bytes;
    rc = RECON_OK;
out:
    if (rc < 0)
        recon_free(r);
    return rc;
}

void recon_free(struct recon *r)
{
    if (!r)
        return;
    free(r->prefix);
    free(r->needs);
    free(r->needs_prefix);
    free(r->fresh);
    memset(r, 0, sizeof *r);
}

int recon_initiate(struct recon *r, uint8_t *out, size_t cap)
{
    if (!r || !r->prefix || !out)
        return RECON_E_INPUT;
    cap = out_cap(r, cap);
    if (cap < LIMIT_RECON_MSG_MIN)
        return RECON_E_NOSPACE;
    struct reply rp;
    reply_start(&rp, out, cap, NULL);
    emit_open(r, &rp, &BOUND_MIN, &BOUND_INF);
    int len = reply_finish(r, &rp, cap);
    assert(len > 0 && !r->done);
    return len;
}

int recon_respond(struct recon *r, const uint8_t *in, size_t in_len, uint8_t *out, size_t cap,
                  const struct recon_diff *diff)
{
    if (!r || !r->prefix || (!in && in_len) || !out)
        return RECON_E_INPUT;
    cap = out_cap(r, cap);
    if (cap < LIMIT_RECON_MSG_MIN)
        return RECON_E_NOSPACE;
    if (r->rounds >= LIMIT_RECON_ROUNDS)
        return RECON_E_ROUNDS;
    r->rounds++;
    if (in_len > LIMIT_RECON_MSG_BYTES) {
        r->err_offset = LIMIT_RECON_MSG_BYTES;
        return RECON_E_TOO_BIG;
    }
    /* Check everything first, so that a bad message reports nothing and changes nothing. */
    size_t learnable = 0;
    int rc = walk_message(r, in, in_len, NULL, &learnable);
    if (rc < 0)
        return rc;
    assert(learnable <= r->cap_fresh);
    if ((rc = reserve_needs(r, learnable)) < 0)
        return rc;
    struct reply rp;
    reply_start(&rp, out, cap, diff);
    learnable = 0;
    rc = walk_message(r, in, in_len, &rp, &learnable);
    assert(rc == RECON_OK);
    merge_fresh(r);
    return reply_finish(r, &rp, cap);
}

bool recon_done(const struct recon *r)
{
    return r && r->done;
}

const char *recon_strerror(int err)
{
    switch (err) {
    case RECON_OK: return "ok";
    RECON_ERRORS(ERRORS_CASE)
    default: return "unknown reconciliation error";
    }
}
