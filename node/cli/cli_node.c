/* cli_node.c - init, check-config, run, status, peer: the node's life from the operator's side. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "node/cli/cli.h"
#include "node/shell/control.h"
#include "node/shell/log.h"
#include "node/console/console.h"
#include "node/shell/run.h"

/* Parses "-c CONF [--json]" with positional arguments left from *first_pos. */
static int parse_conf_json(const char *cmd, int argc, char **argv, const char **conf, bool *json,
                           int *first_pos)
{
    static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
                                         {"json", no_argument, NULL, 'j'},
                                         {0, 0, 0, 0}};
    int c;
    opterr = 0;
    /* Set on every path: the optimiser cannot see that cli_bad_option never returns CLI_OK. */
    *first_pos = argc;
    while ((c = getopt_long(argc, argv, ":c:", opts, NULL)) != -1) {
        if (c == 'c')
            *conf = optarg;
        else if (c == 'j' && json)
            *json = true;
        else
            return cli_bad_option(cmd, argv, c);
    }
    *first_pos = optind;
    if (!*conf) {
        cli_error(cmd, "missing -c CONF (see tlpmesh %s --help)", cmd);
        return CLI_USAGE;
    }
    return CLI_OK;
}

/* parse_conf_json for a command that takes no positional argument. */
static int parse_conf_only(const char *cmd, int argc, char **argv, const char **conf, bool *json)
{
    int pos, rc = parse_conf_json(cmd, argc, argv, conf, json, &pos);
    if (rc == CLI_OK && pos != argc) {
        cli_error(cmd, "unexpected argument '%s'", argv[pos]);
        rc = CLI_USAGE;
    }
    return rc;
}

/* mkdir that accepts an existing empty directory: init may be pointed at a fresh mount point. */
static int make_dir(const char *path, mode_t mode)
{
    if (mkdir(path, mode) == 0)
        return 0;
    struct stat st;
    if (errno == EEXIST && stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return 0;
    return -1;
}

int cli_init(int argc, char **argv)
{
    static const struct option opts[] = {{"org", required_argument, NULL, 'o'},
                                         {"network", required_argument, NULL, 'n'},
                                         {"listen", required_argument, NULL, 'l'},
                                         {0, 0, 0, 0}};
    struct config_initial init = {0};
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        switch (c) {
        case 'o': init.organisation = optarg; break;
        case 'n': init.network = optarg; break;
        case 'l': init.listen = optarg; break;
        default: return cli_bad_option("init", argv, c);
        }
    }
    if (optind != argc - 1 || !init.organisation || !init.network) {
        cli_error("init", "expected DIR --org NAME --network NAME (see tlpmesh init --help)");
        return CLI_USAGE;
    }
    const char *dir = argv[optind];
    char conf[PATH_MAX], key[PATH_MAX], data[PATH_MAX];
    if (snprintf(conf, sizeof conf, "%s/tlpmesh.conf", dir) >= (int)sizeof conf ||
        snprintf(key, sizeof key, "%s/node.key", dir) >= (int)sizeof key ||
        snprintf(data, sizeof data, "%s/data", dir) >= (int)sizeof data) {
        cli_error("init", "directory name too long: %s", dir);
        return CLI_USAGE;
    }
    struct stat st;
    if (stat(conf, &st) == 0 || stat(key, &st) == 0) {
        cli_error("init", "%s already holds a node (tlpmesh.conf or node.key); not overwriting",
                  dir);
        return CLI_FAIL;
    }
    /* Validate the config text before creating anything, so bad arguments leave no debris. */
    char err[LIMIT_CONFIG_DIAG_BYTES] = "";
    if (make_dir(dir, 0755) != 0) {
        cli_error("init", "cannot create %s: %s", dir, strerror(errno));
        return CLI_FAIL;
    }
    int rc = config_write_initial(conf, &init, err, sizeof err);
    if (rc != CONFIG_OK) {
        cli_error("init", "%s", err[0] ? err : config_strerror(rc));
        return rc == CONFIG_E_INVALID ? CLI_USAGE : CLI_FAIL;
    }
    struct keys_identity id;
    rc = keys_file_generate(key, &id);
    if (rc != KEYS_OK) {
        remove(conf);
        cli_error("init", "%s: %s", key, keys_strerror(rc));
        return CLI_FAIL;
    }
    char b64[LIMIT_PUBKEY_B64_LEN + 1];
    keys_pubkey_to_b64(id.sign_pk, b64);
    keys_identity_wipe(&id);
    if (make_dir(data, 0700) != 0) {
        cli_error("init", "cannot create %s: %s", data, strerror(errno));
        return CLI_FAIL;
    }
    printf("config    %s\npublic    %s\n", conf, b64);
    return CLI_OK;
}

