/* metrics.c - see metrics.h. */
#include "node/formats/metrics.h"

#include <assert.h>
#include <inttypes.h>
#include <string.h>

#include "node/core/peerscore.h"
#include "proto/record.h"

static const char *const peer_states[METRICS_PEER_STATES] = {"idle", "backoff", "connecting",
                                                            "connected"};
static const char *const http_classes[METRICS_HTTP_CLASSES] = {"2xx", "4xx", "5xx"};

void metrics_tlp_count_init(struct metrics_tlp_count *c)
{
    memset(c, 0, sizeof *c);
}

struct count_walk {
    struct metrics_tlp_count next;
};

static int count_cb(const uint8_t id[LIMIT_ID_BYTES], const uint8_t *signed_rec, size_t len,
                    uint64_t seq, void *ctx)
{
    (void)id;
    struct count_walk *w = ctx;
    struct proto_record r;
    assert(len > LIMIT_SIG_BYTES);
    if (proto_record_decode(signed_rec + LIMIT_SIG_BYTES, len - LIMIT_SIG_BYTES, &r, NULL, 0) ==
            PROTO_OK &&
        proto_tlp_valid(r.tlp))
        w->next.by_tlp[r.tlp]++;
    else
        w->next.undecodable++;
    w->next.last_seq = seq;
    return 0;
}

int metrics_count_records(struct metrics_tlp_count *c, struct store *s)
{
    assert(c != NULL && s != NULL);
    /* Count into a copy: a store error half-way leaves *c as it was, never counted twice. */
    struct count_walk w = {*c};
    const int rc = store_iter_seq(s, c->last_seq, count_cb, &w);
    if (rc != STORE_OK)
        return rc;
    *c = w.next;
    return STORE_OK;
}

