/* config_edit.c - the editors: `tlpmesh init` and `tlpmesh peer add/remove` change the file's
 * text, keep every other byte, validate the result with the parser and replace the file
 * atomically (crypto/atomicfile.h). `peer replace-key` rewrites one PublicKey line. */
#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "crypto/atomicfile.h"
#include "crypto/keys.h"
#include "node/config/config_int.h"

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
static int validate(const char *path, const char *dir, mode_t mode, const struct text *t, char *err,
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
    int rc = config_parse_text(path, dir, t->buf, t->len, mode, &cfg, diag);
    config_free(&cfg);
    if (rc != CONFIG_OK)
        err_set(err, err_len, rc, "%s", diag->count ? diag->lines[0] : config_strerror(rc));
    free(diag);
    return rc;
}

/* Writes t to path (crypto/atomicfile.h: REPLACE for the editors, CREATE for init), err naming
 * the step that failed. */
static int write_file(const char *path, enum atomicfile_how how, mode_t mode, const struct text *t,
                      char *err, size_t err_len)
{
    assert(path && t && !t->overflow);
    struct atomicfile af;
    int rc = atomicfile_open(&af, path, how, mode);
    if (rc == ATOMICFILE_E_PATH)
        return err_set(err, err_len, CONFIG_E_IO, "%s: path too long", path);
    if (rc != ATOMICFILE_OK)
        return err_set(err, err_len, rc == ATOMICFILE_E_EXISTS ? CONFIG_E_EXISTS : CONFIG_E_IO,
                       how == ATOMICFILE_CREATE ? "%s: cannot create: %s"
                                                : "%s: cannot create a temporary file: %s",
                       path, strerror(errno));
    rc = atomicfile_write(&af, t->buf, t->len);
    if (rc != ATOMICFILE_OK)
        atomicfile_abort(&af);
    else
        rc = atomicfile_commit(&af);
    if (rc == ATOMICFILE_E_RENAME)
        return err_set(err, err_len, CONFIG_E_IO, "%s: cannot replace: %s", path, strerror(errno));
    if (rc != ATOMICFILE_OK)
        return err_set(err, err_len, CONFIG_E_IO, "%s: cannot write: %s", af.tmp, strerror(errno));
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
    for (size_t i = 0; i < CONFIG_ARRAY_LEN(values); i++)
        if (!value_writable(values[i][0], values[i][1], err, err_len))
            return CONFIG_E_INVALID;
    char dir[LIMIT_PATH_BYTES];
    if (config_dir_of(path, dir) != 0)
        return err_set(err, err_len, CONFIG_E_IO, "%s: cannot resolve its directory: %s", path,
                       strerror(errno));
    struct text t = {.buf = malloc(LIMIT_CONFIG_BYTES + 1)};
    if (!t.buf)
        return err_set(err, err_len, CONFIG_E_NOMEM, "%s: out of memory", path);
    initial_text(&t, init, key_file, data_dir);
    /* 0600 whatever the umask: the config may come to hold [Client] secrets, and the node's tools
     * run as the node's user. */
    int rc = validate(path, dir, 0600, &t, err, err_len);
    if (rc == CONFIG_OK)
        rc = write_file(path, ATOMICFILE_CREATE, 0600, &t, err, err_len);
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
    int rc = config_read_text(path, &e->t.buf, &e->t.len, &e->mode, diag);
    if (rc != CONFIG_OK) {
        err_set(err, err_len, rc, "%s", diag->count ? diag->lines[0] : config_strerror(rc));
    } else if (config_dir_of(path, e->dir) != 0) {
        rc = err_set(err, err_len, CONFIG_E_IO, "%s: cannot resolve its directory: %s", path,
                     strerror(errno));
    } else {
        rc = config_parse_text(path, e->dir, e->t.buf, e->t.len, e->mode, &e->cfg, diag);
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
    int rc = validate(path, e->dir, e->mode, &e->t, err, err_len);
    return rc == CONFIG_OK ? write_file(path, ATOMICFILE_REPLACE, e->mode, &e->t, err, err_len)
                           : rc;
}

static bool peer_text_writable(const struct config_peer_text *peer, char *err, size_t err_len)
{
    const char *values[][2] = {{"PublicKey", peer->public_key},      {"Endpoint", peer->endpoint},
                               {"Organisation", peer->organisation}, {"MaxTLP", peer->max_tlp},
                               {"Relation", peer->relation},         {"Name", peer->name}};
    for (size_t i = 0; i < CONFIG_ARRAY_LEN(values); i++)
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
    for (size_t i = 0; i < CONFIG_ARRAY_LEN(optional); i++)
        if (optional[i][1])
            text_add(t, "%s = %s\n", optional[i][0], optional[i][1]);
    for (size_t i = 0; i < peer->n_communities; i++)
        text_add(t, "Community = %s\n", peer->communities[i]);
    const char *rest[][2] = {
        {"MaxTLP", peer->max_tlp}, {"Relation", peer->relation}, {"Name", peer->name}};
    for (size_t i = 0; i < CONFIG_ARRAY_LEN(rest); i++)
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
        if (!config_is_space(line[i]))
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

/* Opens path for an edit of the [Peer] with key b64: CONFIG_OK with *peer set, or the error
 * (a bad key: nothing opened; no such peer) in err. edit_close(e) after either. */
static int edit_open_peer(const char *path, const char *b64, struct edit *e,
                          const struct config_peer **peer, char *err, size_t err_len)
{
    uint8_t key[LIMIT_KEY_BYTES];
    memset(e, 0, sizeof(*e));
    if (keys_pubkey_from_b64(b64, key) != KEYS_OK)
        return err_set(err, err_len, CONFIG_E_INVALID, "'%s' " CONFIG_NOT_A_KEY, b64);
    int rc = edit_open(path, e, err, err_len);
    if (rc != CONFIG_OK)
        return rc;
    *peer = config_find_peer(&e->cfg, key);
    if (*peer == NULL)
        return err_set(err, err_len, CONFIG_E_NOTFOUND, "%s: no [Peer] with PublicKey %s", path,
                       b64);
    return CONFIG_OK;
}

/* Replaces the bytes [from, to) of t with the text of fmt; false on overflow. */
__attribute__((format(printf, 4, 5))) static bool text_splice(struct text *t, size_t from,
                                                              size_t to, const char *fmt, ...)
{
    char line[LIMIT_CONFIG_DIAG_BYTES];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    assert(from <= to && to <= t->len);
    if (n < 0 || (size_t)n >= sizeof line || t->len - (to - from) + (size_t)n > LIMIT_CONFIG_BYTES)
        return false;
    memmove(t->buf + from + n, t->buf + to, t->len - to + 1);
    memcpy(t->buf + from, line, (size_t)n);
    t->len = t->len - (to - from) + (size_t)n;
    return true;
}

int config_peer_replace_key(const char *path, const char *old_b64, const char *new_b64, char *err,
                            size_t err_len)
{
    assert(path && old_b64 && new_b64);
    uint8_t new[LIMIT_KEY_BYTES];
    if (keys_pubkey_from_b64(new_b64, new) != KEYS_OK)
        return err_set(err, err_len, CONFIG_E_INVALID, "'%s' " CONFIG_NOT_A_KEY, new_b64);
    struct edit e;
    const struct config_peer *peer = NULL, *taken = NULL;
    int rc = edit_open_peer(path, old_b64, &e, &peer, err, err_len);
    if (rc == CONFIG_OK && (taken = config_find_peer(&e.cfg, new)) != NULL)
        rc = err_set(err, err_len, CONFIG_E_EXISTS, "%s:%d: peer %s is already configured", path,
                     taken->line, new_b64);
    if (rc != CONFIG_OK)
        goto out;
    /* the PublicKey line alone changes: comments, order and every other setting stay */
    size_t from = line_start(&e.t, peer->key_line), to = line_start(&e.t, peer->key_line + 1);
    bool nl = to > from && e.t.buf[to - 1] == '\n';
    if (!text_splice(&e.t, from, to, "PublicKey = %s%s", new_b64, nl ? "\n" : ""))
        rc = err_set(err, err_len, CONFIG_E_INVALID, "%s: the result would be too large", path);
    else
        rc = edit_commit(path, &e, err, err_len);
out:
    edit_close(&e);
    return rc;
}

int config_peer_remove(const char *path, const char *public_key_b64, char *err, size_t err_len)
{
    assert(path && public_key_b64);
    struct edit e;
    const struct config_peer *peer = NULL;
    int rc = edit_open_peer(path, public_key_b64, &e, &peer, err, err_len);
    if (rc != CONFIG_OK)
        goto out;
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
