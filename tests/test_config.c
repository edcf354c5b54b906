/* test_config.c - node/config: parsing, every diagnostic, and the file editors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "crypto/keys.h"
#include "node/config/config.h"
#include "tests/support/ts_dir.h"
#include "tests/support/ts_file.h"

#define KEY1 "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE="
#define KEY2 "AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI="
#define KEY3 "AwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwM="
#define KEY4 "BAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQ="
#define KEY5 "BQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQU="

#define NODE_OK                                                                                    \
    "[Node]\n"                                                                                     \
    "KeyFile = node.key\n"                                                                         \
    "DataDir = data\n"                                                                             \
    "Network = test-mesh\n"                                                                        \
    "Organisation = CERT-A\n"

struct fixture {
    char *dir;
    char path[128];
    struct config cfg;
    struct config_diag diag;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    f->dir = ts_dir_new("config");
    snprintf(f->path, sizeof(f->path), "%s/node.conf", f->dir);
    config_init(&f->cfg);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    config_free(&f->cfg);
    ts_dir_free_tree(f->dir);
    free(f);
    return 0;
}

static void write_text(const char *path, const char *text)
{
    ts_file_write(path, text, strlen(text));
    assert_int_equal(chmod(path, 0600), 0); /* as init writes it; inline secrets need that */
}

static int load(struct fixture *f, const char *text)
{
    write_text(f->path, text);
    return config_load(f->path, &f->cfg, &f->diag);
}

/* Asserts that some diag line ends with "node.conf:" + want (want starts with the line). */
static void assert_diag(const struct fixture *f, const char *want)
{
    char full[LIMIT_CONFIG_DIAG_BYTES];
    snprintf(full, sizeof(full), "%s:%s", f->path, want);
    for (size_t i = 0; i < f->diag.count; i++)
        if (strcmp(f->diag.lines[i], full) == 0)
            return;
    for (size_t i = 0; i < f->diag.count; i++)
        print_message("diag: %s\n", f->diag.lines[i]);
    fail_msg("missing diag: %s", full);
}

/* Loads text, expects CONFIG_E_INVALID with exactly one problem: "node.conf:" + want. */
static void expect_one(struct fixture *f, const char *text, const char *want)
{
    assert_int_equal(load(f, text), CONFIG_E_INVALID);
    assert_diag(f, want);
    for (size_t i = 0; f->diag.count != 1 && i < f->diag.count; i++)
        print_message("diag: %s\n", f->diag.lines[i]);
    assert_int_equal(f->diag.count, 1);
}

/* The first ```ini block of docs/CONFIG.md. */
static char *docs_example(void)
{
    size_t len;
    char *doc = ts_file_read(TLPMESH_SOURCE_DIR "/docs/CONFIG.md", &len);
    char *start = strstr(doc, "```ini\n");
    assert_non_null(start);
    start += strlen("```ini\n");
    char *end = strstr(start, "```\n");
    assert_non_null(end);
    *end = '\0';
    memmove(doc, start, (size_t)(end - start) + 1);
    return doc;
}

