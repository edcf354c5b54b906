/* node_int.h - what the parts of the node core share; not for use outside node/core/node*.c.
 *
 * node.h is the contract. Its implementation:
 *   node.c             the engine-gossip glue, the gate views, the shell's calls
 *   node_succession.c  key successions: the SUCCESSION message, the table, the engine's keys
 */
#ifndef TLPMESH_NODE_NODE_INT_H
#define TLPMESH_NODE_NODE_INT_H

#include "node/core/node.h"

/* node.c */
uint64_t node_now(const struct node *n);  /* io.now */
uint64_t node_wall(const struct node *n); /* io.wall_ms */
__attribute__((format(printf, 2, 3))) void node_logf(const struct node *n, const char *fmt, ...);
/* Ends peer's session at the next turn, with a penalty (PEERSCORE_E_*) or 1 for none. */
void node_close_later(struct node *n, size_t peer, int penalty);

/* node_succession.c */
void node_succession_peer_up(struct node *n, size_t peer);
int node_succession_message(struct node *n, size_t peer, const uint8_t *body, size_t len);
/* Sets conf's key (and prev_key, prev_until) for configured peer p at engine time now. */
void node_succession_conf(const struct node *n, const struct config_peer *p, uint64_t now,
                          struct engine_peer_conf *conf);
/* The configured key whose chain holds key (key itself if none): what the config and the
 * rosters name the peer by. */
const uint8_t *node_config_key(const struct node *n, const uint8_t key[LIMIT_KEY_BYTES]);

#endif
