/* test_proto.c - records, indicator values and TLP names (proto/).
 *
 * Bodies for the decoder tests are written by a small msgpack writer here, independent of the
 * encoder, so that every non-canonical variant is one explicit change to a canonical body.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "crypto/keys.h"
#include "proto/indicator.h"
#include "proto/record.h"
#include "proto/tlp.h"
#include "tests/support/ts_ident.h"

#define T_CREATED 1700000000000ULL
#define T_VALID_UNTIL (T_CREATED + 30ULL * 86400 * 1000)
#define WHY_LEN 512

/* --- an independent msgpack writer --- */

struct buf {
    uint8_t b[LIMIT_RECORD_BYTES + 256];
    size_t n;
};

static void put(struct buf *b, const void *p, size_t n)
{
    assert_true(n <= sizeof b->b - b->n);
    memcpy(b->b + b->n, p, n);
    b->n += n;
}

static void put_byte(struct buf *b, uint8_t c)
{
    put(b, &c, 1);
}

static void put_be(struct buf *b, uint64_t v, unsigned width)
{
    for (unsigned i = width; i > 0; i--)
        put_byte(b, (uint8_t)(v >> (8 * (i - 1))));
}

static void mp_uint(struct buf *b, uint64_t v)
{
    if (v < 0x80) {
        put_byte(b, (uint8_t)v);
    } else if (v <= UINT8_MAX) {
        put_byte(b, 0xcc), put_be(b, v, 1);
    } else if (v <= UINT16_MAX) {
        put_byte(b, 0xcd), put_be(b, v, 2);
    } else if (v <= UINT32_MAX) {
        put_byte(b, 0xce), put_be(b, v, 4);
    } else {
        put_byte(b, 0xcf), put_be(b, v, 8);
    }
}

static void mp_strn(struct buf *b, const char *s, size_t n)
{
    if (n < 32) {
        put_byte(b, (uint8_t)(0xa0 | n));
    } else if (n <= UINT8_MAX) {
        put_byte(b, 0xd9), put_be(b, n, 1);
    } else {
        put_byte(b, 0xda), put_be(b, n, 2);
    }
    put(b, s, n);
}

static void mp_str(struct buf *b, const char *s)
{
    mp_strn(b, s, strlen(s));
}

static void mp_bin32(struct buf *b, const uint8_t k[32])
{
    put_byte(b, 0xc4), put_byte(b, 32), put(b, k, 32);
}

static void mp_array(struct buf *b, unsigned n)
{
    if (n < 16)
        put_byte(b, (uint8_t)(0x90 | n));
    else
        put_byte(b, 0xdc), put_be(b, n, 2);
}

/* A record as a list of (key, value bytes) entries, so that tests can change one entry. */
struct field {
    uint64_t key;
    struct buf val;
};

struct fields {
    unsigned n;
    struct field f[16];
    bool map16;          /* write the map header as map16 (non-minimal) */
    struct buf trailer;  /* bytes after the entries */
    unsigned trailer_entries; /* map entries written in trailer, counted in the header */
};

static struct buf *field_val(struct fields *fs, uint64_t key)
{
    for (unsigned i = 0; i < fs->n; i++) {
        if (fs->f[i].key == key) {
            fs->f[i].val.n = 0;
            return &fs->f[i].val;
        }
    }
    fail_msg("no field %llu", (unsigned long long)key);
    return NULL;
}

static struct buf *add_field(struct fields *fs, uint64_t key)
{
    assert_true(fs->n < 16);
    struct field *f = &fs->f[fs->n++];
    f->key = key;
    f->val.n = 0;
    return &f->val;
}

static void drop_field(struct fields *fs, uint64_t key)
{
    for (unsigned i = 0; i < fs->n; i++) {
        if (fs->f[i].key == key) {
            memmove(&fs->f[i], &fs->f[i + 1], (fs->n - i - 1) * sizeof fs->f[0]);
            fs->n--;
            return;
        }
    }
    fail_msg("no field %llu", (unsigned long long)key);
}

static void assemble(const struct fields *fs, struct buf *out)
{
    out->n = 0;
    unsigned entries = fs->n + fs->trailer_entries;
    if (fs->map16)
        put_byte(out, 0xde), put_be(out, entries, 2);
    else
        put_byte(out, (uint8_t)(0x80 | entries));
    for (unsigned i = 0; i < fs->n; i++) {
        mp_uint(out, fs->f[i].key);
        put(out, fs->f[i].val.b, fs->f[i].val.n);
    }
    put(out, fs->trailer.b, fs->trailer.n);
}

/* --- the sample records --- */

static void sample_origin(uint8_t k[32])
{
    for (int i = 0; i < 32; i++)
        k[i] = (uint8_t)(0x10 + i);
}

static void sample_indicator(struct proto_record *r)
{
    memset(r, 0, sizeof *r);
    r->version = PROTO_RECORD_VERSION;
    r->kind = PROTO_KIND_INDICATOR;
    r->tlp = PROTO_TLP_GREEN;
    r->created_ms = T_CREATED;
    sample_origin(r->origin);
    r->audience.n_communities = 2;
    strcpy(r->audience.communities[0], "cert-eu");
    strcpy(r->audience.communities[1], "energy");
    r->u.ind.type = PROTO_ITYPE_IP_DST;
    strcpy(r->u.ind.value, "192.0.2.1");
    r->u.ind.valid_until_ms = T_VALID_UNTIL;
    r->u.ind.confidence = 80;
    r->u.ind.n_tags = 2;
    strcpy(r->u.ind.tags[0], "apt");
    strcpy(r->u.ind.tags[1], "c2");
    strcpy(r->u.ind.comment, "seen in phishing");
}

/* The same record as sample_indicator(), written entry by entry. */
static void sample_indicator_fields(struct fields *fs)
{
    memset(fs, 0, sizeof *fs);
    uint8_t origin[32];
    sample_origin(origin);
    mp_uint(add_field(fs, 0), 1);
    mp_uint(add_field(fs, 1), 1);
    mp_bin32(add_field(fs, 2), origin);
    mp_uint(add_field(fs, 3), T_CREATED);
    mp_uint(add_field(fs, 4), 1);
    struct buf *c = add_field(fs, 5);
    mp_array(c, 2), mp_str(c, "cert-eu"), mp_str(c, "energy");
    mp_array(add_field(fs, 6), 0);
    mp_str(add_field(fs, 16), "ip-dst");
    mp_str(add_field(fs, 17), "192.0.2.1");
    mp_uint(add_field(fs, 18), T_VALID_UNTIL);
    mp_uint(add_field(fs, 19), 80);
    struct buf *t = add_field(fs, 20);
    mp_array(t, 2), mp_str(t, "apt"), mp_str(t, "c2");
    mp_str(add_field(fs, 21), "seen in phishing");
}

static void sample_revocation(struct proto_record *r)
{
    memset(r, 0, sizeof *r);
    r->version = PROTO_RECORD_VERSION;
    r->kind = PROTO_KIND_REVOCATION;
    r->tlp = PROTO_TLP_RED;
    r->created_ms = T_CREATED + 5;
    sample_origin(r->origin);
    r->audience.n_recipients = 2;
    memset(r->audience.recipients[0], 0x01, 32);
    memset(r->audience.recipients[1], 0xfe, 32);
    memset(r->u.rev.target, 0xab, 32);
    strcpy(r->u.rev.reason, "false positive: shared hosting");
}

static void sample_revocation_fields(struct fields *fs)
{
    memset(fs, 0, sizeof *fs);
    uint8_t k[32];
    sample_origin(k);
    mp_uint(add_field(fs, 0), 1);
    mp_uint(add_field(fs, 1), 2);
    mp_bin32(add_field(fs, 2), k);
    mp_uint(add_field(fs, 3), T_CREATED + 5);
    mp_uint(add_field(fs, 4), 4);
    mp_array(add_field(fs, 5), 0);
    struct buf *rc = add_field(fs, 6);
    mp_array(rc, 2);
    memset(k, 0x01, 32), mp_bin32(rc, k);
    memset(k, 0xfe, 32), mp_bin32(rc, k);
    memset(k, 0xab, 32), mp_bin32(add_field(fs, 16), k);
    mp_str(add_field(fs, 17), "false positive: shared hosting");
}

static void sample_sighting(struct proto_record *r)
{
    memset(r, 0, sizeof *r);
    r->version = PROTO_RECORD_VERSION;
    r->kind = PROTO_KIND_SIGHTING;
    r->tlp = PROTO_TLP_GREEN;
    r->created_ms = T_CREATED + 7;
    sample_origin(r->origin);
    memset(r->u.sight.target, 0xcd, 32);
    r->u.sight.count = 300;
    r->u.sight.first_seen_ms = T_CREATED - 1000;
    r->u.sight.last_seen_ms = T_CREATED;
}

static void sample_sighting_fields(struct fields *fs)
{
    memset(fs, 0, sizeof *fs);
    uint8_t k[32];
    sample_origin(k);
    mp_uint(add_field(fs, 0), 1);
    mp_uint(add_field(fs, 1), 3);
    mp_bin32(add_field(fs, 2), k);
    mp_uint(add_field(fs, 3), T_CREATED + 7);
    mp_uint(add_field(fs, 4), 1);
    mp_array(add_field(fs, 5), 0);
    mp_array(add_field(fs, 6), 0);
    memset(k, 0xcd, 32), mp_bin32(add_field(fs, 16), k);
    mp_uint(add_field(fs, 17), 300);
    mp_uint(add_field(fs, 18), T_CREATED - 1000);
    mp_uint(add_field(fs, 19), T_CREATED);
}

