/* gossip_recv.c - RECORDS, ANNOUNCE and WANT from a peer: parsing, dedupe before any signature
 * check, the peer's budgets (peerscore.h), handing new records to verification, answering WANTs.
 */
#include "node/core/gossip_int.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

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
        if (l <= LIMIT_SIG_BYTES || l > LIMIT_SIGNED_RECORD_BYTES || len - off < l)
            return false;
        off += l;
    }
    return off == len;
}

/* A record already stored or being verified. The cost to the peer's duplicate budget: a copy
 * crossing another costs 1, a replay (an id the peer is known to hold: it sent it, was sent it
 * or announced it) LIMIT_PEER_DUP_REPLAY_COST. *held: the peer was known to hold it. */
static uint32_t note_duplicate(struct gossip *g, size_t peer, struct hkey k, bool stored,
                               uint64_t now, bool *held)
{
    g->peers[peer]->st.duplicates++;
    g->st.duplicates++;
    *held = false;
    if (stored) {
        uint64_t *bits = bits_at(g->recent_bits, g->words, gossip_recent_add(g, k));
        const bool replay = bit_get(bits, peer);
        *held = replay;
        bit_set(bits, peer);
        g->peers[peer]->st.replays += replay;
        return replay ? LIMIT_PEER_DUP_REPLAY_COST : 1;
    }
    /* Still being verified: remember the sender so that the announcement skips it. */
    uint32_t w = gossip_want_add(g, k, now + LIMIT_WANT_TIMEOUT_MS);
    if (w != NIL)
        bit_set(bits_at(g->want_ann, g->words, w), peer);
    return 1;
}

/* Is our WANT for this id outstanding towards peer? */
static bool wanted_from(const struct gossip *g, size_t peer, struct hkey k)
{
    uint32_t w = gossip_want_find(g, k);
    return w != NIL && g->wants[w].asked == peer;
}

/* Takes one of the records a reconciliation with peer showed it would send (*n of them, counted
 * by diff_need in gossip_recon.c) while the round's grace lasts. Counts only: a peer may send
 * others instead, but never more than its rounds named, so RECON messages buy no budget. Each
 * one taken renews the grace: a catch-up slower than it (a receiver whose verification is slow)
 * stays asked for while it keeps coming, still no more of it than the rounds named. */
static bool take_expected(struct gpeer *p, uint32_t *n, uint64_t now)
{
    if (*n == 0 || now >= p->expect_until)
        return false;
    (*n)--;
    p->expect_last = now;
    p->expect_until = now + LIMIT_PEER_RECON_GRACE_MS;
    return true;
}

/* Did we ask peer for this record: a WANT to it, or its reconciliation's haves? */
static bool asked_for(struct gossip *g, size_t peer, struct hkey k, uint64_t now)
{
    struct gpeer *p = g->peers[peer];
    return wanted_from(g, peer, k) || take_expected(p, &p->expect_new, now);
}

/* May peer take another candidate slot? Within its share of the table among the peers up, or
 * beyond it while half the table is free: a lone sender may use the table, a flooder never more
 * than half of it, so the others' records always find room. */
static bool within_share(const struct gossip *g, const struct gpeer *p)
{
    return g->n_cands < g->cand_cap / 2 || p->held < gossip_cand_share(g);
}

bool gossip_may_read(const struct gossip *g, size_t peer, uint64_t now)
{
    assert(g != NULL);
    if (peer >= g->p.max_peers || !peer_up(g, peer))
        return true; /* no gossip session: nothing of it is held */
    const struct gpeer *p = g->peers[peer];
    if (p->expect_new == 0 || now >= p->expect_until || p->charged)
        return true; /* not (only) what we asked for: charged as read, so a flood is cut by its
                        budget rather than slowed to the verify rate */
    /* What one read can complete: the frame buffered so far and one more, each record at least
     * its length and signature. */
    const size_t one_read = 2 * (LIMIT_FRAME_BYTES / (2 + LIMIT_SIG_BYTES));
    const size_t share = gossip_cand_share(g);
    /* A share below one read's records: read when the peer holds none (progress; the rest of
     * the read is dropped and fetched later, as without pausing). */
    const size_t need = one_read < share ? one_read : share;
    return g->n_cands + one_read <= g->cand_cap / 2 || p->held + need <= share;
}

/* Not taken now (candidate table or the peer's share full): fetched from this peer later, when
 * verification caught up. */
