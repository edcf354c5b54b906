/* taxii.h - a read-only TAXII 2.1 server as a pure request -> response function over the store
 * and the gate (docs/OPERATIONS.md "TAXII 2.1"). node/shell/http.c feeds it requests.
 *
 * Resources (all GET; every URL ends in "/", a missing final "/" is tolerated):
 *   /taxii2/                                         discovery: one API root, /tlpmesh/
 *   /tlpmesh/                                        API root
 *   /tlpmesh/collections/                            one collection, "indicators"
 *   /tlpmesh/collections/{id}/                       {id} = UUID derived from the node key
 *   /tlpmesh/collections/{id}/objects/               envelope of STIX objects
 *   /tlpmesh/collections/{id}/objects/{oid}/         one indicator (its only version)
 *   /tlpmesh/collections/{id}/objects/{oid}/versions/
 *   /tlpmesh/collections/{id}/manifest/
 * POST to objects/ is 403 (can_write is false); any other method 405.
 *
 * Who reads: taxii_authenticate() turns the Authorization header into a gate reader. A [Client]
 * credential is an authenticated reader of the client's Organisation, Relation (partner unless
 * configured client), ceiling min(MaxTLP, AMBER+STRICT) and Community lines; it has no node key,
 * so a RED record (which goes only to the recipient node keys it names) is never served. Without
 * credentials the reader is anonymous (when [HTTP] Anonymous = yes) and sees CLEAR only. Wrong
 * credentials are 401 even when anonymous reading is on: a typo must not silently downgrade.
 * Secrets are compared in constant time over the whole secret buffer (sodium_memcmp), against
 * every client, so timing tells neither which client matched nor how much of a secret did.
 *
 * What a reader sees: each stored indicator record that gate_check() allows to the reader now
 * (so never expired ones), that is not revoked and whose type has a STIX pattern, as the STIX
 * indicator node/formats/export.h builds. The node's identity and the marking-definitions the
 * page's indicators reference travel in the same envelope (count in `limit`; a page always carries
 * at least one indicator so paging progresses). Non-indicator records never appear.
 *
 * date_added is the record's local arrival time (store_put.added_us), which strictly increases
 * with the arrival seq, printed with microseconds. Objects come in seq order. `next` is an opaque
 * token: the last seq the page covered plus a hash of the match[...] filters and the endpoint;
 * another filter with that token is 400. added_after may be kept or dropped when paging with next
 * (OpenCTI drops it). Because date_added identifies a seq exactly, polling with
 * added_after = X-TAXII-Date-Added-Last of the last page gives every object exactly once.
 *
 * Pure: no sockets, no clock (the caller passes now_ms), store reads only. Ownership: struct
 * taxii_server and struct taxii_request are caller-owned and only read; struct taxii_response is
 * filled by taxii_handle() and owns its body until taxii_response_free().
 */
#ifndef TLPMESH_NODE_TAXII_H
#define TLPMESH_NODE_TAXII_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "node/config/config.h"
#include "node/core/gate.h"
#include "node/formats/stixmap.h"
#include "proto/errors.h"
#include "store/store.h"

#define TAXII_MEDIA_TYPE "application/taxii+json;version=2.1"
#define TAXII_STIX_MEDIA_TYPE "application/stix+json;version=2.1"
#define TAXII_API_ROOT "tlpmesh"
#define TAXII_COLLECTION_TITLE "indicators"
#define TAXII_DATE_LEN 27 /* "2026-11-23T16:40:00.123456Z" */

/* Error codes: X(name, value, message), range ERRORS_BASE_TAXII in proto/errors.h. */
#define TAXII_ERRORS(X) X(TAXII_E_NOMEM, ERRORS_BASE_TAXII - 0, "out of memory")

enum taxii_err {
    TAXII_OK = 0,
    TAXII_ERRORS(ERRORS_ENUM)
};

/* Names TAXII_E_* codes; taxii_handle() may also return a store_err (store_strerror). */
const char *taxii_strerror(int err);

enum taxii_auth {
    TAXII_AUTH_CLIENT = 0,    /* a [Client] credential matched */
    TAXII_AUTH_ANONYMOUS = 1, /* no credentials, anonymous reading allowed */
    TAXII_AUTH_MISSING = 2,   /* no credentials, anonymous reading not allowed: 401 */
    TAXII_AUTH_BAD = 3,       /* credentials that match no client, or a malformed header: 401 */
};

/* Reads the Authorization header (NULL = absent) against cfg's [Client]s and [HTTP] Anonymous.
 * Fills *reader for TAXII_AUTH_CLIENT and TAXII_AUTH_ANONYMOUS, and *client (may be NULL) with
 * the matching client or NULL. The scheme is matched case-insensitively ("basic" from MISP). */
