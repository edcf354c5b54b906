/* test_session.c - the channel (session) and node engine, wired back-to-back in memory.
 *
 * No sockets and no clock: a tiny in-memory "network" implements struct engine_io, moves bytes
 * between engines when the test pumps it, and the test sets `now`. Keys are real
 * (ts_identity: keys_identity_from_seed), the Noise handshake and ciphers are real.
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
#include "tests/support/ts_ident.h"
#include "tests/session_net.h"

/* --- tests --- */

static void connect_pair(struct net *net, struct tnode **a, struct tnode **b, uint64_t rekey)
{
    *a = add_node(net, 1, 0, "test-net", rekey);
    *b = add_node(net, 2, 7000, "test-net", rekey);
    allow(*a, *b, true, "bee");
    allow(*b, *a, false, "ay");
    tick_all(net, 0);
}

static void test_handshake_and_message(void **state)
{
    (void)state;
    struct net *net = net_new();
    struct tnode *a, *b;
    connect_pair(net, &a, &b, 0);
    assert_int_equal(engine_connected_count(&a->e), 1);
    assert_int_equal(engine_connected_count(&b->e), 1);
    assert_int_equal(a->ups, 1);
    assert_int_equal(b->ups, 1);
    assert_string_equal(b->last_event, "connected");
    struct engine_peer_stats st = peer_stats(a, b);
    assert_int_equal(st.state, ENGINE_PEER_CONNECTED);
    assert_string_equal(st.address, "node:7000");
    /* msg1 32+2, msg3 160+2, HELLO 1+5+16+2 */
    assert_int_equal(st.bytes_out, 34 + 162 + 24);
    assert_int_equal(st.frames_out, 3);
    assert_int_equal(st.frames_in, 2);

    const uint8_t body[] = {0xde, 0xad, 0xbe, 0xef};
    assert_int_equal(engine_send(&a->e, engine_peer_find(&a->e, b->id.sign_pk), 200, body,
                                 sizeof body, 0), SESSION_OK);
    pump(net);
    assert_int_equal(b->msgs, 1);
    assert_int_equal(b->msg_type, 200);
    assert_int_equal(b->msg_len, sizeof body);
    assert_memory_equal(b->msg_body, body, sizeof body);
    net_free(net);
}

static void test_rekey_keeps_channel(void **state)
{
    (void)state;
    struct net *net = net_new();
    struct tnode *a, *b;
    connect_pair(net, &a, &b, 3);
    size_t pb = engine_peer_find(&a->e, b->id.sign_pk);
    for (uint8_t i = 0; i < 20; i++) {
        assert_int_equal(engine_send(&a->e, pb, 16, &i, 1, 0), SESSION_OK);
        pump(net);
        assert_int_equal(b->msg_len, 1);
        assert_int_equal(b->msg_body[0], i);
    }
    assert_int_equal(b->msgs, 20);
    /* a sent HELLO + 20 messages and a REKEY after the 3rd, 6th, ... 21st; b rekeyed on each */
    assert_int_equal(peer_stats(a, b).rekeys, 7);
    assert_int_equal(peer_stats(b, a).rekeys, 7);
    assert_int_equal(peer_stats(a, b).frames_out, 2 + 1 + 20 + 7); /* handshake, HELLO, REKEYs */
    assert_int_equal(engine_connected_count(&b->e), 1);
    net_free(net);
}

/* Sends one byte each way and checks it arrives: both sides agree on both directions' keys. */
static void exchange(struct net *net, struct tnode *a, struct tnode *b, uint8_t byte)
{
    int a_msgs = a->msgs, b_msgs = b->msgs;
    assert_int_equal(engine_send(&a->e, engine_peer_find(&a->e, b->id.sign_pk), 16, &byte, 1,
                                 net->now), SESSION_OK);
    assert_int_equal(engine_send(&b->e, engine_peer_find(&b->e, a->id.sign_pk), 17, &byte, 1,
                                 net->now), SESSION_OK);
    pump(net);
    assert_int_equal(b->msgs, b_msgs + 1);
    assert_int_equal(b->msg_type, 16);
    assert_int_equal(b->msg_body[0], byte);
    assert_int_equal(a->msgs, a_msgs + 1);
    assert_int_equal(a->msg_type, 17);
    assert_int_equal(a->msg_body[0], byte);
}

