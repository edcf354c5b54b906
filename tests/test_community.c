/* test_community.c - rosters to memberships (node/core/community.h), on a real LMDB store with real
 * signed rosters. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "crypto/keys.h"
#include "node/core/community.h"
#include "tests/support/ts_ident.h"
#include "tests/support/ts_record.h"
#include "tests/support/ts_store.h"

#define T0 1700000000000ULL

/* Identities by seed byte. */
enum { SELF = 1, OWNER_T = 2, OWNER_U = 3, NODE_A = 4, NODE_B = 5, NODE_C = 6 };

struct env {
    struct ts_store db;
    struct config cfg;
    struct community_table table;
    uint8_t keys[8][LIMIT_KEY_BYTES];
    struct keys_identity ids[8];
    char log[8][320];
    size_t n_log;
};

static void on_log(void *ctx, const char *line)
{
    struct env *e = ctx;
    if (e->n_log < 8)
        snprintf(e->log[e->n_log], sizeof e->log[0], "%s", line);
    e->n_log++;
}

static struct env *env_new(void)
{
    struct env *e = calloc(1, sizeof *e);
    assert_non_null(e);
    ts_store_temp(&e->db, "community");
    config_init(&e->cfg);
    snprintf(e->cfg.organisation, sizeof e->cfg.organisation, "cert-self");
    for (uint8_t i = 1; i < 8; i++) {
        ts_identity(i, &e->ids[i]);
        memcpy(e->keys[i], e->ids[i].sign_pk, LIMIT_KEY_BYTES);
    }
    community_table_init(&e->table);
    return e;
}

static void env_free(struct env *e)
{
    community_table_free(&e->table);
    config_free(&e->cfg);
    ts_store_temp_close(&e->db);
    for (int i = 1; i < 8; i++)
        keys_identity_wipe(&e->ids[i]);
    free(e);
}

static void trust(struct env *e, int owner)
{
    memcpy(e->cfg.roster_owners[e->cfg.n_roster_owners++], e->keys[owner], LIMIT_KEY_BYTES);
}

/* A [Peer] for node with organisation org (may be "") and one Community line (may be NULL). */
static void add_peer(struct env *e, int node, const char *org, const char *community)
{
    struct config_peer *p = realloc(e->cfg.peers, (e->cfg.n_peers + 1) * sizeof *p);
    assert_non_null(p);
    e->cfg.peers = p;
    p = &p[e->cfg.n_peers++];
    memset(p, 0, sizeof *p);
    memcpy(p->key, e->keys[node], LIMIT_KEY_BYTES);
    keys_pubkey_to_b64(p->key, p->key_b64);
    snprintf(p->organisation, sizeof p->organisation, "%s", org);
    if (community != NULL) { /* owned by the config (config_free) */
        assert_non_null(p->communities = calloc(1, sizeof *p->communities));
        snprintf(p->communities[p->n_communities++], LIMIT_NAME_BYTES + 1, "%s", community);
    }
    p->max_tlp = PROTO_TLP_AMBER;
    p->relation = CONFIG_RELATION_CLIENT;
}

/* Signs and stores owner's roster `name` version `version` listing nodes[0..n) as org "org-N"
 * (or as orgs[i] when orgs is not NULL); returns its id in id (if not NULL). */
static void put_roster(struct env *e, int owner, const char *name, uint64_t version,
                       const int *nodes, size_t n, const char *const *orgs,
                       uint8_t id[LIMIT_ID_BYTES])
{
    struct proto_record *r = ts_record_alloc();
    ts_roster(r, PROTO_TLP_GREEN, name, version, T0 + version);
    for (size_t i = 0; i < n; i++) {
        char org[LIMIT_NAME_BYTES + 1];
        snprintf(org, sizeof org, "org-%d", nodes[i]);
        ts_roster_add(r, e->keys[nodes[i]], orgs != NULL ? orgs[i] : org);
    }
    ts_put(e->db.store, r, &e->ids[owner], 0, id);
    free(r);
}

