/* record_int.h - what the parts of the record codec share; private to proto/record*.c.
 *
 * record.h is the contract; the body layout is documented byte by byte in docs/PROTOCOL.md
 * ("Records"). The implementation is split by concern:
 *   record.c         field names, error messages, validation (encode and decode), time rules,
 *                    ids, signatures, set normalisation, proto_strerror
 *   record_encode.c  the canonical encoder (msgpack-c's packer)
 *   record_decode.c  the strict reader
 */
#ifndef TLPMESH_PROTO_RECORD_INT_H
#define TLPMESH_PROTO_RECORD_INT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/record.h"

/* Map keys: wire values, never renumber. Common fields are 0..15, kind fields from 16. */
enum record_key {
    KEY_VERSION = 0,
    KEY_KIND = 1,
    KEY_ORIGIN = 2,
    KEY_CREATED = 3,
    KEY_TLP = 4,
    KEY_COMMUNITIES = 5,
    KEY_RECIPIENTS = 6,
    KEY_IND_TYPE = 16,
    KEY_IND_VALUE = 17,
    KEY_IND_VALID_UNTIL = 18,
    KEY_IND_CONFIDENCE = 19,
    KEY_IND_TAGS = 20,
    KEY_IND_COMMENT = 21,
    KEY_REV_TARGET = 16,
    KEY_REV_REASON = 17,
    KEY_SIGHT_TARGET = 16,
    KEY_SIGHT_COUNT = 17,
    KEY_SIGHT_FIRST_SEEN = 18,
    KEY_SIGHT_LAST_SEEN = 19,
    KEY_ROSTER_NAME = 16,
    KEY_ROSTER_VERSION = 17,
    KEY_ROSTER_MEMBERS = 18,
    KEY_ROSTER_CHUNK = 19,
    KEY_ROSTER_CHUNKS = 20,
    KEY_ROSTER_DIGEST = 21,
    KEY_KIND_FIRST = 16,
};

enum {
    COMMON_FIELDS = 7,
    INDICATOR_FIELDS = 6,
    REVOCATION_FIELDS = 2,
    SIGHTING_FIELDS = 4,
    ROSTER_FIELDS = 6,          /* fields a roster may have */
    ROSTER_REQUIRED_FIELDS = 3, /* name, version, members; chunk, chunks, digest all or none */
    MEMBER_ENTRIES = 2,     /* a roster member is the array [key, organisation] */
    MAX_FIELDS = COMMON_FIELDS + INDICATOR_FIELDS,
    KEY_MAX = 31,           /* highest key of any kind; seen-sets are 32-bit masks */
    CONFIDENCE_MAX = 100,
    NO_KEY = -1,            /* reader position: outside a field's value */
};

/* Number of kind-specific fields, 0 for a kind this version cannot decode. */
unsigned proto_record_kind_fields(int kind);
/* Number of kind-specific fields every record of kind has (the first ones). */
unsigned proto_record_kind_required(int kind);
/* Number of kind-specific fields r itself has (what it encodes to). */
unsigned proto_record_fields_of(const struct proto_record *r);
/* Name of field key in a record of kind; NULL if the kind has no such field. */
const char *proto_record_field_name(int kind, int key);
/* Writes "record field K (name): " and the message to why (nothing if why is NULL). */
__attribute__((format(printf, 5, 0))) void proto_record_vfail(char *why, size_t why_len, int kind,
                                                              int key, const char *fmt, va_list ap);
/* The rules of docs/PROTOCOL.md on a record in memory; PROTO_OK or the error, why filled. */
int proto_record_validate(const struct proto_record *r, char *why, size_t wl);
/* Encodes a valid record; returns the full length even when over cap (bytes past cap dropped). */
size_t proto_record_encode_valid(const struct proto_record *r, uint8_t *out, size_t cap);

#endif
