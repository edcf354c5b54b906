/* succession.h - which key stands for a configured peer now: the node's table of accepted key
 * succession statements and the rule that decides between them (docs/PROTOCOL.md "Key
 * succession"). Sans-IO and pure: the statements come verified (proto/succession.h), the
 * config and times are passed in, nothing is read or written here.
 *
 * The rule, for a statement S replacing key OLD by NEW:
 *   - trust: OLD is a configured peer's key or a key that replaced one (its chain); for a
 *     recovery, S's authority is the RecoveryKey of that peer. Anything else is refused
 *     (SUCCESSION_E_UNTRUSTED): the table holds only what concerns this node's peers;
 *   - one successor per key: a second rotation of OLD is refused (the first stands,
 *     SUCCESSION_E_CONFLICT); a recovery of OLD replaces a rotation of OLD, and every statement
 *     down the chain the rotation started is dropped (their keys are the thief's); a recovery is
 *     never replaced (SUCCESSION_E_SUPERSEDED);
 *   - NEW must not be a key in use (a configured key, this node's own, any other statement's old or new
 *     key): SUCCESSION_E_CONFLICT, so a chain is never a cycle and never forks;
 *   - a chain is at most LIMIT_SUCCESSION_CHAIN links, the table LIMIT_SUCCESSIONS statements.
 * A statement is checked whole before the table changes.
 *
 * Ownership: struct succession_table is caller-owned; its statements are an array it grows on
 * demand (doubling, up to LIMIT_SUCCESSIONS) because nearly every node holds none or a few, and
 * a fixed array of LIMIT_SUCCESSIONS is 360 KiB per node. succession_table_free releases it; a
 * copy of the struct shares the array (not a copy of the table).
 */
#ifndef TLPMESH_NODE_SUCCESSION_H
#define TLPMESH_NODE_SUCCESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "node/config/config.h"
#include "proto/succession.h"

struct succession_table {
    size_t n;   /* statements in e */
    size_t cap; /* room in e (0: e is NULL) */
    struct proto_succession *e;
};

/* What succession_offer did (values >= 0). */
enum succession_outcome {
    SUCCESSION_KNOWN = 0,    /* these exact bytes are in the table already: nothing changed */
    SUCCESSION_ADDED = 1,
    SUCCESSION_REPLACED = 2, /* a recovery replaced a rotation (and its chain) */
};

/* Keys a recovery took out of every chain (the rotation's new key and what followed it): the
 * node distrusts them from time 0. */
struct succession_dropped {
    size_t n;
    uint8_t keys[LIMIT_SUCCESSION_CHAIN][LIMIT_KEY_BYTES];
};

/* An empty table (allocates nothing). An all-zero struct is an empty table too. */
void succession_table_init(struct succession_table *t);
/* Frees the statements; t is an empty table after. */
void succession_table_free(struct succession_table *t);

/* Applies the rule to s (already decoded and verified). self: this node's key, which may be
 * part of a chain too (its own rotations). trusted: false checks the rule's trust clause; true
 * skips it (statements this node stored itself, reloaded from its store). dropped may be
 * NULL. Returns an enum succession_outcome or a negative SUCCESSION_E_* (SUCCESSION_E_NOMEM:
 * the table could not grow, and is unchanged). */
int succession_offer(struct succession_table *t, const struct config *cfg,
                     const uint8_t self[LIMIT_KEY_BYTES], const struct proto_succession *s,
                     bool trusted, struct succession_dropped *dropped);

/* The statement replacing key, or NULL. */
const struct proto_succession *succession_of(const struct succession_table *t,
                                             const uint8_t key[LIMIT_KEY_BYTES]);
/* The statement whose new key is key, or NULL. */
const struct proto_succession *succession_to(const struct succession_table *t,
                                             const uint8_t key[LIMIT_KEY_BYTES]);

/* Follows the chain from key (a configured one): the key that stands for it now into current,
 * and the last statement on the way (NULL when none). */
const struct proto_succession *succession_current(const struct succession_table *t,
                                                  const uint8_t key[LIMIT_KEY_BYTES],
                                                  uint8_t current[LIMIT_KEY_BYTES]);

/* The configured peer whose chain holds key (its configured key, or one that replaced it), or
 * NULL. */
const struct config_peer *succession_peer(const struct succession_table *t,
                                          const struct config *cfg,
                                          const uint8_t key[LIMIT_KEY_BYTES]);

/* Calls fn for each statement of key's chain, from its start to its end, in order (at most
 * LIMIT_SUCCESSION_CHAIN). Returns the count. */
size_t succession_chain(const struct succession_table *t, const uint8_t key[LIMIT_KEY_BYTES],
                        void (*fn)(void *ctx, const struct proto_succession *s), void *ctx);

/* Calls fn for every statement of the table, each chain from its start to its end in order,
 * so that a receiver meets every statement after the one that makes its old key trusted: what
 * a node relays to a peer (docs/PROTOCOL.md "Key succession"). Returns the count (t->n). */
size_t succession_each(const struct succession_table *t,
                       void (*fn)(void *ctx, const struct proto_succession *s), void *ctx);

#endif
