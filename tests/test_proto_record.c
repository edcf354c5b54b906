/* test_proto_record.c - records (proto/record.h): round trips of every kind, the rules of each
 * kind, encode-time validation, set normalisation, the time rules.
 *
 * Bodies are written by the independent writer of tests/support/ts_mpack.h; the samples are
 * tests/support/ts_sample.h.
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

/* --- round trips --- */

static void round_trip(const struct proto_record *r, const struct ts_mp_fields *fs)
{
    uint8_t out[LIMIT_RECORD_BYTES];
    struct ts_mp_buf want;
    ts_mp_assemble(fs, &want);
    int n = proto_record_encode(r, out, sizeof out);
    assert_int_equal(n, (int)want.n);
    assert_memory_equal(out, want.b, want.n);

    struct proto_record back = {0}; /* decode leaves the union past r's kind as it finds it */
    char why[TS_WHY_LEN];
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
    struct ts_mp_fields fs;
    ts_sample_indicator(&r);
    ts_sample_indicator_fields(&fs);
    round_trip(&r, &fs);
}

static void test_round_trip_revocation(void **state)
{
    (void)state;
    struct proto_record r;
    struct ts_mp_fields fs;
    ts_sample_revocation(&r);
    ts_sample_revocation_fields(&fs);
    round_trip(&r, &fs);
}

static void test_round_trip_sighting(void **state)
{
    (void)state;
    struct proto_record r;
    struct ts_mp_fields fs;
    ts_sample_sighting(&r);
    ts_sample_sighting_fields(&fs);
    round_trip(&r, &fs);
}

static void test_round_trip_roster(void **state)
{
    (void)state;
    struct proto_record r;
    struct ts_mp_fields fs;
    ts_sample_roster(&r);
    ts_sample_roster_fields(&fs);
    round_trip(&r, &fs);
}

