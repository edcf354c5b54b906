/* test_types.c - the indicator types real MISP events carry (issue 16 point 3), end to end in
 * the formats module: a MISP event with every type (tests/data/samples/misp-event-paper-
 * lantern.json) imported with the exact outcome; its records exported to Zeek, Suricata, STIX and
 * a MISP feed with the exact lines and objects each tool has for them; and the STIX and MISP
 * exports imported again, every value byte for byte. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <sodium.h>

#include "node/formats/export.h"
#include "node/formats/import.h"
#include "node/formats/mispmap.h"
#include "tests/support/ts_export.h"
#include "tests/support/ts_record.h"

#define FIXTURE  TLPMESH_DATA_DIR "/samples/misp-event-paper-lantern.json"
#define NOW_MS   1767225600000ULL /* 2026-01-01T00:00:00.000Z */
#define HOUR_MS  3600000ULL
#define MAX_RECS 40

/* --- the fixture, imported --- */

struct want {
    int status;
    int itype;         /* -1 for skips */
    const char *value; /* NULL: the attribute's own value, byte for byte (the rules) */
};

static const struct want wants[] = {
    {IMPORT_OK, PROTO_ITYPE_IP_DST_PORT, "203.0.113.45|8443"},
    {IMPORT_OK, PROTO_ITYPE_IP_SRC_PORT, "198.51.100.23|4444"},
    {IMPORT_OK, PROTO_ITYPE_HOSTNAME_PORT, "update.paper-lantern.example|443"},
    {IMPORT_OK, PROTO_ITYPE_DOMAIN, "cdn.paper-lantern.example"}, /* domain|ip: two, as before */
    {IMPORT_OK, PROTO_ITYPE_IP_DST, "203.0.113.46"},
    {IMPORT_OK, PROTO_ITYPE_AS, "64511"},
    {IMPORT_OK, PROTO_ITYPE_SSDEEP, "1536:nKz6GhQ/DYqJZ9o7HPkq1AvB2UaLm0WcEyr:nK4QrqJrHAvIDWcE"},
    {IMPORT_OK, PROTO_ITYPE_TLSH,
     "T162A7447EAF5C2D78F0B83EA7ECEEC464413304DC7383A96B2090037B5E01CCA4D4735E"},
    {IMPORT_OK, PROTO_ITYPE_IMPHASH, "f34d5f2d4577ed6d9ceec516c1f5a744"},
    {IMPORT_OK, PROTO_ITYPE_JA3, "72a589da586844d7f0818ce684948eea"},
    {IMPORT_OK, PROTO_ITYPE_JARM, "07d14d16d21d21d07c42d41d00041d24a458a375eef0c576d23a7bab9a9fb1"},
    {IMPORT_OK, PROTO_ITYPE_X509_SHA1, "aa28edc43df0d89fb3f49c3c20555e060eb6046c"},
    {IMPORT_OK, PROTO_ITYPE_X509_SHA256,
     "c078ce831022c4d726ffc51de85dc493d74497840456bd20cbd58cabff62b72e"},
    {IMPORT_OK, PROTO_ITYPE_MUTEX, "Global\\PaperLantern_7F3A"},
    {IMPORT_OK, PROTO_ITYPE_REGKEY,
     "HKEY_CURRENT_USER\\Software\\Microsoft\\Windows\\CurrentVersion\\Run\\LanternUpdate"},
    {IMPORT_OK, PROTO_ITYPE_REGKEY_VALUE,
     "HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\Winlogon\\Userinit|"
     "C:\\Windows\\system32\\userinit.exe,C:\\ProgramData\\lantern\\ldr.exe"},
    {IMPORT_OK, PROTO_ITYPE_USER_AGENT,
     "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:109.0) Gecko/20100101 Firefox/115.0 "
     "Lantern/2.1"},
    {IMPORT_OK, PROTO_ITYPE_EMAIL_SUBJECT,
     "Re: Rechnung 2026-11-0457 \xe2\x80\x93 Zahlungserinnerung"},
    {IMPORT_OK, PROTO_ITYPE_VULNERABILITY, "CVE-2023-4966"},
    {IMPORT_OK, PROTO_ITYPE_BTC, "bc1qw58sumut4rfkkn00dt60x4cu3g6296zexthgpz"},
    {IMPORT_OK, PROTO_ITYPE_BTC, "1BoatSLRHtKNngkdXEeobR76b53LETtpyT"},
    {IMPORT_OK, PROTO_ITYPE_YARA, NULL},
    {IMPORT_OK, PROTO_ITYPE_SIGMA, NULL},
    {IMPORT_OK, PROTO_ITYPE_SNORT, NULL},
    {IMPORT_SKIP_NOT_INDICATOR, -1, NULL},        /* comment */
    {IMPORT_SKIP_NOT_INDICATOR, -1, NULL},        /* link */
    {IMPORT_SKIP_NOT_INDICATOR, -1, NULL},        /* text */
    {IMPORT_OK, PROTO_ITYPE_FILENAME, "ldr.exe"}, /* the file object's attributes */
    {IMPORT_OK, PROTO_ITYPE_SHA256,
     "82c0ea7605c802138d4751e862a897392578a8185ab58cd784d11988d3a0609b"},
};
enum { N_WANTS = sizeof wants / sizeof wants[0] };

