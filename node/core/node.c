/* node.c - one node's engine, gossip and community table (contract in node.h). */
#include "node/core/node_int.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/keys.h"
#include "node/core/peerscore.h"

enum { NODE_LINE_BYTES = 512 };

uint64_t node_now(const struct node *n)
{
    return n->io.now(n->io.ctx);
}

uint64_t node_wall(const struct node *n)
{
    return n->io.wall_ms(n->io.ctx);
}

void node_logf(const struct node *n, const char *fmt, ...)
{
    if (n->io.log == NULL)
        return;
    char line[NODE_LINE_BYTES];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    n->io.log(n->io.ctx, line);
}

static void community_log(void *ctx, const char *line)
{
    node_logf(ctx, "%s", line);
}

/* --- re-entrance --- */

static void gossip_enter(struct node *n)
{
    n->depth++;
}

static void gossip_leave(struct node *n)
{
    assert(n->depth > 0);
    if (--n->depth > 0)
        return;
    for (size_t i = 0; i < n->max_peers; i++)
        if (n->down_pending[i]) {
            n->down_pending[i] = false;
            gossip_peer_down(n->gossip, i);
        }
}

/* --- gate views --- */

/* The gate's view of peer from the config and the trusted rosters; false if no such peer. */
/* The gate view of peer and, in session_key, the key its session runs under (conf.key: after a
 * rotation the new key, where the view names the configured one). */
static bool peer_view(struct node *n, size_t peer, struct gate_peer *view,
                      uint8_t session_key[LIMIT_KEY_BYTES])
{
    struct engine_peer_conf conf;
    struct engine_peer_stats st;
    if (!engine_peer_get(&n->engine, peer, &conf, &st))
        return false;
    memcpy(session_key, conf.key, LIMIT_KEY_BYTES);
    /* by the key its config names (rosters and recipients name it so too) */
    int rc = community_fill_peer(n->ctab, n->cfg, node_config_key(n, conf.key), true, view);
    if (rc == COMMUNITY_E_TOOMANY)
        node_logf(n, "peer %s: %s", conf.name, community_strerror(rc));
    view->v1_types = (st.capabilities & PROTO_CAP_ITYPES_2) == 0;
    return true;
}

static int build_table(struct node *n)
{
    if (n->store == NULL)
        return COMMUNITY_OK; /* a fixed table */
    return community_table_build(&n->own_ctab, n->store, n->cfg, n->engine.params.id->sign_pk,
                                 false, community_log, n);
}

/* Rosters or the config changed: rebuild memberships and give gossip the new gate views. */
static void refresh(struct node *n)
{
    n->dirty = false;
    int rc = build_table(n);
    if (rc < 0 && rc != COMMUNITY_E_TOOMANY)
        node_logf(n, "communities: %s (no community memberships until fixed)",
                 community_strerror(rc));
    struct gate_self self;
    community_fill_self(n->ctab, n->cfg, &self);
    gossip_set_self(n->gossip, &self);
    for (size_t i = 0; i < n->max_peers; i++) { /* views only: no message is sent */
        struct gate_peer view;
        struct engine_peer_stats st;
        uint8_t key[LIMIT_KEY_BYTES];
        if (engine_peer_get(&n->engine, i, NULL, &st) && st.state == ENGINE_PEER_CONNECTED &&
            peer_view(n, i, &view, key))
            gossip_peer_up(n->gossip, i, &view, key, node_now(n));
    }
}

/* --- engine io: the shell's transport, and the sessions' messages for gossip --- */

static int eio_send(void *ctx, engine_conn conn, const uint8_t *bytes, size_t len)
{
    struct node *n = ctx;
    return n->io.send(n->io.ctx, conn, bytes, len);
}

static void eio_close(void *ctx, engine_conn conn)
{
    struct node *n = ctx;
    n->io.close(n->io.ctx, conn);
}

static int eio_dial(void *ctx, engine_conn conn, const char *host, uint16_t port)
{
    struct node *n = ctx;
    return n->io.dial(n->io.ctx, conn, host, port);
}

static void eio_random(void *ctx, uint8_t *buf, size_t len)
{
    struct node *n = ctx;
    n->io.random(n->io.ctx, buf, len);
}