static void sample_roster(struct proto_record *r)
{
    memset(r, 0, sizeof *r);
    r->version = PROTO_RECORD_VERSION;
    r->kind = PROTO_KIND_ROSTER;
    r->tlp = PROTO_TLP_GREEN;
    r->created_ms = T_CREATED + 9;
    sample_origin(r->origin);
    r->audience.n_communities = 1;
    strcpy(r->audience.communities[0], "eu-energy");
    strcpy(r->u.roster.name, "eu-energy");
    r->u.roster.version = 2;
    r->u.roster.n_members = 2;
    memset(r->u.roster.members[0].key, 0x02, 32);
    strcpy(r->u.roster.members[0].org, "cert-b");
    memset(r->u.roster.members[1].key, 0x07, 32);
    strcpy(r->u.roster.members[1].org, "cert-a");
}

/* A member [key of byte b repeated, org] into v. */
static void mp_member(struct buf *v, uint8_t b, const char *org)
{
    uint8_t k[32];
    memset(k, b, 32);
    mp_array(v, 2), mp_bin32(v, k), mp_str(v, org);
}

static void sample_roster_fields(struct fields *fs)
{
    memset(fs, 0, sizeof *fs);
    uint8_t k[32];
    sample_origin(k);
    mp_uint(add_field(fs, 0), 1);
    mp_uint(add_field(fs, 1), 4);
    mp_bin32(add_field(fs, 2), k);
    mp_uint(add_field(fs, 3), T_CREATED + 9);
    mp_uint(add_field(fs, 4), 1);
    struct buf *c = add_field(fs, 5);
    mp_array(c, 1), mp_str(c, "eu-energy");
    mp_array(add_field(fs, 6), 0);
    mp_str(add_field(fs, 16), "eu-energy");
    mp_uint(add_field(fs, 17), 2);
    struct buf *m = add_field(fs, 18);
    mp_array(m, 2), mp_member(m, 0x02, "cert-b"), mp_member(m, 0x07, "cert-a");
}

static int decode_fields(const struct fields *fs, char *why)
{
    struct buf body;
    struct proto_record r;
    assemble(fs, &body);
    return proto_record_decode(body.b, body.n, &r, why, WHY_LEN);
}

/* --- round trips --- */

static void round_trip(const struct proto_record *r, const struct fields *fs)
{
    uint8_t out[LIMIT_RECORD_BYTES];
    struct buf want;
    assemble(fs, &want);
    int n = proto_record_encode(r, out, sizeof out);
    assert_int_equal(n, (int)want.n);
    assert_memory_equal(out, want.b, want.n);

    struct proto_record back = {0}; /* decode leaves the union past r's kind as it finds it */
    char why[WHY_LEN];
    assert_int_equal(proto_record_decode(out, (size_t)n, &back, why, sizeof why), PROTO_OK);
    assert_memory_equal(&back, r, sizeof back);

    /* decode_known fills the same values over whatever the record held: it encodes back to the
     * same bytes although nothing past counts and strings was cleared. */
    struct proto_record known;
    memset(&known, 0xa5, sizeof known);
    assert_int_equal(proto_record_decode_known(out, (size_t)n, &known), PROTO_OK);
    uint8_t again[LIMIT_RECORD_BYTES];
    assert_int_equal(proto_record_encode(&known, again, sizeof again), n);
    assert_memory_equal(again, out, (size_t)n);

    /* One byte short of the output buffer is refused, not truncated. */
    assert_int_equal(proto_record_encode(r, out, (size_t)n - 1), PROTO_E_NOSPACE);
}

static void test_round_trip_indicator(void **state)
{
    (void)state;
    struct proto_record r;
    struct fields fs;
    sample_indicator(&r);
    sample_indicator_fields(&fs);
    round_trip(&r, &fs);
}

static void test_round_trip_revocation(void **state)
{
    (void)state;
    struct proto_record r;
    struct fields fs;
    sample_revocation(&r);
    sample_revocation_fields(&fs);
    round_trip(&r, &fs);
}

static void test_round_trip_sighting(void **state)
{
    (void)state;
    struct proto_record r;
    struct fields fs;
    sample_sighting(&r);
    sample_sighting_fields(&fs);
    round_trip(&r, &fs);
}

static void test_round_trip_roster(void **state)
{
    (void)state;
    struct proto_record r;
    struct fields fs;
    sample_roster(&r);
    sample_roster_fields(&fs);
    round_trip(&r, &fs);
}

/* Every field at its limit: str8/str16 and array16 headers, 64-bit integers. */
static void test_round_trip_limits(void **state)
{
    (void)state;
    struct proto_record r;
    sample_indicator(&r);
    r.tlp = PROTO_TLP_RED;
    r.created_ms = UINT64_MAX - 1;
    r.u.ind.valid_until_ms = UINT64_MAX;
    r.u.ind.confidence = 100;
    r.u.ind.type = PROTO_ITYPE_URL;
    strcpy(r.u.ind.value, "https://example.org/");
    memset(r.u.ind.value + 20, 'a', LIMIT_VALUE_BYTES - 20);
    r.u.ind.value[LIMIT_VALUE_BYTES] = '\0';
    memset(&r.audience, 0, sizeof r.audience);
    r.audience.n_communities = LIMIT_AUDIENCE_COMMUNITIES;
    for (int i = 0; i < LIMIT_AUDIENCE_COMMUNITIES; i++)
        snprintf(r.audience.communities[i], sizeof r.audience.communities[i], "c%02d", i);
    r.audience.n_recipients = 40;
    for (int i = 0; i < 40; i++)
        memset(r.audience.recipients[i], i, 32);
    memset(r.u.ind.tags, 0, sizeof r.u.ind.tags);
    r.u.ind.n_tags = LIMIT_TAGS;
    for (int i = 0; i < LIMIT_TAGS; i++) {
        memset(r.u.ind.tags[i], 'a' + i, LIMIT_TAG_BYTES);
        r.u.ind.tags[i][LIMIT_TAG_BYTES] = '\0';
    }
    memset(r.u.ind.comment, 'x', 300);
    r.u.ind.comment[300] = '\0';

    uint8_t out[LIMIT_RECORD_BYTES];
    int n = proto_record_encode(&r, out, sizeof out);
    assert_true(n > 0);
    struct proto_record back = {0}; /* decode leaves the union past r's kind as it finds it */
    char why[WHY_LEN];
    assert_int_equal(proto_record_decode(out, (size_t)n, &back, why, sizeof why), PROTO_OK);
    assert_memory_equal(&back, &r, sizeof r);

    /* A record whose fields are each within limits can still be over LIMIT_RECORD_BYTES. */
    r.audience.n_recipients = LIMIT_AUDIENCE_RECIPIENTS;
    for (int i = 0; i < LIMIT_AUDIENCE_RECIPIENTS; i++)
        memset(r.audience.recipients[i], i, 32);
    memset(r.u.ind.comment, 'x', LIMIT_COMMENT_BYTES);
    r.u.ind.comment[LIMIT_COMMENT_BYTES] = '\0';
    for (int i = 0; i < LIMIT_AUDIENCE_COMMUNITIES; i++) {
        memset(r.audience.communities[i], 'a' + i, LIMIT_NAME_BYTES);
        r.audience.communities[i][LIMIT_NAME_BYTES] = '\0';
    }
    assert_int_equal(proto_record_encode(&r, out, sizeof out), PROTO_E_TOOBIG);
}

/* --- non-canonical and invalid bodies --- */

struct mutation {
    const char *name;
    void (*apply)(struct fields *fs);
    int rc;
    const char *why; /* a substring of the reason */
};

static void m_fixint_as_uint8(struct fields *fs)
{
    struct buf *v = field_val(fs, 19);
    put_byte(v, 0xcc), put_byte(v, 80);
}

static void m_uint16_for_fixint(struct fields *fs)
{
    struct buf *v = field_val(fs, 19);
    put_byte(v, 0xcd), put_be(v, 80, 2);
}

static void m_uint64_for_small(struct fields *fs)
{
    struct buf *v = field_val(fs, 3);
    put_byte(v, 0xcf), put_be(v, 1000, 8);
    v = field_val(fs, 18);
    mp_uint(v, 2000);
}

static void m_key_as_uint8(struct fields *fs)
{
    /* Key 19 written as 0xcc 0x13: the value bytes follow the key, so rebuild both. */
    drop_field(fs, 19);
    drop_field(fs, 20);
    drop_field(fs, 21);
    struct buf *tail = &fs->trailer;
    put_byte(tail, 0xcc), put_byte(tail, 19), mp_uint(tail, 80);
    mp_uint(tail, 20), mp_array(tail, 0);
    mp_uint(tail, 21), mp_str(tail, "");
    fs->trailer_entries = 3;
}

static void m_str8_for_fixstr(struct fields *fs)
{
    struct buf *v = field_val(fs, 17);
    put_byte(v, 0xd9), put_byte(v, 9), put(v, "192.0.2.1", 9);
}

