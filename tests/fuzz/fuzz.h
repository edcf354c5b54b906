/* fuzz.h - what every fuzz target in tests/fuzz/ shares.
 *
 * A target is one file fuzz_<name>.c defining LLVMFuzzerTestOneInput(). It is linked either with
 * libFuzzer (clang, -DTLPMESH_FUZZ=ON: coverage-guided, for deep runs, scripts/fuzz.sh) or with
 * replay.c (any compiler: runs the seed corpus plus a fixed number of deterministic mutations, so
 * ctest exercises every target in the normal and the ASan build).
 *
 * Targets check invariants with FUZZ_CHECK, not assert(): a packager's flags may define NDEBUG,
 * and a check that such a build drops is not one. A failed check prints where and aborts,
 * which both drivers report as a crash together with the input.
 *
 * Targets never read a clock or a random source: every byte that steers them comes from the input,
 * so a crashing input reproduces exactly. State a target builds once (keys) lives in statics;
 * everything allocated per input is freed before returning (LeakSanitizer runs in both drivers).
 */
#ifndef TLPMESH_TESTS_FUZZ_H
#define TLPMESH_TESTS_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The libFuzzer entry point; returns 0 (the input is kept or dropped by coverage alone). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                                          \
    do {                                                                                          \
        if (!(cond)) {                                                                            \
            fprintf(stderr, "%s:%d: fuzz invariant failed: %s\n", __FILE__, __LINE__, #cond);     \
            abort();                                                                              \
        }                                                                                         \
    } while (0)

/* Consumes an input from the front: steering bytes first, then the payload. Reading past the end
 * yields zeros, so every input is a valid (if short) test. */
struct fuzz_in {
    const uint8_t *p;
    size_t n;
};

static inline uint8_t fuzz_u8(struct fuzz_in *in)
{
    if (in->n == 0)
        return 0;
    in->n--;
    return *in->p++;
}

static inline uint16_t fuzz_u16(struct fuzz_in *in)
{
    uint16_t hi = fuzz_u8(in);
    return (uint16_t)(hi << 8 | fuzz_u8(in));
}

/* The next min(len, remaining) bytes; *got says how many. */
static inline const uint8_t *fuzz_bytes(struct fuzz_in *in, size_t len, size_t *got)
{
    const uint8_t *p = in->p;
    *got = len < in->n ? len : in->n;
    in->p += *got;
    in->n -= *got;
    return p;
}

/* A NUL-terminated heap copy of data[0..len) (embedded NULs kept: C parsers see the prefix);
 * aborts when out of memory, which is the harness failing, not the target. */
static inline char *fuzz_strdup(const uint8_t *data, size_t len)
{
    char *s = malloc(len + 1);
    if (s == NULL)
        abort();
    if (len > 0)
        memcpy(s, data, len);
    s[len] = '\0';
    return s;
}

/* Fixed key material, so that seed files holding real handshake messages (made by
 * fuzz_mkseeds.c) stay valid: key[i] = tag + i. Tags name the roles below. */
enum fuzz_key_tag {
    FUZZ_KEY_INITIATOR = 0x10, /* static key / identity seed of the initiator */
    FUZZ_KEY_RESPONDER = 0x40,
    FUZZ_EPH_INITIATOR = 0x70, /* ephemeral private keys */
    FUZZ_EPH_RESPONDER = 0xa0,
};

static inline void fuzz_key(uint8_t out[32], enum fuzz_key_tag tag)
{
    for (int i = 0; i < 32; i++)
        out[i] = (uint8_t)(tag + i);
}

/* Network name every session/noise target and its seeds use. */
#define FUZZ_NETWORK "fuzz"

#endif
