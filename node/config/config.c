/* config.c - the config model: lookups, init/free and the diagnostics every part reports through
 * (contract in config.h; the parts are listed in config_int.h). */
#include "node/config/config.h"

#include <assert.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "node/config/config_int.h"

const char *config_strerror(int err)
{
    switch (err) {
    case CONFIG_OK:
        return "ok";
    CONFIG_ERRORS(ERRORS_CASE)
    default:
        return "unknown config error";
    }
}

const char *config_relation_name(enum config_relation relation)
{
    return relation == CONFIG_RELATION_CLIENT ? "client" : "partner";
}

void config_init(struct config *cfg)
{
    assert(cfg);
    memset(cfg, 0, sizeof(*cfg));
}

void config_free(struct config *cfg)
{
    assert(cfg);
    for (size_t i = 0; cfg->peers && i < cfg->n_peers; i++)
        free(cfg->peers[i].communities);
    free(cfg->peers);
    if (cfg->clients) {
        sodium_memzero(cfg->clients, cfg->n_clients * sizeof(*cfg->clients));
        free(cfg->clients);
    }
    config_init(cfg);
}

const char *config_scheme_name(enum config_http_scheme scheme)
{
    switch (scheme) {
    case CONFIG_SCHEME_BASIC:
        return "basic";
    case CONFIG_SCHEME_BEARER:
        return "bearer";
    case CONFIG_SCHEME_TOKEN:
        return "token";
    }
    return "?";
}

const struct config_client *config_find_client(const struct config *cfg, const char *name)
{
    assert(cfg && name);
    for (size_t i = 0; i < cfg->n_clients; i++)
        if (strcmp(cfg->clients[i].name, name) == 0)
            return &cfg->clients[i];
    return NULL;
}

/* --- diagnostics --- */

void config_diag_vadd(struct config_diag *diag, const char *file, int line, const char *fmt,
                      va_list ap)
{
    assert(diag && file && fmt);
    if (diag->count == LIMIT_CONFIG_DIAGS) {
        diag->dropped++;
        return;
    }
    char *out = diag->lines[diag->count++];
    int n = line > 0 ? snprintf(out, LIMIT_CONFIG_DIAG_BYTES, "%s:%d: ", file, line)
                     : snprintf(out, LIMIT_CONFIG_DIAG_BYTES, "%s: ", file);
    if (n > 0 && n < LIMIT_CONFIG_DIAG_BYTES)
        vsnprintf(out + n, LIMIT_CONFIG_DIAG_BYTES - (size_t)n, fmt, ap);
}

void config_diag_add(struct config_diag *diag, const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    config_diag_vadd(diag, file, line, fmt, ap);
    va_end(ap);
}

size_t config_diag_print(const struct config_diag *diag, FILE *f)
{
    assert(diag && f && diag->count <= LIMIT_CONFIG_DIAGS);
    for (size_t i = 0; i < diag->count; i++)
        fprintf(f, "%s\n", diag->lines[i]);
    if (diag->dropped)
        fprintf(f, "%zu more problems not shown\n", diag->dropped);
    return diag->count + diag->dropped;
}
