/* bench.c - throughput figures, each also as a ratio to the raw Ed25519 verify rate measured in
 * the same run on the same machine, against the goals in docs/PERFORMANCE.md. Not a test: a
 * missed goal is reported in the table, not failed; a figure that cannot be measured correctly
 * fails the run.
 *
 * usage: tlpmesh-bench [--records N] [--peers K] [--recon-sizes N,N...] [--dir DIR] [--verbose]
 *                      [--recon-only]
 */
#include "bench/bench.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "crypto/keys.h"
#include "store/store.h"

enum {
    DEFAULT_RECORDS = 100000,
    DEFAULT_PEERS = 8,        /* the simnet degree of docs/PERFORMANCE.md */
    DEFAULT_CIDR_RANGES = 1000000, /* issue 11: query's range lookup with a million ranges */
    VERIFY_SAMPLE = 50000,    /* records timed for the raw verify rates: ~2-4 s each */
    MAX_THREADS = 64,
    MAX_RECON_SIZES = 8,
};

/* The signing context of proto/record.h; the raw verify pass checks every signature with it, so
 * a mismatch with proto_record_sign fails the run rather than time failing verifications. */
static const char record_context[] = "tlpmesh-record-v1";

struct opts {
    size_t records, peers, n_recon, cidr_ranges;
    size_t recon[MAX_RECON_SIZES];
    const char *dir;
    bool verbose, recon_only;
};

double bench_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static unsigned n_cores(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > MAX_THREADS ? MAX_THREADS : (unsigned)n;
}

/* Runs fn(ctx, lo, hi) over [0, n) split across threads; returns 0 or -1. */
typedef void (*range_fn)(void *ctx, size_t lo, size_t hi);

struct range_arg {
    range_fn fn;
    void *ctx;
    size_t lo, hi;
};

static void *range_thread(void *p)
{
    struct range_arg *a = p;
    a->fn(a->ctx, a->lo, a->hi);
    return NULL;
}

static int par_for(range_fn fn, void *ctx, size_t n, unsigned threads)
{
    pthread_t t[MAX_THREADS];
    struct range_arg a[MAX_THREADS];
    unsigned started = 0;
    for (unsigned i = 0; i < threads; i++) {
        a[i] = (struct range_arg){fn, ctx, n * i / threads, n * (i + 1) / threads};
        if (pthread_create(&t[i], NULL, range_thread, &a[i]) != 0)
            break;
        started++;
    }
    for (unsigned i = 0; i < started; i++)
        pthread_join(t[i], NULL);
    return started == threads ? 0 : -1;
}

/* --- the corpus --- */

struct make_ctx {
    struct bench_corpus *c;
    const struct keys_identity *id;
    uint64_t base_ms;
    int err; /* written by any thread on failure only */
};

/* Realistic indicator records (ip-dst, ~150-byte bodies), created just before base_ms. */
static void make_range(void *p, size_t lo, size_t hi)
{
    struct make_ctx *m = p;
    struct bench_corpus *c = m->c;
    for (size_t i = lo; i < hi; i++) {
        struct proto_record *r = &c->rec[i];
        r->version = PROTO_RECORD_VERSION;
        r->kind = PROTO_KIND_INDICATOR;
        r->tlp = PROTO_TLP_GREEN;
        r->created_ms = m->base_ms - c->n + i;
        memcpy(r->origin, m->id->sign_pk, LIMIT_KEY_BYTES);
        r->u.ind.type = PROTO_ITYPE_IP_DST;
        snprintf(r->u.ind.value, sizeof r->u.ind.value, "10.%u.%u.%u", (unsigned)(i >> 16) & 255,
                 (unsigned)(i >> 8) & 255, (unsigned)i & 255);
        r->u.ind.valid_until_ms = r->created_ms + 30ULL * 86400 * 1000;
        r->u.ind.confidence = 80;
        r->u.ind.n_tags = 1;
        strcpy(r->u.ind.tags[0], "c2");
        strcpy(r->u.ind.comment, "benchmark record");
        uint8_t *body = c->signed_rec[i] + LIMIT_SIG_BYTES;
        const int blen = proto_record_encode(r, body, BENCH_REC_CAP - LIMIT_SIG_BYTES);
        if (blen < 0) {
            m->err = blen;
            return;
        }
        proto_record_sign(body, (size_t)blen, m->id->sign_sk, c->signed_rec[i]);
        proto_record_id(body, (size_t)blen, c->id[i]);
        c->len[i] = LIMIT_SIG_BYTES + (size_t)blen;
    }
}

