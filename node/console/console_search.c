/* console_search.c - the search page (console.h): checked on the loop thread, built by a job on
 * a pool thread, because a filter without a value walks the store by time.
 *
 * A value q is looked up under every type it is a valid value of (as `tlpmesh query`), and an
 * address also finds the ranges (CIDR records) that contain it (store_find_covering). Without q
 * the records created in [since, until) are walked oldest first, at most
 * LIMIT_CONSOLE_SCAN_RECORDS of them per page (the page says when it stopped there). Each record
 * is shown only when the TAXII server would serve it to this client (taxii_reader_may_read, not
 * revoked) and it passes type, tlp and org (the origin's organisation, as this node's config
 * names it: its own and its peers'). Pages of LIMIT_CONSOLE_PAGE_ROWS. */
#include <stdlib.h>
#include <string.h>

#include "node/console/console_int.h"
#include "node/formats/taxii.h"
#include "node/formats/timefmt.h"
#include "proto/indicator.h"
#include "proto/tlp.h"

#define SEARCH_TEXT_BYTES 80 /* type, tlp, since, until as typed */
#define SEARCH_PAGES_MAX 100000
#define SEARCH_SHOWN_BYTES 160 /* of a value in a result row */

struct key_org {
    uint8_t key[LIMIT_KEY_BYTES];
    char org[LIMIT_NAME_BYTES + 1];
};

struct search_job {
    struct store *store;
    struct console_who who;
    struct gate_peer reader;
    struct gate_self self;
    uint64_t now_ms;
    char q[LIMIT_VALUE_PLAIN_BYTES + 1], org[LIMIT_NAME_BYTES + 1];
    char type_text[SEARCH_TEXT_BYTES], tlp_text[SEARCH_TEXT_BYTES];
    char since_text[SEARCH_TEXT_BYTES], until_text[SEARCH_TEXT_BYTES];
    int type, tlp; /* -1: any */
    uint64_t since_ms, until_ms;
    size_t page;
    struct key_org orgs[LIMIT_PEERS + 1]; /* this node and its peers */
    size_t n_orgs;
};

struct walk {
    const struct search_job *j;
    FILE *rows;
    size_t skip, shown, examined;
    bool more, cut;
    int err;
};

static const char *org_of(const struct search_job *j, const uint8_t key[LIMIT_KEY_BYTES])
{
    for (size_t i = 0; i < j->n_orgs; i++)
        if (memcmp(j->orgs[i].key, key, LIMIT_KEY_BYTES) == 0)
            return j->orgs[i].org;
    return "";
}

static bool matches(const struct search_job *j, const struct cli_shown *s)
{
    const struct proto_record *r = &s->rec;
    if (s->revoked || !taxii_reader_may_read(&j->self, &j->reader, r, j->now_ms))
        return false;
    if ((j->type >= 0 && r->u.ind.type != j->type) || (j->tlp >= 0 && r->tlp != j->tlp))
        return false;
    if (r->created_ms < j->since_ms || r->created_ms >= j->until_ms)
        return false;
    return !j->org[0] || strcasecmp(org_of(j, r->origin), j->org) == 0;
}

/* At most SEARCH_SHOWN_BYTES of a value, cut before a UTF-8 continuation byte. */
static void shown_value(const char *v, char *out, size_t cap)
{
    size_t n = strlen(v);
    if (n < cap) {
        memcpy(out, v, n + 1);
        return;
    }
    n = cap - 4;
    while (n > 0 && ((unsigned char)v[n] & 0xC0) == 0x80)
        n--;
    memcpy(out, v, n);
    memcpy(out + n, "...", 4);
}

static void row(struct walk *w, const struct cli_shown *s)
{
    FILE *f = w->rows;
    char hex[2 * LIMIT_ID_BYTES + 1], value[SEARCH_SHOWN_BYTES], created[TIMEFMT_RFC3339_LEN + 1],
        until[TIMEFMT_RFC3339_LEN + 1], key[LIMIT_PUBKEY_B64_LEN + 1];
    cli_id_hex(s->id, hex);
    shown_value(s->rec.u.ind.value, value, sizeof value);
    timefmt_format(s->rec.created_ms, created);
    timefmt_format(s->rec.u.ind.valid_until_ms, until);
    keys_pubkey_to_b64(s->rec.origin, key);
    const char *org = org_of(w->j, s->rec.origin);
    struct console_page p = {.f = f};
    fprintf(f, "<tr class=\"rec\"><td class=\"value\"><a href=\"/ui/record/%s\">", hex);
    console_esc(&p, value);
    fputs("</a></td><td>", f);
    console_esc(&p, proto_itype_name(s->rec.u.ind.type));
    fputs("</td><td>", f);
    console_tlp_badge(&p, proto_tlp_name(s->rec.tlp), false);
    fputs("</td><td>", f);
    if (org[0])
        console_esc(&p, org);
    else
        fprintf(f, "<span class=\"note\">%.12s...</span>", key);
    fprintf(f, "</td><td>%s</td><td>%s</td></tr>\n", created, until);
}

