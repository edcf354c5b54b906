/* config_parse.c - the parser: our line reader feeds inih, tracks lines and sections and reports
 * every bad line; the keys' setters are in config_keys.c. Also reading the file (config_load). */
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

#include "node/config/config_int.h"
#include "crypto/keys.h"

/* Longest Unix socket path: bind() needs it, with its NUL, in sun_path. */
#define CONTROL_PATH_MAX (sizeof(((struct sockaddr_un *)0)->sun_path) - 1)

static const char *const section_titles[] = {"", "[Node]", "[Peer]", "[HTTP]", "[Client]", ""};

void config_problem(struct config_parse *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    config_diag_vadd(p->diag, p->file, p->lineno, fmt, ap);
    va_end(ap);
}

static void check_required(struct config_parse *p, enum config_section section, int line,
                           const char *title)
{
    for (size_t k = 0; k < CONFIG_N_KEYS; k++)
        if (config_key_specs[k].section == section && config_key_specs[k].required && !p->seen[k])
            config_diag_add(p->diag, p->file, line, "%s: missing %s", title,
                            config_key_specs[k].name);
}

/* Whether key of section was set in the current section. */
static bool seen_key(const struct config_parse *p, enum config_section section, const char *key)
{
    for (size_t k = 0; k < CONFIG_N_KEYS; k++)
        if (config_key_specs[k].section == section && strcmp(config_key_specs[k].name, key) == 0)
            return p->seen[k] != 0;
    return false;
}

/* Checks the [Peer] or [Client] that just ended. */
static void end_section(struct config_parse *p)
{
    if (p->section == CONFIG_SECTION_PEER)
        check_required(p, CONFIG_SECTION_PEER, config_current_peer(p)->line, "[Peer]");
    if (p->section == CONFIG_SECTION_CLIENT) {
        const struct config_client *c = config_current_client(p);
        check_required(p, CONFIG_SECTION_CLIENT, c->line, "[Client]");
        if (!seen_key(p, CONFIG_SECTION_CLIENT, "Secret") &&
            !seen_key(p, CONFIG_SECTION_CLIENT, "SecretFile"))
            config_diag_add(p->diag, p->file, c->line, "[Client]: missing Secret or SecretFile");
        /* The console's sign-in form is a user name and a password: a Basic credential. */
        if (c->console != CONFIG_CONSOLE_NONE && c->scheme != CONFIG_SCHEME_BASIC)
            config_diag_add(p->diag, p->file, c->line,
                            "[Client]: Console needs Scheme = basic (the sign-in is Name and "
                            "Secret)");
    }
}

