/* store.c - LMDB record store. Contract and on-disk format: store.h. */
#include "store/store.h"

#include <assert.h>
#include <errno.h>
#include <lmdb.h>
#include <pthread.h>
#include <sodium.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

enum db_index {
    DB_RECORDS, DB_BYVALUE, DB_BYTIME, DB_SEQ, DB_REVOKED, DB_META, DB_PEERS, DB_SIGHTED,
    DB_ROSTERS, DB_EXPIRY, DB_N
};

static const struct {
    const char *name;
    unsigned flags;
} db_specs[DB_N] = {
    [DB_RECORDS] = {"records", 0},
    [DB_BYVALUE] = {"byvalue", MDB_DUPSORT | MDB_DUPFIXED},
    [DB_BYTIME] = {"bytime", 0},
    [DB_SEQ] = {"seq", 0},
    [DB_REVOKED] = {"revoked", MDB_DUPSORT | MDB_DUPFIXED},
    [DB_META] = {"meta", 0},
    [DB_PEERS] = {"peers", 0},
    [DB_SIGHTED] = {"sighted", MDB_DUPSORT | MDB_DUPFIXED},
    [DB_ROSTERS] = {"rosters", MDB_DUPSORT | MDB_DUPFIXED},
    [DB_EXPIRY] = {"expiry", 0},
};
_Static_assert((int)DB_N <= (int)LIMIT_STORE_DBS, "more named databases than LIMIT_STORE_DBS");

#define META_SCHEMA "store.schema"
#define META_NEXT_SEQ "store.next_seq"
#define META_RESERVED_PREFIX "store."

enum {
    SEQ_BYTES = 8,
    SEQ_VAL_BYTES = LIMIT_ID_BYTES + 8,           /* id || added_us BE */
    SEQ_PRUNED_BYTES = 8,                         /* added_us BE: the record was pruned */
    VALUE_KEY_BYTES = 1 + 32,                     /* itype || BLAKE2b-256(value) */
    TIME_KEY_BYTES = 8 + LIMIT_ID_BYTES,          /* created_ms BE || id */
    REVOKED_VAL_BYTES = LIMIT_KEY_BYTES + LIMIT_ID_BYTES, /* origin || revocation id */
    EXPIRY_KEY_BYTES = 8 + LIMIT_ID_BYTES,        /* valid_until_ms BE || id */
    EXPIRY_VAL_BYTES = 8 + VALUE_KEY_BYTES,       /* created_ms BE || byvalue key */
    SIGNED_MAX = LIMIT_SIG_BYTES + LIMIT_RECORD_BYTES,
};

struct store {
    MDB_env *env;
    MDB_dbi dbi[DB_N];
    bool read_only;
    /* mdb_env_set_mapsize needs no live transaction in this process: every transaction holds
     * this lock shared, a resize holds it exclusive. */
    pthread_rwlock_t resize_lock;
};

typedef int (*txn_fn)(struct store *s, MDB_txn *txn, void *ctx);

const char *store_strerror(int err)
{
    switch (err) {
    case STORE_OK: return "success";
    STORE_ERRORS(ERRORS_CASE)
    default: return "unknown store error";
    }
}

static int map_err(int rc)
{
    switch (rc) {
    case MDB_SUCCESS: return STORE_OK;
    case MDB_NOTFOUND: return STORE_E_NOTFOUND;
    case MDB_MAP_FULL: return STORE_E_MAPFULL;
    case MDB_INVALID:
    case MDB_VERSION_MISMATCH:
    case MDB_CORRUPTED:
    case MDB_PAGE_NOTFOUND:
    case MDB_INCOMPATIBLE:
    case MDB_BAD_VALSIZE: return STORE_E_CORRUPT;
    default: return STORE_E_IO;
    }
}

static void put_be64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

static uint64_t get_be64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

/* --- transactions, with map resizing --- */

static int set_mapsize_locked(struct store *s, size_t size)
{
    pthread_rwlock_wrlock(&s->resize_lock);
    int rc = mdb_env_set_mapsize(s->env, size);
    pthread_rwlock_unlock(&s->resize_lock);
    return map_err(rc);
}

/* Begins a transaction and returns holding the resize lock shared. Another process that grew the
 * map makes LMDB answer MDB_MAP_RESIZED: adopt its size (0 = read it from the file), retry. */
static int txn_begin(struct store *s, unsigned flags, MDB_txn **txn)
{
    for (unsigned i = 0; i < LIMIT_STORE_RESIZE_RETRIES; i++) {
        pthread_rwlock_rdlock(&s->resize_lock);
        int rc = mdb_txn_begin(s->env, NULL, flags, txn);
        if (rc == MDB_SUCCESS)
            return STORE_OK;
        pthread_rwlock_unlock(&s->resize_lock);
        if (rc != MDB_MAP_RESIZED)
            return map_err(rc);
        int err = set_mapsize_locked(s, 0);
        if (err != STORE_OK)
            return err;
    }
    return STORE_E_IO;
}

static int run_read(struct store *s, txn_fn fn, void *ctx)
{
    assert(s != NULL && fn != NULL);
    MDB_txn *txn = NULL;
    int err = txn_begin(s, MDB_RDONLY, &txn);
    if (err != STORE_OK)
        return err;
    err = fn(s, txn, ctx);
    mdb_txn_abort(txn);
    pthread_rwlock_unlock(&s->resize_lock);
    return err;
}

