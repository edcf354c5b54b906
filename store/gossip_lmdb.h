/* gossip_lmdb.h - the LMDB adapter: struct gossip_store_ops (store/gossip_store.h) over one
 * struct store (store/store.h), as the daemon and the bench run gossip.
 *
 * Ownership: struct gossip_lmdb is caller-owned and must outlive the ops it filled; the store too.
 * The adapter allocates nothing (store_put_batch decodes the bodies itself): gossip_lmdb_free only
 * detaches it. Thread use as store.h allows.
 */
#ifndef TLPMESH_STORE_GOSSIP_LMDB_H
#define TLPMESH_STORE_GOSSIP_LMDB_H

#include "store/gossip_store.h"
#include "store/store.h"

struct gossip_lmdb {
    struct store *s;
    char where[LIMIT_PATH_BYTES + 16]; /* "DataDir " + store_dir(s): gossip_store_ops.where */
};

/* Fills ops to use s through a. STORE_OK (it cannot fail). */
int gossip_lmdb_init(struct gossip_lmdb *a, struct store *s, struct gossip_store_ops *ops);
void gossip_lmdb_free(struct gossip_lmdb *a);

#endif
