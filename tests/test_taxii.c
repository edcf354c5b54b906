/* test_taxii.c - the TAXII 2.1 layer (node/formats/taxii.h) over a real LMDB store of real signed
 * records, the store's arrival times (store_put.added_us), and the Prometheus rendering
 * (node/formats/metrics.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <sodium.h>

#include "crypto/keys.h"
#include "node/formats/export.h"
#include "node/formats/metrics.h"
#include "node/formats/taxii.h"
#include "tests/support/ts_client.h"
#include "tests/support/ts_ident.h"
#include "tests/support/ts_record.h"
#include "tests/support/ts_store.h"

#define T0 1700000000000ULL          /* records are created here (ms) */
#define NOW (T0 + 3600 * 1000ULL)    /* requests happen an hour later */
#define DAY (24 * 3600 * 1000ULL)
#define SECRET "0123456789abcdef-secret"
#define TOKEN "tok-0123456789abcdef-xyz"

struct env {
    struct ts_store db;
    struct config cfg;
    struct keys_identity self, other;
    struct taxii_server srv;
    uint64_t next_added_us;
    char coll[37];
    char objects[128], manifest[128];
};

static struct env *env_new(void)
{
    struct env *e = calloc(1, sizeof *e);
    assert_non_null(e);
    ts_store_temp(&e->db, "taxii");
    ts_identity(1, &e->self);
    ts_identity(2, &e->other);
    config_init(&e->cfg);
    snprintf(e->cfg.organisation, sizeof e->cfg.organisation, "cert-self");
    e->cfg.http.enabled = true;
    e->cfg.http.max_page_size = 1000;
    static const struct ts_client clients[] = {
        {"partner", "cert-b", SECRET, CONFIG_SCHEME_BASIC, PROTO_TLP_AMBER,
         CONFIG_RELATION_PARTNER, NULL},
        {"strict", "cert-c", TOKEN, CONFIG_SCHEME_TOKEN, PROTO_TLP_AMBER_STRICT,
         CONFIG_RELATION_PARTNER, "energy"}};
    for (size_t i = 0; i < sizeof clients / sizeof clients[0]; i++)
        assert_non_null(ts_client_add(&e->cfg, &clients[i]));
    e->srv.store = e->db.store;
    e->srv.cfg = &e->cfg;
    memcpy(e->srv.self.key, e->self.sign_pk, LIMIT_KEY_BYTES);
    snprintf(e->srv.self.org, sizeof e->srv.self.org, "cert-self");
    e->srv.stix_tlp = STIXMAP_TLP2;
    e->srv.identity_created_ms = T0;
    e->srv.now_ms = NOW;
    e->next_added_us = T0 * 1000;
    taxii_collection_id(e->self.sign_pk, e->coll);
    snprintf(e->objects, sizeof e->objects, "/tlpmesh/collections/%s/objects/", e->coll);
    snprintf(e->manifest, sizeof e->manifest, "/tlpmesh/collections/%s/manifest/", e->coll);
    return e;
}

static void env_free(struct env *e)
{
    config_free(&e->cfg);
    ts_store_temp_close(&e->db);
    keys_identity_wipe(&e->self);
    keys_identity_wipe(&e->other);
    free(e);
}

/* Records arrive 1 ms apart, from T0 on. */
static uint64_t next_added(struct env *e)
{
    const uint64_t at = e->next_added_us;
    e->next_added_us += 1000;
    return at;
}

/* A domain indicator; community NULL = default audience; red goes to `other` only. */
static void put_ind(struct env *e, int tlp, const char *domain, const char *community,
                    uint64_t valid_until, uint8_t id[LIMIT_ID_BYTES])
{
    struct proto_record *r = ts_record_alloc();
    ts_indicator(r, (uint8_t)tlp, PROTO_ITYPE_DOMAIN, domain, T0,
                 valid_until ? valid_until : T0 + DAY);
    r->u.ind.confidence = 80;
    if (community)
        snprintf(r->audience.communities[r->audience.n_communities++], LIMIT_NAME_BYTES + 1, "%s",
                 community);
    if (tlp == PROTO_TLP_RED)
        memcpy(r->audience.recipients[r->audience.n_recipients++], e->other.sign_pk,
               LIMIT_KEY_BYTES);
    ts_put(e->db.store, r, &e->self, next_added(e), id);
    free(r);
}

static void put_revocation(struct env *e, const uint8_t target[LIMIT_ID_BYTES])
{
    struct proto_record *r = ts_record_alloc();
    ts_revocation(r, PROTO_TLP_CLEAR, target, "false positive", T0 + 1);
    ts_put(e->db.store, r, &e->self, next_added(e), NULL);
    free(r);
}

