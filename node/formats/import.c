/* import.c - MISP, MISP feed, STIX 2.1, CSV and text files -> indicator candidates (import.h):
 * the list, candidates, MISP's type map, files and feeds (the parts: import_int.h). */
#include "node/formats/import.h"

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <jansson.h>

#include "node/formats/import_int.h"
#include "node/formats/mispmap.h"
#include "proto/indicator.h"
#include "proto/record.h"
#include "proto/tlp.h"

static const char truncated_note[] = " [truncated]";

const char *import_strerror(int err)
{
    switch (err) {
    IMPORT_ERRORS(ERRORS_CASE)
    default: return "unknown import error";
    }
}

const char *import_status_name(int status)
{
    static const char *const names[IMPORT_STATUS_COUNT] = {
        [IMPORT_OK] = "ok",
        [IMPORT_INVALID] = "invalid",
        [IMPORT_SKIP_UNSUPPORTED] = "unsupported type",
        [IMPORT_SKIP_NOT_IDS] = "not to_ids",
        [IMPORT_SKIP_REVOKED] = "revoked in source",
        [IMPORT_SKIP_NOT_INDICATOR] = "not an indicator",
    };
    return status >= 0 && status < IMPORT_STATUS_COUNT ? names[status] : "?";
}

int import_format_parse(const char *name)
{
    static const char *const names[] = {[IMPORT_MISP] = "misp", [IMPORT_MISP_FEED] = "misp-feed",
                                        [IMPORT_STIX] = "stix", [IMPORT_CSV] = "csv",
                                        [IMPORT_TEXT] = "text"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strcmp(name, names[i]) == 0)
            return (int)i;
    }
    return -1;
}

/* --- the list --- */

void import_list_init(struct import_list *l)
{
    memset(l, 0, sizeof *l);
}

static void item_free(struct import_item *it)
{
    free(it->src_type);
    free(it->value);
    free(it->comment);
    free(it->why);
    free(it->where);
    for (size_t i = 0; i < it->n_tags; i++)
        free(it->tags[i]);
    free(it->prov);
}

/* Drops items[keep..n): undoes a failed parse so that the caller's list is as it was. */
static void list_truncate(struct import_list *l, size_t keep)
{
    assert(keep <= l->n);
    for (size_t i = keep; i < l->n; i++)
        item_free(&l->items[i]);
    l->n = keep;
}

void import_list_free(struct import_list *l)
{
    list_truncate(l, 0);
    free(l->items);
    memset(l, 0, sizeof *l);
}

/* --- one parse (struct ctx, struct meta: import_int.h) --- */

int import_fail(struct ctx *c, int err, const char *fmt, ...)
{
    if (c->err)
        return c->err;
    c->err = err;
    if (c->why && c->wl) {
        int n = snprintf(c->why, c->wl, "%s: ", c->name);
        if (n >= 0 && (size_t)n < c->wl) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(c->why + n, c->wl - (size_t)n, fmt, ap);
            va_end(ap);
        }
    }
    return err;
}

/* Control characters (C0, DEL, C1; tab and newline too when !free_text) become spaces and bytes
 * that are not valid UTF-8 (CSV and text files are not checked by a JSON parser) become '?', so
 * that a comment or tag from a file always passes the record's text rules. */
static void scrub(char *s, bool free_text)
{
    for (unsigned char *p = (unsigned char *)s; *p;) {
        const size_t n = proto_utf8_char((const char *)p, strnlen((const char *)p, 4));
        if (n == 0) {
            *p++ = '?';
            continue;
        }
        if (n == 1 && !((*p == '\t' || *p == '\n') && free_text) && (*p < 0x20 || *p == 0x7f))
            *p = ' ';
        else if (n == 2 && *p == 0xc2 && p[1] <= 0x9f)
            p[0] = p[1] = ' ';
        p += n;
    }
}

