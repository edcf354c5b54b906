/* test_store.c - the LMDB store against a real LMDB in mkdtemp directories.
 *
 * Records are built as struct values with arbitrary body bytes: given the decoded struct, the
 * store neither decodes nor verifies, so no real encoding or signature is needed; ids are
 * BLAKE2b-256(body) as in proto. test_put_without_rec encodes real bodies: with rec == NULL the
 * store decodes them.
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

#include "store/idindex.h"
#include "store/store.h"
#include "tests/support/ts_dir.h"
#include "tests/support/ts_file.h"
#include "tests/support/ts_record.h"
#include "tests/support/ts_store.h"

enum { BODY_BYTES = 200, MAX_SEEN = 8192, GROWTH_RECORDS = 3000 };

struct trec {
    struct proto_record rec;
    uint8_t signed_rec[LIMIT_SIG_BYTES + BODY_BYTES];
    size_t len;
    uint8_t id[LIMIT_ID_BYTES];
};

struct seen {
    size_t n;
    uint8_t ids[MAX_SEEN][LIMIT_ID_BYTES];
    uint64_t seqs[MAX_SEEN];
};

/* Record number n: a body unique to n, an arbitrary signature, id = BLAKE2b-256(body). */
static void gen(struct trec *t, unsigned n, uint8_t kind, uint8_t origin, uint64_t created_ms)
{
    memset(t, 0, sizeof *t);
    t->rec.version = PROTO_RECORD_VERSION;
    t->rec.kind = kind;
    t->rec.tlp = 1;
    t->rec.created_ms = created_ms;
    memset(t->rec.origin, origin, sizeof t->rec.origin);
    memset(t->signed_rec, 0xEE, LIMIT_SIG_BYTES);
    uint8_t *body = t->signed_rec + LIMIT_SIG_BYTES;
    for (size_t i = 0; i < BODY_BYTES; i++)
        body[i] = (uint8_t)(i * 7 + kind);
    snprintf((char *)body, 32, "body:%u:%u:%u", n, kind, origin);
    t->len = sizeof t->signed_rec;
    crypto_generichash(t->id, sizeof t->id, body, BODY_BYTES, NULL, 0);
}

static void gen_ind(struct trec *t, unsigned n, uint8_t origin, uint64_t created_ms, int itype,
                    const char *value)
{
    gen(t, n, PROTO_KIND_INDICATOR, origin, created_ms);
    t->rec.u.ind.type = (uint8_t)itype;
    snprintf(t->rec.u.ind.value, sizeof t->rec.u.ind.value, "%s", value);
}

static void gen_rev(struct trec *t, unsigned n, uint8_t origin, const uint8_t target[32])
{
    gen(t, n, PROTO_KIND_REVOCATION, origin, 1000 + n);
    memcpy(t->rec.u.rev.target, target, LIMIT_ID_BYTES);
}

static void item_for(struct store_put *it, const struct trec *t)
{
    memset(it, 0, sizeof *it);
    memcpy(it->id, t->id, LIMIT_ID_BYTES);
    it->signed_rec = t->signed_rec;
    it->len = t->len;
    it->rec = &t->rec;
}

/* Puts recs[0..n) in one batch; results go to results[] when not NULL. */
static void put_all(struct store *s, const struct trec *recs, size_t n, int *results)
{
    struct store_put *items = calloc(n, sizeof *items);
    assert_non_null(items);
    for (size_t i = 0; i < n; i++)
        item_for(&items[i], &recs[i]);
    assert_int_equal(store_put_batch(s, items, n), STORE_OK);
    for (size_t i = 0; results != NULL && i < n; i++)
        results[i] = items[i].result;
    free(items);
}

static int collect(const uint8_t id[LIMIT_ID_BYTES], const uint8_t *signed_rec, size_t len,
                   uint64_t seq, void *ctx)
{
    struct seen *sn = ctx;
    assert_true(len > LIMIT_SIG_BYTES && signed_rec != NULL);
    assert_true(sn->n < MAX_SEEN);
    memcpy(sn->ids[sn->n], id, LIMIT_ID_BYTES);
    sn->seqs[sn->n++] = seq;
    return 0;
}

static struct seen *new_seen(void)
{
    struct seen *sn = calloc(1, sizeof *sn);
    assert_non_null(sn);
    return sn;
}

static struct trec *new_recs(size_t n)
{
    struct trec *r = calloc(n, sizeof *r);
    assert_non_null(r);
    return r;
}

/* --- tests --- */

