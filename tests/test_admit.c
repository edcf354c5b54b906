/* test_admit.c - the accept policy of the engine (node/core/engine_admit.c): who may start a
 * handshake when the half-open table is contended (issue 12, "handshake floods").
 *
 * Sans-IO like test_session.c (whose in-memory network it uses): the test is the shell, passes
 * each connection's source address and `now`, and plays a real Noise initiator by hand
 * (struct ini) so that it can interleave a flood between the messages of one handshake.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "node/core/engine.h"
#include "node/core/session.h"
#include "tests/session_net.h"
#include "tests/support/ts_ident.h"

#define NET     "n"
#define PARTNER 5 /* seed of the configured peer's identity */

/* --- a Noise initiator driven by the test --- */

struct ini {
    struct session s;
    struct keys_identity id;
    uint8_t auth[SESSION_AUTH_BYTES];
    uint8_t *scratch;
    uint8_t out[1024]; /* what it sent, not yet handed to the node */
    size_t out_len;
    bool opened;
};

static int ini_send(void *ctx, const uint8_t *bytes, size_t len)
{
    struct ini *in = ctx;
    assert_true(in->out_len + len <= sizeof in->out);
    memcpy(in->out + in->out_len, bytes, len);
    in->out_len += len;
    return 0;
}

static bool ini_allowed(void *ctx, const uint8_t key[LIMIT_KEY_BYTES])
{
    (void)ctx, (void)key;
    return true; /* the initiator checks expect_key instead */
}

static void ini_opened(void *ctx)
{
    ((struct ini *)ctx)->opened = true;
}

static void ini_message(void *ctx, uint8_t type, const uint8_t *body, size_t len)
{
    (void)ctx, (void)type, (void)body, (void)len;
}

static struct session_cb ini_cb(struct ini *in)
{
    return (struct session_cb){.ctx = in,
                               .send = ini_send,
                               .peer_allowed = ini_allowed,
                               .opened = ini_opened,
                               .message = ini_message,
                               .scratch = in->scratch};
}

/* Message 1 of identity `seed` towards node `to`, waiting in in->out. */
static void ini_start(struct ini *in, uint8_t seed, const struct tnode *to)
{
    memset(in, 0, sizeof *in);
    ts_identity(seed, &in->id);
    session_auth_payload(&in->id, in->auth);
    in->scratch = malloc(SESSION_SCRATCH_BYTES);
    assert_non_null(in->scratch);
    uint8_t eph[32];
    memset(eph, seed ^ 0x33, sizeof eph);
    struct session_params p = {.initiator = true,
                               .id = &in->id,
                               .network = NET,
                               .ephemeral_sk = eph,
                               .expect_key = to->id.sign_pk,
                               .auth = in->auth};
    struct session_cb cb = ini_cb(in);
    assert_int_equal(session_init(&in->s, &p, &cb), SESSION_OK);
}

static void ini_free(struct ini *in)
{
    session_free(&in->s);
    keys_identity_wipe(&in->id);
    free(in->scratch);
}

/* Hands what the initiator sent to the node (on connection h at now). */
static void ini_flush(struct ini *in, struct tnode *n, engine_conn h)
{
    size_t len = in->out_len;
    in->out_len = 0;
    engine_on_data(&n->e, h, in->out, len, n->net->now);
}

/* Feeds the initiator what the node wrote on link l. */
static void ini_take(struct ini *in, struct link *l)
{
    struct session_cb cb = ini_cb(in);
    assert_int_equal(session_feed(&in->s, l->buf[0], l->len[0], &cb), SESSION_OK);
    l->len[0] = 0;
}

/* A connection from ip that has sent message 1 and holds message 2: its link. */
static struct link *ini_connect(struct ini *in, struct tnode *n, const char *ip, engine_conn *h)
{
    *h = raw_link(n, ip);
    struct link *l = &n->net->links[n->net->n_links - 1];
    ini_flush(in, n, *h);
    assert_true(l->len[0] > 0 && !l->closed[0]);
    return l;
}

/* Message 3 and HELLO: true if the node opened the session. */
static bool ini_finish(struct ini *in, struct tnode *n, struct link *l, engine_conn h)
{
    if (l->closed[0])
        return false;
    int ups = n->ups;
    ini_take(in, l);
    ini_flush(in, n, h);
    return n->ups == ups + 1 && !l->closed[0];
}

/* --- attackers --- */

