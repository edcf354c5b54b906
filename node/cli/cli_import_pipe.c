/* cli_import_pipe.c - import batches signed on every core (cli_import_pipe.h). */
#include "node/cli/cli_import_pipe.h"

#include <assert.h>
#include <stdlib.h>
#include <unistd.h>

#include "node/cli/cli.h"

_Static_assert(LIMIT_IMPORT_BATCH <= LIMIT_STORE_BATCH, "one import batch is one store batch");

/* Signs items first, first + stride, ... of the batch: pure, so signers share nothing but the
 * read-only key and disjoint items. */
static void *sign_stride(void *arg)
{
    struct cli_import_signer *s = arg;
    struct cli_import_batch *b = s->b;
    for (size_t i = s->first; i < b->n; i += s->stride)
        b->lens[i] = cli_sign_record(s->id, &b->recs[i], b->bufs[i], b->puts[i].id);
    return NULL;
}

/* One signer per online core (the caller's thread keeps deciding meanwhile); a small batch
 * gets fewer, as a thread then costs more than it gives. */
static void sign_start(struct cli_import_pipe *p, struct cli_import_batch *b)
{
    assert(!p->signing);
    const long cores = sysconf(_SC_NPROCESSORS_ONLN);
    size_t n = cores < 1 ? 1 : cores > LIMIT_IMPORT_SIGNERS ? LIMIT_IMPORT_SIGNERS : (size_t)cores;
    if (n > b->n / LIMIT_IMPORT_SIGN_MIN + 1)
        n = b->n / LIMIT_IMPORT_SIGN_MIN + 1;
    p->n_signers = n;
    p->n_threads = 0;
    for (size_t i = 0; i < n; i++)
        p->s[i] = (struct cli_import_signer){.id = p->id, .b = b, .first = i, .stride = n};
    while (p->n_threads < n &&
           pthread_create(&p->s[p->n_threads].thread, NULL, sign_stride, &p->s[p->n_threads]) == 0)
        p->n_threads++;
    for (size_t i = p->n_threads; i < n; i++) /* no thread for these: signed here */
        sign_stride(&p->s[i]);
    p->signing = true;
}

static void sign_wait(struct cli_import_pipe *p)
{
    for (size_t i = 0; p->signing && i < p->n_threads; i++)
        pthread_join(p->s[i].thread, NULL);
    p->signing = false;
}

static int store_signed(struct cli_import_pipe *p, struct cli_import_batch *b)
{
    for (size_t i = 0; i < b->n; i++) {
        b->puts[i].signed_rec = b->bufs[i];
        b->puts[i].len = b->lens[i] > 0 ? (size_t)b->lens[i] : 0;
    }
    const int rc = b->n ? p->store(p->ctx, b) : CLI_OK;
    b->n = 0;
    return rc;
}

bool cli_import_pipe_init(struct cli_import_pipe *p, const struct keys_identity *id,
                          cli_import_store_fn store, void *ctx)
{
    *p = (struct cli_import_pipe){.id = id, .store = store, .ctx = ctx};
    bool ok = true;
    for (int i = 0; i < 2; i++) {
        struct cli_import_batch *b = &p->b[i];
        b->recs = calloc(LIMIT_IMPORT_BATCH, sizeof *b->recs);
        b->bufs = calloc(LIMIT_IMPORT_BATCH, sizeof *b->bufs);
        b->puts = calloc(LIMIT_IMPORT_BATCH, sizeof *b->puts);
        b->lens = calloc(LIMIT_IMPORT_BATCH, sizeof *b->lens);
        ok = ok && b->recs && b->bufs && b->puts && b->lens;
    }
    if (!ok)
        cli_import_pipe_free(p);
    return ok;
}

void cli_import_pipe_free(struct cli_import_pipe *p)
{
    sign_wait(p);
    for (int i = 0; i < 2; i++) {
        free(p->b[i].recs);
        free(p->b[i].bufs);
        free(p->b[i].puts);
        free(p->b[i].lens);
        p->b[i] = (struct cli_import_batch){0};
    }
}

struct proto_record *cli_import_pipe_slot(struct cli_import_pipe *p)
{
    struct cli_import_batch *b = &p->b[p->fill];
    assert(b->n < LIMIT_IMPORT_BATCH);
    return &b->recs[b->n];
}

int cli_import_pipe_push(struct cli_import_pipe *p, uint64_t added_us, size_t pos)
{
    struct cli_import_batch *b = &p->b[p->fill], *other = &p->b[!p->fill];
    assert(b->n < LIMIT_IMPORT_BATCH);
    b->puts[b->n] = (struct store_put){.rec = &b->recs[b->n], .added_us = added_us};
    if (++b->n < LIMIT_IMPORT_BATCH)
        return CLI_OK;
    b->end = pos;
    sign_wait(p); /* the other batch, signed while this one filled */
    sign_start(p, b);
    p->fill = !p->fill;
    return store_signed(p, other); /* commits while this one is signed */
}

int cli_import_pipe_finish(struct cli_import_pipe *p, size_t pos)
{
    struct cli_import_batch *b = &p->b[p->fill];
    sign_wait(p);
    int rc = store_signed(p, &p->b[!p->fill]);
    if (rc != CLI_OK || b->n == 0)
        return rc;
    b->end = pos;
    sign_start(p, b);
    sign_wait(p);
    return store_signed(p, b);
}
