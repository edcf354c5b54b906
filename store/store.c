/* store.c - LMDB record store: errors, transactions, open and close. Contract and on-disk format:
 * store.h; the other parts: store_int.h. */
#include "store/store_int.h"

#include <assert.h>
#include <errno.h>
#include <lmdb.h>
#include <pthread.h>
#include <sodium.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

static const struct {
    const char *name;
    unsigned flags;
    uint32_t since; /* the schema version that added it */
} db_specs[DB_N] = {
    [DB_LOG] = {"log", 0, 6},
    [DB_IDS] = {"ids", 0, 6},
    [DB_BYVALUE] = {"byvalue", MDB_DUPSORT | MDB_DUPFIXED, 1},
    [DB_BYTIME] = {"bytime", 0, 1},
    [DB_REVOKED] = {"revoked", MDB_DUPSORT | MDB_DUPFIXED, 1},
    [DB_META] = {"meta", 0, 1},
    [DB_PEERS] = {"peers", 0, 1},
    [DB_SIGHTED] = {"sighted", MDB_DUPSORT | MDB_DUPFIXED, 2},
    [DB_ROSTERS] = {"rosters", MDB_DUPSORT | MDB_DUPFIXED, 2},
    [DB_EXPIRY] = {"expiry", 0, 3},
    [DB_SUCCESSIONS] = {"successions", 0, 4},
    [DB_DISTRUST] = {"distrust", 0, 4},
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

/* The read transactions this thread is running callbacks in, innermost first (a list through
 * store_run_read's stack frames, so its length is the nesting depth). A lookup made from a
 * callback reuses the transaction of its store: one snapshot per operation, and no second
 * transaction that could meet MDB_MAP_RESIZED while this thread still holds the first one. */
struct read_frame {
    const struct store *s;
    MDB_txn *txn;
    const struct read_frame *up;
};
static _Thread_local const struct read_frame *tl_reads;

static MDB_txn *held_read(const struct store *s)
{
    for (const struct read_frame *f = tl_reads; f != NULL; f = f->up)
        if (f->s == s)
            return f->txn;
    return NULL;
}

/* mdb_env_set_mapsize may run only while no transaction of the environment is open in this
 * process (LMDB's documentation; it does not check). Every transaction holds resize_lock
 * shared, a resize holds it exclusive; a thread that holds a transaction itself (a write from a
 * read callback) would wait for ever on its own lock, so it gets an error instead. */
static int set_mapsize_locked(struct store *s, size_t size)
{
    if (held_read(s) != NULL)
        return STORE_E_BUSY;
    pthread_rwlock_wrlock(&s->resize_lock);
    int rc = mdb_env_set_mapsize(s->env, size);
    pthread_rwlock_unlock(&s->resize_lock);
    return map_err(rc);
}

int store_adopt_mapsize(struct store *s)
{
    return set_mapsize_locked(s, 0);
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
        int err = store_adopt_mapsize(s);
        if (err != STORE_OK)
            return err;
    }
    return STORE_E_IO;
}

