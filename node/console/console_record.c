/* console_record.c - a record's page and its revocation (console.h). The page is what
 * `tlpmesh show --json --explain` prints (cli_show_json), laid out; a record the TAXII server
 * would not serve this client is 404, so the page never confirms that it exists. The explain
 * table (every peer and client, and the config lines behind each verdict) is shown only to
 * clients of this node's own organisation; the sightings summed up are those the client may
 * read (console_sighting_readable). */
#include <stdlib.h>
#include <string.h>

#include "node/console/console_int.h"
#include "node/cli/cli_explain.h"
#include "node/formats/taxii.h"

static void dd(struct console_page *p, const char *id, const char *label, const char *text,
               bool mono)
{
    fprintf(p->f, "<dt>%s</dt><dd id=\"%s\"%s>", label, id, mono ? " class=\"value\"" : "");
    console_esc(p, text);
    fputs("</dd>\n", p->f);
}

/* The elements of array key of o, joined with ", " ("none" when empty). */
static void dd_list(struct console_page *p, const char *id, const char *label, const json_t *o,
                    const char *key, const char *none)
{
    const json_t *a = json_object_get(o, key);
    fprintf(p->f, "<dt>%s</dt><dd id=\"%s\">", label, id);
    size_t i;
    const json_t *v;
    json_array_foreach(a, i, v) {
        if (i)
            fputs(", ", p->f);
        console_esc(p, json_string_value(v));
    }
    if (json_array_size(a) == 0)
        fprintf(p->f, "<span class=\"note\">%s</span>", none);
    fputs("</dd>\n", p->f);
}

static void audience(struct console_page *p, const json_t *o)
{
    const json_t *c = json_object_get(o, "communities"), *k = json_object_get(o, "recipients");
    fputs("<dt>audience</dt><dd id=\"audience\">", p->f);
    size_t i;
    const json_t *v;
    json_array_foreach(c, i, v) {
        fputs("community ", p->f);
        console_esc(p, json_string_value(v));
        fputs("<br>", p->f);
    }
    json_array_foreach(k, i, v) {
        fputs("node <span class=\"value\">", p->f);
        console_esc(p, json_string_value(v));
        fputs("</span><br>", p->f);
    }
    if (json_array_size(c) + json_array_size(k) == 0)
        fputs("whoever the TLP allows", p->f);
    fputs("</dd>\n", p->f);
}

static void details(struct console_page *p, const json_t *o)
{
    fputs("<dl>\n", p->f);
    dd(p, "value", "value", console_jstr(o, "value"), true);
    dd(p, "type", "type", console_jstr(o, "type"), false);
    fputs("<dt>TLP</dt><dd>", p->f);
    console_tlp_badge(p, console_jstr(o, "tlp"), true);
    fputs("</dd>\n", p->f);
    audience(p, o);
    fputs("<dt>origin</dt><dd id=\"origin\">", p->f);
    console_esc(p, console_jstr(o, "origin_organisation")[0] ? console_jstr(o, "origin_organisation")
                                                      : "unknown organisation");
    fputs(" <span class=\"value\">", p->f);
    console_esc(p, console_jstr(o, "origin"));
    fputs("</span></dd>\n", p->f);
    dd(p, "created", "created", console_jstr(o, "created"), false);
    dd(p, "valid-until", "valid until", console_jstr(o, "valid_until"), false);
    fprintf(p->f, "<dt>confidence</dt><dd id=\"confidence\">%lld</dd>\n",
            (long long)json_integer_value(json_object_get(o, "confidence")));
    dd_list(p, "tags", "tags", o, "tags", "none");
    dd(p, "comment", "comment", console_jstr(o, "comment"), false);
    dd(p, "state", "state",
       json_is_true(json_object_get(o, "revoked"))   ? "revoked"
       : json_is_true(json_object_get(o, "expired")) ? "expired"
                                                     : "live",
       false);
    const json_t *rev = json_object_get(o, "revocation");
    if (json_is_object(rev)) {
        fputs("<dt>revocation</dt><dd id=\"revocation\">", p->f);
        console_esc(p, console_jstr(rev, "reason")[0] ? console_jstr(rev, "reason") : "(no reason given)");
        fputs(" <span class=\"note\">at ", p->f);
        console_esc(p, console_jstr(rev, "time"));
        fputs("</span></dd>\n", p->f);
    }
    fputs("</dl>\n", p->f);
}

