/* cli.c - helpers shared by the commands: option errors, hex ids, opening a node's config. */
#include "node/cli/cli.h"

#include <assert.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "node/shell/control.h"

int cli_bad_option(const char *cmd, char **argv, int opt)
{
    /* getopt_long leaves the offending word at argv[optind - 1]. */
    const char *word = optind > 0 ? argv[optind - 1] : "?";
    if (opt == ':')
        cli_error(cmd, "option '%s' needs a value (see tlpmesh %s --help)", word, cmd);
    else
        cli_error(cmd, "unknown option '%s' (see tlpmesh %s --help)", word, cmd);
    return CLI_USAGE;
}

int cli_open(const char *cmd, const char *conf_path, unsigned flags, struct cli_node *n)
{
    memset(n, 0, sizeof *n);
    config_init(&n->cfg);
    if (!conf_path) {
        cli_error(cmd, "missing -c CONF (see tlpmesh %s --help)", cmd);
        return CLI_USAGE;
    }
    struct config_diag *diag = calloc(1, sizeof *diag);
    if (!diag) {
        cli_error(cmd, "out of memory");
        return CLI_FAIL;
    }
    int rc = config_load(conf_path, &n->cfg, diag);
    if (rc != CONFIG_OK) {
        /* One line, as promised: the first problem, and where the rest can be seen. */
        const size_t more = diag->count + diag->dropped - (diag->count > 0);
        cli_error(cmd, "%s%s", diag->count ? diag->lines[0] : config_strerror(rc),
                  more ? " (and more: run tlpmesh check-config)" : "");
        free(diag);
        cli_close(n);
        return CLI_USAGE;
    }
    free(diag);
    if (flags & CLI_OPEN_KEY) {
        char why[512] = "";
        rc = keys_file_load(n->cfg.key_file, &n->id, why, sizeof why);
        if (rc != KEYS_OK) {
            cli_error(cmd, "%s", why[0] ? why : keys_strerror(rc));
            cli_close(n);
            return CLI_USAGE;
        }
        n->has_key = true;
    }
    if (flags & (CLI_OPEN_STORE_RO | CLI_OPEN_STORE_RW)) {
        struct store_opts so = {.read_only = (flags & CLI_OPEN_STORE_RW) == 0,
                                .map_size_bytes = (size_t)n->cfg.store_map_mb << 20};
        char why[512] = "";
        rc = store_open(&n->store, n->cfg.data_dir, &so, why, sizeof why);
        if (rc != STORE_OK) {
            cli_error(cmd, "%s", why[0] ? why : store_strerror(rc));
            cli_close(n);
            return CLI_FAIL;
        }
    }
    return CLI_OK;
}

void cli_close(struct cli_node *n)
{
    store_close(n->store);
    n->store = NULL;
    if (n->has_key)
        keys_identity_wipe(&n->id);
    n->has_key = false;
    config_free(&n->cfg);
}

void cli_id_hex(const uint8_t id[LIMIT_ID_BYTES], char out[2 * LIMIT_ID_BYTES + 1])
{
    sodium_bin2hex(out, 2 * LIMIT_ID_BYTES + 1, id, LIMIT_ID_BYTES);
}

enum { CLI_CONTROL_TIMEOUT_MS = 3000 };

/* Sends one control command; returns the node's answer (new reference) or NULL when no node
 * answers. */
static json_t *control_cmd(const char *control_path, const char *cmd)
{
    return cli_control_ask(control_path, json_pack("{s:s}", "cmd", cmd));
}

json_t *cli_control_ask(const char *control_path, json_t *req)
{
    json_t *resp = NULL;
    if (!req)
        return NULL;
    if (control_request(control_path, req, &resp, CLI_CONTROL_TIMEOUT_MS) != CONTROL_OK)
        resp = NULL;
    json_decref(req);
    return resp;
}

json_t *cli_node_ask(const struct cli_node *n, json_t *req)
{
    if (!n->control)
        return cli_control_ask(n->cfg.control_path, req);
    json_t *resp = req ? n->control(n->control_ctx, req) : NULL;
    json_decref(req);
    return resp;
}

void cli_notify_node(const struct config *cfg)
{
    json_decref(control_cmd(cfg->control_path, "records-added"));
}

void cli_reload_node(const char *cmd, const char *conf_path)
{
    struct config cfg;
    config_init(&cfg);
    struct config_diag *diag = calloc(1, sizeof *diag);
    if (diag && config_load(conf_path, &cfg, diag) == CONFIG_OK) {
        json_t *resp = control_cmd(cfg.control_path, "reload");
        const bool ok = resp && json_is_true(json_object_get(resp, "ok"));
        if (ok)
            printf("%s: the running node has re-read its peers\n", cmd);
        else
            printf("%s: saved; no running node answered (it takes effect at the next start)\n",
                   cmd);
        json_decref(resp);
    }
    free(diag);
    config_free(&cfg);
}

