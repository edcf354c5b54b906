/* flood.c - the naive flooding baseline (docs/SIMNET.md "Baseline"): on the same world and the
 * same records, every node that gets a record sends it in full to every neighbour the rules
 * allow except the one it came from. Arrival times are shortest paths over the links' mean
 * latencies (flooding's first copy takes the fastest path); bytes count every copy sent. */
#include <stdlib.h>
#include <string.h>

#include "simnet/simint.h"

struct qitem {
    uint64_t t;
    uint32_t node;
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

int flood_run(const struct world *w, const struct oracle *o, size_t frame_overhead,
              struct sim_result *r)
{
    size_t m = w->off[w->n];
    uint64_t *dist = malloc(w->n * sizeof *dist);
    uint32_t *parent = malloc(w->n * sizeof *parent);
    struct qitem *q = malloc((m + w->n + 1) * sizeof *q);
    r->flood_node_rx = calloc(w->n, sizeof *r->flood_node_rx);
    size_t cap = 4096;
    r->flood_delays = malloc(cap * sizeof *r->flood_delays);
    if (!dist || !parent || !q || !r->flood_node_rx || !r->flood_delays) {
        free(dist);
        free(parent);
        free(q);
        return SIM_E_NOMEM;
    }
    for (size_t ri = 0; ri < o->n; ri++) {
        const struct orec *rec = &o->recs[ri];
        if (!rec->genuine)
            continue;
        memset(dist, 0xff, w->n * sizeof *dist);
        size_t qn = 0;
        dist[rec->origin] = 0;
        parent[rec->origin] = UINT32_MAX;
        q_push(q, &qn, (struct qitem){0, rec->origin});
        while (qn > 0) {
            struct qitem it = q_pop(q, &qn);
            uint32_t a = it.node;
            if (it.t != dist[a])
                continue; /* a stale entry */
            if (a != rec->origin) {
                if (r->flood_delays_n == cap) {
                    uint32_t *nd = realloc(r->flood_delays, cap * 2 * sizeof *nd);
                    if (nd == NULL) {
                        free(dist);
                        free(parent);
                        free(q);
                        return SIM_E_NOMEM;
                    }
                    r->flood_delays = nd;
                    cap *= 2;
                }
                r->flood_delays[r->flood_delays_n++] = (uint32_t)it.t;
                r->flood_deliveries++;
            }
            for (uint32_t k = w->off[a]; k < w->off[a + 1]; k++) {
                uint32_t b = w->adj[k];
                if (b == parent[a] || !oracle_may_send(o, k, a, b, rec))
                    continue;
                uint64_t bytes = rec->len + frame_overhead;
                r->flood_node_rx[b] += bytes;
                r->flood_bytes_rx += bytes;
                const struct sim_link_model *lm = &w->model[k];
                uint64_t t = it.t + lm->latency_ms + lm->jitter_ms / 2 +
                             (lm->bandwidth_kbps ? bytes * 8 / lm->bandwidth_kbps : 0);
                if (t < dist[b]) {
                    dist[b] = t;
                    parent[b] = a;
                    q_push(q, &qn, (struct qitem){t, b});
                }
            }
        }
    }
    r->flood_run = true;
    free(dist);
    free(parent);
    free(q);
    return SIM_OK;
}