static void test_put_get_round_trip(void **state)
{
    (void)state;
    char *dir = ts_dir_new("store");
    struct store *s = ts_store_open(dir, 0);
    struct trec *t = new_recs(2);
    gen_ind(&t[0], 1, 0xA1, 5000, PROTO_ITYPE_IP_DST, "192.0.2.1");
    gen_ind(&t[1], 2, 0xA1, 5000, PROTO_ITYPE_IP_DST, "192.0.2.2");
    assert_int_equal(store_has(s, t[0].id), 0);
    int results[1];
    put_all(s, t, 1, results);
    assert_int_equal(results[0], STORE_PUT_ADDED);
    assert_int_equal(store_has(s, t[0].id), 1);
    assert_int_equal(store_has(s, t[1].id), 0);

    uint8_t buf[LIMIT_SIG_BYTES + LIMIT_RECORD_BYTES];
    size_t len = 0;
    uint64_t seq = 0;
    assert_int_equal(store_get(s, t[0].id, buf, sizeof buf, &len, &seq), STORE_OK);
    assert_int_equal(len, t[0].len);
    assert_memory_equal(buf, t[0].signed_rec, len);
    assert_int_equal(seq, 1);
    assert_int_equal(store_get(s, t[0].id, buf, 10, &len, NULL), STORE_E_NOSPACE);
    assert_int_equal(len, t[0].len);
    assert_int_equal(store_get(s, t[1].id, buf, sizeof buf, &len, NULL), STORE_E_NOTFOUND);

    /* Durable: visible after close and reopen, and seq continues. */
    store_close(s);
    s = ts_store_open(dir, 0);
    assert_int_equal(store_get(s, t[0].id, buf, sizeof buf, &len, &seq), STORE_OK);
    assert_memory_equal(buf, t[0].signed_rec, t[0].len);
    put_all(s, &t[1], 1, results);
    assert_int_equal(store_get(s, t[1].id, buf, sizeof buf, &len, &seq), STORE_OK);
    assert_int_equal(seq, 2);
    struct store_stats st;
    assert_int_equal(store_stats(s, &st), STORE_OK);
    assert_int_equal(st.records, 2);
    assert_int_equal(st.last_seq, 2);
    store_close(s);
    free(t);
    ts_store_remove(dir);
}

static void test_duplicates_stored_once(void **state)
{
    (void)state;
    char *dir = ts_dir_new("store");
    struct store *s = ts_store_open(dir, 0);
    struct trec *t = new_recs(3);
    gen_ind(&t[0], 1, 0xA1, 10, PROTO_ITYPE_DOMAIN, "example.org");
    t[1] = t[0];
    gen_ind(&t[2], 2, 0xA1, 10, PROTO_ITYPE_DOMAIN, "example.net");
    struct store_put items[3];
    for (int i = 0; i < 3; i++)
        item_for(&items[i], &t[i]);
    assert_int_equal(store_put_batch(s, items, 3), STORE_OK);
    assert_int_equal(items[0].result, STORE_PUT_ADDED);
    assert_int_equal(items[0].seq, 1);
    assert_int_equal(items[1].result, STORE_PUT_DUPLICATE);
    assert_int_equal(items[1].seq, 1);
    assert_int_equal(items[2].result, STORE_PUT_ADDED);
    assert_int_equal(items[2].seq, 2);

    assert_int_equal(store_put_batch(s, items, 3), STORE_OK);
    for (int i = 0; i < 3; i++)
        assert_int_equal(items[i].result, STORE_PUT_DUPLICATE);
    assert_int_equal(items[2].seq, 2);

    struct store_stats st;
    assert_int_equal(store_stats(s, &st), STORE_OK);
    assert_int_equal(st.records, 2);
    assert_int_equal(st.last_seq, 2);
    struct seen *sn = new_seen();
    assert_int_equal(store_find_value(s, PROTO_ITYPE_DOMAIN, "example.org", collect, sn), STORE_OK);
    assert_int_equal(sn->n, 1);
    store_close(s);
    free(sn);
    free(t);
    ts_store_remove(dir);
}

static bool seen_has(const struct seen *sn, const uint8_t id[LIMIT_ID_BYTES])
{
    for (size_t i = 0; i < sn->n; i++)
        if (memcmp(sn->ids[i], id, LIMIT_ID_BYTES) == 0)
            return true;
    return false;
}

static void test_find_value(void **state)
{
    (void)state;
    char *dir = ts_dir_new("store");
    struct store *s = ts_store_open(dir, 0);
    struct trec *t = new_recs(6);
    gen_ind(&t[0], 1, 0xA1, 10, PROTO_ITYPE_IP_DST, "198.51.100.7");
    gen_ind(&t[1], 2, 0xB2, 20, PROTO_ITYPE_IP_DST, "198.51.100.7");
    gen_ind(&t[2], 3, 0xA1, 30, PROTO_ITYPE_IP_SRC, "198.51.100.7"); /* other type */
    gen_ind(&t[3], 4, 0xA1, 40, PROTO_ITYPE_IP_DST, "198.51.100.70"); /* other value */
    gen_ind(&t[4], 5, 0xC3, 50, PROTO_ITYPE_IP_DST, "198.51.100.7");
    uint8_t target[LIMIT_ID_BYTES] = {1};
    gen_rev(&t[5], 6, 0xA1, target);
    put_all(s, t, 6, NULL);

    struct seen *sn = new_seen();
    assert_int_equal(store_find_value(s, PROTO_ITYPE_IP_DST, "198.51.100.7", collect, sn),
                     STORE_OK);
    assert_int_equal(sn->n, 3);
    assert_true(seen_has(sn, t[0].id) && seen_has(sn, t[1].id) && seen_has(sn, t[4].id));
    /* In id order. */
    assert_true(memcmp(sn->ids[0], sn->ids[1], LIMIT_ID_BYTES) < 0);
    assert_true(memcmp(sn->ids[1], sn->ids[2], LIMIT_ID_BYTES) < 0);

    memset(sn, 0, sizeof *sn);
    assert_int_equal(store_find_value(s, PROTO_ITYPE_IP_SRC, "198.51.100.7", collect, sn),
                     STORE_OK);
    assert_int_equal(sn->n, 1);
    assert_memory_equal(sn->ids[0], t[2].id, LIMIT_ID_BYTES);

    memset(sn, 0, sizeof *sn);
    assert_int_equal(store_find_value(s, PROTO_ITYPE_IP_DST, "198.51.100.8", collect, sn),
                     STORE_OK);
    assert_int_equal(sn->n, 0);
    assert_int_equal(store_find_value(s, PROTO_ITYPE_END, "x", collect, sn), STORE_E_INVAL);
    store_close(s);
    free(sn);
    free(t);
    ts_store_remove(dir);
}

