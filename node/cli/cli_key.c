/* cli_key.c - `tlpmesh key`: keys that change (docs/OPERATIONS.md "Keys that change").
 *   key rotate -c CONF             a new node key, and the statement (old and new key sign it)
 *   key recovery-init -o FILE      an offline recovery key; prints the RecoveryKey line
 *   key recover -c CONF --recovery-key FILE --since TIME
 *                                  the node key was stolen: a new key, vouched for by the
 *                                  recovery key, and the time from which the old one is a thief's
 */
#include <errno.h>
#include <getopt.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/keys.h"
#include "node/cli/cli.h"
#include "node/core/succession.h"
#include "node/formats/timefmt.h"
#include "proto/succession.h"
#include "store/store.h"

struct stmts {
    size_t n;
    uint8_t b[LIMIT_SUCCESSIONS][LIMIT_SUCCESSION_BYTES];
};

static int collect(void *ctx, const uint8_t *bytes, size_t len)
{
    struct stmts *s = ctx;
    if (len != LIMIT_SUCCESSION_BYTES || s->n == LIMIT_SUCCESSIONS)
        return 0;
    memcpy(s->b[s->n++], bytes, LIMIT_SUCCESSION_BYTES);
    return 0;
}

/* The new key: KEYFILE.next if an interrupted run left one, else a fresh one written there. */
static int next_key(const char *cmd, const char *next, struct keys_identity *id)
{
    char why[LIMIT_PATH_BYTES + 128] = "";
    if (access(next, F_OK) == 0) {
        if (keys_file_load(next, id, why, sizeof why) != KEYS_OK) {
            cli_error(cmd, "%s", why);
            return CLI_FAIL;
        }
        return CLI_OK;
    }
    int rc = keys_file_generate(next, id);
    if (rc != KEYS_OK) {
        cli_error(cmd, "%s: %s", next, keys_strerror(rc));
        return CLI_FAIL;
    }
    return CLI_OK;
}

/* Stores s beside the statements already held (the node's store, which may be running), then
 * keeps the old key as KEYFILE.prev and puts the new one in place: a crash in between leaves
 * KEYFILE.next, which the next run of the command takes up again. */
static int commit(const char *cmd, struct cli_node *n, const struct proto_succession *s,
                  const struct keys_identity *new_id)
{
    static struct stmts all; /* 240 KB */
    all.n = 0;
    int rc = store_successions_each(n->store, collect, &all);
    for (size_t i = 0; rc == STORE_OK && i < all.n; i++)
        if (memcmp(all.b[i] + 10, s->old_key, LIMIT_KEY_BYTES) == 0 &&
            memcmp(all.b[i], s->bytes, LIMIT_SUCCESSION_BYTES) != 0) {
            cli_error(cmd, "this key has already been replaced by another statement");
            return CLI_FAIL;
        }
    if (rc == STORE_OK && all.n < LIMIT_SUCCESSIONS)
        memcpy(all.b[all.n++], s->bytes, LIMIT_SUCCESSION_BYTES);
    if (rc == STORE_OK)
        rc = store_successions_replace(n->store, all.b, all.n, NULL, 0);
    if (rc != STORE_OK) {
        cli_error(cmd, "%s: %s", n->cfg.data_dir, store_strerror(rc));
        return CLI_FAIL;
    }
    char prev[LIMIT_PATH_BYTES + 8], next[LIMIT_PATH_BYTES + 8];
    snprintf(prev, sizeof prev, "%s%s", n->cfg.key_file, KEYS_PREV_SUFFIX);
    snprintf(next, sizeof next, "%s%s", n->cfg.key_file, KEYS_NEXT_SUFFIX);
    /* Run as root for a node of the tlpmesh user, both files stay that user's (the old key's
     * owner): a key the node cannot read would stop it at its restart. */
    rc = keys_file_write(prev, n->id.seed, false);
    if (rc == KEYS_OK && cli_match_owner(prev, n->cfg.key_file) != 0)
        rc = KEYS_E_IO;
    if (rc == KEYS_OK)
        rc = keys_file_write(n->cfg.key_file, new_id->seed, true);
    if (rc == KEYS_OK && cli_match_owner(n->cfg.key_file, prev) != 0)
        rc = KEYS_E_IO;
    if (rc != KEYS_OK) {
        cli_error(cmd, "%s: %s", n->cfg.key_file, keys_strerror(rc));
        return CLI_FAIL;
    }
    unlink(next);
    return CLI_OK;
}

