/* gossip_net.c - the in-test mesh of test_gossip.c; see gossip_net.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "crypto/keys.h"
#include "node/core/gossip.h"
#include "store/gossip_lmdb.h"
#include "store/memstore.h"
#include "node/core/session.h"
#include "tests/support/ts_ident.h"
#include "tests/support/ts_record.h"
#include "tests/support/ts_store.h"
#include "tests/support/ts_topo.h"
#include "tests/gossip_net.h"

static struct net *current; /* for the emit hook */
size_t violations, emitted[3];

/* ---------- the oracle: docs/SHARING.md "The rule", from the test's own description ---------- */

static struct tnode *node_by_key(struct net *net, const uint8_t key[LIMIT_KEY_BYTES])
{
    for (size_t i = 0; i < net->n; i++)
        if (memcmp(net->nodes[i].id.sign_pk, key, LIMIT_KEY_BYTES) == 0)
            return &net->nodes[i];
    return NULL;
}

static bool member(const struct tnode *x, const char *comm)
{
    for (size_t i = 0; i < x->n_comms; i++)
        if (strcmp(x->comms[i], comm) == 0)
            return true;
    return false;
}

static bool in_audience(const struct trec *r, const struct tnode *x)
{
    if (r->n_comm == 0 && r->n_recip == 0)
        return true;
    for (size_t i = 0; i < r->n_recip; i++)
        if (r->recip[i] == x->idx)
            return true;
    for (size_t i = 0; i < r->n_comm; i++)
        if (member(x, r->comm[i]))
            return true;
    return false;
}

size_t n_links(const struct tnode *n)
{
    return n->net->topo.degree[n->idx];
}

/* The node at the far end of n's link in slot. */
size_t peer_at(const struct tnode *n, size_t slot)
{
    return n->net->topo.peer[n->idx][slot];
}

size_t slot_of(const struct tnode *n, size_t peer_node)
{
    return ts_topo_slot(&n->net->topo, n->idx, peer_node);
}

static const struct tlink *link_to(const struct tnode *n, size_t p)
{
    return ts_topo_linked(&n->net->topo, n->idx, p) ? &n->link[slot_of(n, p)] : NULL;
}

/* May n pass r to p, by the TLP table, audience and ceiling alone? */
static bool oracle_rule(const struct net *net, const struct trec *r, size_t n, size_t p)
{
    const struct tnode *N = &net->nodes[n], *P = &net->nodes[p];
    const struct tlink *l = link_to(N, p);
    if (l == NULL || l->ceiling < r->tlp)
        return false;
    bool same_org = N->org[0] && strcmp(N->org, P->org) == 0;
    switch (r->tlp) {
    case PROTO_TLP_CLEAR: return true;
    case PROTO_TLP_GREEN:
    case PROTO_TLP_AMBER_STRICT: return in_audience(r, P) || same_org;
    case PROTO_TLP_AMBER:
        return in_audience(r, P) || same_org ||
               (in_audience(r, N) && l->relation == GATE_RELATION_CLIENT);
    default:
        for (size_t i = 0; i < r->n_recip; i++)
            if (r->recip[i] == p)
                return true;
        return false;
    }
}

static bool oracle_hop(const struct net *net, const struct trec *r, size_t n, size_t p)
{
    if (!oracle_rule(net, r, n, p))
        return false;
    return r->target < 0 || oracle_rule(net, &net->recs[r->target], n, p);
}

static struct trec *rec_by_id(struct net *net, const uint8_t id[LIMIT_ID_BYTES])
{
    for (size_t i = 0; i < net->n_recs; i++)
        if (memcmp(net->recs[i].id, id, LIMIT_ID_BYTES) == 0)
            return &net->recs[i];
    return NULL;
}

static int node_has(const struct tnode *t, const uint8_t id[LIMIT_ID_BYTES])
{
    return t->lmdb.store ? store_has(t->lmdb.store, id) : memstore_has(&t->ms, id);
}

