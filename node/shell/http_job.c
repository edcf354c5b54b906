/* http_job.c - answers that walk the store, built off the loop thread (http_int.h).
 *
 * A TAXII page of objects/ or manifest/ may examine up to LIMIT_TAXII_SCAN_RECORDS records, a
 * MISP feed file every record: hundreds of milliseconds at 200k records, during which the loop
 * could neither gossip nor answer anyone. So the request's connection is suspended
 * (MHD_suspend_connection), the job (taxii_job_run(), mispfeed_run()) runs on one of libuv's
 * pool threads with its own read transactions, and the connection is resumed when it is done;
 * MHD then calls the access handler again, which sends the answer.
 * At most LIMIT_HTTP_JOBS pages are built at once (the pool's other threads stay with the
 * signature checks); the others wait in FIFO order, one per connection at most, so the queue is
 * bounded by LIMIT_HTTP_CONNS. */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "node/shell/http_int.h"

struct http_job {
    enum http_cls kind; /* HTTP_CLS_JOB, first (http_int.h) */
    uv_work_t work;
    struct http_listener *l;
    struct MHD_Connection *conn;
    const struct http_job_ops *ops;
    void *job;
    struct taxii_response tr;
    bool done;
    struct http_job *next; /* in srv->waiting */
};

/* Resuming signals MHD's inter-thread channel, which is in the epoll set the loop watches, so
 * MHD runs again soon in any case; callers outside MHD's callbacks drive it at once. */
static void finish(struct http_job *j)
{
    j->done = true;
    MHD_resume_connection(j->conn);
}

static void fail(struct http_job *j, const char *why)
{
    char *body = taxii_error_json(503, "Service unavailable", why);
    j->tr.status = 503;
    j->tr.content_type = TAXII_MEDIA_TYPE;
    j->tr.body = body;
    j->tr.body_len = body ? strlen(body) : 0;
    finish(j);
}

static void work_cb(uv_work_t *w)
{
    struct http_job *j = w->data;
    (void)j->ops->run(j->job, &j->tr); /* an error leaves a 500 in tr */
}

static void kick(struct http_server *srv);

static void after_work_cb(uv_work_t *w, int status)
{
    struct http_job *j = w->data;
    struct http_listener *l = j->l; /* j may be freed once MHD runs */
    struct http_server *srv = l->srv;
    assert(srv->running > 0);
    srv->running--;
    if (status < 0) /* cancelled: never ran */
        fail(j, "the page could not be built");
    else
        finish(j);
    kick(srv);
    if (l->handles)
        http_drive(l);
}

static void kick(struct http_server *srv)
{
    while (!srv->stopping && srv->running < LIMIT_HTTP_JOBS && srv->waiting) {
        struct http_job *j = srv->waiting;
        srv->waiting = j->next;
        if (!srv->waiting)
            srv->waiting_tail = NULL;
        j->work.data = j;
        if (uv_queue_work(srv->p.loop, &j->work, work_cb, after_work_cb) == 0)
            srv->running++;
        else
            fail(j, "no worker thread for the page");
    }
}

enum MHD_Result http_job_submit(struct http_listener *l, struct MHD_Connection *conn,
                                const struct http_job_ops *ops, void *job,
                                const struct taxii_response *tr, void **con_cls)
{
    if (l->srv->stopping) {
        /* Suspended now, it would outlive the daemon: no job starts once http_stop() ran. */
        ops->free(job);
        char *body = taxii_error_json(503, "Service unavailable", "the node is shutting down");
        if (!body)
            return MHD_NO;
        return http_send_response(l, conn, 503, TAXII_MEDIA_TYPE, body, strlen(body), NULL);
    }
    struct http_job *j = calloc(1, sizeof *j);
    if (!j) {
        ops->free(job);
        return MHD_NO;
    }
    *j = (struct http_job){.kind = HTTP_CLS_JOB, .l = l, .conn = conn, .ops = ops, .job = job,
                           .tr = *tr};
    *con_cls = j;
    MHD_suspend_connection(conn);
    struct http_server *srv = l->srv;
    if (srv->waiting_tail)
        srv->waiting_tail->next = j;
    else
        srv->waiting = j;
    srv->waiting_tail = j;
    kick(srv);
    return MHD_YES;
}

enum MHD_Result http_job_answer(struct http_listener *l, struct MHD_Connection *conn,
                                struct http_job *j, const char *method, const char *url)
{
    if (!j->done)
        return MHD_YES; /* not resumed yet: nothing to say */
    if (j->ops->answer && j->tr.status != 503) /* 503: never ran, fail() filled tr */
        return j->ops->answer(l, conn, j->job, method, url);
    return http_send_handled(l, conn, method, url, &j->tr);
}

void http_job_free(struct http_job *j)
{
    if (!j)
        return;
    assert(j->done); /* a job still queued or running holds its connection suspended */
    j->ops->free(j->job);
    taxii_response_free(&j->tr);
    free(j);
}

void http_job_stop(struct http_server *srv)
{
    srv->stopping = true;
    for (size_t guard = 0; srv->waiting && guard <= LIMIT_HTTP_CONNS; guard++) {
        struct http_job *j = srv->waiting;
        srv->waiting = j->next;
        fail(j, "the node is shutting down");
    }
    srv->waiting_tail = NULL;
    for (size_t i = 0; i < srv->n; i++)
        if (srv->l[i].handles)
            http_drive(&srv->l[i]);
}
