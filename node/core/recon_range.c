/* recon_range.c - 256-bit sums of ids, items and bounds, and this side's view of a range: the
 * arithmetic under reconciliation (recon_int.h lists the parts, recon.h is the contract). */
#include "node/core/recon_int.h"

#include <sodium.h>

static const uint8_t FP_KEY[16] = "tlpmesh-recon-v1"; /* domain separation, not a secret */

/* --- 256-bit sums of ids read as little-endian integers, mod 2^256 --- */

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

/* The shortest bound x with a < x <= b: both sides then split at the same point, in few bytes. */
struct bound recon_bound_between(const struct recon_item *a, const struct recon_item *b)
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

bool recon_contains(const struct recon_item *a, size_t n, const struct recon_item *it)
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

/* --- this side's view of a range --- */

struct view recon_view_of(const struct recon *r, const struct bound *lo, const struct bound *up)
{
    assert(bound_cmp(lo, up) < 0);
    struct view v = {lower_index(r->items, r->n, lo), lower_index(r->items, r->n, up),
                     lower_index(r->needs, r->n_needs, lo), lower_index(r->needs, r->n_needs, up)};
    return v;
}

/* Element number p (0-based) of the view; c and *at walk forward only, p >= *at. */
const struct recon_item *recon_view_at(const struct recon *r, const struct view *v,
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
void recon_prefix_build(const struct recon_item *a, size_t n, struct sum256 *prefix)
{
    prefix[0] = (struct sum256){{0}};
    recon_prefix_update(a, n, prefix, 0);
}

/* The same after a[from ..] changed (or a grew to n): prefix[0 .. from / STRIDE] still hold. */
void recon_prefix_update(const struct recon_item *a, size_t n, struct sum256 *prefix, size_t from)
{
    assert(from <= n);
    size_t i = from - from % STRIDE;
    struct sum256 acc = prefix[i / STRIDE];
    for (; i < n; i++) {
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

void recon_view_fp(const struct recon *r, const struct view *v, uint8_t fp[RECON_FP_BYTES])
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
