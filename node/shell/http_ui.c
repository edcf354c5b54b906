/* http_ui.c - the HTTP side of the web console under /ui/ (http.h "the web console's hook").
 *
 * The rest of the server answers non-GET requests at once and never reads a body; a console
 * form is a POST, so here MHD's post processor reads it, bounded by LIMIT_CONSOLE_FORM_BYTES (a
 * Content-Length beyond is 413 before any byte is read; a chunked body past it is read and
 * dropped, up to LIMIT_CONSOLE_FORM_DISCARD_BYTES, then answered 413, since Debian 12's MHD
 * refuses an answer queued while the upload still comes; beyond that the connection is closed). Decoded fields are never longer than their encoding, so the fields of one
 * form hold at most that many bytes. The console (struct http_ui) then answers on the loop
 * thread, or hands back a job that http_job.c runs on a pool thread. Every answer carries the
 * console's security headers. */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "node/shell/http_int.h"
#include "proto/limits.h"

#define UI_POST_BUFFER 1024 /* MHD's post processor buffer */

struct http_ui_form {
    enum http_cls kind; /* HTTP_CLS_UI_FORM, first (http_int.h) */
    struct MHD_PostProcessor *pp;
    size_t bytes;   /* body bytes read */
    bool bad;       /* NUL byte in a field, too many fields, or no post processor */
    struct taxii_param fields[LIMIT_CONSOLE_FORM_FIELDS];
    size_t lens[LIMIT_CONSOLE_FORM_FIELDS];
    size_t n;
};

/* The job of a console page built off the loop: the console's job and its answer. */
struct ui_job {
    struct http_ui_response resp;
};

bool http_ui_owns(const char *url)
{
    return strncmp(url, "/ui", 3) == 0 && (url[3] == '\0' || url[3] == '/');
}

void http_ui_form_free(void *form)
{
    struct http_ui_form *f = form;
    if (!f)
        return;
    assert(f->kind == HTTP_CLS_UI_FORM);
    if (f->pp)
        MHD_destroy_post_processor(f->pp);
    for (size_t i = 0; i < f->n; i++) {
        free((char *)f->fields[i].key);
        free((char *)f->fields[i].value);
    }
    free(f);
}

static bool append(struct taxii_param *fd, size_t *len, const char *data, size_t size)
{
    char *v = realloc((char *)fd->value, *len + size + 1);
    if (!v)
        return false;
    memcpy(v + *len, data, size);
    *len += size;
    v[*len] = '\0';
    fd->value = v;
    return true;
}

/* MHD hands a field in pieces: off 0 starts one, later pieces continue the last. */
static enum MHD_Result on_field(void *cls, enum MHD_ValueKind kind, const char *key,
                                const char *filename, const char *content_type,
                                const char *transfer_encoding, const char *data, uint64_t off,
                                size_t size)
{
    (void)kind, (void)filename, (void)content_type, (void)transfer_encoding;
    struct http_ui_form *f = cls;
    if (memchr(data, '\0', size) || strlen(key) > LIMIT_CONSOLE_FORM_BYTES) {
        f->bad = true;
        return MHD_NO;
    }
    if (off == 0 || f->n == 0 || strcmp(f->fields[f->n - 1].key, key) != 0) {
        if (f->n == LIMIT_CONSOLE_FORM_FIELDS) {
            f->bad = true;
            return MHD_NO;
        }
        char *k = strdup(key), *v = calloc(1, 1);
        if (!k || !v) {
            free(k), free(v);
            return MHD_NO;
        }
        f->fields[f->n] = (struct taxii_param){k, v};
        f->lens[f->n++] = 0;
    }
    return append(&f->fields[f->n - 1], &f->lens[f->n - 1], data, size) ? MHD_YES : MHD_NO;
}

static enum MHD_Result send_ui(struct http_listener *l, struct MHD_Connection *conn,
                               const char *method, const char *url, struct http_ui_response *r)
{
    if (!r->content_type)
        r->content_type = "text/html; charset=utf-8";
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        r->body ? r->body_len : 0, r->body ? r->body : (char *)"", r->body ? MHD_RESPMEM_MUST_FREE
                                                                          : MHD_RESPMEM_PERSISTENT);
    if (!resp) {
        free(r->body);
        r->body = NULL;
        return MHD_NO;
    }
    r->body = NULL; /* MHD frees it */
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, r->content_type);
    MHD_add_response_header(resp, "Content-Security-Policy", HTTP_UI_CSP);
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(resp, "X-Frame-Options", "DENY");
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    if (r->location[0])
        MHD_add_response_header(resp, MHD_HTTP_HEADER_LOCATION, r->location);
    for (size_t i = 0; i < HTTP_UI_COOKIES; i++)
        if (r->cookies[i][0])
            MHD_add_response_header(resp, MHD_HTTP_HEADER_SET_COOKIE, r->cookies[i]);
    http_log_request(conn, method, url, r->status, r->reader[0] ? r->reader : "-");
    const enum MHD_Result rc = http_queue(l, conn, r->status, resp);
    MHD_destroy_response(resp);
    return rc;
}

static enum MHD_Result send_plain(struct http_listener *l, struct MHD_Connection *conn,
                                  const char *method, const char *url, int status,
                                  const char *text)
{
    struct http_ui_response r = {.status = status, .content_type = "text/plain; charset=utf-8",
                                 .body = strdup(text)};
    if (!r.body)
        return MHD_NO;
    r.body_len = strlen(text);
    return send_ui(l, conn, method, url, &r);
}

