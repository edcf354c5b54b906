/* export_lines.c - the line formats: Zeek intel, text, hosts, MISP CSV, Suricata datasets and
 * rules, Suricata IP reputation (export.h, export_int.h). */
#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "node/formats/export_int.h"
#include "node/formats/mispmap.h"
#include "node/formats/timefmt.h"

/* ---- shared line helpers ---- */

#define ZEEK_TYPES                                                                                 \
    (IP_TYPES | NAME_TYPES | EMAIL_TYPES | T(PROTO_ITYPE_URL) | T(PROTO_ITYPE_FILENAME) |          \
     T(PROTO_ITYPE_MD5) | T(PROTO_ITYPE_SHA1) | T(PROTO_ITYPE_SHA256) | T(PROTO_ITYPE_SHA512) |    \
     T(PROTO_ITYPE_X509_SHA1) | T(PROTO_ITYPE_USER_AGENT))

/* The Zeek intel type of each type Zeek has one for (ZEEK_TYPES): a certificate's SHA-1 is seen
 * on X.509 files, a user agent as the software an HTTP client names (Intel::SOFTWARE,
 * HTTP::IN_USER_AGENT_HEADER). A certificate's SHA-256 is left out: stock Zeek's seen script
 * (policy/frameworks/intel/seen/x509.zeek) matches CERT_HASH on the SHA-1 only, so such a line
 * would never fire. Ports, AS numbers, fuzzy hashes, JA3/JARM (no base Zeek type), registry,
 * mutex, subjects, CVEs, bitcoin and rules have none either: left out, counted by type. */
static const char *zeek_type(const struct proto_indicator *in)
{
    switch (in->type) {
    case PROTO_ITYPE_IP_SRC:
    case PROTO_ITYPE_IP_DST: return strchr(in->value, '/') ? "Intel::SUBNET" : "Intel::ADDR";
    case PROTO_ITYPE_DOMAIN:
    case PROTO_ITYPE_HOSTNAME: return "Intel::DOMAIN";
    case PROTO_ITYPE_URL: return "Intel::URL";
    case PROTO_ITYPE_EMAIL_SRC:
    case PROTO_ITYPE_EMAIL_DST: return "Intel::EMAIL";
    case PROTO_ITYPE_FILENAME: return "Intel::FILE_NAME";
    case PROTO_ITYPE_X509_SHA1: return "Intel::CERT_HASH";
    case PROTO_ITYPE_USER_AGENT: return "Intel::SOFTWARE";
    default: assert(ZEEK_TYPES & T(in->type)); return "Intel::FILE_HASH";
    }
}

/* A Zeek field: '-' for empty, tabs and line breaks as spaces (they would split the line). */
static void zeek_field(FILE *out, const char *s, bool last)
{
    if (!*s)
        fputc('-', out);
    for (; *s; s++)
        fputc(*s == '\t' || *s == '\n' || *s == '\r' ? ' ' : *s, out);
    fputc(last ? '\n' : '\t', out);
}

static void csv_field(FILE *out, const char *s, bool last)
{
    fputc('"', out);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', out);
        fputc(*s, out);
    }
    fputc('"', out);
    fputc(last ? '\n' : ',', out);
}

void export_tlp_tag(int tlp, char out[32])
{
    snprintf(out, 32, "tlp:%s", proto_tlp_name(tlp));
}

/* ---- zeek, text, hosts, csv ---- */

static int zeek_header(struct walk *w)
{
    fputs("#fields\tindicator\tindicator_type\tmeta.source\tmeta.desc\tmeta.url\t"
          "meta.do_notice\tmeta.if_in\n",
          w->out);
    return EXPORT_OK;
}

/* Zeek matches URLs as seen in HTTP, without the scheme. */
static const char *zeek_indicator(const struct proto_indicator *in)
{
    if (in->type != PROTO_ITYPE_URL)
        return in->value;
    if (strncmp(in->value, "http://", 7) == 0)
        return in->value + 7;
    if (strncmp(in->value, "https://", 8) == 0)
        return in->value + 8;
    return in->value;
}

