/* recon.c - range-based set reconciliation; see recon.h for the contract and docs/PROTOCOL.md
 * "Reconciliation" for the wire format. */
#include "node/core/recon_int.h"

#include <stdlib.h>

/* --- sessions --- */

static int reserve_needs(struct recon *r, size_t more)
{
    if (more > LIMIT_RECON_NEEDS - r->n_needs)
        return RECON_E_LIMIT;
    size_t want = r->n_needs + more;
    if (want <= r->cap_needs)
        return RECON_OK;
    size_t cap = r->cap_needs ? r->cap_needs : 64;
    while (cap < want)
        cap *= 2;
    struct recon_item *p = realloc(r->needs, cap * sizeof *p);
    if (!p)
        return RECON_E_NOMEM;
    r->needs = p;
    struct sum256 *q = realloc(r->needs_prefix, (cap / STRIDE + 1) * sizeof *q);
    if (!q)
        return RECON_E_NOMEM; /* needs grew; cap_needs still bounds both arrays */
    r->needs_prefix = q;
    r->cap_needs = cap;
    return RECON_OK;
}

/* Room for the needs one call may learn (learnable of its message): grown on demand, not
 * FRESH_MAX (73 KB) per session up front, since most messages teach a few ids or none and a
 * simulated node runs a session per peer. */
static int reserve_fresh(struct recon *r, size_t learnable)
{
    assert(learnable <= FRESH_MAX && r->n_fresh == 0);
    if (learnable <= r->cap_fresh)
        return RECON_OK;
    size_t cap = r->cap_fresh ? r->cap_fresh : 16;
    while (cap < learnable)
        cap *= 2;
    cap = cap < FRESH_MAX ? cap : FRESH_MAX;
    struct recon_item *p = realloc(r->fresh, cap * sizeof *p);
    if (!p)
        return RECON_E_NOMEM;
    r->fresh = p;
    r->cap_fresh = cap;
    return RECON_OK;
}

/* Merges this call's learned needs (ascending, disjoint from needs) into needs, from the back.
 * Needs below the first fresh one keep their places, so only the prefix sums from its stride on
 * are rebuilt: a catch-up learns its needs in ascending order, and rebuilding all of them after
 * every message made it quadratic (a third of the receiver's CPU at 10^6 records). */
static void merge_fresh(struct recon *r)
{
    assert(r->n_needs + r->n_fresh <= r->cap_needs || r->n_fresh == 0);
    size_t i = r->n_needs, j = r->n_fresh, k = r->n_needs + r->n_fresh;
    while (j > 0) {
        if (i > 0 && item_cmp(&r->needs[i - 1], &r->fresh[j - 1]) > 0)
            r->needs[--k] = r->needs[--i];
        else
            r->needs[--k] = r->fresh[--j];
    }
    if (r->n_fresh > 0) /* k: where the first fresh need went */
        recon_prefix_update(r->needs, r->n_needs + r->n_fresh, r->needs_prefix, k);
    r->n_needs += r->n_fresh;
    r->n_fresh = 0;
}

int recon_init(struct recon *r, const struct recon_item *items, size_t n, size_t max_msg_bytes)
{
    if (!r)
        return RECON_E_INPUT;
    memset(r, 0, sizeof *r);
    if ((n && !items) || max_msg_bytes < LIMIT_RECON_MSG_MIN ||
        max_msg_bytes > LIMIT_RECON_MSG_BYTES)
        return RECON_E_INPUT;
    if (n > LIMIT_RECON_ITEMS)
        return RECON_E_LIMIT;
    for (size_t i = 0; i < n; i++) {
        if (items[i].ts == UINT64_MAX || (i > 0 && item_cmp(&items[i - 1], &items[i]) >= 0))
            return RECON_E_INPUT;
    }
    int rc = RECON_E_NOMEM;
    struct sum256 *prefix = calloc(n / STRIDE + 1, sizeof *prefix);
    r->prefix = prefix;
    struct recon_turn *t = r->turn = calloc(1, sizeof *r->turn);
    if (!prefix || !t)
        goto out;
    t->rp.w.cap = 4 * RESERVE;
    t->rp.w.cap_starts = 64;
    t->rp.w.buf = malloc(t->rp.w.cap);
    t->rp.w.starts = malloc(t->rp.w.cap_starts * sizeof *t->rp.w.starts);
    if (!t->rp.w.buf || !t->rp.w.starts)
        goto out;
    t->in_lo = BOUND_MIN;
    recon_prefix_build(items, n, prefix);
    r->items = items;
    r->n = n;
    r->max_msg = max_msg_bytes;
    rc = RECON_OK;
out:
    if (rc < 0)
        recon_free(r);
    return rc;
}

