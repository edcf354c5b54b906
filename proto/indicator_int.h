/* indicator_int.h - what the parts of the indicator module share (indicator.h is the contract):
 *   indicator.c      text rules, messages, IP addresses, names, URLs, e-mail, hashes, file names,
 *                    the type table and the entry points;
 *   indicator_ext.c  the types real MISP events carry beyond those (issue 16): address or host
 *                    with a port, AS numbers, fuzzy hashes and fingerprints, Windows artefacts,
 *                    free-text values, CVE ids, bitcoin addresses and detection rules.
 * No I/O, no allocation.
 */
#ifndef TLPMESH_PROTO_INDICATOR_INT_H
#define TLPMESH_PROTO_INDICATOR_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Output under construction: never overruns, remembers that it would have. */
struct sbuf {
    char *p;
    size_t cap; /* includes the NUL */
    size_t len;
    bool over;
};

void ind_sb_put(struct sbuf *sb, const char *s, size_t n);
void ind_sb_put_lower(struct sbuf *sb, const char *s, size_t n);

/* Writes "TYPE: 'VALUE' " and the reason into why (the value quoted safely); returns err. */
__attribute__((format(printf, 6, 7))) int ind_fail(int err, char *why, size_t why_len, int itype,
                                                   const char *value, const char *fmt, ...);

static inline bool ind_is_digit(char c)
{
    return c >= '0' && c <= '9';
}

enum ip_parse { IP_OK, IP_BAD, IP_LEADING_ZERO };

/* An IPv4 dotted quad (no leading zeros) or IPv6 address, no prefix; *bits is 32 or 128. */
enum ip_parse ind_parse_ip(const char *s, size_t len, uint8_t addr[16], unsigned *bits);
/* ind_parse_ip of s[0..len) with the messages of a value (in): a leading zero's, else bad. */
int ind_parse_ip_value(int itype, const char *in, const char *s, size_t len, uint8_t addr[16],
                       unsigned *bits, const char *bad, char *why, size_t wl);
/* ::ffff:a.b.c.d (prefix >= 96) -> the IPv4 address (prefix - 96); true if it was one. */
bool ind_unmap_ipv4(uint8_t addr[16], unsigned *bits, unsigned *prefix);
void ind_put_ip(struct sbuf *sb, const uint8_t addr[16], unsigned bits);

/* Port 1..65535 in decimal without a leading zero. */
bool ind_port_valid(const char *s, size_t len);

/* A DNS name s[0..len) of at least min_labels labels (one trailing dot dropped), written in lower
 * case; in is the whole value for messages. */
int ind_norm_dns(int itype, const char *in, const char *s, size_t len, unsigned min_labels,
                 struct sbuf *sb, char *why, size_t wl);

/* Exactly want hex digits, written in lower case. */
int ind_norm_hex(int itype, const char *in, size_t len, size_t want, struct sbuf *sb, char *why,
                 size_t wl);

/* The normalisers of indicator_ext.c, one per type (the table in indicator.c names them). */
typedef int (*ind_normaliser)(int itype, const char *in, size_t len, struct sbuf *sb, char *why,
                              size_t why_len);
int ind_norm_ip_port(int itype, const char *in, size_t len, struct sbuf *sb, char *why, size_t wl);
int ind_norm_host_port(int itype, const char *in, size_t len, struct sbuf *sb, char *why,
                       size_t wl);
int ind_norm_as(int itype, const char *in, size_t len, struct sbuf *sb, char *why, size_t wl);
int ind_norm_ssdeep(int itype, const char *in, size_t len, struct sbuf *sb, char *why, size_t wl);
int ind_norm_tlsh(int itype, const char *in, size_t len, struct sbuf *sb, char *why, size_t wl);
int ind_norm_md5_like(int itype, const char *in, size_t len, struct sbuf *sb, char *why, size_t wl);
int ind_norm_jarm(int itype, const char *in, size_t len, struct sbuf *sb, char *why, size_t wl);
int ind_norm_cert_sha1(int itype, const char *in, size_t len, struct sbuf *sb, char *why,
                       size_t wl);
int ind_norm_cert_sha256(int itype, const char *in, size_t len, struct sbuf *sb, char *why,
                         size_t wl);
int ind_norm_line(int itype, const char *in, size_t len, struct sbuf *sb, char *why, size_t wl);
int ind_norm_regkey(int itype, const char *in, size_t len, struct sbuf *sb, char *why, size_t wl);
int ind_norm_regkey_value(int itype, const char *in, size_t len, struct sbuf *sb, char *why,
                          size_t wl);
int ind_norm_cve(int itype, const char *in, size_t len, struct sbuf *sb, char *why, size_t wl);
int ind_norm_btc(int itype, const char *in, size_t len, struct sbuf *sb, char *why, size_t wl);
int ind_norm_yara(int itype, const char *in, size_t len, struct sbuf *sb, char *why, size_t wl);
int ind_norm_sigma(int itype, const char *in, size_t len, struct sbuf *sb, char *why, size_t wl);
int ind_norm_ids_rule(int itype, const char *in, size_t len, struct sbuf *sb, char *why, size_t wl);

#endif
