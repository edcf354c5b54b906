/* cli_explain.c - the gate's verdict towards a party, in the words of docs/SHARING.md
 * (cli_explain.h; the command itself is in cli_explain_cmd.c). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/cli/cli_explain.h"
#include "node/formats/export.h"
#include "node/formats/taxii.h"

/* --- the parties, as each sending path sees them --- */

int cli_explainer_open(const char *cmd, struct cli_node *n, struct cli_explainer *x)
{
    memset(x, 0, sizeof *x);
    x->n = n;
    x->now_ms = cli_now_ms();
    community_table_init(&x->t);
    int rc = cli_community_table(cmd, n, &x->t);
    if (rc != CLI_OK)
        return rc;
    community_fill_self(&x->t, &n->cfg, &x->self);
    /* As cli_export.c gates an export: N's key and organisation, no memberships. */
    memcpy(x->export_self.key, x->t.self, LIMIT_KEY_BYTES);
    snprintf(x->export_self.org, sizeof x->export_self.org, "%s", n->cfg.organisation);
    return CLI_OK;
}

void cli_explainer_close(struct cli_explainer *x)
{
    community_table_free(&x->t);
    json_decref(x->holds);
    x->holds = NULL;
}

void cli_party_of_peer(struct cli_explainer *x, const struct config_peer *peer,
                       struct cli_party *pt)
{
    memset(pt, 0, sizeof *pt);
    pt->kind = CLI_PARTY_PEER;
    pt->peer = peer;
    community_fill_peer(&x->t, &x->n->cfg, peer->key, true, &pt->view);
    snprintf(pt->label, sizeof pt->label, "%s",
             peer->organisation[0] ? peer->organisation : peer->name);
    if (!pt->label[0])
        snprintf(pt->label, sizeof pt->label, "%.8s...", peer->key_b64);
}

void cli_party_of_client(const struct config_client *c, struct cli_party *pt)
{
    memset(pt, 0, sizeof *pt);
    pt->kind = CLI_PARTY_CLIENT;
    pt->client = c;
    taxii_client_reader(c, &pt->view);
    snprintf(pt->label, sizeof pt->label, "%s", c->name);
}

void cli_party_of_export(struct cli_explainer *x, int max_tlp, bool given, struct cli_party *pt)
{
    static struct export_job job; /* large; only self and max_tlp are read */
    memset(pt, 0, sizeof *pt);
    pt->kind = CLI_PARTY_EXPORT;
    pt->export_tlp_given = given;
    job.self = x->export_self;
    job.max_tlp = (uint8_t)max_tlp;
    export_receiver(&job, &pt->view);
    snprintf(pt->label, sizeof pt->label, "%s", x->n->cfg.organisation);
}

/* --- the reason, in words --- */

static void tlp_upper(int tlp, char out[16])
{
    const char *name = proto_tlp_name(tlp);
    size_t i = 0;
    for (; name[i] && i < 15; i++)
        out[i] = (char)toupper((unsigned char)name[i]);
    out[i] = '\0';
}

/* Where P's membership of community name comes from: its own config section, else the first
 * trusted roster (by owner, name) that lists its key. */
static void community_source(const struct cli_explainer *x, const struct cli_party *pt,
                             const char *name, char *out, size_t cap)
{
    const struct config *cfg = &x->n->cfg;
    const char(*lines)[LIMIT_NAME_BYTES + 1] = NULL;
    size_t count = 0;
    int line = 0;
    if (pt->peer) {
        lines = pt->peer->communities, count = pt->peer->n_communities, line = pt->peer->line;
    } else if (pt->client) {
        lines = pt->client->communities, count = pt->client->n_communities;
        line = pt->client->line;
    }
    for (size_t i = 0; i < count; i++)
        if (strcmp(lines[i], name) == 0) {
            snprintf(out, cap, "Community in its [%s], %.200s line %d",
                     pt->peer ? "Peer" : "Client", cfg->path, line);
            return;
        }
    for (size_t i = 0; i < x->t.n_rosters; i++) {
        const struct community_roster *ro = &x->t.rosters[i];
        if (!ro->trusted || ro->revoked || strcmp(ro->name, name) != 0)
            continue;
        for (size_t m = 0; m < ro->n_members; m++)
            if (memcmp(ro->members[m].key, pt->view.key, LIMIT_KEY_BYTES) == 0) {
                const char *org = community_org_of_key(&x->t, cfg, ro->owner);
                snprintf(out, cap, "roster v%llu by %s", (unsigned long long)ro->version,
                         org[0] ? org : "an unnamed owner");
                return;
            }
    }
    snprintf(out, cap, "membership as this node resolves it");
}

