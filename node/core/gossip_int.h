/* gossip_int.h - what the parts of gossip share; not for use outside node/core/gossip*.c.
 *
 * gossip.h is the module's contract. Its implementation is split by concern, one file each:
 *   gossip.c         lifetime, peer up/down, introspection, strerror, the log helper
 *   gossip_tables.c  candidates (received, not yet committed) and recent ids (who has what)
 *   gossip_want.c    wants: short ids announced to us that we lack, and asking for them
 *   gossip_send.c    outgoing messages, the outbound gate (every item leaves through
 *                    gossip_gate_out), the per-peer queues of records to send in full
 *   gossip_recon.c   reconciliation rounds with each peer
 *   gossip_recon_set.c the set a round reveals to a peer, built across loop turns
 *   gossip_recv.c    RECORDS, ANNOUNCE and WANT from a peer; gossip_on_message
 *   gossip_verify.c  signature jobs, the per-peer verify queues served round robin, the checks
 *                    before the signature (time, inbound gate); gossip_on_verified
 *   gossip_commit.c  commit, announcement, gossip_flush and the local scan
 *   gossip_tree.c    relay trees per origin and audience: push after commit, PRUNE, graft
 *
 * Tables (all bounded, all indexed by store/idindex.h over SipHash of an id's first 8 bytes under
 * the caller's key, so that a full id and a short id probe the same slots and crafted ids cannot
 * make chains):
 *   candidates  records received but not committed: VERIFYING (a job is out) or VERIFIED (waiting
 *               for the next commit). Dedupe looks here after the store, before any verify.
 *   recent      committed or announced ids and a bitset of the peer slots known to have each:
 *               the gate's "peer has it". Oldest evicted; reconciliation covers what it forgets.
 *   wants       short ids announced to us that we lack: who announced them, who was asked, when.
 *   anns        committed ids waiting for their announcement step (announce_slot).
 *   trees       tree keys and the bitsets of the peer slots that pruned and grafted each
 *               (gossip_tree.c).
 * Per peer: three message builders (RECORDS, ANNOUNCE, WANT), a queue of ids to send in full
 * (eager push, WANT answers, reconciliation haves; gated again when written) and a reconciliation.
 *
 * Everything here runs on the gossip's thread, except the decode scratch (gossip_scratch), which
 * is per thread. The functions below keep gossip's invariants only together: call them from the
 * entry points of gossip.h, never from outside.
 */
#ifndef TLPMESH_NODE_GOSSIP_INT_H
#define TLPMESH_NODE_GOSSIP_INT_H

#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "node/core/commitq.h"
#include "node/core/gossip.h"
#include "node/core/peerscore.h"
#include "node/core/recon.h"
#include "node/core/session.h"
#include "proto/record.h"
#include "store/idindex.h"

#define NONE SIZE_MAX
#define NIL UINT32_MAX /* no entry in a table or free list */

enum {
    SID = GOSSIP_SHORT_ID_BYTES,
    HDR = 2, /* u16 count of every message */
    OUT_RECORDS = 0, OUT_ANNOUNCE = 1, OUT_WANT = 2, OUT_PRUNE = 3, N_OUT = 4,
    PEER_WORDS = (LIMIT_PEERS + 63) / 64, /* of a peer bitset */
    RECENT_ID_BYTES = 16,                 /* of an id, in its recent entry (struct recent) */
};
_Static_assert(SID <= RECENT_ID_BYTES && (int)RECENT_ID_BYTES <= (int)LIMIT_ID_BYTES,
               "a recent entry holds a short id and at most an id");
_Static_assert(LIMIT_SIGNED_RECORD_BYTES <= 0xffff,
               "a signed record's length must fit its u16 prefix");
