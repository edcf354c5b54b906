/* recon.h - range-based set reconciliation of record ids between two peers (docs/PROTOCOL.md "Reconciliation").
 *
 * After a partition or a restart two peers find the symmetric difference of the record sets each
 * may send the other, at a cost that grows with the difference d, not with the stores:
 * O(d · log n) bytes in O(log n) round trips. The algorithm is Negentropy's: both sides sort
 * their items by (created_ms, id); a message partitions the whole key space into consecutive
 * ranges; for each range the sender gives either a fingerprint, or its full item list when the
 * range is small, or the answer to a list. Equal fingerprints close a range; unequal ones split it
 * into
 * LIMIT_RECON_BUCKETS sub-ranges. docs/PROTOCOL.md "Reconciliation" has the wire format.
 *
 * Who learns what: BOTH sides learn their own difference. The side that receives a range's item
 * list computes it for that range and reports it at once; it answers with a DIFF that lets the
 * list's sender report its side when it processes that DIFF. Every item of the difference is
 * reported exactly once per side, through struct recon_diff:
 *   have(item)  I hold it, the peer lacks it: push the record (after the gate, as always);
 *   need(item)  the peer holds it, I lack it: ask for it (the item carries the peer's ts).
 *
 * Each side fingerprints its own items plus the ids it has learned it needs. Once a range has
 * been resolved both views of it are the union, so any later fingerprint over it matches: that is
 * what lets a side whose reply would exceed the message cap defer everything after a point into
 * one fingerprint range without resolving (and reporting) anything twice.
 *
 * A side's turn is a flight: one or more messages sent back to back (version 2, docs/PROTOCOL.md),
 * so the message cap never adds a round trip. The first message of a flight is returned by
 * recon_initiate() or recon_respond(), the others by recon_next() until it returns 0. The newest
 * range is handled first: a peer that lacks this side's newest records (or has newer ones) learns
 * it from one NEWEST range, and the ids then cross once.
 *
 * Use: both sides recon_init() over the items they may reveal to this peer (the caller filters
 * them through gate_may_reveal_id: a side only ever names ids the peer may know). The initiator
 * sends recon_initiate() and then every recon_next(); each side answers every message it receives
 * with recon_respond() and sends what it and recon_next() return, before the next message is
 * given to recon_respond(). A return of 0 means "nothing to send" (the peer's flight goes on, or
 * this flight is all out). After any call, recon_done() true means this side expects no further
 * message: send the flight (if any) and stop. The peer's answer to a flight sent while done is
 * empty.
 *
 * Ownership: struct recon is caller-owned. recon_init borrows items (sorted ascending by (ts, id),
 * unique, ts < UINT64_MAX; unsorted input is refused with RECON_E_INPUT): the array must stay
 * unchanged until recon_free. recon_init allocates (prefix sums: 2 bytes per item; learned ids;
 * the flight being written, at most LIMIT_RECON_FLIGHT_BYTES);
 * recon_free releases it and may be called after a failed init or twice. The callbacks get
 * pointers valid only during the call. Pure: no I/O, no clock, no randomness; single-threaded.
 *
 * Errors: every function returns a negative RECON_E_* on failure. A malformed message is refused
 * before any callback runs and leaves the state unchanged; r->err_offset then holds the byte offset
 * in the message where decoding failed. recon_strerror() names every code.
 */
#ifndef TLPMESH_NODE_RECON_H
#define TLPMESH_NODE_RECON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/errors.h"
#include "proto/limits.h"

#define RECON_VERSION 0x02 /* first byte of every message: flights, NEWEST ranges */
#define RECON_FP_BYTES 16  /* fingerprint: BLAKE2b-128 */

struct recon_item {
    uint64_t ts;                  /* record created_ms; < UINT64_MAX */
    uint8_t id[LIMIT_ID_BYTES];   /* record id */
};

/* Reports of one side's difference; either callback may be NULL. */
struct recon_diff {
    void (*have)(void *ctx, const struct recon_item *item); /* I hold it, the peer lacks it */
    void (*need)(void *ctx, const struct recon_item *item); /* the peer holds it, I lack it */
    void *ctx;
};

/* Error codes: X(name, value, message), range ERRORS_BASE_RECON in proto/errors.h; the
 * comments say when each happens. */
