/* fuzz_noise.c - noise_hs_read() at every handshake step, and noise_cs_decrypt().
 *
 * Input: 1 mode byte (mod 4), then:
 *   0  message 1 as the responder reads it;
 *   1  message 2 as the initiator reads it, after it wrote a real message 1;
 *   2  message 3 as the responder reads it, after a real message 1 and its own message 2;
 *   3  transport: u8 nonce, u8 ad length, ad, then ciphertext, decrypted under a fixed key; and
 *      the same bytes as plaintext through encrypt, a one-byte flip and decrypt.
 * Keys are fixed (fuzz.h), so the seed corpus holds real messages 2 and 3 that pass, and the
 * fuzzer starts from the path that succeeds.
 *
 * Invariants:
 *  - every refusal is a noise_err, and a refused handshake refuses every later call (STATE);
 *  - message 1 carries no key yet: any 32..65535 bytes are accepted, payload = bytes after e;
 *  - a failed decrypt leaves the nonce unchanged; decrypt(encrypt(p)) == p; a flipped byte of
 *    the ciphertext or a different nonce is refused.
 */
#include <stdbool.h>

#include <sodium.h>

#include "crypto/noise.h"
#include "fuzz.h"

static const uint8_t prologue[] = "tlpmesh/1\0" FUZZ_NETWORK;

static bool is_noise_err(int rc)
{
    return rc <= NOISE_E_STATE && rc >= NOISE_E_NONCE;
}

static void hs_start(struct noise_hs *hs, bool initiator)
{
    uint8_t s[32], e[32];
    fuzz_key(s, initiator ? FUZZ_KEY_INITIATOR : FUZZ_KEY_RESPONDER);
    fuzz_key(e, initiator ? FUZZ_EPH_INITIATOR : FUZZ_EPH_RESPONDER);
    FUZZ_CHECK(noise_hs_init(hs, initiator, prologue, sizeof prologue - 1, s, e) == NOISE_OK);
}

/* Reads msg into hs and checks what any refusal must look like. */
static int read_msg(struct noise_hs *hs, const uint8_t *msg, size_t len)
{
    static uint8_t payload[NOISE_MAX_MSG];
    uint8_t spare[8];
    int rc = noise_hs_read(hs, msg, len, payload, sizeof payload);
    if (rc < 0) {
        FUZZ_CHECK(is_noise_err(rc));
        FUZZ_CHECK(noise_hs_read(hs, msg, len, payload, sizeof payload) == NOISE_E_STATE);
        FUZZ_CHECK(noise_hs_write(hs, NULL, 0, spare, sizeof spare) == NOISE_E_STATE);
    }
    return rc;
}

static void fuzz_msg1(const uint8_t *msg, size_t len)
{
    static uint8_t payload[NOISE_MAX_MSG];
    struct noise_hs r;
    int rc;

    hs_start(&r, false);
    rc = noise_hs_read(&r, msg, len, payload, sizeof payload);
    if (len < 32)
        FUZZ_CHECK(rc == NOISE_E_SHORT);
    else if (len > NOISE_MAX_MSG)
        FUZZ_CHECK(rc == NOISE_E_NOSPACE);
    else
        FUZZ_CHECK(rc == (int)(len - 32) && memcmp(payload, msg + 32, len - 32) == 0);
    noise_hs_wipe(&r);
}

static void fuzz_msg2(const uint8_t *msg, size_t len)
{
    uint8_t m1[64];
    struct noise_hs i;
    int rc;

    hs_start(&i, true);
    rc = noise_hs_write(&i, NULL, 0, m1, sizeof m1);
    FUZZ_CHECK(rc == 32);
    if (read_msg(&i, msg, len) >= 0)
        FUZZ_CHECK(noise_hs_remote_static(&i) != NULL);
    noise_hs_wipe(&i);
}