void recon_free(struct recon *r)
{
    if (!r)
        return;
    free(r->prefix);
    free(r->needs);
    free(r->needs_prefix);
    free(r->fresh);
    if (r->turn)
        recon_writer_free(&r->turn->rp.w);
    free(r->turn);
    memset(r, 0, sizeof *r);
}

/* Every call that writes a message: an initialised state and room for a whole message. */
static int out_check(const struct recon *r, const uint8_t *out, size_t cap)
{
    if (!r || !r->prefix || !r->turn || !out)
        return RECON_E_INPUT;
    return cap < r->max_msg ? RECON_E_NOSPACE : RECON_OK;
}

int recon_initiate(struct recon *r, uint8_t *out, size_t cap)
{
    int rc = out_check(r, out, cap);
    if (rc < 0)
        return rc;
    struct recon_turn *t = r->turn;
    recon_reply_start(r, &t->rp, NULL);
    if (r->n + r->n_needs > LIMIT_RECON_LIST_ITEMS)
        recon_emit_newest(r, &t->rp, &BOUND_MIN, &BOUND_INF);
    else
        recon_emit_open(r, &t->rp, &BOUND_MIN, &BOUND_INF);
    recon_reply_finish(r, &t->rp);
    t->next_range = 0;
    int len = recon_next(r, out, cap);
    assert(len > 0 && !r->done);
    return len;
}

int recon_next(struct recon *r, uint8_t *out, size_t cap)
{
    int rc = out_check(r, out, cap);
    if (rc < 0)
        return rc;
    struct recon_turn *t = r->turn;
    const struct writer *w = &t->rp.w;
    size_t i = t->next_range, j = i;
    if (t->replying || i >= w->n_starts)
        return 0;
    /* Whole ranges, as many as the cap takes (each fits one message: recon_write.c). */
    size_t begin = w->starts[i], end = begin;
    while (j < w->n_starts && j - i < LIMIT_RECON_RANGES) {
        size_t e = j + 1 < w->n_starts ? w->starts[j + 1] : w->pos;
        if (1 + e - begin > r->max_msg)
            break;
        end = e;
        j++;
    }
    assert(j > i);
    out[0] = RECON_VERSION;
    memcpy(out + 1, w->buf + begin, end - begin);
    t->next_range = j;
    return (int)(1 + end - begin);
}

int recon_respond(struct recon *r, const uint8_t *in, size_t in_len, uint8_t *out, size_t cap,
                  const struct recon_diff *diff)
{
    int rc = out_check(r, out, cap);
    if (rc < 0 || (!in && in_len))
        return rc < 0 ? rc : RECON_E_INPUT;
    if (r->rounds >= LIMIT_RECON_ROUNDS)
        return RECON_E_ROUNDS;
    r->rounds++;
    if (in_len > LIMIT_RECON_MSG_BYTES) {
        r->err_offset = LIMIT_RECON_MSG_BYTES;
        return RECON_E_TOO_BIG;
    }
    /* Check everything first, so that a bad message reports nothing and changes nothing. */
    size_t learnable = 0;
    struct bound end;
    rc = recon_walk_message(r, in, in_len, NULL, &learnable, &end);
    if (rc < 0)
        return rc;
    if ((rc = reserve_needs(r, learnable)) < 0 || (rc = reserve_fresh(r, learnable)) < 0)
        return rc;
    struct recon_turn *t = r->turn;
    if (!t->replying) { /* the first message of the peer's flight: our answer starts */
        recon_reply_start(r, &t->rp, diff);
        t->replying = true;
    }
    t->rp.diff = diff;
    learnable = 0;
    rc = recon_walk_message(r, in, in_len, &t->rp, &learnable, &end);
    assert(rc == RECON_OK);
    merge_fresh(r);
    if (!end.inf) {
        t->in_lo = end;
        return 0;
    }
    t->in_lo = BOUND_MIN;
    t->replying = false;
    recon_reply_finish(r, &t->rp);
    t->next_range = 0;
    return recon_next(r, out, cap);
}

bool recon_done(const struct recon *r)
{
    return r && r->done;
}

const char *recon_strerror(int err)
{
    switch (err) {
    case RECON_OK: return "ok";
    RECON_ERRORS(ERRORS_CASE)
    default: return "unknown reconciliation error";
    }
}
