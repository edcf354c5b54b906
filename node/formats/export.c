/* export.c - formats (contract in export.h; file layouts in interop.md §3 and §2).
 *
 * Every file of every format is one row of a table: which indicator types go into it and three
 * optional steps (header, one per admitted record, footer). export_write() runs the gate once per
 * record and calls the steps; headers that must know the whole set (STIX markings, the MISP
 * manifest's events) get it from a first summary pass over the same source.
 */
#include "node/formats/export.h"

#include <assert.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "node/formats/timefmt.h"

#define ALL_TYPES 0xffffffffu
#define T(x) (1u << (x))
#define IP_TYPES (T(PROTO_ITYPE_IP_SRC) | T(PROTO_ITYPE_IP_DST))
#define NAME_TYPES (T(PROTO_ITYPE_DOMAIN) | T(PROTO_ITYPE_HOSTNAME))
#define EMAIL_TYPES (T(PROTO_ITYPE_EMAIL_SRC) | T(PROTO_ITYPE_EMAIL_DST))
#define UUID_TEXT EXPORT_UUID_TEXT
#define B64_BYTES (sodium_base64_ENCODED_LEN(LIMIT_VALUE_BYTES, sodium_base64_VARIANT_ORIGINAL))

static const char *const format_names[EXPORT_FORMAT_COUNT] = {
    [EXPORT_FMT_ZEEK] = "zeek",   [EXPORT_FMT_SURICATA] = "suricata",
    [EXPORT_FMT_SURICATA_IPREP] = "suricata-iprep", [EXPORT_FMT_CSV] = "csv",
    [EXPORT_FMT_HOSTS] = "hosts", [EXPORT_FMT_STIX] = "stix",
    [EXPORT_FMT_MISP_FEED] = "misp-feed", [EXPORT_FMT_TEXT] = "text",
};

const char *export_strerror(int err)
{
    switch (err) {
    case EXPORT_OK: return "ok";
    EXPORT_ERRORS(ERRORS_CASE)
    default: return "unknown export error";
    }
}

int export_format_parse(const char *name)
{
    for (int i = 0; i < EXPORT_FORMAT_COUNT; i++)
        if (strcmp(name, format_names[i]) == 0)
            return i;
    return -1;
}

const char *export_format_name(int format)
{
    return format >= 0 && format < EXPORT_FORMAT_COUNT ? format_names[format] : "?";
}

bool export_format_is_dir(int format)
{
    return format == EXPORT_FMT_SURICATA || format == EXPORT_FMT_SURICATA_IPREP ||
           format == EXPORT_FMT_MISP_FEED;
}

void export_stats_init(struct export_stats *st)
{
    st->records = 0;
    st->next_expiry_ms = UINT64_MAX;
}

/* ---- small encoders ---- */

/* RFC 4122 text of 16 bytes with version 5 and the RFC variant (STIX ids require both). */
static void uuid_text(const uint8_t in[16], char out[UUID_TEXT]);

void export_record_uuid(const uint8_t id[LIMIT_ID_BYTES], char out[EXPORT_UUID_TEXT])
{
    uuid_text(id, out);
}

void export_identity_uuid(const uint8_t key[LIMIT_KEY_BYTES], char out[EXPORT_UUID_TEXT])
{
    export_uuid_derive("tlpmesh-identity", key, LIMIT_KEY_BYTES, out);
}

static void uuid_text(const uint8_t in[16], char out[UUID_TEXT])
{
    uint8_t b[16];
    memcpy(b, in, sizeof b);
    b[6] = (uint8_t)((b[6] & 0x0f) | 0x50);
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
    char hex[33];
    sodium_bin2hex(hex, sizeof hex, b, sizeof b);
    snprintf(out, UUID_TEXT, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16,
             hex + 20);
}

/* UUID of something that is not a record: BLAKE2b-256(label || data), shaped as above. */
void export_uuid_derive(const char *label, const uint8_t *data, size_t len,
                        char out[EXPORT_UUID_TEXT])
{
    crypto_generichash_state h;
    uint8_t d[32];
    crypto_generichash_init(&h, NULL, 0, sizeof d);
    crypto_generichash_update(&h, (const uint8_t *)label, strlen(label));
    crypto_generichash_update(&h, data, len);
    crypto_generichash_final(&h, d, sizeof d);
    uuid_text(d, out);
}