static void sightings(struct console_page *p, const json_t *o)
{
    fputs("<h2>Sightings</h2><table id=\"sightings\"><thead><tr><th>organisation</th>"
          "<th>reports</th><th>count</th><th>first seen</th><th>last seen</th></tr></thead>"
          "<tbody>\n", p->f);
    size_t i;
    const json_t *v;
    json_array_foreach(json_object_get(o, "sightings"), i, v) {
        fputs("<tr class=\"sighting\"><td>", p->f);
        console_esc(p, console_jstr(v, "organisation"));
        fprintf(p->f, "</td><td>%lld</td><td>%lld</td><td>",
                (long long)json_integer_value(json_object_get(v, "reports")),
                (long long)json_integer_value(json_object_get(v, "count")));
        console_esc(p, console_jstr(v, "first_seen"));
        fputs("</td><td>", p->f);
        console_esc(p, console_jstr(v, "last_seen"));
        fputs("</td></tr>\n", p->f);
    }
    fputs("</tbody></table>\n", p->f);
}

static void explain(struct console_page *p, const json_t *o)
{
    fputs("<h2>Who may receive it</h2><table id=\"explain\"><thead><tr><th>party</th>"
          "<th>name</th><th>verdict</th><th>why</th><th>holds it</th></tr></thead><tbody>\n",
          p->f);
    size_t i;
    const json_t *v;
    json_array_foreach(json_object_get(o, "explain"), i, v) {
        const bool allow = strcmp(console_jstr(v, "verdict"), "allow") == 0;
        fputs("<tr class=\"party\"><td>", p->f);
        console_esc(p, console_jstr(v, "party"));
        fputs("</td><td>", p->f);
        console_esc(p, console_jstr(v, "name"));
        fprintf(p->f, "</td><td class=\"%s\">", allow ? "allow" : "deny");
        console_esc(p, console_jstr(v, "verdict"));
        fputs("</td><td>", p->f);
        console_esc(p, console_jstr(v, "reason"));
        fputs("</td><td>", p->f);
        console_esc(p, cli_explain_holds_words(console_jstr(v, "holds_how")));
        fputs("</td></tr>\n", p->f);
    }
    fputs("</tbody></table>\n", p->f);
}

static void revoke_form(struct console_page *p, const struct console_req *r, const char *idhex)
{
    fprintf(p->f, "<h2>Revoke</h2><form id=\"revoke\" class=\"panel\" method=\"post\" "
                  "action=\"/ui/record/%s/revoke\"><label for=\"reason\">reason</label>"
                  "<input id=\"reason\" name=\"reason\" maxlength=\"%d\">",
            idhex, LIMIT_COMMENT_BYTES);
    console_csrf_input(p, r->who.csrf);
    fputs("<span></span><button type=\"submit\">Revoke</button></form>\n", p->f);
}

/* The record idhex if this client may read it (CONSOLE_OK, *s filled), else a 404 page (1). */
static int load_visible(struct console_req *r, struct cli_node *n, const char *idhex,
                        struct cli_shown *s)
{
    struct gate_peer reader;
    struct gate_self self;
    int rc = console_gate_views(r, &reader, &self);
    if (rc != CONSOLE_OK)
        return rc;
    char why[256];
    cli_error_capture(why, sizeof why);
    const int lrc = cli_load_by_id("show", n, idhex, s);
    cli_error_capture(NULL, 0);
    if (lrc != CLI_OK || !taxii_reader_may_read(&self, &reader, &s->rec, r->req->now_ms)) {
        rc = console_error(r, 404, "no such record, or not one you may read");
        return rc == CONSOLE_OK ? 1 : rc;
    }
    return CONSOLE_OK;
}