static int grow_map(struct store *s)
{
    MDB_envinfo info;
    int rc = mdb_env_info(s->env, &info);
    if (rc != MDB_SUCCESS)
        return map_err(rc);
    const size_t max = (size_t)LIMIT_STORE_MAPSIZE_MAX_MB << 20;
    if (info.me_mapsize >= max)
        return STORE_E_MAPFULL;
    size_t next = info.me_mapsize > max / 2 ? max : info.me_mapsize * 2;
    return set_mapsize_locked(s, next);
}

/* Runs fn in one write transaction and commits it; fn returning an error aborts everything fn
 * did. On a full map the whole transaction is retried on a doubled map: fn must be repeatable. */
static int run_write(struct store *s, txn_fn fn, void *ctx)
{
    assert(s != NULL && fn != NULL);
    if (s->read_only)
        return STORE_E_READONLY;
    /* Each round doubles the map, so the rounds are bounded by the bits of a size_t. */
    for (size_t round = 0; round < CHAR_BIT * sizeof(size_t); round++) {
        MDB_txn *txn = NULL;
        int err = txn_begin(s, 0, &txn);
        if (err != STORE_OK)
            return err;
        err = fn(s, txn, ctx);
        if (err == STORE_OK)
            err = map_err(mdb_txn_commit(txn));
        else
            mdb_txn_abort(txn);
        pthread_rwlock_unlock(&s->resize_lock);
        if (err != STORE_E_MAPFULL)
            return err;
        err = grow_map(s);
        if (err != STORE_OK)
            return err;
    }
    return STORE_E_MAPFULL;
}

/* --- open and close --- */

struct open_ctx {
    bool may_create;
    char *why;
    size_t why_len;
    const char *path;
};

static int open_fail(struct open_ctx *oc, int err, const char *what)
{
    if (oc->why != NULL && oc->why_len > 0)
        snprintf(oc->why, oc->why_len, "%s: %s", oc->path, what);
    return err;
}

static int create_schema(struct store *s, MDB_txn *txn, struct open_ctx *oc)
{
    for (int i = 0; i < DB_N; i++) {
        int rc = mdb_dbi_open(txn, db_specs[i].name, db_specs[i].flags | MDB_CREATE, &s->dbi[i]);
        if (rc != MDB_SUCCESS)
            return open_fail(oc, map_err(rc), mdb_strerror(rc));
    }
    uint8_t schema[4] = {0, 0, 0, STORE_SCHEMA_VERSION};
    uint8_t next_seq[SEQ_BYTES];
    put_be64(next_seq, 1);
    MDB_val k1 = {sizeof META_SCHEMA - 1, META_SCHEMA}, v1 = {sizeof schema, schema};
    MDB_val k2 = {sizeof META_NEXT_SEQ - 1, META_NEXT_SEQ}, v2 = {sizeof next_seq, next_seq};
    int rc = mdb_put(txn, s->dbi[DB_META], &k1, &v1, 0);
    if (rc == MDB_SUCCESS)
        rc = mdb_put(txn, s->dbi[DB_META], &k2, &v2, 0);
    return rc == MDB_SUCCESS ? STORE_OK : open_fail(oc, map_err(rc), mdb_strerror(rc));
}

/* Opens every named database and checks the schema. A fresh environment (empty main database)
 * gets the schema when may_create; anything else unexpected is STORE_E_CORRUPT, and the caller
 * aborts the transaction so that a store we refuse is never modified. */
static int open_dbs(struct store *s, MDB_txn *txn, void *ctx)
{
    struct open_ctx *oc = ctx;
    MDB_dbi main_dbi;
    MDB_stat st;
    int rc = mdb_dbi_open(txn, NULL, 0, &main_dbi);
    if (rc == MDB_SUCCESS)
        rc = mdb_stat(txn, main_dbi, &st);
    if (rc != MDB_SUCCESS)
        return open_fail(oc, map_err(rc), mdb_strerror(rc));
    if (st.ms_entries == 0) {
        if (!oc->may_create)
            return open_fail(oc, STORE_E_NOSTORE, "store not initialised yet");
        return create_schema(s, txn, oc);
    }
    for (int i = 0; i < DB_N; i++) {
        rc = mdb_dbi_open(txn, db_specs[i].name, db_specs[i].flags, &s->dbi[i]);
        if (rc == MDB_NOTFOUND || rc == MDB_INCOMPATIBLE)
            return open_fail(oc, STORE_E_CORRUPT, "LMDB file but not a tlpmesh store");
        if (rc != MDB_SUCCESS)
            return open_fail(oc, map_err(rc), mdb_strerror(rc));
    }
    MDB_val k = {sizeof META_SCHEMA - 1, META_SCHEMA}, v;
    rc = mdb_get(txn, s->dbi[DB_META], &k, &v);
    if (rc != MDB_SUCCESS || v.mv_size != 4)
        return open_fail(oc, STORE_E_CORRUPT, "no tlpmesh schema version in meta");
    const uint8_t *p = v.mv_data;
    uint32_t version = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
    if (version != STORE_SCHEMA_VERSION) {
        char what[96];
        snprintf(what, sizeof what, "store schema version %u, this build reads version %d",
                 version, STORE_SCHEMA_VERSION);
        return open_fail(oc, STORE_E_CORRUPT, what);
    }
    return STORE_OK;
}

