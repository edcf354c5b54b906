/* record.c - records: field names, error messages, validation, time rules, ids, signatures and
 * sets (record.h). The encoder and the reader: record_encode.c, record_decode.c (record_int.h). */
#include "proto/record_int.h"

#include <assert.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char sign_context[] = "tlpmesh-record-v1"; /* sizeof includes the 0x00 separator */

static const char *const common_names[COMMON_FIELDS] = {
    "version", "kind", "origin", "created", "tlp", "communities", "recipients",
};
static const char *const indicator_names[INDICATOR_FIELDS] = {
    "type", "value", "valid_until", "confidence", "tags", "comment",
};
static const char *const revocation_names[REVOCATION_FIELDS] = {"target", "reason"};
static const char *const sighting_names[SIGHTING_FIELDS] = {
    "target", "count", "first_seen", "last_seen",
};
static const char *const roster_names[ROSTER_FIELDS] = {"name",  "version", "members",
                                                        "chunk", "chunks",  "digest"};

/* Number of kind-specific fields, 0 for a kind this version cannot decode. */
unsigned proto_record_kind_fields(int kind)
{
    switch (kind) {
    case PROTO_KIND_INDICATOR:
        return INDICATOR_FIELDS;
    case PROTO_KIND_REVOCATION:
        return REVOCATION_FIELDS;
    case PROTO_KIND_SIGHTING:
        return SIGHTING_FIELDS;
    case PROTO_KIND_ROSTER:
        return ROSTER_FIELDS;
    default:
        return 0;
    }
}

unsigned proto_record_kind_required(int kind)
{
    return kind == PROTO_KIND_ROSTER ? ROSTER_REQUIRED_FIELDS : proto_record_kind_fields(kind);
}

unsigned proto_record_fields_of(const struct proto_record *r)
{
    if (r->kind == PROTO_KIND_ROSTER && r->u.roster.chunks != 0)
        return ROSTER_FIELDS;
    return proto_record_kind_required(r->kind);
}

/* Name of field key in a record of kind; NULL if the kind has no such field. */
const char *proto_record_field_name(int kind, int key)
{
    static const char *const *const names[] = {
        [PROTO_KIND_INDICATOR] = indicator_names,
        [PROTO_KIND_REVOCATION] = revocation_names,
        [PROTO_KIND_SIGHTING] = sighting_names,
        [PROTO_KIND_ROSTER] = roster_names,
    };
    if (key >= 0 && key < COMMON_FIELDS)
        return common_names[key];
    int k = key - KEY_KIND_FIRST;
    if (k < 0 || (unsigned)k >= proto_record_kind_fields(kind))
        return NULL;
    return names[kind][k];
}

/* --- error messages --- */

__attribute__((format(printf, 5, 0))) void proto_record_vfail(char *why, size_t why_len, int kind,
                                                              int key, const char *fmt, va_list ap)
{
    if (why == NULL || why_len == 0)
        return;
    int n;
    const char *name = proto_record_field_name(kind, key);
    if (key == NO_KEY)
        n = snprintf(why, why_len, "record: ");
    else
        n = snprintf(why, why_len, "record field %d (%s): ", key, name ? name : "?");
    if (n >= 0 && (size_t)n < why_len)
        vsnprintf(why + n, why_len - (size_t)n, fmt, ap);
}

__attribute__((format(printf, 6, 7))) static int field_fail(int err, char *why, size_t why_len,
                                                            int kind, int key, const char *fmt,
                                                            ...)
{
    va_list ap;
    va_start(ap, fmt);
    proto_record_vfail(why, why_len, kind, key, fmt, ap);
    va_end(ap);
    return err;
}

/* --- validation (encode and decode) --- */

/* A string field: NUL-terminated within cap-1 bytes, at least min bytes, UTF-8, and no control
 * characters (tab and newline allowed in free text). */
static int check_text(const char *s, size_t max, size_t min, bool free_text, int kind, int key,
                      char *why, size_t wl)
{
    size_t len = strnlen(s, max + 1);
    if (len > max)
        return field_fail(PROTO_E_TOOBIG, why, wl, kind, key, "longer than %zu bytes", max);
    if (len < min)
        return field_fail(PROTO_E_RANGE, why, wl, kind, key, "empty text is not allowed");
    if (!proto_utf8_valid(s, len))
        return field_fail(PROTO_E_UTF8, why, wl, kind, key, "not valid UTF-8");
    if (proto_text_has_control(s, len, free_text))
        return field_fail(PROTO_E_RANGE, why, wl, kind, key, "contains a control character");
    return PROTO_OK;
}

