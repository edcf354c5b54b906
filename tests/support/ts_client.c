/* ts_client.c - see ts_client.h. */
#include "tests/support/ts_client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct config_client *ts_client_add(struct config *cfg, const struct ts_client *spec)
{
    struct config_client *c = realloc(cfg->clients, (cfg->n_clients + 1) * sizeof *c);
    if (c == NULL)
        return NULL;
    cfg->clients = c;
    c = &c[cfg->n_clients++];
    memset(c, 0, sizeof *c);
    snprintf(c->name, sizeof c->name, "%s", spec->name);
    snprintf(c->organisation, sizeof c->organisation, "%s", spec->org);
    snprintf(c->secret, sizeof c->secret, "%s", spec->secret);
    c->scheme = spec->scheme;
    c->max_tlp = spec->max_tlp;
    c->relation = spec->relation;
    if (spec->community != NULL)
        snprintf(c->communities[c->n_communities++], sizeof c->communities[0], "%s",
                 spec->community);
    return c;
}
