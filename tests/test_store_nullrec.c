/* test_store_nullrec.c - the LMDB store with rec == NULL: it decodes real encoded bodies
 * itself and must index them exactly as when the caller gives the decoded record.
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

#include "store/store.h"
#include "tests/support/ts_dir.h"
#include "tests/support/ts_record.h"
#include "tests/support/ts_store.h"
#include "tests/support/ts_trec.h"

enum { NULLREC_N = 6, DUMP_MAX = 1 << 16 };

/* A real encoded record (the rec == NULL path decodes it); the signature is not checked. */
static void encoded(struct ts_trec *t, const struct proto_record *r)
{
    memset(t, 0, sizeof *t);
    t->rec = *r;
    uint8_t body[LIMIT_RECORD_BYTES];
    int n = proto_record_encode(r, body, sizeof body);
    assert_true(n > 0 && (size_t)n <= TS_TREC_BODY_BYTES);
    memset(t->signed_rec, 0xEE, LIMIT_SIG_BYTES);
    memcpy(t->signed_rec + LIMIT_SIG_BYTES, body, (size_t)n);
    t->len = LIMIT_SIG_BYTES + (size_t)n;
    proto_record_id(body, (size_t)n, t->id);
}

static struct proto_record *base_record(uint8_t kind, uint8_t origin, uint64_t created_ms)
{
    struct proto_record *r = ts_record_alloc();
    ts_record(r, kind, PROTO_TLP_GREEN, created_ms);
    memset(r->origin, origin, LIMIT_KEY_BYTES);
    return r;
}

/* One record of every kind, with every kind index: an indicator, a revocation of a second
 * indicator that comes later in the batch (refused), a sighting, a roster, a duplicate. */
static struct ts_trec *nullrec_records(void)
{
    struct ts_trec *t = ts_trec_new(NULLREC_N);
    struct proto_record *r = base_record(PROTO_KIND_INDICATOR, 0xA1, 1000);
    r->u.ind.type = PROTO_ITYPE_DOMAIN;
    snprintf(r->u.ind.value, sizeof r->u.ind.value, "example.org");
    r->u.ind.valid_until_ms = 90000;
    encoded(&t[0], r);
    snprintf(r->u.ind.value, sizeof r->u.ind.value, "example.net");
    encoded(&t[5], r);
    free(r);
    r = base_record(PROTO_KIND_REVOCATION, 0xA1, 2000);
    memcpy(r->u.rev.target, t[5].id, LIMIT_ID_BYTES);
    encoded(&t[1], r);
    free(r);
    r = base_record(PROTO_KIND_SIGHTING, 0xB2, 3000);
    memcpy(r->u.sight.target, t[0].id, LIMIT_ID_BYTES);
    r->u.sight.count = 3;
    r->u.sight.first_seen_ms = 2500;
    r->u.sight.last_seen_ms = 2900;
    encoded(&t[2], r);
    free(r);
    r = base_record(PROTO_KIND_ROSTER, 0xC3, 4000);
    snprintf(r->u.roster.name, sizeof r->u.roster.name, "ops");
    r->u.roster.version = 1;
    r->u.roster.n_members = 2;
    memset(r->u.roster.members[0].key, 0x01, LIMIT_KEY_BYTES);
    snprintf(r->u.roster.members[0].org, sizeof r->u.roster.members[0].org, "Org A");
    memset(r->u.roster.members[1].key, 0x02, LIMIT_KEY_BYTES);
    snprintf(r->u.roster.members[1].org, sizeof r->u.roster.members[1].org, "Org B");
    encoded(&t[3], r);
    free(r);
    t[4] = t[0];
    return t;
}

/* Puts t[0..n) in one batch, with or without the decoded structs. */
static void put_nullrec(struct store *s, const struct ts_trec *t, size_t n, bool with_rec,
                        int *results)
{
    struct store_put items[NULLREC_N];
    assert_true(n <= NULLREC_N);
    for (size_t i = 0; i < n; i++) {
        ts_trec_item(&items[i], &t[i]);
        items[i].added_us = 7000000 + i;
        if (!with_rec)
            items[i].rec = NULL;
    }
    assert_int_equal(store_put_batch(s, items, n), STORE_OK);
    for (size_t i = 0; i < n; i++)
        results[i] = items[i].result;
}

static void dump_append(uint8_t *out, size_t *len, const void *p, size_t n)
{
    assert_true(*len + sizeof n + n <= DUMP_MAX);
    memcpy(out + *len, &n, sizeof n);
    memcpy(out + *len + sizeof n, p, n);
    *len += sizeof n + n;
}

