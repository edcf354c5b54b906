/* cidrbench.c - `query ADDRESS` against a store of many CIDR ranges (issue 11, point 8): the rate
 * of store_find_covering, the lookup query makes for an address, with n stored ranges of mixed
 * prefix lengths (/16 to /32) spread over the IPv4 space. The records are encoded but not
 * signed: the store neither verifies nor decodes. */
#include "bench/bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/indicator.h"
#include "store/store.h"

enum { CIDR_QUERIES = 100000, CIDR_MIN_PREFIX = 16 };

/* A well-spread 32-bit address for i (a multiplicative hash). */
static uint32_t spread(uint64_t i)
{
    return (uint32_t)((i * UINT64_C(0x9E3779B97F4A7C15)) >> 32);
}

static void addr_text(uint32_t a, char out[16])
{
    snprintf(out, 16, "%u.%u.%u.%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
}

/* Record i: the /16../32 network of spread(i). */
static int make_range(uint64_t i, uint64_t base_ms, const uint8_t origin[LIMIT_KEY_BYTES],
                      struct proto_record *r, uint8_t *signed_rec, struct store_put *it)
{
    char addr[16];
    addr_text(spread(i), addr);
    memset(r, 0, sizeof *r);
    r->version = PROTO_RECORD_VERSION;
    r->kind = PROTO_KIND_INDICATOR;
    r->tlp = PROTO_TLP_GREEN;
    r->created_ms = base_ms - i;
    memcpy(r->origin, origin, LIMIT_KEY_BYTES);
    r->u.ind.type = PROTO_ITYPE_IP_DST;
    const unsigned prefix = CIDR_MIN_PREFIX + (unsigned)(i % (33 - CIDR_MIN_PREFIX));
    if (proto_ip_network(addr, prefix, r->u.ind.value, sizeof r->u.ind.value) != 32)
        return -1;
    r->u.ind.valid_until_ms = base_ms + 30ULL * 86400 * 1000;
    r->u.ind.confidence = 80;
    const int blen =
        proto_record_encode(r, signed_rec + LIMIT_SIG_BYTES, BENCH_REC_CAP - LIMIT_SIG_BYTES);
    if (blen < 0)
        return -1;
    memset(signed_rec, 0, LIMIT_SIG_BYTES);
    proto_record_id(signed_rec + LIMIT_SIG_BYTES, (size_t)blen, it->id);
    it->signed_rec = signed_rec;
    it->len = LIMIT_SIG_BYTES + (size_t)blen;
    it->rec = r;
    return 0;
}

static int fill(struct store *st, size_t n, uint64_t base_ms)
{
    const uint8_t origin[LIMIT_KEY_BYTES] = {7};
    struct proto_record *recs = calloc(LIMIT_STORE_BATCH, sizeof *recs);
    uint8_t(*bufs)[BENCH_REC_CAP] = calloc(LIMIT_STORE_BATCH, sizeof *bufs);
    struct store_put *items = calloc(LIMIT_STORE_BATCH, sizeof *items);
    int rc = recs && bufs && items ? 0 : -1;
    for (size_t i = 0; i < n && rc == 0; i += LIMIT_STORE_BATCH) {
        const size_t k = n - i < LIMIT_STORE_BATCH ? n - i : LIMIT_STORE_BATCH;
        for (size_t j = 0; j < k && rc == 0; j++)
            rc = make_range(i + j, base_ms, origin, &recs[j], bufs[j], &items[j]);
        if (rc == 0 && store_put_batch(st, items, k) != STORE_OK)
            rc = -1;
    }
    free(recs);
    free(bufs);
    free(items);
    return rc;
}

static int count_cb(const uint8_t id[LIMIT_ID_BYTES], const uint8_t *signed_rec, size_t len,
                    uint64_t seq, void *ctx)
{
    (void)id, (void)signed_rec, (void)len, (void)seq;
    ++*(size_t *)ctx;
    return 0;
}

int bench_cidr(struct store *st, size_t n, uint64_t base_ms, double *rate, double *hits)
{
    if (fill(st, n, base_ms) != 0) {
        fprintf(stderr, "tlpmesh-bench: cannot store %zu ranges\n", n);
        return -1;
    }
    size_t found = 0;
    const double t0 = bench_now_s();
    for (size_t q = 0; q < CIDR_QUERIES; q++) {
        char addr[16];
        /* half of the queries fall inside a stored range, half anywhere */
        addr_text(q % 2 ? spread(q * 7919 % n) : spread(UINT64_C(1) << 40 | q), addr);
        if (store_find_covering(st, addr, count_cb, &found) != STORE_OK) {
            fprintf(stderr, "tlpmesh-bench: range lookup failed\n");
            return -1;
        }
    }
    const double dt = bench_now_s() - t0;
    *rate = CIDR_QUERIES / dt;
    *hits = (double)found / CIDR_QUERIES;
    return 0;
}
