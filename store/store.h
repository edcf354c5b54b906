/* store.h - the record store: LMDB, durable group commit, indexes (docs/ARCHITECTURE.md).
 *
 * On disk: one LMDB environment per data directory, in the single file DIR/store.mdb (LMDB's
 * MDB_NOSUBDIR mode) with its lock file DIR/store.mdb-lock. Named databases:
 *   log      seq(8, BE)                      -> added_us(8, BE) || id(32) || sig(64) || body:
 *            the records in local arrival order, from 1, no gaps, always appended (full pages,
 *            written once); added_us strictly increases with seq (store_put.added_us; 0 for
 *            records migrated from stores written before it existed). A pruned record's entry
 *            is its added_us(8, BE) alone.
 *   ids      id(32)                          -> seq(8, BE): the one tree keyed by record ids
 *   byvalue  itype(1) || BLAKE2b-256(value)  -> id(32), sorted duplicates (indicators only);
 *            a composite value (ip-dst|port, ip-src|port, hostname|port) has a second entry,
 *            (0x80 | part itype)(1) || BLAKE2b-256(part), its address or host ("192.0.2.1")
 *   bytime   created_ms(8, BE) || seq(8, BE) -> empty
 *   revoked  target id(32)                   -> revoker origin(32) || revocation id(32), sorted
 *            duplicates: every origin's revocation is kept, so one from a stranger cannot
 *            occupy the slot of the genuine one; only the target's own origin counts.
 *   meta     "store.schema" -> u32 BE, "store.next_seq" -> u64 BE, caller keys (store_meta_*)
 *   peers    peer key(32)                    -> opaque caller blob
 *   sighted  target id(32)                   -> sighting id(32), sorted duplicates (sightings)
 *   rosters  owner key(32)                   -> roster id(32), sorted duplicates (rosters; every
 *            version is kept, node/core/community.h picks the one that counts)
 *   expiry   valid_until_ms(8, BE) || seq(8, BE) -> created_ms(8, BE) || byvalue key(33);
 *            indicators only: what store_prune_expired needs to drop a record and its index
 *            entries without decoding it
 *   successions  old key(32)                 -> key succession statement (234 bytes,
 *            proto/succession.h): the ones this node's rule accepted (node/core/succession.h)
 *   distrust origin key(32)                  -> since_ms(8, BE): a recovery named this key
 *            stolen from since_ms (0: a thief's key); its records created or arrived at or
 *            after since_ms read as revoked (store_is_revoked), so no reader shows them and
 *            gossip never sends them
 * Big-endian integer keys make LMDB's byte order the numeric order. Keys that grow with seq (log;
 * bytime and expiry while created and valid_until times come in order, as in an import) are
 * appended (MDB_APPEND): ids and byvalue are the only trees whose inserts land at random.
 *
 * Durability: every write is one LMDB write transaction committed with fsync (no MDB_NOSYNC), so a
 * record reported STORE_PUT_ADDED survives kill -9 and power loss. A failed batch leaves the store
 * exactly as it was (all or nothing); a full file system is STORE_E_DISKFULL, and the next write
 * after space is freed succeeds (store_stats says since when writes fail, until one commits). When the map fills, the whole transaction is retried with a
 * doubled map, up to LIMIT_STORE_MAPSIZE_MAX_MB.
 *
 * Concurrency: one writer process (the node) and any number of read-only processes (CLI, exports)
 * may have the store open at once; readers see only committed data. Within a process, one
 * struct store may be shared by threads (MDB_NOTLS; map resizes are serialised internally).
 * Callbacks run inside a read transaction. They may call the read functions of the same store:
 * those run in the callback's transaction (the same snapshot; no second transaction), so an
 * operation is one snapshot however many lookups it makes. They must not write to it (a write
 * that must grow the map answers STORE_E_BUSY rather than wait for its own transaction).
 *
 * Map size: a reader adopts the size another process grew the map to (MDB_MAP_RESIZED) before
 * its next transaction, never while a transaction of the store is open in the process (LMDB's
 * rule for mdb_env_set_mapsize): other threads' transactions finish first, and this thread
 * never waits for itself.
 *
 * Schema: meta "store.schema" holds STORE_SCHEMA_VERSION. A read-write open of a store of the
 * previous version first copies it to DIR/store.mdb.schemaN.bak (store_backup), then migrates it
 * in one write transaction (a crash before the commit leaves the old store, migrated again at
 * the next open). Older versions, and any newer one, are refused (STORE_E_SCHEMA, naming both
 * versions); so is the previous one on a read-only open.
 *
 * What the store does NOT check: that id = BLAKE2b-256(body), that the signature verifies, or the
 * record's time rules. The caller (node) does that before store_put_batch; the store trusts it and
 * builds its indexes from the decoded struct it is given, or, when given none (store_put.rec
 * NULL), from the body it decodes itself.
 *
 * Ownership: struct store is opaque, created by store_open, freed by store_close. No function
 * keeps a pointer to its arguments after it returns. Pointers handed to callbacks are valid only
 * during the callback.
 */
