/* test_gate.c - the forwarding gate (node/core/gate.h), one named story per row of the rule table
 * of docs/SHARING.md. The situations are built by gate_fixture.h; test_gate_matrix.c holds the
 * exhaustive matrices against an independent oracle.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "tests/gate_fixture.h"
#include "tests/support/ts_record.h"

/* ---------- named cases, one story per table row ---------- */

struct fixture {
    struct gate_self n;
    struct gate_peer p;
    struct proto_record r;
    struct gate_record_state st;
};

/* N in cert-a, P a partner in cert-b with ceiling RED, an unexpired indicator at tlp. */
static struct fixture *fixture_new(int tlp, enum shape sh, enum n_via nv)
{
    static struct fixture f;
    make_self(&f.n, ORG_DIFFERENT);
    make_peer(&f.p, true, ORG_DIFFERENT, GATE_RELATION_PARTNER, PROTO_TLP_RED);
    make_indicator(&f.r, tlp, sh, nv, false);
    make_state(&f.st, false, HAS_NONE);
    return &f;
}

static enum gate_verdict run(const struct fixture *f)
{
    return gate_check(&f->n, &f->p, &f->r, &f->st, NOW);
}

static void clear_goes_to_anyone_even_anonymous(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(PROTO_TLP_CLEAR, SH_CX, NVIA_NONE);
    f->p.authenticated = false;
    f->p.ceiling = PROTO_TLP_CLEAR;
    assert_int_equal(run(f), GATE_ALLOW);
}

static void anonymous_reader_gets_nothing_above_clear(void **state)
{
    (void)state;
    /* Everything that would admit an authenticated P: default audience, listed key, same org. */
    struct fixture *f = fixture_new(PROTO_TLP_GREEN, SH_DEFAULT, NVIA_NONE);
    f->p.authenticated = false;
    memcpy(f->p.org, f->n.org, sizeof f->p.org);
    f->p.relation = GATE_RELATION_CLIENT;
    for (int tlp = PROTO_TLP_GREEN; tlp <= PROTO_TLP_AMBER_STRICT; tlp++) {
        f->r.tlp = (uint8_t)tlp;
        assert_int_equal(run(f), GATE_DENY_NOT_IN_AUDIENCE);
    }
    make_audience(&f->r.audience, SH_RP, NVIA_NONE);
    f->r.tlp = PROTO_TLP_RED;
    assert_int_equal(run(f), GATE_DENY_NOT_RECIPIENT);
}

static void green_default_audience_goes_to_every_peer(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(PROTO_TLP_GREEN, SH_DEFAULT, NVIA_NONE);
    f->p.n_communities = 0;
    f->p.org[0] = '\0';
    assert_int_equal(run(f), GATE_ALLOW);
}

static void green_named_community_member_allowed_outsider_refused(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(PROTO_TLP_GREEN, SH_CP, NVIA_NONE);
    assert_int_equal(run(f), GATE_ALLOW);
    make_audience(&f->r.audience, SH_CX, NVIA_NONE);
    assert_int_equal(run(f), GATE_DENY_NOT_IN_AUDIENCE);
}

static void green_same_org_outside_audience_allowed(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(PROTO_TLP_GREEN, SH_CX, NVIA_NONE);
    snprintf(f->p.org, sizeof f->p.org, "%s", "cert-a");
    assert_int_equal(run(f), GATE_ALLOW);
}

static void unknown_organisations_are_never_the_same(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(PROTO_TLP_GREEN, SH_CX, NVIA_NONE);
    f->n.org[0] = '\0';
    f->p.org[0] = '\0';
    assert_int_equal(run(f), GATE_DENY_NOT_IN_AUDIENCE);
}

