/* reconbench.c - cost of reconciling two sets of n record ids that differ by d
 * (docs/PERFORMANCE.md: O(d · log n) bytes), with node/core/recon.h driven directly, both sides in
 * this process. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench.h"
#include "node/core/recon.h"

/* Deterministic ids: the figure must not depend on the run. */
static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

struct side {
    struct recon_item *items;
    size_t n;
    struct recon r;
    size_t have, need;
};

struct pair {
    struct side a, b;
    size_t a_only, b_only;
};

static void on_have(void *ctx, const struct recon_item *item)
{
    (void)item;
    ((struct side *)ctx)->have++;
}

static void on_need(void *ctx, const struct recon_item *item)
{
    (void)item;
    ((struct side *)ctx)->need++;
}

static void pair_free(struct pair *p)
{
    recon_free(&p->a.r);
    recon_free(&p->b.r);
    free(p->a.items);
    free(p->b.items);
    memset(p, 0, sizeof *p);
}

/* A universe of n + d/2 items in (ts, id) order; d of them, spread at random, belong to one side
 * only (alternately A and B), so that each side holds n items (n - 1 for B when d is odd). */
static int pair_make(struct pair *p, size_t n, size_t d)
{
    const size_t u = n + d / 2;
    uint8_t *only = calloc(u, 1); /* 0 both, 1 A only, 2 B only */
    p->a.items = malloc(u * sizeof *p->a.items);
    p->b.items = malloc(u * sizeof *p->b.items);
    if (!only || !p->a.items || !p->b.items) {
        free(only);
        return -1;
    }
    uint64_t seed = 0x746c706d657368ULL ^ (uint64_t)n * 31 ^ (uint64_t)d;
    for (size_t k = 0; k < d;) {
        size_t at = (size_t)(splitmix64(&seed) % u);
        if (only[at] == 0)
            only[at] = (uint8_t)(1 + k++ % 2);
    }
    for (size_t i = 0; i < u; i++) {
        struct recon_item it = {.ts = 1795449434123ULL + i};
        for (size_t w = 0; w < LIMIT_ID_BYTES; w += 8) {
            uint64_t x = splitmix64(&seed);
            memcpy(it.id + w, &x, 8);
        }
        if (only[i] != 2)
            p->a.items[p->a.n++] = it;
        if (only[i] != 1)
            p->b.items[p->b.n++] = it;
    }
    p->a_only = (d + 1) / 2;
    p->b_only = d / 2;
    free(only);
    return 0;
}

struct run {
    size_t bytes, msgs;
    double init_s, exchange_s;
};

/* A initiates; the sides answer each other until one has nothing to send. */
static int exchange(struct pair *p, struct run *out)
{
    static uint8_t buf[2][LIMIT_RECON_MSG_BYTES];
    const double t0 = bench_now_s();
    if (recon_init(&p->a.r, p->a.items, p->a.n, LIMIT_RECON_MSG_BYTES) != RECON_OK ||
        recon_init(&p->b.r, p->b.items, p->b.n, LIMIT_RECON_MSG_BYTES) != RECON_OK)
        return -1;
    const double t1 = bench_now_s();
    struct recon_diff da = {on_have, on_need, &p->a}, db = {on_have, on_need, &p->b};
    int len = recon_initiate(&p->a.r, buf[0], sizeof buf[0]);
    struct side *turn = &p->b;
    size_t cur = 0;
    while (len > 0 && out->msgs <= 2 * LIMIT_RECON_ROUNDS) {
        out->bytes += (size_t)len;
        out->msgs++;
        len = recon_respond(&turn->r, buf[cur], (size_t)len, buf[1 - cur], sizeof buf[1 - cur],
                            turn == &p->a ? &da : &db);
        cur = 1 - cur;
        turn = turn == &p->a ? &p->b : &p->a;
    }
    out->init_s = t1 - t0;
    out->exchange_s = bench_now_s() - t1;
    if (len < 0)
        fprintf(stderr, "tlpmesh-bench: recon: %s\n", recon_strerror(len));
    return len < 0 ? -1 : 0;
}

static bool diff_exact(const struct pair *p)
{
    return recon_done(&p->a.r) && recon_done(&p->b.r) && p->a.have == p->a_only &&
           p->a.need == p->b_only && p->b.have == p->b_only && p->b.need == p->a_only;
}

static int one(size_t n, size_t d)
{
    struct pair p = {0};
    struct run r = {0};
    if (pair_make(&p, n, d) != 0 || exchange(&p, &r) != 0 || !diff_exact(&p)) {
        fprintf(stderr, "tlpmesh-bench: recon n=%zu d=%zu failed (A: %zu have %zu need)\n", n,
                d, p.a.have, p.a.need);
        pair_free(&p);
        return -1;
    }
    char per[32] = "-";
    if (d > 0)
        snprintf(per, sizeof per, "%.1f", (double)r.bytes / ((double)d * log2((double)n)));
    printf("%9zu %6zu %10zu %6zu %14s %9.1f %9.1f\n", n, d, r.bytes, r.msgs, per,
           r.init_s * 1e3, r.exchange_s * 1e3);
    pair_free(&p);
    return 0;
}

int bench_recon(const size_t *ns, size_t n_ns, const size_t *ds, size_t n_ds)
{
    printf("\nreconciliation (node/core/recon.h, both sides in-process; bytes both ways)\n");
    printf("%9s %6s %10s %6s %14s %9s %9s\n", "n", "d", "bytes", "msgs", "B/(d*log2 n)",
           "init ms", "xchg ms");
    for (size_t i = 0; i < n_ns; i++)
        for (size_t j = 0; j < n_ds && ds[j] <= ns[i] / 2; j++) /* d distinct ids of n + d/2 */
            if (one(ns[i], ds[j]) != 0)
                return -1;
    return 0;
}