/* Every field at its limit: str8/str16 and array16 headers, 64-bit integers. */
static void test_round_trip_limits(void **state)
{
    (void)state;
    struct proto_record r;
    ts_sample_indicator(&r);
    r.tlp = PROTO_TLP_RED;
    r.created_ms = UINT64_MAX - 1;
    r.u.ind.valid_until_ms = UINT64_MAX;
    r.u.ind.confidence = 100;
    r.u.ind.type = PROTO_ITYPE_URL;
    strcpy(r.u.ind.value, "https://example.org/");
    memset(r.u.ind.value + 20, 'a', LIMIT_VALUE_PLAIN_BYTES - 20);
    r.u.ind.value[LIMIT_VALUE_PLAIN_BYTES] = '\0';
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
    char why[TS_WHY_LEN];
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

static void test_revocation_rules(void **state)
{
    (void)state;
    struct ts_mp_fields fs;
    char why[TS_WHY_LEN];
    ts_sample_revocation_fields(&fs);
    static char big[LIMIT_COMMENT_BYTES + 1];
    memset(big, 'r', sizeof big);
    ts_mp_strn(ts_mp_field_val(&fs, 17), big, sizeof big);
    assert_int_equal(ts_sample_decode(&fs, why), PROTO_E_TOOBIG);
    assert_non_null(strstr(why, "record field 17 (reason): 1025 bytes"));

    ts_sample_revocation_fields(&fs);
    ts_mp_strn(ts_mp_field_val(&fs, 17), big, LIMIT_COMMENT_BYTES);
    assert_int_equal(ts_sample_decode(&fs, why), PROTO_OK);

    ts_sample_revocation_fields(&fs);
    uint8_t id[31] = {0};
    struct ts_mp_buf *v = ts_mp_field_val(&fs, 16);
    ts_mp_byte(v, 0xc4), ts_mp_byte(v, 31), ts_mp_put(v, id, 31);
    assert_int_equal(ts_sample_decode(&fs, why), PROTO_E_RANGE);
    assert_non_null(strstr(why, "record field 16 (target): 31 bytes, not 32"));

    /* An indicator field in a revocation is unknown there. */
    ts_sample_revocation_fields(&fs);
    ts_mp_uint(ts_mp_add_field(&fs, 18), 5);
    assert_int_equal(ts_sample_decode(&fs, why), PROTO_E_FIELD);
    assert_string_equal(why, "record: unknown field 18");
}

/* One rule of the sighting or roster body broken: the decoder and the encoder refuse it alike. */
static void expect_refused(const struct ts_mp_fields *fs, int want_rc, const char *want_why)
{
    char why[TS_WHY_LEN] = "";
    int rc = ts_sample_decode(fs, why);
    if (rc != want_rc || strstr(why, want_why) == NULL)
        fail_msg("got %d (%s) '%s', want %d with '%s'", rc, proto_strerror(rc), why, want_rc,
                 want_why);
}

static void test_sighting_rules(void **state)
{
    (void)state;
    struct ts_mp_fields fs;
    ts_sample_sighting_fields(&fs);
    ts_mp_uint(ts_mp_field_val(&fs, 17), 0);
    expect_refused(&fs, PROTO_E_RANGE, "record field 17 (count): 0 is not at least 1");

    ts_sample_sighting_fields(&fs);
    ts_mp_uint(ts_mp_field_val(&fs, 18), TS_SAMPLE_CREATED + 1);
    expect_refused(&fs, PROTO_E_RANGE, "record field 18 (first_seen): 1700000000001 is after "
                                       "last_seen (1700000000000)");

    /* last_seen may lead created by the clock skew bound, not by a millisecond more. */
    ts_sample_sighting_fields(&fs);
    ts_mp_uint(ts_mp_field_val(&fs, 19), TS_SAMPLE_CREATED + 7 + LIMIT_CLOCK_SKEW_MS);
    expect_refused(&fs, PROTO_OK, "");
    ts_mp_uint(ts_mp_field_val(&fs, 19), TS_SAMPLE_CREATED + 8 + LIMIT_CLOCK_SKEW_MS);
    expect_refused(&fs, PROTO_E_RANGE, "record field 19 (last_seen): 1700000300008 is after "
                                       "created");

    ts_sample_sighting_fields(&fs);
    ts_mp_drop_field(&fs, 18);
    expect_refused(&fs, PROTO_E_FIELD, "record: missing field 18 (first_seen)");

    ts_sample_sighting_fields(&fs);
    uint8_t id[31] = {0};
    struct ts_mp_buf *v = ts_mp_field_val(&fs, 16);
    ts_mp_byte(v, 0xc4), ts_mp_byte(v, 31), ts_mp_put(v, id, 31);
    expect_refused(&fs, PROTO_E_RANGE, "record field 16 (target): 31 bytes, not 32");

    /* An indicator's tags are no field of a sighting. */
    ts_sample_sighting_fields(&fs);
    ts_mp_array(ts_mp_add_field(&fs, 20), 0);
    expect_refused(&fs, PROTO_E_FIELD, "record: unknown field 20");

    struct proto_record r;
    uint8_t out[LIMIT_RECORD_BYTES];
    ts_sample_sighting(&r);
    r.u.sight.count = 0;
    assert_int_equal(proto_record_encode(&r, out, sizeof out), PROTO_E_RANGE);
    ts_sample_sighting(&r);
    r.u.sight.first_seen_ms = r.u.sight.last_seen_ms + 1;
    assert_int_equal(proto_record_encode(&r, out, sizeof out), PROTO_E_RANGE);
}

static void test_roster_rules(void **state)
{
    (void)state;
    struct ts_mp_fields fs;
    struct ts_mp_buf *m;
    ts_sample_roster_fields(&fs);
    m = ts_mp_field_val(&fs, 18);
    ts_mp_array(m, 2), ts_sample_member(m, 0x07, "cert-a"), ts_sample_member(m, 0x02, "cert-b");
    expect_refused(&fs, PROTO_E_NONCANON,
                   "record field 18 (members): not sorted ascending by key without duplicates");

    ts_sample_roster_fields(&fs);
    m = ts_mp_field_val(&fs, 18);
    ts_mp_array(m, 2), ts_sample_member(m, 0x02, "cert-a"), ts_sample_member(m, 0x02, "cert-b");
    expect_refused(&fs, PROTO_E_NONCANON, "record field 18 (members): not sorted");

    ts_sample_roster_fields(&fs);
    m = ts_mp_field_val(&fs, 18);
    ts_mp_array(m, 1), ts_sample_member(m, 0x02, "");
    expect_refused(&fs, PROTO_E_RANGE, "record field 18 (members): empty text is not allowed");

    ts_sample_roster_fields(&fs);
    m = ts_mp_field_val(&fs, 18);
    uint8_t k[32] = {0};
    ts_mp_array(m, 1), ts_mp_array(m, 3), ts_mp_bin32(m, k), ts_mp_str(m, "a"), ts_mp_str(m, "b");
    expect_refused(&fs, PROTO_E_RANGE, "record field 18 (members): member 0 is an array of 3");

    ts_sample_roster_fields(&fs);
    m = ts_mp_field_val(&fs, 18);
    ts_mp_byte(m, 0xdc), ts_mp_be(m, LIMIT_ROSTER_MEMBERS + 1, 2);
    expect_refused(&fs, PROTO_E_TOOBIG, "record field 18 (members): 257 elements, over the "
                                        "limit of 256");

    ts_sample_roster_fields(&fs);
    ts_mp_uint(ts_mp_field_val(&fs, 17), 0);
    expect_refused(&fs, PROTO_E_RANGE, "record field 17 (version): 0 is not at least 1");

    ts_sample_roster_fields(&fs);
    ts_mp_str(ts_mp_field_val(&fs, 16), "");
    expect_refused(&fs, PROTO_E_RANGE, "record field 16 (name): empty text is not allowed");

    /* An empty roster is a community nobody is (still) in: allowed. */
    ts_sample_roster_fields(&fs);
    ts_mp_array(ts_mp_field_val(&fs, 18), 0);
    expect_refused(&fs, PROTO_OK, "");

    struct proto_record *r = calloc(1, sizeof *r);
    assert_non_null(r);
    static uint8_t out[LIMIT_RECORD_BYTES];
    ts_sample_roster(r);
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
    ts_sample_roster(r);
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
    ts_sample_indicator(&r);
    r.tlp = PROTO_TLP_RED;
    assert_int_equal(proto_record_encode(&r, out, sizeof out), PROTO_E_AUDIENCE);
    ts_sample_indicator(&r);
    strcpy(r.u.ind.value, "192.0.2.01");
    assert_int_equal(proto_record_encode(&r, out, sizeof out), PROTO_E_VALUE);
    ts_sample_indicator(&r);
    strcpy(r.u.ind.tags[0], "zz");
    assert_int_equal(proto_record_encode(&r, out, sizeof out), PROTO_E_NONCANON);
    ts_sample_indicator(&r);
    memset(r.u.ind.comment, 'x', sizeof r.u.ind.comment); /* no NUL within the field */
    assert_int_equal(proto_record_encode(&r, out, sizeof out), PROTO_E_TOOBIG);
    ts_sample_indicator(&r);
    r.kind = PROTO_KIND_SIGHTING;
    assert_int_equal(proto_record_encode(&r, out, sizeof out), PROTO_E_RANGE);
    ts_sample_indicator(&r);
    r.version = 2;
    assert_int_equal(proto_record_encode(&r, out, sizeof out), PROTO_E_VERSION);
}

static void test_normalise_sets(void **state)
{
    (void)state;
    struct proto_record r;
    uint8_t out[LIMIT_RECORD_BYTES];
    ts_sample_indicator(&r);
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

/* --- time rules --- */

static void test_check_time(void **state)
{
    (void)state;
    struct proto_record r;
    ts_sample_indicator(&r);
    uint64_t skew = LIMIT_CLOCK_SKEW_MS;
    assert_int_equal(proto_record_check_time(&r, TS_SAMPLE_CREATED), PROTO_OK);
    assert_int_equal(proto_record_check_time(&r, TS_SAMPLE_CREATED - skew), PROTO_OK);
    assert_int_equal(proto_record_check_time(&r, TS_SAMPLE_CREATED - skew - 1), PROTO_E_FUTURE);
    assert_int_equal(proto_record_check_time(&r, 0), PROTO_E_FUTURE);
    assert_int_equal(proto_record_check_time(&r, TS_SAMPLE_VALID_UNTIL - 1), PROTO_OK);
    assert_int_equal(proto_record_check_time(&r, TS_SAMPLE_VALID_UNTIL), PROTO_E_EXPIRED);
    assert_int_equal(proto_record_check_time(&r, UINT64_MAX), PROTO_E_EXPIRED);
    ts_sample_revocation(&r);
    assert_int_equal(proto_record_check_time(&r, UINT64_MAX), PROTO_OK);
    r.created_ms = UINT64_MAX;
    assert_int_equal(proto_record_check_time(&r, UINT64_MAX - skew), PROTO_OK);
    assert_int_equal(proto_record_check_time(&r, UINT64_MAX - skew - 1), PROTO_E_FUTURE);
}

/* A chunk of a chunked roster: fields 19..21 follow the members, a map of 13 entries. */
static void chunk_fields(struct ts_mp_fields *fs, uint64_t chunk, uint64_t chunks)
{
    uint8_t d[32];
    memset(d, 0xd1, sizeof d);
    ts_sample_roster_fields(fs);
    ts_mp_uint(ts_mp_add_field(fs, 19), chunk);
    ts_mp_uint(ts_mp_add_field(fs, 20), chunks);
    ts_mp_bin32(ts_mp_add_field(fs, 21), d);
}

static void test_round_trip_roster_chunk(void **state)
{
    (void)state;
    struct proto_record r;
    struct ts_mp_fields fs;
    ts_sample_roster(&r);
    r.u.roster.chunk = 3;
    r.u.roster.chunks = LIMIT_ROSTER_CHUNKS;
    memset(r.u.roster.digest, 0xd1, sizeof r.u.roster.digest);
    chunk_fields(&fs, 3, LIMIT_ROSTER_CHUNKS);
    round_trip(&r, &fs);
}

static void test_roster_chunk_rules(void **state)
{
    (void)state;
    struct ts_mp_fields fs;
    chunk_fields(&fs, 4, 4);
    expect_refused(&fs, PROTO_E_RANGE, "record field 19 (chunk): 4 is not below chunks (4)");
    chunk_fields(&fs, 0, 0);
    expect_refused(&fs, PROTO_E_RANGE, "record field 20 (chunks): 0 is not 1..128");
    chunk_fields(&fs, 0, LIMIT_ROSTER_CHUNKS + 1);
    expect_refused(&fs, PROTO_E_RANGE, "record field 20 (chunks): 129 is not 1..128");
    /* all three or none */
    ts_sample_roster_fields(&fs);
    ts_mp_uint(ts_mp_add_field(&fs, 19), 0);
    ts_mp_uint(ts_mp_add_field(&fs, 20), 2);
    expect_refused(&fs, PROTO_E_FIELD, "missing field 21 (digest)");
    ts_sample_roster_fields(&fs);
    ts_mp_uint(ts_mp_add_field(&fs, 20), 2);
    expect_refused(&fs, PROTO_E_FIELD, "missing field 19 (chunk)");
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
        cmocka_unit_test(test_round_trip_roster_chunk),
        cmocka_unit_test(test_roster_chunk_rules),
        cmocka_unit_test(test_round_trip_limits),
        cmocka_unit_test(test_revocation_rules),
        cmocka_unit_test(test_encode_validates),
        cmocka_unit_test(test_normalise_sets),
        cmocka_unit_test(test_check_time),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
