/* record.c - canonical msgpack encoding, strict decoding, signing and ids of records (record.h).
 *
 * The body layout is documented byte by byte in docs/PROTOCOL.md ("Records"). Encoding uses
 * msgpack-c's packer, which always writes the shortest header. Decoding does not use msgpack-c's
 * unpacker: its object tree allocates count × 24 bytes for an array header before reading the
 * elements, so five hostile bytes could ask for 100 GB. The reader below reads only the shapes a
 * record may have, straight into struct proto_record, and checks every header for minimality as it
 * goes so that errors name the field.
 */
#include "proto/record.h"

#include <assert.h>
#include <msgpack.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Map keys: wire values, never renumber. Common fields are 0..15, kind fields from 16. */
enum record_key {
    KEY_VERSION = 0,
    KEY_KIND = 1,
    KEY_ORIGIN = 2,
    KEY_CREATED = 3,
    KEY_TLP = 4,
    KEY_COMMUNITIES = 5,
    KEY_RECIPIENTS = 6,
    KEY_IND_TYPE = 16,
    KEY_IND_VALUE = 17,
    KEY_IND_VALID_UNTIL = 18,
    KEY_IND_CONFIDENCE = 19,
    KEY_IND_TAGS = 20,
    KEY_IND_COMMENT = 21,
    KEY_REV_TARGET = 16,
    KEY_REV_REASON = 17,
    KEY_SIGHT_TARGET = 16,
    KEY_SIGHT_COUNT = 17,
    KEY_SIGHT_FIRST_SEEN = 18,
    KEY_SIGHT_LAST_SEEN = 19,
    KEY_ROSTER_NAME = 16,
    KEY_ROSTER_VERSION = 17,
    KEY_ROSTER_MEMBERS = 18,
    KEY_KIND_FIRST = 16,
};

enum {
    COMMON_FIELDS = 7,
    INDICATOR_FIELDS = 6,
    REVOCATION_FIELDS = 2,
    SIGHTING_FIELDS = 4,
    ROSTER_FIELDS = 3,
    MEMBER_ENTRIES = 2,     /* a roster member is the array [key, organisation] */
    MAX_FIELDS = COMMON_FIELDS + INDICATOR_FIELDS,
    KEY_MAX = 31,           /* highest key of any kind; seen-sets are 32-bit masks */
    CONFIDENCE_MAX = 100,
    NO_KEY = -1,            /* reader position: outside a field's value */
};

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
static const char *const roster_names[ROSTER_FIELDS] = {"name", "version", "members"};

/* Number of kind-specific fields, 0 for a kind this version cannot decode. */
static unsigned kind_fields(int kind)
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

/* Name of field key in a record of kind; NULL if the kind has no such field. */
static const char *field_name(int kind, int key)
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
    if (k < 0 || (unsigned)k >= kind_fields(kind))
        return NULL;
    return names[kind][k];
}

/* --- error messages --- */

