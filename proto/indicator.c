/* indicator.c - MISP indicator types: validation and normal forms (see indicator.h).
 *
 * A value is signed in its normal form, so that one indicator has one byte string and one store
 * index key. Each type's rules are in docs/PROTOCOL.md ("Indicator values").
 */
#include "proto/indicator.h"

#include <arpa/inet.h>
#include <assert.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "proto/indicator_int.h"
#include "proto/limits.h"
#include "proto/record.h"

enum {
    DNS_LABEL_MAX = 63,      /* RFC 1035 */
    DNS_NAME_MAX = 253,      /* RFC 1035, without the trailing dot */
    EMAIL_LOCAL_MAX = 64,    /* RFC 5321 */
    FILENAME_MAX_BYTES = 255, /* NAME_MAX of common file systems */
    SCHEME_MAX = 16,         /* longest scheme we allow is "ldaps"; bounds the scan */
    IP_TEXT_MAX = 64,        /* longer than any IPv4/IPv6 text form (INET6_ADDRSTRLEN is 46) */
    QUOTE_MAX = 96,          /* bytes of a value quoted in an error message */
};

void ind_sb_put(struct sbuf *sb, const char *s, size_t n)
{
    assert(sb->cap > 0);
    if (sb->over || n >= sb->cap - sb->len) {
        sb->over = true;
        return;
    }
    memcpy(sb->p + sb->len, s, n);
    sb->len += n;
    sb->p[sb->len] = '\0';
}

void ind_sb_put_lower(struct sbuf *sb, const char *s, size_t n)
{
    size_t start = sb->len;
    ind_sb_put(sb, s, n);
    for (size_t i = start; !sb->over && i < sb->len; i++) {
        if (sb->p[i] >= 'A' && sb->p[i] <= 'Z')
            sb->p[i] = (char)(sb->p[i] - 'A' + 'a');
    }
}

/* --- text rules --- */

/* Length (1 to 4) of the UTF-8 sequence a lead byte announces; 0 for a byte that cannot start
 * one. */
static size_t utf8_seq_len(unsigned char lead)
{
    if (lead < 0x80)
        return 1;
    if (lead >= 0xc2 && lead <= 0xdf)
        return 2;
    if (lead >= 0xe0 && lead <= 0xef)
        return 3;
    if (lead >= 0xf0 && lead <= 0xf4)
        return 4;
    return 0; /* continuation byte, 0xc0/0xc1 overlong lead, or > U+10FFFF lead */
}

