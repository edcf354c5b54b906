/* node.h - one node: its engine, its gossip and its community table, wired together, sans-IO.
 *
 * The glue between the engine (sessions) and gossip (records) lives here once, so that the
 * daemon (node/shell/run.c), simnet and the ingest bench drive the same code:
 *   - the engine's application messages go to gossip, its session changes become gossip peers
 *     with the gate view community_fill_peer() builds from the config and the trusted rosters;
 *   - gossip's sends go to the engine, its backlog question to the shell's transport;
 *   - re-entrance: gossip is never re-entered from its own io calls. A send that fails ends the
 *     session, and the engine reports that peer down from inside gossip's call: such reports
 *     wait until the outermost gossip call returns. Sessions gossip asks to close, and
 *     signature checks the shell runs on the loop, wait for the next node_turn();
 *   - a session gossip closes for the peer's fault (a budget, a malformed message, a forged
 *     record: gossip.h) also backs the peer's key off (engine_penalize, node/core/peerscore.h);
 *   - a stored roster (with a table read from the store) or node_views_changed() makes the next
 *     turn rebuild the community table and give gossip the new gate views.
 *
 * The shell owns the transport and the clocks: struct node_io gives the node its time (a
 * monotonic clock for timers, Unix ms for the record time rules), its random bytes and its
 * connections; transport events (accept, connect, data, close, timers) go straight to the engine
 * (node.engine) with the shell's now, as engine.h says. The node reads no clock, socket, file or
 * random source itself (node/core/README.md: the build refuses them).
 *
 * Ownership: struct node is caller-owned: node_init() allocates, node_free() releases. It keeps
 * pointers to the identity, the config, the store (or fixed community table) and the store ops'
 * context of its params: they must outlive it. The config may be replaced in place (same
 * address) between calls; call node_views_changed() after. The shell drives node.engine with
 * transport events and reads node.engine and node.gossip for status; the rest is node.c's.
 */
#ifndef TLPMESH_NODE_NODE_H
#define TLPMESH_NODE_NODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "node/config/config.h"
#include "node/core/community.h"
#include "node/core/engine.h"
#include "node/core/gossip.h"
#include "node/core/succession.h"
#include "store/store.h"

/* The channel message that carries key succession statements (docs/PROTOCOL.md "Key
 * succession"): u8 count (1..LIMIT_SUCCESSION_PER_MSG), then count statements of
 * LIMIT_SUCCESSION_BYTES. A node sends every statement it accepted (its table) when a session
 * opens and relays each newly accepted one to its other sessions; gossip never sees this type
 * (older nodes ignore it as an unknown type, within their budget). */
#define NODE_MSG_SUCCESSION 22

struct node_io {
    void *ctx;
    /* The transport: as struct engine_io's send, close, dial, random and log (engine.h). */
    int (*send)(void *ctx, engine_conn conn, const uint8_t *bytes, size_t len);
    void (*close)(void *ctx, engine_conn conn);
    int (*dial)(void *ctx, engine_conn conn, const char *host, uint16_t port);
    void (*random)(void *ctx, uint8_t *buf, size_t n);
    void (*engine_log)(void *ctx, enum engine_log_level level, const char *event,
                       const uint8_t *key, const char *addr, const char *detail);
    /* Bytes queued on conn and not yet written (gossip stops feeding a backlogged peer). */
    size_t (*backlog)(void *ctx, engine_conn conn);
    /* The shell's clocks, read whenever gossip needs them: monotonic ms (the engine's now) and
     * Unix ms (record time rules, the gate's expiry). */
    uint64_t (*now)(void *ctx);
    uint64_t (*wall_ms)(void *ctx);
    /* Optional: take a signature check (gossip_io.verify): run gossip_job_run() anywhere, then
     * node_verified() on the node's thread, or node_verify_later(). NULL: every job is checked
     * at the next node_turn(). */
    void (*verify)(void *ctx, struct gossip_job *job);
    /* Optional: take a store commit (gossip_io.commit): run gossip_commit_run() anywhere, then
     * node_committed() on the node's thread. NULL: node_turn() commits itself. */
    void (*commit)(void *ctx, struct gossip_commit *c);
    /* Optional: the signature check of jobs checked in node_turn() (NULL: gossip_job_run's). */
    gossip_verify_fn check;
    /* Optional: one line for the operator ("gossip peer=KEY: ...", "community: ..."). */
    void (*log)(void *ctx, const char *line);
    /* Optional: gossip's debug lines (GOSSIP_LOG_DEBUG, e.g. each refused send when
     * gossip_params.log_refusals), with the peer's key in base64 ("-" for none). NULL: dropped. */
    void (*log_debug)(void *ctx, const char *peer_b64, const char *line);
    /* Optional: an application message arrived. NULL: it goes to gossip at once; else the
     * shell gets it and hands it on with node_message() when it likes (simnet watches, holds
     * back and repeats messages). */
    void (*message)(void *ctx, size_t peer, uint8_t type, const uint8_t *body, size_t len);
    /* Optional: told of every session change before gossip is. */
    void (*peer_change)(void *ctx, size_t peer, bool up);
    /* Optional: told of every committed record (gossip_io.stored). */
    void (*stored)(void *ctx, const uint8_t id[LIMIT_ID_BYTES], uint8_t kind);
    /* Optional: a peer's statement changed the succession table t (node_succession.c); the
     * shell stores t and distrusts the dropped keys (from 0) and, for a recovery (accepted),
     * its old key from accepted->time_ms, before it returns. NULL: kept in memory only. */
    void (*succession)(void *ctx, const struct succession_table *t,
                       const struct proto_succession *accepted,
                       const struct succession_dropped *dropped);
};