enum taxii_auth taxii_authenticate(const struct config *cfg, const char *authorization,
                                   struct gate_peer *reader, const struct config_client **client);

struct taxii_param {
    const char *key;   /* decoded, e.g. "match[type]" */
    const char *value; /* decoded; "" for a key without '=' */
};

struct taxii_request {
    const char *method;
    const char *path;          /* decoded path, no query */
    const char *accept;        /* Accept header, NULL when absent */
    const char *authorization; /* Authorization header, NULL when absent */
    const struct taxii_param *params;
    size_t n_params;
};

struct taxii_server {
    struct store *store;
    const struct config *cfg;       /* [HTTP] and [Client] settings */
    struct gate_self self;          /* this node, as the gate sees it */
    enum stixmap_tlp_version stix_tlp;
    uint64_t identity_created_ms;   /* created/modified of the node's STIX identity */
    uint64_t now_ms;                /* of this request */
};

struct taxii_response {
    int status;                         /* HTTP status */
    const char *content_type;           /* static string */
    char *body;                         /* owned; body_len bytes, NUL-terminated */
    size_t body_len;
    char date_first[TAXII_DATE_LEN + 1]; /* X-TAXII-Date-Added-First, "" = no header */
    char date_last[TAXII_DATE_LEN + 1];  /* X-TAXII-Date-Added-Last, "" = no header */
    bool challenge;                     /* 401: send WWW-Authenticate */
    bool allow_get;                     /* 405: send Allow: GET */
    char reader[LIMIT_NAME_BYTES + 1];  /* client name, "anonymous" or "-" (for the log) */
};

/* Answers one request. Returns TAXII_OK with *resp filled (any HTTP status, errors included), or
 * TAXII_E_NOMEM or a store_err (then *resp is a 500 without a body). Call taxii_response_free()
 * either way. */
int taxii_handle(const struct taxii_server *srv, const struct taxii_request *req,
                 struct taxii_response *resp);

void taxii_response_free(struct taxii_response *resp);

/* Answering in two steps, for a server whose event loop must not wait for a walk of the store.
 * taxii_handle_start() does what is cheap on the caller's thread (authentication, Accept,
 * routing, the query's checks, one object by id, a page of match[id] ids through the id index)
 * and either answers as taxii_handle() does (*job NULL) or hands back *job for a page of
 * objects/ or manifest/ that walks the store (resp then holds only .reader). taxii_job_run()
 * builds that page into the same resp on any thread: the job holds copies of everything it
 * needs (the reader, this node's gate view, the parsed query) and no pointer into the config or
 * the request, so a reload may happen meanwhile; only srv->store must outlive it (store.h: one
 * struct store may be shared by threads). Returns as taxii_handle(). The caller owns *job and
 * frees it with taxii_job_free() (NULL is a no-op). */
struct taxii_job;
int taxii_handle_start(const struct taxii_server *srv, const struct taxii_request *req,
                       struct taxii_response *resp, struct taxii_job **job);
int taxii_job_run(struct taxii_job *job, struct taxii_response *resp);
void taxii_job_free(struct taxii_job *job);

/* The TAXII error body {"title", "http_status", "description"} for status 400..599, as a
 * malloc'ed string (NULL when out of memory): for errors found before taxii_handle() runs. */
char *taxii_error_json(int status, const char *title, const char *description);

/* The gate's view of a configured [Client] once it has authenticated (tlpmesh explain asks the
 * gate about it as the server would). */
void taxii_client_reader(const struct config_client *c, struct gate_peer *p);

/* The gate's part of what a reader sees (above): an indicator, not RED, that gate_check allows
 * to rd at now_ms. Whether it is revoked the caller asks the store (store_is_revoked): the
 * console shows a revoked record's page with its reason, TAXII never serves it. */
bool taxii_reader_may_read(const struct gate_self *self, const struct gate_peer *rd,
                           const struct proto_record *r, uint64_t now_ms);

/* The collection's id: a UUID derived from the node key. */
void taxii_collection_id(const uint8_t key[LIMIT_KEY_BYTES], char out[37]);

/* "YYYY-MM-DDTHH:MM:SS.ffffffZ" of Unix microseconds. */
void taxii_format_date(uint64_t us, char out[TAXII_DATE_LEN + 1]);

/* RFC 3339 with 0-9 fraction digits (kept to the microsecond, truncated) into Unix microseconds.
 * 0 on success, -1 on bad syntax or range. */
int taxii_parse_date(const char *text, uint64_t *us);

#endif