static void organisation_compare_is_byte_exact(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(PROTO_TLP_AMBER_STRICT, SH_CX, NVIA_NONE);
    snprintf(f->p.org, sizeof f->p.org, "%s", "CERT-A");
    assert_int_equal(run(f), GATE_DENY_NOT_IN_AUDIENCE);
    snprintf(f->p.org, sizeof f->p.org, "%s", "cert-a ");
    assert_int_equal(run(f), GATE_DENY_NOT_IN_AUDIENCE);
    snprintf(f->p.org, sizeof f->p.org, "%s", "cert-a");
    assert_int_equal(run(f), GATE_ALLOW);
}

static void community_names_match_exactly_and_empty_never(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(PROTO_TLP_GREEN, SH_CX, NVIA_NONE);
    snprintf(f->p.communities[0], LIMIT_NAME_BYTES + 1, "%s", "c");   /* prefix of "cx" */
    snprintf(f->p.communities[1], LIMIT_NAME_BYTES + 1, "%s", "cx2"); /* extends "cx" */
    assert_int_equal(run(f), GATE_DENY_NOT_IN_AUDIENCE);
    f->p.communities[0][0] = '\0';
    f->r.audience.communities[0][0] = '\0'; /* an unfilled slot on both sides */
    assert_int_equal(run(f), GATE_DENY_NOT_IN_AUDIENCE);
}

static void amber_to_client_when_n_in_audience_allowed(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(PROTO_TLP_AMBER, SH_CX, NVIA_COMMUNITY);
    f->p.relation = GATE_RELATION_CLIENT;
    assert_int_equal(run(f), GATE_ALLOW);
    make_audience(&f->r.audience, SH_RX, NVIA_KEY);
    assert_int_equal(run(f), GATE_ALLOW);
}

static void amber_to_client_when_n_not_in_audience_refused(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(PROTO_TLP_AMBER, SH_CX_RX, NVIA_NONE);
    f->p.relation = GATE_RELATION_CLIENT;
    assert_int_equal(run(f), GATE_DENY_NOT_IN_AUDIENCE);
}

static void amber_to_partner_outside_audience_refused(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(PROTO_TLP_AMBER, SH_CX, NVIA_COMMUNITY);
    assert_int_equal(run(f), GATE_DENY_NOT_IN_AUDIENCE);
}

static void amber_default_audience_goes_to_every_peer(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(PROTO_TLP_AMBER, SH_DEFAULT, NVIA_NONE);
    f->p.n_communities = 0;
    assert_int_equal(run(f), GATE_ALLOW);
}

static void amber_strict_never_goes_to_clients(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(PROTO_TLP_AMBER_STRICT, SH_CX, NVIA_COMMUNITY);
    f->p.relation = GATE_RELATION_CLIENT;
    assert_int_equal(run(f), GATE_DENY_NOT_IN_AUDIENCE);
    snprintf(f->p.org, sizeof f->p.org, "%s", "cert-a");
    assert_int_equal(run(f), GATE_ALLOW);
}

static void red_with_empty_recipients_refused(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(PROTO_TLP_RED, SH_CP, NVIA_NONE);
    snprintf(f->p.org, sizeof f->p.org, "%s", "cert-a");
    assert_int_equal(run(f), GATE_DENY_RED_NO_RECIPIENTS);
    make_audience(&f->r.audience, SH_DEFAULT, NVIA_NONE);
    assert_int_equal(run(f), GATE_DENY_RED_NO_RECIPIENTS);
}

static void red_only_to_listed_keys(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(PROTO_TLP_RED, SH_RP, NVIA_NONE);
    assert_int_equal(run(f), GATE_ALLOW);
    /* Same organisation, community member, client of N: none of it counts for RED. */
    make_audience(&f->r.audience, SH_CP_RX, NVIA_KEY);
    snprintf(f->p.org, sizeof f->p.org, "%s", "cert-a");
    f->p.relation = GATE_RELATION_CLIENT;
    assert_int_equal(run(f), GATE_DENY_NOT_RECIPIENT);
}