/* The value of attribute i of the fixture's event, as the file holds it. */
static const char *attr_value(json_t *ev, size_t i)
{
    json_t *a = json_array_get(json_object_get(json_object_get(ev, "Event"), "Attribute"), i);
    return json_string_value(json_object_get(a, "value"));
}

static void fixture_import(void **state)
{
    (void)state;
    struct import_list l;
    import_list_init(&l);
    char why[512] = "";
    const struct import_opts o = {.format = IMPORT_MISP, .itype = -1};
    assert_int_equal(import_path(FIXTURE, &o, &l, why, sizeof why), 0);
    json_t *ev = json_load_file(FIXTURE, 0, NULL);
    assert_non_null(ev);
    assert_int_equal(l.n, N_WANTS);
    for (size_t i = 0; i < N_WANTS; i++) {
        const struct import_item *it = &l.items[i];
        const size_t attr = i < 4 ? i : i - 1; /* domain|ip gave two */
        const char *want = wants[i].value ? wants[i].value : attr_value(ev, attr);
        if (it->status != wants[i].status || it->itype != wants[i].itype ||
            strcmp(it->value, want) != 0)
            fail_msg("item %zu: got %d %d '%s' (%s), want %d %d '%s'", i, it->status, it->itype,
                     it->value, it->why ? it->why : "", wants[i].status, wants[i].itype, want);
        /* the event's tlp:amber; the object's sha256 raises its own to amber+strict */
        const int tlp = it->status != IMPORT_OK ? -1
                        : i == N_WANTS - 1      ? PROTO_TLP_AMBER_STRICT
                                                : PROTO_TLP_AMBER;
        assert_int_equal(it->tlp, tlp);
    }
    assert_string_equal(l.items[24].why, "not an indicator");
    assert_string_equal(l.items[25].src_type, "link");
    assert_string_equal(l.items[0].comment, "Operation Paper Lantern: C2 over TLS on a high port");
    json_decref(ev);
    import_list_free(&l);
}

/* --- the fixture's records, exported --- */

struct fixture {
    uint8_t id[LIMIT_ID_BYTES];
    struct proto_record rec;
};

static struct fixture *recs;
static size_t n_recs;

static void add(int tlp, int itype, const char *value)
{
    assert_true(n_recs < MAX_RECS);
    struct fixture *f = &recs[n_recs];
    memset(f, 0, sizeof *f);
    for (size_t b = 0; b < LIMIT_ID_BYTES; b++)
        f->id[b] = (uint8_t)(n_recs * 7 + b);
    ts_indicator(&f->rec, (uint8_t)tlp, (uint8_t)itype, value,
                 NOW_MS - HOUR_MS * (MAX_RECS - n_recs), NOW_MS + 24 * HOUR_MS);
    f->rec.origin[0] = 0x42;
    f->rec.u.ind.confidence = 70;
    n_recs++;
}

