/* gossip.h - record dissemination between peers, sans-IO (docs/ARCHITECTURE.md, docs/PROTOCOL.md
 * "Gossip").
 *
 * What it does: receives RECORDS, dedupes them on id BEFORE any signature check, has them verified
 * (decode + time rules + signature) through io.verify, commits verified ones in one store batch per
 * gossip_flush(), and only then forwards: the origin pushes its own new records in full to every
 * peer the gate allows; a relay ANNOUNCEs the short id (first 8 bytes of the record id) on the next
 * LIMIT_ANNOUNCE_TICK_MS step but one to every peer the gate allows that is not known to have it; a
 * peer that lacks an announced id asks with WANT. Each session reconciles (node/core/recon.h) the
 * records the gate lets either side reveal, so whatever announcements missed is caught up.
 *
 * Inbound, every verified record from a peer also passes the gate from the sender's side: could
 * that peer (its key, and the organisation and communities this node's config and rosters give it)
 * have been allowed to send it to this node? Facts the receiver cannot know (whether the sender
 * counts it as a client, the ceiling it set, who is a member of the communities the record names)
 * are taken in the sender's favour. A refused record is dropped and counted (refused_inbound), as
 * if never received; the session stays up.
 *
 * The gate (node/core/gate.h) decides every item that leaves: records pushed or sent on WANT
 * (gate_check when queued and again when written), announced ids (gate_check), reconciliation sets
 * (gate_may_reveal_id). All of them pass through one function (gossip_gate_out, gossip_send.c);
 * built with -DGOSSIP_TEST_GATE_HOOK, every item written into an outgoing message is reported to
 * gossip_test_emit_hook so a test can hold it against an independent oracle. The implementation's
 * files and tables: gossip_int.h.
 *
 * Sans-IO: no clock, socket, random source or thread. The caller passes now (one monotonic clock
 * for timers) and wall-clock Unix ms (for record time rules and the gate's expiry), a hash key
 * (random bytes) at init, and implements struct gossip_io and struct gossip_store_ops
 * (store/gossip_store.h: over LMDB, store/gossip_lmdb.h, or memory, store/memstore.h). Store reads
 * are synchronous (LMDB reads are microseconds). Signature checks are asynchronous: io.verify
 * hands over a job; the caller runs gossip_job_run() on any thread and gives the job back with
 * gossip_on_verified() on the gossip thread. So may commits be (a durable commit takes
 * milliseconds, its fsync most of them, and the loop that waited for it read no peer's input
 * meanwhile): io.commit hands over one put_batch at a time (struct gossip_commit), the caller
 * runs gossip_commit_run() on any thread and reports with gossip_on_committed(); without
 * io.commit, gossip_flush commits itself, as simnet does.
 *
 * Peers are slots 0..max_peers-1 (node/shell/run.c uses the engine's peer index). A malformed
 * message makes gossip_on_message return GOSSIP_E_MALFORMED and call io.close_peer; a record with a
 * bad signature or encoding (which an honest relay never forwards: it verifies first) closes that
 * peer's session too.
 *
 * Budgets (node/core/peerscore.h, docs/PROTOCOL.md "Budgets"): messages of unknown types,
 * duplicates (replays of ids the peer is known to hold cost more), expired or future records,
 * records outside what the peer may send us, and records sent unasked (neither a WANT answer nor
 * one of as many records as the peer's reconciliation rounds named, within
 * LIMIT_PEER_RECON_GRACE_MS of its last reconciliation message or of the last of those
 * records) each take from a
 * per-peer token bucket; a spent bucket makes io.close_peer get its PEERSCORE_E_* reason (the
 * node backs the key off) and the peer's further messages are ignored. The time rules and the
 * inbound gate run on the record as received, BEFORE its signature is checked: a refused record
 * costs a decode, not a verify (they only refuse; what they allow is checked again after the
 * verify). Ingest is fair across peers: each peer's records queue for verification apart, in
 * jobs of LIMIT_GOSSIP_JOB_RECORDS served round robin with LIMIT_GOSSIP_JOBS_OUT out at once,
 * and one peer holds more than its share (cand_cap / peers up) of the candidate table only while
 * half of it is free; beyond that its records are dropped and fetched later (dropped_overload).
 * Verified records wait for their commit per source too (commitq.h): each gossip_flush commits
 * one batch taken from the sources in turn, small while more than one delivers; a lone source's
 * bulk transfer waits (at most LIMIT_GOSSIP_COMMIT_WAIT_MS, gossip_next_deadline says till when)
 * for LIMIT_GOSSIP_COMMIT_MIN verified records, so that its commits are full. Own records are pushed in full
 * to a peer at LIMIT_GOSSIP_PUSH_* at most; the rest wait for reconciliation.
 *
 * Re-entrance: io callbacks must not call into gossip. An event they cause (a failed send that ends
 * a session, hence gossip_peer_down) is reported after the gossip call returns.
 *
 * Ownership: struct gossip is opaque: gossip_new() allocates, gossip_free() releases (no job or
 * commit may be out: wait for every io.verify job and the io.commit to come back first). Jobs and
 * commits are owned by gossip; between io.verify and gossip_on_verified (io.commit and
 * gossip_on_committed) the caller may only read and run them. No function keeps a
 * pointer to its arguments except gossip_new (the store ops context and io context must outlive the
 * gossip).
 */
