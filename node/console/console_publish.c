/* console_publish.c - the publish form (console.h): the fields of `tlpmesh publish`, checked by
 * its own code (cli_publish_build, its warninglists, its unreachable-audience warnings), stored
 * by its own code (cli_publish_commit). Warnings are shown first and need a second submit with
 * confirm=1, as the CLI needs --force for a warninglist hit. */
#include <stdlib.h>
#include <string.h>

#include "node/console/console_int.h"
#include "node/cli/cli_explain.h"
#include "proto/indicator.h"
#include "proto/tlp.h"

#define PUBLISH_WARNINGS_BYTES 4096

/* The lists of the form ("community", "to", "tags") are comma (or space) separated text, split
 * in one copy of the form's values (the arena). */
/* A piece without its leading and trailing blanks (a tag may hold spaces inside). */
static char *trim(char *t)
{
    while (*t == ' ' || *t == '\t')
        t++;
    for (size_t n = strlen(t); n > 0 && (t[n - 1] == ' ' || t[n - 1] == '\t'); n--)
        t[n - 1] = '\0';
    return t;
}

static bool split_into(char *text, const char **out, size_t *n, size_t cap, const char *seps)
{
    char *save = NULL;
    for (char *t = strtok_r(text, seps, &save); t; t = strtok_r(NULL, seps, &save))
        if (*trim(t) && !cli_push(out, n, cap, trim(t)))
            return false;
    return true;
}

/* Every field named key (repeatable), each split at seps. */
static bool gather(const struct console_req *r, const char *key, char **arena, size_t *used,
                   const char **out, size_t *n, size_t cap, const char *seps)
{
    for (size_t i = 0; i < r->req->n_form; i++) {
        if (strcmp(r->req->form[i].key, key) != 0)
            continue;
        char *dst = *arena + *used;
        const size_t len = strlen(r->req->form[i].value);
        memcpy(dst, r->req->form[i].value, len + 1);
        *used += len + 1;
        if (!split_into(dst, out, n, cap, seps))
            return false;
    }
    return true;
}

/* A browser sends a textarea's line breaks as CRLF whatever the text had (HTML's form
 * submission), so a rule pasted here would differ from the same rule file given to `tlpmesh
 * publish --value-file` and be a second record: the value is kept with LF line breaks. */
static const char *lf_lines(const char *v, char *dst)
{
    char *o = dst;
    for (const char *c = v; *c; c++)
        if (c[0] != '\r' || c[1] != '\n')
            *o++ = *c;
    *o = '\0';
    return dst;
}

static const char *nonempty(const char *v)
{
    return v && v[0] ? v : NULL;
}

/* The form's fields as publish's arguments; a message naming a list that is too long, or NULL.
 * *arena (the split copies) is the caller's to free. */
static const char *to_args(const struct console_req *r, struct cli_publish_args *a, char **arena)
{
    memset(a, 0, sizeof *a);
    a->type = console_form(r, "type");
    a->value = console_form(r, "value");
    a->tlp = console_form(r, "tlp");
    a->valid_until = nonempty(console_form(r, "valid_until"));
    a->confidence = nonempty(console_form(r, "confidence"));
    a->comment = nonempty(console_form(r, "comment"));
    if (!a->type || !a->value || !a->tlp || !a->type[0] || !a->value[0] || !a->tlp[0])
        return "type, value and tlp are required";
    size_t total = 0, used = 0;
    for (size_t i = 0; i < r->req->n_form; i++)
        total += strlen(r->req->form[i].value) + 1;
    if (!(*arena = malloc(total + 1)))
        return "out of memory";
    a->value = lf_lines(a->value, *arena);
    used = strlen(a->value) + 1;
    if (!gather(r, "community", arena, &used, a->communities, &a->n_communities,
                LIMIT_AUDIENCE_COMMUNITIES, ", \t\r\n"))
        return "community: too many communities";
    if (!gather(r, "to", arena, &used, a->to, &a->n_to, LIMIT_AUDIENCE_RECIPIENTS, ", \t\r\n"))
        return "to: too many recipients";
    if (!gather(r, "tags", arena, &used, a->tags, &a->n_tags, LIMIT_TAGS, ",\r\n"))
        return "tags: too many tags";
    return NULL;
}

/* The highest TLP the user may publish: what they may read back (their MaxTLP), never RED,
 * which the HTTP side never serves: a record above it would be a 404 to its own publisher,
 * who could then not revoke it. */
static int ceiling(const struct console_req *r)
{
    const int max = r->client->max_tlp;
    return max < PROTO_TLP_AMBER_STRICT ? max : PROTO_TLP_AMBER_STRICT;
}

/* "tlp: above your ceiling ..." into buf when the form's tlp is above ceiling(r), else NULL
 * (a tlp that is no level at all is publish's to name). */
static const char *above_ceiling(const struct console_req *r, const char *tlp, char *buf,
                                 size_t len)
{
    if (proto_tlp_parse(tlp) <= ceiling(r))
        return NULL;
    snprintf(buf, len, "tlp: above your ceiling %s", proto_tlp_name(ceiling(r)));
    return buf;
}

/* ---- the form ---- */

static void field(struct console_page *p, const char *name, const char *label, const char *value,
                  const char *hint)
{
    fprintf(p->f, "<label for=\"%s\">%s</label><input id=\"%s\" name=\"%s\" placeholder=\"",
            name, label, name, name);
    console_esc(p, hint);
    fputs("\" value=\"", p->f);
    console_esc(p, value);
    fputs("\">\n", p->f);
}

static const char *val(const struct console_req *r, const char *key)
{
    const char *v = r->req->n_form ? console_form(r, key) : NULL;
    return v ? v : "";
}

