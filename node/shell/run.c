/* run.c - see run.h. */
#include "node/shell/run.h"

#include <assert.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <sodium.h>
#include <uv.h>

#include "crypto/keys.h"
#include "node/config/config.h"
#include "node/shell/control.h"
#include "node/core/community.h"
#include "node/core/engine.h"
#include "node/core/gossip.h"
#include "node/shell/http.h" /* taxii helper */
#include "node/shell/log.h"  /* taxii helper */
#include "store/gossip_lmdb.h"
#include "store/store.h"

enum { RUN_OK = 0, RUN_FAIL = 1, RUN_USAGE = 2 };

struct rconn;

struct run {
    uv_loop_t loop;
    uv_tcp_t listener;
    bool listening;
    uv_timer_t timer;
    uv_timer_t prune_timer; /* expired records past LIMIT_PRUNE_GRACE_MS leave the store */
    uv_prepare_t prepare;
    uv_signal_t sig_int, sig_term, sig_hup;
    struct control_server control;
    struct config cfg;
    struct keys_identity id;
    struct store *store;
    struct engine engine;
    bool engine_ready;
    struct rconn *conns[LIMIT_CONNS]; /* by engine slot: connections the engine knows */
    struct gossip *gossip;
    struct gossip_lmdb lmdb;
    struct community_table ctab;
    bool gossip_dirty;               /* a roster or the config changed: refresh gate views */
    bool close_peer[LIMIT_PEERS];    /* gossip asked to end these sessions (applied per turn) */
    struct gossip_job *inline_jobs;  /* jobs the thread pool refused: run on the loop */
    unsigned gossip_depth;           /* inside a gossip call: engine events must wait */
    bool down_pending[LIMIT_PEERS];  /* sessions that ended meanwhile (a failed engine_send) */
    bool stopping;
    int exit_code;
    struct http_server *http; /* taxii helper: [HTTP] server, NULL when off */
    uint64_t start_ms;        /* taxii helper */
};

/* One TCP connection. Lives until its handle's close callback. */
struct rconn {
    uv_tcp_t tcp;
    struct run *r;
    engine_conn id;
    bool known;      /* the engine still knows this connection */
    bool close_after_flush;
    bool writing;
    uv_connect_t connect_req;
    uv_getaddrinfo_t resolve_req;
    uint16_t port;
    uv_write_t write_req;
    char *out, *inflight; /* queued bytes; bytes being written */
    size_t out_len, out_cap, inflight_len, inflight_cap;
    bool resolving;    /* uv_getaddrinfo holds a pointer to this struct */
    bool free_pending; /* handle closed while resolving: on_resolved frees */
};

static uint8_t read_buf[LIMIT_FRAME_BYTES + 2];

static size_t slot_of(engine_conn id)
{
    return (size_t)(id & 0xffffffffu);
}

static uint64_t now_ms(const struct run *r)
{
    return uv_now(&r->loop);
}

static uint64_t unix_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* --- connections --- */

static void on_conn_closed(uv_handle_t *h)
{
    struct rconn *c = h->data;
    if (c->resolving) {
        c->free_pending = true;
        return;
    }
    free(c->out);
    free(c->inflight);
    free(c);
}

static void conn_forget(struct rconn *c)
{
    if (c->known && c->r->conns[slot_of(c->id)] == c)
        c->r->conns[slot_of(c->id)] = NULL;
    c->known = false;
}

static void conn_close_now(struct rconn *c)
{
    conn_forget(c);
    if (!uv_is_closing((uv_handle_t *)&c->tcp))
        uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
}

static struct rconn *conn_new(struct run *r)
{
    struct rconn *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->r = r;
    uv_tcp_init(&r->loop, &c->tcp);
    c->tcp.data = c;
    uv_tcp_nodelay(&c->tcp, 1);
    return c;
}

static void conn_flush(struct rconn *c);

static void on_written(uv_write_t *req, int status)
{
    struct rconn *c = req->data;
    c->writing = false;
    c->inflight_len = 0;
    if (status < 0) {
        if (c->known)
            engine_on_closed(&c->r->engine, c->id, now_ms(c->r));
        conn_close_now(c);
        return;
    }
    conn_flush(c);
}

/* Writes everything queued in one uv_write (many engine frames per system call). */
static void conn_flush(struct rconn *c)
{
    if (c->writing || uv_is_closing((uv_handle_t *)&c->tcp))
        return;
    if (c->out_len == 0) {
        if (c->close_after_flush)
            conn_close_now(c);
        return;
    }
    char *tmp = c->inflight;
    size_t tmp_cap = c->inflight_cap;
    c->inflight = c->out;
    c->inflight_cap = c->out_cap;
    c->inflight_len = c->out_len;
    c->out = tmp;
    c->out_cap = tmp_cap;
    c->out_len = 0;
    uv_buf_t buf = uv_buf_init(c->inflight, (unsigned)c->inflight_len);
    c->write_req.data = c;
    c->writing = true;
    if (uv_write(&c->write_req, (uv_stream_t *)&c->tcp, &buf, 1, on_written) < 0) {
        c->writing = false;
        if (c->known)
            engine_on_closed(&c->r->engine, c->id, now_ms(c->r));
        conn_close_now(c);
    }
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)h, (void)suggested;
    buf->base = (char *)read_buf; /* consumed inside on_read: one buffer serves every socket */
    buf->len = sizeof read_buf;
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct rconn *c = s->data;
    if (nread == 0 || !c->known)
        return;
    if (nread < 0) {
        engine_on_closed(&c->r->engine, c->id, now_ms(c->r));
        conn_close_now(c);
        return;
    }
    engine_on_data(&c->r->engine, c->id, (const uint8_t *)buf->base, (size_t)nread,
                   now_ms(c->r));
}

