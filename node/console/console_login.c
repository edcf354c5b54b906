/* console_login.c - sign-in and sign-out (console.h). */
#include <string.h>

#include <sodium.h>

#include "node/console/console_int.h"
#include "node/formats/taxii.h"
#include "node/shell/log.h"

static void set_cookie(struct console_req *r, size_t slot, const char *name, const char *value,
                       bool clear)
{
    snprintf(r->resp->cookies[slot], sizeof r->resp->cookies[slot],
             "%s=%s; HttpOnly; SameSite=Strict; Path=/ui/%s%s", name, value,
             clear ? "; Max-Age=0" : "", r->c->env.cfg->http.secure_cookie ? "; Secure" : "");
}

static bool token_ok(const char *hex)
{
    uint8_t bin[LIMIT_CONSOLE_TOKEN_BYTES];
    size_t len = 0;
    return hex && strlen(hex) == CONSOLE_TOKEN_HEX &&
           sodium_hex2bin(bin, sizeof bin, hex, CONSOLE_TOKEN_HEX, NULL, &len, NULL) == 0 &&
           len == sizeof bin;
}

/* The sign-in form, its CSRF token bound to the tlpm_pre cookie (a new one when absent). */
static int login_form(struct console_req *r, int status, const char *error)
{
    char pre[CONSOLE_TOKEN_HEX + 1], csrf[CONSOLE_TOKEN_HEX + 1];
    if (token_ok(r->req->pre)) {
        snprintf(pre, sizeof pre, "%s", r->req->pre);
    } else {
        uint8_t bin[LIMIT_CONSOLE_TOKEN_BYTES];
        randombytes_buf(bin, sizeof bin);
        sodium_bin2hex(pre, sizeof pre, bin, sizeof bin);
        set_cookie(r, 0, "tlpm_pre", pre, false);
    }
    console_csrf(r->c->secret, "pre", pre, csrf);
    struct console_page p;
    int rc = console_page_begin(&p, NULL, "Sign in");
    if (rc != CONSOLE_OK)
        return rc;
    if (error)
        console_error_p(&p, error);
    fputs("<form id=\"login\" class=\"panel\" method=\"post\" action=\"/ui/login\">"
          "<label for=\"user\">User</label><input id=\"user\" name=\"user\" autocomplete=\"username\" "
          "required>"
          "<label for=\"password\">Password</label><input id=\"password\" name=\"password\" "
          "type=\"password\" autocomplete=\"current-password\" required>",
          p.f);
    console_csrf_input(&p, csrf);
    fputs("<span></span><button type=\"submit\">Sign in</button></form>\n"
          "<p class=\"note\">The Name and Secret of a [Client] with Console = reader or "
          "publisher.</p>\n",
          p.f);
    return console_page_end(&p, r->resp, status);
}

int console_login_page(struct console_req *r)
{
    if (r->session)
        return console_redirect(r, "/ui/search");
    return login_form(r, 200, NULL);
}

/* The client whose Name and Secret these are and that may use the console, or NULL. The check
 * is the TAXII server's own (constant time, against every client). */
static const struct config_client *check_credentials(struct console_req *r, const char *user,
                                                     const char *password)
{
    const size_t ulen = strlen(user), plen = strlen(password);
    if (ulen == 0 || ulen > LIMIT_NAME_BYTES || plen > LIMIT_HTTP_SECRET_BYTES ||
        strchr(user, ':'))
        return NULL;
    char raw[LIMIT_NAME_BYTES + 1 + LIMIT_HTTP_SECRET_BYTES + 1];
    char header[sizeof "Basic " + sodium_base64_ENCODED_LEN(sizeof raw,
                                                             sodium_base64_VARIANT_ORIGINAL)];
    snprintf(raw, sizeof raw, "%s:%s", user, password);
    memcpy(header, "Basic ", 6);
    sodium_bin2base64(header + 6, sizeof header - 6, (const unsigned char *)raw, ulen + 1 + plen,
                      sodium_base64_VARIANT_ORIGINAL);
    struct gate_peer reader;
    const struct config_client *c = NULL;
    if (taxii_authenticate(r->c->env.cfg, header, &reader, &c) != TAXII_AUTH_CLIENT)
        c = NULL;
    sodium_memzero(raw, sizeof raw);
    sodium_memzero(header, sizeof header);
    return c && c->console != CONFIG_CONSOLE_NONE ? c : NULL;
}

int console_login_post(struct console_req *r)
{
    const char *addr = r->req->addr;
    const char *user = console_form(r, "user"), *password = console_form(r, "password");
    if (!console_signin_allowed(&r->c->signin, addr, user ? user : "", r->req->now_ms)) {
        log_event(LOG_WARN, "console_signin_limited", NULL, "user", user ? user : "", "addr",
                  addr, NULL);
        return console_error(r, 429, "too many failed sign-ins for this user or from this "
                                     "address: wait a few minutes");
    }
    if (r->req->form_bad)
        return console_error(r, 400, "the form could not be read");
    if (!console_csrf_ok(r->c->secret, "pre", r->req->pre, console_form(r, "csrf")))
        return login_form(r, 403, "the sign-in form's CSRF token is missing or wrong: try again");
    const struct config_client *c =
        user && password ? check_credentials(r, user, password) : NULL;
    if (!c) {
        console_signin_failed(&r->c->signin, addr, user ? user : "", r->req->now_ms);
        log_event(LOG_WARN, "console_signin_failed", NULL, "user", user ? user : "", "addr", addr,
                  NULL);
        return login_form(r, 403, "wrong user or password, or no console access");
    }
    /* No fixation: the session a sign-in makes is new, drawn here; one the request came with
     * ends, and the pre-session cookie whose token the form carried is dropped (the next sign-in
     * form draws another). */
    if (r->session)
        console_session_end(r->session);
    r->session = NULL;
    uint8_t token[LIMIT_CONSOLE_TOKEN_BYTES];
    char hex[CONSOLE_TOKEN_HEX + 1];
    randombytes_buf(token, sizeof token);
    console_session_new(&r->c->sessions, token, c->name, r->req->now_ms, hex);
    sodium_memzero(token, sizeof token);
    set_cookie(r, 0, "tlpm_session", hex, false);
    set_cookie(r, 1, "tlpm_pre", "", true);
    snprintf(r->resp->reader, sizeof r->resp->reader, "%s", c->name);
    log_event(LOG_INFO, "console_signin", NULL, "user", c->name, "addr", addr, NULL);
    return console_redirect(r, "/ui/search");
}

int console_logout_post(struct console_req *r)
{
    console_session_end(r->session);
    r->session = NULL;
    set_cookie(r, 0, "tlpm_session", "", true);
    return console_redirect(r, "/ui/login");
}
