/* export.h - records out to the formats SOC tools read (docs/SHARING.md "How each sending path uses the gate").
 *
 * Pure: records come from a caller-supplied iterator (struct export_source, re-runnable: a format
 * may walk the records more than once), bytes go to a caller-owned FILE *. No clock (the caller
 * passes now_ms), no store, no file creation: `tlpmesh export` (node/cli/cli_export.c) does the
 * atomic file handling around it.
 *
 * What appears: indicators only, never revoked or expired ones, and only those gate_check()
 * allows to an export peer that stands for N's own organisation: authenticated, N's key, N's
 * organisation and communities, relation partner, ceiling = job.max_tlp. So GREEN..AMBER+STRICT
 * appear up to the ceiling (same organisation), and RED appears only when the ceiling is red AND
 * N's own key is in the record's recipient list: being the origin is not enough, a RED record is
 * for the named recipients only and its origin named them.
 *
 * Formats and files (names are relative to the output directory for directory formats):
 *   zeek            one file: Zeek Intelligence Framework (#fields header, tab-separated): the
 *                   types Zeek has an intel type for (addresses, subnets, names, URLs, e-mail,
 *                   file names and hashes, CERT_HASH for x509 SHA-1 fingerprints, SOFTWARE for
 *                   user agents); the others are left out, counted by type (an x509 SHA-256
 *                   too: stock Zeek matches CERT_HASH against a certificate's SHA-1 only)
 *   suricata        directory: ip.lst (type ip), domains.lst, urls.lst, emails.lst, filenames.lst,
 *                   useragents.lst, ja3.lst, certs.lst (type string, base64; certs: the SHA-1
 *                   as tls.cert_fingerprint shows it, aa:bb:...), md5.lst, sha256.lst (hex
 *                   datasets), sha1.lst (the filesha1 keyword's list), ports.rules (a TCP and a
 *                   UDP rule per ip-dst|port / ip-src|port, sids from 9750001 in export order),
 *                   shared.rules (snort and suricata rules as published, one per line; a rule of
 *                   several lines is left out), tlpmesh.rules (sample rules that load the lists)
 *   suricata-iprep  directory: categories.txt, reputation.list (ip,category,score)
 *   csv             one file: MISP CSV export columns, every field quoted (RFC 4180), LF lines
 *   hosts           one file: "0.0.0.0 name" for domain and hostname
 *   stix            one file: STIX 2.1 bundle (identity, marking definitions, indicators with
 *                   the patterns of stixmap.h, rules with their pattern_type, CVE ids as
 *                   vulnerability objects)
 *   misp-feed       directory: one <event-uuid>.json per origin organisation and TLP level,
 *                   whose Orgc is that organisation, tagged with exactly that level and holding
 *                   that level's records of that organisation (MISP applies the more restrictive
 *                   of event and attribute TLP: a mixed event would raise them all): N's own
 *                   organisation's five always (an empty level's file is still written, so no
 *                   file keeps records that have left the export), another's for the levels it
 *                   has records at (the CLI removes the files of events an export no longer
 *                   writes); hashes.csv, manifest.json (only the events that hold records)
 *                   A revoked or expired record the gate would give the reader if it were
 *                   neither stays in its event as a deleted attribute ("deleted": true, to_ids
 *                   false, timestamp = the revocation's time via gone_at, or the expiry): MISP
 *                   updates a feed event by editing the attributes it receives and deletes
 *                   none that are absent, so a record that simply left would stay live there.
 *                   It is not in hashes.csv (MISP's cache and correlation of live values).
 *   text            one file: one normalised value per line (rules, which span lines, are left
 *                   out)
 * MISP type names and categories come from mispmap.h (a suricata rule is a MISP "snort" attribute,
 * MISP has one type for both, tagged tlpmesh:rule="suricata" so that an import reads it back).
 * Lines follow the store's order (created time, then id); a value published twice (two TLPs, two
 * origins) appears twice: every consumer above treats a repeat as one entry.
 *
 * Provenance in STIX: created_by_ref names the origin, not the exporter: an identity per origin
 * organisation (BLAKE2b-256("tlpmesh-identity-organisation" || name) shaped as below; per origin
 * key, named "unknown organisation (node KEY...)", when job.origin_org knows none), each written
 * once per bundle with the fixed created/modified EXPORT_IDENTITY_CREATED_MS.
 *
 * Deterministic ids: a record's STIX indicator / MISP attribute UUID is the first 16 bytes of its
 * record id (itself BLAKE2b-256) with the version nibble set to 5 and the RFC 4122 variant, so
 * every
 * node exporting the same record gives it the same UUID (name-based, "v5-shaped": BLAKE2b, not
 * SHA-1). N's STIX identity and MISP Orgc UUIDs are BLAKE2b-256(label || N's key) shaped the
 * same way, a MISP event's BLAKE2b-256(label || N's key || TLP level byte), so a re-export updates
 * the same events; the bundle id also covers now_ms.
 *
 * Provenance (so that an import recognises a record and never widens its audience, import.h):
 * every STIX indicator and MISP attribute carries "x_tlpmesh": {"record_id": 64 hex,
 * "origin_key": base64, "origin_organisation": text ("" when unknown), "communities": [...],
 * "recipients": [base64...]}, the record's signed audience; a CSV line the same in its last four
 * columns (origin_organisation, origin_key, record_id, audience = the same JSON object without
 * the first three members).
 *
 * Ownership: struct export_job is a caller-owned plain value; nothing here keeps a pointer after a
 * call returns.
 */
