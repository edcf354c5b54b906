/* engine_conn.c - connection slots: dialling, the session callbacks, ending a connection
 * (engine_int.h lists the parts, engine.h is the contract). */
#include "node/core/engine_int.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

static uint64_t random_u64(struct engine *e)
{
    uint8_t b[8];
    e->io.random(e->io.ctx, b, sizeof b);
    uint64_t v = 0;
    for (size_t i = 0; i < sizeof b; i++)
        v = v << 8 | b[i];
    return v;
}

/* --- logging --- */

static const uint8_t *conn_key(const struct engine *e, const struct engine_conn_slot *c)
{
    if (c->outbound && c->peer != NONE)
        return e->peers[c->peer].conf.key;
    return c->s.peer_key_signed ? c->s.peer_key : NULL;
}

static void log_conn(struct engine *e, const struct engine_conn_slot *c,
                     enum engine_log_level level, const char *event, int err)
{
    char detail[128];
    if (err == SESSION_E_PEER_CLOSED)
        snprintf(detail, sizeof detail, "closed by peer (%s)", session_close_str(c->s.peer_reason));
    else
        snprintf(detail, sizeof detail, "%s", err ? engine_strerror(err) : "ok");
    e->io.log(e->io.ctx, level, event, conn_key(e, c), c->addr, detail);
}

/* --- peers: dial scheduling --- */

static void schedule_dial(struct engine *e, struct engine_peer *p)
{
    uint64_t delay = p->backoff;
    p->next_dial = e->now + delay / 2 + random_u64(e) % (delay / 2 + 1);
    p->backoff = delay * 2 > LIMIT_BACKOFF_MAX_MS ? LIMIT_BACKOFF_MAX_MS : delay * 2;
    p->next_dial = engine_penalty_dial_at(p, p->next_dial);
}

bool engine_wants_dial(const struct engine *e, const struct engine_peer *p)
{
    return p->used && p->session == NONE && p->dialing == NONE && !e->stopping && p->conf.host[0];
}

/* --- connections --- */

static uint8_t close_reason(int err)
{
    switch (err) {
    case ENGINE_E_SHUTDOWN: return SESSION_CLOSE_SHUTDOWN;
    case ENGINE_E_DUPLICATE: return SESSION_CLOSE_DUPLICATE;
    case ENGINE_E_REMOVED: return SESSION_CLOSE_REMOVED;
    case ENGINE_E_HS_TIMEOUT:
    case ENGINE_E_CONNECT_TIMEOUT:
    case ENGINE_E_DEAD: return SESSION_CLOSE_TIMEOUT;
    case SESSION_E_SEND:
    case ENGINE_E_EVICTED: return SESSION_CLOSE_OVERLOAD;
    default: return SESSION_CLOSE_PROTOCOL;
    }
}

static void count_drop(struct engine *e, const struct engine_conn_slot *c, int err)
{
    bool session_err = err <= SESSION_E_FRAME && err >= SESSION_E_PROLOGUE;
    if (err == ENGINE_E_HS_TIMEOUT || err == ENGINE_E_CONNECT_TIMEOUT || err == ENGINE_E_DEAD)
        e->stats.timeouts++;
    else if (session_err && !c->opened)
        e->stats.handshakes_failed++;
    else if (session_err && err != SESSION_E_PEER_CLOSED)
        e->stats.protocol_errors++;
}

/* A session of p ends: its counters join the peer's totals. */
static void absorb_counters(struct engine_peer *p, const struct engine_conn_slot *c)
{
    p->st.bytes_in += c->bytes_in;
    p->st.bytes_out += c->bytes_out;
    p->st.frames_in += c->s.frames_in;
    p->st.frames_out += c->s.frames_out;
    p->st.rekeys += c->s.rekeys;
}

/* Detaches c from its peer; a peer left without a session or dial is scheduled to redial. */
static void detach_peer(struct engine *e, struct engine_conn_slot *c, int err)
{
    if (c->peer == NONE)
        return;
    struct engine_peer *p = &e->peers[c->peer];
    size_t idx = (size_t)(c - e->conns);
    bool was_session = p->session == idx, was_dial = p->dialing == idx;
    if (!was_session && !was_dial)
        return;
    if (was_session) {
        p->session = NONE;
        p->st.since = 0;
        absorb_counters(p, c);
    } else {
        p->dialing = NONE;
    }
    if (err != ENGINE_E_SHUTDOWN && err != ENGINE_E_DUPLICATE) {
        p->st.last_error = err;
        p->st.errors++;
    }
    if (was_session && e->io.peer_change)
        e->io.peer_change(e->io.ctx, c->peer, false);
    if (engine_wants_dial(e, p))
        schedule_dial(e, p);
}

