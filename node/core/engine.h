/* engine.h - one node's peers and sessions, sans-IO (docs/ARCHITECTURE.md).
 *
 * The engine decides who to dial, when, which connections to keep and when to give up; it never
 * reads a clock, a socket or a random source. The shell (node/shell/run.c on libuv, simnet on a
 * virtual clock) calls engine_on_*() with events and a monotonic `now` in milliseconds, and the
 * engine answers through struct engine_io: send bytes, close or dial a connection, draw random
 * bytes, log. After each batch of events the shell arms one timer at engine_next_deadline().
 *
 * Connections are named by engine_conn handles that the engine allocates (slot and generation):
 * a stale handle (its connection already closed by the engine) is ignored, so the shell may report
 * events in any order. After the engine calls io.close(conn) it forgets the connection; the shell
 * must flush what was sent, close the socket and not report it again (it may; it is ignored).
 *
 * Policy: at most one session per peer. When both nodes dial at once, each side keeps the session
 * initiated by the node with the smaller Ed25519 key and closes the other with CLOSE(DUPLICATE),
 * so both sides make the same choice without talking. Dials back off exponentially (doubling from
 * LIMIT_BACKOFF_MIN_MS to LIMIT_BACKOFF_MAX_MS, with jitter in [delay/2, delay]).
 *
 * Ownership: struct engine is caller-owned: engine_init() allocates, engine_free() releases (it
 * does not call io; call engine_shutdown() first to say goodbye). The engine keeps a pointer to the
 * identity passed at init; it must outlive the engine.
 */
#ifndef TLPMESH_NODE_ENGINE_H
#define TLPMESH_NODE_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/keys.h"
#include "node/core/session.h"
#include "proto/errors.h"
#include "proto/limits.h"

typedef uint64_t engine_conn;

#define ENGINE_HOST_BYTES LIMIT_ENGINE_HOST_BYTES /* proto/limits.h */
#define ENGINE_ADDR_BYTES LIMIT_ENGINE_ADDR_BYTES
#define ENGINE_NO_PEER SIZE_MAX

/* Error codes: X(name, value, message), range ERRORS_BASE_ENGINE in proto/errors.h; the
 * comments say when each happens. */
#define ENGINE_ERRORS(X)                                                                           \
    X(ENGINE_E_NOMEM, ERRORS_BASE_ENGINE - 0, "out of memory")                                     \
    /* more than LIMIT_PEERS peers, or a duplicate key */                                          \
    X(ENGINE_E_PEERS, ERRORS_BASE_ENGINE - 1, "too many peers or a duplicate peer key")            \
    /* inbound connection refused: address over its rate */                                        \
    X(ENGINE_E_RATE, ERRORS_BASE_ENGINE - 2, "too many connections from this address")             \
    /* inbound connection refused: too many handshakes */                                          \
    X(ENGINE_E_HALF_OPEN, ERRORS_BASE_ENGINE - 3, "too many handshakes in progress")               \
    X(ENGINE_E_CONNS, ERRORS_BASE_ENGINE - 4, "no free connection slot")                           \
    /* handshake not finished within LIMIT_HANDSHAKE_MS */                                         \
    X(ENGINE_E_HS_TIMEOUT, ERRORS_BASE_ENGINE - 5, "handshake timed out")                          \
    /* nothing received for LIMIT_DEAD_MS */                                                       \
    X(ENGINE_E_DEAD, ERRORS_BASE_ENGINE - 6, "peer silent too long")                               \
    /* lost the simultaneous-dial tie-break */                                                     \
    X(ENGINE_E_DUPLICATE, ERRORS_BASE_ENGINE - 7, "duplicate session")                             \
    /* peer removed from the config */                                                             \
    X(ENGINE_E_REMOVED, ERRORS_BASE_ENGINE - 8, "peer removed from config")                        \
    X(ENGINE_E_SHUTDOWN, ERRORS_BASE_ENGINE - 9, "shutting down")                                  \
    /* TCP connect failed or connection lost */                                                    \
    X(ENGINE_E_CONNECT, ERRORS_BASE_ENGINE - 10, "connection failed or lost")                      \
    /* engine_send() to a peer without an open session */                                          \
    X(ENGINE_E_NOT_CONNECTED, ERRORS_BASE_ENGINE - 11, "peer not connected")                       \
    /* the node's own key is listed as a peer */                                                   \
    X(ENGINE_E_SELF, ERRORS_BASE_ENGINE - 12, "own key listed as a peer")                          \
    /* why a dial failed (issue 11): the shell names the transport's reason (engine_on_failed) */  \
    X(ENGINE_E_DNS, ERRORS_BASE_ENGINE - 13, "cannot resolve the peer's host name (DNS)")          \
    X(ENGINE_E_REFUSED, ERRORS_BASE_ENGINE - 14, "connection refused (nothing listens there)")     \
    /* TCP connect not done within LIMIT_HANDSHAKE_MS, or the system's connect timeout */          \
    X(ENGINE_E_CONNECT_TIMEOUT, ERRORS_BASE_ENGINE - 15, "connection timed out")                   \
    X(ENGINE_E_NETWORK, ERRORS_BASE_ENGINE - 16, "network error (unreachable, reset or other)")    \
    /* a dialled partner closed after it saw our key, before its HELLO: it does not allow us */    \
    X(ENGINE_E_HS_CLOSED, ERRORS_BASE_ENGINE - 17,                                                 \
      "handshake closed by peer: is our key in its config?")                                       \
    /* a half-open inbound handshake gave its slot to a newer one (engine_admit.c) */              \
    X(ENGINE_E_EVICTED, ERRORS_BASE_ENGINE - 18, "handshake evicted to make room (handshake flood)")

