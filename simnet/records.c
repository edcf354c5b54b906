/* records.c - what the scenario does to the mesh: the records it publishes and its timed
 * actions (partitions, churn) (simrun.h). */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "proto/record.h"

#include "simnet/simrun.h"

/* --- records --- */

static uint8_t pick_tlp(struct sim *s)
{
    uint64_t total = 0;
    for (int t = 0; t < PROTO_TLP_COUNT; t++)
        total += s->sc->tlp_mix[t];
    uint64_t x = rng_below(&s->pub_rng, total ? total : 1);
    for (int t = 0; t < PROTO_TLP_COUNT; t++) {
        if (x < s->sc->tlp_mix[t])
            return (uint8_t)t;
        x -= s->sc->tlp_mix[t];
    }
    return PROTO_TLP_CLEAR;
}

/* The audience the generator gives a record of origin a: GREEN/AMBER/AMBER+STRICT one of the
 * origin's communities (none: the whole network); RED up to three neighbours and one node
 * anywhere (often unreachable through recipients: entitlement is by chains of allowed links). */
static void pick_audience(struct sim *s, uint32_t a, struct orec *o, struct proto_record *r)
{
    const struct world *w = &s->w;
    if (o->tlp == PROTO_TLP_RED) {
        uint32_t deg = world_degree(w, a), want = deg < 3 ? deg : 3;
        for (uint32_t i = 0; i < want; i++)
            o->recip[o->n_recip++] = w->adj[w->off[a] + rng_below(&s->pub_rng, deg)];
        o->recip[o->n_recip++] = (uint32_t)rng_below(&s->pub_rng, w->n);
        for (unsigned i = 0; i < o->n_recip; i++)
            memcpy(r->audience.recipients[i], s->nodes[o->recip[i]].id.sign_pk, LIMIT_KEY_BYTES);
        r->audience.n_recipients = o->n_recip;
    } else if (o->tlp != PROTO_TLP_CLEAR && w->comm[a] != 0) {
        unsigned pick = (unsigned)rng_below(&s->pub_rng, (uint64_t)__builtin_popcountll(w->comm[a]));
        for (unsigned c = 0; c < SIM_MAX_COMMUNITIES; c++)
            if (w->comm[a] >> c & 1 && pick-- == 0) {
                o->comm = (uint64_t)1 << c;
                snprintf(r->audience.communities[0], LIMIT_NAME_BYTES + 1, "c%u", c);
                r->audience.n_communities = 1;
                break;
            }
    }
    proto_record_normalise_sets(r);
    /* the oracle's copy: recipients as node indexes, duplicates removed */
    unsigned k = 0;
    for (unsigned i = 0; i < o->n_recip; i++) {
        bool dup = false;
        for (unsigned j = 0; j < k; j++)
            dup |= o->recip[j] == o->recip[i];
        if (!dup)
            o->recip[k++] = o->recip[i];
    }
    o->n_recip = (uint8_t)k;
}

/* Signs record number i of origin a into s->buf; returns its length. */
size_t make_record(struct sim *s, uint32_t a, uint64_t i, struct orec *o)
{
    struct proto_record *r = s->rec;
    memset(r, 0, sizeof *r);
    r->version = PROTO_RECORD_VERSION;
    r->kind = PROTO_KIND_INDICATOR;
    r->tlp = o->tlp;
    r->created_ms = WALL0 + s->now;
    memcpy(r->origin, s->nodes[a].id.sign_pk, LIMIT_KEY_BYTES);
    pick_audience(s, a, o, r);
    r->u.ind.type = PROTO_ITYPE_SHA256;
    r->u.ind.confidence = 50;
    r->u.ind.valid_until_ms = WALL0 + 86400000ull * 365;
    uint8_t h[32], in[16];
    memcpy(in, &s->sc->seed, 8);
    memcpy(in + 8, &i, 8);
    crypto_generichash(h, sizeof h, in, sizeof in, NULL, 0);
    sodium_bin2hex(r->u.ind.value, sizeof r->u.ind.value, h, sizeof h);
    size_t pad = s->sc->record_pad < LIMIT_COMMENT_BYTES ? s->sc->record_pad : LIMIT_COMMENT_BYTES;
    memset(r->u.ind.comment, 'x', pad);
    int blen = proto_record_encode(r, s->buf + LIMIT_SIG_BYTES, LIMIT_RECORD_BYTES);
    assert(blen > 0);
    proto_record_sign(s->buf + LIMIT_SIG_BYTES, (size_t)blen, s->nodes[a].id.sign_sk, s->buf);
    proto_record_id(s->buf + LIMIT_SIG_BYTES, (size_t)blen, o->id);
    return LIMIT_SIG_BYTES + (size_t)blen;
}

