/* run_control.c - the control socket's commands and /metrics (run_int.h). */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "node/core/peerscore.h"
#include "node/shell/log.h"
#include "node/shell/run_int.h"

/* --- reload --- */

/* A reload message: stderr as before, and the log when it is a file (--log-file, LogFile), so
 * that an operator who reads only the log sees it too. */
static void reload_say(const struct run *r, enum log_level level, const char *event,
                       const char *line)
{
    fprintf(stderr, "tlpmesh: %s\n", line);
    if (log_to_file())
        log_event(level, event, line, "config", r->cfg.path, NULL);
}

static bool endpoint_differs(bool had, const struct config_endpoint *a, bool has,
                             const struct config_endpoint *b)
{
    return had != has || (has && (a->port != b->port || strcmp(a->host, b->host) != 0));
}

/* The settings a running node read once at start: out gets "Listen, [HTTP] Listen" etc., or
 * "" when none of them changed. */
static void restart_needed(const struct config *old, const struct config *new, char *out,
                           size_t len)
{
    const struct {
        bool differs;
        const char *name;
    } keys[] = {
        {endpoint_differs(old->has_listen, &old->listen, new->has_listen, &new->listen),
         "Listen"},
        {endpoint_differs(old->http.enabled, &old->http.listen, new->http.enabled,
                          &new->http.listen),
         "[HTTP] Listen"},
        {endpoint_differs(old->http.has_metrics_listen, &old->http.metrics_listen,
                          new->http.has_metrics_listen, &new->http.metrics_listen),
         "[HTTP] MetricsListen"},
        {strcmp(old->network, new->network) != 0, "Network"},
        {strcmp(old->data_dir, new->data_dir) != 0, "DataDir"},
        {old->store_map_mb != new->store_map_mb, "StoreMapInitialMB"},
        {strcmp(old->key_file, new->key_file) != 0, "KeyFile"},
        {strcmp(old->control_path, new->control_path) != 0, "Control"},
    };
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < sizeof keys / sizeof keys[0] && used < len; i++)
        if (keys[i].differs)
            used += (size_t)snprintf(out + used, len - used, "%s%s", used ? ", " : "",
                                     keys[i].name);
}

/* What restart_needed() names keeps its running value, so that status shows what runs. */
static void keep_running(const struct config *old, struct config *new)
{
    new->has_listen = old->has_listen;
    new->listen = old->listen;
    new->http.enabled = old->http.enabled;
    new->http.listen = old->http.listen;
    new->http.has_metrics_listen = old->http.has_metrics_listen;
    new->http.metrics_listen = old->http.metrics_listen;
    memcpy(new->network, old->network, sizeof new->network);
    memcpy(new->data_dir, old->data_dir, sizeof new->data_dir);
    new->store_map_mb = old->store_map_mb;
    memcpy(new->key_file, old->key_file, sizeof new->key_file);
    memcpy(new->control_path, old->control_path, sizeof new->control_path);
}

/* LogFile and LogFormat apply at once (log_open keeps --log-file and --log-format winning). A
 * new file that cannot be opened keeps the old destination, and cfg the old values, so that
 * the next reload tries again. */
static void reopen_log(struct run *r, const struct config *old, struct config *new)
{
    if (strcmp(old->log_file, new->log_file) == 0 && old->log_format == new->log_format)
        return;
    char why[LIMIT_PATH_BYTES + 128];
    if (log_open(new->log_format, new->log_file, why, sizeof why) == LOG_OK)
        return;
    char line[sizeof why + 64];
    snprintf(line, sizeof line, "reload: %s; logging stays where it was", why);
    reload_say(r, LOG_WARN, "reload_log_failed", line);
    memcpy(new->log_file, old->log_file, sizeof new->log_file);
    new->log_format = old->log_format;
}

static int refuse(struct run *r, const char *why)
{
    char line[LIMIT_CONFIG_DIAG_BYTES + 64];
    snprintf(line, sizeof line, "reload refused, keeping the running configuration: %s", why);
    reload_say(r, LOG_WARN, "reload_refused", line);
    return -1;
}

