/* activity.c - the ring of activity.h. */
#include "node/core/activity.h"

#include <assert.h>
#include <string.h>

enum { MINUTES = LIMIT_ACTIVITY_MINUTES };

/* Moves the newest row to minute m, zeroing the rows of the minutes passed over (at most the
 * whole ring, however long the gap). */
static void advance(struct activity *a, uint64_t m)
{
    const uint64_t gap = m - a->minute;
    for (uint64_t i = 1; i <= gap && i <= MINUTES; i++)
        memset(a->count[(a->minute + i) % MINUTES], 0, sizeof a->count[0]);
    a->minute = m;
}

void activity_note(struct activity *a, uint64_t now_ms, const uint64_t totals[ACTIVITY_KINDS])
{
    const uint64_t m = now_ms / LIMIT_ACTIVITY_MINUTE_MS;
    if (m > a->minute)
        advance(a, m);
    uint32_t *row = a->count[a->minute % MINUTES];
    for (int k = 0; k < ACTIVITY_KINDS; k++) {
        assert(totals[k] >= a->last[k]);
        const uint64_t sum = (uint64_t)row[k] + (totals[k] - a->last[k]);
        row[k] = sum > UINT32_MAX ? UINT32_MAX : (uint32_t)sum;
        a->last[k] = totals[k];
    }
}

size_t activity_read(const struct activity *a, uint64_t now_ms, struct activity_minute *out,
                     size_t max)
{
    uint64_t now_m = now_ms / LIMIT_ACTIVITY_MINUTE_MS;
    now_m = now_m > a->minute ? now_m : a->minute;
    size_t n = max < MINUTES ? max : MINUTES;
    n = now_m + 1 < n ? (size_t)now_m + 1 : n;
    for (size_t i = 0; i < n; i++) {
        const uint64_t m = now_m - (n - 1 - i);
        /* Rows of minutes after the newest note, or a ring older than them, are zero. */
        const uint32_t *c = m <= a->minute && a->minute - m < MINUTES ? a->count[m % MINUTES]
                                                                      : NULL;
        out[i] = (struct activity_minute){
            .start_ms = m * LIMIT_ACTIVITY_MINUTE_MS,
            .received = c ? c[ACTIVITY_RECEIVED] : 0,
            .sent = c ? c[ACTIVITY_SENT] : 0,
            .published = c ? c[ACTIVITY_PUBLISHED] : 0,
            .refused = c ? c[ACTIVITY_REFUSED] : 0,
        };
    }
    return n;
}