#ifndef TLPMESH_NODE_GOSSIP_H
#define TLPMESH_NODE_GOSSIP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "node/core/activity.h"
#include "node/core/gate.h"
#include "node/core/peerscore.h"
#include "proto/errors.h"
#include "proto/limits.h"
#include "store/gossip_store.h"
#include "store/store.h"

#define GOSSIP_SHORT_ID_BYTES LIMIT_SHORT_ID_BYTES /* of ANNOUNCE and WANT items */
#define GOSSIP_HASH_KEY_BYTES LIMIT_HASH_KEY_BYTES /* of gossip_params.hash_key */
#define GOSSIP_LOCAL SIZE_MAX /* "from" of a record this node published itself */

/* Application message types on the session (node/core/session.h: >= SESSION_MSG_APP_FIRST). */
enum gossip_msg {
    GOSSIP_MSG_RECORDS = 16,
    GOSSIP_MSG_ANNOUNCE = 17,
    GOSSIP_MSG_WANT = 18,
    GOSSIP_MSG_RECON = 19,
    GOSSIP_MSG_RECON_REQ = 20, /* empty: "my view of you changed, reconcile soon" */
    GOSSIP_MSG_PRUNE = 21,     /* tree keys: "stop pushing me their records in full" */
};

/* HELLO capability bit (node/core/session.h): the sender relays along trees per origin and
 * understands PRUNE (docs/PROTOCOL.md "Trees"). node.c sets it and tells gossip the peer's. */
#define GOSSIP_CAP_TREE 0x2u

/* Error codes: X(name, value, message), range ERRORS_BASE_GOSSIP in proto/errors.h; the
 * comments say when each happens. */
#define GOSSIP_ERRORS(X)                                                                           \
    X(GOSSIP_E_NOMEM, ERRORS_BASE_GOSSIP - 0, "out of memory")                                     \
    /* a message that does not parse: the session is closed */                                     \
    X(GOSSIP_E_MALFORMED, ERRORS_BASE_GOSSIP - 1, "malformed gossip message")                      \
    /* bad argument (peer slot out of range, ...) */                                               \
    X(GOSSIP_E_INVAL, ERRORS_BASE_GOSSIP - 2, "invalid argument to gossip")                        \
    X(GOSSIP_E_STORE, ERRORS_BASE_GOSSIP - 3, "record store failed") /* the store failed */        \
    /* reconciliation refused the peer's message: session closed */                                \
    X(GOSSIP_E_RECON, ERRORS_BASE_GOSSIP - 4, "reconciliation message refused")                    \
    /* the peer sent a record that does not verify: session closed */                              \
    X(GOSSIP_E_FORGED, ERRORS_BASE_GOSSIP - 5, "peer sent a record that does not verify")        \
    /* the peer spent one of its budgets (node/core/peerscore.h): session closed */                \
    X(GOSSIP_E_BUDGET, ERRORS_BASE_GOSSIP - 6, "peer exceeded a budget of useless traffic")

