/* export.c - formats (contract in export.h; the parts in export_int.h).
 *
 * Every file of every format is one row of a table: which indicator types go into it and three
 * optional steps (header, one per admitted record, footer). export_write() runs the gate once per
 * record and calls the steps; headers that must know the whole set (STIX markings, the MISP
 * manifest's events) get it from a first summary pass over the same source.
 */
#include "node/formats/export.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "node/formats/export_int.h"

static const char *const format_names[EXPORT_FORMAT_COUNT] = {
    [EXPORT_FMT_ZEEK] = "zeek",   [EXPORT_FMT_SURICATA] = "suricata",
    [EXPORT_FMT_SURICATA_IPREP] = "suricata-iprep", [EXPORT_FMT_CSV] = "csv",
    [EXPORT_FMT_HOSTS] = "hosts", [EXPORT_FMT_STIX] = "stix",
    [EXPORT_FMT_MISP_FEED] = "misp-feed", [EXPORT_FMT_TEXT] = "text",
};

const char *export_strerror(int err)
{
    switch (err) {
    case EXPORT_OK: return "ok";
    EXPORT_ERRORS(ERRORS_CASE)
    default: return "unknown export error";
    }
}

int export_format_parse(const char *name)
{
    for (int i = 0; i < EXPORT_FORMAT_COUNT; i++)
        if (strcmp(name, format_names[i]) == 0)
            return i;
    return -1;
}

const char *export_format_name(int format)
{
    return format >= 0 && format < EXPORT_FORMAT_COUNT ? format_names[format] : "?";
}

bool export_format_is_dir(int format)
{
    return format == EXPORT_FMT_SURICATA || format == EXPORT_FMT_SURICATA_IPREP ||
           format == EXPORT_FMT_MISP_FEED;
}

void export_stats_init(struct export_stats *st)
{
    memset(st, 0, sizeof *st);
    st->next_expiry_ms = UINT64_MAX;
}

/* Counts n records left out for why (static text) in st; a reason beyond the slots joins the
 * last one, so the total always adds up. */
static void note_left(struct export_stats *st, const char *why, uint64_t n)
{
    size_t i = 0;
    while (i < st->n_left && st->left[i].why != why)
        i++;
    if (i == st->n_left && st->n_left < LIMIT_EXPORT_LEFT_REASONS)
        st->left[st->n_left++].why = why;
    st->left[i < st->n_left ? i : st->n_left - 1].n += n;
}

/* ---- small encoders ---- */

/* RFC 4122 text of 16 bytes with version 5 and the RFC variant (STIX ids require both). */

void export_record_uuid(const uint8_t id[LIMIT_ID_BYTES], char out[EXPORT_UUID_TEXT])
{
    export_uuid_text(id, out);
}

void export_identity_uuid(const uint8_t key[LIMIT_KEY_BYTES], char out[EXPORT_UUID_TEXT])
{
    export_uuid_derive("tlpmesh-identity", key, LIMIT_KEY_BYTES, out);
}

void export_uuid_text(const uint8_t in[16], char out[UUID_TEXT])
{
    uint8_t b[16];
    memcpy(b, in, sizeof b);
    b[6] = (uint8_t)((b[6] & 0x0f) | 0x50);
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
    char hex[33];
    sodium_bin2hex(hex, sizeof hex, b, sizeof b);
    snprintf(out, UUID_TEXT, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16,
             hex + 20);
}

/* UUID of something that is not a record: BLAKE2b-256(label || data), shaped as above. */
void export_uuid_derive(const char *label, const uint8_t *data, size_t len,
                        char out[EXPORT_UUID_TEXT])
{
    crypto_generichash_state h;
    uint8_t d[32];
    crypto_generichash_init(&h, NULL, 0, sizeof d);
    crypto_generichash_update(&h, (const uint8_t *)label, strlen(label));
    crypto_generichash_update(&h, data, len);
    crypto_generichash_final(&h, d, sizeof d);
    export_uuid_text(d, out);
}

/* ---- the walk: gate, filter, steps ---- */

const char *export_origin_org(const struct export_job *j, const uint8_t key[LIMIT_KEY_BYTES])
{
    if (j->origin_org)
        return j->origin_org(j->origin_ctx, key);
    return memcmp(key, j->self.key, LIMIT_KEY_BYTES) == 0 ? j->self.org : "";
}