static void corpus_free(struct bench_corpus *c)
{
    free(c->signed_rec);
    free(c->len);
    free(c->id);
    free(c->rec);
    memset(c, 0, sizeof *c);
}

static int corpus_make(struct bench_corpus *c, size_t n, const struct keys_identity *id,
                       uint64_t base_ms)
{
    c->n = n;
    c->signed_rec = calloc(n, sizeof *c->signed_rec);
    c->len = calloc(n, sizeof *c->len);
    c->id = calloc(n, sizeof *c->id);
    c->rec = calloc(n, sizeof *c->rec);
    if (!c->signed_rec || !c->len || !c->id || !c->rec)
        return -1;
    struct make_ctx m = {c, id, base_ms, 0};
    return par_for(make_range, &m, n, n_cores()) != 0 || m.err != 0 ? -1 : 0;
}

/* --- raw rates --- */

struct verify_ctx {
    const struct bench_corpus *c;
    size_t bad; /* written under no lock: any non-zero value fails the run */
};

static void verify_range(void *p, size_t lo, size_t hi)
{
    struct verify_ctx *v = p;
    const struct bench_corpus *c = v->c;
    uint8_t msg[sizeof record_context + BENCH_REC_CAP];
    memcpy(msg, record_context, sizeof record_context);
    size_t bad = 0;
    for (size_t i = lo; i < hi; i++) {
        const size_t blen = c->len[i] - LIMIT_SIG_BYTES;
        memcpy(msg + sizeof record_context, c->signed_rec[i] + LIMIT_SIG_BYTES, blen);
        bad += crypto_sign_verify_detached(c->signed_rec[i], msg, sizeof record_context + blen,
                                           c->rec[i].origin) != 0;
    }
    if (bad)
        v->bad = bad;
}

/* crypto_sign_verify_detached per second over the sample, on `threads` threads together. */
static double rate_verify(const struct bench_corpus *c, unsigned threads)
{
    const size_t n = c->n < VERIFY_SAMPLE ? c->n : VERIFY_SAMPLE;
    struct verify_ctx v = {c, 0};
    const double t0 = bench_now_s();
    if (par_for(verify_range, &v, n, threads) != 0 || v.bad != 0) {
        fprintf(stderr, "tlpmesh-bench: raw verify: %zu signatures did not verify\n", v.bad);
        return 0;
    }
    return (double)n / (bench_now_s() - t0);
}

/* crypto_sign_detached per second over the sample's bodies, one thread (what publishing costs). */
static double rate_sign(const struct bench_corpus *c)
{
    const size_t n = c->n < VERIFY_SAMPLE ? c->n : VERIFY_SAMPLE;
    uint8_t pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES], sig[LIMIT_SIG_BYTES];
    uint8_t msg[sizeof record_context + BENCH_REC_CAP];
    crypto_sign_keypair(pk, sk);
    memcpy(msg, record_context, sizeof record_context);
    const double t0 = bench_now_s();
    for (size_t i = 0; i < n; i++) {
        const size_t blen = c->len[i] - LIMIT_SIG_BYTES;
        memcpy(msg + sizeof record_context, c->signed_rec[i] + LIMIT_SIG_BYTES, blen);
        crypto_sign_detached(sig, NULL, msg, sizeof record_context + blen, sk);
    }
    const double dt = bench_now_s() - t0;
    sodium_memzero(sk, sizeof sk);
    return (double)n / dt;
}

