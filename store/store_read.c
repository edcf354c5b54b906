/* store_read.c - LMDB record store: lookups and iteration, revocations, the small key/value
 * state, statistics. Contract: store.h; shared parts: store_int.h. */
#include "store/store_int.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

/* --- reading --- */

int store_walk(struct store *s, MDB_txn *txn, enum db_index db, store_entry_fn fn, void *ctx)
{
    MDB_cursor *c = NULL;
    int rc = mdb_cursor_open(txn, s->dbi[db], &c);
    if (rc != MDB_SUCCESS)
        return map_err(rc);
    MDB_val k, v;
    int err = STORE_OK;
    /* each step visits a distinct entry, so the walk is bounded by the database's size */
    for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == MDB_SUCCESS && err == STORE_OK;
         rc = mdb_cursor_get(c, &k, &v, MDB_NEXT))
        err = fn(s, txn, &k, &v, ctx);
    mdb_cursor_close(c);
    if (err != STORE_OK)
        return err;
    return rc == MDB_NOTFOUND ? STORE_OK : map_err(rc);
}

static bool same(const MDB_val *x, const uint8_t *b, size_t len)
{
    return x->mv_size == len && memcmp(x->mv_data, b, len) == 0;
}

/* The first entry after pos: its key is pos's and its value greater (DUPSORT), or its key is
 * greater. Returns the LMDB code of the positioning. */
static int walk_resume(MDB_cursor *c, bool dup, const struct store_walk_pos *pos, MDB_val *k,
                       MDB_val *v)
{
    if (!pos->started)
        return mdb_cursor_get(c, k, v, MDB_FIRST);
    *k = (MDB_val){pos->key_len, (void *)pos->key};
    int rc;
    if (dup) {
        *v = (MDB_val){pos->val_len, (void *)pos->val};
        rc = mdb_cursor_get(c, k, v, MDB_GET_BOTH_RANGE);
        if (rc == MDB_SUCCESS && same(v, pos->val, pos->val_len))
            return mdb_cursor_get(c, k, v, MDB_NEXT);
        if (rc != MDB_NOTFOUND)
            return rc;
        *k = (MDB_val){pos->key_len, (void *)pos->key}; /* no value above pos's under its key */
    }
    rc = mdb_cursor_get(c, k, v, MDB_SET_RANGE);
    if (rc == MDB_SUCCESS && same(k, pos->key, pos->key_len))
        rc = mdb_cursor_get(c, k, v, dup ? MDB_NEXT_NODUP : MDB_NEXT);
    return rc;
}

int store_walk_chunk(struct store *s, MDB_txn *txn, enum db_index db, struct store_walk_pos *pos,
                     size_t max, store_entry_fn fn, void *ctx)
{
    assert(pos != NULL && !pos->done && max > 0);
    unsigned flags = 0;
    int rc = mdb_dbi_flags(txn, s->dbi[db], &flags);
    MDB_cursor *c = NULL;
    if (rc == MDB_SUCCESS)
        rc = mdb_cursor_open(txn, s->dbi[db], &c);
    if (rc != MDB_SUCCESS)
        return map_err(rc);
    const bool dup = (flags & MDB_DUPSORT) != 0;
    MDB_val k, v;
    int err = STORE_OK;
    size_t n = 0;
    for (rc = walk_resume(c, dup, pos, &k, &v); rc == MDB_SUCCESS && err == STORE_OK && n < max;
         rc = mdb_cursor_get(c, &k, &v, MDB_NEXT), n++) {
        assert(k.mv_size <= STORE_KEY_MAX && (!dup || v.mv_size <= STORE_KEY_MAX));
        memcpy(pos->key, k.mv_data, pos->key_len = k.mv_size);
        if (dup)
            memcpy(pos->val, v.mv_data, pos->val_len = v.mv_size);
        pos->started = true;
        err = fn(s, txn, &k, &v, ctx);
    }
    mdb_cursor_close(c);
    if (err != STORE_OK)
        return err;
    pos->done = rc == MDB_NOTFOUND;
    return rc == MDB_NOTFOUND || rc == MDB_SUCCESS ? STORE_OK : map_err(rc);
}

