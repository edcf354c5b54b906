/* timefmt.c - RFC 3339 and duration parsing without the C library's locale and timezone state. */
#include "node/formats/timefmt.h"

#include <assert.h>
#include <ctype.h>
#include <stdbool.h>
#include <string.h>

enum { MS_PER_S = 1000, S_PER_DAY = 86400, MAX_YEAR = 9999 };

const char *timefmt_strerror(int err)
{
    switch (err) {
    case TIMEFMT_OK: return "ok";
    TIMEFMT_ERRORS(ERRORS_CASE)
    default: return "unknown timefmt error";
    }
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar (Howard Hinnant's algorithm):
 * exact for every date, no timegm() and its TZ environment. */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    assert(m >= 1 && m <= 12 && d >= 1 && d <= 31);
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int *y, unsigned *m, unsigned *d)
{
    z += 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = (unsigned)(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int)((int64_t)yoe + era * 400 + (*m <= 2));
}

static bool leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned days_in_month(int y, unsigned m)
{
    static const unsigned dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && leap(y) ? 29 : dim[m - 1];
}

/* Reads exactly n digits. */
static bool digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*p)[i]))
            return false;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = v;
    return true;
}

static bool expect(const char **p, char c)
{
    if (**p != c)
        return false;
    (*p)++;
    return true;
}

/* Parses "Z" or "+hh:mm" / "-hh:mm" into seconds east of UTC. */
static bool parse_offset(const char **p, int64_t *off_s)
{
    if (**p == 'Z' || **p == 'z') {
        (*p)++;
        *off_s = 0;
        return true;
    }
    if (**p != '+' && **p != '-')
        return false;
    const int sign = **p == '-' ? -1 : 1;
    (*p)++;
    int hh, mm;
    if (!digits(p, 2, &hh) || !expect(p, ':') || !digits(p, 2, &mm) || hh > 23 || mm > 59)
        return false;
    *off_s = sign * (hh * 3600 + mm * 60);
    return true;
}

int timefmt_parse_rfc3339(const char *text, uint64_t *ms)
{
    const char *p = text;
    int y, mo, d, h, mi, s, frac_ms = 0;
    if (!digits(&p, 4, &y) || !expect(&p, '-') || !digits(&p, 2, &mo) || !expect(&p, '-') ||
        !digits(&p, 2, &d))
        return TIMEFMT_E_SYNTAX;
    if (*p != 'T' && *p != 't' && *p != ' ')
        return TIMEFMT_E_SYNTAX;
    p++;
    if (!digits(&p, 2, &h) || !expect(&p, ':') || !digits(&p, 2, &mi) || !expect(&p, ':') ||
        !digits(&p, 2, &s))
        return TIMEFMT_E_SYNTAX;
    if (*p == '.') {
        p++;
        int n = 0;
        for (; isdigit((unsigned char)*p) && n < 9; p++, n++)
            if (n < 3)
                frac_ms = frac_ms * 10 + (*p - '0');
        if (n == 0 || isdigit((unsigned char)*p))
            return TIMEFMT_E_SYNTAX;
        for (int k = n; k < 3; k++)
            frac_ms *= 10;
    }
    int64_t off_s;
    if (!parse_offset(&p, &off_s) || *p != '\0')
        return TIMEFMT_E_SYNTAX;
    if (mo < 1 || mo > 12 || d < 1 || (unsigned)d > days_in_month(y, (unsigned)mo) || h > 23 ||
        mi > 59 || s > 60)
        return TIMEFMT_E_RANGE;
    const int64_t secs = days_from_civil(y, (unsigned)mo, (unsigned)d) * S_PER_DAY +
                         h * 3600 + mi * 60 + (s == 60 ? 59 : s) - off_s;
    /* The offset can carry a time past the last instant timefmt_format() can show
     * (9999-12-31T23:59:59.999Z): refused, so that every parsed time formats back to itself. */
    if (secs < 0 || secs >= (days_from_civil(MAX_YEAR, 12, 31) + 1) * S_PER_DAY)
        return TIMEFMT_E_RANGE;
    *ms = (uint64_t)secs * MS_PER_S + (uint64_t)frac_ms;
    return TIMEFMT_OK;
}

static uint64_t unit_ms(char c)
{
    switch (c) {
    case 's': return 1000ULL;
    case 'm': return 60ULL * 1000;
    case 'h': return 3600ULL * 1000;
    case 'd': return 86400ULL * 1000;
    case 'w': return 7ULL * 86400 * 1000;
    default: return 0;
    }
}

int timefmt_parse_duration(const char *text, uint64_t *ms)
{
    enum { MAX_PARTS = 8 };
    const char *p = text;
    uint64_t total = 0;
    int parts = 0;
    while (*p && parts < MAX_PARTS) {
        uint64_t n = 0;
        int nd = 0;
        for (; isdigit((unsigned char)*p) && nd < 12; p++, nd++)
            n = n * 10 + (uint64_t)(*p - '0');
        const uint64_t u = unit_ms(*p);
        if (nd == 0 || u == 0)
            return TIMEFMT_E_SYNTAX;
        p++;
        if (n > (UINT64_MAX - total) / u)
            return TIMEFMT_E_RANGE;
        total += n * u;
        parts++;
    }
    if (parts == 0 || *p != '\0')
        return TIMEFMT_E_SYNTAX;
    *ms = total;
    return TIMEFMT_OK;
}

int timefmt_parse_point(const char *text, uint64_t now_ms, int sign, uint64_t *ms)
{
    assert(sign == 1 || sign == -1);
    if (timefmt_parse_rfc3339(text, ms) == TIMEFMT_OK)
        return TIMEFMT_OK;
    uint64_t d;
    int rc = timefmt_parse_duration(text, &d);
    if (rc != TIMEFMT_OK)
        return rc;
    if (sign > 0) {
        if (d > UINT64_MAX - now_ms)
            return TIMEFMT_E_RANGE;
        *ms = now_ms + d;
    } else {
        *ms = d > now_ms ? 0 : now_ms - d;
    }
    return TIMEFMT_OK;
}

void timefmt_format(uint64_t ms, char out[TIMEFMT_RFC3339_LEN + 1])
{
    const int64_t secs = (int64_t)(ms / MS_PER_S);
    int y;
    unsigned mo, d;
    civil_from_days(secs / S_PER_DAY, &y, &mo, &d);
    const int64_t sod = secs % S_PER_DAY;
    if (y > MAX_YEAR) { /* keep the fixed width the buffer promises */
        memcpy(out, "9999-12-31T23:59:59.999Z", TIMEFMT_RFC3339_LEN + 1);
        return;
    }
    static const char dig[] = "0123456789";
    char *o = out;
    const int vals[6] = {y, (int)mo, (int)d, (int)(sod / 3600), (int)(sod / 60 % 60), (int)(sod % 60)};
    const int widths[6] = {4, 2, 2, 2, 2, 2};
    const char seps[6] = {'-', '-', 'T', ':', ':', '.'};
    for (int i = 0; i < 6; i++) {
        int v = vals[i];
        for (int k = widths[i] - 1; k >= 0; k--, v /= 10)
            o[k] = dig[v % 10];
        o += widths[i];
        *o++ = seps[i];
    }
    const unsigned frac = (unsigned)(ms % MS_PER_S);
    o[0] = dig[frac / 100];
    o[1] = dig[frac / 10 % 10];
    o[2] = dig[frac % 10];
    o[3] = 'Z';
    o[4] = '\0';
    assert(o + 4 - out == TIMEFMT_RFC3339_LEN);
}