void export_ident_of(const struct export_job *j, const uint8_t key[LIMIT_KEY_BYTES],
                     struct ident *out)
{
    const char *org = export_origin_org(j, key);
    memset(out, 0, sizeof *out);
    if (org[0] != '\0') {
        export_uuid_derive("tlpmesh-identity-organisation", (const uint8_t *)org, strlen(org),
                           out->uuid);
        snprintf(out->name, sizeof out->name, "%s", org);
        return;
    }
    export_identity_uuid(key, out->uuid);
    sodium_bin2base64(out->key_b64, sizeof out->key_b64, key, LIMIT_KEY_BYTES,
                      sodium_base64_VARIANT_ORIGINAL);
    snprintf(out->name, sizeof out->name, "unknown organisation (node %.8s...)", out->key_b64);
}

/* Adds r's origin to w->idents once, with r's level. */
static int ident_add(struct walk *w, const struct proto_record *r)
{
    struct ident id;
    export_ident_of(w->job, r->origin, &id);
    id.tlp_used = 1u << r->tlp;
    for (size_t i = 0; i < w->n_idents; i++) {
        if (strcmp(w->idents[i].uuid, id.uuid) == 0) {
            w->idents[i].tlp_used |= id.tlp_used;
            return EXPORT_OK;
        }
    }
    if (w->n_idents == w->cap_idents) {
        const size_t cap = w->cap_idents ? 2 * w->cap_idents : 8;
        struct ident *g = realloc(w->idents, cap * sizeof *g);
        if (!g)
            return EXPORT_E_NOMEM;
        w->idents = g;
        w->cap_idents = cap;
    }
    w->idents[w->n_idents++] = id;
    return EXPORT_OK;
}

void export_receiver(const struct export_job *job, struct gate_peer *p)
{
    if (job->reader) {
        *p = *job->reader;
        return;
    }
    memset(p, 0, sizeof *p);
    p->authenticated = true;
    memcpy(p->key, job->self.key, LIMIT_KEY_BYTES);
    memcpy(p->org, job->self.org, sizeof p->org);
    p->relation = GATE_RELATION_PARTNER;
    p->ceiling = job->max_tlp;
    p->n_communities = job->self.n_communities;
    memcpy(p->communities, job->self.communities, sizeof p->communities);
}

static bool admitted(const struct export_job *job, const struct gate_peer *p,
                     const struct proto_record *r, bool revoked)
{
    if (r->kind != PROTO_KIND_INDICATOR || r->u.ind.type >= PROTO_ITYPE_END)
        return false;
    if (job->types != 0 && (job->types & T(r->u.ind.type)) == 0)
        return false;
    if (r->created_ms < job->since_ms)
        return false;
    const struct gate_record_state st = {.revoked = revoked};
    return gate_check(&job->self, p, r, &st, job->now_ms) == GATE_ALLOW;
}

bool export_admits(const struct export_job *job, const struct proto_record *r, bool revoked)
{
    struct gate_peer p;
    export_receiver(job, &p);
    return admitted(job, &p, r, revoked);
}

/* Would r be admitted if it were neither revoked nor expired (a file that takes deleted records,
 * file_def.deleted)? The same gate otherwise: a deleted record goes only where it went. */
static bool admitted_once(const struct walk *w, const struct proto_record *r, bool revoked)
{
    if (admitted(w->job, &w->peer, r, revoked))
        return true;
    if (!w->def->deleted || r->kind != PROTO_KIND_INDICATOR ||
        (!revoked && r->u.ind.valid_until_ms > w->job->now_ms))
        return false;
    struct export_job then = *w->job;
    then.now_ms = r->created_ms; /* the gate's only use of the time is expiry */
    return admitted(&then, &w->peer, r, false);
}

/* Does r go into the file being walked? */
static bool in_file(const struct walk *w, const struct proto_record *r, bool revoked)
{
    if (!admitted_once(w, r, revoked) || (w->def->types & T(r->u.ind.type)) == 0 ||
        (w->level >= 0 && r->tlp != w->level))
        return false;
    struct ident who;
    if (w->only)
        export_ident_of(w->job, r->origin, &who);
    return !w->only || strcmp(who.uuid, w->only->uuid) == 0;
}