/* Signs and stores owner's revocation of the record target. */
static void put_revocation(struct env *e, int owner, const uint8_t target[LIMIT_ID_BYTES])
{
    struct proto_record *r = ts_record_alloc();
    ts_revocation(r, PROTO_TLP_GREEN, target, NULL, T0 + 1000);
    ts_put(e->db.store, r, &e->ids[owner], 0, NULL);
    free(r);
}

static void build(struct env *e, bool include_untrusted)
{
    e->n_log = 0;
    assert_int_equal(community_table_build(&e->table, e->db.store, &e->cfg, e->keys[SELF],
                                           include_untrusted, on_log, e),
                     COMMUNITY_OK);
}

/* The communities of node, joined with ',' for exact comparison. */
static const char *comms(struct env *e, int node)
{
    static char out[LIMIT_GATE_MEMBERSHIPS * (LIMIT_NAME_BYTES + 1)];
    static char names[LIMIT_GATE_MEMBERSHIPS][LIMIT_NAME_BYTES + 1];
    size_t n = community_of_key(&e->table, e->keys[node], names, LIMIT_GATE_MEMBERSHIPS);
    out[0] = '\0';
    for (size_t i = 0; i < n && i < LIMIT_GATE_MEMBERSHIPS; i++) {
        if (i > 0)
            strcat(out, ",");
        strcat(out, names[i]);
    }
    return out;
}

static void untrusted_owner_is_ignored(void **state)
{
    (void)state;
    struct env *e = env_new();
    const int ab[] = {NODE_A, NODE_B};
    put_roster(e, OWNER_U, "eu-energy", 1, ab, 2, NULL, NULL);
    build(e, false);
    assert_int_equal(e->table.n_rosters, 0);
    assert_string_equal(comms(e, NODE_A), "");
    assert_string_equal(community_org_of_key(&e->table, &e->cfg, e->keys[NODE_A]), "");

    /* Shown, but marked untrusted and still counting for nothing. */
    build(e, true);
    assert_int_equal(e->table.n_rosters, 1);
    assert_false(e->table.rosters[0].trusted);
    assert_int_equal(e->table.rosters[0].n_members, 2);
    assert_string_equal(comms(e, NODE_A), "");

    trust(e, OWNER_U);
    build(e, false);
    assert_int_equal(e->table.n_rosters, 1);
    assert_true(e->table.rosters[0].trusted);
    assert_string_equal(comms(e, NODE_A), "eu-energy");
    assert_string_equal(comms(e, NODE_B), "eu-energy");
    assert_string_equal(comms(e, NODE_C), "");
    assert_string_equal(community_org_of_key(&e->table, &e->cfg, e->keys[NODE_B]), "org-5");
    env_free(e);
}

static void own_rosters_are_trusted_and_name_our_communities(void **state)
{
    (void)state;
    struct env *e = env_new();
    const int sa[] = {SELF, NODE_A};
    put_roster(e, SELF, "national", 1, sa, 2, NULL, NULL);
    const int ab[] = {NODE_A, NODE_B};
    put_roster(e, SELF, "health", 1, ab, 2, NULL, NULL);
    build(e, false);
    assert_string_equal(comms(e, SELF), "national");
    assert_string_equal(comms(e, NODE_A), "health,national");
    struct gate_self n;
    assert_int_equal(community_fill_self(&e->table, &e->cfg, &n), COMMUNITY_OK);
    assert_memory_equal(n.key, e->keys[SELF], LIMIT_KEY_BYTES);
    assert_string_equal(n.org, "cert-self");
    assert_int_equal(n.n_communities, 1);
    assert_string_equal(n.communities[0], "national");
    /* Our own organisation comes from our config, not from what a roster says of us. */
    assert_string_equal(community_org_of_key(&e->table, &e->cfg, e->keys[SELF]), "cert-self");
    env_free(e);
}

