/* idindex.c - see idindex.h. */
#include "store/idindex.h"

#include <stdlib.h>

enum { MIN_SLOTS = 64 };

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
