/* succession.h - key succession statements: "key OLD is replaced by key NEW" (docs/PROTOCOL.md
 * "Key succession").
 *
 * A statement is a fixed 234-byte string, so it has exactly one encoding:
 *   off len  field
 *     0   1  version    1
 *     1   1  kind       1 rotation (authority = old), 2 recovery (authority = a recovery key)
 *     2   8  time_ms    u64 big-endian, Unix ms: when the rotation was made; for a recovery,
 *                       the time from which the old key is taken as stolen
 *    10  32  old        the Ed25519 key replaced
 *    42  32  new        the Ed25519 key that replaces it
 *    74  32  authority  who vouches: old itself (rotation) or the recovery key (recovery)
 *   106  64  sig_auth   Ed25519(authority, "tlpmesh-succession-v1" || 0x00 || bytes 0..105)
 *   170  64  sig_new    Ed25519(new, the same message): the new key's holder asked for it
 * Decoding checks every field and both signatures before it returns anything (a statement is
 * refused whole or accepted whole). Which statement *wins* is the node's rule
 * (node/core/succession.h): this module only says whether one is well-formed and signed.
 *
 * Pure: no I/O, no clock (the caller passes now_ms), no allocation; the caller owns every struct.
 */
#ifndef TLPMESH_PROTO_SUCCESSION_H
#define TLPMESH_PROTO_SUCCESSION_H

#include <stddef.h>
#include <stdint.h>

#include "proto/errors.h"
#include "proto/limits.h"

#define PROTO_SUCCESSION_VERSION 1
#define PROTO_SUCCESSION_BODY_BYTES 106
#define PROTO_SUCCESSION_SIG_CONTEXT "tlpmesh-succession-v1"
_Static_assert(PROTO_SUCCESSION_BODY_BYTES + 2 * LIMIT_SIG_BYTES == LIMIT_SUCCESSION_BYTES,
               "statement layout");

/* Wire values: never renumber. */
enum proto_succession_kind {
    PROTO_SUCCESSION_ROTATION = 1,
    PROTO_SUCCESSION_RECOVERY = 2,
};

struct proto_succession {
    uint8_t kind; /* enum proto_succession_kind */
    uint64_t time_ms;
    uint8_t old_key[LIMIT_KEY_BYTES];
    uint8_t new_key[LIMIT_KEY_BYTES];
    uint8_t authority[LIMIT_KEY_BYTES];
    uint8_t bytes[LIMIT_SUCCESSION_BYTES]; /* the statement as signed (decode / sign fill it) */
};

/* Error codes: X(name, value, message), range ERRORS_BASE_SUCCESSION in proto/errors.h. */
#define SUCCESSION_ERRORS(X)                                                                       \
    X(SUCCESSION_E_LENGTH, ERRORS_BASE_SUCCESSION - 0, "succession statement is not 234 bytes")  \
    X(SUCCESSION_E_VERSION, ERRORS_BASE_SUCCESSION - 1, "succession statement version is not 1") \
    X(SUCCESSION_E_KIND, ERRORS_BASE_SUCCESSION - 2,                                               \
      "succession kind is neither 1 (rotation) nor 2 (recovery)")                                  \
    /* time 0, old = new, new = authority, rotation with authority != old, recovery with           \
     * authority = old */                                                                          \
    X(SUCCESSION_E_RANGE, ERRORS_BASE_SUCCESSION - 3,                                              \
      "succession fields inconsistent (time 0, a key succeeding itself, or the wrong authority)")  \
    X(SUCCESSION_E_SIG_AUTH, ERRORS_BASE_SUCCESSION - 4,                                           \
      "succession not signed by its authority (old key or recovery key)")                          \
    X(SUCCESSION_E_SIG_NEW, ERRORS_BASE_SUCCESSION - 5, "succession not signed by its new key")    \
    X(SUCCESSION_E_FUTURE, ERRORS_BASE_SUCCESSION - 6,                                             \
      "succession time more than 5 minutes in the future")                                       \
    /* the node's rule (node/core/succession.h): refusals of a well-signed statement */          \
    X(SUCCESSION_E_UNTRUSTED, ERRORS_BASE_SUCCESSION - 7,                                          \
      "succession of a key this node does not trust, or recovery key not configured for it")    \
    X(SUCCESSION_E_CONFLICT, ERRORS_BASE_SUCCESSION - 8,                                           \
      "key already succeeded by another statement (the first one stands), or new key in use")   \
    X(SUCCESSION_E_SUPERSEDED, ERRORS_BASE_SUCCESSION - 9,                                         \
      "key already recovered by its recovery key (a recovery beats any rotation)")               \
    X(SUCCESSION_E_FULL, ERRORS_BASE_SUCCESSION - 10,                                              \
      "too many succession statements (LIMIT_SUCCESSIONS)")                                      \
    X(SUCCESSION_E_CHAIN, ERRORS_BASE_SUCCESSION - 11,                                             \
      "succession chain longer than LIMIT_SUCCESSION_CHAIN: use tlpmesh peer replace-key")       \
    X(SUCCESSION_E_NOMEM, ERRORS_BASE_SUCCESSION - 12, "out of memory for succession statements")

enum proto_succession_err {
    SUCCESSION_OK = 0,
    SUCCESSION_ERRORS(ERRORS_ENUM)
};

const char *proto_succession_strerror(int err);
const char *proto_succession_kind_name(uint8_t kind); /* "rotation" / "recovery" / "?" */

/* Signs s (kind, time_ms, keys) with both secret keys (authority_sk: 64-byte Ed25519 secret of
 * s->authority, new_sk: of s->new_key) and fills s->bytes. The fields must be consistent
 * (SUCCESSION_E_RANGE / _KIND otherwise, nothing signed). */
int proto_succession_sign(struct proto_succession *s, const uint8_t authority_sk[64],
                          const uint8_t new_sk[64]);

/* Checks len, every field and both signatures of bytes; fills *out only on SUCCESSION_OK.
 * now_ms: SUCCESSION_E_FUTURE if time_ms > now_ms + LIMIT_CLOCK_SKEW_MS. */
int proto_succession_decode(const uint8_t *bytes, size_t len, uint64_t now_ms,
                            struct proto_succession *out);

#endif
