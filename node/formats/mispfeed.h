/* mispfeed.h - the MISP feed a [Client] pulls from the node's HTTP server, built live from the
 * store (docs/OPERATIONS.md "MISP feed"). node/shell/http.c feeds it requests.
 *
 * Resources (GET or HEAD; anything else is 405), under MISPFEED_PATH:
 *   manifest.json     {event uuid: {Orgc, Tag, info, date, analysis, threat_level_id,
 *                     timestamp}} of the events that hold records for this reader
 *   <uuid>.json       one event: {"Event": {..., Orgc, Tag, Attribute: [...]}}
 *   hashes.csv        "md5(value),event uuid" per attribute, MISP's feed cache and correlation
 * which is what MISP's feed code fetches, in that order (app/Model/Feed.php: the manifest, each
 * new or changed event by uuid, then hashes.csv for the cache). A doubled "/" (a feed URL set
 * with a final "/") is tolerated. Anything else under the path is 404.
 *
 * The files are those of `tlpmesh export --format misp-feed` (node/formats/export.h, which says
 * how records are grouped: one event per origin organisation and TLP level, whose Orgc is that
 * organisation and whose one tag is that level, each attribute tagged with its own level too),
 * gated for the reader instead of N's own organisation: what TAXII would serve this reader, by
 * the same rules (taxii.h: a [Client] credential, or anonymous when [HTTP] Anonymous = yes, the
 * same Authorization handling and the same 401s; a RED record is never served). Event
 * timestamps are the time of the request, so MISP fetches every listed event again at each pull
 * and a record that was revoked or expired leaves MISP's copy too.
 *
 * Two steps, as TAXII's (taxii.h "Answering in two steps"): mispfeed_start() authenticates and
 * routes on the caller's thread and either answers (*job NULL) or hands back *job, which any
 * thread may run with mispfeed_run() (a walk of the store) and which holds copies only: the
 * reader, this node's gate view, the rosters and the [Peer] organisations that name origins.
 * Only srv->store must outlive it. Responses are struct taxii_response (taxii.h), the caller's
 * to free with taxii_response_free().
 */
#ifndef TLPMESH_NODE_FORMATS_MISPFEED_H
#define TLPMESH_NODE_FORMATS_MISPFEED_H

#include <stdbool.h>

#include "node/config/config.h"
#include "node/formats/taxii.h"
#include "store/store.h"

#define MISPFEED_PATH "/misp/feed/"

/* Is path one of ours (MISPFEED_PATH, with or without its final "/", and below)? */
bool mispfeed_owns(const char *path);

struct mispfeed_server {
    struct store *store;
    const struct config *cfg;     /* [HTTP], [Client]s, [Peer] organisations */
    uint8_t key[LIMIT_KEY_BYTES]; /* this node's */
    enum stixmap_tlp_version stix_tlp;
    uint64_t now_ms; /* of this request */
};

struct mispfeed_job;

/* Both return 0 with *resp filled (any HTTP status) or *job set, or a negative export_err or
 * store_err (export_strerror, store_strerror), and then *resp is a 500 without a body. */
int mispfeed_start(const struct mispfeed_server *srv, const struct taxii_request *req,
                   struct taxii_response *resp, struct mispfeed_job **job);
/* Builds the job's file into resp (whose .reader mispfeed_start set). */
int mispfeed_run(struct mispfeed_job *job, struct taxii_response *resp);
void mispfeed_job_free(struct mispfeed_job *job);

#endif
