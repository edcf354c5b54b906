/* taxii.c - see taxii.h. */
#include "node/formats/taxii.h"

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

#define TOKEN_LEN 32           /* next token: 16 hex digits of seq, 16 of the filter hash */

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

static void set_body(struct taxii_response *resp, int status, json_t *o)
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

static void set_error(struct taxii_response *resp, int status, const char *title,
                      const char *description)
{
    set_body(resp, status, error_object(status, title, description));
}

/* ---- filters ---- */

enum obj_type { T_INDICATOR = 1, T_IDENTITY = 2, T_MARKING = 4 };

struct filter {
    bool has_added_after;
    uint64_t added_after_us;
    uint32_t limit;
    bool has_next;
    uint64_t next_seq;
    uint8_t hash[8];            /* of the match[] filters and the endpoint */
    unsigned types;             /* enum obj_type bits allowed; all when no match[type] */
    size_t n_ids;
    char ids[LIMIT_TAXII_MATCH_VALUES][EXPORT_UUID_TEXT]; /* indicator UUIDs wanted */
    bool any_id;                /* no match[id] */
    bool any_version;           /* no match[version] or first/last/all in it */
    size_t n_versions;
    uint64_t versions_us[LIMIT_TAXII_MATCH_VALUES];
    bool spec_ok;               /* no match[spec_version], or it lists 2.1 */
};

struct qerr {
    char msg[256];
};

static const char *param(const struct taxii_request *req, const char *key)
{
    for (size_t i = 0; i < req->n_params; i++)
        if (strcmp(req->params[i].key, key) == 0)
            return req->params[i].value;
    return NULL;
}

/* Calls each() on every comma-separated item; false (with e->msg set) on the first failure. */
static bool each_item(const char *key, const char *list, struct filter *f, struct qerr *e,
                      bool (*each)(struct filter *f, const char *item, struct qerr *e))
{
    char item[256];
    size_t n = 0;
    for (const char *p = list;; n++) {
        const size_t len = strcspn(p, ",");
        if (n == LIMIT_TAXII_MATCH_VALUES) {
            snprintf(e->msg, sizeof e->msg, "%s lists more than %d values", key,
                     LIMIT_TAXII_MATCH_VALUES);
            return false;
        }
        if (len == 0 || len >= sizeof item) {
            snprintf(e->msg, sizeof e->msg, "%s has an empty or over-long value", key);
            return false;
        }
        memcpy(item, p, len);
        item[len] = '\0';
        if (!each(f, item, e))
            return false;
        if (p[len] == '\0')
            return true;
        p += len + 1;
    }
}

static bool add_type(struct filter *f, const char *item, struct qerr *e)
{
    (void)e;
    if (strcmp(item, "indicator") == 0)
        f->types |= T_INDICATOR;
    else if (strcmp(item, "identity") == 0)
        f->types |= T_IDENTITY;
    else if (strcmp(item, "marking-definition") == 0)
        f->types |= T_MARKING;
    return true; /* another type is valid and simply matches nothing here */
}

static bool add_id(struct filter *f, const char *item, struct qerr *e)
{
    (void)e;
    static const char prefix[] = "indicator--";
    if (strncmp(item, prefix, sizeof prefix - 1) == 0 &&
        strlen(item + sizeof prefix - 1) == EXPORT_UUID_TEXT - 1) {
        /* STIX ids are lower-case; compare as given */
        memcpy(f->ids[f->n_ids++], item + sizeof prefix - 1, EXPORT_UUID_TEXT);
    }
    return true; /* an id of another type matches nothing here */
}

static bool add_version(struct filter *f, const char *item, struct qerr *e)
{
    if (strcmp(item, "first") == 0 || strcmp(item, "last") == 0 || strcmp(item, "all") == 0) {
        f->any_version = true; /* every object here has exactly one version */
        return true;
    }
    if (taxii_parse_date(item, &f->versions_us[f->n_versions]) != 0) {
        snprintf(e->msg, sizeof e->msg,
                 "match[version] value '%.64s' is not first, last, all or a timestamp", item);
        return false;
    }
    f->n_versions++;
    return true;
}

