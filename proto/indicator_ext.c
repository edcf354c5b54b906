/* indicator_ext.c - the indicator types real MISP events carry beyond addresses, names, URLs and
 * file hashes (issue 16): validation and normal forms (indicator.h, indicator_int.h). Each type's
 * rules are in docs/PROTOCOL.md ("Indicator values").
 */
#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "proto/indicator.h"
#include "proto/indicator_int.h"
#include "proto/record.h"

enum {
    SSDEEP_PART_MAX = 64, /* SPAMSUM_LENGTH: the longest part ssdeep writes */
    CVE_DIGITS_MAX = 12,  /* CVE sequence numbers have 4 to 7 digits today */
    BTC_B58_BYTES = 25,   /* version, 20-byte hash, 4-byte checksum */
    BECH32_MAX = 90,      /* BIP 173 */
    BECH32_CHECKSUM = 6,  /* characters */
    NUM_TEXT = 24,        /* a decimal uint64 and its NUL */
};

static bool is_hex(char c)
{
    return ind_is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* Decimal s[0..len) without a leading zero, at most max; false if not one. */
static bool parse_dec(const char *s, size_t len, uint64_t max, uint64_t *out)
{
    if (len == 0 || len > 20 || (len > 1 && s[0] == '0'))
        return false;
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (!ind_is_digit(s[i]) || v > (max - (uint64_t)(s[i] - '0')) / 10)
            return false;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    *out = v;
    return true;
}

/* --- an address or a host with a port --- */

/* "HOST|PORT" as MISP writes it; also "HOST:PORT" and "[IPv6]:PORT" as tools print them. The
 * host loses the brackets of "[IPv6]". */
static bool split_port(const char *in, size_t len, const char **h, size_t *hl, const char **p,
                       size_t *pl)
{
    const char *sep = NULL;
    for (size_t i = len; i > 0 && sep == NULL; i--)
        sep = in[i - 1] == '|' ? in + i - 1 : NULL;
    if (sep == NULL && len > 0 && in[0] == '[') {
        const char *close = memchr(in, ']', len);
        sep = close != NULL && close + 1 < in + len && close[1] == ':' ? close + 1 : NULL;
    } else if (sep == NULL) {
        const char *colon = memchr(in, ':', len);
        bool one = colon != NULL && memchr(colon + 1, ':', len - (size_t)(colon + 1 - in)) == NULL;
        sep = one ? colon : NULL; /* an IPv6 address without brackets has several */
    }
    if (sep == NULL)
        return false;
    *h = in;
    *hl = (size_t)(sep - in);
    *p = sep + 1;
    *pl = len - *hl - 1;
    if (*hl >= 2 && in[0] == '[' && in[*hl - 1] == ']') {
        (*h)++;
        *hl -= 2;
    }
    return true;
}

/* HOST|PORT split and the port checked; shape names the form for the message. */
static int host_and_port(int itype, const char *in, size_t len, const char *shape,
                         const char **h, size_t *hl, const char **p, size_t *pl, char *why,
                         size_t wl)
{
    if (!split_port(in, len, h, hl, p, pl))
        return ind_fail(PROTO_E_VALUE, why, wl, itype, in, "is not %s", shape);
    if (!ind_port_valid(*p, *pl))
        return ind_fail(PROTO_E_VALUE, why, wl, itype, in, "has a port that is not 1..65535");
    return PROTO_OK;
}

int ind_norm_ip_port(int itype, const char *in, size_t len, struct sbuf *sb, char *why, size_t wl)
{
    const char *h, *p;
    size_t hl, pl;
    int rc = host_and_port(itype, in, len, "ADDRESS|PORT (like 198.51.100.7|443)", &h, &hl, &p,
                           &pl, why, wl);
    uint8_t addr[16] = {0};
    unsigned bits = 0;
    if (rc == PROTO_OK)
        rc = ind_parse_ip_value(itype, in, h, hl, addr, &bits,
                                "has an address that is not IPv4 or IPv6 (no prefix with a port)",
                                why, wl);
    if (rc != PROTO_OK)
        return rc;
    unsigned prefix = bits;
    (void)ind_unmap_ipv4(addr, &bits, &prefix);
    ind_put_ip(sb, addr, bits);
    ind_sb_put(sb, "|", 1);
    ind_sb_put(sb, p, pl);
    return PROTO_OK;
}

int ind_norm_host_port(int itype, const char *in, size_t len, struct sbuf *sb, char *why, size_t wl)
{
    const char *h, *p;
    size_t hl, pl;
    int rc = host_and_port(itype, in, len, "HOSTNAME|PORT (like mail.example.org|25)", &h, &hl,
                           &p, &pl, why, wl);
    if (rc == PROTO_OK)
        rc = ind_norm_dns(itype, in, h, hl, 1, sb, why, wl);
    if (rc != PROTO_OK)
        return rc;
    ind_sb_put(sb, "|", 1);
    ind_sb_put(sb, p, pl);
    return PROTO_OK;
}

/* --- autonomous systems --- */

/* "AS64496", "as64496" or "64496", and asdot "AS1.10" (RFC 5396): written as the asplain number
 * without "AS", as MISP stores it. */
int ind_norm_as(int itype, const char *in, size_t len, struct sbuf *sb, char *why, size_t wl)
{
    const char *s = in;
    size_t n = len;
    if (n >= 2 && (s[0] | 0x20) == 'a' && (s[1] | 0x20) == 's') {
        s += 2;
        n -= 2;
    }
    const char *dot = memchr(s, '.', n);
    uint64_t v = 0, hi = 0, lo = 0;
    bool ok = dot == NULL ? parse_dec(s, n, UINT32_MAX, &v)
                          : parse_dec(s, (size_t)(dot - s), UINT16_MAX, &hi) &&
                                parse_dec(dot + 1, n - (size_t)(dot - s) - 1, UINT16_MAX, &lo);
    if (dot != NULL)
        v = hi << 16 | lo;
    if (!ok)
        return ind_fail(PROTO_E_VALUE, why, wl, itype, in,
                        "is not an AS number 1..4294967295 (like AS64496 or 64496)");
    if (v == 0)
        return ind_fail(PROTO_E_VALUE, why, wl, itype, in, "is AS 0, which is reserved (RFC 7607)");
    char num[NUM_TEXT];
    int w = snprintf(num, sizeof num, "%" PRIu64, v);
    ind_sb_put(sb, num, (size_t)w);
    return PROTO_OK;
}

/* --- fuzzy hashes and fingerprints --- */

static bool is_b64(char c)
{
    return ind_is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '+' ||
           c == '/';
}

static bool b64_run(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (!is_b64(s[i]))
            return false;
    }
    return len > 0 && len <= SSDEEP_PART_MAX;
}