int store_log_rec(const MDB_val *k, const MDB_val *v, struct store_rec *r)
{
    if (k->mv_size != SEQ_BYTES ||
        (v->mv_size != LOG_PRUNED_BYTES && v->mv_size <= LOG_HEAD_BYTES + LIMIT_SIG_BYTES))
        return STORE_E_CORRUPT;
    if (v->mv_size == LOG_PRUNED_BYTES)
        return STORE_E_NOTFOUND;
    const uint8_t *p = v->mv_data;
    *r = (struct store_rec){.seq = get_be64(k->mv_data), .added_us = get_be64(p),
                            .id = p + 8, .signed_rec = p + LOG_HEAD_BYTES,
                            .len = v->mv_size - LOG_HEAD_BYTES};
    return STORE_OK;
}

int store_rec_by_seq(struct store *s, MDB_txn *txn, uint64_t seq, struct store_rec *r)
{
    uint8_t key[SEQ_BYTES];
    put_be64(key, seq);
    MDB_val k = {sizeof key, key}, v;
    int rc = mdb_get(txn, s->dbi[DB_LOG], &k, &v);
    return rc == MDB_SUCCESS ? store_log_rec(&k, &v, r) : map_err(rc);
}

int store_rec_by_id(struct store *s, MDB_txn *txn, const uint8_t id[LIMIT_ID_BYTES],
                    struct store_rec *r)
{
    MDB_val k = {LIMIT_ID_BYTES, (void *)id}, v;
    int rc = mdb_get(txn, s->dbi[DB_IDS], &k, &v);
    if (rc != MDB_SUCCESS)
        return map_err(rc);
    if (v.mv_size != SEQ_BYTES)
        return STORE_E_CORRUPT;
    int err = store_rec_by_seq(s, txn, get_be64(v.mv_data), r);
    if (err == STORE_OK && memcmp(r->id, id, LIMIT_ID_BYTES) != 0)
        err = STORE_E_CORRUPT;
    return err == STORE_E_NOTFOUND ? STORE_E_CORRUPT : err; /* an id names a held record */
}

/* Hands the stored record id to cb; an index entry without its record is corruption. */
static int emit(struct store *s, MDB_txn *txn, const uint8_t *id, store_record_cb cb, void *ctx)
{
    struct store_rec r;
    int err = store_rec_by_id(s, txn, id, &r);
    if (err != STORE_OK)
        return err == STORE_E_NOTFOUND ? STORE_E_CORRUPT : err;
    return cb(r.id, r.signed_rec, r.len, r.seq, ctx);
}

struct copy_out {
    const void *key;
    size_t key_len;
    uint8_t *buf;
    size_t cap;
    size_t *len;
    uint64_t *seq;
    enum db_index db; /* DB_IDS: the record of an id, else the value of a key */
};

static int copy_txn(struct store *s, MDB_txn *txn, void *ctx)
{
    struct copy_out *co = ctx;
    assert(co->len != NULL && (co->buf != NULL || co->cap == 0));
    MDB_val k = {co->key_len, (void *)co->key}, v;
    struct store_rec r = {0};
    int err = STORE_OK;
    if (co->db == DB_IDS) {
        err = store_rec_by_id(s, txn, co->key, &r);
    } else {
        err = map_err(mdb_get(txn, s->dbi[co->db], &k, &v));
        r.signed_rec = v.mv_data, r.len = v.mv_size;
    }
    if (err != STORE_OK)
        return err;
    *co->len = r.len;
    if (co->seq != NULL)
        *co->seq = r.seq;
    if (r.len > co->cap)
        return STORE_E_NOSPACE;
    memcpy(co->buf, r.signed_rec, r.len);
    return STORE_OK;
}

static int has_txn(struct store *s, MDB_txn *txn, void *ctx)
{
    MDB_val k = {LIMIT_ID_BYTES, ctx}, v;
    int rc = mdb_get(txn, s->dbi[DB_IDS], &k, &v);
    return rc == MDB_SUCCESS ? 1 : rc == MDB_NOTFOUND ? 0 : map_err(rc);
}

int store_has(struct store *s, const uint8_t id[LIMIT_ID_BYTES])
{
    assert(s != NULL && id != NULL);
    return store_run_read(s, has_txn, (void *)id);
}

int store_get(struct store *s, const uint8_t id[LIMIT_ID_BYTES], uint8_t *buf, size_t cap,
              size_t *len, uint64_t *seq)
{
    assert(s != NULL && id != NULL && len != NULL && (buf != NULL || cap == 0));
    struct copy_out co = {id, LIMIT_ID_BYTES, buf, cap, len, seq, DB_IDS};
    return store_run_read(s, copy_txn, &co);
}

