/* test_gate.c - the forwarding gate (node/core/gate.h) against an independent oracle.
 *
 * The matrix tests describe each situation abstractly (which audience shape, whose organisation,
 * which relation...), build real structs from the description, and compare gate_check() with an
 * oracle that reads the rule table of docs/SHARING.md from the description alone, never from the
 * structs and never through gate code. The named tests pin each table row with a readable story.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "node/core/gate.h"
#include "tests/support/ts_record.h"

#define NOW 1700000000000ull

/* Keys chosen so that recipients written in the order X, N, P are sorted, as the encoder wants. */
#define KEY_X 0x10 /* some other node: in no organisation or community of the test */
#define KEY_N 0x20 /* the sending node */
#define KEY_P 0x30 /* the peer */
#define KEY_O 0x40 /* the origin of the records */

/* ---------- fixtures ---------- */

enum org_case { ORG_SAME, ORG_DIFFERENT, ORG_P_UNKNOWN, ORG_N_UNKNOWN, ORG_BOTH_UNKNOWN, ORG_COUNT };

static const struct {
    const char *n, *p;
} ORGS[ORG_COUNT] = {
    [ORG_SAME] = {"cert-a", "cert-a"},   [ORG_DIFFERENT] = {"cert-a", "cert-b"},
    [ORG_P_UNKNOWN] = {"cert-a", ""},    [ORG_N_UNKNOWN] = {"", "cert-a"},
    [ORG_BOTH_UNKNOWN] = {"", ""},
};

/* Audience shapes: cp = names community "cp" (P is a member), cx = names "cx" (nobody in the test
 * is a member), rp = recipients hold P's key, rx = recipients hold X's key. */
enum shape { SH_DEFAULT, SH_CP, SH_CX, SH_RP, SH_RX, SH_CP_RP, SH_CP_RX, SH_CX_RP, SH_CX_RX,
             SH_COUNT };

static const struct {
    bool cp, cx, rp, rx;
} SHAPES[SH_COUNT] = {
    [SH_DEFAULT] = {0, 0, 0, 0}, [SH_CP] = {1, 0, 0, 0},    [SH_CX] = {0, 1, 0, 0},
    [SH_RP] = {0, 0, 1, 0},      [SH_RX] = {0, 0, 0, 1},    [SH_CP_RP] = {1, 0, 1, 0},
    [SH_CP_RX] = {1, 0, 0, 1},   [SH_CX_RP] = {0, 1, 1, 0}, [SH_CX_RX] = {0, 1, 0, 1},
};

/* How N itself is in the audience: not at all, by its key in recipients, or by community "cn". */
enum n_via { NVIA_NONE, NVIA_KEY, NVIA_COMMUNITY, NVIA_COUNT };

enum has_case { HAS_NONE, HAS_SENT, HAS_RECEIVED, HAS_COUNT };

static void set_key(uint8_t key[LIMIT_KEY_BYTES], uint8_t fill)
{
    memset(key, fill, LIMIT_KEY_BYTES);
}

static void add_community(struct proto_audience *a, const char *name)
{
    snprintf(a->communities[a->n_communities++], LIMIT_NAME_BYTES + 1, "%s", name);
}

static void add_recipient(struct proto_audience *a, uint8_t fill)
{
    set_key(a->recipients[a->n_recipients++], fill);
}

/* Fills *a in sorted order: communities cn < cp < cx, recipients X < N < P. */
static void make_audience(struct proto_audience *a, enum shape sh, enum n_via nv)
{
    memset(a, 0, sizeof *a);
    if (nv == NVIA_COMMUNITY)
        add_community(a, "cn");
    if (SHAPES[sh].cp)
        add_community(a, "cp");
    if (SHAPES[sh].cx)
        add_community(a, "cx");
    if (SHAPES[sh].rx)
        add_recipient(a, KEY_X);
    if (nv == NVIA_KEY)
        add_recipient(a, KEY_N);
    if (SHAPES[sh].rp)
        add_recipient(a, KEY_P);
}

static void make_indicator(struct proto_record *r, int tlp, enum shape sh, enum n_via nv,
                           bool expired)
{
    ts_record(r, PROTO_KIND_INDICATOR, (uint8_t)tlp, NOW - 1000);
    set_key(r->origin, KEY_O);
    make_audience(&r->audience, sh, nv);
    r->u.ind.type = 0;
    r->u.ind.confidence = 50;
    r->u.ind.valid_until_ms = expired ? NOW : NOW + 1;
    snprintf(r->u.ind.value, sizeof r->u.ind.value, "%s", "198.51.100.7");
}

static void make_revocation(struct proto_record *r, int tlp, enum shape sh)
{
    ts_record(r, PROTO_KIND_REVOCATION, (uint8_t)tlp, NOW - 10);
    set_key(r->origin, KEY_O);
    make_audience(&r->audience, sh, NVIA_NONE);
    memset(r->u.rev.target, 0xab, LIMIT_ID_BYTES);
    snprintf(r->u.rev.reason, sizeof r->u.rev.reason, "%s", "false positive");
}

/* A sighting by X (anyone may sight a record) of the record whose id is 0xcd... */
static void make_sighting(struct proto_record *r, int tlp, enum shape sh)
{
    ts_record(r, PROTO_KIND_SIGHTING, (uint8_t)tlp, NOW - 10);
    set_key(r->origin, KEY_X);
    make_audience(&r->audience, sh, NVIA_NONE);
    memset(r->u.sight.target, 0xcd, LIMIT_ID_BYTES);
    r->u.sight.count = 1;
    r->u.sight.first_seen_ms = NOW - 20;
    r->u.sight.last_seen_ms = NOW - 20;
}

static void make_self(struct gate_self *n, enum org_case oc)
{
    memset(n, 0, sizeof *n);
    set_key(n->key, KEY_N);
    snprintf(n->org, sizeof n->org, "%s", ORGS[oc].n);
    snprintf(n->communities[n->n_communities++], LIMIT_NAME_BYTES + 1, "%s", "cn");
    snprintf(n->communities[n->n_communities++], LIMIT_NAME_BYTES + 1, "%s", "n-other");
}

static void make_peer(struct gate_peer *p, bool authenticated, enum org_case oc, int relation,
                      int ceiling)
{
    memset(p, 0, sizeof *p);
    p->authenticated = authenticated;
    set_key(p->key, KEY_P);
    snprintf(p->org, sizeof p->org, "%s", ORGS[oc].p);
    p->relation = (uint8_t)relation;
    p->ceiling = (uint8_t)ceiling;
    snprintf(p->communities[p->n_communities++], LIMIT_NAME_BYTES + 1, "%s", "cp");
    snprintf(p->communities[p->n_communities++], LIMIT_NAME_BYTES + 1, "%s", "zz-other");
}

static void make_state(struct gate_record_state *st, bool revoked, enum has_case hc)
{
    memset(st, 0, sizeof *st);
    st->revoked = revoked;
    st->sent_to_peer = hc == HAS_SENT;
    st->received_from_peer = hc == HAS_RECEIVED;
}

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
        cmocka_unit_test(matrix_all_combinations),
        cmocka_unit_test(matrix_revocations),
        cmocka_unit_test(matrix_sightings),
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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
