/* test_gate_matrix.c - the forwarding gate (node/core/gate.h) against an independent oracle.
 *
 * The matrix tests describe each situation abstractly (which audience shape, whose organisation,
 * which relation...), build real structs from the description (gate_fixture.h), and compare
 * gate_check() with an oracle that reads the rule table of docs/SHARING.md from the description
 * alone, never from the structs and never through gate code. test_gate.c pins each table row with
 * a readable story.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "tests/gate_fixture.h"

/* ---------- the oracle: the rule table, read from the description ---------- */

/* Which grounds admit P at each TLP (docs/SHARING.md "The rule", one row per line of the table). */
static const struct {
    bool always, audience, organisation, client_if_n_in, recipients_only;
} RULE[PROTO_TLP_COUNT] = {
    [PROTO_TLP_CLEAR] = {.always = true},
    [PROTO_TLP_GREEN] = {.audience = true, .organisation = true},
    [PROTO_TLP_AMBER] = {.audience = true, .organisation = true, .client_if_n_in = true},
    [PROTO_TLP_AMBER_STRICT] = {.audience = true, .organisation = true},
    [PROTO_TLP_RED] = {.recipients_only = true},
};

struct situation {
    int tlp;
    enum shape shape;
    enum n_via n_via;
    bool authenticated;
    enum org_case org;
    int relation;
    int ceiling;
    bool revoked, expired;
    enum has_case has;
};

/* The TLP line and the ceiling; state is the caller's business. */
static enum gate_verdict oracle_tlp(const struct situation *s)
{
    bool is_default = s->shape == SH_DEFAULT && s->n_via == NVIA_NONE;
    bool any_recipients = SHAPES[s->shape].rp || SHAPES[s->shape].rx || s->n_via == NVIA_KEY;
    bool p_listed = s->authenticated && SHAPES[s->shape].rp;
    bool p_in = s->authenticated && (is_default || SHAPES[s->shape].rp || SHAPES[s->shape].cp);
    bool n_in = is_default || s->n_via != NVIA_NONE;
    bool org = s->authenticated && s->org == ORG_SAME;
    bool client = s->authenticated && s->relation == GATE_RELATION_CLIENT;

    if (s->ceiling < s->tlp)
        return GATE_DENY_CEILING;
    if (RULE[s->tlp].always)
        return GATE_ALLOW;
    if (RULE[s->tlp].recipients_only) {
        if (!any_recipients)
            return GATE_DENY_RED_NO_RECIPIENTS;
        return p_listed ? GATE_ALLOW : GATE_DENY_NOT_RECIPIENT;
    }
    if ((RULE[s->tlp].audience && p_in) || (RULE[s->tlp].organisation && org) ||
        (RULE[s->tlp].client_if_n_in && n_in && client))
        return GATE_ALLOW;
    return GATE_DENY_NOT_IN_AUDIENCE;
}

static enum gate_verdict oracle(const struct situation *s)
{
    if (s->revoked)
        return GATE_DENY_REVOKED;
    if (s->expired)
        return GATE_DENY_EXPIRED;
    if (s->has != HAS_NONE)
        return GATE_DENY_PEER_HAS;
    return oracle_tlp(s);
}

/* The ground the rule table names for an allowed situation: the first that holds, in the order
 * of gate.h's enum gate_ground (docs/SHARING.md "The rule"). */
static enum gate_ground oracle_ground(const struct situation *s)
{
    bool is_default = s->shape == SH_DEFAULT && s->n_via == NVIA_NONE;
    bool n_in = is_default || s->n_via != NVIA_NONE;

    if (oracle(s) != GATE_ALLOW)
        return GATE_GROUND_NONE;
    if (RULE[s->tlp].always)
        return GATE_GROUND_CLEAR;
    if (is_default)
        return GATE_GROUND_DEFAULT_AUDIENCE;
    if (SHAPES[s->shape].rp)
        return GATE_GROUND_RECIPIENT;
    if (SHAPES[s->shape].cp)
        return GATE_GROUND_COMMUNITY;
    if (s->org == ORG_SAME)
        return GATE_GROUND_SAME_ORG;
    return n_in ? GATE_GROUND_CLIENT : GATE_GROUND_NONE;
}

static void report_mismatch(const struct situation *s, int got, int want)
{
    print_error("tlp=%d shape=%d n_via=%d auth=%d org=%d rel=%d ceil=%d revoked=%d expired=%d "
                "has=%d: gate says %s, table says %s\n",
                s->tlp, (int)s->shape, (int)s->n_via, (int)s->authenticated, (int)s->org,
                s->relation, s->ceiling, (int)s->revoked, (int)s->expired, (int)s->has,
                gate_verdict_name(got), gate_verdict_name(want));
}

/* ---------- exhaustive matrices ---------- */

