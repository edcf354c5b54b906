/* store.c - LMDB record store: errors, transactions, open and close. Contract and on-disk format:
 * store.h; the other parts: store_int.h. */
#include "store/store_int.h"

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

const char *store_strerror(int err)
{
    switch (err) {
    case STORE_OK: return "success";
    STORE_ERRORS(ERRORS_CASE)
    default: return "unknown store error";
    }
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

int store_run_read(struct store *s, txn_fn fn, void *ctx)
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
int store_run_write(struct store *s, txn_fn fn, void *ctx)
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
        err = s->read_only ? open_dbs_read_only(s, &oc) : store_run_write(s, open_dbs, &oc);
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
