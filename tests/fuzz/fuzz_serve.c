/* fuzz_serve.c - the store and config the TAXII and HTTP targets serve; see fuzz_serve.h. */
#include "fuzz_serve.h"
#include "tests/support/ts_client.h"

#include <stdlib.h>
#include <unistd.h>

static struct fuzz_serve env;

static void remove_env(void)
{
    char path[128];
    store_close(env.store);
    config_free(&env.cfg);
    snprintf(path, sizeof path, "%s/%s", env.dir, STORE_FILE_NAME);
    unlink(path);
    snprintf(path, sizeof path, "%s/%s-lock", env.dir, STORE_FILE_NAME);
    unlink(path);
    rmdir(env.dir);
}

struct fuzz_serve *fuzz_serve_env(void)
{
    const struct fuzz_grec *recs;
    struct store_put puts[FUZZ_GNODE_RECORDS];
    char why[256];

    if (env.store != NULL)
        return &env;
    recs = fuzz_gnode_records();
    snprintf(env.dir, sizeof env.dir, "/tmp/tlpmesh-fuzz-XXXXXX");
    FUZZ_CHECK(mkdtemp(env.dir) != NULL);
    if (store_open(&env.store, env.dir, NULL, why, sizeof why) != STORE_OK) {
        fprintf(stderr, "fuzz_serve: %s\n", why);
        abort();
    }
    atexit(remove_env);
    for (size_t i = 0; i < FUZZ_GNODE_RECORDS; i++) {
        puts[i] = (struct store_put){.signed_rec = recs[i].bytes,
                                     .rec = recs[i].rec,
                                     .len = recs[i].len,
                                     .added_us = (FUZZ_WALL0 - 3600000) * 1000 + i};
        memcpy(puts[i].id, recs[i].id, LIMIT_ID_BYTES);
    }
    FUZZ_CHECK(store_put_batch(env.store, puts, FUZZ_GNODE_RECORDS) == STORE_OK);
    fuzz_gnode_identity(FUZZ_KEY_RESPONDER, &env.self);
    config_init(&env.cfg);
    snprintf(env.cfg.organisation, sizeof env.cfg.organisation, "cert-self");
    env.cfg.http.enabled = true;
    env.cfg.http.anonymous = true;
    env.cfg.http.max_page_size = 5;
    static const struct ts_client clients[] = {
        {"partner", "cert-peer", FUZZ_SERVE_SECRET, CONFIG_SCHEME_BASIC, PROTO_TLP_AMBER,
         CONFIG_RELATION_PARTNER, "energy"},
        {"strict", "cert-third", FUZZ_SERVE_TOKEN, CONFIG_SCHEME_TOKEN, PROTO_TLP_AMBER_STRICT,
         CONFIG_RELATION_CLIENT, "energy"}};
    for (size_t i = 0; i < sizeof clients / sizeof clients[0]; i++)
        FUZZ_CHECK(ts_client_add(&env.cfg, &clients[i]) != NULL);
    return &env;
}