#ifndef TLPMESH_NODE_EXPORT_H
#define TLPMESH_NODE_EXPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "node/core/gate.h"
#include "node/formats/stixmap.h"
#include "proto/errors.h"
#include "proto/limits.h"
#include "proto/record.h"

enum export_format {
    EXPORT_FMT_ZEEK = 0,
    EXPORT_FMT_SURICATA,
    EXPORT_FMT_SURICATA_IPREP,
    EXPORT_FMT_CSV,
    EXPORT_FMT_HOSTS,
    EXPORT_FMT_STIX,
    EXPORT_FMT_MISP_FEED,
    EXPORT_FMT_TEXT,
};
#define EXPORT_FORMAT_COUNT 8

/* Error codes: X(name, value, message), range ERRORS_BASE_EXPORT in proto/errors.h; the
 * comments say when each happens. */
#define EXPORT_ERRORS(X)                                                                           \
    X(EXPORT_E_IO, ERRORS_BASE_EXPORT - 0, "write failed") /* writing to the FILE failed */        \
    /* out of memory building a JSON object */                                                     \
    X(EXPORT_E_NOMEM, ERRORS_BASE_EXPORT - 1, "out of memory")                                     \
    /* the record source reported an error */                                                      \
    X(EXPORT_E_SOURCE, ERRORS_BASE_EXPORT - 2, "reading the records failed")                       \
    /* bad job (format, ceiling) or a file name the format does not have */                        \
    X(EXPORT_E_INVAL, ERRORS_BASE_EXPORT - 3, "invalid export job")

enum export_err {
    EXPORT_OK = 0,
    EXPORT_ERRORS(ERRORS_ENUM)
};

const char *export_strerror(int err);

/* Format code for "zeek", "suricata", ... or -1. */
int export_format_parse(const char *name);
const char *export_format_name(int format);
/* True for the formats that write a directory of files. */
bool export_format_is_dir(int format);

/* Called once per stored record; return non-zero to stop. revoked: a revocation by the record's
 * own origin is stored. */
typedef int (*export_record_cb)(const uint8_t id[LIMIT_ID_BYTES], const struct proto_record *r,
                                bool revoked, void *ctx);

/* The records, in a stable order. each() returns 0 at the end, the callback's value when it
 * stopped, or a negative value on its own error. It may be called several times per export. */
struct export_source {
    int (*each)(void *src, export_record_cb cb, void *cb_ctx);
    void *src;
};

/* The organisation of an origin key, for provenance (config [Peer], trusted rosters); "" when
 * unknown. Static or caller storage, valid until the export call returns. */
typedef const char *(*export_org_fn)(void *ctx, const uint8_t key[LIMIT_KEY_BYTES]);

/* When the revoked record id (whose origin is r->origin) was revoked: the revocation's created_ms
 * into *ms, or 0 with *ms untouched when no revocation by its origin is stored (a record hidden
 * because its key was stolen); a negative error stops the export (EXPORT_E_SOURCE). */
typedef int (*export_gone_fn)(void *ctx, const uint8_t id[LIMIT_ID_BYTES],
                              const struct proto_record *r, uint64_t *ms);

