/* gossip_want.c - wants (gossip_int.h): short ids a peer announced that this node lacks, whom it
 * asked with WANT, and what happens when nobody answers.
 */
#include "node/core/gossip_int.h"

#include <stdlib.h>
#include <string.h>

/* --- the table --- */

static uint64_t want_hash(const void *g, size_t w)
{
    return ((const struct gossip *)g)->wants[w].h;
}

uint32_t gossip_want_find(const struct gossip *g, struct hkey k)
{
    if (g->n_wants == 0) /* also: no index yet */
        return NIL;
    size_t s = idindex_home(&g->want_idx, k.h);
    for (uint32_t w; (w = idindex_next(&g->want_idx, k.h, &s)) != IDINDEX_NONE;)
        if (memcmp(g->wants[w].sid, k.id, SID) == 0)
            return w;
    return NIL;
}

/* The table grows on demand up to want_cap, as the candidates do (gossip_tables.c): new entries
 * join the free list in index order; the index is rebuilt only when every entry is in use. */
static bool want_grow(struct gossip *g)
{
    size_t cap = g->want_alloc ? 2 * g->want_alloc : 16, had = g->want_alloc;
    cap = cap < g->want_cap ? cap : g->want_cap;
    assert(g->want_free == NIL && g->n_wants == had && cap > had);
    struct want *e = realloc(g->wants, cap * sizeof *e);
    if (e != NULL)
        g->wants = e;
    uint64_t *dl = e ? realloc(g->want_dl, cap * sizeof *dl) : NULL;
    if (dl != NULL)
        g->want_dl = dl;
    uint64_t *ann = dl ? realloc(g->want_ann, cap * g->words * sizeof *ann) : NULL;
    if (ann != NULL)
        g->want_ann = ann;
    uint64_t *tried = ann ? realloc(g->want_tried, cap * g->words * sizeof *tried) : NULL;
    if (tried != NULL)
        g->want_tried = tried;
    if (tried == NULL || !idindex_grow(&g->want_idx, cap, had, want_hash, g))
        return false; /* what grew stays: want_alloc counts what all of them hold */
    memset(e + had, 0, (cap - had) * sizeof *e);
    for (size_t i = had; i < cap; i++) {
        e[i].next_free = i + 1 < cap ? (uint32_t)(i + 1) : NIL;
        dl[i] = UINT64_MAX;
    }
    g->want_free = (uint32_t)had;
    g->want_alloc = cap;
    return true;
}

uint32_t gossip_want_add(struct gossip *g, struct hkey k, uint64_t deadline)
{
    uint32_t w = gossip_want_find(g, k);
    if (w != NIL || (g->want_free == NIL && (g->want_alloc == g->want_cap || !want_grow(g))))
        return w;
    w = g->want_free;
    struct want *e = &g->wants[w];
    g->want_free = e->next_free;
    memcpy(e->sid, k.id, SID);
    e->h = k.h;
    e->used = true;
    e->tries = 0;
    e->asked = NONE;
    g->want_dl[w] = deadline;
    memset(bits_at(g->want_ann, g->words, w), 0, g->words * sizeof(uint64_t));
    memset(bits_at(g->want_tried, g->words, w), 0, g->words * sizeof(uint64_t));
    idindex_put(&g->want_idx, k.h, w);
    g->n_wants++;
    g->want_next = min_u64(g->want_next, deadline);
    return w;
}

void gossip_want_unask(struct gossip *g, struct want *e)
{
    if (e->asked == NONE)
        return;
    assert(g->peers[e->asked]->wants_out > 0);
    g->peers[e->asked]->wants_out--;
    e->asked = NONE;
}

void gossip_want_remove(struct gossip *g, uint32_t w)
{
    struct want *e = &g->wants[w];
    assert(e->used && g->n_wants > 0);
    gossip_want_unask(g, e);
    idindex_del(&g->want_idx, w, want_hash, g);
    e->used = false;
    g->want_dl[w] = UINT64_MAX;
    e->next_free = g->want_free;
    g->want_free = w;
    g->n_wants--;
}

/* --- asking --- */

/* Asks the next announcer of w that was not asked yet. BUSY: every such announcer that is up has
 * its WANT quota out (LIMIT_GOSSIP_WANT_PER_PEER) or a full queue, so the want waits for room
 * without using a try: a catch-up that drops thousands of records under overload refetches them
 * all from its one peer, LIMIT_GOSSIP_WANT_PER_PEER at a time, instead of giving the rest up to a
 * reconciliation round (test_mesh: 791 of 5,425 waited a round for that). */
enum gossip_want_ask gossip_want_ask(struct gossip *g, uint32_t w, uint64_t now)
{
    struct want *e = &g->wants[w];
    uint64_t *ann = bits_at(g->want_ann, g->words, w), *tried = bits_at(g->want_tried, g->words, w);
    enum gossip_want_ask r = GOSSIP_WANT_NOBODY;
    FOR_EACH_BIT(i, ann, g->p.max_peers) { /* by words: a hub has LIMIT_PEERS slots */
        if (bit_get(tried, i) || !peer_up(g, i))
            continue;
        if (g->peers[i]->wants_out >= LIMIT_GOSSIP_WANT_PER_PEER ||
            !gossip_out_add_sid(g, i, OUT_WANT, e->sid)) {
            r = GOSSIP_WANT_BUSY;
            continue;
        }
        bit_set(tried, i);
        e->tries++;
        e->asked = i;
        g->want_dl[w] = now + LIMIT_WANT_TIMEOUT_MS;
        g->want_next = min_u64(g->want_next, g->want_dl[w]);
        g->peers[i]->wants_out++;
        g->peers[i]->st.want_out++;
        return GOSSIP_WANT_ASKED;
    }
    return r;
}

/* Nobody answered: reconciliation with the peers that announced it brings it, soon. */
static void want_give_up(struct gossip *g, uint32_t w)
{
    const uint64_t *ann = bits_at(g->want_ann, g->words, w);
    FOR_EACH_BIT(i, g->up, g->p.max_peers)
        if (bit_get(ann, i))
            g->tm[i].soon_pending = true;
    gossip_want_remove(g, w);
}

/* Timed-out or unasked wants go to the next announcer; after LIMIT_GOSSIP_WANT_TRIES, or with
 * nobody left to ask, the want is dropped and reconciliation brings the record. */
void gossip_wants_due(struct gossip *g, uint64_t now)
{
    if (g->n_wants == 0 || now < g->want_next)
        return;
    uint64_t next = UINT64_MAX;
    /* Ask no more than verification can take now; the rest waits, without using a try. */
    size_t budget = g->cand_cap - g->n_cands;
    for (uint32_t w = 0; w < g->want_alloc; w++) {
        if (g->want_dl[w] <= now) {
            struct want *e = &g->wants[w];
            assert(e->used);
            gossip_want_unask(g, e);
            const enum gossip_want_ask r =
                gossip_cand_has_sid(g, gossip_hkey(g, e->sid)) || budget == 0 /* arrived / busy */
                    ? GOSSIP_WANT_BUSY
                : e->tries >= LIMIT_GOSSIP_WANT_TRIES ? GOSSIP_WANT_NOBODY
                                                      : gossip_want_ask(g, w, now);
            if (r == GOSSIP_WANT_BUSY)
                g->want_dl[w] = now + LIMIT_WANT_TIMEOUT_MS;
            else if (r == GOSSIP_WANT_NOBODY)
                want_give_up(g, w); /* its deadline is UINT64_MAX now */
            else
                budget--;
        }
        next = min_u64(next, g->want_dl[w]);
    }
    g->want_next = next;
}