static void ceiling_green_blocks_amber(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(PROTO_TLP_AMBER, SH_RP, NVIA_NONE);
    f->p.ceiling = PROTO_TLP_GREEN;
    assert_int_equal(run(f), GATE_DENY_CEILING);
    f->r.tlp = PROTO_TLP_GREEN;
    assert_int_equal(run(f), GATE_ALLOW);
}

static void ceiling_amber_blocks_red_recipient(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(PROTO_TLP_RED, SH_RP, NVIA_NONE);
    f->p.ceiling = PROTO_TLP_AMBER_STRICT;
    assert_int_equal(run(f), GATE_DENY_CEILING);
}

static void peer_that_has_record_gets_no_copy_but_may_see_id(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(PROTO_TLP_CLEAR, SH_DEFAULT, NVIA_NONE);
    f->st.received_from_peer = true;
    assert_int_equal(run(f), GATE_DENY_PEER_HAS);
    assert_int_equal(gate_may_reveal_id(&f->n, &f->p, &f->r, &f->st, NOW), GATE_ALLOW);
    f->st.received_from_peer = false;
    f->st.sent_to_peer = true;
    assert_int_equal(run(f), GATE_DENY_PEER_HAS);
    /* Holding an id does not open the rest of the gate. */
    f->r.tlp = PROTO_TLP_RED;
    assert_int_equal(gate_may_reveal_id(&f->n, &f->p, &f->r, &f->st, NOW),
                     GATE_DENY_RED_NO_RECIPIENTS);
}

/* RED to P only, GREEN to a community its origin is not in, a ceiling below the record: the
 * origin may not receive the record back, but its id is no secret to it (both ends of a link
 * must reconcile the same ids). Never for an unauthenticated key, never once revoked. */
static void origin_may_see_its_own_ids(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(PROTO_TLP_RED, SH_RX, NVIA_NONE);
    set_key(f->p.key, KEY_O); /* P is the record's origin */
    assert_int_equal(run(f), GATE_DENY_NOT_RECIPIENT);
    assert_int_equal(gate_may_reveal_id(&f->n, &f->p, &f->r, &f->st, NOW), GATE_ALLOW);
    f->p.ceiling = PROTO_TLP_CLEAR;
    assert_int_equal(run(f), GATE_DENY_CEILING);
    assert_int_equal(gate_may_reveal_id(&f->n, &f->p, &f->r, &f->st, NOW), GATE_ALLOW);
    f->r.tlp = PROTO_TLP_GREEN;
    assert_int_equal(gate_may_reveal_id(&f->n, &f->p, &f->r, &f->st, NOW), GATE_ALLOW);
    f->p.authenticated = false;
    assert_int_equal(gate_may_reveal_id(&f->n, &f->p, &f->r, &f->st, NOW), GATE_DENY_CEILING);
    f->p.authenticated = true;
    f->st.revoked = true;
    assert_int_equal(gate_may_reveal_id(&f->n, &f->p, &f->r, &f->st, NOW), GATE_DENY_REVOKED);
    /* Another key is held to the rules as before. */
    f->st.revoked = false;
    set_key(f->p.key, KEY_X);
    assert_int_equal(gate_may_reveal_id(&f->n, &f->p, &f->r, &f->st, NOW), GATE_DENY_CEILING);
}

static void expiry_boundary_is_valid_until(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(PROTO_TLP_CLEAR, SH_DEFAULT, NVIA_NONE);
    f->r.u.ind.valid_until_ms = NOW + 1;
    assert_int_equal(run(f), GATE_ALLOW);
    f->r.u.ind.valid_until_ms = NOW;
    assert_int_equal(run(f), GATE_DENY_EXPIRED);
    assert_int_equal(gate_may_reveal_id(&f->n, &f->p, &f->r, &f->st, NOW), GATE_DENY_EXPIRED);
}

