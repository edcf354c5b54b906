/* http.c - see http.h. */
#include "node/shell/http_int.h"

#include <arpa/inet.h>
#include <assert.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "node/core/community.h"
#include "node/shell/log.h"
#include "node/formats/mispfeed.h"
#include "node/formats/taxii.h"

const char *http_strerror(int err)
{
    switch (err) {
    case HTTP_OK: return "success";
    HTTP_ERRORS(ERRORS_CASE)
    default: return "unknown HTTP error";
    }
}

uint64_t http_unix_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- driving MHD from libuv ---- */

static void rearm(struct http_listener *l);

/* A request's *con_cls: NULL on the first call of the access handler, &head_seen once the head
 * is in, the struct http_job building its page, or a console form being read (http_int.h). */
static enum http_cls head_seen = HTTP_CLS_HEAD;

void http_drive(struct http_listener *l)
{
    l->closed = false;
    MHD_run(l->d);
    rearm(l);
}

/* MHD takes its listening socket out of epoll at the connection limit and puts it back only at
 * the start of a later MHD_run; the connections it frees are cleaned up at the end of one. Without
 * another run nothing wakes the epoll descriptor and the listener is dead for good, so a run that
 * closed a connection asks for one more at once (rearm). */
static void on_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
                      enum MHD_ConnectionNotificationCode code)
{
    struct http_listener *l = cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        http_guard_started(l, conn, socket_context);
    } else if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
        http_guard_closed(l, socket_context);
        l->closed = true;
    }
}

/* A request is over (answered, or its connection gone): its job, if any, goes; the connection's
 * deadline for the next request starts. */
static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)toe;
    struct http_listener *l = cls;
    const enum http_cls *kind = *con_cls;
    if (kind && *kind == HTTP_CLS_JOB)
        http_job_free(*con_cls);
    else if (kind && *kind == HTTP_CLS_UI_FORM)
        http_ui_form_free(*con_cls);
    *con_cls = NULL;
    http_guard_completed(l, conn);
}

static void on_poll(uv_poll_t *h, int status, int events)
{
    (void)status;
    (void)events;
    http_drive(h->data);
}

static void on_timer(uv_timer_t *t)
{
    http_drive(t->data);
}

/* MHD says how long it may wait (connection timeouts, work already pending = 0). */
static void rearm(struct http_listener *l)
{
    MHD_UNSIGNED_LONG_LONG ms = 0;
    if (l->closed)
        uv_timer_start(&l->timer, on_timer, 0, 0);
    else if (MHD_get_timeout(l->d, &ms) == MHD_YES)
        uv_timer_start(&l->timer, on_timer, (uint64_t)ms, 0);
    else
        uv_timer_stop(&l->timer);
}

/* ---- responses ---- */

enum MHD_Result http_send_response(struct http_listener *l, struct MHD_Connection *conn, int status,
                                   const char *content_type, char *body, size_t len,
                                   const struct taxii_response *tr)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    if (tr && tr->date_first[0])
        MHD_add_response_header(resp, "X-TAXII-Date-Added-First", tr->date_first);
    if (tr && tr->date_last[0])
        MHD_add_response_header(resp, "X-TAXII-Date-Added-Last", tr->date_last);
    if (tr && tr->challenge)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
                                "Basic realm=\"tlpmesh\", charset=\"UTF-8\"");
    if (tr && tr->allow_get)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    const enum MHD_Result rc = http_queue(l, conn, status, resp);
    MHD_destroy_response(resp);
    return rc;
}

enum MHD_Result http_queue(struct http_listener *l, struct MHD_Connection *conn, int status,
                           struct MHD_Response *resp)
{
    const enum MHD_Result rc = MHD_queue_response(conn, (unsigned)status, resp);
    const int cls = status / 100;
    if (cls == 2 || cls == 3 || cls == 4 || cls == 5) /* a console redirect counts as answered */
        l->srv->responses[cls <= 3 ? 0 : cls == 4 ? 1 : 2]++;
    return rc;
}

static enum MHD_Result send_text(struct http_listener *l, struct MHD_Connection *conn,
                                 int status, const char *text)
{
    char *body = strdup(text);
    if (!body)
        return MHD_NO;
    return http_send_response(l, conn, status, "text/plain; charset=utf-8", body, strlen(body),
                              NULL);
}

