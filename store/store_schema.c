/* store_schema.c - LMDB record store: the schema version and the migration from the previous
 * one. Contract: store.h ("Upgrades"); shared parts: store_int.h.
 *
 * Schema 3 had every table but successions and distrust (keys that change, issue 13 point 6);
 * schema 4 adds them. Both start empty: no stored record needs them, so the migration has
 * nothing to build (the open creates them, store.c db_specs[].since). */
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

int store_schema_migrate(struct store *s, MDB_txn *txn, uint32_t from)
{
    assert(from == STORE_SCHEMA_VERSION - 1);
    (void)from; /* one migration: from is always the previous version */
    _Static_assert(STORE_SCHEMA_VERSION == 4, "write the migration to the new schema");
    /* The transaction may be a retry on a grown map: the new tables start empty. */
    int err = map_err(mdb_drop(txn, s->dbi[DB_SUCCESSIONS], 0));
    return err == STORE_OK ? map_err(mdb_drop(txn, s->dbi[DB_DISTRUST], 0)) : err;
}