size_t proto_utf8_char(const char *str, size_t len)
{
    const unsigned char *s = (const unsigned char *)str;
    if (len == 0 || s[0] == 0)
        return 0;
    const size_t n = utf8_seq_len(s[0]);
    if (n == 0 || n > len)
        return 0; /* bad lead byte or truncated sequence */
    /* Payload bits of the lead byte, and the smallest code point n bytes may carry (a smaller
     * one is an overlong form). */
    static const unsigned lead_mask[] = {0, 0x7f, 0x1f, 0x0f, 0x07};
    static const uint32_t min_cp[] = {0, 0, 0x80, 0x800, 0x10000};
    uint32_t cp = s[0] & lead_mask[n];
    for (size_t k = 1; k < n; k++) {
        if ((s[k] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[k] & 0x3f);
    }
    if (cp < min_cp[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

bool proto_utf8_valid(const char *str, size_t len)
{
    size_t i = 0;
    /* Each pass consumes at least one byte or returns: len passes bound the loop. */
    while (i < len) {
        const size_t n = proto_utf8_char(str + i, len - i);
        if (n == 0)
            return false;
        i += n;
    }
    return true;
}

bool proto_text_has_control(const char *str, size_t len, bool allow_tab_newline)
{
    const unsigned char *s = (const unsigned char *)str;
    for (size_t i = 0; i < len; i++) {
        if (allow_tab_newline && (s[i] == '\t' || s[i] == '\n'))
            continue;
        if (s[i] < 0x20 || s[i] == 0x7f)
            return true;
        /* C1 controls U+0080..U+009F are 0xc2 0x80..0x9f in UTF-8. */
        if (s[i] == 0xc2 && i + 1 < len && s[i + 1] >= 0x80 && s[i + 1] <= 0x9f)
            return true;
    }
    return false;
}

/* --- messages --- */

/* Copies v into dst for a one-line message: control bytes (and, if v is not UTF-8, high bytes)
 * escaped as \xNN, long values cut with "...", so that no message can forge a log line. */
static void quote_value(char *dst, size_t cap, const char *v)
{
    assert(cap >= QUOTE_MAX + 8);
    size_t vlen = strnlen(v, LIMIT_VALUE_BYTES + 1);
    bool utf8 = proto_utf8_valid(v, vlen);
    size_t o = 0;
    for (size_t i = 0; i < vlen; i++) {
        unsigned char c = (unsigned char)v[i];
        if (o >= QUOTE_MAX && !(utf8 && (c & 0xc0) == 0x80)) {
            memcpy(dst + o, "...", 3);
            o += 3;
            break;
        }
        if (c < 0x20 || c == 0x7f || c == '\\' || (c >= 0x80 && !utf8)) {
            o += (size_t)snprintf(dst + o, cap - o, "\\x%02x", c);
        } else {
            dst[o++] = (char)c;
        }
    }
    dst[o] = '\0';
}

int ind_fail(int err, char *why, size_t why_len, int itype,
                                                      const char *value, const char *fmt, ...)
{
    if (why == NULL || why_len == 0)
        return err;
    char q[QUOTE_MAX * 4 + 8];
    quote_value(q, sizeof q, value);
    const char *name = proto_itype_name(itype);
    int n = snprintf(why, why_len, "%s: '%s' ", name ? name : "?", q);
    if (n >= 0 && (size_t)n < why_len) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why + n, why_len - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return err;
}

/* --- IP addresses --- */

/* Dotted quad, four decimal octets; a leading zero is refused because inet_aton() and many tools
 * read "010" as octal 8: the same text would mean two addresses. */
static enum ip_parse parse_ipv4(const char *s, size_t len, uint8_t out[4])
{
    size_t i = 0;
    for (int octet = 0; octet < 4; octet++) {
        if (octet > 0) {
            if (i >= len || s[i] != '.')
                return IP_BAD;
            i++;
        }
        size_t start = i;
        unsigned v = 0;
        while (i < len && i - start < 4 && s[i] >= '0' && s[i] <= '9')
            v = v * 10 + (unsigned)(s[i++] - '0');
        size_t digits = i - start;
        if (digits == 0 || digits > 3 || v > 255)
            return IP_BAD;
        if (digits > 1 && s[start] == '0')
            return IP_LEADING_ZERO;
        out[octet] = (uint8_t)v;
    }
    return i == len ? IP_OK : IP_BAD;
}

/* An IPv4 or IPv6 address (no prefix). *bits is 32 or 128. */
enum ip_parse ind_parse_ip(const char *s, size_t len, uint8_t addr[16], unsigned *bits)
{
    if (memchr(s, ':', len) == NULL) {
        *bits = 32;
        return parse_ipv4(s, len, addr);
    }
    char tmp[IP_TEXT_MAX];
    if (len >= sizeof tmp)
        return IP_BAD;
    memcpy(tmp, s, len);
    tmp[len] = '\0';
    *bits = 128;
    return inet_pton(AF_INET6, tmp, addr) == 1 ? IP_OK : IP_BAD;
}

/* ::ffff:a.b.c.d is the IPv4 host a.b.c.d as a dual-stack socket reports it. Left as IPv6 text it
 * would be a second normal form of the same address: lookups, dedupe and warninglists keyed on
 * a.b.c.d would miss it. A prefix inside ::ffff:0:0/96 maps to the IPv4 prefix 96 bits shorter. */
bool ind_unmap_ipv4(uint8_t addr[16], unsigned *bits, unsigned *prefix)
{
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    enum { MAPPED_PREFIX = 96 };
    assert(*prefix <= *bits);
    if (*bits != 128 || *prefix < MAPPED_PREFIX || memcmp(addr, mapped, sizeof mapped) != 0)
        return false;
    memmove(addr, addr + sizeof mapped, 4);
    memset(addr + 4, 0, 16 - 4);
    *bits = 32;
    *prefix -= MAPPED_PREFIX;
    return true;
}

void ind_put_ip(struct sbuf *sb, const uint8_t addr[16], unsigned bits)
{
    char text[INET6_ADDRSTRLEN];
    const char *ok = inet_ntop(bits == 32 ? AF_INET : AF_INET6, addr, text, sizeof text);
    assert(ok != NULL);
    (void)ok;
    ind_sb_put(sb, text, strlen(text));
}

/* The normal form of a network: the address, and "/prefix" unless it is a single host. */
static void put_net(struct sbuf *sb, const uint8_t addr[16], unsigned bits, unsigned prefix)
{
    ind_put_ip(sb, addr, bits);
    if (prefix < bits) {
        char p[12];
        int n = snprintf(p, sizeof p, "/%u", prefix);
        ind_sb_put(sb, p, (size_t)n);
    }
}

/* Decimal prefix length 0..max without leading zeros; -1 if not one. */
static int parse_prefix(const char *s, size_t len, unsigned max)
{
    if (len == 0 || len > 3 || (len > 1 && s[0] == '0'))
        return -1;
    unsigned v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    return v <= max ? (int)v : -1;
}

/* Clears the host bits of addr beyond prefix; true if any was set. */
static bool clear_host_bits(uint8_t addr[16], unsigned bits, unsigned prefix)
{
    bool any = false;
    for (unsigned byte = 0; byte < bits / 8; byte++) {
        unsigned first = byte * 8; /* bit index of this byte's top bit */
        uint8_t keep = prefix >= first + 8 ? 0xff
                       : prefix <= first   ? 0x00
                                           : (uint8_t)(0xff << (8 - (prefix - first)));
        any = any || (addr[byte] & (uint8_t)~keep) != 0;
        addr[byte] &= keep;
    }
    return any;
}

int ind_parse_ip_value(int itype, const char *in, const char *s, size_t len, uint8_t addr[16],
                       unsigned *bits, const char *bad, char *why, size_t wl)
{
    switch (ind_parse_ip(s, len, addr, bits)) {
    case IP_OK: return PROTO_OK;
    case IP_LEADING_ZERO:
        return ind_fail(PROTO_E_VALUE, why, wl, itype, in,
                        "has an octet with a leading zero (octal or decimal? write it without)");
    case IP_BAD: break;
    }
    return ind_fail(PROTO_E_VALUE, why, wl, itype, in, "%s", bad);
}

static int norm_ip(int itype, const char *in, size_t len, struct sbuf *sb, char *why, size_t wl)
{
    const char *slash = memchr(in, '/', len);
    size_t alen = slash ? (size_t)(slash - in) : len;
    uint8_t addr[16] = {0};
    unsigned bits = 0;
    int rc = ind_parse_ip_value(itype, in, in, alen, addr, &bits,
                                "is not an IPv4 or IPv6 address", why, wl);
    if (rc != PROTO_OK)
        return rc;
    unsigned prefix = bits;
    if (slash != NULL) {
        int p = parse_prefix(slash + 1, len - alen - 1, bits);
        if (p < 0)
            return ind_fail(PROTO_E_VALUE, why, wl, itype, in,
                            "has a prefix length that is not 0..%u", bits);
        prefix = (unsigned)p;
    }
    if (clear_host_bits(addr, bits, prefix)) {
        char net[INET6_ADDRSTRLEN];
        inet_ntop(bits == 32 ? AF_INET : AF_INET6, addr, net, sizeof net);
        return ind_fail(PROTO_E_VALUE, why, wl, itype, in, "has host bits set; did you mean %s/%u?",
                    net, prefix);
    }
    (void)ind_unmap_ipv4(addr, &bits, &prefix);
    put_net(sb, addr, bits, prefix);
    return PROTO_OK;
}

int proto_ip_network(const char *ip, unsigned prefix, char *out, size_t cap)
{
    assert(ip != NULL && out != NULL && cap > 0);
    uint8_t addr[16] = {0};
    unsigned bits = 0;
    if (ind_parse_ip(ip, strlen(ip), addr, &bits) != IP_OK || prefix > bits)
        return PROTO_E_VALUE;
    unsigned ignored = bits;
    if (ind_unmap_ipv4(addr, &bits, &ignored)) /* as norm_ip: a mapped address is IPv4 */
        return PROTO_E_VALUE;
    (void)clear_host_bits(addr, bits, prefix);
    struct sbuf sb = {out, cap, 0, false};
    put_net(&sb, addr, bits, prefix);
    if (sb.over)
        return PROTO_E_NOSPACE;
    out[sb.len] = '\0';
    return (int)bits;
}

/* --- domain names --- */

static bool is_ldh(char c)
{
    return ind_is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-';
}

/* Checks s[0..len) as LDH labels (any case); NULL if fine, else why not. */
static const char *ind_check_dns_name(const char *s, size_t len, unsigned min_labels)
{
    if (len == 0)
        return "is empty";
    if (len > DNS_NAME_MAX)
        return "is longer than 253 characters";
    unsigned labels = 0;
    bool last_all_digits = false;
    for (size_t i = 0; i <= len; labels++) {
        size_t start = i;
        bool all_digits = true;
        for (; i < len && s[i] != '.'; i++) {
            if ((unsigned char)s[i] >= 0x80)
                return "has non-ASCII characters; write the name in punycode (xn--...)";
            if (!is_ldh(s[i]))
                return "has a character other than letters, digits, '-' and '.'";
            all_digits = all_digits && ind_is_digit(s[i]);
        }
        size_t llen = i - start;
        if (llen == 0)
            return "has an empty label";
        if (llen > DNS_LABEL_MAX)
            return "has a label longer than 63 characters";
        if (s[start] == '-' || s[i - 1] == '-')
            return "has a label that starts or ends with '-'";
        last_all_digits = all_digits;
        i++; /* past the dot, or past the end */
    }
    /* No top-level domain is numeric (RFC 3696 §2); such names are addresses in disguise. */
    if (last_all_digits)
        return "is an IP address, not a name; use type ip-src or ip-dst";
    if (labels < min_labels)
        return "needs at least two labels (like example.org)";
    return NULL;
}

/* Domain names drop one trailing dot (the root) and are written in lower case. */
int ind_norm_dns(int itype, const char *in, const char *s, size_t len, unsigned min_labels,
                    struct sbuf *sb, char *why, size_t wl)
{
    if (len > 0 && s[len - 1] == '.')
        len--;
    uint8_t addr[16];
    unsigned bits;
    if (ind_parse_ip(s, len, addr, &bits) == IP_OK)
        return ind_fail(PROTO_E_VALUE, why, wl, itype, in,
                    "is an IP address, not a name; use type ip-src or ip-dst");
    const char *bad = ind_check_dns_name(s, len, min_labels);
    if (bad != NULL)
        return ind_fail(PROTO_E_VALUE, why, wl, itype, in, "%s", bad);
    ind_sb_put_lower(sb, s, len);
    return PROTO_OK;
}

static int norm_domain(int itype, const char *in, size_t len, struct sbuf *sb, char *why,
                       size_t wl)
{
    return ind_norm_dns(itype, in, in, len, 2, sb, why, wl);
}

static int norm_hostname(int itype, const char *in, size_t len, struct sbuf *sb, char *why,
                         size_t wl)
{
    return ind_norm_dns(itype, in, in, len, 1, sb, why, wl);
}

/* --- URLs and e-mail addresses --- */

static bool has_space_or_control(const char *s, size_t len)
{
    return memchr(s, ' ', len) != NULL || proto_text_has_control(s, len, false);
}

/* Schemes that name a network location; "javascript:" or "data:" are not network indicators. */
static const char *const url_schemes[] = {
    "ftp",  "ftps", "gopher", "http", "https", "irc",    "ircs", "ldap", "ldaps",
    "rtsp", "sftp", "smb",    "ssh",  "telnet", "tftp", "ws",   "wss",
};

static bool scheme_syntax(const char *s, size_t len)
{
    if (len == 0 || len > SCHEME_MAX || !((s[0] | 0x20) >= 'a' && (s[0] | 0x20) <= 'z'))
        return false;
    for (size_t i = 1; i < len; i++) {
        if (!is_ldh(s[i]) && s[i] != '+' && s[i] != '.')
            return false;
    }
    return true;
}

static bool scheme_allowed(const char *s, size_t len)
{
    for (size_t i = 0; i < sizeof url_schemes / sizeof url_schemes[0]; i++) {
        if (strlen(url_schemes[i]) == len && strncasecmp(url_schemes[i], s, len) == 0)
            return true;
    }
    return false;
}

/* Port: 1..65535 in decimal, no leading zero. */
bool ind_port_valid(const char *s, size_t len)
{
    if (len == 0 || len > 5 || s[0] == '0')
        return false;
    unsigned v = 0;
    for (size_t i = 0; i < len; i++) {
        if (!ind_is_digit(s[i]))
            return false;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    return v <= 65535;
}

/* The host of a URL: [IPv6] (canonical text), dotted-quad IPv4, or an LDH name (lower case). */
static int norm_url_host(int itype, const char *in, const char *h, size_t len, struct sbuf *sb,
                         char *why, size_t wl)
{
    uint8_t addr[16];
    unsigned bits;
    if (len > 0 && h[0] == '[') {
        if (len < 2 || h[len - 1] != ']' || ind_parse_ip(h + 1, len - 2, addr, &bits) != IP_OK ||
            bits != 128)
            return ind_fail(PROTO_E_VALUE, why, wl, itype, in, "has a bad [IPv6] host");
        unsigned prefix = bits;
        if (ind_unmap_ipv4(addr, &bits, &prefix)) {
            ind_put_ip(sb, addr, bits); /* http://[::ffff:192.0.2.1]/ reaches http://192.0.2.1/ */
            return PROTO_OK;
        }
        ind_sb_put(sb, "[", 1);
        ind_put_ip(sb, addr, bits);
        ind_sb_put(sb, "]", 1);
        return PROTO_OK;
    }
    switch (parse_ipv4(h, len, addr)) {
    case IP_OK:
        ind_sb_put(sb, h, len);
        return PROTO_OK;
    case IP_LEADING_ZERO:
        return ind_fail(PROTO_E_VALUE, why, wl, itype, in,
                    "has an IPv4 host with a leading zero (octal or decimal? write it without)");
    case IP_BAD:
        break;
    }
    const char *bad = ind_check_dns_name(h, len, 1);
    if (bad != NULL)
        return ind_fail(PROTO_E_VALUE, why, wl, itype, in, "has a host that %s", bad);
    ind_sb_put_lower(sb, h, len);
    return PROTO_OK;
}

/* scheme://[userinfo@]host[:port][/path][?query][#fragment]: scheme and host are lower-cased,
 * an IPv6 host is written canonically, everything else is kept byte for byte. */
static int norm_url(int itype, const char *in, size_t len, struct sbuf *sb, char *why, size_t wl)
{
    if (has_space_or_control(in, len))
        return ind_fail(PROTO_E_VALUE, why, wl, itype, in, "contains a space or control character");
    const char *sep = strstr(in, "://");
    size_t slen = sep ? (size_t)(sep - in) : 0;
    if (sep == NULL || !scheme_syntax(in, slen))
        return ind_fail(PROTO_E_VALUE, why, wl, itype, in, "has no scheme (like http://)");
    if (!scheme_allowed(in, slen))
        return ind_fail(PROTO_E_VALUE, why, wl, itype, in,
                    "has a scheme that is not one of ftp, ftps, gopher, http, https, irc, ircs, "
                    "ldap, ldaps, rtsp, sftp, smb, ssh, telnet, tftp, ws, wss");
    const char *auth = sep + 3;
    size_t alen = strcspn(auth, "/?#");
    /* Browsers read a backslash as '/' in http(s) URLs, so "http://evil.example<backslash>@good.
     * example/" goes to evil.example while RFC 3986 (and this parser) would name good.example: two
     * hosts for one value. Refuse the ambiguity. */
    if (memchr(auth, '\\', alen) != NULL)
        return ind_fail(PROTO_E_VALUE, why, wl, itype, in,
                    "has a backslash before the path (browsers read it as '/')");
    const char *at = NULL; /* the last '@' of the authority ends the userinfo */
    for (size_t i = 0; i < alen; i++)
        at = auth[i] == '@' ? auth + i : at;
    const char *host = at ? at + 1 : auth;
    size_t hplen = alen - (size_t)(host - auth); /* host and port */
    /* The port starts at the last ':' after any "]" (IPv6 hosts contain ':'). */
    const char *close = memchr(host, ']', hplen);
    const char *after = hplen > 0 && host[0] == '[' ? (close ? close + 1 : host + hplen) : host;
    const char *colon = memchr(after, ':', hplen - (size_t)(after - host));
    size_t hlen = colon ? (size_t)(colon - host) : hplen;
    if (hlen == 0)
        return ind_fail(PROTO_E_VALUE, why, wl, itype, in, "has no host");
    if (colon != NULL && !ind_port_valid(colon + 1, hplen - hlen - 1))
        return ind_fail(PROTO_E_VALUE, why, wl, itype, in, "has a port that is not 1..65535");

    ind_sb_put_lower(sb, in, slen + 3);
    ind_sb_put(sb, auth, (size_t)(host - auth));
    int rc = norm_url_host(itype, in, host, hlen, sb, why, wl);
    if (rc != PROTO_OK)
        return rc;
    ind_sb_put(sb, host + hlen, len - (size_t)(host + hlen - in));
    return PROTO_OK;
}

/* local@domain: the local part is kept (it may be case-sensitive), the domain normalised. */
static int norm_email(int itype, const char *in, size_t len, struct sbuf *sb, char *why,
                      size_t wl)
{
    if (has_space_or_control(in, len))
        return ind_fail(PROTO_E_VALUE, why, wl, itype, in, "contains a space or control character");
    const char *at = strchr(in, '@');
    if (at == NULL || strchr(at + 1, '@') != NULL)
        return ind_fail(PROTO_E_VALUE, why, wl, itype, in, "is not local@domain with one '@'");
    size_t llen = (size_t)(at - in);
    if (llen == 0 || llen > EMAIL_LOCAL_MAX)
        return ind_fail(PROTO_E_VALUE, why, wl, itype, in,
                        "has a local part that is not 1..64 bytes");
    ind_sb_put(sb, in, llen + 1);
    return ind_norm_dns(itype, in, at + 1, len - llen - 1, 2, sb, why, wl);
}

/* --- hashes and file names --- */

int ind_norm_hex(int itype, const char *in, size_t len, size_t want, struct sbuf *sb, char *why,
                    size_t wl)
{
    if (len != want)
        return ind_fail(PROTO_E_VALUE, why, wl, itype, in, "is %zu characters, not %zu hex digits",
                    len, want);
    for (size_t i = 0; i < len; i++) {
        char c = in[i];
        if (!ind_is_digit(c) && !(c >= 'a' && c <= 'f') && !(c >= 'A' && c <= 'F'))
            return ind_fail(PROTO_E_VALUE, why, wl, itype, in, "has a character that is not hex");
    }
    ind_sb_put_lower(sb, in, len);
    return PROTO_OK;
}

static int norm_md5(int itype, const char *in, size_t len, struct sbuf *sb, char *why, size_t wl)
{
    return ind_norm_hex(itype, in, len, 32, sb, why, wl);
}

static int norm_sha1(int itype, const char *in, size_t len, struct sbuf *sb, char *why, size_t wl)
{
    return ind_norm_hex(itype, in, len, 40, sb, why, wl);
}

static int norm_sha256(int itype, const char *in, size_t len, struct sbuf *sb, char *why,
                       size_t wl)
{
    return ind_norm_hex(itype, in, len, 64, sb, why, wl);
}

static int norm_sha512(int itype, const char *in, size_t len, struct sbuf *sb, char *why,
                       size_t wl)
{
    return ind_norm_hex(itype, in, len, 128, sb, why, wl);
}

static int norm_filename(int itype, const char *in, size_t len, struct sbuf *sb, char *why,
                         size_t wl)
{
    if (len > FILENAME_MAX_BYTES)
        return ind_fail(PROTO_E_VALUE, why, wl, itype, in, "is longer than 255 bytes");
    if (proto_text_has_control(in, len, false))
        return ind_fail(PROTO_E_VALUE, why, wl, itype, in, "contains a control character");
    ind_sb_put(sb, in, len);
    return PROTO_OK;
}

/* --- the type table --- */

static const struct itype_info {
    const char *name;
    ind_normaliser norm;
    bool rule; /* detection content: LIMIT_RULE_BYTES, several lines, byte for byte */
} itypes[PROTO_ITYPE_END] = {
    [PROTO_ITYPE_IP_SRC] = {"ip-src", norm_ip, false},
    [PROTO_ITYPE_IP_DST] = {"ip-dst", norm_ip, false},
    [PROTO_ITYPE_DOMAIN] = {"domain", norm_domain, false},
    [PROTO_ITYPE_HOSTNAME] = {"hostname", norm_hostname, false},
    [PROTO_ITYPE_URL] = {"url", norm_url, false},
    [PROTO_ITYPE_EMAIL_SRC] = {"email-src", norm_email, false},
    [PROTO_ITYPE_EMAIL_DST] = {"email-dst", norm_email, false},
    [PROTO_ITYPE_MD5] = {"md5", norm_md5, false},
    [PROTO_ITYPE_SHA1] = {"sha1", norm_sha1, false},
    [PROTO_ITYPE_SHA256] = {"sha256", norm_sha256, false},
    [PROTO_ITYPE_SHA512] = {"sha512", norm_sha512, false},
    [PROTO_ITYPE_FILENAME] = {"filename", norm_filename, false},
    [PROTO_ITYPE_IP_DST_PORT] = {"ip-dst|port", ind_norm_ip_port, false},
    [PROTO_ITYPE_IP_SRC_PORT] = {"ip-src|port", ind_norm_ip_port, false},
    [PROTO_ITYPE_HOSTNAME_PORT] = {"hostname|port", ind_norm_host_port, false},
    [PROTO_ITYPE_AS] = {"AS", ind_norm_as, false},
    [PROTO_ITYPE_SSDEEP] = {"ssdeep", ind_norm_ssdeep, false},
    [PROTO_ITYPE_TLSH] = {"tlsh", ind_norm_tlsh, false},
    [PROTO_ITYPE_IMPHASH] = {"imphash", ind_norm_md5_like, false},
    [PROTO_ITYPE_JA3] = {"ja3-fingerprint-md5", ind_norm_md5_like, false},
    [PROTO_ITYPE_JARM] = {"jarm-fingerprint", ind_norm_jarm, false},
    [PROTO_ITYPE_X509_SHA1] = {"x509-fingerprint-sha1", ind_norm_cert_sha1, false},
    [PROTO_ITYPE_X509_SHA256] = {"x509-fingerprint-sha256", ind_norm_cert_sha256, false},
    [PROTO_ITYPE_MUTEX] = {"mutex", ind_norm_line, false},
    [PROTO_ITYPE_REGKEY] = {"regkey", ind_norm_regkey, false},
    [PROTO_ITYPE_REGKEY_VALUE] = {"regkey|value", ind_norm_regkey_value, false},
    [PROTO_ITYPE_USER_AGENT] = {"user-agent", ind_norm_line, false},
    [PROTO_ITYPE_EMAIL_SUBJECT] = {"email-subject", ind_norm_line, false},
    [PROTO_ITYPE_VULNERABILITY] = {"vulnerability", ind_norm_cve, false},
    [PROTO_ITYPE_BTC] = {"btc", ind_norm_btc, false},
    [PROTO_ITYPE_YARA] = {"yara", ind_norm_yara, true},
    [PROTO_ITYPE_SIGMA] = {"sigma", ind_norm_sigma, true},
    [PROTO_ITYPE_SNORT] = {"snort", ind_norm_ids_rule, true},
    [PROTO_ITYPE_SURICATA] = {"suricata", ind_norm_ids_rule, true},
};

bool proto_itype_is_rule(int itype)
{
    return proto_itype_name(itype) != NULL && itypes[itype].rule;
}

size_t proto_itype_max_bytes(int itype)
{
    return proto_itype_is_rule(itype) ? LIMIT_RULE_BYTES : LIMIT_VALUE_PLAIN_BYTES;
}

int proto_itype_parse(const char *name)
{
    assert(name != NULL);
    for (int t = PROTO_ITYPE_IP_SRC; t < PROTO_ITYPE_END; t++) {
        if (strcmp(itypes[t].name, name) == 0)
            return t;
    }
    return -1;
}

const char *proto_itype_name(int itype)
{
    return itype >= PROTO_ITYPE_IP_SRC && itype < PROTO_ITYPE_END ? itypes[itype].name : NULL;
}

int proto_indicator_normalise(int itype, const char *in, char *out, size_t cap, char *why,
                              size_t why_len)
{
    assert(in != NULL && out != NULL && cap > 0);
    out[0] = '\0';
    if (why != NULL && why_len > 0)
        why[0] = '\0';
    if (proto_itype_name(itype) == NULL) {
        if (why != NULL && why_len > 0)
            snprintf(why, why_len, "unknown indicator type code %d", itype);
        return PROTO_E_VALUE;
    }
    const size_t max = proto_itype_max_bytes(itype);
    size_t len = strnlen(in, max + 1);
    if (len > max)
        return ind_fail(PROTO_E_TOOBIG, why, why_len, itype, in, "is longer than %zu bytes", max);
    if (len == 0)
        return ind_fail(PROTO_E_VALUE, why, why_len, itype, in, "is empty");
    if (!proto_utf8_valid(in, len))
        return ind_fail(PROTO_E_VALUE, why, why_len, itype, in, "is not valid UTF-8");

    /* The normal form may be a little longer than the input (IPv6 text); the limit applies to it.
     * */
    struct sbuf sb = {.p = out, .cap = cap < max + 1 ? cap : max + 1};
    int rc = itypes[itype].norm(itype, in, len, &sb, why, why_len);
    if (rc == PROTO_OK && sb.over) {
        rc = cap <= max ? PROTO_E_NOSPACE
                        : ind_fail(PROTO_E_TOOBIG, why, why_len, itype, in,
                                   "has a normal form longer than %zu bytes", max);
    }
    if (rc != PROTO_OK)
        out[0] = '\0';
    return rc;
}
