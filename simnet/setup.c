/* setup.c - sim_run: setup, the final check after quiescence, results and teardown (sim.h,
 * simrun.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <malloc.h>

#include <sys/resource.h>

#include <sodium.h>

#include "simnet/simrun.h"

const char *sim_strerror(int err)
{
    switch (err) {
    case SIM_OK: return "ok";
    SIM_ERRORS(ERRORS_CASE)
    default: return "unknown error";
    }
}

/* --- setup, final checks, results --- */

/* Every node's range of connection indexes, fixed for the run (no realloc under the workers). */
static int conns_init(struct sim *s)
{
    size_t total = 0;
    for (uint32_t a = 0; a < s->w.n; a++)
        total += conn_slots(world_degree(&s->w, a));
    s->conns = calloc(total, sizeof *s->conns);
    if (s->conns == NULL)
        return SIM_E_NOMEM;
    s->n_conns = total;
    size_t base = 0;
    for (uint32_t a = 0; a < s->w.n; a++) {
        struct snode *n = &s->nodes[a];
        uint32_t k = conn_slots(world_degree(&s->w, a));
        if ((n->conn_free = malloc(k * sizeof *n->conn_free)) == NULL)
            return SIM_E_NOMEM;
        for (uint32_t i = 0; i < k; i++) /* lowest index on top */
            n->conn_free[i] = (uint32_t)(base + k - 1 - i);
        n->n_conn_free = k;
        base += k;
    }
    return SIM_OK;
}

static int setup(struct sim *s)
{
    const struct sim_scenario *sc = s->sc;
    rng_seed(&s->rng, sc->seed, 0);
    rng_seed(&s->pub_rng, sc->seed, 1);
    int rc = topo_build(sc, &s->rng, &s->w);
    if (rc < 0)
        return rc;
    uint32_t n = s->w.n;
    size_t max_recs = sc->records + 16;
    if ((rc = evq_init(&s->q)) < 0)
        return rc;
    s->nodes = calloc(n, sizeof *s->nodes);
    s->dirty = malloc(n * sizeof *s->dirty);
    s->side = calloc(n, 1);
    s->active = malloc(n * sizeof *s->active);
    s->rec = malloc(sizeof *s->rec);
    s->buf = malloc(LIMIT_SIG_BYTES + LIMIT_RECORD_BYTES);
    s->vc_cap = 1;
    while (s->vc_cap < 4 * max_recs + 4096)
        s->vc_cap *= 2;
    s->vc = calloc(s->vc_cap, sizeof *s->vc);
    s->isolated = -1;
    if (!s->nodes || !s->dirty || !s->side || !s->active || !s->rec || !s->buf || !s->vc)
        return SIM_E_NOMEM;
    if ((rc = workers_init(s)) < 0 || (rc = conns_init(s)) < 0 || (rc = sim_configs_map(s)) < 0)
        return rc;
    if ((rc = oracle_init(&s->o, &s->w, max_recs)) < 0)
        return rc;
    struct sim_rng pool_rng;
    rng_seed(&pool_rng, sc->seed, 2);
    uint8_t pool_key[GOSSIP_HASH_KEY_BYTES];
    for (size_t i = 0; i < sizeof pool_key; i++)
        pool_key[i] = (uint8_t)rng_next(&pool_rng);
    memstore_pool_init(&s->pool, pool_key);
    if ((rc = pool_headroom(s)) < 0)
        return rc;
    for (uint32_t a = 0; a < n; a++) {
        struct snode *nd = &s->nodes[a];
        nd->sim = s;
        nd->idx = a;
        rng_seed(&nd->rng, sc->seed, 1000 + (uint64_t)a);
        uint8_t seed[LIMIT_KEY_BYTES], in[16];
        memcpy(in, &sc->seed, 8);
        uint64_t a64 = a;
        memcpy(in + 8, &a64, 8);
        crypto_generichash(seed, sizeof seed, in, sizeof in, NULL, 0);
        keys_identity_from_seed(seed, &nd->id);
        sodium_memzero(seed, sizeof seed);
        snprintf(nd->org, sizeof nd->org, "org%u", s->w.org[a]);
        nd->w = &s->workers[0]; /* until a step runs it elsewhere */
        s->any_byz |= s->w.byz[a] != 0;
    }
    if ((rc = sim_rosters_build(s)) < 0)
        return rc;
    for (uint32_t a = 0; a < n; a++)
        if ((rc = snode_start(s, &s->nodes[a])) < 0)
            return rc;
    for (uint32_t i = 0; i < sc->records; i++) {
        uint64_t t = sc->start_ms + (sc->records > 1 ? sc->publish_span_ms * i / (sc->records - 1) : 0);
        push(s, t, EV_PUBLISH, i, 0, NULL, 0);
    }
    for (size_t i = 0; i < sc->n_events; i++)
        push(s, sc->events[i].at, EV_ACTION, (uint32_t)i, 0, NULL, 0);
    s->actions_left = sc->n_events;
    for (uint32_t a = 0; a < n; a++)
        if (s->w.byz[a])
            push(s, sc->start_ms, EV_BYZ, a, 0, NULL, 0);
    s->settle_until = 0;
    if (sc->trace_path[0] && (s->trace = fopen(sc->trace_path, "w")) == NULL) {
        fprintf(stderr, "tlpmesh-simnet: %s: cannot write the trace\n", sc->trace_path);
        return SIM_E_IO;
    }
    return s->err;
}

