/* test_store_index.c - the LMDB store's indexes against a real LMDB in mkdtemp directories: put
 * and get, duplicates, lookups by value, time, seq and id prefix, revocations, sightings and
 * rosters, pruning expired indicators, the peer and meta state.
 *
 * Records are struct values with arbitrary body bytes (tests/support/ts_trec.h).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "tests/support/ts_dir.h"
#include "tests/support/ts_store.h"
#include "tests/support/ts_trec.h"

static void gen_rev(struct ts_trec *t, unsigned n, uint8_t origin, const uint8_t target[32])
{
    ts_trec_gen(t, n, PROTO_KIND_REVOCATION, origin, 1000 + n);
    memcpy(t->rec.u.rev.target, target, LIMIT_ID_BYTES);
}

static void test_put_get_round_trip(void **state)
{
    (void)state;
    char *dir = ts_dir_new("store");
    struct store *s = ts_store_open(dir, 0);
    struct ts_trec *t = ts_trec_new(2);
    ts_trec_ind(&t[0], 1, 0xA1, 5000, PROTO_ITYPE_IP_DST, "192.0.2.1");
    ts_trec_ind(&t[1], 2, 0xA1, 5000, PROTO_ITYPE_IP_DST, "192.0.2.2");
    assert_int_equal(store_has(s, t[0].id), 0);
    int results[1];
    ts_trec_put_all(s, t, 1, results);
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
    ts_trec_put_all(s, &t[1], 1, results);
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
    struct ts_trec *t = ts_trec_new(3);
    ts_trec_ind(&t[0], 1, 0xA1, 10, PROTO_ITYPE_DOMAIN, "example.org");
    t[1] = t[0];
    ts_trec_ind(&t[2], 2, 0xA1, 10, PROTO_ITYPE_DOMAIN, "example.net");
    struct store_put items[3];
    for (int i = 0; i < 3; i++)
        ts_trec_item(&items[i], &t[i]);
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
    struct ts_seen *sn = ts_seen_new();
    assert_int_equal(store_find_value(s, PROTO_ITYPE_DOMAIN, "example.org", ts_seen_collect, sn),
                     STORE_OK);
    assert_int_equal(sn->n, 1);
    store_close(s);
    free(sn);
    free(t);
    ts_store_remove(dir);
}

static bool seen_has(const struct ts_seen *sn, const uint8_t id[LIMIT_ID_BYTES])
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
    struct ts_trec *t = ts_trec_new(6);
    ts_trec_ind(&t[0], 1, 0xA1, 10, PROTO_ITYPE_IP_DST, "198.51.100.7");
    ts_trec_ind(&t[1], 2, 0xB2, 20, PROTO_ITYPE_IP_DST, "198.51.100.7");
    ts_trec_ind(&t[2], 3, 0xA1, 30, PROTO_ITYPE_IP_SRC, "198.51.100.7");  /* other type */
    ts_trec_ind(&t[3], 4, 0xA1, 40, PROTO_ITYPE_IP_DST, "198.51.100.70"); /* other value */
    ts_trec_ind(&t[4], 5, 0xC3, 50, PROTO_ITYPE_IP_DST, "198.51.100.7");
    uint8_t target[LIMIT_ID_BYTES] = {1};
    gen_rev(&t[5], 6, 0xA1, target);
    ts_trec_put_all(s, t, 6, NULL);

    struct ts_seen *sn = ts_seen_new();
    assert_int_equal(store_find_value(s, PROTO_ITYPE_IP_DST, "198.51.100.7", ts_seen_collect, sn),
                     STORE_OK);
    assert_int_equal(sn->n, 3);
    assert_true(seen_has(sn, t[0].id) && seen_has(sn, t[1].id) && seen_has(sn, t[4].id));
    /* In id order. */
    assert_true(memcmp(sn->ids[0], sn->ids[1], LIMIT_ID_BYTES) < 0);
    assert_true(memcmp(sn->ids[1], sn->ids[2], LIMIT_ID_BYTES) < 0);

    memset(sn, 0, sizeof *sn);
    assert_int_equal(store_find_value(s, PROTO_ITYPE_IP_SRC, "198.51.100.7", ts_seen_collect, sn),
                     STORE_OK);
    assert_int_equal(sn->n, 1);
    assert_memory_equal(sn->ids[0], t[2].id, LIMIT_ID_BYTES);

    memset(sn, 0, sizeof *sn);
    assert_int_equal(store_find_value(s, PROTO_ITYPE_IP_DST, "198.51.100.8", ts_seen_collect, sn),
                     STORE_OK);
    assert_int_equal(sn->n, 0);
    assert_int_equal(store_find_value(s, PROTO_ITYPE_END, "x", ts_seen_collect, sn), STORE_E_INVAL);
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
    struct ts_trec *t = ts_trec_new(6);
    for (unsigned i = 0; i < 6; i++)
        ts_trec_ind(&t[i], i, 0xA1, times[i], PROTO_ITYPE_MD5, "d41d8cd98f00b204e9800998ecf8427e");
    ts_trec_put_all(s, t, 6, NULL);

    struct ts_seen *sn = ts_seen_new();
    assert_int_equal(store_iter_time(s, 200, 400, ts_seen_collect, sn), STORE_OK);
    assert_int_equal(sn->n, 3); /* 200, 300, 300; 400 is excluded */
    assert_memory_equal(sn->ids[0], t[4].id, LIMIT_ID_BYTES);
    assert_true(seen_has(sn, t[2].id) && seen_has(sn, t[3].id));
    assert_false(seen_has(sn, t[5].id));

    memset(sn, 0, sizeof *sn);
    assert_int_equal(store_iter_time(s, 0, UINT64_MAX, ts_seen_collect, sn), STORE_OK);
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
    struct ts_trec *t = ts_trec_new(10);
    for (unsigned i = 0; i < 10; i++)
        ts_trec_ind(&t[i], i, 0xA1, 1000 - i, PROTO_ITYPE_SHA1,
                    "da39a3ee5e6b4b0d3255bfef95601890afd80709");
    ts_trec_put_all(s, t, 4, NULL);
    ts_trec_put_all(s, t + 4, 6, NULL);

    struct ts_seen *sn = ts_seen_new();
    assert_int_equal(store_iter_seq(s, 6, ts_seen_collect, sn), STORE_OK);
    assert_int_equal(sn->n, 4);
    for (unsigned i = 0; i < 4; i++) {
        assert_int_equal(sn->seqs[i], 7 + i);
        assert_memory_equal(sn->ids[i], t[6 + i].id, LIMIT_ID_BYTES);
    }
    memset(sn, 0, sizeof *sn);
    assert_int_equal(store_iter_seq(s, 0, ts_seen_collect, sn), STORE_OK);
    assert_int_equal(sn->n, 10);
    memset(sn, 0, sizeof *sn);
    assert_int_equal(store_iter_seq(s, 10, ts_seen_collect, sn), STORE_OK);
    assert_int_equal(sn->n, 0);
    assert_int_equal(store_iter_seq(s, UINT64_MAX, ts_seen_collect, sn), STORE_OK);
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
    struct ts_trec *t = ts_trec_new(N);
    for (unsigned i = 0; i < N; i++)
        ts_trec_gen(&t[i], i, PROTO_KIND_SIGHTING, 0xA1, 1000 + i);
    ts_trec_put_all(s, t, N, NULL);

    struct ts_seen *sn = ts_seen_new();
    for (unsigned i = 0; i < N; i++) {
        memset(sn, 0, sizeof *sn);
        assert_int_equal(store_find_prefix(s, t[i].id, 8, ts_seen_collect, sn), STORE_OK);
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
    assert_int_equal(store_find_prefix(s, &first, 1, ts_seen_collect, sn), STORE_OK);
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
    assert_int_equal(store_find_prefix(s, absent, 8, ts_seen_collect, sn), STORE_OK);
    assert_int_equal(sn->n, 0);
    assert_int_equal(store_find_prefix(s, absent, 0, ts_seen_collect, sn), STORE_E_INVAL);
    assert_int_equal(store_find_prefix(s, absent, LIMIT_ID_BYTES + 1, ts_seen_collect, sn),
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
    struct ts_trec *t = ts_trec_new(4);
    ts_trec_ind(&t[0], 1, 0xA1, 10, PROTO_ITYPE_URL, "http://example.org/x");
    gen_rev(&t[1], 2, 0xB2, t[0].id); /* a stranger's revocation first: must not occupy */
    gen_rev(&t[2], 3, 0xA1, t[0].id); /* the origin's own */
    const uint8_t *origin = t[0].rec.origin;

    int results[2];
    ts_trec_put_all(s, &t[1], 2, results);
    assert_int_equal(results[0], STORE_PUT_ADDED);
    assert_int_equal(results[1], STORE_PUT_ADDED);
    assert_int_equal(store_is_revoked(s, t[0].id, origin), 1);
    uint8_t rev_id[LIMIT_ID_BYTES];
    assert_int_equal(store_revocation_for(s, t[0].id, origin, rev_id), STORE_OK);
    assert_memory_equal(rev_id, t[2].id, LIMIT_ID_BYTES);

    ts_trec_put_all(s, &t[0], 1, results);
    assert_int_equal(results[0], STORE_PUT_REVOKED);
    assert_int_equal(store_has(s, t[0].id), 0);

    /* Revocation and target in one batch, revocation first. */
    ts_trec_ind(&t[3], 4, 0xA1, 10, PROTO_ITYPE_URL, "http://example.org/y");
    struct ts_trec *pair = ts_trec_new(2);
    gen_rev(&pair[0], 5, 0xA1, t[3].id);
    pair[1] = t[3];
    ts_trec_put_all(s, pair, 2, results);
    assert_int_equal(results[0], STORE_PUT_ADDED);
    assert_int_equal(results[1], STORE_PUT_REVOKED);
    store_close(s);
    free(pair);
    free(t);
    ts_store_remove(dir);
}

static void gen_sight(struct ts_trec *t, unsigned n, uint8_t origin, const uint8_t target[32])
{
    ts_trec_gen(t, n, PROTO_KIND_SIGHTING, origin, 2000 + n);
    memcpy(t->rec.u.sight.target, target, LIMIT_ID_BYTES);
}

static void gen_roster(struct ts_trec *t, unsigned n, uint8_t owner)
{
    ts_trec_gen(t, n, PROTO_KIND_ROSTER, owner, 3000 + n);
}

/* sighted: every sighting of a target, whoever made it, also before the target arrives;
 * rosters: every version of every owner's rosters, by owner or all. */
static void test_sightings_and_rosters(void **state)
{
    (void)state;
    char *dir = ts_dir_new("store");
    struct store *s = ts_store_open(dir, 0);
    struct ts_trec *t = ts_trec_new(8);
    ts_trec_ind(&t[0], 1, 0xA1, 10, PROTO_ITYPE_DOMAIN, "example.org");
    ts_trec_ind(&t[1], 2, 0xA1, 10, PROTO_ITYPE_DOMAIN, "example.net");
    gen_sight(&t[2], 3, 0xB2, t[0].id);
    gen_sight(&t[3], 4, 0xC3, t[0].id);
    gen_sight(&t[4], 5, 0xB2, t[1].id);
    gen_roster(&t[5], 6, 0xD4);
    gen_roster(&t[6], 7, 0xD4);
    gen_roster(&t[7], 8, 0x05);
    ts_trec_put_all(s, &t[2], 6, NULL); /* sightings before their targets */
    ts_trec_put_all(s, t, 2, NULL);

    struct ts_seen *sn = ts_seen_new();
    assert_int_equal(store_iter_sightings(s, t[0].id, ts_seen_collect, sn), STORE_OK);
    assert_int_equal(sn->n, 2);
    assert_true(seen_has(sn, t[2].id) && seen_has(sn, t[3].id));
    assert_true(memcmp(sn->ids[0], sn->ids[1], LIMIT_ID_BYTES) < 0);
    memset(sn, 0, sizeof *sn);
    assert_int_equal(store_iter_sightings(s, t[1].id, ts_seen_collect, sn), STORE_OK);
    assert_int_equal(sn->n, 1);
    assert_memory_equal(sn->ids[0], t[4].id, LIMIT_ID_BYTES);
    memset(sn, 0, sizeof *sn);
    assert_int_equal(store_iter_sightings(s, t[2].id, ts_seen_collect, sn), STORE_OK);
    assert_int_equal(sn->n, 0);
    int calls = 0;
    assert_int_equal(store_iter_sightings(s, t[0].id, stop_after_one, &calls), 7);
    assert_int_equal(calls, 1);

    memset(sn, 0, sizeof *sn);
    assert_int_equal(store_iter_rosters(s, t[5].rec.origin, ts_seen_collect, sn), STORE_OK);
    assert_int_equal(sn->n, 2);
    assert_true(seen_has(sn, t[5].id) && seen_has(sn, t[6].id));
    memset(sn, 0, sizeof *sn);
    assert_int_equal(store_iter_rosters(s, NULL, ts_seen_collect, sn), STORE_OK);
    assert_int_equal(sn->n, 3);
    assert_memory_equal(sn->ids[0], t[7].id, LIMIT_ID_BYTES); /* owner 0x05 first */
    memset(sn, 0, sizeof *sn);
    uint8_t nobody[LIMIT_KEY_BYTES] = {0};
    assert_int_equal(store_iter_rosters(s, nobody, ts_seen_collect, sn), STORE_OK);
    assert_int_equal(sn->n, 0);

    /* A read-only reader sees the same indexes. */
    store_close(s);
    struct store_opts ro = {.read_only = true};
    assert_int_equal(store_open(&s, dir, &ro, NULL, 0), STORE_OK);
    memset(sn, 0, sizeof *sn);
    assert_int_equal(store_iter_sightings(s, t[0].id, ts_seen_collect, sn), STORE_OK);
    assert_int_equal(sn->n, 2);
    store_close(s);
    free(sn);
    free(t);
    ts_store_remove(dir);
}

static void gen_expiring(struct ts_trec *t, unsigned n, uint64_t created_ms, const char *value,
                         uint64_t valid_until_ms)
{
    ts_trec_ind(t, n, 0xA1, created_ms, PROTO_ITYPE_IP_DST, value);
    t->rec.u.ind.valid_until_ms = valid_until_ms;
}

/* Expired past the grace period: gone from records and every index, earliest expiry first, at
 * most max per call; tombstones, sightings and arrival times stay. */
static void test_prune_expired(void **state)
{
    (void)state;
    char *dir = ts_dir_new("store");
    struct store *s = ts_store_open(dir, 0);
    struct ts_trec *t = ts_trec_new(7);
    gen_expiring(&t[0], 1, 100, "192.0.2.1", 1000);     /* seq 1: due at 2000 with grace 1000 */
    gen_expiring(&t[1], 2, 200, "192.0.2.1", 1000000);  /* seq 2: same value, stays */
    gen_expiring(&t[2], 3, 300, "192.0.2.2", 2000);     /* seq 3: due at 3000 */
    gen_expiring(&t[3], 4, 400, "192.0.2.3", 3000);     /* seq 4: due at exactly 4000 */
    gen_rev(&t[4], 5, 0xA1, t[2].id);                    /* seq 5: its origin revokes t[2] */
    gen_sight(&t[5], 6, 0xB2, t[0].id);                  /* seq 6: a sighting of t[0] */
    gen_expiring(&t[6], 7, 700, "192.0.2.4", 500);      /* seq 7: expired first, arrived last */
    struct store_put items[7];
    for (unsigned i = 0; i < 7; i++) {
        ts_trec_item(&items[i], &t[i]);
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
    struct ts_seen *sn = ts_seen_new();
    assert_int_equal(store_find_value(s, PROTO_ITYPE_IP_DST, "192.0.2.1", ts_seen_collect, sn),
                     STORE_OK);
    assert_int_equal(sn->n, 1);
    assert_memory_equal(sn->ids[0], t[1].id, LIMIT_ID_BYTES);
    memset(sn, 0, sizeof *sn);
    assert_int_equal(store_find_value(s, PROTO_ITYPE_IP_DST, "192.0.2.2", ts_seen_collect, sn),
                     STORE_OK);
    assert_int_equal(sn->n, 0);
    memset(sn, 0, sizeof *sn);
    assert_int_equal(store_iter_seq(s, 0, ts_seen_collect, sn), STORE_OK);
    assert_int_equal(sn->n, 3);
    const unsigned left[3] = {1, 4, 5};
    for (unsigned i = 0; i < 3; i++) {
        assert_memory_equal(sn->ids[i], t[left[i]].id, LIMIT_ID_BYTES);
        assert_int_equal(sn->seqs[i], left[i] + 1);
    }
    memset(sn, 0, sizeof *sn);
    assert_int_equal(store_iter_time(s, 0, UINT64_MAX, ts_seen_collect, sn), STORE_OK);
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
    ts_trec_put_all(s, &t[2], 1, results);
    assert_int_equal(results[0], STORE_PUT_REVOKED);
    memset(sn, 0, sizeof *sn);
    assert_int_equal(store_iter_sightings(s, t[0].id, ts_seen_collect, sn), STORE_OK);
    assert_int_equal(sn->n, 1);
    /* a new record still takes the next seq after the pruned ones */
    struct ts_trec *late = ts_trec_new(1);
    gen_expiring(late, 8, 800, "192.0.2.8", 9000);
    struct store_put it;
    ts_trec_item(&it, late);
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
    struct ts_trec *t = ts_trec_new(3);
    ts_trec_ind(&t[0], 1, 0xA1, 10, PROTO_ITYPE_HOSTNAME, "mail.example.org");
    gen_rev(&t[1], 2, 0xB2, t[0].id);
    int results[1];
    ts_trec_put_all(s, &t[1], 1, results);
    ts_trec_put_all(s, &t[0], 1, results);
    assert_int_equal(results[0], STORE_PUT_ADDED);
    assert_int_equal(store_is_revoked(s, t[0].id, t[0].rec.origin), 0);
    uint8_t rev_id[LIMIT_ID_BYTES];
    assert_int_equal(store_revocation_for(s, t[0].id, t[0].rec.origin, rev_id),
                     STORE_E_NOTFOUND);

    /* The origin's revocation after its target: the target stays, is_revoked turns true. */
    gen_rev(&t[2], 3, 0xA1, t[0].id);
    ts_trec_put_all(s, &t[2], 1, results);
    assert_int_equal(store_is_revoked(s, t[0].id, t[0].rec.origin), 1);
    assert_int_equal(store_has(s, t[0].id), 1);
    store_close(s);
    free(t);
    ts_store_remove(dir);
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
        cmocka_unit_test(test_sightings_and_rosters),
        cmocka_unit_test(test_prune_expired),
        cmocka_unit_test(test_peer_and_meta),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
