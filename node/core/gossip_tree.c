/* gossip_tree.c - relay trees per origin and audience (docs/PROTOCOL.md "Trees"; Plumtree's
 * eager and lazy push): a relayed record goes in full, right after its commit, to every tree peer
 * that has not pruned its tree key (origin, tlp, communities), and by announcement to the others.
 * A duplicate pushed to us unasked prunes the link for that tree both ways; a WANT grafts the
 * asker again.
 * docs/PROTOCOL.md says why the key is per origin and audience. The table holds tree keys that
 * were pruned somewhere, a bitset each: a key with no entry is eager on every link.
 */
#include "node/core/gossip_int.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "proto/tlp.h"

/* --- the table: tree key -> peers that pruned it --- */

static uint64_t tree_hash(const void *g, size_t e)
{
    return ((const struct gossip *)g)->trees[e].h;
}

/* An entry's bits: the peers that pruned the tree, then those that grafted it (exempt from the
 * fan-out cap, gossip_tree_push). */
static uint64_t *tree_bits(const struct gossip *g, uint32_t e, bool grafted)
{
    return bits_at(g->tree_pruned, 2 * g->words, e) + (grafted ? g->words : 0);
}

static uint32_t tree_find(const struct gossip *g, struct hkey k)
{
    if (g->tree_n == 0)
        return NIL;
    size_t s = idindex_home(&g->tree_idx, k.h);
    for (uint32_t e; (e = idindex_next(&g->tree_idx, k.h, &s)) != IDINDEX_NONE;)
        if (memcmp(g->trees[e].origin, k.id, SID) == 0)
            return e;
    return NIL;
}

/* Grows the table by a quarter (up to tree_cap): most nodes hear from a few origins, and a
 * simulated node of a large run keeps a few thousand keys, where doubling left up to half of the
 * entries unused (its index stays a power of two, store/idindex.h). */
static bool tree_grow(struct gossip *g)
{
    size_t cap = g->tree_alloc ? g->tree_alloc + g->tree_alloc / 4 : 16;
    cap = cap < g->tree_cap ? cap : g->tree_cap;
    struct tree *t = realloc(g->trees, cap * sizeof *t);
    if (t == NULL)
        return false;
    g->trees = t;
    uint64_t *bits = realloc(g->tree_pruned, cap * 2 * g->words * sizeof *bits);
    if (bits == NULL)
        return false;
    g->tree_pruned = bits;
    if (!idindex_grow(&g->tree_idx, cap, g->tree_n, tree_hash, g))
        return false;
    g->tree_alloc = cap;
    return true;
}

/* The entry of a tree key, created (forgetting the oldest when full) if missing; NIL when
 * out of memory. */
static uint32_t tree_add(struct gossip *g, struct hkey k)
{
    uint32_t e = tree_find(g, k);
    if (e != NIL)
        return e;
    if (g->tree_n == g->tree_alloc && g->tree_alloc < g->tree_cap && !tree_grow(g))
        return NIL;
    if (g->tree_n < g->tree_alloc) {
        e = (uint32_t)g->tree_n++;
    } else { /* full: the ring's oldest goes (its tree floods once more) */
        e = (uint32_t)g->tree_pos;
        g->tree_pos = (g->tree_pos + 1) % g->tree_cap;
        idindex_del(&g->tree_idx, e, tree_hash, g);
    }
    memcpy(g->trees[e].origin, k.id, SID);
    g->trees[e].h = k.h;
    memset(tree_bits(g, e, false), 0, 2 * g->words * sizeof(uint64_t));
    idindex_put(&g->tree_idx, k.h, e);
    return e;
}

void gossip_tree_forget_peer(struct gossip *g, size_t peer)
{
    for (uint32_t e = 0; e < g->tree_n; e++) {
        bit_clear(tree_bits(g, e, false), peer);
        bit_clear(tree_bits(g, e, true), peer);
    }
}

void gossip_tree_free(struct gossip *g)
{
    free(g->trees);
    free(g->tree_pruned);
    idindex_free(&g->tree_idx);
}

/* --- the rules --- */

/* The tree key of a signed record (docs/PROTOCOL.md "Trees"): the first 8 bytes of
 * BLAKE2b-256(origin || tlp || communities), the last the msgpack array as encoded. Read where the
 * canonical encoding puts them (docs/PROTOCOL.md "Layout": fixmap header, version 1, kind, origin
 * as bin 32, created as uint 64, tlp, communities); false when the bytes do not have that shape (a
 * malformed record is refused elsewhere; here it only joins no tree). */