/* --- engine io --- */

static struct rconn *conn_of(struct run *r, engine_conn id)
{
    struct rconn *c = r->conns[slot_of(id)];
    return c && c->id == id ? c : NULL;
}

static int io_send(void *ctx, engine_conn id, const uint8_t *bytes, size_t len)
{
    struct rconn *c = conn_of(ctx, id);
    if (!c)
        return -1;
    if (c->out_len + c->inflight_len + len > LIMIT_PEER_SENDQ_BYTES)
        return -1;
    if (c->out_len + len > c->out_cap) {
        size_t cap = c->out_cap ? c->out_cap : 4096;
        while (cap < c->out_len + len)
            cap *= 2;
        char *nb = realloc(c->out, cap);
        if (!nb)
            return -1;
        c->out = nb;
        c->out_cap = cap;
    }
    memcpy(c->out + c->out_len, bytes, len);
    c->out_len += len;
    return 0;
}

static void io_close(void *ctx, engine_conn id)
{
    struct rconn *c = conn_of(ctx, id);
    if (!c)
        return;
    conn_forget(c);
    uv_read_stop((uv_stream_t *)&c->tcp);
    c->close_after_flush = true;
    conn_flush(c);
}

static void on_connect(uv_connect_t *req, int status)
{
    struct rconn *c = req->data;
    if (!c->known) {
        conn_close_now(c);
        return;
    }
    if (status < 0 || uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) < 0) {
        engine_on_closed(&c->r->engine, c->id, now_ms(c->r));
        conn_close_now(c);
        return;
    }
    engine_on_connected(&c->r->engine, c->id, now_ms(c->r));
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    struct rconn *c = req->data;
    c->resolving = false;
    if (c->free_pending) { /* closed while resolving */
        uv_freeaddrinfo(res);
        on_conn_closed((uv_handle_t *)&c->tcp);
        return;
    }
    int rc = status;
    if (c->known && rc == 0) {
        struct sockaddr_storage sa;
        memcpy(&sa, res->ai_addr, res->ai_addrlen);
        if (sa.ss_family == AF_INET6)
            ((struct sockaddr_in6 *)&sa)->sin6_port = htons(c->port);
        else
            ((struct sockaddr_in *)&sa)->sin_port = htons(c->port);
        c->connect_req.data = c;
        rc = uv_tcp_connect(&c->connect_req, &c->tcp, (struct sockaddr *)&sa, on_connect);
    }
    uv_freeaddrinfo(res);
    if (rc == 0 && c->known)
        return;
    if (c->known)
        engine_on_closed(&c->r->engine, c->id, now_ms(c->r));
    conn_close_now(c);
}

static int io_dial(void *ctx, engine_conn id, const char *host, uint16_t port)
{
    struct run *r = ctx;
    struct rconn *c = conn_new(r);
    if (!c)
        return -1;
    c->id = id;
    c->known = true;
    c->port = port;
    r->conns[slot_of(id)] = c;
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    c->resolve_req.data = c;
    c->resolving = true;
    if (uv_getaddrinfo(&r->loop, &c->resolve_req, on_resolved, host, NULL, &hints) < 0) {
        c->resolving = false;
        conn_close_now(c);
        return -1;
    }
    return 0;
}

static void io_random(void *ctx, uint8_t *buf, size_t n)
{
    (void)ctx;
    randombytes_buf(buf, n);
}

static void io_log(void *ctx, enum engine_log_level level, const char *event, const uint8_t *key,
                   const char *addr, const char *detail)
{
    struct run *r = ctx;
    char b64[LIMIT_PUBKEY_B64_LEN + 1] = "-";
    const char *name = "-";
    if (key) {
        keys_pubkey_to_b64(key, b64);
        const struct config_peer *p = config_find_peer(&r->cfg, key);
        if (p && p->name[0])
            name = p->name;
    }
    log_event(level == ENGINE_LOG_WARN ? LOG_WARN : LOG_INFO, event, detail, "peer", b64, "name",
              name, "addr", addr, NULL);
}

/* --- gossip --- */

/* gossip must not be re-entered from its own io calls: an engine_send that fails ends the
 * session and reports the peer down from inside gossip's call. Such reports wait until the
 * outermost gossip call returns. */
static void gossip_enter(struct run *r)
{
    r->gossip_depth++;
}

static void gossip_leave(struct run *r)
{
    assert(r->gossip_depth > 0);
    if (--r->gossip_depth > 0)
        return;
    for (size_t i = 0; i < LIMIT_PEERS; i++)
        if (r->down_pending[i]) {
            r->down_pending[i] = false;
            gossip_peer_down(r->gossip, i);
        }
}

/* Verification runs on libuv's thread pool: one job per RECORDS message, so several messages'
 * signatures are checked at once while the loop goes on. */
struct verify_work {
    uv_work_t req;
    struct run *r;
    struct gossip_job *job;
};

static void verify_work_cb(uv_work_t *req)
{
    struct verify_work *vw = req->data;
    gossip_job_run(vw->job);
}

static void verify_after_cb(uv_work_t *req, int status)
{
    struct verify_work *vw = req->data;
    struct run *r = vw->r;
    if (status < 0) /* cancelled, never run: check it here rather than trust it */
        gossip_job_run(vw->job);
    gossip_enter(r);
    gossip_on_verified(r->gossip, vw->job, now_ms(r), unix_ms());
    gossip_leave(r);
    free(vw);
}