static void newer_version_replaces_older_and_removal_takes_effect(void **state)
{
    (void)state;
    struct env *e = env_new();
    trust(e, OWNER_T);
    const int abc[] = {NODE_A, NODE_B, NODE_C}, a[] = {NODE_A};
    /* Stored newest first: arrival order must not matter. */
    put_roster(e, OWNER_T, "eu-energy", 3, a, 1, NULL, NULL);
    put_roster(e, OWNER_T, "eu-energy", 1, abc, 3, NULL, NULL);
    build(e, false);
    assert_int_equal(e->table.n_rosters, 1);
    assert_int_equal(e->table.rosters[0].version, 3);
    assert_string_equal(comms(e, NODE_A), "eu-energy");
    assert_string_equal(comms(e, NODE_B), "");
    assert_string_equal(comms(e, NODE_C), "");

    /* Version 4 removes A too: nobody is left. */
    put_roster(e, OWNER_T, "eu-energy", 4, NULL, 0, NULL, NULL);
    build(e, false);
    assert_int_equal(e->table.rosters[0].version, 4);
    assert_int_equal(e->table.rosters[0].n_members, 0);
    assert_string_equal(comms(e, NODE_A), "");
    assert_int_equal(e->table.n_conflicts, 0);
    assert_int_equal(e->n_log, 0);
    env_free(e);
}

/* review: a roster its owner revoked grants nobody membership, and does not bring back the
 * members of the older version it replaced (fail closed); a higher version defines it again. */
static void revoked_roster_grants_nobody(void **state)
{
    (void)state;
    struct env *e = env_new();
    trust(e, OWNER_T);
    const int ab[] = {NODE_A, NODE_B}, ac[] = {NODE_A, NODE_C}, c[] = {NODE_C};
    uint8_t v2[LIMIT_ID_BYTES];
    put_roster(e, OWNER_T, "eu-energy", 1, ab, 2, NULL, NULL);
    put_roster(e, OWNER_T, "eu-energy", 2, ac, 2, NULL, v2);
    put_revocation(e, OWNER_T, v2);
    build(e, false);
    assert_int_equal(e->table.n_rosters, 1);
    assert_int_equal(e->table.rosters[0].version, 2);
    assert_true(e->table.rosters[0].revoked);
    assert_int_equal(e->table.rosters[0].n_members, 0);
    assert_string_equal(comms(e, NODE_A), "");
    assert_string_equal(comms(e, NODE_B), "");
    assert_string_equal(comms(e, NODE_C), "");
    assert_string_equal(community_org_of_key(&e->table, &e->cfg, e->keys[NODE_C]), "");
    assert_int_equal(e->n_log, 1);
    assert_string_equal(e->log[0], "community: roster 'eu-energy' version 2 is revoked by its "
                                   "owner; it lists nobody");
    put_roster(e, OWNER_T, "eu-energy", 3, c, 1, NULL, NULL);
    build(e, false);
    assert_false(e->table.rosters[0].revoked);
    assert_string_equal(comms(e, NODE_C), "eu-energy");
    env_free(e);
}

/* Two different rosters with the same owner, name and version: the smaller id wins, whatever the
 * order they were stored in, and the conflict is logged. */
static void equal_version_conflict_is_deterministic(void **state)
{
    (void)state;
    const int a[] = {NODE_A}, b[] = {NODE_B};
    uint8_t id_a[LIMIT_ID_BYTES], id_b[LIMIT_ID_BYTES];
    for (int order = 0; order < 2; order++) {
        struct env *e = env_new();
        trust(e, OWNER_T);
        if (order == 0) {
            put_roster(e, OWNER_T, "eu-energy", 2, a, 1, NULL, id_a);
            put_roster(e, OWNER_T, "eu-energy", 2, b, 1, NULL, id_b);
        } else {
            put_roster(e, OWNER_T, "eu-energy", 2, b, 1, NULL, id_b);
            put_roster(e, OWNER_T, "eu-energy", 2, a, 1, NULL, id_a);
        }
        build(e, false);
        const bool a_wins = memcmp(id_a, id_b, LIMIT_ID_BYTES) < 0;
        assert_int_equal(e->table.n_rosters, 1);
        assert_true(e->table.rosters[0].conflict);
        assert_int_equal(e->table.n_conflicts, 1);
        assert_memory_equal(e->table.rosters[0].id, a_wins ? id_a : id_b, LIMIT_ID_BYTES);
        assert_string_equal(comms(e, NODE_A), a_wins ? "eu-energy" : "");
        assert_string_equal(comms(e, NODE_B), a_wins ? "" : "eu-energy");
        assert_int_equal(e->n_log, 1);
        assert_non_null(strstr(e->log[0], "signed two different rosters 'eu-energy' version 2"));
        env_free(e);
    }
}