int node_is_revoked(const struct tnode *t, const uint8_t id[LIMIT_ID_BYTES],
                    const uint8_t origin[LIMIT_KEY_BYTES])
{
    return t->lmdb.store ? store_is_revoked(t->lmdb.store, id, origin)
                   : memstore_is_revoked(&t->ms, id, origin);
}

static void hook_emit(const uint8_t self[LIMIT_KEY_BYTES], const uint8_t peer[LIMIT_KEY_BYTES],
                      const uint8_t id[LIMIT_ID_BYTES], enum gossip_emit what)
{
    struct tnode *n = node_by_key(current, self), *p = node_by_key(current, peer);
    struct trec *r = rec_by_id(current, id);
    emitted[what]++;
    bool ok = n && p && r && oracle_hop(current, r, n->idx, p->idx);
    /* A reconciliation set may name a record to its own origin, whatever its rules. */
    if (!ok && n && p && r && what == GOSSIP_EMIT_RECON_ITEM && r->origin == p->idx)
        ok = true;
    /* A revoked record may still be named in a reconciliation... never: the gate refuses it on
     * every path once the sender holds the revocation. */
    if (ok && r->kind != PROTO_KIND_REVOCATION &&
        node_is_revoked(n, r->id, current->nodes[r->origin].id.sign_pk))
        ok = false;
    if (!ok) {
        violations++;
        print_error("gate violation: node %zu -> node %zu, record %02x%02x (what %d)\n",
                    n ? n->idx : 99, p ? p->idx : 99, id[0], id[1], (int)what);
    }
}

/* Nodes that must end up holding r: everyone reachable from its origin over allowed hops. */
static void oracle_holders(const struct net *net, const struct trec *r, bool out[MAX_NODES])
{
    size_t queue[MAX_NODES], head = 0, tail = 0;
    memset(out, 0, MAX_NODES * sizeof out[0]);
    out[r->origin] = true;
    queue[tail++] = r->origin;
    while (head < tail) {
        size_t n = queue[head++];
        const struct tnode *N = &net->nodes[n];
        for (size_t i = 0; i < n_links(N); i++) {
            size_t p = peer_at(N, i);
            if (!out[p] && oracle_hop(net, r, n, p)) {
                out[p] = true;
                queue[tail++] = p;
            }
        }
    }
}

/* ---------- the wiring ---------- */

void push_msg(struct net *net, size_t to, size_t slot, uint8_t type, const uint8_t *body,
              size_t len)
{
    if (net->m_len == net->m_cap) {
        size_t cap = net->m_cap ? net->m_cap * 2 : 256;
        struct ev *nq = malloc(cap * sizeof *nq);
        assert_non_null(nq);
        for (size_t i = 0; i < net->m_len; i++)
            nq[i] = net->msgs[(net->m_head + i) % net->m_cap];
        free(net->msgs);
        net->msgs = nq;
        net->m_cap = cap;
        net->m_head = 0;
    }
    struct ev *e = &net->msgs[(net->m_head + net->m_len++) % net->m_cap];
    e->at = net->now + LATENCY;
    e->to = to;
    e->slot = slot;
    e->type = type;
    e->len = len;
    e->body = malloc(len ? len : 1);
    assert_non_null(e->body);
    memcpy(e->body, body, len);
}

static int io_send(void *ctx, size_t peer, uint8_t type, const uint8_t *body, size_t len)
{
    struct tnode *n = ctx;
    assert_true(peer < n_links(n) && n->link[peer].up);
    assert_true(len <= SESSION_MAX_BODY);
    assert_true(type >= GOSSIP_MSG_RECORDS && type <= GOSSIP_MSG_PRUNE);
    n->sent[type - GOSSIP_MSG_RECORDS]++;
    struct tnode *to = &n->net->nodes[peer_at(n, peer)];
    push_msg(n->net, to->idx, slot_of(to, n->idx), type, body, len);
    return 0;
}

