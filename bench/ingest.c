/* ingest.c - gossip ingest and duplicate-drop figures (DESIGN.md §8), on the node's real code path:
 * a gossip instance over the LMDB adapter, RECORDS messages as a peer packs them, signature checks
 * on libuv's thread pool and gossip_flush once per loop turn, exactly as node/shell/run.c wires them.
 *
 * The sending peer is modelled as one that keeps the receiver's candidate table (the records being
 * verified or waiting for commit) full but never overfull, which is the best a sender can do; a
 * real sender that outruns verification gets its surplus dropped and fetched again later.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <uv.h>

#include "bench/bench.h"
#include "node/core/gossip.h"
#include "node/core/session.h"
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
    struct gossip *g;
    const struct msgs *m;
    size_t next_msg, fed;
    size_t jobs_out;
    bool finished;
    int err;
    double t_end, flush_s, feed_s, verified_s; /* the loop thread's time, by phase */
    uint64_t turns;
    uint64_t sent_msgs, sent_bytes;
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

struct verify_work {
    uv_work_t req;
    struct ingest *in;
    struct gossip_job *job;
};

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

/* --- gossip io: the shell's part --- */

static int io_send(void *ctx, size_t peer, uint8_t type, const uint8_t *body, size_t len)
{
    struct ingest *in = ctx;
    (void)peer, (void)type, (void)body;
    in->sent_msgs++;
    in->sent_bytes += len;
    return 0;
}

static void io_close_peer(void *ctx, size_t peer, int err)
{
    struct ingest *in = ctx;
    fprintf(stderr, "tlpmesh-bench: gossip closed peer %zu: %s\n", peer, gossip_strerror(err));
    in->err = -1;
}

static void io_log(void *ctx, enum gossip_log_level level, size_t peer, const char *line)
{
    (void)ctx, (void)level;
    fprintf(stderr, "tlpmesh-bench: gossip peer %zu: %s\n", peer, line);
}

static void work_cb(uv_work_t *req)
{
    struct verify_work *vw = req->data;
    gossip_job_run(vw->job);
}

static void after_work_cb(uv_work_t *req, int status)
{
    struct verify_work *vw = req->data;
    struct ingest *in = vw->in;
    const double t0 = bench_now_s();
    if (status < 0)
        gossip_job_run(vw->job);
    gossip_on_verified(in->g, vw->job, uv_now(&in->loop), unix_ms());
    in->jobs_out--;
    free(vw);
    in->verified_s += bench_now_s() - t0;
}

static void io_verify(void *ctx, struct gossip_job *job)
{
    struct ingest *in = ctx;
    struct verify_work *vw = malloc(sizeof *vw);
    if (vw != NULL) {
        *vw = (struct verify_work){.in = in, .job = job};
        vw->req.data = vw;
        if (uv_queue_work(&in->loop, &vw->req, work_cb, after_work_cb) == 0) {
            in->jobs_out++;
            return;
        }
        free(vw);
    }
    fprintf(stderr, "tlpmesh-bench: cannot queue a verification job\n");
    in->err = -1; /* the job stays out: gossip_free would trip; the bench stops with an error */
}

/* --- the loop --- */

static void on_timer(uv_timer_t *t)
{
    (void)t; /* waking the loop is enough: the prepare callback flushes */
}

