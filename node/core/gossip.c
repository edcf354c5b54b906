/* gossip.c - see gossip.h; wire format in docs/PROTOCOL.md "Gossip". How the module's files
 * divide the work, and the tables they share: gossip_int.h.
 *
 * This file: creating and freeing a gossip, peers coming and going, the node's own view changing,
 * deadlines and statistics.
 */
#include "node/core/gossip_int.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *gossip_strerror(int err)
{
    switch (err) {
    case GOSSIP_OK: return "success";
    GOSSIP_ERRORS(ERRORS_CASE)
    default: return "unknown gossip error";
    }
}

void gossip_logf(struct gossip *g, enum gossip_log_level level, size_t peer, const char *fmt, ...)
{
    if (g->io.log == NULL)
        return;
    char line[LIMIT_GOSSIP_LOG_BYTES];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    g->io.log(g->io.ctx, level, peer, line);
}

/* --- peers --- */

/* Asks once for peer's session to end for reason (a GOSSIP_E_* or PEERSCORE_E_* code: the node
 * penalizes the key for the latter and for malformed or forged input); its further messages
 * and records are ignored until it is down. */
void gossip_close_for(struct gossip *g, size_t peer, int reason)
{
    struct gpeer *p = g->peers[peer];
    if (p->closing)
        return;
    p->closing = true;
    if (peerscore_is_reason(reason))
        p->st.closed_for = reason;
    g->io.close_peer(g->io.ctx, peer, reason);
}

/* Takes cost from peer's budget k; false, and the session is being closed, once it is spent. */
bool gossip_charge(struct gossip *g, size_t peer, enum peerscore_kind k, uint32_t cost,
                   uint64_t now)
{
    struct gpeer *p = g->peers[peer];
    if (p->closing)
        return false;
    p->charged = true;
    if (peerscore_take(&p->score, k, cost, now))
        return true;
    const int reason = peerscore_reason(k);
    gossip_logf(g, GOSSIP_LOG_WARN, peer, "session closed: %s", peerscore_strerror(reason));
    gossip_close_for(g, peer, reason);
    return false;
}

bool gossip_peer_charge(struct gossip *g, size_t peer, enum peerscore_kind k, uint32_t cost,
                        uint64_t now)
{
    return peer < g->p.max_peers && bit_get(g->up, peer) && gossip_charge(g, peer, k, cost, now);
}

static void forget_peer_bits(struct gossip *g, size_t peer)
{
    for (size_t e = 0; e < g->recent_cap; e++) {
        bit_clear(bits_at(g->recent_bits, g->words, e), peer);
        if (g->p.track_holds) {
            bit_clear(bits_at(g->recent_sent, g->words, e), peer);
            if (g->recent_from[e] == peer)
                g->recent_from[e] = NIL;
        }
    }
    for (size_t w = 0; w < g->want_alloc; w++) {
        bit_clear(bits_at(g->want_ann, g->words, w), peer);
        bit_clear(bits_at(g->want_tried, g->words, w), peer);
    }
}

/* The names a view holds: what the gate reads of it. More than LIMIT_GATE_MEMBERSHIPS is kept as
 * a count (the gate refuses such a view as invalid) with the first LIMIT_GATE_MEMBERSHIPS names. */
static unsigned view_names(const struct gate_peer *v)
{
    return v->n_communities < LIMIT_GATE_MEMBERSHIPS ? v->n_communities : LIMIT_GATE_MEMBERSHIPS;
}

static bool view_equal(const struct gate_peer *kept, const struct gate_peer *v)
{
    return kept != NULL && kept->n_communities == v->n_communities &&
           memcmp(kept, v, gate_peer_size(view_names(v))) == 0;
}

/* Copies the part of view the gate reads into p->view, sized to its names. False: no memory (the
 * old view stays). */
static bool keep_view(struct gpeer *p, const struct gate_peer *view)
{
    const size_t size = gate_peer_size(view_names(view));
    if (p->view == NULL || p->view->n_communities != view->n_communities) {
        struct gate_peer *v = realloc(p->view, size);
        if (v == NULL)
            return false;
        p->view = v;
    }
    memcpy(p->view, view, size);
    return true;
}

