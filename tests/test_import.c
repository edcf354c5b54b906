/* test_import.c - file -> candidates (node/formats/import.h), STIX mapping
 * (node/formats/stixmap.h), MISP warninglists (node/formats/warninglist.h). Golden tests on the
 * samples in tests/data. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "node/formats/import.h"
#include "node/formats/stixmap.h"
#include "node/formats/warninglist.h"
#include "proto/indicator.h"
#include "proto/tlp.h"
#include "tests/support/ts_dir.h"
#include "tests/support/ts_file.h"

#define SAMPLES TLPMESH_DATA_DIR "/samples/"

struct want {
    int status;
    int itype; /* -1 for skips */
    const char *value;
    int tlp;
};

static void check_items(const struct import_list *l, const struct want *w, size_t n)
{
    assert_int_equal(l->n, n);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(l->items[i].status, w[i].status);
        assert_int_equal(l->items[i].itype, w[i].itype);
        assert_string_equal(l->items[i].value, w[i].value);
        assert_int_equal(l->items[i].tlp, w[i].tlp);
    }
}

static int parse(const char *text, enum import_format f, struct import_list *l, char *why,
                 size_t wl)
{
    const struct import_opts o = {.format = f, .itype = -1};
    return import_buffer(text, strlen(text), "t.json", &o, l, why, wl);
}

/* --- golden: the samples in tests/data --- */

static void misp_sample(void **state)
{
    (void)state;
    struct import_list l;
    import_list_init(&l);
    char why[512] = "";
    const struct import_opts o = {.format = IMPORT_MISP, .itype = -1};
    assert_int_equal(import_path(SAMPLES "misp-event-57c4445b-c548-4654-af0b-4be3950d210f.json",
                                 &o, &l, why, sizeof why),
                     0);
    const struct want w[] = {
        {IMPORT_SKIP_NOT_INDICATOR, -1,
         "https://www.virustotal.com/file/b3c4ae251f8094fa15b510051835c657eaef2a6cea46075d3aec964b14a99f68/analysis/1469554268/",
         -1},
        {IMPORT_SKIP_NOT_INDICATOR, -1,
         "http://www.xylibox.com/2011/06/have-fun-with-trojan-ransomwin32xorist.html", -1},
        {IMPORT_SKIP_NOT_INDICATOR, -1, "UPX packed", -1},
        {IMPORT_SKIP_NOT_INDICATOR, -1,
         "Key: 85350044dF4AC3518D185678A9414A7F,\r\nEncryption rounds:8,\r\nStart offset: "
         "64,\r\nAlgorithm: TEA",
         -1},
        {IMPORT_OK, PROTO_ITYPE_FILENAME, "3Z4wnG9603it23y.exe", PROTO_TLP_CLEAR},
        {IMPORT_OK, PROTO_ITYPE_MD5, "0749bae92ca336a02c83d126e04ec628", PROTO_TLP_CLEAR},
        {IMPORT_OK, PROTO_ITYPE_SHA1, "77b0c41b7d340b8a3d903f21347bbf06aa766b5b", PROTO_TLP_CLEAR},
        {IMPORT_OK, PROTO_ITYPE_SHA256,
         "b3c4ae251f8094fa15b510051835c657eaef2a6cea46075d3aec964b14a99f68", PROTO_TLP_CLEAR},
        /* a key without its hive, as real events carry it: kept whole, byte for byte */
        {IMPORT_OK, PROTO_ITYPE_REGKEY_VALUE,
         "Software\\Wow6432Node\\Microsoft\\Windows\\CurrentVersion\\Run|%TEMP%\\3Z4wnG9603it23y.exe",
         PROTO_TLP_CLEAR},
    };
    check_items(&l, w, sizeof w / sizeof w[0]);
    const struct import_item *md5 = &l.items[5];
    assert_string_equal(md5->comment, "Ransomware - Xorist: Imported via the Freetext Import Tool");
    assert_int_equal(md5->n_tags, 3);
    assert_string_equal(md5->tags[0], "circl:incident-classification=\"malware\"");
    assert_string_equal(md5->tags[2], "malware_classification:malware-category=\"Ransomware\"");
    assert_string_equal(l.items[8].src_type, "regkey|value");
    assert_string_equal(l.items[2].why, "not an indicator");
    import_list_free(&l);
}

static void stix_sample(void **state)
{
    (void)state;
    struct import_list l;
    import_list_init(&l);
    char why[512] = "";
    const struct import_opts o = {.format = IMPORT_STIX, .itype = -1};
    assert_int_equal(
        import_path(SAMPLES "stix21-bundle-using-marking-definitions.json", &o, &l, why, sizeof why),
        0);
    const struct want w[] = {{IMPORT_OK, PROTO_ITYPE_IP_DST, "10.0.0.0", PROTO_TLP_AMBER}};
    check_items(&l, w, 1);
    assert_string_equal(l.items[0].comment,
                        "Known malicious IP Address: Detected malicious activity from this address");
    import_list_free(&l);
}

/* --- MISP mapping --- */

