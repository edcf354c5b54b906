/* http.h - the node's HTTP server: TAXII 2.1 (node/formats/taxii.h), the MISP feed, /metrics and
 * /healthz, on the libuv loop of `tlpmesh run` (docs/OPERATIONS.md "TAXII 2.1", "MISP feed").
 *
 * Listeners, from the config's [HTTP] section:
 *   Listen         TAXII under /taxii2/ and /tlpmesh/; the MISP feed under /misp/feed/
 *                  (node/formats/mispfeed.h); /healthz (no credentials); /metrics (needs a
 *                  [Client] credential: record counts by TLP are not for anonymous eyes)
 *   MetricsListen  /metrics and /healthz only, without credentials: bind it to loopback or a
 *                  monitoring network for Prometheus; everything else there is 404
 *                  the web console under /ui/ when the program gives one (struct http_ui)
 * Every TAXII, MISP feed and console request, and every refused /metrics request, is one log line (event
 * http_request: method, path, status, reader, addr); successful /healthz and /metrics requests are
 * not logged.
 *
 * How libmicrohttpd runs inside libuv: each daemon is started with MHD_USE_EPOLL and no internal
 * thread, so all request handling happens on the loop thread and may read the engine without
 * locks. MHD's own epoll descriptor (MHD_DAEMON_INFO_EPOLL_FD) is watched by one uv_poll_t; when
 * it is readable, or when the uv_timer armed from MHD_get_timeout() fires, MHD_run() does the
 * work that is ready. One descriptor whatever the number of connections, so nothing is
 * re-registered per loop turn (the alternative, MHD_get_fdset, would rebuild a set of uv_poll_t
 * handles every turn and is capped by FD_SETSIZE). A GET is answered once MHD has the whole
 * request (keep-alive works); any other method at once, so request bodies are never read (POST
 * to a collection is 403), except a console POST under /ui/, whose form body is read up to
 * LIMIT_CONSOLE_FORM_BYTES.
 * Answers that walk the store (TAXII objects/ and manifest/ pages, MISP feed files) are built on
 * one of libuv's pool threads, at most LIMIT_HTTP_JOBS at a time, with the connection suspended
 * (http_job.c); everything else, match[id] included (the id index), is answered on the loop.
 * Limits: LIMIT_HTTP_CONNS connections per listener and LIMIT_HTTP_CONNS_PER_ADDR from one
 * address (MHD_OPTION_PER_IP_CONNECTION_LIMIT: the one beyond is closed at once),
 * LIMIT_HTTP_REQUEST_BYTES of request line and headers (431 beyond), a request head deadline of
 * LIMIT_HTTP_HEAD_TIMEOUT_S and a keep-alive deadline of LIMIT_HTTP_TIMEOUT_S (http_guard.c: a
 * slowloris client is cut however it paces its bytes), LIMIT_HTTP_TIMEOUT_S idle timeout while an
 * answer is sent, LIMIT_HTTP_QUERY_PARAMS query parameters (400 beyond).
 *
 * Ownership: http_start() allocates the server; http_stop() closes its libuv handles (call it
 * while the loop still runs, e.g. from the shell's stop()); http_free() after the loop has
 * finished stops the daemons and frees everything (also after a start that failed half-way).
 * The server keeps the pointers it is given (loop, cfg, store, engine, gossip_ctx): they must
 * outlive it. cfg is read at each request on the loop thread, so a reload's [Client] changes
 * apply at once (a job running meanwhile holds copies); the listen addresses are read at start
 * only. http_stop() answers 503 to the jobs not yet started; the loop must then run until the
 * running ones came back (their uv_work_t keeps it alive), before http_free().
 */
#ifndef TLPMESH_NODE_HTTP_H
#define TLPMESH_NODE_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include <jansson.h>

#include "crypto/keys.h"
#include "node/config/config.h"
#include "node/core/engine.h"
#include "node/formats/metrics.h"
#include "node/formats/taxii.h"
#include "store/store.h"
#include "proto/errors.h"

/* Error codes: X(name, value, message), range ERRORS_BASE_HTTP in proto/errors.h; the
 * comments say when each happens. */
#define HTTP_ERRORS(X)                                                                             \
    X(HTTP_E_NOMEM, ERRORS_BASE_HTTP - 0, "out of memory")                                         \
    /* cannot resolve or bind a listen address (why says which) */                                 \
    X(HTTP_E_LISTEN, ERRORS_BASE_HTTP - 1, "cannot listen on the HTTP address")                \
    /* the console's open() failed (why says why) */                                             \
    X(HTTP_E_CONSOLE, ERRORS_BASE_HTTP - 2, "cannot start the web console")

