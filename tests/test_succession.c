/* test_succession.c - key succession statements (proto/succession.h): the canonical layout and
 * its published vector (docs/PROTOCOL.md "Key succession"), both signatures, every field's
 * mutants refused; and the node's rule (node/core/succession.h): trust, recovery beats rotation,
 * the first of two rotations stands, no key used twice.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "node/core/peerscore.h"
#include "node/core/succession.h"
#include "proto/succession.h"
#include "tests/support/ts_ident.h"

#define T0 UINT64_C(1800000000000)

/* seeds 0x01.. (old), 0x02.. (new), 0x03.. (recovery): the vector of docs/PROTOCOL.md */
static const char VECTOR_ROTATION[] =
    "0101000001a3185c50004e277eee615fca61e9dbeaaa042dcf03ea40b50189b8"
    "df2969f9c224cdc4e9116e3ccb560a1b2f79e39ace0b36e1c0face85c74a8870"
    "869381dc3af309f3f1814e277eee615fca61e9dbeaaa042dcf03ea40b50189b8"
    "df2969f9c224cdc4e9119c4878da80250ab0d96fbe977766e185979a6835010e"
    "de49053af3b54005159d7030c9c8cbe713080e35e737a7f5350fba0f1dd1f21d"
    "d8470d027fb59360020b1a35c02423c4e92aa519469ff31b02e9173f90605747"
    "6a2ed72d6653c1538eb2d100e3c0887d5e39a9b3914c209b24062ef9bcd37deb"
    "68805e411adc000d1402";

static void hex(const uint8_t *b, size_t n, char *out)
{
    sodium_bin2hex(out, 2 * n + 1, b, n);
}

static void make(struct proto_succession *s, uint8_t kind, const struct keys_identity *auth,
                 const struct keys_identity *old, const struct keys_identity *new, uint64_t t)
{
    memset(s, 0, sizeof *s);
    s->kind = kind;
    s->time_ms = t;
    memcpy(s->old_key, old->sign_pk, 32);
    memcpy(s->new_key, new->sign_pk, 32);
    memcpy(s->authority, auth->sign_pk, 32);
    assert_int_equal(proto_succession_sign(s, auth->sign_sk, new->sign_sk), SUCCESSION_OK);
}

static void test_vector_and_layout(void **state)
{
    (void)state;
    struct keys_identity a, b;
    ts_identity(1, &a), ts_identity(2, &b);
    struct proto_succession s, d;
    make(&s, PROTO_SUCCESSION_ROTATION, &a, &a, &b, T0);
    char text[2 * LIMIT_SUCCESSION_BYTES + 1];
    hex(s.bytes, sizeof s.bytes, text);
    if (getenv("TEST_SUCCESSION_PRINT"))
        printf("\"%s\"\n", text);
    assert_string_equal(text, VECTOR_ROTATION);
    assert_int_equal(s.bytes[0], 1);
    assert_int_equal(s.bytes[1], 1);
    assert_memory_equal(s.bytes + 2, "\x00\x00\x01\xa3\x18\x5c\x50\x00", 8);
    assert_memory_equal(s.bytes + 10, a.sign_pk, 32);
    assert_memory_equal(s.bytes + 42, b.sign_pk, 32);
    assert_memory_equal(s.bytes + 74, a.sign_pk, 32);
    assert_int_equal(proto_succession_decode(s.bytes, sizeof s.bytes, T0, &d), SUCCESSION_OK);
    assert_int_equal(d.kind, s.kind);
    assert_true(d.time_ms == T0);
    assert_memory_equal(d.bytes, s.bytes, sizeof s.bytes);
    keys_identity_wipe(&a), keys_identity_wipe(&b);
}