/* "INFO: comment", cut to LIMIT_COMMENT_BYTES on a UTF-8 boundary with a note. */
static char *build_comment(const struct meta *m)
{
    const char *info = m->prefix && m->prefix[0] ? m->prefix : NULL;
    const char *cm = m->comment && m->comment[0] ? m->comment : NULL;
    if (!info && !cm)
        return NULL;
    const size_t need = (info ? strlen(info) : 0) + (cm ? strlen(cm) : 0) + 16;
    char *s = malloc(need);
    if (!s)
        return NULL;
    snprintf(s, need, "%s%s%s", info ? info : "", info && cm ? ": " : "", cm ? cm : "");
    scrub(s, true);
    if (strlen(s) > LIMIT_COMMENT_BYTES) {
        size_t cut = LIMIT_COMMENT_BYTES - (sizeof truncated_note - 1);
        while (cut > 0 && ((unsigned char)s[cut] & 0xc0) == 0x80)
            cut--;
        memcpy(s + cut, truncated_note, sizeof truncated_note);
    }
    return s;
}

static struct import_item *new_item(struct ctx *c)
{
    struct import_list *l = c->out;
    if (l->n >= LIMIT_IMPORT_ITEMS) {
        import_fail(c, IMPORT_E_LIMIT, "more than %d candidates in one import", LIMIT_IMPORT_ITEMS);
        return NULL;
    }
    if (l->n == l->cap) {
        const size_t cap = l->cap ? 2 * l->cap : 64;
        struct import_item *g = realloc(l->items, cap * sizeof *g);
        if (!g) {
            import_fail(c, IMPORT_E_NOMEM, "out of memory");
            return NULL;
        }
        l->items = g;
        l->cap = cap;
    }
    struct import_item *it = &l->items[l->n++];
    memset(it, 0, sizeof *it);
    it->itype = -1;
    it->tlp = -1;
    return it;
}

/* Appends a skipped entry (unsupported, not to_ids, revoked): counted, never dropped silently. */
void import_add_skip(struct ctx *c, int status, const char *src_type, const char *value,
                     const char *why, const char *where)
{
    struct import_item *it = new_item(c);
    if (!it)
        return;
    it->status = status;
    it->src_type = strdup(src_type);
    it->value = strdup(value);
    it->why = strdup(why);
    it->where = strdup(where);
    if (!it->src_type || !it->value || !it->why || !it->where)
        import_fail(c, IMPORT_E_NOMEM, "out of memory");
}

/* Appends a candidate of type itype: normalised (OK) or refused with the reason (INVALID). */
void import_add_candidate(struct ctx *c, const char *src_type, int itype, const char *raw,
                          const struct meta *m, const char *where)
{
    struct import_item *it = new_item(c);
    if (!it)
        return;
    it->itype = itype;
    it->tlp = m->tlp;
    it->valid_until_ms = m->valid_until_ms;
    it->src_type = strdup(src_type);
    it->where = strdup(where);
    it->comment = build_comment(m);
    char norm[LIMIT_VALUE_BYTES + 1], why[384] = "";
    int rc = proto_indicator_normalise(itype, raw, norm, sizeof norm, why, sizeof why);
    if (rc == 0 && m->bad_tlp) {
        rc = PROTO_E_RANGE;
        snprintf(why, sizeof why, "TLP tag '%.64s' is not one of clear, white, green, amber, "
                                  "amber+strict, red", m->bad_tlp);
    }
    if (rc == 0 && m->bad_prov) {
        rc = PROTO_E_RANGE;
        snprintf(why, sizeof why, "%s", m->bad_prov);
    }
    if (rc == 0 && m->prov && (it->prov = malloc(sizeof *it->prov)) != NULL)
        memcpy(it->prov, m->prov, sizeof *it->prov);
    it->status = rc == 0 ? IMPORT_OK : IMPORT_INVALID;
    it->value = strdup(rc == 0 ? norm : raw);
    it->why = rc == 0 ? NULL : strdup(why);
    for (size_t i = 0; i < m->n_tags; i++) {
        if (!(it->tags[it->n_tags] = strdup(m->tags[i])))
            break;
        scrub(it->tags[it->n_tags++], false);
    }
    if (!it->src_type || !it->where || !it->value || (rc && !it->why) ||
        it->n_tags != m->n_tags || (rc == 0 && m->prov && !it->prov))
        import_fail(c, IMPORT_E_NOMEM, "out of memory");
}

