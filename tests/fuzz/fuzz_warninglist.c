/* fuzz_warninglist.c - warninglist_load_buffer() on arbitrary JSON, then matching.
 *
 * Input: the JSON text. Twice loaded: into an empty set, then into a set holding one list.
 *
 * Invariants:
 *  - success adds exactly one list; a refusal is a warninglist_err with a reason and leaves the
 *    set as it was;
 *  - a loaded list is in its matching form: string and hostname entries lower-case and sorted,
 *    total_entries counts them;
 *  - every string, substring or hostname entry matches itself as a domain when the list applies
 *    to domains;
 *  - matching arbitrary values (the input's lines) of every type never crashes.
 */
#include <ctype.h>
#include <stdbool.h>

#include "fuzz.h"
#include "node/formats/warninglist.h"
#include "proto/indicator.h"

#define FUZZ_WL_SELF_CHECKS 64 /* entries matched against themselves per input */
#define FUZZ_WL_PROBES 16      /* input lines used as probe values */

static const char seed_list[] =
    "{\"name\":\"seed\",\"type\":\"cidr\",\"list\":[\"10.0.0.0/8\",\"fc00::/7\"]}";

static void check_list(const struct warninglist_set *set, const struct warninglist *wl)
{
    bool domains = wl->all_types || (wl->type_mask & (1u << PROTO_ITYPE_DOMAIN));
    bool sorted = wl->kind == WARNINGLIST_STRING || wl->kind == WARNINGLIST_HOSTNAME;

    for (size_t i = 0; i < wl->n_entries; i++) {
        const char *e = wl->entries[i];
        for (const char *c = e; *c; c++)
            FUZZ_CHECK(!isupper((unsigned char)*c));
        if (sorted && i > 0)
            FUZZ_CHECK(strcmp(wl->entries[i - 1], e) <= 0);
        if (domains && i < FUZZ_WL_SELF_CHECKS && e[0] != '\0')
            FUZZ_CHECK(warninglist_match(set, PROTO_ITYPE_DOMAIN, e) != NULL);
    }
}

static void probe(const struct warninglist_set *set, const uint8_t *data, size_t size)
{
    const uint8_t *p = data, *end = data + size;
    for (int k = 0; k < FUZZ_WL_PROBES && p < end; k++) {
        const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
        char *value = fuzz_strdup(p, len);
        for (int t = PROTO_ITYPE_IP_SRC; t < PROTO_ITYPE_END; t++)
            (void)warninglist_match(set, t, value);
        free(value);
        p += len + 1;
    }
}

static void load(struct warninglist_set *set, const uint8_t *data, size_t size)
{
    size_t before = set->n, entries = set->total_entries;
    char why[512] = "";
    int rc = warninglist_load_buffer(set, (const char *)data, size, "fuzz.json", why, sizeof why);

    if (rc != WARNINGLIST_OK) {
        FUZZ_CHECK(rc <= WARNINGLIST_E_IO && rc >= WARNINGLIST_E_NOMEM);
        FUZZ_CHECK(why[0] != '\0');
        FUZZ_CHECK(set->n == before && set->total_entries == entries);
        return;
    }
    FUZZ_CHECK(set->n == before + 1);
    check_list(set, &set->lists[before]);
    probe(set, data, size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct warninglist_set set;
    char why[256];

    warninglist_set_init(&set);
    load(&set, data, size);
    warninglist_set_free(&set);

    warninglist_set_init(&set);
    FUZZ_CHECK(warninglist_load_buffer(&set, seed_list, sizeof seed_list - 1, "seed", why,
                                       sizeof why) == WARNINGLIST_OK);
    load(&set, data, size);
    warninglist_set_free(&set);
    return 0;
}
