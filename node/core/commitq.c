/* commitq.c - see commitq.h. */
#include "node/core/commitq.h"

#include <assert.h>
#include <stdlib.h>

#define EMPTY UINT32_MAX

bool commitq_init(struct commitq *q, size_t cap, size_t n_sources, size_t quantum,
                  uint64_t shared_ms)
{
    assert(q != NULL && cap < EMPTY && n_sources >= 1 && quantum >= 1);
    *q = (struct commitq){.cap = cap, .n_sources = n_sources, .quantum = quantum,
                          .credit = quantum, .shared_ms = shared_ms, .last_source = SIZE_MAX};
    q->next = malloc(cap * sizeof *q->next);
    q->head = malloc(n_sources * sizeof *q->head);
    q->tail = malloc(n_sources * sizeof *q->tail);
    q->count = calloc(n_sources, sizeof *q->count);
    q->active = calloc((n_sources + 63) / 64, sizeof *q->active);
    if (q->next == NULL || q->head == NULL || q->tail == NULL || q->count == NULL ||
        q->active == NULL) {
        commitq_free(q);
        return false;
    }
    for (size_t s = 0; s < n_sources; s++)
        q->head[s] = q->tail[s] = EMPTY;
    return true;
}

void commitq_free(struct commitq *q)
{
    free(q->next);
    free(q->head);
    free(q->tail);
    free(q->count);
    free(q->active);
    *q = (struct commitq){.next = NULL};
}

void commitq_push(struct commitq *q, size_t source, uint32_t item, uint64_t now)
{
    assert(source < q->n_sources && item < q->cap && q->len < q->cap);
    q->next[item] = EMPTY;
    if (q->tail[source] == EMPTY) {
        q->head[source] = item;
        q->active[source / 64] |= UINT64_C(1) << (source % 64);
    } else {
        q->next[q->tail[source]] = item;
    }
    q->tail[source] = item;
    q->count[source]++;
    q->len++;
    if (source != q->last_source && q->last_source != SIZE_MAX)
        q->shared_until = now + q->shared_ms;
    q->last_source = source;
}

/* The first source with items at or after from, wrapping; the queue is not empty. */
static size_t next_active(const struct commitq *q, size_t from)
{
    const size_t words = (q->n_sources + 63) / 64;
    for (size_t k = 0; k <= words; k++) { /* the first word twice: the bits below from last */
        const size_t w = (from / 64 + k) % words;
        uint64_t bits = q->active[w];
        if (k == 0)
            bits &= ~UINT64_C(0) << (from % 64);
        if (bits != 0)
            return w * 64 + (size_t)__builtin_ctzll(bits);
    }
    assert(!"commitq: no source with items");
    return 0;
}

static uint32_t pop(struct commitq *q, size_t source)
{
    const uint32_t item = q->head[source];
    assert(item != EMPTY);
    q->head[source] = q->next[item];
    q->count[source]--;
    if (q->head[source] == EMPTY) {
        q->tail[source] = EMPTY;
        q->active[source / 64] &= ~(UINT64_C(1) << (source % 64));
    }
    q->len--;
    return item;
}

size_t commitq_take(struct commitq *q, uint32_t *out, size_t max)
{
    size_t n = 0;
    while (n < max && q->len > 0) {
        const size_t s = next_active(q, q->cursor);
        if (s != q->cursor) { /* the served source ran dry or passed: a fresh quantum */
            q->cursor = s;
            q->credit = q->quantum;
        }
        while (n < max && q->credit > 0 && q->head[s] != EMPTY) {
            out[n++] = pop(q, s);
            q->credit--;
        }
        if (q->credit == 0 || q->head[s] == EMPTY) { /* its turn is over: the next source's */
            q->cursor = (s + 1) % q->n_sources;
            q->credit = q->quantum;
        }
    }
    return n;
}

size_t commitq_len(const struct commitq *q)
{
    return q->len;
}

size_t commitq_round(const struct commitq *q, size_t per_source)
{
    size_t n = 0;
    for (size_t w = 0; w < (q->n_sources + 63) / 64; w++)
        for (uint64_t bits = q->active[w]; bits != 0; bits &= bits - 1) {
            const size_t s = w * 64 + (size_t)__builtin_ctzll(bits);
            n += q->count[s] < per_source ? q->count[s] : per_source;
        }
    return n;
}

bool commitq_shared(const struct commitq *q, uint64_t now)
{
    return now < q->shared_until;
}