static double rate_decode(const struct bench_corpus *c)
{
    struct proto_record *tmp = malloc(sizeof *tmp);
    if (tmp == NULL)
        return 0;
    const double t0 = bench_now_s();
    size_t ok = 0;
    for (size_t i = 0; i < c->n; i++)
        ok += proto_record_decode(c->signed_rec[i] + LIMIT_SIG_BYTES, c->len[i] - LIMIT_SIG_BYTES,
                                  tmp, NULL, 0) == PROTO_OK;
    const double dt = bench_now_s() - t0;
    free(tmp);
    return ok == c->n ? (double)c->n / dt : 0;
}

static double rate_put(struct store *st, const struct bench_corpus *c, size_t batch)
{
    struct store_put *items = calloc(batch, sizeof *items);
    if (items == NULL)
        return 0;
    const double t0 = bench_now_s();
    for (size_t i = 0; i < c->n; i += batch) {
        const size_t k = c->n - i < batch ? c->n - i : batch;
        for (size_t j = 0; j < k; j++) {
            memcpy(items[j].id, c->id[i + j], LIMIT_ID_BYTES);
            items[j].signed_rec = c->signed_rec[i + j];
            items[j].len = c->len[i + j];
            items[j].rec = &c->rec[i + j];
        }
        if (store_put_batch(st, items, k) != STORE_OK) {
            free(items);
            return 0;
        }
    }
    const double dt = bench_now_s() - t0;
    free(items);
    return (double)c->n / dt;
}

static double rate_has(struct store *st, const struct bench_corpus *c)
{
    const double t0 = bench_now_s();
    size_t hit = 0;
    for (size_t i = 0; i < c->n; i++)
        hit += store_has(st, c->id[(i * 7919) % c->n]) == 1;
    const double dt = bench_now_s() - t0;
    return hit == c->n ? (double)c->n / dt : 0;
}

/* --- store directories --- */

/* Removes the store files of DIR/sub and that directory (the bench's own files only). */
static void remove_store(const char *dir, const char *sub)
{
    char path[LIMIT_PATH_BYTES];
    snprintf(path, sizeof path, "%s/%s/%s", dir, sub, STORE_FILE_NAME);
    unlink(path);
    snprintf(path, sizeof path, "%s/%s/%s-lock", dir, sub, STORE_FILE_NAME);
    unlink(path);
    snprintf(path, sizeof path, "%s/%s", dir, sub);
    rmdir(path);
}

static struct store *open_store(const char *dir, const char *sub)
{
    char path[LIMIT_PATH_BYTES], why[256] = "";
    snprintf(path, sizeof path, "%s/%s", dir, sub);
    struct store *st = NULL;
    if (store_open(&st, path, NULL, why, sizeof why) != STORE_OK)
        fprintf(stderr, "tlpmesh-bench: %s\n", why);
    return st;
}

/* --- the table --- */

/* One result line. goal_x: the ratio to the 1-core verify rate the design asks for (0: none). */
struct bench_row {
    const char *figure;
    double rate; /* per second */
    double goal_x;
    const char *note;
};

static void print_row(const struct bench_row *r, double verify)
{
    char rate[32] = "-", ratio[32] = "-", goal[32] = "", met[8] = "";
    if (r->rate > 0) {
        snprintf(rate, sizeof rate, "%.0f", r->rate);
        snprintf(ratio, sizeof ratio, "%.2f", r->rate / verify);
    }
    if (r->goal_x > 0) {
        snprintf(goal, sizeof goal, ">= %.2f", r->goal_x);
        snprintf(met, sizeof met, "%s", r->rate / verify >= r->goal_x ? "yes" : "NO");
    }
    printf("%-40s %12s %9s %9s %5s  %s\n", r->figure, rate, ratio, goal, met,
           r->note ? r->note : "");
}

/* --- options --- */

static int parse_sizes(const char *s, struct opts *o)
{
    o->n_recon = 0;
    while (*s && o->n_recon < MAX_RECON_SIZES) {
        char *end;
        errno = 0;
        unsigned long long v = strtoull(s, &end, 10);
        if (errno || end == s || v < 100 || v > LIMIT_RECON_ITEMS || (*end && *end != ','))
            return -1;
        o->recon[o->n_recon++] = (size_t)v;
        s = *end ? end + 1 : end;
    }
    return *s ? -1 : 0;
}

