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

static bool peer_connected(const struct node *n, size_t peer)
{
    struct engine_peer_stats st;
    return engine_peer_get(&n->engine, peer, NULL, &st) && st.state == ENGINE_PEER_CONNECTED;
}

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

/* Statements on their way to one peer, LIMIT_SUCCESSION_PER_MSG a message. */
struct msg {
    struct node *n;
    size_t peer;
    uint8_t *buf; /* MSG_MAX bytes: buf[0] statements, then their bytes */
    size_t len;
};

static void flush(struct msg *m)
{
    if (m->buf[0] > 0)
        (void)engine_send(&m->n->engine, m->peer, NODE_MSG_SUCCESSION, m->buf, m->len,
                          node_now(m->n));
    m->buf[0] = 0;
    m->len = 1;
}

static void add_statement(void *ctx, const struct proto_succession *s)
{
    struct msg *m = ctx;
    if (m->buf[0] == LIMIT_SUCCESSION_PER_MSG)
        flush(m);
    memcpy(m->buf + m->len, s->bytes, LIMIT_SUCCESSION_BYTES);
    m->len += LIMIT_SUCCESSION_BYTES;
    m->buf[0]++;
}

static void note_recovery(void *ctx, const struct proto_succession *s)
{
    *(bool *)ctx |= s->kind == PROTO_SUCCESSION_RECOVERY;
}

/* Is s one this node may tell any peer? Its own chain, yes. A partner's chain only once it holds
 * a recovery: a routine rotation told to every peer would show each of them who else this node
 * works with, which partners do not give away; a recovery is the one statement everybody who
 * trusts the stolen key must hear, from whoever has it. */
static bool tellable(const struct node *n, const struct proto_succession *s)
{
    const struct config_peer *p = succession_peer(n->succ, n->cfg, s->new_key);
    if (p == NULL)
        return true; /* in the table and no peer's: this node's own chain */
    bool recovered = false;
    (void)succession_chain(n->succ, p->key, note_recovery, &recovered);
    return recovered;
}

static void add_tellable(void *ctx, const struct proto_succession *s)
{
    struct msg *m = ctx;
    if (tellable(m->n, s))
        add_statement(m, s);
}

/* The statements this node may tell (tellable) go to a peer whose session opens: they are
 * self-authenticating, so a partner learns a recovery from any peer that took it, not only over
 * a handshake with a key it still accepts. */
void node_succession_peer_up(struct node *n, size_t peer)
{
    if (n->succ->n == 0)
        return; /* the common case: no key of this node or its peers ever changed */
    struct msg m = {.n = n, .peer = peer, .buf = malloc(MSG_MAX), .len = 1};
    if (m.buf == NULL) { /* 15 KB: not on the stack, not shared (simnet) */
        node_logf(n, "succession: out of memory, statements not sent");
        return;
    }
    m.buf[0] = 0;
    (void)succession_each(n->succ, add_tellable, &m);
    flush(&m);
    free(m.buf);
}

void node_succession_announce(struct node *n)
{
    for (size_t i = 0; i < n->max_peers; i++)
        if (peer_connected(n, i))
            node_succession_peer_up(n, i);
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

/* A statement newly accepted from peer goes on to every other open session when it is tellable;
 * one already held is never relayed again (SUCCESSION_KNOWN), so relays end. */
static void relay(struct node *n, size_t from, const struct proto_succession *s)
{
    if (!tellable(n, s))
        return;
    uint8_t buf[1 + LIMIT_SUCCESSION_BYTES] = {1};
    memcpy(buf + 1, s->bytes, LIMIT_SUCCESSION_BYTES);
    for (size_t i = 0; i < n->max_peers; i++)
        if (i != from && peer_connected(n, i))
            (void)engine_send(&n->engine, i, NODE_MSG_SUCCESSION, buf, sizeof buf, node_now(n));
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
    if (rc <= 0) /* changes nothing: relayed statements often do, a flood of them is charged */
        (void)gossip_peer_charge(n->gossip, peer, PEERSCORE_DUPLICATE,
                                 LIMIT_PEER_SUCCESSION_COST, node_now(n));
    if (rc == SUCCESSION_KNOWN || rc == SUCCESSION_E_UNTRUSTED)
        return; /* held already, or about a key this node does not trust: not its business */
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
    relay(n, peer, &s);
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
