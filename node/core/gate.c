/* gate.c - the forwarding gate (contract in gate.h, rules and examples in docs/SHARING.md).
 *
 * Written as small predicates that each answer one question from the rule table, so that a
 * reviewer can hold each line of docs/SHARING.md "The rule" against one function. Every predicate fails closed:
 * anything it cannot establish is "no".
 */
#include "node/core/gate.h"

#include <assert.h>
#include <string.h>

/* A name field is usable only if it is terminated inside its array; an unterminated one would make
 * strcmp read past it, so the whole decision is refused instead. */
static bool name_terminated(const char name[LIMIT_NAME_BYTES + 1])
{
    return memchr(name, '\0', LIMIT_NAME_BYTES + 1) != NULL;
}

static bool names_terminated(const char names[][LIMIT_NAME_BYTES + 1], unsigned count)
{
    for (unsigned i = 0; i < count; i++)
        if (!name_terminated(names[i]))
            return false;
    return true;
}

static bool self_valid(const struct gate_self *n)
{
    return n->n_communities <= LIMIT_GATE_MEMBERSHIPS && name_terminated(n->org) &&
           names_terminated(n->communities, n->n_communities);
}

static bool peer_valid(const struct gate_peer *p)
{
    return p->relation < GATE_RELATION_COUNT && proto_tlp_valid(p->ceiling) &&
           p->n_communities <= LIMIT_GATE_MEMBERSHIPS && name_terminated(p->org) &&
           names_terminated(p->communities, p->n_communities);
}

static bool record_valid(const struct proto_record *r)
{
    const struct proto_audience *a = &r->audience;

    return r->kind >= PROTO_KIND_INDICATOR && r->kind <= PROTO_KIND_ROSTER &&
           proto_tlp_valid(r->tlp) && a->n_communities <= LIMIT_AUDIENCE_COMMUNITIES &&
           a->n_recipients <= LIMIT_AUDIENCE_RECIPIENTS &&
           names_terminated(a->communities, a->n_communities);
}

/* Only revocations and sightings have a target. Only the origin of a record may revoke it
 * (docs/PROTOCOL.md "Records"): a target from another origin means the caller paired the wrong records. Anyone
 * may sight a record. */
static bool target_pair_valid(const struct proto_record *r, const struct gate_record_state *st)
{
    if (st->target == NULL)
        return true;
    if (!record_valid(st->target))
        return false;
    if (r->kind == PROTO_KIND_SIGHTING)
        return true;
    return r->kind == PROTO_KIND_REVOCATION &&
           memcmp(st->target->origin, r->origin, LIMIT_KEY_BYTES) == 0;
}

static bool audience_is_default(const struct proto_audience *a)
{
    return a->n_communities == 0 && a->n_recipients == 0;
}

static bool key_in_recipients(const struct proto_audience *a, const uint8_t key[LIMIT_KEY_BYTES])
{
    assert(a->n_recipients <= LIMIT_AUDIENCE_RECIPIENTS);
    for (unsigned i = 0; i < a->n_recipients; i++)
        if (memcmp(a->recipients[i], key, LIMIT_KEY_BYTES) == 0)
            return true;
    return false;
}

/* The index of the first audience community the member list names, or -1. An empty name is no
 * community: a member list that was never filled must not match an audience slot that was never
 * filled. */
static int member_of_named(const struct proto_audience *a,
                            const char member_of[][LIMIT_NAME_BYTES + 1], unsigned count)
{
    assert(a->n_communities <= LIMIT_AUDIENCE_COMMUNITIES);
    assert(count <= LIMIT_GATE_MEMBERSHIPS);
    for (unsigned i = 0; i < a->n_communities; i++) {
        if (a->communities[i][0] == '\0')
            continue;
        for (unsigned j = 0; j < count; j++)
            if (strcmp(a->communities[i], member_of[j]) == 0)
                return (int)i;
    }
    return -1;
}

/* Which audience ground holds for a holder of key and communities: the default audience, its
 * key among the recipients, or a named community (its index in *community). */
static enum gate_ground audience_ground(const struct proto_audience *a,
                                        const uint8_t key[LIMIT_KEY_BYTES],
                                        const char member_of[][LIMIT_NAME_BYTES + 1],
                                        unsigned count, uint8_t *community)
{
    if (audience_is_default(a))
        return GATE_GROUND_DEFAULT_AUDIENCE;
    if (key_in_recipients(a, key))
        return GATE_GROUND_RECIPIENT;
    int c = member_of_named(a, member_of, count);
    if (c < 0)
        return GATE_GROUND_NONE;
    *community = (uint8_t)c;
    return GATE_GROUND_COMMUNITY;
}