/* ---- requests ---- */

struct reply {
    int status;
    char content_type[64];
    char first[TAXII_DATE_LEN + 1], last[TAXII_DATE_LEN + 1];
    bool challenge, allow_get;
    json_t *body;
};

/* GET (or method) path with auth (NULL = none) and params given as key, value, ..., NULL. */
static struct reply request(struct env *e, const char *method, const char *path, const char *authz,
                            const char *accept, ...)
{
    struct taxii_param ps[16];
    size_t n = 0;
    va_list ap;
    va_start(ap, accept);
    for (const char *k = va_arg(ap, const char *); k; k = va_arg(ap, const char *)) {
        assert_true(n < 16);
        ps[n].key = k;
        ps[n++].value = va_arg(ap, const char *);
    }
    va_end(ap);
    const struct taxii_request req = {method, path, accept, authz, ps, n};
    struct taxii_response resp;
    /* In two steps, as node/shell/http.c answers: a store walk comes back as a job. */
    struct taxii_job *job = NULL;
    assert_int_equal(taxii_handle_start(&e->srv, &req, &resp, &job), TAXII_OK);
    if (job) {
        assert_null(resp.body);
        assert_int_equal(taxii_job_run(job, &resp), TAXII_OK);
        taxii_job_free(job);
    }
    struct reply r = {.status = resp.status, .challenge = resp.challenge,
                      .allow_get = resp.allow_get};
    snprintf(r.content_type, sizeof r.content_type, "%s", resp.content_type);
    snprintf(r.first, sizeof r.first, "%s", resp.date_first);
    snprintf(r.last, sizeof r.last, "%s", resp.date_last);
    assert_non_null(resp.body);
    assert_int_equal(strlen(resp.body), resp.body_len);
    r.body = json_loads(resp.body, 0, NULL);
    assert_non_null(r.body);
    taxii_response_free(&resp);
    return r;
}

#define GET(e, path, authz, ...) request(e, "GET", path, authz, NULL, __VA_ARGS__)

static char basic[200];

static const char *basic_auth(const char *scheme, const char *user, const char *pass)
{
    char raw[96], b64[128];
    snprintf(raw, sizeof raw, "%s:%s", user, pass);
    sodium_bin2base64(b64, sizeof b64, (const uint8_t *)raw, strlen(raw),
                      sodium_base64_VARIANT_ORIGINAL);
    snprintf(basic, sizeof basic, "%s %s", scheme, b64);
    return basic;
}

static size_t count_type(const json_t *body, const char *type)
{
    size_t n = 0, i;
    json_t *o;
    json_array_foreach(json_object_get(body, "objects"), i, o)
        n += strcmp(json_string_value(json_object_get(o, "type")), type) == 0;
    return n;
}

/* The names (values) of the indicators in an envelope, sorted, comma-joined. */
static void names(const json_t *body, char *out, size_t cap)
{
    const char *list[64];
    size_t n = 0, i;
    json_t *o;
    json_array_foreach(json_object_get(body, "objects"), i, o)
        if (strcmp(json_string_value(json_object_get(o, "type")), "indicator") == 0 && n < 64)
            list[n++] = json_string_value(json_object_get(o, "name"));
    for (size_t a = 0; a < n; a++)
        for (size_t b = a + 1; b < n; b++)
            if (strcmp(list[b], list[a]) < 0) {
                const char *t = list[a];
                list[a] = list[b];
                list[b] = t;
            }
    out[0] = '\0';
    for (size_t k = 0; k < n; k++)
        snprintf(out + strlen(out), cap - strlen(out), "%s%s", k ? "," : "", list[k]);
}

/* ---- store arrival times ---- */

static void test_store_arrival_times(void **state)
{
    (void)state;
    struct env *e = env_new();
    uint64_t seq = 99;
    assert_int_equal(store_seq_at_time(e->db.store, UINT64_MAX, &seq), STORE_OK);
    assert_int_equal(seq, 0);
    /* A clock that stands still or steps back still gives strictly increasing arrival times. */
    const uint64_t given[4] = {5000, 5000, 4000, 9000};
    for (int i = 0; i < 4; i++) {
        e->next_added_us = given[i];
        char d[32];
        snprintf(d, sizeof d, "t%d.example.com", i);
        put_ind(e, PROTO_TLP_CLEAR, d, NULL, 0, NULL);
    }
    const uint64_t want[4] = {5000, 5001, 5002, 9000};
    for (int i = 0; i < 4; i++) {
        assert_int_equal(store_seq_at_time(e->db.store, want[i], &seq), STORE_OK);
        assert_int_equal(seq, (uint64_t)i + 1);
        assert_int_equal(store_seq_at_time(e->db.store, want[i] - 1, &seq), STORE_OK);
        assert_int_equal(seq, (uint64_t)i);
    }
    assert_int_equal(store_seq_at_time(e->db.store, 0, &seq), STORE_OK);
    assert_int_equal(seq, 0);
    env_free(e);
}