/* Same name from two trusted owners: one namespace, both contribute; different names of one
 * owner are separate rosters. */
static void owners_share_the_namespace(void **state)
{
    (void)state;
    struct env *e = env_new();
    trust(e, OWNER_T);
    trust(e, OWNER_U);
    const int a[] = {NODE_A}, b[] = {NODE_B};
    put_roster(e, OWNER_T, "eu-energy", 1, a, 1, NULL, NULL);
    put_roster(e, OWNER_U, "eu-energy", 7, b, 1, NULL, NULL);
    put_roster(e, OWNER_U, "finance", 1, a, 1, NULL, NULL);
    build(e, false);
    assert_int_equal(e->table.n_rosters, 3);
    assert_string_equal(comms(e, NODE_A), "eu-energy,finance");
    assert_string_equal(comms(e, NODE_B), "eu-energy");
    assert_non_null(community_find(&e->table, e->keys[OWNER_U], "finance"));
    assert_null(community_find(&e->table, e->keys[OWNER_T], "finance"));
    /* Sorted by (owner, name). */
    for (size_t i = 1; i < e->table.n_rosters; i++) {
        const struct community_roster *x = &e->table.rosters[i - 1], *y = &e->table.rosters[i];
        int c = memcmp(x->owner, y->owner, LIMIT_KEY_BYTES);
        assert_true(c < 0 || (c == 0 && strcmp(x->name, y->name) < 0));
    }
    env_free(e);
}

static void fill_peer_unites_config_and_rosters(void **state)
{
    (void)state;
    struct env *e = env_new();
    trust(e, OWNER_T);
    const int ab[] = {NODE_A, NODE_B};
    const char *const orgs[] = {"roster-org-a", "roster-org-b"};
    put_roster(e, OWNER_T, "eu-energy", 1, ab, 2, orgs, NULL);
    put_roster(e, OWNER_T, "alpha", 1, ab, 2, orgs, NULL);
    add_peer(e, NODE_A, "config-org-a", "zeta");
    add_peer(e, NODE_C, "", "eu-energy");
    build(e, false);

    struct gate_peer p;
    assert_int_equal(community_fill_peer(&e->table, &e->cfg, e->keys[NODE_A], true, &p),
                     COMMUNITY_OK);
    assert_true(p.authenticated);
    assert_string_equal(p.org, "config-org-a"); /* the operator's word first */
    assert_int_equal(p.relation, GATE_RELATION_CLIENT);
    assert_int_equal(p.ceiling, PROTO_TLP_AMBER);
    assert_int_equal(p.n_communities, 3);
    assert_string_equal(p.communities[0], "alpha");
    assert_string_equal(p.communities[1], "eu-energy");
    assert_string_equal(p.communities[2], "zeta");

    /* Config line and roster naming the same community: listed once. */
    assert_int_equal(community_fill_peer(&e->table, &e->cfg, e->keys[NODE_C], true, &p),
                     COMMUNITY_OK);
    assert_string_equal(p.org, "");
    assert_int_equal(p.n_communities, 1);
    assert_string_equal(p.communities[0], "eu-energy");

    /* Not configured: no organisation (a roster's label never makes a peer one of ours),
     * partner, ceiling CLEAR; the roster's organisation is only shown. */
    assert_int_equal(community_fill_peer(&e->table, &e->cfg, e->keys[NODE_B], false, &p),
                     COMMUNITY_OK);
    assert_false(p.authenticated);
    assert_string_equal(p.org, "");
    assert_string_equal(community_org_of_key(&e->table, &e->cfg, e->keys[NODE_B]), "roster-org-b");
    assert_int_equal(p.relation, GATE_RELATION_PARTNER);
    assert_int_equal(p.ceiling, PROTO_TLP_CLEAR);
    assert_int_equal(p.n_communities, 2);
    env_free(e);
}

