/* test_recon.c - range-based set reconciliation: exact differences, cost in bytes, caps, refusals.
 * */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <sodium.h>

#include "node/core/recon.h"

#define BASE_TS 1700000000000ULL

/* --- deterministic data --- */

static uint64_t rng_next(uint64_t *s) /* splitmix64 */
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static int item_cmp(const void *a, const void *b)
{
    const struct recon_item *x = a, *y = b;
    if (x->ts != y->ts)
        return x->ts < y->ts ? -1 : 1;
    return memcmp(x->id, y->id, sizeof x->id);
}

/* n items, per_ms per millisecond, id = BLAKE2b-256(counter), sorted. */
static struct recon_item *universe_ms(size_t n, size_t per_ms)
{
    struct recon_item *u = calloc(n ? n : 1, sizeof *u);
    assert_non_null(u);
    for (size_t i = 0; i < n; i++) {
        uint8_t ctr[8];
        for (int k = 0; k < 8; k++)
            ctr[k] = (uint8_t)((uint64_t)i >> (8 * k));
        u[i].ts = BASE_TS + i / per_ms;
        crypto_generichash(u[i].id, sizeof u[i].id, ctr, sizeof ctr, NULL, 0);
    }
    qsort(u, n, sizeof *u, item_cmp);
    return u;
}

/* Four per millisecond, so that many share a ts. */
static struct recon_item *universe(size_t n)
{
    return universe_ms(n, 4);
}

struct vec {
    struct recon_item *v;
    size_t n, cap;
};

static void vec_push(struct vec *x, const struct recon_item *it)
{
    if (x->n == x->cap) {
        x->cap = x->cap ? 2 * x->cap : 64;
        x->v = realloc(x->v, x->cap * sizeof *x->v);
        assert_non_null(x->v);
    }
    x->v[x->n++] = *it;
}

static void vec_sort(struct vec *x)
{
    if (x->n)
        qsort(x->v, x->n, sizeof *x->v, item_cmp);
}

static void vec_free(struct vec *x)
{
    free(x->v);
    memset(x, 0, sizeof *x);
}

/* Universe of n; d distinct positions removed, alternately from A and from B. */
struct pair {
    struct vec a, b;           /* the two sides' sets */
    struct vec a_only, b_only; /* the true symmetric difference, computed independently */
};

static void make_pair(size_t n, size_t d, uint64_t seed, struct pair *p)
{
    memset(p, 0, sizeof *p);
    struct recon_item *u = universe(n);
    uint8_t *mark = calloc(n ? n : 1, 1); /* 0 both, 1 only A, 2 only B */
    assert_non_null(mark);
    for (size_t k = 0; k < d;) {
        size_t i = (size_t)(rng_next(&seed) % n);
        if (mark[i])
            continue;
        mark[i] = (uint8_t)(k % 2 ? 1 : 2);
        k++;
    }
    for (size_t i = 0; i < n; i++) {
        if (mark[i] != 2)
            vec_push(&p->a, &u[i]);
        if (mark[i] != 1)
            vec_push(&p->b, &u[i]);
        if (mark[i] == 1)
            vec_push(&p->a_only, &u[i]);
        if (mark[i] == 2)
            vec_push(&p->b_only, &u[i]);
    }
    free(mark);
    free(u);
}

static void pair_free(struct pair *p)
{
    vec_free(&p->a);
    vec_free(&p->b);
    vec_free(&p->a_only);
    vec_free(&p->b_only);
}

/* --- running a session --- */

struct side {
    struct recon r;
    struct vec have, need;
};

static void on_have(void *ctx, const struct recon_item *it)
{
    vec_push(&((struct side *)ctx)->have, it);
}

static void on_need(void *ctx, const struct recon_item *it)
{
    vec_push(&((struct side *)ctx)->need, it);
}

struct stats {
    size_t bytes, msgs, largest, flights;
};

/* One side's flight: every message it sends before it hears from the peer again. */
struct flight {
    uint8_t *buf;
    size_t len, cap, n, ends[8192];
};

static uint8_t out_buf[LIMIT_RECON_MSG_BYTES];

