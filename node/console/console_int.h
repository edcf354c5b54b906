/* console_int.h - what the console's files share; private to node/console/.
 *
 *   console.c          open, close, routing, who is signed in, the CSRF check
 *   console_auth.c     tokens, sessions, the sign-in limit (pure)
 *   console_html.c     escaping, the page frame, the stylesheet (pure)
 *   console_gate.c     the sightings a client may see (pure)
 *   console_login.c    sign-in and sign-out
 *   console_search.c   the search page, built on a pool thread
 *   console_record.c   the record page and revoke
 *   console_publish.c  the publish form
 *   console_peers.c    the peers page and the mesh picture
 *   console_activity.c the activity chart
 */
#ifndef TLPMESH_NODE_CONSOLE_INT_H
#define TLPMESH_NODE_CONSOLE_INT_H

#include "node/cli/cli.h"
#include "node/console/console.h"
#include "node/core/gate.h"

struct console {
    struct http_ui_env env;
    uint8_t secret[LIMIT_CONSOLE_TOKEN_BYTES]; /* keys the CSRF tokens; drawn at open */
    struct console_sessions sessions;
    struct console_signin_limit signin;
};

/* Who asks, as every page's frame needs it (copied into a search job). */
struct console_who {
    char client[LIMIT_NAME_BYTES + 1];
    bool publisher;
    bool own_org; /* of this node's Organisation: may see the peers page */
    char csrf[CONSOLE_TOKEN_HEX + 1]; /* of the session, for the forms of the page */
};

/* One request being answered. */
struct console_req {
    struct console *c;
    const struct http_ui_request *req;
    struct http_ui_response *resp;
    struct console_session *session;    /* NULL: not signed in */
    const struct config_client *client; /* the signed-in client, NULL when not */
    struct console_who who;
};

/* A page being written. */
struct console_page {
    FILE *f;
    char *buf;
    size_t len;
};

/* console.c */
const char *console_param(const struct taxii_param *f, size_t n, const char *key);
const char *console_query(const struct console_req *r, const char *key);
const char *console_form(const struct console_req *r, const char *key);
int console_redirect(struct console_req *r, const char *location);
/* An error page: status with <p id="error">message</p>. */
int console_error(struct console_req *r, int status, const char *message);
/* The node as the console uses the CLI's code: cfg and store of the running node, its key, the
 * control commands in-process. Heap (it holds a copy of the key): console_node_free. */
struct cli_node *console_node(struct console_req *r);
void console_node_free(struct cli_node *n);
/* The reader the gate sees for the signed-in client, and this node as the gate sees it. */
int console_gate_views(struct console_req *r, struct gate_peer *reader, struct gate_self *self);

/* The running node's answer to the control command "status" (new reference), or NULL. */
json_t *console_status(struct console_req *r);
/* The string member key of o, "" when absent or not a string. */
const char *console_jstr(const json_t *o, const char *key);

/* console_html.c */
extern const char console_css[];
/* Starts a page with the navigation for who (NULL: signed out). CONSOLE_OK or CONSOLE_E_NOMEM. */
int console_page_begin(struct console_page *p, const struct console_who *who, const char *title);
/* Ends the page into resp (status, body). */
int console_page_end(struct console_page *p, struct http_ui_response *resp, int status);
void console_page_abort(struct console_page *p);
/* Escaped text; the TLP badge of a proto_tlp_name ("amber+strict" -> TLP:AMBER+STRICT). */
void console_esc(struct console_page *p, const char *text);
void console_tlp_badge(struct console_page *p, const char *tlp_name, bool with_id);
/* text escaped, in the console's words: the option names of the shared CLI checks as the
 * form's field names ("--tlp" -> "tlp"), and with cfg_path, "CFG_PATH line N" as "this node's
 * configuration" (publishers are not told where the config file is). */
void console_cli_words(struct console_page *p, const char *text, const char *cfg_path);
/* <p id="error">message</p>, in the console's words (console_cli_words). */
void console_error_p(struct console_page *p, const char *message);
/* <select id name> of the names name_of(from..to-1), the one equal to chosen selected; first an
 * option "" labelled any when any is not NULL (selected when chosen is NULL or ""). */
void console_select(struct console_page *p, const char *id, const char *name, const char *any,
                    const char *chosen, int from, int to, const char *(*name_of)(int));
/* A hidden csrf input. */
void console_csrf_input(struct console_page *p, const char *csrf);

/* the pages */
int console_login_page(struct console_req *r);
int console_login_post(struct console_req *r);
int console_logout_post(struct console_req *r);
int console_search_page(struct console_req *r);
int console_record_page(struct console_req *r, const char *idhex);
int console_revoke_post(struct console_req *r, const char *idhex);
int console_publish_page(struct console_req *r);
int console_publish_post(struct console_req *r);
int console_peers_page(struct console_req *r);
int console_activity_page(struct console_req *r);

#endif