static int stop_after_one(const uint8_t id[LIMIT_ID_BYTES], const uint8_t *signed_rec,
                          size_t len, uint64_t seq, void *ctx)
{
    (void)id, (void)signed_rec, (void)len, (void)seq;
    ++*(int *)ctx;
    return 7;
}

static void test_iter_time(void **state)
{
    (void)state;
    char *dir = ts_dir_new("store");
    struct store *s = ts_store_open(dir, 0);
    const uint64_t times[] = {500, 100, 300, 300, 200, 400};
    struct trec *t = new_recs(6);
    for (unsigned i = 0; i < 6; i++)
        gen_ind(&t[i], i, 0xA1, times[i], PROTO_ITYPE_MD5, "d41d8cd98f00b204e9800998ecf8427e");
    put_all(s, t, 6, NULL);

    struct seen *sn = new_seen();
    assert_int_equal(store_iter_time(s, 200, 400, collect, sn), STORE_OK);
    assert_int_equal(sn->n, 3); /* 200, 300, 300; 400 is excluded */
    assert_memory_equal(sn->ids[0], t[4].id, LIMIT_ID_BYTES);
    assert_true(seen_has(sn, t[2].id) && seen_has(sn, t[3].id));
    assert_false(seen_has(sn, t[5].id));

    memset(sn, 0, sizeof *sn);
    assert_int_equal(store_iter_time(s, 0, UINT64_MAX, collect, sn), STORE_OK);
    assert_int_equal(sn->n, 6);
    assert_memory_equal(sn->ids[0], t[1].id, LIMIT_ID_BYTES);
    assert_memory_equal(sn->ids[5], t[0].id, LIMIT_ID_BYTES);

    int calls = 0;
    assert_int_equal(store_iter_time(s, 0, UINT64_MAX, stop_after_one, &calls), 7);
    assert_int_equal(calls, 1);
    store_close(s);
    free(sn);
    free(t);
    ts_store_remove(dir);
}

static void test_iter_seq(void **state)
{
    (void)state;
    char *dir = ts_dir_new("store");
    struct store *s = ts_store_open(dir, 0);
    struct trec *t = new_recs(10);
    for (unsigned i = 0; i < 10; i++)
        gen_ind(&t[i], i, 0xA1, 1000 - i, PROTO_ITYPE_SHA1,
                "da39a3ee5e6b4b0d3255bfef95601890afd80709");
    put_all(s, t, 4, NULL);
    put_all(s, t + 4, 6, NULL);

    struct seen *sn = new_seen();
    assert_int_equal(store_iter_seq(s, 6, collect, sn), STORE_OK);
    assert_int_equal(sn->n, 4);
    for (unsigned i = 0; i < 4; i++) {
        assert_int_equal(sn->seqs[i], 7 + i);
        assert_memory_equal(sn->ids[i], t[6 + i].id, LIMIT_ID_BYTES);
    }
    memset(sn, 0, sizeof *sn);
    assert_int_equal(store_iter_seq(s, 0, collect, sn), STORE_OK);
    assert_int_equal(sn->n, 10);
    memset(sn, 0, sizeof *sn);
    assert_int_equal(store_iter_seq(s, 10, collect, sn), STORE_OK);
    assert_int_equal(sn->n, 0);
    assert_int_equal(store_iter_seq(s, UINT64_MAX, collect, sn), STORE_OK);
    assert_int_equal(sn->n, 0);
    store_close(s);
    free(sn);
    free(t);
    ts_store_remove(dir);
}