enum engine_err {
    ENGINE_OK = 0,
    ENGINE_ERRORS(ERRORS_ENUM)
};

/* Also names session errors (SESSION_E_*). */
const char *engine_strerror(int err);

enum engine_log_level { ENGINE_LOG_INFO, ENGINE_LOG_WARN };

struct engine_io {
    void *ctx;
    /* Queue bytes on conn. Negative: queue full (the engine closes the connection). */
    int (*send)(void *ctx, engine_conn conn, const uint8_t *bytes, size_t len);
    /* Flush and close conn; never report it again. */
    void (*close)(void *ctx, engine_conn conn);
    /* Start a TCP connection; report engine_on_connected() or engine_on_closed() for conn. A
     * negative return is a failed dial (treated like engine_on_closed()). */
    int (*dial)(void *ctx, engine_conn conn, const char *host, uint16_t port);
    void (*random)(void *ctx, uint8_t *buf, size_t n);
    /* One line per connect, refusal and disconnect. key may be NULL (not yet authenticated). */
    void (*log)(void *ctx, enum engine_log_level level, const char *event, const uint8_t *key,
                const char *addr, const char *detail);
    /* Optional (may be NULL): an application (gossip) message from an open session. */
    void (*message)(void *ctx, size_t peer, uint8_t type, const uint8_t *body, size_t len);
    /* Optional (may be NULL): a peer's session opened (up) or ended (!up). */
    void (*peer_change)(void *ctx, size_t peer, bool up);
};

struct engine_peer_conf {
    uint8_t key[LIMIT_KEY_BYTES];
    char name[LIMIT_NAME_BYTES + 1];
    char org[LIMIT_NAME_BYTES + 1];
    char host[ENGINE_HOST_BYTES]; /* empty: never dial, only accept */
    uint16_t port;
    /* The key this peer rotated away from (docs/PROTOCOL.md "Key succession"): its handshakes
     * are still accepted as this peer's until engine time prev_until (0: no such key). */
    uint8_t prev_key[LIMIT_KEY_BYTES];
    uint64_t prev_until;
};

enum engine_peer_state {
    ENGINE_PEER_IDLE,       /* no endpoint: waiting for the peer to connect */
    ENGINE_PEER_BACKOFF,    /* waiting to dial */
    ENGINE_PEER_CONNECTING, /* dial or handshake under way */
    ENGINE_PEER_CONNECTED,  /* session open */
};

const char *engine_peer_state_str(enum engine_peer_state st);

