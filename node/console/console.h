/* console.h - the analyst's web console under /ui/ (docs/OPERATIONS.md "Console"; the URLs and
 * forms are /work's CONSOLE.md contract, summed up here).
 *
 * Server-rendered HTML without JavaScript; the one stylesheet is in the binary
 * (/ui/static/console.css). A [Client] with `Console = reader` or `Console = publisher` signs in
 * with its Name and Secret; the gate then sees it exactly as the TAXII server does
 * (taxii_client_reader): search and record pages show what TAXII would serve that client.
 *   /ui/                    303 to /ui/search (signed in) or /ui/login
 *   /ui/login               GET the form, POST user, password, csrf (bound to cookie tlpm_pre)
 *   /ui/logout              POST csrf
 *   /ui/search              GET q (value; an address also finds the ranges containing it),
 *                           type, tlp, org (origin organisation), since, until, page
 *   /ui/record/ID           GET: show --json --explain of the record, 404 if the gate says no
 *                           (the explain table to clients of this node's Organisation only)
 *   /ui/record/ID/revoke    POST reason, csrf (publishers, records of this node's key)
 *   /ui/publish             GET the form, POST as `tlpmesh publish` (publishers)
 *   /ui/peers               the peers of `tlpmesh status --json`, and the mesh as inline SVG
 *   /ui/activity            records in and out and refusals per minute, inline SVG
 *   /ui/static/console.css  the stylesheet
 * Security: sessions are LIMIT_CONSOLE_TOKEN_BYTES random bytes (libsodium) in cookie
 * tlpm_session (HttpOnly, SameSite=Strict, Path=/ui/, Secure with [HTTP] SecureCookie = yes),
 * ending after LIMIT_CONSOLE_SESSION_IDLE_S unused or LIMIT_CONSOLE_SESSION_MAX_S in all, or
 * when its client loses Console in a reload. Every form carries a CSRF token, a keyed BLAKE2b of
 * the session token (of the tlpm_pre token for the sign-in form) under a key drawn at start;
 * a POST without the right one is 403. Failed sign-ins are logged (console_signin_failed) and
 * counted per (source address, user name) and per source address: past
 * LIMIT_CONSOLE_SIGNIN_FAILS for one name, or LIMIT_CONSOLE_SIGNIN_ADDR_FAILS for any names, in
 * LIMIT_CONSOLE_SIGNIN_WINDOW_S the answer is 429 whatever the credentials. Every value is HTML-escaped (console_html_escape);
 * the shell adds the Content-Security-Policy and the other headers (http.h HTTP_UI_CSP).
 *
 * Threads: console_ui's functions run on the loop thread; a search page is built by a job on a
 * pool thread (http.h struct http_ui_response .job) that holds copies of everything but the
 * store. Publish, revoke and record pages reuse the CLI's own code (node/cli/cli.h) on the loop
 * thread, with its error words captured (cli_error_capture) and the node's control commands
 * answered in-process (struct cli_node .control).
 *
 * Ownership: console_ui.open allocates the console, .close frees it; the env pointers outlive it.
 * The pure parts below (escaping, tokens, sessions, the sign-in limit, which sightings a
 * client sees) are unit-tested
 * (tests/test_console_auth.c).
 */
#ifndef TLPMESH_NODE_CONSOLE_H
#define TLPMESH_NODE_CONSOLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "node/config/config.h"
#include "node/core/gate.h"
#include "node/shell/http.h"
#include "proto/errors.h"
#include "proto/limits.h"

/* Error codes: X(name, value, message), range ERRORS_BASE_CONSOLE in proto/errors.h. */
#define CONSOLE_ERRORS(X)                                                                          \
    X(CONSOLE_E_NOMEM, ERRORS_BASE_CONSOLE - 0, "out of memory")                                   \
    /* a store read failed while a page was built */                                               \
    X(CONSOLE_E_STORE, ERRORS_BASE_CONSOLE - 1, "store error")

enum console_err {
    CONSOLE_OK = 0,
    CONSOLE_ERRORS(ERRORS_ENUM)
};

const char *console_strerror(int err);

/* The console, for http_params.ui (node/cli passes it to run_node). */
extern const struct http_ui console_ui;

/* ---- pure parts ---- */

#define CONSOLE_TOKEN_HEX (2 * LIMIT_CONSOLE_TOKEN_BYTES)

/* text with & < > " ' as entities: safe in element text and in quoted attributes. */
void console_html_escape(FILE *f, const char *text);
/* text percent-encoded for a query string value (unreserved characters kept). */
void console_url_encode(FILE *f, const char *text);

/* The CSRF token of a session or pre-session token (hex): hex of BLAKE2b-256 keyed with secret
 * over purpose and the token. */
void console_csrf(const uint8_t secret[LIMIT_CONSOLE_TOKEN_BYTES], const char *purpose,
                  const char *token, char out[CONSOLE_TOKEN_HEX + 1]);
/* Whether given (NULL: no) is the CSRF token of token, compared in constant time. */
bool console_csrf_ok(const uint8_t secret[LIMIT_CONSOLE_TOKEN_BYTES], const char *purpose,
                     const char *token, const char *given);

struct console_session {
    bool used;
    uint8_t token[LIMIT_CONSOLE_TOKEN_BYTES];
    char client[LIMIT_NAME_BYTES + 1]; /* the [Client] Name that signed in */
    uint64_t created_ms, used_ms;
};

struct console_sessions {
    struct console_session s[LIMIT_CONSOLE_SESSIONS];
};

/* A new session for client from token (random bytes the caller drew); the least recently used
 * one goes when all are taken. Writes the cookie value (hex) to hex. */
void console_session_new(struct console_sessions *t, const uint8_t token[LIMIT_CONSOLE_TOKEN_BYTES],
                         const char *client, uint64_t now_ms, char hex[CONSOLE_TOKEN_HEX + 1]);
/* The live session whose token is hex (NULL: none, a wrong or expired one, which is dropped);
 * marks it used at now_ms. Compares every slot in constant time. */
struct console_session *console_session_find(struct console_sessions *t, const char *hex,
                                             uint64_t now_ms);
void console_session_end(struct console_session *s);

/* Failures of one key: an address, or an address, a line break and a user name. */
#define CONSOLE_SIGNIN_KEY_BYTES (48 + 1 + LIMIT_NAME_BYTES + 1)
struct console_signin_count {
    char key[CONSOLE_SIGNIN_KEY_BYTES];
    uint64_t window_ms; /* start of its window */
    uint32_t fails;
};

struct console_signin_limit {
    struct console_signin_count addrs[LIMIT_CONSOLE_SIGNIN_ADDRS];
    struct console_signin_count names[LIMIT_CONSOLE_SIGNIN_NAMES];
};

/* May user try to sign in from addr at now_ms (fewer than LIMIT_CONSOLE_SIGNIN_FAILS failures
 * of that pair and fewer than LIMIT_CONSOLE_SIGNIN_ADDR_FAILS of addr in their windows)? */
bool console_signin_allowed(const struct console_signin_limit *l, const char *addr,
                            const char *user, uint64_t now_ms);
/* Counts a failure of user from addr, for the pair and for addr (the oldest entry of each table
 * makes room). */
void console_signin_failed(struct console_signin_limit *l, const char *addr, const char *user,
                           uint64_t now_ms);

/* May reader (taxii_client_reader's view of a console client) see sighting, a sighting of
 * target, on target's page? As the gate would send it to that reader; never RED. */
bool console_sighting_readable(const struct gate_self *self, const struct gate_peer *reader,
                               const struct proto_record *sighting,
                               const struct proto_record *target, uint64_t now_ms);

#endif