static void test_docs_example(void **state)
{
    struct fixture *f = *state;
    char *text = docs_example();
    assert_int_equal(load(f, text), CONFIG_OK);
    free(text);
    assert_int_equal(f->diag.count, 0);
    const struct config *c = &f->cfg;
    char want[PATH_MAX + 32];
    char dir[PATH_MAX];
    assert_non_null(realpath(f->dir, dir));
    assert_string_equal(c->dir, dir);
    snprintf(want, sizeof(want), "%s/node.key", dir);
    assert_string_equal(c->key_file, want);
    snprintf(want, sizeof(want), "%s/data", dir);
    assert_string_equal(c->data_dir, want);
    snprintf(want, sizeof(want), "%s/control.sock", dir);
    assert_string_equal(c->control_path, want);
    assert_true(c->has_listen);
    assert_string_equal(c->listen.host, "0.0.0.0");
    assert_int_equal(c->listen.port, 7401);
    assert_string_equal(c->network, "eu-cert-mesh");
    assert_string_equal(c->organisation, "CERT-A");
    assert_int_equal(c->n_roster_owners, 1);
    uint8_t k[LIMIT_KEY_BYTES];
    memset(k, 1, sizeof(k));
    assert_memory_equal(c->roster_owners[0], k, sizeof(k));

    assert_int_equal(c->n_peers, 3);
    const struct config_peer *b = &c->peers[0], *dr = &c->peers[1], *grid = &c->peers[2];
    memset(k, 2, sizeof(k));
    assert_memory_equal(b->key, k, sizeof(k));
    assert_string_equal(b->key_b64, KEY2);
    assert_true(b->has_endpoint);
    assert_string_equal(b->endpoint.host, "cert-b.example.org");
    assert_int_equal(b->endpoint.port, 7401);
    assert_string_equal(b->organisation, "CERT-B");
    assert_int_equal(b->n_communities, 2);
    assert_string_equal(b->communities[0], "energy-isac");
    assert_string_equal(b->communities[1], "eu-csirts");
    assert_int_equal(b->max_tlp, PROTO_TLP_AMBER);
    assert_int_equal(b->relation, CONFIG_RELATION_PARTNER);
    assert_string_equal(b->name, "cert-b");
    assert_int_equal(b->line, 12);
    assert_int_equal(b->last_line, 18);

    assert_string_equal(dr->key_b64, KEY3);
    assert_true(dr->has_endpoint);
    assert_string_equal(dr->endpoint.host, "2001:db8::10");
    assert_int_equal(dr->endpoint.port, 7401);
    assert_string_equal(dr->organisation, "CERT-A");
    assert_int_equal(dr->n_communities, 0);
    assert_int_equal(dr->max_tlp, PROTO_TLP_RED);
    assert_int_equal(dr->relation, CONFIG_RELATION_PARTNER);
    assert_string_equal(dr->name, "cert-a-dr");
    assert_int_equal(dr->line, 21);

    assert_string_equal(grid->key_b64, KEY4);
    assert_false(grid->has_endpoint);
    assert_string_equal(grid->organisation, "GridCo");
    assert_int_equal(grid->max_tlp, PROTO_TLP_AMBER);
    assert_int_equal(grid->relation, CONFIG_RELATION_CLIENT);
    assert_string_equal(grid->name, "gridco");
    assert_int_equal(grid->line, 29);
    assert_int_equal(grid->last_line, 33);

    memset(k, 4, sizeof(k));
    assert_ptr_equal(config_find_peer(c, k), grid);
    memset(k, 9, sizeof(k));
    assert_null(config_find_peer(c, k));
}

static void test_minimal_and_syntax(void **state)
{
    struct fixture *f = *state;
    /* case-insensitive keys, CRLF, BOM, tabs, comments, absolute paths, no Listen, no peers */
    assert_int_equal(load(f, "\xef\xbb\xbf; top comment\r\n"
                             "[node]\r\n"
                             "\tkeyfile=/etc/tlpmesh/node.key ; trailing\r\n"
                             "DATADIR = /var/lib/tlpmesh\r\n"
                             "network = m#x\r\n"
                             "organisation = CERT \xc3\x96\r\n"),
                     CONFIG_OK);
    assert_string_equal(f->cfg.key_file, "/etc/tlpmesh/node.key");
    assert_string_equal(f->cfg.data_dir, "/var/lib/tlpmesh");
    assert_string_equal(f->cfg.control_path, "/var/lib/tlpmesh/control.sock");
    assert_string_equal(f->cfg.network, "m");
    assert_string_equal(f->cfg.organisation, "CERT \xc3\x96");
    assert_false(f->cfg.has_listen);
    assert_int_equal(f->cfg.n_peers, 0);
}

static void test_cannot_open(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(config_load(f->path, &f->cfg, &f->diag), CONFIG_E_IO);
    assert_int_equal(f->diag.count, 1);
    char want[256];
    snprintf(want, sizeof(want), "%s: cannot open: No such file or directory", f->path);
    assert_string_equal(f->diag.lines[0], want);
    assert_int_equal(f->cfg.n_peers, 0);
}

static void test_too_big(void **state)
{
    struct fixture *f = *state;
    size_t len = LIMIT_CONFIG_BYTES + 1;
    char *big = malloc(len);
    assert_non_null(big);
    memset(big, '\n', len);
    ts_file_write(f->path, big, len);
    free(big);
    assert_int_equal(config_load(f->path, &f->cfg, &f->diag), CONFIG_E_INVALID);
    char want[256];
    snprintf(want, sizeof(want), "%s: file too big (1048577 bytes; limit 1048576)", f->path);
    assert_int_equal(f->diag.count, 1);
    assert_string_equal(f->diag.lines[0], want);
}

static void test_long_lines(void **state)
{
    struct fixture *f = *state;
    char text[4096];
    char comment[1100];
    memset(comment, 'x', sizeof(comment));
    comment[1023 - 2] = '\0'; /* "# " + 1021 = 1023 bytes: allowed */
    char longname[200];
    memset(longname, 'n', sizeof(longname));
    longname[190] = '\0';
    snprintf(text, sizeof(text), NODE_OK "# %s\n# %sxx\nName = %s\n", comment, comment, longname);
    assert_int_equal(load(f, text), CONFIG_E_INVALID);
    assert_diag(f, "7: line too long (1025 bytes; limit 1024)");
    assert_diag(f, "8: setting too long (197 bytes without its comment; limit 196)");
    assert_int_equal(f->diag.count, 2);
}

