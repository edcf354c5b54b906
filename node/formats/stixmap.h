/* stixmap.h - STIX 2.1 facts as tables: TLP marking definitions and indicator patterns.
 *
 * Shared by import (STIX bundles in) and export (STIX bundles, TAXII out), so that both sides
 * agree byte for byte. Sources: the STIX 2.1 specification (OASIS; patterning, TLP 1.0 markings)
 * and cti-stix-common-objects (the TLP 2.0 marking definitions, extension tlp_2_0).
 *
 * TLP markings. Three id sets are in use and all are accepted on input:
 *   TLP 2.0 (cti-stix-common-objects, extension tlp_2_0): clear, green, amber, amber+strict, red;
 *   TLP 1.0 (STIX 2.1 spec, definition_type "tlp"):       white (= clear), green, amber, red;
 *   OpenCTI's own AMBER+STRICT id (pycti), which has no TLP 1.0 counterpart.
 * On output STIXMAP_TLP2 gives the TLP 2.0 ids and objects; STIXMAP_TLP1 gives what OpenCTI and
 * misp-stix emit: TLP 1.0 ids (clear as white) and OpenCTI's id for AMBER+STRICT.
 *
 * Patterns. Indicator types (proto/indicator.h) map to STIX paths as follows:
 *   ip-src, ip-dst    -> ipv4-addr:value or ipv6-addr:value (by the address family; CIDR kept)
 *   ip-dst|port       -> [network-traffic:dst_ref.type = 'ipv4-addr' (or 'ipv6-addr') AND
 *                        network-traffic:dst_ref.value = 'A' AND network-traffic:dst_port = P]
 *   ip-src|port       -> the same with src_ref and src_port
 *   hostname|port     -> the same as ip-dst|port with dst_ref.type = 'domain-name'
 *   domain, hostname  -> domain-name:value
 *   url               -> url:value
 *   email-src         -> email-addr:value
 *   email-dst         -> email-message:to_refs[*].value
 *   email-subject     -> email-message:subject
 *   md5/sha1/sha256/sha512/ssdeep/tlsh -> file:hashes.'MD5' / 'SHA-1' / 'SHA-256' / 'SHA-512' /
 *                        'SSDEEP' / 'TLSH'
 *   imphash           -> file:extensions.'windows-pebinary-ext'.imphash
 *   filename          -> file:name
 *   AS                -> autonomous-system:number = N (an integer)
 *   x509-fingerprint-sha1/-sha256 -> x509-certificate:hashes.'SHA-1' / 'SHA-256'
 *   mutex             -> mutex:name
 *   regkey            -> windows-registry-key:key
 *   regkey|value      -> [windows-registry-key:key = 'K' AND windows-registry-key:values[*].data
 *                        = 'D']
 *   user-agent        -> network-traffic:extensions.'http-request-ext'.request_header.'User-Agent'
 *   yara, sigma, snort, suricata -> the rule text itself, with that pattern_type
 *   vulnerability     -> no pattern: a STIX vulnerability object (export.h)
 *   ja3-fingerprint-md5, jarm-fingerprint, btc -> none (STIX 2.1 has no object for them)
 * and back, where STIX carries less than MISP: ipv4-addr/ipv6-addr:value -> ip-dst (STIX says
 * no direction; a bad address is blocked as a destination); domain-name:value -> domain when the
 * name has two labels or more, else hostname; email-addr:value and email-message:from_ref.value
 * -> email-src; network-traffic:src_ref.value -> ip-src, network-traffic:dst_ref.value -> ip-dst
 * (with its port: ip-src|port, ip-dst|port, hostname|port); domain-name:resolves_to_refs[*].value
 * -> ip-dst. Hash keys are accepted in any case, quoted or not, with or without the hyphen
 * ("hashes.md5", "hashes.'SHA-256'", "hashes.SHA256").
 *
 * The pattern parser accepts the forms producers actually emit for single indicators:
 *   [path = 'v']                          one indicator
 *   [a = 'v' OR b = 'w']  and  [..] OR [..]  several indicators
 *   [network-traffic:dst_ref.type = 'ipv4-addr' AND network-traffic:dst_ref.value = 'v']
 *                                         MISP's ip-dst form: one indicator
 *   [domain-name:value = 'd' AND domain-name:resolves_to_refs[*].value = 'i']
 *                                         MISP's domain|ip form: a domain and an ip-dst
 *   [network-traffic:dst_ref.value = 'a' AND network-traffic:dst_port = 443]
 *                                         an address (or host) with a port: one indicator
 *   [windows-registry-key:key = 'k' AND windows-registry-key:values[*].data = 'd']
 *                                         one regkey|value
 * and refuses everything else (other operators, qualifiers, AND across observations, NOT,
 * parentheses, other paths) with a one-line reason. String literals honour the grammar's only
 * escapes, \' and \\; ports and AS numbers may be integers or strings.
 *
 * No I/O, no allocation except the json_t objects stixmap_marking_object() returns (the caller
 * owns that reference).
 */
