/* memstore.c - see memstore.h. */
#include "store/memstore.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "proto/record.h"

enum { MIN_SLOTS = 64 };

/* What applying one item needs from its decoded body. */
struct facts {
    bool revocation;
    uint8_t origin[LIMIT_KEY_BYTES];
    uint8_t target[LIMIT_ID_BYTES]; /* revocation only */
};

/* The 8 bytes table entry i probes with. */
typedef const uint8_t *(*key_fn)(const void *owner, size_t i);

/* Tables of uint32_t slots (power-of-two cap, at most half full) keyed by SipHash of the first
 * 8 id bytes under the caller's key: the hash's low bits pick the home slot. A slot packs
 * index + 1 in its low log2(cap) bits (indexes stay below cap / 2) and the hash's high bits
 * above them, so that a probe reads an entry (a cold line, through the pool) only when those
 * bits match. */
static uint64_t hash_of(const uint8_t key[GOSSIP_HASH_KEY_BYTES], const uint8_t *id8)
{
    uint8_t h[crypto_shorthash_BYTES];
    crypto_shorthash(h, id8, GOSSIP_SHORT_ID_BYTES, key);
    uint64_t v;
    memcpy(&v, h, sizeof v);
    return v;
}

static uint32_t slot_mask(size_t cap)
{
    assert(cap > 0 && (cap & (cap - 1)) == 0);
    return (uint32_t)(cap - 1);
}

static uint32_t tag_of(uint64_t h, size_t cap)
{
    return (uint32_t)(h >> 32) & ~slot_mask(cap);
}

/* The next index whose key hash is h, probing from slot *s (which it advances); -1 at the end
 * of the run. */
static int64_t probe_next(const uint32_t *slots, size_t cap, uint64_t h, size_t *s)
{
    const uint32_t mask = slot_mask(cap), tag = tag_of(h, cap);
    for (size_t i = *s; slots[i] != 0; i = (i + 1) & mask)
        if ((slots[i] & ~mask) == tag) {
            *s = (i + 1) & mask;
            return (int64_t)(slots[i] & mask) - 1;
        }
    return -1;
}

/* Grows *p (element size elem) to hold at least need elements, doubling. */
static int reserve(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return STORE_OK;
    size_t c = *cap ? *cap : 64;
    while (c < need)
        c *= 2;
    void *np = realloc(*p, c * elem);
    if (np == NULL)
        return STORE_E_IO;
    *p = np;
    *cap = c;
    return STORE_OK;
}

static void insert_slot_h(uint32_t *slots, size_t cap, uint64_t h, size_t index)
{
    const uint32_t mask = slot_mask(cap);
    assert(index < cap / 2); /* index + 1 fits below the tag bits */
    size_t s = h & mask;
    while (slots[s] != 0) /* at most half full: an empty slot exists */
        s = (s + 1) & mask;
    slots[s] = tag_of(h, cap) | (uint32_t)(index + 1);
}

static void insert_slot(const uint8_t key[GOSSIP_HASH_KEY_BYTES], uint32_t *slots, size_t cap,
                        const uint8_t *id8, size_t index)
{
    insert_slot_h(slots, cap, hash_of(key, id8), index);
}

/* Rebuilds an index of `count` entries into a table of at least 2 * need slots. */
static int rehash(const uint8_t key[GOSSIP_HASH_KEY_BYTES], uint32_t **slots, size_t *slot_cap,
                  size_t need, key_fn key_of, const void *owner, size_t count)
{
    if (need * 2 <= *slot_cap)
        return STORE_OK;
    if (need >= UINT32_MAX / 2)
        return STORE_E_IO;
    size_t cap = *slot_cap ? *slot_cap : MIN_SLOTS;
    while (cap < need * 2)
        cap *= 2;
    uint32_t *ns = calloc(cap, sizeof *ns);
    if (ns == NULL)
        return STORE_E_IO;
    for (size_t i = 0; i < count; i++)
        insert_slot(key, ns, cap, key_of(owner, i), i);
    free(*slots);
    *slots = ns;
    *slot_cap = cap;
    return STORE_OK;
}

/* --- the pool --- */

int memstore_pool_init(struct memstore_pool *p, const uint8_t hash_key[GOSSIP_HASH_KEY_BYTES])
{
    assert(p != NULL && hash_key != NULL);
    memset(p, 0, sizeof *p);
    memcpy(p->hash_key, hash_key, GOSSIP_HASH_KEY_BYTES);
    return STORE_OK;
}

void memstore_pool_free(struct memstore_pool *p)
{
    if (p == NULL)
        return;
    free(p->arena);
    free(p->copies);
    free(p->slots);
    memset(p, 0, sizeof *p);
}

