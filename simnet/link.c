/* link.c - partitions and the link model: simulated TCP connections, their arrival times,
 * their indexes and what a node's turn sends on them (simrun.h). */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "simnet/simrun.h"

/* --- partitions --- */

bool blocked(const struct sim *s, uint32_t from, uint32_t to)
{
    if (s->split_on && s->side[from] != s->side[to])
        return true;
    if (s->isolated >= 0 && (from == (uint32_t)s->isolated || to == (uint32_t)s->isolated))
        return true;
    for (size_t i = 0; i < s->n_oneway; i++)
        if (s->oneway[i][0] == from && s->oneway[i][1] == to)
            return true;
    return false;
}

/* --- the link model --- */

/* Arrival time of a segment of len bytes sent now on directed link; in order per connection. */
uint64_t arrival(struct sim *s, struct snode *from, struct sconn *c, int side, size_t len)
{
    const struct sim_link_model *m = &s->w.model[c->link[side]];
    uint64_t start = c->free_at[side] > s->now ? c->free_at[side] : s->now;
    uint64_t ser = m->bandwidth_kbps ? (uint64_t)len * 8 / m->bandwidth_kbps : 0;
    c->free_at[side] = start + ser;
    uint64_t t = start + ser + (m->latency_ms ? m->latency_ms : 1);
    if (m->jitter_ms)
        t += rng_below(&from->rng, (uint64_t)m->jitter_ms + 1);
    while (m->loss > 0 && rng_unit(&from->rng) < m->loss) /* lost: resent after an RTO */
        t += RTO_MS + 2 * (uint64_t)m->latency_ms;
    if (t < c->last_at[side])
        t = c->last_at[side]; /* TCP delivers in order */
    c->last_at[side] = t;
    return t;
}

/* Connection indexes come from the dialler's own range, so that nodes dialling in one step on
 * different threads get the same indexes as on one. A node out of them fails the dial (its
 * engine retries later): 4 per peer slot is more than churn and partitions ever keep alive. */
uint32_t conn_slots(uint32_t degree)
{
    return 4 * degree + 8;
}

uint32_t conn_alloc(struct snode *n)
{
    return n->n_conn_free > 0 ? n->conn_free[--n->n_conn_free] : UINT32_MAX;
}

/* Only between steps: the connection's events are all counted in refs then. */
void conn_release_if_done(struct sim *s, uint32_t ci)
{
    struct sconn *c = &s->conns[ci];
    if (!c->used || c->refs > 0 || c->open[0] || c->open[1] || c->queued[0] || c->queued[1])
        return;
    struct snode *o = &s->nodes[c->owner];
    free(c->out[0]);
    free(c->out[1]);
    memset(c, 0, sizeof *c);
    assert(o->n_conn_free < conn_slots(world_degree(&s->w, o->idx)));
    o->conn_free[o->n_conn_free++] = ci;
}

void release_later(struct snode *n, uint32_t ci)
{
    struct sim *s = n->sim;
    if (!s->stepping) {
        conn_release_if_done(s, ci);
        return;
    }
    struct worker *w = n->w;
    if (grow((void **)&w->rel, &w->cap_rel, w->n_rel, sizeof *w->rel))
        w->rel[w->n_rel++] = ci;
    else
        w->err = SIM_E_NOMEM;
}

struct sconn *conn_of(struct snode *n, engine_conn h, int *side)
{
    size_t slot = (size_t)(h & 0xffffffffu);
    if (slot >= n->node.engine.max_conns || n->slot_conn[slot] == 0)
        return NULL;
    struct sconn *c = &n->sim->conns[n->slot_conn[slot] - 1];
    for (int sd = 0; sd < 2; sd++)
        if (c->node[sd] == n->idx && c->open[sd] && c->h[sd] == h) {
            *side = sd;
            return c;
        }
    return NULL;
}

void queue_flush(struct snode *n, uint32_t ci, int side)
{
    struct sconn *c = &n->sim->conns[ci];
    if (c->queued[side])
        return;
    if (n->n_flush == n->cap_flush) {
        size_t cap = n->cap_flush ? n->cap_flush * 2 : 16;
        uint32_t *nf = realloc(n->flush, cap * sizeof *nf);
        if (nf == NULL) {
            n->w->err = SIM_E_NOMEM;
            return;
        }
        n->flush = nf;
        n->cap_flush = cap;
    }
    c->queued[side] = true;
    n->flush[n->n_flush++] = ci;
}

/* The side stops knowing the connection: its engine slot is free for reuse. */
void side_forget(struct sim *s, uint32_t ci, int side)
{
    struct sconn *c = &s->conns[ci];
    if (!c->open[side])
        return;
    c->open[side] = false;
    struct snode *n = &s->nodes[c->node[side]];
    size_t slot = (size_t)(c->h[side] & 0xffffffffu);
    if (n->slot_conn && slot < n->node.engine.max_conns && n->slot_conn[slot] == ci + 1)
        n->slot_conn[slot] = 0;
}

/* Sends what node n queued this turn: one segment per connection, then FINs. */
void flush_node(struct sim *s, struct snode *n)
{
    for (size_t i = 0; i < n->n_flush; i++) {
        uint32_t ci = n->flush[i];
        struct sconn *c = &s->conns[ci];
        int side = c->node[0] == n->idx && c->queued[0] ? 0 : 1;
        assert(c->queued[side]);
        c->queued[side] = false;
        int other = 1 - side;
        if (blocked(s, c->node[side], c->node[other]))
            c->broken[side] = true;
        if (c->out_len[side] > 0) {
            uint32_t len = (uint32_t)c->out_len[side];
            n->tx += len;
            part(n)->bytes_tx += len;
            if (!c->broken[side]) {
                uint64_t t = arrival(s, n, c, side, len);
                c->inflight[side] += len;
                npush(n, t, EV_DATA, ci, (uint32_t)side, c->out[side], len);
                c->out[side] = NULL;
                c->out_cap[side] = 0;
            }
            c->out_len[side] = 0;
        }
        if (c->fin[side] && !c->broken[side]) {
            c->fin[side] = false;
            npush(n, arrival(s, n, c, side, 0), EV_FIN, ci, (uint32_t)side, NULL, 0);
        }
        if (!c->open[side]) /* its own side: the other node may be running on another thread */
            release_later(n, ci);
    }
    n->n_flush = 0;
}