static void test_each_error(void **state)
{
    struct fixture *f = *state;
    expect_one(f, NODE_OK "Colour = red\n", "6: unknown key 'Colour' in [Node]");
    expect_one(f, NODE_OK "[Interface]\nAddress = x\n",
               "6: unknown section [Interface] (expected [Node], [Peer], [HTTP] or [Client])");
    expect_one(f, "KeyFile = x\n" NODE_OK,
               "1: KeyFile: setting outside a section (put it under [Node] or [Peer])");
    expect_one(f, NODE_OK "network = other\n", "6: Network: duplicate key (first at line 4)");
    expect_one(f, NODE_OK "[Node]\n", "6: duplicate [Node] section (first at line 1)");
    expect_one(f, NODE_OK "this is not a setting\n", "6: expected '[Section]' or 'Key = Value'");
    expect_one(f, NODE_OK "[Peer\n", "6: expected '[Section]' or 'Key = Value'");
    expect_one(f, NODE_OK "Listen =\n", "6: Listen: empty value");
    expect_one(f, NODE_OK "Listen = 127.0.0.1\n", "6: Listen: '127.0.0.1': expected HOST:PORT");
    expect_one(f, NODE_OK "Listen = ::1:7401\n",
               "6: Listen: '::1:7401': an IPv6 address needs brackets: [ADDRESS]:PORT");
    expect_one(f, NODE_OK "Listen = [::g]:7401\n",
               "6: Listen: '[::g]:7401': '::g' is not an IPv6 address");
    expect_one(f, NODE_OK "Listen = host_1:7401\n",
               "6: Listen: 'host_1:7401': 'host_1' is not a host name or IPv4 address");
    expect_one(f, NODE_OK "Listen = 127.0.0.1:65536\n",
               "6: Listen: '127.0.0.1:65536': port '65536' is not a number from 1 to 65535");
    expect_one(f, NODE_OK "TrustRosterOwner = abc\n",
               "6: TrustRosterOwner: 'abc' is not a public key (base64 of 32 bytes, 44 "
               "characters)");
    expect_one(f, NODE_OK "TrustRosterOwner = " KEY1 "\nTrustRosterOwner = " KEY1 "\n",
               "7: TrustRosterOwner: '" KEY1 "' is listed twice");
    expect_one(f, "[Node]\nKeyFile = k\nDataDir = d\nNetwork = n\nOrganisation = \xc3\x28\n",
               "5: Organisation: '\xc3\x28' is not valid UTF-8");
    expect_one(f,
               NODE_OK "\n[Peer]\nPublicKey = " KEY1 "\nName = "
                       "12345678901234567890123456789012345678901234567890123456789012345\n",
               "9: Name: '12345678901234567890123456789012345678901234567890123456789012345' "
               "is 65 bytes; names are 1 to 64 bytes");
    expect_one(f, NODE_OK "[Peer]\nPublicKey = " KEY1 "\nCommunity = \xed\xa0\x80\n",
               "8: Community: '\xed\xa0\x80' is not valid UTF-8");
    expect_one(f, NODE_OK "[Peer]\nPublicKey = " KEY1 "\nCommunity = \xc0\xaf\n",
               "8: Community: '\xc0\xaf' is not valid UTF-8");
    expect_one(f, NODE_OK "[Peer]\nPublicKey = " KEY1 "\nCommunity = \xe2\x82\n",
               "8: Community: '\xe2\x82' is not valid UTF-8");
    expect_one(f, NODE_OK "[Peer]\nPublicKey = " KEY1 "\nMaxTLP = purple\n",
               "8: MaxTLP: 'purple' is not a TLP level (clear, green, amber, amber+strict, red)");
    expect_one(f, NODE_OK "[Peer]\nPublicKey = " KEY1 "\nRelation = friend\n",
               "8: Relation: 'friend' is neither partner nor client");
    expect_one(f, NODE_OK "[Peer]\nPublicKey = " KEY1 "\nEndpoint = 10.0.0.1:0\n",
               "8: Endpoint: '10.0.0.1:0': port '0' is not a number from 1 to 65535");
    expect_one(f, NODE_OK "[Peer]\nPublicKey = " KEY1 "\nCommunity = a\nCommunity = a\n",
               "9: Community: 'a' is listed twice for this peer");
    expect_one(f, NODE_OK "[Peer]\nPublicKey = " KEY1 "\n[Peer]\nPublicKey = " KEY1 "\n",
               "9: PublicKey: duplicate peer key (also in the [Peer] at line 6)");
    expect_one(f, NODE_OK "[Peer]\nEndpoint = 10.0.0.1:7400\n", "6: [Peer]: missing PublicKey");
    expect_one(f, NODE_OK "[Peer]\nPublicKey = " KEY1 "\nKeyFile = x\n",
               "8: unknown key 'KeyFile' in [Peer]");
    expect_one(f, NODE_OK "Bell = \a\n", "6: control character (byte 0x07) in column 8");
}