static int zeek_record(struct walk *w, const uint8_t id[LIMIT_ID_BYTES],
                       const struct proto_record *r)
{
    const struct proto_indicator *in = &r->u.ind;
    char source[8 + 2 * LIMIT_ID_BYTES + 1] = "tlpmesh:";
    sodium_bin2hex(source + 8, 2 * LIMIT_ID_BYTES + 1, id, LIMIT_ID_BYTES);
    char desc[16 + LIMIT_COMMENT_BYTES];
    snprintf(desc, sizeof desc, "TLP:%s%s%s", proto_tlp_name(r->tlp), in->comment[0] ? " " : "",
             in->comment);
    for (char *c = desc; *c && c < desc + 16; c++) /* upper-case the level, as TLP labels read */
        if (*c >= 'a' && *c <= 'z')
            *c = (char)(*c - 'a' + 'A');
        else if (*c == ' ')
            break;
    zeek_field(w->out, zeek_indicator(in), false);
    zeek_field(w->out, zeek_type(in), false);
    zeek_field(w->out, source, false);
    zeek_field(w->out, desc, false);
    zeek_field(w->out, "", false);
    zeek_field(w->out, "T", false);
    zeek_field(w->out, "", true);
    return 1;
}

static int text_record(struct walk *w, const uint8_t id[LIMIT_ID_BYTES],
                       const struct proto_record *r)
{
    (void)id;
    fprintf(w->out, "%s\n", r->u.ind.value);
    return 1;
}

static int hosts_header(struct walk *w)
{
    char t[TIMEFMT_RFC3339_LEN + 1];
    timefmt_format(w->job->now_ms, t);
    fprintf(w->out, "# Blocklist in the HOSTS format\n# Generated: %s\n", t);
    return EXPORT_OK;
}

static int hosts_record(struct walk *w, const uint8_t id[LIMIT_ID_BYTES],
                        const struct proto_record *r)
{
    (void)id;
    fprintf(w->out, "0.0.0.0 %s\n", r->u.ind.value);
    return 1;
}

static int csv_header(struct walk *w)
{
    fputs("uuid,event_id,category,type,value,comment,to_ids,date,object_relation,attribute_tag,"
          "object_uuid,object_name,object_meta_category,origin_organisation,origin_key,record_id,"
          "audience\n",
          w->out);
    return EXPORT_OK;
}

/* "tlp:amber,tag1,tag2": MISP's attribute_tag column. */
static void tag_list(const struct proto_record *r, char *out, size_t cap)
{
    char tlp[32];
    export_tlp_tag(r->tlp, tlp);
    size_t n = (size_t)snprintf(out, cap, "%s", tlp);
    for (size_t i = 0; i < r->u.ind.n_tags && n < cap; i++)
        n += (size_t)snprintf(out + n, cap - n, ",%s", r->u.ind.tags[i]);
}