static void drop_overload(struct gossip *g, size_t peer, struct hkey k, uint64_t now)
{
    g->st.dropped_overload++;
    g->peers[peer]->st.dropped_overload++;
    uint32_t w = gossip_want_add(g, k, now + LIMIT_WANT_TIMEOUT_MS);
    if (w == NIL) { /* table full: reconciliation with the sender brings it, soon */
        g->tm[peer].soon_pending = true;
        return;
    }
    bit_set(bits_at(g->want_ann, g->words, w), peer);
    struct want *e = &g->wants[w];
    if (e->asked == peer) { /* our own WANT's answer: asking again is no new try */
        gossip_want_unask(g, e);
        bit_clear(bits_at(g->want_tried, g->words, w), peer);
        e->tries--;
        g->want_dl[w] = now + LIMIT_WANT_TIMEOUT_MS;
    }
}

/* One record of a RECORDS message: dedupe, budgets, the checks before the signature, then a
 * candidate in job (queued for verification when full). Returns the job to fill next. */
static struct gossip_job *take_record(struct gossip *g, size_t peer, const uint8_t *sr, size_t l,
                                      struct gossip_job *job, uint64_t now, uint64_t wall_ms)
{
    struct gpeer *p = g->peers[peer];
    uint8_t id[LIMIT_ID_BYTES];
    proto_record_id(sr + LIMIT_SIG_BYTES, l - LIMIT_SIG_BYTES, id);
    p->st.records_received++;
    int has = g->ops.has(g->ops.ctx, id);
    if (has < 0) {
        g->st.store_errors++;
        return job;
    }
    const struct hkey k = gossip_hkey(g, id);
    if (has == 1 || gossip_cand_is_dup(g, k, sr, l)) {
        /* The answer to our own WANT, when another peer's copy crossed it, is our doing, and so
         * is a have of a reconciliation that our gate kept out of our set: neither spends
         * budget. (Not any record after a RECON: a replayer could reconcile.) */
        const bool asked = wanted_from(g, peer, k) || take_expected(p, &p->expect_dup, now);
        bool held;
        const uint32_t cost = note_duplicate(g, peer, k, has == 1, now, &held);
        if (!asked && gossip_charge(g, peer, PEERSCORE_DUPLICATE, cost, now))
            gossip_tree_dup(g, peer, sr, l, held);
        return job;
    }
    peerscore_credit(&p->score, PEERSCORE_DUPLICATE, 1);
    if (!asked_for(g, peer, k, now)) {
        p->st.unasked++;
        if (!gossip_charge(g, peer, PEERSCORE_UNASKED, 1, now))
            return job;
    }
    if (!gossip_precheck(g, peer, id, sr, l, now, wall_ms))
        return job;
    uint32_t ci = within_share(g, p) ? gossip_cand_alloc(g, k, sr, l, peer) : NIL;
    if (ci == NIL) {
        drop_overload(g, peer, k, now);
        return job;
    }
    if (job == NULL && (job = gossip_job_alloc(wall_ms)) == NULL) {
        gossip_cand_release(g, ci);
        return NULL;
    }
    job->items[job->n] = (struct gossip_job_item){g->cands[ci].bytes, l, 0, 0};
    job->cand[job->n++] = ci;
    if (job->n < LIMIT_GOSSIP_JOB_RECORDS)
        return job;
    gossip_verify_queue(g, peer, job);
    return NULL;
}

static int on_records(struct gossip *g, size_t peer, const uint8_t *b, size_t len, uint64_t now,
                      uint64_t wall_ms)
{
    if (!well_formed(b, len, 0))
        return GOSSIP_E_MALFORMED;
    struct gpeer *p = g->peers[peer];
    size_t n = get_be16(b), off = HDR;
    struct gossip_job *job = NULL;
    for (size_t i = 0; i < n && !p->closing; i++) {
        size_t l = get_be16(b + off);
        job = take_record(g, peer, b + off + 2, l, job, now, wall_ms);
        off += 2 + l;
    }
    if (job != NULL && job->n > 0)
        gossip_verify_queue(g, peer, job);
    else
        free(job);
    gossip_verify_pump(g);
    return p->closing ? GOSSIP_E_BUDGET : GOSSIP_OK;
}

struct short_hits {
    uint8_t ids[LIMIT_GOSSIP_SHORT_HITS][LIMIT_ID_BYTES];
    size_t n;
};

/* Keeps the first LIMIT_GOSSIP_SHORT_HITS ids of a short-id lookup. */
static int collect_short(const uint8_t id[LIMIT_ID_BYTES], const uint8_t *signed_rec, size_t len,
                         uint64_t seq, void *ctx)
{
    struct short_hits *h = ctx;
    (void)signed_rec, (void)len, (void)seq;
    assert(h->n < LIMIT_GOSSIP_SHORT_HITS);
    memcpy(h->ids[h->n++], id, LIMIT_ID_BYTES);
    return h->n == LIMIT_GOSSIP_SHORT_HITS;
}