/* More memberships than the gate holds: the first LIMIT_GATE_MEMBERSHIPS names (sorted) are kept
 * and the caller is told. */
static void memberships_over_the_gate_limit_are_cut(void **state)
{
    (void)state;
    struct env *e = env_new();
    const int a[] = {NODE_A};
    for (int i = 0; i < LIMIT_GATE_MEMBERSHIPS + 1; i++) {
        char name[16];
        snprintf(name, sizeof name, "c%03d", i);
        put_roster(e, SELF, name, 1, a, 1, NULL, NULL);
    }
    build(e, false);
    struct gate_peer p;
    assert_int_equal(community_fill_peer(&e->table, &e->cfg, e->keys[NODE_A], true, &p),
                     COMMUNITY_E_TOOMANY);
    assert_int_equal(p.n_communities, LIMIT_GATE_MEMBERSHIPS);
    assert_string_equal(p.communities[0], "c000");
    assert_string_equal(p.communities[LIMIT_GATE_MEMBERSHIPS - 1], "c063");
    char names[2][LIMIT_NAME_BYTES + 1];
    assert_int_equal(community_of_key(&e->table, e->keys[NODE_A], names, 2),
                     LIMIT_GATE_MEMBERSHIPS + 1);
    assert_string_equal(names[1], "c001");
    env_free(e);
}

/* The CLI reads rosters from a read-only store while the node runs. */
static void read_only_store_builds_the_same_table(void **state)
{
    (void)state;
    struct env *e = env_new();
    const int a[] = {NODE_A};
    put_roster(e, SELF, "national", 1, a, 1, NULL, NULL);
    build(e, false);
    assert_int_equal(e->table.n_rosters, 1);
    store_close(e->db.store);
    struct store_opts ro = {.read_only = true};
    assert_int_equal(store_open(&e->db.store, e->db.dir, &ro, NULL, 0), STORE_OK);
    build(e, false);
    assert_int_equal(e->table.n_rosters, 1);
    assert_string_equal(community_strerror(COMMUNITY_E_TOOMANY),
                        "more community memberships than LIMIT_GATE_MEMBERSHIPS");
    env_free(e);
}

static int cmp_member_key_test(const void *x, const void *y)
{
    return memcmp(((const struct proto_roster_member *)x)->key,
                  ((const struct proto_roster_member *)y)->key, LIMIT_KEY_BYTES);
}

/* --- chunked rosters (docs/PROTOCOL.md "Chunked rosters") --- */

enum { BIG = 10000, BIG_CHUNKS = 50, BIG_PER_CHUNK = BIG / BIG_CHUNKS };

/* BIG member keys, sorted (distinct from the identities' keys with overwhelming probability). */
static struct proto_roster_member *big_members(uint8_t salt)
{
    struct proto_roster_member *m = calloc(BIG, sizeof *m);
    assert_non_null(m);
    for (uint32_t i = 0; i < BIG; i++) {
        uint8_t seed[5] = {salt, (uint8_t)(i >> 24), (uint8_t)(i >> 16), (uint8_t)(i >> 8),
                           (uint8_t)i};
        crypto_generichash(m[i].key, LIMIT_KEY_BYTES, seed, sizeof seed, NULL, 0);
        snprintf(m[i].org, sizeof m[i].org, "o%u", i % 7);
    }
    qsort(m, BIG, sizeof *m, cmp_member_key_test);
    return m;
}

/* Signs and stores chunk k of chunks of owner's version, listing m[first..last), naming digest. */
static void put_chunk_range(struct env *e, int owner, uint64_t version,
                            const struct proto_roster_member *m, size_t first, size_t last,
                            size_t chunks, size_t k, const uint8_t digest[LIMIT_ID_BYTES])
{
    struct proto_record *r = ts_record_alloc();
    ts_roster(r, PROTO_TLP_GREEN, "nation", version, T0 + version);
    struct proto_roster *ro = &r->u.roster;
    ro->chunks = (uint16_t)chunks;
    ro->chunk = (uint16_t)k;
    for (size_t i = first; i < last; i++)
        ts_roster_add(r, m[i].key, m[i].org);
    memcpy(ro->digest, digest, LIMIT_ID_BYTES);
    ts_put(e->db.store, r, &e->ids[owner], 0, NULL);
    free(r);
}