/* Short-id lookup: exactly the records whose id starts with the prefix, in id order. */
static void test_find_prefix(void **state)
{
    (void)state;
    char *dir = ts_dir_new("store");
    struct store *s = ts_store_open(dir, 0);
    enum { N = 300 };
    struct trec *t = new_recs(N);
    for (unsigned i = 0; i < N; i++)
        gen(&t[i], i, PROTO_KIND_SIGHTING, 0xA1, 1000 + i);
    put_all(s, t, N, NULL);

    struct seen *sn = new_seen();
    for (unsigned i = 0; i < N; i++) {
        memset(sn, 0, sizeof *sn);
        assert_int_equal(store_find_prefix(s, t[i].id, 8, collect, sn), STORE_OK);
        assert_int_equal(sn->n, 1);
        assert_memory_equal(sn->ids[0], t[i].id, LIMIT_ID_BYTES);
        assert_int_equal(sn->seqs[0], i + 1);
    }
    /* One-byte prefix: every record with that first byte, ascending. */
    uint8_t first = t[0].id[0];
    size_t expect = 0;
    for (unsigned i = 0; i < N; i++)
        expect += t[i].id[0] == first;
    memset(sn, 0, sizeof *sn);
    assert_int_equal(store_find_prefix(s, &first, 1, collect, sn), STORE_OK);
    assert_int_equal(sn->n, expect);
    for (size_t i = 0; i < sn->n; i++) {
        assert_int_equal(sn->ids[i][0], first);
        if (i > 0)
            assert_true(memcmp(sn->ids[i - 1], sn->ids[i], LIMIT_ID_BYTES) < 0);
    }
    /* A prefix no record has: nothing, even when a neighbour sorts right after it. */
    uint8_t absent[8];
    memcpy(absent, t[0].id, 8);
    absent[7] ^= 0x01;
    memset(sn, 0, sizeof *sn);
    assert_int_equal(store_find_prefix(s, absent, 8, collect, sn), STORE_OK);
    assert_int_equal(sn->n, 0);
    assert_int_equal(store_find_prefix(s, absent, 0, collect, sn), STORE_E_INVAL);
    assert_int_equal(store_find_prefix(s, absent, LIMIT_ID_BYTES + 1, collect, sn),
                     STORE_E_INVAL);
    store_close(s);
    free(sn);
    free(t);
    ts_store_remove(dir);
}

static void test_revocation_before_target(void **state)
{
    (void)state;
    char *dir = ts_dir_new("store");
    struct store *s = ts_store_open(dir, 0);
    struct trec *t = new_recs(4);
    gen_ind(&t[0], 1, 0xA1, 10, PROTO_ITYPE_URL, "http://example.org/x");
    gen_rev(&t[1], 2, 0xB2, t[0].id); /* a stranger's revocation first: must not occupy */
    gen_rev(&t[2], 3, 0xA1, t[0].id); /* the origin's own */
    const uint8_t *origin = t[0].rec.origin;

    int results[2];
    put_all(s, &t[1], 2, results);
    assert_int_equal(results[0], STORE_PUT_ADDED);
    assert_int_equal(results[1], STORE_PUT_ADDED);
    assert_int_equal(store_is_revoked(s, t[0].id, origin), 1);
    uint8_t rev_id[LIMIT_ID_BYTES];
    assert_int_equal(store_revocation_for(s, t[0].id, origin, rev_id), STORE_OK);
    assert_memory_equal(rev_id, t[2].id, LIMIT_ID_BYTES);

    put_all(s, &t[0], 1, results);
    assert_int_equal(results[0], STORE_PUT_REVOKED);
    assert_int_equal(store_has(s, t[0].id), 0);

    /* Revocation and target in one batch, revocation first. */
    gen_ind(&t[3], 4, 0xA1, 10, PROTO_ITYPE_URL, "http://example.org/y");
    struct trec *pair = new_recs(2);
    gen_rev(&pair[0], 5, 0xA1, t[3].id);
    pair[1] = t[3];
    put_all(s, pair, 2, results);
    assert_int_equal(results[0], STORE_PUT_ADDED);
    assert_int_equal(results[1], STORE_PUT_REVOKED);
    store_close(s);
    free(pair);
    free(t);
    ts_store_remove(dir);
}

static void gen_sight(struct trec *t, unsigned n, uint8_t origin, const uint8_t target[32])
{
    gen(t, n, PROTO_KIND_SIGHTING, origin, 2000 + n);
    memcpy(t->rec.u.sight.target, target, LIMIT_ID_BYTES);
}

static void gen_roster(struct trec *t, unsigned n, uint8_t owner)
{
    gen(t, n, PROTO_KIND_ROSTER, owner, 3000 + n);
}

/* sighted: every sighting of a target, whoever made it, also before the target arrives;
 * rosters: every version of every owner's rosters, by owner or all. */