static int summary_cb(const uint8_t id[LIMIT_ID_BYTES], const struct proto_record *r,
                      bool revoked, void *ctx)
{
    (void)id;
    struct walk *w = ctx;
    if (!in_file(w, r, revoked))
        return 0;
    w->tlp_used |= 1u << r->tlp;
    if ((w->job->format == EXPORT_FMT_STIX || w->job->format == EXPORT_FMT_MISP_FEED) &&
        (w->err = ident_add(w, r)) != EXPORT_OK)
        return 1;
    return 0;
}

/* Sets w->gone_s for r, which in_file took: 0 when it is live, else the time it left (the
 * revocation's, else its expiry; the request's when the revocation is not known), at least a
 * second after its created time so that MISP sees a newer edit of the attribute. */
static int gone_time(struct walk *w, const uint8_t id[LIMIT_ID_BYTES],
                     const struct proto_record *r, bool revoked)
{
    const struct export_job *j = w->job;
    w->gone_s = 0;
    if (!revoked && r->u.ind.valid_until_ms > j->now_ms)
        return EXPORT_OK;
    uint64_t ms = revoked ? j->now_ms : r->u.ind.valid_until_ms;
    if (revoked && j->gone_at && j->gone_at(j->gone_ctx, id, r, &ms) < 0)
        return EXPORT_E_SOURCE;
    const uint64_t created_s = r->created_ms / 1000;
    w->gone_s = ms / 1000 > created_s ? ms / 1000 : created_s + 1;
    return EXPORT_OK;
}

static int record_cb(const uint8_t id[LIMIT_ID_BYTES], const struct proto_record *r, bool revoked,
                     void *ctx)
{
    struct walk *w = ctx;
    if (!in_file(w, r, revoked))
        return 0;
    if ((w->err = gone_time(w, id, r, revoked)) != EXPORT_OK)
        return 1;
    const int rc = w->def->record(w, id, r);
    if (rc < 0) {
        w->err = rc;
        return 1;
    }
    if (rc == 0) { /* the format has no line for this value (a CIDR in an address dataset) */
        assert(w->left_why != NULL);
        note_left(&w->left, w->left_why, 1);
        return 0;
    }
    w->written++;
    if (w->gone_s == 0 && r->u.ind.valid_until_ms < w->next_expiry_ms)
        w->next_expiry_ms = r->u.ind.valid_until_ms;
    return 0;
}

/* Runs the source over cb; maps its own errors to EXPORT_E_SOURCE. */
static int walk_source(struct walk *w, export_record_cb cb)
{
    const int rc = w->job->src.each(w->job->src.src, cb, w);
    if (w->err)
        return w->err;
    return rc < 0 ? EXPORT_E_SOURCE : EXPORT_OK;
}

static const struct format_def *const formats[EXPORT_FORMAT_COUNT] = {
    [EXPORT_FMT_ZEEK] = &export_format_zeek,
    [EXPORT_FMT_SURICATA] = &export_format_suricata,
    [EXPORT_FMT_SURICATA_IPREP] = &export_format_iprep,
    [EXPORT_FMT_CSV] = &export_format_csv,
    [EXPORT_FMT_HOSTS] = &export_format_hosts,
    [EXPORT_FMT_STIX] = &export_format_stix,
    [EXPORT_FMT_MISP_FEED] = &export_format_misp,
    [EXPORT_FMT_TEXT] = &export_format_text,
};

/* One file of a directory format; an "@event" row becomes one file per level. */
struct dir_file {
    const struct file_def *def;
    int level; /* the MISP event's TLP level; -1 for every other file */
    char name[LIMIT_EXPORT_FILE_NAME_BYTES];
};

/* The files of job's directory format in writing order. A MISP event file is written for every
 * level, not only those that hold records: the names depend on the format alone, and an export
 * empties the file of a level that has none now (records revoked or expired, a lower --max-tlp
 * than the last export into the same directory), so no file keeps records that left the export. */
