/* cli.c - helpers shared by the commands: option errors, hex ids, opening a node's config. */
#include "node/cli.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "node/control.h"

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
        struct store_opts so = {.read_only = (flags & CLI_OPEN_STORE_RW) == 0};
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

bool cli_parse_id(const char *hex, uint8_t id[LIMIT_ID_BYTES])
{
    size_t len = 0;
    return strlen(hex) == 2 * LIMIT_ID_BYTES &&
           sodium_hex2bin(id, LIMIT_ID_BYTES, hex, strlen(hex), NULL, &len, NULL) == 0 &&
           len == LIMIT_ID_BYTES;
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
    json_t *req = json_pack("{s:s}", "cmd", cmd), *resp = NULL;
    if (!req)
        return NULL;
    if (control_request(control_path, req, &resp, CLI_CONTROL_TIMEOUT_MS) != CONTROL_OK)
        resp = NULL;
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