static void gio_verify(void *ctx, struct gossip_job *job)
{
    struct run *r = ctx;
    struct verify_work *vw = malloc(sizeof *vw);
    if (vw != NULL) {
        vw->req.data = vw;
        vw->r = r;
        vw->job = job;
        if (uv_queue_work(&r->loop, &vw->req, verify_work_cb, verify_after_cb) == 0)
            return;
        free(vw);
    }
    job->user = r->inline_jobs; /* checked on the loop at the next turn */
    r->inline_jobs = job;
}

static int gio_send(void *ctx, size_t peer, uint8_t type, const uint8_t *body, size_t len)
{
    struct run *r = ctx;
    return engine_send(&r->engine, peer, type, body, len, now_ms(r));
}

static struct rconn *conn_of(struct run *r, engine_conn id);

static size_t gio_backlog(void *ctx, size_t peer)
{
    struct run *r = ctx;
    engine_conn h;
    if (!engine_peer_conn(&r->engine, peer, &h))
        return 0;
    struct rconn *c = conn_of(r, h);
    return c ? c->out_len + c->inflight_len : 0;
}

/* Applied at the next loop turn, outside gossip's and the engine's call stacks. */
static void gio_close_peer(void *ctx, size_t peer, int err)
{
    struct run *r = ctx;
    (void)err; /* gossip logged it */
    if (peer < LIMIT_PEERS)
        r->close_peer[peer] = true;
}

static void gio_stored(void *ctx, const uint8_t id[LIMIT_ID_BYTES], uint8_t kind)
{
    struct run *r = ctx;
    (void)id;
    if (kind == PROTO_KIND_ROSTER)
        r->gossip_dirty = true;
}

static void gio_log(void *ctx, enum gossip_log_level level, size_t peer, const char *line)
{
    struct run *r = ctx;
    (void)level;
    char b64[LIMIT_PUBKEY_B64_LEN + 1] = "-";
    struct engine_peer_conf conf;
    if (peer < LIMIT_PEERS && engine_peer_get(&r->engine, peer, &conf, NULL))
        keys_pubkey_to_b64(conf.key, b64);
    fprintf(stderr, "tlpmesh: gossip peer=%s: %s\n", b64, line);
}

static void community_log(void *ctx, const char *line)
{
    (void)ctx;
    fprintf(stderr, "tlpmesh: %s\n", line);
}

/* The gate's view of peer from the config and the trusted rosters. */
static bool peer_view(struct run *r, size_t peer, struct gate_peer *view)
{
    struct engine_peer_conf conf;
    if (!engine_peer_get(&r->engine, peer, &conf, NULL))
        return false;
    int rc = community_fill_peer(&r->ctab, &r->cfg, conf.key, true, view);
    if (rc == COMMUNITY_E_TOOMANY)
        fprintf(stderr, "tlpmesh: peer %s: %s\n", conf.name, community_strerror(rc));
    return true;
}

/* Rosters or the config changed: rebuild memberships and give gossip the new gate views. */
static void gossip_refresh(struct run *r)
{
    r->gossip_dirty = false;
    int rc = community_table_build(&r->ctab, r->store, &r->cfg, r->id.sign_pk, false,
                                   community_log, r);
    if (rc < 0 && rc != COMMUNITY_E_TOOMANY)
        fprintf(stderr, "tlpmesh: communities: %s (no community memberships until fixed)\n",
                community_strerror(rc));
    struct gate_self self;
    community_fill_self(&r->ctab, &r->cfg, &self);
    gossip_set_self(r->gossip, &self);
    for (size_t i = 0; i < LIMIT_PEERS; i++) { /* views only: no message is sent */
        struct gate_peer view;
        struct engine_peer_stats st;
        if (engine_peer_get(&r->engine, i, NULL, &st) && st.state == ENGINE_PEER_CONNECTED &&
            peer_view(r, i, &view))
            gossip_peer_up(r->gossip, i, &view, now_ms(r));
    }
}

static void eio_message(void *ctx, size_t peer, uint8_t type, const uint8_t *body, size_t len)
{
    struct run *r = ctx;
    gossip_enter(r);
    gossip_on_message(r->gossip, peer, type, body, len, now_ms(r), unix_ms());
    gossip_leave(r);
}

static void eio_peer_change(void *ctx, size_t peer, bool up)
{
    struct run *r = ctx;
    struct gate_peer view;
    if (!up && r->gossip_depth > 0) {
        r->down_pending[peer] = true;
    } else if (!up) {
        gossip_peer_down(r->gossip, peer);
    } else if (peer_view(r, peer, &view)) {
        assert(r->gossip_depth == 0); /* sessions open only on received bytes */
        gossip_enter(r);
        gossip_peer_up(r->gossip, peer, &view, now_ms(r));
        gossip_leave(r);
    }
}

/* Once per loop turn: requested closes, refused jobs, gate views, then commit and send. */
static void gossip_turn(struct run *r)
{
    gossip_enter(r);
    for (size_t i = 0; i < LIMIT_PEERS; i++)
        if (r->close_peer[i]) {
            r->close_peer[i] = false;
            engine_close_peer(&r->engine, i);
        }
    while (r->inline_jobs != NULL) {
        struct gossip_job *job = r->inline_jobs;
        r->inline_jobs = job->user;
        gossip_job_run(job);
        gossip_on_verified(r->gossip, job, now_ms(r), unix_ms());
    }
    if (r->gossip_dirty)
        gossip_refresh(r);
    int rc = gossip_flush(r->gossip, now_ms(r), unix_ms());
    if (rc < 0)
        fprintf(stderr, "tlpmesh: gossip: %s\n", gossip_strerror(rc));
    gossip_leave(r);
}