static void begin_client(struct config_parse *p)
{
    struct config *cfg = p->cfg;
    if (cfg->n_clients == LIMIT_HTTP_CLIENTS) {
        config_problem(p, "too many [Client] sections (limit %d)", LIMIT_HTTP_CLIENTS);
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
    p->section = CONFIG_SECTION_CLIENT;
}

static void begin_section(struct config_parse *p, const char *name)
{
    assert(p && name && p->cfg->n_peers <= LIMIT_PEERS);
    end_section(p);
    for (size_t k = 0; k < CONFIG_N_KEYS; k++)
        if (config_key_specs[k].section == CONFIG_SECTION_PEER ||
            config_key_specs[k].section == CONFIG_SECTION_CLIENT)
            p->seen[k] = 0;
    p->section = CONFIG_SECTION_SKIP;
    if (strcasecmp(name, "Client") == 0) {
        begin_client(p);
    } else if (strcasecmp(name, "HTTP") == 0) {
        if (p->http_line) {
            config_problem(p, "duplicate [HTTP] section (first at line %d)", p->http_line);
            return;
        }
        p->http_line = p->lineno;
        p->cfg->http.max_page_size = LIMIT_TAXII_PAGE_DEFAULT;
        p->section = CONFIG_SECTION_HTTP;
    } else if (strcasecmp(name, "Node") == 0) {
        if (p->node_line) {
            config_problem(p, "duplicate [Node] section (first at line %d)", p->node_line);
            return;
        }
        p->node_line = p->lineno;
        p->section = CONFIG_SECTION_NODE;
    } else if (strcasecmp(name, "Peer") == 0) {
        struct config *cfg = p->cfg;
        if (cfg->n_peers == LIMIT_PEERS) {
            config_problem(p, "too many [Peer] sections (limit %d)", LIMIT_PEERS);
            return;
        }
        struct config_peer *peers = cfg->peers;
        const size_t n = cfg->n_peers;
        if ((n & (n - 1)) == 0) { /* the array is full at 0, 1, 2, 4...: doubling keeps a
                                     hub's 2,000 sections linear, not 2,000 copies */
            peers = realloc(peers, (n ? 2 * n : 1) * sizeof(*peers));
            if (!peers) {
                p->nomem = true;
                return;
            }
            cfg->peers = peers;
        }
        struct config_peer *peer = &peers[cfg->n_peers++];
        memset(peer, 0, sizeof(*peer));
        peer->max_tlp = CONFIG_DEFAULT_MAX_TLP;
        peer->relation = CONFIG_RELATION_PARTNER;
        peer->line = peer->last_line = p->lineno;
        p->section = CONFIG_SECTION_PEER;
    } else {
        config_problem(p, "unknown section [%s] (expected [Node], [Peer], [HTTP] or [Client])",
                       name);
    }
}

static int on_setting(void *user, const char *section_name, const char *name, const char *value)
{
    struct config_parse *p = user;
    assert(p && name && value && p->lineno > 0);
    (void)section_name; /* p->section, set by the reader, is the same and knows more */
    if (p->section == CONFIG_SECTION_SKIP || p->nomem)
        return 1;
    if (p->section == CONFIG_SECTION_NONE) {
        config_problem(p, "%s: setting outside a section (put it under [Node] or [Peer])", name);
        return 1;
    }
    const char *title = section_titles[p->section];
    if (p->section == CONFIG_SECTION_PEER)
        config_current_peer(p)->last_line = p->lineno;
    for (size_t k = 0; k < CONFIG_N_KEYS; k++) {
        const struct config_key_spec *spec = &config_key_specs[k];
        if (spec->section != p->section || strcasecmp(spec->name, name) != 0)
            continue;
        if (p->seen[k] && !spec->repeatable)
            config_problem(p, "%s: duplicate key (first at line %d)", spec->name, p->seen[k]);
        else if (value[0] == '\0')
            config_problem(p, "%s: empty value", spec->name);
        else
            spec->set(p, value);
        if (!p->seen[k])
            p->seen[k] = p->lineno;
        return 1;
    }
    config_problem(p, "unknown key '%s' in %s", name, title);
    return 1;
}

bool config_is_space(char c)
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
    while (s < e && config_is_space(line[s]))
        s++;
    while (e > s && config_is_space(line[e - 1]))
        e--;
    *start = s;
    *end = e;
}

/* Handles one raw line. Returns the text for inih: the content if it is a setting or section
 * header, "" for blank, comment and bad lines (bad ones are reported here, so inih never sees
 * a syntax error and we report all of them, not only the first). */