int cli_check_config(int argc, char **argv)
{
    const char *conf = NULL;
    int rc = parse_conf_only("check-config", argc, argv, &conf, NULL);
    if (rc != CLI_OK)
        return rc;
    const size_t problems = config_check(conf, stderr);
    if (problems) {
        fprintf(stderr, "%s: %zu problem%s\n", conf, problems, problems == 1 ? "" : "s");
        return CLI_USAGE;
    }
    printf("%s: ok\n", conf);
    cli_key_print_successions(conf, stdout);
    return CLI_OK;
}

int cli_run(int argc, char **argv)
{
    static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
                                         {"log-format", required_argument, NULL, 'f'},
                                         {"log-file", required_argument, NULL, 'l'},
                                         {"log-level", required_argument, NULL, 'L'},
                                         {0, 0, 0, 0}};
    const char *conf = NULL, *log_file = NULL;
    int log_format = -1, c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":c:", opts, NULL)) != -1) {
        if (c == 'c') {
            conf = optarg;
        } else if (c == 'l') {
            log_file = optarg;
        } else if (c == 'L') {
            if (strcmp(optarg, "info") != 0 && strcmp(optarg, "debug") != 0) {
                cli_error("run", "--log-level '%s' is neither info nor debug", optarg);
                return CLI_USAGE;
            }
            log_set_debug(strcmp(optarg, "debug") == 0);
        } else if (c == 'f') {
            if ((log_format = log_format_parse(optarg)) < 0) {
                cli_error("run", "--log-format '%s' is neither text nor json", optarg);
                return CLI_USAGE;
            }
        } else {
            return cli_bad_option("run", argv, c);
        }
    }
    if (!conf) {
        cli_error("run", "missing -c CONF (see tlpmesh run --help)");
        return CLI_USAGE;
    }
    if (optind != argc) {
        cli_error("run", "unexpected argument '%s'", argv[optind]);
        return CLI_USAGE;
    }
    log_set_overrides(log_format, log_file);
    return run_node(conf, &console_ui);
}

int cli_status(int argc, char **argv)
{
    const char *conf = NULL;
    bool json = false;
    int rc = parse_conf_only("status", argc, argv, &conf, &json);
    if (rc != CLI_OK)
        return rc;
    return run_status_print(conf, json, stdout);
}

