/* verifier.c - see verifier.h. */
#include "node/shell/verifier.h"

#include <assert.h>
#include <stdlib.h>

struct verify_work {
    uv_work_t req;
    struct verifier *v;
    struct gossip_job *job; /* taken when the work runs: the next peer's, not this submit's */
};

int verifier_init(struct verifier *v, uv_loop_t *loop, struct node *node)
{
    assert(v != NULL && loop != NULL && node != NULL);
    *v = (struct verifier){.loop = NULL};
    int rc = uv_mutex_init(&v->lock);
    if (rc == 0) {
        v->loop = loop;
        v->node = node;
    }
    return rc;
}

void verifier_close(struct verifier *v)
{
    assert(v->out == 0);
    if (v->loop != NULL)
        uv_mutex_destroy(&v->lock);
    v->loop = NULL;
}

static size_t slot_of(const struct gossip_job *job)
{
    return job->from < LIMIT_PEERS ? job->from : 0; /* gossip verifies peers' records only */
}

/* The first job of the next peer slot that has one, round robin; the lock is held. */
static struct gossip_job *take(struct verifier *v)
{
    for (size_t i = 0; i < LIMIT_PEERS; i++) {
        const size_t s = (v->next + i) % LIMIT_PEERS;
        struct gossip_job *job = v->head[s];
        if (job == NULL)
            continue;
        v->head[s] = job->user;
        if (v->head[s] == NULL)
            v->tail[s] = NULL;
        v->next = (s + 1) % LIMIT_PEERS;
        return job;
    }
    return NULL;
}

static struct gossip_job *take_locked(struct verifier *v)
{
    uv_mutex_lock(&v->lock);
    struct gossip_job *job = take(v);
    uv_mutex_unlock(&v->lock);
    assert(job != NULL); /* one queued job per work item */
    return job;
}

static void work_cb(uv_work_t *req)
{
    struct verify_work *vw = req->data;
    vw->job = take_locked(vw->v);
    gossip_job_run(vw->job);
}

static void after_work_cb(uv_work_t *req, int status)
{
    struct verify_work *vw = req->data;
    struct verifier *v = vw->v;
    if (status < 0) { /* cancelled, never run: check one here rather than trust it */
        vw->job = take_locked(v);
        gossip_job_run(vw->job);
    }
    assert(v->out > 0);
    v->out--;
    node_verified(v->node, vw->job);
    free(vw);
}

void verifier_submit(struct verifier *v, struct gossip_job *job)
{
    const size_t s = slot_of(job);
    job->user = NULL;
    uv_mutex_lock(&v->lock);
    if (v->tail[s] != NULL)
        v->tail[s]->user = job;
    else
        v->head[s] = job;
    v->tail[s] = job;
    uv_mutex_unlock(&v->lock);
    struct verify_work *vw = malloc(sizeof *vw);
    if (vw != NULL) {
        *vw = (struct verify_work){.v = v, .job = NULL};
        vw->req.data = vw;
        if (uv_queue_work(v->loop, &vw->req, work_cb, after_work_cb) == 0) {
            v->out++;
            return;
        }
        free(vw);
    }
    node_verify_later(v->node, take_locked(v)); /* one job fewer queued, as work items */
}
