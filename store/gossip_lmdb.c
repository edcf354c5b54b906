/* gossip_lmdb.c - see gossip_lmdb.h. */
#include "store/gossip_lmdb.h"

#include <assert.h>
#include <stdio.h>

static int lm_has(void *ctx, const uint8_t id[LIMIT_ID_BYTES])
{
    return store_has(((struct gossip_lmdb *)ctx)->s, id);
}

static int lm_get(void *ctx, const uint8_t id[LIMIT_ID_BYTES], uint8_t *buf, size_t cap,
                  size_t *len)
{
    return store_get(((struct gossip_lmdb *)ctx)->s, id, buf, cap, len, NULL);
}

static int lm_find_short(void *ctx, const uint8_t sid[LIMIT_SHORT_ID_BYTES], store_record_cb cb,
                         void *cb_ctx)
{
    return store_find_prefix(((struct gossip_lmdb *)ctx)->s, sid, LIMIT_SHORT_ID_BYTES, cb,
                             cb_ctx);
}

/* items[].rec is NULL: the store decodes each body into one scratch record (store.h). */
static int lm_put_batch(void *ctx, struct store_put *items, size_t n)
{
    return store_put_batch(((struct gossip_lmdb *)ctx)->s, items, n);
}

static int lm_is_revoked(void *ctx, const uint8_t id[LIMIT_ID_BYTES],
                         const uint8_t origin[LIMIT_KEY_BYTES])
{
    return store_is_revoked(((struct gossip_lmdb *)ctx)->s, id, origin);
}

static int lm_iter_seq(void *ctx, uint64_t since, store_record_cb cb, void *cb_ctx)
{
    return store_iter_seq(((struct gossip_lmdb *)ctx)->s, since, cb, cb_ctx);
}

static int lm_load_revoked(void *ctx, size_t max, struct store_revoked_set *out)
{
    return store_load_revoked(((struct gossip_lmdb *)ctx)->s, max, out);
}

static int lm_snapshot(void *ctx, int (*fn)(void *arg), void *arg)
{
    return store_read_snapshot(((struct gossip_lmdb *)ctx)->s, fn, arg);
}

int gossip_lmdb_init(struct gossip_lmdb *a, struct store *s, struct gossip_store_ops *ops)
{
    assert(a != NULL && s != NULL && ops != NULL);
    a->s = s;
    snprintf(a->where, sizeof a->where, "DataDir %s", store_dir(s));
    *ops = (struct gossip_store_ops){.ctx = a, .has = lm_has, .get = lm_get,
                                     .find_short = lm_find_short, .put_batch = lm_put_batch,
                                     .is_revoked = lm_is_revoked, .iter_seq = lm_iter_seq,
                                     .snapshot = lm_snapshot, .load_revoked = lm_load_revoked,
                                     .where = a->where};
    return STORE_OK;
}

void gossip_lmdb_free(struct gossip_lmdb *a)
{
    if (a == NULL)
        return;
    a->s = NULL;
}
