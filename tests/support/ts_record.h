/* ts_record.h - signed records for tests: indicator, revocation and roster builders, signing, and
 * putting a signed record into a store (module prefix ts_).
 *
 * The builders fill a caller's record (ts_record_alloc gives one on the heap: proto_record is
 * ~30 KB; the caller frees it): zeroed, then version, kind, tlp, created_ms and the kind's own
 * fields; the test adds the rest (audience, comment, tags...) before signing. ts_sign sets the
 * origin to the signer's key, normalises the sets (proto_record_normalise_sets) and writes sig ||
 * body: what a node stores and sends. ts_put stores a signed record that must be new to the store
 * (STORE_PUT_ADDED). Every call fails the running cmocka test on error.
 */
#ifndef TLPMESH_TESTS_TS_RECORD_H
#define TLPMESH_TESTS_TS_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/keys.h"
#include "proto/record.h"
#include "store/store.h"

enum { TS_SIGNED_BYTES = LIMIT_SIG_BYTES + LIMIT_RECORD_BYTES };

struct proto_record *ts_record_alloc(void);
void ts_record(struct proto_record *r, uint8_t kind, uint8_t tlp, uint64_t created_ms);
void ts_indicator(struct proto_record *r, uint8_t tlp, uint8_t itype, const char *value,
                  uint64_t created_ms, uint64_t valid_until_ms);
/* reason may be NULL (none). */
void ts_revocation(struct proto_record *r, uint8_t tlp, const uint8_t target[LIMIT_ID_BYTES],
                   const char *reason, uint64_t created_ms);
/* An empty roster; ts_roster_add appends members. */
void ts_roster(struct proto_record *r, uint8_t tlp, const char *name, uint64_t version,
               uint64_t created_ms);
void ts_roster_add(struct proto_record *r, const uint8_t key[LIMIT_KEY_BYTES], const char *org);

/* Signs r by `by` into out; returns the signed length. id (may be NULL) gets the record's id. */
size_t ts_sign(struct proto_record *r, const struct keys_identity *by, uint8_t out[TS_SIGNED_BYTES],
               uint8_t id[LIMIT_ID_BYTES]);

/* Signs r by `by` and stores it in s, arrived at added_us (0: the store's clock). id as ts_sign. */
void ts_put(struct store *s, struct proto_record *r, const struct keys_identity *by,
            uint64_t added_us, uint8_t id[LIMIT_ID_BYTES]);

#endif
