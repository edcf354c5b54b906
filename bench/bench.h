/* bench.h - the parts of tlpmesh-bench shared between its files (bench.c: corpus, raw rates and
 * the table; ingest.c: gossip ingest and duplicate drop; reconbench.c: reconciliation cost).
 * Not a public module: nothing outside bench/ includes it.
 *
 * Ownership: bench.c owns the corpus; every figure function only reads it.
 */
#ifndef TLPMESH_BENCH_BENCH_H
#define TLPMESH_BENCH_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/limits.h"
#include "proto/record.h"

enum { BENCH_REC_CAP = LIMIT_SIG_BYTES + 256 }; /* sig || body of one benchmark record */

/* n signed indicator records, each new to any store, as a peer would relay them. */
struct bench_corpus {
    size_t n;
    uint8_t (*signed_rec)[BENCH_REC_CAP]; /* sig || body */
    size_t *len;
    uint8_t (*id)[LIMIT_ID_BYTES];
    struct proto_record *rec;
};

/* Monotonic seconds. */
double bench_now_s(void);

/* Gossip ingest (new records from a peer, verified on the libuv thread pool, committed by
 * gossip_flush) and duplicate drop (the same records again) into a fresh LMDB store in dir.
 * Fills *ingest_rate and *dup_rate (records/s). Returns 0, or -1 after printing why. */
struct bench_ingest_opts {
    const char *dir;   /* an empty directory for the store */
    size_t peers;      /* sessions up besides the sender: each gets announcements */
    bool verbose;
};
struct bench_ingest_result {
    double ingest_rate, dup_rate;
    uint64_t verify_jobs_dup; /* verify submissions during the duplicate pass: must be 0 */
    size_t msgs, per_msg;
    double ingest_cpu_s, ingest_wall_s; /* process CPU time and wall time of the ingest pass */
};
int bench_ingest(const struct bench_corpus *c, const struct bench_ingest_opts *o,
                 struct bench_ingest_result *res);

/* Reconciliation with node/core/recon.h: two sets of n items differing by d scattered items (half
 * on each side), for each n in ns and d in ds; then, at the largest n, one side lacking the newest
 * d (10 ... 100,000), each side initiating. Prints one table (bytes, messages, flights, round
 * trips). Returns 0, or -1 after printing why. */
int bench_recon(const size_t *ns, size_t n_ns, const size_t *ds, size_t n_ds);

/* Stores n CIDR ranges (/16 to /32, spread over IPv4) in st, then times store_find_covering
 * for many addresses: *rate queries/s, *hits the ranges found per query. 0, or -1 after
 * printing why (cidrbench.c). */
struct store;
int bench_cidr(struct store *st, size_t n, uint64_t base_ms, double *rate, double *hits);

#endif