/* Chunk k of owner's version of community "nation": the BIG members m in BIG_CHUNKS chunks,
 * naming digest (NULL: the members' own). */
static void put_chunk(struct env *e, int owner, uint64_t version,
                      const struct proto_roster_member *m, size_t k, const uint8_t *digest)
{
    uint8_t own[LIMIT_ID_BYTES];
    proto_roster_digest(m, BIG, own);
    put_chunk_range(e, owner, version, m, k * BIG_PER_CHUNK, (k + 1) * BIG_PER_CHUNK, BIG_CHUNKS, k,
                    digest != NULL ? digest : own);
}

static bool big_member(const struct env *e, const uint8_t key[LIMIT_KEY_BYTES])
{
    char names[1][LIMIT_NAME_BYTES + 1];
    return community_of_key(&e->table, key, names, 1) == 1 && strcmp(names[0], "nation") == 0;
}

static void chunks_assemble_in_any_order_and_look_up_exactly(void **state)
{
    (void)state;
    struct env *e = env_new();
    trust(e, OWNER_T);
    struct proto_roster_member *m = big_members(1), *other = big_members(2);
    for (size_t i = 0; i < BIG_CHUNKS; i++) /* out of order: odd chunks first, then even */
        put_chunk(e, OWNER_T, 1, m, (2 * i + 1) % (BIG_CHUNKS + 1), NULL);
    build(e, false);
    assert_int_equal(e->table.n_rosters, 1);
    const struct community_roster *c = &e->table.rosters[0];
    assert_int_equal(c->n_members, BIG);
    assert_int_equal(c->n_chunks, BIG_CHUNKS);
    assert_int_equal(c->version, 1);
    assert_false(c->conflict);
    for (size_t i = 0; i < BIG; i++) {
        assert_true(big_member(e, m[i].key));
        assert_false(big_member(e, other[i].key));
    }
    assert_string_equal(community_org_of_key(&e->table, &e->cfg, m[BIG - 1].key), m[BIG - 1].org);
    free(m);
    free(other);
    env_free(e);
}

/* v1 (whole) is in force; v2 chunked arrives but for one chunk: v1 stays until it comes. */
static void missing_chunk_keeps_the_old_version(void **state)
{
    (void)state;
    struct env *e = env_new();
    trust(e, OWNER_T);
    const int a[] = {NODE_A};
    put_roster(e, OWNER_T, "nation", 1, a, 1, NULL, NULL);
    struct proto_roster_member *m = big_members(1);
    for (size_t k = 0; k < BIG_CHUNKS; k++)
        if (k != 17)
            put_chunk(e, OWNER_T, 2, m, k, NULL);
    build(e, false);
    assert_int_equal(e->table.rosters[0].version, 1);
    assert_true(big_member(e, e->keys[NODE_A]));
    assert_false(big_member(e, m[0].key));
    assert_false(big_member(e, m[17 * BIG_PER_CHUNK].key));
    assert_int_equal(e->n_log, 1);
    assert_string_equal(e->log[0], "community: roster 'nation' version 2 is not complete; the "
                                   "previous complete version stays in force");
    put_chunk(e, OWNER_T, 2, m, 17, NULL);
    build(e, false);
    assert_int_equal(e->table.rosters[0].version, 2);
    assert_false(big_member(e, e->keys[NODE_A]));
    assert_true(big_member(e, m[17 * BIG_PER_CHUNK].key));
    assert_int_equal(e->n_log, 0);
    free(m);
    env_free(e);
}

/* A hole in v2 filled by the same index of v3, or of another v2 (another digest), or by another
 * key's chunk: none completes v2, v1 stays. */
