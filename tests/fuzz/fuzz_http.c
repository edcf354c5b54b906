/* fuzz_http.c - raw bytes into the node's HTTP server (node/shell/http.c): a real
 * libmicrohttpd daemon started by http_start() on the harness's libuv loop, listening on
 * 127.0.0.1, serving the store and config of fuzz_serve.h. Each input is one TCP connection:
 * everything the fuzzer wrote (request lines, headers, bodies, several pipelined requests),
 * then the client's write side shuts, and the loop runs until the server has closed or gone
 * quiet (fuzz_sock.h), then the client resets the connection. So every
 * route is reached through MHD's own parser: /healthz, /metrics (credentials), TAXII with
 * arbitrary methods, paths, query strings and Authorization headers, the 431 limit, and the
 * MetricsListen listener (which serves /metrics and /healthz only).
 *
 * Input: u8 flags (bit 0: talk to the MetricsListen listener), then the bytes sent.
 *
 * Invariants: whatever the server answers starts with an HTTP/1.x status line and is never a 500
 * (no request makes the server fail); no 200 answer carries a record no reader may get (the RED,
 * revoked and AMBER+STRICT values of fuzz_taxii.c); and the listener keeps accepting: each
 * input's connection is accepted (a refused one fails the connect; one left in the backlog
 * gets no answer, which the seeds' replay would show).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fuzz_serve.h"
#include "fuzz_sock.h"
#include "node/shell/http.h"
#include "node/shell/log.h"

static const char *const never[] = {
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "d41d8cd98f00b204e9800998ecf8427e",
    "evil.example/x",
    "c2.evil.example",
};

static uv_loop_t loop;
static struct http_server *server;
static struct config cfg; /* env's config with the listeners added */
static uint16_t ports[2];

/* A port the kernel just handed out and took back: free unless someone races for it. */
static uint16_t free_port(void)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof sa;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    FUZZ_CHECK(fd >= 0);
    FUZZ_CHECK(bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0);
    FUZZ_CHECK(getsockname(fd, (struct sockaddr *)&sa, &len) == 0);
    close(fd);
    return ntohs(sa.sin_port);
}

static void stop_server(void)
{
    http_stop(server);
    /* http.h: the loop runs until the pages still being built came back (a busy machine may not
     * have finished one yet), or http_free would stop MHD with a connection suspended. */
    uv_run(&loop, UV_RUN_DEFAULT);
    http_free(server);
    uv_loop_close(&loop);
    log_close();
}

static void start(void)
{
    struct fuzz_serve *env = fuzz_serve_env();
    char why[256];
    struct http_params p = {.loop = &loop,
                            .cfg = &cfg,
                            .store = env->store,
                            .node_key = env->self.sign_pk,
                            .start_ms = FUZZ_WALL0};

    FUZZ_CHECK(log_open(LOG_FORMAT_TEXT, "/dev/null", why, sizeof why) == LOG_OK);
    FUZZ_CHECK(uv_loop_init(&loop) == 0);
    cfg = env->cfg; /* a shallow copy: the clients stay env's */
    ports[0] = free_port();
    ports[1] = free_port();
    snprintf(cfg.http.listen.host, sizeof cfg.http.listen.host, "127.0.0.1");
    cfg.http.listen.port = ports[0];
    cfg.http.has_metrics_listen = true;
    snprintf(cfg.http.metrics_listen.host, sizeof cfg.http.metrics_listen.host, "127.0.0.1");
    cfg.http.metrics_listen.port = ports[1];
    if (http_start(&server, &p, why, sizeof why) != HTTP_OK) {
        fprintf(stderr, "fuzz_http: %s\n", why);
        abort();
    }
    atexit(stop_server);
}

static int connect_to(uint16_t port)
{
    struct sockaddr_in sa = {
        .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    FUZZ_CHECK(fd >= 0);
    /* Loopback connects at once or is in progress; the poll reports either way. */
    FUZZ_CHECK(connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0 || errno == EINPROGRESS);
    return fd;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_in in = {data, size};
    struct fuzz_buf out;
    size_t len;
    const uint8_t *req;
    uint8_t flags;

    if (server == NULL)
        start();
    flags = fuzz_u8(&in);
    req = fuzz_bytes(&in, in.n, &len);
    fuzz_sock_exchange(&loop, connect_to(ports[flags & 1]), req, len, true, NULL, NULL, &out);
    if (out.n >= 7)
        FUZZ_CHECK(strncmp(out.p, "HTTP/1.", 7) == 0);
    if (out.n >= 12 && strncmp(out.p + 8, " 500", 4) == 0) {
        fprintf(stderr, "fuzz_http: the server failed:\n%s\n", out.p);
        FUZZ_CHECK(!"a 500 answer");
    }
    for (size_t i = 0;
         out.n >= 12 && strncmp(out.p + 8, " 200", 4) == 0 && i < sizeof never / sizeof never[0];
         i++)
        FUZZ_CHECK(strstr(out.p, never[i]) == NULL);
    free(out.p);
    return 0;
}