int store_run_read(struct store *s, txn_fn fn, void *ctx)
{
    assert(s != NULL && fn != NULL);
    MDB_txn *outer = held_read(s);
    if (outer != NULL)
        return fn(s, outer, ctx);
    MDB_txn *txn = NULL;
    int err = txn_begin(s, MDB_RDONLY, &txn);
    if (err != STORE_OK)
        return err;
    const struct read_frame frame = {s, txn, tl_reads};
    tl_reads = &frame;
    err = fn(s, txn, ctx);
    tl_reads = frame.up;
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

/* LMDB reports a short write as EIO ("filesystem full?"), and only a write that starts past the
 * end of the space as ENOSPC or EFBIG: tell a full disk (or a file size limit reached) from other
 * I/O errors by looking at the file system and the limit. */
static bool out_of_space(const struct store *s)
{
    struct statvfs vfs;
    if (statvfs(s->dir, &vfs) == 0 &&
        (uint64_t)vfs.f_bavail * vfs.f_frsize < (uint64_t)LIMIT_STORE_DISK_LOW_BYTES)
        return true;
    struct rlimit rl;
    struct stat st;
    return getrlimit(RLIMIT_FSIZE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
           stat(s->file, &st) == 0 &&
           (uint64_t)st.st_size + LIMIT_STORE_DISK_LOW_BYTES > (uint64_t)rl.rlim_cur;
}

/* Keeps disk_full_since_ms (store_stats): set by the first write that finds no space, cleared
 * by the next one that commits. Other errors say nothing about space and leave it. */
static void note_disk_full(struct store *s, int err)
{
    if (err == STORE_OK) {
        atomic_store(&s->disk_full_since_ms, 0);
    } else if (err == STORE_E_DISKFULL) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        uint64_t none = 0, now = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
        atomic_compare_exchange_strong(&s->disk_full_since_ms, &none, now ? now : 1);
    }
}

/* Runs fn in one write transaction and commits it; fn returning an error aborts everything fn
 * did. On a full map the whole transaction is retried on a doubled map: fn must be repeatable.
 * A commit that fails leaves the store as it was (LMDB writes the meta page last). */
int store_run_write(struct store *s, txn_fn fn, void *ctx)
{
    assert(s != NULL && fn != NULL);
    if (s->read_only)
        return STORE_E_READONLY;
    if (s->bulk_txn != NULL && held_read(s) == s->bulk_txn)
        return STORE_E_BUSY; /* LMDB's writer lock is this thread's already: it would wait */
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
        if (err == STORE_E_IO && out_of_space(s))
            err = STORE_E_DISKFULL;
        note_disk_full(s, err);
        if (err != STORE_E_MAPFULL)
            return err;
        err = grow_map(s);
        if (err != STORE_OK)
            return err;
    }
    return STORE_E_MAPFULL;
}

/* --- bulk writes --- */

/* The tables a put writes to, whose dirty pages a bulk transaction counts. */
static const enum db_index bulk_dbs[] = {DB_LOG, DB_IDS, DB_BYVALUE, DB_BYTIME, DB_EXPIRY,
                                         DB_REVOKED, DB_SIGHTED, DB_ROSTERS};
enum { BULK_DBS = sizeof bulk_dbs / sizeof bulk_dbs[0] };

struct store_bulk {
    struct store *s;
    MDB_txn *txn;             /* NULL between a commit and the next put */
    struct read_frame frame;  /* this thread's reads of s run in txn while it is open */
    MDB_stat at_begin[BULK_DBS]; /* the tables when txn began */
    struct proto_record *scratch; /* decodes items given no rec; allocated on first need */
};

static uint64_t db_pages(const MDB_stat *st)
{
    return st->ms_branch_pages + st->ms_leaf_pages + st->ms_overflow_pages;
}

/* The pages txn has dirtied in a table (LMDB does not say), estimated from its sizes then and
 * now and the entries appended to it meanwhile (store_put_ordered): the pages it grew by, every
 * branch page (few, and on every path), the last leaf when something was appended, and of the
 * leaves it had, those the other new entries landed on: n entries at random among L leaves touch
 * L (1 - e^(-n/L)) of them (random keys: ids and value hashes). The estimate bounds memory, not
 * correctness: past MDB_IDL_UM_MAX LMDB spills dirty pages to the file itself. */
static double dirty_estimate(const MDB_stat *then, const MDB_stat *now, uint64_t appended)
{
    const uint64_t grown = db_pages(now) > db_pages(then) ? db_pages(now) - db_pages(then) : 0;
    const uint64_t added = now->ms_entries > then->ms_entries ? now->ms_entries - then->ms_entries
                                                                : 0;
    const uint64_t scattered = added > appended ? added - appended : 0;
    const double leaves = (double)then->ms_leaf_pages;
    const double touched = leaves > 0 ? leaves * -expm1(-(double)scattered / leaves) : 0;
    return (double)grown + (double)now->ms_branch_pages + (appended > 0) + touched;
}

