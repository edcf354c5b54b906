/* gossip_commit.c - commit and dissemination: one store batch per gossip_flush, the announcements
 * after it, the flush's timed work, and the local scan that pushes records this node's own tools
 * added.
 */
#include "node/core/gossip_int.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

/* --- commit and dissemination --- */

static void own_add(struct gossip *g, uint64_t seq)
{
    if (g->n_own > 0 && g->own[g->n_own - 1].hi + 1 == seq) {
        g->own[g->n_own - 1].hi = seq;
        return;
    }
    if (g->n_own == g->own_cap && g->own_cap < LIMIT_GOSSIP_OWN_RANGES) {
        size_t cap = g->own_cap ? g->own_cap * 2 : 4;
        cap = cap < LIMIT_GOSSIP_OWN_RANGES ? cap : LIMIT_GOSSIP_OWN_RANGES;
        struct own_range *o = realloc(g->own, cap * sizeof *o);
        if (o != NULL) {
            g->own = o;
            g->own_cap = cap;
        }
    }
    if (g->n_own == g->own_cap) { /* forgetting one only re-pushes (gated) records */
        if (g->n_own == 0)
            return; /* no room at all (out of memory): the same, for this one */
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

/* Doubles the announcement ring (up to ann_cap), its entries moved to the front in order. */
static bool ann_grow(struct gossip *g)
{
    size_t cap = g->ann_alloc ? 2 * g->ann_alloc : 64;
    cap = cap < g->ann_cap ? cap : g->ann_cap;
    struct ann *a = malloc(cap * sizeof *a);
    if (a == NULL)
        return false;
    for (size_t i = 0; i < g->ann_len; i++)
        a[i] = g->anns[(g->ann_head + i) % g->ann_alloc];
    free(g->anns);
    g->anns = a;
    g->ann_alloc = cap;
    g->ann_head = 0;
    return true;
}

static void announce_later(struct gossip *g, const uint8_t id[LIMIT_ID_BYTES], uint64_t due)
{
    if (g->ann_len == g->ann_cap || (g->ann_len == g->ann_alloc && !ann_grow(g))) {
        g->st.announce_dropped++;
        g->backlog_recon = true; /* reconciliation carries it: soon, not at the next period */
        return;
    }
    if (g->ann_len == 0)
        g->ann_due = due;
    struct ann *a = &g->anns[(g->ann_head + g->ann_len++) % g->ann_alloc];
    memcpy(a->id, id, LIMIT_ID_BYTES);
    a->due = due;
}

/* After the commit: who has it (the sender and every announcer), the store hook, the
 * announcement. */
static void committed(struct gossip *g, const struct cand *c, uint64_t now, uint64_t wall_ms)
{
    const struct hkey k = {c->id, c->h};
    const uint32_t e = gossip_recent_add(g, k);
    uint64_t *has = bits_at(g->recent_bits, g->words, e);
    if (c->from != GOSSIP_LOCAL) {
        bit_set(has, c->from);
        if (g->p.track_holds)
            g->recent_from[e] = (uint32_t)c->from;
    }
    uint32_t w = gossip_want_find(g, k);
    if (w != NIL) {
        const uint64_t *ann = bits_at(g->want_ann, g->words, w);
        for (size_t i = 0; i < g->words; i++)
            has[i] |= ann[i];
        gossip_want_remove(g, w);
    }
    if (g->io.stored != NULL)
        g->io.stored(g->io.ctx, c->id, c->kind);
    gossip_tree_push(g, c, now, wall_ms);
    announce_later(g, c->id, announce_slot(now));
}

/* Room for a commit of n items (<= commit_cap), grown on demand: most commits are small. */
static bool commit_room(struct gossip *g, size_t n)
{
    assert(n <= g->commit_cap);
    if (n <= g->commit_alloc)
        return true;
    size_t cap = g->commit_alloc ? 2 * g->commit_alloc : 16;
    while (cap < n)
        cap *= 2;
    cap = cap < g->commit_cap ? cap : g->commit_cap;
    struct store_put *items = realloc(g->commit_items, cap * sizeof *items);
    if (items != NULL)
        g->commit_items = items;
    uint32_t *cis = items != NULL ? realloc(g->commit_cis, cap * sizeof *cis) : NULL;
    if (cis == NULL)
        return false; /* commit_alloc still bounds both arrays */
    g->commit_cis = cis;
    g->commit_alloc = cap;
    return true;
}

void gossip_commit_run(struct gossip_commit *c)
{
    assert(c != NULL && c->ops != NULL);
    c->result = c->ops->put_batch(c->ops->ctx, c->items, c->n);
}

/* Group commits of a bulk transfer (LIMIT_GOSSIP_COMMIT_MIN): a lone source's records wait for
 * their commit at most LIMIT_GOSSIP_COMMIT_WAIT_MS after the first of them was queued; another
 * source delivering ends the wait at once (commitq.h: its record must not wait for a bulk). */
void gossip_commit_queued(struct gossip *g, bool first, uint64_t now)
{
    if (commitq_shared(&g->cq, now))
        g->commit_hold_until = 0;
    else if (first)
        g->commit_hold_until = now + LIMIT_GOSSIP_COMMIT_WAIT_MS;
}

/* Held while fewer than LIMIT_GOSSIP_COMMIT_MIN are queued but at least that many are received
 * (still being verified or queued): waiting fills the commit; otherwise nothing more is coming
 * soon and the commit goes at once, as every commit of a node not in a bulk transfer does. */
bool gossip_commit_held(const struct gossip *g)
{
    return g->commit_hold_until != 0 && commitq_len(&g->cq) < LIMIT_GOSSIP_COMMIT_MIN &&
           g->n_cands >= LIMIT_GOSSIP_COMMIT_MIN;
}

/* One durable write transaction: up to LIMIT_GOSSIP_COMMIT_BATCH verified records, or, while
 * more than one source delivers, up to LIMIT_GOSSIP_COMMIT_SHARED of each source's (commitq.h: a
 * flooder's commit is what an honest record waits for), taken from the sources in turn; handed
 * to io.commit, or run here and completed at once without one. */
static int commit_start(struct gossip *g, uint64_t now, uint64_t wall_ms)
{
    assert(!g->commit_out);
    size_t n = commitq_len(&g->cq);
    size_t cap = g->commit_cap;
    if (commitq_shared(&g->cq, now)) {
        size_t round = commitq_round(&g->cq, LIMIT_GOSSIP_COMMIT_SHARED);
        round = round > LIMIT_GOSSIP_COMMIT_SHARED ? round : LIMIT_GOSSIP_COMMIT_SHARED;
        cap = round < cap ? round : cap;
    }
    n = n < cap ? n : cap;
    if (!commit_room(g, n))
        return GOSSIP_E_NOMEM; /* the verified records wait for the next flush */
    struct store_put *items = g->commit_items;
    n = commitq_take(&g->cq, g->commit_cis, n);
    /* what is left (a full commit's worth or more were queued) starts the next wait */
    gossip_commit_queued(g, true, now);
    for (size_t i = 0; i < n; i++) {
        const struct cand *c = &g->cands[g->commit_cis[i]];
        items[i] = (struct store_put){.signed_rec = c->bytes, .len = c->len, .rec = NULL,
                                      .added_us = wall_ms * 1000};
        memcpy(items[i].id, c->id, LIMIT_ID_BYTES);
    }
    g->cm = (struct gossip_commit){.items = items, .n = n, .ops = &g->ops};
    if (g->io.commit == NULL) {
        gossip_commit_run(&g->cm);
        return gossip_on_committed(g, &g->cm, now, wall_ms);
    }
    g->commit_out = true;
    g->io.commit(g->io.ctx, &g->cm);
    return GOSSIP_OK;
}

/* Only now, with the records durable, does anyone hear of them (committed). */
int gossip_on_committed(struct gossip *g, struct gossip_commit *c, uint64_t now,
                        uint64_t wall_ms)
{
    assert(g != NULL && c == &g->cm && (g->commit_out || g->io.commit == NULL));
    g->commit_out = false;
    const int rc = c->result;
    const struct store_put *items = c->items;
    const uint32_t *cis = g->commit_cis;
    if (rc < 0) {
        g->st.store_errors += c->n;
        gossip_logf(g, GOSSIP_LOG_WARN, GOSSIP_LOCAL, "commit of %zu records failed: %s (%s)",
                    c->n, store_strerror(rc), g->ops.where != NULL ? g->ops.where : "store");
    }
    for (size_t i = 0; i < c->n; i++) {
        if (rc == STORE_OK && items[i].result == STORE_PUT_ADDED) {
            g->st.stored++;
            own_add(g, items[i].seq);
            committed(g, &g->cands[cis[i]], now, wall_ms);
        } else if (rc == STORE_OK) {
            uint64_t *count = items[i].result == STORE_PUT_REVOKED ? &g->st.store_revoked
                                                                   : &g->st.store_duplicates;
            (*count)++;
        }
        gossip_cand_release(g, cis[i]);
    }
    c->n = 0;
    int scan = GOSSIP_OK;
    if (g->scan_pending) {
        g->scan_pending = false;
        scan = gossip_local_scan(g, now, wall_ms);
    }
    return rc < 0 ? GOSSIP_E_STORE : scan;
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
        g->ann_head = (g->ann_head + 1) % g->ann_alloc;
        g->ann_len--;
        g->ann_due = g->ann_len > 0 ? g->anns[g->ann_head].due : UINT64_MAX;
        struct rview v;
        uint64_t *known = gossip_recent_known(g, gossip_hkey(g, id));
        if (!someone_lacks(g, known) || !gossip_view_load_id(g, id, &v))
            continue;
        v.known = known;
        FOR_EACH_BIT(i, g->up, g->p.max_peers) {
            if (!gossip_may_reach(g, i, &v) || !gossip_gate_out(g, i, &v, false, wall_ms))
                continue;
            if (gossip_backlogged(g, i)) {
                g->peers[i]->st.skipped_backlog++;
                g->tm[i].soon_pending = true;
                continue;
            }
            EMIT(g, i, id, GOSSIP_EMIT_ANNOUNCE);
            if (gossip_out_add_sid(g, i, OUT_ANNOUNCE, id))
                g->peers[i]->st.announce_out++;
        }
    }
}

/* --- the flush --- */

/* Starts every round that is due (initiator side). */
static void recon_due(struct gossip *g, uint64_t now, uint64_t wall_ms)
{
    FOR_EACH_BIT(i, g->up, g->p.max_peers) {
        struct ptimer *t = &g->tm[i];
        if (!t->rc_active && t->next_recon <= now &&
            gossip_recon_start(g, i, NULL, 0, now, wall_ms) < 0)
            t->next_recon = now + LIMIT_RECON_INTERVAL_MS;
    }
}

/* Every entry point's work ends with a flush, so what its counters gained goes to now's minute. */
static void note_activity(struct gossip *g, uint64_t now)
{
    const struct gossip_stats *s = &g->st;
    const uint64_t totals[ACTIVITY_KINDS] = {
        [ACTIVITY_RECEIVED] = s->stored,
        [ACTIVITY_SENT] = s->records_sent,
        [ACTIVITY_PUBLISHED] = s->local_pushed,
        [ACTIVITY_REFUSED] = s->refused_time + s->refused_inbound + s->refused_out,
    };
    activity_note(&g->act, now, totals);
}

int gossip_flush(struct gossip *g, uint64_t now, uint64_t wall_ms)
{
    assert(g != NULL);
    /* One commit per flush: what is left waits for the next turn (gossip_next_deadline: now, or
     * a bulk transfer's commit_hold_until), so that the loop reads every peer's input and hands
     * out jobs between two commits. */
    const bool held = gossip_commit_held(g) && now < g->commit_hold_until;
    int rc = commitq_len(&g->cq) > 0 && !g->commit_out && !held ? commit_start(g, now, wall_ms)
                                                                 : GOSSIP_OK;
    announce_due(g, now, wall_ms);
    gossip_wants_due(g, now);
    /* What was refused or dropped for a reason that may have passed comes by reconciliation. */
    const bool all = g->self_changed || g->backlog_recon;
    g->self_changed = g->backlog_recon = false;
    FOR_EACH_BIT(i, g->up, g->p.max_peers)
        if (all || (g->tm[i].soon_pending && now >= g->tm[i].soon_after))
            gossip_recon_soon(g, i, now);
    recon_due(g, now, wall_ms);
    gossip_recon_turn(g, now, wall_ms); /* before the pump: a flight goes ahead of pushes */
    gossip_pump(g, wall_ms);
    note_activity(g, now);
    return rc;
}

/* --- local records --- */

/* Own records go to a peer in full at LIMIT_GOSSIP_PUSH_* at most, below the peer's budget of
 * unasked records (peerscore.h); the rest go with the reconciliation this asks for. */
static void push_paced(struct gossip *g, size_t peer, const uint8_t id[LIMIT_ID_BYTES],
                       uint64_t now)
{
    struct gpeer *p = g->peers[peer];
    if (peerscore_bucket_take(&p->push, LIMIT_GOSSIP_PUSH_BURST, LIMIT_GOSSIP_PUSH_PER_S, 1,
                              now)) {
        gossip_push_enqueue(g, peer, id);
        return;
    }
    p->st.skipped_backlog++;
    g->tm[peer].soon_pending = true;
}

int gossip_local_scan(struct gossip *g, uint64_t now, uint64_t wall_ms)
{
    assert(g != NULL);
    if (g->commit_out) { /* its records would read as this node's own: after the commit */
        g->scan_pending = true;
        return GOSSIP_OK;
    }
    for (;;) {
        struct id_list l = {.max = LIMIT_GOSSIP_SCAN_CHUNK};
        int rc = g->ops.iter_seq(g->ops.ctx, g->scan_seq, gossip_collect_id, &l);
        if (rc < 0 || l.err < 0) {
            gossip_id_list_free(&l);
            return rc < 0 ? GOSSIP_E_STORE : l.err;
        }
        for (size_t i = 0; i < l.n; i++) {
            g->scan_seq = l.seqs[i];
            struct rview v;
            if (own_covers(g, l.seqs[i]) || !gossip_view_load_id(g, l.ids[i], &v))
                continue;
            g->st.local_pushed++;
            uint32_t e = gossip_recent_add(g, gossip_hkey(g, l.ids[i]));
            v.known = bits_at(g->recent_bits, g->words, e);
            FOR_EACH_BIT(p, g->up, g->p.max_peers)
                if (gossip_may_reach(g, p, &v) && gossip_gate_out(g, p, &v, false, wall_ms))
                    push_paced(g, p, l.ids[i], now);
        }
        size_t got = l.n;
        gossip_id_list_free(&l);
        if (got < LIMIT_GOSSIP_SCAN_CHUNK)
            break;
    }
    size_t keep = 0;
    for (size_t i = 0; i < g->n_own; i++)
        if (g->own[i].hi > g->scan_seq)
            g->own[keep++] = g->own[i];
    g->n_own = keep;
    return GOSSIP_OK;
}