static void test_rekey_on_time(void **state)
{
    (void)state;
    struct net *net = net_new();
    struct tnode *a = add_node_rekey(net, 1, 0, "test-net", 0, 5000);
    struct tnode *b = add_node_rekey(net, 2, 7000, "test-net", 0, 5000);
    allow(a, b, true, "bee");
    allow(b, a, false, "ay");
    tick_all(net, 0);
    assert_int_equal(engine_connected_count(&a->e), 1);
    exchange(net, a, b, 1);
    /* the rekey is the earliest timer (keepalive would be at 15 s) */
    assert_int_equal(engine_next_deadline(&a->e), 5000);
    assert_int_equal(engine_next_deadline(&b->e), 5000);
    tick_all(net, 4999);
    assert_int_equal(peer_stats(a, b).rekeys, 0);
    assert_int_equal(peer_stats(b, a).rekeys, 0);
    uint64_t frames = peer_stats(a, b).frames_out;

    tick_all(net, 5000);
    /* each side replaced its sending key and, on REKEY, its receiving key */
    assert_int_equal(peer_stats(a, b).rekeys, 2);
    assert_int_equal(peer_stats(b, a).rekeys, 2);
    assert_int_equal(peer_stats(a, b).frames_out, frames + 1); /* one REKEY frame */
    exchange(net, a, b, 2);
    assert_int_equal(engine_next_deadline(&a->e), 10000);

    /* at 15 s the rekey also stands for the keepalive that is due then */
    tick_all(net, 10000);
    frames = peer_stats(a, b).frames_out;
    tick_all(net, 15000);
    assert_int_equal(peer_stats(a, b).frames_out, frames + 1);
    assert_int_equal(peer_stats(a, b).rekeys, 6);
    assert_int_equal(peer_stats(b, a).rekeys, 6);
    exchange(net, a, b, 3);
    assert_int_equal(engine_connected_count(&a->e), 1);
    assert_int_equal(engine_connected_count(&b->e), 1);
    assert_int_equal(peer_stats(a, b).errors, 0);
    assert_int_equal(peer_stats(b, a).errors, 0);
    net_free(net);
}

/* Plays a Noise initiator on a raw connection to n and returns n's message-2 payload. */
static void raw_responder_payload(struct tnode *n, const char *ip, uint8_t seed_byte,
                                  uint8_t payload[SESSION_AUTH_BYTES])
{
    static const char prologue[] = "tlpmesh/1\0test-net";
    uint8_t s_sk[32], e_sk[32], frame[2 + SESSION_MSG2_BYTES] = {0, SESSION_MSG1_BYTES};
    memset(s_sk, seed_byte, sizeof s_sk);
    memset(e_sk, seed_byte ^ 0xff, sizeof e_sk);
    struct noise_hs hs;
    assert_int_equal(noise_hs_init(&hs, true, (const uint8_t *)prologue, sizeof prologue - 1, s_sk,
                                   e_sk), 0);
    assert_int_equal(noise_hs_write(&hs, NULL, 0, frame + 2, sizeof frame - 2), SESSION_MSG1_BYTES);
    engine_conn h = raw_link(n, ip);
    engine_on_data(&n->e, h, frame, 2 + SESSION_MSG1_BYTES, n->net->now);
    struct link *l = &n->net->links[n->net->n_links - 1];
    assert_int_equal(l->c[0], h);
    assert_int_equal(l->len[0], 2 + SESSION_MSG2_BYTES);
    assert_int_equal(l->buf[0][0] << 8 | l->buf[0][1], SESSION_MSG2_BYTES);
    assert_int_equal(noise_hs_read(&hs, l->buf[0] + 2, SESSION_MSG2_BYTES, payload,
                                   SESSION_AUTH_BYTES), SESSION_AUTH_BYTES);
    noise_hs_wipe(&hs);
}

