/* store_int.h - what the parts of the LMDB store share; private to store/store*.c.
 *
 * store.h is the module's contract and describes the on-disk format. The implementation is split
 * by concern:
 *   store.c       strerror, transactions (with map resizing), bulk writes, open and close
 *   store_put.c   put batches and the record indexes they write; pruning expired indicators
 *   store_read.c  lookups and iteration, revocations, the small key/value state, statistics
 *   store_schema.c  the schema version and the migration from the previous one
 *   store_backup.c  compacted copies of a live store (backup, the copy before a migration)
 *   store_check.c   the integrity check: records against their indexes and back
 *   store_succession.c  accepted key successions, origins distrusted by a recovery
 * Every function below runs inside a transaction the caller holds, except store_run_read and
 * store_run_write, which make one.
 */
#ifndef TLPMESH_STORE_STORE_INT_H
#define TLPMESH_STORE_STORE_INT_H

#include <errno.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

enum db_index {
    DB_LOG, DB_IDS, DB_BYVALUE, DB_BYTIME, DB_REVOKED, DB_META, DB_PEERS, DB_SIGHTED,
    DB_ROSTERS, DB_EXPIRY, DB_SUCCESSIONS, DB_DISTRUST, DB_N
};

#define META_SCHEMA "store.schema"
#define META_NEXT_SEQ "store.next_seq"
#define META_RESERVED_PREFIX "store."

enum {
    SEQ_BYTES = 8,
    LOG_HEAD_BYTES = 8 + LIMIT_ID_BYTES,          /* log value: added_us BE || id, then signed */
    LOG_PRUNED_BYTES = 8,                         /* added_us BE: the record was pruned */
    VALUE_KEY_BYTES = 1 + 32,                     /* itype || BLAKE2b-256(value) */
    TIME_KEY_BYTES = 8 + SEQ_BYTES,               /* created_ms BE || seq BE */
    REVOKED_VAL_BYTES = LIMIT_KEY_BYTES + LIMIT_ID_BYTES, /* origin || revocation id */
    EXPIRY_KEY_BYTES = 8 + SEQ_BYTES,             /* valid_until_ms BE || seq BE */
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
    char dir[LIMIT_PATH_BYTES];  /* the data directory, as given to store_open */
    char file[LIMIT_PATH_BYTES]; /* dir/STORE_FILE_NAME */
    /* Wall-clock ms of the first write of the current run of writes that failed for lack of
     * space; 0 when the last write committed (or none failed). Written by every writing thread. */
    _Atomic uint64_t disk_full_since_ms;
    /* The open transaction of a bulk write (store_bulk_begin), NULL between its commits;
     * touched only by the thread that runs the bulk. */
    MDB_txn *bulk_txn;
    /* Entries store_put_ordered appended to each table since the bulk transaction began (the
     * dirty-page estimate); written under LMDB's writer lock, reset when one begins. */
    uint64_t appended[DB_N];
};

typedef int (*txn_fn)(struct store *s, MDB_txn *txn, void *ctx);

static inline int map_err(int rc)
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
    case ENOSPC:
    case EDQUOT:
    case EFBIG: return STORE_E_DISKFULL;
    default: return STORE_E_IO;
    }
}

static inline void put_be64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

static inline uint64_t get_be64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

/* Run fn in one read transaction / one write transaction that commits (store.c). A write is
 * retried on a doubled map when it fills: fn must be repeatable. */
int store_run_read(struct store *s, txn_fn fn, void *ctx);
int store_run_write(struct store *s, txn_fn fn, void *ctx);
/* Adopts the map size another process grew the file to (MDB_MAP_RESIZED); STORE_E_BUSY when
 * this thread holds a transaction of s (store.c). */
int store_adopt_mapsize(struct store *s);

/* Calls fn for every entry of db (every duplicate too) in key order, in txn, until fn returns
 * anything but STORE_OK, which is then returned (store_read.c). fn may write to other databases
 * of txn, not to db. */
typedef int (*store_entry_fn)(struct store *s, MDB_txn *txn, const MDB_val *k, const MDB_val *v,
                              void *ctx);
int store_walk(struct store *s, MDB_txn *txn, enum db_index db, store_entry_fn fn, void *ctx);

/* Where a walk in chunks (store_walk_chunk) stands: the last entry it visited, key and (in a
 * DUPSORT database) value; LMDB keys and DUPSORT values are at most STORE_KEY_MAX bytes. */
enum { STORE_KEY_MAX = 511 };
struct store_walk_pos {
    uint8_t key[STORE_KEY_MAX], val[STORE_KEY_MAX];
    size_t key_len, val_len;
    bool started; /* an entry was visited */
    bool done;    /* the walk reached the end of db */
};

/* Calls fn, as store_walk does, for at most max entries of db after pos (from the first when
 * nothing was visited yet), in txn, and leaves pos at the last one (done at the end of db).
 * Each chunk may run in a transaction of its own: entries added before pos meanwhile are not
 * visited, entries deleted after it are not either, none is visited twice (store_read.c). */