static void revocation_without_expiry_field_never_expires(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(PROTO_TLP_CLEAR, SH_DEFAULT, NVIA_NONE);
    make_revocation(&f->r, PROTO_TLP_CLEAR, SH_DEFAULT);
    memset(f->r.u.rev.target, 0, LIMIT_ID_BYTES); /* overlays valid_until_ms with 0 */
    assert_int_equal(gate_check(&f->n, &f->p, &f->r, &f->st, UINT64_MAX), GATE_ALLOW);
}

static void revoked_record_refused(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(PROTO_TLP_CLEAR, SH_DEFAULT, NVIA_NONE);
    f->st.revoked = true;
    assert_int_equal(run(f), GATE_DENY_REVOKED);
}

static void first_failing_rule_is_reported(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(PROTO_TLP_RED, SH_DEFAULT, NVIA_NONE);
    f->p.ceiling = PROTO_TLP_CLEAR;
    f->st.revoked = true;
    f->st.sent_to_peer = true;
    f->r.u.ind.valid_until_ms = NOW;
    assert_int_equal(run(f), GATE_DENY_REVOKED);
    f->st.revoked = false;
    assert_int_equal(run(f), GATE_DENY_EXPIRED);
    f->r.u.ind.valid_until_ms = NOW + 1;
    assert_int_equal(run(f), GATE_DENY_PEER_HAS);
    f->st.sent_to_peer = false;
    assert_int_equal(run(f), GATE_DENY_CEILING);
    f->p.ceiling = PROTO_TLP_RED;
    assert_int_equal(run(f), GATE_DENY_RED_NO_RECIPIENTS);
}

static void revocation_of_red_record_stays_with_its_recipients(void **state)
{
    (void)state;
    static struct proto_record target;
    struct fixture *f = fixture_new(PROTO_TLP_CLEAR, SH_DEFAULT, NVIA_NONE);
    make_revocation(&f->r, PROTO_TLP_CLEAR, SH_DEFAULT);
    make_indicator(&target, PROTO_TLP_RED, SH_RX, NVIA_NONE, false);
    f->st.target = &target;
    assert_int_equal(run(f), GATE_DENY_NOT_RECIPIENT);
    make_audience(&target.audience, SH_RP, NVIA_NONE);
    assert_int_equal(run(f), GATE_ALLOW);
    /* The target being expired (and, by definition, revoked) does not stop its revocation. */
    target.u.ind.valid_until_ms = NOW;
    assert_int_equal(run(f), GATE_ALLOW);
    /* Unknown target: the revocation's own TLP and audience decide. */
    f->st.target = NULL;
    f->r.tlp = PROTO_TLP_GREEN;
    make_audience(&f->r.audience, SH_CX, NVIA_NONE);
    assert_int_equal(run(f), GATE_DENY_NOT_IN_AUDIENCE);
}

static void revocation_target_checked_against_peer_ceiling(void **state)
{
    (void)state;
    static struct proto_record target;
    struct fixture *f = fixture_new(PROTO_TLP_CLEAR, SH_DEFAULT, NVIA_NONE);
    make_revocation(&f->r, PROTO_TLP_CLEAR, SH_DEFAULT);
    make_indicator(&target, PROTO_TLP_AMBER, SH_DEFAULT, NVIA_NONE, false);
    f->st.target = &target;
    f->p.ceiling = PROTO_TLP_GREEN;
    assert_int_equal(run(f), GATE_DENY_CEILING);
}

static void revocation_target_pairing_must_be_sound(void **state)
{
    (void)state;
    static struct proto_record target;
    struct fixture *f = fixture_new(PROTO_TLP_CLEAR, SH_DEFAULT, NVIA_NONE);
    make_revocation(&f->r, PROTO_TLP_CLEAR, SH_DEFAULT);
    make_indicator(&target, PROTO_TLP_CLEAR, SH_DEFAULT, NVIA_NONE, false);
    f->st.target = &target;
    set_key(target.origin, KEY_X); /* only the origin may revoke */
    assert_int_equal(run(f), GATE_DENY_INVALID);
    set_key(target.origin, KEY_O);
    make_indicator(&f->r, PROTO_TLP_CLEAR, SH_DEFAULT, NVIA_NONE, false); /* not a revocation */
    assert_int_equal(run(f), GATE_DENY_INVALID);
}