static void test_auth_payload_signed_once(void **state)
{
    (void)state;
    struct net *net = net_new();
    struct tnode *b = add_node(net, 2, 7000, "test-net", 0);
    uint8_t first[SESSION_AUTH_BYTES], second[SESSION_AUTH_BYTES], expect[SESSION_AUTH_BYTES];
    raw_responder_payload(b, "192.0.2.1", 0x31, first);
    raw_responder_payload(b, "192.0.2.2", 0x32, second);
    assert_memory_equal(first, second, SESSION_AUTH_BYTES);
    /* the bytes engine_init signed, and they are what docs/PROTOCOL.md "Channel" says */
    assert_memory_equal(b->e.auth, first, SESSION_AUTH_BYTES);
    session_auth_payload(&b->id, expect);
    assert_memory_equal(first, expect, SESSION_AUTH_BYTES);
    assert_memory_equal(first, b->id.sign_pk, LIMIT_KEY_BYTES);
    uint8_t msg[sizeof SESSION_SIG_CONTEXT - 1 + LIMIT_KEY_BYTES];
    memcpy(msg, SESSION_SIG_CONTEXT, sizeof SESSION_SIG_CONTEXT - 1);
    memcpy(msg + sizeof SESSION_SIG_CONTEXT - 1, b->id.noise_pk, LIMIT_KEY_BYTES);
    assert_int_equal(crypto_sign_verify_detached(first + LIMIT_KEY_BYTES, msg, sizeof msg,
                                                 b->id.sign_pk), 0);
    net_free(net);
}

static void test_wrong_network(void **state)
{
    (void)state;
    struct net *net = net_new();
    struct tnode *a = add_node(net, 1, 0, "net-one", 0);
    struct tnode *b = add_node(net, 2, 7000, "net-two", 0);
    allow(a, b, true, "b");
    allow(b, a, false, "a");
    tick_all(net, 0);
    assert_int_equal(engine_connected_count(&a->e), 0);
    assert_int_equal(engine_connected_count(&b->e), 0);
    assert_int_equal(peer_stats(a, b).last_error, SESSION_E_HANDSHAKE);
    assert_string_equal(a->last_event, "failed");
    assert_int_equal(a->e.stats.handshakes_failed, 1);
    net_free(net);
}

static void test_unknown_key_refused(void **state)
{
    (void)state;
    struct net *net = net_new();
    struct tnode *a = add_node(net, 1, 0, "n", 0);
    struct tnode *b = add_node(net, 2, 7000, "n", 0);
    struct tnode *c = add_node(net, 3, 0, "n", 0);
    allow(a, b, true, "b");
    allow(b, c, false, "c"); /* b knows c, not a */
    tick_all(net, 0);
    assert_int_equal(engine_connected_count(&a->e), 0);
    assert_int_equal(engine_connected_count(&b->e), 0);
    assert_string_equal(b->last_event, "refused");
    assert_string_equal(b->last_detail, session_strerror(SESSION_E_UNKNOWN_PEER));
    assert_int_equal(b->e.stats.handshakes_failed, 1);
    /* a, the dialling side, names the likely reason (issue 11, point 11) */
    assert_int_equal(peer_stats(a, b).last_error, ENGINE_E_HS_CLOSED);
    assert_string_equal(a->last_event, "failed");
    assert_string_equal(a->last_detail, "handshake closed by peer: is our key in its config?");
    net_free(net);
}

static void test_initiator_refuses_wrong_responder(void **state)
{
    (void)state;
    struct net *net = net_new();
    struct tnode *a = add_node(net, 1, 0, "n", 0);
    struct tnode *b = add_node(net, 2, 0, "n", 0);    /* the peer a means to reach */
    struct tnode *c = add_node(net, 3, 7000, "n", 0); /* who actually answers at its address */
    b->port = 7001;
    allow(a, b, false, "b");
    /* a's config points b's key at c's address */
    struct engine_peer_conf conf = {0};
    memcpy(conf.key, b->id.sign_pk, LIMIT_KEY_BYTES);
    snprintf(conf.host, sizeof conf.host, "node");
    conf.port = 7000;
    assert_int_equal(engine_set_peers(&a->e, &conf, 1, 0), ENGINE_OK);
    allow(c, a, false, "a");
    tick_all(net, 0);
    assert_int_equal(engine_connected_count(&a->e), 0);
    assert_int_equal(engine_connected_count(&c->e), 0);
    assert_int_equal(peer_stats(a, b).last_error, SESSION_E_WRONG_PEER);
    net_free(net);
}

