/* core_link.c - the node core linked against tlp_core alone (proto, crypto, store, libsodium):
 * a link error here is a core file calling into a layer it may not use (tlp_config, the shell).
 * It also runs the core once: a node over a memstore with one configured peer, told the peer's
 * session is up, gets the gate view community_fill_peer builds from the config, and turns. */
#include <stdio.h>
#include <string.h>

#include "node/core/node.h"
#include "store/memstore.h"

static uint64_t clock_ms = 1000;

static int io_send(void *ctx, engine_conn c, const uint8_t *b, size_t n)
{
    (void)ctx, (void)c, (void)b, (void)n;
    return -1;
}

static void io_close(void *ctx, engine_conn c)
{
    (void)ctx, (void)c;
}

static int io_dial(void *ctx, engine_conn c, const char *host, uint16_t port)
{
    (void)ctx, (void)c, (void)host, (void)port;
    return -1;
}

static void io_random(void *ctx, uint8_t *buf, size_t n)
{
    (void)ctx;
    memset(buf, 7, n);
}

static void io_elog(void *ctx, enum engine_log_level l, const char *ev, const uint8_t *key,
                    const char *addr, const char *detail)
{
    (void)ctx, (void)l, (void)ev, (void)key, (void)addr, (void)detail;
}

static size_t io_backlog(void *ctx, engine_conn c)
{
    (void)ctx, (void)c;
    return 0;
}

static uint64_t io_now(void *ctx)
{
    (void)ctx;
    return clock_ms;
}

static uint64_t io_wall(void *ctx)
{
    (void)ctx;
    return 1767225600000ull + clock_ms;
}

static int fail(const char *what)
{
    fprintf(stderr, "sansio_core_link: %s\n", what);
    return 1;
}

static int run(struct node *n, struct config *cfg, struct memstore *ms,
               const struct keys_identity *id)
{
    struct community_table t = {.n_rosters = 0};
    memcpy(t.self, id->sign_pk, LIMIT_KEY_BYTES);
    struct node_params p = {
        .cfg = cfg, .communities = &t, .engine = {.id = id, .network = "link", .max_peers = 4}};
    memstore_gossip_ops(ms, &p.store_ops);
    const struct node_io io = {.send = io_send,
                               .close = io_close,
                               .dial = io_dial,
                               .random = io_random,
                               .engine_log = io_elog,
                               .backlog = io_backlog,
                               .now = io_now,
                               .wall_ms = io_wall};
    char why[128];
    if (node_init(n, &p, &io, why, sizeof why) < 0)
        return fail(why);
    if (node_set_peers(n, cfg, clock_ms) < 0)
        return fail("node_set_peers");
    node_peer_change(n, 0, true);
    const struct gossip_peer_stats *st = gossip_peer_stats(n->gossip, 0);
    if (st == NULL || !st->up)
        return fail("the peer is not up in gossip");
    if (node_turn(n) < 0 || node_next_deadline(n) == 0)
        return fail("node_turn");
    node_peer_change(n, 0, false);
    return gossip_peer_stats(n->gossip, 0)->up ? fail("the peer is still up") : 0;
}

int main(void)
{
    static const uint8_t seed[LIMIT_KEY_BYTES] = {1};
    struct keys_identity id;
    keys_identity_from_seed(seed, &id);
    struct config_peer peer = {.max_tlp = PROTO_TLP_AMBER};
    memset(peer.key, 0x11, LIMIT_KEY_BYTES);
    keys_pubkey_to_b64(peer.key, peer.key_b64);
    strcpy(peer.organisation, "org-b");
    struct config cfg = {.peers = &peer, .n_peers = 1, .organisation = "org-a"};
    uint8_t hash_key[GOSSIP_HASH_KEY_BYTES] = {3};
    struct memstore ms;
    if (memstore_init(&ms, hash_key) < 0)
        return fail("memstore_init");
    struct node n;
    int rc = run(&n, &cfg, &ms, &id);
    node_free(&n);
    memstore_free(&ms);
    if (rc == 0)
        printf("sansio_core_link: ok\n");
    return rc;
}