/* ---- MD5 (RFC 1321), only for MISP's hashes.csv: libsodium has none ---- */

struct md5 {
    uint32_t s[4];
};

static uint32_t rol32(uint32_t x, unsigned n)
{
    return (x << n) | (x >> (32 - n));
}

static void md5_block(struct md5 *m, const uint8_t blk[64])
{
    static const uint8_t r[64] = {7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22,
                                  5, 9,  14, 20, 5, 9,  14, 20, 5, 9,  14, 20, 5, 9,  14, 20,
                                  4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23,
                                  6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21};
    static uint32_t k[64];
    static bool k_ready;
    if (!k_ready) { /* k[i] = floor(2^32 * |sin(i + 1)|), tabulated once from the RFC table */
        static const uint32_t t[64] = {
            0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613,
            0xfd469501, 0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193,
            0xa679438e, 0x49b40821, 0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d,
            0x02441453, 0xd8a1e681, 0xe7d3fbc8, 0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed,
            0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a, 0xfffa3942, 0x8771f681, 0x6d9d6122,
            0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70, 0x289b7ec6, 0xeaa127fa,
            0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665, 0xf4292244,
            0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
            0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb,
            0xeb86d391};
        memcpy(k, t, sizeof k);
        k_ready = true;
    }
    uint32_t w[16];
    for (unsigned i = 0; i < 16; i++)
        w[i] = (uint32_t)blk[4 * i] | (uint32_t)blk[4 * i + 1] << 8 |
               (uint32_t)blk[4 * i + 2] << 16 | (uint32_t)blk[4 * i + 3] << 24;
    uint32_t a = m->s[0], b = m->s[1], c = m->s[2], d = m->s[3];
    for (unsigned i = 0; i < 64; i++) {
        uint32_t f;
        unsigned g;
        if (i < 16) {
            f = (b & c) | (~b & d);
            g = i;
        } else if (i < 32) {
            f = (d & b) | (~d & c);
            g = (5 * i + 1) % 16;
        } else if (i < 48) {
            f = b ^ c ^ d;
            g = (3 * i + 5) % 16;
        } else {
            f = c ^ (b | ~d);
            g = (7 * i) % 16;
        }
        const uint32_t tmp = d;
        d = c;
        c = b;
        b = b + rol32(a + f + k[i] + w[g], r[i]);
        a = tmp;
    }
    m->s[0] += a;
    m->s[1] += b;
    m->s[2] += c;
    m->s[3] += d;
}

/* Lower-case hex MD5 of s (values are at most LIMIT_VALUE_BYTES). */
static void md5_hex(const char *s, char out[33])
{
    const size_t len = strlen(s);
    assert(len <= LIMIT_VALUE_BYTES);
    struct md5 m = {{0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476}};
    size_t off = 0;
    for (; len - off >= 64; off += 64)
        md5_block(&m, (const uint8_t *)s + off);
    uint8_t tail[128] = {0};
    const size_t rest = len - off;
    memcpy(tail, s + off, rest);
    tail[rest] = 0x80;
    const size_t tlen = rest < 56 ? 64 : 128;
    const uint64_t bits = (uint64_t)len * 8;
    for (unsigned i = 0; i < 8; i++)
        tail[tlen - 8 + i] = (uint8_t)(bits >> (8 * i));
    for (size_t o = 0; o < tlen; o += 64)
        md5_block(&m, tail + o);
    uint8_t dig[16];
    for (unsigned i = 0; i < 16; i++)
        dig[i] = (uint8_t)(m.s[i / 4] >> (8 * (i % 4)));
    sodium_bin2hex(out, 33, dig, sizeof dig);
}

/* ---- the walk: gate, filter, steps ---- */

struct walk;

struct file_def {
    const char *name;  /* NULL: the single file; "@event": one MISP event per TLP level */
    uint32_t types;    /* indicator types that go into this file */
    int (*header)(struct walk *w);
    int (*record)(struct walk *w, const uint8_t id[LIMIT_ID_BYTES], const struct proto_record *r);
    int (*footer)(struct walk *w);
    bool summary;      /* header needs the summary pass */
};

struct walk {
    const struct export_job *job;
    const struct file_def *def;
    struct gate_peer peer;
    FILE *out;
    int err;
    uint64_t written;       /* records written to this file */
    uint64_t objects;       /* JSON objects written to this file (for the separators) */
    uint64_t next_expiry_ms;
    int level;              /* a MISP event file's TLP level: only its records; -1: every level */
    /* summary pass */
    unsigned tlp_used;      /* bit per TLP level among admitted records */
    char uuid[UUID_TEXT];   /* N's derived id: STIX identity, MISP Orgc */
};