/* BLOCKSIZE:HASH:HASH as ssdeep writes it; the block size is 3 * 2^n; kept as it is (the hash
 * parts are case-sensitive base64). */
int ind_norm_ssdeep(int itype, const char *in, size_t len, struct sbuf *sb, char *why, size_t wl)
{
    const char *c1 = memchr(in, ':', len);
    const char *c2 = c1 ? memchr(c1 + 1, ':', len - (size_t)(c1 + 1 - in)) : NULL;
    if (c1 == NULL || c2 == NULL || memchr(c2 + 1, ':', len - (size_t)(c2 + 1 - in)) != NULL)
        return ind_fail(PROTO_E_VALUE, why, wl, itype, in,
                        "is not BLOCKSIZE:HASH:HASH as ssdeep writes it");
    uint64_t bs = 0;
    if (!parse_dec(in, (size_t)(c1 - in), UINT32_MAX, &bs) || bs < 3 || bs % 3 != 0 ||
        ((bs / 3) & (bs / 3 - 1)) != 0)
        return ind_fail(PROTO_E_VALUE, why, wl, itype, in,
                        "has a block size that is not 3 times a power of two");
    const size_t l1 = (size_t)(c2 - c1 - 1), l2 = len - (size_t)(c2 + 1 - in);
    if (!b64_run(c1 + 1, l1) || (l2 > 0 && !b64_run(c2 + 1, l2)))
        return ind_fail(PROTO_E_VALUE, why, wl, itype, in,
                        "has a hash part that is not 1..64 base64 characters");
    ind_sb_put(sb, in, len);
    return PROTO_OK;
}

/* TLSH digests: 70, 74, 134 or 138 hex digits (128 or 256 buckets, 1- or 3-byte checksum),
 * with or without the version prefix "T1" that TLSH 4 writes: written "T1" + upper case, as the
 * reference implementation prints it. */
