/* export_json.c - STIX 2.1 bundles, MISP feeds (events, hashes.csv with its MD5, manifest) and
 * the provenance objects of both (export.h, export_int.h). */
#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "node/formats/export_int.h"
#include "node/formats/mispmap.h"
#include "node/formats/timefmt.h"

/* ---- MD5 (RFC 1321), only for MISP's hashes.csv: libsodium has none ---- */

struct md5 {
    uint32_t s[4];
};

static uint32_t rol32(uint32_t x, unsigned n)
{
    return (x << n) | (x >> (32 - n));
}

static void md5_block(struct md5 *m, const uint8_t blk[64])
{
    static const uint8_t r[64] = {7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22,
                                  5, 9,  14, 20, 5, 9,  14, 20, 5, 9,  14, 20, 5, 9,  14, 20,
                                  4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23,
                                  6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21};
    static uint32_t k[64];
    static bool k_ready;
    if (!k_ready) { /* k[i] = floor(2^32 * |sin(i + 1)|), tabulated once from the RFC table */
        static const uint32_t t[64] = {
            0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613,
            0xfd469501, 0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193,
            0xa679438e, 0x49b40821, 0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d,
            0x02441453, 0xd8a1e681, 0xe7d3fbc8, 0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed,
            0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a, 0xfffa3942, 0x8771f681, 0x6d9d6122,
            0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70, 0x289b7ec6, 0xeaa127fa,
            0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665, 0xf4292244,
            0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
            0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb,
            0xeb86d391};
        memcpy(k, t, sizeof k);
        k_ready = true;
    }
    uint32_t w[16];
    for (unsigned i = 0; i < 16; i++)
        w[i] = (uint32_t)blk[4 * i] | (uint32_t)blk[4 * i + 1] << 8 |
               (uint32_t)blk[4 * i + 2] << 16 | (uint32_t)blk[4 * i + 3] << 24;
    uint32_t a = m->s[0], b = m->s[1], c = m->s[2], d = m->s[3];
    for (unsigned i = 0; i < 64; i++) {
        uint32_t f;
        unsigned g;
        if (i < 16) {
            f = (b & c) | (~b & d);
            g = i;
        } else if (i < 32) {
            f = (d & b) | (~d & c);
            g = (5 * i + 1) % 16;
        } else if (i < 48) {
            f = b ^ c ^ d;
            g = (3 * i + 5) % 16;
        } else {
            f = c ^ (b | ~d);
            g = (7 * i) % 16;
        }
        const uint32_t tmp = d;
        d = c;
        c = b;
        b = b + rol32(a + f + k[i] + w[g], r[i]);
        a = tmp;
    }
    m->s[0] += a;
    m->s[1] += b;
    m->s[2] += c;
    m->s[3] += d;
}

/* Lower-case hex MD5 of s (values are at most LIMIT_VALUE_BYTES). */
static void md5_hex(const char *s, char out[33])
{
    const size_t len = strlen(s);
    assert(len <= LIMIT_VALUE_BYTES);
    struct md5 m = {{0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476}};
    size_t off = 0;
    for (; len - off >= 64; off += 64)
        md5_block(&m, (const uint8_t *)s + off);
    uint8_t tail[128] = {0};
    const size_t rest = len - off;
    memcpy(tail, s + off, rest);
    tail[rest] = 0x80;
    const size_t tlen = rest < 56 ? 64 : 128;
    const uint64_t bits = (uint64_t)len * 8;
    for (unsigned i = 0; i < 8; i++)
        tail[tlen - 8 + i] = (uint8_t)(bits >> (8 * i));
    for (size_t o = 0; o < tlen; o += 64)
        md5_block(&m, tail + o);
    uint8_t dig[16];
    for (unsigned i = 0; i < 16; i++)
        dig[i] = (uint8_t)(m.s[i / 4] >> (8 * (i % 4)));
    sodium_bin2hex(out, 33, dig, sizeof dig);
}

/* The MISP event of N's own organisation's records at one TLP level: stable per (N's key,
 * level), so a re-export updates the same event in MISP. */