/* Every bit of every byte flipped: refused, with the error of the field it lies in. */
static void test_mutants(void **state)
{
    (void)state;
    struct keys_identity a, b;
    ts_identity(1, &a), ts_identity(2, &b);
    struct proto_succession s, d;
    make(&s, PROTO_SUCCESSION_ROTATION, &a, &a, &b, T0);
    uint8_t m[LIMIT_SUCCESSION_BYTES + 1];
    for (size_t i = 0; i < LIMIT_SUCCESSION_BYTES; i++)
        for (int bit = 0; bit < 8; bit++) {
            memcpy(m, s.bytes, sizeof s.bytes);
            m[i] ^= (uint8_t)(1u << bit);
            int rc = proto_succession_decode(m, LIMIT_SUCCESSION_BYTES,
                                             UINT64_MAX - LIMIT_CLOCK_SKEW_MS, &d);
            int want = i == 0 ? SUCCESSION_E_VERSION : i < 106 ? SUCCESSION_E_SIG_AUTH
                       : i < 170 ? SUCCESSION_E_SIG_AUTH : SUCCESSION_E_SIG_NEW;
            if (i == 1) /* kind 1 -> 0, 3, 5, 9...: not a kind; -> 2 would be a recovery */
                want = (m[1] == 2) ? SUCCESSION_E_RANGE : SUCCESSION_E_KIND;
            if (i >= 10 && i < 42) /* a changed old key is no longer the authority */
                want = SUCCESSION_E_RANGE;
            if (i >= 74 && i < 106)
                want = SUCCESSION_E_RANGE;
            assert_int_equal(rc, want);
        }
    memcpy(m, s.bytes, sizeof s.bytes);
    assert_int_equal(proto_succession_decode(m, LIMIT_SUCCESSION_BYTES - 1, T0, &d),
                     SUCCESSION_E_LENGTH);
    m[LIMIT_SUCCESSION_BYTES] = 0;
    assert_int_equal(proto_succession_decode(m, LIMIT_SUCCESSION_BYTES + 1, T0, &d),
                     SUCCESSION_E_LENGTH);
    /* the new key's signature is checked too: one made by another key is refused */
    struct keys_identity c;
    ts_identity(3, &c);
    struct proto_succession x = s;
    assert_int_equal(proto_succession_sign(&x, a.sign_sk, c.sign_sk), SUCCESSION_OK);
    assert_int_equal(proto_succession_decode(x.bytes, sizeof x.bytes, T0, &d),
                     SUCCESSION_E_SIG_NEW);
    /* the future: more than the clock skew ahead */
    assert_int_equal(proto_succession_decode(s.bytes, sizeof s.bytes,
                                             T0 - LIMIT_CLOCK_SKEW_MS - 1, &d),
                     SUCCESSION_E_FUTURE);
    assert_int_equal(proto_succession_decode(s.bytes, sizeof s.bytes, T0 - LIMIT_CLOCK_SKEW_MS,
                                             &d),
                     SUCCESSION_OK);
    keys_identity_wipe(&a), keys_identity_wipe(&b), keys_identity_wipe(&c);
}

/* Inconsistent fields are never signed. */
static void test_fields(void **state)
{
    (void)state;
    struct keys_identity a, b, r;
    ts_identity(1, &a), ts_identity(2, &b), ts_identity(3, &r);
    struct proto_succession s = {.kind = PROTO_SUCCESSION_ROTATION, .time_ms = T0};
    memcpy(s.old_key, a.sign_pk, 32), memcpy(s.new_key, b.sign_pk, 32);
    memcpy(s.authority, r.sign_pk, 32); /* a rotation vouched for by another key */
    assert_int_equal(proto_succession_sign(&s, r.sign_sk, b.sign_sk), SUCCESSION_E_RANGE);
    s.kind = PROTO_SUCCESSION_RECOVERY;
    memcpy(s.authority, a.sign_pk, 32); /* a recovery vouched for by the old key */
    assert_int_equal(proto_succession_sign(&s, a.sign_sk, b.sign_sk), SUCCESSION_E_RANGE);
    memcpy(s.authority, r.sign_pk, 32);
    s.time_ms = 0;
    assert_int_equal(proto_succession_sign(&s, r.sign_sk, b.sign_sk), SUCCESSION_E_RANGE);
    s.time_ms = T0;
    memcpy(s.new_key, a.sign_pk, 32); /* a key succeeding itself */
    assert_int_equal(proto_succession_sign(&s, r.sign_sk, a.sign_sk), SUCCESSION_E_RANGE);
    s.kind = 3;
    assert_int_equal(proto_succession_sign(&s, r.sign_sk, a.sign_sk), SUCCESSION_E_KIND);
    keys_identity_wipe(&a), keys_identity_wipe(&b), keys_identity_wipe(&r);
}

/* --- the rule --- */

struct world {
    struct keys_identity self, o, n, p, m, r, x, other, rec2;
    struct config cfg;
    struct config_peer peers[2];
    struct succession_table t;
};