int ind_norm_tlsh(int itype, const char *in, size_t len, struct sbuf *sb, char *why, size_t wl)
{
    const char *h = in;
    size_t n = len;
    if (n >= 2 && (h[0] == 'T' || h[0] == 't') && h[1] == '1') {
        h += 2;
        n -= 2;
    }
    if (n != 70 && n != 74 && n != 134 && n != 138)
        return ind_fail(PROTO_E_VALUE, why, wl, itype, in,
                        "is not a TLSH digest (T1 and 70, 74, 134 or 138 hex digits)");
    for (size_t i = 0; i < n; i++) {
        if (!is_hex(h[i]))
            return ind_fail(PROTO_E_VALUE, why, wl, itype, in, "has a character that is not hex");
    }
    ind_sb_put(sb, "T1", 2);
    for (size_t i = 0; i < n; i++) {
        char c = h[i] >= 'a' && h[i] <= 'f' ? (char)(h[i] - 'a' + 'A') : h[i];
        ind_sb_put(sb, &c, 1);
    }
    return PROTO_OK;
}

/* imphash, JA3: MD5 digests, 32 hex digits. */
int ind_norm_md5_like(int itype, const char *in, size_t len, struct sbuf *sb, char *why, size_t wl)
{
    return ind_norm_hex(itype, in, len, 32, sb, why, wl);
}

/* JARM: 30 hex digits of cipher and version choices, then 32 of a truncated SHA-256. */
int ind_norm_jarm(int itype, const char *in, size_t len, struct sbuf *sb, char *why, size_t wl)
{
    return ind_norm_hex(itype, in, len, 62, sb, why, wl);
}

/* A certificate fingerprint: want hex digits, or the "AB:CD:..." form openssl and browsers show;
 * written lower case without colons. */
static int norm_fingerprint(int itype, const char *in, size_t len, size_t want, struct sbuf *sb,
                            char *why, size_t wl)
{
    if (len != want + want / 2 - 1)
        return ind_norm_hex(itype, in, len, want, sb, why, wl);
    for (size_t i = 0; i < len; i++) {
        bool colon_here = i % 3 == 2;
        if (colon_here ? in[i] != ':' : !is_hex(in[i]))
            return ind_fail(PROTO_E_VALUE, why, wl, itype, in,
                            "is not %zu hex digits (with or without ':' between bytes)", want);
    }
    for (size_t i = 0; i < len; i += 3)
        ind_sb_put_lower(sb, in + i, 2);
    return PROTO_OK;
}

int ind_norm_cert_sha1(int itype, const char *in, size_t len, struct sbuf *sb, char *why, size_t wl)
{
    return norm_fingerprint(itype, in, len, 40, sb, why, wl);
}

int ind_norm_cert_sha256(int itype, const char *in, size_t len, struct sbuf *sb, char *why,
                         size_t wl)
{
    return norm_fingerprint(itype, in, len, 64, sb, why, wl);
}

/* --- text values: mutex names, user agents, e-mail subjects --- */

/* One line kept byte for byte. MISP trims what it stores, so a space at either end is refused
 * rather than kept as a second form of the same value. */
int ind_norm_line(int itype, const char *in, size_t len, struct sbuf *sb, char *why, size_t wl)
{
    if (proto_text_has_control(in, len, false))
        return ind_fail(PROTO_E_VALUE, why, wl, itype, in,
                        "contains a control character (a line break or a tab?)");
    if (in[0] == ' ' || in[len - 1] == ' ')
        return ind_fail(PROTO_E_VALUE, why, wl, itype, in, "starts or ends with a space");
    ind_sb_put(sb, in, len);
    return PROTO_OK;
}

/* --- Windows registry --- */

static const char *const hives[][2] = {
    {"HKEY_LOCAL_MACHINE", "HKLM"}, {"HKEY_CURRENT_USER", "HKCU"},   {"HKEY_CLASSES_ROOT", "HKCR"},
    {"HKEY_USERS", "HKU"},          {"HKEY_CURRENT_CONFIG", "HKCC"},
};

/* [HIVE\]path: a hive (full or abbreviated, any case) is written as its full upper-case name, as
 * STIX's windows-registry-key requires; the path byte for byte. A key without a hive is kept as
 * it is: real events carry "Software\...\Run" for a key found under several hives. */
