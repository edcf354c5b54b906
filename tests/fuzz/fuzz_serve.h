/* fuzz_serve.h - what the TAXII and HTTP targets (fuzz_taxii.c, fuzz_http.c) serve: a real LMDB
 * store in a temporary directory holding the preloaded records of fuzz_gnode.h (every kind and
 * TLP, by three keys; the node is FUZZ_KEY_RESPONDER) and a config with [HTTP] (anonymous reading
 * on, MaxPageSize 5) and two [Client]s: "partner" (Basic, cert-peer, AMBER, community energy)
 * and "strict" (Token/Bearer, cert-third, AMBER+STRICT, relation client). Credentials for seeds:
 * FUZZ_SERVE_BASIC and FUZZ_SERVE_TOKEN.
 *
 * Built once per process (fuzz_serve_env); the directory is removed at exit. The harness's
 * clock is FUZZ_WALL0 (no record has expired then).
 */
#ifndef TLPMESH_TESTS_FUZZ_SERVE_H
#define TLPMESH_TESTS_FUZZ_SERVE_H

#include "fuzz_gnode.h"
#include "node/config/config.h"
#include "store/store.h"

#define FUZZ_SERVE_SECRET "partner-secret-0123"
#define FUZZ_SERVE_BASIC  "Basic cGFydG5lcjpwYXJ0bmVyLXNlY3JldC0wMTIz" /* partner:SECRET */
#define FUZZ_SERVE_TOKEN  "token-0123456789abcdef"

struct fuzz_serve {
    char dir[64];
    struct store *store;
    struct config cfg;
    struct keys_identity self;
};

/* The environment, built on first call. */
struct fuzz_serve *fuzz_serve_env(void);

#endif
