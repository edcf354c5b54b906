/* scenario.c - simnet's knobs: defaults, `--key value` flags and scenario files (one knob or one
 * timed event per line); every name is documented in docs/SIMNET.md "Scenario files". */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "simnet/sim.h"

void scenario_init(struct sim_scenario *s)
{
    memset(s, 0, sizeof *s);
    s->seed = 1;
    s->nodes = 50;
    s->degree = 8;
    s->topo = SIM_TOPO_RANDOM;
    s->rewire = 0.1;
    s->records = 100;
    const uint32_t mix[PROTO_TLP_COUNT] = {40, 30, 20, 5, 5};
    memcpy(s->tlp_mix, mix, sizeof mix);
    s->start_ms = 2000;
    s->publish_span_ms = 10000;
    s->communities = 8;
    s->orgs = 0; /* 0: nodes / 4 */
    s->memberships = 2;
    s->client_frac = 0.2;
    s->low_ceiling_frac = 0.0;
    s->link = (struct sim_link_model){.latency_ms = 20, .jitter_ms = 10};
    s->settle_ms = 180000;
    s->resolution_ms = 1;
    s->max_ms = 0; /* 0: derived in scenario_finish */
    s->verify_cache = true;
    s->oracle_announce = true;
}

void scenario_free(struct sim_scenario *s)
{
    free(s->link_rules);
    free(s->events);
    free(s->byz_nodes);
    free(s->byz_modes);
    memset(s, 0, sizeof *s);
}

static int bad(const char *where, const char *key, const char *value, const char *why)
{
    fprintf(stderr, "tlpmesh-simnet: %s: %s '%s': %s\n", where, key, value, why);
    return SIM_E_USAGE;
}

static bool parse_u64(const char *v, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long x = strtoull(v, &end, 10);
    if (errno || end == v || *end || v[0] == '-')
        return false;
    *out = x;
    return true;
}

static bool parse_u32(const char *v, uint32_t *out)
{
    uint64_t x;
    if (!parse_u64(v, &x) || x > UINT32_MAX)
        return false;
    *out = (uint32_t)x;
    return true;
}

/* "250", "250ms", "2s", "3m": milliseconds. */
static bool parse_ms(const char *v, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long x = strtoull(v, &end, 10);
    if (errno || end == v || v[0] == '-')
        return false;
    uint64_t mul = strcmp(end, "") == 0 || strcmp(end, "ms") == 0 ? 1
                   : strcmp(end, "s") == 0                        ? 1000
                   : strcmp(end, "m") == 0                        ? 60000
                                                                  : 0;
    if (mul == 0)
        return false;
    *out = x * mul;
    return true;
}

static bool parse_frac(const char *v, double *out)
{
    char *end;
    double x = strtod(v, &end);
    if (end == v || *end || !(x >= 0.0 && x <= 1.0))
        return false;
    *out = x;
    return true;
}

static bool parse_onoff(const char *v, bool *out)
{
    if (strcmp(v, "on") == 0 || strcmp(v, "1") == 0 || strcmp(v, "yes") == 0)
        *out = true;
    else if (strcmp(v, "off") == 0 || strcmp(v, "0") == 0 || strcmp(v, "no") == 0)
        *out = false;
    else
        return false;
    return true;
}

/* "clear:40,green:30,amber:20,amber+strict:5,red:5" (weights; unnamed levels get 0). */
static int parse_mix(struct sim_scenario *s, const char *v, const char *where)
{
    uint32_t mix[PROTO_TLP_COUNT] = {0};
    char buf[256];
    snprintf(buf, sizeof buf, "%s", v);
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *colon = strrchr(tok, ':');
        uint32_t w;
        if (colon == NULL || !parse_u32(colon + 1, &w))
            return bad(where, "tlp-mix", v, "expected level:weight,...");
        *colon = '\0';
        int t = proto_tlp_parse(tok);
        if (t < 0)
            return bad(where, "tlp-mix", v, "unknown TLP level");
        mix[t] = w;
    }
    memcpy(s->tlp_mix, mix, sizeof mix);
    return SIM_OK;
}

