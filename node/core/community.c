/* community.c - rosters to memberships (contract in community.h).
 *
 * The table is small (at most LIMIT_COMMUNITY_ROSTERS rosters, each at most LIMIT_ROSTER_MEMBERS
 * members sorted by key), so lookups are a scan over rosters with a binary search in each.
 */
#include "node/core/community.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/keys.h"

enum { LOG_LINE_BYTES = 320, ID_SHORT_HEX = 16 };

const char *community_strerror(int err)
{
    switch (err) {
    case COMMUNITY_OK: return "ok";
    COMMUNITY_ERRORS(ERRORS_CASE)
    default: return "unknown community error";
    }
}

void community_table_init(struct community_table *t)
{
    assert(t != NULL);
    memset(t, 0, sizeof *t);
}

void community_table_free(struct community_table *t)
{
    assert(t != NULL);
    for (size_t i = 0; i < t->n_rosters; i++)
        free(t->rosters[i].members);
    free(t->rosters);
    t->rosters = NULL;
    t->n_rosters = 0;
}

/* --- building --- */

struct build {
    struct community_table *t;
    struct store *s;
    const struct config *cfg;
    struct proto_record *rec; /* scratch: a roster is too large for the stack of a callback */
    size_t cap;               /* allocated entries of t->rosters */
    community_log_fn log;
    void *log_ctx;
    int err;
};

static bool owner_trusted(const struct community_table *t, const struct config *cfg,
                          const uint8_t owner[LIMIT_KEY_BYTES])
{
    assert(cfg->n_roster_owners <= LIMIT_TRUSTED_ROSTER_OWNERS);
    if (memcmp(owner, t->self, LIMIT_KEY_BYTES) == 0)
        return true;
    for (size_t i = 0; i < cfg->n_roster_owners; i++)
        if (memcmp(owner, cfg->roster_owners[i], LIMIT_KEY_BYTES) == 0)
            return true;
    return false;
}

__attribute__((format(printf, 2, 3))) static void build_log(const struct build *b,
                                                            const char *fmt, ...)
{
    if (b->log == NULL)
        return;
    char line[LOG_LINE_BYTES];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    b->log(b->log_ctx, line);
}

static struct community_roster *find_slot(struct community_table *t,
                                          const uint8_t owner[LIMIT_KEY_BYTES], const char *name)
{
    for (size_t i = 0; i < t->n_rosters; i++) {
        struct community_roster *c = &t->rosters[i];
        if (memcmp(c->owner, owner, LIMIT_KEY_BYTES) == 0 && strcmp(c->name, name) == 0)
            return c;
    }
    return NULL;
}

/* Overwrites *c with the roster rec (id) decoded from the store; keeps c->conflict. A revoked
 * roster keeps its place in the version order but no members. */
static int set_roster(struct build *b, struct community_roster *c,
                      const uint8_t id[LIMIT_ID_BYTES], const struct proto_record *rec)
{
    const struct proto_roster *ro = &rec->u.roster;
    assert(ro->n_members <= LIMIT_ROSTER_MEMBERS);
    const int revoked = store_is_revoked(b->s, id, rec->origin);
    if (revoked < 0) {
        b->t->last_store_err = revoked;
        return COMMUNITY_E_STORE;
    }
    const uint16_t n_members = revoked ? 0 : ro->n_members;
    struct proto_roster_member *m = NULL;
    if (n_members > 0) {
        m = malloc(n_members * sizeof *m);
        if (m == NULL)
            return COMMUNITY_E_NOMEM;
        memcpy(m, ro->members, n_members * sizeof *m);
    }
    free(c->members);
    memcpy(c->id, id, LIMIT_ID_BYTES);
    memcpy(c->owner, rec->origin, LIMIT_KEY_BYTES);
    memcpy(c->name, ro->name, sizeof c->name);
    c->version = ro->version;
    c->tlp = rec->tlp;
    c->trusted = owner_trusted(b->t, b->cfg, rec->origin);
    c->revoked = revoked == 1;
    c->n_members = n_members;
    c->members = m;
    if (c->revoked)
        build_log(b, "community: roster '%s' version %llu is revoked by its owner; it lists nobody",
                  c->name, (unsigned long long)c->version);
    return COMMUNITY_OK;
}