size_t memstore_pool_bytes(const struct memstore_pool *p)
{
    assert(p != NULL);
    return p->arena_cap + p->cap * sizeof *p->copies + p->slot_cap * sizeof *p->slots;
}

static const uint8_t *copy_key(const void *owner, size_t i)
{
    return ((const struct memstore_pool *)owner)->copies[i].id;
}

/* Room for n more copies of `bytes` bytes in all. */
static int pool_reserve(struct memstore_pool *p, size_t n, size_t bytes)
{
    int rc = reserve((void **)&p->arena, &p->arena_cap, p->arena_len + bytes, 1);
    if (rc == STORE_OK)
        rc = reserve((void **)&p->copies, &p->cap, p->n + n, sizeof *p->copies);
    if (rc == STORE_OK)
        rc = rehash(p->hash_key, &p->slots, &p->slot_cap, p->n + n, copy_key, p, p->n);
    return rc;
}

int memstore_pool_reserve(struct memstore_pool *p, size_t copies, size_t bytes)
{
    assert(p != NULL);
    return pool_reserve(p, copies, bytes);
}

/* The index of the pooled copy of these bytes, added if none (capacity is reserved). */
static uint32_t pool_intern(struct memstore_pool *p, const uint8_t id[LIMIT_ID_BYTES],
                            const uint8_t *bytes, size_t len)
{
    assert(p->n < p->cap && p->n < UINT32_MAX);
    const uint64_t h = hash_of(p->hash_key, id);
    size_t s = h & slot_mask(p->slot_cap);
    for (int64_t i; (i = probe_next(p->slots, p->slot_cap, h, &s)) >= 0;) {
        const struct memstore_copy *c = &p->copies[i];
        if (c->len == len && memcmp(c->id, id, LIMIT_ID_BYTES) == 0 &&
            memcmp(p->arena + c->off, bytes, len) == 0)
            return (uint32_t)i;
    }
    struct memstore_copy *c = &p->copies[p->n];
    memcpy(c->id, id, LIMIT_ID_BYTES);
    c->off = p->arena_len;
    c->len = (uint32_t)len;
    memcpy(p->arena + p->arena_len, bytes, len);
    p->arena_len += len;
    insert_slot_h(p->slots, p->slot_cap, h, p->n);
    return (uint32_t)p->n++;
}

/* --- one store --- */

static int init_with(struct memstore *m, const uint8_t hash_key[GOSSIP_HASH_KEY_BYTES],
                     struct memstore_pool *pool, bool own)
{
    memset(m, 0, sizeof *m);
    memcpy(m->hash_key, hash_key, GOSSIP_HASH_KEY_BYTES);
    m->pool = pool;
    m->own_pool = own;
    return STORE_OK;
}

int memstore_init(struct memstore *m, const uint8_t hash_key[GOSSIP_HASH_KEY_BYTES])
{
    assert(m != NULL && hash_key != NULL);
    struct memstore_pool *pool = malloc(sizeof *pool);
    if (pool == NULL)
        return STORE_E_IO;
    memstore_pool_init(pool, hash_key);
    return init_with(m, hash_key, pool, true);
}

int memstore_init_shared(struct memstore *m, const uint8_t hash_key[GOSSIP_HASH_KEY_BYTES],
                         struct memstore_pool *pool)
{
    assert(m != NULL && hash_key != NULL && pool != NULL);
    return init_with(m, hash_key, pool, false);
}

void memstore_free(struct memstore *m)
{
    if (m == NULL)
        return;
    if (m->own_pool) {
        memstore_pool_free(m->pool);
        free(m->pool);
    }
    free(m->recs);
    free(m->slots);
    free(m->tombs);
    free(m->tslots);
    memset(m, 0, sizeof *m);
}

size_t memstore_bytes(const struct memstore *m)
{
    assert(m != NULL);
    return m->cap * sizeof *m->recs + m->slot_cap * sizeof *m->slots +
           m->cap_tombs * sizeof *m->tombs + m->tslot_cap * sizeof *m->tslots;
}

static const struct memstore_copy *copy_of(const struct memstore *m, size_t entry)
{
    return &m->pool->copies[m->recs[entry]];
}

static const uint8_t *rec_key(const void *owner, size_t i)
{
    return copy_of(owner, i)->id;
}

static const uint8_t *tomb_key(const void *owner, size_t i)
{
    return ((const struct memstore *)owner)->tombs[i].target;
}

/* Entry index of id, or -1. */
static int64_t find(const struct memstore *m, const uint8_t id[LIMIT_ID_BYTES])
{
    if (m->slot_cap == 0)
        return -1;
    const uint64_t h = hash_of(m->hash_key, id);
    size_t s = h & slot_mask(m->slot_cap);
    for (int64_t e; (e = probe_next(m->slots, m->slot_cap, h, &s)) >= 0;)
        if (memcmp(copy_of(m, (size_t)e)->id, id, LIMIT_ID_BYTES) == 0)
            return e;
    return -1;
}