static void flight_take(struct recon *r, struct flight *f, int len, size_t cap, struct stats *st)
{
    for (; len > 0; len = recon_next(r, out_buf, sizeof out_buf)) {
        assert_true((size_t)len <= cap && f->n < 8192);
        if (f->len + (size_t)len > f->cap) {
            f->cap = f->cap ? 2 * f->cap : 1 << 16;
            f->buf = realloc(f->buf, f->cap);
            assert_non_null(f->buf);
        }
        memcpy(f->buf + f->len, out_buf, (size_t)len);
        f->len += (size_t)len;
        f->ends[f->n++] = f->len;
        st->bytes += (size_t)len;
        st->msgs++;
        st->largest = (size_t)len > st->largest ? (size_t)len : st->largest;
    }
    assert_int_equal(len, 0);
}

/* A initiates; each side answers the other's flight message by message until a flight is empty. */
static void run(const struct vec *a, const struct vec *b, size_t cap, struct side *A,
                struct side *B, struct stats *st)
{
    static struct flight f[2];
    memset(A, 0, sizeof *A);
    memset(B, 0, sizeof *B);
    memset(st, 0, sizeof *st);
    assert_int_equal(recon_init(&A->r, a->v, a->n, cap), RECON_OK);
    assert_int_equal(recon_init(&B->r, b->v, b->n, cap), RECON_OK);
    struct recon_diff da = {on_have, on_need, A}, db = {on_have, on_need, B};
    f[0].n = f[0].len = f[1].n = f[1].len = 0;
    flight_take(&A->r, &f[0], recon_initiate(&A->r, out_buf, sizeof out_buf), cap, st);
    assert_true(f[0].n > 0);
    struct side *turn = B;
    for (int cur = 0; f[cur].n > 0; cur = 1 - cur) {
        st->flights++;
        assert_true(st->flights <= 2 * LIMIT_RECON_ROUNDS);
        for (size_t i = 0, at = 0; i < f[cur].n; at = f[cur].ends[i++]) {
            int len = recon_respond(&turn->r, f[cur].buf + at, f[cur].ends[i] - at, out_buf,
                                    sizeof out_buf, turn == A ? &da : &db);
            assert_true(len >= 0);
            flight_take(&turn->r, &f[1 - cur], len, cap, st);
        }
        f[cur].n = f[cur].len = 0;
        turn = turn == A ? B : A;
    }
    assert_true(recon_done(&A->r));
    assert_true(recon_done(&B->r));
    vec_sort(&A->have);
    vec_sort(&A->need);
    vec_sort(&B->have);
    vec_sort(&B->need);
}

static void side_free(struct side *s)
{
    recon_free(&s->r);
    vec_free(&s->have);
    vec_free(&s->need);
}

static void assert_same(const struct vec *got, const struct vec *want)
{
    assert_int_equal(got->n, want->n);
    if (want->n)
        assert_memory_equal(got->v, want->v, want->n * sizeof *want->v);
}

/* Both sides learned exactly the true difference: A has a_only, needs b_only; B the reverse. */
static void check_pair(size_t n, size_t d, size_t cap, struct stats *st)
{
    struct pair p;
    struct side A, B;
    make_pair(n, d, 42 + d, &p);
    run(&p.a, &p.b, cap, &A, &B, st);
    assert_same(&A.have, &p.a_only);
    assert_same(&A.need, &p.b_only);
    assert_same(&B.have, &p.b_only);
    assert_same(&B.need, &p.a_only);
    side_free(&A);
    side_free(&B);
    pair_free(&p);
}

/* --- tests --- */

static void identical_sets_one_round_trip(void **state)
{
    (void)state;
    struct stats st;
    check_pair(100000, 0, LIMIT_RECON_MSG_BYTES, &st);
    assert_int_equal(st.msgs, 2); /* 16 fingerprints out, "all agreed" back */
    assert_true(st.bytes < 16 * (1 + 1 + 32 + 1 + RECON_FP_BYTES) + 8);
    printf("identical n=100000: %zu bytes in %zu messages\n", st.bytes, st.msgs);
}

