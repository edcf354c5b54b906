/* test_export.c - every export format on fixed records: exact bytes where the format is text,
 * parsed-back JSON for STIX and MISP (one event per TLP level), and the gate: revoked, expired,
 * over-ceiling and RED records that N may not see never appear. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "node/formats/export.h"
#include "tests/support/ts_export.h"
#include "tests/support/ts_record.h"

#define NOW_MS 1767225600000ULL /* 2026-01-01T00:00:00.000Z */
#define HOUR_MS 3600000ULL
#define N_RECS 15

struct fixture {
    uint8_t id[LIMIT_ID_BYTES];
    struct proto_record rec;
    bool revoked;
};

static struct fixture recs[N_RECS];
static const uint8_t self_key[LIMIT_KEY_BYTES] = {0x11, 0x22, 0x33};
static const uint8_t other_key[LIMIT_KEY_BYTES] = {0x99};

static void add(size_t i, int tlp, int itype, const char *value, uint8_t confidence,
                const char *comment)
{
    struct fixture *f = &recs[i];
    memset(f, 0, sizeof *f);
    for (size_t b = 0; b < LIMIT_ID_BYTES; b++)
        f->id[b] = (uint8_t)(i * 16 + b);
    struct proto_record *r = &f->rec;
    ts_indicator(r, (uint8_t)tlp, (uint8_t)itype, value, NOW_MS - HOUR_MS * (N_RECS - i),
                 NOW_MS + 24 * HOUR_MS);
    r->origin[0] = 0x42;
    r->u.ind.confidence = confidence;
    snprintf(r->u.ind.comment, sizeof r->u.ind.comment, "%s", comment);
}