/* A read-only open commits its read transaction: that is what keeps the database handles. */
static int open_dbs_read_only(struct store *s, struct open_ctx *oc)
{
    MDB_txn *txn = NULL;
    int err = txn_begin(s, MDB_RDONLY, &txn);
    if (err != STORE_OK)
        return open_fail(oc, err, store_strerror(err));
    err = open_dbs(s, txn, oc);
    if (err == STORE_OK)
        err = map_err(mdb_txn_commit(txn));
    else
        mdb_txn_abort(txn);
    pthread_rwlock_unlock(&s->resize_lock);
    return err;
}

/* Prepares the path and decides the map size set before mdb_env_open: only a new file takes
 * the caller's size there; an existing one keeps its own (see store_open). */
static int prepare_dir(const char *dir, const char *path, bool read_only, bool *is_new,
                       struct open_ctx *oc)
{
    struct stat st;
    if (!read_only && mkdir(dir, 0700) != 0 && errno != EEXIST)
        return open_fail(oc, STORE_E_IO, strerror(errno));
    if (stat(path, &st) != 0) {
        if (errno != ENOENT)
            return open_fail(oc, STORE_E_IO, strerror(errno));
        if (read_only)
            return open_fail(oc, STORE_E_NOSTORE, "no such store");
        *is_new = true;
        return STORE_OK;
    }
    if (!S_ISREG(st.st_mode))
        return open_fail(oc, STORE_E_CORRUPT, "not a regular file");
    *is_new = st.st_size == 0;
    return STORE_OK;
}

static int open_env(struct store *s, const char *path, size_t map_size, bool is_new,
                    struct open_ctx *oc)
{
    int rc = mdb_env_create(&s->env);
    if (rc == MDB_SUCCESS)
        rc = mdb_env_set_maxdbs(s->env, LIMIT_STORE_DBS);
    if (rc == MDB_SUCCESS && is_new)
        rc = mdb_env_set_mapsize(s->env, map_size);
    if (rc != MDB_SUCCESS)
        return open_fail(oc, map_err(rc), mdb_strerror(rc));
    unsigned flags = MDB_NOSUBDIR | MDB_NOTLS | (s->read_only ? MDB_RDONLY : 0);
    rc = mdb_env_open(s->env, path, flags, 0600);
    if (rc == ENOENT && s->read_only)
        return open_fail(oc, STORE_E_NOSTORE, "no such store");
    if (rc != MDB_SUCCESS) {
        char what[160];
        snprintf(what, sizeof what, "cannot open LMDB store: %s", mdb_strerror(rc));
        return open_fail(oc, map_err(rc), what);
    }
    MDB_envinfo info;
    rc = mdb_env_info(s->env, &info);
    /* An existing store never shrinks below its own size, but grows to the caller's. */
    if (rc == MDB_SUCCESS && !s->read_only && info.me_mapsize < map_size)
        rc = mdb_env_set_mapsize(s->env, map_size);
    return rc == MDB_SUCCESS ? STORE_OK : open_fail(oc, map_err(rc), mdb_strerror(rc));
}

int store_open(struct store **out, const char *dir, const struct store_opts *opts, char *why,
               size_t why_len)
{
    assert(out != NULL);
    static const struct store_opts defaults = {0};
    if (opts == NULL)
        opts = &defaults;
    char path[LIMIT_PATH_BYTES];
    struct open_ctx oc = {!opts->read_only, why, why_len, dir != NULL ? dir : "(null)"};
    *out = NULL;
    if (why != NULL && why_len > 0)
        why[0] = '\0';
    if (dir == NULL || dir[0] == '\0')
        return open_fail(&oc, STORE_E_INVAL, "no data directory given");
    int n = snprintf(path, sizeof path, "%s/%s", dir, STORE_FILE_NAME);
    if (n < 0 || (size_t)n >= sizeof path)
        return open_fail(&oc, STORE_E_INVAL, "path longer than LIMIT_PATH_BYTES");
    oc.path = path;
    size_t map_size = opts->map_size_bytes != 0 ? opts->map_size_bytes
                                                : (size_t)LIMIT_STORE_MAPSIZE_INITIAL_MB << 20;
    if (map_size > (size_t)LIMIT_STORE_MAPSIZE_MAX_MB << 20)
        return open_fail(&oc, STORE_E_INVAL, "map size over LIMIT_STORE_MAPSIZE_MAX_MB");

    bool is_new = false;
    int err = prepare_dir(dir, path, opts->read_only, &is_new, &oc);
    if (err != STORE_OK)
        return err;
    struct store *s = calloc(1, sizeof *s);
    if (s == NULL)
        return open_fail(&oc, STORE_E_IO, "out of memory");
    s->read_only = opts->read_only;
    if (pthread_rwlock_init(&s->resize_lock, NULL) != 0) {
        free(s);
        return open_fail(&oc, STORE_E_IO, "cannot create lock");
    }
    err = open_env(s, path, map_size, is_new, &oc);
    if (err == STORE_OK)
        err = s->read_only ? open_dbs_read_only(s, &oc) : run_write(s, open_dbs, &oc);
    if (err != STORE_OK) {
        store_close(s);
        return err;
    }
    *out = s;
    return STORE_OK;
}

