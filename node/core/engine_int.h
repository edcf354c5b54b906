/* engine_int.h - what the parts of the engine share; not for use outside node/core/engine*.c.
 *
 * engine.h is the module's contract. Its implementation is split by concern:
 *   engine_conn.c  connection slots: dialling, the session callbacks, ending a connection
 *   engine.c       strerror, the peer set and the entry points of engine.h
 *   engine_admit.c who may start a handshake: the per-address rate limit, the sharing of the
 *                  half-open table (per-address cap, configured peers' addresses, eviction)
 *   engine_penalty.c  penalties: a misbehaving key's back-off (engine_penalize), refused at the
 *                  end of its handshake and never dialled until it ends
 */
#ifndef TLPMESH_NODE_ENGINE_INT_H
#define TLPMESH_NODE_ENGINE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "node/core/engine.h"
#include "node/core/peerscore.h"

#define NONE SIZE_MAX

/* The fields every loop turn reads (engine_next_deadline, engine_tick) come first: one cache
 * line per peer instead of three. */
struct engine_peer {
    bool used;
    size_t session;              /* conn slot of the open session, or NONE */
    size_t dialing;              /* conn slot of our dial in progress, or NONE */
    uint64_t next_dial;
    uint64_t backoff;
    struct engine_peer_conf conf;
    struct engine_peer_stats st; /* byte/frame counters of closed sessions; live ones added */
    uint64_t penalty_ms, penalty_at; /* the last penalty's back-off and when it was given */
    bool dial_prev; /* it closed on our key: dial it with params.prev_id (engine.h) */
};

struct engine_conn_slot {
    struct engine *e;
    bool used;
    bool outbound;
    bool connected;  /* TCP is up (always for inbound) */
    bool half_open;  /* counted in engine.half_open */
    bool opened;     /* the session opened (HELLOs exchanged) */
    bool via_prev;   /* outbound with params.prev_id */
    uint32_t gen;
    size_t peer;     /* dialled peer, or the authenticated one; NONE before */
    int pending_err; /* failure noticed inside session_feed(): dropped when it returns */
    uint64_t created, last_rx, last_tx; /* with the state, all conn_deadline reads */
    uint64_t rekey_at; /* open session: next time-based rekey of what we send */
    struct session s;
    char addr[ENGINE_ADDR_BYTES];
    uint64_t bytes_in, bytes_out;
};

static inline engine_conn conn_handle(const struct engine *e, const struct engine_conn_slot *c)
{
    return (uint64_t)c->gen << 32 | (uint64_t)(c - e->conns);
}

static inline const struct engine_conn_slot *conn_find(const struct engine *e, engine_conn h)
{
    uint64_t idx = h & 0xffffffffu;
    if (idx >= e->max_conns)
        return NULL;
    const struct engine_conn_slot *c = &e->conns[idx];
    return c->used && c->gen == (uint32_t)(h >> 32) ? c : NULL;
}

static inline struct engine_conn_slot *conn_get(struct engine *e, engine_conn h)
{
    return (struct engine_conn_slot *)conn_find(e, h); /* e is not const: neither is its slot */
}

/* An address as the accept policy keys it: IPv4 as ::ffff:a.b.c.d, then masked to the host
 * (IPv6 /64) or the subnet (IPv4 /24, IPv6 /48). */
struct engine_addr {
    uint8_t b[16];
};

/* Per connection slot: the keys of an inbound half-open (valid while its half_open is set). */
struct engine_admit_conn {
    struct engine_addr host, group;
    bool known; /* a configured peer's address: never evicted for another address */
    uint8_t stalls; /* the host's half-opens given up after message 2, when this one came */
};

/* Per peer slot: the address of its Endpoint (0) and of its last session (1), parsed again only
 * when the text changes; key says which peer the slot was filled for. */
struct engine_admit_peer {
    uint8_t key[LIMIT_KEY_BYTES];
    char src[2][ENGINE_HOST_BYTES];
    struct engine_addr host[2];
    bool ok[2];
};

/* engine_admit.c */
int engine_admit_init(struct engine *e); /* the tables of the sizes in e (engine_init) */
void engine_admit_free(struct engine *e);
/* May a connection from ip start a handshake? Fills out with its keys. May evict one half-open
 * (counted in stats.evicted_*) to make room; ENGINE_E_RATE or _HALF_OPEN refuse it. */
int engine_admit(struct engine *e, const char *ip, struct engine_admit_conn *out);

/* engine_conn.c */
bool engine_wants_dial(const struct engine *e, const struct engine_peer *p);
struct session_cb engine_session_cb_for(struct engine_conn_slot *c);
bool engine_next_used(const struct engine *e, size_t *i);
/* The peer whose key, or whose previous key within its grace, is key; NONE if none. */
size_t engine_peer_find_auth(const struct engine *e, const uint8_t key[LIMIT_KEY_BYTES]);
void engine_conn_drop(struct engine *e, struct engine_conn_slot *c, int err, bool transport_gone);
void engine_conn_fail(struct engine *e, struct engine_conn_slot *c, int err);
struct engine_conn_slot *engine_conn_alloc(struct engine *e, bool outbound, const char *addr);
int engine_conn_start_session(struct engine *e, struct engine_conn_slot *c);
void engine_format_addr(char out[ENGINE_ADDR_BYTES], const char *host, uint16_t port);
void engine_dial(struct engine *e, size_t peer);

/* engine_penalty.c */
bool engine_penalty_refuses(struct engine *e, struct engine_conn_slot *c, size_t peer);
uint64_t engine_penalty_dial_at(const struct engine_peer *p, uint64_t next_dial);

#endif