enum scan_kind { SCAN_VALUE, SCAN_TIME, SCAN_SIGHTED, SCAN_ROSTER_OWNER, SCAN_ROSTERS, SCAN_PREFIX };

struct scan {
    enum scan_kind kind;
    uint8_t start[VALUE_KEY_BYTES]; /* first key: value key, time key, id or owner key */
    size_t start_len;
    uint64_t to_ms; /* SCAN_TIME: exclusive end */
    size_t prefix_len; /* SCAN_PREFIX: ids must start with start[0..prefix_len) */
    store_record_cb cb;
    void *ctx;
};
/* start holds the longest of the keys a scan begins at. */
_Static_assert(VALUE_KEY_BYTES >= TIME_KEY_BYTES && VALUE_KEY_BYTES >= (int)LIMIT_ID_BYTES &&
                   VALUE_KEY_BYTES >= (int)LIMIT_KEY_BYTES,
               "struct scan start is too short");

/* Hands the record an index entry names to the scan's callback: by seq (bytime), else by id.
 * *end: the entry is past the scan's end (nothing handed). */
static int scan_entry(struct store *s, MDB_txn *txn, const struct scan *sc, const MDB_val *k,
                      const MDB_val *v, bool *end)
{
    const uint8_t *id = v->mv_data;
    switch (sc->kind) {
    case SCAN_VALUE:
    case SCAN_SIGHTED:
    case SCAN_ROSTER_OWNER:
    case SCAN_ROSTERS:
        if (v->mv_size != LIMIT_ID_BYTES)
            return STORE_E_CORRUPT;
        break;
    case SCAN_TIME: {
        if (k->mv_size != TIME_KEY_BYTES || get_be64(k->mv_data) >= sc->to_ms) {
            *end = true;
            return STORE_OK;
        }
        struct store_rec r;
        int err = store_rec_by_seq(s, txn, get_be64((const uint8_t *)k->mv_data + 8), &r);
        if (err != STORE_OK)
            return err == STORE_E_NOTFOUND ? STORE_E_CORRUPT : err; /* pruned: no bytime */
        return sc->cb(r.id, r.signed_rec, r.len, r.seq, sc->ctx);
    }
    case SCAN_PREFIX:
        if (k->mv_size != LIMIT_ID_BYTES || memcmp(k->mv_data, sc->start, sc->prefix_len) != 0) {
            *end = true;
            return STORE_OK;
        }
        id = k->mv_data;
        break;
    }
    return emit(s, txn, id, sc->cb, sc->ctx);
}

/* One cursor walk from sc->start; every step visits a distinct entry, so the walk is bounded by
 * the size of the snapshot. */
static int scan_txn(struct store *s, MDB_txn *txn, void *ctx)
{
    struct scan *sc = ctx;
    assert(sc->cb != NULL && sc->start_len <= sizeof sc->start);
    static const enum db_index dbs[] = {
        [SCAN_VALUE] = DB_BYVALUE,        [SCAN_TIME] = DB_BYTIME,
        [SCAN_SIGHTED] = DB_SIGHTED,      [SCAN_ROSTER_OWNER] = DB_ROSTERS,
        [SCAN_ROSTERS] = DB_ROSTERS,      [SCAN_PREFIX] = DB_IDS,
    };
    /* Index lookups walk the duplicates of one key; the others walk on from a start key. */
    const bool one_key = sc->kind == SCAN_VALUE || sc->kind == SCAN_SIGHTED ||
                         sc->kind == SCAN_ROSTER_OWNER;
    MDB_cursor *c = NULL;
    int rc = mdb_cursor_open(txn, s->dbi[dbs[sc->kind]], &c);
    if (rc != MDB_SUCCESS)
        return map_err(rc);
    MDB_val k = {sc->start_len, sc->start}, v;
    MDB_cursor_op first = one_key ? MDB_SET_KEY : MDB_SET_RANGE;
    MDB_cursor_op next = one_key ? MDB_NEXT_DUP : MDB_NEXT;
    int err = STORE_OK;
    bool end = false;
    for (rc = mdb_cursor_get(c, &k, &v, first); rc == MDB_SUCCESS && err == STORE_OK && !end;
         rc = mdb_cursor_get(c, &k, &v, next))
        err = scan_entry(s, txn, sc, &k, &v, &end);
    mdb_cursor_close(c);
    if (err != STORE_OK)
        return err;
    return rc == MDB_SUCCESS || rc == MDB_NOTFOUND ? STORE_OK : map_err(rc);
}