static void empty_sides(void **state)
{
    (void)state;
    struct vec none = {0};
    struct pair p;
    make_pair(1000, 0, 1, &p);
    struct side A, B;
    struct stats st;

    run(&none, &none, LIMIT_RECON_MSG_BYTES, &A, &B, &st);
    assert_int_equal(st.msgs, 2);
    assert_int_equal(A.have.n + A.need.n + B.have.n + B.need.n, 0);
    side_free(&A);
    side_free(&B);

    run(&none, &p.a, LIMIT_RECON_MSG_BYTES, &A, &B, &st);
    assert_same(&A.need, &p.a);
    assert_same(&B.have, &p.a);
    assert_int_equal(A.have.n + B.need.n, 0);
    side_free(&A);
    side_free(&B);

    run(&p.a, &none, LIMIT_RECON_MSG_BYTES, &A, &B, &st);
    assert_same(&A.have, &p.a);
    assert_same(&B.need, &p.a);
    assert_int_equal(A.need.n + B.have.n, 0);
    side_free(&A);
    side_free(&B);
    pair_free(&p);
}

static void cost_grows_with_difference(void **state)
{
    (void)state;
    const size_t n = 100000, ds[] = {1, 10, 100, 1000};
    size_t bytes[4];
    printf("%8s %6s %9s %7s %11s\n", "n", "d", "bytes", "rounds", "bytes/diff");
    for (size_t i = 0; i < 4; i++) {
        struct stats st;
        check_pair(n, ds[i], LIMIT_RECON_MSG_BYTES, &st);
        bytes[i] = st.bytes;
        printf("%8zu %6zu %9zu %7zu %11zu\n", n, ds[i], st.bytes, st.msgs, st.bytes / ds[i]);
        /* O(d log n): a difference costs at most LIMIT_RECON_BUCKETS fingerprint ranges of
         * ~25 bytes per split level (log16 n = log2(n) / 4 levels), up to
         * LIMIT_RECON_BUCKETS_MAX at the last one, then a short list: under 110 bytes per bit of
         * log2(n) = 17. */
        assert_true(st.bytes < ds[i] * 110 * 17);
        /* rounds: log16(n) levels + list + diff + close, plus the messages the bytes need */
        assert_true(st.msgs <= 12 + 2 * st.bytes / LIMIT_RECON_MSG_BYTES);
    }
    assert_true(bytes[1] * 20 < bytes[3]);
    assert_true(bytes[0] < bytes[1] && bytes[1] < bytes[2] && bytes[2] < bytes[3]);
}

/* Issue 14: a side that lacks the other's newest d records (it was down or partitioned) catches
 * up in at most 1.5 round trips (3 flights), whichever side initiates, with at most 40 bytes of
 * reconciliation messages per difference: the ids cross once. Counts, not times. */
static void newest_records_few_round_trips(void **state)
{
    (void)state;
    const size_t n = 1000000, ds[] = {10, 1000, 100000};
    struct recon_item *u = universe_ms(n, 1);
    struct vec holder = {u, n, n};
    for (size_t i = 0; i < sizeof ds / sizeof *ds; i++) {
        struct vec lacker = {u, n - ds[i], n}, tail = {u + n - ds[i], ds[i], ds[i]};
        for (int holder_starts = 0; holder_starts < 2; holder_starts++) {
            struct side A, B;
            struct stats st;
            struct side *H = holder_starts ? &A : &B, *L = holder_starts ? &B : &A;
            run(holder_starts ? &holder : &lacker, holder_starts ? &lacker : &holder,
                LIMIT_RECON_MSG_BYTES, &A, &B, &st);
            assert_same(&H->have, &tail);
            assert_same(&L->need, &tail);
            assert_int_equal(H->need.n + L->have.n, 0);
            printf("newest d=%zu of n=%zu, %s initiates: %zu bytes (%.1f per difference) in %zu "
                   "messages, %zu flights\n",
                   ds[i], n, holder_starts ? "holder" : "lacker", st.bytes,
                   (double)st.bytes / (double)ds[i], st.msgs, st.flights);
            assert_true(st.flights <= (holder_starts ? 3u : 2u));
            assert_true(st.bytes <= 40 * ds[i]);
            side_free(&A);
            side_free(&B);
        }
    }
    /* The boundary inside one millisecond: the NEWEST rules do not apply, the split does. */
    free(u);
    u = universe_ms(100000, 4);
    struct vec all = {u, 100000, 100000}, most = {u, 100000 - 10, 100000};
    struct side A, B;
    struct stats st;
    run(&most, &all, LIMIT_RECON_MSG_BYTES, &A, &B, &st);
    assert_int_equal(A.need.n, 10);
    assert_int_equal(B.have.n, 10);
    assert_true(st.flights <= 8);
    side_free(&A);
    side_free(&B);
    free(u);
}