static void test_sightings_and_rosters(void **state)
{
    (void)state;
    char *dir = ts_dir_new("store");
    struct store *s = ts_store_open(dir, 0);
    struct trec *t = new_recs(8);
    gen_ind(&t[0], 1, 0xA1, 10, PROTO_ITYPE_DOMAIN, "example.org");
    gen_ind(&t[1], 2, 0xA1, 10, PROTO_ITYPE_DOMAIN, "example.net");
    gen_sight(&t[2], 3, 0xB2, t[0].id);
    gen_sight(&t[3], 4, 0xC3, t[0].id);
    gen_sight(&t[4], 5, 0xB2, t[1].id);
    gen_roster(&t[5], 6, 0xD4);
    gen_roster(&t[6], 7, 0xD4);
    gen_roster(&t[7], 8, 0x05);
    put_all(s, &t[2], 6, NULL); /* sightings before their targets */
    put_all(s, t, 2, NULL);

    struct seen *sn = new_seen();
    assert_int_equal(store_iter_sightings(s, t[0].id, collect, sn), STORE_OK);
    assert_int_equal(sn->n, 2);
    assert_true(seen_has(sn, t[2].id) && seen_has(sn, t[3].id));
    assert_true(memcmp(sn->ids[0], sn->ids[1], LIMIT_ID_BYTES) < 0);
    memset(sn, 0, sizeof *sn);
    assert_int_equal(store_iter_sightings(s, t[1].id, collect, sn), STORE_OK);
    assert_int_equal(sn->n, 1);
    assert_memory_equal(sn->ids[0], t[4].id, LIMIT_ID_BYTES);
    memset(sn, 0, sizeof *sn);
    assert_int_equal(store_iter_sightings(s, t[2].id, collect, sn), STORE_OK);
    assert_int_equal(sn->n, 0);
    int calls = 0;
    assert_int_equal(store_iter_sightings(s, t[0].id, stop_after_one, &calls), 7);
    assert_int_equal(calls, 1);

    memset(sn, 0, sizeof *sn);
    assert_int_equal(store_iter_rosters(s, t[5].rec.origin, collect, sn), STORE_OK);
    assert_int_equal(sn->n, 2);
    assert_true(seen_has(sn, t[5].id) && seen_has(sn, t[6].id));
    memset(sn, 0, sizeof *sn);
    assert_int_equal(store_iter_rosters(s, NULL, collect, sn), STORE_OK);
    assert_int_equal(sn->n, 3);
    assert_memory_equal(sn->ids[0], t[7].id, LIMIT_ID_BYTES); /* owner 0x05 first */
    memset(sn, 0, sizeof *sn);
    uint8_t nobody[LIMIT_KEY_BYTES] = {0};
    assert_int_equal(store_iter_rosters(s, nobody, collect, sn), STORE_OK);
    assert_int_equal(sn->n, 0);

    /* A read-only reader sees the same indexes. */
    store_close(s);
    struct store_opts ro = {.read_only = true};
    assert_int_equal(store_open(&s, dir, &ro, NULL, 0), STORE_OK);
    memset(sn, 0, sizeof *sn);
    assert_int_equal(store_iter_sightings(s, t[0].id, collect, sn), STORE_OK);
    assert_int_equal(sn->n, 2);
    store_close(s);
    free(sn);
    free(t);
    ts_store_remove(dir);
}

static void gen_expiring(struct trec *t, unsigned n, uint64_t created_ms, const char *value,
                         uint64_t valid_until_ms)
{
    gen_ind(t, n, 0xA1, created_ms, PROTO_ITYPE_IP_DST, value);
    t->rec.u.ind.valid_until_ms = valid_until_ms;
}

/* Expired past the grace period: gone from records and every index, earliest expiry first, at
 * most max per call; tombstones, sightings and arrival times stay. */
