/* warninglist.c - MISP warninglists: loading and matching (see warninglist.h). */
#include "node/formats/warninglist.h"

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <glob.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <jansson.h>

#include "proto/indicator.h"

const char *warninglist_strerror(int err)
{
    switch (err) {
    case WARNINGLIST_OK: return "ok";
    WARNINGLIST_ERRORS(ERRORS_CASE)
    default: return "unknown warninglist error";
    }
}

__attribute__((format(printf, 4, 5))) static int fail(int err, char *why, size_t wl,
                                                      const char *fmt, ...)
{
    if (why && wl) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, wl, fmt, ap);
        va_end(ap);
    }
    return err;
}

void warninglist_set_init(struct warninglist_set *set)
{
    memset(set, 0, sizeof *set);
}

static void list_free(struct warninglist *l)
{
    for (size_t i = 0; i < l->n_entries; i++)
        free(l->entries[i]);
    free(l->entries);
    free(l->cidrs);
    memset(l, 0, sizeof *l);
}

void warninglist_set_free(struct warninglist_set *set)
{
    for (size_t i = 0; i < set->n; i++)
        list_free(&set->lists[i]);
    free(set->lists);
    memset(set, 0, sizeof *set);
}

/* --- loading --- */

static char *lower_dup(const char *s)
{
    char *d = strdup(s);
    for (char *p = d; p && *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    return d;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* "10.0.0.0/8", "2001:db8::1" (a single address) -> network. */
static bool parse_cidr(const char *text, struct warninglist_cidr *out)
{
    char buf[64];
    const size_t len = strlen(text);
    if (len >= sizeof buf)
        return false;
    memcpy(buf, text, len + 1);
    char *slash = strchr(buf, '/');
    if (slash)
        *slash = '\0';
    memset(out, 0, sizeof *out);
    out->v6 = strchr(buf, ':') != NULL;
    if (inet_pton(out->v6 ? AF_INET6 : AF_INET, buf, out->addr) != 1)
        return false;
    const unsigned max = out->v6 ? 128 : 32;
    unsigned bits = max;
    if (slash) {
        char *end;
        errno = 0;
        const unsigned long b = strtoul(slash + 1, &end, 10);
        if (errno || end == slash + 1 || *end || b > max)
            return false;
        bits = (unsigned)b;
    }
    out->bits = (uint8_t)bits;
    return true;
}

/* matching_attributes -> type mask; a composite name counts as itself (ip-dst|port) and for
 * each known part. */
static void read_types(const json_t *attrs, struct warninglist *l)
{
    l->all_types = !json_is_array(attrs);
    size_t i;
    const json_t *a;
    json_array_foreach(attrs, i, a) {
        const char *name = json_string_value(a);
        if (name && proto_itype_parse(name) > 0)
            l->type_mask |= 1ull << proto_itype_parse(name);
        char part[LIMIT_TYPE_BYTES + 1];
        for (const char *p = name; p && *p;) {
            const size_t n = strcspn(p, "|");
            if (n < sizeof part) {
                memcpy(part, p, n);
                part[n] = '\0';
                const int t = proto_itype_parse(part);
                if (t > 0)
                    l->type_mask |= 1ull << t;
            }
            p += n + (p[n] == '|');
        }
    }
}

static int read_kind(const json_t *root, const char *source, struct warninglist *l, char *why,
                     size_t wl)
{
    const json_t *jt = json_object_get(root, "type");
    const char *type = jt ? json_string_value(jt) : "string";
    static const struct {
        const char *name;
        enum warninglist_kind kind;
    } kinds[] = {{"string", WARNINGLIST_STRING},
                 {"substring", WARNINGLIST_SUBSTRING},
                 {"hostname", WARNINGLIST_HOSTNAME},
                 {"cidr", WARNINGLIST_CIDR}};
    if (!type)
        return fail(WARNINGLIST_E_FORMAT, why, wl, "%s: \"type\" is not a string", source);
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        if (strcmp(type, kinds[i].name) == 0) {
            l->kind = kinds[i].kind;
            return WARNINGLIST_OK;
        }
    }
    return fail(WARNINGLIST_E_TYPE, why, wl,
                "%s: list type '%s' is not supported (string, substring, hostname, cidr)", source,
                type);
}

static int read_entries(const json_t *list, const char *source, struct warninglist *l,
                        size_t budget, char *why, size_t wl)
{
    const size_t n = json_array_size(list);
    if (n > budget)
        return fail(WARNINGLIST_E_LIMIT, why, wl, "%s: more than %d entries over all lists",
                    source, LIMIT_WARNINGLIST_ENTRIES);
    if (l->kind == WARNINGLIST_CIDR)
        l->cidrs = calloc(n ? n : 1, sizeof *l->cidrs);
    else
        l->entries = calloc(n ? n : 1, sizeof *l->entries);
    if (!l->cidrs && !l->entries)
        return fail(WARNINGLIST_E_NOMEM, why, wl, "%s: out of memory", source);
    for (size_t i = 0; i < n; i++) {
        const char *e = json_string_value(json_array_get(list, i));
        if (!e || !e[0])
            return fail(WARNINGLIST_E_FORMAT, why, wl, "%s: \"list\"[%zu] is not a text",
                        source, i);
        if (l->kind == WARNINGLIST_CIDR) {
            if (!parse_cidr(e, &l->cidrs[l->n_cidrs]))
                return fail(WARNINGLIST_E_FORMAT, why, wl,
                            "%s: \"list\"[%zu] '%.64s' is not an IP address or CIDR", source, i,
                            e);
            l->n_cidrs++;
            continue;
        }
        /* hostname entries may be written ".example.com" or "example.com." */
        const char *s = l->kind == WARNINGLIST_HOSTNAME && e[0] == '.' ? e + 1 : e;
        if (!(l->entries[l->n_entries] = lower_dup(s)))
            return fail(WARNINGLIST_E_NOMEM, why, wl, "%s: out of memory", source);
        char *last = l->entries[l->n_entries] + strlen(l->entries[l->n_entries]);
        if (l->kind == WARNINGLIST_HOSTNAME && last > l->entries[l->n_entries] && last[-1] == '.')
            last[-1] = '\0';
        l->n_entries++;
    }
    if (l->kind == WARNINGLIST_STRING || l->kind == WARNINGLIST_HOSTNAME)
        qsort(l->entries, l->n_entries, sizeof *l->entries, cmp_str);
    return WARNINGLIST_OK;
}

int warninglist_load_buffer(struct warninglist_set *set, const char *text, size_t len,
                            const char *source, char *why, size_t wl)
{
    assert(set != NULL && text != NULL && source != NULL);
    if (set->n >= LIMIT_WARNINGLIST_FILES)
        return fail(WARNINGLIST_E_LIMIT, why, wl, "%s: more than %d warninglists", source,
                    LIMIT_WARNINGLIST_FILES);
    json_error_t jerr;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return fail(WARNINGLIST_E_FORMAT, why, wl, "%s:%d:%d: %s", source, jerr.line,
                    jerr.column, jerr.text);
    struct warninglist l = {0};
    int rc;
    const char *name = json_string_value(json_object_get(root, "name"));
    const json_t *list = json_object_get(root, "list");
    if (!json_is_object(root) || !name || !json_is_array(list)) {
        rc = fail(WARNINGLIST_E_FORMAT, why, wl,
                  "%s: not a MISP warninglist (needs \"name\" and a \"list\" array)", source);
        goto out;
    }
    snprintf(l.name, sizeof l.name, "%s", name);
    read_types(json_object_get(root, "matching_attributes"), &l);
    if ((rc = read_kind(root, source, &l, why, wl)) != WARNINGLIST_OK)
        goto out;
    rc = read_entries(list, source, &l, LIMIT_WARNINGLIST_ENTRIES - set->total_entries, why, wl);
    if (rc != WARNINGLIST_OK)
        goto out;
    struct warninglist *grown = realloc(set->lists, (set->n + 1) * sizeof *grown);
    if (!grown) {
        rc = fail(WARNINGLIST_E_NOMEM, why, wl, "%s: out of memory", source);
        goto out;
    }
    set->lists = grown;
    set->total_entries += l.n_entries + l.n_cidrs;
    set->lists[set->n++] = l;
    memset(&l, 0, sizeof l); /* now owned by the set */
out:
    list_free(&l);
    json_decref(root);
    return rc;
}

int warninglist_load_file(struct warninglist_set *set, const char *path, char *why, size_t wl)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return fail(WARNINGLIST_E_IO, why, wl, "%s: %s", path, strerror(errno));
    char *buf = NULL;
    int rc = WARNINGLIST_OK;
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        rc = fail(WARNINGLIST_E_IO, why, wl, "%s: not a regular file", path);
        goto out;
    }
    if (st.st_size > LIMIT_IMPORT_FILE_BYTES) {
        rc = fail(WARNINGLIST_E_LIMIT, why, wl, "%s: larger than %d bytes", path,
                  LIMIT_IMPORT_FILE_BYTES);
        goto out;
    }
    const size_t size = (size_t)st.st_size;
    buf = malloc(size ? size : 1);
    if (!buf) {
        rc = fail(WARNINGLIST_E_NOMEM, why, wl, "%s: out of memory", path);
        goto out;
    }
    if (fread(buf, 1, size, f) != size) {
        rc = fail(WARNINGLIST_E_IO, why, wl, "%s: read error", path);
        goto out;
    }
    rc = warninglist_load_buffer(set, buf, size, path, why, wl);