/* The export's receiver: N's own organisation, limited by the export's ceiling. */
static void export_peer(const struct export_job *job, struct gate_peer *p)
{
    memset(p, 0, sizeof *p);
    p->authenticated = true;
    memcpy(p->key, job->self.key, LIMIT_KEY_BYTES);
    memcpy(p->org, job->self.org, sizeof p->org);
    p->relation = GATE_RELATION_PARTNER;
    p->ceiling = job->max_tlp;
    p->n_communities = job->self.n_communities;
    memcpy(p->communities, job->self.communities, sizeof p->communities);
}

static bool admitted(const struct export_job *job, const struct gate_peer *p,
                     const struct proto_record *r, bool revoked)
{
    if (r->kind != PROTO_KIND_INDICATOR || r->u.ind.type >= 32)
        return false;
    if (job->types != 0 && (job->types & T(r->u.ind.type)) == 0)
        return false;
    if (r->created_ms < job->since_ms)
        return false;
    const struct gate_record_state st = {.revoked = revoked};
    return gate_check(&job->self, p, r, &st, job->now_ms) == GATE_ALLOW;
}

bool export_admits(const struct export_job *job, const struct proto_record *r, bool revoked)
{
    struct gate_peer p;
    export_peer(job, &p);
    return admitted(job, &p, r, revoked);
}

/* Does r go into the file being walked? */
static bool in_file(const struct walk *w, const struct proto_record *r, bool revoked)
{
    return admitted(w->job, &w->peer, r, revoked) && (w->def->types & T(r->u.ind.type)) != 0 &&
           (w->level < 0 || r->tlp == w->level);
}

static int summary_cb(const uint8_t id[LIMIT_ID_BYTES], const struct proto_record *r,
                      bool revoked, void *ctx)
{
    (void)id;
    struct walk *w = ctx;
    if (in_file(w, r, revoked))
        w->tlp_used |= 1u << r->tlp;
    return 0;
}

static int record_cb(const uint8_t id[LIMIT_ID_BYTES], const struct proto_record *r, bool revoked,
                     void *ctx)
{
    struct walk *w = ctx;
    if (!in_file(w, r, revoked))
        return 0;
    const int rc = w->def->record(w, id, r);
    if (rc < 0) {
        w->err = rc;
        return 1;
    }
    if (rc == 0)
        return 0; /* the format has no line for this value (a CIDR in an address dataset) */
    w->written++;
    if (r->u.ind.valid_until_ms < w->next_expiry_ms)
        w->next_expiry_ms = r->u.ind.valid_until_ms;
    return 0;
}

/* Runs the source over cb; maps its own errors to EXPORT_E_SOURCE. */
static int walk_source(struct walk *w, export_record_cb cb)
{
    const int rc = w->job->src.each(w->job->src.src, cb, w);
    if (w->err)
        return w->err;
    return rc < 0 ? EXPORT_E_SOURCE : EXPORT_OK;
}

/* ---- shared line helpers ---- */

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
    default: return "Intel::FILE_HASH";
    }
}

