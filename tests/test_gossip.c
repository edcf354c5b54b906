/* test_gossip.c - gossip (node/core/gossip.h) between real gossip instances over memstores.
 *
 * Nothing of ours is mocked: each test node is a real gossip instance on a real memstore, with
 * real keys, signed records, the real gate and real reconciliation. Nodes are wired to each other
 * through their send callbacks by a deterministic in-test event queue on a fake clock: messages
 * arrive after LATENCY ms in send order; verification jobs run at once (or, with defer_verify,
 * only when no message is left, so that copies race the check).
 *
 * Built with -DGOSSIP_TEST_GATE_HOOK: every record or id any node writes towards any peer is
 * reported to hook_emit(), which holds it against an oracle written here from the rule table of
 * docs/SHARING.md (never through gate code). Every test ends with zero violations.
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

#include "crypto/keys.h"
#include "node/core/gossip.h"
#include "node/core/gossip_int.h" /* gossip_recon_build_set and the full-load gate */
#include "node/core/peerscore.h"
#include "store/gossip_lmdb.h"
#include "store/memstore.h"
#include "node/core/session.h"
#include "tests/support/ts_ident.h"
#include "tests/support/ts_record.h"
#include "tests/support/ts_store.h"
#include "tests/support/ts_topo.h"
#include "tests/gossip_net.h"

/* ---------- tests ---------- */

/* n nodes in a line, all links up: the first two are "cert-a" in community "ab", the others
 * "cert-c". */
static struct net *line_ab(size_t n)
{
    struct net *net = net_new(n);
    for (size_t i = 0; i < n; i++)
        snprintf(net->nodes[i].org, LIMIT_NAME_BYTES, i < 2 ? "cert-a" : "cert-c");
    for (size_t i = 0; i < 2; i++) {
        snprintf(net->nodes[i].comms[0], LIMIT_NAME_BYTES, "ab");
        net->nodes[i].n_comms = 1;
    }
    ts_topo_line(&net->topo);
    net_start(net);
    for (size_t i = 0; i + 1 < n; i++)
        link_up(net, i, i + 1);
    run(net, RUN_MS);
    return net;
}

/* A - X - B, up and idle: A and X members of "isac", B not; push queues of push_cap (0: limit). */
static struct net *line_isac_cap(size_t push_cap)
{
    struct net *net = net_new(3);
    net->push_cap = push_cap;
    for (size_t i = 0; i < 2; i++) {
        snprintf(net->nodes[i].comms[0], LIMIT_NAME_BYTES + 1, "isac");
        net->nodes[i].n_comms = 1;
    }
    ts_topo_link(&net->topo, 0, 1);
    ts_topo_link(&net->topo, 1, 2);
    net_start(net);
    link_up(net, 0, 1);
    link_up(net, 1, 2);
    run(net, RUN_MS);
    return net;
}

static struct net *line_isac(void)
{
    return line_isac_cap(0);
}

/* A - B - C - D; A and B are "cert-a", C and D "cert-c". AMBER+STRICT for community "ab" stops
 * at the organisation boundary; GREEN stops where B's ceiling for C is CLEAR; CLEAR goes
 * everywhere; relays announce rather than push. */
static void test_line_relay(void **state)
{
    (void)state;
    struct net *net = line_ab(4);

    struct spec clear = {PROTO_TLP_CLEAR, {NULL}, {-1}};
    struct spec strict = {PROTO_TLP_AMBER_STRICT, {"ab"}, {-1}};
    struct spec green = {PROTO_TLP_GREEN, {NULL}, {-1}};
    size_t rc = publish(net, 0, &clear, -1);
    size_t rs = publish(net, 0, &strict, -1);
    run(net, RUN_MS);
    for (size_t n = 0; n < 4; n++) {
        assert_true(holds(net, n, rc));
        assert_int_equal(holds(net, n, rs), n < 2);
    }
    assert_true(pst(net, 1, 2)->refused[GATE_DENY_NOT_IN_AUDIENCE] >= 1);

    /* B lowers its ceiling for C: GREEN no longer passes B. */
    net->nodes[1].link[slot_of(&net->nodes[1], 2)].ceiling = PROTO_TLP_CLEAR;
    struct gate_peer v;
    fill_view(&net->nodes[1], slot_of(&net->nodes[1], 2), &v);
    assert_int_equal(gossip_peer_up(net->nodes[1].g, slot_of(&net->nodes[1], 2), &v, v.key, net->now),
                     GOSSIP_OK);
    size_t rg = publish(net, 0, &green, -1);
    run(net, RUN_MS);
    assert_true(holds(net, 1, rg));
    assert_false(holds(net, 2, rg));
    assert_false(holds(net, 3, rg));
    assert_true(pst(net, 1, 2)->refused[GATE_DENY_CEILING] >= 1);
    assert_holders_match_oracle(net);

    /* The origin pushed in full; B and C relayed by announcement (C fetched with WANT). */
    assert_int_equal(pst(net, 0, 1)->records_sent, 3);
    assert_int_equal(pst(net, 1, 2)->announce_out, 1);
    assert_int_equal(pst(net, 2, 1)->want_out, 1);
    assert_int_equal(pst(net, 1, 2)->records_sent, 1);
    assert_int_equal(violations, 0);
    assert_true(emitted[GOSSIP_EMIT_RECORD] > 0 && emitted[GOSSIP_EMIT_ANNOUNCE] > 0);
    net_free(net);
}

/* 20 nodes, 4 organisations, community "comm", a random connected graph: every node ends with
 * exactly the records the oracle entitles it to, every message on the way was allowed. */
static void test_random_graph(void **state)
{
    (void)state;
    enum { N = 20, RECS = 80 };
    struct net *net = net_new(N);
    uint32_t rng = 12345;
    for (size_t i = 0; i < N; i++) {
        snprintf(net->nodes[i].org, LIMIT_NAME_BYTES, "org-%zu", i % 4);
        if (i % 3 == 0) {
            snprintf(net->nodes[i].comms[0], LIMIT_NAME_BYTES, "comm");
            net->nodes[i].n_comms = 1;
        }
    }
    ts_topo_ring(&net->topo); /* a ring keeps it connected */
    ts_topo_random(&net->topo, 20, MAX_DEG - 1, &rng);
    for (size_t i = 0; i < N; i++) /* some ceilings and clients */
        for (size_t s = 0; s < n_links(&net->nodes[i]); s++) {
            if (ts_rand(&rng) % 5 == 0)
                net->nodes[i].link[s].ceiling = (uint8_t)(ts_rand(&rng) % PROTO_TLP_COUNT);
            if (ts_rand(&rng) % 4 == 0)
                net->nodes[i].link[s].relation = GATE_RELATION_CLIENT;
        }
    net_start(net);
    for (size_t i = 0; i < N; i++)
        for (size_t s = 0; s < n_links(&net->nodes[i]); s++)
            if (peer_at(&net->nodes[i], s) > i)
                link_up(net, i, peer_at(&net->nodes[i], s));
    run(net, RUN_MS);
    for (size_t k = 0; k < RECS; k++) {
        struct spec sp = {(uint8_t)(ts_rand(&rng) % PROTO_TLP_COUNT), {NULL}, {-1}};
        int shape = ts_rand(&rng) % 3;
        if (shape == 1)
            sp.comm[0] = "comm";
        if (shape == 2 || sp.tlp == PROTO_TLP_RED) {
            sp.recip[0] = (int)(ts_rand(&rng) % N);
            sp.recip[1] = -1;
        }
        publish(net, ts_rand(&rng) % N, &sp, -1);
        if (k % 10 == 9)
            run(net, 100);
    }
    run(net, RUN_MS);
    assert_holders_match_oracle(net);
    assert_int_equal(violations, 0);
    for (size_t i = 0; i < N; i++) /* nothing left half done: no fetch, check or queue */
        assert_true(gossip_idle(net->nodes[i].g));
    /* Each node verified each record it stored once: duplicates cost no signature check. */
    for (size_t i = 0; i < N; i++) {
        const struct gossip_stats *st = gossip_stats(net->nodes[i].g);
        assert_int_equal(st->verify_submitted, st->stored);
        assert_int_equal(st->verify_forged, 0);
    }
    net_free(net);
}

/* A triangle: each record reaches B and C once verified; a duplicate copy costs a lookup. */
static void test_duplicates_not_verified(void **state)
{
    (void)state;
    struct net *net = net_new(3);
    ts_topo_complete(&net->topo);
    net_start(net);
    link_up(net, 0, 1);
    link_up(net, 0, 2);
    link_up(net, 1, 2);
    run(net, RUN_MS);
    struct spec clear = {PROTO_TLP_CLEAR, {NULL}, {-1}};
    for (int i = 0; i < 50; i++)
        publish(net, 0, &clear, -1);
    run(net, RUN_MS);
    for (size_t n = 1; n < 3; n++) {
        assert_int_equal(net->nodes[n].verify_items, 50);
        assert_int_equal(gossip_stats(net->nodes[n].g)->stored, 50);
    }
    /* B and C both got every record from A: their announcements to each other cross (8 bytes
     * each), but neither fetches nor sends a record to the other. */
    assert_int_equal(pst(net, 1, 2)->want_out + pst(net, 2, 1)->want_out, 0);
    assert_int_equal(pst(net, 1, 2)->records_sent + pst(net, 2, 1)->records_sent, 0);

    /* A replays one record to B: dropped as a duplicate, no verify call. */
    uint8_t msg[2 + 2 + LIMIT_SIG_BYTES + LIMIT_RECORD_BYTES];
    size_t len;
    assert_int_equal(memstore_get(&net->nodes[0].ms, net->recs[0].id, msg + 4, sizeof msg - 4,
                                  &len, NULL),
                     STORE_OK);
    msg[0] = 0, msg[1] = 1, msg[2] = (uint8_t)(len >> 8), msg[3] = (uint8_t)len;
    uint64_t dups = pst(net, 1, 0)->duplicates;
    assert_int_equal(gossip_on_message(net->nodes[1].g, slot_of(&net->nodes[1], 0),
                                       GOSSIP_MSG_RECORDS, msg, 4 + len, net->now,
                                       WALL0 + net->now),
                     GOSSIP_OK);
    assert_int_equal(net->nodes[1].verify_items, 50);
    assert_int_equal(pst(net, 1, 0)->duplicates, dups + 1);
    assert_int_equal(violations, 0);
    net_free(net);
}