/* A value's lookup keys: its exact key, and (parts) the key of the composite records whose
 * address or host it is; ONE read transaction scans them in turn. */
struct value_keys {
    uint8_t key[2][VALUE_KEY_BYTES];
    size_t n;
    store_record_cb cb;
    void *ctx;
};

static int value_scan(struct store *s, MDB_txn *txn, const uint8_t key[VALUE_KEY_BYTES],
                      store_record_cb cb, void *ctx)
{
    struct scan sc = {.kind = SCAN_VALUE, .start_len = VALUE_KEY_BYTES, .cb = cb, .ctx = ctx};
    memcpy(sc.start, key, VALUE_KEY_BYTES);
    return scan_txn(s, txn, &sc);
}

static int keys_txn(struct store *s, MDB_txn *txn, void *ctx)
{
    const struct value_keys *w = ctx;
    int rc = STORE_OK;
    for (size_t i = 0; i < w->n && rc == STORE_OK; i++)
        rc = value_scan(s, txn, w->key[i], w->cb, w->ctx);
    return rc;
}

static int find_value(struct store *s, int itype, const char *value, bool parts,
                      store_record_cb cb, void *ctx)
{
    assert(s != NULL && cb != NULL);
    if (value == NULL || itype <= 0 || itype >= PROTO_ITYPE_END)
        return STORE_E_INVAL;
    size_t len = strnlen(value, LIMIT_VALUE_BYTES + 1);
    if (len > LIMIT_VALUE_BYTES)
        return STORE_E_INVAL;
    struct value_keys w = {.n = parts ? 2 : 1, .cb = cb, .ctx = ctx};
    store_value_key(w.key[0], itype, value, len);
    if (parts)
        store_part_lookup_key(w.key[1], itype, value, len);
    return store_run_read(s, keys_txn, &w);
}

int store_find_value(struct store *s, int itype, const char *value, store_record_cb cb,
                     void *ctx)
{
    return find_value(s, itype, value, true, cb, ctx);
}

int store_find_exact(struct store *s, int itype, const char *value, store_record_cb cb,
                     void *ctx)
{
    return find_value(s, itype, value, false, cb, ctx);
}

struct values_walk {
    const int *itypes;
    const char *const *values;
    size_t n;
    store_record_cb cb;
    void *ctx;
};

static int values_txn(struct store *s, MDB_txn *txn, void *ctx)
{
    const struct values_walk *w = ctx;
    int rc = STORE_OK;
    for (size_t i = 0; i < w->n && rc == STORE_OK; i++) {
        uint8_t key[VALUE_KEY_BYTES];
        store_value_key(key, w->itypes[i], w->values[i], strlen(w->values[i]));
        rc = value_scan(s, txn, key, w->cb, w->ctx);
    }
    return rc;
}

int store_find_values(struct store *s, const int *itypes, const char *const *values, size_t n,
                      store_record_cb cb, void *ctx)
{
    assert(s != NULL && cb != NULL && (n == 0 || (itypes != NULL && values != NULL)));
    if (n > LIMIT_STORE_FIND_VALUES)
        return STORE_E_INVAL;
    for (size_t i = 0; i < n; i++)
        if (values[i] == NULL || itypes[i] <= 0 || itypes[i] >= PROTO_ITYPE_END ||
            strnlen(values[i], LIMIT_VALUE_BYTES + 1) > LIMIT_VALUE_BYTES)
            return STORE_E_INVAL;
    const struct values_walk w = {itypes, values, n, cb, ctx};
    return store_run_read(s, values_txn, (void *)&w);
}

int store_find_prefix(struct store *s, const uint8_t *prefix, size_t prefix_len,
                      store_record_cb cb, void *ctx)
{
    assert(s != NULL && cb != NULL);
    if (prefix == NULL || prefix_len == 0 || prefix_len > LIMIT_ID_BYTES)
        return STORE_E_INVAL;
    /* The rest of the start key stays zero: the smallest id with this prefix. */
    struct scan sc = {.kind = SCAN_PREFIX, .start_len = LIMIT_ID_BYTES,
                      .prefix_len = prefix_len, .cb = cb, .ctx = ctx};
    memcpy(sc.start, prefix, prefix_len);
    return store_run_read(s, scan_txn, &sc);
}