/* The part both commands share once the statement's fields are set. */
static int finish(const char *cmd, struct cli_node *n, struct proto_succession *s,
                  const uint8_t authority_sk[64], struct keys_identity *new_id)
{
    int rc = proto_succession_sign(s, authority_sk, new_id->sign_sk);
    if (rc != SUCCESSION_OK) {
        cli_error(cmd, "%s", proto_succession_strerror(rc));
        return CLI_FAIL;
    }
    rc = commit(cmd, n, s, new_id);
    if (rc != CLI_OK)
        return rc;
    char old[LIMIT_PUBKEY_B64_LEN + 1], new[LIMIT_PUBKEY_B64_LEN + 1];
    keys_pubkey_to_b64(s->old_key, old);
    keys_pubkey_to_b64(s->new_key, new);
    printf("%s\n", new);
    fprintf(stderr,
            "%s: %s replaced by %s; the old key stays in %s%s for the grace period.\n"
            "%s: restart the node to use the new key (partners accept it without a config "
            "change).\n",
            cmd, old, new, n->cfg.key_file, KEYS_PREV_SUFFIX, cmd);
    cli_reload_node(cmd, n->cfg.path); /* a running node sends the statement to its peers */
    return CLI_OK;
}

/* Opens the node (key, store). A rotation is refused while an earlier rotation's old key is
 * still kept; a recovery is not (a key stolen right after a rotation is exactly when it is
 * needed): it retires that older key with the stolen one (partners distrust the whole chain
 * behind the recovered key from its time), so the file goes, and the stolen key takes its place
 * for the recovery's own delivery. */
static int open_node(const char *cmd, const char *conf, struct cli_node *n, bool recovery)
{
    int rc = cli_open(cmd, conf, CLI_OPEN_KEY | CLI_OPEN_STORE_RW, n);
    if (rc != CLI_OK)
        return rc;
    char prev[LIMIT_PATH_BYTES + 8];
    snprintf(prev, sizeof prev, "%s%s", n->cfg.key_file, KEYS_PREV_SUFFIX);
    if (recovery && unlink(prev) != 0 && errno != ENOENT) {
        cli_error(cmd, "cannot remove %s: %s", prev, strerror(errno));
        cli_close(n);
        return CLI_FAIL;
    }
    if (access(prev, F_OK) == 0) {
        cli_error(cmd, "%s exists: the last rotation is still in its grace period (the node "
                  "removes it at its first start after the grace)", prev);
        cli_close(n);
        return CLI_FAIL;
    }
    return CLI_OK;
}

static int key_rotate(const char *conf)
{
    struct cli_node n;
    int rc = open_node("key rotate", conf, &n, false);
    if (rc != CLI_OK)
        return rc;
    char next[LIMIT_PATH_BYTES + 8];
    snprintf(next, sizeof next, "%s%s", n.cfg.key_file, KEYS_NEXT_SUFFIX);
    struct keys_identity new_id;
    rc = next_key("key rotate", next, &new_id);
    if (rc == CLI_OK) {
        struct proto_succession s = {.kind = PROTO_SUCCESSION_ROTATION, .time_ms = cli_now_ms()};
        memcpy(s.old_key, n.id.sign_pk, LIMIT_KEY_BYTES);
        memcpy(s.authority, n.id.sign_pk, LIMIT_KEY_BYTES);
        memcpy(s.new_key, new_id.sign_pk, LIMIT_KEY_BYTES);
        rc = finish("key rotate", &n, &s, n.id.sign_sk, &new_id);
    }
    keys_identity_wipe(&new_id);
    cli_close(&n);
    return rc;
}

static int key_recover(const char *conf, const char *recovery_file, const char *since)
{
    const char *cmd = "key recover";
    uint64_t since_ms = 0;
    if (timefmt_parse_point(since, cli_now_ms(), -1, &since_ms) != 0 || since_ms == 0) {
        cli_error(cmd, "--since '%s' is not an RFC 3339 time or a duration ago", since);
        return CLI_USAGE;
    }
    struct keys_identity rec;
    char why[LIMIT_PATH_BYTES + 128] = "";
    if (keys_file_load(recovery_file, &rec, why, sizeof why) != KEYS_OK) {
        cli_error(cmd, "%s", why);
        return CLI_USAGE;
    }
    struct cli_node n;
    int rc = open_node(cmd, conf, &n, true);
    if (rc == CLI_OK) {
        char next[LIMIT_PATH_BYTES + 8];
        snprintf(next, sizeof next, "%s%s", n.cfg.key_file, KEYS_NEXT_SUFFIX);
        struct keys_identity new_id;
        rc = next_key(cmd, next, &new_id);
        if (rc == CLI_OK) {
            struct proto_succession s = {.kind = PROTO_SUCCESSION_RECOVERY, .time_ms = since_ms};
            memcpy(s.old_key, n.id.sign_pk, LIMIT_KEY_BYTES);
            memcpy(s.authority, rec.sign_pk, LIMIT_KEY_BYTES);
            memcpy(s.new_key, new_id.sign_pk, LIMIT_KEY_BYTES);
            rc = finish(cmd, &n, &s, rec.sign_sk, &new_id);
        }
        keys_identity_wipe(&new_id);
        cli_close(&n);
    }
    keys_identity_wipe(&rec);
    return rc;
}