static enum gate_ground peer_in_audience(const struct gate_peer *p, const struct proto_audience *a,
                                         uint8_t *community)
{
    if (!p->authenticated)
        return GATE_GROUND_NONE;
    return audience_ground(a, p->key, p->communities, p->n_communities, community);
}

static bool self_in_audience(const struct gate_self *n, const struct proto_audience *a)
{
    uint8_t unused;
    return audience_ground(a, n->key, n->communities, n->n_communities, &unused) !=
           GATE_GROUND_NONE;
}

static bool same_org(const struct gate_self *n, const struct gate_peer *p)
{
    return p->authenticated && n->org[0] != '\0' && strcmp(n->org, p->org) == 0;
}

static bool declared_client(const struct gate_peer *p)
{
    return p->authenticated && p->relation == GATE_RELATION_CLIENT;
}

/* The GREEN / AMBER / AMBER+STRICT grounds in table order; client_counts for AMBER only. The
 * parts of the client ground are kept for the reason even when it does not hold. */
static enum gate_ground shared_ground(const struct gate_self *n, const struct gate_peer *p,
                                      const struct proto_audience *a, bool client_counts,
                                      struct gate_reason *out)
{
    enum gate_ground g = peer_in_audience(p, a, &out->community);
    if (g != GATE_GROUND_NONE)
        return g;
    if (same_org(n, p))
        return GATE_GROUND_SAME_ORG;
    out->self_in_audience = self_in_audience(n, a);
    out->client = declared_client(p);
    if (client_counts && out->self_in_audience && out->client)
        return GATE_GROUND_CLIENT;
    return GATE_GROUND_NONE;
}

/* The TLP line of the table, for P; out gets the facts. Ceiling first: it is the operator's
 * word on P whatever the audience says. */
static enum gate_verdict tlp_rule(const struct gate_self *n, const struct gate_peer *p,
                                  const struct proto_record *r, struct gate_reason *out)
{
    const struct proto_audience *a = &r->audience;

    out->tlp = r->tlp;
    out->ceiling = p->ceiling;
    out->n_recipients = a->n_recipients;
    if (p->ceiling < r->tlp)
        return GATE_DENY_CEILING;
    switch ((enum proto_tlp)r->tlp) {
    case PROTO_TLP_CLEAR:
        out->ground = GATE_GROUND_CLEAR;
        return GATE_ALLOW;
    case PROTO_TLP_GREEN:
    case PROTO_TLP_AMBER_STRICT:
        out->ground = shared_ground(n, p, a, false, out);
#ifdef GATE_TEST_BROKEN /* tests/test_simnet_oracle only: a deliberate leak the oracle must catch */
        if (r->tlp == PROTO_TLP_AMBER_STRICT && declared_client(p))
            out->ground = GATE_GROUND_CLIENT;
#endif
        return out->ground != GATE_GROUND_NONE ? GATE_ALLOW : GATE_DENY_NOT_IN_AUDIENCE;
    case PROTO_TLP_AMBER:
        out->ground = shared_ground(n, p, a, true, out);
        return out->ground != GATE_GROUND_NONE ? GATE_ALLOW : GATE_DENY_NOT_IN_AUDIENCE;
    case PROTO_TLP_RED:
        if (a->n_recipients == 0)
            return GATE_DENY_RED_NO_RECIPIENTS;
        if (p->authenticated && key_in_recipients(a, p->key)) {
            out->ground = GATE_GROUND_RECIPIENT;
            return GATE_ALLOW;
        }
        return GATE_DENY_NOT_RECIPIENT;
    }
    return GATE_DENY_INVALID; /* unreachable after record_valid(); fail closed regardless */
}

static bool indicator_expired(const struct proto_record *r, uint64_t now_ms)
{
    return r->kind == PROTO_KIND_INDICATOR && r->u.ind.valid_until_ms <= now_ms;
}

/* The whole decision into out; peer_has_counts is false only when revealing an id P may already
 * hold. */
