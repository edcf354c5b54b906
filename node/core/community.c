/* community.c - rosters to memberships (contract in community.h).
 *
 * The table holds at most LIMIT_COMMUNITY_ROSTERS rosters, each at most LIMIT_COMMUNITY_MEMBERS
 * members sorted by key (LIMIT_COMMUNITY_TABLE_MEMBERS in all), so a lookup is a scan over the
 * rosters with a binary search in each: O(rosters x log members), whatever a roster's size. The
 * table is built in community_build.c.
 */
#include "node/core/community.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/core/community_int.h"

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
    free(t->self_pending);
    t->self_pending = NULL;
    t->n_self_pending = 0;
    t->rosters = NULL;
    t->n_rosters = 0;
}

int community_cmp_key_member(const void *key, const void *member)
{
    return memcmp(key, ((const struct proto_roster_member *)member)->key, LIMIT_KEY_BYTES);
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

static const struct proto_roster_member *member_of(const struct community_roster *c,
                                                   const uint8_t key[LIMIT_KEY_BYTES])
{
    if (!c->trusted || c->n_members == 0)
        return NULL;
    return bsearch(key, c->members, c->n_members, sizeof c->members[0], community_cmp_key_member);
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
    const char *names[2 * LIMIT_COMMUNITY_ROSTERS];
    size_t k = roster_names(t, t->self, names, 0, LIMIT_COMMUNITY_ROSTERS);
    assert(t->n_self_pending <= LIMIT_COMMUNITY_ROSTERS);
    for (size_t i = 0; i < t->n_self_pending; i++)
        names[k++] = t->self_pending[i];
    size_t total = sorted_unique(names, k, n->communities, LIMIT_GATE_MEMBERSHIPS);
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
