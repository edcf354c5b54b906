/* fuzz_import.c - import_buffer(): MISP events, STIX bundles, CSV and text files from outside.
 *
 * Input: 1 byte format (mod 4: MISP, STIX, CSV, text), 1 byte type (0: none, else a type code
 * modulo PROTO_ITYPE_END), 1 byte CSV column (0: default, 1..9: that index, else a header name),
 * 1 byte flags (bit 0: include non-to_ids), then the file.
 *
 * Invariants:
 *  - success, or an import_err with a reason and the list left exactly as it was;
 *  - every candidate is well formed: a known status; OK and INVALID carry a real type, OK a value
 *    that is already its own normal form (normalise(value) == value, so the record encoder
 *    accepts it) and no reason, the others a reason; a TLP that is -1 or a level; at most
 *    LIMIT_TAGS tags of at most LIMIT_TAG_BYTES; a comment of at most LIMIT_COMMENT_BYTES, valid
 *    UTF-8 without control characters but tab and newline; a place (where); provenance (a
 *    tlpmesh export's x_tlpmesh) only on an OK candidate, within its bounds.
 */
#include <stdbool.h>

#include "fuzz.h"
#include "node/formats/import.h"
#include "proto/indicator.h"
#include "proto/tlp.h"

static const char *const columns[] = {"type", "value", "indicator", "Value", "2x", ""};

static void check_item(const struct import_item *it)
{
    static char norm[LIMIT_VALUE_BYTES + 1];

    FUZZ_CHECK(it->status >= IMPORT_OK && it->status < IMPORT_STATUS_COUNT);
    FUZZ_CHECK(it->where != NULL && it->value != NULL && it->src_type != NULL);
    FUZZ_CHECK(it->tlp == -1 || proto_tlp_valid(it->tlp));
    if (it->status == IMPORT_OK || it->status == IMPORT_INVALID)
        FUZZ_CHECK(proto_itype_name(it->itype) != NULL);
    if (it->status == IMPORT_OK) {
        FUZZ_CHECK(it->why == NULL);
        FUZZ_CHECK(proto_indicator_normalise(it->itype, it->value, norm, sizeof norm, NULL, 0) ==
                   0);
        FUZZ_CHECK(strcmp(norm, it->value) == 0);
    } else {
        FUZZ_CHECK(it->why != NULL && it->why[0] != '\0');
    }
    FUZZ_CHECK(it->n_tags <= LIMIT_TAGS);
    for (size_t i = 0; i < it->n_tags; i++)
        FUZZ_CHECK(it->tags[i] != NULL && strlen(it->tags[i]) <= LIMIT_TAG_BYTES);
    if (it->prov != NULL) { /* only an OK candidate keeps what a tlpmesh export said */
        FUZZ_CHECK(it->status == IMPORT_OK);
        FUZZ_CHECK(strlen(it->prov->origin_org) <= LIMIT_NAME_BYTES);
        FUZZ_CHECK(it->prov->audience.n_communities <= LIMIT_AUDIENCE_COMMUNITIES);
        FUZZ_CHECK(it->prov->audience.n_recipients <= LIMIT_AUDIENCE_RECIPIENTS);
    }
    if (it->comment != NULL) {
        size_t len = strlen(it->comment);
        FUZZ_CHECK(len <= LIMIT_COMMENT_BYTES);
        FUZZ_CHECK(proto_utf8_valid(it->comment, len));
        FUZZ_CHECK(!proto_text_has_control(it->comment, len, true));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const enum import_format formats[] = {IMPORT_MISP, IMPORT_STIX, IMPORT_CSV,
                                                 IMPORT_TEXT};
    struct fuzz_in in = {data, size};
    struct import_opts opts = {.format = formats[fuzz_u8(&in) % 4]};
    uint8_t type = fuzz_u8(&in), column = fuzz_u8(&in);
    char colbuf[2] = {0};
    struct import_list list;
    char why[512] = "";
    int rc;

    opts.itype = type == 0 ? -1 : 1 + type % (PROTO_ITYPE_END - 1);
    if (column >= 1 && column <= 9) {
        colbuf[0] = (char)('0' + column);
        opts.column = colbuf;
    } else if (column > 9) {
        opts.column = columns[column % (sizeof columns / sizeof columns[0])];
    }
    opts.include_non_ids = fuzz_u8(&in) & 1;

    import_list_init(&list);
    rc = import_buffer((const char *)in.p, in.n, "fuzz.in", &opts, &list, why, sizeof why);
    if (rc < 0) {
        FUZZ_CHECK(rc <= IMPORT_E_IO && rc >= IMPORT_E_NOMEM);
        FUZZ_CHECK(why[0] != '\0');
        FUZZ_CHECK(list.n == 0);
    } else {
        for (size_t i = 0; i < list.n; i++)
            check_item(&list.items[i]);
    }
    import_list_free(&list);
    return 0;
}