static int on_record(const uint8_t id[LIMIT_ID_BYTES], const uint8_t *signed_rec, size_t len,
                     uint64_t seq, void *ctx)
{
    struct walk *w = ctx;
    if (++w->examined > LIMIT_CONSOLE_SCAN_RECORDS) {
        w->cut = true;
        return 1;
    }
    struct cli_shown s;
    const int rc = cli_load_shown(w->j->store, id, signed_rec, len, seq, w->j->now_ms, &s);
    if (rc != PROTO_OK) {
        w->err = rc;
        return 1;
    }
    if (!matches(w->j, &s))
        return 0;
    if (w->skip > 0) {
        w->skip--;
        return 0;
    }
    if (w->shown == LIMIT_CONSOLE_PAGE_ROWS) {
        w->more = true;
        return 1;
    }
    row(w, &s);
    w->shown++;
    return 0;
}

/* q under every type it is a value of, then the ranges that contain it. */
static int walk_value(struct walk *w)
{
    char norm[LIMIT_VALUE_BYTES + 1];
    int rc = STORE_OK;
    for (int t = PROTO_ITYPE_IP_SRC; t < PROTO_ITYPE_END && rc == STORE_OK; t++)
        if (proto_indicator_normalise(t, w->j->q, norm, sizeof norm, NULL, 0) == 0)
            rc = store_find_value(w->j->store, t, norm, on_record, w);
    if (rc == STORE_OK &&
        proto_indicator_normalise(PROTO_ITYPE_IP_DST, w->j->q, norm, sizeof norm, NULL, 0) == 0 &&
        !strchr(norm, '/'))
        rc = store_find_covering(w->j->store, norm, on_record, w);
    return rc;
}

static void text_input(struct console_page *p, const char *name, const char *hint,
                       const char *value)
{
    fprintf(p->f, "<input name=\"%s\" id=\"f-%s\" placeholder=\"", name, name);
    console_esc(p, hint);
    fputs("\" value=\"", p->f);
    console_esc(p, value);
    fputs("\">", p->f);
}

/* The form, filled with what was asked; type and TLP are chosen from the tables of proto/. */
static void form(struct console_page *p, const struct search_job *j)
{
    fputs("<form id=\"search\" class=\"search\" method=\"get\" action=\"/ui/search\">", p->f);
    text_input(p, "q", "value, address or range", j->q);
    console_select(p, "f-type", "type", "any type", j->type_text, PROTO_ITYPE_IP_SRC,
                   PROTO_ITYPE_END, proto_itype_name);
    console_select(p, "f-tlp", "tlp", "any TLP", j->tlp_text, PROTO_TLP_CLEAR, PROTO_TLP_COUNT,
                   proto_tlp_name);
    text_input(p, "org", "origin organisation", j->org);
    text_input(p, "since", "since (2h, RFC 3339)", j->since_text);
    text_input(p, "until", "until", j->until_text);
    fputs("<button type=\"submit\">Search</button></form>\n", p->f);
}

static void page_link(struct console_page *p, const struct search_job *j, const char *id,
                      size_t page, const char *label)
{
    const char *keys[] = {"q", "type", "tlp", "org", "since", "until"};
    const char *vals[] = {j->q, j->type_text, j->tlp_text, j->org, j->since_text, j->until_text};
    fprintf(p->f, "<a id=\"%s\" href=\"/ui/search?page=%zu", id, page);
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        if (!vals[i][0])
            continue;
        fprintf(p->f, "&amp;%s=", keys[i]);
        console_url_encode(p->f, vals[i]);
    }
    fprintf(p->f, "\">%s</a>", label);
}