static void test_first_frame_not_32_dropped(void **state)
{
    (void)state;
    struct net *net = net_new();
    struct tnode *b = add_node(net, 2, 7000, "n", 0);
    engine_conn h = raw_link(b, "192.0.2.1");
    const uint8_t hdr[] = {0x00, 0x21}; /* 33 */
    engine_on_data(&b->e, h, hdr, sizeof hdr, 0);
    assert_int_equal(b->closes, 1);
    assert_int_equal(b->last_closed, h);
    assert_string_equal(b->last_detail, session_strerror(SESSION_E_FIRST));
    assert_int_equal(b->e.half_open, 0);
    /* the connection is gone: more bytes on the stale handle are ignored */
    engine_on_data(&b->e, h, hdr, sizeof hdr, 0);
    assert_int_equal(b->closes, 1);
    net_free(net);
}

static void test_garbage_closes_only_that_session(void **state)
{
    (void)state;
    struct net *net = net_new();
    struct tnode *a = add_node(net, 1, 0, "n", 0);
    struct tnode *b = add_node(net, 2, 7000, "n", 0);
    struct tnode *c = add_node(net, 3, 0, "n", 0);
    allow(a, b, true, "b");
    allow(c, b, true, "b");
    allow(b, a, false, "a");
    allow(b, c, false, "c");
    tick_all(net, 0);
    assert_int_equal(engine_connected_count(&b->e), 2);

    /* a raw connection sending a 32-byte message 1 of garbage, then silence: still half-open */
    engine_conn raw = raw_link(b, "192.0.2.9");
    uint8_t junk[2 + 32] = {0x00, 0x20};
    memset(junk + 2, 0xab, 32);
    engine_on_data(&b->e, raw, junk, sizeof junk, 0);
    assert_int_equal(b->e.half_open, 1);

    /* a full-size frame of garbage inside the established a->b session */
    size_t big = 2 + LIMIT_FRAME_BYTES;
    uint8_t *frame = malloc(big);
    assert_non_null(frame);
    frame[0] = 0xff;
    frame[1] = 0xff;
    memset(frame + 2, 0x42, LIMIT_FRAME_BYTES);
    struct link *ab = &net->links[0];
    assert_ptr_equal(ab->n[0], a);
    engine_on_data(&b->e, ab->c[1], frame, big, 0);
    free(frame);
    assert_string_equal(b->last_detail, session_strerror(SESSION_E_DECRYPT));
    assert_int_equal(peer_stats(b, a).last_error, SESSION_E_DECRYPT);
    assert_int_equal(b->e.stats.protocol_errors, 1);
    assert_int_equal(peer_stats(b, c).state, ENGINE_PEER_CONNECTED);
    assert_int_equal(b->e.half_open, 1);

    /* a zero-length frame inside c's session */
    struct link *cb = &net->links[1];
    assert_ptr_equal(cb->n[0], c);
    const uint8_t zero[] = {0, 0};
    engine_on_data(&b->e, cb->c[1], zero, sizeof zero, 0);
    assert_int_equal(peer_stats(b, c).last_error, SESSION_E_FRAME);

    /* a reconnects after its backoff and the node works as before */
    pump(net);
    tick_all(net, LIMIT_BACKOFF_MIN_MS);
    assert_int_equal(engine_connected_count(&b->e), 2);
    net_free(net);
}

static void simultaneous(uint8_t seed_a, uint8_t seed_b)
{
    struct net *net = net_new();
    struct tnode *a = add_node(net, seed_a, 7001, "n", 0);
    struct tnode *b = add_node(net, seed_b, 7002, "n", 0);
    allow(a, b, true, "b");
    allow(b, a, true, "a");
    tick_all(net, 0);
    assert_int_equal(net->n_links, 2);
    assert_int_equal(engine_connected_count(&a->e), 1);
    assert_int_equal(engine_connected_count(&b->e), 1);
    /* the survivor is the link dialled by the smaller key, open on both sides */
    bool a_smaller = memcmp(a->id.sign_pk, b->id.sign_pk, LIMIT_KEY_BYTES) < 0;
    for (size_t i = 0; i < 2; i++) {
        struct link *l = &net->links[i];
        bool keep = (l->n[0] == a) == a_smaller;
        assert_int_equal(l->closed[0], !keep);
        assert_int_equal(l->closed[1], !keep);
    }
    assert_int_equal(peer_stats(a, b).last_error, 0);
    assert_int_equal(peer_stats(b, a).last_error, 0);
    /* nothing redials: the next deadline is a keepalive */
    assert_int_equal(engine_next_deadline(&a->e), LIMIT_KEEPALIVE_MS);
    net_free(net);
}