static void m_str16_for_str8(struct fields *fs)
{
    char text[40];
    memset(text, 'x', sizeof text);
    struct buf *v = field_val(fs, 21);
    put_byte(v, 0xda), put_be(v, sizeof text, 2), put(v, text, sizeof text);
}

static void m_array16_for_fixarray(struct fields *fs)
{
    struct buf *v = field_val(fs, 20);
    put_byte(v, 0xdc), put_be(v, 2, 2), mp_str(v, "apt"), mp_str(v, "c2");
}

static void m_map16(struct fields *fs)
{
    fs->map16 = true;
}

static void m_trailing(struct fields *fs)
{
    put_byte(&fs->trailer, 0xc0);
}

static void m_truncated(struct fields *fs)
{
    struct buf *v = field_val(fs, 21);
    put_byte(v, 0xa5), put(v, "abc", 3);
}

static void m_utf8_overlong(struct fields *fs)
{
    mp_strn(field_val(fs, 21), "a\xc0\xafz", 4);
}

static void m_utf8_overlong3(struct fields *fs)
{
    mp_strn(field_val(fs, 21), "\xe0\x80\xaf", 3);
}

static void m_utf8_surrogate(struct fields *fs)
{
    mp_strn(field_val(fs, 21), "x\xed\xa0\x80", 4);
}

static void m_utf8_truncated(struct fields *fs)
{
    mp_strn(field_val(fs, 21), "x\xe2\x82", 3);
}

static void m_utf8_too_high(struct fields *fs)
{
    mp_strn(field_val(fs, 21), "\xf4\x90\x80\x80", 4);
}

static void m_nul_in_str(struct fields *fs)
{
    mp_strn(field_val(fs, 21), "a\0b", 3);
}

static void m_unknown_22(struct fields *fs)
{
    mp_uint(add_field(fs, 22), 0);
    drop_field(fs, 21); /* keep the map within 13 entries */
}

static void m_unknown_7(struct fields *fs)
{
    drop_field(fs, 21);
    /* Insert key 7 between 6 and 16. */
    memmove(&fs->f[8], &fs->f[7], (fs->n - 7) * sizeof fs->f[0]);
    fs->n++;
    fs->f[7].key = 7;
    fs->f[7].val.n = 0;
    mp_uint(&fs->f[7].val, 0);
}

static void m_missing(struct fields *fs)
{
    drop_field(fs, 19);
}

static void m_missing_kind(struct fields *fs)
{
    drop_field(fs, 1);
}

static void m_out_of_order(struct fields *fs)
{
    struct field tmp = fs->f[8];
    fs->f[8] = fs->f[9];
    fs->f[9] = tmp;
}

static void m_duplicate(struct fields *fs)
{
    fs->f[10].key = 18; /* 18, 18 in place of 18, 19 */
    fs->f[10].val = fs->f[9].val;
}

static void m_too_many_fields(struct fields *fs)
{
    mp_uint(add_field(fs, 22), 0);
}

static void m_tlp5(struct fields *fs)
{
    mp_uint(field_val(fs, 4), 5);
}

static void m_confidence101(struct fields *fs)
{
    mp_uint(field_val(fs, 19), 101);
}

static void m_negative(struct fields *fs)
{
    put_byte(field_val(fs, 19), 0xff);
}

static void m_signed_positive(struct fields *fs)
{
    struct buf *v = field_val(fs, 19);
    put_byte(v, 0xd0), put_byte(v, 80);
}

static void m_float(struct fields *fs)
{
    struct buf *v = field_val(fs, 19);
    put_byte(v, 0xca), put_be(v, 0x42a00000, 4);
}

static void m_bin_for_str(struct fields *fs)
{
    struct buf *v = field_val(fs, 17);
    put_byte(v, 0xc4), put_byte(v, 9), put(v, "192.0.2.1", 9);
}

static void m_str_for_bin(struct fields *fs)
{
    uint8_t k[32];
    sample_origin(k);
    struct buf *v = field_val(fs, 2);
    put_byte(v, 0xd9), put_byte(v, 32), put(v, k, 32);
}

static void m_origin_short(struct fields *fs)
{
    uint8_t k[31] = {0};
    struct buf *v = field_val(fs, 2);
    put_byte(v, 0xc4), put_byte(v, 31), put(v, k, 31);
}

static void m_unsorted_tags(struct fields *fs)
{
    struct buf *v = field_val(fs, 20);
    mp_array(v, 2), mp_str(v, "c2"), mp_str(v, "apt");
}

static void m_duplicate_tags(struct fields *fs)
{
    struct buf *v = field_val(fs, 20);
    mp_array(v, 2), mp_str(v, "c2"), mp_str(v, "c2");
}

static void m_unsorted_communities(struct fields *fs)
{
    struct buf *v = field_val(fs, 5);
    mp_array(v, 2), mp_str(v, "energy"), mp_str(v, "cert-eu");
}

static void m_red_no_recipients(struct fields *fs)
{
    mp_uint(field_val(fs, 4), 4);
}

static void m_value_over_limit(struct fields *fs)
{
    static char big[LIMIT_VALUE_BYTES + 1];
    memset(big, 'a', sizeof big);
    mp_strn(field_val(fs, 17), big, sizeof big);
}

static void m_too_many_tags(struct fields *fs)
{
    struct buf *v = field_val(fs, 20);
    mp_array(v, LIMIT_TAGS + 1);
    for (int i = 0; i < LIMIT_TAGS + 1; i++) {
        char tag[8];
        snprintf(tag, sizeof tag, "t%02d", i);
        mp_str(v, tag);
    }
}

static void m_huge_array(struct fields *fs)
{
    struct buf *v = field_val(fs, 5);
    put_byte(v, 0xdd), put_be(v, 0xffffffffu, 4);
}

static void m_huge_str(struct fields *fs)
{
    struct buf *v = field_val(fs, 21);
    put_byte(v, 0xdb), put_be(v, 0xffffffffu, 4);
}

static void m_value_invalid(struct fields *fs)
{
    mp_str(field_val(fs, 17), "1.2.3");
}

static void m_value_not_normal(struct fields *fs)
{
    mp_str(field_val(fs, 16), "domain");
    mp_str(field_val(fs, 17), "Example.ORG");
}

static void m_unknown_type(struct fields *fs)
{
    mp_str(field_val(fs, 16), "ip-any");
}

static void m_version2(struct fields *fs)
{
    mp_uint(field_val(fs, 0), 2);
}

/* An indicator body under the sighting kind: its fields are not a sighting's. */
static void m_kind_sighting(struct fields *fs)
{
    mp_uint(field_val(fs, 1), 3);
}

static void m_kind_unknown(struct fields *fs)
{
    mp_uint(field_val(fs, 1), 9);
}

static void m_valid_before_created(struct fields *fs)
{
    mp_uint(field_val(fs, 18), T_CREATED);
}

static void m_empty_tag(struct fields *fs)
{
    struct buf *v = field_val(fs, 20);
    mp_array(v, 1), mp_str(v, "");
}

static void m_control_in_tag(struct fields *fs)
{
    struct buf *v = field_val(fs, 20);
    mp_array(v, 1), mp_str(v, "a\x1b[31m");
}

static void m_comment_over_limit(struct fields *fs)
{
    static char big[LIMIT_COMMENT_BYTES + 1];
    memset(big, 'c', sizeof big);
    mp_strn(field_val(fs, 21), big, sizeof big);
}

static void m_not_a_map(struct fields *fs)
{
    fs->n = 0;
    fs->map16 = false;
    /* An empty map is still a map; make the whole body an array instead. */
    fs->trailer.n = 0;
}

