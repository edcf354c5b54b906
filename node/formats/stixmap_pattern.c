/* stixmap_pattern.c - STIX 2.1 indicator patterns for indicator values, both ways (stixmap.h). */
#include <assert.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "node/formats/stixmap.h"
#include "proto/indicator.h"

/* --- pattern paths --- */

/* What a comparison's path means. */
enum role {
    ROLE_VALUE,    /* the indicator value itself */
    ROLE_REF_TYPE, /* network-traffic:X_ref.type: qualifies the X_ref.value beside it */
    ROLE_PORT,     /* network-traffic:X_port: with X_ref.value, an address or host with a port */
    ROLE_REG_DATA, /* windows-registry-key:values[*].data: with :key, a regkey|value */
};

/* STIX path (quotes removed, hash key canonical) -> indicator type. PROTO_ITYPE_DOMAIN stands for
 * "domain or hostname", decided by the value. */
static const struct path_map {
    const char *path;
    int itype;
    enum role role;
} path_maps[] = {
    {"ipv4-addr:value", PROTO_ITYPE_IP_DST, ROLE_VALUE},
    {"ipv6-addr:value", PROTO_ITYPE_IP_DST, ROLE_VALUE},
    {"network-traffic:dst_ref.value", PROTO_ITYPE_IP_DST, ROLE_VALUE},
    {"network-traffic:src_ref.value", PROTO_ITYPE_IP_SRC, ROLE_VALUE},
    {"network-traffic:dst_ref.type", PROTO_ITYPE_IP_DST, ROLE_REF_TYPE},
    {"network-traffic:src_ref.type", PROTO_ITYPE_IP_SRC, ROLE_REF_TYPE},
    {"network-traffic:dst_port", PROTO_ITYPE_IP_DST, ROLE_PORT},
    {"network-traffic:src_port", PROTO_ITYPE_IP_SRC, ROLE_PORT},
    {"domain-name:value", PROTO_ITYPE_DOMAIN, ROLE_VALUE},
    {"domain-name:resolves_to_refs[*].value", PROTO_ITYPE_IP_DST, ROLE_VALUE},
    {"url:value", PROTO_ITYPE_URL, ROLE_VALUE},
    {"email-addr:value", PROTO_ITYPE_EMAIL_SRC, ROLE_VALUE},
    {"email-message:from_ref.value", PROTO_ITYPE_EMAIL_SRC, ROLE_VALUE},
    {"email-message:to_refs[*].value", PROTO_ITYPE_EMAIL_DST, ROLE_VALUE},
    {"email-message:subject", PROTO_ITYPE_EMAIL_SUBJECT, ROLE_VALUE},
    {"file:hashes.MD5", PROTO_ITYPE_MD5, ROLE_VALUE},
    {"file:hashes.SHA-1", PROTO_ITYPE_SHA1, ROLE_VALUE},
    {"file:hashes.SHA-256", PROTO_ITYPE_SHA256, ROLE_VALUE},
    {"file:hashes.SHA-512", PROTO_ITYPE_SHA512, ROLE_VALUE},
    {"file:hashes.SSDEEP", PROTO_ITYPE_SSDEEP, ROLE_VALUE},
    {"file:hashes.TLSH", PROTO_ITYPE_TLSH, ROLE_VALUE},
    {"file:extensions.windows-pebinary-ext.imphash", PROTO_ITYPE_IMPHASH, ROLE_VALUE},
    {"file:name", PROTO_ITYPE_FILENAME, ROLE_VALUE},
    {"autonomous-system:number", PROTO_ITYPE_AS, ROLE_VALUE},
    {"x509-certificate:hashes.SHA-1", PROTO_ITYPE_X509_SHA1, ROLE_VALUE},
    {"x509-certificate:hashes.SHA-256", PROTO_ITYPE_X509_SHA256, ROLE_VALUE},
    {"mutex:name", PROTO_ITYPE_MUTEX, ROLE_VALUE},
    {"windows-registry-key:key", PROTO_ITYPE_REGKEY, ROLE_VALUE},
    {"windows-registry-key:values[*].data", PROTO_ITYPE_REGKEY_VALUE, ROLE_REG_DATA},
    {"network-traffic:extensions.http-request-ext.request_header.User-Agent",
     PROTO_ITYPE_USER_AGENT, ROLE_VALUE},
};
enum { N_PATH_MAPS = sizeof path_maps / sizeof path_maps[0] };