int run_reload(struct run *r, char *why, size_t why_len)
{
    struct config cfg;
    struct config_diag diag;
    config_init(&cfg);
    int rc = config_load(r->cfg.path, &cfg, &diag);
    if (rc < 0) {
        config_diag_print(&diag, stderr);
        snprintf(why, why_len, "%s", diag.count ? diag.lines[0] : config_strerror(rc));
        config_free(&cfg);
        refuse(r, why);
        return rc;
    }
    run_keys_load(r); /* `tlpmesh key rotate` may have stored one of ours */
    rc = node_set_peers(&r->node, &cfg, run_now(r));
    if (rc < 0) {
        snprintf(why, why_len, "%.200s: %s", r->cfg.path, engine_strerror(rc));
        config_free(&cfg);
        refuse(r, why);
        return rc;
    }
    char restart[LIMIT_CONFIG_DIAG_BYTES], line[LIMIT_PATH_BYTES + LIMIT_CONFIG_DIAG_BYTES];
    restart_needed(&r->cfg, &cfg, restart, sizeof restart);
    keep_running(&r->cfg, &cfg);
    reopen_log(r, &r->cfg, &cfg);
    config_free(&r->cfg);
    r->cfg = cfg; /* owns the peer array now */
    snprintf(line, sizeof line, "reloaded %.*s: %zu peers", (int)LIMIT_PATH_BYTES, r->cfg.path,
             r->cfg.n_peers);
    reload_say(r, LOG_INFO, "reloaded", line);
    if (restart[0]) {
        snprintf(line, sizeof line, "reload: %s changed: takes effect at the next restart (the "
                 "running node keeps the old value)", restart);
        reload_say(r, LOG_WARN, "reload_needs_restart", line);
    }
    node_views_changed(&r->node); /* organisations, ceilings, communities may have changed */
    node_succession_announce(&r->node);
    snprintf(why, why_len, "%s", restart);
    return 0;
}

/* --- status and metrics --- */

/* A peer's traffic that did this node no good, by reason (metrics.h METRICS_REFUSAL_REASONS
 * order): dropped (unknown types, duplicates), refused (time, gate, malformed, forged) or taken
 * unasked. Each reason but the last two has a budget (node/core/peerscore.h). */
static void refusals_by_reason(const struct gossip_peer_stats *s,
                               uint64_t out[METRICS_REFUSAL_REASONS])
{
    const uint64_t v[METRICS_REFUSAL_REASONS] = {s->unknown_types,   s->duplicates,
                                                 s->refused_time,    s->refused_inbound,
                                                 s->unasked,         s->malformed,
                                                 s->forged};
    memcpy(out, v, sizeof v);
}

/* The back-off left of a penalized peer, in ms (0: none). */
static uint64_t backoff_left(const struct engine_peer_stats *st, uint64_t now)
{
    return st->backoff_until > now ? st->backoff_until - now : 0;
}

/* Gossip's counters for peer slot i; refused_total leaves out "peer-has" (dedupe, not policy). */
static json_t *gossip_peer_json(const struct run *r, size_t i)
{
    static const struct gossip_peer_stats none;
    const struct gossip_peer_stats *s = gossip_peer_stats(r->node.gossip, i);
    s = s ? s : &none;
    json_t *refused = json_object();
    uint64_t total = 0;
    for (int v = GATE_ALLOW + 1; v < GATE_VERDICT_COUNT; v++) {
        if (s->refused[v] == 0)
            continue;
        json_object_set_new(refused, gate_verdict_name(v), json_integer((json_int_t)s->refused[v]));
        total += v == GATE_DENY_PEER_HAS ? 0 : s->refused[v];
    }
    json_t *o = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:I, s:I, s:I, s:I, s:I, s:I, s:I,"
                     " s:I, s:I}",
                     "records_sent", (json_int_t)s->records_sent, "records_received",
                     (json_int_t)s->records_received, "duplicates", (json_int_t)s->duplicates,
                     "forged", (json_int_t)s->forged, "refused_time",
                     (json_int_t)s->refused_time, "malformed", (json_int_t)s->malformed,
                     "refused_total", (json_int_t)total, "refused", refused, "announce_in",
                     (json_int_t)s->announce_in, "announce_out", (json_int_t)s->announce_out,
                     "want_in", (json_int_t)s->want_in, "want_out", (json_int_t)s->want_out,
                     "recon_rounds", (json_int_t)s->recon_rounds, "recon_bytes_in",
                     (json_int_t)s->recon_bytes_in, "recon_bytes_out",
                     (json_int_t)s->recon_bytes_out, "skipped_backlog",
                     (json_int_t)s->skipped_backlog, "dropped_overload",
                     (json_int_t)s->dropped_overload);
    json_object_set_new(o, "refused_inbound", json_integer((json_int_t)s->refused_inbound));
    json_object_set_new(o, "replays", json_integer((json_int_t)s->replays));
    uint64_t by[METRICS_REFUSAL_REASONS];
    refusals_by_reason(s, by);
    json_t *reasons = json_object();
    for (int k = 0; k < METRICS_REFUSAL_REASONS; k++)
        json_object_set_new(reasons, peerscore_label(PEERSCORE_E_UNKNOWN_TYPE - k),
                            json_integer((json_int_t)by[k]));
    json_object_set_new(o, "refused_by_reason", reasons);
    return o;
}