static const struct mutation mutations[] = {
    {"fixint as uint8", m_fixint_as_uint8, PROTO_E_NONCANON,
     "record field 19 (confidence): non-minimal encoding of integer 80"},
    {"uint16 for fixint", m_uint16_for_fixint, PROTO_E_NONCANON, "non-minimal"},
    {"uint64 for small", m_uint64_for_small, PROTO_E_NONCANON,
     "record field 3 (created): non-minimal encoding of integer 1000"},
    {"key as uint8", m_key_as_uint8, PROTO_E_NONCANON, "record: non-minimal encoding of integer 19"},
    {"str8 for fixstr", m_str8_for_fixstr, PROTO_E_NONCANON,
     "record field 17 (value): non-minimal a str header for length 9"},
    {"str16 for str8", m_str16_for_str8, PROTO_E_NONCANON, "non-minimal a str header"},
    {"array16 for fixarray", m_array16_for_fixarray, PROTO_E_NONCANON,
     "record field 20 (tags): non-minimal an array header for length 2"},
    {"map16 for fixmap", m_map16, PROTO_E_NONCANON, "record: non-minimal a map header"},
    {"trailing bytes", m_trailing, PROTO_E_NONCANON, "record: trailing bytes after the map"},
    {"truncated str", m_truncated, PROTO_E_MALFORMED, "record field 21 (comment): truncated"},
    {"overlong utf-8", m_utf8_overlong, PROTO_E_UTF8, "record field 21 (comment): not valid UTF-8"},
    {"overlong utf-8 3 bytes", m_utf8_overlong3, PROTO_E_UTF8, "not valid UTF-8"},
    {"surrogate", m_utf8_surrogate, PROTO_E_UTF8, "not valid UTF-8"},
    {"truncated utf-8", m_utf8_truncated, PROTO_E_UTF8, "not valid UTF-8"},
    {"above U+10FFFF", m_utf8_too_high, PROTO_E_UTF8, "not valid UTF-8"},
    {"NUL in str", m_nul_in_str, PROTO_E_UTF8, "NUL"},
    {"unknown field 22", m_unknown_22, PROTO_E_FIELD, "record: unknown field 22"},
    {"unknown field 7", m_unknown_7, PROTO_E_FIELD, "record: unknown field 7"},
    {"missing field", m_missing, PROTO_E_FIELD, "record: missing field 19 (confidence)"},
    {"missing kind", m_missing_kind, PROTO_E_FIELD, "record: missing field 1 (kind)"},
    {"out of order", m_out_of_order, PROTO_E_FIELD, "record: field 17 out of order (after field 18)"},
    {"duplicate key", m_duplicate, PROTO_E_FIELD, "record: duplicate field 18"},
    {"too many fields", m_too_many_fields, PROTO_E_FIELD, "a map of 14 fields"},
    {"tlp 5", m_tlp5, PROTO_E_RANGE, "record field 4 (tlp): 5 is not 0..4"},
    {"confidence 101", m_confidence101, PROTO_E_RANGE, "record field 19 (confidence): 101"},
    {"negative int", m_negative, PROTO_E_RANGE, "negative integer"},
    {"int8 for positive", m_signed_positive, PROTO_E_NONCANON, "signed encoding"},
    {"float for uint", m_float, PROTO_E_MALFORMED, "expected an unsigned integer, found a float"},
    {"bin for str", m_bin_for_str, PROTO_E_NONCANON,
     "record field 17 (value): a bin where a str is expected"},
    {"str for bin", m_str_for_bin, PROTO_E_NONCANON, "a str where a bin is expected"},
    {"origin 31 bytes", m_origin_short, PROTO_E_RANGE, "record field 2 (origin): 31 bytes, not 32"},
    {"unsorted tags", m_unsorted_tags, PROTO_E_NONCANON,
     "record field 20 (tags): not sorted ascending without duplicates"},
    {"duplicate tags", m_duplicate_tags, PROTO_E_NONCANON, "not sorted ascending"},
    {"unsorted communities", m_unsorted_communities, PROTO_E_NONCANON,
     "record field 5 (communities): not sorted"},
    {"red without recipients", m_red_no_recipients, PROTO_E_AUDIENCE,
     "record field 6 (recipients): TLP:RED needs at least one recipient"},
    {"value over limit", m_value_over_limit, PROTO_E_TOOBIG,
     "record field 17 (value): 2049 bytes, over the limit of 2048"},
    {"too many tags", m_too_many_tags, PROTO_E_TOOBIG, "17 elements, over the limit of 16"},
    {"array32 of 4G", m_huge_array, PROTO_E_TOOBIG, "over the limit of 16"},
    {"str32 of 4G", m_huge_str, PROTO_E_TOOBIG, "over the limit of 1024"},
    {"comment over limit", m_comment_over_limit, PROTO_E_TOOBIG, "1025 bytes"},
    {"invalid value", m_value_invalid, PROTO_E_VALUE,
     "record field 17 (value): ip-dst: '1.2.3' is not an IPv4 or IPv6 address"},
    {"value not normal", m_value_not_normal, PROTO_E_NONCANON,
     "record field 17 (value): domain: not in normal form; it is written 'example.org'"},
    {"unknown type", m_unknown_type, PROTO_E_RANGE, "unknown indicator type 'ip-any'"},
    {"version 2", m_version2, PROTO_E_VERSION, "record field 0 (version): version 2"},
    {"kind sighting", m_kind_sighting, PROTO_E_NONCANON,
     "record field 16 (target): a str where a bin is expected"},
    {"kind unknown", m_kind_unknown, PROTO_E_RANGE, "unknown kind 9"},
    {"valid_until not after created", m_valid_before_created, PROTO_E_RANGE,
     "record field 18 (valid_until)"},
    {"empty tag", m_empty_tag, PROTO_E_RANGE, "record field 20 (tags): empty text"},
    {"escape in tag", m_control_in_tag, PROTO_E_RANGE, "control character"},
    {"empty map", m_not_a_map, PROTO_E_FIELD, "record: missing field 0 (version)"},
};

static void test_noncanonical_variants(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof mutations / sizeof mutations[0]; i++) {
        const struct mutation *m = &mutations[i];
        struct fields fs;
        char why[WHY_LEN] = "";
        sample_indicator_fields(&fs);
        m->apply(&fs);
        int rc = decode_fields(&fs, why);
        if (rc != m->rc || strstr(why, m->why) == NULL)
            fail_msg("%s: got %d (%s) '%s', want %d with '%s'", m->name, rc, proto_strerror(rc),
                     why, m->rc, m->why);
    }
}

static void test_malformed_bodies(void **state)
{
    (void)state;
    struct proto_record r;
    char why[WHY_LEN];
    const uint8_t array[] = {0x90};
    assert_int_equal(proto_record_decode(array, sizeof array, &r, why, sizeof why),
                     PROTO_E_MALFORMED);
    assert_string_equal(why, "record: expected a map, found an array");
    assert_int_equal(proto_record_decode(array, 0, &r, why, sizeof why), PROTO_E_MALFORMED);
    assert_string_equal(why, "record: truncated");
    const uint8_t reserved[] = {0xc1};
    assert_int_equal(proto_record_decode(reserved, 1, &r, NULL, 0), PROTO_E_MALFORMED);

    static uint8_t big[LIMIT_RECORD_BYTES + 1];
    assert_int_equal(proto_record_decode(big, sizeof big, &r, why, sizeof why), PROTO_E_TOOBIG);
}

/* Every prefix and every one-byte change of valid bodies: never a crash, and whatever decodes is
 * canonical (its encoding is exactly the input). */
static void check_mutants(const uint8_t *body, size_t len)
{
    uint8_t m[LIMIT_RECORD_BYTES];
    uint8_t again[LIMIT_RECORD_BYTES];
    struct proto_record r;
    char why[WHY_LEN];
    for (size_t n = 0; n < len; n++)
        assert_true(proto_record_decode(body, n, &r, why, sizeof why) < 0);
    for (size_t i = 0; i < len; i++) {
        memcpy(m, body, len);
        for (int b = 0; b < 256; b++) {
            m[i] = (uint8_t)b;
            if (proto_record_decode(m, len, &r, why, sizeof why) != PROTO_OK)
                continue;
            assert_int_equal(proto_record_encode(&r, again, sizeof again), (int)len);
            assert_memory_equal(again, m, len);
        }
    }
}

static void test_mutants(void **state)
{
    (void)state;
    struct fields fs;
    struct buf body;
    sample_indicator_fields(&fs);
    assemble(&fs, &body);
    check_mutants(body.b, body.n);
    sample_revocation_fields(&fs);
    assemble(&fs, &body);
    check_mutants(body.b, body.n);
    sample_sighting_fields(&fs);
    assemble(&fs, &body);
    check_mutants(body.b, body.n);
    sample_roster_fields(&fs);
    assemble(&fs, &body);
    check_mutants(body.b, body.n);
}

static void test_revocation_rules(void **state)
{
    (void)state;
    struct fields fs;
    char why[WHY_LEN];
    sample_revocation_fields(&fs);
    static char big[LIMIT_COMMENT_BYTES + 1];
    memset(big, 'r', sizeof big);
    mp_strn(field_val(&fs, 17), big, sizeof big);
    assert_int_equal(decode_fields(&fs, why), PROTO_E_TOOBIG);
    assert_non_null(strstr(why, "record field 17 (reason): 1025 bytes"));

    sample_revocation_fields(&fs);
    mp_strn(field_val(&fs, 17), big, LIMIT_COMMENT_BYTES);
    assert_int_equal(decode_fields(&fs, why), PROTO_OK);

    sample_revocation_fields(&fs);
    uint8_t id[31] = {0};
    struct buf *v = field_val(&fs, 16);
    put_byte(v, 0xc4), put_byte(v, 31), put(v, id, 31);
    assert_int_equal(decode_fields(&fs, why), PROTO_E_RANGE);
    assert_non_null(strstr(why, "record field 16 (target): 31 bytes, not 32"));

    /* An indicator field in a revocation is unknown there. */
    sample_revocation_fields(&fs);
    mp_uint(add_field(&fs, 18), 5);
    assert_int_equal(decode_fields(&fs, why), PROTO_E_FIELD);
    assert_string_equal(why, "record: unknown field 18");
}

/* One rule of the sighting or roster body broken: the decoder and the encoder refuse it alike. */
static void expect_refused(const struct fields *fs, int want_rc, const char *want_why)
{
    char why[WHY_LEN] = "";
    int rc = decode_fields(fs, why);
    if (rc != want_rc || strstr(why, want_why) == NULL)
        fail_msg("got %d (%s) '%s', want %d with '%s'", rc, proto_strerror(rc), why, want_rc,
                 want_why);
}

