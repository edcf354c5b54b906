/* test_proto_mutants.c - non-canonical and invalid record bodies (proto/record.h): each variant
 * is one explicit change to a canonical sample body (tests/support/ts_mpack.h, ts_sample.h), and
 * the decoder must refuse it with the right error and a message naming the field.
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

#include "proto/record.h"
#include "tests/support/ts_mpack.h"
#include "tests/support/ts_sample.h"

/* --- non-canonical and invalid bodies --- */

struct mutation {
    const char *name;
    void (*apply)(struct ts_mp_fields *fs);
    int rc;
    const char *why; /* a substring of the reason */
};

static void m_fixint_as_uint8(struct ts_mp_fields *fs)
{
    struct ts_mp_buf *v = ts_mp_field_val(fs, 19);
    ts_mp_byte(v, 0xcc), ts_mp_byte(v, 80);
}

static void m_uint16_for_fixint(struct ts_mp_fields *fs)
{
    struct ts_mp_buf *v = ts_mp_field_val(fs, 19);
    ts_mp_byte(v, 0xcd), ts_mp_be(v, 80, 2);
}

static void m_uint64_for_small(struct ts_mp_fields *fs)
{
    struct ts_mp_buf *v = ts_mp_field_val(fs, 3);
    ts_mp_byte(v, 0xcf), ts_mp_be(v, 1000, 8);
    v = ts_mp_field_val(fs, 18);
    ts_mp_uint(v, 2000);
}

static void m_key_as_uint8(struct ts_mp_fields *fs)
{
    /* Key 19 written as 0xcc 0x13: the value bytes follow the key, so rebuild both. */
    ts_mp_drop_field(fs, 19);
    ts_mp_drop_field(fs, 20);
    ts_mp_drop_field(fs, 21);
    struct ts_mp_buf *tail = &fs->trailer;
    ts_mp_byte(tail, 0xcc), ts_mp_byte(tail, 19), ts_mp_uint(tail, 80);
    ts_mp_uint(tail, 20), ts_mp_array(tail, 0);
    ts_mp_uint(tail, 21), ts_mp_str(tail, "");
    fs->trailer_entries = 3;
}

static void m_str8_for_fixstr(struct ts_mp_fields *fs)
{
    struct ts_mp_buf *v = ts_mp_field_val(fs, 17);
    ts_mp_byte(v, 0xd9), ts_mp_byte(v, 9), ts_mp_put(v, "192.0.2.1", 9);
}

static void m_str16_for_str8(struct ts_mp_fields *fs)
{
    char text[40];
    memset(text, 'x', sizeof text);
    struct ts_mp_buf *v = ts_mp_field_val(fs, 21);
    ts_mp_byte(v, 0xda), ts_mp_be(v, sizeof text, 2), ts_mp_put(v, text, sizeof text);
}

static void m_array16_for_fixarray(struct ts_mp_fields *fs)
{
    struct ts_mp_buf *v = ts_mp_field_val(fs, 20);
    ts_mp_byte(v, 0xdc), ts_mp_be(v, 2, 2), ts_mp_str(v, "apt"), ts_mp_str(v, "c2");
}

static void m_map16(struct ts_mp_fields *fs)
{
    fs->map16 = true;
}

static void m_trailing(struct ts_mp_fields *fs)
{
    ts_mp_byte(&fs->trailer, 0xc0);
}

static void m_truncated(struct ts_mp_fields *fs)
{
    struct ts_mp_buf *v = ts_mp_field_val(fs, 21);
    ts_mp_byte(v, 0xa5), ts_mp_put(v, "abc", 3);
}

static void m_utf8_overlong(struct ts_mp_fields *fs)
{
    ts_mp_strn(ts_mp_field_val(fs, 21), "a\xc0\xafz", 4);
}

static void m_utf8_overlong3(struct ts_mp_fields *fs)
{
    ts_mp_strn(ts_mp_field_val(fs, 21), "\xe0\x80\xaf", 3);
}

static void m_utf8_surrogate(struct ts_mp_fields *fs)
{
    ts_mp_strn(ts_mp_field_val(fs, 21), "x\xed\xa0\x80", 4);
}

static void m_utf8_truncated(struct ts_mp_fields *fs)
{
    ts_mp_strn(ts_mp_field_val(fs, 21), "x\xe2\x82", 3);
}

static void m_utf8_too_high(struct ts_mp_fields *fs)
{
    ts_mp_strn(ts_mp_field_val(fs, 21), "\xf4\x90\x80\x80", 4);
}

static void m_nul_in_str(struct ts_mp_fields *fs)
{
    ts_mp_strn(ts_mp_field_val(fs, 21), "a\0b", 3);
}