/* --- reading files --- */

static int read_file(struct ctx *c, const char *path, char **buf, size_t *len)
{
    *buf = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return import_fail(c, IMPORT_E_IO, "%s", strerror(errno));
    struct stat st;
    int rc = 0;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        rc = import_fail(c, IMPORT_E_IO, "not a regular file");
    } else if (st.st_size > LIMIT_IMPORT_FILE_BYTES) {
        rc = import_fail(c, IMPORT_E_LIMIT, "larger than %d bytes", LIMIT_IMPORT_FILE_BYTES);
    } else if (!(*buf = malloc((size_t)st.st_size + 1))) {
        rc = import_fail(c, IMPORT_E_NOMEM, "out of memory");
    } else if (fread(*buf, 1, (size_t)st.st_size, f) != (size_t)st.st_size) {
        rc = import_fail(c, IMPORT_E_IO, "read error");
    } else {
        (*buf)[st.st_size] = '\0';
        *len = (size_t)st.st_size;
    }
    fclose(f);
    if (rc) {
        free(*buf);
        *buf = NULL;
    }
    return rc;
}

json_t *import_load_json(struct ctx *c, const char *data, size_t len)
{
    json_error_t e;
    json_t *root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &e);
    if (!root)
        import_fail(c, IMPORT_E_FORMAT, "not valid JSON at line %d column %d: %s", e.line, e.column,
                    e.text);
    return root;
}

/* --- MISP --- */

/* One MISP-typed value (MISP attribute, or a CSV line with a type) -> candidates (mispmap.h). */
void import_add_misp_value(struct ctx *c, const char *type, const char *value, bool to_ids,
                           const struct meta *m, const char *where)
{
    struct mispmap_in mm;
    if (!mispmap_lookup(type, &mm)) {
        import_add_skip(c, IMPORT_SKIP_UNSUPPORTED, type, value, "unsupported type", where);
        return;
    }
    if (mm.mode == MISPMAP_NOT_INDICATOR) {
        import_add_skip(c, IMPORT_SKIP_NOT_INDICATOR, type, value, "not an indicator", where);
        return;
    }
    if (!to_ids && !c->opts->include_non_ids) {
        import_add_skip(c, IMPORT_SKIP_NOT_IDS, type, value, "to_ids is false", where);
        return;
    }
    if (mm.mode == MISPMAP_URI && !strstr(value, "://")) {
        import_add_skip(c, IMPORT_SKIP_UNSUPPORTED, type, value, "relative uri", where);
        return;
    }
    /* A pair: the separator is the last '|' (an IPv6 address has none, a file name may). */
    const char *bar = mm.mode == MISPMAP_SPLIT ? strrchr(value, '|') : NULL;
    if (!bar) {
        import_add_candidate(c, type, mm.types[0], value, m, where);
        return;
    }
    char *first = strndup(value, (size_t)(bar - value));
    if (!first) {
        import_fail(c, IMPORT_E_NOMEM, "out of memory");
        return;
    }
    import_add_candidate(c, type, mm.types[0], first, m, where);
    import_add_candidate(c, type, mm.types[1], bar + 1, m, where);
    free(first);
}

/* --- entry points --- */

static void parse_buffer(struct ctx *c, const char *data, size_t len)
{
    switch (c->opts->format) {
    case IMPORT_CSV: import_csv_parse(c, data, len); return;
    case IMPORT_TEXT: import_text_parse(c, data, len); return;
    case IMPORT_MISP:
    case IMPORT_MISP_FEED: /* one event file of a feed */
    case IMPORT_STIX: break;
    }
    json_t *root = import_load_json(c, data, len);
    if (!root)
        return;
    if (!json_is_object(root))
        import_fail(c, IMPORT_E_FORMAT, "the top level is not a JSON object");
    else if (c->opts->format == IMPORT_STIX)
        import_stix_bundle(c, root);
    else
        import_misp_event(c, root);
    json_decref(root);
}

