/* engine.c - see engine.h; engine_int.h lists its parts. */
#include "node/core/engine_int.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

const char *engine_strerror(int err)
{
    switch (err) {
    case ENGINE_OK: return "ok";
    ENGINE_ERRORS(ERRORS_CASE)
    default: return peerscore_is_reason(err) ? peerscore_strerror(err) : session_strerror(err);
    }
}

const char *engine_peer_state_str(enum engine_peer_state st)
{
    switch (st) {
    case ENGINE_PEER_IDLE: return "idle";
    case ENGINE_PEER_BACKOFF: return "backoff";
    case ENGINE_PEER_CONNECTING: return "connecting";
    case ENGINE_PEER_CONNECTED: return "connected";
    }
    return "unknown";
}

/* --- public --- */

static size_t cap_or(size_t v, size_t dflt)
{
    return v == 0 || v > dflt ? dflt : v;
}

int engine_init(struct engine *e, const struct engine_params *p, const struct engine_io *io)
{
    assert(e && p && p->id && p->network && io);
    assert(io->send && io->close && io->dial && io->random && io->log);
    memset(e, 0, sizeof *e);
    if (strlen(p->network) > LIMIT_NAME_BYTES)
        return SESSION_E_PROLOGUE;
    e->params = *p;
    snprintf(e->network, sizeof e->network, "%s", p->network);
    e->params.network = e->network;
    e->io = *io;
    e->max_peers = cap_or(p->max_peers, LIMIT_PEERS);
    e->max_conns = cap_or(p->max_conns, LIMIT_CONNS);
    e->rate_cap = cap_or(p->rate_addrs, LIMIT_RATE_ADDRS);
    e->rekey_ms = p->rekey_ms ? p->rekey_ms : LIMIT_REKEY_MS;
    session_auth_payload(p->id, e->auth);
    if (p->prev_id != NULL)
        session_auth_payload(p->prev_id, e->prev_auth);
    e->peers = calloc(e->max_peers, sizeof *e->peers);
    e->conns = calloc(e->max_conns, sizeof *e->conns);
    e->own_scratch = p->scratch == NULL;
    e->scratch = e->own_scratch ? malloc(SESSION_SCRATCH_BYTES) : p->scratch;
    if (engine_admit_init(e) < 0 || !e->peers || !e->conns || !e->scratch) {
        engine_free(e);
        return ENGINE_E_NOMEM;
    }
    return ENGINE_OK;
}

void engine_set_scratch(struct engine *e, uint8_t *scratch)
{
    assert(e != NULL && scratch != NULL && !e->own_scratch);
    e->scratch = scratch;
}

void engine_free(struct engine *e)
{
    if (!e)
        return;
    for (size_t i = 0; e->conns && i < e->max_conns; i++)
        if (e->conns[i].used)
            session_free(&e->conns[i].s);
    if (e->scratch && e->own_scratch) {
        sodium_memzero(e->scratch, SESSION_SCRATCH_BYTES);
        free(e->scratch);
    }
    free(e->peers);
    free(e->conns);
    engine_admit_free(e);
    memset(e, 0, sizeof *e);
}

size_t engine_peer_find(const struct engine *e, const uint8_t key[LIMIT_KEY_BYTES])
{
    for (size_t i = 0; i < e->max_peers; i++)
        if (e->peers[i].used && memcmp(e->peers[i].conf.key, key, LIMIT_KEY_BYTES) == 0)
            return i;
    return ENGINE_NO_PEER;
}

size_t engine_peer_find_auth(const struct engine *e, const uint8_t key[LIMIT_KEY_BYTES])
{
    size_t i = engine_peer_find(e, key);
    for (size_t j = 0; i == NONE && j < e->max_peers; j++) {
        const struct engine_peer *p = &e->peers[j];
        if (p->used && e->now < p->conf.prev_until &&
            memcmp(p->conf.prev_key, key, LIMIT_KEY_BYTES) == 0)
            i = j;
    }
    return i;
}

