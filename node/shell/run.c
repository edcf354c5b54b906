/* run.c - see run.h; the files of `tlpmesh run` are listed in run_int.h. */
#include "node/shell/run.h"

#include <assert.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <sodium.h>
#include <systemd/sd-daemon.h>

#include "node/shell/http.h"
#include "node/shell/log.h"
#include "node/shell/run_int.h"

uint64_t run_now(const struct run *r)
{
    return uv_now(&r->loop);
}

uint64_t run_unix_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* --- the node's io: clocks, random bytes, logs, the thread pool (run_conn.c: transport) --- */

static uint64_t io_now(void *ctx)
{
    return run_now(ctx);
}

static uint64_t io_wall_ms(void *ctx)
{
    (void)ctx;
    return run_unix_ms();
}

static void io_random(void *ctx, uint8_t *buf, size_t n)
{
    (void)ctx;
    randombytes_buf(buf, n);
}

/* A flood of unauthenticated connections must not become a flood of log lines (an attacker
 * could fill the disk at a line per connection): at most LIMIT_LOG_REFUSED_PER_S lines a second
 * for connections refused before a key was shown; the next one after that second says how many
 * were left out. status and /metrics count every one. */
static bool refused_line_allowed(struct run *r)
{
    uint64_t now = run_now(r);
    if (now - r->refused_log_since >= 1000) {
        if (r->refused_log_skipped > 0) {
            char n[24];
            snprintf(n, sizeof n, "%" PRIu64, r->refused_log_skipped);
            log_event(LOG_WARN, "refused", "more unauthenticated connections refused or evicted "
                      "than the log shows (counters: tlpmesh status)", "not_logged", n, NULL);
        }
        r->refused_log_since = now;
        r->refused_logged = r->refused_log_skipped = 0;
    }
    if (r->refused_logged < LIMIT_LOG_REFUSED_PER_S) {
        r->refused_logged++;
        return true;
    }
    r->refused_log_skipped++;
    return false;
}

static void io_log(void *ctx, enum engine_log_level level, const char *event, const uint8_t *key,
                   const char *addr, const char *detail)
{
    struct run *r = ctx;
    if (key == NULL && strcmp(event, "refused") == 0 && !refused_line_allowed(r))
        return;
    char b64[LIMIT_PUBKEY_B64_LEN + 1] = "-";
    const char *name = "-";
    if (key) {
        keys_pubkey_to_b64(key, b64);
        const struct config_peer *p = config_find_peer(&r->cfg, key);
        if (p && p->name[0])
            name = p->name;
    }
    log_event(level == ENGINE_LOG_WARN ? LOG_WARN : LOG_INFO, event, detail, "peer", b64, "name",
              name, "addr", addr, NULL);
}


static void io_line(void *ctx, const char *line)
{
    (void)ctx;
    fprintf(stderr, "tlpmesh: %s\n", line);
}

static void io_debug(void *ctx, const char *peer_b64, const char *line)
{
    (void)ctx;
    log_event(LOG_DEBUG, "gossip", line, "peer", peer_b64, NULL);
}

static void io_verify(void *ctx, struct gossip_job *job)
{
    struct run *r = ctx;
    verifier_submit(&r->verifier, job);
}

static void io_commit(void *ctx, struct gossip_commit *c)
{
    struct run *r = ctx;
    committer_submit(&r->committer, c);
}

/* --- loop plumbing --- */

static void on_timer(uv_timer_t *t)
{
    struct run *r = t->data;
    if (!r->stopping)
        engine_tick(&r->node.engine, run_now(r));
}

/* Once per loop turn, before waiting: accepting and reading start again, the node's turn (closes, jobs, gate
 * views, gossip commit and send), reading again, write what the engine queued, arm the one timer.
 * Reading again after the turn: a peer held back for want of candidate room (gossip_may_read)
 * sees the room this turn's commit made before the loop waits (nothing else may wake it); the
 * others were started before the turn and are not touched. */
static void on_prepare(uv_prepare_t *p)
{
    struct run *r = p->data;
    run_conn_accept_turn(r);
    run_conn_read_turn(r);
    int rc = node_turn(&r->node);
    if (rc < 0)
        fprintf(stderr, "tlpmesh: gossip: %s\n", gossip_strerror(rc));
    run_conn_read_turn(r);
    run_conn_flush_all(r);
    uint64_t next = node_next_deadline(&r->node), now = run_now(r);
    if (next == UINT64_MAX)
        uv_timer_stop(&r->timer);
    else
        uv_timer_start(&r->timer, on_timer, next > now ? next - now : 0, 0);
}