/* A connection from ip that sends nothing: no link (the node has nothing to send it). */
static engine_conn silent(struct tnode *n, const char *ip)
{
    int64_t h = engine_on_accept(&n->e, ip, 5555, n->net->now);
    assert_true(h >= 0);
    return (engine_conn)h;
}

/* One that sends a valid message 1 (a random ephemeral key) and stops: it gets message 2. */
static engine_conn stalled_after_msg1(struct tnode *n, const char *ip)
{
    engine_conn h = raw_link(n, ip);
    uint8_t m[2 + SESSION_MSG1_BYTES] = {0, SESSION_MSG1_BYTES};
    randombytes_buf(m + 2, SESSION_MSG1_BYTES);
    engine_on_data(&n->e, h, m, sizeof m, n->net->now);
    return h;
}

/* Address i of a flood, each in its own /24 so that no subnet stands out. */
static const char *flood_ip(int i, char buf[32])
{
    snprintf(buf, 32, "10.%d.%d.9", 1 + i / 250, i % 250);
    return buf;
}

static bool closed(const struct tnode *n, engine_conn h)
{
    for (size_t i = 0; i < n->net->n_links; i++)
        if (n->net->links[i].n[0] == n && n->net->links[i].c[0] == h)
            return n->net->links[i].closed[0];
    fail_msg("no link");
    return false;
}

/* Node b of a new network, with partner (identity PARTNER, no endpoint) as its peer. */
static struct tnode *node_with_partner(struct net **net, struct tnode *partner)
{
    *net = net_new();
    struct tnode *b = add_node(*net, 2, 7000, NET, 0);
    memset(partner, 0, sizeof *partner);
    ts_identity(PARTNER, &partner->id);
    allow(b, partner, false, "partner");
    return b;
}

/* --- tests --- */

static void test_addr_cap_replaces_own_worst(void **state)
{
    (void)state;
    struct net *net = net_new();
    struct tnode *b = add_node(net, 2, 7000, NET, 0);
    engine_conn h[LIMIT_HALF_OPEN_PER_ADDR];
    for (int i = 0; i < LIMIT_HALF_OPEN_PER_ADDR; i++) {
        net->now = 10 + (uint64_t)i;
        h[i] = raw_link(b, "192.0.2.7");
    }
    engine_conn other = raw_link(b, "192.0.2.8");
    net->now = 100;
    engine_conn h5 = raw_link(b, "192.0.2.7");
    assert_true(closed(b, h[0])); /* its own oldest */
    for (int i = 1; i < LIMIT_HALF_OPEN_PER_ADDR; i++)
        assert_false(closed(b, h[i]));
    assert_false(closed(b, h5) || closed(b, other));
    assert_int_equal(b->e.stats.evicted_addr, 1);
    assert_int_equal(b->e.half_open, LIMIT_HALF_OPEN_PER_ADDR + 1);
    assert_string_equal(b->last_detail, engine_strerror(ENGINE_E_EVICTED));
    /* an IPv6 host is its /64: other addresses of it share one cap */
    for (int i = 0; i < LIMIT_HALF_OPEN_PER_ADDR; i++)
        raw_link(b, i % 2 ? "2001:db8:1:2::1" : "2001:db8:1:2:ffff::2");
    raw_link(b, "2001:db8:1:2::3");
    assert_int_equal(b->e.stats.evicted_addr, 2);
    net_free(net);
}

static void test_full_evicts_from_busiest_subnet(void **state)
{
    (void)state;
    struct net *net = net_new();
    struct tnode *b = add_node(net, 2, 7000, NET, 0);
    char ip[32];
    engine_conn lone[4], busy_first = 0;
    for (int i = 0; i < 4; i++) { /* the oldest, each alone in its /24 */
        snprintf(ip, sizeof ip, "203.0.%d.1", 113 + i);
        lone[i] = raw_link(b, ip);
    }
    for (int i = 0; i < LIMIT_HALF_OPEN - 4; i++) { /* 60 from one /24, 4 each of 15 hosts */
        net->now = 10 + (uint64_t)i;
        snprintf(ip, sizeof ip, "198.51.100.%d", i / LIMIT_HALF_OPEN_PER_ADDR);
        engine_conn h = raw_link(b, ip);
        if (i == 0)
            busy_first = h;
    }
    assert_int_equal(b->e.half_open, LIMIT_HALF_OPEN);
    net->now = 1000;
    assert_true(engine_on_accept(&b->e, "192.0.2.1", 1, net->now) >= 0);
    assert_true(closed(b, busy_first));
    for (int i = 0; i < 4; i++)
        assert_false(closed(b, lone[i]));
    assert_int_equal(b->e.stats.evicted_full, 1);
    assert_int_equal(b->e.stats.refused_half_open, 0);
    assert_int_equal(b->e.half_open, LIMIT_HALF_OPEN);
    net_free(net);
}

