/* fuzz_taxii.c - TAXII 2.1 requests (node/formats/taxii.h: routing, authentication, the match[]
 * / added_after / limit / next query of taxii_filter.c, envelopes and manifests) against a real
 * LMDB store of records of every kind and TLP (fuzz_serve.h).
 *
 * Input: u8 flags (bit 0: an Accept header, bit 1: an Authorization header), then '\n'-separated
 * fields: method, path, Accept (if flagged), Authorization (if flagged), then query parameters
 * "key=value" (no '=': value ""), at most LIMIT_HTTP_QUERY_PARAMS as http.c passes them.
 *
 * Invariants: taxii_handle answers every request with TAXII_OK and a body, never a 500 (no
 * request makes a sound server fail); the status is 200..599; the body is NUL-terminated at
 * body_len and, when it is TAXII or STIX JSON, parses; no 200 answer carries a record no reader
 * may get (RED: a [Client] has no node key; the revoked one; AMBER+STRICT of a community no
 * reader is in), and an anonymous answer carries nothing but CLEAR.
 */
#include <jansson.h>

#include "fuzz_serve.h"
#include "node/formats/taxii.h"

/* Values of the preloaded records that no reader may see, and those only anonymous ones may not. */
static const char *const never[] = {
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", /* RED */
    "d41d8cd98f00b204e9800998ecf8427e",                                 /* RED */
    "evil.example/x",                                                   /* revoked */
    "c2.evil.example",                                                  /* AMBER+STRICT, other */
};
static const char *const not_anonymous[] = {"198.51.100.0/24", "phish@evil.example"};

/* The next field up to '\n' (or the end) as a heap string. */
static char *field(struct fuzz_in *in)
{
    const uint8_t *nl = in->n ? memchr(in->p, '\n', in->n) : NULL;
    size_t len = nl ? (size_t)(nl - in->p) : in->n, got;
    const uint8_t *p = fuzz_bytes(in, len, &got);
    if (nl)
        fuzz_u8(in);
    return fuzz_strdup(p, got);
}

static void check_body(const struct taxii_response *r, bool anonymous)
{
    FUZZ_CHECK(r->status >= 200 && r->status <= 599);
    if (r->body == NULL)
        return;
    FUZZ_CHECK(strlen(r->body) == r->body_len);
    if (r->content_type != NULL && (strcmp(r->content_type, TAXII_MEDIA_TYPE) == 0 ||
                                    strcmp(r->content_type, TAXII_STIX_MEDIA_TYPE) == 0)) {
        json_t *j = json_loadb(r->body, r->body_len, 0, NULL);
        FUZZ_CHECK(j != NULL);
        json_decref(j);
    }
    if (r->status != 200)
        return; /* an error may quote the client's own bytes */
    for (size_t i = 0; i < sizeof never / sizeof never[0]; i++)
        FUZZ_CHECK(strstr(r->body, never[i]) == NULL);
    for (size_t i = 0; anonymous && i < sizeof not_anonymous / sizeof not_anonymous[0]; i++)
        FUZZ_CHECK(strstr(r->body, not_anonymous[i]) == NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_serve *env = fuzz_serve_env();
    struct fuzz_in in = {data, size};
    uint8_t flags = fuzz_u8(&in);
    char *method = field(&in), *path = field(&in);
    char *accept = flags & 1 ? field(&in) : NULL, *auth = flags & 2 ? field(&in) : NULL;
    char *lines[LIMIT_HTTP_QUERY_PARAMS];
    struct taxii_param params[LIMIT_HTTP_QUERY_PARAMS];
    size_t n = 0;
    struct taxii_server srv = {.store = env->store,
                               .cfg = &env->cfg,
                               .stix_tlp = STIXMAP_TLP2,
                               .identity_created_ms = FUZZ_WALL0 - 86400000,
                               .now_ms = FUZZ_WALL0};
    struct taxii_request req = {
        .method = method, .path = path, .accept = accept, .authorization = auth, .params = params};
    struct taxii_response resp;
    int rc;

    memcpy(srv.self.key, env->self.sign_pk, LIMIT_KEY_BYTES);
    snprintf(srv.self.org, sizeof srv.self.org, "cert-self");
    srv.self.n_communities = 1;
    snprintf(srv.self.communities[0], sizeof srv.self.communities[0], "energy");
    while (in.n > 0 && n < LIMIT_HTTP_QUERY_PARAMS) {
        char *eq;
        lines[n] = field(&in);
        eq = strchr(lines[n], '=');
        params[n] = (struct taxii_param){lines[n], ""};
        if (eq != NULL)
            *eq = '\0', params[n].value = eq + 1;
        n++;
    }
    req.n_params = n;
    rc = taxii_handle(&srv, &req, &resp);
    /* Nothing a client sends makes the server fail: the store is sound and memory plentiful. */
    FUZZ_CHECK(rc == TAXII_OK && resp.body != NULL && resp.status != 500);
    check_body(&resp, auth == NULL);
    taxii_response_free(&resp);
    for (size_t i = 0; i < n; i++)
        free(lines[i]);
    free(method), free(path), free(accept), free(auth);
    return 0;
}