/* Sets are sorted ascending without duplicates: one set, one encoding. */
static int check_text_set(const char *items, size_t stride, unsigned n, size_t max, int kind,
                          int key, char *why, size_t wl)
{
    for (unsigned i = 0; i < n; i++) {
        const char *s = items + (size_t)i * stride;
        int rc = check_text(s, max, 1, false, kind, key, why, wl);
        if (rc != PROTO_OK)
            return rc;
        if (i > 0 && strcmp(s - stride, s) >= 0)
            return field_fail(PROTO_E_NONCANON, why, wl, kind, key,
                              "not sorted ascending without duplicates");
    }
    return PROTO_OK;
}

static int check_audience(const struct proto_record *r, char *why, size_t wl)
{
    const struct proto_audience *a = &r->audience;
    if (a->n_communities > LIMIT_AUDIENCE_COMMUNITIES)
        return field_fail(PROTO_E_TOOBIG, why, wl, r->kind, KEY_COMMUNITIES, "more than %d",
                          LIMIT_AUDIENCE_COMMUNITIES);
    if (a->n_recipients > LIMIT_AUDIENCE_RECIPIENTS)
        return field_fail(PROTO_E_TOOBIG, why, wl, r->kind, KEY_RECIPIENTS, "more than %d",
                          LIMIT_AUDIENCE_RECIPIENTS);
    int rc = check_text_set(a->communities[0], sizeof a->communities[0], a->n_communities,
                            LIMIT_NAME_BYTES, r->kind, KEY_COMMUNITIES, why, wl);
    if (rc != PROTO_OK)
        return rc;
    for (unsigned i = 1; i < a->n_recipients; i++) {
        if (memcmp(a->recipients[i - 1], a->recipients[i], LIMIT_KEY_BYTES) >= 0)
            return field_fail(PROTO_E_NONCANON, why, wl, r->kind, KEY_RECIPIENTS,
                              "not sorted ascending without duplicates");
    }
    /* TLP:RED names its readers; "everyone in a community" is not RED. */
    if (r->tlp == PROTO_TLP_RED && a->n_recipients == 0)
        return field_fail(PROTO_E_AUDIENCE, why, wl, r->kind, KEY_RECIPIENTS,
                          "TLP:RED needs at least one recipient");
    return PROTO_OK;
}

static int check_indicator(const struct proto_record *r, char *why, size_t wl)
{
    const struct proto_indicator *ind = &r->u.ind;
    const int k = r->kind;
    const char *tname = proto_itype_name(ind->type);
    if (tname == NULL)
        return field_fail(PROTO_E_RANGE, why, wl, k, KEY_IND_TYPE, "unknown type code %u",
                          ind->type);
    int rc = check_text(ind->value, LIMIT_VALUE_BYTES, 1, false, k, KEY_IND_VALUE, why, wl);
    if (rc != PROTO_OK && rc != PROTO_E_RANGE)
        return rc; /* control characters get the type's own message below */
    char norm[LIMIT_VALUE_BYTES + 1];
    char reason[256];
    rc = proto_indicator_normalise(ind->type, ind->value, norm, sizeof norm, reason, sizeof reason);
    if (rc != PROTO_OK)
        return field_fail(rc, why, wl, k, KEY_IND_VALUE, "%s", reason);
    if (strcmp(norm, ind->value) != 0)
        return field_fail(PROTO_E_NONCANON, why, wl, k, KEY_IND_VALUE,
                          "%s: not in normal form; it is written '%s'", tname, norm);
    if (ind->valid_until_ms <= r->created_ms)
        return field_fail(PROTO_E_RANGE, why, wl, k, KEY_IND_VALID_UNTIL,
                          "%llu is not after created (%llu)",
                          (unsigned long long)ind->valid_until_ms,
                          (unsigned long long)r->created_ms);
    if (ind->confidence > CONFIDENCE_MAX)
        return field_fail(PROTO_E_RANGE, why, wl, k, KEY_IND_CONFIDENCE, "%u is not 0..100",
                          ind->confidence);
    if (ind->n_tags > LIMIT_TAGS)
        return field_fail(PROTO_E_TOOBIG, why, wl, k, KEY_IND_TAGS, "more than %d tags",
                          LIMIT_TAGS);
    rc = check_text_set(ind->tags[0], sizeof ind->tags[0], ind->n_tags, LIMIT_TAG_BYTES, k,
                        KEY_IND_TAGS, why, wl);
    if (rc != PROTO_OK)
        return rc;
    return check_text(ind->comment, LIMIT_COMMENT_BYTES, 0, true, k, KEY_IND_COMMENT, why, wl);
}