static void test_prune_expired(void **state)
{
    (void)state;
    char *dir = ts_dir_new("store");
    struct store *s = ts_store_open(dir, 0);
    struct trec *t = new_recs(7);
    gen_expiring(&t[0], 1, 100, "192.0.2.1", 1000);     /* seq 1: due at 2000 with grace 1000 */
    gen_expiring(&t[1], 2, 200, "192.0.2.1", 1000000);  /* seq 2: same value, stays */
    gen_expiring(&t[2], 3, 300, "192.0.2.2", 2000);     /* seq 3: due at 3000 */
    gen_expiring(&t[3], 4, 400, "192.0.2.3", 3000);     /* seq 4: due at exactly 4000 */
    gen_rev(&t[4], 5, 0xA1, t[2].id);                    /* seq 5: its origin revokes t[2] */
    gen_sight(&t[5], 6, 0xB2, t[0].id);                  /* seq 6: a sighting of t[0] */
    gen_expiring(&t[6], 7, 700, "192.0.2.4", 500);      /* seq 7: expired first, arrived last */
    struct store_put items[7];
    for (unsigned i = 0; i < 7; i++) {
        item_for(&items[i], &t[i]);
        items[i].added_us = 10 * (i + 1);
    }
    assert_int_equal(store_put_batch(s, items, 7), STORE_OK);

    size_t pruned = 99;
    assert_int_equal(store_prune_expired(s, 3500, 1000, 0, &pruned), STORE_E_INVAL);
    assert_int_equal(pruned, 0);
    assert_int_equal(store_prune_expired(s, 3500, 1000, LIMIT_PRUNE_BATCH + 1, &pruned),
                     STORE_E_INVAL);
    /* t[6], t[0] and t[2] are due at 3500; max 1 takes the earliest expiry only */
    assert_int_equal(store_prune_expired(s, 3500, 1000, 1, &pruned), STORE_OK);
    assert_int_equal(pruned, 1);
    assert_int_equal(store_has(s, t[6].id), 0);
    assert_int_equal(store_has(s, t[0].id), 1);
    assert_int_equal(store_prune_expired(s, 3500, 1000, LIMIT_PRUNE_BATCH, &pruned), STORE_OK);
    assert_int_equal(pruned, 2);
    assert_int_equal(store_prune_expired(s, 3500, 1000, LIMIT_PRUNE_BATCH, &pruned), STORE_OK);
    assert_int_equal(pruned, 0);
    /* the boundary: valid_until + grace == now is due (the gate's "expired" is <= now) */
    assert_int_equal(store_prune_expired(s, 3999, 1000, LIMIT_PRUNE_BATCH, &pruned), STORE_OK);
    assert_int_equal(pruned, 0);
    assert_int_equal(store_has(s, t[3].id), 1);
    assert_int_equal(store_prune_expired(s, 4000, 1000, LIMIT_PRUNE_BATCH, &pruned), STORE_OK);
    assert_int_equal(pruned, 1);

    uint8_t buf[LIMIT_SIG_BYTES + LIMIT_RECORD_BYTES];
    size_t len = 0;
    for (unsigned i = 0; i < 7; i++) {
        bool gone = i == 0 || i == 2 || i == 3 || i == 6;
        assert_int_equal(store_has(s, t[i].id), gone ? 0 : 1);
        assert_int_equal(store_get(s, t[i].id, buf, sizeof buf, &len, NULL),
                         gone ? STORE_E_NOTFOUND : STORE_OK);
    }
    struct seen *sn = new_seen();
    assert_int_equal(store_find_value(s, PROTO_ITYPE_IP_DST, "192.0.2.1", collect, sn), STORE_OK);
    assert_int_equal(sn->n, 1);
    assert_memory_equal(sn->ids[0], t[1].id, LIMIT_ID_BYTES);
    memset(sn, 0, sizeof *sn);
    assert_int_equal(store_find_value(s, PROTO_ITYPE_IP_DST, "192.0.2.2", collect, sn), STORE_OK);
    assert_int_equal(sn->n, 0);
    memset(sn, 0, sizeof *sn);
    assert_int_equal(store_iter_seq(s, 0, collect, sn), STORE_OK);
    assert_int_equal(sn->n, 3);
    const unsigned left[3] = {1, 4, 5};
    for (unsigned i = 0; i < 3; i++) {
        assert_memory_equal(sn->ids[i], t[left[i]].id, LIMIT_ID_BYTES);
        assert_int_equal(sn->seqs[i], left[i] + 1);
    }
    memset(sn, 0, sizeof *sn);
    assert_int_equal(store_iter_time(s, 0, UINT64_MAX, collect, sn), STORE_OK);
    assert_int_equal(sn->n, 3);
    assert_false(seen_has(sn, t[0].id) || seen_has(sn, t[2].id) || seen_has(sn, t[3].id) ||
                 seen_has(sn, t[6].id));
    /* arrival times outlive their records: "added after 15 us" is still "seq after 1" */
    uint64_t seq = 0;
    assert_int_equal(store_seq_at_time(s, 15, &seq), STORE_OK);
    assert_int_equal(seq, 1);
    assert_int_equal(store_seq_at_time(s, 65, &seq), STORE_OK);
    assert_int_equal(seq, 6);
    /* the tombstone stays and still refuses the revoked record; so does the sighting */
    assert_int_equal(store_is_revoked(s, t[2].id, t[2].rec.origin), 1);
    int results[1];
    put_all(s, &t[2], 1, results);
    assert_int_equal(results[0], STORE_PUT_REVOKED);
    memset(sn, 0, sizeof *sn);
    assert_int_equal(store_iter_sightings(s, t[0].id, collect, sn), STORE_OK);
    assert_int_equal(sn->n, 1);
    /* a new record still takes the next seq after the pruned ones */
    struct trec *late = new_recs(1);
    gen_expiring(late, 8, 800, "192.0.2.8", 9000);
    struct store_put it;
    item_for(&it, late);
    assert_int_equal(store_put_batch(s, &it, 1), STORE_OK);
    assert_int_equal(it.seq, 8);
    struct store_stats st;
    assert_int_equal(store_stats(s, &st), STORE_OK);
    assert_int_equal(st.records, 4);
    assert_int_equal(st.last_seq, 8);

    store_close(s);
    struct store_opts ro = {.read_only = true};
    assert_int_equal(store_open(&s, dir, &ro, NULL, 0), STORE_OK);
    assert_int_equal(store_prune_expired(s, 1000000000, 1000, 1, &pruned), STORE_E_READONLY);
    store_close(s);
    free(late);
    free(sn);
    free(t);
    ts_store_remove(dir);
}

static void test_revocation_other_origin(void **state)
{
    (void)state;
    char *dir = ts_dir_new("store");
    struct store *s = ts_store_open(dir, 0);
    struct trec *t = new_recs(3);
    gen_ind(&t[0], 1, 0xA1, 10, PROTO_ITYPE_HOSTNAME, "mail.example.org");
    gen_rev(&t[1], 2, 0xB2, t[0].id);
    int results[1];
    put_all(s, &t[1], 1, results);
    put_all(s, &t[0], 1, results);
    assert_int_equal(results[0], STORE_PUT_ADDED);
    assert_int_equal(store_is_revoked(s, t[0].id, t[0].rec.origin), 0);
    uint8_t rev_id[LIMIT_ID_BYTES];
    assert_int_equal(store_revocation_for(s, t[0].id, t[0].rec.origin, rev_id),
                     STORE_E_NOTFOUND);

    /* The origin's revocation after its target: the target stays, is_revoked turns true. */
    gen_rev(&t[2], 3, 0xA1, t[0].id);
    put_all(s, &t[2], 1, results);
    assert_int_equal(store_is_revoked(s, t[0].id, t[0].rec.origin), 1);
    assert_int_equal(store_has(s, t[0].id), 1);
    store_close(s);
    free(t);
    ts_store_remove(dir);
}

