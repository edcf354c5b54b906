/* cli_import.c - `tlpmesh import`: candidates from a file (node/formats/import.h) -> signed
 * records.
 *
 * Order of decisions per candidate, each counted in the summary (nothing dropped silently):
 * parser skips and invalid values; TLP (source, floored by --tlp; none at all: skipped when
 * other candidates of the file have one, the whole file refused when none has); RED without
 * --to; expired in the source; warninglists (unless --force); the same indicator earlier in this
 * input; wider than a live copy held here or than the source's audience (docs/SHARING.md
 * "Imports and round trips"; unless --widen-audience); the very record of a tlpmesh export held
 * here, or a live record of ours with the same TLP and audience (as publish dedupes). The rest is
 * signed on every core in batches of LIMIT_IMPORT_BATCH records and put in input order by this
 * thread (cli_import_pipe.h) through one bulk write (store.h store_bulk_put: many batches a
 * durable commit, bounded by its dirty pages). Decisions stay on this thread and see every batch
 * put before (they read in the bulk's transaction), so dedupe does not depend on the core count
 * or on when commits fall; the summary and the progress bar count committed records only.
 */
#include <assert.h>
#include <getopt.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "node/cli/cli.h"
#include "node/cli/cli_import_pipe.h"
#include "node/formats/import.h"

enum reason {
    R_UNSUPPORTED,
    R_NOT_IDS,
    R_REVOKED,
    R_WARNINGLIST,
    R_RED_NO_TO,
    R_EXPIRED,
    R_DUP_INPUT,
    R_REVOKED_HERE,
    R_NARROWER_HELD,
    R_NARROWER_SOURCE,
    R_NO_TLP,
    R_NOT_INDICATOR,
    R_COUNT
};

static const char *const reason_names[R_COUNT] = {
    [R_UNSUPPORTED] = "unsupported type", [R_NOT_IDS] = "not to_ids",
    [R_REVOKED] = "revoked in source",    [R_WARNINGLIST] = "on warninglist",
    [R_RED_NO_TO] = "red without --to",   [R_EXPIRED] = "expired in source",
    [R_DUP_INPUT] = "duplicate in input", [R_REVOKED_HERE] = "revoked on this node",
    [R_NARROWER_HELD] = "already held with a narrower audience",
    [R_NARROWER_SOURCE] = "narrower audience in source",
    [R_NO_TLP] = "no TLP in source",
    [R_NOT_INDICATOR] = "not an indicator",
};

struct import_args {
    const char *conf, *format, *path, *tlp, *column, *type;
    const char *communities[LIMIT_AUDIENCE_COMMUNITIES + 1];
    const char *to[LIMIT_AUDIENCE_RECIPIENTS + 1];
    const char *warninglists[LIMIT_WARNINGLIST_FILES + 1];
    size_t n_communities, n_to, n_warninglists;
    bool include_non_ids, force, dry_run, json, widen;
};

struct summary {
    size_t candidates, imported, present, invalid;
    size_t widened; /* imported wider than a held copy or the source (--widen-audience) */
    size_t skipped[R_COUNT];
    char wl_names[LIMIT_WARNINGLIST_FILES][LIMIT_WARNINGLIST_NAME_BYTES + 1]; /* copies: the
                                                            set is freed before the summary */
    size_t wl_counts[LIMIT_WARNINGLIST_FILES];
    size_t n_wl;
    json_t *invalid_list; /* first LIMIT_IMPORT_INVALID_LISTED */
};