void export_misp_event_uuid(const struct export_job *job, int tlp, char out[UUID_TEXT])
{
    assert(proto_tlp_valid(tlp));
    uint8_t seed[LIMIT_KEY_BYTES + 1];
    memcpy(seed, job->self.key, LIMIT_KEY_BYTES);
    seed[LIMIT_KEY_BYTES] = (uint8_t)tlp;
    export_uuid_derive("tlpmesh-misp-event", seed, sizeof seed, out);
}

/* Is who N's own organisation (or N itself, when it has none)? */
bool export_is_own(const struct export_job *job, const struct ident *who)
{
    struct ident self;
    export_ident_of(job, job->self.key, &self);
    return strcmp(self.uuid, who->uuid) == 0;
}

/* The MISP event of who's records at one level: N's own as before (misp_event_uuid), another
 * origin's BLAKE2b-256("tlpmesh-misp-event-origin" || its identity uuid || level). */
void export_origin_event_uuid(const struct export_job *job, const struct ident *who, int tlp,
                              char out[UUID_TEXT])
{
    if (export_is_own(job, who)) {
        export_misp_event_uuid(job, tlp, out);
        return;
    }
    uint8_t seed[UUID_TEXT];
    memcpy(seed, who->uuid, UUID_TEXT - 1);
    seed[UUID_TEXT - 1] = (uint8_t)tlp;
    export_uuid_derive("tlpmesh-misp-event-origin", seed, sizeof seed, out);
}

/* The event that holds record r. */
void export_record_event_uuid(const struct export_job *job, const struct proto_record *r,
                              char out[UUID_TEXT])
{
    struct ident who;
    export_ident_of(job, r->origin, &who);
    export_origin_event_uuid(job, &who, r->tlp, out);
}

/* ---- provenance (export.h): who made the record and whom its origin meant it for ---- */

static json_t *json_key(const uint8_t key[LIMIT_KEY_BYTES])
{
    char b64[LIMIT_PUBKEY_B64_LEN + 1];
    sodium_bin2base64(b64, sizeof b64, key, LIMIT_KEY_BYTES, sodium_base64_VARIANT_ORIGINAL);
    return json_string(b64);
}

/* {"communities": [...], "recipients": [...]}: the signed audience. */
json_t *export_audience_json(const struct proto_audience *a)
{
    json_t *comm = json_array(), *rcpt = json_array();
    for (size_t i = 0; i < a->n_communities; i++)
        json_array_append_new(comm, json_string(a->communities[i]));
    for (size_t i = 0; i < a->n_recipients; i++)
        json_array_append_new(rcpt, json_key(a->recipients[i]));
    return json_pack("{s:o, s:o}", "communities", comm, "recipients", rcpt);
}

/* The "x_tlpmesh" object of a STIX indicator or MISP attribute. */
static json_t *provenance_json(const struct export_job *j, const uint8_t id[LIMIT_ID_BYTES],
                               const struct proto_record *r)
{
    char hex[2 * LIMIT_ID_BYTES + 1];
    sodium_bin2hex(hex, sizeof hex, id, LIMIT_ID_BYTES);
    json_t *o = json_pack("{s:s, s:o, s:s}", "record_id", hex, "origin_key", json_key(r->origin),
                          "origin_organisation", export_origin_org(j, r->origin));
    json_t *aud = export_audience_json(&r->audience);
    if (!o || !aud || json_object_update(o, aud) != 0) {
        json_decref(o);
        o = NULL;
    }
    json_decref(aud);
    return o;
}

/* ---- JSON objects (STIX, MISP) written one per line, so memory does not grow with the set ---- */

/* Writes o (consumed) after a separator when it is not the first object of its list. */
static int put_json(struct walk *w, json_t *o)
{
    if (!o)
        return EXPORT_E_NOMEM;
    fputs(w->objects++ > 0 ? ",\n" : "\n", w->out);
    const int rc = json_dumpf(o, w->out, JSON_COMPACT | JSON_ENSURE_ASCII);
    json_decref(o);
    return rc == 0 ? EXPORT_OK : EXPORT_E_IO;
}

static json_t *json_time(uint64_t ms)
{
    char t[TIMEFMT_RFC3339_LEN + 1];
    timefmt_format(ms, t);
    return json_string(t);
}

