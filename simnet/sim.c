/* sim.c - simnet's event loop, nodes, links, partitions, churn and byzantine nodes (sim.h).
 *
 * One event queue ordered by (virtual ms, sequence number). All events due at one
 * millisecond are dispatched first (bytes arriving, connections, timers, publications, scenario
 * actions); every node they touched then runs one loop turn, in node order, the way node/shell/run.c's
 * prepare callback does: requested closes, verification jobs, gossip_flush, then its queued bytes
 * leave as one segment per connection and its one timer is re-armed. Links have a latency of at
 * least 1 ms, so nothing a turn sends arrives in the same millisecond.
 *
 * That is also what lets one millisecond's nodes run on several threads (conservative parallel
 * simulation with 1 ms of lookahead): within a step a node touches only its own state, its own
 * side of its connections, the record pool (read-only: only publications, which run alone, add
 * to it) and the verification cache (equal bytes, equal answer). What it sends, the counters it
 * bumps and the oracle failure it finds are kept per worker and merged after the step in node
 * order, so the trace and every figure are the same whatever the number of threads.
 */
#include <assert.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <pthread.h>
#include <sys/resource.h>
#include <unistd.h>

#include <sodium.h>

#include "crypto/keys.h"
#include "node/core/engine.h"
#include "node/core/gossip.h"
#include "store/memstore.h"
#include "node/core/session.h"
#include "proto/record.h"
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
#define NIL32 UINT32_MAX
#define FLOOD_INTERVAL_MS 20
#define BYZ_BATCH 8
#define FLOOD_BATCH 32
#define FRAME_OVERHEAD (2 + 16 + 1 + 2 + 2) /* length, Noise tag, type, count, record length */

const char *sim_strerror(int err)
{
    switch (err) {
    case SIM_OK: return "ok";
    case SIM_E_NOMEM: return "out of memory";
    case SIM_E_USAGE: return "bad scenario";
    case SIM_E_ORACLE: return "the oracle found a broken rule";
    case SIM_E_STALL: return "no quiescence before the time limit";
    case SIM_E_ENGINE: return "engine or gossip failure";
    case SIM_E_IO: return "cannot write output";
    default: return "unknown error";
    }
}

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

static bool ev_before(const struct ev *x, const struct ev *y)
{
    return x->t != y->t ? x->t < y->t : x->seq < y->seq;
}

static int heap_push(struct heap *h, const struct ev *e)
{
    if (h->n == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 4096;
        struct ev *nv = realloc(h->v, cap * sizeof *nv);
        if (nv == NULL)
            return SIM_E_NOMEM;
        h->v = nv;
        h->cap = cap;
    }
    size_t i = h->n++;
    while (i > 0 && ev_before(e, &h->v[(i - 1) / 2])) {
        h->v[i] = h->v[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h->v[i] = *e;
    return SIM_OK;
}

static struct ev heap_pop(struct heap *h)
{
    assert(h->n > 0);
    struct ev top = h->v[0], last = h->v[--h->n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= h->n)
            break;
        if (c + 1 < h->n && ev_before(&h->v[c + 1], &h->v[c]))
            c++;
        if (!ev_before(&h->v[c], &last))
            break;
        h->v[i] = h->v[c];
        i = c;
    }
    if (h->n > 0)
        h->v[i] = last;
    return top;
}

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

static int bucket_add(struct bucket *b, const struct ev *e)
{
    if (b->n == b->cap) {
        uint32_t cap = b->cap ? b->cap * 2 : 16;
        struct ev *nv = realloc(b->v, cap * sizeof *nv);
        if (nv == NULL)
            return SIM_E_NOMEM;
        b->v = nv;
        b->cap = cap;
    }
    b->v[b->n++] = *e;
    return SIM_OK;
}

static int evq_push(struct evq *q, const struct ev *e)
{
    assert(e->t >= q->base);
    if (e->t - q->base >= WHEEL_MS)
        return heap_push(&q->far, e);
    int rc = bucket_add(&q->wheel[e->t % WHEEL_MS], e);
    q->n_wheel += rc == SIM_OK;
    return rc;
}

static size_t evq_size(const struct evq *q)
{
    return q->n_wheel + q->far.n;
}

/* Time of the earliest event (the queue is not empty); the wheel moves on to it. */
static int evq_advance(struct evq *q, uint64_t *t)
{
    assert(evq_size(q) > 0);
    if (q->n_wheel == 0)
        q->base = q->far.v[0].t;
    while (q->wheel[q->base % WHEEL_MS].head == q->wheel[q->base % WHEEL_MS].n) {
        if (q->far.n > 0 && q->far.v[0].t == q->base)
            break; /* its bucket is empty: the heap's events of base move in below */
        q->base++;
    }
    while (q->far.n > 0 && q->far.v[0].t - q->base < WHEEL_MS) {
        struct ev e = heap_pop(&q->far);
        int rc = bucket_add(&q->wheel[e.t % WHEEL_MS], &e);
        if (rc < 0) {
            free(e.data);
            return rc;
        }
        q->n_wheel++;
    }
    *t = q->base;
    return SIM_OK;
}

/* The next event due at the wheel's current time, if any. */
static bool evq_pop_now(struct evq *q, struct ev *e)
{
    struct bucket *b = &q->wheel[q->base % WHEEL_MS];
    if (b->head == b->n)
        return false;
    *e = b->v[b->head++];
    assert(e->t == q->base);
    if (b->head == b->n) {
        b->head = b->n = 0;
        if (b->cap > WHEEL_KEEP) { /* a burst's room goes back: 4096 full buckets add up */
            free(b->v);
            b->v = NULL;
            b->cap = 0;
        }
    }
    q->n_wheel--;
    return true;
}

static int evq_init(struct evq *q)
{
    memset(q, 0, sizeof *q);
    q->wheel = calloc(WHEEL_MS, sizeof *q->wheel);
    return q->wheel ? SIM_OK : SIM_E_NOMEM;
}

/* Frees the queue and the data of every event left in it. */
static void evq_free(struct evq *q)
{
    for (size_t i = 0; q->wheel && i < WHEEL_MS; i++) {
        for (uint32_t j = q->wheel[i].head; j < q->wheel[i].n; j++)
            free(q->wheel[i].v[j].data);
        free(q->wheel[i].v);
    }
    while (q->far.n > 0) {
        struct ev e = heap_pop(&q->far);
        free(e.data);
    }
    free(q->far.v);
    free(q->wheel);
    memset(q, 0, sizeof *q);
}

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
    bool running, engine_ready;
    struct engine e;
    struct gossip *g;
    struct memstore ms;
    bool ms_ready;
    uint32_t *slot_conn; /* engine connection slot -> sconn index + 1 */
    struct gossip_job *jobs;
    uint8_t *close_req, *down_pending; /* per peer slot */
    unsigned depth;
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
    struct sim_result part; /* counters and delays, added to the result after each step */
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
    uint32_t *rel; /* connections of popped events: released after the step if done */
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
};

static void trace_ev(struct sim *s, const struct ev *e)
{
    uint64_t h = s->res->trace_digest ^ (e->t * 0x9e3779b97f4a7c15ull);
    uint64_t parts[4] = {e->type, e->a, e->b, e->len};
    for (int i = 0; i < 4; i++) {
        h ^= parts[i] + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
        h *= 0xbf58476d1ce4e5b9ull;
    }
    s->res->trace_digest = h;
    s->res->events++;
    if (s->trace)
        fprintf(s->trace, "%" PRIu64 " %u %u %u %u\n", e->t, e->type, e->a, e->b, e->len);
}

/* Into the queue, numbered in the order of these calls. A coarser clock: events wait for the
 * next step, so each node turns once per step and sends what it has as one segment per
 * connection (order on every connection is kept). */
static int enqueue(struct sim *s, uint64_t t, uint32_t type, uint32_t a, uint32_t b,
                   uint8_t *data, uint32_t len)
{
    uint64_t step = s->sc->resolution_ms;
    struct ev e = {(t + step - 1) / step * step, s->seq++, type, a, b, len, data};
    int rc = evq_push(&s->q, &e);
    if (rc < 0)
        s->err = rc;
    return rc;
}

/* An event from the simulator itself or from a node outside a step (npush otherwise). */
static int push(struct sim *s, uint64_t t, uint32_t type, uint32_t a, uint32_t b, uint8_t *data,
                uint32_t len)
{
    if (type <= EV_FIN) {
        s->net_events++;
        s->conns[a].refs++;
    }
    return enqueue(s, t, type, a, b, data, len);
}

/* A connection with a side closed: it may be released once no event names it. */
static bool closing(const struct sconn *c)
{
    return !c->open[0] || !c->open[1];
}

/* Room for one more element of elem bytes in *v (n used, *cap allocated). */
static bool grow(void **v, size_t *cap, size_t n, size_t elem)
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