static void audience_words(const struct proto_audience *a, char *out, size_t cap)
{
    if (a->n_communities == 0 && a->n_recipients == 0) {
        snprintf(out, cap, "the whole network");
        return;
    }
    size_t len = (size_t)snprintf(out, cap, "%s", a->n_communities ? "community " : "");
    for (size_t i = 0; i < a->n_communities && len < cap; i++)
        len += (size_t)snprintf(out + len, cap - len, "%s%s", i ? ", " : "", a->communities[i]);
    if (a->n_recipients && len < cap)
        snprintf(out + len, cap - len, "%s%u recipient%s", a->n_communities ? " and " : "",
                 a->n_recipients, a->n_recipients == 1 ? "" : "s");
}

/* Where P's ceiling is set: the MaxTLP line, the default, or the export's --max-tlp. */
static void ceiling_source(const struct cli_explainer *x, const struct cli_party *pt, char *out,
                           size_t cap)
{
    const char *path = x->n->cfg.path;
    if (pt->kind == CLI_PARTY_EXPORT)
        snprintf(out, cap,
                 pt->export_tlp_given ? "--max-tlp"
                                      : "the export's default; --max-tlp "
                                        "raises it");
    else if (pt->peer && pt->peer->max_tlp_line)
        snprintf(out, cap, "MaxTLP in %.200s line %d", path, pt->peer->max_tlp_line);
    else if (pt->peer)
        snprintf(out, cap, "the default: no MaxTLP in its [Peer], %.200s line %d", path,
                 pt->peer->line);
    else if (pt->client && pt->client->max_tlp_line)
        snprintf(out, cap, "MaxTLP in %.200s line %d; HTTP serves at most amber+strict", path,
                 pt->client->max_tlp_line);
    else
        snprintf(out, cap, "the default: no MaxTLP in its [Client], %.200s line %d", path,
                 pt->client ? pt->client->line : 0);
}

/* Why no ground of GREEN / AMBER / AMBER+STRICT held. */
static void not_in_audience(const struct cli_explainer *x, const struct cli_party *pt,
                            const struct gate_reason *why, char *out, size_t cap)
{
    const char *org = x->n->cfg.organisation;
    const char *who = pt->label;
    int len = snprintf(out, cap,
                       "%s is not in that audience and not in this node's organisation "
                       "%s",
                       who, org[0] ? org : "(none configured)");
    if (len < 0 || (size_t)len >= cap)
        return;
    if (why->tlp != PROTO_TLP_AMBER)
        snprintf(out + len, cap - (size_t)len, "%s",
                 why->client ? " (clients count for AMBER "
                               "only)"
                             : "");
    else if (why->client)
        snprintf(out + len, cap - (size_t)len,
                 "; it is a declared client, but this node is not "
                 "in the audience itself");
    else
        snprintf(out + len, cap - (size_t)len, ", and not a declared client");
}