static int parse_args(int argc, char **argv, struct import_args *a)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},   {"format", required_argument, NULL, 'F'},
        {"tlp", required_argument, NULL, 'l'},      {"community", required_argument, NULL, 'C'},
        {"to", required_argument, NULL, 'T'},       {"column", required_argument, NULL, 'k'},
        {"type", required_argument, NULL, 't'},     {"include-non-ids", no_argument, NULL, 'i'},
        {"warninglist", required_argument, NULL, 'w'}, {"force", no_argument, NULL, 'f'},
        {"dry-run", no_argument, NULL, 'n'},        {"json", no_argument, NULL, 'j'},
        {"widen-audience", no_argument, NULL, 'W'}, {0, 0, 0, 0}};
    int c;
    bool ok = true;
    opterr = 0;
    while (ok && (c = getopt_long(argc, argv, ":c:", opts, NULL)) != -1) {
        switch (c) {
        case 'c': a->conf = optarg; break;
        case 'F': a->format = optarg; break;
        case 'l': a->tlp = optarg; break;
        case 'k': a->column = optarg; break;
        case 't': a->type = optarg; break;
        case 'i': a->include_non_ids = true; break;
        case 'f': a->force = true; break;
        case 'n': a->dry_run = true; break;
        case 'j': a->json = true; break;
        case 'W': a->widen = true; break;
        case 'C': ok = cli_push(a->communities, &a->n_communities, LIMIT_AUDIENCE_COMMUNITIES, optarg); break;
        case 'T': ok = cli_push(a->to, &a->n_to, LIMIT_AUDIENCE_RECIPIENTS, optarg); break;
        case 'w': ok = cli_push(a->warninglists, &a->n_warninglists, LIMIT_WARNINGLIST_FILES, optarg); break;
        default: return cli_bad_option("import", argv, c);
        }
    }
    if (!ok) {
        cli_error("import", "too many %s (at most %d communities, %d --to, %d warninglists)",
                  argv[optind - 2], LIMIT_AUDIENCE_COMMUNITIES, LIMIT_AUDIENCE_RECIPIENTS,
                  LIMIT_WARNINGLIST_FILES);
        return CLI_USAGE;
    }
    if (optind != argc - 1) {
        cli_error("import", "expected exactly one FILE or DIR (see tlpmesh import --help)");
        return CLI_USAGE;
    }
    a->path = argv[optind];
    if (!a->format) {
        cli_error("import", "--format is required: misp, misp-feed, stix, csv or text");
        return CLI_USAGE;
    }
    return CLI_OK;
}

/* Options -> parser options and the TLP floor (-1 = none). */
static int check_args(const struct import_args *a, struct import_opts *o, int *tlp_floor)
{
    const int f = import_format_parse(a->format);
    if (f < 0) {
        cli_error("import", "--format '%s' is not one of misp, misp-feed, stix, csv, text",
                  a->format);
        return CLI_USAGE;
    }
    *o = (struct import_opts){.format = (enum import_format)f, .itype = -1, .column = a->column,
                              .include_non_ids = a->include_non_ids};
    if (a->type && (o->itype = proto_itype_parse(a->type)) < 0) {
        cli_error("import", "--type '%s' is not a supported type (see tlpmesh publish --help)",
                  a->type);
        return CLI_USAGE;
    }
    if ((f == IMPORT_TEXT && !a->type) || (a->column && f != IMPORT_CSV)) {
        cli_error("import", f == IMPORT_TEXT ? "--format text needs --type"
                                             : "--column is for --format csv only");
        return CLI_USAGE;
    }
    *tlp_floor = -1;
    if (a->tlp && (*tlp_floor = proto_tlp_parse(a->tlp)) < 0) {
        cli_error("import", "--tlp '%s' is not one of clear, green, amber, amber+strict, red",
                  a->tlp);
        return CLI_USAGE;
    }
    return CLI_OK;
}

/* --- the same indicator twice in one input: a set of 64-bit keys of (type, tlp, value) --- */

struct seen {
    uint64_t *slots; /* 0 = empty; capacity a power of two, at most half full */
    size_t cap;
};

static bool seen_init(struct seen *s, size_t n)
{
    s->cap = 16;
    while (s->cap < 2 * n + 2)
        s->cap *= 2;
    s->slots = calloc(s->cap, sizeof *s->slots);
    return s->slots != NULL;
}

/* True when the key was already there; adds it otherwise. */
static bool seen_add(struct seen *s, int itype, int tlp, const char *value)
{
    uint8_t h[8];
    crypto_generichash_state st;
    const uint8_t hdr[2] = {(uint8_t)itype, (uint8_t)tlp};
    crypto_generichash_init(&st, NULL, 0, sizeof h);
    crypto_generichash_update(&st, hdr, sizeof hdr);
    crypto_generichash_update(&st, (const uint8_t *)value, strlen(value));
    crypto_generichash_final(&st, h, sizeof h);
    uint64_t k;
    memcpy(&k, h, sizeof k);
    k |= 1; /* never the empty marker */
    for (size_t i = k & (s->cap - 1), probes = 0; probes < s->cap;
         i = (i + 1) & (s->cap - 1), probes++) {
        if (s->slots[i] == k)
            return true;
        if (s->slots[i] == 0) {
            s->slots[i] = k;
            return false;
        }
    }
    assert(0 && "seen set full: sized for every candidate");
    return true;
}