static struct world *world_new(bool recovery_key)
{
    struct world *w = calloc(1, sizeof *w);
    assert_non_null(w);
    ts_identity(10, &w->self), ts_identity(11, &w->o), ts_identity(12, &w->n);
    ts_identity(13, &w->p), ts_identity(14, &w->m), ts_identity(15, &w->r);
    ts_identity(16, &w->x), ts_identity(17, &w->other), ts_identity(18, &w->rec2);
    memcpy(w->peers[0].key, w->o.sign_pk, 32);
    keys_pubkey_to_b64(w->o.sign_pk, w->peers[0].key_b64);
    snprintf(w->peers[0].name, sizeof w->peers[0].name, "o");
    w->peers[0].has_recovery_key = recovery_key;
    memcpy(w->peers[0].recovery_key, w->x.sign_pk, 32); /* x: the recovery key */
    memcpy(w->peers[1].key, w->other.sign_pk, 32);
    keys_pubkey_to_b64(w->other.sign_pk, w->peers[1].key_b64);
    w->cfg.peers = w->peers;
    w->cfg.n_peers = 2;
    succession_table_init(&w->t);
    return w;
}

static void world_free(struct world *w)
{
    succession_table_free(&w->t);
    free(w);
}

static int offer(struct world *w, uint8_t kind, const struct keys_identity *auth,
                 const struct keys_identity *old, const struct keys_identity *new, uint64_t t,
                 struct succession_dropped *dropped)
{
    struct proto_succession s;
    make(&s, kind, auth, old, new, t);
    return succession_offer(&w->t, &w->cfg, w->self.sign_pk, &s, false, dropped);
}

static void assert_current(struct world *w, const struct keys_identity *want)
{
    uint8_t cur[32];
    (void)succession_current(&w->t, w->o.sign_pk, cur);
    assert_memory_equal(cur, want->sign_pk, 32);
}

static void test_rule_rotation(void **state)
{
    (void)state;
    struct world *w = world_new(false);
    const uint8_t R = PROTO_SUCCESSION_ROTATION;
    /* a key nobody here trusts */
    assert_int_equal(offer(w, R, &w->m, &w->m, &w->p, T0, NULL), SUCCESSION_E_UNTRUSTED);
    assert_int_equal(w->t.n, 0);
    assert_int_equal(offer(w, R, &w->o, &w->o, &w->n, T0, NULL), SUCCESSION_ADDED);
    assert_int_equal(offer(w, R, &w->o, &w->o, &w->n, T0, NULL), SUCCESSION_KNOWN);
    /* two rotations of one key: the first stands, later or earlier */
    assert_int_equal(offer(w, R, &w->o, &w->o, &w->m, T0 + 1, NULL), SUCCESSION_E_CONFLICT);
    assert_int_equal(offer(w, R, &w->o, &w->o, &w->m, T0 - 1, NULL), SUCCESSION_E_CONFLICT);
    /* down the chain: n is trusted now, as o's successor */
    assert_int_equal(offer(w, R, &w->n, &w->n, &w->p, T0 + 2, NULL), SUCCESSION_ADDED);
    assert_current(w, &w->p);
    assert_ptr_equal(succession_peer(&w->t, &w->cfg, w->p.sign_pk), &w->peers[0]);
    /* a new key in use: a configured peer's, this node's, one of the chain's */
    assert_int_equal(offer(w, R, &w->p, &w->p, &w->other, T0 + 3, NULL), SUCCESSION_E_CONFLICT);
    assert_int_equal(offer(w, R, &w->p, &w->p, &w->self, T0 + 3, NULL), SUCCESSION_E_CONFLICT);
    assert_int_equal(offer(w, R, &w->p, &w->p, &w->o, T0 + 3, NULL), SUCCESSION_E_CONFLICT);
    /* a recovery needs the configured RecoveryKey: this peer has none */
    assert_int_equal(offer(w, PROTO_SUCCESSION_RECOVERY, &w->x, &w->o, &w->r, T0, NULL),
                     SUCCESSION_E_UNTRUSTED);
    assert_int_equal(w->t.n, 2);
    world_free(w);
}