/* After quiescence: every live honest node holds every record it is entitled to from the live
 * honest nodes that hold it, over live honest relays (a byzantine node is never relied on). */
static void final_check(struct sim *s)
{
    bool *alive = malloc(s->w.n * sizeof *alive);
    if (alive == NULL) {
        s->err = SIM_E_NOMEM;
        return;
    }
    for (uint32_t a = 0; a < s->w.n; a++)
        alive[a] = s->nodes[a].running && s->w.byz[a] == 0;
    for (size_t r = 0; r < s->o.n && !s->o.failed; r++) {
        const struct orec *o = &s->o.recs[r];
        oracle_entitle_held(&s->o, r, alive);
        const uint64_t *ent = s->o.entitled + r * s->o.words, *hold = s->o.holders + r * s->o.words;
        struct sim_stats_tlp *st = &s->res->tlp[o->tlp];
        for (uint32_t a = 0; a < s->w.n; a++) {
            if (!bit_test(ent, a) || (a == o->origin && !o->origin_wiped))
                continue;
            st->entitled++;
            if (bit_test(hold, a)) {
                st->delivered++;
                continue;
            }
            oracle_fail(&s->o, s->sc->seed, s->now,
                        "after quiescence node %u lacks record #%zu (tlp %s, origin %u) it is "
                        "entitled to",
                        a, r, proto_tlp_name(o->tlp), o->origin);
        }
    }
    free(alive);
}

static void collect(struct sim *s)
{
    struct sim_result *r = s->res;
    r->duplicates = s->gone.duplicates;
    r->forged_refused = s->gone.verify_forged + s->gone.verify_malformed;
    r->refused_inbound = s->gone.refused_inbound;
    r->gate_refusals = s->gone_refused;
    uint64_t recon = s->gone_recon;
    for (uint32_t a = 0; a < s->w.n; a++) {
        struct snode *n = &s->nodes[a];
        r->node_rx[a] = n->rx;
        r->node_tx[a] = n->tx;
        if (!n->running)
            continue;
        const struct gossip_stats *g = gossip_stats(n->node.gossip);
        r->duplicates += g->duplicates;
        r->forged_refused += g->verify_forged + g->verify_malformed;
        r->refused_inbound += g->refused_inbound;
        for (uint32_t k = 0; k < world_degree(&s->w, a); k++) {
            const struct gossip_peer_stats *p = gossip_peer_stats(n->node.gossip, k);
            for (int v = GATE_ALLOW + 1; p && v < GATE_VERDICT_COUNT; v++)
                r->gate_refusals += v == GATE_DENY_PEER_HAS ? 0 : p->refused[v];
            recon += p ? p->recon_bytes_in : 0;
            r->malformed += p ? p->malformed : 0;
        }
    }
    r->app_rx.recon = recon;
    r->verify_cached = s->sc->verify_cache ? r->verify_calls - s->vc_n - s->vc_full : 0;
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, sizeof r->digest);
    crypto_generichash_update(&st, (const uint8_t *)s->o.holders, s->o.n * s->o.words * 8);
    crypto_generichash_update(&st, (const uint8_t *)r->node_rx, s->w.n * sizeof *r->node_rx);
    crypto_generichash_update(&st, (const uint8_t *)r->node_tx, s->w.n * sizeof *r->node_tx);
    uint64_t fig[] = {r->virtual_ms, r->events, r->deliveries, r->duplicates, r->gate_refusals,
                      r->refused_inbound, r->forged_refused, r->trace_digest};
    crypto_generichash_update(&st, (const uint8_t *)fig, sizeof fig);
    crypto_generichash_final(&st, r->digest, sizeof r->digest);
}

static long rss_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = 0;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
            break;
    if (f)
        fclose(f);
    return kb;
}

