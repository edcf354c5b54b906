/* oracle.c - the TLP sharing rules stated again, independently of node/core/gate.c, straight from
 * docs/SHARING.md, over simnet's ground truth (struct world): which node may send which record to
 * which neighbour, and so who is entitled to each record. */
#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "simnet/simint.h"

static uint64_t load64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* Ids and signatures are uniformly random bytes: their first 8 bytes are a fine hash. */
static size_t slot_of(const struct oracle *o, const uint8_t *key)
{
    return (size_t)(load64(key) * 0x9e3779b97f4a7c15ull >> 20) & (o->slots - 1);
}

int oracle_init(struct oracle *o, const struct world *w, size_t max_records)
{
    memset(o, 0, sizeof *o);
    o->w = w;
    o->cap = max_records ? max_records : 1;
    o->words = (w->n + 63) / 64;
    o->slots = 1;
    while (o->slots < 2 * o->cap)
        o->slots *= 2;
    o->recs = calloc(o->cap, sizeof *o->recs);
    o->entitled = calloc(o->cap * o->words, sizeof *o->entitled);
    o->holders = calloc(o->cap * o->words, sizeof *o->holders);
    o->by_id = calloc(o->slots, sizeof *o->by_id);
    o->by_sig = calloc(o->slots, sizeof *o->by_sig);
    if (!o->recs || !o->entitled || !o->holders || !o->by_id || !o->by_sig) {
        oracle_free(o);
        return SIM_E_NOMEM;
    }
    return SIM_OK;
}

void oracle_free(struct oracle *o)
{
    for (size_t i = 0; o->recs && i < o->n; i++)
        free(o->recs[i].bytes);
    free(o->recs);
    free(o->entitled);
    free(o->holders);
    free(o->by_id);
    free(o->by_sig);
    memset(o, 0, sizeof *o);
}

static void index_put(const struct oracle *o, uint32_t *table, const uint8_t *key, size_t rec)
{
    size_t s = slot_of(o, key);
    while (table[s] != 0)
        s = (s + 1) & (o->slots - 1);
    table[s] = (uint32_t)rec + 1;
}

int64_t oracle_add(struct oracle *o, const struct orec *r)
{
    if (o->n == o->cap)
        return SIM_E_NOMEM;
    size_t i = o->n++;
    o->recs[i] = *r;
    index_put(o, o->by_id, r->id, i);
    index_put(o, o->by_sig, r->bytes, i);
    return (int64_t)i;
}

int64_t oracle_find_id(const struct oracle *o, const uint8_t id[LIMIT_ID_BYTES])
{
    for (size_t s = slot_of(o, id); o->by_id[s] != 0; s = (s + 1) & (o->slots - 1))
        if (memcmp(o->recs[o->by_id[s] - 1].id, id, LIMIT_ID_BYTES) == 0)
            return o->by_id[s] - 1;
    return -1;
}

int64_t oracle_find_sid(const struct oracle *o, const uint8_t sid[8])
{
    for (size_t s = slot_of(o, sid); o->by_id[s] != 0; s = (s + 1) & (o->slots - 1))
        if (memcmp(o->recs[o->by_id[s] - 1].id, sid, 8) == 0)
            return o->by_id[s] - 1;
    return -1;
}

int64_t oracle_find_signed(const struct oracle *o, const uint8_t *signed_rec, size_t len,
                           bool *same_bytes)
{
    *same_bytes = false;
    if (len < LIMIT_SIG_BYTES)
        return -1;
    for (size_t s = slot_of(o, signed_rec); o->by_sig[s] != 0; s = (s + 1) & (o->slots - 1)) {
        const struct orec *r = &o->recs[o->by_sig[s] - 1];
        if (memcmp(r->bytes, signed_rec, LIMIT_SIG_BYTES) != 0)
            continue;
        *same_bytes = r->len == len && memcmp(r->bytes, signed_rec, len) == 0;
        return o->by_sig[s] - 1;
    }
    return -1;
}

/* --- the rules --- */

/* "X is in R's audience": no community and no recipient named means the whole network;
 * otherwise X's key among the recipients or X a member of a named community. */
static bool in_audience(const struct oracle *o, uint32_t x, const struct orec *r)
{
    if (r->comm == 0 && r->n_recip == 0)
        return true;
    for (unsigned i = 0; i < r->n_recip; i++)
        if (r->recip[i] == x)
            return true;
    return (o->w->comm[x] & r->comm) != 0;
}