/* --- listener --- */

static void on_inbound(uv_stream_t *server, int status)
{
    struct run *r = server->data;
    if (status < 0)
        return;
    struct rconn *c = conn_new(r);
    if (!c)
        return;
    if (uv_accept(server, (uv_stream_t *)&c->tcp) < 0) {
        conn_close_now(c);
        return;
    }
    struct sockaddr_storage sa;
    int len = sizeof sa;
    char ip[64] = "?";
    uint16_t port = 0;
    if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&sa, &len) == 0) {
        if (sa.ss_family == AF_INET6) {
            uv_ip6_name((struct sockaddr_in6 *)&sa, ip, sizeof ip);
            port = ntohs(((struct sockaddr_in6 *)&sa)->sin6_port);
        } else {
            uv_ip4_name((struct sockaddr_in *)&sa, ip, sizeof ip);
            port = ntohs(((struct sockaddr_in *)&sa)->sin_port);
        }
    }
    int64_t id = engine_on_accept(&r->engine, ip, port, now_ms(r));
    if (id < 0 || r->stopping) {
        conn_close_now(c); /* refused: logged and counted by the engine */
        return;
    }
    c->id = (engine_conn)id;
    c->known = true;
    r->conns[slot_of(c->id)] = c;
    if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) < 0) {
        engine_on_closed(&r->engine, c->id, now_ms(r));
        conn_close_now(c);
    }
}

static int start_listener(struct run *r)
{
    char port[8];
    snprintf(port, sizeof port, "%u", (unsigned)r->cfg.listen.port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE};
    uv_getaddrinfo_t req;
    int rc = uv_getaddrinfo(&r->loop, &req, NULL, r->cfg.listen.host, port, &hints);
    if (rc == 0) {
        uv_tcp_init(&r->loop, &r->listener);
        r->listener.data = r;
        r->listening = true;
        rc = uv_tcp_bind(&r->listener, req.addrinfo->ai_addr, 0);
        uv_freeaddrinfo(req.addrinfo);
    }
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&r->listener, 128, on_inbound);
    if (rc < 0) {
        fprintf(stderr, "tlpmesh: %s: Listen %s:%s: %s\n", r->cfg.path, r->cfg.listen.host, port,
                uv_strerror(rc));
        return RUN_FAIL;
    }
    fprintf(stderr, "tlpmesh: listening on %s:%s\n", r->cfg.listen.host, port);
    return RUN_OK;
}

/* --- peers from the config --- */

static int apply_peers(struct run *r, const struct config *cfg)
{
    struct engine_peer_conf *confs = calloc(cfg->n_peers ? cfg->n_peers : 1, sizeof *confs);
    if (!confs)
        return ENGINE_E_NOMEM;
    for (size_t i = 0; i < cfg->n_peers; i++) {
        const struct config_peer *p = &cfg->peers[i];
        memcpy(confs[i].key, p->key, LIMIT_KEY_BYTES);
        snprintf(confs[i].name, sizeof confs[i].name, "%s", p->name);
        snprintf(confs[i].org, sizeof confs[i].org, "%s", p->organisation);
        if (p->has_endpoint) {
            snprintf(confs[i].host, sizeof confs[i].host, "%s", p->endpoint.host);
            confs[i].port = p->endpoint.port;
        }
    }
    int rc = engine_set_peers(&r->engine, confs, cfg->n_peers, now_ms(r));
    free(confs);
    return rc;
}

/* Re-reads the config; only the peers change while running. why gets the first problem. */
static int reload(struct run *r, char *why, size_t why_len)
{
    struct config cfg;
    struct config_diag diag;
    config_init(&cfg);
    int rc = config_load(r->cfg.path, &cfg, &diag);
    if (rc < 0) {
        config_diag_print(&diag, stderr);
        snprintf(why, why_len, "%s", diag.count ? diag.lines[0] : config_strerror(rc));
        config_free(&cfg);
        return rc;
    }
    rc = apply_peers(r, &cfg);
    if (rc < 0) {
        snprintf(why, why_len, "%.200s: %s", r->cfg.path, engine_strerror(rc));
        config_free(&cfg);
        return rc;
    }
    config_free(&r->cfg);
    r->cfg = cfg; /* owns the peer array now */
    fprintf(stderr, "tlpmesh: reloaded %s: %zu peers\n", r->cfg.path, r->cfg.n_peers);
    r->gossip_dirty = true; /* organisations, ceilings, communities may have changed */
    return 0;
}

/* --- control --- */