bool gossip_tree_key(const uint8_t *signed_rec, size_t len, uint8_t key[SID])
{
    enum { ORIGIN = 8, TLP = ORIGIN + LIMIT_KEY_BYTES + 11, COMM = TLP + 2 };
    if (len < LIMIT_SIG_BYTES + COMM + 1)
        return false;
    const uint8_t *b = signed_rec + LIMIT_SIG_BYTES;
    const size_t blen = len - LIMIT_SIG_BYTES;
    if ((b[0] & 0xf0) != 0x80 || b[1] != 0x00 || b[2] != 0x01 || b[3] != 0x01 || b[5] != 0x02 ||
        b[6] != 0xc4 || b[7] != LIMIT_KEY_BYTES || b[TLP - 11] != 0x03 || b[TLP - 10] != 0xcf ||
        b[TLP - 1] != 0x04 || b[TLP] > PROTO_TLP_RED || b[COMM - 1] != 0x05 ||
        (b[COMM] & 0xf0) != 0x90)
        return false;
    size_t off = COMM + 1;
    for (size_t i = 0; i < (size_t)(b[COMM] & 0x0f); i++) { /* <= 16 names: bounded */
        if (off >= blen)
            return false;
        size_t n = (b[off] & 0xe0) == 0xa0 ? 1 + (size_t)(b[off] & 0x1f)
                   : b[off] == 0xd9 && off + 1 < blen ? 2 + (size_t)b[off + 1]
                                                      : SIZE_MAX;
        if (n > blen - off)
            return false;
        off += n;
    }
    uint8_t h[crypto_generichash_BYTES];
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, sizeof h);
    crypto_generichash_update(&st, b + ORIGIN, LIMIT_KEY_BYTES);
    crypto_generichash_update(&st, b + TLP, 1);
    crypto_generichash_update(&st, b + COMM, off - COMM);
    crypto_generichash_final(&st, h, sizeof h);
    memcpy(key, h, SID);
    return true;
}

/* Is peer a tree peer that has not pruned the tree (pruned: its entry's bitset, NULL if none)? */
static bool tree_eager(const struct gossip *g, size_t peer, const uint64_t *pruned)
{
    return g->peers[peer]->tree && (pruned == NULL || !bit_get(pruned, peer));
}

/* Where peer ranks among this node's links for a tree (lowest first): a mix of the tree's hash
 * and the peer's key, so the same links win for every record of a tree and each tree (and node)
 * draws its own (splitmix64's finaliser). */
