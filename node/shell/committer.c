/* committer.c - see committer.h. */
#include "node/shell/committer.h"

#include <assert.h>
#include <stdio.h>

#include "node/core/gossip.h"

static void writer_main(void *arg)
{
    struct committer *c = arg;
    uv_mutex_lock(&c->lock);
    for (;;) {
        while (c->todo == NULL && !c->quit)
            uv_cond_wait(&c->wake, &c->lock);
        if (c->todo == NULL) /* quit, with nothing handed out */
            break;
        struct gossip_commit *cm = c->todo;
        c->todo = NULL;
        uv_mutex_unlock(&c->lock);
        gossip_commit_run(cm);
        uv_mutex_lock(&c->lock);
        c->done = cm;
        uv_async_send(&c->back); /* under the lock: on_back takes cm (and may close back) after */
    }
    uv_mutex_unlock(&c->lock);
}

static void on_back(uv_async_t *a)
{
    struct committer *c = a->data;
    uv_mutex_lock(&c->lock);
    struct gossip_commit *cm = c->done;
    c->done = NULL;
    uv_mutex_unlock(&c->lock);
    if (cm == NULL) /* wake-ups coalesce: this one's commit was taken by an earlier call */
        return;
    assert(c->out);
    c->out = false;
    int rc = node_committed(c->node, cm);
    if (rc < 0)
        fprintf(stderr, "tlpmesh: gossip: %s\n", gossip_strerror(rc));
    if (c->stopping)
        uv_close((uv_handle_t *)&c->back, NULL);
}

int committer_init(struct committer *c, uv_loop_t *loop, struct node *node)
{
    assert(c != NULL && loop != NULL && node != NULL);
    *c = (struct committer){.loop = loop, .node = node};
    int rc = uv_mutex_init(&c->lock);
    if (rc < 0)
        return rc;
    if ((rc = uv_cond_init(&c->wake)) < 0) {
        uv_mutex_destroy(&c->lock);
        return rc;
    }
    c->back.data = c;
    if ((rc = uv_async_init(loop, &c->back, on_back)) == 0 &&
        (rc = uv_thread_create(&c->thread, writer_main, c)) == 0) {
        c->ready = true;
        return 0;
    }
    if (uv_is_active((uv_handle_t *)&c->back)) /* the thread failed: the handle must go */
        uv_close((uv_handle_t *)&c->back, NULL);
    uv_cond_destroy(&c->wake);
    uv_mutex_destroy(&c->lock);
    return rc;
}

void committer_submit(struct committer *c, struct gossip_commit *cm)
{
    assert(c->ready && !c->out && !c->stopping);
    c->out = true;
    uv_mutex_lock(&c->lock);
    assert(c->todo == NULL && c->done == NULL);
    c->todo = cm;
    uv_cond_signal(&c->wake);
    uv_mutex_unlock(&c->lock);
}

void committer_stop(struct committer *c)
{
    if (!c->ready || c->stopping)
        return;
    c->stopping = true;
    if (!c->out)
        uv_close((uv_handle_t *)&c->back, NULL);
}

void committer_close(struct committer *c)
{
    if (!c->ready)
        return;
    assert(!c->out);
    uv_mutex_lock(&c->lock);
    c->quit = true;
    uv_cond_signal(&c->wake);
    uv_mutex_unlock(&c->lock);
    uv_thread_join(&c->thread);
    uv_cond_destroy(&c->wake);
    uv_mutex_destroy(&c->lock);
    c->ready = false;
}
