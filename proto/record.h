/* record.h - signed, content-addressed indicator records (docs/PROTOCOL.md "Records").
 *
 * A record travels and is stored as a *signed record*: sig (64 bytes) || body, where
 *   body = the canonical msgpack encoding of struct proto_record (docs/PROTOCOL.md, byte by byte),
 *   id   = BLAKE2b-256(body),
 *   sig  = Ed25519(origin key) over "tlpmesh-record-v1" || 0x00 || body.
 * The id covers the body only, so a forged copy (same body, bad signature) has the genuine id but
 * never verifies; callers must mark an id known only after proto_record_verify() succeeded.
 *
 * Canonical: exactly one byte string per logical record. proto_record_decode() rejects every other
 * encoding (non-minimal ints or lengths, other map/array/str headers, unknown, missing or
 * out-of-order fields, trailing bytes, invalid UTF-8, unsorted or duplicate set members,
 * over-limit sizes, out-of-range values).
 *
 * Ownership: struct proto_record is a plain value (fixed-size arrays, no pointers); the caller owns
 * it and may copy it with memcpy. No function here keeps a pointer to its arguments. No I/O, no
 * clock, no randomness: the caller passes now_ms.
 */
#ifndef TLPMESH_PROTO_RECORD_H
#define TLPMESH_PROTO_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "proto/errors.h"
#include "proto/indicator.h"
#include "proto/limits.h"
#include "proto/tlp.h"

#define PROTO_RECORD_VERSION 1

/* Wire values: never renumber. */
enum proto_kind {
    PROTO_KIND_INDICATOR = 1,
    PROTO_KIND_REVOCATION = 2,
    PROTO_KIND_SIGHTING = 3,
    PROTO_KIND_ROSTER = 4,
};

/* Who the origin means the record for (docs/SHARING.md). Both lists sorted ascending (communities
 * by bytes, recipients by key bytes) without duplicates: one audience, one encoding. */
struct proto_audience {
    uint8_t n_communities;
    uint8_t n_recipients;
    char communities[LIMIT_AUDIENCE_COMMUNITIES][LIMIT_NAME_BYTES + 1];
    uint8_t recipients[LIMIT_AUDIENCE_RECIPIENTS][LIMIT_KEY_BYTES];
};

struct proto_indicator {
    uint8_t type;            /* enum proto_itype */
    uint8_t confidence;      /* 0..100 */
    uint8_t n_tags;          /* tags sorted ascending, unique */
    uint64_t valid_until_ms; /* Unix ms; the record is refused and hidden after it */
    char value[LIMIT_VALUE_BYTES + 1];  /* normalised (proto_indicator_normalise) */
    char tags[LIMIT_TAGS][LIMIT_TAG_BYTES + 1];
    char comment[LIMIT_COMMENT_BYTES + 1];
};

struct proto_revocation {
    uint8_t target[LIMIT_ID_BYTES]; /* id of the revoked record; same origin only */
    char reason[LIMIT_COMMENT_BYTES + 1];
};

/* "The origin saw the target record's indicator count times between first and last seen." Anyone
 * holding the target may sight it; a sighting travels only where its target may (node/core/gate.h).
 * */
struct proto_sighting {
    uint8_t target[LIMIT_ID_BYTES]; /* id of the sighted record */
    uint64_t count;                 /* >= 1 */
    uint64_t first_seen_ms;         /* <= last_seen_ms */
    uint64_t last_seen_ms;          /* <= created_ms + LIMIT_CLOCK_SKEW_MS */
};

struct proto_roster_member {
    uint8_t key[LIMIT_KEY_BYTES];   /* the member node's Ed25519 identity */
    char org[LIMIT_NAME_BYTES + 1]; /* its organisation, 1..LIMIT_NAME_BYTES bytes */
};

/* The membership of community `name` as its owner (the record's origin) defines it. A higher
 * version from the same owner replaces a lower one (node/core/community.h). Members sorted by key,
 * unique. */
struct proto_roster {
    char name[LIMIT_NAME_BYTES + 1]; /* community name, 1..LIMIT_NAME_BYTES bytes */
    uint64_t version;                /* >= 1 */
    uint16_t n_members;              /* <= LIMIT_ROSTER_MEMBERS */
    struct proto_roster_member members[LIMIT_ROSTER_MEMBERS];
    /* A chunk of a chunked version (docs/PROTOCOL.md "Chunked rosters"): chunks 1..
     * LIMIT_ROSTER_CHUNKS, chunk < chunks, digest of the version's whole member list
     * (proto_roster_digest). chunks == 0 (and chunk 0, digest zero): a whole roster, fields
     * 19..21 absent. */
    uint16_t chunk;
    uint16_t chunks;
    uint8_t digest[LIMIT_ID_BYTES];
};

/* About 30 KB (a roster is the largest body): callers allocate records on the heap or keep one or
 * two on the stack, never arrays of them. */
struct proto_record {
    uint8_t version; /* PROTO_RECORD_VERSION */
    uint8_t kind;    /* enum proto_kind */
    uint8_t tlp;     /* enum proto_tlp */
    uint64_t created_ms;
    uint8_t origin[LIMIT_KEY_BYTES]; /* Ed25519 public key of the signing node */
    struct proto_audience audience;
    union {
        struct proto_indicator ind;
        struct proto_revocation rev;
        struct proto_sighting sight;
        struct proto_roster roster;
    } u;
};

