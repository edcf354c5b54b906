/* store_put.c - LMDB record store: put batches with their indexes, pruning expired indicators.
 * Contract: store.h; shared parts: store_int.h. */
#include "store/store_int.h"

#include <assert.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

/* --- record indexes --- */

static void value_hash(uint8_t key[VALUE_KEY_BYTES], uint8_t first, const char *value,
                       size_t len)
{
    key[0] = first;
    crypto_generichash(key + 1, VALUE_KEY_BYTES - 1, (const unsigned char *)value, len, NULL, 0);
}

void store_value_key(uint8_t key[VALUE_KEY_BYTES], int itype, const char *value, size_t len)
{
    assert(itype > 0 && itype < PROTO_ITYPE_END && len <= LIMIT_VALUE_BYTES);
    value_hash(key, (uint8_t)itype, value, len);
}

void store_part_lookup_key(uint8_t key[VALUE_KEY_BYTES], int itype, const char *value, size_t len)
{
    _Static_assert((int)PROTO_ITYPE_END <= (int)VALUE_PART_FLAG, "part keys need a free high bit");
    assert(itype > 0 && itype < PROTO_ITYPE_END && len <= LIMIT_VALUE_BYTES);
    value_hash(key, (uint8_t)(itype | VALUE_PART_FLAG), value, len);
}

int store_part_itype(int itype)
{
    switch (itype) {
    case PROTO_ITYPE_IP_DST_PORT: return PROTO_ITYPE_IP_DST;
    case PROTO_ITYPE_IP_SRC_PORT: return PROTO_ITYPE_IP_SRC;
    case PROTO_ITYPE_HOSTNAME_PORT: return PROTO_ITYPE_HOSTNAME;
    default: return 0;
    }
}

/* The normal forms end in "|PORT" and the host part is that type's own normal form
 * (proto/indicator_ext.c), so the part is everything before the last '|'. */
bool store_part_key(uint8_t key[VALUE_KEY_BYTES], int itype, const char *value)
{
    const int part = store_part_itype(itype);
    const char *sep = part != 0 ? strrchr(value, '|') : NULL;
    if (sep == NULL)
        return false;
    store_part_lookup_key(key, part, value, (size_t)(sep - value));
    return true;
}

/* The revocation of target by origin, the only one that counts (docs/PROTOCOL.md "Records", docs/SHARING.md "Revocations"). */
int store_find_revocation(struct store *s, MDB_txn *txn, const uint8_t target[LIMIT_ID_BYTES],
                          const uint8_t origin[LIMIT_KEY_BYTES], uint8_t *rev_id)
{
    assert(txn != NULL && target != NULL && origin != NULL);
    MDB_cursor *c = NULL;
    int rc = mdb_cursor_open(txn, s->dbi[DB_REVOKED], &c);
    if (rc != MDB_SUCCESS)
        return map_err(rc);
    uint8_t want[REVOKED_VAL_BYTES] = {0};
    memcpy(want, origin, LIMIT_KEY_BYTES);
    MDB_val k = {LIMIT_ID_BYTES, (void *)target}, v = {sizeof want, want};
    /* Duplicates sort by origin first: the first one >= origin||0...0 is origin's, if any. */
    rc = mdb_cursor_get(c, &k, &v, MDB_GET_BOTH_RANGE);
    int err = map_err(rc);
    if (rc == MDB_SUCCESS) {
        if (v.mv_size != REVOKED_VAL_BYTES)
            err = STORE_E_CORRUPT;
        else if (memcmp(v.mv_data, origin, LIMIT_KEY_BYTES) != 0)
            err = STORE_E_NOTFOUND;
        else if (rev_id != NULL)
            memcpy(rev_id, (const uint8_t *)v.mv_data + LIMIT_KEY_BYTES, LIMIT_ID_BYTES);
    }
    mdb_cursor_close(c);
    return err;
}

