/* gossip_send.c - what leaves towards a peer: the RECORDS, ANNOUNCE and WANT builders, the
 * outbound gate every record and id passes (gossip_gate_out), and the per-peer queue of records
 * to send in full.
 */
#include "node/core/gossip_int.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#ifdef GOSSIP_TEST_GATE_HOOK
void (*gossip_test_emit_hook)(const uint8_t self[LIMIT_KEY_BYTES],
                              const uint8_t peer[LIMIT_KEY_BYTES],
                              const uint8_t id[LIMIT_ID_BYTES], enum gossip_emit what);
#endif

/* --- outgoing messages --- */

static const uint8_t out_type[N_OUT] = {GOSSIP_MSG_RECORDS, GOSSIP_MSG_ANNOUNCE, GOSSIP_MSG_WANT,
                                        GOSSIP_MSG_PRUNE};

static void out_send(struct gossip *g, size_t peer, int k)
{
    struct gpeer *p = g->peers[peer];
    struct obuf *o = &p->out[k];
    if (o->n == 0)
        return;
    put_be16(o->b, o->n);
    if (g->io.send(g->io.ctx, peer, out_type[k], o->b, o->len) < 0)
        g->st.sent_fail++;
    /* Messages leave once per loop turn (gossip_pump), so a builder is empty between turns: one
     * kept per type and peer was 12 KiB of a simulated node, for a malloc per message saved. */
    free(o->b);
    *o = (struct obuf){0};
}

/* Room for an item of item_len bytes in builder k of peer (sending it first when full). */
static uint8_t *out_room(struct gossip *g, size_t peer, int k, size_t item_len)
{
    struct obuf *o = &g->peers[peer]->out[k];
    assert(item_len + HDR <= SESSION_MAX_BODY);
    if (o->n == 0xffff || o->len + item_len > SESSION_MAX_BODY)
        out_send(g, peer, k);
    if (o->len == 0)
        o->len = HDR;
    if (o->len + item_len > o->cap) {
        size_t cap = o->cap ? o->cap : 512;
        while (cap < o->len + item_len)
            cap *= 2;
        uint8_t *nb = realloc(o->b, cap < SESSION_MAX_BODY ? cap : SESSION_MAX_BODY);
        if (nb == NULL)
            return NULL;
        o->b = nb;
        o->cap = cap < SESSION_MAX_BODY ? cap : SESSION_MAX_BODY;
    }
    uint8_t *at = o->b + o->len;
    o->len += item_len;
    o->n++;
    bit_set(g->pending, peer);
    return at;
}

static bool out_add_record(struct gossip *g, size_t peer, const struct rview *v)
{
    uint8_t *at = out_room(g, peer, OUT_RECORDS, 2 + v->len);
    if (at == NULL)
        return false;
    EMIT(g, peer, v->id, GOSSIP_EMIT_RECORD);
    put_be16(at, v->len);
    memcpy(at + 2, v->bytes, v->len);
    return true;
}

bool gossip_out_add_sid(struct gossip *g, size_t peer, int k, const uint8_t *id)
{
    uint8_t *at = out_room(g, peer, k, SID);
    if (at != NULL)
        memcpy(at, id, SID);
    return at != NULL;
}

/* --- records and the gate --- */

/* One struct scratch per thread (gossip_int.h says why). */
struct scratch *gossip_scratch(void)
{
    static _Thread_local struct scratch s;
    return &s;
}

/* The store-free half of gossip_view_load: decodes bytes into gossip_scratch()->rec, no target
 * (so it may run inside a store iteration). */
bool gossip_view_decode(const uint8_t id[LIMIT_ID_BYTES], const uint8_t *bytes, size_t len,
                        struct rview *v)
{
    struct scratch *x = gossip_scratch();
    if (len <= LIMIT_SIG_BYTES ||
        proto_record_decode_known(bytes + LIMIT_SIG_BYTES, len - LIMIT_SIG_BYTES, &x->rec) !=
            PROTO_OK)
        return false;
    *v = (struct rview){.id = id, .bytes = bytes, .len = len, .r = &x->rec};
    return true;
}