/* One bounded prune transaction per run; a full batch means more are due: run again at once
 * (the next loop turn) rather than a minute later, so a backlog drains without long turns. */
static void on_prune(uv_timer_t *t)
{
    struct run *r = t->data;
    size_t pruned = 0;
    int rc = store_prune_expired(r->store, run_unix_ms(), LIMIT_PRUNE_GRACE_MS, LIMIT_PRUNE_BATCH,
                                 &pruned);
    if (rc < 0) {
        log_event(LOG_WARN, "prune_failed", store_strerror(rc), NULL);
        return;
    }
    if (pruned > 0) {
        char n[24];
        snprintf(n, sizeof n, "%zu", pruned);
        log_event(LOG_INFO, "pruned", "expired records removed", "records", n, NULL);
    }
    if (pruned == LIMIT_PRUNE_BATCH)
        uv_timer_start(t, on_prune, 0, LIMIT_PRUNE_INTERVAL_MS);
}

static void on_shutdown_deadline(uv_timer_t *t)
{
    struct run *r = t->data;
    fprintf(stderr, "tlpmesh: shutdown: peers did not take our CLOSE in time, cutting%s\n",
            r->committer.out ? " (a store commit in progress is waited for)" : "");
    run_close_all(r);
}

static void stop(struct run *r)
{
    if (r->stopping)
        return;
    r->stopping = true;
    fprintf(stderr, "tlpmesh: shutting down\n");
    /* Type=notify: systemd shows the unit as deactivating; a no-op without NOTIFY_SOCKET. */
    sd_notify(0, "STOPPING=1");
    engine_shutdown(&r->node.engine); /* CLOSE(SHUTDOWN) queued and io_close on every connection */
    uv_prepare_stop(&r->prepare);
    uv_close((uv_handle_t *)&r->prepare, NULL);
    uv_close((uv_handle_t *)&r->prune_timer, NULL);
    uv_close((uv_handle_t *)&r->sig_int, NULL);
    uv_close((uv_handle_t *)&r->sig_term, NULL);
    uv_close((uv_handle_t *)&r->sig_hup, NULL);
    if (r->listening)
        uv_close((uv_handle_t *)&r->listener, NULL);
    control_close(&r->control);
    committer_stop(&r->committer); /* no turn hands out another commit */
    http_stop(r->http); /* taxii helper */
    uv_timer_start(&r->timer, on_shutdown_deadline, LIMIT_SHUTDOWN_MS, 0);
    uv_unref((uv_handle_t *)&r->timer); /* do not wait for it if everything closes first */
}

static void on_signal(uv_signal_t *s, int signum)
{
    struct run *r = s->data;
    if (signum == SIGHUP) {
        char why[LIMIT_CONFIG_DIAG_BYTES];
        if (log_reopen(why, sizeof why) != LOG_OK) /* taxii helper: logrotate */
            fprintf(stderr, "tlpmesh: %s\n", why);
        (void)run_reload(r, why, sizeof why); /* a refusal is said and logged there */
        return;
    }
    stop(r);
}