out:
    free(buf);
    fclose(f);
    return rc;
}

int warninglist_load_dir(struct warninglist_set *set, const char *dir, char *why, size_t wl)
{
    char pat[LIMIT_PATH_BYTES];
    if ((size_t)snprintf(pat, sizeof pat, "%s/*.json", dir) >= sizeof pat)
        return fail(WARNINGLIST_E_IO, why, wl, "%s: path too long", dir);
    glob_t g;
    const int grc = glob(pat, 0, NULL, &g); /* sorted by name */
    if (grc == GLOB_NOMATCH)
        return WARNINGLIST_OK;
    if (grc != 0)
        return fail(WARNINGLIST_E_IO, why, wl, "%s: cannot list the directory", dir);
    int rc = WARNINGLIST_OK;
    for (size_t i = 0; i < g.gl_pathc && rc == WARNINGLIST_OK; i++)
        rc = warninglist_load_file(set, g.gl_pathv[i], why, wl);
    globfree(&g);
    return rc;
}

/* --- matching --- */

static bool in_sorted(char *const *entries, size_t n, const char *key)
{
    return bsearch(&key, entries, n, sizeof *entries, cmp_str) != NULL;
}

/* The host part a hostname list is about, lower-case, in out; false when the type has none. */
static bool host_of(int itype, const char *value, char *out, size_t cap)
{
    const char *h = value;
    size_t n = strlen(value);
    if (itype == PROTO_ITYPE_URL) {
        const char *sep = strstr(value, "://");
        if (!sep)
            return false;
        h = sep + 3;
        /* The last '@' of the authority ends the userinfo, as in proto_indicator_normalise(): the
         * first one would make "http://a@b@cdn.example/" miss a list naming cdn.example. */
        const char *end = h + strcspn(h, "/?#");
        const char *cred = NULL;
        for (const char *q = h; q < end; q++)
            cred = *q == '@' ? q : cred;
        if (cred)
            h = cred + 1;
        n = strcspn(h, ":/?#");
    } else if (itype == PROTO_ITYPE_EMAIL_SRC || itype == PROTO_ITYPE_EMAIL_DST) {
        const char *at = strrchr(value, '@');
        if (!at)
            return false;
        h = at + 1;
        n = strlen(h);
    } else if (itype != PROTO_ITYPE_DOMAIN && itype != PROTO_ITYPE_HOSTNAME) {
        return false;
    }
    if (n == 0 || n >= cap)
        return false;
    for (size_t i = 0; i < n; i++)
        out[i] = (h[i] >= 'A' && h[i] <= 'Z') ? (char)(h[i] - 'A' + 'a') : h[i];
    out[n] = '\0';
    return true;
}