/* --- summary --- */

static void note_invalid(struct summary *sum, const struct import_item *it)
{
    sum->invalid++;
    if (json_array_size(sum->invalid_list) >= LIMIT_IMPORT_INVALID_LISTED)
        return;
    json_array_append_new(sum->invalid_list,
                          json_pack("{s:s, s:s, s:s, s:s}", "type",
                                    it->itype > 0 ? proto_itype_name(it->itype) : it->src_type,
                                    "value", it->value, "reason", it->why ? it->why : "",
                                    "where", it->where ? it->where : ""));
}

static void note_warninglist(struct summary *sum, const char *name)
{
    sum->skipped[R_WARNINGLIST]++;
    for (size_t i = 0; i < sum->n_wl; i++) {
        if (strcmp(sum->wl_names[i], name) == 0) {
            sum->wl_counts[i]++;
            return;
        }
    }
    assert(sum->n_wl < LIMIT_WARNINGLIST_FILES);
    snprintf(sum->wl_names[sum->n_wl], sizeof sum->wl_names[0], "%s", name);
    sum->wl_counts[sum->n_wl++] = 1;
}

static size_t skipped_total(const struct summary *sum)
{
    size_t t = 0;
    for (int r = 0; r < R_COUNT; r++)
        t += sum->skipped[r];
    return t;
}

static void print_summary(const struct import_args *a, const struct summary *sum)
{
    fprintf(stderr, "tlpmesh import: %s: %s %zu, already present %zu, skipped %zu", a->path,
            a->dry_run ? "would import" : "imported", sum->imported, sum->present,
            skipped_total(sum));
    const char *sep = " (";
    for (int r = 0; r < R_COUNT; r++) {
        if (sum->skipped[r]) {
            fprintf(stderr, "%s%s: %zu", sep, reason_names[r], sum->skipped[r]);
            sep = ", ";
        }
    }
    fprintf(stderr, "%s, invalid %zu\n", sep[0] == ',' ? ")" : "", sum->invalid);
    for (size_t i = 0; i < sum->n_wl; i++)
        fprintf(stderr, "  on warninglist '%s': %zu\n", sum->wl_names[i], sum->wl_counts[i]);
    if (sum->widened > 0)
        fprintf(stderr, "  %zu published wider than their origin's audience or a copy held here "
                        "(--widen-audience)\n", sum->widened);
    if (sum->skipped[R_NARROWER_HELD] + sum->skipped[R_NARROWER_SOURCE] > 0)
        fprintf(stderr, "  not published wider than their origin's audience or lower than its "
                        "TLP: give the same --community/--to, or --widen-audience to do it\n");
    size_t i;
    const json_t *v;
    json_array_foreach(sum->invalid_list, i, v) {
        fprintf(stderr, "  invalid: %s (%s)\n", json_string_value(json_object_get(v, "reason")),
                json_string_value(json_object_get(v, "where")));
    }
    if (sum->invalid > json_array_size(sum->invalid_list))
        fprintf(stderr, "  ... and %zu more invalid\n",
                sum->invalid - json_array_size(sum->invalid_list));
}

static void print_json_summary(const struct import_args *a, const struct summary *sum)
{
    json_t *skipped = json_object(), *wl = json_object();
    for (int r = 0; r < R_COUNT; r++)
        json_object_set_new(skipped, reason_names[r], json_integer((json_int_t)sum->skipped[r]));
    for (size_t i = 0; i < sum->n_wl; i++)
        json_object_set_new(wl, sum->wl_names[i], json_integer((json_int_t)sum->wl_counts[i]));
    json_t *o = json_pack("{s:s, s:s, s:b, s:I, s:I, s:I, s:I, s:I, s:o, s:o, s:I, s:O}", "file",
                          a->path, "format", a->format, "dry_run", a->dry_run, "candidates",
                          (json_int_t)sum->candidates, "imported", (json_int_t)sum->imported,
                          "widened", (json_int_t)sum->widened,
                          "already_present", (json_int_t)sum->present, "skipped_total",
                          (json_int_t)skipped_total(sum), "skipped", skipped, "warninglists",
                          wl, "invalid", (json_int_t)sum->invalid, "invalid_values",
                          sum->invalid_list);
    char *txt = o ? json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
    if (txt)
        puts(txt);
    free(txt);
    json_decref(o);
}