struct sighting_gate {
    struct gate_peer reader;
    struct gate_self self;
    const struct proto_record *target;
    uint64_t now_ms;
};

static bool may_see_sighting(const struct proto_record *sighting, void *ctx)
{
    const struct sighting_gate *g = ctx;
    return console_sighting_readable(&g->self, &g->reader, sighting, g->target, g->now_ms);
}

/* show --json --explain, its sightings only those this client may read (console_gate.c). */
static json_t *shown_json(struct console_req *r, struct cli_node *n, const struct cli_shown *s)
{
    struct sighting_gate g = {.target = &s->rec, .now_ms = r->req->now_ms};
    json_t *o = console_gate_views(r, &g.reader, &g.self) == CONSOLE_OK ? cli_show_json(n, s, true)
                                                                        : NULL;
    json_t *seen = o ? cli_sightings_json_if("show", n, s->id, may_see_sighting, &g) : NULL;
    if (!seen || json_object_set_new(o, "sightings", seen) != 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static int render(struct console_req *r, struct cli_node *n, const struct cli_shown *s,
                  const char *idhex)
{
    char why[256];
    cli_error_capture(why, sizeof why);
    json_t *o = shown_json(r, n, s);
    cli_error_capture(NULL, 0);
    if (!o)
        return console_error(r, 500, why[0] ? why : "the record could not be read");
    struct console_page p;
    int rc = console_page_begin(&p, &r->who, "Record");
    if (rc == CONSOLE_OK) {
        fprintf(p.f, "<p class=\"note\">id <span class=\"value\" id=\"id\">%s</span></p>\n",
                idhex);
        details(&p, o);
        sightings(&p, o);
        /* The table names every peer and client and the config lines behind each verdict:
         * this node's own organisation's business only. */
        if (r->who.own_org)
            explain(&p, o);
        else
            fputs("<p class=\"note\">Who may receive it is shown to this node's own "
                  "organisation.</p>\n", p.f);
        if (r->who.publisher && !s->revoked &&
            memcmp(s->rec.origin, r->c->env.id->sign_pk, LIMIT_KEY_BYTES) == 0)
            revoke_form(&p, r, idhex);
        rc = console_page_end(&p, r->resp, 200);
    }
    json_decref(o);
    return rc;
}

int console_record_page(struct console_req *r, const char *idhex)
{
    struct cli_node *n = console_node(r);
    struct cli_shown *s = calloc(1, sizeof *s);
    int rc = n && s ? load_visible(r, n, idhex, s) : CONSOLE_E_NOMEM;
    if (rc == CONSOLE_OK)
        rc = render(r, n, s, idhex);
    free(s);
    console_node_free(n);
    return rc > 0 ? CONSOLE_OK : rc;
}

int console_revoke_post(struct console_req *r, const char *idhex)
{
    struct cli_node *n = console_node(r);
    struct cli_shown *s = calloc(1, sizeof *s);
    struct proto_record *rec = calloc(1, sizeof *rec);
    int rc = n && s && rec ? load_visible(r, n, idhex, s) : CONSOLE_E_NOMEM;
    if (rc == CONSOLE_OK) {
        char why[256], loc[sizeof "/ui/record/" + 2 * LIMIT_ID_BYTES];
        uint8_t rev_id[LIMIT_ID_BYTES];
        const char *reason = console_form(r, "reason");
        cli_error_capture(why, sizeof why);
        const int crc = cli_revoke_record(n, s, reason && reason[0] ? reason : NULL, idhex, rec,
                                          rev_id);
        cli_error_capture(NULL, 0);
        snprintf(loc, sizeof loc, "/ui/record/%s", idhex);
        rc = crc == CLI_OK ? console_redirect(r, loc)
                           : console_error(r, crc == CLI_USAGE ? 400 : 403, why);
    }
    free(rec);
    free(s);
    console_node_free(n);
    return rc > 0 ? CONSOLE_OK : rc;
}