static const struct path_map *path_lookup(const char *path)
{
    for (size_t i = 0; i < N_PATH_MAPS; i++) {
        if (strcmp(path_maps[i].path, path) == 0)
            return &path_maps[i];
    }
    return NULL;
}

/* Rewrites "file:hashes.<key>" (and x509-certificate's) with the canonical key: md5, Sha256 and
 * SHA-256 are one key. */
static void canon_hash_key(char *path, size_t cap)
{
    static const char *const prefixes[] = {"file:hashes.", "x509-certificate:hashes."};
    static const char *const keys[][2] = {{"MD5", "MD5"},       {"SHA1", "SHA-1"},
                                          {"SHA256", "SHA-256"}, {"SHA512", "SHA-512"},
                                          {"SSDEEP", "SSDEEP"}, {"TLSH", "TLSH"}};
    char *key = NULL;
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0] && key == NULL; i++) {
        if (strncmp(path, prefixes[i], strlen(prefixes[i])) == 0)
            key = path + strlen(prefixes[i]);
    }
    if (key == NULL)
        return;
    char bare[16];
    size_t n = 0;
    for (const char *p = key; *p; p++) {
        if (*p == '-')
            continue;
        if (n + 1 >= sizeof bare)
            return;
        bare[n++] = (char)((*p >= 'a' && *p <= 'z') ? *p - 'a' + 'A' : *p);
    }
    bare[n] = '\0';
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        if (strcmp(bare, keys[i][0]) == 0 && (size_t)(key - path) + strlen(keys[i][1]) < cap) {
            strcpy(key, keys[i][1]);
            return;
        }
    }
}

/* --- building --- */

/* One comparison of a pattern being built: path = 'text' (escaped), or path = number. */
struct piece {
    const char *path;
    const char *v;
    size_t len;
    bool number;
};

/* The comparisons that stand for one value: a single path, or the AND group of a pair. */
static size_t pieces_for(int itype, const char *value, struct piece out[3])
{
    const size_t len = strlen(value);
    const char *last = strrchr(value, '|'), *first = strchr(value, '|');
    const bool v6 = strchr(value, ':') != NULL;
    switch (itype) {
    case PROTO_ITYPE_IP_DST_PORT:
    case PROTO_ITYPE_IP_SRC_PORT:
    case PROTO_ITYPE_HOSTNAME_PORT: {
        assert(last != NULL);
        const bool src = itype == PROTO_ITYPE_IP_SRC_PORT;
        const char *rtype = itype == PROTO_ITYPE_HOSTNAME_PORT ? "domain-name"
                            : v6                                ? "ipv6-addr"
                                                                : "ipv4-addr";
        out[0] =
            (struct piece){src ? "network-traffic:src_ref.type" : "network-traffic:dst_ref.type",
                           rtype, strlen(rtype), false};
        out[1] = (struct piece){src ? "network-traffic:src_ref.value"
                                    : "network-traffic:dst_ref.value",
                                value, (size_t)(last - value), false};
        out[2] = (struct piece){src ? "network-traffic:src_port" : "network-traffic:dst_port",
                                last + 1, strlen(last + 1), true};
        return 3;
    }
    case PROTO_ITYPE_REGKEY_VALUE:
        assert(first != NULL);
        out[0] = (struct piece){"windows-registry-key:key", value, (size_t)(first - value), false};
        out[1] = (struct piece){"windows-registry-key:values[*].data", first + 1,
                                strlen(first + 1), false};
        return 2;
    case PROTO_ITYPE_AS:
        out[0] = (struct piece){"autonomous-system:number", value, len, true};
        return 1;
    default: break;
    }
    static const struct {
        int itype;
        const char *path;
    } single[] = {
        {PROTO_ITYPE_DOMAIN, "domain-name:value"},
        {PROTO_ITYPE_HOSTNAME, "domain-name:value"},
        {PROTO_ITYPE_URL, "url:value"},
        {PROTO_ITYPE_EMAIL_SRC, "email-addr:value"},
        {PROTO_ITYPE_EMAIL_DST, "email-message:to_refs[*].value"},
        {PROTO_ITYPE_EMAIL_SUBJECT, "email-message:subject"},
        {PROTO_ITYPE_MD5, "file:hashes.'MD5'"},
        {PROTO_ITYPE_SHA1, "file:hashes.'SHA-1'"},
        {PROTO_ITYPE_SHA256, "file:hashes.'SHA-256'"},
        {PROTO_ITYPE_SHA512, "file:hashes.'SHA-512'"},
        {PROTO_ITYPE_SSDEEP, "file:hashes.'SSDEEP'"},
        {PROTO_ITYPE_TLSH, "file:hashes.'TLSH'"},
        {PROTO_ITYPE_IMPHASH, "file:extensions.'windows-pebinary-ext'.imphash"},
        {PROTO_ITYPE_FILENAME, "file:name"},
        {PROTO_ITYPE_X509_SHA1, "x509-certificate:hashes.'SHA-1'"},
        {PROTO_ITYPE_X509_SHA256, "x509-certificate:hashes.'SHA-256'"},
        {PROTO_ITYPE_MUTEX, "mutex:name"},
        {PROTO_ITYPE_REGKEY, "windows-registry-key:key"},
        {PROTO_ITYPE_USER_AGENT,
         "network-traffic:extensions.'http-request-ext'.request_header.'User-Agent'"},
    };
    const char *path = NULL;
    if (itype == PROTO_ITYPE_IP_SRC || itype == PROTO_ITYPE_IP_DST)
        path = v6 ? "ipv6-addr:value" : "ipv4-addr:value";
    for (size_t i = 0; i < sizeof single / sizeof single[0] && path == NULL; i++)
        path = single[i].itype == itype ? single[i].path : NULL;
    if (path == NULL)
        return 0;
    out[0] = (struct piece){path, value, len, false};
    return 1;
}