/* Builds a one-record RECORDS message. */
static size_t records_msg(uint8_t *msg, const uint8_t *rec, size_t len)
{
    msg[0] = 0, msg[1] = 1, msg[2] = (uint8_t)(len >> 8), msg[3] = (uint8_t)len;
    memcpy(msg + 4, rec, len);
    return 4 + len;
}

/* X (a misbehaving peer) sends a forged copy (genuine body, bad signature) of A's record to B
 * first; the genuine copy from A arrives while the forged one is still being checked. B stores
 * the genuine record and closes X's session. */
static void run_forged(bool in_flight)
{
    struct net *net = net_new(3); /* 0 = A (origin), 1 = B, 2 = X */
    ts_topo_link(&net->topo, 0, 1);
    ts_topo_link(&net->topo, 2, 1);
    net_start(net);
    link_up(net, 0, 1);
    link_up(net, 2, 1);
    run(net, RUN_MS);
    static uint8_t rec[LIMIT_SIG_BYTES + LIMIT_RECORD_BYTES];
    static uint8_t msg[4 + LIMIT_SIG_BYTES + LIMIT_RECORD_BYTES];
    struct spec clear = {PROTO_TLP_CLEAR, {NULL}, {-1}};
    size_t len;
    size_t r = make_record(net, 0, &clear, -1, rec, &len);
    rec[5] ^= 0x40; /* forged signature */
    size_t mlen = records_msg(msg, rec, len);
    push_msg(net, 1, slot_of(&net->nodes[1], 2), GOSSIP_MSG_RECORDS, msg, mlen);
    if (!in_flight)
        run(net, 100);
    rec[5] ^= 0x40;
    mlen = records_msg(msg, rec, len);
    net->defer_verify = in_flight;
    push_msg(net, 1, slot_of(&net->nodes[1], 0), GOSSIP_MSG_RECORDS, msg, mlen);
    run(net, RUN_MS);
    assert_true(holds(net, 1, r));
    const struct gossip_stats *st = gossip_stats(net->nodes[1].g);
    assert_int_equal(st->verify_forged, 1);
    assert_int_equal(st->stored, 1);
    assert_int_equal(pst(net, 1, 2)->forged, 1);
    assert_false(net->nodes[1].link[slot_of(&net->nodes[1], 2)].up); /* X was cut off */
    assert_true(net->nodes[1].link[slot_of(&net->nodes[1], 0)].up);
    assert_int_equal(violations, 0);
    net_free(net);
}

static void test_forged_first(void **state)
{
    (void)state;
    run_forged(false);
    run_forged(true);
}

/* X sends a signed-record slot whose body is not msgpack (0xc1 is never used): counted as
 * malformed, not forged (it was never a signature that failed), and X is cut off. */
static void test_bad_msgpack_record_is_malformed(void **state)
{
    (void)state;
    struct net *net = net_new(2); /* 0 = B, 1 = X */
    ts_topo_link(&net->topo, 1, 0);
    net_start(net);
    link_up(net, 1, 0);
    run(net, RUN_MS);
    static uint8_t rec[LIMIT_SIG_BYTES + 16];
    static uint8_t msg[4 + sizeof rec];
    memset(rec, 0xc1, sizeof rec);
    size_t mlen = records_msg(msg, rec, sizeof rec);
    push_msg(net, 0, slot_of(&net->nodes[0], 1), GOSSIP_MSG_RECORDS, msg, mlen);
    run(net, RUN_MS);
    assert_int_equal(gossip_stats(net->nodes[0].g)->verify_malformed, 1);
    assert_int_equal(pst(net, 0, 1)->malformed, 1);
    assert_int_equal(pst(net, 0, 1)->forged, 0);
    assert_false(net->nodes[0].link[slot_of(&net->nodes[0], 1)].up);
    net_free(net);
}

/* B is offline while A publishes 2000 records; after B reconnects, reconciliation alone brings
 * every one of them: no announcement, no WANT, no duplicate. */
static void test_catch_up_by_reconciliation(void **state)
{
    (void)state;
    enum { RECS = 2000 };
    struct net *net = net_new(2);
    ts_topo_link(&net->topo, 0, 1);
    net_start(net);
    struct spec clear = {PROTO_TLP_CLEAR, {NULL}, {-1}};
    struct spec green = {PROTO_TLP_GREEN, {NULL}, {-1}};
    for (int i = 0; i < RECS; i++)
        publish(net, 0, i % 2 ? &clear : &green, -1);
    link_up(net, 0, 1);
    run(net, RUN_MS);
    for (size_t r = 0; r < RECS; r++)
        assert_true(holds(net, 1, r));
    assert_int_equal(pst(net, 1, 0)->announce_in, 0);
    assert_int_equal(pst(net, 1, 0)->want_out, 0);
    assert_int_equal(pst(net, 1, 0)->duplicates, 0);
    assert_int_equal(pst(net, 0, 1)->records_sent, RECS);
    assert_int_equal(pst(net, 0, 1)->recon_haves, RECS);
    assert_int_equal(pst(net, 1, 0)->recon_needs, RECS);
    assert_int_equal(net->nodes[1].verify_items, RECS);
    assert_true(gossip_idle(net->nodes[0].g) && gossip_idle(net->nodes[1].g));
    assert_int_equal(violations, 0);
    net_free(net);
}

/* A revocation reaches every holder; afterwards nobody passes the revoked record on, also not by
 * reconciliation to a node that joins later. */
static void test_revocation(void **state)
{
    (void)state;
    struct net *net = net_new(4);
    ts_topo_line(&net->topo);
    net_start(net);
    link_up(net, 0, 1);
    link_up(net, 1, 2);
    run(net, RUN_MS);
    struct spec green = {PROTO_TLP_GREEN, {NULL}, {-1}};
    size_t r = publish(net, 0, &green, -1);
    run(net, RUN_MS);
    for (size_t n = 0; n < 3; n++)
        assert_true(holds(net, n, r));
    size_t rv = publish(net, 0, &green, (int)r);
    run(net, RUN_MS);
    for (size_t n = 0; n < 3; n++) {
        assert_true(holds(net, n, rv));
        assert_int_equal(node_is_revoked(&net->nodes[n], net->recs[r].id,
                                         net->nodes[0].id.sign_pk),
                         1);
    }
    link_up(net, 2, 3); /* D joins: gets the revocation, never the revoked record */
    run(net, RUN_MS);
    assert_true(holds(net, 3, rv));
    assert_false(holds(net, 3, r));
    assert_int_equal(violations, 0);
    net_free(net);
}

/* Trees (docs/PROTOCOL.md "Trees"), on the diamond 0 - 1 - 3, 0 - 2 - 3 with GOSSIP_CAP_TREE on
 * every link: 1 and 2 push 0's first record to 3 in full, 3 passes the first copy on to the relay
 * whose own copy crosses it, and each of the two marks the link pruned for the tree, with no
 * PRUNE (each saw the other's copy as a duplicate); 0's next record of the same tree then
 * reaches 3 once, pushed, without an announcement's WANT. A relay that keeps pushing after a
 * crossing (an earlier version of the rule) is sent PRUNE by its next copy. A record of another
 * audience (GREEN) is another tree: it floods once again. */
