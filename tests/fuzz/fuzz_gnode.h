/* fuzz_gnode.h - a real gossip instance (node/core/gossip.h) over a memstore, driven sans-IO by
 * a list of operations: what fuzz_gossip.c and fuzz_grecon.c run, and what fuzz_mkseeds.c uses to
 * record real conversations as seeds.
 *
 * The node ("self", key FUZZ_KEY_RESPONDER, organisation cert-self, community energy) has two
 * peer slots: 0 = FUZZ_KEY_INITIATOR (cert-peer, energy: a partner), 1 = FUZZ_KEY_THIRD
 * (cert-self: same organisation). Its store starts with FUZZ_GNODE_HOLD_SELF of
 * fuzz_gnode_records() (records of every kind and TLP by all three keys), so WANT, ANNOUNCE and
 * reconciliation meet records they can find, refuse or send.
 *
 * Input: u8 setup, then operations until the input ends (fuzz_gnode_run):
 *   setup bits 0-1  peer 0's ceiling (GREEN, AMBER, AMBER+STRICT, RED); bit 2: peer 0 is a
 *                   client; bit 3: tables of 16 entries instead of 256 (candidates, wants,
 *                   recent ids, announcements: the overload paths); bit 4: peer 1 starts up too
 *                   (peer 0 always does)
 *   op % 6 == 0  message: u8 peer (mod 2), u8 type (not read when a fixed type is given), u16
 *                big-endian length, body -> gossip_on_message
 *           1    u16 ms: the clock advances, then gossip_flush
 *           2    every verification job handed out so far runs (real signature checks) and comes
 *                back (gossip_on_verified)
 *           3    u8 peer (mod 2): its session ends (gossip_peer_down) or starts again (peer 1's
 *                session has GOSSIP_CAP_TREE: records relayed to it along trees, PRUNE)
 *           4    u8 n: the node's own tool adds preloaded record n (mod count) to the store,
 *                then gossip_local_scan (a no-op for a record already held)
 *           5    message of type RECON_REQ (empty) from u8 peer
 * A peer whose session gossip asked to close (io.close_peer) goes down after the call, as the
 * shell does. At the end every job comes back and the node is freed.
 *
 * Invariants (checked in io.send and after each call): a failed call returns a gossip_err and
 * asks to close that peer; only up peers are written to, with types 16..21 and bodies of at most
 * SESSION_MAX_BODY (PRUNE only to a tree peer, whole 8-byte items); every record sent is held, verifies, is not expired, is within the peer's
 * ceiling and, when RED, names the peer as a recipient; every announced short id is held;
 * every record committed (io.stored) verifies. That is the TLP rule's part the receiver can
 * check without the gate's own code: an independent oracle, deliberately coarse.
 */
#ifndef TLPMESH_TESTS_FUZZ_GNODE_H
#define TLPMESH_TESTS_FUZZ_GNODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/keys.h"
#include "fuzz.h"
#include "node/core/gossip.h"
#include "proto/record.h"
#include "store/memstore.h"

#define FUZZ_KEY_THIRD 0xd0             /* fuzz_key() tag of peer slot 1 */
#define FUZZ_WALL0     1700000000000ull /* Unix ms at the node's now = 0 */

enum {
    FUZZ_GNODE_PEERS = 2,
    FUZZ_GNODE_JOBS = 64,    /* verification jobs out at once; a full table is run at once */
    FUZZ_GNODE_RECORDS = 32, /* preloaded records (a uint32_t bit each) */
};

/* Who holds which preloaded records at the start (bit i = record i): the harness node all of its
 * own, the three keys' RED and AMBER ones, the revocation and the one that expires (0..10 but the
 * sighting 9); the far side of fuzz_mkseeds records 0, 4, 5, the sighting, the roster and twenty
 * CLEAR/GREEN indicators 12..31, so that reconciliation takes rounds and WANTs follow. */
#define FUZZ_GNODE_HOLD_SELF 0x5ffu
#define FUZZ_GNODE_HOLD_FAR  (0xfffff000u | 1u << 0 | 1u << 4 | 1u << 5 | 1u << 9 | 1u << 11)

/* One message a node sent (kept only when the node records its output: fuzz_mkseeds). */
struct fuzz_gmsg {
    size_t peer;
    uint8_t type;
    uint8_t *body;
    size_t len;
};

struct fuzz_gnode {
    struct keys_identity id;
    struct memstore ms;
    struct gossip *g;
    struct gate_peer view[FUZZ_GNODE_PEERS];
    bool up[FUZZ_GNODE_PEERS];
    bool tree[FUZZ_GNODE_PEERS]; /* the slot's session has GOSSIP_CAP_TREE (odd slots) */
    bool closing[FUZZ_GNODE_PEERS];
    struct gossip_job *jobs[FUZZ_GNODE_JOBS];
    size_t n_jobs;
    uint64_t now;
    bool record_out; /* keep sent messages in out[] */
    struct fuzz_gmsg *out;
    size_t n_out, cap_out;
};

/* A preloaded record, signed once: sig || body. */
struct fuzz_grec {
    uint8_t bytes[LIMIT_SIGNED_RECORD_BYTES];
    size_t len;
    uint8_t id[LIMIT_ID_BYTES];
    struct proto_record *rec; /* decoded, so that puts skip decoding (most of a node's start) */
};

/* The preloaded records (built on first call; static storage). */
const struct fuzz_grec *fuzz_gnode_records(void);

/* The identity behind a fuzz_key() tag (FUZZ_KEY_INITIATOR, FUZZ_KEY_RESPONDER, FUZZ_KEY_THIRD). */
void fuzz_gnode_identity(enum fuzz_key_tag tag, struct keys_identity *out);

/* Starts node n as self_tag (the harness node is FUZZ_KEY_RESPONDER; fuzz_mkseeds also runs
 * FUZZ_KEY_INITIATOR as the far side, with peer slot 0 = the harness node) holding the preloaded
 * records of the indexes in `hold` (bit i = record i). setup is the input's setup byte. */
void fuzz_gnode_start(struct fuzz_gnode *n, enum fuzz_key_tag self_tag, uint32_t hold,
                      uint8_t setup);
void fuzz_gnode_stop(struct fuzz_gnode *n);

/* One call into gossip and its aftermath (closes applied, invariants checked). */
void fuzz_gnode_message(struct fuzz_gnode *n, size_t peer, uint8_t type, const uint8_t *body,
                        size_t len);
void fuzz_gnode_flush(struct fuzz_gnode *n, uint64_t dt_ms);
void fuzz_gnode_run_jobs(struct fuzz_gnode *n);
void fuzz_gnode_toggle(struct fuzz_gnode *n, size_t peer);
void fuzz_gnode_add_local(struct fuzz_gnode *n, size_t rec);

/* Runs a whole input (format above) on a fresh harness node. fixed_type 0: op 0 reads the type
 * byte; else every op-0 message has this type (fuzz_grecon: GOSSIP_MSG_RECON). */
void fuzz_gnode_run(const uint8_t *data, size_t size, uint8_t fixed_type);

#endif
