/* node_succession.c - the node's key successions: the SUCCESSION message, the table, and the
 * keys the engine accepts (contract in node.h; the rule in succession.h; docs/PROTOCOL.md "Key
 * succession"). */
#include "node/core/node_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/keys.h"
#include "node/core/peerscore.h"

enum { MSG_MAX = 1 + LIMIT_SUCCESSION_PER_MSG * LIMIT_SUCCESSION_BYTES };

int node_succession_load(struct node *n, const uint8_t *bytes, size_t len)
{
    struct proto_succession s;
    /* stored by this node after its own checks: the time rule no longer applies */
    int rc = proto_succession_decode(bytes, len, UINT64_MAX - LIMIT_CLOCK_SKEW_MS, &s);
    if (rc == SUCCESSION_OK)
        rc = succession_offer(n->succ, n->cfg, n->engine.params.id->sign_pk, &s, true, NULL);
    if (rc > 0)
        n->succ_dirty = true;
    return rc;
}

struct msg {
    uint8_t *buf; /* MSG_MAX bytes */
    size_t len;
};

static void add_statement(void *ctx, const struct proto_succession *s)
{
    struct msg *m = ctx;
    if (m->buf[0] == LIMIT_SUCCESSION_PER_MSG)
        return;
    memcpy(m->buf + m->len, s->bytes, LIMIT_SUCCESSION_BYTES);
    m->len += LIMIT_SUCCESSION_BYTES;
    m->buf[0]++;
}

/* This node's own chain as one message; false when it has none. */
static bool own_chain(const struct node *n, struct msg *m)
{
    m->buf[0] = 0;
    m->len = 1;
    (void)succession_chain(n->succ, n->engine.params.id->sign_pk, add_statement, m);
    return m->buf[0] > 0;
}

void node_succession_peer_up(struct node *n, size_t peer)
{
    if (succession_to(n->succ, n->engine.params.id->sign_pk) == NULL &&
        succession_of(n->succ, n->engine.params.id->sign_pk) == NULL)
        return; /* the common case: this node's key never changed */
    struct msg m = {.buf = malloc(MSG_MAX)}; /* 15 KB: not on the stack, not shared (simnet) */
    if (m.buf == NULL) {
        node_logf(n, "succession: out of memory, statement not sent");
        return;
    }
    if (own_chain(n, &m))
        (void)engine_send(&n->engine, peer, NODE_MSG_SUCCESSION, m.buf, m.len, node_now(n));
    free(m.buf);
}

void node_succession_announce(struct node *n)
{
    for (size_t i = 0; i < n->max_peers; i++) {
        struct engine_peer_stats st;
        if (engine_peer_get(&n->engine, i, NULL, &st) && st.state == ENGINE_PEER_CONNECTED)
            node_succession_peer_up(n, i);
    }
}

/* One line for the operator about an accepted statement. */
static void log_accepted(struct node *n, const struct proto_succession *s)
{
    char old[LIMIT_PUBKEY_B64_LEN + 1], new[LIMIT_PUBKEY_B64_LEN + 1];
    keys_pubkey_to_b64(s->old_key, old);
    keys_pubkey_to_b64(s->new_key, new);
    const struct config_peer *p = succession_peer(n->succ, n->cfg, s->new_key);
    node_logf(n, "peer %s: key %s to %s at %llu ms (was %s)", p && p->name[0] ? p->name : "?",
              s->kind == PROTO_SUCCESSION_RECOVERY ? "recovered" : "rotated", new,
              (unsigned long long)s->time_ms, old);
}

/* One statement from peer: checked whole, then offered to the rule. */
static void take(struct node *n, size_t peer, const uint8_t *bytes)
{
    struct proto_succession s;
    int rc = proto_succession_decode(bytes, LIMIT_SUCCESSION_BYTES, node_wall(n), &s);
    if (rc != SUCCESSION_OK) { /* an honest node sends only statements it verified */
        struct engine_peer_conf conf = {.name = "?"};
        (void)engine_peer_get(&n->engine, peer, &conf, NULL);
        node_logf(n, "peer %s: succession refused: %s", conf.name[0] ? conf.name : "?",
                  proto_succession_strerror(rc));
        node_close_later(n, peer, PEERSCORE_E_FORGED);
        return;
    }
    struct succession_dropped dropped;
    rc = succession_offer(n->succ, n->cfg, n->engine.params.id->sign_pk, &s, false, &dropped);
    if (rc == SUCCESSION_KNOWN)
        return;
    if (rc < 0) { /* a race or a thief: said, and nothing changes */
        char old[LIMIT_PUBKEY_B64_LEN + 1];
        keys_pubkey_to_b64(s.old_key, old);
        node_logf(n, "succession of %s refused: %s", old, proto_succession_strerror(rc));
        return;
    }
    log_accepted(n, &s);
    if (n->io.succession != NULL)
        n->io.succession(n->io.ctx, n->succ, &s, &dropped);
    n->succ_dirty = true;
}

int node_succession_message(struct node *n, size_t peer, const uint8_t *body, size_t len)
{
    if (len < 1 || body[0] == 0 || body[0] > LIMIT_SUCCESSION_PER_MSG ||
        len != 1 + (size_t)body[0] * LIMIT_SUCCESSION_BYTES) {
        node_close_later(n, peer, PEERSCORE_E_MALFORMED);
        return GOSSIP_E_MALFORMED;
    }
    for (size_t i = 0; i < body[0]; i++)
        take(n, peer, body + 1 + i * LIMIT_SUCCESSION_BYTES);
    return GOSSIP_OK;
}

/* The engine's view of one configured peer: its current key, its previous one in grace. */
void node_succession_conf(const struct node *n, const struct config_peer *p, uint64_t now,
                          struct engine_peer_conf *conf)
{
    const struct proto_succession *last = succession_current(n->succ, p->key, conf->key);
    if (last == NULL || last->kind != PROTO_SUCCESSION_ROTATION)
        return; /* a recovered key is refused at once */
    const uint64_t grace = n->cfg->key_grace_ms ? n->cfg->key_grace_ms : LIMIT_KEY_GRACE_MS;
    const uint64_t wall = node_wall(n), end = last->time_ms + grace;
    if (end <= wall)
        return;
    memcpy(conf->prev_key, last->old_key, LIMIT_KEY_BYTES);
    conf->prev_until = now + (end - wall);
}

const uint8_t *node_config_key(const struct node *n, const uint8_t key[LIMIT_KEY_BYTES])
{
    const struct config_peer *p = succession_peer(n->succ, n->cfg, key);
    return p != NULL ? p->key : key;
}