int store_walk_chunk(struct store *s, MDB_txn *txn, enum db_index db, struct store_walk_pos *pos,
                     size_t max, store_entry_fn fn, void *ctx);

/* The byvalue key of an indicator value: itype || BLAKE2b-256(value) (store_put.c). */
void store_value_key(uint8_t key[VALUE_KEY_BYTES], int itype, const char *value, size_t len);
/* A composite indicator (ip-dst|port, ip-src|port, hostname|port) has a second byvalue entry
 * under its part ("192.0.2.1" of "192.0.2.1|443", as ip-dst): (part itype | VALUE_PART_FLAG) ||
 * BLAKE2b-256(part), so a search by the address or host finds it by one exact key, and a longer
 * address ("2001:db8::10") has another hash. The flag keeps these keys apart from exact ones. */
enum { VALUE_PART_FLAG = 0x80 };
/* The type of the part of a composite type (ip-dst for ip-dst|port), or 0 for other types. */
int store_part_itype(int itype);
/* The part key of the stored value of type itype; false when the type has no part. */
bool store_part_key(uint8_t key[VALUE_KEY_BYTES], int itype, const char *value);
/* The key a search for value (of part type itype) looks up composite records under. */
void store_part_lookup_key(uint8_t key[VALUE_KEY_BYTES], int itype, const char *value, size_t len);
/* origin's revocation of target; its id to rev_id unless NULL. STORE_E_NOTFOUND if none. */
int store_find_revocation(struct store *s, MDB_txn *txn, const uint8_t target[LIMIT_ID_BYTES],
                          const uint8_t origin[LIMIT_KEY_BYTES], uint8_t *rev_id);
/* The arrival time recorded with seq (store_put.c). */
int store_seq_added(struct store *s, MDB_txn *txn, uint64_t seq, uint64_t *added_us);

/* A stored record as the log holds it: pointers into txn's pages, valid until its next write. */
struct store_rec {
    uint64_t seq, added_us;
    const uint8_t *id;
    const uint8_t *signed_rec; /* sig || body */
    size_t len;
};
/* The log entry (k, v) as a record: STORE_E_NOTFOUND for a pruned one, STORE_E_CORRUPT for one
 * of neither shape (store_read.c). */
int store_log_rec(const MDB_val *k, const MDB_val *v, struct store_rec *r);
/* The record stored under seq / under id (id -> seq -> log): STORE_E_NOTFOUND when there is
 * none; an ids entry whose log entry is missing or pruned is STORE_E_CORRUPT (store_read.c). */
int store_rec_by_seq(struct store *s, MDB_txn *txn, uint64_t seq, struct store_rec *r);
int store_rec_by_id(struct store *s, MDB_txn *txn, const uint8_t id[LIMIT_ID_BYTES],
                    struct store_rec *r);
/* Puts (k, v) into db with MDB_APPEND when k sorts after every key there (a key that grows with
 * seq: full pages instead of pages split in half), else in place (store_put.c). */
int store_put_ordered(struct store *s, MDB_txn *txn, enum db_index db, MDB_val *k, MDB_val *v);
/* Puts items[0..n) (n <= LIMIT_STORE_BATCH) as store_put_batch does, in txn; scratch decodes
 * the items given no rec (NULL when there is none) (store_put.c). */
int store_put_items(struct store *s, MDB_txn *txn, struct store_put *items, size_t n,
                    struct proto_record *scratch);
/* The next seq to hand out, from the meta table / into it (store_put.c). */
int store_meta_next_seq(struct store *s, MDB_txn *txn, uint64_t *next_seq);
int store_meta_set_next_seq(struct store *s, MDB_txn *txn, uint64_t next_seq);
/* The index entries of record r (id) stored under seq: bytime, and its kind's (byvalue and
 * expiry, revoked, sighted, rosters) (store_put.c). */
int store_put_index(struct store *s, MDB_txn *txn, const uint8_t id[LIMIT_ID_BYTES],
                    const struct proto_record *r, uint64_t seq);

/* origin's distrust time (store_succession.c); STORE_E_NOTFOUND when it is trusted. */
int store_distrusted_since(struct store *s, MDB_txn *txn, const uint8_t origin[LIMIT_KEY_BYTES],
                           uint64_t *since_ms);

/* The schema of the environment txn reads (store_schema.c): *fresh when it holds nothing yet,
 * else its version (meta "store.schema"). STORE_E_CORRUPT for an LMDB file that is not a
 * tlpmesh store. */
int store_schema_read(MDB_txn *txn, bool *fresh, uint32_t *version);
/* Brings the indexes of a store of schema from (STORE_SCHEMA_VERSION - 1) up to this build's, in
 * the caller's write transaction; repeatable (store_run_write may retry it). s->dbi are open,
 * the databases the new schema added created empty. The caller writes the new version. */
int store_schema_migrate(struct store *s, MDB_txn *txn, uint32_t from);

#endif
