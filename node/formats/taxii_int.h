/* taxii_int.h - what the parts of the TAXII server share; private to node/formats/taxii*.c.
 *
 * taxii.h is the contract. The implementation is split by concern:
 *   taxii.c          strerror, dates, authentication, response bodies, discovery and the API
 *                    root, request checks and routing (taxii_handle)
 *   taxii_filter.c   the query: match[] filters, added_after, limit, next tokens
 *   taxii_objects.c  the records a reader may see, envelopes and manifests, one object
 */
#ifndef TLPMESH_NODE_FORMATS_TAXII_INT_H
#define TLPMESH_NODE_FORMATS_TAXII_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "node/formats/export.h"
#include "node/formats/taxii.h"

#define TOKEN_LEN 32           /* next token: 16 hex digits of seq, 16 of the filter hash */

enum obj_type { T_INDICATOR = 1, T_IDENTITY = 2, T_MARKING = 4 };

struct filter {
    bool has_added_after;
    uint64_t added_after_us;
    uint32_t limit;
    bool has_next;
    uint64_t next_seq;
    uint8_t hash[8];            /* of the match[] filters and the endpoint */
    unsigned types;             /* enum obj_type bits allowed; all when no match[type] */
    size_t n_ids;
    char ids[LIMIT_TAXII_MATCH_VALUES][EXPORT_UUID_TEXT]; /* indicator UUIDs wanted */
    bool any_id;                /* no match[id] */
    bool any_version;           /* no match[version] or first/last/all in it */
    size_t n_versions;
    uint64_t versions_us[LIMIT_TAXII_MATCH_VALUES];
    bool spec_ok;               /* no match[spec_version], or it lists 2.1 */
};

struct qerr {
    char msg[256];
};

enum page_kind { PAGE_OBJECTS, PAGE_MANIFEST };

/* Fills f from the request's query for endpoint (the filter hash covers both); false with e->msg
 * on a bad parameter (taxii_filter.c). */
bool taxii_parse_filter(const struct taxii_server *srv, const struct taxii_request *req,
                        const char *endpoint, struct filter *f, struct qerr *e);
/* The next token for a page that stopped after seq (taxii_filter.c). */
void taxii_token_make(uint64_t seq, const uint8_t hash[8], char out[TOKEN_LEN + 1]);
/* A JSON response (o's reference is taken) / a TAXII error object (taxii.c). */
void taxii_set_body(struct taxii_response *resp, int status, json_t *o);
void taxii_set_error(struct taxii_response *resp, int status, const char *title,
                     const char *description);
/* A page to build (taxii.h "Answering in two steps"): copies only, so any thread may run it. */
struct taxii_job {
    struct taxii_server srv; /* srv.cfg is NULL: the query was read from it already */
    struct gate_peer rd;
    struct filter f;
    enum page_kind kind;
};

/* GET objects/ or manifest/ for reader rd (taxii_objects.c). A page of match[id] ids is built at
 * once through the id index; any other page is handed back in *job when job != NULL (built at
 * once when job is NULL). */
int taxii_envelope(const struct taxii_server *srv, const struct gate_peer *rd,
                   const struct taxii_request *req, enum page_kind kind,
                   struct taxii_response *resp, struct taxii_job **job);
/* Builds j's page into resp (taxii_objects.c). */
int taxii_page_build(const struct taxii_job *j, struct taxii_response *resp);
/* GET objects/{id}/ or objects/{id}/versions/ for reader rd (taxii_objects.c). */
int taxii_one_object(const struct taxii_server *srv, const struct gate_peer *rd,
                     const struct taxii_request *req, const char *oid, bool versions,
                     struct taxii_response *resp);

#endif
