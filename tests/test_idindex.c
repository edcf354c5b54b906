/* test_idindex.c - the id index that memstore and gossip share (store/idindex.h). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sodium.h>
#include <stdbool.h>
#include <stdint.h>

#include "store/idindex.h"

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
        cmocka_unit_test(test_idindex_churn),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
