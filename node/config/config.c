/* config.c - parse, check and edit the node config (contract in config.h). */
#include "node/config/config.h"

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <sodium.h>

#include "crypto/keys.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Longest Unix socket path: bind() needs it, with its NUL, in sun_path. */
#define NOT_A_KEY "is not a public key (base64 of 32 bytes, 44 characters)"

#define CONTROL_PATH_MAX (sizeof(((struct sockaddr_un *)0)->sun_path) - 1)

const char *config_strerror(int err)
{
    switch (err) {
    case CONFIG_OK:
        return "ok";
    case CONFIG_E_IO:
        return "cannot read or write the config file";
    case CONFIG_E_INVALID:
        return "invalid config";
    case CONFIG_E_EXISTS:
        return "already exists";
    case CONFIG_E_NOTFOUND:
        return "no such peer";
    case CONFIG_E_NOMEM:
        return "out of memory";
    default:
        return "unknown config error";
    }
}

const char *config_relation_name(enum config_relation relation)
{
    return relation == CONFIG_RELATION_CLIENT ? "client" : "partner";
}

void config_init(struct config *cfg)
{
    assert(cfg);
    memset(cfg, 0, sizeof(*cfg));
}

void config_free(struct config *cfg)
{
    assert(cfg);
    free(cfg->peers);
    if (cfg->clients) {
        sodium_memzero(cfg->clients, cfg->n_clients * sizeof(*cfg->clients));
        free(cfg->clients);
    }
    config_init(cfg);
}

const char *config_scheme_name(enum config_http_scheme scheme)
{
    switch (scheme) {
    case CONFIG_SCHEME_BASIC: return "basic";
    case CONFIG_SCHEME_BEARER: return "bearer";
    case CONFIG_SCHEME_TOKEN: return "token";
    }
    return "?";
}

const struct config_client *config_find_client(const struct config *cfg, const char *name)
{
    assert(cfg && name);
    for (size_t i = 0; i < cfg->n_clients; i++)
        if (strcmp(cfg->clients[i].name, name) == 0)
            return &cfg->clients[i];
    return NULL;
}

/* --- diagnostics --- */

__attribute__((format(printf, 4, 0))) static void
diag_vadd(struct config_diag *diag, const char *file, int line, const char *fmt, va_list ap)
{
    assert(diag && file && fmt);
    if (diag->count == LIMIT_CONFIG_DIAGS) {
        diag->dropped++;
        return;
    }
    char *out = diag->lines[diag->count++];
    int n = line > 0 ? snprintf(out, LIMIT_CONFIG_DIAG_BYTES, "%s:%d: ", file, line)
                     : snprintf(out, LIMIT_CONFIG_DIAG_BYTES, "%s: ", file);
    if (n > 0 && n < LIMIT_CONFIG_DIAG_BYTES)
        vsnprintf(out + n, LIMIT_CONFIG_DIAG_BYTES - (size_t)n, fmt, ap);
}

__attribute__((format(printf, 4, 5))) static void
diag_add(struct config_diag *diag, const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    diag_vadd(diag, file, line, fmt, ap);
    va_end(ap);
}

size_t config_diag_print(const struct config_diag *diag, FILE *f)
{
    assert(diag && f && diag->count <= LIMIT_CONFIG_DIAGS);
    for (size_t i = 0; i < diag->count; i++)
        fprintf(f, "%s\n", diag->lines[i]);
    if (diag->dropped)
        fprintf(f, "%zu more problems not shown\n", diag->dropped);
    return diag->count + diag->dropped;
}

/* --- value checks shared by the setters and the editors --- */

/* Continuation bytes after a UTF-8 lead byte; 4 for a byte that cannot lead. */
static size_t utf8_extra(unsigned c)
{
    if (c < 0x80)
        return 0;
    if ((c & 0xe0) == 0xc0)
        return 1;
    if ((c & 0xf0) == 0xe0)
        return 2;
    if ((c & 0xf8) == 0xf0)
        return 3;
    return 4;
}