static int put_regkey(int itype, const char *in, const char *s, size_t len, struct sbuf *sb,
                      char *why, size_t wl)
{
    const char *bs = memchr(s, '\\', len);
    const size_t hl = bs ? (size_t)(bs - s) : len;
    const char *hive = NULL;
    for (size_t i = 0; i < sizeof hives / sizeof hives[0] && hive == NULL; i++) {
        for (size_t k = 0; k < 2; k++) {
            if (strlen(hives[i][k]) == hl && strncasecmp(hives[i][k], s, hl) == 0)
                hive = hives[i][0];
        }
    }
    if (hive != NULL && (bs == NULL || hl + 1 == len))
        return ind_fail(PROTO_E_VALUE, why, wl, itype, in, "names a hive but no key in it");
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '\\' && (i == 0 || i + 1 == len || s[i + 1] == '\\'))
            return ind_fail(PROTO_E_VALUE, why, wl, itype, in,
                            "has an empty key name (a doubled, leading or trailing backslash?)");
    }
    const size_t skip = hive != NULL ? hl : 0;
    if (hive != NULL)
        ind_sb_put(sb, hive, strlen(hive));
    ind_sb_put(sb, s + skip, len - skip);
    return PROTO_OK;
}

int ind_norm_regkey(int itype, const char *in, size_t len, struct sbuf *sb, char *why, size_t wl)
{
    if (proto_text_has_control(in, len, false))
        return ind_fail(PROTO_E_VALUE, why, wl, itype, in, "contains a control character");
    return put_regkey(itype, in, in, len, sb, why, wl);
}

/* KEY|DATA, split at the first '|' (MISP's composite form; the data, a command line say, may hold
 * one); the key as regkey, the data byte for byte. */
int ind_norm_regkey_value(int itype, const char *in, size_t len, struct sbuf *sb, char *why,
                          size_t wl)
{
    if (proto_text_has_control(in, len, false))
        return ind_fail(PROTO_E_VALUE, why, wl, itype, in, "contains a control character");
    const char *bar = memchr(in, '|', len);
    if (bar == NULL || bar + 1 == in + len)
        return ind_fail(PROTO_E_VALUE, why, wl, itype, in,
                        "is not KEY|DATA (like HKLM\\Software\\Run\\x|C:\\x.exe)");
    int rc = put_regkey(itype, in, in, (size_t)(bar - in), sb, why, wl);
    if (rc == PROTO_OK)
        ind_sb_put(sb, bar, len - (size_t)(bar - in));
    return rc;
}

/* --- vulnerabilities --- */

/* CVE-YYYY-NNNN: a year from 1999, then 4 or more digits (no leading zero beyond 4); written with
 * "CVE" in upper case. */
int ind_norm_cve(int itype, const char *in, size_t len, struct sbuf *sb, char *why, size_t wl)
{
    bool ok = len >= 13 && strncasecmp(in, "cve-", 4) == 0 && in[8] == '-';
    uint64_t year = 0;
    ok = ok && parse_dec(in + 4, 4, 9999, &year) && year >= 1999;
    const size_t nd = len - 9;
    for (size_t i = 9; ok && i < len; i++)
        ok = ind_is_digit(in[i]);
    ok = ok && nd >= 4 && nd <= CVE_DIGITS_MAX && (nd == 4 || in[9] != '0');
    if (!ok)
        return ind_fail(PROTO_E_VALUE, why, wl, itype, in, "is not a CVE id (like CVE-2021-44228)");
    ind_sb_put(sb, "CVE", 3);
    ind_sb_put(sb, in + 3, len - 3);
    return PROTO_OK;
}

/* --- bitcoin addresses --- */

/* Base58Check, version 0x00 (P2PKH, "1...") or 0x05 (P2SH, "3..."): the checksum is the first 4
 * bytes of SHA-256(SHA-256(version || hash)). */
static bool btc_base58(const char *s, size_t len)
{
    static const char alphabet[] = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
    uint8_t b[BTC_B58_BYTES] = {0};
    size_t ones = 0;
    while (ones < len && s[ones] == '1')
        ones++;
    for (size_t i = 0; i < len; i++) {
        const char *at = memchr(alphabet, s[i], sizeof alphabet - 1);
        if (at == NULL || s[i] == '\0')
            return false;
        unsigned carry = (unsigned)(at - alphabet);
        for (size_t j = BTC_B58_BYTES; j > 0; j--) {
            carry += 58u * b[j - 1];
            b[j - 1] = (uint8_t)carry;
            carry >>= 8;
        }
        if (carry != 0)
            return false; /* longer than 25 bytes */
    }
    size_t zeros = 0;
    while (zeros < BTC_B58_BYTES && b[zeros] == 0)
        zeros++;
    if (zeros != ones || (b[0] != 0x00 && b[0] != 0x05))
        return false;
    uint8_t h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, b, BTC_B58_BYTES - 4);
    crypto_hash_sha256(h, h, sizeof h);
    return memcmp(h, b + BTC_B58_BYTES - 4, 4) == 0;
}