static int parse_size(const char *s, size_t lo, size_t hi, size_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return -1;
    *out = (size_t)v;
    return 0;
}

static int parse(int argc, char **argv, struct opts *o)
{
    *o = (struct opts){.records = DEFAULT_RECORDS, .peers = DEFAULT_PEERS, .n_recon = 2,
                       .recon = {100000, 1000000}, .cidr_ranges = DEFAULT_CIDR_RANGES};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int rc = 0;
        if (strcmp(a, "--verbose") == 0 || strcmp(a, "--recon-only") == 0) {
            *(a[2] == 'v' ? &o->verbose : &o->recon_only) = true;
            continue;
        }
        if (v == NULL)
            rc = -1;
        else if (strcmp(a, "--records") == 0)
            rc = parse_size(v, 1000, (size_t)1 << 24, &o->records);
        else if (strcmp(a, "--peers") == 0)
            rc = parse_size(v, 0, LIMIT_PEERS - 1, &o->peers);
        else if (strcmp(a, "--cidr-ranges") == 0)
            rc = parse_size(v, 0, (size_t)1 << 24, &o->cidr_ranges);
        else if (strcmp(a, "--recon-sizes") == 0)
            rc = parse_sizes(v, o);
        else if (strcmp(a, "--dir") == 0)
            o->dir = v;
        else
            rc = -1;
        if (rc != 0) {
            fprintf(stderr, "tlpmesh-bench: bad option %s%s%s\n", a, v ? " " : "", v ? v : "");
            return -1;
        }
        i++;
    }
    return 0;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: tlpmesh-bench [--records N (1000..16777216, default %d)] [--peers K (sessions "
            "besides the sender, default %d)]\n"
            "                     [--recon-sizes N,N... (default 100000,1000000; 0 sizes: none)] "
            "[--dir DIR] [--verbose] [--recon-only]\n"
            "                     [--cidr-ranges N (stored ranges for the query row, default "
            "%d; 0: no row)]\n",
            DEFAULT_RECORDS, DEFAULT_PEERS, DEFAULT_CIDR_RANGES);
}

/* --- main --- */

struct figures {
    double verify, verify_par, sign, decode, put, has, cidr, cidr_hits;
    struct bench_ingest_result ing;
};

static int measure(const struct opts *o, const char *dir, const struct bench_corpus *c,
                   struct figures *f)
{
    f->verify = rate_verify(c, 1);
    f->verify_par = rate_verify(c, n_cores());
    f->sign = rate_sign(c);
    f->decode = rate_decode(c);
    if (f->verify <= 0 || f->verify_par <= 0 || f->sign <= 0 || f->decode <= 0)
        return -1;
    struct store *st = open_store(dir, "put");
    if (st == NULL)
        return -1;
    f->put = rate_put(st, c, LIMIT_STORE_BATCH);
    f->has = rate_has(st, c);
    store_close(st);
    remove_store(dir, "put");
    if (f->put <= 0 || f->has <= 0) {
        fprintf(stderr, "tlpmesh-bench: store put or lookup failed\n");
        return -1;
    }
    if (o->cidr_ranges > 0) {
        if ((st = open_store(dir, "cidr")) == NULL)
            return -1;
        const uint64_t base_ms = c->rec[c->n - 1].created_ms + 1;
        const int rc = bench_cidr(st, o->cidr_ranges, base_ms, &f->cidr, &f->cidr_hits);
        store_close(st);
        remove_store(dir, "cidr");
        if (rc != 0)
            return -1;
    }
    char ingest_dir[LIMIT_PATH_BYTES];
    snprintf(ingest_dir, sizeof ingest_dir, "%s/ingest", dir);
    struct bench_ingest_opts io = {.dir = ingest_dir, .peers = o->peers, .verbose = o->verbose};
    int rc = bench_ingest(c, &io, &f->ing);
    remove_store(dir, "ingest");
    return rc;
}