static bool utf8_valid(const unsigned char *s, size_t len)
{
    assert(s || len == 0);
    size_t i = 0;
    while (i < len) {
        unsigned c = s[i];
        size_t extra = utf8_extra(c);
        if (extra == 4 || extra > len - i - 1)
            return false;
        uint32_t cp = extra ? c & (0x3fu >> extra) : c;
        for (size_t k = 1; k <= extra; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return false;
            cp = cp << 6 | (s[i + k] & 0x3fu);
        }
        static const uint32_t min_cp[] = {0, 0x80, 0x800, 0x10000};
        if (cp < min_cp[extra] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += extra + 1;
    }
    return true;
}

/* Community, organisation, network and peer names. */
static bool name_check(const char *value, char *why, size_t why_len)
{
    size_t len = strlen(value);
    if (len > LIMIT_NAME_BYTES) {
        snprintf(why, why_len, "is %zu bytes; names are 1 to %d bytes", len, LIMIT_NAME_BYTES);
        return false;
    }
    if (!utf8_valid((const unsigned char *)value, len)) {
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

/* --- the parser: our line reader feeds inih and tracks lines and sections --- */

enum section {
    SECTION_NONE, SECTION_NODE, SECTION_PEER, SECTION_HTTP, SECTION_CLIENT, SECTION_SKIP
};

static const char *const section_titles[] = {"", "[Node]", "[Peer]", "[HTTP]", "[Client]", ""};

struct parse;
typedef void (*setter)(struct parse *p, const char *value);

struct key_spec {
    const char *name;
    enum section section;
    bool required;
    bool repeatable;
    setter set;
};

struct parse {
    const char *file; /* display name in messages */
    const char *text;
    size_t len, pos;
    int lineno;
    enum section section;
    int node_line;    /* line of [Node], 0 before it */
    int http_line;    /* line of [HTTP], 0 before it */
    int control_line; /* line of Control, 0 if absent */
    int *seen;        /* per key_specs entry: line where set in this section, 0 if not */
    struct config *cfg;
    struct config_diag *diag;
    bool nomem;
};

__attribute__((format(printf, 2, 3))) static void problem(struct parse *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    diag_vadd(p->diag, p->file, p->lineno, fmt, ap);
    va_end(ap);
}

static struct config_peer *current_peer(struct parse *p)
{
    assert(p->section == SECTION_PEER && p->cfg->n_peers > 0);
    return &p->cfg->peers[p->cfg->n_peers - 1];
}

static struct config_client *current_client(struct parse *p)
{
    assert(p->section == SECTION_CLIENT && p->cfg->n_clients > 0);
    return &p->cfg->clients[p->cfg->n_clients - 1];
}

static void set_path(struct parse *p, const char *key, const char *value, char *out)
{
    int n = value[0] == '/' ? snprintf(out, LIMIT_PATH_BYTES, "%s", value)
                            : snprintf(out, LIMIT_PATH_BYTES, "%s/%s", p->cfg->dir, value);
    if (n < 0 || n >= LIMIT_PATH_BYTES) {
        out[0] = '\0';
        problem(p, "%s: path too long once resolved (limit %d bytes)", key, LIMIT_PATH_BYTES - 1);
    }
}

static void set_name(struct parse *p, const char *key, const char *value, char *out)
{
    char why[LIMIT_CONFIG_DIAG_BYTES];
    if (!name_check(value, why, sizeof(why))) {
        problem(p, "%s: '%s' %s", key, value, why);
        return;
    }
    snprintf(out, LIMIT_NAME_BYTES + 1, "%s", value);
}

static bool set_key(struct parse *p, const char *key, const char *value,
                    uint8_t out[LIMIT_KEY_BYTES])
{
    if (keys_pubkey_from_b64(value, out) != KEYS_OK) {
        problem(p, "%s: '%s' " NOT_A_KEY, key, value);
        return false;
    }
    return true;
}

static void set_key_file(struct parse *p, const char *v)
{
    set_path(p, "KeyFile", v, p->cfg->key_file);
}
static void set_data_dir(struct parse *p, const char *v)
{
    set_path(p, "DataDir", v, p->cfg->data_dir);
}
static void set_network(struct parse *p, const char *v)
{
    set_name(p, "Network", v, p->cfg->network);
}
static void set_node_org(struct parse *p, const char *v)
{
    set_name(p, "Organisation", v, p->cfg->organisation);
}

static void set_control(struct parse *p, const char *v)
{
    p->control_line = p->lineno;
    set_path(p, "Control", v, p->cfg->control_path);
}

static void set_endpoint(struct parse *p, const char *key, const char *value,
                         struct config_endpoint *ep, bool *has)
{
    char why[LIMIT_CONFIG_DIAG_BYTES];
    if (!endpoint_parse(value, ep, why, sizeof(why))) {
        problem(p, "%s: '%s': %s", key, value, why);
        return;
    }
    *has = true;
}

static void set_listen(struct parse *p, const char *v)
{
    set_endpoint(p, "Listen", v, &p->cfg->listen, &p->cfg->has_listen);
}

static void set_roster_owner(struct parse *p, const char *v)
{
    struct config *cfg = p->cfg;
    uint8_t key[LIMIT_KEY_BYTES];
    if (!set_key(p, "TrustRosterOwner", v, key))
        return;
    for (size_t i = 0; i < cfg->n_roster_owners; i++) {
        if (memcmp(cfg->roster_owners[i], key, sizeof(key)) == 0) {
            problem(p, "TrustRosterOwner: '%s' is listed twice", v);
            return;
        }
    }
    if (cfg->n_roster_owners == LIMIT_TRUSTED_ROSTER_OWNERS) {
        problem(p, "TrustRosterOwner: too many (limit %d)", LIMIT_TRUSTED_ROSTER_OWNERS);
        return;
    }
    memcpy(cfg->roster_owners[cfg->n_roster_owners++], key, sizeof(key));
}

static void set_peer_key(struct parse *p, const char *v)
{
    struct config_peer *peer = current_peer(p);
    uint8_t key[LIMIT_KEY_BYTES];
    if (!set_key(p, "PublicKey", v, key))
        return;
    const struct config_peer *other = config_find_peer(p->cfg, key);
    if (other) {
        problem(p, "PublicKey: duplicate peer key (also in the [Peer] at line %d)", other->line);
        return;
    }
    memcpy(peer->key, key, sizeof(key));
    snprintf(peer->key_b64, sizeof(peer->key_b64), "%s", v);
}

static void set_peer_endpoint(struct parse *p, const char *v)
{
    struct config_peer *peer = current_peer(p);
    set_endpoint(p, "Endpoint", v, &peer->endpoint, &peer->has_endpoint);
}

static void set_peer_org(struct parse *p, const char *v)
{
    set_name(p, "Organisation", v, current_peer(p)->organisation);
}

static void set_peer_name(struct parse *p, const char *v)
{
    set_name(p, "Name", v, current_peer(p)->name);
}

/* A Community line of the current [Peer] or [Client]. */
static void add_community(struct parse *p, const char *v,
                          char communities[][LIMIT_NAME_BYTES + 1], size_t *n)
{
    const char *who = p->section == SECTION_PEER ? "peer" : "client";
    for (size_t i = 0; i < *n; i++) {
        if (strcmp(communities[i], v) == 0) {
            problem(p, "Community: '%s' is listed twice for this %s", v, who);
            return;
        }
    }
    if (*n == LIMIT_PEER_COMMUNITIES) {
        problem(p, "Community: too many for one %s (limit %d)", who, LIMIT_PEER_COMMUNITIES);
        return;
    }
    char name[LIMIT_NAME_BYTES + 1] = "";
    set_name(p, "Community", v, name);
    if (name[0])
        memcpy(communities[(*n)++], name, sizeof(name));
}

static void set_community(struct parse *p, const char *v)
{
    struct config_peer *peer = current_peer(p);
    add_community(p, v, peer->communities, &peer->n_communities);
}

static int parse_max_tlp(struct parse *p, const char *v)
{
    int tlp = proto_tlp_parse(v);
    if (!proto_tlp_valid(tlp))
        problem(p, "MaxTLP: '%s' is not a TLP level (clear, green, amber, amber+strict, red)", v);
    return tlp;
}

static void set_max_tlp(struct parse *p, const char *v)
{
    int tlp = parse_max_tlp(p, v);
    if (proto_tlp_valid(tlp))
        current_peer(p)->max_tlp = tlp;
}

static void parse_relation(struct parse *p, const char *v, enum config_relation *out)
{
    if (strcasecmp(v, "partner") == 0)
        *out = CONFIG_RELATION_PARTNER;
    else if (strcasecmp(v, "client") == 0)
        *out = CONFIG_RELATION_CLIENT;
    else
        problem(p, "Relation: '%s' is neither partner nor client", v);
}

static void set_relation(struct parse *p, const char *v)
{
    parse_relation(p, v, &current_peer(p)->relation);
}

/* --- [Node] logging, [HTTP], [Client] --- */

static void set_log_file(struct parse *p, const char *v)
{
    set_path(p, "LogFile", v, p->cfg->log_file);
}

static void set_log_format(struct parse *p, const char *v)
{
    if (strcmp(v, "text") == 0)
        p->cfg->log_format = 0;
    else if (strcmp(v, "json") == 0)
        p->cfg->log_format = 1;
    else
        problem(p, "LogFormat: '%s' is neither text nor json", v);
}

static void set_http_listen(struct parse *p, const char *v)
{
    set_endpoint(p, "Listen", v, &p->cfg->http.listen, &p->cfg->http.enabled);
}

static void set_metrics_listen(struct parse *p, const char *v)
{
    set_endpoint(p, "MetricsListen", v, &p->cfg->http.metrics_listen,
                 &p->cfg->http.has_metrics_listen);
}

static void set_anonymous(struct parse *p, const char *v)
{
    if (strcasecmp(v, "yes") == 0 || strcasecmp(v, "true") == 0)
        p->cfg->http.anonymous = true;
    else if (strcasecmp(v, "no") == 0 || strcasecmp(v, "false") == 0)
        p->cfg->http.anonymous = false;
    else
        problem(p, "Anonymous: '%s' is neither yes nor no", v);
}

static void set_max_page(struct parse *p, const char *v)
{
    char *end;
    errno = 0;
    unsigned long n = strtoul(v, &end, 10);
    if (v[0] < '0' || v[0] > '9' || *end || errno || n < 1 || n > LIMIT_TAXII_PAGE_MAX) {
        problem(p, "MaxPageSize: '%s' is not a number from 1 to %d", v, LIMIT_TAXII_PAGE_MAX);
        return;
    }
    p->cfg->http.max_page_size = (uint32_t)n;
}

static void set_client_name(struct parse *p, const char *v)
{
    struct config_client *c = current_client(p);
    if (strchr(v, ':')) { /* Basic credentials are "name:secret" */
        problem(p, "Name: '%s' must not contain ':'", v);
        return;
    }
    const struct config_client *other = config_find_client(p->cfg, v);
    if (other && other != c) {
        problem(p, "Name: duplicate client name '%s' (also in the [Client] at line %d)", v,
                other->line);
        return;
    }
    set_name(p, "Name", v, c->name);
}

static void set_client_org(struct parse *p, const char *v)
{
    set_name(p, "Organisation", v, current_client(p)->organisation);
}

static void store_secret(struct parse *p, const char *key, const char *v, size_t len)
{
    struct config_client *c = current_client(p);
    if (c->secret[0]) {
        problem(p, "%s: the client already has a secret (give Secret or SecretFile, not both)",
                key);
        return;
    }
    if (len < 16 || len > LIMIT_HTTP_SECRET_BYTES) {
        problem(p, "%s: a secret must be 16 to %d bytes long (this one is %zu)", key,
                LIMIT_HTTP_SECRET_BYTES, len);
        return;
    }
    for (size_t i = 0; i < len; i++) {
        if ((unsigned char)v[i] <= 0x20 || v[i] == 0x7f) {
            problem(p, "%s: the secret contains a space or control character", key);
            return;
        }
    }
    memcpy(c->secret, v, len);
    c->secret[len] = '\0';
}

static void set_client_secret(struct parse *p, const char *v)
{
    store_secret(p, "Secret", v, strlen(v));
}

/* The first line of a file only the owner may read (like the node key file). */
static void set_client_secret_file(struct parse *p, const char *v)
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
        problem(p, "SecretFile: cannot open %s: %s", path, strerror(errno));
    } else if (st.st_mode & 077) {
        problem(p, "SecretFile: %s is readable by group or others (chmod 600 it)", path);
    } else if ((n = read(fd, buf, sizeof buf - 1)) < 0) {
        problem(p, "SecretFile: cannot read %s: %s", path, strerror(errno));
    } else {
        buf[n] = '\0';
        size_t len = strcspn(buf, "\r\n");
        store_secret(p, "SecretFile", buf, len);
    }
    if (fd >= 0)
        close(fd);
    sodium_memzero(buf, sizeof buf);
}

static void set_client_scheme(struct parse *p, const char *v)
{
    struct config_client *c = current_client(p);
    if (strcasecmp(v, "basic") == 0)
        c->scheme = CONFIG_SCHEME_BASIC;
    else if (strcasecmp(v, "bearer") == 0)
        c->scheme = CONFIG_SCHEME_BEARER;
    else if (strcasecmp(v, "token") == 0)
        c->scheme = CONFIG_SCHEME_TOKEN;
    else
        problem(p, "Scheme: '%s' is not basic, bearer or token", v);
}

static void set_client_max_tlp(struct parse *p, const char *v)
{
    int tlp = parse_max_tlp(p, v);
    if (tlp == PROTO_TLP_RED)
        problem(p, "MaxTLP: red is never served over HTTP (RED goes only to the recipient node "
                   "keys a record names)");
    else if (proto_tlp_valid(tlp))
        current_client(p)->max_tlp = tlp;
}

static void set_client_relation(struct parse *p, const char *v)
{
    parse_relation(p, v, &current_client(p)->relation);
}

static void set_client_community(struct parse *p, const char *v)
{
    struct config_client *c = current_client(p);
    add_community(p, v, c->communities, &c->n_communities);
}

static const struct key_spec key_specs[] = {
    {"KeyFile", SECTION_NODE, true, false, set_key_file},
    {"DataDir", SECTION_NODE, true, false, set_data_dir},
    {"Listen", SECTION_NODE, false, false, set_listen},
    {"Network", SECTION_NODE, true, false, set_network},
    {"Organisation", SECTION_NODE, true, false, set_node_org},
    {"Control", SECTION_NODE, false, false, set_control},
    {"TrustRosterOwner", SECTION_NODE, false, true, set_roster_owner},
    {"PublicKey", SECTION_PEER, true, false, set_peer_key},
    {"Endpoint", SECTION_PEER, false, false, set_peer_endpoint},
    {"Organisation", SECTION_PEER, false, false, set_peer_org},
    {"Community", SECTION_PEER, false, true, set_community},
    {"MaxTLP", SECTION_PEER, false, false, set_max_tlp},
    {"Relation", SECTION_PEER, false, false, set_relation},
    {"Name", SECTION_PEER, false, false, set_peer_name},
    {"LogFile", SECTION_NODE, false, false, set_log_file},
    {"LogFormat", SECTION_NODE, false, false, set_log_format},
    {"Listen", SECTION_HTTP, true, false, set_http_listen},
    {"MetricsListen", SECTION_HTTP, false, false, set_metrics_listen},
    {"Anonymous", SECTION_HTTP, false, false, set_anonymous},
    {"MaxPageSize", SECTION_HTTP, false, false, set_max_page},
    {"Name", SECTION_CLIENT, true, false, set_client_name},
    {"Organisation", SECTION_CLIENT, true, false, set_client_org},
    {"Secret", SECTION_CLIENT, false, false, set_client_secret},
    {"SecretFile", SECTION_CLIENT, false, false, set_client_secret_file},
    {"Scheme", SECTION_CLIENT, false, false, set_client_scheme},
    {"MaxTLP", SECTION_CLIENT, false, false, set_client_max_tlp},
    {"Relation", SECTION_CLIENT, false, false, set_client_relation},
    {"Community", SECTION_CLIENT, false, true, set_client_community},
};

static void check_required(struct parse *p, enum section section, int line, const char *title)
{
    for (size_t k = 0; k < ARRAY_LEN(key_specs); k++)
        if (key_specs[k].section == section && key_specs[k].required && !p->seen[k])
            diag_add(p->diag, p->file, line, "%s: missing %s", title, key_specs[k].name);
}

/* Whether key of section was set in the current section. */
static bool seen_key(const struct parse *p, enum section section, const char *key)
{
    for (size_t k = 0; k < ARRAY_LEN(key_specs); k++)
        if (key_specs[k].section == section && strcmp(key_specs[k].name, key) == 0)
            return p->seen[k] != 0;
    return false;
}

/* Checks the [Peer] or [Client] that just ended. */
static void end_section(struct parse *p)
{
    if (p->section == SECTION_PEER)
        check_required(p, SECTION_PEER, current_peer(p)->line, "[Peer]");
    if (p->section == SECTION_CLIENT) {
        const struct config_client *c = current_client(p);
        check_required(p, SECTION_CLIENT, c->line, "[Client]");
        if (!seen_key(p, SECTION_CLIENT, "Secret") && !seen_key(p, SECTION_CLIENT, "SecretFile"))
            diag_add(p->diag, p->file, c->line, "[Client]: missing Secret or SecretFile");
    }
}

static void begin_client(struct parse *p)
{
    struct config *cfg = p->cfg;
    if (cfg->n_clients == LIMIT_HTTP_CLIENTS) {
        problem(p, "too many [Client] sections (limit %d)", LIMIT_HTTP_CLIENTS);
        return;
    }
    struct config_client *cl = calloc(cfg->n_clients + 1, sizeof(*cl));
    if (!cl) {
        p->nomem = true;
        return;
    }
    /* Copy rather than realloc: the old array holds secrets and is wiped before it is freed. */
    if (cfg->clients) {
        memcpy(cl, cfg->clients, cfg->n_clients * sizeof(*cl));
        sodium_memzero(cfg->clients, cfg->n_clients * sizeof(*cl));
        free(cfg->clients);
    }
    cfg->clients = cl;
    struct config_client *c = &cl[cfg->n_clients++];
    c->max_tlp = CONFIG_DEFAULT_MAX_TLP;
    c->relation = CONFIG_RELATION_PARTNER;
    c->scheme = CONFIG_SCHEME_BASIC;
    c->line = p->lineno;
    p->section = SECTION_CLIENT;
}

static void begin_section(struct parse *p, const char *name)
{
    assert(p && name && p->cfg->n_peers <= LIMIT_PEERS);
    end_section(p);
    for (size_t k = 0; k < ARRAY_LEN(key_specs); k++)
        if (key_specs[k].section == SECTION_PEER || key_specs[k].section == SECTION_CLIENT)
            p->seen[k] = 0;
    p->section = SECTION_SKIP;
    if (strcasecmp(name, "Client") == 0) {
        begin_client(p);
    } else if (strcasecmp(name, "HTTP") == 0) {
        if (p->http_line) {
            problem(p, "duplicate [HTTP] section (first at line %d)", p->http_line);
            return;
        }
        p->http_line = p->lineno;
        p->cfg->http.max_page_size = LIMIT_TAXII_PAGE_DEFAULT;
        p->section = SECTION_HTTP;
    } else if (strcasecmp(name, "Node") == 0) {
        if (p->node_line) {
            problem(p, "duplicate [Node] section (first at line %d)", p->node_line);
            return;
        }
        p->node_line = p->lineno;
        p->section = SECTION_NODE;
    } else if (strcasecmp(name, "Peer") == 0) {
        struct config *cfg = p->cfg;
        if (cfg->n_peers == LIMIT_PEERS) {
            problem(p, "too many [Peer] sections (limit %d)", LIMIT_PEERS);
            return;
        }
        struct config_peer *peers = realloc(cfg->peers, (cfg->n_peers + 1) * sizeof(*peers));
        if (!peers) {
            p->nomem = true;
            return;
        }
        cfg->peers = peers;
        struct config_peer *peer = &peers[cfg->n_peers++];
        memset(peer, 0, sizeof(*peer));
        peer->max_tlp = CONFIG_DEFAULT_MAX_TLP;
        peer->relation = CONFIG_RELATION_PARTNER;
        peer->line = peer->last_line = p->lineno;
        p->section = SECTION_PEER;
    } else {
        problem(p, "unknown section [%s] (expected [Node], [Peer], [HTTP] or [Client])", name);
    }
}

static int on_setting(void *user, const char *section_name, const char *name, const char *value)
{
    struct parse *p = user;
    assert(p && name && value && p->lineno > 0);
    (void)section_name; /* p->section, set by the reader, is the same and knows more */
    if (p->section == SECTION_SKIP || p->nomem)
        return 1;
    if (p->section == SECTION_NONE) {
        problem(p, "%s: setting outside a section (put it under [Node] or [Peer])", name);
        return 1;
    }
    const char *title = section_titles[p->section];
    if (p->section == SECTION_PEER)
        current_peer(p)->last_line = p->lineno;
    for (size_t k = 0; k < ARRAY_LEN(key_specs); k++) {
        const struct key_spec *spec = &key_specs[k];
        if (spec->section != p->section || strcasecmp(spec->name, name) != 0)
            continue;
        if (p->seen[k] && !spec->repeatable)
            problem(p, "%s: duplicate key (first at line %d)", spec->name, p->seen[k]);
        else if (value[0] == '\0')
            problem(p, "%s: empty value", spec->name);
        else
            spec->set(p, value);
        if (!p->seen[k])
            p->seen[k] = p->lineno;
        return 1;
    }
    problem(p, "unknown key '%s' in %s", name, title);
    return 1;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

/* A line's meaningful part: comment cut off at the first '#' or ';', whitespace trimmed. */
static void line_content(const char *line, size_t len, size_t *start, size_t *end)
{
    size_t e = 0;
    while (e < len && line[e] != '#' && line[e] != ';')
        e++;
    size_t s = 0;
    while (s < e && is_space(line[s]))
        s++;
    while (e > s && is_space(line[e - 1]))
        e--;
    *start = s;
    *end = e;
}

/* Handles one raw line. Returns the text for inih: the content if it is a setting or section
 * header, "" for blank, comment and bad lines (bad ones are reported here, so inih never sees
 * a syntax error and we report all of them, not only the first). */
static size_t reader_line(struct parse *p, const char *line, size_t len, size_t room, char *out)
{
    assert(p && line && out && room > 2);
    if (len > LIMIT_CONFIG_LINE) {
        problem(p, "line too long (%zu bytes; limit %d)", len, LIMIT_CONFIG_LINE);
        return 0;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)line[i];
        if ((c < 0x20 && c != '\t' && !(c == '\r' && i + 1 == len)) || c == 0x7f) {
            problem(p, "control character (byte 0x%02x) in column %zu", c, i + 1);
            return 0;
        }
    }
    size_t s, e;
    line_content(line, len, &s, &e);
    size_t n = e - s;
    if (n == 0)
        return 0;
    if (n > LIMIT_CONFIG_ENTRY_BYTES || n + 2 > room) {
        problem(p, "setting too long (%zu bytes without its comment; limit %d)", n,
                LIMIT_CONFIG_ENTRY_BYTES);
        return 0;
    }
    memcpy(out, line + s, n);
    out[n] = '\0';
    if (out[0] == '[') {
        if (out[n - 1] != ']') {
            problem(p, "expected '[Section]' or 'Key = Value'");
            return 0;
        }
        char name[LIMIT_CONFIG_ENTRY_BYTES + 1];
        size_t ns, ne;
        line_content(out + 1, n - 2, &ns, &ne);
        memcpy(name, out + 1 + ns, ne - ns);
        name[ne - ns] = '\0';
        begin_section(p, name);
        return n;
    }
    size_t key_len = strspn(out, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789");
    size_t eq = key_len;
    while (is_space(out[eq]))
        eq++;
    if (key_len == 0 || out[eq] != '=') {
        problem(p, "expected '[Section]' or 'Key = Value'");
        return 0;
    }
    return n;
}

static char *reader(char *str, int num, void *stream)
{
    struct parse *p = stream;
    assert(p && str && num > 2 && p->pos <= p->len);
    if (p->pos == p->len || p->nomem)
        return NULL;
    const char *line = p->text + p->pos;
    const char *nl = memchr(line, '\n', p->len - p->pos);
    size_t len = nl ? (size_t)(nl - line) : p->len - p->pos;
    p->pos += len + (nl ? 1 : 0);
    p->lineno++;
    size_t n = reader_line(p, line, len, (size_t)num, str);
    str[n] = '\n';
    str[n + 1] = '\0';
    return str;
}

static void finish_node(struct parse *p)
{
    assert(p && p->cfg);
    struct config *cfg = p->cfg;
    if (!p->node_line) {
        diag_add(p->diag, p->file, 0, "missing [Node] section");
        return;
    }
    check_required(p, SECTION_NODE, p->node_line, "[Node]");
    /* A default too long for the buffer is cut, and then reported as too long below. */
    if (!p->control_line && cfg->data_dir[0])
        snprintf(cfg->control_path, sizeof(cfg->control_path), "%.*s/control.sock",
                 LIMIT_PATH_BYTES - 20, cfg->data_dir);
    size_t len = strlen(cfg->control_path);
    if (len > CONTROL_PATH_MAX)
        diag_add(p->diag, p->file, p->control_line ? p->control_line : p->node_line,
                 "Control: socket path '%s' is %zu bytes; Unix sockets allow %zu (set Control "
                 "to a shorter path)",
                 cfg->control_path, len, CONTROL_PATH_MAX);
}

/* Parses text (the bytes of file; dir is its absolute directory) into *out. */
static int parse_text(const char *file, const char *dir, const char *text, size_t len,
                      struct config *out, struct config_diag *diag)
{
    assert(file && dir && text && out && diag);
    int seen[ARRAY_LEN(key_specs)] = {0};
    struct parse p = {.file = file,
                      .text = text,
                      .len = len,
                      .seen = seen,
                      .cfg = out,
                      .diag = diag,
                      .section = SECTION_NONE};
    snprintf(out->path, sizeof(out->path), "%s", file);
    snprintf(out->dir, sizeof(out->dir), "%s", dir);
    if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
        p.pos = 3;
    int rc = ini_parse_stream(reader, &p, on_setting, &p);
    if (rc == -2 || p.nomem)
        return CONFIG_E_NOMEM;
    if (rc > 0) /* our reader passes only well-formed lines, so this is a bug worth seeing */
        diag_add(diag, file, rc, "cannot parse this line");
    end_section(&p);
    if (p.http_line)
        check_required(&p, SECTION_HTTP, p.http_line, "[HTTP]");
    finish_node(&p);
    return diag->count || diag->dropped ? CONFIG_E_INVALID : CONFIG_OK;
}

/* --- files --- */

/* The absolute directory of path (which need not exist yet). */
static int dir_of(const char *path, char out[LIMIT_PATH_BYTES])
{
    char copy[LIMIT_PATH_BYTES];
    if (snprintf(copy, sizeof(copy), "%s", path) >= (int)sizeof(copy)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    char resolved[PATH_MAX];
    if (!realpath(dirname(copy), resolved))
        return -1;
    snprintf(out, LIMIT_PATH_BYTES, "%s", resolved);
    return 0;
}

/* Reads the whole file (at most LIMIT_CONFIG_BYTES) into *text (malloc'd, NUL-terminated). */
static int read_text(const char *path, char **text, size_t *len, mode_t *mode,
                     struct config_diag *diag)
{
    assert(path && text && len && mode && diag);
    *text = NULL;
    char *buf = NULL;
    int rc = CONFIG_E_IO;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        diag_add(diag, path, 0, "cannot open: %s", strerror(errno));
        return CONFIG_E_IO;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        diag_add(diag, path, 0, "cannot stat: %s", strerror(errno));
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        diag_add(diag, path, 0, "not a regular file");
        goto out;
    }
    if (st.st_size > LIMIT_CONFIG_BYTES) {
        diag_add(diag, path, 0, "file too big (%lld bytes; limit %d)", (long long)st.st_size,
                 LIMIT_CONFIG_BYTES);
        rc = CONFIG_E_INVALID;
        goto out;
    }
    *mode = st.st_mode & 07777;
    /* Room for one byte more than allowed, to notice a file that grew since fstat, and for
     * the NUL; editors append to this buffer up to LIMIT_CONFIG_BYTES. */
    buf = malloc(LIMIT_CONFIG_BYTES + 2);
    if (!buf) {
        rc = CONFIG_E_NOMEM;
        goto out;
    }
    size_t got = 0;
    while (got <= LIMIT_CONFIG_BYTES) {
        ssize_t n = read(fd, buf + got, LIMIT_CONFIG_BYTES + 1 - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            diag_add(diag, path, 0, "cannot read: %s", strerror(errno));
            goto out;
        }
        if (n == 0)
            break;
        got += (size_t)n;
    }
    if (got > LIMIT_CONFIG_BYTES) {
        diag_add(diag, path, 0, "file too big (more than %d bytes)", LIMIT_CONFIG_BYTES);
        rc = CONFIG_E_INVALID;
        goto out;
    }
    buf[got] = '\0';
    *text = buf;
    buf = NULL;
    *len = got;
    rc = CONFIG_OK;
out:
    free(buf);
    close(fd);
    return rc;
}

int config_load(const char *path, struct config *out, struct config_diag *diag)
{
    assert(path && out && diag);
    config_free(out);
    memset(diag, 0, sizeof(*diag));
    char *text;
    size_t len;
    mode_t mode;
    int rc = read_text(path, &text, &len, &mode, diag);
    if (rc != CONFIG_OK)
        return rc;
    char dir[LIMIT_PATH_BYTES];
    if (dir_of(path, dir) != 0) {
        diag_add(diag, path, 0, "cannot resolve its directory: %s", strerror(errno));
        rc = CONFIG_E_IO;
        goto out;
    }
    rc = parse_text(path, dir, text, len, out, diag);
out:
    free(text);
    if (rc != CONFIG_OK)
        config_free(out);
    return rc;
}

size_t config_check(const char *path, FILE *f)
{
    struct config cfg;
    struct config_diag diag;
    config_init(&cfg);
    int rc = config_load(path, &cfg, &diag);
    config_free(&cfg);
    size_t problems = config_diag_print(&diag, f);
    if (rc == CONFIG_E_NOMEM && problems == 0) {
        fprintf(f, "%s: %s\n", path, config_strerror(rc));
        problems = 1;
    }
    return problems;
}

/* --- editing --- */

/* A growable text with a hard cap (a config is at most LIMIT_CONFIG_BYTES). */
struct text {
    char *buf;
    size_t len;
    bool overflow;
};

__attribute__((format(printf, 2, 3))) static void text_add(struct text *t, const char *fmt, ...)
{
    assert(t && t->buf && t->len <= LIMIT_CONFIG_BYTES);
    if (t->overflow)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(t->buf + t->len, LIMIT_CONFIG_BYTES + 1 - t->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n > LIMIT_CONFIG_BYTES - t->len)
        t->overflow = true;
    else
        t->len += (size_t)n;
}

__attribute__((format(printf, 4, 5))) static int err_set(char *err, size_t err_len, int rc,
                                                         const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (err && err_len)
        vsnprintf(err, err_len, fmt, ap);
    va_end(ap);
    return rc;
}

/* A value we are about to write into the file must stay one setting on one line. */
static bool value_writable(const char *key, const char *value, char *err, size_t err_len)
{
    for (const char *c = value; *c; c++) {
        if ((unsigned char)*c < 0x20 || *c == 0x7f || *c == '#' || *c == ';') {
            err_set(err, err_len, CONFIG_E_INVALID,
                    "%s: '%s' contains '#', ';' or a control character", key, value);
            return false;
        }
    }
    return true;
}

/* Validates text as the new content of path; on a problem, err gets the first one. */
static int validate(const char *path, const char *dir, const struct text *t, char *err,
                    size_t err_len)
{
    assert(path && dir && t && t->buf);
    if (t->overflow)
        return err_set(err, err_len, CONFIG_E_INVALID, "%s: would exceed %d bytes", path,
                       LIMIT_CONFIG_BYTES);
    struct config cfg;
    struct config_diag *diag = malloc(sizeof(*diag));
    if (!diag)
        return err_set(err, err_len, CONFIG_E_NOMEM, "%s: out of memory", path);
    memset(diag, 0, sizeof(*diag));
    config_init(&cfg);
    int rc = parse_text(path, dir, t->buf, t->len, &cfg, diag);
    config_free(&cfg);
    if (rc != CONFIG_OK)
        err_set(err, err_len, rc, "%s", diag->count ? diag->lines[0] : config_strerror(rc));
    free(diag);
    return rc;
}

static int write_all(int fd, const char *buf, size_t len)
{
    assert(fd >= 0 && buf);
    size_t done = 0;
    while (done < len) {
        ssize_t n = write(fd, buf + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        done += (size_t)n;
    }
    return fsync(fd);
}

/* Replaces path by text: temporary file in the same directory, fsync, rename, fsync dir. */
static int replace_file(const char *path, const char *dir, const struct text *t, mode_t mode,
                        char *err, size_t err_len)
{
    assert(path && dir && t && !t->overflow);
    char tmp[LIMIT_PATH_BYTES];
    if (snprintf(tmp, sizeof(tmp), "%s.tmpXXXXXX", path) >= (int)sizeof(tmp))
        return err_set(err, err_len, CONFIG_E_IO, "%s: path too long", path);
    int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0)
        return err_set(err, err_len, CONFIG_E_IO, "%s: cannot create a temporary file: %s", path,
                       strerror(errno));
    int rc = CONFIG_OK;
    if (fchmod(fd, mode) != 0 || write_all(fd, t->buf, t->len) != 0)
        rc = err_set(err, err_len, CONFIG_E_IO, "%s: cannot write: %s", tmp, strerror(errno));
    if (close(fd) != 0 && rc == CONFIG_OK)
        rc = err_set(err, err_len, CONFIG_E_IO, "%s: cannot write: %s", tmp, strerror(errno));
    if (rc == CONFIG_OK && rename(tmp, path) != 0)
        rc = err_set(err, err_len, CONFIG_E_IO, "%s: cannot replace: %s", path, strerror(errno));
    if (rc != CONFIG_OK) {
        unlink(tmp);
        return rc;
    }
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) { /* the rename is done; a failed directory fsync only weakens durability */
        fsync(dfd);
        close(dfd);
    }
    return CONFIG_OK;
}

/* The commented config `tlpmesh init` writes. */
static void initial_text(struct text *t, const struct config_initial *init, const char *key_file,
                         const char *data_dir)
{
    assert(t && init && key_file && data_dir);
    text_add(t,
             "# tlpmesh node configuration; reference: docs/CONFIG.md\n"
             "# Check it with: tlpmesh check-config -c FILE\n"
             "# Relative paths are relative to the directory of this file.\n"
             "\n"
             "[Node]\n"
             "KeyFile = %s\n"
             "DataDir = %s\n",
             key_file, data_dir);
    if (init->listen)
        text_add(t, "Listen = %s\n", init->listen);
    else
        text_add(t, "# Listen = 0.0.0.0:7400   # without Listen this node only dials out\n");
    text_add(t,
             "Network = %s   # must be the same on every node of the mesh\n"
             "Organisation = %s\n"
             "# Control = control.sock   # CLI socket; default DataDir/control.sock\n"
             "# TrustRosterOwner = BASE64-KEY   # honour community rosters signed by this key\n"
             "\n"
             "# One [Peer] per partner node; `tlpmesh peer add` appends them. Example:\n"
             "# [Peer]\n"
             "# PublicKey = BASE64-KEY   # its `tlpmesh pubkey` output, 44 characters\n"
             "# Endpoint = 192.0.2.10:7400   # leave out if the peer dials us\n"
             "# Organisation = CERT-B\n"
             "# Community = energy-isac   # one line per community\n"
             "# MaxTLP = amber   # most sensitive TLP sent to it (default amber)\n"
             "# Relation = partner   # or client: a constituent of our organisation\n"
             "# Name = cert-b\n",
             init->network, init->organisation);
}

int config_write_initial(const char *path, const struct config_initial *init, char *err,
                         size_t err_len)
{
    assert(path && init && init->organisation && init->network);
    const char *key_file = init->key_file ? init->key_file : "node.key";
    const char *data_dir = init->data_dir ? init->data_dir : "data";
    const char *values[][2] = {{"Organisation", init->organisation},
                               {"Network", init->network},
                               {"KeyFile", key_file},
                               {"DataDir", data_dir},
                               {"Listen", init->listen ? init->listen : ""}};
    for (size_t i = 0; i < ARRAY_LEN(values); i++)
        if (!value_writable(values[i][0], values[i][1], err, err_len))
            return CONFIG_E_INVALID;
    char dir[LIMIT_PATH_BYTES];
    if (dir_of(path, dir) != 0)
        return err_set(err, err_len, CONFIG_E_IO, "%s: cannot resolve its directory: %s", path,
                       strerror(errno));
    struct text t = {.buf = malloc(LIMIT_CONFIG_BYTES + 1)};
    if (!t.buf)
        return err_set(err, err_len, CONFIG_E_NOMEM, "%s: out of memory", path);
    initial_text(&t, init, key_file, data_dir);
    int rc = validate(path, dir, &t, err, err_len);
    if (rc != CONFIG_OK)
        goto out;
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
        rc = err_set(err, err_len, errno == EEXIST ? CONFIG_E_EXISTS : CONFIG_E_IO,
                     "%s: cannot create: %s", path, strerror(errno));
        goto out;
    }
    /* fchmod: the umask must not make the config unreadable to the node's tools. */
    if (fchmod(fd, 0644) != 0 || write_all(fd, t.buf, t.len) != 0)
        rc = err_set(err, err_len, CONFIG_E_IO, "%s: cannot write: %s", path, strerror(errno));
    if (close(fd) != 0 && rc == CONFIG_OK)
        rc = err_set(err, err_len, CONFIG_E_IO, "%s: cannot write: %s", path, strerror(errno));
    if (rc != CONFIG_OK)
        unlink(path);
out:
    free(t.buf);
    return rc;
}

