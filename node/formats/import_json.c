/* import_json.c - MISP events (one, or MISP restSearch output), STIX 2.1 bundles and the
 * provenance of tlpmesh's own exports -> candidates (import.h, import_int.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <sodium.h>

#include "crypto/keys.h"
#include "node/formats/import_int.h"
#include "node/formats/mispmap.h"
#include "node/formats/stixmap.h"
#include "node/formats/timefmt.h"
#include "proto/indicator.h"

/* --- provenance: the "x_tlpmesh" object of a tlpmesh export (import.h) --- */

static const char *prov_audience(const json_t *x, struct proto_audience *a)
{
    const json_t *comm = json_object_get(x, "communities"),
                 *rcpt = json_object_get(x, "recipients");
    if ((comm && !json_is_array(comm)) || (rcpt && !json_is_array(rcpt)) ||
        json_array_size(comm) > LIMIT_AUDIENCE_COMMUNITIES ||
        json_array_size(rcpt) > LIMIT_AUDIENCE_RECIPIENTS)
        return "x_tlpmesh audience is not two bounded lists (communities, recipients)";
    size_t i;
    const json_t *v;
    json_array_foreach(comm, i, v) {
        const char *name = json_string_value(v);
        if (!name || !name[0] || strlen(name) > LIMIT_NAME_BYTES)
            return "x_tlpmesh community is not a name of 1 to 64 bytes";
        memcpy(a->communities[a->n_communities++], name, strlen(name) + 1);
    }
    json_array_foreach(rcpt, i, v) {
        const char *b64 = json_string_value(v);
        if (!b64 || keys_pubkey_from_b64(b64, a->recipients[a->n_recipients]) != KEYS_OK)
            return "x_tlpmesh recipient is not a node public key";
        a->n_recipients++;
    }
    return NULL;
}

/* Fills p from x; NULL, or the reason a present member is refused. */
static const char *prov_parse(const json_t *x, struct import_provenance *p)
{
    memset(p, 0, sizeof *p);
    if (!json_is_object(x))
        return "x_tlpmesh is not an object";
    const json_t *v;
    size_t n = 0;
    if ((v = json_object_get(x, "record_id")) != NULL) {
        const char *hex = json_string_value(v);
        if (!hex || strlen(hex) != 2 * LIMIT_ID_BYTES ||
            sodium_hex2bin(p->record_id, LIMIT_ID_BYTES, hex, strlen(hex), NULL, &n, NULL) != 0 ||
            n != LIMIT_ID_BYTES)
            return "x_tlpmesh record_id is not 64 hex digits";
        p->has_id = true;
    }
    if ((v = json_object_get(x, "origin_key")) != NULL) {
        const char *b64 = json_string_value(v);
        if (!b64 || keys_pubkey_from_b64(b64, p->origin) != KEYS_OK)
            return "x_tlpmesh origin_key is not a node public key";
        p->has_origin = true;
    }
    if ((v = json_object_get(x, "origin_organisation")) != NULL) {
        const char *org = json_string_value(v);
        if (!org || strlen(org) > LIMIT_NAME_BYTES)
            return "x_tlpmesh origin_organisation is not a name of at most 64 bytes";
        memcpy(p->origin_org, org, strlen(org) + 1);
    }
    if (!json_object_get(x, "communities") && !json_object_get(x, "recipients"))
        return NULL;
    p->has_audience = true;
    return prov_audience(x, &p->audience);
}

/* Points m at the provenance in x (may be NULL: none), parsed into *p. */
void import_meta_prov(struct meta *m, const json_t *x, struct import_provenance *p)
{
    if (x)
        m->bad_prov = prov_parse(x, p);
    m->prov = x && !m->bad_prov ? p : NULL;
}

/* --- MISP events --- */

static bool misp_bool(const json_t *v, bool dflt)
{
    if (json_is_boolean(v))
        return json_is_true(v);
    if (json_is_integer(v))
        return json_integer_value(v) != 0;
    const char *s = json_string_value(v);
    if (s)
        return strcmp(s, "1") == 0 || strcasecmp(s, "true") == 0;
    return dflt;
}

/* Reads a MISP Tag array: tlp: tags raise m->tlp (the most restrictive wins), others become tags
 * (bounded; overlong ones dropped). */