__attribute__((format(printf, 5, 0))) static void vfield_fail(char *why, size_t why_len, int kind,
                                                              int key, const char *fmt, va_list ap)
{
    if (why == NULL || why_len == 0)
        return;
    int n;
    const char *name = field_name(kind, key);
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
    vfield_fail(why, why_len, kind, key, fmt, ap);
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

static int validate(const struct proto_record *r, char *why, size_t wl)
{
    if (r->version != PROTO_RECORD_VERSION)
        return field_fail(PROTO_E_VERSION, why, wl, r->kind, KEY_VERSION,
                          "version %u is not supported (this node speaks %d)", r->version,
                          PROTO_RECORD_VERSION);
    if (kind_fields(r->kind) == 0)
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

/* --- encoding --- */

/* Packer sink over a caller buffer: counts every byte, copies those that fit. */
struct sink {
    uint8_t *p;
    size_t cap;
    size_t len;
};

static int sink_write(void *data, const char *buf, size_t len)
{
    struct sink *s = data;
    if (len <= s->cap && s->len <= s->cap - len)
        memcpy(s->p + s->len, buf, len);
    s->len += len;
    return 0;
}

static void pack_str(msgpack_packer *pk, const char *s)
{
    size_t n = strlen(s);
    msgpack_pack_str(pk, n);
    msgpack_pack_str_body(pk, s, n);
}

static void pack_key_bin(msgpack_packer *pk, const uint8_t key[LIMIT_KEY_BYTES])
{
    msgpack_pack_bin(pk, LIMIT_KEY_BYTES);
    msgpack_pack_bin_body(pk, key, LIMIT_KEY_BYTES);
}

static void pack_str_set(msgpack_packer *pk, const char *items, size_t stride, unsigned n)
{
    msgpack_pack_array(pk, n);
    for (unsigned i = 0; i < n; i++)
        pack_str(pk, items + (size_t)i * stride);
}

static void pack_id_bin(msgpack_packer *pk, const uint8_t id[LIMIT_ID_BYTES])
{
    msgpack_pack_bin(pk, LIMIT_ID_BYTES);
    msgpack_pack_bin_body(pk, id, LIMIT_ID_BYTES);
}

static void pack_indicator(msgpack_packer *pk, const struct proto_indicator *ind)
{
    msgpack_pack_uint64(pk, KEY_IND_TYPE);
    pack_str(pk, proto_itype_name(ind->type));
    msgpack_pack_uint64(pk, KEY_IND_VALUE);
    pack_str(pk, ind->value);
    msgpack_pack_uint64(pk, KEY_IND_VALID_UNTIL);
    msgpack_pack_uint64(pk, ind->valid_until_ms);
    msgpack_pack_uint64(pk, KEY_IND_CONFIDENCE);
    msgpack_pack_uint64(pk, ind->confidence);
    msgpack_pack_uint64(pk, KEY_IND_TAGS);
    pack_str_set(pk, ind->tags[0], sizeof ind->tags[0], ind->n_tags);
    msgpack_pack_uint64(pk, KEY_IND_COMMENT);
    pack_str(pk, ind->comment);
}

static void pack_sighting(msgpack_packer *pk, const struct proto_sighting *sg)
{
    msgpack_pack_uint64(pk, KEY_SIGHT_TARGET);
    pack_id_bin(pk, sg->target);
    msgpack_pack_uint64(pk, KEY_SIGHT_COUNT);
    msgpack_pack_uint64(pk, sg->count);
    msgpack_pack_uint64(pk, KEY_SIGHT_FIRST_SEEN);
    msgpack_pack_uint64(pk, sg->first_seen_ms);
    msgpack_pack_uint64(pk, KEY_SIGHT_LAST_SEEN);
    msgpack_pack_uint64(pk, sg->last_seen_ms);
}

static void pack_roster(msgpack_packer *pk, const struct proto_roster *ro)
{
    assert(ro->n_members <= LIMIT_ROSTER_MEMBERS);
    msgpack_pack_uint64(pk, KEY_ROSTER_NAME);
    pack_str(pk, ro->name);
    msgpack_pack_uint64(pk, KEY_ROSTER_VERSION);
    msgpack_pack_uint64(pk, ro->version);
    msgpack_pack_uint64(pk, KEY_ROSTER_MEMBERS);
    msgpack_pack_array(pk, ro->n_members);
    for (unsigned i = 0; i < ro->n_members; i++) {
        msgpack_pack_array(pk, MEMBER_ENTRIES);
        pack_key_bin(pk, ro->members[i].key);
        pack_str(pk, ro->members[i].org);
    }
}

/* Writes a validated record; returns the full length even when it exceeds cap. */
static size_t encode_valid(const struct proto_record *r, uint8_t *out, size_t cap)
{
    struct sink s = {.p = out, .cap = cap};
    msgpack_packer pk;
    msgpack_packer_init(&pk, &s, sink_write);
    const struct proto_audience *a = &r->audience;

    msgpack_pack_map(&pk, COMMON_FIELDS + kind_fields(r->kind));
    msgpack_pack_uint64(&pk, KEY_VERSION);
    msgpack_pack_uint64(&pk, r->version);
    msgpack_pack_uint64(&pk, KEY_KIND);
    msgpack_pack_uint64(&pk, r->kind);
    msgpack_pack_uint64(&pk, KEY_ORIGIN);
    pack_key_bin(&pk, r->origin);
    msgpack_pack_uint64(&pk, KEY_CREATED);
    msgpack_pack_uint64(&pk, r->created_ms);
    msgpack_pack_uint64(&pk, KEY_TLP);
    msgpack_pack_uint64(&pk, r->tlp);
    msgpack_pack_uint64(&pk, KEY_COMMUNITIES);
    pack_str_set(&pk, a->communities[0], sizeof a->communities[0], a->n_communities);
    msgpack_pack_uint64(&pk, KEY_RECIPIENTS);
    msgpack_pack_array(&pk, a->n_recipients);
    for (unsigned i = 0; i < a->n_recipients; i++)
        pack_key_bin(&pk, a->recipients[i]);

    switch (r->kind) {
    case PROTO_KIND_INDICATOR:
        pack_indicator(&pk, &r->u.ind);
        break;
    case PROTO_KIND_SIGHTING:
        pack_sighting(&pk, &r->u.sight);
        break;
    case PROTO_KIND_ROSTER:
        pack_roster(&pk, &r->u.roster);
        break;
    default:
        assert(r->kind == PROTO_KIND_REVOCATION);
        msgpack_pack_uint64(&pk, KEY_REV_TARGET);
        pack_id_bin(&pk, r->u.rev.target);
        msgpack_pack_uint64(&pk, KEY_REV_REASON);
        pack_str(&pk, r->u.rev.reason);
        break;
    }
    return s.len;
}

int proto_record_encode(const struct proto_record *r, uint8_t *out, size_t cap)
{
    assert(r != NULL && out != NULL);
    int rc = validate(r, NULL, 0);
    if (rc != PROTO_OK)
        return rc;
    size_t len = encode_valid(r, out, cap);
    if (len > LIMIT_RECORD_BYTES)
        return PROTO_E_TOOBIG;
    if (len > cap)
        return PROTO_E_NOSPACE;
    return (int)len;
}

/* --- decoding --- */

struct reader {
    const uint8_t *p;
    const uint8_t *end;
    int kind; /* 0 until field 1 has been read */
    int key;  /* field whose value is being read, or NO_KEY */
    bool known; /* proto_record_decode_known: counts and strings only, no clearing of the rest */
    char *why;
    size_t why_len;
};

__attribute__((format(printf, 2, 3))) static void rd_note(struct reader *rd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfield_fail(rd->why, rd->why_len, rd->kind, rd->key, fmt, ap);
    va_end(ap);
}

/* Records why and yields err. A macro, not a function returning err: a variadic function is not
 * inlined, so the optimiser could not see that every failure path returns a non-OK constant, and
 * out-parameters left unset on those paths looked "maybe used uninitialized" to callers. */
#define rd_fail(rd, err, ...) (rd_note((rd), __VA_ARGS__), (err))

/* What a msgpack type byte starts, for messages. */
static const char *type_name(uint8_t t)
{
    if (t <= 0x7f || (t >= 0xcc && t <= 0xd3) || t >= 0xe0)
        return "an integer";
    if (t <= 0x8f || t == 0xde || t == 0xdf)
        return "a map";
    if (t <= 0x9f || t == 0xdc || t == 0xdd)
        return "an array";
    if (t <= 0xbf || (t >= 0xd9 && t <= 0xdb))
        return "a str";
    if (t >= 0xc4 && t <= 0xc6)
        return "a bin";
    if (t == 0xc0)
        return "nil";
    if (t == 0xc2 || t == 0xc3)
        return "a bool";
    if (t == 0xca || t == 0xcb)
        return "a float";
    if (t == 0xc1)
        return "the reserved byte 0xc1";
    return "an ext";
}

static int rd_bytes(struct reader *rd, size_t n, const uint8_t **out)
{
    if (n > (size_t)(rd->end - rd->p))
        return rd_fail(rd, PROTO_E_MALFORMED, "truncated");
    *out = rd->p;
    rd->p += n;
    return PROTO_OK;
}

/* Big-endian unsigned integer of n bytes (1, 2, 4 or 8). */
static int rd_be(struct reader *rd, size_t n, uint64_t *v)
{
    const uint8_t *b = NULL;
    int rc = rd_bytes(rd, n, &b);
    if (rc != PROTO_OK)
        return rc;
    *v = 0;
    for (size_t i = 0; i < n; i++)
        *v = (*v << 8) | b[i];
    return PROTO_OK;
}

static int rd_uint(struct reader *rd, uint64_t *v)
{
    const uint8_t *t = NULL;
    int rc = rd_bytes(rd, 1, &t);
    if (rc != PROTO_OK)
        return rc;
    if (*t <= 0x7f) {
        *v = *t;
        return PROTO_OK;
    }
    if (*t >= 0xe0)
        return rd_fail(rd, PROTO_E_RANGE, "negative integer");
    if (*t >= 0xcc && *t <= 0xd3) {
        unsigned width = 1u << ((*t - 0xcc) & 3); /* uint8/16/32/64, int8/16/32/64 */
        bool is_signed = *t >= 0xd0;
        rc = rd_be(rd, width, v);
        if (rc != PROTO_OK)
            return rc;
        if (is_signed && (*v >> (width * 8 - 1)) != 0)
            return rd_fail(rd, PROTO_E_RANGE, "negative integer");
        if (is_signed)
            return rd_fail(rd, PROTO_E_NONCANON, "signed encoding of an unsigned integer");
        /* Smallest value this width must carry; anything less has a shorter form. */
        uint64_t min = width == 1 ? 0x80 : (uint64_t)1 << (width * 4);
        if (*v < min)
            return rd_fail(rd, PROTO_E_NONCANON, "non-minimal encoding of integer %llu",
                           (unsigned long long)*v);
        return PROTO_OK;
    }
    return rd_fail(rd, PROTO_E_MALFORMED, "expected an unsigned integer, found %s",
                   type_name(*t));
}

static int rd_u8(struct reader *rd, uint8_t *out)
{
    uint64_t v;
    int rc = rd_uint(rd, &v);
    if (rc != PROTO_OK)
        return rc;
    if (v > UINT8_MAX)
        return rd_fail(rd, PROTO_E_RANGE, "%llu is out of range", (unsigned long long)v);
    *out = (uint8_t)v;
    return PROTO_OK;
}

/* A length-prefixed msgpack family and its header bytes. */
struct family {
    const char *name;
    uint8_t fix_lo, fix_max; /* fix form: fix_lo | n for n <= fix_max; fix_lo 0 = no fix form */
    uint8_t code8, code16, code32; /* 0 = no such form */
};

static const struct family FAM_STR = {"a str", 0xa0, 31, 0xd9, 0xda, 0xdb};
static const struct family FAM_BIN = {"a bin", 0, 0, 0xc4, 0xc5, 0xc6};
static const struct family FAM_ARRAY = {"an array", 0x90, 15, 0, 0xdc, 0xdd};
static const struct family FAM_MAP = {"a map", 0x80, 15, 0, 0xde, 0xdf};

static bool family_has(const struct family *f, uint8_t t)
{
    bool fix = f->fix_lo != 0 && t >= f->fix_lo && t <= f->fix_lo + f->fix_max;
    return fix || (f->code8 != 0 && t == f->code8) || t == f->code16 || t == f->code32;
}

/* Reads a header of family f and its count; other=the family carrying the same content in another
 * type (str and bin), reported as non-canonical rather than malformed. */
static int rd_header(struct reader *rd, const struct family *f, const struct family *other,
                     uint32_t *n)
{
    const uint8_t *t = NULL;
    int rc = rd_bytes(rd, 1, &t);
    if (rc != PROTO_OK)
        return rc;
    uint64_t v;
    uint64_t min; /* smallest count that needs this form */
    if (f->fix_lo != 0 && *t >= f->fix_lo && *t <= f->fix_lo + f->fix_max) {
        *n = *t - f->fix_lo;
        return PROTO_OK;
    } else if (f->code8 != 0 && *t == f->code8) {
        rc = rd_be(rd, 1, &v);
        min = f->fix_lo != 0 ? f->fix_max + 1u : 0;
    } else if (*t == f->code16) {
        rc = rd_be(rd, 2, &v);
        min = f->code8 != 0 ? 256 : f->fix_max + 1u;
    } else if (*t == f->code32) {
        rc = rd_be(rd, 4, &v);
        min = 65536;
    } else if (other != NULL && family_has(other, *t)) {
        rd->p = t;
        rc = rd_header(rd, other, NULL, n);
        return rc != PROTO_OK ? rc
                              : rd_fail(rd, PROTO_E_NONCANON, "%s where %s is expected",
                                        other->name, f->name);
    } else {
        return rd_fail(rd, PROTO_E_MALFORMED, "expected %s, found %s", f->name, type_name(*t));
    }
    if (rc != PROTO_OK)
        return rc;
    if (v < min)
        return rd_fail(rd, PROTO_E_NONCANON, "non-minimal %s header for length %llu", f->name,
                       (unsigned long long)v);
    *n = (uint32_t)v;
    return PROTO_OK;
}

/* A str of at most max bytes into dst[max + 1]; NUL bytes are refused (C strings). */
static int rd_str(struct reader *rd, char *dst, size_t max)
{
    uint32_t n;
    const uint8_t *b = NULL;
    int rc = rd_header(rd, &FAM_STR, &FAM_BIN, &n);
    if (rc != PROTO_OK)
        return rc;
    if (n > max)
        return rd_fail(rd, PROTO_E_TOOBIG, "%u bytes, over the limit of %zu", n, max);
    rc = rd_bytes(rd, n, &b);
    if (rc != PROTO_OK)
        return rc;
    if (memchr(b, 0, n) != NULL)
        return rd_fail(rd, PROTO_E_UTF8, "text contains a NUL byte");
    memcpy(dst, b, n);
    dst[n] = '\0';
    return PROTO_OK;
}

/* A bin of exactly 32 bytes (keys and ids). */
static int rd_bin32(struct reader *rd, uint8_t dst[32])
{
    uint32_t n;
    const uint8_t *b = NULL;
    int rc = rd_header(rd, &FAM_BIN, &FAM_STR, &n);
    if (rc != PROTO_OK)
        return rc;
    if (n != 32)
        return rd_fail(rd, PROTO_E_RANGE, "%u bytes, not 32", n);
    rc = rd_bytes(rd, n, &b);
    if (rc != PROTO_OK)
        return rc;
    memcpy(dst, b, n);
    return PROTO_OK;
}

/* An array header with at most max elements. */
static int rd_array_n(struct reader *rd, unsigned max, uint32_t *count)
{
    int rc = rd_header(rd, &FAM_ARRAY, NULL, count);
    if (rc != PROTO_OK)
        return rc;
    if (*count > max)
        return rd_fail(rd, PROTO_E_TOOBIG, "%u elements, over the limit of %u", *count, max);
    return PROTO_OK;
}

/* The same for the sets whose limits fit a byte. */
static int rd_array(struct reader *rd, unsigned max, uint8_t *count)
{
    assert(max <= UINT8_MAX);
    uint32_t n = 0;
    int rc = rd_array_n(rd, max, &n);
    *count = (uint8_t)n;
    return rc;
}

static int rd_str_set(struct reader *rd, char *items, size_t stride, unsigned max_n,
                      size_t max_len, uint8_t *count)
{
    int rc = rd_array(rd, max_n, count);
    for (unsigned i = 0; rc == PROTO_OK && i < *count; i++)
        rc = rd_str(rd, items + (size_t)i * stride, max_len);
    return rc;
}

static int rd_version(struct reader *rd, struct proto_record *r)
{
    int rc = rd_u8(rd, &r->version);
    if (rc == PROTO_OK && r->version != PROTO_RECORD_VERSION)
        return rd_fail(rd, PROTO_E_VERSION, "version %u is not supported (this node speaks %d)",
                       r->version, PROTO_RECORD_VERSION);
    return rc;
}

/* Zeroes the union member of r's kind before any of its fields is read (keys ascend: the kind is
 * field 1, its own fields 16 and up), so that it is defined byte for byte (proto_record_decode). */
static void clear_kind(struct proto_record *r)
{
    switch (r->kind) {
    case PROTO_KIND_INDICATOR: memset(&r->u.ind, 0, sizeof r->u.ind); break;
    case PROTO_KIND_REVOCATION: memset(&r->u.rev, 0, sizeof r->u.rev); break;
    case PROTO_KIND_SIGHTING: memset(&r->u.sight, 0, sizeof r->u.sight); break;
    default:
        assert(r->kind == PROTO_KIND_ROSTER);
        memset(&r->u.roster, 0, sizeof r->u.roster);
        break;
    }
}

/* proto_record_decode_known's clearing: what an absent field would leave behind (counts, numbers,
 * empty strings), not the arrays behind the counts nor string tails (~8 KB per record). */
static void clear_kind_known(struct proto_record *r)
{
    switch (r->kind) {
    case PROTO_KIND_INDICATOR: {
        struct proto_indicator *i = &r->u.ind;
        i->type = i->confidence = i->n_tags = 0;
        i->valid_until_ms = 0;
        i->value[0] = i->comment[0] = '\0';
        break;
    }
    case PROTO_KIND_REVOCATION:
        memset(r->u.rev.target, 0, sizeof r->u.rev.target);
        r->u.rev.reason[0] = '\0';
        break;
    case PROTO_KIND_SIGHTING: memset(&r->u.sight, 0, sizeof r->u.sight); break;
    default:
        assert(r->kind == PROTO_KIND_ROSTER);
        r->u.roster.name[0] = '\0';
        r->u.roster.version = 0;
        r->u.roster.n_members = 0;
        break;
    }
}

static int rd_kind(struct reader *rd, struct proto_record *r)
{
    int rc = rd_u8(rd, &r->kind);
    if (rc != PROTO_OK)
        return rc;
    if (kind_fields(r->kind) == 0)
        return rd_fail(rd, PROTO_E_RANGE, "unknown kind %u", r->kind);
    rd->kind = r->kind;
    if (rd->known)
        clear_kind_known(r);
    else
        clear_kind(r);
    return PROTO_OK;
}

static int rd_origin(struct reader *rd, struct proto_record *r)
{
    return rd_bin32(rd, r->origin);
}

static int rd_created(struct reader *rd, struct proto_record *r)
{
    return rd_uint(rd, &r->created_ms);
}

static int rd_tlp(struct reader *rd, struct proto_record *r)
{
    return rd_u8(rd, &r->tlp);
}

static int rd_communities(struct reader *rd, struct proto_record *r)
{
    struct proto_audience *a = &r->audience;
    return rd_str_set(rd, a->communities[0], sizeof a->communities[0], LIMIT_AUDIENCE_COMMUNITIES,
                      LIMIT_NAME_BYTES, &a->n_communities);
}

static int rd_recipients(struct reader *rd, struct proto_record *r)
{
    struct proto_audience *a = &r->audience;
    int rc = rd_array(rd, LIMIT_AUDIENCE_RECIPIENTS, &a->n_recipients);
    for (unsigned i = 0; rc == PROTO_OK && i < a->n_recipients; i++)
        rc = rd_bin32(rd, a->recipients[i]);
    return rc;
}

static int rd_ind_type(struct reader *rd, struct proto_record *r)
{
    char name[LIMIT_TYPE_BYTES + 1];
    int rc = rd_str(rd, name, LIMIT_TYPE_BYTES);
    if (rc != PROTO_OK)
        return rc;
    int t = proto_itype_parse(name);
    if (t < 0) {
        size_t len = strlen(name);
        bool printable = proto_utf8_valid(name, len) && !proto_text_has_control(name, len, false);
        return rd_fail(rd, PROTO_E_RANGE, "unknown indicator type '%s'",
                       printable ? name : "(not printable)");
    }
    r->u.ind.type = (uint8_t)t;
    return PROTO_OK;
}

static int rd_ind_value(struct reader *rd, struct proto_record *r)
{
    return rd_str(rd, r->u.ind.value, LIMIT_VALUE_BYTES);
}

static int rd_ind_valid_until(struct reader *rd, struct proto_record *r)
{
    return rd_uint(rd, &r->u.ind.valid_until_ms);
}

static int rd_ind_confidence(struct reader *rd, struct proto_record *r)
{
    return rd_u8(rd, &r->u.ind.confidence);
}

static int rd_ind_tags(struct reader *rd, struct proto_record *r)
{
    struct proto_indicator *ind = &r->u.ind;
    return rd_str_set(rd, ind->tags[0], sizeof ind->tags[0], LIMIT_TAGS, LIMIT_TAG_BYTES,
                      &ind->n_tags);
}

static int rd_ind_comment(struct reader *rd, struct proto_record *r)
{
    return rd_str(rd, r->u.ind.comment, LIMIT_COMMENT_BYTES);
}

static int rd_rev_target(struct reader *rd, struct proto_record *r)
{
    return rd_bin32(rd, r->u.rev.target);
}

static int rd_rev_reason(struct reader *rd, struct proto_record *r)
{
    return rd_str(rd, r->u.rev.reason, LIMIT_COMMENT_BYTES);
}

static int rd_sight_target(struct reader *rd, struct proto_record *r)
{
    return rd_bin32(rd, r->u.sight.target);
}

static int rd_sight_count(struct reader *rd, struct proto_record *r)
{
    return rd_uint(rd, &r->u.sight.count);
}

static int rd_sight_first_seen(struct reader *rd, struct proto_record *r)
{
    return rd_uint(rd, &r->u.sight.first_seen_ms);
}

static int rd_sight_last_seen(struct reader *rd, struct proto_record *r)
{
    return rd_uint(rd, &r->u.sight.last_seen_ms);
}

static int rd_roster_name(struct reader *rd, struct proto_record *r)
{
    return rd_str(rd, r->u.roster.name, LIMIT_NAME_BYTES);
}

static int rd_roster_version(struct reader *rd, struct proto_record *r)
{
    return rd_uint(rd, &r->u.roster.version);
}

static int rd_roster_members(struct reader *rd, struct proto_record *r)
{
    struct proto_roster *ro = &r->u.roster;
    uint32_t n = 0;
    int rc = rd_array_n(rd, LIMIT_ROSTER_MEMBERS, &n);
    ro->n_members = (uint16_t)n;
    for (uint32_t i = 0; rc == PROTO_OK && i < n; i++) {
        uint32_t entries = 0;
        rc = rd_header(rd, &FAM_ARRAY, NULL, &entries);
        if (rc == PROTO_OK && entries != MEMBER_ENTRIES)
            return rd_fail(rd, PROTO_E_RANGE,
                           "member %u is an array of %u, not [key, organisation]", i, entries);
        if (rc == PROTO_OK)
            rc = rd_bin32(rd, ro->members[i].key);
        if (rc == PROTO_OK)
            rc = rd_str(rd, ro->members[i].org, LIMIT_NAME_BYTES);
    }
    return rc;
}

typedef int (*field_reader)(struct reader *rd, struct proto_record *r);

static const field_reader common_readers[COMMON_FIELDS] = {
    rd_version, rd_kind, rd_origin, rd_created, rd_tlp, rd_communities, rd_recipients,
};
static const field_reader indicator_readers[INDICATOR_FIELDS] = {
    rd_ind_type,       rd_ind_value, rd_ind_valid_until,
    rd_ind_confidence, rd_ind_tags,  rd_ind_comment,
};
static const field_reader revocation_readers[REVOCATION_FIELDS] = {rd_rev_target, rd_rev_reason};
static const field_reader sighting_readers[SIGHTING_FIELDS] = {
    rd_sight_target, rd_sight_count, rd_sight_first_seen, rd_sight_last_seen,
};
static const field_reader roster_readers[ROSTER_FIELDS] = {
    rd_roster_name, rd_roster_version, rd_roster_members,
};

static field_reader reader_for(int kind, uint64_t key)
{
    static const field_reader *const readers[] = {
        [PROTO_KIND_INDICATOR] = indicator_readers,
        [PROTO_KIND_REVOCATION] = revocation_readers,
        [PROTO_KIND_SIGHTING] = sighting_readers,
        [PROTO_KIND_ROSTER] = roster_readers,
    };
    if (key < COMMON_FIELDS)
        return common_readers[key];
    if (key < KEY_KIND_FIRST || key - KEY_KIND_FIRST >= kind_fields(kind))
        return NULL;
    return readers[kind][key - KEY_KIND_FIRST];
}

/* The map's entries, keys strictly ascending; *seen gets one bit per key read. */
static int rd_fields(struct reader *rd, struct proto_record *r, uint32_t *seen)
{
    uint32_t n;
    int rc = rd_header(rd, &FAM_MAP, NULL, &n);
    if (rc != PROTO_OK)
        return rc;
    if (n > MAX_FIELDS)
        return rd_fail(rd, PROTO_E_FIELD, "a map of %u fields; a record has at most %d", n,
                       MAX_FIELDS);
    int prev = -1;
    for (uint32_t i = 0; i < n; i++) {
        uint64_t key;
        rd->key = NO_KEY;
        rc = rd_uint(rd, &key);
        if (rc != PROTO_OK)
            return rc;
        if ((int64_t)key == prev)
            return rd_fail(rd, PROTO_E_FIELD, "duplicate field %d", prev);
        if ((int64_t)key < prev)
            return rd_fail(rd, PROTO_E_FIELD, "field %llu out of order (after field %d)",
                           (unsigned long long)key, prev);
        field_reader read = key <= KEY_MAX ? reader_for(rd->kind, key) : NULL;
        if (read == NULL && key >= KEY_KIND_FIRST && !(*seen & (1u << KEY_KIND)))
            return rd_fail(rd, PROTO_E_FIELD, "missing field 1 (kind)");
        if (read == NULL)
            return rd_fail(rd, PROTO_E_FIELD, "unknown field %llu", (unsigned long long)key);
        rd->key = (int)key;
        rc = read(rd, r);
        if (rc != PROTO_OK)
            return rc;
        *seen |= 1u << key;
        prev = (int)key;
    }
    rd->key = NO_KEY;
    return PROTO_OK;
}

static int check_all_present(struct reader *rd, uint32_t seen)
{
    for (int key = 0; key < COMMON_FIELDS; key++) {
        if (!(seen & (1u << key)))
            return rd_fail(rd, PROTO_E_FIELD, "missing field %d (%s)", key, common_names[key]);
    }
    for (unsigned i = 0; i < kind_fields(rd->kind); i++) {
        int key = KEY_KIND_FIRST + (int)i;
        if (!(seen & (1u << key)))
            return rd_fail(rd, PROTO_E_FIELD, "missing field %d (%s)", key,
                           field_name(rd->kind, key));
    }
    return PROTO_OK;
}

/* checked: the rules and the canonical form too (proto_record_decode); without, only the shape
 * (proto_record_decode_known). */
static int decode(const uint8_t *body, size_t len, struct proto_record *r, char *why,
                  size_t why_len, bool checked)
{
    assert(body != NULL || len == 0);
    assert(r != NULL);
    /* Not the whole struct: the union is as large as a full roster (~25 KB) and gossip decodes
     * every record several times. rd_kind clears the member of the record's kind. A known body
     * gets only its counts cleared (the lists behind them are 3 KB). */
    if (checked) {
        memset(r, 0, offsetof(struct proto_record, u));
    } else {
        r->version = r->kind = r->tlp = 0;
        r->created_ms = 0;
        memset(r->origin, 0, sizeof r->origin);
        r->audience.n_communities = r->audience.n_recipients = 0;
    }
    if (why != NULL && why_len > 0)
        why[0] = '\0';
    struct reader rd = {.p = body, .end = body + len, .key = NO_KEY, .known = !checked,
                        .why = why, .why_len = why_len};
    if (len > LIMIT_RECORD_BYTES)
        return rd_fail(&rd, PROTO_E_TOOBIG, "%zu bytes, over the limit of %d", len,
                       LIMIT_RECORD_BYTES);
    uint32_t seen = 0;
    int rc = rd_fields(&rd, r, &seen);
    if (rc == PROTO_OK)
        rc = check_all_present(&rd, seen);
    if (rc == PROTO_OK && rd.p != rd.end)
        rc = rd_fail(&rd, PROTO_E_NONCANON, "trailing bytes after the map");
    if (rc != PROTO_OK || !checked)
        return rc;
    rc = validate(r, why, why_len);
    if (rc != PROTO_OK)
        return rc;
    /* The definition of canonical: decoding then encoding gives the same bytes. The reader's checks
     * above give precise messages; this makes the property hold even for a case they missed. */
    uint8_t again[LIMIT_RECORD_BYTES];
    size_t n = encode_valid(r, again, sizeof again);
    if (n != len || memcmp(again, body, len) != 0)
        return rd_fail(&rd, PROTO_E_NONCANON, "not the canonical encoding");
    return PROTO_OK;
}

int proto_record_decode(const uint8_t *body, size_t len, struct proto_record *r, char *why,
                        size_t why_len)
{
    return decode(body, len, r, why, why_len, true);
}

int proto_record_decode_known(const uint8_t *body, size_t len, struct proto_record *r)
{
    return decode(body, len, r, NULL, 0, false);
}

/* --- time, ids, signatures --- */

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