/* The current file of an edit: its text (in t, with room to grow), parsed into *cfg. */
struct edit {
    struct text t;
    char dir[LIMIT_PATH_BYTES];
    mode_t mode;
    struct config cfg;
};

static int edit_open(const char *path, struct edit *e, char *err, size_t err_len)
{
    assert(path && e);
    memset(e, 0, sizeof(*e));
    config_init(&e->cfg);
    struct config_diag *diag = malloc(sizeof(*diag));
    if (!diag)
        return err_set(err, err_len, CONFIG_E_NOMEM, "%s: out of memory", path);
    memset(diag, 0, sizeof(*diag));
    int rc = read_text(path, &e->t.buf, &e->t.len, &e->mode, diag);
    if (rc != CONFIG_OK) {
        err_set(err, err_len, rc, "%s", diag->count ? diag->lines[0] : config_strerror(rc));
    } else if (dir_of(path, e->dir) != 0) {
        rc = err_set(err, err_len, CONFIG_E_IO, "%s: cannot resolve its directory: %s", path,
                     strerror(errno));
    } else {
        rc = parse_text(path, e->dir, e->t.buf, e->t.len, &e->cfg, diag);
        if (rc != CONFIG_OK)
            err_set(err, err_len, rc, "%s is not valid, fix it first (tlpmesh check-config): %s",
                    path, diag->count ? diag->lines[0] : config_strerror(rc));
    }
    free(diag);
    return rc;
}

