/* fuzz_recon.c - recon_respond() on a peer's arbitrary messages, and whole reconciliations.
 *
 * Input: 1 mode byte (mod 2), then:
 *   0  u8 n, u8 ts gap, u8 zero id prefix, u16 message cap: this side's items,
 *      then a list of peer messages, each u16 big-endian length and the bytes, answered in turn
 *      by one recon state (so later messages meet the state earlier ones left);
 *   1  u8 common, u8 only-A (mod 64), u8 only-B (mod 64), u8 ts gap, u8 zero id prefix, u16 cap A, u16 cap B:
 *      two honest sides reconcile to the end.
 * Item sets: fuzz_recon_items.h.
 *
 * Invariants, arbitrary messages: never a crash; a refusal is a RECON_E_* code with err_offset
 * inside the message and leaves the state as it was (needs, done); a reply fits min(cap, max
 * msg); have() names only items this side holds, need() only items it lacks and each at most
 * once.
 * Invariants, honest peers: no message is refused; the exchange ends within LIMIT_RECON_ROUNDS;
 * each side reports exactly the true difference, every item exactly once.
 */
#include <stdbool.h>

#include <sodium.h>

#include "fuzz.h"
#include "fuzz_recon_items.h"
#include "node/core/recon.h"

#define FUZZ_RECON_MAX_ITEMS (255 + 2 * 63)

struct tally {
    const struct recon_item *have_set; /* what have() may name, sorted */
    size_t n_have;
    const struct recon_item *need_set; /* what need() may name, sorted; NULL: anything not held */
    size_t n_need;
    const struct recon_item *own; /* the side's items (mode 0: need() must avoid them) */
    size_t n_own;
    uint16_t have_cnt[FUZZ_RECON_MAX_ITEMS];
    uint16_t need_cnt[FUZZ_RECON_MAX_ITEMS];
    struct recon_item needs[FUZZ_RECON_MAX_ITEMS]; /* mode 0: needs seen so far */
    size_t n_needs;
};

static const struct recon_item *find(const struct recon_item *set, size_t n,
                                     const struct recon_item *it)
{
    return n == 0 ? NULL : bsearch(it, set, n, sizeof *set, fuzz_item_cmp);
}

static void on_have(void *ctx, const struct recon_item *it)
{
    struct tally *t = ctx;
    const struct recon_item *f = find(t->have_set, t->n_have, it);
    FUZZ_CHECK(f != NULL);
    t->have_cnt[f - t->have_set]++;
}

static void on_need(void *ctx, const struct recon_item *it)
{
    struct tally *t = ctx;
    if (t->need_set != NULL) {
        const struct recon_item *f = find(t->need_set, t->n_need, it);
        FUZZ_CHECK(f != NULL);
        t->need_cnt[f - t->need_set]++;
        return;
    }
    FUZZ_CHECK(find(t->own, t->n_own, it) == NULL);
    for (size_t i = 0; i < t->n_needs; i++)
        FUZZ_CHECK(fuzz_item_cmp(&t->needs[i], it) != 0);
    if (t->n_needs < FUZZ_RECON_MAX_ITEMS)
        t->needs[t->n_needs++] = *it;
}

static size_t msg_cap(uint16_t v)
{
    return LIMIT_RECON_MSG_MIN + v % (LIMIT_RECON_MSG_BYTES - LIMIT_RECON_MSG_MIN + 1);
}

static bool is_recon_err(int rc)
{
    return rc <= RECON_E_INPUT && rc >= RECON_E_LIMIT;
}

static void fuzz_messages(struct fuzz_in *in)
{
    static struct recon_item items[FUZZ_RECON_MAX_ITEMS];
    static struct tally t;
    static uint8_t out[LIMIT_RECON_MSG_BYTES];
    size_t n = fuzz_u8(in);
    unsigned gap = fuzz_u8(in), zero = fuzz_u8(in);
    size_t max_msg = msg_cap(fuzz_u16(in));
    struct recon_diff diff = {on_have, on_need, &t};
    struct recon r;

    fuzz_make_items(items, 0, n, gap, zero);
    qsort(items, n, sizeof items[0], fuzz_item_cmp);
    memset(&t, 0, sizeof t);
    t.have_set = t.own = items;
    t.n_have = t.n_own = n;
    FUZZ_CHECK(recon_init(&r, items, n, max_msg) == RECON_OK);
    while (in->n > 0) {
        size_t len, needs = r.n_needs;
        bool done = r.done;
        const uint8_t *msg = fuzz_bytes(in, fuzz_u16(in), &len);
        int rc = recon_respond(&r, msg, len, out, sizeof out, &diff);
        if (rc < 0) {
            FUZZ_CHECK(is_recon_err(rc));
            FUZZ_CHECK(r.err_offset <= len);
            FUZZ_CHECK(r.n_needs == needs && r.done == done);
            FUZZ_CHECK(strcmp(recon_strerror(rc), "unknown reconciliation error") != 0);
        } else {
            for (; rc > 0; rc = recon_next(&r, out, sizeof out))
                FUZZ_CHECK((size_t)rc <= max_msg);
            FUZZ_CHECK(rc == 0);
        }
    }
    recon_free(&r);
}