static int setup(void **state)
{
    (void)state;
    add(0, PROTO_TLP_CLEAR, PROTO_ITYPE_IP_DST, "203.0.113.7", 80, "C2\tof \"X\"\nline2");
    recs[0].rec.u.ind.n_tags = 2;
    strcpy(recs[0].rec.u.ind.tags[0], "c2");
    strcpy(recs[0].rec.u.ind.tags[1], "phishing");
    add(1, PROTO_TLP_GREEN, PROTO_ITYPE_DOMAIN, "evil.example", 50, "");
    add(2, PROTO_TLP_AMBER, PROTO_ITYPE_URL, "http://evil.example/a?b='c'", 50, "");
    add(3, PROTO_TLP_AMBER_STRICT, PROTO_ITYPE_SHA256,
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", 90, "strict");
    add(4, PROTO_TLP_GREEN, PROTO_ITYPE_MD5, "d41d8cd98f00b204e9800998ecf8427e", 50, "");
    add(5, PROTO_TLP_CLEAR, PROTO_ITYPE_SHA1, "da39a3ee5e6b4b0d3255bfef95601890afd80709", 50, "");
    add(6, PROTO_TLP_GREEN, PROTO_ITYPE_IP_SRC, "198.51.100.0/24", 0, "scanner net");
    add(7, PROTO_TLP_CLEAR, PROTO_ITYPE_HOSTNAME, "www.evil.example", 100, "");
    add(8, PROTO_TLP_CLEAR, PROTO_ITYPE_EMAIL_SRC, "bad@evil.example", 50, "");
    add(9, PROTO_TLP_CLEAR, PROTO_ITYPE_FILENAME, "abc", 50, "");
    /* RED to N itself: only with ceiling red */
    add(10, PROTO_TLP_RED, PROTO_ITYPE_IP_DST, "192.0.2.1", 50, "");
    recs[10].rec.audience.n_recipients = 1;
    memcpy(recs[10].rec.audience.recipients[0], self_key, LIMIT_KEY_BYTES);
    /* RED to someone else, published by N: never */
    add(11, PROTO_TLP_RED, PROTO_ITYPE_IP_DST, "192.0.2.2", 50, "");
    recs[11].rec.audience.n_recipients = 1;
    memcpy(recs[11].rec.audience.recipients[0], other_key, LIMIT_KEY_BYTES);
    memcpy(recs[11].rec.origin, self_key, LIMIT_KEY_BYTES);
    add(12, PROTO_TLP_CLEAR, PROTO_ITYPE_DOMAIN, "revoked.example", 50, "");
    recs[12].revoked = true;
    add(13, PROTO_TLP_CLEAR, PROTO_ITYPE_DOMAIN, "expired.example", 50, "");
    recs[13].rec.u.ind.valid_until_ms = NOW_MS;
    /* not an indicator: never exported */
    add(14, PROTO_TLP_CLEAR, PROTO_ITYPE_DOMAIN, "x", 50, "");
    recs[14].rec.kind = PROTO_KIND_REVOCATION;
    return 0;
}

static int fixture_each(void *src, export_record_cb cb, void *ctx)
{
    (void)src;
    for (size_t i = 0; i < N_RECS; i++) {
        const int rc = cb(recs[i].id, &recs[i].rec, recs[i].revoked, ctx);
        if (rc)
            return rc;
    }
    return 0;
}

static int failing_each(void *src, export_record_cb cb, void *ctx)
{
    (void)src;
    (void)cb;
    (void)ctx;
    return -1;
}

/* Organisations as the CLI would know them (config, rosters): the fixture's origin 0x42 is
 * another node of N's own organisation, CERT-A... */
static const char *fixture_org(void *ctx, const uint8_t key[LIMIT_KEY_BYTES])
{
    (void)ctx;
    return key[0] == 0x42 || memcmp(key, self_key, LIMIT_KEY_BYTES) == 0 ? "CERT-A" : "";
}

/* ...or of CERT-B, a partner's (issue 11 point 7: exports name the originator). */
static const char *fixture_org_b(void *ctx, const uint8_t key[LIMIT_KEY_BYTES])
{
    (void)ctx;
    return key[0] == 0x42 ? "CERT-B" : memcmp(key, self_key, LIMIT_KEY_BYTES) == 0 ? "CERT-A" : "";
}

static struct export_job job_for(int format, int max_tlp)
{
    struct export_job j;
    memset(&j, 0, sizeof j);
    j.format = format;
    memcpy(j.self.key, self_key, LIMIT_KEY_BYTES);
    strcpy(j.self.org, "CERT-A");
    j.max_tlp = (uint8_t)max_tlp;
    j.now_ms = NOW_MS;
    j.src.each = fixture_each;
    j.origin_org = fixture_org;
    return j;
}

static void assert_render(const struct export_job *j, const char *name, const char *want)
{
    char *got = ts_export_render(j, name, NULL);
    assert_string_equal(got, want);
    free(got);
}
static const char golden_text[] =
        "203.0.113.7\n"
        "evil.example\n"
        "http://evil.example/a?b='c'\n"
        "d41d8cd98f00b204e9800998ecf8427e\n"
        "da39a3ee5e6b4b0d3255bfef95601890afd80709\n"
        "198.51.100.0/24\n"
        "www.evil.example\n"
        "bad@evil.example\n"
        "abc\n";

static const char golden_zeek[] =
        "#fields\tindicator\tindicator_type\tmeta.source\tmeta.desc\tmeta.url\tmeta.do_notice\tmeta.if_in\n"
        "203.0.113.7\tIntel::ADDR\ttlpmesh:000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\tTLP:CLEAR C2 of \"X\" line2\t-\tT\t-\n"
        "evil.example\tIntel::DOMAIN\ttlpmesh:101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f\tTLP:GREEN\t-\tT\t-\n"
        "evil.example/a?b='c'\tIntel::URL\ttlpmesh:202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f\tTLP:AMBER\t-\tT\t-\n"
        "d41d8cd98f00b204e9800998ecf8427e\tIntel::FILE_HASH\ttlpmesh:404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f\tTLP:GREEN\t-\tT\t-\n"
        "da39a3ee5e6b4b0d3255bfef95601890afd80709\tIntel::FILE_HASH\ttlpmesh:505152535455565758595a5b5c5d5e5f606162636465666768696a6b6c6d6e6f\tTLP:CLEAR\t-\tT\t-\n"
        "198.51.100.0/24\tIntel::SUBNET\ttlpmesh:606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f\tTLP:GREEN scanner net\t-\tT\t-\n"
        "www.evil.example\tIntel::DOMAIN\ttlpmesh:707172737475767778797a7b7c7d7e7f808182838485868788898a8b8c8d8e8f\tTLP:CLEAR\t-\tT\t-\n"
        "bad@evil.example\tIntel::EMAIL\ttlpmesh:808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f\tTLP:CLEAR\t-\tT\t-\n"
        "abc\tIntel::FILE_NAME\ttlpmesh:909192939495969798999a9b9c9d9e9fa0a1a2a3a4a5a6a7a8a9aaabacadaeaf\tTLP:CLEAR\t-\tT\t-\n";

static const char golden_hosts[] =
        "# Blocklist in the HOSTS format\n"
        "# Generated: 2026-01-01T00:00:00.000Z\n"
        "0.0.0.0 evil.example\n"
        "0.0.0.0 www.evil.example\n";

static const char golden_csv[] =
        "uuid,event_id,category,type,value,comment,to_ids,date,object_relation,attribute_tag,object_uuid,object_name,object_meta_category,origin_organisation,origin_key,record_id,audience\n"
        "\"00010203-0405-5607-8809-0a0b0c0d0e0f\",\"8969545c-c438-56a6-9c6d-638ab3a451a2\",\"Network activity\",\"ip-dst\",\"203.0.113.7\",\"C2\tof \"\"X\"\"\n"
        "line2\",\"1\",\"1767171600\",\"\",\"tlp:clear,c2,phishing\",\"\",\"\",\"\",\"CERT-A\",\"QgAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\",\"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\",\"{\"\"communities\"\":[],\"\"recipients\"\":[]}\"\n"
        "\"10111213-1415-5617-9819-1a1b1c1d1e1f\",\"1d393232-0e7f-5624-bb01-6453f21bfe94\",\"Network activity\",\"domain\",\"evil.example\",\"\",\"1\",\"1767175200\",\"\",\"tlp:green\",\"\",\"\",\"\",\"CERT-A\",\"QgAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\",\"101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f\",\"{\"\"communities\"\":[],\"\"recipients\"\":[]}\"\n"
        "\"20212223-2425-5627-a829-2a2b2c2d2e2f\",\"383d41a7-fd77-5760-acc9-0e1d0fc130fe\",\"Network activity\",\"url\",\"http://evil.example/a?b='c'\",\"\",\"1\",\"1767178800\",\"\",\"tlp:amber\",\"\",\"\",\"\",\"CERT-A\",\"QgAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\",\"202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f\",\"{\"\"communities\"\":[],\"\"recipients\"\":[]}\"\n"
        "\"40414243-4445-5647-8849-4a4b4c4d4e4f\",\"1d393232-0e7f-5624-bb01-6453f21bfe94\",\"Payload delivery\",\"md5\",\"d41d8cd98f00b204e9800998ecf8427e\",\"\",\"1\",\"1767186000\",\"\",\"tlp:green\",\"\",\"\",\"\",\"CERT-A\",\"QgAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\",\"404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f\",\"{\"\"communities\"\":[],\"\"recipients\"\":[]}\"\n"
        "\"50515253-5455-5657-9859-5a5b5c5d5e5f\",\"8969545c-c438-56a6-9c6d-638ab3a451a2\",\"Payload delivery\",\"sha1\",\"da39a3ee5e6b4b0d3255bfef95601890afd80709\",\"\",\"1\",\"1767189600\",\"\",\"tlp:clear\",\"\",\"\",\"\",\"CERT-A\",\"QgAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\",\"505152535455565758595a5b5c5d5e5f606162636465666768696a6b6c6d6e6f\",\"{\"\"communities\"\":[],\"\"recipients\"\":[]}\"\n"
        "\"60616263-6465-5667-a869-6a6b6c6d6e6f\",\"1d393232-0e7f-5624-bb01-6453f21bfe94\",\"Network activity\",\"ip-src\",\"198.51.100.0/24\",\"scanner net\",\"1\",\"1767193200\",\"\",\"tlp:green\",\"\",\"\",\"\",\"CERT-A\",\"QgAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\",\"606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f\",\"{\"\"communities\"\":[],\"\"recipients\"\":[]}\"\n"
        "\"70717273-7475-5677-b879-7a7b7c7d7e7f\",\"8969545c-c438-56a6-9c6d-638ab3a451a2\",\"Network activity\",\"hostname\",\"www.evil.example\",\"\",\"1\",\"1767196800\",\"\",\"tlp:clear\",\"\",\"\",\"\",\"CERT-A\",\"QgAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\",\"707172737475767778797a7b7c7d7e7f808182838485868788898a8b8c8d8e8f\",\"{\"\"communities\"\":[],\"\"recipients\"\":[]}\"\n"
        "\"80818283-8485-5687-8889-8a8b8c8d8e8f\",\"8969545c-c438-56a6-9c6d-638ab3a451a2\",\"Payload delivery\",\"email-src\",\"bad@evil.example\",\"\",\"1\",\"1767200400\",\"\",\"tlp:clear\",\"\",\"\",\"\",\"CERT-A\",\"QgAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\",\"808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f\",\"{\"\"communities\"\":[],\"\"recipients\"\":[]}\"\n"
        "\"90919293-9495-5697-9899-9a9b9c9d9e9f\",\"8969545c-c438-56a6-9c6d-638ab3a451a2\",\"Payload delivery\",\"filename\",\"abc\",\"\",\"1\",\"1767204000\",\"\",\"tlp:clear\",\"\",\"\",\"\",\"CERT-A\",\"QgAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\",\"909192939495969798999a9b9c9d9e9fa0a1a2a3a4a5a6a7a8a9aaabacadaeaf\",\"{\"\"communities\"\":[],\"\"recipients\"\":[]}\"\n";

static const char golden_text_red[] =
        "203.0.113.7\n"
        "evil.example\n"
        "http://evil.example/a?b='c'\n"
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n"
        "d41d8cd98f00b204e9800998ecf8427e\n"
        "da39a3ee5e6b4b0d3255bfef95601890afd80709\n"
        "198.51.100.0/24\n"
        "www.evil.example\n"
        "bad@evil.example\n"
        "abc\n"
        "192.0.2.1\n";

static const char golden_sur_ip[] =
        "203.0.113.7\n";

static const char golden_sur_domains[] =
        "ZXZpbC5leGFtcGxl\n"
        "d3d3LmV2aWwuZXhhbXBsZQ==\n";

static const char golden_sur_urls[] =
        "aHR0cDovL2V2aWwuZXhhbXBsZS9hP2I9J2Mn\n";

static const char golden_sur_emails[] =
        "YmFkQGV2aWwuZXhhbXBsZQ==\n";

static const char golden_sur_filenames[] =
        "YWJj\n";

static const char golden_sur_md5[] =
        "d41d8cd98f00b204e9800998ecf8427e\n";

static const char golden_sur_sha1[] =
        "da39a3ee5e6b4b0d3255bfef95601890afd80709\n";

static const char golden_iprep_categories[] =
        "1,tlpmesh-src,tlpmesh ip-src indicators (sources of attacks)\n"
        "2,tlpmesh-dst,tlpmesh ip-dst indicators (destinations: C2 and drop sites)\n";

static const char golden_iprep_reputation[] =
        "203.0.113.7,2,101\n"
        "198.51.100.0/24,1,1\n";

/* ---- text formats: exact bytes ---- */

static void test_text_formats(void **state)
{
    (void)state;
    struct export_job j = job_for(EXPORT_FMT_TEXT, PROTO_TLP_AMBER);
    struct export_stats st;
    export_stats_init(&st);
    char *got = ts_export_render(&j, NULL, &st);
    assert_string_equal(got, golden_text);
    free(got);
    assert_int_equal(st.records, 9);
    assert_true(st.next_expiry_ms == NOW_MS + 24 * HOUR_MS);
    j.format = EXPORT_FMT_ZEEK;
    assert_render(&j, NULL, golden_zeek);
    j.format = EXPORT_FMT_HOSTS;
    assert_render(&j, NULL, golden_hosts);
    j.format = EXPORT_FMT_CSV;
    assert_render(&j, NULL, golden_csv);
}

static void test_suricata_files(void **state)
{
    (void)state;
    struct export_job j = job_for(EXPORT_FMT_SURICATA, PROTO_TLP_AMBER);
    char(*names)[LIMIT_EXPORT_FILE_NAME_BYTES] = NULL;
    assert_int_equal(export_dir_files(&j, &names), 14);
    assert_string_equal(names[13], "tlpmesh.rules"); /* after the lists it loads */
    assert_render(&j, "ip.lst", golden_sur_ip);
    assert_render(&j, "domains.lst", golden_sur_domains);
    assert_render(&j, "urls.lst", golden_sur_urls);
    assert_render(&j, "emails.lst", golden_sur_emails);
    assert_render(&j, "filenames.lst", golden_sur_filenames);
    assert_render(&j, "md5.lst", golden_sur_md5);
    assert_render(&j, "sha1.lst", golden_sur_sha1);
    assert_render(&j, "sha256.lst", ""); /* its only record is AMBER+STRICT, over the ceiling */
    char *rules = ts_export_render(&j, "tlpmesh.rules", NULL);
    assert_non_null(strstr(rules, "dataset:isset,tlpmesh-domains, type string, load domains.lst"));
    assert_non_null(strstr(rules, "filesha1:sha1.lst"));
    free(rules);
    FILE *devnull = fopen("/dev/null", "w");
    assert_int_equal(export_write(&j, "nope.lst", devnull, NULL), EXPORT_E_INVAL);
    assert_int_equal(export_write(&j, NULL, devnull, NULL), EXPORT_E_INVAL);
    fclose(devnull);

    j.format = EXPORT_FMT_SURICATA_IPREP;
    free(names);
    assert_int_equal(export_dir_files(&j, &names), 2);
    free(names);
    assert_render(&j, "categories.txt", golden_iprep_categories);
    assert_render(&j, "reputation.list", golden_iprep_reputation);
}

/* ---- the gate ---- */

static void test_gate_decides(void **state)
{
    (void)state;
    /* ceiling red: RED addressed to N appears, RED that N published for someone else does not,
     * nor revoked, expired or non-indicator records */
    struct export_job j = job_for(EXPORT_FMT_TEXT, PROTO_TLP_RED);
    assert_render(&j, NULL, golden_text_red);
    assert_true(export_admits(&j, &recs[10].rec, false));
    assert_false(export_admits(&j, &recs[11].rec, false)); /* origin, not recipient */
    assert_false(export_admits(&j, &recs[12].rec, true));  /* revoked */
    assert_false(export_admits(&j, &recs[13].rec, false)); /* valid_until == now */
    /* the default ceiling (amber) keeps AMBER+STRICT and RED out */
    j.max_tlp = PROTO_TLP_AMBER;
    assert_false(export_admits(&j, &recs[10].rec, false));
    assert_false(export_admits(&j, &recs[3].rec, false));
    assert_true(export_admits(&j, &recs[2].rec, false));
    /* green excludes amber */
    j.max_tlp = PROTO_TLP_GREEN;
    assert_false(export_admits(&j, &recs[2].rec, false));
    assert_true(export_admits(&j, &recs[1].rec, false));
    /* without a known organisation, GREEN to a named community N is not known in: refused */
    j.self.org[0] = '\0';
    recs[1].rec.audience.n_communities = 1;
    strcpy(recs[1].rec.audience.communities[0], "eu-energy");
    assert_false(export_admits(&j, &recs[1].rec, false));
    recs[1].rec.audience.n_communities = 0;
    /* filters */
    j = job_for(EXPORT_FMT_TEXT, PROTO_TLP_AMBER);
    j.types = 1u << PROTO_ITYPE_MD5 | 1u << PROTO_ITYPE_SHA1;
    j.since_ms = recs[5].rec.created_ms;
    assert_render(&j, NULL, "da39a3ee5e6b4b0d3255bfef95601890afd80709\n");
    /* a failing source is an error, not an empty export */
    j.src.each = failing_each;
    FILE *devnull = fopen("/dev/null", "w");
    assert_int_equal(export_write(&j, NULL, devnull, NULL), EXPORT_E_SOURCE);
    j.max_tlp = 9;
    assert_int_equal(export_write(&j, NULL, devnull, NULL), EXPORT_E_INVAL);
    fclose(devnull);
}

/* ---- STIX ---- */

static json_t *parse(const char *text)
{
    json_error_t e;
    json_t *o = json_loads(text, 0, &e);
    if (!o)
        fail_msg("not JSON: %s at line %d", e.text, e.line);
    return o;
}

/* One export file, parsed (caller decrefs). */
static json_t *render_doc(const struct export_job *j, const char *name)
{
    char *text = ts_export_render(j, name, NULL);
    json_t *doc = parse(text);
    free(text);
    return doc;
}

static const char *str(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    assert_non_null(s);
    return s;
}

static json_t *find_id(json_t *objects, const char *id)
{
    size_t i;
    json_t *o;
    json_array_foreach(objects, i, o)
        if (strcmp(str(o, "id"), id) == 0)
            return o;
    return NULL;
}

/* created_by_ref names the origin's organisation (issue 11 point 7), with an id and created that
 * do not depend on the export; an origin of unknown organisation is an identity of its own. */
static void test_stix_origin_identities(void **state)
{
    (void)state;
    struct export_job j = job_for(EXPORT_FMT_STIX, PROTO_TLP_AMBER);
    j.origin_org = fixture_org_b;
    json_t *b = render_doc(&j, NULL);
    json_t *objs = json_object_get(b, "objects"), *ident = json_array_get(objs, 0);
    assert_string_equal(str(ident, "type"), "identity");
    assert_string_equal(str(ident, "name"), "CERT-B");
    assert_string_equal(str(ident, "created"), "2024-01-01T00:00:00.000Z");
    assert_string_equal(str(ident, "modified"), "2024-01-01T00:00:00.000Z");
    char want[64];
    export_uuid_derive("tlpmesh-identity-organisation", (const uint8_t *)"CERT-B", 6, want);
    char id[80];
    snprintf(id, sizeof id, "identity--%s", want);
    assert_string_equal(str(ident, "id"), id);
    assert_string_equal(str(json_array_get(objs, 1), "type"), "marking-definition");
    size_t i;
    json_t *o;
    json_array_foreach(objs, i, o)
        if (strcmp(str(o, "type"), "indicator") == 0) {
            assert_string_equal(str(o, "created_by_ref"), id);
            assert_string_equal(str(json_object_get(o, "x_tlpmesh"), "origin_organisation"),
                                "CERT-B");
        }
    json_decref(b);
    /* an origin of unknown organisation is an identity of its own */
    j.origin_org = NULL;
    b = render_doc(&j, NULL);
    ident = json_array_get(json_object_get(b, "objects"), 0);
    assert_string_equal(str(ident, "name"), "unknown organisation (node QgAAAAAA...)");
    json_decref(b);
    j.origin_org = fixture_org_b;
    /* an hour later: the same identity, byte for byte */
    j.now_ms += HOUR_MS;
    b = render_doc(&j, NULL);
    char *again = json_dumps(json_array_get(json_object_get(b, "objects"), 0), JSON_SORT_KEYS);
    json_decref(b);
    j.now_ms -= HOUR_MS;
    b = render_doc(&j, NULL);
    char *first = json_dumps(json_array_get(json_object_get(b, "objects"), 0), JSON_SORT_KEYS);
    assert_string_equal(first, again);
    free(first);
    free(again);
    json_decref(b);
}

static void test_stix_bundle(void **state)
{
    (void)state;
    struct export_job j = job_for(EXPORT_FMT_STIX, PROTO_TLP_AMBER);
    char *text = ts_export_render(&j, NULL, NULL);
    json_t *b = parse(text);
    free(text);
    assert_string_equal(str(b, "type"), "bundle");
    assert_int_equal(strncmp(str(b, "id"), "bundle--", 8), 0);
    json_t *objs = json_object_get(b, "objects");
    /* identity + markings clear, green, amber + 9 indicators */
    assert_int_equal(json_array_size(objs), 1 + 3 + 9);
    json_t *ident = json_array_get(objs, 0);
    assert_string_equal(str(ident, "type"), "identity");
    assert_string_equal(str(ident, "name"), "CERT-A");
    assert_string_equal(str(ident, "identity_class"), "organization");
    size_t i;
    json_t *o;
    json_array_foreach(objs, i, o)
    {
        assert_string_equal(str(o, "spec_version"), "2.1");
        if (strcmp(str(o, "type"), "indicator") == 0)
            assert_string_equal(str(o, "created_by_ref"), str(ident, "id"));
    }
    assert_non_null(find_id(objs, "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487"));
    assert_non_null(find_id(objs, "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"));
    assert_non_null(find_id(objs, "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"));
    /* the first record: id from its record id, pattern, times, tags, comment, marking */
    json_t *ind = find_id(objs, "indicator--00010203-0405-5607-8809-0a0b0c0d0e0f");
    assert_non_null(ind);
    assert_string_equal(str(ind, "pattern"), "[ipv4-addr:value = '203.0.113.7']");
    assert_string_equal(str(ind, "pattern_type"), "stix");
    assert_string_equal(str(ind, "valid_from"), "2025-12-31T09:00:00.000Z");
    assert_string_equal(str(ind, "created"), "2025-12-31T09:00:00.000Z");
    assert_string_equal(str(ind, "valid_until"), "2026-01-02T00:00:00.000Z");
    assert_string_equal(str(ind, "description"), "C2\tof \"X\"\nline2");
    assert_int_equal(json_integer_value(json_object_get(ind, "confidence")), 80);
    json_t *labels = json_object_get(ind, "labels");
    assert_int_equal(json_array_size(labels), 2);
    assert_string_equal(json_string_value(json_array_get(labels, 1)), "phishing");
    json_t *marks = json_object_get(ind, "object_marking_refs");
    assert_int_equal(json_array_size(marks), 1);
    assert_string_equal(json_string_value(json_array_get(marks, 0)),
                        "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487");
    /* quotes in values are escaped in the pattern */
    ind = find_id(objs, "indicator--20212223-2425-5627-a829-2a2b2c2d2e2f");
    assert_string_equal(str(ind, "pattern"), "[url:value = 'http://evil.example/a?b=\\'c\\'']");
    assert_null(json_object_get(ind, "labels"));
    assert_null(json_object_get(ind, "description"));
    json_decref(b);
}

static void test_stix_tlp1(void **state)
{
    (void)state;
    struct export_job j = job_for(EXPORT_FMT_STIX, PROTO_TLP_AMBER_STRICT);
    j.stix_tlp = STIXMAP_TLP1;
    char *text = ts_export_render(&j, NULL, NULL);
    json_t *b = parse(text);
    free(text);
    json_t *objs = json_object_get(b, "objects");
    json_t *ind = find_id(objs, "indicator--00010203-0405-5607-8809-0a0b0c0d0e0f");
    const char *white = "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9";
    assert_string_equal(
        json_string_value(json_array_get(json_object_get(ind, "object_marking_refs"), 0)), white);
    assert_non_null(find_id(objs, white));
    ind = find_id(objs, "indicator--30313233-3435-5637-b839-3a3b3c3d3e3f"); /* amber+strict */
    const char *strict =
        json_string_value(json_array_get(json_object_get(ind, "object_marking_refs"), 0));
    assert_string_equal(strict, stixmap_marking_id(PROTO_TLP_AMBER_STRICT, STIXMAP_TLP1));
    assert_non_null(find_id(objs, strict));
    assert_null(find_id(objs, "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487"));
    json_decref(b);
}

/* ---- MISP feed ---- */

/* N's event of each level: BLAKE2b-256("tlpmesh-misp-event" || self_key || level), v5-shaped. */
static const char *const misp_events[] = {
    "8969545c-c438-56a6-9c6d-638ab3a451a2", /* clear */
    "1d393232-0e7f-5624-bb01-6453f21bfe94", /* green */
    "383d41a7-fd77-5760-acc9-0e1d0fc130fe", /* amber */
    "432ba3b4-d9c4-543a-a889-309ec55ca4dc", /* amber+strict */
    "3288380d-6fee-5c12-b422-f0f4314a465c", /* red */
};

/* md5(value),event: every record of the amber export, each pointing at its own level's event. */
static const char golden_misp_hashes[] =
        "68fecd3b63b272e813f600f1a4885e0c,8969545c-c438-56a6-9c6d-638ab3a451a2\n"
        "96119eb3210daa472225fbad69fa9770,1d393232-0e7f-5624-bb01-6453f21bfe94\n"
        "654f5e7b95fccc44e8016342c2e35db9,383d41a7-fd77-5760-acc9-0e1d0fc130fe\n"
        "74be16979710d4c4e7c6647856088456,1d393232-0e7f-5624-bb01-6453f21bfe94\n"
        "0144712dd81be0c3d9724f5e56ce6685,8969545c-c438-56a6-9c6d-638ab3a451a2\n"
        "c778b09455404c87bb4d3ba66367ca89,1d393232-0e7f-5624-bb01-6453f21bfe94\n"
        "5c216564ee5eb157fa4b06c33ff1f08b,8969545c-c438-56a6-9c6d-638ab3a451a2\n"
        "f178121bd524cc3e26abed1e40b2ad90,8969545c-c438-56a6-9c6d-638ab3a451a2\n"
        "900150983cd24fb0d6963f7d28e17f72,8969545c-c438-56a6-9c6d-638ab3a451a2\n";

static void event_file(int tlp, char out[64])
{
    snprintf(out, 64, "%s.json", misp_events[tlp]);
}

/* The one tag of an event or a manifest entry. */
static const char *only_tag(const json_t *o)
{
    const json_t *tags = json_object_get(o, "Tag");
    assert_int_equal(json_array_size(tags), 1);
    return str(json_array_get(tags, 0), "name");
}

/* Renders the event of level tlp, checks its header and that every attribute has that level, and
 * compares the first 8 characters of each attribute uuid, comma-separated, with want. */
static void assert_event(const struct export_job *j, int tlp, const char *tag, const char *want)
{
    char name[64];
    event_file(tlp, name);
    char *text = ts_export_render(j, name, NULL);
    json_t *doc = parse(text);
    free(text);
    const json_t *ev = json_object_get(doc, "Event");
    assert_string_equal(str(ev, "uuid"), misp_events[tlp]);
    assert_string_equal(str(json_object_get(ev, "Orgc"), "name"), "CERT-A");
    assert_string_equal(only_tag(ev), tag);
    char info[64];
    snprintf(info, sizeof info, "tlpmesh export from CERT-A, %s", tag);
    assert_string_equal(str(ev, "info"), info);
    char got[N_RECS * 9 + 1] = "";
    size_t i;
    const json_t *a;
    json_array_foreach(json_object_get(ev, "Attribute"), i, a) {
        assert_true(i < N_RECS);
        assert_string_equal(str(json_array_get(json_object_get(a, "Tag"), 0), "name"), tag);
        const size_t n = strlen(got);
        snprintf(got + n, sizeof got - n, "%s%.8s", i ? "," : "", str(a, "uuid"));
    }
    json_decref(doc);
    assert_string_equal(got, want);
}

static void test_misp_feed(void **state)
{
    (void)state;
    struct export_job j = job_for(EXPORT_FMT_MISP_FEED, PROTO_TLP_AMBER);
    char(*names)[LIMIT_EXPORT_FILE_NAME_BYTES] = NULL, want[64];
    /* one event per level, then hashes.csv, then the manifest that names them */
    assert_int_equal(export_dir_files(&j, &names), 7);
    for (int t = PROTO_TLP_CLEAR; t <= PROTO_TLP_RED; t++) {
        event_file(t, want);
        assert_string_equal(names[t], want);
    }
    assert_string_equal(names[5], "hashes.csv");
    assert_string_equal(names[6], "manifest.json");
    /* the same events at another time and ceiling: a re-export updates them */
    j.now_ms += HOUR_MS;
    j.max_tlp = PROTO_TLP_CLEAR;
    char(*later)[LIMIT_EXPORT_FILE_NAME_BYTES] = NULL;
    assert_int_equal(export_dir_files(&j, &later), 7);
    assert_memory_equal(later, names, 7 * LIMIT_EXPORT_FILE_NAME_BYTES);
    free(later);
    j = job_for(EXPORT_FMT_MISP_FEED, PROTO_TLP_AMBER);

    /* each record in the event of its own level, tagged with exactly that level */
    /* the revoked and the expired record too, as MISP deletions (below) */
    assert_event(&j, PROTO_TLP_CLEAR, "tlp:clear",
                 "00010203,50515253,70717273,80818283,90919293,c0c1c2c3,d0d1d2d3");
    assert_event(&j, PROTO_TLP_GREEN, "tlp:green", "10111213,40414243,60616263");
    assert_event(&j, PROTO_TLP_AMBER, "tlp:amber", "20212223");
    /* over the ceiling: written empty, so an earlier export's records there do not stay */
    assert_event(&j, PROTO_TLP_AMBER_STRICT, "tlp:amber+strict", "");
    assert_event(&j, PROTO_TLP_RED, "tlp:red", "");
    char *text = ts_export_render(&j, names[0], NULL);
    json_t *doc = parse(text);
    free(text);
    json_t *a0 = json_array_get(json_object_get(json_object_get(doc, "Event"), "Attribute"), 0);
    assert_string_equal(str(a0, "uuid"), "00010203-0405-5607-8809-0a0b0c0d0e0f");
    assert_string_equal(str(a0, "type"), "ip-dst");
    assert_string_equal(str(a0, "value"), "203.0.113.7");
    json_t *tags = json_object_get(a0, "Tag"); /* the level, then the record's own tags */
    assert_int_equal(json_array_size(tags), 3);
    assert_string_equal(str(json_array_get(tags, 2), "name"), "phishing");
    assert_null(json_object_get(a0, "deleted"));
    assert_true(json_is_true(json_object_get(a0, "to_ids")));
    /* revoked (no gone_at: the export's time) and expired (its valid-until, NOW_MS): deleted,
     * not for IDS, timestamp newer than the record's, so MISP edits its copy */
    for (size_t i = 5; i <= 6; i++) {
        const json_t *a =
            json_array_get(json_object_get(json_object_get(doc, "Event"), "Attribute"), i);
        assert_string_equal(str(a, "value"), i == 5 ? "revoked.example" : "expired.example");
        assert_true(json_is_true(json_object_get(a, "deleted")));
        assert_true(json_is_false(json_object_get(a, "to_ids")));
        assert_string_equal(str(a, "timestamp"), "1767225600");
    }
    json_decref(doc);

    /* MD5 test vectors: md5("abc") (the filename record), md5("203.0.113.7") (the first) */
    assert_render(&j, "hashes.csv", golden_misp_hashes);

    text = ts_export_render(&j, "manifest.json", NULL);
    doc = parse(text);
    free(text);
    assert_int_equal(json_object_size(doc), 3);
    for (int t = PROTO_TLP_CLEAR; t <= PROTO_TLP_AMBER; t++) {
        json_t *m = json_object_get(doc, misp_events[t]);
        assert_non_null(m);
        snprintf(want, sizeof want, "tlp:%s", proto_tlp_name(t));
        assert_string_equal(only_tag(m), want);
        assert_string_equal(str(m, "date"), "2026-01-01");
        assert_string_equal(str(m, "timestamp"), "1767225600");
        assert_string_equal(str(json_object_get(m, "Orgc"), "uuid"),
                            "a1457f1f-108e-591a-97ee-f2a989d7f60a");
    }
    json_decref(doc);
    /* the one mixed event of earlier versions is no file of the feed any more */
    FILE *devnull = fopen("/dev/null", "w");
    assert_int_equal(export_write(&j, "864e44ac-ab14-5418-a9e8-5f85d1dd7348.json", devnull, NULL),
                     EXPORT_E_INVAL);
    fclose(devnull);
    free(names);
}

/* Records of another organisation (CERT-B) go into events of their own whose Orgc is CERT-B, one
 * per level that has records, after N's five (issue 11 point 7); N's own events are then empty. */
static void test_misp_feed_other_origins(void **state)
{
    (void)state;
    struct export_job j = job_for(EXPORT_FMT_MISP_FEED, PROTO_TLP_AMBER);
    j.origin_org = fixture_org_b;
    char(*names)[LIMIT_EXPORT_FILE_NAME_BYTES] = NULL;
    assert_int_equal(export_dir_files(&j, &names), 5 + 3 + 2);
    char want[64];
    for (int t = PROTO_TLP_CLEAR; t <= PROTO_TLP_RED; t++) {
        event_file(t, want);
        assert_string_equal(names[t], want);
    }
    assert_string_equal(names[8], "hashes.csv");
    assert_string_equal(names[9], "manifest.json");
    assert_event(&j, PROTO_TLP_CLEAR, "tlp:clear", "");
    char cert_b[EXPORT_UUID_TEXT];
    export_uuid_derive("tlpmesh-identity-organisation", (const uint8_t *)"CERT-B", 6, cert_b);
    static const char *const want_uuids[3] = {
        "00010203,50515253,70717273,80818283,90919293,c0c1c2c3,d0d1d2d3",
                                              "10111213,40414243,60616263", "20212223"};
    for (int t = PROTO_TLP_CLEAR; t <= PROTO_TLP_AMBER; t++) {
        json_t *doc = render_doc(&j, names[5 + t]);
        const json_t *ev = json_object_get(doc, "Event");
        assert_string_equal(str(json_object_get(ev, "Orgc"), "name"), "CERT-B");
        assert_string_equal(str(json_object_get(ev, "Orgc"), "uuid"), cert_b);
        char info[96];
        snprintf(info, sizeof info, "CERT-B, by tlpmesh export from CERT-A, tlp:%s",
                 proto_tlp_name(t));
        assert_string_equal(str(ev, "info"), info);
        char got[128] = "";
        size_t i;
        const json_t *a;
        json_array_foreach(json_object_get(ev, "Attribute"), i, a) {
            const size_t n = strlen(got);
            snprintf(got + n, sizeof got - n, "%s%.8s", i ? "," : "", str(a, "uuid"));
        }
        assert_string_equal(got, want_uuids[t]);
        json_decref(doc);
    }
    json_t *doc = render_doc(&j, "manifest.json");
    assert_int_equal(json_object_size(doc), 3);
    for (int t = PROTO_TLP_CLEAR; t <= PROTO_TLP_AMBER; t++) {
        names[5 + t][36] = '\0'; /* the uuid of "<uuid>.json" */
        const json_t *m = json_object_get(doc, names[5 + t]);
        assert_non_null(m);
        assert_string_equal(str(json_object_get(m, "Orgc"), "name"), "CERT-B");
    }
    json_decref(doc);
    char *text = ts_export_render(&j, "hashes.csv", NULL); /* each record points at CERT-B's event */
    assert_non_null(strstr(text, names[5]));
    assert_null(strstr(text, misp_events[PROTO_TLP_CLEAR]));
    free(text);
    free(names);
}

/* A level without records still gets its (empty) event file, so a level that emptied loses its old
 * records on disk; the manifest lists only the events that hold records. RED addressed to N
 * appears under ceiling red. */
static void test_misp_feed_empty_level(void **state)
{
    (void)state;
    struct export_job j = job_for(EXPORT_FMT_MISP_FEED, PROTO_TLP_RED);
    j.types = 1u << PROTO_ITYPE_IP_DST | 1u << PROTO_ITYPE_IP_SRC;
    assert_event(&j, PROTO_TLP_CLEAR, "tlp:clear", "00010203");
    assert_event(&j, PROTO_TLP_GREEN, "tlp:green", "60616263");
    assert_event(&j, PROTO_TLP_AMBER, "tlp:amber", "");
    assert_event(&j, PROTO_TLP_AMBER_STRICT, "tlp:amber+strict", "");
    assert_event(&j, PROTO_TLP_RED, "tlp:red", "a0a1a2a3");
    char *text = ts_export_render(&j, "manifest.json", NULL);
    json_t *doc = parse(text);
    free(text);
    assert_int_equal(json_object_size(doc), 3);
    assert_non_null(json_object_get(doc, misp_events[PROTO_TLP_CLEAR]));
    assert_non_null(json_object_get(doc, misp_events[PROTO_TLP_GREEN]));
    assert_non_null(json_object_get(doc, misp_events[PROTO_TLP_RED]));
    json_decref(doc);
}

static void test_format_names(void **state)
{
    (void)state;
    for (int f = 0; f < EXPORT_FORMAT_COUNT; f++)
        assert_int_equal(export_format_parse(export_format_name(f)), f);
    assert_int_equal(export_format_parse("ZEEK"), -1);
    assert_true(export_format_is_dir(EXPORT_FMT_MISP_FEED));
    assert_false(export_format_is_dir(EXPORT_FMT_STIX));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text_formats), cmocka_unit_test(test_suricata_files),
        cmocka_unit_test(test_gate_decides), cmocka_unit_test(test_stix_bundle),
        cmocka_unit_test(test_stix_origin_identities),
        cmocka_unit_test(test_stix_tlp1),    cmocka_unit_test(test_misp_feed),
        cmocka_unit_test(test_misp_feed_other_origins),
        cmocka_unit_test(test_misp_feed_empty_level), cmocka_unit_test(test_format_names),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