/* A CLEAR sighting of a RED record stays with the record's recipients, whoever sighted it. */
static void sighting_travels_only_where_its_target_may(void **state)
{
    (void)state;
    static struct proto_record target;
    struct fixture *f = fixture_new(PROTO_TLP_CLEAR, SH_DEFAULT, NVIA_NONE);
    make_sighting(&f->r, PROTO_TLP_CLEAR, SH_DEFAULT);
    make_indicator(&target, PROTO_TLP_RED, SH_RX, NVIA_NONE, false);
    f->st.target = &target;
    assert_int_equal(run(f), GATE_DENY_NOT_RECIPIENT);
    make_indicator(&target, PROTO_TLP_RED, SH_RP, NVIA_NONE, false);
    assert_int_equal(run(f), GATE_ALLOW);
    /* The sighted record may be revoked or expired: who may learn its id does not change. */
    make_indicator(&target, PROTO_TLP_GREEN, SH_CP, NVIA_NONE, true);
    assert_int_equal(run(f), GATE_ALLOW);
    /* A sighting's own state counts: revoked, or already exchanged with P. */
    f->st.received_from_peer = true;
    assert_int_equal(run(f), GATE_DENY_PEER_HAS);
    f->st.received_from_peer = false;
    f->st.revoked = true;
    assert_int_equal(run(f), GATE_DENY_REVOKED);
}

static void sighting_of_unknown_target_goes_nowhere(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(PROTO_TLP_CLEAR, SH_DEFAULT, NVIA_NONE);
    make_sighting(&f->r, PROTO_TLP_CLEAR, SH_DEFAULT);
    f->st.target = NULL;
    assert_int_equal(run(f), GATE_DENY_UNKNOWN_TARGET);
    f->p.authenticated = false; /* even CLEAR, even to an anonymous reader */
    assert_int_equal(run(f), GATE_DENY_UNKNOWN_TARGET);
    assert_string_equal(gate_verdict_name(GATE_DENY_UNKNOWN_TARGET), "unknown-target");
    /* A bad target is invalid input, reported before the unknown target. */
    static struct proto_record target;
    make_indicator(&target, 9, SH_DEFAULT, NVIA_NONE, false);
    f->st.target = &target;
    assert_int_equal(run(f), GATE_DENY_INVALID);
}

static void invalid_input_is_refused_not_guessed(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(PROTO_TLP_CLEAR, SH_DEFAULT, NVIA_NONE);
    assert_int_equal(run(f), GATE_ALLOW);

    f->r.tlp = PROTO_TLP_COUNT;
    assert_int_equal(run(f), GATE_DENY_INVALID);
    f->r.tlp = PROTO_TLP_CLEAR;
    f->r.kind = 0;
    assert_int_equal(run(f), GATE_DENY_INVALID);
    f->r.kind = PROTO_KIND_INDICATOR;
    f->r.audience.n_recipients = LIMIT_AUDIENCE_RECIPIENTS + 1;
    assert_int_equal(run(f), GATE_DENY_INVALID);
    f->r.audience.n_recipients = 0;
    f->r.audience.n_communities = LIMIT_AUDIENCE_COMMUNITIES + 1;
    assert_int_equal(run(f), GATE_DENY_INVALID);
    f->r.audience.n_communities = 0;

    f->p.ceiling = PROTO_TLP_COUNT;
    assert_int_equal(run(f), GATE_DENY_INVALID);
    f->p.ceiling = PROTO_TLP_RED;
    f->p.relation = GATE_RELATION_COUNT;
    assert_int_equal(run(f), GATE_DENY_INVALID);
    f->p.relation = GATE_RELATION_PARTNER;
    f->p.n_communities = LIMIT_GATE_MEMBERSHIPS + 1;
    assert_int_equal(run(f), GATE_DENY_INVALID);
    f->p.n_communities = 0;
    memset(f->p.org, 'a', sizeof f->p.org); /* unterminated */
    assert_int_equal(run(f), GATE_DENY_INVALID);
    f->p.org[0] = '\0';

    memset(f->n.communities[1], 'c', sizeof f->n.communities[1]);
    assert_int_equal(run(f), GATE_DENY_INVALID);
    f->n.communities[1][0] = '\0';
    f->n.n_communities = LIMIT_GATE_MEMBERSHIPS + 1;
    assert_int_equal(run(f), GATE_DENY_INVALID);
    f->n.n_communities = 0;
    assert_int_equal(run(f), GATE_ALLOW);
}

