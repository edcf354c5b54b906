/* metrics.h - Prometheus text exposition (format 0.0.4) of the node's counters (GET /metrics).
 *
 * The shell (node/shell/run.c) fills a struct metrics_snapshot from the engine's stats, the store
 * and, once gossip exists, gossip's stats; metrics_render() turns it into the exposition text: for
 * each
 * metric one "# HELP" and one "# TYPE" line, then its samples, all lines of a metric together,
 * label values escaped, "\n" line ends (the text exposition format 0.0.4). Names follow
 * Prometheus practice: prefix tlpmesh_, base units, counters end in _total. The metric set is
 * documented in docs/OPERATIONS.md "Metrics".
 *
 * tlpmesh_records{tlp} counts every stored record (all kinds, expired and revoked ones too) by
 * its TLP. Records are never deleted, so struct metrics_tlp_count keeps a running count and each
 * call to metrics_count_records() reads only the records added since the last call.
 *
 * Ownership: all structs are caller-owned plain values. metrics_render() writes to a caller-owned
 * FILE *; nothing keeps a pointer after a call returns. Pure except for the store reads of
 * metrics_count_records().
 */
#ifndef TLPMESH_NODE_METRICS_H
#define TLPMESH_NODE_METRICS_H

#include <stdint.h>
#include <stdio.h>

#include "node/core/gate.h"
#include "proto/tlp.h"
#include "store/store.h"

#define METRICS_PEER_STATES 4 /* enum engine_peer_state: idle, backoff, connecting, connected */
#define METRICS_HTTP_CLASSES 3 /* responses by class: 2xx, 4xx, 5xx */

/* Refusals of a peer's traffic by reason: the PEERSCORE_E_* codes from UNKNOWN_TYPE to FORGED
 * (node/core/peerscore.h), index i = PEERSCORE_E_UNKNOWN_TYPE - code, labelled peerscore_label. */
#define METRICS_REFUSAL_REASONS 7

#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* Gossip's counters, kept by the shell and read at each scrape (zero until gossip fills them). */
/* One peer's refusals: what the gate kept from it, and what it sent that we refused. */
struct metrics_peer_gate {
    char key[LIMIT_PUBKEY_B64_LEN + 1];    /* base64: the peer label */
    uint64_t refused[GATE_VERDICT_COUNT]; /* by verdict, towards the peer */
    uint64_t refused_inbound;              /* records the peer was not allowed to send us */
    uint64_t refused_by[METRICS_REFUSAL_REASONS]; /* its traffic we refused, by reason */
    uint64_t penalties;                    /* times its key was backed off */
    uint64_t backoff_ms;                   /* back-off left now, 0: none */
    int penalty_reason;                    /* of the last penalty (PEERSCORE_E_*), 0: none */
};

struct metrics_gossip {
    uint64_t records_ingested, records_duplicate, records_invalid;
    uint64_t gate_refusals[GATE_VERDICT_COUNT]; /* by verdict; GATE_ALLOW is not a refusal */
    uint64_t refused_inbound;                   /* the inbound gate's refusals, all peers */
    uint64_t penalties, refused_backed_off;     /* engine: keys backed off; handshakes refused */
    uint64_t verify_jobs_pending; /* RECORDS messages on the verify threads, not back yet */
    size_t n_peers;                             /* configured peers in peers[] */
    struct metrics_peer_gate peers[LIMIT_PEERS];
};

struct metrics_snapshot {
    uint64_t peers[METRICS_PEER_STATES];       /* configured peers by engine state */
    uint64_t records_by_tlp[PROTO_TLP_COUNT];  /* stored records */
    uint64_t store_bytes;                      /* pages in use in the data file */
    uint64_t store_map_bytes;                  /* LMDB map size */
    uint64_t store_last_seq;                   /* highest arrival seq */
    /* engine */
    uint64_t conns_accepted, refused_rate, refused_half_open, refused_conns;
    uint64_t handshakes_ok, handshake_failures, protocol_errors, timeouts;
    uint64_t evicted_addr, evicted_full; /* half-opens evicted, by reason (engine_admit.c) */
    struct metrics_gossip gossip;
    /* HTTP server */
    uint64_t http_responses[METRICS_HTTP_CLASSES];
    uint64_t http_auth_failures;
    uint64_t http_head_timeouts; /* connections cut: a request head not in by its deadline */
    uint64_t start_time_s; /* Unix time the node started */
};

struct metrics_tlp_count {
    uint64_t last_seq;                 /* records up to this seq are counted */
    uint64_t by_tlp[PROTO_TLP_COUNT];
    uint64_t undecodable;              /* stored bodies that do not decode (never expected) */
};

void metrics_tlp_count_init(struct metrics_tlp_count *c);

/* Counts the records added since the last call. Returns STORE_OK or a negative store_err (the
 * count then stays where it was). */
int metrics_count_records(struct metrics_tlp_count *c, struct store *s);

/* Writes the exposition text. Returns 0, or -1 when writing to out failed. */
int metrics_render(const struct metrics_snapshot *m, FILE *out);

#endif
