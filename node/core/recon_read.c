/* recon_read.c - reading a peer's message: every range checked before any is processed
 * (recon_int.h lists the parts, recon.h is the contract). */
#include "node/core/recon_int.h"

#include <sodium.h>

/* --- reading a message --- */

struct reader {
    const uint8_t *p;
    size_t len, pos;
};

struct range_in {
    struct bound lo, up;
    uint8_t mode;
    uint8_t fp[RECON_FP_BYTES];
    uint64_t newest;  /* NEWEST: the sender's newest timestamp in the range */
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
            (recon_contains(r->items, r->n, &it) || recon_contains(r->needs, r->n_needs, &it)))
            return RECON_E_PROTO;
        prev = it;
    }
    return RECON_OK;
}

/* A DIFF's bitmap has one bit per element of this side's view of the range, which this side
 * listed: so at most LIMIT_RECON_LIST_ITEMS; unused high bits are zero. */
static int r_bitmap(const struct recon *r, struct reader *rd, struct range_in *g)
{
    struct view v = recon_view_of(r, &g->lo, &g->up);
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

/* NEWEST's timestamp: an item at it can lie in [lo, up) (below a bound without a prefix means
 * below its ts). */
static int r_newest(struct reader *rd, struct range_in *g)
{
    uint64_t t;
    int rc = r_varint(rd, &t);
    if (rc < 0)
        return rc;
    if (t >= UINT64_MAX - g->lo.ts)
        return RECON_E_ITEM;
    g->newest = g->lo.ts + t;
    if (!g->up.inf && (g->newest > g->up.ts || (g->newest == g->up.ts && g->up.len == 0)))
        return RECON_E_ITEM;
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
    case MODE_NEWEST:
        if ((rc = r_newest(rd, g)) < 0)
            return rc;
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
        recon_fresh_add(r, &it);
        recon_report(rp->diff, false, &it);
        prev = it;
    }
    struct view v = recon_view_of(r, &g->lo, &g->up);
    struct cursor c = {v.i0, v.j0};
    assert(view_count(&v) == g->bitmap_bits);
    for (size_t bit = 0; bit < g->bitmap_bits; bit++) {
        bool learned;
        const struct recon_item *mine = view_peek(r, &v, &c, &learned);
        view_advance(&c, learned);
        if (!learned && (in[g->bitmap_at + bit / 8] >> (bit % 8) & 1))
            recon_report(rp->diff, true, mine);
    }
}

static void process_range(struct recon *r, struct reply *rp, const uint8_t *in,
                          const struct range_in *g)
{
    if (g->mode == MODE_DIFF) { /* applied even past a deferral: the peer already reported it */
        apply_diff(r, rp, in, g);
        return;
    }
    rp->peer_asked |= g->mode == MODE_FP || g->mode == MODE_IDLIST || g->mode == MODE_NEWEST;
    if (rp->deferred || g->mode == MODE_SKIP)
        return;
    if (g->mode == MODE_NEWEST) {
        recon_answer_newest(r, rp, &g->lo, &g->up, g->newest, g->fp);
        return;
    }
    if (g->mode == MODE_FP) {
        struct view v = recon_view_of(r, &g->lo, &g->up);
        uint8_t fp[RECON_FP_BYTES];
        recon_view_fp(r, &v, fp);
        if (sodium_memcmp(fp, g->fp, sizeof fp) != 0)
            recon_emit_open(r, rp, &g->lo, &g->up);
        return;
    }
    assert(g->mode == MODE_IDLIST);
    struct recon_item peer[LIMIT_RECON_LIST_ITEMS];
    decode_items(in, g, peer, LIMIT_RECON_LIST_ITEMS);
    recon_emit_diff(r, rp, &g->lo, &g->up, peer, g->count);
}

/* Visits every range of a message, which starts where the peer's flight stands, stopping at the
 * first error; with rp NULL it only checks. *learnable accumulates the items listed: an upper
 * bound on the needs the message can teach. *end is the message's last bound. */
int recon_walk_message(struct recon *r, const uint8_t *in, size_t in_len, struct reply *rp,
                       size_t *learnable, struct bound *end)
{
    struct reader rd = {in, in_len, 0};
    uint8_t version;
    int rc = r_bytes(&rd, &version, 1);
    if (rc == RECON_OK && version != RECON_VERSION) {
        rd.pos = 0;
        rc = RECON_E_VERSION;
    }
    struct bound lo = r->turn->in_lo;
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
        lo = g.up;
        if (g.up.inf || rd.pos == rd.len) /* the flight ends, or goes on in the next message */
            break;
    }
    *end = lo;
    if (rc == RECON_OK && rd.pos != rd.len)
        rc = RECON_E_TRAILING;
    if (rc < 0)
        r->err_offset = rd.pos;
    return rc;
}
