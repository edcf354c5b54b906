/* test_console_auth.c - the console's pure parts (node/console/console.h): escaping, CSRF
 * tokens, sessions and their expiry, the sign-in limit per address, the page frame. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "node/console/console_int.h"
#include "proto/tlp.h"
#include "tests/gate_fixture.h"

static char *escaped(void (*fn)(FILE *, const char *), const char *text)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    fn(f, text);
    assert_int_equal(fclose(f), 0);
    return buf;
}

static void html_escape_covers_every_special_character(void **state)
{
    (void)state;
    char *s = escaped(console_html_escape, "<script a='1' b=\"2\">x&y</script>");
    assert_string_equal(s, "&lt;script a=&#39;1&#39; b=&quot;2&quot;&gt;x&amp;y&lt;/script&gt;");
    free(s);
    s = escaped(console_html_escape, NULL);
    assert_string_equal(s, "");
    free(s);
    s = escaped(console_url_encode, "a b/\xc3\xbc&q=1-_.~");
    assert_string_equal(s, "a%20b%2F%C3%BC%26q%3D1-_.~");
    free(s);
}

static void csrf_token_is_bound_to_its_token_purpose_and_key(void **state)
{
    (void)state;
    uint8_t key[LIMIT_CONSOLE_TOKEN_BYTES] = {1}, other[LIMIT_CONSOLE_TOKEN_BYTES] = {2};
    char t[CONSOLE_TOKEN_HEX + 1], again[CONSOLE_TOKEN_HEX + 1];
    console_csrf(key, "session", "abc", t);
    console_csrf(key, "session", "abc", again);
    assert_string_equal(t, again);
    assert_int_equal(strlen(t), CONSOLE_TOKEN_HEX);
    assert_true(console_csrf_ok(key, "session", "abc", t));
    assert_false(console_csrf_ok(key, "session", "abd", t));
    assert_false(console_csrf_ok(key, "pre", "abc", t));
    assert_false(console_csrf_ok(other, "session", "abc", t));
    assert_false(console_csrf_ok(key, "session", "abc", NULL));
    assert_false(console_csrf_ok(key, "session", NULL, t));
    assert_false(console_csrf_ok(key, "session", "abc", ""));
    t[5] ^= 1;
    assert_false(console_csrf_ok(key, "session", "abc", t));
}

static void token_of(uint8_t tok[LIMIT_CONSOLE_TOKEN_BYTES], int n)
{
    memset(tok, 0, LIMIT_CONSOLE_TOKEN_BYTES);
    memcpy(tok, &n, sizeof n);
    tok[LIMIT_CONSOLE_TOKEN_BYTES - 1] = 0x5a;
}

static void sessions_are_found_by_token_and_expire(void **state)
{
    (void)state;
    static struct console_sessions t;
    memset(&t, 0, sizeof t);
    uint8_t tok[LIMIT_CONSOLE_TOKEN_BYTES];
    char hex[CONSOLE_TOKEN_HEX + 1];
    token_of(tok, 1);
    const uint64_t t0 = 1000000;
    console_session_new(&t, tok, "alice", t0, hex);
    struct console_session *s = console_session_find(&t, hex, t0 + 1);
    assert_non_null(s);
    assert_string_equal(s->client, "alice");
    assert_null(console_session_find(&t, NULL, t0));
    assert_null(console_session_find(&t, "nothex", t0));
    char wrong[CONSOLE_TOKEN_HEX + 1];
    memcpy(wrong, hex, sizeof wrong);
    wrong[0] = wrong[0] == '0' ? '1' : '0';
    assert_null(console_session_find(&t, wrong, t0));
    /* used within the idle time it lives on, up to the maximum */
    const uint64_t idle = (uint64_t)LIMIT_CONSOLE_SESSION_IDLE_S * 1000;
    uint64_t now = t0;
    while (now + idle - 1 < t0 + (uint64_t)LIMIT_CONSOLE_SESSION_MAX_S * 1000) {
        now += idle - 1;
        assert_non_null(console_session_find(&t, hex, now));
    }
    assert_null(console_session_find(&t, hex, t0 + (uint64_t)LIMIT_CONSOLE_SESSION_MAX_S * 1000 + 1));
    /* unused for longer than the idle time: gone */
    console_session_new(&t, tok, "alice", t0, hex);
    assert_null(console_session_find(&t, hex, t0 + idle + 1));
    /* ended: gone */
    console_session_new(&t, tok, "alice", t0, hex);
    console_session_end(console_session_find(&t, hex, t0));
    assert_null(console_session_find(&t, hex, t0));
}

