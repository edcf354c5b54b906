/* test_store_file.c - the LMDB store's file: map growth, a reader in another process, damaged
 * and missing files, all-or-nothing batches.
 *
 * Records are struct values with arbitrary body bytes (tests/support/ts_trec.h).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <lmdb.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store/store.h"
#include "tests/support/ts_dir.h"
#include "tests/support/ts_file.h"
#include "tests/support/ts_record.h"
#include "tests/support/ts_store.h"
#include "tests/support/ts_trec.h"

enum { GROWTH_RECORDS = 3000 };

static void test_map_growth(void **state)
{
    (void)state;
    char *dir = ts_dir_new("store");
    struct store *s = ts_store_open(dir, 64 * 1024);
    struct store_stats st;
    assert_int_equal(store_stats(s, &st), STORE_OK);
    assert_int_equal(st.map_bytes, 64 * 1024);
    struct ts_trec *t = ts_trec_new(GROWTH_RECORDS);
    for (unsigned i = 0; i < GROWTH_RECORDS; i++) {
        char value[64];
        snprintf(value, sizeof value, "host%u.example.org", i);
        ts_trec_ind(&t[i], i, 0xA1, i, PROTO_ITYPE_DOMAIN, value);
    }
    for (size_t i = 0; i < GROWTH_RECORDS; i += 1000)
        ts_trec_put_all(s, t + i, 1000, NULL);
    assert_int_equal(store_stats(s, &st), STORE_OK);
    assert_int_equal(st.records, GROWTH_RECORDS);
    assert_true(st.map_bytes > 64 * 1024);
    assert_true(st.used_bytes <= st.map_bytes);
    store_close(s);

    s = ts_store_open(dir, 64 * 1024);
    for (unsigned i = 0; i < GROWTH_RECORDS; i++)
        assert_int_equal(store_has(s, t[i].id), 1);
    struct ts_seen *sn = ts_seen_new();
    assert_int_equal(
        store_find_value(s, PROTO_ITYPE_DOMAIN, "host2999.example.org", ts_seen_collect, sn),
        STORE_OK);
    assert_int_equal(sn->n, 1);
    store_close(s);
    free(sn);
    free(t);
    ts_store_remove(dir);
}

/* The reader process: opens read-only after the first batch, checks what the parent committed
 * at each step. Exit status: 0 when everything matched, else the failed step. */
static int reader_child(const char *dir, int from_parent, int to_parent, const struct ts_trec *t,
                        size_t first, size_t total)
{
    char c;
    if (read(from_parent, &c, 1) != 1)
        return 10;
    struct store_opts ro = {.read_only = true};
    struct store *s = NULL;
    if (store_open(&s, dir, &ro, NULL, 0) != STORE_OK)
        return 11;
    struct store_stats st;
    if (store_stats(s, &st) != STORE_OK || st.records != first)
        return 12;
    for (size_t i = 0; i < first; i++)
        if (store_has(s, t[i].id) != 1)
            return 13;
    if (store_has(s, t[first].id) != 0)
        return 14;
    struct store_put item;
    ts_trec_item(&item, &t[first]);
    if (store_put_batch(s, &item, 1) != STORE_E_READONLY)
        return 15;
    if (write(to_parent, "b", 1) != 1 || read(from_parent, &c, 1) != 1)
        return 16;
    /* The parent grew the map meanwhile: the store must adopt the new size. */
    struct ts_seen *sn = calloc(1, sizeof *sn);
    if (sn == NULL || store_iter_seq(s, first, ts_seen_collect, sn) != STORE_OK ||
        sn->n != total - first)
        return 17;
    for (size_t i = first; i < total; i++)
        if (memcmp(sn->ids[i - first], t[i].id, LIMIT_ID_BYTES) != 0)
            return 18;
    free(sn);
    store_close(s);
    return 0;
}