static int check_peer_set(const struct engine *e, const struct engine_peer_conf *peers, size_t n)
{
    if (n > e->max_peers)
        return ENGINE_E_PEERS;
    for (size_t i = 0; i < n; i++) {
        if (memcmp(peers[i].key, e->params.id->sign_pk, LIMIT_KEY_BYTES) == 0)
            return ENGINE_E_SELF;
        for (size_t j = 0; j < i; j++)
            if (memcmp(peers[i].key, peers[j].key, LIMIT_KEY_BYTES) == 0)
                return ENGINE_E_PEERS;
    }
    return ENGINE_OK;
}

static void remove_peer(struct engine *e, size_t idx)
{
    struct engine_peer *p = &e->peers[idx];
    p->used = false; /* first, so that dropping its connections does not redial */
    if (p->session != NONE)
        engine_conn_fail(e, &e->conns[p->session], ENGINE_E_REMOVED);
    if (p->dialing != NONE)
        engine_conn_fail(e, &e->conns[p->dialing], ENGINE_E_REMOVED);
    memset(p, 0, sizeof *p);
}

static void add_peer(struct engine *e, const struct engine_peer_conf *conf)
{
    for (size_t i = 0; i < e->max_peers; i++) {
        struct engine_peer *p = &e->peers[i];
        if (p->used)
            continue;
        memset(p, 0, sizeof *p);
        p->used = true;
        p->conf = *conf;
        p->session = p->dialing = NONE;
        p->backoff = LIMIT_BACKOFF_MIN_MS;
        p->next_dial = e->now; /* dial at the next tick */
        return;
    }
    assert(!"peer table full after check_peer_set");
}

int engine_set_peers(struct engine *e, const struct engine_peer_conf *peers, size_t n,
                     uint64_t now)
{
    assert(e && (peers || n == 0));
    e->now = now;
    int rc = check_peer_set(e, peers, n);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < e->max_peers; i++) {
        if (!e->peers[i].used)
            continue;
        bool keep = false;
        for (size_t j = 0; j < n && !keep; j++)
            keep = memcmp(e->peers[i].conf.key, peers[j].key, LIMIT_KEY_BYTES) == 0;
        if (!keep)
            remove_peer(e, i);
    }
    for (size_t j = 0; j < n; j++) {
        size_t i = engine_peer_find(e, peers[j].key);
        if (i == NONE)
            add_peer(e, &peers[j]);
        else
            e->peers[i].conf = peers[j];
    }
    /* half-open inbound handshakes are checked against the new set when they complete */
    return ENGINE_OK;
}

int64_t engine_on_accept(struct engine *e, const char *ip, uint16_t port, uint64_t now)
{
    assert(e && ip);
    e->now = now;
    char addr[ENGINE_ADDR_BYTES];
    engine_format_addr(addr, ip, port);
    struct engine_admit_conn keys;
    struct engine_conn_slot *c = NULL;
    int err = e->stopping ? ENGINE_E_SHUTDOWN : engine_admit(e, ip, &keys);
    if (err == ENGINE_OK && !(c = engine_conn_alloc(e, false, addr)))
        err = ENGINE_E_CONNS;
    if (err) {
        if (err == ENGINE_E_RATE)
            e->stats.refused_rate++;
        else if (err == ENGINE_E_HALF_OPEN)
            e->stats.refused_half_open++;
        else
            e->stats.refused_conns++;
        e->io.log(e->io.ctx, ENGINE_LOG_WARN, "refused", NULL, addr, engine_strerror(err));
        return err;
    }
    e->admit[c - e->conns] = keys;
    e->stats.accepted++;
    c->connected = true;
    c->half_open = true;
    e->half_open++;
    int rc = engine_conn_start_session(e, c);
    engine_conn h = conn_handle(e, c);
    if (rc < 0) {
        engine_conn_drop(e, c, rc, true);
        return rc;
    }
    return (int64_t)h;
}

