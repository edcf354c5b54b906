/* http_int.h - what the parts of the HTTP server share; private to node/shell/http*.c.
 *
 * http.h is the contract. The implementation is split by concern:
 *   http.c        driving MHD from libuv, responses, routing, /metrics, start and stop
 *   http_guard.c  per-connection deadlines: a request's line and headers must arrive in time
 *   http_job.c    answers that walk the store (TAXII pages, MISP feed files, console searches),
 *                 built on a worker thread
 *   http_ui.c     the console's requests under /ui/: form bodies, cookies, security headers
 * Everything here runs on the loop thread, except http_job.c's work callback.
 */
#ifndef TLPMESH_NODE_SHELL_HTTP_INT_H
#define TLPMESH_NODE_SHELL_HTTP_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <microhttpd.h>

#include "node/formats/taxii.h"
#include "node/shell/http.h"

#define HTTP_LISTENERS 2

/* One open connection, from MHD's STARTED notification to its CLOSED one (http_guard.c). */
struct http_conn {
    struct http_conn *prev, *next;
    struct MHD_Connection *conn;
    uint64_t deadline_ms; /* uv_now() by which the next request's head must be in; 0 = none */
    bool cut;             /* shut down for its deadline, MHD has yet to notice */
};

struct http_job;

/* What a request's *con_cls points to; every such struct starts with this tag, so that
 * on_completed knows what to free. */
enum http_cls {
    HTTP_CLS_HEAD = 1,    /* the head is in (GET): answered on the next call */
    HTTP_CLS_JOB = 2,     /* struct http_job: its page is built off the loop */
    HTTP_CLS_UI_FORM = 3, /* struct http_ui_form: a console POST body being read */
};

struct http_listener {
    struct http_server *srv;
    struct MHD_Daemon *d;
    bool metrics_only; /* the MetricsListen one */
    uv_poll_t poll;
    uv_timer_t timer;
    uv_timer_t sweep; /* walks conns for deadlines while there are any */
    bool handles;     /* poll and timers initialised (and not yet closed) */
    bool closed;      /* a connection closed during the current MHD_run */
    struct http_conn *conns;
    size_t n_conns;
};

struct http_server {
    struct http_params p;
    uint8_t key[LIMIT_KEY_BYTES];
    struct metrics_tlp_count tlp;
    uint64_t responses[METRICS_HTTP_CLASSES];
    uint64_t auth_failures;
    uint64_t head_timeouts; /* connections cut because a request's head came too slowly */
    struct http_listener l[HTTP_LISTENERS];
    size_t n;
    struct http_job *waiting, *waiting_tail; /* TAXII pages not yet started, FIFO */
    size_t running;                          /* <= LIMIT_HTTP_JOBS */
    bool stopping;                           /* http_stop() ran: start no page */
    void *ui;                                /* p.ui->open's state, NULL without a console */
};

/* http.c */
void http_drive(struct http_listener *l);
enum MHD_Result http_send_response(struct http_listener *l, struct MHD_Connection *conn, int status,
                                   const char *content_type, char *body, size_t len,
                                   const struct taxii_response *tr);
void http_log_request(struct MHD_Connection *conn, const char *method, const char *url, int status,
                      const char *reader);
void http_client_addr(struct MHD_Connection *conn, char out[INET6_ADDRSTRLEN]);
uint64_t http_unix_ms(void);
/* The query's parameters, decoded (overflow: more than LIMIT_HTTP_QUERY_PARAMS, the rest left
 * out); they point into MHD's connection memory. */
struct http_query {
    struct taxii_param items[LIMIT_HTTP_QUERY_PARAMS];
    size_t n;
    bool overflow;
};
void http_collect_query(struct MHD_Connection *conn, struct http_query *q);
/* Queues resp (which the caller then destroys) and counts its status class for /metrics. */
enum MHD_Result http_queue(struct http_listener *l, struct MHD_Connection *conn, int status,
                           struct MHD_Response *resp);
/* Logs and sends what a TAXII or MISP feed handler answered (a 500 when it has no body); MHD
 * takes tr's body. */
enum MHD_Result http_send_handled(struct http_listener *l, struct MHD_Connection *conn,
                                  const char *method, const char *url, struct taxii_response *tr);

/* http_guard.c: the MHD callbacks that move a connection's deadline, and the sweep. */
void http_guard_started(struct http_listener *l, struct MHD_Connection *conn, void **socket_ctx);
void http_guard_closed(struct http_listener *l, void **socket_ctx);
void *http_guard_request_line(void *cls, const char *uri, struct MHD_Connection *conn);
void http_guard_head_done(struct http_listener *l, struct MHD_Connection *conn);
void http_guard_completed(struct http_listener *l, struct MHD_Connection *conn);

/* What a job is: run() fills the response on a worker thread, free() frees the job; answer()
 * (NULL: http_send_handled of the response) sends it on the loop thread. */
struct http_job_ops {
    int (*run)(void *job, struct taxii_response *resp);
    void (*free)(void *job);
    enum MHD_Result (*answer)(struct http_listener *l, struct MHD_Connection *conn, void *job,
                              const char *method, const char *url);
};

/* http_job.c: runs job off the loop while conn is suspended, taking job and *tr (whose .reader
 * is set); sets *con_cls to it. When it is done the connection is resumed, MHD calls the access
 * handler again and http_job_answer() sends the answer. MHD_OPTION_NOTIFY_COMPLETED frees it. */
enum MHD_Result http_job_submit(struct http_listener *l, struct MHD_Connection *conn,
                                const struct http_job_ops *ops, void *job,
                                const struct taxii_response *tr, void **con_cls);
enum MHD_Result http_job_answer(struct http_listener *l, struct MHD_Connection *conn,
                                struct http_job *j, const char *method, const char *url);
void http_job_free(struct http_job *j);
/* At stop: every page not yet started is answered 503; running ones finish first. */
void http_job_stop(struct http_server *srv);

/* http_ui.c: the console. */
bool http_ui_owns(const char *url);
/* Called for every call of the access handler on a /ui/ URL (the head size already checked). */
enum MHD_Result http_ui_serve(struct http_listener *l, struct MHD_Connection *conn,
                              const char *method, const char *url, const char *upload_data,
                              size_t *upload_data_size, void **con_cls);
void http_ui_form_free(void *form);

#endif
