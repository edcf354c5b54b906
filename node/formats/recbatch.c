/* recbatch.c - see recbatch.h. */
#include "node/formats/recbatch.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

int recbatch_init(struct recbatch *b, size_t cap)
{
    assert(b != NULL && cap >= 1);
    b->items = calloc(cap, sizeof *b->items);
    b->n = 0;
    b->cap = b->items ? cap : 0;
    return b->items ? 0 : -1;
}

void recbatch_free(struct recbatch *b)
{
    free(b->items);
    b->items = NULL;
    b->n = b->cap = 0;
}

static int copy_cb(const uint8_t id[LIMIT_ID_BYTES], const uint8_t *signed_rec, size_t len,
                   uint64_t seq, uint64_t added_us, void *ctx)
{
    struct recbatch *b = ctx;
    assert(b->n < b->cap);
    if (len > sizeof b->items[0].rec)
        return 2; /* the store never holds one this large */
    struct recbatch_item *it = &b->items[b->n++];
    memcpy(it->id, id, LIMIT_ID_BYTES);
    it->seq = seq;
    it->added_us = added_us;
    it->len = len;
    memcpy(it->rec, signed_rec, len);
    return b->n == b->cap ? 1 : 0;
}

int recbatch_next(struct recbatch *b, struct store *s, uint64_t since_seq)
{
    assert(b != NULL && b->cap >= 1 && s != NULL);
    b->n = 0;
    const int rc = store_iter_added(s, since_seq, copy_cb, b);
    return rc < 0 ? rc : rc == 2 ? STORE_E_CORRUPT : STORE_OK;
}

int recbatch_at(struct store *s, uint64_t seq, struct recbatch_item *item)
{
    assert(seq >= 1);
    struct recbatch one = {item, 0, 1};
    const int rc = recbatch_next(&one, s, seq - 1);
    if (rc < 0)
        return rc;
    return one.n == 1 && item->seq == seq;
}