static void allow_words(const struct cli_explainer *x, const struct cli_party *pt,
                        const struct gate_reason *why, const struct proto_record *d, char *out,
                        size_t cap)
{
    char src[256];
    const char *who = pt->label, *org = x->n->cfg.organisation;
    switch (why->ground) {
    case GATE_GROUND_CLEAR:
        snprintf(out, cap, "TLP:CLEAR goes to anyone");
        return;
    case GATE_GROUND_DEFAULT_AUDIENCE:
        snprintf(out, cap, "the audience is the whole network and %s is an authenticated member",
                 who);
        return;
    case GATE_GROUND_RECIPIENT:
        snprintf(out, cap, "%s's key is among the %u recipient%s", who, why->n_recipients,
                 why->n_recipients == 1 ? "" : "s");
        return;
    case GATE_GROUND_COMMUNITY:
        community_source(x, pt, d->audience.communities[why->community], src, sizeof src);
        snprintf(out, cap, "%s is in community %s (%s)", who,
                 d->audience.communities[why->community], src);
        return;
    case GATE_GROUND_SAME_ORG:
        snprintf(out, cap, "%s is in this node's organisation %s", who, org);
        return;
    case GATE_GROUND_CLIENT:
        snprintf(out, cap, "%s is a declared client of %s and this node is in the audience", who,
                 org);
        return;
    default:
        snprintf(out, cap, "%s is its origin", who);
        return;
    }
}

static void deny_words(const struct cli_explainer *x, const struct cli_party *pt,
                       const struct gate_reason *why, const struct proto_record *d, char *out,
                       size_t cap)
{
    char tlp[16], ceil[16], aud[256], src[256];
    tlp_upper(why->tlp, tlp);
    switch (why->verdict) {
    case GATE_DENY_REVOKED:
        snprintf(out, cap, "revoked: a verified revocation by its origin is stored");
        return;
    case GATE_DENY_EXPIRED:
        snprintf(out, cap, "expired: an indicator past its valid-until is sent to nobody");
        return;
    case GATE_DENY_PEER_HAS:
        snprintf(out, cap, "%s already has it", pt->label);
        return;
    case GATE_DENY_CEILING:
        ceiling_source(x, pt, src, sizeof src);
        snprintf(ceil, sizeof ceil, "%s", proto_tlp_name(why->ceiling));
        snprintf(out, cap, "link ceiling %s < %s (%s)", ceil, proto_tlp_name(why->tlp), src);
        return;
    case GATE_DENY_NOT_IN_AUDIENCE:
        audience_words(&d->audience, aud, sizeof aud);
        snprintf(out, cap, "TLP:%s for %s: ", tlp, aud);
        not_in_audience(x, pt, why, out + strlen(out), cap - strlen(out));
        return;
    case GATE_DENY_RED_NO_RECIPIENTS:
        snprintf(out, cap, "TLP:RED with no recipients goes nowhere");
        return;
    case GATE_DENY_NOT_RECIPIENT:
        snprintf(out, cap, "TLP:RED and %s's key is not among the %u recipient%s", pt->label,
                 why->n_recipients, why->n_recipients == 1 ? "" : "s");
        return;
    case GATE_DENY_UNKNOWN_TARGET:
        snprintf(out, cap, "a sighting of a record this node does not hold goes nowhere");
        return;
    default:
        snprintf(out, cap, "invalid input: refused, never guessed");
        return;
    }
}

void cli_explain_words(const struct cli_explainer *x, const struct cli_party *pt,
                       const struct gate_reason *why, const struct proto_record *r,
                       const struct proto_record *target, char *out, size_t cap)
{
    const struct proto_record *d = why->by_target ? target : r;
    char tlp[16], body[768], prefix[64] = "";
    tlp_upper(why->tlp, tlp);
    if (why->by_target)
        snprintf(prefix, sizeof prefix, "its target: ");
    if (why->verdict == GATE_ALLOW) {
        allow_words(x, pt, why, d, body, sizeof body);
        if (why->ground == GATE_GROUND_CLEAR)
            snprintf(out, cap, "allow: %s%s", prefix, body);
        else
            snprintf(out, cap, "allow: %s%s, %s", prefix, tlp, body);
    } else {
        deny_words(x, pt, why, d, body, sizeof body);
        snprintf(out, cap, "deny: %s%s", prefix, body);
    }
}

/* --- asking the gate --- */