static void parse_file(struct ctx *c, const char *path)
{
    char *buf;
    size_t len;
    if (read_file(c, path, &buf, &len) == 0)
        parse_buffer(c, buf, len);
    free(buf);
}

static int cmp_key(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A feed event uuid becomes a file name: hex and '-' only, so "../x" cannot. */
static bool uuid_like(const char *s)
{
    return s[0] && strlen(s) <= 64 && strspn(s, "0123456789abcdefABCDEF-") == strlen(s);
}

static void feed_parse(struct ctx *c, const char *dir)
{
    char path[LIMIT_PATH_BYTES];
    snprintf(path, sizeof path, "%s/manifest.json", dir);
    c->name = path;
    char *buf;
    size_t len;
    if (read_file(c, path, &buf, &len) != 0)
        return;
    json_t *man = import_load_json(c, buf, len);
    free(buf);
    if (!man)
        return;
    const char **keys = NULL;
    size_t n = json_object_size(man), k = 0;
    if (!json_is_object(man)) {
        import_fail(c, IMPORT_E_FORMAT, "not a MISP feed manifest (an object keyed by event uuid)");
    } else if (n > LIMIT_IMPORT_FEED_EVENTS) {
        import_fail(c, IMPORT_E_LIMIT, "more than %d events", LIMIT_IMPORT_FEED_EVENTS);
    } else if (!(keys = calloc(n ? n : 1, sizeof *keys))) {
        import_fail(c, IMPORT_E_NOMEM, "out of memory");
    } else {
        const char *key;
        const json_t *v;
        json_object_foreach(man, key, v) {
            if (!uuid_like(key)) {
                import_fail(c, IMPORT_E_FORMAT, "event key '%.64s' is not a uuid", key);
                break;
            }
            keys[k++] = key;
        }
        qsort(keys, k, sizeof *keys, cmp_key); /* one order, whatever the JSON's */
    }
    char evpath[LIMIT_PATH_BYTES];
    for (size_t i = 0; i < k && !c->err; i++) {
        snprintf(evpath, sizeof evpath, "%s/%s.json", dir, keys[i]);
        c->name = evpath;
        parse_file(c, evpath);
    }
    free(keys);
    json_decref(man);
}

static int finish(struct ctx *c, size_t keep)
{
    if (c->err)
        list_truncate(c->out, keep);
    return c->err;
}

int import_buffer(const char *data, size_t len, const char *name, const struct import_opts *opts,
                  struct import_list *out, char *why, size_t why_len)
{
    assert(data != NULL && name != NULL && opts != NULL && out != NULL);
    struct ctx c = {.out = out, .opts = opts, .name = name, .why = why, .wl = why_len};
    const size_t keep = out->n;
    if (opts->format == IMPORT_MISP_FEED)
        import_fail(&c, IMPORT_E_USAGE, "a MISP feed is a directory: use import_path");
    else
        parse_buffer(&c, data, len);
    return finish(&c, keep);
}

int import_path(const char *path, const struct import_opts *opts, struct import_list *out,
                char *why, size_t why_len)
{
    assert(path != NULL && opts != NULL && out != NULL);
    struct ctx c = {.out = out, .opts = opts, .name = path, .why = why, .wl = why_len};
    const size_t keep = out->n;
    if (opts->format == IMPORT_MISP_FEED) {
        struct stat st;
        if (stat(path, &st) != 0)
            import_fail(&c, IMPORT_E_IO, "%s", strerror(errno));
        else if (!S_ISDIR(st.st_mode))
            import_fail(&c, IMPORT_E_USAGE, "a MISP feed is a directory with manifest.json");
        else
            feed_parse(&c, path);
    } else {
        parse_file(&c, path);
    }
    return finish(&c, keep);
}