#ifndef TLPMESH_STORE_STORE_H
#define TLPMESH_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/errors.h"
#include "proto/limits.h"
#include "proto/record.h"

#define STORE_FILE_NAME "store.mdb"
#define STORE_SCHEMA_VERSION 6 /* 2: sighted and rosters indexes; 3: expiry index;
                                  4: successions and distrust; 5: byvalue part entries;
                                  6: records in seq order (log), ids, bytime and expiry by seq */

/* Error codes: X(name, value, message), range ERRORS_BASE_STORE in proto/errors.h; the
 * comments say when each happens. */
#define STORE_ERRORS(X)                                                                            \
    /* no such record / key */                                                                     \
    X(STORE_E_NOTFOUND, ERRORS_BASE_STORE - 0, "not found in the store")                           \
    /* read-only open of a directory without a store */                                            \
    X(STORE_E_NOSTORE, ERRORS_BASE_STORE - 1, "no store in this directory")                        \
    /* not an LMDB file, damaged, or not a tlpmesh store of our schema */                          \
    X(STORE_E_CORRUPT, ERRORS_BASE_STORE - 2,                                                      \
      "store damaged or not a tlpmesh store of this schema")                                       \
    /* map would grow past LIMIT_STORE_MAPSIZE_MAX_MB */                                           \
    X(STORE_E_MAPFULL, ERRORS_BASE_STORE - 3, "store full (LIMIT_STORE_MAPSIZE_MAX_MB reached)")   \
    /* write on a store opened read-only */                                                        \
    X(STORE_E_READONLY, ERRORS_BASE_STORE - 4, "store opened read-only")                           \
    /* bad argument (over a LIMIT_*, NULL, unknown kind or type) */                                \
    X(STORE_E_INVAL, ERRORS_BASE_STORE - 5, "invalid argument to the store")                       \
    /* caller's buffer too small; the needed length is reported */                                 \
    X(STORE_E_NOSPACE, ERRORS_BASE_STORE - 6, "buffer too small for the stored value")             \
    /* any other LMDB or system error (permissions, disk full...) */                               \
    X(STORE_E_IO, ERRORS_BASE_STORE - 7, "store I/O or LMDB error")                              \
    /* the file system holding the store is full (ENOSPC, EDQUOT, or EFBIG past RLIMIT_FSIZE):     \
     * nothing was written; the next write succeeds once space is back */                         \
    X(STORE_E_DISKFULL, ERRORS_BASE_STORE - 8, "no space left on device")                          \
    /* the map must grow (or adopt another process's size) while this thread holds a read         \
     * transaction of the same store, i.e. a write from inside a read callback */                 \
    X(STORE_E_BUSY, ERRORS_BASE_STORE - 9, "store map resize while this thread reads the store")  \
    /* a schema this build does not read (store_open names both versions) */                       \
    X(STORE_E_SCHEMA, ERRORS_BASE_STORE - 10, "store schema version not readable by this build")

enum store_err {
    STORE_OK = 0,
    STORE_ERRORS(ERRORS_ENUM)
};

const char *store_strerror(int err);

struct store;

struct store_opts {
    bool read_only;         /* MDB_RDONLY: never creates or writes anything in the data file */
    size_t map_size_bytes;  /* initial map for a writer; 0 = LIMIT_STORE_MAPSIZE_INITIAL_MB */
};

/* Opens (read-write: creating DIR, one level, and the store if missing) the store in DIR.
 * opts NULL = read-write with the default map. Never modifies a file it refused to open.
 * Returns STORE_OK and sets *out, or a negative store_err (STORE_E_NOSTORE, STORE_E_CORRUPT,
 * STORE_E_IO, STORE_E_INVAL) with a one-line reason naming the path in why (if why != NULL). */
int store_open(struct store **out, const char *dir, const struct store_opts *opts, char *why,
               size_t why_len);

/* Closes the store and frees it. NULL is a no-op. No transaction may be running. */
void store_close(struct store *s);

