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

void verifyq_push(struct verifyq *q, struct gossip_job *job)
{
    const size_t s = verifyq_slot(job);
    assert(q->busy[s] < UINT16_MAX);
    job->user = NULL;
    if (q->tail[s] != NULL)
        q->tail[s]->user = job;
    else
        q->head[s] = job;
    q->tail[s] = job;
    q->busy[s]++;
}

struct gossip_job *verifyq_take(struct verifyq *q)
{
    for (size_t i = 0; i < LIMIT_PEERS; i++) {
        const size_t s = (q->next + i) % LIMIT_PEERS;
        struct gossip_job *job = q->head[s];
        if (job == NULL)
            continue;
        q->head[s] = job->user;
        if (q->head[s] == NULL)
            q->tail[s] = NULL;
        q->next = (s + 1) % LIMIT_PEERS;
        return job;
    }
    return NULL;
}

void verifyq_done(struct verifyq *q, const struct gossip_job *job)
{
    const size_t s = verifyq_slot(job);
    assert(q->busy[s] > 0);
    q->busy[s]--;
}
