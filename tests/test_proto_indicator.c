/* test_proto_indicator.c - indicator values (proto/indicator.h): normalisation, limits, type
 * names, UTF-8; and TLP names (proto/tlp.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "proto/indicator.h"
#include "proto/record.h"
#include "proto/tlp.h"
#include "tests/support/ts_sample.h"

/* --- indicator values --- */

struct norm_case {
    const char *type;
    const char *in;
    const char *out; /* NULL: refused */
    const char *why; /* refused: the whole message */
};

static const struct norm_case norm_cases[] = {
    {"ip-dst", "192.0.2.1", "192.0.2.1", NULL},
    {"ip-src", "0.0.0.0", "0.0.0.0", NULL},
    {"ip-dst", "192.0.2.0/24", "192.0.2.0/24", NULL},
    {"ip-dst", "192.0.2.7/32", "192.0.2.7", NULL},
    {"ip-dst", "10.0.0.0/8", "10.0.0.0/8", NULL},
    {"ip-dst", "0.0.0.0/0", "0.0.0.0/0", NULL},
    {"ip-dst", "2001:DB8:0:0::1", "2001:db8::1", NULL},
    {"ip-dst", "2001:db8::/32", "2001:db8::/32", NULL},
    {"ip-dst", "2001:db8::1/128", "2001:db8::1", NULL},
    /* review: an IPv4-mapped address is its IPv4 host (one address, one normal form) */
    {"ip-src", "::ffff:192.0.2.1", "192.0.2.1", NULL},
    {"ip-dst", "::FFFF:c000:0201", "192.0.2.1", NULL},
    {"ip-dst", "::ffff:192.0.2.0/120", "192.0.2.0/24", NULL},
    {"ip-dst", "::ffff:0:0/96", "0.0.0.0/0", NULL},
    {"ip-dst", "::/80", "::/80", NULL},
    {"url", "http://[::ffff:192.0.2.1]:8080/x", "http://192.0.2.1:8080/x", NULL},
    {"url", "http://evil.example\\@good.example/", NULL,
     "url: 'http://evil.example\\x5c@good.example/' has a backslash before the path (browsers read "
     "it as '/')"},
    {"ip-dst", "192.0.2.5/24", NULL,
     "ip-dst: '192.0.2.5/24' has host bits set; did you mean 192.0.2.0/24?"},
    {"ip-dst", "2001:db8::1/64", NULL,
     "ip-dst: '2001:db8::1/64' has host bits set; did you mean 2001:db8::/64?"},
    {"ip-dst", "1.2.3", NULL, "ip-dst: '1.2.3' is not an IPv4 or IPv6 address"},
    {"ip-dst", "10.0.0.300", NULL, "ip-dst: '10.0.0.300' is not an IPv4 or IPv6 address"},
    {"ip-src", "010.1.2.3", NULL,
     "ip-src: '010.1.2.3' has an octet with a leading zero (octal or decimal? write it without)"},
    {"ip-dst", "192.0.2.0/33", NULL,
     "ip-dst: '192.0.2.0/33' has a prefix length that is not 0..32"},
    {"ip-dst", "192.0.2.0/024", NULL,
     "ip-dst: '192.0.2.0/024' has a prefix length that is not 0..32"},
    {"ip-dst", "192.0.2.0/", NULL, "ip-dst: '192.0.2.0/' has a prefix length that is not 0..32"},
    {"ip-dst", " 192.0.2.1", NULL, "ip-dst: ' 192.0.2.1' is not an IPv4 or IPv6 address"},
    {"ip-dst", "fe80::1%eth0", NULL, "ip-dst: 'fe80::1%eth0' is not an IPv4 or IPv6 address"},
    {"ip-dst", "", NULL, "ip-dst: '' is empty"},
    {"domain", "Example.COM.", "example.com", NULL},
    {"domain", "xn--bcher-kva.example", "xn--bcher-kva.example", NULL},
    {"domain", "a-b.c0.example", "a-b.c0.example", NULL},
    {"domain", "localhost", NULL,
     "domain: 'localhost' needs at least two labels (like example.org)"},
    {"domain", "bücher.example", NULL,
     "domain: 'bücher.example' has non-ASCII characters; write the name in punycode (xn--...)"},
    {"domain", "192.0.2.1", NULL,
     "domain: '192.0.2.1' is an IP address, not a name; use type ip-src or ip-dst"},
    {"domain", "a..example", NULL, "domain: 'a..example' has an empty label"},
    {"domain", "-a.example", NULL, "domain: '-a.example' has a label that starts or ends with '-'"},
    {"domain", "a_b.example", NULL,
     "domain: 'a_b.example' has a character other than letters, digits, '-' and '.'"},
    {"domain", "example.com..", NULL, "domain: 'example.com..' has an empty label"},
    {"hostname", "MAIL.Example.org", "mail.example.org", NULL},
    {"hostname", "intranet", "intranet", NULL},
    {"url", "HTTP://User:Pw@Example.COM:8080/Path?Q=A#F",
     "http://User:Pw@example.com:8080/Path?Q=A#F", NULL},
    {"url", "https://[2001:DB8::1]/x", "https://[2001:db8::1]/x", NULL},
    {"url", "https://192.0.2.1", "https://192.0.2.1", NULL},
    {"url", "https://example.org/ä", "https://example.org/ä", NULL},
    {"url", "javascript:alert(1)", NULL, "url: 'javascript:alert(1)' has no scheme (like http://)"},
    {"url", "gopherx://a.example/", NULL,
     "url: 'gopherx://a.example/' has a scheme that is not one of ftp, ftps, gopher, http, https, "
     "irc, ircs, ldap, ldaps, rtsp, sftp, smb, ssh, telnet, tftp, ws, wss"},
    {"url", "http://exa mple.com/", NULL,
     "url: 'http://exa mple.com/' contains a space or control character"},
    {"url", "http://a.example/\x01", NULL,
     "url: 'http://a.example/\\x01' contains a space or control character"},
    {"url", "http:///path", NULL, "url: 'http:///path' has no host"},
    {"url", "http://a.example:0/", NULL,
     "url: 'http://a.example:0/' has a port that is not 1..65535"},
    {"url", "http://a.example:65536/", NULL,
     "url: 'http://a.example:65536/' has a port that is not 1..65535"},
    {"url", "http://[::1/", NULL, "url: 'http://[::1/' has a bad [IPv6] host"},
    {"url", "http://010.0.0.1/", NULL,
     "url: 'http://010.0.0.1/' has an IPv4 host with a leading zero (octal or decimal? write it "
     "without)"},
    {"url", "http://bücher.example/", NULL,
     "url: 'http://bücher.example/' has a host that has non-ASCII characters; write the name in "
     "punycode (xn--...)"},
    {"email-src", "John.Doe@Example.ORG", "John.Doe@example.org", NULL},
    {"email-dst", "a@b@example.org", NULL,
     "email-dst: 'a@b@example.org' is not local@domain with one '@'"},
    {"email-dst", "@example.org", NULL,
     "email-dst: '@example.org' has a local part that is not 1..64 bytes"},
    {"email-dst", "a@localhost", NULL,
     "email-dst: 'a@localhost' needs at least two labels (like example.org)"},
    {"md5", "D41D8CD98F00B204E9800998ECF8427E", "d41d8cd98f00b204e9800998ecf8427e", NULL},
    {"sha1", "da39a3ee5e6b4b0d3255bfef95601890afd80709", "da39a3ee5e6b4b0d3255bfef95601890afd80709",
     NULL},
    {"sha256", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
     "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", NULL},
    {"md5", "d41d8cd98f00b204e9800998ecf8427", NULL,
     "md5: 'd41d8cd98f00b204e9800998ecf8427' is 31 characters, not 32 hex digits"},
    {"sha1", "za39a3ee5e6b4b0d3255bfef95601890afd80709", NULL,
     "sha1: 'za39a3ee5e6b4b0d3255bfef95601890afd80709' has a character that is not hex"},
    {"filename", "invoice.pdf .exe", "invoice.pdf .exe", NULL},
    {"filename", "Rechnung für Sie.doc", "Rechnung für Sie.doc", NULL},
    {"filename", "a\tb", NULL, "filename: 'a\\x09b' contains a control character"},
    {"filename", "\xc2\x85x", NULL, "filename: '\xc2\x85x' contains a control character"},
    {"filename", "bad\xff", NULL, "filename: 'bad\\xff' is not valid UTF-8"},
    /* issue 16: the types real MISP events carry */
    {"ip-dst|port", "198.51.100.7|443", "198.51.100.7|443", NULL},
    {"ip-dst|port", "198.51.100.7:443", "198.51.100.7|443", NULL},
    {"ip-src|port", "[2001:DB8::1]:8443", "2001:db8::1|8443", NULL},
    {"ip-src|port", "2001:db8::1|53", "2001:db8::1|53", NULL},
    {"ip-dst|port", "::ffff:192.0.2.1|80", "192.0.2.1|80", NULL},
    {"ip-dst|port", "198.51.100.7|0", NULL,
     "ip-dst|port: '198.51.100.7|0' has a port that is not 1..65535"},
    {"ip-dst|port", "198.51.100.7|0443", NULL,
     "ip-dst|port: '198.51.100.7|0443' has a port that is not 1..65535"},
    {"ip-dst|port", "198.51.100.0/24|443", NULL,
     "ip-dst|port: '198.51.100.0/24|443' has an address that is not IPv4 or IPv6 (no prefix with "
     "a port)"},
    {"ip-src|port", "2001:db8::1:443", NULL,
     "ip-src|port: '2001:db8::1:443' is not ADDRESS|PORT (like 198.51.100.7|443)"},
    {"hostname|port", "Mail.Example.ORG.|25", "mail.example.org|25", NULL},
    {"hostname|port", "c2.example:8080", "c2.example|8080", NULL},
    {"hostname|port", "c2.example|65536", NULL,
     "hostname|port: 'c2.example|65536' has a port that is not 1..65535"},
    {"hostname|port", "c2.example", NULL,
     "hostname|port: 'c2.example' is not HOSTNAME|PORT (like mail.example.org|25)"},
    {"AS", "AS64496", "64496", NULL},
    {"AS", "as64496", "64496", NULL},
    {"AS", "4200000000", "4200000000", NULL},
    {"AS", "AS1.10", "65546", NULL},
    {"AS", "AS0", NULL, "AS: 'AS0' is AS 0, which is reserved (RFC 7607)"},
    {"AS", "AS4294967296", NULL,
     "AS: 'AS4294967296' is not an AS number 1..4294967295 (like AS64496 or 64496)"},
    {"AS", "AS064496", NULL,
     "AS: 'AS064496' is not an AS number 1..4294967295 (like AS64496 or 64496)"},
    {"ssdeep", "24576:Yy5JXgjHI+OTLbg4LFfRtbiRD9ubA:Yy5JXkHJIbhxDtSRD9P",
     "24576:Yy5JXgjHI+OTLbg4LFfRtbiRD9ubA:Yy5JXkHJIbhxDtSRD9P", NULL},
    {"ssdeep", "100:abc:def", NULL,
     "ssdeep: '100:abc:def' has a block size that is not 3 times a power of two"},
    {"ssdeep", "96:abc", NULL, "ssdeep: '96:abc' is not BLOCKSIZE:HASH:HASH as ssdeep writes it"},
    {"ssdeep", "96:a-c:def", NULL,
     "ssdeep: '96:a-c:def' has a hash part that is not 1..64 base64 characters"},
    {"tlsh", "0226002d297e69004c0df3203e5613948fb4209253d8c02f4137b3d7797529f72d7116",
     "T10226002D297E69004C0DF3203E5613948FB4209253D8C02F4137B3D7797529F72D7116", NULL},
    {"tlsh", "T10226002D297E69004C0DF3203E5613948FB4209253D8C02F4137B3D7797529F72D7116",
     "T10226002D297E69004C0DF3203E5613948FB4209253D8C02F4137B3D7797529F72D7116", NULL},
    {"tlsh", "T1ABC", NULL,
     "tlsh: 'T1ABC' is not a TLSH digest (T1 and 70, 74, 134 or 138 hex digits)"},
    {"imphash", "F34D5F2D4577ED6D9CEEC516C1F5A744", "f34d5f2d4577ed6d9ceec516c1f5a744", NULL},
    {"ja3-fingerprint-md5", "e7eca2baf4458d095b7f45da28c16c34", "e7eca2baf4458d095b7f45da28c16c34",
     NULL},
    {"ja3-fingerprint-md5", "e7eca2baf4458d095b7f45da28c16c3", NULL,
     "ja3-fingerprint-md5: 'e7eca2baf4458d095b7f45da28c16c3' is 31 characters, not 32 hex digits"},
    {"jarm-fingerprint", "2AD2AD16D2AD2AD22C42D42D00042D58C7162162B6A603D3D90A2B76865B53",
     "2ad2ad16d2ad2ad22c42d42d00042d58c7162162b6a603d3d90a2b76865b53", NULL},
    {"x509-fingerprint-sha1", "CD:1B:50:69:96:3D:98:78:F9:2F:1C:FB:E7:7F:89:12:CD:D5:B2:ED",
     "cd1b5069963d9878f92f1cfbe77f8912cdd5b2ed", NULL},
    {"x509-fingerprint-sha1", "cd1b5069963d9878f92f1cfbe77f8912cdd5b2ed",
     "cd1b5069963d9878f92f1cfbe77f8912cdd5b2ed", NULL},
    {"x509-fingerprint-sha1", "CD-1B:50:69:96:3D:98:78:F9:2F:1C:FB:E7:7F:89:12:CD:D5:B2:ED", NULL,
     "x509-fingerprint-sha1: 'CD-1B:50:69:96:3D:98:78:F9:2F:1C:FB:E7:7F:89:12:CD:D5:B2:ED' is not "
     "40 hex digits (with or without ':' between bytes)"},
    {"x509-fingerprint-sha256", "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
     "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", NULL},
    {"mutex", "Global\\MsWinZonesCacheCounterMutexA", "Global\\MsWinZonesCacheCounterMutexA", NULL},
    {"mutex", " evil", NULL, "mutex: ' evil' starts or ends with a space"},
    {"mutex", "a\nb", NULL,
     "mutex: 'a\\x0ab' contains a control character (a line break or a tab?)"},
    {"regkey", "HKLM\\Software\\Microsoft\\Windows\\CurrentVersion\\Run\\updater",
     "HKEY_LOCAL_MACHINE\\Software\\Microsoft\\Windows\\CurrentVersion\\Run\\updater", NULL},
    {"regkey", "hkey_current_user\\Software\\x", "HKEY_CURRENT_USER\\Software\\x", NULL},
    {"regkey", "HKLM\\\\Software", NULL,
     "regkey: 'HKLM\\x5c\\x5cSoftware' has an empty key name (a doubled, leading or trailing "
     "backslash?)"},
    {"regkey", "Software\\Wow6432Node\\Run", "Software\\Wow6432Node\\Run", NULL},
    {"regkey", "HKCUX\\Run", "HKCUX\\Run", NULL},
    {"regkey", "HKCU", NULL, "regkey: 'HKCU' names a hive but no key in it"},
    {"regkey", "\\Software\\Run", NULL,
     "regkey: '\\x5cSoftware\\x5cRun' has an empty key name (a doubled, leading or trailing "
     "backslash?)"},
    {"regkey|value", "HKCU\\Software\\Run\\svc|C:\\svc.exe -k | more",
     "HKEY_CURRENT_USER\\Software\\Run\\svc|C:\\svc.exe -k | more", NULL},
    {"regkey|value", "HKCU\\Software\\Run\\svc|", NULL,
     "regkey|value: 'HKCU\\x5cSoftware\\x5cRun\\x5csvc|' is not KEY|DATA (like "
     "HKLM\\Software\\Run\\x|C:\\x.exe)"},
    {"user-agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64)",
     "Mozilla/5.0 (Windows NT 10.0; Win64; x64)", NULL},
    {"email-subject",
     "Rechnung Nr. 4711 \xe2\x80\x93 bitte pr\xc3\xbc"
     "fen",
     "Rechnung Nr. 4711 \xe2\x80\x93 bitte pr\xc3\xbc"
     "fen",
     NULL},
    {"vulnerability", "cve-2021-44228", "CVE-2021-44228", NULL},
    {"vulnerability", "CVE-2014-0160", "CVE-2014-0160", NULL},
    {"vulnerability", "CVE-2024-1234567", "CVE-2024-1234567", NULL},
    {"vulnerability", "CVE-2021-123", NULL,
     "vulnerability: 'CVE-2021-123' is not a CVE id (like CVE-2021-44228)"},
    {"vulnerability", "CVE-2021-01234", NULL,
     "vulnerability: 'CVE-2021-01234' is not a CVE id (like CVE-2021-44228)"},
    {"btc", "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", NULL},
    {"btc", "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy", "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy", NULL},
    {"btc", "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb", NULL,
     "btc: '1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb' is not a valid bitcoin address (1..., 3... with "
     "its "
     "checksum, or bc1...)"},
    {"btc", "BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4",
     "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4", NULL},
    /* BIP 350's vectors: bech32m from witness version 1 on */
    {"btc", "bc1pw508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7kt5nd6y",
     "bc1pw508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7kt5nd6y", NULL},
    {"btc", "BC1SW50QGDZ25J", "bc1sw50qgdz25j", NULL},
    {"btc", "bc1zw508d6qejxtdg4y5r3zarvaryvaxxpcs", "bc1zw508d6qejxtdg4y5r3zarvaryvaxxpcs", NULL},
    /* BIP 173's old version-1 vector: a bech32 checksum where bech32m is due */
    {"btc", "bc1pw508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7k7grplx", NULL,
     "btc: 'bc1pw508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7k7grplx' is not a "
     "valid bc1 address (bech32/bech32m checksum, one case)"},
    {"btc", "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5", NULL,
     "btc: 'bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5' is not a valid bc1 address (bech32/bech32m "
     "checksum, one case)"},
    {"btc", "bc1Qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4", NULL,
     "btc: 'bc1Qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4' is not a valid bc1 address (bech32/bech32m "
     "checksum, one case)"},
    {"yara", "rule demo : tag {\n  strings:\n    $a = \"evil\"\n  condition:\n    $a\n}\n",
     "rule demo : tag {\n  strings:\n    $a = \"evil\"\n  condition:\n    $a\n}\n", NULL},
    {"yara", "import \"pe\"\r\nprivate rule x { condition: pe.is_dll() }",
     "import \"pe\"\r\nprivate rule x { condition: pe.is_dll() }", NULL},
    {"yara", "demo { condition: true }", NULL,
     "yara: 'demo { condition: true }' is not a YARA rule (\"rule NAME { ... }\")"},
    {"yara", "rule a {\x01}", NULL,
     "yara: 'rule a {\\x01}' contains a control character other than tab, CR and LF"},
    {"sigma",
     "title: x\nlogsource:\n  product: windows\ndetection:\n  sel:\n    Image: x\n  "
     "condition: sel\n",
     "title: x\nlogsource:\n  product: windows\ndetection:\n  sel:\n    Image: x\n  "
     "condition: sel\n",
     NULL},
    {"sigma", "title: x\nlogsource:\n  product: windows\n", NULL,
     "sigma: 'title: x\\x0alogsource:\\x0a  product: windows\\x0a' is not a Sigma rule (needs "
     "top-level title:, logsource: and detection:)"},
    {"snort", "alert tcp any any -> any 80 (msg:\"x\"; content:\"evil\"; sid:1000001; rev:1;)",
     "alert tcp any any -> any 80 (msg:\"x\"; content:\"evil\"; sid:1000001; rev:1;)", NULL},
    {"suricata", "drop dns any any -> any any (dns.query; content:\"evil\"; sid:2;)\r\n",
     "drop dns any any -> any any (dns.query; content:\"evil\"; sid:2;)\r\n", NULL},
    {"snort", "alert tcp any any -> any 80 ( msg:\"x\" ; sid : 7 ;)",
     "alert tcp any any -> any 80 ( msg:\"x\" ; sid : 7 ;)", NULL},
    {"snort", "alert tcp any any -> any 80 (msg:\"x\"; rev:1;)", NULL,
     "snort: 'alert tcp any any -> any 80 (msg:\"x\"; rev:1;)' has no sid option (a snort rule "
     "needs \"sid:N;\")"},
    /* "sid:" inside quoted text, or as part of another option's name, is not a sid */
    {"suricata", "alert http any any -> any any (content:\"a\\\";sid:1;\"; gid:1;)", NULL,
     "suricata: 'alert http any any -> any any (content:\"a\\x5c\";sid:1;\"; gid:1;)' has no sid "
     "option (a suricata rule needs \"sid:N;\")"},
    {"suricata", "alert ip any any -> any any (msg:\"x\"; xsid:1;)", NULL,
     "suricata: 'alert ip any any -> any any (msg:\"x\"; xsid:1;)' has no sid option (a "
     "suricata rule needs \"sid:N;\")"},
    {"suricata", "alerts tcp any any -> any 80 (sid:1;)", NULL,
     "suricata: 'alerts tcp any any -> any 80 (sid:1;)' is not a suricata rule (\"alert ... "
     "(msg:...; sid:...;)\")"},
};

