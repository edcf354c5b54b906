/* gate_fixture.h - situations for the gate tests (test_gate.c, test_gate_matrix.c): the keys,
 * organisations, audience shapes and record/peer/self builders both programs describe a case with.
 * gate_fixture.c builds the real structs; the oracle is in test_gate_matrix.c only.
 */
#ifndef TLPMESH_TESTS_GATE_FIXTURE_H
#define TLPMESH_TESTS_GATE_FIXTURE_H

#include <stdbool.h>
#include <stdint.h>

#include "node/core/gate.h"

#define NOW 1700000000000ull

/* Keys chosen so that recipients written in the order X, N, P are sorted, as the encoder wants. */
#define KEY_X 0x10 /* some other node: in no organisation or community of the test */
#define KEY_N 0x20 /* the sending node */
#define KEY_P 0x30 /* the peer */
#define KEY_O 0x40 /* the origin of the records */

enum org_case { ORG_SAME, ORG_DIFFERENT, ORG_P_UNKNOWN, ORG_N_UNKNOWN, ORG_BOTH_UNKNOWN, ORG_COUNT };

/* Audience shapes (SHAPES says what each holds): cp = names community "cp" (P is a member),
 * cx = names "cx" (nobody in the test is a member), rp = recipients hold P's key, rx = recipients
 * hold X's key. */
enum shape { SH_DEFAULT, SH_CP, SH_CX, SH_RP, SH_RX, SH_CP_RP, SH_CP_RX, SH_CX_RP, SH_CX_RX,
             SH_COUNT };

struct shape_has {
    bool cp, cx, rp, rx;
};
extern const struct shape_has SHAPES[SH_COUNT];

/* How N itself is in the audience: not at all, by its key in recipients, or by community "cn". */
enum n_via { NVIA_NONE, NVIA_KEY, NVIA_COMMUNITY, NVIA_COUNT };

enum has_case { HAS_NONE, HAS_SENT, HAS_RECEIVED, HAS_COUNT };

void set_key(uint8_t key[LIMIT_KEY_BYTES], uint8_t fill);
void add_community(struct proto_audience *a, const char *name);
void add_recipient(struct proto_audience *a, uint8_t fill);
void make_audience(struct proto_audience *a, enum shape sh, enum n_via nv);
void make_indicator(struct proto_record *r, int tlp, enum shape sh, enum n_via nv, bool expired);
void make_revocation(struct proto_record *r, int tlp, enum shape sh);
void make_sighting(struct proto_record *r, int tlp, enum shape sh);
void make_self(struct gate_self *n, enum org_case oc);
void make_peer(struct gate_peer *p, bool authenticated, enum org_case oc, int relation, int ceiling);
void make_state(struct gate_record_state *st, bool revoked, enum has_case hc);

#endif