enum gate_verdict cli_explain_party(struct cli_explainer *x, const struct cli_party *pt,
                                    const struct cli_shown *s, const struct proto_record *target,
                                    struct gate_reason *why)
{
    const struct gate_self *self = pt->kind == CLI_PARTY_EXPORT ? &x->export_self : &x->self;
    const struct gate_record_state st = {.revoked = s->revoked, .target = target};
    return gate_check_reason(self, &pt->view, &s->rec, &st, x->now_ms, why);
}

/* What the running node's gossip knows of every peer's copy of s: the answer's "peers" object
 * ({KEY: "sent"|...}), asked once per record and kept in x; NULL when no node answers. */
static const json_t *node_holds(struct cli_explainer *x, const struct cli_shown *s)
{
    if (x->holds_asked && memcmp(x->holds_id, s->id, LIMIT_ID_BYTES) == 0)
        return json_object_get(x->holds, "peers");
    char hex[2 * LIMIT_ID_BYTES + 1];
    cli_id_hex(s->id, hex);
    json_decref(x->holds);
    x->holds = cli_node_ask(x->n, json_pack("{s:s, s:s}", "cmd", "holds", "id", hex));
    if (x->holds && !json_is_true(json_object_get(x->holds, "ok"))) {
        json_decref(x->holds); /* a node without the command: as good as none */
        x->holds = NULL;
    }
    x->holds_asked = true;
    memcpy(x->holds_id, s->id, LIMIT_ID_BYTES);
    return json_object_get(x->holds, "peers");
}

const char *cli_explain_holds(struct cli_explainer *x, const struct cli_party *pt,
                              const struct cli_shown *s)
{
    if (pt->kind == CLI_PARTY_EXPORT)
        return "n/a";
    const bool origin =
        pt->kind == CLI_PARTY_PEER && memcmp(pt->peer->key, s->rec.origin, LIMIT_KEY_BYTES) == 0;
    const json_t *peers = pt->kind == CLI_PARTY_PEER ? node_holds(x, s) : NULL;
    const char *how = json_string_value(json_object_get(peers, pt->peer ? pt->peer->key_b64 : ""));
    if (how && strcmp(how, "not-known") != 0)
        return how; /* what gossip saw beats what the record says */
    if (origin)
        return "origin";
    if (pt->kind == CLI_PARTY_CLIENT)
        return "unknown"; /* TAXII keeps no per-client record */
    return peers ? "not-known" : "node-not-running";
}

const char *cli_explain_holds_words(const char *how)
{
    static const struct {
        const char *how, *words;
    } words[] = {
        {"received", "yes (received from it)"},
        {"sent", "yes (sent to it)"},
        {"announced", "yes (it announced it)"},
        {"origin", "yes (its origin)"},
        {"not-known", "not known"},
        {"node-not-running", "unknown (node not running)"},
        {"unknown", "unknown (the TAXII server keeps no record of what each client fetched)"},
    };
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (strcmp(words[i].how, how) == 0)
            return words[i].words;
    return how;
}

json_t *cli_explain_json(struct cli_explainer *x, const struct cli_party *pt,
                         const struct cli_shown *s, const struct proto_record *target,
                         const struct gate_reason *why)
{
    static const char *const kinds[] = {"peer", "client", "export"};
    char text[1024], hex[2 * LIMIT_ID_BYTES + 1];
    cli_explain_words(x, pt, why, &s->rec, target, text, sizeof text);
    cli_id_hex(s->id, hex);
    const char *how = cli_explain_holds(x, pt, s);
    const char *holds = cli_explain_holds_words(how);
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:s, s:s, s:s}", "id", hex, "party",
                          kinds[pt->kind], "name", pt->label, "verdict",
                          why->verdict == GATE_ALLOW ? "allow" : "deny", "rule",
                          gate_verdict_name(why->verdict), "ground", gate_ground_name(why->ground),
                          "by_target", why->by_target, "reason", text, "holds",
                          strncmp(holds, "yes", 3) == 0   ? "yes"
                          : strcmp(how, "n/a") == 0       ? "n/a"
                          : strcmp(how, "not-known") == 0 ? "not-known"
                                                          : "unknown",
                          "holds_how", how);
    if (o && pt->peer)
        json_object_set_new(o, "key", json_string(pt->peer->key_b64));
    return o;
}

