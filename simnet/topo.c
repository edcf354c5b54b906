/* topo.c - simnet topologies and the world's facts (who links with whom, organisations,
 * communities, clients, ceilings); see simint.h and docs/SIMNET.md "Topologies". */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "simnet/simint.h"

/* --- random numbers --- */

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void rng_seed(struct sim_rng *r, uint64_t seed, uint64_t stream)
{
    uint64_t x = seed ^ (stream * 0xd1b54a32d192ed03ull);
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&x);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

uint64_t rng_next(struct sim_rng *r)
{
    uint64_t *s = r->s;
    uint64_t out = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return out;
}

uint64_t rng_below(struct sim_rng *r, uint64_t n)
{
    assert(n > 0);
    uint64_t lim = UINT64_MAX - UINT64_MAX % n; /* no modulo bias */
    for (;;) {
        uint64_t v = rng_next(r);
        if (v < lim)
            return v % n;
    }
}

double rng_unit(struct sim_rng *r)
{
    return (double)(rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

/* --- edge lists --- */

struct edges {
    uint32_t (*e)[2];
    size_t n, cap;
};

/* Each node's neighbours, for duplicate checks while generating. */
struct adjset {
    uint32_t **nb;
    uint32_t *n;
};

static bool adj_has(const struct adjset *s, uint32_t a, uint32_t b)
{
    for (uint32_t i = 0; i < s->n[a]; i++)
        if (s->nb[a][i] == b)
            return true;
    return false;
}

static int link(struct edges *g, struct adjset *s, uint32_t a, uint32_t b)
{
    if (a == b || adj_has(s, a, b) || s->n[a] >= SIM_MAX_DEGREE || s->n[b] >= SIM_MAX_DEGREE)
        return 0;
    if (g->n == g->cap) {
        size_t cap = g->cap ? g->cap * 2 : 1024;
        void *ne = realloc(g->e, cap * sizeof *g->e);
        if (ne == NULL)
            return SIM_E_NOMEM;
        g->e = ne;
        g->cap = cap;
    }
    g->e[g->n][0] = a;
    g->e[g->n++][1] = b;
    s->nb[a][s->n[a]++] = b;
    s->nb[b][s->n[b]++] = a;
    return 1;
}

/* Random d-regular (as near as pairing allows): shuffled stubs paired greedily, a bad pair
 * swapped with a random later stub; then components are joined so that the graph is connected. */
static int gen_random(const struct sim_scenario *sc, struct sim_rng *rng, struct edges *g,
                      struct adjset *s)
{
    uint32_t n = sc->nodes, d = sc->degree < n ? sc->degree : n - 1;
    size_t ns = (size_t)n * d;
    uint32_t *stub = malloc(ns * sizeof *stub);
    if (stub == NULL)
        return SIM_E_NOMEM;
    for (size_t i = 0; i < ns; i++)
        stub[i] = (uint32_t)(i / d);
    for (size_t i = ns; i > 1; i--) {
        size_t j = rng_below(rng, i);
        uint32_t t = stub[i - 1];
        stub[i - 1] = stub[j];
        stub[j] = t;
    }
    int rc = 0;
    for (size_t i = 0; i + 1 < ns && rc >= 0; i += 2) {
        for (int tries = 0; tries < 32 && (stub[i] == stub[i + 1] || adj_has(s, stub[i], stub[i + 1]));
             tries++) {
            size_t j = i + 1 + rng_below(rng, ns - i - 1);
            uint32_t t = stub[i + 1];
            stub[i + 1] = stub[j];
            stub[j] = t;
        }
        rc = link(g, s, stub[i], stub[i + 1]);
    }
    free(stub);
    return rc < 0 ? rc : 0;
}

/* Watts-Strogatz: a ring lattice of degree d, each edge rewired with probability rewire. */
static int gen_smallworld(const struct sim_scenario *sc, struct sim_rng *rng, struct edges *g,
                          struct adjset *s)
{
    uint32_t n = sc->nodes, half = sc->degree / 2 ? sc->degree / 2 : 1;
    for (uint32_t k = 1; k <= half; k++)
        for (uint32_t a = 0; a < n; a++) {
            uint32_t b = (a + k) % n;
            if (rng_unit(rng) < sc->rewire)
                b = (uint32_t)rng_below(rng, n);
            int rc = link(g, s, a, b);
            if (rc < 0)
                return rc;
        }
    return 0;
}

/* National hubs fully meshed (cross-border links); every other node is a constituent of one hub
 * (round robin) and also links to degree-1 random constituents of the same hub. */
static int gen_hubs(const struct sim_scenario *sc, struct sim_rng *rng, struct edges *g,
                    struct adjset *s)
{
    uint32_t n = sc->nodes, h = sc->hubs ? sc->hubs : (n / 40 > 2 ? n / 40 : 2);
    h = h < n ? h : 1;
    for (uint32_t a = 0; a < h; a++)
        for (uint32_t b = a + 1; b < h; b++)
            if (link(g, s, a, b) < 0)
                return SIM_E_NOMEM;
    for (uint32_t c = h; c < n; c++)
        if (link(g, s, c % h, c) < 0)
            return SIM_E_NOMEM;
    uint32_t per = (n - h) / h;
    for (uint32_t c = h; c < n && per > 1; c++)
        for (uint32_t k = 1; k < sc->degree; k++) {
            uint32_t o = h + (uint32_t)rng_below(rng, n - h);
            if (o % h == c % h && link(g, s, c, o) < 0)
                return SIM_E_NOMEM;
        }
    return 0;
}

static int gen_file(const struct sim_scenario *sc, struct edges *g, struct adjset *s)
{
    FILE *f = fopen(sc->topo_file, "r");
    if (f == NULL) {
        fprintf(stderr, "tlpmesh-simnet: %s: cannot open topology file\n", sc->topo_file);
        return SIM_E_USAGE;
    }
    char line[256];
    int rc = 0;
    for (unsigned ln = 1; rc >= 0 && fgets(line, sizeof line, f); ln++) {
        char *hash = strchr(line, '#');
        if (hash)
            *hash = '\0';
        unsigned a, b;
        char extra;
        int k = sscanf(line, "%u %u %c", &a, &b, &extra);
        if (k <= 0)
            continue;
        if (k != 2 || a >= sc->nodes || b >= sc->nodes || a == b) {
            fprintf(stderr, "tlpmesh-simnet: %s:%u: expected two different node indexes below %u\n",
                    sc->topo_file, ln, sc->nodes);
            rc = SIM_E_USAGE;
        } else {
            rc = link(g, s, a, b);
        }
    }
    fclose(f);
    return rc < 0 ? rc : 0;
}

/* Joins components (a partitioned world from the start would make "entitled" trivial). */
static int connect_components(uint32_t n, struct edges *g, struct adjset *s)
{
    uint32_t *comp = malloc(n * sizeof *comp), *stack = malloc(n * sizeof *stack);
    int rc = comp && stack ? 0 : SIM_E_NOMEM;
    if (rc == 0)
        memset(comp, 0xff, n * sizeof *comp);
    uint32_t prev_root = UINT32_MAX;
    for (uint32_t r = 0; rc == 0 && r < n; r++) {
        if (comp[r] != UINT32_MAX)
            continue;
        size_t top = 0;
        stack[top++] = r;
        comp[r] = r;
        while (top > 0) {
            uint32_t a = stack[--top];
            for (uint32_t i = 0; i < s->n[a]; i++)
                if (comp[s->nb[a][i]] == UINT32_MAX) {
                    comp[s->nb[a][i]] = r;
                    stack[top++] = s->nb[a][i];
                }
        }
        if (prev_root != UINT32_MAX && link(g, s, prev_root, r) < 0)
            rc = SIM_E_NOMEM;
        prev_root = r;
    }
    free(comp);
    free(stack);
    return rc;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static int build_csr(uint32_t n, struct adjset *s, struct world *w)
{
    w->n = n;
    w->off = calloc(n + 1, sizeof *w->off);
    if (w->off == NULL)
        return SIM_E_NOMEM;
    for (uint32_t a = 0; a < n; a++)
        w->off[a + 1] = w->off[a] + s->n[a];
    size_t m = w->off[n];
    w->adj = malloc((m ? m : 1) * sizeof *w->adj);
    w->rev = malloc((m ? m : 1) * sizeof *w->rev);
    w->ceiling = malloc(m ? m : 1);
    w->client = calloc(m ? m : 1, 1);
    w->model = malloc((m ? m : 1) * sizeof *w->model);
    if (!w->adj || !w->rev || !w->ceiling || !w->client || !w->model)
        return SIM_E_NOMEM;
    for (uint32_t a = 0; a < n; a++) {
        qsort(s->nb[a], s->n[a], sizeof(uint32_t), cmp_u32);
        memcpy(w->adj + w->off[a], s->nb[a], s->n[a] * sizeof(uint32_t));
    }
    for (uint32_t a = 0; a < n; a++)
        for (uint32_t k = w->off[a]; k < w->off[a + 1]; k++) {
            uint32_t b = w->adj[k];
            uint32_t *at = bsearch(&a, w->adj + w->off[b], world_degree(w, b), sizeof(uint32_t),
                                   cmp_u32);
            assert(at != NULL);
            w->rev[k] = (uint32_t)(at - w->adj);
        }
    return 0;
}

static int64_t find_link(const struct world *w, uint32_t a, uint32_t b)
{
    if (a >= w->n)
        return -1;
    uint32_t *at = bsearch(&b, w->adj + w->off[a], world_degree(w, a), sizeof(uint32_t), cmp_u32);
    return at ? at - w->adj : -1;
}

/* Organisations, communities, clients, ceilings, byzantine flags, link models. */
static int assign_facts(const struct sim_scenario *sc, struct sim_rng *rng, struct world *w)
{
    uint32_t n = w->n, hubs = sc->hubs ? sc->hubs : (n / 40 > 2 ? n / 40 : 2);
    w->org = malloc(n * sizeof *w->org);
    w->comm = calloc(n, sizeof *w->comm);
    w->byz = calloc(n, 1);
    if (!w->org || !w->comm || !w->byz)
        return SIM_E_NOMEM;
    for (uint32_t a = 0; a < n; a++) {
        /* hubs: a node's organisation is its country (its hub); elsewhere orgs are random */
        w->org[a] = sc->topo == SIM_TOPO_HUBS ? a % (hubs < n ? hubs : 1)
                                              : (uint32_t)rng_below(rng, sc->orgs ? sc->orgs : 1);
        for (uint32_t k = 0; k < sc->memberships && sc->communities; k++)
            w->comm[a] |= (uint64_t)1 << rng_below(rng, sc->communities);
    }
    for (uint32_t a = 0; a < n; a++)
        for (uint32_t k = w->off[a]; k < w->off[a + 1]; k++) {
            uint32_t b = w->adj[k];
            w->model[k] = sc->link;
            w->ceiling[k] = rng_unit(rng) < sc->low_ceiling_frac ? PROTO_TLP_AMBER : PROTO_TLP_RED;
            if (a < b && rng_unit(rng) < sc->client_frac)
                w->client[rng_below(rng, 2) ? k : w->rev[k]] = 1;
            if (sc->topo == SIM_TOPO_HUBS && a < hubs && b >= hubs)
                w->client[k] = 1; /* a hub's constituents are its clients */
        }
    for (size_t i = 0; i < sc->n_link_rules; i++) {
        const struct sim_link_rule *lr = &sc->link_rules[i];
        int64_t ab = find_link(w, lr->a, lr->b);
        if (ab < 0) {
            fprintf(stderr, "tlpmesh-simnet: link %u-%u: no such link in the topology\n", lr->a,
                    lr->b);
            return SIM_E_USAGE;
        }
        w->model[ab] = lr->m;
        w->model[w->rev[ab]] = lr->m;
    }
    for (size_t i = 0; i < sc->n_byz; i++) {
        if (sc->byz_nodes[i] >= n) {
            fprintf(stderr, "tlpmesh-simnet: byzantine %u: no such node\n", sc->byz_nodes[i]);
            return SIM_E_USAGE;
        }
        w->byz[sc->byz_nodes[i]] |= sc->byz_modes[i];
    }
    return 0;
}

int topo_build(const struct sim_scenario *sc, struct sim_rng *rng, struct world *w)
{
    memset(w, 0, sizeof *w);
    uint32_t n = sc->nodes;
    if (n < 2) {
        fprintf(stderr, "tlpmesh-simnet: nodes: need at least 2\n");
        return SIM_E_USAGE;
    }
    struct edges g = {0};
    struct adjset s = {calloc(n, sizeof *s.nb), calloc(n, sizeof *s.n)};
    int rc = s.nb && s.n ? 0 : SIM_E_NOMEM;
    for (uint32_t a = 0; rc == 0 && a < n; a++)
        if ((s.nb[a] = malloc(SIM_MAX_DEGREE * sizeof(uint32_t))) == NULL)
            rc = SIM_E_NOMEM;
    if (rc == 0) {
        switch (sc->topo) {
        case SIM_TOPO_RANDOM: rc = gen_random(sc, rng, &g, &s); break;
        case SIM_TOPO_SMALLWORLD: rc = gen_smallworld(sc, rng, &g, &s); break;
        case SIM_TOPO_HUBS: rc = gen_hubs(sc, rng, &g, &s); break;
        case SIM_TOPO_FILE: rc = gen_file(sc, &g, &s); break;
        }
    }
    if (rc == 0 && sc->topo != SIM_TOPO_FILE)
        rc = connect_components(n, &g, &s);
    if (rc == 0)
        rc = build_csr(n, &s, w);
    if (rc == 0)
        rc = assign_facts(sc, rng, w);
    for (uint32_t a = 0; s.nb && a < n; a++)
        free(s.nb[a]);
    free(s.nb);
    free(s.n);
    free(g.e);
    if (rc < 0)
        world_free(w);
    return rc;
}

void world_free(struct world *w)
{
    free(w->off);
    free(w->adj);
    free(w->rev);
    free(w->ceiling);
    free(w->client);
    free(w->org);
    free(w->comm);
    free(w->byz);
    free(w->model);
    memset(w, 0, sizeof *w);
}
