/* console.c - the console's open, close and routing (console.h). */
#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "node/console/console_int.h"
#include "node/core/community.h"
#include "node/formats/taxii.h"

/* ---- request helpers ---- */

const char *console_param(const struct taxii_param *f, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(f[i].key, key) == 0)
            return f[i].value;
    return NULL;
}

const char *console_query(const struct console_req *r, const char *key)
{
    return console_param(r->req->query, r->req->n_query, key);
}

const char *console_form(const struct console_req *r, const char *key)
{
    return console_param(r->req->form, r->req->n_form, key);
}

int console_redirect(struct console_req *r, const char *location)
{
    r->resp->status = 303;
    snprintf(r->resp->location, sizeof r->resp->location, "%s", location);
    return CONSOLE_OK;
}

json_t *console_status(struct console_req *r)
{
    json_t *req = json_pack("{s:s}", "cmd", "status");
    json_t *status = req ? r->c->env.control(r->c->env.control_ctx, req) : NULL;
    json_decref(req);
    return status;
}

const char *console_jstr(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

int console_error(struct console_req *r, int status, const char *message)
{
    struct console_page p;
    const char *title = status == 404 ? "Not found" : status == 403 ? "Refused" : "Error";
    int rc = console_page_begin(&p, r->session ? &r->who : NULL, title);
    if (rc != CONSOLE_OK)
        return rc;
    console_error_p(&p, message);
    return console_page_end(&p, r->resp, status);
}

struct cli_node *console_node(struct console_req *r)
{
    struct cli_node *n = calloc(1, sizeof *n);
    if (!n)
        return NULL;
    n->cfg = *r->c->env.cfg; /* a shallow copy, read only: never config_free'd */
    n->id = *r->c->env.id;
    n->has_key = true;
    n->store = r->c->env.store;
    n->control = r->c->env.control;
    n->control_ctx = r->c->env.control_ctx;
    return n;
}

void console_node_free(struct cli_node *n)
{
    if (n)
        sodium_memzero(n, sizeof *n); /* the key copy; the config copy owns nothing */
    free(n);
}

int console_gate_views(struct console_req *r, struct gate_peer *reader, struct gate_self *self)
{
    assert(r->client);
    taxii_client_reader(r->client, reader);
    const struct http_ui_env *e = &r->c->env;
    return community_self_view(e->store, e->cfg, e->id->sign_pk, self) == COMMUNITY_OK
               ? CONSOLE_OK
               : CONSOLE_E_STORE;
}

/* ---- who is asking ---- */

/* The session of the request, if it is live and its client may still use the console. */
static void find_session(struct console_req *r)
{
    struct console_session *s =
        console_session_find(&r->c->sessions, r->req->session, r->req->now_ms);
    const struct config_client *c = s ? config_find_client(r->c->env.cfg, s->client) : NULL;
    if (s && (!c || c->console == CONFIG_CONSOLE_NONE)) {
        console_session_end(s); /* a reload took its right away */
        s = NULL;
    }
    if (!s)
        return;
    r->session = s;
    r->client = c;
    snprintf(r->who.client, sizeof r->who.client, "%s", c->name);
    snprintf(r->resp->reader, sizeof r->resp->reader, "%s", c->name);
    r->who.publisher = c->console == CONFIG_CONSOLE_PUBLISHER;
    r->who.own_org = strcasecmp(c->organisation, r->c->env.cfg->organisation) == 0;
    console_csrf(r->c->secret, "session", r->req->session, r->who.csrf);
}

/* ---- routing ---- */

static bool is_id_hex(const char *s, size_t len)
{
    if (len != 2 * LIMIT_ID_BYTES)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
}

static int serve_css(struct console_req *r)
{
    r->resp->status = 200;
    r->resp->content_type = "text/css; charset=utf-8";
    r->resp->body = strdup(console_css);
    if (!r->resp->body)
        return CONSOLE_E_NOMEM;
    r->resp->body_len = strlen(console_css);
    return CONSOLE_OK;
}

/* /ui/record/ID and /ui/record/ID/revoke. */
static int route_record(struct console_req *r, const char *rest, bool post)
{
    const size_t idlen = strcspn(rest, "/");
    char id[2 * LIMIT_ID_BYTES + 1];
    if (!is_id_hex(rest, idlen))
        return console_error(r, 404, "no such page");
    memcpy(id, rest, idlen);
    id[idlen] = '\0';
    if (rest[idlen] == '\0')
        return post ? console_error(r, 405, "a record page is read with GET")
                    : console_record_page(r, id);
    if (strcmp(rest + idlen, "/revoke") == 0)
        return post ? console_revoke_post(r, id)
                    : console_error(r, 405, "revoke is a form: POST");
    return console_error(r, 404, "no such page");
}

struct route {
    const char *path;
    int (*get)(struct console_req *r);
    int (*post)(struct console_req *r);
    bool publisher; /* publishers only */
    bool own_org;   /* this node's own organisation only */
};

static const struct route routes[] = {
    {"/ui/search", console_search_page, NULL, false, false},
    {"/ui/publish", console_publish_page, console_publish_post, true, false},
    /* names, organisations, traffic and ceilings of this node's peers; the activity chart is
     * the node's sums only */
    {"/ui/peers", console_peers_page, NULL, false, true},
    {"/ui/activity", console_activity_page, NULL, false, false},
    {"/ui/logout", NULL, console_logout_post, false, false},
};

/* Pages behind the sign-in: the session, the role and the CSRF token are checked here, once. */
static int route_signed_in(struct console_req *r, bool post)
{
    const char *path = r->req->path;
    if (!r->session)
        return console_redirect(r, "/ui/login");
    if (post && r->req->form_bad)
        return console_error(r, 400, "the form could not be read (a NUL byte, too many fields, "
                                     "or not application/x-www-form-urlencoded)");
    if (post && !console_csrf_ok(r->c->secret, "session", r->req->session, console_form(r, "csrf")))
        return console_error(r, 403, "the form's CSRF token is missing or wrong: reload the page");
    if (strncmp(path, "/ui/record/", 11) == 0) {
        if (post && !r->who.publisher)
            return console_error(r, 403, "only publishers may revoke");
        return route_record(r, path + 11, post);
    }
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        const struct route *rt = &routes[i];
        if (strcmp(path, rt->path) != 0)
            continue;
        if (rt->publisher && !r->who.publisher)
            return console_error(r, 403, "only publishers may publish");
        if (rt->own_org && !r->who.own_org)
            return console_error(r, 403, "this page is for this node's own organisation");
        int (*fn)(struct console_req *) = post ? rt->post : rt->get;
        return fn ? fn(r) : console_error(r, 405, post ? "this page is read with GET"
                                                       : "this is a form: POST");
    }
    return console_error(r, 404, "no such page");
}

static int handle(void *ctx, const struct http_ui_request *req, struct http_ui_response *resp)
{
    struct console_req r = {.c = ctx, .req = req, .resp = resp};
    const bool post = strcmp(req->method, "POST") == 0;
    find_session(&r);
    if (strcmp(req->path, "/ui") == 0 || strcmp(req->path, "/ui/") == 0)
        return console_redirect(&r, r.session ? "/ui/search" : "/ui/login");
    if (strcmp(req->path, "/ui/static/console.css") == 0)
        return serve_css(&r);
    if (strcmp(req->path, "/ui/login") == 0)
        return post ? console_login_post(&r) : console_login_page(&r);
    return route_signed_in(&r, post);
}

static void *open_console(const struct http_ui_env *env, char *why, size_t why_len)
{
    struct console *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(why, why_len, "[HTTP] console: out of memory");
        return NULL;
    }
    c->env = *env;
    randombytes_buf(c->secret, sizeof c->secret);
    return c;
}

static void close_console(void *ctx)
{
    if (ctx)
        sodium_memzero(ctx, sizeof(struct console));
    free(ctx);
}

const struct http_ui console_ui = {open_console, handle, close_console};