int memstore_is_revoked(const struct memstore *m, const uint8_t target[LIMIT_ID_BYTES],
                        const uint8_t target_origin[LIMIT_KEY_BYTES])
{
    assert(m != NULL && target != NULL && target_origin != NULL);
    if (m->tslot_cap == 0)
        return 0;
    const uint64_t h = hash_of(m->hash_key, target);
    size_t s = h & slot_mask(m->tslot_cap);
    for (int64_t i; (i = probe_next(m->tslots, m->tslot_cap, h, &s)) >= 0;) {
        const struct memstore_tomb *t = &m->tombs[i];
        if (memcmp(t->target, target, LIMIT_ID_BYTES) == 0 &&
            memcmp(t->origin, target_origin, LIMIT_KEY_BYTES) == 0)
            return 1;
    }
    return 0;
}

/* Capacity for every item of the batch, so that applying it cannot fail half-way. */
static int reserve_batch(struct memstore *m, const struct store_put *items,
                         const struct facts *f, size_t n)
{
    size_t bytes = 0, revs = 0;
    for (size_t i = 0; i < n; i++) {
        bytes += items[i].len;
        revs += f[i].revocation;
    }
    int rc = pool_reserve(m->pool, n, bytes);
    if (rc == STORE_OK)
        rc = reserve((void **)&m->recs, &m->cap, m->n + n, sizeof *m->recs);
    if (rc == STORE_OK)
        rc = rehash(m->hash_key, &m->slots, &m->slot_cap, m->n + n, rec_key, m, m->n);
    if (rc == STORE_OK && revs > 0)
        rc = reserve((void **)&m->tombs, &m->cap_tombs, m->n_tombs + revs, sizeof *m->tombs);
    if (rc == STORE_OK && revs > 0)
        rc = rehash(m->hash_key, &m->tslots, &m->tslot_cap, m->n_tombs + revs, tomb_key, m,
                    m->n_tombs);
    return rc;
}

static void apply(struct memstore *m, struct store_put *it, const struct facts *f)
{
    int64_t old = find(m, it->id);
    if (old >= 0) {
        it->result = STORE_PUT_DUPLICATE;
        it->seq = (uint64_t)old + 1;
        return;
    }
    if (memstore_is_revoked(m, it->id, f->origin)) {
        it->result = STORE_PUT_REVOKED;
        it->seq = 0;
        return;
    }
    assert(m->n < m->cap);
    m->recs[m->n] = pool_intern(m->pool, it->id, it->signed_rec, it->len);
    insert_slot(m->hash_key, m->slots, m->slot_cap, it->id, m->n);
    m->n++;
    if (f->revocation) {
        assert(m->n_tombs < m->cap_tombs);
        struct memstore_tomb *t = &m->tombs[m->n_tombs];
        memcpy(t->target, f->target, LIMIT_ID_BYTES);
        memcpy(t->origin, f->origin, LIMIT_KEY_BYTES);
        insert_slot(m->hash_key, m->tslots, m->tslot_cap, t->target, m->n_tombs);
        m->n_tombs++;
    }
    it->result = STORE_PUT_ADDED;
    it->seq = m->n;
}

static void facts_of(const struct proto_record *r, struct facts *f)
{
    f->revocation = r->kind == PROTO_KIND_REVOCATION;
    memcpy(f->origin, r->origin, LIMIT_KEY_BYTES);
    if (f->revocation)
        memcpy(f->target, r->u.rev.target, LIMIT_ID_BYTES);
}

/* The facts of every item, decoding the bodies given without rec: one that does not decode
 * refuses the whole batch unchanged. */
static int gather(const struct store_put *items, size_t n, struct facts *f)
{
    /* One decode scratch per thread: a malloc and free of its 28 KiB per batch showed in the
     * simnet profile (it commits many small batches). */
    static _Thread_local struct proto_record scratch;
    for (size_t i = 0; i < n; i++) {
        const struct proto_record *r = items[i].rec;
        if (r == NULL && proto_record_decode_known(items[i].signed_rec + LIMIT_SIG_BYTES,
                                                   items[i].len - LIMIT_SIG_BYTES,
                                                   &scratch) != PROTO_OK)
            return STORE_E_INVAL;
        facts_of(r ? r : &scratch, &f[i]);
    }
    return STORE_OK;
}