/* ---- paging ---- */

/* Pages through the objects with next; returns how many indicators, adds each name to seen. */
static size_t poll_all(struct env *e, const char *added_after, unsigned *seen, size_t n_seen,
                       char last[TAXII_DATE_LEN + 1])
{
    size_t total = 0;
    char next[64] = "";
    for (int pages = 0; pages < 1000; pages++) {
        struct reply r = next[0] ? GET(e, e->objects, NULL, "limit", "100", "next", next, NULL)
                         : added_after ? GET(e, e->objects, NULL, "limit", "100", "added_after",
                                             added_after, NULL)
                                       : GET(e, e->objects, NULL, "limit", "100", NULL);
        assert_int_equal(r.status, 200);
        const json_t *objs = json_object_get(r.body, "objects");
        if (objs) {
            assert_true(json_array_size(objs) <= 100);
            assert_int_equal(count_type(r.body, "identity"), 1);
            assert_int_equal(count_type(r.body, "marking-definition"), 1);
            snprintf(last, TAXII_DATE_LEN + 1, "%s", r.last);
        } else {
            assert_int_equal(json_object_size(r.body), 0); /* {} */
        }
        size_t i;
        json_t *o;
        json_array_foreach(objs, i, o) {
            if (strcmp(json_string_value(json_object_get(o, "type")), "indicator") != 0)
                continue;
            unsigned k = 0;
            assert_int_equal(sscanf(json_string_value(json_object_get(o, "name")),
                                    "p%u.example.com", &k), 1);
            assert_true(k < n_seen);
            seen[k]++;
            total++;
        }
        const bool more = json_is_true(json_object_get(r.body, "more"));
        if (more)
            snprintf(next, sizeof next, "%s", json_string_value(json_object_get(r.body, "next")));
        json_decref(r.body);
        if (!more)
            return total;
    }
    fail_msg("paging did not end");
    return total;
}

static void put_many(struct env *e, unsigned from, unsigned to)
{
    enum { BATCH = 500 };
    static uint8_t bufs[BATCH][TS_SIGNED_BYTES];
    struct proto_record *r = calloc(BATCH, sizeof *r);
    struct store_put *p = calloc(BATCH, sizeof *p);
    assert_non_null(r);
    assert_non_null(p);
    for (unsigned k = from; k < to;) {
        size_t n = 0;
        for (; n < BATCH && k < to; n++, k++) {
            char value[32];
            snprintf(value, sizeof value, "p%u.example.com", k);
            ts_indicator(&r[n], PROTO_TLP_CLEAR, PROTO_ITYPE_DOMAIN, value, T0, T0 + DAY);
            p[n] = (struct store_put){.signed_rec = bufs[n], .rec = &r[n],
                                      .added_us = next_added(e)};
            p[n].len = ts_sign(&r[n], &e->self, bufs[n], p[n].id);
        }
        assert_int_equal(store_put_batch(e->db.store, p, n), STORE_OK);
    }
    free(r);
    free(p);
}

static void test_paging_exactly_once(void **state)
{
    (void)state;
    struct env *e = env_new();
    e->cfg.http.anonymous = true;
    enum { FIRST = 2500, MORE = 130 };
    unsigned *seen = calloc(FIRST + MORE, sizeof *seen);
    assert_non_null(seen);
    put_many(e, 0, FIRST);
    put_ind(e, PROTO_TLP_AMBER, "hidden.example.com", NULL, 0, NULL); /* not for anonymous */
    char last[TAXII_DATE_LEN + 1] = "";
    assert_int_equal(poll_all(e, NULL, seen, FIRST + MORE, last), FIRST);
    for (unsigned k = 0; k < FIRST; k++)
        assert_int_equal(seen[k], 1);
    /* The last CLEAR record arrived at T0 + 2499 ms. */
    assert_string_equal(last, "2023-11-14T22:13:22.499000Z");
    /* Nothing new: {} */
    char again[TAXII_DATE_LEN + 1] = "";
    assert_int_equal(poll_all(e, last, seen, FIRST + MORE, again), 0);
    /* More arrive; polling from X-TAXII-Date-Added-Last gets each new one once. */
    put_many(e, FIRST, FIRST + MORE);
    assert_int_equal(poll_all(e, last, seen, FIRST + MORE, again), MORE);
    for (unsigned k = 0; k < FIRST + MORE; k++)
        assert_int_equal(seen[k], 1);
    free(seen);
    env_free(e);
}