struct node_params {
    /* Organisation, TrustRosterOwner and the [Peer]s: the engine's peers and the gate views. */
    const struct config *cfg;
    /* The rosters of the community table are read from store; NULL: communities is the table
     * (simnet: the world's communities, no store), never rebuilt and not freed by the node. */
    struct store *store;
    const struct community_table *communities;
    struct gossip_store_ops store_ops; /* gossip's records */
    struct engine_params engine;       /* its id is this node's key in the community table */
    /* Table sizes, start_seq, hash_key; self and max_peers are the node's. */
    struct gossip_params gossip;
};

struct node {
    struct engine engine;
    struct gossip *gossip;
    struct community_table own_ctab;    /* built from params.store */
    const struct community_table *ctab; /* &own_ctab, or params.communities */
    const struct config *cfg;
    struct store *store;
    struct node_io io;
    size_t max_peers;
    unsigned depth;          /* inside a gossip call: peer-down reports wait */
    bool *down_pending;      /* max_peers: sessions that ended meanwhile */
    int *close_peer;         /* max_peers: gossip asked to end these sessions, and why (a
                                PEERSCORE_E_* penalty, or 1: close without one) */
    struct gossip_job *jobs; /* to check at the next turn (linked through job->user) */
    bool dirty;              /* rosters or the config changed: rebuild the gate views */
    struct succession_table *succ; /* accepted key successions (node_succession.c) */
    bool succ_dirty;         /* the table changed: the next turn gives the engine the keys */
    bool engine_ready;
};

/* Builds the engine, the community table and gossip (with this node's gate view); no peer yet
 * (node_set_peers). Negative engine_err, gossip_err or community_err; why gets one line
 * ("communities: ...", "gossip: ..." or the engine's message). On failure node_free() is safe. */
int node_init(struct node *n, const struct node_params *p, const struct node_io *io, char *why,
              size_t why_len);
/* Gives back the jobs still waiting for a turn (node_drain_jobs), then frees gossip, the engine
 * and the table. No io.verify job or io.commit may be out. Safe on a node whose init failed. */
void node_free(struct node *n);

/* The engine's peers := cfg's [Peer]s (engine_set_peers: start-up, and reload with the new
 * config before it replaces the old one in place), each under the key that stands for it now
 * (succession_current) with its rotated-away key accepted until the rotation's time plus
 * KeyGraceSeconds. Negative engine_err: nothing changed. */
int node_set_peers(struct node *n, const struct config *cfg, uint64_t now);
/* The config (reloaded) changed: the next turn rebuilds the table and gives gossip the new gate
 * views of this node and of every connected peer. */
void node_views_changed(struct node *n);

/* A statement this node stored itself (read back from its store at start-up or reload): into
 * the table without the trust clause (succession.h). SUCCESSION_* outcome or a negative
 * SUCCESSION_E_*; call node_set_peers after loading. */
int node_succession_load(struct node *n, const uint8_t *bytes, size_t len);
/* Sends every statement this node accepted (its own chain and its peers') to every connected
 * peer. */
void node_succession_announce(struct node *n);

/* An application message for gossip (from the engine, or handed on by io.message): the
 * gossip_on_message result (after a negative one gossip asked to close that session). */
int node_message(struct node *n, size_t peer, uint8_t type, const uint8_t *body, size_t len);

/* A peer's session opened (up: gossip gets the peer with its gate view) or ended (a report
 * inside a gossip call waits until it returns). The engine calls this through its io; a shell
 * without sessions (the bench) may call it for a configured peer. */
void node_peer_change(struct node *n, size_t peer, bool up);

/* A job io.verify took has been checked: give it back to gossip (on the node's thread). */
void node_verified(struct node *n, struct gossip_job *job);
/* The commit io.commit took has run: give it back to gossip (on the node's thread). The
 * gossip_on_committed result. */
int node_committed(struct node *n, struct gossip_commit *c);
/* A job io.verify cannot check elsewhere: it is checked at the next node_turn(). */
void node_verify_later(struct node *n, struct gossip_job *job);
/* Checks (gossip_job_run) and gives back every job waiting for a turn, e.g. before the final
 * counters of a node that stops. */
void node_drain_jobs(struct node *n);

/* Own records added to the store by the node's tools: gossip_local_scan; with a store, the
 * community table and the gate views are rebuilt first (a tool may have stored a roster). */
int node_local_scan(struct node *n);

/* Once per loop turn, after the events: requested closes, jobs waiting for a turn, new gate
 * views, then gossip_flush (commit and send). The gossip_flush result. */
int node_turn(struct node *n);

/* When the shell must call engine_tick() and node_turn() next: the earlier of the engine's
 * and gossip's deadlines; UINT64_MAX when none. */
uint64_t node_next_deadline(const struct node *n);

#endif
