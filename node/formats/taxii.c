/* taxii.c - the TAXII 2.1 server: errors, dates, authentication, responses, discovery and
 * routing (taxii.h; the other parts: taxii_int.h). */
#include "node/formats/taxii_int.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <sodium.h>

#include "node/formats/export.h"
#include "node/formats/timefmt.h"
#include "proto/record.h"

const char *taxii_strerror(int err)
{
    switch (err) {
    case TAXII_OK: return "ok";
    TAXII_ERRORS(ERRORS_CASE)
    default: return "unknown taxii error";
    }
}

/* ---- dates ---- */

void taxii_format_date(uint64_t us, char out[TAXII_DATE_LEN + 1])
{
    char ms[TIMEFMT_RFC3339_LEN + 1];
    timefmt_format(us / 1000, ms);
    /* "YYYY-MM-DDTHH:MM:SS" then our own six fraction digits. */
    snprintf(out, TAXII_DATE_LEN + 1, "%.19s.%06uZ", ms, (unsigned)(us % 1000000));
}

int taxii_parse_date(const char *text, uint64_t *us)
{
    uint64_t ms = 0;
    if (text == NULL || timefmt_parse_rfc3339(text, &ms) != TIMEFMT_OK || ms > UINT64_MAX / 1000)
        return -1;
    /* timefmt keeps milliseconds; take the microseconds from the fraction ourselves (syntax
     * already checked: "YYYY-MM-DDTHH:MM:SS" is 19 characters). */
    uint64_t frac = 0;
    unsigned n = 0;
    if (text[19] == '.')
        for (const char *p = text + 20; *p >= '0' && *p <= '9' && n < 6; p++, n++)
            frac = frac * 10 + (uint64_t)(*p - '0');
    for (; n < 6; n++)
        frac *= 10;
    *us = ms / 1000 * 1000000 + frac;
    return 0;
}

void taxii_collection_id(const uint8_t key[LIMIT_KEY_BYTES], char out[37])
{
    export_uuid_derive("tlpmesh-taxii-collection", key, LIMIT_KEY_BYTES, out);
}

/* ---- authentication ---- */

/* Constant-time equality of a presented secret with a configured one: both are compared as
 * whole zero-padded buffers, so neither the length nor the position of a mismatch shows. */
static bool secret_equal(const char *configured, const char *presented, size_t presented_len)
{
    char a[LIMIT_HTTP_SECRET_BYTES + 1] = {0}, b[LIMIT_HTTP_SECRET_BYTES + 1] = {0};
    snprintf(a, sizeof a, "%s", configured);
    memcpy(b, presented, presented_len);
    const bool eq = sodium_memcmp(a, b, sizeof a) == 0;
    sodium_memzero(a, sizeof a);
    sodium_memzero(b, sizeof b);
    return eq;
}

static void reader_of_client(const struct config_client *c, struct gate_peer *p)
{
    memset(p, 0, sizeof *p); /* key stays zero: a TAXII reader holds no node key */
    p->authenticated = true;
    snprintf(p->org, sizeof p->org, "%s", c->organisation);
    p->relation = c->relation == CONFIG_RELATION_CLIENT ? GATE_RELATION_CLIENT
                                                        : GATE_RELATION_PARTNER;
    p->ceiling = (uint8_t)(c->max_tlp < PROTO_TLP_AMBER_STRICT ? c->max_tlp
                                                                : PROTO_TLP_AMBER_STRICT);
    p->n_communities = (uint8_t)c->n_communities;
    for (size_t i = 0; i < c->n_communities && i < LIMIT_GATE_MEMBERSHIPS; i++)
        memcpy(p->communities[i], c->communities[i], sizeof p->communities[i]);
}

static void reader_anonymous(struct gate_peer *p)
{
    memset(p, 0, sizeof *p);
    p->authenticated = false;
    p->ceiling = PROTO_TLP_CLEAR;
}

