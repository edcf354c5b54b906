/* event.c - simnet's event queue (a timing wheel and a heap) and the trace (simrun.h). */
#include <assert.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "simnet/simrun.h"

/* --- events --- */

static bool ev_before(const struct ev *x, const struct ev *y)
{
    return x->t != y->t ? x->t < y->t : x->seq < y->seq;
}

static int heap_push(struct heap *h, const struct ev *e)
{
    if (h->n == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 4096;
        struct ev *nv = realloc(h->v, cap * sizeof *nv);
        if (nv == NULL)
            return SIM_E_NOMEM;
        h->v = nv;
        h->cap = cap;
    }
    size_t i = h->n++;
    while (i > 0 && ev_before(e, &h->v[(i - 1) / 2])) {
        h->v[i] = h->v[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h->v[i] = *e;
    return SIM_OK;
}

static struct ev heap_pop(struct heap *h)
{
    assert(h->n > 0);
    struct ev top = h->v[0], last = h->v[--h->n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= h->n)
            break;
        if (c + 1 < h->n && ev_before(&h->v[c + 1], &h->v[c]))
            c++;
        if (!ev_before(&h->v[c], &last))
            break;
        h->v[i] = h->v[c];
        i = c;
    }
    if (h->n > 0)
        h->v[i] = last;
    return top;
}

static int bucket_add(struct bucket *b, const struct ev *e)
{
    if (b->n == b->cap) {
        uint32_t cap = b->cap ? b->cap * 2 : 16;
        struct ev *nv = realloc(b->v, cap * sizeof *nv);
        if (nv == NULL)
            return SIM_E_NOMEM;
        b->v = nv;
        b->cap = cap;
    }
    b->v[b->n++] = *e;
    return SIM_OK;
}

static int evq_push(struct evq *q, const struct ev *e)
{
    assert(e->t >= q->base);
    if (e->t - q->base >= WHEEL_MS)
        return heap_push(&q->far, e);
    int rc = bucket_add(&q->wheel[e->t % WHEEL_MS], e);
    q->n_wheel += rc == SIM_OK;
    return rc;
}

size_t evq_size(const struct evq *q)
{
    return q->n_wheel + q->far.n;
}

/* Time of the earliest event (the queue is not empty); the wheel moves on to it. */
int evq_advance(struct evq *q, uint64_t *t)
{
    assert(evq_size(q) > 0);
    if (q->n_wheel == 0)
        q->base = q->far.v[0].t;
    while (q->wheel[q->base % WHEEL_MS].head == q->wheel[q->base % WHEEL_MS].n) {
        if (q->far.n > 0 && q->far.v[0].t == q->base)
            break; /* its bucket is empty: the heap's events of base move in below */
        q->base++;
    }
    while (q->far.n > 0 && q->far.v[0].t - q->base < WHEEL_MS) {
        struct ev e = heap_pop(&q->far);
        int rc = bucket_add(&q->wheel[e.t % WHEEL_MS], &e);
        if (rc < 0) {
            free(e.data);
            return rc;
        }
        q->n_wheel++;
    }
    *t = q->base;
    return SIM_OK;
}

/* The next event due at the wheel's current time, if any. */
bool evq_pop_now(struct evq *q, struct ev *e)
{
    struct bucket *b = &q->wheel[q->base % WHEEL_MS];
    if (b->head == b->n)
        return false;
    *e = b->v[b->head++];
    assert(e->t == q->base);
    if (b->head == b->n) {
        b->head = b->n = 0;
        if (b->cap > WHEEL_KEEP) { /* a burst's room goes back: 4096 full buckets add up */
            free(b->v);
            b->v = NULL;
            b->cap = 0;
        }
    }
    q->n_wheel--;
    return true;
}

int evq_init(struct evq *q)
{
    memset(q, 0, sizeof *q);
    q->wheel = calloc(WHEEL_MS, sizeof *q->wheel);
    return q->wheel ? SIM_OK : SIM_E_NOMEM;
}

/* Frees the queue and the data of every event left in it. */
void evq_free(struct evq *q)
{
    for (size_t i = 0; q->wheel && i < WHEEL_MS; i++) {
        for (uint32_t j = q->wheel[i].head; j < q->wheel[i].n; j++)
            free(q->wheel[i].v[j].data);
        free(q->wheel[i].v);
    }
    while (q->far.n > 0) {
        struct ev e = heap_pop(&q->far);
        free(e.data);
    }
    free(q->far.v);
    free(q->wheel);
    memset(q, 0, sizeof *q);
}

void trace_ev(struct sim *s, const struct ev *e)
{
    uint64_t h = s->res->trace_digest ^ (e->t * 0x9e3779b97f4a7c15ull);
    uint64_t parts[4] = {e->type, e->a, e->b, e->len};
    for (int i = 0; i < 4; i++) {
        h ^= parts[i] + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
        h *= 0xbf58476d1ce4e5b9ull;
    }
    s->res->trace_digest = h;
    s->res->events++;
    if (s->trace)
        fprintf(s->trace, "%" PRIu64 " %u %u %u %u\n", e->t, e->type, e->a, e->b, e->len);
}

/* Into the queue, numbered in the order of these calls. A coarser clock: events wait for the
 * next step, so each node turns once per step and sends what it has as one segment per
 * connection (order on every connection is kept). */
int enqueue(struct sim *s, uint64_t t, uint32_t type, uint32_t a, uint32_t b,
            uint8_t *data, uint32_t len)
{
    uint64_t step = s->sc->resolution_ms;
    struct ev e = {(t + step - 1) / step * step, s->seq++, type, a, b, len, data};
    int rc = evq_push(&s->q, &e);
    if (rc < 0)
        s->err = rc;
    return rc;
}

/* An event from the simulator itself or from a node outside a step (npush otherwise). */
int push(struct sim *s, uint64_t t, uint32_t type, uint32_t a, uint32_t b, uint8_t *data,
         uint32_t len)
{
    if (type <= EV_FIN) {
        s->net_events++;
        s->conns[a].refs++;
    }
    return enqueue(s, t, type, a, b, data, len);
}
