/* test_store_ops.c - the store as operations see it: a reader whose callbacks look things up
 * while another process grows the map, schema migration and refusal, store_check finding
 * damage written straight into LMDB, store_backup, and a full file system (RLIMIT_FSIZE).
 *
 * Records are real signed ones (tests/support/ts_record.h): store_check verifies signatures.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <lmdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store/store.h"
#include "tests/support/ts_dir.h"
#include "tests/support/ts_ident.h"
#include "tests/support/ts_record.h"
#include "tests/support/ts_store.h"

static const uint64_t T0 = 1700000000000ULL; /* created_ms of the first record */
static const uint64_t DAY = 86400000ULL;

enum { FILL_BATCH = 120 }; /* records per commit: one fsync each, not one a record */

struct filler {
    struct store *s;
    struct store_put put[FILL_BATCH];
    uint8_t (*buf)[TS_SIGNED_BYTES];
    size_t n;
};

static void fill_flush(struct filler *f)
{
    if (f->n == 0)
        return;
    assert_int_equal(store_put_batch(f->s, f->put, f->n), STORE_OK);
    for (size_t i = 0; i < f->n; i++)
        assert_int_equal(f->put[i].result, STORE_PUT_ADDED);
    f->n = 0;
}

/* Signs r into the batch (decoded again by the store: rec NULL) and returns its id. */
static const uint8_t *fill_add(struct filler *f, struct proto_record *r,
                               const struct keys_identity *by)
{
    if (f->n == FILL_BATCH)
        fill_flush(f);
    struct store_put *p = &f->put[f->n];
    *p = (struct store_put){.signed_rec = f->buf[f->n], .added_us = 1};
    p->len = ts_sign(r, by, f->buf[f->n], p->id);
    f->n++;
    return p->id;
}

/* n indicators (domain hN.example), every fifth revoked by its origin (in the same batch). */
static void fill(struct store *s, unsigned n, unsigned first)
{
    struct keys_identity id;
    ts_identity(0x51, &id);
    struct proto_record *r = ts_record_alloc();
    struct filler f = {.s = s, .buf = malloc(FILL_BATCH * sizeof *f.buf)};
    assert_non_null(f.buf);
    for (unsigned i = first; i < first + n; i++) {
        char v[64];
        snprintf(v, sizeof v, "h%u.example", i);
        ts_indicator(r, PROTO_TLP_GREEN, PROTO_ITYPE_DOMAIN, v, T0 + i, T0 + 30 * DAY + i);
        uint8_t rid[LIMIT_ID_BYTES];
        memcpy(rid, fill_add(&f, r, &id), sizeof rid);
        if (i % 5 == 0) {
            ts_revocation(r, PROTO_TLP_GREEN, rid, NULL, T0 + i + 1);
            fill_add(&f, r, &id);
        }
    }
    fill_flush(&f);
    free(f.buf);
    free(r);
}

struct lines {
    unsigned n;
    char first[512];
};

static void collect(const char *line, void *ctx)
{
    struct lines *l = ctx;
    if (l->n++ == 0)
        snprintf(l->first, sizeof l->first, "%s", line);
}

static struct store_check_report check(struct store *s, struct lines *l)
{
    struct store_check_report rep;
    assert_int_equal(store_check(s, &rep, collect, l), STORE_OK);
    return rep;
}

/* Runs on the raw LMDB file of dir. */
static void raw_open(const char *dir, MDB_env **env, MDB_txn **txn)
{
    char path[LIMIT_PATH_BYTES];
    snprintf(path, sizeof path, "%s/%s", dir, STORE_FILE_NAME);
    assert_int_equal(mdb_env_create(env), 0);
    assert_int_equal(mdb_env_set_maxdbs(*env, LIMIT_STORE_DBS), 0);
    assert_int_equal(mdb_env_open(*env, path, MDB_NOSUBDIR, 0600), 0);
    assert_int_equal(mdb_txn_begin(*env, NULL, 0, txn), 0);
}