static int check_record(const struct proto_record *r)
{
    switch (r->kind) {
    case PROTO_KIND_INDICATOR: {
        const struct proto_indicator *ind = &r->u.ind;
        bool ok = ind->type > 0 && ind->type < PROTO_ITYPE_END &&
                  memchr(ind->value, '\0', LIMIT_VALUE_BYTES + 1) != NULL;
        return ok ? STORE_OK : STORE_E_INVAL;
    }
    case PROTO_KIND_REVOCATION:
    case PROTO_KIND_SIGHTING:
    case PROTO_KIND_ROSTER: return STORE_OK;
    default: return STORE_E_INVAL;
    }
}

/* The record the item's indexes are built from: the caller's, or (rec == NULL) its body decoded
 * into scratch. Every item is checked before its id is looked up, so a bad one fails the batch
 * whether or not it is a duplicate. */
static int item_record(const struct store_put *it, struct proto_record *scratch,
                       const struct proto_record **out)
{
    if (it->signed_rec == NULL || it->len <= LIMIT_SIG_BYTES || it->len > SIGNED_MAX)
        return STORE_E_INVAL;
    if (it->rec == NULL) {
        assert(scratch != NULL);
        if (proto_record_decode_known(it->signed_rec + LIMIT_SIG_BYTES,
                                      it->len - LIMIT_SIG_BYTES, scratch) != PROTO_OK)
            return STORE_E_INVAL;
    }
    *out = it->rec != NULL ? it->rec : scratch;
    return check_record(*out);
}

int store_put_ordered(struct store *s, MDB_txn *txn, enum db_index db, MDB_val *k, MDB_val *v)
{
    /* LMDB refuses an append of a key not above the last one with KEYEXIST, having changed
     * nothing (the transaction stays usable): then it goes in its place */
    int rc = mdb_put(txn, s->dbi[db], k, v, MDB_APPEND);
    if (rc == MDB_SUCCESS)
        s->appended[db]++;
    else if (rc == MDB_KEYEXIST)
        rc = mdb_put(txn, s->dbi[db], k, v, 0);
    return map_err(rc);
}

/* A key of a value (created or valid_until, ms) then seq: both big-endian. */
static void time_seq_key(uint8_t key[TIME_KEY_BYTES], uint64_t ms, uint64_t seq)
{
    put_be64(key, ms);
    put_be64(key + 8, seq);
}

/* byvalue (and the part entry of a composite value), and expiry with what pruning needs to
 * find every index entry again (the store may not decode a body: its caller's struct counts). */
static int put_indicator_index(struct store *s, MDB_txn *txn, const uint8_t *id,
                               const struct proto_record *r, uint64_t seq)
{
    uint8_t vkey[VALUE_KEY_BYTES];
    store_value_key(vkey, r->u.ind.type, r->u.ind.value, strlen(r->u.ind.value));
    MDB_val k = {VALUE_KEY_BYTES, vkey}, v = {LIMIT_ID_BYTES, (void *)id};
    int rc = mdb_put(txn, s->dbi[DB_BYVALUE], &k, &v, 0);
    uint8_t pkey[VALUE_KEY_BYTES];
    if (rc == MDB_SUCCESS && store_part_key(pkey, r->u.ind.type, r->u.ind.value)) {
        k.mv_data = pkey;
        rc = mdb_put(txn, s->dbi[DB_BYVALUE], &k, &v, 0);
    }
    if (rc != MDB_SUCCESS)
        return map_err(rc);
    uint8_t exp_key[EXPIRY_KEY_BYTES], exp_val[EXPIRY_VAL_BYTES];
    time_seq_key(exp_key, r->u.ind.valid_until_ms, seq);
    put_be64(exp_val, r->created_ms);
    memcpy(exp_val + 8, vkey, VALUE_KEY_BYTES);
    MDB_val ek = {sizeof exp_key, exp_key}, ev = {sizeof exp_val, exp_val};
    return store_put_ordered(s, txn, DB_EXPIRY, &ek, &ev);
}

