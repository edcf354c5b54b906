/* cli_community.c - community rosters (create, add-member, remove-member, show), sightings
 * (sight) and the per-organisation sighting summary of `tlpmesh show`.
 *
 * Rosters and sightings are records like any other: signed with the node key, written straight
 * into the store, and a running node is told (cli_sign_and_store). Only a roster's owner can
 * change it: every change publishes the next version of this node's own roster of that name.
 */
#include <assert.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "node/cli/cli.h"
#include "node/core/community.h"
#include "node/formats/timefmt.h"

enum { KEY_PREFIX_CHARS = 8 };

struct community_args {
    const char *conf, *tlp, *key, *org, *count, *first_seen, *last_seen, *members_file;
    const char *members[LIMIT_ROSTER_MEMBERS];
    size_t n_members;
    bool json;
    int pos; /* first positional argument */
};

static int parse_args(const char *cmd, int argc, char **argv, struct community_args *a)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},     {"tlp", required_argument, NULL, 'l'},
        {"member", required_argument, NULL, 'm'},     {"key", required_argument, NULL, 'k'},
        {"org", required_argument, NULL, 'o'},        {"count", required_argument, NULL, 'n'},
        {"first-seen", required_argument, NULL, 'f'}, {"last-seen", required_argument, NULL, 's'},
        {"json", no_argument, NULL, 'j'},             {"members-file", required_argument, NULL, 'M'},
        {0, 0, 0, 0},
    };
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":c:", opts, NULL)) != -1) {
        switch (c) {
        case 'c': a->conf = optarg; break;
        case 'l': a->tlp = optarg; break;
        case 'k': a->key = optarg; break;
        case 'o': a->org = optarg; break;
        case 'n': a->count = optarg; break;
        case 'f': a->first_seen = optarg; break;
        case 's': a->last_seen = optarg; break;
        case 'j': a->json = true; break;
        case 'M': a->members_file = optarg; break;
        case 'm':
            if (a->n_members == LIMIT_ROSTER_MEMBERS) {
                cli_error(cmd, "at most %d --member", LIMIT_ROSTER_MEMBERS);
                return CLI_USAGE;
            }
            a->members[a->n_members++] = optarg;
            break;
        default: return cli_bad_option(cmd, argv, c);
        }
    }
    a->pos = optind;
    return CLI_OK;
}

/* This node's public key: from the loaded identity, else read from the key file and the secret
 * wiped at once (read-only commands need only the public half). */
static int self_key(const char *cmd, struct cli_node *n, uint8_t key[LIMIT_KEY_BYTES])
{
    if (n->has_key) {
        memcpy(key, n->id.sign_pk, LIMIT_KEY_BYTES);
        return CLI_OK;
    }
    struct keys_identity id;
    char why[512] = "";
    int rc = keys_file_load(n->cfg.key_file, &id, why, sizeof why);
    if (rc != KEYS_OK) {
        cli_error(cmd, "%s", why[0] ? why : keys_strerror(rc));
        return CLI_USAGE;
    }
    memcpy(key, id.sign_pk, LIMIT_KEY_BYTES);
    keys_identity_wipe(&id);
    return CLI_OK;
}

static void log_to_stderr(void *ctx, const char *line)
{
    fprintf(stderr, "tlpmesh %s: %s\n", (const char *)ctx, line);
}

static int build_table(const char *cmd, struct cli_node *n, bool include_untrusted,
                       struct community_table *t)
{
    uint8_t self[LIMIT_KEY_BYTES];
    int rc = self_key(cmd, n, self);
    if (rc != CLI_OK)
        return rc;
    rc = community_table_build(t, n->store, &n->cfg, self, include_untrusted, log_to_stderr,
                               (void *)cmd);
    if (rc == COMMUNITY_E_STORE) {
        cli_error(cmd, "store %s: %s", n->cfg.data_dir, store_strerror(t->last_store_err));
        return CLI_FAIL;
    }
    if (rc != COMMUNITY_OK) {
        cli_error(cmd, "store %s: %s", n->cfg.data_dir, community_strerror(rc));
        return CLI_FAIL;
    }
    return CLI_OK;
}

/* Loads and decodes a stored record by id into *r. */
int cli_community_table(const char *cmd, struct cli_node *n, struct community_table *t)
{
    return build_table(cmd, n, false, t);
}

static int load_record(const char *cmd, struct cli_node *n, const uint8_t id[LIMIT_ID_BYTES],
                       struct proto_record *r)
{
    static uint8_t buf[LIMIT_SIG_BYTES + LIMIT_RECORD_BYTES];
    size_t len = 0;
    char hex[2 * LIMIT_ID_BYTES + 1];
    cli_id_hex(id, hex);
    int rc = store_get(n->store, id, buf, sizeof buf, &len, NULL);
    if (rc == STORE_E_NOTFOUND) {
        cli_error(cmd, "no record %s", hex);
        return CLI_FAIL;
    }
    if (rc == STORE_OK && len <= LIMIT_SIG_BYTES)
        rc = STORE_E_CORRUPT;
    if (rc != STORE_OK) {
        cli_error(cmd, "record %s: %s", hex, store_strerror(rc));
        return CLI_FAIL;
    }
    rc = proto_record_decode(buf + LIMIT_SIG_BYTES, len - LIMIT_SIG_BYTES, r, NULL, 0);
    if (rc != PROTO_OK) {
        cli_error(cmd, "record %s: %s", hex, proto_strerror(rc));
        return CLI_FAIL;
    }
    return CLI_OK;
}