static void test_sighting_rules(void **state)
{
    (void)state;
    struct fields fs;
    sample_sighting_fields(&fs);
    mp_uint(field_val(&fs, 17), 0);
    expect_refused(&fs, PROTO_E_RANGE, "record field 17 (count): 0 is not at least 1");

    sample_sighting_fields(&fs);
    mp_uint(field_val(&fs, 18), T_CREATED + 1);
    expect_refused(&fs, PROTO_E_RANGE, "record field 18 (first_seen): 1700000000001 is after "
                                       "last_seen (1700000000000)");

    /* last_seen may lead created by the clock skew bound, not by a millisecond more. */
    sample_sighting_fields(&fs);
    mp_uint(field_val(&fs, 19), T_CREATED + 7 + LIMIT_CLOCK_SKEW_MS);
    expect_refused(&fs, PROTO_OK, "");
    mp_uint(field_val(&fs, 19), T_CREATED + 8 + LIMIT_CLOCK_SKEW_MS);
    expect_refused(&fs, PROTO_E_RANGE, "record field 19 (last_seen): 1700000300008 is after "
                                       "created");

    sample_sighting_fields(&fs);
    drop_field(&fs, 18);
    expect_refused(&fs, PROTO_E_FIELD, "record: missing field 18 (first_seen)");

    sample_sighting_fields(&fs);
    uint8_t id[31] = {0};
    struct buf *v = field_val(&fs, 16);
    put_byte(v, 0xc4), put_byte(v, 31), put(v, id, 31);
    expect_refused(&fs, PROTO_E_RANGE, "record field 16 (target): 31 bytes, not 32");

    /* An indicator's tags are no field of a sighting. */
    sample_sighting_fields(&fs);
    mp_array(add_field(&fs, 20), 0);
    expect_refused(&fs, PROTO_E_FIELD, "record: unknown field 20");

    struct proto_record r;
    uint8_t out[LIMIT_RECORD_BYTES];
    sample_sighting(&r);
    r.u.sight.count = 0;
    assert_int_equal(proto_record_encode(&r, out, sizeof out), PROTO_E_RANGE);
    sample_sighting(&r);
    r.u.sight.first_seen_ms = r.u.sight.last_seen_ms + 1;
    assert_int_equal(proto_record_encode(&r, out, sizeof out), PROTO_E_RANGE);
}

static void test_roster_rules(void **state)
{
    (void)state;
    struct fields fs;
    struct buf *m;
    sample_roster_fields(&fs);
    m = field_val(&fs, 18);
    mp_array(m, 2), mp_member(m, 0x07, "cert-a"), mp_member(m, 0x02, "cert-b");
    expect_refused(&fs, PROTO_E_NONCANON,
                   "record field 18 (members): not sorted ascending by key without duplicates");

    sample_roster_fields(&fs);
    m = field_val(&fs, 18);
    mp_array(m, 2), mp_member(m, 0x02, "cert-a"), mp_member(m, 0x02, "cert-b");
    expect_refused(&fs, PROTO_E_NONCANON, "record field 18 (members): not sorted");

    sample_roster_fields(&fs);
    m = field_val(&fs, 18);
    mp_array(m, 1), mp_member(m, 0x02, "");
    expect_refused(&fs, PROTO_E_RANGE, "record field 18 (members): empty text is not allowed");

    sample_roster_fields(&fs);
    m = field_val(&fs, 18);
    uint8_t k[32] = {0};
    mp_array(m, 1), mp_array(m, 3), mp_bin32(m, k), mp_str(m, "a"), mp_str(m, "b");
    expect_refused(&fs, PROTO_E_RANGE, "record field 18 (members): member 0 is an array of 3");

    sample_roster_fields(&fs);
    m = field_val(&fs, 18);
    put_byte(m, 0xdc), put_be(m, LIMIT_ROSTER_MEMBERS + 1, 2);
    expect_refused(&fs, PROTO_E_TOOBIG, "record field 18 (members): 257 elements, over the "
                                        "limit of 256");

    sample_roster_fields(&fs);
    mp_uint(field_val(&fs, 17), 0);
    expect_refused(&fs, PROTO_E_RANGE, "record field 17 (version): 0 is not at least 1");

    sample_roster_fields(&fs);
    mp_str(field_val(&fs, 16), "");
    expect_refused(&fs, PROTO_E_RANGE, "record field 16 (name): empty text is not allowed");

    /* An empty roster is a community nobody is (still) in: allowed. */
    sample_roster_fields(&fs);
    mp_array(field_val(&fs, 18), 0);
    expect_refused(&fs, PROTO_OK, "");

    struct proto_record *r = calloc(1, sizeof *r);
    assert_non_null(r);
    static uint8_t out[LIMIT_RECORD_BYTES];
    sample_roster(r);
    r->u.roster.n_members = LIMIT_ROSTER_MEMBERS + 1;
    assert_int_equal(proto_record_encode(r, out, sizeof out), PROTO_E_TOOBIG);
    /* A member takes 38 body bytes with a 2-byte organisation: 200 fit in LIMIT_RECORD_BYTES,
     * LIMIT_ROSTER_MEMBERS do not (the body limit binds first, as for indicators). */
    for (unsigned i = 0; i < LIMIT_ROSTER_MEMBERS; i++) {
        memset(&r->u.roster.members[i], 0, sizeof r->u.roster.members[i]);
        r->u.roster.members[i].key[0] = (uint8_t)i;
        snprintf(r->u.roster.members[i].org, sizeof r->u.roster.members[i].org, "o%u", i % 10);
    }
    r->u.roster.n_members = LIMIT_ROSTER_MEMBERS;
    assert_int_equal(proto_record_encode(r, out, sizeof out), PROTO_E_TOOBIG);
    r->u.roster.n_members = 200;
    memset(&r->u.roster.members[200], 0,
           (LIMIT_ROSTER_MEMBERS - 200) * sizeof r->u.roster.members[0]);
    int n = proto_record_encode(r, out, sizeof out);
    assert_true(n > 0);
    struct proto_record *back = calloc(1, sizeof *back);
    assert_non_null(back);
    assert_int_equal(proto_record_decode(out, (size_t)n, back, NULL, 0), PROTO_OK);
    assert_memory_equal(back, r, sizeof *back);
    for (unsigned i = 0; i < 200; i++)
        memset(r->u.roster.members[i].org, 'x', LIMIT_NAME_BYTES);
    assert_int_equal(proto_record_encode(r, out, sizeof out), PROTO_E_TOOBIG);

    /* normalise_sets sorts members by key and drops repeated keys. */
    sample_roster(r);
    r->u.roster.n_members = 3;
    r->u.roster.members[2] = r->u.roster.members[0];
    struct proto_roster_member tmp = r->u.roster.members[0];
    r->u.roster.members[0] = r->u.roster.members[1];
    r->u.roster.members[1] = tmp;
    proto_record_normalise_sets(r);
    assert_int_equal(r->u.roster.n_members, 2);
    assert_int_equal(r->u.roster.members[0].key[0], 0x02);
    assert_int_equal(r->u.roster.members[1].key[0], 0x07);
    assert_string_equal(r->u.roster.members[1].org, "cert-a");
    free(back);
    free(r);
}

static void test_encode_validates(void **state)
{
    (void)state;
    struct proto_record r;
    uint8_t out[LIMIT_RECORD_BYTES];
    sample_indicator(&r);
    r.tlp = PROTO_TLP_RED;
    assert_int_equal(proto_record_encode(&r, out, sizeof out), PROTO_E_AUDIENCE);
    sample_indicator(&r);
    strcpy(r.u.ind.value, "192.0.2.01");
    assert_int_equal(proto_record_encode(&r, out, sizeof out), PROTO_E_VALUE);
    sample_indicator(&r);
    strcpy(r.u.ind.tags[0], "zz");
    assert_int_equal(proto_record_encode(&r, out, sizeof out), PROTO_E_NONCANON);
    sample_indicator(&r);
    memset(r.u.ind.comment, 'x', sizeof r.u.ind.comment); /* no NUL within the field */
    assert_int_equal(proto_record_encode(&r, out, sizeof out), PROTO_E_TOOBIG);
    sample_indicator(&r);
    r.kind = PROTO_KIND_SIGHTING;
    assert_int_equal(proto_record_encode(&r, out, sizeof out), PROTO_E_RANGE);
    sample_indicator(&r);
    r.version = 2;
    assert_int_equal(proto_record_encode(&r, out, sizeof out), PROTO_E_VERSION);
}

static void test_normalise_sets(void **state)
{
    (void)state;
    struct proto_record r;
    uint8_t out[LIMIT_RECORD_BYTES];
    sample_indicator(&r);
    r.tlp = PROTO_TLP_RED;
    r.audience.n_communities = 3;
    strcpy(r.audience.communities[0], "zeta");
    strcpy(r.audience.communities[1], "alpha");
    strcpy(r.audience.communities[2], "zeta");
    r.audience.n_recipients = 3;
    memset(r.audience.recipients[0], 9, 32);
    memset(r.audience.recipients[1], 3, 32);
    memset(r.audience.recipients[2], 9, 32);
    r.u.ind.n_tags = 3;
    strcpy(r.u.ind.tags[0], "b");
    strcpy(r.u.ind.tags[1], "a");
    strcpy(r.u.ind.tags[2], "b");
    assert_int_equal(proto_record_encode(&r, out, sizeof out), PROTO_E_NONCANON);
    proto_record_normalise_sets(&r);
    assert_true(proto_record_encode(&r, out, sizeof out) > 0);
    assert_int_equal(r.audience.n_communities, 2);
    assert_string_equal(r.audience.communities[0], "alpha");
    assert_string_equal(r.audience.communities[1], "zeta");
    assert_int_equal(r.audience.n_recipients, 2);
    assert_int_equal(r.audience.recipients[0][0], 3);
    assert_int_equal(r.audience.recipients[1][0], 9);
    assert_int_equal(r.u.ind.n_tags, 2);
    assert_string_equal(r.u.ind.tags[0], "a");
    assert_string_equal(r.u.ind.tags[1], "b");
}