static bool add_spec(struct filter *f, const char *item, struct qerr *e)
{
    (void)e;
    if (strcmp(item, "2.1") == 0)
        f->spec_ok = true;
    return true;
}

/* The match[] filters and the endpoint, hashed: a next token is valid only with the same. */
static void filter_hash(const struct taxii_request *req, const char *endpoint, uint8_t out[8])
{
    static const char *const keys[] = {"match[id]", "match[type]", "match[version]",
                                       "match[spec_version]"};
    crypto_generichash_state h;
    crypto_generichash_init(&h, NULL, 0, 8);
    crypto_generichash_update(&h, (const uint8_t *)endpoint, strlen(endpoint) + 1);
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        const char *v = param(req, keys[i]);
        const uint8_t present = v != NULL;
        crypto_generichash_update(&h, &present, 1);
        if (v)
            crypto_generichash_update(&h, (const uint8_t *)v, strlen(v) + 1);
    }
    crypto_generichash_final(&h, out, 8);
}

static void token_make(uint64_t seq, const uint8_t hash[8], char out[TOKEN_LEN + 1])
{
    char hex[17];
    sodium_bin2hex(hex, sizeof hex, hash, 8);
    snprintf(out, TOKEN_LEN + 1, "%016" PRIx64 "%s", seq, hex);
}

static bool token_parse(const char *t, uint64_t *seq, uint8_t hash[8])
{
    if (strlen(t) != TOKEN_LEN || strspn(t, "0123456789abcdef") != TOKEN_LEN)
        return false;
    char seq_hex[17];
    memcpy(seq_hex, t, 16);
    seq_hex[16] = '\0';
    *seq = strtoull(seq_hex, NULL, 16);
    size_t n = 0;
    return sodium_hex2bin(hash, 8, t + 16, 16, NULL, &n, NULL) == 0 && n == 8;
}

static bool parse_limit(const struct taxii_server *srv, const char *v, struct filter *f,
                        struct qerr *e)
{
    const uint32_t max = srv->cfg->http.max_page_size ? srv->cfg->http.max_page_size
                                                      : LIMIT_TAXII_PAGE_DEFAULT;
    f->limit = max;
    if (v == NULL)
        return true;
    char *end = NULL;
    const long long n = strtoll(v, &end, 10);
    if (v[0] == '\0' || *end != '\0' || n <= 0) {
        snprintf(e->msg, sizeof e->msg, "limit '%.32s' is not a positive integer", v);
        return false;
    }
    if ((unsigned long long)n < max)
        f->limit = (uint32_t)n;
    return true;
}

/* Reads and checks every parameter an envelope endpoint takes. */
static bool parse_filter(const struct taxii_server *srv, const struct taxii_request *req,
                         const char *endpoint, struct filter *f, struct qerr *e)
{
    memset(f, 0, sizeof *f);
    f->types = T_INDICATOR | T_IDENTITY | T_MARKING;
    f->any_id = f->any_version = f->spec_ok = true;
    for (size_t i = 0; i < req->n_params; i++)
        for (size_t j = 0; j < i; j++)
            if (strcmp(req->params[i].key, req->params[j].key) == 0) {
                snprintf(e->msg, sizeof e->msg,
                         "parameter %.64s given twice (list values with commas)",
                         req->params[i].key);
                return false;
            }
    const char *v;
    if ((v = param(req, "added_after")) != NULL) {
        if (taxii_parse_date(v, &f->added_after_us) != 0) {
            snprintf(e->msg, sizeof e->msg, "added_after '%.64s' is not an RFC 3339 timestamp",
                     v);
            return false;
        }
        f->has_added_after = true;
    }
    if (!parse_limit(srv, param(req, "limit"), f, e))
        return false;
    filter_hash(req, endpoint, f->hash);
    if ((v = param(req, "next")) != NULL && v[0] != '\0') { /* empty next = absent (MISP) */
        uint8_t h[8];
        if (!token_parse(v, &f->next_seq, h) || memcmp(h, f->hash, sizeof h) != 0) {
            snprintf(e->msg, sizeof e->msg,
                     "next '%.40s' is not a token this server gave for these filters", v);
            return false;
        }
        f->has_next = true;
    }
    if ((v = param(req, "match[type]")) != NULL) {
        f->types = 0;
        if (!each_item("match[type]", v, f, e, add_type))
            return false;
    }
    if ((v = param(req, "match[id]")) != NULL) {
        f->any_id = false;
        if (!each_item("match[id]", v, f, e, add_id))
            return false;
    }
    if ((v = param(req, "match[version]")) != NULL) {
        f->any_version = false;
        if (!each_item("match[version]", v, f, e, add_version))
            return false;
    }
    if ((v = param(req, "match[spec_version]")) != NULL) {
        f->spec_ok = false;
        if (!each_item("match[spec_version]", v, f, e, add_spec))
            return false;
    }
    return true;
}