void http_client_addr(struct MHD_Connection *conn, char out[INET6_ADDRSTRLEN])
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    snprintf(out, INET6_ADDRSTRLEN, "-");
    if (!ci || !ci->client_addr)
        return;
    const struct sockaddr *sa = ci->client_addr;
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, out,
                  INET6_ADDRSTRLEN);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, out,
                  INET6_ADDRSTRLEN);
}

void http_log_request(struct MHD_Connection *conn, const char *method, const char *url, int status,
                      const char *reader)
{
    char addr[INET6_ADDRSTRLEN], code[8];
    http_client_addr(conn, addr);
    snprintf(code, sizeof code, "%d", status);
    log_event(status >= 500 ? LOG_ERROR : LOG_INFO, "http_request", NULL, "method", method,
              "path", url, "status", code, "reader", reader, "addr", addr, NULL);
}

/* ---- /metrics ---- */

static void fill_snapshot(struct http_server *srv, struct metrics_snapshot *m)
{
    memset(m, 0, sizeof *m);
    for (size_t i = 0; i < LIMIT_PEERS && srv->p.engine; i++) {
        struct engine_peer_stats st;
        if (engine_peer_get(srv->p.engine, i, NULL, &st) && st.state < METRICS_PEER_STATES)
            m->peers[st.state]++;
    }
    if (srv->p.engine) {
        const struct engine_stats *e = &srv->p.engine->stats;
        m->conns_accepted = e->accepted;
        m->refused_rate = e->refused_rate;
        m->refused_half_open = e->refused_half_open;
        m->refused_conns = e->refused_conns;
        m->handshakes_ok = e->handshakes_ok;
        m->handshake_failures = e->handshakes_failed;
        m->protocol_errors = e->protocol_errors;
        m->timeouts = e->timeouts;
        m->evicted_addr = e->evicted_addr;
        m->evicted_full = e->evicted_full;
    }
    if (metrics_count_records(&srv->tlp, srv->p.store) == STORE_OK)
        memcpy(m->records_by_tlp, srv->tlp.by_tlp, sizeof m->records_by_tlp);
    struct store_stats ss;
    if (store_stats(srv->p.store, &ss) == STORE_OK) {
        m->store_bytes = ss.used_bytes;
        m->store_map_bytes = ss.map_bytes;
        m->store_last_seq = ss.last_seq;
        m->store_disk_full_since_s = ss.disk_full_since_ms / 1000;
    }
    if (srv->p.gossip_fill)
        srv->p.gossip_fill(srv->p.gossip_ctx, &m->gossip);
    memcpy(m->http_responses, srv->responses, sizeof m->http_responses);
    m->http_auth_failures = srv->auth_failures;
    m->http_head_timeouts = srv->head_timeouts;
    m->start_time_s = srv->p.start_ms / 1000;
}

static enum MHD_Result serve_metrics(struct http_listener *l, struct MHD_Connection *conn)
{
    /* On the heap: its per-peer rows are LIMIT_PEERS long (about half a megabyte at a hub). */
    struct metrics_snapshot *m = malloc(sizeof *m);
    char *body = NULL;
    size_t len = 0;
    FILE *f = m ? open_memstream(&body, &len) : NULL;
    if (!f) {
        free(m);
        return send_text(l, conn, 500, "out of memory\n");
    }
    fill_snapshot(l->srv, m);
    const int rc = metrics_render(m, f);
    free(m);
    if (fclose(f) != 0 || rc != 0) {
        free(body);
        return send_text(l, conn, 500, "cannot render metrics\n");
    }
    return http_send_response(l, conn, 200, METRICS_CONTENT_TYPE, body, len, NULL);
}

/* ---- TAXII ---- */

static enum MHD_Result collect_param(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value)
{
    (void)kind;
    struct http_query *q = cls;
    if (q->n == LIMIT_HTTP_QUERY_PARAMS) {
        q->overflow = true;
        return MHD_NO;
    }
    q->items[q->n++] = (struct taxii_param){key, value ? value : ""};
    return MHD_YES;
}

void http_collect_query(struct MHD_Connection *conn, struct http_query *q)
{
    q->n = 0;
    q->overflow = false;
    MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, collect_param, q);
}

static enum MHD_Result json_error(struct http_listener *l, struct MHD_Connection *conn,
                                  int status, const char *title, const char *description)
{
    char *body = taxii_error_json(status, title, description);
    if (!body)
        return MHD_NO;
    return http_send_response(l, conn, status, TAXII_MEDIA_TYPE, body, strlen(body), NULL);
}

