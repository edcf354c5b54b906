/* cli_import_pipe.h - `tlpmesh import`'s records signed on every core, stored in input order.
 *
 * Two batches of LIMIT_IMPORT_BATCH records: while one thread per core signs the full one, the
 * caller decides the next candidates into the other; when that one fills, the signed batch is
 * handed to the caller's store function (one durable transaction) and the two swap. Decisions and
 * commits stay on the caller's thread, in input order, so the outcome does not depend on the
 * core count. Signers touch only their own items and the read-only key.
 *
 * Ownership: the pipe owns both batches (cli_import_pipe_free, which first waits for signers);
 * the store function sees a signed batch (puts[i] complete) and must not keep pointers into it.
 */
#ifndef TLPMESH_CLI_IMPORT_PIPE_H
#define TLPMESH_CLI_IMPORT_PIPE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "crypto/keys.h"
#include "proto/limits.h"
#include "proto/record.h"
#include "store/store.h"

struct cli_import_batch {
    struct proto_record *recs;
    uint8_t (*bufs)[LIMIT_SIG_BYTES + LIMIT_RECORD_BYTES];
    struct store_put *puts;
    int *lens;  /* cli_sign_record's result per item: < 0 is an encoding bug */
    size_t n;
    size_t end; /* candidates looked at when it filled (progress: all before are decided) */
};

/* Stores a signed batch: CLI_OK, or an error already reported. */
typedef int (*cli_import_store_fn)(void *ctx, const struct cli_import_batch *b);

struct cli_import_signer {
    const struct keys_identity *id;
    struct cli_import_batch *b;
    size_t first, stride;
    pthread_t thread;
};

struct cli_import_pipe {
    struct cli_import_batch b[2];
    int fill;     /* the batch being filled; the other is being signed when signing */
    bool signing;
    size_t n_signers, n_threads; /* threads started for the batch being signed */
    struct cli_import_signer s[LIMIT_IMPORT_SIGNERS];
    const struct keys_identity *id;
    cli_import_store_fn store;
    void *ctx;
};

/* false when out of memory (then nothing to free). */
bool cli_import_pipe_init(struct cli_import_pipe *p, const struct keys_identity *id,
                          cli_import_store_fn store, void *ctx);
void cli_import_pipe_free(struct cli_import_pipe *p);

/* The record to fill for the next candidate. */
struct proto_record *cli_import_pipe_slot(struct cli_import_pipe *p);

/* Queues the slot's record; pos = candidates looked at so far. May hand the previous batch to
 * the store function: its result, else CLI_OK. */
int cli_import_pipe_push(struct cli_import_pipe *p, uint64_t added_us, size_t pos);

/* Signs and stores what is queued, in order: CLI_OK or the store function's error. */
int cli_import_pipe_finish(struct cli_import_pipe *p, size_t pos);

#endif