/* /metrics: the node-wide counters and the gate's refusals summed over peers. */
void run_metrics_fill(void *ctx, struct metrics_gossip *out)
{
    const struct run *r = ctx;
    memset(out, 0, sizeof *out);
    if (r->node.gossip == NULL)
        return;
    const struct gossip_stats *s = gossip_stats(r->node.gossip);
    out->records_ingested = s->stored;
    out->records_duplicate = s->duplicates + s->store_duplicates;
    out->records_invalid = s->verify_forged + s->verify_malformed + s->refused_time;
    out->refused_inbound = s->refused_inbound;
    out->penalties = r->node.engine.stats.penalties;
    out->refused_backed_off = r->node.engine.stats.refused_backed_off;
    const uint64_t now = run_now(r);
    out->verify_jobs_pending = r->verifier.out;
    for (size_t i = 0; i < LIMIT_PEERS; i++) {
        const struct gossip_peer_stats *p = gossip_peer_stats(r->node.gossip, i);
        struct engine_peer_conf conf;
        struct engine_peer_stats st;
        if (p == NULL || !engine_peer_get(&r->node.engine, i, &conf, &st))
            continue;
        struct metrics_peer_gate *m = &out->peers[out->n_peers++];
        keys_pubkey_to_b64(conf.key, m->key);
        memcpy(m->refused, p->refused, sizeof m->refused);
        m->refused_inbound = p->refused_inbound;
        refusals_by_reason(p, m->refused_by);
        m->penalties = st.penalties;
        m->backoff_ms = backoff_left(&st, now);
        m->penalty_reason = st.penalty_reason;
        for (size_t v = 0; v < GATE_VERDICT_COUNT; v++)
            out->gate_refusals[v] += p->refused[v];
    }
}

static json_t *gossip_json(const struct run *r)
{
    const struct gossip_stats *s = gossip_stats(r->node.gossip);
    return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I,"
                     " s:I}",
                     "verify_submitted", (json_int_t)s->verify_submitted, "verify_ok",
                     (json_int_t)s->verify_ok, "verify_forged", (json_int_t)s->verify_forged,
                     "verify_malformed", (json_int_t)s->verify_malformed, "refused_time",
                     (json_int_t)s->refused_time, "duplicates", (json_int_t)s->duplicates,
                     "stored", (json_int_t)s->stored, "store_revoked",
                     (json_int_t)s->store_revoked, "store_errors", (json_int_t)s->store_errors,
                     "dropped_overload", (json_int_t)s->dropped_overload, "local_pushed",
                     (json_int_t)s->local_pushed, "announce_dropped",
                     (json_int_t)s->announce_dropped, "sent_fail", (json_int_t)s->sent_fail,
                     "refused_inbound", (json_int_t)s->refused_inbound, "records_sent",
                     (json_int_t)s->records_sent, "refused_out", (json_int_t)s->refused_out);
}

/* The last hour, a minute an entry, oldest first (gossip_activity): start_ms is the minute's start
 * on the monotonic clock the core counts with, shown as Unix ms. */
static json_t *activity_json(const struct run *r, uint64_t mono, uint64_t wall)
{
    struct activity_minute m[LIMIT_ACTIVITY_MINUTES];
    const size_t n = gossip_activity(r->node.gossip, mono, m, LIMIT_ACTIVITY_MINUTES);
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_pack("{s:I, s:I, s:I, s:I, s:I}", "start_ms",
                                           (json_int_t)(wall - (mono - m[i].start_ms)),
                                           "received", (json_int_t)m[i].received, "sent",
                                           (json_int_t)m[i].sent, "published",
                                           (json_int_t)m[i].published, "refused",
                                           (json_int_t)m[i].refused));
    return a;
}