static void test_indicator_normalise(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof norm_cases / sizeof norm_cases[0]; i++) {
        const struct norm_case *c = &norm_cases[i];
        char out[LIMIT_VALUE_BYTES + 1];
        char why[TS_WHY_LEN] = "";
        int t = proto_itype_parse(c->type);
        assert_true(t > 0);
        int rc = proto_indicator_normalise(t, c->in, out, sizeof out, why, sizeof why);
        if (c->out != NULL) {
            if (rc != PROTO_OK || strcmp(out, c->out) != 0)
                fail_msg("%s '%s': got %d '%s' (%s), want '%s'", c->type, c->in, rc, out, why,
                         c->out);
            /* Normal forms are fixed points. */
            char again[LIMIT_VALUE_BYTES + 1];
            assert_int_equal(proto_indicator_normalise(t, out, again, sizeof again, NULL, 0), 0);
            assert_string_equal(again, out);
        } else if (rc != PROTO_E_VALUE || strcmp(why, c->why) != 0) {
            fail_msg("%s '%s': got %d '%s', want %d '%s'", c->type, c->in, rc, why,
                     PROTO_E_VALUE, c->why);
        }
    }
}

static void test_indicator_limits(void **state)
{
    (void)state;
    static char in[LIMIT_VALUE_BYTES + 2];
    static char out[LIMIT_VALUE_BYTES + 1];
    char why[TS_WHY_LEN];
    memset(in, 'a', LIMIT_VALUE_PLAIN_BYTES + 1);
    in[LIMIT_VALUE_PLAIN_BYTES + 1] = '\0';
    assert_int_equal(proto_indicator_normalise(PROTO_ITYPE_FILENAME, in, out, sizeof out, why,
                                               sizeof why),
                     PROTO_E_TOOBIG);
    assert_non_null(strstr(why, "filename: 'aaaa"));
    assert_non_null(strstr(why, "...' is longer than 2048 bytes"));

    /* A rule may be LIMIT_RULE_BYTES long, kept byte for byte; one byte more is refused. */
    static const char head[] = "rule big {\n condition: true\n}\n";
    memcpy(in, head, sizeof head - 1);
    memset(in + sizeof head - 1, '\n', LIMIT_RULE_BYTES - (sizeof head - 1));
    in[LIMIT_RULE_BYTES] = '\0';
    assert_int_equal(proto_indicator_normalise(PROTO_ITYPE_YARA, in, out, sizeof out, why,
                                               sizeof why),
                     PROTO_OK);
    assert_memory_equal(out, in, LIMIT_RULE_BYTES + 1);
    in[LIMIT_RULE_BYTES] = '\n';
    in[LIMIT_RULE_BYTES + 1] = '\0';
    assert_int_equal(proto_indicator_normalise(PROTO_ITYPE_YARA, in, out, sizeof out, why,
                                               sizeof why),
                     PROTO_E_TOOBIG);
    assert_non_null(strstr(why, "' is longer than 6144 bytes"));
    assert_true(proto_itype_is_rule(PROTO_ITYPE_SIGMA) && !proto_itype_is_rule(PROTO_ITYPE_MUTEX));

    /* A name at exactly 253 characters passes, 254 does not. */
    char name[260];
    memset(name, 'a', sizeof name);
    for (int i = 63; i < 253; i += 64)
        name[i] = '.';
    name[253] = '\0';
    assert_int_equal(proto_indicator_normalise(PROTO_ITYPE_DOMAIN, name, out, sizeof out, NULL, 0),
                     PROTO_OK);
    name[253] = 'a';
    name[254] = '\0';
    assert_int_equal(proto_indicator_normalise(PROTO_ITYPE_DOMAIN, name, out, sizeof out, why,
                                               sizeof why),
                     PROTO_E_VALUE);
    assert_non_null(strstr(why, "is longer than 253 characters"));

    /* Output buffer too small for the normal form. */
    assert_int_equal(proto_indicator_normalise(PROTO_ITYPE_IP_DST, "192.0.2.1", out, 5, NULL, 0),
                     PROTO_E_NOSPACE);
    assert_int_equal(proto_indicator_normalise(99, "x", out, sizeof out, why, sizeof why),
                     PROTO_E_VALUE);
}

