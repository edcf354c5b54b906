/* cli_explain_cmd.c - tlpmesh explain: the gate's verdict for one record towards one party, or
 * towards every configured peer and client (cli_explain.h words it). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/cli/cli_explain.h"

#define CMD "explain"

struct explain_args {
    const char *conf, *peer, *client, *max_tlp;
    bool exports, json;
    int pos;
};

static int parse_args(int argc, char **argv, struct explain_args *a)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'}, {"peer", required_argument, NULL, 'p'},
        {"client", required_argument, NULL, 'C'}, {"export", no_argument, NULL, 'e'},
        {"max-tlp", required_argument, NULL, 'm'}, {"json", no_argument, NULL, 'j'},
        {0, 0, 0, 0}};
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":c:", opts, NULL)) != -1) {
        switch (c) {
        case 'c': a->conf = optarg; break;
        case 'p': a->peer = optarg; break;
        case 'C': a->client = optarg; break;
        case 'e': a->exports = true; break;
        case 'm': a->max_tlp = optarg; break;
        case 'j': a->json = true; break;
        default: return cli_bad_option(CMD, argv, c);
        }
    }
    a->pos = optind;
    if (optind != argc - 1) {
        cli_error(CMD, "expected exactly one ID (see tlpmesh explain --help)");
        return CLI_USAGE;
    }
    if ((a->peer != NULL) + (a->client != NULL) + a->exports > 1) {
        cli_error(CMD, "--peer, --client and --export name one party: give at most one");
        return CLI_USAGE;
    }
    if (a->max_tlp && !a->exports) {
        cli_error(CMD, "--max-tlp goes with --export");
        return CLI_USAGE;
    }
    return CLI_OK;
}

/* A [Peer] by key, else by Name, else by Organisation (which must then be unique). */
static const struct config_peer *find_peer(const struct config *cfg, const char *text)
{
    uint8_t key[LIMIT_KEY_BYTES];
    if (keys_pubkey_from_b64(text, key) == KEYS_OK) {
        const struct config_peer *p = config_find_peer(cfg, key);
        if (!p)
            cli_error(CMD, "%s is not a configured peer: this node sends it nothing", text);
        return p;
    }
    for (size_t i = 0; i < cfg->n_peers; i++)
        if (strcmp(cfg->peers[i].name, text) == 0)
            return &cfg->peers[i];
    const struct config_peer *found = NULL;
    size_t count = 0;
    for (size_t i = 0; i < cfg->n_peers; i++)
        if (strcmp(cfg->peers[i].organisation, text) == 0 && count++ == 0)
            found = &cfg->peers[i];
    if (count == 1)
        return found;
    if (count > 1)
        cli_error(CMD, "%zu peers have Organisation %s: give the peer's key or Name", count, text);
    else
        cli_error(CMD, "no [Peer] has the key, Name or Organisation '%s' (tlpmesh peer list)",
                  text);
    return NULL;
}

/* The party the arguments name into *pt; CLI_USAGE after printing the error. */
static int resolve_party(struct cli_explainer *x, const struct explain_args *a,
                         struct cli_party *pt)
{
    const struct config *cfg = &x->n->cfg;
    if (a->peer) {
        const struct config_peer *p = find_peer(cfg, a->peer);
        if (!p)
            return CLI_USAGE;
        cli_party_of_peer(x, p, pt);
    } else if (a->client) {
        const struct config_client *c = config_find_client(cfg, a->client);
        if (!c) {
            cli_error(CMD, "no [Client] has Name '%s'", a->client);
            return CLI_USAGE;
        }
        cli_party_of_client(c, pt);
    } else {
        const int tlp = a->max_tlp ? proto_tlp_parse(a->max_tlp) : CONFIG_DEFAULT_MAX_TLP;
        if (!proto_tlp_valid(tlp)) {
            cli_error(CMD, "--max-tlp: '%s' is not a TLP level", a->max_tlp);
            return CLI_USAGE;
        }
        cli_party_of_export(x, tlp, a->max_tlp != NULL, pt);
    }
    return CLI_OK;
}

/* One party: the verdict line and whether it holds the record. Exit 0 allow, 1 deny. */
static int explain_one(struct cli_explainer *x, const struct explain_args *a,
                       const struct cli_shown *s, const struct proto_record *target)
{
    static struct cli_party pt;
    int rc = resolve_party(x, a, &pt);
    if (rc != CLI_OK)
        return rc;
    struct gate_reason why;
    cli_explain_party(x, &pt, s, target, &why);
    if (a->json) {
        cli_print_json_line(cli_explain_json(x, &pt, s, target, &why));
    } else {
        char text[1024];
        cli_explain_words(x, &pt, &why, &s->rec, target, text, sizeof text);
        printf("%s\n", text);
        if (pt.kind != CLI_PARTY_EXPORT)
            printf("holds it: %s\n", cli_explain_holds_words(cli_explain_holds(x, &pt, s)));
    }
    return why.verdict == GATE_ALLOW ? CLI_OK : CLI_FAIL;
}

/* Every configured party: exit 0 when the gate allows at least one, else 1. */
static int explain_every(struct cli_explainer *x, const struct explain_args *a,
                         const struct cli_shown *s, const struct proto_record *target)
{
    json_t *arr = a->json ? json_array() : NULL;
    size_t allowed = cli_explain_all(x, s, target, arr);
    for (size_t i = 0; arr && i < json_array_size(arr); i++)
        cli_print_json_line(json_incref(json_array_get(arr, i)));
    json_decref(arr);
    return allowed > 0 ? CLI_OK : CLI_FAIL;
}

int cli_explain(int argc, char **argv)
{
    struct explain_args a = {0};
    int rc = parse_args(argc, argv, &a);
    if (rc != CLI_OK)
        return rc;
    struct cli_node n;
    if ((rc = cli_open(CMD, a.conf, CLI_OPEN_STORE_RO, &n)) != CLI_OK)
        return rc;
    struct cli_shown *s = calloc(2, sizeof *s); /* the record, and its target */
    static struct cli_explainer x;
    rc = s ? cli_load_by_id(CMD, &n, argv[a.pos], s) : CLI_FAIL;
    if (rc == CLI_OK && (rc = cli_explainer_open(CMD, &n, &x)) == CLI_OK) {
        const struct proto_record *target = cli_explain_target(&x, s, s + 1);
        rc = a.peer || a.client || a.exports ? explain_one(&x, &a, s, target)
                                             : explain_every(&x, &a, s, target);
    }
    cli_explainer_close(&x);
    free(s);
    cli_close(&n);
    return rc;
}
