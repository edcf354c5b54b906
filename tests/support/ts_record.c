/* ts_record.c - signed records for tests (ts_record.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ts_record.h"

struct proto_record *ts_record_alloc(void)
{
    struct proto_record *r = calloc(1, sizeof *r);
    assert_non_null(r);
    return r;
}

void ts_record(struct proto_record *r, uint8_t kind, uint8_t tlp, uint64_t created_ms)
{
    memset(r, 0, sizeof *r);
    r->version = PROTO_RECORD_VERSION;
    r->kind = kind;
    r->tlp = tlp;
    r->created_ms = created_ms;
}

void ts_indicator(struct proto_record *r, uint8_t tlp, uint8_t itype, const char *value,
                  uint64_t created_ms, uint64_t valid_until_ms)
{
    ts_record(r, PROTO_KIND_INDICATOR, tlp, created_ms);
    r->u.ind.type = itype;
    r->u.ind.valid_until_ms = valid_until_ms;
    snprintf(r->u.ind.value, sizeof r->u.ind.value, "%s", value);
}

void ts_revocation(struct proto_record *r, uint8_t tlp, const uint8_t target[LIMIT_ID_BYTES],
                   const char *reason, uint64_t created_ms)
{
    ts_record(r, PROTO_KIND_REVOCATION, tlp, created_ms);
    memcpy(r->u.rev.target, target, LIMIT_ID_BYTES);
    if (reason != NULL)
        snprintf(r->u.rev.reason, sizeof r->u.rev.reason, "%s", reason);
}

void ts_roster(struct proto_record *r, uint8_t tlp, const char *name, uint64_t version,
               uint64_t created_ms)
{
    ts_record(r, PROTO_KIND_ROSTER, tlp, created_ms);
    snprintf(r->u.roster.name, sizeof r->u.roster.name, "%s", name);
    r->u.roster.version = version;
}

void ts_roster_add(struct proto_record *r, const uint8_t key[LIMIT_KEY_BYTES], const char *org)
{
    assert_true(r->u.roster.n_members < LIMIT_ROSTER_MEMBERS);
    struct proto_roster_member *m = &r->u.roster.members[r->u.roster.n_members++];
    memcpy(m->key, key, LIMIT_KEY_BYTES);
    snprintf(m->org, sizeof m->org, "%s", org);
}

size_t ts_sign(struct proto_record *r, const struct keys_identity *by, uint8_t out[TS_SIGNED_BYTES],
               uint8_t id[LIMIT_ID_BYTES])
{
    memcpy(r->origin, by->sign_pk, LIMIT_KEY_BYTES);
    proto_record_normalise_sets(r);
    uint8_t *body = out + LIMIT_SIG_BYTES;
    const int blen = proto_record_encode(r, body, LIMIT_RECORD_BYTES);
    if (blen <= 0)
        fail_msg("proto_record_encode: %d", blen);
    proto_record_sign(body, (size_t)blen, by->sign_sk, out);
    if (id != NULL)
        proto_record_id(body, (size_t)blen, id);
    return LIMIT_SIG_BYTES + (size_t)blen;
}

void ts_put(struct store *s, struct proto_record *r, const struct keys_identity *by,
            uint64_t added_us, uint8_t id[LIMIT_ID_BYTES])
{
    uint8_t buf[TS_SIGNED_BYTES];
    struct store_put p = {.signed_rec = buf, .rec = r, .added_us = added_us};
    p.len = ts_sign(r, by, buf, p.id);
    assert_int_equal(store_put_batch(s, &p, 1), STORE_OK);
    assert_int_equal(p.result, STORE_PUT_ADDED);
    if (id != NULL)
        memcpy(id, p.id, LIMIT_ID_BYTES);
}