/* --- writing records --- */

enum store_put_result {
    STORE_PUT_ADDED = 1,     /* new, committed, given the next seq */
    STORE_PUT_DUPLICATE = 2, /* id already stored (earlier, or earlier in this batch) */
    STORE_PUT_REVOKED = 3,   /* a revocation by the record's own origin exists: refused */
};

struct store_put {
    /* in */
    uint8_t id[LIMIT_ID_BYTES];      /* BLAKE2b-256(body), computed and checked by the caller */
    const uint8_t *signed_rec;       /* sig || body, verified by the caller */
    size_t len;                      /* LIMIT_SIG_BYTES < len <= LIMIT_SIG_BYTES + RECORD_BYTES */
    /* The decoded body: indexes are built from it. NULL: the store decodes the body itself
     * (proto_record_decode_known: the caller's verification decoded it fully already; one ~30 KB
     * scratch record per batch), with exactly the same indexes; for a caller that verified a
     * batch but keeps no decoded copies (gossip). */
    const struct proto_record *rec;
    /* Local arrival time, Unix microseconds (the caller's clock: the store reads none). The store
     * keeps max(added_us, previous record's + 1), so arrival times strictly increase along seq
     * and "added after T" (TAXII date_added) is exactly "seq after S". 0 = now unknown. */
    uint64_t added_us;
    /* out, set only when store_put_batch returns STORE_OK */
    int result;   /* enum store_put_result */
    uint64_t seq; /* ADDED: its new seq; DUPLICATE: the stored copy's seq; REVOKED: 0 */
};

/* Commits items[0..n) in ONE durable write transaction (group commit), 0 <= n <=
 * LIMIT_STORE_BATCH. Indexes: every record -> log, ids, bytime; an indicator -> byvalue, expiry; a
 * revocation -> revoked (kept even if its target is unknown yet); a sighting -> sighted (also
 * kept when its target is unknown); a roster -> rosters. Items are applied in order, so
 * a revocation earlier in the batch refuses its target later in it.
 * Returns STORE_OK with each item's result set, or a negative store_err and nothing changed
 * (STORE_E_INVAL names no item: validate before, or bisect; it includes an item with rec NULL
 * whose body does not decode, duplicate or not; STORE_E_IO also when the scratch record cannot
 * be allocated). */
int store_put_batch(struct store *s, struct store_put *items, size_t n);

/* A bulk write (`tlpmesh import`): batches put as store_put_batch puts them, with the same
 * results, but many of them in one write transaction, which commits durably once it may hold
 * LIMIT_STORE_BULK_DIRTY_PAGES dirty pages (an estimate from the tables' sizes: each random-key
 * page is written once per commit however many records landed on it, so fewer, larger commits
 * write less per record), and at store_bulk_end. Before each transaction the map grows to hold
 * twice the budget past the file (address space only), so no map-full commit splits one; after
 * each commit a one-page commit lets the next reuse the pages it freed (LMDB frees them for the
 * commit after next). A record reported ADDED is durable only once a
 * commit after it succeeded (*committed). Until then reads of s on the thread that began it see
 * what it put (they run in its transaction); other threads and processes see the last commit,
 * and their writes wait for it (LMDB's one writer). Every call on the thread that began it; no
 * other write of s on that thread meanwhile (STORE_E_BUSY). */
struct store_bulk;
/* STORE_OK and *out, or STORE_E_READONLY, STORE_E_IO (no memory). */
int store_bulk_begin(struct store *s, struct store_bulk **out);
/* Puts items[0..n), 0 <= n <= LIMIT_STORE_BATCH, in the bulk's transaction; on any error nothing
 * of this batch is put (the earlier ones stay pending, or committed). *committed: everything put
 * so far is durable (a commit ran). A full map commits what is pending, grows and puts again. */
int store_bulk_put(struct store_bulk *b, struct store_put *items, size_t n, bool *committed);
/* Commits what is pending (commit true) or drops it, and frees b: STORE_OK or the commit's
 * error (nothing pending is then stored). NULL is a no-op. */
int store_bulk_end(struct store_bulk *b, bool commit);