static size_t dir_files(const struct export_job *job, struct dir_file out[LIMIT_EXPORT_FILES])
{
    assert(export_format_is_dir(job->format));
    const struct format_def *fd = formats[job->format];
    size_t n = 0;
    for (size_t i = 0; i < fd->n; i++) {
        const bool event = strcmp(fd->files[i].name, EVENT_FILE) == 0;
        const int first = event ? PROTO_TLP_CLEAR : -1, last = event ? PROTO_TLP_RED : -1;
        for (int t = first; t <= last; t++) {
            assert(n < LIMIT_EXPORT_FILES);
            out[n] = (struct dir_file){.def = &fd->files[i], .level = t};
            if (event) {
                char uuid[UUID_TEXT];
                export_misp_event_uuid(job, t, uuid);
                snprintf(out[n].name, LIMIT_EXPORT_FILE_NAME_BYTES, "%s.json", uuid);
            } else {
                snprintf(out[n].name, LIMIT_EXPORT_FILE_NAME_BYTES, "%s", fd->files[i].name);
            }
            n++;
        }
    }
    return n;
}

/* The origins other than N's own organisation whose records are in a misp-feed now, each with
 * the levels it has records at (one summary pass): *out is malloc'ed, *n set. */
static int other_origins(const struct export_job *job, struct ident **out, size_t *n)
{
    assert(job->format == EXPORT_FMT_MISP_FEED);
    struct walk *w = calloc(1, sizeof *w);
    if (!w)
        return EXPORT_E_NOMEM;
    w->job = job;
    w->def = &export_format_misp.files[0];
    w->level = -1;
    export_receiver(job, &w->peer);
    const int rc = walk_source(w, summary_cb);
    size_t k = 0;
    for (size_t i = 0; rc == EXPORT_OK && i < w->n_idents; i++)
        if (!export_is_own(job, &w->idents[i]))
            w->idents[k++] = w->idents[i];
    *out = w->idents;
    *n = rc == EXPORT_OK ? k : 0;
    free(w);
    return rc;
}

static void event_name(const struct export_job *job, const struct ident *who, int tlp,
                       char out[LIMIT_EXPORT_FILE_NAME_BYTES])
{
    char uuid[UUID_TEXT];
    export_origin_event_uuid(job, who, tlp, uuid);
    snprintf(out, LIMIT_EXPORT_FILE_NAME_BYTES, "%s.json", uuid);
}

int export_dir_files(const struct export_job *job, char (**names)[LIMIT_EXPORT_FILE_NAME_BYTES])
{
    *names = NULL;
    if (job->format < 0 || job->format >= EXPORT_FORMAT_COUNT || !export_format_is_dir(job->format))
        return 0;
    struct dir_file files[LIMIT_EXPORT_FILES];
    const size_t n = dir_files(job, files);
    struct ident *others = NULL;
    size_t n_others = 0, n_events = 0;
    if (job->format == EXPORT_FMT_MISP_FEED) {
        const int rc = other_origins(job, &others, &n_others);
        if (rc != EXPORT_OK) {
            free(others);
            return rc;
        }
        for (size_t i = 0; i < n_others; i++)
            n_events += (size_t)__builtin_popcount(others[i].tlp_used);
    }
    char(*out)[LIMIT_EXPORT_FILE_NAME_BYTES] = calloc(n + n_events, sizeof *out);
    size_t k = 0;
    bool inserted = n_others == 0;
    for (size_t i = 0; out && i < n; i++) {
        /* other origins' events go after N's, before the first file that refers to them */
        if (!inserted && files[i].level < 0) {
            for (size_t o = 0; o < n_others; o++)
                for (int t = PROTO_TLP_CLEAR; t <= PROTO_TLP_RED; t++)
                    if (others[o].tlp_used & (1u << t))
                        event_name(job, &others[o], t, out[k++]);
            inserted = true;
        }
        memcpy(out[k++], files[i].name, LIMIT_EXPORT_FILE_NAME_BYTES);
    }
    free(others);
    if (!out)
        return EXPORT_E_NOMEM;
    *names = out;
    return (int)k;
}

/* Points w at the file of job's format called name (NULL for a single-file format); false when
 * the format has no such file now (a misp-feed's other origins' events depend on the records). */