struct engine_peer_stats {
    enum engine_peer_state state;
    char address[ENGINE_ADDR_BYTES]; /* of the open session, else of the last attempt */
    uint64_t since;                  /* engine time the session opened (0: not connected) */
    uint64_t bytes_in, bytes_out, frames_in, frames_out; /* over all sessions */
    uint64_t sessions, errors, rekeys;
    int last_error; /* ENGINE_E_* / SESSION_E_* / PEERSCORE_E_*, 0 = none */
    uint32_t capabilities; /* the peer's HELLO capabilities of the open session (0: none open) */
    /* engine_penalize: the key is backed off until this engine time (0: never penalized), for
     * the reason of its last penalty; penalties counts them, by reason (peerscore.h order). */
    uint64_t backoff_until;
    int penalty_reason;
    uint64_t penalties, refused_backed_off;
};

struct engine_stats {
    uint64_t accepted, refused_rate, refused_half_open, refused_conns;
    /* half-opens evicted: their address held LIMIT_HALF_OPEN_PER_ADDR (addr), the table was full
     * (full); refused_half_open now counts only newcomers when every half-open is protected */
    uint64_t evicted_addr, evicted_full;
    uint64_t handshakes_ok, handshakes_failed, protocol_errors, timeouts;
    uint64_t penalties, refused_backed_off; /* engine_penalize calls; handshakes it refused */
};

struct engine_params {
    const struct keys_identity *id;
    /* Optional: the key this node rotated away from, presented instead of id when dialling a
     * peer whose last dial with id ended ENGINE_E_HS_CLOSED (it has not heard of the rotation
     * yet), until engine time prev_until; the session then carries the succession statement. */
    const struct keys_identity *prev_id;
    uint64_t prev_until;
    const char *network;
    uint32_t capabilities;    /* sent in HELLO */
    uint64_t rekey_interval;  /* 0 = LIMIT_REKEY_MESSAGES (tests use small values) */
    uint64_t rekey_ms;        /* 0 = LIMIT_REKEY_MS: each side rekeys what it sends this often */
    /* Table sizes, 0 = the LIMIT_ default; simnet runs a thousand engines with small ones. */
    size_t max_peers;         /* peer slots, <= LIMIT_PEERS */
    size_t max_conns;         /* connection slots, <= LIMIT_CONNS */
    size_t rate_addrs;        /* rate-limiter buckets, <= LIMIT_RATE_ADDRS */
    /* NULL: the engine allocates its own. Else SESSION_SCRATCH_BYTES the caller owns and may
     * share between engines that are never inside a call at the same time (simnet). */
    uint8_t *scratch;
};

struct engine_peer;
struct engine_conn_slot;
struct engine_rate;
struct engine_admit_conn;
struct engine_admit_peer;

struct engine {
    struct engine_params params;
    char network[LIMIT_NAME_BYTES + 1];
    struct engine_io io;
    struct engine_peer *peers;      /* LIMIT_PEERS slots */
    struct engine_conn_slot *conns; /* LIMIT_CONNS slots */
    /* A bit per slot in use: the per-turn deadline scan reads these words, not every slot. */
    uint64_t conn_used[(LIMIT_CONNS + 63) / 64];
    struct engine_rate *rate;       /* LIMIT_RATE_ADDRS buckets */
    struct engine_admit_conn *admit; /* per conn slot: a half-open's address (engine_admit.c) */
    struct engine_admit_peer *admit_peers; /* per peer slot: its addresses, parsed */
    size_t half_open;
    uint8_t *scratch; /* SESSION_SCRATCH_BYTES shared by all sessions */
    uint8_t auth[SESSION_AUTH_BYTES]; /* our handshake payload, signed once at init */
    uint8_t prev_auth[SESSION_AUTH_BYTES]; /* params.prev_id's, when given */
    bool own_scratch; /* allocated by engine_init (else params.scratch) */
    size_t max_peers, max_conns, rate_cap; /* table sizes (params, or the LIMIT_ defaults) */
    uint64_t rekey_ms;                     /* params.rekey_ms, or LIMIT_REKEY_MS */
    struct engine_stats stats;
    uint64_t now;                    /* of the event being handled */
    struct engine_conn_slot *feeding; /* connection inside session_feed(): drops are deferred */
    bool stopping;
};

int engine_init(struct engine *e, const struct engine_params *p, const struct engine_io *io);
void engine_free(struct engine *e);
/* Moves a caller-owned scratch (params.scratch) between calls: simnet hands each engine the
 * scratch of the thread that runs it next. Not for an engine that allocated its own. */