/* --- records --- */

/* Fills a record of ours for an OK candidate at the given TLP. */
static void build_record(const struct import_item *it, int tlp, const struct cli_node *node,
                         const struct proto_audience *aud, uint64_t now, struct proto_record *r)
{
    assert(it->status == IMPORT_OK && proto_tlp_valid(tlp));
    /* An indicator's encoding and indexes read no byte of the union past u.ind: zeroing the
     * rest (a roster's 19 KB) was a quarter of the deciding thread's time. */
    memset(r, 0, offsetof(struct proto_record, u) + sizeof r->u.ind);
    r->version = PROTO_RECORD_VERSION;
    r->kind = PROTO_KIND_INDICATOR;
    r->tlp = (uint8_t)tlp;
    r->created_ms = now;
    memcpy(r->origin, node->id.sign_pk, LIMIT_KEY_BYTES);
    r->audience = *aud;
    struct proto_indicator *in = &r->u.ind;
    in->type = (uint8_t)it->itype;
    in->confidence = 50;
    in->valid_until_ms = it->valid_until_ms ? it->valid_until_ms
                                            : now + cli_default_validity_ms(it->itype);
    snprintf(in->value, sizeof in->value, "%s", it->value);
    if (it->comment)
        snprintf(in->comment, sizeof in->comment, "%s", it->comment);
    for (size_t i = 0; i < it->n_tags; i++)
        snprintf(in->tags[i], sizeof in->tags[i], "%s", it->tags[i]);
    in->n_tags = (uint8_t)it->n_tags;
    proto_record_normalise_sets(r);
}

/* --- never wider than the origin meant (docs/SHARING.md "Imports and round trips") --- */

static bool has_community(const struct proto_audience *a, const char *name)
{
    for (size_t i = 0; i < a->n_communities; i++)
        if (strcmp(a->communities[i], name) == 0)
            return true;
    return false;
}

static bool has_recipient(const struct proto_audience *a, const uint8_t key[LIMIT_KEY_BYTES])
{
    for (size_t i = 0; i < a->n_recipients; i++)
        if (memcmp(a->recipients[i], key, LIMIT_KEY_BYTES) == 0)
            return true;
    return false;
}

/* Does audience c reach nobody that h does not? The default audience (h empty) is the whole
 * network; otherwise every community and recipient of c must be one of h's. Conservative: a
 * recipient of c who is a member of one of h's communities still counts as wider. */
static bool aud_within(const struct proto_audience *c, const struct proto_audience *h)
{
    if (h->n_communities == 0 && h->n_recipients == 0)
        return true;
    if (c->n_communities == 0 && c->n_recipients == 0)
        return false;
    for (size_t i = 0; i < c->n_communities; i++)
        if (!has_community(h, c->communities[i]))
            return false;
    for (size_t i = 0; i < c->n_recipients; i++)
        if (!has_recipient(h, c->recipients[i]))
            return false;
    return true;
}

struct held_ctx {
    struct store *st;
    const struct proto_record *want;
    uint64_t now;
    struct cli_shown *shown; /* scratch */
    bool held, fits;
};

/* A live copy of want's indicator, any origin: is want within its TLP and audience? */
static int held_cb(const uint8_t id[LIMIT_ID_BYTES], const uint8_t *signed_rec, size_t len,
                   uint64_t seq, void *ctx)
{
    struct held_ctx *h = ctx;
    struct cli_shown *s = h->shown;
    if (cli_load_shown(h->st, id, signed_rec, len, seq, h->now, s) != PROTO_OK || s->revoked ||
        s->expired)
        return 0;
    h->held = true;
    h->fits = h->want->tlp >= s->rec.tlp && aud_within(&h->want->audience, &s->rec.audience);
    return h->fits ? 1 : 0;
}

enum held_verdict { HELD_NONE, HELD_SAME_RECORD, HELD_NARROWER, SOURCE_NARROWER, HELD_WIDEN };

struct run {
    const struct import_args *a;
    struct cli_node *node;
    const struct warninglist_set *wl;
    const struct proto_audience *aud;
    int tlp_floor;
    uint64_t now;
    struct seen seen;
    struct cli_import_pipe pipe;
    struct store_bulk *bulk;
    /* results of the batches put since the last commit, counted into sum once it commits */
    size_t pend_added, pend_present, pend_revoked, pend_end;
    struct summary *sum;
    struct cli_shown *shown; /* scratch for held_cb */
    bool bar;                /* a progress bar on stderr (a terminal) */
    size_t pos, total;       /* candidates looked at, in all */
    uint64_t t0_ms;          /* monotonic start, for rate and ETA */
};

