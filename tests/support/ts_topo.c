/* ts_topo.c - topologies for in-memory nets (ts_topo.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "ts_topo.h"

uint32_t ts_rand(uint32_t *rng)
{
    *rng = *rng * 1103515245u + 12345u;
    return (*rng >> 16) & 0x7fff;
}

void ts_topo_init(struct ts_topo *t, size_t n, size_t max_degree)
{
    assert_true(n <= TS_TOPO_MAX_NODES && max_degree <= TS_TOPO_MAX_DEGREE);
    memset(t, 0, sizeof *t);
    t->n = n;
    t->max_degree = max_degree;
}

bool ts_topo_linked(const struct ts_topo *t, size_t a, size_t b)
{
    assert_true(a < t->n && b < t->n);
    for (size_t s = 0; s < t->degree[a]; s++)
        if (t->peer[a][s] == b)
            return true;
    return false;
}

void ts_topo_link(struct ts_topo *t, size_t a, size_t b)
{
    assert_true(a != b && !ts_topo_linked(t, a, b));
    assert_true(t->degree[a] < t->max_degree && t->degree[b] < t->max_degree);
    t->peer[a][t->degree[a]++] = b;
    t->peer[b][t->degree[b]++] = a;
}

size_t ts_topo_slot(const struct ts_topo *t, size_t a, size_t b)
{
    assert_true(a < t->n && b < t->n);
    for (size_t s = 0; s < t->degree[a]; s++)
        if (t->peer[a][s] == b)
            return s;
    fail_msg("node %zu has no link to node %zu", a, b);
    return 0; /* not reached: fail_msg leaves the test */
}

void ts_topo_line(struct ts_topo *t)
{
    for (size_t i = 0; i + 1 < t->n; i++)
        ts_topo_link(t, i, i + 1);
}

void ts_topo_ring(struct ts_topo *t)
{
    ts_topo_line(t);
    if (t->n > 2)
        ts_topo_link(t, t->n - 1, 0);
}

void ts_topo_complete(struct ts_topo *t)
{
    for (size_t a = 0; a < t->n; a++)
        for (size_t b = a + 1; b < t->n; b++)
            ts_topo_link(t, a, b);
}

size_t ts_topo_random(struct ts_topo *t, size_t tries, size_t cap, uint32_t *rng)
{
    size_t added = 0;
    for (size_t k = 0; k < tries; k++) {
        const size_t a = ts_rand(rng) % t->n, b = ts_rand(rng) % t->n;
        if (a != b && !ts_topo_linked(t, a, b) && t->degree[a] < cap && t->degree[b] < cap) {
            ts_topo_link(t, a, b);
            added++;
        }
    }
    return added;
}
