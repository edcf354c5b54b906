/* gossip.c - see gossip.h; wire format in docs/PROTOCOL.md "Gossip".
 *
 * Tables (all bounded, all indexed by open addressing over SipHash of an id's first 8 bytes under
 * the caller's key, so that a full id and a short id probe the same slots and crafted ids cannot
 * make chains):
 *   candidates  records received but not committed: VERIFYING (a job is out) or VERIFIED (waiting
 *               for the next commit). Dedupe looks here after the store, before any verify.
 *   recent      committed or announced ids and a bitset of the peer slots known to have each:
 *               the gate's "peer has it". Oldest evicted; reconciliation covers what it forgets.
 *   wants       short ids announced to us that we lack: who announced them, who was asked, when.
 *   anns        committed ids waiting for their announcement step (announce_slot).
 * Per peer: three message builders (RECORDS, ANNOUNCE, WANT), a queue of ids to send in full
 * (eager push, WANT answers, reconciliation haves; gated again when written) and a reconciliation.
 */
#include "node/core/gossip.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "node/core/recon.h"
#include "node/core/session.h"

#define NONE SIZE_MAX
#define NIL UINT32_MAX

enum {
    SID = GOSSIP_SHORT_ID_BYTES,
    HDR = 2,                                          /* u16 count of every message */
    SIGNED_MAX = LIMIT_SIG_BYTES + LIMIT_RECORD_BYTES,
    OUT_RECORDS = 0, OUT_ANNOUNCE = 1, OUT_WANT = 2, N_OUT = 3,
    SCAN_CHUNK = 4096, /* ids the local scan reads per store iteration */
    OBUF_KEEP = 4096,  /* builders larger than this are freed after a send (simnet memory) */
    PEER_WORDS = (LIMIT_PEERS + 63) / 64, /* of a peer bitset */
    SHORT_HITS = 4,    /* records kept per short-id lookup: 64-bit collisions are rare, and only
                          an origin grinding its own records can make more */
};
_Static_assert(SIGNED_MAX <= 0xffff, "a signed record's length must fit its u16 prefix");
_Static_assert(LIMIT_GOSSIP_COMMIT_BATCH <= LIMIT_STORE_BATCH, "commit batch over store batch");
_Static_assert(LIMIT_RECON_MSG_BYTES <= SESSION_MAX_BODY, "recon message over a session body");
_Static_assert(LIMIT_PEERS <= 0xffff, "peer slots");

static const uint8_t out_type[N_OUT] = {GOSSIP_MSG_RECORDS, GOSSIP_MSG_ANNOUNCE, GOSSIP_MSG_WANT};

enum cand_state { CAND_FREE, CAND_VERIFYING, CAND_VERIFIED };

struct cand {
    uint8_t id[LIMIT_ID_BYTES];
    uint8_t *bytes; /* sig || body, owned */
    size_t len;
    size_t from;    /* peer slot or GOSSIP_LOCAL */
    uint64_t from_gen;
    uint32_t h;     /* hkey_of(id).h */
    uint8_t state;
    uint8_t kind;   /* enum proto_kind, from the verify job: VERIFIED only */
    uint32_t next_free;
};

struct recent {
    uint8_t id[LIMIT_ID_BYTES];
    bool used;
};

struct want {
    uint8_t sid[SID];
    bool used;
    uint8_t tries;
    size_t asked; /* peer asked and not answered yet, or NONE */
    uint32_t next_free;
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

struct islot {
    uint32_t e1; /* entry + 1; 0 empty */
    uint32_t h;  /* the entry key's hash (struct hkey) */
};

struct idx {
    struct islot *slot;
    size_t cap; /* power of two, >= 2 * entries */
};

struct gpeer {
    /* First what every flush and record touches, in a few adjacent cache lines; the views
     * after them are 8 KiB. */
    struct obuf out[N_OUT];
    uint8_t (*q)[LIMIT_ID_BYTES]; /* ids to send in full: ring */
    size_t q_head, q_len, q_cap;
    size_t wants_out;
    uint64_t gen;
    struct gossip_peer_stats st;
    bool keyed;
    uint8_t key[LIMIT_KEY_BYTES];
    struct gate_peer view;
    struct gate_self sender; /* the peer as a sender, for the inbound gate (from view) */
    struct recon rc;
    struct recon_item *items;
    bool initiator;      /* our key is the smaller: we start reconciliation rounds */
    bool recon_again;    /* a view changed during a round: another one when it ends */
    uint64_t req_after;  /* initiator: the earliest round a RECON_REQ may start */
};

/* The reconciliation timers of a peer, which every flush reads for every peer: packed in one
 * array apart from struct gpeer (kilobytes: gate views, builders), so that those loops read a
 * few cache lines per node instead of a cold one per peer. */
struct ptimer {
    uint64_t next_recon; /* initiator only; UINT64_MAX otherwise */
    uint64_t soon_after; /* recon_soon acts at most once per LIMIT_RECON_REQ_MIN_MS... */
    bool soon_pending;   /* ...and remembers a call that came earlier */
    bool rc_active;
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

    struct cand *cands;
    size_t cand_cap, n_cands;
    uint32_t cand_free;
    struct idx cand_idx;
    bool self_changed;  /* our memberships changed: every peer reconciles soon */
    bool backlog_recon; /* announcements dropped under load: every peer reconciles soon */
    uint32_t *verified; /* ring of candidates waiting for commit */
    size_t ver_head, ver_len;
    struct store_put *commit_items; /* commit_cap each: one commit's items and candidates */
    uint32_t *commit_cis;
    size_t commit_cap;
    size_t jobs_out;

    struct recent *recent;
    uint64_t *recent_bits;
    size_t recent_cap, recent_pos;
    struct idx recent_idx;

    struct want *wants;
    uint64_t *want_dl; /* each want's deadline, UINT64_MAX when free: the due scan reads only
                          this dense array, not the entries */
    uint64_t *want_ann, *want_tried;
    size_t want_cap, n_wants;
    uint32_t want_free;
    struct idx want_idx;
    uint64_t want_next;

    struct ann *anns;
    size_t ann_cap, ann_head, ann_len;
    uint64_t ann_due; /* the head's due, UINT64_MAX when empty: every flush reads it */

    struct gossip_stats st;

