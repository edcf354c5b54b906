/* memstore.c - see memstore.h. */
#include "store/memstore.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "proto/record.h"

/* What applying one item needs from its decoded body. */
struct facts {
    bool revocation;
    uint8_t origin[LIMIT_KEY_BYTES];
    uint8_t target[LIMIT_ID_BYTES]; /* revocation only */
};

/* Grows *p (element size elem) to hold at least need elements, by steps of 1/2^shift of its
 * size: doubling (shift 0) for the shared pool, a quarter (shift 2) for a store's own tables,
 * of which a simulation keeps one per node. */
static int reserve(void **p, size_t *cap, size_t need, size_t elem, unsigned shift)
{
    if (need <= *cap)
        return STORE_OK;
    size_t c = *cap ? *cap : 64;
    while (c < need)
        c += c >> shift;
    void *np = realloc(*p, c * elem);
    if (np == NULL)
        return STORE_E_IO;
    *p = np;
    *cap = c;
    return STORE_OK;
}

/* --- the pool --- */

int memstore_pool_init(struct memstore_pool *p, const uint8_t hash_key[LIMIT_HASH_KEY_BYTES])
{
    assert(p != NULL && hash_key != NULL);
    memset(p, 0, sizeof *p);
    memcpy(p->hash_key, hash_key, LIMIT_HASH_KEY_BYTES);
    return STORE_OK;
}

void memstore_pool_free(struct memstore_pool *p)
{
    if (p == NULL)
        return;
    free(p->arena);
    free(p->copies);
    idindex_free(&p->slots);
    memset(p, 0, sizeof *p);
}

size_t memstore_pool_bytes(const struct memstore_pool *p)
{
    assert(p != NULL);
    return p->arena_cap + p->cap * sizeof *p->copies + idindex_bytes(&p->slots);
}

static uint64_t copy_hash(const void *owner, size_t i)
{
    const struct memstore_pool *p = owner;
    return idindex_hash(p->hash_key, p->copies[i].id);
}

/* Room for n more copies of `bytes` bytes in all. */
static int pool_reserve(struct memstore_pool *p, size_t n, size_t bytes)
{
    int rc = reserve((void **)&p->arena, &p->arena_cap, p->arena_len + bytes, 1, 0);
    if (rc == STORE_OK)
        rc = reserve((void **)&p->copies, &p->cap, p->n + n, sizeof *p->copies, 0);
    if (rc == STORE_OK && !idindex_grow(&p->slots, p->n + n, p->n, copy_hash, p))
        rc = STORE_E_IO;
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
    const uint64_t h = idindex_hash(p->hash_key, id);
    size_t s = idindex_home(&p->slots, h);
    for (uint32_t i; (i = idindex_next(&p->slots, h, &s)) != IDINDEX_NONE;) {
        const struct memstore_copy *c = &p->copies[i];
        if (c->len == len && memcmp(c->id, id, LIMIT_ID_BYTES) == 0 &&
            memcmp(p->arena + c->off, bytes, len) == 0)
            return i;
    }
    struct memstore_copy *c = &p->copies[p->n];
    memcpy(c->id, id, LIMIT_ID_BYTES);
    c->off = p->arena_len;
    c->len = (uint32_t)len;
    memcpy(p->arena + p->arena_len, bytes, len);
    p->arena_len += len;
    idindex_put(&p->slots, h, p->n);
    return (uint32_t)p->n++;
}

/* --- one store --- */

static int init_with(struct memstore *m, const uint8_t hash_key[LIMIT_HASH_KEY_BYTES],
                     struct memstore_pool *pool, bool own)
{
    memset(m, 0, sizeof *m);
    memcpy(m->hash_key, hash_key, LIMIT_HASH_KEY_BYTES);
    m->pool = pool;
    m->own_pool = own;
    return STORE_OK;
}

int memstore_init(struct memstore *m, const uint8_t hash_key[LIMIT_HASH_KEY_BYTES])
{
    assert(m != NULL && hash_key != NULL);
    struct memstore_pool *pool = malloc(sizeof *pool);
    if (pool == NULL)
        return STORE_E_IO;
    memstore_pool_init(pool, hash_key);
    return init_with(m, hash_key, pool, true);
}

int memstore_init_shared(struct memstore *m, const uint8_t hash_key[LIMIT_HASH_KEY_BYTES],
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
    for (size_t i = 0; i < m->n_rec_chunks; i++)
        free(m->recs[i]);
    free(m->recs);
    for (size_t i = 0; i < m->n_seq_chunks; i++)
        free(m->seq_of[i]);
    free(m->seq_of);
    free(m->tombs);
    idindex_free(&m->tslots);
    memset(m, 0, sizeof *m);
}