/* One party's line of the table: text, or an object appended to arr. */
static bool explain_line(struct cli_explainer *x, const struct cli_party *pt,
                         const struct cli_shown *s, const struct proto_record *target, json_t *arr)
{
    struct gate_reason why;
    cli_explain_party(x, pt, s, target, &why);
    if (arr) {
        json_array_append_new(arr, cli_explain_json(x, pt, s, target, &why));
    } else {
        char text[1024];
        cli_explain_words(x, pt, &why, &s->rec, target, text, sizeof text);
        const char *holds = cli_explain_holds_words(cli_explain_holds(x, pt, s));
        const bool yes = strncmp(holds, "yes ", 4) == 0;
        printf("%-6s %-20s %s%s%s\n", pt->kind == CLI_PARTY_PEER ? "peer" : "client", pt->label,
               text, yes ? "; it holds it already " : "", yes ? holds + 4 : "");
    }
    return why.verdict == GATE_ALLOW;
}

size_t cli_explain_all(struct cli_explainer *x, const struct cli_shown *s,
                       const struct proto_record *target, json_t *arr)
{
    const struct config *cfg = &x->n->cfg;
    static struct cli_party pt;
    size_t allowed = 0;
    for (size_t i = 0; i < cfg->n_peers; i++) {
        cli_party_of_peer(x, &cfg->peers[i], &pt);
        allowed += explain_line(x, &pt, s, target, arr);
    }
    for (size_t i = 0; i < cfg->n_clients; i++) {
        cli_party_of_client(&cfg->clients[i], &pt);
        allowed += explain_line(x, &pt, s, target, arr);
    }
    if (!arr && cfg->n_peers == 0 && cfg->n_clients == 0)
        printf("(no peers and no clients configured)\n");
    return allowed;
}

const struct proto_record *cli_explain_target(struct cli_explainer *x, const struct cli_shown *s,
                                              struct cli_shown *out)
{
    const uint8_t *tid = s->rec.kind == PROTO_KIND_REVOCATION ? s->rec.u.rev.target
                         : s->rec.kind == PROTO_KIND_SIGHTING ? s->rec.u.sight.target
                                                              : NULL;
    if (!tid)
        return NULL;
    static uint8_t buf[LIMIT_SIG_BYTES + LIMIT_RECORD_BYTES];
    size_t len;
    uint64_t seq;
    if (store_get(x->n->store, tid, buf, sizeof buf, &len, &seq) != STORE_OK ||
        cli_load_shown(x->n->store, tid, buf, len, seq, x->now_ms, out) != PROTO_OK)
        return NULL;
    return &out->rec;
}

int cli_explain_show(struct cli_node *n, const struct cli_shown *s, json_t *extra)
{
    static struct cli_explainer x;
    static struct cli_shown target_shown;
    int rc = cli_explainer_open("show", n, &x);
    if (rc == CLI_OK) {
        const struct proto_record *target = cli_explain_target(&x, s, &target_shown);
        json_t *arr = extra ? json_array() : NULL;
        if (!extra)
            printf("explain\n");
        cli_explain_all(&x, s, target, arr);
        if (arr)
            json_object_set_new(extra, "explain", arr);
    }
    cli_explainer_close(&x);
    return rc;
}

/* --- publish: audiences that cannot be reached today --- */

/* A warning line to stderr, and to arr when not NULL. */
static void warn(json_t *arr, const char *text)
{
    if (!cli_error_capturing())
        fprintf(stderr, "tlpmesh publish: warning: %s\n", text);
    if (arr)
        json_array_append_new(arr, json_string(text));
}

/* Does any configured peer pass the gate for r (so that r can leave this node at all)? */
static bool some_peer_allowed(struct cli_explainer *x, const struct cli_shown *s)
{
    static struct cli_party pt;
    struct gate_reason why;
    for (size_t i = 0; i < x->n->cfg.n_peers; i++) {
        cli_party_of_peer(x, &x->n->cfg.peers[i], &pt);
        if (cli_explain_party(x, &pt, s, NULL, &why) == GATE_ALLOW)
            return true;
    }
    return false;
}