static void test_itype_names(void **state)
{
    (void)state;
    for (int t = PROTO_ITYPE_IP_SRC; t < PROTO_ITYPE_END; t++)
        assert_int_equal(proto_itype_parse(proto_itype_name(t)), t);
    assert_int_equal(proto_itype_parse("IP-DST"), -1);
    assert_int_equal(proto_itype_parse(""), -1);
    assert_null(proto_itype_name(0));
    assert_null(proto_itype_name(PROTO_ITYPE_END));
    assert_string_equal(proto_itype_name(PROTO_ITYPE_SHA512), "sha512");
    /* The codes are the wire's and the store's: appended, never renumbered. */
    assert_int_equal(PROTO_ITYPE_FILENAME, 12);
    assert_int_equal(proto_itype_parse("ip-dst|port"), 13);
    assert_int_equal(proto_itype_parse("AS"), 16);
    assert_int_equal(proto_itype_parse("as"), -1);
    assert_int_equal(proto_itype_parse("suricata"), 34);
    assert_int_equal(PROTO_ITYPE_END, 35);
}

static void test_utf8(void **state)
{
    (void)state;
    assert_true(proto_utf8_valid("", 0));
    assert_true(proto_utf8_valid("\x7f\xc2\x80\xdf\xbf\xe0\xa0\x80\xef\xbf\xbf", 11));
    assert_true(proto_utf8_valid("\xf0\x90\x80\x80\xf4\x8f\xbf\xbf", 8));
    assert_false(proto_utf8_valid("\xc1\xbf", 2));         /* overlong 2 */
    assert_false(proto_utf8_valid("\xe0\x9f\xbf", 3));     /* overlong 3 */
    assert_false(proto_utf8_valid("\xf0\x8f\xbf\xbf", 4)); /* overlong 4 */
    assert_false(proto_utf8_valid("\xed\xbf\xbf", 3));     /* surrogate */
    assert_false(proto_utf8_valid("\xf4\x90\x80\x80", 4)); /* > U+10FFFF */
    assert_false(proto_utf8_valid("\xf5\x80\x80\x80", 4));
    assert_false(proto_utf8_valid("\x80", 1));
    assert_false(proto_utf8_valid("\xc2", 1));
    assert_false(proto_utf8_valid("\xe2\x82", 2));
    assert_false(proto_utf8_valid("\xe2\x28\xa1", 3));
    assert_false(proto_utf8_valid("a\0b", 3));
}

