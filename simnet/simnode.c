/* simnode.c - one simulated node: the engine and gossip io callbacks, the shared verification
 * cache and a node's loop turn, start and stop (simrun.h). */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/record.h"

#include "simnet/simrun.h"

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

void eio_random(void *ctx, uint8_t *buf, size_t len)
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
void gossip_enter(struct snode *n)
{
    n->depth++;
}

void gossip_leave(struct snode *n)
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

void release_held(struct snode *n)
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
void node_turn(struct sim *s, struct snode *n)
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

int node_start(struct sim *s, struct snode *n)
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
void node_stop(struct sim *s, struct snode *n, bool wipe)
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