/* One side's flight: its messages back to back. */
struct flight {
    uint8_t buf[1 << 20];
    size_t ends[4096];
    size_t n, len;
};

static void flight_take(struct recon *r, struct flight *f, uint8_t *out, size_t max_msg, int len)
{
    for (; len > 0; len = recon_next(r, out, LIMIT_RECON_MSG_BYTES)) {
        FUZZ_CHECK((size_t)len <= max_msg && f->n < 4096 && f->len + (size_t)len <= sizeof f->buf);
        memcpy(f->buf + f->len, out, (size_t)len);
        f->len += (size_t)len;
        f->ends[f->n++] = f->len;
    }
    FUZZ_CHECK(len == 0);
}

/* Runs the exchange to its end, flight by flight; both sides must accept every message. */
static void run_exchange(struct recon *a, struct recon *b, struct tally *ta, struct tally *tb,
                         size_t cap_a, size_t cap_b)
{
    static uint8_t out[LIMIT_RECON_MSG_BYTES];
    static struct flight f[2];
    struct recon_diff da = {on_have, on_need, ta}, db = {on_have, on_need, tb};
    struct recon *side[2] = {a, b};
    const struct recon_diff *diff[2] = {&da, &db};
    const size_t cap[2] = {cap_a, cap_b};
    int turn = 1; /* who answers next */

    f[0].n = f[0].len = 0;
    flight_take(a, &f[0], out, cap_a, recon_initiate(a, out, sizeof out));
    FUZZ_CHECK(f[0].n > 0);
    for (unsigned flights = 0; f[!turn].n > 0; flights++) {
        struct flight *in = &f[!turn], *reply = &f[turn];
        FUZZ_CHECK(flights <= 2 * LIMIT_RECON_ROUNDS);
        reply->n = reply->len = 0;
        for (size_t i = 0, at = 0; i < in->n; at = in->ends[i++]) {
            int len = recon_respond(side[turn], in->buf + at, in->ends[i] - at, out, sizeof out,
                                    diff[turn]);
            FUZZ_CHECK(len >= 0);
            flight_take(side[turn], reply, out, cap[turn], len);
        }
        in->n = 0;
        turn = !turn;
    }
    FUZZ_CHECK(recon_done(a) && recon_done(b));
}

static void check_once(const struct tally *t)
{
    for (size_t i = 0; i < t->n_have; i++)
        FUZZ_CHECK(t->have_cnt[i] == 1);
    for (size_t i = 0; i < t->n_need; i++)
        FUZZ_CHECK(t->need_cnt[i] == 1);
}

static void fuzz_exchange(struct fuzz_in *in)
{
    static struct recon_item all[FUZZ_RECON_MAX_ITEMS], a[FUZZ_RECON_MAX_ITEMS],
        b[FUZZ_RECON_MAX_ITEMS];
    static struct tally ta, tb;
    /* Sets stay small: a fingerprint costs a 256-bit sum per item, and under the sanitizers
     * larger sets cut the rate below what finds anything; above 16 items ranges split already. */
    size_t common = fuzz_u8(in), only_a = fuzz_u8(in) % 64, only_b = fuzz_u8(in) % 64;
    unsigned gap = fuzz_u8(in), zero = fuzz_u8(in);
    size_t cap_a = msg_cap(fuzz_u16(in)), cap_b = msg_cap(fuzz_u16(in));
    struct recon_item *a_only = all + common, *b_only = all + common + only_a;
    struct recon ra, rb;

    fuzz_make_items(all, 0, common + only_a + only_b, gap, zero);
    memcpy(a, all, (common + only_a) * sizeof all[0]);
    memcpy(b, all, common * sizeof all[0]);
    memcpy(b + common, b_only, only_b * sizeof all[0]);
    qsort(a, common + only_a, sizeof a[0], fuzz_item_cmp);
    qsort(b, common + only_b, sizeof b[0], fuzz_item_cmp);
    qsort(a_only, only_a, sizeof a_only[0], fuzz_item_cmp);
    qsort(b_only, only_b, sizeof b_only[0], fuzz_item_cmp);

    ta = (struct tally){.have_set = a_only, .n_have = only_a, .need_set = b_only, .n_need = only_b};
    tb = (struct tally){.have_set = b_only, .n_have = only_b, .need_set = a_only, .n_need = only_a};
    FUZZ_CHECK(recon_init(&ra, a, common + only_a, cap_a) == RECON_OK);
    FUZZ_CHECK(recon_init(&rb, b, common + only_b, cap_b) == RECON_OK);
    run_exchange(&ra, &rb, &ta, &tb, cap_a, cap_b);
    check_once(&ta);
    check_once(&tb);
    recon_free(&ra);
    recon_free(&rb);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool ready;
    struct fuzz_in in = {data, size};

    if (!ready) {
        FUZZ_CHECK(sodium_init() >= 0);
        ready = true;
    }
    if (fuzz_u8(&in) % 2 == 0)
        fuzz_messages(&in);
    else
        fuzz_exchange(&in);
    return 0;
}