static void test_tree_prune(void **state)
{
    (void)state;
    struct net *net = net_new(4);
    const size_t links[4][2] = {{0, 1}, {0, 2}, {1, 3}, {2, 3}};
    for (size_t i = 0; i < 4; i++)
        ts_topo_link(&net->topo, links[i][0], links[i][1]);
    net_start(net);
    for (size_t i = 0; i < 4; i++) {
        const size_t a = links[i][0], b = links[i][1];
        link_up(net, a, b);
        gossip_peer_caps(net->nodes[a].g, slot_of(&net->nodes[a], b), GOSSIP_CAP_TREE);
        gossip_peer_caps(net->nodes[b].g, slot_of(&net->nodes[b], a), GOSSIP_CAP_TREE);
    }
    run(net, RUN_MS);
    struct spec clear = {PROTO_TLP_CLEAR, {NULL}, {-1}};
    size_t r1 = publish(net, 0, &clear, -1);
    run(net, RUN_MS);
    assert_true(holds(net, 3, r1));
    const uint64_t pushed = pst(net, 1, 3)->records_sent + pst(net, 2, 3)->records_sent;
    assert_int_equal(pushed, 2); /* both relays pushed it: the tree was not known yet */
    assert_int_equal(pst(net, 3, 1)->records_sent, 0);
    assert_int_equal(pst(net, 3, 2)->records_sent, 1); /* 1's copy came first: on to 2 */
    assert_int_equal(pst(net, 3, 2)->duplicates, 1);   /* the copies crossed */
    assert_int_equal(pst(net, 2, 3)->duplicates, 1);
    for (size_t a = 1; a < 4; a++)
        for (size_t b = 1; b < 4; b++)
            if (a != b && (a == 3 || b == 3))
                assert_int_equal(pst(net, a, b)->prune_out + pst(net, a, b)->prune_in, 0);
    size_t r2 = publish(net, 0, &clear, -1);
    run(net, 4 * LATENCY); /* 1's push is in, 2's announcement (on the grid) is not */
    assert_true(holds(net, 3, r2));
    assert_int_equal(pst(net, 1, 3)->records_sent + pst(net, 2, 3)->records_sent, pushed + 1);
    assert_int_equal(pst(net, 3, 2)->records_sent, 1); /* 3 - 2 is pruned both ways */
    assert_int_equal(pst(net, 3, 1)->duplicates + pst(net, 3, 2)->duplicates, 1);
    /* 2 pushes r2 to 3 all the same (as a relay that does not mark links itself): 3 did not send
     * it to 2, so this duplicate is no crossing and brings PRUNE. */
    uint8_t msg[2 + 2 + LIMIT_SIG_BYTES + LIMIT_RECORD_BYTES];
    size_t len;
    assert_int_equal(memstore_get(&net->nodes[2].ms, net->recs[r2].id, msg + 4, sizeof msg - 4,
                                  &len, NULL),
                     STORE_OK);
    msg[0] = 0, msg[1] = 1, msg[2] = (uint8_t)(len >> 8), msg[3] = (uint8_t)len;
    push_msg(net, 3, slot_of(&net->nodes[3], 2), GOSSIP_MSG_RECORDS, msg, 4 + len);
    run(net, RUN_MS);
    assert_int_equal(pst(net, 3, 1)->want_out + pst(net, 3, 2)->want_out, 0);
    assert_int_equal(pst(net, 3, 2)->duplicates, 2);
    assert_int_equal(pst(net, 3, 2)->prune_out, 1);
    assert_int_equal(pst(net, 2, 3)->prune_in, 1);
    struct spec green = {PROTO_TLP_GREEN, {NULL}, {-1}};
    size_t r3 = publish(net, 0, &green, -1);
    run(net, RUN_MS);
    assert_true(holds(net, 3, r3));
    assert_int_equal(pst(net, 1, 3)->records_sent + pst(net, 2, 3)->records_sent, pushed + 3);
    assert_int_equal(pst(net, 3, 1)->prune_out + pst(net, 3, 2)->prune_out, 1);
    assert_holders_match_oracle(net);
    assert_int_equal(violations, 0);
    net_free(net);
}

/* The fan-out cap (docs/PROTOCOL.md "Trees"): relay 1 between origin 0 and seven leaves pushes 0's
 * first record in full to LIMIT_GOSSIP_TREE_FANOUT of them and announces it to the others, whose
 * WANTs graft them; the tree's next record is pushed to every leaf, and none has to ask. */
static void test_tree_fanout(void **state)
{
    (void)state;
    enum { LEAVES = 7 };
    _Static_assert((int)LIMIT_GOSSIP_TREE_FANOUT < (int)LEAVES, "the cap must bind");
    struct net *net = net_new(2 + LEAVES);
    ts_topo_link(&net->topo, 0, 1);
    for (size_t l = 2; l < 2 + LEAVES; l++)
        ts_topo_link(&net->topo, 1, l);
    net_start(net);
    for (size_t b = 0; b < 2 + LEAVES; b++) {
        if (b == 1)
            continue;
        link_up(net, 1, b);
        gossip_peer_caps(net->nodes[1].g, slot_of(&net->nodes[1], b), GOSSIP_CAP_TREE);
        gossip_peer_caps(net->nodes[b].g, slot_of(&net->nodes[b], 1), GOSSIP_CAP_TREE);
    }
    run(net, RUN_MS);
    struct spec clear = {PROTO_TLP_CLEAR, {NULL}, {-1}};
    uint64_t pushed = 0, wants = 0;
    size_t r1 = publish(net, 0, &clear, -1);
    run(net, RUN_MS);
    for (size_t l = 2; l < 2 + LEAVES; l++) {
        assert_true(holds(net, l, r1));
        pushed += pst(net, 1, l)->tree_pushed;
        wants += pst(net, l, 1)->want_out;
    }
    assert_int_equal(pushed, LIMIT_GOSSIP_TREE_FANOUT);
    assert_int_equal(wants, LEAVES - LIMIT_GOSSIP_TREE_FANOUT);
    size_t r2 = publish(net, 0, &clear, -1);
    run(net, RUN_MS);
    pushed = wants = 0;
    for (size_t l = 2; l < 2 + LEAVES; l++) {
        assert_true(holds(net, l, r2));
        pushed += pst(net, 1, l)->tree_pushed;
        wants += pst(net, l, 1)->want_out;
    }
    assert_int_equal(pushed, LIMIT_GOSSIP_TREE_FANOUT + LEAVES);
    assert_int_equal(wants, LEAVES - LIMIT_GOSSIP_TREE_FANOUT);
    assert_holders_match_oracle(net);
    assert_int_equal(violations, 0);
    net_free(net);
}

/* B asks A for a RED record it is not a recipient of, and for an id nobody has: both get the same
 * answer, nothing. */
static void test_want_refused(void **state)
{
    (void)state;
    struct net *net = net_new(3);
    ts_topo_link(&net->topo, 0, 1);
    ts_topo_link(&net->topo, 0, 2);
    net_start(net);
    link_up(net, 0, 1);
    run(net, RUN_MS);
    struct spec red = {PROTO_TLP_RED, {NULL}, {2, -1}};
    size_t r = publish(net, 0, &red, -1);
    run(net, RUN_MS);
    assert_false(holds(net, 1, r));
    uint64_t records_before = net->nodes[0].sent[0];
    uint8_t want[2 + 2 * GOSSIP_SHORT_ID_BYTES] = {0, 2};
    memcpy(want + 2, net->recs[r].id, GOSSIP_SHORT_ID_BYTES);
    memset(want + 2 + GOSSIP_SHORT_ID_BYTES, 0xAB, GOSSIP_SHORT_ID_BYTES);
    push_msg(net, 0, slot_of(&net->nodes[0], 1), GOSSIP_MSG_WANT, want, sizeof want);
    run(net, RUN_MS);
    assert_int_equal(net->nodes[0].sent[0], records_before);
    assert_false(holds(net, 1, r));
    assert_int_equal(pst(net, 0, 1)->want_in, 2);
    assert_true(pst(net, 0, 1)->refused[GATE_DENY_NOT_RECIPIENT] >= 1);
    link_up(net, 0, 2); /* the recipient does get it */
    run(net, RUN_MS);
    assert_true(holds(net, 2, r));
    assert_int_equal(violations, 0);
    net_free(net);
}

/* Each malformed message is refused with an error and a close request for that peer only; the
 * node keeps working with its other peer. */
static void test_malformed(void **state)
{
    (void)state;
    static const struct {
        uint8_t type;
        uint8_t body[8];
        size_t len;
        int err;
    } cases[] = {
        {GOSSIP_MSG_RECORDS, {0}, 0, GOSSIP_E_MALFORMED},           /* no count */
        {GOSSIP_MSG_RECORDS, {0, 0}, 2, GOSSIP_E_MALFORMED},        /* count 0 */
        {GOSSIP_MSG_RECORDS, {0, 1, 0, 3, 1, 2, 3}, 7, GOSSIP_E_MALFORMED}, /* record too short */
        {GOSSIP_MSG_RECORDS, {0, 1, 0, 200, 1}, 5, GOSSIP_E_MALFORMED}, /* truncated */
        {GOSSIP_MSG_ANNOUNCE, {0, 1, 1, 2, 3}, 5, GOSSIP_E_MALFORMED},  /* short id cut */
        {GOSSIP_MSG_WANT, {0, 0}, 2, GOSSIP_E_MALFORMED},               /* count 0 */
        {GOSSIP_MSG_RECON, {0x07, 0}, 2, GOSSIP_E_RECON},               /* wrong version */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct net *net = net_new(3);
        ts_topo_link(&net->topo, 0, 1);
        ts_topo_link(&net->topo, 2, 1);
        net_start(net);
        link_up(net, 0, 1);
        link_up(net, 2, 1);
        run(net, RUN_MS);
        struct tnode *b = &net->nodes[1];
        int rc = gossip_on_message(b->g, slot_of(b, 0), cases[i].type, cases[i].body,
                                   cases[i].len, net->now, WALL0 + net->now);
        assert_int_equal(rc, cases[i].err);
        assert_int_equal(net->n_closes, 1);
        assert_int_equal(net->closes[0].node, 1);
        assert_int_equal(net->closes[0].slot, slot_of(b, 0));
        assert_int_equal(pst(net, 1, 0)->malformed, 1);
        apply_closes(net);
        struct spec clear = {PROTO_TLP_CLEAR, {NULL}, {-1}};
        size_t r = publish(net, 2, &clear, -1);
        run(net, RUN_MS);
        assert_true(holds(net, 1, r));
        assert_false(holds(net, 0, r));
        net_free(net);
    }
    /* An unknown (future) message type is ignored. */
    struct net *net = net_new(2);
    ts_topo_link(&net->topo, 0, 1);
    net_start(net);
    link_up(net, 0, 1);
    uint8_t b[1] = {0};
    assert_int_equal(gossip_on_message(net->nodes[1].g, 0, 200, b, 1, 0, WALL0), GOSSIP_OK);
    assert_int_equal(net->n_closes, 0);
    net_free(net);
}

/* The hook saw every kind of emission, and each was checked against the oracle: records,
 * announcements and reconciliation items. Also: counted gate refusals only ever happen where
 * the oracle says no (a record the oracle allows is never refused except as "peer-has"). */