/* Equal subnets: a connection that sent nothing goes before one that sent message 1, and among
 * those that got as far, the one silent longest. */
static void test_full_evicts_least_progressed_then_stalest(void **state)
{
    (void)state;
    struct net *net = net_new();
    struct tnode *b = add_node(net, 2, 7000, NET, 0);
    char ip[32];
    engine_conn early = stalled_after_msg1(b, flood_ip(0, ip)); /* oldest, but went further */
    engine_conn h[LIMIT_HALF_OPEN];
    for (int i = 1; i < LIMIT_HALF_OPEN; i++) {
        net->now = (uint64_t)i;
        h[i] = raw_link(b, flood_ip(i, ip));
    }
    net->now = 200; /* h[1] sends part of message 1: fresher than h[2] */
    uint8_t part[3] = {0, SESSION_MSG1_BYTES, 7};
    engine_on_data(&b->e, h[1], part, sizeof part, net->now);
    silent(b, "192.0.2.1");
    assert_true(closed(b, h[2]));
    assert_false(closed(b, h[1]) || closed(b, early));
    for (int i = 3; i < LIMIT_HALF_OPEN; i++) /* every silent one goes before message 1 */
        silent(b, flood_ip(100 + i, ip));
    assert_false(closed(b, early));
    assert_int_equal(b->e.stats.evicted_full, LIMIT_HALF_OPEN - 2);
    net_free(net);
}

/* The case of issue 12: a partner that is not known by address yet, in the middle of its
 * handshake, while 1,000 addresses from 1,000 subnets connect and send nothing or part of
 * message 1. */
static void test_unknown_peer_survives_flood(void **state)
{
    (void)state;
    struct net *net;
    struct tnode partner;
    struct tnode *b = node_with_partner(&net, &partner);
    char ip[32];
    int ok = 0;
    for (int round = 0; round < 10; round++) {
        for (int i = 0; i < 100; i++) {
            net->now++;
            engine_conn h = silent(b, flood_ip(round * 100 + i, ip));
            if (i % 2) {
                uint8_t part[5] = {0, SESSION_MSG1_BYTES, 1, 2, 3};
                engine_on_data(&b->e, h, part, sizeof part, net->now);
            }
        }
        struct ini in;
        ini_start(&in, PARTNER, b);
        engine_conn h;
        char addr[32];
        snprintf(addr, sizeof addr, "172.16.%d.1", round); /* a new address each time */
        struct link *l = ini_connect(&in, b, addr, &h);
        for (int i = 0; i < 100; i++) { /* the flood goes on between messages 2 and 3 */
            net->now++;
            silent(b, flood_ip(1000 + round * 100 + i, ip));
        }
        ok += ini_finish(&in, b, l, h);
        ini_free(&in);
    }
    assert_int_equal(ok, 10);
    assert_int_equal(b->e.stats.handshakes_ok, 10);
    assert_true(b->e.stats.evicted_full > 900);
    keys_identity_wipe(&partner.id);
    net_free(net);
}

/* The valid-message-1 staller (issue 12): addresses that send a valid message 1, get message 2
 * and never answer, reconnecting as soon as they are evicted. A partner new to the node by
 * address, between its messages 2 and 3, used to survive only LIMIT_HALF_OPEN newer such
 * half-opens; now an address evicted while waiting for message 3 goes first next time, so the
 * partner outlives any number of them once each staller address was evicted there once. */
