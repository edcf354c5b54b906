/* test_cli_ids.c - record ids on the command line (node/cli/cli_ids.c, issue 11 point 9): a full
 * id or a unique prefix of at least 8 hex digits; an ambiguous prefix is an error naming the
 * candidates. The store is a real LMDB in a temporary directory (ts_store_temp); the ids are
 * chosen (the store takes the caller's id, cli_ids.c never decodes), so that prefixes collide on
 * purpose, which real BLAKE2b ids do only among ~2^16 records. cli_error and cli_now_ms are this
 * file's (main.c has the program's): cli_error keeps the line. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/cli/cli.h"
#include "tests/support/ts_record.h"
#include "tests/support/ts_store.h"

static char last_error[4096];

void cli_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = snprintf(last_error, sizeof last_error, "tlpmesh %s: ", cmd);
    vsnprintf(last_error + n, sizeof last_error - (size_t)n, fmt, ap);
    va_end(ap);
}

uint64_t cli_now_ms(void) /* main.c's, which this test does not link */
{
    return 0;
}

/* Ids: A = aabbccdd 11..., B = aabbccdd 22..., C = aabbccde 00..., then 9 sharing 0102030405. */
static void put_id(struct store *st, const uint8_t id[LIMIT_ID_BYTES], uint64_t n)
{
    struct proto_record *r = ts_record_alloc();
    char value[32];
    snprintf(value, sizeof value, "d%llu.example", (unsigned long long)n);
    ts_indicator(r, PROTO_TLP_CLEAR, PROTO_ITYPE_DOMAIN, value, 1000 + n, UINT64_MAX / 2);
    uint8_t signed_rec[LIMIT_SIG_BYTES + 8] = {0};
    struct store_put p = {.signed_rec = signed_rec, .len = sizeof signed_rec, .rec = r};
    memcpy(p.id, id, LIMIT_ID_BYTES);
    assert_int_equal(store_put_batch(st, &p, 1), STORE_OK);
    assert_int_equal(p.result, STORE_PUT_ADDED);
    free(r);
}

static int setup(void **state)
{
    struct ts_store *e = calloc(1, sizeof *e);
    assert_non_null(e);
    ts_store_temp(e, "cli-ids");
    uint8_t id[LIMIT_ID_BYTES] = {0xaa, 0xbb, 0xcc, 0xdd, 0x11};
    put_id(e->store, id, 1);
    id[4] = 0x22;
    put_id(e->store, id, 2);
    memset(id, 0, sizeof id);
    memcpy(id, "\xaa\xbb\xcc\xde", 4);
    put_id(e->store, id, 3);
    for (uint8_t i = 0; i < LIMIT_ID_CANDIDATES_LISTED + 1; i++) {
        memset(id, 0, sizeof id);
        memcpy(id, "\x01\x02\x03\x04\x05", 5);
        id[5] = i;
        put_id(e->store, id, 10 + i);
    }
    *state = e;
    return 0;
}

static int teardown(void **state)
{
    struct ts_store *e = *state;
    ts_store_temp_close(e);
    free(e);
    return 0;
}

static void resolves(struct store *st, const char *text, uint8_t first, uint8_t fifth)
{
    uint8_t id[LIMIT_ID_BYTES];
    last_error[0] = '\0';
    assert_int_equal(cli_resolve_id("show", st, text, id), CLI_OK);
    assert_int_equal(id[0], first);
    assert_int_equal(id[4], fifth);
    assert_string_equal(last_error, "");
}

static void unique_prefixes(void **state)
{
    struct ts_store *e = *state;
    resolves(e->store, "aabbccdd11", 0xaa, 0x11);
    resolves(e->store, "aabbccdd1", 0xaa, 0x11); /* odd length: the last digit counts too */
    resolves(e->store, "AABBCCDD22", 0xaa, 0x22);
    resolves(e->store, "aabbccde", 0xaa, 0x00); /* exactly the minimum */
    char full[2 * LIMIT_ID_BYTES + 1] = "aabbccdd11";
    memset(full + 10, '0', sizeof full - 11);
    resolves(e->store, full, 0xaa, 0x11);
}

static void ambiguous_prefix_lists_the_candidates(void **state)
{
    struct ts_store *e = *state;
    uint8_t id[LIMIT_ID_BYTES];
    assert_int_equal(cli_resolve_id("revoke", e->store, "aabbccdd", id), CLI_FAIL);
    assert_string_equal(last_error, "tlpmesh revoke: id prefix aabbccdd matches 2 records: "
                                    "aabbccdd11000000, aabbccdd22000000; give more digits");
    assert_int_equal(cli_resolve_id("sight", e->store, "0102030405", id), CLI_FAIL);
    assert_non_null(strstr(last_error, "matches 9 records: 0102030405000000, 0102030405010000,"));
    assert_non_null(strstr(last_error, "0102030405070000 (and 1 more); give more digits"));
}

static void refusals(void **state)
{
    struct ts_store *e = *state;
    uint8_t id[LIMIT_ID_BYTES];
    assert_int_equal(cli_resolve_id("show", e->store, "aabbccd", id), CLI_USAGE); /* 7 digits */
    assert_non_null(strstr(last_error, "unique prefix of at least 8"));
    assert_int_equal(cli_resolve_id("show", e->store, "aabbccdg", id), CLI_USAGE);
    char longer[2 * LIMIT_ID_BYTES + 2];
    memset(longer, 'a', sizeof longer - 1);
    longer[sizeof longer - 1] = '\0';
    assert_int_equal(cli_resolve_id("show", e->store, longer, id), CLI_USAGE);
    assert_int_equal(cli_resolve_id("show", e->store, "aabbccdf", id), CLI_FAIL);
    assert_string_equal(last_error, "tlpmesh show: no record aabbccdf");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(unique_prefixes, setup, teardown),
        cmocka_unit_test_setup_teardown(ambiguous_prefix_lists_the_candidates, setup, teardown),
        cmocka_unit_test_setup_teardown(refusals, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
