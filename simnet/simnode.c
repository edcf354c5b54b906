/* simnode.c - one simulated node: the transport and io of its node core (node/core/node.h), the
 * shared verification cache, the world's communities as rosters, a node's loop turn, start and
 * stop (simrun.h). The glue between its engine and gossip is node.c's, as in `tlpmesh run`. */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/mman.h>
#include <unistd.h>

#include "proto/record.h"

#include "simnet/simrun.h"

/* --- the node's transport: simulated connections --- */

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

/* The oracle's look at every gossip message as it arrives (before the node sees it). */
static void oracle_watch(struct sim *s, struct snode *n, size_t peer, uint8_t type,
                         const uint8_t *body, size_t len)
{
    uint32_t link_in = s->w.off[n->idx] + (uint32_t)peer, from = s->w.adj[link_in];
    uint32_t link = s->w.rev[link_in];
    bool honest = s->w.byz[from] == 0;
    struct sim_app_bytes *app = &part(n)->app_rx; /* recon: from gossip's own count (collect) */
    app->records += type == GOSSIP_MSG_RECORDS ? len : 0;
    app->announce += type == GOSSIP_MSG_ANNOUNCE ? len : 0;
    app->want += type == GOSSIP_MSG_WANT ? len : 0;
    app->prune += type == GOSSIP_MSG_PRUNE ? len : 0;
    app->messages++;
    if (len < 2 || (type != GOSSIP_MSG_RECORDS && type != GOSSIP_MSG_ANNOUNCE))
        return;
    size_t cnt = (size_t)body[0] << 8 | body[1], off = 2;
    app->copies += type == GOSSIP_MSG_RECORDS ? cnt : 0;
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

void release_held(struct snode *n)
{
    if (n->held.body == NULL)
        return;
    struct held_msg h = n->held;
    n->held.body = NULL;
    node_message(&n->node, h.peer, h.type, h.body, h.len);
    free(h.body);
}

/* node_io.message: the oracle watches, then the link's reordering and duplication. */
static void sio_message(void *ctx, size_t peer, uint8_t type, const uint8_t *body, size_t len)
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
    node_message(&n->node, peer, type, body, len);
    if (s->sc->dup > 0 && rng_unit(&n->rng) < s->sc->dup)
        node_message(&n->node, peer, type, body, len);
    release_held(n);
}

static void sio_peer_change(void *ctx, size_t peer, bool up)
{
    struct snode *n = ctx;
    (void)peer;
    if (up)
        part(n)->sessions_opened++;
}

static size_t sio_backlog(void *ctx, engine_conn h)
{
    struct snode *n = ctx;
    int side;
    struct sconn *c = conn_of(n, h, &side);
    return c ? c->out_len[side] + c->inflight[side] : 0;
}

static uint64_t sio_now(void *ctx)
{
    const struct snode *n = ctx;
    return n->sim->now;
}

static uint64_t sio_wall_ms(void *ctx)
{
    const struct snode *n = ctx;
    return WALL0 + n->sim->now;
}

/* node_io.stored: the oracle judges every record a node commits. */
static void sio_stored(void *ctx, const uint8_t id[LIMIT_ID_BYTES], uint8_t kind)
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
    struct worker *w = n->w;
    if (!grow((void **)&w->delays, &w->cap_delays, w->n_delays, sizeof *w->delays))
        w->err = SIM_E_NOMEM;
    else
        w->delays[w->n_delays++] =
            (struct step_delay){.ms = (uint32_t)(s->now - o->published), .tlp = o->tlp};
    part(n)->deliveries++;
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

/* --- communities: the world's, as the rosters a trusted owner would sign --- */

static int cmp_member(const void *x, const void *y)
{
    return memcmp(((const struct proto_roster_member *)x)->key,
                  ((const struct proto_roster_member *)y)->key, LIMIT_KEY_BYTES);
}

/* Community c as a trusted roster of its members (sorted by key) from members[*used...]. */
static void roster_of(struct sim *s, unsigned c, struct community_roster *r, size_t *used)
{
    memset(r, 0, sizeof *r);
    snprintf(r->name, sizeof r->name, "c%u", c);
    r->trusted = true;
    r->members = s->members + *used;
    for (uint32_t a = 0; a < s->w.n; a++)
        if (s->w.comm[a] >> c & 1) {
            struct proto_roster_member *m = &r->members[r->n_members++];
            memcpy(m->key, s->nodes[a].id.sign_pk, LIMIT_KEY_BYTES);
            memcpy(m->org, s->nodes[a].org, sizeof m->org);
        }
    qsort(r->members, r->n_members, sizeof *r->members, cmp_member);
    *used += r->n_members;
}

