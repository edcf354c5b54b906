/* gossip_net.h - the in-test mesh of test_gossip.c: nodes, links, records and the oracle.
 *
 * gossip_net.c wires real gossip instances on memstores (or one LMDB store) through their send
 * callbacks, by a deterministic event queue on a fake clock, and holds every emitted item against
 * the oracle (docs/SHARING.md "The rule", written here, never through gate code). The program is
 * built with -DGOSSIP_TEST_GATE_HOOK (tests/CMakeLists.txt). For test_gossip only.
 */
#ifndef TLPMESH_TESTS_GOSSIP_NET_H
#define TLPMESH_TESTS_GOSSIP_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/keys.h"
#include "node/core/gossip.h"
#include "store/gossip_lmdb.h"
#include "store/memstore.h"
#include "tests/support/ts_store.h"
#include "tests/support/ts_topo.h"

#define WALL0 1700000000000ull
#define LATENCY 5
#define RUN_MS 20000 /* under LIMIT_RECON_INTERVAL_MS: one reconciliation per session */

enum { MAX_NODES = 24, MAX_DEG = 12, MAX_RECS = 16384, MAX_AUD = 4, MAX_COMMS = 3 };

/* A link as one end sees it; the ends themselves are in net->topo (same slot numbers). */
struct tlink {
    bool up;
    uint8_t ceiling, relation; /* how this node's config sees that peer */
};

struct tnode {
    struct net *net;
    size_t idx;
    struct keys_identity id;
    char org[LIMIT_NAME_BYTES + 1];
    char comms[MAX_COMMS][LIMIT_NAME_BYTES + 1];
    size_t n_comms;
    struct memstore ms;
    struct ts_store lmdb;        /* when lmdb.store is set, the node runs on it instead of ms */
    struct gossip_lmdb adapter;
    struct gossip_store_ops ops; /* of ms or adapter */
    struct gossip *g;
    struct tlink link[MAX_DEG]; /* by slot: net->topo.peer[idx][slot] is the node there */
    uint64_t verify_items;
    uint64_t sent[6]; /* messages sent, by gossip type - 16 (RECORDS .. PRUNE) */
    uint64_t bytes_in;
    struct gossip_commit *commit; /* handed to io.commit (net->defer_commit), not yet back */
    bool commit_ran;              /* its put_batch ran (commit_run_only) */
};

/* What the oracle needs of a record, copied from the values the test chose. */
struct trec {
    uint8_t id[LIMIT_ID_BYTES];
    uint8_t kind, tlp;
    size_t origin;
    size_t n_comm, n_recip;
    char comm[MAX_AUD][LIMIT_NAME_BYTES + 1];
    size_t recip[MAX_AUD]; /* node indexes */
    int target;            /* index in net->recs of a revocation's target, else -1 */
};

struct ev {
    uint64_t at;
    size_t to, slot;
    uint8_t type;
    uint8_t *body;
    size_t len;
};

struct net {
    struct tnode nodes[MAX_NODES];
    size_t n;
    struct ts_topo topo;
    struct ev *msgs;
    size_t m_head, m_len, m_cap;
    struct gossip_job *jobs[4096];
    size_t j_owner[4096];
    size_t j_len;
    struct {
        size_t node, slot;
        int err; /* the reason gossip gave */
    } closes[64];
    size_t n_closes;
    int last_close_err; /* of the last io.close_peer */
    bool defer_verify;
    bool defer_commit; /* gossip gets io.commit: commits come back as events of run() */
    bool hold_commits; /* run() gives no commit back */
    bool hold_verify;  /* run() runs no verification job: they stay out, and the candidate tables as they are */
    size_t cand_cap;   /* 0 = default; small values exercise the overload path */
    size_t push_cap;   /* 0 = default; small values exercise a round's later haves */
    int lmdb_node;     /* index of the node that runs on a real LMDB store, or -1 */
    uint64_t valid_for_ms; /* new indicators expire at WALL0 + this; 0 = 30 days */
    uint64_t now;
    struct trec *recs;
    size_t n_recs;
    unsigned counter;
};

extern size_t violations, emitted[3]; /* gate violations and emissions seen by the hook */

/* A record to publish: its TLP and audience (gossip_net.c "records"). */
struct spec {
    uint8_t tlp;
    const char *comm[MAX_AUD];
    int recip[MAX_AUD + 1]; /* node indexes, -1 terminated */
};

size_t n_links(const struct tnode *n);
size_t peer_at(const struct tnode *n, size_t slot);
size_t slot_of(const struct tnode *n, size_t peer_node);
int node_is_revoked(const struct tnode *t, const uint8_t id[LIMIT_ID_BYTES],
                    const uint8_t origin[LIMIT_KEY_BYTES]);
void push_msg(struct net *net, size_t to, size_t slot, uint8_t type, const uint8_t *body,
              size_t len);
void fill_view(const struct tnode *n, size_t slot, struct gate_peer *v);
struct net *net_new(size_t n_nodes);
void net_start(struct net *net);
void net_free(struct net *net);
void link_up(struct net *net, size_t a, size_t b);
/* A crash and restart of node idx: a new gossip instance over its store, or (wipe) over an empty
 * one, under the same key. */
void node_restart(struct net *net, size_t idx, bool wipe);
void apply_closes(struct net *net);
void run(struct net *net, uint64_t ms);
/* Runs node's commit that is out (defer_commit) without giving it back: it is durable. */
void commit_run_only(struct net *net, size_t node);
size_t make_record(struct net *net, size_t origin, const struct spec *sp, int target,
                   uint8_t buf[TS_SIGNED_BYTES], size_t *len);
size_t publish(struct net *net, size_t origin, const struct spec *sp, int target);
bool holds(struct net *net, size_t node, size_t rec);
void assert_holders_match_oracle(struct net *net);
const struct gossip_peer_stats *pst(struct net *net, size_t node, size_t peer_node);

#endif