static void edit_close(struct edit *e)
{
    free(e->t.buf);
    config_free(&e->cfg);
}

static int edit_commit(const char *path, struct edit *e, char *err, size_t err_len)
{
    int rc = validate(path, e->dir, &e->t, err, err_len);
    return rc == CONFIG_OK ? replace_file(path, e->dir, &e->t, e->mode, err, err_len) : rc;
}

static bool peer_text_writable(const struct config_peer_text *peer, char *err, size_t err_len)
{
    const char *values[][2] = {{"PublicKey", peer->public_key},      {"Endpoint", peer->endpoint},
                               {"Organisation", peer->organisation}, {"MaxTLP", peer->max_tlp},
                               {"Relation", peer->relation},         {"Name", peer->name}};
    for (size_t i = 0; i < ARRAY_LEN(values); i++)
        if (values[i][1] && !value_writable(values[i][0], values[i][1], err, err_len))
            return false;
    for (size_t i = 0; i < peer->n_communities; i++)
        if (!value_writable("Community", peer->communities[i], err, err_len))
            return false;
    return true;
}

static void append_peer(struct text *t, const struct config_peer_text *peer)
{
    assert(t && peer && peer->public_key);
    if (t->len && t->buf[t->len - 1] != '\n')
        text_add(t, "\n");
    text_add(t, "\n[Peer]\nPublicKey = %s\n", peer->public_key);
    const char *optional[][2] = {{"Endpoint", peer->endpoint},
                                 {"Organisation", peer->organisation}};
    for (size_t i = 0; i < ARRAY_LEN(optional); i++)
        if (optional[i][1])
            text_add(t, "%s = %s\n", optional[i][0], optional[i][1]);
    for (size_t i = 0; i < peer->n_communities; i++)
        text_add(t, "Community = %s\n", peer->communities[i]);
    const char *rest[][2] = {
        {"MaxTLP", peer->max_tlp}, {"Relation", peer->relation}, {"Name", peer->name}};
    for (size_t i = 0; i < ARRAY_LEN(rest); i++)
        if (rest[i][1])
            text_add(t, "%s = %s\n", rest[i][0], rest[i][1]);
}

