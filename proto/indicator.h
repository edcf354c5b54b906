/* indicator.h - indicator types (MISP attribute type names) and their normalisation.
 *
 * Each type has a stable small code (enum proto_itype) used in memory and in store index keys,
 * and its MISP name used on the wire. Values are normalised before they are signed, so that the
 * same indicator always has the same bytes: canonical IP/CIDR text, lower-case domains and hex...
 * No I/O. No allocation.
 */
#ifndef TLPMESH_PROTO_INDICATOR_H
#define TLPMESH_PROTO_INDICATOR_H

#include <stdbool.h>
#include <stddef.h>

/* Stable codes: append only, never renumber (store index keys use them). */
enum proto_itype {
    PROTO_ITYPE_IP_SRC = 1,
    PROTO_ITYPE_IP_DST,
    PROTO_ITYPE_DOMAIN,
    PROTO_ITYPE_HOSTNAME,
    PROTO_ITYPE_URL,
    PROTO_ITYPE_EMAIL_SRC,
    PROTO_ITYPE_EMAIL_DST,
    PROTO_ITYPE_MD5,
    PROTO_ITYPE_SHA1,
    PROTO_ITYPE_SHA256,
    PROTO_ITYPE_SHA512,
    PROTO_ITYPE_FILENAME,
    /* issue 16: the types real MISP events carry (docs/PROTOCOL.md "Indicator values") */
    PROTO_ITYPE_IP_DST_PORT,   /* 13 ip-dst|port */
    PROTO_ITYPE_IP_SRC_PORT,   /* 14 ip-src|port */
    PROTO_ITYPE_HOSTNAME_PORT, /* 15 hostname|port */
    PROTO_ITYPE_AS,            /* 16 AS */
    PROTO_ITYPE_SSDEEP,        /* 17 ssdeep */
    PROTO_ITYPE_TLSH,          /* 18 tlsh */
    PROTO_ITYPE_IMPHASH,       /* 19 imphash */
    PROTO_ITYPE_JA3,           /* 20 ja3-fingerprint-md5 */
    PROTO_ITYPE_JARM,          /* 21 jarm-fingerprint */
    PROTO_ITYPE_X509_SHA1,     /* 22 x509-fingerprint-sha1 */
    PROTO_ITYPE_X509_SHA256,   /* 23 x509-fingerprint-sha256 */
    PROTO_ITYPE_MUTEX,         /* 24 mutex */
    PROTO_ITYPE_REGKEY,        /* 25 regkey */
    PROTO_ITYPE_REGKEY_VALUE,  /* 26 regkey|value */
    PROTO_ITYPE_USER_AGENT,    /* 27 user-agent */
    PROTO_ITYPE_EMAIL_SUBJECT, /* 28 email-subject */
    PROTO_ITYPE_VULNERABILITY, /* 29 vulnerability (CVE id) */
    PROTO_ITYPE_BTC,           /* 30 btc */
    PROTO_ITYPE_YARA,          /* 31 yara (rule text) */
    PROTO_ITYPE_SIGMA,         /* 32 sigma (rule text) */
    PROTO_ITYPE_SNORT,         /* 33 snort (rule text) */
    PROTO_ITYPE_SURICATA,      /* 34 suricata (rule text; not a MISP type: MISP files these as
                                  snort) */
    PROTO_ITYPE_END /* one past the last code */
};

/* The first protocol version's types are the codes below PROTO_ITYPE_V1_END; a node of that
 * version refuses a record of any later type as malformed and closes the session. A node that
 * decodes every type of this header says so in its HELLO (PROTO_CAP_ITYPES_2, node/core/node.c),
 * and records of later types go only to peers that said it (node/core/gate.h). */
#define PROTO_ITYPE_V1_END 13
#define PROTO_CAP_ITYPES_2 0x1u /* HELLO capability bit: decodes types up to PROTO_ITYPE_END - 1 */

/* Code for a MISP type name ("ip-dst", "AS"), or -1 if unknown. Exact match: one name per type. */
int proto_itype_parse(const char *name);

/* MISP type name for a code; NULL for an unknown code. Static storage. */
const char *proto_itype_name(int itype);

/* Detection content (yara, sigma, snort, suricata): up to LIMIT_RULE_BYTES, tab, CR and LF
 * allowed, kept byte for byte. Other types: up to LIMIT_VALUE_PLAIN_BYTES, one line. */
bool proto_itype_is_rule(int itype);

/* The longest value of itype in bytes (LIMIT_RULE_BYTES or LIMIT_VALUE_PLAIN_BYTES). */
size_t proto_itype_max_bytes(int itype);

/* Validates `in` as a value of `itype` and writes its normal form to out[0..cap) (NUL-terminated).
 * Returns 0, or PROTO_E_VALUE / PROTO_E_TOOBIG (see record.h) with a one-line reason in why that
 * names the type and the value, e.g. "ip-dst: '10.0.0.300' is not an IPv4 or IPv6 address".
 * PROTO_E_NOSPACE if the normal form does not fit in cap (LIMIT_VALUE_BYTES + 1 always fits). */
int proto_indicator_normalise(int itype, const char *in, char *out, size_t cap, char *why,
                              size_t why_len);

/* The normal form (as proto_indicator_normalise writes it) of the network of prefix bits that
 * contains the address ip (an ip-src/ip-dst normal form without a prefix): "198.51.100.0/24",
 * "2001:db8::/32", or ip itself when prefix is its full length. Returns the address length in
 * bits (32 or 128), PROTO_E_VALUE if ip is not such an address or prefix is longer, or
 * PROTO_E_NOSPACE if cap is too small (LIMIT_VALUE_BYTES + 1 always fits). `query` walks the
 * prefixes of an address this way to find the stored ranges that contain it. */
int proto_ip_network(const char *ip, unsigned prefix, char *out, size_t cap);

/* Text rules shared by every string of the proto module (records and indicator values). */

/* Length (1 to 4) of the one valid UTF-8 character at the start of s[0..len), 0 when there is
 * none there: a NUL, a bad lead byte, a truncated sequence, an overlong form, a surrogate or a
 * code point above U+10FFFF. */
size_t proto_utf8_char(const char *s, size_t len);

/* True when s[0..len) is strict UTF-8 (shortest forms only, no surrogates, nothing above U+10FFFF)
 * and holds no NUL byte (records carry strings as C strings). */
bool proto_utf8_valid(const char *s, size_t len);

/* True when valid UTF-8 text s[0..len) holds a control character (C0, DEL or C1); with
 * allow_tab_newline, tab and newline are not counted (free-text comments). */
bool proto_text_has_control(const char *s, size_t len, bool allow_tab_newline);

#endif