/* push() for what a node does: during a step it waits in its worker's list. */
static void npush(struct snode *n, uint64_t t, uint32_t type, uint32_t a, uint32_t b,
                  uint8_t *data, uint32_t len)
{
    struct sim *s = n->sim;
    if (!s->stepping) {
        push(s, t, type, a, b, data, len);
        return;
    }
    struct worker *w = n->w;
    if (!grow((void **)&w->ev, &w->cap_ev, w->n_ev, sizeof *w->ev)) {
        w->err = SIM_E_NOMEM;
        free(data);
        return;
    }
    if (type <= EV_FIN) { /* counted now (the other side's thread may count it too) */
        __atomic_add_fetch(&s->conns[a].refs, 1, __ATOMIC_RELAXED);
        w->net_events++;
    }
    w->ev[w->n_ev++] = (struct staged){{t, 0, type, a, b, len, data}, n->idx};
}

/* Counters a node bumps: its worker's, added to the result after the step. */
static struct sim_result *part(const struct snode *n)
{
    return &n->w->part;
}

/* An oracle failure seen by a node: during a step the worker keeps its first (its lowest node),
 * and the lowest node's of all workers wins after the step. */
static void __attribute__((format(printf, 2, 3))) node_fail(struct snode *n, const char *fmt, ...)
{
    struct sim *s = n->sim;
    struct worker *w = n->w;
    char what[sizeof w->fail_msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    if (!s->stepping) {
        oracle_fail(&s->o, s->sc->seed, s->now, "%s", what);
    } else if (!w->failed) {
        w->failed = true;
        w->fail_node = n->idx;
        memcpy(w->fail_msg, what, sizeof what);
    }
}

static void mark_dirty(struct sim *s, struct snode *n)
{
    if (n->dirty)
        return;
    n->dirty = true;
    if (!s->stepping) /* a step runs each of its nodes' turn anyway */
        s->dirty[s->n_dirty++] = n->idx;
}

/* --- partitions --- */

static bool blocked(const struct sim *s, uint32_t from, uint32_t to)
{
    if (s->split_on && s->side[from] != s->side[to])
        return true;
    if (s->isolated >= 0 && (from == (uint32_t)s->isolated || to == (uint32_t)s->isolated))
        return true;
    for (size_t i = 0; i < s->n_oneway; i++)
        if (s->oneway[i][0] == from && s->oneway[i][1] == to)
            return true;
    return false;
}

/* --- the link model --- */

/* Arrival time of a segment of len bytes sent now on directed link; in order per connection. */
static uint64_t arrival(struct sim *s, struct snode *from, struct sconn *c, int side, size_t len)
{
    const struct sim_link_model *m = &s->w.model[c->link[side]];
    uint64_t start = c->free_at[side] > s->now ? c->free_at[side] : s->now;
    uint64_t ser = m->bandwidth_kbps ? (uint64_t)len * 8 / m->bandwidth_kbps : 0;
    c->free_at[side] = start + ser;
    uint64_t t = start + ser + (m->latency_ms ? m->latency_ms : 1);
    if (m->jitter_ms)
        t += rng_below(&from->rng, (uint64_t)m->jitter_ms + 1);
    while (m->loss > 0 && rng_unit(&from->rng) < m->loss) /* lost: resent after an RTO */
        t += RTO_MS + 2 * (uint64_t)m->latency_ms;
    if (t < c->last_at[side])
        t = c->last_at[side]; /* TCP delivers in order */
    c->last_at[side] = t;
    return t;
}

/* Connection indexes come from the dialler's own range, so that nodes dialling in one step on
 * different threads get the same indexes as on one. A node out of them fails the dial (its
 * engine retries later): 4 per peer slot is more than churn and partitions ever keep alive. */
static uint32_t conn_slots(uint32_t degree)
{
    return 4 * degree + 8;
}

static uint32_t conn_alloc(struct snode *n)
{
    return n->n_conn_free > 0 ? n->conn_free[--n->n_conn_free] : UINT32_MAX;
}

/* Only between steps: the connection's events are all counted in refs then. */
static void conn_release_if_done(struct sim *s, uint32_t ci)
{
    struct sconn *c = &s->conns[ci];
    if (!c->used || c->refs > 0 || c->open[0] || c->open[1] || c->queued[0] || c->queued[1])
        return;
    struct snode *o = &s->nodes[c->owner];
    free(c->out[0]);
    free(c->out[1]);
    memset(c, 0, sizeof *c);
    assert(o->n_conn_free < conn_slots(world_degree(&s->w, o->idx)));
    o->conn_free[o->n_conn_free++] = ci;
}

static void release_later(struct snode *n, uint32_t ci)
{
    struct sim *s = n->sim;
    if (!s->stepping) {
        conn_release_if_done(s, ci);
        return;
    }
    struct worker *w = n->w;
    if (grow((void **)&w->rel, &w->cap_rel, w->n_rel, sizeof *w->rel))
        w->rel[w->n_rel++] = ci;
    else
        w->err = SIM_E_NOMEM;
}

static struct sconn *conn_of(struct snode *n, engine_conn h, int *side)
{
    size_t slot = (size_t)(h & 0xffffffffu);
    if (slot >= n->e.max_conns || n->slot_conn[slot] == 0)
        return NULL;
    struct sconn *c = &n->sim->conns[n->slot_conn[slot] - 1];
    for (int sd = 0; sd < 2; sd++)
        if (c->node[sd] == n->idx && c->open[sd] && c->h[sd] == h) {
            *side = sd;
            return c;
        }
    return NULL;
}

static void queue_flush(struct snode *n, uint32_t ci, int side)
{
    struct sconn *c = &n->sim->conns[ci];
    if (c->queued[side])
        return;
    if (n->n_flush == n->cap_flush) {
        size_t cap = n->cap_flush ? n->cap_flush * 2 : 16;
        uint32_t *nf = realloc(n->flush, cap * sizeof *nf);
        if (nf == NULL) {
            n->w->err = SIM_E_NOMEM;
            return;
        }
        n->flush = nf;
        n->cap_flush = cap;
    }
    c->queued[side] = true;
    n->flush[n->n_flush++] = ci;
}

/* The side stops knowing the connection: its engine slot is free for reuse. */
static void side_forget(struct sim *s, uint32_t ci, int side)
{
    struct sconn *c = &s->conns[ci];
    if (!c->open[side])
        return;
    c->open[side] = false;
    struct snode *n = &s->nodes[c->node[side]];
    size_t slot = (size_t)(c->h[side] & 0xffffffffu);
    if (n->slot_conn && slot < n->e.max_conns && n->slot_conn[slot] == ci + 1)
        n->slot_conn[slot] = 0;
}

/* Sends what node n queued this turn: one segment per connection, then FINs. */
static void flush_node(struct sim *s, struct snode *n)
{
    for (size_t i = 0; i < n->n_flush; i++) {
        uint32_t ci = n->flush[i];
        struct sconn *c = &s->conns[ci];
        int side = c->node[0] == n->idx && c->queued[0] ? 0 : 1;
        assert(c->queued[side]);
        c->queued[side] = false;
        int other = 1 - side;
        if (blocked(s, c->node[side], c->node[other]))
            c->broken[side] = true;
        if (c->out_len[side] > 0) {
            uint32_t len = (uint32_t)c->out_len[side];
            n->tx += len;
            part(n)->bytes_tx += len;
            if (!c->broken[side]) {
                uint64_t t = arrival(s, n, c, side, len);
                c->inflight[side] += len;
                npush(n, t, EV_DATA, ci, (uint32_t)side, c->out[side], len);
                c->out[side] = NULL;
                c->out_cap[side] = 0;
            }
            c->out_len[side] = 0;
        }
        if (c->fin[side] && !c->broken[side]) {
            c->fin[side] = false;
            npush(n, arrival(s, n, c, side, 0), EV_FIN, ci, (uint32_t)side, NULL, 0);
        }
        if (closing(c))
            release_later(n, ci);
    }
    n->n_flush = 0;
}

/* --- engine io --- */

static int eio_send(void *ctx, engine_conn h, const uint8_t *bytes, size_t len)
{
    struct snode *n = ctx;
    int side;
    struct sconn *c = conn_of(n, h, &side);
    if (c == NULL)
        return -1;
    if (c->out_len[side] + c->inflight[side] + len > LIMIT_PEER_SENDQ_BYTES)
        return -1;
    if (c->out_len[side] + len > c->out_cap[side]) {
        size_t cap = c->out_cap[side] ? c->out_cap[side] : 512;
        while (cap < c->out_len[side] + len)
            cap *= 2;
        uint8_t *nb = realloc(c->out[side], cap);
        if (nb == NULL)
            return -1;
        c->out[side] = nb;
        c->out_cap[side] = cap;
    }
    memcpy(c->out[side] + c->out_len[side], bytes, len);
    c->out_len[side] += len;
    queue_flush(n, (uint32_t)(c - n->sim->conns), side);
    return 0;
}

static void eio_close(void *ctx, engine_conn h)
{
    struct snode *n = ctx;
    int side;
    struct sconn *c = conn_of(n, h, &side);
    if (c == NULL)
        return;
    uint32_t ci = (uint32_t)(c - n->sim->conns);
    c->fin[side] = true;
    queue_flush(n, ci, side);
    side_forget(n->sim, ci, side);
}

static uint32_t node_of_host(const char *host)
{
    return (uint32_t)strtoul(host + 1, NULL, 10); /* "n<index>" */
}

static int eio_dial(void *ctx, engine_conn h, const char *host, uint16_t port)
{
    struct snode *n = ctx;
    struct sim *s = n->sim;
    (void)port;
    uint32_t to = node_of_host(host);
    if (to >= s->w.n)
        return -1;
    uint32_t ci = conn_alloc(n);
    if (ci == UINT32_MAX)
        return -1;
    struct sconn *c = &s->conns[ci];
    memset(c, 0, sizeof *c);
    c->used = true;
    c->owner = n->idx;
    c->node[0] = n->idx;
    c->node[1] = to;
    for (uint32_t k = s->w.off[n->idx]; k < s->w.off[n->idx + 1]; k++)
        if (s->w.adj[k] == to) {
            c->link[0] = k;
            c->link[1] = s->w.rev[k];
        }
    c->h[0] = h;
    c->open[0] = true;
    n->slot_conn[h & 0xffffffffu] = ci + 1;
    if (!blocked(s, n->idx, to)) /* a SYN into a partition is lost: the handshake times out */
        npush(n, arrival(s, n, c, 0, 0), EV_CONNECT, ci, 0, NULL, 0);
    return 0;
}

static void eio_random(void *ctx, uint8_t *buf, size_t len)
{
    struct snode *n = ctx;
    for (size_t i = 0; i < len; i += 8) {
        uint64_t v = rng_next(&n->rng);
        memcpy(buf + i, &v, len - i < 8 ? len - i : 8);
    }
}

static void eio_log(void *ctx, enum engine_log_level level, const char *event, const uint8_t *key,
                    const char *addr, const char *detail)
{
    (void)ctx, (void)level, (void)event, (void)key, (void)addr, (void)detail;
}

/* gossip must not be re-entered from its own io calls (as in node/shell/run.c). */
static void gossip_enter(struct snode *n)
{
    n->depth++;
}

static void gossip_leave(struct snode *n)
{
    assert(n->depth > 0);
    if (--n->depth > 0)
        return;
    for (uint32_t i = 0; i < world_degree(&n->sim->w, n->idx); i++)
        if (n->down_pending[i]) {
            n->down_pending[i] = false;
            gossip_peer_down(n->g, i);
        }
}

/* The oracle's look at every gossip message as it arrives (before the node sees it). */
static void oracle_watch(struct sim *s, struct snode *n, size_t peer, uint8_t type,
                         const uint8_t *body, size_t len)
{
    uint32_t link_in = s->w.off[n->idx] + (uint32_t)peer, from = s->w.adj[link_in];
    uint32_t link = s->w.rev[link_in];
    bool honest = s->w.byz[from] == 0;
    if (type == 16 + 0 || type == 16 + 1 || type == 16 + 2 || type == 16 + 3)
        part(n)->app_rx[type - 16] += len;
    if (len < 2 || (type != GOSSIP_MSG_RECORDS && type != GOSSIP_MSG_ANNOUNCE))
        return;
    size_t cnt = (size_t)body[0] << 8 | body[1], off = 2;
    for (size_t i = 0; i < cnt && off < len; i++) {
        int64_t ri;
        bool same = true;
        if (type == GOSSIP_MSG_ANNOUNCE) {
            if (off + 8 > len || !s->sc->oracle_announce)
                return;
            ri = oracle_find_sid(&s->o, body + off);
            off += 8;
        } else {
            if (off + 2 > len)
                return;
            size_t l = (size_t)body[off] << 8 | body[off + 1];
            off += 2;
            if (off + l > len)
                return;
            ri = oracle_find_signed(&s->o, body + off, l, &same);
            off += l;
        }
        if (!honest) {
            part(n)->byz_sent += type == GOSSIP_MSG_RECORDS;
            if (type == GOSSIP_MSG_RECORDS && ri >= 0 && same && s->o.recs[ri].genuine &&
                oracle_may_accept(&s->o, link, from, n->idx, &s->o.recs[ri]))
                oracle_expose(&s->o, (size_t)ri, n->idx);
            continue;
        }
        if (ri < 0 || !same) {
            node_fail(n, "honest node %u sent node %u a record it never had: not genuine", from,
                      n->idx);
            continue;
        }
        const struct orec *r = &s->o.recs[ri];
        if (!oracle_may_send(&s->o, link, from, n->idx, r))
            node_fail(n,
                      "node %u %s record #%lld (tlp %s, origin %u) to node %u, which the rules "
                      "do not allow",
                      from, type == GOSSIP_MSG_RECORDS ? "sent" : "announced", (long long)ri,
                      proto_tlp_name(r->tlp), r->origin, n->idx);
    }
}

static void deliver_gossip(struct snode *n, size_t peer, uint8_t type, const uint8_t *body,
                           size_t len)
{
    struct sim *s = n->sim;
    gossip_enter(n);
    gossip_on_message(n->g, peer, type, body, len, s->now, WALL0 + s->now);
    gossip_leave(n);
}

static void release_held(struct snode *n)
{
    if (n->held.body == NULL)
        return;
    struct held_msg h = n->held;
    n->held.body = NULL;
    deliver_gossip(n, h.peer, h.type, h.body, h.len);
    free(h.body);
}

static void eio_message(void *ctx, size_t peer, uint8_t type, const uint8_t *body, size_t len)
{
    struct snode *n = ctx;
    struct sim *s = n->sim;
    oracle_watch(s, n, peer, type, body, len);
    if (s->sc->reorder > 0 && n->held.body == NULL && rng_unit(&n->rng) < s->sc->reorder) {
        n->held.body = malloc(len ? len : 1);
        if (n->held.body != NULL) { /* held back: delivered after the next message */
            memcpy(n->held.body, body, len);
            n->held = (struct held_msg){n->held.body, len, peer, type};
            npush(n, s->now + HOLD_MS, EV_RELEASE, n->idx, ++n->held_gen, NULL, 0);
            return;
        }
    }
    deliver_gossip(n, peer, type, body, len);
    if (s->sc->dup > 0 && rng_unit(&n->rng) < s->sc->dup)
        deliver_gossip(n, peer, type, body, len);
    release_held(n);
}

static void peer_view(const struct sim *s, uint32_t a, uint32_t k, struct gate_peer *v)
{
    const struct world *w = &s->w;
    uint32_t link = w->off[a] + k, b = w->adj[link];
    memset(v, 0, sizeof *v);
    v->authenticated = true;
    memcpy(v->key, s->nodes[b].id.sign_pk, LIMIT_KEY_BYTES);
    memcpy(v->org, s->nodes[b].org, sizeof v->org);
    v->relation = w->client[link] ? GATE_RELATION_CLIENT : GATE_RELATION_PARTNER;
    v->ceiling = w->ceiling[link];
    for (unsigned c = 0; c < SIM_MAX_COMMUNITIES; c++)
        if (w->comm[b] >> c & 1)
            snprintf(v->communities[v->n_communities++], LIMIT_NAME_BYTES + 1, "c%u", c);
}

static void eio_peer_change(void *ctx, size_t peer, bool up)
{
    struct snode *n = ctx;
    if (!up && n->depth > 0) {
        n->down_pending[peer] = true;
    } else if (!up) {
        gossip_peer_down(n->g, peer);
    } else {
        struct gate_peer view;
        peer_view(n->sim, n->idx, (uint32_t)peer, &view);
        part(n)->sessions_opened++;
        gossip_enter(n);
        gossip_peer_up(n->g, peer, &view, n->sim->now);
        gossip_leave(n);
    }
}

/* --- gossip io --- */

static int gio_send(void *ctx, size_t peer, uint8_t type, const uint8_t *body, size_t len)
{
    struct snode *n = ctx;
    return engine_send(&n->e, peer, type, body, len, n->sim->now);
}

static size_t gio_backlog(void *ctx, size_t peer)
{
    struct snode *n = ctx;
    engine_conn h;
    int side;
    if (!engine_peer_conn(&n->e, peer, &h))
        return 0;
    struct sconn *c = conn_of(n, h, &side);
    return c ? c->out_len[side] + c->inflight[side] : 0;
}

static void gio_close_peer(void *ctx, size_t peer, int err)
{
    struct snode *n = ctx;
    (void)err;
    n->close_req[peer] = true;
}

static void gio_verify(void *ctx, struct gossip_job *job)
{
    struct snode *n = ctx;
    job->user = n->jobs; /* run at this node's next turn, as node/shell/run.c does refused jobs */
    n->jobs = job;
}

int sim_delays_add(struct sim_stats_tlp *st, uint32_t ms)
{
    if (st->delays_n == st->delays_cap) {
        size_t cap = st->delays_cap ? st->delays_cap * 2 : 4096;
        uint32_t *nd = realloc(st->delays, cap * sizeof *nd);
        if (nd == NULL)
            return SIM_E_NOMEM;
        st->delays = nd;
        st->delays_cap = cap;
    }
    st->delays[st->delays_n++] = ms;
    return SIM_OK;
}

static void gio_stored(void *ctx, const uint8_t id[LIMIT_ID_BYTES], uint8_t kind)
{
    struct snode *n = ctx;
    struct sim *s = n->sim;
    (void)kind;
    int64_t ri = oracle_find_id(&s->o, id);
    if (ri < 0 || !s->o.recs[ri].genuine) {
        part(n)->byz_accepted++;
        node_fail(n, "node %u accepted record %02x%02x%02x%02x... that is forged or mutated",
                  n->idx, id[0], id[1], id[2], id[3]);
        return;
    }
    const struct orec *o = &s->o.recs[ri];
    if (!bit_test(s->o.entitled + (size_t)ri * s->o.words, n->idx)) {
        node_fail(n,
                  "node %u stored record #%lld %02x%02x%02x%02x... (tlp %s, origin %u) it is "
                  "not entitled to",
                  n->idx, (long long)ri, id[0], id[1], id[2], id[3], proto_tlp_name(o->tlp),
                  o->origin);
        return;
    }
    /* other threads set other nodes' bits of the same word */
    uint64_t bit = (uint64_t)1 << (n->idx % 64);
    uint64_t *word = s->o.holders + (size_t)ri * s->o.words + n->idx / 64;
    if (__atomic_fetch_or(word, bit, __ATOMIC_RELAXED) & bit)
        return;
    if (sim_delays_add(&part(n)->tlp[o->tlp], (uint32_t)(s->now - o->published)) < 0)
        n->w->err = SIM_E_NOMEM;
    part(n)->deliveries++;
}

static void gio_log(void *ctx, enum gossip_log_level level, size_t peer, const char *line)
{
    (void)ctx, (void)level, (void)peer, (void)line;
}

/* --- the shared verification cache: equal bytes, equal answer --- */

/* Entries are filled, then published by a release store of bytes; readers take no lock, and a
 * reader that misses an entry being added only verifies once more. Entries are never removed. */
static const struct vcache_entry *vc_find(struct sim *s, const uint8_t *body, size_t len,
                                          const uint8_t sig[LIMIT_SIG_BYTES], size_t *slot)
{
    uint64_t k;
    memcpy(&k, sig, sizeof k);
    size_t mask = s->vc_cap - 1, i = (size_t)(k * 0x9e3779b97f4a7c15ull >> 17) & mask;
    for (uint8_t *b; (b = __atomic_load_n(&s->vc[i].bytes, __ATOMIC_ACQUIRE)) != NULL;
         i = (i + 1) & mask) {
        const struct vcache_entry *e = &s->vc[i];
        if (e->len == len + LIMIT_SIG_BYTES && memcmp(b, sig, LIMIT_SIG_BYTES) == 0 &&
            memcmp(b + LIMIT_SIG_BYTES, body, len) == 0)
            return e;
    }
    *slot = i;
    return NULL;
}

static void vc_add(struct sim *s, const uint8_t *body, size_t len,
                   const uint8_t sig[LIMIT_SIG_BYTES], int result)
{
    pthread_mutex_lock(&s->vc_lock);
    size_t i;
    uint8_t *b = NULL;
    if (vc_find(s, body, len, sig, &i) == NULL && s->vc_n < s->vc_cap / 2 &&
        (b = malloc(len + LIMIT_SIG_BYTES)) != NULL) {
        memcpy(b, sig, LIMIT_SIG_BYTES);
        memcpy(b + LIMIT_SIG_BYTES, body, len);
        s->vc[i].len = (uint32_t)(len + LIMIT_SIG_BYTES);
        s->vc[i].result = result;
        __atomic_store_n(&s->vc[i].bytes, b, __ATOMIC_RELEASE);
        s->vc_n++;
    } else if (b == NULL && s->vc_n >= s->vc_cap / 2) {
        s->vc_full++;
    }
    pthread_mutex_unlock(&s->vc_lock);
}

/* Answers counted as cached after the run: calls - distinct bytes verified (the same figure on
 * any number of threads, even when two of them verified the same bytes at once). */
static int cached_verify(void *ctx, const uint8_t *body, size_t len,
                         const uint8_t sig[LIMIT_SIG_BYTES], const uint8_t origin[LIMIT_KEY_BYTES])
{
    struct snode *n = ctx;
    struct sim *s = n->sim;
    part(n)->verify_calls++;
    size_t slot;
    const struct vcache_entry *e = vc_find(s, body, len, sig, &slot);
    if (e != NULL)
        return e->result;
    int result = proto_record_verify(body, len, sig, origin);
    vc_add(s, body, len, sig, result);
    return result;
}

/* --- nodes --- */

/* One loop turn of node n, as node/shell/run.c's prepare callback. */
static void node_turn(struct sim *s, struct snode *n)
{
    uint32_t deg = world_degree(&s->w, n->idx);
    if (n->running) {
        gossip_enter(n);
        for (uint32_t i = 0; i < deg; i++)
            if (n->close_req[i]) {
                n->close_req[i] = false;
                engine_close_peer(&n->e, i);
            }
        while (n->jobs != NULL) {
            struct gossip_job *job = n->jobs;
            n->jobs = job->user;
            if (s->sc->verify_cache)
                gossip_job_run_with(job, cached_verify, n);
            else
                gossip_job_run(job);
            gossip_on_verified(n->g, job, s->now, WALL0 + s->now);
        }
        if (gossip_flush(n->g, s->now, WALL0 + s->now) < 0)
            n->w->err = SIM_E_ENGINE;
        gossip_leave(n);
    }
    flush_node(s, n);
    if (!n->running)
        return;
    uint64_t next = engine_next_deadline(&n->e), gnext = gossip_next_deadline(n->g);
    next = gnext < next ? gnext : next;
    if (next != UINT64_MAX && next <= s->now)
        next = s->now + 1;
    if (next != n->timer_at) {
        n->timer_at = next;
        n->timer_gen++;
        if (next != UINT64_MAX)
            npush(n, next, EV_TIMER, n->idx, n->timer_gen, NULL, 0);
    }
}

static int node_start(struct sim *s, struct snode *n)
{
    const struct world *w = &s->w;
    uint32_t deg = world_degree(w, n->idx);
    uint8_t key[GOSSIP_HASH_KEY_BYTES];
    eio_random(n, key, sizeof key);
    if (!n->ms_ready) {
        if (memstore_init_shared(&n->ms, key, &s->pool) < 0)
            return SIM_E_NOMEM;
        n->ms_ready = true;
    }
    struct engine_params ep = {.id = &n->id, .network = "simnet", .max_peers = deg,
                               .max_conns = 2 * (size_t)deg + 4, .rate_addrs = deg + 4,
                               .scratch = n->w->scratch};
    struct engine_io io = {n, eio_send, eio_close, eio_dial, eio_random, eio_log, eio_message,
                           eio_peer_change};
    if (engine_init(&n->e, &ep, &io) < 0)
        return SIM_E_NOMEM;
    n->engine_ready = true;
    n->slot_conn = calloc(n->e.max_conns, sizeof *n->slot_conn);
    n->close_req = calloc(deg, 1);
    n->down_pending = calloc(deg, 1);
    if (!n->slot_conn || !n->close_req || !n->down_pending)
        return SIM_E_NOMEM;
    struct gossip_params gp = {.max_peers = deg, .recent_cap = 2048, .cand_cap = SIM_CAND_CAP,
                               .want_cap = 512, .announce_cap = 1024,
                               .start_seq = memstore_last_seq(&n->ms)};
    memcpy(gp.self.key, n->id.sign_pk, LIMIT_KEY_BYTES);
    memcpy(gp.self.org, n->org, sizeof gp.self.org);
    for (unsigned c = 0; c < SIM_MAX_COMMUNITIES; c++)
        if (w->comm[n->idx] >> c & 1)
            snprintf(gp.self.communities[gp.self.n_communities++], LIMIT_NAME_BYTES + 1, "c%u", c);
    memcpy(gp.hash_key, key, sizeof key);
    struct gossip_store_ops ops;
    memstore_gossip_ops(&n->ms, &ops);
    struct gossip_io gio = {.ctx = n, .send = gio_send, .backlog = gio_backlog,
                            .close_peer = gio_close_peer, .verify = gio_verify,
                            .stored = gio_stored, .log = gio_log};
    if (gossip_new(&n->g, &gp, &ops, &gio) < 0)
        return SIM_E_NOMEM;
    struct engine_peer_conf *pc = calloc(deg ? deg : 1, sizeof *pc);
    if (pc == NULL)
        return SIM_E_NOMEM;
    for (uint32_t k = 0; k < deg; k++) {
        uint32_t b = w->adj[w->off[n->idx] + k];
        memcpy(pc[k].key, s->nodes[b].id.sign_pk, LIMIT_KEY_BYTES);
        snprintf(pc[k].name, sizeof pc[k].name, "n%u", b);
        memcpy(pc[k].org, s->nodes[b].org, sizeof pc[k].org);
        if (n->idx < b) { /* the smaller index dials; the other only accepts */
            snprintf(pc[k].host, sizeof pc[k].host, "n%u", b);
            pc[k].port = SIM_PORT;
        }
    }
    int rc = engine_set_peers(&n->e, pc, deg, s->now);
    free(pc);
    if (rc < 0)
        return SIM_E_ENGINE;
    n->running = true;
    n->timer_at = UINT64_MAX;
    mark_dirty(s, n);
    return SIM_OK;
}

static void add_gossip_totals(struct sim *s, const struct snode *n)
{
    const struct gossip_stats *g = gossip_stats(n->g);
    s->gone.duplicates += g->duplicates;
    s->gone.verify_forged += g->verify_forged;
    s->gone.verify_malformed += g->verify_malformed;
    s->gone.refused_inbound += g->refused_inbound;
    for (uint32_t k = 0; k < world_degree(&s->w, n->idx); k++) {
        const struct gossip_peer_stats *p = gossip_peer_stats(n->g, k);
        for (int v = GATE_ALLOW + 1; p && v < GATE_VERDICT_COUNT; v++)
            s->gone_refused += v == GATE_DENY_PEER_HAS ? 0 : p->refused[v];
        s->gone_recon += p ? p->recon_bytes_in : 0;
    }
}

/* A crash: the peers see their connections reset; the store is kept or wiped. */
static void node_stop(struct sim *s, struct snode *n, bool wipe)
{
    if (!n->running)
        return;
    while (n->jobs != NULL) { /* hand back unfinished jobs: gossip_free needs them home */
        struct gossip_job *job = n->jobs;
        n->jobs = job->user;
        gossip_job_run(job);
        gossip_on_verified(n->g, job, s->now, WALL0 + s->now);
    }
    for (size_t ci = 0; ci < s->n_conns; ci++) {
        struct sconn *c = &s->conns[ci];
        for (int side = 0; c->used && side < 2; side++) {
            if (c->node[side] != n->idx || !c->open[side])
                continue;
            side_forget(s, (uint32_t)ci, side);
            c->out_len[side] = 0;
            c->fin[side] = true;
            if (!c->queued[side])
                queue_flush(n, (uint32_t)ci, side);
        }
    }
    flush_node(s, n);
    add_gossip_totals(s, n);
    free(n->held.body);
    n->held.body = NULL;
    gossip_free(n->g);
    n->g = NULL;
    engine_free(&n->e);
    n->engine_ready = false;
    free(n->slot_conn);
    free(n->close_req);
    free(n->down_pending);
    n->slot_conn = NULL;
    n->close_req = n->down_pending = NULL;
    n->running = false;
    n->timer_gen++;
    n->timer_at = UINT64_MAX;
    if (wipe) {
        memstore_free(&n->ms);
        n->ms_ready = false;
        for (size_t r = 0; r < s->o.n; r++) /* what it held is gone */
            s->o.holders[r * s->o.words + n->idx / 64] &= ~((uint64_t)1 << (n->idx % 64));
    }
}

/* --- records --- */

static uint8_t pick_tlp(struct sim *s)
{
    uint64_t total = 0;
    for (int t = 0; t < PROTO_TLP_COUNT; t++)
        total += s->sc->tlp_mix[t];
    uint64_t x = rng_below(&s->pub_rng, total ? total : 1);
    for (int t = 0; t < PROTO_TLP_COUNT; t++) {
        if (x < s->sc->tlp_mix[t])
            return (uint8_t)t;
        x -= s->sc->tlp_mix[t];
    }
    return PROTO_TLP_CLEAR;
}

/* The audience the generator gives a record of origin a: GREEN/AMBER/AMBER+STRICT one of the
 * origin's communities (none: the whole network); RED up to three neighbours and one node
 * anywhere (often unreachable through recipients: entitlement is by chains of allowed links). */
static void pick_audience(struct sim *s, uint32_t a, struct orec *o, struct proto_record *r)
{
    const struct world *w = &s->w;
    if (o->tlp == PROTO_TLP_RED) {
        uint32_t deg = world_degree(w, a), want = deg < 3 ? deg : 3;
        for (uint32_t i = 0; i < want; i++)
            o->recip[o->n_recip++] = w->adj[w->off[a] + rng_below(&s->pub_rng, deg)];
        o->recip[o->n_recip++] = (uint32_t)rng_below(&s->pub_rng, w->n);
        for (unsigned i = 0; i < o->n_recip; i++)
            memcpy(r->audience.recipients[i], s->nodes[o->recip[i]].id.sign_pk, LIMIT_KEY_BYTES);
        r->audience.n_recipients = o->n_recip;
    } else if (o->tlp != PROTO_TLP_CLEAR && w->comm[a] != 0) {
        unsigned pick = (unsigned)rng_below(&s->pub_rng, (uint64_t)__builtin_popcountll(w->comm[a]));
        for (unsigned c = 0; c < SIM_MAX_COMMUNITIES; c++)
            if (w->comm[a] >> c & 1 && pick-- == 0) {
                o->comm = (uint64_t)1 << c;
                snprintf(r->audience.communities[0], LIMIT_NAME_BYTES + 1, "c%u", c);
                r->audience.n_communities = 1;
                break;
            }
    }
    proto_record_normalise_sets(r);
    /* the oracle's copy: recipients as node indexes, duplicates removed */
    unsigned k = 0;
    for (unsigned i = 0; i < o->n_recip; i++) {
        bool dup = false;
        for (unsigned j = 0; j < k; j++)
            dup |= o->recip[j] == o->recip[i];
        if (!dup)
            o->recip[k++] = o->recip[i];
    }
    o->n_recip = (uint8_t)k;
}

/* Signs record number i of origin a into s->buf; returns its length. */
static size_t make_record(struct sim *s, uint32_t a, uint64_t i, struct orec *o)
{
    struct proto_record *r = s->rec;
    memset(r, 0, sizeof *r);
    r->version = PROTO_RECORD_VERSION;
    r->kind = PROTO_KIND_INDICATOR;
    r->tlp = o->tlp;
    r->created_ms = WALL0 + s->now;
    memcpy(r->origin, s->nodes[a].id.sign_pk, LIMIT_KEY_BYTES);
    pick_audience(s, a, o, r);
    r->u.ind.type = PROTO_ITYPE_SHA256;
    r->u.ind.confidence = 50;
    r->u.ind.valid_until_ms = WALL0 + 86400000ull * 365;
    uint8_t h[32], in[16];
    memcpy(in, &s->sc->seed, 8);
    memcpy(in + 8, &i, 8);
    crypto_generichash(h, sizeof h, in, sizeof in, NULL, 0);
    sodium_bin2hex(r->u.ind.value, sizeof r->u.ind.value, h, sizeof h);
    size_t pad = s->sc->record_pad < LIMIT_COMMENT_BYTES ? s->sc->record_pad : LIMIT_COMMENT_BYTES;
    memset(r->u.ind.comment, 'x', pad);
    int blen = proto_record_encode(r, s->buf + LIMIT_SIG_BYTES, LIMIT_RECORD_BYTES);
    assert(blen > 0);
    proto_record_sign(s->buf + LIMIT_SIG_BYTES, (size_t)blen, s->nodes[a].id.sign_sk, s->buf);
    proto_record_id(s->buf + LIMIT_SIG_BYTES, (size_t)blen, o->id);
    return LIMIT_SIG_BYTES + (size_t)blen;
}

/* Room for one commit of every node in a step: their puts find every record pooled (only
 * publications, which run alone, add genuine records), so they only read the shared pool. */
static int pool_headroom(struct sim *s)
{
    return memstore_pool_reserve(&s->pool, SIM_CAND_CAP,
                                 SIM_CAND_CAP * (LIMIT_SIG_BYTES + LIMIT_RECORD_BYTES)) < 0
               ? SIM_E_NOMEM
               : SIM_OK;
}

static void publish(struct sim *s, uint64_t i)
{
    uint32_t a = (uint32_t)rng_below(&s->pub_rng, s->w.n);
    for (uint32_t k = 0; k < s->w.n && (!s->nodes[a].running || s->w.byz[a]); k++)
        a = (a + 1) % s->w.n; /* honest, running origins only */
    struct snode *n = &s->nodes[a];
    if (!n->running)
        return;
    struct orec o = {.tlp = pick_tlp(s), .genuine = true, .origin = a, .published = s->now};
    size_t len = make_record(s, a, i, &o);
    o.bytes = malloc(len);
    if (o.bytes == NULL) {
        s->err = SIM_E_NOMEM;
        return;
    }
    memcpy(o.bytes, s->buf, len);
    o.len = (uint32_t)len;
    int64_t ri = oracle_add(&s->o, &o);
    if (ri < 0) {
        free(o.bytes);
        s->err = SIM_E_NOMEM;
        return;
    }
    oracle_entitle(&s->o, (size_t)ri, NULL);
    bit_put(s->o.holders + (size_t)ri * s->o.words, a);
    struct sim_stats_tlp *st = &s->res->tlp[o.tlp];
    st->records++;
    s->res->records_published++;
    s->res->record_bytes_total += len;
    struct store_put put = {.signed_rec = o.bytes, .len = len};
    memcpy(put.id, o.id, LIMIT_ID_BYTES);
    if (memstore_put_batch(&n->ms, &put, 1) < 0 || put.result != STORE_PUT_ADDED) {
        s->err = SIM_E_ENGINE;
        return;
    }
    if (pool_headroom(s) < 0)
        s->err = SIM_E_NOMEM;
    gossip_enter(n);
    gossip_local_scan(n->g, s->now, WALL0 + s->now); /* as `tlpmesh publish` + records-added */
    gossip_leave(n);
    mark_dirty(s, n);
}

/* --- byzantine nodes --- */

/* Appends one signed record to a RECORDS message being built in buf. */
static void msg_add(uint8_t *buf, size_t *len, const uint8_t *rec, size_t rlen)
{
    uint16_t cnt = (uint16_t)(buf[0] << 8 | buf[1]);
    if (*len + 2 + rlen > SESSION_MAX_BODY || cnt == 0xffff)
        return;
    buf[*len] = (uint8_t)(rlen >> 8);
    buf[*len + 1] = (uint8_t)rlen;
    memcpy(buf + *len + 2, rec, rlen);
    *len += 2 + rlen;
    cnt++;
    buf[0] = (uint8_t)(cnt >> 8);
    buf[1] = (uint8_t)cnt;
}

/* A record node a holds, picked at random (-1 when none is found quickly). */
static int64_t held_record(struct sim *s, struct snode *n, uint8_t min_tlp)
{
    for (int tries = 0; tries < 64 && s->o.n > 0; tries++) {
        size_t ri = rng_below(&n->rng, s->o.n);
        if (s->o.recs[ri].genuine && s->o.recs[ri].tlp >= min_tlp &&
            bit_test(s->o.holders + ri * s->o.words, n->idx))
            return (int64_t)ri;
    }
    return -1;
}

/* A record of an honest origin with a random signature. */
static size_t forge(struct sim *s, struct snode *n, uint8_t *out)
{
    uint32_t victim = (uint32_t)rng_below(&n->rng, s->w.n);
    struct orec o = {.tlp = PROTO_TLP_CLEAR};
    size_t len = make_record(s, victim, rng_next(&n->rng), &o);
    memcpy(out, s->buf, len);
    eio_random(n, out, LIMIT_SIG_BYTES);
    return len;
}

/* A held record with its TLP lowered to CLEAR and audience dropped, the signature kept. */
static size_t relabel(struct sim *s, struct snode *n, uint8_t *out)
{
    int64_t ri = held_record(s, n, PROTO_TLP_GREEN);
    if (ri < 0)
        return 0;
    const struct orec *o = &s->o.recs[ri];
    if (proto_record_decode(o->bytes + LIMIT_SIG_BYTES, o->len - LIMIT_SIG_BYTES, s->rec, NULL,
                            0) != PROTO_OK)
        return 0;
    s->rec->tlp = PROTO_TLP_CLEAR;
    memset(&s->rec->audience, 0, sizeof s->rec->audience);
    int blen = proto_record_encode(s->rec, out + LIMIT_SIG_BYTES, LIMIT_RECORD_BYTES);
    if (blen <= 0)
        return 0;
    memcpy(out, o->bytes, LIMIT_SIG_BYTES);
    return LIMIT_SIG_BYTES + (size_t)blen;
}

static void byz_tick(struct sim *s, struct snode *n)
{
    uint8_t mode = s->w.byz[n->idx];
    static uint8_t msg[SESSION_MAX_BODY], rec[LIMIT_SIG_BYTES + LIMIT_RECORD_BYTES];
    uint32_t deg = world_degree(&s->w, n->idx);
    for (uint32_t k = 0; k < deg && n->running; k++) {
        engine_conn h;
        if (!engine_peer_conn(&n->e, k, &h))
            continue;
        size_t len = 2;
        msg[0] = msg[1] = 0;
        uint32_t to = s->w.adj[s->w.off[n->idx] + k];
        if (mode & SIM_BYZ_FORGE)
            msg_add(msg, &len, rec, forge(s, n, rec));
        size_t rl = mode & SIM_BYZ_RELABEL ? relabel(s, n, rec) : 0;
        if (rl > 0)
            msg_add(msg, &len, rec, rl);
        unsigned batch = mode & SIM_BYZ_FLOOD ? FLOOD_BATCH : mode & SIM_BYZ_REPLAY ? BYZ_BATCH : 0;
        for (unsigned i = 0; i < batch; i++) {
            int64_t ri = held_record(s, n, PROTO_TLP_CLEAR);
            if (ri >= 0)
                msg_add(msg, &len, s->o.recs[ri].bytes, s->o.recs[ri].len);
        }
        for (unsigned i = 0; (mode & SIM_BYZ_AUDIENCE) && i < BYZ_BATCH; i++) {
            int64_t ri = held_record(s, n, PROTO_TLP_GREEN);
            if (ri >= 0 && !oracle_may_send(&s->o, s->w.off[n->idx] + k, n->idx, to,
                                            &s->o.recs[ri]))
                msg_add(msg, &len, s->o.recs[ri].bytes, s->o.recs[ri].len);
        }
        if (len > 2)
            engine_send(&n->e, k, GOSSIP_MSG_RECORDS, msg, len, s->now);
    }
    mark_dirty(s, n);
    push(s, s->now + (mode & SIM_BYZ_FLOOD ? FLOOD_INTERVAL_MS : BYZ_INTERVAL_MS), EV_BYZ,
         n->idx, 0, NULL, 0);
}

/* --- scenario actions --- */

static void action(struct sim *s, const struct sim_action_ev *a)
{
    s->action_last = s->now;
    switch (a->act) {
    case SIM_ACT_SPLIT:
        s->split_on = true;
        for (uint32_t i = 0; i < s->w.n; i++)
            s->side[i] = i < (uint32_t)(a->frac * s->w.n);
        break;
    case SIM_ACT_ISOLATE: s->isolated = a->a; break;
    case SIM_ACT_ONEWAY: {
        void *no = realloc(s->oneway, (s->n_oneway + 1) * sizeof *s->oneway);
        if (no == NULL) {
            s->err = SIM_E_NOMEM;
            return;
        }
        s->oneway = no;
        s->oneway[s->n_oneway][0] = a->a;
        s->oneway[s->n_oneway++][1] = a->b;
        break;
    }
    case SIM_ACT_HEAL:
        s->split_on = false;
        s->isolated = -1;
        s->n_oneway = 0;
        break;
    case SIM_ACT_STOP: node_stop(s, &s->nodes[a->a], a->b != 0); break;
    case SIM_ACT_START:
        if (!s->nodes[a->a].running && node_start(s, &s->nodes[a->a]) < 0)
            s->err = SIM_E_ENGINE;
        break;
    }
    s->settle_until = s->now + s->sc->settle_ms;
}

/* --- dispatch --- */

static void on_connect(struct sim *s, uint32_t ci)
{
    struct sconn *c = &s->conns[ci];
    struct snode *acc = &s->nodes[c->node[1]];
    if (!c->open[0])
        return; /* the dialler gave up already */
    if (!acc->running) { /* connection refused: RST */
        npush(acc, s->now + s->w.model[c->link[1]].latency_ms, EV_FIN, ci, 1, NULL, 0);
        return;
    }
    char ip[32];
    snprintf(ip, sizeof ip, "10.%u.%u.%u", c->node[0] >> 16 & 255, c->node[0] >> 8 & 255,
             c->node[0] & 255);
    int64_t h = engine_on_accept(&acc->e, ip, (uint16_t)(40000 + ci % 20000), s->now);
    mark_dirty(s, acc);
    if (h < 0) {
        npush(acc, s->now + s->w.model[c->link[1]].latency_ms, EV_FIN, ci, 1, NULL, 0);
        return;
    }
    c->h[1] = (engine_conn)h;
    c->open[1] = true;
    acc->slot_conn[(uint64_t)h & 0xffffffffu] = ci + 1;
    if (!blocked(s, c->node[1], c->node[0]))
        npush(acc, arrival(s, acc, c, 1, 0), EV_CONNECTED, ci, 0, NULL, 0);
}

/* The node an event is for, or NIL32 for the simulator's own (publications, scenario actions,
 * byzantine ticks), which run alone before the step's nodes. */
static uint32_t ev_node(const struct sim *s, const struct ev *e)
{
    switch ((enum ev_type)e->type) {
    case EV_CONNECT: return s->conns[e->a].node[1];
    case EV_CONNECTED: return s->conns[e->a].node[0];
    case EV_DATA:
    case EV_FIN: return s->conns[e->a].node[1 - e->b];
    case EV_TIMER:
    case EV_RELEASE: return e->a;
    case EV_PUBLISH:
    case EV_ACTION:
    case EV_BYZ: break;
    }
    return NIL32;
}

/* One event of node n, in a step (on any worker). */
static void dispatch_node(struct sim *s, struct snode *n, struct ev *e)
{
    struct sconn *c = e->type <= EV_FIN ? &s->conns[e->a] : NULL;
    switch ((enum ev_type)e->type) {
    case EV_CONNECT: on_connect(s, e->a); break;
    case EV_CONNECTED:
        if (c->open[0]) {
            engine_on_connected(&n->e, c->h[0], s->now);
            mark_dirty(s, n);
        }
        break;
    case EV_DATA: {
        int to = 1 - (int)e->b;
        if (c->open[to] && n->running) {
            n->rx += e->len;
            part(n)->bytes_rx += e->len;
            engine_on_data(&n->e, c->h[to], e->data, e->len, s->now);
            mark_dirty(s, n);
        }
        free(e->data);
        break;
    }
    case EV_FIN: {
        int to = 1 - (int)e->b;
        if (c->open[to] && n->running) {
            engine_conn h = c->h[to];
            side_forget(s, e->a, to);
            engine_on_closed(&n->e, h, s->now);
            mark_dirty(s, n);
        }
        break;
    }
    case EV_TIMER:
        if (n->running && e->b == n->timer_gen) {
            n->timer_at = UINT64_MAX;
            engine_tick(&n->e, s->now);
            mark_dirty(s, n);
        }
        break;
    case EV_RELEASE:
        if (n->running && e->b == n->held_gen && n->held.body != NULL) {
            release_held(n);
            mark_dirty(s, n);
        }
        break;
    case EV_PUBLISH:
    case EV_ACTION:
    case EV_BYZ: assert(!"not a node event"); break;
    }
    if (c != NULL && closing(c))
        release_later(n, e->a);
}

/* The simulator's own events, before the step's nodes run. */
static void dispatch_sim(struct sim *s, struct ev *e)
{
    switch ((enum ev_type)e->type) {
    case EV_PUBLISH:
        s->published++;
        publish(s, e->a);
        break;
    case EV_ACTION:
        s->actions_left--;
        action(s, &s->sc->events[e->a]);
        break;
    case EV_BYZ:
        if (s->published == s->sc->records && s->actions_left == 0) {
            /* the attack ends with the honest traffic, so that the run can settle */
            if (s->settle_until < s->now + s->sc->settle_ms)
                s->settle_until = s->now + s->sc->settle_ms;
        } else if (s->nodes[e->a].running) {
            byz_tick(s, &s->nodes[e->a]);
        } else {
            push(s, s->now + BYZ_INTERVAL_MS, EV_BYZ, e->a, 0, NULL, 0);
        }
        break;
    default: assert(!"a node event"); break;
    }
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* Done: everything published, every action taken and settled, nothing on the wire, every
 * running node's gossip idle and every link that can be up is up. */
static bool quiescent(struct sim *s)
{
    if (s->net_events > 0 || s->actions_left > 0 || s->published < s->sc->records ||
        s->now < s->settle_until)
        return false;
    for (uint32_t a = 0; a < s->w.n; a++) {
        struct snode *n = &s->nodes[a];
        if (!n->running)
            continue;
        if (n->jobs || !gossip_idle(n->g))
            return false;
        for (uint32_t k = 0; k < world_degree(&s->w, a); k++) {
            uint32_t b = s->w.adj[s->w.off[a] + k];
            engine_conn h;
            if (s->nodes[b].running && !blocked(s, a, b) && !blocked(s, b, a) &&
                !engine_peer_conn(&n->e, k, &h))
                return false;
        }
    }
    return true;
}

/* --- steps --- */

static void activate(struct sim *s, struct snode *n, uint32_t ev)
{
    if (!n->active) {
        n->active = true;
        n->ev_head = NIL32;
        s->active[s->n_active++] = n->idx;
    }
    if (ev == NIL32)
        return;
    if (n->ev_head == NIL32)
        n->ev_head = ev;
    else
        s->sev[n->ev_tail].next = ev;
    n->ev_tail = ev;
}

/* Nodes the simulator's own events touched (publications, starts) run in this step too. */
static void take_dirty(struct sim *s)
{
    for (size_t i = 0; i < s->n_dirty; i++)
        activate(s, &s->nodes[s->dirty[i]], NIL32);
    s->n_dirty = 0;
    qsort(s->active, s->n_active, sizeof *s->active, cmp_u32);
}

/* Takes the events due now: counts them (trace, wire, connection references), runs the
 * simulator's own and files the others under their node. */
static int take_events(struct sim *s)
{
    struct ev e;
    while (s->err == SIM_OK && evq_pop_now(&s->q, &e)) {
        trace_ev(s, &e);
        if (e.type <= EV_FIN) {
            struct sconn *c = &s->conns[e.a];
            s->net_events--;
            c->refs--;
            if (e.type == EV_DATA)
                c->inflight[e.b] -= e.len;
            if (closing(c) && !grow((void **)&s->rel, &s->cap_rel, s->n_rel, sizeof *s->rel))
                return SIM_E_NOMEM;
            if (closing(c))
                s->rel[s->n_rel++] = e.a;
        }
        uint32_t a = ev_node(s, &e);
        if (a == NIL32) {
            dispatch_sim(s, &e);
            continue;
        }
        if (!grow((void **)&s->sev, &s->cap_sev, s->n_sev, sizeof *s->sev))
            return SIM_E_NOMEM;
        s->sev[s->n_sev] = (struct step_ev){e, NIL32};
        activate(s, &s->nodes[a], (uint32_t)s->n_sev++);
    }
    take_dirty(s);
    return SIM_OK;
}

static void run_node(struct sim *s, struct snode *n)
{
    for (uint32_t k = n->ev_head; k != NIL32; k = s->sev[k].next)
        dispatch_node(s, n, &s->sev[k].e);
    if (n->dirty) {
        n->dirty = false;
        node_turn(s, n);
    }
}

/* Node n runs in worker w's context: its scratch, its lists, its counters. */
static void run_node_on(struct worker *w, struct snode *n)
{
    n->w = w;
    if (n->engine_ready)
        engine_set_scratch(&n->e, w->scratch);
    run_node(w->s, n);
}

/* Workers take the step's nodes one at a time from a shared cursor, so each worker's nodes (and
 * what they stage) come in node order, whichever worker is faster. */
static void run_share(struct worker *w)
{
    struct sim *s = w->s;
    for (;;) {
        size_t i = __atomic_fetch_add(&s->next_active, 1, __ATOMIC_RELAXED);
        if (i >= s->n_active)
            return;
        run_node_on(w, &s->nodes[s->active[i]]);
    }
}

/* Steps follow each other within microseconds: a thread polls a while before it sleeps. */
static bool poll_for(const uint64_t *v, uint64_t x, bool equal)
{
    for (unsigned i = 0; i < SPIN_POLLS; i++)
        if ((__atomic_load_n(v, __ATOMIC_ACQUIRE) == x) == equal)
            return true;
    return false;
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct sim *s = w->s;
    uint64_t seen = 0;
    for (;;) {
        if (!poll_for(&s->step_gen, seen, false)) {
            pthread_mutex_lock(&s->gate);
            while (__atomic_load_n(&s->step_gen, __ATOMIC_ACQUIRE) == seen)
                pthread_cond_wait(&s->start_cv, &s->gate);
            pthread_mutex_unlock(&s->gate);
        }
        seen = __atomic_load_n(&s->step_gen, __ATOMIC_ACQUIRE);
        if (__atomic_load_n(&s->quit, __ATOMIC_ACQUIRE))
            return NULL;
        run_share(w);
        if (__atomic_sub_fetch(&s->step_left, 1, __ATOMIC_ACQ_REL) == 0) {
            pthread_mutex_lock(&s->gate); /* the main thread may be about to sleep */
            pthread_cond_signal(&s->done_cv);
            pthread_mutex_unlock(&s->gate);
        }
    }
}

/* One step on every thread, this one included. */
static void run_parallel(struct sim *s)
{
    s->next_active = 0;
    __atomic_store_n(&s->step_left, s->n_threads - 1, __ATOMIC_RELAXED);
    pthread_mutex_lock(&s->gate);
    __atomic_add_fetch(&s->step_gen, 1, __ATOMIC_RELEASE);
    pthread_cond_broadcast(&s->start_cv);
    pthread_mutex_unlock(&s->gate);
    run_share(&s->workers[0]);
    if (!poll_for(&s->step_left, 0, true)) {
        pthread_mutex_lock(&s->gate);
        while (__atomic_load_n(&s->step_left, __ATOMIC_ACQUIRE) != 0)
            pthread_cond_wait(&s->done_cv, &s->gate);
        pthread_mutex_unlock(&s->gate);
    }
}

/* What the step's nodes sent, into the queue in node order (each worker's list is already). */
static void merge_sends(struct sim *s)
{
    size_t at[MAX_WORKERS] = {0};
    for (;;) {
        struct worker *best = NULL;
        for (unsigned i = 0; i < s->n_workers; i++) {
            struct worker *w = &s->workers[i];
            if (at[i] < w->n_ev &&
                (best == NULL || w->ev[at[i]].node < best->ev[at[best->idx]].node))
                best = w;
        }
        if (best == NULL)
            break;
        const struct ev *e = &best->ev[at[best->idx]++].e;
        enqueue(s, e->t, e->type, e->a, e->b, e->data, e->len);
    }
    for (unsigned i = 0; i < s->n_workers; i++) {
        s->net_events += s->workers[i].net_events;
        s->workers[i].net_events = 0;
        s->workers[i].n_ev = 0;
    }
}

static int add_part(struct sim_result *r, struct sim_result *p)
{
    r->bytes_rx += p->bytes_rx;
    r->bytes_tx += p->bytes_tx;
    for (int k = 0; k < 4; k++)
        r->app_rx[k] += p->app_rx[k];
    r->verify_calls += p->verify_calls;
    r->sessions_opened += p->sessions_opened;
    r->byz_sent += p->byz_sent;
    r->byz_accepted += p->byz_accepted;
    r->deliveries += p->deliveries;
    int rc = SIM_OK;
    for (int t = 0; t < PROTO_TLP_COUNT; t++) {
        struct sim_stats_tlp *st = &p->tlp[t];
        for (size_t i = 0; i < st->delays_n && rc == SIM_OK; i++)
            rc = sim_delays_add(&r->tlp[t], st->delays[i]);
        st->delays_n = 0;
    }
    p->bytes_rx = p->bytes_tx = p->verify_calls = p->sessions_opened = 0;
    p->byz_sent = p->byz_accepted = p->deliveries = 0;
    memset(p->app_rx, 0, sizeof p->app_rx);
    return rc;
}

/* After the step: sends, releases, counters, errors and the lowest node's oracle failure. */
static void merge_step(struct sim *s)
{
    merge_sends(s); /* first: the connections they name must not be released */
    struct worker *fail = NULL;
    for (unsigned i = 0; i < s->n_workers; i++) {
        struct worker *w = &s->workers[i];
        for (size_t k = 0; k < w->n_rel; k++)
            conn_release_if_done(s, w->rel[k]);
        w->n_rel = 0;
        if (add_part(s->res, &w->part) < 0)
            w->err = SIM_E_NOMEM;
        if (w->err != SIM_OK && s->err == SIM_OK)
            s->err = w->err;
        if (w->failed && (fail == NULL || w->fail_node < fail->fail_node))
            fail = w;
    }
    if (fail != NULL)
        oracle_fail(&s->o, s->sc->seed, s->now, "%s", fail->fail_msg);
    for (unsigned i = 0; i < s->n_workers; i++)
        s->workers[i].failed = false;
    for (size_t k = 0; k < s->n_rel; k++)
        conn_release_if_done(s, s->rel[k]);
    s->n_rel = 0;
    for (size_t i = 0; i < s->n_active; i++)
        s->nodes[s->active[i]].active = false;
    s->n_active = 0;
    s->n_sev = 0;
}

/* Runs the step's nodes: on every thread when there are enough of them and no byzantine node
 * (the oracle's exposure bookkeeping is shared), else in node order on this one. */
static void run_step(struct sim *s)
{
    s->stepping = true;
    if (s->n_threads > 1 && s->n_active >= PAR_MIN_NODES && !s->any_byz) {
        size_t pooled = s->pool.n;
        run_parallel(s);
        assert(s->pool.n == pooled); /* see pool_headroom */
        (void)pooled;
    } else {
        for (size_t i = 0; i < s->n_active; i++)
            run_node_on(&s->workers[0], &s->nodes[s->active[i]]);
    }
    s->stepping = false;
    merge_step(s);
}

static int run_loop(struct sim *s)
{
    uint64_t last_report = 0;
    take_dirty(s); /* the started nodes' first turn at 0 ms: they dial and arm their timers */
    run_step(s);
    while (evq_size(&s->q) > 0 && s->err == SIM_OK && !s->o.failed) {
        int rc = evq_advance(&s->q, &s->now);
        if (rc < 0)
            return rc;
        if (s->now > s->sc->max_ms)
            return SIM_E_STALL;
        if ((rc = take_events(s)) < 0)
            return rc;
        run_step(s);
        if (s->progress && s->now / 10000 != last_report) {
            last_report = s->now / 10000;
            fprintf(stderr, "simnet: t=%" PRIu64 " s, %" PRIu64 " events, %zu published\n",
                    s->now / 1000, s->res->events, s->published);
        }
        if (s->net_events == 0 && quiescent(s))
            return SIM_OK;
    }
    if (s->o.failed)
        return SIM_E_ORACLE;
    return s->err != SIM_OK ? s->err : SIM_OK;
}

/* --- setup, final checks, results --- */

static unsigned thread_count(const struct sim_scenario *sc)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned t = sc->threads ? sc->threads : cores > 0 ? (unsigned)cores : 1;
    return t < MAX_WORKERS ? t : MAX_WORKERS;
}

/* The workers' contexts; the threads themselves start in threads_start. */
static int workers_init(struct sim *s)
{
    s->n_workers = thread_count(s->sc);
    s->workers = calloc(s->n_workers, sizeof *s->workers);
    if (s->workers == NULL)
        return SIM_E_NOMEM;
    for (unsigned i = 0; i < s->n_workers; i++) {
        s->workers[i].s = s;
        s->workers[i].idx = i;
        if ((s->workers[i].scratch = malloc(SESSION_SCRATCH_BYTES)) == NULL)
            return SIM_E_NOMEM;
    }
    return SIM_OK;
}

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

/* Threads for workers 1..n_workers-1 (fewer if the system refuses some: the step's nodes are
 * shared out among those that run). */
static void threads_start(struct sim *s)
{
    s->n_threads = 1;
    if (pthread_mutex_init(&s->gate, NULL) != 0)
        return;
    if (pthread_cond_init(&s->start_cv, NULL) != 0 || pthread_cond_init(&s->done_cv, NULL) != 0)
        return;
    s->gate_ready = true;
    while (s->n_threads < s->n_workers &&
           pthread_create(&s->workers[s->n_threads].th, NULL, worker_main,
                          &s->workers[s->n_threads]) == 0)
        s->n_threads++;
}

static void threads_stop(struct sim *s)
{
    if (!s->gate_ready)
        return;
    pthread_mutex_lock(&s->gate);
    __atomic_store_n(&s->quit, true, __ATOMIC_RELEASE);
    __atomic_add_fetch(&s->step_gen, 1, __ATOMIC_RELEASE);
    pthread_cond_broadcast(&s->start_cv);
    pthread_mutex_unlock(&s->gate);
    for (unsigned i = 1; i < s->n_threads; i++)
        pthread_join(s->workers[i].th, NULL);
    pthread_cond_destroy(&s->start_cv);
    pthread_cond_destroy(&s->done_cv);
    pthread_mutex_destroy(&s->gate);
    s->gate_ready = false;
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
    if ((rc = workers_init(s)) < 0 || (rc = conns_init(s)) < 0)
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
    for (uint32_t a = 0; a < n; a++)
        if ((rc = node_start(s, &s->nodes[a])) < 0)
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
            if (!bit_test(ent, a) || a == o->origin)
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
        const struct gossip_stats *g = gossip_stats(n->g);
        r->duplicates += g->duplicates;
        r->forged_refused += g->verify_forged + g->verify_malformed;
        r->refused_inbound += g->refused_inbound;
        for (uint32_t k = 0; k < world_degree(&s->w, a); k++) {
            const struct gossip_peer_stats *p = gossip_peer_stats(n->g, k);
            for (int v = GATE_ALLOW + 1; p && v < GATE_VERDICT_COUNT; v++)
                r->gate_refusals += v == GATE_DENY_PEER_HAS ? 0 : p->refused[v];
            recon += p ? p->recon_bytes_in : 0;
            r->malformed += p ? p->malformed : 0;
        }
    }
    r->app_rx[3] = recon;
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
        while (n->running && n->jobs != NULL) {
            struct gossip_job *job = n->jobs;
            n->jobs = job->user;
            gossip_job_run(job);
            gossip_on_verified(n->g, job, s->now, WALL0 + s->now);
        }
        if (n->g)
            gossip_free(n->g);
        if (n->engine_ready)
            engine_free(&n->e);
        if (n->ms_ready)
            memstore_free(&n->ms);
        free(n->slot_conn);
        free(n->close_req);
        free(n->down_pending);
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
            if (add_part(r, &s->workers[i].part) < 0 && rc == SIM_OK)
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
    for (int t = 0; t < PROTO_TLP_COUNT; t++)
        free(r->tlp[t].delays);
    free(r->node_rx);
    free(r->node_tx);
    free(r->flood_delays);
    free(r->flood_node_rx);
    memset(r, 0, sizeof *r);
}