static json_t *json_prefixed(const char *prefix, const char *uuid)
{
    char s[32 + UUID_TEXT];
    snprintf(s, sizeof s, "%s--%s", prefix, uuid);
    return json_string(s);
}

static const char *self_name(const struct gate_self *self)
{
    return self->org[0] ? self->org : "tlpmesh node";
}

static const char *org_name(const struct export_job *j)
{
    return self_name(&j->self);
}

/* ---- stix ---- */

static json_t *identity_object(const char *uuid, const char *name, const char *desc,
                               uint64_t created_ms)
{
    json_t *o = json_object();
    json_object_set_new(o, "type", json_string("identity"));
    json_object_set_new(o, "spec_version", json_string("2.1"));
    json_object_set_new(o, "id", json_prefixed("identity", uuid));
    json_object_set_new(o, "created", json_time(created_ms));
    json_object_set_new(o, "modified", json_time(created_ms));
    json_object_set_new(o, "name", json_string(name));
    json_object_set_new(o, "description", json_string(desc));
    json_object_set_new(o, "identity_class", json_string("organization"));
    return o;
}

json_t *export_stix_identity(const struct gate_self *self, uint64_t created_ms)
{
    char b64[LIMIT_PUBKEY_B64_LEN + 1], desc[32 + LIMIT_PUBKEY_B64_LEN], uuid[UUID_TEXT];
    sodium_bin2base64(b64, sizeof b64, self->key, LIMIT_KEY_BYTES,
                      sodium_base64_VARIANT_ORIGINAL);
    snprintf(desc, sizeof desc, "tlpmesh node %s", b64);
    export_identity_uuid(self->key, uuid);
    return identity_object(uuid, self_name(self), desc, created_ms);
}

/* An origin's identity in a file export: the same id and created in every export. */
static json_t *origin_identity(const struct ident *id)
{
    char desc[64 + LIMIT_PUBKEY_B64_LEN];
    if (id->key_b64[0])
        snprintf(desc, sizeof desc, "tlpmesh node %s, organisation unknown", id->key_b64);
    else
        snprintf(desc, sizeof desc, "tlpmesh origin organisation");
    return identity_object(id->uuid, id->name, desc, EXPORT_IDENTITY_CREATED_MS);
}

static int stix_header(struct walk *w)
{
    const struct export_job *j = w->job;
    uint8_t seed[LIMIT_KEY_BYTES + 8];
    memcpy(seed, j->self.key, LIMIT_KEY_BYTES);
    for (unsigned i = 0; i < 8; i++)
        seed[LIMIT_KEY_BYTES + i] = (uint8_t)(j->now_ms >> (56 - 8 * i));
    char bundle[UUID_TEXT];
    export_uuid_derive("tlpmesh-stix-bundle", seed, sizeof seed, bundle);
    fprintf(w->out, "{\"type\":\"bundle\",\"id\":\"bundle--%s\",\"objects\":[", bundle);
    int rc = EXPORT_OK;
    for (size_t i = 0; i < w->n_idents && rc == EXPORT_OK; i++)
        rc = put_json(w, origin_identity(&w->idents[i]));
    for (int t = PROTO_TLP_CLEAR; t <= PROTO_TLP_RED && rc == EXPORT_OK; t++)
        if (w->tlp_used & (1u << t))
            rc = put_json(w, stixmap_marking_object(t, j->stix_tlp));
    return rc;
}

/* What a STIX object made from a record shares: id, creator, times, text, confidence, labels,
 * marking. type is "indicator" or "vulnerability"; name is the object's name. */