    uint64_t scan_seq;
    size_t n_own;
    struct {
        uint64_t lo, hi;
    } own[LIMIT_GOSSIP_OWN_RANGES];
    struct gossip_params p;
    struct gate_peer me; /* this node as a receiver, for the inbound gate (from p.self) */
    struct gate_self in_sender; /* scratch views of one inbound check (4 KiB each: not on the */
    struct gate_peer in_me;     /* stack) */
};

/* The gate facts of one record, loaded into the gossip's scratch (valid until the next load). */
struct rview {
    const uint8_t *id;
    const uint8_t *bytes;
    size_t len;
    const struct proto_record *r;
    const struct proto_record *target;
    bool revoked; /* loaded by view_load_id only */
    const uint64_t *known; /* the peers known to have it (its recent entry's bits), or NULL */
};

#ifdef GOSSIP_TEST_GATE_HOOK
void (*gossip_test_emit_hook)(const uint8_t self[LIMIT_KEY_BYTES],
                              const uint8_t peer[LIMIT_KEY_BYTES],
                              const uint8_t id[LIMIT_ID_BYTES], enum gossip_emit what);
#define EMIT(g, peer, id, what)                                                                 \
    do {                                                                                        \
        if (gossip_test_emit_hook != NULL)                                                      \
            gossip_test_emit_hook((g)->p.self.key, (g)->peers[peer]->key, (id), (what));        \
    } while (0)
#else
#define EMIT(g, peer, id, what) ((void)(g), (void)(peer), (void)(id))
#endif

const char *gossip_strerror(int err)
{
    switch (err) {
    case GOSSIP_OK: return "success";
    GOSSIP_ERRORS(ERRORS_CASE)
    default: return "unknown gossip error";
    }
}

static void glog(struct gossip *g, enum gossip_log_level level, size_t peer, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void glog(struct gossip *g, enum gossip_log_level level, size_t peer, const char *fmt, ...)
{
    if (g->io.log == NULL)
        return;
    char line[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    g->io.log(g->io.ctx, level, peer, line);
}

static uint16_t get_be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static void put_be16(uint8_t *p, size_t v)
{
    assert(v <= 0xffff);
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

/* --- bitsets of peer slots --- */

static uint64_t *bits_at(uint64_t *base, size_t words, size_t entry)
{
    return base + entry * words;
}

static void bit_set(uint64_t *b, size_t i)
{
    b[i / 64] |= UINT64_C(1) << (i % 64);
}

static bool bit_get(const uint64_t *b, size_t i)
{
    return (b[i / 64] >> (i % 64)) & 1;
}

static void bit_clear(uint64_t *b, size_t i)
{
    b[i / 64] &= ~(UINT64_C(1) << (i % 64));
}

/* The first set bit at or after i, or n when none (bits at n and above are never set). Loops
 * over peers walk these instead of dereferencing every slot. */
static size_t bit_next(const uint64_t *b, size_t n, size_t i)
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

/* --- open-addressing index --- */

/* A key's hash: SipHash of its first 8 bytes, computed once per id and path and handed down. */
struct hkey {
    const uint8_t *id; /* LIMIT_ID_BYTES, or SID for a short id */
    uint32_t h;
};

static struct hkey hkey_of(const struct gossip *g, const uint8_t *key8)
{
    uint8_t h[crypto_shorthash_BYTES];
    crypto_shorthash(h, key8, SID, g->p.hash_key);
    uint64_t v;
    memcpy(&v, h, sizeof v);
    return (struct hkey){key8, (uint32_t)v};
}

static int idx_init(struct idx *x, size_t entries)
{
    x->cap = 16;
    while (x->cap < entries * 2)
        x->cap *= 2;
    assert(x->cap <= UINT32_MAX);
    x->slot = calloc(x->cap, sizeof *x->slot);
    return x->slot ? GOSSIP_OK : GOSSIP_E_NOMEM;
}

static size_t idx_home(const struct idx *x, uint32_t h)
{
    return h & (x->cap - 1);
}

/* The next entry with hash h probing from slot *at (which it advances), or NIL at the end of the
 * run. Slots keep the hash, so a probe reads an entry (a cold line) only when it likely matches. */
static uint32_t idx_next(const struct idx *x, uint32_t h, size_t *at)
{
    const size_t mask = x->cap - 1;
    for (size_t s = *at; x->slot[s].e1 != 0; s = (s + 1) & mask)
        if (x->slot[s].h == h) {
            *at = (s + 1) & mask;
            return x->slot[s].e1 - 1;
        }
    return NIL;
}

static void idx_put(struct idx *x, uint32_t h, uint32_t entry)
{
    size_t mask = x->cap - 1, s = idx_home(x, h);
    while (x->slot[s].e1 != 0)
        s = (s + 1) & mask; /* at most half full: an empty slot exists */
    x->slot[s] = (struct islot){entry + 1, h};
}

/* Removes entry (hash h) with backward-shift deletion, so that lookups never need tombstones. */
static void idx_del(struct idx *x, uint32_t h, uint32_t entry)
{
    size_t mask = x->cap - 1, i = idx_home(x, h);
    while (x->slot[i].e1 != entry + 1) {
        assert(x->slot[i].e1 != 0);
        i = (i + 1) & mask;
    }
    x->slot[i].e1 = 0;
    for (size_t j = (i + 1) & mask; x->slot[j].e1 != 0; j = (j + 1) & mask) {
        size_t home = idx_home(x, x->slot[j].h);
        if (((j - home) & mask) >= ((j - i) & mask)) {
            x->slot[i] = x->slot[j];
            x->slot[j].e1 = 0;
            i = j;
        }
    }
}

/* --- candidates --- */

static uint32_t cand_alloc(struct gossip *g, struct hkey k, const uint8_t *bytes, size_t len,
                           size_t from)
{
    if (g->cand_free == NIL)
        return NIL;
    uint8_t *copy = malloc(len);
    if (copy == NULL)
        return NIL;
    uint32_t ci = g->cand_free;
    struct cand *c = &g->cands[ci];
    assert(c->state == CAND_FREE);
    g->cand_free = c->next_free;
    memcpy(copy, bytes, len);
    memcpy(c->id, k.id, LIMIT_ID_BYTES);
    c->h = k.h;
    c->bytes = copy;
    c->len = len;
    c->from = from;
    c->from_gen = from == GOSSIP_LOCAL ? 0 : g->peers[from]->gen;
    c->state = CAND_VERIFYING;
    idx_put(&g->cand_idx, k.h, ci);
    g->n_cands++;
    return ci;
}

static void cand_release(struct gossip *g, uint32_t ci)
{
    struct cand *c = &g->cands[ci];
    assert(c->state != CAND_FREE && g->n_cands > 0);
    idx_del(&g->cand_idx, c->h, ci);
    free(c->bytes);
    c->bytes = NULL;
    c->state = CAND_FREE;
    c->next_free = g->cand_free;
    g->cand_free = ci;
    g->n_cands--;
}

/* Is a copy of id already verified, or these very bytes being verified, or too many copies in
 * flight? Then this copy is a duplicate. A different copy (another signature) is verified too,
 * so a forged copy that came first cannot shadow the genuine one. */
static bool cand_is_dup(const struct gossip *g, struct hkey k, const uint8_t *bytes, size_t len)
{
    size_t copies = 0, s = idx_home(&g->cand_idx, k.h);
    for (uint32_t ci; (ci = idx_next(&g->cand_idx, k.h, &s)) != NIL;) {
        const struct cand *c = &g->cands[ci];
        if (memcmp(c->id, k.id, LIMIT_ID_BYTES) != 0)
            continue;
        if (c->state == CAND_VERIFIED || (c->len == len && memcmp(c->bytes, bytes, len) == 0))
            return true;
        copies++;
    }
    return copies >= LIMIT_GOSSIP_COPIES_PER_ID;
}

static bool cand_has_sid(const struct gossip *g, struct hkey k)
{
    size_t s = idx_home(&g->cand_idx, k.h);
    for (uint32_t ci; (ci = idx_next(&g->cand_idx, k.h, &s)) != NIL;)
        if (memcmp(g->cands[ci].id, k.id, SID) == 0)
            return true;
    return false;
}

static bool cand_verified(const struct gossip *g, struct hkey k)
{
    size_t s = idx_home(&g->cand_idx, k.h);
    for (uint32_t ci; (ci = idx_next(&g->cand_idx, k.h, &s)) != NIL;) {
        const struct cand *c = &g->cands[ci];
        if (c->state == CAND_VERIFIED && memcmp(c->id, k.id, LIMIT_ID_BYTES) == 0)
            return true;
    }
    return false;
}

/* --- recent: who has what --- */

static uint32_t recent_find(const struct gossip *g, struct hkey k)
{
    size_t s = idx_home(&g->recent_idx, k.h);
    for (uint32_t e; (e = idx_next(&g->recent_idx, k.h, &s)) != NIL;)
        if (memcmp(g->recent[e].id, k.id, LIMIT_ID_BYTES) == 0)
            return e;
    return NIL;
}

/* The entry of id, created (evicting the oldest) if missing. */
static uint32_t recent_add(struct gossip *g, struct hkey k)
{
    uint32_t e = recent_find(g, k);
    if (e != NIL)
        return e;
    e = (uint32_t)g->recent_pos;
    g->recent_pos = (g->recent_pos + 1) % g->recent_cap;
    struct recent *r = &g->recent[e];
    if (r->used)
        idx_del(&g->recent_idx, hkey_of(g, r->id).h, e);
    memcpy(r->id, k.id, LIMIT_ID_BYTES);
    r->used = true;
    memset(bits_at(g->recent_bits, g->words, e), 0, g->words * sizeof(uint64_t));
    idx_put(&g->recent_idx, k.h, e);
    return e;
}

/* The bitset of peers known to have id, or NULL when id is not recent. Looked up once per id:
 * the gate asks it for every peer. Valid until the next recent_add. */
static uint64_t *recent_known(struct gossip *g, struct hkey k)
{
    uint32_t e = recent_find(g, k);
    return e == NIL ? NULL : bits_at(g->recent_bits, g->words, e);
}

/* Marks peer on every recent id with this short id; false when there is none. */
static bool recent_mark_sid(struct gossip *g, struct hkey k, size_t peer)
{
    bool found = false;
    size_t s = idx_home(&g->recent_idx, k.h);
    for (uint32_t e; (e = idx_next(&g->recent_idx, k.h, &s)) != NIL;)
        if (memcmp(g->recent[e].id, k.id, SID) == 0) {
            bit_set(bits_at(g->recent_bits, g->words, e), peer);
            found = true;
        }
    return found;
}

/* --- wants --- */

static uint32_t want_find(const struct gossip *g, struct hkey k)
{
    size_t s = idx_home(&g->want_idx, k.h);
    for (uint32_t w; (w = idx_next(&g->want_idx, k.h, &s)) != NIL;)
        if (memcmp(g->wants[w].sid, k.id, SID) == 0)
            return w;
    return NIL;
}

static uint32_t want_add(struct gossip *g, struct hkey k, uint64_t deadline)
{
    uint32_t w = want_find(g, k);
    if (w != NIL || g->want_free == NIL)
        return w;
    w = g->want_free;
    struct want *e = &g->wants[w];
    g->want_free = e->next_free;
    memcpy(e->sid, k.id, SID);
    e->used = true;
    e->tries = 0;
    e->asked = NONE;
    g->want_dl[w] = deadline;
    memset(bits_at(g->want_ann, g->words, w), 0, g->words * sizeof(uint64_t));
    memset(bits_at(g->want_tried, g->words, w), 0, g->words * sizeof(uint64_t));
    idx_put(&g->want_idx, k.h, w);
    g->n_wants++;
    g->want_next = min_u64(g->want_next, deadline);
    return w;
}

static void want_unask(struct gossip *g, struct want *e)
{
    if (e->asked == NONE)
        return;
    assert(g->peers[e->asked]->wants_out > 0);
    g->peers[e->asked]->wants_out--;
    e->asked = NONE;
}

static void want_remove(struct gossip *g, uint32_t w)
{
    struct want *e = &g->wants[w];
    assert(e->used && g->n_wants > 0);
    want_unask(g, e);
    idx_del(&g->want_idx, hkey_of(g, e->sid).h, w);
    e->used = false;
    g->want_dl[w] = UINT64_MAX;
    e->next_free = g->want_free;
    g->want_free = w;
    g->n_wants--;
}

/* --- outgoing messages --- */

static bool peer_up(const struct gossip *g, size_t peer)
{
    assert(!bit_get(g->up, peer) || g->peers[peer] != NULL);
    return bit_get(g->up, peer);
}

static void out_send(struct gossip *g, size_t peer, int k)
{
    struct gpeer *p = g->peers[peer];
    struct obuf *o = &p->out[k];
    if (o->n == 0)
        return;
    put_be16(o->b, o->n);
    if (g->io.send(g->io.ctx, peer, out_type[k], o->b, o->len) < 0)
        g->st.sent_fail++;
    o->n = 0;
    o->len = 0;
    if (o->cap > OBUF_KEEP) {
        free(o->b);
        o->b = NULL;
        o->cap = 0;
    }
}

/* Room for an item of item_len bytes in builder k of peer (sending it first when full). */
static uint8_t *out_room(struct gossip *g, size_t peer, int k, size_t item_len)
{
    struct obuf *o = &g->peers[peer]->out[k];
    assert(item_len + HDR <= SESSION_MAX_BODY);
    if (o->n == 0xffff || o->len + item_len > SESSION_MAX_BODY)
        out_send(g, peer, k);
    if (o->len == 0)
        o->len = HDR;
    if (o->len + item_len > o->cap) {
        size_t cap = o->cap ? o->cap : 512;
        while (cap < o->len + item_len)
            cap *= 2;
        uint8_t *nb = realloc(o->b, cap < SESSION_MAX_BODY ? cap : SESSION_MAX_BODY);
        if (nb == NULL)
            return NULL;
        o->b = nb;
        o->cap = cap < SESSION_MAX_BODY ? cap : SESSION_MAX_BODY;
    }
    uint8_t *at = o->b + o->len;
    o->len += item_len;
    o->n++;
    bit_set(g->pending, peer);
    return at;
}

static bool out_add_record(struct gossip *g, size_t peer, const struct rview *v)
{
    uint8_t *at = out_room(g, peer, OUT_RECORDS, 2 + v->len);
    if (at == NULL)
        return false;
    EMIT(g, peer, v->id, GOSSIP_EMIT_RECORD);
    put_be16(at, v->len);
    memcpy(at + 2, v->bytes, v->len);
    return true;
}

static bool out_add_sid(struct gossip *g, size_t peer, int k, const uint8_t *id)
{
    uint8_t *at = out_room(g, peer, k, SID);
    if (at != NULL)
        memcpy(at, id, SID);
    return at != NULL;
}

static bool backlogged(const struct gossip *g, size_t peer)
{
    size_t queued = g->io.backlog ? g->io.backlog(g->io.ctx, peer) : 0;
    return queued + g->peers[peer]->out[OUT_RECORDS].len > LIMIT_GOSSIP_BACKLOG_BYTES;
}

/* --- records and the gate --- */

/* Decode and message scratch. An instance runs on one thread at a time and nothing loaded into
 * it outlives the call that loaded it, so every instance on a thread shares one set: the set in
 * use stays in cache (simnet runs a thousand instances; each kept ~120 KiB of it, cold). */
struct scratch {
    struct proto_record rec, trec; /* a record and its target */
    uint8_t buf[SIGNED_MAX], tbuf[SIGNED_MAX]; /* their bytes */
    uint8_t recon_out[LIMIT_RECON_MSG_BYTES];
};

static struct scratch *scratch(void)
{
    static _Thread_local struct scratch s;
    return &s;
}

/* Decodes bytes (in scratch()->buf or elsewhere) into scratch()->rec and loads the gate facts. Only
 * for bodies decoded and checked before (stored, or verified by a job): gossip loads each record
 * several times (inbound gate, announcement, every send), and the checks are most of a decode. */
static bool view_load(struct gossip *g, const uint8_t id[LIMIT_ID_BYTES], const uint8_t *bytes,
                      size_t len, struct rview *v)
{
    struct scratch *x = scratch();
    if (len <= LIMIT_SIG_BYTES ||
        proto_record_decode_known(bytes + LIMIT_SIG_BYTES, len - LIMIT_SIG_BYTES, &x->rec) !=
            PROTO_OK)
        return false;
    *v = (struct rview){.id = id, .bytes = bytes, .len = len, .r = &x->rec};
    const uint8_t *target = x->rec.kind == PROTO_KIND_REVOCATION ? x->rec.u.rev.target
                            : x->rec.kind == PROTO_KIND_SIGHTING ? x->rec.u.sight.target
                                                                 : NULL;
    size_t tlen;
    if (target != NULL && g->ops.get(g->ops.ctx, target, x->tbuf, SIGNED_MAX, &tlen) == STORE_OK &&
        tlen > LIMIT_SIG_BYTES &&
        proto_record_decode_known(x->tbuf + LIMIT_SIG_BYTES, tlen - LIMIT_SIG_BYTES, &x->trec) ==
            PROTO_OK)
        v->target = &x->trec;
    return true;
}

/* Loads a stored record by id into scratch()->buf and its view, with the revocation state outgoing
 * items are gated on (the inbound gate leaves that to the store); false when it is not (or no
 * longer) stored, or does not decode. */
static bool view_load_id(struct gossip *g, const uint8_t id[LIMIT_ID_BYTES], struct rview *v)
{
    size_t len;
    uint8_t *buf = scratch()->buf;
    if (g->ops.get(g->ops.ctx, id, buf, SIGNED_MAX, &len) != STORE_OK ||
        !view_load(g, id, buf, len, v))
        return false;
    v->revoked = g->ops.is_revoked(g->ops.ctx, id, v->r->origin) == 1;
    return true;
}

/* THE gate of every outgoing record and id: pushes, WANT answers, announcements (gate_check) and
 * reconciliation sets (gate_may_reveal_id). Counts refusals per peer and verdict. */
static bool gate_out(struct gossip *g, size_t peer, const struct rview *v, bool reveal_only,
                     uint64_t wall_ms)
{
    struct gpeer *p = g->peers[peer];
    assert(p != NULL && v->r != NULL);
    bool has = !reveal_only && v->known != NULL && bit_get(v->known, peer);
    struct gate_record_state st = {.revoked = v->revoked, .sent_to_peer = has,
                                   .received_from_peer = has, .target = v->target};
    enum gate_verdict verdict = reveal_only
                                    ? gate_may_reveal_id(&g->p.self, &p->view, v->r, &st, wall_ms)
                                    : gate_check(&g->p.self, &p->view, v->r, &st, wall_ms);
    if (verdict == GATE_ALLOW)
        return true;
    assert(verdict < GATE_VERDICT_COUNT);
    p->st.refused[verdict]++;
    return false;
}

/* --- per-peer queue of records to send in full --- */

static void push_enqueue(struct gossip *g, size_t peer, const uint8_t id[LIMIT_ID_BYTES])
{
    struct gpeer *p = g->peers[peer];
    if (p->q_len == p->q_cap) {
        if (p->q_cap >= LIMIT_GOSSIP_PUSH_QUEUE) {
            p->st.skipped_backlog++;
            g->tm[peer].soon_pending = true;
            return;
        }
        size_t cap = p->q_cap ? p->q_cap * 2 : 64;
        uint8_t(*nq)[LIMIT_ID_BYTES] = malloc(cap * LIMIT_ID_BYTES);
        if (nq == NULL) {
            p->st.skipped_backlog++;
            g->tm[peer].soon_pending = true;
            return;
        }
        for (size_t i = 0; i < p->q_len; i++) /* unwrap the ring */
            memcpy(nq[i], p->q[(p->q_head + i) % p->q_cap], LIMIT_ID_BYTES);
        free(p->q);
        p->q = nq;
        p->q_cap = cap;
        p->q_head = 0;
    }
    memcpy(p->q[(p->q_head + p->q_len) % p->q_cap], id, LIMIT_ID_BYTES);
    p->q_len++;
    bit_set(g->pending, peer);
}

/* Writes queued records into peer's RECORDS builder while its connection keeps up; each is
 * gated again now (it may have been revoked, expired or reached the peer in between). */
static void drain(struct gossip *g, size_t peer, uint64_t wall_ms)
{
    struct gpeer *p = g->peers[peer];
    for (size_t sent = 0; p->q_len > 0 && sent < LIMIT_GOSSIP_DRAIN_RECORDS; sent++) {
        if (backlogged(g, peer))
            return;
        uint8_t id[LIMIT_ID_BYTES];
        memcpy(id, p->q[p->q_head], LIMIT_ID_BYTES);
        p->q_head = (p->q_head + 1) % p->q_cap;
        p->q_len--;
        struct rview v;
        if (!view_load_id(g, id, &v))
            continue;
        uint64_t *known = recent_known(g, hkey_of(g, id));
        v.known = known;
        if (!gate_out(g, peer, &v, false, wall_ms))
            continue; /* unknown or refused: silently, exactly alike */
        if (!out_add_record(g, peer, &v))
            continue;
        if (known != NULL)
            bit_set(known, peer);
        p->st.records_sent++;
    }
    if (p->q_len == 0 && p->q_cap > 64) { /* an emptied catch-up queue gives its memory back */
        free(p->q);
        p->q = NULL;
        p->q_cap = 0;
        p->q_head = 0;
    }
}

/* Feeds every peer and writes every pending message. Only gossip_flush calls it: whatever one
 * loop turn produced for a peer leaves as one message per type. */
static void pump(struct gossip *g, uint64_t wall_ms)
{
    FOR_EACH_BIT(i, g->pending, g->p.max_peers) {
        assert(peer_up(g, i));
        drain(g, i, wall_ms);
        for (int k = 0; k < N_OUT; k++)
            out_send(g, i, k);
        if (g->peers[i]->q_len == 0)
            bit_clear(g->pending, i);
    }
}

/* --- reconciliation --- */

struct id_list {
    uint8_t (*ids)[LIMIT_ID_BYTES];
    uint64_t *seqs;
    size_t n, cap, max;
    int err;
};

static int collect_id(const uint8_t id[LIMIT_ID_BYTES], const uint8_t *signed_rec, size_t len,
                      uint64_t seq, void *ctx)
{
    struct id_list *l = ctx;
    (void)signed_rec, (void)len;
    if (l->n == l->max)
        return 1;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 256;
        void *ni = realloc(l->ids, cap * LIMIT_ID_BYTES);
        if (ni != NULL)
            l->ids = ni;
        void *ns = ni ? realloc(l->seqs, cap * sizeof *l->seqs) : NULL;
        if (ns == NULL) {
            l->err = GOSSIP_E_NOMEM;
            return 1;
        }
        l->seqs = ns;
        l->cap = cap;
    }
    memcpy(l->ids[l->n], id, LIMIT_ID_BYTES);
    l->seqs[l->n++] = seq;
    return 0;
}

static void id_list_free(struct id_list *l)
{
    free(l->ids);
    free(l->seqs);
    memset(l, 0, sizeof *l);
}

static int item_cmp(const void *a, const void *b)
{
    const struct recon_item *x = a, *y = b;
    if (x->ts != y->ts)
        return x->ts < y->ts ? -1 : 1;
    return memcmp(x->id, y->id, LIMIT_ID_BYTES);
}

/* The set this node reconciles with peer: every stored record the gate lets it reveal to peer. */
static int build_set(struct gossip *g, size_t peer, uint64_t wall_ms, struct recon_item **out,
                     size_t *n_out)
{
    struct id_list l = {.max = LIMIT_RECON_ITEMS};
    /* Ids first, records after: store callbacks may not call the store. */
    int rc = g->ops.iter_seq(g->ops.ctx, 0, collect_id, &l);
    if (rc < 0 || l.err < 0) {
        id_list_free(&l);
        return rc < 0 ? GOSSIP_E_STORE : l.err;
    }
    struct recon_item *items = malloc((l.n ? l.n : 1) * sizeof *items);
    if (items == NULL) {
        id_list_free(&l);
        return GOSSIP_E_NOMEM;
    }
    size_t n = 0;
    for (size_t i = 0; i < l.n; i++) {
        struct rview v;
        if (!view_load_id(g, l.ids[i], &v) || v.r->created_ms == UINT64_MAX ||
            !gate_out(g, peer, &v, true, wall_ms))
            continue;
        EMIT(g, peer, l.ids[i], GOSSIP_EMIT_RECON_ITEM);
        items[n].ts = v.r->created_ms;
        memcpy(items[n++].id, l.ids[i], LIMIT_ID_BYTES);
    }
    id_list_free(&l);
    qsort(items, n, sizeof *items, item_cmp);
    *out = items;
    *n_out = n;
    return GOSSIP_OK;
}

static void recon_stop(struct gossip *g, size_t peer, uint64_t now)
{
    struct gpeer *p = g->peers[peer];
    struct ptimer *t = &g->tm[peer];
    if (!t->rc_active)
        return;
    recon_free(&p->rc);
    free(p->items);
    p->items = NULL;
    t->rc_active = false;
    if (t->next_recon != UINT64_MAX)
        t->next_recon =
            now + (p->recon_again ? LIMIT_RECON_START_DELAY_MS : LIMIT_RECON_INTERVAL_MS);
    p->recon_again = false;
}

/* A view changed (ours of the peer, or our own memberships): records the gate refused before may
 * now go, and records refused inbound may now come, so reconcile soon instead of at the next
 * period. Only the initiator starts rounds; the other side asks it with RECON_REQ. */
static void recon_soon(struct gossip *g, size_t peer, uint64_t now)
{
    struct gpeer *p = g->peers[peer];
    struct ptimer *t = &g->tm[peer];
    if (now < t->soon_after) { /* a burst of changes or overload: one round covers them all */
        t->soon_pending = true;
        return;
    }
    t->soon_pending = false;
    t->soon_after = now + LIMIT_RECON_REQ_MIN_MS;
    if (!p->initiator) {
        static const uint8_t empty[1];
        if (g->io.send(g->io.ctx, peer, GOSSIP_MSG_RECON_REQ, empty, 0) < 0)
            g->st.sent_fail++;
        return;
    }
    if (t->rc_active)
        p->recon_again = true;
    else if (t->next_recon > now + LIMIT_RECON_START_DELAY_MS)
        t->next_recon = now + LIMIT_RECON_START_DELAY_MS;
}

/* The peer's view of us changed. Bounded: one round per LIMIT_RECON_REQ_MIN_MS however often it
 * asks, since a round reads the whole store. */
static int on_recon_req(struct gossip *g, size_t peer, size_t len, uint64_t now)
{
    struct gpeer *p = g->peers[peer];
    struct ptimer *t = &g->tm[peer];
    if (len != 0)
        return GOSSIP_E_MALFORMED;
    if (!p->initiator)
        return GOSSIP_OK; /* both think they answer: cannot happen between honest peers */
    const uint64_t at = now > p->req_after ? now : p->req_after;
    p->req_after = at + LIMIT_RECON_REQ_MIN_MS;
    if (t->rc_active)
        p->recon_again = true;
    else if (t->next_recon > at + LIMIT_RECON_START_DELAY_MS)
        t->next_recon = at + LIMIT_RECON_START_DELAY_MS;
    return GOSSIP_OK;
}

static void recon_send(struct gossip *g, size_t peer, int len)
{
    assert(len > 0 && (size_t)len <= LIMIT_RECON_MSG_BYTES);
    if (g->io.send(g->io.ctx, peer, GOSSIP_MSG_RECON, scratch()->recon_out, (size_t)len) < 0)
        g->st.sent_fail++;
    g->peers[peer]->st.recon_bytes_out += (uint64_t)len;
}

static int recon_start(struct gossip *g, size_t peer, bool initiate, uint64_t wall_ms)
{
    struct gpeer *p = g->peers[peer];
    assert(!g->tm[peer].rc_active);
    size_t n = 0;
    int rc = build_set(g, peer, wall_ms, &p->items, &n);
    if (rc < 0)
        return rc;
    rc = recon_init(&p->rc, p->items, n, LIMIT_RECON_MSG_BYTES);
    if (rc < 0) {
        recon_free(&p->rc);
        free(p->items);
        p->items = NULL;
        glog(g, GOSSIP_LOG_WARN, peer, "reconciliation not started: %s", recon_strerror(rc));
        return GOSSIP_E_NOMEM;
    }
    g->tm[peer].rc_active = true;
    p->st.recon_rounds++;
    if (initiate)
        recon_send(g, peer, recon_initiate(&p->rc, scratch()->recon_out, LIMIT_RECON_MSG_BYTES));
    return GOSSIP_OK;
}

struct diff_ctx {
    struct gossip *g;
    size_t peer;
};

/* The peer lacks a record this node may reveal to it: queue it (gated again when written). The
 * peer's own "have" report brings us what we lack, so needs cost nothing here. */
static void diff_have(void *ctx, const struct recon_item *item)
{
    struct diff_ctx *d = ctx;
    d->g->peers[d->peer]->st.recon_haves++;
    /* The peer lacks it whatever we believed (a copy lost with a session, a wiped restart): a
     * stale "peer has it" bit would make the gate refuse the push (found by simnet). */
    uint64_t *known = recent_known(d->g, hkey_of(d->g, item->id));
    if (known != NULL)
        bit_clear(known, d->peer);
    push_enqueue(d->g, d->peer, item->id);
}

static void diff_need(void *ctx, const struct recon_item *item)
{
    struct diff_ctx *d = ctx;
    (void)item;
    d->g->peers[d->peer]->st.recon_needs++;
}

static int on_recon(struct gossip *g, size_t peer, const uint8_t *body, size_t len,
                    uint64_t now, uint64_t wall_ms)
{
    struct gpeer *p = g->peers[peer];
    p->st.recon_bytes_in += len;
    if (!g->tm[peer].rc_active) { /* the peer starts a round: answer over our current set */
        int rc = recon_start(g, peer, false, wall_ms);
        if (rc < 0)
            return GOSSIP_OK; /* our resource problem, not the peer's fault: it will retry */
    }
    struct diff_ctx d = {g, peer};
    struct recon_diff diff = {diff_have, diff_need, &d};
    int n = recon_respond(&p->rc, body, len, scratch()->recon_out, LIMIT_RECON_MSG_BYTES, &diff);
    if (n < 0) {
        glog(g, GOSSIP_LOG_WARN, peer, "reconciliation message refused at byte %zu: %s",
             p->rc.err_offset, recon_strerror(n));
        recon_stop(g, peer, now);
        return GOSSIP_E_RECON;
    }
    if (n > 0)
        recon_send(g, peer, n);
    if (recon_done(&p->rc))
        recon_stop(g, peer, now);
    return GOSSIP_OK;
}

/* --- receiving --- */

/* Checks a message of u16 count || count items; item_len 0 = RECORDS (u16 length-prefixed). */
static bool well_formed(const uint8_t *b, size_t len, size_t item_len)
{
    if (len < HDR)
        return false;
    size_t n = get_be16(b), off = HDR;
    if (n == 0)
        return false;
    if (item_len != 0)
        return len == HDR + n * item_len;
    for (size_t i = 0; i < n; i++) {
        if (len - off < 2)
            return false;
        size_t l = get_be16(b + off);
        off += 2;
        if (l <= LIMIT_SIG_BYTES || l > SIGNED_MAX || len - off < l)
            return false;
        off += l;
    }
    return off == len;
}

static void note_duplicate(struct gossip *g, size_t peer, struct hkey k, bool stored,
                           uint64_t now)
{
    g->peers[peer]->st.duplicates++;
    g->st.duplicates++;
    if (stored) {
        bit_set(bits_at(g->recent_bits, g->words, recent_add(g, k)), peer);
        return;
    }
    /* Still being verified: remember the sender so that the announcement skips it. */
    uint32_t w = want_add(g, k, now + LIMIT_WANT_TIMEOUT_MS);
    if (w != NIL)
        bit_set(bits_at(g->want_ann, g->words, w), peer);
}

static int on_records(struct gossip *g, size_t peer, const uint8_t *b, size_t len, uint64_t now,
                      uint64_t wall_ms)
{
    if (!well_formed(b, len, 0))
        return GOSSIP_E_MALFORMED;
    struct gpeer *p = g->peers[peer];
    size_t n = get_be16(b), off = HDR;
    struct gossip_job *job = malloc(sizeof *job + n * (sizeof *job->items + sizeof *job->cand));
    if (job == NULL)
        return GOSSIP_E_NOMEM;
    job->items = (struct gossip_job_item *)(job + 1);
    job->cand = (uint32_t *)(job->items + n);
    job->wall_ms = wall_ms;
    job->user = NULL;
    job->n = 0;
    for (size_t i = 0; i < n; i++) {
        size_t l = get_be16(b + off);
        const uint8_t *sr = b + off + 2;
        off += 2 + l;
        uint8_t id[LIMIT_ID_BYTES];
        proto_record_id(sr + LIMIT_SIG_BYTES, l - LIMIT_SIG_BYTES, id);
        p->st.records_received++;
        int has = g->ops.has(g->ops.ctx, id);
        if (has < 0) {
            g->st.store_errors++;
            continue;
        }
        const struct hkey k = hkey_of(g, id);
        if (has == 1 || cand_is_dup(g, k, sr, l)) {
            note_duplicate(g, peer, k, has == 1, now);
            continue;
        }
        uint32_t ci = cand_alloc(g, k, sr, l, peer);
        if (ci == NIL) { /* full: fetch it from this peer later, when verification caught up */
            g->st.dropped_overload++;
            p->st.dropped_overload++;
            uint32_t w = want_add(g, k, now + LIMIT_WANT_TIMEOUT_MS);
            if (w == NIL)
                continue;
            bit_set(bits_at(g->want_ann, g->words, w), peer);
            struct want *e = &g->wants[w];
            if (e->asked == peer) { /* our own WANT's answer: asking again is no new try */
                want_unask(g, e);
                bit_clear(bits_at(g->want_tried, g->words, w), peer);
                e->tries--;
                g->want_dl[w] = now + LIMIT_WANT_TIMEOUT_MS;
            }
            continue;
        }
        job->items[job->n] = (struct gossip_job_item){g->cands[ci].bytes, l, 0, 0};
        job->cand[job->n++] = ci;
    }
    if (job->n == 0) {
        free(job);
        return GOSSIP_OK;
    }
    g->jobs_out++;
    g->st.verify_submitted += job->n;
    g->io.verify(g->io.ctx, job);
    return GOSSIP_OK;
}

/* Asks the next announcer of w that was not asked yet and has room; false when none can be. */
static bool want_ask(struct gossip *g, uint32_t w, uint64_t now)
{
    struct want *e = &g->wants[w];
    uint64_t *ann = bits_at(g->want_ann, g->words, w), *tried = bits_at(g->want_tried, g->words, w);
    for (size_t i = 0; i < g->p.max_peers; i++) {
        if (!bit_get(ann, i) || bit_get(tried, i) || !peer_up(g, i) ||
            g->peers[i]->wants_out >= LIMIT_GOSSIP_WANT_PER_PEER)
            continue;
        if (!out_add_sid(g, i, OUT_WANT, e->sid))
            return false;
        bit_set(tried, i);
        e->tries++;
        e->asked = i;
        g->want_dl[w] = now + LIMIT_WANT_TIMEOUT_MS;
        g->want_next = min_u64(g->want_next, g->want_dl[w]);
        g->peers[i]->wants_out++;
        g->peers[i]->st.want_out++;
        return true;
    }
    return false;
}

struct short_hits {
    uint8_t ids[SHORT_HITS][LIMIT_ID_BYTES];
    size_t n;
};

/* Keeps the first SHORT_HITS ids of a short-id lookup. */
static int collect_short(const uint8_t id[LIMIT_ID_BYTES], const uint8_t *signed_rec, size_t len,
                         uint64_t seq, void *ctx)
{
    struct short_hits *h = ctx;
    (void)signed_rec, (void)len, (void)seq;
    assert(h->n < SHORT_HITS);
    memcpy(h->ids[h->n++], id, LIMIT_ID_BYTES);
    return h->n == SHORT_HITS;
}

static void on_announced(struct gossip *g, size_t peer, const uint8_t sid[SID], uint64_t now)
{
    const struct hkey k = hkey_of(g, sid);
    if (recent_mark_sid(g, k, peer))
        return;
    struct short_hits h = {.n = 0};
    if (g->ops.find_short(g->ops.ctx, sid, collect_short, &h) < 0) {
        g->st.store_errors++;
        return;
    }
    for (size_t i = 0; i < h.n; i++) /* the hash is of the short id they all start with */
        bit_set(bits_at(g->recent_bits, g->words, recent_add(g, (struct hkey){h.ids[i], k.h})),
                peer);
    if (h.n > 0)
        return;
    bool in_flight = cand_has_sid(g, k);
    /* Asked at once below; only a want nobody could be asked for needs the next flush (a
     * deadline of now would make every flush scan the want table). */
    uint32_t w = want_add(g, k, now + LIMIT_WANT_TIMEOUT_MS);
    if (w == NIL) { /* table full: reconciliation with this announcer brings it, soon */
        g->tm[peer].soon_pending = true;
        return;
    }
    bit_set(bits_at(g->want_ann, g->words, w), peer);
    struct want *e = &g->wants[w];
    if (!in_flight && e->asked == NONE && e->tries < LIMIT_GOSSIP_WANT_TRIES &&
        !want_ask(g, w, now)) {
        g->want_dl[w] = now;
        g->want_next = now;
    }
}

static int on_announce(struct gossip *g, size_t peer, const uint8_t *b, size_t len, uint64_t now)
{
    if (!well_formed(b, len, SID))
        return GOSSIP_E_MALFORMED;
    size_t n = get_be16(b);
    g->peers[peer]->st.announce_in += n;
    for (size_t i = 0; i < n; i++)
        on_announced(g, peer, b + HDR + i * SID, now);
    return GOSSIP_OK;
}

/* Queues every record with a wanted short id; drain() gates each, so a refused id gets exactly
 * the answer an unknown one gets: nothing. */
static int on_want(struct gossip *g, size_t peer, const uint8_t *b, size_t len)
{
    if (!well_formed(b, len, SID))
        return GOSSIP_E_MALFORMED;
    size_t n = get_be16(b);
    g->peers[peer]->st.want_in += n;
    for (size_t i = 0; i < n; i++) {
        struct short_hits h = {.n = 0};
        const uint8_t *sid = b + HDR + i * SID;
        if (g->ops.find_short(g->ops.ctx, sid, collect_short, &h) < 0) {
            g->st.store_errors++;
            continue;
        }
        const uint32_t hash = h.n > 0 ? hkey_of(g, sid).h : 0; /* of every hit's first 8 bytes */
        for (size_t j = 0; j < h.n; j++) {
            /* The peer says it lacks it (e.g. it dropped our copy under load): believe it. */
            uint64_t *known = recent_known(g, (struct hkey){h.ids[j], hash});
            if (known != NULL)
                bit_clear(known, peer);
            push_enqueue(g, peer, h.ids[j]);
        }
    }
    return GOSSIP_OK;
}

int gossip_on_message(struct gossip *g, size_t peer, uint8_t type, const uint8_t *body,
                      size_t len, uint64_t now, uint64_t wall_ms)
{
    assert(g != NULL && (body != NULL || len == 0));
    if (peer >= g->p.max_peers)
        return GOSSIP_E_INVAL;
    if (!peer_up(g, peer))
        return GOSSIP_OK; /* a message racing the session's end */
    int rc = GOSSIP_OK;
    switch (type) {
    case GOSSIP_MSG_RECORDS: rc = on_records(g, peer, body, len, now, wall_ms); break;
    case GOSSIP_MSG_ANNOUNCE: rc = on_announce(g, peer, body, len, now); break;
    case GOSSIP_MSG_WANT: rc = on_want(g, peer, body, len); break;
    case GOSSIP_MSG_RECON: rc = on_recon(g, peer, body, len, now, wall_ms); break;
    case GOSSIP_MSG_RECON_REQ: rc = on_recon_req(g, peer, len, now); break;
    default: break; /* a later version's message: ignored */
    }
    if (rc == GOSSIP_E_MALFORMED || rc == GOSSIP_E_RECON) {
        g->peers[peer]->st.malformed++;
        glog(g, GOSSIP_LOG_WARN, peer, "message type %u (%zu bytes): %s", (unsigned)type, len,
             gossip_strerror(rc));
        g->io.close_peer(g->io.ctx, peer, rc);
    }
    return rc;
}

/* --- verification --- */

static int plain_verify(void *ctx, const uint8_t *body, size_t len,
                        const uint8_t sig[LIMIT_SIG_BYTES], const uint8_t origin[LIMIT_KEY_BYTES])
{
    (void)ctx;
    return proto_record_verify(body, len, sig, origin);
}

void gossip_job_run(struct gossip_job *job)
{
    gossip_job_run_with(job, plain_verify, NULL);
}

void gossip_job_run_with(struct gossip_job *job, gossip_verify_fn verify, void *ctx)
{
    /* One decode scratch per thread that runs jobs: a malloc and free of its 28 KiB per job
     * showed in the simnet profile (a job is often one record). */
    static _Thread_local struct proto_record scratch;
    struct proto_record *r = &scratch;
    assert(job != NULL && verify != NULL);
    for (size_t i = 0; i < job->n; i++) {
        struct gossip_job_item *it = &job->items[i];
        assert(it->len > LIMIT_SIG_BYTES);
        const uint8_t *body = it->signed_rec + LIMIT_SIG_BYTES;
        size_t blen = it->len - LIMIT_SIG_BYTES;
        it->result = proto_record_decode(body, blen, r, NULL, 0);
        if (it->result == PROTO_OK) {
            it->kind = r->kind;
            it->result = proto_record_check_time(r, job->wall_ms);
        }
        if (it->result == PROTO_OK)
            it->result = verify(ctx, body, blen, it->signed_rec, r->origin);
    }
}

/* A peer that sends a record failing decode or signature is not an honest relay (relays verify
 * before forwarding): its session ends. Time refusals are not its fault (clocks, travel time). */
static void verify_failed(struct gossip *g, const struct cand *c, int result, uint64_t now)
{
    bool time = result == PROTO_E_FUTURE || result == PROTO_E_EXPIRED;
    if (time)
        g->st.refused_time++;
    else if (result == PROTO_E_SIGNATURE)
        g->st.verify_forged++;
    else
        g->st.verify_malformed++;
    uint32_t w = want_find(g, (struct hkey){c->id, c->h});
    if (w != NIL && g->wants[w].asked == c->from) { /* ask another announcer now */
        want_unask(g, &g->wants[w]);
        g->want_dl[w] = now;
        g->want_next = now;
    }
    if (c->from == GOSSIP_LOCAL || !peer_up(g, c->from) || g->peers[c->from]->gen != c->from_gen)
        return;
    struct gpeer *p = g->peers[c->from];
    if (time) {
        p->st.refused_time++;
        return;
    }
    p->st.forged++;
    glog(g, GOSSIP_LOG_WARN, c->from, "record %02x%02x%02x%02x...: %s", c->id[0], c->id[1],
         c->id[2], c->id[3], proto_strerror(result));
    g->io.close_peer(g->io.ctx, c->from, GOSSIP_E_FORGED);
}

/* The views the inbound gate runs on, rebuilt when the self or a peer view changes. */
static void inbound_views(struct gossip *g, struct gpeer *p)
{
    const struct gate_self *self = &g->p.self;
    g->me = (struct gate_peer){.authenticated = true, .relation = GATE_RELATION_CLIENT,
                               .ceiling = PROTO_TLP_RED, .n_communities = self->n_communities};
    memcpy(g->me.key, self->key, LIMIT_KEY_BYTES);
    memcpy(g->me.org, self->org, sizeof g->me.org);
    memcpy(g->me.communities, self->communities, sizeof g->me.communities);
    if (p == NULL)
        return;
    p->sender = (struct gate_self){.n_communities = 0}; /* communities: see inbound_check */
    memcpy(p->sender.key, p->view.key, LIMIT_KEY_BYTES);
    memcpy(p->sender.org, p->view.org, sizeof p->sender.org);
}

/* A roster names its members, and its audience is the community itself: a new member receives
 * the roster before it can know it is one. Counted for this node only when the roster lists it. */
static void roster_membership(char list[][LIMIT_NAME_BYTES + 1], uint8_t *n,
                              const struct proto_record *r, const uint8_t key[LIMIT_KEY_BYTES])
{
    if (r->kind != PROTO_KIND_ROSTER || *n >= LIMIT_GATE_MEMBERSHIPS)
        return;
    const struct proto_roster *ro = &r->u.roster;
    assert(ro->n_members <= LIMIT_ROSTER_MEMBERS);
    for (size_t i = 0; i < ro->n_members; i++)
        if (memcmp(ro->members[i].key, key, LIMIT_KEY_BYTES) == 0) {
            memcpy(list[(*n)++], ro->name, LIMIT_NAME_BYTES + 1);
            return;
        }
}

/* Membership in the sender's favour: every community r and its target (may be NULL) name. */
static void favour_members(char list[][LIMIT_NAME_BYTES + 1], uint8_t *n,
                           const struct proto_record *r, const struct proto_record *target)
{
    _Static_assert(2 * LIMIT_AUDIENCE_COMMUNITIES <= LIMIT_GATE_MEMBERSHIPS,
                   "a record's and its target's communities fit a membership list");
    const struct proto_record *both[2] = {r, target};
    for (size_t k = 0; k < 2 && both[k] != NULL; k++) {
        const struct proto_audience *a = &both[k]->audience;
        assert(a->n_communities <= LIMIT_AUDIENCE_COMMUNITIES);
        for (unsigned i = 0; i < a->n_communities; i++)
            memcpy(list[(*n)++], a->communities[i], LIMIT_NAME_BYTES + 1);
    }
}

/* The inbound gate: could the sending peer have been allowed to send c to this node? The gate
 * runs from the sender's side: self = the sender as this node knows it (key and organisation of
 * its view), peer = this node. What only the sender knows (its ceiling for us, whether we are its
 * client, which communities it is in) is taken in its favour, so that an honest peer is never
 * refused for long; whether WE are in the audience is decided by what we know. */
enum { INBOUND_ALLOW, INBOUND_REFUSE, INBOUND_GONE };

static int inbound_check(struct gossip *g, const struct cand *c, uint64_t wall_ms)
{
    if (c->from == GOSSIP_LOCAL)
        return INBOUND_ALLOW;
    if (!peer_up(g, c->from) || g->peers[c->from]->gen != c->from_gen)
        return INBOUND_GONE; /* the sender's view may have gone with its session: fail closed */
    struct rview v;
    if (!view_load(g, c->id, c->bytes, c->len, &v))
        return INBOUND_REFUSE; /* verified bodies decode: unreachable short of a bug */
    if (v.r->kind == PROTO_KIND_SIGHTING && v.target == NULL)
        return INBOUND_ALLOW; /* who may learn an unknown target's id: only the sender knows */
    /* The sender's memberships are its own business (its config, rosters we may not hold: a
     * client holds none), so it counts as a member of every community the record names. Ours
     * are not taken on its word: a byzantine peer would otherwise hand any community record to
     * anyone. We count as a member by our own trusted rosters, or by the roster being delivered
     * when it lists us. A record refused here for want of a roster we receive later comes again
     * with the reconciliation that a change of our memberships starts (gossip_set_self). */
    const struct gate_self *sender = &g->peers[c->from]->sender;
    const struct gate_peer *me = &g->me;
    if (v.r->audience.n_communities > 0 ||
        (v.target != NULL && v.target->audience.n_communities > 0)) {
        g->in_sender = *sender; /* 4 KiB: copied only when there is something to add */
        favour_members(g->in_sender.communities, &g->in_sender.n_communities, v.r, v.target);
        sender = &g->in_sender;
    }
    if (v.r->kind == PROTO_KIND_ROSTER) {
        g->in_me = g->me;
        roster_membership(g->in_me.communities, &g->in_me.n_communities, v.r, g->me.key);
        me = &g->in_me;
    }
    struct gate_record_state st = {.target = v.target}; /* revoked: the store refuses it */
    return gate_check(sender, me, v.r, &st, wall_ms) == GATE_ALLOW ? INBOUND_ALLOW
                                                                   : INBOUND_REFUSE;
}

void gossip_on_verified(struct gossip *g, struct gossip_job *job, uint64_t now, uint64_t wall_ms)
{
    assert(g != NULL && job != NULL && g->jobs_out > 0);
    g->jobs_out--;
    for (size_t i = 0; i < job->n; i++) {
        uint32_t ci = job->cand[i];
        struct cand *c = &g->cands[ci];
        assert(c->state == CAND_VERIFYING);
        if (job->items[i].result != PROTO_OK) {
            verify_failed(g, c, job->items[i].result, now);
            cand_release(g, ci);
            continue;
        }
        g->st.verify_ok++;
        int in = inbound_check(g, c, wall_ms);
        if (in == INBOUND_GONE) {
            cand_release(g, ci); /* reconciliation or another announcer brings it again */
            continue;
        }
        if (in == INBOUND_REFUSE) {
            g->st.refused_inbound++;
            g->peers[c->from]->st.refused_inbound++;
            glog(g, GOSSIP_LOG_WARN, c->from, "record %02x%02x%02x%02x...: not allowed to us",
                 c->id[0], c->id[1], c->id[2], c->id[3]);
            cand_release(g, ci);
            continue;
        }
        if (cand_verified(g, (struct hkey){c->id, c->h})) { /* two good copies: first wins */
            g->st.duplicates++;
            cand_release(g, ci);
            continue;
        }
        c->state = CAND_VERIFIED;
        c->kind = job->items[i].kind;
        assert(g->ver_len < g->cand_cap);
        g->verified[(g->ver_head + g->ver_len++) % g->cand_cap] = ci;
    }
    free(job);
}

/* --- commit and dissemination --- */

static void own_add(struct gossip *g, uint64_t seq)
{
    if (g->n_own > 0 && g->own[g->n_own - 1].hi + 1 == seq) {
        g->own[g->n_own - 1].hi = seq;
        return;
    }
    if (g->n_own == LIMIT_GOSSIP_OWN_RANGES) { /* forgetting one only re-pushes (gated) records */
        memmove(&g->own[0], &g->own[1], (g->n_own - 1) * sizeof g->own[0]);
        g->n_own--;
    }
    g->own[g->n_own].lo = seq;
    g->own[g->n_own++].hi = seq;
}

static bool own_covers(const struct gossip *g, uint64_t seq)
{
    for (size_t i = 0; i < g->n_own; i++)
        if (seq >= g->own[i].lo && seq <= g->own[i].hi)
            return true;
    return false;
}

/* Announcements leave on a grid of LIMIT_ANNOUNCE_TICK_MS steps, one to two steps after the
 * commit: what one step committed reaches each peer in a single ANNOUNCE (Bitcoin's "trickle"),
 * so a busy relay sends a few large messages instead of one frame per record, and the wait lets
 * the peers' own announcements of the same records arrive first. */
static uint64_t announce_slot(uint64_t now)
{
    return (now / LIMIT_ANNOUNCE_TICK_MS + 2) * LIMIT_ANNOUNCE_TICK_MS;
}

static void announce_later(struct gossip *g, const uint8_t id[LIMIT_ID_BYTES], uint64_t due)
{
    if (g->ann_len == g->ann_cap) {
        g->st.announce_dropped++;
        g->backlog_recon = true; /* reconciliation carries it: soon, not at the next period */
        return;
    }
    if (g->ann_len == 0)
        g->ann_due = due;
    struct ann *a = &g->anns[(g->ann_head + g->ann_len++) % g->ann_cap];
    memcpy(a->id, id, LIMIT_ID_BYTES);
    a->due = due;
}

/* After the commit: who has it (the sender and every announcer), the store hook, the
 * announcement. */
static void committed(struct gossip *g, const struct cand *c, uint64_t now)
{
    const struct hkey k = {c->id, c->h};
    uint64_t *has = bits_at(g->recent_bits, g->words, recent_add(g, k));
    if (c->from != GOSSIP_LOCAL)
        bit_set(has, c->from);
    uint32_t w = want_find(g, k);
    if (w != NIL) {
        const uint64_t *ann = bits_at(g->want_ann, g->words, w);
        for (size_t i = 0; i < g->words; i++)
            has[i] |= ann[i];
        want_remove(g, w);
    }
    if (g->io.stored != NULL)
        g->io.stored(g->io.ctx, c->id, c->kind);
    announce_later(g, c->id, announce_slot(now));
}

/* One durable write transaction for up to LIMIT_GOSSIP_COMMIT_BATCH verified records. */
static int commit_batch(struct gossip *g, uint64_t now, uint64_t wall_ms)
{
    struct store_put *items = g->commit_items;
    uint32_t *cis = g->commit_cis;
    size_t n = g->ver_len < g->commit_cap ? g->ver_len : g->commit_cap;
    for (size_t i = 0; i < n; i++) {
        cis[i] = g->verified[g->ver_head];
        g->ver_head = (g->ver_head + 1) % g->cand_cap;
        g->ver_len--;
        const struct cand *c = &g->cands[cis[i]];
        items[i] = (struct store_put){.signed_rec = c->bytes, .len = c->len, .rec = NULL,
                                      .added_us = wall_ms * 1000};
        memcpy(items[i].id, c->id, LIMIT_ID_BYTES);
    }
    int rc = g->ops.put_batch(g->ops.ctx, items, n);
    if (rc < 0) {
        g->st.store_errors += n;
        glog(g, GOSSIP_LOG_WARN, GOSSIP_LOCAL, "commit of %zu records failed: %s", n,
             store_strerror(rc));
    }
    for (size_t i = 0; i < n; i++) {
        if (rc == STORE_OK && items[i].result == STORE_PUT_ADDED) {
            g->st.stored++;
            own_add(g, items[i].seq);
            committed(g, &g->cands[cis[i]], now);
        } else if (rc == STORE_OK) {
            uint64_t *count = items[i].result == STORE_PUT_REVOKED ? &g->st.store_revoked
                                                                   : &g->st.store_duplicates;
            (*count)++;
        }
        cand_release(g, cis[i]);
    }
    return rc < 0 ? GOSSIP_E_STORE : GOSSIP_OK;
}

/* Is some connected peer not known to have id? Saves a store read and decode when every peer
 * has it (the common case in a dense mesh). */
static bool someone_lacks(const struct gossip *g, const uint64_t *has)
{
    if (has == NULL)
        return true;
    for (size_t i = 0; i < g->words; i++)
        if ((g->up[i] & ~has[i]) != 0)
            return true;
    return false;
}

static void announce_due(struct gossip *g, uint64_t now, uint64_t wall_ms)
{
    while (g->ann_due <= now) {
        assert(g->ann_len > 0);
        uint8_t id[LIMIT_ID_BYTES];
        memcpy(id, g->anns[g->ann_head].id, LIMIT_ID_BYTES);
        g->ann_head = (g->ann_head + 1) % g->ann_cap;
        g->ann_len--;
        g->ann_due = g->ann_len > 0 ? g->anns[g->ann_head].due : UINT64_MAX;
        struct rview v;
        uint64_t *known = recent_known(g, hkey_of(g, id));
        if (!someone_lacks(g, known) || !view_load_id(g, id, &v))
            continue;
        v.known = known;
        FOR_EACH_BIT(i, g->up, g->p.max_peers) {
            if (!gate_out(g, i, &v, false, wall_ms))
                continue;
            if (backlogged(g, i)) {
                g->peers[i]->st.skipped_backlog++;
                g->tm[i].soon_pending = true;
                continue;
            }
            EMIT(g, i, id, GOSSIP_EMIT_ANNOUNCE);
            if (out_add_sid(g, i, OUT_ANNOUNCE, id))
                g->peers[i]->st.announce_out++;
        }
    }
}

/* Timed-out or unasked wants go to the next announcer; after LIMIT_GOSSIP_WANT_TRIES, or with
 * nobody left to ask, the want is dropped and reconciliation brings the record. */
/* Nobody answered: reconciliation with the peers that announced it brings it, soon. */
static void want_give_up(struct gossip *g, uint32_t w)
{
    const uint64_t *ann = bits_at(g->want_ann, g->words, w);
    FOR_EACH_BIT(i, g->up, g->p.max_peers)
        if (bit_get(ann, i))
            g->tm[i].soon_pending = true;
    want_remove(g, w);
}

static void wants_due(struct gossip *g, uint64_t now)
{
    if (g->n_wants == 0 || now < g->want_next)
        return;
    uint64_t next = UINT64_MAX;
    /* Ask no more than verification can take now; the rest waits, without using a try. */
    size_t budget = g->cand_cap - g->n_cands;
    for (uint32_t w = 0; w < g->want_cap; w++) {
        if (g->want_dl[w] <= now) {
            struct want *e = &g->wants[w];
            assert(e->used);
            want_unask(g, e);
            if (cand_has_sid(g, hkey_of(g, e->sid)) || budget == 0) /* arrived / busy */
                g->want_dl[w] = now + LIMIT_WANT_TIMEOUT_MS;
            else if (e->tries >= LIMIT_GOSSIP_WANT_TRIES || !want_ask(g, w, now))
                want_give_up(g, w); /* its deadline is UINT64_MAX now */
            else
                budget--;
        }
        next = min_u64(next, g->want_dl[w]);
    }
    g->want_next = next;
}

static void recon_due(struct gossip *g, uint64_t now, uint64_t wall_ms)
{
    FOR_EACH_BIT(i, g->up, g->p.max_peers) {
        struct ptimer *t = &g->tm[i];
        if (!t->rc_active && t->next_recon <= now && recon_start(g, i, true, wall_ms) < 0)
            t->next_recon = now + LIMIT_RECON_INTERVAL_MS;
    }
}

int gossip_flush(struct gossip *g, uint64_t now, uint64_t wall_ms)
{
    assert(g != NULL);
    int rc = GOSSIP_OK;
    /* Bounded: the ring holds at most cand_cap records. */
    while (g->ver_len > 0)
        if (commit_batch(g, now, wall_ms) < 0)
            rc = GOSSIP_E_STORE;
    announce_due(g, now, wall_ms);
    wants_due(g, now);
    /* What was refused or dropped for a reason that may have passed comes by reconciliation. */
    const bool all = g->self_changed || g->backlog_recon;
    g->self_changed = g->backlog_recon = false;
    FOR_EACH_BIT(i, g->up, g->p.max_peers)
        if (all || (g->tm[i].soon_pending && now >= g->tm[i].soon_after))
            recon_soon(g, i, now);
    recon_due(g, now, wall_ms);
    pump(g, wall_ms);
    return rc;
}

/* --- local records --- */

int gossip_local_scan(struct gossip *g, uint64_t now, uint64_t wall_ms)
{
    assert(g != NULL);
    (void)now;
    for (;;) {
        struct id_list l = {.max = SCAN_CHUNK};
        int rc = g->ops.iter_seq(g->ops.ctx, g->scan_seq, collect_id, &l);
        if (rc < 0 || l.err < 0) {
            id_list_free(&l);
            return rc < 0 ? GOSSIP_E_STORE : l.err;
        }
        for (size_t i = 0; i < l.n; i++) {
            g->scan_seq = l.seqs[i];
            struct rview v;
            if (own_covers(g, l.seqs[i]) || !view_load_id(g, l.ids[i], &v))
                continue;
            g->st.local_pushed++;
            uint32_t e = recent_add(g, hkey_of(g, l.ids[i]));
            v.known = bits_at(g->recent_bits, g->words, e);
            FOR_EACH_BIT(p, g->up, g->p.max_peers)
                if (gate_out(g, p, &v, false, wall_ms))
                    push_enqueue(g, p, l.ids[i]);
        }
        size_t got = l.n;
        id_list_free(&l);
        if (got < SCAN_CHUNK)
            break;
    }
    size_t keep = 0;
    for (size_t i = 0; i < g->n_own; i++)
        if (g->own[i].hi > g->scan_seq)
            g->own[keep++] = g->own[i];
    g->n_own = keep;
    return GOSSIP_OK;
}

/* --- peers --- */

static void forget_peer_bits(struct gossip *g, size_t peer)
{
    for (size_t e = 0; e < g->recent_cap; e++)
        bit_clear(bits_at(g->recent_bits, g->words, e), peer);
    for (size_t w = 0; w < g->want_cap; w++) {
        bit_clear(bits_at(g->want_ann, g->words, w), peer);
        bit_clear(bits_at(g->want_tried, g->words, w), peer);
    }
}

int gossip_peer_up(struct gossip *g, size_t peer, const struct gate_peer *view, uint64_t now)
{
    assert(g != NULL && view != NULL);
    if (peer >= g->p.max_peers)
        return GOSSIP_E_INVAL;
    struct gpeer *p = g->peers[peer];
    if (p == NULL) {
        p = calloc(1, sizeof *p);
        if (p == NULL)
            return GOSSIP_E_NOMEM;
        g->peers[peer] = p;
    }
    const bool up = bit_get(g->up, peer);
    const bool changed = up && memcmp(&p->view, view, sizeof *view) != 0;
    p->view = *view;
    inbound_views(g, p);
    if (changed)
        recon_soon(g, peer, now);
    if (up)
        return GOSSIP_OK;
    if (p->keyed && memcmp(p->key, view->key, LIMIT_KEY_BYTES) != 0) {
        forget_peer_bits(g, peer); /* the slot now belongs to another node */
        memset(&p->st, 0, sizeof p->st);
    }
    memcpy(p->key, view->key, LIMIT_KEY_BYTES);
    p->keyed = true;
    bit_set(g->up, peer);
    p->gen++;
    p->st.up = true;
    p->st.sessions++;
    p->initiator = memcmp(g->p.self.key, view->key, LIMIT_KEY_BYTES) < 0;
    p->recon_again = false;
    p->req_after = now;
    assert(!g->tm[peer].rc_active);
    g->tm[peer] = (struct ptimer){
        .next_recon = p->initiator ? now + LIMIT_RECON_START_DELAY_MS : UINT64_MAX,
        .soon_after = now, .soon_pending = false, .rc_active = false};
    return GOSSIP_OK;
}

void gossip_peer_down(struct gossip *g, size_t peer)
{
    assert(g != NULL);
    if (peer >= g->p.max_peers || !peer_up(g, peer))
        return;
    struct gpeer *p = g->peers[peer];
    recon_stop(g, peer, 0);
    bit_clear(g->up, peer);
    bit_clear(g->pending, peer);
    p->st.up = false;
    free(p->q);
    p->q = NULL;
    p->q_cap = p->q_len = p->q_head = 0;
    for (int k = 0; k < N_OUT; k++) {
        free(p->out[k].b);
        p->out[k] = (struct obuf){NULL, 0, 0, 0};
    }
    for (uint32_t w = 0; w < g->want_cap; w++) /* re-ask what this peer owed us elsewhere */
        if (g->wants[w].used && g->wants[w].asked == peer) {
            want_unask(g, &g->wants[w]);
            g->want_dl[w] = 0;
            g->want_next = 0;
        }
    assert(p->wants_out == 0);
}

void gossip_set_self(struct gossip *g, const struct gate_self *self)
{
    assert(g != NULL && self != NULL);
    g->self_changed = g->self_changed || memcmp(&g->p.self, self, sizeof *self) != 0;
    g->p.self = *self;
    inbound_views(g, NULL);
}

/* --- lifetime and introspection --- */

static size_t cap_or(size_t v, size_t dflt)
{
    return v == 0 || v > dflt ? dflt : v;
}

int gossip_new(struct gossip **out, const struct gossip_params *p,
               const struct gossip_store_ops *store, const struct gossip_io *io)
{
    assert(out != NULL && p != NULL && store != NULL && io != NULL);
    if (p->max_peers == 0 || p->max_peers > LIMIT_PEERS || io->send == NULL ||
        io->close_peer == NULL || io->verify == NULL)
        return GOSSIP_E_INVAL;
    struct gossip *g = calloc(1, sizeof *g);
    if (g == NULL)
        return GOSSIP_E_NOMEM;
    g->p = *p;
    g->ops = *store;
    g->io = *io;
    g->words = (p->max_peers + 63) / 64;
    g->cand_cap = cap_or(p->cand_cap, LIMIT_GOSSIP_CANDIDATES);
    g->recent_cap = cap_or(p->recent_cap, LIMIT_GOSSIP_RECENT);
    g->want_cap = cap_or(p->want_cap, LIMIT_GOSSIP_WANTS);
    g->ann_cap = cap_or(p->announce_cap, LIMIT_GOSSIP_ANNOUNCE_QUEUE);
    g->scan_seq = p->start_seq;
    inbound_views(g, NULL);
    g->want_next = UINT64_MAX;
    g->ann_due = UINT64_MAX;
    g->peers = calloc(p->max_peers, sizeof *g->peers);
    g->tm = calloc(p->max_peers, sizeof *g->tm);
    g->cands = calloc(g->cand_cap, sizeof *g->cands);
    g->verified = calloc(g->cand_cap, sizeof *g->verified);
    g->recent = calloc(g->recent_cap, sizeof *g->recent);
    g->recent_bits = calloc(g->recent_cap * g->words, sizeof *g->recent_bits);
    g->wants = calloc(g->want_cap, sizeof *g->wants);
    g->want_dl = malloc(g->want_cap * sizeof *g->want_dl);
    g->want_ann = calloc(g->want_cap * g->words, sizeof *g->want_ann);
    g->want_tried = calloc(g->want_cap * g->words, sizeof *g->want_tried);
    g->anns = calloc(g->ann_cap, sizeof *g->anns);
    g->commit_cap = g->cand_cap < LIMIT_GOSSIP_COMMIT_BATCH ? g->cand_cap
                                                            : LIMIT_GOSSIP_COMMIT_BATCH;
    g->commit_items = malloc(g->commit_cap * sizeof *g->commit_items);
    g->commit_cis = malloc(g->commit_cap * sizeof *g->commit_cis);
    int rc = GOSSIP_OK;
    if (!g->peers || !g->tm || !g->cands || !g->verified || !g->recent || !g->recent_bits ||
        !g->wants || !g->want_dl || !g->want_ann || !g->want_tried || !g->anns ||
        !g->commit_items || !g->commit_cis)
        rc = GOSSIP_E_NOMEM;
    if (rc == GOSSIP_OK)
        rc = idx_init(&g->cand_idx, g->cand_cap);
    if (rc == GOSSIP_OK)
        rc = idx_init(&g->recent_idx, g->recent_cap);
    if (rc == GOSSIP_OK)
        rc = idx_init(&g->want_idx, g->want_cap);
    if (rc != GOSSIP_OK) {
        gossip_free(g);
        return rc;
    }
    for (size_t i = 0; i < g->cand_cap; i++)
        g->cands[i].next_free = i + 1 < g->cand_cap ? (uint32_t)(i + 1) : NIL;
    for (size_t i = 0; i < g->want_cap; i++) {
        g->wants[i].next_free = i + 1 < g->want_cap ? (uint32_t)(i + 1) : NIL;
        g->want_dl[i] = UINT64_MAX;
    }
    g->cand_free = 0;
    g->want_free = 0;
    *out = g;
    return GOSSIP_OK;
}

void gossip_free(struct gossip *g)
{
    if (g == NULL)
        return;
    assert(g->jobs_out == 0);
    for (size_t i = 0; g->peers && i < g->p.max_peers; i++) {
        if (g->peers[i] == NULL)
            continue;
        gossip_peer_down(g, i);
        free(g->peers[i]);
    }
    for (size_t i = 0; g->cands && i < g->cand_cap; i++)
        free(g->cands[i].bytes);
    free(g->peers);
    free(g->tm);
    free(g->cands);
    free(g->verified);
    free(g->cand_idx.slot);
    free(g->recent);
    free(g->recent_bits);
    free(g->recent_idx.slot);
    free(g->wants);
    free(g->want_dl);
    free(g->want_ann);
    free(g->want_tried);
    free(g->want_idx.slot);
    free(g->anns);
    free(g->commit_items);
    free(g->commit_cis);
    free(g);
}

uint64_t gossip_next_deadline(const struct gossip *g)
{
    assert(g != NULL);
    if (g->ver_len > 0)
        return 0;
    uint64_t next = g->n_wants > 0 ? g->want_next : UINT64_MAX;
    next = min_u64(next, g->ann_due);
    FOR_EACH_BIT(i, g->up, g->p.max_peers) {
        const struct ptimer *t = &g->tm[i];
        if (bit_get(g->pending, i) && g->peers[i]->q_len > 0 && !backlogged(g, i))
            return 0;
        if (!t->rc_active)
            next = min_u64(next, t->next_recon);
        if (t->soon_pending)
            next = min_u64(next, t->soon_after);
    }
    return next;
}

bool gossip_idle(const struct gossip *g)
{
    assert(g != NULL);
    if (g->jobs_out || g->n_cands || g->ann_len || g->n_wants)
        return false;
    FOR_EACH_BIT(i, g->up, g->p.max_peers)
        if (g->tm[i].rc_active || (bit_get(g->pending, i) && g->peers[i]->q_len > 0))
            return false;
    return true;
}

const struct gossip_stats *gossip_stats(const struct gossip *g)
{
    return &g->st;
}

const struct gossip_peer_stats *gossip_peer_stats(const struct gossip *g, size_t peer)
{
    assert(g != NULL);
    return peer < g->p.max_peers && g->peers[peer] ? &g->peers[peer]->st : NULL;
}

/* --- the LMDB adapter --- */

static int lm_has(void *ctx, const uint8_t id[LIMIT_ID_BYTES])
{
    return store_has(((struct gossip_lmdb *)ctx)->s, id);
}

static int lm_get(void *ctx, const uint8_t id[LIMIT_ID_BYTES], uint8_t *buf, size_t cap,
                  size_t *len)
{
    return store_get(((struct gossip_lmdb *)ctx)->s, id, buf, cap, len, NULL);
}

static int lm_find_short(void *ctx, const uint8_t sid[GOSSIP_SHORT_ID_BYTES], store_record_cb cb,
                         void *cb_ctx)
{
    return store_find_prefix(((struct gossip_lmdb *)ctx)->s, sid, GOSSIP_SHORT_ID_BYTES, cb,
                             cb_ctx);
}

/* items[].rec is NULL: the store decodes each body into one scratch record (store.h). */
static int lm_put_batch(void *ctx, struct store_put *items, size_t n)
{
    return store_put_batch(((struct gossip_lmdb *)ctx)->s, items, n);
}

static int lm_is_revoked(void *ctx, const uint8_t id[LIMIT_ID_BYTES],
                         const uint8_t origin[LIMIT_KEY_BYTES])
{
    return store_is_revoked(((struct gossip_lmdb *)ctx)->s, id, origin);
}

static int lm_iter_seq(void *ctx, uint64_t since, store_record_cb cb, void *cb_ctx)
{
    return store_iter_seq(((struct gossip_lmdb *)ctx)->s, since, cb, cb_ctx);
}

int gossip_lmdb_init(struct gossip_lmdb *a, struct store *s, struct gossip_store_ops *ops)
{
    assert(a != NULL && s != NULL && ops != NULL);
    a->s = s;
    *ops = (struct gossip_store_ops){.ctx = a, .has = lm_has, .get = lm_get,
                                     .find_short = lm_find_short, .put_batch = lm_put_batch,
                                     .is_revoked = lm_is_revoked, .iter_seq = lm_iter_seq};
    return GOSSIP_OK;
}

void gossip_lmdb_free(struct gossip_lmdb *a)
{
    if (a == NULL)
        return;
    a->s = NULL;
}