void store_close(struct store *s)
{
    if (s == NULL)
        return;
    if (s->env != NULL)
        mdb_env_close(s->env);
    pthread_rwlock_destroy(&s->resize_lock);
    free(s);
}

/* --- record indexes --- */

static void value_key(uint8_t key[VALUE_KEY_BYTES], int itype, const char *value, size_t len)
{
    assert(itype > 0 && itype < PROTO_ITYPE_END && len <= LIMIT_VALUE_BYTES);
    key[0] = (uint8_t)itype;
    crypto_generichash(key + 1, VALUE_KEY_BYTES - 1, (const unsigned char *)value, len, NULL, 0);
}

/* The revocation of target by origin, the only one that counts (docs/PROTOCOL.md "Records", docs/SHARING.md "Revocations"). */
static int find_revocation(struct store *s, MDB_txn *txn, const uint8_t target[LIMIT_ID_BYTES],
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

/* byvalue, and expiry with what pruning needs to find every index entry again. */
static int put_indicator_index(struct store *s, MDB_txn *txn, const struct store_put *it,
                               const struct proto_record *r)
{
    uint8_t exp_key[EXPIRY_KEY_BYTES], exp_val[EXPIRY_VAL_BYTES];
    uint8_t *vkey = exp_val + 8;
    value_key(vkey, r->u.ind.type, r->u.ind.value, strlen(r->u.ind.value));
    MDB_val k = {VALUE_KEY_BYTES, vkey}, v = {LIMIT_ID_BYTES, (void *)it->id};
    int rc = mdb_put(txn, s->dbi[DB_BYVALUE], &k, &v, 0);
    if (rc != MDB_SUCCESS)
        return map_err(rc);
    put_be64(exp_key, r->u.ind.valid_until_ms);
    memcpy(exp_key + 8, it->id, LIMIT_ID_BYTES);
    put_be64(exp_val, r->created_ms);
    MDB_val ek = {sizeof exp_key, exp_key}, ev = {sizeof exp_val, exp_val};
    return map_err(mdb_put(txn, s->dbi[DB_EXPIRY], &ek, &ev, 0));
}

static int put_kind_index(struct store *s, MDB_txn *txn, const struct store_put *it,
                          const struct proto_record *r)
{
    if (r->kind == PROTO_KIND_INDICATOR)
        return put_indicator_index(s, txn, it, r);
    if (r->kind == PROTO_KIND_REVOCATION) {
        uint8_t val[REVOKED_VAL_BYTES];
        memcpy(val, r->origin, LIMIT_KEY_BYTES);
        memcpy(val + LIMIT_KEY_BYTES, it->id, LIMIT_ID_BYTES);
        MDB_val k = {LIMIT_ID_BYTES, (void *)r->u.rev.target}, v = {sizeof val, val};
        return map_err(mdb_put(txn, s->dbi[DB_REVOKED], &k, &v, 0));
    }
    if (r->kind == PROTO_KIND_SIGHTING) {
        MDB_val k = {LIMIT_ID_BYTES, (void *)r->u.sight.target};
        MDB_val v = {LIMIT_ID_BYTES, (void *)it->id};
        return map_err(mdb_put(txn, s->dbi[DB_SIGHTED], &k, &v, 0));
    }
    assert(r->kind == PROTO_KIND_ROSTER);
    MDB_val k = {LIMIT_KEY_BYTES, (void *)r->origin}, v = {LIMIT_ID_BYTES, (void *)it->id};
    return map_err(mdb_put(txn, s->dbi[DB_ROSTERS], &k, &v, 0));
}

/* Arrival time of the record under seq, from its seq entry (0 for a pre-added_us entry). */
static int seq_added(struct store *s, MDB_txn *txn, uint64_t seq, uint64_t *added_us)
{
    uint8_t key[SEQ_BYTES];
    put_be64(key, seq);
    MDB_val k = {sizeof key, key}, v;
    int rc = mdb_get(txn, s->dbi[DB_SEQ], &k, &v);
    if (rc != MDB_SUCCESS)
        return rc == MDB_NOTFOUND ? STORE_E_CORRUPT : map_err(rc); /* seqs have no gaps */
    const uint8_t *p = v.mv_data;
    if (v.mv_size == SEQ_VAL_BYTES)
        *added_us = get_be64(p + LIMIT_ID_BYTES);
    else if (v.mv_size == SEQ_PRUNED_BYTES)
        *added_us = get_be64(p);
    else if (v.mv_size == LIMIT_ID_BYTES)
        *added_us = 0;
    else
        return STORE_E_CORRUPT;
    return STORE_OK;
}

/* Adds one new record under seq to records, seq, bytime and its kind's index. */
static int put_new(struct store *s, MDB_txn *txn, const struct store_put *it,
                   const struct proto_record *r, uint64_t seq, uint64_t added_us)
{
    assert(seq >= 1 && it->len > LIMIT_SIG_BYTES && it->len <= SIGNED_MAX);
    MDB_val k = {LIMIT_ID_BYTES, (void *)it->id}, v = {SEQ_BYTES + it->len, NULL};
    int rc = mdb_put(txn, s->dbi[DB_RECORDS], &k, &v, MDB_NOOVERWRITE | MDB_RESERVE);
    if (rc != MDB_SUCCESS)
        return map_err(rc);
    put_be64(v.mv_data, seq);
    memcpy((uint8_t *)v.mv_data + SEQ_BYTES, it->signed_rec, it->len);

    uint8_t seq_key[SEQ_BYTES];
    put_be64(seq_key, seq);
    uint8_t seq_val[SEQ_VAL_BYTES];
    memcpy(seq_val, it->id, LIMIT_ID_BYTES);
    put_be64(seq_val + LIMIT_ID_BYTES, added_us);
    MDB_val sk = {sizeof seq_key, seq_key}, sv = {sizeof seq_val, seq_val};
    rc = mdb_put(txn, s->dbi[DB_SEQ], &sk, &sv, MDB_NOOVERWRITE);
    if (rc != MDB_SUCCESS)
        return rc == MDB_KEYEXIST ? STORE_E_CORRUPT : map_err(rc);

    uint8_t time_key[TIME_KEY_BYTES];
    put_be64(time_key, r->created_ms);
    memcpy(time_key + 8, it->id, LIMIT_ID_BYTES);
    MDB_val tk = {sizeof time_key, time_key}, tv = {0, NULL};
    rc = mdb_put(txn, s->dbi[DB_BYTIME], &tk, &tv, 0);
    if (rc != MDB_SUCCESS)
        return map_err(rc);
    return put_kind_index(s, txn, it, r);
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
    int rc = mdb_get(txn, s->dbi[DB_RECORDS], &k, &v);
    if (rc == MDB_SUCCESS) {
        if (v.mv_size <= SEQ_BYTES)
            return STORE_E_CORRUPT;
        it->result = STORE_PUT_DUPLICATE;
        it->seq = get_be64(v.mv_data);
        return STORE_OK;
    }
    if (rc != MDB_NOTFOUND)
        return map_err(rc);
    err = find_revocation(s, txn, it->id, r->origin, NULL);
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

static int meta_get_seq(struct store *s, MDB_txn *txn, uint64_t *next_seq)
{
    MDB_val k = {sizeof META_NEXT_SEQ - 1, META_NEXT_SEQ}, v;
    int rc = mdb_get(txn, s->dbi[DB_META], &k, &v);
    if (rc != MDB_SUCCESS || v.mv_size != SEQ_BYTES)
        return rc == MDB_SUCCESS || rc == MDB_NOTFOUND ? STORE_E_CORRUPT : map_err(rc);
    *next_seq = get_be64(v.mv_data);
    return *next_seq >= 1 ? STORE_OK : STORE_E_CORRUPT;
}

struct batch {
    struct store_put *items;
    size_t n;
    struct proto_record *scratch; /* decode target of items with rec == NULL, else NULL */
};

static int put_batch_txn(struct store *s, MDB_txn *txn, void *ctx)
{
    struct batch *b = ctx;
    assert(b->items != NULL && b->n <= LIMIT_STORE_BATCH);
    uint64_t next_seq = 0, last_added = 0;
    int err = meta_get_seq(s, txn, &next_seq);
    if (err == STORE_OK && next_seq > 1)
        err = seq_added(s, txn, next_seq - 1, &last_added);
    for (size_t i = 0; err == STORE_OK && i < b->n; i++)
        err = put_one(s, txn, &b->items[i], b->scratch, &next_seq, &last_added);
    if (err != STORE_OK)
        return err;
    uint8_t buf[SEQ_BYTES];
    put_be64(buf, next_seq);
    MDB_val k = {sizeof META_NEXT_SEQ - 1, META_NEXT_SEQ}, v = {sizeof buf, buf};
    return map_err(mdb_put(txn, s->dbi[DB_META], &k, &v, 0));
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
    int err = run_write(s, put_batch_txn, &b);
    free(b.scratch);
    return err;
}

/* --- pruning expired indicators --- */

struct prune {
    uint64_t cutoff_ms; /* entries with valid_until_ms < cutoff_ms go */
    size_t max;
    size_t *pruned;
};

static int del_exact(struct store *s, MDB_txn *txn, enum db_index db, const void *key,
                     size_t key_len, const void *val, size_t val_len)
{
    MDB_val k = {key_len, (void *)key}, v = {val_len, (void *)val};
    int rc = mdb_del(txn, s->dbi[db], &k, val_len ? &v : NULL);
    /* every index entry was written with its record: a missing one is damage */
    return rc == MDB_NOTFOUND ? STORE_E_CORRUPT : map_err(rc);
}

/* Drops the record named by one expiry entry (copied out: deletes move LMDB's pages) from
 * records, bytime and byvalue, and reduces its seq entry to the arrival time. */
static int prune_one(struct store *s, MDB_txn *txn, const uint8_t exp_key[EXPIRY_KEY_BYTES],
                     const uint8_t exp_val[EXPIRY_VAL_BYTES])
{
    const uint8_t *id = exp_key + 8;
    MDB_val k = {LIMIT_ID_BYTES, (void *)id}, v;
    int rc = mdb_get(txn, s->dbi[DB_RECORDS], &k, &v);
    if (rc != MDB_SUCCESS || v.mv_size <= SEQ_BYTES + LIMIT_SIG_BYTES)
        return rc == MDB_SUCCESS || rc == MDB_NOTFOUND ? STORE_E_CORRUPT : map_err(rc);
    uint8_t seq_key[SEQ_BYTES];
    memcpy(seq_key, v.mv_data, SEQ_BYTES);
    uint64_t added_us = 0;
    int err = seq_added(s, txn, get_be64(seq_key), &added_us);
    if (err == STORE_OK)
        err = del_exact(s, txn, DB_RECORDS, id, LIMIT_ID_BYTES, NULL, 0);
    uint8_t time_key[TIME_KEY_BYTES];
    memcpy(time_key, exp_val, 8);
    memcpy(time_key + 8, id, LIMIT_ID_BYTES);
    if (err == STORE_OK)
        err = del_exact(s, txn, DB_BYTIME, time_key, sizeof time_key, NULL, 0);
    if (err == STORE_OK)
        err = del_exact(s, txn, DB_BYVALUE, exp_val + 8, VALUE_KEY_BYTES, id, LIMIT_ID_BYTES);
    if (err == STORE_OK)
        err = del_exact(s, txn, DB_EXPIRY, exp_key, EXPIRY_KEY_BYTES, NULL, 0);
    if (err != STORE_OK)
        return err;
    uint8_t pruned[SEQ_PRUNED_BYTES];
    put_be64(pruned, added_us);
    MDB_val sk = {sizeof seq_key, seq_key}, sv = {sizeof pruned, pruned};
    return map_err(mdb_put(txn, s->dbi[DB_SEQ], &sk, &sv, 0));
}

/* The expiry index is in valid_until order: take its first entry while it is due, at most max
 * times (each round removes that entry, so the walk is bounded by max). */
static int prune_txn(struct store *s, MDB_txn *txn, void *ctx)
{
    struct prune *p = ctx;
    assert(p->max >= 1 && p->max <= LIMIT_PRUNE_BATCH);
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
        err = prune_one(s, txn, exp_key, exp_val);
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
    struct prune p = {now_ms - grace_ms + 1, max, pruned};
    int err = run_write(s, prune_txn, &p);
    if (err != STORE_OK)
        *pruned = 0;
    return err;
}

/* --- reading --- */

/* Hands the stored record id to cb; an index entry without its record is corruption. */
static int emit(struct store *s, MDB_txn *txn, const uint8_t *id, store_record_cb cb, void *ctx)
{
    MDB_val k = {LIMIT_ID_BYTES, (void *)id}, v;
    int rc = mdb_get(txn, s->dbi[DB_RECORDS], &k, &v);
    if (rc == MDB_NOTFOUND || (rc == MDB_SUCCESS && v.mv_size <= SEQ_BYTES + LIMIT_SIG_BYTES))
        return STORE_E_CORRUPT;
    if (rc != MDB_SUCCESS)
        return map_err(rc);
    const uint8_t *p = v.mv_data;
    return cb(id, p + SEQ_BYTES, v.mv_size - SEQ_BYTES, get_be64(p), ctx);
}

struct copy_out {
    const void *key;
    size_t key_len;
    size_t skip; /* leading bytes of the stored value not handed out (the seq of a record) */
    uint8_t *buf;
    size_t cap;
    size_t *len;
    uint64_t *seq;
    enum db_index db;
};

static int copy_txn(struct store *s, MDB_txn *txn, void *ctx)
{
    struct copy_out *co = ctx;
    assert(co->len != NULL && (co->buf != NULL || co->cap == 0));
    MDB_val k = {co->key_len, (void *)co->key}, v;
    int rc = mdb_get(txn, s->dbi[co->db], &k, &v);
    if (rc != MDB_SUCCESS)
        return map_err(rc);
    if (v.mv_size < co->skip)
        return STORE_E_CORRUPT;
    size_t len = v.mv_size - co->skip;
    *co->len = len;
    if (co->seq != NULL)
        *co->seq = get_be64(v.mv_data);
    if (len > co->cap)
        return STORE_E_NOSPACE;
    memcpy(co->buf, (const uint8_t *)v.mv_data + co->skip, len);
    return STORE_OK;
}

static int has_txn(struct store *s, MDB_txn *txn, void *ctx)
{
    MDB_val k = {LIMIT_ID_BYTES, ctx}, v;
    int rc = mdb_get(txn, s->dbi[DB_RECORDS], &k, &v);
    return rc == MDB_SUCCESS ? 1 : rc == MDB_NOTFOUND ? 0 : map_err(rc);
}

int store_has(struct store *s, const uint8_t id[LIMIT_ID_BYTES])
{
    assert(s != NULL && id != NULL);
    return run_read(s, has_txn, (void *)id);
}

int store_get(struct store *s, const uint8_t id[LIMIT_ID_BYTES], uint8_t *buf, size_t cap,
              size_t *len, uint64_t *seq)
{
    assert(s != NULL && id != NULL && len != NULL && (buf != NULL || cap == 0));
    struct copy_out co = {id, LIMIT_ID_BYTES, SEQ_BYTES, buf, cap, len, seq, DB_RECORDS};
    return run_read(s, copy_txn, &co);
}

enum scan_kind {
    SCAN_VALUE, SCAN_SEQ, SCAN_TIME, SCAN_SIGHTED, SCAN_ROSTER_OWNER, SCAN_ROSTERS, SCAN_PREFIX
};

struct scan {
    enum scan_kind kind;
    uint8_t start[TIME_KEY_BYTES]; /* first key: value key, seq key or time key */
    size_t start_len;
    uint64_t to_ms; /* SCAN_TIME: exclusive end */
    size_t prefix_len; /* SCAN_PREFIX: ids must start with start[0..prefix_len) */
    store_record_cb cb;
    void *ctx;
};

/* The record id an index entry names, or NULL when the entry is past the scan's end. */
static const uint8_t *scan_id(const struct scan *sc, const MDB_val *k, const MDB_val *v)
{
    switch (sc->kind) {
    case SCAN_SEQ:
        return v->mv_size == LIMIT_ID_BYTES || v->mv_size == SEQ_VAL_BYTES ? v->mv_data : NULL;
    case SCAN_VALUE:
    case SCAN_SIGHTED:
    case SCAN_ROSTER_OWNER:
    case SCAN_ROSTERS: return v->mv_size == LIMIT_ID_BYTES ? v->mv_data : NULL;
    case SCAN_TIME:
        if (k->mv_size != TIME_KEY_BYTES || get_be64(k->mv_data) >= sc->to_ms)
            return NULL;
        return (const uint8_t *)k->mv_data + 8;
    case SCAN_PREFIX:
        if (k->mv_size != LIMIT_ID_BYTES || memcmp(k->mv_data, sc->start, sc->prefix_len) != 0)
            return NULL;
        return k->mv_data;
    }
    return NULL;
}

/* One cursor walk from sc->start; every step visits a distinct entry, so the walk is bounded by
 * the size of the snapshot. */
static int scan_txn(struct store *s, MDB_txn *txn, void *ctx)
{
    struct scan *sc = ctx;
    assert(sc->cb != NULL && sc->start_len <= sizeof sc->start);
    static const enum db_index dbs[] = {
        [SCAN_VALUE] = DB_BYVALUE,   [SCAN_SEQ] = DB_SEQ,
        [SCAN_TIME] = DB_BYTIME,     [SCAN_SIGHTED] = DB_SIGHTED,
        [SCAN_ROSTER_OWNER] = DB_ROSTERS, [SCAN_ROSTERS] = DB_ROSTERS,
        [SCAN_PREFIX] = DB_RECORDS,
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
    for (rc = mdb_cursor_get(c, &k, &v, first); rc == MDB_SUCCESS && err == STORE_OK;
         rc = mdb_cursor_get(c, &k, &v, next)) {
        if (sc->kind == SCAN_SEQ && v.mv_size == SEQ_PRUNED_BYTES)
            continue;
        const uint8_t *id = scan_id(sc, &k, &v);
        if (id == NULL)
            break;
        err = emit(s, txn, id, sc->cb, sc->ctx);
    }
    mdb_cursor_close(c);
    if (err != STORE_OK)
        return err;
    return rc == MDB_SUCCESS || rc == MDB_NOTFOUND ? STORE_OK : map_err(rc);
}

int store_find_value(struct store *s, int itype, const char *value, store_record_cb cb,
                     void *ctx)
{
    assert(s != NULL && cb != NULL);
    if (value == NULL || itype <= 0 || itype >= PROTO_ITYPE_END)
        return STORE_E_INVAL;
    size_t len = strnlen(value, LIMIT_VALUE_BYTES + 1);
    if (len > LIMIT_VALUE_BYTES)
        return STORE_E_INVAL;
    struct scan sc = {.kind = SCAN_VALUE, .start_len = VALUE_KEY_BYTES, .cb = cb, .ctx = ctx};
    value_key(sc.start, itype, value, len);
    return run_read(s, scan_txn, &sc);
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
    return run_read(s, scan_txn, &sc);
}

int store_iter_seq(struct store *s, uint64_t since_seq, store_record_cb cb, void *ctx)
{
    assert(s != NULL && cb != NULL);
    if (since_seq == UINT64_MAX)
        return STORE_OK;
    struct scan sc = {.kind = SCAN_SEQ, .start_len = SEQ_BYTES, .cb = cb, .ctx = ctx};
    put_be64(sc.start, since_seq + 1);
    return run_read(s, scan_txn, &sc);
}

struct added_walk {
    uint64_t since_seq;
    store_added_cb cb;
    void *ctx;
};

/* Walks the seq index from since_seq + 1; each step visits a distinct entry of the snapshot. */
static int added_txn(struct store *s, MDB_txn *txn, void *ctx)
{
    struct added_walk *aw = ctx;
    assert(aw->cb != NULL && aw->since_seq < UINT64_MAX);
    MDB_cursor *c = NULL;
    int rc = mdb_cursor_open(txn, s->dbi[DB_SEQ], &c);
    if (rc != MDB_SUCCESS)
        return map_err(rc);
    uint8_t start[SEQ_BYTES];
    put_be64(start, aw->since_seq + 1);
    MDB_val k = {sizeof start, start}, v;
    int err = STORE_OK;
    for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == MDB_SUCCESS && err == STORE_OK;
         rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        if (k.mv_size == SEQ_BYTES && v.mv_size == SEQ_PRUNED_BYTES)
            continue;
        if (k.mv_size != SEQ_BYTES ||
            (v.mv_size != LIMIT_ID_BYTES && v.mv_size != SEQ_VAL_BYTES)) {
            err = STORE_E_CORRUPT;
            break;
        }
        const uint8_t *id = v.mv_data;
        const uint64_t added = v.mv_size == SEQ_VAL_BYTES ? get_be64(id + LIMIT_ID_BYTES) : 0;
        MDB_val rk = {LIMIT_ID_BYTES, (void *)id}, rv;
        rc = mdb_get(txn, s->dbi[DB_RECORDS], &rk, &rv);
        if (rc != MDB_SUCCESS || rv.mv_size <= SEQ_BYTES + LIMIT_SIG_BYTES) {
            err = rc == MDB_SUCCESS || rc == MDB_NOTFOUND ? STORE_E_CORRUPT : map_err(rc);
            break;
        }
        const uint8_t *p = rv.mv_data;
        err = aw->cb(id, p + SEQ_BYTES, rv.mv_size - SEQ_BYTES, get_be64(k.mv_data), added,
                     aw->ctx);
    }
    mdb_cursor_close(c);
    if (err != STORE_OK)
        return err;
    return rc == MDB_SUCCESS || rc == MDB_NOTFOUND ? STORE_OK : map_err(rc);
}

int store_iter_added(struct store *s, uint64_t since_seq, store_added_cb cb, void *ctx)
{
    assert(s != NULL && cb != NULL);
    if (since_seq == UINT64_MAX)
        return STORE_OK;
    struct added_walk aw = {since_seq, cb, ctx};
    return run_read(s, added_txn, &aw);
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
    int err = meta_get_seq(s, txn, &next_seq);
    uint64_t lo = 0, hi = next_seq - 1; /* invariant: answer in [lo, hi] */
    for (unsigned i = 0; err == STORE_OK && lo < hi && i < 64; i++) {
        const uint64_t mid = lo + (hi - lo + 1) / 2;
        uint64_t added = 0;
        err = seq_added(s, txn, mid, &added);
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
    return run_read(s, seq_at_txn, &sa);
}

int store_iter_time(struct store *s, uint64_t from_ms, uint64_t to_ms, store_record_cb cb,
                    void *ctx)
{
    assert(s != NULL && cb != NULL);
    if (from_ms >= to_ms)
        return STORE_OK;
    struct scan sc = {.kind = SCAN_TIME, .start_len = TIME_KEY_BYTES, .to_ms = to_ms,
                      .cb = cb, .ctx = ctx};
    put_be64(sc.start, from_ms); /* id part stays zero: the first id at from_ms */
    return run_read(s, scan_txn, &sc);
}

int store_iter_sightings(struct store *s, const uint8_t target[LIMIT_ID_BYTES],
                         store_record_cb cb, void *ctx)
{
    assert(s != NULL && target != NULL && cb != NULL);
    struct scan sc = {.kind = SCAN_SIGHTED, .start_len = LIMIT_ID_BYTES, .cb = cb, .ctx = ctx};
    memcpy(sc.start, target, LIMIT_ID_BYTES);
    return run_read(s, scan_txn, &sc);
}

int store_iter_rosters(struct store *s, const uint8_t *owner, store_record_cb cb, void *ctx)
{
    assert(s != NULL && cb != NULL);
    /* All rosters: from the smallest owner key on. */
    struct scan sc = {.kind = owner != NULL ? SCAN_ROSTER_OWNER : SCAN_ROSTERS,
                      .start_len = LIMIT_KEY_BYTES, .cb = cb, .ctx = ctx};
    if (owner != NULL)
        memcpy(sc.start, owner, LIMIT_KEY_BYTES);
    return run_read(s, scan_txn, &sc);
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
    return find_revocation(s, txn, q->target, q->origin, q->rev_id);
}

int store_revocation_for(struct store *s, const uint8_t target[LIMIT_ID_BYTES],
                         const uint8_t target_origin[LIMIT_KEY_BYTES],
                         uint8_t rev_id[LIMIT_ID_BYTES])
{
    assert(s != NULL && target != NULL && target_origin != NULL && rev_id != NULL);
    struct revq q = {target, target_origin, rev_id};
    return run_read(s, revq_txn, &q);
}

int store_is_revoked(struct store *s, const uint8_t target[LIMIT_ID_BYTES],
                     const uint8_t target_origin[LIMIT_KEY_BYTES])
{
    assert(s != NULL && target != NULL && target_origin != NULL);
    struct revq q = {target, target_origin, NULL};
    int err = run_read(s, revq_txn, &q);
    return err == STORE_OK ? 1 : err == STORE_E_NOTFOUND ? 0 : err;
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
    return run_write(s, kv_put_txn, &p);
}

static int kv_get(struct store *s, enum db_index db, const void *key, size_t key_len,
                  uint8_t *buf, size_t cap, size_t *len)
{
    struct copy_out co = {key, key_len, 0, buf, cap, len, NULL, db};
    return run_read(s, copy_txn, &co);
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
    int rc = mdb_stat(txn, s->dbi[DB_RECORDS], &ms);
    if (rc == MDB_SUCCESS)
        rc = mdb_env_info(s->env, &info);
    if (rc != MDB_SUCCESS)
        return map_err(rc);
    int err = meta_get_seq(s, txn, &next_seq);
    if (err != STORE_OK)
        return err;
    st->records = ms.ms_entries;
    st->last_seq = next_seq - 1;
    st->map_bytes = info.me_mapsize;
    st->used_bytes = ((uint64_t)info.me_last_pgno + 1) * ms.ms_psize;
    return STORE_OK;
}

int store_stats(struct store *s, struct store_stats *st)
{
    assert(s != NULL && st != NULL);
    memset(st, 0, sizeof *st);
    return run_read(s, stats_txn, st);
}