static int put_kind_index(struct store *s, MDB_txn *txn, const uint8_t *id,
                          const struct proto_record *r, uint64_t seq)
{
    if (r->kind == PROTO_KIND_INDICATOR)
        return put_indicator_index(s, txn, id, r, seq);
    if (r->kind == PROTO_KIND_REVOCATION) {
        uint8_t val[REVOKED_VAL_BYTES];
        memcpy(val, r->origin, LIMIT_KEY_BYTES);
        memcpy(val + LIMIT_KEY_BYTES, id, LIMIT_ID_BYTES);
        MDB_val k = {LIMIT_ID_BYTES, (void *)r->u.rev.target}, v = {sizeof val, val};
        return map_err(mdb_put(txn, s->dbi[DB_REVOKED], &k, &v, 0));
    }
    if (r->kind == PROTO_KIND_SIGHTING) {
        MDB_val k = {LIMIT_ID_BYTES, (void *)r->u.sight.target};
        MDB_val v = {LIMIT_ID_BYTES, (void *)id};
        return map_err(mdb_put(txn, s->dbi[DB_SIGHTED], &k, &v, 0));
    }
    assert(r->kind == PROTO_KIND_ROSTER);
    MDB_val k = {LIMIT_KEY_BYTES, (void *)r->origin}, v = {LIMIT_ID_BYTES, (void *)id};
    return map_err(mdb_put(txn, s->dbi[DB_ROSTERS], &k, &v, 0));
}

int store_put_index(struct store *s, MDB_txn *txn, const uint8_t id[LIMIT_ID_BYTES],
                    const struct proto_record *r, uint64_t seq)
{
    uint8_t time_key[TIME_KEY_BYTES];
    time_seq_key(time_key, r->created_ms, seq);
    MDB_val tk = {sizeof time_key, time_key}, tv = {0, NULL};
    int err = store_put_ordered(s, txn, DB_BYTIME, &tk, &tv);
    return err == STORE_OK ? put_kind_index(s, txn, id, r, seq) : err;
}

/* Arrival time of the record under seq, from its log entry (pruned or not). */
int store_seq_added(struct store *s, MDB_txn *txn, uint64_t seq, uint64_t *added_us)
{
    uint8_t key[SEQ_BYTES];
    put_be64(key, seq);
    MDB_val k = {sizeof key, key}, v;
    int rc = mdb_get(txn, s->dbi[DB_LOG], &k, &v);
    if (rc != MDB_SUCCESS)
        return rc == MDB_NOTFOUND ? STORE_E_CORRUPT : map_err(rc); /* seqs have no gaps */
    if (v.mv_size != LOG_PRUNED_BYTES && v.mv_size <= LOG_HEAD_BYTES + LIMIT_SIG_BYTES)
        return STORE_E_CORRUPT;
    *added_us = get_be64(v.mv_data);
    return STORE_OK;
}

/* Adds one new record under seq to the log, ids, bytime and its kind's index. */
static int put_new(struct store *s, MDB_txn *txn, const struct store_put *it,
                   const struct proto_record *r, uint64_t seq, uint64_t added_us)
{
    assert(seq >= 1 && it->len > LIMIT_SIG_BYTES && it->len <= SIGNED_MAX);
    uint8_t seq_key[SEQ_BYTES];
    put_be64(seq_key, seq);
    MDB_val k = {LIMIT_ID_BYTES, (void *)it->id}, v = {sizeof seq_key, seq_key};
    int rc = mdb_put(txn, s->dbi[DB_IDS], &k, &v, MDB_NOOVERWRITE);
    if (rc != MDB_SUCCESS)
        return map_err(rc);
    /* seqs only grow: appending fills each page instead of splitting it in half, and touches
     * only the last page (LMDB refuses with KEYEXIST a seq not above the last one) */
    MDB_val sk = {sizeof seq_key, seq_key}, sv = {LOG_HEAD_BYTES + it->len, NULL};
    rc = mdb_put(txn, s->dbi[DB_LOG], &sk, &sv, MDB_APPEND | MDB_RESERVE);
    if (rc != MDB_SUCCESS)
        return rc == MDB_KEYEXIST ? STORE_E_CORRUPT : map_err(rc);
    s->appended[DB_LOG]++;
    uint8_t *p = sv.mv_data;
    put_be64(p, added_us);
    memcpy(p + 8, it->id, LIMIT_ID_BYTES);
    memcpy(p + LOG_HEAD_BYTES, it->signed_rec, it->len);
    return store_put_index(s, txn, it->id, r, seq);
}