static void print_table(const struct opts *o, const struct bench_corpus *c,
                        const struct figures *f)
{
    const unsigned cores = n_cores();
    char ingest_note[96], dup_note[64], par_note[64], put_big[48], cidr_fig[48], cidr_note[64];
    snprintf(cidr_fig, sizeof cidr_fig, "query: ranges containing an IP, %zu", o->cidr_ranges);
    snprintf(cidr_note, sizeof cidr_note, "%.2f ranges found per query; 64 key lookups",
             f->cidr_hits);
    snprintf(put_big, sizeof put_big, "store put, batches of %d", (int)LIMIT_STORE_BATCH);
    snprintf(par_note, sizeof par_note, "%.2f x cores x verify", f->verify_par / f->verify / cores);
    snprintf(ingest_note, sizeof ingest_note, "%.2f x cores x verify; CPU %.0f%% of %u cores",
             f->ing.ingest_rate / f->verify / cores,
             100.0 * f->ing.ingest_cpu_s / f->ing.ingest_wall_s / cores, cores);
    snprintf(dup_note, sizeof dup_note, "verify jobs run: %llu",
             (unsigned long long)f->ing.verify_jobs_dup);
    const struct bench_row rows[] = {
        {"raw Ed25519 verify, 1 core", f->verify, 0, "crypto_sign_verify_detached"},
        {"raw Ed25519 verify, all cores", f->verify_par, 0, par_note},
        {"raw Ed25519 sign, 1 core", f->sign, 0, "crypto_sign_detached"},
        {"record decode + canonical check", f->decode, 0, NULL},
        {put_big, f->put, 0, "LIMIT_STORE_BATCH = gossip's commit batch"},
        {"store id lookup (dedupe path)", f->has, 0, NULL},
        {"gossip ingest of new records", f->ing.ingest_rate, 0.8 * cores, ingest_note},
        {"gossip drop of known records", f->ing.dup_rate, 20, dup_note},
        {cidr_fig, f->cidr, 0, o->cidr_ranges ? cidr_note : "not measured (--cidr-ranges 0)"},
    };
    printf("tlpmesh-bench: %zu records of ~%zu bytes, %u cores, %zu peers up, RECORDS messages "
           "of %zu records\n",
           c->n, c->len[0], cores, o->peers + 1, f->ing.per_msg);
    printf("%-40s %12s %9s %9s %5s\n", "figure", "per second", "x verify", "goal", "met?");
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        print_row(&rows[i], f->verify);
}

int main(int argc, char **argv)
{
    struct opts o;
    if (parse(argc, argv, &o) != 0 || sodium_init() < 0) {
        usage();
        return 2;
    }
    char tmpl[] = "/tmp/tlpmesh-bench.XXXXXX";
    const char *dir = o.dir;
    if (dir == NULL && (dir = mkdtemp(tmpl)) == NULL) {
        perror("tlpmesh-bench: mkdtemp");
        return 1;
    }
    if (o.dir != NULL && mkdir(dir, 0700) != 0 && errno != EEXIST) {
        perror("tlpmesh-bench: --dir");
        return 1;
    }
    const double t0 = bench_now_s();
    uint8_t seed[LIMIT_KEY_BYTES] = {1};
    struct keys_identity id;
    keys_identity_from_seed(seed, &id);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    const uint64_t base_ms = (uint64_t)now.tv_sec * 1000 + (uint64_t)now.tv_nsec / 1000000;
    struct bench_corpus c = {0};
    struct figures f = {0};
    int rc = 1;
    if (corpus_make(&c, o.records, &id, base_ms) != 0) {
        fprintf(stderr, "tlpmesh-bench: cannot build the corpus\n");
        goto out;
    }
    if (!o.recon_only && measure(&o, dir, &c, &f) != 0)
        goto out;
    if (!o.recon_only)
        print_table(&o, &c, &f);
    static const size_t ds[] = {0, 1, 10, 100, 1000, 10000};
    if (bench_recon(o.recon, o.n_recon, ds, sizeof ds / sizeof ds[0]) != 0)
        goto out;
    printf("\ntotal %.1f s\n", bench_now_s() - t0);
    rc = 0;
out:
    if (o.dir == NULL)
        rmdir(dir);
    keys_identity_wipe(&id);
    corpus_free(&c);
    return rc;
}