static void test_gate_hook_sees_every_path(void **state)
{
    (void)state;
    struct net *net = net_new(4);
    snprintf(net->nodes[2].org, LIMIT_NAME_BYTES, "org-1"); /* C same org as B */
    ts_topo_line(&net->topo);
    net_start(net);
    link_up(net, 0, 1);
    link_up(net, 1, 2);
    struct spec green_b = {PROTO_TLP_GREEN, {NULL}, {1, -1}};
    struct spec amber = {PROTO_TLP_AMBER, {"nobody"}, {-1}};
    struct spec clear = {PROTO_TLP_CLEAR, {NULL}, {-1}};
    for (int i = 0; i < 10; i++) {
        publish(net, 0, &green_b, -1);
        publish(net, 1, &amber, -1);
        publish(net, 0, &clear, -1);
    }
    run(net, RUN_MS);
    link_up(net, 2, 3); /* D catches up by reconciliation */
    run(net, RUN_MS);
    assert_holders_match_oracle(net);
    assert_true(emitted[GOSSIP_EMIT_RECORD] > 0);
    assert_true(emitted[GOSSIP_EMIT_ANNOUNCE] > 0);
    assert_true(emitted[GOSSIP_EMIT_RECON_ITEM] > 0);
    assert_int_equal(violations, 0);
    net_free(net);
}

/* The LMDB adapter in the same roles: B (on LMDB) catches up 300 records from A by
 * reconciliation, relays to C by announcement and answers C's WANT from LMDB; a revocation
 * published on B travels back. */
static void test_lmdb_store(void **state)
{
    (void)state;
    struct net *net = net_new(3);
    net->lmdb_node = 1;
    ts_topo_line(&net->topo);
    net_start(net);
    struct spec clear = {PROTO_TLP_CLEAR, {NULL}, {-1}};
    for (int i = 0; i < 300; i++)
        publish(net, 0, &clear, -1);
    link_up(net, 0, 1);
    run(net, RUN_MS);
    link_up(net, 1, 2);
    run(net, RUN_MS);
    size_t fresh = publish(net, 0, &clear, -1);
    size_t own = publish(net, 1, &clear, -1);
    run(net, RUN_MS);
    size_t rv = publish(net, 1, &clear, (int)own);
    run(net, RUN_MS);
    for (size_t n = 0; n < 3; n++) {
        for (size_t r = 0; r < 300; r++)
            assert_true(holds(net, n, r));
        assert_true(holds(net, n, fresh) && holds(net, n, own) && holds(net, n, rv));
        assert_int_equal(node_is_revoked(&net->nodes[n], net->recs[own].id,
                                         net->nodes[1].id.sign_pk),
                         1);
    }
    assert_int_equal(pst(net, 2, 1)->want_out, 1); /* fresh: announced by B, fetched by C */
    assert_int_equal(pst(net, 1, 2)->want_in, 1);
    assert_int_equal(violations, 0);
    net_free(net);
}

/* An expired record is in neither side's reconciliation set, whether its holder still stores it
 * (B, memstore) or has pruned it (A, LMDB): nobody offers or asks for it, the live ones pass. */
static void test_expired_not_reconciled(void **state)
{
    (void)state;
    struct net *net = net_new(2);
    net->lmdb_node = 0;
    ts_topo_link(&net->topo, 0, 1);
    net_start(net);
    struct spec clear = {PROTO_TLP_CLEAR, {NULL}, {-1}};
    net->valid_for_ms = 5000;
    size_t gone_a = publish(net, 0, &clear, -1);
    size_t stale_b = publish(net, 1, &clear, -1);
    net->valid_for_ms = 0;
    size_t live_a = publish(net, 0, &clear, -1);
    size_t live_b = publish(net, 1, &clear, -1);
    run(net, 6000);
    size_t pruned = 0;
    assert_int_equal(store_prune_expired(net->nodes[0].lmdb.store, WALL0 + net->now, 0,
                                         LIMIT_PRUNE_BATCH, &pruned), STORE_OK);
    assert_int_equal(pruned, 1);
    assert_false(holds(net, 0, gone_a));
    link_up(net, 0, 1);
    run(net, RUN_MS);
    assert_true(holds(net, 1, live_a) && holds(net, 0, live_b));
    assert_false(holds(net, 1, gone_a) || holds(net, 0, stale_b));
    assert_true(holds(net, 1, stale_b));
    assert_int_equal(pst(net, 0, 1)->recon_haves, 1);
    assert_int_equal(pst(net, 1, 0)->recon_haves, 1);
    assert_int_equal(pst(net, 0, 1)->want_out + pst(net, 1, 0)->want_out, 0);
    assert_int_equal(violations, 0);
    net_free(net);
}

/* B can verify only 32 records at a time: what does not fit is asked for again by WANT once
 * verification has caught up, so everything arrives without waiting for the next
 * reconciliation. */
static void test_overload_refetch(void **state)
{
    (void)state;
    enum { RECS = 100 };
    struct net *net = net_new(2);
    net->cand_cap = 32;
    ts_topo_link(&net->topo, 0, 1);
    net_start(net);
    struct spec clear = {PROTO_TLP_CLEAR, {NULL}, {-1}};
    for (int i = 0; i < RECS; i++)
        publish(net, 0, &clear, -1);
    net->defer_verify = true; /* every RECORDS message arrives before any check */
    link_up(net, 0, 1);
    run(net, RUN_MS);
    for (size_t r = 0; r < RECS; r++)
        assert_true(holds(net, 1, r));
    const struct gossip_stats *st = gossip_stats(net->nodes[1].g);
    assert_true(st->dropped_overload > 0);
    assert_int_equal(st->stored, RECS);
    assert_int_equal(pst(net, 1, 0)->recon_rounds, 1);
    assert_true(pst(net, 1, 0)->want_out > 0);
    assert_int_equal(violations, 0);
    net_free(net);
}

/* The end with the smaller key (it starts the rounds) still has the other's key from before a
 * rotation in its config, and that old key is smaller than its own, while the session runs under
 * the new one: both ends pick the initiator from the session's keys, so a round runs and brings
 * it the other's record, published before the link. Picked from the config's key, both ends waited for the
 * other (test_key_recovery, 1 run in 4). */
static void test_initiator_from_session_keys(void **state)
{
    (void)state;
    struct net *net = net_new(2);
    ts_topo_link(&net->topo, 0, 1);
    net_start(net);
    const size_t first =
        memcmp(net->nodes[0].id.sign_pk, net->nodes[1].id.sign_pk, LIMIT_KEY_BYTES) < 0 ? 0 : 1;
    struct spec clear = {PROTO_TLP_CLEAR, {NULL}, {-1}};
    /* from the other end: the test's oracle knows a peer by its view's key, so the end with the
     * old key in its view only receives */
    size_t r = publish(net, 1 - first, &clear, -1);
    for (size_t k = 0; k < 2; k++) {
        struct tnode *n = &net->nodes[k];
        size_t s = slot_of(n, 1 - k);
        struct gate_peer v;
        fill_view(n, s, &v);
        uint8_t session[LIMIT_KEY_BYTES];
        memcpy(session, v.key, LIMIT_KEY_BYTES);
        if (k == first) /* the configured key, below this node's own */
            memset(v.key, 0, LIMIT_KEY_BYTES);
        n->link[s].up = true;
        assert_int_equal(gossip_peer_up(n->g, s, &v, session, net->now), GOSSIP_OK);
    }
    run(net, RUN_MS);
    assert_true(holds(net, first, r));
    assert_int_equal(pst(net, first, 1 - first)->recon_rounds, 1);
    assert_int_equal(violations, 0);
    net_free(net);
}

/* B's candidate table holds 8192 records and A sends it 14,000 in one catch-up: more of them are
 * dropped than one peer may have WANTs out for (LIMIT_GOSSIP_WANT_PER_PEER), so the rest wait
 * for room instead of being given up to a second round (test_mesh lost 791 of 5,425 that way). */
static void test_overload_refetch_past_want_quota(void **state)
{
    (void)state;
    enum { RECS = 14000, CANDS = 8192 };
    static_assert(RECS - CANDS > LIMIT_GOSSIP_WANT_PER_PEER, "the drops exceed the WANT quota");
    struct net *net = net_new(2);
    net->cand_cap = CANDS;
    ts_topo_link(&net->topo, 0, 1);
    net_start(net);
    struct spec clear = {PROTO_TLP_CLEAR, {NULL}, {-1}};
    for (int i = 0; i < RECS; i++)
        publish(net, 0, &clear, -1);
    net->defer_verify = true;
    link_up(net, 0, 1);
    run(net, RUN_MS);
    assert_int_equal(gossip_stats(net->nodes[1].g)->stored, RECS);
    assert_true(pst(net, 1, 0)->dropped_overload > LIMIT_GOSSIP_WANT_PER_PEER);
    assert_int_equal(pst(net, 1, 0)->want_out, pst(net, 1, 0)->dropped_overload);
    assert_int_equal(pst(net, 1, 0)->recon_rounds, 1);
    assert_int_equal(violations, 0);
    net_free(net);
}

/* A's push queue to B holds 16 ids, and B lacks A's 300 records: the round's haves beyond the
 * queue wait in its later bits and follow as the queue drains, so one round brings them all,
 * each once, with nothing skipped for a later round. */
