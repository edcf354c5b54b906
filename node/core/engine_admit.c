/* engine_admit.c - who may start a handshake: the per-address rate limit and the fair sharing of
 * the half-open table (engine_int.h lists the parts; docs/PROTOCOL.md "Handshake floods" says
 * why the policy is what it is).
 *
 * WireGuard answers a flood of initiations with a cookie that proves the sender receives at its
 * source address, because a UDP source address costs nothing to forge. Over TCP the three-way
 * handshake has already proved that (SYN cookies are the same idea one layer down), so a cookie
 * would add a round trip and prove nothing new. What TCP does not bound is how long a proven
 * address may hold a slot. So a newcomer is never refused for want of room: the half-open that
 * got least far and has been silent longest, in the subnet holding the most slots, gives its
 * slot up; among those that got as far as message 2, an address that let one stall there
 * before goes first (a staller reconnects; a partner new to us has no such past). Addresses of
 * configured peers are never evicted by others. */
#include "node/core/engine_int.h"

#include <arpa/inet.h>
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

struct engine_rate {
    bool used;
    struct engine_addr key;
    uint64_t milli_tokens;
    uint64_t last;
    uint8_t stalls; /* its half-opens evicted while waiting for message 3 (saturating) */
};

/* --- addresses --- */

static const uint8_t v4_mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

static bool is_v4(const struct engine_addr *a)
{
    return memcmp(a->b, v4_mapped, sizeof v4_mapped) == 0;
}

static bool addr_eq(const struct engine_addr *a, const struct engine_addr *b)
{
    return memcmp(a->b, b->b, sizeof a->b) == 0;
}

/* Keeps the first `bits` bits of the 128-bit form (IPv4 counts from bit 96). */
static struct engine_addr addr_prefix(struct engine_addr a, unsigned bits)
{
    assert(bits % 8 == 0 && bits <= 128);
    memset(a.b + bits / 8, 0, 16 - bits / 8);
    return a;
}

/* An address literal (IPv4, IPv6 or IPv4-mapped IPv6) in its 128-bit form. */
static bool addr_parse(const char *text, struct engine_addr *a)
{
    uint8_t v4[4];
    if (inet_pton(AF_INET, text, v4) == 1) {
        memcpy(a->b, v4_mapped, sizeof v4_mapped);
        memcpy(a->b + sizeof v4_mapped, v4, sizeof v4);
        return true;
    }
    return inet_pton(AF_INET6, text, a->b) == 1;
}

/* The address part of "a.b.c.d:port" or "[v6]:port" (engine_format_addr). */
static bool addr_parse_hostport(const char *s, struct engine_addr *a)
{
    char host[ENGINE_ADDR_BYTES];
    const char *end = s[0] == '[' ? strchr(++s, ']') : strrchr(s, ':');
    if (end == NULL || (size_t)(end - s) >= sizeof host)
        return false;
    memcpy(host, s, (size_t)(end - s));
    host[end - s] = '\0';
    return addr_parse(host, a);
}

/* The unit one party controls: an IPv4 host, an IPv6 /64 (one host usually holds a whole /64,
 * so per-address limits on IPv6 addresses would give it 2^64 fresh ones). */
static struct engine_addr host_key(const struct engine_addr *a)
{
    _Static_assert(LIMIT_RATE_V6_PREFIX % 8 == 0 && LIMIT_RATE_V6_PREFIX <= 128, "byte prefix");
    return is_v4(a) ? *a : addr_prefix(*a, LIMIT_RATE_V6_PREFIX);
}

/* The unit one network operator usually holds: an IPv4 /24, an IPv6 /48. */
static struct engine_addr group_key(const struct engine_addr *a)
{
    _Static_assert(LIMIT_HALF_OPEN_V4_GROUP % 8 == 0 && LIMIT_HALF_OPEN_V4_GROUP <= 32, "bytes");
    _Static_assert(LIMIT_HALF_OPEN_V6_GROUP % 8 == 0 && LIMIT_HALF_OPEN_V6_GROUP <= 128, "bytes");
    return addr_prefix(*a, is_v4(a) ? 96 + LIMIT_HALF_OPEN_V4_GROUP : LIMIT_HALF_OPEN_V6_GROUP);
}

/* The shell always passes an address; any other text (a test's name) is its own host and group,
 * named by a hash so that it cannot collide with a real address by accident. */