/* Gossip's counters for peer slot i; refused_total leaves out "peer-has" (dedupe, not policy). */
static json_t *gossip_peer_json(const struct run *r, size_t i)
{
    static const struct gossip_peer_stats none;
    const struct gossip_peer_stats *s = gossip_peer_stats(r->gossip, i);
    s = s ? s : &none;
    json_t *refused = json_object();
    uint64_t total = 0;
    for (int v = GATE_ALLOW + 1; v < GATE_VERDICT_COUNT; v++) {
        if (s->refused[v] == 0)
            continue;
        json_object_set_new(refused, gate_verdict_name(v), json_integer((json_int_t)s->refused[v]));
        total += v == GATE_DENY_PEER_HAS ? 0 : s->refused[v];
    }
    return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:I, s:I, s:I, s:I, s:I, s:I, s:I,"
                     " s:I, s:I}",
                     "records_sent", (json_int_t)s->records_sent, "records_received",
                     (json_int_t)s->records_received, "duplicates", (json_int_t)s->duplicates,
                     "forged", (json_int_t)s->forged, "refused_time",
                     (json_int_t)s->refused_time, "malformed", (json_int_t)s->malformed,
                     "refused_total", (json_int_t)total, "refused", refused, "announce_in",
                     (json_int_t)s->announce_in, "announce_out", (json_int_t)s->announce_out,
                     "want_in", (json_int_t)s->want_in, "want_out", (json_int_t)s->want_out,
                     "recon_rounds", (json_int_t)s->recon_rounds, "recon_bytes_in",
                     (json_int_t)s->recon_bytes_in, "recon_bytes_out",
                     (json_int_t)s->recon_bytes_out, "skipped_backlog",
                     (json_int_t)s->skipped_backlog, "dropped_overload",
                     (json_int_t)s->dropped_overload);
}

/* /metrics: the node-wide counters and the gate's refusals summed over peers. */
static void metrics_fill_gossip(void *ctx, struct metrics_gossip *out)
{
    const struct run *r = ctx;
    memset(out, 0, sizeof *out);
    if (r->gossip == NULL)
        return;
    const struct gossip_stats *s = gossip_stats(r->gossip);
    out->records_ingested = s->stored;
    out->records_duplicate = s->duplicates + s->store_duplicates;
    out->records_invalid = s->verify_forged + s->verify_malformed + s->refused_time;
    for (size_t i = 0; i < LIMIT_PEERS; i++) {
        const struct gossip_peer_stats *p = gossip_peer_stats(r->gossip, i);
        for (size_t v = 0; p != NULL && v < GATE_VERDICT_COUNT; v++)
            out->gate_refusals[v] += p->refused[v];
    }
}

static json_t *gossip_json(const struct run *r)
{
    const struct gossip_stats *s = gossip_stats(r->gossip);
    return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
                     "verify_submitted", (json_int_t)s->verify_submitted, "verify_ok",
                     (json_int_t)s->verify_ok, "verify_forged", (json_int_t)s->verify_forged,
                     "verify_malformed", (json_int_t)s->verify_malformed, "refused_time",
                     (json_int_t)s->refused_time, "duplicates", (json_int_t)s->duplicates,
                     "stored", (json_int_t)s->stored, "store_revoked",
                     (json_int_t)s->store_revoked, "store_errors", (json_int_t)s->store_errors,
                     "dropped_overload", (json_int_t)s->dropped_overload, "local_pushed",
                     (json_int_t)s->local_pushed, "announce_dropped",
                     (json_int_t)s->announce_dropped, "sent_fail", (json_int_t)s->sent_fail);
}

static json_t *peer_json(struct run *r, size_t i, uint64_t mono, uint64_t wall)
{
    struct engine_peer_conf conf;
    struct engine_peer_stats st;
    if (!engine_peer_get(&r->engine, i, &conf, &st))
        return NULL;
    char b64[LIMIT_PUBKEY_B64_LEN + 1];
    keys_pubkey_to_b64(conf.key, b64);
    json_t *since = st.state == ENGINE_PEER_CONNECTED
                        ? json_integer((json_int_t)(wall - (mono - st.since)))
                        : json_null();
    return json_pack("{s:s, s:s, s:s, s:s, s:s?, s:o, s:I, s:I, s:I, s:I, s:I, s:s?}", "key", b64,
                     "name", conf.name, "org", conf.org, "state",
                     engine_peer_state_str(st.state), "address",
                     st.address[0] ? st.address : NULL, "since", since, "bytes_in",
                     (json_int_t)st.bytes_in, "bytes_out", (json_int_t)st.bytes_out, "frames_in",
                     (json_int_t)st.frames_in, "frames_out", (json_int_t)st.frames_out,
                     "sessions", (json_int_t)st.sessions, "last_error",
                     st.last_error ? engine_strerror(st.last_error) : NULL);
}

static json_t *status_json(struct run *r)
{
    char b64[LIMIT_PUBKEY_B64_LEN + 1];
    keys_pubkey_to_b64(r->id.sign_pk, b64);
    char listen[LIMIT_CONFIG_HOST_BYTES + 8] = "";
    if (r->cfg.has_listen)
        snprintf(listen, sizeof listen, "%s:%u", r->cfg.listen.host, (unsigned)r->cfg.listen.port);
    json_t *peers = json_array();
    uint64_t mono = now_ms(r), wall = unix_ms();
    for (size_t i = 0; i < LIMIT_PEERS; i++) {
        json_t *p = peer_json(r, i, mono, wall);
        if (p) {
            json_object_set_new(p, "gossip", gossip_peer_json(r, i));
            json_array_append_new(peers, p);
        }
    }
    const struct engine_stats *s = &r->engine.stats;
    json_t *st = json_pack("{s:b, s:s, s:s, s:s, s:s?, s:o, s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I}}",
                     "ok", 1, "key", b64, "network", r->cfg.network, "organisation",
                     r->cfg.organisation, "listen", listen[0] ? listen : NULL, "peers", peers,
                     "counters", "accepted", (json_int_t)s->accepted, "refused_rate",
                     (json_int_t)s->refused_rate, "refused_half_open",
                     (json_int_t)s->refused_half_open, "handshakes_ok",
                     (json_int_t)s->handshakes_ok, "handshakes_failed",
                     (json_int_t)s->handshakes_failed, "protocol_errors",
                     (json_int_t)s->protocol_errors, "timeouts", (json_int_t)s->timeouts);
    if (st != NULL)
        json_object_set_new(st, "gossip", gossip_json(r));
    return st;
}

