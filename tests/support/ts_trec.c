/* ts_trec.c - records for store tests as struct values (ts_trec.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "ts_trec.h"

/* Record number n: a body unique to n, an arbitrary signature, id = BLAKE2b-256(body). */
void ts_trec_gen(struct ts_trec *t, unsigned n, uint8_t kind, uint8_t origin, uint64_t created_ms)
{
    memset(t, 0, sizeof *t);
    t->rec.version = PROTO_RECORD_VERSION;
    t->rec.kind = kind;
    t->rec.tlp = 1;
    t->rec.created_ms = created_ms;
    memset(t->rec.origin, origin, sizeof t->rec.origin);
    memset(t->signed_rec, 0xEE, LIMIT_SIG_BYTES);
    uint8_t *body = t->signed_rec + LIMIT_SIG_BYTES;
    for (size_t i = 0; i < TS_TREC_BODY_BYTES; i++)
        body[i] = (uint8_t)(i * 7 + kind);
    snprintf((char *)body, 32, "body:%u:%u:%u", n, kind, origin);
    t->len = sizeof t->signed_rec;
    crypto_generichash(t->id, sizeof t->id, body, TS_TREC_BODY_BYTES, NULL, 0);
}

void ts_trec_ind(struct ts_trec *t, unsigned n, uint8_t origin, uint64_t created_ms, int itype,
                 const char *value)
{
    ts_trec_gen(t, n, PROTO_KIND_INDICATOR, origin, created_ms);
    t->rec.u.ind.type = (uint8_t)itype;
    snprintf(t->rec.u.ind.value, sizeof t->rec.u.ind.value, "%s", value);
}

void ts_trec_item(struct store_put *it, const struct ts_trec *t)
{
    memset(it, 0, sizeof *it);
    memcpy(it->id, t->id, LIMIT_ID_BYTES);
    it->signed_rec = t->signed_rec;
    it->len = t->len;
    it->rec = &t->rec;
}

/* Puts recs[0..n) in one batch; results go to results[] when not NULL. */
void ts_trec_put_all(struct store *s, const struct ts_trec *recs, size_t n, int *results)
{
    struct store_put *items = calloc(n, sizeof *items);
    assert_non_null(items);
    for (size_t i = 0; i < n; i++)
        ts_trec_item(&items[i], &recs[i]);
    assert_int_equal(store_put_batch(s, items, n), STORE_OK);
    for (size_t i = 0; results != NULL && i < n; i++)
        results[i] = items[i].result;
    free(items);
}

int ts_seen_collect(const uint8_t id[LIMIT_ID_BYTES], const uint8_t *signed_rec, size_t len,
                    uint64_t seq, void *ctx)
{
    struct ts_seen *sn = ctx;
    assert_true(len > LIMIT_SIG_BYTES && signed_rec != NULL);
    assert_true(sn->n < TS_SEEN_MAX);
    memcpy(sn->ids[sn->n], id, LIMIT_ID_BYTES);
    sn->seqs[sn->n++] = seq;
    return 0;
}

struct ts_seen *ts_seen_new(void)
{
    struct ts_seen *sn = calloc(1, sizeof *sn);
    assert_non_null(sn);
    return sn;
}

struct ts_trec *ts_trec_new(size_t n)
{
    struct ts_trec *r = calloc(n, sizeof *r);
    assert_non_null(r);
    return r;
}