static void test_catch_up_beyond_push_queue(void **state)
{
    (void)state;
    enum { RECS = 300 };
    struct net *net = net_new(2);
    net->push_cap = 16;
    ts_topo_link(&net->topo, 0, 1);
    net_start(net);
    struct spec clear = {PROTO_TLP_CLEAR, {NULL}, {-1}};
    for (int i = 0; i < RECS; i++)
        publish(net, 0, &clear, -1);
    link_up(net, 0, 1);
    run(net, RUN_MS);
    for (size_t r = 0; r < RECS; r++)
        assert_true(holds(net, 1, r));
    assert_int_equal(gossip_stats(net->nodes[1].g)->stored, RECS);
    assert_int_equal(pst(net, 0, 1)->recon_rounds, 1);
    assert_int_equal(pst(net, 0, 1)->recon_haves, RECS);
    assert_int_equal(pst(net, 0, 1)->records_sent, RECS);
    assert_int_equal(pst(net, 0, 1)->skipped_backlog, 0);
    assert_int_equal(pst(net, 1, 0)->duplicates, 0);
    assert_int_equal(pst(net, 1, 0)->want_out, 0);
    assert_true(gossip_idle(net->nodes[0].g));
    assert_int_equal(violations, 0);
    net_free(net);
}

/* gossip_may_read: A's reconciliation haves fill B's table of 32 (no verification runs). Once
 * they have all come, A owes B nothing: read (its WANT answers too). While A still owes haves
 * (a slow reader's TCP holds the rest: set here as the shell would leave it), B stops reading A
 * until verification frees A's share, but not once A sent anything a budget charges (here a
 * message of an unknown type): from then on the budgets see all it sends. C, whose records
 * nobody asked for, is read whatever the table holds (its budget cuts a flood). */
static void test_may_read_pauses_asked_senders_only(void **state)
{
    (void)state;
    enum { RECS = 100 };
    struct net *net = net_new(3);
    net->cand_cap = 32;
    ts_topo_link(&net->topo, 0, 1);
    ts_topo_link(&net->topo, 2, 1);
    net_start(net);
    struct spec clear = {PROTO_TLP_CLEAR, {NULL}, {-1}};
    for (int i = 0; i < RECS; i++)
        publish(net, 0, &clear, -1);
    link_up(net, 2, 1);
    run(net, RUN_MS);
    net->hold_verify = true; /* A's records fill B's table and stay */
    link_up(net, 0, 1);
    run(net, RUN_MS);
    struct gossip *b = net->nodes[1].g;
    const size_t a_slot = slot_of(&net->nodes[1], 0), c_slot = slot_of(&net->nodes[1], 2);
    assert_true(pst(net, 1, 0)->dropped_overload > 0);
    assert_true(gossip_may_read(b, a_slot, net->now));
    struct gpeer *a = b->peers[a_slot];
    a->expect_new = 1;
    a->expect_until = net->now + 1;
    a->charged = false;
    assert_false(gossip_may_read(b, a_slot, net->now));
    assert_true(gossip_may_read(b, a_slot, net->now + 1)); /* its grace is over */
    assert_true(gossip_may_read(b, c_slot, net->now));
    static const uint8_t body[8];
    assert_int_equal(gossip_on_message(b, a_slot, 99, body, sizeof body, net->now,
                                       WALL0 + net->now),
                     GOSSIP_OK);
    assert_true(gossip_may_read(b, a_slot, net->now)); /* it spent a budget: read */
    net->hold_verify = false;
    run(net, RUN_MS);
    for (size_t r = 0; r < RECS; r++)
        assert_true(holds(net, 1, r));
    assert_true(gossip_may_read(b, a_slot, net->now));
    assert_int_equal(violations, 0);
    net_free(net);
}

/* A byzantine member X hands a community record straight to B, which is outside the community:
 * B's inbound gate refuses it (B judges its own membership; only the sender's is taken on trust)
 * and B never holds it. */
static void test_inbound_refuses_out_of_audience(void **state)
{
    (void)state;
    struct net *net = line_isac(); /* 0 = A (origin), 1 = X (member), 2 = B (not a member) */
    struct spec green = {PROTO_TLP_GREEN, {"isac", NULL}, {-1}};
    static uint8_t rec[LIMIT_SIG_BYTES + LIMIT_RECORD_BYTES];
    static uint8_t msg[4 + LIMIT_SIG_BYTES + LIMIT_RECORD_BYTES];
    size_t len;
    size_t r = make_record(net, 0, &green, -1, rec, &len);
    const uint64_t verified = gossip_stats(net->nodes[2].g)->verify_submitted;
    push_msg(net, 2, slot_of(&net->nodes[2], 1), GOSSIP_MSG_RECORDS, msg, records_msg(msg, rec, len));
    run(net, RUN_MS);
    assert_false(holds(net, 2, r));
    /* refused before its signature check: a decode, no verify job */
    assert_int_equal(gossip_stats(net->nodes[2].g)->verify_submitted, verified);
    assert_int_equal(gossip_stats(net->nodes[2].g)->refused_inbound, 1);
    assert_int_equal(pst(net, 2, 1)->refused_inbound, 1);
    assert_true(net->nodes[2].link[slot_of(&net->nodes[2], 1)].up); /* configs may differ */
    assert_int_equal(violations, 0);
    net_free(net);
}

/* Messages of a type no version defines are ignored within a budget (LIMIT_PEER_UNKNOWN_*): past
 * it the session is closed with its reason, and nothing else the peer sends is looked at. */
static void test_unknown_types_budget(void **state)
{
    (void)state;
    struct net *net = net_new(2);
    ts_topo_link(&net->topo, 0, 1);
    net_start(net);
    link_up(net, 0, 1);
    run(net, RUN_MS);
    const size_t s = slot_of(&net->nodes[1], 0);
    static uint8_t body[100];
    for (int i = 0; i < LIMIT_PEER_UNKNOWN_BURST; i++)
        assert_int_equal(gossip_on_message(net->nodes[1].g, s, 99, body, sizeof body, net->now,
                                           WALL0 + net->now),
                         GOSSIP_OK);
    assert_int_equal(net->n_closes, 0);
    assert_int_equal(gossip_on_message(net->nodes[1].g, s, 99, body, sizeof body, net->now,
                                       WALL0 + net->now),
                     GOSSIP_E_BUDGET);
    assert_int_equal(net->n_closes, 1);
    assert_int_equal(net->last_close_err, PEERSCORE_E_UNKNOWN_TYPE);
    assert_int_equal(pst(net, 1, 0)->unknown_types, LIMIT_PEER_UNKNOWN_BURST + 1);
    assert_int_equal(pst(net, 1, 0)->closed_for, PEERSCORE_E_UNKNOWN_TYPE);
    /* closing: further messages are ignored, no second close */
    assert_int_equal(gossip_on_message(net->nodes[1].g, s, 99, body, sizeof body, net->now,
                                       WALL0 + net->now),
                     GOSSIP_OK);
    assert_int_equal(net->n_closes, 1);
    apply_closes(net);
    assert_false(net->nodes[1].link[s].up);
    net_free(net);
}

static const uint8_t initiate[] = {0x02, 0x00, 0x02, 0x00}; /* an empty set's first message */

/* Nodes 0 and 1 with a session, settled. */
static struct net *linked_pair(void)
{
    struct net *net = net_new(2);
    ts_topo_link(&net->topo, 0, 1);
    net_start(net);
    link_up(net, 0, 1);
    run(net, RUN_MS);
    return net;
}

/* A round the peer starts reads our whole store on the loop, so rounds a peer starts have a
 * budget: rounds at an honest initiator's pace (at most one per LIMIT_RECON_ROUND_MIN_MS, here
 * one per 6 s besides the real periodic ones) are all answered; LIMIT_RECON_PEER_ROUNDS started
 * as soon as the last was answered are answered, the next closes the session with its reason. */
static void test_peer_rounds_budget(void **state)
{
    (void)state;
    struct net *net = linked_pair();
    struct gossip *b = net->nodes[1].g;
    const size_t s = slot_of(&net->nodes[1], 0);
    uint64_t rounds = pst(net, 1, 0)->recon_rounds;
    for (int i = 0; i < 100; i++) { /* honest: 100 rounds 6 s apart */
        assert_int_equal(
            gossip_on_message(b, s, GOSSIP_MSG_RECON, initiate, sizeof initiate, net->now,
                              WALL0 + net->now),
            GOSSIP_OK);
        run(net, LIMIT_RECON_ROUND_MIN_MS + 1000);
    }
    assert_int_equal(net->n_closes, 0);
    assert_true(pst(net, 1, 0)->recon_rounds >= rounds + 100); /* and the periodic ones */
    run(net, (uint64_t)LIMIT_RECON_PEER_ROUNDS * LIMIT_RECON_ROUND_MIN_MS); /* bucket full */
    rounds = pst(net, 1, 0)->recon_rounds;
    for (int i = 0; i < LIMIT_RECON_PEER_ROUNDS; i++) { /* hostile: each when the last is answered */
        assert_int_equal(
            gossip_on_message(b, s, GOSSIP_MSG_RECON, initiate, sizeof initiate, net->now,
                              WALL0 + net->now),
            GOSSIP_OK);
        run(net, 0); /* the set is built over turns, at the same time */
    }
    assert_int_equal(net->n_closes, 0);
    assert_int_equal(gossip_on_message(b, s, GOSSIP_MSG_RECON, initiate, sizeof initiate,
                                       net->now, WALL0 + net->now),
                     GOSSIP_E_BUDGET);
    assert_int_equal(net->n_closes, 1);
    assert_int_equal(net->last_close_err, PEERSCORE_E_RECON_ROUNDS);
    assert_int_equal(pst(net, 1, 0)->closed_for, PEERSCORE_E_RECON_ROUNDS);
    assert_int_equal(pst(net, 1, 0)->recon_rounds, rounds + LIMIT_RECON_PEER_ROUNDS);
    apply_closes(net);
    assert_false(net->nodes[1].link[s].up);
    net_free(net);
}