static json_t *on_control(void *ctx, const json_t *req)
{
    struct run *r = ctx;
    const char *cmd = json_string_value(json_object_get(req, "cmd"));
    if (!cmd)
        return json_pack("{s:b, s:s}", "ok", 0, "error", "request has no \"cmd\" string");
    if (strcmp(cmd, "status") == 0)
        return status_json(r);
    if (strcmp(cmd, "reload") == 0) {
        char why[LIMIT_CONFIG_DIAG_BYTES];
        if (reload(r, why, sizeof why) < 0)
            return json_pack("{s:b, s:s}", "ok", 0, "error", why);
        return json_pack("{s:b, s:I}", "ok", 1, "peers", (json_int_t)r->cfg.n_peers);
    }
    if (strcmp(cmd, "records-added") == 0) {
        gossip_enter(r);
        int rc = gossip_local_scan(r->gossip, now_ms(r), unix_ms());
        gossip_leave(r);
        if (rc < 0)
            return json_pack("{s:b, s:s}", "ok", 0, "error", gossip_strerror(rc));
        return json_pack("{s:b}", "ok", 1);
    }
    char msg[128];
    snprintf(msg, sizeof msg, "unknown command '%.64s'", cmd);
    return json_pack("{s:b, s:s}", "ok", 0, "error", msg);
}

/* --- loop plumbing --- */

static void on_timer(uv_timer_t *t)
{
    struct run *r = t->data;
    if (!r->stopping)
        engine_tick(&r->engine, now_ms(r));
}

/* Once per loop turn, before waiting: write what the engine queued, arm the one timer. */
static void on_prepare(uv_prepare_t *p)
{
    struct run *r = p->data;
    gossip_turn(r);
    for (size_t i = 0; i < LIMIT_CONNS; i++)
        if (r->conns[i])
            conn_flush(r->conns[i]);
    uint64_t next = engine_next_deadline(&r->engine), now = now_ms(r);
    uint64_t gnext = gossip_next_deadline(r->gossip);
    next = gnext < next ? gnext : next;
    if (next == UINT64_MAX)
        uv_timer_stop(&r->timer);
    else
        uv_timer_start(&r->timer, on_timer, next > now ? next - now : 0, 0);
}

/* One bounded prune transaction per run; a full batch means more are due: run again at once
 * (the next loop turn) rather than a minute later, so a backlog drains without long turns. */
static void on_prune(uv_timer_t *t)
{
    struct run *r = t->data;
    size_t pruned = 0;
    int rc = store_prune_expired(r->store, unix_ms(), LIMIT_PRUNE_GRACE_MS, LIMIT_PRUNE_BATCH,
                                 &pruned);
    if (rc < 0) {
        log_event(LOG_WARN, "prune_failed", store_strerror(rc), NULL);
        return;
    }
    if (pruned > 0) {
        char n[24];
        snprintf(n, sizeof n, "%zu", pruned);
        log_event(LOG_INFO, "pruned", "expired records removed", "records", n, NULL);
    }
    if (pruned == LIMIT_PRUNE_BATCH)
        uv_timer_start(t, on_prune, 0, LIMIT_PRUNE_INTERVAL_MS);
}

static void close_walk(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (uv_is_closing(h))
        return;
    if (h->type == UV_TCP && h->data && h->data != arg)
        uv_close(h, on_conn_closed); /* an rconn */
    else
        uv_close(h, NULL);
}

static void on_shutdown_deadline(uv_timer_t *t)
{
    struct run *r = t->data;
    fprintf(stderr, "tlpmesh: shutdown: peers did not take our CLOSE in time, cutting\n");
    uv_walk(&r->loop, close_walk, r);
}

static void stop(struct run *r)
{
    if (r->stopping)
        return;
    r->stopping = true;
    fprintf(stderr, "tlpmesh: shutting down\n");
    engine_shutdown(&r->engine); /* CLOSE(SHUTDOWN) queued and io_close on every connection */
    uv_prepare_stop(&r->prepare);
    uv_close((uv_handle_t *)&r->prepare, NULL);
    uv_close((uv_handle_t *)&r->prune_timer, NULL);
    uv_close((uv_handle_t *)&r->sig_int, NULL);
    uv_close((uv_handle_t *)&r->sig_term, NULL);
    uv_close((uv_handle_t *)&r->sig_hup, NULL);
    if (r->listening)
        uv_close((uv_handle_t *)&r->listener, NULL);
    control_close(&r->control);
    http_stop(r->http); /* taxii helper */
    uv_timer_start(&r->timer, on_shutdown_deadline, LIMIT_SHUTDOWN_MS, 0);
    uv_unref((uv_handle_t *)&r->timer); /* do not wait for it if everything closes first */
}

static void on_signal(uv_signal_t *s, int signum)
{
    struct run *r = s->data;
    if (signum == SIGHUP) {
        char why[LIMIT_CONFIG_DIAG_BYTES];
        if (log_reopen(why, sizeof why) != LOG_OK) /* taxii helper: logrotate */
            fprintf(stderr, "tlpmesh: %s\n", why);
        if (reload(r, why, sizeof why) < 0)
            fprintf(stderr, "tlpmesh: reload refused, keeping the running peers: %s\n", why);
        return;
    }
    stop(r);
}