int gossip_peer_up(struct gossip *g, size_t peer, const struct gate_peer *view,
                   const uint8_t session_key[LIMIT_KEY_BYTES], uint64_t now)
{
    assert(g != NULL && view != NULL && session_key != NULL);
    if (peer >= g->p.max_peers)
        return GOSSIP_E_INVAL;
    struct gpeer *p = g->peers[peer];
    if (p == NULL) {
        p = calloc(1, sizeof *p);
        if (p == NULL)
            return GOSSIP_E_NOMEM;
        g->peers[peer] = p;
    }
    const bool up = bit_get(g->up, peer);
    const bool changed = up && !view_equal(p->view, view);
    if (!keep_view(p, view))
        return GOSSIP_E_NOMEM;
    memcpy(&g->key8[peer], view->key, sizeof g->key8[peer]);
    if (changed)
        gossip_recon_soon(g, peer, now);
    if (up)
        return GOSSIP_OK;
    if (p->keyed && memcmp(p->key, view->key, LIMIT_KEY_BYTES) != 0) {
        forget_peer_bits(g, peer); /* the slot now belongs to another node */
        memset(&p->st, 0, sizeof p->st);
    }
    memcpy(p->key, view->key, LIMIT_KEY_BYTES);
    p->keyed = true;
    bit_set(g->up, peer);
    p->gen++;
    p->st.up = true;
    p->st.sessions++;
    p->initiator = memcmp(g->p.self.key, session_key, LIMIT_KEY_BYTES) < 0;
    p->recon_again = false;
    p->req_after = now;
    p->round_at = now;
    peerscore_reset(&p->score, now);
    p->push = (struct peerscore_bucket){(uint64_t)LIMIT_GOSSIP_PUSH_BURST * 1000, now};
    p->expect_until = p->expect_last = 0;
    p->expect_new = p->expect_dup = 0;
    p->charged = false;
    p->closing = false;
    assert(!g->tm[peer].rc_active);
    g->tm[peer] = (struct ptimer){
        .next_recon = p->initiator ? now + LIMIT_RECON_START_DELAY_MS : UINT64_MAX,
        .soon_after = now, .soon_pending = false, .rc_active = false};
    return GOSSIP_OK;
}

void gossip_peer_caps(struct gossip *g, size_t peer, uint32_t caps)
{
    assert(g != NULL);
    if (peer < g->p.max_peers && peer_up(g, peer))
        g->peers[peer]->tree = (caps & GOSSIP_CAP_TREE) != 0;
}

void gossip_peer_down(struct gossip *g, size_t peer)
{
    assert(g != NULL);
    if (peer >= g->p.max_peers || !peer_up(g, peer))
        return;
    struct gpeer *p = g->peers[peer];
    gossip_verify_drop(g, peer);
    gossip_recon_stop(g, peer, 0);
    bit_clear(g->up, peer);
    bit_clear(g->pending, peer);
    p->st.up = false;
    p->tree = false;
    gossip_tree_forget_peer(g, peer); /* a new session, or another node in the slot, starts eager */
    free(p->q);
    p->q = NULL;
    p->q_cap = p->q_len = p->q_head = 0;
    gossip_push_later_free(p);
    for (int k = 0; k < N_OUT; k++) {
        free(p->out[k].b);
        p->out[k] = (struct obuf){NULL, 0, 0, 0};
    }
    for (uint32_t w = 0; w < g->want_alloc; w++) /* re-ask what this peer owed us elsewhere */
        if (g->wants[w].used && g->wants[w].asked == peer) {
            gossip_want_unask(g, &g->wants[w]);
            g->want_dl[w] = 0;
            g->want_next = 0;
        }
    assert(p->wants_out == 0);
}

void gossip_set_self(struct gossip *g, const struct gate_self *self)
{
    assert(g != NULL && self != NULL);
    g->self_changed = g->self_changed || memcmp(&g->p.self, self, sizeof *self) != 0;
    g->p.self = *self;
}

/* --- lifetime and introspection --- */

static size_t cap_or(size_t v, size_t dflt)
{
    return v == 0 || v > dflt ? dflt : v;
}