static void fuzz_msg3(const uint8_t *msg, size_t len)
{
    uint8_t m1[64], m2[128];
    struct noise_hs i, r;
    struct noise_cs tx, rx;
    uint8_t h[NOISE_HASHLEN];

    hs_start(&i, true);
    hs_start(&r, false);
    FUZZ_CHECK(noise_hs_write(&i, NULL, 0, m1, sizeof m1) == 32);
    FUZZ_CHECK(noise_hs_read(&r, m1, 32, NULL, 0) == 0);
    FUZZ_CHECK(noise_hs_write(&r, NULL, 0, m2, sizeof m2) == 96);
    if (read_msg(&r, msg, len) >= 0) {
        FUZZ_CHECK(noise_hs_done(&r));
        FUZZ_CHECK(noise_hs_split(&r, &tx, &rx, h) == NOISE_OK);
        noise_cs_wipe(&tx);
        noise_cs_wipe(&rx);
    }
    noise_hs_wipe(&i);
    noise_hs_wipe(&r);
}

static void cs_start(struct noise_cs *cs, uint64_t n)
{
    memset(cs, 0, sizeof *cs);
    fuzz_key(cs->k, FUZZ_KEY_INITIATOR);
    cs->has_key = true;
    cs->n = n;
}

static void fuzz_transport(struct fuzz_in *in)
{
    static uint8_t out[NOISE_MAX_MSG + NOISE_TAGLEN], back[NOISE_MAX_MSG];
    uint64_t nonce = fuzz_u8(in);
    size_t ad_len, flip_at;
    const uint8_t *ad = fuzz_bytes(in, fuzz_u8(in), &ad_len);
    struct noise_cs cs;
    int rc, ct_len;

    cs_start(&cs, nonce);
    rc = noise_cs_decrypt(&cs, ad, ad_len, in->p, in->n, out, sizeof out);
    if (rc < 0) {
        FUZZ_CHECK(is_noise_err(rc));
        FUZZ_CHECK(cs.n == nonce);
    } else {
        FUZZ_CHECK((size_t)rc + NOISE_TAGLEN == in->n && cs.n == nonce + 1);
    }

    if (in->n + NOISE_TAGLEN > NOISE_MAX_MSG)
        goto out;
    cs_start(&cs, nonce);
    ct_len = noise_cs_encrypt(&cs, ad, ad_len, in->p, in->n, out, sizeof out);
    FUZZ_CHECK(ct_len == (int)(in->n + NOISE_TAGLEN));
    cs_start(&cs, nonce + 1);
    FUZZ_CHECK(noise_cs_decrypt(&cs, ad, ad_len, out, (size_t)ct_len, back, sizeof back) ==
               NOISE_E_DECRYPT);
    cs_start(&cs, nonce);
    FUZZ_CHECK(noise_cs_decrypt(&cs, ad, ad_len, out, (size_t)ct_len, back, sizeof back) ==
               (int)in->n);
    FUZZ_CHECK(in->n == 0 || memcmp(back, in->p, in->n) == 0);
    flip_at = (nonce * 131u + in->n) % (size_t)ct_len;
    out[flip_at] ^= 0x01;
    cs_start(&cs, nonce);
    FUZZ_CHECK(noise_cs_decrypt(&cs, ad, ad_len, out, (size_t)ct_len, back, sizeof back) ==
               NOISE_E_DECRYPT);
    FUZZ_CHECK(cs.n == nonce);
out:
    noise_cs_wipe(&cs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool ready;
    struct fuzz_in in = {data, size};

    if (!ready) {
        FUZZ_CHECK(sodium_init() >= 0);
        ready = true;
    }
    switch (fuzz_u8(&in) % 4) {
    case 0: fuzz_msg1(in.p, in.n); break;
    case 1: fuzz_msg2(in.p, in.n); break;
    case 2: fuzz_msg3(in.p, in.n); break;
    default: fuzz_transport(&in); break;
    }
    return 0;
}