enum MHD_Result http_send_handled(struct http_listener *l, struct MHD_Connection *conn,
                                  const char *method, const char *url, struct taxii_response *tr)
{
    if (tr->status == 401)
        l->srv->auth_failures++;
    http_log_request(conn, method, url, tr->status, tr->reader);
    if (!tr->body)
        return json_error(l, conn, 500, "Server error", "the request could not be answered");
    char *body = tr->body;
    tr->body = NULL; /* MHD frees it */
    return http_send_response(l, conn, tr->status, tr->content_type, body, tr->body_len, tr);
}

static int taxii_run(void *job, struct taxii_response *resp)
{
    return taxii_job_run(job, resp);
}

static void taxii_free(void *job)
{
    taxii_job_free(job);
}

static const struct http_job_ops taxii_ops = {taxii_run, taxii_free, NULL};

static int misp_run(void *job, struct taxii_response *resp)
{
    return mispfeed_run(job, resp);
}

static void misp_free(void *job)
{
    mispfeed_job_free(job);
}

static const struct http_job_ops misp_ops = {misp_run, misp_free, NULL};

static enum MHD_Result serve_taxii(struct http_listener *l, struct MHD_Connection *conn,
                                   const char *method, const char *url, void **con_cls)
{
    struct http_server *srv = l->srv;
    struct http_query ps;
    http_collect_query(conn, &ps);
    if (ps.overflow) {
        http_log_request(conn, method, url, 400, "-");
        return json_error(l, conn, 400, "Too many parameters",
                          "the query has more parameters than this server takes");
    }
    struct taxii_server ts = {.store = srv->p.store, .cfg = srv->p.cfg,
                              .stix_tlp = STIXMAP_TLP2, .identity_created_ms = srv->p.start_ms,
                              .now_ms = http_unix_ms()};
    if (community_self_view(srv->p.store, srv->p.cfg, srv->key, &ts.self) != COMMUNITY_OK) {
        http_log_request(conn, method, url, 500, "-");
        return json_error(l, conn, 500, "Store error", "cannot read the community rosters");
    }
    const struct taxii_request req = {
        .method = method, .path = url,
        .accept = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT),
        .authorization =
            MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION),
        .params = ps.items, .n_params = ps.n};
    struct taxii_response tr;
    struct taxii_job *job = NULL;
    taxii_handle_start(&ts, &req, &tr, &job);
    if (job)
        return http_job_submit(l, conn, &taxii_ops, job, &tr, con_cls);
    return http_send_handled(l, conn, method, url, &tr);
}

/* ---- the MISP feed ---- */

static enum MHD_Result serve_misp(struct http_listener *l, struct MHD_Connection *conn,
                                  const char *method, const char *url, void **con_cls)
{
    struct http_server *srv = l->srv;
    struct mispfeed_server ms = {
        .store = srv->p.store, .cfg = srv->p.cfg, .stix_tlp = STIXMAP_TLP2, .now_ms = http_unix_ms()};
    memcpy(ms.key, srv->key, LIMIT_KEY_BYTES);
    const struct taxii_request req = {.method = method,
                                      .path = url,
                                      .authorization = MHD_lookup_connection_value(
                                          conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION)};
    struct taxii_response tr;
    struct mispfeed_job *job = NULL;
    mispfeed_start(&ms, &req, &tr, &job);
    if (job)
        return http_job_submit(l, conn, &misp_ops, job, &tr, con_cls);
    return http_send_handled(l, conn, method, url, &tr);
}

/* /metrics on the TAXII listener: any [Client] credential, never anonymous. */
static bool metrics_allowed(struct http_listener *l, struct MHD_Connection *conn)
{
    if (l->metrics_only)
        return true;
    struct gate_peer rd;
    const char *authz =
        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    return taxii_authenticate(l->srv->p.cfg, authz, &rd, NULL) == TAXII_AUTH_CLIENT;
}

static enum MHD_Result add_field(void *cls, enum MHD_ValueKind kind, const char *key,
                                 const char *value)
{
    (void)kind;
    *(size_t *)cls += strlen(key) + (value ? strlen(value) : 0) + 4; /* ": " and CRLF or "=&" */
    return MHD_YES;
}

