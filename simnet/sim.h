/* sim.h - simnet: N tlpmesh nodes in one process on a virtual clock (docs/SIMNET.md; the files:
 * simnet/README.md).
 *
 * Every simulated node runs the code `tlpmesh run` ships: node/core/engine (Noise sessions,
 * framing, keepalive, dial backoff), node/core/gossip (push, announce/want, reconciliation, the
 * gate) over store/memstore, records signed with real Ed25519 keys. simnet replaces only the
 * libuv shell (node/shell/run.c): it delivers bytes between engines through a link model, runs one
 * "loop turn" per node exactly as run.c does (engine events, then close requests, verification
 * jobs, one gossip_flush), and arms each node's one timer at min(engine_next_deadline,
 * gossip_next_deadline). There is no wall clock, no socket and no unseeded random source: the
 * same scenario and seed give the same event trace, byte for byte.
 *
 * Modules: scenario.c (knobs, flags and the scenario file), topo.c (who links with whom),
 * the simulator itself (simrun.h: event.c, link.c, simnode.c, records.c, byz.c, step.c, setup.c:
 * event loop, nodes, links, partitions, churn, byzantine nodes), oracle.c (an independent
 * statement of the TLP rules, held against every delivery), report.c (text, JSON, SVG),
 * flood.c (the naive flooding baseline on the same scenario).
 *
 * Ownership: struct sim_scenario is caller-owned (scenario_init/scenario_free); sim_run() builds
 * and frees everything else and fills a caller-owned struct sim_result (sim_result_free).
 */
#ifndef TLPMESH_SIMNET_SIM_H
#define TLPMESH_SIMNET_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "proto/errors.h"
#include "proto/limits.h"
#include "proto/tlp.h"

/* Error codes: X(name, value, message), range ERRORS_BASE_SIM in proto/errors.h; the
 * comments say when each happens. */
#define SIM_ERRORS(X)                                                                              \
    X(SIM_E_NOMEM, ERRORS_BASE_SIM - 0, "out of memory")                                           \
    /* a bad flag or scenario line (message already printed) */                                    \
    X(SIM_E_USAGE, ERRORS_BASE_SIM - 1, "bad scenario")                                            \
    /* the oracle found a broken rule (message already printed) */                                 \
    X(SIM_E_ORACLE, ERRORS_BASE_SIM - 2, "the oracle found a broken rule")                         \
    X(SIM_E_STALL, ERRORS_BASE_SIM - 3, "no quiescence before the time limit")                     \
    /* an engine or gossip call failed unexpectedly */                                             \
    X(SIM_E_ENGINE, ERRORS_BASE_SIM - 4, "engine or gossip failure")                               \
    /* an output file could not be written */                                                      \
    X(SIM_E_IO, ERRORS_BASE_SIM - 5, "cannot write output")

enum sim_err {
    SIM_OK = 0,
    SIM_ERRORS(ERRORS_ENUM)
};

const char *sim_strerror(int err);

/* --- scenario --- */

#define SIM_MAX_NODES 100000
#define SIM_MAX_DEGREE 64      /* peers of one node (engine/gossip slots) */
#define SIM_MAX_COMMUNITIES 64 /* communities a scenario defines (one 64-bit mask per node) */
#define SIM_MAX_RECIPIENTS 8   /* RED recipients the generator names */
#define SIM_MAX_EVENTS 4096    /* timed scenario events */
#define SIM_MAX_LINK_RULES 4096
#define SIM_MAX_RESOLUTION_MS 100 /* coarsest clock step */

enum sim_topo { SIM_TOPO_RANDOM, SIM_TOPO_SMALLWORLD, SIM_TOPO_HUBS, SIM_TOPO_FILE };