/* The fixture's candidates as records, and a Suricata rule (MISP files it as snort). */
static int setup(void **state)
{
    (void)state;
    recs = calloc(MAX_RECS, sizeof *recs);
    assert_non_null(recs);
    struct import_list l;
    import_list_init(&l);
    const struct import_opts o = {.format = IMPORT_MISP, .itype = -1};
    assert_int_equal(import_path(FIXTURE, &o, &l, NULL, 0), 0);
    for (size_t i = 0; i < l.n; i++) {
        if (l.items[i].status == IMPORT_OK)
            add(PROTO_TLP_AMBER, l.items[i].itype, l.items[i].value);
    }
    import_list_free(&l);
    add(PROTO_TLP_GREEN, PROTO_ITYPE_SURICATA,
        "alert dns any any -> any any (msg:\"Paper Lantern DNS\"; dns.query; "
        "content:\"paper-lantern\"; sid:9000458; rev:1;)\n");
    add(PROTO_TLP_GREEN, PROTO_ITYPE_SURICATA,
        "alert tcp any any -> any any (msg:\"two\";\n sid:1;)");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    free(recs);
    return 0;
}

static const struct fixture *rec_of(int itype)
{
    for (size_t i = 0; i < n_recs; i++) {
        if (recs[i].rec.u.ind.type == itype)
            return &recs[i];
    }
    fail_msg("no record of type %d", itype);
    return NULL;
}

static int fixture_each(void *src, export_record_cb cb, void *ctx)
{
    (void)src;
    for (size_t i = 0; i < n_recs; i++) {
        const int rc = cb(recs[i].id, &recs[i].rec, false, ctx);
        if (rc)
            return rc;
    }
    return 0;
}

static const uint8_t self_key[LIMIT_KEY_BYTES] = {0x11, 0x22, 0x33};

static const char *fixture_org(void *ctx, const uint8_t key[LIMIT_KEY_BYTES])
{
    (void)ctx;
    return key[0] == 0x42 || memcmp(key, self_key, LIMIT_KEY_BYTES) == 0 ? "CERT-A" : "";
}

static struct export_job job_for(int format)
{
    struct export_job j;
    memset(&j, 0, sizeof j);
    j.format = format;
    memcpy(j.self.key, self_key, LIMIT_KEY_BYTES);
    strcpy(j.self.org, "CERT-A");
    j.max_tlp = PROTO_TLP_AMBER;
    j.now_ms = NOW_MS;
    j.src.each = fixture_each;
    j.origin_org = fixture_org;
    return j;
}

/* Zeek has a type for a certificate's SHA-1 (CERT_HASH) and user agents (SOFTWARE), none for the
 * rest of the new types: those are counted as left out, by type. A certificate's SHA-256 is one
 * of them: stock Zeek's x509 seen script matches CERT_HASH on the SHA-1 only. */