/* Error codes: X(name, value, message), range ERRORS_BASE_PROTO in proto/errors.h; the
 * comments say when each happens. */
#define PROTO_ERRORS(X)                                                                            \
    X(PROTO_E_NOSPACE, ERRORS_BASE_PROTO - 0, "output buffer too small")                           \
    /* not msgpack, or truncated */                                                                \
    X(PROTO_E_MALFORMED, ERRORS_BASE_PROTO - 1, "malformed or truncated msgpack")                  \
    /* valid msgpack but not the canonical encoding */                                             \
    X(PROTO_E_NONCANON, ERRORS_BASE_PROTO - 2, "not the canonical encoding")                       \
    X(PROTO_E_FIELD, ERRORS_BASE_PROTO - 3, "unknown, missing, duplicate or out-of-order field")   \
    /* a value out of its allowed range (tlp, confidence, kind...) */                              \
    X(PROTO_E_RANGE, ERRORS_BASE_PROTO - 4, "value out of range")                                  \
    X(PROTO_E_TOOBIG, ERRORS_BASE_PROTO - 5, "over a size limit") /* over a LIMIT_* size */        \
    /* text that is not valid UTF-8 */                                                             \
    X(PROTO_E_UTF8, ERRORS_BASE_PROTO - 6, "text is not valid UTF-8")                              \
    X(PROTO_E_VALUE, ERRORS_BASE_PROTO - 7, "indicator value invalid for its type")                \
    X(PROTO_E_SIGNATURE, ERRORS_BASE_PROTO - 8, "signature does not verify")                       \
    /* created further ahead than LIMIT_CLOCK_SKEW_MS */                                           \
    X(PROTO_E_FUTURE, ERRORS_BASE_PROTO - 9, "created too far in the future")                      \
    X(PROTO_E_EXPIRED, ERRORS_BASE_PROTO - 10, "expired") /* valid_until in the past */            \
    /* unknown record version */                                                                   \
    X(PROTO_E_VERSION, ERRORS_BASE_PROTO - 11, "unsupported record version")                       \
    /* audience not allowed for the TLP (RED without recipients) */                                \
    X(PROTO_E_AUDIENCE, ERRORS_BASE_PROTO - 12, "audience not allowed for the TLP")

enum proto_err {
    PROTO_OK = 0,
    PROTO_ERRORS(ERRORS_ENUM)
};

const char *proto_strerror(int err);

/* Encodes r canonically into out[0..cap). Validates r first (same rules as decode).
 * Returns the body length (> 0) or a negative proto_err. */
int proto_record_encode(const struct proto_record *r, uint8_t *out, size_t cap);

/* Decodes and validates a body. On success fills *r and returns PROTO_OK: every common field and
 * all of r->u's member for r->kind, unused entries and string tails zero, as if *r had been zeroed
 * first; only the union's bytes past that member (a roster is ~25 KB, an indicator ~5 KB) are left
 * as they were, so zero *r first to compare decoded records whole with memcmp. On failure returns
 * a negative proto_err, leaves *r unspecified and, if why != NULL, writes a one-line reason naming
 * the field. */
int proto_record_decode(const uint8_t *body, size_t len, struct proto_record *r, char *why,
                        size_t why_len);

/* For a body that proto_record_decode accepted before (a stored record, or one whose signature
 * check decoded it): fills *r with the same values as proto_record_decode, without repeating the
 * field rules and the canonical re-encoding, which cost most of a decode, and without clearing
 * what no field fills: list entries past their count and string bytes past their NUL are left as
 * they were (read records through counts and strings, never compare them whole). Still
 * PROTO_E_MALFORMED (or another proto_err) for bytes that do not even parse. Never for bytes
 * from a peer. */
int proto_record_decode_known(const uint8_t *body, size_t len, struct proto_record *r);

/* Time rules, separate from decode so that stored records can be re-read after they expire:
 * PROTO_E_FUTURE if created_ms > now_ms + LIMIT_CLOCK_SKEW_MS, PROTO_E_EXPIRED if an indicator's
 * valid_until_ms <= now_ms. */
int proto_record_check_time(const struct proto_record *r, uint64_t now_ms);

/* id = BLAKE2b-256(body). */
void proto_record_id(const uint8_t *body, size_t len, uint8_t id[LIMIT_ID_BYTES]);

/* sig = Ed25519 over "tlpmesh-record-v1" || 0x00 || body, with the 64-byte libsodium secret key. */
void proto_record_sign(const uint8_t *body, size_t len, const uint8_t sk[64],
                       uint8_t sig[LIMIT_SIG_BYTES]);

/* PROTO_OK or PROTO_E_SIGNATURE. origin is the key in the decoded body. */
int proto_record_verify(const uint8_t *body, size_t len, const uint8_t sig[LIMIT_SIG_BYTES],
                        const uint8_t origin[LIMIT_KEY_BYTES]);

/* Sorts and de-duplicates the audience lists, tags and roster members (by key; of members with
 * the same key one is kept, which one is unspecified: refuse duplicates before if it matters)
 * in place, so that encode accepts them. */
void proto_record_normalise_sets(struct proto_record *r);

/* The digest of a roster version's whole member list (n members sorted by key, across its
 * chunks): BLAKE2b-256 over key || organisation length (1 byte) || organisation, member by member
 * (docs/PROTOCOL.md "Chunked rosters"). */
void proto_roster_digest(const struct proto_roster_member *m, size_t n,
                         uint8_t out[LIMIT_ID_BYTES]);

#endif