static void check_situation(const struct situation *s, const struct gate_self *n,
                            const struct proto_record *r, unsigned long *mismatches)
{
    struct gate_peer p;
    struct gate_record_state st;

    make_peer(&p, s->authenticated, s->org, s->relation, s->ceiling);
    make_state(&st, s->revoked, s->has);
    enum gate_verdict got = gate_check(n, &p, r, &st, NOW);
    enum gate_verdict want = oracle(s);
    if (got != want) {
        report_mismatch(s, (int)got, (int)want);
        (*mismatches)++;
    }
    /* The reason agrees with gate_check and names the ground (and facts) the table names. */
    struct gate_reason why;
    enum gate_verdict got_why = gate_check_reason(n, &p, r, &st, NOW, &why);
    enum gate_ground ground = oracle_ground(s);
    bool community_ok = ground != GATE_GROUND_COMMUNITY ||
                        strcmp(r->audience.communities[why.community], "cp") == 0;
    bool facts_ok = why.tlp == s->tlp && why.ceiling == s->ceiling &&
                    why.n_recipients == r->audience.n_recipients && !why.by_target;
    if (got_why != got || why.verdict != got || why.ground != ground || !community_ok ||
        (got != GATE_DENY_INVALID && !facts_ok)) {
        print_error("reason: verdict %s ground %s community %u tlp %u ceiling %u; table ground "
                    "%s\n",
                    gate_verdict_name(why.verdict), gate_ground_name(why.ground), why.community,
                    why.tlp, why.ceiling, gate_ground_name(ground));
        report_mismatch(s, (int)got_why, (int)want);
        (*mismatches)++;
    }
    /* Revealing an id is the same decision, except that P holding R is no reason to hide it. */
    struct situation unheld = *s;
    unheld.has = HAS_NONE;
    enum gate_verdict got_id = gate_may_reveal_id(n, &p, r, &st, NOW);
    if (got_id != oracle(&unheld)) {
        report_mismatch(&unheld, (int)got_id, (int)oracle(&unheld));
        (*mismatches)++;
    }
}

static void matrix_all_combinations(void **state)
{
    (void)state;
    static struct proto_record r;
    struct gate_self n;
    unsigned long checked = 0, mismatches = 0, allowed = 0;
    struct situation s;

    for (s.tlp = 0; s.tlp < PROTO_TLP_COUNT; s.tlp++)
    for (s.shape = 0; s.shape < SH_COUNT; s.shape++)
    for (s.n_via = 0; s.n_via < NVIA_COUNT; s.n_via++)
    for (int e = 0; e < 2; e++) {
        s.expired = e;
        make_indicator(&r, s.tlp, s.shape, s.n_via, s.expired);
        for (s.org = 0; s.org < ORG_COUNT; s.org++) {
            make_self(&n, s.org);
            for (int a = 0; a < 2; a++)
            for (s.relation = 0; s.relation < GATE_RELATION_COUNT; s.relation++)
            for (s.ceiling = 0; s.ceiling < PROTO_TLP_COUNT; s.ceiling++)
            for (int rv = 0; rv < 2; rv++)
            for (s.has = 0; s.has < HAS_COUNT; s.has++) {
                s.authenticated = a;
                s.revoked = rv;
                check_situation(&s, &n, &r, &mismatches);
                allowed += oracle(&s) == GATE_ALLOW;
                checked++;
            }
        }
    }
    printf("gate matrix: %lu combinations checked (x2 with gate_may_reveal_id), %lu allowed, "
           "%lu mismatches\n", checked, allowed, mismatches);
    assert_int_equal(checked, 5ul * SH_COUNT * NVIA_COUNT * 2 * ORG_COUNT * 2 * 2 * 5 * 2 * 3);
    assert_true(allowed > 0);
    assert_int_equal(mismatches, 0);
}