/* Issue 14: d <= 10,000 scattered differences between sets of 1,000,000 in at most 4 round trips
 * (8 flights), whatever the message cap, with no more bytes per difference than Negentropy's
 * reference figures (1.35 KB at d = 1,000, 1.04 KB at d = 10,000). */
static void scattered_few_round_trips(void **state)
{
    (void)state;
    const size_t ds[] = {1000, 10000}, per_diff[] = {1350, 1040};
    for (size_t i = 0; i < 2; i++) {
        struct stats st;
        check_pair(1000000, ds[i], LIMIT_RECON_MSG_BYTES, &st);
        printf("scattered d=%zu of n=1000000: %zu bytes (%.1f per difference) in %zu messages, "
               "%zu flights\n",
               ds[i], st.bytes, (double)st.bytes / (double)ds[i], st.msgs, st.flights);
        assert_true(st.flights <= 8);
        assert_true(st.bytes <= per_diff[i] * ds[i]);
    }
    /* a small cap splits flights into more messages, never into more flights */
    struct stats big, small;
    check_pair(100000, 1000, LIMIT_RECON_MSG_BYTES, &big);
    check_pair(100000, 1000, 1024, &small);
    assert_true(small.msgs > big.msgs);
    assert_int_equal(small.flights, big.flights);
}

static void tiny_messages_converge(void **state)
{
    (void)state;
    struct stats st;
    check_pair(10000, 100, 512, &st);
    assert_true(st.largest <= 512);
    printf("cap 512: n=10000 d=100: %zu bytes in %zu messages\n", st.bytes, st.msgs);
    check_pair(3000, 400, LIMIT_RECON_MSG_MIN, &st);
    assert_true(st.largest <= LIMIT_RECON_MSG_MIN);
    printf("cap %d: n=3000 d=400: %zu bytes in %zu messages\n", LIMIT_RECON_MSG_MIN, st.bytes,
           st.msgs);
    /* one-sided bulk: every id must cross, a few dozen per message */
    struct vec none = {0};
    struct pair p;
    struct side A, B;
    make_pair(2000, 0, 7, &p);
    run(&none, &p.a, 512, &A, &B, &st);
    assert_same(&A.need, &p.a);
    assert_same(&B.have, &p.a);
    assert_true(st.largest <= 512);
    side_free(&A);
    side_free(&B);
    pair_free(&p);
}

static void unsorted_input_refused(void **state)
{
    (void)state;
    struct pair p;
    make_pair(10, 0, 3, &p);
    struct recon r;
    struct recon_item swapped[10];
    memcpy(swapped, p.a.v, sizeof swapped);
    swapped[4] = p.a.v[5];
    swapped[5] = p.a.v[4];
    assert_int_equal(recon_init(&r, swapped, 10, LIMIT_RECON_MSG_BYTES), RECON_E_INPUT);
    swapped[5] = swapped[4]; /* duplicate */
    assert_int_equal(recon_init(&r, swapped, 10, LIMIT_RECON_MSG_BYTES), RECON_E_INPUT);
    memcpy(swapped, p.a.v, sizeof swapped);
    swapped[9].ts = UINT64_MAX;
    assert_int_equal(recon_init(&r, swapped, 10, LIMIT_RECON_MSG_BYTES), RECON_E_INPUT);
    assert_int_equal(recon_init(&r, p.a.v, 10, LIMIT_RECON_MSG_MIN - 1), RECON_E_INPUT);
    assert_int_equal(recon_init(&r, p.a.v, 10, LIMIT_RECON_MSG_BYTES + 1), RECON_E_INPUT);
    assert_int_equal(recon_init(&r, p.a.v, 10, LIMIT_RECON_MSG_BYTES), RECON_OK);
    static uint8_t out[LIMIT_RECON_MSG_BYTES];
    assert_int_equal(recon_initiate(&r, out, LIMIT_RECON_MSG_BYTES - 1), RECON_E_NOSPACE);
    assert_int_equal(recon_next(&r, out, LIMIT_RECON_MSG_BYTES - 1), RECON_E_NOSPACE);
    recon_free(&r);
    recon_free(&r);
    pair_free(&p);
    assert_string_equal(recon_strerror(RECON_E_BOUND),
                        "reconciliation range bound not above the previous one or malformed");
    assert_string_equal(recon_strerror(12345), "unknown reconciliation error");
}

