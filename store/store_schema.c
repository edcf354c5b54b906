/* store_schema.c - LMDB record store: the schema version and the migration from the previous
 * one. Contract: store.h ("Upgrades"); shared parts: store_int.h.
 *
 * Schema 5 kept records by id (records: id -> seq || sig || body) and the arrival order apart
 * (seq: seq -> id || added_us), bytime and expiry keyed by id. Schema 6 keeps the records in
 * arrival order (log: seq -> added_us || id || sig || body, appended), id -> seq the only tree
 * of record ids (ids), bytime and expiry keyed by seq (docs/PERFORMANCE.md "Bulk import"). The
 * other indexes name records by id, as before. */
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

/* The tables of schema 5 the migration reads, then drops. */
struct old_tables {
    MDB_dbi records, seq;
};

/* One schema-5 seq entry (k, v) into the log, with its record's ids, bytime and kind entries
 * (those of byvalue, revoked, sighted and rosters are there already: putting one again keeps
 * one copy). A record that no longer decodes keeps its log and ids entries, for check-store to
 * name: the migration loses nothing. */
static int migrate_one(struct store *s, MDB_txn *txn, const struct old_tables *o,
                       const MDB_val *k, const MDB_val *v, struct proto_record *r)
{
    enum { OLD_SEQ_VAL = LIMIT_ID_BYTES + 8 };
    if (k->mv_size != SEQ_BYTES ||
        (v->mv_size != LOG_PRUNED_BYTES && v->mv_size != LIMIT_ID_BYTES &&
         v->mv_size != OLD_SEQ_VAL))
        return STORE_E_CORRUPT;
    const uint64_t seq = get_be64(k->mv_data);
    MDB_val lk = {SEQ_BYTES, k->mv_data}, lv = *v;
    if (v->mv_size == LOG_PRUNED_BYTES)
        return map_err(mdb_put(txn, s->dbi[DB_LOG], &lk, &lv, MDB_APPEND));
    const uint8_t *id = v->mv_data;
    const uint64_t added = v->mv_size == OLD_SEQ_VAL ? get_be64(id + LIMIT_ID_BYTES) : 0;
    MDB_val rk = {LIMIT_ID_BYTES, (void *)id}, rv;
    int rc = mdb_get(txn, o->records, &rk, &rv);
    if (rc != MDB_SUCCESS || rv.mv_size <= SEQ_BYTES + LIMIT_SIG_BYTES ||
        get_be64(rv.mv_data) != seq)
        return rc == MDB_SUCCESS || rc == MDB_NOTFOUND ? STORE_E_CORRUPT : map_err(rc);
    const uint8_t *signed_rec = (const uint8_t *)rv.mv_data + SEQ_BYTES;
    const size_t len = rv.mv_size - SEQ_BYTES;
    lv = (MDB_val){LOG_HEAD_BYTES + len, NULL};
    rc = mdb_put(txn, s->dbi[DB_LOG], &lk, &lv, MDB_APPEND | MDB_RESERVE);
    if (rc != MDB_SUCCESS)
        return map_err(rc);
    uint8_t *p = lv.mv_data;
    put_be64(p, added);
    memcpy(p + 8, id, LIMIT_ID_BYTES);
    memcpy(p + LOG_HEAD_BYTES, signed_rec, len);
    MDB_val ik = {LIMIT_ID_BYTES, p + 8}, iv = {SEQ_BYTES, k->mv_data};
    rc = mdb_put(txn, s->dbi[DB_IDS], &ik, &iv, MDB_NOOVERWRITE);
    if (rc != MDB_SUCCESS)
        return rc == MDB_KEYEXIST ? STORE_E_CORRUPT : map_err(rc);
    if (proto_record_decode_known(p + LOG_HEAD_BYTES + LIMIT_SIG_BYTES, len - LIMIT_SIG_BYTES,
                                  r) != PROTO_OK)
        return STORE_OK;
    return store_put_index(s, txn, p + 8, r, seq);
}

/* Schema 6 from schema 5: one walk of the old seq table (bounded by its size: each step visits
 * a new entry), then the old tables go. */
static int build_log(struct store *s, MDB_txn *txn)
{
    struct old_tables o;
    int rc = mdb_dbi_open(txn, "records", 0, &o.records);
    if (rc == MDB_SUCCESS)
        rc = mdb_dbi_open(txn, "seq", 0, &o.seq);
    /* bytime and expiry change their keys: emptied, built again with the log */
    if (rc == MDB_SUCCESS)
        rc = mdb_drop(txn, s->dbi[DB_BYTIME], 0);
    if (rc == MDB_SUCCESS)
        rc = mdb_drop(txn, s->dbi[DB_EXPIRY], 0);
    if (rc != MDB_SUCCESS)
        return rc == MDB_NOTFOUND ? STORE_E_CORRUPT : map_err(rc);
    struct proto_record *r = malloc(sizeof *r);
    MDB_cursor *c = NULL;
    int err = r != NULL ? map_err(mdb_cursor_open(txn, o.seq, &c)) : STORE_E_IO;
    MDB_val k, v;
    rc = MDB_NOTFOUND;
    if (err == STORE_OK)
        for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == MDB_SUCCESS && err == STORE_OK;
             rc = mdb_cursor_get(c, &k, &v, MDB_NEXT))
            err = migrate_one(s, txn, &o, &k, &v, r);
    if (err == STORE_OK && rc != MDB_NOTFOUND)
        err = map_err(rc);
    if (c != NULL)
        mdb_cursor_close(c);
    free(r);
    MDB_stat old, now;
    if (err == STORE_OK && (rc = mdb_stat(txn, o.records, &old)) == MDB_SUCCESS &&
        (rc = mdb_stat(txn, s->dbi[DB_IDS], &now)) == MDB_SUCCESS && old.ms_entries != now.ms_entries)
        err = STORE_E_CORRUPT; /* a record without its seq entry: not dropped unseen */
    if (err == STORE_OK && rc != MDB_SUCCESS)
        err = map_err(rc);
    if (err == STORE_OK)
        err = map_err(mdb_drop(txn, o.records, 1));
    if (err == STORE_OK)
        err = map_err(mdb_drop(txn, o.seq, 1));
    return err;
}

int store_schema_migrate(struct store *s, MDB_txn *txn, uint32_t from)
{
    assert(from == STORE_SCHEMA_VERSION - 1);
    (void)from; /* one migration: from is always the previous version */
    _Static_assert(STORE_SCHEMA_VERSION == 6, "write the migration to the new schema");
    /* The transaction may be a retry on a grown map: it starts from the old store again. */
    return build_log(s, txn);
}
