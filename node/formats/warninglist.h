/* warninglist.h - MISP warninglists: known-benign values that should not become indicators.
 *
 * A warninglist file is MISP's JSON (github.com/MISP/misp-warninglists, lists/<name>/list.json):
 *   {"name": "...", "type": "string|substring|hostname|cidr", "list": [...],
 *    "matching_attributes": ["ip-src", "domain|ip", ...], ...}
 * A missing "type" means "string". "regex" lists are refused (no regex engine in the node).
 *
 * Matching (values are the normalised indicator values of proto/indicator.h):
 *   string     the value equals an entry (case-insensitive);
 *   substring  an entry occurs in the value (case-insensitive);
 *   hostname   the value's host (the value for domain/hostname, the host of a url, the domain of
 *              an e-mail address) equals an entry or ends with "." + entry;
 *   cidr       the value is an ip-src/ip-dst address or network lying inside an entry (entries
 *              without a prefix are single addresses); IPv4 and IPv6.
 * A list applies only to the indicator types named in matching_attributes (composite MISP types
 * count for each of their parts: "domain|ip" covers domain; "ip-dst|port" covers ip-dst); a list
 * without matching_attributes applies to every type.
 *
 * Ownership: struct warninglist_set is caller-owned (_init/_free); it owns copies of everything
 * it loaded. Matching reads only; a loaded set may be shared read-only by threads.
 */
#ifndef TLPMESH_NODE_WARNINGLIST_H
#define TLPMESH_NODE_WARNINGLIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/errors.h"
#include "proto/limits.h"

/* Error codes: X(name, value, message), range ERRORS_BASE_WARNINGLIST in proto/errors.h; the
 * comments say when each happens. */
#define WARNINGLIST_ERRORS(X)                                                                      \
    /* cannot read the file or directory */                                                        \
    X(WARNINGLIST_E_IO, ERRORS_BASE_WARNINGLIST - 0, "cannot read warninglist")                    \
    /* not JSON, or not a warninglist (reason names the place) */                                  \
    X(WARNINGLIST_E_FORMAT, ERRORS_BASE_WARNINGLIST - 1, "not a MISP warninglist")                 \
    /* a list type we cannot match (regex) */                                                      \
    X(WARNINGLIST_E_TYPE, ERRORS_BASE_WARNINGLIST - 2, "unsupported warninglist type")             \
    /* over LIMIT_WARNINGLIST_FILES or _ENTRIES */                                                 \
    X(WARNINGLIST_E_LIMIT, ERRORS_BASE_WARNINGLIST - 3, "too many warninglists or entries")        \
    X(WARNINGLIST_E_NOMEM, ERRORS_BASE_WARNINGLIST - 4, "out of memory")

enum warninglist_err {
    WARNINGLIST_OK = 0,
    WARNINGLIST_ERRORS(ERRORS_ENUM)
};

const char *warninglist_strerror(int err);

enum warninglist_kind {
    WARNINGLIST_STRING,
    WARNINGLIST_SUBSTRING,
    WARNINGLIST_HOSTNAME,
    WARNINGLIST_CIDR,
};

struct warninglist_cidr {
    uint8_t addr[16]; /* IPv4 in the first 4 bytes */
    uint8_t bits;
    bool v6;
};

struct warninglist {
    char name[LIMIT_WARNINGLIST_NAME_BYTES + 1];
    enum warninglist_kind kind;
    bool all_types;     /* no matching_attributes: applies to every type */
    uint64_t type_mask; /* bit (1ull << itype) for each proto_itype it applies to */
    char **entries;     /* STRING/HOSTNAME: lower-case, sorted; SUBSTRING: lower-case */
    size_t n_entries;
    struct warninglist_cidr *cidrs; /* CIDR lists */
    size_t n_cidrs;
};

struct warninglist_set {
    struct warninglist *lists;
    size_t n;
    size_t total_entries;
};

void warninglist_set_init(struct warninglist_set *set);
void warninglist_set_free(struct warninglist_set *set);

/* Parses one warninglist from JSON text; `source` names it in errors ("FILE"). Errors carry a
 * one-line reason "SOURCE: ..." (with line:column for bad JSON). The set is unchanged on error. */
int warninglist_load_buffer(struct warninglist_set *set, const char *json, size_t len,
                            const char *source, char *why, size_t why_len);

/* Reads and parses one file. */
int warninglist_load_file(struct warninglist_set *set, const char *path, char *why,
                          size_t why_len);

/* Loads every DIR/ *.json in name order. A missing directory is not an error (returns
 * WARNINGLIST_OK, nothing loaded); a bad file in it is. */
int warninglist_load_dir(struct warninglist_set *set, const char *dir, char *why, size_t why_len);

/* The name of the first list holding this normalised value of itype, or NULL. The pointer lives
 * as long as the set. */
const char *warninglist_match(const struct warninglist_set *set, int itype, const char *value);

#endif
