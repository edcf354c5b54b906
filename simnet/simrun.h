/* simrun.h - the state of one simnet run, shared by the files of the simulator (not a public API).
 *
 * One event queue ordered by (virtual ms, sequence number). All events due at one
 * millisecond are dispatched first (bytes arriving, connections, timers, publications, scenario
 * actions); every node they touched then runs one loop turn, in node order, the way
 * node/shell/run.c's prepare callback does: node_turn (requested closes, verification jobs,
 * gossip_flush), then its queued bytes leave as one segment per connection and its one timer is
 * re-armed. Links have a latency of at least 1 ms, so nothing a turn sends arrives in the same
 * millisecond.
 *
 * That is also what lets one millisecond's nodes run on several threads (conservative parallel
 * simulation with 1 ms of lookahead): within a step a node touches only its own state, its own
 * side of its connections, the record pool (read-only: only publications, which run alone, add
 * to it) and the verification cache (equal bytes, equal answer). What it sends, the counters it
 * bumps and the oracle failure it finds are kept per worker and merged after the step in node
 * order, so the trace and every figure are the same whatever the number of threads.
 *
 * Files: event.c (the event queue, the trace), link.c (partitions, the link model, connections),
 * simnode.c (a node's transport and io for node/core/node.h, the verification cache, its
 * communities, a node's turn, start and stop),
 * records.c (publications, scenario actions), byz.c (byzantine nodes), step.c (dispatch, steps,
 * workers), setup.c (sim_run: setup, final checks, results). struct sim owns everything; sim_run
 * (setup.c) builds and frees it.
 */
#ifndef TLPMESH_SIMNET_SIMRUN_H
#define TLPMESH_SIMNET_SIMRUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <pthread.h>

#include "crypto/keys.h"
#include "node/config/config.h"
#include "node/core/community.h"
#include "node/core/node.h"
#include "store/memstore.h"
#include "simnet/simint.h"

#define WALL0 1767225600000ull /* 2026-01-01: virtual ms 0 as Unix ms, for the record time rules */
#define SIM_PORT 7000
#define RTO_MS 200             /* TCP retransmission timeout added per lost segment */
#define BYZ_INTERVAL_MS 500
#define HOLD_MS 50 /* reorder: a held message goes in at the latest this much later */
#define PAR_MIN_NODES 4 /* fewer nodes in a step run on the main thread alone */
#define MAX_WORKERS 8
#define SPIN_POLLS 300000 /* ~0.3-1 ms: a step's serial part (taking and merging events) fits */
#define SIM_CAND_CAP 256 /* a simulated node's records in verification: its largest commit */
/* A simulated node's known-by table (gossip's recent ids): a node of the default scenario hears
 * of about 520 new ids a second (10,000 records published over 10 s, half of them for it), and
 * an id's entry is needed from its first announcement until the last neighbour has it, a few
 * hops of 10-100 ms: 1024 entries keep the last 2 s, where 2048 (32 KiB more per node) kept 4. */
#define SIM_RECENT_CAP 1024
#define NIL32 UINT32_MAX
#define FLOOD_INTERVAL_MS 20
#define BYZ_BATCH 8
#define FLOOD_BATCH 32
#define FRAME_OVERHEAD (2 + 16 + 1 + 2 + 2) /* length, Noise tag, type, count, record length */

/* --- events --- */

enum ev_type {
    EV_CONNECT, EV_CONNECTED, EV_DATA, EV_FIN, EV_TIMER, EV_PUBLISH, EV_ACTION, EV_BYZ, EV_RELEASE
};

struct ev {
    uint64_t t, seq;
    uint32_t type, a, b;
    uint32_t len;
    uint8_t *data;
};

struct heap {
    struct ev *v;
    size_t n, cap;
};

/* The event queue: a timing wheel of one bucket per millisecond for the next WHEEL_MS ms (where
 * nearly every event falls: link latencies, timers of a few ms) and a heap for later ones. A
 * bucket holds the events of one millisecond in push order, which is sequence order; an event
 * that waited in the heap was pushed before any event of its millisecond that went straight to
 * the wheel, and it moves into its (then empty) bucket as soon as the wheel reaches it. So events
 * leave in (time, sequence) order, each in O(1) amortised. */
#define WHEEL_MS 4096
#define WHEEL_KEEP 64 /* events a drained bucket keeps room for */

struct bucket {
    struct ev *v;
    uint32_t head, n, cap;
};

struct evq {
    struct bucket *wheel; /* WHEEL_MS buckets: times [base, base + WHEEL_MS) */
    uint64_t base;
    size_t n_wheel;
    struct heap far;      /* times >= base + WHEEL_MS when pushed */
};