/* --- signatures and ids --- */

static void test_sign_verify(void **state)
{
    (void)state;
    struct keys_identity id;
    ts_identity(7, &id);

    struct proto_record r;
    sample_indicator(&r);
    memcpy(r.origin, id.sign_pk, 32);
    uint8_t body[LIMIT_RECORD_BYTES];
    int n = proto_record_encode(&r, body, sizeof body);
    assert_true(n > 0);
    uint8_t sig[LIMIT_SIG_BYTES];
    proto_record_sign(body, (size_t)n, id.sign_sk, sig);
    assert_int_equal(proto_record_verify(body, (size_t)n, sig, r.origin), PROTO_OK);

    body[n - 1] ^= 1;
    assert_int_equal(proto_record_verify(body, (size_t)n, sig, r.origin), PROTO_E_SIGNATURE);
    body[n - 1] ^= 1;
    sig[10] ^= 0x40;
    assert_int_equal(proto_record_verify(body, (size_t)n, sig, r.origin), PROTO_E_SIGNATURE);
    sig[10] ^= 0x40;
    uint8_t other[32];
    sample_origin(other);
    assert_int_equal(proto_record_verify(body, (size_t)n, sig, other), PROTO_E_SIGNATURE);

    /* The signature covers the context string: a plain Ed25519 signature of the body is not one. */
    uint8_t plain[LIMIT_SIG_BYTES];
    crypto_sign_detached(plain, NULL, body, (size_t)n, id.sign_sk);
    assert_int_equal(proto_record_verify(body, (size_t)n, plain, r.origin), PROTO_E_SIGNATURE);
    keys_identity_wipe(&id);
}

static void hex_encode(const uint8_t *b, size_t n, char *out)
{
    sodium_bin2hex(out, n * 2 + 1, b, n);
}

static void test_id_stable(void **state)
{
    (void)state;
    struct fields fs;
    struct buf body;
    sample_indicator_fields(&fs);
    assemble(&fs, &body);
    uint8_t id[LIMIT_ID_BYTES];
    char hex[LIMIT_ID_BYTES * 2 + 1];
    proto_record_id(body.b, body.n, id);
    hex_encode(id, sizeof id, hex);
    assert_string_equal(hex, "1f4edabd0d381e91f6e8b45e6a85410d242a2dae5362fcbfadb139a13793ca8d");
    /* BLAKE2b-256 of nothing, as published for BLAKE2b with 32-byte output. */
    proto_record_id(body.b, 0, id);
    hex_encode(id, sizeof id, hex);
    assert_string_equal(hex, "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8");
}

/* --- time rules --- */

static void test_check_time(void **state)
{
    (void)state;
    struct proto_record r;
    sample_indicator(&r);
    uint64_t skew = LIMIT_CLOCK_SKEW_MS;
    assert_int_equal(proto_record_check_time(&r, T_CREATED), PROTO_OK);
    assert_int_equal(proto_record_check_time(&r, T_CREATED - skew), PROTO_OK);
    assert_int_equal(proto_record_check_time(&r, T_CREATED - skew - 1), PROTO_E_FUTURE);
    assert_int_equal(proto_record_check_time(&r, 0), PROTO_E_FUTURE);
    assert_int_equal(proto_record_check_time(&r, T_VALID_UNTIL - 1), PROTO_OK);
    assert_int_equal(proto_record_check_time(&r, T_VALID_UNTIL), PROTO_E_EXPIRED);
    assert_int_equal(proto_record_check_time(&r, UINT64_MAX), PROTO_E_EXPIRED);
    sample_revocation(&r);
    assert_int_equal(proto_record_check_time(&r, UINT64_MAX), PROTO_OK);
    r.created_ms = UINT64_MAX;
    assert_int_equal(proto_record_check_time(&r, UINT64_MAX - skew), PROTO_OK);
    assert_int_equal(proto_record_check_time(&r, UINT64_MAX - skew - 1), PROTO_E_FUTURE);
}

/* --- indicator values --- */

struct norm_case {
    const char *type;
    const char *in;
    const char *out; /* NULL: refused */
    const char *why; /* refused: the whole message */
};

static const struct norm_case norm_cases[] = {
    {"ip-dst", "192.0.2.1", "192.0.2.1", NULL},
    {"ip-src", "0.0.0.0", "0.0.0.0", NULL},
    {"ip-dst", "192.0.2.0/24", "192.0.2.0/24", NULL},
    {"ip-dst", "192.0.2.7/32", "192.0.2.7", NULL},
    {"ip-dst", "10.0.0.0/8", "10.0.0.0/8", NULL},
    {"ip-dst", "0.0.0.0/0", "0.0.0.0/0", NULL},
    {"ip-dst", "2001:DB8:0:0::1", "2001:db8::1", NULL},
    {"ip-dst", "2001:db8::/32", "2001:db8::/32", NULL},
    {"ip-dst", "2001:db8::1/128", "2001:db8::1", NULL},
    /* review: an IPv4-mapped address is its IPv4 host (one address, one normal form) */
    {"ip-src", "::ffff:192.0.2.1", "192.0.2.1", NULL},
    {"ip-dst", "::FFFF:c000:0201", "192.0.2.1", NULL},
    {"ip-dst", "::ffff:192.0.2.0/120", "192.0.2.0/24", NULL},
    {"ip-dst", "::ffff:0:0/96", "0.0.0.0/0", NULL},
    {"ip-dst", "::/80", "::/80", NULL},
    {"url", "http://[::ffff:192.0.2.1]:8080/x", "http://192.0.2.1:8080/x", NULL},
    {"url", "http://evil.example\\@good.example/", NULL,
     "url: 'http://evil.example\\x5c@good.example/' has a backslash before the path (browsers read "
     "it as '/')"},
    {"ip-dst", "192.0.2.5/24", NULL,
     "ip-dst: '192.0.2.5/24' has host bits set; did you mean 192.0.2.0/24?"},
    {"ip-dst", "2001:db8::1/64", NULL,
     "ip-dst: '2001:db8::1/64' has host bits set; did you mean 2001:db8::/64?"},
    {"ip-dst", "1.2.3", NULL, "ip-dst: '1.2.3' is not an IPv4 or IPv6 address"},
    {"ip-dst", "10.0.0.300", NULL, "ip-dst: '10.0.0.300' is not an IPv4 or IPv6 address"},
    {"ip-src", "010.1.2.3", NULL,
     "ip-src: '010.1.2.3' has an octet with a leading zero (octal or decimal? write it without)"},
    {"ip-dst", "192.0.2.0/33", NULL, "ip-dst: '192.0.2.0/33' has a prefix length that is not 0..32"},
    {"ip-dst", "192.0.2.0/024", NULL,
     "ip-dst: '192.0.2.0/024' has a prefix length that is not 0..32"},
    {"ip-dst", "192.0.2.0/", NULL, "ip-dst: '192.0.2.0/' has a prefix length that is not 0..32"},
    {"ip-dst", " 192.0.2.1", NULL, "ip-dst: ' 192.0.2.1' is not an IPv4 or IPv6 address"},
    {"ip-dst", "fe80::1%eth0", NULL, "ip-dst: 'fe80::1%eth0' is not an IPv4 or IPv6 address"},
    {"ip-dst", "", NULL, "ip-dst: '' is empty"},
    {"domain", "Example.COM.", "example.com", NULL},
    {"domain", "xn--bcher-kva.example", "xn--bcher-kva.example", NULL},
    {"domain", "a-b.c0.example", "a-b.c0.example", NULL},
    {"domain", "localhost", NULL,
     "domain: 'localhost' needs at least two labels (like example.org)"},
    {"domain", "bücher.example", NULL,
     "domain: 'bücher.example' has non-ASCII characters; write the name in punycode (xn--...)"},
    {"domain", "192.0.2.1", NULL,
     "domain: '192.0.2.1' is an IP address, not a name; use type ip-src or ip-dst"},
    {"domain", "a..example", NULL, "domain: 'a..example' has an empty label"},
    {"domain", "-a.example", NULL, "domain: '-a.example' has a label that starts or ends with '-'"},
    {"domain", "a_b.example", NULL,
     "domain: 'a_b.example' has a character other than letters, digits, '-' and '.'"},
    {"domain", "example.com..", NULL, "domain: 'example.com..' has an empty label"},
    {"hostname", "MAIL.Example.org", "mail.example.org", NULL},
    {"hostname", "intranet", "intranet", NULL},
    {"url", "HTTP://User:Pw@Example.COM:8080/Path?Q=A#F", "http://User:Pw@example.com:8080/Path?Q=A#F",
     NULL},
    {"url", "https://[2001:DB8::1]/x", "https://[2001:db8::1]/x", NULL},
    {"url", "https://192.0.2.1", "https://192.0.2.1", NULL},
    {"url", "https://example.org/ä", "https://example.org/ä", NULL},
    {"url", "javascript:alert(1)", NULL, "url: 'javascript:alert(1)' has no scheme (like http://)"},
    {"url", "gopherx://a.example/", NULL,
     "url: 'gopherx://a.example/' has a scheme that is not one of ftp, ftps, gopher, http, https, "
     "irc, ircs, ldap, ldaps, rtsp, sftp, smb, ssh, telnet, tftp, ws, wss"},
    {"url", "http://exa mple.com/", NULL,
     "url: 'http://exa mple.com/' contains a space or control character"},
    {"url", "http://a.example/\x01", NULL,
     "url: 'http://a.example/\\x01' contains a space or control character"},
    {"url", "http:///path", NULL, "url: 'http:///path' has no host"},
    {"url", "http://a.example:0/", NULL, "url: 'http://a.example:0/' has a port that is not 1..65535"},
    {"url", "http://a.example:65536/", NULL,
     "url: 'http://a.example:65536/' has a port that is not 1..65535"},
    {"url", "http://[::1/", NULL, "url: 'http://[::1/' has a bad [IPv6] host"},
    {"url", "http://010.0.0.1/", NULL,
     "url: 'http://010.0.0.1/' has an IPv4 host with a leading zero (octal or decimal? write it "
     "without)"},
    {"url", "http://bücher.example/", NULL,
     "url: 'http://bücher.example/' has a host that has non-ASCII characters; write the name in "
     "punycode (xn--...)"},
    {"email-src", "John.Doe@Example.ORG", "John.Doe@example.org", NULL},
    {"email-dst", "a@b@example.org", NULL, "email-dst: 'a@b@example.org' is not local@domain with one '@'"},
    {"email-dst", "@example.org", NULL,
     "email-dst: '@example.org' has a local part that is not 1..64 bytes"},
    {"email-dst", "a@localhost", NULL,
     "email-dst: 'a@localhost' needs at least two labels (like example.org)"},
    {"md5", "D41D8CD98F00B204E9800998ECF8427E", "d41d8cd98f00b204e9800998ecf8427e", NULL},
    {"sha1", "da39a3ee5e6b4b0d3255bfef95601890afd80709", "da39a3ee5e6b4b0d3255bfef95601890afd80709",
     NULL},
    {"sha256", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
     "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", NULL},
    {"md5", "d41d8cd98f00b204e9800998ecf8427", NULL,
     "md5: 'd41d8cd98f00b204e9800998ecf8427' is 31 characters, not 32 hex digits"},
    {"sha1", "za39a3ee5e6b4b0d3255bfef95601890afd80709", NULL,
     "sha1: 'za39a3ee5e6b4b0d3255bfef95601890afd80709' has a character that is not hex"},
    {"filename", "invoice.pdf .exe", "invoice.pdf .exe", NULL},
    {"filename", "Rechnung für Sie.doc", "Rechnung für Sie.doc", NULL},
    {"filename", "a\tb", NULL, "filename: 'a\\x09b' contains a control character"},
    {"filename", "\xc2\x85x", NULL, "filename: '\xc2\x85x' contains a control character"},
    {"filename", "bad\xff", NULL, "filename: 'bad\\xff' is not valid UTF-8"},
};