static void test_simultaneous_dial_one_session(void **state)
{
    (void)state;
    simultaneous(1, 2);
    simultaneous(2, 1);
}

static void test_keepalive_and_dead_timeout(void **state)
{
    (void)state;
    struct net *net = net_new();
    struct tnode *a, *b;
    connect_pair(net, &a, &b, 0);
    assert_int_equal(engine_next_deadline(&a->e), LIMIT_KEEPALIVE_MS);
    uint64_t frames = peer_stats(a, b).frames_out;
    tick_all(net, LIMIT_KEEPALIVE_MS - 1);
    assert_int_equal(peer_stats(a, b).frames_out, frames);
    tick_all(net, LIMIT_KEEPALIVE_MS);
    assert_int_equal(peer_stats(a, b).frames_out, frames + 1);
    assert_int_equal(engine_connected_count(&a->e), 1);

    /* b goes silent (its bytes are lost): a declares it dead LIMIT_DEAD_MS after last receipt */
    uint64_t last_rx = LIMIT_KEEPALIVE_MS;
    net->links[0].closed[1] = true; /* b no longer receives or answers */
    for (uint64_t t = last_rx; t < last_rx + LIMIT_DEAD_MS; t += LIMIT_KEEPALIVE_MS)
        engine_tick(&a->e, t);
    assert_int_equal(engine_connected_count(&a->e), 1);
    engine_tick(&a->e, last_rx + LIMIT_DEAD_MS);
    assert_int_equal(engine_connected_count(&a->e), 0);
    assert_int_equal(peer_stats(a, b).last_error, ENGINE_E_DEAD);
    assert_int_equal(a->e.stats.timeouts, 1);
    assert_int_equal(a->downs, 1);
    net_free(net);
}

static void test_handshake_deadline(void **state)
{
    (void)state;
    struct net *net = net_new();
    struct tnode *b = add_node(net, 2, 7000, "n", 0);
    net->now = 100;
    engine_conn h = raw_link(b, "192.0.2.1");
    assert_int_equal(engine_next_deadline(&b->e), 100 + LIMIT_HANDSHAKE_MS);
    engine_tick(&b->e, 100 + LIMIT_HANDSHAKE_MS - 1);
    assert_int_equal(b->closes, 0);
    engine_tick(&b->e, 100 + LIMIT_HANDSHAKE_MS);
    assert_int_equal(b->closes, 1);
    assert_int_equal(b->last_closed, h);
    assert_string_equal(b->last_detail, engine_strerror(ENGINE_E_HS_TIMEOUT));
    assert_int_equal(engine_next_deadline(&b->e), UINT64_MAX);
    net_free(net);
}

static void test_rate_limit(void **state)
{
    (void)state;
    struct net *net = net_new();
    struct tnode *b = add_node(net, 2, 7000, "n", 0);
    for (int i = 0; i < LIMIT_HS_RATE_BURST; i++)
        raw_link(b, "192.0.2.7");
    assert_int_equal(engine_on_accept(&b->e, "192.0.2.7", 1, 0), ENGINE_E_RATE);
    assert_true(engine_on_accept(&b->e, "192.0.2.8", 1, 0) >= 0); /* other addresses unaffected */
    uint64_t one_token_ms = 1000 / LIMIT_HS_RATE_PER_S;
    assert_int_equal(engine_on_accept(&b->e, "192.0.2.7", 1, one_token_ms - 1), ENGINE_E_RATE);
    assert_true(engine_on_accept(&b->e, "192.0.2.7", 1, one_token_ms) >= 0);
    assert_int_equal(engine_on_accept(&b->e, "192.0.2.7", 1, one_token_ms), ENGINE_E_RATE);
    assert_int_equal(b->e.stats.refused_rate, 3);
    net_free(net);
}

/* review: an IPv6 host owns a /64 and a dual-stack listener reports IPv4 peers as ::ffff:a.b.c.d;
 * neither may buy fresh bursts by changing its address text. */