static int start_handles(struct run *r)
{
    uv_timer_init(&r->loop, &r->timer);
    r->timer.data = r;
    uv_prepare_init(&r->loop, &r->prepare);
    r->prepare.data = r;
    uv_prepare_start(&r->prepare, on_prepare);
    uv_timer_init(&r->loop, &r->prune_timer);
    r->prune_timer.data = r;
    uv_timer_start(&r->prune_timer, on_prune, 0, LIMIT_PRUNE_INTERVAL_MS); /* first at start */
    uv_signal_t *sigs[] = {&r->sig_int, &r->sig_term, &r->sig_hup};
    int nums[] = {SIGINT, SIGTERM, SIGHUP};
    for (size_t i = 0; i < 3; i++) {
        uv_signal_init(&r->loop, sigs[i]);
        sigs[i]->data = r;
        uv_signal_start(sigs[i], on_signal, nums[i]);
    }
    char why[LIMIT_PATH_BYTES + 128];
    if (control_listen(&r->control, &r->loop, r->cfg.control_path, run_on_control, r, why,
                       sizeof why) < 0) {
        fprintf(stderr, "tlpmesh: %s\n", why);
        return RUN_FAIL;
    }
    /* --- taxii helper: the [HTTP] server (node/shell/http.h) --- */
    const struct http_params hp = {.loop = &r->loop, .cfg = &r->cfg, .store = r->store,
                                   .node_key = r->id.sign_pk, .engine = &r->node.engine,
                                   .gossip_fill = run_metrics_fill, .gossip_ctx = r,
                                   .start_ms = r->start_ms, .ui = r->ui,
                                   .ui_env = {.cfg = &r->cfg, .store = r->store, .id = &r->id,
                                              .engine = &r->node.engine,
                                              .control = run_on_control, .control_ctx = r}};
    if (http_start(&r->http, &hp, why, sizeof why) != HTTP_OK) {
        fprintf(stderr, "tlpmesh: %s\n", why);
        return RUN_FAIL;
    }
    /* --- end taxii helper --- */
    return r->cfg.has_listen ? run_listen(r) : RUN_OK;
}

/* The node over the store: engine, gossip, and the gate views of the config and the trusted
 * rosters. */
static int start_node(struct run *r)
{
    struct node_params p = {.cfg = &r->cfg, .store = r->store,
                            .engine = {.id = &r->id, .network = r->cfg.network}};
    struct store_stats ss;
    int rc = gossip_lmdb_init(&r->lmdb, r->store, &p.store_ops);
    if (rc == GOSSIP_OK && store_stats(r->store, &ss) < 0)
        rc = GOSSIP_E_STORE;
    if (rc < 0) {
        fprintf(stderr, "tlpmesh: gossip: %s\n", gossip_strerror(rc));
        return RUN_FAIL;
    }
    p.gossip.start_seq = ss.last_seq;
    p.gossip.log_refusals = log_debug_enabled();
    p.gossip.track_holds = true; /* `tlpmesh explain` asks which peers hold a record */
    randombytes_buf(p.gossip.hash_key, sizeof p.gossip.hash_key);
    const struct node_io io = {.ctx = r, .send = run_conn_send, .close = run_conn_close,
                               .dial = run_conn_dial, .random = io_random,
                               .engine_log = io_log, .backlog = run_conn_backlog,
                               .now = io_now, .wall_ms = io_wall_ms, .verify = io_verify,
                               .commit = io_commit,
                               .log = io_line, .log_debug = io_debug,
                               .succession = run_keys_stored};
    if (run_keys_prev(r, &p.engine) != RUN_OK)
        return RUN_USAGE;
    if (verifier_init(&r->verifier, &r->loop, &r->node) < 0) {
        fprintf(stderr, "tlpmesh: cannot create the verifier's lock\n");
        return RUN_FAIL;
    }
    int err = committer_init(&r->committer, &r->loop, &r->node);
    if (err < 0) {
        fprintf(stderr, "tlpmesh: cannot start the store's writer thread: %s\n", uv_strerror(err));
        return RUN_FAIL;
    }
    char why[LIMIT_CONFIG_DIAG_BYTES];
    if (node_init(&r->node, &p, &io, why, sizeof why) < 0) {
        fprintf(stderr, "tlpmesh: %s\n", why);
        return RUN_FAIL;
    }
    r->node_ready = true;
    run_keys_load(r);
    return RUN_OK;
}

/* Config, key, store: the things that must be right before the loop starts. */
static int load_node(struct run *r, const char *config_path)
{
    struct config_diag diag;
    int rc = config_load(config_path, &r->cfg, &diag);
    if (rc < 0) {
        config_diag_print(&diag, stderr);
        return RUN_USAGE;
    }
    char why[LIMIT_PATH_BYTES + 128] = "";
    if (log_open(r->cfg.log_format, r->cfg.log_file, why, sizeof why) != LOG_OK) {
        fprintf(stderr, "tlpmesh: %s\n", why);
        return RUN_USAGE;
    }
    rc = keys_file_load(r->cfg.key_file, &r->id, why, sizeof why);
    if (rc < 0) {
        fprintf(stderr, "tlpmesh: %s\n", why[0] ? why : keys_strerror(rc));
        return RUN_USAGE;
    }
    const struct store_opts so = {.map_size_bytes = (size_t)r->cfg.store_map_mb << 20};
    rc = store_open(&r->store, r->cfg.data_dir, &so, why, sizeof why);
    if (rc < 0) {
        fprintf(stderr, "tlpmesh: %s\n", why[0] ? why : store_strerror(rc));
        /* a store of another schema stays one: exit 2, which systemd does not restart */
        return rc == STORE_E_SCHEMA ? RUN_USAGE : RUN_FAIL;
    }
    return start_node(r);
}

