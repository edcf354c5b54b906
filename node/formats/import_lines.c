/* import_lines.c - CSV (RFC 4180, a chosen column, MISP CSV's tag and tlpmesh's provenance
 * columns) and plain text (one value per line, '#' notes) -> candidates (import.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "node/formats/import_int.h"
#include "node/formats/stixmap.h"
#include "proto/indicator.h"

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
                import_fail(c, IMPORT_E_FORMAT, "line %zu: unterminated quoted field", line);
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
        import_fail(c, IMPORT_E_NOMEM, "out of memory");
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
            return import_fail(c, IMPORT_E_LIMIT, "line %zu: more than %d fields", line,
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
            return import_fail(c, IMPORT_E_USAGE, "--column %s is not 1..%d", spec,
                               LIMIT_IMPORT_CSV_COLUMNS);
        return (int)v - 1;
    }
    const int i = hdr ? find_column(hdr, spec) : -1;
    if (i < 0)
        return import_fail(c, IMPORT_E_USAGE, "no column named '%s' in the header line", spec);
    return i;
}

/* Just past the next newline, or end. The buffer is not NUL-terminated: no str* functions. */
static const char *next_line(const char *p, const char *end)
{
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    return nl ? nl + 1 : end;
}

/* Columns of a tlpmesh CSV export's provenance (export.h), in the order of prov_names; read
 * only when the header has all four. */
enum { PROV_COLUMNS = 4 };
static const char *const prov_names[PROV_COLUMNS] = {"record_id", "origin_key",
                                                     "origin_organisation", "audience"};

/* The provenance columns of one line as an x_tlpmesh object (new reference), or NULL when the
 * line has none. An audience that is not a JSON object stays a string, which prov_parse
 * refuses. */
static json_t *csv_prov(const struct csv_row *row, const int cols[PROV_COLUMNS])
{
    json_t *x = NULL;
    for (int k = 0; k < PROV_COLUMNS; k++) {
        if (cols[k] < 0 || (size_t)cols[k] >= row->n || row->f[cols[k]][0] == '\0')
            continue;
        if (!x && !(x = json_object()))
            return NULL;
        const char *text = row->f[cols[k]];
        json_t *aud = k == PROV_COLUMNS - 1 ? json_loads(text, 0, NULL) : NULL;
        if (json_is_object(aud))
            json_object_update(x, aud);
        else
            json_object_set_new(x, k == PROV_COLUMNS - 1 ? "communities" : prov_names[k],
                                json_string(text));
        json_decref(aud);
    }
    return x;
}

/* MISP CSV's attribute_tag column ("tlp:amber,c2"): its tlp: tags set the TLP as MISP tags do
 * (the most restrictive wins; one we cannot place makes the candidate INVALID). */
static void csv_tlp_tags(char *tags, struct meta *m)
{
    char *save = NULL;
    for (char *t = strtok_r(tags, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        while (*t == ' ')
            t++;
        if (strncasecmp(t, "tlp:", 4) != 0)
            continue;
        const int lvl = stixmap_tlp_from_name(t);
        if (lvl < 0)
            m->bad_tlp = t;
        else if (lvl > m->tlp)
            m->tlp = lvl;
    }
}

void import_csv_parse(struct ctx *c, const char *data, size_t len)
{
    const char *p = data, *end = data + len;
    const bool by_name = c->opts->column && strspn(c->opts->column, "0123456789") !=
                                                strlen(c->opts->column);
    /* A header line exists when a column is named or the type comes from a "type" column. */
    const bool header = by_name || c->opts->itype < 0;
    struct csv_row hdr = {0}, row = {0};
    int col, tcol = -1, idscol = -1, ccol = -1, tagcol = -1, pcols[PROV_COLUMNS] = {-1, -1, -1, -1};
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
        tagcol = find_column(&hdr, "attribute_tag");
        /* all four or none: a CSV of another tool may have a "record_id" of its own */
        bool all = true;
        for (int k = 0; k < PROV_COLUMNS; k++)
            all &= (pcols[k] = find_column(&hdr, prov_names[k])) >= 0;
        for (int k = 0; k < PROV_COLUMNS && !all; k++)
            pcols[k] = -1;
    }
    if (c->opts->itype < 0 && tcol < 0) {
        import_fail(c, IMPORT_E_USAGE, "no --type given and no \"type\" column in the header line");
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
            import_fail(c, IMPORT_E_FORMAT, "line %zu has %zu fields, column %d missing", here,
                        row.n, col + 1);
            break;
        }
        struct meta m = {.tlp = -1};
        if (ccol >= 0 && (size_t)ccol < row.n)
            m.comment = row.f[ccol];
        if (tagcol >= 0 && (size_t)tagcol < row.n)
            csv_tlp_tags(row.f[tagcol], &m);
        struct import_provenance prov;
        json_t *x = csv_prov(&row, pcols);
        import_meta_prov(&m, x, &prov);
        const bool ids = idscol < 0 || (size_t)idscol >= row.n || row.f[idscol][0] == '\0' ||
                         strcmp(row.f[idscol], "1") == 0 || strcasecmp(row.f[idscol], "true") == 0;
        const char *type = tcol >= 0 && c->opts->itype < 0 ? row.f[tcol]
                                                           : proto_itype_name(c->opts->itype);
        import_add_misp_value(c, type, row.f[col], ids, &m, where);
        json_decref(x);
        row_free(&row);
    }
out:
    row_free(&row);
    row_free(&hdr);
}

/* "VALUE  # note": a '#' after blank space starts a comment (a URL's fragment has no blank
 * before it). Moves *e to the '#' and returns the note, trimmed and malloc'ed (the record's
 * comment), or NULL when there is none (or no memory: the value still counts). */
static char *trailing_note(const char *s, const char **e)
{
    for (const char *h = s + 1; h < *e; h++) {
        if (*h != '#' || (h[-1] != ' ' && h[-1] != '\t'))
            continue;
        const char *ns = h + 1, *ne = *e;
        while (ns < ne && (*ns == ' ' || *ns == '\t'))
            ns++;
        while (ne > ns && (ne[-1] == ' ' || ne[-1] == '\t' || ne[-1] == '\r'))
            ne--;
        *e = h;
        return ne > ns ? strndup(ns, (size_t)(ne - ns)) : NULL;
    }
    return NULL;
}

void import_text_parse(struct ctx *c, const char *data, size_t len)
{
    if (c->opts->itype < 0) {
        import_fail(c, IMPORT_E_USAGE, "text input needs --type");
        return;
    }
    const char *p = data, *end = data + len;
    for (size_t line = 1; p < end && !c->err; line++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *e = nl ? nl : end;
        const char *s = p;
        p = nl ? nl + 1 : end;
        while (s < e && (*s == ' ' || *s == '\t'))
            s++;
        if (s < e && *s == '#')
            continue;
        char *note = trailing_note(s, &e);
        const struct meta m = {.tlp = -1, .comment = note};
        while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
            e--;
        if (s == e) {
            free(note);
            continue;
        }
        if ((size_t)(e - s) > LIMIT_VALUE_BYTES + 1)
            e = s + LIMIT_VALUE_BYTES + 1; /* normalise refuses it as too long */
        char *v = strndup(s, (size_t)(e - s));
        if (!v) {
            free(note);
            import_fail(c, IMPORT_E_NOMEM, "out of memory");
            return;
        }
        char where[320];
        snprintf(where, sizeof where, "%s:%zu", c->name, line);
        import_add_candidate(c, proto_itype_name(c->opts->itype), c->opts->itype, v, &m,
                             where);
        free(v);
        free(note);
    }
}