static uint32_t bech32_polymod(uint32_t chk, unsigned v)
{
    static const uint32_t gen[5] = {0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3};
    const unsigned top = chk >> 25;
    chk = (chk & 0x1ffffff) << 5 ^ v;
    for (unsigned i = 0; i < 5; i++)
        chk ^= (top >> i) & 1 ? gen[i] : 0;
    return chk;
}

/* Segwit "bc1..." (BIP 173 bech32 for version 0 with a 20- or 32-byte program, BIP 350 bech32m
 * for versions 1 to 16), one case throughout. */
static bool btc_bech32(const char *s, size_t len)
{
    static const char charset[] = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";
    enum { BECH32_CONST = 1, BECH32M_CONST = 0x2bc830a3 };
    if (len < 14 || len > BECH32_MAX || strncasecmp(s, "bc1", 3) != 0)
        return false;
    bool lower = false, upper = false;
    /* the human-readable part "bc", expanded as BIP 173 says: high bits, 0, low bits */
    uint32_t chk = 1;
    static const unsigned hrp[] = {'b' >> 5, 'c' >> 5, 0, 'b' & 31, 'c' & 31};
    for (size_t i = 0; i < sizeof hrp / sizeof hrp[0]; i++)
        chk = bech32_polymod(chk, hrp[i]);
    unsigned version = 0;
    for (size_t i = 0; i < len; i++) {
        lower |= s[i] >= 'a' && s[i] <= 'z';
        upper |= s[i] >= 'A' && s[i] <= 'Z';
        if (i < 3)
            continue;
        const char c = s[i] >= 'A' && s[i] <= 'Z' ? (char)(s[i] - 'A' + 'a') : s[i];
        const char *at = c ? memchr(charset, c, sizeof charset - 1) : NULL;
        if (at == NULL)
            return false;
        const unsigned v = (unsigned)(at - charset);
        version = i == 3 ? v : version;
        chk = bech32_polymod(chk, v);
    }
    const size_t n5 = len - 3 - 1 - BECH32_CHECKSUM, bytes = n5 * 5 / 8;
    if ((lower && upper) || version > 16 || n5 * 5 % 8 >= 5)
        return false;
    if (bytes < 2 || bytes > 40 || (version == 0 && bytes != 20 && bytes != 32))
        return false;
    return chk == (version == 0 ? (uint32_t)BECH32_CONST : (uint32_t)BECH32M_CONST);
}

int ind_norm_btc(int itype, const char *in, size_t len, struct sbuf *sb, char *why, size_t wl)
{
    if (len >= 3 && strncasecmp(in, "bc1", 3) == 0) {
        if (!btc_bech32(in, len))
            return ind_fail(PROTO_E_VALUE, why, wl, itype, in,
                            "is not a valid bc1 address (bech32/bech32m checksum, one case)");
        ind_sb_put_lower(sb, in, len);
        return PROTO_OK;
    }
    if (len < 26 || len > 35 || !btc_base58(in, len))
        return ind_fail(PROTO_E_VALUE, why, wl, itype, in,
                        "is not a valid bitcoin address (1..., 3... with its checksum, or bc1...)");
    ind_sb_put(sb, in, len);
    return PROTO_OK;
}

/* --- detection rules: text kept byte for byte --- */

/* Rule files may have tabs and either line end (MISP's web form stores CRLF); any other control
 * character is refused. */
static int rule_text(int itype, const char *in, size_t len, char *why, size_t wl)
{
    for (size_t i = 0; i < len; i++) {
        const unsigned char c = (unsigned char)in[i];
        const bool c1 = c == 0xc2 && i + 1 < len && (unsigned char)in[i + 1] <= 0x9f;
        if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f || c1)
            return ind_fail(PROTO_E_VALUE, why, wl, itype, in,
                            "contains a control character other than tab, CR and LF");
    }
    return PROTO_OK;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* The last character that is not white space; '\0' when there is none. */
static char last_char(const char *s, size_t len)
{
    while (len > 0 && is_space(s[len - 1]))
        len--;
    return len > 0 ? s[len - 1] : '\0';
}