static void zeek_types(void **state)
{
    (void)state;
    struct export_job j = job_for(EXPORT_FMT_ZEEK);
    char *z = ts_export_render(&j, NULL, NULL);
    assert_non_null(strstr(z, "\naa28edc43df0d89fb3f49c3c20555e060eb6046c\tIntel::CERT_HASH\t"));
    assert_null(strstr(z, "c078ce831022c4d726ffc51de85dc493d74497840456bd20cbd58cabff62b72e"));
    assert_non_null(strstr(z,
                           "\nMozilla/5.0 (Windows NT 10.0; Win64; x64; rv:109.0) Gecko/20100101 "
                           "Firefox/115.0 Lantern/2.1\tIntel::SOFTWARE\t"));
    assert_non_null(strstr(z, "\n203.0.113.46\tIntel::ADDR\t"));
    size_t lines = 0;
    for (const char *p = z; *p; p++)
        lines += *p == '\n';
    assert_int_equal(lines, 1 + 6); /* header; ip, domain, cert sha1, user agent, file, sha256 */
    free(z);
    struct export_stats st;
    export_stats_init(&st);
    assert_int_equal(export_left_out(&j, &st), EXPORT_OK);
    static const int none[] = {PROTO_ITYPE_IP_DST_PORT,   PROTO_ITYPE_IP_SRC_PORT,
                               PROTO_ITYPE_HOSTNAME_PORT, PROTO_ITYPE_AS,
                               PROTO_ITYPE_SSDEEP,        PROTO_ITYPE_TLSH,
                               PROTO_ITYPE_IMPHASH,       PROTO_ITYPE_JA3,
                               PROTO_ITYPE_JARM,          PROTO_ITYPE_MUTEX,
                               PROTO_ITYPE_REGKEY,        PROTO_ITYPE_REGKEY_VALUE,
                               PROTO_ITYPE_EMAIL_SUBJECT, PROTO_ITYPE_VULNERABILITY,
                               PROTO_ITYPE_YARA,          PROTO_ITYPE_SIGMA,
                               PROTO_ITYPE_SNORT,         PROTO_ITYPE_X509_SHA256};
    for (size_t i = 0; i < sizeof none / sizeof none[0]; i++)
        assert_int_equal(st.left_type[none[i]], 1);
    assert_int_equal(st.left_type[PROTO_ITYPE_BTC], 2);
    assert_int_equal(st.left_type[PROTO_ITYPE_SURICATA], 2);
    /* one value per line: a rule, which spans lines, cannot be one */
    j.format = EXPORT_FMT_TEXT;
    export_stats_init(&st);
    assert_int_equal(export_left_out(&j, &st), EXPORT_OK);
    assert_int_equal(st.left_type[PROTO_ITYPE_YARA] + st.left_type[PROTO_ITYPE_SIGMA] +
                         st.left_type[PROTO_ITYPE_SNORT] + st.left_type[PROTO_ITYPE_SURICATA],
                     5);
    assert_int_equal(st.left_type[PROTO_ITYPE_BTC], 0);
}

static void suricata_types(void **state)
{
    (void)state;
    struct export_job j = job_for(EXPORT_FMT_SURICATA);
    char *s = ts_export_render(&j, "ports.rules", NULL);
    static char want[2 * LIMIT_VALUE_BYTES];
    char hex0[17], hex1[17];
    sodium_bin2hex(hex0, sizeof hex0, rec_of(PROTO_ITYPE_IP_DST_PORT)->id, 8);
    sodium_bin2hex(hex1, sizeof hex1, rec_of(PROTO_ITYPE_IP_SRC_PORT)->id, 8);
    snprintf(want, sizeof want,
             "alert tcp any any -> 203.0.113.45 8443 (msg:\"tlpmesh: traffic to listed "
             "ip-dst|port\"; metadata:tlpmesh_record %s, tlp amber; sid:9750001; rev:1;)\n"
             "alert udp any any -> 203.0.113.45 8443 (msg:\"tlpmesh: traffic to listed "
             "ip-dst|port\"; metadata:tlpmesh_record %s, tlp amber; sid:9750002; rev:1;)\n"
             "alert tcp 198.51.100.23 4444 -> any any (msg:\"tlpmesh: traffic from listed "
             "ip-src|port\"; metadata:tlpmesh_record %s, tlp amber; sid:9750003; rev:1;)\n"
             "alert udp 198.51.100.23 4444 -> any any (msg:\"tlpmesh: traffic from listed "
             "ip-src|port\"; metadata:tlpmesh_record %s, tlp amber; sid:9750004; rev:1;)\n",
             hex0, hex0, hex1, hex1);
    assert_string_equal(s, want);
    free(s);
    /* base64 of the user agent, the JA3 hash, the certificate's SHA-1 with colons */
    s = ts_export_render(&j, "useragents.lst", NULL);
    assert_string_equal(s,
                        "TW96aWxsYS81LjAgKFdpbmRvd3MgTlQgMTAuMDsgV2luNjQ7IHg2NDsgcnY6MTA5LjApIEdl"
                        "Y2tvLzIwMTAwMTAxIEZpcmVmb3gvMTE1LjAgTGFudGVybi8yLjE=\n");
    free(s);
    s = ts_export_render(&j, "ja3.lst", NULL);
    assert_string_equal(s, "NzJhNTg5ZGE1ODY4NDRkN2YwODE4Y2U2ODQ5NDhlZWE=\n");
    free(s);
    s = ts_export_render(&j, "certs.lst", NULL);
    assert_string_equal(s,
                        "YWE6Mjg6ZWQ6YzQ6M2Q6ZjA6ZDg6OWY6YjM6ZjQ6OWM6M2M6MjA6NTU6NWU6MDY6MGU6YjY6"
                        "MDQ6NmM=\n");
    free(s);
    /* the snort and the one-line suricata rule as published; the rule of two lines left out */
    s = ts_export_render(&j, "shared.rules", NULL);
    snprintf(want, sizeof want, "%s\n%s", rec_of(PROTO_ITYPE_SNORT)->rec.u.ind.value,
             "alert dns any any -> any any (msg:\"Paper Lantern DNS\"; dns.query; "
             "content:\"paper-lantern\"; sid:9000458; rev:1;)\n");
    assert_string_equal(s, want);
    free(s);
    s = ts_export_render(&j, "tlpmesh.rules", NULL);
    assert_non_null(strstr(s, "http.user_agent; dataset:isset,tlpmesh-useragents, type string, "
                              "load useragents.lst;"));
    assert_non_null(strstr(s, "ja3.hash; dataset:isset,tlpmesh-ja3, type string, load ja3.lst;"));
    assert_non_null(strstr(s, "tls.cert_fingerprint; dataset:isset,tlpmesh-certs, type string, "
                              "load certs.lst;"));
    free(s);
}