static int start_handles(struct run *r)
{
    uv_timer_init(&r->loop, &r->timer);
    r->timer.data = r;
    uv_prepare_init(&r->loop, &r->prepare);
    r->prepare.data = r;
    uv_prepare_start(&r->prepare, on_prepare);
    uv_timer_init(&r->loop, &r->prune_timer);
    r->prune_timer.data = r;
    uv_timer_start(&r->prune_timer, on_prune, 0, LIMIT_PRUNE_INTERVAL_MS); /* first at start */
    uv_signal_t *sigs[] = {&r->sig_int, &r->sig_term, &r->sig_hup};
    int nums[] = {SIGINT, SIGTERM, SIGHUP};
    for (size_t i = 0; i < 3; i++) {
        uv_signal_init(&r->loop, sigs[i]);
        sigs[i]->data = r;
        uv_signal_start(sigs[i], on_signal, nums[i]);
    }
    char why[LIMIT_PATH_BYTES + 128];
    if (control_listen(&r->control, &r->loop, r->cfg.control_path, on_control, r, why,
                       sizeof why) < 0) {
        fprintf(stderr, "tlpmesh: %s\n", why);
        return RUN_FAIL;
    }
    /* --- taxii helper: the [HTTP] server (node/shell/http.h) --- */
    const struct http_params hp = {.loop = &r->loop, .cfg = &r->cfg, .store = r->store,
                                   .node_key = r->id.sign_pk, .engine = &r->engine,
                                   .gossip_fill = metrics_fill_gossip, .gossip_ctx = r,
                                   .start_ms = r->start_ms};
    if (http_start(&r->http, &hp, why, sizeof why) != HTTP_OK) {
        fprintf(stderr, "tlpmesh: %s\n", why);
        return RUN_FAIL;
    }
    /* --- end taxii helper --- */
    return r->cfg.has_listen ? start_listener(r) : RUN_OK;
}

/* Gossip over the store, with the gate views of the config and the trusted rosters. */
static int start_gossip(struct run *r)
{
    struct gossip_store_ops ops;
    struct store_stats ss;
    int rc = gossip_lmdb_init(&r->lmdb, r->store, &ops);
    if (rc == GOSSIP_OK && store_stats(r->store, &ss) < 0)
        rc = GOSSIP_E_STORE;
    if (rc == GOSSIP_OK) {
        rc = community_table_build(&r->ctab, r->store, &r->cfg, r->id.sign_pk, false,
                                   community_log, r);
        if (rc < 0 && rc != COMMUNITY_E_TOOMANY) {
            fprintf(stderr, "tlpmesh: communities: %s\n", community_strerror(rc));
            return RUN_FAIL;
        }
        struct gossip_params gp = {.max_peers = LIMIT_PEERS, .start_seq = ss.last_seq};
        community_fill_self(&r->ctab, &r->cfg, &gp.self);
        randombytes_buf(gp.hash_key, sizeof gp.hash_key);
        struct gossip_io gio = {.ctx = r, .send = gio_send, .backlog = gio_backlog,
                                .close_peer = gio_close_peer, .verify = gio_verify,
                                .stored = gio_stored, .log = gio_log};
        rc = gossip_new(&r->gossip, &gp, &ops, &gio);
    }
    if (rc < 0) {
        fprintf(stderr, "tlpmesh: gossip: %s\n", gossip_strerror(rc));
        return RUN_FAIL;
    }
    return RUN_OK;
}

/* Config, key, store: the things that must be right before the loop starts. */
static int load_node(struct run *r, const char *config_path)
{
    struct config_diag diag;
    int rc = config_load(config_path, &r->cfg, &diag);
    if (rc < 0) {
        config_diag_print(&diag, stderr);
        return RUN_USAGE;
    }
    char why[LIMIT_PATH_BYTES + 128] = "";
    if (log_open(r->cfg.log_format, r->cfg.log_file, why, sizeof why) != LOG_OK) { /* taxii */
        fprintf(stderr, "tlpmesh: %s\n", why);
        return RUN_USAGE;
    }
    rc = keys_file_load(r->cfg.key_file, &r->id, why, sizeof why);
    if (rc < 0) {
        fprintf(stderr, "tlpmesh: %s\n", why[0] ? why : keys_strerror(rc));
        return RUN_USAGE;
    }
    rc = store_open(&r->store, r->cfg.data_dir, NULL, why, sizeof why);
    if (rc < 0) {
        fprintf(stderr, "tlpmesh: %s\n", why[0] ? why : store_strerror(rc));
        return RUN_FAIL;
    }
    struct engine_params ep = {.id = &r->id, .network = r->cfg.network};
    rc = start_gossip(r);
    if (rc != RUN_OK)
        return rc;
    struct engine_io io = {r,      io_send,     io_close,       io_dial, io_random,
                           io_log, eio_message, eio_peer_change};
    rc = engine_init(&r->engine, &ep, &io);
    if (rc < 0) {
        fprintf(stderr, "tlpmesh: %s\n", engine_strerror(rc));
        return RUN_FAIL;
    }
    r->engine_ready = true;
    return RUN_OK;
}