enum sim_byz {
    SIM_BYZ_NONE = 0,
    SIM_BYZ_FORGE = 1 << 0,    /* records claiming an honest origin, with a bad signature */
    SIM_BYZ_RELABEL = 1 << 1,  /* a held record with its TLP lowered, original signature kept */
    SIM_BYZ_REPLAY = 1 << 2,   /* held records sent again (and again) */
    SIM_BYZ_AUDIENCE = 1 << 3, /* held records sent to every peer, ignoring the gate */
    SIM_BYZ_FLOOD = 1 << 4,    /* replay at a high rate */
};

enum sim_action {
    SIM_ACT_SPLIT,   /* a: fraction of nodes on side A (the first nodes by index) */
    SIM_ACT_ISOLATE, /* a: node */
    SIM_ACT_ONEWAY,  /* a -> b dropped (asymmetric) */
    SIM_ACT_HEAL,
    SIM_ACT_STOP,    /* a: node; b: 1 = wipe its store */
    SIM_ACT_START,   /* a: node */
};

struct sim_action_ev {
    uint64_t at;
    enum sim_action act;
    double frac;
    uint32_t a, b;
};

/* One link's transport (both directions). */
struct sim_link_model {
    uint32_t latency_ms;  /* one-way base latency, >= 1 */
    uint32_t jitter_ms;   /* + uniform [0, jitter] per segment (in-order delivery is kept) */
    uint32_t bandwidth_kbps; /* 0 = unlimited; serialisation delay per segment */
    double loss;          /* per segment: retransmitted after an RTO (head-of-line blocking) */
};

struct sim_link_rule {
    uint32_t a, b; /* node indexes */
    struct sim_link_model m;
};

struct sim_scenario {
    uint64_t seed;
    uint32_t nodes, degree;
    enum sim_topo topo;
    char topo_file[LIMIT_PATH_BYTES];
    uint32_t hubs;          /* hub-and-spoke: national hubs */
    double rewire;          /* small-world rewiring probability */
    uint32_t records;
    uint32_t tlp_mix[PROTO_TLP_COUNT]; /* weights */
    uint64_t start_ms;      /* first publication (sessions settle before) */
    uint64_t publish_span_ms; /* publications spread uniformly over this span */
    uint32_t communities, orgs;
    uint32_t memberships;   /* communities per node */
    double client_frac;     /* links where one side declares the other a client */
    double low_ceiling_frac; /* links whose ceiling is AMBER instead of RED */
    uint32_t record_pad;    /* comment bytes per record: sets the record size */
    uint32_t publishers;    /* origins: nodes [0, publishers) publish; 0 = every node */
    struct sim_link_model link;
    double dup, reorder;    /* adversarial: whole gossip messages duplicated / held back */
    struct sim_link_rule *link_rules;
    size_t n_link_rules;
    struct sim_action_ev *events;
    size_t n_events;
    uint32_t *byz_nodes;
    uint8_t *byz_modes;
    size_t n_byz;
    uint64_t settle_ms;     /* after the last disruption: time for redials and reconciliation */
    uint32_t resolution_ms; /* clock step: every event is due at a multiple of it (1 = exact) */
    uint64_t max_ms;        /* virtual time limit */
    bool baseline_flood;
    bool verify_cache;      /* shared verification cache (on by default) */
    uint32_t threads;       /* 0: one per core (at most 8); results never depend on it */
    bool oracle_announce;   /* also hold announced ids against the rules */
    char trace_path[LIMIT_PATH_BYTES]; /* "" = no trace file */
};

void scenario_init(struct sim_scenario *s);
void scenario_free(struct sim_scenario *s);
/* One knob: the same names as the flags and the scenario file ("nodes", "tlp-mix", ...).
 * where names the source for messages ("--nodes" or "FILE:LINE"). */
int scenario_set(struct sim_scenario *s, const char *key, const char *value, const char *where);
/* Reads a scenario file (docs/SIMNET.md). */
int scenario_load(struct sim_scenario *s, const char *path);
/* Fills the defaults that depend on other knobs (orgs, max-time); call before sim_run. */
void scenario_finish(struct sim_scenario *s);

/* --- results --- */