#define RECON_ERRORS(X)                                                                            \
    /* items unsorted, duplicated, ts == UINT64_MAX, or bad argument */                            \
    X(RECON_E_INPUT, ERRORS_BASE_RECON - 0,                                                        \
      "reconciliation input invalid (items unsorted, duplicated or bad argument)")                 \
    X(RECON_E_NOMEM, ERRORS_BASE_RECON - 1, "out of memory") /* allocation failed */               \
    /* message does not start with RECON_VERSION */                                                \
    X(RECON_E_VERSION, ERRORS_BASE_RECON - 2, "reconciliation message has an unknown version")     \
    /* message ends inside a range, or before a range reaching infinity */                         \
    X(RECON_E_TRUNCATED, ERRORS_BASE_RECON - 3, "reconciliation message truncated")                \
    /* varint longer than 64 bits or not minimally encoded */                                      \
    X(RECON_E_VARINT, ERRORS_BASE_RECON - 4, "reconciliation message has a malformed varint")      \
    /* bound not above the previous one, prefix > 32 bytes or ending in 0 */                       \
    X(RECON_E_BOUND, ERRORS_BASE_RECON - 5,                                                        \
      "reconciliation range bound not above the previous one or malformed")                        \
    /* unknown range mode */                                                                       \
    X(RECON_E_MODE, ERRORS_BASE_RECON - 6, "reconciliation range has an unknown mode")             \
    /* item count over LIMIT_RECON_LIST_ITEMS or the message size */                               \
    X(RECON_E_COUNT, ERRORS_BASE_RECON - 7, "reconciliation range lists too many items")           \
    /* listed item outside its range or not strictly ascending */                                  \
    X(RECON_E_ITEM, ERRORS_BASE_RECON - 8,                                                         \
      "reconciliation item outside its range or out of order")                                     \
    /* bytes after the range that reaches infinity */                                              \
    X(RECON_E_TRAILING, ERRORS_BASE_RECON - 9, "reconciliation message has trailing bytes")        \
    /* DIFF inconsistent with this side's set (see PROTOCOL.md) */                                 \
    X(RECON_E_PROTO, ERRORS_BASE_RECON - 10,                                                       \
      "reconciliation DIFF inconsistent with the local set")                                       \
    /* more than LIMIT_RECON_ROUNDS messages answered */                                           \
    X(RECON_E_ROUNDS, ERRORS_BASE_RECON - 11, "reconciliation exceeded its round limit")           \
    /* message over LIMIT_RECON_MSG_BYTES */                                                       \
    X(RECON_E_TOO_BIG, ERRORS_BASE_RECON - 12, "reconciliation message over the size limit")       \
    /* output capacity below LIMIT_RECON_MSG_MIN */                                                \
    X(RECON_E_NOSPACE, ERRORS_BASE_RECON - 13, "reconciliation output buffer too small")           \
    /* more than LIMIT_RECON_RANGES ranges or LIMIT_RECON_NEEDS ids */                             \
    X(RECON_E_LIMIT, ERRORS_BASE_RECON - 14, "reconciliation exceeded a range or id limit")

enum recon_err {
    RECON_OK = 0,
    RECON_ERRORS(ERRORS_ENUM)
};

struct recon_turn; /* recon_int.h: the flight being received and the one being written */

/* Internal state; read only err_offset. */
struct recon {
    const struct recon_item *items; /* borrowed, sorted */
    size_t n;
    void *prefix;               /* 256-bit prefix sums of ids, one per stride of items */
    struct recon_item *needs;   /* learned: the peer holds these, I lack them; sorted */
    void *needs_prefix;         /* prefix sums of needs, as prefix */
    size_t n_needs, cap_needs;
    struct recon_item *fresh;   /* needs learned during the current call, merged at its end */
    size_t n_fresh, cap_fresh;
    size_t max_msg;             /* message cap, LIMIT_RECON_MSG_MIN..LIMIT_RECON_MSG_BYTES */
    struct recon_turn *turn;
    uint32_t rounds;            /* messages answered */
    bool done;                  /* the last message sent or received asks for no answer */
    size_t err_offset;          /* where the last refused message went wrong */
};

/* Borrows items[0..n) (see ownership above); max_msg_bytes caps every message this side writes,
 * LIMIT_RECON_MSG_MIN..LIMIT_RECON_MSG_BYTES. RECON_E_INPUT, RECON_E_LIMIT (n too large),
 * RECON_E_NOMEM. */
int recon_init(struct recon *r, const struct recon_item *items, size_t n, size_t max_msg_bytes);

void recon_free(struct recon *r);

/* Writes the first flight (the whole key space as one range) and copies its first message into
 * out; returns its length (> 0). cap >= max_msg_bytes (else RECON_E_NOSPACE); every message is
 * <= max_msg_bytes. */
int recon_initiate(struct recon *r, uint8_t *out, size_t cap);

/* Processes the peer's message in[0..in_len), reports this side's newly learned difference through
 * diff (may be NULL); when the message ends the peer's flight, writes the answering flight and
 * copies its first message into out. Returns that message's length, 0 when there is nothing to
 * send (yet), or a negative RECON_E_* (nothing reported, state unchanged except the round count).
 * cap >= max_msg_bytes. */
int recon_respond(struct recon *r, const uint8_t *in, size_t in_len, uint8_t *out, size_t cap,
                  const struct recon_diff *diff);

/* Copies the next message of the flight written last into out; returns its length, or 0 when all
 * of it has been returned. cap >= max_msg_bytes. */
int recon_next(struct recon *r, uint8_t *out, size_t cap);

/* True when the message this side last wrote or read asks for no answer: reconciliation is
 * complete from this side's view once its last reply (if any) is sent. */
bool recon_done(const struct recon *r);

/* One-line text for an error code; "unknown reconciliation error" otherwise. Static storage. */
const char *recon_strerror(int err);

#endif
