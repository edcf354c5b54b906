/* succession.c - the table of accepted key successions and its rule (contract in succession.h). */
#include "node/core/succession.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

static bool key_eq(const uint8_t *a, const uint8_t *b)
{
    return memcmp(a, b, LIMIT_KEY_BYTES) == 0;
}

void succession_table_init(struct succession_table *t)
{
    *t = (struct succession_table){0};
}

void succession_table_free(struct succession_table *t)
{
    free(t->e);
    succession_table_init(t);
}

/* Room for want statements (want <= LIMIT_SUCCESSIONS): doubles e, so that a node with few
 * statements holds few. The table is unchanged on failure. */
static int reserve(struct succession_table *t, size_t want)
{
    assert(want <= LIMIT_SUCCESSIONS);
    if (want <= t->cap)
        return SUCCESSION_OK;
    size_t cap = t->cap > 0 ? t->cap : 1;
    while (cap < want)
        cap *= 2;
    if (cap > LIMIT_SUCCESSIONS)
        cap = LIMIT_SUCCESSIONS;
    struct proto_succession *e = realloc(t->e, cap * sizeof *e);
    if (e == NULL)
        return SUCCESSION_E_NOMEM;
    t->e = e;
    t->cap = cap;
    return SUCCESSION_OK;
}

const struct proto_succession *succession_of(const struct succession_table *t,
                                             const uint8_t key[LIMIT_KEY_BYTES])
{
    for (size_t i = 0; i < t->n; i++)
        if (key_eq(t->e[i].old_key, key))
            return &t->e[i];
    return NULL;
}

const struct proto_succession *succession_to(const struct succession_table *t,
                                             const uint8_t key[LIMIT_KEY_BYTES])
{
    for (size_t i = 0; i < t->n; i++)
        if (key_eq(t->e[i].new_key, key))
            return &t->e[i];
    return NULL;
}

const struct proto_succession *succession_current(const struct succession_table *t,
                                                  const uint8_t key[LIMIT_KEY_BYTES],
                                                  uint8_t current[LIMIT_KEY_BYTES])
{
    const struct proto_succession *last = NULL;
    memcpy(current, key, LIMIT_KEY_BYTES);
    for (int i = 0; i < LIMIT_SUCCESSION_CHAIN; i++) {
        const struct proto_succession *s = succession_of(t, current);
        if (s == NULL)
            break;
        last = s;
        memcpy(current, s->new_key, LIMIT_KEY_BYTES);
    }
    return last;
}

/* The first key of key's chain (walking back through the statements) and the links on the way;
 * a walk back stops at stop_cfg's configured keys when stop_cfg is not NULL. */
static const uint8_t *chain_start(const struct succession_table *t, const struct config *stop_cfg,
                                  const uint8_t *key, int *links)
{
    *links = 0;
    while (*links < LIMIT_SUCCESSION_CHAIN) {
        if (stop_cfg != NULL && config_find_peer(stop_cfg, key) != NULL)
            break;
        const struct proto_succession *s = succession_to(t, key);
        if (s == NULL)
            break;
        key = s->old_key;
        ++*links;
    }
    return key;
}

const struct config_peer *succession_peer(const struct succession_table *t,
                                          const struct config *cfg,
                                          const uint8_t key[LIMIT_KEY_BYTES])
{
    int links;
    return config_find_peer(cfg, chain_start(t, cfg, key, &links));
}

size_t succession_chain(const struct succession_table *t, const uint8_t key[LIMIT_KEY_BYTES],
                        void (*fn)(void *ctx, const struct proto_succession *s), void *ctx)
{
    int links;
    const uint8_t *k = chain_start(t, NULL, key, &links);
    size_t n = 0;
    for (const struct proto_succession *s; n < LIMIT_SUCCESSION_CHAIN && (s = succession_of(t, k));
         k = s->new_key, n++)
        fn(ctx, s);
    return n;
}

size_t succession_each(const struct succession_table *t,
                       void (*fn)(void *ctx, const struct proto_succession *s), void *ctx)
{
    size_t n = 0; /* chains never fork nor loop (the rule): each statement is in one chain */
    for (size_t i = 0; i < t->n; i++)
        if (succession_to(t, t->e[i].old_key) == NULL)
            n += succession_chain(t, t->e[i].old_key, fn, ctx);
    assert(n == t->n);
    return n;
}

/* Is key in self's chain (self, or a key self replaced)? */
static bool own_key(const struct succession_table *t, const uint8_t *self, const uint8_t *key)
{
    const uint8_t *k = self;
    for (int i = 0; i <= LIMIT_SUCCESSION_CHAIN && k != NULL; i++) {
        if (key_eq(k, key))
            return true;
        const struct proto_succession *s = succession_to(t, k);
        k = s != NULL ? s->old_key : NULL;
    }
    return false;
}

