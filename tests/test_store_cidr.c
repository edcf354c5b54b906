/* test_store_cidr.c - the stored ranges that contain an address (issue 11, point 8):
 * proto_ip_network's normal forms and store_find_covering's order (most specific first, ip-src
 * before ip-dst at one length) over a real LMDB store, IPv4 and IPv6. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "proto/indicator.h"
#include "store/store.h"
#include "tests/support/ts_dir.h"
#include "tests/support/ts_store.h"
#include "tests/support/ts_trec.h"

static void test_network_normal_forms(void **state)
{
    (void)state;
    char out[64];
    assert_int_equal(proto_ip_network("198.51.100.7", 24, out, sizeof out), 32);
    assert_string_equal(out, "198.51.100.0/24");
    assert_int_equal(proto_ip_network("198.51.100.7", 32, out, sizeof out), 32);
    assert_string_equal(out, "198.51.100.7");
    assert_int_equal(proto_ip_network("198.51.100.7", 0, out, sizeof out), 32);
    assert_string_equal(out, "0.0.0.0/0");
    assert_int_equal(proto_ip_network("2001:db8:1::5", 48, out, sizeof out), 128);
    assert_string_equal(out, "2001:db8:1::/48");
    assert_int_equal(proto_ip_network("2001:db8:1::5", 127, out, sizeof out), 128);
    assert_string_equal(out, "2001:db8:1::4/127");
    /* each agrees with the normaliser, the key a stored range is found under */
    char norm[LIMIT_VALUE_BYTES + 1];
    assert_int_equal(proto_indicator_normalise(PROTO_ITYPE_IP_DST, "2001:0db8:0001::/48", norm,
                                               sizeof norm, NULL, 0),
                     0);
    assert_string_equal(norm, "2001:db8:1::/48");
    assert_int_equal(proto_ip_network("198.51.100.7", 33, out, sizeof out), PROTO_E_VALUE);
    assert_int_equal(proto_ip_network("198.51.100.0/24", 8, out, sizeof out), PROTO_E_VALUE);
    assert_int_equal(proto_ip_network("example.com", 8, out, sizeof out), PROTO_E_VALUE);
    assert_int_equal(proto_ip_network("::ffff:1.2.3.4", 8, out, sizeof out), PROTO_E_VALUE);
    assert_int_equal(proto_ip_network("2001:db8::1", 64, out, 5), PROTO_E_NOSPACE);
}

static void test_covering_order(void **state)
{
    (void)state;
    char *dir = ts_dir_new("cidr");
    struct store *s = ts_store_open(dir, 0);
    static const struct {
        int itype;
        const char *value;
    } put[] = {
        {PROTO_ITYPE_IP_DST, "0.0.0.0/0"},       {PROTO_ITYPE_IP_DST, "198.51.0.0/16"},
        {PROTO_ITYPE_IP_SRC, "198.51.100.0/24"}, {PROTO_ITYPE_IP_DST, "198.51.100.0/24"},
        {PROTO_ITYPE_IP_DST, "198.51.100.7"},    {PROTO_ITYPE_IP_DST, "198.51.101.0/24"},
        {PROTO_ITYPE_DOMAIN, "example.com"},     {PROTO_ITYPE_IP_DST, "2001:db8::/32"},
        {PROTO_ITYPE_IP_DST, "2001:db8:1::/48"}, {PROTO_ITYPE_IP_DST, "::/0"},
    };
    enum { N = sizeof put / sizeof put[0] };
    struct ts_trec *t = ts_trec_new(N);
    for (unsigned i = 0; i < N; i++)
        ts_trec_ind(&t[i], i + 1, 0xA1, 5000, put[i].itype, put[i].value);
    ts_trec_put_all(s, t, N, NULL);

    struct ts_seen *seen = ts_seen_new();
    assert_int_equal(store_find_covering(s, "198.51.100.7", ts_seen_collect, seen), STORE_OK);
    const unsigned v4[] = {2, 3, 1, 0}; /* /24 src, /24 dst, /16, /0; not the address itself */
    assert_int_equal(seen->n, 4);
    for (unsigned i = 0; i < 4; i++)
        assert_memory_equal(seen->ids[i], t[v4[i]].id, LIMIT_ID_BYTES);

    seen->n = 0;
    assert_int_equal(store_find_covering(s, "2001:db8:1::5", ts_seen_collect, seen), STORE_OK);
    const unsigned v6[] = {8, 7, 9};
    assert_int_equal(seen->n, 3);
    for (unsigned i = 0; i < 3; i++)
        assert_memory_equal(seen->ids[i], t[v6[i]].id, LIMIT_ID_BYTES);

    seen->n = 0;
    assert_int_equal(store_find_covering(s, "203.0.113.1", ts_seen_collect, seen), STORE_OK);
    assert_int_equal(seen->n, 1); /* 0.0.0.0/0 only */
    assert_int_equal(store_find_covering(s, "example.com", ts_seen_collect, seen), STORE_E_INVAL);
    free(seen);
    free(t);
    store_close(s);
    ts_store_remove(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_network_normal_forms),
        cmocka_unit_test(test_covering_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