static size_t reader_line(struct config_parse *p, const char *line, size_t len, size_t room,
                          char *out)
{
    assert(p && line && out && room > 2);
    if (len > LIMIT_CONFIG_LINE) {
        config_problem(p, "line too long (%zu bytes; limit %d)", len, LIMIT_CONFIG_LINE);
        return 0;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)line[i];
        if ((c < 0x20 && c != '\t' && !(c == '\r' && i + 1 == len)) || c == 0x7f) {
            config_problem(p, "control character (byte 0x%02x) in column %zu", c, i + 1);
            return 0;
        }
    }
    size_t s, e;
    line_content(line, len, &s, &e);
    size_t n = e - s;
    if (n == 0)
        return 0;
    if (n > LIMIT_CONFIG_ENTRY_BYTES || n + 2 > room) {
        config_problem(p, "setting too long (%zu bytes without its comment; limit %d)", n,
                       LIMIT_CONFIG_ENTRY_BYTES);
        return 0;
    }
    memcpy(out, line + s, n);
    out[n] = '\0';
    if (out[0] == '[') {
        if (out[n - 1] != ']') {
            config_problem(p, "expected '[Section]' or 'Key = Value'");
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
    while (config_is_space(out[eq]))
        eq++;
    if (key_len == 0 || out[eq] != '=') {
        config_problem(p, "expected '[Section]' or 'Key = Value'");
        return 0;
    }
    return n;
}

static char *reader(char *str, int num, void *stream)
{
    struct config_parse *p = stream;
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

static void finish_node(struct config_parse *p)
{
    assert(p && p->cfg);
    struct config *cfg = p->cfg;
    if (!p->node_line) {
        config_diag_add(p->diag, p->file, 0, "missing [Node] section");
        return;
    }
    check_required(p, CONFIG_SECTION_NODE, p->node_line, "[Node]");
    /* A default too long for the buffer is cut, and then reported as too long below. */
    if (!p->control_line && cfg->data_dir[0])
        snprintf(cfg->control_path, sizeof(cfg->control_path), "%.*s/control.sock",
                 LIMIT_PATH_BYTES - 20, cfg->data_dir);
    size_t len = strlen(cfg->control_path);
    if (len > CONTROL_PATH_MAX)
        config_diag_add(
            p->diag, p->file, p->control_line ? p->control_line : p->node_line,
            "Control: socket path '%s' is %zu bytes; Unix sockets allow %zu (set Control "
            "to a shorter path)",
            cfg->control_path, len, CONTROL_PATH_MAX);
}

/* A node listed as its own peer dials itself, and every reload after that fails: refused here so
 * that peer add, check-config and a reload all say so. An unreadable key file skips the check
 * (check-config as another user); the node itself refuses to start without its key. */
static void check_own_key(struct config_parse *p)
{
    const struct config *cfg = p->cfg;
    struct keys_identity id;
    if (!cfg->key_file[0] || cfg->n_peers == 0 || sodium_init() < 0 ||
        keys_file_load(cfg->key_file, &id, NULL, 0) != KEYS_OK)
        return;
    for (size_t i = 0; i < cfg->n_peers; i++) {
        const struct config_peer *peer = &cfg->peers[i];
        if (peer->key_b64[0] && memcmp(peer->key, id.sign_pk, LIMIT_KEY_BYTES) == 0)
            config_diag_add(p->diag, p->file, peer->key_line,
                            "PublicKey: this is this node's own key (KeyFile %s): a node "
                            "cannot be its own peer",
                            cfg->key_file);
    }
    keys_identity_wipe(&id);
}

int config_parse_text(const char *file, const char *dir, const char *text, size_t len, mode_t mode,
                      struct config *out, struct config_diag *diag)
{
    assert(file && dir && text && out && diag);
    int seen[CONFIG_N_KEYS] = {0};
    struct config_parse p = {.file = file,
                             .text = text,
                             .len = len,
                             .seen = seen,
                             .cfg = out,
                             .diag = diag,
                             .mode = mode,
                             .section = CONFIG_SECTION_NONE};
    snprintf(out->path, sizeof(out->path), "%s", file);
    snprintf(out->dir, sizeof(out->dir), "%s", dir);
    if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
        p.pos = 3;
    int rc = ini_parse_stream(reader, &p, on_setting, &p);
    if (rc == -2 || p.nomem)
        return CONFIG_E_NOMEM;
    if (rc > 0) /* our reader passes only well-formed lines, so this is a bug worth seeing */
        config_diag_add(diag, file, rc, "cannot parse this line");
    end_section(&p);
    if (p.http_line)
        check_required(&p, CONFIG_SECTION_HTTP, p.http_line, "[HTTP]");
    finish_node(&p);
    check_own_key(&p);
    return diag->count || diag->dropped ? CONFIG_E_INVALID : CONFIG_OK;
}

/* --- files --- */

int config_dir_of(const char *path, char out[LIMIT_PATH_BYTES])
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

int config_read_text(const char *path, char **text, size_t *len, mode_t *mode,
                     struct config_diag *diag)
{
    assert(path && text && len && mode && diag);
    *text = NULL;
    char *buf = NULL;
    int rc = CONFIG_E_IO;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        config_diag_add(diag, path, 0, "cannot open: %s", strerror(errno));
        return CONFIG_E_IO;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        config_diag_add(diag, path, 0, "cannot stat: %s", strerror(errno));
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        config_diag_add(diag, path, 0, "not a regular file");
        goto out;
    }
    if (st.st_size > LIMIT_CONFIG_BYTES) {
        config_diag_add(diag, path, 0, "file too big (%lld bytes; limit %d)", (long long)st.st_size,
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
            config_diag_add(diag, path, 0, "cannot read: %s", strerror(errno));
            goto out;
        }
        if (n == 0)
            break;
        got += (size_t)n;
    }
    if (got > LIMIT_CONFIG_BYTES) {
        config_diag_add(diag, path, 0, "file too big (more than %d bytes)", LIMIT_CONFIG_BYTES);
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
    int rc = config_read_text(path, &text, &len, &mode, diag);
    if (rc != CONFIG_OK)
        return rc;
    char dir[LIMIT_PATH_BYTES];
    if (config_dir_of(path, dir) != 0) {
        config_diag_add(diag, path, 0, "cannot resolve its directory: %s", strerror(errno));
        rc = CONFIG_E_IO;
        goto out;
    }
    rc = config_parse_text(path, dir, text, len, mode, out, diag);
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
