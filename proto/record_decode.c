/* record_decode.c - strict decoding of record bodies (record.h).
 *
 * Decoding does not use msgpack-c's unpacker: its object tree allocates count × 24 bytes for an
 * array header before reading the elements, so five hostile bytes could ask for 100 GB. The
 * reader below reads only the shapes a record may have, straight into struct proto_record, and
 * checks every header for minimality as it goes so that errors name the field.
 */
#include "proto/record_int.h"

#include <assert.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

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
    proto_record_vfail(rd->why, rd->why_len, rd->kind, rd->key, fmt, ap);
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

/* An unsigned integer of at most max. */
static int rd_uint_max(struct reader *rd, uint64_t max, uint64_t *v)
{
    int rc = rd_uint(rd, v);
    if (rc == PROTO_OK && *v > max)
        return rd_fail(rd, PROTO_E_RANGE, "%llu is out of range", (unsigned long long)*v);
    return rc;
}

static int rd_u8(struct reader *rd, uint8_t *out)
{
    uint64_t v = 0;
    int rc = rd_uint_max(rd, UINT8_MAX, &v);
    *out = (uint8_t)v;
    return rc;
}

static int rd_u16(struct reader *rd, uint16_t *out)
{
    uint64_t v = 0;
    int rc = rd_uint_max(rd, UINT16_MAX, &v);
    *out = (uint16_t)v;
    return rc;
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
        r->u.roster.chunk = r->u.roster.chunks = 0;
        memset(r->u.roster.digest, 0, sizeof r->u.roster.digest);
        break;
    }
}

static int rd_kind(struct reader *rd, struct proto_record *r)
{
    int rc = rd_u8(rd, &r->kind);
    if (rc != PROTO_OK)
        return rc;
    if (proto_record_kind_fields(r->kind) == 0)
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

static int rd_roster_chunk(struct reader *rd, struct proto_record *r)
{
    return rd_u16(rd, &r->u.roster.chunk);
}

static int rd_roster_chunks(struct reader *rd, struct proto_record *r)
{
    int rc = rd_u16(rd, &r->u.roster.chunks);
    /* 0 is how memory says "a whole roster", which has no field 20 */
    if (rc == PROTO_OK && r->u.roster.chunks == 0)
        return rd_fail(rd, PROTO_E_RANGE, "0 is not 1..%d", LIMIT_ROSTER_CHUNKS);
    return rc;
}

static int rd_roster_digest(struct reader *rd, struct proto_record *r)
{
    return rd_bin32(rd, r->u.roster.digest);
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
    rd_roster_name,  rd_roster_version, rd_roster_members,
    rd_roster_chunk, rd_roster_chunks,  rd_roster_digest,
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
    if (key < KEY_KIND_FIRST || key - KEY_KIND_FIRST >= proto_record_kind_fields(kind))
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
            return rd_fail(rd, PROTO_E_FIELD, "missing field %d (%s)", key,
                           proto_record_field_name(rd->kind, key));
    }
    const unsigned required = proto_record_kind_required(rd->kind);
    /* Optional fields come as a group: all of them or none (a roster's chunk, chunks, digest). */
    const unsigned all = proto_record_kind_fields(rd->kind);
    const uint32_t optional_keys = ((1u << all) - (1u << required)) << KEY_KIND_FIRST;
    const unsigned n = (seen & optional_keys) != 0 ? all : required;
    for (unsigned i = 0; i < n; i++) {
        int key = KEY_KIND_FIRST + (int)i;
        if (!(seen & (1u << key)))
            return rd_fail(rd, PROTO_E_FIELD, "missing field %d (%s)", key,
                           proto_record_field_name(rd->kind, key));
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
    rc = proto_record_validate(r, why, why_len);
    if (rc != PROTO_OK)
        return rc;
    /* The definition of canonical: decoding then encoding gives the same bytes. The reader's checks
     * above give precise messages; this makes the property hold even for a case they missed. */
    uint8_t again[LIMIT_RECORD_BYTES];
    size_t n = proto_record_encode_valid(r, again, sizeof again);
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
