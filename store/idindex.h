/* idindex.h - the open-addressing index over record ids that gossip's tables (node/core/gossip*.c)
 * and the in-memory store (store/memstore.c) share.
 *
 * An index maps ids to entry numbers 0, 1, ... of an array its owner keeps; it holds no ids, so
 * every probe that matches a slot is confirmed by the owner against its entry. Keys are SipHash
 * (crypto_shorthash) of an id's first LIMIT_SHORT_ID_BYTES under the owner's random key: a full id
 * and a gossip short id probe the same slots, and crafted ids cannot make chains.
 *
 * Layout: uint32_t slots, a power-of-two count of them, at most half full (so a probe always ends
 * at an empty slot). The hash's low bits pick the home slot; a slot packs entry + 1 in its low
 * log2(cap) bits (entries stay below cap / 2) and the hash's high bits above them, so that a probe
 * reads an entry (a cold line, in memstore through the shared pool) only when those bits match.
 * Deletion shifts the run back (no tombstones): lookups never slow down with churn.
 *
 * Where a hash is needed again (growing, deleting) the owner gives it through an idindex_hash_fn:
 * memstore computes it again from the id, gossip keeps it beside its entry.
 *
 * Ownership: struct idindex is caller-owned; idindex_init or idindex_grow allocates its slots,
 * idindex_free releases them. Nothing keeps a pointer to the owner past the call. Not
 * thread-safe for writes; concurrent lookups are fine. No I/O, clock or randomness: the key is
 * the caller's.
 */
#ifndef TLPMESH_STORE_IDINDEX_H
#define TLPMESH_STORE_IDINDEX_H

#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <sodium.h>

#include "proto/limits.h"

#define IDINDEX_NONE UINT32_MAX /* "no (more) entries" from idindex_next */

struct idindex {
    uint32_t *slot; /* entry + 1 | hash tag; 0 = empty */
    size_t cap;     /* 0 (nothing allocated yet) or a power of two */
};

/* The hash of entry i of the owner (the same value idindex_hash gave for its id). */
typedef uint64_t (*idindex_hash_fn)(const void *owner, size_t i);

/* Makes room for need entries: when 2 * need exceeds the slots, allocates a larger table and
 * inserts the owner's entries 0..count-1 again (all of them present). false: out of memory, or
 * need too large for a slot; x is unchanged then. */
bool idindex_grow(struct idindex *x, size_t need, size_t count, idindex_hash_fn hash_of,
                  const void *owner);
void idindex_free(struct idindex *x);
size_t idindex_bytes(const struct idindex *x);

/* Removes entry (present; hash_of still knows its hash) and shifts the rest of its run back. */
void idindex_del(struct idindex *x, size_t entry, idindex_hash_fn hash_of, const void *owner);

/* The hash, the lookups and the insert are inline: gossip and memstore run them for every id. */

_Static_assert(LIMIT_HASH_KEY_BYTES == crypto_shorthash_KEYBYTES, "id table key is a SipHash key");
_Static_assert(crypto_shorthash_BYTES >= sizeof(uint64_t), "a 64-bit hash");

/* SipHash of the first LIMIT_SHORT_ID_BYTES of id8 under key. */
static inline uint64_t idindex_hash(const uint8_t key[LIMIT_HASH_KEY_BYTES], const uint8_t *id8)
{
    uint8_t h[crypto_shorthash_BYTES];
    crypto_shorthash(h, id8, LIMIT_SHORT_ID_BYTES, key);
    uint64_t v;
    memcpy(&v, h, sizeof v);
    return v;
}

static inline uint32_t idindex_mask_(const struct idindex *x)
{
    assert(x->cap > 0 && (x->cap & (x->cap - 1)) == 0);
    return (uint32_t)(x->cap - 1);
}

static inline uint32_t idindex_tag_(const struct idindex *x, uint64_t h)
{
    return (uint32_t)(h >> 32) & ~idindex_mask_(x);
}

/* Where a probe for hash h starts: pass it to idindex_next. Lookups need a table: an index that
 * may have none yet (cap 0) is checked by its owner first, which spares the hash too. */
static inline size_t idindex_home(const struct idindex *x, uint64_t h)
{
    return (size_t)(h & idindex_mask_(x));
}

/* The next entry whose slot matches hash h, probing from *at (which it advances); IDINDEX_NONE at
 * the end of the run. The caller compares the entry's id: a match of the slot's bits is likely,
 * not certain. */
static inline uint32_t idindex_next(const struct idindex *x, uint64_t h, size_t *at)
{
    const uint32_t mask = idindex_mask_(x), tag = idindex_tag_(x, h);
    for (size_t s = *at; x->slot[s] != 0; s = (s + 1) & mask)
        if ((x->slot[s] & ~mask) == tag) {
            *at = (s + 1) & mask;
            return (x->slot[s] & mask) - 1;
        }
    return IDINDEX_NONE;
}

/* Adds entry (hash h; not present, below cap / 2: idindex_grow made room). */
static inline void idindex_put(struct idindex *x, uint64_t h, size_t entry)
{
    const uint32_t mask = idindex_mask_(x);
    assert(entry < x->cap / 2); /* entry + 1 fits below the tag bits */
    size_t s = h & mask;
    while (x->slot[s] != 0) /* at most half full: an empty slot exists */
        s = (s + 1) & mask;
    x->slot[s] = idindex_tag_(x, h) | (uint32_t)(entry + 1);
}

#endif