static void on_announced(struct gossip *g, size_t peer, const uint8_t sid[SID], uint64_t now)
{
    const struct hkey k = gossip_hkey(g, sid);
    if (gossip_recent_mark_sid(g, k, peer))
        return;
    struct short_hits h = {.n = 0};
    if (g->ops.find_short(g->ops.ctx, sid, collect_short, &h) < 0) {
        g->st.store_errors++;
        return;
    }
    for (size_t i = 0; i < h.n; i++) /* the hash is of the short id they all start with */
        bit_set(
            bits_at(g->recent_bits, g->words, gossip_recent_add(g, (struct hkey){h.ids[i], k.h})),
            peer);
    if (h.n > 0)
        return;
    bool in_flight = gossip_cand_has_sid(g, k);
    /* Asked at once below; only a want nobody could be asked for needs the next flush (a
     * deadline of now would make every flush scan the want table). */
    uint32_t w = gossip_want_add(g, k, now + LIMIT_WANT_TIMEOUT_MS);
    if (w == NIL) { /* table full: reconciliation with this announcer brings it, soon */
        g->tm[peer].soon_pending = true;
        return;
    }
    bit_set(bits_at(g->want_ann, g->words, w), peer);
    struct want *e = &g->wants[w];
    if (!in_flight && e->asked == NONE && e->tries < LIMIT_GOSSIP_WANT_TRIES &&
        gossip_want_ask(g, w, now) != GOSSIP_WANT_ASKED) {
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

/* PRUNE: an origin prefix per item (gossip_tree.c). */
static int on_prune(struct gossip *g, size_t peer, const uint8_t *b, size_t len)
{
    if (!well_formed(b, len, SID))
        return GOSSIP_E_MALFORMED;
    size_t n = get_be16(b);
    for (size_t i = 0; i < n; i++)
        gossip_tree_prune(g, peer, b + HDR + i * SID);
    return GOSSIP_OK;
}

/* Queues every record with a wanted short id; drain (gossip_send.c) gates each, so a refused id
 * gets exactly the answer an unknown one gets: nothing. */
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
        const uint64_t hash = h.n > 0 ? gossip_hkey(g, sid).h : 0; /* of every hit's 8 bytes */
        for (size_t j = 0; j < h.n; j++) {
            /* The peer says it lacks it (e.g. it dropped our copy under load): believe it. */
            uint64_t *known = gossip_recent_known(g, (struct hkey){h.ids[j], hash});
            if (known != NULL)
                bit_clear(known, peer);
            gossip_tree_graft(g, peer, h.ids[j]);
            gossip_push_enqueue(g, peer, h.ids[j]);
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
    if (!peer_up(g, peer) || g->peers[peer]->closing)
        return GOSSIP_OK; /* a message racing the session's end */
    int rc = GOSSIP_OK;
    switch (type) {
    case GOSSIP_MSG_RECORDS: rc = on_records(g, peer, body, len, now, wall_ms); break;
    case GOSSIP_MSG_ANNOUNCE: rc = on_announce(g, peer, body, len, now); break;
    case GOSSIP_MSG_WANT: rc = on_want(g, peer, body, len); break;
    case GOSSIP_MSG_RECON: rc = gossip_on_recon(g, peer, body, len, now, wall_ms); break;
    case GOSSIP_MSG_RECON_REQ: rc = gossip_on_recon_req(g, peer, len, now); break;
    case GOSSIP_MSG_PRUNE: rc = on_prune(g, peer, body, len); break;
    default: /* a later version's message: ignored, within a budget */
        g->peers[peer]->st.unknown_types++;
        if (!gossip_charge(g, peer, PEERSCORE_UNKNOWN_TYPE,
                           1 + (uint32_t)(len / LIMIT_PEER_UNKNOWN_TOKEN_BYTES), now))
            rc = GOSSIP_E_BUDGET;
        break;
    }
    if (rc == GOSSIP_E_MALFORMED || rc == GOSSIP_E_RECON) {
        g->peers[peer]->st.malformed++;
        gossip_logf(g, GOSSIP_LOG_WARN, peer, "message type %u (%zu bytes): %s", (unsigned)type,
                    len, gossip_strerror(rc));
        gossip_close_for(g, peer, rc);
    }
    return rc;
}