static void progress(struct run *ru, size_t pos, bool final);

/* What the batches put since the last commit did, now durable: into the summary. */
static void pending_committed(struct run *ru)
{
    ru->sum->imported += ru->pend_added;
    ru->sum->present += ru->pend_present;
    ru->sum->skipped[R_REVOKED_HERE] += ru->pend_revoked;
    ru->pend_added = ru->pend_present = ru->pend_revoked = 0;
    progress(ru, ru->pend_end, false);
}

/* A failed batch (the batches before it stay pending, committed after), or a failed commit of
 * what was pending. */
static void store_failed(struct run *ru, int rc, bool batch, size_t n)
{
    if (batch)
        cli_error("import", "store %s: %s (this batch of %zu records was not stored)",
                  ru->node->cfg.data_dir, store_strerror(rc), n);
    else
        cli_error("import", "store %s: %s (the %zu new records put since the last commit were not "
                  "stored)", ru->node->cfg.data_dir, store_strerror(rc), n);
}

/* The pipe's store function: the batch into the bulk write; counted only once committed, so
 * what the summary and the progress bar call imported is stored. */
static int batch_commit(void *ctx, const struct cli_import_batch *b)
{
    struct run *ru = ctx;
    for (size_t i = 0; i < b->n; i++) {
        if (b->lens[i] < 0) {
            /* Every field was validated on the way in: this is a bug, not bad input. */
            const struct proto_indicator *in = &b->recs[i].u.ind;
            cli_error("import", "cannot encode %s '%s': %s", proto_itype_name(in->type),
                      in->value, proto_strerror(b->lens[i]));
            return CLI_FAIL;
        }
    }
    bool committed = false;
    const int rc = store_bulk_put(ru->bulk, b->puts, b->n, &committed);
    if (rc != STORE_OK) {
        store_failed(ru, rc, true, b->n);
        return CLI_FAIL;
    }
    for (size_t i = 0; i < b->n; i++) {
        if (b->puts[i].result == STORE_PUT_ADDED)
            ru->pend_added++;
        else if (b->puts[i].result == STORE_PUT_DUPLICATE)
            ru->pend_present++;
        else
            ru->pend_revoked++;
    }
    ru->pend_end = b->end;
    if (committed)
        pending_committed(ru);
    return CLI_OK;
}

/* Commits what is pending: after the last batch, and after a failed one (the batches put before
 * it are sound, and stay). */
static int bulk_finish(struct run *ru)
{
    const int rc = store_bulk_end(ru->bulk, true); /* none in a dry run */
    ru->bulk = NULL;
    if (rc != STORE_OK) {
        store_failed(ru, rc, false, ru->pend_added);
        return CLI_FAIL;
    }
    pending_committed(ru);
    return CLI_OK;
}

/* The record r would be, against what the source says and what this node holds: a negative
 * store_err, or an enum held_verdict; *live: a live copy of the value is held. Wider than either: HELD_WIDEN with --widen-audience, else
 * refused. Not wider, and the very record of a tlpmesh export is here: re-signing it would
 * only copy it. */
static int held_verdict(struct run *ru, const struct import_item *it, const struct proto_record *r,
                        bool *live)
{
    const struct import_provenance *p = it->prov;
    struct held_ctx h = {.st = ru->node->store, .want = r, .now = ru->now, .shown = ru->shown};
    int rc = store_find_exact(ru->node->store, r->u.ind.type, r->u.ind.value, held_cb, &h);
    if (rc < 0)
        return rc;
    *live = h.held;
    int v = h.held && !h.fits ? HELD_NARROWER : HELD_NONE;
    if (v == HELD_NONE && p && p->has_audience && !aud_within(&r->audience, &p->audience))
        v = SOURCE_NARROWER;
    if (v != HELD_NONE)
        return ru->a->widen ? HELD_WIDEN : v;
    rc = p && p->has_id ? store_has(ru->node->store, p->record_id) : 0;
    return rc < 0 ? rc : rc == 1 ? HELD_SAME_RECORD : HELD_NONE;
}

