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

static void building_end(struct gossip *g, size_t peer)
{
    assert(g->tm[peer].building && g->n_building > 0);
    g->tm[peer].building = false;
    g->n_building--;
}

void gossip_recon_stop(struct gossip *g, size_t peer, uint64_t now)
{
    struct gpeer *p = g->peers[peer];
    struct ptimer *t = &g->tm[peer];
    if (!t->rc_active)
        return;
    if (t->building)
        building_end(g, peer);
    gossip_recon_build_free(p->bld);
    p->bld = NULL;
    recon_free(&p->rc);
    if (p->later.items == p->items && p->later.left > 0)
        p->items = NULL; /* the later haves own the set now (gossip_push_have) */
    free(p->items);
    p->items = NULL;
    t->rc_active = t->flight_left = false;
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
 * back while the connection keeps up. A flight is up to LIMIT_RECON_FLIGHT_BYTES, and a peer
 * answering flight after flight at once must not make us fill our own send queue and cut it
 * (LIMIT_PEER_SENDQ_BYTES): past gossip's backlog mark the rest waits for the connection to drain
 * (flight_left, gossip_recon_turn). The peer cannot answer a flight it has not received whole,
 * so an honest one sends nothing meanwhile (gossip_on_recon). */
static void recon_send(struct gossip *g, size_t peer, int len)
{
    struct gpeer *p = g->peers[peer];
    uint8_t *out = gossip_scratch()->recon_out;
    for (; len > 0; len = recon_next(&p->rc, out, LIMIT_RECON_MSG_BYTES)) {
        assert((size_t)len <= LIMIT_RECON_MSG_BYTES);
        if (g->io.send(g->io.ctx, peer, GOSSIP_MSG_RECON, out, (size_t)len) < 0)
            g->st.sent_fail++;
        p->st.recon_bytes_out += (uint64_t)len;
        if (gossip_backlogged(g, peer)) {
            g->tm[peer].flight_left = true;
            return;
        }
    }
    g->tm[peer].flight_left = false;
}

/* Are the last round's haves still on their way, one way or the other: ours still queued to the
 * peer (later), or the peer's still coming here? A round now would name them all again and push
 * again what is in flight (a new partner's catch-up outlasts LIMIT_RECON_INTERVAL_MS when the
 * receiver is slow). Bounded: the queue drains, and the peer's haves count only while they keep
 * coming (LIMIT_PEER_RECON_QUIET_MS) within their grace. */
static bool haves_in_flight(const struct gossip *g, size_t peer, uint64_t now)
{
    const struct gpeer *p = g->peers[peer];
    return p->later.left > 0 || (p->expect_new > 0 && now < p->expect_until &&
                                 now < p->expect_last + LIMIT_PEER_RECON_QUIET_MS);
}

int gossip_recon_start(struct gossip *g, size_t peer, const uint8_t *msg, size_t len,
                       uint64_t now, uint64_t wall_ms)
{
    struct gpeer *p = g->peers[peer];
    struct ptimer *t = &g->tm[peer];
    assert(!t->rc_active && p->bld == NULL);
    if (msg == NULL && haves_in_flight(g, peer, now)) {
        t->next_recon = now + LIMIT_RECON_ROUND_MIN_MS; /* asked again then */
        return GOSSIP_OK;
    }
    if (msg == NULL)
        p->round_at = now + LIMIT_RECON_ROUND_MIN_MS;
    gossip_push_later_free(p); /* the previous round's: this one names what is still lacking */
    int rc = gossip_recon_build_begin(g, peer, wall_ms, msg, len, &p->bld);
    if (rc < 0)
        return rc;
    t->rc_active = t->building = true;
    g->n_building++;
    p->st.recon_rounds++;
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
 * queued in full (gated again when written), and announced too once the queue is full: a skip would
 * be repeated by every round, in the same order, since a gate-asymmetric pair finds the same
 * hundreds of thousands of haves (all that the peer holds but keeps out of its set) each time, and
 * the few it lacks behind them never came (scripts/soak, seed 2026: 3,078 records for good). The
 * peer's own "have" report brings us what we lack, so needs cost nothing here. */
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
    struct rview v; /* v.known stays NULL: the peer's "has" is what the ANNOUNCE doubts */
    /* An ANNOUNCE is a send (docs/SHARING.md "Id announcements"): gate_check, not the set's
     * rule. The set names a record to its own origin whatever the rules (a wiped origin's own RED
     * record, its key not among the recipients): announced, the id went where the rules do not
     * let the record go, and the WANT it brought was refused. Also: it may have been revoked since
     * the set was built. */
    if (!gossip_view_load_id(g, item->id, &v) ||
        !gossip_gate_out(g, d->peer, &v, false, d->wall_ms))
        return;
    EMIT(g, d->peer, item->id, GOSSIP_EMIT_ANNOUNCE);
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

/* A round the peer starts reads our whole store (gossip_recon_set.c): at 500,000 records about
 * 1 s of the loop's CPU, spread over its turns, yet taken from everyone else. An honest initiator
 * starts one per
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

/* Answers the peer's message of the running round (its set is built). */
static int recon_answer(struct gossip *g, size_t peer, const uint8_t *body, size_t len,
                        uint64_t now, uint64_t wall_ms)
{
    struct gpeer *p = g->peers[peer];
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
    if (recon_done(&p->rc) && !g->tm[peer].flight_left)
        gossip_recon_stop(g, peer, now);
    return GOSSIP_OK;
}

int gossip_on_recon(struct gossip *g, size_t peer, const uint8_t *body, size_t len,
                    uint64_t now, uint64_t wall_ms)
{
    struct gpeer *p = g->peers[peer];
    struct ptimer *t = &g->tm[peer];
    p->st.recon_bytes_in += len;
    if (now >= p->expect_until) { /* the last round's haves had their time */
        p->expect_new = p->expect_dup = 0;
        p->charged = false;
    }
    p->expect_until = now + LIMIT_PEER_RECON_GRACE_MS; /* its haves drain after its last message */
    p->expect_last = now;
    if (t->building || t->flight_left) {
        /* Our turn is not over (the set is being built, or our flight waits for the connection):
         * an honest peer answers a flight it received whole, so this one is a copy or a hostile
         * peer's. Ignored, like a message of an unknown type and within the same budget: closing
         * would end a round that may still deliver, and answering would let the peer make us
         * write flight after flight. */
        return gossip_charge(g, peer, PEERSCORE_UNKNOWN_TYPE, 1, now) ? GOSSIP_OK
                                                                      : GOSSIP_E_BUDGET;
    }
    if (t->rc_active)
        return recon_answer(g, peer, body, len, now, wall_ms);
    /* The peer starts a round: answered once our set is built. */
    if (!peer_round_allowed(g, peer, now))
        return GOSSIP_E_BUDGET; /* the session is being closed */
    /* What can be checked without our set is checked now; the rest when it is answered. */
    const int bad = len > LIMIT_RECON_MSG_BYTES            ? RECON_E_TOO_BIG
                    : len == 0 || body[0] != RECON_VERSION ? RECON_E_VERSION
                                                           : RECON_OK;
    if (bad < 0) {
        gossip_logf(g, GOSSIP_LOG_WARN, peer, "reconciliation message refused: %s",
                    recon_strerror(bad));
        return GOSSIP_E_RECON;
    }
    (void)gossip_recon_start(g, peer, body, len, now, wall_ms); /* fails: our resources, not
                                                                   the peer's fault; it retries */
    return GOSSIP_OK;
}

/* The built set starts the round: our first message, or the answer to the peer's. */
static int build_done(struct gossip *g, size_t peer, uint64_t now, uint64_t wall_ms)
{
    struct gpeer *p = g->peers[peer];
    size_t n = 0, len;
    int rc = gossip_recon_build_take(p->bld, &p->items, &n);
    if (rc < 0)
        return rc;
    building_end(g, peer);
    rc = recon_init(&p->rc, p->items, n, LIMIT_RECON_MSG_BYTES);
    if (rc < 0) {
        gossip_logf(g, GOSSIP_LOG_WARN, peer, "reconciliation not started: %s", recon_strerror(rc));
        return GOSSIP_E_NOMEM;
    }
    const uint8_t *msg = gossip_recon_build_msg(p->bld, &len);
    if (msg == NULL) {
        gossip_recon_build_free(p->bld);
        p->bld = NULL;
        recon_send(g, peer,
                   recon_initiate(&p->rc, gossip_scratch()->recon_out, LIMIT_RECON_MSG_BYTES));
        return GOSSIP_OK;
    }
    rc = recon_answer(g, peer, msg, len, now, wall_ms); /* may end the round (and free bld) */
    if (rc < 0) { /* the peer's fault: its session ends as if its message came now */
        p->st.malformed++;
        gossip_close_for(g, peer, rc);
    } else if (p->bld != NULL) {
        gossip_recon_build_free(p->bld);
        p->bld = NULL;
    }
    return GOSSIP_OK;
}

/* One step of one peer's build: peers building at once take the turns in rotation. */
static void build_turn(struct gossip *g, uint64_t now, uint64_t wall_ms)
{
    const size_t max = g->p.max_peers;
    for (size_t k = 0; k < max && g->n_building > 0; k++) {
        const size_t i = (g->build_next + k) % max;
        if (!peer_up(g, i) || !g->tm[i].building)
            continue;
        g->build_next = (i + 1) % max;
        int rc = gossip_recon_build_step(g->peers[i]->bld);
        if (rc == 1)
            rc = build_done(g, i, now, wall_ms);
        if (rc < 0) {
            gossip_logf(g, GOSSIP_LOG_WARN, i, "reconciliation set not built: %s",
                        gossip_strerror(rc));
            gossip_recon_stop(g, i, now);
        }
        return;
    }
}

void gossip_recon_turn(struct gossip *g, uint64_t now, uint64_t wall_ms)
{
    build_turn(g, now, wall_ms);
    FOR_EACH_BIT(i, g->up, g->p.max_peers) {
        struct ptimer *t = &g->tm[i];
        if (!t->flight_left || gossip_backlogged(g, i))
            continue;
        struct recon *rc = &g->peers[i]->rc;
        recon_send(g, i, recon_next(rc, gossip_scratch()->recon_out, LIMIT_RECON_MSG_BYTES));
        if (!t->flight_left && recon_done(rc))
            gossip_recon_stop(g, i, now);
    }
}