/* Removes up to max (1..LIMIT_PRUNE_BATCH) indicators whose valid_until_ms + grace_ms <= now_ms,
 * earliest expiry first, with their byvalue, bytime and expiry entries, in ONE durable write
 * transaction; *pruned gets the count (== max: more may be left, call again). The log entry of a
 * pruned record keeps its arrival time alone (value = added_us(8)), so seq stays
 * gap-free for store_seq_at_time; the iterators skip such entries.
 * Revocations (tombstones) are never pruned: a revocation may arrive before its target and does
 * not carry the target's expiry, so the store cannot tell when the target stops being valid; they
 * are small, and keeping them is what refuses a replay of the revoked record. Sightings and
 * rosters carry no expiry and stay too; a sighting of a pruned indicator becomes one whose target
 * is unknown (as when it arrives before its target).
 * STORE_E_INVAL for max out of range; STORE_E_READONLY; other store errors change nothing. */
int store_prune_expired(struct store *s, uint64_t now_ms, uint64_t grace_ms, size_t max,
                        size_t *pruned);

/* --- reading --- */

/* Called once per record; return non-zero to stop the iteration. */
typedef int (*store_record_cb)(const uint8_t id[LIMIT_ID_BYTES], const uint8_t *signed_rec,
                               size_t len, uint64_t seq, void *ctx);

/* 1 if id is stored, 0 if not, or a negative store_err. One B-tree lookup, no copy, no decode:
 * this is the dedupe path that runs before any signature check. */
int store_has(struct store *s, const uint8_t id[LIMIT_ID_BYTES]);

/* Copies the signed record into buf[0..cap), sets *len (and *seq if seq != NULL).
 * STORE_E_NOTFOUND, or STORE_E_NOSPACE with *len set to the length needed. */
int store_get(struct store *s, const uint8_t id[LIMIT_ID_BYTES], uint8_t *buf, size_t cap,
              size_t *len, uint64_t *seq);

/* The iterators below return STORE_OK when they ran to the end, the callback's non-zero value
 * when it stopped them (use positive values to tell them from store errors), or a negative
 * store_err. Each runs in one read transaction: a consistent snapshot. */

/* Every indicator of type itype with exactly this normalised value, in id order; then every
 * composite indicator whose address or host part is exactly that value: ip-dst|port records
 * for an ip-dst value, ip-src|port for ip-src, hostname|port for hostname ("192.0.2.1" finds
 * "192.0.2.1|443", never "192.0.2.10|443"; "2001:db8::1" never "2001:db8::10|443"). Those
 * are a record of another type: a caller that wants the type itself uses store_find_exact. */
int store_find_value(struct store *s, int itype, const char *value, store_record_cb cb,
                     void *ctx);
/* Every indicator of type itype with exactly this normalised value, in id order. */
int store_find_exact(struct store *s, int itype, const char *value, store_record_cb cb,
                     void *ctx);

/* The indicators of n (itypes[i], values[i]) pairs, as store_find_exact, pair after pair in the
 * given order, in ONE read transaction: `query` looks up every prefix of an address (at most
 * 2 x 129 keys, LIMIT_STORE_FIND_VALUES) in one snapshot. STORE_E_INVAL for a bad pair. */
int store_find_values(struct store *s, const int *itypes, const char *const *values, size_t n,
                      store_record_cb cb, void *ctx);

/* The ip-src and ip-dst ranges (CIDR values) that contain the address addr (an ip-src/ip-dst
 * normal form without a prefix), the most specific first, each length ip-src before ip-dst; the
 * address itself is not among them (store_find_value). Uses the by-value index only: at most
 * 2 x 32 (IPv4) or 2 x 128 (IPv6) key lookups in one read transaction (store_cidr.c).
 * STORE_E_INVAL if addr is not an address. */
int store_find_covering(struct store *s, const char *addr, store_record_cb cb, void *ctx);

/* Every record whose id starts with prefix[0..prefix_len), 1 <= prefix_len <= LIMIT_ID_BYTES, in
 * id order: one B-tree seek (gossip's 8-byte short ids). */
int store_find_prefix(struct store *s, const uint8_t *prefix, size_t prefix_len,
                      store_record_cb cb, void *ctx);

/* Every record with seq > since_seq, in seq order ("added since" polling: pass the last seq seen;
 * 0 = everything). Pruned records are skipped. One cursor walk of the log: the records come in
 * page order, no lookup per record. */
int store_iter_seq(struct store *s, uint64_t since_seq, store_record_cb cb, void *ctx);

/* Like store_iter_seq, also passing each record's arrival time (Unix microseconds, see
 * store_put.added_us). */
typedef int (*store_added_cb)(const uint8_t id[LIMIT_ID_BYTES], const uint8_t *signed_rec,
                              size_t len, uint64_t seq, uint64_t added_us, void *ctx);