static void io_close(void *ctx, size_t peer, int err)
{
    struct tnode *n = ctx;
    struct net *net = n->net;
    assert_true(net->n_closes < 64);
    net->closes[net->n_closes].err = err;
    net->last_close_err = err;
    net->closes[net->n_closes].node = n->idx;
    net->closes[net->n_closes++].slot = peer;
}

static void io_verify(void *ctx, struct gossip_job *job)
{
    struct tnode *n = ctx;
    struct net *net = n->net;
    assert_true(net->j_len < 4096);
    n->verify_items += job->n;
    net->j_owner[net->j_len] = n->idx;
    net->jobs[net->j_len++] = job;
}

static void io_commit(void *ctx, struct gossip_commit *c)
{
    struct tnode *n = ctx;
    assert_null(n->commit); /* one commit out at a time */
    n->commit = c;
    n->commit_ran = false;
}

void fill_view(const struct tnode *n, size_t slot, struct gate_peer *v)
{
    const struct tnode *p = &n->net->nodes[peer_at(n, slot)];
    memset(v, 0, sizeof *v);
    v->authenticated = true;
    memcpy(v->key, p->id.sign_pk, LIMIT_KEY_BYTES);
    snprintf(v->org, sizeof v->org, "%s", p->org);
    v->relation = n->link[slot].relation;
    v->ceiling = n->link[slot].ceiling;
    v->n_communities = (uint8_t)p->n_comms;
    for (size_t i = 0; i < p->n_comms; i++)
        snprintf(v->communities[i], sizeof v->communities[i], "%s", p->comms[i]);
}

struct net *net_new(size_t n_nodes)
{
    struct net *net = calloc(1, sizeof *net);
    assert_non_null(net);
    net->recs = calloc(MAX_RECS, sizeof *net->recs);
    assert_non_null(net->recs);
    net->n = n_nodes;
    ts_topo_init(&net->topo, n_nodes, MAX_DEG);
    net->lmdb_node = -1;
    current = net;
    violations = 0;
    memset(emitted, 0, sizeof emitted);
    gossip_test_emit_hook = hook_emit;
    for (size_t i = 0; i < n_nodes; i++) {
        struct tnode *t = &net->nodes[i];
        t->net = net;
        t->idx = i;
        ts_identity((uint8_t)(i + 1), &t->id);
        snprintf(t->org, sizeof t->org, "org-%zu", i);
        for (size_t s = 0; s < MAX_DEG; s++) /* every link starts down, ceiling RED, partner */
            t->link[s] = (struct tlink){false, PROTO_TLP_RED, GATE_RELATION_PARTNER};
    }
    return net;
}

/* A new gossip instance for t over its store, as `tlpmesh run` makes one: its local scan starts
 * after the store's last record. */
static void gossip_start(struct net *net, struct tnode *t)
{
    uint8_t key[GOSSIP_HASH_KEY_BYTES] = {(uint8_t)t->idx, 7};
    struct gossip_params p = {.max_peers = MAX_DEG, .cand_cap = net->cand_cap,
                              .push_cap = net->push_cap,
                              .track_holds = true, .start_seq = memstore_last_seq(&t->ms)};
    memcpy(p.hash_key, key, sizeof key);
    memcpy(p.self.key, t->id.sign_pk, LIMIT_KEY_BYTES);
    snprintf(p.self.org, sizeof p.self.org, "%s", t->org);
    p.self.n_communities = (uint8_t)t->n_comms;
    for (size_t c = 0; c < t->n_comms; c++)
        snprintf(p.self.communities[c], sizeof p.self.communities[c], "%s", t->comms[c]);
    struct gossip_io io = {.ctx = t, .send = io_send, .close_peer = io_close,
                           .verify = io_verify, .commit = net->defer_commit ? io_commit : NULL};
    assert_int_equal(gossip_new(&t->g, &p, &t->ops, &io), GOSSIP_OK);
}