static void test_missing_required(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(load(f, "# node\n[Node]\nListen = [::]:7400\n"), CONFIG_E_INVALID);
    assert_diag(f, "2: [Node]: missing KeyFile");
    assert_diag(f, "2: [Node]: missing DataDir");
    assert_diag(f, "2: [Node]: missing Network");
    assert_diag(f, "2: [Node]: missing Organisation");
    assert_int_equal(f->diag.count, 4);

    assert_int_equal(load(f, "# nothing\n"), CONFIG_E_INVALID);
    char want[256];
    snprintf(want, sizeof(want), "%s: missing [Node] section", f->path);
    assert_int_equal(f->diag.count, 1);
    assert_string_equal(f->diag.lines[0], want);
}

static void test_control_path_too_long(void **state)
{
    struct fixture *f = *state;
    char text[1024];
    char dir[120];
    memset(dir, 'd', sizeof(dir));
    dir[110] = '\0';
    snprintf(text, sizeof(text), NODE_OK "Control = /%s\n", dir);
    assert_int_equal(load(f, text), CONFIG_E_INVALID);
    assert_int_equal(f->diag.count, 1);
    assert_non_null(strstr(f->diag.lines[0], "node.conf:6: Control: socket path '/ddd"));
    assert_non_null(strstr(f->diag.lines[0], "' is 111 bytes; Unix sockets allow 107"));
}

static void test_many_problems(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(load(f, "[Node]\n"
                             "KeyFile = node.key\n"
                             "Listen = nowhere\n"
                             "Organisation = CERT-A\n"
                             "Network = n\n"
                             "\n"
                             "[Peer]\n"
                             "PublicKey = " KEY1 "\n"
                             "MaxTLP = purple\n"
                             "Colour = blue\n"
                             "[Peer]\n"
                             "PublicKey = short\n"
                             "Relation = client\n"
                             "Relation = client\n"),
                     CONFIG_E_INVALID);
    assert_diag(f, "3: Listen: 'nowhere': expected HOST:PORT");
    assert_diag(f,
                "9: MaxTLP: 'purple' is not a TLP level (clear, green, amber, amber+strict, red)");
    assert_diag(f, "10: unknown key 'Colour' in [Peer]");
    assert_diag(f,
                "12: PublicKey: 'short' is not a public key (base64 of 32 bytes, 44 characters)");
    assert_diag(f, "14: Relation: duplicate key (first at line 13)");
    assert_diag(f, "1: [Node]: missing DataDir");
    assert_int_equal(f->diag.count, 6);

    char *out = NULL;
    size_t out_len = 0;
    FILE *mem = open_memstream(&out, &out_len);
    assert_non_null(mem);
    assert_int_equal(config_check(f->path, mem), 6);
    fclose(mem);
    assert_non_null(strstr(out, ":14: Relation: duplicate key (first at line 13)\n"));
    free(out);
}

static void test_too_many(void **state)
{
    struct fixture *f = *state;
    size_t cap = 256 * 1024; /* LIMIT_PEERS + 1 sections of 66 bytes */
    char *text = malloc(cap);
    assert_non_null(text);
    size_t len = (size_t)snprintf(text, cap, NODE_OK);
    for (int i = 0; i <= LIMIT_PEERS; i++) {
        uint8_t k[LIMIT_KEY_BYTES] = {(uint8_t)i, (uint8_t)(i >> 8), 7};
        char b64[LIMIT_PUBKEY_B64_LEN + 1];
        keys_pubkey_to_b64(k, b64);
        len += (size_t)snprintf(text + len, cap - len, "[Peer]\nPublicKey = %s\n", b64);
    }
    for (int i = 0; i <= LIMIT_PEER_COMMUNITIES; i++)
        len += (size_t)snprintf(text + len, cap - len, "Community = c%d\n", i);
    assert_true(len < cap);
    assert_int_equal(load(f, text), CONFIG_E_INVALID);
    free(text);
    /* the extra peer starts at line 5 + 2 * LIMIT_PEERS + 1; its communities go with it */
    char want[64];
    snprintf(want, sizeof want, "%d: too many [Peer] sections (limit %d)", 5 + 2 * LIMIT_PEERS + 1,
             LIMIT_PEERS);
    assert_diag(f, want);
    assert_int_equal(f->diag.count, 1);
    assert_int_equal(f->cfg.n_peers, 0); /* freed on failure */

    text = malloc(cap);
    assert_non_null(text);
    len = (size_t)snprintf(text, cap, NODE_OK "[Peer]\nPublicKey = " KEY1 "\n");
    for (int i = 0; i <= LIMIT_PEER_COMMUNITIES; i++)
        len += (size_t)snprintf(text + len, cap - len, "Community = c%d\n", i);
    assert_int_equal(load(f, text), CONFIG_E_INVALID);
    free(text);
    assert_diag(f, "24: Community: too many for one peer (limit 16)");
    assert_int_equal(f->diag.count, 1);
}