/* One OK candidate: decide, then queue it for the batch (or count it). */
static int take(struct run *ru, const struct import_item *it)
{
    struct summary *sum = ru->sum;
    const int tlp = it->tlp > ru->tlp_floor ? it->tlp : ru->tlp_floor;
    const char *hit;
    if (tlp < 0) {
        sum->skipped[R_NO_TLP]++; /* others in this file have one (cli_import): never guessed */
    } else if (tlp == PROTO_TLP_RED && ru->aud->n_recipients == 0) {
        sum->skipped[R_RED_NO_TO]++;
    } else if (it->valid_until_ms && it->valid_until_ms <= ru->now) {
        sum->skipped[R_EXPIRED]++;
    } else if (!ru->a->force && (hit = warninglist_match(ru->wl, it->itype, it->value))) {
        note_warninglist(sum, hit);
    } else if (seen_add(&ru->seen, it->itype, tlp, it->value)) {
        sum->skipped[R_DUP_INPUT]++;
    } else {
        struct proto_record *r = cli_import_pipe_slot(&ru->pipe);
        build_record(it, tlp, ru->node, ru->aud, ru->now, r);
        uint8_t id[LIMIT_ID_BYTES];
        bool live = false;
        const int held = held_verdict(ru, it, r, &live);
        /* a duplicate is a live copy: none of the value at all (most of a bulk import) spares
         * the second lookup */
        const int frc = held < 0 ? held
                        : live   ? cli_find_duplicate(ru->node->store, r, ru->now, id)
                                 : 0;
        if (frc < 0) {
            cli_error("import", "store %s: %s", ru->node->cfg.data_dir, store_strerror(frc));
            return CLI_FAIL;
        }
        if (held == HELD_NARROWER || held == SOURCE_NARROWER) {
            sum->skipped[held == HELD_NARROWER ? R_NARROWER_HELD : R_NARROWER_SOURCE]++;
        } else if (frc == 1 || held == HELD_SAME_RECORD) {
            sum->present++;
        } else if (ru->a->dry_run) {
            sum->imported++;
            sum->widened += held == HELD_WIDEN;
        } else {
            sum->widened += held == HELD_WIDEN;
            /* signed with the rest of its batch, on every core */
            return cli_import_pipe_push(&ru->pipe, cli_now_ms() * 1000, ru->pos);
        }
    }
    return CLI_OK;
}

static uint64_t mono_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

/* "importing [#####.....] 41% 412288/1000000 candidates, 30123/s, ETA 0:19" after each commit:
 * the candidates before pos are decided and, when imported, stored. */
static void progress(struct run *ru, size_t pos, bool final)
{
    if (!ru->bar)
        return;
    enum { WIDTH = 30 };
    const double secs = (double)(mono_ms() - ru->t0_ms) / 1000.0;
    const double rate = secs > 0 ? (double)pos / secs : 0;
    const size_t left = ru->total - pos;
    const unsigned eta = rate > 0 ? (unsigned)((double)left / rate + 0.5) : 0;
    const size_t fill = ru->total ? pos * WIDTH / ru->total : WIDTH;
    char bar[WIDTH + 1];
    for (size_t i = 0; i < WIDTH; i++)
        bar[i] = i < fill ? '#' : '.';
    bar[WIDTH] = 0;
    fprintf(stderr, "\rimporting [%s] %3zu%% %zu/%zu candidates, %.0f/s, ETA %u:%02u%s", bar,
            ru->total ? pos * 100 / ru->total : 100, pos, ru->total, rate, eta / 60,
            eta % 60, final ? "\n" : "");
}

static int process(struct run *ru, const struct import_list *l)
{
    ru->bar = isatty(STDERR_FILENO) && l->n >= LIMIT_IMPORT_BATCH;
    ru->total = l->n;
    ru->t0_ms = mono_ms();
    int rc = CLI_OK;
    for (size_t i = 0; i < l->n && rc == CLI_OK; i++) {
        const struct import_item *it = &l->items[i];
        ru->pos = i + 1;
        switch (it->status) {
        case IMPORT_OK: rc = take(ru, it); break;
        case IMPORT_INVALID: note_invalid(ru->sum, it); break;
        case IMPORT_SKIP_NOT_IDS: ru->sum->skipped[R_NOT_IDS]++; break;
        case IMPORT_SKIP_REVOKED: ru->sum->skipped[R_REVOKED]++; break;
        case IMPORT_SKIP_NOT_INDICATOR: ru->sum->skipped[R_NOT_INDICATOR]++; break;
        default: ru->sum->skipped[R_UNSUPPORTED]++; break;
        }
    }
    if (rc == CLI_OK)
        rc = cli_import_pipe_finish(&ru->pipe, l->n);
    const int frc = bulk_finish(ru);
    rc = rc == CLI_OK ? frc : rc;
    if (rc == CLI_OK)
        progress(ru, l->n, true);
    else if (ru->bar)
        fputc('\n', stderr);
    return rc;
}