void engine_set_scratch(struct engine *e, uint8_t *scratch);

/* Replaces the peer set (start-up and reload). Peers whose key disappears are disconnected
 * (CLOSE(REMOVED)); new peers with an endpoint are dialled; the others keep their sessions and
 * take the new name, organisation and endpoint. Fails without changing anything on a duplicate
 * key, the node's own key, or more than LIMIT_PEERS peers. */
int engine_set_peers(struct engine *e, const struct engine_peer_conf *peers, size_t n,
                     uint64_t now);

/* An inbound TCP connection from ip:port (an address literal: the accept policy keys on it).
 * Returns its handle, or ENGINE_E_RATE / _HALF_OPEN / _CONNS: the shell closes the socket at
 * once (the refusal is logged and counted). To make room it may end one other inbound handshake
 * (io.close, ENGINE_E_EVICTED): docs/PROTOCOL.md "Handshake floods". */
int64_t engine_on_accept(struct engine *e, const char *ip, uint16_t port, uint64_t now);
/* A dial started by io.dial() has connected. */
void engine_on_connected(struct engine *e, engine_conn conn, uint64_t now);
void engine_on_data(struct engine *e, engine_conn conn, const uint8_t *data, size_t len,
                    uint64_t now);
/* The transport closed or the dial failed: engine_on_failed(..., ENGINE_E_CONNECT, ...). */
void engine_on_closed(struct engine *e, engine_conn conn, uint64_t now);
/* The same with the transport's reason: ENGINE_E_DNS, _REFUSED, _CONNECT_TIMEOUT, _NETWORK or
 * _CONNECT (closed or lost). A dial whose partner closes after our key went out and before its
 * HELLO ends with ENGINE_E_HS_CLOSED instead. The reason becomes the peer's last_error and is
 * logged. */
void engine_on_failed(struct engine *e, engine_conn conn, int err, uint64_t now);
/* Runs timers due at now: dials, keepalives, handshake deadlines, dead sessions. */
void engine_tick(struct engine *e, uint64_t now);
/* Earliest time engine_tick() has work; UINT64_MAX when none. */
uint64_t engine_next_deadline(const struct engine *e);

/* Sends an application message (type >= SESSION_MSG_APP_FIRST) to a connected peer. */
int engine_send(struct engine *e, size_t peer, uint8_t type, const uint8_t *body, size_t len,
                uint64_t now);

/* Ends peer's open session with CLOSE(protocol error): the application (gossip) found its
 * messages malformed. No-op without a session; inside io.message the close waits until the
 * received bytes are processed. The peer is redialled with backoff as after any error. */
void engine_close_peer(struct engine *e, size_t peer);

/* Penalizes peer's key for reason (a PEERSCORE_E_* code, node/core/peerscore.h): its open
 * session is closed with that reason (as engine_close_peer), and for peerscore_backoff_next()
 * ms (doubling with each penalty, up to LIMIT_PENALTY_MAX_MS) the engine neither dials it nor
 * lets its handshake complete (PEERSCORE_E_BACKED_OFF). Logged ("penalized") and shown in the
 * peer's stats (backoff_until, penalty_reason). */
void engine_penalize(struct engine *e, size_t peer, int reason, uint64_t now);

/* The connection of peer's open session (for the shell's send-queue size); false if none. */
bool engine_peer_conn(const struct engine *e, size_t peer, engine_conn *conn);

/* The peer slot of conn's open session; ENGINE_NO_PEER before it opens or when conn is gone. */
size_t engine_conn_peer(const struct engine *e, engine_conn conn);

/* Closes every connection (CLOSE(SHUTDOWN) on open sessions) and stops dialling. */
void engine_shutdown(struct engine *e);

/* Introspection for status: peer slots 0..LIMIT_PEERS-1 (false: unused or beyond max_peers). */
bool engine_peer_get(const struct engine *e, size_t peer, struct engine_peer_conf *conf,
                     struct engine_peer_stats *stats);
size_t engine_peer_find(const struct engine *e, const uint8_t key[LIMIT_KEY_BYTES]);
size_t engine_connected_count(const struct engine *e);

#endif