static void test_map_growth(void **state)
{
    (void)state;
    char *dir = ts_dir_new("store");
    struct store *s = ts_store_open(dir, 64 * 1024);
    struct store_stats st;
    assert_int_equal(store_stats(s, &st), STORE_OK);
    assert_int_equal(st.map_bytes, 64 * 1024);
    struct trec *t = new_recs(GROWTH_RECORDS);
    for (unsigned i = 0; i < GROWTH_RECORDS; i++) {
        char value[64];
        snprintf(value, sizeof value, "host%u.example.org", i);
        gen_ind(&t[i], i, 0xA1, i, PROTO_ITYPE_DOMAIN, value);
    }
    for (size_t i = 0; i < GROWTH_RECORDS; i += 1000)
        put_all(s, t + i, 1000, NULL);
    assert_int_equal(store_stats(s, &st), STORE_OK);
    assert_int_equal(st.records, GROWTH_RECORDS);
    assert_true(st.map_bytes > 64 * 1024);
    assert_true(st.used_bytes <= st.map_bytes);
    store_close(s);

    s = ts_store_open(dir, 64 * 1024);
    for (unsigned i = 0; i < GROWTH_RECORDS; i++)
        assert_int_equal(store_has(s, t[i].id), 1);
    struct seen *sn = new_seen();
    assert_int_equal(store_find_value(s, PROTO_ITYPE_DOMAIN, "host2999.example.org", collect, sn),
                     STORE_OK);
    assert_int_equal(sn->n, 1);
    store_close(s);
    free(sn);
    free(t);
    ts_store_remove(dir);
}

/* The reader process: opens read-only after the first batch, checks what the parent committed
 * at each step. Exit status: 0 when everything matched, else the failed step. */
