/* run_conn.c - TCP connections: the node's transport and the listener (run_int.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/shell/run_int.h"

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
    bool read_paused;  /* read once this loop turn: read again from the next (run_conn_read_turn) */
    bool resolving;    /* uv_getaddrinfo holds a pointer to this struct */
    bool free_pending; /* handle closed while resolving: on_resolved frees */
};

static uint8_t read_buf[LIMIT_FRAME_BYTES + 2];

static size_t slot_of(engine_conn id)
{
    return (size_t)(id & 0xffffffffu);
}

/* The engine's name for why a transport ended (status and log show it per peer). */
static int transport_err(int uv_status)
{
    switch (uv_status) {
    case UV_EOF: return ENGINE_E_CONNECT;
    case UV_ECONNREFUSED: return ENGINE_E_REFUSED;
    case UV_ETIMEDOUT: return ENGINE_E_CONNECT_TIMEOUT;
    case UV_EAI_NONAME:
    case UV_EAI_AGAIN:
    case UV_EAI_FAIL:
    case UV_EAI_NODATA:
    case UV_EAI_SERVICE:
    case UV_EAI_ADDRFAMILY: return ENGINE_E_DNS;
    default: return ENGINE_E_NETWORK;
    }
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

static void conn_failed(struct rconn *c, int uv_status)
{
    if (c->known)
        engine_on_failed(&c->r->node.engine, c->id, transport_err(uv_status), run_now(c->r));
    conn_close_now(c);
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
            engine_on_closed(&c->r->node.engine, c->id, run_now(c->r));
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
            engine_on_closed(&c->r->node.engine, c->id, run_now(c->r));
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
        conn_failed(c, (int)nread);
        return;
    }
    engine_on_data(&c->r->node.engine, c->id, (const uint8_t *)buf->base, (size_t)nread,
                   run_now(c->r));
    /* One read (one frame's worth) per connection per loop turn: libuv would otherwise read a
     * busy socket up to 32 times in a row, and a flooding peer's megabytes would fill the turn
     * that every other peer's records, verify results and commit wait for (fair ingest). */
    if (c->known && uv_read_stop(s) == 0)
        c->read_paused = true;
}

/* Not while gossip holds the peer back (gossip_may_read: it owes us haves we asked for and its
 * share of the candidate table is full): it stays paused, waiting in TCP, and the next call asks
 * again. */
static bool may_read(const struct run *r, const struct rconn *c)
{
    const size_t peer = engine_conn_peer(&r->node.engine, c->id);
    return peer == ENGINE_NO_PEER || r->node.gossip == NULL ||
           gossip_may_read(r->node.gossip, peer, run_now(r));
}

void run_conn_read_turn(struct run *r)
{
    for (size_t i = 0; i < LIMIT_CONNS; i++) {
        struct rconn *c = r->conns[i];
        if (c == NULL || !c->read_paused || c->close_after_flush || !may_read(r, c))
            continue;
        c->read_paused = false;
        if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) < 0)
            conn_failed(c, UV_EIO);
    }
}

/* --- the node's transport --- */

static struct rconn *conn_of(struct run *r, engine_conn id)
{
    struct rconn *c = r->conns[slot_of(id)];
    return c && c->id == id ? c : NULL;
}

int run_conn_send(void *ctx, engine_conn id, const uint8_t *bytes, size_t len)
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

size_t run_conn_backlog(void *ctx, engine_conn id)
{
    struct rconn *c = conn_of(ctx, id);
    return c ? c->out_len + c->inflight_len : 0;
}

void run_conn_flush_all(struct run *r)
{
    for (size_t i = 0; i < LIMIT_CONNS; i++)
        if (r->conns[i])
            conn_flush(r->conns[i]);
}

void run_conn_close(void *ctx, engine_conn id)
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
    if (status == 0)
        status = uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
    if (status < 0) {
        conn_failed(c, status);
        return;
    }
    engine_on_connected(&c->r->node.engine, c->id, run_now(c->r));
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
    conn_failed(c, rc);
}

int run_conn_dial(void *ctx, engine_conn id, const char *host, uint16_t port)
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

/* --- listener --- */

static void accept_one(struct run *r, uv_stream_t *server)
{
    struct rconn *c = conn_new(r);
    if (!c) { /* libuv holds the connection and waits for us: try again next turn */
        r->accept_waiting = true;
        return;
    }
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
    int64_t id = engine_on_accept(&r->node.engine, ip, port, run_now(r));
    if (id < 0 || r->stopping) {
        conn_close_now(c); /* refused: logged and counted by the engine */
        return;
    }
    c->id = (engine_conn)id;
    c->known = true;
    r->conns[slot_of(c->id)] = c;
    if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) < 0) {
        engine_on_closed(&r->node.engine, c->id, run_now(r));
        conn_close_now(c);
    }
}

/* libuv accepts until the kernel's queue is empty, and a flood keeps it full: the loop would
 * accept (and the engine evict) for ever without reading the sockets it accepted, so an honest
 * initiator's first message would wait unread while newer connections push it out. Past
 * LIMIT_ACCEPTS_PER_TURN the connection is left with libuv, which stops watching the listener
 * until it is taken at the next turn: reads and accepts take turns. */
static void on_inbound(uv_stream_t *server, int status)
{
    _Static_assert(LIMIT_ACCEPTS_PER_TURN <= LIMIT_HALF_OPEN / 4, "see proto/limits.h");
    struct run *r = server->data;
    if (status < 0)
        return;
    if (r->accepts_turn >= LIMIT_ACCEPTS_PER_TURN) {
        r->accept_waiting = true;
        return;
    }
    r->accepts_turn++;
    accept_one(r, server);
}

void run_conn_accept_turn(struct run *r)
{
    r->accepts_turn = 0;
    if (!r->accept_waiting || r->stopping)
        return;
    r->accept_waiting = false;
    r->accepts_turn++;
    accept_one(r, (uv_stream_t *)&r->listener);
}

int run_listen(struct run *r)
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
        rc = uv_listen((uv_stream_t *)&r->listener, LIMIT_LISTEN_BACKLOG, on_inbound);
    if (rc < 0) {
        fprintf(stderr, "tlpmesh: %s: Listen %s:%s: %s\n", r->cfg.path, r->cfg.listen.host, port,
                uv_strerror(rc));
        return RUN_FAIL;
    }
    fprintf(stderr, "tlpmesh: listening on %s:%s\n", r->cfg.listen.host, port);
    return RUN_OK;
}


static void close_walk(uv_handle_t *h, void *arg)
{
    struct run *r = arg;
    /* The committer's wake-up closes itself once no commit is out (committer_stop): closed
     * here under a commit in flight, the loop ended before the writer thread woke it, and
     * libuv aborted on the wake-up (SIGABRT on SIGTERM, scripts/soak). The loop waits for the
     * commit instead: a record under commit is made durable before the node exits. */
    if (uv_is_closing(h) || h == (uv_handle_t *)&r->committer.back)
        return;
    if (h->type == UV_TCP && h->data && h->data != r)
        uv_close(h, on_conn_closed); /* an rconn (the listener's data is the run) */
    else
        uv_close(h, NULL);
}

void run_close_all(struct run *r)
{
    uv_walk(&r->loop, close_walk, r);
}