int store_iter_added(struct store *s, uint64_t since_seq, store_added_cb cb, void *ctx);

/* The highest seq whose arrival time is <= t_us (0 when none): the records added after t_us are
 * exactly those with seq > *seq (that seq's record may since have been pruned). O(log n) lookups,
 * in one read transaction. */
int store_seq_at_time(struct store *s, uint64_t t_us, uint64_t *seq);

/* Every record with from_ms <= created_ms < to_ms, in (created_ms, seq) order. */
int store_iter_time(struct store *s, uint64_t from_ms, uint64_t to_ms, store_record_cb cb,
                    void *ctx);

/* Every stored sighting of target (of any origin), in sighting-id order. */
int store_iter_sightings(struct store *s, const uint8_t target[LIMIT_ID_BYTES],
                         store_record_cb cb, void *ctx);

/* Every stored roster (every version) of owner, in roster-id order; owner NULL: of every owner,
 * in (owner, roster id) order. */
int store_iter_rosters(struct store *s, const uint8_t *owner, store_record_cb cb, void *ctx);

/* --- revocations --- */

/* Finds the revocation of target issued by target_origin (the only one that counts) and copies
 * its id to rev_id. STORE_OK, STORE_E_NOTFOUND, or a negative store_err. */
int store_revocation_for(struct store *s, const uint8_t target[LIMIT_ID_BYTES],
                         const uint8_t target_origin[LIMIT_KEY_BYTES],
                         uint8_t rev_id[LIMIT_ID_BYTES]);

/* Runs fn(ctx) in one read transaction: every read of s that fn makes on this thread shares it
 * (one snapshot, and no transaction of its own per lookup). Returns what fn returns, or a
 * negative store_err if the transaction did not start. fn must not write to s. */
int store_read_snapshot(struct store *s, int (*fn)(void *ctx), void *ctx);

/* Every revocation and distrusted origin of a store at once, for a caller that checks many
 * records (a reconciliation set build): two sorted arrays instead of two B-tree searches a
 * record. Loaded by store_load_revoked or memstore_load_revoked, checked by store_revoked_check,
 * freed by store_revoked_free. */
struct store_revoked_set {
    uint8_t (*pairs)[LIMIT_ID_BYTES + LIMIT_KEY_BYTES]; /* target || revoker origin, memcmp order */
    size_t n_pairs;
    uint8_t (*distrusted)[LIMIT_KEY_BYTES]; /* memcmp order */
    size_t n_distrusted;
};

/* Loads *out from one snapshot. STORE_E_NOSPACE when the store holds more than max pairs or max
 * distrusted origins (*out is then empty): the caller looks records up one by one instead. */
int store_load_revoked(struct store *s, size_t max, struct store_revoked_set *out);

/* What store_is_revoked answers for target of target_origin from the set: 1 revoked by its
 * origin, 0 not; 2 when target_origin is distrusted, where the record's times decide (ask
 * store_is_revoked, or the store's is_revoked op). */
int store_revoked_check(const struct store_revoked_set *rs, const uint8_t target[LIMIT_ID_BYTES],
                        const uint8_t target_origin[LIMIT_KEY_BYTES]);

void store_revoked_free(struct store_revoked_set *rs);

/* 1 if target (whose origin is target_origin) is revoked by that same origin, or hidden because
 * a recovery distrusts target_origin from a time at or before the record's created time or its
 * arrival here (table distrust); 0 if not, or a negative store_err. */
int store_is_revoked(struct store *s, const uint8_t target[LIMIT_ID_BYTES],
                     const uint8_t target_origin[LIMIT_KEY_BYTES]);

/* --- keys that change (docs/PROTOCOL.md "Key succession") --- */

struct store_distrust {
    uint8_t origin[LIMIT_KEY_BYTES];
    uint64_t since_ms; /* Unix ms; 0: everything it signed */
};

/* Replaces the stored statements with stmts[0..n) (n <= LIMIT_SUCCESSIONS) and adds the
 * distrust entries (an origin already distrusted keeps the earlier since), in one durable
 * transaction. STORE_E_INVAL for too many. */
int store_successions_replace(struct store *s, const uint8_t (*stmts)[LIMIT_SUCCESSION_BYTES],
                              size_t n, const struct store_distrust *distrust, size_t n_distrust);
/* Calls fn with each stored statement (as stored: the caller decodes it) until fn returns
 * non-zero, which is returned. */
typedef int (*store_succession_fn)(void *ctx, const uint8_t *bytes, size_t len);
int store_successions_each(struct store *s, store_succession_fn fn, void *ctx);

