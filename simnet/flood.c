/* flood.c - the naive flooding baseline (docs/SIMNET.md "Baseline"): on the same world and the
 * same records, every node that gets a record sends it in full to every neighbour the rules
 * allow except the one it came from. Arrival times are shortest paths over the links' mean
 * latencies (flooding's first copy takes the fastest path); bytes count every copy sent.
 * Records are independent: threads take every T-th one and their sums are added at the end. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "simnet/simint.h"

#define FLOOD_MAX_THREADS 8

struct qitem {
    uint64_t t;
    uint32_t node;
};

/* One thread's records and sums. */
struct share {
    const struct world *w;
    const struct oracle *o;
    size_t frame, first, step;
    uint64_t *dist;
    uint32_t *parent;
    struct qitem *q;
    uint64_t *node_rx, bytes_rx;
    struct sim_delays delays[PROTO_TLP_COUNT];
    int err;
};

static void q_push(struct qitem *q, size_t *n, struct qitem it)
{
    size_t i = (*n)++;
    while (i > 0 && q[(i - 1) / 2].t > it.t) {
        q[i] = q[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    q[i] = it;
}

static struct qitem q_pop(struct qitem *q, size_t *n)
{
    struct qitem top = q[0], last = q[--(*n)];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= *n)
            break;
        if (c + 1 < *n && q[c + 1].t < q[c].t)
            c++;
        if (q[c].t >= last.t)
            break;
        q[i] = q[c];
        i = c;
    }
    if (*n > 0)
        q[i] = last;
    return top;
}

/* Dijkstra from the record's origin over the links the rules allow it to cross. */
static int flood_one(struct share *sh, const struct orec *rec)
{
    const struct world *w = sh->w;
    memset(sh->dist, 0xff, w->n * sizeof *sh->dist);
    size_t qn = 0;
    sh->dist[rec->origin] = 0;
    sh->parent[rec->origin] = UINT32_MAX;
    q_push(sh->q, &qn, (struct qitem){0, rec->origin});
    while (qn > 0) {
        struct qitem it = q_pop(sh->q, &qn);
        uint32_t a = it.node;
        if (it.t != sh->dist[a])
            continue; /* a stale entry */
        if (a != rec->origin && sim_delays_add(&sh->delays[rec->tlp], (uint32_t)it.t, 1) < 0)
            return SIM_E_NOMEM;
        for (uint32_t k = w->off[a]; k < w->off[a + 1]; k++) {
            uint32_t b = w->adj[k];
            if (b == sh->parent[a] || !oracle_may_send(sh->o, k, a, b, rec))
                continue;
            uint64_t bytes = rec->len + sh->frame;
            sh->node_rx[b] += bytes;
            sh->bytes_rx += bytes;
            const struct sim_link_model *lm = &w->model[k];
            uint64_t t = it.t + lm->latency_ms + lm->jitter_ms / 2 +
                         (lm->bandwidth_kbps ? bytes * 8 / lm->bandwidth_kbps : 0);
            if (t < sh->dist[b]) {
                sh->dist[b] = t;
                sh->parent[b] = a;
                q_push(sh->q, &qn, (struct qitem){t, b});
            }
        }
    }
    return SIM_OK;
}

static void *run_share(void *arg)
{
    struct share *sh = arg;
    for (size_t ri = sh->first; ri < sh->o->n && sh->err == SIM_OK; ri += sh->step)
        if (sh->o->recs[ri].genuine)
            sh->err = flood_one(sh, &sh->o->recs[ri]);
    return NULL;
}

static int share_init(struct share *sh, const struct world *w)
{
    size_t m = w->off[w->n];
    sh->dist = malloc(w->n * sizeof *sh->dist);
    sh->parent = malloc(w->n * sizeof *sh->parent);
    sh->q = malloc((m + w->n + 1) * sizeof *sh->q);
    sh->node_rx = calloc(w->n, sizeof *sh->node_rx);
    return sh->dist && sh->parent && sh->q && sh->node_rx ? SIM_OK : SIM_E_NOMEM;
}

static void share_free(struct share *sh)
{
    free(sh->dist);
    free(sh->parent);
    free(sh->q);
    free(sh->node_rx);
    for (int t = 0; t < PROTO_TLP_COUNT; t++)
        sim_delays_free(&sh->delays[t]);
}

/* Adds a share's sums to the result. */
static int share_add(struct sim_result *r, const struct share *sh, uint32_t nodes)
{
    for (int t = 0; t < PROTO_TLP_COUNT; t++) {
        const struct sim_delays *d = &sh->delays[t];
        struct sim_stats_tlp *ft = &r->flood_tlp[t];
        if (sim_delays_merge(&r->flood_delays, d) < 0 || sim_delays_merge(&ft->delays, d) < 0)
            return SIM_E_NOMEM;
        ft->delivered += d->n;
        r->flood_deliveries += d->n;
    }
    r->flood_bytes_rx += sh->bytes_rx;
    for (uint32_t a = 0; a < nodes; a++)
        r->flood_node_rx[a] += sh->node_rx[a];
    return SIM_OK;
}

int flood_run(const struct world *w, const struct oracle *o, size_t frame_overhead,
              unsigned threads, struct sim_result *r)
{
    struct share sh[FLOOD_MAX_THREADS];
    pthread_t th[FLOOD_MAX_THREADS];
    unsigned n = threads < 1 ? 1 : threads > FLOOD_MAX_THREADS ? FLOOD_MAX_THREADS : threads;
    int rc = (r->flood_node_rx = calloc(w->n, sizeof *r->flood_node_rx)) ? SIM_OK : SIM_E_NOMEM;
    memset(sh, 0, sizeof sh);
    for (unsigned i = 0; i < n; i++) {
        sh[i] = (struct share){.w = w, .o = o, .frame = frame_overhead, .first = i, .step = n};
        if (rc == SIM_OK)
            rc = share_init(&sh[i], w);
    }
    unsigned started = 1;
    while (rc == SIM_OK && started < n && pthread_create(&th[started], NULL, run_share,
                                                         &sh[started]) == 0)
        started++;
    if (rc == SIM_OK)
        run_share(&sh[0]);
    for (unsigned i = 1; i < started; i++)
        pthread_join(th[i], NULL);
    for (unsigned i = started; rc == SIM_OK && i < n; i++) /* threads the system refused */
        run_share(&sh[i]);
    for (unsigned i = 0; i < n; i++) {
        if (rc == SIM_OK)
            rc = sh[i].err != SIM_OK ? sh[i].err : share_add(r, &sh[i], w->n);
        share_free(&sh[i]);
    }
    r->flood_run = rc == SIM_OK;
    return rc;
}
