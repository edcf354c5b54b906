/* gossip_verify.c - signature jobs (any thread) and their results (the gossip's thread): a
 * failed record ends the sender's session; a good one passes the inbound gate before it waits for
 * its commit.
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
    uint32_t w = gossip_want_find(g, (struct hkey){c->id, c->h});
    if (w != NIL && g->wants[w].asked == c->from) { /* ask another announcer now */
        gossip_want_unask(g, &g->wants[w]);
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
    /* Only a signature that fails is a forgery; a body that does not decode is malformed. */
    const bool forged = result == PROTO_E_SIGNATURE;
    if (forged)
        p->st.forged++;
    else
        p->st.malformed++;
    gossip_logf(g, GOSSIP_LOG_WARN, c->from, "record %02x%02x%02x%02x...: %s", c->id[0], c->id[1],
         c->id[2], c->id[3], proto_strerror(result));
    g->io.close_peer(g->io.ctx, c->from, forged ? GOSSIP_E_FORGED : GOSSIP_E_MALFORMED);
}

/* The views the inbound gate runs on, rebuilt when the self or a peer view changes. */
void gossip_inbound_views(struct gossip *g, struct gpeer *p)
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
    if (!gossip_view_load(g, c->id, c->bytes, c->len, &v))
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
        assert(g->ver_len < g->cand_cap);
        g->verified[(g->ver_head + g->ver_len++) % g->cand_cap] = ci;
    }
    free(job);
}