/* ---- records ---- */

struct cand {
    uint8_t id[LIMIT_ID_BYTES];
    uint64_t seq, added_us;
    size_t len;
    uint8_t rec[LIMIT_SIG_BYTES + LIMIT_RECORD_BYTES];
};

struct batch {
    struct cand *c; /* LIMIT_TAXII_SCAN_BATCH */
    size_t n, cap;
};

static int batch_cb(const uint8_t id[LIMIT_ID_BYTES], const uint8_t *signed_rec, size_t len,
                    uint64_t seq, uint64_t added_us, void *ctx)
{
    struct batch *b = ctx;
    assert(b->n < b->cap);
    if (len > sizeof b->c[0].rec)
        return -1; /* the store never holds one this large */
    struct cand *c = &b->c[b->n++];
    memcpy(c->id, id, LIMIT_ID_BYTES);
    c->seq = seq;
    c->added_us = added_us;
    c->len = len;
    memcpy(c->rec, signed_rec, len);
    return b->n == b->cap ? 1 : 0;
}

/* May this reader see this record now? Decodes it into *r. */
static bool visible(const struct taxii_server *srv, const struct gate_peer *rd,
                    const struct cand *c, struct proto_record *r)
{
    if (c->len <= LIMIT_SIG_BYTES ||
        proto_record_decode(c->rec + LIMIT_SIG_BYTES, c->len - LIMIT_SIG_BYTES, r, NULL, 0) !=
            PROTO_OK)
        return false;
    if (r->kind != PROTO_KIND_INDICATOR || r->tlp == PROTO_TLP_RED)
        return false; /* RED goes only to recipient node keys; a TAXII reader has none */
    const struct gate_record_state st = {.revoked = false};
    if (gate_check(&srv->self, rd, r, &st, srv->now_ms) != GATE_ALLOW)
        return false;
    /* Asked only for records the gate allows: most refusals cost no second lookup. */
    return store_is_revoked(srv->store, c->id, r->origin) == 0;
}

static bool version_matches(const struct filter *f, const struct proto_record *r)
{
    if (f->any_version)
        return true;
    for (size_t i = 0; i < f->n_versions; i++)
        if (f->versions_us[i] / 1000 == r->created_ms) /* "modified" has milliseconds */
            return true;
    return false;
}

static bool filter_matches(const struct filter *f, const struct cand *c,
                           const struct proto_record *r)
{
    if (!(f->types & T_INDICATOR) || !f->spec_ok || !version_matches(f, r))
        return false;
    if (f->any_id)
        return true;
    char uuid[EXPORT_UUID_TEXT];
    export_record_uuid(c->id, uuid);
    for (size_t i = 0; i < f->n_ids; i++)
        if (strcmp(f->ids[i], uuid) == 0)
            return true;
    return false;
}

/* ---- envelopes ---- */

enum page_kind { PAGE_OBJECTS, PAGE_MANIFEST };

