/* import.c - MISP, MISP feed, STIX 2.1, CSV and text files -> indicator candidates (import.h). */
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

#include "node/formats/stixmap.h"
#include "node/formats/timefmt.h"
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

/* --- one parse --- */

/* What every parser carries: where the output goes, the name for messages, the first error. */
struct ctx {
    struct import_list *out;
    const struct import_opts *opts;
    const char *name;
    char *why;
    size_t wl;
    int err;
};

__attribute__((format(printf, 3, 4))) static int fail(struct ctx *c, int err, const char *fmt, ...)
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

/* Source-level facts shared by the candidates of one attribute or indicator. */
struct meta {
    int tlp;              /* -1: none */
    const char *bad_tlp;  /* a tlp: tag we cannot place */
    const char *prefix;   /* event info; NULL if none */
    const char *comment;  /* attribute comment / STIX description */
    const char *tags[LIMIT_TAGS];
    size_t n_tags;
    uint64_t valid_until_ms;
};

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

/* "INFO: comment (port N)", cut to LIMIT_COMMENT_BYTES on a UTF-8 boundary with a note. */
static char *build_comment(const struct meta *m, const char *port)
{
    const char *info = m->prefix && m->prefix[0] ? m->prefix : NULL;
    const char *cm = m->comment && m->comment[0] ? m->comment : NULL;
    if (!info && !cm && !port)
        return NULL;
    const size_t need = (info ? strlen(info) : 0) + (cm ? strlen(cm) : 0) +
                        (port ? strlen(port) : 0) + 16;
    char *s = malloc(need);
    if (!s)
        return NULL;
    snprintf(s, need, "%s%s%s%s%s%s", info ? info : "", info && cm ? ": " : "", cm ? cm : "",
             (info || cm) && port ? " " : "", port ? "(port " : "", port ? port : "");
    if (port)
        strcat(s, ")");
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
        fail(c, IMPORT_E_LIMIT, "more than %d candidates in one import", LIMIT_IMPORT_ITEMS);
        return NULL;
    }
    if (l->n == l->cap) {
        const size_t cap = l->cap ? 2 * l->cap : 64;
        struct import_item *g = realloc(l->items, cap * sizeof *g);
        if (!g) {
            fail(c, IMPORT_E_NOMEM, "out of memory");
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
static void add_skip(struct ctx *c, int status, const char *src_type, const char *value,
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
        fail(c, IMPORT_E_NOMEM, "out of memory");
}

/* Appends a candidate of type itype: normalised (OK) or refused with the reason (INVALID). */
static void add_candidate(struct ctx *c, const char *src_type, int itype, const char *raw,
                          const struct meta *m, const char *port, const char *where)
{
    struct import_item *it = new_item(c);
    if (!it)
        return;
    it->itype = itype;
    it->tlp = m->tlp;
    it->valid_until_ms = m->valid_until_ms;
    it->src_type = strdup(src_type);
    it->where = strdup(where);
    it->comment = build_comment(m, port);
    char norm[LIMIT_VALUE_BYTES + 1], why[384] = "";
    int rc = proto_indicator_normalise(itype, raw, norm, sizeof norm, why, sizeof why);
    if (rc == 0 && m->bad_tlp) {
        rc = PROTO_E_RANGE;
        snprintf(why, sizeof why, "TLP tag '%.64s' is not one of clear, white, green, amber, "
                                  "amber+strict, red", m->bad_tlp);
    }
    it->status = rc == 0 ? IMPORT_OK : IMPORT_INVALID;
    it->value = strdup(rc == 0 ? norm : raw);
    it->why = rc == 0 ? NULL : strdup(why);
    for (size_t i = 0; i < m->n_tags; i++) {
        if (!(it->tags[it->n_tags] = strdup(m->tags[i])))
            break;
        scrub(it->tags[it->n_tags++], false);
    }
    if (!it->src_type || !it->where || !it->value || (rc && !it->why) ||
        it->n_tags != m->n_tags)
        fail(c, IMPORT_E_NOMEM, "out of memory");
}

/* --- reading files --- */

static int read_file(struct ctx *c, const char *path, char **buf, size_t *len)
{
    *buf = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return fail(c, IMPORT_E_IO, "%s", strerror(errno));
    struct stat st;
    int rc = 0;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        rc = fail(c, IMPORT_E_IO, "not a regular file");
    } else if (st.st_size > LIMIT_IMPORT_FILE_BYTES) {
        rc = fail(c, IMPORT_E_LIMIT, "larger than %d bytes", LIMIT_IMPORT_FILE_BYTES);
    } else if (!(*buf = malloc((size_t)st.st_size + 1))) {
        rc = fail(c, IMPORT_E_NOMEM, "out of memory");
    } else if (fread(*buf, 1, (size_t)st.st_size, f) != (size_t)st.st_size) {
        rc = fail(c, IMPORT_E_IO, "read error");
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

static json_t *load_json(struct ctx *c, const char *data, size_t len)
{
    json_error_t e;
    json_t *root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &e);
    if (!root)
        fail(c, IMPORT_E_FORMAT, "not valid JSON at line %d column %d: %s", e.line, e.column,
             e.text);
    return root;
}

/* --- MISP --- */

enum misp_mode {
    MM_SAME,      /* one value of one type */
    MM_SPLIT,     /* "a|b" -> a of types[0], b of types[1] */
    MM_ADDR_PORT, /* "a|port" -> a of types[0], port in the comment */
    MM_URI,       /* url, if absolute */
};

static const struct misp_map {
    const char *name;
    enum misp_mode mode;
    int types[2];
} misp_maps[] = {
    {"ip-src", MM_SAME, {PROTO_ITYPE_IP_SRC, 0}},
    {"ip-dst", MM_SAME, {PROTO_ITYPE_IP_DST, 0}},
    {"domain", MM_SAME, {PROTO_ITYPE_DOMAIN, 0}},
    {"hostname", MM_SAME, {PROTO_ITYPE_HOSTNAME, 0}},
    {"url", MM_SAME, {PROTO_ITYPE_URL, 0}},
    {"uri", MM_URI, {PROTO_ITYPE_URL, 0}},
    {"email", MM_SAME, {PROTO_ITYPE_EMAIL_SRC, 0}},
    {"email-src", MM_SAME, {PROTO_ITYPE_EMAIL_SRC, 0}},
    {"email-dst", MM_SAME, {PROTO_ITYPE_EMAIL_DST, 0}},
    {"md5", MM_SAME, {PROTO_ITYPE_MD5, 0}},
    {"sha1", MM_SAME, {PROTO_ITYPE_SHA1, 0}},
    {"sha256", MM_SAME, {PROTO_ITYPE_SHA256, 0}},
    {"sha512", MM_SAME, {PROTO_ITYPE_SHA512, 0}},
    {"filename", MM_SAME, {PROTO_ITYPE_FILENAME, 0}},
    {"domain|ip", MM_SPLIT, {PROTO_ITYPE_DOMAIN, PROTO_ITYPE_IP_DST}},
    {"filename|md5", MM_SPLIT, {PROTO_ITYPE_FILENAME, PROTO_ITYPE_MD5}},
    {"filename|sha1", MM_SPLIT, {PROTO_ITYPE_FILENAME, PROTO_ITYPE_SHA1}},
    {"filename|sha256", MM_SPLIT, {PROTO_ITYPE_FILENAME, PROTO_ITYPE_SHA256}},
    {"filename|sha512", MM_SPLIT, {PROTO_ITYPE_FILENAME, PROTO_ITYPE_SHA512}},
    {"malware-sample", MM_SPLIT, {PROTO_ITYPE_FILENAME, PROTO_ITYPE_MD5}},
    {"ip-src|port", MM_ADDR_PORT, {PROTO_ITYPE_IP_SRC, 0}},
    {"ip-dst|port", MM_ADDR_PORT, {PROTO_ITYPE_IP_DST, 0}},
    {"hostname|port", MM_ADDR_PORT, {PROTO_ITYPE_HOSTNAME, 0}},
};

static const struct misp_map *misp_lookup(const char *type)
{
    for (size_t i = 0; i < sizeof misp_maps / sizeof misp_maps[0]; i++) {
        if (strcmp(misp_maps[i].name, type) == 0)
            return &misp_maps[i];
    }
    return NULL;
}

/* One MISP-typed value (MISP attribute, or a CSV line with a type) -> candidates. */
static void add_misp_value(struct ctx *c, const char *type, const char *value, bool to_ids,
                           const struct meta *m, const char *where)
{
    const struct misp_map *mm = misp_lookup(type);
    if (!mm) {
        add_skip(c, IMPORT_SKIP_UNSUPPORTED, type, value, "unsupported type", where);
        return;
    }
    if (!to_ids && !c->opts->include_non_ids) {
        add_skip(c, IMPORT_SKIP_NOT_IDS, type, value, "to_ids is false", where);
        return;
    }
    if (mm->mode == MM_SAME) {
        add_candidate(c, type, mm->types[0], value, m, NULL, where);
        return;
    }
    if (mm->mode == MM_URI) {
        if (!strstr(value, "://"))
            add_skip(c, IMPORT_SKIP_UNSUPPORTED, type, value, "relative uri", where);
        else
            add_candidate(c, type, mm->types[0], value, m, NULL, where);
        return;
    }
    /* Composite: the separator is the last '|' (an IPv6 address has none, a file name may). */
    const char *bar = strrchr(value, '|');
    if (!bar) {
        add_candidate(c, type, mm->types[0], value, m, NULL, where);
        return;
    }
    const size_t n = (size_t)(bar - value);
    char *first = strndup(value, n);
    if (!first) {
        fail(c, IMPORT_E_NOMEM, "out of memory");
        return;
    }
    if (mm->mode == MM_SPLIT) {
        add_candidate(c, type, mm->types[0], first, m, NULL, where);
        add_candidate(c, type, mm->types[1], bar + 1, m, NULL, where);
    } else {
        add_candidate(c, type, mm->types[0], first, m, bar + 1, where);
    }
    free(first);
}

static bool misp_bool(const json_t *v, bool dflt)
{
    if (json_is_boolean(v))
        return json_is_true(v);
    if (json_is_integer(v))
        return json_integer_value(v) != 0;
    const char *s = json_string_value(v);
    if (s)
        return strcmp(s, "1") == 0 || strcasecmp(s, "true") == 0;
    return dflt;
}

/* Reads a MISP Tag array: tlp: tags raise m->tlp (the most restrictive wins), others become tags
 * (bounded; overlong ones dropped). */
static void misp_tags(const json_t *tags, struct meta *m)
{
    size_t i;
    const json_t *t;
    json_array_foreach(tags, i, t) {
        const char *name = json_string_value(json_object_get(t, "name"));
        if (!name || !name[0])
            continue;
        if (strncasecmp(name, "tlp:", 4) == 0) {
            const int lvl = stixmap_tlp_from_name(name);
            if (lvl < 0)
                m->bad_tlp = name;
            else if (lvl > m->tlp)
                m->tlp = lvl;
            continue;
        }
        bool dup = false;
        for (size_t k = 0; k < m->n_tags; k++)
            dup |= strcmp(m->tags[k], name) == 0;
        if (!dup && m->n_tags < LIMIT_TAGS && strlen(name) <= LIMIT_TAG_BYTES)
            m->tags[m->n_tags++] = name;
    }
}

static void misp_attribute(struct ctx *c, const json_t *a, const struct meta *event,
                           const char *where)
{
    const char *type = json_string_value(json_object_get(a, "type"));
    const char *value = json_string_value(json_object_get(a, "value"));
    if (!json_is_object(a) || !type || !value) {
        fail(c, IMPORT_E_FORMAT, "%s is not a MISP attribute (needs \"type\" and \"value\" texts)",
             where);
        return;
    }
    struct meta m = {.tlp = event->tlp, .bad_tlp = event->bad_tlp, .prefix = event->prefix};
    m.comment = json_string_value(json_object_get(a, "comment"));
    misp_tags(json_object_get(a, "Tag"), &m);
    for (size_t i = 0; i < event->n_tags && m.n_tags < LIMIT_TAGS; i++)
        m.tags[m.n_tags++] = event->tags[i];
    char at[512];
    snprintf(at, sizeof at, "%s: %s", c->name, where);
    add_misp_value(c, type, value, misp_bool(json_object_get(a, "to_ids"), true), &m, at);
}

static void misp_attributes(struct ctx *c, const json_t *attrs, const struct meta *event,
                            const char *path)
{
    if (attrs && !json_is_array(attrs)) {
        fail(c, IMPORT_E_FORMAT, "%s is not an array", path);
        return;
    }
    size_t i;
    const json_t *a;
    json_array_foreach(attrs, i, a) {
        char where[128];
        snprintf(where, sizeof where, "%s[%zu]", path, i);
        misp_attribute(c, a, event, where);
        if (c->err)
            return;
    }
}

static void misp_event(struct ctx *c, const json_t *root)
{
    const json_t *ev = json_object_get(root, "Event");
    if (!ev && (json_object_get(root, "Attribute") || json_object_get(root, "Object")))
        ev = root;
    if (!json_is_object(ev)) {
        fail(c, IMPORT_E_FORMAT, "not a MISP event (no \"Event\" object, no \"Attribute\" array)");
        return;
    }
    struct meta m = {.tlp = -1, .prefix = json_string_value(json_object_get(ev, "info"))};
    misp_tags(json_object_get(ev, "Tag"), &m);
    misp_attributes(c, json_object_get(ev, "Attribute"), &m, "Event.Attribute");
    const json_t *objs = json_object_get(ev, "Object");
    if (objs && !json_is_array(objs)) {
        fail(c, IMPORT_E_FORMAT, "Event.Object is not an array");
        return;
    }
    size_t i;
    const json_t *o;
    json_array_foreach(objs, i, o) {
        char path[96];
        snprintf(path, sizeof path, "Event.Object[%zu].Attribute", i);
        misp_attributes(c, json_object_get(o, "Attribute"), &m, path);
        if (c->err)
            return;
    }
}

/* --- STIX --- */

/* A marking ref -> TLP: the fixed ids first, then the bundle's own marking-definitions. */
static int stix_ref_tlp(const char *ref, const json_t *objects)
{
    int lvl = stixmap_tlp_from_marking_id(ref);
    if (lvl >= 0)
        return lvl;
    size_t i;
    const json_t *o;
    json_array_foreach(objects, i, o) {
        const char *id = json_string_value(json_object_get(o, "id"));
        if (id && strcmp(id, ref) == 0)
            return stixmap_tlp_from_marking_object(o);
    }
    return -1;
}

static int stix_tlp(const json_t *ind, const json_t *objects)
{
    int tlp = -1;
    size_t i;
    const json_t *r;
    json_array_foreach(json_object_get(ind, "object_marking_refs"), i, r) {
        const char *ref = json_string_value(r);
        const int lvl = ref ? stix_ref_tlp(ref, objects) : -1;
        tlp = lvl > tlp ? lvl : tlp;
    }
    json_array_foreach(json_object_get(ind, "granular_markings"), i, r) {
        const char *ref = json_string_value(json_object_get(r, "marking_ref"));
        const int lvl = ref ? stix_ref_tlp(ref, objects) : -1;
        tlp = lvl > tlp ? lvl : tlp;
    }
    return tlp;
}

static void stix_indicator(struct ctx *c, const json_t *ind, const json_t *objects, size_t idx,
                           struct stixmap_term *terms)
{
    const char *id = json_string_value(json_object_get(ind, "id"));
    const char *pattern = json_string_value(json_object_get(ind, "pattern"));
    const char *ptype = json_string_value(json_object_get(ind, "pattern_type"));
    char where[256];
    snprintf(where, sizeof where, "%s: %s", c->name, id ? id : "objects[?]");
    if (!id)
        snprintf(where, sizeof where, "%s: objects[%zu]", c->name, idx);
    if (!pattern) {
        fail(c, IMPORT_E_FORMAT, "objects[%zu] is an indicator without a \"pattern\" text", idx);
        return;
    }
    if (ptype && strcmp(ptype, "stix") != 0) {
        add_skip(c, IMPORT_SKIP_UNSUPPORTED, "indicator", pattern, "pattern_type is not stix",
                 where);
        return;
    }
    if (json_is_true(json_object_get(ind, "revoked"))) {
        add_skip(c, IMPORT_SKIP_REVOKED, "indicator", pattern, "revoked in source", where);
        return;
    }
    struct meta m = {.tlp = stix_tlp(ind, objects)};
    m.prefix = json_string_value(json_object_get(ind, "name"));
    m.comment = json_string_value(json_object_get(ind, "description"));
    const char *until = json_string_value(json_object_get(ind, "valid_until"));
    if (until && timefmt_parse_rfc3339(until, &m.valid_until_ms) != TIMEFMT_OK)
        m.valid_until_ms = 0;
    size_t i;
    const json_t *lab;
    json_array_foreach(json_object_get(ind, "labels"), i, lab) {
        const char *s = json_string_value(lab);
        if (s && s[0] && m.n_tags < LIMIT_TAGS && strlen(s) <= LIMIT_TAG_BYTES)
            m.tags[m.n_tags++] = s;
    }
    size_t n = 0;
    char why[256] = "";
    if (stixmap_pattern_parse(pattern, terms, LIMIT_STIX_PATTERN_TERMS, &n, why, sizeof why) !=
        STIXMAP_OK) {
        add_skip(c, IMPORT_SKIP_UNSUPPORTED, "indicator", pattern, why, where);
        return;
    }
    for (i = 0; i < n && !c->err; i++)
        add_candidate(c, proto_itype_name(terms[i].itype), terms[i].itype, terms[i].value, &m,
                      NULL, where);
}

static void stix_bundle(struct ctx *c, json_t *root)
{
    const json_t *objects = json_object_get(root, "objects");
    json_t *single = NULL;
    const char *rtype = json_string_value(json_object_get(root, "type"));
    if (!objects && rtype && strcmp(rtype, "bundle") != 0) {
        single = json_pack("[O]", root); /* one bare STIX object */
        objects = single;
    }
    if (!json_is_array(objects)) {
        fail(c, IMPORT_E_FORMAT, "not a STIX bundle (no \"objects\" array)");
        json_decref(single);
        return;
    }
    /* 130 KiB of pattern terms: once per bundle, not on the stack. */
    struct stixmap_term *terms = calloc(LIMIT_STIX_PATTERN_TERMS, sizeof *terms);
    if (!terms) {
        fail(c, IMPORT_E_NOMEM, "out of memory");
        json_decref(single);
        return;
    }
    size_t i;
    const json_t *o;
    json_array_foreach(objects, i, o) {
        const char *type = json_string_value(json_object_get(o, "type"));
        if (!type) {
            fail(c, IMPORT_E_FORMAT, "objects[%zu] has no \"type\"", i);
            break;
        }
        if (strcmp(type, "indicator") == 0)
            stix_indicator(c, o, objects, i, terms);
        if (c->err)
            break;
    }
    free(terms);
    json_decref(single);
}

/* --- CSV and text --- */

/* One CSV field starting at *p (RFC 4180: "..." with "" for a quote); advances past the
 * delimiter. Returns a malloc'ed copy, or NULL with c->err set. */
static char *csv_field(struct ctx *c, const char **p, const char *end, size_t line, bool *eol)
{
    const char *s = *p;
    size_t cap = 64, n = 0;
    char *out = malloc(cap);
    bool quoted = s < end && *s == '"';
    if (quoted)
        s++;
    for (; out;) {
        if (s >= end) {
            if (quoted) {
                fail(c, IMPORT_E_FORMAT, "line %zu: unterminated quoted field", line);
                free(out);
                return NULL;
            }
            *eol = true;
            break;
        }
        char ch = *s;
        if (quoted && ch == '"') {
            if (s + 1 < end && s[1] == '"') {
                s += 2;
                ch = '"';
            } else {
                quoted = false;
                s++;
                continue;
            }
        } else if (!quoted && (ch == ',' || ch == '\n' || ch == '\r')) {
            *eol = ch != ',';
            s++;
            if (ch == '\r' && s < end && *s == '\n')
                s++;
            break;
        } else {
            s++;
        }
        if (n + 2 > cap) {
            char *g = realloc(out, cap *= 2);
            if (!g) {
                free(out);
                out = NULL;
                break;
            }
            out = g;
        }
        out[n++] = ch;
    }
    if (!out) {
        fail(c, IMPORT_E_NOMEM, "out of memory");
        return NULL;
    }
    out[n] = '\0';
    *p = s;
    return out;
}

struct csv_row {
    char *f[LIMIT_IMPORT_CSV_COLUMNS];
    size_t n;
};

static void row_free(struct csv_row *r)
{
    for (size_t i = 0; i < r->n; i++)
        free(r->f[i]);
    r->n = 0;
}

static int csv_row(struct ctx *c, const char **p, const char *end, size_t line, struct csv_row *r)
{
    bool eol = false;
    r->n = 0;
    while (!eol) {
        if (r->n >= LIMIT_IMPORT_CSV_COLUMNS)
            return fail(c, IMPORT_E_LIMIT, "line %zu: more than %d fields", line,
                        LIMIT_IMPORT_CSV_COLUMNS);
        char *f = csv_field(c, p, end, line, &eol);
        if (!f)
            return c->err;
        r->f[r->n++] = f;
    }
    return 0;
}

static int find_column(const struct csv_row *hdr, const char *name)
{
    for (size_t i = 0; i < hdr->n; i++) {
        if (strcasecmp(hdr->f[i], name) == 0)
            return (int)i;
    }
    return -1;
}

/* Column spec -> 0-based index; a name needs the header. */
static int column_index(struct ctx *c, const char *spec, const struct csv_row *hdr)
{
    if (!spec)
        return 0;
    char *end;
    const long v = strtol(spec, &end, 10);
    if (*spec && !*end) {
        if (v < 1 || v > LIMIT_IMPORT_CSV_COLUMNS)
            return fail(c, IMPORT_E_USAGE, "--column %s is not 1..%d", spec,
                        LIMIT_IMPORT_CSV_COLUMNS);
        return (int)v - 1;
    }
    const int i = hdr ? find_column(hdr, spec) : -1;
    if (i < 0)
        return fail(c, IMPORT_E_USAGE, "no column named '%s' in the header line", spec);
    return i;
}

/* Just past the next newline, or end. The buffer is not NUL-terminated: no str* functions. */
static const char *next_line(const char *p, const char *end)
{
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    return nl ? nl + 1 : end;
}

static void csv_parse(struct ctx *c, const char *data, size_t len)
{
    const char *p = data, *end = data + len;
    const bool by_name = c->opts->column && strspn(c->opts->column, "0123456789") !=
                                                strlen(c->opts->column);
    /* A header line exists when a column is named or the type comes from a "type" column. */
    const bool header = by_name || c->opts->itype < 0;
    struct csv_row hdr = {0}, row = {0};
    int col, tcol = -1, idscol = -1, ccol = -1;
    size_t line = 1;
    while (p < end && *p == '#') /* leading comment lines */
        p = next_line(p, end), line++;
    if (header && csv_row(c, &p, end, line++, &hdr))
        goto out; /* the fields read before the error are in hdr */
    if ((col = column_index(c, c->opts->column, header ? &hdr : NULL)) < 0)
        goto out;
    if (header) {
        tcol = find_column(&hdr, "type");
        idscol = find_column(&hdr, "to_ids");
        ccol = find_column(&hdr, "comment");
    }
    if (c->opts->itype < 0 && tcol < 0) {
        fail(c, IMPORT_E_USAGE, "no --type given and no \"type\" column in the header line");
        goto out;
    }
    while (p < end && !c->err) {
        const size_t here = line++;
        if (*p == '#' || *p == '\n' || *p == '\r') {
            p = next_line(p, end);
            continue;
        }
        if (csv_row(c, &p, end, here, &row))
            break;
        char where[320];
        snprintf(where, sizeof where, "%s:%zu", c->name, here);
        if ((size_t)col >= row.n || (tcol >= 0 && (size_t)tcol >= row.n)) {
            fail(c, IMPORT_E_FORMAT, "line %zu has %zu fields, column %d missing", here, row.n,
                 col + 1);
            break;
        }
        struct meta m = {.tlp = -1};
        if (ccol >= 0 && (size_t)ccol < row.n)
            m.comment = row.f[ccol];
        const bool ids = idscol < 0 || (size_t)idscol >= row.n || row.f[idscol][0] == '\0' ||
                         strcmp(row.f[idscol], "1") == 0 || strcasecmp(row.f[idscol], "true") == 0;
        const char *type = tcol >= 0 && c->opts->itype < 0 ? row.f[tcol]
                                                           : proto_itype_name(c->opts->itype);
        add_misp_value(c, type, row.f[col], ids, &m, where);
        row_free(&row);
    }
out:
    row_free(&row);
    row_free(&hdr);
}

static void text_parse(struct ctx *c, const char *data, size_t len)
{
    if (c->opts->itype < 0) {
        fail(c, IMPORT_E_USAGE, "text input needs --type");
        return;
    }
    const struct meta m = {.tlp = -1};
    const char *p = data, *end = data + len;
    for (size_t line = 1; p < end && !c->err; line++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *e = nl ? nl : end;
        const char *s = p;
        p = nl ? nl + 1 : end;
        while (s < e && (*s == ' ' || *s == '\t'))
            s++;
        while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
            e--;
        if (s == e || *s == '#')
            continue;
        if ((size_t)(e - s) > LIMIT_VALUE_BYTES + 1)
            e = s + LIMIT_VALUE_BYTES + 1; /* normalise refuses it as too long */
        char *v = strndup(s, (size_t)(e - s));
        if (!v) {
            fail(c, IMPORT_E_NOMEM, "out of memory");
            return;
        }
        char where[320];
        snprintf(where, sizeof where, "%s:%zu", c->name, line);
        add_candidate(c, proto_itype_name(c->opts->itype), c->opts->itype, v, &m, NULL, where);
        free(v);
    }
}

/* --- entry points --- */

static void parse_buffer(struct ctx *c, const char *data, size_t len)
{
    switch (c->opts->format) {
    case IMPORT_CSV: csv_parse(c, data, len); return;
    case IMPORT_TEXT: text_parse(c, data, len); return;
    case IMPORT_MISP:
    case IMPORT_MISP_FEED: /* one event file of a feed */
    case IMPORT_STIX: break;
    }
    json_t *root = load_json(c, data, len);
    if (!root)
        return;
    if (!json_is_object(root))
        fail(c, IMPORT_E_FORMAT, "the top level is not a JSON object");
    else if (c->opts->format == IMPORT_STIX)
        stix_bundle(c, root);
    else
        misp_event(c, root);
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
    json_t *man = load_json(c, buf, len);
    free(buf);
    if (!man)
        return;
    const char **keys = NULL;
    size_t n = json_object_size(man), k = 0;
    if (!json_is_object(man)) {
        fail(c, IMPORT_E_FORMAT, "not a MISP feed manifest (an object keyed by event uuid)");
    } else if (n > LIMIT_IMPORT_FEED_EVENTS) {
        fail(c, IMPORT_E_LIMIT, "more than %d events", LIMIT_IMPORT_FEED_EVENTS);
    } else if (!(keys = calloc(n ? n : 1, sizeof *keys))) {
        fail(c, IMPORT_E_NOMEM, "out of memory");
    } else {
        const char *key;
        const json_t *v;
        json_object_foreach(man, key, v) {
            if (!uuid_like(key)) {
                fail(c, IMPORT_E_FORMAT, "event key '%.64s' is not a uuid", key);
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
        fail(&c, IMPORT_E_USAGE, "a MISP feed is a directory: use import_path");
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
            fail(&c, IMPORT_E_IO, "%s", strerror(errno));
        else if (!S_ISDIR(st.st_mode))
            fail(&c, IMPORT_E_USAGE, "a MISP feed is a directory with manifest.json");
        else
            feed_parse(&c, path);
    } else {
        parse_file(&c, path);
    }
    return finish(&c, keep);
}
