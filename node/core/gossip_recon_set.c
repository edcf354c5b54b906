/* gossip_recon_set.c - the set a reconciliation round reveals to a peer, built across loop turns:
 * a chunked store walk that gates each record from its bytes, then a merge sort in bounded steps,
 * so that no turn holds the loop for more than one chunk or one sort step (a few ms) whatever the
 * store's size (gossip_recon.c runs the rounds over it).
 *
 * What the set is when records change during the build: the walk goes up the seq order, and a
 * new record always gets a seq above every stored one, so a record committed before the walk
 * reaches the store's end is in the set, one committed later is not; nothing stored before the
 * build is missed. The set is therefore the store as it was when the walk ended, less what the
 * gate refused at its chunk's moment. A revocation, a view change or a prune landing between
 * chunks leaves an id in the set that a build after it would have left out: the same as the
 * change landing right after an atomic build, which the protocol always had to tolerate (the
 * set is fixed for the whole session): every record sent because of the round is gated again
 * when written, and a view change asks for another round (gossip_recon_soon). An id missing
 * from the set that we hold costs at most a copy the peer pushes and we count as expected
 * (diff_need). docs/PROTOCOL.md "Reconciliation" says the same for the peer.
 */
#include "node/core/gossip_int.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

/* One record of a walk chunk: gated from its bytes during the iteration, with the facts its
 * revocation lookup needs after it. */
struct set_cand {
    uint8_t id[LIMIT_ID_BYTES];
    uint8_t origin[LIMIT_KEY_BYTES];
    uint64_t ts;
    uint8_t verdict; /* enum gate_verdict as if not revoked */
    bool full;       /* has a target (revocation, sighting): gated by the full load */
};

/* A resumable bottom-up merge sort of items[0..n) by (ts, id): runs of LIMIT_RECON_SORT_RUN
 * sorted by qsort, then merge passes of doubling width, each step moving a bounded number of
 * items; i, j, k are the cursors of the pair of runs being merged into tmp. */
struct set_sort {
    struct recon_item *tmp;
    size_t width; /* 0: sorting the initial runs; then the width of the runs being merged */
    size_t lo, i, j, k;
};

struct gossip_recon_build {
    struct gossip *g;
    size_t peer;
    uint64_t wall_ms, last_seq;
    bool walked;              /* the walk reached the store's end (or LIMIT_RECON_ITEMS) */
    size_t seen_total;        /* records read by the walk so far */
    struct set_cand c[LIMIT_RECON_BUILD_CHUNK];
    size_t n, seen, max;      /* this chunk: candidates, records read, records it may read */
    struct recon_item *items; /* the set so far */
    size_t n_items, cap;
    struct set_sort sort;
    struct store_revoked_set rs; /* loaded once per build, when have_rs */
    bool have_rs;
    uint8_t *msg;             /* the peer's first message, answered once built; NULL: the
                                 round is ours, its first message is sent once built */
    size_t msg_len;
};

/* store_record_cb: decodes and gates the record from the bytes the iteration hands over (no
 * second lookup by id). Revocation and targets need the store, which a callback may not call:
 * the verdict is taken as if not revoked, and a record with a target only noted. */
static int build_collect(const uint8_t id[LIMIT_ID_BYTES], const uint8_t *signed_rec, size_t len,
                         uint64_t seq, void *ctx)
{
    struct gossip_recon_build *b = ctx;
    assert(b->seen < b->max);
    b->seen++;
    b->last_seq = seq;
    struct rview v;
    if (gossip_view_decode(id, signed_rec, len, &v) && v.r->created_ms != UINT64_MAX) {
        struct set_cand *c = &b->c[b->n++];
        memcpy(c->id, id, LIMIT_ID_BYTES);
        memcpy(c->origin, v.r->origin, LIMIT_KEY_BYTES);
        c->ts = v.r->created_ms;
        c->full = v.r->kind == PROTO_KIND_REVOCATION || v.r->kind == PROTO_KIND_SIGHTING;
        c->verdict = c->full ? GATE_DENY_INVALID
                             : (uint8_t)gossip_gate_verdict(b->g, b->peer, &v, true, b->wall_ms);
    }
    return b->seen == b->max;
}

/* ops.is_revoked's answer for a candidate, from the build's revocation set when it has one
 * (two bsearches instead of two B-tree searches); a distrusted origin's record asks the store,
 * since its times decide. */
