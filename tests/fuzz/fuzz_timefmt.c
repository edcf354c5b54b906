/* fuzz_timefmt.c - the time texts operators type: RFC 3339 timestamps and durations.
 *
 * Input: 8 bytes big-endian `now` (also a timestamp to format), then the text (a C string).
 *
 * Invariants:
 *  - every parser answers TIMEFMT_OK, TIMEFMT_E_SYNTAX or TIMEFMT_E_RANGE;
 *  - parse_rfc3339(format(t)) == t for every t format can show (years up to 9999), and any
 *    parsed timestamp formats to 24 characters and parses back to itself;
 *  - parse_point is rfc3339 when that parses, else now ± duration (saturating at 0 backwards,
 *    RANGE on overflow forwards).
 */
#include <stdbool.h>

#include "fuzz.h"
#include "node/formats/timefmt.h"

/* 9999-12-31T23:59:59.999Z, the last instant the text form has. */
#define FUZZ_TIME_MAX_MS 253402300799999ULL

static bool is_answer(int rc)
{
    return rc == TIMEFMT_OK || rc == TIMEFMT_E_SYNTAX || rc == TIMEFMT_E_RANGE;
}

static void check_format_round_trip(uint64_t ms)
{
    char text[TIMEFMT_RFC3339_LEN + 1];
    uint64_t back = 0;

    timefmt_format(ms, text);
    FUZZ_CHECK(strlen(text) == TIMEFMT_RFC3339_LEN);
    if (ms > FUZZ_TIME_MAX_MS)
        return;
    FUZZ_CHECK(timefmt_parse_rfc3339(text, &back) == TIMEFMT_OK);
    FUZZ_CHECK(back == ms);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_in in = {data, size};
    uint64_t now = 0, t = 0, d = 0, p = 0;
    char *text;
    int rc_t, rc_d, rc_p;

    for (int i = 0; i < 8; i++)
        now = now << 8 | fuzz_u8(&in);
    check_format_round_trip(now);
    text = fuzz_strdup(in.p, in.n);

    rc_t = timefmt_parse_rfc3339(text, &t);
    FUZZ_CHECK(is_answer(rc_t));
    if (rc_t == TIMEFMT_OK) {
        FUZZ_CHECK(t <= FUZZ_TIME_MAX_MS);
        check_format_round_trip(t);
    }
    rc_d = timefmt_parse_duration(text, &d);
    FUZZ_CHECK(is_answer(rc_d));

    for (int sign = -1; sign <= 1; sign += 2) {
        rc_p = timefmt_parse_point(text, now, sign, &p);
        FUZZ_CHECK(is_answer(rc_p));
        if (rc_t == TIMEFMT_OK)
            FUZZ_CHECK(rc_p == TIMEFMT_OK && p == t);
        else if (rc_d != TIMEFMT_OK)
            FUZZ_CHECK(rc_p == rc_d);
        else if (sign < 0)
            FUZZ_CHECK(rc_p == TIMEFMT_OK && p == (d > now ? 0 : now - d));
        else if (d > UINT64_MAX - now)
            FUZZ_CHECK(rc_p == TIMEFMT_E_RANGE);
        else
            FUZZ_CHECK(rc_p == TIMEFMT_OK && p == now + d);
    }
    free(text);
    return 0;
}
