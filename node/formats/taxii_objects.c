/* taxii_objects.c - the records a TAXII reader may see: envelopes and manifests of pages, and
 * one object with its versions (taxii_int.h). */
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
#include "node/formats/recbatch.h"
#include "node/formats/timefmt.h"
#include "proto/record.h"

/* ---- records ---- */

bool taxii_reader_may_read(const struct gate_self *self, const struct gate_peer *rd,
                           const struct proto_record *r, uint64_t now_ms)
{
    if (r->kind != PROTO_KIND_INDICATOR || r->tlp == PROTO_TLP_RED)
        return false; /* RED goes only to recipient node keys; a TAXII reader has none */
    const struct gate_record_state st = {.revoked = false};
    return gate_check(self, rd, r, &st, now_ms) == GATE_ALLOW;
}

/* May this reader see this record now? Decodes it into *r. */
static bool visible(const struct taxii_server *srv, const struct gate_peer *rd,
                    const struct recbatch_item *c, struct proto_record *r)
{
    if (c->len <= LIMIT_SIG_BYTES ||
        proto_record_decode(c->rec + LIMIT_SIG_BYTES, c->len - LIMIT_SIG_BYTES, r, NULL, 0) !=
            PROTO_OK)
        return false;
    if (!taxii_reader_may_read(&srv->self, rd, r, srv->now_ms))
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

static bool filter_matches(const struct filter *f, const struct recbatch_item *c,
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

/* ---- ids through the index ---- */

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

/* The seqs of the records whose STIX UUID is uuid, into fi: one seek on the id index. */
static int id_seqs(struct store *s, const char *uuid, struct id_find *fi)
{
    /* The UUID keeps id bytes 0-5 whole (byte 6 carries the version nibble): seek on those. */
    uint8_t prefix[6];
    char hex[13];
    snprintf(hex, sizeof hex, "%.8s%.4s", uuid, uuid + 9);
    size_t n = 0;
    fi->n = 0;
    snprintf(fi->uuid, sizeof fi->uuid, "%s", uuid);
    if (sodium_hex2bin(prefix, sizeof prefix, hex, 12, NULL, &n, NULL) != 0 || n != 6)
        return STORE_OK;
    const int rc = store_find_prefix(s, prefix, sizeof prefix, id_find_cb, fi);
    return rc < 0 ? rc : STORE_OK;
}

static int seq_cmp(const void *a, const void *b)
{
    const uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* ---- envelopes ---- */

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

static json_t *manifest_entry(const struct recbatch_item *c, const struct proto_record *r)
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
static int page_add(struct page *pg, const struct recbatch_item *c, const struct proto_record *r)
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

/* Offers candidate c to the page. 1 when the walk goes on, 0 when the page is full (c is the
 * first object of the next page), negative on error. */
static int page_offer(struct page *pg, const struct recbatch_item *c, struct proto_record *r)
{
    if (visible(pg->srv, pg->rd, c, r) && filter_matches(pg->f, c, r)) {
        const int added = page_add(pg, c, r);
        if (added <= 0) {
            pg->more = added == 0;
            return added;
        }
    }
    pg->cursor = c->seq;
    return 1;
}

/* Walks the store from pg->cursor until the page is full, the store ends or the scan limit. */
static int page_fill(struct page *pg)
{
    assert(pg->srv != NULL && pg->f != NULL && pg->f->limit >= 1);
    struct recbatch b;
    struct proto_record *r = malloc(sizeof *r);
    const bool have_batch = recbatch_init(&b, LIMIT_TAXII_SCAN_BATCH) == 0;
    int rc = have_batch && r ? TAXII_OK : TAXII_E_NOMEM;
    for (uint64_t scanned = 0; rc == TAXII_OK;) {
        rc = recbatch_next(&b, pg->srv->store, pg->cursor);
        if (rc < 0 || b.n == 0)
            break; /* an error, or the end of the store */
        for (size_t i = 0; i < b.n && rc == TAXII_OK; i++) {
            const int go = page_offer(pg, &b.items[i], r);
            if (go <= 0)
                rc = go < 0 ? go : 1;
            else if (++scanned >= LIMIT_TAXII_SCAN_RECORDS) {
                pg->more = true; /* the next page goes on from here */
                rc = 1;
            }
        }
    }
    if (have_batch)
        recbatch_free(&b);
    free(r);
    return rc < 0 ? rc : TAXII_OK;
}

/* A page of the match[id] ids after pg->cursor, in seq order: at most LIMIT_TAXII_MATCH_VALUES
 * seeks on the id index instead of a walk of the store. */
static int page_fill_ids(struct page *pg)
{
    const struct filter *f = pg->f;
    uint64_t seqs[LIMIT_TAXII_MATCH_VALUES * LIMIT_TAXII_ID_CANDIDATES];
    size_t n = 0;
    struct id_find fi;
    assert(f->n_ids <= LIMIT_TAXII_MATCH_VALUES);
    for (size_t i = 0; i < f->n_ids; i++) {
        const int rc = id_seqs(pg->srv->store, f->ids[i], &fi);
        if (rc < 0)
            return rc;
        for (size_t k = 0; k < fi.n; k++)
            if (fi.seqs[k] > pg->cursor)
                seqs[n++] = fi.seqs[k];
    }
    qsort(seqs, n, sizeof seqs[0], seq_cmp);
    struct recbatch_item *c = malloc(sizeof *c);
    struct proto_record *r = malloc(sizeof *r);
    int rc = c && r ? TAXII_OK : TAXII_E_NOMEM;
    for (size_t i = 0; i < n && rc == TAXII_OK; i++) {
        if (i > 0 && seqs[i] == seqs[i - 1])
            continue; /* an id listed twice */
        const int at = recbatch_at(pg->srv->store, seqs[i], c);
        const int go = at == 1 ? page_offer(pg, c, r) : at;
        if (go <= 0)
            rc = go < 0 ? go : 1;
    }
    free(c);
    free(r);
    return rc < 0 ? rc : TAXII_OK;
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

int taxii_page_build(const struct taxii_job *j, struct taxii_response *resp)
{
    const struct filter *f = &j->f;
    struct page pg = {
        .srv = &j->srv, .rd = &j->rd, .f = f, .kind = j->kind, .objects = json_array()};
    if (!pg.objects)
        return TAXII_E_NOMEM;
    uint64_t from = f->has_next ? f->next_seq : 0;
    int rc = TAXII_OK;
    if (f->has_added_after) {
        uint64_t s = 0;
        rc = store_seq_at_time(j->srv.store, f->added_after_us, &s);
        from = s > from ? s : from;
    }
    pg.cursor = from;
    json_t *o = NULL;
    if (rc < 0 || (rc = f->any_id ? page_fill(&pg) : page_fill_ids(&pg)) < 0 ||
        (rc = add_extras(&pg)) < 0 || !(o = json_object())) {
        json_decref(pg.objects);
        return rc < 0 ? rc : TAXII_E_NOMEM;
    }
    if (pg.n_items > 0 || pg.more) {
        json_object_set_new(o, "more", json_boolean(pg.more));
        if (pg.more) {
            char t[TOKEN_LEN + 1];
            taxii_token_make(pg.cursor, f->hash, t);
            json_object_set_new(o, "next", json_string(t));
        }
    }
    if (pg.n_items > 0) {
        json_object_set_new(o, "objects", pg.objects);
        set_date_headers(resp, pg.first_us, pg.last_us);
    } else {
        json_decref(pg.objects); /* an empty envelope is {} (as medallion answers) */
    }
    taxii_set_body(resp, 200, o);
    return TAXII_OK;
}

int taxii_envelope(const struct taxii_server *srv, const struct gate_peer *rd,
                   const struct taxii_request *req, enum page_kind kind,
                   struct taxii_response *resp, struct taxii_job **job)
{
    struct taxii_job *j = malloc(sizeof *j);
    struct qerr e = {""};
    if (!j)
        return TAXII_E_NOMEM;
    *j = (struct taxii_job){.srv = *srv, .rd = *rd, .kind = kind};
    j->srv.cfg = NULL;
    int rc = TAXII_OK;
    if (!taxii_parse_filter(srv, req, kind == PAGE_OBJECTS ? "objects" : "manifest", &j->f, &e))
        taxii_set_error(resp, 400, "Bad filter", e.msg);
    else if (job && j->f.any_id) {
        *job = j; /* a walk of the store: the caller runs it where it may take its time */
        return TAXII_OK;
    } else
        rc = taxii_page_build(j, resp);
    free(j);
    return rc;
}

/* ---- one object ---- */

/* The visible record whose STIX id is indicator--uuid, into *c and *r. 1 found, 0 not, <0. */
static int find_object(const struct taxii_server *srv, const struct gate_peer *rd, const char *uuid,
                       struct recbatch_item *c, struct proto_record *r)
{
    struct id_find fi;
    int rc = id_seqs(srv->store, uuid, &fi);
    for (size_t i = 0; rc == STORE_OK && i < fi.n; i++) {
        rc = recbatch_at(srv->store, fi.seqs[i], c);
        if (rc == 1 && !visible(srv, rd, c, r))
            rc = STORE_OK;
    }
    return rc;
}

int taxii_one_object(const struct taxii_server *srv, const struct gate_peer *rd,
                     const struct taxii_request *req, const char *oid, bool versions,
                     struct taxii_response *resp)
{
    static const char prefix[] = "indicator--";
    struct recbatch_item *c = malloc(sizeof *c);
    struct proto_record *r = malloc(sizeof *r);
    struct filter *f = malloc(sizeof *f);
    struct qerr e = {""};
    int rc = TAXII_OK, found = 0;
    if (!c || !r || !f) {
        rc = TAXII_E_NOMEM;
        goto out;
    }
    if (!taxii_parse_filter(srv, req, versions ? "versions" : "object", f, &e)) {
        taxii_set_error(resp, 400, "Bad filter", e.msg);
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
        taxii_set_error(resp, 404, "Object not found",
                        "no object with this id is available to you");
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
            taxii_set_error(resp, 404, "Object not found",
                            "no object with this id is available to you");
            goto out;
        }
        o = json_pack("{s:b, s:o}", "more", 0, "objects", pg.objects);
    }
    if (!o) {
        rc = TAXII_E_NOMEM;
        goto out;
    }
    set_date_headers(resp, c->added_us, c->added_us);
    taxii_set_body(resp, 200, o);
out:
    free(c);
    free(r);
    free(f);
    return rc;
}