struct page {
    const struct taxii_server *srv;
    const struct gate_peer *rd;
    const struct filter *f;
    enum page_kind kind;
    json_t *objects;     /* indicators or manifest entries */
    size_t n_items;      /* entries of objects that are indicators */
    unsigned tlp_used;   /* markings referenced */
    size_t n_extra;      /* identity + markings to add */
    bool more;
    uint64_t cursor;     /* every seq <= cursor is done */
    uint64_t first_us, last_us;
    int err;
};

static json_t *manifest_entry(const struct cand *c, const struct proto_record *r)
{
    char uuid[EXPORT_UUID_TEXT], id[16 + EXPORT_UUID_TEXT], added[TAXII_DATE_LEN + 1];
    char version[TIMEFMT_RFC3339_LEN + 1];
    export_record_uuid(c->id, uuid);
    snprintf(id, sizeof id, "indicator--%s", uuid);
    taxii_format_date(c->added_us, added);
    timefmt_format(r->created_ms, version);
    return json_pack("{s:s, s:s, s:s, s:s}", "id", id, "date_added", added, "version", version,
                     "media_type", TAXII_STIX_MEDIA_TYPE);
}

/* Objects the page would need besides r's indicator: identity and r's marking. */
static size_t extra_for(const struct page *pg, const struct proto_record *r)
{
    if (pg->kind != PAGE_OBJECTS)
        return 0;
    size_t n = 0;
    if ((pg->f->types & T_IDENTITY) && pg->n_items == 0)
        n++;
    if ((pg->f->types & T_MARKING) && !(pg->tlp_used & (1u << r->tlp)))
        n++;
    return n;
}

/* Adds r. 1 when added, 0 when the page is full (r not added), negative on error. */
static int page_add(struct page *pg, const struct cand *c, const struct proto_record *r)
{
    assert(pg->objects != NULL && r->kind == PROTO_KIND_INDICATOR && proto_tlp_valid(r->tlp));
    const size_t extra = extra_for(pg, r);
    if (pg->n_items > 0 && pg->n_items + pg->n_extra + 1 + extra > pg->f->limit)
        return 0;
    json_t *o;
    if (pg->kind == PAGE_MANIFEST) {
        o = manifest_entry(c, r);
    } else {
        bool unmapped = false;
        o = export_stix_indicator(&pg->srv->self, pg->srv->stix_tlp, c->id, r, &unmapped);
        if (unmapped)
            return 1; /* no STIX pattern for this type: never shown, so skipped for good */
    }
    if (!o || json_array_append_new(pg->objects, o) != 0)
        return TAXII_E_NOMEM;
    pg->n_extra += extra;
    pg->tlp_used |= 1u << r->tlp;
    if (pg->n_items++ == 0)
        pg->first_us = c->added_us;
    pg->last_us = c->added_us;
    return 1;
}

/* Walks the store from pg->cursor until the page is full, the store ends or the scan limit. */
static int page_fill(struct page *pg)
{
    assert(pg->srv != NULL && pg->f != NULL && pg->f->limit >= 1);
    struct batch b = {calloc(LIMIT_TAXII_SCAN_BATCH, sizeof(struct cand)), 0, LIMIT_TAXII_SCAN_BATCH};
    struct proto_record *r = malloc(sizeof *r);
    int rc = TAXII_OK;
    if (!b.c || !r) {
        rc = TAXII_E_NOMEM;
        goto out;
    }
    uint64_t scanned = 0;
    for (bool done = false; !done;) {
        b.n = 0;
        const int src = store_iter_added(pg->srv->store, pg->cursor, batch_cb, &b);
        if (src < 0) {
            rc = src;
            goto out;
        }
        if (b.n == 0)
            break; /* end of the store */
        for (size_t i = 0; i < b.n && !done; i++) {
            const struct cand *c = &b.c[i];
            if (visible(pg->srv, pg->rd, c, r) && filter_matches(pg->f, c, r)) {
                const int added = page_add(pg, c, r);
                if (added < 0) {
                    rc = added;
                    goto out;
                }
                if (added == 0) {
                    pg->more = true; /* c is the first object of the next page */
                    done = true;
                    break;
                }
            }
            pg->cursor = c->seq;
            if (++scanned >= LIMIT_TAXII_SCAN_RECORDS) {
                pg->more = true; /* the next page goes on from here */
                done = true;
            }
        }
    }
out:
    free(b.c);
    free(r);
    return rc;
}