/* The chunks of a store's tables (struct memstore): 4 KiB each. */
enum {
    CHUNK_BYTES = 4096,
    REC_CHUNK = CHUNK_BYTES / sizeof(uint32_t), /* entries of a recs chunk */
    SEQ_CHUNK = CHUNK_BYTES / sizeof(uint16_t), /* entries of a seq_of chunk */
};

static uint32_t *rec_at(const struct memstore *m, size_t entry)
{
    return &m->recs[entry / REC_CHUNK][entry % REC_CHUNK];
}

static uint16_t *seq_at(const struct memstore *m, size_t copy)
{
    return &m->seq_of[copy / SEQ_CHUNK][copy % SEQ_CHUNK];
}

/* Chunks in *tab (n allocated, *cap slots) to hold `need` entries of `per` each, zeroed. */
static int chunks_reserve(void ***tab, size_t *n, size_t *cap, size_t need, size_t per)
{
    const size_t want = (need + per - 1) / per;
    if (want > *cap && reserve((void **)tab, cap, want, sizeof **tab, 0) != STORE_OK)
        return STORE_E_IO;
    for (; *n < want; (*n)++)
        if (((*tab)[*n] = calloc(1, CHUNK_BYTES)) == NULL)
            return STORE_E_IO;
    return STORE_OK;
}

size_t memstore_bytes(const struct memstore *m)
{
    assert(m != NULL);
    return (m->n_rec_chunks + m->n_seq_chunks) * CHUNK_BYTES +
           m->rec_chunk_cap * sizeof *m->recs + m->seq_chunk_cap * sizeof *m->seq_of +
           m->cap_tombs * sizeof *m->tombs + idindex_bytes(&m->tslots);
}

static const struct memstore_copy *copy_of(const struct memstore *m, size_t entry)
{
    return &m->pool->copies[*rec_at(m, entry)];
}

static uint64_t tomb_hash(const void *owner, size_t i)
{
    const struct memstore *m = owner;
    return idindex_hash(m->hash_key, m->tombs[i].target);
}

enum { SEQ_TAG = 1 << 16 }; /* seq_of keeps a seq modulo this */

/* The entry (seq - 1) of pool copy i in this store, or -1 when the store does not hold it: the
 * seqs with i's low 16 bits, confirmed against recs (a tag of 0 is also every seq that is a
 * multiple of 2^16, none of them below SEQ_TAG: no read of recs in a store of fewer records). */
static int64_t entry_of(const struct memstore *m, uint32_t i)
{
    if (i >= m->n_seq_chunks * SEQ_CHUNK)
        return -1;
    const uint16_t tag = *seq_at(m, i);
    for (size_t seq = tag != 0 ? tag : SEQ_TAG; seq <= m->n; seq += SEQ_TAG)
        if (*rec_at(m, seq - 1) == i)
            return (int64_t)seq - 1;
    return -1;
}

/* Calls cb for every entry whose id starts with the first `prefix` bytes of id (the pool's index
 * finds its copies; the store holds at most one copy of an id) until cb returns non-zero, which
 * is returned. */