static void mixed_versions_and_forged_chunks_are_refused(void **state)
{
    (void)state;
    struct env *e = env_new();
    trust(e, OWNER_T);
    trust(e, OWNER_U);
    const int a[] = {NODE_A};
    put_roster(e, OWNER_T, "nation", 1, a, 1, NULL, NULL);
    struct proto_roster_member *m = big_members(1), *other = big_members(2);
    for (size_t k = 1; k < BIG_CHUNKS; k++)
        put_chunk(e, OWNER_T, 2, m, k, NULL);
    put_chunk(e, OWNER_T, 3, m, 0, NULL);     /* other version */
    put_chunk(e, OWNER_T, 2, other, 0, NULL); /* other digest */
    put_chunk(e, OWNER_U, 2, m, 0, NULL);     /* other signer */
    build(e, false);
    const struct community_roster *t = community_find(&e->table, e->keys[OWNER_T], "nation");
    assert_non_null(t);
    assert_int_equal(t->version, 1);
    assert_int_equal(t->n_members, 1);
    /* OWNER_U's lone chunk 0 of 50 makes no roster of its own either. */
    assert_null(community_find(&e->table, e->keys[OWNER_U], "nation"));
    assert_true(big_member(e, e->keys[NODE_A]));
    for (size_t i = 0; i < BIG; i += 97)
        assert_false(big_member(e, m[i].key));
    free(m);
    free(other);
    env_free(e);
}

/* The owner's own chunk that names the version's digest but lists other members (a forged
 * range, or an owner's mistake): the version does not hold together and is set aside. So is one
 * whose ranges overlap. */
static void chunk_not_matching_the_digest_is_set_aside(void **state)
{
    (void)state;
    for (int how = 0; how < 2; how++) {
        struct env *e = env_new();
        trust(e, OWNER_T);
        const int a[] = {NODE_A};
        put_roster(e, OWNER_T, "nation", 1, a, 1, NULL, NULL);
        struct proto_roster_member *m = big_members(1), *forged = big_members(1);
        uint8_t digest[LIMIT_ID_BYTES];
        proto_roster_digest(m, BIG, digest);
        if (how == 0) /* chunk 5 lists a stranger in place of one member */
            memcpy(forged[5 * BIG_PER_CHUNK + 3].key, e->keys[NODE_B], LIMIT_KEY_BYTES);
        for (size_t k = 0; k < BIG_CHUNKS; k++) {
            const bool bad = k == 5;
            if (how == 1 && bad) /* chunk 5 starts one member early: overlapping ranges */
                put_chunk_range(e, OWNER_T, 2, m, 5 * BIG_PER_CHUNK - 1, 6 * BIG_PER_CHUNK - 1,
                                BIG_CHUNKS, 5, digest);
            else
                put_chunk(e, OWNER_T, 2, bad ? forged : m, k, digest);
        }
        build(e, false);
        assert_int_equal(e->table.rosters[0].version, 1);
        assert_true(big_member(e, e->keys[NODE_A]));
        assert_false(big_member(e, e->keys[NODE_B]));
        assert_false(big_member(e, m[0].key));
        assert_int_equal(e->n_log, 2);
        assert_string_equal(e->log[0], "community: roster 'nation' version 2: its 50 chunks do "
                                       "not hold together (order or digest); set aside");
        free(m);
        free(forged);
        env_free(e);
    }
}

/* This node, listed by the one chunk of a new version it holds, counts itself a member (so that
 * its inbound gate accepts the other chunks); the peers that chunk lists do not count yet. */
static void a_chunk_listing_this_node_makes_it_a_member_of_the_pending_version(void **state)
{
    (void)state;
    struct env *e = env_new();
    trust(e, OWNER_T);
    struct proto_roster_member *m = big_members(1);
    memcpy(m[BIG / 2].key, e->keys[SELF], LIMIT_KEY_BYTES);
    qsort(m, BIG, sizeof *m, cmp_member_key_test);
    size_t at = 0;
    while (memcmp(m[at].key, e->keys[SELF], LIMIT_KEY_BYTES) != 0)
        at++;
    const size_t k = at / BIG_PER_CHUNK, peer = k * BIG_PER_CHUNK + (at % BIG_PER_CHUNK == 0);
    put_chunk(e, OWNER_T, 1, m, k, NULL);
    build(e, false);
    assert_int_equal(e->table.n_rosters, 0);
    struct gate_self self;
    assert_int_equal(community_fill_self(&e->table, &e->cfg, &self), COMMUNITY_OK);
    assert_int_equal(self.n_communities, 1);
    assert_string_equal(self.communities[0], "nation");
    struct gate_peer p;
    assert_int_equal(community_fill_peer(&e->table, &e->cfg, m[peer].key, true, &p), COMMUNITY_OK);
    assert_int_equal(p.n_communities, 0);
    free(m);
    env_free(e);
}