/* ---- roster editing ----
 *
 * A roster is edited as one member list (up to LIMIT_COMMUNITY_MEMBERS, on the heap) and
 * published as the next version: one record when it fits, else chunks filled up to the body limit
 * (docs/PROTOCOL.md "Chunked rosters"), all committed in one transaction so that this node never
 * holds half a version of its own. */

struct member_list {
    struct proto_roster_member *m; /* LIMIT_COMMUNITY_MEMBERS entries */
    size_t n;
};

static int cmp_member(const void *x, const void *y)
{
    return memcmp(((const struct proto_roster_member *)x)->key,
                  ((const struct proto_roster_member *)y)->key, LIMIT_KEY_BYTES);
}

static const struct proto_roster_member *find_member(const struct member_list *l,
                                                     const uint8_t key[LIMIT_KEY_BYTES])
{
    return l->n == 0 ? NULL : bsearch(key, l->m, l->n, sizeof l->m[0], cmp_member);
}

/* Appends KEY / ORG (not yet sorted: call sort_members after the last). where names the source
 * for the error ("--member", "FILE line N"). */
static int add_member(const char *cmd, const char *where, struct member_list *l, const char *name,
                      const char *key_b64, const char *org)
{
    uint8_t key[LIMIT_KEY_BYTES];
    if (keys_pubkey_from_b64(key_b64, key) != KEYS_OK) {
        cli_error(cmd, "%s: '%s' is not a node public key (44 base64 characters)", where, key_b64);
        return CLI_USAGE;
    }
    const size_t len = strlen(org);
    if (len == 0 || len > LIMIT_NAME_BYTES || !proto_utf8_valid(org, len) ||
        proto_text_has_control(org, len, false)) {
        cli_error(cmd, "%s: organisation '%s' must be 1 to %d bytes of text", where, org,
                  LIMIT_NAME_BYTES);
        return CLI_USAGE;
    }
    if (l->n == LIMIT_COMMUNITY_MEMBERS) {
        cli_error(cmd, "%s has %d members, the most a roster holds", name, LIMIT_COMMUNITY_MEMBERS);
        return CLI_FAIL;
    }
    struct proto_roster_member *m = &l->m[l->n++];
    memcpy(m->key, key, LIMIT_KEY_BYTES);
    memcpy(m->org, org, len + 1);
    return CLI_OK;
}

/* Sorts the list by key; a key listed twice is an error naming it. */
static int sort_members(const char *cmd, struct member_list *l, const char *name)
{
    qsort(l->m, l->n, sizeof l->m[0], cmp_member);
    for (size_t i = 1; i < l->n; i++) {
        if (memcmp(l->m[i - 1].key, l->m[i].key, LIMIT_KEY_BYTES) == 0) {
            char b64[LIMIT_PUBKEY_B64_LEN + 1];
            keys_pubkey_to_b64(l->m[i].key, b64);
            cli_error(cmd, "%s is already a member of %s (as %s)", b64, name, l->m[i - 1].org);
            return CLI_FAIL;
        }
    }
    return CLI_OK;
}

/* "PUBKEY=ORGANISATION": the key's base64 text ends in '=' itself, so split after its length. */
static int add_member_text(const char *cmd, const char *where, struct member_list *l,
                           const char *name, const char *text)
{
    char key[LIMIT_PUBKEY_B64_LEN + 1];
    if (strnlen(text, LIMIT_PUBKEY_B64_LEN + 1) <= LIMIT_PUBKEY_B64_LEN ||
        text[LIMIT_PUBKEY_B64_LEN] != '=') {
        cli_error(cmd, "%s: '%s' is not PUBKEY=ORGANISATION", where, text);
        return CLI_USAGE;
    }
    memcpy(key, text, LIMIT_PUBKEY_B64_LEN);
    key[LIMIT_PUBKEY_B64_LEN] = '\0';
    return add_member(cmd, where, l, name, key, text + LIMIT_PUBKEY_B64_LEN + 1);
}

