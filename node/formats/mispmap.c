/* mispmap.c - MISP attribute types <-> indicator types (mispmap.h). */
#include "node/formats/mispmap.h"

#include <assert.h>
#include <stddef.h>
#include <string.h>

#include "proto/indicator.h"

/* MISP's names that are not tlpmesh's (tlpmesh's own names are looked up in proto/indicator.h). */
static const struct mispmap_in maps[] = {
    {"email", MISPMAP_SAME, {PROTO_ITYPE_EMAIL_SRC, 0}},
    {"uri", MISPMAP_URI, {PROTO_ITYPE_URL, 0}},
    {"domain|ip", MISPMAP_SPLIT, {PROTO_ITYPE_DOMAIN, PROTO_ITYPE_IP_DST}},
    {"filename|md5", MISPMAP_SPLIT, {PROTO_ITYPE_FILENAME, PROTO_ITYPE_MD5}},
    {"filename|sha1", MISPMAP_SPLIT, {PROTO_ITYPE_FILENAME, PROTO_ITYPE_SHA1}},
    {"filename|sha256", MISPMAP_SPLIT, {PROTO_ITYPE_FILENAME, PROTO_ITYPE_SHA256}},
    {"filename|sha512", MISPMAP_SPLIT, {PROTO_ITYPE_FILENAME, PROTO_ITYPE_SHA512}},
    {"filename|ssdeep", MISPMAP_SPLIT, {PROTO_ITYPE_FILENAME, PROTO_ITYPE_SSDEEP}},
    {"filename|tlsh", MISPMAP_SPLIT, {PROTO_ITYPE_FILENAME, PROTO_ITYPE_TLSH}},
    {"filename|imphash", MISPMAP_SPLIT, {PROTO_ITYPE_FILENAME, PROTO_ITYPE_IMPHASH}},
    {"malware-sample", MISPMAP_SPLIT, {PROTO_ITYPE_FILENAME, PROTO_ITYPE_MD5}},
};

/* Types that describe an event rather than detect anything (MISP sets to_ids 0 on all of them). */
static const char *const not_indicators[] = {
    "comment",       "text",        "link",         "other",         "attachment", "datetime",
    "counter",       "float",       "boolean",      "size-in-bytes", "hex",        "threat-actor",
    "campaign-name", "campaign-id", "malware-type", "mime-type",     "cortex",     "anonymised",
};

bool mispmap_lookup(const char *misp_type, struct mispmap_in *out)
{
    assert(misp_type != NULL && out != NULL);
    /* tlpmesh's own names are MISP's. suricata is ours only, but reading it back costs nothing
     * and keeps a tlpmesh CSV round trip whole. */
    const int t = proto_itype_parse(misp_type);
    if (t > 0) {
        *out = (struct mispmap_in){proto_itype_name(t), MISPMAP_SAME, {t, 0}};
        return true;
    }
    for (size_t i = 0; i < sizeof maps / sizeof maps[0]; i++) {
        if (strcmp(maps[i].name, misp_type) == 0) {
            *out = maps[i];
            return true;
        }
    }
    for (size_t i = 0; i < sizeof not_indicators / sizeof not_indicators[0]; i++) {
        if (strcmp(not_indicators[i], misp_type) == 0) {
            *out = (struct mispmap_in){not_indicators[i], MISPMAP_NOT_INDICATOR, {0, 0}};
            return true;
        }
    }
    return false;
}

const char *mispmap_type(int itype)
{
    return itype == PROTO_ITYPE_SURICATA ? "snort" : proto_itype_name(itype);
}

const char *mispmap_type_tag(int itype)
{
    return itype == PROTO_ITYPE_SURICATA ? MISPMAP_SURICATA_TAG : NULL;
}

const char *mispmap_tagged_type(const char *misp_type, bool type_tag)
{
    assert(misp_type != NULL);
    return type_tag && strcmp(misp_type, "snort") == 0 ? proto_itype_name(PROTO_ITYPE_SURICATA)
                                                       : misp_type;
}

const char *mispmap_category(int itype)
{
    switch (itype) {
    case PROTO_ITYPE_IP_SRC:
    case PROTO_ITYPE_IP_DST:
    case PROTO_ITYPE_DOMAIN:
    case PROTO_ITYPE_HOSTNAME:
    case PROTO_ITYPE_URL:
    case PROTO_ITYPE_EMAIL_DST:
    case PROTO_ITYPE_IP_DST_PORT:
    case PROTO_ITYPE_IP_SRC_PORT:
    case PROTO_ITYPE_HOSTNAME_PORT:
    case PROTO_ITYPE_AS:
    case PROTO_ITYPE_JA3:
    case PROTO_ITYPE_JARM:
    case PROTO_ITYPE_X509_SHA1:
    case PROTO_ITYPE_X509_SHA256:
    case PROTO_ITYPE_USER_AGENT:
    case PROTO_ITYPE_SNORT:
    case PROTO_ITYPE_SURICATA:
        return "Network activity";
    case PROTO_ITYPE_MUTEX:
        return "Artifacts dropped";
    case PROTO_ITYPE_REGKEY:
    case PROTO_ITYPE_REGKEY_VALUE:
        return "Persistence mechanism";
    case PROTO_ITYPE_VULNERABILITY:
        return "External analysis";
    case PROTO_ITYPE_BTC:
        return "Financial fraud";
    case PROTO_ITYPE_YARA:
    case PROTO_ITYPE_SIGMA:
        return "Payload installation";
    default:
        return proto_itype_name(itype) ? "Payload delivery" : NULL;
    }
}
