/* taxii_filter.c - the TAXII query of a request: match[] filters, added_after, limit and next
 * tokens (taxii_int.h). */
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

void taxii_token_make(uint64_t seq, const uint8_t hash[8], char out[TOKEN_LEN + 1])
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
bool taxii_parse_filter(const struct taxii_server *srv, const struct taxii_request *req,
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