static bool match_hostname(const struct warninglist *l, int itype, const char *value)
{
    char host[LIMIT_VALUE_BYTES + 1];
    if (!host_of(itype, value, host, sizeof host))
        return false;
    /* The name itself, then each parent domain: a.b.example.com, b.example.com, example.com... */
    for (const char *p = host; p; p = strchr(p, '.') ? strchr(p, '.') + 1 : NULL) {
        if (*p && in_sorted(l->entries, l->n_entries, p))
            return true;
    }
    return false;
}

static bool cidr_contains(const struct warninglist_cidr *net, const struct warninglist_cidr *v)
{
    if (net->v6 != v->v6 || v->bits < net->bits)
        return false;
    const unsigned full = net->bits / 8, rest = net->bits % 8;
    if (memcmp(net->addr, v->addr, full) != 0)
        return false;
    if (rest == 0)
        return true;
    const uint8_t mask = (uint8_t)(0xff << (8 - rest));
    return (net->addr[full] & mask) == (v->addr[full] & mask);
}

static bool match_cidr(const struct warninglist *l, int itype, const char *value)
{
    struct warninglist_cidr v;
    if ((itype != PROTO_ITYPE_IP_SRC && itype != PROTO_ITYPE_IP_DST) || !parse_cidr(value, &v))
        return false;
    for (size_t i = 0; i < l->n_cidrs; i++) {
        if (cidr_contains(&l->cidrs[i], &v))
            return true;
    }
    return false;
}