/* The request line and headers as they came (near enough: separators counted, not read). */
static size_t request_bytes(struct MHD_Connection *conn, const char *url, const char *method)
{
    size_t n = strlen(method) + strlen(url) + sizeof " HTTP/1.1\r\n";
    MHD_get_connection_values(conn, MHD_HEADER_KIND | MHD_GET_ARGUMENT_KIND, add_field, &n);
    return n;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    (void)version;
    struct http_listener *l = cls;
    const enum http_cls *kind = *con_cls;
    if (kind && *kind == HTTP_CLS_JOB)
        return http_job_answer(l, conn, *con_cls, method, url);
    if (kind && *kind == HTTP_CLS_UI_FORM)
        return http_ui_serve(l, conn, method, url, upload_data, upload_data_size, con_cls);
    if (*con_cls == NULL)
        http_guard_head_done(l, conn);
    /* A GET is answered on the second call, once MHD has the whole request: answering earlier
     * makes MHD close the connection, and pollers reuse theirs. Any other method is answered at
     * once, so a request body is never read (MHD then closes the connection). */
    const bool get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
    /* MHD answers 431 itself only when the headers overflow its memory; headers that just fit
     * left no room for any answer and the connection was dropped. So the limit is ours, below
     * that memory by LIMIT_HTTP_RESPONSE_HEAD_BYTES. */
    if (*con_cls == NULL && request_bytes(conn, url, method) > LIMIT_HTTP_REQUEST_BYTES) {
        http_log_request(conn, method, "-", MHD_HTTP_REQUEST_HEADER_FIELDS_TOO_LARGE, "-");
        return send_text(l, conn, MHD_HTTP_REQUEST_HEADER_FIELDS_TOO_LARGE,
                         "request line and headers too large\n");
    }
    if (!l->metrics_only && http_ui_owns(url))
        return http_ui_serve(l, conn, method, url, upload_data, upload_data_size, con_cls);
    if (get && *con_cls == NULL) {
        *con_cls = &head_seen;
        return MHD_YES;
    }
    /* Health checks and scrapes come every few seconds: only their refusals are logged. */
    if (strcmp(url, "/healthz") == 0)
        return send_text(l, conn, 200, "ok\n");
    if (strcmp(url, "/metrics") == 0) {
        if (!metrics_allowed(l, conn)) {
            l->srv->auth_failures++;
            http_log_request(conn, method, url, 401, "-");
            struct taxii_response tr = {.challenge = true};
            char *body = strdup("credentials needed\n");
            if (!body)
                return MHD_NO;
            return http_send_response(l, conn, 401, "text/plain; charset=utf-8", body, strlen(body),
                                      &tr);
        }
        return serve_metrics(l, conn);
    }
    if (l->metrics_only) {
        http_log_request(conn, method, url, 404, "-");
        return send_text(l, conn, 404, "not found (this listener serves /metrics and /healthz)\n");
    }
    if (mispfeed_owns(url))
        return serve_misp(l, conn, method, url, con_cls);
    return serve_taxii(l, conn, method, url, con_cls);
}

__attribute__((format(printf, 2, 0))) static void on_mhd_log(void *cls, const char *fmt,
                                                             va_list ap)
{
    (void)cls;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    msg[strcspn(msg, "\n")] = '\0';
    log_event(LOG_WARN, "http_error", msg, NULL);
}

/* ---- start and stop ---- */

static int resolve(const struct config_endpoint *ep, struct sockaddr_storage *ss, char *why,
                   size_t why_len)
{
    char port[8];
    snprintf(port, sizeof port, "%u", (unsigned)ep->port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE};
    struct addrinfo *res = NULL;
    const int rc = getaddrinfo(ep->host, port, &hints, &res);
    if (rc != 0 || !res) {
        snprintf(why, why_len, "[HTTP] %s:%s: %s", ep->host, port, gai_strerror(rc));
        return HTTP_E_LISTEN;
    }
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    freeaddrinfo(res);
    return HTTP_OK;
}

