/* step.c - steps: dispatching one millisecond's events, running its nodes on the workers and
 * merging what they did in node order; the worker threads (simrun.h). */
#include <assert.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unistd.h>

#include "node/core/session.h"

#include "simnet/simrun.h"

/* push() for what a node does: during a step it waits in its worker's list. */
void npush(struct snode *n, uint64_t t, uint32_t type, uint32_t a, uint32_t b,
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

/* An oracle failure seen by a node: during a step the worker keeps its first (its lowest node),
 * and the lowest node's of all workers wins after the step. */
void node_fail(struct snode *n, const char *fmt, ...)
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

void mark_dirty(struct sim *s, struct snode *n)
{
    if (n->dirty)
        return;
    n->dirty = true;
    if (!s->stepping) /* a step runs each of its nodes' turn anyway */
        s->dirty[s->n_dirty++] = n->idx;
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
    int64_t h = engine_on_accept(&acc->node.engine, ip, (uint16_t)(40000 + ci % 20000), s->now);
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

/* The side of its connection a network event is for: the acceptor's for a SYN, the dialler's for
 * its answer, the receiver's for bytes and FINs. */
static int ev_side(const struct ev *e)
{
    assert(e->type <= EV_FIN);
    return e->type == EV_CONNECT ? 1 : e->type == EV_CONNECTED ? 0 : 1 - (int)e->b;
}

/* The node an event is for, or NIL32 for the simulator's own (publications, scenario actions,
 * byzantine ticks), which run alone before the step's nodes. */
static uint32_t ev_node(const struct sim *s, const struct ev *e)
{
    switch ((enum ev_type)e->type) {
    case EV_CONNECT:
    case EV_CONNECTED:
    case EV_DATA:
    case EV_FIN: return s->conns[e->a].node[ev_side(e)];
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
            engine_on_connected(&n->node.engine, c->h[0], s->now);
            mark_dirty(s, n);
        }
        break;
    case EV_DATA: {
        int to = 1 - (int)e->b;
        if (c->open[to] && n->running) {
            n->rx += e->len;
            part(n)->bytes_rx += e->len;
            engine_on_data(&n->node.engine, c->h[to], e->data, e->len, s->now);
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
            engine_on_closed(&n->node.engine, h, s->now);
            mark_dirty(s, n);
        }
        break;
    }
    case EV_TIMER:
        if (n->running && e->b == n->timer_gen) {
            n->timer_at = UINT64_MAX;
            engine_tick(&n->node.engine, s->now);
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
    if (c != NULL && !c->open[ev_side(e)]) /* its own side: the other may be closing now */
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
        if (n->node.jobs || !gossip_idle(n->node.gossip))
            return false;
        for (uint32_t k = 0; k < world_degree(&s->w, a); k++) {
            uint32_t b = s->w.adj[s->w.off[a] + k];
            engine_conn h;
            if (s->nodes[b].running && !blocked(s, a, b) && !blocked(s, b, a) &&
                !engine_peer_conn(&n->node.engine, k, &h))
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
        snode_turn(s, n);
    }
}

/* Node n runs in worker w's context: its scratch, its lists, its counters. */
static void run_node_on(struct worker *w, struct snode *n)
{
    n->w = w;
    if (n->node.engine_ready)
        engine_set_scratch(&n->node.engine, w->scratch);
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

int add_part(struct sim_result *r, struct worker *w)
{
    struct sim_result *p = &w->part;
    r->bytes_rx += p->bytes_rx;
    r->bytes_tx += p->bytes_tx;
    r->app_rx.records += p->app_rx.records;
    r->app_rx.announce += p->app_rx.announce;
    r->app_rx.want += p->app_rx.want;
    r->app_rx.prune += p->app_rx.prune;
    r->app_rx.copies += p->app_rx.copies;
    r->app_rx.messages += p->app_rx.messages;
    r->verify_calls += p->verify_calls;
    r->sessions_opened += p->sessions_opened;
    r->byz_sent += p->byz_sent;
    r->byz_accepted += p->byz_accepted;
    r->deliveries += p->deliveries;
    int rc = SIM_OK;
    for (size_t i = 0; i < w->n_delays && rc == SIM_OK; i++)
        rc = sim_delays_add(&r->tlp[w->delays[i].tlp].delays, w->delays[i].ms, 1);
    w->n_delays = 0;
    p->bytes_rx = p->bytes_tx = p->verify_calls = p->sessions_opened = 0;
    p->byz_sent = p->byz_accepted = p->deliveries = 0;
    p->app_rx = (struct sim_app_bytes){0};
    return rc;
}

/* The step's closed connections go back to their diallers' free lists in index order: which
 * worker ran the node that closed one depends on timing, and the order of a free list decides
 * the index of the node's next connection (part of the trace). */
static int release_step(struct sim *s)
{
    for (unsigned i = 0; i < s->n_workers; i++) {
        struct worker *w = &s->workers[i];
        for (size_t k = 0; k < w->n_rel; k++) {
            if (!grow((void **)&s->rel, &s->cap_rel, s->n_rel, sizeof *s->rel))
                return SIM_E_NOMEM;
            s->rel[s->n_rel++] = w->rel[k];
        }
        w->n_rel = 0;
    }
    if (s->n_rel > 1) /* none most steps: s->rel may be NULL */
        qsort(s->rel, s->n_rel, sizeof *s->rel, cmp_u32);
    for (size_t k = 0; k < s->n_rel; k++)
        conn_release_if_done(s, s->rel[k]);
    s->n_rel = 0;
    return SIM_OK;
}

/* After the step: sends, releases, counters, errors and the lowest node's oracle failure. */
static void merge_step(struct sim *s)
{
    merge_sends(s); /* first: the connections they name must not be released */
    if (release_step(s) < 0 && s->err == SIM_OK)
        s->err = SIM_E_NOMEM;
    struct worker *fail = NULL;
    for (unsigned i = 0; i < s->n_workers; i++) {
        struct worker *w = &s->workers[i];
        if (add_part(s->res, w) < 0)
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

int run_loop(struct sim *s)
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

/* --- workers and their threads --- */

static unsigned thread_count(const struct sim_scenario *sc)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned t = sc->threads ? sc->threads : cores > 0 ? (unsigned)cores : 1;
    return t < MAX_WORKERS ? t : MAX_WORKERS;
}

/* The workers' contexts; the threads themselves start in threads_start. */
int workers_init(struct sim *s)
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

/* Threads for workers 1..n_workers-1 (fewer if the system refuses some: the step's nodes are
 * shared out among those that run). */
void threads_start(struct sim *s)
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

void threads_stop(struct sim *s)
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