int cli_reload(int argc, char **argv)
{
    const char *conf = NULL;
    int rc = parse_conf_only("reload", argc, argv, &conf, NULL);
    if (rc != CLI_OK)
        return rc;
    struct config cfg;
    config_init(&cfg);
    struct config_diag *diag = calloc(1, sizeof *diag);
    if (!diag)
        return CLI_FAIL;
    /* The running node would refuse a config with problems: say them here, ask nothing. */
    if (config_load(conf, &cfg, diag) != CONFIG_OK) {
        config_diag_print(diag, stderr);
        free(diag);
        config_free(&cfg);
        return CLI_USAGE;
    }
    free(diag);
    json_t *resp = cli_control_ask(cfg.control_path, json_pack("{s:s}", "cmd", "reload"));
    if (!resp) {
        cli_error("reload", "no node answers on %s (is it running?)", cfg.control_path);
        rc = CLI_FAIL;
    } else if (!json_is_true(json_object_get(resp, "ok"))) {
        cli_error("reload", "refused, the node keeps its running configuration: %s",
                  json_string_value(json_object_get(resp, "error")));
        rc = CLI_FAIL;
    } else {
        const char *restart = json_string_value(json_object_get(resp, "restart_needed"));
        printf("reloaded %s: %lld peers\n", conf,
               (long long)json_integer_value(json_object_get(resp, "peers")));
        if (restart && restart[0])
            printf("needs a restart to take effect: %s\n", restart);
    }
    json_decref(resp);
    config_free(&cfg);
    return rc;
}

static int peer_add(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},   {"key", required_argument, NULL, 'k'},
        {"endpoint", required_argument, NULL, 'e'}, {"org", required_argument, NULL, 'o'},
        {"community", required_argument, NULL, 'C'}, {"max-tlp", required_argument, NULL, 'm'},
        {"relation", required_argument, NULL, 'r'}, {"name", required_argument, NULL, 'n'},
        {0, 0, 0, 0}};
    const char *conf = NULL, *communities[LIMIT_PEER_COMMUNITIES];
    struct config_peer_text p = {.communities = communities};
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":c:", opts, NULL)) != -1) {
        switch (c) {
        case 'c': conf = optarg; break;
        case 'k': p.public_key = optarg; break;
        case 'e': p.endpoint = optarg; break;
        case 'o': p.organisation = optarg; break;
        case 'm': p.max_tlp = optarg; break;
        case 'r': p.relation = optarg; break;
        case 'n': p.name = optarg; break;
        case 'C':
            if (p.n_communities == LIMIT_PEER_COMMUNITIES) {
                cli_error("peer add", "at most %d --community", LIMIT_PEER_COMMUNITIES);
                return CLI_USAGE;
            }
            communities[p.n_communities++] = optarg;
            break;
        default: return cli_bad_option("peer add", argv, c);
        }
    }
    if (!conf || !p.public_key || !p.organisation || optind != argc) {
        cli_error("peer add", "expected -c CONF --key PUBKEY --org NAME [options] (see tlpmesh "
                              "peer --help)");
        return CLI_USAGE;
    }
    char err[LIMIT_CONFIG_DIAG_BYTES] = "";
    const int rc = config_peer_add(conf, &p, err, sizeof err);
    if (rc != CONFIG_OK) {
        cli_error("peer add", "%s", err[0] ? err : config_strerror(rc));
        return rc == CONFIG_E_IO ? CLI_FAIL : CLI_USAGE;
    }
    cli_reload_node("peer add", conf);
    return CLI_OK;
}

/* peer remove / replace-key: -c CONF and nkeys keys, one config edit, then a running node is
 * told. */
static int peer_edit_keys(const char *cmd, const char *usage, int nkeys, int argc, char **argv)
{
    const char *conf = NULL;
    int pos;
    int rc = parse_conf_json(cmd, argc, argv, &conf, NULL, &pos);
    if (rc != CLI_OK)
        return rc;
    if (pos != argc - nkeys) {
        cli_error(cmd, "expected -c CONF %s (see tlpmesh peer --help)", usage);
        return CLI_USAGE;
    }
    char err[LIMIT_CONFIG_DIAG_BYTES] = "";
    rc = nkeys == 1 ? config_peer_remove(conf, argv[pos], err, sizeof err)
                    : config_peer_replace_key(conf, argv[pos], argv[pos + 1], err, sizeof err);
    if (rc != CONFIG_OK) {
        cli_error(cmd, "%s", err[0] ? err : config_strerror(rc));
        return rc == CONFIG_E_NOTFOUND || rc == CONFIG_E_IO ? CLI_FAIL : CLI_USAGE;
    }
    cli_reload_node(cmd, conf);
    return CLI_OK;
}