static json_t *stix_common(const struct gate_self *self, enum stixmap_tlp_version v,
                           const uint8_t id[LIMIT_ID_BYTES], const struct proto_record *r,
                           const char *type, const char *name)
{
    const struct proto_indicator *in = &r->u.ind;
    char uuid[UUID_TEXT], identity[UUID_TEXT];
    export_uuid_text(id, uuid);
    export_identity_uuid(self->key, identity);
    json_t *o = json_object();
    json_object_set_new(o, "type", json_string(type));
    json_object_set_new(o, "spec_version", json_string("2.1"));
    json_object_set_new(o, "id", json_prefixed(type, uuid));
    json_object_set_new(o, "created_by_ref", json_prefixed("identity", identity));
    json_object_set_new(o, "created", json_time(r->created_ms));
    json_object_set_new(o, "modified", json_time(r->created_ms));
    json_object_set_new(o, "name", json_string(name));
    if (in->comment[0])
        json_object_set_new(o, "description", json_string(in->comment));
    json_object_set_new(o, "confidence", json_integer(in->confidence));
    if (in->n_tags > 0) {
        json_t *labels = json_array();
        for (size_t i = 0; i < in->n_tags; i++)
            json_array_append_new(labels, json_string(in->tags[i]));
        json_object_set_new(o, "labels", labels);
    }
    json_t *marks = json_array();
    json_array_append_new(marks, json_string(stixmap_marking_id(r->tlp, v)));
    json_object_set_new(o, "object_marking_refs", marks);
    return o;
}

static json_t *stix_indicator(const struct gate_self *self, enum stixmap_tlp_version v,
                              const uint8_t id[LIMIT_ID_BYTES], const struct proto_record *r,
                              const char *pattern)
{
    const struct proto_indicator *in = &r->u.ind;
    const char *ptype = stixmap_pattern_type(in->type);
    char rule_name[LIMIT_TYPE_BYTES + 8];
    snprintf(rule_name, sizeof rule_name, "%s rule", proto_itype_name(in->type));
    /* a rule's text is its pattern; a whole rule would make a poor name */
    json_t *o = stix_common(self, v, id, r, "indicator",
                            proto_itype_is_rule(in->type) ? rule_name : in->value);
    json_object_set_new(o, "pattern", json_string(pattern));
    json_object_set_new(o, "pattern_type", json_string(ptype));
    if (strcmp(ptype, "stix") == 0)
        json_object_set_new(o, "pattern_version", json_string("2.1"));
    json_object_set_new(o, "valid_from", json_time(r->created_ms));
    if (in->valid_until_ms > r->created_ms) /* STIX requires valid_until > valid_from */
        json_object_set_new(o, "valid_until", json_time(in->valid_until_ms));
    return o;
}

/* A CVE id is a vulnerability object (STIX 2.1 §4.18): the id as name and as its "cve"
 * external reference, the form OpenCTI and misp-stix write. */
static json_t *stix_vulnerability(const struct gate_self *self, enum stixmap_tlp_version v,
                                  const uint8_t id[LIMIT_ID_BYTES], const struct proto_record *r)
{
    json_t *o = stix_common(self, v, id, r, "vulnerability", r->u.ind.value);
    json_object_set_new(o, "external_references",
                        json_pack("[{s:s, s:s}]", "source_name", "cve", "external_id",
                                  r->u.ind.value));
    return o;
}

static int stix_record(struct walk *w, const uint8_t id[LIMIT_ID_BYTES],
                       const struct proto_record *r)
{
    bool unmapped = false;
    json_t *o = r->u.ind.type == PROTO_ITYPE_VULNERABILITY
                    ? stix_vulnerability(&w->job->self, w->job->stix_tlp, id, r)
                    : export_stix_indicator(&w->job->self, w->job->stix_tlp, id, r, &unmapped);
    if (unmapped) { /* no STIX path for this type: left out rather than guessed */
        w->left_why = "no STIX pattern for the type";
        return 0;
    }
    struct ident origin;
    export_ident_of(w->job, r->origin, &origin);
    if (o && (json_object_set_new(o, "created_by_ref", json_prefixed("identity", origin.uuid)) ||
              json_object_set_new(o, "x_tlpmesh", provenance_json(w->job, id, r)))) {
        json_decref(o);
        o = NULL;
    }
    const int rc = put_json(w, o);
    return rc == EXPORT_OK ? 1 : rc;
}

json_t *export_stix_indicator(const struct gate_self *self, enum stixmap_tlp_version v,
                              const uint8_t id[LIMIT_ID_BYTES], const struct proto_record *r,
                              bool *unmapped)
{
    assert(self != NULL && r != NULL && r->kind == PROTO_KIND_INDICATOR && unmapped != NULL);
    char pattern[2 * LIMIT_VALUE_BYTES + 128]; /* every character escaped, and the paths */
    *unmapped = stixmap_pattern_build(r->u.ind.type, r->u.ind.value, pattern, sizeof pattern) < 0;
    return *unmapped ? NULL : stix_indicator(self, v, id, r, pattern);
}