/* The worked examples of docs/SHARING.md, cast and all: if this fails, fix the page or the code. */
enum cast { A2, B, C, G, K, ANON, CAST_COUNT };

static void make_cast_member(struct gate_peer *p, enum cast who)
{
    static const struct {
        const char *org, *community;
        int relation, ceiling;
    } CAST[CAST_COUNT] = {
        [A2] = {"cert-a", NULL, GATE_RELATION_PARTNER, PROTO_TLP_RED},
        [B] = {"cert-b", "eu-energy", GATE_RELATION_PARTNER, PROTO_TLP_RED},
        [C] = {"cert-c", NULL, GATE_RELATION_PARTNER, PROTO_TLP_AMBER_STRICT},
        [G] = {"cert-g", "eu-energy", GATE_RELATION_PARTNER, PROTO_TLP_GREEN},
        [K] = {"hospital-k", NULL, GATE_RELATION_CLIENT, PROTO_TLP_AMBER_STRICT},
        [ANON] = {"", NULL, GATE_RELATION_PARTNER, PROTO_TLP_CLEAR},
    };
    memset(p, 0, sizeof *p);
    p->authenticated = who != ANON;
    set_key(p->key, (uint8_t)(0x50 + who));
    snprintf(p->org, sizeof p->org, "%s", CAST[who].org);
    p->relation = (uint8_t)CAST[who].relation;
    p->ceiling = (uint8_t)CAST[who].ceiling;
    if (CAST[who].community != NULL)
        snprintf(p->communities[p->n_communities++], LIMIT_NAME_BYTES + 1, "%s",
                 CAST[who].community);
}

static enum gate_verdict example(const struct proto_record *r, const struct gate_record_state *st,
                                 enum cast who)
{
    struct gate_self a1;
    struct gate_peer p;

    memset(&a1, 0, sizeof a1);
    set_key(a1.key, KEY_N);
    snprintf(a1.org, sizeof a1.org, "%s", "cert-a");
    snprintf(a1.communities[a1.n_communities++], LIMIT_NAME_BYTES + 1, "%s", "eu-energy");
    make_cast_member(&p, who);
    return gate_check(&a1, &p, r, st, NOW);
}

