/* test_proto_sign.c - signatures and ids of records (proto/record.h), and the test vectors
 * published in docs/PROTOCOL.md.
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
#include "proto/record.h"
#include "tests/support/ts_ident.h"
#include "tests/support/ts_mpack.h"
#include "tests/support/ts_sample.h"

/* --- signatures and ids --- */

static void test_sign_verify(void **state)
{
    (void)state;
    struct keys_identity id;
    ts_identity(7, &id);

    struct proto_record r;
    ts_sample_indicator(&r);
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
    ts_sample_origin(other);
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
    struct ts_mp_fields fs;
    struct ts_mp_buf body;
    ts_sample_indicator_fields(&fs);
    ts_mp_assemble(&fs, &body);
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
    char why[TS_WHY_LEN];
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
        cmocka_unit_test(test_sign_verify),
        cmocka_unit_test(test_id_stable),
        cmocka_unit_test(test_protocol_vectors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
