/* import.h - reading indicator files that SOC tools write: file -> list of candidates.
 *
 * Formats:
 *   IMPORT_MISP       one MISP event, {"Event": {...}} or the bare event object; attributes of
 *                     the event and of its objects (Event.Object[].Attribute[]).
 *   IMPORT_MISP_FEED  a MISP feed directory: manifest.json + <uuid>.json per event.
 *   IMPORT_STIX       a STIX 2.1 bundle (or a TAXII envelope {"objects": [...]}, or a single
 *                     object): indicator SDOs with pattern_type "stix" (stixmap.h subset), or
 *                     yara, sigma, snort, suricata (the pattern is the rule, byte for byte);
 *                     vulnerability SDOs with a CVE id (its "cve" external reference or name).
 *   IMPORT_CSV        one value per line in a chosen column (index from 1 or header name); the
 *                     type from opts.type or a "type" column; RFC 4180 quoting.
 *   IMPORT_TEXT       one value per line; '#' comments and blank lines skipped; opts.type.
 *
 * MISP types map onto ours as node/formats/mispmap.h says (one attribute may give two
 * candidates); a type that describes rather than detects (comment, text, link...) is skipped as
 * "not an indicator", one tlpmesh does not carry as "unsupported type".
 * A MISP attribute with "deleted": true (a revocation, as tlpmesh's own feed writes it) is
 * skipped as revoked in source, whatever its type.
 * to_ids false -> skipped ("not to_ids") unless opts.include_non_ids. The type check comes first:
 * an unsupported type or a non-indicator is reported as such whatever its to_ids.
 *
 * TLP, per candidate: MISP "tlp:" tags on the event and on the attribute, STIX object_marking_refs
 * (and granular_markings) resolved with stixmap.h (ids of all three sets, marking-definition
 * objects of the bundle); several markings -> the most restrictive. tlp = -1 when the source says
 * nothing (the CLI then applies --tlp). A "tlp:" tag we cannot place (tlp:unclear, tlp:ex:chr)
 * makes the candidate INVALID: a guess could leak it.
 *
 * Text carried over: the MISP attribute comment (prefixed with the event info: "INFO: comment"),
 * the STIX name/description; comments are cut to LIMIT_COMMENT_BYTES with " [truncated]"; control
 * characters other than tab and newline become spaces. Non-TLP tags of the event and attribute
 * (STIX labels) become record tags: attribute tags first, at most LIMIT_TAGS, each at most
 * LIMIT_TAG_BYTES (longer ones dropped).
 *
 * Every candidate of a supported type is normalised with proto_indicator_normalise: status
 * IMPORT_OK with the normal form in value, or IMPORT_INVALID with the raw value and the reason.
 *
 * Pure: reads files, never the store, the clock or the network. The list owns every string in
 * it (import_list_free releases them).
 */
#ifndef TLPMESH_NODE_IMPORT_H
#define TLPMESH_NODE_IMPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/errors.h"
#include "proto/limits.h"
#include "proto/record.h"

enum import_format {
    IMPORT_MISP,
    IMPORT_MISP_FEED,
    IMPORT_STIX,
    IMPORT_CSV,
    IMPORT_TEXT,
};

/* "misp", "misp-feed", "stix", "csv", "text" -> format, or -1. */
int import_format_parse(const char *name);

/* Error codes: X(name, value, message), range ERRORS_BASE_IMPORT in proto/errors.h; the
 * comments say when each happens. */