/* Sorted by (owner, name) as community_table_build leaves them: one owner, so by name. */
static int cmp_roster_name(const void *x, const void *y)
{
    return strcmp(((const struct community_roster *)x)->name,
                  ((const struct community_roster *)y)->name);
}

int sim_rosters_build(struct sim *s)
{
    size_t total = 0, used = 0;
    uint64_t any = 0;
    for (uint32_t a = 0; a < s->w.n; a++) {
        total += (size_t)__builtin_popcountll(s->w.comm[a]);
        any |= s->w.comm[a];
    }
    s->rosters = calloc((size_t)__builtin_popcountll(any) + 1, sizeof *s->rosters);
    s->members = malloc((total ? total : 1) * sizeof *s->members);
    if (s->rosters == NULL || s->members == NULL)
        return SIM_E_NOMEM;
    for (unsigned c = 0; c < SIM_MAX_COMMUNITIES; c++)
        if (any >> c & 1)
            roster_of(s, c, &s->rosters[s->n_rosters++], &used);
    qsort(s->rosters, s->n_rosters, sizeof *s->rosters, cmp_roster_name);
    return SIM_OK;
}

/* Every node's struct config in one mapping of small pages, one page-aligned slot each.
 * struct config is 26 KiB, mostly the daemon's path buffers (five of 4 KiB before the fields
 * simnet sets, the log file's after them): the pages nobody writes stay unbacked zeroes (they
 * are config_init's zeroes), so a node pays for the one page of organisation and [Peer]s. The
 * heap's huge pages would back all of it. */
int sim_configs_map(struct sim *s)
{
    long page = sysconf(_SC_PAGESIZE);
    size_t pg = page > 0 ? (size_t)page : 4096;
    s->cfg_stride = (sizeof(struct config) + pg - 1) / pg * pg;
    s->cfg_map_len = s->cfg_stride * (s->w.n ? s->w.n : 1);
    void *m = mmap(NULL, s->cfg_map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                   -1, 0);
    if (m == MAP_FAILED)
        return SIM_E_NOMEM;
    (void)madvise(m, s->cfg_map_len, MADV_NOHUGEPAGE); /* advice: small pages work without it */
    s->cfg_map = m;
    return SIM_OK;
}

void sim_configs_unmap(struct sim *s)
{
    if (s->cfg_map != NULL)
        munmap(s->cfg_map, s->cfg_map_len);
    s->cfg_map = NULL;
}

/* Node n's config as the world gives it: each neighbour a [Peer] with its organisation, the
 * ceiling and client relation of the link, an endpoint only towards a larger index (the smaller
 * index dials, the other only accepts). */
static int config_build(struct sim *s, struct snode *n)
{
    const struct world *w = &s->w;
    uint32_t deg = world_degree(w, n->idx);
    n->cfg = (struct config *)(s->cfg_map + (size_t)n->idx * s->cfg_stride);
    n->cfg->peers = calloc(deg ? deg : 1, sizeof *n->cfg->peers);
    if (n->cfg->peers == NULL)
        return SIM_E_NOMEM;
    n->cfg->n_peers = deg;
    snprintf(n->cfg->network, sizeof n->cfg->network, "simnet");
    memcpy(n->cfg->organisation, n->org, sizeof n->cfg->organisation);
    for (uint32_t k = 0; k < deg; k++) {
        uint32_t link = w->off[n->idx] + k, b = w->adj[link];
        struct config_peer *p = &n->cfg->peers[k];
        memcpy(p->key, s->nodes[b].id.sign_pk, LIMIT_KEY_BYTES);
        keys_pubkey_to_b64(p->key, p->key_b64);
        snprintf(p->name, sizeof p->name, "n%u", b);
        memcpy(p->organisation, s->nodes[b].org, sizeof p->organisation);
        p->relation = w->client[link] ? CONFIG_RELATION_CLIENT : CONFIG_RELATION_PARTNER;
        p->max_tlp = w->ceiling[link];
        p->has_endpoint = n->idx < b;
        if (p->has_endpoint) {
            snprintf(p->endpoint.host, sizeof p->endpoint.host, "n%u", b);
            p->endpoint.port = SIM_PORT;
        }
    }
    return SIM_OK;
}

/* --- nodes --- */

/* One loop turn of node n, as node/shell/run.c's prepare callback. */
void snode_turn(struct sim *s, struct snode *n)
{
    if (n->running && node_turn(&n->node) < 0)
        n->w->err = SIM_E_ENGINE;
    flush_node(s, n);
    if (!n->running)
        return;
    uint64_t next = node_next_deadline(&n->node);
    if (next != UINT64_MAX && next <= s->now)
        next = s->now + 1;
    if (next != n->timer_at) {
        n->timer_at = next;
        n->timer_gen++;
        if (next != UINT64_MAX)
            npush(n, next, EV_TIMER, n->idx, n->timer_gen, NULL, 0);
    }
}