static uint64_t tree_rank(uint64_t tree_h, const uint8_t peer_key[LIMIT_KEY_BYTES])
{
    uint64_t x;
    memcpy(&x, peer_key, sizeof x);
    x ^= tree_h;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

/* Queues record id in full for peer within its push pacing (LIMIT_GOSSIP_PUSH_*). */
static void tree_push_one(struct gossip *g, size_t peer, const uint8_t id[LIMIT_ID_BYTES],
                          uint64_t now)
{
    if (!peerscore_bucket_take(&g->peers[peer]->push, LIMIT_GOSSIP_PUSH_BURST,
                               LIMIT_GOSSIP_PUSH_PER_S, 1, now))
        return;
    g->peers[peer]->st.tree_pushed++;
    gossip_push_enqueue(g, peer, id);
}

/* After the commit of a received record: queued in full for the eager tree peers not known to
 * have it that the gate allows (uncounted here: drain gates it again when written, and a peer
 * refused now is refused, and counted, by its announcement): every peer that grafted the tree,
 * and of the others the LIMIT_GOSSIP_TREE_FANOUT that rank first (tree_rank). The cap is what
 * makes a tree's first record cheaper than a flood (docs/PROTOCOL.md "Trees": each of the other
 * links that lacks it still gets the announcement, and its WANT grafts it). Pushes are paced
 * (LIMIT_GOSSIP_PUSH_*) as own records: a peer counts our pushes against its unasked budget, and
 * a relay passing on a flood it accepted at its own budget's pace was cut by the next node. The
 * announcement on the grid still goes to every peer not known to have it by then: a push not yet
 * written (a backlogged link) or lost with a session is announced, as without trees. */
void gossip_tree_push(struct gossip *g, const struct cand *c, uint64_t now, uint64_t wall_ms)
{
    struct rview v;
    uint8_t key[SID];
    if (!gossip_tree_key(c->bytes, c->len, key) || !gossip_view_load(g, c->id, c->bytes, c->len, &v))
        return;
    v.known = gossip_recent_known(g, (struct hkey){c->id, c->h});
    const struct hkey k = gossip_hkey(g, key);
    const uint32_t e = tree_find(g, k); /* once, not per peer */
    const uint64_t *pruned = e == NIL ? NULL : tree_bits(g, e, false);
    const uint64_t *grafted = e == NIL ? NULL : tree_bits(g, e, true);
    struct {
        uint64_t rank;
        size_t peer;
    } best[LIMIT_GOSSIP_TREE_FANOUT]; /* the lowest ranks so far, in order */
    size_t n = 0, capped = 0;
    uint64_t lazy[LIMIT_PEERS / 64] = {0}; /* eager links the cap left out */
    FOR_EACH_BIT(i, g->up, g->p.max_peers) {
        if (i == c->from || (v.known != NULL && bit_get(v.known, i)) ||
            !gossip_may_reach(g, i, &v) || !tree_eager(g, i, pruned) ||
            !gossip_gate_allows(g, i, &v, wall_ms))
            continue;
        if (grafted != NULL && bit_get(grafted, i)) {
            tree_push_one(g, i, c->id, now);
            continue;
        }
        bit_set(lazy, i);
        capped++;
        const uint64_t r = tree_rank(k.h, g->peers[i]->key);
        size_t j = n < LIMIT_GOSSIP_TREE_FANOUT ? n++ : n;
        for (; j > 0 && best[j - 1].rank > r; j--)
            if (j < LIMIT_GOSSIP_TREE_FANOUT)
                best[j] = best[j - 1];
        if (j < LIMIT_GOSSIP_TREE_FANOUT)
            best[j].rank = r, best[j].peer = i;
    }
    for (size_t j = 0; j < n; j++) {
        bit_clear(lazy, best[j].peer);
        tree_push_one(g, best[j].peer, c->id, now);
    }
    if (capped <= n)
        return;
    /* The links left out are lazy for the tree's later records too: its tree is then made of the
     * links its first record took, and later records do not try the others again one by one
     * (each a duplicate and a PRUNE). A left-out peer that lacked the record asks, and grafts. */
    const uint32_t le = tree_add(g, k);
    if (le != NIL)
        FOR_EACH_BIT(i, lazy, g->p.max_peers)
            bit_set(tree_bits(g, le, false), i);
}

/* The tree's later records go to peer by announcement. */
static void tree_mark_pruned(struct gossip *g, size_t peer, const uint8_t key[SID])
{
    const uint32_t e = tree_add(g, gossip_hkey(g, key));
    if (e != NIL) {
        bit_set(tree_bits(g, e, false), peer);
        bit_clear(tree_bits(g, e, true), peer);
    }
}

/* A duplicate record peer pushed unasked: the link is no edge of the record's tree either way,
 * so we stop pushing the tree to peer and tell it to stop pushing to us. Unless peer held the
 * record before this copy (held: we sent it, or it announced it): then our copy reached it as a
 * duplicate too and it marks the link itself, and PRUNE would only cost a message (nearly every
 * duplicate of a tree's first flood is such a crossing). Not the origin itself, which pushes its
 * own records to every peer. */
void gossip_tree_dup(struct gossip *g, size_t peer, const uint8_t *signed_rec, size_t len,
                     bool held)
{
    struct gpeer *p = g->peers[peer];
    uint8_t key[SID];
    if (!p->tree || !gossip_tree_key(signed_rec, len, key) ||
        memcmp(signed_rec + LIMIT_SIG_BYTES + 8, p->key, LIMIT_KEY_BYTES) == 0)
        return;
    tree_mark_pruned(g, peer, key);
    if (!held && gossip_out_add_sid(g, peer, OUT_PRUNE, key))
        p->st.prune_out++;
}

/* PRUNE from peer. */
void gossip_tree_prune(struct gossip *g, size_t peer, const uint8_t key[SID])
{
    g->peers[peer]->st.prune_in++;
    tree_mark_pruned(g, peer, key);
}

/* A WANT from a tree peer for id: the tree failed it; the tree's records are pushed to it again,
 * past the fan-out cap. */
void gossip_tree_graft(struct gossip *g, size_t peer, const uint8_t id[LIMIT_ID_BYTES])
{
    if (!g->peers[peer]->tree)
        return;
    size_t len;
    uint8_t *buf = gossip_scratch()->buf;
    if (g->ops.get(g->ops.ctx, id, buf, LIMIT_SIGNED_RECORD_BYTES, &len) != STORE_OK)
        return;
    uint8_t key[SID];
    const uint32_t e = gossip_tree_key(buf, len, key) ? tree_add(g, gossip_hkey(g, key)) : NIL;
    if (e != NIL) {
        bit_clear(tree_bits(g, e, false), peer);
        bit_set(tree_bits(g, e, true), peer);
    }
}