static void test_diag_overflow(void **state)
{
    struct fixture *f = *state;
    char *text = malloc(64 * 1024);
    assert_non_null(text);
    size_t len = (size_t)sprintf(text, NODE_OK);
    for (int i = 0; i < LIMIT_CONFIG_DIAGS + 10; i++)
        len += (size_t)sprintf(text + len, "Bad%d = 1\n", i);
    assert_int_equal(load(f, text), CONFIG_E_INVALID);
    free(text);
    assert_int_equal(f->diag.count, LIMIT_CONFIG_DIAGS);
    assert_int_equal(f->diag.dropped, 10);
    char *out = NULL;
    size_t out_len = 0;
    FILE *mem = open_memstream(&out, &out_len);
    assert_int_equal(config_diag_print(&f->diag, mem), LIMIT_CONFIG_DIAGS + 10);
    fclose(mem);
    assert_non_null(strstr(out, "\n10 more problems not shown\n"));
    free(out);
}

#define BASE_FILE                                                                                  \
    "# my node\n" NODE_OK "Listen = 127.0.0.1:7401   # local only\n"                               \
    "\n"                                                                                           \
    "# CERT-B, contact soc@cert-b.example\n"                                                       \
    "[Peer]\n"                                                                                     \
    "PublicKey = " KEY2 "\n"                                                                       \
    "Endpoint = 127.0.0.1:7402\n"                                                                  \
    "# trailing comment of cert-b\n"                                                               \
    "\n"                                                                                           \
    "[Peer]  ; the last one\n"                                                                     \
    "PublicKey = " KEY3 "\n"

static void test_add_remove_roundtrip(void **state)
{
    struct fixture *f = *state;
    write_text(f->path, BASE_FILE);
    assert_int_equal(chmod(f->path, 0640), 0);
    const char *communities[] = {"energy-isac", "eu-csirts"};
    struct config_peer_text p = {.public_key = KEY4,
                                 .endpoint = "[2001:db8::1]:7400",
                                 .organisation = "GridCo",
                                 .communities = communities,
                                 .n_communities = 2,
                                 .max_tlp = "amber+strict",
                                 .relation = "client",
                                 .name = "gridco"};
    char err[LIMIT_CONFIG_DIAG_BYTES] = "";
    assert_int_equal(config_peer_add(f->path, &p, err, sizeof(err)), CONFIG_OK);
    size_t len;
    char *got = ts_file_read(f->path, &len);
    assert_string_equal(got, BASE_FILE "\n[Peer]\nPublicKey = " KEY4 "\n"
                                       "Endpoint = [2001:db8::1]:7400\n"
                                       "Organisation = GridCo\n"
                                       "Community = energy-isac\n"
                                       "Community = eu-csirts\n"
                                       "MaxTLP = amber+strict\n"
                                       "Relation = client\n"
                                       "Name = gridco\n");
    free(got);
    struct stat st;
    assert_int_equal(stat(f->path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0640);
    assert_int_equal(config_load(f->path, &f->cfg, &f->diag), CONFIG_OK);
    assert_int_equal(f->cfg.n_peers, 3);
    assert_int_equal(f->cfg.peers[2].max_tlp, PROTO_TLP_AMBER_STRICT);

    assert_int_equal(config_peer_remove(f->path, KEY4, err, sizeof(err)), CONFIG_OK);
    got = ts_file_read(f->path, &len);
    assert_string_equal(got, BASE_FILE);
    assert_int_equal(len, strlen(BASE_FILE));
    free(got);

    /* removing a middle peer keeps the comments around it */
    assert_int_equal(config_peer_remove(f->path, KEY2, err, sizeof(err)), CONFIG_OK);
    got = ts_file_read(f->path, &len);
    assert_string_equal(got, "# my node\n" NODE_OK "Listen = 127.0.0.1:7401   # local only\n"
                             "\n"
                             "# CERT-B, contact soc@cert-b.example\n"
                             "# trailing comment of cert-b\n"
                             "\n"
                             "[Peer]  ; the last one\n"
                             "PublicKey = " KEY3 "\n");
    free(got);
    /* no temporary file left behind */
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "test $(ls -A '%s' | wc -l) -eq 1", f->dir);
    assert_int_equal(system(cmd), 0);
}