static int cand_revoked(const struct gossip_recon_build *b, const struct set_cand *c)
{
    const struct gossip *g = b->g;
    int r = b->have_rs ? store_revoked_check(&b->rs, c->id, c->origin) : 2;
    return r == 2 ? g->ops.is_revoked(g->ops.ctx, c->id, c->origin) : r;
}

/* The gate's counted answer for a candidate: its verdict from the iteration when the record is
 * not revoked (the view is then the same as a full load's: no target, not revoked, no known
 * bits), else the full load's, which is also the path of a record with a target. */
static bool cand_allowed(struct gossip_recon_build *b, const struct set_cand *c)
{
    if (!c->full && cand_revoked(b, c) != 1)
        return gossip_gate_note(b->g, b->peer, c->id, (enum gate_verdict)c->verdict, true);
    struct rview v;
    return gossip_view_load_id(b->g, c->id, &v) && v.r->created_ms != UINT64_MAX &&
           gossip_gate_out(b->g, b->peer, &v, true, b->wall_ms);
}

static int items_push(struct gossip_recon_build *b, const struct set_cand *c)
{
    if (b->n_items == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 256;
        void *ni = realloc(b->items, cap * sizeof *b->items);
        if (ni == NULL)
            return GOSSIP_E_NOMEM;
        b->items = ni;
        b->cap = cap;
    }
    b->items[b->n_items].ts = c->ts;
    memcpy(b->items[b->n_items++].id, c->id, LIMIT_ID_BYTES);
    return GOSSIP_OK;
}

/* One chunk: b->max records after b->last_seq read and gated, the allowed ones added to the set.
 * Runs in one store snapshot (ops.snapshot): the iteration and the chunk's revocation lookups
 * share one LMDB transaction instead of taking two each. */
static int walk_chunk(void *arg)
{
    struct gossip_recon_build *b = arg;
    struct gossip *g = b->g;
    if (g->ops.iter_seq(g->ops.ctx, b->last_seq, build_collect, b) < 0)
        return GOSSIP_E_STORE;
    for (size_t i = 0; i < b->n; i++)
        if (cand_allowed(b, &b->c[i])) {
            EMIT(g, b->peer, b->c[i].id, GOSSIP_EMIT_RECON_ITEM);
            int rc = items_push(b, &b->c[i]);
            if (rc < 0)
                return rc;
        }
    return GOSSIP_OK;
}

/* The walk's next chunk of the first LIMIT_RECON_ITEMS records in seq order; a chunk that reads
 * less than it may ends the walk. */
static int walk_step(struct gossip_recon_build *b)
{
    struct gossip *g = b->g;
    const size_t left = (size_t)LIMIT_RECON_ITEMS - b->seen_total;
    b->n = b->seen = 0;
    b->max = left < LIMIT_RECON_BUILD_CHUNK ? left : LIMIT_RECON_BUILD_CHUNK;
    int rc = GOSSIP_OK;
    if (b->max > 0)
        rc = g->ops.snapshot ? g->ops.snapshot(g->ops.ctx, walk_chunk, b) : walk_chunk(b);
    if (rc < 0)
        return rc == GOSSIP_E_NOMEM ? rc : GOSSIP_E_STORE; /* or the snapshot's store_err */
    b->seen_total += b->seen;
    b->walked = b->seen < b->max || b->max == 0;
    return GOSSIP_OK;
}

static int item_cmp(const void *a, const void *b)
{
    const struct recon_item *x = a, *y = b;
    if (x->ts != y->ts)
        return x->ts < y->ts ? -1 : 1;
    return memcmp(x->id, y->id, LIMIT_ID_BYTES);
}

static size_t min_size(size_t a, size_t b)
{
    return a < b ? a : b;
}

/* The cursors for merging the pair of runs at s->lo. */
static void sort_pair(struct set_sort *s, size_t n)
{
    s->i = s->k = s->lo;
    s->j = min_size(s->lo + s->width, n);
}

/* Merges at most budget items of the current pair; at a pass's end the runs are twice as wide
 * and the buffers swap. */
static size_t sort_merge(struct gossip_recon_build *b, size_t budget)
{
    struct set_sort *s = &b->sort;
    const size_t n = b->n_items, mid = min_size(s->lo + s->width, n),
                 hi = min_size(s->lo + 2 * s->width, n);
    const struct recon_item *a = b->items;
    size_t moved = 0;
    for (; moved < budget && s->k < hi; moved++) {
        bool left = s->j >= hi || (s->i < mid && item_cmp(&a[s->i], &a[s->j]) <= 0);
        s->tmp[s->k++] = a[left ? s->i++ : s->j++];
    }
    if (s->k == hi) {
        s->lo = hi;
        if (s->lo >= n) { /* the pass is over: tmp holds runs of 2 * width */
            struct recon_item *t = b->items;
            b->items = s->tmp;
            s->tmp = t;
            s->width *= 2;
            s->lo = 0;
        }
        sort_pair(s, n);
    }
    return moved;
}

