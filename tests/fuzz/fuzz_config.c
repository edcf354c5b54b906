/* fuzz_config.c - config_load() on arbitrary files (operators write them by hand).
 *
 * Input: the whole file. It is written to node.conf in a private temporary directory (made once
 * per process, removed at exit).
 *
 * Invariants:
 *  - the answer is CONFIG_OK, CONFIG_E_INVALID or CONFIG_E_NOMEM (the file is always readable);
 *  - CONFIG_OK exactly when there is no diagnostic; CONFIG_E_INVALID has at least one, each a
 *    "FILE..." line; config_check() counts the same problems;
 *  - a loaded config is consistent: at most LIMIT_PEERS peers with distinct keys that
 *    config_find_peer() finds, each key_b64 decoding to its key, names valid UTF-8 within their
 *    limits, a TLP ceiling that is a TLP level;
 *  - loading again into the loaded struct gives the same answer (it frees the earlier load).
 */
#include <stdbool.h>
#include <unistd.h>

#include "crypto/keys.h"
#include "fuzz.h"
#include "node/config/config.h"
#include "proto/indicator.h"

static char dir[64], path[128];

static void remove_dir(void)
{
    unlink(path);
    rmdir(dir);
}

static void check_name(const char *s, size_t max)
{
    size_t len = strlen(s);
    FUZZ_CHECK(len <= max);
    FUZZ_CHECK(proto_utf8_valid(s, len));
}

static void check_loaded(const struct config *cfg)
{
    uint8_t key[LIMIT_KEY_BYTES];

    check_name(cfg->network, LIMIT_NAME_BYTES);
    check_name(cfg->organisation, LIMIT_NAME_BYTES);
    FUZZ_CHECK(cfg->network[0] != '\0' && cfg->organisation[0] != '\0');
    FUZZ_CHECK(cfg->n_peers <= LIMIT_PEERS);
    FUZZ_CHECK(cfg->n_roster_owners <= LIMIT_TRUSTED_ROSTER_OWNERS);
    for (size_t i = 0; i < cfg->n_peers; i++) {
        const struct config_peer *p = &cfg->peers[i];
        FUZZ_CHECK(keys_pubkey_from_b64(p->key_b64, key) == KEYS_OK);
        FUZZ_CHECK(memcmp(key, p->key, sizeof key) == 0);
        FUZZ_CHECK(config_find_peer(cfg, p->key) == p);
        FUZZ_CHECK(proto_tlp_valid(p->max_tlp));
        FUZZ_CHECK(p->n_communities <= LIMIT_PEER_COMMUNITIES);
        for (size_t c = 0; c < p->n_communities; c++)
            check_name(p->communities[c], LIMIT_NAME_BYTES);
        check_name(p->organisation, LIMIT_NAME_BYTES);
        check_name(p->name, LIMIT_NAME_BYTES);
        FUZZ_CHECK(!p->has_endpoint || p->endpoint.port > 0);
    }
    FUZZ_CHECK(!cfg->has_listen || cfg->listen.port > 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct config_diag diag, diag2;
    struct config cfg;
    FILE *f, *null;
    int rc;

    if (dir[0] == '\0') {
        snprintf(dir, sizeof dir, "/tmp/tlpmesh-fuzz-config-XXXXXX");
        FUZZ_CHECK(mkdtemp(dir) != NULL);
        snprintf(path, sizeof path, "%s/node.conf", dir);
        atexit(remove_dir);
    }
    f = fopen(path, "wb");
    FUZZ_CHECK(f != NULL);
    FUZZ_CHECK(fwrite(data, 1, size, f) == size);
    FUZZ_CHECK(fclose(f) == 0);

    config_init(&cfg);
    rc = config_load(path, &cfg, &diag);
    FUZZ_CHECK(rc == CONFIG_OK || rc == CONFIG_E_INVALID || rc == CONFIG_E_NOMEM);
    FUZZ_CHECK((rc == CONFIG_OK) == (diag.count == 0 && diag.dropped == 0));
    FUZZ_CHECK(diag.count <= LIMIT_CONFIG_DIAGS);
    for (size_t i = 0; i < diag.count; i++) {
        FUZZ_CHECK(strncmp(diag.lines[i], path, strlen(path)) == 0);
        FUZZ_CHECK(strlen(diag.lines[i]) < LIMIT_CONFIG_DIAG_BYTES);
    }
    if (rc == CONFIG_OK)
        check_loaded(&cfg);

    FUZZ_CHECK(config_load(path, &cfg, &diag2) == rc);
    FUZZ_CHECK(diag2.count == diag.count && diag2.dropped == diag.dropped);
    config_free(&cfg);

    null = fopen("/dev/null", "w");
    FUZZ_CHECK(null != NULL);
    FUZZ_CHECK(config_check(path, null) == diag.count + diag.dropped);
    fclose(null);
    return 0;
}