/* Starts every node's gossip once orgs, communities and links are set. */
void net_start(struct net *net)
{
    for (size_t i = 0; i < net->n; i++) {
        struct tnode *t = &net->nodes[i];
        uint8_t key[GOSSIP_HASH_KEY_BYTES] = {(uint8_t)i, 7};
        assert_int_equal(memstore_init(&t->ms, key), STORE_OK);
        memstore_gossip_ops(&t->ms, &t->ops);
        if ((int)i == net->lmdb_node) {
            ts_store_temp(&t->lmdb, "gossip");
            assert_int_equal(gossip_lmdb_init(&t->adapter, t->lmdb.store, &t->ops), GOSSIP_OK);
        }
        gossip_start(net, t);
    }
}

static bool give_back_commit(struct net *net);

void net_free(struct net *net)
{
    for (size_t i = 0; i < net->j_len; i++)
        gossip_on_verified(net->nodes[net->j_owner[i]].g, net->jobs[i], net->now,
                           WALL0 + net->now);
    net->hold_commits = false;
    while (give_back_commit(net))
        ;
    for (size_t i = 0; i < net->m_len; i++)
        free(net->msgs[(net->m_head + i) % net->m_cap].body);
    free(net->msgs);
    for (size_t i = 0; i < net->n; i++) {
        struct tnode *t = &net->nodes[i];
        gossip_free(t->g);
        memstore_free(&t->ms);
        if (t->lmdb.store) {
            gossip_lmdb_free(&t->adapter);
            ts_store_temp_close(&t->lmdb);
        }
        keys_identity_wipe(&net->nodes[i].id);
    }
    free(net->recs);
    free(net);
    gossip_test_emit_hook = NULL;
    current = NULL;
}

void link_up(struct net *net, size_t a, size_t b)
{
    size_t ends[2][2] = {{a, b}, {b, a}};
    for (int k = 0; k < 2; k++) {
        struct tnode *n = &net->nodes[ends[k][0]];
        size_t s = slot_of(n, ends[k][1]);
        struct gate_peer v;
        fill_view(n, s, &v);
        n->link[s].up = true;
        assert_int_equal(gossip_peer_up(n->g, s, &v, v.key, net->now), GOSSIP_OK);
    }
}

static void link_down(struct net *net, size_t a, size_t b)
{
    size_t ends[2][2] = {{a, b}, {b, a}};
    for (int k = 0; k < 2; k++) {
        struct tnode *n = &net->nodes[ends[k][0]];
        size_t s = slot_of(n, ends[k][1]);
        n->link[s].up = false;
        gossip_peer_down(n->g, s);
    }
}

/* A node stops (its links go down, its gossip and everything it remembered of its peers with
 * it) and starts again on the same store, with its links up again. Idle first: no job out. */
void node_restart(struct net *net, size_t idx)
{
    struct tnode *t = &net->nodes[idx];
    bool was_up[MAX_DEG] = {false};
    for (size_t s = 0; s < n_links(t); s++)
        if ((was_up[s] = t->link[s].up))
            link_down(net, idx, peer_at(t, s));
    for (size_t i = 0; i < net->j_len; i++)
        assert_true(net->j_owner[i] != idx);
    gossip_free(t->g);
    gossip_start(net, t);
    for (size_t s = 0; s < n_links(t); s++)
        if (was_up[s])
            link_up(net, idx, peer_at(t, s));
}

void apply_closes(struct net *net)
{
    for (size_t i = 0; i < net->n_closes; i++) {
        struct tnode *n = &net->nodes[net->closes[i].node];
        size_t s = net->closes[i].slot;
        if (n->link[s].up)
            link_down(net, n->idx, peer_at(n, s));
    }
    net->n_closes = 0;
}