/* "3:forge+relabel" */
static int parse_byz(struct sim_scenario *s, const char *v, const char *where)
{
    static const struct {
        const char *name;
        uint8_t mode;
    } modes[] = {{"forge", SIM_BYZ_FORGE}, {"relabel", SIM_BYZ_RELABEL}, {"replay", SIM_BYZ_REPLAY},
                 {"audience", SIM_BYZ_AUDIENCE}, {"flood", SIM_BYZ_FLOOD},
                 {"all", SIM_BYZ_FORGE | SIM_BYZ_RELABEL | SIM_BYZ_REPLAY | SIM_BYZ_AUDIENCE}};
    char buf[128];
    snprintf(buf, sizeof buf, "%s", v);
    char *colon = strchr(buf, ':');
    uint32_t node;
    if (colon == NULL)
        return bad(where, "byzantine", v, "expected NODE:MODE[+MODE...]");
    *colon = '\0';
    if (!parse_u32(buf, &node))
        return bad(where, "byzantine", v, "node is not a number");
    uint8_t mode = 0;
    for (char *save = NULL, *tok = strtok_r(colon + 1, "+", &save); tok;
         tok = strtok_r(NULL, "+", &save)) {
        size_t i = 0;
        while (i < sizeof modes / sizeof modes[0] && strcmp(modes[i].name, tok) != 0)
            i++;
        if (i == sizeof modes / sizeof modes[0])
            return bad(where, "byzantine", v, "mode is none of forge, relabel, replay, audience, flood, all");
        mode |= modes[i].mode;
    }
    uint32_t *nn = realloc(s->byz_nodes, (s->n_byz + 1) * sizeof *nn);
    if (nn)
        s->byz_nodes = nn;
    uint8_t *nm = nn ? realloc(s->byz_modes, s->n_byz + 1) : NULL;
    if (nm == NULL)
        return SIM_E_NOMEM;
    s->byz_modes = nm;
    s->byz_nodes[s->n_byz] = node;
    s->byz_modes[s->n_byz++] = mode;
    return SIM_OK;
}

/* Link model fields "latency=20,jitter=5,bandwidth=1000,loss=0.01" onto m. */
static int parse_model(struct sim_link_model *m, const char *v, const char *key, const char *where)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", v);
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(tok, '=');
        uint64_t ms;
        if (eq == NULL)
            return bad(where, key, v, "expected name=value,...");
        *eq = '\0';
        const char *val = eq + 1;
        bool ok = false;
        if (strcmp(tok, "latency") == 0 && parse_ms(val, &ms) && ms >= 1 && ms < UINT32_MAX)
            ok = true, m->latency_ms = (uint32_t)ms;
        else if (strcmp(tok, "jitter") == 0 && parse_ms(val, &ms) && ms < UINT32_MAX)
            ok = true, m->jitter_ms = (uint32_t)ms;
        else if (strcmp(tok, "bandwidth") == 0)
            ok = parse_u32(val, &m->bandwidth_kbps);
        else if (strcmp(tok, "loss") == 0)
            ok = parse_frac(val, &m->loss) && m->loss < 1.0;
        if (!ok)
            return bad(where, key, v, "unknown field or bad value (latency>=1ms, jitter, bandwidth kbit/s, loss<1)");
    }
    return SIM_OK;
}

/* "3-9:latency=50,loss=0.01" */
static int parse_link(struct sim_scenario *s, const char *v, const char *where)
{
    unsigned a, b;
    int used = 0;
    if (sscanf(v, "%u-%u:%n", &a, &b, &used) != 2 || used == 0)
        return bad(where, "link", v, "expected A-B:latency=..,jitter=..,bandwidth=..,loss=..");
    if (s->n_link_rules >= SIM_MAX_LINK_RULES)
        return bad(where, "link", v, "too many link rules");
    struct sim_link_rule *nr = realloc(s->link_rules, (s->n_link_rules + 1) * sizeof *nr);
    if (nr == NULL)
        return SIM_E_NOMEM;
    s->link_rules = nr;
    struct sim_link_rule *r = &nr[s->n_link_rules];
    r->a = a;
    r->b = b;
    r->m = s->link;
    int rc = parse_model(&r->m, v + used, "link", where);
    if (rc == SIM_OK)
        s->n_link_rules++;
    return rc;
}

/* "20s split 0.5" | "20s isolate 7" | "20s oneway 3 9" | "40s heal" | "5s stop 4 [wipe]" |
 * "9s start 4" */
