/* test_memstore.c - the in-memory store (store/memstore.h) past the sizes its layout turns on: a
 * store of more than 2^16 records (its seq tags wrap, recs confirms) whose tables span many
 * chunks, sharing its pool with a store that holds every third record in another order. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/record.h"
#include "store/memstore.h"

enum {
    N_RECS = 70000, /* over 2^16: seqs 1 and 65537 share a tag */
    BODY = 24,      /* of a made-up record: its number, then filler */
    REC_LEN = LIMIT_SIG_BYTES + BODY,
    BATCH = 500,
};

/* Record r: its id and bytes are its number (memstore takes the caller's id as checked). */
static void make(uint32_t r, uint8_t id[LIMIT_ID_BYTES], uint8_t bytes[REC_LEN])
{
    memset(id, 0xa5, LIMIT_ID_BYTES);
    memcpy(id, &r, sizeof r);
    id[8] = (uint8_t)(r * 31u); /* spread the ids over the pool's index */
    memset(bytes, 0x5a, REC_LEN);
    memcpy(bytes + LIMIT_SIG_BYTES, &r, sizeof r);
}

/* Puts the records order[0..n) into m in batches; every one must be ADDED with the next seq. */
static void put_all(struct memstore *m, const uint32_t *order, size_t n)
{
    static struct proto_record rec; /* an indicator: memstore reads kind and origin */
    rec.kind = PROTO_KIND_INDICATOR;
    static uint8_t bytes[BATCH][REC_LEN];
    struct store_put items[BATCH];
    for (size_t at = 0; at < n; at += BATCH) {
        const size_t k = n - at < BATCH ? n - at : BATCH;
        memset(items, 0, sizeof items);
        for (size_t i = 0; i < k; i++) {
            make(order[at + i], items[i].id, bytes[i]);
            items[i].signed_rec = bytes[i];
            items[i].len = REC_LEN;
            items[i].rec = &rec;
        }
        assert_int_equal(memstore_put_batch(m, items, k), STORE_OK);
        for (size_t i = 0; i < k; i++) {
            assert_int_equal(items[i].result, STORE_PUT_ADDED);
            assert_int_equal(items[i].seq, at + i + 1);
        }
    }
}

struct walk {
    const uint32_t *order;
    uint64_t next_seq;
};

static int walk_cb(const uint8_t id[LIMIT_ID_BYTES], const uint8_t *signed_rec, size_t len,
                   uint64_t seq, void *ctx)
{
    struct walk *w = ctx;
    uint8_t want_id[LIMIT_ID_BYTES], want[REC_LEN];
    make(w->order[seq - 1], want_id, want);
    assert_int_equal(seq, w->next_seq);
    assert_memory_equal(id, want_id, LIMIT_ID_BYTES);
    assert_int_equal(len, REC_LEN);
    assert_memory_equal(signed_rec, want, REC_LEN);
    w->next_seq++;
    return 0;
}

/* Every record of order[0..n) is in m at its seq; the others of [0, N_RECS) are not. */
static void check(const struct memstore *m, const uint32_t *order, size_t n, const bool *held)
{
    uint64_t *seq_of = calloc(N_RECS, sizeof *seq_of);
    assert_non_null(seq_of);
    for (size_t i = 0; i < n; i++)
        seq_of[order[i]] = i + 1;
    for (uint32_t r = 0; r < N_RECS; r++) {
        uint8_t id[LIMIT_ID_BYTES], want[REC_LEN], buf[REC_LEN];
        make(r, id, want);
        assert_int_equal(memstore_has(m, id), held[r] ? 1 : 0);
        size_t len = 0;
        uint64_t seq = 0;
        int rc = memstore_get(m, id, buf, sizeof buf, &len, &seq);
        if (!held[r]) {
            assert_int_equal(rc, STORE_E_NOTFOUND);
            continue;
        }
        assert_int_equal(rc, STORE_OK);
        assert_int_equal(seq, seq_of[r]);
        assert_int_equal(len, REC_LEN);
        assert_memory_equal(buf, want, REC_LEN);
    }
    free(seq_of);
    assert_int_equal(memstore_last_seq(m), n);
    const uint64_t since = n > 65530 ? 65530 : 0; /* across the tags' wrap */
    struct walk w = {order, since + 1};
    assert_int_equal(memstore_iter_seq(m, since, walk_cb, &w), STORE_OK);
    assert_int_equal(w.next_seq, n + 1);
}

static void test_memstore_large_shared(void **state)
{
    (void)state;
    uint8_t key[LIMIT_HASH_KEY_BYTES] = {1, 2, 3};
    struct memstore_pool pool;
    struct memstore a, b;
    assert_int_equal(memstore_pool_init(&pool, key), STORE_OK);
    assert_int_equal(memstore_init_shared(&a, key, &pool), STORE_OK);
    assert_int_equal(memstore_init_shared(&b, key, &pool), STORE_OK);

    uint32_t *all = malloc(N_RECS * sizeof *all), *thirds = malloc(N_RECS * sizeof *thirds);
    bool *in_a = calloc(N_RECS, sizeof *in_a), *in_b = calloc(N_RECS, sizeof *in_b);
    assert_true(all && thirds && in_a && in_b);
    size_t n_b = 0;
    for (uint32_t r = 0; r < N_RECS; r++) {
        all[r] = r;
        in_a[r] = true;
    }
    for (uint32_t r = N_RECS; r-- > 0;) /* b: every third, newest first, named before a has it */
        if (r % 3 == 0) {
            thirds[n_b++] = r;
            in_b[r] = true;
        }
    put_all(&b, thirds, n_b / 2);
    put_all(&a, all, N_RECS);
    /* the rest of b's one at a time, all pooled already */
    const size_t half = n_b / 2;
    static struct proto_record rec;
    rec.kind = PROTO_KIND_INDICATOR;
    for (size_t at = half; at < n_b; at++) {
        uint8_t bytes[REC_LEN];
        struct store_put it = {.signed_rec = bytes, .len = REC_LEN, .rec = &rec};
        make(thirds[at], it.id, bytes);
        assert_int_equal(memstore_put_batch(&b, &it, 1), STORE_OK);
        assert_int_equal(it.result, STORE_PUT_ADDED);
        assert_int_equal(it.seq, at + 1);
    }
    check(&a, all, N_RECS, in_a);
    check(&b, thirds, n_b, in_b);

    /* A second put of a held record is a duplicate at its first seq, in both stores. */
    uint8_t bytes[REC_LEN];
    struct store_put dup = {.signed_rec = bytes, .len = REC_LEN, .rec = &rec};
    make(65536, dup.id, bytes); /* seq 65537 in a: the tag of seq 1 */
    assert_int_equal(memstore_put_batch(&a, &dup, 1), STORE_OK);
    assert_int_equal(dup.result, STORE_PUT_DUPLICATE);
    assert_int_equal(dup.seq, 65537);
    assert_int_equal(memstore_last_seq(&a), N_RECS);

    /* Its tables: about 6 bytes a record, with no more slack than a chunk each. */
    assert_true(memstore_bytes(&a) <= N_RECS * 6 + 3 * 4096);

    free(all);
    free(thirds);
    free(in_a);
    free(in_b);
    memstore_free(&a);
    memstore_free(&b);
    memstore_pool_free(&pool);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_memstore_large_shared),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
