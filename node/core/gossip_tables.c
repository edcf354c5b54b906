/* gossip_tables.c - the candidate and recent tables of gossip (gossip_int.h): which records are
 * being verified or wait for their commit, and which peers are known to have a recent id.
 */
#include "node/core/gossip_int.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

/* --- candidates --- */

/* A candidate keeps its hash: one is released for every record received. */
static uint64_t cand_hash(const void *g, size_t ci)
{
    return ((const struct gossip *)g)->cands[ci].h;
}

/* The table grows on demand up to cand_cap (a simulated node holds a few dozen; the daemon's cap
 * is 65536 x 80 bytes). The new entries join the free list in index order, so entries are handed
 * out in the order a table allocated whole would give them. Only when every entry is in use:
 * the index is rebuilt from entries 0..cand_alloc-1, all present. */
static bool cand_grow(struct gossip *g)
{
    size_t cap = g->cand_alloc ? 2 * g->cand_alloc : 16;
    cap = cap < g->cand_cap ? cap : g->cand_cap;
    assert(g->cand_free == NIL && g->n_cands == g->cand_alloc && cap > g->cand_alloc);
    struct cand *c = realloc(g->cands, cap * sizeof *c);
    if (c == NULL)
        return false;
    g->cands = c;
    if (!idindex_grow(&g->cand_idx, cap, g->cand_alloc, cand_hash, g))
        return false;
    memset(c + g->cand_alloc, 0, (cap - g->cand_alloc) * sizeof *c);
    for (size_t i = g->cand_alloc; i < cap; i++)
        c[i].next_free = i + 1 < cap ? (uint32_t)(i + 1) : NIL;
    g->cand_free = (uint32_t)g->cand_alloc;
    g->cand_alloc = cap;
    return true;
}

uint32_t gossip_cand_alloc(struct gossip *g, struct hkey k, const uint8_t *bytes, size_t len,
                           size_t from)
{
    if (g->cand_free == NIL && (g->cand_alloc == g->cand_cap || !cand_grow(g)))
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
    idindex_put(&g->cand_idx, k.h, ci);
    g->n_cands++;
    if (from != GOSSIP_LOCAL)
        g->peers[from]->held++;
    return ci;
}

void gossip_cand_release(struct gossip *g, uint32_t ci)
{
    struct cand *c = &g->cands[ci];
    assert(c->state != CAND_FREE && g->n_cands > 0);
    idindex_del(&g->cand_idx, ci, cand_hash, g);
    free(c->bytes);
    c->bytes = NULL;
    c->state = CAND_FREE;
    c->next_free = g->cand_free;
    g->cand_free = ci;
    g->n_cands--;
    if (c->from != GOSSIP_LOCAL) {
        assert(g->peers[c->from]->held > 0);
        g->peers[c->from]->held--;
    }
}

size_t gossip_cand_share(const struct gossip *g)
{
    size_t up = 0;
    for (size_t w = 0; w < g->words; w++)
        up += (size_t)__builtin_popcountll(g->up[w]);
    return g->cand_cap / (up > 0 ? up : 1);
}

/* Is a copy of id already verified, or these very bytes being verified, or too many copies in
 * flight? Then this copy is a duplicate. A different copy (another signature) is verified too,
 * so a forged copy that came first cannot shadow the genuine one. */
bool gossip_cand_is_dup(const struct gossip *g, struct hkey k, const uint8_t *bytes, size_t len)
{
    if (g->n_cands == 0) /* also: no index yet */
        return false;
    size_t copies = 0, s = idindex_home(&g->cand_idx, k.h);
    for (uint32_t ci; (ci = idindex_next(&g->cand_idx, k.h, &s)) != IDINDEX_NONE;) {
        const struct cand *c = &g->cands[ci];
        if (memcmp(c->id, k.id, LIMIT_ID_BYTES) != 0)
            continue;
        if (c->state == CAND_VERIFIED || (c->len == len && memcmp(c->bytes, bytes, len) == 0))
            return true;
        copies++;
    }
    return copies >= LIMIT_GOSSIP_COPIES_PER_ID;
}

bool gossip_cand_has_sid(const struct gossip *g, struct hkey k)
{
    if (g->n_cands == 0)
        return false;
    size_t s = idindex_home(&g->cand_idx, k.h);
    for (uint32_t ci; (ci = idindex_next(&g->cand_idx, k.h, &s)) != IDINDEX_NONE;)
        if (memcmp(g->cands[ci].id, k.id, SID) == 0)
            return true;
    return false;
}

bool gossip_cand_verified(const struct gossip *g, struct hkey k)
{
    if (g->n_cands == 0)
        return false;
    size_t s = idindex_home(&g->cand_idx, k.h);
    for (uint32_t ci; (ci = idindex_next(&g->cand_idx, k.h, &s)) != IDINDEX_NONE;) {
        const struct cand *c = &g->cands[ci];
        if (c->state == CAND_VERIFIED && memcmp(c->id, k.id, LIMIT_ID_BYTES) == 0)
            return true;
    }
    return false;
}