/* Checks every client (no early exit) and returns the last one that matched. */
static const struct config_client *match_clients(const struct config *cfg, bool basic,
                                                 const char *user, const char *secret,
                                                 size_t secret_len)
{
    const struct config_client *found = NULL;
    for (size_t i = 0; i < cfg->n_clients; i++) {
        const struct config_client *c = &cfg->clients[i];
        const bool kind_ok = basic ? c->scheme == CONFIG_SCHEME_BASIC
                                   : c->scheme != CONFIG_SCHEME_BASIC;
        const bool secret_ok = secret_equal(c->secret, secret, secret_len);
        if (kind_ok && secret_ok && (!basic || strcmp(c->name, user) == 0))
            found = c;
    }
    return found;
}

static const struct config_client *auth_basic(const struct config *cfg, const char *b64)
{
    char raw[LIMIT_NAME_BYTES + 1 + LIMIT_HTTP_SECRET_BYTES + 1];
    size_t len = 0;
    const struct config_client *c = NULL;
    if (sodium_base642bin((unsigned char *)raw, sizeof raw - 1, b64, strlen(b64), NULL, &len,
                          NULL, sodium_base64_VARIANT_ORIGINAL) != 0)
        goto out;
    raw[len] = '\0';
    char *colon = memchr(raw, ':', len);
    if (!colon || strlen(raw) != len) /* no NUL inside credentials */
        goto out;
    *colon = '\0';
    const size_t secret_len = len - (size_t)(colon + 1 - raw);
    if (secret_len <= LIMIT_HTTP_SECRET_BYTES)
        c = match_clients(cfg, true, raw, colon + 1, secret_len);
out:
    sodium_memzero(raw, sizeof raw);
    return c;
}

enum taxii_auth taxii_authenticate(const struct config *cfg, const char *authorization,
                                   struct gate_peer *reader, const struct config_client **client)
{
    assert(cfg != NULL && reader != NULL);
    if (client)
        *client = NULL;
    if (authorization == NULL || authorization[0] == '\0') {
        if (!cfg->http.anonymous)
            return TAXII_AUTH_MISSING;
        reader_anonymous(reader);
        return TAXII_AUTH_ANONYMOUS;
    }
    const size_t scheme_len = strcspn(authorization, " ");
    const char *cred = authorization + scheme_len;
    while (*cred == ' ')
        cred++;
    const struct config_client *c = NULL;
    if (scheme_len == 5 && strncasecmp(authorization, "basic", 5) == 0) {
        c = auth_basic(cfg, cred);
    } else if ((scheme_len == 6 && strncasecmp(authorization, "bearer", 6) == 0) ||
               (scheme_len == 5 && strncasecmp(authorization, "token", 5) == 0)) {
        const size_t len = strlen(cred);
        if (len <= LIMIT_HTTP_SECRET_BYTES)
            c = match_clients(cfg, false, NULL, cred, len);
    }
    if (!c)
        return TAXII_AUTH_BAD;
    reader_of_client(c, reader);
    if (client)
        *client = c;
    return TAXII_AUTH_CLIENT;
}

/* ---- responses ---- */

void taxii_set_body(struct taxii_response *resp, int status, json_t *o)
{
    resp->status = status;
    resp->content_type = TAXII_MEDIA_TYPE;
    resp->body = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII) : NULL;
    resp->body_len = resp->body ? strlen(resp->body) : 0;
    json_decref(o);
}

static json_t *error_object(int status, const char *title, const char *description)
{
    assert(status >= 400 && status <= 599);
    char code[16];
    snprintf(code, sizeof code, "%d", status);
    return json_pack("{s:s, s:s, s:s}", "title", title, "http_status", code, "description",
                     description);
}

char *taxii_error_json(int status, const char *title, const char *description)
{
    json_t *o = error_object(status, title, description);
    char *s = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII) : NULL;
    json_decref(o);
    return s;
}

void taxii_set_error(struct taxii_response *resp, int status, const char *title,
                     const char *description)
{
    taxii_set_body(resp, status, error_object(status, title, description));
}

/* ---- discovery, API root, collections ---- */

static json_t *collection_json(const struct taxii_server *srv)
{
    char id[37], desc[LIMIT_NAME_BYTES + 96];
    taxii_collection_id(srv->self.key, id);
    snprintf(desc, sizeof desc, "Indicators shared with you on tlpmesh by %s",
             srv->self.org[0] ? srv->self.org : "this node");
    return json_pack("{s:s, s:s, s:s, s:b, s:b, s:[s]}", "id", id, "title",
                     TAXII_COLLECTION_TITLE, "description", desc, "can_read", 1, "can_write", 0,
                     "media_types", TAXII_STIX_MEDIA_TYPE);
}