const char *stixmap_pattern_type(int itype)
{
    switch (itype) {
    case PROTO_ITYPE_YARA: return "yara";
    case PROTO_ITYPE_SIGMA: return "sigma";
    case PROTO_ITYPE_SNORT: return "snort";
    case PROTO_ITYPE_SURICATA: return "suricata";
    default: {
        struct piece p[3]; /* the mapping depends on the type alone: any pair value probes it */
        return proto_itype_name(itype) && pieces_for(itype, "x|1", p) > 0 ? "stix" : NULL;
    }
    }
}

/* Appends s[0..n) to out at *o, escaping quotes and backslashes when quoted; false if full. */
static bool put_text(char *out, size_t cap, size_t *o, const char *s, size_t n, bool quoted)
{
    for (size_t i = 0; i < n; i++) {
        const bool esc = quoted && (s[i] == '\'' || s[i] == '\\');
        if (*o + 1 + esc >= cap)
            return false;
        if (esc)
            out[(*o)++] = '\\';
        out[(*o)++] = s[i];
    }
    out[*o] = '\0';
    return true;
}

int stixmap_pattern_build(int itype, const char *value, char *out, size_t cap)
{
    assert(value != NULL && out != NULL && cap > 0);
    size_t o = 0;
    out[0] = '\0';
    if (proto_itype_is_rule(itype)) /* the rule text is the pattern, byte for byte */
        return put_text(out, cap, &o, value, strlen(value), false) ? (int)o : STIXMAP_E_NOSPACE;
    struct piece p[3];
    const size_t n = pieces_for(itype, value, p);
    if (n == 0)
        return STIXMAP_E_TYPE;
    bool ok = put_text(out, cap, &o, "[", 1, false);
    for (size_t i = 0; i < n && ok; i++) {
        ok = (i == 0 || put_text(out, cap, &o, " AND ", 5, false)) &&
             put_text(out, cap, &o, p[i].path, strlen(p[i].path), false) &&
             put_text(out, cap, &o, p[i].number ? " = " : " = '", p[i].number ? 3 : 4, false) &&
             put_text(out, cap, &o, p[i].v, p[i].len, !p[i].number) &&
             (p[i].number || put_text(out, cap, &o, "'", 1, false));
    }
    ok = ok && put_text(out, cap, &o, "]", 1, false);
    return ok ? (int)o : STIXMAP_E_NOSPACE;
}

/* --- parsing --- */

struct cursor {
    const char *s;
    size_t i, len;
    char *why;
    size_t wl;
};

__attribute__((format(printf, 2, 3))) static int refuse(struct cursor *c, const char *fmt, ...)
{
    if (c->why && c->wl) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->why, c->wl, fmt, ap);
        va_end(ap);
    }
    return STIXMAP_E_PATTERN;
}

static void skip_ws(struct cursor *c)
{
    while (c->i < c->len && (c->s[c->i] == ' ' || c->s[c->i] == '\t' || c->s[c->i] == '\n' ||
                             c->s[c->i] == '\r'))
        c->i++;
}

static bool is_word_char(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '_' || ch == '-';
}

