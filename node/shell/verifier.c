/* verifier.c - see verifier.h. */
#include "node/shell/verifier.h"

#include <assert.h>
#include <stdlib.h>

struct verify_work {
    uv_work_t req;
    struct verifier *v;
    struct gossip_job *job;
};

void verifier_init(struct verifier *v, uv_loop_t *loop, struct node *node)
{
    assert(v != NULL && loop != NULL && node != NULL);
    *v = (struct verifier){.loop = loop, .node = node};
}

static void work_cb(uv_work_t *req)
{
    struct verify_work *vw = req->data;
    gossip_job_run(vw->job);
}

static void after_work_cb(uv_work_t *req, int status)
{
    struct verify_work *vw = req->data;
    struct verifier *v = vw->v;
    if (status < 0) /* cancelled, never run: check it here rather than trust it */
        gossip_job_run(vw->job);
    assert(v->out > 0);
    v->out--;
    node_verified(v->node, vw->job);
    free(vw);
}

void verifier_submit(struct verifier *v, struct gossip_job *job)
{
    struct verify_work *vw = malloc(sizeof *vw);
    if (vw != NULL) {
        *vw = (struct verify_work){.v = v, .job = job};
        vw->req.data = vw;
        if (uv_queue_work(v->loop, &vw->req, work_cb, after_work_cb) == 0) {
            v->out++;
            return;
        }
        free(vw);
    }
    node_verify_later(v->node, job);
}