enum gossip_err {
    GOSSIP_OK = 0,
    GOSSIP_ERRORS(ERRORS_ENUM)
};

const char *gossip_strerror(int err);

/* One record to verify; result is set by gossip_job_run(). */
struct gossip_job_item {
    const uint8_t *signed_rec; /* sig || body, owned by gossip */
    size_t len;
    int result;   /* PROTO_OK or the proto_err: decode, check_time at wall_ms, signature */
    uint8_t kind; /* enum proto_kind, when result is PROTO_OK */
};

/* A batch of records for one signature-checking pass (one RECORDS message's new records). */
struct gossip_job {
    uint64_t wall_ms; /* Unix ms for the time rules */
    size_t n;
    struct gossip_job_item *items;
    void *user;       /* free for the caller (e.g. its uv_work_t) */
    size_t from;      /* the peer slot whose records these are: shells queue fairly by it */
    uint32_t *cand;   /* private: the candidate slot of each item */
    struct gossip_job *qnext; /* private: the sender's verify queue */
};

/* Runs every item's checks. Touches only the job: call it on any thread. */
void gossip_job_run(struct gossip_job *job);

/* The same checks with another signature check in place of proto_record_verify (same arguments,
 * same result). simnet passes a cache shared by its simulated nodes: equal bytes, equal answer. */
typedef int (*gossip_verify_fn)(void *ctx, const uint8_t *body, size_t len,
                                const uint8_t sig[LIMIT_SIG_BYTES],
                                const uint8_t origin[LIMIT_KEY_BYTES]);
void gossip_job_run_with(struct gossip_job *job, gossip_verify_fn verify, void *ctx);

/* One store commit: verified records for one put_batch (a durable write transaction), handed
 * out by gossip_flush through io.commit. Gossip announces, acknowledges and forwards them only
 * after gossip_on_committed: what a peer learns from this node is in its store. */
struct gossip_commit {
    struct store_put *items; /* n of them, owned by gossip; results set by gossip_commit_run */
    size_t n;
    int result;              /* put_batch's: STORE_OK or a negative store_err */
    void *user;              /* free for the caller */
    const struct gossip_store_ops *ops; /* private: the put_batch to run */
};

/* Runs the commit's put_batch. Touches only the batch and the store: call it on any thread
 * (the LMDB store is MDB_NOTLS; one commit is out at a time, so one write transaction). */
void gossip_commit_run(struct gossip_commit *c);

enum gossip_log_level { GOSSIP_LOG_INFO, GOSSIP_LOG_WARN, GOSSIP_LOG_DEBUG };

