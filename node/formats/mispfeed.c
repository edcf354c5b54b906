/* mispfeed.c - see mispfeed.h. */
#include "node/formats/mispfeed.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/core/community.h"
#include "node/formats/export.h"
#include "node/formats/recbatch.h"

#define BASE "/misp/feed" /* MISPFEED_PATH without its final "/" */

struct mispfeed_job {
    struct export_job ex;
    struct gate_peer reader;
    struct community_table t; /* the trusted rosters, for origin organisations */
    struct config orgs;       /* organisation and [Peer]s only: what community_org_of_key reads */
    struct store *store;
    char name[LIMIT_EXPORT_FILE_NAME_BYTES];
    struct recbatch b; /* the source's walk */
    struct proto_record r;
    struct proto_record rev; /* a revocation, for its time (gone_at) */
    uint8_t rev_buf[LIMIT_SIGNED_RECORD_BYTES];
};

bool mispfeed_owns(const char *path)
{
    return strncmp(path, BASE, sizeof BASE - 1) == 0 &&
           (path[sizeof BASE - 1] == '\0' || path[sizeof BASE - 1] == '/');
}

/* ---- the records: the whole store, each with its revocation state ---- */

static int source_each(void *src, export_record_cb cb, void *cb_ctx)
{
    struct mispfeed_job *j = src;
    uint64_t since = 0;
    for (;;) { /* ends with the store: seqs only grow */
        int rc = recbatch_next(&j->b, j->store, since);
        if (rc < 0 || j->b.n == 0)
            return rc;
        for (size_t i = 0; i < j->b.n; i++) {
            const struct recbatch_item *it = &j->b.items[i];
            since = it->seq;
            if (it->len <= LIMIT_SIG_BYTES ||
                proto_record_decode(it->rec + LIMIT_SIG_BYTES, it->len - LIMIT_SIG_BYTES, &j->r,
                                    NULL, 0) != PROTO_OK ||
                j->r.kind != PROTO_KIND_INDICATOR)
                continue; /* an export shows indicators only */
            const int revoked = store_is_revoked(j->store, it->id, j->r.origin);
            if (revoked < 0)
                return revoked;
            if ((rc = cb(it->id, &j->r, revoked == 1, cb_ctx)) != 0)
                return rc;
        }
    }
}

/* export_gone_fn: the created time of the revocation by r's origin, if it is stored. */
static int gone_at(void *ctx, const uint8_t id[LIMIT_ID_BYTES], const struct proto_record *r,
                   uint64_t *ms)
{
    struct mispfeed_job *j = ctx;
    uint8_t rev_id[LIMIT_ID_BYTES];
    size_t len = 0;
    int rc = store_revocation_for(j->store, id, r->origin, rev_id);
    if (rc == STORE_OK)
        rc = store_get(j->store, rev_id, j->rev_buf, sizeof j->rev_buf, &len, NULL);
    if (rc == STORE_E_NOTFOUND)
        return 0; /* hidden by a recovery, not revoked: the caller's time */
    if (rc != STORE_OK)
        return rc;
    if (len <= LIMIT_SIG_BYTES ||
        proto_record_decode_known(j->rev_buf + LIMIT_SIG_BYTES, len - LIMIT_SIG_BYTES, &j->rev) !=
            PROTO_OK)
        return 0;
    *ms = j->rev.created_ms;
    return 0;
}

static const char *origin_org(void *ctx, const uint8_t key[LIMIT_KEY_BYTES])
{
    const struct mispfeed_job *j = ctx;
    return community_org_of_key(&j->t, &j->orgs, key);
}

/* ---- requests ---- */

static void set_body(struct taxii_response *resp, int status, const char *type, char *body,
                     size_t len)
{
    resp->status = status;
    resp->content_type = type;
    resp->body = body;
    resp->body_len = len;
}

static void set_text(struct taxii_response *resp, int status, const char *text)
{
    char *body = strdup(text);
    set_body(resp, status, "text/plain; charset=utf-8", body, body ? strlen(body) : 0);
}

/* A 500 without a body for an error; EXPORT_E_NOMEM when a body could not be made. */
static int finish(struct taxii_response *resp, int rc)
{
    if (rc == 0 && resp->body == NULL)
        rc = EXPORT_E_NOMEM;
    if (rc < 0) {
        free(resp->body);
        set_body(resp, 500, "text/plain", NULL, 0);
    }
    return rc < 0 ? rc : 0;
}

static bool is_uuid(const char *s)
{
    for (size_t i = 0; i < EXPORT_UUID_TEXT - 1; i++) {
        const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : !strchr("0123456789abcdef", s[i]) || s[i] == '\0')
            return false;
    }
    return true;
}

/* The file a path names: manifest.json, hashes.csv or <uuid>.json, else NULL. */
static const char *file_of(const char *path)
{
    const char *f = path + sizeof BASE - 1;
    while (*f == '/')
        f++;
    if (strcmp(f, "manifest.json") == 0 || strcmp(f, "hashes.csv") == 0)
        return f;
    if (strlen(f) == EXPORT_UUID_TEXT - 1 + 5 && is_uuid(f) &&
        strcmp(f + EXPORT_UUID_TEXT - 1, ".json") == 0)
        return f;
    return NULL;
}