/* The last four columns: origin_organisation, origin_key, record_id, audience (JSON). */
static int csv_provenance(struct walk *w, const uint8_t id[LIMIT_ID_BYTES],
                          const struct proto_record *r)
{
    char hex[2 * LIMIT_ID_BYTES + 1], b64[LIMIT_PUBKEY_B64_LEN + 1];
    sodium_bin2hex(hex, sizeof hex, id, LIMIT_ID_BYTES);
    sodium_bin2base64(b64, sizeof b64, r->origin, LIMIT_KEY_BYTES, sodium_base64_VARIANT_ORIGINAL);
    json_t *aud = export_audience_json(&r->audience);
    char *txt = aud ? json_dumps(aud, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
    json_decref(aud);
    if (!txt)
        return EXPORT_E_NOMEM;
    csv_field(w->out, export_origin_org(w->job, r->origin), false);
    csv_field(w->out, b64, false);
    csv_field(w->out, hex, false);
    csv_field(w->out, txt, true);
    free(txt);
    return 1;
}

static int csv_record(struct walk *w, const uint8_t id[LIMIT_ID_BYTES],
                      const struct proto_record *r)
{
    const struct proto_indicator *in = &r->u.ind;
    char uuid[UUID_TEXT], event[UUID_TEXT], date[24], tags[32 + LIMIT_TAGS * (LIMIT_TAG_BYTES + 1)];
    export_uuid_text(id, uuid);
    export_record_event_uuid(w->job, r, event); /* the misp-feed event that holds this record */
    snprintf(date, sizeof date, "%" PRIu64, r->created_ms / 1000);
    tag_list(r, tags, sizeof tags);
    csv_field(w->out, uuid, false);
    csv_field(w->out, event, false);
    csv_field(w->out, mispmap_category(in->type), false);
    csv_field(w->out, proto_itype_name(in->type), false);
    csv_field(w->out, in->value, false);
    csv_field(w->out, in->comment, false);
    csv_field(w->out, "1", false);
    csv_field(w->out, date, false);
    for (int i = 0; i < 5; i++) /* object_relation .. object_meta_category */
        csv_field(w->out, i == 1 ? tags : "", false);
    return csv_provenance(w, id, r);
}

/* ---- suricata ---- */

static int sur_b64_record(struct walk *w, const uint8_t id[LIMIT_ID_BYTES],
                          const struct proto_record *r)
{
    (void)id;
    char b64[B64_BYTES];
    sodium_bin2base64(b64, sizeof b64, (const uint8_t *)r->u.ind.value, strlen(r->u.ind.value),
                      sodium_base64_VARIANT_ORIGINAL);
    fprintf(w->out, "%s\n", b64);
    return 1;
}

/* Dataset type ip holds single addresses; a CIDR belongs to the iprep export. */
static int sur_ip_record(struct walk *w, const uint8_t id[LIMIT_ID_BYTES],
                         const struct proto_record *r)
{
    if (!strchr(r->u.ind.value, '/'))
        return text_record(w, id, r);
    w->left_why = "CIDR ranges: Suricata's ip dataset holds single addresses (export "
                  "suricata-iprep for ranges)";
    return 0;
}

/* tls.cert_fingerprint is the SHA-1 in lower-case hex with ':' between bytes. */
static int sur_cert_record(struct walk *w, const uint8_t id[LIMIT_ID_BYTES],
                           const struct proto_record *r)
{
    (void)id;
    const char *v = r->u.ind.value;
    char colons[3 * 20];
    size_t o = 0;
    for (size_t i = 0; v[i] && v[i + 1] && o + 3 <= sizeof colons; i += 2) {
        if (o > 0)
            colons[o++] = ':';
        colons[o++] = v[i];
        colons[o++] = v[i + 1];
    }
    colons[o] = '\0';
    char b64[sodium_base64_ENCODED_LEN(sizeof colons, sodium_base64_VARIANT_ORIGINAL)];
    sodium_bin2base64(b64, sizeof b64, (const uint8_t *)colons, o, sodium_base64_VARIANT_ORIGINAL);
    fprintf(w->out, "%s\n", b64);
    return 1;
}

/* First sid of the rules tlpmesh writes for addresses with a port: a private range (Emerging
 * Threats and Snort use others), numbered in the export's order. */
enum { SUR_PORT_SID_BASE = 9750001 };

/* An address with a port: one rule each for TCP and UDP, towards it (ip-dst|port) or from it
 * (ip-src|port); the record id in the metadata ties an alert to the record. */
static int sur_port_record(struct walk *w, const uint8_t id[LIMIT_ID_BYTES],
                           const struct proto_record *r)
{
    const char *v = r->u.ind.value, *bar = strrchr(v, '|');
    assert(bar != NULL);
    const bool src = r->u.ind.type == PROTO_ITYPE_IP_SRC_PORT;
    char addr[64], hex[17];
    snprintf(addr, sizeof addr, "%s%.*s%s", strchr(v, ':') ? "[" : "", (int)(bar - v), v,
             strchr(v, ':') ? "]" : "");
    sodium_bin2hex(hex, sizeof hex, id, 8);
    static const char *const protos[] = {"tcp", "udp"};
    for (size_t k = 0; k < 2; k++) {
        const uint64_t sid = SUR_PORT_SID_BASE + 2 * w->written + k;
        if (src)
            fprintf(w->out, "alert %s %s %s -> any any (", protos[k], addr, bar + 1);
        else
            fprintf(w->out, "alert %s any any -> %s %s (", protos[k], addr, bar + 1);
        fprintf(w->out, "msg:\"tlpmesh: %s %s\"; metadata:tlpmesh_record %s, tlp %s; sid:%" PRIu64
                        "; rev:1;)\n",
                src ? "traffic from listed" : "traffic to listed", proto_itype_name(r->u.ind.type),
                hex, proto_tlp_name(r->tlp), sid);
    }
    return 1;
}

/* Snort and Suricata rules as published, one per line (a rule's trailing line end dropped); a
 * rule of several lines cannot be one line of a rules file and is left out. */
static int sur_shared_rule(struct walk *w, const uint8_t id[LIMIT_ID_BYTES],
                           const struct proto_record *r)
{
    (void)id;
    const char *v = r->u.ind.value;
    size_t len = strlen(v);
    while (len > 0 && (v[len - 1] == '\n' || v[len - 1] == '\r'))
        len--;
    if (memchr(v, '\n', len) != NULL || memchr(v, '\r', len) != NULL) {
        w->left_why = "rules of several lines: a rules file holds one rule per line";
        return 0;
    }
    fprintf(w->out, "%.*s\n", (int)len, v);
    return 1;
}

static int sur_rules_header(struct walk *w)
{
    static const char rules[] =
        "# tlpmesh sample rules for the dataset files in this directory (Suricata 7).\n"
        "# Copy or include them with the .lst files beside them; reload rules (kill -USR2) after\n"
        "# an export. urls.lst and emails.lst are for tools (suricatasc dataset-add) and custom\n"
        "# rules: no single Suricata buffer holds a full URL or an e-mail address.\n"
        "alert dns any any -> any any (msg:\"tlpmesh: DNS query for a listed domain\"; "
        "dns.query; dataset:isset,tlpmesh-domains, type string, load domains.lst; "
        "sid:9740001; rev:1;)\n"
        "alert tls any any -> any any (msg:\"tlpmesh: TLS SNI of a listed domain\"; tls.sni; "
        "dataset:isset,tlpmesh-domains, type string, load domains.lst; sid:9740002; rev:1;)\n"
        "alert http any any -> any any (msg:\"tlpmesh: HTTP host of a listed domain\"; "
        "http.host; dataset:isset,tlpmesh-domains, type string, load domains.lst; "
        "sid:9740003; rev:1;)\n"
        "alert ip any any -> any any (msg:\"tlpmesh: traffic to a listed address\"; ip.dst; "
        "dataset:isset,tlpmesh-ips, type ip, load ip.lst; sid:9740004; rev:1;)\n"
        "alert ip any any -> any any (msg:\"tlpmesh: traffic from a listed address\"; ip.src; "
        "dataset:isset,tlpmesh-ips, type ip, load ip.lst; sid:9740005; rev:1;)\n"
        "alert http any any -> any any (msg:\"tlpmesh: file with a listed name\"; file.name; "
        "dataset:isset,tlpmesh-filenames, type string, load filenames.lst; sid:9740006; rev:1;)\n"
        "alert http any any -> any any (msg:\"tlpmesh: file with a listed MD5\"; "
        "filemd5:md5.lst; sid:9740007; rev:1;)\n"
        "alert http any any -> any any (msg:\"tlpmesh: file with a listed SHA-1\"; "
        "filesha1:sha1.lst; sid:9740008; rev:1;)\n"
        "alert http any any -> any any (msg:\"tlpmesh: file with a listed SHA-256\"; "
        "filesha256:sha256.lst; sid:9740009; rev:1;)\n"
        "alert http any any -> any any (msg:\"tlpmesh: listed user agent\"; http.user_agent; "
        "dataset:isset,tlpmesh-useragents, type string, load useragents.lst; sid:9740010; "
        "rev:1;)\n"
        "alert tls any any -> any any (msg:\"tlpmesh: TLS client with a listed JA3\"; ja3.hash; "
        "dataset:isset,tlpmesh-ja3, type string, load ja3.lst; sid:9740011; rev:1;)\n"
        "alert tls any any -> any any (msg:\"tlpmesh: listed certificate\"; tls.cert_fingerprint; "
        "dataset:isset,tlpmesh-certs, type string, load certs.lst; sid:9740012; rev:1;)\n"
        "# ports.rules: addresses with a port (sids from 9750001); shared.rules: Snort and\n"
        "# Suricata rules as their publishers wrote them (their own sids).\n";
    fputs(rules, w->out);
    return EXPORT_OK;
}

/* ---- suricata-iprep ---- */

enum { IPREP_CAT_SRC = 1, IPREP_CAT_DST = 2 };

static int iprep_categories(struct walk *w)
{
    fprintf(w->out, "%d,tlpmesh-src,tlpmesh ip-src indicators (sources of attacks)\n"
                    "%d,tlpmesh-dst,tlpmesh ip-dst indicators (destinations: C2 and drop sites)\n",
            IPREP_CAT_SRC, IPREP_CAT_DST);
    return EXPORT_OK;
}

/* Suricata scores are 1..127: confidence 0..100 mapped onto them, 0 still listed at 1. */
static int iprep_record(struct walk *w, const uint8_t id[LIMIT_ID_BYTES],
                        const struct proto_record *r)
{
    (void)id;
    const unsigned score = 1 + (unsigned)r->u.ind.confidence * 126 / 100;
    assert(score >= 1 && score <= 127);
    fprintf(w->out, "%s,%d,%u\n", r->u.ind.value,
            r->u.ind.type == PROTO_ITYPE_IP_SRC ? IPREP_CAT_SRC : IPREP_CAT_DST, score);
    return 1;
}

/* ---- the tables (export_int.h: struct file_def) ---- */

static const struct file_def f_zeek[] = {
    {NULL, ZEEK_TYPES, zeek_header, zeek_record, NULL, false, false}};
static const struct file_def f_text[] = {
    {NULL, ALL_TYPES & ~RULE_TYPES, NULL, text_record, NULL, false, false}};
static const struct file_def f_hosts[] = {{NULL, NAME_TYPES, hosts_header, hosts_record, NULL,
                                           false, false}};
static const struct file_def f_csv[] = {{NULL, ALL_TYPES, csv_header, csv_record, NULL, false, false}};
static const struct file_def f_suricata[] = {
    {"ip.lst", IP_TYPES, NULL, sur_ip_record, NULL, false, false},
    {"domains.lst", NAME_TYPES, NULL, sur_b64_record, NULL, false, false},
    {"urls.lst", T(PROTO_ITYPE_URL), NULL, sur_b64_record, NULL, false, false},
    {"emails.lst", EMAIL_TYPES, NULL, sur_b64_record, NULL, false, false},
    {"filenames.lst", T(PROTO_ITYPE_FILENAME), NULL, sur_b64_record, NULL, false, false},
    {"md5.lst", T(PROTO_ITYPE_MD5), NULL, text_record, NULL, false, false},
    {"sha1.lst", T(PROTO_ITYPE_SHA1), NULL, text_record, NULL, false, false},
    {"sha256.lst", T(PROTO_ITYPE_SHA256), NULL, text_record, NULL, false, false},
    {"useragents.lst", T(PROTO_ITYPE_USER_AGENT), NULL, sur_b64_record, NULL, false, false},
    {"ja3.lst", T(PROTO_ITYPE_JA3), NULL, sur_b64_record, NULL, false, false},
    {"certs.lst", T(PROTO_ITYPE_X509_SHA1), NULL, sur_cert_record, NULL, false, false},
    {"ports.rules", T(PROTO_ITYPE_IP_DST_PORT) | T(PROTO_ITYPE_IP_SRC_PORT), NULL, sur_port_record,
     NULL, false, false},
    {"shared.rules", T(PROTO_ITYPE_SNORT) | T(PROTO_ITYPE_SURICATA), NULL, sur_shared_rule, NULL,
     false, false},
    {"tlpmesh.rules", 0, sur_rules_header, NULL, NULL, false, false},
};
static const struct file_def f_iprep[] = {
    {"categories.txt", 0, iprep_categories, NULL, NULL, false, false},
    {"reputation.list", IP_TYPES, NULL, iprep_record, NULL, false, false},
};

const struct format_def export_format_zeek = FILES(f_zeek);
const struct format_def export_format_text = FILES(f_text);
const struct format_def export_format_hosts = FILES(f_hosts);
const struct format_def export_format_csv = FILES(f_csv);
const struct format_def export_format_suricata = FILES(f_suricata);
const struct format_def export_format_iprep = FILES(f_iprep);