/* MISP's default category of each type. */
static const char *misp_category(int itype)
{
    switch (itype) {
    case PROTO_ITYPE_IP_SRC:
    case PROTO_ITYPE_IP_DST:
    case PROTO_ITYPE_DOMAIN:
    case PROTO_ITYPE_HOSTNAME:
    case PROTO_ITYPE_URL:
    case PROTO_ITYPE_EMAIL_DST: return "Network activity";
    default: return "Payload delivery";
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

static void tlp_tag(int tlp, char out[32])
{
    snprintf(out, 32, "tlp:%s", proto_tlp_name(tlp));
}

/* The MISP event of N's records at one TLP level: stable per (N's key, level), so a re-export
 * updates the same event in MISP. */
static void misp_event_uuid(const struct export_job *job, int tlp, char out[UUID_TEXT])
{
    assert(proto_tlp_valid(tlp));
    uint8_t seed[LIMIT_KEY_BYTES + 1];
    memcpy(seed, job->self.key, LIMIT_KEY_BYTES);
    seed[LIMIT_KEY_BYTES] = (uint8_t)tlp;
    export_uuid_derive("tlpmesh-misp-event", seed, sizeof seed, out);
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
          "object_uuid,object_name,object_meta_category\n",
          w->out);
    return EXPORT_OK;
}

/* "tlp:amber,tag1,tag2": MISP's attribute_tag column. */
static void tag_list(const struct proto_record *r, char *out, size_t cap)
{
    char tlp[32];
    tlp_tag(r->tlp, tlp);
    size_t n = (size_t)snprintf(out, cap, "%s", tlp);
    for (size_t i = 0; i < r->u.ind.n_tags && n < cap; i++)
        n += (size_t)snprintf(out + n, cap - n, ",%s", r->u.ind.tags[i]);
}

static int csv_record(struct walk *w, const uint8_t id[LIMIT_ID_BYTES],
                      const struct proto_record *r)
{
    const struct proto_indicator *in = &r->u.ind;
    char uuid[UUID_TEXT], event[UUID_TEXT], date[24], tags[32 + LIMIT_TAGS * (LIMIT_TAG_BYTES + 1)];
    uuid_text(id, uuid);
    misp_event_uuid(w->job, r->tlp, event); /* the misp-feed event that holds this record */
    snprintf(date, sizeof date, "%" PRIu64, r->created_ms / 1000);
    tag_list(r, tags, sizeof tags);
    csv_field(w->out, uuid, false);
    csv_field(w->out, event, false);
    csv_field(w->out, misp_category(in->type), false);
    csv_field(w->out, proto_itype_name(in->type), false);
    csv_field(w->out, in->value, false);
    csv_field(w->out, in->comment, false);
    csv_field(w->out, "1", false);
    csv_field(w->out, date, false);
    for (int i = 0; i < 4; i++)
        csv_field(w->out, i == 0 ? "" : i == 1 ? tags : "", false);
    csv_field(w->out, "", true);
    return 1;
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
    return strchr(r->u.ind.value, '/') ? 0 : text_record(w, id, r);
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
        "filesha256:sha256.lst; sid:9740009; rev:1;)\n";
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

/* ---- JSON objects (STIX, MISP) written one per line, so memory does not grow with the set ---- */

/* Writes o (consumed) after a separator when it is not the first object of its list. */
static int put_json(struct walk *w, json_t *o)
{
    if (!o)
        return EXPORT_E_NOMEM;
    fputs(w->objects++ > 0 ? ",\n" : "\n", w->out);
    const int rc = json_dumpf(o, w->out, JSON_COMPACT | JSON_ENSURE_ASCII);
    json_decref(o);
    return rc == 0 ? EXPORT_OK : EXPORT_E_IO;
}

static json_t *json_time(uint64_t ms)
{
    char t[TIMEFMT_RFC3339_LEN + 1];
    timefmt_format(ms, t);
    return json_string(t);
}

static json_t *json_prefixed(const char *prefix, const char *uuid)
{
    char s[32 + UUID_TEXT];
    snprintf(s, sizeof s, "%s--%s", prefix, uuid);
    return json_string(s);
}

static const char *self_name(const struct gate_self *self)
{
    return self->org[0] ? self->org : "tlpmesh node";
}

static const char *org_name(const struct export_job *j)
{
    return self_name(&j->self);
}

/* ---- stix ---- */

json_t *export_stix_identity(const struct gate_self *self, uint64_t created_ms)
{
    char b64[LIMIT_PUBKEY_B64_LEN + 1], desc[32 + LIMIT_PUBKEY_B64_LEN], uuid[UUID_TEXT];
    sodium_bin2base64(b64, sizeof b64, self->key, LIMIT_KEY_BYTES,
                      sodium_base64_VARIANT_ORIGINAL);
    snprintf(desc, sizeof desc, "tlpmesh node %s", b64);
    export_identity_uuid(self->key, uuid);
    json_t *o = json_object();
    json_object_set_new(o, "type", json_string("identity"));
    json_object_set_new(o, "spec_version", json_string("2.1"));
    json_object_set_new(o, "id", json_prefixed("identity", uuid));
    json_object_set_new(o, "created", json_time(created_ms));
    json_object_set_new(o, "modified", json_time(created_ms));
    json_object_set_new(o, "name", json_string(self_name(self)));
    json_object_set_new(o, "description", json_string(desc));
    json_object_set_new(o, "identity_class", json_string("organization"));
    return o;
}

static int stix_header(struct walk *w)
{
    const struct export_job *j = w->job;
    uint8_t seed[LIMIT_KEY_BYTES + 8];
    memcpy(seed, j->self.key, LIMIT_KEY_BYTES);
    for (unsigned i = 0; i < 8; i++)
        seed[LIMIT_KEY_BYTES + i] = (uint8_t)(j->now_ms >> (56 - 8 * i));
    char bundle[UUID_TEXT];
    export_uuid_derive("tlpmesh-stix-bundle", seed, sizeof seed, bundle);
    fprintf(w->out, "{\"type\":\"bundle\",\"id\":\"bundle--%s\",\"objects\":[", bundle);
    int rc = put_json(w, export_stix_identity(&j->self, j->now_ms));
    for (int t = PROTO_TLP_CLEAR; t <= PROTO_TLP_RED && rc == EXPORT_OK; t++)
        if (w->tlp_used & (1u << t))
            rc = put_json(w, stixmap_marking_object(t, j->stix_tlp));
    return rc;
}

static json_t *stix_indicator(const struct gate_self *self, enum stixmap_tlp_version v,
                              const uint8_t id[LIMIT_ID_BYTES], const struct proto_record *r,
                              const char *pattern)
{
    const struct proto_indicator *in = &r->u.ind;
    char uuid[UUID_TEXT], identity[UUID_TEXT];
    uuid_text(id, uuid);
    export_identity_uuid(self->key, identity);
    json_t *o = json_object();
    json_object_set_new(o, "type", json_string("indicator"));
    json_object_set_new(o, "spec_version", json_string("2.1"));
    json_object_set_new(o, "id", json_prefixed("indicator", uuid));
    json_object_set_new(o, "created_by_ref", json_prefixed("identity", identity));
    json_object_set_new(o, "created", json_time(r->created_ms));
    json_object_set_new(o, "modified", json_time(r->created_ms));
    json_object_set_new(o, "name", json_string(in->value));
    if (in->comment[0])
        json_object_set_new(o, "description", json_string(in->comment));
    json_object_set_new(o, "pattern", json_string(pattern));
    json_object_set_new(o, "pattern_type", json_string("stix"));
    json_object_set_new(o, "pattern_version", json_string("2.1"));
    json_object_set_new(o, "valid_from", json_time(r->created_ms));
    if (in->valid_until_ms > r->created_ms) /* STIX requires valid_until > valid_from */
        json_object_set_new(o, "valid_until", json_time(in->valid_until_ms));
    json_object_set_new(o, "confidence", json_integer(in->confidence));
    if (in->n_tags > 0) {
        json_t *labels = json_array();
        for (size_t i = 0; i < in->n_tags; i++)
            json_array_append_new(labels, json_string(in->tags[i]));
        json_object_set_new(o, "labels", labels);
    }
    json_t *marks = json_array();
    json_array_append_new(marks, json_string(stixmap_marking_id(r->tlp, v)));
    json_object_set_new(o, "object_marking_refs", marks);
    return o;
}

static int stix_record(struct walk *w, const uint8_t id[LIMIT_ID_BYTES],
                       const struct proto_record *r)
{
    bool unmapped = false;
    json_t *o = export_stix_indicator(&w->job->self, w->job->stix_tlp, id, r, &unmapped);
    if (unmapped)
        return 0; /* no STIX path for this type: left out rather than guessed */
    const int rc = put_json(w, o);
    return rc == EXPORT_OK ? 1 : rc;
}

json_t *export_stix_indicator(const struct gate_self *self, enum stixmap_tlp_version v,
                              const uint8_t id[LIMIT_ID_BYTES], const struct proto_record *r,
                              bool *unmapped)
{
    assert(self != NULL && r != NULL && r->kind == PROTO_KIND_INDICATOR && unmapped != NULL);
    char pattern[2 * LIMIT_VALUE_BYTES + 128];
    *unmapped = stixmap_pattern_build(r->u.ind.type, r->u.ind.value, pattern, sizeof pattern) < 0;
    return *unmapped ? NULL : stix_indicator(self, v, id, r, pattern);
}

static int json_footer(struct walk *w)
{
    fputs("\n]}\n", w->out);
    return EXPORT_OK;
}

/* ---- misp-feed: one event per TLP level, from N's organisation ----
 *
 * MISP (and import.c) read an attribute's TLP as the more restrictive of its event's and its own
 * tlp: tag, so an event that mixed levels would raise every attribute to the event's highest.
 * One event per level, tagged with exactly that level, keeps every attribute's TLP. */

static json_t *misp_orgc(const struct walk *w)
{
    return json_pack("{s:s, s:s}", "name", org_name(w->job), "uuid", w->uuid);
}

static json_t *misp_event_tags(int tlp)
{
    char tag[32];
    tlp_tag(tlp, tag);
    return json_pack("[{s:s}]", "name", tag);
}

static void misp_info(const struct export_job *j, int tlp, char out[LIMIT_NAME_BYTES + 48])
{
    snprintf(out, LIMIT_NAME_BYTES + 48, "tlpmesh export from %s, tlp:%s", org_name(j),
             proto_tlp_name(tlp));
}

static void misp_date(uint64_t ms, char out[11])
{
    char t[TIMEFMT_RFC3339_LEN + 1];
    timefmt_format(ms, t);
    memcpy(out, t, 10);
    out[10] = '\0';
}

static int misp_event_header(struct walk *w)
{
    const struct export_job *j = w->job;
    assert(w->level >= 0);
    char date[11], ts[24], info[LIMIT_NAME_BYTES + 48], event[UUID_TEXT];
    misp_date(j->now_ms, date);
    snprintf(ts, sizeof ts, "%" PRIu64, j->now_ms / 1000);
    misp_info(j, w->level, info);
    misp_event_uuid(j, w->level, event);
    json_t *orgc = misp_orgc(w), *tags = misp_event_tags(w->level);
    char *o = json_dumps(orgc, JSON_COMPACT | JSON_ENSURE_ASCII);
    char *t = json_dumps(tags, JSON_COMPACT | JSON_ENSURE_ASCII);
    json_t *pre = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:s}", "uuid", event,
                            "info", info, "date", date, "timestamp", ts,
                            "publish_timestamp", ts, "analysis", "2", "threat_level_id", "4",
                            "published", 1, "distribution", "0");
    char *p = pre ? json_dumps(pre, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
    int rc = EXPORT_E_NOMEM;
    if (o && t && p) {
        /* the fixed members, then Orgc and Tag, then the attribute list the records fill */
        p[strlen(p) - 1] = '\0';
        fprintf(w->out, "{\"Event\":%s,\"Orgc\":%s,\"Tag\":%s,\"Attribute\":[", p, o, t);
        rc = EXPORT_OK;
    }
    free(o);
    free(t);
    free(p);
    json_decref(orgc);
    json_decref(tags);
    json_decref(pre);
    return rc;
}

static int misp_attribute(struct walk *w, const uint8_t id[LIMIT_ID_BYTES],
                          const struct proto_record *r)
{
    const struct proto_indicator *in = &r->u.ind;
    char uuid[UUID_TEXT], ts[24], tag[32];
    uuid_text(id, uuid);
    snprintf(ts, sizeof ts, "%" PRIu64, r->created_ms / 1000);
    tlp_tag(r->tlp, tag);
    json_t *tags = json_array();
    json_array_append_new(tags, json_pack("{s:s}", "name", tag));
    for (size_t i = 0; i < in->n_tags; i++)
        json_array_append_new(tags, json_pack("{s:s}", "name", in->tags[i]));
    json_t *a = json_pack("{s:s, s:s, s:s, s:s, s:s, s:b, s:s, s:s, s:o}", "uuid", uuid, "type",
                          proto_itype_name(in->type), "category", misp_category(in->type),
                          "value", in->value, "comment", in->comment, "to_ids", 1, "timestamp",
                          ts, "distribution", "5", "Tag", tags);
    const int rc = put_json(w, a);
    return rc == EXPORT_OK ? 1 : rc;
}

static int misp_event_footer(struct walk *w)
{
    fputs("\n]}}\n", w->out);
    return EXPORT_OK;
}

static int misp_hashes_record(struct walk *w, const uint8_t id[LIMIT_ID_BYTES],
                              const struct proto_record *r)
{
    (void)id;
    char h[33], event[UUID_TEXT];
    md5_hex(r->u.ind.value, h);
    misp_event_uuid(w->job, r->tlp, event);
    fprintf(w->out, "%s,%s\n", h, event);
    return 1;
}

/* Lists the events that hold records; the empty events (dir_files) are left out, or MISP would
 * create them. */
static int misp_manifest(struct walk *w)
{
    const struct export_job *j = w->job;
    char date[11], ts[24];
    misp_date(j->now_ms, date);
    snprintf(ts, sizeof ts, "%" PRIu64, j->now_ms / 1000);
    json_t *m = json_object();
    for (int t = PROTO_TLP_CLEAR; t <= PROTO_TLP_RED && m; t++) {
        if ((w->tlp_used & (1u << t)) == 0)
            continue;
        char info[LIMIT_NAME_BYTES + 48], event[UUID_TEXT];
        misp_info(j, t, info);
        misp_event_uuid(j, t, event);
        json_t *e = json_pack("{s:o, s:o, s:s, s:s, s:s, s:s, s:s}", "Orgc", misp_orgc(w), "Tag",
                              misp_event_tags(t), "info", info, "date", date, "analysis", "2",
                              "threat_level_id", "4", "timestamp", ts);
        if (!e || json_object_set_new(m, event, e) != 0) {
            json_decref(m);
            m = NULL;
        }
    }
    if (!m)
        return EXPORT_E_NOMEM;
    const int rc = json_dumpf(m, w->out, JSON_COMPACT | JSON_ENSURE_ASCII);
    json_decref(m);
    fputc('\n', w->out);
    return rc == 0 ? EXPORT_OK : EXPORT_E_IO;
}

/* ---- the tables ---- */

#define EVENT_FILE "@event"

static const struct file_def f_zeek[] = {{NULL, ALL_TYPES, zeek_header, zeek_record, NULL, false}};
static const struct file_def f_text[] = {{NULL, ALL_TYPES, NULL, text_record, NULL, false}};
static const struct file_def f_hosts[] = {{NULL, NAME_TYPES, hosts_header, hosts_record, NULL,
                                           false}};
static const struct file_def f_csv[] = {{NULL, ALL_TYPES, csv_header, csv_record, NULL, false}};
static const struct file_def f_stix[] = {{NULL, ALL_TYPES, stix_header, stix_record, json_footer,
                                          true}};
static const struct file_def f_suricata[] = {
    {"ip.lst", IP_TYPES, NULL, sur_ip_record, NULL, false},
    {"domains.lst", NAME_TYPES, NULL, sur_b64_record, NULL, false},
    {"urls.lst", T(PROTO_ITYPE_URL), NULL, sur_b64_record, NULL, false},
    {"emails.lst", EMAIL_TYPES, NULL, sur_b64_record, NULL, false},
    {"filenames.lst", T(PROTO_ITYPE_FILENAME), NULL, sur_b64_record, NULL, false},
    {"md5.lst", T(PROTO_ITYPE_MD5), NULL, text_record, NULL, false},
    {"sha1.lst", T(PROTO_ITYPE_SHA1), NULL, text_record, NULL, false},
    {"sha256.lst", T(PROTO_ITYPE_SHA256), NULL, text_record, NULL, false},
    {"tlpmesh.rules", 0, sur_rules_header, NULL, NULL, false},
};
static const struct file_def f_iprep[] = {
    {"categories.txt", 0, iprep_categories, NULL, NULL, false},
    {"reputation.list", IP_TYPES, NULL, iprep_record, NULL, false},
};
static const struct file_def f_misp[] = {
    {EVENT_FILE, ALL_TYPES, misp_event_header, misp_attribute, misp_event_footer, false},
    {"hashes.csv", ALL_TYPES, NULL, misp_hashes_record, NULL, false},
    {"manifest.json", ALL_TYPES, NULL, NULL, misp_manifest, true},
};

struct format_def {
    const struct file_def *files;
    size_t n;
};

#define FILES(a) {a, sizeof a / sizeof a[0]}
static const struct format_def formats[EXPORT_FORMAT_COUNT] = {
    [EXPORT_FMT_ZEEK] = FILES(f_zeek),         [EXPORT_FMT_SURICATA] = FILES(f_suricata),
    [EXPORT_FMT_SURICATA_IPREP] = FILES(f_iprep), [EXPORT_FMT_CSV] = FILES(f_csv),
    [EXPORT_FMT_HOSTS] = FILES(f_hosts),       [EXPORT_FMT_STIX] = FILES(f_stix),
    [EXPORT_FMT_MISP_FEED] = FILES(f_misp),    [EXPORT_FMT_TEXT] = FILES(f_text),
};

/* One file of a directory format; an "@event" row becomes one file per level. */
struct dir_file {
    const struct file_def *def;
    int level; /* the MISP event's TLP level; -1 for every other file */
    char name[LIMIT_EXPORT_FILE_NAME_BYTES];
};

/* The files of job's directory format in writing order. A MISP event file is written for every
 * level, not only those that hold records: the names depend on the format alone, and an export
 * empties the file of a level that has none now (records revoked or expired, a lower --max-tlp
 * than the last export into the same directory), so no file keeps records that left the export. */
static size_t dir_files(const struct export_job *job, struct dir_file out[LIMIT_EXPORT_FILES])
{
    assert(export_format_is_dir(job->format));
    const struct format_def *fd = &formats[job->format];
    size_t n = 0;
    for (size_t i = 0; i < fd->n; i++) {
        const bool event = strcmp(fd->files[i].name, EVENT_FILE) == 0;
        const int first = event ? PROTO_TLP_CLEAR : -1, last = event ? PROTO_TLP_RED : -1;
        for (int t = first; t <= last; t++) {
            assert(n < LIMIT_EXPORT_FILES);
            out[n] = (struct dir_file){.def = &fd->files[i], .level = t};
            if (event) {
                char uuid[UUID_TEXT];
                misp_event_uuid(job, t, uuid);
                snprintf(out[n].name, LIMIT_EXPORT_FILE_NAME_BYTES, "%s.json", uuid);
            } else {
                snprintf(out[n].name, LIMIT_EXPORT_FILE_NAME_BYTES, "%s", fd->files[i].name);
            }
            n++;
        }
    }
    return n;
}

size_t export_file_names(const struct export_job *job,
                         char names[LIMIT_EXPORT_FILES][LIMIT_EXPORT_FILE_NAME_BYTES])
{
    if (job->format < 0 || job->format >= EXPORT_FORMAT_COUNT || !export_format_is_dir(job->format))
        return 0;
    struct dir_file files[LIMIT_EXPORT_FILES];
    const size_t n = dir_files(job, files);
    for (size_t i = 0; i < n; i++)
        memcpy(names[i], files[i].name, LIMIT_EXPORT_FILE_NAME_BYTES);
    return n;
}

/* Points w at the file of job's format called name (NULL for a single-file format); false when
 * the format has no such file. */
static bool find_file(const struct export_job *job, const char *name, struct walk *w)
{
    const struct format_def *fd = &formats[job->format];
    w->level = -1;
    if (!export_format_is_dir(job->format)) {
        w->def = name == NULL ? &fd->files[0] : NULL;
        return w->def != NULL;
    }
    struct dir_file files[LIMIT_EXPORT_FILES];
    const size_t n = name != NULL ? dir_files(job, files) : 0;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(files[i].name, name) == 0) {
            w->def = files[i].def;
            w->level = files[i].level;
            return true;
        }
    }
    return false;
}