static void test_partner_outlives_stallers(void **state)
{
    (void)state;
    struct net *net;
    struct tnode partner;
    struct tnode *b = node_with_partner(&net, &partner);
    char ip[32];
    for (int i = 0; i < 2 * LIMIT_HALF_OPEN; i++) { /* the second half evicts the first */
        net->now++;
        stalled_after_msg1(b, flood_ip(i, ip));
    }
    assert_int_equal(b->e.stats.evicted_full, LIMIT_HALF_OPEN);
    struct ini in;
    ini_start(&in, PARTNER, b);
    engine_conn h;
    net->now++;
    struct link *l = ini_connect(&in, b, "172.16.0.1", &h);
    for (int i = 0; i < 4 * LIMIT_HALF_OPEN; i++) { /* the first half come back, 4 times each */
        net->now++;
        stalled_after_msg1(b, flood_ip(i % LIMIT_HALF_OPEN, ip));
    }
    assert_false(closed(b, h));
    assert_true(ini_finish(&in, b, l, h));
    assert_int_equal(b->e.stats.handshakes_ok, 1);
    assert_int_equal(b->e.stats.evicted_full + b->e.stats.evicted_addr, 5 * LIMIT_HALF_OPEN + 1);
    ini_free(&in);
    keys_identity_wipe(&partner.id);
    net_free(net);
}

/* A partner whose address the node knows (its last session came from there) is never evicted by
 * others, even by attackers that look exactly like it (valid message 1, then nothing) and are
 * fresher than it. */
static void test_known_address_is_protected(void **state)
{
    (void)state;
    struct net *net;
    struct tnode partner;
    struct tnode *b = node_with_partner(&net, &partner);
    struct ini in;
    engine_conn h;
    ini_start(&in, PARTNER, b);
    struct link *l = ini_connect(&in, b, "192.0.2.50", &h);
    assert_true(ini_finish(&in, b, l, h)); /* first session: the node learns 192.0.2.50 */
    ini_free(&in);
    engine_on_closed(&b->e, h, net->now);
    l->closed[0] = true;

    char ip[32];
    for (int i = 0; i < LIMIT_HALF_OPEN; i++)
        stalled_after_msg1(b, flood_ip(i, ip));
    net->now = 1000;
    ini_start(&in, PARTNER, b);
    l = ini_connect(&in, b, "192.0.2.50", &h);
    for (int i = 0; i < 1000; i++) {
        net->now++;
        stalled_after_msg1(b, flood_ip(100 + i, ip));
    }
    assert_true(ini_finish(&in, b, l, h));
    ini_free(&in);
    assert_int_equal(b->e.stats.handshakes_ok, 2);
    keys_identity_wipe(&partner.id);
    net_free(net);
}

/* Endpoint address literals count as known. When every half-open is protected, a newcomer from
 * elsewhere is refused; a protected address over its cap still replaces its own. */
static void test_all_protected_refuses(void **state)
{
    (void)state;
    struct net *net = net_new();
    struct tnode *b = add_node(net, 2, 7000, NET, 0);
    enum { N = LIMIT_HALF_OPEN / LIMIT_HALF_OPEN_PER_ADDR };
    struct engine_peer_conf confs[N];
    memset(confs, 0, sizeof confs);
    for (int i = 0; i < N; i++) {
        confs[i].key[0] = (uint8_t)(i + 1); /* never authenticated: only the address matters */
        snprintf(confs[i].host, sizeof confs[i].host, "192.0.2.%d", 50 + i);
        confs[i].port = 7000; /* no tick: the node never dials them */
    }
    assert_int_equal(engine_set_peers(&b->e, confs, N, net->now), ENGINE_OK);
    char ip[32];
    for (int i = 0; i < LIMIT_HALF_OPEN; i++) {
        snprintf(ip, sizeof ip, "192.0.2.%d", 50 + i / LIMIT_HALF_OPEN_PER_ADDR);
        silent(b, ip);
    }
    assert_int_equal(engine_on_accept(&b->e, "10.1.1.1", 1, net->now), ENGINE_E_HALF_OPEN);
    assert_int_equal(b->e.stats.refused_half_open, 1);
    assert_true(engine_on_accept(&b->e, "192.0.2.50", 1, net->now) >= 0);
    assert_int_equal(b->e.stats.evicted_addr, 1);
    assert_int_equal(b->e.stats.evicted_full, 0);
    net_free(net);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_addr_cap_replaces_own_worst),
        cmocka_unit_test(test_full_evicts_from_busiest_subnet),
        cmocka_unit_test(test_full_evicts_least_progressed_then_stalest),
        cmocka_unit_test(test_unknown_peer_survives_flood),
        cmocka_unit_test(test_partner_outlives_stallers),
        cmocka_unit_test(test_known_address_is_protected),
        cmocka_unit_test(test_all_protected_refuses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