static void eio_log(void *ctx, enum engine_log_level level, const char *event, const uint8_t *key,
                    const char *addr, const char *detail)
{
    struct node *n = ctx;
    n->io.engine_log(n->io.ctx, level, event, key, addr, detail);
}

static void eio_message(void *ctx, size_t peer, uint8_t type, const uint8_t *body, size_t len)
{
    struct node *n = ctx;
    if (n->io.message != NULL)
        n->io.message(n->io.ctx, peer, type, body, len);
    else
        (void)node_message(n, peer, type, body, len); /* gossip asked to close it if bad */
}

static void eio_peer_change(void *ctx, size_t peer, bool up)
{
    struct node *n = ctx;
    if (n->io.peer_change != NULL)
        n->io.peer_change(n->io.ctx, peer, up);
    node_peer_change(n, peer, up);
}

/* --- gossip io --- */

static int gio_send(void *ctx, size_t peer, uint8_t type, const uint8_t *body, size_t len)
{
    struct node *n = ctx;
    return engine_send(&n->engine, peer, type, body, len, node_now(n));
}

static size_t gio_backlog(void *ctx, size_t peer)
{
    struct node *n = ctx;
    engine_conn conn;
    if (!engine_peer_conn(&n->engine, peer, &conn))
        return 0;
    return n->io.backlog(n->io.ctx, conn);
}

/* The penalty of a session gossip closes (gossip logged why); 1: closed without one. */
static int close_penalty(int err)
{
    switch (err) {
    case GOSSIP_E_MALFORMED: return PEERSCORE_E_MALFORMED;
    case GOSSIP_E_FORGED: return PEERSCORE_E_FORGED;
    case GOSSIP_E_RECON: return PEERSCORE_E_RECON;
    default: return peerscore_is_reason(err) ? err : 1;
    }
}

void node_close_later(struct node *n, size_t peer, int penalty)
{
    if (peer < n->max_peers && n->close_peer[peer] == 0)
        n->close_peer[peer] = penalty;
}

/* Applied at the next turn, outside gossip's and the engine's call stacks. */
static void gio_close_peer(void *ctx, size_t peer, int err)
{
    node_close_later(ctx, peer, close_penalty(err));
}

static void gio_verify(void *ctx, struct gossip_job *job)
{
    struct node *n = ctx;
    if (n->io.verify != NULL)
        n->io.verify(n->io.ctx, job);
    else
        node_verify_later(n, job);
}

static void gio_commit(void *ctx, struct gossip_commit *c)
{
    struct node *n = ctx;
    n->io.commit(n->io.ctx, c);
}

static void gio_stored(void *ctx, const uint8_t id[LIMIT_ID_BYTES], uint8_t kind)
{
    struct node *n = ctx;
    if (kind == PROTO_KIND_ROSTER && n->store != NULL)
        n->dirty = true;
    if (n->io.stored != NULL)
        n->io.stored(n->io.ctx, id, kind);
}

static void gio_log(void *ctx, enum gossip_log_level level, size_t peer, const char *line)
{
    struct node *n = ctx;
    if (level == GOSSIP_LOG_DEBUG ? n->io.log_debug == NULL : n->io.log == NULL)
        return;
    char b64[LIMIT_PUBKEY_B64_LEN + 1] = "-";
    struct engine_peer_conf conf;
    if (peer < n->max_peers && engine_peer_get(&n->engine, peer, &conf, NULL))
        keys_pubkey_to_b64(conf.key, b64);
    if (level == GOSSIP_LOG_DEBUG)
        n->io.log_debug(n->io.ctx, b64, line);
    else
        node_logf(n, "gossip peer=%s: %s", b64, line);
}

/* --- lifetime --- */

