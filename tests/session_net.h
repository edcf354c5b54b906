/* session_net.h - the in-memory network of test_session.c and test_admit.c: engines wired
 * back-to-back.
 *
 * session_net.c implements struct engine_io over links between test nodes, moves bytes when the
 * test pumps it, and captures what each engine logs and delivers. For those two tests only.
 */
#ifndef TLPMESH_TESTS_SESSION_NET_H
#define TLPMESH_TESTS_SESSION_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sodium.h>

#include "crypto/keys.h"
#include "node/core/engine.h"

#define MAX_NODES 4
#define MAX_LINKS 2048 /* test_admit's floods */
#define MAX_DIALS 64
#define PUMP_ROUNDS 1000

struct net;

struct tnode {
    struct net *net;
    struct engine e;
    struct keys_identity id;
    uint16_t port; /* "listening" port; 0 = none */
    uint8_t rnd_seed[randombytes_SEEDBYTES];
    uint64_t rnd_ctr;
    /* captured io */
    char last_event[32], last_detail[128];
    int logs;
    uint8_t msg_type, msg_body[64];
    size_t msg_len;
    int msgs, ups, downs, closes;
    engine_conn last_closed;
};

struct link {
    struct tnode *n[2]; /* n[0] dialled n[1]; n[1] may be NULL for a raw test connection */
    engine_conn c[2];
    bool closed[2];     /* side i's engine has let go of the connection */
    uint8_t *buf[2];    /* bytes side i sent, not yet delivered */
    size_t len[2];
};

struct dial {
    struct tnode *from;
    engine_conn conn;
    uint16_t port;
};

struct net {
    struct tnode nodes[MAX_NODES];
    size_t n_nodes;
    struct link links[MAX_LINKS];
    size_t n_links;
    struct dial dials[MAX_DIALS];
    size_t n_dials;
    uint64_t now;
};

struct tnode *add_node_rekey(struct net *net, uint8_t seed_byte, uint16_t port,
                             const char *network, uint64_t rekey, uint64_t rekey_ms);
struct tnode *add_node(struct net *net, uint8_t seed_byte, uint16_t port,
                       const char *network, uint64_t rekey);
void allow(struct tnode *n, const struct tnode *peer, bool dial, const char *name);
void pump(struct net *net);
void tick_all(struct net *net, uint64_t now);
void net_free(struct net *net);
struct net *net_new(void);
struct engine_peer_stats peer_stats(struct tnode *n, const struct tnode *peer);
engine_conn raw_link(struct tnode *n, const char *ip);

#endif