static struct community_roster *new_slot(struct build *b)
{
    struct community_table *t = b->t;
    if (t->n_rosters == b->cap) {
        size_t cap = b->cap == 0 ? 16 : 2 * b->cap;
        if (cap > LIMIT_COMMUNITY_ROSTERS)
            cap = LIMIT_COMMUNITY_ROSTERS;
        struct community_roster *r = realloc(t->rosters, cap * sizeof *r);
        if (r == NULL)
            return NULL;
        t->rosters = r;
        b->cap = cap;
    }
    struct community_roster *c = &t->rosters[t->n_rosters++];
    memset(c, 0, sizeof *c);
    return c;
}

static void log_conflict(struct build *b, const struct community_roster *kept,
                         const uint8_t other[LIMIT_ID_BYTES])
{
    char owner[LIMIT_PUBKEY_B64_LEN + 1], a[2 * LIMIT_ID_BYTES + 1], o[2 * LIMIT_ID_BYTES + 1];
    keys_pubkey_to_b64(kept->owner, owner);
    for (size_t i = 0; i < LIMIT_ID_BYTES; i++) {
        snprintf(a + 2 * i, 3, "%02x", kept->id[i]);
        snprintf(o + 2 * i, 3, "%02x", other[i]);
    }
    build_log(b,
              "community: owner %s signed two different rosters '%s' version %llu; using %.*s..., "
              "ignoring %.*s...",
              owner, kept->name, (unsigned long long)kept->version, ID_SHORT_HEX, a,
              ID_SHORT_HEX, o);
}

/* Folds one stored roster into the table: the highest version wins, then the smaller id. */
static int merge(struct build *b, const uint8_t id[LIMIT_ID_BYTES],
                 const struct proto_record *rec)
{
    struct community_table *t = b->t;
    const struct proto_roster *ro = &rec->u.roster;
    struct community_roster *c = find_slot(t, rec->origin, ro->name);
    if (c == NULL) {
        if (t->n_rosters >= LIMIT_COMMUNITY_ROSTERS) {
            t->n_dropped++;
            build_log(b, "community: more than %d rosters; ignoring '%s'",
                      LIMIT_COMMUNITY_ROSTERS, ro->name);
            return COMMUNITY_OK;
        }
        c = new_slot(b);
        return c == NULL ? COMMUNITY_E_NOMEM : set_roster(b, c, id, rec);
    }
    const int by_id = memcmp(id, c->id, LIMIT_ID_BYTES);
    if (by_id == 0 || ro->version < c->version)
        return COMMUNITY_OK;
    if (ro->version > c->version) {
        c->conflict = false;
        return set_roster(b, c, id, rec);
    }
    t->n_conflicts++;
    c->conflict = true;
    uint8_t loser[LIMIT_ID_BYTES];
    memcpy(loser, by_id < 0 ? c->id : id, LIMIT_ID_BYTES);
    int rc = by_id < 0 ? set_roster(b, c, id, rec) : COMMUNITY_OK;
    log_conflict(b, c, loser);
    return rc;
}

static int roster_cb(const uint8_t id[LIMIT_ID_BYTES], const uint8_t *signed_rec, size_t len,
                     uint64_t seq, void *ctx)
{
    (void)seq;
    struct build *b = ctx;
    /* Store bytes are checked like any input: a damaged entry is refused, not asserted on. */
    int rc = len > LIMIT_SIG_BYTES ? proto_record_decode(signed_rec + LIMIT_SIG_BYTES,
                                                          len - LIMIT_SIG_BYTES, b->rec, NULL, 0)
                                   : PROTO_E_MALFORMED;
    if (rc != PROTO_OK || b->rec->kind != PROTO_KIND_ROSTER) {
        b->err = COMMUNITY_E_CORRUPT;
        return 1;
    }
    b->err = merge(b, id, b->rec);
    return b->err != COMMUNITY_OK;
}

static int cmp_roster(const void *x, const void *y)
{
    const struct community_roster *a = x, *b = y;
    int c = memcmp(a->owner, b->owner, LIMIT_KEY_BYTES);
    return c != 0 ? c : strcmp(a->name, b->name);
}

