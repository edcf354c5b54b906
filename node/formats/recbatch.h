/* recbatch.h - stored records copied out in batches, in arrival (seq) order.
 *
 * Store callbacks run inside a read transaction and must not call the store (store.h): deciding
 * about a record usually needs another lookup (is it revoked?). So readers that walk the store
 * (the TAXII server, the live MISP feed) copy up to a batch of records out of one transaction,
 * then look at each outside it.
 *
 * Ownership: struct recbatch is the caller's; recbatch_init allocates its items, recbatch_free
 * frees them. No pointer into the store survives a call.
 */
#ifndef TLPMESH_NODE_FORMATS_RECBATCH_H
#define TLPMESH_NODE_FORMATS_RECBATCH_H

#include <stddef.h>
#include <stdint.h>

#include "proto/limits.h"
#include "store/store.h"

struct recbatch_item {
    uint8_t id[LIMIT_ID_BYTES];
    uint64_t seq, added_us;
    size_t len; /* of rec: signature || body */
    uint8_t rec[LIMIT_SIG_BYTES + LIMIT_RECORD_BYTES];
};

struct recbatch {
    struct recbatch_item *items; /* cap of them */
    size_t n, cap;
};

/* 0, or -1 when out of memory (then b holds nothing to free). cap >= 1. */
int recbatch_init(struct recbatch *b, size_t cap);
void recbatch_free(struct recbatch *b);

/* Replaces b's items with the next up to b->cap records whose seq > since_seq (b->n = 0: none
 * left). STORE_OK or a negative store_err. */
int recbatch_next(struct recbatch *b, struct store *s, uint64_t since_seq);

/* The record of exactly seq into *item: 1, 0 when there is none (pruned), or a store_err. */
int recbatch_at(struct store *s, uint64_t seq, struct recbatch_item *item);

#endif