struct export_job {
    int format;               /* enum export_format */
    struct gate_self self;    /* N: key, organisation, communities */
    uint8_t max_tlp;          /* the export's ceiling (enum proto_tlp) */
    enum stixmap_tlp_version stix_tlp; /* STIX marking ids: TLP 2.0 (default) or TLP 1.0 */
    uint64_t types;           /* bit (1ull << itype) per wanted type; 0 = every type */
    uint64_t since_ms;        /* only records created at or after this */
    uint64_t now_ms;
    struct export_source src;
    export_org_fn origin_org; /* NULL: N's own organisation for N's key, "" for other keys */
    void *origin_ctx;
    /* NULL: the export is gated for N's own organisation (above); else for this reader (the
     * [Client] of the live MISP feed, node/formats/mispfeed.h), max_tlp then unused */
    const struct gate_peer *reader;
    /* misp-feed: the time a revoked record left (its attribute's timestamp); NULL: now_ms */
    export_gone_fn gone_at;
    void *gone_ctx;
};

struct export_stats {
    uint64_t records;        /* records written (summed over calls), misp-feed's deleted too */
    uint64_t next_expiry_ms; /* earliest valid_until among them; UINT64_MAX when none */
    /* Admitted records the format cannot carry, so that the operator is told: by value (a CIDR
     * range in Suricata's ip dataset), one slot per reason (static text), and by type (no file
     * of the format takes it: export_left_out). */
    struct {
        const char *why;
        uint64_t n;
    } left[LIMIT_EXPORT_LEFT_REASONS];
    size_t n_left;
    uint64_t left_type[PROTO_ITYPE_END];
};

/* The files a directory format writes now, in the order to write them, into *names (malloc'ed,
 * the caller frees; NULL for a single-file format): a file that refers to others comes after
 * them (rules after lists, manifest after events). Every name depends on the format alone, but
 * for misp-feed the events of other origins' organisations that hold records (one pass over
 * the source), after N's five. Returns the count or a negative export_err. */
int export_dir_files(const struct export_job *job, char (**names)[LIMIT_EXPORT_FILE_NAME_BYTES]);

/* Writes one file of the export to out: name NULL for a single-file format, else one of
 * export_dir_files(). Adds to *st (may be NULL; initialise with export_stats_init). */
int export_write(const struct export_job *job, const char *name, FILE *out,
                 struct export_stats *st);

void export_stats_init(struct export_stats *st);

/* Counts into st->left_type the admitted records whose type no file of job's format takes
 * (hosts: anything but names; suricata: sha512...). One pass over the source. */
int export_left_out(const struct export_job *job, struct export_stats *st);

/* --- STIX building blocks shared with the TAXII server (node/formats/taxii.c) --- */

#define EXPORT_UUID_TEXT 37 /* 36 characters + NUL */

/* The STIX/MISP UUID of a record (see "Deterministic ids" above). */
void export_record_uuid(const uint8_t id[LIMIT_ID_BYTES], char out[EXPORT_UUID_TEXT]);

/* BLAKE2b-256(label || data) shaped as a version-5 UUID: ids of things that are not records. */
void export_uuid_derive(const char *label, const uint8_t *data, size_t len,
                        char out[EXPORT_UUID_TEXT]);

/* N's STIX identity UUID (the object's id is "identity--" + it). */
void export_identity_uuid(const uint8_t key[LIMIT_KEY_BYTES], char out[EXPORT_UUID_TEXT]);

/* created and modified of every origin identity in a STIX file export (2024-01-01T00:00:00Z):
 * STIX wants one id to keep one created, across exports and restarts, and an export has no
 * state to remember a first time in. */
#define EXPORT_IDENTITY_CREATED_MS 1704067200000ULL

/* N's STIX identity object, created and modified at created_ms; NULL when out of memory. */
json_t *export_stix_identity(const struct gate_self *self, uint64_t created_ms);

/* The STIX indicator object of indicator record r (with spec_version, created_by_ref = N's
 * identity, object_marking_refs = r's TLP in id set v; a rule's pattern_type its language). Sets
 * *unmapped and returns NULL when r's type has no STIX pattern (a CVE id is a vulnerability object
 * of the file export, not an indicator); NULL with *unmapped false means out of memory. The caller owns the
 * returned reference. Applies no gate: callers decide what may appear. */
json_t *export_stix_indicator(const struct gate_self *self, enum stixmap_tlp_version v,
                              const uint8_t id[LIMIT_ID_BYTES], const struct proto_record *r,
                              bool *unmapped);

/* The export's receiver as the gate sees it: *job->reader when set; else N's own organisation
 * (and key and communities), limited by the export's ceiling job->max_tlp. Needs job->self,
 * job->max_tlp and job->reader only. */
void export_receiver(const struct export_job *job, struct gate_peer *p);

/* Would record r (revoked or not) appear in this export at job->now_ms? */
bool export_admits(const struct export_job *job, const struct proto_record *r, bool revoked);

#endif