static int respond_once(const struct vec *set, const uint8_t *msg, size_t len, size_t *where)
{
    struct recon r;
    uint8_t out[LIMIT_RECON_MSG_BYTES];
    struct side sink = {0};
    struct recon_diff d = {on_have, on_need, &sink};
    assert_int_equal(recon_init(&r, set->v, set->n, LIMIT_RECON_MSG_BYTES), RECON_OK);
    int rc = recon_respond(&r, msg, len, out, sizeof out, &d);
    if (rc < 0) /* refused before anything was reported */
        assert_int_equal(sink.have.n + sink.need.n, 0);
    *where = r.err_offset;
    recon_free(&r);
    vec_free(&sink.have);
    vec_free(&sink.need);
    return rc;
}

static void exact_messages(void **state)
{
    (void)state;
    struct vec none = {0};
    size_t at;
    /* the initiator with nothing: version, bound infinity (0), IDLIST (2), zero items */
    struct recon r;
    uint8_t out[LIMIT_RECON_MSG_MIN];
    assert_int_equal(recon_init(&r, NULL, 0, LIMIT_RECON_MSG_MIN), RECON_OK);
    assert_int_equal(recon_initiate(&r, out, sizeof out), 4);
    assert_memory_equal(out, "\x02\x00\x02\x00", 4);
    assert_int_equal(recon_next(&r, out + 4, sizeof out - 4), RECON_E_NOSPACE);
    assert_int_equal(recon_next(&r, out, sizeof out), 0); /* a flight of one message */
    assert_memory_equal(out, "\x02\x00\x02\x00", 4);
    recon_free(&r);
    /* an empty peer agrees: version, infinity, SKIP */
    uint8_t reply[LIMIT_RECON_MSG_MIN];
    assert_int_equal(recon_init(&r, NULL, 0, LIMIT_RECON_MSG_MIN), RECON_OK);
    assert_int_equal(recon_respond(&r, out, 4, reply, sizeof reply, NULL), 3);
    assert_memory_equal(reply, "\x02\x00\x00", 3);
    assert_true(recon_done(&r));
    assert_int_equal(recon_respond(&r, reply, 3, out, sizeof out, NULL), 0);
    recon_free(&r);

    static const struct {
        const char *bytes;
        size_t len;
        int rc;
        size_t at;
    } bad[] = {
        {"", 0, RECON_E_TRUNCATED, 0},
        {"\x01\x00\x00", 3, RECON_E_VERSION, 0}, /* version 1: refused, not misread */
        {"\x02", 1, RECON_E_TRUNCATED, 1},
        {"\x02\x00\x00\x00", 4, RECON_E_TRAILING, 3},
        {"\x02\x00\x07", 3, RECON_E_MODE, 3},
        {"\x02\x80\x00\x00\x00", 5, RECON_E_VARINT, 3},          /* non-minimal zero */
        {"\x02\xff\xff\xff\xff\xff\xff\xff\xff\xff\x02", 11, RECON_E_VARINT, 11}, /* > 64 bits */
        {"\x02\x01\x00\x00\x00\x00", 6, RECON_E_BOUND, 3},        /* (0, "") = the minimum */
        {"\x02\x05\x00\x00\x01\x00\x00", 7, RECON_E_BOUND, 6},    /* second bound below first */
        {"\x02\x05\x21", 3, RECON_E_BOUND, 3},                    /* 33-byte prefix */
        {"\x02\x05\x01\x00", 4, RECON_E_BOUND, 4},                /* prefix ends in zero */
        {"\x02\x00\x02\x21", 4, RECON_E_COUNT, 4},                /* 33 listed > 32 */
        {"\x02\x00\x03\x7f", 4, RECON_E_COUNT, 4},                /* 127 items in 0 bytes */
        {"\x02\x05\x00\x02\x01\x09", 6, RECON_E_TRUNCATED, 6},
        {"\x02\x06\x00\x04\x07", 5, RECON_E_ITEM, 5}, /* NEWEST at ts 7 in [min, ts 5) */
        {"\x02\x06\x00\x04\x05", 5, RECON_E_ITEM, 5}, /* ts 5 is not below (5, "") */
        {"\x02\x00\x04\x05", 4, RECON_E_TRUNCATED, 4}, /* NEWEST without its fingerprint */
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        int rc = respond_once(&none, (const uint8_t *)bad[i].bytes, bad[i].len, &at);
        if (rc != bad[i].rc || at != bad[i].at)
            fail_msg("case %zu: rc %d at %zu, want %d at %zu", i, rc, at, bad[i].rc, bad[i].at);
    }
    /* a message that ends below infinity: its flight goes on in the next one, unanswered so far */
    assert_int_equal(respond_once(&none, (const uint8_t *)"\x02\x05\x00\x00", 4, &at), 0);
    /* an item outside its range: range [min, ts 5) lists an item at ts 9 */
    uint8_t m[64] = {RECON_VERSION, 0x06, 0x00, 0x02, 0x01, 0x09};
    memset(m + 6, 0xaa, 32);
    m[38] = 0x00; /* closing range: infinity, SKIP */
    m[39] = 0x00;
    assert_int_equal(respond_once(&none, m, 40, &at), RECON_E_ITEM);
    m[5] = 0x02; /* ts 2: inside */
    /* answered: version, DIFF [min, ts 5) with no items and bitmap 0x01, SKIP to infinity */
    assert_int_equal(respond_once(&none, m, 40, &at), 8);
}