static int add_extras(const struct page *pg)
{
    if (pg->kind != PAGE_OBJECTS || pg->n_items == 0)
        return TAXII_OK;
    size_t at = 0;
    if (pg->f->types & T_IDENTITY) {
        json_t *o = export_stix_identity(&pg->srv->self, pg->srv->identity_created_ms);
        if (!o || json_array_insert_new(pg->objects, at++, o) != 0)
            return TAXII_E_NOMEM;
    }
    for (int t = PROTO_TLP_CLEAR; t <= PROTO_TLP_RED && (pg->f->types & T_MARKING); t++) {
        if (!(pg->tlp_used & (1u << t)))
            continue;
        json_t *o = stixmap_marking_object(t, pg->srv->stix_tlp);
        if (!o || json_array_insert_new(pg->objects, at++, o) != 0)
            return TAXII_E_NOMEM;
    }
    return TAXII_OK;
}

static void set_date_headers(struct taxii_response *resp, uint64_t first, uint64_t last)
{
    taxii_format_date(first, resp->date_first);
    taxii_format_date(last, resp->date_last);
}

static int envelope(const struct taxii_server *srv, const struct gate_peer *rd,
                    const struct taxii_request *req, enum page_kind kind,
                    struct taxii_response *resp)
{
    struct filter *f = malloc(sizeof *f);
    struct qerr e = {""};
    if (!f)
        return TAXII_E_NOMEM;
    int rc = TAXII_OK;
    if (!parse_filter(srv, req, kind == PAGE_OBJECTS ? "objects" : "manifest", f, &e)) {
        set_error(resp, 400, "Bad filter", e.msg);
        goto out;
    }
    struct page pg = {.srv = srv, .rd = rd, .f = f, .kind = kind, .objects = json_array()};
    if (!pg.objects) {
        rc = TAXII_E_NOMEM;
        goto out;
    }
    uint64_t from = f->has_next ? f->next_seq : 0;
    if (f->has_added_after) {
        uint64_t s = 0;
        rc = store_seq_at_time(srv->store, f->added_after_us, &s);
        if (rc < 0) {
            json_decref(pg.objects);
            goto out;
        }
        from = s > from ? s : from;
    }
    pg.cursor = from;
    if ((rc = page_fill(&pg)) < 0 || (rc = add_extras(&pg)) < 0) {
        json_decref(pg.objects);
        goto out;
    }
    json_t *o = json_object();
    if (!o) {
        json_decref(pg.objects);
        rc = TAXII_E_NOMEM;
        goto out;
    }
    if (pg.n_items > 0 || pg.more) {
        json_object_set_new(o, "more", json_boolean(pg.more));
        if (pg.more) {
            char t[TOKEN_LEN + 1];
            token_make(pg.cursor, f->hash, t);
            json_object_set_new(o, "next", json_string(t));
        }
    }
    if (pg.n_items > 0) {
        json_object_set_new(o, "objects", pg.objects);
        set_date_headers(resp, pg.first_us, pg.last_us);
    } else {
        json_decref(pg.objects); /* an empty envelope is {} (as medallion answers) */
    }
    set_body(resp, 200, o);
out:
    free(f);
    return rc;
}

/* ---- one object ---- */

struct id_find {
    char uuid[EXPORT_UUID_TEXT];
    size_t n;
    uint64_t seqs[LIMIT_TAXII_ID_CANDIDATES];
};

