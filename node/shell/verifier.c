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

static struct gossip_job *take_locked(struct verifier *v)
{
    uv_mutex_lock(&v->lock);
    struct gossip_job *job = verifyq_take(&v->q);
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
    uv_mutex_lock(&v->lock);
    verifyq_done(&v->q, vw->job);
    uv_mutex_unlock(&v->lock);
    node_verified(v->node, vw->job);
    free(vw);
}

void verifier_submit(struct verifier *v, struct gossip_job *job)
{
    uv_mutex_lock(&v->lock);
    const bool here = verifyq_inline(&v->q, job, uv_now(v->loop));
    if (!here)
        verifyq_push(&v->q, job);
    uv_mutex_unlock(&v->lock);
    if (here) {
        node_verify_later(v->node, job); /* checked at the node's turn, before its commit */
        return;
    }
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
    struct gossip_job *later = take_locked(v); /* one job fewer queued, as work items */
    uv_mutex_lock(&v->lock);
    verifyq_done(&v->q, later);
    uv_mutex_unlock(&v->lock);
    node_verify_later(v->node, later);
}