int config_peer_add(const char *path, const struct config_peer_text *peer, char *err,
                    size_t err_len)
{
    assert(path && peer && peer->public_key);
    assert(peer->n_communities == 0 || peer->communities);
    if (!peer_text_writable(peer, err, err_len))
        return CONFIG_E_INVALID;
    struct edit e;
    int rc = edit_open(path, &e, err, err_len);
    if (rc != CONFIG_OK)
        goto out;
    /* A bad key is left to the parser of the result, which names the line. */
    uint8_t key[LIMIT_KEY_BYTES];
    const struct config_peer *old = keys_pubkey_from_b64(peer->public_key, key) == KEYS_OK
                                        ? config_find_peer(&e.cfg, key)
                                        : NULL;
    if (old) {
        rc = err_set(err, err_len, CONFIG_E_EXISTS, "%s:%d: peer %s is already configured", path,
                     old->line, peer->public_key);
        goto out;
    }
    append_peer(&e.t, peer);
    rc = edit_commit(path, &e, err, err_len);
out:
    edit_close(&e);
    return rc;
}

static bool line_blank(const char *line, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (!is_space(line[i]))
            return false;
    return true;
}

/* Byte offset of the start of line `line` (1-based) in t. */
static size_t line_start(const struct text *t, int line)
{
    assert(line >= 1);
    size_t pos = 0;
    for (int l = 1; l < line && pos < t->len; l++) {
        const char *nl = memchr(t->buf + pos, '\n', t->len - pos);
        pos = nl ? (size_t)(nl - t->buf) + 1 : t->len;
    }
    return pos;
}