_Static_assert(LIMIT_GOSSIP_COMMIT_BATCH <= LIMIT_STORE_BATCH, "commit batch over store batch");
_Static_assert(LIMIT_RECON_MSG_BYTES <= SESSION_MAX_BODY, "recon message over a session body");
_Static_assert(LIMIT_PEERS <= 0xffff, "peer slots");
_Static_assert(LIMIT_GOSSIP_SHORT_HITS > 0, "a short-id lookup keeps a hit");

enum cand_state { CAND_FREE, CAND_VERIFYING, CAND_VERIFIED };

struct cand {
    uint8_t id[LIMIT_ID_BYTES];
    uint8_t *bytes; /* sig || body, owned */
    size_t len;
    size_t from;    /* peer slot or GOSSIP_LOCAL */
    uint64_t from_gen;
    uint64_t h;     /* gossip_hkey(id).h: the index asks it again when entries move */
    uint8_t state;
    uint8_t kind;   /* enum proto_kind, from the verify job: VERIFIED only */
    uint32_t next_free;
};

/* A recent entry keeps the first RECENT_ID_BYTES of its id: ids are BLAKE2b-256 of the body, so
 * another record with the same first 128 bits is a second preimage (2^128 work), and one an
 * origin crafts against its own records (2^64) only makes its own records look held: the gate
 * then sends them less, never anywhere else. Half of the table (32 KiB of a simulated node's 64
 * with 2048 entries); the hash is computed again when entries move (gossip_tables.c). */
struct recent {
    uint8_t id[RECENT_ID_BYTES];
};

struct want {
    uint8_t sid[SID];
    size_t asked; /* peer asked and not answered yet, or NONE */
    uint64_t h;   /* gossip_hkey(sid).h, for the index when entries move (in the padding) */
    uint32_t next_free;
    bool used;
    uint8_t tries;
};

struct tree {
    uint8_t origin[SID]; /* the tree key (gossip_tree_key) */
    uint64_t h;          /* gossip_hkey(origin).h, for the index when entries move */
};

struct ann {
    uint8_t id[LIMIT_ID_BYTES];
    uint64_t due;
};

struct obuf {
    uint8_t *b;
    size_t len, cap; /* len includes the count header once anything was added */
    uint16_t n;
};

struct gpeer {
    /* First what every flush and record touches, in a few adjacent cache lines. */
    struct obuf out[N_OUT];
    uint8_t (*q)[LIMIT_ID_BYTES]; /* ids to send in full: ring */
    size_t q_head, q_len, q_cap;
    /* A round's haves beyond what q holds (a new partner lacks the whole set): one bit per item
     * of the round's sorted set, sent after q as q drains (gossip_send.c next_push), so one
     * round is enough however large the set. items is the round's p->items while it runs, then
     * owned here until every bit is sent or another round starts. */
    struct {
        const struct recon_item *items;
        uint64_t *bits;
        size_t n, next, left; /* items; the lowest index that may be set; bits set */
    } later;
    size_t wants_out;
    uint64_t gen;
    struct gossip_peer_stats st;
    bool keyed;
    uint8_t key[LIMIT_KEY_BYTES];
    /* Its first gate_peer_size(n_communities) bytes only (gate.h): a whole view is 4 KiB of
     * names, most of a simulated node's memory over its peers. (The peer as a sender, for the
     * inbound gate, is built from it per check.) */
    struct gate_peer *view;
    struct recon rc;
    struct recon_item *items;
    struct gossip_recon_build *bld; /* the round's set being built (ptimer.building) */
    bool initiator;      /* our key is the smaller: we start reconciliation rounds */
    bool recon_again;    /* a view changed during a round: another one when it ends */
    uint64_t req_after;  /* initiator: the earliest round a RECON_REQ may start */
    uint64_t round_at;   /* the pace of rounds (LIMIT_RECON_ROUND_MIN_MS): initiator, the
                            earliest next start; responder, the GCRA clock of the peer's starts
                            (over budget past LIMIT_RECON_PEER_ROUNDS ahead of now) */
    struct peerscore score;       /* this session's budgets */
    struct peerscore_bucket push; /* pacing of own records pushed in full */
    /* What the peer's reconciliation rounds showed it will send us (its haves are our needs):
     * that many records from it are asked for, until expect_until (LIMIT_PEER_RECON_GRACE_MS
     * after its last RECON message or the last of those records; expect_last is when that was).
     * expect_dup counts the needs we hold already (our gate left them out of our set, so the
     * peer could not know): their copies cost no duplicate budget. Counts, not ids: a peer
     * gains nothing beyond what its rounds named (recv.c asked_for). */
    uint64_t expect_until, expect_last;
    uint32_t expect_new, expect_dup;
    /* It spent a budget (gossip_charge) since its expected haves began (cleared with the counts):
     * from then on read whenever it sends (gossip_may_read), so the budget sees all it sends. */
    bool charged;
    bool closing;                 /* a close was asked for: its messages are ignored */
    bool tree;                    /* its HELLO has GOSSIP_CAP_TREE (gossip_peer_caps) */
    size_t held;                  /* candidates from this slot: verifying or waiting for commit */
    struct gossip_job *vq_head, *vq_tail; /* its verify jobs not yet handed to io.verify */
};