/* Does the chain forward from start pass through key? */
static bool chain_reaches(const struct succession_table *t, const uint8_t *start,
                          const uint8_t *key)
{
    const uint8_t *k = start;
    for (int i = 0; i < LIMIT_SUCCESSION_CHAIN; i++) {
        const struct proto_succession *s = succession_of(t, k);
        if (s == NULL)
            return false;
        if (key_eq(s->new_key, key))
            return true;
        k = s->new_key;
    }
    return false;
}

/* The trust clause of the rule. */
static int check_trust(const struct succession_table *t, const struct config *cfg,
                       const uint8_t *self, const struct proto_succession *s)
{
    const struct config_peer *peer = succession_peer(t, cfg, s->old_key);
    if (s->kind == PROTO_SUCCESSION_RECOVERY)
        return peer != NULL && peer->has_recovery_key && key_eq(peer->recovery_key, s->authority)
                   ? SUCCESSION_OK
                   : SUCCESSION_E_UNTRUSTED;
    return peer != NULL || own_key(t, self, s->old_key) ? SUCCESSION_OK : SUCCESSION_E_UNTRUSTED;
}

/* Marks in drop[] the statement replacing old and every one down its chain; their new keys go
 * to dropped. */
static void mark_chain(const struct succession_table *t, const uint8_t *old, bool drop[],
                       struct succession_dropped *dropped)
{
    for (int i = 0; i < LIMIT_SUCCESSION_CHAIN; i++) {
        const struct proto_succession *s = succession_of(t, old);
        if (s == NULL)
            return;
        drop[s - t->e] = true;
        if (dropped->n < LIMIT_SUCCESSION_CHAIN)
            memcpy(dropped->keys[dropped->n++], s->new_key, LIMIT_KEY_BYTES);
        old = s->new_key;
    }
}

/* NEW already in use: a configured peer's key, this node's (unless the statement is one of its
 * own, trusted), or the new key of a statement that stays. NEW may be the first key of a chain
 * (the old key of a statement nothing leads to yet: statements of a chain may come in any order),
 * unless that chain leads back to OLD, which would make a loop. */
static bool new_in_use(const struct succession_table *t, const struct config *cfg,
                       const uint8_t *self, const bool drop[], const struct proto_succession *s,
                       bool trusted)
{
    if ((!trusted && key_eq(s->new_key, self)) || config_find_peer(cfg, s->new_key) != NULL)
        return true;
    for (size_t i = 0; i < t->n; i++)
        if (!drop[i] && key_eq(t->e[i].new_key, s->new_key))
            return true;
    return chain_reaches(t, s->new_key, s->old_key);
}

int succession_offer(struct succession_table *t, const struct config *cfg,
                     const uint8_t self[LIMIT_KEY_BYTES], const struct proto_succession *s,
                     bool trusted, struct succession_dropped *dropped)
{
    assert(t != NULL && cfg != NULL && self != NULL && s != NULL && t->n <= LIMIT_SUCCESSIONS);
    struct succession_dropped scratch;
    if (dropped == NULL)
        dropped = &scratch;
    dropped->n = 0;
    const struct proto_succession *have = succession_of(t, s->old_key);
    if (have != NULL && memcmp(have->bytes, s->bytes, LIMIT_SUCCESSION_BYTES) == 0)
        return SUCCESSION_KNOWN;
    int rc = trusted ? SUCCESSION_OK : check_trust(t, cfg, self, s);
    if (rc != SUCCESSION_OK)
        return rc;
    if (have != NULL && have->kind == PROTO_SUCCESSION_RECOVERY)
        return SUCCESSION_E_SUPERSEDED;
    if (have != NULL && s->kind == PROTO_SUCCESSION_ROTATION)
        return SUCCESSION_E_CONFLICT;
    bool drop[LIMIT_SUCCESSIONS] = {false};
    if (have != NULL)
        mark_chain(t, s->old_key, drop, dropped);
    if (new_in_use(t, cfg, self, drop, s, trusted)) {
        dropped->n = 0;
        return SUCCESSION_E_CONFLICT;
    }
    int links;
    (void)chain_start(t, NULL, s->old_key, &links);
    size_t kept = 0;
    for (size_t i = 0; i < t->n; i++)
        kept += !drop[i];
    if (links + 1 > LIMIT_SUCCESSION_CHAIN || kept == LIMIT_SUCCESSIONS) {
        dropped->n = 0;
        return links + 1 > LIMIT_SUCCESSION_CHAIN ? SUCCESSION_E_CHAIN : SUCCESSION_E_FULL;
    }
    rc = reserve(t, kept + 1);
    if (rc != SUCCESSION_OK) {
        dropped->n = 0;
        return rc;
    }
    size_t j = 0; /* verified whole: now the table changes */
    for (size_t i = 0; i < t->n; i++)
        if (!drop[i])
            t->e[j++] = t->e[i];
    t->e[j++] = *s;
    t->n = j;
    return have != NULL ? SUCCESSION_REPLACED : SUCCESSION_ADDED;
}