static void assert_file_is(const char *path, const char *want)
{
    size_t len;
    char *got = ts_file_read(path, &len);
    assert_string_equal(got, want);
    free(got);
}

static void test_edit_refusals(void **state)
{
    struct fixture *f = *state;
    write_text(f->path, BASE_FILE);
    char err[LIMIT_CONFIG_DIAG_BYTES];
    char want[512];

    assert_int_equal(config_peer_remove(f->path, KEY5, err, sizeof(err)), CONFIG_E_NOTFOUND);
    snprintf(want, sizeof(want), "%s: no [Peer] with PublicKey " KEY5, f->path);
    assert_string_equal(err, want);
    assert_file_is(f->path, BASE_FILE);

    assert_int_equal(config_peer_remove(f->path, "nonsense", err, sizeof(err)), CONFIG_E_INVALID);
    assert_string_equal(err, "'nonsense' is not a public key (base64 of 32 bytes, 44 characters)");

    struct config_peer_text dup = {.public_key = KEY3};
    assert_int_equal(config_peer_add(f->path, &dup, err, sizeof(err)), CONFIG_E_EXISTS);
    snprintf(want, sizeof(want), "%s:15: peer " KEY3 " is already configured", f->path);
    assert_string_equal(err, want);
    assert_file_is(f->path, BASE_FILE);

    struct config_peer_text bad = {.public_key = KEY5, .max_tlp = "purple"};
    assert_int_equal(config_peer_add(f->path, &bad, err, sizeof(err)), CONFIG_E_INVALID);
    snprintf(want, sizeof(want),
             "%s:20: MaxTLP: 'purple' is not a TLP level (clear, green, amber, amber+strict, red)",
             f->path);
    assert_string_equal(err, want);
    assert_file_is(f->path, BASE_FILE);

    struct config_peer_text badkey = {.public_key = "AAAA"};
    assert_int_equal(config_peer_add(f->path, &badkey, err, sizeof(err)), CONFIG_E_INVALID);
    assert_non_null(strstr(err, ":19: PublicKey: 'AAAA' is not a public key"));

    struct config_peer_text inject = {.public_key = KEY5, .name = "x\n[Node]"};
    assert_int_equal(config_peer_add(f->path, &inject, err, sizeof(err)), CONFIG_E_INVALID);
    assert_string_equal(err, "Name: 'x\n[Node]' contains '#', ';' or a control character");
    assert_file_is(f->path, BASE_FILE);

    /* an invalid file is not edited */
    write_text(f->path, NODE_OK "Colour = red\n");
    struct config_peer_text ok = {.public_key = KEY5};
    assert_int_equal(config_peer_add(f->path, &ok, err, sizeof(err)), CONFIG_E_INVALID);
    snprintf(want, sizeof(want),
             "%s is not valid, fix it first (tlpmesh check-config): %s:6: unknown key 'Colour' in "
             "[Node]",
             f->path, f->path);
    assert_string_equal(err, want);
    assert_file_is(f->path, NODE_OK "Colour = red\n");
}