/* --- recent: who has what --- */

/* A full table evicts one entry per new id: its hash and those of the entries shifted after it
 * are computed again here (a SipHash of 8 bytes each: cheaper than 8 bytes more per entry of a
 * table that is full in any long run). */
static uint64_t recent_hash(const void *gv, size_t e)
{
    const struct gossip *g = gv;
    return idindex_hash(g->p.hash_key, g->recent[e].id);
}

static uint32_t recent_find(const struct gossip *g, struct hkey k)
{
    size_t s = idindex_home(&g->recent_idx, k.h);
    for (uint32_t e; (e = idindex_next(&g->recent_idx, k.h, &s)) != IDINDEX_NONE;)
        if (memcmp(g->recent[e].id, k.id, RECENT_ID_BYTES) == 0)
            return e;
    return NIL;
}

/* The entry of id, created (evicting the oldest) if missing. */
uint32_t gossip_recent_add(struct gossip *g, struct hkey k)
{
    uint32_t e = recent_find(g, k);
    if (e != NIL)
        return e;
    e = (uint32_t)g->recent_pos;
    g->recent_pos = (g->recent_pos + 1) % g->recent_cap;
    struct recent *r = &g->recent[e];
    if (g->recent_full)
        idindex_del(&g->recent_idx, e, recent_hash, g);
    g->recent_full = g->recent_full || g->recent_pos == 0;
    memcpy(r->id, k.id, RECENT_ID_BYTES);
    memset(bits_at(g->recent_bits, g->words, e), 0, g->words * sizeof(uint64_t));
    if (g->p.track_holds) {
        g->recent_from[e] = NIL;
        memset(bits_at(g->recent_sent, g->words, e), 0, g->words * sizeof(uint64_t));
    }
    idindex_put(&g->recent_idx, k.h, e);
    return e;
}

/* The bitset of peers known to have id, or NULL when id is not recent. Looked up once per id:
 * the gate asks it for every peer. Valid until the next gossip_recent_add. */
uint64_t *gossip_recent_known(struct gossip *g, struct hkey k)
{
    uint32_t e = recent_find(g, k);
    return e == NIL ? NULL : bits_at(g->recent_bits, g->words, e);
}

/* Marks peer on every recent id with this short id; false when there is none. */
bool gossip_recent_mark_sid(struct gossip *g, struct hkey k, size_t peer)
{
    bool found = false;
    size_t s = idindex_home(&g->recent_idx, k.h);
    for (uint32_t e; (e = idindex_next(&g->recent_idx, k.h, &s)) != IDINDEX_NONE;)
        if (memcmp(g->recent[e].id, k.id, SID) == 0) {
            bit_set(bits_at(g->recent_bits, g->words, e), peer);
            found = true;
        }
    return found;
}

/* The sent bits of the entry whose known bits (gossip_recent_known) these are. */
uint64_t *gossip_recent_sent_of(struct gossip *g, const uint64_t *known)
{
    assert(g->p.track_holds);
    assert(known >= g->recent_bits && known < g->recent_bits + g->recent_cap * g->words);
    return g->recent_sent + (known - g->recent_bits);
}

/* One id's entry, one peer's bits: what the send path and the commit wrote (gossip.h). */
enum gossip_holds gossip_peer_holds(const struct gossip *g, size_t peer,
                                    const uint8_t key[LIMIT_KEY_BYTES],
                                    const uint8_t id[LIMIT_ID_BYTES])
{
    assert(g != NULL && key != NULL && id != NULL);
    if (peer >= g->p.max_peers || g->peers[peer] == NULL || !g->peers[peer]->keyed ||
        memcmp(g->peers[peer]->key, key, LIMIT_KEY_BYTES) != 0)
        return GOSSIP_HOLDS_NOT_KNOWN; /* the slot's bits are another node's, or none */
    const uint32_t e = recent_find(g, gossip_hkey(g, id));
    if (e == NIL)
        return GOSSIP_HOLDS_NOT_KNOWN;
    if (g->p.track_holds && g->recent_from[e] == peer)
        return GOSSIP_HOLDS_RECEIVED;
    if (g->p.track_holds && bit_get(bits_at(g->recent_sent, g->words, e), peer))
        return GOSSIP_HOLDS_SENT;
    if (bit_get(bits_at(g->recent_bits, g->words, e), peer))
        return GOSSIP_HOLDS_ANNOUNCED;
    return GOSSIP_HOLDS_NOT_KNOWN;
}

const char *gossip_holds_name(enum gossip_holds h)
{
    static const char *const names[] = {"not-known", "received", "sent", "announced"};
    return (unsigned)h < sizeof names / sizeof names[0] ? names[h] : "not-known";
}