/* The reconciliation timers of a peer, which every flush reads for every peer: packed in one
 * array apart from struct gpeer (kilobytes: gate views, builders), so that those loops read a
 * few cache lines per node instead of a cold one per peer. */
struct ptimer {
    uint64_t next_recon; /* initiator only; UINT64_MAX otherwise */
    uint64_t soon_after; /* recon_soon acts at most once per LIMIT_RECON_REQ_MIN_MS... */
    bool soon_pending;   /* ...and remembers a call that came earlier */
    bool rc_active;      /* a round runs: its set is being built, or rc runs over it */
    bool building;       /* gpeer.bld: one step per flush (gossip_recon_turn) */
    bool flight_left;    /* our last flight has messages not yet sent: the connection was
                            backlogged (gossip_recon_turn sends them as it drains) */
};

/* Every message and flush reads struct gossip: the small fields come first, in a few cache
 * lines, and the 4 KiB members (the gate views, p.self, the own ranges) last. */
struct gossip {
    struct gossip_store_ops ops;
    struct gossip_io io;
    size_t words;                 /* uint64_t per peer bitset */
    uint64_t up[PEER_WORDS];      /* peer slots with a session */
    uint64_t pending[PEER_WORDS]; /* up slots that may have output: ids queued or a builder */
    struct gpeer **peers;
    struct ptimer *tm; /* per peer slot */
    uint64_t *key8;    /* per peer slot: its view's key, first 8 bytes (gossip_may_reach), side by
                          side so that a scan of every peer per record stays in cache */

    struct cand *cands;
    size_t cand_cap, n_cands;
    size_t cand_alloc; /* entries allocated, <= cand_cap: grown on demand (gossip_tables.c) */
    uint32_t cand_free;
    struct idindex cand_idx;
    bool self_changed;  /* our memberships changed: every peer reconciles soon */
    bool backlog_recon; /* announcements dropped under load: every peer reconciles soon */
    struct commitq cq; /* candidates waiting for commit, per source, taken in turn */
    struct store_put *commit_items; /* commit_alloc each: one commit's items and candidates */
    uint32_t *commit_cis;
    size_t commit_cap, commit_alloc; /* the bound; allocated so far (grown on demand) */
    struct gossip_commit cm; /* the commit being run: its items are commit_items */
    bool commit_out;   /* cm is with io.commit: no other commit starts until it is back */
    uint64_t commit_hold_until; /* a bulk transfer's next commit waits till then (gossip_commit.c) */
    bool scan_pending; /* a local scan waits for cm: seqs it added are not yet in own */
    size_t jobs_out; /* handed to io.verify */
    size_t vq_next;  /* the peer slot whose verify queue is served next (round robin) */
    size_t n_building; /* peers whose round's set is being built (ptimer.building) */
    size_t build_next; /* the peer slot whose build takes the next step (round robin) */

