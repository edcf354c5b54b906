/* stixmap.c - STIX 2.1 TLP markings (see stixmap.h; patterns: stixmap_pattern.c). */
#include "node/formats/stixmap.h"

#include <assert.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "proto/indicator.h"
#include "proto/tlp.h"

#define TLP2_EXTENSION_ID "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"
#define TLP2_CREATED "2022-10-01T00:00:00.000Z"
#define TLP1_CREATED "2017-01-20T00:00:00.000Z"

const char *stixmap_strerror(int err)
{
    switch (err) {
    case STIXMAP_OK: return "ok";
    STIXMAP_ERRORS(ERRORS_CASE)
    default: return "unknown stixmap error";
    }
}

/* --- TLP markings --- */

static const char *const tlp2_ids[PROTO_TLP_COUNT] = {
    [PROTO_TLP_CLEAR] = "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
    [PROTO_TLP_GREEN] = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    [PROTO_TLP_AMBER] = "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
    [PROTO_TLP_AMBER_STRICT] = "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
    [PROTO_TLP_RED] = "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
};

/* TLP 1.0 has no AMBER+STRICT: OpenCTI's id stands in for it, as OpenCTI and pycti emit it. */
static const char *const tlp1_ids[PROTO_TLP_COUNT] = {
    [PROTO_TLP_CLEAR] = "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9",
    [PROTO_TLP_GREEN] = "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da",
    [PROTO_TLP_AMBER] = "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82",
    [PROTO_TLP_AMBER_STRICT] = "marking-definition--826578e1-40ad-459f-bc73-ede076f81f37",
    [PROTO_TLP_RED] = "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed",
};

/* Upper-case names as STIX and OpenCTI write them; TLP 1.0 calls CLEAR "WHITE". */
static const char *const tlp2_names[PROTO_TLP_COUNT] = {
    "TLP:CLEAR", "TLP:GREEN", "TLP:AMBER", "TLP:AMBER+STRICT", "TLP:RED",
};
static const char *const tlp1_colours[PROTO_TLP_COUNT] = {
    "white", "green", "amber", "amber+strict", "red",
};

int stixmap_tlp_from_marking_id(const char *id)
{
    assert(id != NULL);
    for (int t = 0; t < PROTO_TLP_COUNT; t++) {
        if (strcmp(id, tlp2_ids[t]) == 0 || strcmp(id, tlp1_ids[t]) == 0)
            return t;
    }
    return -1;
}

int stixmap_tlp_from_name(const char *name)
{
    assert(name != NULL);
    return proto_tlp_parse(name);
}

static const char *str_at(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

int stixmap_tlp_from_marking_object(const json_t *obj)
{
    if (!json_is_object(obj))
        return -1;
    const char *id = str_at(obj, "id");
    if (id && stixmap_tlp_from_marking_id(id) >= 0)
        return stixmap_tlp_from_marking_id(id);
    const json_t *ext = json_object_get(json_object_get(obj, "extensions"), TLP2_EXTENSION_ID);
    const char *v = str_at(ext, "tlp_2_0");
    if (v)
        return stixmap_tlp_from_name(v);
    const char *dtype = str_at(obj, "definition_type");
    if (dtype && strcasecmp(dtype, "tlp") == 0) {
        v = str_at(json_object_get(obj, "definition"), "tlp");
        return v ? stixmap_tlp_from_name(v) : -1;
    }
    const char *xtype = str_at(obj, "x_opencti_definition_type");
    v = str_at(obj, "x_opencti_definition");
    if (xtype && strcasecmp(xtype, "TLP") == 0 && v)
        return stixmap_tlp_from_name(v);
    /* OpenCTI's last resort: a name like "TLP:AMBER". */
    v = str_at(obj, "name");
    return v && strncasecmp(v, "tlp:", 4) == 0 ? stixmap_tlp_from_name(v) : -1;
}

const char *stixmap_marking_id(int tlp, enum stixmap_tlp_version v)
{
    if (!proto_tlp_valid(tlp))
        return NULL;
    return v == STIXMAP_TLP1 ? tlp1_ids[tlp] : tlp2_ids[tlp];
}

static json_t *tlp2_object(int tlp)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:{s:{s:s, s:s}}}", "type", "marking-definition",
                     "spec_version", "2.1", "id", tlp2_ids[tlp], "created", TLP2_CREATED, "name",
                     tlp2_names[tlp], "extensions", TLP2_EXTENSION_ID, "extension_type",
                     "property-extension", "tlp_2_0", proto_tlp_name(tlp));
}

/* TLP 1.0 objects are fixed by the STIX 2.1 spec; AMBER+STRICT is built as OpenCTI's connectors
 * build it (a statement carrying x_opencti_definition), the only form OpenCTI resolves for it. */
static json_t *tlp1_object(int tlp)
{
    if (tlp == PROTO_TLP_AMBER_STRICT)
        return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:{s:s}, s:s, s:s}", "type",
                         "marking-definition", "spec_version", "2.1", "id", tlp1_ids[tlp],
                         "created", TLP2_CREATED, "name", tlp2_names[tlp], "definition_type",
                         "statement", "definition", "statement", "TLP:AMBER+STRICT",
                         "x_opencti_definition_type", "TLP", "x_opencti_definition",
                         tlp2_names[tlp]);
    char name[32];
    snprintf(name, sizeof name, "TLP:%s", tlp == PROTO_TLP_CLEAR ? "WHITE" : tlp2_names[tlp] + 4);
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:{s:s}}", "type", "marking-definition",
                     "spec_version", "2.1", "id", tlp1_ids[tlp], "created", TLP1_CREATED,
                     "definition_type", "tlp", "name", name, "definition", "tlp",
                     tlp1_colours[tlp]);
}

json_t *stixmap_marking_object(int tlp, enum stixmap_tlp_version v)
{
    if (!proto_tlp_valid(tlp))
        return NULL;
    return v == STIXMAP_TLP1 ? tlp1_object(tlp) : tlp2_object(tlp);
}