static enum gate_verdict decide(const struct gate_self *n, const struct gate_peer *p,
                                const struct proto_record *r, const struct gate_record_state *st,
                                uint64_t now_ms, bool peer_has_counts, struct gate_reason *out)
{
    assert(n != NULL && p != NULL && r != NULL && st != NULL && out != NULL);
    memset(out, 0, sizeof *out);
    if (!self_valid(n) || !peer_valid(p) || !record_valid(r) || !target_pair_valid(r, st))
        return GATE_DENY_INVALID;
    out->tlp = r->tlp;
    out->ceiling = p->ceiling;
    out->n_recipients = r->audience.n_recipients;
    if (r->kind == PROTO_KIND_SIGHTING && st->target == NULL)
        return GATE_DENY_UNKNOWN_TARGET;
    if (st->revoked)
        return GATE_DENY_REVOKED;
    if (indicator_expired(r, now_ms))
        return GATE_DENY_EXPIRED;
    if (peer_has_counts && (st->sent_to_peer || st->received_from_peer))
        return GATE_DENY_PEER_HAS;
    /* A peer of the first version closes the session on a type it does not know: it never
     * gets the record, nor its id (so it never asks for it either). */
    if (p->v1_types && r->kind == PROTO_KIND_INDICATOR && r->u.ind.type >= PROTO_ITYPE_V1_END)
        return GATE_DENY_PEER_VERSION;
    /* An id is no secret to the record's own origin, whatever its audience and our ceiling for
     * it. Both ends of a link must put the same ids in their reconciliation sets: the origin's
     * set holds its record for every peer it may send it to, so theirs must hold it for the
     * origin, or each round would fetch it again. */
    if (!peer_has_counts && p->authenticated &&
        memcmp(p->key, r->origin, LIMIT_KEY_BYTES) == 0) {
        out->ground = GATE_GROUND_ORIGIN;
        return GATE_ALLOW;
    }

    enum gate_verdict v = tlp_rule(n, p, r, out);
    if (v != GATE_ALLOW || st->target == NULL)
        return v;
    /* A revocation or sighting reveals its target's id: P must be allowed the target too. */
    memset(out, 0, sizeof *out);
    out->by_target = true;
    return tlp_rule(n, p, st->target, out);
}

enum gate_verdict gate_check_reason(const struct gate_self *n, const struct gate_peer *p,
                                    const struct proto_record *r,
                                    const struct gate_record_state *st, uint64_t now_ms,
                                    struct gate_reason *out)
{
    out->verdict = decide(n, p, r, st, now_ms, true, out);
    assert((out->verdict == GATE_ALLOW) == (out->ground != GATE_GROUND_NONE));
    return out->verdict;
}

enum gate_verdict gate_check(const struct gate_self *n, const struct gate_peer *p,
                             const struct proto_record *r, const struct gate_record_state *st,
                             uint64_t now_ms)
{
    struct gate_reason why;
    return gate_check_reason(n, p, r, st, now_ms, &why);
}

enum gate_verdict gate_may_reveal_id(const struct gate_self *n, const struct gate_peer *p,
                                     const struct proto_record *r,
                                     const struct gate_record_state *st, uint64_t now_ms)
{
    struct gate_reason why;
    return decide(n, p, r, st, now_ms, false, &why);
}

const char *gate_verdict_name(int verdict)
{
    static const char *const names[GATE_VERDICT_COUNT] = {
        [GATE_ALLOW] = "allow",
        [GATE_DENY_INVALID] = "invalid",
        [GATE_DENY_REVOKED] = "revoked",
        [GATE_DENY_EXPIRED] = "expired",
        [GATE_DENY_PEER_HAS] = "peer-has",
        [GATE_DENY_CEILING] = "ceiling",
        [GATE_DENY_NOT_IN_AUDIENCE] = "not-in-audience",
        [GATE_DENY_RED_NO_RECIPIENTS] = "red-no-recipients",
        [GATE_DENY_NOT_RECIPIENT] = "not-recipient",
        [GATE_DENY_UNKNOWN_TARGET] = "unknown-target",
        [GATE_DENY_PEER_VERSION] = "peer-version",
    };
    if (verdict < 0 || verdict >= GATE_VERDICT_COUNT)
        return "?";
    return names[verdict];
}

const char *gate_ground_name(int ground)
{
    static const char *const names[GATE_GROUND_COUNT] = {
        [GATE_GROUND_NONE] = "none",
        [GATE_GROUND_CLEAR] = "clear",
        [GATE_GROUND_DEFAULT_AUDIENCE] = "default-audience",
        [GATE_GROUND_RECIPIENT] = "recipient",
        [GATE_GROUND_COMMUNITY] = "community",
        [GATE_GROUND_SAME_ORG] = "same-organisation",
        [GATE_GROUND_CLIENT] = "client",
        [GATE_GROUND_ORIGIN] = "origin",
    };
    if (ground < 0 || ground >= GATE_GROUND_COUNT)
        return "?";
    return names[ground];
}