static bool is_recipient(const struct orec *r, uint32_t x)
{
    for (unsigned i = 0; i < r->n_recip; i++)
        if (r->recip[i] == x)
            return true;
    return false;
}

bool oracle_may_send(const struct oracle *o, uint32_t link, uint32_t from, uint32_t to,
                     const struct orec *r)
{
    const struct world *w = o->w;
    assert(w->adj[link] == to);
    if (w->ceiling[link] < r->tlp) /* the operator's ceiling for that peer */
        return false;
    bool same_org = w->org[from] == w->org[to];
    switch (r->tlp) {
    case PROTO_TLP_CLEAR:
        return true;
    case PROTO_TLP_GREEN:
        return in_audience(o, to, r) || same_org;
    case PROTO_TLP_AMBER:
        return in_audience(o, to, r) || same_org || (in_audience(o, from, r) && w->client[link]);
    case PROTO_TLP_AMBER_STRICT:
        return in_audience(o, to, r) || same_org;
    case PROTO_TLP_RED:
        return r->n_recip > 0 && is_recipient(r, to);
    default:
        return false;
    }
}

bool oracle_may_accept(const struct oracle *o, uint32_t link, uint32_t from, uint32_t to,
                       const struct orec *r)
{
    const struct world *w = o->w;
    assert(w->adj[link] == to);
    (void)link; /* the ceiling on it is the sender's */
    bool same_org = w->org[from] == w->org[to];
    switch (r->tlp) {
    case PROTO_TLP_CLEAR:
        return true;
    case PROTO_TLP_GREEN:
    case PROTO_TLP_AMBER_STRICT:
        return in_audience(o, to, r) || same_org;
    case PROTO_TLP_AMBER:
        /* Whether the sender names `to` a client only the sender knows; so are the sender's
         * community memberships (it counts as a member of every community R names). */
        return in_audience(o, to, r) || same_org || r->comm != 0 || in_audience(o, from, r);
    case PROTO_TLP_RED:
        return r->n_recip > 0 && is_recipient(r, to);
    default:
        return false;
    }
}

/* Adds to the entitled set of rec every node reachable from start over links the rules allow,
 * through live nodes. */
static void spread(struct oracle *o, size_t rec, uint32_t start, const bool *alive)
{
    const struct world *w = o->w;
    const struct orec *r = &o->recs[rec];
    uint64_t *ent = o->entitled + rec * o->words;
    if (bit_test(ent, start) || (alive != NULL && !alive[start]))
        return;
    uint32_t *queue = malloc(w->n * sizeof *queue);
    assert(queue != NULL);
    size_t head = 0, tail = 0;
    bit_put(ent, start);
    queue[tail++] = start;
    while (head < tail) {
        uint32_t a = queue[head++];
        for (uint32_t k = w->off[a]; k < w->off[a + 1]; k++) {
            uint32_t b = w->adj[k];
            if (bit_test(ent, b) || (alive && !alive[b]) || !oracle_may_send(o, k, a, b, r))
                continue;
            bit_put(ent, b);
            queue[tail++] = b;
        }
    }
    free(queue);
}

/* Entitled = reachable from the origin over links the rules allow, through live nodes. */
void oracle_entitle(struct oracle *o, size_t rec, const bool *alive)
{
    memset(o->entitled + rec * o->words, 0, o->words * sizeof *o->entitled);
    spread(o, rec, o->recs[rec].origin, alive);
}

void oracle_entitle_held(struct oracle *o, size_t rec, const bool *alive)
{
    assert(alive != NULL);
    memset(o->entitled + rec * o->words, 0, o->words * sizeof *o->entitled);
    const uint64_t *hold = o->holders + rec * o->words;
    for (uint32_t a = 0; a < o->w->n; a++)
        if (alive[a] && bit_test(hold, a))
            spread(o, rec, a, alive);
}

void oracle_expose(struct oracle *o, size_t rec, uint32_t node)
{
    spread(o, rec, node, NULL);
}

void oracle_fail(struct oracle *o, uint64_t seed, uint64_t now, const char *fmt, ...)
{
    if (o->failed)
        return;
    o->failed = true;
    char what[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    snprintf(o->msg, sizeof o->msg, "seed %llu, t=%llu ms: %s", (unsigned long long)seed,
             (unsigned long long)now, what);
}