/* --- STIX and MISP out and in again --- */

static json_t *parse(const char *text)
{
    json_error_t e;
    json_t *doc = json_loads(text, 0, &e);
    if (!doc)
        fail_msg("bad JSON at %d:%d: %s", e.line, e.column, e.text);
    return doc;
}

static const char *str(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

/* Every record whose type the format carries is imported again from its output with its own
 * type and its value byte for byte; carried[t] says which types the format carries. */
static void assert_values_back(const struct import_list *l, const bool carried[PROTO_ITYPE_END])
{
    size_t found = 0, want = 0;
    for (size_t i = 0; i < n_recs; i++) {
        const struct proto_indicator *in = &recs[i].rec.u.ind;
        if (!carried[in->type])
            continue;
        want++;
        for (size_t k = 0; k < l->n; k++) {
            if (l->items[k].status == IMPORT_OK && strcmp(l->items[k].value, in->value) == 0) {
                const int t = l->items[k].itype;
                /* what the formats cannot say: STIX has no direction or domain/hostname,
                 * MISP one type for both rule languages */
                const bool same = t == in->type ||
                                  (in->type == PROTO_ITYPE_HOSTNAME && t == PROTO_ITYPE_DOMAIN) ||
                                  (in->type == PROTO_ITYPE_SURICATA && t == PROTO_ITYPE_SNORT);
                if (!same)
                    fail_msg("'%s': type %d back as %d", in->value, in->type, t);
                found++;
                break;
            }
        }
    }
    assert_int_equal(found, want);
}

static void stix_types(void **state)
{
    (void)state;
    struct export_job j = job_for(EXPORT_FMT_STIX);
    char *text = ts_export_render(&j, NULL, NULL);
    json_t *doc = parse(text);
    json_t *objs = json_object_get(doc, "objects");
    size_t i;
    json_t *o;
    size_t rules = 0, vulns = 0;
    json_array_foreach(objs, i, o)
    {
        const char *type = str(o, "type");
        if (strcmp(type, "vulnerability") == 0) {
            vulns++;
            assert_string_equal(str(o, "name"), "CVE-2023-4966");
            json_t *ref = json_array_get(json_object_get(o, "external_references"), 0);
            assert_string_equal(str(ref, "source_name"), "cve");
            assert_string_equal(str(ref, "external_id"), "CVE-2023-4966");
            continue;
        }
        if (strcmp(type, "indicator") != 0)
            continue;
        const char *pt = str(o, "pattern_type");
        if (strcmp(pt, "stix") != 0) {
            rules++;
            assert_null(json_object_get(o, "pattern_version"));
            assert_non_null(strstr(str(o, "name"), " rule"));
        }
    }
    assert_int_equal(vulns, 1);
    assert_int_equal(rules, 5); /* yara, sigma, snort, both suricata rules (lines are fine) */
    assert_non_null(strstr(text, "[network-traffic:dst_ref.type = 'ipv4-addr' AND "
                                 "network-traffic:dst_ref.value = '203.0.113.45' AND "
                                 "network-traffic:dst_port = 8443]"));
    assert_non_null(strstr(text, "[autonomous-system:number = 64511]"));
    assert_non_null(
        strstr(text, "[windows-registry-key:key = 'HKEY_LOCAL_MACHINE\\\\\\\\SOFTWARE"));
    assert_non_null(strstr(text, "\"pattern_type\":\"sigma\""));
    json_decref(doc);
    struct export_stats st;
    export_stats_init(&st);
    char *again = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&again, &len);
    assert_int_equal(export_write(&j, NULL, f, &st), EXPORT_OK);
    fclose(f);
    free(again);
    assert_int_equal(st.n_left, 1); /* ja3, jarm, 2 btc: "no STIX pattern for the type" */
    assert_int_equal(st.left[0].n, 4);

    struct import_list l;
    import_list_init(&l);
    const struct import_opts o2 = {.format = IMPORT_STIX, .itype = -1};
    char why[256] = "";
    assert_int_equal(import_buffer(text, strlen(text), "b.json", &o2, &l, why, sizeof why), 0);
    bool carried[PROTO_ITYPE_END];
    for (int t = 0; t < PROTO_ITYPE_END; t++)
        carried[t] = t != PROTO_ITYPE_JA3 && t != PROTO_ITYPE_JARM && t != PROTO_ITYPE_BTC;
    assert_values_back(&l, carried);
    import_list_free(&l);
    free(text);
}

