/* gossip_verify.c - signature jobs (any thread) and their results (the gossip's thread): a
 * failed record ends the sender's session; a good one passes the inbound gate before it waits for
 * its commit. Before any of that, gossip_precheck refuses on the record as received what the
 * time rules or the inbound gate would refuse after the verify; each peer's jobs wait in its own
 * queue, served round robin (fair ingest: a flooder waits behind its own records).
 */
#include "node/core/gossip_int.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

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

/* A record from peer was refused: if it answered our WANT, another announcer is asked now. */
static void ask_elsewhere(struct gossip *g, struct hkey k, size_t peer, uint64_t now)
{
    uint32_t w = gossip_want_find(g, k);
    if (w != NIL && g->wants[w].asked == peer) {
        gossip_want_unask(g, &g->wants[w]);
        g->want_dl[w] = now;
        g->want_next = now;
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
    ask_elsewhere(g, (struct hkey){c->id, c->h}, c->from, now);
    if (c->from == GOSSIP_LOCAL || !peer_up(g, c->from) || g->peers[c->from]->gen != c->from_gen)
        return;
    struct gpeer *p = g->peers[c->from];
    if (time) {
        p->st.refused_time++;
        return;
    }
    /* Only a signature that fails is a forgery; a body that does not decode is malformed. */
    const bool forged = result == PROTO_E_SIGNATURE;
    if (forged)
        p->st.forged++;
    else
        p->st.malformed++;
    gossip_logf(g, GOSSIP_LOG_WARN, c->from, "record %02x%02x%02x%02x...: %s", c->id[0], c->id[1],
         c->id[2], c->id[3], proto_strerror(result));
    gossip_close_for(g, c->from, forged ? GOSSIP_E_FORGED : GOSSIP_E_MALFORMED);
}

/* This node as the inbound gate's receiver, built per check from p.self like the sender's view
 * (a 4 KiB view per instance was a good part of a simulated node): the header and the names
 * below n_communities, the only ones the gate reads. */
static void me_view(const struct gossip *g, struct gate_peer *me)
{
    const struct gate_self *self = &g->p.self;
    assert(self->n_communities <= LIMIT_GATE_MEMBERSHIPS);
    me->authenticated = true;
    me->relation = GATE_RELATION_CLIENT;
    me->ceiling = PROTO_TLP_RED;
    me->v1_types = false;
    memcpy(me->key, self->key, LIMIT_KEY_BYTES);
    memcpy(me->org, self->org, sizeof me->org);
    me->n_communities = self->n_communities;
    memcpy(me->communities, self->communities, self->n_communities * sizeof self->communities[0]);
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

static bool inbound_allows(struct gossip *g, size_t from, const struct rview *vp, uint64_t wall_ms)
{
    const struct rview v = *vp;
    if (v.r->kind == PROTO_KIND_SIGHTING && v.target == NULL)
        return INBOUND_ALLOW; /* who may learn an unknown target's id: only the sender knows */
    /* The sender's memberships are its own business (its config, rosters we may not hold: a
     * client holds none), so it counts as a member of every community the record names. Ours
     * are not taken on its word: a byzantine peer would otherwise hand any community record to
     * anyone. We count as a member by our own trusted rosters, or by the roster being delivered
     * when it lists us. A record refused here for want of a roster we receive later comes again
     * with the reconciliation that a change of our memberships starts (gossip_set_self). */
    struct scratch *x = gossip_scratch();
    struct gate_self *sender = &x->in_sender; /* key and organisation of its view: the header
                                                 only, the names below n_communities count */
    const struct gpeer *p = g->peers[from];
    memcpy(sender->key, p->view->key, LIMIT_KEY_BYTES);
    memcpy(sender->org, p->view->org, sizeof sender->org);
    sender->n_communities = 0;
    favour_members(sender->communities, &sender->n_communities, v.r, v.target);
    struct gate_peer *me = &x->in_me;
    me_view(g, me);
    roster_membership(me->communities, &me->n_communities, v.r, me->key);
    struct gate_record_state st = {.target = v.target}; /* revoked: the store refuses it */
    return gate_check(sender, me, v.r, &st, wall_ms) == GATE_ALLOW;
}

/* The inbound gate on a verified candidate: what it allows is now vouched for by the origin. */
static int inbound_check(struct gossip *g, const struct cand *c, uint64_t wall_ms)
{
    if (c->from == GOSSIP_LOCAL)
        return INBOUND_ALLOW;
    if (!peer_up(g, c->from) || g->peers[c->from]->gen != c->from_gen)
        return INBOUND_GONE; /* the sender's view may have gone with its session: fail closed */
    struct rview v;
    if (!gossip_view_load(g, c->id, c->bytes, c->len, &v))
        return INBOUND_REFUSE; /* verified bodies decode: unreachable short of a bug */
    return inbound_allows(g, c->from, &v, wall_ms) ? INBOUND_ALLOW : INBOUND_REFUSE;
}

/* Before the signature (WireGuard checks before it spends): the time rules and the inbound gate
 * on the record as received. They only refuse. A record they refuse would be refused after its
 * verify as well, since the id is the hash of these very bytes: a forgery refused here is one
 * the signature would have refused, and no genuine record is lost. What they allow is verified
 * and gated again on the verified record. False: refused and counted, against the budget. */
bool gossip_precheck(struct gossip *g, size_t peer, const uint8_t id[LIMIT_ID_BYTES],
                     const uint8_t *bytes, size_t len, uint64_t now, uint64_t wall_ms)
{
    struct gpeer *p = g->peers[peer];
    struct rview v;
    if (!gossip_view_load(g, id, bytes, len, &v))
        return true; /* does not decode: the verify job says so, and the session ends */
    enum peerscore_kind k;
    if (proto_record_check_time(v.r, wall_ms) != PROTO_OK) {
        g->st.refused_time++;
        p->st.refused_time++;
        k = PEERSCORE_TIME;
    } else if (!inbound_allows(g, peer, &v, wall_ms)) {
        g->st.refused_inbound++;
        p->st.refused_inbound++;
        k = PEERSCORE_GATE;
    } else {
        return true;
    }
    if (g->p.log_refusals)
        gossip_logf(g, GOSSIP_LOG_DEBUG, peer, "record %02x%02x%02x%02x...: refused: %s", id[0],
                    id[1], id[2], id[3], k == PEERSCORE_TIME ? "time" : "not allowed to us");
    ask_elsewhere(g, gossip_hkey(g, id), peer, now);
    (void)gossip_charge(g, peer, k, 1, now);
    return false;
}

/* --- the per-peer verify queues --- */

struct gossip_job *gossip_job_alloc(uint64_t wall_ms)
{
    const size_t n = LIMIT_GOSSIP_JOB_RECORDS;
    struct gossip_job *job = malloc(sizeof *job + n * (sizeof *job->items + sizeof *job->cand));
    if (job == NULL)
        return NULL;
    job->items = (struct gossip_job_item *)(job + 1);
    job->cand = (uint32_t *)(job->items + n);
    job->wall_ms = wall_ms;
    job->user = NULL;
    job->from = GOSSIP_LOCAL;
    job->qnext = NULL;
    job->n = 0;
    return job;
}

void gossip_verify_queue(struct gossip *g, size_t peer, struct gossip_job *job)
{
    assert(job->n > 0 && job->n <= LIMIT_GOSSIP_JOB_RECORDS);
    struct gpeer *p = g->peers[peer];
    job->from = peer;
    job->qnext = NULL;
    if (p->vq_tail != NULL)
        p->vq_tail->qnext = job;
    else
        p->vq_head = job;
    p->vq_tail = job;
    g->st.verify_submitted += job->n;
}

/* Hands queued jobs to io.verify while fewer than LIMIT_GOSSIP_JOBS_OUT are out, one peer's at
 * a time in turn. */
void gossip_verify_pump(struct gossip *g)
{
    while (g->jobs_out < LIMIT_GOSSIP_JOBS_OUT) {
        struct gpeer *p = NULL;
        size_t i = 0;
        for (; i < g->p.max_peers && p == NULL; i++) {
            struct gpeer *q = g->peers[(g->vq_next + i) % g->p.max_peers];
            p = q != NULL && q->vq_head != NULL ? q : NULL;
        }
        if (p == NULL)
            return;
        g->vq_next = (g->vq_next + i) % g->p.max_peers;
        struct gossip_job *job = p->vq_head;
        p->vq_head = job->qnext;
        if (p->vq_head == NULL)
            p->vq_tail = NULL;
        job->qnext = NULL;
        g->jobs_out++;
        g->io.verify(g->io.ctx, job);
    }
}

/* The peer's session ended: its records not yet handed out are dropped unverified
 * (reconciliation or another announcer brings them again). */
void gossip_verify_drop(struct gossip *g, size_t peer)
{
    struct gpeer *p = g->peers[peer];
    while (p->vq_head != NULL) {
        struct gossip_job *job = p->vq_head;
        p->vq_head = job->qnext;
        for (size_t i = 0; i < job->n; i++)
            gossip_cand_release(g, job->cand[i]);
        free(job);
    }
    p->vq_tail = NULL;
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
            gossip_cand_release(g, ci);
            continue;
        }
        g->st.verify_ok++;
        int in = inbound_check(g, c, wall_ms);
        if (in == INBOUND_GONE) {
            gossip_cand_release(g, ci); /* reconciliation or another announcer brings it again */
            continue;
        }
        if (in == INBOUND_REFUSE) {
            g->st.refused_inbound++;
            g->peers[c->from]->st.refused_inbound++;
            gossip_logf(g, GOSSIP_LOG_WARN, c->from,
                        "record %02x%02x%02x%02x...: not allowed to us", c->id[0], c->id[1],
                        c->id[2], c->id[3]);
            gossip_cand_release(g, ci);
            continue;
        }
        if (gossip_cand_verified(g, (struct hkey){c->id, c->h})) { /* two good copies: first wins */
            g->st.duplicates++;
            gossip_cand_release(g, ci);
            continue;
        }
        c->state = CAND_VERIFIED;
        c->kind = job->items[i].kind;
        const bool first = commitq_len(&g->cq) == 0;
        commitq_push(&g->cq, c->from == GOSSIP_LOCAL ? g->p.max_peers : c->from, ci, now);
        gossip_commit_queued(g, first, now);
    }
    free(job);
    gossip_verify_pump(g);
}