static void m_unknown_22(struct ts_mp_fields *fs)
{
    ts_mp_uint(ts_mp_add_field(fs, 22), 0);
    ts_mp_drop_field(fs, 21); /* keep the map within 13 entries */
}

static void m_unknown_7(struct ts_mp_fields *fs)
{
    ts_mp_drop_field(fs, 21);
    /* Insert key 7 between 6 and 16. */
    memmove(&fs->f[8], &fs->f[7], (fs->n - 7) * sizeof fs->f[0]);
    fs->n++;
    fs->f[7].key = 7;
    fs->f[7].val.n = 0;
    ts_mp_uint(&fs->f[7].val, 0);
}

static void m_missing(struct ts_mp_fields *fs)
{
    ts_mp_drop_field(fs, 19);
}

static void m_missing_kind(struct ts_mp_fields *fs)
{
    ts_mp_drop_field(fs, 1);
}

static void m_out_of_order(struct ts_mp_fields *fs)
{
    struct ts_mp_field tmp = fs->f[8];
    fs->f[8] = fs->f[9];
    fs->f[9] = tmp;
}

static void m_duplicate(struct ts_mp_fields *fs)
{
    fs->f[10].key = 18; /* 18, 18 in place of 18, 19 */
    fs->f[10].val = fs->f[9].val;
}

static void m_too_many_fields(struct ts_mp_fields *fs)
{
    ts_mp_uint(ts_mp_add_field(fs, 22), 0);
}

static void m_tlp5(struct ts_mp_fields *fs)
{
    ts_mp_uint(ts_mp_field_val(fs, 4), 5);
}

static void m_confidence101(struct ts_mp_fields *fs)
{
    ts_mp_uint(ts_mp_field_val(fs, 19), 101);
}

static void m_negative(struct ts_mp_fields *fs)
{
    ts_mp_byte(ts_mp_field_val(fs, 19), 0xff);
}

static void m_signed_positive(struct ts_mp_fields *fs)
{
    struct ts_mp_buf *v = ts_mp_field_val(fs, 19);
    ts_mp_byte(v, 0xd0), ts_mp_byte(v, 80);
}

static void m_float(struct ts_mp_fields *fs)
{
    struct ts_mp_buf *v = ts_mp_field_val(fs, 19);
    ts_mp_byte(v, 0xca), ts_mp_be(v, 0x42a00000, 4);
}

static void m_bin_for_str(struct ts_mp_fields *fs)
{
    struct ts_mp_buf *v = ts_mp_field_val(fs, 17);
    ts_mp_byte(v, 0xc4), ts_mp_byte(v, 9), ts_mp_put(v, "192.0.2.1", 9);
}

static void m_str_for_bin(struct ts_mp_fields *fs)
{
    uint8_t k[32];
    ts_sample_origin(k);
    struct ts_mp_buf *v = ts_mp_field_val(fs, 2);
    ts_mp_byte(v, 0xd9), ts_mp_byte(v, 32), ts_mp_put(v, k, 32);
}

static void m_origin_short(struct ts_mp_fields *fs)
{
    uint8_t k[31] = {0};
    struct ts_mp_buf *v = ts_mp_field_val(fs, 2);
    ts_mp_byte(v, 0xc4), ts_mp_byte(v, 31), ts_mp_put(v, k, 31);
}

static void m_unsorted_tags(struct ts_mp_fields *fs)
{
    struct ts_mp_buf *v = ts_mp_field_val(fs, 20);
    ts_mp_array(v, 2), ts_mp_str(v, "c2"), ts_mp_str(v, "apt");
}

static void m_duplicate_tags(struct ts_mp_fields *fs)
{
    struct ts_mp_buf *v = ts_mp_field_val(fs, 20);
    ts_mp_array(v, 2), ts_mp_str(v, "c2"), ts_mp_str(v, "c2");
}

static void m_unsorted_communities(struct ts_mp_fields *fs)
{
    struct ts_mp_buf *v = ts_mp_field_val(fs, 5);
    ts_mp_array(v, 2), ts_mp_str(v, "energy"), ts_mp_str(v, "cert-eu");
}

static void m_red_no_recipients(struct ts_mp_fields *fs)
{
    ts_mp_uint(ts_mp_field_val(fs, 4), 4);
}

static void m_value_over_limit(struct ts_mp_fields *fs)
{
    static char big[LIMIT_VALUE_BYTES + 1];
    memset(big, 'a', sizeof big);
    ts_mp_strn(ts_mp_field_val(fs, 17), big, sizeof big);
}