/* last_added: the arrival time of seq *next_seq - 1, advanced for each record added. */
static int put_one(struct store *s, MDB_txn *txn, struct store_put *it,
                   struct proto_record *scratch, uint64_t *next_seq, uint64_t *last_added)
{
    assert(s != NULL && txn != NULL && it != NULL && *next_seq >= 1);
    const struct proto_record *r = NULL;
    int err = item_record(it, scratch, &r);
    if (err != STORE_OK)
        return err;
    MDB_val k = {LIMIT_ID_BYTES, it->id}, v;
    int rc = mdb_get(txn, s->dbi[DB_IDS], &k, &v);
    if (rc == MDB_SUCCESS) {
        if (v.mv_size != SEQ_BYTES)
            return STORE_E_CORRUPT;
        it->result = STORE_PUT_DUPLICATE;
        it->seq = get_be64(v.mv_data);
        return STORE_OK;
    }
    if (rc != MDB_NOTFOUND)
        return map_err(rc);
    err = store_find_revocation(s, txn, it->id, r->origin, NULL);
    if (err == STORE_OK) {
        it->result = STORE_PUT_REVOKED;
        it->seq = 0;
        return STORE_OK;
    }
    if (err != STORE_E_NOTFOUND)
        return err;
    if (*last_added == UINT64_MAX)
        return STORE_E_CORRUPT; /* no later arrival time is representable */
    const uint64_t added = it->added_us > *last_added ? it->added_us : *last_added + 1;
    err = put_new(s, txn, it, r, *next_seq, added);
    if (err != STORE_OK)
        return err;
    *last_added = added;
    it->result = STORE_PUT_ADDED;
    it->seq = (*next_seq)++;
    return STORE_OK;
}

int store_meta_next_seq(struct store *s, MDB_txn *txn, uint64_t *next_seq)
{
    MDB_val k = {sizeof META_NEXT_SEQ - 1, META_NEXT_SEQ}, v;
    int rc = mdb_get(txn, s->dbi[DB_META], &k, &v);
    if (rc != MDB_SUCCESS || v.mv_size != SEQ_BYTES)
        return rc == MDB_SUCCESS || rc == MDB_NOTFOUND ? STORE_E_CORRUPT : map_err(rc);
    *next_seq = get_be64(v.mv_data);
    return *next_seq >= 1 ? STORE_OK : STORE_E_CORRUPT;
}

int store_meta_set_next_seq(struct store *s, MDB_txn *txn, uint64_t next_seq)
{
    uint8_t buf[SEQ_BYTES];
    put_be64(buf, next_seq);
    MDB_val k = {sizeof META_NEXT_SEQ - 1, META_NEXT_SEQ}, v = {sizeof buf, buf};
    return map_err(mdb_put(txn, s->dbi[DB_META], &k, &v, 0));
}

int store_put_items(struct store *s, MDB_txn *txn, struct store_put *items, size_t n,
                    struct proto_record *scratch)
{
    assert(items != NULL && n <= LIMIT_STORE_BATCH);
    uint64_t next_seq = 0, last_added = 0;
    int err = store_meta_next_seq(s, txn, &next_seq);
    if (err == STORE_OK && next_seq > 1)
        err = store_seq_added(s, txn, next_seq - 1, &last_added);
    for (size_t i = 0; err == STORE_OK && i < n; i++)
        err = put_one(s, txn, &items[i], scratch, &next_seq, &last_added);
    return err == STORE_OK ? store_meta_set_next_seq(s, txn, next_seq) : err;
}