static void test_rate_limit_per_v6_prefix(void **state)
{
    (void)state;
    struct net *net = net_new();
    struct tnode *b = add_node(net, 2, 7000, "n", 0);
    char ip[64];
    for (int i = 0; i < LIMIT_HS_RATE_BURST; i++) {
        snprintf(ip, sizeof ip, "2001:db8:1:2::%x", i + 1);
        raw_link(b, ip);
    }
    assert_int_equal(engine_on_accept(&b->e, "2001:db8:1:2:ffff::9", 1, 0), ENGINE_E_RATE);
    assert_true(engine_on_accept(&b->e, "2001:db8:1:3::1", 1, 0) >= 0); /* another /64 */
    for (int i = 0; i < LIMIT_HS_RATE_BURST; i++)
        raw_link(b, "192.0.2.7");
    assert_int_equal(engine_on_accept(&b->e, "::ffff:192.0.2.7", 1, 0), ENGINE_E_RATE);
    assert_int_equal(b->e.stats.refused_rate, 2);
    net_free(net);
}

static void test_backoff_grows_with_jitter(void **state)
{
    (void)state;
    struct net *net = net_new();
    struct tnode *a = add_node(net, 1, 0, "n", 0);
    struct tnode ghost = {0}; /* a peer nobody listens for */
    ts_identity(9, &ghost.id);
    ghost.port = 9999;
    ghost.net = net;
    allow(a, &ghost, true, "ghost");
    uint64_t delay = LIMIT_BACKOFF_MIN_MS;
    for (int i = 0; i < 12; i++) {
        engine_tick(&a->e, net->now);
        pump(net);
        uint64_t next = engine_next_deadline(&a->e);
        assert_true(next >= net->now + delay / 2 && next <= net->now + delay);
        assert_int_equal(peer_stats(a, &ghost).state, ENGINE_PEER_BACKOFF);
        net->now = next;
        delay = delay * 2 > LIMIT_BACKOFF_MAX_MS ? LIMIT_BACKOFF_MAX_MS : delay * 2;
    }
    assert_int_equal(delay, LIMIT_BACKOFF_MAX_MS);
    keys_identity_wipe(&ghost.id);
    net_free(net);
}

static void test_reload_removes_peer(void **state)
{
    (void)state;
    struct net *net = net_new();
    struct tnode *a, *b;
    connect_pair(net, &a, &b, 0);
    assert_int_equal(engine_set_peers(&a->e, NULL, 0, 0), ENGINE_OK);
    pump(net);
    assert_int_equal(engine_connected_count(&a->e), 0);
    assert_int_equal(engine_connected_count(&b->e), 0);
    assert_string_equal(b->last_detail, "closed by peer (removed)");
    /* own key and duplicate keys are refused and change nothing */
    struct engine_peer_conf two[2];
    memset(two, 0, sizeof two);
    memcpy(two[0].key, a->id.sign_pk, LIMIT_KEY_BYTES);
    assert_int_equal(engine_set_peers(&a->e, two, 1, 0), ENGINE_E_SELF);
    memcpy(two[0].key, b->id.sign_pk, LIMIT_KEY_BYTES);
    memcpy(two[1].key, b->id.sign_pk, LIMIT_KEY_BYTES);
    assert_int_equal(engine_set_peers(&a->e, two, 2, 0), ENGINE_E_PEERS);
    net_free(net);
}

/* --- keys that change (docs/PROTOCOL.md "Key succession"), on the engine's clock --- */

/* b knows a by a's new key (seed 3), with a's old key (seed 1) in grace until 10 s: a handshake
 * with the old key is a's until then, refused after. */
static void test_prev_key_grace(void **state)
{
    (void)state;
    struct net *net = net_new();
    struct tnode *a = add_node(net, 1, 0, "t", 0), *b = add_node(net, 2, 7402, "t", 0);
    struct keys_identity new_id;
    ts_identity(3, &new_id);
    struct engine_peer_conf c = {.prev_until = 10000};
    memcpy(c.key, new_id.sign_pk, LIMIT_KEY_BYTES);
    memcpy(c.prev_key, a->id.sign_pk, LIMIT_KEY_BYTES);
    assert_int_equal(engine_set_peers(&b->e, &c, 1, 0), ENGINE_OK);
    allow(a, b, true, "b");
    tick_all(net, 0);
    assert_int_equal(engine_connected_count(&b->e), 1);
    assert_int_equal(engine_connected_count(&a->e), 1);
    /* the session ends; a redials after the grace: refused at its key */
    assert_int_equal(engine_set_peers(&a->e, NULL, 0, 9000), ENGINE_OK);
    tick_all(net, 9000);
    assert_int_equal(engine_connected_count(&b->e), 0);
    net->now = 10000;
    allow(a, b, true, "b");
    tick_all(net, 10000);
    assert_int_equal(engine_connected_count(&b->e), 0);
    assert_int_equal(engine_connected_count(&a->e), 0);
    assert_int_equal(peer_stats(a, b).last_error, ENGINE_E_HS_CLOSED);
    keys_identity_wipe(&new_id);
    net_free(net);
}