static int check_sighting(const struct proto_record *r, char *why, size_t wl)
{
    const struct proto_sighting *sg = &r->u.sight;
    const int k = r->kind;
    if (sg->count == 0)
        return field_fail(PROTO_E_RANGE, why, wl, k, KEY_SIGHT_COUNT, "0 is not at least 1");
    if (sg->first_seen_ms > sg->last_seen_ms)
        return field_fail(PROTO_E_RANGE, why, wl, k, KEY_SIGHT_FIRST_SEEN,
                          "%llu is after last_seen (%llu)",
                          (unsigned long long)sg->first_seen_ms,
                          (unsigned long long)sg->last_seen_ms);
    /* Nothing is seen after the statement about it was made (give or take clock skew). */
    if (sg->last_seen_ms > r->created_ms && sg->last_seen_ms - r->created_ms > LIMIT_CLOCK_SKEW_MS)
        return field_fail(PROTO_E_RANGE, why, wl, k, KEY_SIGHT_LAST_SEEN,
                          "%llu is after created (%llu) plus the clock skew bound",
                          (unsigned long long)sg->last_seen_ms,
                          (unsigned long long)r->created_ms);
    return PROTO_OK;
}

static int check_roster(const struct proto_record *r, char *why, size_t wl)
{
    const struct proto_roster *ro = &r->u.roster;
    const int k = r->kind;
    int rc = check_text(ro->name, LIMIT_NAME_BYTES, 1, false, k, KEY_ROSTER_NAME, why, wl);
    if (rc != PROTO_OK)
        return rc;
    if (ro->version == 0)
        return field_fail(PROTO_E_RANGE, why, wl, k, KEY_ROSTER_VERSION, "0 is not at least 1");
    if (ro->n_members > LIMIT_ROSTER_MEMBERS)
        return field_fail(PROTO_E_TOOBIG, why, wl, k, KEY_ROSTER_MEMBERS, "more than %d members",
                          LIMIT_ROSTER_MEMBERS);
    if (ro->chunks > LIMIT_ROSTER_CHUNKS)
        return field_fail(PROTO_E_RANGE, why, wl, k, KEY_ROSTER_CHUNKS, "%u is not 1..%d",
                          ro->chunks, LIMIT_ROSTER_CHUNKS);
    if (ro->chunk >= ro->chunks && (ro->chunks != 0 || ro->chunk != 0))
        return field_fail(PROTO_E_RANGE, why, wl, k, KEY_ROSTER_CHUNK,
                          "%u is not below chunks (%u)", ro->chunk, ro->chunks);
    for (unsigned i = 0; i < ro->n_members; i++) {
        rc = check_text(ro->members[i].org, LIMIT_NAME_BYTES, 1, false, k, KEY_ROSTER_MEMBERS,
                        why, wl);
        if (rc != PROTO_OK)
            return rc;
        if (i > 0 && memcmp(ro->members[i - 1].key, ro->members[i].key, LIMIT_KEY_BYTES) >= 0)
            return field_fail(PROTO_E_NONCANON, why, wl, k, KEY_ROSTER_MEMBERS,
                              "not sorted ascending by key without duplicates");
    }
    return PROTO_OK;
}

int proto_record_validate(const struct proto_record *r, char *why, size_t wl)
{
    if (r->version != PROTO_RECORD_VERSION)
        return field_fail(PROTO_E_VERSION, why, wl, r->kind, KEY_VERSION,
                          "version %u is not supported (this node speaks %d)", r->version,
                          PROTO_RECORD_VERSION);
    if (proto_record_kind_fields(r->kind) == 0)
        return field_fail(PROTO_E_RANGE, why, wl, r->kind, KEY_KIND, "kind %u is not supported",
                          r->kind);
    if (!proto_tlp_valid(r->tlp))
        return field_fail(PROTO_E_RANGE, why, wl, r->kind, KEY_TLP, "%u is not 0..4", r->tlp);
    int rc = check_audience(r, why, wl);
    if (rc != PROTO_OK)
        return rc;
    switch (r->kind) {
    case PROTO_KIND_INDICATOR:
        return check_indicator(r, why, wl);
    case PROTO_KIND_SIGHTING:
        return check_sighting(r, why, wl);
    case PROTO_KIND_ROSTER:
        return check_roster(r, why, wl);
    default:
        assert(r->kind == PROTO_KIND_REVOCATION);
        return check_text(r->u.rev.reason, LIMIT_COMMENT_BYTES, 0, true, r->kind, KEY_REV_REASON,
                          why, wl);
    }
}

/* --- time, ids, signatures --- */

void proto_roster_digest(const struct proto_roster_member *m, size_t n, uint8_t out[LIMIT_ID_BYTES])
{
    assert(m != NULL || n == 0);
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, LIMIT_ID_BYTES);
    for (size_t i = 0; i < n; i++) {
        const size_t len = strlen(m[i].org);
        assert(len <= LIMIT_NAME_BYTES);
        const uint8_t len8 = (uint8_t)len;
        crypto_generichash_update(&st, m[i].key, LIMIT_KEY_BYTES);
        crypto_generichash_update(&st, &len8, 1);
        crypto_generichash_update(&st, (const uint8_t *)m[i].org, len);
    }
    crypto_generichash_final(&st, out, LIMIT_ID_BYTES);
}