static void test_added_after_strict(void **state)
{
    (void)state;
    struct env *e = env_new();
    e->cfg.http.anonymous = true;
    put_ind(e, PROTO_TLP_CLEAR, "a.example.com", NULL, 0, NULL); /* added T0 */
    put_ind(e, PROTO_TLP_CLEAR, "b.example.com", NULL, 0, NULL); /* T0 + 1 ms */
    put_ind(e, PROTO_TLP_CLEAR, "c.example.com", NULL, 0, NULL); /* T0 + 2 ms */
    static const struct {
        const char *after, *want;
    } cases[] = {
        {"2023-11-14T22:13:20Z", "b.example.com,c.example.com"}, /* = a's date_added: strict */
        {"2023-11-14T22:13:20.000000Z", "b.example.com,c.example.com"},
        {"2023-11-14T22:13:19.999999999Z", "a.example.com,b.example.com,c.example.com"},
        {"2023-11-14T22:13:20.000999999Z", "b.example.com,c.example.com"},
        {"2023-11-14T22:13:20.001Z", "c.example.com"},
        {"2023-11-14T23:13:20.001+01:00", "c.example.com"},
        {"2023-11-14T22:13:20.002Z", ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct reply r = GET(e, e->objects, NULL, "added_after", cases[i].after, NULL);
        assert_int_equal(r.status, 200);
        char got[256];
        names(r.body, got, sizeof got);
        assert_string_equal(got, cases[i].want);
        json_decref(r.body);
    }
    struct reply r = GET(e, e->objects, NULL, "added_after", "2023-11-14T22:13:20Z", NULL);
    assert_string_equal(r.first, "2023-11-14T22:13:20.001000Z");
    assert_string_equal(r.last, "2023-11-14T22:13:20.002000Z");
    json_decref(r.body);
    env_free(e);
}

/* ---- filters and bad requests ---- */

static void expect_status(struct reply r, int status)
{
    assert_int_equal(r.status, status);
    assert_string_equal(r.content_type, TAXII_MEDIA_TYPE);
    if (status >= 400) {
        char code[16];
        snprintf(code, sizeof code, "%d", status);
        assert_string_equal(json_string_value(json_object_get(r.body, "http_status")), code);
        assert_non_null(json_string_value(json_object_get(r.body, "title")));
        assert_non_null(json_string_value(json_object_get(r.body, "description")));
    }
    json_decref(r.body);
}

static void expect_names(struct reply r, const char *want)
{
    assert_int_equal(r.status, 200);
    char got[512];
    names(r.body, got, sizeof got);
    assert_string_equal(got, want);
    json_decref(r.body);
}

/* Which answers walk the store in a job (node/shell/http.c runs those off the loop), and that
 * one step (taxii_handle) gives the very same body. */
static void test_two_steps(void **state)
{
    (void)state;
    struct env *e = env_new();
    e->cfg.http.anonymous = true;
    uint8_t id[LIMIT_ID_BYTES];
    put_ind(e, PROTO_TLP_CLEAR, "a.example.com", NULL, 0, id);
    char uuid[EXPORT_UUID_TEXT], sid[64], one[256];
    export_record_uuid(id, uuid);
    snprintf(sid, sizeof sid, "indicator--%s", uuid);
    snprintf(one, sizeof one, "%s%s/", e->objects, sid);
    const struct {
        const char *path, *key, *value;
        bool job;
    } cases[] = {
        {e->objects, NULL, NULL, true},      {e->manifest, "limit", "1", true},
        {e->objects, "match[id]", sid, false}, {one, NULL, NULL, false},
        {"/taxii2/", NULL, NULL, false},      {e->objects, "limit", "0", false}, /* a 400 */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct taxii_param p = {cases[i].key, cases[i].value};
        const struct taxii_request req = {"GET", cases[i].path, NULL, NULL, &p, p.key ? 1 : 0};
        struct taxii_response two, once;
        struct taxii_job *job = NULL;
        assert_int_equal(taxii_handle_start(&e->srv, &req, &two, &job), TAXII_OK);
        assert_int_equal(job != NULL, cases[i].job);
        if (job) {
            assert_string_equal(two.reader, "anonymous");
            assert_int_equal(taxii_job_run(job, &two), TAXII_OK);
            taxii_job_free(job);
        }
        assert_int_equal(taxii_handle(&e->srv, &req, &once), TAXII_OK);
        assert_int_equal(two.status, once.status);
        assert_string_equal(two.body, once.body);
        taxii_response_free(&two);
        taxii_response_free(&once);
    }
    env_free(e);
}

static void test_filters(void **state)
{
    (void)state;
    struct env *e = env_new();
    e->cfg.http.anonymous = true;
    uint8_t id[LIMIT_ID_BYTES];
    put_ind(e, PROTO_TLP_CLEAR, "a.example.com", NULL, 0, NULL);
    put_ind(e, PROTO_TLP_CLEAR, "b.example.com", NULL, 0, id);
    char uuid[EXPORT_UUID_TEXT], sid[64];
    export_record_uuid(id, uuid);
    snprintf(sid, sizeof sid, "indicator--%s", uuid);
    const char *all = "a.example.com,b.example.com";
    expect_names(GET(e, e->objects, NULL, "match[type]", "indicator", NULL), all);
    expect_names(GET(e, e->objects, NULL, "match[type]", "malware,indicator", NULL), all);
    expect_names(GET(e, e->objects, NULL, "match[type]", "malware", NULL), "");
    struct reply r = GET(e, e->objects, NULL, "match[type]", "indicator", NULL);
    assert_int_equal(count_type(r.body, "identity"), 0); /* the filter applies to every object */
    assert_int_equal(count_type(r.body, "marking-definition"), 0);
    json_decref(r.body);
    expect_names(GET(e, e->objects, NULL, "match[id]", sid, NULL), "b.example.com");
    expect_names(GET(e, e->objects, NULL, "match[id]", "indicator--00000000-0000-5000-8000-"
                                                       "000000000000", NULL), "");
    for (const char *v = "first"; v; v = strcmp(v, "first") == 0 ? "last"
                                         : strcmp(v, "last") == 0 ? "all" : NULL)
        expect_names(GET(e, e->objects, NULL, "match[version]", v, NULL), all);
    expect_names(GET(e, e->objects, NULL, "match[version]", "2023-11-14T22:13:20.000Z", NULL),
                 all); /* created = modified = T0 */
    expect_names(GET(e, e->objects, NULL, "match[version]", "2023-11-14T22:13:21Z", NULL), "");
    expect_names(GET(e, e->objects, NULL, "match[spec_version]", "2.0", NULL), "");
    expect_names(GET(e, e->objects, NULL, "match[spec_version]", "2.0,2.1", NULL), all);
    r = GET(e, e->manifest, NULL, "match[id]", sid, NULL);
    const json_t *m = json_array_get(json_object_get(r.body, "objects"), 0);
    assert_string_equal(json_string_value(json_object_get(m, "id")), sid);
    assert_string_equal(json_string_value(json_object_get(m, "date_added")),
                        "2023-11-14T22:13:20.001000Z");
    assert_string_equal(json_string_value(json_object_get(m, "version")),
                        "2023-11-14T22:13:20.000Z");
    assert_string_equal(json_string_value(json_object_get(m, "media_type")),
                        TAXII_STIX_MEDIA_TYPE);
    json_decref(r.body);
    /* limit: capped at MaxPageSize, <= 0 and junk refused */
    e->cfg.http.max_page_size = 3;
    r = GET(e, e->objects, NULL, "limit", "1000", NULL);
    assert_int_equal(json_array_size(json_object_get(r.body, "objects")), 3);
    assert_true(json_is_true(json_object_get(r.body, "more")));
    json_decref(r.body);
    expect_status(GET(e, e->objects, NULL, "limit", "0", NULL), 400);
    expect_status(GET(e, e->objects, NULL, "limit", "-5", NULL), 400);
    expect_status(GET(e, e->objects, NULL, "limit", "ten", NULL), 400);
    expect_status(GET(e, e->objects, NULL, "added_after", "yesterday", NULL), 400);
    expect_status(GET(e, e->objects, NULL, "match[version]", "newest", NULL), 400);
    expect_status(GET(e, e->objects, NULL, "match[type]", "a,,b", NULL), 400);
    expect_status(GET(e, e->objects, NULL, "limit", "1", "limit", "2", NULL), 400);
    /* next: bound to the filters; empty next = absent */
    r = GET(e, e->objects, NULL, "limit", "1", NULL);
    char next[64];
    snprintf(next, sizeof next, "%s", json_string_value(json_object_get(r.body, "next")));
    json_decref(r.body);
    expect_names(GET(e, e->objects, NULL, "limit", "2", "next", next, NULL), "b.example.com");
    expect_status(GET(e, e->objects, NULL, "next", next, "match[type]", "indicator", NULL), 400);
    expect_status(GET(e, e->manifest, NULL, "next", next, NULL), 400);
    expect_status(GET(e, e->objects, NULL, "next", "not-a-token", NULL), 400);
    expect_status(GET(e, e->objects, NULL, "next", "00000000000000zz0000000000000000", NULL),
                  400);
    e->cfg.http.max_page_size = 1000;
    expect_names(GET(e, e->objects, NULL, "next", "", NULL), all);
    env_free(e);
}

static void test_routes(void **state)
{
    (void)state;
    struct env *e = env_new();
    e->cfg.http.anonymous = true;
    uint8_t id[LIMIT_ID_BYTES];
    put_ind(e, PROTO_TLP_CLEAR, "a.example.com", NULL, 0, id);
    struct reply r = GET(e, "/taxii2/", NULL, NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.content_type, "application/taxii+json;version=2.1");
    assert_string_equal(json_string_value(json_array_get(json_object_get(r.body, "api_roots"), 0)),
                        "/tlpmesh/");
    json_decref(r.body);
    r = GET(e, "/tlpmesh", NULL, NULL); /* a missing final "/" is tolerated */
    assert_int_equal(r.status, 200);
    assert_string_equal(json_string_value(json_array_get(json_object_get(r.body, "versions"), 0)),
                        TAXII_MEDIA_TYPE);
    assert_int_equal(json_integer_value(json_object_get(r.body, "max_content_length")),
                     LIMIT_TAXII_MAX_CONTENT);
    json_decref(r.body);
    r = GET(e, "/tlpmesh/collections/", NULL, NULL);
    const json_t *c = json_array_get(json_object_get(r.body, "collections"), 0);
    assert_string_equal(json_string_value(json_object_get(c, "id")), e->coll);
    assert_string_equal(json_string_value(json_object_get(c, "title")), "indicators");
    assert_true(json_is_true(json_object_get(c, "can_read")));
    assert_true(json_is_false(json_object_get(c, "can_write")));
    json_decref(r.body);
    char path[256];
    snprintf(path, sizeof path, "/tlpmesh/collections/%s/", e->coll);
    r = GET(e, path, NULL, NULL);
    assert_string_equal(json_string_value(json_object_get(r.body, "id")), e->coll);
    json_decref(r.body);
    char uuid[EXPORT_UUID_TEXT];
    export_record_uuid(id, uuid);
    snprintf(path, sizeof path, "%sindicator--%s/", e->objects, uuid);
    r = GET(e, path, NULL, NULL);
    assert_int_equal(r.status, 200);
    assert_int_equal(count_type(r.body, "indicator"), 1);
    assert_int_equal(count_type(r.body, "marking-definition"), 1);
    assert_string_equal(r.first, "2023-11-14T22:13:20.000000Z");
    json_decref(r.body);
    snprintf(path, sizeof path, "%sindicator--%s/versions/", e->objects, uuid);
    r = GET(e, path, NULL, NULL);
    assert_string_equal(json_string_value(json_array_get(json_object_get(r.body, "versions"), 0)),
                        "2023-11-14T22:13:20.000Z");
    json_decref(r.body);
    snprintf(path, sizeof path, "%sindicator--00000000-0000-5000-8000-000000000000/",
             e->objects);
    expect_status(GET(e, path, NULL, NULL), 404);
    expect_status(GET(e, "/tlpmesh/collections/00000000-0000-5000-8000-000000000000/objects/",
                      NULL, NULL), 404);
    expect_status(GET(e, "/other/", NULL, NULL), 404);
    expect_status(GET(e, "/tlpmesh/status/x/", NULL, NULL), 404);
    expect_status(request(e, "POST", e->objects, NULL, NULL, NULL), 403);
    r = request(e, "DELETE", path, NULL, NULL, NULL);
    assert_true(r.allow_get);
    expect_status(r, 405);
    expect_status(request(e, "GET", "/taxii2/", NULL, "application/taxii+json;version=2.0",
                          NULL), 406);
    expect_status(request(e, "GET", "/taxii2/", NULL, "text/html", NULL), 406);
    static const char *const ok_accepts[] = {
        "application/taxii+json;version=2.1", "application/taxii+json; version=2.1",
        "application/taxii+json", "*/*", "text/html, application/taxii+json;version=2.1"};
    for (size_t i = 0; i < sizeof ok_accepts / sizeof ok_accepts[0]; i++)
        expect_status(request(e, "GET", "/taxii2/", NULL, ok_accepts[i], NULL), 200);
    env_free(e);
}

/* ---- authentication and what each reader sees ---- */

static void test_auth(void **state)
{
    (void)state;
    struct env *e = env_new();
    struct gate_peer p;
    const struct config_client *c = NULL;
    assert_int_equal(taxii_authenticate(&e->cfg, NULL, &p, &c), TAXII_AUTH_MISSING);
    assert_int_equal(taxii_authenticate(&e->cfg, basic_auth("Basic", "partner", SECRET), &p, &c),
                     TAXII_AUTH_CLIENT);
    assert_string_equal(c->name, "partner");
    assert_true(p.authenticated);
    assert_string_equal(p.org, "cert-b");
    assert_int_equal(p.ceiling, PROTO_TLP_AMBER);
    /* MISP sends the scheme in lower case */
    assert_int_equal(taxii_authenticate(&e->cfg, basic_auth("basic", "partner", SECRET), &p, &c),
                     TAXII_AUTH_CLIENT);
    assert_int_equal(taxii_authenticate(&e->cfg, basic_auth("BASIC", "partner", SECRET), &p, &c),
                     TAXII_AUTH_CLIENT);
    assert_int_equal(taxii_authenticate(&e->cfg, basic_auth("Basic", "partner", "wrong-secret"),
                                        &p, &c), TAXII_AUTH_BAD);
    assert_int_equal(taxii_authenticate(&e->cfg, basic_auth("Basic", "strict", SECRET), &p, &c),
                     TAXII_AUTH_BAD); /* right secret, other client's name */
    assert_int_equal(taxii_authenticate(&e->cfg, basic_auth("Basic", "strict", TOKEN), &p, &c),
                     TAXII_AUTH_BAD); /* a token client does not take Basic */
    assert_int_equal(taxii_authenticate(&e->cfg, "Basic !!!", &p, &c), TAXII_AUTH_BAD);
    assert_int_equal(taxii_authenticate(&e->cfg, "Token " TOKEN, &p, &c), TAXII_AUTH_CLIENT);
    assert_string_equal(c->name, "strict");
    assert_int_equal(p.ceiling, PROTO_TLP_AMBER_STRICT);
    assert_int_equal(p.n_communities, 1);
    assert_int_equal(taxii_authenticate(&e->cfg, "bearer " TOKEN, &p, &c), TAXII_AUTH_CLIENT);
    assert_int_equal(taxii_authenticate(&e->cfg, "Bearer " TOKEN "x", &p, &c), TAXII_AUTH_BAD);
    assert_int_equal(taxii_authenticate(&e->cfg, "Bearer " SECRET, &p, &c), TAXII_AUTH_BAD);
    assert_int_equal(taxii_authenticate(&e->cfg, "Digest x", &p, &c), TAXII_AUTH_BAD);
    struct reply r = GET(e, "/taxii2/", NULL, NULL);
    assert_true(r.challenge);
    expect_status(r, 401);
    e->cfg.http.anonymous = true;
    assert_int_equal(taxii_authenticate(&e->cfg, NULL, &p, &c), TAXII_AUTH_ANONYMOUS);
    assert_false(p.authenticated);
    assert_int_equal(p.ceiling, PROTO_TLP_CLEAR);
    assert_null(c);
    /* wrong credentials are refused even when anonymous reading is on */
    r = GET(e, "/taxii2/", basic_auth("Basic", "partner", "wrong-secret"), NULL);
    assert_true(r.challenge);
    expect_status(r, 401);
    env_free(e);
}

static void test_gate_per_reader(void **state)
{
    (void)state;
    struct env *e = env_new();
    e->cfg.http.anonymous = true;
    uint8_t revoked[LIMIT_ID_BYTES];
    put_ind(e, PROTO_TLP_CLEAR, "clear.example.com", NULL, 0, NULL);
    put_ind(e, PROTO_TLP_GREEN, "green.example.com", NULL, 0, NULL);
    put_ind(e, PROTO_TLP_AMBER, "amber.example.com", NULL, 0, NULL);
    put_ind(e, PROTO_TLP_AMBER_STRICT, "strict.example.com", NULL, 0, NULL);
    put_ind(e, PROTO_TLP_AMBER, "energy.example.com", "energy", 0, NULL);
    put_ind(e, PROTO_TLP_RED, "red.example.com", NULL, 0, NULL);
    put_ind(e, PROTO_TLP_CLEAR, "expired.example.com", NULL, T0 + 1000, NULL);
    put_ind(e, PROTO_TLP_CLEAR, "revoked.example.com", NULL, 0, revoked);
    put_revocation(e, revoked);
    expect_names(GET(e, e->objects, NULL, NULL), "clear.example.com");
    expect_names(GET(e, e->objects, basic_auth("Basic", "partner", SECRET), NULL),
                 "amber.example.com,clear.example.com,green.example.com");
    /* ceiling AMBER+STRICT and a member of "energy" */
    expect_names(GET(e, e->objects, "Token " TOKEN, NULL),
                 "amber.example.com,clear.example.com,energy.example.com,green.example.com,"
                 "strict.example.com");
    /* RED is never served, whatever the reader's ceiling says */
    e->cfg.clients[1].max_tlp = PROTO_TLP_RED;
    expect_names(GET(e, e->objects, "Token " TOKEN, NULL),
                 "amber.example.com,clear.example.com,energy.example.com,green.example.com,"
                 "strict.example.com");
    /* an object the reader may not see is 404, as if it did not exist */
    uint8_t amber[LIMIT_ID_BYTES];
    put_ind(e, PROTO_TLP_AMBER, "amber2.example.com", NULL, 0, amber);
    char uuid[EXPORT_UUID_TEXT], path[256];
    export_record_uuid(amber, uuid);
    snprintf(path, sizeof path, "%sindicator--%s/", e->objects, uuid);
    expect_status(GET(e, path, NULL, NULL), 404);
    expect_status(GET(e, path, basic_auth("Basic", "partner", SECRET), NULL), 200);
    export_record_uuid(revoked, uuid);
    snprintf(path, sizeof path, "%sindicator--%s/", e->objects, uuid);
    expect_status(GET(e, path, basic_auth("Basic", "partner", SECRET), NULL), 404);
    env_free(e);
}

/* ---- dates ---- */

static void test_dates(void **state)
{
    (void)state;
    char out[TAXII_DATE_LEN + 1];
    taxii_format_date(1700000000123456ULL, out);
    assert_string_equal(out, "2023-11-14T22:13:20.123456Z");
    uint64_t us = 0;
    assert_int_equal(taxii_parse_date("2023-11-14T22:13:20.123456789Z", &us), 0);
    assert_int_equal(us, 1700000000123456ULL);
    assert_int_equal(taxii_parse_date("2023-11-14T22:13:20.1Z", &us), 0);
    assert_int_equal(us, 1700000000100000ULL);
    assert_int_equal(taxii_parse_date("2023-11-14T22:13:20Z", &us), 0);
    assert_int_equal(us, 1700000000000000ULL);
    assert_int_equal(taxii_parse_date("2023-11-14", &us), -1);
    assert_int_equal(taxii_parse_date("2023-11-14T22:13:20.Z", &us), -1);
    assert_int_equal(taxii_parse_date("", &us), -1);
}

/* ---- metrics ---- */

static void test_metrics_render(void **state)
{
    (void)state;
    struct metrics_snapshot m;
    memset(&m, 0, sizeof m);
    m.peers[3] = 2;
    m.records_by_tlp[PROTO_TLP_AMBER_STRICT] = 7;
    m.handshake_failures = 4;
    m.gossip.gate_refusals[GATE_DENY_CEILING] = 9;
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    assert_int_equal(metrics_render(&m, f), 0);
    assert_int_equal(fclose(f), 0);
    assert_non_null(strstr(text, "# TYPE tlpmesh_peers gauge\ntlpmesh_peers{state=\"idle\"} 0\n"));
    assert_non_null(strstr(text, "tlpmesh_peers{state=\"connected\"} 2\n"));
    assert_non_null(strstr(text, "tlpmesh_records{tlp=\"amber+strict\"} 7\n"));
    assert_non_null(strstr(text, "# TYPE tlpmesh_handshake_failures_total counter\n"
                                 "tlpmesh_handshake_failures_total 4\n"));
    assert_non_null(strstr(text, "tlpmesh_gate_refusals_total{reason=\"ceiling\"} 9\n"));
    assert_null(strstr(text, "reason=\"allow\""));
    assert_true(len > 0 && text[len - 1] == '\n');
    /* Every line: a HELP or TYPE comment naming the metric that follows, or a sample of it. */
    char current[128] = "";
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        char name[128], type[32];
        if (sscanf(line, "# HELP %127s", name) == 1) {
            snprintf(current, sizeof current, "%s", name);
        } else if (sscanf(line, "# TYPE %127s %31s", name, type) == 2) {
            assert_string_equal(name, current);
            assert_true(strcmp(type, "counter") == 0 || strcmp(type, "gauge") == 0);
        } else {
            assert_int_equal(strncmp(line, current, strlen(current)), 0);
            const char c = line[strlen(current)];
            assert_true(c == ' ' || c == '{');
            assert_non_null(strrchr(line, ' '));
        }
    }
    free(text);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_store_arrival_times), cmocka_unit_test(test_paging_exactly_once),
        cmocka_unit_test(test_added_after_strict),  cmocka_unit_test(test_filters),
        cmocka_unit_test(test_routes),              cmocka_unit_test(test_auth),
        cmocka_unit_test(test_gate_per_reader),     cmocka_unit_test(test_dates),
        cmocka_unit_test(test_metrics_render),      cmocka_unit_test(test_two_steps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
