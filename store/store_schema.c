/* store_schema.c - LMDB record store: the schema version and the migration from the previous
 * one. Contract: store.h ("Upgrades"); shared parts: store_int.h.
 *
 * Schema 4 had no part entries in byvalue (store_int.h store_part_key); schema 5 adds one for
 * every composite indicator (ip-dst|port, ip-src|port, hostname|port), so a search by the
 * address or host finds it (issue 16). No table is new. */
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

/* The part entry of the stored record (k, v) if it is a composite indicator (store_part_key). */
static int put_part(struct store *s, MDB_txn *txn, const MDB_val *k, const MDB_val *v,
                    struct proto_record *r)
{
    if (k->mv_size != LIMIT_ID_BYTES || v->mv_size <= SEQ_BYTES + LIMIT_SIG_BYTES)
        return STORE_E_CORRUPT;
    const uint8_t *body = (const uint8_t *)v->mv_data + SEQ_BYTES + LIMIT_SIG_BYTES;
    uint8_t pkey[VALUE_KEY_BYTES];
    /* a record the store holds decoded when it was put; one that no longer does is for
     * check-store to name, not for the migration to refuse the store over */
    if (proto_record_decode_known(body, v->mv_size - SEQ_BYTES - LIMIT_SIG_BYTES, r) != PROTO_OK ||
        r->kind != PROTO_KIND_INDICATOR || !store_part_key(pkey, r->u.ind.type, r->u.ind.value))
        return STORE_OK;
    MDB_val pk = {sizeof pkey, pkey}, id = {LIMIT_ID_BYTES, k->mv_data};
    return map_err(mdb_put(txn, s->dbi[DB_BYVALUE], &pk, &id, 0));
}

/* Schema 5: every composite indicator gets its part entry, one walk of the records table
 * (bounded by its size: each step visits a new record). */
static int build_parts(struct store *s, MDB_txn *txn)
{
    struct proto_record *r = malloc(sizeof *r);
    MDB_cursor *c = NULL;
    int err = r != NULL ? map_err(mdb_cursor_open(txn, s->dbi[DB_RECORDS], &c)) : STORE_E_IO;
    MDB_val k, v;
    int rc = MDB_NOTFOUND;
    if (err == STORE_OK)
        for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == MDB_SUCCESS && err == STORE_OK;
             rc = mdb_cursor_get(c, &k, &v, MDB_NEXT))
            err = put_part(s, txn, &k, &v, r);
    if (err == STORE_OK && rc != MDB_NOTFOUND)
        err = map_err(rc);
    if (c != NULL)
        mdb_cursor_close(c);
    free(r);
    return err;
}

int store_schema_migrate(struct store *s, MDB_txn *txn, uint32_t from)
{
    assert(from == STORE_SCHEMA_VERSION - 1);
    (void)from; /* one migration: from is always the previous version */
    _Static_assert(STORE_SCHEMA_VERSION == 5, "write the migration to the new schema");
    /* The transaction may be a retry on a grown map: it starts from the old store again, and a
     * part entry put twice is one entry (sorted duplicates keep one copy of a pair). */
    return build_parts(s, txn);
}
