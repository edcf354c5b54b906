/* memstore.c - see memstore.h. */
#include "node/memstore.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

enum { MIN_SLOTS = 64 };

/* The slot a key starts probing at: SipHash of the first 8 id bytes under the caller's key. */
static size_t slot_of(const uint8_t key[GOSSIP_HASH_KEY_BYTES], const uint8_t *id8, size_t cap)
{
    uint8_t h[crypto_shorthash_BYTES];
    crypto_shorthash(h, id8, GOSSIP_SHORT_ID_BYTES, key);
    uint64_t v;
    memcpy(&v, h, sizeof v);
    return (size_t)(v & (cap - 1));
}

int memstore_init(struct memstore *m, const uint8_t hash_key[GOSSIP_HASH_KEY_BYTES])
{
    assert(m != NULL && hash_key != NULL);
    memset(m, 0, sizeof *m);
    memcpy(m->hash_key, hash_key, GOSSIP_HASH_KEY_BYTES);
    return STORE_OK;
}

void memstore_free(struct memstore *m)
{
    if (m == NULL)
        return;
    free(m->arena);
    free(m->recs);
    free(m->slots);
    free(m->tombs);
    free(m->tslots);
    memset(m, 0, sizeof *m);
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

/* Rebuilds an index of `count` keys into a table of at least 2 * need slots. key_of(i) gives the
 * 8 bytes key i probes with. */
static int rehash(const struct memstore *m, uint32_t **slots, size_t *slot_cap, size_t need,
                  const uint8_t *(*key_of)(const struct memstore *, size_t), size_t count)
{
    if (need * 2 <= *slot_cap)
        return STORE_OK;
    size_t cap = *slot_cap ? *slot_cap : MIN_SLOTS;
    while (cap < need * 2)
        cap *= 2;
    uint32_t *ns = calloc(cap, sizeof *ns);
    if (ns == NULL)
        return STORE_E_IO;
    for (size_t i = 0; i < count; i++) {
        size_t s = slot_of(m->hash_key, key_of(m, i), cap);
        while (ns[s] != 0)
            s = (s + 1) & (cap - 1);
        ns[s] = (uint32_t)(i + 1);
    }
    free(*slots);
    *slots = ns;
    *slot_cap = cap;
    return STORE_OK;
}

static const uint8_t *rec_key(const struct memstore *m, size_t i)
{
    return m->recs[i].id;
}

static const uint8_t *tomb_key(const struct memstore *m, size_t i)
{
    return m->tombs[i].target;
}

static const struct memstore_rec *find(const struct memstore *m, const uint8_t id[LIMIT_ID_BYTES])
{
    if (m->slot_cap == 0)
        return NULL;
    /* At most half full: the probe ends at an empty slot. */
    for (size_t s = slot_of(m->hash_key, id, m->slot_cap); m->slots[s] != 0;
         s = (s + 1) & (m->slot_cap - 1)) {
        const struct memstore_rec *r = &m->recs[m->slots[s] - 1];
        if (memcmp(r->id, id, LIMIT_ID_BYTES) == 0)
            return r;
    }
    return NULL;
}

int memstore_is_revoked(const struct memstore *m, const uint8_t target[LIMIT_ID_BYTES],
                        const uint8_t target_origin[LIMIT_KEY_BYTES])
{
    assert(m != NULL && target != NULL && target_origin != NULL);
    if (m->tslot_cap == 0)
        return 0;
    for (size_t s = slot_of(m->hash_key, target, m->tslot_cap); m->tslots[s] != 0;
         s = (s + 1) & (m->tslot_cap - 1)) {
        const struct memstore_tomb *t = &m->tombs[m->tslots[s] - 1];
        if (memcmp(t->target, target, LIMIT_ID_BYTES) == 0 &&
            memcmp(t->origin, target_origin, LIMIT_KEY_BYTES) == 0)
            return 1;
    }
    return 0;
}

/* Capacity for every item of the batch, so that applying it cannot fail half-way. */
static int reserve_batch(struct memstore *m, const struct store_put *items, size_t n)
{
    size_t bytes = 0;
    for (size_t i = 0; i < n; i++)
        bytes += items[i].len;
    int rc = reserve((void **)&m->arena, &m->arena_cap, m->arena_len + bytes, 1);
    if (rc == STORE_OK)
        rc = reserve((void **)&m->recs, &m->cap, m->n + n, sizeof *m->recs);
    if (rc == STORE_OK)
        rc = rehash(m, &m->slots, &m->slot_cap, m->n + n, rec_key, m->n);
    if (rc == STORE_OK)
        rc = reserve((void **)&m->tombs, &m->cap_tombs, m->n_tombs + n, sizeof *m->tombs);
    if (rc == STORE_OK)
        rc = rehash(m, &m->tslots, &m->tslot_cap, m->n_tombs + n, tomb_key, m->n_tombs);
    return rc;
}

static void insert_slot(const struct memstore *m, uint32_t *slots, size_t cap, const uint8_t *key,
                        size_t index)
{
    size_t s = slot_of(m->hash_key, key, cap);
    while (slots[s] != 0)
        s = (s + 1) & (cap - 1);
    slots[s] = (uint32_t)(index + 1);
}

static void apply(struct memstore *m, struct store_put *it, const struct proto_record *r)
{
    const struct memstore_rec *old = find(m, it->id);
    if (old != NULL) {
        it->result = STORE_PUT_DUPLICATE;
        it->seq = (uint64_t)(old - m->recs) + 1;
        return;
    }
    if (memstore_is_revoked(m, it->id, r->origin)) {
        it->result = STORE_PUT_REVOKED;
        it->seq = 0;
        return;
    }
    struct memstore_rec *nr = &m->recs[m->n];
    memcpy(nr->id, it->id, LIMIT_ID_BYTES);
    nr->off = m->arena_len;
    nr->len = (uint32_t)it->len;
    memcpy(m->arena + m->arena_len, it->signed_rec, it->len);
    m->arena_len += it->len;
    insert_slot(m, m->slots, m->slot_cap, it->id, m->n);
    m->n++;
    if (r->kind == PROTO_KIND_REVOCATION) {
        struct memstore_tomb *t = &m->tombs[m->n_tombs];
        memcpy(t->target, r->u.rev.target, LIMIT_ID_BYTES);
        memcpy(t->origin, r->origin, LIMIT_KEY_BYTES);
        insert_slot(m, m->tslots, m->tslot_cap, t->target, m->n_tombs);
        m->n_tombs++;
    }
    it->result = STORE_PUT_ADDED;
    it->seq = m->n;
}

int memstore_put_batch(struct memstore *m, struct store_put *items, size_t n)
{
    assert(m != NULL);
    if (n == 0)
        return STORE_OK;
    if (items == NULL || n > LIMIT_STORE_BATCH)
        return STORE_E_INVAL;
    struct proto_record *scratch = NULL;
    int rc = STORE_OK;
    for (size_t i = 0; i < n && rc == STORE_OK; i++) {
        if (items[i].signed_rec == NULL || items[i].len <= LIMIT_SIG_BYTES ||
            items[i].len > LIMIT_SIG_BYTES + LIMIT_RECORD_BYTES)
            rc = STORE_E_INVAL;
        if (items[i].rec == NULL && scratch == NULL && rc == STORE_OK) {
            scratch = malloc(sizeof *scratch);
            rc = scratch ? STORE_OK : STORE_E_IO;
        }
    }
    /* Decode all first: a body that does not decode refuses the whole batch unchanged. */
    for (size_t i = 0; i < n && rc == STORE_OK; i++)
        if (items[i].rec == NULL &&
            proto_record_decode(items[i].signed_rec + LIMIT_SIG_BYTES,
                                items[i].len - LIMIT_SIG_BYTES, scratch, NULL, 0) != PROTO_OK)
            rc = STORE_E_INVAL;
    if (rc == STORE_OK)
        rc = reserve_batch(m, items, n);
    for (size_t i = 0; i < n && rc == STORE_OK; i++) {
        const struct proto_record *r = items[i].rec;
        if (r == NULL) {
            int drc = proto_record_decode(items[i].signed_rec + LIMIT_SIG_BYTES,
                                          items[i].len - LIMIT_SIG_BYTES, scratch, NULL, 0);
            assert(drc == PROTO_OK); /* decoded above */
            (void)drc;
            r = scratch;
        }
        apply(m, &items[i], r);
    }
    free(scratch);
    return rc;
}

int memstore_has(const struct memstore *m, const uint8_t id[LIMIT_ID_BYTES])
{
    assert(m != NULL && id != NULL);
    return find(m, id) != NULL;
}

int memstore_get(const struct memstore *m, const uint8_t id[LIMIT_ID_BYTES], uint8_t *buf,
                 size_t cap, size_t *len, uint64_t *seq)
{
    assert(m != NULL && id != NULL && len != NULL && (buf != NULL || cap == 0));
    const struct memstore_rec *r = find(m, id);
    if (r == NULL)
        return STORE_E_NOTFOUND;
    *len = r->len;
    if (seq != NULL)
        *seq = (uint64_t)(r - m->recs) + 1;
    if (r->len > cap)
        return STORE_E_NOSPACE;
    memcpy(buf, m->arena + r->off, r->len);
    return STORE_OK;
}

static int emit(const struct memstore *m, const struct memstore_rec *r, store_record_cb cb,
                void *ctx)
{
    return cb(r->id, m->arena + r->off, r->len, (uint64_t)(r - m->recs) + 1, ctx);
}

int memstore_find_short(const struct memstore *m, const uint8_t sid[GOSSIP_SHORT_ID_BYTES],
                        store_record_cb cb, void *ctx)
{
    assert(m != NULL && sid != NULL && cb != NULL);
    if (m->slot_cap == 0)
        return STORE_OK;
    for (size_t s = slot_of(m->hash_key, sid, m->slot_cap); m->slots[s] != 0;
         s = (s + 1) & (m->slot_cap - 1)) {
        const struct memstore_rec *r = &m->recs[m->slots[s] - 1];
        if (memcmp(r->id, sid, GOSSIP_SHORT_ID_BYTES) != 0)
            continue;
        int rc = emit(m, r, cb, ctx);
        if (rc != 0)
            return rc;
    }
    return STORE_OK;
}

int memstore_iter_seq(const struct memstore *m, uint64_t since, store_record_cb cb, void *ctx)
{
    assert(m != NULL && cb != NULL);
    for (uint64_t i = since; i < m->n; i++) {
        int rc = emit(m, &m->recs[i], cb, ctx);
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