int cli_match_owner(const char *path, const char *like)
{
    struct stat st;
    if (geteuid() != 0 || stat(like, &st) != 0)
        return 0;
    return chown(path, st.st_uid, st.st_gid);
}

int cli_load_shown(struct store *st, const uint8_t id[LIMIT_ID_BYTES], const uint8_t *signed_rec,
                   size_t len, uint64_t seq, uint64_t now_ms, struct cli_shown *out)
{
    assert(len > LIMIT_SIG_BYTES);
    memcpy(out->id, id, LIMIT_ID_BYTES);
    out->seq = seq;
    int rc = proto_record_decode(signed_rec + LIMIT_SIG_BYTES, len - LIMIT_SIG_BYTES, &out->rec,
                                 NULL, 0);
    if (rc != PROTO_OK)
        return rc;
    out->expired = out->rec.kind == PROTO_KIND_INDICATOR && out->rec.u.ind.valid_until_ms <= now_ms;
    rc = store_is_revoked(st, id, out->rec.origin);
    if (rc < 0)
        return rc;
    out->revoked = rc == 1;
    return PROTO_OK;
}

/* ---- building and storing records of ours (publish, import) ---- */

int cli_read_value_file(const char *cmd, const char *path, char *out, size_t cap)
{
    assert(cap > 1);
    const bool in = strcmp(path, "-") == 0;
    FILE *f = in ? stdin : fopen(path, "rb");
    if (f == NULL) {
        cli_error(cmd, "--value-file %s: %s", path, strerror(errno));
        return CLI_USAGE;
    }
    const size_t n = fread(out, 1, cap, f);
    const bool bad = ferror(f) != 0;
    if (!in)
        fclose(f);
    if (bad || n >= cap || memchr(out, '\0', n) != NULL) {
        if (n >= cap)
            cli_error(cmd, "--value-file %s: larger than %zu bytes", path, cap - 2);
        else
            cli_error(cmd, "--value-file %s: %s", path, bad ? "read error" : "holds a NUL byte");
        return CLI_USAGE;
    }
    out[n] = '\0';
    return CLI_OK;
}

enum { DAY_MS = 86400 * 1000 };

/* Default validity by kind of indicator: addresses are re-used by others within weeks, names
 * within months; a file hash, a fingerprint or artefact of a tool, a CVE id or a rule means the
 * same thing for ever. */
uint64_t cli_default_validity_ms(int itype)
{
    switch (itype) {
    case PROTO_ITYPE_IP_SRC:
    case PROTO_ITYPE_IP_DST:
    case PROTO_ITYPE_IP_SRC_PORT:
    case PROTO_ITYPE_IP_DST_PORT: return 30ULL * DAY_MS;
    case PROTO_ITYPE_MD5:
    case PROTO_ITYPE_SHA1:
    case PROTO_ITYPE_SHA256:
    case PROTO_ITYPE_SHA512:
    case PROTO_ITYPE_FILENAME:
    case PROTO_ITYPE_SSDEEP:
    case PROTO_ITYPE_TLSH:
    case PROTO_ITYPE_IMPHASH:
    case PROTO_ITYPE_JA3:
    case PROTO_ITYPE_JARM:
    case PROTO_ITYPE_X509_SHA1:
    case PROTO_ITYPE_X509_SHA256:
    case PROTO_ITYPE_MUTEX:
    case PROTO_ITYPE_REGKEY:
    case PROTO_ITYPE_REGKEY_VALUE:
    case PROTO_ITYPE_VULNERABILITY:
    case PROTO_ITYPE_YARA:
    case PROTO_ITYPE_SIGMA:
    case PROTO_ITYPE_SNORT:
    case PROTO_ITYPE_SURICATA: return 365ULL * DAY_MS;
    default: return 90ULL * DAY_MS;
    }
}

static bool same_audience(const struct proto_audience *x, const struct proto_audience *y)
{
    if (x->n_communities != y->n_communities || x->n_recipients != y->n_recipients)
        return false;
    for (size_t i = 0; i < x->n_communities; i++)
        if (strcmp(x->communities[i], y->communities[i]) != 0)
            return false;
    return memcmp(x->recipients, y->recipients, (size_t)x->n_recipients * LIMIT_KEY_BYTES) == 0;
}

struct dedupe_ctx {
    struct store *st;
    const struct proto_record *want;
    uint64_t now_ms;
    bool found;
    uint8_t id[LIMIT_ID_BYTES];
};

/* A live indicator this node published with the same type, value, TLP and audience. */
static int dedupe_cb(const uint8_t id[LIMIT_ID_BYTES], const uint8_t *signed_rec, size_t len,
                     uint64_t seq, void *vctx)
{
    struct dedupe_ctx *c = vctx;
    struct cli_shown s;
    if (cli_load_shown(c->st, id, signed_rec, len, seq, c->now_ms, &s) != PROTO_OK)
        return 0;
    const struct proto_record *w = c->want;
    if (s.revoked || s.expired || memcmp(s.rec.origin, w->origin, LIMIT_KEY_BYTES) != 0 ||
        s.rec.tlp != w->tlp || !same_audience(&s.rec.audience, &w->audience))
        return 0;
    c->found = true;
    memcpy(c->id, id, LIMIT_ID_BYTES);
    return 1;
}