/* Reads the rosters of owner (NULL: of everyone) into the table. */
static int read_rosters(struct build *b, struct store *s, const uint8_t *owner)
{
    int rc = store_iter_rosters(s, owner, roster_cb, b);
    if (rc < 0) {
        b->t->last_store_err = rc;
        return COMMUNITY_E_STORE;
    }
    return b->err;
}

int community_table_build(struct community_table *t, struct store *s, const struct config *cfg,
                          const uint8_t self_key[LIMIT_KEY_BYTES], bool include_untrusted,
                          community_log_fn log, void *log_ctx)
{
    assert(t != NULL && s != NULL && cfg != NULL && self_key != NULL);
    community_table_free(t);
    memset(t, 0, sizeof *t);
    memcpy(t->self, self_key, LIMIT_KEY_BYTES);
    struct build b = {.t = t, .s = s, .cfg = cfg, .log = log, .log_ctx = log_ctx};
    b.rec = malloc(sizeof *b.rec);
    if (b.rec == NULL)
        return COMMUNITY_E_NOMEM;
    int rc;
    if (include_untrusted) {
        rc = read_rosters(&b, s, NULL);
    } else {
        rc = read_rosters(&b, s, self_key);
        for (size_t i = 0; rc == COMMUNITY_OK && i < cfg->n_roster_owners; i++)
            rc = read_rosters(&b, s, cfg->roster_owners[i]);
    }
    free(b.rec);
    if (rc != COMMUNITY_OK) {
        int store_err = t->last_store_err;
        community_table_free(t);
        memcpy(t->self, self_key, LIMIT_KEY_BYTES);
        t->last_store_err = store_err;
        return rc;
    }
    if (t->n_rosters > 1)
        qsort(t->rosters, t->n_rosters, sizeof t->rosters[0], cmp_roster);
    return COMMUNITY_OK;
}

/* --- lookups --- */

const struct community_roster *community_find(const struct community_table *t,
                                              const uint8_t owner[LIMIT_KEY_BYTES],
                                              const char *name)
{
    assert(t != NULL && owner != NULL && name != NULL);
    for (size_t i = 0; i < t->n_rosters; i++) {
        const struct community_roster *c = &t->rosters[i];
        if (memcmp(c->owner, owner, LIMIT_KEY_BYTES) == 0 && strcmp(c->name, name) == 0)
            return c;
    }
    return NULL;
}

static int cmp_member_key(const void *key, const void *member)
{
    return memcmp(key, ((const struct proto_roster_member *)member)->key, LIMIT_KEY_BYTES);
}

static const struct proto_roster_member *member_of(const struct community_roster *c,
                                                   const uint8_t key[LIMIT_KEY_BYTES])
{
    if (!c->trusted || c->n_members == 0)
        return NULL;
    return bsearch(key, c->members, c->n_members, sizeof c->members[0], cmp_member_key);
}

/* Appends to names[n..cap) the names of the trusted rosters listing key; returns the new n. */
static size_t roster_names(const struct community_table *t, const uint8_t key[LIMIT_KEY_BYTES],
                           const char **names, size_t n, size_t cap)
{
    assert(t->n_rosters <= LIMIT_COMMUNITY_ROSTERS);
    for (size_t i = 0; i < t->n_rosters && n < cap; i++)
        if (member_of(&t->rosters[i], key) != NULL)
            names[n++] = t->rosters[i].name;
    return n;
}

static int cmp_name_ptr(const void *x, const void *y)
{
    return strcmp(*(const char *const *)x, *(const char *const *)y);
}

/* Sorts names[0..n), writes the first cap distinct ones to out; returns how many are distinct. */
static size_t sorted_unique(const char **names, size_t n, char out[][LIMIT_NAME_BYTES + 1],
                            size_t cap)
{
    qsort(names, n, sizeof names[0], cmp_name_ptr);
    size_t distinct = 0;
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && strcmp(names[i - 1], names[i]) == 0)
            continue;
        if (distinct < cap)
            snprintf(out[distinct], LIMIT_NAME_BYTES + 1, "%s", names[i]);
        distinct++;
    }
    return distinct;
}

size_t community_of_key(const struct community_table *t, const uint8_t key[LIMIT_KEY_BYTES],
                        char out[][LIMIT_NAME_BYTES + 1], size_t cap)
{
    assert(t != NULL && key != NULL && (out != NULL || cap == 0));
    const char *names[LIMIT_COMMUNITY_ROSTERS];
    size_t n = roster_names(t, key, names, 0, LIMIT_COMMUNITY_ROSTERS);
    return sorted_unique(names, n, out, cap);
}

