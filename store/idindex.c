/* idindex.c - see idindex.h. */
#include "store/idindex.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

_Static_assert(LIMIT_HASH_KEY_BYTES == crypto_shorthash_KEYBYTES, "id table key is a SipHash key");
_Static_assert(crypto_shorthash_BYTES >= sizeof(uint64_t), "a 64-bit hash");

enum { MIN_SLOTS = 64 };

uint64_t idindex_hash(const uint8_t key[LIMIT_HASH_KEY_BYTES], const uint8_t *id8)
{
    uint8_t h[crypto_shorthash_BYTES];
    crypto_shorthash(h, id8, LIMIT_SHORT_ID_BYTES, key);
    uint64_t v;
    memcpy(&v, h, sizeof v);
    return v;
}

bool idindex_grow(struct idindex *x, size_t need, size_t count, idindex_hash_fn hash_of,
                  const void *owner)
{
    assert(x != NULL && count <= need && (count == 0 || hash_of != NULL));
    if (need * 2 <= x->cap)
        return true;
    if (need >= UINT32_MAX / 2)
        return false;
    size_t cap = x->cap ? x->cap : MIN_SLOTS;
    while (cap < need * 2)
        cap *= 2;
    struct idindex n = {calloc(cap, sizeof *n.slot), cap};
    if (n.slot == NULL)
        return false;
    for (size_t i = 0; i < count; i++)
        idindex_put(&n, hash_of(owner, i), i);
    free(x->slot);
    *x = n;
    return true;
}

void idindex_free(struct idindex *x)
{
    if (x == NULL)
        return;
    free(x->slot);
    *x = (struct idindex){NULL, 0};
}

size_t idindex_bytes(const struct idindex *x)
{
    return x->cap * sizeof *x->slot;
}

void idindex_del(struct idindex *x, size_t entry, idindex_hash_fn hash_of, const void *owner)
{
    const uint32_t mask = idindex_mask_(x);
    size_t i = hash_of(owner, entry) & mask;
    while ((x->slot[i] & mask) != entry + 1) {
        assert(x->slot[i] != 0); /* entry is present */
        i = (i + 1) & mask;
    }
    x->slot[i] = 0;
    /* Bounded by the run, which ends at an empty slot (at most half full). */
    for (size_t j = (i + 1) & mask; x->slot[j] != 0; j = (j + 1) & mask) {
        size_t home = hash_of(owner, (x->slot[j] & mask) - 1) & mask;
        if (((j - home) & mask) >= ((j - i) & mask)) {
            x->slot[i] = x->slot[j];
            x->slot[j] = 0;
            i = j;
        }
    }
}
