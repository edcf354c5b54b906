/* peerscore.c - see peerscore.h. */
#include "node/core/peerscore.h"

#include <assert.h>
#include <stddef.h>

const char *peerscore_strerror(int err)
{
    switch (err) {
    case PEERSCORE_OK:
        return "success";
        PEERSCORE_ERRORS(ERRORS_CASE)
    default:
        return "unknown peerscore error";
    }
}

const char *peerscore_label(int err)
{
    switch (err) {
    case PEERSCORE_E_UNKNOWN_TYPE:
        return "unknown_type";
    case PEERSCORE_E_DUPLICATE:
        return "duplicate";
    case PEERSCORE_E_TIME:
        return "time";
    case PEERSCORE_E_GATE:
        return "gate";
    case PEERSCORE_E_UNASKED:
        return "unasked";
    case PEERSCORE_E_MALFORMED:
        return "malformed";
    case PEERSCORE_E_FORGED:
        return "forged";
    case PEERSCORE_E_RECON:
        return "recon";
    case PEERSCORE_E_BACKED_OFF:
        return "backed_off";
    case PEERSCORE_E_RECON_ROUNDS:
        return "recon_rounds";
    default:
        return "other";
    }
}

bool peerscore_is_reason(int err)
{
    return err <= PEERSCORE_E_UNKNOWN_TYPE && err >= PEERSCORE_E_RECON_ROUNDS;
}

/* Burst and refill per second of each budget (proto/limits.h says why each value). */
static const struct {
    uint32_t burst, per_s;
} spec[PEERSCORE_KINDS] = {
    [PEERSCORE_UNKNOWN_TYPE] = {LIMIT_PEER_UNKNOWN_BURST, LIMIT_PEER_UNKNOWN_PER_S},
    [PEERSCORE_DUPLICATE] = {LIMIT_PEER_DUP_BURST, LIMIT_PEER_DUP_PER_S},
    [PEERSCORE_TIME] = {LIMIT_PEER_TIME_BURST, LIMIT_PEER_TIME_PER_S},
    [PEERSCORE_GATE] = {LIMIT_PEER_GATE_BURST, LIMIT_PEER_GATE_PER_S},
    [PEERSCORE_UNASKED] = {LIMIT_PEER_UNASKED_BURST, LIMIT_PEER_UNASKED_PER_S},
};

void peerscore_reset(struct peerscore *s, uint64_t now)
{
    for (int k = 0; k < PEERSCORE_KINDS; k++)
        s->b[k] = (struct peerscore_bucket){(uint64_t)spec[k].burst * 1000, now};
}

bool peerscore_bucket_take(struct peerscore_bucket *b, uint32_t burst, uint32_t per_s,
                           uint32_t cost, uint64_t now)
{
    const uint64_t cap = (uint64_t)burst * 1000;
    if (now > b->at) { /* per_s tokens a second = per_s milli-tokens a millisecond */
        uint64_t gain = (now - b->at) * per_s;
        b->milli = gain >= cap - b->milli ? cap : b->milli + gain;
        b->at = now;
    }
    const uint64_t need = (uint64_t)cost * 1000;
    if (b->milli < need) {
        b->milli = 0;
        return false;
    }
    b->milli -= need;
    return true;
}

bool peerscore_take(struct peerscore *s, enum peerscore_kind k, uint32_t cost, uint64_t now)
{
    assert(k < PEERSCORE_KINDS);
    return peerscore_bucket_take(&s->b[k], spec[k].burst, spec[k].per_s, cost, now);
}

void peerscore_credit(struct peerscore *s, enum peerscore_kind k, uint32_t n)
{
    assert(k < PEERSCORE_KINDS);
    const uint64_t cap = (uint64_t)spec[k].burst * 1000, gain = (uint64_t)n * 1000;
    s->b[k].milli = gain >= cap - s->b[k].milli ? cap : s->b[k].milli + gain;
}

int peerscore_reason(enum peerscore_kind k)
{
    assert(k < PEERSCORE_KINDS);
    return PEERSCORE_E_UNKNOWN_TYPE - (int)k;
}

uint64_t peerscore_backoff_next(uint64_t prev_ms, uint64_t last_at, uint64_t now)
{
    if (prev_ms == 0 || now - last_at >= LIMIT_PENALTY_FORGIVE_MS)
        return LIMIT_PENALTY_MIN_MS;
    return prev_ms >= LIMIT_PENALTY_MAX_MS / 2 ? LIMIT_PENALTY_MAX_MS : prev_ms * 2;
}