static int start_gossip(struct node *n, const struct node_params *p, char *why, size_t why_len)
{
    struct gossip_params gp = p->gossip;
    gp.max_peers = n->max_peers;
    community_fill_self(n->ctab, n->cfg, &gp.self);
    struct gossip_io gio = {.ctx = n,
                            .send = gio_send,
                            .backlog = gio_backlog,
                            .close_peer = gio_close_peer,
                            .verify = gio_verify,
                            .commit = n->io.commit != NULL ? gio_commit : NULL,
                            .stored = gio_stored,
                            .log = gio_log};
    int rc = gossip_new(&n->gossip, &gp, &p->store_ops, &gio);
    if (rc < 0)
        snprintf(why, why_len, "gossip: %s", gossip_strerror(rc));
    return rc;
}

int node_init(struct node *n, const struct node_params *p, const struct node_io *io, char *why,
              size_t why_len)
{
    assert(n != NULL && p != NULL && io != NULL && p->cfg != NULL && p->engine.id != NULL);
    assert((p->store == NULL) != (p->communities == NULL));
    memset(n, 0, sizeof *n);
    community_table_init(&n->own_ctab);
    n->ctab = p->store != NULL ? &n->own_ctab : p->communities;
    n->cfg = p->cfg;
    n->store = p->store;
    n->io = *io;
    const struct engine_io eio = {n,          eio_send, eio_close,   eio_dial,
                                  eio_random, eio_log,  eio_message, eio_peer_change};
    /* This node decodes every indicator type (proto/indicator.h): peers may send it all. */
    struct engine_params ep = p->engine;
    ep.capabilities |= PROTO_CAP_ITYPES_2 | GOSSIP_CAP_TREE;
    int rc = engine_init(&n->engine, &ep, &eio);
    if (rc < 0) {
        snprintf(why, why_len, "%s", engine_strerror(rc));
        return rc;
    }
    n->engine_ready = true;
    n->max_peers = n->engine.max_peers;
    n->down_pending = calloc(n->max_peers, sizeof *n->down_pending);
    n->close_peer = calloc(n->max_peers, sizeof *n->close_peer);
    n->succ = calloc(1, sizeof *n->succ); /* all zero: an empty table */
    if (n->down_pending == NULL || n->close_peer == NULL || n->succ == NULL) {
        snprintf(why, why_len, "%s", engine_strerror(ENGINE_E_NOMEM));
        return ENGINE_E_NOMEM;
    }
    rc = build_table(n);
    if (rc < 0 && rc != COMMUNITY_E_TOOMANY) {
        snprintf(why, why_len, "communities: %s", community_strerror(rc));
        return rc;
    }
    return start_gossip(n, p, why, why_len);
}

void node_free(struct node *n)
{
    assert(n != NULL);
    if (n->gossip != NULL) {
        node_drain_jobs(n);
        gossip_free(n->gossip);
        n->gossip = NULL;
    }
    if (n->engine_ready)
        engine_free(&n->engine);
    n->engine_ready = false;
    community_table_free(&n->own_ctab);
    free(n->down_pending);
    free(n->close_peer);
    if (n->succ != NULL)
        succession_table_free(n->succ);
    free(n->succ);
    n->down_pending = NULL;
    n->close_peer = NULL;
    n->succ = NULL;
}

int node_set_peers(struct node *n, const struct config *cfg, uint64_t now)
{
    assert(n != NULL && cfg != NULL);
    struct engine_peer_conf *confs = calloc(cfg->n_peers ? cfg->n_peers : 1, sizeof *confs);
    if (confs == NULL)
        return ENGINE_E_NOMEM;
    for (size_t i = 0; i < cfg->n_peers; i++) {
        const struct config_peer *p = &cfg->peers[i];
        memcpy(confs[i].key, p->key, LIMIT_KEY_BYTES);
        snprintf(confs[i].name, sizeof confs[i].name, "%s", p->name);
        snprintf(confs[i].org, sizeof confs[i].org, "%s", p->organisation);
        if (p->has_endpoint) {
            snprintf(confs[i].host, sizeof confs[i].host, "%s", p->endpoint.host);
            confs[i].port = p->endpoint.port;
        }
        node_succession_conf(n, p, now, &confs[i]);
    }
    int rc = engine_set_peers(&n->engine, confs, cfg->n_peers, now);
    free(confs);
    return rc;
}

void node_views_changed(struct node *n)
{
    n->dirty = true;
}

/* --- the shell's calls --- */

