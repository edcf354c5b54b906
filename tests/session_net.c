/* session_net.c - the in-memory network of test_session.c; see session_net.h. */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "node/core/engine.h"
#include "node/core/session.h"
#include "tests/support/ts_ident.h"
#include "tests/session_net.h"

/* --- io --- */

static struct link *find_link(struct net *net, struct tnode *n, engine_conn c, int *side)
{
    *side = 0; /* set on every path: assert_non_null does not tell the optimiser it stops */
    for (size_t i = 0; i < net->n_links; i++)
        for (int s = 0; s < 2; s++)
            if (net->links[i].n[s] == n && net->links[i].c[s] == c && !net->links[i].closed[s]) {
                *side = s;
                return &net->links[i];
            }
    return NULL;
}

static int io_send(void *ctx, engine_conn conn, const uint8_t *bytes, size_t len)
{
    struct tnode *n = ctx;
    int s;
    struct link *l = find_link(n->net, n, conn, &s);
    assert_non_null(l);
    l->buf[s] = realloc(l->buf[s], l->len[s] + len);
    assert_non_null(l->buf[s]);
    memcpy(l->buf[s] + l->len[s], bytes, len);
    l->len[s] += len;
    return 0;
}

static void io_close(void *ctx, engine_conn conn)
{
    struct tnode *n = ctx;
    int s;
    struct link *l = find_link(n->net, n, conn, &s);
    n->closes++;
    n->last_closed = conn;
    if (l)
        l->closed[s] = true;
}

static int io_dial(void *ctx, engine_conn conn, const char *host, uint16_t port)
{
    struct tnode *n = ctx;
    assert_string_equal(host, "node");
    assert_true(n->net->n_dials < MAX_DIALS);
    n->net->dials[n->net->n_dials++] = (struct dial){n, conn, port};
    return 0;
}

static void io_random(void *ctx, uint8_t *buf, size_t len)
{
    struct tnode *n = ctx;
    uint8_t seed[randombytes_SEEDBYTES];
    memcpy(seed, n->rnd_seed, sizeof seed);
    memcpy(seed, &n->rnd_ctr, sizeof n->rnd_ctr);
    n->rnd_ctr++;
    randombytes_buf_deterministic(buf, len, seed);
}

static void io_log(void *ctx, enum engine_log_level level, const char *event, const uint8_t *key,
                   const char *addr, const char *detail)
{
    struct tnode *n = ctx;
    (void)level, (void)key, (void)addr;
    n->logs++;
    snprintf(n->last_event, sizeof n->last_event, "%s", event);
    snprintf(n->last_detail, sizeof n->last_detail, "%s", detail);
}

static void io_message(void *ctx, size_t peer, uint8_t type, const uint8_t *body, size_t len)
{
    struct tnode *n = ctx;
    (void)peer;
    assert_true(len <= sizeof n->msg_body);
    n->msgs++;
    n->msg_type = type;
    memcpy(n->msg_body, body, len);
    n->msg_len = len;
}

static void io_peer_change(void *ctx, size_t peer, bool up)
{
    struct tnode *n = ctx;
    (void)peer;
    if (up)
        n->ups++;
    else
        n->downs++;
}

/* --- network --- */

/* rekey: messages between rekeys, rekey_ms: time between them (0: the LIMIT_ defaults). */
struct tnode *add_node_rekey(struct net *net, uint8_t seed_byte, uint16_t port,
                             const char *network, uint64_t rekey, uint64_t rekey_ms)
{
    assert_true(net->n_nodes < MAX_NODES);
    struct tnode *n = &net->nodes[net->n_nodes++];
    memset(n, 0, sizeof *n);
    n->net = net;
    n->port = port;
    ts_identity(seed_byte, &n->id);
    memset(n->rnd_seed, seed_byte ^ 0x5a, sizeof n->rnd_seed);
    struct engine_io io = {n, io_send, io_close, io_dial, io_random, io_log, io_message,
                           io_peer_change};
    struct engine_params p = {.id = &n->id, .network = network, .capabilities = 7,
                              .rekey_interval = rekey, .rekey_ms = rekey_ms};
    assert_int_equal(engine_init(&n->e, &p, &io), ENGINE_OK);
    return n;
}

struct tnode *add_node(struct net *net, uint8_t seed_byte, uint16_t port,
                       const char *network, uint64_t rekey)
{
    return add_node_rekey(net, seed_byte, port, network, rekey, 0);
}