static void sharing_md_worked_examples(void **state)
{
    (void)state;
    static struct proto_record r, target;
    struct gate_record_state st;

    make_state(&st, false, HAS_NONE);
    make_indicator(&r, PROTO_TLP_GREEN, SH_DEFAULT, NVIA_NONE, false);
    add_community(&r.audience, "eu-energy");
    assert_int_equal(example(&r, &st, B), GATE_ALLOW);                  /* 1 */
    assert_int_equal(example(&r, &st, A2), GATE_ALLOW);
    assert_int_equal(example(&r, &st, C), GATE_DENY_NOT_IN_AUDIENCE);
    assert_int_equal(example(&r, &st, K), GATE_DENY_NOT_IN_AUDIENCE);

    make_indicator(&r, PROTO_TLP_GREEN, SH_DEFAULT, NVIA_NONE, false);  /* 2 */
    assert_int_equal(example(&r, &st, C), GATE_ALLOW);
    r.tlp = PROTO_TLP_CLEAR;
    assert_int_equal(example(&r, &st, ANON), GATE_ALLOW);

    make_indicator(&r, PROTO_TLP_AMBER, SH_DEFAULT, NVIA_NONE, false);  /* 3 */
    add_community(&r.audience, "eu-energy");
    assert_int_equal(example(&r, &st, K), GATE_ALLOW);
    assert_int_equal(example(&r, &st, G), GATE_DENY_CEILING);

    make_indicator(&r, PROTO_TLP_AMBER, SH_DEFAULT, NVIA_NONE, false);  /* 4 */
    add_community(&r.audience, "eu-finance");
    assert_int_equal(example(&r, &st, K), GATE_DENY_NOT_IN_AUDIENCE);
    assert_int_equal(example(&r, &st, A2), GATE_ALLOW);

    make_indicator(&r, PROTO_TLP_AMBER_STRICT, SH_DEFAULT, NVIA_NONE, false); /* 5 */
    add_community(&r.audience, "eu-energy");
    assert_int_equal(example(&r, &st, K), GATE_DENY_NOT_IN_AUDIENCE);
    assert_int_equal(example(&r, &st, A2), GATE_ALLOW);
    assert_int_equal(example(&r, &st, B), GATE_ALLOW);

    make_indicator(&target, PROTO_TLP_RED, SH_DEFAULT, NVIA_NONE, false); /* 6 */
    add_recipient(&target.audience, 0x50 + B);
    assert_int_equal(example(&target, &st, B), GATE_ALLOW);
    assert_int_equal(example(&target, &st, A2), GATE_DENY_NOT_RECIPIENT);
    assert_int_equal(example(&target, &st, C), GATE_DENY_CEILING);

    make_indicator(&r, PROTO_TLP_RED, SH_DEFAULT, NVIA_NONE, false);    /* 7 */
    for (int who = 0; who < CAST_COUNT; who++)
        assert_int_equal(example(&r, &st, (enum cast)who),
                         who == A2 || who == B ? GATE_DENY_RED_NO_RECIPIENTS : GATE_DENY_CEILING);

    make_indicator(&r, PROTO_TLP_CLEAR, SH_DEFAULT, NVIA_NONE, false);  /* 8 */
    st.received_from_peer = true;
    assert_int_equal(example(&r, &st, B), GATE_DENY_PEER_HAS);
    st.received_from_peer = false;

    make_indicator(&r, PROTO_TLP_GREEN, SH_DEFAULT, NVIA_NONE, true);   /* 9 */
    assert_int_equal(example(&r, &st, B), GATE_DENY_EXPIRED);

    make_revocation(&r, PROTO_TLP_CLEAR, SH_DEFAULT);                   /* 10 */
    st.target = &target;
    assert_int_equal(example(&r, &st, B), GATE_ALLOW);
    assert_int_equal(example(&r, &st, A2), GATE_DENY_NOT_RECIPIENT);
    assert_int_equal(example(&r, &st, C), GATE_DENY_CEILING);
    st.target = NULL;
    assert_int_equal(example(&r, &st, C), GATE_ALLOW);

    make_indicator(&r, PROTO_TLP_GREEN, SH_DEFAULT, NVIA_NONE, false);  /* 11 */
    assert_int_equal(example(&r, &st, ANON), GATE_DENY_CEILING);
}

/* issue 16: a peer whose HELLO lacked PROTO_CAP_ITYPES_2 would end the session on a type it does
 * not know: records of later types, and their ids, never go to it; the first version's still do,
 * and a revocation (a kind it knows) too. */