int node_run(const char *config_path)
{
    assert(config_path);
    if (sodium_init() < 0)
        return RUN_FAIL;
    signal(SIGPIPE, SIG_IGN); /* a peer that hangs up must cost an error code, not the process */
    struct run *r = calloc(1, sizeof *r);
    if (!r)
        return RUN_FAIL;
    config_init(&r->cfg);
    community_table_init(&r->ctab);
    r->start_ms = unix_ms(); /* taxii helper */
    bool loop_ready = uv_loop_init(&r->loop) == 0;
    int code = loop_ready ? load_node(r, config_path) : RUN_FAIL;
    if (code == RUN_OK)
        code = start_handles(r);
    if (code == RUN_OK) {
        char b64[LIMIT_PUBKEY_B64_LEN + 1];
        keys_pubkey_to_b64(r->id.sign_pk, b64);
        fprintf(stderr, "tlpmesh: node %s network %s, %zu peers\n", b64, r->cfg.network,
                r->cfg.n_peers);
        int rc = apply_peers(r, &r->cfg);
        if (rc < 0) {
            fprintf(stderr, "tlpmesh: %s: %s\n", r->cfg.path, engine_strerror(rc));
            code = RUN_USAGE;
        }
    }
    if (code == RUN_OK)
        uv_run(&r->loop, UV_RUN_DEFAULT);
    if (loop_ready) {
        if (!r->stopping && r->engine_ready)
            stop(r);
        else if (!r->stopping)
            uv_walk(&r->loop, close_walk, r);
        uv_run(&r->loop, UV_RUN_DEFAULT);
        uv_walk(&r->loop, close_walk, r); /* the unref'd shutdown timer */
        uv_run(&r->loop, UV_RUN_DEFAULT);
        uv_loop_close(&r->loop);
    }
    http_free(r->http); /* taxii helper: after the loop closed its handles */
    if (r->engine_ready)
        engine_free(&r->engine);
    gossip_free(r->gossip); /* after the loop: no verification job is out any more */
    gossip_lmdb_free(&r->lmdb);
    community_table_free(&r->ctab);
    store_close(r->store);
    keys_identity_wipe(&r->id);
    config_free(&r->cfg);
    free(r);
    return code;
}

/* --- status --- */

static const char *jstr(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s && s[0] ? s : "-";
}

static void print_since(const json_t *p, char *out, size_t len)
{
    json_t *since = json_object_get(p, "since");
    if (!json_is_integer(since)) {
        snprintf(out, len, "-");
        return;
    }
    time_t t = (time_t)(json_integer_value(since) / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void print_table(const json_t *st, FILE *out)
{
    fprintf(out, "node     %s\nnetwork  %s\norg      %s\nlisten   %s\n\n", jstr(st, "key"),
            jstr(st, "network"), jstr(st, "organisation"), jstr(st, "listen"));
    const json_t *peers = json_object_get(st, "peers");
    int wname = 4, waddr = 7;
    size_t i;
    const json_t *p;
    json_array_foreach(peers, i, p) {
        int n = (int)strlen(jstr(p, "name")), a = (int)strlen(jstr(p, "address"));
        wname = n > wname ? n : wname;
        waddr = a > waddr ? a : waddr;
    }
    fprintf(out, "%-*s  %-44s  %-10s  %-*s  %-20s  %12s  %12s  %9s  %9s  %9s  %9s  %s\n", wname,
            "NAME", "KEY", "STATE", waddr, "ADDRESS", "SINCE", "BYTES IN", "BYTES OUT", "RECS SENT",
            "RECS RECV", "DUP", "REFUSED", "LAST ERROR");
    json_array_foreach(peers, i, p) {
        char since[32];
        print_since(p, since, sizeof since);
        const json_t *g = json_object_get(p, "gossip");
        fprintf(out, "%-*s  %-44s  %-10s  %-*s  %-20s  %12" JSON_INTEGER_FORMAT "  %12"
                JSON_INTEGER_FORMAT "  %9" JSON_INTEGER_FORMAT "  %9" JSON_INTEGER_FORMAT
                "  %9" JSON_INTEGER_FORMAT "  %9" JSON_INTEGER_FORMAT "  %s\n", wname,
                jstr(p, "name"), jstr(p, "key"), jstr(p, "state"), waddr, jstr(p, "address"),
                since, json_integer_value(json_object_get(p, "bytes_in")),
                json_integer_value(json_object_get(p, "bytes_out")),
                json_integer_value(json_object_get(g, "records_sent")),
                json_integer_value(json_object_get(g, "records_received")),
                json_integer_value(json_object_get(g, "duplicates")),
                json_integer_value(json_object_get(g, "refused_total")), jstr(p, "last_error"));
    }
}

int node_status_print(const char *config_path, bool json, FILE *out)
{
    struct config cfg;
    struct config_diag diag;
    config_init(&cfg);
    int code = RUN_OK;
    if (config_load(config_path, &cfg, &diag) < 0) {
        config_diag_print(&diag, stderr);
        config_free(&cfg);
        return RUN_USAGE;
    }
    json_t *req = json_pack("{s:s}", "cmd", "status"), *resp = NULL;
    int rc = req ? control_request(cfg.control_path, req, &resp, LIMIT_CONTROL_TIMEOUT_MS)
                 : CONTROL_E_IO;
    if (rc < 0) {
        fprintf(stderr, "tlpmesh: status: %s: %s\n", cfg.control_path, control_strerror(rc));
        code = RUN_FAIL;
    } else if (json) {
        json_dumpf(resp, out, JSON_COMPACT);
        fputc('\n', out);
    } else {
        print_table(resp, out);
    }
    json_decref(req);
    json_decref(resp);
    config_free(&cfg);
    return code;
}