static void teardown(struct sim *s)
{
    for (uint32_t a = 0; s->nodes && a < s->w.n; a++) {
        struct snode *n = &s->nodes[a];
        snode_free(n);
        if (n->cfg != NULL) /* simnode.c's config_build: simnet does not link tlp_config */
            free(n->cfg->peers);
        if (n->ms_ready)
            memstore_free(&n->ms);
        free(n->flush);
        free(n->conn_free);
        free(n->held.body);
        keys_identity_wipe(&n->id);
    }
    evq_free(&s->q);
    for (size_t i = 0; s->conns && i < s->n_conns; i++) {
        free(s->conns[i].out[0]);
        free(s->conns[i].out[1]);
    }
    for (unsigned i = 0; s->workers && i < s->n_workers; i++) {
        struct worker *w = &s->workers[i];
        for (size_t k = 0; k < w->n_ev; k++)
            free(w->ev[k].e.data);
        free(w->ev);
        free(w->rel);
        free(w->delays);
        free(w->scratch);
        sim_result_free(&w->part);
    }
    free(s->workers);
    free(s->sev);
    free(s->active);
    free(s->rel);
    pthread_mutex_destroy(&s->vc_lock);
    for (size_t i = 0; s->vc && i < s->vc_cap; i++)
        free(s->vc[i].bytes);
    if (s->trace)
        fclose(s->trace);
    free(s->vc);
    free(s->rosters);
    free(s->members);
    sim_configs_unmap(s);
    free(s->conns);
    free(s->nodes);
    free(s->dirty);
    free(s->side);
    free(s->oneway);
    free(s->rec);
    free(s->buf);
    memstore_pool_free(&s->pool);
    oracle_free(&s->o);
    world_free(&s->w);
}

int sim_run(const struct sim_scenario *sc, struct sim_result *r, bool progress)
{
    memset(r, 0, sizeof *r);
    if (sodium_init() < 0)
        return SIM_E_ENGINE;
    struct sim *s = calloc(1, sizeof *s);
    if (s == NULL)
        return SIM_E_NOMEM;
    s->sc = sc;
    s->res = r;
    s->progress = progress;
    pthread_mutex_init(&s->vc_lock, NULL); /* default attributes: cannot fail */
    long rss0 = rss_kb();
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0); /* for the report: the simulation never reads it */
    int rc = setup(s);
    r->nodes = s->w.n;
    if (rc == SIM_OK) {
        r->node_rx = calloc(s->w.n, sizeof *r->node_rx);
        r->node_tx = calloc(s->w.n, sizeof *r->node_tx);
        threads_start(s);
        rc = r->node_rx && r->node_tx ? run_loop(s) : SIM_E_NOMEM;
        threads_stop(s);
        r->threads = s->n_threads;
        for (unsigned i = 0; i < s->n_workers; i++) /* what stopped nodes counted last */
            if (add_part(r, &s->workers[i]) < 0 && rc == SIM_OK)
                rc = SIM_E_NOMEM;
    }
    r->virtual_ms = s->now;
    if (rc == SIM_OK)
        final_check(s);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    r->run_seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    if (rc == SIM_OK && s->o.failed)
        rc = SIM_E_ORACLE;
    r->mem_per_node_bytes = s->w.n ? (double)(rss_kb() - rss0) * 1024.0 / s->w.n : 0;
    size_t store_bytes = 0;
    for (uint32_t a = 0; s->nodes && a < s->w.n; a++)
        store_bytes += s->nodes[a].ms_ready ? memstore_bytes(&s->nodes[a].ms) : 0;
    r->store_bytes_per_node = s->w.n ? (double)store_bytes / s->w.n : 0;
    r->pool_bytes = memstore_pool_bytes(&s->pool);
    struct rusage ru;
    r->max_rss_bytes = getrusage(RUSAGE_SELF, &ru) == 0 ? (uint64_t)ru.ru_maxrss * 1024 : 0;
    struct mallinfo2 mi = mallinfo2();
    r->heap_bytes = mi.uordblks + mi.hblkhd;
    if (rc == SIM_OK || rc == SIM_E_ORACLE) {
        collect(s);
        if (sc->baseline_flood && rc == SIM_OK)
            rc = flood_run(&s->w, &s->o, FRAME_OVERHEAD, s->n_workers, r);
    }
    r->oracle_ok = !s->o.failed;
    snprintf(r->oracle_msg, sizeof r->oracle_msg, "%s", s->o.failed ? s->o.msg : "");
    if (rc == SIM_E_STALL)
        snprintf(r->oracle_msg, sizeof r->oracle_msg,
                 "seed %llu: no quiescence by t=%llu ms (limit max-time)",
                 (unsigned long long)sc->seed, (unsigned long long)s->now);
    teardown(s);
    free(s);
    return rc;
}

void sim_result_free(struct sim_result *r)
{
    for (int t = 0; t < PROTO_TLP_COUNT; t++) {
        sim_delays_free(&r->tlp[t].delays);
        sim_delays_free(&r->flood_tlp[t].delays);
    }
    free(r->node_rx);
    free(r->node_tx);
    sim_delays_free(&r->flood_delays);
    free(r->flood_node_rx);
    memset(r, 0, sizeof *r);
}