static void test_reader_process(void **state)
{
    (void)state;
    enum { FIRST = 10, TOTAL = 2010 };
    char *dir = ts_dir_new("store");
    struct ts_trec *t = ts_trec_new(TOTAL);
    for (unsigned i = 0; i < TOTAL; i++)
        ts_trec_ind(&t[i], i, 0xA1, i, PROTO_ITYPE_FILENAME, "invoice.pdf.exe");
    struct store *s = ts_store_open(dir, 64 * 1024);
    ts_trec_put_all(s, t, FIRST, NULL);
    int p2c[2], c2p[2];
    assert_int_equal(pipe(p2c), 0);
    assert_int_equal(pipe(c2p), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) /* the child never touches the parent's LMDB environment */
        _exit(reader_child(dir, p2c[0], c2p[1], t, FIRST, TOTAL));
    assert_int_equal(write(p2c[1], "a", 1), 1);
    char c;
    assert_int_equal(read(c2p[0], &c, 1), 1);
    struct store_stats before;
    assert_int_equal(store_stats(s, &before), STORE_OK);
    for (size_t i = FIRST; i < TOTAL; i += 1000)
        ts_trec_put_all(s, t + i, 1000, NULL);
    struct store_stats after;
    assert_int_equal(store_stats(s, &after), STORE_OK);
    assert_true(after.map_bytes > before.map_bytes);
    assert_int_equal(write(p2c[1], "c", 1), 1);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    close(p2c[0]), close(p2c[1]), close(c2p[0]), close(c2p[1]);
    store_close(s);
    free(t);
    ts_store_remove(dir);
}

/* Opening path's store must fail with err, name the path, and leave it unchanged. */
static void expect_refused(const char *dir, int err)
{
    char path[LIMIT_PATH_BYTES];
    snprintf(path, sizeof path, "%s/%s", dir, STORE_FILE_NAME);
    size_t len_before, len_after;
    char *before = ts_file_read(path, &len_before);
    for (int ro = 0; ro <= 1; ro++) {
        struct store_opts opts = {.read_only = ro};
        struct store *s = (struct store *)&opts; /* must be reset to NULL */
        char why[256] = "";
        assert_int_equal(store_open(&s, dir, &opts, why, sizeof why), err);
        assert_null(s);
        assert_non_null(strstr(why, path));
    }
    char *after = ts_file_read(path, &len_after);
    assert_int_equal(len_after, len_before);
    assert_memory_equal(after, before, len_before);
    free(before);
    free(after);
}

static void test_corrupt_junk(void **state)
{
    (void)state;
    char *dir = ts_dir_new("store");
    char path[LIMIT_PATH_BYTES];
    snprintf(path, sizeof path, "%s/%s", dir, STORE_FILE_NAME);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    for (unsigned i = 0; i < 65536; i++)
        fputc((int)(i * 31 % 251), f);
    fclose(f);
    expect_refused(dir, STORE_E_CORRUPT);
    ts_store_remove(dir);
}

/* Writes key=value into the named database of the LMDB file in dir (NULL name = main). */
static void raw_lmdb_put(const char *dir, const char *db, const char *key, const void *val,
                         size_t len)
{
    char path[LIMIT_PATH_BYTES];
    snprintf(path, sizeof path, "%s/%s", dir, STORE_FILE_NAME);
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    assert_int_equal(mdb_env_create(&env), 0);
    assert_int_equal(mdb_env_set_maxdbs(env, LIMIT_STORE_DBS), 0);
    assert_int_equal(mdb_env_open(env, path, MDB_NOSUBDIR, 0600), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, db, MDB_CREATE, &dbi), 0);
    MDB_val k = {strlen(key), (void *)key}, v = {len, (void *)val};
    assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
    assert_int_equal(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
}