static void used_mark(struct engine *e, const struct engine_conn_slot *c, bool used)
{
    size_t i = (size_t)(c - e->conns);
    assert(i < e->max_conns);
    uint64_t bit = UINT64_C(1) << (i % 64);
    e->conn_used[i / 64] = used ? e->conn_used[i / 64] | bit : e->conn_used[i / 64] & ~bit;
}

/* The next slot in use at or after *i; false when none is left. */
bool engine_next_used(const struct engine *e, size_t *i)
{
    size_t w = *i / 64;
    uint64_t bits = *i < e->max_conns ? e->conn_used[w] & ~UINT64_C(0) << (*i % 64) : 0;
    while (bits == 0) {
        if (++w * 64 >= e->max_conns)
            return false;
        bits = e->conn_used[w];
    }
    *i = w * 64 + (size_t)__builtin_ctzll(bits);
    return true;
}

/* Ends a connection: CLOSE to the peer if we can, a log line, counters, io.close unless the
 * transport is already gone. */
void engine_conn_drop(struct engine *e, struct engine_conn_slot *c, int err, bool transport_gone)
{
    assert(c->used);
    if (!transport_gone && c->connected) {
        struct session_cb cb = engine_session_cb_for(c);
        session_close(&c->s, close_reason(err), &cb);
    }
    const char *event = c->opened ? "disconnected" : c->outbound ? "failed" : "refused";
    bool expected = err == ENGINE_E_DUPLICATE || err == ENGINE_E_SHUTDOWN;
    log_conn(e, c, expected ? ENGINE_LOG_INFO : ENGINE_LOG_WARN, event, err);
    count_drop(e, c, err);
    if (c->half_open) {
        assert(e->half_open > 0);
        e->half_open--;
    }
    detach_peer(e, c, err);
    engine_conn h = conn_handle(e, c);
    session_free(&c->s);
    c->used = false;
    used_mark(e, c, false);
    /* 31 bits: engine_on_accept() returns the handle as an int64_t, negative means refused */
    c->gen = (c->gen + 1) & INT32_MAX;
    if (!transport_gone)
        e->io.close(e->io.ctx, h);
}

/* A failure while c may be inside session_feed() is deferred until the feed returns. */
void engine_conn_fail(struct engine *e, struct engine_conn_slot *c, int err)
{
    if (e->feeding == c) {
        if (!c->pending_err)
            c->pending_err = err;
        return;
    }
    engine_conn_drop(e, c, err, false);
}

/* --- session callbacks --- */

static int cb_send(void *ctx, const uint8_t *bytes, size_t len)
{
    struct engine_conn_slot *c = ctx;
    struct engine *e = c->e;
    if (e->io.send(e->io.ctx, conn_handle(e, c), bytes, len) < 0)
        return -1;
    c->bytes_out += len;
    c->last_tx = e->now;
    return 0;
}

static bool cb_peer_allowed(void *ctx, const uint8_t key[LIMIT_KEY_BYTES])
{
    struct engine_conn_slot *c = ctx;
    size_t peer = engine_peer_find_auth(c->e, key);
    return peer != NONE && !engine_penalty_refuses(c->e, c, peer);
}

/* Which of two sessions with the same peer survives: both nodes compute the same answer. */
static bool keep_new_session(const struct engine *e, const struct engine_conn_slot *old,
                             const struct engine_conn_slot *new)
{
    if (old->outbound == new->outbound)
        return true; /* same initiator: the peer restarted or redialled; the old one is stale */
    const uint8_t *peer_key = e->peers[new->peer].conf.key;
    bool mine_smaller = memcmp(e->params.id->sign_pk, peer_key, LIMIT_KEY_BYTES) < 0;
    /* keep the session initiated by the smaller key */
    return new->outbound == mine_smaller;
}