int config_peer_remove(const char *path, const char *public_key_b64, char *err, size_t err_len)
{
    assert(path && public_key_b64);
    uint8_t key[LIMIT_KEY_BYTES];
    if (keys_pubkey_from_b64(public_key_b64, key) != KEYS_OK)
        return err_set(err, err_len, CONFIG_E_INVALID, "'%s' " NOT_A_KEY, public_key_b64);
    struct edit e;
    int rc = edit_open(path, &e, err, err_len);
    if (rc != CONFIG_OK)
        goto out;
    const struct config_peer *peer = config_find_peer(&e.cfg, key);
    if (!peer) {
        rc = err_set(err, err_len, CONFIG_E_NOTFOUND, "%s: no [Peer] with PublicKey %s", path,
                     public_key_b64);
        goto out;
    }
    size_t from = line_start(&e.t, peer->line);
    size_t to = line_start(&e.t, peer->last_line + 1);
    if (peer->line > 1) {
        size_t prev = line_start(&e.t, peer->line - 1);
        if (line_blank(e.t.buf + prev, from - prev - 1))
            from = prev;
    }
    assert(from <= to && to <= e.t.len);
    memmove(e.t.buf + from, e.t.buf + to, e.t.len - to + 1);
    e.t.len -= to - from;
    rc = edit_commit(path, &e, err, err_len);
out:
    edit_close(&e);
    return rc;
}
