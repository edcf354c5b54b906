/* engine_penalty.c - a misbehaving key's back-off (engine.h engine_penalize; engine_int.h lists
 * the parts). The key is checked where it is first known for sure, at the end of its handshake
 * when its static key has been authenticated and before our HELLO (WireGuard checks before it
 * keeps state: a backed-off key gets no session, no gossip state, no reconciliation), and it is
 * not dialled until the back-off ends. */
#include "node/core/engine_int.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>

void engine_penalize(struct engine *e, size_t peer, int reason, uint64_t now)
{
    assert(e && peer < e->max_peers && peerscore_is_reason(reason));
    e->now = now;
    struct engine_peer *p = &e->peers[peer];
    if (!p->used)
        return;
    p->penalty_ms = peerscore_backoff_next(p->penalty_ms, p->penalty_at, now);
    p->penalty_at = now;
    p->st.backoff_until = now + p->penalty_ms;
    p->st.penalty_reason = reason;
    p->st.penalties++;
    e->stats.penalties++;
    char detail[160];
    snprintf(detail, sizeof detail, "%s: backed off for %" PRIu64 " s", peerscore_strerror(reason),
             p->penalty_ms / 1000);
    e->io.log(e->io.ctx, ENGINE_LOG_WARN, "penalized", p->conf.key, p->st.address, detail);
    if (p->session != NONE)
        engine_conn_fail(e, &e->conns[p->session], reason);
}

/* At the end of c's handshake, its key authenticated as peer's: true, and c fails with
 * PEERSCORE_E_BACKED_OFF (when the handshake message has been processed), while the key is
 * backed off. */
bool engine_penalty_refuses(struct engine *e, struct engine_conn_slot *c, size_t peer)
{
    assert(peer < e->max_peers);
    struct engine_peer *p = &e->peers[peer];
    if (e->now >= p->st.backoff_until)
        return false;
    p->st.refused_backed_off++;
    e->stats.refused_backed_off++;
    engine_conn_fail(e, c, PEERSCORE_E_BACKED_OFF);
    return true;
}

/* A redial is never due before the back-off ends. */
uint64_t engine_penalty_dial_at(const struct engine_peer *p, uint64_t next_dial)
{
    return next_dial > p->st.backoff_until ? next_dial : p->st.backoff_until;
}