static void first_version_peer_gets_only_its_types(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(PROTO_TLP_CLEAR, SH_CX, NVIA_NONE);
    f->p.v1_types = true;
    f->r.u.ind.type = PROTO_ITYPE_FILENAME; /* the first version's last type */
    assert_int_equal(run(f), GATE_ALLOW);
    for (int t = PROTO_ITYPE_V1_END; t < PROTO_ITYPE_END; t++) {
        f->r.u.ind.type = (uint8_t)t;
        assert_int_equal(run(f), GATE_DENY_PEER_VERSION);
        assert_int_equal(gate_may_reveal_id(&f->n, &f->p, &f->r, &f->st, NOW),
                         GATE_DENY_PEER_VERSION);
    }
    f->p.v1_types = false;
    assert_int_equal(run(f), GATE_ALLOW);
    assert_string_equal(gate_verdict_name(GATE_DENY_PEER_VERSION), "peer-version");
    struct proto_record rev;
    make_revocation(&rev, PROTO_TLP_CLEAR, SH_CX);
    f->p.v1_types = true;
    assert_int_equal(gate_check(&f->n, &f->p, &rev, &f->st, NOW), GATE_ALLOW);
}

static void verdict_names_are_distinct(void **state)
{
    (void)state;
    for (int i = 0; i < GATE_VERDICT_COUNT; i++) {
        assert_string_not_equal(gate_verdict_name(i), "?");
        for (int j = 0; j < i; j++)
            assert_string_not_equal(gate_verdict_name(i), gate_verdict_name(j));
    }
    assert_string_equal(gate_verdict_name(GATE_ALLOW), "allow");
    assert_string_equal(gate_verdict_name(GATE_DENY_CEILING), "ceiling");
    assert_string_equal(gate_verdict_name(-1), "?");
    assert_string_equal(gate_verdict_name(GATE_VERDICT_COUNT), "?");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sighting_travels_only_where_its_target_may),
        cmocka_unit_test(sighting_of_unknown_target_goes_nowhere),
        cmocka_unit_test(clear_goes_to_anyone_even_anonymous),
        cmocka_unit_test(anonymous_reader_gets_nothing_above_clear),
        cmocka_unit_test(green_default_audience_goes_to_every_peer),
        cmocka_unit_test(green_named_community_member_allowed_outsider_refused),
        cmocka_unit_test(green_same_org_outside_audience_allowed),
        cmocka_unit_test(unknown_organisations_are_never_the_same),
        cmocka_unit_test(organisation_compare_is_byte_exact),
        cmocka_unit_test(community_names_match_exactly_and_empty_never),
        cmocka_unit_test(amber_to_client_when_n_in_audience_allowed),
        cmocka_unit_test(amber_to_client_when_n_not_in_audience_refused),
        cmocka_unit_test(amber_to_partner_outside_audience_refused),
        cmocka_unit_test(amber_default_audience_goes_to_every_peer),
        cmocka_unit_test(amber_strict_never_goes_to_clients),
        cmocka_unit_test(red_with_empty_recipients_refused),
        cmocka_unit_test(red_only_to_listed_keys),
        cmocka_unit_test(ceiling_green_blocks_amber),
        cmocka_unit_test(ceiling_amber_blocks_red_recipient),
        cmocka_unit_test(peer_that_has_record_gets_no_copy_but_may_see_id),
        cmocka_unit_test(origin_may_see_its_own_ids),
        cmocka_unit_test(expiry_boundary_is_valid_until),
        cmocka_unit_test(revocation_without_expiry_field_never_expires),
        cmocka_unit_test(revoked_record_refused),
        cmocka_unit_test(first_failing_rule_is_reported),
        cmocka_unit_test(revocation_of_red_record_stays_with_its_recipients),
        cmocka_unit_test(revocation_target_checked_against_peer_ceiling),
        cmocka_unit_test(revocation_target_pairing_must_be_sound),
        cmocka_unit_test(invalid_input_is_refused_not_guessed),
        cmocka_unit_test(sharing_md_worked_examples),
        cmocka_unit_test(verdict_names_are_distinct),
        cmocka_unit_test(first_version_peer_gets_only_its_types),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