/* Decodes bytes (in gossip_scratch()->buf or elsewhere) into gossip_scratch()->rec and loads the
 * gate facts. Only for bodies decoded and checked before (stored, or verified by a job): gossip
 * loads each record several times (inbound gate, announcement, every send), and the checks are most
 * of a decode. */
bool gossip_view_load(struct gossip *g, const uint8_t id[LIMIT_ID_BYTES], const uint8_t *bytes,
                      size_t len, struct rview *v)
{
    struct scratch *x = gossip_scratch();
    if (!gossip_view_decode(id, bytes, len, v))
        return false;
    const uint8_t *target = x->rec.kind == PROTO_KIND_REVOCATION ? x->rec.u.rev.target
                            : x->rec.kind == PROTO_KIND_SIGHTING ? x->rec.u.sight.target
                                                                 : NULL;
    size_t tlen;
    if (target != NULL &&
        g->ops.get(g->ops.ctx, target, x->tbuf, LIMIT_SIGNED_RECORD_BYTES, &tlen) == STORE_OK &&
        tlen > LIMIT_SIG_BYTES &&
        proto_record_decode_known(x->tbuf + LIMIT_SIG_BYTES, tlen - LIMIT_SIG_BYTES, &x->trec) ==
            PROTO_OK)
        v->target = &x->trec;
    return true;
}

/* Loads a stored record by id into gossip_scratch()->buf and its view, with the revocation state
 * outgoing items are gated on (the inbound gate leaves that to the store); false when it is not (or
 * no longer) stored, or does not decode. */
bool gossip_view_load_id(struct gossip *g, const uint8_t id[LIMIT_ID_BYTES], struct rview *v)
{
    size_t len;
    uint8_t *buf = gossip_scratch()->buf;
    if (g->ops.get(g->ops.ctx, id, buf, LIMIT_SIGNED_RECORD_BYTES, &len) != STORE_OK ||
        !gossip_view_load(g, id, buf, len, v))
        return false;
    v->revoked = g->ops.is_revoked(g->ops.ctx, id, v->r->origin) == 1;
    return true;
}

enum gate_verdict gossip_gate_verdict(const struct gossip *g, size_t peer, const struct rview *v,
                                     bool reveal_only, uint64_t wall_ms)
{
    const struct gpeer *p = g->peers[peer];
    assert(p != NULL && v->r != NULL);
    bool has = !reveal_only && v->known != NULL && bit_get(v->known, peer);
    struct gate_record_state st = {.revoked = v->revoked, .sent_to_peer = has,
                                   .received_from_peer = has, .target = v->target};
    return reveal_only ? gate_may_reveal_id(&g->p.self, p->view, v->r, &st, wall_ms)
                       : gate_check(&g->p.self, p->view, v->r, &st, wall_ms);
}

/* The gate's answer for a record to peer, not counted: a choice of path (gossip_tree_push) that
 * a counted gossip_gate_out on the path taken follows. */
bool gossip_gate_allows(const struct gossip *g, size_t peer, const struct rview *v,
                        uint64_t wall_ms)
{
    return gossip_gate_verdict(g, peer, v, false, wall_ms) == GATE_ALLOW;
}

/* THE gate of every outgoing record and id: pushes, WANT answers, announcements (gate_check) and
 * reconciliation sets (gate_may_reveal_id). Counts refusals per peer and verdict. */
bool gossip_gate_out(struct gossip *g, size_t peer, const struct rview *v, bool reveal_only,
                     uint64_t wall_ms)
{
    return gossip_gate_note(g, peer, v->id, gossip_gate_verdict(g, peer, v, reveal_only, wall_ms),
                            reveal_only);
}

/* gossip_gate_out's second half: counts (and logs) the verdict on record id to peer, true if it
 * allows. Apart for the reconciliation set, which takes verdicts during a store iteration and
 * counts them once the revocation state is known (gossip_recon_build_set). */
