/* control.c - see control.h. */
#include "node/shell/control.h"

#include <assert.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

const char *control_strerror(int err)
{
    switch (err) {
    case CONTROL_OK: return "ok";
    CONTROL_ERRORS(ERRORS_CASE)
    default: return "unknown control error";
    }
}

/* --- server --- */

struct control_client {
    uv_pipe_t pipe;
    struct control_server *srv;
    size_t slot;
    char *line;
    size_t len;
};

struct write_req {
    uv_write_t req;
    char *data;
};

static void on_client_closed(uv_handle_t *h)
{
    struct control_client *c = h->data;
    free(c->line);
    free(c);
}

static void client_drop(struct control_client *c)
{
    if (uv_is_closing((uv_handle_t *)&c->pipe))
        return;
    assert(c->srv->clients[c->slot] == c);
    c->srv->clients[c->slot] = NULL;
    uv_close((uv_handle_t *)&c->pipe, on_client_closed);
}

static void on_written(uv_write_t *req, int status)
{
    (void)status; /* a client that went away is dropped by its read callback */
    struct write_req *w = (struct write_req *)req;
    free(w->data);
    free(w);
}

static void client_reply(struct control_client *c, json_t *resp)
{
    char *text = json_dumps(resp, JSON_COMPACT);
    json_decref(resp);
    struct write_req *w = text ? malloc(sizeof *w) : NULL;
    size_t n = text ? strlen(text) : 0;
    char *data = w ? realloc(text, n + 2) : NULL;
    if (!data) {
        free(text);
        free(w);
        client_drop(c);
        return;
    }
    data[n] = '\n';
    data[n + 1] = '\0';
    w->data = data;
    uv_buf_t buf = uv_buf_init(data, (unsigned)(n + 1));
    if (uv_write(&w->req, (uv_stream_t *)&c->pipe, &buf, 1, on_written) < 0) {
        free(data);
        free(w);
        client_drop(c);
    }
}

static json_t *error_reply(const char *msg)
{
    return json_pack("{s:b, s:s}", "ok", 0, "error", msg);
}

static void client_line(struct control_client *c, const char *line, size_t len)
{
    json_error_t jerr;
    json_t *req = json_loadb(line, len, 0, &jerr);
    json_t *resp;
    if (!req || !json_is_object(req)) {
        char msg[256];
        snprintf(msg, sizeof msg, "request is not a JSON object: %s", req ? "" : jerr.text);
        resp = error_reply(msg);
    } else {
        resp = c->srv->handler(c->srv->ctx, req);
    }
    json_decref(req);
    client_reply(c, resp ? resp : error_reply("internal error"));
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    struct control_client *c = h->data;
    buf->base = c->line + c->len;
    buf->len = LIMIT_CONTROL_LINE - c->len;
}

/* Each complete line is one request; the rest waits for more bytes. */
static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    (void)buf;
    struct control_client *c = s->data;
    if (nread < 0) {
        client_drop(c);
        return;
    }
    c->len += (size_t)nread;
    char *nl;
    while (!uv_is_closing((uv_handle_t *)&c->pipe) && (nl = memchr(c->line, '\n', c->len))) {
        size_t n = (size_t)(nl - c->line);
        client_line(c, c->line, n);
        memmove(c->line, nl + 1, c->len - n - 1);
        c->len -= n + 1;
    }
    if (c->len == LIMIT_CONTROL_LINE && !uv_is_closing((uv_handle_t *)&c->pipe)) {
        client_reply(c, error_reply("request line too long"));
        client_drop(c);
    }
}

static void on_connection(uv_stream_t *server, int status)
{
    struct control_server *srv = server->data;
    if (status < 0)
        return;
    struct control_client *c = calloc(1, sizeof *c);
    char *line = malloc(LIMIT_CONTROL_LINE);
    if (!c || !line) {
        free(c);
        free(line);
        return; /* out of memory: the connection waits in the backlog */
    }
    c->srv = srv;
    c->line = line;
    uv_pipe_init(srv->loop, &c->pipe, 0);
    c->pipe.data = c;
    size_t slot = 0;
    while (slot < LIMIT_CONTROL_CLIENTS && srv->clients[slot])
        slot++;
    if (uv_accept(server, (uv_stream_t *)&c->pipe) < 0 || slot == LIMIT_CONTROL_CLIENTS) {
        uv_close((uv_handle_t *)&c->pipe, on_client_closed);
        return;
    }
    c->slot = slot;
    srv->clients[slot] = c;
    if (uv_read_start((uv_stream_t *)&c->pipe, on_alloc, on_read) < 0)
        client_drop(c);
}

static int fill_addr(const char *path, struct sockaddr_un *sa)
{
    memset(sa, 0, sizeof *sa);
    sa->sun_family = AF_UNIX;
    if (strlen(path) >= sizeof sa->sun_path)
        return CONTROL_E_PATH;
    memcpy(sa->sun_path, path, strlen(path) + 1);
    return CONTROL_OK;
}

/* A socket file whose owner is gone refuses connections; a live node accepts them. */
static bool socket_alive(const char *path)
{
    struct sockaddr_un sa;
    if (fill_addr(path, &sa) < 0)
        return false;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    bool alive = connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
    close(fd);
    return alive;
}