static void test_indicator_normalise(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof norm_cases / sizeof norm_cases[0]; i++) {
        const struct norm_case *c = &norm_cases[i];
        char out[LIMIT_VALUE_BYTES + 1];
        char why[WHY_LEN] = "";
        int t = proto_itype_parse(c->type);
        assert_true(t > 0);
        int rc = proto_indicator_normalise(t, c->in, out, sizeof out, why, sizeof why);
        if (c->out != NULL) {
            if (rc != PROTO_OK || strcmp(out, c->out) != 0)
                fail_msg("%s '%s': got %d '%s' (%s), want '%s'", c->type, c->in, rc, out, why,
                         c->out);
            /* Normal forms are fixed points. */
            char again[LIMIT_VALUE_BYTES + 1];
            assert_int_equal(proto_indicator_normalise(t, out, again, sizeof again, NULL, 0), 0);
            assert_string_equal(again, out);
        } else if (rc != PROTO_E_VALUE || strcmp(why, c->why) != 0) {
            fail_msg("%s '%s': got %d '%s', want %d '%s'", c->type, c->in, rc, why,
                     PROTO_E_VALUE, c->why);
        }
    }
}

static void test_indicator_limits(void **state)
{
    (void)state;
    static char in[LIMIT_VALUE_BYTES + 2];
    char out[LIMIT_VALUE_BYTES + 1];
    char why[WHY_LEN];
    memset(in, 'a', LIMIT_VALUE_BYTES + 1);
    in[LIMIT_VALUE_BYTES + 1] = '\0';
    assert_int_equal(proto_indicator_normalise(PROTO_ITYPE_FILENAME, in, out, sizeof out, why,
                                               sizeof why),
                     PROTO_E_TOOBIG);
    assert_non_null(strstr(why, "filename: 'aaaa"));
    assert_non_null(strstr(why, "...' is longer than 2048 bytes"));

    /* A name at exactly 253 characters passes, 254 does not. */
    char name[260];
    memset(name, 'a', sizeof name);
    for (int i = 63; i < 253; i += 64)
        name[i] = '.';
    name[253] = '\0';
    assert_int_equal(proto_indicator_normalise(PROTO_ITYPE_DOMAIN, name, out, sizeof out, NULL, 0),
                     PROTO_OK);
    name[253] = 'a';
    name[254] = '\0';
    assert_int_equal(proto_indicator_normalise(PROTO_ITYPE_DOMAIN, name, out, sizeof out, why,
                                               sizeof why),
                     PROTO_E_VALUE);
    assert_non_null(strstr(why, "is longer than 253 characters"));

    /* Output buffer too small for the normal form. */
    assert_int_equal(proto_indicator_normalise(PROTO_ITYPE_IP_DST, "192.0.2.1", out, 5, NULL, 0),
                     PROTO_E_NOSPACE);
    assert_int_equal(proto_indicator_normalise(99, "x", out, sizeof out, why, sizeof why),
                     PROTO_E_VALUE);
}

static void test_itype_names(void **state)
{
    (void)state;
    for (int t = PROTO_ITYPE_IP_SRC; t < PROTO_ITYPE_END; t++)
        assert_int_equal(proto_itype_parse(proto_itype_name(t)), t);
    assert_int_equal(proto_itype_parse("IP-DST"), -1);
    assert_int_equal(proto_itype_parse(""), -1);
    assert_null(proto_itype_name(0));
    assert_null(proto_itype_name(PROTO_ITYPE_END));
    assert_string_equal(proto_itype_name(PROTO_ITYPE_SHA512), "sha512");
}

static void test_utf8(void **state)
{
    (void)state;
    assert_true(proto_utf8_valid("", 0));
    assert_true(proto_utf8_valid("\x7f\xc2\x80\xdf\xbf\xe0\xa0\x80\xef\xbf\xbf", 11));
    assert_true(proto_utf8_valid("\xf0\x90\x80\x80\xf4\x8f\xbf\xbf", 8));
    assert_false(proto_utf8_valid("\xc1\xbf", 2));         /* overlong 2 */
    assert_false(proto_utf8_valid("\xe0\x9f\xbf", 3));     /* overlong 3 */
    assert_false(proto_utf8_valid("\xf0\x8f\xbf\xbf", 4)); /* overlong 4 */
    assert_false(proto_utf8_valid("\xed\xbf\xbf", 3));     /* surrogate */
    assert_false(proto_utf8_valid("\xf4\x90\x80\x80", 4)); /* > U+10FFFF */
    assert_false(proto_utf8_valid("\xf5\x80\x80\x80", 4));
    assert_false(proto_utf8_valid("\x80", 1));
    assert_false(proto_utf8_valid("\xc2", 1));
    assert_false(proto_utf8_valid("\xe2\x82", 2));
    assert_false(proto_utf8_valid("\xe2\x28\xa1", 3));
    assert_false(proto_utf8_valid("a\0b", 3));
}

/* --- TLP names --- */

static void test_tlp(void **state)
{
    (void)state;
    assert_int_equal(proto_tlp_parse("clear"), PROTO_TLP_CLEAR);
    assert_int_equal(proto_tlp_parse("TLP:WHITE"), PROTO_TLP_CLEAR);
    assert_int_equal(proto_tlp_parse("Green"), PROTO_TLP_GREEN);
    assert_int_equal(proto_tlp_parse("tlp:amber"), PROTO_TLP_AMBER);
    assert_int_equal(proto_tlp_parse("AMBER+STRICT"), PROTO_TLP_AMBER_STRICT);
    assert_int_equal(proto_tlp_parse("red"), PROTO_TLP_RED);
    assert_int_equal(proto_tlp_parse("amber strict"), -1);
    assert_int_equal(proto_tlp_parse("tlp:"), -1);
    assert_int_equal(proto_tlp_parse(""), -1);
    assert_int_equal(proto_tlp_parse("redd"), -1);
    for (int t = 0; t < PROTO_TLP_COUNT; t++)
        assert_int_equal(proto_tlp_parse(proto_tlp_name(t)), t);
    assert_string_equal(proto_tlp_name(PROTO_TLP_AMBER_STRICT), "amber+strict");
    assert_string_equal(proto_tlp_name(5), "?");
    assert_string_equal(proto_tlp_name(-1), "?");
}