static void test_corrupt_schema(void **state)
{
    (void)state;
    char *dir = ts_dir_new("store");
    store_close(ts_store_open(dir, 0));
    const uint8_t future[4] = {0, 0, 0, STORE_SCHEMA_VERSION + 1};
    raw_lmdb_put(dir, "meta", "store.schema", future, sizeof future);
    expect_refused(dir, STORE_E_SCHEMA);
    ts_store_remove(dir);

    dir = ts_dir_new("store"); /* an LMDB file of someone else */
    raw_lmdb_put(dir, NULL, "hello", "world", 5);
    expect_refused(dir, STORE_E_CORRUPT);
    ts_store_remove(dir);
}

static void test_read_only_missing(void **state)
{
    (void)state;
    struct store_opts ro = {.read_only = true};
    struct store *s = NULL;
    char why[256] = "";
    assert_int_equal(store_open(&s, "/nonexistent/tlp-store-test", &ro, why, sizeof why),
                     STORE_E_NOSTORE);
    assert_null(s);
    assert_non_null(strstr(why, "/nonexistent/tlp-store-test/store.mdb"));
    char *dir = ts_dir_new("store"); /* a directory without a store: nothing created in it */
    assert_int_equal(store_open(&s, dir, &ro, why, sizeof why), STORE_E_NOSTORE);
    ts_dir_free(dir);
}

static void test_batch_all_or_nothing(void **state)
{
    (void)state;
    char *dir = ts_dir_new("store");
    struct store *s = ts_store_open(dir, 64 * 1024);
    struct ts_trec *t = ts_trec_new(12);
    for (unsigned i = 0; i < 12; i++)
        ts_trec_ind(&t[i], i, 0xA1, i, PROTO_ITYPE_EMAIL_SRC, "a@example.org");
    ts_trec_put_all(s, t, 2, NULL);
    struct store_stats before;
    assert_int_equal(store_stats(s, &before), STORE_OK);

    /* Item 7 of 10 is refused after items 0..6 were written in the transaction. */
    struct store_put items[10];
    for (int i = 0; i < 10; i++)
        ts_trec_item(&items[i], &t[2 + i]);
    items[7].len = LIMIT_SIG_BYTES + LIMIT_RECORD_BYTES + 1;
    assert_int_equal(store_put_batch(s, items, 10), STORE_E_INVAL);
    items[7].len = t[9].len;
    t[9].rec.u.ind.type = PROTO_ITYPE_END;
    assert_int_equal(store_put_batch(s, items, 10), STORE_E_INVAL);

    struct store_stats after;
    assert_int_equal(store_stats(s, &after), STORE_OK);
    assert_int_equal(after.records, before.records);
    assert_int_equal(after.last_seq, before.last_seq);
    for (int i = 2; i < 12; i++)
        assert_int_equal(store_has(s, t[i].id), 0);
    struct ts_seen *sn = ts_seen_new();
    assert_int_equal(
        store_find_value(s, PROTO_ITYPE_EMAIL_SRC, "a@example.org", ts_seen_collect, sn), STORE_OK);
    assert_int_equal(sn->n, 2);
    memset(sn, 0, sizeof *sn);
    assert_int_equal(store_iter_time(s, 0, UINT64_MAX, ts_seen_collect, sn), STORE_OK);
    assert_int_equal(sn->n, 2);

    /* The fixed batch then takes the next seqs, with no gap. */
    t[9].rec.u.ind.type = PROTO_ITYPE_EMAIL_SRC;
    assert_int_equal(store_put_batch(s, items, 10), STORE_OK);
    assert_int_equal(items[0].seq, 3);
    assert_int_equal(items[9].seq, 12);

    struct store_put too_many = items[0];
    assert_int_equal(store_put_batch(s, &too_many, (size_t)LIMIT_STORE_BATCH + 1), STORE_E_INVAL);
    store_close(s);
    free(sn);
    free(t);
    ts_store_remove(dir);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_map_growth),
        cmocka_unit_test(test_reader_process),
        cmocka_unit_test(test_corrupt_junk),
        cmocka_unit_test(test_corrupt_schema),
        cmocka_unit_test(test_read_only_missing),
        cmocka_unit_test(test_batch_all_or_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