/* --- state --- */

/* One simulated TCP connection: side 0 dialled, side 1 accepted. */
struct sconn {
    bool used;
    uint32_t node[2], link[2]; /* link[s]: directed link node[s] -> node[1-s] */
    engine_conn h[2];
    bool open[2];    /* side s's engine still knows this connection */
    bool fin[2];     /* side s closed: its FIN follows its last bytes */
    bool broken[2];  /* direction s -> 1-s crossed a partition: its bytes are lost for good */
    bool queued[2];  /* in node[s]'s flush list */
    uint8_t *out[2];
    size_t out_len[2], out_cap[2];
    uint64_t inflight[2]; /* bytes sent by side s not yet delivered */
    uint64_t free_at[2], last_at[2];
    uint32_t refs; /* events naming this connection */
    uint32_t owner; /* the dialler: the index comes from (and goes back to) its range */
};

struct held_msg { /* reorder: a gossip message held back until the next one or HOLD_MS */
    uint8_t *body;
    size_t len, peer;
    uint8_t type;
};

struct snode {
    struct sim *sim;
    uint32_t idx;
    struct keys_identity id;
    char org[LIMIT_NAME_BYTES + 1];
    bool running;
    struct node node;     /* engine, gossip (node/core/node.h); zeroed while stopped */
    struct config *cfg;   /* its [Peer]s as the world says: ceilings, clients, organisations */
    struct community_table ctab; /* self = its key, rosters = the sim's */
    struct memstore ms;
    bool ms_ready;
    uint32_t *slot_conn; /* engine connection slot -> sconn index + 1 */
    uint64_t timer_at;
    uint32_t timer_gen;
    bool dirty;
    uint32_t *flush; /* sconns with bytes or a FIN from this node */
    size_t n_flush, cap_flush;
    struct sim_rng rng;
    struct worker *w;     /* the thread context it runs in */
    uint32_t *conn_free;  /* free indexes of its own range of s->conns (a stack) */
    uint32_t n_conn_free;
    bool active;          /* in this step's node list... */
    uint32_t ev_head, ev_tail; /* ...with these of the step's events */
    struct held_msg held;
    uint32_t held_gen;
    uint64_t rx, tx;
};

struct vcache_entry {
    uint8_t *bytes; /* sig || body */
    uint32_t len;
    int result;
};

/* An event a node sent during a step, pushed (and numbered) after the step in node order. */
struct staged {
    struct ev e;
    uint32_t node;
};

struct step_ev {
    struct ev e;
    uint32_t next; /* the node's next event of the step */
};

/* One thread's share of a step. */
struct worker {
    struct sim *s;
    unsigned idx;
    pthread_t th;
    uint8_t *scratch; /* SESSION_SCRATCH_BYTES for the engines it runs: one call at a time */
    struct staged *ev;
    size_t n_ev, cap_ev;
    uint64_t net_events; /* of ev, already counted in their connections' refs */
    uint32_t *rel; /* connections to release after the step if nothing names them */
    size_t n_rel, cap_rel;
    struct sim_result part; /* counters, added to the result after each step */
    struct step_delay *delays; /* and the deliveries' delays (a list: a step has few of them) */
    size_t n_delays, cap_delays;
    int err;
    bool failed; /* the first oracle failure of its nodes (they run in node order) */
    uint32_t fail_node;
    char fail_msg[400];
};