static void test_rule_recovery(void **state)
{
    (void)state;
    struct world *w = world_new(true);
    const uint8_t R = PROTO_SUCCESSION_ROTATION, V = PROTO_SUCCESSION_RECOVERY;
    /* the thief rotates o to n, then n to p */
    assert_int_equal(offer(w, R, &w->o, &w->o, &w->n, T0 + 10, NULL), SUCCESSION_ADDED);
    assert_int_equal(offer(w, R, &w->n, &w->n, &w->p, T0 + 11, NULL), SUCCESSION_ADDED);
    /* a recovery signed by a key that is not the configured one */
    assert_int_equal(offer(w, V, &w->rec2, &w->o, &w->r, T0, NULL), SUCCESSION_E_UNTRUSTED);
    /* the owner's recovery, dated before the theft: it wins, the thief's chain goes */
    struct succession_dropped dropped;
    assert_int_equal(offer(w, V, &w->x, &w->o, &w->r, T0, &dropped), SUCCESSION_REPLACED);
    assert_int_equal(dropped.n, 2);
    assert_memory_equal(dropped.keys[0], w->n.sign_pk, 32);
    assert_memory_equal(dropped.keys[1], w->p.sign_pk, 32);
    assert_current(w, &w->r);
    assert_int_equal(w->t.n, 1);
    assert_null(succession_peer(&w->t, &w->cfg, w->n.sign_pk)); /* the thief's key: nobody */
    /* after a recovery nothing replaces o again: not the thief's old statement, not another
     * rotation, not a second recovery */
    assert_int_equal(offer(w, R, &w->o, &w->o, &w->n, T0 + 10, NULL), SUCCESSION_E_SUPERSEDED);
    assert_int_equal(offer(w, R, &w->o, &w->o, &w->m, T0 + 20, NULL), SUCCESSION_E_SUPERSEDED);
    assert_int_equal(offer(w, V, &w->x, &w->o, &w->m, T0 + 20, NULL), SUCCESSION_E_SUPERSEDED);
    /* the thief's rotation of the dropped key is untrusted now */
    assert_int_equal(offer(w, R, &w->n, &w->n, &w->m, T0 + 12, NULL), SUCCESSION_E_UNTRUSTED);
    /* the recovered key rotates on as usual */
    assert_int_equal(offer(w, R, &w->r, &w->r, &w->m, T0 + 30, NULL), SUCCESSION_ADDED);
    assert_current(w, &w->m);
    world_free(w);
}

static void collect(void *ctx, const struct proto_succession *s)
{
    memcpy(ctx, s->new_key, 32);
}

/* This node's own chain, loaded from its store without the trust clause, is what it sends. */
static void test_own_chain(void **state)
{
    (void)state;
    struct world *w = world_new(false);
    struct proto_succession s1, s2;
    make(&s1, PROTO_SUCCESSION_ROTATION, &w->m, &w->m, &w->p, T0);
    make(&s2, PROTO_SUCCESSION_ROTATION, &w->p, &w->p, &w->self, T0 + 1);
    assert_int_equal(succession_offer(&w->t, &w->cfg, w->self.sign_pk, &s2, true, NULL),
                     SUCCESSION_ADDED);
    assert_int_equal(succession_offer(&w->t, &w->cfg, w->self.sign_pk, &s1, true, NULL),
                     SUCCESSION_ADDED);
    uint8_t last[32];
    assert_int_equal(succession_chain(&w->t, w->self.sign_pk, collect, last), 2);
    assert_memory_equal(last, w->self.sign_pk, 32);
    /* a statement closing the chain into a loop is refused, trusted or not */
    struct proto_succession back;
    make(&back, PROTO_SUCCESSION_ROTATION, &w->self, &w->self, &w->m, T0 + 2);
    assert_int_equal(succession_offer(&w->t, &w->cfg, w->self.sign_pk, &back, true, NULL),
                     SUCCESSION_E_CONFLICT);
    world_free(w);
}

static void relay_into(void *ctx, const struct proto_succession *s)
{
    struct world *to = ctx;
    assert_true(succession_offer(&to->t, &to->cfg, to->self.sign_pk, s, false, NULL) > 0);
}

/* What a node relays (docs/PROTOCOL.md "Key succession", relay): statements about keys the
 * receiver does not trust change nothing and cost no penalty within the documented budget; a
 * peer's table, walked chain by chain, is taken whole by a receiver that trusts its start. */