static void flush_node(struct net *net, struct tnode *t)
{
    assert_int_equal(gossip_flush(t->g, net->now, WALL0 + net->now), GOSSIP_OK);
    apply_closes(net);
}

static bool run_one_job(struct net *net)
{
    if (net->j_len == 0)
        return false;
    struct gossip_job *job = net->jobs[0];
    struct tnode *t = &net->nodes[net->j_owner[0]];
    memmove(net->jobs, net->jobs + 1, (net->j_len - 1) * sizeof net->jobs[0]);
    memmove(net->j_owner, net->j_owner + 1, (net->j_len - 1) * sizeof net->j_owner[0]);
    net->j_len--;
    gossip_job_run(job);
    gossip_on_verified(t->g, job, net->now, WALL0 + net->now);
    flush_node(net, t);
    return true;
}

void commit_run_only(struct net *net, size_t node)
{
    struct tnode *t = &net->nodes[node];
    assert_non_null(t->commit);
    if (!t->commit_ran)
        gossip_commit_run(t->commit);
    t->commit_ran = true;
}

/* The first node's commit that is out: run (unless it ran) and given back. */
static bool give_back_commit(struct net *net)
{
    for (size_t i = 0; i < net->n && !net->hold_commits; i++) {
        struct tnode *t = &net->nodes[i];
        if (t->commit == NULL)
            continue;
        commit_run_only(net, i);
        struct gossip_commit *c = t->commit;
        t->commit = NULL;
        assert_int_equal(gossip_on_committed(t->g, c, net->now, WALL0 + net->now), GOSSIP_OK);
        flush_node(net, t);
        return true;
    }
    return false;
}

static bool deliver_one(struct net *net)
{
    if (net->m_len == 0 || net->msgs[net->m_head].at > net->now)
        return false;
    struct ev e = net->msgs[net->m_head];
    net->m_head = (net->m_head + 1) % net->m_cap;
    net->m_len--;
    struct tnode *t = &net->nodes[e.to];
    if (t->link[e.slot].up) { /* else: in flight when the link went down */
        t->bytes_in += e.len;
        gossip_on_message(t->g, e.slot, e.type, e.body, e.len, net->now, WALL0 + net->now);
        apply_closes(net);
        flush_node(net, t);
    }
    free(e.body);
    return true;
}

/* Runs events until nothing is due before now + ms. */
void run(struct net *net, uint64_t ms)
{
    uint64_t until = net->now + ms;
    for (;;) {
        if (!net->defer_verify && !net->hold_verify && run_one_job(net))
            continue;
        if (give_back_commit(net))
            continue;
        if (deliver_one(net))
            continue;
        if (net->defer_verify && !net->hold_verify && run_one_job(net))
            continue;
        uint64_t next = net->m_len ? net->msgs[net->m_head].at : UINT64_MAX;
        for (size_t i = 0; i < net->n; i++) {
            uint64_t d = gossip_next_deadline(net->nodes[i].g);
            next = d < next ? d : next;
        }
        if (next > until)
            break;
        if (next > net->now)
            net->now = next;
        for (size_t i = 0; i < net->n; i++)
            if (gossip_next_deadline(net->nodes[i].g) <= net->now)
                flush_node(net, &net->nodes[i]);
    }
    net->now = until;
}

/* ---------- records ---------- */