/* The bare word at the cursor (not consumed), for messages and keywords. */
static size_t word_len(const struct cursor *c)
{
    size_t n = 0;
    while (c->i + n < c->len && n < 32 && is_word_char(c->s[c->i + n]))
        n++;
    return n;
}

static bool accept_kw(struct cursor *c, const char *kw)
{
    skip_ws(c);
    const size_t n = word_len(c);
    if (n != strlen(kw) || strncasecmp(c->s + c->i, kw, n) != 0)
        return false;
    c->i += n;
    return true;
}

/* A string literal: '...' with the grammar's only escapes \' and \\. */
static int parse_string(struct cursor *c, char *out, size_t cap)
{
    skip_ws(c);
    if (c->i >= c->len || c->s[c->i] != '\'')
        return refuse(c, "expected a quoted string at offset %zu (only string comparisons "
                         "are supported)", c->i);
    c->i++;
    size_t o = 0;
    for (;;) {
        if (c->i >= c->len)
            return refuse(c, "unterminated string literal");
        char ch = c->s[c->i++];
        if (ch == '\'')
            break;
        if (ch == '\\') {
            if (c->i >= c->len || (c->s[c->i] != '\'' && c->s[c->i] != '\\'))
                return refuse(c, "bad escape at offset %zu (only \\' and \\\\)", c->i - 1);
            ch = c->s[c->i++];
        }
        if (o + 1 >= cap)
            return refuse(c, "value longer than %zu bytes", cap - 1);
        out[o++] = ch;
    }
    out[o] = '\0';
    return STIXMAP_OK;
}

/* An integer literal (a port, an AS number): its digits, as a value's text. */
static int parse_number(struct cursor *c, char *out, size_t cap)
{
    enum { DIGITS_MAX = 10 }; /* 2^32 - 1: ports and AS numbers are below */
    size_t o = 0;
    while (c->i < c->len && c->s[c->i] >= '0' && c->s[c->i] <= '9') {
        if (o + 1 >= cap || o == DIGITS_MAX)
            return refuse(c, "integer at offset %zu is too long", c->i - o);
        out[o++] = c->s[c->i++];
    }
    out[o] = '\0';
    if (c->i < c->len && (is_word_char(c->s[c->i]) || c->s[c->i] == '.'))
        return refuse(c, "bad integer at offset %zu", c->i - o);
    return STIXMAP_OK;
}

/* An object path such as file:hashes.'SHA-256'; quoted keys lose their quotes. */
static int parse_path(struct cursor *c, char *out, size_t cap)
{
    skip_ws(c);
    size_t o = 0;
    const size_t start = c->i;
    bool in_index = false; /* inside "[*]" / "[0]": its ']' is part of the path */
    while (c->i < c->len) {
        const char ch = c->s[c->i];
        if (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '=' || ch == '!' ||
            ch == '<' || ch == '>' || ch == ')' || (ch == ']' && !in_index))
            break;
        if (ch == '[' || ch == ']')
            in_index = ch == '[';
        if (ch == '\'') { /* a quoted key: copy it without the quotes */
            c->i++;
            while (c->i < c->len && c->s[c->i] != '\'' && o + 1 < cap)
                out[o++] = c->s[c->i++];
            if (c->i >= c->len || c->s[c->i] != '\'')
                return refuse(c, "unterminated quoted key in path at offset %zu", start);
            c->i++;
            continue;
        }
        if (o + 1 >= cap)
            return refuse(c, "path at offset %zu is too long", start);
        out[o++] = ch;
        c->i++;
    }
    out[o] = '\0';
    if (o == 0 || !strchr(out, ':'))
        return refuse(c, "expected an object path like ipv4-addr:value at offset %zu", start);
    canon_hash_key(out, cap);
    return STIXMAP_OK;
}

/* One comparison as read; its value sits in the output array (terms[slot].value) until the group
 * it belongs to is resolved, so that no second 2 KiB buffer per comparison is needed. */
struct cmp {
    const struct path_map *map;
    size_t slot;
};