enum http_err {
    HTTP_OK = 0,
    HTTP_ERRORS(ERRORS_ENUM)
};

const char *http_strerror(int err);

struct http_server;

/* ---- the web console's hook (node/console/console.h) ----
 * The shell owns the HTTP side of /ui/ on the Listen listener (never MetricsListen): cookies,
 * query, the form body (MHD's post processor, at most LIMIT_CONSOLE_FORM_BYTES: 413 beyond; only
 * application/x-www-form-urlencoded), the security headers of every answer (HTTP_UI_CSP, ...),
 * the log line. The console, given as a table of functions so that the shell does not depend on
 * it, turns one request into one answer. */
#define HTTP_UI_CSP                                                                                \
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "            \
    "frame-ancestors 'none'; base-uri 'none'"

struct http_ui_request {
    const char *method, *path;     /* path as in the URL, "/ui/..." */
    const char *session, *pre;     /* the tlpm_session and tlpm_pre cookies, NULL when absent */
    const char *addr;              /* the client's address, text */
    const struct taxii_param *query;
    size_t n_query;
    const struct taxii_param *form; /* POST fields in order, decoded; repeated keys repeat */
    size_t n_form;
    bool form_bad;                 /* a field with a NUL byte, too many fields, not urlencoded */
    uint64_t now_ms;               /* Unix ms of this request */
};

#define HTTP_UI_COOKIES 2
#define HTTP_UI_COOKIE_BYTES 256

struct http_ui_response {
    int status;
    const char *content_type;         /* static string */
    char *body;                       /* malloc'ed, body_len bytes; NULL: an empty body */
    size_t body_len;
    char location[LIMIT_PATH_BYTES];  /* Location of a 303, "" = none */
    char cookies[HTTP_UI_COOKIES][HTTP_UI_COOKIE_BYTES]; /* Set-Cookie values, "" = none */
    char reader[LIMIT_NAME_BYTES + 1]; /* the signed-in client, "-" (for the log) */
    /* An answer that walks the store: run() fills this response (status, body) on a pool
     * thread (http_job.c) and may touch only what job holds (copies) and the store; free()
     * frees job. NULL: the answer is ready. */
    void *job;
    int (*run)(void *job, struct http_ui_response *resp);
    void (*free)(void *job);
};

/* What the console is given at start: it keeps the pointers, which outlive it. */
struct http_ui_env {
    const struct config *cfg;          /* re-read at each request (a reload may change it) */
    struct store *store;
    const struct keys_identity *id;    /* the node's key: the console publishes as the node */
    const struct engine *engine;
    /* The control socket's commands, answered in-process on the loop thread (status, holds,
     * records-added): req is borrowed, the answer a new reference. */
    json_t *(*control)(void *ctx, const json_t *req);
    void *control_ctx;
};

struct http_ui {
    /* The console's state for one server, or NULL (why filled) when it cannot start. */
    void *(*open)(const struct http_ui_env *env, char *why, size_t why_len);
    /* One request on the loop thread: resp is zeroed by the caller; returns 0, or a negative
     * error (then the shell answers 500). */
    int (*handle)(void *ctx, const struct http_ui_request *req, struct http_ui_response *resp);
    void (*close)(void *ctx);
};

struct http_params {
    uv_loop_t *loop;
    const struct config *cfg;             /* cfg->http says what to serve */
    struct store *store;
    const uint8_t *node_key;              /* LIMIT_KEY_BYTES, copied */
    const struct engine *engine;          /* peers and channel counters for /metrics */
    /* Fills gossip's counters at each scrape (NULL: they read 0). */
    void (*gossip_fill)(void *ctx, struct metrics_gossip *out);
    void *gossip_ctx;
    uint64_t start_ms;                    /* Unix ms the node started */
    const struct http_ui *ui;             /* the web console under /ui/, or NULL: 404 there */
    struct http_ui_env ui_env;            /* what ui->open is given */
};

/* Starts the listeners cfg->http asks for (none when [HTTP] is absent: *out stays NULL and
 * HTTP_OK is returned). On error *out may still need http_free(). */
int http_start(struct http_server **out, const struct http_params *p, char *why, size_t why_len);

/* Closes the libuv handles (idempotent; NULL is a no-op). */
void http_stop(struct http_server *srv);

/* Stops the daemons and frees the server; its handles must be closed and the loop run since. */
void http_free(struct http_server *srv);

#endif