/* A walk of the log from since_seq + 1, handing each record to one of the two callbacks. */
struct log_walk {
    uint64_t since_seq;
    store_record_cb cb;
    store_added_cb added_cb;
    void *ctx;
};

/* One cursor walk of the log, the records themselves in seq order; each step visits a distinct
 * entry of the snapshot. Pruned records' entries are skipped. */
static int log_walk_txn(struct store *s, MDB_txn *txn, void *ctx)
{
    struct log_walk *w = ctx;
    assert((w->cb != NULL) != (w->added_cb != NULL) && w->since_seq < UINT64_MAX);
    MDB_cursor *c = NULL;
    int rc = mdb_cursor_open(txn, s->dbi[DB_LOG], &c);
    if (rc != MDB_SUCCESS)
        return map_err(rc);
    uint8_t start[SEQ_BYTES];
    put_be64(start, w->since_seq + 1);
    MDB_val k = {sizeof start, start}, v;
    int err = STORE_OK;
    for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == MDB_SUCCESS && err == STORE_OK;
         rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        struct store_rec r;
        err = store_log_rec(&k, &v, &r);
        if (err == STORE_E_NOTFOUND)
            err = STORE_OK; /* pruned */
        else if (err == STORE_OK && w->cb != NULL)
            err = w->cb(r.id, r.signed_rec, r.len, r.seq, w->ctx);
        else if (err == STORE_OK)
            err = w->added_cb(r.id, r.signed_rec, r.len, r.seq, r.added_us, w->ctx);
    }
    mdb_cursor_close(c);
    if (err != STORE_OK)
        return err;
    return rc == MDB_SUCCESS || rc == MDB_NOTFOUND ? STORE_OK : map_err(rc);
}

static int log_walk(struct store *s, struct log_walk *w)
{
    assert(s != NULL);
    return w->since_seq == UINT64_MAX ? STORE_OK : store_run_read(s, log_walk_txn, w);
}

int store_iter_seq(struct store *s, uint64_t since_seq, store_record_cb cb, void *ctx)
{
    assert(cb != NULL);
    return log_walk(s, &(struct log_walk){since_seq, cb, NULL, ctx});
}

int store_iter_added(struct store *s, uint64_t since_seq, store_added_cb cb, void *ctx)
{
    assert(cb != NULL);
    return log_walk(s, &(struct log_walk){since_seq, NULL, cb, ctx});
}

struct seq_at {
    uint64_t t_us;
    uint64_t *seq;
};

/* Arrival times increase with seq: bisect [0, last seq] for the last one at or before t_us. */
static int seq_at_txn(struct store *s, MDB_txn *txn, void *ctx)
{
    struct seq_at *sa = ctx;
    uint64_t next_seq = 0;
    int err = store_meta_next_seq(s, txn, &next_seq);
    uint64_t lo = 0, hi = next_seq - 1; /* invariant: answer in [lo, hi] */
    for (unsigned i = 0; err == STORE_OK && lo < hi && i < 64; i++) {
        const uint64_t mid = lo + (hi - lo + 1) / 2;
        uint64_t added = 0;
        err = store_seq_added(s, txn, mid, &added);
        if (added <= sa->t_us)
            lo = mid;
        else
            hi = mid - 1;
    }
    if (err == STORE_OK)
        *sa->seq = lo;
    return err;
}

int store_seq_at_time(struct store *s, uint64_t t_us, uint64_t *seq)
{
    assert(s != NULL && seq != NULL);
    struct seq_at sa = {t_us, seq};
    return store_run_read(s, seq_at_txn, &sa);
}

int store_iter_time(struct store *s, uint64_t from_ms, uint64_t to_ms, store_record_cb cb,
                    void *ctx)
{
    assert(s != NULL && cb != NULL);
    if (from_ms >= to_ms)
        return STORE_OK;
    struct scan sc = {.kind = SCAN_TIME, .start_len = TIME_KEY_BYTES, .to_ms = to_ms,
                      .cb = cb, .ctx = ctx};
    put_be64(sc.start, from_ms); /* seq part stays zero: the first seq at from_ms */
    return store_run_read(s, scan_txn, &sc);
}

