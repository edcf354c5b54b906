/* bench.c - throughput figures, each also as a ratio to the raw Ed25519 verify rate measured in
 * the same run on the same machine (DESIGN.md §8). Not a test: it asserts nothing about speed.
 *
 * usage: tlpmesh-bench [--records N] [--dir DIR]
 */
#include <assert.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "crypto/keys.h"
#include "proto/record.h"
#include "store/store.h"

enum { DEFAULT_RECORDS = 100000, MIN_SECONDS_MS = 500 };

struct corpus {
    size_t n;
    uint8_t (*signed_rec)[LIMIT_SIG_BYTES + 256];
    size_t *len;
    uint8_t (*id)[LIMIT_ID_BYTES];
    struct proto_record *rec;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* n realistic indicator records (ip-dst, ~150-byte bodies), signed by one key. */
static int make_corpus(struct corpus *c, size_t n, const struct keys_identity *id)
{
    c->n = n;
    c->signed_rec = calloc(n, sizeof *c->signed_rec);
    c->len = calloc(n, sizeof *c->len);
    c->id = calloc(n, sizeof *c->id);
    c->rec = calloc(n, sizeof *c->rec);
    if (!c->signed_rec || !c->len || !c->id || !c->rec)
        return -1;
    for (size_t i = 0; i < n; i++) {
        struct proto_record *r = &c->rec[i];
        r->version = PROTO_RECORD_VERSION;
        r->kind = PROTO_KIND_INDICATOR;
        r->tlp = PROTO_TLP_GREEN;
        r->created_ms = 1795449434123ULL + i;
        memcpy(r->origin, id->sign_pk, LIMIT_KEY_BYTES);
        r->u.ind.type = PROTO_ITYPE_IP_DST;
        snprintf(r->u.ind.value, sizeof r->u.ind.value, "10.%u.%u.%u", (unsigned)(i >> 16) & 255,
                 (unsigned)(i >> 8) & 255, (unsigned)i & 255);
        r->u.ind.valid_until_ms = r->created_ms + 30ULL * 86400 * 1000;
        r->u.ind.confidence = 80;
        r->u.ind.n_tags = 1;
        strcpy(r->u.ind.tags[0], "c2");
        strcpy(r->u.ind.comment, "benchmark record");
        uint8_t *body = c->signed_rec[i] + LIMIT_SIG_BYTES;
        const int blen = proto_record_encode(r, body, sizeof c->signed_rec[i] - LIMIT_SIG_BYTES);
        if (blen < 0)
            return blen;
        proto_record_sign(body, (size_t)blen, id->sign_sk, c->signed_rec[i]);
        proto_record_id(body, (size_t)blen, c->id[i]);
        c->len[i] = LIMIT_SIG_BYTES + (size_t)blen;
    }
    return 0;
}

static void free_corpus(struct corpus *c)
{
    free(c->signed_rec);
    free(c->len);
    free(c->id);
    free(c->rec);
}

static double rate_verify(const struct corpus *c)
{
    const double t0 = now_s();
    size_t ok = 0;
    for (size_t i = 0; i < c->n; i++)
        ok += crypto_sign_verify_detached(c->signed_rec[i],
                                          c->signed_rec[i] + LIMIT_SIG_BYTES,
                                          c->len[i] - LIMIT_SIG_BYTES, c->rec[i].origin) == 0;
    const double dt = now_s() - t0;
    assert(ok == c->n);
    return (double)c->n / dt;
}

static double rate_decode(const struct corpus *c, struct proto_record *tmp)
{
    const double t0 = now_s();
    size_t ok = 0;
    for (size_t i = 0; i < c->n; i++)
        ok += proto_record_decode(c->signed_rec[i] + LIMIT_SIG_BYTES, c->len[i] - LIMIT_SIG_BYTES,
                                  tmp, NULL, 0) == PROTO_OK;
    const double dt = now_s() - t0;
    assert(ok == c->n);
    return (double)c->n / dt;
}

static double rate_put(struct store *st, const struct corpus *c, size_t batch)
{
    struct store_put *items = calloc(batch, sizeof *items);
    if (!items)
        return 0;
    const double t0 = now_s();
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
    const double dt = now_s() - t0;
    free(items);
    return (double)c->n / dt;
}

static double rate_has(struct store *st, const struct corpus *c)
{
    const double t0 = now_s();
    size_t hit = 0;
    for (size_t i = 0; i < c->n; i++)
        hit += store_has(st, c->id[(i * 7919) % c->n]) == 1;
    const double dt = now_s() - t0;
    assert(hit == c->n);
    return (double)c->n / dt;
}

/* Removes the store files and the temporary directory this run created. */
static void remove_store_dir(const char *dir)
{
    char path[LIMIT_PATH_BYTES];
    snprintf(path, sizeof path, "%s/%s", dir, STORE_FILE_NAME);
    unlink(path);
    snprintf(path, sizeof path, "%s/%s-lock", dir, STORE_FILE_NAME);
    unlink(path);
    rmdir(dir);
}

int main(int argc, char **argv)
{
    size_t n = DEFAULT_RECORDS;
    const char *dir = NULL;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--records") == 0)
            n = strtoul(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--dir") == 0)
            dir = argv[i + 1];
    }
    if (n < 1000 || sodium_init() < 0) {
        fprintf(stderr, "usage: tlpmesh-bench [--records N>=1000] [--dir DIR]\n");
        return 2;
    }
    char tmpl[] = "/tmp/tlpmesh-bench.XXXXXX";
    const bool own_dir = dir == NULL;
    if (own_dir && !(dir = mkdtemp(tmpl))) {
        perror("mkdtemp");
        return 1;
    }
    uint8_t seed[LIMIT_KEY_BYTES] = {1};
    struct keys_identity id;
    keys_identity_from_seed(seed, &id);
    struct corpus c;
    struct proto_record *tmp = malloc(sizeof *tmp);
    if (!tmp || make_corpus(&c, n, &id) != 0) {
        fprintf(stderr, "tlpmesh-bench: cannot build the corpus\n");
        return 1;
    }
    struct store *st;
    char why[256] = "";
    if (store_open(&st, dir, NULL, why, sizeof why) != STORE_OK) {
        fprintf(stderr, "tlpmesh-bench: %s\n", why);
        return 1;
    }
    const double verify = rate_verify(&c);
    const double decode = rate_decode(&c, tmp);
    const double put = rate_put(st, &c, LIMIT_STORE_BATCH);
    const double has = rate_has(st, &c);
    printf("tlpmesh-bench: %zu records of ~%zu bytes, store in %s\n", n, c.len[0], dir);
    printf("%-36s %12s %10s\n", "figure", "per second", "x verify");
    printf("%-36s %12.0f %10.2f\n", "raw Ed25519 verify (1 core)", verify, 1.0);
    printf("%-36s %12.0f %10.2f\n", "record decode + canonical check", decode, decode / verify);
    printf("%-36s %12.0f %10.2f\n", "store put, batches of 4096", put, put / verify);
    printf("%-36s %12.0f %10.2f\n", "store id lookup (dedupe path)", has, has / verify);
    store_close(st);
    if (own_dir)
        remove_store_dir(dir);
    keys_identity_wipe(&id);
    free_corpus(&c);
    free(tmp);
    return 0;
}
