/* verifyq.c - see verifyq.h. */
#include "node/shell/verifyq.h"

#include <assert.h>

size_t verifyq_slot(const struct gossip_job *job)
{
    return job->from < LIMIT_PEERS ? job->from : 0;
}

bool verifyq_inline(struct verifyq *q, const struct gossip_job *job, uint64_t now_ms)
{
    if (now_ms != q->inline_ms) {
        q->inline_ms = now_ms;
        q->inline_left = LIMIT_VERIFY_INLINE_RECORDS;
    }
    if (q->busy[verifyq_slot(job)] != 0 || job->n > q->inline_left)
        return false;
    q->inline_left -= job->n;
    return true;
}

_Static_assert(LIMIT_PEERS <= UINT16_MAX + 1, "a slot fits the ready ring's entries");

static void ready_add(struct verifyq *q, size_t s)
{
    assert(q->ready_len < LIMIT_PEERS);
    q->ready[(q->ready_head + q->ready_len++) % LIMIT_PEERS] = (uint16_t)s;
}

void verifyq_push(struct verifyq *q, struct gossip_job *job)
{
    const size_t s = verifyq_slot(job);
    assert(q->busy[s] < UINT16_MAX);
    job->user = NULL;
    if (q->tail[s] != NULL) {
        q->tail[s]->user = job;
    } else {
        q->head[s] = job;
        ready_add(q, s); /* its first job: the slot was in neither the ring nor served */
    }
    q->tail[s] = job;
    q->busy[s]++;
}

struct gossip_job *verifyq_take(struct verifyq *q)
{
    if (q->served != 0) {
        ready_add(q, q->served - 1);
        q->served = 0;
    }
    if (q->ready_len == 0)
        return NULL;
    const size_t s = q->ready[q->ready_head];
    q->ready_head = (q->ready_head + 1) % LIMIT_PEERS;
    q->ready_len--;
    struct gossip_job *job = q->head[s];
    assert(job != NULL);
    q->head[s] = job->user;
    if (q->head[s] == NULL)
        q->tail[s] = NULL;
    else
        q->served = s + 1;
    return job;
}

void verifyq_done(struct verifyq *q, const struct gossip_job *job)
{
    const size_t s = verifyq_slot(job);
    assert(q->busy[s] > 0);
    q->busy[s]--;
}