int gossip_new(struct gossip **out, const struct gossip_params *p,
               const struct gossip_store_ops *store, const struct gossip_io *io)
{
    assert(out != NULL && p != NULL && store != NULL && io != NULL);
    if (p->max_peers == 0 || p->max_peers > LIMIT_PEERS || io->send == NULL ||
        io->close_peer == NULL || io->verify == NULL)
        return GOSSIP_E_INVAL;
    struct gossip *g = calloc(1, sizeof *g);
    if (g == NULL)
        return GOSSIP_E_NOMEM;
    g->p = *p;
    g->ops = *store;
    g->io = *io;
    g->words = (p->max_peers + 63) / 64;
    g->cand_cap = cap_or(p->cand_cap, LIMIT_GOSSIP_CANDIDATES);
    g->recent_cap = cap_or(p->recent_cap, LIMIT_GOSSIP_RECENT);
    g->want_cap = cap_or(p->want_cap, LIMIT_GOSSIP_WANTS);
    g->ann_cap = cap_or(p->announce_cap, LIMIT_GOSSIP_ANNOUNCE_QUEUE);
    g->tree_cap = cap_or(p->tree_cap, LIMIT_GOSSIP_TREES);
    g->push_cap = cap_or(p->push_cap, LIMIT_GOSSIP_PUSH_QUEUE);
    g->scan_seq = p->start_seq;
    g->want_next = UINT64_MAX;
    g->ann_due = UINT64_MAX;
    g->peers = calloc(p->max_peers, sizeof *g->peers);
    g->tm = calloc(p->max_peers, sizeof *g->tm);
    g->key8 = calloc(p->max_peers, sizeof *g->key8);
    g->recent = calloc(g->recent_cap, sizeof *g->recent);
    g->recent_bits = calloc(g->recent_cap * g->words, sizeof *g->recent_bits);
    if (p->track_holds) {
        g->recent_sent = calloc(g->recent_cap * g->words, sizeof *g->recent_sent);
        g->recent_from = calloc(g->recent_cap, sizeof *g->recent_from); /* set on each add */
    }
    g->commit_cap = g->cand_cap < LIMIT_GOSSIP_COMMIT_BATCH ? g->cand_cap
                                                            : LIMIT_GOSSIP_COMMIT_BATCH;
    int rc = GOSSIP_OK;
    if (!g->peers || !g->tm || !g->key8 || !g->recent || !g->recent_bits ||
        (p->track_holds && (!g->recent_sent || !g->recent_from)))
        rc = GOSSIP_E_NOMEM;
    if (rc == GOSSIP_OK && !commitq_init(&g->cq, g->cand_cap, p->max_peers + 1,
                                         LIMIT_GOSSIP_COMMIT_QUANTUM, LIMIT_GOSSIP_COMMIT_SHARED_MS))
        rc = GOSSIP_E_NOMEM;
    if (rc == GOSSIP_OK && !idindex_grow(&g->recent_idx, g->recent_cap, 0, NULL, NULL))
        rc = GOSSIP_E_NOMEM;
    if (rc != GOSSIP_OK) {
        gossip_free(g);
        return rc;
    }
    g->cand_free = NIL; /* the tables grow with the first entry (gossip_tables.c, gossip_want.c) */
    g->want_free = NIL;
    *out = g;
    return GOSSIP_OK;
}

void gossip_free(struct gossip *g)
{
    if (g == NULL)
        return;
    assert(g->jobs_out == 0 && !g->commit_out);
    for (size_t i = 0; g->peers && i < g->p.max_peers; i++) {
        if (g->peers[i] == NULL)
            continue;
        gossip_peer_down(g, i);
        free(g->peers[i]->view);
        free(g->peers[i]);
    }
    for (size_t i = 0; g->cands && i < g->cand_alloc; i++)
        free(g->cands[i].bytes);
    free(g->peers);
    free(g->tm);
    free(g->key8);
    free(g->cands);
    commitq_free(&g->cq);
    idindex_free(&g->cand_idx);
    free(g->recent);
    free(g->recent_bits);
    free(g->recent_sent);
    free(g->recent_from);
    free(g->own);
    idindex_free(&g->recent_idx);
    free(g->wants);
    free(g->want_dl);
    free(g->want_ann);
    free(g->want_tried);
    idindex_free(&g->want_idx);
    gossip_tree_free(g);
    free(g->anns);
    free(g->commit_items);
    free(g->commit_cis);
    free(g);
}

uint64_t gossip_next_deadline(const struct gossip *g)
{
    assert(g != NULL);
    uint64_t next = g->n_wants > 0 ? g->want_next : UINT64_MAX;
    if (commitq_len(&g->cq) > 0 && !g->commit_out) { /* else the completion comes first */
        if (!gossip_commit_held(g))
            return 0;
        next = min_u64(next, g->commit_hold_until);
    }
    next = min_u64(next, g->ann_due);
    FOR_EACH_BIT(i, g->up, g->p.max_peers) {
        const struct ptimer *t = &g->tm[i];
        if (bit_get(g->pending, i) && gossip_push_left(g->peers[i]) > 0 && !gossip_backlogged(g, i))
            return 0;
        if (t->building || (t->flight_left && !gossip_backlogged(g, i)))
            return 0; /* a round's next step (gossip_recon_turn) */
        if (!t->rc_active)
            next = min_u64(next, t->next_recon);
        if (t->soon_pending)
            next = min_u64(next, t->soon_after);
    }
    return next;
}

bool gossip_idle(const struct gossip *g)
{
    assert(g != NULL);
    if (g->jobs_out || g->commit_out || g->n_cands || g->ann_len || g->n_wants)
        return false;
    FOR_EACH_BIT(i, g->up, g->p.max_peers)
        if (g->tm[i].rc_active || (bit_get(g->pending, i) && gossip_push_left(g->peers[i]) > 0))
            return false;
    return true;
}

const struct gossip_stats *gossip_stats(const struct gossip *g)
{
    return &g->st;
}

const struct gossip_peer_stats *gossip_peer_stats(const struct gossip *g, size_t peer)
{
    assert(g != NULL);
    return peer < g->p.max_peers && g->peers[peer] ? &g->peers[peer]->st : NULL;
}

size_t gossip_activity(const struct gossip *g, uint64_t now, struct activity_minute *out,
                       size_t max)
{
    assert(g != NULL);
    return activity_read(&g->act, now, out, max);
}