/* ---- pages built off the loop ---- */

static int job_run(void *job, struct taxii_response *unused)
{
    (void)unused;
    struct ui_job *j = job;
    return j->resp.run(j->resp.job, &j->resp);
}

static void job_free(void *job)
{
    struct ui_job *j = job;
    j->resp.free(j->resp.job);
    free(j->resp.body);
    free(j);
}

static enum MHD_Result job_answer(struct http_listener *l, struct MHD_Connection *conn, void *job,
                                  const char *method, const char *url)
{
    struct ui_job *j = job;
    if (!j->resp.body && j->resp.status == 0)
        return send_plain(l, conn, method, url, 500, "the page could not be built\n");
    return send_ui(l, conn, method, url, &j->resp);
}

static const struct http_job_ops ui_job_ops = {job_run, job_free, job_answer};

static enum MHD_Result submit(struct http_listener *l, struct MHD_Connection *conn,
                              struct http_ui_response *r, void **con_cls)
{
    struct ui_job *j = calloc(1, sizeof *j);
    if (!j) {
        r->free(r->job);
        free(r->body);
        return MHD_NO;
    }
    j->resp = *r;
    struct taxii_response tr = {.status = 0};
    snprintf(tr.reader, sizeof tr.reader, "%s", r->reader);
    return http_job_submit(l, conn, &ui_job_ops, j, &tr, con_cls);
}

/* ---- one request ---- */

static enum MHD_Result answer(struct http_listener *l, struct MHD_Connection *conn,
                              const char *method, const char *url, struct http_ui_form *f,
                              void **con_cls)
{
    struct http_server *srv = l->srv;
    struct http_query q;
    http_collect_query(conn, &q);
    char addr[INET6_ADDRSTRLEN];
    http_client_addr(conn, addr);
    struct http_ui_request req = {
        .method = method, .path = url,
        .session = MHD_lookup_connection_value(conn, MHD_COOKIE_KIND, "tlpm_session"),
        .pre = MHD_lookup_connection_value(conn, MHD_COOKIE_KIND, "tlpm_pre"),
        .addr = addr, .query = q.items, .n_query = q.n,
        .form = f ? f->fields : NULL, .n_form = f ? f->n : 0,
        .form_bad = q.overflow || (f && f->bad), .now_ms = http_unix_ms()};
    struct http_ui_response r = {.status = 0};
    if (srv->p.ui->handle(srv->ui, &req, &r) != 0 || (!r.job && r.status == 0)) {
        free(r.body);
        if (r.job)
            r.free(r.job);
        return send_plain(l, conn, method, url, 500, "the console could not answer\n");
    }
    if (r.job) {
        if (f) /* a job replaces the form as *con_cls: none is submitted for a POST */
            http_ui_form_free(f), *con_cls = NULL;
        return submit(l, conn, &r, con_cls);
    }
    return send_ui(l, conn, method, url, &r);
}

/* The first call of a POST: a body larger than the limit is refused before it is read. */
static enum MHD_Result start_form(struct http_listener *l, struct MHD_Connection *conn,
                                  const char *method, const char *url, void **con_cls)
{
    const char *cl =
        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl && strtoull(cl, NULL, 10) > LIMIT_CONSOLE_FORM_BYTES)
        return send_plain(l, conn, method, url, 413, "form too large\n");
    struct http_ui_form *f = calloc(1, sizeof *f);
    if (!f)
        return MHD_NO;
    f->kind = HTTP_CLS_UI_FORM;
    f->pp = MHD_create_post_processor(conn, UI_POST_BUFFER, on_field, f);
    f->bad = f->pp == NULL; /* no body or not application/x-www-form-urlencoded */
    *con_cls = f;
    return MHD_YES;
}

enum MHD_Result http_ui_serve(struct http_listener *l, struct MHD_Connection *conn,
                              const char *method, const char *url, const char *upload_data,
                              size_t *upload_data_size, void **con_cls)
{
    static enum http_cls head = HTTP_CLS_HEAD;
    const enum http_cls *kind = *con_cls;
    const bool get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
    if (*con_cls == NULL && !l->srv->ui)
        return send_plain(l, conn, method, url, 404, "no console on this node\n");
    if (*con_cls == NULL && strcmp(method, "POST") == 0)
        return start_form(l, conn, method, url, con_cls);
    if (*con_cls == NULL && !get)
        return send_plain(l, conn, method, url, 405, "method not allowed\n");
    if (*con_cls == NULL) { /* a GET is answered once MHD has all of it (http.c) */
        *con_cls = &head;
        return MHD_YES;
    }
    struct http_ui_form *f = kind && *kind == HTTP_CLS_UI_FORM ? *con_cls : NULL;
    if (f && *upload_data_size > 0) {
        f->bytes += *upload_data_size;
        if (f->bytes > LIMIT_CONSOLE_FORM_DISCARD_BYTES)
            return MHD_NO; /* closes the connection */
        if (f->bytes <= LIMIT_CONSOLE_FORM_BYTES && f->pp && !f->bad &&
            MHD_post_process(f->pp, upload_data, *upload_data_size) != MHD_YES)
            f->bad = true;
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (f && f->bytes > LIMIT_CONSOLE_FORM_BYTES)
        return send_plain(l, conn, method, url, 413, "form too large\n");
    return answer(l, conn, method, url, f, con_cls);
}