/* --members-file: one PUBKEY=ORGANISATION a line; blank lines and lines starting '#' skipped. */
static int add_members_file(const char *cmd, struct member_list *l, const char *name,
                            const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        cli_error(cmd, "--members-file %s: %s", path, strerror(errno));
        return CLI_USAGE;
    }
    char line[LIMIT_PUBKEY_B64_LEN + LIMIT_NAME_BYTES + 8], where[PATH_MAX + 32];
    int rc = CLI_OK;
    for (unsigned no = 1; rc == CLI_OK && fgets(line, sizeof line, f) != NULL; no++) {
        snprintf(where, sizeof where, "%s line %u", path, no);
        size_t len = strlen(line);
        if (len > 0 && line[len - 1] != '\n' && !feof(f)) {
            cli_error(cmd, "%s: longer than a key, '=' and an organisation", where);
            rc = CLI_USAGE;
            break;
        }
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        if (len > 0 && line[0] != '#')
            rc = add_member_text(cmd, where, l, name, line);
    }
    if (rc == CLI_OK && ferror(f)) {
        cli_error(cmd, "--members-file %s: read error", path);
        rc = CLI_FAIL;
    }
    fclose(f);
    return rc;
}

static int remove_member(const char *cmd, struct member_list *l, const char *name,
                         const char *key_b64)
{
    uint8_t key[LIMIT_KEY_BYTES];
    if (keys_pubkey_from_b64(key_b64, key) != KEYS_OK) {
        cli_error(cmd, "'%s' is not a node public key (44 base64 characters)", key_b64);
        return CLI_USAGE;
    }
    const struct proto_roster_member *m = find_member(l, key);
    if (m == NULL) {
        cli_error(cmd, "%s is not a member of %s", key_b64, name);
        return CLI_FAIL;
    }
    const size_t i = (size_t)(m - l->m);
    memmove(&l->m[i], &l->m[i + 1], (l->n - i - 1) * sizeof l->m[0]);
    l->n--;
    return CLI_OK;
}

/* Encoded bytes one member adds to a chunk: [fixarray 2, bin8 32 key, str org]. */
static size_t member_bytes(const struct proto_roster_member *m)
{
    const size_t len = strlen(m->org);
    return 1 + 2 + LIMIT_KEY_BYTES + (len < 32 ? 1 : 2) + len;
}

static size_t member_bytes_total(const struct member_list *l)
{
    size_t bytes = 0;
    for (size_t i = 0; i < l->n; i++)
        bytes += member_bytes(&l->m[i]);
    return bytes;
}

/* Splits l into chunks that each fit the body limit; starts[k] is chunk k's first member.
 * Returns the number of chunks, 0 if more than LIMIT_ROSTER_CHUNKS are needed. base: the body of
 * an empty chunk; the 2 bytes of an array16 member header are reserved. */
static size_t plan_chunks(const struct member_list *l, size_t base, size_t starts[])
{
    size_t k = 0, bytes = 0, in_chunk = 0;
    starts[0] = 0;
    for (size_t i = 0; i < l->n; i++) {
        const size_t b = member_bytes(&l->m[i]);
        if (in_chunk == LIMIT_ROSTER_MEMBERS || base + 2 + bytes + b > LIMIT_RECORD_BYTES) {
            if (++k == LIMIT_ROSTER_CHUNKS)
                return 0;
            starts[k] = i;
            bytes = in_chunk = 0;
        }
        bytes += b;
        in_chunk++;
    }
    return k + 1;
}

/* Signs the next version of our roster (proto: tlp, audience, name, version set; its member
 * array ignored) with l's members and commits every record of it at once; prints chunk 0's id. */