/* A round's set is built over several loop turns, and our flights wait for a backlogged
 * connection: a RECON message before our answer (or first message) is out is out of turn, which
 * an honest peer never sends (it answers a flight it received whole). It is ignored within the
 * unknown-type budget, and the round goes on to its answer. */
static void test_recon_out_of_turn(void **state)
{
    (void)state;
    struct net *net = linked_pair();
    struct gossip *b = net->nodes[1].g;
    const size_t s = slot_of(&net->nodes[1], 0);
    const uint64_t rounds = pst(net, 1, 0)->recon_rounds;
    run(net, (uint64_t)LIMIT_RECON_PEER_ROUNDS * LIMIT_RECON_ROUND_MIN_MS);
    assert_int_equal(gossip_on_message(b, s, GOSSIP_MSG_RECON, initiate, sizeof initiate,
                                       net->now, WALL0 + net->now),
                     GOSSIP_OK);
    assert_int_equal(gossip_next_deadline(b), 0); /* the build's next step */
    const uint64_t out = pst(net, 1, 0)->recon_bytes_out;
    for (int i = 0; i < LIMIT_PEER_UNKNOWN_BURST; i++)
        assert_int_equal(gossip_on_message(b, s, GOSSIP_MSG_RECON, initiate, sizeof initiate,
                                           net->now, WALL0 + net->now),
                         GOSSIP_OK);
    run(net, 0);
    assert_int_equal(pst(net, 1, 0)->recon_rounds, rounds + 1);
    assert_true(pst(net, 1, 0)->recon_bytes_out > out); /* the first message was answered */
    assert_int_equal(net->n_closes, 0);
    assert_int_equal(gossip_on_message(b, s, GOSSIP_MSG_RECON, initiate, sizeof initiate,
                                       net->now, WALL0 + net->now),
                     GOSSIP_OK); /* a new round: allowed by the round budget */
    assert_int_equal(gossip_on_message(b, s, GOSSIP_MSG_RECON, initiate, sizeof initiate,
                                       net->now, WALL0 + net->now),
                     GOSSIP_E_BUDGET); /* the unknown-type budget is spent */
    assert_int_equal(net->n_closes, 1);
    assert_int_equal(net->last_close_err, PEERSCORE_E_UNKNOWN_TYPE);
    apply_closes(net);
    assert_false(net->nodes[1].link[s].up);
    net_free(net);
}

/* Line A - R - M, all members of "isac", but R does not know yet that M is one (M's roster has
 * not reached R) and M does not know it either. R receives a GREEN community record and must
 * hold it back from M. When both views change, the change starts a reconciliation round at once
 * (the side that does not initiate asks with RECON_REQ), well before the periodic round. */
static void test_view_change_reconciles(void **state)
{
    (void)state;
    for (int m_initiates = 0; m_initiates < 2; m_initiates++) {
        struct net *net = net_new(3);
        /* Which end of R - M initiates follows from the keys: swap the roles of 1 and 2. */
        size_t R = 1, M = 2;
        if ((memcmp(net->nodes[1].id.sign_pk, net->nodes[2].id.sign_pk, LIMIT_KEY_BYTES) < 0) ==
            (m_initiates != 0))
            R = 2, M = 1;
        snprintf(net->nodes[0].comms[0], LIMIT_NAME_BYTES + 1, "isac");
        snprintf(net->nodes[R].comms[0], LIMIT_NAME_BYTES + 1, "isac");
        net->nodes[0].n_comms = net->nodes[R].n_comms = 1;
        ts_topo_link(&net->topo, 0, R);
        ts_topo_link(&net->topo, R, M);
        net_start(net);
        link_up(net, 0, R);
        link_up(net, R, M);
        run(net, 1000);
        struct spec green = {PROTO_TLP_GREEN, {"isac", NULL}, {-1}};
        size_t r = publish(net, 0, &green, -1);
        run(net, 1000);
        assert_true(holds(net, R, r));
        assert_false(holds(net, M, r));
        assert_true(pst(net, R, M)->refused[GATE_DENY_NOT_IN_AUDIENCE] >= 1);

        struct tnode *m = &net->nodes[M], *rl = &net->nodes[R];
        snprintf(m->comms[0], LIMIT_NAME_BYTES + 1, "isac");
        m->n_comms = 1;
        struct gossip_params p = {0};
        memcpy(p.self.key, m->id.sign_pk, LIMIT_KEY_BYTES);
        snprintf(p.self.org, sizeof p.self.org, "%s", m->org);
        p.self.n_communities = 1;
        snprintf(p.self.communities[0], sizeof p.self.communities[0], "isac");
        gossip_set_self(m->g, &p.self);
        struct gate_peer v;
        fill_view(rl, slot_of(rl, M), &v);
        assert_int_equal(gossip_peer_up(rl->g, slot_of(rl, M), &v, v.key, net->now),
                         GOSSIP_OK);
        /* far less than LIMIT_RECON_INTERVAL_MS; the first round's start paces the next one */
        run(net, LIMIT_RECON_ROUND_MIN_MS + 2000);
        assert_true(holds(net, M, r));
        assert_int_equal(violations, 0);
        net_free(net);
    }
}

/* gossip_peer_holds: A - B - C, the origin A pushes a CLEAR record to B, B relays it to C by
 * announcement (C fetches it); an AMBER+STRICT record of A's and B's organisation never reaches
 * C, and a slot asked with another key knows nothing. */
/* The activity ring (gossip_activity) counts what the stats count, in the minute of the flush:
 * A publishes CLEAR and AMBER+STRICT for "ab" on A - B - C; B relays only CLEAR to C. */
static struct activity_minute activity_sum(const struct net *net, size_t node)
{
    struct activity_minute m[LIMIT_ACTIVITY_MINUTES], sum = {0};
    const size_t n = gossip_activity(net->nodes[node].g, net->now, m, LIMIT_ACTIVITY_MINUTES);
    assert_int_equal(n, net->now / LIMIT_ACTIVITY_MINUTE_MS + 1);
    for (size_t i = 0; i < n; i++) {
        sum.received += m[i].received;
        sum.sent += m[i].sent;
        sum.published += m[i].published;
        sum.refused += m[i].refused;
    }
    return sum;
}

static void test_activity_counts(void **state)
{
    (void)state;
    struct net *net = line_ab(3);
    struct spec clear = {PROTO_TLP_CLEAR, {NULL}, {-1}};
    struct spec strict = {PROTO_TLP_AMBER_STRICT, {"ab"}, {-1}};
    publish(net, 0, &clear, -1);
    publish(net, 0, &strict, -1);
    run(net, RUN_MS);
    const size_t received[3] = {0, 2, 1}, published[3] = {2, 0, 0};
    for (size_t i = 0; i < 3; i++) {
        const struct gossip_stats *st = gossip_stats(net->nodes[i].g);
        const struct activity_minute a = activity_sum(net, i);
        assert_int_equal(a.received, received[i]);
        assert_int_equal(a.received, st->stored);
        assert_int_equal(a.published, published[i]);
        assert_int_equal(a.sent, st->records_sent);
        assert_int_equal(a.refused, st->refused_time + st->refused_inbound + st->refused_out);
    }
    assert_int_equal(activity_sum(net, 0).sent, 2); /* A pushed both to B */
    assert_true(activity_sum(net, 1).refused >= 1); /* B kept AMBER+STRICT from C */
    net_free(net);
}

static void test_peer_holds(void **state)
{
    (void)state;
    struct net *net = line_ab(3);
    struct spec clear = {PROTO_TLP_CLEAR, {NULL}, {-1}};
    struct spec strict = {PROTO_TLP_AMBER_STRICT, {"ab"}, {-1}};
    uint8_t rc[LIMIT_ID_BYTES], rs[LIMIT_ID_BYTES]; /* net->recs may move on a publish */
    memcpy(rc, net->recs[publish(net, 0, &clear, -1)].id, LIMIT_ID_BYTES);
    memcpy(rs, net->recs[publish(net, 0, &strict, -1)].id, LIMIT_ID_BYTES);
    run(net, RUN_MS);
    const struct tnode *a = &net->nodes[0], *b = &net->nodes[1], *c = &net->nodes[2];
#define HOLDS(n, peer, rec)                                                                        \
    gossip_peer_holds((n)->g, slot_of(n, (peer)->idx), (peer)->id.sign_pk, rec)
    assert_int_equal(HOLDS(a, b, rc), GOSSIP_HOLDS_SENT);
    assert_int_equal(HOLDS(b, a, rc), GOSSIP_HOLDS_RECEIVED);
    assert_int_equal(HOLDS(b, c, rc), GOSSIP_HOLDS_SENT);
    assert_int_equal(HOLDS(c, b, rc), GOSSIP_HOLDS_RECEIVED);
    assert_int_equal(HOLDS(a, b, rs), GOSSIP_HOLDS_SENT);
    assert_int_equal(HOLDS(b, c, rs), GOSSIP_HOLDS_NOT_KNOWN);
#undef HOLDS
    assert_int_equal(gossip_peer_holds(a->g, slot_of(a, 1), c->id.sign_pk, rc),
                     GOSSIP_HOLDS_NOT_KNOWN);
    assert_string_equal(gossip_holds_name(GOSSIP_HOLDS_SENT), "sent");
    assert_int_equal(violations, 0);
    net_free(net);
}