int memstore_put_batch(struct memstore *m, struct store_put *items, size_t n)
{
    assert(m != NULL);
    if (n == 0)
        return STORE_OK;
    if (items == NULL || n > LIMIT_STORE_BATCH)
        return STORE_E_INVAL;
    for (size_t i = 0; i < n; i++)
        if (items[i].signed_rec == NULL || items[i].len <= LIMIT_SIG_BYTES ||
            items[i].len > LIMIT_SIG_BYTES + LIMIT_RECORD_BYTES)
            return STORE_E_INVAL;
    struct facts *f = malloc(n * sizeof *f);
    if (f == NULL)
        return STORE_E_IO;
    int rc = gather(items, n, f);
    if (rc == STORE_OK)
        rc = reserve_batch(m, items, f, n);
    for (size_t i = 0; i < n && rc == STORE_OK; i++)
        apply(m, &items[i], &f[i]);
    free(f);
    return rc;
}

int memstore_has(const struct memstore *m, const uint8_t id[LIMIT_ID_BYTES])
{
    assert(m != NULL && id != NULL);
    return find(m, id) >= 0;
}

int memstore_get(const struct memstore *m, const uint8_t id[LIMIT_ID_BYTES], uint8_t *buf,
                 size_t cap, size_t *len, uint64_t *seq)
{
    assert(m != NULL && id != NULL && len != NULL && (buf != NULL || cap == 0));
    int64_t e = find(m, id);
    if (e < 0)
        return STORE_E_NOTFOUND;
    const struct memstore_copy *c = copy_of(m, (size_t)e);
    *len = c->len;
    if (seq != NULL)
        *seq = (uint64_t)e + 1;
    if (c->len > cap)
        return STORE_E_NOSPACE;
    memcpy(buf, m->pool->arena + c->off, c->len);
    return STORE_OK;
}

static int emit(const struct memstore *m, size_t entry, store_record_cb cb, void *ctx)
{
    const struct memstore_copy *c = copy_of(m, entry);
    return cb(c->id, m->pool->arena + c->off, c->len, (uint64_t)entry + 1, ctx);
}

int memstore_find_short(const struct memstore *m, const uint8_t sid[GOSSIP_SHORT_ID_BYTES],
                        store_record_cb cb, void *ctx)
{
    assert(m != NULL && sid != NULL && cb != NULL);
    if (m->slot_cap == 0)
        return STORE_OK;
    const uint64_t h = hash_of(m->hash_key, sid);
    size_t s = h & slot_mask(m->slot_cap);
    for (int64_t e; (e = probe_next(m->slots, m->slot_cap, h, &s)) >= 0;) {
        if (memcmp(copy_of(m, (size_t)e)->id, sid, GOSSIP_SHORT_ID_BYTES) != 0)
            continue;
        int rc = emit(m, (size_t)e, cb, ctx);
        if (rc != 0)
            return rc;
    }
    return STORE_OK;
}

int memstore_iter_seq(const struct memstore *m, uint64_t since, store_record_cb cb, void *ctx)
{
    assert(m != NULL && cb != NULL);
    for (uint64_t i = since; i < m->n; i++) {
        int rc = emit(m, (size_t)i, cb, ctx);
        if (rc != 0)
            return rc;
    }
    return STORE_OK;
}

uint64_t memstore_last_seq(const struct memstore *m)
{
    return m->n;
}

/* --- gossip_store_ops --- */

static int op_has(void *ctx, const uint8_t id[LIMIT_ID_BYTES])
{
    return memstore_has(ctx, id);
}

static int op_get(void *ctx, const uint8_t id[LIMIT_ID_BYTES], uint8_t *buf, size_t cap,
                  size_t *len)
{
    return memstore_get(ctx, id, buf, cap, len, NULL);
}

static int op_find_short(void *ctx, const uint8_t sid[GOSSIP_SHORT_ID_BYTES], store_record_cb cb,
                         void *cb_ctx)
{
    return memstore_find_short(ctx, sid, cb, cb_ctx);
}

static int op_put_batch(void *ctx, struct store_put *items, size_t n)
{
    return memstore_put_batch(ctx, items, n);
}

static int op_is_revoked(void *ctx, const uint8_t id[LIMIT_ID_BYTES],
                         const uint8_t origin[LIMIT_KEY_BYTES])
{
    return memstore_is_revoked(ctx, id, origin);
}

static int op_iter_seq(void *ctx, uint64_t since, store_record_cb cb, void *cb_ctx)
{
    return memstore_iter_seq(ctx, since, cb, cb_ctx);
}

void memstore_gossip_ops(struct memstore *m, struct gossip_store_ops *ops)
{
    assert(m != NULL && ops != NULL);
    *ops = (struct gossip_store_ops){.ctx = m, .has = op_has, .get = op_get,
                                     .find_short = op_find_short, .put_batch = op_put_batch,
                                     .is_revoked = op_is_revoked, .iter_seq = op_iter_seq};
}