static int publish_roster(const char *cmd, struct cli_node *n, const struct proto_record *proto,
                          const struct member_list *l)
{
    size_t starts[LIMIT_ROSTER_CHUNKS + 1];
    /* recs[LIMIT_ROSTER_CHUNKS]: the template every chunk starts from */
    struct proto_record *recs = calloc(LIMIT_ROSTER_CHUNKS + 1, sizeof *recs);
    uint8_t(*bufs)[LIMIT_SIGNED_RECORD_BYTES] = calloc(LIMIT_ROSTER_CHUNKS, sizeof *bufs);
    struct store_put puts[LIMIT_ROSTER_CHUNKS];
    if (recs == NULL || bufs == NULL) {
        cli_error(cmd, "out of memory");
        free(bufs);
        free(recs);
        return CLI_FAIL;
    }
    int rc = CLI_OK;
    /* One whole record when it fits (nodes of earlier versions read it), else chunks. */
    size_t n_chunks = 1;
    uint8_t digest[LIMIT_ID_BYTES];
    proto_roster_digest(l->m, l->n, digest);
    struct proto_record *tmpl = &recs[LIMIT_ROSTER_CHUNKS];
    *tmpl = *proto;
    tmpl->created_ms = cli_now_ms();
    tmpl->u.roster.n_members = 0;
    tmpl->u.roster.chunk = tmpl->u.roster.chunks = 0;
    memset(tmpl->u.roster.digest, 0, LIMIT_ID_BYTES);
    const int whole = proto_record_encode(tmpl, bufs[0], LIMIT_RECORD_BYTES);
    if (whole < 0) {
        cli_error(cmd, "cannot encode the roster: %s", proto_strerror(whole));
        rc = CLI_USAGE;
    }
    starts[0] = 0;
    if (rc == CLI_OK && (l->n > LIMIT_ROSTER_MEMBERS ||
                         (size_t)whole + 2 + member_bytes_total(l) > LIMIT_RECORD_BYTES)) {
        tmpl->u.roster.chunks = LIMIT_ROSTER_CHUNKS; /* the largest header: a safe base */
        const int base = proto_record_encode(tmpl, bufs[0], LIMIT_RECORD_BYTES);
        n_chunks = base > 0 ? plan_chunks(l, (size_t)base, starts) : 0;
        if (n_chunks == 0) {
            cli_error(cmd, "%zu members do not fit %d records", l->n, LIMIT_ROSTER_CHUNKS);
            rc = CLI_FAIL;
        }
    }
    starts[n_chunks] = l->n;
    for (size_t k = 0; rc == CLI_OK && k < n_chunks; k++) {
        struct proto_record *r = &recs[k];
        *r = *tmpl;
        struct proto_roster *ro = &r->u.roster;
        ro->n_members = (uint16_t)(starts[k + 1] - starts[k]);
        memcpy(ro->members, l->m + starts[k], ro->n_members * sizeof ro->members[0]);
        ro->chunks = n_chunks > 1 ? (uint16_t)n_chunks : 0;
        ro->chunk = n_chunks > 1 ? (uint16_t)k : 0;
        if (n_chunks > 1)
            memcpy(ro->digest, digest, LIMIT_ID_BYTES);
        else
            memset(ro->digest, 0, LIMIT_ID_BYTES);
        memset(&puts[k], 0, sizeof puts[k]);
        const int len = cli_sign_record(&n->id, r, bufs[k], puts[k].id);
        if (len < 0) {
            cli_error(cmd, "cannot encode roster chunk %zu: %s", k, proto_strerror(len));
            rc = CLI_USAGE;
            break;
        }
        puts[k].signed_rec = bufs[k];
        puts[k].len = (size_t)len;
        puts[k].rec = r;
        puts[k].added_us = r->created_ms * 1000;
    }
    int src = rc == CLI_OK ? store_put_batch(n->store, puts, n_chunks) : STORE_OK;
    if (src != STORE_OK) {
        cli_error(cmd, "store %s: %s", n->cfg.data_dir, store_strerror(src));
        rc = CLI_FAIL;
    }
    if (rc == CLI_OK) {
        cli_notify_node(&n->cfg);
        char hex[2 * LIMIT_ID_BYTES + 1];
        cli_id_hex(puts[0].id, hex);
        printf("%s\n", hex);
        if (n_chunks > 1)
            fprintf(stderr, "tlpmesh %s: %zu members in %zu chunks\n", cmd, l->n, n_chunks);
    }
    free(bufs);
    free(recs);
    return rc;
}

/* The roster of NAME this node owns, for a change: its members into l and its chunk 0 (tlp,
 * audience, version) into r. Refuses a name only another node owns. */
static int load_own_roster(const char *cmd, struct cli_node *n, const char *name,
                           struct proto_record *r, struct member_list *l)
{
    struct community_table t;
    community_table_init(&t);
    int rc = build_table(cmd, n, true, &t);
    const struct community_roster *own =
        rc == CLI_OK ? community_find(&t, n->id.sign_pk, name) : NULL;
    if (rc == CLI_OK && own == NULL) {
        const struct community_roster *other = NULL;
        for (size_t i = 0; i < t.n_rosters && other == NULL; i++)
            if (strcmp(t.rosters[i].name, name) == 0)
                other = &t.rosters[i];
        if (other != NULL) {
            char b64[LIMIT_PUBKEY_B64_LEN + 1];
            keys_pubkey_to_b64(other->owner, b64);
            cli_error(cmd, "community %s is owned by %s: only its owner can change it", name, b64);
        } else {
            cli_error(cmd, "no community %s owned by this node (create it first)", name);
        }
        rc = CLI_FAIL;
    }
    if (rc == CLI_OK)
        rc = load_record(cmd, n, own->id, r);
    if (rc == CLI_OK) {
        assert(own->n_members <= LIMIT_COMMUNITY_MEMBERS);
        memcpy(l->m, own->members, own->n_members * sizeof l->m[0]);
        l->n = own->n_members;
        r->u.roster.version = own->version;
    }
    community_table_free(&t);
    return rc;
}

