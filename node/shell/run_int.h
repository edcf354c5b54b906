/* run_int.h - the state `tlpmesh run` shares between its files (private to node/shell/run*.c).
 *
 *   run.c          run_node(): load the node, the loop's handles and turn, signals, shutdown
 *   run_conn.c     TCP connections: the node's transport (node_io send/close/dial/backlog),
 *                  the listener
 *   run_control.c  the control socket's commands (status, reload, records-added), /metrics
 *   run_status.c   `tlpmesh status`: asks a running node and prints its answer
 *
 * Everything runs on the loop thread; struct run is owned by run_node().
 */
#ifndef TLPMESH_NODE_RUN_INT_H
#define TLPMESH_NODE_RUN_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <uv.h>

#include "crypto/keys.h"
#include "node/config/config.h"
#include "node/core/node.h"
#include "node/formats/metrics.h"
#include "node/shell/control.h"
#include "node/shell/committer.h"
#include "node/shell/verifier.h"
#include "store/gossip_lmdb.h"
#include "store/store.h"

enum { RUN_OK = 0, RUN_FAIL = 1, RUN_USAGE = 2 };

struct rconn;

struct run {
    uv_loop_t loop;
    const struct http_ui *ui; /* the console run_node() was given, or NULL */
    uv_tcp_t listener;
    bool listening;
    unsigned accepts_turn; /* inbound connections accepted this loop turn */
    bool accept_waiting;   /* one is waiting for the next turn (libuv stopped the listener) */
    uv_timer_t timer;
    uv_timer_t prune_timer; /* expired records past LIMIT_PRUNE_GRACE_MS leave the store */
    uv_prepare_t prepare;
    uv_signal_t sig_int, sig_term, sig_hup;
    struct control_server control;
    struct config cfg;
    struct keys_identity id;
    struct keys_identity prev_id; /* KEYFILE.prev during its grace (run_keys.c) */
    bool has_prev;
    struct store *store;
    struct node node;                 /* engine, gossip, communities */
    bool node_ready;                  /* node_init succeeded: stop() says goodbye to peers */
    struct gossip_lmdb lmdb;          /* gossip's store ops over store */
    struct verifier verifier;         /* signature checks on the thread pool */
    struct committer committer;       /* gossip's store commits on a writer thread */
    struct rconn *conns[LIMIT_CONNS]; /* by engine slot: connections the engine knows */
    bool stopping;
    struct http_server *http; /* [HTTP] server, NULL when off */
    uint64_t start_ms;
    /* the log's share of unauthenticated refusals (run.c, LIMIT_LOG_REFUSED_PER_S) */
    uint64_t refused_log_since, refused_logged, refused_log_skipped;
};

/* The loop's cached time (one value per loop turn): the engine's and gossip's now. */
uint64_t run_now(const struct run *r);
/* Unix ms, for the record time rules. */
uint64_t run_unix_ms(void);

/* --- run_conn.c --- */

/* The node's transport (node_io): ctx is the struct run. */
int run_conn_send(void *ctx, engine_conn id, const uint8_t *bytes, size_t len);
void run_conn_close(void *ctx, engine_conn id);
int run_conn_dial(void *ctx, engine_conn id, const char *host, uint16_t port);
size_t run_conn_backlog(void *ctx, engine_conn id);
/* Writes what the engine queued on every connection (once per loop turn). */
void run_conn_flush_all(struct run *r);
/* A new loop turn: accepting starts again, the connection that waited first
 * (LIMIT_ACCEPTS_PER_TURN). */
void run_conn_accept_turn(struct run *r);
/* Once per loop turn, before and after the node's turn: connections that were read in the last
 * turn are read again, unless gossip holds their peer back (gossip_may_read). */
void run_conn_read_turn(struct run *r);
/* Listens on the config's Listen address. RUN_OK or RUN_FAIL (said on stderr). */
int run_listen(struct run *r);
/* Closes every handle of the loop that is not closing yet; connections free themselves. */
void run_close_all(struct run *r);

/* --- run_keys.c --- */

/* Before node_init: loads KEYFILE.prev while its grace lasts (mtime + KeyGraceSeconds) into
 * ep->prev_id, or removes it once the grace is over. RUN_OK or RUN_USAGE (said on stderr). */
int run_keys_prev(struct run *r, struct engine_params *ep);
/* After node_init and at each reload: the store's statements into the node's table. */
void run_keys_load(struct run *r);
/* node_io.succession: stores the table and the distrusted keys. */
void run_keys_stored(void *ctx, const struct succession_table *t,
                     const struct proto_succession *accepted,
                     const struct succession_dropped *dropped);
/* status: the succession that brought the peer's current key, or JSON null. */
json_t *run_keys_peer_json(const struct run *r, const uint8_t key[LIMIT_KEY_BYTES]);

/* --- run_control.c --- */

/* Re-reads the config: peers, ceilings, relations, communities, trusted roster owners, clients,
 * Anonymous and the log settings apply at once; the listen addresses, Network, DataDir, KeyFile
 * and Control keep their running values. 0 and why = the names of those that changed ("" when
 * none), or a negative code and why = the first problem (the running config stays). */
int run_reload(struct run *r, char *why, size_t why_len);
/* The control socket's handler (control.h): ctx is the struct run. */
json_t *run_on_control(void *ctx, const json_t *req);
/* /metrics: the node-wide gossip counters (http.h gossip_fill): ctx is the struct run. */
void run_metrics_fill(void *ctx, struct metrics_gossip *out);

#endif
