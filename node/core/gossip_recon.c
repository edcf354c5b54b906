/* gossip_recon.c - reconciliation rounds with each peer (node/core/recon.h does the set
 * arithmetic): the set this node may reveal to the peer, when a round starts, what its result
 * queues.
 */
#include "node/core/gossip_int.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

/* --- reconciliation --- */

int gossip_collect_id(const uint8_t id[LIMIT_ID_BYTES], const uint8_t *signed_rec, size_t len,
                      uint64_t seq, void *ctx)
{
    struct id_list *l = ctx;
    (void)signed_rec, (void)len;
    if (l->n == l->max)
        return 1;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 256;
        void *ni = realloc(l->ids, cap * LIMIT_ID_BYTES);
        if (ni != NULL)
            l->ids = ni;
        void *ns = ni ? realloc(l->seqs, cap * sizeof *l->seqs) : NULL;
        if (ns == NULL) {
            l->err = GOSSIP_E_NOMEM;
            return 1;
        }
        l->seqs = ns;
        l->cap = cap;
    }
    memcpy(l->ids[l->n], id, LIMIT_ID_BYTES);
    l->seqs[l->n++] = seq;
    return 0;
}

void gossip_id_list_free(struct id_list *l)
{
    free(l->ids);
    free(l->seqs);
    memset(l, 0, sizeof *l);
}

static int item_cmp(const void *a, const void *b)
{
    const struct recon_item *x = a, *y = b;
    if (x->ts != y->ts)
        return x->ts < y->ts ? -1 : 1;
    return memcmp(x->id, y->id, LIMIT_ID_BYTES);
}

/* One record of a set build's chunk: gated from its bytes during the iteration, with the facts
 * its revocation lookup needs after it. */
struct set_cand {
    uint8_t id[LIMIT_ID_BYTES];
    uint8_t origin[LIMIT_KEY_BYTES];
    uint64_t ts;
    uint8_t verdict; /* enum gate_verdict as if not revoked */
    bool full;       /* has a target (revocation, sighting): gated by the full load */
};

struct build {
    struct gossip *g;
    size_t peer;
    uint64_t wall_ms, last_seq;
    struct set_cand c[LIMIT_RECON_BUILD_CHUNK];
    size_t n, seen, max; /* candidates, records read, records this chunk may read */
    struct recon_item *items; /* the set so far */
    size_t n_items, cap;
    struct store_revoked_set rs; /* loaded once per build, when have_rs */
    bool have_rs;
};

/* store_record_cb: decodes and gates the record from the bytes the iteration hands over (no
 * second lookup by id). Revocation and targets need the store, which a callback may not call:
 * the verdict is taken as if not revoked, and a record with a target only noted. */