int export_write(const struct export_job *job, const char *name, FILE *out,
                 struct export_stats *st)
{
    assert(job != NULL && out != NULL && job->src.each != NULL);
    if (job->format < 0 || job->format >= EXPORT_FORMAT_COUNT || !proto_tlp_valid(job->max_tlp))
        return EXPORT_E_INVAL;
    struct walk *w = calloc(1, sizeof *w);
    if (!w)
        return EXPORT_E_NOMEM;
    int rc = EXPORT_E_INVAL;
    w->job = job;
    w->out = out;
    w->next_expiry_ms = UINT64_MAX;
    export_peer(job, &w->peer);
    export_identity_uuid(job->self.key, w->uuid);
    if (!find_file(job, name, w))
        goto out;
    if (w->def->summary && (rc = walk_source(w, summary_cb)) != EXPORT_OK)
        goto out;
    if (w->def->header && (rc = w->def->header(w)) != EXPORT_OK)
        goto out;
    if (w->def->record && (rc = walk_source(w, record_cb)) != EXPORT_OK)
        goto out;
    if (w->def->footer && (rc = w->def->footer(w)) != EXPORT_OK)
        goto out;
    rc = fflush(out) == 0 && !ferror(out) ? EXPORT_OK : EXPORT_E_IO;
    if (rc == EXPORT_OK && st) {
        st->records += w->written;
        if (w->next_expiry_ms < st->next_expiry_ms)
            st->next_expiry_ms = w->next_expiry_ms;
    }
out:
    free(w);
    return rc;
}