struct batch {
    struct store_put *items;
    size_t n;
    struct proto_record *scratch; /* decode target of items with rec == NULL, else NULL */
};

static int put_batch_txn(struct store *s, MDB_txn *txn, void *ctx)
{
    struct batch *b = ctx;
    return store_put_items(s, txn, b->items, b->n, b->scratch);
}

int store_put_batch(struct store *s, struct store_put *items, size_t n)
{
    assert(s != NULL);
    if (n == 0)
        return s->read_only ? STORE_E_READONLY : STORE_OK;
    if (items == NULL || n > LIMIT_STORE_BATCH)
        return STORE_E_INVAL;
    struct batch b = {items, n, NULL};
    bool decode = false;
    for (size_t i = 0; i < n && !decode; i++)
        decode = items[i].rec == NULL;
    /* One scratch record for the whole batch: a record is ~30 KB, a batch up to 4096 of them. */
    if (decode && (b.scratch = malloc(sizeof *b.scratch)) == NULL)
        return STORE_E_IO;
    int err = store_run_write(s, put_batch_txn, &b);
    free(b.scratch);
    return err;
}

/* --- pruning expired indicators --- */

struct prune {
    uint64_t cutoff_ms; /* entries with valid_until_ms < cutoff_ms go */
    size_t max;
    size_t *pruned;
    struct proto_record *scratch; /* each pruned record decoded in turn */
};

static int del_exact(struct store *s, MDB_txn *txn, enum db_index db, const void *key,
                     size_t key_len, const void *val, size_t val_len)
{
    MDB_val k = {key_len, (void *)key}, v = {val_len, (void *)val};
    int rc = mdb_del(txn, s->dbi[db], &k, val_len ? &v : NULL);
    /* every index entry was written with its record: a missing one is damage */
    return rc == MDB_NOTFOUND ? STORE_E_CORRUPT : map_err(rc);
}

/* The part entry of a composite indicator whose stored record is rec: the expiry entry holds
 * only the value key, so this one entry is found from the body, decoded only for the composite
 * types (into scratch). */
static int del_part(struct store *s, MDB_txn *txn, const uint8_t *id, int itype,
                    const struct store_rec *rec, struct proto_record *r)
{
    if (store_part_itype(itype) == 0)
        return STORE_OK;
    int err = proto_record_decode_known(rec->signed_rec + LIMIT_SIG_BYTES,
                                        rec->len - LIMIT_SIG_BYTES, r) == PROTO_OK &&
                      r->kind == PROTO_KIND_INDICATOR
                  ? STORE_OK
                  : STORE_E_CORRUPT;
    uint8_t pkey[VALUE_KEY_BYTES];
    if (err == STORE_OK && store_part_key(pkey, r->u.ind.type, r->u.ind.value))
        err = del_exact(s, txn, DB_BYVALUE, pkey, sizeof pkey, id, LIMIT_ID_BYTES);
    return err;
}

/* Drops the record named by one expiry entry (valid_until || seq -> created || value key, copied
 * out: deletes move LMDB's pages) from ids, bytime and byvalue (both entries of a composite
 * value), and reduces its log entry to the arrival time. */
