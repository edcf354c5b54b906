/* timefmt.h - the time texts operators type and read: RFC 3339 timestamps and durations.
 *
 * All times are Unix milliseconds, UTC. Pure functions: the caller passes now_ms.
 */
#ifndef TLPMESH_NODE_TIMEFMT_H
#define TLPMESH_NODE_TIMEFMT_H

#include <stddef.h>
#include <stdint.h>

#define TIMEFMT_RFC3339_LEN 24 /* "2026-11-23T15:57:14.123Z" */

enum timefmt_err {
    TIMEFMT_OK = 0,
    TIMEFMT_E_SYNTAX = -2100, /* neither an RFC 3339 time nor a duration like 30d, 12h, 90m */
    TIMEFMT_E_RANGE = -2101,  /* before 1970, after 9999, or a duration that overflows */
};

/* "2026-11-23T15:57:14Z", with optional fraction (up to ms kept) and a Z or ±hh:mm offset. */
int timefmt_parse_rfc3339(const char *text, uint64_t *ms);

/* "90s", "15m", "12h", "30d", "2w", or combinations "1d12h". */
int timefmt_parse_duration(const char *text, uint64_t *ms);

/* A point in time given either way: a duration counts forward from now_ms when sign > 0
 * (--valid-until 30d) and backward when sign < 0 (--since 2h). */
int timefmt_parse_point(const char *text, uint64_t now_ms, int sign, uint64_t *ms);

/* Writes "YYYY-MM-DDTHH:MM:SS.mmmZ" (always UTC, always milliseconds). */
void timefmt_format(uint64_t ms, char out[TIMEFMT_RFC3339_LEN + 1]);

#endif