/* Line A - R - M, A and R members of "isac", M not: R sends M a GREEN "isac" record naming M, but M
 * cannot establish that R is a member, so M leaves it out of its reconciliation set while R's set
 * holds it. Every round then finds it a "have" of R's; R knows M holds it (R sent it) and
 * announces it instead of pushing it again: no duplicate at M, round after round. */
/* M's view of R: no roster tells M that R is a member of "isac". */
static void m_doubts_r(struct net *net)
{
    struct tnode *m = &net->nodes[2];
    struct gate_peer v;
    fill_view(m, slot_of(m, 1), &v);
    v.n_communities = 0;
    assert_int_equal(gossip_peer_up(m->g, slot_of(m, 1), &v, v.key, net->now), GOSSIP_OK);
}

static void test_recon_asymmetric_sets_no_duplicates(void **state)
{
    (void)state;
    struct net *net = line_isac();
    m_doubts_r(net);
    struct spec named = {PROTO_TLP_GREEN, {"isac", NULL}, {2, -1}};
    size_t r = publish(net, 0, &named, -1);
    run(net, 3 * LIMIT_RECON_INTERVAL_MS); /* two periodic rounds after the first */
    assert_true(holds(net, 2, r));
    assert_true(pst(net, 1, 2)->recon_rounds >= 3);
    assert_true(pst(net, 1, 2)->recon_haves >= 2); /* the sets differ at every round */
    assert_int_equal(pst(net, 2, 1)->duplicates, 0);
    assert_int_equal(pst(net, 2, 1)->records_received, 1);
    assert_int_equal(violations, 0);
    net_free(net);
}

/* The same line, and R restarts: it forgot what M holds, so every record M left out of its set is
 * a have that R pushes in full, and M already holds them all (4500 replays of ids R sent it, 16
 * each, would spend M's duplicate budget 65536 and close R). M's own reconciliation named them as
 * needs it holds: expected, free. scripts/soak saw this penalize honest restarted nodes. */
static void test_restart_recon_duplicates_free(void **state)
{
    (void)state;
    enum { RECS = 4500 };
    struct net *net = line_isac();
    m_doubts_r(net);
    struct spec named = {PROTO_TLP_GREEN, {"isac", NULL}, {2, -1}};
    for (size_t i = 0; i < RECS; i++)
        publish(net, 0, &named, -1);
    run(net, RUN_MS);
    for (size_t r = 0; r < RECS; r++)
        assert_true(holds(net, 2, r));
    const uint64_t dups = pst(net, 2, 1)->duplicates;
    node_restart(net, 1, false);
    m_doubts_r(net);
    run(net, RUN_MS);
    assert_int_equal(net->last_close_err, 0); /* before: PEERSCORE_E_DUPLICATE */
    assert_true(pst(net, 2, 1)->duplicates - dups >= RECS); /* R pushed them all again */
    assert_true(net->nodes[2].link[slot_of(&net->nodes[2], 1)].up);
    assert_int_equal(violations, 0);
    net_free(net);
}

/* simnet (`stop 17 wipe`, docs/SIMNET.md "Churn"): an origin restarts with an empty store under its
 * key. Its peer's set for it still names the origin's RED record (an id is no secret to its own
 * origin), the origin's set lacks it, and the peer's table says the origin holds it (received
 * from it): the round's "have" was announced to the origin by the set's rule, though announcing is
 * sending (docs/SHARING.md) and the rules never let a RED record go to a non-recipient. The
 * ANNOUNCE checker of gossip_net.c holds every announced id to the rule on the wire. The CLEAR
 * record comes back; the RED one does not (the origin is not among its recipients). */
static void test_wiped_origin_not_announced_its_red(void **state)
{
    (void)state;
    struct net *net = line_ab(2); /* one organisation: RED goes to its recipients all the same */
    struct spec red = {PROTO_TLP_RED, {NULL}, {1, -1}}, clear = {PROTO_TLP_CLEAR, {NULL}, {-1}};
    size_t r = publish(net, 0, &red, -1), c = publish(net, 0, &clear, -1);
    run(net, RUN_MS);
    assert_true(holds(net, 1, r) && holds(net, 1, c));
    node_restart(net, 0, true);
    assert_false(holds(net, 0, r) || holds(net, 0, c));
    run(net, RUN_MS);
    assert_true(pst(net, 1, 0)->recon_haves >= 2); /* the round found both missing at the origin */
    assert_true(holds(net, 0, c));
    assert_false(holds(net, 0, r));
    assert_int_equal(violations, 0);
    net_free(net);
}

/* test_mesh phase_kill9: D pushes a record to C and dies (kill -9) while C is still verifying
 * it; C's copy goes with the session (its sender's view with it), and D restarts on its store.
 * The new session's round finds C lacking the record and D pushes it again, while the first copy
 * may still be out: C must end up holding it before the next periodic round (RUN_MS is under
 * LIMIT_RECON_INTERVAL_MS), whichever copy's verification comes back first. */
static void test_kill9_copy_in_verification(void **state)
{
    (void)state;
    struct net *net = net_new(2); /* 0 = D, 1 = C */
    ts_topo_link(&net->topo, 0, 1);
    net_start(net);
    link_up(net, 0, 1);
    run(net, RUN_MS);
    struct spec clear = {PROTO_TLP_CLEAR, {NULL}, {-1}};
    net->hold_verify = true;
    const size_t r = publish(net, 0, &clear, -1);
    run(net, 100);
    assert_int_equal(net->j_len, 1); /* C's job of D's push is out */
    assert_int_equal(net->j_owner[0], 1);
    node_restart(net, 0, false);
    run(net, 1000); /* the new session's round: D pushes the record again */
    net->hold_verify = false;
    run(net, RUN_MS);
    assert_true(holds(net, 1, r));
    assert_int_equal(violations, 0);
    net_free(net);
}

/* scripts/soak (seed 2026): a gate-asymmetric pair R - M where M leaves out of its set the
 * records of R's it holds, so every round gives R all of them as haves, more than its push queue
 * holds (LIMIT_GOSSIP_PUSH_QUEUE there, CAP here); R forgot (a restart) that M holds them. A record
 * M lacks, after them in the round's order, was skipped at every round for the full queue and
 * never came (before: 3,078 records for good); past the full queue R announces, and M wants it. */
static void test_recon_haves_past_full_push_queue(void **state)
{
    (void)state;
    enum { CAP = 64, RECS = 4 * CAP };
    struct net *net = line_isac_cap(CAP);
    m_doubts_r(net);
    struct spec named = {PROTO_TLP_GREEN, {"isac", NULL}, {2, -1}};
    for (size_t i = 0; i < RECS; i++) {
        publish(net, 0, &named, -1);
        run(net, 50); /* A's pushes stay within the small queue */
    }
    run(net, 3 * LIMIT_RECON_INTERVAL_MS);
    for (size_t r = 0; r < RECS; r++)
        assert_true(holds(net, 2, r));
    /* The newest record reaches R's store only (R stored it and crashed before announcing). */
    static uint8_t buf[TS_SIGNED_BYTES];
    size_t len;
    const size_t x = make_record(net, 0, &named, -1, buf, &len);
    struct store_put put = {.signed_rec = buf, .len = len};
    memcpy(put.id, net->recs[x].id, LIMIT_ID_BYTES);
    assert_int_equal(memstore_put_batch(&net->nodes[1].ms, &put, 1), STORE_OK);
    node_restart(net, 1, false);
    m_doubts_r(net);
    run(net, 3 * LIMIT_RECON_INTERVAL_MS);
    assert_true(pst(net, 1, 2)->recon_haves > CAP); /* the queue was full in the rounds */
    assert_true(holds(net, 2, x)); /* before: never, round after round */
    assert_int_equal(violations, 0);
    net_free(net);
}

/* The set a round is built over, from the bytes of a chunked store iteration with revocations
 * looked up after, is the one the full load of every record by id gives (the build before it),
 * refusal counts by verdict included: on A's store (memstore, then LMDB) of CLEAR, GREEN, AMBER
 * to a community or to nobody, AMBER+STRICT, RED to B or to C, expired, revoked records, a
 * revocation, and B's records, towards each of A's peers. */
static void check_set_as_full_load(struct net *net, size_t node)
{
    struct tnode *t = &net->nodes[node];
    const uint64_t wall = WALL0 + net->now;
    for (size_t peer = 0; peer < n_links(t); peer++) {
        struct id_list l = {.max = LIMIT_RECON_ITEMS};
        assert_int_equal(t->ops.iter_seq(t->ops.ctx, 0, gossip_collect_id, &l), STORE_OK);
        uint64_t want[GATE_VERDICT_COUNT] = {0};
        size_t n_old = 0;
        struct recon_item *old = calloc(l.n + 1, sizeof *old);
        assert_non_null(old);
        for (size_t i = 0; i < l.n; i++) {
            struct rview v;
            if (!gossip_view_load_id(t->g, l.ids[i], &v) || v.r->created_ms == UINT64_MAX)
                continue;
            enum gate_verdict verdict = gossip_gate_verdict(t->g, peer, &v, true, wall);
            want[verdict]++;
            if (verdict == GATE_ALLOW) {
                old[n_old].ts = v.r->created_ms;
                memcpy(old[n_old++].id, l.ids[i], LIMIT_ID_BYTES);
            }
        }
        uint64_t before[GATE_VERDICT_COUNT];
        const struct gossip_peer_stats *st = pst(net, node, peer_at(t, peer));
        memcpy(before, st->refused, sizeof before);
        struct recon_item *set;
        size_t n;
        assert_int_equal(gossip_recon_build_set(t->g, peer, wall, &set, &n), GOSSIP_OK);
        assert_int_equal(n, n_old);
        for (size_t i = 0; i + 1 < n_old; i++) /* the old order: (ts, id) */
            for (size_t j = i + 1; j < n_old; j++)
                if (old[j].ts < old[i].ts ||
                    (old[j].ts == old[i].ts && memcmp(old[j].id, old[i].id, LIMIT_ID_BYTES) < 0)) {
                    struct recon_item x = old[i];
                    old[i] = old[j];
                    old[j] = x;
                }
        for (size_t i = 0; i < n; i++) {
            assert_int_equal(set[i].ts, old[i].ts);
            assert_memory_equal(set[i].id, old[i].id, LIMIT_ID_BYTES);
        }
        for (size_t v = 1; v < GATE_VERDICT_COUNT; v++)
            assert_int_equal(st->refused[v] - before[v], want[v]);
        free(set);
        free(old);
        gossip_id_list_free(&l);
    }
}