static void misp_types(void **state)
{
    (void)state;
    struct export_job j = job_for(EXPORT_FMT_MISP_FEED);
    char(*names)[LIMIT_EXPORT_FILE_NAME_BYTES] = NULL;
    const int n = export_dir_files(&j, &names);
    assert_true(n >= 7);
    struct import_list l;
    import_list_init(&l);
    const struct import_opts o = {.format = IMPORT_MISP, .itype = -1};
    for (int k = 0; k < n - 2; k++) { /* the events; not hashes.csv and manifest.json */
        char *text = ts_export_render(&j, names[k], NULL);
        json_t *doc = parse(text);
        size_t i;
        json_t *a;
        json_array_foreach(json_object_get(json_object_get(doc, "Event"), "Attribute"), i, a)
        {
            const char *type = str(a, "type");
            assert_non_null(type);
            assert_true(proto_itype_parse(type) > 0 && strcmp(type, "suricata") != 0);
            struct mispmap_in mm;
            assert_true(mispmap_lookup(type, &mm));
            assert_string_equal(str(a, "category"), mispmap_category(mm.types[0]));
        }
        json_decref(doc);
        char why[256] = "";
        assert_int_equal(import_buffer(text, strlen(text), names[k], &o, &l, why, sizeof why), 0);
        free(text);
    }
    free(names);
    bool carried[PROTO_ITYPE_END];
    for (int t = 0; t < PROTO_ITYPE_END; t++)
        carried[t] = true;
    assert_values_back(&l, carried);
    import_list_free(&l);
    assert_string_equal(mispmap_type(PROTO_ITYPE_SURICATA), "snort");
    assert_string_equal(mispmap_category(PROTO_ITYPE_REGKEY_VALUE), "Persistence mechanism");
    assert_string_equal(mispmap_category(PROTO_ITYPE_BTC), "Financial fraud");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fixture_import), cmocka_unit_test(zeek_types),
        cmocka_unit_test(suricata_types), cmocka_unit_test(stix_types),
        cmocka_unit_test(misp_types),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