/* The loop ended (or never started): close every handle, let the connections go. */
static void close_loop(struct run *r)
{
    if (!r->stopping && r->node_ready)
        stop(r);
    else if (!r->stopping)
        run_close_all(r);
    committer_stop(&r->committer); /* a start that failed after committer_init */
    uv_run(&r->loop, UV_RUN_DEFAULT);
    run_close_all(r); /* the unref'd shutdown timer */
    uv_run(&r->loop, UV_RUN_DEFAULT);
    uv_loop_close(&r->loop);
}

/* A hub's connections need more descriptors than the usual soft limit of 1024: every peer's
 * session and dial, the half-opens, the HTTP and control clients, and a few for the store, log
 * and listeners. Raise the soft limit towards that (up to the hard limit, LimitNOFILE in the
 * systemd unit); below it, say so once, since the node still runs and later accepts fail. */
static void raise_fd_limit(void)
{
    enum { SLACK = 64 }; /* LMDB, log, listeners, signal pipe, verifier threads' files */
    const rlim_t need = (rlim_t)LIMIT_CONNS + LIMIT_HTTP_CONNS + LIMIT_CONTROL_CLIENTS + SLACK;
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= need)
        return;
    rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= need ? need : rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur < need)
        fprintf(stderr,
                "tlpmesh: file descriptor limit %llu is below the %llu a node at its %d-peer limit "
                "needs (raise LimitNOFILE or ulimit -n)\n",
                (unsigned long long)rl.rlim_cur, (unsigned long long)need, LIMIT_PEERS);
}

int run_node(const char *config_path, const struct http_ui *ui)
{
    assert(config_path);
    if (sodium_init() < 0)
        return RUN_FAIL;
    raise_fd_limit();
    signal(SIGPIPE, SIG_IGN); /* a peer that hangs up must cost an error code, not the process */
    signal(SIGXFSZ, SIG_IGN); /* so must a file size limit (RLIMIT_FSIZE): EFBIG, "disk full" */
    struct run *r = calloc(1, sizeof *r);
    if (!r)
        return RUN_FAIL;
    config_init(&r->cfg);
    r->ui = ui;
    r->start_ms = run_unix_ms();
    bool loop_ready = uv_loop_init(&r->loop) == 0;
    int code = loop_ready ? load_node(r, config_path) : RUN_FAIL;
    if (code == RUN_OK)
        code = start_handles(r);
    if (code == RUN_OK) {
        char b64[LIMIT_PUBKEY_B64_LEN + 1];
        keys_pubkey_to_b64(r->id.sign_pk, b64);
        fprintf(stderr, "tlpmesh: node %s network %s, %zu peers\n", b64, r->cfg.network,
                r->cfg.n_peers);
        int rc = node_set_peers(&r->node, &r->cfg, run_now(r));
        if (rc < 0) {
            fprintf(stderr, "tlpmesh: %s: %s\n", r->cfg.path, engine_strerror(rc));
            code = RUN_USAGE;
        }
    }
    if (code == RUN_OK) {
        /* Type=notify: ready once the listener, control socket and HTTP server are up. */
        sd_notifyf(0, "READY=1\nSTATUS=%zu peers configured", r->cfg.n_peers);
        uv_run(&r->loop, UV_RUN_DEFAULT);
    }
    if (loop_ready)
        close_loop(r);
    http_free(r->http); /* after the loop closed its handles */
    assert(r->verifier.out == 0); /* the loop ran until every verification job came back */
    committer_close(&r->committer); /* and until the commit came back */
    node_free(&r->node);
    verifier_close(&r->verifier);
    gossip_lmdb_free(&r->lmdb);
    store_close(r->store);
    keys_identity_wipe(&r->id);
    keys_identity_wipe(&r->prev_id);
    config_free(&r->cfg);
    free(r);
    return code;
}
