/* export_int.h - what the parts of the export module share (export.h is the contract):
 *   export.c        jobs, stats, ids, the walk (gate, filters, origins), directory files,
 *                   export_write;
 *   export_lines.c  the line formats: zeek, text, hosts, csv, suricata, suricata-iprep;
 *   export_json.c   STIX bundles, MISP feeds (MD5 for hashes.csv), provenance objects.
 * A format is a table of files (struct format_def); export_write walks the records once per
 * file and calls the file's steps. One struct walk per export_write call, owned by it.
 */
#ifndef TLPMESH_NODE_EXPORT_INT_H
#define TLPMESH_NODE_EXPORT_INT_H

#include <jansson.h>

#include "node/formats/export.h"

#define ALL_TYPES UINT64_MAX
#define T(x) (1ull << (x))
_Static_assert(PROTO_ITYPE_END <= 64, "a type mask is a uint64_t");
#define IP_TYPES (T(PROTO_ITYPE_IP_SRC) | T(PROTO_ITYPE_IP_DST))
#define NAME_TYPES (T(PROTO_ITYPE_DOMAIN) | T(PROTO_ITYPE_HOSTNAME))
#define EMAIL_TYPES (T(PROTO_ITYPE_EMAIL_SRC) | T(PROTO_ITYPE_EMAIL_DST))
/* Rules span lines: no format of one value per line can hold them. */
#define RULE_TYPES                                                                                 \
    (T(PROTO_ITYPE_YARA) | T(PROTO_ITYPE_SIGMA) | T(PROTO_ITYPE_SNORT) | T(PROTO_ITYPE_SURICATA))
#define UUID_TEXT EXPORT_UUID_TEXT
#define B64_BYTES (sodium_base64_ENCODED_LEN(LIMIT_VALUE_BYTES, sodium_base64_VARIANT_ORIGINAL))
#define EVENT_FILE "@event" /* a file_def name: one MISP event file per origin and level */

struct walk;

struct file_def {
    const char *name;  /* NULL: the single file; "@event": one MISP event per TLP level */
    uint64_t types;    /* indicator types that go into this file */
    int (*header)(struct walk *w);
    int (*record)(struct walk *w, const uint8_t id[LIMIT_ID_BYTES], const struct proto_record *r);
    int (*footer)(struct walk *w);
    bool summary;      /* header needs the summary pass */
    bool deleted;      /* also takes revoked and expired records (misp-feed events, export.h) */
};

/* The STIX identity of an origin: one per organisation (two nodes of cert-a are one
 * creator), or per node key when its organisation is unknown. */
struct ident {
    char uuid[UUID_TEXT];
    char name[LIMIT_NAME_BYTES + 1];
    char key_b64[LIMIT_PUBKEY_B64_LEN + 1]; /* "" when the organisation is known */
    unsigned tlp_used;                      /* summary pass: bit per level of its records */
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
    const char *left_why;   /* set by a record step that has no line for its record */
    uint64_t gone_s;        /* the record step's record: 0 live, else when it was revoked or
                             * expired (UNIX seconds, after its created time): a deleted one */
    struct export_stats left; /* what this file left out (merged into the caller's on success) */
    /* summary pass */
    unsigned tlp_used;      /* bit per TLP level among admitted records */
    char uuid[UUID_TEXT];   /* N's derived id: MISP Orgc */
    struct ident *idents;   /* STIX, MISP: the origins' identities among admitted records */
    size_t n_idents, cap_idents;
    const struct ident *only; /* a MISP event file: only this origin's records; NULL: all */
    struct ident own, other;  /* what only points at: N's own organisation, another origin */
};

struct format_def {
    const struct file_def *files;
    size_t n;
};

#define FILES(a) {a, sizeof a / sizeof a[0]}

/* The tables: export_lines.c and export_json.c. */
extern const struct format_def export_format_zeek, export_format_text, export_format_hosts,
    export_format_csv, export_format_suricata, export_format_iprep, export_format_stix,
    export_format_misp;

/* RFC 4122 text of 16 bytes with version 5 and the RFC variant (STIX ids require both). */
void export_uuid_text(const uint8_t in[16], char out[UUID_TEXT]);

/* The organisation of an origin key (job.origin_org, or N's own for N's key); "" unknown. */
const char *export_origin_org(const struct export_job *j, const uint8_t key[LIMIT_KEY_BYTES]);

/* The identity of an origin (struct ident); is it N's own organisation (or N)? */
void export_ident_of(const struct export_job *j, const uint8_t key[LIMIT_KEY_BYTES],
                     struct ident *out);
bool export_is_own(const struct export_job *job, const struct ident *who);

/* "tlp:LEVEL". */
void export_tlp_tag(int tlp, char out[32]);

/* MISP event ids: N's own organisation's (per N's key and level), who's, the one holding r. */
void export_misp_event_uuid(const struct export_job *job, int tlp, char out[UUID_TEXT]);
void export_origin_event_uuid(const struct export_job *job, const struct ident *who, int tlp,
                              char out[UUID_TEXT]);
void export_record_event_uuid(const struct export_job *job, const struct proto_record *r,
                              char out[UUID_TEXT]);

/* {"communities": [...], "recipients": [...]}: a record's signed audience (new reference). */
json_t *export_audience_json(const struct proto_audience *a);

#endif