static void m_too_many_tags(struct ts_mp_fields *fs)
{
    struct ts_mp_buf *v = ts_mp_field_val(fs, 20);
    ts_mp_array(v, LIMIT_TAGS + 1);
    for (int i = 0; i < LIMIT_TAGS + 1; i++) {
        char tag[8];
        snprintf(tag, sizeof tag, "t%02d", i);
        ts_mp_str(v, tag);
    }
}

static void m_huge_array(struct ts_mp_fields *fs)
{
    struct ts_mp_buf *v = ts_mp_field_val(fs, 5);
    ts_mp_byte(v, 0xdd), ts_mp_be(v, 0xffffffffu, 4);
}

static void m_huge_str(struct ts_mp_fields *fs)
{
    struct ts_mp_buf *v = ts_mp_field_val(fs, 21);
    ts_mp_byte(v, 0xdb), ts_mp_be(v, 0xffffffffu, 4);
}

static void m_value_invalid(struct ts_mp_fields *fs)
{
    ts_mp_str(ts_mp_field_val(fs, 17), "1.2.3");
}

static void m_value_not_normal(struct ts_mp_fields *fs)
{
    ts_mp_str(ts_mp_field_val(fs, 16), "domain");
    ts_mp_str(ts_mp_field_val(fs, 17), "Example.ORG");
}

static void m_unknown_type(struct ts_mp_fields *fs)
{
    ts_mp_str(ts_mp_field_val(fs, 16), "ip-any");
}

static void m_version2(struct ts_mp_fields *fs)
{
    ts_mp_uint(ts_mp_field_val(fs, 0), 2);
}

/* An indicator body under the sighting kind: its fields are not a sighting's. */
static void m_kind_sighting(struct ts_mp_fields *fs)
{
    ts_mp_uint(ts_mp_field_val(fs, 1), 3);
}

static void m_kind_unknown(struct ts_mp_fields *fs)
{
    ts_mp_uint(ts_mp_field_val(fs, 1), 9);
}

static void m_valid_before_created(struct ts_mp_fields *fs)
{
    ts_mp_uint(ts_mp_field_val(fs, 18), TS_SAMPLE_CREATED);
}

static void m_empty_tag(struct ts_mp_fields *fs)
{
    struct ts_mp_buf *v = ts_mp_field_val(fs, 20);
    ts_mp_array(v, 1), ts_mp_str(v, "");
}

static void m_control_in_tag(struct ts_mp_fields *fs)
{
    struct ts_mp_buf *v = ts_mp_field_val(fs, 20);
    ts_mp_array(v, 1), ts_mp_str(v, "a\x1b[31m");
}

static void m_comment_over_limit(struct ts_mp_fields *fs)
{
    static char big[LIMIT_COMMENT_BYTES + 1];
    memset(big, 'c', sizeof big);
    ts_mp_strn(ts_mp_field_val(fs, 21), big, sizeof big);
}

static void m_not_a_map(struct ts_mp_fields *fs)
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
    {"key as uint8", m_key_as_uint8, PROTO_E_NONCANON,
     "record: non-minimal encoding of integer 19"},
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
    {"out of order", m_out_of_order, PROTO_E_FIELD,
     "record: field 17 out of order (after field 18)"},
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
     "record field 17 (value): 6145 bytes, over the limit of 6144"},
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
        struct ts_mp_fields fs;
        char why[TS_WHY_LEN] = "";
        ts_sample_indicator_fields(&fs);
        m->apply(&fs);
        int rc = ts_sample_decode(&fs, why);
        if (rc != m->rc || strstr(why, m->why) == NULL)
            fail_msg("%s: got %d (%s) '%s', want %d with '%s'", m->name, rc, proto_strerror(rc),
                     why, m->rc, m->why);
    }
}

static void test_malformed_bodies(void **state)
{
    (void)state;
    struct proto_record r;
    char why[TS_WHY_LEN];
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
    char why[TS_WHY_LEN];
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
    struct ts_mp_fields fs;
    struct ts_mp_buf body;
    ts_sample_indicator_fields(&fs);
    ts_mp_assemble(&fs, &body);
    check_mutants(body.b, body.n);
    ts_sample_revocation_fields(&fs);
    ts_mp_assemble(&fs, &body);
    check_mutants(body.b, body.n);
    ts_sample_sighting_fields(&fs);
    ts_mp_assemble(&fs, &body);
    check_mutants(body.b, body.n);
    ts_sample_roster_fields(&fs);
    ts_mp_assemble(&fs, &body);
    check_mutants(body.b, body.n);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_noncanonical_variants),
        cmocka_unit_test(test_malformed_bodies),
        cmocka_unit_test(test_mutants),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