static json_t *peer_json(struct run *r, size_t i, uint64_t mono, uint64_t wall)
{
    struct engine_peer_conf conf;
    struct engine_peer_stats st;
    if (!engine_peer_get(&r->node.engine, i, &conf, &st))
        return NULL;
    char b64[LIMIT_PUBKEY_B64_LEN + 1];
    keys_pubkey_to_b64(conf.key, b64);
    json_t *since = st.state == ENGINE_PEER_CONNECTED
                        ? json_integer((json_int_t)(wall - (mono - st.since)))
                        : json_null();
    return json_pack("{s:s, s:s, s:s, s:s, s:s?, s:o, s:I, s:I, s:I, s:I, s:I, s:s?}", "key", b64,
                     "name", conf.name, "org", conf.org, "state",
                     engine_peer_state_str(st.state), "address",
                     st.address[0] ? st.address : NULL, "since", since, "bytes_in",
                     (json_int_t)st.bytes_in, "bytes_out", (json_int_t)st.bytes_out, "frames_in",
                     (json_int_t)st.frames_in, "frames_out", (json_int_t)st.frames_out,
                     "sessions", (json_int_t)st.sessions, "last_error",
                     st.last_error ? engine_strerror(st.last_error) : NULL);
}

/* A peer's penalties: {"backoff_ms": left, "reason": label, "penalty": text, "penalties": n,
 * "refused_backed_off": n}; reason and penalty are null for a peer never penalized. */
static void peer_penalty_json(json_t *o, const struct run *r, size_t i)
{
    struct engine_peer_stats st;
    if (o == NULL || !engine_peer_get(&r->node.engine, i, NULL, &st))
        return;
    const bool any = st.penalty_reason != 0;
    json_object_set_new(o, "backoff_ms", json_integer((json_int_t)backoff_left(&st, run_now(r))));
    json_object_set_new(o, "penalty_reason",
                        any ? json_string(peerscore_label(st.penalty_reason)) : json_null());
    json_object_set_new(o, "penalty",
                        any ? json_string(peerscore_strerror(st.penalty_reason)) : json_null());
    json_object_set_new(o, "penalties", json_integer((json_int_t)st.penalties));
    json_object_set_new(o, "refused_backed_off", json_integer((json_int_t)st.refused_backed_off));
}

/* The store as this node's own writes found it: "disk_full_since" (Unix ms) while its commits
 * fail for lack of space, null once one succeeds; "error" when even the read failed. */
static json_t *store_json(struct run *r)
{
    struct store_stats ss;
    const int rc = store_stats(r->store, &ss);
    if (rc != STORE_OK)
        return json_pack("{s:s}", "error", store_strerror(rc));
    return json_pack("{s:I, s:b, s:o}", "records", (json_int_t)ss.records, "disk_full",
                     ss.disk_full_since_ms != 0, "disk_full_since",
                     ss.disk_full_since_ms ? json_integer((json_int_t)ss.disk_full_since_ms)
                                           : json_null());
}