static int id_find_cb(const uint8_t id[LIMIT_ID_BYTES], const uint8_t *signed_rec, size_t len,
                      uint64_t seq, void *ctx)
{
    (void)signed_rec;
    (void)len;
    struct id_find *fi = ctx;
    char uuid[EXPORT_UUID_TEXT];
    export_record_uuid(id, uuid);
    if (strcmp(uuid, fi->uuid) == 0)
        fi->seqs[fi->n++] = seq;
    return fi->n == LIMIT_TAXII_ID_CANDIDATES ? 1 : 0;
}

/* The visible record whose STIX id is indicator--uuid, into *c and *r. 1 found, 0 not, <0. */
static int find_object(const struct taxii_server *srv, const struct gate_peer *rd,
                       const char *uuid, struct cand *c, struct proto_record *r)
{
    /* The UUID keeps id bytes 0-5 whole (byte 6 carries the version nibble): seek on those. */
    uint8_t prefix[6];
    char hex[13];
    snprintf(hex, sizeof hex, "%.8s%.4s", uuid, uuid + 9);
    size_t n = 0;
    if (sodium_hex2bin(prefix, sizeof prefix, hex, 12, NULL, &n, NULL) != 0 || n != 6)
        return 0;
    struct id_find fi = {.n = 0};
    snprintf(fi.uuid, sizeof fi.uuid, "%s", uuid);
    int rc = store_find_prefix(srv->store, prefix, sizeof prefix, id_find_cb, &fi);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < fi.n; i++) {
        struct batch b = {c, 0, 1};
        rc = store_iter_added(srv->store, fi.seqs[i] - 1, batch_cb, &b);
        if (rc < 0)
            return rc;
        if (b.n == 1 && c->seq == fi.seqs[i] && visible(srv, rd, c, r))
            return 1;
    }
    return 0;
}