/* Delays (ms from publication to commit) as a count per millisecond: exact percentiles in memory
 * bounded by the longest delay, not by the deliveries (10,000 x 10,000 makes 10^8 of them: 400 MB
 * as one uint32_t each, and as much again to sort them). */
struct sim_delays {
    uint64_t n;      /* delays counted */
    uint64_t *count; /* count[ms] for ms < cap */
    uint64_t cap;
    uint32_t max;    /* the longest, when n > 0 */
};

/* Counts ms times times. SIM_OK or SIM_E_NOMEM (nothing counted). */
int sim_delays_add(struct sim_delays *d, uint32_t ms, uint64_t times);
/* Adds from's counts to to's. */
int sim_delays_merge(struct sim_delays *to, const struct sim_delays *from);
/* The delay of the given rank (0: the shortest) in ascending order; rank < d->n. */
uint32_t sim_delays_at(const struct sim_delays *d, uint64_t rank);
void sim_delays_free(struct sim_delays *d);

struct sim_stats_tlp {
    uint64_t records, entitled, delivered; /* (record, node) pairs; origin excluded unless wiped */
    struct sim_delays delays;
};

/* Application bytes received, by gossip message type. */
struct sim_app_bytes {
    uint64_t records, announce, want; /* GOSSIP_MSG_RECORDS, _ANNOUNCE, _WANT as they arrive */
    uint64_t recon;                   /* reconciliation: the nodes' gossip recon_bytes_in */
    uint64_t prune;                   /* GOSSIP_MSG_PRUNE */
    uint64_t copies;                  /* records carried by RECORDS messages (duplicates too) */
    uint64_t messages;                /* gossip messages of every type */
};

struct sim_result {
    uint64_t virtual_ms, events;
    uint64_t trace_digest;                   /* over every event, in order */
    uint8_t digest[32];                      /* over the outcome (holders, counters) */
    struct sim_stats_tlp tlp[PROTO_TLP_COUNT];
    uint64_t deliveries, duplicates, verify_calls, verify_cached;
    uint64_t bytes_tx, bytes_rx;
    struct sim_app_bytes app_rx;
    uint64_t record_bytes_total, records_published;
    uint64_t gate_refusals, refused_inbound, forged_refused, malformed;
    uint64_t byz_sent, byz_accepted;
    uint64_t sessions_opened;
    uint32_t nodes;
    uint64_t *node_rx, *node_tx; /* per node */
    double mem_per_node_bytes;
    double store_bytes_per_node; /* memstore tables (ids by seq, hash slots), mean over nodes */
    uint64_t pool_bytes;         /* the record bytes all nodes' memstores share */
    uint64_t max_rss_bytes;      /* of the process (getrusage) */
    uint64_t heap_bytes;         /* malloc'd and in use at the end (mallinfo2, every arena): RSS
                                    beyond it is huge-page rounding, free chunks, stacks */
    double run_seconds;          /* wall time of setup and the run, without the flood baseline:
                                    reported only, never part of a digest */
    uint32_t threads;            /* threads the steps ran on */
    /* flooding baseline (when run) */
    bool flood_run;
    uint64_t flood_bytes_rx, flood_deliveries;
    struct sim_delays flood_delays; /* every delivery's; flood_tlp: per TLP (delivered, delays) */
    struct sim_stats_tlp flood_tlp[PROTO_TLP_COUNT];
    uint64_t *flood_node_rx;
    bool oracle_ok;
    char oracle_msg[512];
};

void sim_result_free(struct sim_result *r);

/* Runs the scenario to quiescence. SIM_OK, or SIM_E_ORACLE (r->oracle_msg says what and when). */
int sim_run(const struct sim_scenario *s, struct sim_result *r, bool progress);

/* report.c */
void report_text(const struct sim_scenario *s, const struct sim_result *r, FILE *out);
int report_json(const struct sim_scenario *s, const struct sim_result *r, FILE *out);
int report_svg(const struct sim_scenario *s, const struct sim_result *r, const char *path);

#endif
