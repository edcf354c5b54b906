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

/* The newest d of a universe of n items on one side only: the holder has n, the lacker n - d
 * (a node that was down or partitioned). */
static int pair_tail(struct pair *p, size_t n, size_t d, bool holder_initiates)
{
    struct side *holder = holder_initiates ? &p->a : &p->b;
    struct side *lacker = holder_initiates ? &p->b : &p->a;
    holder->items = malloc(n * sizeof *holder->items);
    lacker->items = malloc(n * sizeof *lacker->items);
    if (!holder->items || !lacker->items)
        return -1;
    uint64_t seed = 0x7461696cULL ^ (uint64_t)n * 31 ^ (uint64_t)d;
    for (size_t i = 0; i < n; i++) {
        struct recon_item it = {.ts = 1795449434123ULL + i};
        for (size_t w = 0; w < LIMIT_ID_BYTES; w += 8) {
            uint64_t x = splitmix64(&seed);
            memcpy(it.id + w, &x, 8);
        }
        holder->items[holder->n++] = it;
        if (i < n - d)
            lacker->items[lacker->n++] = it;
    }
    p->a_only = holder_initiates ? d : 0;
    p->b_only = holder_initiates ? 0 : d;
    return 0;
}

struct run {
    size_t bytes, msgs, flights;
    double init_s, exchange_s;
};

/* The messages of one flight, back to back (each at most LIMIT_RECON_MSG_BYTES). */
struct flight {
    uint8_t *buf;
    size_t len, cap, n;
    size_t *ends;
};

static int flight_add(struct flight *f, const uint8_t *msg, size_t len)
{
    if (f->len + len > f->cap || f->n % 256 == 0) {
        size_t cap = f->cap ? f->cap : 1 << 16;
        while (cap < f->len + len)
            cap *= 2;
        uint8_t *b = realloc(f->buf, cap);
        size_t *e = b ? realloc(f->ends, (f->n + 256) * sizeof *e) : NULL;
        if (b)
            f->buf = b, f->cap = cap;
        if (!e)
            return -1;
        f->ends = e;
    }
    memcpy(f->buf + f->len, msg, len);
    f->len += len;
    f->ends[f->n++] = f->len;
    return 0;
}

/* Takes the message len in out and the rest of its flight (recon_next) into f. */
static int flight_take(struct recon *r, struct flight *f, uint8_t *out, int len)
{
    for (; len > 0; len = recon_next(r, out, LIMIT_RECON_MSG_BYTES))
        if (flight_add(f, out, (size_t)len) != 0)
            return -1;
    return len;
}

/* A initiates; each side answers the other's flight, message by message, until a flight is
 * empty. A flight is every message a side sends before it hears from the peer again. */
static int exchange(struct pair *p, struct run *out)
{
    static uint8_t buf[LIMIT_RECON_MSG_BYTES];
    struct flight f[2] = {{0}};
    int rc = -1;
    const double t0 = bench_now_s();
    if (recon_init(&p->a.r, p->a.items, p->a.n, LIMIT_RECON_MSG_BYTES) != RECON_OK ||
        recon_init(&p->b.r, p->b.items, p->b.n, LIMIT_RECON_MSG_BYTES) != RECON_OK)
        return -1;
    const double t1 = bench_now_s();
    struct recon_diff da = {on_have, on_need, &p->a}, db = {on_have, on_need, &p->b};
    int len = flight_take(&p->a.r, &f[0], buf, recon_initiate(&p->a.r, buf, sizeof buf));
    struct side *turn = &p->b;
    size_t cur = 0;
    while (len >= 0 && f[cur].n > 0 && out->flights <= 2 * LIMIT_RECON_ROUNDS) {
        out->flights++;
        out->msgs += f[cur].n;
        out->bytes += f[cur].len;
        f[1 - cur].len = f[1 - cur].n = 0;
        for (size_t i = 0, at = 0; i < f[cur].n && len >= 0; at = f[cur].ends[i++]) {
            len = recon_respond(&turn->r, f[cur].buf + at, f[cur].ends[i] - at, buf, sizeof buf,
                                turn == &p->a ? &da : &db);
            len = flight_take(&turn->r, &f[1 - cur], buf, len);
        }
        cur = 1 - cur;
        turn = turn == &p->a ? &p->b : &p->a;
    }
    out->init_s = t1 - t0;
    out->exchange_s = bench_now_s() - t1;
    if (len < 0)
        fprintf(stderr, "tlpmesh-bench: recon: %s\n", recon_strerror(len));
    else
        rc = 0;
    for (int i = 0; i < 2; i++) {
        free(f[i].buf);
        free(f[i].ends);
    }
    return rc;
}