/* Every entry of every named database of the (closed) store in dir, in LMDB's order. */
static size_t dump_store(const char *dir, uint8_t *out)
{
    static const char *const dbs[] = {"log", "ids", "byvalue", "bytime", "revoked",
                                      "meta", "peers", "sighted", "rosters", "expiry"};
    char path[LIMIT_PATH_BYTES];
    snprintf(path, sizeof path, "%s/%s", dir, STORE_FILE_NAME);
    MDB_env *env = NULL;
    MDB_txn *txn = NULL;
    assert_int_equal(mdb_env_create(&env), 0);
    assert_int_equal(mdb_env_set_maxdbs(env, LIMIT_STORE_DBS), 0);
    assert_int_equal(mdb_env_open(env, path, MDB_NOSUBDIR | MDB_RDONLY, 0600), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
    size_t len = 0;
    for (size_t d = 0; d < sizeof dbs / sizeof dbs[0]; d++) {
        MDB_dbi dbi;
        MDB_cursor *c = NULL;
        assert_int_equal(mdb_dbi_open(txn, dbs[d], 0, &dbi), 0);
        assert_int_equal(mdb_cursor_open(txn, dbi, &c), 0);
        dump_append(out, &len, dbs[d], strlen(dbs[d]));
        MDB_val k, v;
        for (int rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
             rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
            dump_append(out, &len, k.mv_data, k.mv_size);
            dump_append(out, &len, v.mv_data, v.mv_size);
        }
        mdb_cursor_close(c);
    }
    mdb_txn_abort(txn);
    mdb_env_close(env);
    return len;
}

/* Without the decoded structs the store builds exactly the same records and indexes, byte for
 * byte; a body that does not decode fails the batch and changes nothing. */
static void test_put_without_rec(void **state)
{
    (void)state;
    struct ts_trec *t = nullrec_records();
    char *dir_rec = ts_dir_new("store"), *dir_null = ts_dir_new("store");
    int res_rec[NULLREC_N], res_null[NULLREC_N];
    struct store *s = ts_store_open(dir_rec, 0);
    put_nullrec(s, t, NULLREC_N, true, res_rec);
    store_close(s);
    s = ts_store_open(dir_null, 0);
    put_nullrec(s, t, NULLREC_N, false, res_null);
    static const int want[NULLREC_N] = {STORE_PUT_ADDED, STORE_PUT_ADDED, STORE_PUT_ADDED,
                                        STORE_PUT_ADDED, STORE_PUT_DUPLICATE, STORE_PUT_REVOKED};
    assert_memory_equal(res_rec, want, sizeof want);
    assert_memory_equal(res_null, want, sizeof want);

    /* A body that does not decode fails the batch, after a good new record or under the id of
     * a stored one, and nothing is written. */
    struct ts_trec *more = ts_trec_new(2);
    struct proto_record *r = base_record(PROTO_KIND_INDICATOR, 0xA1, 5000);
    r->u.ind.type = PROTO_ITYPE_DOMAIN;
    snprintf(r->u.ind.value, sizeof r->u.ind.value, "example.com");
    r->u.ind.valid_until_ms = 90000;
    encoded(&more[0], r);
    free(r);
    more[1] = t[3];
    more[1].signed_rec[LIMIT_SIG_BYTES] ^= 0xFF; /* a map header no longer */
    crypto_generichash(more[1].id, sizeof more[1].id, more[1].signed_rec + LIMIT_SIG_BYTES,
                       more[1].len - LIMIT_SIG_BYTES, NULL, 0);
    struct store_put items[2];
    for (size_t i = 0; i < 2; i++) {
        ts_trec_item(&items[i], &more[i]);
        items[i].rec = NULL;
    }
    assert_int_equal(store_put_batch(s, items, 2), STORE_E_INVAL);
    memcpy(items[1].id, t[3].id, LIMIT_ID_BYTES);
    assert_int_equal(store_put_batch(s, &items[1], 1), STORE_E_INVAL);
    assert_int_equal(store_has(s, more[0].id), 0);
    store_close(s);

    uint8_t *a = malloc(DUMP_MAX), *b = malloc(DUMP_MAX);
    assert_non_null(a);
    assert_non_null(b);
    size_t la = dump_store(dir_rec, a), lb = dump_store(dir_null, b);
    assert_int_equal(la, lb);
    assert_memory_equal(a, b, la);
    free(a);
    free(b);
    free(more);
    free(t);
    ts_store_remove(dir_rec);
    ts_store_remove(dir_null);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_put_without_rec),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