static void misp_composites_and_flags(void **state)
{
    (void)state;
    const char *ev =
        "{\"Event\":{\"info\":\"x\",\"Tag\":[{\"name\":\"tlp:green\"}],\"Attribute\":["
        "{\"type\":\"domain|ip\",\"value\":\"Evil.Example|203.0.113.7\",\"to_ids\":true},"
        "{\"type\":\"filename|sha1\",\"value\":\"a|b.exe|77B0C41B7D340B8A3D903F21347BBF06AA766B5B\"},"
        "{\"type\":\"ip-dst|port\",\"value\":\"2001:db8::1|443\",\"to_ids\":\"1\"},"
        "{\"type\":\"hostname|port\",\"value\":\"mail|25\"},"
        "{\"type\":\"uri\",\"value\":\"/relative/path\"},"
        "{\"type\":\"uri\",\"value\":\"http://x.example/a\"},"
        "{\"type\":\"email\",\"value\":\"Bad@Example.com\"},"
        "{\"type\":\"ip-src\",\"value\":\"198.51.100.1\",\"to_ids\":false},"
        "{\"type\":\"impfuzzy\",\"value\":\"3:a:b\",\"to_ids\":false},"
        "{\"type\":\"ip-src\",\"value\":\"10.0.0.300\",\"Tag\":[{\"name\":\"tlp:red\"}]}],"
        "\"Object\":[{\"Attribute\":[{\"type\":\"sha256\",\"value\":\"" 
        "b3c4ae251f8094fa15b510051835c657eaef2a6cea46075d3aec964b14a99f68\","
        "\"Tag\":[{\"name\":\"tlp:amber\"}]}]}]}}";
    struct import_list l;
    import_list_init(&l);
    char why[512] = "";
    assert_int_equal(parse(ev, IMPORT_MISP, &l, why, sizeof why), 0);
    const struct want w[] = {
        {IMPORT_OK, PROTO_ITYPE_DOMAIN, "evil.example", PROTO_TLP_GREEN},
        {IMPORT_OK, PROTO_ITYPE_IP_DST, "203.0.113.7", PROTO_TLP_GREEN},
        {IMPORT_OK, PROTO_ITYPE_FILENAME, "a|b.exe", PROTO_TLP_GREEN},
        {IMPORT_OK, PROTO_ITYPE_SHA1, "77b0c41b7d340b8a3d903f21347bbf06aa766b5b", PROTO_TLP_GREEN},
        {IMPORT_OK, PROTO_ITYPE_IP_DST_PORT, "2001:db8::1|443", PROTO_TLP_GREEN},
        {IMPORT_OK, PROTO_ITYPE_HOSTNAME_PORT, "mail|25", PROTO_TLP_GREEN},
        {IMPORT_SKIP_UNSUPPORTED, -1, "/relative/path", -1},
        {IMPORT_OK, PROTO_ITYPE_URL, "http://x.example/a", PROTO_TLP_GREEN},
        {IMPORT_OK, PROTO_ITYPE_EMAIL_SRC, "Bad@example.com", PROTO_TLP_GREEN},
        {IMPORT_SKIP_NOT_IDS, -1, "198.51.100.1", -1},
        {IMPORT_SKIP_UNSUPPORTED, -1, "3:a:b", -1},
        {IMPORT_INVALID, PROTO_ITYPE_IP_SRC, "10.0.0.300", PROTO_TLP_RED},
        {IMPORT_OK, PROTO_ITYPE_SHA256,
         "b3c4ae251f8094fa15b510051835c657eaef2a6cea46075d3aec964b14a99f68", PROTO_TLP_AMBER},
    };
    check_items(&l, w, sizeof w / sizeof w[0]);
    assert_string_equal(l.items[4].comment, "x");
    assert_string_equal(l.items[6].why, "relative uri");
    assert_non_null(strstr(l.items[11].why, "10.0.0.300"));
    import_list_free(&l);

    /* --include-non-ids takes the to_ids false one; the type check still comes first. */
    import_list_init(&l);
    const struct import_opts o = {.format = IMPORT_MISP, .itype = -1, .include_non_ids = true};
    assert_int_equal(import_buffer(ev, strlen(ev), "t.json", &o, &l, why, sizeof why), 0);
    assert_int_equal(l.items[9].status, IMPORT_OK);
    assert_int_equal(l.items[9].itype, PROTO_ITYPE_IP_SRC);
    assert_int_equal(l.items[10].status, IMPORT_SKIP_UNSUPPORTED);
    import_list_free(&l);
}

static void misp_tlp_precedence(void **state)
{
    (void)state;
    struct import_list l;
    import_list_init(&l);
    char why[512] = "";
    /* event amber+strict, attribute white: the more restrictive wins; bare event form; no tag. */
    const char *ev = "{\"Tag\":[{\"name\":\"TLP:AMBER+STRICT\"}],\"Attribute\":["
                     "{\"type\":\"md5\",\"value\":\"0749bae92ca336a02c83d126e04ec628\","
                     "\"Tag\":[{\"name\":\"tlp:white\"}]},"
                     "{\"type\":\"md5\",\"value\":\"0749bae92ca336a02c83d126e04ec629\","
                     "\"Tag\":[{\"name\":\"tlp:red\"}]}]}";
    assert_int_equal(parse(ev, IMPORT_MISP, &l, why, sizeof why), 0);
    assert_int_equal(l.items[0].tlp, PROTO_TLP_AMBER_STRICT);
    assert_int_equal(l.items[1].tlp, PROTO_TLP_RED);
    import_list_free(&l);

    import_list_init(&l);
    ev = "{\"Event\":{\"Attribute\":[{\"type\":\"md5\",\"value\":\"0749bae92ca336a02c83d126e04ec628\"}]}}";
    assert_int_equal(parse(ev, IMPORT_MISP, &l, why, sizeof why), 0);
    assert_int_equal(l.items[0].tlp, -1);
    import_list_free(&l);

    /* tlp:unclear cannot be placed: the candidate is refused, not guessed. */
    import_list_init(&l);
    ev = "{\"Event\":{\"Tag\":[{\"name\":\"tlp:unclear\"}],\"Attribute\":[{\"type\":\"md5\","
         "\"value\":\"0749bae92ca336a02c83d126e04ec628\"}]}}";
    assert_int_equal(parse(ev, IMPORT_MISP, &l, why, sizeof why), 0);
    assert_int_equal(l.items[0].status, IMPORT_INVALID);
    assert_non_null(strstr(l.items[0].why, "tlp:unclear"));
    import_list_free(&l);
}

/* --- STIX --- */