/* Lets n accept `peer` (and dial it at "node":port when dial is true). */
void allow(struct tnode *n, const struct tnode *peer, bool dial, const char *name)
{
    struct engine_peer_conf confs[LIMIT_PEERS];
    size_t k = 0;
    for (size_t i = 0; i < LIMIT_PEERS; i++)
        if (engine_peer_get(&n->e, i, &confs[k], NULL))
            k++;
    memset(&confs[k], 0, sizeof confs[k]);
    memcpy(confs[k].key, peer->id.sign_pk, LIMIT_KEY_BYTES);
    snprintf(confs[k].name, sizeof confs[k].name, "%s", name);
    if (dial) {
        snprintf(confs[k].host, sizeof confs[k].host, "node");
        confs[k].port = peer->port;
    }
    assert_int_equal(engine_set_peers(&n->e, confs, k + 1, n->net->now), ENGINE_OK);
}

static struct tnode *node_at(struct net *net, uint16_t port)
{
    for (size_t i = 0; i < net->n_nodes; i++)
        if (net->nodes[i].port == port)
            return &net->nodes[i];
    return NULL;
}

/* TCP-connects every pending dial (refused when nobody listens on the port). */
static void connect_dials(struct net *net)
{
    size_t n = net->n_dials;
    net->n_dials = 0;
    for (size_t i = 0; i < n; i++) {
        struct dial d = net->dials[i];
        struct tnode *to = node_at(net, d.port);
        int64_t h = to ? engine_on_accept(&to->e, "10.0.0.1", (uint16_t)(40000 + i), net->now)
                       : -1;
        if (h < 0) {
            engine_on_closed(&d.from->e, d.conn, net->now);
            continue;
        }
        assert_true(net->n_links < MAX_LINKS);
        net->links[net->n_links++] = (struct link){.n = {d.from, to}, .c = {d.conn, (engine_conn)h}};
        engine_on_connected(&d.from->e, d.conn, net->now);
    }
}

/* Delivers bytes and closes until nothing moves. */
void pump(struct net *net)
{
    for (int round = 0; round < PUMP_ROUNDS; round++) {
        bool moved = false;
        connect_dials(net);
        for (size_t i = 0; i < net->n_links; i++) {
            struct link *l = &net->links[i];
            for (int s = 0; s < 2; s++) {
                int r = 1 - s;
                if (l->len[s] && !l->closed[r] && l->n[r]) {
                    uint8_t *b = l->buf[s];
                    size_t len = l->len[s];
                    l->buf[s] = NULL;
                    l->len[s] = 0;
                    engine_on_data(&l->n[r]->e, l->c[r], b, len, net->now);
                    free(b);
                    moved = true;
                } else if (!l->len[s] && l->closed[s] && !l->closed[r]) {
                    l->closed[r] = true;
                    if (l->n[r])
                        engine_on_closed(&l->n[r]->e, l->c[r], net->now);
                    moved = true;
                }
            }
        }
        if (!moved && net->n_dials == 0)
            return;
    }
    fail_msg("network did not settle");
}

void tick_all(struct net *net, uint64_t now)
{
    net->now = now;
    for (size_t i = 0; i < net->n_nodes; i++)
        engine_tick(&net->nodes[i].e, now);
    pump(net);
}

void net_free(struct net *net)
{
    for (size_t i = 0; i < net->n_nodes; i++) {
        engine_free(&net->nodes[i].e);
        keys_identity_wipe(&net->nodes[i].id);
    }
    for (size_t i = 0; i < net->n_links; i++) {
        free(net->links[i].buf[0]);
        free(net->links[i].buf[1]);
    }
    free(net);
}

struct net *net_new(void)
{
    struct net *net = calloc(1, sizeof *net);
    assert_non_null(net);
    return net;
}

struct engine_peer_stats peer_stats(struct tnode *n, const struct tnode *peer)
{
    struct engine_peer_stats st;
    size_t i = engine_peer_find(&n->e, peer->id.sign_pk);
    assert_true(i != ENGINE_NO_PEER);
    assert_true(engine_peer_get(&n->e, i, NULL, &st));
    return st;
}

/* A raw inbound connection to n, fed by the test itself. */
static engine_conn raw_accept(struct tnode *n, const char *ip)
{
    int64_t h = engine_on_accept(&n->e, ip, 5555, n->net->now);
    assert_true(h >= 0);
    return (engine_conn)h;
}

/* Raw connections have no link: their sends are swallowed by a link with no receiver. */
engine_conn raw_link(struct tnode *n, const char *ip)
{
    struct net *net = n->net;
    engine_conn h = raw_accept(n, ip);
    assert_true(net->n_links < MAX_LINKS);
    net->links[net->n_links++] = (struct link){.n = {n, NULL}, .c = {h, 0}};
    return h;
}