static int key_recovery_init(const char *out)
{
    struct keys_identity id;
    int rc = keys_file_generate(out, &id);
    if (rc != KEYS_OK) {
        cli_error("key recovery-init", "%s: %s", out, keys_strerror(rc));
        return CLI_FAIL;
    }
    char b64[LIMIT_PUBKEY_B64_LEN + 1];
    keys_pubkey_to_b64(id.sign_pk, b64);
    keys_identity_wipe(&id);
    printf("RecoveryKey = %s\n", b64);
    fprintf(stderr, "key recovery-init: keep %s offline; give partners the line above for the "
            "[Peer] section of this node\n", out);
    return CLI_OK;
}

int cli_key(int argc, char **argv)
{
    static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
                                         {"out", required_argument, NULL, 'o'},
                                         {"recovery-key", required_argument, NULL, 'r'},
                                         {"since", required_argument, NULL, 's'},
                                         {0, 0, 0, 0}};
    if (argc < 2) {
        cli_error("key", "expected rotate, recovery-init or recover (see tlpmesh key --help)");
        return CLI_USAGE;
    }
    const char *sub = argv[1], *conf = NULL, *out = NULL, *rec = NULL, *since = NULL;
    int c;
    opterr = 0;
    optind = 2;
    while ((c = getopt_long(argc, argv, ":c:o:", opts, NULL)) != -1) {
        switch (c) {
        case 'c': conf = optarg; break;
        case 'o': out = optarg; break;
        case 'r': rec = optarg; break;
        case 's': since = optarg; break;
        default: return cli_bad_option("key", argv, c);
        }
    }
    if (optind != argc)
        return cli_bad_option("key", argv, '?');
    if (strcmp(sub, "rotate") == 0 && conf && !out && !rec && !since)
        return key_rotate(conf);
    if (strcmp(sub, "recovery-init") == 0 && out && !conf && !rec && !since)
        return key_recovery_init(out);
    if (strcmp(sub, "recover") == 0 && conf && rec && since && !out)
        return key_recover(conf, rec, since);
    cli_error("key", "usage: key rotate -c CONF | key recovery-init -o FILE | key recover -c CONF "
              "--recovery-key FILE --since TIME");
    return CLI_USAGE;
}

static int table_add(void *ctx, const uint8_t *bytes, size_t len)
{
    struct succession_table *t = ctx;
    struct proto_succession s;
    /* stored by the node after its own checks (its rule, its clock) */
    if (proto_succession_decode(bytes, len, UINT64_MAX - LIMIT_CLOCK_SKEW_MS, &s) == 0)
        (void)succession_offer(t, &(struct config){0}, (uint8_t[LIMIT_KEY_BYTES]){0}, &s, true,
                               NULL);
    return 0;
}

void cli_key_print_successions(const char *conf_path, FILE *out)
{
    struct cli_node n;
    if (cli_open("check-config", conf_path, CLI_OPEN_STORE_RO, &n) != CLI_OK)
        return; /* no store yet: nothing has changed */
    struct succession_table t;
    succession_table_init(&t);
    (void)store_successions_each(n.store, table_add, &t);
    for (size_t i = 0; i < n.cfg.n_peers; i++) {
        const struct config_peer *p = &n.cfg.peers[i];
        uint8_t cur[LIMIT_KEY_BYTES];
        const struct proto_succession *last = succession_current(&t, p->key, cur);
        if (last == NULL)
            continue;
        char key[LIMIT_PUBKEY_B64_LEN + 1], at[TIMEFMT_RFC3339_LEN + 1];
        keys_pubkey_to_b64(cur, key);
        timefmt_format(last->time_ms, at);
        fprintf(out, "peer %s: key %s to %s at %s (configured %s; no edit needed)\n",
                p->name[0] ? p->name : p->key_b64,
                last->kind == PROTO_SUCCESSION_RECOVERY ? "recovered" : "rotated", key, at,
                p->key_b64);
    }
    succession_table_free(&t);
    cli_close(&n);
}
