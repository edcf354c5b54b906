/* test_peerscore.c - per-peer budgets and the penalty back-off (node/core/peerscore.h, issue 12):
 * token buckets (burst, refill, credit), the back-off's growth, cap and forgiveness, and the
 * engine's penalties over the in-memory network of test_session.c (a penalized key is closed,
 * refused at the end of its handshake and not dialled until its back-off ends). Sans-IO: every
 * time is an argument.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "node/core/engine.h"
#include "node/core/peerscore.h"
#include "tests/session_net.h"

static void test_bucket_burst_then_rate(void **state)
{
    (void)state;
    struct peerscore s;
    peerscore_reset(&s, 1000);
    for (int i = 0; i < LIMIT_PEER_GATE_BURST; i++)
        assert_true(peerscore_take(&s, PEERSCORE_GATE, 1, 1000));
    assert_false(peerscore_take(&s, PEERSCORE_GATE, 1, 1000)); /* spent at once */
    /* LIMIT_PEER_GATE_PER_S tokens come back in one second, not one more */
    for (int i = 0; i < LIMIT_PEER_GATE_PER_S; i++)
        assert_true(peerscore_take(&s, PEERSCORE_GATE, 1, 2000));
    assert_false(peerscore_take(&s, PEERSCORE_GATE, 1, 2000));
    /* the other budgets are apart */
    assert_true(peerscore_take(&s, PEERSCORE_TIME, LIMIT_PEER_TIME_BURST, 2000));
    /* a long silence refills to the burst, no further */
    assert_true(peerscore_take(&s, PEERSCORE_GATE, LIMIT_PEER_GATE_BURST, 1000000000));
    assert_false(peerscore_take(&s, PEERSCORE_GATE, 1, 1000000000));
}

static void test_slow_rate_exact(void **state)
{
    (void)state;
    struct peerscore s;
    peerscore_reset(&s, 0);
    assert_true(peerscore_take(&s, PEERSCORE_UNKNOWN_TYPE, LIMIT_PEER_UNKNOWN_BURST, 0));
    /* 1 token a second, refilled at every millisecond step: 999 ms give nothing whole */
    for (uint64_t t = 1; t < 1000; t++)
        assert_false(peerscore_take(&s, PEERSCORE_UNKNOWN_TYPE, 1, t));
    /* a refused take empties the bucket: the second starts again */
    assert_false(peerscore_take(&s, PEERSCORE_UNKNOWN_TYPE, 1, 1000));
    assert_true(peerscore_take(&s, PEERSCORE_UNKNOWN_TYPE, 1, 2000));
}

static void test_duplicate_ratio(void **state)
{
    (void)state;
    struct peerscore s;
    peerscore_reset(&s, 0);
    assert_true(peerscore_take(&s, PEERSCORE_DUPLICATE, LIMIT_PEER_DUP_BURST, 0));
    /* useful records earn duplicates one for one, up to the burst */
    peerscore_credit(&s, PEERSCORE_DUPLICATE, 100);
    assert_true(peerscore_take(&s, PEERSCORE_DUPLICATE, 100, 0));
    assert_false(peerscore_take(&s, PEERSCORE_DUPLICATE, 1, 0));
    peerscore_credit(&s, PEERSCORE_DUPLICATE, 10 * LIMIT_PEER_DUP_BURST);
    assert_false(peerscore_take(&s, PEERSCORE_DUPLICATE, LIMIT_PEER_DUP_BURST + 1, 0));
    /* replays cost LIMIT_PEER_DUP_REPLAY_COST: a burst holds that many times fewer */
    peerscore_reset(&s, 0);
    size_t replays = 0;
    while (peerscore_take(&s, PEERSCORE_DUPLICATE, LIMIT_PEER_DUP_REPLAY_COST, 0))
        replays++;
    assert_int_equal(replays, LIMIT_PEER_DUP_BURST / LIMIT_PEER_DUP_REPLAY_COST);
}

static void test_reasons(void **state)
{
    (void)state;
    static const char *const labels[PEERSCORE_KINDS] = {"unknown_type", "duplicate", "time", "gate",
                                                        "unasked"};
    for (int k = 0; k < PEERSCORE_KINDS; k++) {
        int err = peerscore_reason(k);
        assert_true(peerscore_is_reason(err));
        assert_string_equal(peerscore_label(err), labels[k]);
    }
    assert_true(peerscore_is_reason(PEERSCORE_E_BACKED_OFF));
    assert_false(peerscore_is_reason(0));
    assert_true(peerscore_is_reason(PEERSCORE_E_RECON_ROUNDS));
    assert_false(peerscore_is_reason(PEERSCORE_E_RECON_ROUNDS - 1));
    assert_string_equal(peerscore_label(PEERSCORE_E_RECON_ROUNDS), "recon_rounds");
    assert_string_equal(peerscore_label(PEERSCORE_E_FORGED), "forged");
    assert_string_equal(peerscore_label(-1), "other");
}