static int each_match(const struct memstore *m, const uint8_t *id, size_t prefix,
                      int (*cb)(const struct memstore *m, size_t entry, void *ctx), void *ctx)
{
    const struct memstore_pool *p = m->pool;
    if (m->n == 0) /* also: no index yet; spares the hash */
        return 0;
    const uint64_t h = idindex_hash(p->hash_key, id);
    size_t s = idindex_home(&p->slots, h);
    for (uint32_t i; (i = idindex_next(&p->slots, h, &s)) != IDINDEX_NONE;) {
        int64_t e = entry_of(m, i); /* first: the store's own array, then the pooled id */
        if (e < 0 || memcmp(p->copies[i].id, id, prefix) != 0)
            continue;
        int rc = cb(m, (size_t)e, ctx);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static int found(const struct memstore *m, size_t entry, void *ctx)
{
    (void)m;
    *(int64_t *)ctx = (int64_t)entry;
    return 1;
}

/* Entry index of id, or -1. */
static int64_t find(const struct memstore *m, const uint8_t id[LIMIT_ID_BYTES])
{
    int64_t e = -1;
    each_match(m, id, LIMIT_ID_BYTES, found, &e);
    return e;
}

int memstore_is_revoked(const struct memstore *m, const uint8_t target[LIMIT_ID_BYTES],
                        const uint8_t target_origin[LIMIT_KEY_BYTES])
{
    assert(m != NULL && target != NULL && target_origin != NULL);
    if (m->tslots.cap == 0) /* spares the hash */
        return 0;
    const uint64_t h = idindex_hash(m->hash_key, target);
    size_t s = idindex_home(&m->tslots, h);
    for (uint32_t i; (i = idindex_next(&m->tslots, h, &s)) != IDINDEX_NONE;) {
        const struct memstore_tomb *t = &m->tombs[i];
        if (memcmp(t->target, target, LIMIT_ID_BYTES) == 0 &&
            memcmp(t->origin, target_origin, LIMIT_KEY_BYTES) == 0)
            return 1;
    }
    return 0;
}

static int tomb_pair_cmp(const void *a, const void *b)
{
    return memcmp(a, b, LIMIT_ID_BYTES + LIMIT_KEY_BYTES);
}

int memstore_load_revoked(const struct memstore *m, size_t max, struct store_revoked_set *out)
{
    assert(m != NULL && out != NULL);
    memset(out, 0, sizeof *out);
    if (m->n_tombs > max)
        return STORE_E_NOSPACE;
    if ((out->pairs = malloc((m->n_tombs ? m->n_tombs : 1) * sizeof *out->pairs)) == NULL)
        return STORE_E_IO;
    for (size_t i = 0; i < m->n_tombs; i++) {
        memcpy(out->pairs[i], m->tombs[i].target, LIMIT_ID_BYTES);
        memcpy(out->pairs[i] + LIMIT_ID_BYTES, m->tombs[i].origin, LIMIT_KEY_BYTES);
    }
    out->n_pairs = m->n_tombs;
    qsort(out->pairs, out->n_pairs, sizeof *out->pairs, tomb_pair_cmp);
    return STORE_OK;
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
        rc = chunks_reserve((void ***)&m->recs, &m->n_rec_chunks, &m->rec_chunk_cap, m->n + n,
                            REC_CHUNK);
    if (rc == STORE_OK) /* every copy the batch may name: the pooled ones and n new */
        rc = chunks_reserve((void ***)&m->seq_of, &m->n_seq_chunks, &m->seq_chunk_cap,
                            m->pool->n + n, SEQ_CHUNK);
    if (rc == STORE_OK && revs > 0)
        rc = reserve((void **)&m->tombs, &m->cap_tombs, m->n_tombs + revs, sizeof *m->tombs, 2);
    if (rc == STORE_OK && revs > 0 &&
        !idindex_grow(&m->tslots, m->n_tombs + revs, m->n_tombs, tomb_hash, m))
        rc = STORE_E_IO;
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
    assert(m->n < m->n_rec_chunks * REC_CHUNK && m->n < UINT32_MAX);
    const uint32_t ci = pool_intern(m->pool, it->id, it->signed_rec, it->len);
    assert(ci < m->n_seq_chunks * SEQ_CHUNK && entry_of(m, ci) < 0);
    *rec_at(m, m->n++) = ci;
    *seq_at(m, ci) = (uint16_t)(m->n % SEQ_TAG);
    if (f->revocation) {
        assert(m->n_tombs < m->cap_tombs);
        struct memstore_tomb *t = &m->tombs[m->n_tombs];
        memcpy(t->target, f->target, LIMIT_ID_BYTES);
        memcpy(t->origin, f->origin, LIMIT_KEY_BYTES);
        idindex_put(&m->tslots, idindex_hash(m->hash_key, t->target), m->n_tombs);
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

struct emit_to {
    store_record_cb cb;
    void *ctx;
};

static int emit_match(const struct memstore *m, size_t entry, void *ctx)
{
    const struct emit_to *t = ctx;
    return emit(m, entry, t->cb, t->ctx);
}

int memstore_find_short(const struct memstore *m, const uint8_t sid[LIMIT_SHORT_ID_BYTES],
                        store_record_cb cb, void *ctx)
{
    assert(m != NULL && sid != NULL && cb != NULL);
    struct emit_to t = {cb, ctx};
    return each_match(m, sid, LIMIT_SHORT_ID_BYTES, emit_match, &t);
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

static int op_find_short(void *ctx, const uint8_t sid[LIMIT_SHORT_ID_BYTES], store_record_cb cb,
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

static int op_load_revoked(void *ctx, size_t max, struct store_revoked_set *out)
{
    return memstore_load_revoked(ctx, max, out);
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
                                     .is_revoked = op_is_revoked, .iter_seq = op_iter_seq,
                                     .load_revoked = op_load_revoked};
}
