/* test_timefmt.c - RFC 3339 and duration texts, exact values. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "node/formats/timefmt.h"

static void rfc3339_exact(void **state)
{
    (void)state;
    uint64_t ms;
    assert_int_equal(timefmt_parse_rfc3339("1970-01-01T00:00:00Z", &ms), TIMEFMT_OK);
    assert_int_equal(ms, 0);
    assert_int_equal(timefmt_parse_rfc3339("2026-11-23T15:57:14.123Z", &ms), TIMEFMT_OK);
    assert_int_equal(ms, 1795449434123ULL);
    assert_int_equal(timefmt_parse_rfc3339("2026-11-23T17:57:14.123+02:00", &ms), TIMEFMT_OK);
    assert_int_equal(ms, 1795449434123ULL);
    assert_int_equal(timefmt_parse_rfc3339("2024-02-29T00:00:00.5Z", &ms), TIMEFMT_OK);
    assert_int_equal(ms, 1709164800500ULL);
    char out[TIMEFMT_RFC3339_LEN + 1];
    timefmt_format(1795449434123ULL, out);
    assert_string_equal(out, "2026-11-23T15:57:14.123Z");
    timefmt_format(0, out);
    assert_string_equal(out, "1970-01-01T00:00:00.000Z");
}

static void rfc3339_refused(void **state)
{
    (void)state;
    uint64_t ms = 7;
    const char *bad[] = {"", "2026-11-23", "2026-11-23T15:57:14", "2026-13-01T00:00:00Z",
                         "2023-02-29T00:00:00Z", "2026-11-23T24:00:00Z", "2026-11-23T15:57:14.Z",
                         "2026-11-23T15:57:14Zjunk", "1969-12-31T23:59:59Z", "2026-1-23T00:00:00Z"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_true(timefmt_parse_rfc3339(bad[i], &ms) < 0);
    assert_int_equal(ms, 7);
}

static void durations(void **state)
{
    (void)state;
    uint64_t ms;
    assert_int_equal(timefmt_parse_duration("90s", &ms), TIMEFMT_OK);
    assert_int_equal(ms, 90000);
    assert_int_equal(timefmt_parse_duration("1d12h", &ms), TIMEFMT_OK);
    assert_int_equal(ms, 36ULL * 3600 * 1000);
    assert_int_equal(timefmt_parse_duration("2w", &ms), TIMEFMT_OK);
    assert_int_equal(ms, 14ULL * 86400 * 1000);
    assert_int_equal(timefmt_parse_duration("", &ms), TIMEFMT_E_SYNTAX);
    assert_int_equal(timefmt_parse_duration("30", &ms), TIMEFMT_E_SYNTAX);
    assert_int_equal(timefmt_parse_duration("d", &ms), TIMEFMT_E_SYNTAX);
    assert_int_equal(timefmt_parse_duration("5y", &ms), TIMEFMT_E_SYNTAX);
    assert_int_equal(timefmt_parse_duration("999999999999w", &ms), TIMEFMT_E_RANGE);
    assert_int_equal(timefmt_parse_point("2h", 10000000, -1, &ms), TIMEFMT_OK);
    assert_int_equal(ms, 10000000 - 7200000);
    assert_int_equal(timefmt_parse_point("30d", 1000, 1, &ms), TIMEFMT_OK);
    assert_int_equal(ms, 1000 + 30ULL * 86400 * 1000);
    assert_int_equal(timefmt_parse_point("9h", 1000, -1, &ms), TIMEFMT_OK);
    assert_int_equal(ms, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rfc3339_exact),
        cmocka_unit_test(rfc3339_refused),
        cmocka_unit_test(durations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
