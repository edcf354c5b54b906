/* fuzz_record.c - proto_record_decode() on arbitrary bodies (the bytes every peer sends us).
 *
 * Invariants:
 *  - decode either succeeds or returns a proto_err with a non-empty reason;
 *  - decode is deterministic (the same bytes give the same struct and the same answer);
 *  - canonical round trip: when decode succeeds, encode(decoded) is the input byte for byte, so
 *    one record has one id;
 *  - a decoded record is already in normal form: proto_record_normalise_sets() changes nothing;
 *  - the time and signature checks run on any decoded record without crashing.
 */
#include <stdbool.h>

#include "fuzz.h"
#include "proto/record.h"

static bool is_proto_err(int rc)
{
    return rc <= PROTO_E_NOSPACE && rc >= PROTO_E_AUDIENCE;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct proto_record a, b, c;
    static uint8_t enc[LIMIT_RECORD_BYTES];
    static const uint8_t zero_sig[LIMIT_SIG_BYTES];
    char why[256] = "", why2[256] = "";
    int rc, rc2, n;

    /* Zeroed first so that memcmp compares fields, not leftovers of the last input. */
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    rc = proto_record_decode(data, size, &a, why, sizeof why);
    rc2 = proto_record_decode(data, size, &b, why2, sizeof why2);
    FUZZ_CHECK(rc == rc2);
    FUZZ_CHECK(strcmp(why, why2) == 0);
    if (rc != PROTO_OK) {
        FUZZ_CHECK(is_proto_err(rc));
        FUZZ_CHECK(why[0] != '\0');
        FUZZ_CHECK(proto_strerror(rc) != NULL);
        return 0;
    }
    FUZZ_CHECK(memcmp(&a, &b, sizeof a) == 0);

    n = proto_record_encode(&a, enc, sizeof enc);
    FUZZ_CHECK(n > 0);
    FUZZ_CHECK((size_t)n == size);
    FUZZ_CHECK(memcmp(enc, data, size) == 0);

    memcpy(&c, &a, sizeof c);
    proto_record_normalise_sets(&c);
    FUZZ_CHECK(memcmp(&a, &c, sizeof a) == 0);

    (void)proto_record_check_time(&a, 0);
    (void)proto_record_check_time(&a, UINT64_MAX);
    FUZZ_CHECK(proto_record_verify(data, size, zero_sig, a.origin) == PROTO_E_SIGNATURE);
    return 0;
}