static int reader_child(const char *dir, int from_parent, int to_parent, const struct trec *t,
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
    item_for(&item, &t[first]);
    if (store_put_batch(s, &item, 1) != STORE_E_READONLY)
        return 15;
    if (write(to_parent, "b", 1) != 1 || read(from_parent, &c, 1) != 1)
        return 16;
    /* The parent grew the map meanwhile: the store must adopt the new size. */
    struct seen *sn = calloc(1, sizeof *sn);
    if (sn == NULL || store_iter_seq(s, first, collect, sn) != STORE_OK ||
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
    struct trec *t = new_recs(TOTAL);
    for (unsigned i = 0; i < TOTAL; i++)
        gen_ind(&t[i], i, 0xA1, i, PROTO_ITYPE_FILENAME, "invoice.pdf.exe");
    struct store *s = ts_store_open(dir, 64 * 1024);
    put_all(s, t, FIRST, NULL);
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
        put_all(s, t + i, 1000, NULL);
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

/* Opening path's store must fail with STORE_E_CORRUPT, name the path, and leave it unchanged. */
static void expect_corrupt(const char *dir)
{
    char path[LIMIT_PATH_BYTES];
    snprintf(path, sizeof path, "%s/%s", dir, STORE_FILE_NAME);
    size_t len_before, len_after;
    char *before = ts_file_read(path, &len_before);
    for (int ro = 0; ro <= 1; ro++) {
        struct store_opts opts = {.read_only = ro};
        struct store *s = (struct store *)&opts; /* must be reset to NULL */
        char why[256] = "";
        assert_int_equal(store_open(&s, dir, &opts, why, sizeof why), STORE_E_CORRUPT);
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
    expect_corrupt(dir);
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
    expect_corrupt(dir);
    ts_store_remove(dir);

    dir = ts_dir_new("store"); /* an LMDB file of someone else */
    raw_lmdb_put(dir, NULL, "hello", "world", 5);
    expect_corrupt(dir);
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
    struct trec *t = new_recs(12);
    for (unsigned i = 0; i < 12; i++)
        gen_ind(&t[i], i, 0xA1, i, PROTO_ITYPE_EMAIL_SRC, "a@example.org");
    put_all(s, t, 2, NULL);
    struct store_stats before;
    assert_int_equal(store_stats(s, &before), STORE_OK);

    /* Item 7 of 10 is refused after items 0..6 were written in the transaction. */
    struct store_put items[10];
    for (int i = 0; i < 10; i++)
        item_for(&items[i], &t[2 + i]);
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
    struct seen *sn = new_seen();
    assert_int_equal(store_find_value(s, PROTO_ITYPE_EMAIL_SRC, "a@example.org", collect, sn),
                     STORE_OK);
    assert_int_equal(sn->n, 2);
    memset(sn, 0, sizeof *sn);
    assert_int_equal(store_iter_time(s, 0, UINT64_MAX, collect, sn), STORE_OK);
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

/* --- rec == NULL: the store decodes the body itself --- */

enum { NULLREC_N = 6, DUMP_MAX = 1 << 16 };

/* A real encoded record (the rec == NULL path decodes it); the signature is not checked. */
static void encoded(struct trec *t, const struct proto_record *r)
{
    memset(t, 0, sizeof *t);
    t->rec = *r;
    uint8_t body[LIMIT_RECORD_BYTES];
    int n = proto_record_encode(r, body, sizeof body);
    assert_true(n > 0 && (size_t)n <= BODY_BYTES);
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
static struct trec *nullrec_records(void)
{
    struct trec *t = new_recs(NULLREC_N);
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
static void put_nullrec(struct store *s, const struct trec *t, size_t n, bool with_rec,
                        int *results)
{
    struct store_put items[NULLREC_N];
    assert_true(n <= NULLREC_N);
    for (size_t i = 0; i < n; i++) {
        item_for(&items[i], &t[i]);
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
    static const char *const dbs[] = {"records", "byvalue", "bytime", "seq", "revoked",
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
    struct trec *t = nullrec_records();
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
    struct trec *more = new_recs(2);
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
        item_for(&items[i], &more[i]);
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

static void test_peer_and_meta(void **state)
{
    (void)state;
    char *dir = ts_dir_new("store");
    struct store *s = ts_store_open(dir, 0);
    uint8_t peer[LIMIT_KEY_BYTES];
    memset(peer, 0x42, sizeof peer);
    uint8_t buf[LIMIT_STORE_PEER_BLOB_BYTES];
    size_t len = 0;
    assert_int_equal(store_peer_get(s, peer, buf, sizeof buf, &len), STORE_E_NOTFOUND);
    assert_int_equal(store_peer_put(s, peer, (const uint8_t *)"cursor=17", 9), STORE_OK);
    assert_int_equal(store_peer_put(s, peer, (const uint8_t *)"cursor=18", 9), STORE_OK);
    assert_int_equal(store_peer_get(s, peer, buf, sizeof buf, &len), STORE_OK);
    assert_int_equal(len, 9);
    assert_memory_equal(buf, "cursor=18", 9);
    assert_int_equal(store_peer_get(s, peer, buf, 3, &len), STORE_E_NOSPACE);
    assert_int_equal(len, 9);
    assert_int_equal(store_peer_put(s, peer, buf, LIMIT_STORE_PEER_BLOB_BYTES + 1),
                     STORE_E_INVAL);

    assert_int_equal(store_meta_put(s, "node.name", (const uint8_t *)"n1", 2), STORE_OK);
    assert_int_equal(store_meta_get(s, "node.name", buf, sizeof buf, &len), STORE_OK);
    assert_int_equal(len, 2);
    assert_memory_equal(buf, "n1", 2);
    assert_int_equal(store_meta_put(s, "store.schema", buf, 4), STORE_E_INVAL);
    assert_int_equal(store_meta_get(s, "store.next_seq", buf, sizeof buf, &len), STORE_E_INVAL);
    store_close(s);
    ts_store_remove(dir);
}

/* The id index (store/idindex.h) under crafted hashes: long runs that wrap past the table's end,
 * equal tags, deletion in a scattered order. Every live entry stays reachable from its home slot
 * and no removed one is found, after every step and after a growth. */
enum { IDX_N = 64 };

static uint64_t idx_hash(const void *owner, size_t i)
{
    (void)owner;
    /* homes crowd the last slots (runs wrap), and one entry in three shares its tag */
    return (uint64_t)(i % 3 == 0 ? 7 : i % 5) << 32 | (uint64_t)(125 + i % 4);
}

static bool idx_finds(const struct idindex *x, size_t i)
{
    const uint64_t h = idx_hash(NULL, i);
    size_t s = idindex_home(x, h);
    for (uint32_t e; (e = idindex_next(x, h, &s)) != IDINDEX_NONE;)
        if (e == i)
            return true;
    return false;
}

static void test_idindex_churn(void **state)
{
    (void)state;
    struct idindex x = {NULL, 0};
    assert_true(idindex_grow(&x, IDX_N / 2, 0, idx_hash, NULL));
    assert_false(idx_finds(&x, 0));
    for (size_t i = 0; i < IDX_N / 2; i++)
        idindex_put(&x, idx_hash(NULL, i), i);
    assert_true(idindex_grow(&x, IDX_N, IDX_N / 2, idx_hash, NULL)); /* rehashes the half */
    assert_int_equal(x.cap, 2 * IDX_N);
    for (size_t i = IDX_N / 2; i < IDX_N; i++)
        idindex_put(&x, idx_hash(NULL, i), i);
    bool live[IDX_N];
    for (size_t i = 0; i < IDX_N; i++) {
        live[i] = true;
        assert_true(idx_finds(&x, i));
    }
    for (size_t k = 0; k < IDX_N; k++) {
        const size_t gone = k * 37 % IDX_N; /* 37 is prime to 64: every entry once */
        idindex_del(&x, gone, idx_hash, NULL);
        live[gone] = false;
        for (size_t i = 0; i < IDX_N; i++)
            assert_int_equal(idx_finds(&x, i), live[i]);
    }
    for (size_t s = 0; s < x.cap; s++)
        assert_int_equal(x.slot[s], 0);
    idindex_free(&x);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_put_get_round_trip),
        cmocka_unit_test(test_duplicates_stored_once),
        cmocka_unit_test(test_find_value),
        cmocka_unit_test(test_iter_time),
        cmocka_unit_test(test_iter_seq),
        cmocka_unit_test(test_find_prefix),
        cmocka_unit_test(test_revocation_before_target),
        cmocka_unit_test(test_revocation_other_origin),
        cmocka_unit_test(test_map_growth),
        cmocka_unit_test(test_reader_process),
        cmocka_unit_test(test_corrupt_junk),
        cmocka_unit_test(test_corrupt_schema),
        cmocka_unit_test(test_sightings_and_rosters),
        cmocka_unit_test(test_prune_expired),
        cmocka_unit_test(test_read_only_missing),
        cmocka_unit_test(test_batch_all_or_nothing),
        cmocka_unit_test(test_peer_and_meta),
        cmocka_unit_test(test_put_without_rec),
        cmocka_unit_test(test_idindex_churn),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