/* Feeds whole messages while the candidate table has room for them. */
static void feed(struct ingest *in)
{
    const struct gossip_stats *st = gossip_stats(in->g);
    while (in->err == 0 && in->next_msg < in->m->n) {
        const size_t k = in->m->count[in->next_msg];
        if (in->fed - st->stored + k > LIMIT_GOSSIP_CANDIDATES)
            return;
        int rc = gossip_on_message(in->g, SENDER, GOSSIP_MSG_RECORDS, in->m->body[in->next_msg],
                                   in->m->len[in->next_msg], uv_now(&in->loop), unix_ms());
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

/* Once per loop turn, as the shell's gossip_turn: commit and send, then take more records. */
static void on_prepare(uv_prepare_t *p)
{
    struct ingest *in = p->data;
    const double t0 = bench_now_s();
    in->turns++;
    if (gossip_flush(in->g, uv_now(&in->loop), unix_ms()) != GOSSIP_OK)
        in->err = -1;
    const double t1 = bench_now_s();
    feed(in);
    if (in->err != 0 || (in->next_msg == in->m->n && gossip_idle(in->g))) {
        finish(in);
    } else {
        uint64_t next = gossip_next_deadline(in->g), now = uv_now(&in->loop);
        if (next == UINT64_MAX)
            uv_timer_stop(&in->timer);
        else
            uv_timer_start(&in->timer, on_timer, next > now ? next - now : 0, 0);
    }
    in->flush_s += t1 - t0;
    in->feed_s += bench_now_s() - t1;
}

/* --- setup --- */

static void fill_key(uint8_t key[LIMIT_KEY_BYTES], uint8_t b)
{
    memset(key, b, LIMIT_KEY_BYTES);
}

/* Peers 0..n_up-1 up, all in this node's organisation so that every record may be announced to
 * them. This node's key sorts after theirs: no side starts reconciliation during the run. */
static int peers_up(struct gossip *g, size_t n_up, uint64_t now)
{
    for (size_t i = 0; i < n_up; i++) {
        struct gate_peer v = {.authenticated = true, .ceiling = PROTO_TLP_RED};
        fill_key(v.key, (uint8_t)(1 + i));
        strcpy(v.org, "bench-org");
        if (gossip_peer_up(g, i, &v, now) != GOSSIP_OK)
            return -1;
    }
    return 0;
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

/* The same records again, from the same peer: each must be dropped on its id. */
static int run_dups(struct ingest *in, size_t n, struct bench_ingest_result *res)
{
    const struct gossip_stats *st = gossip_stats(in->g);
    const uint64_t submitted = st->verify_submitted, dups = st->duplicates;
    const double t0 = bench_now_s();
    for (size_t i = 0; i < in->m->n; i++)
        if (gossip_on_message(in->g, SENDER, GOSSIP_MSG_RECORDS, in->m->body[i], in->m->len[i],
                              uv_now(&in->loop), unix_ms()) != GOSSIP_OK)
            return -1;
    if (gossip_flush(in->g, uv_now(&in->loop), unix_ms()) != GOSSIP_OK)
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
    const struct gossip_stats *st = gossip_stats(in->g);
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
    struct gossip_params gp = {.max_peers = 1 + o->peers};
    fill_key(gp.self.key, 0xff);
    strcpy(gp.self.org, "bench-org");
    struct gossip_io io = {.ctx = &in, .send = io_send, .close_peer = io_close_peer,
                           .verify = io_verify, .log = io_log};
    if (gossip_new(&in.g, &gp, &ops, &io) != GOSSIP_OK ||
        peers_up(in.g, gp.max_peers, uv_now(&in.loop)) != 0) {
        fprintf(stderr, "tlpmesh-bench: ingest: cannot set up gossip\n");
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
               "verified %.2f s; gossip sent %llu messages (%llu bytes)\n",
               m.n, m.count[0], res->ingest_wall_s, res->ingest_cpu_s,
               (unsigned long long)in.turns, in.flush_s, (unsigned long long)ts.puts, ts.put_s, ts.put_cpu_s,
               in.feed_s, in.verified_s,
               (unsigned long long)in.sent_msgs, (unsigned long long)in.sent_bytes);
    rc = run_dups(&in, c->n, res);
out:
    if (in.jobs_out == 0)
        gossip_free(in.g);
    gossip_lmdb_free(&lm);
    store_close(s);
    uv_loop_close(&in.loop);
    msgs_free(&m);
    return rc;
}