static void publish_form(struct console_page *p, const struct console_req *r, bool confirm)
{
    fputs("<form id=\"publish\" class=\"panel\" method=\"post\" action=\"/ui/publish\">\n", p->f);
    fputs("<label for=\"type\">type</label>", p->f);
    console_select(p, "type", "type", NULL, r->req->n_form ? console_form(r, "type") : "ip-dst",
                   PROTO_ITYPE_IP_SRC, PROTO_ITYPE_END, proto_itype_name);
    fputs("<label for=\"value\">value</label><textarea id=\"value\" name=\"value\" required>",
          p->f);
    console_esc(p, val(r, "value"));
    fputs("</textarea>\n", p->f);
    fputs("<label for=\"tlp\">tlp</label>", p->f);
    const int top = ceiling(r);
    console_select(p, "tlp", "tlp", NULL,
                   r->req->n_form ? console_form(r, "tlp")
                                  : proto_tlp_name(top < PROTO_TLP_AMBER ? top : PROTO_TLP_AMBER),
                   PROTO_TLP_CLEAR, top + 1, proto_tlp_name);
    field(p, "community", "communities", val(r, "community"), "comma separated");
    field(p, "to", "to (node keys)", val(r, "to"), "base64 keys, comma separated (RED needs one)");
    field(p, "valid_until", "valid until", val(r, "valid_until"), "30d or 2027-01-01T00:00:00Z");
    field(p, "confidence", "confidence", val(r, "confidence"), "0 to 100, default 50");
    field(p, "tags", "tags", val(r, "tags"), "comma separated");
    field(p, "comment", "comment", val(r, "comment"), "");
    console_csrf_input(p, r->who.csrf);
    if (confirm)
        fputs("<input type=\"hidden\" name=\"confirm\" value=\"1\">", p->f);
    fprintf(p->f, "<span></span><button type=\"submit\">%s</button></form>\n",
            confirm ? "Publish anyway" : "Publish");
}

static int form_page(struct console_req *r, int status, const char *error, const json_t *warnings)
{
    struct console_page p;
    int rc = console_page_begin(&p, &r->who, "Publish");
    if (rc != CONSOLE_OK)
        return rc;
    if (error)
        console_error_p(&p, error);
    if (json_array_size(warnings)) {
        fputs("<ul id=\"warnings\">", p.f);
        size_t i;
        const json_t *w;
        json_array_foreach(warnings, i, w) {
            fputs("<li>", p.f);
            console_cli_words(&p, json_string_value(w), r->c->env.cfg->path);
            fputs("</li>", p.f);
        }
        fputs("</ul>\n", p.f);
    }
    publish_form(&p, r, json_array_size(warnings) > 0);
    return console_page_end(&p, r->resp, status);
}

int console_publish_page(struct console_req *r)
{
    return form_page(r, 200, NULL, NULL);
}

/* What the CLI would warn about: a warninglist hit (it refuses without --force) and the
 * audiences that cannot receive the record today. */
static json_t *warnings_of(struct cli_node *n, const struct cli_publish_args *a,
                           const struct proto_record *rec)
{
    json_t *w = json_array();
    char hit[LIMIT_NAME_BYTES + 64];
    if (!w || cli_warninglist_hit(a, &n->cfg, rec, hit, sizeof hit) != CLI_OK) {
        json_decref(w);
        return NULL;
    }
    if (hit[0]) {
        json_array_append_new(w, json_sprintf("value %.200s is on warninglist '%s'",
                                              rec->u.ind.value, hit));
    }
    cli_publish_warnings(n, rec, w);
    return w;
}

static int publish(struct console_req *r, struct cli_node *n, const struct cli_publish_args *a,
                   struct proto_record *rec, const char *why)
{
    if (cli_publish_build(a, r->c->env.id, r->req->now_ms, rec) != CLI_OK)
        return form_page(r, 400, why, NULL);
    const char *confirm = console_form(r, "confirm");
    if (!confirm || strcmp(confirm, "1") != 0) {
        json_t *w = warnings_of(n, a, rec);
        if (!w)
            return form_page(r, 400, why[0] ? why : "the warninglists could not be read", NULL);
        const int rc = json_array_size(w) ? form_page(r, 200, NULL, w) : 1;
        json_decref(w);
        if (rc != 1)
            return rc;
    }
    uint8_t id[LIMIT_ID_BYTES];
    bool is_new = false;
    if (cli_publish_commit(n, rec, id, &is_new) != CLI_OK)
        return form_page(r, 500, why, NULL);
    char hex[2 * LIMIT_ID_BYTES + 1], loc[sizeof "/ui/record/" + sizeof hex];
    cli_id_hex(id, hex);
    snprintf(loc, sizeof loc, "/ui/record/%s", hex);
    return console_redirect(r, loc);
}

int console_publish_post(struct console_req *r)
{
    struct cli_publish_args a;
    char *arena = NULL;
    char over[64];
    const char *bad = to_args(r, &a, &arena);
    if (!bad)
        bad = above_ceiling(r, a.tlp, over, sizeof over);
    struct cli_node *n = bad ? NULL : console_node(r);
    struct proto_record *rec = bad ? NULL : calloc(1, sizeof *rec);
    int rc;
    if (bad) {
        rc = form_page(r, 400, bad, NULL);
    } else if (!n || !rec) {
        rc = CONSOLE_E_NOMEM;
    } else {
        char why[512];
        cli_error_capture(why, sizeof why);
        rc = publish(r, n, &a, rec, why);
        cli_error_capture(NULL, 0);
    }
    free(rec);
    console_node_free(n);
    free(arena);
    return rc;
}