    struct recent *recent;
    uint64_t *recent_bits;
    uint64_t *recent_sent; /* of recent_bits: the peers this node sent the record to */
    uint32_t *recent_from; /* per entry: the peer slot whose copy was committed, or NIL (apart
                              from struct recent, which would grow by its padding) */
    size_t recent_cap, recent_pos;
    bool recent_full; /* every entry is used: the next add evicts the one at recent_pos */
    struct idindex recent_idx;

    struct want *wants;
    uint64_t *want_dl; /* each want's deadline, UINT64_MAX when free: the due scan reads only
                          this dense array, not the entries */
    uint64_t *want_ann, *want_tried;
    size_t want_cap, n_wants;
    size_t want_alloc; /* entries allocated, <= want_cap: grown on demand (gossip_want.c) */
    uint32_t want_free;
    struct idindex want_idx;
    uint64_t want_next;

    struct tree *trees;
    uint64_t *tree_pruned; /* per entry, 2 x words: the peer slots that pruned the tree, then those
                              that grafted it (gossip_tree.c) */
    size_t tree_cap, tree_alloc, tree_n, tree_pos; /* bound, allocated, used, next evicted */
    size_t push_cap; /* each peer's push queue (struct gpeer q) holds this many ids at most */
    struct idindex tree_idx;

    struct ann *anns;
    size_t ann_cap, ann_head, ann_len;
    size_t ann_alloc; /* entries allocated, <= ann_cap: the ring grows on demand (a simulated
                         node queues a few dozen; the daemon's cap is 16384 x 40 bytes) */
    uint64_t ann_due; /* the head's due, UINT64_MAX when empty: every flush reads it */

    struct gossip_stats st;
    struct activity act; /* st's record counters per minute (gossip_flush) */

    uint64_t scan_seq;
    /* Grown on demand up to LIMIT_GOSSIP_OWN_RANGES (gossip_commit.c own_add): a node holds a
     * few at a time, and 4 KiB in every struct gossip was most of a simulated node's. */
    struct own_range {
        uint64_t lo, hi;
    } *own;
    size_t n_own, own_cap;
    struct gossip_params p;
};

/* The gate facts of one record, loaded into the gossip's scratch (valid until the next load). */
struct rview {
    const uint8_t *id;
    const uint8_t *bytes;
    size_t len;
    const struct proto_record *r;
    const struct proto_record *target;
    bool revoked; /* loaded by gossip_view_load_id only */
    const uint64_t *known; /* the peers known to have it (its recent entry's bits), or NULL */
};

/* A key's hash: SipHash of its first 8 bytes, computed once per id and path and handed down. */
struct hkey {
    const uint8_t *id; /* LIMIT_ID_BYTES, or SID for a short id */
    uint64_t h;
};

/* Decode and message scratch. An instance runs on one thread at a time and nothing loaded into
 * it outlives the call that loaded it, so every instance on a thread shares one set: the set in
 * use stays in cache (simnet runs a thousand instances; each kept ~120 KiB of it, cold). */
struct scratch {
    struct proto_record rec, trec; /* a record and its target */
    uint8_t buf[LIMIT_SIGNED_RECORD_BYTES], tbuf[LIMIT_SIGNED_RECORD_BYTES]; /* their bytes */
    uint8_t recon_out[LIMIT_RECON_MSG_BYTES];
    struct gate_self in_sender; /* the views of one inbound check (4 KiB each: not on the */
    struct gate_peer in_me;     /* stack, nor in every instance) */
};

/* Ids (and seqs) copied out of a store iteration: store callbacks may not call the store. */
struct id_list {
    uint8_t (*ids)[LIMIT_ID_BYTES];
    uint64_t *seqs;
    size_t n, cap, max;
    int err;
};