static bool diff_exact(const struct pair *p)
{
    return recon_done(&p->a.r) && recon_done(&p->b.r) && p->a.have == p->a_only &&
           p->a.need == p->b_only && p->b.have == p->b_only && p->b.need == p->a_only;
}

enum kind { SCATTERED, TAIL_LACKER_INITIATES, TAIL_HOLDER_INITIATES };

static const char *const kind_name[] = {"scattered", "newest-lacker-init", "newest-holder-init"};

static int one(size_t n, size_t d, enum kind k)
{
    struct pair p = {0};
    struct run r = {0};
    int made = k == SCATTERED ? pair_make(&p, n, d)
                              : pair_tail(&p, n, d, k == TAIL_HOLDER_INITIATES);
    if (made != 0 || exchange(&p, &r) != 0 || !diff_exact(&p)) {
        fprintf(stderr, "tlpmesh-bench: recon %s n=%zu d=%zu failed (A: %zu have %zu need)\n",
                kind_name[k], n, d, p.a.have, p.a.need);
        pair_free(&p);
        return -1;
    }
    char per[32] = "-", perlog[32] = "-";
    if (d > 0) {
        snprintf(per, sizeof per, "%.1f", (double)r.bytes / (double)d);
        snprintf(perlog, sizeof perlog, "%.1f", (double)r.bytes / ((double)d * log2((double)n)));
    }
    /* The same columns for every row: scripts/bench reads them. */
    printf("%-18s %9zu %6zu %10zu %6zu %7zu %6.1f %9s %12s %9.1f %9.1f\n", kind_name[k], n, d,
           r.bytes, r.msgs, r.flights, (double)r.flights / 2, per, perlog, r.init_s * 1e3,
           r.exchange_s * 1e3);
    pair_free(&p);
    return 0;
}

int bench_recon(const size_t *ns, size_t n_ns, const size_t *ds, size_t n_ds)
{
    static const size_t tail_ds[] = {10, 100, 1000, 10000, 100000};
    printf("\nreconciliation (node/core/recon.h, both sides in-process over sorted in-memory "
           "sets, no store;\nbytes = reconciliation messages both ways, not the records; a round "
           "trip = 2 flights)\n");
    printf("%-18s %9s %6s %10s %6s %7s %6s %9s %12s %9s %9s\n", "kind", "n", "d", "bytes", "msgs",
           "flights", "rtt", "B/diff", "B/(d*log2 n)", "init ms", "xchg ms");
    for (size_t i = 0; i < n_ns; i++)
        for (size_t j = 0; j < n_ds && ds[j] <= ns[i] / 2; j++) /* d distinct ids of n + d/2 */
            if (one(ns[i], ds[j], SCATTERED) != 0)
                return -1;
    if (n_ns == 0)
        return 0;
    const size_t n = ns[n_ns - 1];
    for (size_t j = 0; j < sizeof tail_ds / sizeof *tail_ds && tail_ds[j] <= n / 2; j++)
        for (enum kind k = TAIL_LACKER_INITIATES; k <= TAIL_HOLDER_INITIATES; k++)
            if (one(n, tail_ds[j], k) != 0)
                return -1;
    return 0;
}