static void stix_markings(void **state)
{
    (void)state;
    const char *b =
        "{\"type\":\"bundle\",\"id\":\"bundle--1\",\"objects\":["
        "{\"type\":\"marking-definition\",\"id\":\"marking-definition--aaaaaaaa-0000-4000-8000-000000000000\","
        "\"name\":\"TLP:RED\"},"
        "{\"type\":\"indicator\",\"id\":\"indicator--1\",\"pattern_type\":\"stix\","
        "\"pattern\":\"[domain-name:value = 'a.example' OR url:value = 'http://b.example/x']\","
        "\"object_marking_refs\":[\"marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487\","
        "\"marking-definition--826578e1-40ad-459f-bc73-ede076f81f37\"]},"
        "{\"type\":\"indicator\",\"id\":\"indicator--2\",\"pattern\":\"[network-traffic:dst_ref.type"
        " = 'ipv4-addr' AND network-traffic:dst_ref.value = '198.51.100.9']\","
        "\"object_marking_refs\":[\"marking-definition--aaaaaaaa-0000-4000-8000-000000000000\"]},"
        "{\"type\":\"indicator\",\"id\":\"indicator--3\",\"pattern\":\"[file:size > 10]\"},"
        "{\"type\":\"indicator\",\"id\":\"indicator--4\",\"pattern_type\":\"pcre\","
        "\"pattern\":\"/x/\"},"
        "{\"type\":\"indicator\",\"id\":\"indicator--6\",\"pattern_type\":\"yara\","
        "\"pattern\":\"rule x { condition: true }\\n\"},"
        "{\"type\":\"vulnerability\",\"id\":\"vulnerability--7\",\"name\":\"Log4Shell\","
        "\"external_references\":[{\"source_name\":\"cve\",\"external_id\":\"cve-2021-44228\"}],"
        "\"object_marking_refs\":[\"marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb\"]},"
        "{\"type\":\"vulnerability\",\"id\":\"vulnerability--8\",\"name\":\"a bug\"},"
        "{\"type\":\"indicator\",\"id\":\"indicator--5\",\"revoked\":true,"
        "\"pattern\":\"[file:hashes.md5 = '0749bae92ca336a02c83d126e04ec628']\"}]}";
    struct import_list l;
    import_list_init(&l);
    char why[512] = "";
    assert_int_equal(parse(b, IMPORT_STIX, &l, why, sizeof why), 0);
    const struct want w[] = {
        {IMPORT_OK, PROTO_ITYPE_DOMAIN, "a.example", PROTO_TLP_AMBER_STRICT},
        {IMPORT_OK, PROTO_ITYPE_URL, "http://b.example/x", PROTO_TLP_AMBER_STRICT},
        {IMPORT_OK, PROTO_ITYPE_IP_DST, "198.51.100.9", PROTO_TLP_RED},
        {IMPORT_SKIP_UNSUPPORTED, -1, "[file:size > 10]", -1},
        {IMPORT_SKIP_UNSUPPORTED, -1, "/x/", -1},
        {IMPORT_OK, PROTO_ITYPE_YARA, "rule x { condition: true }\n", -1},
        {IMPORT_OK, PROTO_ITYPE_VULNERABILITY, "CVE-2021-44228", PROTO_TLP_GREEN},
        {IMPORT_SKIP_UNSUPPORTED, -1, "a bug", -1},
        {IMPORT_SKIP_REVOKED, -1, "[file:hashes.md5 = '0749bae92ca336a02c83d126e04ec628']", -1},
    };
    check_items(&l, w, sizeof w / sizeof w[0]);
    assert_string_equal(l.items[3].why, "operator > is not supported (only =)");
    assert_string_equal(l.items[4].why, "pattern_type is not stix, yara, sigma, snort or suricata");
    assert_string_equal(l.items[6].comment, "Log4Shell");
    assert_string_equal(l.items[7].why, "a vulnerability without a CVE id");
    import_list_free(&l);
}

static void stix_tlp_tables(void **state)
{
    (void)state;
    static const char *const ids[][2] = {
        {"marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487", "clear"},
        {"marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb", "green"},
        {"marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421", "amber"},
        {"marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003", "amber+strict"},
        {"marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1", "red"},
        {"marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9", "clear"},
        {"marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da", "green"},
        {"marking-definition--f88d31f6-486f-44da-b317-01333bde0b82", "amber"},
        {"marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed", "red"},
        {"marking-definition--826578e1-40ad-459f-bc73-ede076f81f37", "amber+strict"},
    };
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++)
        assert_string_equal(proto_tlp_name(stixmap_tlp_from_marking_id(ids[i][0])), ids[i][1]);
    assert_int_equal(stixmap_tlp_from_marking_id("marking-definition--d81f86b9-975b-4c0b-875e-810c5ad45a4f"), -1);
    assert_int_equal(stixmap_tlp_from_name("TLP:AMBER+STRICT"), PROTO_TLP_AMBER_STRICT);
    assert_int_equal(stixmap_tlp_from_name("tlp:white"), PROTO_TLP_CLEAR);
    assert_int_equal(stixmap_tlp_from_name("tlp:ex:chr"), -1);
    assert_string_equal(stixmap_marking_id(PROTO_TLP_CLEAR, STIXMAP_TLP1), ids[5][0]);
    assert_string_equal(stixmap_marking_id(PROTO_TLP_RED, STIXMAP_TLP2), ids[4][0]);
    assert_null(stixmap_marking_id(7, STIXMAP_TLP2));
    for (int t = 0; t < PROTO_TLP_COUNT; t++) {
        for (int v = STIXMAP_TLP2; v <= STIXMAP_TLP1; v++) {
            json_t *o = stixmap_marking_object(t, (enum stixmap_tlp_version)v);
            assert_non_null(o);
            assert_string_equal(json_string_value(json_object_get(o, "spec_version")), "2.1");
            assert_int_equal(stixmap_tlp_from_marking_object(o), t);
            json_decref(o);
        }
    }
    json_t *o = stixmap_marking_object(PROTO_TLP_AMBER_STRICT, STIXMAP_TLP2);
    char *txt = json_dumps(o, JSON_COMPACT);
    assert_string_equal(txt,
        "{\"type\":\"marking-definition\",\"spec_version\":\"2.1\","
        "\"id\":\"marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003\","
        "\"created\":\"2022-10-01T00:00:00.000Z\",\"name\":\"TLP:AMBER+STRICT\","
        "\"extensions\":{\"extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d\":"
        "{\"extension_type\":\"property-extension\",\"tlp_2_0\":\"amber+strict\"}}}");
    free(txt);
    json_decref(o);
}

static void pattern_one(const char *p, size_t n_want, const int *types, const char *const *vals)
{
    struct stixmap_term t[LIMIT_STIX_PATTERN_TERMS];
    size_t n = 99;
    char why[256] = "";
    assert_int_equal(stixmap_pattern_parse(p, t, LIMIT_STIX_PATTERN_TERMS, &n, why, sizeof why),
                     STIXMAP_OK);
    assert_int_equal(n, n_want);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(t[i].itype, types[i]);
        assert_string_equal(t[i].value, vals[i]);
    }
}

