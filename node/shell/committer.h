/* committer.h - the node's store commits on a writer thread (node/core/gossip.h io.commit).
 *
 * Why: a durable LMDB commit takes milliseconds (its fsyncs), and while the loop thread ran it
 * no peer's input was read, no job handed out and no status answered; under a flood every loop
 * turn held one, and an honest peer's record waited for it before it was even read (issue 12).
 * Here one thread runs gossip_commit_run() while the loop goes on; a uv_async_t hands the
 * finished commit back, and node_committed() announces and forwards its records on the loop
 * thread: a record still reaches no peer before it is durable.
 *
 * LMDB: the store is MDB_NOTLS, so the loop thread's read transactions and this thread's write
 * transaction may overlap; gossip has one commit out at a time, so there is one write
 * transaction, begun and committed on this thread (LMDB's writer lock is the thread's). A
 * write of the loop thread's own (prune) waits for LMDB's writer lock, at most one commit.
 *
 * Ownership: struct committer is caller-owned. committer_init starts the thread; committer_stop
 * (at shutdown, on the loop thread) closes the wake-up handle once no commit is out, so uv_run
 * can return; committer_close (after the loop ended) joins the thread. It keeps pointers to the
 * loop and the node.
 */
#ifndef TLPMESH_NODE_COMMITTER_H
#define TLPMESH_NODE_COMMITTER_H

#include <stdbool.h>

#include <uv.h>

#include "node/core/node.h"

struct committer {
    uv_loop_t *loop;
    struct node *node;
    uv_thread_t thread;
    uv_mutex_t lock; /* todo, done, quit: the loop thread and the writer thread */
    uv_cond_t wake;  /* the writer thread waits on it for todo or quit */
    uv_async_t back; /* the writer thread wakes the loop with done */
    struct gossip_commit *todo; /* handed out, not yet taken by the writer thread */
    struct gossip_commit *done; /* run, not yet given back */
    bool out;      /* a commit between committer_submit and node_committed */
    bool stopping; /* committer_stop ran: close back when out ends */
    bool quit;     /* the writer thread ends */
    bool ready;    /* init succeeded: the thread runs, the handles exist */
};

/* 0, or a negative libuv error (nothing is left to close then). */
int committer_init(struct committer *c, uv_loop_t *loop, struct node *node);

/* What node_io.commit does: the writer thread runs cm, the loop gets it back (node_committed). */
void committer_submit(struct committer *c, struct gossip_commit *cm);

/* The loop is stopping: the handle closes now, or when the commit that is out is back. */
void committer_stop(struct committer *c);

/* After uv_run returned (nothing out): ends and joins the thread. Safe on a zeroed or failed
 * committer. */
void committer_close(struct committer *c);

#endif
