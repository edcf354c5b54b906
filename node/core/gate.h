/* gate.h - the forwarding gate: may node N let record R reach peer P? (docs/SHARING.md)
 *
 * This is the security property of tlpmesh. Every byte that leaves a node and names a record (the
 * record itself, an announcement of its id, a reconciliation fingerprint over it, an export line,
 * a TAXII object) is decided here and nowhere else. docs/SHARING.md explains the rules with worked
 * examples and how each sending path calls the gate.
 *
 * N may send R to P only if every condition holds (when membership cannot be established: no):
 *
 *   TLP of R      | grounds (any one suffices)
 *   CLEAR         | always
 *   GREEN         | P in R's audience | P in N's organisation
 *   AMBER         | P in R's audience | P in N's organisation | N in R's audience and P is a client
 *   AMBER+STRICT  | P in R's audience | P in N's organisation
 *   RED           | P's key is in R's recipient list (which must be non-empty)
 *
 *   and: P's ceiling >= R's TLP; P has not already got R; R is not expired; R is not revoked;
 *        P's version decodes R's indicator type (v1_types below).
 *
 * Definitions:
 *   audience     R.audience: named communities and/or recipient node keys. An audience with neither
 *                is the default community, the whole network: every authenticated peer is in it.
 *   P in it      P authenticated and (audience empty, or P's key in recipients, or P a member of a
 *                community the audience names). N in it: the same with N's key and communities.
 *   organisation same organisation = both names non-empty and byte-equal. Unknown ("") is never same.
 *   client       P's relation in N's config is GATE_RELATION_CLIENT (a client or constituent of N's
 *                organisation).
 *   ceiling      the most sensitive TLP N's operator lets go to P.
 *   expired      an indicator whose valid_until_ms <= now_ms (the boundary of
 *                proto_record_check_time). Other kinds carry no expiry.
 * An unauthenticated P (anonymous reader) is in no audience, no organisation and is no client: it
 * gets CLEAR only.
 *
 * Revocations travel where the revoked record could travel. For R of kind PROTO_KIND_REVOCATION the
 * caller passes the target record in st->target when it holds it; then R must pass the gate itself
 * AND P must be allowed the target by its TLP, audience and P's ceiling (the target's revoked,
 * expired and "P already has it" states are ignored: a peer holding the target is exactly who needs
 * the revocation). When the target is unknown locally (st->target == NULL) the revocation is gated
 * by its own TLP and audience only. tlpmesh's own revocations copy the target's TLP and audience,
 * so both rules normally agree.
 *
 * Sightings (PROTO_KIND_SIGHTING) travel only where the sighted record may: the same two steps as
 * a revocation, with the target (any origin may sight a record) in st->target. Unlike a
 * revocation, a sighting whose target N does not hold (st->target == NULL) is refused
 * (GATE_DENY_UNKNOWN_TARGET): N cannot tell who may learn the target's id, so it tells nobody.
 *
 * When several conditions fail, the verdict names the first in this order: invalid input, unknown
 * target, revoked, expired, peer already has it, peer's version, ceiling, the TLP rule (of R,
 * then of the target of a revocation or sighting).
 *
 * Pure: no I/O, no clock, no allocation; the caller passes now_ms and resolves memberships (config
 * and trusted rosters) into the structs below. All structs are caller-owned plain values; no
 * function keeps a pointer to its arguments. Bad input (out-of-range TLP, ceiling, relation or
 * kind, counts over limits, unterminated names) is refused with GATE_DENY_INVALID, never trusted.
 */
#ifndef TLPMESH_NODE_GATE_H
#define TLPMESH_NODE_GATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/limits.h"
#include "proto/record.h"

/* The node doing the sending. */
struct gate_self {
    uint8_t key[LIMIT_KEY_BYTES];   /* N's Ed25519 identity key */
    char org[LIMIT_NAME_BYTES + 1]; /* N's organisation; "" = unknown (then no peer is same-org) */
    uint8_t n_communities;          /* <= LIMIT_GATE_MEMBERSHIPS */
    char communities[LIMIT_GATE_MEMBERSHIPS][LIMIT_NAME_BYTES + 1]; /* N is a member of these */
};

/* P's standing with N's organisation, from N's config. */
enum gate_relation {
    GATE_RELATION_PARTNER = 0, /* a peer agency: gets only what the rules give any peer */
    GATE_RELATION_CLIENT = 1,  /* a declared client/constituent of N's organisation (AMBER) */
};
#define GATE_RELATION_COUNT 2

/* The receiver, as N knows it. */
struct gate_peer {
    bool authenticated;             /* P proved it holds key (Noise handshake). false: anonymous */
    uint8_t key[LIMIT_KEY_BYTES];   /* P's Ed25519 identity key; ignored unless authenticated */
    char org[LIMIT_NAME_BYTES + 1]; /* P's organisation from config or rosters; "" = unknown */
    uint8_t relation;               /* enum gate_relation, from N's config */
    uint8_t ceiling;                /* enum proto_tlp: the most sensitive TLP that may go to P */
    bool v1_types;                  /* P's HELLO lacked PROTO_CAP_ITYPES_2: P decodes only the
                                       indicator types below PROTO_ITYPE_V1_END (proto/indicator.h)
                                       and would end the session on any other */
    uint8_t n_communities;          /* <= LIMIT_GATE_MEMBERSHIPS; 0 when unknown */
    /* P is a member of these. Last, and the gate reads no name at or past n_communities: a view
     * kept for long (gossip's, per peer) may be a copy of its first gate_peer_size() bytes. */
    char communities[LIMIT_GATE_MEMBERSHIPS][LIMIT_NAME_BYTES + 1];
};