#ifdef GOSSIP_TEST_GATE_HOOK
#define EMIT(g, peer, id, what)                                                                 \
    do {                                                                                        \
        if (gossip_test_emit_hook != NULL)                                                      \
            gossip_test_emit_hook((g)->p.self.key, (g)->peers[peer]->key, (id), (what));        \
    } while (0)
#else
#define EMIT(g, peer, id, what) ((void)(g), (void)(peer), (void)(id))
#endif

static inline uint16_t get_be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static inline void put_be16(uint8_t *p, size_t v)
{
    assert(v <= 0xffff);
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static inline uint64_t min_u64(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

/* --- bitsets of peer slots --- */

static inline uint64_t *bits_at(uint64_t *base, size_t words, size_t entry)
{
    return base + entry * words;
}

static inline void bit_set(uint64_t *b, size_t i)
{
    b[i / 64] |= UINT64_C(1) << (i % 64);
}

static inline bool bit_get(const uint64_t *b, size_t i)
{
    return (b[i / 64] >> (i % 64)) & 1;
}

static inline void bit_clear(uint64_t *b, size_t i)
{
    b[i / 64] &= ~(UINT64_C(1) << (i % 64));
}

/* The first set bit at or after i, or n when none (bits at n and above are never set). Loops
 * over peers walk these instead of dereferencing every slot. */
static inline size_t bit_next(const uint64_t *b, size_t n, size_t i)
{
    while (i < n) {
        uint64_t w = b[i / 64] >> (i % 64);
        if (w != 0) {
            i += (size_t)__builtin_ctzll(w);
            assert(i < n);
            return i;
        }
        i = (i / 64 + 1) * 64;
    }
    return n;
}

#define FOR_EACH_BIT(i, b, n)                                                                   \
    for (size_t i = bit_next((b), (n), 0); i < (n); i = bit_next((b), (n), i + 1))

static inline bool peer_up(const struct gossip *g, size_t peer)
{
    assert(!bit_get(g->up, peer) || g->peers[peer] != NULL);
    return bit_get(g->up, peer);
}

/* Ids waiting to be sent in full to peer p: its queue and its round's later haves. */
static inline size_t gossip_push_left(const struct gpeer *p)
{
    return p->q_len + p->later.left;
}

/* Is peer's connection behind (io.backlog plus its RECORDS builder)? Asked per peer and item. */
static inline bool gossip_backlogged(const struct gossip *g, size_t peer)
{
    size_t queued = g->io.backlog ? g->io.backlog(g->io.ctx, peer) : 0;
    return queued + g->peers[peer]->out[OUT_RECORDS].len > LIMIT_GOSSIP_BACKLOG_BYTES;
}

static inline struct hkey gossip_hkey(const struct gossip *g, const uint8_t *key8)
{
    return (struct hkey){key8, idindex_hash(g->p.hash_key, key8)};
}

/* gossip.c */
void gossip_close_for(struct gossip *g, size_t peer, int reason);
bool gossip_charge(struct gossip *g, size_t peer, enum peerscore_kind k, uint32_t cost,
                   uint64_t now);
void gossip_logf(struct gossip *g, enum gossip_log_level level, size_t peer, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* gossip_tables.c */
uint32_t gossip_cand_alloc(struct gossip *g, struct hkey k, const uint8_t *bytes, size_t len,
                           size_t from);
void gossip_cand_release(struct gossip *g, uint32_t ci);

/* gossip_commit.c: a verified record was queued for commit (first: into an empty queue), and
 * whether the next commit waits for more (LIMIT_GOSSIP_COMMIT_MIN), till commit_hold_until. */
void gossip_commit_queued(struct gossip *g, bool first, uint64_t now);
bool gossip_commit_held(const struct gossip *g);
/* One peer's share of the candidate table among the peers up (gossip.h "Ingest is fair"). */
size_t gossip_cand_share(const struct gossip *g);
bool gossip_cand_is_dup(const struct gossip *g, struct hkey k, const uint8_t *bytes, size_t len);
bool gossip_cand_has_sid(const struct gossip *g, struct hkey k);
bool gossip_cand_verified(const struct gossip *g, struct hkey k);
uint32_t gossip_recent_add(struct gossip *g, struct hkey k);
uint64_t *gossip_recent_known(struct gossip *g, struct hkey k);
bool gossip_recent_mark_sid(struct gossip *g, struct hkey k, size_t peer);
uint64_t *gossip_recent_sent_of(struct gossip *g, const uint64_t *known);

/* gossip_want.c */
uint32_t gossip_want_find(const struct gossip *g, struct hkey k);
uint32_t gossip_want_add(struct gossip *g, struct hkey k, uint64_t deadline);
void gossip_want_unask(struct gossip *g, struct want *e);
void gossip_want_remove(struct gossip *g, uint32_t w);
enum gossip_want_ask {
    GOSSIP_WANT_ASKED,  /* a WANT to one announcer is queued */
    GOSSIP_WANT_BUSY,   /* announcers left to ask, none with room now: asked again later */
    GOSSIP_WANT_NOBODY, /* every announcer that is up was asked */
};
enum gossip_want_ask gossip_want_ask(struct gossip *g, uint32_t w, uint64_t now);
void gossip_wants_due(struct gossip *g, uint64_t now);

/* A necessary condition of the gate for sending v to peer, far cheaper than the gate: a TLP:RED
 * record goes to its recipients only (gate.h), so a peer whose key starts like none of theirs is
 * refused whatever else holds. The push and announcement paths ask it first, so that a hub does not
 * run the gate for a thousand constituents per record meant for two; those it rules out are not
 * counted as refusals (docs/SHARING.md). Never a reason to send: the gate decides for the rest. */
static inline bool gossip_may_reach(const struct gossip *g, size_t peer, const struct rview *v)
{
    const struct proto_audience *a = &v->r->audience;
    if (v->r->tlp != PROTO_TLP_RED)
        return true;
    for (size_t k = 0; k < a->n_recipients && k < LIMIT_AUDIENCE_RECIPIENTS; k++)
        if (memcmp(a->recipients[k], &g->key8[peer], sizeof g->key8[peer]) == 0)
            return true;
    return false;
}

/* gossip_send.c */
bool gossip_out_add_sid(struct gossip *g, size_t peer, int k, const uint8_t *id);
struct scratch *gossip_scratch(void);
bool gossip_view_load(struct gossip *g, const uint8_t id[LIMIT_ID_BYTES], const uint8_t *bytes,
                      size_t len, struct rview *v);
bool gossip_view_decode(const uint8_t id[LIMIT_ID_BYTES], const uint8_t *bytes, size_t len,
                        struct rview *v);
bool gossip_view_load_id(struct gossip *g, const uint8_t id[LIMIT_ID_BYTES], struct rview *v);
bool gossip_gate_out(struct gossip *g, size_t peer, const struct rview *v, bool reveal_only,
                     uint64_t wall_ms);
enum gate_verdict gossip_gate_verdict(const struct gossip *g, size_t peer, const struct rview *v,
                                     bool reveal_only, uint64_t wall_ms);
bool gossip_gate_note(struct gossip *g, size_t peer, const uint8_t id[LIMIT_ID_BYTES],
                      enum gate_verdict verdict, bool reveal_only);
bool gossip_gate_allows(const struct gossip *g, size_t peer, const struct rview *v,
                        uint64_t wall_ms);
void gossip_push_enqueue(struct gossip *g, size_t peer, const uint8_t id[LIMIT_ID_BYTES]);
void gossip_push_have(struct gossip *g, size_t peer, const struct recon_item *item);
void gossip_push_later_free(struct gpeer *p);
void gossip_pump(struct gossip *g, uint64_t wall_ms);

/* gossip_tree.c */
bool gossip_tree_key(const uint8_t *signed_rec, size_t len, uint8_t key[SID]);
void gossip_tree_push(struct gossip *g, const struct cand *c, uint64_t now, uint64_t wall_ms);
void gossip_tree_dup(struct gossip *g, size_t peer, const uint8_t *signed_rec, size_t len,
                     bool held);
void gossip_tree_graft(struct gossip *g, size_t peer, const uint8_t id[LIMIT_ID_BYTES]);
void gossip_tree_prune(struct gossip *g, size_t peer, const uint8_t key[SID]);
void gossip_tree_forget_peer(struct gossip *g, size_t peer);
void gossip_tree_free(struct gossip *g);

/* gossip_recon.c */
int gossip_collect_id(const uint8_t id[LIMIT_ID_BYTES], const uint8_t *signed_rec, size_t len,
                      uint64_t seq, void *ctx); /* store_record_cb filling a struct id_list */
void gossip_id_list_free(struct id_list *l);
void gossip_recon_stop(struct gossip *g, size_t peer, uint64_t now);
void gossip_recon_soon(struct gossip *g, size_t peer, uint64_t now);
int gossip_on_recon_req(struct gossip *g, size_t peer, size_t len, uint64_t now);
int gossip_on_recon(struct gossip *g, size_t peer, const uint8_t *body, size_t len, uint64_t now,
                    uint64_t wall_ms);
/* Starts a round: its set is built over the next turns, then either our first message is sent
 * (initiate) or the peer's first message msg[0..len) answered. */
int gossip_recon_start(struct gossip *g, size_t peer, const uint8_t *msg, size_t len,
                       uint64_t now, uint64_t wall_ms);
/* One flush's reconciliation work: a step of one peer's set build (round robin), the rest of
 * the flights that backlogged connections could not take. */
void gossip_recon_turn(struct gossip *g, uint64_t now, uint64_t wall_ms);

/* gossip_recon_set.c: the set this node reveals to peer in a round, built in steps */
struct gossip_recon_build;
/* A build for peer at wall_ms, holding a copy of the peer's first message (msg NULL: the round
 * is ours). GOSSIP_E_NOMEM. */
int gossip_recon_build_begin(struct gossip *g, size_t peer, uint64_t wall_ms, const uint8_t *msg,
                             size_t len, struct gossip_recon_build **out);
/* One step (a store chunk or a sort step, a few ms): 1 when the set is ready, 0 when more steps
 * are due, or a negative GOSSIP_E_*. */
int gossip_recon_build_step(struct gossip_recon_build *b);
/* The ready set, sorted by (ts, id), in a malloc'd *out the caller frees. */
int gossip_recon_build_take(struct gossip_recon_build *b, struct recon_item **out,
                            size_t *n_out);
/* The held first message of the peer, or NULL when the round is ours. */
const uint8_t *gossip_recon_build_msg(const struct gossip_recon_build *b, size_t *len);
void gossip_recon_build_free(struct gossip_recon_build *b);
/* The whole build in one call (tests compare it with the full load's gate). */
int gossip_recon_build_set(struct gossip *g, size_t peer, uint64_t wall_ms,
                           struct recon_item **out, size_t *n_out);

/* gossip_verify.c */
bool gossip_precheck(struct gossip *g, size_t peer, const uint8_t id[LIMIT_ID_BYTES],
                     const uint8_t *bytes, size_t len, uint64_t now, uint64_t wall_ms);
struct gossip_job *gossip_job_alloc(uint64_t wall_ms);
void gossip_verify_queue(struct gossip *g, size_t peer, struct gossip_job *job);
void gossip_verify_pump(struct gossip *g);
void gossip_verify_drop(struct gossip *g, size_t peer);

#endif