bool gossip_gate_note(struct gossip *g, size_t peer, const uint8_t id[LIMIT_ID_BYTES],
                      enum gate_verdict verdict, bool reveal_only)
{
    struct gpeer *p = g->peers[peer];
    if (verdict == GATE_ALLOW)
        return true;
    assert(verdict < GATE_VERDICT_COUNT);
    p->st.refused[verdict]++;
    const bool refusal_of_send = !reveal_only && verdict != GATE_DENY_PEER_HAS;
    g->st.refused_out += refusal_of_send;
    if (g->p.log_refusals && refusal_of_send)
        gossip_logf(g, GOSSIP_LOG_DEBUG, peer,
                    "record %02x%02x%02x%02x%02x%02x%02x%02x: not sent: %s", id[0], id[1], id[2],
                    id[3], id[4], id[5], id[6], id[7],
                    gate_verdict_name(verdict));
    return false;
}

/* --- per-peer queue of records to send in full --- */

void gossip_push_enqueue(struct gossip *g, size_t peer, const uint8_t id[LIMIT_ID_BYTES])
{
    struct gpeer *p = g->peers[peer];
    if (p->q_len == p->q_cap) {
        if (gossip_push_full(g, peer)) {
            p->st.skipped_backlog++;
            g->tm[peer].soon_pending = true;
            return;
        }
        size_t cap = p->q_cap ? p->q_cap * 2 : LIMIT_GOSSIP_QUEUE_KEEP;
        uint8_t(*nq)[LIMIT_ID_BYTES] = malloc(cap * LIMIT_ID_BYTES);
        if (nq == NULL) {
            p->st.skipped_backlog++;
            g->tm[peer].soon_pending = true;
            return;
        }
        for (size_t i = 0; i < p->q_len; i++) /* unwrap the ring */
            memcpy(nq[i], p->q[(p->q_head + i) % p->q_cap], LIMIT_ID_BYTES);
        free(p->q);
        p->q = nq;
        p->q_cap = cap;
        p->q_head = 0;
    }
    memcpy(p->q[(p->q_head + p->q_len) % p->q_cap], id, LIMIT_ID_BYTES);
    p->q_len++;
    bit_set(g->pending, peer);
}

/* Writes queued records into peer's RECORDS builder while its connection keeps up; each is
 * gated again now (it may have been revoked, expired or reached the peer in between). */
static void drain(struct gossip *g, size_t peer, uint64_t wall_ms)
{
    struct gpeer *p = g->peers[peer];
    for (size_t sent = 0; p->q_len > 0 && sent < LIMIT_GOSSIP_DRAIN_RECORDS; sent++) {
        if (gossip_backlogged(g, peer))
            return;
        uint8_t id[LIMIT_ID_BYTES];
        memcpy(id, p->q[p->q_head], LIMIT_ID_BYTES);
        p->q_head = (p->q_head + 1) % p->q_cap;
        p->q_len--;
        struct rview v;
        if (!gossip_view_load_id(g, id, &v))
            continue;
        uint64_t *known = gossip_recent_known(g, gossip_hkey(g, id));
        v.known = known;
        if (!gossip_gate_out(g, peer, &v, false, wall_ms))
            continue; /* unknown or refused: silently, exactly alike */
        if (!out_add_record(g, peer, &v))
            continue;
        if (known != NULL) {
            bit_set(known, peer);
            if (g->p.track_holds)
                bit_set(gossip_recent_sent_of(g, known), peer);
        }
        p->st.records_sent++;
        g->st.records_sent++;
    }
    if (p->q_len == 0 && p->q_cap > LIMIT_GOSSIP_QUEUE_KEEP) { /* an emptied catch-up queue gives its memory back */
        free(p->q);
        p->q = NULL;
        p->q_cap = 0;
        p->q_head = 0;
    }
}

/* Feeds every peer and writes every pending message. Only gossip_flush calls it: whatever one
 * loop turn produced for a peer leaves as one message per type. */
void gossip_pump(struct gossip *g, uint64_t wall_ms)
{
    FOR_EACH_BIT(i, g->pending, g->p.max_peers) {
        assert(peer_up(g, i));
        drain(g, i, wall_ms);
        for (int k = 0; k < N_OUT; k++)
            out_send(g, i, k);
        if (g->peers[i]->q_len == 0)
            bit_clear(g->pending, i);
    }
}
