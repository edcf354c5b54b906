/* ingest.c - gossip ingest and duplicate-drop figures (docs/PERFORMANCE.md), on the node's real
 * code path: a node core (node/core/node.h) over the LMDB adapter, RECORDS messages as a peer
 * packs them, signature checks on libuv's thread pool (node/shell/verifier.h) and node_turn once
 * per loop turn, as `tlpmesh run` drives them. The peers' sessions are not simulated: the node
 * is told they are up (node_peer_change), so what gossip sends them stops at the engine, unsent.
 *
 * The sending peer is modelled as one that keeps its part of the receiver's candidate table (the
 * records being verified or waiting for commit) full but never overfull, which is the best a
 * sender can do: half the table, the most one peer may hold while others are up (gossip.h); a
 * real sender that outruns verification gets its surplus dropped and fetched again later. It
 * sends them as the haves of a reconciliation round over them (it reconciles first), the way a
 * peer sends a node more records than its budget of unasked ones holds (node/core/peerscore.h).
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <sodium.h>
#include <uv.h>

#include "bench/bench.h"
#include "crypto/keys.h"
#include "node/config/config.h"
#include "node/core/node.h"
#include "node/core/peerscore.h"
#include "node/core/recon.h"
#include "node/core/session.h"
#include "node/shell/verifier.h"
#include "store/gossip_lmdb.h"
#include "store/store.h"

enum { SENDER = 0 }; /* the peer slot the records come from */

/* RECORDS messages as a peer's builder fills them: u16 count, then u16 length || sig || body. */
struct msgs {
    uint8_t **body;
    size_t *len, *count;
    size_t n;
};

struct ingest {
    uv_loop_t loop;
    uv_prepare_t prepare;
    uv_timer_t timer;
    struct keys_identity id;
    struct config cfg; /* the peers: this node's organisation, ceiling RED */
    struct node node; /* zeroed until start_node: node_free is safe on it */
    struct verifier verifier;
    const struct msgs *m;
    size_t next_msg, fed;
    bool finished;
    int err;
    double t_end, flush_s, feed_s; /* the loop thread's time, by phase */
    uint64_t turns;
};

static double thread_cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The LMDB adapter's put_batch, timed: the commits are the loop thread's heaviest work. */
struct timed_store {
    struct gossip_store_ops inner;
    double put_s, put_cpu_s;
    uint64_t puts;
};

static int timed_put_batch(void *ctx, struct store_put *items, size_t n)
{
    struct timed_store *t = ctx;
    const double t0 = bench_now_s(), c0 = thread_cpu_s();
    int rc = t->inner.put_batch(t->inner.ctx, items, n);
    t->put_s += bench_now_s() - t0;
    t->put_cpu_s += thread_cpu_s() - c0;
    t->puts++;
    return rc;
}

static int timed_has(void *ctx, const uint8_t id[LIMIT_ID_BYTES])
{
    struct timed_store *t = ctx;
    return t->inner.has(t->inner.ctx, id);
}

static int timed_get(void *ctx, const uint8_t id[LIMIT_ID_BYTES], uint8_t *buf, size_t cap,
                     size_t *len)
{
    struct timed_store *t = ctx;
    return t->inner.get(t->inner.ctx, id, buf, cap, len);
}

static int timed_find_short(void *ctx, const uint8_t sid[GOSSIP_SHORT_ID_BYTES],
                            store_record_cb cb, void *cb_ctx)
{
    struct timed_store *t = ctx;
    return t->inner.find_short(t->inner.ctx, sid, cb, cb_ctx);
}

static int timed_is_revoked(void *ctx, const uint8_t id[LIMIT_ID_BYTES],
                            const uint8_t origin[LIMIT_KEY_BYTES])
{
    struct timed_store *t = ctx;
    return t->inner.is_revoked(t->inner.ctx, id, origin);
}

static int timed_iter_seq(void *ctx, uint64_t since, store_record_cb cb, void *cb_ctx)
{
    struct timed_store *t = ctx;
    return t->inner.iter_seq(t->inner.ctx, since, cb, cb_ctx);
}

static struct gossip_store_ops timed_ops(struct timed_store *t)
{
    return (struct gossip_store_ops){.ctx = t, .has = timed_has, .get = timed_get,
                                     .find_short = timed_find_short,
                                     .put_batch = timed_put_batch,
                                     .is_revoked = timed_is_revoked, .iter_seq = timed_iter_seq};
}

