/* delays.c - delivery delays as counts per millisecond (struct sim_delays, sim.h). */
#include <stdlib.h>
#include <string.h>

#include "simnet/sim.h"

int sim_delays_add(struct sim_delays *d, uint32_t ms, uint64_t times)
{
    if (ms >= d->cap) {
        uint64_t cap = d->cap ? d->cap : 1024;
        while (cap <= ms)
            cap *= 2; /* ms < 2^32: at most 2^32 entries */
        uint64_t *nc = realloc(d->count, cap * sizeof *nc);
        if (nc == NULL)
            return SIM_E_NOMEM;
        memset(nc + d->cap, 0, (cap - d->cap) * sizeof *nc);
        d->count = nc;
        d->cap = cap;
    }
    d->count[ms] += times;
    d->n += times;
    d->max = ms > d->max ? ms : d->max;
    return SIM_OK;
}

int sim_delays_merge(struct sim_delays *to, const struct sim_delays *from)
{
    int rc = SIM_OK;
    for (uint64_t ms = 0; from->n > 0 && ms <= from->max && rc == SIM_OK; ms++)
        if (from->count[ms] > 0)
            rc = sim_delays_add(to, (uint32_t)ms, from->count[ms]);
    return rc;
}

uint32_t sim_delays_at(const struct sim_delays *d, uint64_t rank)
{
    uint64_t below = 0;
    for (uint64_t ms = 0; ms <= d->max && d->n > 0; ms++) {
        below += d->count[ms];
        if (below > rank)
            return (uint32_t)ms;
    }
    return d->max;
}

void sim_delays_free(struct sim_delays *d)
{
    free(d->count);
    memset(d, 0, sizeof *d);
}
