/* fuzz_sock.h - one client connection to a server running on the harness's own libuv loop
 * (fuzz_http.c: libmicrohttpd over TCP on 127.0.0.1; fuzz_control.c: the control socket).
 *
 * fuzz_sock_exchange writes data to fd (non-blocking, connected), optionally shuts down its write
 * side, and turns the loop while it reads the server's answer into out, until the server closes,
 * the connection fails, or:
 *   done != NULL: done(ctx, out) says the answer is complete. The loop blocks (UV_RUN_ONCE) for
 *                 it: a server that never answers hangs the input, which libFuzzer's -timeout
 *                 reports (the control socket must answer every line).
 *   done == NULL: the server has gone quiet, a few loop turns without an event (HTTP: a
 *                 keep-alive server waits for the next request until its idle timeout, and
 *                 libmicrohttpd, edge-triggered, may not notice a FIN that came with the data).
 * Then fd is closed with a reset, so the server drops its end on its next turn whatever state it
 * is in. Both ends run on this thread: the server makes progress only inside uv_run. out is
 * malloc'ed (the caller frees out->p) and NUL-terminated.
 */
#ifndef TLPMESH_TESTS_FUZZ_SOCK_H
#define TLPMESH_TESTS_FUZZ_SOCK_H

#include <stdbool.h>
#include <stddef.h>

#include <uv.h>

struct fuzz_buf {
    char *p;
    size_t n, cap;
};

void fuzz_sock_exchange(uv_loop_t *loop, int fd, const void *data, size_t len, bool half_close,
                        bool (*done)(void *ctx, const struct fuzz_buf *out), void *ctx,
                        struct fuzz_buf *out);

#endif
