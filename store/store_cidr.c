/* store_cidr.c - the stored ranges that contain an address (store.h: store_find_covering). No new
 * index: a range is stored under its normal form like any value, so the ranges that contain an
 * address are the by-value keys of its network at each shorter prefix length, looked up in one
 * read transaction (store_find_values): 32 keys per type for IPv4, 128 for IPv6. */
#include <assert.h>

#include "proto/indicator.h"
#include "store/store.h"

enum { NET_BYTES = 64 }; /* "ffff:...:ffff/128" with its NUL */

int store_find_covering(struct store *s, const char *addr, store_record_cb cb, void *ctx)
{
    assert(s != NULL && addr != NULL && cb != NULL);
    char nets[LIMIT_IP_PREFIXES][NET_BYTES];
    const char *values[LIMIT_STORE_FIND_VALUES];
    int itypes[LIMIT_STORE_FIND_VALUES];
    const int bits = proto_ip_network(addr, 0, nets[0], sizeof nets[0]);
    if (bits < 0)
        return STORE_E_INVAL;
    size_t k = 0;
    for (int p = bits - 1; p >= 0; p--) { /* most specific first */
        char *net = nets[bits - 1 - p];
        const int rc = proto_ip_network(addr, (unsigned)p, net, NET_BYTES);
        assert(rc == bits && k + 2 <= LIMIT_STORE_FIND_VALUES);
        (void)rc;
        itypes[k] = PROTO_ITYPE_IP_SRC, values[k++] = net;
        itypes[k] = PROTO_ITYPE_IP_DST, values[k++] = net;
    }
    return store_find_values(s, itypes, values, k, cb, ctx);
}