static json_t *discovery_json(const struct taxii_server *srv)
{
    char title[LIMIT_NAME_BYTES + 16];
    snprintf(title, sizeof title, "tlpmesh %s", srv->self.org);
    return json_pack("{s:s, s:s, s:s, s:[s]}", "title", title, "description",
                     "tlpmesh node: TLP-gated threat indicators", "default",
                     "/" TAXII_API_ROOT "/", "api_roots", "/" TAXII_API_ROOT "/");
}

static json_t *api_root_json(void)
{
    return json_pack("{s:s, s:s, s:[s], s:i}", "title", TAXII_API_ROOT, "description",
                     "tlpmesh indicators, read-only", "versions", TAXII_MEDIA_TYPE,
                     "max_content_length", (int)LIMIT_TAXII_MAX_CONTENT);
}

/* ---- request checks and routing ---- */

/* Accept absent, or any item that is "*" "/" "*", "application/" "*", or
 * application/taxii+json with no version or version 2.1 (other parameters such as q= ignored). */
static bool accept_ok(const char *accept)
{
    if (accept == NULL || accept[0] == '\0')
        return true;
    char item[128];
    for (const char *p = accept;;) {
        const size_t len = strcspn(p, ",");
        size_t k = 0;
        for (size_t i = 0; i < len && k + 1 < sizeof item; i++)
            if (p[i] != ' ' && p[i] != '\t')
                item[k++] = p[i];
        item[k] = '\0';
        char *params = strchr(item, ';');
        if (params)
            *params++ = '\0';
        if (strcmp(item, "*/*") == 0 || strcmp(item, "application/*") == 0)
            return true;
        if (strcasecmp(item, "application/taxii+json") == 0 &&
            (params == NULL || strncmp(params, "version=", 8) != 0 ||
             strncmp(params, "version=2.1", 11) == 0))
            return true;
        if (p[len] == '\0')
            return false;
        p += len + 1;
    }
}

/* Splits a path into at most LIMIT_TAXII_PATH_SEGMENTS segments (empty ones dropped). -1 when there
 * are more. */
static int split(const char *path, char *buf, size_t cap, char *segs[LIMIT_TAXII_PATH_SEGMENTS])
{
    snprintf(buf, cap, "%s", path);
    int n = 0;
    for (char *save = NULL, *s = strtok_r(buf, "/", &save); s; s = strtok_r(NULL, "/", &save)) {
        if (n == LIMIT_TAXII_PATH_SEGMENTS)
            return -1;
        segs[n++] = s;
    }
    return n;
}

static int route(const struct taxii_server *srv, const struct gate_peer *rd,
                 const struct taxii_request *req, struct taxii_response *resp,
                 struct taxii_job **job)
{
    char buf[512], *seg[LIMIT_TAXII_PATH_SEGMENTS];
    const int n = strlen(req->path) < sizeof buf ? split(req->path, buf, sizeof buf, seg) : -1;
    const bool get = strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0;
    if (n == 1 && strcmp(seg[0], "taxii2") == 0 && get) {
        taxii_set_body(resp, 200, discovery_json(srv));
        return TAXII_OK;
    }
    if (n < 1 || strcmp(seg[0], TAXII_API_ROOT) != 0 ||
        (n >= 2 && strcmp(seg[1], "collections") != 0)) {
        taxii_set_error(resp, 404, "Not found", "no such TAXII resource on this server");
        return TAXII_OK;
    }
    char cid[37];
    taxii_collection_id(srv->self.key, cid);
    if (n >= 3 && strcmp(seg[2], cid) != 0) {
        taxii_set_error(resp, 404, "Collection not found", "no collection with this id");
        return TAXII_OK;
    }
    const bool objects = n >= 4 && strcmp(seg[3], "objects") == 0;
    if (objects && n == 4 && strcmp(req->method, "POST") == 0) {
        taxii_set_error(resp, 403, "Collection is read-only",
                  "this collection does not accept objects (can_write is false)");
        return TAXII_OK;
    }
    if (!get) {
        resp->allow_get = true;
        taxii_set_error(resp, 405, "Method not allowed", "this resource answers GET only");
        return TAXII_OK;
    }
    if (n == 1)
        taxii_set_body(resp, 200, api_root_json());
    else if (n == 2)
        taxii_set_body(resp, 200, json_pack("{s:[o]}", "collections", collection_json(srv)));
    else if (n == 3)
        taxii_set_body(resp, 200, collection_json(srv));
    else if (objects && n == 4)
        return taxii_envelope(srv, rd, req, PAGE_OBJECTS, resp, job);
    else if (n == 4 && strcmp(seg[3], "manifest") == 0)
        return taxii_envelope(srv, rd, req, PAGE_MANIFEST, resp, job);
    else if (objects && n == 5)
        return taxii_one_object(srv, rd, req, seg[4], false, resp);
    else if (objects && n == 6 && strcmp(seg[5], "versions") == 0)
        return taxii_one_object(srv, rd, req, seg[4], true, resp);
    else
        taxii_set_error(resp, 404, "Not found", "no such TAXII resource on this server");
    return TAXII_OK;
}