/* Signs a new record of origin into buf; registers it for the oracle. Returns its index. */
size_t make_record(struct net *net, size_t origin, const struct spec *sp, int target,
                   uint8_t buf[TS_SIGNED_BYTES], size_t *len)
{
    struct proto_record *r = ts_record_alloc();
    assert_true(net->n_recs < MAX_RECS);
    struct trec *t = &net->recs[net->n_recs];
    unsigned n = ++net->counter;
    const uint64_t created_ms = WALL0 - 1000 + n;
    if (target >= 0) {
        ts_revocation(r, sp->tlp, net->recs[target].id, "false positive", created_ms);
    } else {
        uint8_t h[32];
        char hex[2 * sizeof h + 1];
        crypto_hash_sha256(h, (const uint8_t *)&n, sizeof n);
        sodium_bin2hex(hex, sizeof hex, h, sizeof h);
        ts_indicator(r, sp->tlp, PROTO_ITYPE_SHA256, hex, created_ms,
                     WALL0 + (net->valid_for_ms ? net->valid_for_ms : 86400000ull * 30));
        r->u.ind.confidence = 50;
    }
    for (size_t i = 0; i < MAX_AUD && sp->comm[i]; i++) {
        snprintf(r->audience.communities[i], LIMIT_NAME_BYTES + 1, "%s", sp->comm[i]);
        snprintf(t->comm[i], LIMIT_NAME_BYTES + 1, "%s", sp->comm[i]);
        r->audience.n_communities++;
        t->n_comm++;
    }
    for (size_t i = 0; i < MAX_AUD && sp->recip[i] >= 0; i++) {
        memcpy(r->audience.recipients[i], net->nodes[sp->recip[i]].id.sign_pk, LIMIT_KEY_BYTES);
        t->recip[t->n_recip++] = (size_t)sp->recip[i];
        r->audience.n_recipients++;
    }
    *len = ts_sign(r, &net->nodes[origin].id, buf, t->id);
    t->kind = r->kind;
    t->tlp = r->tlp;
    t->origin = origin;
    t->target = target;
    free(r);
    return net->n_recs++;
}

/* As `tlpmesh publish` does: straight into the node's store, then the node's local scan. */
size_t publish(struct net *net, size_t origin, const struct spec *sp, int target)
{
    static uint8_t buf[TS_SIGNED_BYTES];
    size_t len;
    size_t i = make_record(net, origin, sp, target, buf, &len);
    struct store_put put = {.signed_rec = buf, .len = len};
    memcpy(put.id, net->recs[i].id, LIMIT_ID_BYTES);
    struct tnode *o = &net->nodes[origin];
    if (o->lmdb.store) {
        struct proto_record *r = malloc(sizeof *r);
        assert_non_null(r);
        assert_int_equal(proto_record_decode(buf + LIMIT_SIG_BYTES, len - LIMIT_SIG_BYTES, r,
                                             NULL, 0),
                         PROTO_OK);
        put.rec = r;
        assert_int_equal(store_put_batch(o->lmdb.store, &put, 1), STORE_OK);
        free(r);
    } else {
        assert_int_equal(memstore_put_batch(&o->ms, &put, 1), STORE_OK);
    }
    assert_int_equal(put.result, STORE_PUT_ADDED);
    struct tnode *t = &net->nodes[origin];
    assert_int_equal(gossip_local_scan(t->g, net->now, WALL0 + net->now), GOSSIP_OK);
    return i;
}

bool holds(struct net *net, size_t node, size_t rec)
{
    return node_has(&net->nodes[node], net->recs[rec].id) == 1;
}

void assert_holders_match_oracle(struct net *net)
{
    for (size_t r = 0; r < net->n_recs; r++) {
        bool want[MAX_NODES];
        oracle_holders(net, &net->recs[r], want);
        for (size_t n = 0; n < net->n; n++)
            if (holds(net, n, r) != want[n])
                fail_msg("record %zu (tlp %u, origin %zu): node %zu holds=%d, entitled=%d", r,
                         net->recs[r].tlp, net->recs[r].origin, n, holds(net, n, r), want[n]);
    }
}

const struct gossip_peer_stats *pst(struct net *net, size_t node, size_t peer_node)
{
    struct tnode *t = &net->nodes[node];
    const struct gossip_peer_stats *s = gossip_peer_stats(t->g, slot_of(t, peer_node));
    assert_non_null(s);
    return s;
}
