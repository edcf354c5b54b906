/* ts_client.h - a TAXII reader's credential added to a config, as a [Client] section gives it
 * (module prefix ts_client_), for the TAXII tests and the fuzz harness that serves TAXII alike.
 *
 * Unlike the rest of tests/support it uses node/ (config.h) and returns instead of asserting:
 * the fuzz targets (tests/fuzz/fuzz_serve.c) call it outside cmocka. It is compiled into those
 * programs as a source (tests/CMakeLists.txt, tests/fuzz/CMakeLists.txt), not into
 * tlp_testsupport. The config owns the client array (config_free releases it).
 */
#ifndef TLPMESH_TESTS_TS_CLIENT_H
#define TLPMESH_TESTS_TS_CLIENT_H

#include "node/config/config.h"

struct ts_client {
    const char *name, *org, *secret;
    enum config_http_scheme scheme;
    int max_tlp; /* enum proto_tlp */
    enum config_relation relation;
    const char *community; /* its one community, or NULL for none */
};

/* Appends the client spec describes to cfg->clients: the new entry, or NULL when out of
 * memory (cfg unchanged). */
struct config_client *ts_client_add(struct config *cfg, const struct ts_client *spec);

#endif