#ifndef TLPMESH_NODE_STIXMAP_H
#define TLPMESH_NODE_STIXMAP_H

#include <stddef.h>

#include <jansson.h>

#include "proto/errors.h"
#include "proto/limits.h"

enum stixmap_tlp_version {
    STIXMAP_TLP2 = 0, /* TLP 2.0 ids and objects (the default) */
    STIXMAP_TLP1 = 1, /* TLP 1.0 ids (clear as white) + OpenCTI's AMBER+STRICT: older consumers */
};

/* Error codes: X(name, value, message), range ERRORS_BASE_STIXMAP in proto/errors.h; the
 * comments say when each happens. */
#define STIXMAP_ERRORS(X)                                                                          \
    /* indicator type or TLP level with no STIX mapping */                                         \
    X(STIXMAP_E_TYPE, ERRORS_BASE_STIXMAP - 0, "no STIX mapping for this type or level")           \
    X(STIXMAP_E_NOSPACE, ERRORS_BASE_STIXMAP - 1, "output buffer too small")                       \
    /* pattern outside the supported subset (reason in why) */                                     \
    X(STIXMAP_E_PATTERN, ERRORS_BASE_STIXMAP - 2, "unsupported STIX pattern")

enum stixmap_err {
    STIXMAP_OK = 0,
    STIXMAP_ERRORS(ERRORS_ENUM)
};

const char *stixmap_strerror(int err);

/* --- TLP markings --- */

/* TLP level (enum proto_tlp) of a marking-definition id from any of the three sets, or -1. */
int stixmap_tlp_from_marking_id(const char *id);

/* TLP level of a marking name or tag: "TLP:AMBER+STRICT", "tlp:white", "amber", "TLP:CLEAR"
 * (case-insensitive, "tlp:" prefix optional, white = clear), or -1. */
int stixmap_tlp_from_name(const char *name);

/* TLP level of a marking-definition object: its id if known, else the tlp_2_0 extension,
 * definition_type "tlp" + definition.tlp, OpenCTI's x_opencti_definition, or a name such as
 * "TLP:AMBER". -1 when it is not a TLP marking (a statement, a copyright...). */
int stixmap_tlp_from_marking_object(const json_t *obj);

/* The marking-definition id for a level; NULL for an invalid level. Static storage. */
const char *stixmap_marking_id(int tlp, enum stixmap_tlp_version v);

/* The full marking-definition object (spec_version "2.1") as a new reference; NULL for an invalid
 * level or out of memory. */
json_t *stixmap_marking_object(int tlp, enum stixmap_tlp_version v);

/* --- patterns --- */

/* The pattern_type of itype's indicators: "stix", "yara", "sigma", "snort", "suricata"; NULL
 * when the type has no pattern (vulnerability, ja3, jarm, btc). Static storage. */
const char *stixmap_pattern_type(int itype);

/* Builds the pattern for a normalised value of itype into out[0..cap) (NUL-terminated), quotes
 * and backslashes escaped; for a rule type, the rule text unchanged. Returns the length,
 * STIXMAP_E_TYPE or STIXMAP_E_NOSPACE. */
int stixmap_pattern_build(int itype, const char *value, char *out, size_t cap);

/* One indicator found in a pattern: its type and its value as written (not yet normalised). */
struct stixmap_term {
    int itype; /* enum proto_itype */
    char value[LIMIT_VALUE_BYTES + 1];
};

/* Parses a STIX pattern into terms[0..*n) (at most cap, cap <= LIMIT_STIX_PATTERN_TERMS).
 * Returns STIXMAP_OK, or STIXMAP_E_PATTERN with a one-line reason in why, e.g.
 * "operator LIKE is not supported (only =)" or "path x-foo:bar is not an indicator type". */
int stixmap_pattern_parse(const char *pattern, struct stixmap_term *terms, size_t cap, size_t *n,
                          char *why, size_t why_len);

#endif