static int community_create(int argc, char **argv)
{
    const char *cmd = "community create";
    struct community_args a = {0};
    int rc = parse_args(cmd, argc, argv, &a);
    if (rc != CLI_OK)
        return rc;
    if (a.pos != argc - 1 || a.key || a.org || a.count || a.first_seen || a.last_seen) {
        cli_error(cmd, "expected -c CONF NAME [--tlp L] [--member PUBKEY=ORG]... "
                       "[--members-file FILE] (see tlpmesh community --help)");
        return CLI_USAGE;
    }
    const char *name = argv[a.pos];
    const int tlp = proto_tlp_parse(a.tlp ? a.tlp : "green");
    if (tlp < 0 || tlp == PROTO_TLP_RED) {
        cli_error(cmd, "--tlp '%s' is not one of clear, green, amber, amber+strict (a roster goes "
                       "to its community, not to a recipient list)",
                  a.tlp);
        return CLI_USAGE;
    }
    const size_t len = strlen(name);
    if (len == 0 || len > LIMIT_NAME_BYTES || !proto_utf8_valid(name, len) ||
        proto_text_has_control(name, len, false)) {
        cli_error(cmd, "community name '%s' must be 1 to %d bytes of text", name, LIMIT_NAME_BYTES);
        return CLI_USAGE;
    }
    struct cli_node n;
    if ((rc = cli_open(cmd, a.conf, CLI_OPEN_KEY | CLI_OPEN_STORE_RW, &n)) != CLI_OK)
        return rc;
    struct proto_record *r = calloc(1, sizeof *r);
    struct member_list l = {.m = calloc(LIMIT_COMMUNITY_MEMBERS, sizeof *l.m)};
    struct community_table t;
    community_table_init(&t);
    if (r == NULL || l.m == NULL) {
        cli_error(cmd, "out of memory");
        rc = CLI_FAIL;
        goto out;
    }
    r->version = PROTO_RECORD_VERSION;
    r->kind = PROTO_KIND_ROSTER;
    r->tlp = (uint8_t)tlp;
    memcpy(r->origin, n.id.sign_pk, LIMIT_KEY_BYTES);
    struct proto_roster *ro = &r->u.roster;
    memcpy(ro->name, name, len + 1);
    memcpy(r->audience.communities[0], name, len + 1);
    r->audience.n_communities = 1;
    ro->version = 1;
    /* The owner is a member of its own community. */
    char self_b64[LIMIT_PUBKEY_B64_LEN + 1];
    keys_pubkey_to_b64(n.id.sign_pk, self_b64);
    rc = add_member(cmd, "Organisation", &l, name, self_b64, n.cfg.organisation);
    for (size_t i = 0; rc == CLI_OK && i < a.n_members; i++)
        rc = add_member_text(cmd, "--member", &l, name, a.members[i]);
    if (rc == CLI_OK && a.members_file != NULL)
        rc = add_members_file(cmd, &l, name, a.members_file);
    if (rc == CLI_OK)
        rc = sort_members(cmd, &l, name);
    if (rc != CLI_OK)
        goto out;
    if ((rc = build_table(cmd, &n, false, &t)) != CLI_OK)
        goto out;
    const struct community_roster *old = community_find(&t, n.id.sign_pk, name);
    if (old != NULL) {
        cli_error(cmd, "community %s exists (version %llu): use add-member or remove-member",
                  name, (unsigned long long)old->version);
        rc = CLI_FAIL;
        goto out;
    }
    rc = publish_roster(cmd, &n, r, &l);
out:
    community_table_free(&t);
    free(l.m);
    free(r);
    cli_close(&n);
    return rc;
}

/* add-member and remove-member: the next version of our roster, with one member more or less. */
static int community_change(const char *cmd, bool add, int argc, char **argv)
{
    struct community_args a = {0};
    int rc = parse_args(cmd, argc, argv, &a);
    if (rc != CLI_OK)
        return rc;
    if (a.pos != argc - 1 || !a.key || add != (a.org != NULL) || a.tlp || a.n_members ||
        a.members_file) {
        cli_error(cmd, "expected -c CONF NAME --key PUBKEY%s (see tlpmesh community --help)",
                  add ? " --org ORG" : "");
        return CLI_USAGE;
    }
    const char *name = argv[a.pos];
    struct cli_node n;
    if ((rc = cli_open(cmd, a.conf, CLI_OPEN_KEY | CLI_OPEN_STORE_RW, &n)) != CLI_OK)
        return rc;
    struct proto_record *r = calloc(1, sizeof *r);
    struct member_list l = {.m = calloc(LIMIT_COMMUNITY_MEMBERS, sizeof *l.m)};
    rc = r && l.m ? load_own_roster(cmd, &n, name, r, &l) : CLI_FAIL;
    if (rc == CLI_OK)
        rc = add ? add_member(cmd, "--key", &l, name, a.key, a.org)
                 : remove_member(cmd, &l, name, a.key);
    if (rc == CLI_OK && add)
        rc = sort_members(cmd, &l, name);
    if (rc == CLI_OK) {
        r->u.roster.version++;
        rc = publish_roster(cmd, &n, r, &l);
    }
    free(l.m);
    free(r);
    cli_close(&n);
    return rc;
}

/* ---- community show ---- */

static json_t *json_key(const uint8_t key[LIMIT_KEY_BYTES])
{
    char b64[LIMIT_PUBKEY_B64_LEN + 1];
    keys_pubkey_to_b64(key, b64);
    return json_string(b64);
}

static json_t *clamped_int(uint64_t v)
{
    return json_integer((json_int_t)(v > INT64_MAX ? INT64_MAX : v));
}