struct sim {
    const struct sim_scenario *sc;
    struct sim_result *res;
    struct world w;
    struct oracle o;
    struct sim_rng rng, pub_rng;
    struct snode *nodes;
    struct sconn *conns;
    size_t n_conns; /* every node's range (conn_slots), allocated at setup */
    struct evq q;
    uint64_t now, seq, net_events;
    uint32_t *dirty;
    size_t n_dirty;
    struct worker *workers;
    bool any_byz;
    unsigned n_workers, n_threads; /* threads started besides the main one: n_threads - 1 */
    pthread_mutex_t gate; /* the step: main bumps step_gen, workers count step_left down */
    pthread_cond_t start_cv, done_cv;
    uint64_t step_gen, step_left;
    bool gate_ready, quit;
    bool stepping; /* nodes are running a step: their sends and counts are staged */
    struct step_ev *sev; /* this step's node events, in pop order */
    size_t n_sev, cap_sev;
    uint32_t *active; /* this step's nodes, sorted */
    size_t n_active, next_active; /* next_active: the workers' cursor */
    uint32_t *rel; /* connections of popped events and the workers': released after the step */
    size_t n_rel, cap_rel;
    /* partitions: side[] per node for a split, isolated node, one-way pairs */
    bool split_on;
    uint8_t *side;
    int64_t isolated;
    uint32_t (*oneway)[2];
    size_t n_oneway;
    uint64_t settle_until;
    size_t actions_left, published;
    uint64_t action_last;
    struct vcache_entry *vc;
    size_t vc_cap, vc_n, vc_full;
    pthread_mutex_t vc_lock;
    struct memstore_pool pool; /* record bytes, shared by every node's memstore */
    FILE *trace;
    struct proto_record *rec; /* scratch for generated records */
    uint8_t *buf;
    int err;
    bool progress;
    /* totals of nodes' gossip counters taken when a node stops */
    struct gossip_stats gone;
    uint64_t gone_refused, gone_recon;
    /* The world's communities as trusted rosters, one per community with members (members
     * sorted by key), read by every node's community table. */
    struct community_roster *rosters;
    size_t n_rosters;
    struct proto_roster_member *members;
    uint8_t *cfg_map; /* every node's struct config (simnode.c: sim_configs_map) */
    size_t cfg_stride, cfg_map_len;
};

/* A connection with a side closed: it may be released once no event names it. */
static inline bool closing(const struct sconn *c)
{
    return !c->open[0] || !c->open[1];
}

/* Room for one more element of elem bytes in *v (n used, *cap allocated). */
static inline bool grow(void **v, size_t *cap, size_t n, size_t elem)
{
    if (n < *cap)
        return true;
    size_t c = *cap ? *cap * 2 : 256;
    void *nv = realloc(*v, c * elem);
    if (nv == NULL)
        return false;
    *v = nv;
    *cap = c;
    return true;
}

/* A delivery's delay and its record's TLP, counted into the result after the step. */
struct step_delay {
    uint32_t ms;
    uint8_t tlp;
};

/* Counters a node bumps: its worker's, added to the result after the step. */
static inline struct sim_result *part(const struct snode *n)
{
    return &n->w->part;
}

/* event.c */
size_t evq_size(const struct evq *q);
int evq_advance(struct evq *q, uint64_t *t);
bool evq_pop_now(struct evq *q, struct ev *e);
int evq_init(struct evq *q);
void evq_free(struct evq *q);
void trace_ev(struct sim *s, const struct ev *e);
int enqueue(struct sim *s, uint64_t t, uint32_t type, uint32_t a, uint32_t b,
            uint8_t *data, uint32_t len);
int push(struct sim *s, uint64_t t, uint32_t type, uint32_t a, uint32_t b, uint8_t *data,
         uint32_t len);

/* link.c */
bool blocked(const struct sim *s, uint32_t from, uint32_t to);
uint64_t arrival(struct sim *s, struct snode *from, struct sconn *c, int side, size_t len);
uint32_t conn_slots(uint32_t degree);
uint32_t conn_alloc(struct snode *n);
void conn_release_if_done(struct sim *s, uint32_t ci);
void release_later(struct snode *n, uint32_t ci);
struct sconn *conn_of(struct snode *n, engine_conn h, int *side);
void queue_flush(struct snode *n, uint32_t ci, int side);
void side_forget(struct sim *s, uint32_t ci, int side);
void flush_node(struct sim *s, struct snode *n);

/* simnode.c */
void eio_random(void *ctx, uint8_t *buf, size_t len);
void release_held(struct snode *n);
int sim_rosters_build(struct sim *s);
int sim_configs_map(struct sim *s);
void sim_configs_unmap(struct sim *s);
void snode_turn(struct sim *s, struct snode *n);
int snode_start(struct sim *s, struct snode *n);
void snode_stop(struct sim *s, struct snode *n, bool wipe);
void snode_free(struct snode *n);

/* records.c */
size_t make_record(struct sim *s, uint32_t a, uint64_t i, struct orec *o);
int pool_headroom(struct sim *s);
void publish(struct sim *s, uint64_t i);
void action(struct sim *s, const struct sim_action_ev *a);

/* byz.c */
void byz_tick(struct sim *s, struct snode *n);

/* step.c */
void npush(struct snode *n, uint64_t t, uint32_t type, uint32_t a, uint32_t b,
           uint8_t *data, uint32_t len);
void node_fail(struct snode *n, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void mark_dirty(struct sim *s, struct snode *n);
int add_part(struct sim_result *r, struct worker *w);
int run_loop(struct sim *s);
int workers_init(struct sim *s);
void threads_start(struct sim *s);
void threads_stop(struct sim *s);

#endif