/* A 500 without a body for an error; TAXII_E_NOMEM when a JSON body could not be made. */
static int finish(struct taxii_response *resp, int rc)
{
    if (rc == TAXII_OK && resp->body == NULL)
        rc = TAXII_E_NOMEM; /* json_pack or json_dumps ran out of memory */
    if (rc < 0) {
        free(resp->body);
        resp->body = NULL;
        resp->body_len = 0;
        resp->date_first[0] = resp->date_last[0] = '\0';
        resp->status = 500;
        resp->content_type = "text/plain";
    }
    return rc < 0 ? rc : TAXII_OK;
}

int taxii_handle_start(const struct taxii_server *srv, const struct taxii_request *req,
                       struct taxii_response *resp, struct taxii_job **job)
{
    assert(srv != NULL && srv->store != NULL && srv->cfg != NULL && req != NULL &&
           req->method != NULL && req->path != NULL && resp != NULL);
    memset(resp, 0, sizeof *resp);
    if (job)
        *job = NULL;
    snprintf(resp->reader, sizeof resp->reader, "-");
    struct gate_peer rd;
    const struct config_client *client = NULL;
    const enum taxii_auth a = taxii_authenticate(srv->cfg, req->authorization, &rd, &client);
    int rc = TAXII_OK;
    if (a == TAXII_AUTH_MISSING || a == TAXII_AUTH_BAD) {
        resp->challenge = true;
        taxii_set_error(resp, 401, "Unauthorized",
                  a == TAXII_AUTH_MISSING ? "this server needs credentials"
                                          : "these credentials match no client");
    } else if (!accept_ok(req->accept)) {
        snprintf(resp->reader, sizeof resp->reader, "%s", client ? client->name : "anonymous");
        taxii_set_error(resp, 406, "Not acceptable",
                  "this server speaks " TAXII_MEDIA_TYPE " (TAXII 2.1) only");
    } else {
        snprintf(resp->reader, sizeof resp->reader, "%s", client ? client->name : "anonymous");
        rc = route(srv, &rd, req, resp, job);
        if (rc == TAXII_OK && job && *job)
            return TAXII_OK;
    }
    return finish(resp, rc);
}

int taxii_job_run(struct taxii_job *job, struct taxii_response *resp)
{
    assert(job != NULL && resp != NULL && resp->body == NULL);
    return finish(resp, taxii_page_build(job, resp));
}

void taxii_job_free(struct taxii_job *job)
{
    free(job);
}

int taxii_handle(const struct taxii_server *srv, const struct taxii_request *req,
                 struct taxii_response *resp)
{
    return taxii_handle_start(srv, req, resp, NULL);
}

void taxii_response_free(struct taxii_response *resp)
{
    if (!resp)
        return;
    free(resp->body);
    resp->body = NULL;
    resp->body_len = 0;
}

void taxii_client_reader(const struct config_client *c, struct gate_peer *p)
{
    reader_of_client(c, p);
}