static int json_footer(struct walk *w)
{
    fputs("\n]}\n", w->out);
    return EXPORT_OK;
}

/* ---- misp-feed: one event per origin organisation and TLP level ----
 *
 * MISP (and import.c) read an attribute's TLP as the more restrictive of its event's and its own
 * tlp: tag, so an event that mixed levels would raise every attribute to the event's highest.
 * One event per level, tagged with exactly that level, keeps every attribute's TLP; one per
 * origin organisation makes its Orgc the records' creator (MISP has no creator per attribute). */

/* The creator of who's events: the origin's organisation (N's own as before: its name and
 * N's identity uuid, so MISP keeps the organisation it knows). */
static json_t *misp_orgc(const struct walk *w, const struct ident *who)
{
    if (export_is_own(w->job, who))
        return json_pack("{s:s, s:s}", "name", org_name(w->job), "uuid", w->uuid);
    return json_pack("{s:s, s:s}", "name", who->name, "uuid", who->uuid);
}

static json_t *misp_event_tags(int tlp)
{
    char tag[32];
    export_tlp_tag(tlp, tag);
    return json_pack("[{s:s}]", "name", tag);
}

enum { MISP_INFO_BYTES = 2 * LIMIT_NAME_BYTES + 64 };

static void misp_info(const struct export_job *j, const struct ident *who, int tlp,
                      char out[MISP_INFO_BYTES])
{
    if (export_is_own(j, who))
        snprintf(out, MISP_INFO_BYTES, "tlpmesh export from %s, tlp:%s", org_name(j),
                 proto_tlp_name(tlp));
    else
        snprintf(out, MISP_INFO_BYTES, "%s, by tlpmesh export from %s, tlp:%s", who->name,
                 org_name(j), proto_tlp_name(tlp));
}

static void misp_date(uint64_t ms, char out[11])
{
    char t[TIMEFMT_RFC3339_LEN + 1];
    timefmt_format(ms, t);
    memcpy(out, t, 10);
    out[10] = '\0';
}

static int misp_event_header(struct walk *w)
{
    const struct export_job *j = w->job;
    assert(w->level >= 0 && w->only != NULL);
    char date[11], ts[24], info[MISP_INFO_BYTES], event[UUID_TEXT];
    misp_date(j->now_ms, date);
    snprintf(ts, sizeof ts, "%" PRIu64, j->now_ms / 1000);
    misp_info(j, w->only, w->level, info);
    export_origin_event_uuid(j, w->only, w->level, event);
    json_t *orgc = misp_orgc(w, w->only), *tags = misp_event_tags(w->level);
    char *o = json_dumps(orgc, JSON_COMPACT | JSON_ENSURE_ASCII);
    char *t = json_dumps(tags, JSON_COMPACT | JSON_ENSURE_ASCII);
    json_t *pre = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:s}", "uuid", event,
                            "info", info, "date", date, "timestamp", ts,
                            "publish_timestamp", ts, "analysis", "2", "threat_level_id", "4",
                            "published", 1, "distribution", "0");
    char *p = pre ? json_dumps(pre, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
    int rc = EXPORT_E_NOMEM;
    if (o && t && p) {
        /* the fixed members, then Orgc and Tag, then the attribute list the records fill */
        p[strlen(p) - 1] = '\0';
        fprintf(w->out, "{\"Event\":%s,\"Orgc\":%s,\"Tag\":%s,\"Attribute\":[", p, o, t);
        rc = EXPORT_OK;
    }
    free(o);
    free(t);
    free(p);
    json_decref(orgc);
    json_decref(tags);
    json_decref(pre);
    return rc;
}