/* Every strict prefix of a valid message and random bytes are refused without a crash. */
static void malformed_refused(void **state)
{
    (void)state;
    struct pair p;
    make_pair(2000, 40, 9, &p);
    static uint8_t msgs[3][LIMIT_RECON_MSG_BYTES];
    int lens[3];
    struct recon a, b;
    assert_int_equal(recon_init(&a, p.a.v, p.a.n, LIMIT_RECON_MSG_BYTES), RECON_OK);
    assert_int_equal(recon_init(&b, p.b.v, p.b.n, LIMIT_RECON_MSG_BYTES), RECON_OK);
    lens[0] = recon_initiate(&a, msgs[0], LIMIT_RECON_MSG_BYTES);
    lens[1] = recon_respond(&b, msgs[0], (size_t)lens[0], msgs[1], LIMIT_RECON_MSG_BYTES, NULL);
    lens[2] = recon_respond(&a, msgs[1], (size_t)lens[1], msgs[2], LIMIT_RECON_MSG_BYTES, NULL);
    recon_free(&a);
    recon_free(&b);
    size_t at;
    for (int k = 0; k < 3; k++) {
        assert_true(lens[k] > 0);
        const struct vec *to = k == 1 ? &p.a : &p.b; /* who would receive message k */
        for (int cut = 0; cut < lens[k]; cut++) {
            /* refused, or (cut between two ranges) taken as a flight that goes on: unanswered */
            int rc = respond_once(to, msgs[k], (size_t)cut, &at);
            if (rc > 0)
                fail_msg("message %d cut at %d answered", k, cut);
        }
        assert_true(respond_once(to, msgs[k], (size_t)lens[k], &at) >= 0);
    }
    /* random bytes, with and without a valid version byte */
    uint64_t seed = 99;
    static uint8_t junk[4096];
    for (int t = 0; t < 2000; t++) {
        size_t len = (size_t)(rng_next(&seed) % sizeof junk);
        for (size_t i = 0; i < len; i++)
            junk[i] = (uint8_t)rng_next(&seed);
        if (t % 2 && len)
            junk[0] = RECON_VERSION;
        (void)respond_once(&p.a, junk, len, &at);
    }
    /* flipping single bytes of a valid message never crashes */
    for (int i = 0; i < lens[1]; i += 7) {
        uint8_t saved = msgs[1][i];
        msgs[1][i] ^= (uint8_t)(1u << (i % 8));
        (void)respond_once(&p.a, msgs[1], (size_t)lens[1], &at);
        msgs[1][i] = saved;
    }
    pair_free(&p);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(exact_messages),
        cmocka_unit_test(empty_sides),
        cmocka_unit_test(identical_sets_one_round_trip),
        cmocka_unit_test(cost_grows_with_difference),
        cmocka_unit_test(newest_records_few_round_trips),
        cmocka_unit_test(scattered_few_round_trips),
        cmocka_unit_test(tiny_messages_converge),
        cmocka_unit_test(unsorted_input_refused),
        cmocka_unit_test(malformed_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