static void pattern_refused(const char *p, const char *reason)
{
    struct stixmap_term t[4];
    size_t n = 99;
    char why[256] = "";
    assert_int_equal(stixmap_pattern_parse(p, t, 4, &n, why, sizeof why), STIXMAP_E_PATTERN);
    assert_int_equal(n, 0);
    assert_string_equal(why, reason);
}

static void stix_patterns(void **state)
{
    (void)state;
    pattern_one("[ipv4-addr:value = '58.246.0.0/15']", 1, (int[]){PROTO_ITYPE_IP_DST},
                (const char *[]){"58.246.0.0/15"});
    pattern_one("[ipv6-addr:value='2001:db8::1'] OR [file:hashes.'SHA-256' = 'AB']", 2,
                (int[]){PROTO_ITYPE_IP_DST, PROTO_ITYPE_SHA256},
                (const char *[]){"2001:db8::1", "AB"});
    pattern_one("[network-traffic:src_ref.type = 'ipv6-addr' AND network-traffic:src_ref.value "
                "= '2001:db8::2' OR file:hashes.md5 = 'x' OR file:hashes.SHA1 = 'y']",
                3, (int[]){PROTO_ITYPE_IP_SRC, PROTO_ITYPE_MD5, PROTO_ITYPE_SHA1},
                (const char *[]){"2001:db8::2", "x", "y"});
    pattern_one("[domain-name:value = 'a.example' AND domain-name:resolves_to_refs[*].value = "
                "'192.0.2.1']",
                2, (int[]){PROTO_ITYPE_DOMAIN, PROTO_ITYPE_IP_DST},
                (const char *[]){"a.example", "192.0.2.1"});
    pattern_one("[domain-name:value = 'intranet'] OR [email-addr:value = 'a@b.c'] OR "
                "[email-message:to_refs[*].value = 'd@e.f'] OR [file:name = 'it\\'s \\\\x.exe']",
                4,
                (int[]){PROTO_ITYPE_HOSTNAME, PROTO_ITYPE_EMAIL_SRC, PROTO_ITYPE_EMAIL_DST,
                        PROTO_ITYPE_FILENAME},
                (const char *[]){"intranet", "a@b.c", "d@e.f", "it's \\x.exe"});
    pattern_refused("[url:value LIKE 'http://%']", "operator LIKE is not supported (only =)");
    pattern_refused("[url:value = 'a'] AND [url:value = 'b']",
                    "AND between or after observations is not supported (only OR)");
    pattern_refused("[url:value = 'a'] WITHIN 5 SECONDS",
                    "WITHIN between or after observations is not supported (only OR)");
    pattern_refused("[url:value = 'a' AND file:name = 'b']",
                    "AND of url:value and file:name is not one indicator");
    pattern_refused("[x-foo:bar = 'a']", "path x-foo:bar is not an indicator type");
    pattern_refused("([url:value = 'a'])", "parentheses are not supported");
    pattern_refused("[url:value = 'a\\n']", "bad escape at offset 15 (only \\' and \\\\)");
    pattern_refused("[url:value = 'a]", "unterminated string literal");
    pattern_refused("[network-traffic:dst_ref.type = 'domain-name' AND network-traffic:dst_ref.value = 'a']",
                    "a network-traffic ref of type domain-name needs its port");
    pattern_refused("[network-traffic:dst_ref.type = 'url' AND "
                    "network-traffic:dst_ref.value = 'a']",
                    "network-traffic:dst_ref.type = 'url' is not an address or a host name");
    pattern_refused("[network-traffic:dst_port = 443]",
                    "a comparison group holds no value");
    pattern_refused("[network-traffic:src_ref.value = '192.0.2.1' AND "
                    "network-traffic:dst_port = 443]",
                    "network-traffic:dst_port without its network-traffic ref value");
    pattern_refused("[windows-registry-key:values[*].data = 'x' AND mutex:name = 'm']",
                    "windows-registry-key:values[*].data without windows-registry-key:key");
    pattern_refused("[autonomous-system:number = 12x]", "bad integer at offset 28");
    /* the pairs: an address or host with its port, a key with its data; integers as MISP's
     * STIX export and ours write them */
    pattern_one("[network-traffic:dst_ref.type = 'domain-name' AND network-traffic:dst_ref.value = "
                "'mail.example' AND network-traffic:dst_port = '25'] OR [network-traffic:src_ref."
                "value = '192.0.2.1' AND network-traffic:src_port = 4444] OR "
                "[autonomous-system:number = 64496]",
                3, (int[]){PROTO_ITYPE_HOSTNAME_PORT, PROTO_ITYPE_IP_SRC_PORT, PROTO_ITYPE_AS},
                (const char *[]){"mail.example|25", "192.0.2.1|4444", "64496"});
    pattern_one("[windows-registry-key:key = 'HKLM\\\\Run' AND "
                "windows-registry-key:values[*].data = 'a|b']",
                1, (int[]){PROTO_ITYPE_REGKEY_VALUE}, (const char *[]){"HKLM\\Run|a|b"});
    pattern_refused("[url:value = 'a' OR url:value = 'b' OR url:value = 'c' OR url:value = 'd' OR "
                    "url:value = 'e']",
                    "more than 4 comparisons in one pattern");
}

