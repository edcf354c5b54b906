/* timefmt.h - the time texts operators type and read: RFC 3339 timestamps and durations.
 *
 * All times are Unix milliseconds, UTC. Pure functions: the caller passes now_ms.
 */
#ifndef TLPMESH_NODE_TIMEFMT_H
#define TLPMESH_NODE_TIMEFMT_H

#include <stddef.h>
#include <stdint.h>

#include "proto/errors.h"

#define TIMEFMT_RFC3339_LEN 24 /* "2026-11-23T15:57:14.123Z" */

/* Error codes: X(name, value, message), range ERRORS_BASE_TIMEFMT in proto/errors.h. */
#define TIMEFMT_ERRORS(X)                                                                          \
    X(TIMEFMT_E_SYNTAX, ERRORS_BASE_TIMEFMT - 0,                                                   \
      "neither an RFC 3339 time nor a duration like 30d, 12h or 90m")                              \
    X(TIMEFMT_E_RANGE, ERRORS_BASE_TIMEFMT - 1,                                                    \
      "time before 1970 or after 9999, or a duration that overflows")

enum timefmt_err {
    TIMEFMT_OK = 0,
    TIMEFMT_ERRORS(ERRORS_ENUM)
};

const char *timefmt_strerror(int err);

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