/* a rotated to seed 3, keeps seed 1 as its previous key until 10 s; b has not heard of it: the
 * dial with the new key is closed, the next one shows the old key and opens; after the grace a
 * dials with the new key only. */
static void test_dial_with_prev_key(void **state)
{
    (void)state;
    struct net *net = net_new();
    struct tnode *a = add_node(net, 3, 0, "t", 0), *b = add_node(net, 2, 7402, "t", 0);
    struct keys_identity old;
    ts_identity(1, &old);
    a->e.params.prev_id = &old; /* as engine_init does with params.prev_id */
    a->e.params.prev_until = 10000;
    session_auth_payload(&old, a->e.prev_auth);
    struct engine_peer_conf c = {0};
    memcpy(c.key, old.sign_pk, LIMIT_KEY_BYTES);
    assert_int_equal(engine_set_peers(&b->e, &c, 1, 0), ENGINE_OK);
    allow(a, b, true, "b");
    tick_all(net, 0);
    assert_int_equal(engine_connected_count(&a->e), 0);
    assert_int_equal(peer_stats(a, b).last_error, ENGINE_E_HS_CLOSED);
    for (uint64_t t = 500; t < 9000 && engine_connected_count(&a->e) == 0; t += 500)
        tick_all(net, t); /* the redial after the first back-off */
    assert_int_equal(engine_connected_count(&a->e), 1);
    assert_int_equal(engine_connected_count(&b->e), 1);
    /* after the grace a shows only its new key */
    assert_int_equal(engine_set_peers(&a->e, NULL, 0, 10000), ENGINE_OK);
    tick_all(net, 10000);
    allow(a, b, true, "b");
    for (uint64_t t = 10000; t <= 10000 + 60000; t += 500) /* several redials */
        tick_all(net, t);
    assert_int_equal(engine_connected_count(&b->e), 0);
    assert_int_equal(peer_stats(a, b).last_error, ENGINE_E_HS_CLOSED);
    assert_true(peer_stats(a, b).errors >= 2); /* it kept dialling, with the new key */
    keys_identity_wipe(&old);
    net_free(net);
}

static void test_shutdown_says_goodbye(void **state)
{
    (void)state;
    struct net *net = net_new();
    struct tnode *a, *b;
    connect_pair(net, &a, &b, 0);
    engine_shutdown(&a->e);
    pump(net);
    assert_string_equal(b->last_detail, "closed by peer (shutdown)");
    assert_int_equal(engine_connected_count(&b->e), 0);
    assert_int_equal(engine_next_deadline(&a->e), UINT64_MAX);
    net_free(net);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_handshake_and_message),
        cmocka_unit_test(test_rekey_keeps_channel),
        cmocka_unit_test(test_rekey_on_time),
        cmocka_unit_test(test_auth_payload_signed_once),
        cmocka_unit_test(test_wrong_network),
        cmocka_unit_test(test_unknown_key_refused),
        cmocka_unit_test(test_initiator_refuses_wrong_responder),
        cmocka_unit_test(test_first_frame_not_32_dropped),
        cmocka_unit_test(test_garbage_closes_only_that_session),
        cmocka_unit_test(test_simultaneous_dial_one_session),
        cmocka_unit_test(test_keepalive_and_dead_timeout),
        cmocka_unit_test(test_handshake_deadline),
        cmocka_unit_test(test_rate_limit),
        cmocka_unit_test(test_rate_limit_per_v6_prefix),
        cmocka_unit_test(test_backoff_grows_with_jitter),
        cmocka_unit_test(test_reload_removes_peer),
        cmocka_unit_test(test_prev_key_grace),
        cmocka_unit_test(test_dial_with_prev_key),
        cmocka_unit_test(test_shutdown_says_goodbye),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

