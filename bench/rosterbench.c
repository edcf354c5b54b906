/* rosterbench.c - the cost of one gate decision towards a peer whose membership comes from a
 * roster of 100 and of 10,000 members (issue 15 point 2): community_fill_peer (a binary search
 * in each trusted roster) then gate_check, per decision. Prints one JSON object for
 * bench/figures.d/roster.sh. The table is built in memory, as simnet does: the store and the
 * chunk assembly are not what a decision costs. The ratio's limit, 3: a binary search costs
 * log2(10000) / log2(100) = 2 times as many steps, and a 1 MB member array misses the caches a
 * 10 KB one fits in. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "node/core/community.h"
#include "node/core/gate.h"

enum { DECISIONS = 400000, BIG = 10000, SMALL = 100 };

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_member(const void *x, const void *y)
{
    return memcmp(((const struct proto_roster_member *)x)->key,
                  ((const struct proto_roster_member *)y)->key, LIMIT_KEY_BYTES);
}

/* ns per decision with one trusted roster of n members; half the probes are members. */
static double ns_per_decision(size_t n, const struct config *cfg, const struct proto_record *r)
{
    struct proto_roster_member *m = calloc(n, sizeof *m);
    uint8_t(*probe)[LIMIT_KEY_BYTES] = calloc(2 * n, LIMIT_KEY_BYTES);
    if (m == NULL || probe == NULL)
        exit(1);
    for (size_t i = 0; i < n; i++) {
        randombytes_buf(m[i].key, LIMIT_KEY_BYTES);
        snprintf(m[i].org, sizeof m[i].org, "operator %zu", i);
        memcpy(probe[2 * i], m[i].key, LIMIT_KEY_BYTES);
        randombytes_buf(probe[2 * i + 1], LIMIT_KEY_BYTES);
    }
    qsort(m, n, sizeof *m, cmp_member);
    struct community_roster roster = {.name = "nation",
                                      .version = 1,
                                      .trusted = true,
                                      .n_chunks = 1,
                                      .n_members = n,
                                      .members = m};
    struct community_table t = {.rosters = &roster, .n_rosters = 1};
    memcpy(t.self, m[0].key, LIMIT_KEY_BYTES);
    struct gate_self self;
    community_fill_self(&t, cfg, &self);
    const struct gate_record_state st = {0};
    struct gate_peer p;
    size_t allowed = 0;
    const double t0 = now_s();
    for (size_t i = 0; i < DECISIONS; i++) {
        community_fill_peer(&t, cfg, probe[i % (2 * n)], true, &p);
        p.ceiling = PROTO_TLP_AMBER;
        allowed += gate_check(&self, &p, r, &st, r->created_ms + 1) == GATE_ALLOW;
    }
    const double dt = now_s() - t0;
    if (allowed != DECISIONS / 2) { /* half members, half strangers: anything else is a bug */
        fprintf(stderr, "rosterbench: %zu of %d decisions allowed\n", allowed, DECISIONS);
        exit(1);
    }
    free(probe);
    free(m);
    return dt * 1e9 / DECISIONS;
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    struct config cfg;
    config_init(&cfg);
    struct proto_record *r = calloc(1, sizeof *r);
    if (r == NULL)
        return 1;
    r->version = PROTO_RECORD_VERSION;
    r->kind = PROTO_KIND_INDICATOR;
    r->tlp = PROTO_TLP_GREEN;
    r->created_ms = 1700000000000ULL;
    r->u.ind.type = PROTO_ITYPE_DOMAIN;
    snprintf(r->u.ind.value, sizeof r->u.ind.value, "example.org");
    r->u.ind.valid_until_ms = r->created_ms + 86400000ULL;
    r->u.ind.confidence = 50;
    snprintf(r->audience.communities[0], LIMIT_NAME_BYTES + 1, "nation");
    r->audience.n_communities = 1;
    const double small = ns_per_decision(SMALL, &cfg, r), big = ns_per_decision(BIG, &cfg, r);
    printf("{\"roster_gate_ns_100\": {\"value\": %.0f, \"limit\": null, \"sense\": \"max\"}, "
           "\"roster_gate_ns_10000\": {\"value\": %.0f, \"limit\": null, \"sense\": \"max\"}, "
           "\"roster_gate_10000_over_100\": {\"value\": %.2f, \"limit\": 3.0, \"sense\": "
           "\"max\"}}\n",
           small, big, big / small);
    free(r);
    config_free(&cfg);
    return 0;
}
