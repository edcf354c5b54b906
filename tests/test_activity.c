/* test_activity.c - the ring of recent activity (node/core/activity.h): minutes advance with the
 * caller's now, the ring wraps, idle gaps longer than the ring read as zero, counts are exact
 * (differences of the owner's totals), saturate rather than wrap, and a read never goes back.
 * Sans-IO: every time is an argument.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "node/core/activity.h"

enum { MIN_MS = LIMIT_ACTIVITY_MINUTE_MS, N = LIMIT_ACTIVITY_MINUTES };

/* Totals that grew by (r, s, p, f) since the last call, noted at t. */
static void grow(struct activity *a, uint64_t t, uint64_t tot[ACTIVITY_KINDS], uint64_t r,
                 uint64_t s, uint64_t p, uint64_t f)
{
    tot[ACTIVITY_RECEIVED] += r;
    tot[ACTIVITY_SENT] += s;
    tot[ACTIVITY_PUBLISHED] += p;
    tot[ACTIVITY_REFUSED] += f;
    activity_note(a, t, tot);
}

static void assert_minute(const struct activity_minute *m, uint64_t start, uint32_t r, uint32_t s,
                          uint32_t p, uint32_t f)
{
    assert_int_equal(m->start_ms, start);
    assert_int_equal(m->received, r);
    assert_int_equal(m->sent, s);
    assert_int_equal(m->published, p);
    assert_int_equal(m->refused, f);
}

static void test_empty(void **state)
{
    (void)state;
    struct activity a = {0};
    struct activity_minute m[N + 5];
    assert_int_equal(activity_read(&a, 0, m, N + 5), 1); /* the clock's first minute only */
    assert_minute(&m[0], 0, 0, 0, 0, 0);
    assert_int_equal(activity_read(&a, 3 * MIN_MS + 7, m, N + 5), 4);
    assert_int_equal(activity_read(&a, 1000 * MIN_MS, m, N + 5), N);
    for (size_t i = 0; i < N; i++)
        assert_minute(&m[i], (1000 - N + 1 + i) * MIN_MS, 0, 0, 0, 0);
    assert_int_equal(activity_read(&a, 1000 * MIN_MS, m, 0), 0);
}

static void test_minutes_exact(void **state)
{
    (void)state;
    struct activity a = {0};
    uint64_t tot[ACTIVITY_KINDS] = {7, 7, 7, 7}; /* the owner counted before: the first note */
    activity_note(&a, 5, tot);                    /* counts them in minute 0 */
    grow(&a, MIN_MS - 1, tot, 1, 2, 3, 4);        /* still minute 0 */
    grow(&a, MIN_MS, tot, 10, 0, 0, 1);           /* minute 1 starts at its first ms */
    grow(&a, MIN_MS + 1, tot, 0, 0, 0, 0);
    grow(&a, 3 * MIN_MS + 59999, tot, 0, 5, 0, 0); /* minute 2 passed idle */
    struct activity_minute m[N];
    assert_int_equal(activity_read(&a, 4 * MIN_MS, m, N), 5);
    assert_minute(&m[0], 0, 8, 9, 10, 11);
    assert_minute(&m[1], MIN_MS, 10, 0, 0, 1);
    assert_minute(&m[2], 2 * MIN_MS, 0, 0, 0, 0);
    assert_minute(&m[3], 3 * MIN_MS, 0, 5, 0, 0);
    assert_minute(&m[4], 4 * MIN_MS, 0, 0, 0, 0); /* now's minute, nothing noted yet */
    /* max below the ring: the newest minutes */
    assert_int_equal(activity_read(&a, 4 * MIN_MS, m, 2), 2);
    assert_minute(&m[0], 3 * MIN_MS, 0, 5, 0, 0);
}

/* 150 minutes, minute k gets k records received: the ring holds exactly the last N. */
static void test_wraps(void **state)
{
    (void)state;
    struct activity a = {0};
    uint64_t tot[ACTIVITY_KINDS] = {0};
    for (uint64_t k = 0; k < 150; k++)
        grow(&a, k * MIN_MS + 30000, tot, k, 1, 0, 0);
    struct activity_minute m[N];
    assert_int_equal(activity_read(&a, 149 * MIN_MS + 59999, m, N), N);
    for (size_t i = 0; i < N; i++)
        assert_minute(&m[i], (150 - N + i) * MIN_MS, (uint32_t)(150 - N + i), 1, 0, 0);
}

/* Idle for longer than the ring: nothing of before is left, whatever row it was in. */
static void test_long_gap(void **state)
{
    (void)state;
    struct activity a = {0};
    uint64_t tot[ACTIVITY_KINDS] = {0};
    for (uint64_t k = 0; k < N; k++)
        grow(&a, k * MIN_MS, tot, 1, 1, 1, 1);
    const uint64_t later = (N - 1 + N + 13) * MIN_MS;
    struct activity_minute m[N];
    assert_int_equal(activity_read(&a, later, m, N), N); /* read without a note: all zero */
    for (size_t i = 0; i < N; i++)
        assert_minute(&m[i], later - (N - 1 - i) * MIN_MS, 0, 0, 0, 0);
    grow(&a, later, tot, 0, 0, 2, 0);
    assert_int_equal(activity_read(&a, later, m, N), N);
    for (size_t i = 0; i + 1 < N; i++)
        assert_minute(&m[i], later - (N - 1 - i) * MIN_MS, 0, 0, 0, 0);
    assert_minute(&m[N - 1], later, 0, 0, 2, 0);
    /* a gap of a million minutes clears at most the ring once */
    grow(&a, later + 1000000ull * MIN_MS, tot, 3, 0, 0, 0);
    assert_int_equal(activity_read(&a, later + 1000000ull * MIN_MS, m, N), N);
    assert_minute(&m[N - 2], later + 999999ull * MIN_MS, 0, 0, 0, 0);
    assert_minute(&m[N - 1], later + 1000000ull * MIN_MS, 3, 0, 0, 0);
}

/* A now before the last note's counts in the newest minute; reads never show the past as now. */
static void test_time_never_back(void **state)
{
    (void)state;
    struct activity a = {0};
    uint64_t tot[ACTIVITY_KINDS] = {0};
    grow(&a, 10 * MIN_MS, tot, 1, 0, 0, 0);
    grow(&a, 9 * MIN_MS, tot, 1, 0, 0, 0);
    struct activity_minute m[N];
    assert_int_equal(activity_read(&a, 2 * MIN_MS, m, N), 11);
    assert_minute(&m[10], 10 * MIN_MS, 2, 0, 0, 0);
    assert_minute(&m[9], 9 * MIN_MS, 0, 0, 0, 0);
}

static void test_saturates(void **state)
{
    (void)state;
    struct activity a = {0};
    uint64_t tot[ACTIVITY_KINDS] = {0};
    grow(&a, 0, tot, UINT32_MAX - 1, 0, 0, 0);
    grow(&a, 1, tot, 5, (uint64_t)UINT32_MAX + 9, 0, 0);
    struct activity_minute m[1];
    assert_int_equal(activity_read(&a, 1, m, 1), 1);
    assert_minute(&m[0], 0, UINT32_MAX, UINT32_MAX, 0, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),         cmocka_unit_test(test_minutes_exact),
        cmocka_unit_test(test_wraps),         cmocka_unit_test(test_long_gap),
        cmocka_unit_test(test_time_never_back), cmocka_unit_test(test_saturates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
