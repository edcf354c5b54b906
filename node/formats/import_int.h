/* import_int.h - what the parts of the import module share (import.h is the contract):
 *   import.c        the list, candidates (normalise, comments, tags), MISP's type map, files,
 *                   MISP feeds, the entry points;
 *   import_json.c   MISP events (and restSearch output), STIX bundles, tlpmesh provenance;
 *   import_lines.c  CSV and plain text.
 * One parse owns one struct ctx; the first error sticks (import_fail) and the entry point then
 * drops what that parse appended. struct meta points into the parsed input: valid while it is.
 */
#ifndef TLPMESH_NODE_IMPORT_INT_H
#define TLPMESH_NODE_IMPORT_INT_H

#include <jansson.h>

#include "node/formats/import.h"

/* What every parser carries: where the output goes, the name for messages, the first error. */
struct ctx {
    struct import_list *out;
    const struct import_opts *opts;
    const char *name;
    char *why;
    size_t wl;
    int err;
};

/* Source-level facts shared by the candidates of one attribute or indicator. */
struct meta {
    int tlp;              /* -1: none */
    const char *bad_tlp;  /* a tlp: tag we cannot place */
    const char *prefix;   /* event info; NULL if none */
    const char *comment;  /* attribute comment / STIX description */
    const char *tags[LIMIT_TAGS];
    size_t n_tags;
    uint64_t valid_until_ms;
    const struct import_provenance *prov; /* NULL: the source carries none */
    const char *bad_prov;                 /* why the provenance it carries is refused */
};


/* Records the first error with "NAME: " and the reason; returns c->err (the first one). */
__attribute__((format(printf, 3, 4))) int import_fail(struct ctx *c, int err, const char *fmt,
                                                      ...);

/* Appends a skipped entry (unsupported, not to_ids, revoked): counted, never dropped silently. */
void import_add_skip(struct ctx *c, int status, const char *src_type, const char *value,
                     const char *why, const char *where);

/* Appends a candidate of type itype: normalised (OK) or refused with the reason (INVALID). */
void import_add_candidate(struct ctx *c, const char *src_type, int itype, const char *raw,
                          const struct meta *m, const char *where);

/* One MISP-typed value (MISP attribute, or a CSV line with a type) -> candidates (mispmap.h). */
void import_add_misp_value(struct ctx *c, const char *type, const char *value, bool to_ids,
                           const struct meta *m, const char *where);

/* The parsed JSON (new reference), or NULL with the error (line and column) recorded. */
json_t *import_load_json(struct ctx *c, const char *data, size_t len);

/* Points m at the provenance in x (an "x_tlpmesh" object; NULL: none), parsed into *p, or sets
 * m->bad_prov (import_json.c). */
void import_meta_prov(struct meta *m, const json_t *x, struct import_provenance *p);

void import_misp_event(struct ctx *c, const json_t *root);
void import_stix_bundle(struct ctx *c, json_t *root);
void import_csv_parse(struct ctx *c, const char *data, size_t len);
void import_text_parse(struct ctx *c, const char *data, size_t len);

#endif
