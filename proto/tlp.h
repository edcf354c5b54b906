/* tlp.h - Traffic Light Protocol 2.0 levels (FIRST).
 *
 * Ordered from least to most sensitive so that "ceiling >= tlp" reads as "may go".
 * The numeric values are on the wire (record field "tlp"): never renumber.
 */
#ifndef TLPMESH_PROTO_TLP_H
#define TLPMESH_PROTO_TLP_H

#include <stdbool.h>

enum proto_tlp {
    PROTO_TLP_CLEAR = 0,
    PROTO_TLP_GREEN = 1,
    PROTO_TLP_AMBER = 2,
    PROTO_TLP_AMBER_STRICT = 3,
    PROTO_TLP_RED = 4,
};
#define PROTO_TLP_COUNT 5

/* Parses "clear", "green", "amber", "amber+strict", "red" (case-insensitive; an optional "tlp:"
 * prefix; TLP 1.0 "white" as clear). Returns the level, or -1 when the text is none of these. */
int proto_tlp_parse(const char *text);

/* Lower-case TLP 2.0 name ("amber+strict"); "?" for an out-of-range value. Static storage. */
const char *proto_tlp_name(int tlp);

static inline bool proto_tlp_valid(int tlp)
{
    return tlp >= PROTO_TLP_CLEAR && tlp <= PROTO_TLP_RED;
}

#endif