static int node_params_build(struct sim *s, struct snode *n, struct node_params *p)
{
    uint32_t deg = world_degree(&s->w, n->idx);
    uint8_t key[GOSSIP_HASH_KEY_BYTES];
    eio_random(n, key, sizeof key);
    if (!n->ms_ready) {
        if (memstore_init_shared(&n->ms, key, &s->pool) < 0)
            return SIM_E_NOMEM;
        n->ms_ready = true;
    }
    if (n->cfg == NULL && config_build(s, n) < 0)
        return SIM_E_NOMEM;
    n->ctab = (struct community_table){.rosters = s->rosters, .n_rosters = s->n_rosters};
    memcpy(n->ctab.self, n->id.sign_pk, LIMIT_KEY_BYTES);
    *p = (struct node_params){
        .cfg = n->cfg, .communities = &n->ctab,
        .engine = {.id = &n->id, .network = n->cfg->network, .max_peers = deg,
                   .max_conns = 2 * (size_t)deg + 4, .rate_addrs = deg + 4,
                   .scratch = n->w->scratch},
        .gossip = {.recent_cap = SIM_RECENT_CAP, .cand_cap = SIM_CAND_CAP, .want_cap = 512,
                   .announce_cap = 1024, .start_seq = memstore_last_seq(&n->ms)}};
    memcpy(p->gossip.hash_key, key, sizeof key);
    memstore_gossip_ops(&n->ms, &p->store_ops);
    return SIM_OK;
}

int snode_start(struct sim *s, struct snode *n)
{
    struct node_params p;
    int rc = node_params_build(s, n, &p);
    if (rc < 0)
        return rc;
    const struct node_io io = {.ctx = n, .send = eio_send, .close = eio_close, .dial = eio_dial,
                               .random = eio_random, .engine_log = eio_log,
                               .backlog = sio_backlog, .now = sio_now, .wall_ms = sio_wall_ms,
                               .check = s->sc->verify_cache ? cached_verify : NULL,
                               .message = sio_message, .peer_change = sio_peer_change,
                               .stored = sio_stored};
    char why[128];
    if (node_init(&n->node, &p, &io, why, sizeof why) < 0)
        return SIM_E_NOMEM;
    n->slot_conn = calloc(n->node.engine.max_conns, sizeof *n->slot_conn);
    if (n->slot_conn == NULL)
        return SIM_E_NOMEM;
    if (node_set_peers(&n->node, n->cfg, s->now) < 0)
        return SIM_E_ENGINE;
    n->running = true;
    n->timer_at = UINT64_MAX;
    mark_dirty(s, n);
    return SIM_OK;
}

/* The node core and its connection map (a stopped node keeps its store and config). */
void snode_free(struct snode *n)
{
    node_free(&n->node);
    memset(&n->node, 0, sizeof n->node);
    free(n->slot_conn);
    n->slot_conn = NULL;
}

static void add_gossip_totals(struct sim *s, const struct snode *n)
{
    const struct gossip_stats *g = gossip_stats(n->node.gossip);
    s->gone.duplicates += g->duplicates;
    s->gone.verify_forged += g->verify_forged;
    s->gone.verify_malformed += g->verify_malformed;
    s->gone.refused_inbound += g->refused_inbound;
    for (uint32_t k = 0; k < world_degree(&s->w, n->idx); k++) {
        const struct gossip_peer_stats *p = gossip_peer_stats(n->node.gossip, k);
        for (int v = GATE_ALLOW + 1; p && v < GATE_VERDICT_COUNT; v++)
            s->gone_refused += v == GATE_DENY_PEER_HAS ? 0 : p->refused[v];
        s->gone_recon += p ? p->recon_bytes_in : 0;
    }
}

/* A crash: the peers see their connections reset; the store is kept or wiped. */
void snode_stop(struct sim *s, struct snode *n, bool wipe)
{
    if (!n->running)
        return;
    node_drain_jobs(&n->node); /* unfinished jobs home before the counters and node_free */
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
    snode_free(n);
    n->running = false;
    n->timer_gen++;
    n->timer_at = UINT64_MAX;
    if (wipe) {
        memstore_free(&n->ms);
        n->ms_ready = false;
        for (size_t r = 0; r < s->o.n; r++) { /* what it held is gone, its own records too */
            s->o.holders[r * s->o.words + n->idx / 64] &= ~((uint64_t)1 << (n->idx % 64));
            s->o.recs[r].origin_wiped |= s->o.recs[r].origin == n->idx;
        }
    }
}