static void a_full_table_drops_the_least_recently_used(void **state)
{
    (void)state;
    static struct console_sessions t;
    memset(&t, 0, sizeof t);
    char hex[LIMIT_CONSOLE_SESSIONS + 1][CONSOLE_TOKEN_HEX + 1];
    uint8_t tok[LIMIT_CONSOLE_TOKEN_BYTES];
    for (int i = 0; i < LIMIT_CONSOLE_SESSIONS; i++) {
        token_of(tok, i + 1);
        console_session_new(&t, tok, "c", 1000 + (uint64_t)i, hex[i]);
    }
    assert_non_null(console_session_find(&t, hex[0], 5000)); /* the oldest is used again */
    token_of(tok, 999);
    console_session_new(&t, tok, "c", 5001, hex[LIMIT_CONSOLE_SESSIONS]);
    assert_non_null(console_session_find(&t, hex[0], 5002));
    assert_null(console_session_find(&t, hex[1], 5002)); /* the least recently used went */
    assert_non_null(console_session_find(&t, hex[LIMIT_CONSOLE_SESSIONS], 5002));
}

static void failed_signins_are_limited_per_name_and_address_and_window(void **state)
{
    (void)state;
    static struct console_signin_limit l;
    memset(&l, 0, sizeof l);
    const uint64_t t0 = 50000000;
    for (int i = 0; i < LIMIT_CONSOLE_SIGNIN_FAILS; i++) {
        assert_true(console_signin_allowed(&l, "192.0.2.1", "alice", t0));
        console_signin_failed(&l, "192.0.2.1", "alice", t0 + (uint64_t)i);
    }
    assert_false(console_signin_allowed(&l, "192.0.2.1", "alice", t0 + 10));
    /* behind a proxy every analyst has the same address: another name signs in */
    assert_true(console_signin_allowed(&l, "192.0.2.1", "bob", t0 + 10));
    assert_true(console_signin_allowed(&l, "192.0.2.2", "alice", t0 + 10));
    const uint64_t later = t0 + (uint64_t)LIMIT_CONSOLE_SIGNIN_WINDOW_S * 1000;
    assert_true(console_signin_allowed(&l, "192.0.2.1", "alice", later));
    console_signin_failed(&l, "192.0.2.1", "alice", later); /* a new window: one failure */
    assert_true(console_signin_allowed(&l, "192.0.2.1", "alice", later + 1));
    /* spraying across names from one address: the address cap trips, for every name */
    char name[32];
    for (int i = 0; i < LIMIT_CONSOLE_SIGNIN_ADDR_FAILS; i++) {
        snprintf(name, sizeof name, "user%d", i);
        assert_true(console_signin_allowed(&l, "192.0.2.3", name, later));
        console_signin_failed(&l, "192.0.2.3", name, later);
    }
    assert_false(console_signin_allowed(&l, "192.0.2.3", "never-tried", later + 1));
    assert_true(console_signin_allowed(&l, "192.0.2.4", "never-tried", later + 1));
    /* more keys than entries: the tables stay bounded, the newest are counted */
    char addr[48];
    for (int i = 0; i < LIMIT_CONSOLE_SIGNIN_NAMES * 2; i++) {
        snprintf(addr, sizeof addr, "198.51.100.%d", i);
        for (int k = 0; k < LIMIT_CONSOLE_SIGNIN_FAILS; k++)
            console_signin_failed(&l, addr, "alice", later + 10 + (uint64_t)i);
    }
    assert_false(console_signin_allowed(&l, addr, "alice", later + 20 + LIMIT_CONSOLE_SIGNIN_NAMES * 2));
}

static void the_page_frame_escapes_and_carries_the_csrf_token(void **state)
{
    (void)state;
    struct console_who who = {.client = "<b>eve</b>", .publisher = true};
    memset(who.csrf, 'a', CONSOLE_TOKEN_HEX);
    struct console_page p;
    assert_int_equal(console_page_begin(&p, &who, "T<i>"), CONSOLE_OK);
    console_tlp_badge(&p, "amber+strict", true);
    struct http_ui_response resp = {0};
    assert_int_equal(console_page_end(&p, &resp, 200), CONSOLE_OK);
    assert_int_equal(resp.status, 200);
    assert_non_null(strstr(resp.body, "<title>T&lt;i&gt; - tlpmesh</title>"));
    assert_non_null(strstr(resp.body, "&lt;b&gt;eve&lt;/b&gt; (publisher)"));
    assert_null(strstr(resp.body, "<b>eve"));
    assert_non_null(strstr(resp.body, "<a href=\"/ui/publish\">"));
    assert_non_null(strstr(resp.body, "name=\"csrf\" value=\"aaaa"));
    assert_non_null(strstr(resp.body,
                           "<span id=\"tlp\" class=\"tlp tlp-amber-strict\">TLP:AMBER+STRICT</span>"));
    assert_int_equal(resp.body_len, strlen(resp.body));
    free(resp.body);
}

