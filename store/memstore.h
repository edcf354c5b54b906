/* memstore.h - an in-memory record store with the semantics gossip needs from store/store.h.
 *
 * Used by the gossip tests and by simnet (thousands of nodes in one process), so the per-record
 * cost of one store is small. The signed record bytes live in a pool (struct memstore_pool) that
 * several stores may share: simnet gives every simulated node the same pool, so a record held by
 * a thousand nodes is kept once (its bytes are identical everywhere: the id is the hash of the
 * body and the signature travels with it). The pool has the one id index (store/idindex.h: keyed
 * by SipHash of the id's first 8 bytes under the pool's key, so that a full id and a gossip short
 * id probe the same slots; a probe reads only the entries that likely match). A store keeps the
 * 4-byte pool index of each of its records (in seq order) and, per pooled copy, the low 16 bits
 * of its seq in this store (0: not held, or a seq that is a multiple of 2^16): a lookup probes the
 * pool's index and keeps the copies this store holds, confirming a seq against the record array
 * (one candidate per 2^16 records held). Per record and store that is about 6 bytes plus the
 * rest of the last 4 KiB chunk of each table, where a store of its own index paid 12 to 20
 * (simnet: 96 KiB per node at 10,000 records) and a 4-byte seq per copy 8.
 *
 * Semantics (the same as store_put_batch): dedupe on id; records get seq 1, 2, ... in arrival
 * order (seq = entry index + 1, no gaps); a revocation is a tombstone kept whether or not its
 * target is held, and refuses (STORE_PUT_REVOKED) a later put of its target when the revocation's
 * origin is the target's origin; a revocation by anyone else changes nothing. A batch is all or
 * nothing: capacity for the whole batch is reserved before any item is applied. Nothing is ever
 * removed (no pruning yet). Errors are store_err codes (STORE_E_NOTFOUND, STORE_E_NOSPACE,
 * STORE_E_INVAL, STORE_E_IO for an allocation failure).
 *
 * The pool interns copies by (id, bytes): a put whose bytes equal a pooled copy of the same id
 * reuses it; different bytes under one id (another signature) get their own copy. Pooled copies
 * are never freed before the pool: a store that is freed or wiped leaves them for the others.
 *
 * Ownership: struct memstore_pool is caller-owned (memstore_pool_init, memstore_pool_free) and
 * must outlive every store sharing it. struct memstore is caller-owned: memstore_init (with a
 * private pool it owns) or memstore_init_shared (with the caller's pool), memstore_free. Neither
 * keeps pointers to other arguments; callbacks get pointers into the pool, valid during the call.
 * Single-threaded; lookups only read the pool, so stores sharing it may run on several threads
 * while nothing adds to the pool (memstore_pool_reserve). No I/O, clock or randomness (hash keys
 * are the caller's: the pool's for ids, a store's own for its revocation tombstones).
 */
#ifndef TLPMESH_STORE_MEMSTORE_H
#define TLPMESH_STORE_MEMSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/limits.h"
#include "store/gossip_store.h"
#include "store/idindex.h"
#include "store/store.h"

struct memstore_copy { /* one record's bytes in a pool */
    uint8_t id[LIMIT_ID_BYTES];
    uint64_t off; /* in the pool's arena */
    uint32_t len;
};

struct memstore_pool {
    uint8_t hash_key[LIMIT_HASH_KEY_BYTES];
    uint8_t *arena;
    size_t arena_len, arena_cap;
    struct memstore_copy *copies;
    size_t n, cap;
    struct idindex slots; /* copies, by id */
};

struct memstore_tomb {
    uint8_t target[LIMIT_ID_BYTES];
    uint8_t origin[LIMIT_KEY_BYTES]; /* of the revocation */
};

struct memstore {
    uint8_t hash_key[LIMIT_HASH_KEY_BYTES];
    struct memstore_pool *pool;
    bool own_pool;
    /* Both tables in chunks of 4 KiB that never move (memstore.c): a store grows by a chunk
     * at a time, with no slack beyond its last chunk and no copy of the table on growth, and
     * a thousand stores growing side by side leave no freed smaller tables behind (most of the
     * heap a simulation held over what it used). */
    uint32_t **recs; /* chunks of pool copy indexes, in seq order */
    size_t n, n_rec_chunks, rec_chunk_cap;
    uint16_t **seq_of; /* chunks, per pool copy: its seq here mod 2^16, 0 when not held or a
                          multiple of 2^16 (recs confirms which; chunks cover every copy named) */
    size_t n_seq_chunks, seq_chunk_cap;
    struct memstore_tomb *tombs;
    size_t n_tombs, cap_tombs;
    struct idindex tslots; /* tombs, by target */
};

int memstore_pool_init(struct memstore_pool *p, const uint8_t hash_key[LIMIT_HASH_KEY_BYTES]);
void memstore_pool_free(struct memstore_pool *p);
/* Bytes the pool holds (arena and tables), for memory reports. */
size_t memstore_pool_bytes(const struct memstore_pool *p);
/* Makes room for `copies` more copies holding `bytes` bytes in all. A put of up to that many
 * records, all of them already pooled, then only reads the pool: several threads may do such
 * puts at once (simnet's parallel steps; each store stays single-threaded). */
int memstore_pool_reserve(struct memstore_pool *p, size_t copies, size_t bytes);

int memstore_init(struct memstore *m, const uint8_t hash_key[LIMIT_HASH_KEY_BYTES]);
int memstore_init_shared(struct memstore *m, const uint8_t hash_key[LIMIT_HASH_KEY_BYTES],
                         struct memstore_pool *pool);
void memstore_free(struct memstore *m);
/* Bytes this store's own tables hold (not the pool), for memory reports. */
size_t memstore_bytes(const struct memstore *m);

/* store_put_batch semantics; items[].rec may be NULL (the verified body is decoded then, with
 * proto_record_decode_known). */
int memstore_put_batch(struct memstore *m, struct store_put *items, size_t n);

int memstore_has(const struct memstore *m, const uint8_t id[LIMIT_ID_BYTES]);
int memstore_get(const struct memstore *m, const uint8_t id[LIMIT_ID_BYTES], uint8_t *buf,
                 size_t cap, size_t *len, uint64_t *seq);
/* Every record whose id starts with sid (8 bytes), in unspecified order. */
int memstore_find_short(const struct memstore *m, const uint8_t sid[LIMIT_SHORT_ID_BYTES],
                        store_record_cb cb, void *ctx);
int memstore_iter_seq(const struct memstore *m, uint64_t since, store_record_cb cb, void *ctx);
/* store_load_revoked over the tombstones (a memstore distrusts no origin). */
int memstore_load_revoked(const struct memstore *m, size_t max, struct store_revoked_set *out);
int memstore_is_revoked(const struct memstore *m, const uint8_t target[LIMIT_ID_BYTES],
                        const uint8_t target_origin[LIMIT_KEY_BYTES]);
uint64_t memstore_last_seq(const struct memstore *m);

/* Fills ops to use m. */
void memstore_gossip_ops(struct memstore *m, struct gossip_store_ops *ops);

#endif