static int prune_one(struct store *s, MDB_txn *txn, const uint8_t exp_key[EXPIRY_KEY_BYTES],
                     const uint8_t exp_val[EXPIRY_VAL_BYTES], struct proto_record *r)
{
    const uint64_t seq = get_be64(exp_key + 8);
    struct store_rec rec;
    int err = store_rec_by_seq(s, txn, seq, &rec);
    if (err != STORE_OK)
        return err == STORE_E_NOTFOUND ? STORE_E_CORRUPT : err;
    uint8_t id[LIMIT_ID_BYTES];
    memcpy(id, rec.id, sizeof id);
    const uint64_t added_us = rec.added_us;
    err = del_part(s, txn, id, exp_val[8], &rec, r); /* before any write: rec points into a page */
    uint8_t time_key[TIME_KEY_BYTES];
    time_seq_key(time_key, get_be64(exp_val), seq);
    if (err == STORE_OK)
        err = del_exact(s, txn, DB_IDS, id, LIMIT_ID_BYTES, NULL, 0);
    if (err == STORE_OK)
        err = del_exact(s, txn, DB_BYTIME, time_key, sizeof time_key, NULL, 0);
    if (err == STORE_OK)
        err = del_exact(s, txn, DB_BYVALUE, exp_val + 8, VALUE_KEY_BYTES, id, LIMIT_ID_BYTES);
    if (err == STORE_OK)
        err = del_exact(s, txn, DB_EXPIRY, exp_key, EXPIRY_KEY_BYTES, NULL, 0);
    if (err != STORE_OK)
        return err;
    uint8_t seq_key[SEQ_BYTES], pruned[LOG_PRUNED_BYTES];
    put_be64(seq_key, seq);
    put_be64(pruned, added_us);
    MDB_val sk = {sizeof seq_key, seq_key}, sv = {sizeof pruned, pruned};
    return map_err(mdb_put(txn, s->dbi[DB_LOG], &sk, &sv, 0));
}

/* The expiry index is in valid_until order: take its first entry while it is due, at most max
 * times (each round removes that entry, so the walk is bounded by max). */
static int prune_txn(struct store *s, MDB_txn *txn, void *ctx)
{
    struct prune *p = ctx;
    assert(p->max >= 1 && p->max <= LIMIT_PRUNE_BATCH && p->scratch != NULL);
    *p->pruned = 0; /* the transaction may be retried on a grown map */
    MDB_cursor *c = NULL;
    int rc = mdb_cursor_open(txn, s->dbi[DB_EXPIRY], &c);
    if (rc != MDB_SUCCESS)
        return map_err(rc);
    int err = STORE_OK;
    while (err == STORE_OK && *p->pruned < p->max) {
        MDB_val k, v;
        rc = mdb_cursor_get(c, &k, &v, MDB_FIRST);
        if (rc != MDB_SUCCESS) {
            err = rc == MDB_NOTFOUND ? STORE_OK : map_err(rc);
            break;
        }
        if (k.mv_size != EXPIRY_KEY_BYTES || v.mv_size != EXPIRY_VAL_BYTES) {
            err = STORE_E_CORRUPT;
            break;
        }
        if (get_be64(k.mv_data) >= p->cutoff_ms)
            break;
        uint8_t exp_key[EXPIRY_KEY_BYTES], exp_val[EXPIRY_VAL_BYTES];
        memcpy(exp_key, k.mv_data, sizeof exp_key);
        memcpy(exp_val, v.mv_data, sizeof exp_val);
        err = prune_one(s, txn, exp_key, exp_val, p->scratch);
        if (err == STORE_OK)
            (*p->pruned)++;
    }
    mdb_cursor_close(c);
    return err;
}

int store_prune_expired(struct store *s, uint64_t now_ms, uint64_t grace_ms, size_t max,
                        size_t *pruned)
{
    assert(s != NULL && pruned != NULL);
    *pruned = 0;
    if (max == 0 || max > LIMIT_PRUNE_BATCH)
        return STORE_E_INVAL;
    if (now_ms <= grace_ms) /* nothing can have been expired for grace_ms yet */
        return s->read_only ? STORE_E_READONLY : STORE_OK;
    /* valid_until + grace <= now  <=>  valid_until < now - grace + 1, without overflow */
    struct prune p = {now_ms - grace_ms + 1, max, pruned, malloc(sizeof *p.scratch)};
    int err = p.scratch != NULL ? store_run_write(s, prune_txn, &p) : STORE_E_IO;
    free(p.scratch);
    if (err != STORE_OK)
        *pruned = 0;
    return err;
}