struct gossip_io {
    void *ctx;
    /* Send one application message to a connected peer. Negative: not sent (counted). */
    int (*send)(void *ctx, size_t peer, uint8_t type, const uint8_t *body, size_t len);
    /* Bytes queued towards peer and not yet written; NULL = always 0. Gossip stops feeding a peer
     * above LIMIT_GOSSIP_BACKLOG_BYTES and relies on reconciliation for what it skipped. */
    size_t (*backlog)(void *ctx, size_t peer);
    /* Close this peer's session (malformed message, forged record, reconciliation error). */
    void (*close_peer)(void *ctx, size_t peer, int err);
    /* Run gossip_job_run(job) (any thread), then call gossip_on_verified(job) on this thread,
     * never from inside this call. */
    void (*verify)(void *ctx, struct gossip_job *job);
    /* Optional: run gossip_commit_run(c) (any thread, e.g. a writer thread, so the loop goes on
     * reading and verifying meanwhile), then call gossip_on_committed(c) on this thread, never
     * from inside this call. At most one commit is out; the next waits for its completion.
     * NULL: gossip_flush runs each commit itself, and its completion, before it returns. */
    void (*commit)(void *ctx, struct gossip_commit *c);
    /* Optional: a record of this kind (enum proto_kind) was committed (e.g. a roster: rebuild
     * the community table). The body is in the store (ops.get) if more is needed. */
    void (*stored)(void *ctx, const uint8_t id[LIMIT_ID_BYTES], uint8_t kind);
    /* Optional: one line for the operator's log. peer is GOSSIP_LOCAL when none. */
    void (*log)(void *ctx, enum gossip_log_level level, size_t peer, const char *line);
};

struct gossip_params {
    struct gate_self self;             /* this node as the gate sees it */
    size_t max_peers;                  /* peer slots, 1..LIMIT_PEERS */
    /* Table sizes, 0 = the LIMIT_ default; simnet runs thousands of nodes with smaller ones. */
    size_t recent_cap;                 /* known-by entries, <= LIMIT_GOSSIP_RECENT */
    size_t cand_cap;                   /* records verified/committed, <= LIMIT_GOSSIP_CANDIDATES */
    size_t want_cap;                   /* short ids being fetched, <= LIMIT_GOSSIP_WANTS */
    size_t announce_cap;               /* records awaiting announcement, <= ..._ANNOUNCE_QUEUE */
    size_t tree_cap;                   /* relay trees kept, <= LIMIT_GOSSIP_TREES */
    size_t push_cap;                   /* ids queued to one peer, <= LIMIT_GOSSIP_PUSH_QUEUE */
    uint64_t start_seq;                /* local scan starts after this seq (the store's last) */
    uint8_t hash_key[GOSSIP_HASH_KEY_BYTES]; /* random: hash tables resist crafted ids */
    /* One GOSSIP_LOG_DEBUG line per refusal of a record or id sent to a peer (push, announce,
     * fetch answer: "record ID: not sent: VERDICT"); "peer-has" and the reconciliation set,
     * which are not refusals of a send, are not logged. false: nothing is formatted. */
    bool log_refusals;
    /* Remember per recent id which peer's copy was committed and which peers it was sent to,
     * for gossip_peer_holds (`tlpmesh explain`): one bitset and 4 bytes per recent entry. The
     * daemon sets it; simnet's thousands of nodes do not (gossip_peer_holds then says what the
     * known-by bits say: ANNOUNCED for any peer known to have the id). */
    bool track_holds;
};

struct gossip_peer_stats {
    bool up;
    uint64_t sessions;
    uint64_t records_sent, records_received, duplicates, forged, refused_time, malformed;
    uint64_t refused[GATE_VERDICT_COUNT]; /* gate refusals towards this peer, by verdict */
    uint64_t announce_in, announce_out, want_in, want_out;
    uint64_t recon_rounds, recon_bytes_in, recon_bytes_out, recon_haves, recon_needs;
    uint64_t skipped_backlog; /* items not queued or sent because the peer was backlogged */
    uint64_t dropped_overload; /* records from this peer not taken (candidate table full) and
                                  fetched again later: counted again in records_received */
    uint64_t refused_inbound; /* records the peer was not allowed to send us (inbound gate) */
    uint64_t unknown_types;   /* messages of types this version does not know */
    uint64_t unasked;         /* records neither wanted from it nor reconciled (budgeted) */
    uint64_t replays;         /* duplicates of ids it was known to hold */
    uint64_t tree_pushed;     /* relayed records queued to it in full along an origin's tree */
    uint64_t prune_in, prune_out; /* PRUNE items from and to it */
    int closed_for;           /* the PEERSCORE_E_* gossip last closed its session for, or 0 */
};