static int job_run(void *job, struct http_ui_response *resp)
{
    const struct search_job *j = job;
    struct walk w = {.j = j, .skip = j->page * LIMIT_CONSOLE_PAGE_ROWS};
    char *rows = NULL;
    size_t rows_len = 0;
    if (!(w.rows = open_memstream(&rows, &rows_len)))
        return CONSOLE_E_NOMEM;
    const int rc = j->q[0] ? walk_value(&w)
                           : store_iter_time(j->store, j->since_ms, j->until_ms, on_record, &w);
    fclose(w.rows);
    struct console_page p;
    int prc = console_page_begin(&p, &j->who, "Search");
    if (prc == CONSOLE_OK) {
        form(&p, j);
        if (rc < 0 || w.err)
            fprintf(p.f, "<p id=\"error\">the store could not be read: %s</p>\n",
                    rc < 0 ? store_strerror(rc) : proto_strerror(w.err));
        fputs("<table id=\"results\"><thead><tr><th>value</th><th>type</th><th>TLP</th>"
              "<th>origin</th><th>created</th><th>valid until</th></tr></thead><tbody>\n", p.f);
        fwrite(rows ? rows : "", 1, rows_len, p.f);
        fputs("</tbody></table>\n<div class=\"paging\">", p.f);
        if (j->page > 0)
            page_link(&p, j, "prev", j->page - 1, "&larr; previous");
        if (w.more)
            page_link(&p, j, "next", j->page + 1, "next &rarr;");
        fprintf(p.f, "</div><p class=\"note\">%zu shown on page %zu.%s</p>\n", w.shown,
                j->page + 1,
                w.cut ? " The walk stopped after the most records one page may examine: "
                        "narrow since/until or give a value." : "");
        prc = console_page_end(&p, resp, 200);
    }
    free(rows);
    return prc;
}

static void job_free(void *job)
{
    free(job);
}

/* ---- checks on the loop thread ---- */

static bool copy_param(struct console_req *r, const char *key, char *out, size_t cap)
{
    const char *v = console_query(r, key);
    if (!v)
        v = "";
    if (strlen(v) >= cap)
        return false;
    memcpy(out, v, strlen(v) + 1);
    return true;
}

/* The filters; an error message naming the bad one, or NULL. */
static const char *parse(struct console_req *r, struct search_job *j)
{
    if (!copy_param(r, "q", j->q, sizeof j->q) || !copy_param(r, "org", j->org, sizeof j->org) ||
        !copy_param(r, "type", j->type_text, sizeof j->type_text) ||
        !copy_param(r, "tlp", j->tlp_text, sizeof j->tlp_text) ||
        !copy_param(r, "since", j->since_text, sizeof j->since_text) ||
        !copy_param(r, "until", j->until_text, sizeof j->until_text))
        return "a search field is too long";
    j->type = j->type_text[0] ? proto_itype_parse(j->type_text) : -1;
    if (j->type_text[0] && j->type < 0)
        return "type: not a supported indicator type";
    j->tlp = j->tlp_text[0] ? proto_tlp_parse(j->tlp_text) : -1;
    if (j->tlp_text[0] && j->tlp < 0)
        return "tlp: not one of clear, green, amber, amber+strict, red";
    j->until_ms = UINT64_MAX;
    if (j->since_text[0] &&
        timefmt_parse_point(j->since_text, j->now_ms, -1, &j->since_ms) != TIMEFMT_OK)
        return "since: not an RFC 3339 time or a duration like 2h";
    if (j->until_text[0] &&
        timefmt_parse_point(j->until_text, j->now_ms, -1, &j->until_ms) != TIMEFMT_OK)
        return "until: not an RFC 3339 time or a duration like 2h";
    const char *page = console_query(r, "page");
    char *end = NULL;
    j->page = page && *page ? strtoul(page, &end, 10) : 0;
    if (page && *page && (*end || j->page > SEARCH_PAGES_MAX))
        return "page: not a page number";
    return NULL;
}

static void fill_orgs(struct console_req *r, struct search_job *j)
{
    const struct config *cfg = r->c->env.cfg;
    memcpy(j->orgs[0].key, r->c->env.id->sign_pk, LIMIT_KEY_BYTES);
    snprintf(j->orgs[0].org, sizeof j->orgs[0].org, "%s", cfg->organisation);
    j->n_orgs = 1;
    for (size_t i = 0; i < cfg->n_peers && j->n_orgs < LIMIT_PEERS + 1; i++, j->n_orgs++) {
        memcpy(j->orgs[j->n_orgs].key, cfg->peers[i].key, LIMIT_KEY_BYTES);
        snprintf(j->orgs[j->n_orgs].org, sizeof j->orgs[0].org, "%s", cfg->peers[i].organisation);
    }
}

int console_search_page(struct console_req *r)
{
    struct search_job *j = calloc(1, sizeof *j);
    if (!j)
        return CONSOLE_E_NOMEM;
    j->store = r->c->env.store;
    j->who = r->who;
    j->now_ms = r->req->now_ms;
    const char *bad = parse(r, j);
    int rc = bad ? CONSOLE_OK : console_gate_views(r, &j->reader, &j->self);
    if (bad || rc != CONSOLE_OK) {
        free(j);
        return bad ? console_error(r, 400, bad) : rc;
    }
    fill_orgs(r, j);
    r->resp->job = j;
    r->resp->run = job_run;
    r->resp->free = job_free;
    return CONSOLE_OK;
}