static void admit_keys(const char *ip, struct engine_admit_conn *out)
{
    struct engine_addr a;
    if (!addr_parse(ip, &a)) {
        crypto_generichash(a.b, sizeof a.b, (const uint8_t *)ip, strlen(ip), NULL, 0);
        out->host = out->group = a;
        return;
    }
    out->host = host_key(&a);
    out->group = group_key(&a);
}

/* --- rate limit: one token bucket per host, least recently seen evicted --- */

static struct engine_rate *rate_bucket(struct engine *e, const struct engine_addr *key)
{
    struct engine_rate *victim = &e->rate[0];
    for (size_t i = 0; i < e->rate_cap; i++) {
        struct engine_rate *r = &e->rate[i];
        if (r->used && addr_eq(&r->key, key))
            return r;
        if (!r->used || (victim->used && r->last < victim->last))
            victim = r;
    }
    victim->used = true;
    victim->key = *key;
    victim->milli_tokens = (uint64_t)LIMIT_HS_RATE_BURST * 1000;
    victim->last = e->now;
    victim->stalls = 0;
    return victim;
}

static bool rate_allow(struct engine *e, struct engine_rate *r)
{
    const uint64_t cap = (uint64_t)LIMIT_HS_RATE_BURST * 1000;
    uint64_t elapsed = e->now > r->last ? e->now - r->last : 0;
    /* tokens are in thousandths: one per second per LIMIT_HS_RATE_PER_S, per ms that is RATE */
    uint64_t add = elapsed > cap ? cap : elapsed * LIMIT_HS_RATE_PER_S;
    r->milli_tokens = r->milli_tokens + add > cap ? cap : r->milli_tokens + add;
    r->last = e->now;
    if (r->milli_tokens < 1000)
        return false;
    r->milli_tokens -= 1000;
    return true;
}

/* --- configured peers' addresses --- */

/* Re-parses text into slot i of the cache when it changed. The learned slot (1) keeps its last
 * address when the new text is no address (a dial to a DNS name overwrote st.address). */
static void cache_refresh(struct engine_admit_peer *p, int i, const char *text, bool hostport)
{
    if (strcmp(p->src[i], text) == 0)
        return;
    snprintf(p->src[i], sizeof p->src[i], "%s", text);
    struct engine_addr a;
    bool ok = hostport ? addr_parse_hostport(text, &a) : addr_parse(text, &a);
    if (ok)
        p->host[i] = host_key(&a);
    if (ok || i == 0)
        p->ok[i] = ok;
}

/* Is host a configured peer's: the address literal of its Endpoint, or the address its last
 * session (or dial) used? The engine resolves no names (sans-IO), so a peer with a DNS Endpoint
 * is known by the address of its last session. */
static bool known_host(struct engine *e, const struct engine_addr *host)
{
    for (size_t i = 0; i < e->max_peers; i++) {
        const struct engine_peer *peer = &e->peers[i];
        struct engine_admit_peer *p = &e->admit_peers[i];
        if (!peer->used)
            continue;
        if (memcmp(p->key, peer->conf.key, sizeof p->key) != 0) { /* a new peer in this slot */
            memset(p, 0, sizeof *p);
            memcpy(p->key, peer->conf.key, sizeof p->key);
        }
        cache_refresh(p, 0, peer->conf.host, false);
        cache_refresh(p, 1, peer->st.address, true);
        if ((p->ok[0] && addr_eq(&p->host[0], host)) || (p->ok[1] && addr_eq(&p->host[1], host)))
            return true;
    }
    return false;
}

/* --- the half-open table --- */

/* How far a responder's handshake got: 0 waiting for message 1 (nothing or part of it came),
 * 1 message 2 sent, waiting for message 3 (or done: its state is gone). An honest initiator
 * sends message 1 with its TCP connect and message 3 one round trip later, so it spends next to
 * no time at 0. */
static int stage(const struct engine_conn_slot *c)
{
    return session_hs_step(&c->s) == 0 ? 0 : 1;
}

/* Which of two half-opens to give up first: the one that got less far, then (both waiting for
 * message 3) the one whose host stalled there more often, then the one that has waited longer
 * for its next message. */