static void misp_tags(const json_t *tags, struct meta *m)
{
    size_t i;
    const json_t *t;
    json_array_foreach(tags, i, t) {
        const char *name = json_string_value(json_object_get(t, "name"));
        if (!name || !name[0])
            continue;
        if (strcmp(name, MISPMAP_SURICATA_TAG) == 0)
            continue; /* marks the attribute's type (misp_attribute), no record tag */
        if (strncasecmp(name, "tlp:", 4) == 0) {
            const int lvl = stixmap_tlp_from_name(name);
            if (lvl < 0)
                m->bad_tlp = name;
            else if (lvl > m->tlp)
                m->tlp = lvl;
            continue;
        }
        bool dup = false;
        for (size_t k = 0; k < m->n_tags; k++)
            dup |= strcmp(m->tags[k], name) == 0;
        if (!dup && m->n_tags < LIMIT_TAGS && strlen(name) <= LIMIT_TAG_BYTES)
            m->tags[m->n_tags++] = name;
    }
}

/* Does a MISP Tag array hold name? */
static bool misp_has_tag(const json_t *tags, const char *name)
{
    size_t i;
    const json_t *t;
    json_array_foreach(tags, i, t) {
        const char *n = json_string_value(json_object_get(t, "name"));
        if (n && strcmp(n, name) == 0)
            return true;
    }
    return false;
}

static void misp_attribute(struct ctx *c, const json_t *a, const struct meta *event,
                           const char *where)
{
    const char *type = json_string_value(json_object_get(a, "type"));
    const char *value = json_string_value(json_object_get(a, "value"));
    if (!json_is_object(a) || !type || !value) {
        import_fail(c, IMPORT_E_FORMAT,
                    "%s is not a MISP attribute (needs \"type\" and \"value\" texts)", where);
        return;
    }
    type = mispmap_tagged_type(type, misp_has_tag(json_object_get(a, "Tag"), MISPMAP_SURICATA_TAG));
    if (json_is_true(json_object_get(a, "deleted"))) { /* MISP's word for revoked */
        import_add_skip(c, IMPORT_SKIP_REVOKED, type, value, "deleted in source", where);
        return;
    }
    struct meta m = {.tlp = event->tlp, .bad_tlp = event->bad_tlp, .prefix = event->prefix};
    m.comment = json_string_value(json_object_get(a, "comment"));
    struct import_provenance prov;
    import_meta_prov(&m, json_object_get(a, "x_tlpmesh"), &prov);
    misp_tags(json_object_get(a, "Tag"), &m);
    for (size_t i = 0; i < event->n_tags && m.n_tags < LIMIT_TAGS; i++)
        m.tags[m.n_tags++] = event->tags[i];
    char at[512];
    snprintf(at, sizeof at, "%s: %s", c->name, where);
    import_add_misp_value(c, type, value, misp_bool(json_object_get(a, "to_ids"), true), &m, at);
}

static void misp_attributes(struct ctx *c, const json_t *attrs, const struct meta *event,
                            const char *path)
{
    if (attrs && !json_is_array(attrs)) {
        import_fail(c, IMPORT_E_FORMAT, "%s is not an array", path);
        return;
    }
    size_t i;
    const json_t *a;
    json_array_foreach(attrs, i, a) {
        char where[128];
        snprintf(where, sizeof where, "%s[%zu]", path, i);
        misp_attribute(c, a, event, where);
        if (c->err)
            return;
    }
}

/* One event; at ("" or "response[3].") prefixes the paths in reasons. */
static void misp_one_event(struct ctx *c, const json_t *root, const char *at)
{
    const json_t *ev = json_object_get(root, "Event");
    if (!ev && (json_object_get(root, "Attribute") || json_object_get(root, "Object")))
        ev = root;
    if (!json_is_object(ev)) {
        import_fail(c, IMPORT_E_FORMAT, "%snot a MISP event (no \"Event\" object, no \"Attribute\" "
                                        "array)", at);
        return;
    }
    struct meta m = {.tlp = -1, .prefix = json_string_value(json_object_get(ev, "info"))};
    misp_tags(json_object_get(ev, "Tag"), &m);
    char path[128];
    snprintf(path, sizeof path, "%sEvent.Attribute", at);
    misp_attributes(c, json_object_get(ev, "Attribute"), &m, path);
    const json_t *objs = json_object_get(ev, "Object");
    if (objs && !json_is_array(objs)) {
        import_fail(c, IMPORT_E_FORMAT, "%sEvent.Object is not an array", at);
        return;
    }
    size_t i;
    const json_t *o;
    json_array_foreach(objs, i, o) {
        snprintf(path, sizeof path, "%sEvent.Object[%zu].Attribute", at, i);
        misp_attributes(c, json_object_get(o, "Attribute"), &m, path);
        if (c->err)
            return;
    }
}

