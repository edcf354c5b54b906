/* simint.h - simnet's internal model shared by its modules (not a public API).
 *
 * struct world is the ground truth a scenario sets up: the links, every node's organisation,
 * communities and, per directed link, the ceiling and client relation the sending node's config
 * gives the receiver. Nodes are configured from it; the oracle judges against it.
 */
#ifndef TLPMESH_SIMNET_SIMINT_H
#define TLPMESH_SIMNET_SIMINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "simnet/sim.h"

/* xoshiro256** seeded by splitmix64: the only source of randomness in simnet. */
struct sim_rng {
    uint64_t s[4];
};

void rng_seed(struct sim_rng *r, uint64_t seed, uint64_t stream);
uint64_t rng_next(struct sim_rng *r);
uint64_t rng_below(struct sim_rng *r, uint64_t n); /* uniform in [0, n), n > 0 */
double rng_unit(struct sim_rng *r);                /* uniform in [0, 1) */

/* Undirected graph in CSR form; a node's neighbours are sorted. Directed link (a, k) is a's k-th
 * neighbour; link_id = off[a] + k. */
struct world {
    uint32_t n;
    uint32_t *off, *adj;   /* off[n + 1] */
    uint32_t *rev;         /* rev[off[a]+k] = index of the link b -> a in b's list */
    uint8_t *ceiling;      /* per directed link: enum proto_tlp */
    uint8_t *client;       /* per directed link: 1 = the sender's config names the receiver a client */
    uint32_t *org;         /* per node: organisation index (every node has one) */
    uint64_t *comm;        /* per node: community mask */
    uint8_t *byz;          /* per node: enum sim_byz flags */
    struct sim_link_model *model; /* per directed link */
};

int topo_build(const struct sim_scenario *s, struct sim_rng *rng, struct world *w);
void world_free(struct world *w);
static inline uint32_t world_degree(const struct world *w, uint32_t a)
{
    return w->off[a + 1] - w->off[a];
}

/* --- oracle.c: the TLP rules written again from docs/SHARING.md, on the world's facts --- */

struct orec {
    uint8_t tlp;
    bool genuine;      /* signed by its origin (false: a byzantine forgery, never to be accepted) */
    uint32_t origin;
    uint64_t comm;     /* audience communities */
    uint8_t n_recip;
    uint32_t recip[SIM_MAX_RECIPIENTS];
    uint64_t published; /* virtual ms */
    bool origin_wiped;  /* its origin lost it (`stop wipe`): then a receiver like any other */
    uint8_t id[LIMIT_ID_BYTES];
    uint8_t *bytes;    /* sig || body, owned */
    uint32_t len;
};

struct oracle {
    const struct world *w;
    struct orec *recs;
    size_t n, cap;
    uint64_t *entitled, *holders; /* n x words bitsets */
    size_t words;
    uint32_t *by_id, *by_sig; /* open addressing: record index + 1 */
    size_t slots;
    bool failed;
    char msg[512];
};

int oracle_init(struct oracle *o, const struct world *w, size_t max_records);
void oracle_free(struct oracle *o);
/* Registers a record; computes who is entitled to it (chains of allowed links from its origin,
 * through nodes for which alive[] is true, all nodes when alive is NULL). Returns its index. */
int64_t oracle_add(struct oracle *o, const struct orec *r);
void oracle_entitle(struct oracle *o, size_t rec, const bool *alive);
/* The same from every node for which alive[] is true that holds rec now (the origin may have
 * lost it: a wiped store), for the final check. */
void oracle_entitle_held(struct oracle *o, size_t rec, const bool *alive);
/* May node `from` send record rec to its neighbour `to` over directed link `link`? */
bool oracle_may_send(const struct oracle *o, uint32_t link, uint32_t from, uint32_t to,
                     const struct orec *rec);
/* May honest node `to` accept rec from its neighbour `from`, as far as `to` can tell? The rules
 * less the facts only the sender knows (node/core/gossip_verify.c inbound_check, docs/SHARING.md):
 * the sender's ceiling for `to`, whether it names `to` a client, its community memberships. */
bool oracle_may_accept(const struct oracle *o, uint32_t link, uint32_t from, uint32_t to,
                       const struct orec *rec);
/* A byzantine node handed `node` a record it may accept (oracle_may_accept): the leak is the
 * byzantine node's; `node` and whoever the rules let it reach become entitled to it. */
void oracle_expose(struct oracle *o, size_t rec, uint32_t node);
/* Lookups: record index or -1. by_sig also tells whether the bytes match the genuine record. */
int64_t oracle_find_id(const struct oracle *o, const uint8_t id[LIMIT_ID_BYTES]);
int64_t oracle_find_signed(const struct oracle *o, const uint8_t *signed_rec, size_t len,
                           bool *same_bytes);
int64_t oracle_find_sid(const struct oracle *o, const uint8_t sid[8]);
/* Records the first failure (later ones are ignored): the run stops at the next event. */
void oracle_fail(struct oracle *o, uint64_t seed, uint64_t now, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static inline bool bit_test(const uint64_t *b, size_t i)
{
    return (b[i / 64] >> (i % 64)) & 1;
}
static inline void bit_put(uint64_t *b, size_t i)
{
    b[i / 64] |= (uint64_t)1 << (i % 64);
}

/* --- flood.c: the naive flooding baseline --- */

/* Every node sends every new record in full to every neighbour the rules allow (except the one
 * it came from), once, over the same links. Fills r->flood_*. frame = bytes a message adds;
 * threads: how many to spread the records over (the figures do not depend on it). */
int flood_run(const struct world *w, const struct oracle *o, size_t frame_overhead,
              unsigned threads, struct sim_result *r);

#endif