static void test_write_initial(void **state)
{
    struct fixture *f = *state;
    char err[LIMIT_CONFIG_DIAG_BYTES];
    struct config_initial init = {
        .organisation = "CERT-A", .network = "eu-cert-mesh", .listen = "0.0.0.0:7400"};
    mode_t old = umask(077);
    assert_int_equal(config_write_initial(f->path, &init, err, sizeof(err)), CONFIG_OK);
    umask(old);
    struct stat st;
    assert_int_equal(stat(f->path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    assert_int_equal(config_load(f->path, &f->cfg, &f->diag), CONFIG_OK);
    assert_string_equal(f->cfg.organisation, "CERT-A");
    assert_string_equal(f->cfg.network, "eu-cert-mesh");
    assert_true(f->cfg.has_listen);
    assert_int_equal(f->cfg.listen.port, 7400);
    assert_int_equal(f->cfg.n_peers, 0);
    char want[PATH_MAX + 32];
    assert_non_null(realpath(f->dir, want));
    strcat(want, "/node.key");
    assert_string_equal(f->cfg.key_file, want);

    size_t len;
    char *before = ts_file_read(f->path, &len);
    struct config_initial other = {.organisation = "X", .network = "y"};
    assert_int_equal(config_write_initial(f->path, &other, err, sizeof(err)), CONFIG_E_EXISTS);
    assert_non_null(strstr(err, "node.conf: cannot create: File exists"));
    assert_file_is(f->path, before);
    free(before);

    /* peer add works on the fresh file */
    struct config_peer_text p = {.public_key = KEY1, .endpoint = "192.0.2.10:7400"};
    assert_int_equal(config_peer_add(f->path, &p, err, sizeof(err)), CONFIG_OK);

    /* bad values: nothing is written */
    char path2[160];
    snprintf(path2, sizeof(path2), "%s/second.conf", f->dir);
    struct config_initial bad = {.organisation = "CERT-A", .network = "n", .listen = "nowhere"};
    assert_int_equal(config_write_initial(path2, &bad, err, sizeof(err)), CONFIG_E_INVALID);
    assert_non_null(strstr(err, "second.conf:8: Listen: 'nowhere': expected HOST:PORT"));
    assert_int_equal(access(path2, F_OK), -1);

    struct config_initial no_listen = {.organisation = "CERT-A", .network = "n"};
    assert_int_equal(config_write_initial(path2, &no_listen, err, sizeof(err)), CONFIG_OK);
    config_free(&f->cfg);
    assert_int_equal(config_load(path2, &f->cfg, &f->diag), CONFIG_OK);
    assert_false(f->cfg.has_listen);
}

static void test_http_and_clients(void **state)
{
    struct fixture *f = *state;
    char secret_path[160], text[2048];
    snprintf(secret_path, sizeof secret_path, "%s/misp.secret", f->dir);
    write_text(secret_path, "file-secret-0123456789\nignored second line\n");
    assert_int_equal(chmod(secret_path, 0600), 0);
    snprintf(text, sizeof text,
             NODE_OK "LogFile = tlpmesh.log\nLogFormat = json\n"
                     "[HTTP]\nListen = 127.0.0.1:8443\nMetricsListen = 127.0.0.1:9464\n"
                     "Anonymous = yes\nMaxPageSize = 250\nSecureCookie = yes\n"
                     "[Client]\nName = opencti\nOrganisation = CERT-B\n"
                     "Secret = inline-secret-0123456789\nScheme = Bearer\nMaxTLP = amber+strict\n"
                     "Relation = client\nCommunity = energy\nCommunity = finance\n"
                     "[Client]\nName = misp\nOrganisation = CERT-C\nSecretFile = misp.secret\n"
                     "Console = Publisher\n");
    assert_int_equal(load(f, text), CONFIG_OK);
    const struct config *c = &f->cfg;
    char want[300];
    snprintf(want, sizeof want, "%s/tlpmesh.log", f->dir);
    assert_string_equal(c->log_file, want);
    assert_int_equal(c->log_format, 1);
    assert_true(c->http.enabled);
    assert_string_equal(c->http.listen.host, "127.0.0.1");
    assert_int_equal(c->http.listen.port, 8443);
    assert_true(c->http.has_metrics_listen);
    assert_int_equal(c->http.metrics_listen.port, 9464);
    assert_true(c->http.anonymous);
    assert_int_equal(c->http.max_page_size, 250);
    assert_true(c->http.secure_cookie);
    assert_int_equal(c->n_clients, 2);
    const struct config_client *o = config_find_client(c, "opencti");
    assert_non_null(o);
    assert_string_equal(o->organisation, "CERT-B");
    assert_string_equal(o->secret, "inline-secret-0123456789");
    assert_int_equal(o->scheme, CONFIG_SCHEME_BEARER);
    assert_int_equal(o->max_tlp, PROTO_TLP_AMBER_STRICT);
    assert_int_equal(o->relation, CONFIG_RELATION_CLIENT);
    assert_int_equal(o->console, CONFIG_CONSOLE_NONE);
    assert_int_equal(o->n_communities, 2);
    assert_string_equal(o->communities[1], "finance");
    const struct config_client *m = config_find_client(c, "misp");
    assert_string_equal(m->secret, "file-secret-0123456789");
    assert_int_equal(m->scheme, CONFIG_SCHEME_BASIC);
    assert_int_equal(m->max_tlp, PROTO_TLP_AMBER);
    assert_int_equal(m->relation, CONFIG_RELATION_PARTNER);
    assert_int_equal(m->console, CONFIG_CONSOLE_PUBLISHER);
    assert_null(config_find_client(c, "nobody"));

    /* without [HTTP] the server is off; MaxPageSize defaults to 1000 */
    assert_int_equal(load(f, NODE_OK), CONFIG_OK);
    assert_false(f->cfg.http.enabled);
    assert_int_equal(load(f, NODE_OK "[HTTP]\nListen = 127.0.0.1:8443\n"), CONFIG_OK);
    assert_int_equal(f->cfg.http.max_page_size, LIMIT_TAXII_PAGE_DEFAULT);
    assert_false(f->cfg.http.anonymous);
    assert_false(f->cfg.http.secure_cookie);

    expect_one(f, NODE_OK "[HTTP]\nAnonymous = yes\n", "6: [HTTP]: missing Listen");
    expect_one(f, NODE_OK "[HTTP]\nListen = 127.0.0.1:1\nMaxPageSize = 0\n",
               "8: MaxPageSize: '0' is not a number from 1 to 10000");
    expect_one(f, NODE_OK "[HTTP]\nListen = 127.0.0.1:1\nAnonymous = maybe\n",
               "8: Anonymous: 'maybe' is neither yes nor no");
    expect_one(f, NODE_OK "[HTTP]\nListen = 127.0.0.1:1\n[HTTP]\nListen = 127.0.0.1:2\n",
               "8: duplicate [HTTP] section (first at line 6)");
    expect_one(f, NODE_OK "LogFormat = xml\n", "6: LogFormat: 'xml' is neither text nor json");
#define CLIENT "[Client]\nName = a\nOrganisation = X\n"
    expect_one(f, NODE_OK CLIENT, "6: [Client]: missing Secret or SecretFile");
    expect_one(f, NODE_OK "[Client]\nOrganisation = X\nSecret = 0123456789abcdef\n",
               "6: [Client]: missing Name");
    expect_one(f, NODE_OK CLIENT "Secret = short\n",
               "9: Secret: a secret must be 16 to 256 bytes long (this one is 5)");
    expect_one(f, NODE_OK CLIENT "Secret = 0123456789abcdef\nSecretFile = misp.secret\n",
               "10: SecretFile: the client already has a secret (give Secret or SecretFile, "
               "not both)");
    expect_one(f, NODE_OK CLIENT "Secret = 0123456789abcdef\nMaxTLP = red\n",
               "10: MaxTLP: red is never served over HTTP (RED goes only to the recipient node "
               "keys a record names)");
    expect_one(f, NODE_OK CLIENT "Secret = 0123456789abcdef\nScheme = digest\n",
               "10: Scheme: 'digest' is not basic, bearer or token");
    expect_one(f, NODE_OK CLIENT "Secret = 0123456789abcdef\nConsole = admin\n",
               "10: Console: 'admin' is not reader, publisher or no");
    expect_one(f, NODE_OK CLIENT "Secret = 0123456789abcdef\nScheme = bearer\nConsole = reader\n",
               "6: [Client]: Console needs Scheme = basic (the sign-in is Name and Secret)");
    expect_one(f, NODE_OK "[HTTP]\nListen = 127.0.0.1:1\nSecureCookie = 1\n",
               "8: SecureCookie: '1' is neither yes nor no");
    expect_one(f, NODE_OK "[Client]\nName = a:b\nOrganisation = X\nSecret = 0123456789abcdef\n",
               "7: Name: 'a:b' must not contain ':'");
    expect_one(f, NODE_OK CLIENT "Secret = 0123456789abcdef\n" CLIENT
                              "Secret = 0123456789abcdeg\n",
               "11: Name: duplicate client name 'a' (also in the [Client] at line 6)");
    assert_int_equal(chmod(secret_path, 0644), 0);
    snprintf(want, sizeof want, "9: SecretFile: %s is readable by group or others (chmod 600 it)",
             secret_path);
    expect_one(f, NODE_OK CLIENT "SecretFile = misp.secret\n", want);
#undef CLIENT
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_docs_example, setup, teardown),
        cmocka_unit_test_setup_teardown(test_minimal_and_syntax, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cannot_open, setup, teardown),
        cmocka_unit_test_setup_teardown(test_too_big, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_lines, setup, teardown),
        cmocka_unit_test_setup_teardown(test_each_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_required, setup, teardown),
        cmocka_unit_test_setup_teardown(test_control_path_too_long, setup, teardown),
        cmocka_unit_test_setup_teardown(test_many_problems, setup, teardown),
        cmocka_unit_test_setup_teardown(test_too_many, setup, teardown),
        cmocka_unit_test_setup_teardown(test_diag_overflow, setup, teardown),
        cmocka_unit_test_setup_teardown(test_add_remove_roundtrip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_edit_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_initial, setup, teardown),
        cmocka_unit_test_setup_teardown(test_http_and_clients, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