static bool worse(const struct engine *e, const struct engine_conn_slot *a,
                  const struct engine_conn_slot *b)
{
    if (stage(a) != stage(b))
        return stage(a) < stage(b);
    const uint8_t sa = e->admit[a - e->conns].stalls, sb = e->admit[b - e->conns].stalls;
    if (stage(a) == 1 && sa != sb)
        return sa > sb;
    return a->last_rx != b->last_rx ? a->last_rx < b->last_rx : a->created < b->created;
}

/* Never evicted to make room for another address: a configured peer's address, or a handshake
 * that has shown a configured peer's key (it is waiting for that peer's HELLO). */
static bool protected_conn(const struct engine *e, const struct engine_conn_slot *c)
{
    return e->admit[c - e->conns].known || c->s.state == SESSION_WAIT_HELLO;
}

/* The half-open to give up when the table is full: among those not protected, the worst of the
 * subnet holding the most half-opens. NULL when every half-open is protected. */
static struct engine_conn_slot *full_victim(struct engine *e)
{
    size_t idx[LIMIT_HALF_OPEN], n = 0;
    for (size_t i = 0; engine_next_used(e, &i); i++)
        if (e->conns[i].half_open && n < LIMIT_HALF_OPEN)
            idx[n++] = i;
    assert(n == e->half_open);
    struct engine_conn_slot *victim = NULL;
    size_t victim_load = 0;
    for (size_t k = 0; k < n; k++) {
        struct engine_conn_slot *c = &e->conns[idx[k]];
        if (protected_conn(e, c))
            continue;
        size_t load = 0;
        for (size_t j = 0; j < n; j++)
            load += addr_eq(&e->admit[idx[j]].group, &e->admit[idx[k]].group);
        if (!victim || load > victim_load || (load == victim_load && worse(e, c, victim))) {
            victim = c;
            victim_load = load;
        }
    }
    return victim;
}

/* The worst half-open of host, and how many it holds. */
static struct engine_conn_slot *host_oldest(struct engine *e, const struct engine_addr *host,
                                            size_t *count)
{
    struct engine_conn_slot *oldest = NULL;
    *count = 0;
    for (size_t i = 0; engine_next_used(e, &i); i++) {
        struct engine_conn_slot *c = &e->conns[i];
        if (!c->half_open || !addr_eq(&e->admit[i].host, host))
            continue;
        ++*count;
        if (!oldest || worse(e, c, oldest))
            oldest = c;
    }
    return oldest;
}

static void evict(struct engine *e, struct engine_conn_slot *c, uint64_t *counter)
{
    ++*counter;
    if (stage(c) == 1) { /* message 2 went out and no message 3 came: its host's record */
        struct engine_rate *r = rate_bucket(e, &e->admit[c - e->conns].host);
        r->stalls += r->stalls < UINT8_MAX;
    }
    engine_conn_drop(e, c, ENGINE_E_EVICTED, false);
}

int engine_admit(struct engine *e, const char *ip, struct engine_admit_conn *out)
{
    admit_keys(ip, out);
    struct engine_rate *r = rate_bucket(e, &out->host);
    if (!rate_allow(e, r))
        return ENGINE_E_RATE;
    out->stalls = r->stalls;
    out->known = known_host(e, &out->host);
    size_t mine = 0;
    struct engine_conn_slot *oldest = host_oldest(e, &out->host, &mine);
    /* an address over its share replaces its own worst attempt: it is never locked out by
     * its own history (a peer redialling after a lost connection), and it costs no one else */
    if (mine >= LIMIT_HALF_OPEN_PER_ADDR) {
        evict(e, oldest, &e->stats.evicted_addr);
        return ENGINE_OK;
    }
    if (e->half_open < LIMIT_HALF_OPEN)
        return ENGINE_OK;
    struct engine_conn_slot *victim = full_victim(e);
    if (victim == NULL)
        return ENGINE_E_HALF_OPEN; /* all protected: they finish or time out soon */
    evict(e, victim, &e->stats.evicted_full);
    return ENGINE_OK;
}

int engine_admit_init(struct engine *e)
{
    e->rate = calloc(e->rate_cap, sizeof *e->rate);
    e->admit = calloc(e->max_conns, sizeof *e->admit);
    e->admit_peers = calloc(e->max_peers, sizeof *e->admit_peers);
    return e->rate && e->admit && e->admit_peers ? ENGINE_OK : ENGINE_E_NOMEM;
}

void engine_admit_free(struct engine *e)
{
    free(e->rate);
    free(e->admit);
    free(e->admit_peers);
}