/* The shared CLI checks' messages, as the console shows them: field names for option names,
 * no config file path or line, escaped as any text. */
static void cli_words_become_the_form_s(void **state)
{
    (void)state;
    struct console_page p;
    assert_int_equal(console_page_begin(&p, NULL, "T"), CONSOLE_OK);
    console_error_p(&p, "--confidence 'x<' is not a whole number; --to 'k' --tolerance; "
                        "--type 'q' is not a supported type (see tlpmesh publish --help)");
    fputs("\n[", p.f);
    console_cli_words(&p, "recipient b (k=) cannot receive it: MaxTLP in /etc/t.conf line 12 is "
                          "green; Community in its [Peer], /etc/t.conf line 3", "/etc/t.conf");
    fputs("]", p.f);
    struct http_ui_response resp = {0};
    assert_int_equal(console_page_end(&p, &resp, 200), CONSOLE_OK);
    assert_non_null(strstr(resp.body, "<p id=\"error\">confidence &#39;x&lt;&#39; is not a whole "
                                      "number; to &#39;k&#39; --tolerance; type &#39;q&#39; is not "
                                      "a supported type</p>"));
    assert_non_null(strstr(resp.body, "[recipient b (k=) cannot receive it: MaxTLP in this node&#39;s "
                                      "configuration is green; Community in its [Peer], this "
                                      "node&#39;s configuration]"));
    assert_null(strstr(resp.body, "/etc/t.conf"));
    free(resp.body);
}

/* A sighting may carry a higher TLP or a narrower audience than the record it sights: the record
 * page sums up only those the signed-in client's reader may read, and never a RED one. */
static void sightings_beyond_the_readers_gate_stay_off_the_page(void **state)
{
    (void)state;
    struct gate_self self;
    struct gate_peer reader;
    struct proto_record target, sighting;
    make_self(&self, ORG_DIFFERENT); /* a client of another organisation, signed in */
    make_peer(&reader, true, ORG_DIFFERENT, GATE_RELATION_PARTNER, PROTO_TLP_GREEN);
    make_indicator(&target, PROTO_TLP_GREEN, SH_DEFAULT, NVIA_NONE, false);
    make_sighting(&sighting, PROTO_TLP_GREEN, SH_CP); /* community cp: the reader is in it */
    assert_true(console_sighting_readable(&self, &reader, &sighting, &target, NOW));
    make_sighting(&sighting, PROTO_TLP_AMBER, SH_CP); /* above the reader's MaxTLP */
    assert_false(console_sighting_readable(&self, &reader, &sighting, &target, NOW));
    make_sighting(&sighting, PROTO_TLP_GREEN, SH_CX); /* a community the reader is not in */
    assert_false(console_sighting_readable(&self, &reader, &sighting, &target, NOW));
    make_peer(&reader, true, ORG_DIFFERENT, GATE_RELATION_PARTNER, PROTO_TLP_RED);
    make_sighting(&sighting, PROTO_TLP_RED, SH_RP); /* even addressed to the reader's key */
    assert_false(console_sighting_readable(&self, &reader, &sighting, &target, NOW));
    make_indicator(&sighting, PROTO_TLP_GREEN, SH_DEFAULT, NVIA_NONE, false); /* not a sighting */
    assert_false(console_sighting_readable(&self, &reader, &sighting, &target, NOW));
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(html_escape_covers_every_special_character),
        cmocka_unit_test(csrf_token_is_bound_to_its_token_purpose_and_key),
        cmocka_unit_test(sessions_are_found_by_token_and_expire),
        cmocka_unit_test(a_full_table_drops_the_least_recently_used),
        cmocka_unit_test(failed_signins_are_limited_per_name_and_address_and_window),
        cmocka_unit_test(cli_words_become_the_form_s),
        cmocka_unit_test(the_page_frame_escapes_and_carries_the_csrf_token),
        cmocka_unit_test(sightings_beyond_the_readers_gate_stay_off_the_page),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