static int misp_attribute(struct walk *w, const uint8_t id[LIMIT_ID_BYTES],
                          const struct proto_record *r)
{
    const struct proto_indicator *in = &r->u.ind;
    char uuid[UUID_TEXT], ts[24], tag[32];
    export_uuid_text(id, uuid);
    snprintf(ts, sizeof ts, "%" PRIu64, w->gone_s ? w->gone_s : r->created_ms / 1000);
    export_tlp_tag(r->tlp, tag);
    json_t *tags = json_array();
    json_array_append_new(tags, json_pack("{s:s}", "name", tag));
    for (size_t i = 0; i < in->n_tags; i++)
        json_array_append_new(tags, json_pack("{s:s}", "name", in->tags[i]));
    if (mispmap_type_tag(in->type)) /* a suricata rule: MISP calls it snort (mispmap.h) */
        json_array_append_new(tags, json_pack("{s:s}", "name", mispmap_type_tag(in->type)));
    json_t *a =
        json_pack("{s:s, s:s, s:s, s:s, s:s, s:b, s:s, s:s, s:o, s:o}", "uuid", uuid, "type",
                  mispmap_type(in->type), "category", mispmap_category(in->type), "value",
                  in->value, "comment", in->comment, "to_ids", w->gone_s == 0, "timestamp", ts,
                  "distribution", "5", "Tag", tags, "x_tlpmesh", provenance_json(w->job, id, r));
    /* a revoked or expired record: MISP deletes an attribute only when told (export.h) */
    if (a && w->gone_s && json_object_set_new(a, "deleted", json_true()) != 0) {
        json_decref(a);
        a = NULL;
    }
    const int rc = put_json(w, a);
    return rc == EXPORT_OK ? 1 : rc;
}

static int misp_event_footer(struct walk *w)
{
    fputs("\n]}}\n", w->out);
    return EXPORT_OK;
}

static int misp_hashes_record(struct walk *w, const uint8_t id[LIMIT_ID_BYTES],
                              const struct proto_record *r)
{
    (void)id;
    char h[33], event[UUID_TEXT];
    md5_hex(r->u.ind.value, h);
    export_record_event_uuid(w->job, r, event);
    fprintf(w->out, "%s,%s\n", h, event);
    return 1;
}

/* Lists the events that hold records; the empty events (dir_files) are left out, or MISP would
 * create them. */
static int misp_manifest(struct walk *w)
{
    const struct export_job *j = w->job;
    char date[11], ts[24];
    misp_date(j->now_ms, date);
    snprintf(ts, sizeof ts, "%" PRIu64, j->now_ms / 1000);
    json_t *m = json_object();
    for (size_t i = 0; i < w->n_idents && m; i++) {
        const struct ident *who = &w->idents[i];
        for (int t = PROTO_TLP_CLEAR; t <= PROTO_TLP_RED && m; t++) {
            if ((who->tlp_used & (1u << t)) == 0)
                continue;
            char info[MISP_INFO_BYTES], event[UUID_TEXT];
            misp_info(j, who, t, info);
            export_origin_event_uuid(j, who, t, event);
            json_t *e = json_pack("{s:o, s:o, s:s, s:s, s:s, s:s, s:s}", "Orgc",
                                  misp_orgc(w, who), "Tag", misp_event_tags(t), "info", info,
                                  "date", date, "analysis", "2", "threat_level_id", "4",
                                  "timestamp", ts);
            if (!e || json_object_set_new(m, event, e) != 0) {
                json_decref(m);
                m = NULL;
            }
        }
    }
    if (!m)
        return EXPORT_E_NOMEM;
    const int rc = json_dumpf(m, w->out, JSON_COMPACT | JSON_ENSURE_ASCII);
    json_decref(m);
    fputc('\n', w->out);
    return rc == 0 ? EXPORT_OK : EXPORT_E_IO;
}

/* ---- the tables (export_int.h: struct file_def) ---- */

static const struct file_def f_stix[] = {{NULL, ALL_TYPES, stix_header, stix_record, json_footer,
                                          true, false}};
static const struct file_def f_misp[] = {
    {EVENT_FILE, ALL_TYPES, misp_event_header, misp_attribute, misp_event_footer, false, true},
    {"hashes.csv", ALL_TYPES, NULL, misp_hashes_record, NULL, false, false},
    {"manifest.json", ALL_TYPES, NULL, NULL, misp_manifest, true, true},
};

const struct format_def export_format_stix = FILES(f_stix);
const struct format_def export_format_misp = FILES(f_misp);
