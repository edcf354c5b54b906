/* peerscore.h - per-peer budgets for useless inbound traffic, and the penalty back-off of a key
 * that exceeds one, sans-IO (docs/PROTOCOL.md "Budgets"; the models are gossipsub's peer scoring
 * and WireGuard's "check before state").
 *
 * A peer may send some traffic that does this node no good without being dishonest: a duplicate
 * that crossed another copy, a record that expired on the way, a record the sender's view of
 * our communities allowed and ours does not, a message type of a later version. Each kind has a
 * token bucket (burst, refill per second: proto/limits.h LIMIT_PEER_*); an honest peer stays far
 * inside it, a hostile one empties it within a second. Gossip takes from the bucket of each
 * such item; an empty bucket names the reason (PEERSCORE_E_*), gossip asks for the session to
 * be closed with it, and the engine backs the key off (engine.h engine_penalize): neither dialled
 * nor accepted for peerscore_backoff_next() ms, doubling with every penalty up to
 * LIMIT_PENALTY_MAX_MS, forgiven after LIMIT_PENALTY_FORGIVE_MS without one.
 *
 * Buckets count milli-tokens so that slow refill rates stay exact at millisecond steps. Plain
 * values: the caller owns them (gossip, one set per peer slot and session). No I/O, no clock:
 * every call gets now (monotonic ms).
 */
#ifndef TLPMESH_NODE_PEERSCORE_H
#define TLPMESH_NODE_PEERSCORE_H

#include <stdbool.h>
#include <stdint.h>

#include "proto/errors.h"
#include "proto/limits.h"

/* Why a session was closed and its key backed off: X(name, value, message), range
 * ERRORS_BASE_PEERSCORE in proto/errors.h. The first five are budgets (enum peerscore_kind, in
 * that order); the others are single offences gossip or the engine closes a session for. */
#define PEERSCORE_ERRORS(X)                                                                        \
    X(PEERSCORE_E_UNKNOWN_TYPE, ERRORS_BASE_PEERSCORE - 0,                                         \
      "peer sent too many messages of unknown types")                                              \
    X(PEERSCORE_E_DUPLICATE, ERRORS_BASE_PEERSCORE - 1, "peer sent too many duplicate records")    \
    X(PEERSCORE_E_TIME, ERRORS_BASE_PEERSCORE - 2, "peer sent too many expired or future records") \
    X(PEERSCORE_E_GATE, ERRORS_BASE_PEERSCORE - 3,                                                 \
      "peer sent too many records it was not allowed to send us")                                  \
    X(PEERSCORE_E_UNASKED, ERRORS_BASE_PEERSCORE - 4, "peer sent too many records unasked")        \
    /* gossip closed the session for one message or record (gossip.h) */                           \
    X(PEERSCORE_E_MALFORMED, ERRORS_BASE_PEERSCORE - 5, "peer sent a malformed message or record") \
    X(PEERSCORE_E_FORGED, ERRORS_BASE_PEERSCORE - 6, "peer sent a record that does not verify")    \
    X(PEERSCORE_E_RECON, ERRORS_BASE_PEERSCORE - 7, "peer sent a bad reconciliation message")      \
    /* the handshake of a key still backed off: refused at its completion */                       \
    X(PEERSCORE_E_BACKED_OFF, ERRORS_BASE_PEERSCORE - 8, "peer key backed off after a penalty")   \
    /* gossip: rounds the peer started beyond LIMIT_RECON_PEER_ROUNDS (each reads our store) */    \
    X(PEERSCORE_E_RECON_ROUNDS, ERRORS_BASE_PEERSCORE - 9,                                         \
      "peer started too many reconciliation rounds")

enum peerscore_err { PEERSCORE_OK = 0, PEERSCORE_ERRORS(ERRORS_ENUM) };

const char *peerscore_strerror(int err);
/* A short ASCII word for err (a Prometheus label, a JSON key): "unknown_type", "duplicate",
 * "time", "gate", "unasked", "malformed", "forged", "recon", "backed_off", "recon_rounds"; "other"
 * else. */
const char *peerscore_label(int err);
/* Whether err is one of this list's codes. */
bool peerscore_is_reason(int err);

/* The budgets, in the order of their codes above. */
enum peerscore_kind {
    PEERSCORE_UNKNOWN_TYPE, /* a message of a type this version does not know */
    PEERSCORE_DUPLICATE,    /* a record already stored or being verified */
    PEERSCORE_TIME,         /* an expired record, or one created in the future */
    PEERSCORE_GATE,         /* a record outside what the peer may send us (inbound gate) */
    PEERSCORE_UNASKED,      /* a record neither wanted from the peer nor reconciled with it */
    PEERSCORE_KINDS,
};

struct peerscore_bucket {
    uint64_t milli; /* tokens x 1000 */
    uint64_t at;    /* now of the last refill */
};

struct peerscore {
    struct peerscore_bucket b[PEERSCORE_KINDS];
};

/* Every bucket full, as at the start of a session. */
void peerscore_reset(struct peerscore *s, uint64_t now);

/* Takes cost tokens of kind k: true while the budget holds, false when it is spent (then the
 * bucket stays empty and the caller closes the session with peerscore_reason(k)). */
bool peerscore_take(struct peerscore *s, enum peerscore_kind k, uint32_t cost, uint64_t now);

/* Gives n tokens of kind k back, up to its burst: a useful record earns a duplicate's worth
 * (the duplicate budget is a ratio to useful traffic on top of its rate). */
void peerscore_credit(struct peerscore *s, enum peerscore_kind k, uint32_t n);

/* The PEERSCORE_E_* code of budget k. */
int peerscore_reason(enum peerscore_kind k);

/* One token bucket of any burst and rate (tokens per second), for callers with budgets of
 * their own (gossip's pacing of eager pushes): refills to now, then takes cost if it can. */
bool peerscore_bucket_take(struct peerscore_bucket *b, uint32_t burst, uint32_t per_s,
                           uint32_t cost, uint64_t now);

/* The back-off of a new penalty: LIMIT_PENALTY_MIN_MS for a key without one (prev_ms 0) or
 * whose last penalty (at last_at) is LIMIT_PENALTY_FORGIVE_MS old, else twice prev_ms, at most
 * LIMIT_PENALTY_MAX_MS. */
uint64_t peerscore_backoff_next(uint64_t prev_ms, uint64_t last_at, uint64_t now);

#endif