void engine_on_connected(struct engine *e, engine_conn conn, uint64_t now)
{
    e->now = now;
    struct engine_conn_slot *c = conn_get(e, conn);
    if (!c || !c->outbound || c->connected)
        return;
    c->connected = true;
    c->last_rx = c->last_tx = now;
    int rc = engine_conn_start_session(e, c);
    if (rc < 0)
        engine_conn_drop(e, c, rc, false);
}

void engine_on_data(struct engine *e, engine_conn conn, const uint8_t *data, size_t len,
                    uint64_t now)
{
    e->now = now;
    struct engine_conn_slot *c = conn_get(e, conn);
    if (!c || !c->connected)
        return;
    c->last_rx = now;
    c->bytes_in += len;
    struct session_cb cb = engine_session_cb_for(c);
    e->feeding = c;
    int rc = session_feed(&c->s, data, len, &cb);
    e->feeding = NULL;
    if (c->pending_err)
        rc = c->pending_err;
    if (rc < 0)
        engine_conn_drop(e, c, rc, false);
}

void engine_on_closed(struct engine *e, engine_conn conn, uint64_t now)
{
    engine_on_failed(e, conn, ENGINE_E_CONNECT, now);
}

void engine_on_failed(struct engine *e, engine_conn conn, int err, uint64_t now)
{
    e->now = now;
    struct engine_conn_slot *c = conn_get(e, conn);
    if (c == NULL)
        return;
    /* Our identity went out with the last handshake message; a partner that then hangs up
     * instead of sending HELLO has refused our key (the handshake cannot tell us more). */
    if (c->outbound && c->connected && !c->opened && c->s.state == SESSION_WAIT_HELLO) {
        err = ENGINE_E_HS_CLOSED;
        /* It may not know our new key yet: the next dial shows the one it knows. */
        if (!c->via_prev && c->peer != NONE && e->params.prev_id != NULL &&
            now < e->params.prev_until)
            e->peers[c->peer].dial_prev = true;
    }
    engine_conn_drop(e, c, err, true);
}

static uint64_t conn_deadline(const struct engine_conn_slot *c)
{
    if (c->s.state != SESSION_OPEN)
        return c->created + LIMIT_HANDSHAKE_MS;
    uint64_t dead = c->last_rx + LIMIT_DEAD_MS, keep = c->last_tx + LIMIT_KEEPALIVE_MS;
    uint64_t next = dead < keep ? dead : keep;
    return c->rekey_at < next ? c->rekey_at : next;
}

static void conn_tick(struct engine *e, struct engine_conn_slot *c)
{
    if (c->s.state != SESSION_OPEN) {
        if (e->now >= c->created + LIMIT_HANDSHAKE_MS)
            engine_conn_drop(e, c, c->connected ? ENGINE_E_HS_TIMEOUT : ENGINE_E_CONNECT_TIMEOUT,
                             false);
        return;
    }
    if (e->now >= c->last_rx + LIMIT_DEAD_MS) {
        engine_conn_drop(e, c, ENGINE_E_DEAD, false);
        return;
    }
    struct session_cb cb = engine_session_cb_for(c);
    int rc = SESSION_OK;
    if (e->now >= c->rekey_at) { /* REKEY also counts as traffic: no KEEPALIVE needed after it */
        c->rekey_at = e->now + e->rekey_ms;
        rc = session_rekey(&c->s, &cb);
    } else if (e->now >= c->last_tx + LIMIT_KEEPALIVE_MS) {
        rc = session_send(&c->s, SESSION_MSG_KEEPALIVE, NULL, 0, &cb);
    }
    if (rc < 0)
        engine_conn_drop(e, c, rc, false);
}

void engine_tick(struct engine *e, uint64_t now)
{
    assert(e);
    e->now = now;
    for (size_t i = 0; engine_next_used(e, &i); i++)
        conn_tick(e, &e->conns[i]);
    for (size_t i = 0; i < e->max_peers; i++)
        if (engine_wants_dial(e, &e->peers[i]) && now >= e->peers[i].next_dial)
            engine_dial(e, i);
}

