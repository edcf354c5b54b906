/* community_build.c - community_table_build: stored roster records, whole or chunked, to the
 * table of counting rosters (contract in community.h, format in docs/PROTOCOL.md "Chunked
 * rosters"). */
#include "node/core/community.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/keys.h"
#include "node/core/community_int.h"

enum { LOG_LINE_BYTES = 320, ID_SHORT_HEX = 16 };

/* --- building ---
 *
 * Two passes. The first reads every stored roster record of the owners in question and keeps a
 * small descriptor per record (who, which version, which chunk of how many, which digest). Sorted,
 * the descriptors of one (owner, name) form candidates, one per (version, chunks, digest); the
 * highest version with a complete candidate counts (docs/PROTOCOL.md "Chunked rosters"). The
 * second pass reads only the chunks of that candidate, joins their members and checks the order
 * and the digest; a candidate that fails is set aside and the next one tried, so an incomplete or
 * inconsistent newer version leaves the previous complete one in force. */

struct chunk_desc {
    uint8_t id[LIMIT_ID_BYTES];
    uint8_t owner[LIMIT_KEY_BYTES];
    char name[LIMIT_NAME_BYTES + 1];
    uint64_t version;
    uint16_t chunk, chunks;         /* a whole (unchunked) roster: chunk 0 of 1 */
    uint8_t digest[LIMIT_ID_BYTES]; /* a whole roster's: computed from its members */
    bool lists_self;                /* this record lists this node */
};