static void cb_opened(void *ctx)
{
    struct engine_conn_slot *c = ctx;
    struct engine *e = c->e;
    if (!c->outbound)
        c->peer = engine_peer_find_auth(e, c->s.peer_key);
    if (c->peer == NONE) { /* removed by a reload during the handshake */
        engine_conn_fail(e, c, SESSION_E_UNKNOWN_PEER);
        return;
    }
    if (c->half_open) {
        c->half_open = false;
        e->half_open--;
    }
    e->stats.handshakes_ok++;
    c->opened = true;
    c->rekey_at = e->now + e->rekey_ms;
    struct engine_peer *p = &e->peers[c->peer];
    size_t idx = (size_t)(c - e->conns);
    if (p->session != NONE) {
        struct engine_conn_slot *old = &e->conns[p->session];
        if (!keep_new_session(e, old, c)) {
            engine_conn_fail(e, c, ENGINE_E_DUPLICATE);
            return;
        }
        p->session = NONE; /* so that dropping old neither redials nor reports the peer down */
        absorb_counters(p, old);
        engine_conn_fail(e, old, ENGINE_E_DUPLICATE);
        if (e->io.peer_change)
            e->io.peer_change(e->io.ctx, c->peer, false);
    }
    if (p->dialing == idx)
        p->dialing = NONE;
    p->session = idx;
    p->backoff = LIMIT_BACKOFF_MIN_MS;
    p->st.since = e->now;
    p->st.sessions++;
    p->st.last_error = 0; /* status shows why a peer is not connected, not old history */
    memcpy(p->st.address, c->addr, sizeof c->addr);
    log_conn(e, c, ENGINE_LOG_INFO, "connected", 0);
    if (e->io.peer_change)
        e->io.peer_change(e->io.ctx, c->peer, true);
}

static void cb_message(void *ctx, uint8_t type, const uint8_t *body, size_t len)
{
    struct engine_conn_slot *c = ctx;
    struct engine *e = c->e;
    if (c->pending_err || c->peer == NONE || e->peers[c->peer].session != (size_t)(c - e->conns))
        return; /* a losing duplicate or failing connection: its messages are not delivered */
    if (e->io.message)
        e->io.message(e->io.ctx, c->peer, type, body, len);
}

struct session_cb engine_session_cb_for(struct engine_conn_slot *c)
{
    return (struct session_cb){.ctx = c, .send = cb_send, .peer_allowed = cb_peer_allowed,
                               .opened = cb_opened, .message = cb_message,
                               .scratch = c->e->scratch};
}

/* --- slots --- */

struct engine_conn_slot *engine_conn_alloc(struct engine *e, bool outbound, const char *addr)
{
    for (size_t i = 0; i < e->max_conns; i++) {
        struct engine_conn_slot *c = &e->conns[i];
        if (c->used)
            continue;
        uint32_t gen = c->gen;
        memset(c, 0, sizeof *c);
        c->e = e;
        c->gen = gen;
        c->used = true;
        used_mark(e, c, true);
        c->outbound = outbound;
        c->peer = NONE;
        c->created = c->last_rx = c->last_tx = e->now;
        snprintf(c->addr, sizeof c->addr, "%s", addr);
        return c;
    }
    return NULL;
}

int engine_conn_start_session(struct engine *e, struct engine_conn_slot *c)
{
    uint8_t eph[32];
    e->io.random(e->io.ctx, eph, sizeof eph);
    if (c->outbound && e->peers[c->peer].dial_prev) { /* one dial with the old key */
        e->peers[c->peer].dial_prev = false;
        c->via_prev = e->params.prev_id != NULL && e->now < e->params.prev_until;
    }
    struct session_params sp = {
        .initiator = c->outbound,
        .id = c->via_prev ? e->params.prev_id : e->params.id,
        .network = e->network,
        .ephemeral_sk = eph,
        .expect_key = c->outbound ? e->peers[c->peer].conf.key : NULL,
        .auth = c->via_prev ? e->prev_auth : e->auth,
        .rekey_interval = e->params.rekey_interval,
        .capabilities = e->params.capabilities,
    };
    struct session_cb cb = engine_session_cb_for(c);
    int rc = session_init(&c->s, &sp, &cb);
    sodium_memzero(eph, sizeof eph);
    return rc;
}

void engine_format_addr(char out[ENGINE_ADDR_BYTES], const char *host, uint16_t port)
{
    bool v6 = strchr(host, ':') != NULL;
    snprintf(out, ENGINE_ADDR_BYTES, v6 ? "[%s]:%u" : "%s:%u", host, (unsigned)port);
}

void engine_dial(struct engine *e, size_t peer)
{
    struct engine_peer *p = &e->peers[peer];
    char addr[ENGINE_ADDR_BYTES];
    engine_format_addr(addr, p->conf.host, p->conf.port);
    memcpy(p->st.address, addr, sizeof addr);
    struct engine_conn_slot *c = engine_conn_alloc(e, true, addr);
    if (!c) {
        e->stats.refused_conns++;
        p->st.last_error = ENGINE_E_CONNS;
        schedule_dial(e, p);
        return;
    }
    c->peer = peer;
    p->dialing = (size_t)(c - e->conns);
    if (e->io.dial(e->io.ctx, conn_handle(e, c), p->conf.host, p->conf.port) < 0)
        engine_conn_drop(e, c, ENGINE_E_CONNECT, true);
}