/* The gate over memberships from a 10,000-member roster: a member gets the community's GREEN
 * record, a non-member does not; the answer is the same for the first and the last member. */
static void gate_decisions_with_a_10000_member_roster(void **state)
{
    (void)state;
    struct env *e = env_new();
    trust(e, OWNER_T);
    struct proto_roster_member *m = big_members(1);
    memcpy(m[BIG / 2].key, e->keys[SELF], LIMIT_KEY_BYTES); /* this node is a member too */
    qsort(m, BIG, sizeof *m, cmp_member_key_test);
    for (size_t k = 0; k < BIG_CHUNKS; k++)
        put_chunk(e, OWNER_T, 1, m, k, NULL);
    build(e, false);
    assert_int_equal(e->table.rosters[0].n_members, BIG);
    struct gate_self self;
    assert_int_equal(community_fill_self(&e->table, &e->cfg, &self), COMMUNITY_OK);
    assert_int_equal(self.n_communities, 1);
    struct proto_record *r = ts_record_alloc();
    ts_indicator(r, PROTO_TLP_GREEN, PROTO_ITYPE_DOMAIN, "example.org", T0, T0 + 86400000);
    snprintf(r->audience.communities[0], LIMIT_NAME_BYTES + 1, "nation");
    r->audience.n_communities = 1;
    const struct gate_record_state st = {0};
    struct gate_peer p;
    const size_t probes[] = {0, 1, BIG / 3, BIG - 1};
    for (size_t i = 0; i < sizeof probes / sizeof probes[0]; i++) {
        if (memcmp(m[probes[i]].key, e->keys[SELF], LIMIT_KEY_BYTES) == 0)
            continue;
        assert_int_equal(community_fill_peer(&e->table, &e->cfg, m[probes[i]].key, true, &p),
                         COMMUNITY_OK);
        p.ceiling = PROTO_TLP_AMBER; /* unconfigured keys: the caller sets the ceiling */
        assert_int_equal(gate_check(&self, &p, r, &st, T0 + 1), GATE_ALLOW);
    }
    assert_int_equal(community_fill_peer(&e->table, &e->cfg, e->keys[NODE_C], true, &p),
                     COMMUNITY_OK);
    assert_int_equal(p.n_communities, 0);
    p.ceiling = PROTO_TLP_AMBER;
    assert_int_equal(gate_check(&self, &p, r, &st, T0 + 1), GATE_DENY_NOT_IN_AUDIENCE);
    free(r);
    free(m);
    env_free(e);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(untrusted_owner_is_ignored),
        cmocka_unit_test(own_rosters_are_trusted_and_name_our_communities),
        cmocka_unit_test(newer_version_replaces_older_and_removal_takes_effect),
        cmocka_unit_test(equal_version_conflict_is_deterministic),
        cmocka_unit_test(revoked_roster_grants_nobody),
        cmocka_unit_test(owners_share_the_namespace),
        cmocka_unit_test(fill_peer_unites_config_and_rosters),
        cmocka_unit_test(memberships_over_the_gate_limit_are_cut),
        cmocka_unit_test(read_only_store_builds_the_same_table),
        cmocka_unit_test(chunks_assemble_in_any_order_and_look_up_exactly),
        cmocka_unit_test(missing_chunk_keeps_the_old_version),
        cmocka_unit_test(mixed_versions_and_forged_chunks_are_refused),
        cmocka_unit_test(chunk_not_matching_the_digest_is_set_aside),
        cmocka_unit_test(gate_decisions_with_a_10000_member_roster),
        cmocka_unit_test(a_chunk_listing_this_node_makes_it_a_member_of_the_pending_version),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