static int bulk_stats(struct store_bulk *b, MDB_stat *st)
{
    for (size_t i = 0; i < BULK_DBS; i++) {
        int rc = mdb_stat(b->txn, b->s->dbi[bulk_dbs[i]], &st[i]);
        if (rc != MDB_SUCCESS)
            return map_err(rc);
    }
    return STORE_OK;
}

/* A map with room for a whole bulk transaction (twice the budget) past what the file holds: a
 * map that fills mid-way commits early, and every early commit rewrites the random-key pages
 * again and leaves the copies free in the file. The map is address space; the file grows only
 * as pages are written. */
static int bulk_room(struct store *s)
{
    MDB_envinfo info;
    MDB_stat st;
    int rc = mdb_env_info(s->env, &info);
    if (rc == MDB_SUCCESS)
        rc = mdb_env_stat(s->env, &st);
    if (rc != MDB_SUCCESS)
        return map_err(rc);
    const uint64_t max = (uint64_t)LIMIT_STORE_MAPSIZE_MAX_MB << 20;
    uint64_t want = ((uint64_t)info.me_last_pgno + 1 + 2 * (uint64_t)LIMIT_STORE_BULK_DIRTY_PAGES) *
                    st.ms_psize;
    want = want < max ? want : max;
    return want > info.me_mapsize ? set_mapsize_locked(s, (size_t)want) : STORE_OK;
}

static int bulk_open_txn(struct store_bulk *b)
{
    assert(b->txn == NULL && held_read(b->s) == NULL);
    int err = bulk_room(b->s);
    if (err == STORE_OK)
        err = txn_begin(b->s, 0, &b->txn);
    if (err != STORE_OK)
        return err;
    if ((err = bulk_stats(b, b->at_begin)) != STORE_OK) {
        mdb_txn_abort(b->txn);
        b->txn = NULL;
        pthread_rwlock_unlock(&b->s->resize_lock);
        return err;
    }
    memset(b->s->appended, 0, sizeof b->s->appended);
    b->frame = (struct read_frame){b->s, b->txn, tl_reads};
    tl_reads = &b->frame;
    b->s->bulk_txn = b->txn;
    return STORE_OK;
}

/* Rewrites the next seq as it is: the smallest transaction that commits (LMDB commits none
 * without a dirty page). Why a bulk commit is followed by one: LMDB reuses the pages a commit
 * freed only two commits later (the previous version must survive a crash of the next), so
 * back-to-back bulk commits each grew the file by the pages the one before freed, about all the
 * random-key leaves (ids, byvalue) each time; with this one between them the next bulk commit
 * writes into those pages instead (1,000,000-value import: 61,791 free pages at the end, 253
 * bytes a record, against 38,266 with it). */
static int touch_meta(struct store *s, MDB_txn *txn, void *ctx)
{
    (void)ctx;
    uint64_t next_seq = 0;
    int err = store_meta_next_seq(s, txn, &next_seq);
    return err == STORE_OK ? store_meta_set_next_seq(s, txn, next_seq) : err;
}

/* Commits (or aborts) the open transaction; afterwards reads go back to their own. */
static int bulk_close_txn(struct store_bulk *b, bool commit)
{
    assert(b->txn != NULL && tl_reads == &b->frame);
    tl_reads = b->frame.up;
    b->s->bulk_txn = NULL;
    int err = STORE_OK;
    if (commit)
        err = map_err(mdb_txn_commit(b->txn));
    else
        mdb_txn_abort(b->txn);
    b->txn = NULL;
    pthread_rwlock_unlock(&b->s->resize_lock);
    if (err == STORE_E_IO && out_of_space(b->s))
        err = STORE_E_DISKFULL;
    if (commit)
        note_disk_full(b->s, err);
    /* best effort: a failure leaves only more pages free in the file, and the next write meets
     * the same cause (store_run_write has noted a full disk) */
    if (commit && err == STORE_OK)
        (void)store_run_write(b->s, touch_meta, NULL);
    return err;
}