static json_t *roster_json(const struct community_table *t, const struct community_roster *c)
{
    char hex[2 * LIMIT_ID_BYTES + 1];
    cli_id_hex(c->id, hex);
    json_t *members = json_array();
    for (size_t i = 0; i < c->n_members; i++)
        json_array_append_new(members, json_pack("{s:o,s:s}", "key", json_key(c->members[i].key),
                                                 "organisation", c->members[i].org));
    const bool self = memcmp(c->owner, t->self, LIMIT_KEY_BYTES) == 0;
    return json_pack("{s:s,s:o,s:b,s:b,s:o,s:s,s:s,s:b,s:o}", "name", c->name, "owner",
                     json_key(c->owner), "self", self, "trusted", c->trusted, "version",
                     clamped_int(c->version), "tlp", proto_tlp_name(c->tlp), "id", hex,
                     "conflict", c->conflict, "members", members);
}

static void roster_text(const struct community_table *t, const struct community_roster *c)
{
    char owner[LIMIT_PUBKEY_B64_LEN + 1], key[LIMIT_PUBKEY_B64_LEN + 1];
    char hex[2 * LIMIT_ID_BYTES + 1];
    keys_pubkey_to_b64(c->owner, owner);
    cli_id_hex(c->id, hex);
    const bool self = memcmp(c->owner, t->self, LIMIT_KEY_BYTES) == 0;
    printf("community %s\n", c->name);
    printf("  owner    %s (%s)\n", owner,
           self ? "this node" : c->trusted ? "trusted" : "not trusted: ignored");
    printf("  version  %llu%s\n", (unsigned long long)c->version,
           c->conflict ? " (the owner signed two different rosters of this version)" : "");
    printf("  tlp      %s\n", proto_tlp_name(c->tlp));
    printf("  id       %s\n", hex);
    for (size_t i = 0; i < c->n_members; i++) {
        keys_pubkey_to_b64(c->members[i].key, key);
        printf("  member   %s  %s\n", key, c->members[i].org);
    }
}

static int community_show(int argc, char **argv)
{
    const char *cmd = "community show";
    struct community_args a = {0};
    int rc = parse_args(cmd, argc, argv, &a);
    if (rc != CLI_OK)
        return rc;
    if (a.pos < argc - 1 || a.tlp || a.key || a.org || a.n_members || a.count || a.first_seen ||
        a.last_seen) {
        cli_error(cmd, "expected -c CONF [NAME] [--json] (see tlpmesh community --help)");
        return CLI_USAGE;
    }
    const char *name = a.pos < argc ? argv[a.pos] : NULL;
    struct cli_node n;
    if ((rc = cli_open(cmd, a.conf, CLI_OPEN_STORE_RO, &n)) != CLI_OK)
        return rc;
    struct community_table t;
    community_table_init(&t);
    rc = build_table(cmd, &n, true, &t);
    size_t shown = 0;
    for (size_t i = 0; rc == CLI_OK && i < t.n_rosters; i++) {
        const struct community_roster *c = &t.rosters[i];
        if (name != NULL && strcmp(c->name, name) != 0)
            continue;
        if (a.json) {
            json_t *o = roster_json(&t, c);
            char *txt = o ? json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
            if (txt)
                puts(txt);
            free(txt);
            json_decref(o);
        } else {
            if (shown > 0)
                putchar('\n');
            roster_text(&t, c);
        }
        shown++;
    }
    if (rc == CLI_OK && name != NULL && shown == 0) {
        cli_error(cmd, "no roster of community %s is known", name);
        rc = CLI_FAIL;
    }
    community_table_free(&t);
    cli_close(&n);
    return rc;
}

int cli_community(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "create") == 0)
        return community_create(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "add-member") == 0)
        return community_change("community add-member", true, argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "remove-member") == 0)
        return community_change("community remove-member", false, argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "show") == 0)
        return community_show(argc - 1, argv + 1);
    cli_error("community", "expected 'create', 'add-member', 'remove-member' or 'show' (see "
                           "tlpmesh community --help)");
    return CLI_USAGE;
}

/* ---- sight ---- */

/* A time option: RFC 3339 or a duration before now ("2h"); def when absent. */
static int parse_seen(const char *cmd, const char *opt, const char *text, uint64_t now,
                      uint64_t def, uint64_t *ms)
{
    *ms = def;
    if (text != NULL && timefmt_parse_point(text, now, -1, ms) != TIMEFMT_OK) {
        cli_error(cmd, "%s '%s' is not an RFC 3339 time or a duration like 2h", opt, text);
        return CLI_USAGE;
    }
    return CLI_OK;
}