struct build {
    struct community_table *t;
    struct store *s;
    const struct config *cfg;
    struct proto_record *rec; /* scratch: a roster is too large for the stack of a callback */
    uint8_t *buf;             /* scratch: one signed record (pass 2) */
    struct chunk_desc *descs; /* pass 1 */
    size_t n_descs, cap_descs;
    size_t n_table_members; /* members held by the table so far (LIMIT_COMMUNITY_TABLE_MEMBERS) */
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

__attribute__((format(printf, 2, 3))) static void build_log(const struct build *b, const char *fmt,
                                                            ...)
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

/* Decodes a stored signed record; store bytes are checked like any input. */
static int decode_roster(struct proto_record *rec, const uint8_t *signed_rec, size_t len)
{
    int rc = len > LIMIT_SIG_BYTES ? proto_record_decode(signed_rec + LIMIT_SIG_BYTES,
                                                         len - LIMIT_SIG_BYTES, rec, NULL, 0)
                                   : PROTO_E_MALFORMED;
    return rc == PROTO_OK && rec->kind == PROTO_KIND_ROSTER ? COMMUNITY_OK : COMMUNITY_E_CORRUPT;
}

static int add_desc(struct build *b, const uint8_t id[LIMIT_ID_BYTES])
{
    if (b->n_descs == LIMIT_COMMUNITY_RECORDS)
        return COMMUNITY_E_RECORDS;
    if (b->n_descs == b->cap_descs) {
        size_t cap = b->cap_descs == 0 ? 16 : 2 * b->cap_descs;
        cap = cap > LIMIT_COMMUNITY_RECORDS ? LIMIT_COMMUNITY_RECORDS : cap;
        struct chunk_desc *d = realloc(b->descs, cap * sizeof *d);
        if (d == NULL)
            return COMMUNITY_E_NOMEM;
        b->descs = d;
        b->cap_descs = cap;
    }
    const struct proto_roster *ro = &b->rec->u.roster;
    struct chunk_desc *d = &b->descs[b->n_descs++];
    memcpy(d->id, id, LIMIT_ID_BYTES);
    memcpy(d->owner, b->rec->origin, LIMIT_KEY_BYTES);
    memcpy(d->name, ro->name, sizeof d->name);
    d->version = ro->version;
    d->chunk = ro->chunk;
    d->chunks = ro->chunks == 0 ? 1 : ro->chunks;
    d->lists_self = bsearch(b->t->self, ro->members, ro->n_members, sizeof ro->members[0],
                            community_cmp_key_member) != NULL;
    if (ro->chunks == 0)
        proto_roster_digest(ro->members, ro->n_members, d->digest);
    else
        memcpy(d->digest, ro->digest, LIMIT_ID_BYTES);
    return COMMUNITY_OK;
}

static int roster_cb(const uint8_t id[LIMIT_ID_BYTES], const uint8_t *signed_rec, size_t len,
                     uint64_t seq, void *ctx)
{
    (void)seq;
    struct build *b = ctx;
    b->err = decode_roster(b->rec, signed_rec, len);
    if (b->err == COMMUNITY_OK)
        b->err = add_desc(b, id);
    return b->err != COMMUNITY_OK;
}

/* (owner, name), then version descending, then the candidate (chunks, digest), then chunk, id. */
static int cmp_desc(const void *x, const void *y)
{
    const struct chunk_desc *a = x, *b = y;
    int c = memcmp(a->owner, b->owner, LIMIT_KEY_BYTES);
    if (c == 0)
        c = strcmp(a->name, b->name);
    if (c == 0 && a->version != b->version)
        return a->version > b->version ? -1 : 1;
    if (c == 0 && a->chunks != b->chunks)
        return a->chunks < b->chunks ? -1 : 1;
    if (c == 0)
        c = memcmp(a->digest, b->digest, LIMIT_ID_BYTES);
    if (c == 0 && a->chunk != b->chunk)
        return a->chunk < b->chunk ? -1 : 1;
    return c != 0 ? c : memcmp(a->id, b->id, LIMIT_ID_BYTES);
}

static bool same_roster(const struct chunk_desc *a, const struct chunk_desc *b)
{
    return memcmp(a->owner, b->owner, LIMIT_KEY_BYTES) == 0 && strcmp(a->name, b->name) == 0;
}

static bool same_candidate(const struct chunk_desc *a, const struct chunk_desc *b)
{
    return same_roster(a, b) && a->version == b->version && a->chunks == b->chunks &&
           memcmp(a->digest, b->digest, LIMIT_ID_BYTES) == 0;
}

/* One candidate: descs[first..end), sorted by chunk then id. */
struct candidate {
    size_t first, end;
    const struct chunk_desc *chunk[LIMIT_ROSTER_CHUNKS]; /* the smaller id per index */
    bool complete, doubled; /* doubled: two records of one index (the owner signed two) */
};

static void scan_candidate(const struct build *b, size_t first, struct candidate *c)
{
    memset(c, 0, sizeof *c);
    c->first = first;
    const struct chunk_desc *d = &b->descs[first];
    assert(d->chunks >= 1 && d->chunks <= LIMIT_ROSTER_CHUNKS);
    size_t present = 0, i = first;
    for (; i < b->n_descs && same_candidate(d, &b->descs[i]); i++) {
        const struct chunk_desc *e = &b->descs[i];
        if (c->chunk[e->chunk] != NULL) {
            c->doubled = true;
            continue;
        }
        c->chunk[e->chunk] = e;
        present++;
    }
    c->end = i;
    c->complete = present == d->chunks;
}

/* Reads the chunks of candidate c into one member array (*out, *n, owned by the caller) and
 * checks order and digest. COMMUNITY_OK; COMMUNITY_E_CORRUPT for a candidate that does not hold
 * together (set aside); *revoked when a chunk is revoked. */
static int join_candidate(struct build *b, const struct candidate *c,
                          struct proto_roster_member **out, size_t *n, bool *revoked)
{
    const struct chunk_desc *d = c->chunk[0];
    size_t cap = (size_t)d->chunks * LIMIT_ROSTER_MEMBERS;
    cap = cap < LIMIT_COMMUNITY_MEMBERS ? cap : LIMIT_COMMUNITY_MEMBERS;
    struct proto_roster_member *m = malloc(cap * sizeof *m);
    if (m == NULL)
        return COMMUNITY_E_NOMEM;
    size_t total = 0;
    int rc = COMMUNITY_OK;
    *revoked = false;
    for (unsigned i = 0; rc == COMMUNITY_OK && i < d->chunks; i++) {
        size_t len = 0;
        int src = store_get(b->s, c->chunk[i]->id, b->buf, LIMIT_SIGNED_RECORD_BYTES, &len, NULL);
        if (src != STORE_OK) {
            b->t->last_store_err = src;
            rc = COMMUNITY_E_STORE;
            break;
        }
        if ((rc = decode_roster(b->rec, b->buf, len)) != COMMUNITY_OK)
            break;
        const int rev = store_is_revoked(b->s, c->chunk[i]->id, b->rec->origin);
        if (rev < 0) {
            b->t->last_store_err = rev;
            rc = COMMUNITY_E_STORE;
            break;
        }
        *revoked = *revoked || rev == 1;
        const struct proto_roster *ro = &b->rec->u.roster;
        if (total > 0 && ro->n_members > 0 &&
            memcmp(m[total - 1].key, ro->members[0].key, LIMIT_KEY_BYTES) >= 0)
            rc = COMMUNITY_E_CORRUPT; /* ranges overlap or out of order */
        if (total + ro->n_members > cap)
            rc = COMMUNITY_E_CORRUPT; /* over LIMIT_COMMUNITY_MEMBERS */
        if (rc != COMMUNITY_OK)
            break;
        memcpy(m + total, ro->members, ro->n_members * sizeof *m);
        total += ro->n_members;
    }
    uint8_t digest[LIMIT_ID_BYTES];
    if (rc == COMMUNITY_OK) {
        proto_roster_digest(m, total, digest);
        if (memcmp(digest, d->digest, LIMIT_ID_BYTES) != 0)
            rc = COMMUNITY_E_CORRUPT;
    }
    if (rc != COMMUNITY_OK) {
        free(m);
        return rc;
    }
    if (total < cap) { /* keep what the members need, not the chunks' worst case */
        struct proto_roster_member *fit = realloc(m, (total > 0 ? total : 1) * sizeof *m);
        m = fit != NULL ? fit : m;
    }
    *out = m;
    *n = total;
    return COMMUNITY_OK;
}

static struct community_roster *new_slot(struct build *b, size_t *cap)
{
    struct community_table *t = b->t;
    if (t->n_rosters == *cap) {
        size_t c = *cap == 0 ? 16 : 2 * *cap;
        c = c > LIMIT_COMMUNITY_ROSTERS ? LIMIT_COMMUNITY_ROSTERS : c;
        struct community_roster *r = realloc(t->rosters, c * sizeof *r);
        if (r == NULL)
            return NULL;
        t->rosters = r;
        *cap = c;
    }
    struct community_roster *c = &t->rosters[t->n_rosters++];
    memset(c, 0, sizeof *c);
    return c;
}

static void log_conflict(struct build *b, const struct community_roster *kept)
{
    char owner[LIMIT_PUBKEY_B64_LEN + 1], a[2 * LIMIT_ID_BYTES + 1];
    keys_pubkey_to_b64(kept->owner, owner);
    for (size_t i = 0; i < LIMIT_ID_BYTES; i++)
        snprintf(a + 2 * i, 3, "%02x", kept->id[i]);
    build_log(b,
              "community: owner %s signed two different rosters '%s' version %llu; using %.*s..., "
              "ignoring the other",
              owner, kept->name, (unsigned long long)kept->version, ID_SHORT_HEX, a);
}

/* Fills c from candidate k, whose members (n, owned) were joined. */
static void set_roster(struct build *b, struct community_roster *c, const struct candidate *k,
                       struct proto_roster_member *m, size_t n, bool revoked, bool conflict)
{
    const struct chunk_desc *d = k->chunk[0];
    memcpy(c->id, d->id, LIMIT_ID_BYTES);
    memcpy(c->owner, d->owner, LIMIT_KEY_BYTES);
    memcpy(c->name, d->name, sizeof c->name);
    c->version = d->version;
    c->n_chunks = d->chunks;
    c->tlp = b->rec->tlp; /* the last chunk read; every chunk of a version tlpmesh signs alike */
    c->trusted = owner_trusted(b->t, b->cfg, d->owner);
    c->revoked = revoked;
    c->conflict = conflict;
    if (revoked) {
        free(m);
        m = NULL;
        n = 0;
        build_log(b, "community: roster '%s' version %llu is revoked by its owner; it lists nobody",
                  c->name, (unsigned long long)c->version);
    }
    c->members = m;
    c->n_members = n;
    b->n_table_members += n;
    if (conflict) {
        b->t->n_conflicts++;
        log_conflict(b, c);
    }
}

/* The complete candidate of descs[first..end) (one version) with the smallest chunk-0 id above
 * *after (NULL: any); false when there is none. *n_complete counts the complete ones. */
static bool next_candidate(const struct build *b, size_t first, size_t end, const uint8_t *after,
                           struct candidate *best, size_t *n_complete)
{
    bool found = false;
    *n_complete = 0;
    struct candidate k;
    for (size_t i = first; i < end; i = k.end) {
        scan_candidate(b, i, &k);
        if (!k.complete)
            continue;
        (*n_complete)++;
        if (after != NULL && memcmp(k.chunk[0]->id, after, LIMIT_ID_BYTES) <= 0)
            continue;
        if (!found || memcmp(k.chunk[0]->id, best->chunk[0]->id, LIMIT_ID_BYTES) < 0) {
            *best = k;
            found = true;
        }
    }
    return found;
}

/* Tries the complete candidates of one version (descs[first..end)) by ascending chunk-0 id;
 * installs the first that holds together. *installed says whether one did. */
static int pick_version(struct build *b, size_t first, size_t end, size_t *cap, bool *installed)
{
    struct candidate k = {0};
    size_t n_complete = 0;
    uint8_t after[LIMIT_ID_BYTES];
    bool have_after = false;
    *installed = false;
    while (next_candidate(b, first, end, have_after ? after : NULL, &k, &n_complete)) {
        memcpy(after, k.chunk[0]->id, LIMIT_ID_BYTES);
        have_after = true;
        struct proto_roster_member *m = NULL;
        size_t n = 0;
        bool revoked = false;
        int rc = join_candidate(b, &k, &m, &n, &revoked);
        if (rc == COMMUNITY_E_CORRUPT) {
            build_log(b,
                      "community: roster '%s' version %llu: its %u chunks do not hold together "
                      "(order or digest); set aside",
                      k.chunk[0]->name, (unsigned long long)k.chunk[0]->version,
                      k.chunk[0]->chunks);
            continue;
        }
        if (rc != COMMUNITY_OK)
            return rc;
        if (!revoked && b->n_table_members + n > LIMIT_COMMUNITY_TABLE_MEMBERS) {
            free(m);
            b->t->n_dropped++;
            build_log(b, "community: more than %d members in all rosters; ignoring '%s'",
                      LIMIT_COMMUNITY_TABLE_MEMBERS, k.chunk[0]->name);
            *installed = true; /* dropped whole: no older version of it counts either */
            return COMMUNITY_OK;
        }
        struct community_roster *c = new_slot(b, cap);
        if (c == NULL) {
            free(m);
            return COMMUNITY_E_NOMEM;
        }
        set_roster(b, c, &k, m, n, revoked, n_complete > 1 || k.doubled);
        *installed = true;
        return COMMUNITY_OK;
    }
    return COMMUNITY_OK;
}

/* A version above the counting one (not complete yet) has a chunk, signed by a trusted owner,
 * that lists this node: this node counts itself a member (community.h), which is what lets it
 * accept that version's other chunks (the inbound gate). Peers are never counted so. */
static int note_self_pending(struct build *b, size_t first, size_t end)
{
    struct community_table *t = b->t;
    bool listed = false;
    for (size_t i = first; i < end && !listed; i++)
        listed = b->descs[i].lists_self;
    if (!listed || !owner_trusted(t, b->cfg, b->descs[first].owner))
        return COMMUNITY_OK;
    if (t->n_self_pending == LIMIT_COMMUNITY_ROSTERS)
        return COMMUNITY_OK; /* fewer grounds, never more */
    char(*p)[LIMIT_NAME_BYTES + 1] =
        realloc(t->self_pending, (t->n_self_pending + 1) * sizeof *t->self_pending);
    if (p == NULL)
        return COMMUNITY_E_NOMEM;
    t->self_pending = p;
    memcpy(p[t->n_self_pending++], b->descs[first].name, LIMIT_NAME_BYTES + 1);
    return COMMUNITY_OK;
}

/* The counting version of the (owner, name) whose descriptors are descs[first..end): the highest
 * that holds together; the versions above it are incomplete or set aside, and said so. */
static int pick_roster(struct build *b, size_t first, size_t end, size_t *cap)
{
    if (b->t->n_rosters >= LIMIT_COMMUNITY_ROSTERS) {
        b->t->n_dropped++;
        build_log(b, "community: more than %d rosters; ignoring '%s'", LIMIT_COMMUNITY_ROSTERS,
                  b->descs[first].name);
        return COMMUNITY_OK;
    }
    for (size_t v = first; v < end;) {
        size_t v_end = v;
        while (v_end < end && b->descs[v_end].version == b->descs[v].version)
            v_end++;
        bool installed = false;
        int rc = pick_version(b, v, v_end, cap, &installed);
        if (rc == COMMUNITY_OK && installed && v > first)
            rc = note_self_pending(b, first, v);
        if (rc != COMMUNITY_OK || installed)
            return rc;
        build_log(b,
                  "community: roster '%s' version %llu is not complete; the previous complete "
                  "version stays in force",
                  b->descs[v].name, (unsigned long long)b->descs[v].version);
        v = v_end;
    }
    return note_self_pending(b, first, end);
}

static int cmp_roster(const void *x, const void *y)
{
    const struct community_roster *a = x, *b = y;
    int c = memcmp(a->owner, b->owner, LIMIT_KEY_BYTES);
    return c != 0 ? c : strcmp(a->name, b->name);
}

/* Reads the rosters of owner (NULL: of everyone) into the descriptors. */
static int read_rosters(struct build *b, struct store *s, const uint8_t *owner)
{
    int rc = store_iter_rosters(s, owner, roster_cb, b);
    if (rc < 0) {
        b->t->last_store_err = rc;
        return COMMUNITY_E_STORE;
    }
    return b->err;
}

/* Pass 2 over the sorted descriptors, one (owner, name) at a time. */
static int pick_all(struct build *b)
{
    if (b->n_descs > 1)
        qsort(b->descs, b->n_descs, sizeof b->descs[0], cmp_desc);
    size_t cap = 0;
    int rc = COMMUNITY_OK;
    for (size_t i = 0; rc == COMMUNITY_OK && i < b->n_descs;) {
        size_t end = i;
        while (end < b->n_descs && same_roster(&b->descs[i], &b->descs[end]))
            end++;
        rc = pick_roster(b, i, end, &cap);
        i = end;
    }
    return rc;
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
    b.buf = malloc(LIMIT_SIGNED_RECORD_BYTES);
    if (b.rec == NULL || b.buf == NULL) {
        free(b.rec);
        free(b.buf);
        return COMMUNITY_E_NOMEM;
    }
    int rc;
    if (include_untrusted) {
        rc = read_rosters(&b, s, NULL);
    } else {
        rc = read_rosters(&b, s, self_key);
        for (size_t i = 0; rc == COMMUNITY_OK && i < cfg->n_roster_owners; i++)
            rc = read_rosters(&b, s, cfg->roster_owners[i]);
    }
    if (rc == COMMUNITY_OK)
        rc = pick_all(&b);
    free(b.descs);
    free(b.buf);
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