const char *community_org_of_key(const struct community_table *t, const struct config *cfg,
                                 const uint8_t key[LIMIT_KEY_BYTES])
{
    assert(t != NULL && cfg != NULL && key != NULL);
    if (memcmp(key, t->self, LIMIT_KEY_BYTES) == 0 && cfg->organisation[0] != '\0')
        return cfg->organisation;
    const struct config_peer *p = config_find_peer(cfg, key);
    if (p != NULL && p->organisation[0] != '\0')
        return p->organisation;
    for (size_t i = 0; i < t->n_rosters; i++) {
        const struct proto_roster_member *m = member_of(&t->rosters[i], key);
        if (m != NULL)
            return m->org;
    }
    return "";
}

int community_fill_self(const struct community_table *t, const struct config *cfg,
                        struct gate_self *n)
{
    assert(t != NULL && cfg != NULL && n != NULL);
    memset(n, 0, sizeof *n);
    memcpy(n->key, t->self, LIMIT_KEY_BYTES);
    snprintf(n->org, sizeof n->org, "%s", cfg->organisation);
    size_t total = community_of_key(t, t->self, n->communities, LIMIT_GATE_MEMBERSHIPS);
    n->n_communities = (uint8_t)(total < LIMIT_GATE_MEMBERSHIPS ? total : LIMIT_GATE_MEMBERSHIPS);
    return total > LIMIT_GATE_MEMBERSHIPS ? COMMUNITY_E_TOOMANY : COMMUNITY_OK;
}

int community_fill_peer(const struct community_table *t, const struct config *cfg,
                        const uint8_t key[LIMIT_KEY_BYTES], bool authenticated,
                        struct gate_peer *p)
{
    assert(t != NULL && cfg != NULL && key != NULL && p != NULL);
    memset(p, 0, sizeof *p);
    p->authenticated = authenticated;
    memcpy(p->key, key, LIMIT_KEY_BYTES);
    /* "Same organisation" opens GREEN to AMBER+STRICT, so only the operator's own word counts:
     * the peer's Organisation in our config. A roster's member organisation is a label for
     * display (community_org_of_key), never a grant: any trusted owner could write ours. */
    const struct config_peer *cp = config_find_peer(cfg, key);
    if (cp != NULL)
        snprintf(p->org, sizeof p->org, "%s", cp->organisation);
    p->relation = GATE_RELATION_PARTNER;
    p->ceiling = PROTO_TLP_CLEAR;
    const char *names[LIMIT_PEER_COMMUNITIES + LIMIT_COMMUNITY_ROSTERS];
    size_t n = 0;
    if (cp != NULL) {
        assert(cp->n_communities <= LIMIT_PEER_COMMUNITIES);
        p->relation = cp->relation == CONFIG_RELATION_CLIENT ? GATE_RELATION_CLIENT
                                                             : GATE_RELATION_PARTNER;
        p->ceiling = (uint8_t)cp->max_tlp;
        for (size_t i = 0; i < cp->n_communities; i++)
            names[n++] = cp->communities[i];
    }
    n = roster_names(t, key, names, n, sizeof names / sizeof names[0]);
    size_t total = sorted_unique(names, n, p->communities, LIMIT_GATE_MEMBERSHIPS);
    p->n_communities = (uint8_t)(total < LIMIT_GATE_MEMBERSHIPS ? total : LIMIT_GATE_MEMBERSHIPS);
    return total > LIMIT_GATE_MEMBERSHIPS ? COMMUNITY_E_TOOMANY : COMMUNITY_OK;
}

int community_self_view(struct store *s, const struct config *cfg,
                        const uint8_t self_key[LIMIT_KEY_BYTES], struct gate_self *n)
{
    struct community_table t;
    community_table_init(&t);
    int rc = community_table_build(&t, s, cfg, self_key, false, NULL, NULL);
    if (rc == COMMUNITY_OK) {
        rc = community_fill_self(&t, cfg, n);
        if (rc == COMMUNITY_E_TOOMANY)
            rc = COMMUNITY_OK;
    }
    community_table_free(&t);
    return rc;
}
