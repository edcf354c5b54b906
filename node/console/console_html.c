/* console_html.c - escaping, the page frame and the stylesheet of the console (console.h). */
#include <assert.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "node/console/console_int.h"

void console_html_escape(FILE *f, const char *text)
{
    for (const char *c = text ? text : ""; *c; c++) {
        switch (*c) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&#39;", f); break;
        default: fputc(*c, f);
        }
    }
}

void console_url_encode(FILE *f, const char *text)
{
    for (const unsigned char *c = (const unsigned char *)(text ? text : ""); *c; c++) {
        if (isalnum(*c) || *c == '-' || *c == '_' || *c == '.' || *c == '~')
            fputc(*c, f);
        else
            fprintf(f, "%%%02X", *c);
    }
}

void console_esc(struct console_page *p, const char *text)
{
    console_html_escape(p->f, text);
}

/* FIRST's TLP 2.0 colours: text on black (https://www.first.org/tlp/). */
void console_tlp_badge(struct console_page *p, const char *tlp_name, bool with_id)
{
    char cls[32], label[32];
    size_t i = 0;
    for (; tlp_name[i] && i < sizeof cls - 1; i++) {
        cls[i] = tlp_name[i] == '+' ? '-' : (char)tolower((unsigned char)tlp_name[i]);
        label[i] = (char)toupper((unsigned char)tlp_name[i]);
    }
    cls[i] = label[i] = '\0';
    fputs(with_id ? "<span id=\"tlp\" class=\"tlp tlp-" : "<span class=\"tlp tlp-", p->f);
    console_esc(p, cls);
    fputs("\">TLP:", p->f);
    console_esc(p, label);
    fputs("</span>", p->f);
}

/* The words of the shared CLI checks (cli_publish_build, cli_build_audience, revoke) that name
 * options, as the form's fields. Longer names first where one begins another. */
static const struct {
    const char *cli, *form;
} cli_words[] = {
    {" (see tlpmesh publish --help)", ""},
    {"--valid-until", "valid_until"},
    {"--community", "community"},
    {"--confidence", "confidence"},
    {"--comment", "comment"},
    {"--reason", "reason"},
    {"--type", "type"},
    {"--tag", "tags"},
    {"--tlp", "tlp"},
    {"--to", "to"},
};

/* How many bytes of text at c are "PATH line N" (cfg_path, its line), or 0. */
static size_t config_place(const char *c, const char *cfg_path)
{
    const size_t n = cfg_path ? strlen(cfg_path) : 0;
    if (n == 0 || strncmp(c, cfg_path, n) != 0)
        return 0;
    if (strncmp(c + n, " line ", 6) == 0 && isdigit((unsigned char)c[n + 6]))
        return n + 6 + strspn(c + n + 6, "0123456789");
    return n;
}

void console_cli_words(struct console_page *p, const char *text, const char *cfg_path)
{
    for (const char *c = text ? text : ""; *c;) {
        size_t skip = config_place(c, cfg_path);
        const char *as = "this node's configuration";
        for (size_t i = 0; !skip && i < sizeof cli_words / sizeof cli_words[0]; i++) {
            const size_t n = strlen(cli_words[i].cli);
            if (strncmp(c, cli_words[i].cli, n) == 0 && !isalnum((unsigned char)c[n]) &&
                c[n] != '-')
                skip = n, as = cli_words[i].form;
        }
        if (skip) {
            console_esc(p, as);
            c += skip;
        } else {
            const char one[2] = {*c++, '\0'};
            console_esc(p, one);
        }
    }
}

void console_error_p(struct console_page *p, const char *message)
{
    fputs("<p id=\"error\">", p->f);
    console_cli_words(p, message, NULL);
    fputs("</p>\n", p->f);
}

void console_select(struct console_page *p, const char *id, const char *name, const char *any,
                    const char *chosen, int from, int to, const char *(*name_of)(int))
{
    fputs("<select id=\"", p->f);
    console_esc(p, id);
    fputs("\" name=\"", p->f);
    console_esc(p, name);
    fputs("\">", p->f);
    if (any) {
        fputs(chosen && chosen[0] ? "<option value=\"\">" : "<option value=\"\" selected>", p->f);
        console_esc(p, any);
        fputs("</option>", p->f);
    }
    for (int i = from; i < to; i++) {
        const char *n = name_of(i);
        assert(n); /* the tables are dense from their first code to their end */
        fputs("<option value=\"", p->f);
        console_esc(p, n);
        fputs(chosen && strcmp(chosen, n) == 0 ? "\" selected>" : "\">", p->f);
        console_esc(p, n);
        fputs("</option>", p->f);
    }
    fputs("</select>\n", p->f);
}

void console_csrf_input(struct console_page *p, const char *csrf)
{
    fputs("<input type=\"hidden\" name=\"csrf\" value=\"", p->f);
    console_esc(p, csrf);
    fputs("\">", p->f);
}

static void nav(struct console_page *p, const struct console_who *who)
{
    fputs("<header><span class=\"brand\">tlpmesh</span>", p->f);
    if (who) {
        fputs("<nav><a href=\"/ui/search\">Search</a>", p->f);
        if (who->publisher)
            fputs("<a href=\"/ui/publish\">Publish</a>", p->f);
        if (who->own_org)
            fputs("<a href=\"/ui/peers\">Peers</a>", p->f);
        fputs("<a href=\"/ui/activity\">Activity</a></nav>", p->f);
        fputs("<form id=\"logout\" method=\"post\" action=\"/ui/logout\"><span class=\"who\">", p->f);
        console_esc(p, who->client);
        fputs(who->publisher ? " (publisher)" : " (reader)", p->f);
        fputs("</span>", p->f);
        console_csrf_input(p, who->csrf);
        fputs("<button type=\"submit\">Sign out</button></form>", p->f);
    }
    fputs("</header>\n<main>\n", p->f);
}