/* Revocations: the revocation's own line, then the target's line (target state ignored). */
static void matrix_revocations(void **state)
{
    (void)state;
    static struct proto_record rev, target;
    struct gate_self n;
    struct gate_peer p;
    struct gate_record_state st;
    unsigned long checked = 0, mismatches = 0;

    make_self(&n, ORG_DIFFERENT);
    for (int rt = 0; rt < PROTO_TLP_COUNT; rt++)
    for (int rs = 0; rs < SH_COUNT; rs++)
    for (int tt = 0; tt < PROTO_TLP_COUNT; tt++)
    for (int ts = 0; ts < SH_COUNT; ts++)
    for (int known = 0; known < 2; known++)
    for (int t_expired = 0; t_expired < 2; t_expired++) {
        make_revocation(&rev, rt, (enum shape)rs);
        make_indicator(&target, tt, (enum shape)ts, NVIA_NONE, t_expired);
        for (int rel = 0; rel < GATE_RELATION_COUNT; rel++)
        for (int ceil = 0; ceil < PROTO_TLP_COUNT; ceil++) {
            struct situation s_rev = {.tlp = rt, .shape = (enum shape)rs, .authenticated = true,
                                      .org = ORG_DIFFERENT, .relation = rel, .ceiling = ceil};
            struct situation s_tgt = s_rev;
            s_tgt.tlp = tt;
            s_tgt.shape = (enum shape)ts;
            enum gate_verdict want = oracle(&s_rev);
            if (want == GATE_ALLOW && known)
                want = oracle_tlp(&s_tgt);

            make_peer(&p, true, ORG_DIFFERENT, rel, ceil);
            make_state(&st, false, HAS_NONE);
            st.target = known ? &target : NULL;
            enum gate_verdict got = gate_check(&n, &p, &rev, &st, NOW);
            struct gate_reason why;
            /* The target's line decided exactly when the revocation's own allowed it. */
            bool by_target = known && oracle(&s_rev) == GATE_ALLOW;
            if (gate_check_reason(&n, &p, &rev, &st, NOW, &why) != got || why.verdict != got ||
                why.by_target != by_target || why.tlp != (by_target ? tt : rt))
                got = GATE_VERDICT_COUNT; /* reported below as a mismatch */
            if (got != want) {
                print_error("revocation tlp=%d shape=%d target tlp=%d shape=%d known=%d "
                            "expired=%d rel=%d ceil=%d: gate %s, table %s\n",
                            rt, rs, tt, ts, known, t_expired, rel, ceil,
                            gate_verdict_name(got), gate_verdict_name(want));
                mismatches++;
            }
            checked++;
        }
    }
    printf("gate revocation matrix: %lu combinations checked, %lu mismatches\n", checked,
           mismatches);
    assert_int_equal(mismatches, 0);
}

/* Sightings: the sighting's own line, then the target's line (target state ignored); a sighting
 * of a record N does not hold goes nowhere. */
static void matrix_sightings(void **state)
{
    (void)state;
    static struct proto_record sight, target;
    struct gate_self n;
    struct gate_peer p;
    struct gate_record_state st;
    unsigned long checked = 0, mismatches = 0, allowed = 0;

    make_self(&n, ORG_DIFFERENT);
    for (int rt = 0; rt < PROTO_TLP_COUNT; rt++)
    for (int rs = 0; rs < SH_COUNT; rs++)
    for (int tt = 0; tt < PROTO_TLP_COUNT; tt++)
    for (int ts = 0; ts < SH_COUNT; ts++)
    for (int known = 0; known < 2; known++)
    for (int t_expired = 0; t_expired < 2; t_expired++) {
        make_sighting(&sight, rt, (enum shape)rs);
        make_indicator(&target, tt, (enum shape)ts, NVIA_NONE, t_expired);
        for (int org = 0; org < ORG_COUNT; org++)
        for (int rel = 0; rel < GATE_RELATION_COUNT; rel++)
        for (int ceil = 0; ceil < PROTO_TLP_COUNT; ceil++)
        for (int rv = 0; rv < 2; rv++) {
            make_self(&n, (enum org_case)org);
            struct situation s_sg = {.tlp = rt, .shape = (enum shape)rs, .authenticated = true,
                                     .org = (enum org_case)org, .relation = rel,
                                     .ceiling = ceil, .revoked = rv};
            struct situation s_tgt = s_sg;
            s_tgt.tlp = tt;
            s_tgt.shape = (enum shape)ts;
            enum gate_verdict want = GATE_DENY_UNKNOWN_TARGET;
            if (known) {
                want = oracle(&s_sg);
                if (want == GATE_ALLOW)
                    want = oracle_tlp(&s_tgt);
            }
            make_peer(&p, true, (enum org_case)org, rel, ceil);
            make_state(&st, rv, HAS_NONE);
            st.target = known ? &target : NULL;
            enum gate_verdict got = gate_check(&n, &p, &sight, &st, NOW);
            enum gate_verdict got_id = gate_may_reveal_id(&n, &p, &sight, &st, NOW);
            struct gate_reason why;
            if (gate_check_reason(&n, &p, &sight, &st, NOW, &why) != got || why.verdict != got ||
                why.by_target != (known && oracle(&s_sg) == GATE_ALLOW))
                got = GATE_VERDICT_COUNT; /* reported below as a mismatch */
            if (got != want || got_id != want) {
                print_error("sighting tlp=%d shape=%d target tlp=%d shape=%d known=%d "
                            "expired=%d org=%d rel=%d ceil=%d revoked=%d: gate %s/%s, table %s\n",
                            rt, rs, tt, ts, known, t_expired, org, rel, ceil, rv,
                            gate_verdict_name(got), gate_verdict_name(got_id),
                            gate_verdict_name(want));
                mismatches++;
            }
            allowed += want == GATE_ALLOW;
            checked++;
        }
    }
    printf("gate sighting matrix: %lu combinations checked, %lu allowed, %lu mismatches\n",
           checked, allowed, mismatches);
    assert_true(allowed > 0);
    assert_int_equal(mismatches, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(matrix_all_combinations),
        cmocka_unit_test(matrix_revocations),
        cmocka_unit_test(matrix_sightings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