static void header(FILE *out, const char *name, const char *type, const char *help)
{
    fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void sample(FILE *out, const char *name, uint64_t v)
{
    fprintf(out, "%s %" PRIu64 "\n", name, v);
}

/* Label values here are fixed ASCII words (states, TLP names, verdicts): nothing to escape. */
static void labelled(FILE *out, const char *name, const char *label, const char *value,
                     uint64_t v)
{
    fprintf(out, "%s{%s=\"%s\"} %" PRIu64 "\n", name, label, value, v);
}

/* Per peer (label: its base64 key, which needs no escaping) and verdict. */
static void peer_refusals(FILE *out, const struct metrics_gossip *g)
{
    assert(g->n_peers <= LIMIT_PEERS);
    header(out, "tlpmesh_peer_gate_refusals_total", "counter",
           "Records and ids the sharing gate kept from one peer, by the rule that refused.");
    for (size_t i = 0; i < g->n_peers; i++)
        for (int v = GATE_ALLOW + 1; v < GATE_VERDICT_COUNT; v++)
            fprintf(out,
                    "tlpmesh_peer_gate_refusals_total{peer=\"%s\",reason=\"%s\"} %" PRIu64 "\n",
                    g->peers[i].key, gate_verdict_name(v), g->peers[i].refused[v]);
    header(out, "tlpmesh_peer_refused_inbound_total", "counter",
           "Records from one peer refused because it was not allowed to send them.");
    for (size_t i = 0; i < g->n_peers; i++)
        fprintf(out, "tlpmesh_peer_refused_inbound_total{peer=\"%s\"} %" PRIu64 "\n",
                g->peers[i].key, g->peers[i].refused_inbound);
}

/* Per peer: what of its traffic was refused and why, its penalties and its back-off. */
static void peer_budgets(FILE *out, const struct metrics_gossip *g)
{
    header(out, "tlpmesh_refused_total", "counter",
           "Messages and records from one peer refused, by reason (docs/PROTOCOL.md Budgets).");
    for (size_t i = 0; i < g->n_peers; i++)
        for (int k = 0; k < METRICS_REFUSAL_REASONS; k++)
            fprintf(out, "tlpmesh_refused_total{peer=\"%s\",reason=\"%s\"} %" PRIu64 "\n",
                    g->peers[i].key, peerscore_label(PEERSCORE_E_UNKNOWN_TYPE - k),
                    g->peers[i].refused_by[k]);
    header(out, "tlpmesh_peer_penalties_total", "counter",
           "Times one peer's session was closed and its key backed off for misbehaviour.");
    for (size_t i = 0; i < g->n_peers; i++)
        fprintf(out, "tlpmesh_peer_penalties_total{peer=\"%s\"} %" PRIu64 "\n", g->peers[i].key,
                g->peers[i].penalties);
    header(out, "tlpmesh_peer_backoff_seconds", "gauge",
           "Seconds left before a penalized peer's key is dialled or accepted again, with the "
           "reason of its last penalty.");
    for (size_t i = 0; i < g->n_peers; i++)
        fprintf(out, "tlpmesh_peer_backoff_seconds{peer=\"%s\",reason=\"%s\"} %.3f\n",
                g->peers[i].key,
                g->peers[i].penalty_reason ? peerscore_label(g->peers[i].penalty_reason) : "none",
                (double)g->peers[i].backoff_ms / 1000.0);
    header(out, "tlpmesh_penalties_total", "counter", "Peer keys backed off for misbehaviour.");
    sample(out, "tlpmesh_penalties_total", g->penalties);
    header(out, "tlpmesh_handshakes_backed_off_total", "counter",
           "Handshakes of a backed-off key refused at their completion.");
    sample(out, "tlpmesh_handshakes_backed_off_total", g->refused_backed_off);
}

static void counter(FILE *out, const char *name, const char *help, uint64_t v)
{
    header(out, name, "counter", help);
    sample(out, name, v);
}

static void gauge(FILE *out, const char *name, const char *help, uint64_t v)
{
    header(out, name, "gauge", help);
    sample(out, name, v);
}

static void tlp_label(int tlp, char out[16])
{
    /* proto_tlp_name gives "TLP:AMBER+STRICT"; Prometheus users expect "amber+strict". */
    const char *n = proto_tlp_name(tlp);
    const char *colon = strchr(n, ':');
    snprintf(out, 16, "%s", colon ? colon + 1 : n);
    for (char *p = out; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
}

int metrics_render(const struct metrics_snapshot *m, FILE *out)
{
    assert(m != NULL && out != NULL);
    header(out, "tlpmesh_peers", "gauge", "Configured peers by connection state.");
    for (int i = 0; i < METRICS_PEER_STATES; i++)
        labelled(out, "tlpmesh_peers", "state", peer_states[i], m->peers[i]);
    header(out, "tlpmesh_records", "gauge",
           "Stored records by TLP (every kind, expired and revoked ones included).");
    for (int t = 0; t < PROTO_TLP_COUNT; t++) {
        char label[16];
        tlp_label(t, label);
        labelled(out, "tlpmesh_records", "tlp", label, m->records_by_tlp[t]);
    }
    gauge(out, "tlpmesh_store_bytes", "Bytes of the store's data file in use.", m->store_bytes);
    gauge(out, "tlpmesh_store_map_bytes", "Size of the store's memory map in bytes.",
          m->store_map_bytes);
    gauge(out, "tlpmesh_store_last_seq", "Highest local arrival sequence number.",
          m->store_last_seq);
    counter(out, "tlpmesh_records_ingested_total", "Records received from peers and stored.",
            m->gossip.records_ingested);
    counter(out, "tlpmesh_records_duplicate_total",
            "Records received from peers that were already stored.", m->gossip.records_duplicate);
    counter(out, "tlpmesh_records_invalid_total",
            "Records received from peers that failed decoding, signature or time checks.",
            m->gossip.records_invalid);
    header(out, "tlpmesh_gate_refusals_total", "counter",
           "Records the sharing gate kept from a peer, by the rule that refused.");
    for (int v = GATE_ALLOW + 1; v < GATE_VERDICT_COUNT; v++)
        labelled(out, "tlpmesh_gate_refusals_total", "reason", gate_verdict_name(v),
                 m->gossip.gate_refusals[v]);
    counter(out, "tlpmesh_gate_refusals_inbound_total",
            "Verified records refused because the sending peer was not allowed to send them.",
            m->gossip.refused_inbound);
    peer_refusals(out, &m->gossip);
    peer_budgets(out, &m->gossip);
    gauge(out, "tlpmesh_verify_jobs_pending",
          "RECORDS messages whose signatures are being checked on the worker threads.",
          m->gossip.verify_jobs_pending);
    counter(out, "tlpmesh_connections_accepted_total", "Inbound TCP connections accepted.",
            m->conns_accepted);
    header(out, "tlpmesh_connections_refused_total", "counter",
           "Inbound TCP connections refused before the handshake, by reason.");
    labelled(out, "tlpmesh_connections_refused_total", "reason", "rate", m->refused_rate);
    labelled(out, "tlpmesh_connections_refused_total", "reason", "half_open",
             m->refused_half_open);
    labelled(out, "tlpmesh_connections_refused_total", "reason", "conns", m->refused_conns);
    header(out, "tlpmesh_half_open_evicted_total", "counter",
           "Inbound handshakes evicted for a newer one: address over its cap, or table full.");
    labelled(out, "tlpmesh_half_open_evicted_total", "reason", "addr", m->evicted_addr);
    labelled(out, "tlpmesh_half_open_evicted_total", "reason", "full", m->evicted_full);
    counter(out, "tlpmesh_handshakes_total", "Noise handshakes completed.", m->handshakes_ok);
    counter(out, "tlpmesh_handshake_failures_total",
            "Noise handshakes that failed (bad message, unknown key, wrong network).",
            m->handshake_failures);
    counter(out, "tlpmesh_protocol_errors_total",
            "Sessions closed for a decryption failure or malformed frame.", m->protocol_errors);
    counter(out, "tlpmesh_timeouts_total", "Handshakes and sessions closed for silence.",
            m->timeouts);
    header(out, "tlpmesh_http_responses_total", "counter", "HTTP responses by status class.");
    for (int i = 0; i < METRICS_HTTP_CLASSES; i++)
        labelled(out, "tlpmesh_http_responses_total", "code", http_classes[i],
                 m->http_responses[i]);
    counter(out, "tlpmesh_http_auth_failures_total",
            "HTTP requests refused for missing or wrong credentials.", m->http_auth_failures);
    counter(out, "tlpmesh_http_head_timeouts_total",
            "HTTP connections cut because a request's headers did not arrive in time.",
            m->http_head_timeouts);
    gauge(out, "tlpmesh_start_time_seconds", "Unix time the node started.", m->start_time_s);
    return ferror(out) ? -1 : 0;
}