static void test_relay(void **state)
{
    (void)state;
    struct world *w = world_new(true);
    const uint8_t R = PROTO_SUCCESSION_ROTATION, V = PROTO_SUCCESSION_RECOVERY;
    assert_int_equal(offer(w, R, &w->o, &w->o, &w->n, T0, NULL), SUCCESSION_ADDED);
    /* a deep copy: the struct shares its statements with w->t */
    const size_t before_n = w->t.n;
    struct proto_succession before[1];
    assert_int_equal(before_n, 1);
    memcpy(before, w->t.e, sizeof before);
    /* a stranger's rotation, a stranger's recovery, a recovery of o by a key not its own */
    assert_int_equal(offer(w, R, &w->m, &w->m, &w->p, T0, NULL), SUCCESSION_E_UNTRUSTED);
    assert_int_equal(offer(w, V, &w->r, &w->m, &w->p, T0, NULL), SUCCESSION_E_UNTRUSTED);
    assert_int_equal(offer(w, V, &w->rec2, &w->o, &w->p, T0, NULL), SUCCESSION_E_UNTRUSTED);
    assert_int_equal(w->t.n, before_n);
    assert_memory_equal(w->t.e, before, sizeof before);
    /* the budget: a whole table of such statements at every session open is no penalty */
    struct peerscore score;
    peerscore_reset(&score, 0);
    for (int i = 0; i < LIMIT_SUCCESSIONS; i++)
        assert_true(peerscore_take(&score, PEERSCORE_DUPLICATE, LIMIT_PEER_SUCCESSION_COST, 0));
    /* a flood is handled like duplicate records: the bucket empties, the session closes */
    int i = 0;
    while (i < LIMIT_PEER_DUP_BURST && peerscore_take(&score, PEERSCORE_DUPLICATE,
                                                      LIMIT_PEER_SUCCESSION_COST, 0))
        i++;
    assert_true(i < LIMIT_PEER_DUP_BURST);
    assert_int_equal(peerscore_reason(PEERSCORE_DUPLICATE), PEERSCORE_E_DUPLICATE);
    /* the recovery, then o's recovered key rotating on; loaded in reverse order by a node that
     * stored them (trusted), relayed chain by chain: a partner that trusts o takes them all */
    struct world *src = world_new(true), *dst = world_new(true);
    struct proto_succession s1, s2, s3;
    make(&s1, R, &src->o, &src->o, &src->n, T0);
    make(&s2, V, &src->x, &src->o, &src->r, T0 + 1);
    make(&s3, R, &src->r, &src->r, &src->m, T0 + 2);
    assert_int_equal(succession_offer(&src->t, &src->cfg, src->self.sign_pk, &s3, true, NULL),
                     SUCCESSION_ADDED);
    assert_int_equal(succession_offer(&src->t, &src->cfg, src->self.sign_pk, &s1, true, NULL),
                     SUCCESSION_ADDED);
    assert_int_equal(succession_offer(&src->t, &src->cfg, src->self.sign_pk, &s2, true, NULL),
                     SUCCESSION_REPLACED);
    assert_int_equal(src->t.n, 2);
    assert_int_equal(succession_each(&src->t, relay_into, dst), 2);
    assert_current(dst, &dst->m);
    world_free(w), world_free(src), world_free(dst);
}

/* The table grows on demand up to LIMIT_SUCCESSIONS statements, keeps them in order, and
 * refuses the next one whole (SUCCESSION_E_FULL, nothing changed). Each statement is its own
 * chain (old key i to new key i, keys from distinct seeds), stored by this node (trusted). */
static void test_full(void **state)
{
    (void)state;
    struct world *w = world_new(false);
    struct proto_succession *s = calloc(LIMIT_SUCCESSIONS + 1, sizeof *s);
    assert_non_null(s);
    for (size_t i = 0; i <= LIMIT_SUCCESSIONS; i++) {
        struct keys_identity old, new;
        uint8_t seed[LIMIT_KEY_BYTES] = {0xA0};
        memcpy(seed + 1, &i, sizeof i);
        keys_identity_from_seed(seed, &old);
        seed[0] = 0xB0;
        keys_identity_from_seed(seed, &new);
        make(&s[i], PROTO_SUCCESSION_ROTATION, &old, &old, &new, T0);
        keys_identity_wipe(&old), keys_identity_wipe(&new);
        int want = i < LIMIT_SUCCESSIONS ? SUCCESSION_ADDED : SUCCESSION_E_FULL;
        assert_int_equal(succession_offer(&w->t, &w->cfg, w->self.sign_pk, &s[i], true, NULL),
                         want);
        assert_true(w->t.n <= w->t.cap && w->t.cap <= LIMIT_SUCCESSIONS);
    }
    assert_int_equal(w->t.n, LIMIT_SUCCESSIONS);
    for (size_t i = 0; i < LIMIT_SUCCESSIONS; i++)
        assert_memory_equal(w->t.e[i].bytes, s[i].bytes, LIMIT_SUCCESSION_BYTES);
    assert_null(succession_of(&w->t, s[LIMIT_SUCCESSIONS].old_key));
    free(s);
    world_free(w);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vector_and_layout), cmocka_unit_test(test_mutants),
        cmocka_unit_test(test_fields),            cmocka_unit_test(test_rule_rotation),
        cmocka_unit_test(test_rule_recovery),     cmocka_unit_test(test_own_chain),
        cmocka_unit_test(test_relay),             cmocka_unit_test(test_full),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