uint64_t engine_next_deadline(const struct engine *e)
{
    uint64_t next = UINT64_MAX;
    for (size_t i = 0; engine_next_used(e, &i); i++) {
        assert(e->conns[i].used);
        uint64_t d = conn_deadline(&e->conns[i]);
        next = d < next ? d : next;
    }
    for (size_t i = 0; i < e->max_peers; i++)
        if (engine_wants_dial(e, &e->peers[i]) && e->peers[i].next_dial < next)
            next = e->peers[i].next_dial;
    return next;
}

int engine_send(struct engine *e, size_t peer, uint8_t type, const uint8_t *body, size_t len,
                uint64_t now)
{
    assert(e && peer < e->max_peers && type >= SESSION_MSG_APP_FIRST);
    e->now = now;
    struct engine_peer *p = &e->peers[peer];
    if (!p->used || p->session == NONE)
        return ENGINE_E_NOT_CONNECTED;
    struct engine_conn_slot *c = &e->conns[p->session];
    struct session_cb cb = engine_session_cb_for(c);
    int rc = session_send(&c->s, type, body, len, &cb);
    if (rc < 0 && rc != SESSION_E_SIZE)
        engine_conn_fail(e, c, rc);
    return rc;
}

void engine_close_peer(struct engine *e, size_t peer)
{
    assert(e && peer < e->max_peers);
    struct engine_peer *p = &e->peers[peer];
    if (p->used && p->session != NONE)
        engine_conn_fail(e, &e->conns[p->session], SESSION_E_MESSAGE);
}

bool engine_peer_conn(const struct engine *e, size_t peer, engine_conn *conn)
{
    assert(e && peer < e->max_peers && conn);
    const struct engine_peer *p = &e->peers[peer];
    if (!p->used || p->session == NONE)
        return false;
    *conn = conn_handle(e, &e->conns[p->session]);
    return true;
}

size_t engine_conn_peer(const struct engine *e, engine_conn conn)
{
    assert(e);
    const struct engine_conn_slot *c = conn_find(e, conn);
    return c != NULL && c->opened ? c->peer : ENGINE_NO_PEER;
}

void engine_shutdown(struct engine *e)
{
    assert(e && !e->feeding);
    e->stopping = true;
    for (size_t i = 0; i < e->max_conns; i++)
        if (e->conns[i].used)
            engine_conn_drop(e, &e->conns[i], ENGINE_E_SHUTDOWN, false);
}

bool engine_peer_get(const struct engine *e, size_t peer, struct engine_peer_conf *conf,
                     struct engine_peer_stats *st)
{
    assert(e);
    if (peer >= e->max_peers) /* callers may walk all LIMIT_PEERS slots of a smaller engine */
        return false;
    const struct engine_peer *p = &e->peers[peer];
    if (!p->used)
        return false;
    if (conf)
        *conf = p->conf;
    if (!st)
        return true;
    *st = p->st;
    if (p->session != NONE) {
        const struct engine_conn_slot *c = &e->conns[p->session];
        st->state = ENGINE_PEER_CONNECTED;
        st->bytes_in += c->bytes_in;
        st->bytes_out += c->bytes_out;
        st->frames_in += c->s.frames_in;
        st->frames_out += c->s.frames_out;
        st->rekeys += c->s.rekeys;
        st->capabilities = c->s.peer_capabilities;
    } else if (p->dialing != NONE) {
        st->state = ENGINE_PEER_CONNECTING;
    } else {
        st->state = p->conf.host[0] ? ENGINE_PEER_BACKOFF : ENGINE_PEER_IDLE;
    }
    return true;
}

size_t engine_connected_count(const struct engine *e)
{
    size_t n = 0;
    for (size_t i = 0; i < e->max_peers; i++)
        n += e->peers[i].used && e->peers[i].session != NONE;
    return n;
}