/* Does a line of s begin with word (followed by a space or, when colon, by ':')? */
static bool line_starts(const char *s, size_t len, const char *word, bool colon)
{
    const size_t wn = strlen(word);
    for (size_t i = 0; i < len; i++) {
        if ((i == 0 || s[i - 1] == '\n') && len - i > wn && strncmp(s + i, word, wn) == 0 &&
            (colon ? s[i + wn] == ':' : is_space(s[i + wn])))
            return true;
    }
    return false;
}

/* YARA: "rule NAME" (maybe private or global) with a body in braces at the end. */
int ind_norm_yara(int itype, const char *in, size_t len, struct sbuf *sb, char *why, size_t wl)
{
    int rc = rule_text(itype, in, len, why, wl);
    if (rc != PROTO_OK)
        return rc;
    bool header = false;
    for (size_t i = 0; i + 5 < len && !header; i++) {
        const bool start = i == 0 || is_space(in[i - 1]);
        const char n = in[i + 5];
        header = start && strncmp(in + i, "rule", 4) == 0 && is_space(in[i + 4]) &&
                 ((n >= 'a' && n <= 'z') || (n >= 'A' && n <= 'Z') || n == '_');
    }
    if (!header || memchr(in, '{', len) == NULL || last_char(in, len) != '}')
        return ind_fail(PROTO_E_VALUE, why, wl, itype, in,
                        "is not a YARA rule (\"rule NAME { ... }\")");
    ind_sb_put(sb, in, len);
    return PROTO_OK;
}

/* Sigma: a YAML document with the keys the specification requires at the top level. */
int ind_norm_sigma(int itype, const char *in, size_t len, struct sbuf *sb, char *why, size_t wl)
{
    int rc = rule_text(itype, in, len, why, wl);
    if (rc != PROTO_OK)
        return rc;
    if (!line_starts(in, len, "title", true) || !line_starts(in, len, "logsource", true) ||
        !line_starts(in, len, "detection", true))
        return ind_fail(PROTO_E_VALUE, why, wl, itype, in,
                        "is not a Sigma rule (needs top-level title:, logsource: and detection:)");
    ind_sb_put(sb, in, len);
    return PROTO_OK;
}

/* Does the option list that starts at in[0] ('(') name a sid option? Options are "name:value;"
 * or "name;"; quoted text (content:"...sid:1...") is skipped, with its backslash escapes. */
static bool has_sid(const char *in, size_t len)
{
    bool quoted = false, start = true;
    for (size_t i = 1; i < len; i++) {
        const char c = in[i];
        if (quoted) {
            if (c == '\\')
                i++;
            else if (c == '"')
                quoted = false;
            continue;
        }
        if (start && is_space(c))
            continue;
        if (start && len - i > 3 && strncmp(in + i, "sid", 3) == 0) {
            size_t k = i + 3;
            while (k < len && is_space(in[k]))
                k++;
            if (k < len && in[k] == ':')
                return true;
        }
        start = c == ';';
        quoted = c == '"';
    }
    return false;
}

/* Snort or Suricata: rules that start with an action and end with the option list's ')', with a
 * sid (Suricata refuses to load a rule without one, and a sid is how an alert names its rule). */
int ind_norm_ids_rule(int itype, const char *in, size_t len, struct sbuf *sb, char *why, size_t wl)
{
    static const char *const actions[] = {"alert",     "drop",      "pass",       "reject",
                                          "rejectsrc", "rejectdst", "rejectboth", "log",
                                          "sdrop",     "activate",  "dynamic"};
    int rc = rule_text(itype, in, len, why, wl);
    if (rc != PROTO_OK)
        return rc;
    size_t i = 0;
    while (i < len && is_space(in[i]))
        i++;
    bool action = false;
    for (size_t k = 0; k < sizeof actions / sizeof actions[0] && !action; k++)
        action = line_starts(in + i, len - i, actions[k], false) &&
                 strncmp(in + i, actions[k], strlen(actions[k])) == 0;
    if (!action || memchr(in, '(', len) == NULL || last_char(in, len) != ')')
        return ind_fail(PROTO_E_VALUE, why, wl, itype, in,
                        "is not a %s rule (\"alert ... (msg:...; sid:...;)\")",
                        proto_itype_name(itype));
    const char *opts = memchr(in, '(', len);
    if (!has_sid(opts, len - (size_t)(opts - in)))
        return ind_fail(PROTO_E_VALUE, why, wl, itype, in,
                        "has no sid option (a %s rule needs \"sid:N;\")", proto_itype_name(itype));
    ind_sb_put(sb, in, len);
    return PROTO_OK;
}