/* A MISP event, or what MISP's restSearch returns: {"response": [{"Event": ...}, ...]}. */
void import_misp_event(struct ctx *c, const json_t *root)
{
    const json_t *resp = json_object_get(root, "response");
    if (!resp) {
        misp_one_event(c, root, "");
        return;
    }
    if (!json_is_array(resp)) {
        import_fail(c, IMPORT_E_FORMAT, "\"response\" is not an array of events (MISP restSearch)");
        return;
    }
    size_t i;
    const json_t *ev;
    json_array_foreach(resp, i, ev) {
        char at[48];
        snprintf(at, sizeof at, "response[%zu].", i);
        misp_one_event(c, ev, at);
        if (c->err)
            return;
    }
}

/* --- STIX --- */

/* A marking ref -> TLP: the fixed ids first, then the bundle's own marking-definitions. */
static int stix_ref_tlp(const char *ref, const json_t *objects)
{
    int lvl = stixmap_tlp_from_marking_id(ref);
    if (lvl >= 0)
        return lvl;
    size_t i;
    const json_t *o;
    json_array_foreach(objects, i, o) {
        const char *id = json_string_value(json_object_get(o, "id"));
        if (id && strcmp(id, ref) == 0)
            return stixmap_tlp_from_marking_object(o);
    }
    return -1;
}

static int stix_tlp(const json_t *ind, const json_t *objects)
{
    int tlp = -1;
    size_t i;
    const json_t *r;
    json_array_foreach(json_object_get(ind, "object_marking_refs"), i, r) {
        const char *ref = json_string_value(r);
        const int lvl = ref ? stix_ref_tlp(ref, objects) : -1;
        tlp = lvl > tlp ? lvl : tlp;
    }
    json_array_foreach(json_object_get(ind, "granular_markings"), i, r) {
        const char *ref = json_string_value(json_object_get(r, "marking_ref"));
        const int lvl = ref ? stix_ref_tlp(ref, objects) : -1;
        tlp = lvl > tlp ? lvl : tlp;
    }
    return tlp;
}

/* What an indicator or vulnerability object says beside its value: TLP, provenance, name and
 * description (the comment), valid_until, labels (the tags). */
static void stix_meta(const json_t *o, const json_t *objects, struct meta *m,
                      struct import_provenance *prov)
{
    *m = (struct meta){.tlp = stix_tlp(o, objects)};
    import_meta_prov(m, json_object_get(o, "x_tlpmesh"), prov);
    m->prefix = json_string_value(json_object_get(o, "name"));
    m->comment = json_string_value(json_object_get(o, "description"));
    const char *until = json_string_value(json_object_get(o, "valid_until"));
    if (until && timefmt_parse_rfc3339(until, &m->valid_until_ms) != TIMEFMT_OK)
        m->valid_until_ms = 0;
    size_t i;
    const json_t *lab;
    json_array_foreach(json_object_get(o, "labels"), i, lab) {
        const char *s = json_string_value(lab);
        if (s && s[0] && m->n_tags < LIMIT_TAGS && strlen(s) <= LIMIT_TAG_BYTES)
            m->tags[m->n_tags++] = s;
    }
}

static void stix_where(struct ctx *c, const json_t *o, size_t idx, char *where, size_t cap)
{
    const char *id = json_string_value(json_object_get(o, "id"));
    if (id)
        snprintf(where, cap, "%s: %s", c->name, id);
    else
        snprintf(where, cap, "%s: objects[%zu]", c->name, idx);
}

/* The rule types a pattern_type names (yara, sigma, snort, suricata); -1 for another. */
static int stix_rule_type(const char *ptype)
{
    const int t = proto_itype_parse(ptype);
    return t > 0 && proto_itype_is_rule(t) ? t : -1;
}