static int listener_start(struct http_server *srv, struct http_listener *l,
                          const struct config_endpoint *ep, bool metrics_only, char *why,
                          size_t why_len)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    int rc = resolve(ep, &ss, why, why_len);
    if (rc != HTTP_OK)
        return rc;
    l->srv = srv;
    l->metrics_only = metrics_only;
    const unsigned flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME |
                           (ss.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0);
    /* The logger comes first so that MHD reports problems with the later options through it. */
    l->d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, l, MHD_OPTION_EXTERNAL_LOGGER,
                            on_mhd_log, NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
                            MHD_OPTION_CONNECTION_LIMIT, (unsigned)LIMIT_HTTP_CONNS,
                            MHD_OPTION_PER_IP_CONNECTION_LIMIT,
                            (unsigned)LIMIT_HTTP_CONNS_PER_ADDR,
                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)LIMIT_HTTP_TIMEOUT_S,
                            MHD_OPTION_CONNECTION_MEMORY_LIMIT,
                            (size_t)(LIMIT_HTTP_REQUEST_BYTES + LIMIT_HTTP_RESPONSE_HEAD_BYTES),
                            MHD_OPTION_NOTIFY_CONNECTION, on_notify, l,
                            MHD_OPTION_NOTIFY_COMPLETED, on_completed, l,
                            MHD_OPTION_URI_LOG_CALLBACK, http_guard_request_line, l,
                            MHD_OPTION_END);
    if (!l->d) {
        snprintf(why, why_len, "[HTTP] cannot listen on %s:%u (address in use or not local?)",
                 ep->host, (unsigned)ep->port);
        return HTTP_E_LISTEN;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(l->d, MHD_DAEMON_INFO_EPOLL_FD);
    if (!di || uv_poll_init(srv->p.loop, &l->poll, di->epoll_fd) != 0) {
        snprintf(why, why_len, "[HTTP] cannot watch the HTTP server's epoll descriptor");
        return HTTP_E_LISTEN;
    }
    uv_timer_init(srv->p.loop, &l->timer);
    uv_timer_init(srv->p.loop, &l->sweep);
    l->poll.data = l->timer.data = l->sweep.data = l;
    l->handles = true;
    uv_poll_start(&l->poll, UV_READABLE, on_poll);
    rearm(l);
    char addr[LIMIT_CONFIG_HOST_BYTES + 16];
    snprintf(addr, sizeof addr, strchr(ep->host, ':') ? "[%s]:%u" : "%s:%u", ep->host,
             (unsigned)ep->port);
    log_event(LOG_INFO, "http_listening", NULL, "addr", addr, "serves",
              metrics_only ? "metrics" : "taxii,metrics", NULL);
    return HTTP_OK;
}

int http_start(struct http_server **out, const struct http_params *p, char *why, size_t why_len)
{
    assert(out && p && p->loop && p->cfg && p->store && p->node_key);
    *out = NULL;
    if (!p->cfg->http.enabled)
        return HTTP_OK;
    struct http_server *srv = calloc(1, sizeof *srv);
    if (!srv)
        return HTTP_E_NOMEM;
    srv->p = *p;
    memcpy(srv->key, p->node_key, LIMIT_KEY_BYTES);
    metrics_tlp_count_init(&srv->tlp);
    *out = srv;
    int rc = listener_start(srv, &srv->l[srv->n++], &p->cfg->http.listen, false, why, why_len);
    if (rc == HTTP_OK && p->ui && !(srv->ui = p->ui->open(&p->ui_env, why, why_len)))
        rc = HTTP_E_CONSOLE;
    if (rc == HTTP_OK && p->cfg->http.has_metrics_listen)
        rc = listener_start(srv, &srv->l[srv->n++], &p->cfg->http.metrics_listen, true, why,
                            why_len);
    return rc;
}

void http_stop(struct http_server *srv)
{
    if (srv && !srv->stopping)
        http_job_stop(srv);
    for (size_t i = 0; srv && i < srv->n; i++) {
        struct http_listener *l = &srv->l[i];
        if (!l->handles)
            continue;
        /* The shell's shutdown walk may have closed them already. */
        if (!uv_is_closing((uv_handle_t *)&l->poll))
            uv_close((uv_handle_t *)&l->poll, NULL);
        if (!uv_is_closing((uv_handle_t *)&l->timer))
            uv_close((uv_handle_t *)&l->timer, NULL);
        if (!uv_is_closing((uv_handle_t *)&l->sweep))
            uv_close((uv_handle_t *)&l->sweep, NULL);
        l->handles = false;
    }
}

void http_free(struct http_server *srv)
{
    if (!srv)
        return;
    assert(srv->running == 0 && srv->waiting == NULL); /* the loop ran until every page was done */
    for (size_t i = 0; i < srv->n; i++) {
        if (!srv->l[i].d)
            continue;
        /* A resumed connection leaves MHD's suspended list only in MHD_run, and stopping with
         * one there is an API violation: one last run, with the listening socket closed. */
        MHD_quiesce_daemon(srv->l[i].d);
        MHD_run(srv->l[i].d);
        MHD_stop_daemon(srv->l[i].d); /* closes the epoll fd the poll handle watched */
    }
    if (srv->ui)
        srv->p.ui->close(srv->ui);
    free(srv);
}