static void stix_pattern_build_roundtrip(void **state)
{
    (void)state;
    static const struct {
        int itype;
        const char *value, *pattern;
    } cases[] = {
        {PROTO_ITYPE_IP_SRC, "198.51.100.0/24", "[ipv4-addr:value = '198.51.100.0/24']"},
        {PROTO_ITYPE_IP_DST, "2001:db8::1", "[ipv6-addr:value = '2001:db8::1']"},
        {PROTO_ITYPE_DOMAIN, "evil.example", "[domain-name:value = 'evil.example']"},
        {PROTO_ITYPE_HOSTNAME, "www.evil.example", "[domain-name:value = 'www.evil.example']"},
        {PROTO_ITYPE_URL, "http://x/'a'\\", "[url:value = 'http://x/\\'a\\'\\\\']"},
        {PROTO_ITYPE_EMAIL_SRC, "a@b.example", "[email-addr:value = 'a@b.example']"},
        {PROTO_ITYPE_EMAIL_DST, "a@b.example", "[email-message:to_refs[*].value = 'a@b.example']"},
        {PROTO_ITYPE_MD5, "00", "[file:hashes.'MD5' = '00']"},
        {PROTO_ITYPE_SHA1, "11", "[file:hashes.'SHA-1' = '11']"},
        {PROTO_ITYPE_SHA256, "22", "[file:hashes.'SHA-256' = '22']"},
        {PROTO_ITYPE_SHA512, "33", "[file:hashes.'SHA-512' = '33']"},
        {PROTO_ITYPE_FILENAME, "a.exe", "[file:name = 'a.exe']"},
        {PROTO_ITYPE_IP_DST_PORT, "198.51.100.7|443",
         "[network-traffic:dst_ref.type = 'ipv4-addr' AND network-traffic:dst_ref.value = "
         "'198.51.100.7' AND network-traffic:dst_port = 443]"},
        {PROTO_ITYPE_IP_SRC_PORT, "2001:db8::1|53",
         "[network-traffic:src_ref.type = 'ipv6-addr' AND network-traffic:src_ref.value = "
         "'2001:db8::1' AND network-traffic:src_port = 53]"},
        {PROTO_ITYPE_HOSTNAME_PORT, "mail.example|25",
         "[network-traffic:dst_ref.type = 'domain-name' AND network-traffic:dst_ref.value = "
         "'mail.example' AND network-traffic:dst_port = 25]"},
        {PROTO_ITYPE_AS, "64496", "[autonomous-system:number = 64496]"},
        {PROTO_ITYPE_SSDEEP, "3:a:b", "[file:hashes.'SSDEEP' = '3:a:b']"},
        {PROTO_ITYPE_TLSH, "T1AB", "[file:hashes.'TLSH' = 'T1AB']"},
        {PROTO_ITYPE_IMPHASH, "44", "[file:extensions.'windows-pebinary-ext'.imphash = '44']"},
        {PROTO_ITYPE_X509_SHA1, "55", "[x509-certificate:hashes.'SHA-1' = '55']"},
        {PROTO_ITYPE_X509_SHA256, "66", "[x509-certificate:hashes.'SHA-256' = '66']"},
        {PROTO_ITYPE_MUTEX, "Global\\m", "[mutex:name = 'Global\\\\m']"},
        {PROTO_ITYPE_REGKEY, "HKEY_USERS\\x", "[windows-registry-key:key = 'HKEY_USERS\\\\x']"},
        {PROTO_ITYPE_REGKEY_VALUE, "HKEY_USERS\\x|C:\\a|b",
         "[windows-registry-key:key = 'HKEY_USERS\\\\x' AND windows-registry-key:values[*].data = "
         "'C:\\\\a|b']"},
        {PROTO_ITYPE_USER_AGENT, "Mozilla/5.0 'x'",
         "[network-traffic:extensions.'http-request-ext'.request_header.'User-Agent' = "
         "'Mozilla/5.0 \\'x\\'']"},
        {PROTO_ITYPE_EMAIL_SUBJECT, "Invoice", "[email-message:subject = 'Invoice']"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[512];
        const int n = stixmap_pattern_build(cases[i].itype, cases[i].value, out, sizeof out);
        assert_int_equal(n, (int)strlen(cases[i].pattern));
        assert_string_equal(out, cases[i].pattern);
        static struct stixmap_term t[4];
        size_t nt;
        assert_int_equal(stixmap_pattern_parse(out, t, 4, &nt, NULL, 0), STIXMAP_OK);
        assert_int_equal(nt, 1);
        assert_string_equal(t[0].value, cases[i].value);
        /* direction and domain/hostname are what STIX cannot carry (stixmap.h) */
        const int back = cases[i].itype == PROTO_ITYPE_IP_SRC   ? PROTO_ITYPE_IP_DST
                         : cases[i].itype == PROTO_ITYPE_HOSTNAME ? PROTO_ITYPE_DOMAIN
                                                                  : cases[i].itype;
        assert_int_equal(t[0].itype, back);
    }
    char small[16];
    assert_int_equal(stixmap_pattern_build(PROTO_ITYPE_URL, "http://long.example/", small,
                                           sizeof small),
                     STIXMAP_E_NOSPACE);
    assert_int_equal(stixmap_pattern_build(99, "x", small, sizeof small), STIXMAP_E_TYPE);
    /* no pattern: a vulnerability is its own object, STIX has no JA3, JARM or bitcoin object */
    const int none[] = {PROTO_ITYPE_VULNERABILITY, PROTO_ITYPE_JA3, PROTO_ITYPE_JARM,
                        PROTO_ITYPE_BTC};
    for (size_t i = 0; i < sizeof none / sizeof none[0]; i++) {
        assert_int_equal(stixmap_pattern_build(none[i], "x", small, sizeof small), STIXMAP_E_TYPE);
        assert_null(stixmap_pattern_type(none[i]));
    }
    /* a rule is its own pattern, byte for byte, with its pattern_type */
    const char rule[] = "alert tcp any any -> any 80 (msg:\"it's\"; sid:1;)\r\n";
    char out[128];
    assert_int_equal(stixmap_pattern_build(PROTO_ITYPE_SURICATA, rule, out, sizeof out),
                     (int)strlen(rule));
    assert_string_equal(out, rule);
    assert_string_equal(stixmap_pattern_type(PROTO_ITYPE_SURICATA), "suricata");
    assert_string_equal(stixmap_pattern_type(PROTO_ITYPE_YARA), "yara");
    assert_string_equal(stixmap_pattern_type(PROTO_ITYPE_MUTEX), "stix");
}

/* --- CSV and text --- */

static void csv_and_text(void **state)
{
    (void)state;
    struct import_list l;
    import_list_init(&l);
    char why[512] = "";
    const char *csv = "uuid,type,value,comment,to_ids\n"
                      "1,ip-dst,203.0.113.5,\"c2, \"\"main\"\"\",1\n"
                      "2,domain|ip,a.example|192.0.2.3,,True\n"
                      "3,md5,0749bae92ca336a02c83d126e04ec628,,0\n"
                      "# comment\n"
                      "4,sha1,nothex,,1\r\n";
    struct import_opts o = {.format = IMPORT_CSV, .itype = -1, .column = "value"};
    assert_int_equal(import_buffer(csv, strlen(csv), "f.csv", &o, &l, why, sizeof why), 0);
    const struct want w[] = {
        {IMPORT_OK, PROTO_ITYPE_IP_DST, "203.0.113.5", -1},
        {IMPORT_OK, PROTO_ITYPE_DOMAIN, "a.example", -1},
        {IMPORT_OK, PROTO_ITYPE_IP_DST, "192.0.2.3", -1},
        {IMPORT_SKIP_NOT_IDS, -1, "0749bae92ca336a02c83d126e04ec628", -1},
        {IMPORT_INVALID, PROTO_ITYPE_SHA1, "nothex", -1},
    };
    check_items(&l, w, sizeof w / sizeof w[0]);
    assert_string_equal(l.items[0].comment, "c2, \"main\"");
    assert_string_equal(l.items[4].where, "f.csv:6");
    import_list_free(&l);

    import_list_init(&l);
    o = (struct import_opts){.format = IMPORT_CSV, .itype = PROTO_ITYPE_DOMAIN, .column = "2"};
    const char *c2 = "1,A.Example\n2,b.example\n";
    assert_int_equal(import_buffer(c2, strlen(c2), "g.csv", &o, &l, why, sizeof why), 0);
    assert_int_equal(l.n, 2);
    assert_string_equal(l.items[0].value, "a.example");
    import_list_free(&l);

    import_list_init(&l);
    o = (struct import_opts){.format = IMPORT_TEXT, .itype = PROTO_ITYPE_IP_SRC};
    const char *txt = "# list\n\n 198.51.100.7 \r\n198.51.100.0/24\nbogus\n";
    assert_int_equal(import_buffer(txt, strlen(txt), "l.txt", &o, &l, why, sizeof why), 0);
    const struct want wt[] = {
        {IMPORT_OK, PROTO_ITYPE_IP_SRC, "198.51.100.7", -1},
        {IMPORT_OK, PROTO_ITYPE_IP_SRC, "198.51.100.0/24", -1},
        {IMPORT_INVALID, PROTO_ITYPE_IP_SRC, "bogus", -1},
    };
    check_items(&l, wt, 3);
    assert_string_equal(l.items[2].where, "l.txt:5");
    import_list_free(&l);
}

/* --- malformed input: one error with a position, list unchanged --- */

static void malformed(void **state)
{
    (void)state;
    struct import_list l;
    import_list_init(&l);
    char why[512] = "";
    const char *ok = "{\"Event\":{\"Tag\":[{\"name\":\"tlp:green\"}],\"Attribute\":[{\"type\":"
                     "\"md5\",\"value\":\"0749bae92ca336a02c83d126e04ec628\"}]}}";
    assert_int_equal(parse(ok, IMPORT_MISP, &l, why, sizeof why), 0);
    assert_int_equal(l.n, 1);
    assert_int_equal(parse("{\"Event\": {\n  \"Attribute\": [,]}}", IMPORT_MISP, &l, why, sizeof why),
                     IMPORT_E_FORMAT);
    assert_string_equal(why, "t.json: not valid JSON at line 2 column 17: unexpected token near ','");
    assert_int_equal(parse("[1,2]", IMPORT_MISP, &l, why, sizeof why), IMPORT_E_FORMAT);
    assert_string_equal(why, "t.json: the top level is not a JSON object");
    assert_int_equal(parse("{\"x\":1}", IMPORT_MISP, &l, why, sizeof why), IMPORT_E_FORMAT);
    assert_string_equal(why, "t.json: not a MISP event (no \"Event\" object, no \"Attribute\" array)");
    /* a bad attribute after a good one: nothing of this parse stays in the list */
    assert_int_equal(parse("{\"Attribute\":[{\"type\":\"md5\",\"value\":\"0749bae92ca336a02c83d126e04ec628\"},"
                           "{\"type\":\"md5\"}]}", IMPORT_MISP, &l, why, sizeof why),
                     IMPORT_E_FORMAT);
    assert_string_equal(why, "t.json: Event.Attribute[1] is not a MISP attribute (needs \"type\" and "
                             "\"value\" texts)");
    assert_int_equal(l.n, 1);
    assert_int_equal(parse("{\"type\":\"bundle\"}", IMPORT_STIX, &l, why, sizeof why),
                     IMPORT_E_FORMAT);
    assert_string_equal(why, "t.json: not a STIX bundle (no \"objects\" array)");
    const struct import_opts o = {.format = IMPORT_MISP, .itype = -1};
    assert_int_equal(import_path("/nonexistent/x.json", &o, &l, why, sizeof why), IMPORT_E_IO);
    assert_string_equal(why, "/nonexistent/x.json: No such file or directory");
    assert_int_equal(l.n, 1);
    import_list_free(&l);
}

/* --- MISP feed directory --- */

static void write_file(const char *path, const char *text)
{
    ts_file_write(path, text, strlen(text));
}

static void misp_feed(void **state)
{
    (void)state;
    char *dir = ts_dir_new("feed");
    char p[256];
    snprintf(p, sizeof p, "%s/manifest.json", dir);
    write_file(p, "{\"bbbb-1\":{\"info\":\"b\"},\"aaaa-2\":{\"info\":\"a\"}}");
    snprintf(p, sizeof p, "%s/aaaa-2.json", dir);
    write_file(p, "{\"Event\":{\"Tag\":[{\"name\":\"tlp:green\"}],\"Attribute\":[{\"type\":"
                  "\"domain\",\"value\":\"a.example\"}]}}");
    snprintf(p, sizeof p, "%s/bbbb-1.json", dir);
    write_file(p, "{\"Event\":{\"Tag\":[{\"name\":\"tlp:amber\"}],\"Attribute\":[{\"type\":"
                  "\"domain\",\"value\":\"b.example\"}]}}");
    struct import_list l;
    import_list_init(&l);
    char why[512] = "";
    const struct import_opts o = {.format = IMPORT_MISP_FEED, .itype = -1};
    assert_int_equal(import_path(dir, &o, &l, why, sizeof why), 0);
    const struct want w[] = {{IMPORT_OK, PROTO_ITYPE_DOMAIN, "a.example", PROTO_TLP_GREEN},
                             {IMPORT_OK, PROTO_ITYPE_DOMAIN, "b.example", PROTO_TLP_AMBER}};
    check_items(&l, w, 2);
    import_list_free(&l);
    snprintf(p, sizeof p, "%s/manifest.json", dir);
    write_file(p, "{\"../etc/passwd\":{}}");
    import_list_init(&l);
    assert_int_equal(import_path(dir, &o, &l, why, sizeof why), IMPORT_E_FORMAT);
    assert_non_null(strstr(why, "is not a uuid"));
    import_list_free(&l);
    ts_dir_free_tree(dir);
}

/* --- warninglists --- */

static void warninglists(void **state)
{
    (void)state;
    struct warninglist_set set;
    warninglist_set_init(&set);
    char why[512] = "";
    assert_int_equal(warninglist_load_file(&set, SAMPLES "warninglist-rfc1918.json", why, sizeof why), 0);
    assert_int_equal(warninglist_load_file(&set, SAMPLES "warninglist-public-dns-v6.json", why, sizeof why), 0);
    const char *hosts = "{\"name\":\"cdn\",\"type\":\"hostname\",\"list\":[\".Akamai.net\",\"cloudfront.net.\"],"
                        "\"matching_attributes\":[\"hostname\",\"domain\",\"url\"]}";
    const char *strs = "{\"name\":\"s\",\"list\":[\"0749BAE92CA336A02C83D126E04EC628\"]}";
    const char *subs = "{\"name\":\"sub\",\"type\":\"substring\",\"list\":[\"google\"],"
                       "\"matching_attributes\":[\"url\"]}";
    assert_int_equal(warninglist_load_buffer(&set, hosts, strlen(hosts), "h", why, sizeof why), 0);
    assert_int_equal(warninglist_load_buffer(&set, strs, strlen(strs), "s", why, sizeof why), 0);
    assert_int_equal(warninglist_load_buffer(&set, subs, strlen(subs), "sub", why, sizeof why), 0);
    const char *rfc = "List of RFC 1918 CIDR blocks", *dns = "List of known IPv6 public DNS resolvers";
    assert_string_equal(warninglist_match(&set, PROTO_ITYPE_IP_DST, "10.0.0.0"), rfc);
    assert_string_equal(warninglist_match(&set, PROTO_ITYPE_IP_SRC, "172.31.255.255"), rfc);
    assert_string_equal(warninglist_match(&set, PROTO_ITYPE_IP_DST, "192.168.4.0/24"), rfc);
    assert_null(warninglist_match(&set, PROTO_ITYPE_IP_DST, "172.32.0.1"));
    assert_null(warninglist_match(&set, PROTO_ITYPE_IP_DST, "10.0.0.0/7"));
    assert_null(warninglist_match(&set, PROTO_ITYPE_DOMAIN, "10.0.0.0")); /* not its type */
    assert_string_equal(warninglist_match(&set, PROTO_ITYPE_IP_DST, "2001:4860:4860::8888"), dns);
    assert_null(warninglist_match(&set, PROTO_ITYPE_IP_DST, "2001:4860:4860::8889"));
    assert_string_equal(warninglist_match(&set, PROTO_ITYPE_HOSTNAME, "a248.e.akamai.net"), "cdn");
    assert_string_equal(warninglist_match(&set, PROTO_ITYPE_DOMAIN, "cloudfront.net"), "cdn");
    assert_string_equal(warninglist_match(&set, PROTO_ITYPE_URL, "https://u:p@x.cloudfront.net:8443/a"), "cdn");
    /* review: the host follows the LAST '@' of the authority, as the URL normaliser reads it */
    assert_string_equal(warninglist_match(&set, PROTO_ITYPE_URL, "http://a@b@x.cloudfront.net/"), "cdn");
    assert_null(warninglist_match(&set, PROTO_ITYPE_DOMAIN, "notcloudfront.net"));
    assert_string_equal(warninglist_match(&set, PROTO_ITYPE_MD5, "0749bae92ca336a02c83d126e04ec628"), "s");
    assert_string_equal(warninglist_match(&set, PROTO_ITYPE_URL, "http://www.google.com/x"), "sub");
    assert_null(warninglist_match(&set, PROTO_ITYPE_DOMAIN, "google.com"));
    /* an address or host with a port is matched as the address or host */
    assert_string_equal(warninglist_match(&set, PROTO_ITYPE_IP_DST_PORT, "10.1.2.3|443"), rfc);
    assert_string_equal(warninglist_match(&set, PROTO_ITYPE_IP_SRC_PORT, "2001:4860:4860::8888|53"),
                        dns);
    assert_string_equal(warninglist_match(&set, PROTO_ITYPE_HOSTNAME_PORT, "x.cloudfront.net|80"),
                        "cdn");
    assert_null(warninglist_match(&set, PROTO_ITYPE_IP_DST_PORT, "203.0.113.1|10"));
    const char *rx = "{\"name\":\"r\",\"type\":\"regex\",\"list\":[\"a\"]}";
    assert_int_equal(warninglist_load_buffer(&set, rx, strlen(rx), "r.json", why, sizeof why),
                     WARNINGLIST_E_TYPE);
    assert_string_equal(why, "r.json: list type 'regex' is not supported (string, substring, hostname, cidr)");
    assert_int_equal(warninglist_load_buffer(&set, "{", 1, "b.json", why, sizeof why), WARNINGLIST_E_FORMAT);
    assert_non_null(strstr(why, "b.json:1:"));
    assert_int_equal(set.n, 5);
    assert_int_equal(warninglist_load_dir(&set, "/nonexistent-dir", why, sizeof why), 0);
    warninglist_set_free(&set);
}

/* --- issue 11: provenance of tlpmesh's own exports, restSearch, text notes --- */

#define KEY_B64 "Pg7iCc+mpumNDskHFbMHK0c45VN+mx4TT+Ic+SxE7LY="
#define RID_HEX "81d71e29e0c89e1c10d31db73bf42aaede9529eb3d8a3d8c9a312b9de7a3b962"

static void provenance(void **state)
{
    (void)state;
    struct import_list l;
    import_list_init(&l);
    char why[512] = "";
    const char *stix =
        "{\"type\":\"bundle\",\"objects\":["
        "{\"type\":\"indicator\",\"id\":\"indicator--1\",\"pattern\":\"[ipv4-addr:value = "
        "'192.0.2.1']\",\"x_tlpmesh\":{\"record_id\":\"" RID_HEX "\",\"origin_key\":\"" KEY_B64
        "\",\"origin_organisation\":\"CERT-EE\",\"communities\":[\"energy-isac\"],"
        "\"recipients\":[\"" KEY_B64 "\"]}},"
        "{\"type\":\"indicator\",\"id\":\"indicator--2\",\"pattern\":\"[ipv4-addr:value = "
        "'192.0.2.2']\",\"x_tlpmesh\":{\"communities\":\"energy-isac\"}},"
        "{\"type\":\"indicator\",\"id\":\"indicator--3\",\"pattern\":\"[ipv4-addr:value = "
        "'192.0.2.3']\"}]}";
    struct import_opts o = {.format = IMPORT_STIX, .itype = -1};
    assert_int_equal(import_buffer(stix, strlen(stix), "b.json", &o, &l, why, sizeof why), 0);
    assert_int_equal(l.n, 3);
    const struct import_provenance *p = l.items[0].prov;
    assert_non_null(p);
    assert_true(p->has_id && p->has_origin && p->has_audience);
    assert_int_equal(p->record_id[0], 0x81);
    assert_string_equal(p->origin_org, "CERT-EE");
    assert_int_equal(p->audience.n_communities, 1);
    assert_string_equal(p->audience.communities[0], "energy-isac");
    assert_int_equal(p->audience.n_recipients, 1);
    assert_memory_equal(p->audience.recipients[0], p->origin, LIMIT_KEY_BYTES);
    /* present but malformed: refused, never read as "no audience" (that would widen it) */
    assert_int_equal(l.items[1].status, IMPORT_INVALID);
    assert_null(l.items[1].prov);
    assert_non_null(strstr(l.items[1].why, "x_tlpmesh audience"));
    assert_int_equal(l.items[2].status, IMPORT_OK);
    assert_null(l.items[2].prov);
    import_list_free(&l);

    /* CSV: the four columns of a tlpmesh export, the TLP from attribute_tag; another tool's
     * lone record_id column is not ours */
    import_list_init(&l);
    const char *csv = "type,value,attribute_tag,origin_organisation,origin_key,record_id,audience\n"
                      "ip-dst,192.0.2.9,\"tlp:amber,c2\",CERT-EE," KEY_B64 "," RID_HEX
                      ",\"{\"\"communities\"\":[],\"\"recipients\"\":[]}\"\n"
                      "ip-dst,192.0.2.10,tlp:green,,,,\n";
    o = (struct import_opts){.format = IMPORT_CSV, .itype = -1, .column = "value"};
    assert_int_equal(import_buffer(csv, strlen(csv), "e.csv", &o, &l, why, sizeof why), 0);
    assert_int_equal(l.n, 2);
    assert_int_equal(l.items[0].tlp, PROTO_TLP_AMBER);
    assert_non_null(l.items[0].prov);
    assert_true(l.items[0].prov->has_id && l.items[0].prov->has_audience);
    assert_int_equal(l.items[0].prov->audience.n_communities, 0);
    assert_int_equal(l.items[1].tlp, PROTO_TLP_GREEN);
    assert_null(l.items[1].prov);
    import_list_free(&l);
    import_list_init(&l);
    const char *other = "type,value,record_id\nip-dst,192.0.2.11,12345\n";
    assert_int_equal(import_buffer(other, strlen(other), "o.csv", &o, &l, why, sizeof why), 0);
    assert_int_equal(l.items[0].status, IMPORT_OK);
    assert_null(l.items[0].prov);
    import_list_free(&l);
}

static void rest_search_and_notes(void **state)
{
    (void)state;
    struct import_list l;
    import_list_init(&l);
    char why[512] = "";
    const char *rs = "{\"response\":[{\"Event\":{\"Tag\":[{\"name\":\"tlp:green\"}],"
                     "\"Attribute\":[{\"type\":\"ip-dst\",\"value\":\"192.0.2.1\"}]}},"
                     "{\"Event\":{\"Attribute\":[{\"type\":\"domain\",\"value\":\"a.example\","
                     "\"Tag\":[{\"name\":\"tlp:amber\"}]}]}}]}";
    struct import_opts o = {.format = IMPORT_MISP, .itype = -1};
    assert_int_equal(import_buffer(rs, strlen(rs), "r.json", &o, &l, why, sizeof why), 0);
    const struct want w[] = {{IMPORT_OK, PROTO_ITYPE_IP_DST, "192.0.2.1", PROTO_TLP_GREEN},
                             {IMPORT_OK, PROTO_ITYPE_DOMAIN, "a.example", PROTO_TLP_AMBER}};
    check_items(&l, w, 2);
    assert_non_null(strstr(l.items[1].where, "response[1].Event.Attribute[0]"));
    import_list_free(&l);
    import_list_init(&l);
    const char *bad = "{\"response\":{\"Event\":{}}}";
    assert_int_equal(import_buffer(bad, strlen(bad), "r.json", &o, &l, why, sizeof why),
                     IMPORT_E_FORMAT);
    assert_non_null(strstr(why, "restSearch"));
    import_list_free(&l);

    import_list_init(&l);
    o = (struct import_opts){.format = IMPORT_TEXT, .itype = PROTO_ITYPE_URL};
    const char *txt = "http://a.example/x#frag\nhttp://b.example/  #  dropper \t\n"
                      "http://c.example/ #\n  # only a note\n";
    assert_int_equal(import_buffer(txt, strlen(txt), "n.txt", &o, &l, why, sizeof why), 0);
    assert_int_equal(l.n, 3);
    assert_string_equal(l.items[0].value, "http://a.example/x#frag");
    assert_null(l.items[0].comment);
    assert_string_equal(l.items[1].value, "http://b.example/");
    assert_string_equal(l.items[1].comment, "dropper");
    assert_null(l.items[2].comment);
    import_list_free(&l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(misp_sample),
        cmocka_unit_test(stix_sample),
        cmocka_unit_test(misp_composites_and_flags),
        cmocka_unit_test(misp_tlp_precedence),
        cmocka_unit_test(stix_markings),
        cmocka_unit_test(stix_tlp_tables),
        cmocka_unit_test(stix_patterns),
        cmocka_unit_test(stix_pattern_build_roundtrip),
        cmocka_unit_test(csv_and_text),
        cmocka_unit_test(malformed),
        cmocka_unit_test(misp_feed),
        cmocka_unit_test(warninglists),
        cmocka_unit_test(provenance),
        cmocka_unit_test(rest_search_and_notes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