static json_t *status_json(struct run *r)
{
    char b64[LIMIT_PUBKEY_B64_LEN + 1];
    keys_pubkey_to_b64(r->id.sign_pk, b64);
    char listen[LIMIT_CONFIG_HOST_BYTES + 8] = "";
    if (r->cfg.has_listen)
        snprintf(listen, sizeof listen, "%s:%u", r->cfg.listen.host, (unsigned)r->cfg.listen.port);
    json_t *peers = json_array();
    uint64_t mono = run_now(r), wall = run_unix_ms();
    for (size_t i = 0; i < LIMIT_PEERS; i++) {
        json_t *p = peer_json(r, i, mono, wall);
        if (p) {
            peer_penalty_json(p, r, i);
            json_object_set_new(p, "gossip", gossip_peer_json(r, i));
            struct engine_peer_conf conf;
            if (engine_peer_get(&r->node.engine, i, &conf, NULL))
                json_object_set_new(p, "key_rotated", run_keys_peer_json(r, conf.key));
            json_array_append_new(peers, p);
        }
    }
    const struct engine_stats *s = &r->node.engine.stats;
    json_t *st = json_pack("{s:b, s:s, s:s, s:s, s:s?, s:o, s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I}}",
                     "ok", 1, "key", b64, "network", r->cfg.network, "organisation",
                     r->cfg.organisation, "listen", listen[0] ? listen : NULL, "peers", peers,
                     "counters", "accepted", (json_int_t)s->accepted, "refused_rate",
                     (json_int_t)s->refused_rate, "refused_half_open",
                     (json_int_t)s->refused_half_open, "handshakes_ok",
                     (json_int_t)s->handshakes_ok, "handshakes_failed",
                     (json_int_t)s->handshakes_failed, "protocol_errors",
                     (json_int_t)s->protocol_errors, "timeouts", (json_int_t)s->timeouts);
    if (st != NULL) {
        json_t *counters = json_object_get(st, "counters"); /* half-opens evicted (issue 12) */
        json_object_set_new(counters, "evicted_addr", json_integer((json_int_t)s->evicted_addr));
        json_object_set_new(counters, "evicted_full", json_integer((json_int_t)s->evicted_full));
        json_object_set_new(counters, "penalties", json_integer((json_int_t)s->penalties));
        json_object_set_new(counters, "refused_backed_off",
                            json_integer((json_int_t)s->refused_backed_off));
        json_object_set_new(st, "gossip", gossip_json(r));
        json_object_set_new(st, "activity", activity_json(r, mono, wall));
        json_object_set_new(st, "store", store_json(r));
    }
    return st;
}

/* {"cmd":"holds","id":HEX}: for every configured peer, what gossip knows of its copy of that
 * one record (gossip_peer_holds): {"ok":true, "peers":{KEY: "sent"|"received"|...}}. */
static json_t *holds_json(const struct run *r, const json_t *req)
{
    const char *hex = json_string_value(json_object_get(req, "id"));
    uint8_t id[LIMIT_ID_BYTES];
    if (!hex || strlen(hex) != 2 * LIMIT_ID_BYTES ||
        sodium_hex2bin(id, sizeof id, hex, strlen(hex), NULL, NULL, NULL) != 0)
        return json_pack("{s:b, s:s}", "ok", 0, "error", "\"id\" must be 64 hex digits");
    json_t *peers = json_object();
    for (size_t i = 0; i < LIMIT_PEERS; i++) {
        struct engine_peer_conf conf;
        char b64[LIMIT_PUBKEY_B64_LEN + 1];
        if (!engine_peer_get(&r->node.engine, i, &conf, NULL))
            continue;
        keys_pubkey_to_b64(conf.key, b64);
        enum gossip_holds h = gossip_peer_holds(r->node.gossip, i, conf.key, id);
        json_object_set_new(peers, b64, json_string(gossip_holds_name(h)));
    }
    return json_pack("{s:b, s:o}", "ok", 1, "peers", peers);
}

json_t *run_on_control(void *ctx, const json_t *req)
{
    struct run *r = ctx;
    const char *cmd = json_string_value(json_object_get(req, "cmd"));
    if (!cmd)
        return json_pack("{s:b, s:s}", "ok", 0, "error", "request has no \"cmd\" string");
    if (strcmp(cmd, "status") == 0)
        return status_json(r);
    if (strcmp(cmd, "reload") == 0) {
        char why[LIMIT_CONFIG_DIAG_BYTES];
        if (run_reload(r, why, sizeof why) < 0)
            return json_pack("{s:b, s:s}", "ok", 0, "error", why);
        return json_pack("{s:b, s:I, s:s}", "ok", 1, "peers", (json_int_t)r->cfg.n_peers,
                         "restart_needed", why);
    }
    if (strcmp(cmd, "holds") == 0)
        return holds_json(r, req);
    if (strcmp(cmd, "records-added") == 0) {
        int rc = node_local_scan(&r->node);
        if (rc < 0)
            return json_pack("{s:b, s:s}", "ok", 0, "error", gossip_strerror(rc));
        return json_pack("{s:b}", "ok", 1);
    }
    char msg[128];
    snprintf(msg, sizeof msg, "unknown command '%.64s'", cmd);
    return json_pack("{s:b, s:s}", "ok", 0, "error", msg);
}

