/* gossip_store.h - the record store as gossip (node/core/gossip.h) uses it: a table of functions
 * over one store, so that the same gossip runs over LMDB in the daemon and over memory in simnet
 * and the tests.
 *
 * Two implementations: the LMDB adapter (store/gossip_lmdb.h, over store/store.h) and the
 * in-memory store (memstore_gossip_ops, store/memstore.h). bench/ingest.c wraps one to time it.
 *
 * Contract: return conventions follow store.h (STORE_OK, or a negative store_err); callbacks
 * (store_record_cb) get pointers valid during the call only and must not call the store. Every
 * call is synchronous and runs on the thread that drives gossip (LMDB reads take microseconds),
 * but put_batch: gossip_commit_run may call it on another thread (the daemon's writer thread,
 * gossip.h io.commit), one call at a time, while the gossip thread goes on reading; so an
 * implementation used with io.commit must allow that (the LMDB adapter does: MDB_NOTLS; the
 * memstore does not, and simnet commits in the turn). The store does not check signatures or
 * time rules: gossip verified every body it puts. A store never calls into gossip.
 *
 * Ownership: the ops and their ctx belong to the caller, who keeps ctx alive for as long as any
 * gossip uses the ops (gossip_new copies the struct, not what ctx points to).
 */
#ifndef TLPMESH_STORE_GOSSIP_STORE_H
#define TLPMESH_STORE_GOSSIP_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "proto/limits.h"
#include "store/store.h"

struct gossip_store_ops {
    void *ctx;
    int (*has)(void *ctx, const uint8_t id[LIMIT_ID_BYTES]); /* 1, 0, or < 0 */
    /* STORE_OK, STORE_E_NOTFOUND, STORE_E_NOSPACE, ... */
    int (*get)(void *ctx, const uint8_t id[LIMIT_ID_BYTES], uint8_t *buf, size_t cap,
               size_t *len);
    /* Every stored record whose id starts with the 8-byte short id. */
    int (*find_short)(void *ctx, const uint8_t sid[LIMIT_SHORT_ID_BYTES], store_record_cb cb,
                      void *cb_ctx);
    /* store_put_batch semantics with items[].rec NULL (the bodies were decoded and verified by
     * gossip; the store decodes each again, one at a time, for its indexes), n <=
     * LIMIT_GOSSIP_COMMIT_BATCH: gossip commits what one loop turn verified in one call. */
    int (*put_batch)(void *ctx, struct store_put *items, size_t n);
    int (*is_revoked)(void *ctx, const uint8_t id[LIMIT_ID_BYTES],
                      const uint8_t origin[LIMIT_KEY_BYTES]);
    /* Every record with seq > since, in seq order (store_iter_seq). */
    int (*iter_seq)(void *ctx, uint64_t since, store_record_cb cb, void *cb_ctx);
    /* Runs fn(arg), whose lookups share one read snapshot (store_read_snapshot: one LMDB
     * transaction for a batch of lookups instead of one each). NULL: fn is just called. */
    int (*snapshot)(void *ctx, int (*fn)(void *arg), void *arg);
    /* Every revocation and distrusted origin at once (store_load_revoked; a set build checks
     * each record against them instead of calling is_revoked), at most max of each. NULL: the
     * caller calls is_revoked. */
    int (*load_revoked)(void *ctx, size_t max, struct store_revoked_set *out);
    /* Where the store is, for messages ("DataDir /var/lib/tlpmesh/data"), or NULL. */
    const char *where;
};

#endif