static bool find_file(const struct export_job *job, const char *name, struct walk *w)
{
    const struct format_def *fd = formats[job->format];
    w->level = -1;
    if (!export_format_is_dir(job->format)) {
        w->def = name == NULL ? &fd->files[0] : NULL;
        return w->def != NULL;
    }
    export_ident_of(job, job->self.key, &w->own);
    struct dir_file files[LIMIT_EXPORT_FILES];
    const size_t n = name != NULL ? dir_files(job, files) : 0;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(files[i].name, name) == 0) {
            w->def = files[i].def;
            w->level = files[i].level;
            w->only = w->level >= 0 ? &w->own : NULL;
            return true;
        }
    }
    struct ident *others = NULL;
    size_t n_others = 0;
    if (name == NULL || job->format != EXPORT_FMT_MISP_FEED ||
        other_origins(job, &others, &n_others) != EXPORT_OK)
        n_others = 0;
    for (size_t o = 0; o < n_others && !w->only; o++) {
        for (int t = PROTO_TLP_CLEAR; t <= PROTO_TLP_RED && !w->only; t++) {
            char here[LIMIT_EXPORT_FILE_NAME_BYTES];
            event_name(job, &others[o], t, here);
            if ((others[o].tlp_used & (1u << t)) && strcmp(here, name) == 0) {
                w->other = others[o];
                w->only = &w->other;
                w->def = &export_format_misp.files[0];
                w->level = t;
            }
        }
    }
    free(others);
    return w->only != NULL;
}

int export_write(const struct export_job *job, const char *name, FILE *out,
                 struct export_stats *st)
{
    assert(job != NULL && out != NULL && job->src.each != NULL);
    if (job->format < 0 || job->format >= EXPORT_FORMAT_COUNT || !proto_tlp_valid(job->max_tlp))
        return EXPORT_E_INVAL;
    struct walk *w = calloc(1, sizeof *w);
    if (!w)
        return EXPORT_E_NOMEM;
    int rc = EXPORT_E_INVAL;
    w->job = job;
    w->out = out;
    w->next_expiry_ms = UINT64_MAX;
    export_receiver(job, &w->peer);
    export_identity_uuid(job->self.key, w->uuid);
    if (!find_file(job, name, w))
        goto out;
    if (w->def->summary && (rc = walk_source(w, summary_cb)) != EXPORT_OK)
        goto out;
    if (w->def->header && (rc = w->def->header(w)) != EXPORT_OK)
        goto out;
    if (w->def->record && (rc = walk_source(w, record_cb)) != EXPORT_OK)
        goto out;
    if (w->def->footer && (rc = w->def->footer(w)) != EXPORT_OK)
        goto out;
    rc = fflush(out) == 0 && !ferror(out) ? EXPORT_OK : EXPORT_E_IO;
    if (rc == EXPORT_OK && st) {
        st->records += w->written;
        if (w->next_expiry_ms < st->next_expiry_ms)
            st->next_expiry_ms = w->next_expiry_ms;
        for (size_t i = 0; i < w->left.n_left; i++)
            note_left(st, w->left.left[i].why, w->left.left[i].n);
    }
out:
    free(w->idents);
    free(w);
    return rc;
}

/* ---- what the format cannot carry at all ---- */

struct left_walk {
    const struct export_job *job;
    struct gate_peer peer;
    uint64_t carried; /* types some file of the format takes */
    struct export_stats *st;
};

static int left_cb(const uint8_t id[LIMIT_ID_BYTES], const struct proto_record *r, bool revoked,
                   void *ctx)
{
    (void)id;
    struct left_walk *lw = ctx;
    if (admitted(lw->job, &lw->peer, r, revoked) && (lw->carried & T(r->u.ind.type)) == 0 &&
        r->u.ind.type < PROTO_ITYPE_END)
        lw->st->left_type[r->u.ind.type]++;
    return 0;
}

int export_left_out(const struct export_job *job, struct export_stats *st)
{
    assert(job != NULL && st != NULL && job->src.each != NULL);
    if (job->format < 0 || job->format >= EXPORT_FORMAT_COUNT)
        return EXPORT_E_INVAL;
    struct left_walk lw = {.job = job, .st = st};
    export_receiver(job, &lw.peer);
    const struct format_def *fd = formats[job->format];
    for (size_t i = 0; i < fd->n; i++)
        lw.carried |= fd->files[i].types;
    if (lw.carried == ALL_TYPES)
        return EXPORT_OK;
    return job->src.each(job->src.src, left_cb, &lw) < 0 ? EXPORT_E_SOURCE : EXPORT_OK;
}