int control_listen(struct control_server *srv, uv_loop_t *loop, const char *path,
                   control_handler handler, void *ctx, char *why, size_t why_len)
{
    assert(srv && loop && path && handler);
    memset(srv, 0, sizeof *srv);
    srv->loop = loop;
    srv->handler = handler;
    srv->ctx = ctx;
    struct sockaddr_un sa;
    if (fill_addr(path, &sa) < 0 || strlen(path) >= sizeof srv->path) {
        snprintf(why, why_len, "control socket %s: path too long", path);
        return CONTROL_E_PATH;
    }
    snprintf(srv->path, sizeof srv->path, "%s", path);
    if (socket_alive(path)) {
        snprintf(why, why_len, "control socket %s: another node is running", path);
        return CONTROL_E_BUSY;
    }
    /* A stale socket of a node that died is replaced; anything else at the path (a mistyped
     * Control = pointing at a real file) is the operator's and is never deleted. */
    struct stat st;
    if (lstat(path, &st) == 0 && !S_ISSOCK(st.st_mode)) {
        snprintf(why, why_len, "control socket %s: exists and is not a socket; not replacing it",
                 path);
        return CONTROL_E_LISTEN;
    }
    unlink(path);
    uv_pipe_init(loop, &srv->pipe, 0);
    srv->pipe.data = srv;
    mode_t old = umask(0177); /* the socket is created 0600, no window where others can connect */
    int rc = uv_pipe_bind(&srv->pipe, path);
    umask(old);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&srv->pipe, LIMIT_CONTROL_CLIENTS, on_connection);
    if (rc < 0) {
        snprintf(why, why_len, "control socket %s: %s", path, uv_strerror(rc));
        uv_close((uv_handle_t *)&srv->pipe, NULL);
        return CONTROL_E_LISTEN;
    }
    srv->listening = true;
    return CONTROL_OK;
}

void control_close(struct control_server *srv)
{
    if (!srv->listening)
        return;
    srv->listening = false;
    for (size_t i = 0; i < LIMIT_CONTROL_CLIENTS; i++)
        if (srv->clients[i])
            client_drop(srv->clients[i]);
    uv_close((uv_handle_t *)&srv->pipe, NULL);
    unlink(srv->path);
}

/* --- client --- */

static int64_t ms_left(const struct timespec *deadline)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)(deadline->tv_sec - now.tv_sec) * 1000 +
           (deadline->tv_nsec - now.tv_nsec) / 1000000;
}

static int wait_fd(int fd, short events, const struct timespec *deadline)
{
    int64_t left = ms_left(deadline);
    if (left <= 0)
        return CONTROL_E_TIMEOUT;
    struct pollfd p = {.fd = fd, .events = events};
    int n = poll(&p, 1, (int)left);
    if (n == 0)
        return CONTROL_E_TIMEOUT;
    return n < 0 ? CONTROL_E_IO : CONTROL_OK;
}

static int send_all(int fd, const char *data, size_t len, const struct timespec *deadline)
{
    size_t off = 0;
    while (off < len) {
        int rc = wait_fd(fd, POLLOUT, deadline);
        if (rc < 0)
            return rc;
        ssize_t n = send(fd, data + off, len - off, MSG_NOSIGNAL);
        if (n < 0 && errno != EINTR && errno != EAGAIN)
            return CONTROL_E_IO;
        off += n > 0 ? (size_t)n : 0;
    }
    return CONTROL_OK;
}

/* Reads up to the first newline (bounded by LIMIT_CONTROL_ANSWER). */
static int recv_line(int fd, char *buf, size_t cap, size_t *len, const struct timespec *deadline)
{
    *len = 0;
    while (*len < cap) {
        int rc = wait_fd(fd, POLLIN, deadline);
        if (rc < 0)
            return rc;
        ssize_t n = recv(fd, buf + *len, cap - *len, 0);
        if (n == 0)
            return CONTROL_E_IO;
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            return CONTROL_E_IO;
        }
        char *nl = memchr(buf + *len, '\n', (size_t)n);
        *len += (size_t)n;
        if (nl) {
            *len = (size_t)(nl - buf);
            return CONTROL_OK;
        }
    }
    return CONTROL_E_PROTOCOL;
}

int control_request(const char *path, const json_t *req, json_t **resp, int timeout_ms)
{
    assert(path && req && resp && timeout_ms > 0);
    *resp = NULL;
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += timeout_ms / 1000;
    deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
    if (deadline.tv_nsec >= 1000000000) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000;
    }
    struct sockaddr_un sa;
    int rc = fill_addr(path, &sa);
    if (rc < 0)
        return rc;
    char *text = json_dumps(req, JSON_COMPACT);
    char *line = malloc(LIMIT_CONTROL_ANSWER);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (!text || !line || fd < 0) {
        rc = CONTROL_E_IO;
        goto out;
    }
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        rc = CONTROL_E_CONNECT;
        goto out;
    }
    size_t n = strlen(text);
    text[n] = '\n'; /* json_dumps' NUL becomes the line end; n + 1 bytes are sent */
    rc = send_all(fd, text, n + 1, &deadline);
    size_t len = 0;
    if (rc == CONTROL_OK)
        rc = recv_line(fd, line, LIMIT_CONTROL_ANSWER, &len, &deadline);
    if (rc == CONTROL_OK) {
        *resp = json_loadb(line, len, 0, NULL);
        if (!*resp || !json_is_object(*resp)) {
            json_decref(*resp);
            *resp = NULL;
            rc = CONTROL_E_PROTOCOL;
        }
    }
out:
    if (fd >= 0)
        close(fd);
    free(text);
    free(line);
    return rc;
}