struct gossip_stats {
    uint64_t verify_submitted, verify_ok, verify_forged, verify_malformed, refused_time;
    uint64_t duplicates, stored, store_revoked, store_duplicates, store_errors;
    uint64_t dropped_overload; /* records not taken: candidate table full */
    uint64_t local_pushed;     /* own records found by the local scan */
    uint64_t announce_dropped; /* committed records not announced: queue full */
    uint64_t sent_fail;        /* io.send refused a message */
    uint64_t refused_inbound;  /* records refused by the inbound gate (docs/SHARING.md) */
    uint64_t records_sent;     /* records sent in full, to all peers */
    uint64_t refused_out;      /* records the outbound gate kept from a peer when queued or
                                  written (what log_refusals logs: not "peer-has", not the
                                  reconciliation sets) */
};

struct gossip;

int gossip_new(struct gossip **out, const struct gossip_params *p,
               const struct gossip_store_ops *store, const struct gossip_io *io);
void gossip_free(struct gossip *g);

/* The node's gate view changed (config reload, roster). */
void gossip_set_self(struct gossip *g, const struct gate_self *self);

/* A peer's session opened (starts reconciliation: the side with the smaller key initiates) or its
 * gate view changed while up (call again with up already true: only the view is replaced).
 * session_key: the key the peer's handshake proved, which picks the initiator. view->key is the
 * key the config names, which differs after a rotation the config has not caught up with: both
 * ends must compare the same two keys, or both may wait for the other to start every round
 * (test_key_recovery: a rotated key's records never reconciled, 1 run in 4). */
int gossip_peer_up(struct gossip *g, size_t peer, const struct gate_peer *view,
                   const uint8_t session_key[LIMIT_KEY_BYTES], uint64_t now);
void gossip_peer_down(struct gossip *g, size_t peer);

/* The peer's HELLO capabilities, after gossip_peer_up: with GOSSIP_CAP_TREE, records this node
 * relays are pushed to it in full along trees per origin and audience (docs/PROTOCOL.md "Trees"); without,
 * they are announced. A new session starts without it. */
void gossip_peer_caps(struct gossip *g, size_t peer, uint32_t caps);

/* An application message from peer. GOSSIP_OK, or a negative gossip_err after which io.close_peer
 * was called for that peer. Unknown types (>= SESSION_MSG_APP_FIRST) are ignored for forward
 * compatibility. */
int gossip_on_message(struct gossip *g, size_t peer, uint8_t type, const uint8_t *body,
                      size_t len, uint64_t now, uint64_t wall_ms);

/* Takes cost from peer's budget k for useless traffic the node handles beside gossip (relayed
 * SUCCESSION statements that change nothing): true while it holds; false when peer has no
 * session or the budget is spent (then io.close_peer gets the budget's reason, as for gossip's
 * own traffic). */
bool gossip_peer_charge(struct gossip *g, size_t peer, enum peerscore_kind k, uint32_t cost,
                        uint64_t now);

/* A job handed to io.verify has run. */
void gossip_on_verified(struct gossip *g, struct gossip_job *job, uint64_t now, uint64_t wall_ms);

/* The commit handed to io.commit has run: the records it added are announced, forwarded and
 * counted (a local scan asked for meanwhile runs now). GOSSIP_OK, or GOSSIP_E_STORE when the
 * put_batch failed (logged; its records are dropped and come again by reconciliation). */
int gossip_on_committed(struct gossip *g, struct gossip_commit *c, uint64_t now,
                        uint64_t wall_ms);

/* Picks up records the node's own tools added to the store (seq > the last seen and not
 * committed by gossip) and pushes them to every peer the gate allows. Call on "records-added". */
int gossip_local_scan(struct gossip *g, uint64_t now, uint64_t wall_ms);