static uint64_t unix_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static void msgs_free(struct msgs *m)
{
    for (size_t i = 0; m->body && i < m->n; i++)
        free(m->body[i]);
    free(m->body);
    free(m->len);
    free(m->count);
    memset(m, 0, sizeof *m);
}

static void put_be16(uint8_t *p, size_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static int msgs_build(struct msgs *m, const struct bench_corpus *c)
{
    const size_t cap = c->n; /* at least one record per message */
    m->body = calloc(cap, sizeof *m->body);
    m->len = calloc(cap, sizeof *m->len);
    m->count = calloc(cap, sizeof *m->count);
    if (!m->body || !m->len || !m->count)
        return -1;
    for (size_t i = 0; i < c->n;) {
        uint8_t *b = malloc(SESSION_MAX_BODY);
        if (b == NULL)
            return -1;
        m->body[m->n] = b;
        size_t off = 2, k = 0;
        for (; i < c->n && k < 0xffff && off + 2 + c->len[i] <= SESSION_MAX_BODY; i++, k++) {
            put_be16(b + off, c->len[i]);
            memcpy(b + off + 2, c->signed_rec[i], c->len[i]);
            off += 2 + c->len[i];
        }
        put_be16(b, k);
        m->len[m->n] = off;
        m->count[m->n++] = k;
    }
    return 0;
}

/* --- the node's io: the shell's part --- */

static int io_send(void *ctx, engine_conn conn, const uint8_t *bytes, size_t len)
{
    (void)ctx, (void)conn, (void)bytes, (void)len;
    return -1; /* no connection is ever opened */
}

static void io_close(void *ctx, engine_conn conn)
{
    (void)ctx, (void)conn;
}

static int io_dial(void *ctx, engine_conn conn, const char *host, uint16_t port)
{
    (void)ctx, (void)conn, (void)host, (void)port;
    return -1; /* the peers have no endpoint: never called */
}

static void io_random(void *ctx, uint8_t *buf, size_t n)
{
    (void)ctx;
    randombytes_buf(buf, n);
}

static void io_engine_log(void *ctx, enum engine_log_level level, const char *event,
                          const uint8_t *key, const char *addr, const char *detail)
{
    (void)ctx, (void)level, (void)event, (void)key, (void)addr, (void)detail;
}

static size_t io_backlog(void *ctx, engine_conn conn)
{
    (void)ctx, (void)conn;
    return 0;
}

static uint64_t io_now(void *ctx)
{
    struct ingest *in = ctx;
    return uv_now(&in->loop);
}

static uint64_t io_wall_ms(void *ctx)
{
    (void)ctx;
    return unix_ms();
}

static void io_verify(void *ctx, struct gossip_job *job)
{
    struct ingest *in = ctx;
    verifier_submit(&in->verifier, job);
}

static void io_log(void *ctx, const char *line)
{
    (void)ctx;
    fprintf(stderr, "tlpmesh-bench: %s\n", line);
}

/* --- the loop --- */

static void on_timer(uv_timer_t *t)
{
    struct ingest *in = t->data;
    engine_tick(&in->node.engine, uv_now(&in->loop)); /* then the prepare callback's turn */
}

/* Feeds whole messages while the sender's half of the candidate table has room for them. */
static void feed(struct ingest *in)
{
    const struct gossip_stats *st = gossip_stats(in->node.gossip);
    while (in->err == 0 && in->next_msg < in->m->n) {
        const size_t k = in->m->count[in->next_msg];
        if (in->fed - st->stored + k > LIMIT_GOSSIP_CANDIDATES / 2)
            return;
        int rc = node_message(&in->node, SENDER, GOSSIP_MSG_RECORDS, in->m->body[in->next_msg],
                              in->m->len[in->next_msg]);
        if (rc != GOSSIP_OK || st->dropped_overload > 0) {
            fprintf(stderr, "tlpmesh-bench: ingest: %s (%llu dropped)\n", gossip_strerror(rc),
                    (unsigned long long)st->dropped_overload);
            in->err = -1;
        }
        in->fed += k;
        in->next_msg++;
    }
}

static void finish(struct ingest *in)
{
    in->finished = true;
    in->t_end = bench_now_s();
    uv_prepare_stop(&in->prepare);
    uv_timer_stop(&in->timer);
}

/* Once per loop turn, as the daemon's: the node's turn (commit and send), then more records. */
static void on_prepare(uv_prepare_t *p)
{
    struct ingest *in = p->data;
    const double t0 = bench_now_s();
    in->turns++;
    if (node_turn(&in->node) != GOSSIP_OK)
        in->err = -1;
    const double t1 = bench_now_s();
    feed(in);
    if (in->err != 0 || (in->next_msg == in->m->n && gossip_idle(in->node.gossip))) {
        finish(in);
    } else {
        uint64_t next = node_next_deadline(&in->node), now = uv_now(&in->loop);
        if (next == UINT64_MAX)
            uv_timer_stop(&in->timer);
        else
            uv_timer_start(&in->timer, on_timer, next > now ? next - now : 0, 0);
    }
    in->flush_s += t1 - t0;
    in->feed_s += bench_now_s() - t1;
}

/* --- setup --- */

/* Peers 0..n-1 (the sender and the others), all in this node's organisation so that every
 * record may be announced to them, without an endpoint (never dialled). */
static int config_build(struct config *cfg, size_t n)
{
    config_init(cfg);
    cfg->peers = calloc(n, sizeof *cfg->peers);
    if (cfg->peers == NULL)
        return -1;
    cfg->n_peers = n;
    strcpy(cfg->network, "bench");
    strcpy(cfg->organisation, "bench-org");
    for (size_t i = 0; i < n; i++) {
        struct config_peer *p = &cfg->peers[i];
        p->key[LIMIT_KEY_BYTES - 2] = (uint8_t)((i + 1) >> 8);
        p->key[LIMIT_KEY_BYTES - 1] = (uint8_t)(i + 1);
        keys_pubkey_to_b64(p->key, p->key_b64);
        snprintf(p->name, sizeof p->name, "peer%zu", i);
        strcpy(p->organisation, "bench-org");
        p->max_tlp = PROTO_TLP_RED;
    }
    return 0;
}

/* Every peer's session up, as the engine reports it. This node's key sorts after theirs: no
 * side starts reconciliation during the run. */
static int peers_up(struct ingest *in)
{
    for (size_t i = 0; i < in->cfg.n_peers; i++) {
        if (memcmp(in->id.sign_pk, in->cfg.peers[i].key, LIMIT_KEY_BYTES) <= 0)
            return -1;
        node_peer_change(&in->node, i, true);
        const struct gossip_peer_stats *st = gossip_peer_stats(in->node.gossip, i);
        if (st == NULL || !st->up)
            return -1;
    }
    return 0;
}

static int item_order(const void *a, const void *b)
{
    const struct recon_item *x = a, *y = b;
    if (x->ts != y->ts)
        return x->ts < y->ts ? -1 : 1;
    return memcmp(x->id, y->id, LIMIT_ID_BYTES);
}

/* The node's turns while it has work due now: a round builds its set over several turns before
 * it answers, as a real peer waits for the answer before its next flight. */
static int settle(struct ingest *in)
{
    const uint64_t now = uv_now(&in->loop);
    for (size_t turns = 0; node_next_deadline(&in->node) <= now; turns++)
        if (turns == LIMIT_RECON_ITEMS || node_turn(&in->node) != GOSSIP_OK)
            return -1;
    return 0;
}

/* The sender initiates; each message of its flights goes to the node and to the mirror, whose
 * answers give the sender its next flight. 0 when the round is over, else -1 (also past the
 * LIMIT_RECON_ROUNDS messages a session takes). */
static int round_flights(struct ingest *in, struct recon *sender, struct recon *mirror)
{
    static uint8_t msg[LIMIT_RECON_MSG_BYTES], reply[LIMIT_RECON_MSG_BYTES];
    int len = recon_initiate(sender, msg, sizeof msg);
    for (size_t msgs = 0; len > 0; msgs++) {
        if (msgs == LIMIT_RECON_ROUNDS ||
            node_message(&in->node, SENDER, GOSSIP_MSG_RECON, msg, (size_t)len) != GOSSIP_OK ||
            settle(in) < 0)
            return -1;
        int n = recon_respond(mirror, msg, (size_t)len, reply, sizeof reply, NULL), next = 0;
        for (; n > 0 && next >= 0; n = recon_next(mirror, reply, sizeof reply))
            next = recon_respond(sender, reply, (size_t)n, msg, sizeof msg, NULL);
        if (n < 0 || next < 0)
            return -1;
        /* The mirror answers a whole flight, so the sender's next flight starts in msg. */
        len = next > 0 ? next : recon_next(sender, msg, sizeof msg);
    }
    return len;
}

/* The sender reconciles first, over the records it will send, so that the node learns it lacks
 * each of them (its haves, asked for: no unasked budget, LIMIT_PEER_RECON_GRACE_MS); a round
 * over an empty set names none. The node's answers stop at the engine; a mirror session over
 * the node's set (empty, like its store) gives the sender the same answers. */
static int open_round(struct ingest *in, const struct bench_corpus *c)
{
    struct recon_item *items = malloc(c->n * sizeof *items);
    struct recon sender = {0}, mirror = {0};
    int rc = -1;
    if (items == NULL)
        return -1;
    for (size_t i = 0; i < c->n; i++) {
        items[i].ts = c->rec[i].created_ms;
        memcpy(items[i].id, c->id[i], LIMIT_ID_BYTES);
    }
    qsort(items, c->n, sizeof *items, item_order);
    if (recon_init(&sender, items, c->n, LIMIT_RECON_MSG_BYTES) == RECON_OK &&
        recon_init(&mirror, NULL, 0, LIMIT_RECON_MSG_BYTES) == RECON_OK)
        rc = round_flights(in, &sender, &mirror);
    recon_free(&sender);
    recon_free(&mirror);
    free(items);
    return rc;
}

/* The node over the timed LMDB ops, with the config's peers. */
static int start_node(struct ingest *in, struct store *s, const struct gossip_store_ops *ops,
                      const struct bench_corpus *c, size_t n_peers)
{
    static const uint8_t seed[LIMIT_KEY_BYTES] = {'t', 'l', 'p', 'm', 'e', 's', 'h'};
    keys_identity_from_seed(seed, &in->id);
    if (config_build(&in->cfg, n_peers) != 0)
        return -1;
    struct node_params p = {.cfg = &in->cfg, .store = s, .store_ops = *ops,
                            .engine = {.id = &in->id, .network = in->cfg.network,
                                       .max_peers = n_peers}};
    io_random(NULL, p.gossip.hash_key, sizeof p.gossip.hash_key);
    const struct node_io io = {.ctx = in, .send = io_send, .close = io_close, .dial = io_dial,
                               .random = io_random, .engine_log = io_engine_log,
                               .backlog = io_backlog, .now = io_now, .wall_ms = io_wall_ms,
                               .verify = io_verify, .log = io_log};
    char why[256];
    if (verifier_init(&in->verifier, &in->loop, &in->node) < 0)
        return -1;
    if (node_init(&in->node, &p, &io, why, sizeof why) < 0) {
        fprintf(stderr, "tlpmesh-bench: ingest: %s\n", why);
        return -1;
    }
    if (node_set_peers(&in->node, &in->cfg, uv_now(&in->loop)) < 0)
        return -1;
    return peers_up(in) == 0 ? open_round(in, c) : -1;
}

static int run_ingest(struct ingest *in, struct bench_ingest_result *res)
{
    uv_prepare_init(&in->loop, &in->prepare);
    uv_timer_init(&in->loop, &in->timer);
    in->prepare.data = in;
    in->timer.data = in;
    uv_prepare_start(&in->prepare, on_prepare);
    const double c0 = cpu_s(), t0 = bench_now_s();
    uv_run(&in->loop, UV_RUN_DEFAULT);
    uv_close((uv_handle_t *)&in->prepare, NULL);
    uv_close((uv_handle_t *)&in->timer, NULL);
    uv_run(&in->loop, UV_RUN_DEFAULT); /* the closes; every job is back (the loop waited) */
    res->ingest_wall_s = in->t_end - t0;
    res->ingest_cpu_s = cpu_s() - c0;
    return in->err;
}

/* The same records again, from every peer in turn: each must be dropped on its id. A peer's
 * duplicate budget holds LIMIT_PEER_DUP_BURST at once (the sender's own records cost it
 * LIMIT_PEER_DUP_REPLAY_COST each: replays), so a peer's session is renewed before it would
 * spend half of it, as a real peer could only send them over several sessions. */
static int run_dups(struct ingest *in, size_t n, struct bench_ingest_result *res)
{
    const struct gossip_stats *st = gossip_stats(in->node.gossip);
    const uint64_t submitted = st->verify_submitted, dups = st->duplicates;
    size_t spent[LIMIT_PEERS] = {0};
    const double t0 = bench_now_s();
    for (size_t i = 0; i < in->m->n; i++) {
        const size_t peer = i % in->cfg.n_peers;
        const size_t cost = in->m->count[i] * (peer == SENDER ? LIMIT_PEER_DUP_REPLAY_COST : 1);
        if ((spent[peer] += cost) > LIMIT_PEER_DUP_BURST / 2) {
            node_peer_change(&in->node, peer, false);
            node_peer_change(&in->node, peer, true);
            spent[peer] = cost;
        }
        if (node_message(&in->node, peer, GOSSIP_MSG_RECORDS, in->m->body[i], in->m->len[i]) !=
            GOSSIP_OK)
            return -1;
    }
    if (node_turn(&in->node) != GOSSIP_OK)
        return -1;
    res->dup_rate = (double)n / (bench_now_s() - t0);
    res->verify_jobs_dup = st->verify_submitted - submitted;
    if (res->verify_jobs_dup != 0 || st->duplicates - dups != n) {
        fprintf(stderr, "tlpmesh-bench: duplicates: %llu verified, %llu of %zu dropped\n",
                (unsigned long long)res->verify_jobs_dup,
                (unsigned long long)(st->duplicates - dups), n);
        return -1;
    }
    return 0;
}

static int check_ingest(const struct ingest *in, size_t n)
{
    const struct gossip_stats *st = gossip_stats(in->node.gossip);
    if (st->stored == n && st->verify_ok == n && st->verify_submitted == n)
        return 0;
    fprintf(stderr, "tlpmesh-bench: ingest: %llu stored, %llu verified of %zu\n",
            (unsigned long long)st->stored, (unsigned long long)st->verify_ok, n);
    return -1;
}

int bench_ingest(const struct bench_corpus *c, const struct bench_ingest_opts *o,
                 struct bench_ingest_result *res)
{
    struct ingest in = {.err = 0};
    struct msgs m = {0};
    struct store *s = NULL;
    struct gossip_lmdb lm = {0};
    struct timed_store ts = {.puts = 0};
    char why[256] = "";
    int rc = -1;
    if (msgs_build(&m, c) != 0 || uv_loop_init(&in.loop) != 0) {
        fprintf(stderr, "tlpmesh-bench: ingest: out of memory\n");
        msgs_free(&m);
        return -1;
    }
    in.m = &m;
    if (store_open(&s, o->dir, NULL, why, sizeof why) != STORE_OK ||
        gossip_lmdb_init(&lm, s, &ts.inner) != GOSSIP_OK) {
        fprintf(stderr, "tlpmesh-bench: ingest: %s\n", why[0] ? why : "out of memory");
        goto out;
    }
    const struct gossip_store_ops ops = timed_ops(&ts);
    if (start_node(&in, s, &ops, c, 1 + o->peers) != 0) {
        fprintf(stderr, "tlpmesh-bench: ingest: cannot set up the node\n");
        goto out;
    }
    if (run_ingest(&in, res) != 0 || check_ingest(&in, c->n) != 0)
        goto out;
    res->ingest_rate = (double)c->n / res->ingest_wall_s;
    res->msgs = m.n;
    res->per_msg = m.count[0];
    if (o->verbose)
        printf("ingest: %zu messages of <= %zu records in %.2f s (process CPU %.2f s); loop "
               "thread: %llu turns, flush %.2f s (of which %llu commits %.2f s, %.2f s on CPU), feed %.2f s, "
               "%llu gossip messages for the peers (stopped at the engine: no session)\n",
               m.n, m.count[0], res->ingest_wall_s, res->ingest_cpu_s,
               (unsigned long long)in.turns, in.flush_s, (unsigned long long)ts.puts, ts.put_s, ts.put_cpu_s,
               in.feed_s, (unsigned long long)gossip_stats(in.node.gossip)->sent_fail);
    rc = run_dups(&in, c->n, res);
out:
    assert(in.verifier.out == 0); /* the loop ran until every job came back */
    node_free(&in.node);
    verifier_close(&in.verifier);
    keys_identity_wipe(&in.id);
    config_free(&in.cfg);
    gossip_lmdb_free(&lm);
    store_close(s);
    uv_loop_close(&in.loop);
    msgs_free(&m);
    return rc;
}
