/* tlp.c - TLP 2.0 level names (see tlp.h). */
#include "proto/tlp.h"

#include <assert.h>
#include <stddef.h>
#include <strings.h>

static const char *const tlp_names[PROTO_TLP_COUNT] = {
    [PROTO_TLP_CLEAR] = "clear",
    [PROTO_TLP_GREEN] = "green",
    [PROTO_TLP_AMBER] = "amber",
    [PROTO_TLP_AMBER_STRICT] = "amber+strict",
    [PROTO_TLP_RED] = "red",
};

int proto_tlp_parse(const char *text)
{
    assert(text != NULL);
    if (strncasecmp(text, "tlp:", 4) == 0)
        text += 4;
    /* TLP 1.0 WHITE is TLP 2.0 CLEAR; operators still write it. */
    if (strcasecmp(text, "white") == 0)
        return PROTO_TLP_CLEAR;
    for (int i = 0; i < PROTO_TLP_COUNT; i++) {
        if (strcasecmp(text, tlp_names[i]) == 0)
            return i;
    }
    return -1;
}

const char *proto_tlp_name(int tlp)
{
    return proto_tlp_valid(tlp) ? tlp_names[tlp] : "?";
}