/* Once per loop turn: commits verified records (one put_batch, taken from the sources in turn:
 * commitq.h; the rest waits for the next call; with io.commit, hands it out unless one is still
 * out), sends due announcements, retries
 * timed-out WANTs, starts due reconciliations, feeds peers' queues, writes pending messages. The
 * other entry points only queue: nothing reaches io.send before this call, so what a turn
 * produced for a peer leaves as one message per type. */
int gossip_flush(struct gossip *g, uint64_t now, uint64_t wall_ms);

/* Earliest now at which gossip_flush has timed work; UINT64_MAX when none. Verified records
 * waiting for commit or queued sends count as "now" (the caller flushes each loop turn anyway). */
uint64_t gossip_next_deadline(const struct gossip *g);

/* True when nothing is being verified, committed, announced, fetched or reconciled. */
bool gossip_idle(const struct gossip *g);

/* May the shell read peer's connection now? False only while the peer owes us the haves of its
 * reconciliation rounds (records we asked for, no more than the rounds named), has spent no
 * budget since they began, and its records of one read would not all find room in the
 * candidate table within its share (above): a sender faster than verification (a new partner's
 * catch-up) then waits in TCP instead of its records being dropped and fetched again. Per peer:
 * the others are read meanwhile, and the one waiting holds no more than its share
 * (verification frees it). A peer sending what we did not ask for (unasked records, duplicates,
 * anything a budget charges) is read from then on: its traffic spends its budgets as it comes,
 * so a flood is cut, not slowed. True for a slot without a gossip session. */
bool gossip_may_read(const struct gossip *g, size_t peer, uint64_t now);

const struct gossip_stats *gossip_stats(const struct gossip *g);
/* NULL for a slot never used. */
const struct gossip_peer_stats *gossip_peer_stats(const struct gossip *g, size_t peer);

/* Recent activity (node/core/activity.h): the last min(max, LIMIT_ACTIVITY_MINUTES) minutes up
 * to now's, oldest first, start_ms on the clock of gossip's `now`: per minute the records
 * received new from peers (stats.stored), sent (records_sent), published locally (local_pushed)
 * and refused (refused_time + refused_inbound + refused_out). Counted at each gossip_flush;
 * returns how many minutes were written. */
size_t gossip_activity(const struct gossip *g, uint64_t now, struct activity_minute *out,
                       size_t max);

/* Whether the node with key, in peer slot peer, is known to hold record id, and how gossip
 * learnt it: this node committed its copy (RECEIVED), sent it the record (SENT), or it
 * announced or reconciled the id (ANNOUNCED). Only what the recent table still remembers
 * (LIMIT_GOSSIP_RECENT ids, oldest evicted; a peer slot's bits go when another key takes it):
 * NOT_KNOWN says nothing about the peer. Without params.track_holds every known holder reads as
 * ANNOUNCED. Read-only; one id looked up. */
enum gossip_holds {
    GOSSIP_HOLDS_NOT_KNOWN = 0,
    GOSSIP_HOLDS_RECEIVED,
    GOSSIP_HOLDS_SENT,
    GOSSIP_HOLDS_ANNOUNCED,
};
enum gossip_holds gossip_peer_holds(const struct gossip *g, size_t peer,
                                    const uint8_t key[LIMIT_KEY_BYTES],
                                    const uint8_t id[LIMIT_ID_BYTES]);
/* "not-known", "received", "sent", "announced" (the control socket's words). */
const char *gossip_holds_name(enum gossip_holds h);

#ifdef GOSSIP_TEST_GATE_HOOK
enum gossip_emit { GOSSIP_EMIT_RECORD, GOSSIP_EMIT_ANNOUNCE, GOSSIP_EMIT_RECON_ITEM };
/* Test builds only: called for every record or id written towards a peer, with the peer's key. */
extern void (*gossip_test_emit_hook)(const uint8_t self[LIMIT_KEY_BYTES],
                                     const uint8_t peer[LIMIT_KEY_BYTES],
                                     const uint8_t id[LIMIT_ID_BYTES], enum gossip_emit what);
#endif

#endif