int store_iter_sightings(struct store *s, const uint8_t target[LIMIT_ID_BYTES],
                         store_record_cb cb, void *ctx)
{
    assert(s != NULL && target != NULL && cb != NULL);
    struct scan sc = {.kind = SCAN_SIGHTED, .start_len = LIMIT_ID_BYTES, .cb = cb, .ctx = ctx};
    memcpy(sc.start, target, LIMIT_ID_BYTES);
    return store_run_read(s, scan_txn, &sc);
}

int store_iter_rosters(struct store *s, const uint8_t *owner, store_record_cb cb, void *ctx)
{
    assert(s != NULL && cb != NULL);
    /* All rosters: from the smallest owner key on. */
    struct scan sc = {.kind = owner != NULL ? SCAN_ROSTER_OWNER : SCAN_ROSTERS,
                      .start_len = LIMIT_KEY_BYTES, .cb = cb, .ctx = ctx};
    if (owner != NULL)
        memcpy(sc.start, owner, LIMIT_KEY_BYTES);
    return store_run_read(s, scan_txn, &sc);
}

/* --- revocations --- */

struct revq {
    const uint8_t *target;
    const uint8_t *origin;
    uint8_t *rev_id;
};

static int revq_txn(struct store *s, MDB_txn *txn, void *ctx)
{
    struct revq *q = ctx;
    return store_find_revocation(s, txn, q->target, q->origin, q->rev_id);
}

/* A record of a distrusted origin created or arrived at or after its since: hidden. The created
 * time sits at a fixed place in a canonical body (docs/PROTOCOL.md "Layout": after version, kind
 * and the 32-byte origin, a uint64); a body that does not match counts as hidden. */
static int distrust_txn(struct store *s, MDB_txn *txn, void *ctx)
{
    const struct revq *q = ctx;
    uint64_t since;
    int err = store_distrusted_since(s, txn, q->origin, &since);
    if (err != STORE_OK)
        return err;
    struct store_rec r;
    err = store_rec_by_id(s, txn, q->target, &r);
    if (err != STORE_OK)
        return err == STORE_E_NOTFOUND ? STORE_OK : err; /* not held: nothing to show */
    enum { CREATED = LIMIT_SIG_BYTES + 1 + 2 + 2 + 35 + 1 };
    const uint8_t *p = r.signed_rec;
    if (r.len < CREATED + 9 || p[CREATED - 1] != 0x03 || p[CREATED] != 0xcf)
        return STORE_OK;
    const uint64_t added_us = r.added_us;
    bool after = get_be64(p + CREATED + 1) >= since || added_us / 1000 >= since;
    return after ? STORE_OK : STORE_E_NOTFOUND;
}

int store_revocation_for(struct store *s, const uint8_t target[LIMIT_ID_BYTES],
                         const uint8_t target_origin[LIMIT_KEY_BYTES],
                         uint8_t rev_id[LIMIT_ID_BYTES])
{
    assert(s != NULL && target != NULL && target_origin != NULL && rev_id != NULL);
    struct revq q = {target, target_origin, rev_id};
    return store_run_read(s, revq_txn, &q);
}

struct snapshot_call {
    int (*fn)(void *ctx);
    void *ctx;
};

static int snapshot_txn(struct store *s, MDB_txn *txn, void *ctx)
{
    (void)s, (void)txn; /* held by store_run_read for every read fn makes */
    const struct snapshot_call *c = ctx;
    return c->fn(c->ctx);
}

int store_read_snapshot(struct store *s, int (*fn)(void *ctx), void *ctx)
{
    assert(s != NULL && fn != NULL);
    struct snapshot_call c = {fn, ctx};
    return store_run_read(s, snapshot_txn, &c);
}

int store_is_revoked(struct store *s, const uint8_t target[LIMIT_ID_BYTES],
                     const uint8_t target_origin[LIMIT_KEY_BYTES])
{
    assert(s != NULL && target != NULL && target_origin != NULL);
    struct revq q = {target, target_origin, NULL};
    int err = store_run_read(s, revq_txn, &q);
    if (err == STORE_E_NOTFOUND)
        err = store_run_read(s, distrust_txn, &q);
    return err == STORE_OK ? 1 : err == STORE_E_NOTFOUND ? 0 : err;
}