static bool match_text(const struct warninglist *l, const char *value)
{
    char *lower = lower_dup(value);
    bool hit = false;
    if (!lower)
        return false;
    if (l->kind == WARNINGLIST_STRING)
        hit = in_sorted(l->entries, l->n_entries, lower);
    for (size_t i = 0; l->kind == WARNINGLIST_SUBSTRING && !hit && i < l->n_entries; i++)
        hit = strstr(lower, l->entries[i]) != NULL;
    free(lower);
    return hit;
}

/* An address or host with a port is matched as the address or host: a list of public resolvers
 * warns about 8.8.8.8|53 as it does about 8.8.8.8. Returns the base type, 0 for other types. */
static int port_base(int itype)
{
    switch (itype) {
    case PROTO_ITYPE_IP_DST_PORT: return PROTO_ITYPE_IP_DST;
    case PROTO_ITYPE_IP_SRC_PORT: return PROTO_ITYPE_IP_SRC;
    case PROTO_ITYPE_HOSTNAME_PORT: return PROTO_ITYPE_HOSTNAME;
    default: return 0;
    }
}

static bool applies(const struct warninglist *l, int itype)
{
    const int base = port_base(itype);
    return l->all_types ||
           (itype > 0 && itype < PROTO_ITYPE_END &&
            ((l->type_mask & (1ull << itype)) || (base && (l->type_mask & (1ull << base)))));
}

const char *warninglist_match(const struct warninglist_set *set, int itype, const char *value)
{
    assert(set != NULL && value != NULL);
    char host[LIMIT_VALUE_PLAIN_BYTES + 1];
    const char *bar = port_base(itype) ? strrchr(value, '|') : NULL;
    if (bar != NULL && (size_t)(bar - value) < sizeof host) {
        memcpy(host, value, (size_t)(bar - value));
        host[bar - value] = '\0';
    }
    for (size_t i = 0; i < set->n; i++) {
        const struct warninglist *l = &set->lists[i];
        if (!applies(l, itype))
            continue;
        const int t = bar ? port_base(itype) : itype;
        const char *v = bar ? host : value;
        bool hit;
        switch (l->kind) {
        case WARNINGLIST_HOSTNAME: hit = match_hostname(l, t, v); break;
        case WARNINGLIST_CIDR: hit = match_cidr(l, t, v); break;
        default: hit = match_text(l, v); break;
        }
        if (hit)
            return l->name;
    }
    return NULL;
}