int store_bulk_begin(struct store *s, struct store_bulk **out)
{
    assert(s != NULL && out != NULL && s->bulk_txn == NULL);
    *out = NULL;
    if (s->read_only)
        return STORE_E_READONLY;
    if ((*out = calloc(1, sizeof **out)) == NULL)
        return STORE_E_IO;
    (*out)->s = s;
    return STORE_OK;
}

/* The batch in a child transaction of the bulk's: a batch that fails (a full map among others)
 * is undone alone, and what is pending stays. */
static int bulk_put_child(struct store_bulk *b, struct store_put *items, size_t n)
{
    MDB_txn *child = NULL;
    int err = map_err(mdb_txn_begin(b->s->env, b->txn, 0, &child));
    if (err != STORE_OK)
        return err;
    err = store_put_items(b->s, child, items, n, b->scratch);
    if (err == STORE_OK)
        return map_err(mdb_txn_commit(child));
    mdb_txn_abort(child);
    return err;
}

int store_bulk_put(struct store_bulk *b, struct store_put *items, size_t n, bool *committed)
{
    assert(b != NULL && committed != NULL);
    *committed = false;
    if (n == 0)
        return STORE_OK;
    if (items == NULL || n > LIMIT_STORE_BATCH)
        return STORE_E_INVAL;
    for (size_t i = 0; i < n && b->scratch == NULL; i++)
        if (items[i].rec == NULL && (b->scratch = malloc(sizeof *b->scratch)) == NULL)
            return STORE_E_IO;
    /* Each round after the first doubles the map: bounded by the bits of a size_t. */
    int err = STORE_E_MAPFULL;
    for (size_t round = 0; round < CHAR_BIT * sizeof(size_t) && err == STORE_E_MAPFULL; round++) {
        err = b->txn == NULL ? bulk_open_txn(b) : STORE_OK;
        if (err == STORE_OK)
            err = bulk_put_child(b, items, n);
        if (err != STORE_E_MAPFULL)
            break;
        /* what is pending is durable first: the map grows with no transaction open */
        err = bulk_close_txn(b, true);
        if (err == STORE_OK)
            err = grow_map(b->s);
        if (err == STORE_OK)
            err = STORE_E_MAPFULL;
    }
    if (err != STORE_OK)
        return err;
    MDB_stat now[BULK_DBS];
    if ((err = bulk_stats(b, now)) != STORE_OK)
        return err;
    double dirty = 0;
    for (size_t i = 0; i < BULK_DBS; i++)
        dirty += dirty_estimate(&b->at_begin[i], &now[i], b->s->appended[bulk_dbs[i]]);
    if (dirty < LIMIT_STORE_BULK_DIRTY_PAGES)
        return STORE_OK;
    err = bulk_close_txn(b, true);
    *committed = err == STORE_OK;
    return err;
}

int store_bulk_end(struct store_bulk *b, bool commit)
{
    if (b == NULL)
        return STORE_OK;
    int err = b->txn != NULL ? bulk_close_txn(b, commit) : STORE_OK;
    free(b->scratch);
    free(b);
    return err;
}

const char *store_dir(const struct store *s)
{
    assert(s != NULL);
    return s->dir;
}

/* --- open and close --- */

