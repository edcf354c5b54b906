/* fuzz_indicator.c - proto_indicator_normalise() on arbitrary values of every type.
 *
 * Input: 1 byte type code (taken modulo PROTO_ITYPE_END + 1, so 0 and END, which are not types,
 * come up too), then the value text (a C string: bytes after a NUL are not seen).
 *
 * Invariants:
 *  - the answer is 0 or PROTO_E_VALUE / PROTO_E_TOOBIG with a reason (the buffer always fits);
 *  - only real types are accepted;
 *  - the normal form is strict UTF-8 without control characters (a rule: none but tab, CR and
 *    LF), at most the type's limit (proto_itype_max_bytes);
 *  - idempotence: normalise(normalise(x)) == normalise(x);
 *  - the output buffer size is honoured exactly: a buffer of strlen(out) bytes gets
 *    PROTO_E_NOSPACE, one of strlen(out) + 1 the same normal form.
 */
#include "fuzz.h"
#include "proto/indicator.h"
#include "proto/record.h"

/* A refusal names the type and value; NOSPACE is the caller's buffer, not the value's fault. */
static void check_refusal(int rc, const char *why)
{
    FUZZ_CHECK(rc == PROTO_E_VALUE || rc == PROTO_E_TOOBIG);
    FUZZ_CHECK(why[0] != '\0');
}

/* No control characters; in a rule, tab, CR and LF are text (checked between the CRs). */
static bool controls_ok(int itype, const char *s, size_t len)
{
    if (!proto_itype_is_rule(itype))
        return !proto_text_has_control(s, len, false);
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && s[i] != '\r')
            continue;
        if (proto_text_has_control(s + start, i - start, true))
            return false;
        start = i + 1;
    }
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_in in = {data, size};
    int itype = fuzz_u8(&in) % (PROTO_ITYPE_END + 1);
    static char out[LIMIT_VALUE_BYTES + 1], again[LIMIT_VALUE_BYTES + 1], tight[LIMIT_VALUE_BYTES + 1];
    char why[512] = "";
    char *value = fuzz_strdup(in.p, in.n);
    size_t len;
    int rc;

    rc = proto_indicator_normalise(itype, value, out, sizeof out, why, sizeof why);
    if (rc != 0) {
        check_refusal(rc, why);
        goto out;
    }
    FUZZ_CHECK(itype > 0 && itype < PROTO_ITYPE_END);
    len = strlen(out);
    FUZZ_CHECK(len <= proto_itype_max_bytes(itype));
    FUZZ_CHECK(proto_utf8_valid(out, len));
    FUZZ_CHECK(controls_ok(itype, out, len));

    rc = proto_indicator_normalise(itype, out, again, sizeof again, why, sizeof why);
    FUZZ_CHECK(rc == 0);
    FUZZ_CHECK(strcmp(out, again) == 0);

    FUZZ_CHECK(len > 0);
    rc = proto_indicator_normalise(itype, value, tight, len, why, sizeof why);
    FUZZ_CHECK(rc == PROTO_E_NOSPACE);
    rc = proto_indicator_normalise(itype, value, tight, len + 1, why, sizeof why);
    FUZZ_CHECK(rc == 0);
    FUZZ_CHECK(strcmp(out, tight) == 0);
out:
    free(value);
    return 0;
}