/* Fills the sighting body from the options; prints the error. */
static int sighting_body(const char *cmd, const struct community_args *a, uint64_t now,
                         struct proto_sighting *sg)
{
    sg->count = 1;
    if (a->count) {
        char *end;
        const unsigned long long v = strtoull(a->count, &end, 10);
        if (*a->count < '0' || *a->count > '9' || *end || v == 0 || v == ULLONG_MAX) {
            cli_error(cmd, "--count '%s' is not a whole number of at least 1", a->count);
            return CLI_USAGE;
        }
        sg->count = v;
    }
    int rc = parse_seen(cmd, "--last-seen", a->last_seen, now, now, &sg->last_seen_ms);
    if (rc == CLI_OK)
        rc = parse_seen(cmd, "--first-seen", a->first_seen, now, sg->last_seen_ms,
                        &sg->first_seen_ms);
    if (rc != CLI_OK)
        return rc;
    if (sg->last_seen_ms > now) {
        cli_error(cmd, "--last-seen is in the future");
        return CLI_USAGE;
    }
    if (sg->first_seen_ms > sg->last_seen_ms) {
        cli_error(cmd, "--first-seen is after --last-seen");
        return CLI_USAGE;
    }
    return CLI_OK;
}

int cli_sight(int argc, char **argv)
{
    const char *cmd = "sight";
    struct community_args a = {0};
    int rc = parse_args(cmd, argc, argv, &a);
    if (rc != CLI_OK)
        return rc;
    if (a.pos != argc - 1 || a.tlp || a.key || a.org || a.n_members) {
        cli_error(cmd, "expected -c CONF ID [--count N] [--first-seen T] [--last-seen T] (see "
                       "tlpmesh sight --help)");
        return CLI_USAGE;
    }
    uint8_t target_id[LIMIT_ID_BYTES];
    if (!cli_id_text_ok(argv[a.pos])) /* resolved once the store is open; say it now */
        return cli_resolve_id(cmd, NULL, argv[a.pos], target_id);
    const uint64_t now = cli_now_ms();
    struct proto_sighting body = {0};
    if ((rc = sighting_body(cmd, &a, now, &body)) != CLI_OK)
        return rc;
    struct cli_node n;
    if ((rc = cli_open(cmd, a.conf, CLI_OPEN_KEY | CLI_OPEN_STORE_RW, &n)) != CLI_OK)
        return rc;
    struct proto_record *target = calloc(1, sizeof *target), *r = calloc(1, sizeof *r);
    if ((rc = cli_resolve_id(cmd, n.store, argv[a.pos], target_id)) != CLI_OK)
        goto out;
    rc = target && r ? load_record(cmd, &n, target_id, target) : CLI_FAIL;
    if (rc != CLI_OK)
        goto out;
    const int revoked = store_is_revoked(n.store, target_id, target->origin);
    if (target->kind != PROTO_KIND_INDICATOR || revoked != 0 ||
        proto_record_check_time(target, now) != PROTO_OK) {
        cli_error(cmd, "record %s is not a live indicator: only those can be sighted",
                  argv[a.pos]);
        rc = CLI_FAIL;
        goto out;
    }
    /* The sighting carries the target's TLP and audience: it goes where the record may go. */
    r->version = PROTO_RECORD_VERSION;
    r->kind = PROTO_KIND_SIGHTING;
    r->tlp = target->tlp;
    r->created_ms = now;
    memcpy(r->origin, n.id.sign_pk, LIMIT_KEY_BYTES);
    r->audience = target->audience;
    r->u.sight = body;
    memcpy(r->u.sight.target, target_id, LIMIT_ID_BYTES);
    uint8_t id[LIMIT_ID_BYTES];
    if ((rc = cli_sign_and_store(&n, cmd, r, id)) == CLI_OK) {
        char hex[2 * LIMIT_ID_BYTES + 1];
        cli_id_hex(id, hex);
        printf("%s\n", hex);
    }
out:
    free(target);
    free(r);
    cli_close(&n);
    return rc;
}

/* ---- sightings summary for `show` ---- */

struct sighting_group {
    char org[LIMIT_NAME_BYTES + LIMIT_PUBKEY_B64_LEN + 16];
    uint64_t reports, count, first_ms, last_ms;
};

struct summary {
    const struct community_table *t;
    const struct config *cfg;
    struct proto_record *rec; /* scratch */
    struct sighting_group *groups;
    size_t n, cap;
    int err;
    bool (*may)(const struct proto_record *sighting, void *ctx); /* NULL: every sighting */
    void *may_ctx;
};

/* The sighter's organisation, or "unknown (KEY...)" so that strangers stay apart. */
static void sighter_org(const struct summary *sm, const uint8_t key[LIMIT_KEY_BYTES],
                        char *out, size_t cap)
{
    const char *org = community_org_of_key(sm->t, sm->cfg, key);
    if (org[0] != '\0') {
        snprintf(out, cap, "%s", org);
        return;
    }
    char b64[LIMIT_PUBKEY_B64_LEN + 1];
    keys_pubkey_to_b64(key, b64);
    snprintf(out, cap, "unknown (%.*s...)", KEY_PREFIX_CHARS, b64);
}

