/* memstore.h - an in-memory record store with the semantics gossip needs from store/store.h.
 *
 * Used by the gossip tests and by simnet (thousands of nodes in one process), so the per-record
 * cost is small: the signed record bytes once in an arena, a 48-byte entry (id, offset, length),
 * and a 4-byte slot in an open-addressing table keyed by a keyed hash (SipHash) of the id's first
 * 8 bytes, so that a full id and a gossip short id probe the same slots.
 *
 * Semantics (the same as store_put_batch): dedupe on id; records get seq 1, 2, ... in arrival
 * order (seq = entry index + 1, no gaps); a revocation is a tombstone kept whether or not its
 * target is held, and refuses (STORE_PUT_REVOKED) a later put of its target when the revocation's
 * origin is the target's origin; a revocation by anyone else changes nothing. A batch is all or
 * nothing: capacity for the whole batch is reserved before any item is applied. Nothing is ever
 * removed (no pruning yet). Errors are store_err codes (STORE_E_NOTFOUND, STORE_E_NOSPACE,
 * STORE_E_INVAL, STORE_E_IO for an allocation failure).
 *
 * Ownership: struct memstore is caller-owned: memstore_init, memstore_free. It never keeps
 * pointers to its arguments; callbacks get pointers into the arena, valid during the call.
 * Single-threaded. No I/O, clock or randomness (the hash key is the caller's).
 */
#ifndef TLPMESH_NODE_MEMSTORE_H
#define TLPMESH_NODE_MEMSTORE_H

#include <stddef.h>
#include <stdint.h>

#include "node/gossip.h"
#include "proto/limits.h"
#include "store/store.h"

struct memstore_rec {
    uint8_t id[LIMIT_ID_BYTES];
    uint64_t off; /* in arena */
    uint32_t len;
};

struct memstore_tomb {
    uint8_t target[LIMIT_ID_BYTES];
    uint8_t origin[LIMIT_KEY_BYTES]; /* of the revocation */
};

struct memstore {
    uint8_t hash_key[GOSSIP_HASH_KEY_BYTES];
    uint8_t *arena;
    size_t arena_len, arena_cap;
    struct memstore_rec *recs; /* in seq order */
    size_t n, cap;
    uint32_t *slots; /* entry index + 1; 0 = empty; power of two, at most half full */
    size_t slot_cap;
    struct memstore_tomb *tombs;
    size_t n_tombs, cap_tombs;
    uint32_t *tslots; /* tomb index + 1, keyed by target */
    size_t tslot_cap;
};

int memstore_init(struct memstore *m, const uint8_t hash_key[GOSSIP_HASH_KEY_BYTES]);
void memstore_free(struct memstore *m);

/* store_put_batch semantics; items[].rec may be NULL (the body is decoded then). */
int memstore_put_batch(struct memstore *m, struct store_put *items, size_t n);

int memstore_has(const struct memstore *m, const uint8_t id[LIMIT_ID_BYTES]);
int memstore_get(const struct memstore *m, const uint8_t id[LIMIT_ID_BYTES], uint8_t *buf,
                 size_t cap, size_t *len, uint64_t *seq);
/* Every record whose id starts with sid (8 bytes), in unspecified order. */
int memstore_find_short(const struct memstore *m, const uint8_t sid[GOSSIP_SHORT_ID_BYTES],
                        store_record_cb cb, void *ctx);
int memstore_iter_seq(const struct memstore *m, uint64_t since, store_record_cb cb, void *ctx);
int memstore_is_revoked(const struct memstore *m, const uint8_t target[LIMIT_ID_BYTES],
                        const uint8_t target_origin[LIMIT_KEY_BYTES]);
uint64_t memstore_last_seq(const struct memstore *m);

/* Fills ops to use m. */
void memstore_gossip_ops(struct memstore *m, struct gossip_store_ops *ops);

#endif