static int parse_at(struct sim_scenario *s, const char *v, const char *where)
{
    char t[32], act[32], x[32] = "", y[32] = "";
    int k = sscanf(v, "%31s %31s %31s %31s", t, act, x, y);
    struct sim_action_ev e = {0};
    if (k < 2 || !parse_ms(t, &e.at))
        return bad(where, "at", v, "expected TIME ACTION [ARGS]");
    bool ok;
    if (strcmp(act, "split") == 0) {
        e.act = SIM_ACT_SPLIT;
        ok = k == 3 && parse_frac(x, &e.frac);
    } else if (strcmp(act, "isolate") == 0) {
        e.act = SIM_ACT_ISOLATE;
        ok = k == 3 && parse_u32(x, &e.a);
    } else if (strcmp(act, "oneway") == 0) {
        e.act = SIM_ACT_ONEWAY;
        ok = k == 4 && parse_u32(x, &e.a) && parse_u32(y, &e.b);
    } else if (strcmp(act, "heal") == 0) {
        e.act = SIM_ACT_HEAL;
        ok = k == 2;
    } else if (strcmp(act, "stop") == 0) {
        e.act = SIM_ACT_STOP;
        ok = (k == 3 || (k == 4 && (strcmp(y, "wipe") == 0 || strcmp(y, "keep") == 0))) &&
             parse_u32(x, &e.a);
        e.b = k == 4 && strcmp(y, "wipe") == 0;
    } else if (strcmp(act, "start") == 0) {
        e.act = SIM_ACT_START;
        ok = k == 3 && parse_u32(x, &e.a);
    } else {
        return bad(where, "at", v, "action is none of split, isolate, oneway, heal, stop, start");
    }
    if (!ok)
        return bad(where, "at", v, "wrong arguments for the action (see docs/SIMNET.md)");
    if (s->n_events >= SIM_MAX_EVENTS)
        return bad(where, "at", v, "too many events");
    struct sim_action_ev *ne = realloc(s->events, (s->n_events + 1) * sizeof *ne);
    if (ne == NULL)
        return SIM_E_NOMEM;
    s->events = ne;
    s->events[s->n_events++] = e;
    return SIM_OK;
}

static int parse_topo(struct sim_scenario *s, const char *v, const char *where)
{
    if (strcmp(v, "random") == 0)
        s->topo = SIM_TOPO_RANDOM;
    else if (strcmp(v, "smallworld") == 0)
        s->topo = SIM_TOPO_SMALLWORLD;
    else if (strcmp(v, "hubs") == 0)
        s->topo = SIM_TOPO_HUBS;
    else if (strncmp(v, "file:", 5) == 0 && v[5]) {
        s->topo = SIM_TOPO_FILE;
        snprintf(s->topo_file, sizeof s->topo_file, "%s", v + 5);
    } else
        return bad(where, "topology", v, "expected random, smallworld, hubs or file:PATH");
    return SIM_OK;
}

