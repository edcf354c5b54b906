/* fuzz_pattern.c - stixmap_pattern_parse() on arbitrary STIX patterns (from imported bundles).
 *
 * Input: 1 byte term capacity (1..LIMIT_STIX_PATTERN_TERMS), then the pattern (a C string).
 *
 * Invariants:
 *  - the answer is STIXMAP_OK with 1..cap terms, or STIXMAP_E_PATTERN with a reason;
 *  - every term has a real indicator type and a value of at most LIMIT_VALUE_BYTES;
 *  - build and parse agree: for a term whose value normalises, parsing the pattern built from the
 *    normal form gives back one term with that exact value, whose own pattern is the same text
 *    (the type may move within its STIX object: ip-src comes back as ip-dst, STIX says no
 *    direction).
 */
#include "fuzz.h"
#include "node/formats/stixmap.h"
#include "proto/indicator.h"

static void check_round_trip(const struct stixmap_term *t)
{
    static char norm[LIMIT_VALUE_BYTES + 1], pat[LIMIT_STIX_PATTERN_BYTES],
        pat2[LIMIT_STIX_PATTERN_BYTES];
    static struct stixmap_term back[LIMIT_STIX_PATTERN_TERMS];
    char why[256];
    size_t n = 0;
    int len;

    if (proto_indicator_normalise(t->itype, t->value, norm, sizeof norm, NULL, 0) != 0)
        return;
    len = stixmap_pattern_build(t->itype, norm, pat, sizeof pat);
    FUZZ_CHECK(len > 0 && (size_t)len == strlen(pat));
    why[0] = '\0';
    if (stixmap_pattern_parse(pat, back, LIMIT_STIX_PATTERN_TERMS, &n, why, sizeof why) !=
        STIXMAP_OK) {
        fprintf(stderr, "pattern %s: %s\n", pat, why);
        FUZZ_CHECK(!"a built pattern parses");
    }
    FUZZ_CHECK(n == 1);
    FUZZ_CHECK(strcmp(back[0].value, norm) == 0);
    FUZZ_CHECK(stixmap_pattern_build(back[0].itype, back[0].value, pat2, sizeof pat2) == len);
    FUZZ_CHECK(strcmp(pat, pat2) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct stixmap_term terms[LIMIT_STIX_PATTERN_TERMS];
    struct fuzz_in in = {data, size};
    size_t cap = 1 + fuzz_u8(&in) % LIMIT_STIX_PATTERN_TERMS, n = 0;
    char *pattern = fuzz_strdup(in.p, in.n);
    char why[512] = "";
    int rc;

    rc = stixmap_pattern_parse(pattern, terms, cap, &n, why, sizeof why);
    if (rc != STIXMAP_OK) {
        FUZZ_CHECK(rc == STIXMAP_E_PATTERN);
        FUZZ_CHECK(why[0] != '\0');
        goto out;
    }
    FUZZ_CHECK(n >= 1 && n <= cap);
    for (size_t i = 0; i < n; i++) {
        FUZZ_CHECK(proto_itype_name(terms[i].itype) != NULL);
        FUZZ_CHECK(strlen(terms[i].value) <= LIMIT_VALUE_BYTES);
        check_round_trip(&terms[i]);
    }
out:
    free(pattern);
    return 0;
}