/* "no TLP in FILE and no --tlp given" when no candidate has one (a text list, a CSV): refuse
 * before anything is stored. When some have, the others are skipped and counted. */
static bool any_has_tlp(const struct import_list *l)
{
    size_t ok = 0;
    for (size_t i = 0; i < l->n; i++) {
        if (l->items[i].status != IMPORT_OK)
            continue;
        ok++;
        if (l->items[i].tlp >= 0)
            return true;
    }
    return ok == 0;
}

static int run_import(const struct import_args *a, struct cli_node *node,
                      const struct import_list *l, int tlp_floor, struct summary *sum)
{
    struct proto_audience aud = {0};
    struct warninglist_set wl;
    warninglist_set_init(&wl);
    struct run ru = {.a = a, .node = node, .wl = &wl, .aud = &aud, .tlp_floor = tlp_floor,
                     .now = cli_now_ms(), .sum = sum};
    int rc = cli_build_audience("import", a->communities, a->n_communities, a->to, a->n_to, &aud);
    if (rc == CLI_OK && !a->force)
        rc = cli_load_warninglists("import", &node->cfg, a->warninglists, a->n_warninglists, &wl);
    if (rc != CLI_OK)
        goto out;
    {
        /* sort audience lists once, as every record of this import shares them */
        struct proto_record tmp = {.audience = aud};
        proto_record_normalise_sets(&tmp);
        aud = tmp.audience;
    }
    ru.shown = malloc(sizeof *ru.shown);
    const bool piped = cli_import_pipe_init(&ru.pipe, &node->id, batch_commit, &ru);
    if (!piped || !ru.shown || !seen_init(&ru.seen, l->n)) {
        cli_error("import", "out of memory");
        rc = CLI_FAIL;
        goto out;
    }
    const int brc = a->dry_run ? STORE_OK : store_bulk_begin(node->store, &ru.bulk);
    if (brc != STORE_OK) {
        cli_error("import", "store %s: %s", node->cfg.data_dir, store_strerror(brc));
        rc = CLI_FAIL;
        goto out;
    }
    rc = process(&ru, l);
    if (sum->imported > 0 && !a->dry_run)
        cli_notify_node(&node->cfg);
out:
    free(ru.seen.slots);
    cli_import_pipe_free(&ru.pipe);
    free(ru.shown);
    warninglist_set_free(&wl);
    return rc;
}

int cli_import(int argc, char **argv)
{
    struct import_args a = {0};
    struct import_opts o;
    int tlp_floor, rc = parse_args(argc, argv, &a);
    if (rc != CLI_OK || (rc = check_args(&a, &o, &tlp_floor)) != CLI_OK)
        return rc;
    struct import_list l;
    import_list_init(&l);
    struct summary sum = {.invalid_list = json_array()};
    char why[1024] = "";
    const int prc = import_path(a.path, &o, &l, why, sizeof why);
    if (prc != 0) {
        cli_error("import", "%s", why[0] ? why : import_strerror(prc));
        rc = CLI_USAGE;
        goto out_list;
    }
    if (tlp_floor < 0 && !any_has_tlp(&l)) {
        cli_error("import", "no TLP in %s and no --tlp given", a.path);
        rc = CLI_USAGE;
        goto out_list;
    }
    sum.candidates = l.n;
    struct cli_node node;
    if ((rc = cli_open("import", a.conf, CLI_OPEN_KEY | CLI_OPEN_STORE_RW, &node)) != CLI_OK)
        goto out_list;
    rc = run_import(&a, &node, &l, tlp_floor, &sum);
    cli_close(&node);
    if (rc == CLI_OK) {
        print_summary(&a, &sum);
        if (a.json)
            print_json_summary(&a, &sum);
    }
out_list:
    json_decref(sum.invalid_list);
    import_list_free(&l);
    return rc;
}