/* Room for one commit of every node in a step: their puts find every record pooled (only
 * publications, which run alone, add genuine records), so they only read the shared pool. */
int pool_headroom(struct sim *s)
{
    return memstore_pool_reserve(&s->pool, SIM_CAND_CAP,
                                 SIM_CAND_CAP * (LIMIT_SIG_BYTES + LIMIT_RECORD_BYTES)) < 0
               ? SIM_E_NOMEM
               : SIM_OK;
}

void publish(struct sim *s, uint64_t i)
{
    const uint32_t p = s->sc->publishers;
    uint32_t a = (uint32_t)rng_below(&s->pub_rng, p > 0 && p < s->w.n ? p : s->w.n);
    for (uint32_t k = 0; k < s->w.n && (!s->nodes[a].running || s->w.byz[a]); k++)
        a = (a + 1) % s->w.n; /* honest, running origins only */
    struct snode *n = &s->nodes[a];
    if (!n->running)
        return;
    struct orec o = {.tlp = pick_tlp(s), .genuine = true, .origin = a, .published = s->now};
    size_t len = make_record(s, a, i, &o);
    o.bytes = malloc(len);
    if (o.bytes == NULL) {
        s->err = SIM_E_NOMEM;
        return;
    }
    memcpy(o.bytes, s->buf, len);
    o.len = (uint32_t)len;
    int64_t ri = oracle_add(&s->o, &o);
    if (ri < 0) {
        free(o.bytes);
        s->err = SIM_E_NOMEM;
        return;
    }
    oracle_entitle(&s->o, (size_t)ri, NULL);
    bit_put(s->o.holders + (size_t)ri * s->o.words, a);
    struct sim_stats_tlp *st = &s->res->tlp[o.tlp];
    st->records++;
    s->res->records_published++;
    s->res->record_bytes_total += len;
    struct store_put put = {.signed_rec = o.bytes, .len = len};
    memcpy(put.id, o.id, LIMIT_ID_BYTES);
    if (memstore_put_batch(&n->ms, &put, 1) < 0 || put.result != STORE_PUT_ADDED) {
        s->err = SIM_E_ENGINE;
        return;
    }
    if (pool_headroom(s) < 0)
        s->err = SIM_E_NOMEM;
    node_local_scan(&n->node); /* as `tlpmesh publish` + records-added */
    mark_dirty(s, n);
}

/* --- scenario actions --- */

void action(struct sim *s, const struct sim_action_ev *a)
{
    s->action_last = s->now;
    switch (a->act) {
    case SIM_ACT_SPLIT:
        s->split_on = true;
        for (uint32_t i = 0; i < s->w.n; i++)
            s->side[i] = i < (uint32_t)(a->frac * s->w.n);
        break;
    case SIM_ACT_ISOLATE: s->isolated = a->a; break;
    case SIM_ACT_ONEWAY: {
        void *no = realloc(s->oneway, (s->n_oneway + 1) * sizeof *s->oneway);
        if (no == NULL) {
            s->err = SIM_E_NOMEM;
            return;
        }
        s->oneway = no;
        s->oneway[s->n_oneway][0] = a->a;
        s->oneway[s->n_oneway++][1] = a->b;
        break;
    }
    case SIM_ACT_HEAL:
        s->split_on = false;
        s->isolated = -1;
        s->n_oneway = 0;
        break;
    case SIM_ACT_STOP: snode_stop(s, &s->nodes[a->a], a->b != 0); break;
    case SIM_ACT_START:
        if (!s->nodes[a->a].running && snode_start(s, &s->nodes[a->a]) < 0)
            s->err = SIM_E_ENGINE;
        break;
    }
    s->settle_until = s->now + s->sc->settle_ms;
}