/* "host:port", "[v6]:port", or "-" for a peer that only dials us. */
static void endpoint_text(const struct config_peer *p, char *out, size_t cap)
{
    if (!p->has_endpoint)
        snprintf(out, cap, "-");
    else
        snprintf(out, cap, strchr(p->endpoint.host, ':') ? "[%s]:%u" : "%s:%u",
                 p->endpoint.host, (unsigned)p->endpoint.port);
}

static void peer_print_json(const struct config_peer *p)
{
    char ep[LIMIT_CONFIG_HOST_BYTES + 16];
    endpoint_text(p, ep, sizeof ep);
    json_t *comm = json_array();
    for (size_t i = 0; i < p->n_communities; i++)
        json_array_append_new(comm, json_string(p->communities[i]));
    json_t *o = json_pack("{s:s, s:s, s:s, s:o, s:s, s:s, s:o, s:i}", "key", p->key_b64,
                          "name", p->name, "organisation", p->organisation, "endpoint",
                          p->has_endpoint ? json_string(ep) : json_null(), "relation",
                          config_relation_name(p->relation), "max_tlp",
                          proto_tlp_name(p->max_tlp), "communities", comm, "line", p->line);
    char *txt = o ? json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
    if (txt)
        puts(txt);
    free(txt);
    json_decref(o);
}

/* The peers as the config declares them (`status` shows the running node's sessions). */
static int peer_list(int argc, char **argv)
{
    const char *conf = NULL;
    bool json = false;
    int rc = parse_conf_only("peer list", argc, argv, &conf, &json);
    if (rc != CLI_OK)
        return rc;
    struct cli_node n;
    if ((rc = cli_open("peer list", conf, 0, &n)) != CLI_OK)
        return rc;
    if (!json && n.cfg.n_peers > 0)
        printf("%-16s  %-16s  %-8s  %-12s  %-24s  %-44s  %s\n", "NAME", "ORGANISATION",
               "RELATION", "MAX-TLP", "ENDPOINT", "KEY", "COMMUNITIES");
    for (size_t i = 0; i < n.cfg.n_peers; i++) {
        const struct config_peer *p = &n.cfg.peers[i];
        char ep[LIMIT_CONFIG_HOST_BYTES + 16];
        char comm[LIMIT_PEER_COMMUNITIES * (LIMIT_NAME_BYTES + 1) + 2];
        if (json) {
            peer_print_json(p);
            continue;
        }
        endpoint_text(p, ep, sizeof ep);
        size_t used = 0;
        comm[0] = '\0';
        for (size_t k = 0; k < p->n_communities; k++)
            used += (size_t)snprintf(comm + used, sizeof comm - used, "%s%s", k ? "," : "",
                                     p->communities[k]);
        printf("%-16s  %-16s  %-8s  %-12s  %-24s  %-44s  %s\n", p->name[0] ? p->name : "-",
               p->organisation[0] ? p->organisation : "-", config_relation_name(p->relation),
               proto_tlp_name(p->max_tlp), ep, p->key_b64, comm[0] ? comm : "-");
    }
    if (!json && n.cfg.n_peers == 0)
        fprintf(stderr, "tlpmesh peer list: no [Peer] in %s (add one with tlpmesh peer add)\n",
                conf);
    cli_close(&n);
    return CLI_OK;
}

int cli_peer(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "add") == 0)
        return peer_add(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "remove") == 0)
        return peer_edit_keys("peer remove", "PUBKEY", 1, argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "list") == 0)
        return peer_list(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "replace-key") == 0)
        return peer_edit_keys("peer replace-key", "OLDKEY NEWKEY", 2, argc - 1, argv + 1);
    cli_error("peer", "expected 'add', 'remove', 'replace-key' or 'list' (see tlpmesh peer --help)");
    return CLI_USAGE;
}