int node_message(struct node *n, size_t peer, uint8_t type, const uint8_t *body, size_t len)
{
    if (type == NODE_MSG_SUCCESSION)
        return node_succession_message(n, peer, body, len);
    gossip_enter(n);
    int rc = gossip_on_message(n->gossip, peer, type, body, len, node_now(n), node_wall(n));
    gossip_leave(n);
    return rc;
}

void node_peer_change(struct node *n, size_t peer, bool up)
{
    assert(peer < n->max_peers);
    struct gate_peer view;
    uint8_t key[LIMIT_KEY_BYTES];
    if (!up && n->depth > 0) {
        n->down_pending[peer] = true;
    } else if (!up) {
        gossip_peer_down(n->gossip, peer);
    } else if (peer_view(n, peer, &view, key)) {
        assert(n->depth == 0); /* sessions open only on received bytes */
        struct engine_peer_stats st;
        gossip_enter(n);
        if (gossip_peer_up(n->gossip, peer, &view, key, node_now(n)) == GOSSIP_OK &&
            engine_peer_get(&n->engine, peer, NULL, &st))
            gossip_peer_caps(n->gossip, peer, st.capabilities); /* the HELLO's: fixed per session */
        gossip_leave(n);
        node_succession_peer_up(n, peer);
    }
}

void node_verified(struct node *n, struct gossip_job *job)
{
    gossip_enter(n);
    gossip_on_verified(n->gossip, job, node_now(n), node_wall(n));
    gossip_leave(n);
}

int node_committed(struct node *n, struct gossip_commit *c)
{
    gossip_enter(n);
    int rc = gossip_on_committed(n->gossip, c, node_now(n), node_wall(n));
    gossip_leave(n);
    return rc;
}

void node_verify_later(struct node *n, struct gossip_job *job)
{
    job->user = n->jobs;
    n->jobs = job;
}

/* Checks every job waiting for a turn with check (NULL: gossip_job_run) and gives it back. */
static void run_jobs(struct node *n, gossip_verify_fn check)
{
    while (n->jobs != NULL) {
        struct gossip_job *job = n->jobs;
        n->jobs = job->user;
        if (check != NULL)
            gossip_job_run_with(job, check, n->io.ctx);
        else
            gossip_job_run(job);
        gossip_on_verified(n->gossip, job, node_now(n), node_wall(n));
    }
}

void node_drain_jobs(struct node *n)
{
    gossip_enter(n);
    run_jobs(n, NULL);
    gossip_leave(n);
}

int node_local_scan(struct node *n)
{
    gossip_enter(n);
    /* The tools may have stored a roster (community create, add-member, remove-member): the
     * table is rebuilt before the scan gates the new records, and a peer whose view changed
     * gets a reconciliation round (gossip_peer_up), so a new member receives the community's
     * records at once and a removed one no new record. */
    if (n->store != NULL)
        refresh(n);
    int rc = gossip_local_scan(n->gossip, node_now(n), node_wall(n));
    gossip_leave(n);
    return rc;
}

int node_turn(struct node *n)
{
    gossip_enter(n);
    for (size_t i = 0; i < n->max_peers; i++)
        if (n->close_peer[i] != 0) {
            if (n->close_peer[i] < 0)
                engine_penalize(&n->engine, i, n->close_peer[i], node_now(n));
            else
                engine_close_peer(&n->engine, i);
            n->close_peer[i] = 0;
        }
    run_jobs(n, n->io.check);
    if (n->succ_dirty) { /* a peer's new key: the engine accepts it, the config names it */
        n->succ_dirty = false;
        if (node_set_peers(n, n->cfg, node_now(n)) < 0)
            node_logf(n, "succession: the engine refused the new peer keys");
        n->dirty = true;
    }
    if (n->dirty)
        refresh(n);
    int rc = gossip_flush(n->gossip, node_now(n), node_wall(n));
    gossip_leave(n);
    return rc;
}

uint64_t node_next_deadline(const struct node *n)
{
    uint64_t next = engine_next_deadline(&n->engine), gnext = gossip_next_deadline(n->gossip);
    return gnext < next ? gnext : next;
}
