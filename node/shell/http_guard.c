/* http_guard.c - per-connection deadlines for the request head (http_int.h).
 *
 * MHD's own CONNECTION_TIMEOUT is an idle timeout: every byte restarts it, so a client that sends
 * one header byte every few seconds (slowloris) holds its connection for ever. Here each
 * connection has an absolute deadline by which the head of its next request (line and headers)
 * must be in:
 *   - accepted:                now + LIMIT_HTTP_HEAD_TIMEOUT_S
 *   - a response was sent:     now + LIMIT_HTTP_TIMEOUT_S (keep-alive: the client may wait)
 *   - a request line came in:  at most now + LIMIT_HTTP_HEAD_TIMEOUT_S
 *   - the headers are in:      none, while the request is answered (MHD's idle timeout then
 *                              covers a client that stops reading the answer)
 * A sweep every LIMIT_HTTP_SWEEP_MS, while there are connections, shuts down the socket of each
 * connection past its deadline; MHD sees the end of the stream and closes it as it closes any.
 * MHD has no call to close a connection from outside its callbacks, and shutdown() leaves the
 * descriptor to MHD, which still owns it. */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "node/shell/http_int.h"
#include "node/shell/log.h"

static uint64_t now_ms(const struct http_listener *l)
{
    return uv_now(l->srv->p.loop);
}

static struct http_conn *conn_of(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? ci->socket_context : NULL;
}

static void sweep(uv_timer_t *t)
{
    struct http_listener *l = t->data;
    const uint64_t now = now_ms(l);
    size_t cut = 0, walked = 0;
    char addr[INET6_ADDRSTRLEN] = "-";
    for (struct http_conn *c = l->conns; c && walked < l->n_conns; c = c->next, walked++) {
        if (c->cut || c->deadline_ms == 0 || now < c->deadline_ms)
            continue;
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(c->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        if (!ci)
            continue;
        http_client_addr(c->conn, addr);
        shutdown(ci->connect_fd, SHUT_RDWR);
        c->cut = true;
        cut++;
    }
    if (cut == 0)
        return;
    l->srv->head_timeouts += cut;
    char n[24], s[24];
    snprintf(n, sizeof n, "%zu", cut);
    snprintf(s, sizeof s, "%d", (int)LIMIT_HTTP_HEAD_TIMEOUT_S);
    log_event(LOG_WARN, "http_head_timeout", "request head not in by its deadline", "closed", n,
              "seconds", s, "addr", addr, NULL);
    http_drive(l); /* MHD finds the ends of stream now rather than at its next wake-up */
}

void http_guard_started(struct http_listener *l, struct MHD_Connection *conn, void **socket_ctx)
{
    struct http_conn *c = calloc(1, sizeof *c);
    *socket_ctx = c;
    if (!c) {
        /* Untracked, it keeps only MHD's idle timeout; cut it rather than let it linger. */
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        if (ci)
            shutdown(ci->connect_fd, SHUT_RDWR);
        return;
    }
    assert(l->n_conns < LIMIT_HTTP_CONNS);
    c->conn = conn;
    c->deadline_ms = now_ms(l) + LIMIT_HTTP_HEAD_TIMEOUT_S * 1000u;
    c->next = l->conns;
    if (l->conns)
        l->conns->prev = c;
    l->conns = c;
    if (l->n_conns++ == 0)
        uv_timer_start(&l->sweep, sweep, LIMIT_HTTP_SWEEP_MS, LIMIT_HTTP_SWEEP_MS);
}

void http_guard_closed(struct http_listener *l, void **socket_ctx)
{
    struct http_conn *c = *socket_ctx;
    if (!c)
        return;
    *socket_ctx = NULL;
    if (c->prev)
        c->prev->next = c->next;
    else
        l->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    free(c);
    assert(l->n_conns > 0);
    if (--l->n_conns == 0 && l->handles)
        uv_timer_stop(&l->sweep);
}

void *http_guard_request_line(void *cls, const char *uri, struct MHD_Connection *conn)
{
    (void)uri;
    struct http_listener *l = cls;
    struct http_conn *c = conn_of(conn);
    const uint64_t head_by = now_ms(l) + LIMIT_HTTP_HEAD_TIMEOUT_S * 1000u;
    if (c && (c->deadline_ms == 0 || c->deadline_ms > head_by))
        c->deadline_ms = head_by;
    return NULL; /* the request's *con_cls starts NULL (http.c) */
}

void http_guard_head_done(struct http_listener *l, struct MHD_Connection *conn)
{
    (void)l;
    struct http_conn *c = conn_of(conn);
    if (c)
        c->deadline_ms = 0;
}

void http_guard_completed(struct http_listener *l, struct MHD_Connection *conn)
{
    struct http_conn *c = conn_of(conn);
    if (c)
        c->deadline_ms = now_ms(l) + LIMIT_HTTP_TIMEOUT_S * 1000u;
}