static int one_object(const struct taxii_server *srv, const struct gate_peer *rd,
                      const struct taxii_request *req, const char *oid, bool versions,
                      struct taxii_response *resp)
{
    static const char prefix[] = "indicator--";
    struct cand *c = malloc(sizeof *c);
    struct proto_record *r = malloc(sizeof *r);
    struct filter *f = malloc(sizeof *f);
    struct qerr e = {""};
    int rc = TAXII_OK, found = 0;
    if (!c || !r || !f) {
        rc = TAXII_E_NOMEM;
        goto out;
    }
    if (!parse_filter(srv, req, versions ? "versions" : "object", f, &e)) {
        set_error(resp, 400, "Bad filter", e.msg);
        goto out;
    }
    if (strncmp(oid, prefix, sizeof prefix - 1) == 0 &&
        strlen(oid + sizeof prefix - 1) == EXPORT_UUID_TEXT - 1)
        found = find_object(srv, rd, oid + sizeof prefix - 1, c, r);
    if (found < 0) {
        rc = found;
        goto out;
    }
    /* match[id] and match[type] do not apply to one object; version and spec_version do. */
    if (!found || !f->spec_ok || !version_matches(f, r)) {
        set_error(resp, 404, "Object not found", "no object with this id is available to you");
        goto out;
    }
    json_t *o;
    if (versions) {
        char version[TIMEFMT_RFC3339_LEN + 1];
        timefmt_format(r->created_ms, version);
        o = json_pack("{s:b, s:[s]}", "more", 0, "versions", version);
    } else {
        struct page pg = {.srv = srv, .rd = rd, .f = f, .kind = PAGE_OBJECTS,
                          .objects = json_array()};
        f->limit = UINT32_MAX; /* one indicator and what it references */
        f->types = T_INDICATOR | T_IDENTITY | T_MARKING;
        if (!pg.objects || page_add(&pg, c, r) < 0 || add_extras(&pg) < 0) {
            json_decref(pg.objects);
            rc = TAXII_E_NOMEM;
            goto out;
        }
        if (pg.n_items == 0) { /* a type without a STIX pattern is never served */
            json_decref(pg.objects);
            set_error(resp, 404, "Object not found", "no object with this id is available to you");
            goto out;
        }
        o = json_pack("{s:b, s:o}", "more", 0, "objects", pg.objects);
    }
    if (!o) {
        rc = TAXII_E_NOMEM;
        goto out;
    }
    set_date_headers(resp, c->added_us, c->added_us);
    set_body(resp, 200, o);
out:
    free(c);
    free(r);
    free(f);
    return rc;
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

/* Splits a path into at most LIMIT_TAXII_PATH_SEGMENTS segments (empty ones dropped). -1 when there are more. */
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
                 const struct taxii_request *req, struct taxii_response *resp)
{
    char buf[512], *seg[LIMIT_TAXII_PATH_SEGMENTS];
    const int n = strlen(req->path) < sizeof buf ? split(req->path, buf, sizeof buf, seg) : -1;
    const bool get = strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0;
    if (n == 1 && strcmp(seg[0], "taxii2") == 0 && get) {
        set_body(resp, 200, discovery_json(srv));
        return TAXII_OK;
    }
    if (n < 1 || strcmp(seg[0], TAXII_API_ROOT) != 0 ||
        (n >= 2 && strcmp(seg[1], "collections") != 0)) {
        set_error(resp, 404, "Not found", "no such TAXII resource on this server");
        return TAXII_OK;
    }
    char cid[37];
    taxii_collection_id(srv->self.key, cid);
    if (n >= 3 && strcmp(seg[2], cid) != 0) {
        set_error(resp, 404, "Collection not found", "no collection with this id");
        return TAXII_OK;
    }
    const bool objects = n >= 4 && strcmp(seg[3], "objects") == 0;
    if (objects && n == 4 && strcmp(req->method, "POST") == 0) {
        set_error(resp, 403, "Collection is read-only",
                  "this collection does not accept objects (can_write is false)");
        return TAXII_OK;
    }
    if (!get) {
        resp->allow_get = true;
        set_error(resp, 405, "Method not allowed", "this resource answers GET only");
        return TAXII_OK;
    }
    if (n == 1)
        set_body(resp, 200, api_root_json());
    else if (n == 2)
        set_body(resp, 200, json_pack("{s:[o]}", "collections", collection_json(srv)));
    else if (n == 3)
        set_body(resp, 200, collection_json(srv));
    else if (objects && n == 4)
        return envelope(srv, rd, req, PAGE_OBJECTS, resp);
    else if (n == 4 && strcmp(seg[3], "manifest") == 0)
        return envelope(srv, rd, req, PAGE_MANIFEST, resp);
    else if (objects && n == 5)
        return one_object(srv, rd, req, seg[4], false, resp);
    else if (objects && n == 6 && strcmp(seg[5], "versions") == 0)
        return one_object(srv, rd, req, seg[4], true, resp);
    else
        set_error(resp, 404, "Not found", "no such TAXII resource on this server");
    return TAXII_OK;
}

int taxii_handle(const struct taxii_server *srv, const struct taxii_request *req,
                 struct taxii_response *resp)
{
    assert(srv != NULL && srv->store != NULL && srv->cfg != NULL && req != NULL &&
           req->method != NULL && req->path != NULL && resp != NULL);
    memset(resp, 0, sizeof *resp);
    snprintf(resp->reader, sizeof resp->reader, "-");
    struct gate_peer rd;
    const struct config_client *client = NULL;
    const enum taxii_auth a = taxii_authenticate(srv->cfg, req->authorization, &rd, &client);
    int rc = TAXII_OK;
    if (a == TAXII_AUTH_MISSING || a == TAXII_AUTH_BAD) {
        resp->challenge = true;
        set_error(resp, 401, "Unauthorized",
                  a == TAXII_AUTH_MISSING ? "this server needs credentials"
                                          : "these credentials match no client");
    } else if (!accept_ok(req->accept)) {
        snprintf(resp->reader, sizeof resp->reader, "%s", client ? client->name : "anonymous");
        set_error(resp, 406, "Not acceptable",
                  "this server speaks " TAXII_MEDIA_TYPE " (TAXII 2.1) only");
    } else {
        snprintf(resp->reader, sizeof resp->reader, "%s", client ? client->name : "anonymous");
        rc = route(srv, &rd, req, resp);
    }
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
