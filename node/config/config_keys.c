/* config_keys.c - the keys of each section and their setters: what a value must look like and
 * where it goes in struct config (the parser that calls them is config_parse.c). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "crypto/keys.h"
#include "node/config/config_int.h"
#include "proto/indicator.h"

/* --- value checks --- */

/* Community, organisation, network and peer names. */
static bool name_check(const char *value, char *why, size_t why_len)
{
    size_t len = strlen(value);
    if (len > LIMIT_NAME_BYTES) {
        snprintf(why, why_len, "is %zu bytes; names are 1 to %d bytes", len, LIMIT_NAME_BYTES);
        return false;
    }
    if (!proto_utf8_valid(value, len)) {
        snprintf(why, why_len, "is not valid UTF-8");
        return false;
    }
    return true;
}

static bool port_parse(const char *text, uint16_t *port)
{
    size_t len = strlen(text);
    if (len == 0 || len > 5 || strspn(text, "0123456789") != len)
        return false;
    long v = strtol(text, NULL, 10);
    if (v < 1 || v > 65535)
        return false;
    *port = (uint16_t)v;
    return true;
}

/* HOST:PORT or [IPV6]:PORT. */
static bool endpoint_parse(const char *text, struct config_endpoint *ep, char *why, size_t why_len)
{
    assert(text && ep && why);
    /* The reader bounds every value by LIMIT_CONFIG_ENTRY_BYTES, and editors re-parse. */
    assert(strlen(text) <= LIMIT_CONFIG_ENTRY_BYTES);
    char host[LIMIT_CONFIG_ENTRY_BYTES + 1];
    const char *port;
    size_t host_len;
    if (text[0] == '[') {
        const char *close = strchr(text, ']');
        if (!close || close[1] != ':') {
            snprintf(why, why_len, "expected [IPV6]:PORT");
            return false;
        }
        host_len = (size_t)(close - text - 1);
        memcpy(host, text + 1, host_len);
        host[host_len] = '\0';
        unsigned char addr[16];
        if (inet_pton(AF_INET6, host, addr) != 1) {
            snprintf(why, why_len, "'%s' is not an IPv6 address", host);
            return false;
        }
        port = close + 2;
    } else {
        const char *colon = strrchr(text, ':');
        if (!colon) {
            snprintf(why, why_len, "expected HOST:PORT");
            return false;
        }
        host_len = (size_t)(colon - text);
        memcpy(host, text, host_len);
        host[host_len] = '\0';
        if (memchr(host, ':', host_len)) {
            snprintf(why, why_len, "an IPv6 address needs brackets: [ADDRESS]:PORT");
            return false;
        }
        if (host_len == 0 || host_len > LIMIT_CONFIG_HOST_BYTES ||
            strspn(host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") !=
                host_len) {
            snprintf(why, why_len, "'%s' is not a host name or IPv4 address", host);
            return false;
        }
        port = colon + 1;
    }
    if (!port_parse(port, &ep->port)) {
        snprintf(why, why_len, "port '%s' is not a number from 1 to 65535", port);
        return false;
    }
    assert(host_len <= LIMIT_CONFIG_HOST_BYTES);
    memcpy(ep->host, host, host_len + 1);
    return true;
}

/* --- [Node] and [Peer] --- */

static void set_path(struct config_parse *p, const char *key, const char *value, char *out)
{
    int n = value[0] == '/' ? snprintf(out, LIMIT_PATH_BYTES, "%s", value)
                            : snprintf(out, LIMIT_PATH_BYTES, "%s/%s", p->cfg->dir, value);
    if (n < 0 || n >= LIMIT_PATH_BYTES) {
        out[0] = '\0';
        config_problem(p, "%s: path too long once resolved (limit %d bytes)", key,
                       LIMIT_PATH_BYTES - 1);
    }
}

static void set_name(struct config_parse *p, const char *key, const char *value, char *out)
{
    char why[LIMIT_CONFIG_DIAG_BYTES];
    if (!name_check(value, why, sizeof(why))) {
        config_problem(p, "%s: '%s' %s", key, value, why);
        return;
    }
    snprintf(out, LIMIT_NAME_BYTES + 1, "%s", value);
}

static bool set_key(struct config_parse *p, const char *key, const char *value,
                    uint8_t out[LIMIT_KEY_BYTES])
{
    if (keys_pubkey_from_b64(value, out) != KEYS_OK) {
        config_problem(p, "%s: '%s' " CONFIG_NOT_A_KEY, key, value);
        return false;
    }
    return true;
}

static void set_key_file(struct config_parse *p, const char *v)
{
    set_path(p, "KeyFile", v, p->cfg->key_file);
}
static void set_data_dir(struct config_parse *p, const char *v)
{
    set_path(p, "DataDir", v, p->cfg->data_dir);
}
/* The LMDB map a store starts with (it doubles when full): operators who know their store will
 * be large start big, tests start small to exercise the growth. */
static void set_store_map(struct config_parse *p, const char *v)
{
    char *end;
    errno = 0;
    unsigned long n = strtoul(v, &end, 10);
    if (v[0] < '0' || v[0] > '9' || *end || errno || n < LIMIT_STORE_MAPSIZE_MIN_MB ||
        n > LIMIT_STORE_MAPSIZE_MAX_MB) {
        config_problem(p, "StoreMapInitialMB: '%s' is not a number from %d to %d", v,
                       LIMIT_STORE_MAPSIZE_MIN_MB, LIMIT_STORE_MAPSIZE_MAX_MB);
        return;
    }
    p->cfg->store_map_mb = (uint32_t)n;
}
/* How long a partner's rotated-away key is still accepted (LIMIT_KEY_GRACE_MS by default);
 * operators who must retire keys sooner lower it, tests lower it to seconds. */
static void set_key_grace(struct config_parse *p, const char *v)
{
    char *end;
    errno = 0;
    unsigned long n = strtoul(v, &end, 10);
    if (v[0] < '0' || v[0] > '9' || *end || errno || n < LIMIT_KEY_GRACE_MIN_MS / 1000 ||
        n > LIMIT_KEY_GRACE_MS / 1000) {
        config_problem(p, "KeyGraceSeconds: '%s' is not a number from %d to %d", v,
                       LIMIT_KEY_GRACE_MIN_MS / 1000, LIMIT_KEY_GRACE_MS / 1000);
        return;
    }
    p->cfg->key_grace_ms = (uint64_t)n * 1000;
}
static void set_network(struct config_parse *p, const char *v)
{
    set_name(p, "Network", v, p->cfg->network);
}
static void set_node_org(struct config_parse *p, const char *v)
{
    set_name(p, "Organisation", v, p->cfg->organisation);
}

static void set_control(struct config_parse *p, const char *v)
{
    p->control_line = p->lineno;
    set_path(p, "Control", v, p->cfg->control_path);
}

static void set_endpoint(struct config_parse *p, const char *key, const char *value,
                         struct config_endpoint *ep, bool *has)
{
    char why[LIMIT_CONFIG_DIAG_BYTES];
    if (!endpoint_parse(value, ep, why, sizeof(why))) {
        config_problem(p, "%s: '%s': %s", key, value, why);
        return;
    }
    *has = true;
}

static void set_listen(struct config_parse *p, const char *v)
{
    set_endpoint(p, "Listen", v, &p->cfg->listen, &p->cfg->has_listen);
}

static void set_roster_owner(struct config_parse *p, const char *v)
{
    struct config *cfg = p->cfg;
    uint8_t key[LIMIT_KEY_BYTES];
    if (!set_key(p, "TrustRosterOwner", v, key))
        return;
    for (size_t i = 0; i < cfg->n_roster_owners; i++) {
        if (memcmp(cfg->roster_owners[i], key, sizeof(key)) == 0) {
            config_problem(p, "TrustRosterOwner: '%s' is listed twice", v);
            return;
        }
    }
    if (cfg->n_roster_owners == LIMIT_TRUSTED_ROSTER_OWNERS) {
        config_problem(p, "TrustRosterOwner: too many (limit %d)", LIMIT_TRUSTED_ROSTER_OWNERS);
        return;
    }
    memcpy(cfg->roster_owners[cfg->n_roster_owners++], key, sizeof(key));
}

static void set_peer_key(struct config_parse *p, const char *v)
{
    struct config_peer *peer = config_current_peer(p);
    uint8_t key[LIMIT_KEY_BYTES];
    if (!set_key(p, "PublicKey", v, key))
        return;
    const struct config_peer *other = config_find_peer(p->cfg, key);
    if (other) {
        config_problem(p, "PublicKey: duplicate peer key (also in the [Peer] at line %d)",
                       other->line);
        return;
    }
    memcpy(peer->key, key, sizeof(key));
    snprintf(peer->key_b64, sizeof(peer->key_b64), "%s", v);
    peer->key_line = p->lineno;
}

static void set_peer_recovery(struct config_parse *p, const char *v)
{
    struct config_peer *peer = config_current_peer(p);
    if (set_key(p, "RecoveryKey", v, peer->recovery_key))
        peer->has_recovery_key = true;
}

static void set_peer_endpoint(struct config_parse *p, const char *v)
{
    struct config_peer *peer = config_current_peer(p);
    set_endpoint(p, "Endpoint", v, &peer->endpoint, &peer->has_endpoint);
}

static void set_peer_org(struct config_parse *p, const char *v)
{
    set_name(p, "Organisation", v, config_current_peer(p)->organisation);
}

static void set_peer_name(struct config_parse *p, const char *v)
{
    set_name(p, "Name", v, config_current_peer(p)->name);
}

/* A Community line of the current [Peer] or [Client]. */
static void add_community(struct config_parse *p, const char *v,
                          char communities[][LIMIT_NAME_BYTES + 1], size_t *n)
{
    const char *who = p->section == CONFIG_SECTION_PEER ? "peer" : "client";
    for (size_t i = 0; i < *n; i++) {
        if (strcmp(communities[i], v) == 0) {
            config_problem(p, "Community: '%s' is listed twice for this %s", v, who);
            return;
        }
    }
    if (*n == LIMIT_PEER_COMMUNITIES) {
        config_problem(p, "Community: too many for one %s (limit %d)", who, LIMIT_PEER_COMMUNITIES);
        return;
    }
    char name[LIMIT_NAME_BYTES + 1] = "";
    set_name(p, "Community", v, name);
    if (name[0])
        memcpy(communities[(*n)++], name, sizeof(name));
}

static void set_community(struct config_parse *p, const char *v)
{
    struct config_peer *peer = config_current_peer(p);
    char(*c)[LIMIT_NAME_BYTES + 1] =
        realloc(peer->communities, (peer->n_communities + 1) * sizeof *c); /* room for v */
    if (c == NULL) {
        p->nomem = true;
        return;
    }
    peer->communities = c;
    add_community(p, v, peer->communities, &peer->n_communities);
}

static int parse_max_tlp(struct config_parse *p, const char *v)
{
    int tlp = proto_tlp_parse(v);
    if (!proto_tlp_valid(tlp))
        config_problem(
            p, "MaxTLP: '%s' is not a TLP level (clear, green, amber, amber+strict, red)", v);
    return tlp;
}

static void set_max_tlp(struct config_parse *p, const char *v)
{
    int tlp = parse_max_tlp(p, v);
    if (proto_tlp_valid(tlp)) {
        config_current_peer(p)->max_tlp = tlp;
        config_current_peer(p)->max_tlp_line = p->lineno;
    }
}

static void parse_relation(struct config_parse *p, const char *v, enum config_relation *out)
{
    if (strcasecmp(v, "partner") == 0)
        *out = CONFIG_RELATION_PARTNER;
    else if (strcasecmp(v, "client") == 0)
        *out = CONFIG_RELATION_CLIENT;
    else
        config_problem(p, "Relation: '%s' is neither partner nor client", v);
}

static void set_relation(struct config_parse *p, const char *v)
{
    parse_relation(p, v, &config_current_peer(p)->relation);
}

/* --- [Node] logging, [HTTP], [Client] --- */

static void set_log_file(struct config_parse *p, const char *v)
{
    set_path(p, "LogFile", v, p->cfg->log_file);
}

static void set_log_format(struct config_parse *p, const char *v)
{
    if (strcmp(v, "text") == 0)
        p->cfg->log_format = 0;
    else if (strcmp(v, "json") == 0)
        p->cfg->log_format = 1;
    else
        config_problem(p, "LogFormat: '%s' is neither text nor json", v);
}

static void set_http_listen(struct config_parse *p, const char *v)
{
    set_endpoint(p, "Listen", v, &p->cfg->http.listen, &p->cfg->http.enabled);
}

static void set_metrics_listen(struct config_parse *p, const char *v)
{
    set_endpoint(p, "MetricsListen", v, &p->cfg->http.metrics_listen,
                 &p->cfg->http.has_metrics_listen);
}

/* A yes/no key (true/false also); a problem names key. */
static void set_yes_no(struct config_parse *p, const char *key, const char *v, bool *out)
{
    if (strcasecmp(v, "yes") == 0 || strcasecmp(v, "true") == 0)
        *out = true;
    else if (strcasecmp(v, "no") == 0 || strcasecmp(v, "false") == 0)
        *out = false;
    else
        config_problem(p, "%s: '%s' is neither yes nor no", key, v);
}

static void set_anonymous(struct config_parse *p, const char *v)
{
    set_yes_no(p, "Anonymous", v, &p->cfg->http.anonymous);
}

static void set_secure_cookie(struct config_parse *p, const char *v)
{
    set_yes_no(p, "SecureCookie", v, &p->cfg->http.secure_cookie);
}

static void set_max_page(struct config_parse *p, const char *v)
{
    char *end;
    errno = 0;
    unsigned long n = strtoul(v, &end, 10);
    if (v[0] < '0' || v[0] > '9' || *end || errno || n < 1 || n > LIMIT_TAXII_PAGE_MAX) {
        config_problem(p, "MaxPageSize: '%s' is not a number from 1 to %d", v,
                       LIMIT_TAXII_PAGE_MAX);
        return;
    }
    p->cfg->http.max_page_size = (uint32_t)n;
}

static void set_client_name(struct config_parse *p, const char *v)
{
    struct config_client *c = config_current_client(p);
    if (strchr(v, ':')) { /* Basic credentials are "name:secret" */
        config_problem(p, "Name: '%s' must not contain ':'", v);
        return;
    }
    const struct config_client *other = config_find_client(p->cfg, v);
    if (other && other != c) {
        config_problem(p, "Name: duplicate client name '%s' (also in the [Client] at line %d)", v,
                       other->line);
        return;
    }
    set_name(p, "Name", v, c->name);
}

static void set_client_org(struct config_parse *p, const char *v)
{
    set_name(p, "Organisation", v, config_current_client(p)->organisation);
}

static void store_secret(struct config_parse *p, const char *key, const char *v, size_t len)
{
    struct config_client *c = config_current_client(p);
    if (c->secret[0]) {
        config_problem(
            p, "%s: the client already has a secret (give Secret or SecretFile, not both)", key);
        return;
    }
    if (len < 16 || len > LIMIT_HTTP_SECRET_BYTES) {
        config_problem(p, "%s: a secret must be 16 to %d bytes long (this one is %zu)", key,
                       LIMIT_HTTP_SECRET_BYTES, len);
        return;
    }
    for (size_t i = 0; i < len; i++) {
        if ((unsigned char)v[i] <= 0x20 || v[i] == 0x7f) {
            config_problem(p, "%s: the secret contains a space or control character", key);
            return;
        }
    }
    memcpy(c->secret, v, len);
    c->secret[len] = '\0';
}

/* Refused like a loose key file: whoever reads the config could pose as the client. */
static void set_client_secret(struct config_parse *p, const char *v)
{
    if (p->mode & 077) {
        config_problem(p,
                       "Secret: an inline secret in a config readable by group or others (mode "
                       "%04o); run: chmod 600 %s (or move it to a SecretFile)",
                       (unsigned)(p->mode & 07777), p->file);
        return;
    }
    store_secret(p, "Secret", v, strlen(v));
}

/* The first line of a file only the owner may read (like the node key file). */
static void set_client_secret_file(struct config_parse *p, const char *v)
{
    char path[LIMIT_PATH_BYTES];
    set_path(p, "SecretFile", v, path);
    if (!path[0])
        return;
    char buf[LIMIT_HTTP_SECRET_BYTES + 2];
    const int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    struct stat st;
    ssize_t n = -1;
    if (fd < 0 || fstat(fd, &st) != 0) {
        config_problem(p, "SecretFile: cannot open %s: %s", path, strerror(errno));
    } else if (st.st_mode & 077) {
        config_problem(p, "SecretFile: %s is readable by group or others (chmod 600 it)", path);
    } else if ((n = read(fd, buf, sizeof buf - 1)) < 0) {
        config_problem(p, "SecretFile: cannot read %s: %s", path, strerror(errno));
    } else {
        buf[n] = '\0';
        size_t len = strcspn(buf, "\r\n");
        store_secret(p, "SecretFile", buf, len);
    }
    if (fd >= 0)
        close(fd);
    sodium_memzero(buf, sizeof buf);
}

/* The index of v (case-insensitive) among names[0..n), or -1 after a problem naming key and
 * the choices in words. */
static int parse_choice(struct config_parse *p, const char *key, const char *v,
                        const char *const *names, int n, const char *words)
{
    for (int i = 0; i < n; i++)
        if (strcasecmp(v, names[i]) == 0)
            return i;
    config_problem(p, "%s: '%s' is not %s", key, v, words);
    return -1;
}

static void set_client_scheme(struct config_parse *p, const char *v)
{
    static const char *const names[] = {"basic", "bearer", "token"}; /* enum config_http_scheme */
    const int i = parse_choice(p, "Scheme", v, names, 3, "basic, bearer or token");
    if (i >= 0)
        config_current_client(p)->scheme = (enum config_http_scheme)i;
}

static void set_client_max_tlp(struct config_parse *p, const char *v)
{
    int tlp = parse_max_tlp(p, v);
    if (tlp == PROTO_TLP_RED)
        config_problem(p,
                       "MaxTLP: red is never served over HTTP (RED goes only to the recipient node "
                       "keys a record names)");
    else if (proto_tlp_valid(tlp)) {
        config_current_client(p)->max_tlp = tlp;
        config_current_client(p)->max_tlp_line = p->lineno;
    }
}

static void set_client_relation(struct config_parse *p, const char *v)
{
    parse_relation(p, v, &config_current_client(p)->relation);
}

static void set_client_community(struct config_parse *p, const char *v)
{
    struct config_client *c = config_current_client(p);
    add_community(p, v, c->communities, &c->n_communities);
}

static void set_client_console(struct config_parse *p, const char *v)
{
    static const char *const names[] = {"no", "reader", "publisher"}; /* enum config_console */
    const int i = parse_choice(p, "Console", v, names, 3, "reader, publisher or no");
    if (i >= 0)
        config_current_client(p)->console = (enum config_console)i;
}

const struct config_key_spec config_key_specs[CONFIG_N_KEYS] = {
    {"KeyFile", CONFIG_SECTION_NODE, true, false, set_key_file},
    {"DataDir", CONFIG_SECTION_NODE, true, false, set_data_dir},
    {"Listen", CONFIG_SECTION_NODE, false, false, set_listen},
    {"Network", CONFIG_SECTION_NODE, true, false, set_network},
    {"Organisation", CONFIG_SECTION_NODE, true, false, set_node_org},
    {"Control", CONFIG_SECTION_NODE, false, false, set_control},
    {"TrustRosterOwner", CONFIG_SECTION_NODE, false, true, set_roster_owner},
    {"PublicKey", CONFIG_SECTION_PEER, true, false, set_peer_key},
    {"Endpoint", CONFIG_SECTION_PEER, false, false, set_peer_endpoint},
    {"Organisation", CONFIG_SECTION_PEER, false, false, set_peer_org},
    {"Community", CONFIG_SECTION_PEER, false, true, set_community},
    {"MaxTLP", CONFIG_SECTION_PEER, false, false, set_max_tlp},
    {"Relation", CONFIG_SECTION_PEER, false, false, set_relation},
    {"Name", CONFIG_SECTION_PEER, false, false, set_peer_name},
    {"RecoveryKey", CONFIG_SECTION_PEER, false, false, set_peer_recovery},
    {"LogFile", CONFIG_SECTION_NODE, false, false, set_log_file},
    {"LogFormat", CONFIG_SECTION_NODE, false, false, set_log_format},
    {"Listen", CONFIG_SECTION_HTTP, true, false, set_http_listen},
    {"MetricsListen", CONFIG_SECTION_HTTP, false, false, set_metrics_listen},
    {"Anonymous", CONFIG_SECTION_HTTP, false, false, set_anonymous},
    {"MaxPageSize", CONFIG_SECTION_HTTP, false, false, set_max_page},
    {"SecureCookie", CONFIG_SECTION_HTTP, false, false, set_secure_cookie},
    {"Name", CONFIG_SECTION_CLIENT, true, false, set_client_name},
    {"Organisation", CONFIG_SECTION_CLIENT, true, false, set_client_org},
    {"Secret", CONFIG_SECTION_CLIENT, false, false, set_client_secret},
    {"SecretFile", CONFIG_SECTION_CLIENT, false, false, set_client_secret_file},
    {"Scheme", CONFIG_SECTION_CLIENT, false, false, set_client_scheme},
    {"MaxTLP", CONFIG_SECTION_CLIENT, false, false, set_client_max_tlp},
    {"Relation", CONFIG_SECTION_CLIENT, false, false, set_client_relation},
    {"Community", CONFIG_SECTION_CLIENT, false, true, set_client_community},
    {"Console", CONFIG_SECTION_CLIENT, false, false, set_client_console},
    {"StoreMapInitialMB", CONFIG_SECTION_NODE, false, false, set_store_map},
    {"KeyGraceSeconds", CONFIG_SECTION_NODE, false, false, set_key_grace},
};
