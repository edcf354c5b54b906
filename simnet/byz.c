/* byz.c - byzantine nodes: the forged, relabelled, replayed and misaddressed records they
 * inject into their sessions (simrun.h). */
#include <string.h>

#include "node/core/session.h"
#include "proto/record.h"

#include "simnet/simrun.h"

/* --- byzantine nodes --- */

/* Appends one signed record to a RECORDS message being built in buf. */
static void msg_add(uint8_t *buf, size_t *len, const uint8_t *rec, size_t rlen)
{
    uint16_t cnt = (uint16_t)(buf[0] << 8 | buf[1]);
    if (*len + 2 + rlen > SESSION_MAX_BODY || cnt == 0xffff)
        return;
    buf[*len] = (uint8_t)(rlen >> 8);
    buf[*len + 1] = (uint8_t)rlen;
    memcpy(buf + *len + 2, rec, rlen);
    *len += 2 + rlen;
    cnt++;
    buf[0] = (uint8_t)(cnt >> 8);
    buf[1] = (uint8_t)cnt;
}

/* A record node a holds, picked at random (-1 when none is found quickly). */
static int64_t held_record(struct sim *s, struct snode *n, uint8_t min_tlp)
{
    for (int tries = 0; tries < 64 && s->o.n > 0; tries++) {
        size_t ri = rng_below(&n->rng, s->o.n);
        if (s->o.recs[ri].genuine && s->o.recs[ri].tlp >= min_tlp &&
            bit_test(s->o.holders + ri * s->o.words, n->idx))
            return (int64_t)ri;
    }
    return -1;
}

/* A record of an honest origin with a random signature. */
static size_t forge(struct sim *s, struct snode *n, uint8_t *out)
{
    uint32_t victim = (uint32_t)rng_below(&n->rng, s->w.n);
    struct orec o = {.tlp = PROTO_TLP_CLEAR};
    size_t len = make_record(s, victim, rng_next(&n->rng), &o);
    memcpy(out, s->buf, len);
    eio_random(n, out, LIMIT_SIG_BYTES);
    return len;
}

/* A held record with its TLP lowered to CLEAR and audience dropped, the signature kept. */
static size_t relabel(struct sim *s, struct snode *n, uint8_t *out)
{
    int64_t ri = held_record(s, n, PROTO_TLP_GREEN);
    if (ri < 0)
        return 0;
    const struct orec *o = &s->o.recs[ri];
    if (proto_record_decode(o->bytes + LIMIT_SIG_BYTES, o->len - LIMIT_SIG_BYTES, s->rec, NULL,
                            0) != PROTO_OK)
        return 0;
    s->rec->tlp = PROTO_TLP_CLEAR;
    memset(&s->rec->audience, 0, sizeof s->rec->audience);
    int blen = proto_record_encode(s->rec, out + LIMIT_SIG_BYTES, LIMIT_RECORD_BYTES);
    if (blen <= 0)
        return 0;
    memcpy(out, o->bytes, LIMIT_SIG_BYTES);
    return LIMIT_SIG_BYTES + (size_t)blen;
}

void byz_tick(struct sim *s, struct snode *n)
{
    uint8_t mode = s->w.byz[n->idx];
    static uint8_t msg[SESSION_MAX_BODY], rec[LIMIT_SIG_BYTES + LIMIT_RECORD_BYTES];
    uint32_t deg = world_degree(&s->w, n->idx);
    for (uint32_t k = 0; k < deg && n->running; k++) {
        engine_conn h;
        if (!engine_peer_conn(&n->node.engine, k, &h))
            continue;
        size_t len = 2;
        msg[0] = msg[1] = 0;
        uint32_t to = s->w.adj[s->w.off[n->idx] + k];
        if (mode & SIM_BYZ_FORGE)
            msg_add(msg, &len, rec, forge(s, n, rec));
        size_t rl = mode & SIM_BYZ_RELABEL ? relabel(s, n, rec) : 0;
        if (rl > 0)
            msg_add(msg, &len, rec, rl);
        unsigned batch = mode & SIM_BYZ_FLOOD ? FLOOD_BATCH : mode & SIM_BYZ_REPLAY ? BYZ_BATCH : 0;
        for (unsigned i = 0; i < batch; i++) {
            int64_t ri = held_record(s, n, PROTO_TLP_CLEAR);
            if (ri >= 0)
                msg_add(msg, &len, s->o.recs[ri].bytes, s->o.recs[ri].len);
        }
        for (unsigned i = 0; (mode & SIM_BYZ_AUDIENCE) && i < BYZ_BATCH; i++) {
            int64_t ri = held_record(s, n, PROTO_TLP_GREEN);
            if (ri >= 0 && !oracle_may_send(&s->o, s->w.off[n->idx] + k, n->idx, to,
                                            &s->o.recs[ri]))
                msg_add(msg, &len, s->o.recs[ri].bytes, s->o.recs[ri].len);
        }
        if (len > 2)
            engine_send(&n->node.engine, k, GOSSIP_MSG_RECORDS, msg, len, s->now);
    }
    mark_dirty(s, n);
    push(s, s->now + (mode & SIM_BYZ_FLOOD ? FLOOD_INTERVAL_MS : BYZ_INTERVAL_MS), EV_BYZ,
         n->idx, 0, NULL, 0);
}
