/* store_schema.c - LMDB record store: the schema version and the migration from the previous
 * one. Contract: store.h ("Upgrades"); shared parts: store_int.h.
 *
 * Schema 2 had every index but expiry; schema 3 adds expiry (valid_until || id -> created ||
 * byvalue key), which pruning walks. The migration builds it from the stored indicators. */
#include "store/store_int.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

int store_schema_read(MDB_txn *txn, bool *fresh, uint32_t *version)
{
    MDB_dbi main_dbi, meta;
    MDB_stat st;
    int rc = mdb_dbi_open(txn, NULL, 0, &main_dbi);
    if (rc == MDB_SUCCESS)
        rc = mdb_stat(txn, main_dbi, &st);
    if (rc != MDB_SUCCESS)
        return map_err(rc);
    *fresh = st.ms_entries == 0;
    *version = 0;
    if (*fresh)
        return STORE_OK;
    rc = mdb_dbi_open(txn, "meta", 0, &meta);
    if (rc == MDB_NOTFOUND || rc == MDB_INCOMPATIBLE)
        return STORE_E_CORRUPT;
    if (rc != MDB_SUCCESS)
        return map_err(rc);
    MDB_val k = {sizeof META_SCHEMA - 1, META_SCHEMA}, v;
    rc = mdb_get(txn, meta, &k, &v);
    if (rc != MDB_SUCCESS || v.mv_size != 4)
        return rc == MDB_SUCCESS || rc == MDB_NOTFOUND ? STORE_E_CORRUPT : map_err(rc);
    const uint8_t *p = v.mv_data;
    *version = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
    return *version == 0 ? STORE_E_CORRUPT : STORE_OK;
}

/* 2 -> 3: an expiry entry for every stored indicator. */
static int add_expiry(struct store *s, MDB_txn *txn, const MDB_val *k, const MDB_val *v, void *ctx)
{
    struct proto_record *r = ctx;
    const size_t head = SEQ_BYTES + LIMIT_SIG_BYTES;
    if (k->mv_size != LIMIT_ID_BYTES || v->mv_size <= head ||
        proto_record_decode_known((const uint8_t *)v->mv_data + head, v->mv_size - head, r) !=
            PROTO_OK)
        return STORE_E_CORRUPT;
    if (r->kind != PROTO_KIND_INDICATOR)
        return STORE_OK;
    uint8_t id[LIMIT_ID_BYTES], vkey[VALUE_KEY_BYTES];
    memcpy(id, k->mv_data, sizeof id); /* a put may move pages under the walk's cursor */
    store_value_key(vkey, r->u.ind.type, r->u.ind.value, strlen(r->u.ind.value));
    return store_put_expiry(s, txn, id, r, vkey);
}

int store_schema_migrate(struct store *s, MDB_txn *txn, uint32_t from)
{
    assert(from == STORE_SCHEMA_VERSION - 1);
    (void)from; /* one migration so far: from is always the previous version */
    _Static_assert(STORE_SCHEMA_VERSION == 3, "write the migration to the new schema");
    struct proto_record *r = malloc(sizeof *r); /* ~30 KB: not on the stack */
    if (r == NULL)
        return STORE_E_IO;
    /* The transaction may be a retry on a grown map: start the new index from empty. */
    int err = map_err(mdb_drop(txn, s->dbi[DB_EXPIRY], 0));
    if (err == STORE_OK)
        err = store_walk(s, txn, DB_RECORDS, add_expiry, r);
    free(r);
    return err;
}
