/* mispmap.h - MISP attribute types and tlpmesh indicator types, both ways.
 *
 * Shared by import (MISP events, feeds, MISP-typed CSV), export (MISP feed events, MISP CSV) and
 * whatever else speaks MISP (a feed served over HTTP), so that every path maps a type the same
 * way. Source: MISP's describeTypes (types, sane_defaults' default_category).
 *
 * In, MISP type -> candidates (one attribute may give two):
 *   every tlpmesh type name (proto/indicator.h: ip-src ... btc, yara, sigma, snort; "ip-dst|port",
 *   "hostname|port" and "regkey|value" are kept whole)  -> the same type;
 *   email                      -> email-src (an address without direction is blocked as sender);
 *   uri                        -> url when absolute ("scheme://"), else skipped;
 *   domain|ip                  -> a domain and an ip-dst;
 *   filename|md5 (sha1, sha256, sha512, ssdeep, tlsh, imphash), malware-sample
 *                              -> a filename and the hash;
 *   comment, text, link, other, attachment and the other types that describe rather than detect
 *                              -> not an indicator (MISPMAP_NOT_INDICATOR);
 *   anything else              -> false: a type tlpmesh does not carry.
 * Out, indicator type -> MISP type: the same name, but suricata -> "snort" (MISP has one type for
 * both rule languages) with the attribute tag MISPMAP_SURICATA_TAG, which the importer reads back
 * (a "snort" attribute so tagged is a suricata rule; the tag marks the type, it is no record
 * tag); and MISP's default category of that type.
 *
 * Static tables; no I/O, no allocation.
 */
#ifndef TLPMESH_NODE_MISPMAP_H
#define TLPMESH_NODE_MISPMAP_H

#include <stdbool.h>

enum mispmap_mode {
    MISPMAP_SAME,          /* one value of types[0] */
    MISPMAP_SPLIT,         /* "a|b": a of types[0], b of types[1] (at the last '|') */
    MISPMAP_URI,           /* types[0] (url) when absolute */
    MISPMAP_NOT_INDICATOR, /* describes an event (a comment, a link...): nothing to detect */
};

struct mispmap_in {
    const char *name; /* the MISP type */
    enum mispmap_mode mode;
    int types[2]; /* enum proto_itype */
};

/* How a MISP attribute of type misp_type is read, into *out; false for a type tlpmesh does not
 * carry. */
bool mispmap_lookup(const char *misp_type, struct mispmap_in *out);

/* The MISP type an indicator of itype is written as; NULL for an unknown code. Static storage. */
const char *mispmap_type(int itype);

/* The attribute tag that keeps a suricata rule apart from a snort one (MISP taxonomies have no
 * rule language). */
#define MISPMAP_SURICATA_TAG "tlpmesh:rule=\"suricata\""

/* The tag an attribute of itype needs beside its MISP type to be read back as itype, or NULL. */
const char *mispmap_type_tag(int itype);

/* The type to look up for an attribute of misp_type that carries tag type_tag (true) or not:
 * "suricata" for a tagged "snort", else misp_type. */
const char *mispmap_tagged_type(const char *misp_type, bool type_tag);

/* MISP's default category of that type ("Network activity", ...); NULL for an unknown code. */
const char *mispmap_category(int itype);

#endif