static size_t unreachable_recipient(struct cli_explainer *x, const struct cli_shown *s,
                                    const uint8_t key[LIMIT_KEY_BYTES], json_t *arr)
{
    static struct cli_party pt;
    char b64[LIMIT_PUBKEY_B64_LEN + 1], text[1280], words[1024];
    keys_pubkey_to_b64(key, b64);
    const struct config_peer *peer = config_find_peer(&x->n->cfg, key);
    if (memcmp(key, x->self.key, LIMIT_KEY_BYTES) == 0)
        return 0;
    if (!peer) {
        if (some_peer_allowed(x, s))
            return 0;
        snprintf(text, sizeof text,
                 "recipient %s is not a configured peer, and no peer may "
                 "receive this record to pass it on",
                 b64);
        warn(arr, text);
        return 1;
    }
    struct gate_reason why;
    cli_party_of_peer(x, peer, &pt);
    if (cli_explain_party(x, &pt, s, NULL, &why) == GATE_ALLOW)
        return 0;
    cli_explain_words(x, &pt, &why, &s->rec, NULL, words, sizeof words);
    const char *rule = strncmp(words, "deny: ", 6) == 0 ? words + 6 : words;
    snprintf(text, sizeof text, "recipient %s (%s) cannot receive it: %s", pt.label, b64, rule);
    warn(arr, text);
    return 1;
}

/* Is name a community anyone can be in: a Community line of a [Peer] or [Client], or a trusted
 * roster (this node's own memberships come from those rosters)? */
static bool community_defined(const struct cli_explainer *x, const char *name)
{
    const struct config *cfg = &x->n->cfg;
    for (size_t i = 0; i < cfg->n_peers; i++)
        for (size_t c = 0; c < cfg->peers[i].n_communities; c++)
            if (strcmp(cfg->peers[i].communities[c], name) == 0)
                return true;
    for (size_t i = 0; i < cfg->n_clients; i++)
        for (size_t c = 0; c < cfg->clients[i].n_communities; c++)
            if (strcmp(cfg->clients[i].communities[c], name) == 0)
                return true;
    for (size_t i = 0; i < x->t.n_rosters; i++)
        if (x->t.rosters[i].trusted && strcmp(x->t.rosters[i].name, name) == 0)
            return true;
    return false;
}

size_t cli_explain_unreachable(struct cli_explainer *x, const struct proto_record *r, json_t *arr)
{
    static struct cli_shown s;
    char text[256];
    size_t n = 0;
    memset(&s, 0, sizeof s);
    s.rec = *r;
    for (size_t i = 0; i < r->audience.n_recipients; i++)
        n += unreachable_recipient(x, &s, r->audience.recipients[i], arr);
    for (size_t i = 0; i < r->audience.n_communities; i++) {
        if (community_defined(x, r->audience.communities[i]))
            continue;
        snprintf(text, sizeof text,
                 "community %s: no [Peer] or [Client] Community line and no "
                 "trusted roster defines it, so nobody is in it",
                 r->audience.communities[i]);
        warn(arr, text);
        n++;
    }
    return n;
}

size_t cli_publish_warnings(struct cli_node *n, const struct proto_record *r, json_t *arr)
{
    static struct cli_explainer x;
    size_t count = 0;
    if (cli_explainer_open("publish", n, &x) == CLI_OK)
        count = cli_explain_unreachable(&x, r, arr);
    cli_explainer_close(&x);
    return count;
}

void cli_publish_report(struct cli_node *n, const struct proto_record *r, const char *idhex,
                        bool is_new, bool json)
{
    json_t *warnings = json ? json_array() : NULL;
    cli_publish_warnings(n, r, warnings);
    if (json) {
        cli_print_json_line(
            json_pack("{s:s, s:b, s:o}", "id", idhex, "new", is_new, "warnings", warnings));
    } else {
        printf("%s\n", idhex);
    }
}