static void raw_commit(MDB_env *env, MDB_txn *txn)
{
    assert_int_equal(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
}

static MDB_dbi raw_db(MDB_txn *txn, const char *name)
{
    MDB_dbi dbi;
    assert_int_equal(mdb_dbi_open(txn, name, 0, &dbi), 0);
    return dbi;
}

static void raw_schema(MDB_txn *txn, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    MDB_val k = {12, "store.schema"}, val = {4, b};
    assert_int_equal(mdb_put(txn, raw_db(txn, "meta"), &k, &val, 0), 0);
}

/* --- composite values: found by their address or host --- */

struct composite {
    int itype;
    const char *value;
};

static const struct composite composites[] = {
    {PROTO_ITYPE_IP_DST, "192.0.2.1"},                 /* 0: the address itself */
    {PROTO_ITYPE_IP_DST_PORT, "192.0.2.1|443"},        /* 1 */
    {PROTO_ITYPE_IP_SRC_PORT, "192.0.2.1|53"},         /* 2 */
    {PROTO_ITYPE_IP_DST_PORT, "192.0.2.10|443"},       /* 3: a longer address */
    {PROTO_ITYPE_IP_DST_PORT, "2001:db8::1|8443"},     /* 4 */
    {PROTO_ITYPE_IP_DST_PORT, "2001:db8::10|443"},     /* 5: a longer IPv6 address */
    {PROTO_ITYPE_HOSTNAME_PORT, "mail.example.org|25"}, /* 6 */
};
enum { N_COMPOSITES = sizeof composites / sizeof composites[0] };

/* The records of composites[], valid until T0 + DAY; their ids to ids. */
static void fill_composites(struct store *s, uint8_t ids[N_COMPOSITES][LIMIT_ID_BYTES])
{
    struct keys_identity id;
    ts_identity(0x52, &id);
    struct proto_record *r = ts_record_alloc();
    struct filler f = {.s = s, .buf = malloc(FILL_BATCH * sizeof *f.buf)};
    assert_non_null(f.buf);
    for (unsigned i = 0; i < N_COMPOSITES; i++) {
        ts_indicator(r, PROTO_TLP_GREEN, (uint8_t)composites[i].itype, composites[i].value,
                     T0 + i, T0 + DAY);
        memcpy(ids[i], fill_add(&f, r, &id), LIMIT_ID_BYTES);
    }
    fill_flush(&f);
    free(f.buf);
    free(r);
}

struct found {
    const uint8_t (*ids)[LIMIT_ID_BYTES];
    unsigned mask; /* bit i: composites[i] */
    unsigned order[N_COMPOSITES + 1], n;
};

static int found_cb(const uint8_t id[LIMIT_ID_BYTES], const uint8_t *signed_rec, size_t len,
                    uint64_t seq, void *ctx)
{
    (void)signed_rec, (void)len, (void)seq;
    struct found *f = ctx;
    unsigned i = 0;
    while (i < N_COMPOSITES && memcmp(f->ids[i], id, LIMIT_ID_BYTES) != 0)
        i++;
    assert_true(i < N_COMPOSITES && f->n < N_COMPOSITES);
    assert_false(f->mask & 1u << i); /* each record once */
    f->mask |= 1u << i;
    f->order[f->n++] = i;
    return 0;
}

/* The composites[] store_find_value (exact: store_find_exact) finds for (itype, value). */
static unsigned found(struct store *s, const uint8_t ids[N_COMPOSITES][LIMIT_ID_BYTES],
                      int itype, const char *value, bool exact)
{
    struct found f = {.ids = ids};
    assert_int_equal((exact ? store_find_exact : store_find_value)(s, itype, value, found_cb, &f),
                     STORE_OK);
    return f.mask;
}

/* A search by an address or host finds the composite records that carry exactly it. */
static void expect_composites_found(struct store *s, const uint8_t ids[N_COMPOSITES][LIMIT_ID_BYTES])
{
    assert_int_equal(found(s, ids, PROTO_ITYPE_IP_DST, "192.0.2.1", false), 1u << 0 | 1u << 1);
    assert_int_equal(found(s, ids, PROTO_ITYPE_IP_DST, "192.0.2.1", true), 1u << 0);
    assert_int_equal(found(s, ids, PROTO_ITYPE_IP_SRC, "192.0.2.1", false), 1u << 2);
    assert_int_equal(found(s, ids, PROTO_ITYPE_IP_DST, "192.0.2.10", false), 1u << 3);
    assert_int_equal(found(s, ids, PROTO_ITYPE_IP_DST, "2001:db8::1", false), 1u << 4);
    assert_int_equal(found(s, ids, PROTO_ITYPE_IP_DST, "2001:db8::10", false), 1u << 5);
    assert_int_equal(found(s, ids, PROTO_ITYPE_IP_DST, "2001:db8::", false), 0);
    assert_int_equal(found(s, ids, PROTO_ITYPE_HOSTNAME, "mail.example.org", false), 1u << 6);
    assert_int_equal(found(s, ids, PROTO_ITYPE_HOSTNAME, "example.org", false), 0);
    assert_int_equal(found(s, ids, PROTO_ITYPE_IP_DST_PORT, "192.0.2.1|443", false), 1u << 1);
    assert_int_equal(found(s, ids, PROTO_ITYPE_IP_DST_PORT, "192.0.2.1|443", true), 1u << 1);
    assert_int_equal(found(s, ids, PROTO_ITYPE_IP_DST_PORT, "192.0.2.1", false), 0);
    assert_int_equal(found(s, ids, PROTO_ITYPE_IP_DST, "192.0.2.0/24", false), 0);
    /* the exact record first, then those it is part of */
    struct found f = {.ids = ids};
    assert_int_equal(store_find_value(s, PROTO_ITYPE_IP_DST, "192.0.2.1", found_cb, &f), STORE_OK);
    assert_int_equal(f.n, 2);
    assert_int_equal(f.order[0], 0);
}

static void test_composite_values(void **state)
{
    (void)state;
    char *dir = ts_dir_new("storeops");
    struct store *s = ts_store_open(dir, 0);
    uint8_t ids[N_COMPOSITES][LIMIT_ID_BYTES];
    fill_composites(s, ids);
    expect_composites_found(s, ids);
    struct lines l = {0};
    struct store_check_report rep = check(s, &l);
    assert_int_equal(rep.problems, 0);
    /* records, bytime, seq, byvalue and expiry each; byvalue once more for the six composites */
    assert_int_equal(rep.index_entries, 4 * N_COMPOSITES + N_COMPOSITES - 1);

    /* pruning takes both byvalue entries: check-store finds no entry left without its record */
    size_t pruned = 0;
    assert_int_equal(store_prune_expired(s, T0 + 2 * DAY, 0, LIMIT_PRUNE_BATCH, &pruned), STORE_OK);
    assert_int_equal(pruned, N_COMPOSITES);
    assert_int_equal(found(s, ids, PROTO_ITYPE_IP_DST, "192.0.2.1", false), 0);
    l = (struct lines){0};
    rep = check(s, &l);
    assert_int_equal(rep.problems, 0);
    assert_int_equal(rep.records, 0);
    store_close(s);
    ts_store_remove(dir);
}

/* --- readers never wait for themselves --- */

struct nested {
    struct store *s;
    int to_parent, from_parent;
    unsigned seen;
};

/* In the first callback: let the parent grow the map, then look things up from inside the
 * iteration, which holds its read transaction all along. */
static int nested_cb(const uint8_t id[LIMIT_ID_BYTES], const uint8_t *rec, size_t len, uint64_t seq,
                     void *ctx)
{
    (void)seq;
    struct nested *n = ctx;
    char c;
    if (n->seen++ == 0 && (write(n->to_parent, "g", 1) != 1 || read(n->from_parent, &c, 1) != 1))
        return 90;
    struct proto_record *r = malloc(sizeof *r);
    if (r == NULL || proto_record_decode_known(rec + LIMIT_SIG_BYTES, len - LIMIT_SIG_BYTES, r))
        return 91;
    int rv = store_is_revoked(n->s, id, r->origin);
    free(r);
    size_t got = 0;
    uint8_t buf[LIMIT_SIG_BYTES + LIMIT_RECORD_BYTES];
    if (rv < 0 || store_get(n->s, id, buf, sizeof buf, &got, NULL) != STORE_OK || got != len)
        return 92;
    struct store_stats st;
    return store_stats(n->s, &st) == STORE_OK ? 0 : 93;
}

static int nested_child(const char *dir, int to_parent, int from_parent)
{
    alarm(120); /* the deadline: a reader that hangs dies of SIGALRM and fails the test */
    struct store_opts ro = {.read_only = true};
    struct nested n = {NULL, to_parent, from_parent, 0};
    if (store_open(&n.s, dir, &ro, NULL, 0) != STORE_OK)
        return 80;
    int rc = store_iter_seq(n.s, 0, nested_cb, &n);
    if (rc != STORE_OK)
        return rc > 0 ? rc : 81;
    /* after the iteration: the next operation adopts the grown map and sees everything */
    struct store_stats st;
    if (store_stats(n.s, &st) != STORE_OK || st.records < 2000)
        return 82;
    store_close(n.s);
    return 0;
}

static void test_nested_reads_while_map_grows(void **state)
{
    (void)state;
    char *dir = ts_dir_new("storeops");
    struct store *s = ts_store_open(dir, 64 * 1024);
    fill(s, 20, 0);
    int c2p[2], p2c[2];
    assert_int_equal(pipe(c2p), 0);
    assert_int_equal(pipe(p2c), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(nested_child(dir, c2p[1], p2c[0]));
    char c;
    assert_int_equal(read(c2p[0], &c, 1), 1);
    struct store_stats before, after;
    assert_int_equal(store_stats(s, &before), STORE_OK);
    fill(s, 2000, 100);
    assert_int_equal(store_stats(s, &after), STORE_OK);
    assert_true(after.map_bytes >= 4 * before.map_bytes); /* grown several times */
    assert_int_equal(write(p2c[1], "c", 1), 1);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    close(c2p[0]), close(c2p[1]), close(p2c[0]), close(p2c[1]);
    store_close(s);
    ts_store_remove(dir);
}

/* --- schema --- */

static bool exists(const char *dir, const char *name)
{
    char path[LIMIT_PATH_BYTES];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    struct stat st;
    return stat(path, &st) == 0;
}

/* What a walk of a store hands out, in order: id, seq and signed record of each. */
struct walked {
    unsigned n;
    uint8_t ids[64][LIMIT_ID_BYTES];
    uint64_t seqs[64], added[64];
};

static int walk_cb(const uint8_t id[LIMIT_ID_BYTES], const uint8_t *signed_rec, size_t len,
                   uint64_t seq, uint64_t added_us, void *ctx)
{
    (void)signed_rec, (void)len;
    struct walked *w = ctx;
    assert_true(w->n < 64);
    memcpy(w->ids[w->n], id, LIMIT_ID_BYTES);
    w->seqs[w->n] = seq;
    w->added[w->n++] = added_us;
    return 0;
}

static int count_cb(const uint8_t id[LIMIT_ID_BYTES], const uint8_t *signed_rec, size_t len,
                    uint64_t seq, void *ctx)
{
    (void)id, (void)signed_rec, (void)len, (void)seq;
    ++*(unsigned *)ctx;
    return 0;
}

/* tests/data/store/schema5.mdb was written by the schema-5 code (main at 8f7482a, through
 * store_put_batch and store_prune_expired; SOURCES says what it holds): 40 domains of one
 * origin, every fifth revoked by it; 4 composite and address values of a second origin; a
 * sighting of the first domain; a roster; and one indicator pruned (seq 53). 55 seqs. */
static void test_schema_migration(void **state)
{
    (void)state;
    char *dir = ts_dir_new("storeops");
    char cmd[3 * LIMIT_PATH_BYTES];
    snprintf(cmd, sizeof cmd, "cp %s/store/schema5.mdb %s/%s", TLPMESH_DATA_DIR, dir,
             STORE_FILE_NAME);
    assert_int_equal(system(cmd), 0);

    /* read-only: refused, naming both versions, nothing written */
    struct store_opts ro = {.read_only = true};
    char why[512] = "";
    struct store *s = NULL;
    assert_int_equal(store_open(&s, dir, &ro, why, sizeof why), STORE_E_SCHEMA);
    assert_non_null(strstr(why, "version 5"));
    assert_non_null(strstr(why, "version 6"));
    assert_false(exists(dir, STORE_FILE_NAME ".schema5.bak"));

    /* read-write: backed up, migrated, sound, every record where it was */
    s = ts_store_open(dir, 0);
    assert_true(exists(dir, STORE_FILE_NAME ".schema5.bak"));
    struct lines l = {0};
    const struct store_check_report got = check(s, &l);
    /* index entries: ids 54, bytime 54, byvalue 47 (3 part entries), expiry 44, revoked 8,
     * sighted 1, rosters 1 */
    const struct store_check_report want = {
        .records = 54, .indicators = 44, .revocations = 8, .sightings = 1, .rosters = 1,
        .index_entries = 209, .pruned = 1, .revoked = 8};
    assert_memory_equal(&got, &want, sizeof want);
    struct store_stats st;
    assert_int_equal(store_stats(s, &st), STORE_OK);
    assert_int_equal(st.records, 54);
    assert_int_equal(st.last_seq, 55);
    struct walked w = {0};
    assert_int_equal(store_iter_added(s, 0, walk_cb, &w), STORE_OK);
    assert_int_equal(w.n, 54);
    for (unsigned i = 0; i < w.n; i++) {
        /* seqs 1..55 but the pruned 53; arrival times 1 ms apart from the first */
        const uint64_t seq = i + 1 + (i >= 52);
        assert_int_equal(w.seqs[i], seq);
        assert_int_equal(w.added[i], 1700000000000000ULL + 1000 * seq);
        uint64_t got_seq = 0;
        size_t len = 0;
        uint8_t buf[LIMIT_SIG_BYTES + LIMIT_RECORD_BYTES];
        assert_int_equal(store_get(s, w.ids[i], buf, sizeof buf, &len, &got_seq), STORE_OK);
        assert_int_equal(got_seq, seq);
    }
    uint64_t at = 0;
    assert_int_equal(store_seq_at_time(s, 1700000000000000ULL + 1000 * 53, &at), STORE_OK);
    assert_int_equal(at, 53); /* a pruned record keeps its arrival time */
    unsigned n = 0;
    assert_int_equal(store_find_value(s, PROTO_ITYPE_IP_DST, "192.0.2.1", count_cb, &n), STORE_OK);
    assert_int_equal(n, 2); /* the address itself and 192.0.2.1|443 */
    n = 0;
    assert_int_equal(store_find_value(s, PROTO_ITYPE_HOSTNAME, "mail.example.org", count_cb, &n),
                     STORE_OK);
    assert_int_equal(n, 1);
    n = 0;
    assert_int_equal(store_iter_time(s, 0, UINT64_MAX, count_cb, &n), STORE_OK);
    assert_int_equal(n, 54);
    n = 0;
    assert_int_equal(store_iter_sightings(s, w.ids[0], count_cb, &n), STORE_OK);
    assert_int_equal(n, 1);
    n = 0;
    assert_int_equal(store_iter_rosters(s, NULL, count_cb, &n), STORE_OK);
    assert_int_equal(n, 1);
    /* everything valid until T0 + 30 days goes; the revocations, sighting and roster stay */
    size_t pruned = 0;
    assert_int_equal(store_prune_expired(s, 1700000000000ULL + 31 * DAY, 0, LIMIT_PRUNE_BATCH,
                                         &pruned),
                     STORE_OK);
    assert_int_equal(pruned, 44);
    l = (struct lines){0};
    assert_int_equal(check(s, &l).problems, 0);
    store_close(s);

    /* the backup is the schema 5 store, untouched */
    char bakdir[LIMIT_PATH_BYTES];
    snprintf(bakdir, sizeof bakdir, "%s/bak", dir);
    assert_int_equal(mkdir(bakdir, 0700), 0);
    snprintf(cmd, sizeof cmd, "cmp %s/%s.schema5.bak %s/store/schema5.mdb", dir, STORE_FILE_NAME,
             TLPMESH_DATA_DIR);
    assert_int_equal(system(cmd), 0);
    snprintf(cmd, sizeof cmd, "cp %s/%s.schema5.bak %s/%s", dir, STORE_FILE_NAME, bakdir,
             STORE_FILE_NAME);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(store_open(&s, bakdir, &ro, why, sizeof why), STORE_E_SCHEMA);
    ts_store_remove(strdup(bakdir));
    snprintf(cmd, sizeof cmd, "%s/%s.schema5.bak", dir, STORE_FILE_NAME);
    assert_int_equal(unlink(cmd), 0);
    ts_store_remove(dir);
}

static void test_schema_newer_refused(void **state)
{
    (void)state;
    char *dir = ts_dir_new("storeops");
    store_close(ts_store_open(dir, 0));
    MDB_env *env;
    MDB_txn *txn;
    raw_open(dir, &env, &txn);
    raw_schema(txn, STORE_SCHEMA_VERSION + 1);
    raw_commit(env, txn);
    for (int r = 0; r <= 1; r++) {
        struct store_opts o = {.read_only = r};
        struct store *s = NULL;
        char why[512] = "";
        assert_int_equal(store_open(&s, dir, &o, why, sizeof why), STORE_E_SCHEMA);
        assert_null(s);
        assert_non_null(strstr(why, "version 7 is newer than this build's version 6"));
    }
    assert_false(exists(dir, STORE_FILE_NAME ".schema7.bak"));
    ts_store_remove(dir);
}

/* --- store_check --- */

/* `tlpmesh check-store` on dir (ctest sets TLPMESH_BIN): exit 1 and one "problem:" line each. */
static void check_store_cli(const char *dir, unsigned problems)
{
    const char *bin = getenv("TLPMESH_BIN");
    if (bin == NULL) {
        print_message("TLPMESH_BIN not set: tlpmesh check-store not run\n");
        return;
    }
    char conf[LIMIT_PATH_BYTES + 16], cmd[3 * LIMIT_PATH_BYTES], line[1024];
    snprintf(conf, sizeof conf, "%s/check.conf", dir);
    FILE *f = fopen(conf, "w");
    assert_non_null(f);
    fprintf(f, "[Node]\nNetwork = t\nOrganisation = T\nKeyFile = none.key\nDataDir = %s\n", dir);
    fclose(f);
    snprintf(cmd, sizeof cmd, "%s check-store -c %s", bin, conf);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    unsigned lines = 0;
    char last[1024] = "";
    while (fgets(line, sizeof line, p) != NULL) {
        lines += strncmp(line, "problem: ", 9) == 0;
        snprintf(last, sizeof last, "%s", line);
    }
    const int status = pclose(p);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 1);
    assert_int_equal(lines, problems);
    char want[32];
    snprintf(want, sizeof want, ": %u problems", problems);
    assert_non_null(strstr(last, want));
    unlink(conf);
}

static void test_check_finds_damage(void **state)
{
    (void)state;
    char *dir = ts_dir_new("storeops");
    struct store *s = ts_store_open(dir, 0);
    fill(s, 30, 0);
    store_close(s);

    MDB_env *env;
    MDB_txn *txn;
    raw_open(dir, &env, &txn);
    MDB_cursor *c;
    MDB_val k, v;
    /* 1. an index entry naming a record that does not exist */
    uint8_t vkey[33] = {PROTO_ITYPE_DOMAIN}, ghost[32] = {0xEE};
    MDB_val gk = {sizeof vkey, vkey}, gv = {sizeof ghost, ghost};
    assert_int_equal(mdb_put(txn, raw_db(txn, "byvalue"), &gk, &gv, 0), 0);
    /* 2. a record's bytime entry removed */
    assert_int_equal(mdb_cursor_open(txn, raw_db(txn, "bytime"), &c), 0);
    assert_int_equal(mdb_cursor_get(c, &k, &v, MDB_FIRST), 0);
    assert_int_equal(mdb_cursor_del(c, 0), 0);
    mdb_cursor_close(c);
    /* 3. a signature byte flipped in the first record (log: added_us || id || sig || body) */
    assert_int_equal(mdb_cursor_open(txn, raw_db(txn, "log"), &c), 0);
    assert_int_equal(mdb_cursor_get(c, &k, &v, MDB_FIRST), 0);
    uint8_t copy[LIMIT_SIG_BYTES + LIMIT_RECORD_BYTES + 40];
    memcpy(copy, v.mv_data, v.mv_size);
    copy[40] ^= 1;
    MDB_val nv = {v.mv_size, copy};
    assert_int_equal(mdb_cursor_put(c, &k, &nv, MDB_CURRENT), 0);
    mdb_cursor_close(c);
    raw_commit(env, txn);

    s = ts_store_open(dir, 0);
    struct lines l = {0};
    struct store_check_report rep = check(s, &l);
    assert_int_equal(rep.problems, 3);
    assert_int_equal(l.n, 3);
    assert_int_equal(rep.records, 36);
    assert_int_equal(rep.indicators, 30);
    assert_int_equal(rep.revocations, 6);
    assert_int_equal(rep.revoked, 6);
    assert_non_null(strstr(l.first, "signature does not verify"));
    store_close(s);
    check_store_cli(dir, 3);
    ts_store_remove(dir);
}

/* Deletes, straight in LMDB, the middle duplicate of the byvalue key that has n of them. */
static void drop_middle_dup(const char *dir, size_t n)
{
    MDB_env *env;
    MDB_txn *txn;
    raw_open(dir, &env, &txn);
    MDB_cursor *c;
    assert_int_equal(mdb_cursor_open(txn, raw_db(txn, "byvalue"), &c), 0);
    MDB_val k, v;
    size_t dups = 0;
    assert_int_equal(mdb_cursor_get(c, &k, &v, MDB_FIRST), 0);
    while (assert_int_equal(mdb_cursor_count(c, &dups), 0), dups != n)
        assert_int_equal(mdb_cursor_get(c, &k, &v, MDB_NEXT_NODUP), 0);
    for (size_t i = 0; i < n / 2; i++)
        assert_int_equal(mdb_cursor_get(c, &k, &v, MDB_NEXT_DUP), 0);
    assert_int_equal(mdb_cursor_del(c, 0), 0);
    mdb_cursor_close(c);
    raw_commit(env, txn);
}

/* A store of several LIMIT_STORE_CHECK_CHUNK chunks in every pass, and one byvalue key whose
 * 2100 duplicates span chunks: the chunked walk visits every entry exactly once (exact counts),
 * and a byvalue duplicate missing from the middle of that key is found. */
static void test_check_in_chunks(void **state)
{
    (void)state;
    enum { SPREAD = 3000, SAME = 2100 };
    _Static_assert(SAME > 2 * LIMIT_STORE_CHECK_CHUNK, "one key's duplicates span chunks");
    char *dir = ts_dir_new("storeops");
    struct store *s = ts_store_open(dir, 0);
    fill(s, SPREAD, 0); /* and SPREAD / 5 revocations */
    struct keys_identity id;
    ts_identity(0x52, &id);
    struct proto_record *r = ts_record_alloc();
    struct filler f = {.s = s, .buf = malloc(FILL_BATCH * sizeof *f.buf)};
    assert_non_null(f.buf);
    for (unsigned i = 0; i < SAME; i++) { /* one value, as many records (other created_ms) */
        ts_indicator(r, PROTO_TLP_GREEN, PROTO_ITYPE_DOMAIN, "same.example", T0 + i,
                     T0 + 30 * DAY);
        fill_add(&f, r, &id);
    }
    fill_flush(&f);
    free(f.buf);
    free(r);
    struct lines l = {0};
    struct store_check_report rep = check(s, &l);
    const uint64_t records = SPREAD + SPREAD / 5 + SAME;
    /* an indicator: seq, byvalue, bytime, expiry; a revocation: seq, bytime, revoked */
    const uint64_t entries = 4 * (SPREAD + SAME) + 3 * (SPREAD / 5);
    assert_int_equal(rep.problems, 0);
    assert_int_equal(rep.records, records);
    assert_int_equal(rep.indicators, SPREAD + SAME);
    assert_int_equal(rep.revocations, SPREAD / 5);
    assert_int_equal(rep.revoked, SPREAD / 5);
    assert_int_equal(rep.index_entries, entries);
    store_close(s);
    drop_middle_dup(dir, SAME);

    s = ts_store_open(dir, 0);
    l = (struct lines){0};
    rep = check(s, &l);
    assert_int_equal(rep.problems, 1);
    assert_non_null(strstr(l.first, "no byvalue index entry"));
    assert_int_equal(rep.records, records);
    assert_int_equal(rep.index_entries, entries - 1);
    store_close(s);
    ts_store_remove(dir);
}

/* --- backup --- */

/* --- bulk writes --- */

enum { BULK_BATCHES = 6, BULK_BATCH = 500 };

struct bulk_fixture {
    struct store_put (*puts)[BULK_BATCH];
    uint8_t (*bufs)[TS_SIGNED_BYTES];
};

/* Signs BULK_BATCHES batches of BULK_BATCH distinct domains into f, allocated (the caller frees
 * f->puts and f->bufs); rec NULL: the store decodes them; the third batch repeats the first's
 * records. */

static void bulk_batches(struct bulk_fixture *f)
{
    struct store_put(*puts)[BULK_BATCH] = f->puts = calloc(BULK_BATCHES, sizeof *puts);
    uint8_t(*bufs)[TS_SIGNED_BYTES] = f->bufs = malloc(BULK_BATCHES * BULK_BATCH * sizeof *bufs);
    assert_non_null(puts);
    assert_non_null(bufs);
    struct keys_identity id;
    ts_identity(0x53, &id);
    struct proto_record *r = ts_record_alloc();
    for (unsigned b = 0; b < BULK_BATCHES; b++)
        for (unsigned i = 0; i < BULK_BATCH; i++) {
            const unsigned v = (b == 2 ? 0 : b) * BULK_BATCH + i;
            char value[64];
            snprintf(value, sizeof value, "bulk%u.example", v);
            ts_indicator(r, PROTO_TLP_GREEN, PROTO_ITYPE_DOMAIN, value, T0 + v, T0 + DAY + v);
            struct store_put *p = &puts[b][i];
            *p = (struct store_put){.signed_rec = bufs[b * BULK_BATCH + i], .added_us = 1 + v};
            p->len = ts_sign(r, &id, bufs[b * BULK_BATCH + i], p->id);
        }
    free(r);
}

/* A bulk write on a 1 MiB map: batches put as store_put_batch puts them (a repeated batch is
 * duplicates, with the first copies' seqs), visible to this thread's reads before they commit
 * and to another process only after; the map grows first, to hold a whole transaction; a write
 * of this thread meanwhile is refused rather than left waiting for itself; an ended bulk that
 * does not commit leaves nothing. */
static void test_bulk(void **state)
{
    (void)state;
    char *dir = ts_dir_new("storeops");
    struct store *s = ts_store_open(dir, 1 << 20);
    struct bulk_fixture f;
    bulk_batches(&f);
    struct store_put(*puts)[BULK_BATCH] = f.puts;
    struct store_bulk *b = NULL;
    assert_int_equal(store_bulk_begin(s, &b), STORE_OK);
    bool committed = true;
    assert_int_equal(store_bulk_put(b, puts[0], 0, &committed), STORE_OK);
    assert_false(committed);
    assert_int_equal(store_bulk_put(b, puts[0], LIMIT_STORE_BATCH + 1, &committed),
                     STORE_E_INVAL);
    uint64_t seq = 1;
    for (unsigned i = 0; i < BULK_BATCHES; i++) {
        assert_int_equal(store_bulk_put(b, puts[i], BULK_BATCH, &committed), STORE_OK);
        for (unsigned j = 0; j < BULK_BATCH; j++) {
            const struct store_put *p = &puts[i][j];
            assert_int_equal(p->result, i == 2 ? STORE_PUT_DUPLICATE : STORE_PUT_ADDED);
            assert_int_equal(p->seq, i == 2 ? puts[0][j].seq : seq++);
            assert_int_equal(store_has(s, p->id), 1); /* this thread reads what is pending */
        }
    }
    const uint8_t meta[1] = {1};
    assert_int_equal(store_meta_put(s, "k", meta, 1), STORE_E_BUSY);
    struct store_stats st;
    assert_int_equal(store_stats(s, &st), STORE_OK);
    assert_int_equal(st.last_seq, seq - 1);
    const uint64_t room = 2 * (uint64_t)LIMIT_STORE_BULK_DIRTY_PAGES * sysconf(_SC_PAGESIZE);
    assert_true(st.map_bytes >= room);
    assert_int_equal(store_bulk_end(b, true), STORE_OK);
    assert_int_equal(store_meta_put(s, "k", meta, 1), STORE_OK);
    struct lines l = {0};
    struct store_check_report rep = check(s, &l);
    assert_int_equal(rep.problems, 0);
    assert_int_equal(rep.records, (BULK_BATCHES - 1) * BULK_BATCH);
    store_close(s);

    /* not committed: nothing of it stays, and another reader never saw it */
    s = ts_store_open(dir, 0);
    /* other ids, so new records to the store (which does not check an id against its body) */
    for (unsigned j = 0; j < BULK_BATCH; j++)
        puts[0][j].id[0] ^= 0x5A;
    assert_int_equal(store_bulk_begin(s, &b), STORE_OK);
    assert_int_equal(store_bulk_put(b, puts[0], BULK_BATCH, &committed), STORE_OK);
    assert_false(committed);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct store_opts ro = {.read_only = true};
        struct store *r = NULL;
        _exit(store_open(&r, dir, &ro, NULL, 0) != STORE_OK || store_has(r, puts[0][0].id) != 0);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_int_equal(store_bulk_end(b, false), STORE_OK);
    assert_int_equal(store_has(s, puts[0][0].id), 0);
    assert_int_equal(store_stats(s, &st), STORE_OK);
    assert_int_equal(st.records, (BULK_BATCHES - 1) * BULK_BATCH);
    store_close(s);
    free(f.puts);
    free(f.bufs);
    ts_store_remove(dir);
}

/* The file's pages used after one bulk write of puts[b] (its own transaction). */
static uint64_t bulk_used_after(struct store *s, struct store_put *batch)
{
    struct store_bulk *b = NULL;
    bool committed = false;
    assert_int_equal(store_bulk_begin(s, &b), STORE_OK);
    assert_int_equal(store_bulk_put(b, batch, BULK_BATCH, &committed), STORE_OK);
    assert_int_equal(store_bulk_end(b, true), STORE_OK);
    struct store_stats st;
    assert_int_equal(store_stats(s, &st), STORE_OK);
    return st.used_bytes;
}

/* A bulk commit reuses the pages the bulk commit before it freed (LMDB frees them for the commit
 * after next; store.c bulk_close_txn commits once between): of three bulk writes, the third,
 * which dirties at least as many pages as the second, grows the file by less, the second having
 * copied most random-key leaves the first wrote. */
static void test_bulk_reuse(void **state)
{
    (void)state;
    struct bulk_fixture f;
    bulk_batches(&f);
    char *dir = ts_dir_new("storeops");
    struct store *st = ts_store_open(dir, 1 << 20);
    const uint64_t first = bulk_used_after(st, f.puts[0]);
    const uint64_t second = bulk_used_after(st, f.puts[1]);
    const uint64_t third = bulk_used_after(st, f.puts[3]);
    assert_true(third - second < second - first);
    struct lines l = {0};
    assert_int_equal(check(st, &l).problems, 0);
    store_close(st);
    free(f.puts);
    free(f.bufs);
    ts_store_remove(dir);
}

static void test_backup_is_a_store(void **state)
{
    (void)state;
    char *dir = ts_dir_new("storeops");
    struct store *s = ts_store_open(dir, 0);
    fill(s, 40, 0);
    char bakdir[LIMIT_PATH_BYTES], file[LIMIT_PATH_BYTES + 16], why[512] = "";
    snprintf(bakdir, sizeof bakdir, "%s/copy", dir);
    assert_int_equal(mkdir(bakdir, 0700), 0);
    snprintf(file, sizeof file, "%s/%s", bakdir, STORE_FILE_NAME);
    assert_int_equal(store_backup(s, file, why, sizeof why), STORE_OK);
    fill(s, 10, 1000); /* after the copy: not in it */
    struct store *b = ts_store_open(bakdir, 0);
    struct lines l = {0};
    struct store_check_report rep = check(b, &l);
    assert_int_equal(rep.problems, 0);
    assert_int_equal(rep.records, 48);
    /* an unwritable destination: one line naming it */
    assert_int_equal(store_backup(s, "/nonexistent/dir/x.mdb", why, sizeof why), STORE_E_IO);
    assert_non_null(strstr(why, "/nonexistent/dir/x.mdb"));
    store_close(b);
    store_close(s);
    ts_store_remove(strdup(bakdir));
    ts_store_remove(dir);
}

/* --- a full file system --- */

static int full_child(const char *dir)
{
    struct store *s = NULL;
    if (store_open(&s, dir, NULL, NULL, 0) != STORE_OK)
        return 70;
    struct store_stats st;
    char path[LIMIT_PATH_BYTES];
    snprintf(path, sizeof path, "%s/%s", dir, STORE_FILE_NAME);
    struct stat fs;
    if (stat(path, &fs) != 0 || store_stats(s, &st) != STORE_OK)
        return 71;
    const uint64_t before = st.records;
    /* the file may grow by 64 KiB only: SIGXFSZ ignored makes the write fail with EFBIG */
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit rl;
    getrlimit(RLIMIT_FSIZE, &rl);
    const rlim_t hard = rl.rlim_max;
    rl.rlim_cur = (rlim_t)fs.st_size + 65536;
    if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
        return 72;
    struct keys_identity id;
    ts_identity(0x52, &id);
    struct proto_record *r = ts_record_alloc();
    uint8_t *buf = malloc(TS_SIGNED_BYTES);
    int err = STORE_OK;
    unsigned added = 0;
    for (unsigned i = 0; i < 5000 && err == STORE_OK; i++) {
        char v[LIMIT_VALUE_BYTES / 2];
        snprintf(v, sizeof v, "https://big.example/%0900u", i); /* big records fill pages fast */
        ts_indicator(r, PROTO_TLP_GREEN, PROTO_ITYPE_URL, v, T0 + i, T0 + DAY);
        struct store_put p = {.rec = r, .signed_rec = buf, .added_us = 1};
        p.len = ts_sign(r, &id, buf, p.id);
        err = store_put_batch(s, &p, 1);
        added += err == STORE_OK;
    }
    if (err != STORE_E_DISKFULL)
        return 73;
    /* nothing half-written: reads work, the count is what was committed; stats say since when
     * commits fail */
    if (store_stats(s, &st) != STORE_OK || st.records != before + added ||
        st.disk_full_since_ms == 0)
        return 74;
    struct store_check_report rep;
    if (store_check(s, &rep, NULL, NULL) != STORE_OK || rep.problems != 0)
        return 75;
    /* space is back: the next write succeeds without reopening */
    rl.rlim_cur = hard;
    if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
        return 76;
    ts_indicator(r, PROTO_TLP_GREEN, PROTO_ITYPE_DOMAIN, "after.example", T0, T0 + DAY);
    struct store_put p = {.rec = r, .signed_rec = buf, .added_us = 1};
    p.len = ts_sign(r, &id, buf, p.id);
    if (store_put_batch(s, &p, 1) != STORE_OK || p.result != STORE_PUT_ADDED)
        return 77;
    if (store_stats(s, &st) != STORE_OK || st.disk_full_since_ms != 0)
        return 78; /* a commit succeeded: no longer full */
    free(buf);
    free(r);
    store_close(s);
    return 0;
}

static void test_disk_full(void **state)
{
    (void)state;
    char *dir = ts_dir_new("storeops");
    struct store *s = ts_store_open(dir, 0);
    fill(s, 10, 0);
    store_close(s);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(full_child(dir));
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    s = ts_store_open(dir, 0);
    struct lines l = {0};
    assert_int_equal(check(s, &l).problems, 0);
    store_close(s);
    ts_store_remove(dir);
}

/* --- bad data directories --- */

static void test_bad_data_dir(void **state)
{
    (void)state;
    struct store *s = NULL;
    char why[512] = "";
    assert_int_equal(store_open(&s, "/nonexistent/parent/data", NULL, why, sizeof why), STORE_E_IO);
    assert_non_null(strstr(why, "cannot create DataDir /nonexistent/parent/data"));
    assert_non_null(strstr(why, "parent directory does not exist"));
    char *dir = ts_dir_new("storeops");
    char file[LIMIT_PATH_BYTES + 8];
    snprintf(file, sizeof file, "%s/file", dir);
    FILE *f = fopen(file, "w");
    assert_non_null(f);
    fclose(f);
    assert_int_equal(store_open(&s, file, NULL, why, sizeof why), STORE_E_IO);
    assert_non_null(strstr(why, "is not a directory"));
    assert_null(s);
    unlink(file);
    ts_dir_free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nested_reads_while_map_grows),
        cmocka_unit_test(test_composite_values),
        cmocka_unit_test(test_schema_migration),
        cmocka_unit_test(test_schema_newer_refused),
        cmocka_unit_test(test_check_finds_damage),
        cmocka_unit_test(test_check_in_chunks),
        cmocka_unit_test(test_bulk),
        cmocka_unit_test(test_bulk_reuse),
        cmocka_unit_test(test_backup_is_a_store),
        cmocka_unit_test(test_disk_full),
        cmocka_unit_test(test_bad_data_dir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