int console_page_begin(struct console_page *p, const struct console_who *who, const char *title)
{
    p->buf = NULL;
    p->len = 0;
    p->f = open_memstream(&p->buf, &p->len);
    if (!p->f)
        return CONSOLE_E_NOMEM;
    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
          "<link rel=\"stylesheet\" href=\"/ui/static/console.css\"><title>",
          p->f);
    console_esc(p, title);
    fputs(" - tlpmesh</title></head><body>\n", p->f);
    nav(p, who);
    fputs("<h1>", p->f);
    console_esc(p, title);
    fputs("</h1>\n", p->f);
    return CONSOLE_OK;
}

int console_page_end(struct console_page *p, struct http_ui_response *resp, int status)
{
    fputs("</main></body></html>\n", p->f);
    const int bad = ferror(p->f);
    if (fclose(p->f) != 0 || bad) {
        free(p->buf);
        p->buf = NULL;
        return CONSOLE_E_NOMEM;
    }
    resp->status = status;
    resp->content_type = "text/html; charset=utf-8";
    resp->body = p->buf;
    resp->body_len = p->len;
    p->buf = NULL;
    return CONSOLE_OK;
}

void console_page_abort(struct console_page *p)
{
    if (p->f)
        fclose(p->f);
    free(p->buf);
    p->buf = NULL;
}

/* The one stylesheet, served as /ui/static/console.css: no fonts, no images, nothing fetched. */
const char console_css[] =
    "*{box-sizing:border-box}"
    "body{margin:0;font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;color:#1d2330;"
    "background:#f4f5f7}"
    "header{display:flex;align-items:center;gap:1.5em;padding:.6em 1.2em;background:#1d2330;"
    "color:#fff}"
    "header .brand{font-weight:700;letter-spacing:.05em}"
    "header nav a{color:#cfd6e4;margin-right:1em;text-decoration:none}"
    "header nav a:hover{color:#fff}"
    "header form{margin-left:auto;display:flex;gap:.6em;align-items:center}"
    "header .who{color:#cfd6e4}"
    "main{max-width:72em;margin:0 auto;padding:1em 1.2em}"
    "h1{font-size:1.4em;margin:.4em 0 .8em}"
    "h2{font-size:1.1em;margin:1.4em 0 .5em}"
    "table{border-collapse:collapse;width:100%;background:#fff}"
    "th,td{text-align:left;padding:.35em .6em;border-bottom:1px solid #e1e4ea;vertical-align:top}"
    "th{background:#eceff4;font-weight:600}"
    "ul.refused{margin:0;padding:0;list-style:none}"
    "caption{text-align:left;font-weight:600;padding:.3em 0}"
    "td.value,dd.value{font-family:ui-monospace,monospace;word-break:break-all;"
    "white-space:pre-wrap}"
    "dl{display:grid;grid-template-columns:11em 1fr;gap:.3em 1em;background:#fff;padding:1em;"
    "margin:0}"
    "dt{font-weight:600;color:#4a5366}dd{margin:0}"
    "form.panel{background:#fff;padding:1em;display:grid;grid-template-columns:11em 1fr;"
    "gap:.5em 1em;align-items:center}"
    "form.search{background:#fff;padding:.8em;display:flex;flex-wrap:wrap;gap:.5em}"
    "input,select,textarea{font:inherit;padding:.3em .4em;border:1px solid #b9c0cc;"
    "border-radius:3px}"
    "textarea{min-height:5em}"
    "button{font:inherit;padding:.35em .9em;border:0;border-radius:3px;background:#2f6fde;"
    "color:#fff;cursor:pointer}"
    "header button{background:#4a5366}"
    "#error{background:#fde2e1;color:#8a1c17;padding:.6em .9em;border-left:4px solid #d33}"
    "#warnings{background:#fff5d6;padding:.6em 1.8em;border-left:4px solid #e0a800}"
    ".note{color:#5b6475}"
    ".tlp{display:inline-block;background:#000;padding:.05em .5em;border-radius:2px;"
    "font-weight:700;font-family:ui-monospace,monospace;font-size:.9em}"
    ".tlp-red{color:#ff2b2b}.tlp-amber,.tlp-amber-strict{color:#ffc000}"
    ".tlp-green{color:#33ff00}.tlp-clear{color:#fff}"
    ".allow{color:#17803d;font-weight:600}.deny{color:#b42318;font-weight:600}"
    ".paging{margin:.8em 0;display:flex;gap:1em}"
    "svg{background:#fff;display:block;max-width:100%;height:auto}"
    ".st-connected{fill:#17803d;stroke:#17803d}.st-connecting{fill:#e0a800;stroke:#e0a800}"
    ".st-backoff{fill:#b42318;stroke:#b42318}.st-idle{fill:#8a93a6;stroke:#8a93a6}"
    "svg text{paint-order:stroke;stroke:#fff;stroke-width:3px;stroke-linejoin:round}"
    ".legend span{margin-right:.3em}"
    ".legend .st-connected{color:#17803d}.legend .st-connecting{color:#e0a800}"
    ".legend .st-backoff{color:#b42318}.legend .st-idle{color:#8a93a6}"
    ".series-received{stroke:#2f6fde;color:#2f6fde}.series-sent{stroke:#17803d;color:#17803d}"
    ".series-published{stroke:#8a3ffc;color:#8a3ffc}.series-refused{stroke:#b42318;color:#b42318}";
