/* store_succession.c - LMDB record store: the key successions a node accepted and the origins a
 * recovery distrusts (contract in store.h, "Keys that change"). */
#include "store/store_int.h"

#include <assert.h>
#include <string.h>

struct succ_replace {
    const uint8_t (*stmts)[LIMIT_SUCCESSION_BYTES];
    size_t n;
    const struct store_distrust *distrust;
    size_t n_distrust;
};

/* Keeps the earliest since of an origin: a second recovery never narrows what is hidden. */
static int put_distrust(struct store *s, MDB_txn *txn, const struct store_distrust *d)
{
    MDB_val k = {LIMIT_KEY_BYTES, (void *)d->origin}, v;
    int rc = mdb_get(txn, s->dbi[DB_DISTRUST], &k, &v);
    if (rc == MDB_SUCCESS && v.mv_size == 8 && get_be64(v.mv_data) <= d->since_ms)
        return STORE_OK;
    if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND)
        return map_err(rc);
    uint8_t buf[8];
    put_be64(buf, d->since_ms);
    v = (MDB_val){sizeof buf, buf};
    return map_err(mdb_put(txn, s->dbi[DB_DISTRUST], &k, &v, 0));
}

static int replace_txn(struct store *s, MDB_txn *txn, void *ctx)
{
    const struct succ_replace *r = ctx;
    int err = map_err(mdb_drop(txn, s->dbi[DB_SUCCESSIONS], 0));
    for (size_t i = 0; i < r->n && err == STORE_OK; i++) {
        /* keyed by the old key: bytes 10..41 of a statement (proto/succession.h) */
        MDB_val k = {LIMIT_KEY_BYTES, (void *)(r->stmts[i] + 10)};
        MDB_val v = {LIMIT_SUCCESSION_BYTES, (void *)r->stmts[i]};
        err = map_err(mdb_put(txn, s->dbi[DB_SUCCESSIONS], &k, &v, 0));
    }
    for (size_t i = 0; i < r->n_distrust && err == STORE_OK; i++)
        err = put_distrust(s, txn, &r->distrust[i]);
    return err;
}

int store_successions_replace(struct store *s, const uint8_t (*stmts)[LIMIT_SUCCESSION_BYTES],
                              size_t n, const struct store_distrust *distrust, size_t n_distrust)
{
    assert(s != NULL && (stmts != NULL || n == 0) && (distrust != NULL || n_distrust == 0));
    if (n > LIMIT_SUCCESSIONS)
        return STORE_E_INVAL;
    struct succ_replace r = {stmts, n, distrust, n_distrust};
    return store_run_write(s, replace_txn, &r);
}

struct succ_walk {
    store_succession_fn fn;
    void *ctx;
};

static int walk_one(struct store *s, MDB_txn *txn, const MDB_val *k, const MDB_val *v, void *ctx)
{
    (void)s, (void)txn, (void)k;
    const struct succ_walk *w = ctx;
    return w->fn(w->ctx, v->mv_data, v->mv_size);
}

static int walk_txn(struct store *s, MDB_txn *txn, void *ctx)
{
    return store_walk(s, txn, DB_SUCCESSIONS, walk_one, ctx);
}

int store_successions_each(struct store *s, store_succession_fn fn, void *ctx)
{
    assert(s != NULL && fn != NULL);
    struct succ_walk w = {fn, ctx};
    return store_run_read(s, walk_txn, &w);
}

int store_distrusted_since(struct store *s, MDB_txn *txn, const uint8_t origin[LIMIT_KEY_BYTES],
                           uint64_t *since_ms)
{
    MDB_val k = {LIMIT_KEY_BYTES, (void *)origin}, v;
    int rc = mdb_get(txn, s->dbi[DB_DISTRUST], &k, &v);
    if (rc != MDB_SUCCESS)
        return map_err(rc);
    if (v.mv_size != 8)
        return STORE_E_CORRUPT;
    *since_ms = get_be64(v.mv_data);
    return STORE_OK;
}