int proto_record_check_time(const struct proto_record *r, uint64_t now_ms)
{
    assert(r != NULL);
    if (r->created_ms > now_ms && r->created_ms - now_ms > LIMIT_CLOCK_SKEW_MS)
        return PROTO_E_FUTURE;
    if (r->kind == PROTO_KIND_INDICATOR && r->u.ind.valid_until_ms <= now_ms)
        return PROTO_E_EXPIRED;
    return PROTO_OK;
}

void proto_record_id(const uint8_t *body, size_t len, uint8_t id[LIMIT_ID_BYTES])
{
    assert(body != NULL && id != NULL);
    crypto_generichash(id, LIMIT_ID_BYTES, body, len, NULL, 0);
}

/* "tlpmesh-record-v1" || 0x00 || body into msg; returns its length. */
static size_t signing_input(const uint8_t *body, size_t len,
                            uint8_t msg[sizeof sign_context + LIMIT_RECORD_BYTES])
{
    assert(len <= LIMIT_RECORD_BYTES);
    memcpy(msg, sign_context, sizeof sign_context);
    memcpy(msg + sizeof sign_context, body, len);
    return sizeof sign_context + len;
}

void proto_record_sign(const uint8_t *body, size_t len, const uint8_t sk[64],
                       uint8_t sig[LIMIT_SIG_BYTES])
{
    assert(body != NULL && sk != NULL && sig != NULL);
    uint8_t msg[sizeof sign_context + LIMIT_RECORD_BYTES];
    size_t n = signing_input(body, len, msg);
    crypto_sign_detached(sig, NULL, msg, n, sk);
}

int proto_record_verify(const uint8_t *body, size_t len, const uint8_t sig[LIMIT_SIG_BYTES],
                        const uint8_t origin[LIMIT_KEY_BYTES])
{
    assert(body != NULL && sig != NULL && origin != NULL);
    if (len > LIMIT_RECORD_BYTES)
        return PROTO_E_SIGNATURE;
    uint8_t msg[sizeof sign_context + LIMIT_RECORD_BYTES];
    size_t n = signing_input(body, len, msg);
    return crypto_sign_verify_detached(sig, msg, n, origin) == 0 ? PROTO_OK : PROTO_E_SIGNATURE;
}

/* --- sets --- */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(a, b);
}

/* Also orders roster members, whose key comes first. */
static int cmp_key(const void *a, const void *b)
{
    return memcmp(a, b, LIMIT_KEY_BYTES);
}

/* Sorts n items of size stride and drops duplicates; returns the new count. */
static size_t sort_unique(void *items, size_t stride, size_t n,
                          int (*cmp)(const void *, const void *))
{
    if (n == 0)
        return 0;
    uint8_t *base = items;
    qsort(base, n, stride, cmp);
    size_t out = 1;
    for (size_t i = 1; i < n; i++) {
        if (cmp(base + (size_t)(out - 1) * stride, base + (size_t)i * stride) != 0) {
            if (out != i)
                memcpy(base + (size_t)out * stride, base + (size_t)i * stride, stride);
            out++;
        }
    }
    return out;
}

void proto_record_normalise_sets(struct proto_record *r)
{
    assert(r != NULL);
    struct proto_audience *a = &r->audience;
    assert(a->n_communities <= LIMIT_AUDIENCE_COMMUNITIES);
    assert(a->n_recipients <= LIMIT_AUDIENCE_RECIPIENTS);
    a->n_communities = (uint8_t)sort_unique(a->communities, sizeof a->communities[0],
                                            a->n_communities, cmp_str);
    a->n_recipients = (uint8_t)sort_unique(a->recipients, sizeof a->recipients[0],
                                           a->n_recipients, cmp_key);
    if (r->kind == PROTO_KIND_INDICATOR) {
        assert(r->u.ind.n_tags <= LIMIT_TAGS);
        r->u.ind.n_tags = (uint8_t)sort_unique(r->u.ind.tags, sizeof r->u.ind.tags[0],
                                               r->u.ind.n_tags, cmp_str);
    } else if (r->kind == PROTO_KIND_ROSTER) {
        struct proto_roster *ro = &r->u.roster;
        assert(ro->n_members <= LIMIT_ROSTER_MEMBERS);
        ro->n_members = (uint16_t)sort_unique(ro->members, sizeof ro->members[0], ro->n_members,
                                              cmp_key);
    }
}

const char *proto_strerror(int err)
{
    switch (err) {
    case PROTO_OK: return "ok";
    PROTO_ERRORS(ERRORS_CASE)
    default: return "unknown proto error";
    }
}