static int parse_comparison(struct cursor *c, struct stixmap_term *terms, size_t slot,
                            struct cmp *out)
{
    char path[128];
    int rc = parse_path(c, path, sizeof path);
    if (rc != STIXMAP_OK)
        return rc;
    if (accept_kw(c, "NOT"))
        return refuse(c, "NOT is not supported");
    skip_ws(c);
    if (c->i >= c->len || c->s[c->i] != '=' || (c->i + 1 < c->len && c->s[c->i + 1] == '=')) {
        size_t n = word_len(c);
        if (n == 0)
            n = strspn(c->s + c->i, "!=<>");
        return refuse(c, "operator %.*s is not supported (only =)", (int)n, c->s + c->i);
    }
    c->i++;
    out->map = path_lookup(path);
    if (!out->map)
        return refuse(c, "path %s is not an indicator type", path);
    out->slot = slot;
    skip_ws(c);
    if (c->i < c->len && c->s[c->i] >= '0' && c->s[c->i] <= '9') /* a port, an AS number */
        return parse_number(c, terms[slot].value, sizeof terms[slot].value);
    return parse_string(c, terms[slot].value, sizeof terms[slot].value);
}

static bool labels_ge2(const char *v)
{
    const char *dot = strchr(v, '.');
    return dot && dot[1] != '\0';
}

/* Moves a value comparison's term to terms[*n]; *n never passes the comparison's own slot. */
static void emit_term(struct stixmap_term *terms, size_t *n, const struct cmp *cm)
{
    assert(*n <= cm->slot);
    int itype = cm->map->itype;
    if (itype == PROTO_ITYPE_DOMAIN && !labels_ge2(terms[cm->slot].value))
        itype = PROTO_ITYPE_HOSTNAME;
    if (*n != cm->slot)
        memcpy(terms[*n].value, terms[cm->slot].value, sizeof terms[*n].value);
    terms[*n].itype = itype;
    (*n)++;
}

/* Writes "a|b" of a pair type to terms[*n]: an address or host and its port, a key and its data. */
static int emit_pair(struct cursor *c, struct stixmap_term *terms, size_t *n, const struct cmp *a,
                     const struct cmp *b, int itype)
{
    assert(*n <= a->slot && *n <= b->slot);
    char joined[LIMIT_VALUE_BYTES + 1];
    const int w = snprintf(joined, sizeof joined, "%s|%s", terms[a->slot].value,
                           terms[b->slot].value);
    if (w < 0 || (size_t)w >= sizeof joined)
        return refuse(c, "value longer than %d bytes", LIMIT_VALUE_BYTES);
    memcpy(terms[*n].value, joined, (size_t)w + 1);
    terms[*n].itype = itype;
    (*n)++;
    return STIXMAP_OK;
}

/* network-traffic:X_port with its X_ref.value: ip-src|port, ip-dst|port or (a destination whose
 * ref type is domain-name) hostname|port. */
static int resolve_port(struct cursor *c, const struct cmp *val, const struct cmp *port,
                        bool host_ref, struct stixmap_term *terms, size_t *n)
{
    if (val == NULL || strncmp(val->map->path, "network-traffic:", 16) != 0 ||
        val->map->itype != port->map->itype)
        return refuse(c, "%s without its network-traffic ref value", port->map->path);
    const bool src = port->map->itype == PROTO_ITYPE_IP_SRC;
    if (host_ref && src)
        return refuse(c, "a source host name with a port is not an indicator type");
    const int t = host_ref ? PROTO_ITYPE_HOSTNAME_PORT
                  : src    ? PROTO_ITYPE_IP_SRC_PORT
                           : PROTO_ITYPE_IP_DST_PORT;
    return emit_pair(c, terms, n, val, port, t);
}

/* An AND group names one indicator (or MISP's domain|ip pair): ref.type comparisons only qualify
 * the ref.value beside them; a port joins its ref value, registry data its key. */