int scenario_set(struct sim_scenario *s, const char *key, const char *v, const char *where)
{
    uint64_t ms;
    bool ok = true;
    if (strcmp(key, "seed") == 0)
        ok = parse_u64(v, &s->seed);
    else if (strcmp(key, "nodes") == 0)
        ok = parse_u32(v, &s->nodes) && s->nodes >= 2 && s->nodes <= SIM_MAX_NODES;
    else if (strcmp(key, "degree") == 0)
        ok = parse_u32(v, &s->degree) && s->degree >= 1 && s->degree <= SIM_MAX_DEGREE;
    else if (strcmp(key, "records") == 0)
        ok = parse_u32(v, &s->records) && s->records <= 10000000;
    else if (strcmp(key, "tlp-mix") == 0)
        return parse_mix(s, v, where);
    else if (strcmp(key, "topology") == 0)
        return parse_topo(s, v, where);
    else if (strcmp(key, "hubs") == 0)
        ok = parse_u32(v, &s->hubs);
    else if (strcmp(key, "rewire") == 0)
        ok = parse_frac(v, &s->rewire);
    else if (strcmp(key, "start") == 0)
        ok = parse_ms(v, &s->start_ms);
    else if (strcmp(key, "publish-span") == 0)
        ok = parse_ms(v, &s->publish_span_ms);
    else if (strcmp(key, "publishers") == 0)
        ok = parse_u32(v, &s->publishers);
    else if (strcmp(key, "communities") == 0)
        ok = parse_u32(v, &s->communities) && s->communities <= SIM_MAX_COMMUNITIES;
    else if (strcmp(key, "orgs") == 0)
        ok = parse_u32(v, &s->orgs);
    else if (strcmp(key, "memberships") == 0)
        ok = parse_u32(v, &s->memberships) && s->memberships <= SIM_MAX_COMMUNITIES;
    else if (strcmp(key, "clients") == 0)
        ok = parse_frac(v, &s->client_frac);
    else if (strcmp(key, "low-ceiling") == 0)
        ok = parse_frac(v, &s->low_ceiling_frac);
    else if (strcmp(key, "record-pad") == 0)
        ok = parse_u32(v, &s->record_pad) && s->record_pad <= LIMIT_COMMENT_BYTES;
    else if (strcmp(key, "latency") == 0)
        ok = parse_ms(v, &ms) && ms >= 1 && ms < UINT32_MAX && (s->link.latency_ms = (uint32_t)ms);
    else if (strcmp(key, "jitter") == 0)
        ok = parse_ms(v, &ms) && ms < UINT32_MAX && ((s->link.jitter_ms = (uint32_t)ms), true);
    else if (strcmp(key, "bandwidth") == 0)
        ok = parse_u32(v, &s->link.bandwidth_kbps);
    else if (strcmp(key, "loss") == 0)
        ok = parse_frac(v, &s->link.loss) && s->link.loss < 1.0;
    else if (strcmp(key, "dup") == 0)
        ok = parse_frac(v, &s->dup);
    else if (strcmp(key, "reorder") == 0)
        ok = parse_frac(v, &s->reorder);
    else if (strcmp(key, "settle") == 0)
        ok = parse_ms(v, &s->settle_ms);
    else if (strcmp(key, "resolution") == 0)
        ok = parse_ms(v, &ms) && ms >= 1 && ms <= SIM_MAX_RESOLUTION_MS &&
             ((s->resolution_ms = (uint32_t)ms), true);
    else if (strcmp(key, "max-time") == 0)
        ok = parse_ms(v, &s->max_ms);
    else if (strcmp(key, "baseline") == 0)
        ok = (strcmp(v, "flood") == 0 && (s->baseline_flood = true)) ||
             (strcmp(v, "none") == 0 && !(s->baseline_flood = false));
    else if (strcmp(key, "threads") == 0)
        ok = parse_u32(v, &s->threads) && s->threads <= 64;
    else if (strcmp(key, "verify-cache") == 0)
        ok = parse_onoff(v, &s->verify_cache);
    else if (strcmp(key, "oracle-announce") == 0)
        ok = parse_onoff(v, &s->oracle_announce);
    else if (strcmp(key, "trace") == 0)
        ok = snprintf(s->trace_path, sizeof s->trace_path, "%s", v) < (int)sizeof s->trace_path;
    else if (strcmp(key, "byzantine") == 0)
        return parse_byz(s, v, where);
    else if (strcmp(key, "link") == 0)
        return parse_link(s, v, where);
    else if (strcmp(key, "at") == 0)
        return parse_at(s, v, where);
    else {
        fprintf(stderr, "tlpmesh-simnet: %s: unknown setting '%s'\n", where, key);
        return SIM_E_USAGE;
    }
    return ok ? SIM_OK : bad(where, key, v, "bad value (see docs/SIMNET.md)");
}

int scenario_load(struct sim_scenario *s, const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        fprintf(stderr, "tlpmesh-simnet: %s: cannot open scenario\n", path);
        return SIM_E_USAGE;
    }
    char line[1024], where[LIMIT_PATH_BYTES + 16];
    int rc = SIM_OK;
    for (unsigned ln = 1; rc == SIM_OK && fgets(line, sizeof line, f); ln++) {
        snprintf(where, sizeof where, "%.4000s:%u", path, ln);
        char *hash = strchr(line, '#');
        if (hash)
            *hash = '\0';
        char *p = line;
        while (isspace((unsigned char)*p))
            p++;
        size_t n = strlen(p);
        while (n > 0 && isspace((unsigned char)p[n - 1]))
            p[--n] = '\0';
        if (n == 0)
            continue;
        char *sp = p;
        while (*sp && !isspace((unsigned char)*sp))
            sp++;
        if (*sp == '\0') {
            fprintf(stderr, "tlpmesh-simnet: %s: '%s' has no value\n", where, p);
            rc = SIM_E_USAGE;
            break;
        }
        *sp++ = '\0';
        while (isspace((unsigned char)*sp))
            sp++;
        rc = scenario_set(s, p, sp, where);
    }
    fclose(f);
    return rc;
}

void scenario_finish(struct sim_scenario *s)
{
    if (s->orgs == 0)
        s->orgs = s->nodes / 4 ? s->nodes / 4 : 1;
    if (s->max_ms == 0) {
        uint64_t last = s->start_ms + s->publish_span_ms;
        for (size_t i = 0; i < s->n_events; i++)
            last = s->events[i].at > last ? s->events[i].at : last;
        s->max_ms = last + s->settle_ms + 30 * 60 * 1000;
    }
}