/* --- revocations at once (store_revoked_set) --- */

/* Copies every entry of table db, key (key_len bytes) || the first val_len bytes of its value,
 * into a new array *arr of *n elements; LMDB's order (key, then duplicate value) is memcmp order
 * of the elements. STORE_E_NOSPACE above max entries. */
static int load_table(struct store *s, MDB_txn *txn, enum db_index db, size_t key_len,
                      size_t val_len, size_t max, uint8_t **arr, size_t *n)
{
    MDB_stat st;
    int rc = mdb_stat(txn, s->dbi[db], &st);
    if (rc != MDB_SUCCESS)
        return map_err(rc);
    if (st.ms_entries > max)
        return STORE_E_NOSPACE;
    const size_t elem = key_len + val_len;
    if ((*arr = malloc((st.ms_entries ? st.ms_entries : 1) * elem)) == NULL)
        return STORE_E_IO;
    MDB_cursor *c = NULL;
    if ((rc = mdb_cursor_open(txn, s->dbi[db], &c)) != MDB_SUCCESS)
        return map_err(rc);
    MDB_val k, v;
    int err = STORE_OK;
    for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == MDB_SUCCESS && err == STORE_OK;
         rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        if (*n == st.ms_entries || k.mv_size != key_len || v.mv_size < val_len) {
            err = STORE_E_CORRUPT; /* the count in the same snapshot, or the table's layout */
            break;
        }
        memcpy(*arr + *n * elem, k.mv_data, key_len);
        memcpy(*arr + *n * elem + key_len, v.mv_data, val_len);
        (*n)++;
    }
    mdb_cursor_close(c);
    if (err != STORE_OK)
        return err;
    return rc == MDB_SUCCESS || rc == MDB_NOTFOUND ? STORE_OK : map_err(rc);
}

struct revoked_load {
    size_t max;
    struct store_revoked_set *rs;
};

static int load_revoked_txn(struct store *s, MDB_txn *txn, void *ctx)
{
    struct revoked_load *l = ctx;
    uint8_t *pairs = NULL, *distrusted = NULL;
    int err = load_table(s, txn, DB_REVOKED, LIMIT_ID_BYTES, LIMIT_KEY_BYTES, l->max, &pairs,
                         &l->rs->n_pairs);
    l->rs->pairs = (void *)pairs;
    if (err == STORE_OK)
        err = load_table(s, txn, DB_DISTRUST, LIMIT_KEY_BYTES, 0, l->max, &distrusted,
                         &l->rs->n_distrusted);
    l->rs->distrusted = (void *)distrusted;
    return err;
}

int store_load_revoked(struct store *s, size_t max, struct store_revoked_set *out)
{
    assert(s != NULL && out != NULL);
    memset(out, 0, sizeof *out);
    struct revoked_load l = {max, out};
    int err = store_run_read(s, load_revoked_txn, &l);
    if (err != STORE_OK)
        store_revoked_free(out);
    return err;
}

static int pair_cmp(const void *a, const void *b)
{
    return memcmp(a, b, LIMIT_ID_BYTES + LIMIT_KEY_BYTES);
}

static int key_cmp(const void *a, const void *b)
{
    return memcmp(a, b, LIMIT_KEY_BYTES);
}

int store_revoked_check(const struct store_revoked_set *rs, const uint8_t target[LIMIT_ID_BYTES],
                        const uint8_t target_origin[LIMIT_KEY_BYTES])
{
    assert(rs != NULL && target != NULL && target_origin != NULL);
    uint8_t pair[LIMIT_ID_BYTES + LIMIT_KEY_BYTES];
    memcpy(pair, target, LIMIT_ID_BYTES);
    memcpy(pair + LIMIT_ID_BYTES, target_origin, LIMIT_KEY_BYTES);
    if (rs->n_pairs && bsearch(pair, rs->pairs, rs->n_pairs, sizeof *rs->pairs, pair_cmp))
        return 1;
    if (rs->n_distrusted &&
        bsearch(target_origin, rs->distrusted, rs->n_distrusted, sizeof *rs->distrusted, key_cmp))
        return 2;
    return 0;
}