static int resolve_and_group(struct cursor *c, const struct cmp *g, size_t ng,
                             struct stixmap_term *terms, size_t *n)
{
    const struct cmp *vals[2], *port = NULL, *data = NULL;
    size_t nv = 0;
    bool host_ref = false;
    for (size_t i = 0; i < ng; i++) {
        const char *v = terms[g[i].slot].value;
        switch (g[i].map->role) {
        case ROLE_REF_TYPE: {
            host_ref |= strcmp(v, "domain-name") == 0;
            if (strcmp(v, "ipv4-addr") != 0 && strcmp(v, "ipv6-addr") != 0 &&
                strcmp(v, "domain-name") != 0)
                return refuse(c, "%s = '%s' is not an address or a host name", g[i].map->path, v);
            bool paired = false;
            for (size_t k = 0; k < ng; k++)
                paired |= g[k].map->role == ROLE_VALUE && g[k].map->itype == g[i].map->itype &&
                          strncmp(g[k].map->path, "network-traffic:", 16) == 0;
            if (!paired)
                return refuse(c, "%s without its value", g[i].map->path);
            continue;
        }
        case ROLE_PORT:
        case ROLE_REG_DATA: {
            const struct cmp **slot = g[i].map->role == ROLE_PORT ? &port : &data;
            if (*slot != NULL)
                return refuse(c, "%s twice in one comparison group", g[i].map->path);
            *slot = &g[i];
            continue;
        }
        case ROLE_VALUE: break;
        }
        if (nv == 2)
            return refuse(c, "AND of more than two values is not one indicator");
        vals[nv++] = &g[i];
    }
    if (nv == 0)
        return refuse(c, "a comparison group holds no value");
    if ((port || data) && (nv != 1 || (port && data)))
        return refuse(c, "%s with other values is not one indicator",
                      (port ? port : data)->map->path);
    if (port)
        return resolve_port(c, vals[0], port, host_ref, terms, n);
    if (host_ref)
        return refuse(c, "a network-traffic ref of type domain-name needs its port");
    if (data && vals[0]->map->itype != PROTO_ITYPE_REGKEY)
        return refuse(c, "%s without windows-registry-key:key", data->map->path);
    if (data)
        return emit_pair(c, terms, n, vals[0], data, PROTO_ITYPE_REGKEY_VALUE);
    if (nv == 2 && !(strcmp(vals[0]->map->path, "domain-name:value") == 0 &&
                     strcmp(vals[1]->map->path, "domain-name:resolves_to_refs[*].value") == 0))
        return refuse(c, "AND of %s and %s is not one indicator", vals[0]->map->path,
                      vals[1]->map->path);
    for (size_t i = 0; i < nv; i++)
        emit_term(terms, n, vals[i]);
    return STIXMAP_OK;
}

/* [ cmp ((AND|OR) cmp)* ]: AND binds tighter than OR, as in the grammar. */
static int parse_observation(struct cursor *c, struct stixmap_term *terms, size_t cap, size_t *n)
{
    skip_ws(c);
    if (c->i < c->len && c->s[c->i] == '(')
        return refuse(c, "parentheses are not supported");
    if (c->i >= c->len || c->s[c->i] != '[')
        return refuse(c, "expected '[' at offset %zu", c->i);
    c->i++;
    struct cmp group[LIMIT_STIX_PATTERN_TERMS];
    size_t ng = 0;
    for (;;) {
        if (*n + ng >= cap)
            return refuse(c, "more than %zu comparisons in one pattern", cap);
        skip_ws(c);
        if (c->i < c->len && c->s[c->i] == '(')
            return refuse(c, "parentheses are not supported");
        int rc = parse_comparison(c, terms, *n + ng, &group[ng]);
        if (rc != STIXMAP_OK)
            return rc;
        ng++;
        if (accept_kw(c, "AND"))
            continue;
        rc = resolve_and_group(c, group, ng, terms, n);
        if (rc != STIXMAP_OK)
            return rc;
        ng = 0;
        if (!accept_kw(c, "OR"))
            break;
    }
    skip_ws(c);
    if (c->i >= c->len || c->s[c->i] != ']')
        return refuse(c, "expected ']' at offset %zu", c->i);
    c->i++;
    return STIXMAP_OK;
}

int stixmap_pattern_parse(const char *pattern, struct stixmap_term *terms, size_t cap, size_t *n,
                          char *why, size_t why_len)
{
    assert(pattern != NULL && terms != NULL && n != NULL);
    assert(cap <= LIMIT_STIX_PATTERN_TERMS);
    struct cursor c = {.s = pattern, .len = strnlen(pattern, LIMIT_STIX_PATTERN_BYTES + 1),
                       .why = why, .wl = why_len};
    *n = 0;
    if (c.len > LIMIT_STIX_PATTERN_BYTES)
        return refuse(&c, "pattern longer than %d bytes", LIMIT_STIX_PATTERN_BYTES);
    for (;;) {
        int rc = parse_observation(&c, terms, cap, n);
        if (rc != STIXMAP_OK) {
            *n = 0;
            return rc;
        }
        skip_ws(&c);
        if (c.i >= c.len)
            return STIXMAP_OK;
        if (accept_kw(&c, "OR"))
            continue;
        const size_t wn = word_len(&c);
        *n = 0;
        if (wn)
            return refuse(&c, "%.*s between or after observations is not supported (only OR)",
                          (int)wn, c.s + c.i);
        return refuse(&c, "unexpected '%c' at offset %zu", c.s[c.i], c.i);
    }
}