struct open_ctx {
    bool may_create;
    uint32_t migrate_from; /* the schema version store_open found; 0 = fresh or current */
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

static int put_meta_u32(struct store *s, MDB_txn *txn, const char *key, uint32_t value)
{
    uint8_t buf[4] = {(uint8_t)(value >> 24), (uint8_t)(value >> 16), (uint8_t)(value >> 8),
                      (uint8_t)value};
    MDB_val k = {strlen(key), (void *)key}, v = {sizeof buf, buf};
    return map_err(mdb_put(txn, s->dbi[DB_META], &k, &v, 0));
}

static int create_schema(struct store *s, MDB_txn *txn, struct open_ctx *oc)
{
    for (int i = 0; i < DB_N; i++) {
        int rc = mdb_dbi_open(txn, db_specs[i].name, db_specs[i].flags | MDB_CREATE, &s->dbi[i]);
        if (rc != MDB_SUCCESS)
            return open_fail(oc, map_err(rc), mdb_strerror(rc));
    }
    int err = put_meta_u32(s, txn, META_SCHEMA, STORE_SCHEMA_VERSION);
    if (err == STORE_OK)
        err = store_meta_set_next_seq(s, txn, 1);
    return err == STORE_OK ? STORE_OK : open_fail(oc, err, store_strerror(err));
}

/* Why a store of another schema is not opened, naming both versions. */
static int schema_refused(struct open_ctx *oc, uint32_t version)
{
    char what[200];
    if (version > STORE_SCHEMA_VERSION)
        snprintf(what, sizeof what,
                 "store schema version %u is newer than this build's version %d: run the "
                 "tlpmesh that wrote it, or restore a backup",
                 version, STORE_SCHEMA_VERSION);
    else if (version == STORE_SCHEMA_VERSION - 1)
        snprintf(what, sizeof what,
                 "store schema version %u is older than this build's version %d: open it "
                 "read-write once (tlpmesh run) to migrate it",
                 version, STORE_SCHEMA_VERSION);
    else
        snprintf(what, sizeof what,
                 "store schema version %u cannot be migrated by this build (version %d reads "
                 "version %d)",
                 version, STORE_SCHEMA_VERSION, STORE_SCHEMA_VERSION - 1);
    return open_fail(oc, version == 0 ? STORE_E_CORRUPT : STORE_E_SCHEMA, what);
}

/* Opens every named database and checks the schema. A fresh environment (empty main database)
 * gets the schema when may_create; a store of the previous schema is migrated when store_open
 * asked for it (oc->migrate_from, after its backup); anything else unexpected is an error, and
 * the caller aborts the transaction so that a store we refuse is never modified. */
static int open_dbs(struct store *s, MDB_txn *txn, void *ctx)
{
    struct open_ctx *oc = ctx;
    bool fresh = false;
    uint32_t version = 0;
    int err = store_schema_read(txn, &fresh, &version);
    if (err != STORE_OK)
        return open_fail(oc, err, store_strerror(err));
    if (fresh) {
        if (!oc->may_create)
            return open_fail(oc, STORE_E_NOSTORE, "store not initialised yet");
        return create_schema(s, txn, oc);
    }
    const bool migrate = version != STORE_SCHEMA_VERSION && version == oc->migrate_from &&
                         version == STORE_SCHEMA_VERSION - 1;
    if (version != STORE_SCHEMA_VERSION && !migrate)
        return schema_refused(oc, version);
    for (int i = 0; i < DB_N; i++) {
        /* A database this schema added is created by the migration. */
        const unsigned create = migrate && db_specs[i].since > version ? MDB_CREATE : 0;
        int rc = mdb_dbi_open(txn, db_specs[i].name, db_specs[i].flags | create, &s->dbi[i]);
        if (rc == MDB_NOTFOUND || rc == MDB_INCOMPATIBLE)
            return open_fail(oc, STORE_E_CORRUPT, "LMDB file but not a tlpmesh store");
        if (rc != MDB_SUCCESS)
            return open_fail(oc, map_err(rc), mdb_strerror(rc));
    }
    if (!migrate)
        return STORE_OK;
    err = store_schema_migrate(s, txn, version);
    if (err == STORE_OK)
        err = put_meta_u32(s, txn, META_SCHEMA, STORE_SCHEMA_VERSION);
    return err == STORE_OK ? STORE_OK : open_fail(oc, err, "schema migration failed");
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

/* The schema version of an existing store, read before the write transaction that opens it:
 * a store of the previous version is copied beside itself first (DIR/store.mdb.schemaN.bak),
 * so the migration, one transaction, can be undone by hand. A crash before its commit leaves the
 * old store, which the next open migrates again. */
static int prepare_migration(struct store *s, struct open_ctx *oc)
{
    MDB_txn *txn = NULL;
    int err = txn_begin(s, MDB_RDONLY, &txn);
    if (err != STORE_OK)
        return open_fail(oc, err, store_strerror(err));
    bool fresh = false;
    uint32_t version = 0;
    err = store_schema_read(txn, &fresh, &version);
    mdb_txn_abort(txn);
    pthread_rwlock_unlock(&s->resize_lock);
    if (err != STORE_OK)
        return open_fail(oc, err, store_strerror(err));
    if (fresh || version != STORE_SCHEMA_VERSION - 1)
        return STORE_OK; /* open_dbs creates, accepts or refuses it */
    char bak[LIMIT_PATH_BYTES + 32], why[LIMIT_PATH_BYTES + 128] = "";
    snprintf(bak, sizeof bak, "%s.schema%u.bak", s->file, version);
    err = store_backup(s, bak, why, sizeof why);
    if (err != STORE_OK) {
        char what[sizeof why + 64];
        snprintf(what, sizeof what, "not migrated: the backup before it failed: %s", why);
        return open_fail(oc, err, what);
    }
    oc->migrate_from = version;
    return STORE_OK;
}

/* Checks the data directory (one clear line for a missing or unwritable one) and decides the
 * map size set before mdb_env_open: only a new file takes the caller's size there; an existing
 * one keeps its own (see store_open). */
static int prepare_dir(const char *dir, const char *path, bool read_only, bool *is_new,
                       struct open_ctx *oc)
{
    struct stat st;
    char what[LIMIT_PATH_BYTES + 128];
    if (!read_only && mkdir(dir, 0700) != 0 && errno != EEXIST) {
        snprintf(what, sizeof what, "cannot create DataDir %s: %s%s", dir, strerror(errno),
                 errno == ENOENT ? " (its parent directory does not exist)" : "");
        return open_fail(oc, errno == ENOSPC ? STORE_E_DISKFULL : STORE_E_IO, what);
    }
    if (stat(dir, &st) == 0 && !S_ISDIR(st.st_mode)) {
        snprintf(what, sizeof what, "DataDir %s is not a directory", dir);
        return open_fail(oc, STORE_E_IO, what);
    }
    if (!read_only && access(dir, W_OK | X_OK) != 0) {
        snprintf(what, sizeof what, "DataDir %s is not writable by this user: %s", dir,
                 strerror(errno));
        return open_fail(oc, STORE_E_IO, what);
    }
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
    struct open_ctx oc = {!opts->read_only, 0, why, why_len, dir != NULL ? dir : "(null)"};
    *out = NULL;
    if (why != NULL && why_len > 0)
        why[0] = '\0';
    if (dir == NULL || dir[0] == '\0')
        return open_fail(&oc, STORE_E_INVAL, "no data directory given");
    size_t map_size = opts->map_size_bytes != 0 ? opts->map_size_bytes
                                                : (size_t)LIMIT_STORE_MAPSIZE_INITIAL_MB << 20;
    if (map_size > (size_t)LIMIT_STORE_MAPSIZE_MAX_MB << 20)
        return open_fail(&oc, STORE_E_INVAL, "map size over LIMIT_STORE_MAPSIZE_MAX_MB");
    struct store *s = calloc(1, sizeof *s);
    if (s == NULL)
        return open_fail(&oc, STORE_E_IO, "out of memory");
    int n = snprintf(s->file, sizeof s->file, "%s/%s", dir, STORE_FILE_NAME);
    if (n < 0 || (size_t)n >= sizeof s->file) {
        free(s);
        return open_fail(&oc, STORE_E_INVAL, "path longer than LIMIT_PATH_BYTES");
    }
    snprintf(s->dir, sizeof s->dir, "%s", dir);
    oc.path = s->file;
    s->read_only = opts->read_only;
    bool is_new = false;
    int err = prepare_dir(dir, s->file, opts->read_only, &is_new, &oc);
    if (err != STORE_OK) {
        free(s);
        return err;
    }
    if (pthread_rwlock_init(&s->resize_lock, NULL) != 0) {
        free(s);
        return open_fail(&oc, STORE_E_IO, "cannot create lock");
    }
    err = open_env(s, s->file, map_size, is_new, &oc);
    if (err == STORE_OK && !s->read_only)
        err = prepare_migration(s, &oc);
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