static void test_backoff_grows_to_cap(void **state)
{
    (void)state;
    uint64_t ms = peerscore_backoff_next(0, 0, 5000), now = 5000;
    assert_int_equal(ms, LIMIT_PENALTY_MIN_MS);
    int steps = 0;
    for (; ms < LIMIT_PENALTY_MAX_MS && steps < 64; steps++) {
        uint64_t next = peerscore_backoff_next(ms, now, now + ms);
        assert_true(next == 2 * ms || next == LIMIT_PENALTY_MAX_MS);
        now += ms;
        ms = next;
    }
    assert_int_equal(ms, LIMIT_PENALTY_MAX_MS);
    assert_true(steps < 16); /* 10 s to an hour: nine doublings */
    assert_int_equal(peerscore_backoff_next(ms, now, now + 1), LIMIT_PENALTY_MAX_MS);
    /* a day without a penalty forgives */
    assert_int_equal(peerscore_backoff_next(ms, now, now + LIMIT_PENALTY_FORGIVE_MS),
                     LIMIT_PENALTY_MIN_MS);
}

/* --- the engine's penalties --- */

static size_t slot(const struct tnode *n, const struct tnode *peer)
{
    return engine_peer_find(&n->e, peer->id.sign_pk);
}

static void test_engine_penalty(void **state)
{
    (void)state;
    struct net *net = net_new();
    struct tnode *a = add_node(net, 1, 0, "test-net", 0),
                 *b = add_node(net, 2, 7000, "test-net", 0);
    allow(a, b, true, "bee"); /* a dials b */
    allow(b, a, false, "ay");
    tick_all(net, 0);
    assert_int_equal(engine_connected_count(&b->e), 1);

    /* b penalizes a: the session ends with the reason, a's key is backed off */
    engine_penalize(&b->e, slot(b, a), PEERSCORE_E_DUPLICATE, 100);
    pump(net);
    assert_int_equal(engine_connected_count(&b->e), 0);
    struct engine_peer_stats st = peer_stats(b, a);
    assert_int_equal(st.penalty_reason, PEERSCORE_E_DUPLICATE);
    assert_int_equal(st.last_error, PEERSCORE_E_DUPLICATE);
    assert_int_equal(st.backoff_until, 100 + LIMIT_PENALTY_MIN_MS);
    assert_int_equal(st.penalties, 1);
    assert_string_equal(b->last_event, "disconnected");
    assert_int_equal(b->e.stats.penalties, 1);

    /* a redials (its own back-off): b refuses the handshake at its end, a's key known */
    for (uint64_t t = 200; t < 100 + LIMIT_PENALTY_MIN_MS; t += 500)
        tick_all(net, t);
    assert_int_equal(engine_connected_count(&b->e), 0);
    assert_true(peer_stats(b, a).refused_backed_off >= 1);
    assert_string_equal(b->last_detail, peerscore_strerror(PEERSCORE_E_BACKED_OFF));
    assert_int_equal(b->ups, 1);

    /* after the back-off a's next dial succeeds */
    uint64_t t = 100 + LIMIT_PENALTY_MIN_MS;
    for (int i = 0; i < 200 && engine_connected_count(&b->e) == 0; i++, t += 500)
        tick_all(net, t);
    assert_int_equal(engine_connected_count(&b->e), 1);

    /* a second penalty doubles the back-off; a dialler does not dial a backed-off key */
    engine_penalize(&a->e, slot(a, b), PEERSCORE_E_GATE, t);
    pump(net);
    st = peer_stats(a, b);
    assert_int_equal(st.backoff_until, t + LIMIT_PENALTY_MIN_MS);
    assert_true(engine_next_deadline(&a->e) >= st.backoff_until);
    engine_penalize(&b->e, slot(b, a), PEERSCORE_E_TIME, t);
    assert_int_equal(peer_stats(b, a).backoff_until, t + 2 * LIMIT_PENALTY_MIN_MS);
    net_free(net);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bucket_burst_then_rate), cmocka_unit_test(test_slow_rate_exact),
        cmocka_unit_test(test_duplicate_ratio),        cmocka_unit_test(test_reasons),
        cmocka_unit_test(test_backoff_grows_to_cap),   cmocka_unit_test(test_engine_penalty),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
