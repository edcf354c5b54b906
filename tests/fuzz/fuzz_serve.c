/* fuzz_serve.c - the store and config the TAXII and HTTP targets serve; see fuzz_serve.h. */
#include "fuzz_serve.h"

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

static void add_client(const char *name, const char *org, const char *secret,
                       enum config_http_scheme scheme, int max_tlp, enum config_relation rel)
{
    struct config_client *c = realloc(env.cfg.clients, (env.cfg.n_clients + 1) * sizeof *c);
    FUZZ_CHECK(c != NULL);
    env.cfg.clients = c;
    c = &c[env.cfg.n_clients++];
    memset(c, 0, sizeof *c);
    snprintf(c->name, sizeof c->name, "%s", name);
    snprintf(c->organisation, sizeof c->organisation, "%s", org);
    snprintf(c->secret, sizeof c->secret, "%s", secret);
    c->scheme = scheme;
    c->max_tlp = max_tlp;
    c->relation = rel;
    snprintf(c->communities[c->n_communities++], LIMIT_NAME_BYTES + 1, "energy");
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
    add_client("partner", "cert-peer", FUZZ_SERVE_SECRET, CONFIG_SCHEME_BASIC, PROTO_TLP_AMBER,
               CONFIG_RELATION_PARTNER);
    add_client("strict", "cert-third", FUZZ_SERVE_TOKEN, CONFIG_SCHEME_TOKEN,
               PROTO_TLP_AMBER_STRICT, CONFIG_RELATION_CLIENT);
    return &env;
}