/* --- small key/value state --- */

/* Per-peer state, opaque to the store, len <= LIMIT_STORE_PEER_BLOB_BYTES. get copies it into
 * buf[0..cap) and sets *len; STORE_E_NOTFOUND, or STORE_E_NOSPACE with *len = needed length.
 * put replaces any previous blob, durably. */
int store_peer_get(struct store *s, const uint8_t peer[LIMIT_KEY_BYTES], uint8_t *buf,
                   size_t cap, size_t *len);
int store_peer_put(struct store *s, const uint8_t peer[LIMIT_KEY_BYTES], const uint8_t *blob,
                   size_t len);

/* Node information in meta. key: NUL-terminated, 1..LIMIT_STORE_META_KEY_BYTES bytes, not
 * starting with "store." (reserved); value len <= LIMIT_STORE_META_VALUE_BYTES. Same return
 * rules as the peer functions. */
int store_meta_get(struct store *s, const char *key, uint8_t *buf, size_t cap, size_t *len);
int store_meta_put(struct store *s, const char *key, const uint8_t *value, size_t len);

/* --- statistics --- */

struct store_stats {
    uint64_t records;   /* entries in ids: records held (pruned ones not) */
    uint64_t last_seq;  /* highest seq given, 0 if none */
    uint64_t map_bytes; /* current map size */
    uint64_t used_bytes; /* pages in use in the data file */
    /* Unix ms since which this process's writes fail with STORE_E_DISKFULL (the first failure
     * of the run); 0 when its last write committed. Another process's failures are its own. */
    uint64_t disk_full_since_ms;
};

int store_stats(struct store *s, struct store_stats *st);

/* The data directory the store was opened in (for messages: "... (DataDir PATH)"). */
const char *store_dir(const struct store *s);

/* --- operations: backup, integrity check (store_backup.c, store_check.c) --- */

/* Writes a consistent, compacted copy of the store to the file path (LMDB's copy with
 * MDB_CP_COMPACT, from one read transaction: writers in this or other processes go on), through
 * path.tmp, fsync and rename, so path is either the old file or a whole copy. The copy is a store
 * like DIR/store.mdb. Works on a read-only store. STORE_OK, or a store_err with a one-line reason
 * naming the path in why. */
int store_backup(struct store *s, const char *path, char *why, size_t why_len);

struct store_check_report {
    uint64_t records;     /* records in the log (pruned ones not counted) */
    uint64_t indicators, revocations, sightings, rosters; /* records that decode, by kind */
    uint64_t index_entries; /* entries of every index checked */
    uint64_t pruned;        /* log entries of pruned records */
    uint64_t revoked;       /* stored records revoked by their own origin */
    uint64_t foreign_revocations; /* revocations of a stored record by another origin (ignored) */
    uint64_t unknown_targets; /* revocations and sightings whose target is not stored */
    uint64_t problems;        /* everything below that was wrong */
};

/* One line describing one problem (the record id or index key in hex, what is wrong). */
typedef void (*store_problem_cb)(const char *line, void *ctx);

/* Checks the whole store, in chunks of LIMIT_STORE_CHECK_CHUNK entries, each in a read
 * transaction of its own, so that a check of a large store that a node writes to meanwhile never
 * pins old pages for long (the map would grow for it) and adopts map growth between chunks. Each
 * entry is judged against the records and indexes of its own chunk's snapshot: every problem
 * reported is one of a committed state, never an artefact of a write in between. Online (a node
 * writing) the counts are not of one moment: what was stored for the whole check is counted
 * exactly once, what was added or removed during it may or may not be, and damage done behind
 * the walk shows at the next check; on a store nobody writes it is exactly a snapshot check.
 * Every record's id (BLAKE2b-256 of its body), canonical encoding and signature, and that every
 * index entry it needs exists; every entry of every index (ids, byvalue, bytime, revoked,
 * sighted, rosters, expiry) against the record it names; the log without gaps up to next_seq;
 * revocations against their targets; every stored key succession decodes and verifies under its
 * old key, every distrust entry is a key and a time. Counts go to *rep, each problem to cb (cb may be NULL; the
 * first LIMIT_STORE_CHECK_LISTED problems are passed on, all are counted). STORE_OK when the
 * check ran to the end (rep->problems says whether the store is sound), or a store_err. */
int store_check(struct store *s, struct store_check_report *rep, store_problem_cb cb, void *ctx);

#endif
