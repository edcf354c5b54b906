/* fuzz_recon_items.h - the deterministic item sets of fuzz_recon.c, shared with fuzz_mkseeds.c
 * so that seed messages are made over exactly the sets the target rebuilds. */
#ifndef TLPMESH_TESTS_FUZZ_RECON_ITEMS_H
#define TLPMESH_TESTS_FUZZ_RECON_ITEMS_H

#include <sodium.h>

#include "node/core/recon.h"

static inline int fuzz_item_cmp(const void *a, const void *b)
{
    const struct recon_item *x = a, *y = b;
    if (x->ts != y->ts)
        return x->ts < y->ts ? -1 : 1;
    return memcmp(x->id, y->id, LIMIT_ID_BYTES);
}

/* Items number first..first+n-1 of one sequence, not sorted: ids are BLAKE2b of the number with
 * the first zero_prefix % 28 bytes zeroed (bounds then need long prefixes); ts = (k % 97) * gap
 * interleaves groups on the time axis and, with a small gap, puts many items on one ts. */
static inline void fuzz_make_items(struct recon_item *out, size_t first, size_t n, unsigned gap,
                                   unsigned zero_prefix)
{
    for (size_t i = 0; i < n; i++) {
        uint64_t k = first + i;
        out[i].ts = (k % 97) * gap;
        crypto_generichash(out[i].id, LIMIT_ID_BYTES, (const uint8_t *)&k, sizeof k, NULL, 0);
        memset(out[i].id, 0, zero_prefix % (LIMIT_ID_BYTES - 4));
    }
}

#endif