static int job_new(const struct mispfeed_server *srv, const struct gate_peer *rd, const char *name,
                   struct mispfeed_job **out)
{
    struct mispfeed_job *j = calloc(1, sizeof *j);
    if (!j || recbatch_init(&j->b, LIMIT_TAXII_SCAN_BATCH) != 0) {
        free(j);
        return EXPORT_E_NOMEM;
    }
    *out = j;
    community_table_init(&j->t);
    j->store = srv->store;
    j->reader = *rd;
    snprintf(j->name, sizeof j->name, "%s", name);
    const struct config *cfg = srv->cfg;
    snprintf(j->orgs.organisation, sizeof j->orgs.organisation, "%s", cfg->organisation);
    if (cfg->n_peers > 0) {
        j->orgs.peers = malloc(cfg->n_peers * sizeof *cfg->peers);
        if (!j->orgs.peers)
            return EXPORT_E_NOMEM;
        memcpy(j->orgs.peers, cfg->peers, cfg->n_peers * sizeof *cfg->peers);
        j->orgs.n_peers = cfg->n_peers;
    }
    int rc = community_table_build(&j->t, srv->store, cfg, srv->key, false, NULL, NULL);
    if (rc < 0)
        return j->t.last_store_err < 0 ? j->t.last_store_err : EXPORT_E_SOURCE;
    j->ex = (struct export_job){.format = EXPORT_FMT_MISP_FEED,
                                .max_tlp = rd->ceiling,
                                .stix_tlp = srv->stix_tlp,
                                .now_ms = srv->now_ms,
                                .src = {.each = source_each, .src = j},
                                .origin_org = origin_org,
                                .origin_ctx = j,
                                .reader = &j->reader,
                                .gone_at = gone_at,
                                .gone_ctx = j};
    rc = community_fill_self(&j->t, cfg, &j->ex.self);
    /* a cut list of memberships: fewer grounds to share, never more */
    return rc == COMMUNITY_OK || rc == COMMUNITY_E_TOOMANY ? 0 : EXPORT_E_SOURCE;
}

int mispfeed_start(const struct mispfeed_server *srv, const struct taxii_request *req,
                   struct taxii_response *resp, struct mispfeed_job **job)
{
    assert(srv && srv->store && srv->cfg && req && req->method && req->path && resp && job);
    memset(resp, 0, sizeof *resp);
    *job = NULL;
    snprintf(resp->reader, sizeof resp->reader, "-");
    struct gate_peer rd;
    const struct config_client *client = NULL;
    const enum taxii_auth a = taxii_authenticate(srv->cfg, req->authorization, &rd, &client);
    if (a == TAXII_AUTH_MISSING || a == TAXII_AUTH_BAD) {
        resp->challenge = true;
        set_text(resp, 401,
                 a == TAXII_AUTH_MISSING ? "credentials needed\n"
                                         : "these credentials match no client\n");
        return finish(resp, 0);
    }
    snprintf(resp->reader, sizeof resp->reader, "%s", client ? client->name : "anonymous");
    const char *name = file_of(req->path);
    if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
        resp->allow_get = true;
        set_text(resp, 405, "this feed answers GET only\n");
    } else if (!name) {
        set_text(resp, 404,
                 "not found (this feed has manifest.json, hashes.csv and "
                 "<event uuid>.json)\n");
    } else {
        const int rc = job_new(srv, &rd, name, job);
        if (rc < 0) {
            mispfeed_job_free(*job);
            *job = NULL;
        }
        return rc < 0 ? finish(resp, rc) : 0;
    }
    return finish(resp, 0);
}

int mispfeed_run(struct mispfeed_job *j, struct taxii_response *resp)
{
    assert(j != NULL && resp != NULL && resp->body == NULL);
    const bool csv = strcmp(j->name, "hashes.csv") == 0;
    const bool event = !csv && strcmp(j->name, "manifest.json") != 0;
    char *body = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&body, &len);
    if (!f)
        return finish(resp, EXPORT_E_NOMEM);
    struct export_stats st;
    export_stats_init(&st);
    int rc = export_write(&j->ex, j->name, f, &st);
    if (fclose(f) != 0 && rc == 0)
        rc = EXPORT_E_NOMEM;
    /* An event is served only while the manifest lists it, i.e. while it holds records for this
     * reader (the export also writes this node's empty ones, for its own directory). */
    if (rc == EXPORT_E_INVAL || (rc == 0 && event && st.records == 0)) {
        free(body);
        set_text(resp, 404, "no such event for you in this feed\n");
        return finish(resp, 0);
    }
    if (rc < 0) {
        free(body);
        return finish(resp, rc);
    }
    set_body(resp, 200, csv ? "text/csv; charset=utf-8" : "application/json", body, len);
    return finish(resp, 0);
}

void mispfeed_job_free(struct mispfeed_job *j)
{
    if (!j)
        return;
    community_table_free(&j->t);
    free(j->orgs.peers);
    recbatch_free(&j->b);
    free(j);
}
