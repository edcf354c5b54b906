/* test_verifyq.c - the verifier's schedule (node/shell/verifyq.h, issue 12): which signature job
 * a free pool thread takes, and which small jobs are checked on the loop thread, exactly; no
 * threads, no timing. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdint.h>

#include "node/shell/verifyq.h"
#include "proto/limits.h"

enum { FLOODER = 0, QUIET = 7, OTHER = 200, JOBS = 5 };

static struct gossip_job job_of(size_t from, size_t n)
{
    return (struct gossip_job){.from = from, .n = n};
}

/* A flooder (slot 0) queued 5 jobs before a quiet peer (slot 7) and another (slot 200) queued
 * one each: a free thread takes the flooder's first, then the quiet peer's, then the other's,
 * then the flooder's rest in order; each slot is busy until its jobs are done. */
static void test_verifyq_round_robin(void **state)
{
    (void)state;
    static struct verifyq q;
    struct gossip_job flood[JOBS], quiet = job_of(QUIET, 1), other = job_of(OTHER, 3);
    for (size_t i = 0; i < JOBS; i++) {
        flood[i] = job_of(FLOODER, LIMIT_GOSSIP_JOB_RECORDS);
        verifyq_push(&q, &flood[i]);
    }
    verifyq_push(&q, &quiet);
    verifyq_push(&q, &other);
    assert_ptr_equal(verifyq_take(&q), &flood[0]);
    assert_ptr_equal(verifyq_take(&q), &quiet);
    assert_ptr_equal(verifyq_take(&q), &other);
    for (size_t i = 1; i < JOBS; i++)
        assert_ptr_equal(verifyq_take(&q), &flood[i]);
    assert_null(verifyq_take(&q));
    assert_int_equal(q.busy[FLOODER], JOBS); /* taken is not done: still on the pool */
    verifyq_done(&q, &quiet);
    assert_int_equal(q.busy[QUIET], 0);

    /* a newcomer while the flooder's jobs wait: taken right after the flooder's next one */
    struct gossip_job more[2] = {job_of(FLOODER, 1), job_of(FLOODER, 1)}, late = job_of(QUIET, 1);
    verifyq_push(&q, &more[0]);
    verifyq_push(&q, &more[1]);
    assert_ptr_equal(verifyq_take(&q), &more[0]);
    verifyq_push(&q, &late);
    assert_ptr_equal(verifyq_take(&q), &late);
    assert_ptr_equal(verifyq_take(&q), &more[1]);
    assert_null(verifyq_take(&q));
}

/* Checked on the loop thread: a job of a slot with nothing pushed and not done, of at most what
 * is left of LIMIT_VERIFY_INLINE_RECORDS in this loop ms; the budget starts again each ms. */
static void test_verifyq_inline(void **state)
{
    (void)state;
    _Static_assert(LIMIT_VERIFY_INLINE_RECORDS == 2, "the cases below spend a budget of 2");
    static struct verifyq q;
    struct gossip_job one = job_of(QUIET, 1), two = job_of(QUIET, 2), three = job_of(QUIET, 3);
    assert_false(verifyq_inline(&q, &three, 5)); /* larger than a whole ms's budget: never */
    assert_true(verifyq_inline(&q, &one, 5));
    assert_false(verifyq_inline(&q, &two, 5)); /* 1 left in ms 5 */
    assert_true(verifyq_inline(&q, &one, 5));
    assert_false(verifyq_inline(&q, &one, 5)); /* ms 5's budget spent */
    assert_true(verifyq_inline(&q, &two, 6));  /* a new ms, a new budget */
    assert_false(verifyq_inline(&q, &one, 6));

    /* a flooder with a job on the pool: its small jobs go to the pool too, in order */
    struct gossip_job big = job_of(FLOODER, LIMIT_GOSSIP_JOB_RECORDS), small = job_of(FLOODER, 1);
    verifyq_push(&q, &big);
    assert_false(verifyq_inline(&q, &small, 7));
    assert_true(verifyq_inline(&q, &one, 7)); /* another slot's: its own business */
    assert_ptr_equal(verifyq_take(&q), &big);
    assert_false(verifyq_inline(&q, &small, 8)); /* taken, still on the pool */
    verifyq_done(&q, &big);
    assert_true(verifyq_inline(&q, &small, 8));
    /* not a peer's (this node's own, from = LIMIT_PEERS or more): counted as slot 0 */
    struct gossip_job local = job_of(LIMIT_PEERS, 1);
    assert_int_equal(verifyq_slot(&local), 0);
}

/* Every slot with two jobs queued (the ring full): a take per job, each slot's first in the
 * order the slots got them, then each slot's second, in the same order. */
static void test_verifyq_every_slot(void **state)
{
    (void)state;
    static struct verifyq q;
    static struct gossip_job jobs[LIMIT_PEERS][2];
    for (size_t i = 0; i < LIMIT_PEERS; i++) {
        const size_t s = (i * 7) % LIMIT_PEERS; /* not in slot order: LIMIT_PEERS is a power of 2 */
        for (size_t k = 0; k < 2; k++) {
            jobs[i][k] = job_of(s, 1);
            verifyq_push(&q, &jobs[i][k]);
        }
    }
    for (size_t k = 0; k < 2; k++)
        for (size_t i = 0; i < LIMIT_PEERS; i++)
            assert_ptr_equal(verifyq_take(&q), &jobs[i][k]);
    assert_null(verifyq_take(&q));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_verifyq_round_robin),
        cmocka_unit_test(test_verifyq_inline),
        cmocka_unit_test(test_verifyq_every_slot),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