#define IMPORT_ERRORS(X)                                                                           \
    /* missing or unreadable file / directory */                                                   \
    X(IMPORT_E_IO, ERRORS_BASE_IMPORT - 0, "cannot read the input")                                \
    /* not JSON / CSV, or the wrong structure (reason with position) */                            \
    X(IMPORT_E_FORMAT, ERRORS_BASE_IMPORT - 1, "input is not in the expected format")              \
    /* over a LIMIT_IMPORT_* bound */                                                              \
    X(IMPORT_E_LIMIT, ERRORS_BASE_IMPORT - 2, "input is over a limit")                             \
    /* options that do not fit the format (no type for text...) */                                 \
    X(IMPORT_E_USAGE, ERRORS_BASE_IMPORT - 3, "options do not fit the format")                     \
    X(IMPORT_E_NOMEM, ERRORS_BASE_IMPORT - 4, "out of memory")

enum import_err {
    IMPORT_ERRORS(ERRORS_ENUM)
};

const char *import_strerror(int err);

enum import_status {
    IMPORT_OK = 0,            /* a normalised candidate */
    IMPORT_INVALID,           /* a supported type, but the value (or its TLP tag) is refused */
    IMPORT_SKIP_UNSUPPORTED,  /* a type or pattern we do not carry */
    IMPORT_SKIP_NOT_IDS,      /* MISP to_ids false */
    IMPORT_SKIP_REVOKED,      /* STIX revoked: true, MISP attribute deleted: true */
    IMPORT_SKIP_NOT_INDICATOR, /* a MISP comment, text, link...: describes, detects nothing */
    IMPORT_STATUS_COUNT
};

/* Short name of a status for summaries: "ok", "invalid", "unsupported type", "not to_ids",
 * "revoked in source", "not an indicator". */
const char *import_status_name(int status);

/* What a tlpmesh export says about the record a candidate came from (export.h "Provenance":
 * STIX indicator and MISP attribute "x_tlpmesh", the CSV columns origin_organisation, origin_key,
 * record_id, audience). The importer uses it to recognise a record it holds and never to widen
 * the audience its origin signed. A member that is present but malformed makes the candidate
 * INVALID (a guess could widen it). */
struct import_provenance {
    bool has_id, has_origin, has_audience;
    uint8_t record_id[LIMIT_ID_BYTES];
    uint8_t origin[LIMIT_KEY_BYTES];
    char origin_org[LIMIT_NAME_BYTES + 1];
    struct proto_audience audience; /* as the origin signed it (valid when has_audience) */
};

struct import_item {
    int status;      /* enum import_status */
    int itype;       /* enum proto_itype when OK or INVALID; -1 for skipped */
    int tlp;         /* enum proto_tlp from the source, -1 when it says nothing */
    uint64_t valid_until_ms; /* STIX valid_until; 0 when the source gives none */
    char *src_type;  /* the type as the source wrote it ("domain|ip", "ipv4-addr:value") */
    char *value;     /* OK: normalised; otherwise as in the source */
    char *comment;   /* NULL when none */
    char *why;       /* INVALID and skips: the reason; NULL for OK */
    char *where;     /* "FILE: Attribute 3" / "FILE:12" / "FILE: indicator--..." */
    char *tags[LIMIT_TAGS];
    size_t n_tags;
    struct import_provenance *prov; /* NULL when the source carries none */
};

struct import_list {
    struct import_item *items;
    size_t n, cap;
};

void import_list_init(struct import_list *l);
void import_list_free(struct import_list *l);

struct import_opts {
    enum import_format format;
    int itype;           /* --type: proto_itype, or -1 (CSV then needs a "type" column) */
    const char *column;  /* CSV: 1-based index or header name; NULL = 1 */
    bool include_non_ids;
};

/* Parses path (a file; a directory for IMPORT_MISP_FEED) and appends its candidates to out.
 * On error returns a negative import_err with a one-line reason "PATH: ..." (JSON errors with
 * line:column) in why, and out is left as it was. */
int import_path(const char *path, const struct import_opts *opts, struct import_list *out,
                char *why, size_t why_len);

/* The same for text already in memory; name stands for the file in reasons. Not for feeds. */
int import_buffer(const char *data, size_t len, const char *name, const struct import_opts *opts,
                  struct import_list *out, char *why, size_t why_len);

#endif
