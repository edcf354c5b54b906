/* ts_trec.h - records for store tests as struct values with arbitrary body bytes (prefixes
 * ts_trec_, ts_seen_).
 *
 * Given the decoded struct, the store neither decodes nor verifies, so no real encoding or
 * signature is needed: ts_trec_gen writes a body unique to n, an arbitrary signature and the id
 * BLAKE2b-256(body) as in proto. ts_seen_collect is a store_record_cb that appends each id and
 * seq to a struct ts_seen. The arrays from ts_trec_new and ts_seen_new are the caller's to free.
 * Every call fails the running cmocka test on error.
 */
#ifndef TLPMESH_TESTS_TS_TREC_H
#define TLPMESH_TESTS_TS_TREC_H

#include <stddef.h>
#include <stdint.h>

#include "proto/record.h"
#include "store/store.h"

enum { TS_TREC_BODY_BYTES = 200, TS_SEEN_MAX = 8192 };

struct ts_trec {
    struct proto_record rec;
    uint8_t signed_rec[LIMIT_SIG_BYTES + TS_TREC_BODY_BYTES];
    size_t len;
    uint8_t id[LIMIT_ID_BYTES];
};

struct ts_seen {
    size_t n;
    uint8_t ids[TS_SEEN_MAX][LIMIT_ID_BYTES];
    uint64_t seqs[TS_SEEN_MAX];
};

/* Record number n of kind by origin (every byte of the key), created at created_ms. */
void ts_trec_gen(struct ts_trec *t, unsigned n, uint8_t kind, uint8_t origin, uint64_t created_ms);
/* An indicator: ts_trec_gen, then its type and value. */
void ts_trec_ind(struct ts_trec *t, unsigned n, uint8_t origin, uint64_t created_ms, int itype,
                 const char *value);
/* The store_put item of t (rec set: the store does not decode the body). */
void ts_trec_item(struct store_put *it, const struct ts_trec *t);
/* Puts recs[0..n) in one batch; results go to results[] when not NULL. */
void ts_trec_put_all(struct store *s, const struct ts_trec *recs, size_t n, int *results);
struct ts_trec *ts_trec_new(size_t n);

struct ts_seen *ts_seen_new(void);
int ts_seen_collect(const uint8_t id[LIMIT_ID_BYTES], const uint8_t *signed_rec, size_t len,
                    uint64_t seq, void *ctx);

#endif