/* One step of the sort, about LIMIT_RECON_SORT_STEP items moved or compared; true when sorted. */
static bool sort_step(struct gossip_recon_build *b)
{
    struct set_sort *s = &b->sort;
    const size_t n = b->n_items;
    size_t budget = LIMIT_RECON_SORT_STEP;
    while (budget > 0 && s->width < n) {
        if (s->width > 0) {
            budget -= sort_merge(b, budget);
            continue;
        }
        const size_t run = min_size((size_t)LIMIT_RECON_SORT_RUN, n - s->lo);
        qsort(b->items + s->lo, run, sizeof *b->items, item_cmp);
        s->lo += run;
        budget -= min_size(budget, run);
        if (s->lo == n) {
            s->width = LIMIT_RECON_SORT_RUN;
            s->lo = 0;
            sort_pair(s, n);
        }
    }
    return s->width >= n;
}

int gossip_recon_build_begin(struct gossip *g, size_t peer, uint64_t wall_ms, const uint8_t *msg,
                             size_t len, struct gossip_recon_build **out)
{
    assert(len <= LIMIT_RECON_MSG_BYTES);
    struct gossip_recon_build *b = calloc(1, sizeof *b);
    if (b == NULL || (msg != NULL && (b->msg = malloc(len ? len : 1)) == NULL)) {
        free(b);
        return GOSSIP_E_NOMEM;
    }
    b->g = g, b->peer = peer, b->wall_ms = wall_ms; /* not a compound literal: 75 KiB */
    if (msg != NULL)
        memcpy(b->msg, msg, len);
    b->msg_len = len;
    /* Once per build: a revocation landing between its chunks leaves an id in the set that
     * every send gates again (above). Too many, or no such op: each record is looked up. */
    b->have_rs = g->ops.load_revoked != NULL &&
                 g->ops.load_revoked(g->ops.ctx, LIMIT_RECON_REVOKED_LOAD, &b->rs) == STORE_OK;
    *out = b;
    return GOSSIP_OK;
}

int gossip_recon_build_step(struct gossip_recon_build *b)
{
    if (!b->walked) {
        int rc = walk_step(b);
        if (rc < 0 || !b->walked)
            return rc;
        store_revoked_free(&b->rs);
        b->have_rs = false;
        if (b->n_items > LIMIT_RECON_SORT_RUN &&
            (b->sort.tmp = malloc(b->n_items * sizeof *b->items)) == NULL)
            return GOSSIP_E_NOMEM;
        return 0; /* the sort starts next turn: this one read a chunk */
    }
    return sort_step(b) ? 1 : 0;
}

int gossip_recon_build_take(struct gossip_recon_build *b, struct recon_item **out, size_t *n_out)
{
    assert(b->walked && b->sort.width >= b->n_items);
    if (b->items == NULL && (b->items = malloc(sizeof *b->items)) == NULL)
        return GOSSIP_E_NOMEM; /* recon_init wants an array even for an empty set */
    *out = b->items;
    *n_out = b->n_items;
    b->items = NULL;
    b->n_items = b->cap = 0;
    return GOSSIP_OK;
}

const uint8_t *gossip_recon_build_msg(const struct gossip_recon_build *b, size_t *len)
{
    *len = b->msg_len;
    return b->msg;
}

void gossip_recon_build_free(struct gossip_recon_build *b)
{
    if (b == NULL)
        return;
    store_revoked_free(&b->rs);
    free(b->items);
    free(b->sort.tmp);
    free(b->msg);
    free(b);
}

int gossip_recon_build_set(struct gossip *g, size_t peer, uint64_t wall_ms,
                           struct recon_item **out, size_t *n_out)
{
    struct gossip_recon_build *b;
    int rc = gossip_recon_build_begin(g, peer, wall_ms, NULL, 0, &b);
    if (rc < 0)
        return rc;
    for (size_t steps = 0; rc == 0; steps++) {
        assert(steps < LIMIT_RECON_ITEMS); /* each step reads a record or moves an item */
        rc = gossip_recon_build_step(b);
    }
    if (rc == 1)
        rc = gossip_recon_build_take(b, out, n_out);
    gossip_recon_build_free(b);
    return rc;
}