int cli_find_duplicate(struct store *st, const struct proto_record *want, uint64_t now_ms,
                       uint8_t id[LIMIT_ID_BYTES])
{
    assert(want->kind == PROTO_KIND_INDICATOR);
    struct dedupe_ctx d = {.st = st, .want = want, .now_ms = now_ms};
    const int rc = store_find_exact(st, want->u.ind.type, want->u.ind.value, dedupe_cb, &d);
    if (rc < 0)
        return rc;
    if (d.found)
        memcpy(id, d.id, LIMIT_ID_BYTES);
    return d.found ? 1 : 0;
}

int cli_sign_record(const struct keys_identity *ident, const struct proto_record *r,
                    uint8_t out[LIMIT_SIG_BYTES + LIMIT_RECORD_BYTES], uint8_t id[LIMIT_ID_BYTES])
{
    const int blen = proto_record_encode(r, out + LIMIT_SIG_BYTES, LIMIT_RECORD_BYTES);
    if (blen < 0)
        return blen;
    proto_record_sign(out + LIMIT_SIG_BYTES, (size_t)blen, ident->sign_sk, out);
    proto_record_id(out + LIMIT_SIG_BYTES, (size_t)blen, id);
    return LIMIT_SIG_BYTES + blen;
}

int cli_sign_and_store(struct cli_node *n, const char *cmd, const struct proto_record *r,
                       uint8_t id[LIMIT_ID_BYTES])
{
    assert(n->has_key && n->store != NULL);
    uint8_t buf[LIMIT_SIG_BYTES + LIMIT_RECORD_BYTES];
    const int len = cli_sign_record(&n->id, r, buf, id);
    if (len < 0) {
        cli_error(cmd, "cannot encode the record: %s", proto_strerror(len));
        return CLI_USAGE;
    }
    struct store_put put = {.signed_rec = buf, .len = (size_t)len, .rec = r,
                            .added_us = cli_now_ms() * 1000};
    memcpy(put.id, id, LIMIT_ID_BYTES);
    const int rc = store_put_batch(n->store, &put, 1);
    if (rc != STORE_OK) {
        cli_error(cmd, "store %s: %s", n->cfg.data_dir, store_strerror(rc));
        return CLI_FAIL;
    }
    json_decref(cli_node_ask(n, json_pack("{s:s}", "cmd", "records-added")));
    return CLI_OK;
}

int cli_build_audience(const char *cmd, const char *const *communities, size_t n_communities,
                       const char *const *to, size_t n_to, struct proto_audience *aud)
{
    assert(n_communities <= LIMIT_AUDIENCE_COMMUNITIES && n_to <= LIMIT_AUDIENCE_RECIPIENTS);
    for (size_t i = 0; i < n_communities; i++) {
        const size_t len = strlen(communities[i]);
        if (len == 0 || len > LIMIT_NAME_BYTES) {
            cli_error(cmd, "--community '%s': names are 1 to %d bytes", communities[i],
                      LIMIT_NAME_BYTES);
            return CLI_USAGE;
        }
        memcpy(aud->communities[i], communities[i], len + 1);
    }
    aud->n_communities = (uint8_t)n_communities;
    for (size_t i = 0; i < n_to; i++) {
        if (keys_pubkey_from_b64(to[i], aud->recipients[i]) != KEYS_OK) {
            cli_error(cmd, "--to '%s' is not a node public key (44 base64 characters)", to[i]);
            return CLI_USAGE;
        }
    }
    aud->n_recipients = (uint8_t)n_to;
    return CLI_OK;
}

int cli_load_warninglists(const char *cmd, const struct config *cfg, const char *const *files,
                          size_t n_files, struct warninglist_set *set)
{
    char why[512] = "", dir[LIMIT_PATH_BYTES];
    int rc = WARNINGLIST_OK;
    for (size_t i = 0; i < n_files && rc == WARNINGLIST_OK; i++)
        rc = warninglist_load_file(set, files[i], why, sizeof why);
    if (rc == WARNINGLIST_OK) {
        if ((size_t)snprintf(dir, sizeof dir, "%s/../warninglists", cfg->data_dir) < sizeof dir)
            rc = warninglist_load_dir(set, dir, why, sizeof why);
    }
    if (rc != WARNINGLIST_OK) {
        cli_error(cmd, "warninglist %s", why[0] ? why : warninglist_strerror(rc));
        return CLI_USAGE;
    }
    return CLI_OK;
}

bool cli_push(const char **list, size_t *n, size_t cap, const char *v)
{
    if (*n >= cap)
        return false;
    list[(*n)++] = v;
    return true;
}

void cli_print_json_line(json_t *o)
{
    char *txt = o ? json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
    if (txt)
        puts(txt);
    free(txt);
    json_decref(o);
}