/* The bytes of a gate_peer up to its first n communities (n <= LIMIT_GATE_MEMBERSHIPS): what a
 * copy must hold for the gate to decide on it. */
static inline size_t gate_peer_size(unsigned n)
{
    return offsetof(struct gate_peer, communities) +
           n * sizeof(((struct gate_peer *)0)->communities[0]);
}

/* What the caller knows about R with respect to P. */
struct gate_record_state {
    bool revoked;            /* a verified revocation of R is stored */
    bool sent_to_peer;       /* N already sent R to P */
    bool received_from_peer; /* P sent R to N */
    /* Only for R of kind PROTO_KIND_REVOCATION or PROTO_KIND_SIGHTING: the revoked or sighted
     * record if N holds it, else NULL. The caller guarantees it is the record whose id is
     * R.u.rev.target (R.u.sight.target). */
    const struct proto_record *target;
};

enum gate_verdict {
    GATE_ALLOW = 0,
    GATE_DENY_INVALID,           /* input out of range or malformed: refused, never guessed */
    GATE_DENY_REVOKED,           /* R is revoked */
    GATE_DENY_EXPIRED,           /* R (an indicator) is past valid_until */
    GATE_DENY_PEER_HAS,          /* P already got R (sent to P or received from P) */
    GATE_DENY_CEILING,           /* P's ceiling is below R's TLP */
    GATE_DENY_NOT_IN_AUDIENCE,   /* GREEN/AMBER/AMBER+STRICT: no ground holds for P */
    GATE_DENY_RED_NO_RECIPIENTS, /* RED with an empty recipient list: goes nowhere */
    GATE_DENY_NOT_RECIPIENT,     /* RED: P's key is not in the recipient list */
    GATE_DENY_UNKNOWN_TARGET,    /* a sighting of a record N does not hold: goes nowhere */
    GATE_DENY_PEER_VERSION,      /* an indicator of a type P's version cannot decode (v1_types) */
};
#define GATE_VERDICT_COUNT 11

/* Short stable name of a verdict ("allow", "ceiling", ...) for logs and status counters;
 * "?" for an out-of-range value. Static storage. */
const char *gate_verdict_name(int verdict);

/* The ground of the rule table that admitted P (docs/SHARING.md "The rule"); the order is the
 * order the gate tries them in, so the first that holds is the one named. */
enum gate_ground {
    GATE_GROUND_NONE = 0,         /* refused: no ground (see the verdict) */
    GATE_GROUND_CLEAR,            /* TLP:CLEAR: always */
    GATE_GROUND_DEFAULT_AUDIENCE, /* R's audience is the whole network, P is authenticated */
    GATE_GROUND_RECIPIENT,        /* P's key is in R's recipient list */
    GATE_GROUND_COMMUNITY,        /* P is a member of the community R's audience names */
    GATE_GROUND_SAME_ORG,         /* P is in N's organisation */
    GATE_GROUND_CLIENT,           /* AMBER: N is in R's audience and P is N's declared client */
    GATE_GROUND_ORIGIN,           /* gate_may_reveal_id only: P is R's origin */
};
#define GATE_GROUND_COUNT 8

/* The verdict with the facts that decided it, for an operator's "why" (tlpmesh explain). The
 * facts are those of the record whose TLP line decided: R, or the target of a revocation or
 * sighting whose own line allowed it (by_target). Fields a decision did not reach stay zero. */
struct gate_reason {
    enum gate_verdict verdict;
    enum gate_ground ground; /* GATE_ALLOW: the ground that admitted P; else GATE_GROUND_NONE */
    bool by_target;          /* the TLP line of st->target decided */
    uint8_t tlp;             /* TLP of the deciding record */
    uint8_t ceiling;         /* P's ceiling */
    uint8_t n_recipients;    /* of the deciding record's audience */
    uint8_t community;       /* GATE_GROUND_COMMUNITY: index into its audience's communities */
    /* GATE_DENY_NOT_IN_AUDIENCE: which parts of the grounds held (all false but one at most) */
    bool self_in_audience; /* N is in the audience (what a client ground needs) */
    bool client;           /* P is N's declared client */
};

/* gate_check with its reason: out->verdict is what gate_check returns (gate_check is this
 * function's wrapper, so the two never disagree). Returns out->verdict. */
enum gate_verdict gate_check_reason(const struct gate_self *n, const struct gate_peer *p,
                                    const struct proto_record *r,
                                    const struct gate_record_state *st, uint64_t now_ms,
                                    struct gate_reason *out);

/* Short stable name of a ground ("community", ...); "?" out of range. Static storage. */
const char *gate_ground_name(int ground);

/* May N send R, or announce R's id, to P now? GATE_ALLOW or the first refusing rule. */
enum gate_verdict gate_check(const struct gate_self *n, const struct gate_peer *p,
                             const struct proto_record *r, const struct gate_record_state *st,
                             uint64_t now_ms);

/* May N reveal R's id to P, e.g. by including R in the set it reconciles with P? The same decision
 * as gate_check except that "P already has R" does not refuse (an id P holds is no secret to P,
 * and the reconciled sets must contain the records both sides hold) and that P being R's origin
 * (authenticated) allows it before the TLP rules and the ceiling: R is P's own. Validity,
 * revocation and expiry still refuse first. */
enum gate_verdict gate_may_reveal_id(const struct gate_self *n, const struct gate_peer *p,
                                     const struct proto_record *r,
                                     const struct gate_record_state *st, uint64_t now_ms);

#endif