static void stix_indicator(struct ctx *c, const json_t *ind, const json_t *objects, size_t idx,
                           struct stixmap_term *terms)
{
    const char *pattern = json_string_value(json_object_get(ind, "pattern"));
    const char *ptype = json_string_value(json_object_get(ind, "pattern_type"));
    char where[256];
    stix_where(c, ind, idx, where, sizeof where);
    if (!pattern) {
        import_fail(c, IMPORT_E_FORMAT, "objects[%zu] is an indicator without a \"pattern\" text",
                    idx);
        return;
    }
    const int rule = ptype ? stix_rule_type(ptype) : -1;
    if (ptype && strcmp(ptype, "stix") != 0 && rule < 0) {
        import_add_skip(c, IMPORT_SKIP_UNSUPPORTED, "indicator", pattern,
                        "pattern_type is not stix, yara, sigma, snort or suricata", where);
        return;
    }
    if (json_is_true(json_object_get(ind, "revoked"))) {
        import_add_skip(c, IMPORT_SKIP_REVOKED, "indicator", pattern, "revoked in source", where);
        return;
    }
    struct meta m;
    struct import_provenance prov;
    stix_meta(ind, objects, &m, &prov);
    if (rule > 0) { /* the pattern is the rule, byte for byte */
        import_add_candidate(c, ptype, rule, pattern, &m, where);
        return;
    }
    size_t n = 0;
    char why[256] = "";
    if (stixmap_pattern_parse(pattern, terms, LIMIT_STIX_PATTERN_TERMS, &n, why, sizeof why) !=
        STIXMAP_OK) {
        import_add_skip(c, IMPORT_SKIP_UNSUPPORTED, "indicator", pattern, why, where);
        return;
    }
    for (size_t i = 0; i < n && !c->err; i++)
        import_add_candidate(c, proto_itype_name(terms[i].itype), terms[i].itype, terms[i].value,
                             &m, where);
}

/* A vulnerability object naming a CVE (its "cve" external reference, else its name). */
static void stix_vulnerability(struct ctx *c, const json_t *o, const json_t *objects, size_t idx)
{
    char where[256];
    stix_where(c, o, idx, where, sizeof where);
    const char *cve = NULL;
    size_t i;
    const json_t *ref;
    json_array_foreach(json_object_get(o, "external_references"), i, ref) {
        const char *src = json_string_value(json_object_get(ref, "source_name"));
        if (!cve && src && strcasecmp(src, "cve") == 0)
            cve = json_string_value(json_object_get(ref, "external_id"));
    }
    const char *name = json_string_value(json_object_get(o, "name"));
    cve = cve ? cve : name;
    if (!cve || strncasecmp(cve, "cve-", 4) != 0) {
        import_add_skip(c, IMPORT_SKIP_UNSUPPORTED, "vulnerability", cve ? cve : "",
                        "a vulnerability without a CVE id", where);
        return;
    }
    if (json_is_true(json_object_get(o, "revoked"))) {
        import_add_skip(c, IMPORT_SKIP_REVOKED, "vulnerability", cve, "revoked in source", where);
        return;
    }
    struct meta m;
    struct import_provenance prov;
    stix_meta(o, objects, &m, &prov);
    m.prefix = name && strcmp(name, cve) != 0 ? name : NULL; /* the id itself says nothing more */
    import_add_candidate(c, "vulnerability", PROTO_ITYPE_VULNERABILITY, cve, &m, where);
}

void import_stix_bundle(struct ctx *c, json_t *root)
{
    const json_t *objects = json_object_get(root, "objects");
    json_t *single = NULL;
    const char *rtype = json_string_value(json_object_get(root, "type"));
    if (!objects && rtype && strcmp(rtype, "bundle") != 0) {
        single = json_pack("[O]", root); /* one bare STIX object */
        objects = single;
    }
    if (!json_is_array(objects)) {
        import_fail(c, IMPORT_E_FORMAT, "not a STIX bundle (no \"objects\" array)");
        json_decref(single);
        return;
    }
    /* 130 KiB of pattern terms: once per bundle, not on the stack. */
    struct stixmap_term *terms = calloc(LIMIT_STIX_PATTERN_TERMS, sizeof *terms);
    if (!terms) {
        import_fail(c, IMPORT_E_NOMEM, "out of memory");
        json_decref(single);
        return;
    }
    size_t i;
    const json_t *o;
    json_array_foreach(objects, i, o) {
        const char *type = json_string_value(json_object_get(o, "type"));
        if (!type) {
            import_fail(c, IMPORT_E_FORMAT, "objects[%zu] has no \"type\"", i);
            break;
        }
        if (strcmp(type, "indicator") == 0)
            stix_indicator(c, o, objects, i, terms);
        else if (strcmp(type, "vulnerability") == 0)
            stix_vulnerability(c, o, objects, i);
        if (c->err)
            break;
    }
    free(terms);
    json_decref(single);
}