static struct sighting_group *group_for(struct summary *sm, const char *org)
{
    for (size_t i = 0; i < sm->n; i++)
        if (strcmp(sm->groups[i].org, org) == 0)
            return &sm->groups[i];
    if (sm->n == sm->cap) {
        size_t cap = sm->cap == 0 ? 8 : 2 * sm->cap;
        struct sighting_group *g = realloc(sm->groups, cap * sizeof *g);
        if (g == NULL)
            return NULL;
        sm->groups = g;
        sm->cap = cap;
    }
    struct sighting_group *g = &sm->groups[sm->n++];
    memset(g, 0, sizeof *g);
    snprintf(g->org, sizeof g->org, "%s", org);
    g->first_ms = UINT64_MAX;
    return g;
}

static uint64_t add_saturating(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static int sighting_cb(const uint8_t id[LIMIT_ID_BYTES], const uint8_t *signed_rec, size_t len,
                       uint64_t seq, void *ctx)
{
    (void)id, (void)seq;
    struct summary *sm = ctx;
    assert(len > LIMIT_SIG_BYTES);
    if (proto_record_decode(signed_rec + LIMIT_SIG_BYTES, len - LIMIT_SIG_BYTES, sm->rec, NULL,
                            0) != PROTO_OK ||
        sm->rec->kind != PROTO_KIND_SIGHTING) {
        sm->err = PROTO_E_MALFORMED;
        return 1;
    }
    if (sm->may && !sm->may(sm->rec, sm->may_ctx))
        return 0;
    char org[sizeof sm->groups[0].org];
    sighter_org(sm, sm->rec->origin, org, sizeof org);
    struct sighting_group *g = group_for(sm, org);
    if (g == NULL) {
        sm->err = COMMUNITY_E_NOMEM;
        return 1;
    }
    const struct proto_sighting *sg = &sm->rec->u.sight;
    g->reports++;
    g->count = add_saturating(g->count, sg->count);
    g->first_ms = sg->first_seen_ms < g->first_ms ? sg->first_seen_ms : g->first_ms;
    g->last_ms = sg->last_seen_ms > g->last_ms ? sg->last_seen_ms : g->last_ms;
    return 0;
}

static int cmp_group(const void *x, const void *y)
{
    return strcmp(((const struct sighting_group *)x)->org,
                  ((const struct sighting_group *)y)->org);
}

static json_t *json_time(uint64_t ms)
{
    char t[TIMEFMT_RFC3339_LEN + 1];
    timefmt_format(ms, t);
    return json_string(t);
}

static json_t *groups_json(const struct sighting_group *g, size_t n)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr != NULL && i < n; i++)
        json_array_append_new(arr, json_pack("{s:s,s:o,s:o,s:o,s:o}", "organisation", g[i].org,
                                             "reports", clamped_int(g[i].reports), "count",
                                             clamped_int(g[i].count), "first_seen",
                                             json_time(g[i].first_ms), "last_seen",
                                             json_time(g[i].last_ms)));
    return arr;
}

json_t *cli_sightings_json(const char *cmd, struct cli_node *n, const uint8_t id[LIMIT_ID_BYTES])
{
    return cli_sightings_json_if(cmd, n, id, NULL, NULL);
}

json_t *cli_sightings_json_if(const char *cmd, struct cli_node *n,
                              const uint8_t id[LIMIT_ID_BYTES],
                              bool (*may)(const struct proto_record *sighting, void *ctx),
                              void *ctx)
{
    struct community_table t;
    community_table_init(&t);
    struct summary sm = {.t = &t, .cfg = &n->cfg, .rec = malloc(sizeof *sm.rec), .may = may,
                         .may_ctx = ctx};
    json_t *out = NULL;
    if (sm.rec == NULL || build_table(cmd, n, false, &t) != CLI_OK)
        goto out;
    const int rc = store_iter_sightings(n->store, id, sighting_cb, &sm);
    if (rc < 0) {
        cli_error(cmd, "store %s: %s", n->cfg.data_dir, store_strerror(rc));
        goto out;
    }
    if (sm.err != 0) {
        cli_error(cmd, "store %s: a stored sighting does not decode", n->cfg.data_dir);
        goto out;
    }
    if (sm.n > 1)
        qsort(sm.groups, sm.n, sizeof sm.groups[0], cmp_group);
    out = groups_json(sm.groups, sm.n);
out:
    free(sm.groups);
    free(sm.rec);
    community_table_free(&t);
    return out;
}

void cli_sightings_print(const json_t *sightings)
{
    size_t i;
    json_t *g;
    json_array_foreach(sightings, i, g)
    {
        printf("sighting     %s: %" JSON_INTEGER_FORMAT " times in %" JSON_INTEGER_FORMAT
               " reports, %s .. %s\n",
               json_string_value(json_object_get(g, "organisation")),
               json_integer_value(json_object_get(g, "count")),
               json_integer_value(json_object_get(g, "reports")),
               json_string_value(json_object_get(g, "first_seen")),
               json_string_value(json_object_get(g, "last_seen")));
    }
}
