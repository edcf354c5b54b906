/* test_commitq.c - the commit queue's fairness (node/core/commitq.h, issue 12): which records
 * the commits take, exactly; no timing. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdint.h>

#include "node/core/commitq.h"
#include "proto/limits.h"

enum { FLOOD = 10000, QUIET = 10, Q = LIMIT_GOSSIP_COMMIT_QUANTUM, SOURCES = LIMIT_PEERS + 1 };

/* A flooder (slot 0) queued 10,000 verified records before a quiet peer (slot 7) queued 10: the
 * quiet peer's 10 are in the first commit, right after one quantum of the flooder's, and each
 * source's records keep their order. */
static void test_commitq_quiet_peer_first(void **state)
{
    (void)state;
    struct commitq q;
    assert_true(commitq_init(&q, FLOOD + QUIET, SOURCES, Q, LIMIT_GOSSIP_COMMIT_SHARED_MS));
    for (uint32_t i = 0; i < FLOOD; i++)
        commitq_push(&q, 0, i, 1000);
    assert_false(commitq_shared(&q, 1000)); /* one source: commits may be large */
    for (uint32_t i = 0; i < QUIET; i++)
        commitq_push(&q, 7, FLOOD + i, 1000);
    assert_true(commitq_shared(&q, 1000));
    assert_true(commitq_shared(&q, 1000 + LIMIT_GOSSIP_COMMIT_SHARED_MS - 1));
    assert_false(commitq_shared(&q, 1000 + LIMIT_GOSSIP_COMMIT_SHARED_MS));
    assert_int_equal(commitq_len(&q), FLOOD + QUIET);

    static uint32_t out[FLOOD + QUIET];
    assert_int_equal(commitq_take(&q, out, LIMIT_GOSSIP_COMMIT_SHARED),
                     LIMIT_GOSSIP_COMMIT_SHARED);
    for (uint32_t i = 0; i < Q; i++)
        assert_int_equal(out[i], i);
    for (uint32_t i = 0; i < QUIET; i++)
        assert_int_equal(out[Q + i], FLOOD + i);
    for (uint32_t i = Q + QUIET; i < LIMIT_GOSSIP_COMMIT_SHARED; i++)
        assert_int_equal(out[i], i - QUIET); /* the rest of the commit: the flooder's, in order */

    /* the flooder alone now: everything else in order, over commits of any size */
    size_t got = LIMIT_GOSSIP_COMMIT_SHARED;
    for (size_t n; (n = commitq_take(&q, out + got, 1000)) > 0;)
        got += n;
    assert_int_equal(got, FLOOD + QUIET);
    assert_int_equal(commitq_len(&q), 0);
    for (size_t i = LIMIT_GOSSIP_COMMIT_SHARED; i < got; i++)
        assert_int_equal(out[i], i - QUIET);
    commitq_free(&q);
}

/* Three sources, commits that end inside a quantum: each round gives every source with records
 * exactly one quantum (the one cut by a commit goes on in the next), sources in slot order
 * wrapping past the last slot, and a source that joins is served in its slot's turn. */
static void test_commitq_rounds(void **state)
{
    (void)state;
    enum { PER = 3 * Q };
    struct commitq q;
    assert_true(commitq_init(&q, 4 * PER, SOURCES, Q, LIMIT_GOSSIP_COMMIT_SHARED_MS));
    const size_t src[3] = {SOURCES - 1, 3, 200}; /* this node's own slot, two peers */
    for (uint32_t i = 0; i < PER; i++)
        for (size_t k = 0; k < 3; k++)
            commitq_push(&q, src[k], (uint32_t)(k * PER + i), 5);
    uint32_t out[4 * PER];
    size_t got = 0;
    for (size_t n; (n = commitq_take(&q, out + got, 5)) > 0;) /* commits of 5: cut quanta */
        got += n;
    assert_int_equal(got, 3 * PER);
    /* slot order from 0: 3, 200, then the last slot; Q each per round */
    const size_t order[3] = {1, 2, 0};
    for (size_t r = 0; r < 3; r++)
        for (size_t k = 0; k < 3; k++)
            for (size_t i = 0; i < Q; i++)
                assert_int_equal(out[(r * 3 + k) * Q + i], order[k] * PER + r * Q + i);

    /* a flooder at slot 3 with a round in progress; slot 1 joins: served right after it */
    for (uint32_t i = 0; i < 2 * Q; i++)
        commitq_push(&q, 3, i, 9);
    assert_int_equal(commitq_take(&q, out, 1), 1); /* slot 3's quantum started */
    commitq_push(&q, 1, 3 * PER, 9);
    assert_int_equal(commitq_take(&q, out, 2 * Q), 2 * Q);
    for (uint32_t i = 0; i + 1 < Q; i++)
        assert_int_equal(out[i], i + 1);   /* slot 3 finishes its quantum... */
    assert_int_equal(out[Q - 1], 3 * PER); /* ...then the newcomer, wrapping round... */
    for (uint32_t i = Q; i < 2 * Q; i++)
        assert_int_equal(out[i], i);       /* ...then slot 3 again */
    assert_int_equal(commitq_len(&q), 0);
    commitq_free(&q);
}

/* A round's size: each source counts up to per_source, as it queues and is taken. A flooder
 * adds per_source however much it queued; many sources of a few records each add them all. */
static void test_commitq_round_size(void **state)
{
    (void)state;
    enum { PER = 64, SOURCES_MANY = 300 };
    struct commitq q;
    assert_true(commitq_init(&q, 4096, SOURCES_MANY, Q, LIMIT_GOSSIP_COMMIT_SHARED_MS));
    assert_int_equal(commitq_round(&q, PER), 0);
    for (uint32_t i = 0; i < 1000; i++)
        commitq_push(&q, 7, i, 1); /* a flooder */
    assert_int_equal(commitq_round(&q, PER), PER);
    commitq_push(&q, 299, 1000, 1); /* a quiet source in the last slot of the last word */
    assert_int_equal(commitq_round(&q, PER), PER + 1);
    for (uint32_t s = 0; s < 200; s++) /* 200 more sources with 3 records each */
        for (uint32_t k = 0; k < 3; k++)
            commitq_push(&q, 8 + s, 1001 + 3 * s + k, 1);
    assert_int_equal(commitq_round(&q, PER), PER + 1 + 600);
    uint32_t out[4096];
    assert_int_equal(commitq_take(&q, out, PER + 1 + 600), PER + 1 + 600);
    /* every quiet record went in; the flooder's rest stays, one source now */
    assert_int_equal(commitq_len(&q), 1000 - PER);
    assert_int_equal(commitq_round(&q, PER), PER);
    assert_int_equal(commitq_take(&q, out, 4096), 1000 - PER);
    assert_int_equal(commitq_round(&q, PER), 0);
    commitq_free(&q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_commitq_quiet_peer_first),
        cmocka_unit_test(test_commitq_rounds),
        cmocka_unit_test(test_commitq_round_size),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