/* --- TLP names --- */

static void test_tlp(void **state)
{
    (void)state;
    assert_int_equal(proto_tlp_parse("clear"), PROTO_TLP_CLEAR);
    assert_int_equal(proto_tlp_parse("TLP:WHITE"), PROTO_TLP_CLEAR);
    assert_int_equal(proto_tlp_parse("Green"), PROTO_TLP_GREEN);
    assert_int_equal(proto_tlp_parse("tlp:amber"), PROTO_TLP_AMBER);
    assert_int_equal(proto_tlp_parse("AMBER+STRICT"), PROTO_TLP_AMBER_STRICT);
    assert_int_equal(proto_tlp_parse("red"), PROTO_TLP_RED);
    assert_int_equal(proto_tlp_parse("amber strict"), -1);
    assert_int_equal(proto_tlp_parse("tlp:"), -1);
    assert_int_equal(proto_tlp_parse(""), -1);
    assert_int_equal(proto_tlp_parse("redd"), -1);
    for (int t = 0; t < PROTO_TLP_COUNT; t++)
        assert_int_equal(proto_tlp_parse(proto_tlp_name(t)), t);
    assert_string_equal(proto_tlp_name(PROTO_TLP_AMBER_STRICT), "amber+strict");
    assert_string_equal(proto_tlp_name(5), "?");
    assert_string_equal(proto_tlp_name(-1), "?");
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_indicator_normalise),
        cmocka_unit_test(test_indicator_limits),
        cmocka_unit_test(test_itype_names),
        cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_tlp),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
