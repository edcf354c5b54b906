/* fuzz_sock.c - a client connection driven by the harness's loop; see fuzz_sock.h. */
#include "fuzz_sock.h"

#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fuzz.h"

/* Loop turns without any event before a server counts as waiting for the client (done == NULL):
 * loopback hands bytes over within the sending call, so a turn that saw nothing means nothing
 * is on its way; a few more absorb a deferred delivery on a loaded machine. */
#define FUZZ_SOCK_QUIET_TURNS 8

struct conn {
    int fd;
    const unsigned char *data;
    size_t len, sent;
    bool half_close, finished;
    unsigned long events; /* poll callbacks so far: progress, for the quiet rule */
    bool (*done)(void *ctx, const struct fuzz_buf *out);
    void *ctx;
    struct fuzz_buf *out;
    uv_poll_t poll;
};

static void append(struct fuzz_buf *b, const char *p, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        b->cap = (b->n + n + 1) * 2;
        b->p = realloc(b->p, b->cap);
        FUZZ_CHECK(b->p != NULL);
    }
    memcpy(b->p + b->n, p, n);
    b->n += n;
    b->p[b->n] = '\0';
}

static void finish(struct conn *c)
{
    c->finished = true;
    uv_poll_stop(&c->poll);
}

static void on_events(uv_poll_t *h, int status, int events)
{
    struct conn *c = h->data;
    char buf[16384];

    c->events++;
    if (status < 0) {
        finish(c);
        return;
    }
    if ((events & UV_WRITABLE) && c->sent < c->len) {
        ssize_t w = send(c->fd, c->data + c->sent, c->len - c->sent, MSG_NOSIGNAL);
        if (w > 0)
            c->sent += (size_t)w;
        else if (w < 0 && errno != EAGAIN && errno != EINTR)
            c->sent = c->len; /* the server stopped reading (and will close): read what it said */
        if (c->sent == c->len) {
            if (c->half_close)
                shutdown(c->fd, SHUT_WR);
            uv_poll_start(&c->poll, UV_READABLE, on_events);
        }
    }
    if (events & UV_READABLE) {
        ssize_t r = recv(c->fd, buf, sizeof buf, 0);
        if (r > 0)
            append(c->out, buf, (size_t)r);
        if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR) ||
            (c->done != NULL && c->done(c->ctx, c->out)))
            finish(c);
    }
}

void fuzz_sock_exchange(uv_loop_t *loop, int fd, const void *data, size_t len, bool half_close,
                        bool (*done)(void *ctx, const struct fuzz_buf *out), void *ctx,
                        struct fuzz_buf *out)
{
    struct conn c = {.fd = fd,
                     .data = data,
                     .len = len,
                     .half_close = half_close,
                     .done = done,
                     .ctx = ctx,
                     .out = out};

    memset(out, 0, sizeof *out);
    append(out, "", 0);
    FUZZ_CHECK(uv_poll_init(loop, &c.poll, fd) == 0);
    c.poll.data = &c;
    if (len == 0 && half_close)
        shutdown(fd, SHUT_WR);
    FUZZ_CHECK(
        uv_poll_start(&c.poll, len > 0 ? UV_READABLE | UV_WRITABLE : UV_READABLE, on_events) == 0);
    if (done != NULL && done(ctx, out))
        finish(&c);
    for (unsigned quiet = 0; !c.finished && (done != NULL || quiet < FUZZ_SOCK_QUIET_TURNS);) {
        unsigned long before = c.events;
        uv_run(loop, done != NULL ? UV_RUN_ONCE : UV_RUN_NOWAIT);
        quiet = c.events == before ? quiet + 1 : 0;
    }
    uv_close((uv_handle_t *)&c.poll, NULL);
    uv_run(loop, UV_RUN_NOWAIT); /* the close callback: c lives on this stack */
    /* A reset, not a FIN: the server hears of it at once, however it waits (see fuzz_sock.h). */
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &(struct linger){1, 0}, sizeof(struct linger));
    close(fd);
    for (int i = 0; i < FUZZ_SOCK_QUIET_TURNS; i++)
        uv_run(loop, UV_RUN_NOWAIT); /* the server drops its end */
}