/* --- the vectors in docs/PROTOCOL.md --- */

enum { VEC_LINE = LIMIT_RECORD_BYTES * 2 + 64 };

struct vector {
    char name[64];
    uint8_t seed[32];
    struct proto_record r;
    char origin_hex[65], body_hex[LIMIT_RECORD_BYTES * 2 + 1], sig_hex[129], id_hex[65];
};

static void hex_decode(const char *hex, uint8_t *out, size_t n, const char *what)
{
    size_t got = 0;
    if (sodium_hex2bin(out, n, hex, strlen(hex), NULL, &got, NULL) != 0 || got != n)
        fail_msg("vector: %s '%s' is not %zu bytes of hex", what, hex, n);
}

/* One "key: value" line of a vector into v. */
static void vector_line(struct vector *v, const char *key, const char *val)
{
    struct proto_record *r = &v->r;
    struct proto_audience *a = &r->audience;
    if (strcmp(key, "name") == 0) {
        snprintf(v->name, sizeof v->name, "%s", val);
    } else if (strcmp(key, "seed") == 0) {
        hex_decode(val, v->seed, 32, key);
    } else if (strcmp(key, "origin") == 0) {
        snprintf(v->origin_hex, sizeof v->origin_hex, "%s", val);
    } else if (strcmp(key, "kind") == 0) {
        static const char *const kinds[] = {"", "indicator", "revocation", "sighting", "roster"};
        for (uint8_t k = PROTO_KIND_INDICATOR; k <= PROTO_KIND_ROSTER; k++)
            if (strcmp(val, kinds[k]) == 0)
                r->kind = k;
    } else if (strcmp(key, "tlp") == 0) {
        r->tlp = (uint8_t)proto_tlp_parse(val);
    } else if (strcmp(key, "created_ms") == 0) {
        r->created_ms = strtoull(val, NULL, 10);
    } else if (strcmp(key, "community") == 0) {
        snprintf(a->communities[a->n_communities++], sizeof a->communities[0], "%s", val);
    } else if (strcmp(key, "recipient") == 0) {
        hex_decode(val, a->recipients[a->n_recipients++], 32, key);
    } else if (strcmp(key, "type") == 0) {
        r->u.ind.type = (uint8_t)proto_itype_parse(val);
    } else if (strcmp(key, "value") == 0) {
        snprintf(r->u.ind.value, sizeof r->u.ind.value, "%s", val);
    } else if (strcmp(key, "valid_until_ms") == 0) {
        r->u.ind.valid_until_ms = strtoull(val, NULL, 10);
    } else if (strcmp(key, "confidence") == 0) {
        r->u.ind.confidence = (uint8_t)atoi(val);
    } else if (strcmp(key, "tag") == 0) {
        snprintf(r->u.ind.tags[r->u.ind.n_tags++], sizeof r->u.ind.tags[0], "%s", val);
    } else if (strcmp(key, "comment") == 0) {
        snprintf(r->u.ind.comment, sizeof r->u.ind.comment, "%s", val);
    } else if (strcmp(key, "target") == 0) {
        hex_decode(val, r->kind == PROTO_KIND_SIGHTING ? r->u.sight.target : r->u.rev.target, 32,
                   key);
    } else if (strcmp(key, "count") == 0) {
        r->u.sight.count = strtoull(val, NULL, 10);
    } else if (strcmp(key, "first_seen_ms") == 0) {
        r->u.sight.first_seen_ms = strtoull(val, NULL, 10);
    } else if (strcmp(key, "last_seen_ms") == 0) {
        r->u.sight.last_seen_ms = strtoull(val, NULL, 10);
    } else if (strcmp(key, "roster_name") == 0) {
        snprintf(r->u.roster.name, sizeof r->u.roster.name, "%s", val);
    } else if (strcmp(key, "roster_version") == 0) {
        r->u.roster.version = strtoull(val, NULL, 10);
    } else if (strcmp(key, "member") == 0) {
        /* "KEYHEX ORGANISATION" */
        struct proto_roster_member *m = &r->u.roster.members[r->u.roster.n_members++];
        char keyhex[65];
        snprintf(keyhex, sizeof keyhex, "%s", val);
        hex_decode(keyhex, m->key, 32, key);
        snprintf(m->org, sizeof m->org, "%s", val[64] == ' ' ? val + 65 : "");
    } else if (strcmp(key, "reason") == 0) {
        snprintf(r->u.rev.reason, sizeof r->u.rev.reason, "%s", val);
    } else if (strcmp(key, "body") == 0) {
        snprintf(v->body_hex, sizeof v->body_hex, "%s", val);
    } else if (strcmp(key, "sig") == 0) {
        snprintf(v->sig_hex, sizeof v->sig_hex, "%s", val);
    } else if (strcmp(key, "id") == 0) {
        snprintf(v->id_hex, sizeof v->id_hex, "%s", val);
    } else {
        fail_msg("vector %s: unknown key '%s'", v->name, key);
    }
}

static void vector_check(struct vector *v)
{
    struct keys_identity id;
    keys_identity_from_seed(v->seed, &id);
    char hex[LIMIT_RECORD_BYTES * 2 + 1];
    hex_encode(id.sign_pk, 32, hex);
    if (strcmp(hex, v->origin_hex) != 0)
        fail_msg("vector %s: origin is %s", v->name, hex);
    v->r.version = PROTO_RECORD_VERSION;
    memcpy(v->r.origin, id.sign_pk, 32);

    uint8_t body[LIMIT_RECORD_BYTES];
    int n = proto_record_encode(&v->r, body, sizeof body);
    if (n < 0)
        fail_msg("vector %s: encode: %s", v->name, proto_strerror(n));
    hex_encode(body, (size_t)n, hex);
    if (strcmp(hex, v->body_hex) != 0)
        fail_msg("vector %s: body is %s", v->name, hex);

    uint8_t sig[LIMIT_SIG_BYTES];
    proto_record_sign(body, (size_t)n, id.sign_sk, sig);
    hex_encode(sig, sizeof sig, hex);
    if (strcmp(hex, v->sig_hex) != 0)
        fail_msg("vector %s: sig is %s", v->name, hex);
    assert_int_equal(proto_record_verify(body, (size_t)n, sig, id.sign_pk), PROTO_OK);

    uint8_t rid[LIMIT_ID_BYTES];
    proto_record_id(body, (size_t)n, rid);
    hex_encode(rid, sizeof rid, hex);
    if (strcmp(hex, v->id_hex) != 0)
        fail_msg("vector %s: id is %s", v->name, hex);

    struct proto_record back = {0}; /* decode leaves the union past r's kind as it finds it */
    char why[WHY_LEN];
    assert_int_equal(proto_record_decode(body, (size_t)n, &back, why, sizeof why), PROTO_OK);
    assert_memory_equal(&back, &v->r, sizeof back);
    keys_identity_wipe(&id);
}

static void test_protocol_vectors(void **state)
{
    (void)state;
    const char *path = TLPMESH_SOURCE_DIR "/docs/PROTOCOL.md";
    FILE *f = fopen(path, "r");
    if (f == NULL)
        fail_msg("cannot open %s", path);
    static char line[VEC_LINE];
    static struct vector v;
    bool in_block = false, have = false;
    int count = 0;
    for (int lines = 0; fgets(line, sizeof line, f) != NULL && lines < 100000; lines++) {
        line[strcspn(line, "\n")] = '\0';
        if (!in_block) {
            in_block = strcmp(line, "```tlpmesh-record-vectors") == 0;
            continue;
        }
        bool end = strcmp(line, "```") == 0;
        if ((end || line[0] == '\0') && have) {
            vector_check(&v);
            count++;
            have = false;
        }
        if (end) {
            in_block = false;
            continue;
        }
        if (line[0] == '\0')
            continue;
        char *colon = strstr(line, ": ");
        if (colon == NULL && line[strlen(line) - 1] == ':')
            colon = line + strlen(line) - 1; /* "key:" with an empty value */
        if (colon == NULL)
            fail_msg("%s: vector line without 'key: value': %s", path, line);
        *colon = '\0';
        if (!have)
            memset(&v, 0, sizeof v);
        have = true;
        vector_line(&v, line, colon[1] == '\0' ? "" : colon + 2);
    }
    fclose(f);
    assert_true(count >= 5);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_indicator),
        cmocka_unit_test(test_round_trip_revocation),
        cmocka_unit_test(test_round_trip_sighting),
        cmocka_unit_test(test_round_trip_roster),
        cmocka_unit_test(test_sighting_rules),
        cmocka_unit_test(test_roster_rules),
        cmocka_unit_test(test_round_trip_limits),
        cmocka_unit_test(test_noncanonical_variants),
        cmocka_unit_test(test_malformed_bodies),
        cmocka_unit_test(test_mutants),
        cmocka_unit_test(test_revocation_rules),
        cmocka_unit_test(test_encode_validates),
        cmocka_unit_test(test_normalise_sets),
        cmocka_unit_test(test_sign_verify),
        cmocka_unit_test(test_id_stable),
        cmocka_unit_test(test_check_time),
        cmocka_unit_test(test_indicator_normalise),
        cmocka_unit_test(test_indicator_limits),
        cmocka_unit_test(test_itype_names),
        cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_tlp),
        cmocka_unit_test(test_protocol_vectors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