static int build_collect(const uint8_t id[LIMIT_ID_BYTES], const uint8_t *signed_rec, size_t len,
                         uint64_t seq, void *ctx)
{
    struct build *b = ctx;
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
static int cand_revoked(const struct build *b, const struct set_cand *c)
{
    const struct gossip *g = b->g;
    int r = b->have_rs ? store_revoked_check(&b->rs, c->id, c->origin) : 2;
    return r == 2 ? g->ops.is_revoked(g->ops.ctx, c->id, c->origin) : r;
}

/* The gate's counted answer for a candidate: its verdict from the iteration when the record is
 * not revoked (the view is then the same as a full load's: no target, not revoked, no known
 * bits), else the full load's, which is also the path of a record with a target. */
static bool cand_allowed(struct build *b, const struct set_cand *c)
{
    if (!c->full && cand_revoked(b, c) != 1)
        return gossip_gate_note(b->g, b->peer, c->id, (enum gate_verdict)c->verdict, true);
    struct rview v;
    return gossip_view_load_id(b->g, c->id, &v) && v.r->created_ms != UINT64_MAX &&
           gossip_gate_out(b->g, b->peer, &v, true, b->wall_ms);
}

static int items_push(struct build *b, const struct set_cand *c)
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
static int build_chunk(void *arg)
{
    struct build *b = arg;
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

/* The set this node reconciles with peer: every stored record the gate lets it reveal to peer,
 * of the first LIMIT_RECON_ITEMS in seq order. Read in chunks of LIMIT_RECON_BUILD_CHUNK, so what
 * the build holds besides the set is one chunk whatever the store's size. */
int gossip_recon_build_set(struct gossip *g, size_t peer, uint64_t wall_ms,
                           struct recon_item **out, size_t *n_out)
{
    struct build *b = calloc(1, sizeof *b);
    if (b == NULL)
        return GOSSIP_E_NOMEM;
    b->g = g, b->peer = peer, b->wall_ms = wall_ms; /* not a compound literal: 300 KiB */
    /* Once per build: the build runs on the thread that writes the store, so no revocation
     * lands between its chunks (and the send gates each record again). Too many, or no such
     * op: each record is looked up. */
    b->have_rs = g->ops.load_revoked != NULL &&
                 g->ops.load_revoked(g->ops.ctx, LIMIT_RECON_REVOKED_LOAD, &b->rs) == STORE_OK;
    size_t seen = 0;
    int rc = GOSSIP_OK;
    for (size_t round = 0; round <= LIMIT_RECON_ITEMS / LIMIT_RECON_BUILD_CHUNK; round++) {
        const size_t left = (size_t)LIMIT_RECON_ITEMS - seen;
        b->n = b->seen = 0;
        b->max = left < LIMIT_RECON_BUILD_CHUNK ? left : LIMIT_RECON_BUILD_CHUNK;
        if (b->max == 0)
            break;
        rc = g->ops.snapshot ? g->ops.snapshot(g->ops.ctx, build_chunk, b) : build_chunk(b);
        seen += b->seen;
        if (rc < 0 || b->seen < b->max)
            break;
    }
    struct recon_item *items = b->items;
    const size_t n = b->n_items;
    store_revoked_free(&b->rs);
    free(b);
    if (rc < 0) {
        free(items);
        return rc == GOSSIP_E_NOMEM ? rc : GOSSIP_E_STORE; /* or the snapshot's store_err */
    }
    if (items == NULL && (items = malloc(sizeof *items)) == NULL)
        return GOSSIP_E_NOMEM; /* recon_init wants an array even for an empty set */
    qsort(items, n, sizeof *items, item_cmp);
    *out = items;
    *n_out = n;
    return GOSSIP_OK;
}

void gossip_recon_stop(struct gossip *g, size_t peer, uint64_t now)
{
    struct gpeer *p = g->peers[peer];
    struct ptimer *t = &g->tm[peer];
    if (!t->rc_active)
        return;
    recon_free(&p->rc);
    if (p->later.items == p->items && p->later.left > 0)
        p->items = NULL; /* the later haves own the set now (gossip_push_have) */
    free(p->items);
    p->items = NULL;
    t->rc_active = false;
    if (t->next_recon != UINT64_MAX) {
        const uint64_t at =
            now + (p->recon_again ? LIMIT_RECON_START_DELAY_MS : LIMIT_RECON_INTERVAL_MS);
        t->next_recon = at > p->round_at ? at : p->round_at;
    }
    p->recon_again = false;
}

/* Brings the initiator's next round forward to at, but not before its pace allows
 * (LIMIT_RECON_ROUND_MIN_MS after the last start: round_at). */
static void recon_by(struct gossip *g, size_t peer, uint64_t at)
{
    const uint64_t paced = at > g->peers[peer]->round_at ? at : g->peers[peer]->round_at;
    if (g->tm[peer].next_recon > paced)
        g->tm[peer].next_recon = paced;
}

/* A view changed (ours of the peer, or our own memberships): records the gate refused before may
 * now go, and records refused inbound may now come, so reconcile soon instead of at the next
 * period. Only the initiator starts rounds; the other side asks it with RECON_REQ. */
void gossip_recon_soon(struct gossip *g, size_t peer, uint64_t now)
{
    struct gpeer *p = g->peers[peer];
    struct ptimer *t = &g->tm[peer];
    if (now < t->soon_after) { /* a burst of changes or overload: one round covers them all */
        t->soon_pending = true;
        return;
    }
    t->soon_pending = false;
    t->soon_after = now + LIMIT_RECON_REQ_MIN_MS;
    if (!p->initiator) {
        static const uint8_t empty[1];
        if (g->io.send(g->io.ctx, peer, GOSSIP_MSG_RECON_REQ, empty, 0) < 0)
            g->st.sent_fail++;
        return;
    }
    if (t->rc_active)
        p->recon_again = true;
    else
        recon_by(g, peer, now + LIMIT_RECON_START_DELAY_MS);
}

/* The peer's view of us changed. Bounded: one round per LIMIT_RECON_REQ_MIN_MS however often it
 * asks, since a round reads the whole store. */
int gossip_on_recon_req(struct gossip *g, size_t peer, size_t len, uint64_t now)
{
    struct gpeer *p = g->peers[peer];
    struct ptimer *t = &g->tm[peer];
    if (len != 0)
        return GOSSIP_E_MALFORMED;
    if (!p->initiator)
        return GOSSIP_OK; /* both think they answer: cannot happen between honest peers */
    const uint64_t at = now > p->req_after ? now : p->req_after;
    p->req_after = at + LIMIT_RECON_REQ_MIN_MS;
    if (t->rc_active)
        p->recon_again = true;
    else
        recon_by(g, peer, at + LIMIT_RECON_START_DELAY_MS);
    return GOSSIP_OK;
}

/* Sends a flight: the message len (if any) and every following one recon_next gives, back to
 * back (at most LIMIT_RECON_FLIGHT_BYTES, which the send queue takes beside the gossip backlog). */
static void recon_send(struct gossip *g, size_t peer, int len)
{
    struct gpeer *p = g->peers[peer];
    uint8_t *out = gossip_scratch()->recon_out;
    for (; len > 0; len = recon_next(&p->rc, out, LIMIT_RECON_MSG_BYTES)) {
        assert((size_t)len <= LIMIT_RECON_MSG_BYTES);
        if (g->io.send(g->io.ctx, peer, GOSSIP_MSG_RECON, out, (size_t)len) < 0)
            g->st.sent_fail++;
        p->st.recon_bytes_out += (uint64_t)len;
    }
}

/* Are the last round's haves still on their way, one way or the other: ours still queued to the
 * peer (later), or the peer's still expected here? A round now would name them all again and push
 * again what is in flight (a new partner's catch-up outlasts LIMIT_RECON_INTERVAL_MS when the
 * receiver is slow). Bounded: the queue drains, the expectation ends with its grace. */
static bool haves_in_flight(const struct gossip *g, size_t peer, uint64_t now)
{
    const struct gpeer *p = g->peers[peer];
    return p->later.left > 0 || (p->expect_new > 0 && now < p->expect_until);
}

int gossip_recon_start(struct gossip *g, size_t peer, bool initiate, uint64_t now,
                       uint64_t wall_ms)
{
    struct gpeer *p = g->peers[peer];
    assert(!g->tm[peer].rc_active);
    if (initiate && haves_in_flight(g, peer, now)) {
        g->tm[peer].next_recon = now + LIMIT_RECON_ROUND_MIN_MS; /* asked again then */
        return GOSSIP_OK;
    }
    if (initiate)
        p->round_at = now + LIMIT_RECON_ROUND_MIN_MS;
    gossip_push_later_free(p); /* the previous round's: this one names what is still lacking */
    size_t n = 0;
    int rc = gossip_recon_build_set(g, peer, wall_ms, &p->items, &n);
    if (rc < 0)
        return rc;
    rc = recon_init(&p->rc, p->items, n, LIMIT_RECON_MSG_BYTES);
    if (rc < 0) {
        recon_free(&p->rc);
        free(p->items);
        p->items = NULL;
        gossip_logf(g, GOSSIP_LOG_WARN, peer, "reconciliation not started: %s", recon_strerror(rc));
        return GOSSIP_E_NOMEM;
    }
    g->tm[peer].rc_active = true;
    p->st.recon_rounds++;
    if (initiate)
        recon_send(g, peer,
                   recon_initiate(&p->rc, gossip_scratch()->recon_out, LIMIT_RECON_MSG_BYTES));
    return GOSSIP_OK;
}

struct diff_ctx {
    struct gossip *g;
    size_t peer;
    uint64_t wall_ms;
};

/* The peer lacks a record this node may reveal to it, as far as its set says. A set holds only what
 * the peer may reveal to us, so the peer may well hold a record our table says it has (it came
 * from the peer, the peer announced it, we sent it) and still leave it out: the two ends' gates
 * differ (e.g. it cannot establish that we are members). Pushing it would be a duplicate at every
 * round; an ANNOUNCE of the id (8 bytes) brings a WANT if the peer really lacks it (a copy lost with
 * a session, a wiped restart: the table's bit is stale, and the WANT clears it). Anything else is
 * queued in full (gated again when written). The peer's own "have" report brings us what we lack,
 * so needs cost nothing here. */
static void diff_have(void *ctx, const struct recon_item *item)
{
    struct diff_ctx *d = ctx;
    struct gossip *g = d->g;
    g->peers[d->peer]->st.recon_haves++;
    const uint64_t *known = gossip_recent_known(g, gossip_hkey(g, item->id));
    if (known == NULL || !bit_get(known, d->peer)) {
        gossip_push_have(g, d->peer, item);
        return;
    }
    struct rview v;
    /* Gated again: it may have been revoked since the set was built. */
    if (!gossip_view_load_id(g, item->id, &v) || !gossip_gate_out(g, d->peer, &v, true, d->wall_ms))
        return;
    EMIT(g, d->peer, item->id, GOSSIP_EMIT_RECON_ITEM);
    if (gossip_out_add_sid(g, d->peer, OUT_ANNOUNCE, item->id))
        g->peers[d->peer]->st.announce_out++;
}

/* The peer holds a record our set lacks and pushes it after the round: expected, so it spends no
 * unasked budget, nor duplicate budget when we hold it already (left out of our set by the gate:
 * a gate-asymmetric pair, or a peer whose restart forgot what we hold). At most LIMIT_RECON_NEEDS
 * a peer, the most a session can name. */
static void diff_need(void *ctx, const struct recon_item *item)
{
    struct diff_ctx *d = ctx;
    struct gpeer *p = d->g->peers[d->peer];
    p->st.recon_needs++;
    int has = d->g->ops.has(d->g->ops.ctx, item->id);
    if (has < 0)
        d->g->st.store_errors++;
    uint32_t *n = has == 1 ? &p->expect_dup : &p->expect_new;
    *n += *n < LIMIT_RECON_NEEDS;
}

/* A round the peer starts reads our whole store (gossip_recon_build_set) on the loop: at 500,000
 * records about 1.4 s of CPU in which the node serves no one else. An honest initiator starts one per
 * LIMIT_RECON_ROUND_MIN_MS at most (its round_at); we allow LIMIT_RECON_PEER_ROUNDS ahead of that
 * pace (GCRA), and past it close the session and back the key off like any other spent budget. */
static bool peer_round_allowed(struct gossip *g, size_t peer, uint64_t now)
{
    struct gpeer *p = g->peers[peer];
    const uint64_t at = (p->round_at > now ? p->round_at : now) + LIMIT_RECON_ROUND_MIN_MS;
    if (at > now + (uint64_t)LIMIT_RECON_PEER_ROUNDS * LIMIT_RECON_ROUND_MIN_MS) {
        gossip_logf(g, GOSSIP_LOG_WARN, peer, "session closed: %s",
                    peerscore_strerror(PEERSCORE_E_RECON_ROUNDS));
        gossip_close_for(g, peer, PEERSCORE_E_RECON_ROUNDS);
        return false;
    }
    p->round_at = at;
    return true;
}

int gossip_on_recon(struct gossip *g, size_t peer, const uint8_t *body, size_t len,
                    uint64_t now, uint64_t wall_ms)
{
    struct gpeer *p = g->peers[peer];
    p->st.recon_bytes_in += len;
    if (now >= p->expect_until) /* the last round's haves had their time */
        p->expect_new = p->expect_dup = 0;
    p->expect_until = now + LIMIT_PEER_RECON_GRACE_MS; /* its haves drain after its last message */
    if (!g->tm[peer].rc_active) { /* the peer starts a round: answer over our current set */
        if (!peer_round_allowed(g, peer, now))
            return GOSSIP_E_BUDGET; /* the session is being closed */
        int rc = gossip_recon_start(g, peer, false, now, wall_ms);
        if (rc < 0)
            return GOSSIP_OK; /* our resource problem, not the peer's fault: it will retry */
    }
    struct diff_ctx d = {g, peer, wall_ms};
    struct recon_diff diff = {diff_have, diff_need, &d};
    int n =
        recon_respond(&p->rc, body, len, gossip_scratch()->recon_out, LIMIT_RECON_MSG_BYTES, &diff);
    if (n < 0) {
        gossip_logf(g, GOSSIP_LOG_WARN, peer, "reconciliation message refused at byte %zu: %s",
             p->rc.err_offset, recon_strerror(n));
        gossip_recon_stop(g, peer, now);
        return GOSSIP_E_RECON;
    }
    recon_send(g, peer, n);
    if (recon_done(&p->rc))
        gossip_recon_stop(g, peer, now);
    return GOSSIP_OK;
}