static void test_recon_set_is_the_full_load_s(void **state)
{
    (void)state;
    for (int lmdb = -1; lmdb <= 0; lmdb++) {
        struct net *net = net_new(4);
        net->lmdb_node = lmdb;
        snprintf(net->nodes[0].org, LIMIT_NAME_BYTES, "cert-a");
        snprintf(net->nodes[1].org, LIMIT_NAME_BYTES, "cert-b");
        for (size_t i = 0; i < 2; i++) {
            snprintf(net->nodes[i].comms[0], LIMIT_NAME_BYTES, "ab");
            net->nodes[i].n_comms = 1;
        }
        for (size_t i = 1; i < 4; i++)
            ts_topo_link(&net->topo, 0, i);
        net_start(net);
        for (size_t i = 1; i < 4; i++)
            link_up(net, 0, i);
        run(net, RUN_MS);
        const struct spec specs[] = {
            {PROTO_TLP_CLEAR, {NULL}, {-1}},         {PROTO_TLP_GREEN, {NULL}, {-1}},
            {PROTO_TLP_AMBER, {"ab"}, {-1}},         {PROTO_TLP_AMBER, {"nobody"}, {-1}},
            {PROTO_TLP_AMBER_STRICT, {"ab"}, {-1}},  {PROTO_TLP_RED, {NULL}, {1, -1}},
            {PROTO_TLP_RED, {NULL}, {2, -1}},        {PROTO_TLP_GREEN, {NULL}, {1, -1}},
        };
        net->valid_for_ms = 5000; /* expired by the check */
        for (size_t i = 0; i < sizeof specs / sizeof *specs; i++)
            publish(net, 0, &specs[i], -1);
        net->valid_for_ms = 0;
        size_t first = net->n_recs;
        for (int k = 0; k < 3; k++)
            for (size_t i = 0; i < sizeof specs / sizeof *specs; i++) {
                publish(net, 0, &specs[i], -1);
                publish(net, 1, &specs[i], -1);
            }
        publish(net, 0, &specs[1], (int)first);     /* revoked: a CLEAR one */
        publish(net, 0, &specs[2], (int)first + 4); /* revoked: an AMBER "ab" one */
        run(net, RUN_MS);
        assert_true(net->n_recs > 40);
        check_set_as_full_load(net, 0);
        /* Without the revocations loaded at once: each record looked up, the same set. */
        struct gossip *g = net->nodes[0].g;
        int (*load)(void *, size_t, struct store_revoked_set *) = g->ops.load_revoked;
        g->ops.load_revoked = NULL;
        check_set_as_full_load(net, 0);
        g->ops.load_revoked = load;
        assert_int_equal(violations, 0);
        net_free(net);
    }
}

/* With io.commit (the daemon's writer thread), a relay tells nobody of a record before its
 * commit is back: not while it is out, nor once it ran (durable, not yet reported). Records
 * arriving meanwhile wait for the next commit; a local scan asked for meanwhile waits too, so
 * the relayed record's seq is not taken for one of B's own. A - B - C, all CLEAR. */
static void test_commit_handed_out(void **state)
{
    (void)state;
    struct net *net = net_new(3);
    net->defer_commit = true;
    ts_topo_line(&net->topo);
    net_start(net);
    link_up(net, 0, 1);
    link_up(net, 1, 2);
    run(net, RUN_MS);
    struct spec clear = {PROTO_TLP_CLEAR, {NULL}, {-1}};
    struct gossip *b = net->nodes[1].g;

    net->hold_commits = true;
    size_t r1 = publish(net, 0, &clear, -1);
    run(net, RUN_MS);
    assert_non_null(net->nodes[1].commit);
    assert_int_equal(net->nodes[1].commit->n, 1);
    assert_false(holds(net, 1, r1));
    commit_run_only(net, 1);
    assert_true(holds(net, 1, r1));
    size_t r2 = publish(net, 0, &clear, -1); /* verified, queued behind the commit that is out */
    size_t own = publish(net, 1, &clear, -1); /* B's scan waits for the commit */
    run(net, RUN_MS);
    assert_false(holds(net, 1, r2));
    assert_false(holds(net, 2, r1) || holds(net, 2, r2) || holds(net, 2, own));
    assert_int_equal(pst(net, 1, 2)->announce_out + pst(net, 1, 2)->records_sent, 0);
    assert_int_equal(gossip_stats(b)->stored, 0);
    assert_int_equal(gossip_stats(b)->local_pushed, 0);
    assert_false(gossip_idle(b));

    net->hold_commits = false;
    run(net, RUN_MS);
    assert_holders_match_oracle(net);
    assert_true(holds(net, 2, r1) && holds(net, 2, r2) && holds(net, 2, own));
    assert_int_equal(gossip_stats(b)->stored, 2);
    assert_int_equal(gossip_stats(b)->local_pushed, 1); /* own; r1's seq is a commit's */
    assert_true(gossip_idle(b));
    assert_int_equal(violations, 0);
    net_free(net);
}

/* A bulk transfer's commits wait to be full (LIMIT_GOSSIP_COMMIT_MIN): B holds 1,500 of A's
 * records received and not yet checked; as the checks come back 32 at a time, B commits nothing
 * until 1,024 are verified, and then exactly those (before, the first job's 32 went at once, and
 * each commit wrote its pages for a handful of records). The 476 left go in the next commit, no
 * longer held: fewer than 1,024 are left to come. A - B, all CLEAR. */
static void test_bulk_commit_waits_to_be_full(void **state)
{
    (void)state;
    enum { RECS = 1500 };
    struct net *net = net_new(2);
    net->defer_commit = true;
    ts_topo_line(&net->topo);
    net_start(net);
    struct spec clear = {PROTO_TLP_CLEAR, {NULL}, {-1}};
    for (int i = 0; i < RECS; i++)
        publish(net, 0, &clear, -1);
    net->hold_verify = true;
    link_up(net, 0, 1);
    run(net, RUN_MS);
    struct gossip *b = net->nodes[1].g;
    assert_int_equal(b->n_cands, RECS);
    assert_null(net->nodes[1].commit);

    net->hold_verify = false;
    net->defer_verify = true; /* one job at a time, each followed by B's flush */
    net->hold_commits = true;
    run(net, 0);
    assert_non_null(net->nodes[1].commit);
    assert_int_equal(net->nodes[1].commit->n, LIMIT_GOSSIP_COMMIT_MIN);
    assert_int_equal(commitq_len(&b->cq), RECS - LIMIT_GOSSIP_COMMIT_MIN);

    net->hold_commits = false;
    run(net, 1);
    assert_null(net->nodes[1].commit);
    assert_int_equal(commitq_len(&b->cq), 0);
    assert_int_equal(gossip_stats(b)->stored, RECS);
    run(net, RUN_MS);
    assert_holders_match_oracle(net);
    assert_int_equal(violations, 0);
    net_free(net);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_line_relay),
        cmocka_unit_test(test_random_graph),
        cmocka_unit_test(test_duplicates_not_verified),
        cmocka_unit_test(test_forged_first),
        cmocka_unit_test(test_kill9_copy_in_verification),
        cmocka_unit_test(test_bad_msgpack_record_is_malformed),
        cmocka_unit_test(test_catch_up_by_reconciliation),
        cmocka_unit_test(test_revocation),
        cmocka_unit_test(test_want_refused),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_gate_hook_sees_every_path),
        cmocka_unit_test(test_lmdb_store),
        cmocka_unit_test(test_expired_not_reconciled),
        cmocka_unit_test(test_overload_refetch),
        cmocka_unit_test(test_overload_refetch_past_want_quota),
        cmocka_unit_test(test_initiator_from_session_keys),
        cmocka_unit_test(test_catch_up_beyond_push_queue),
        cmocka_unit_test(test_may_read_pauses_asked_senders_only),
        cmocka_unit_test(test_inbound_refuses_out_of_audience),
        cmocka_unit_test(test_unknown_types_budget),
        cmocka_unit_test(test_peer_rounds_budget),
        cmocka_unit_test(test_recon_out_of_turn),
        cmocka_unit_test(test_view_change_reconciles),
        cmocka_unit_test(test_peer_holds),
        cmocka_unit_test(test_activity_counts),
        cmocka_unit_test(test_recon_asymmetric_sets_no_duplicates),
        cmocka_unit_test(test_recon_haves_past_full_push_queue),
        cmocka_unit_test(test_tree_prune),
        cmocka_unit_test(test_tree_fanout),
        cmocka_unit_test(test_restart_recon_duplicates_free),
        cmocka_unit_test(test_wiped_origin_not_announced_its_red),
        cmocka_unit_test(test_recon_set_is_the_full_load_s),
        cmocka_unit_test(test_commit_handed_out),
        cmocka_unit_test(test_bulk_commit_waits_to_be_full),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