void store_revoked_free(struct store_revoked_set *rs)
{
    if (rs == NULL)
        return;
    free(rs->pairs);
    free(rs->distrusted);
    memset(rs, 0, sizeof *rs);
}

/* --- small key/value state --- */

struct kv_put {
    enum db_index db;
    MDB_val k, v;
};

static int kv_put_txn(struct store *s, MDB_txn *txn, void *ctx)
{
    struct kv_put *p = ctx;
    MDB_val v = p->v; /* mdb_put may rewrite v; keep the request repeatable */
    return map_err(mdb_put(txn, s->dbi[p->db], &p->k, &v, 0));
}

static int kv_put(struct store *s, enum db_index db, const void *key, size_t key_len,
                  const uint8_t *val, size_t len)
{
    struct kv_put p = {db, {key_len, (void *)key}, {len, (void *)val}};
    return store_run_write(s, kv_put_txn, &p);
}

static int kv_get(struct store *s, enum db_index db, const void *key, size_t key_len,
                  uint8_t *buf, size_t cap, size_t *len)
{
    struct copy_out co = {key, key_len, buf, cap, len, NULL, db};
    return store_run_read(s, copy_txn, &co);
}

int store_peer_get(struct store *s, const uint8_t peer[LIMIT_KEY_BYTES], uint8_t *buf,
                   size_t cap, size_t *len)
{
    assert(s != NULL && peer != NULL && len != NULL && (buf != NULL || cap == 0));
    return kv_get(s, DB_PEERS, peer, LIMIT_KEY_BYTES, buf, cap, len);
}

int store_peer_put(struct store *s, const uint8_t peer[LIMIT_KEY_BYTES], const uint8_t *blob,
                   size_t len)
{
    assert(s != NULL && peer != NULL);
    if ((blob == NULL && len != 0) || len > LIMIT_STORE_PEER_BLOB_BYTES)
        return STORE_E_INVAL;
    return kv_put(s, DB_PEERS, peer, LIMIT_KEY_BYTES, blob, len);
}

/* Length of a caller's meta key, or 0 if it is empty, too long or reserved. */
static size_t meta_key_len(const char *key)
{
    if (key == NULL)
        return 0;
    size_t len = strnlen(key, LIMIT_STORE_META_KEY_BYTES + 1);
    if (len > LIMIT_STORE_META_KEY_BYTES ||
        strncmp(key, META_RESERVED_PREFIX, sizeof META_RESERVED_PREFIX - 1) == 0)
        return 0;
    return len;
}

int store_meta_get(struct store *s, const char *key, uint8_t *buf, size_t cap, size_t *len)
{
    assert(s != NULL && len != NULL && (buf != NULL || cap == 0));
    size_t key_len = meta_key_len(key);
    if (key_len == 0)
        return STORE_E_INVAL;
    return kv_get(s, DB_META, key, key_len, buf, cap, len);
}

int store_meta_put(struct store *s, const char *key, const uint8_t *value, size_t len)
{
    assert(s != NULL);
    size_t key_len = meta_key_len(key);
    if (key_len == 0 || (value == NULL && len != 0) || len > LIMIT_STORE_META_VALUE_BYTES)
        return STORE_E_INVAL;
    return kv_put(s, DB_META, key, key_len, value, len);
}

/* --- statistics --- */

static int stats_txn(struct store *s, MDB_txn *txn, void *ctx)
{
    struct store_stats *st = ctx;
    MDB_stat ms;
    MDB_envinfo info;
    uint64_t next_seq = 0;
    int rc = mdb_stat(txn, s->dbi[DB_IDS], &ms);
    if (rc == MDB_SUCCESS)
        rc = mdb_env_info(s->env, &info);
    if (rc != MDB_SUCCESS)
        return map_err(rc);
    int err = store_meta_next_seq(s, txn, &next_seq);
    if (err != STORE_OK)
        return err;
    st->records = ms.ms_entries;
    st->last_seq = next_seq - 1;
    st->map_bytes = info.me_mapsize;
    st->used_bytes = ((uint64_t)info.me_last_pgno + 1) * ms.ms_psize;
    st->disk_full_since_ms = atomic_load(&s->disk_full_since_ms);
    return STORE_OK;
}

int store_stats(struct store *s, struct store_stats *st)
{
    assert(s != NULL && st != NULL);
    memset(st, 0, sizeof *st);
    return store_run_read(s, stats_txn, st);
}
