/* noise.c - Noise_XX_25519_ChaChaPoly_BLAKE2b on libsodium (contract in noise.h).
 *
 * Names follow the spec (rev. 34 §5): CipherState = struct noise_cs, SymmetricState = the ck/h/cs
 * part of struct noise_hs, HandshakeState = the rest. XX is
 *   -> e
 *   <- e, ee, s, es
 *   -> s, se
 */
#include "crypto/noise.h"

#include <assert.h>
#include <string.h>

#include <sodium.h>

#define NOISE_BLOCKLEN  128 /* BLAKE2b block size: HMAC's B (RFC 2104) */
#define NOISE_KEYLEN    32
#define NOISE_NONCELEN  12
#define NOISE_STEP_DONE 3
#define NOISE_STEP_DEAD 0xff /* after a failed handshake message: every call is refused */

_Static_assert(sizeof NOISE_PROTOCOL_NAME - 1 <= NOISE_HASHLEN, "name fits in h unhashed");
_Static_assert(crypto_generichash_BYTES_MAX == NOISE_HASHLEN, "BLAKE2b-512");
_Static_assert(crypto_aead_chacha20poly1305_ietf_KEYBYTES == NOISE_KEYLEN, "key size");
_Static_assert(crypto_aead_chacha20poly1305_ietf_NPUBBYTES == NOISE_NONCELEN, "nonce size");
_Static_assert(crypto_aead_chacha20poly1305_ietf_ABYTES == NOISE_TAGLEN, "tag size");
_Static_assert(crypto_scalarmult_BYTES == NOISE_DHLEN, "X25519 size");
_Static_assert(NOISE_MAX_MSG <= INT32_MAX, "lengths are returned as int");

const char *noise_strerror(int err)
{
    switch (err) {
    case NOISE_OK:
        return "ok";
    NOISE_ERRORS(ERRORS_CASE)
    default:
        return "noise: unknown error";
    }
}

/* --- hash, HMAC, HKDF (§4.3) ------------------------------------------------------------- */

/* HASH(a || b) with BLAKE2b-512. */
static void hash2(uint8_t out[NOISE_HASHLEN], const uint8_t *a, size_t a_len, const uint8_t *b,
                  size_t b_len)
{
    crypto_generichash_state st;

    crypto_generichash_init(&st, NULL, 0, NOISE_HASHLEN);
    crypto_generichash_update(&st, a, a_len);
    crypto_generichash_update(&st, b, b_len);
    crypto_generichash_final(&st, out, NOISE_HASHLEN);
    sodium_memzero(&st, sizeof st);
}

/* HMAC-BLAKE2b(key, d1 || d2) per RFC 2104: H((K ^ opad) || H((K ^ ipad) || data)). Noise only
 * keys it with HASHLEN bytes, which is under the block size, so the key is never pre-hashed. */
static void hmac(uint8_t out[NOISE_HASHLEN], const uint8_t key[NOISE_HASHLEN], const uint8_t *d1,
                 size_t d1_len, const uint8_t *d2, size_t d2_len)
{
    uint8_t pad[NOISE_BLOCKLEN];
    uint8_t inner[NOISE_HASHLEN];
    crypto_generichash_state st;

    memset(pad, 0x36, sizeof pad);
    for (size_t i = 0; i < NOISE_HASHLEN; i++)
        pad[i] ^= key[i];
    crypto_generichash_init(&st, NULL, 0, NOISE_HASHLEN);
    crypto_generichash_update(&st, pad, sizeof pad);
    crypto_generichash_update(&st, d1, d1_len);
    crypto_generichash_update(&st, d2, d2_len);
    crypto_generichash_final(&st, inner, sizeof inner);

    /* 0x36 ^ 0x5c turns the inner pad into the outer one without touching the key again. */
    for (size_t i = 0; i < sizeof pad; i++)
        pad[i] ^= 0x36 ^ 0x5c;
    hash2(out, pad, sizeof pad, inner, sizeof inner);

    sodium_memzero(pad, sizeof pad);
    sodium_memzero(inner, sizeof inner);
    sodium_memzero(&st, sizeof st);
}

/* HKDF(ck, ikm, 2): the only arity XX needs (no PSK, so never 3). */
static void hkdf2(const uint8_t ck[NOISE_HASHLEN], const uint8_t *ikm, size_t ikm_len,
                  uint8_t out1[NOISE_HASHLEN], uint8_t out2[NOISE_HASHLEN])
{
    static const uint8_t one = 0x01, two = 0x02;
    uint8_t temp_key[NOISE_HASHLEN];

    assert(ikm_len == 0 || ikm_len == NOISE_DHLEN);
    hmac(temp_key, ck, ikm, ikm_len, NULL, 0);
    hmac(out1, temp_key, &one, 1, NULL, 0);
    hmac(out2, temp_key, out1, NOISE_HASHLEN, &two, 1);
    sodium_memzero(temp_key, sizeof temp_key);
}

/* --- CipherState (§5.1) ------------------------------------------------------------------- */

static void cs_init_key(struct noise_cs *cs, const uint8_t key[NOISE_KEYLEN])
{
    memcpy(cs->k, key, NOISE_KEYLEN);
    cs->n = 0;
    cs->has_key = true;
}

static void make_nonce(uint8_t nonce[NOISE_NONCELEN], uint64_t n)
{
    memset(nonce, 0, 4);
    for (size_t i = 0; i < 8; i++)
        nonce[4 + i] = (uint8_t)(n >> (8 * i));
}

/* ENCRYPT(k, n, ad, pt) without touching n; out holds pt_len + TAGLEN bytes. */
static void aead_encrypt(const uint8_t k[NOISE_KEYLEN], uint64_t n, const uint8_t *ad,
                         size_t ad_len, const uint8_t *pt, size_t pt_len, uint8_t *out)
{
    uint8_t nonce[NOISE_NONCELEN];

    make_nonce(nonce, n);
    crypto_aead_chacha20poly1305_ietf_encrypt(out, NULL, pt, pt_len, ad, ad_len, NULL, nonce, k);
}

/* EncryptWithAd: with no key the plaintext passes through, as during message 1. The caller has
 * checked that out holds pt_len (+ TAGLEN if keyed). Returns the output length or an error. */
static int cs_encrypt_ad(struct noise_cs *cs, const uint8_t *ad, size_t ad_len, const uint8_t *pt,
                         size_t pt_len, uint8_t *out)
{
    if (!cs->has_key) {
        if (pt_len > 0) /* pt may be NULL when empty; memmove(NULL) is undefined even for 0 */
            memmove(out, pt, pt_len);
        return (int)pt_len;
    }
    if (cs->n == NOISE_NONCE_MAX)
        return NOISE_E_NONCE;
    aead_encrypt(cs->k, cs->n, ad, ad_len, pt, pt_len, out);
    cs->n++;
    return (int)(pt_len + NOISE_TAGLEN);
}

/* DecryptWithAd: n advances only when the tag verifies. */
static int cs_decrypt_ad(struct noise_cs *cs, const uint8_t *ad, size_t ad_len, const uint8_t *ct,
                         size_t ct_len, uint8_t *out)
{
    uint8_t nonce[NOISE_NONCELEN];

    if (!cs->has_key) {
        if (ct_len > 0)
            memmove(out, ct, ct_len);
        return (int)ct_len;
    }
    if (cs->n == NOISE_NONCE_MAX)
        return NOISE_E_NONCE;
    if (ct_len < NOISE_TAGLEN)
        return NOISE_E_SHORT;
    make_nonce(nonce, cs->n);
    if (crypto_aead_chacha20poly1305_ietf_decrypt(out, NULL, NULL, ct, ct_len, ad, ad_len, nonce,
                                                  cs->k) != 0)
        return NOISE_E_DECRYPT;
    cs->n++;
    return (int)(ct_len - NOISE_TAGLEN);
}

int noise_cs_encrypt(struct noise_cs *cs, const uint8_t *ad, size_t ad_len, const uint8_t *pt,
                     size_t pt_len, uint8_t *out, size_t cap)
{
    assert(cs != NULL && out != NULL && (pt != NULL || pt_len == 0) && (ad != NULL || ad_len == 0));
    /* A transport CipherState without a key would send plaintext: refuse instead. */
    if (!cs->has_key)
        return NOISE_E_STATE;
    if (pt_len > NOISE_MAX_MSG - NOISE_TAGLEN || cap < pt_len + NOISE_TAGLEN)
        return NOISE_E_NOSPACE;
    return cs_encrypt_ad(cs, ad, ad_len, pt, pt_len, out);
}

int noise_cs_decrypt(struct noise_cs *cs, const uint8_t *ad, size_t ad_len, const uint8_t *ct,
                     size_t ct_len, uint8_t *out, size_t cap)
{
    assert(cs != NULL && (out != NULL || cap == 0) && (ct != NULL || ct_len == 0) &&
           (ad != NULL || ad_len == 0));
    if (!cs->has_key)
        return NOISE_E_STATE;
    if (ct_len > NOISE_MAX_MSG)
        return NOISE_E_NOSPACE;
    if (ct_len < NOISE_TAGLEN)
        return NOISE_E_SHORT;
    if (cap < ct_len - NOISE_TAGLEN)
        return NOISE_E_NOSPACE;
    return cs_decrypt_ad(cs, ad, ad_len, ct, ct_len, out);
}

void noise_cs_rekey(struct noise_cs *cs)
{
    static const uint8_t zeros[NOISE_KEYLEN];
    uint8_t out[NOISE_KEYLEN + NOISE_TAGLEN];

    assert(cs != NULL && cs->has_key);
    aead_encrypt(cs->k, NOISE_NONCE_MAX, NULL, 0, zeros, sizeof zeros, out);
    memcpy(cs->k, out, NOISE_KEYLEN);
    sodium_memzero(out, sizeof out);
}

void noise_cs_wipe(struct noise_cs *cs)
{
    assert(cs != NULL);
    sodium_memzero(cs, sizeof *cs);
}

/* --- SymmetricState (§5.2) ---------------------------------------------------------------- */

static void mix_hash(struct noise_hs *hs, const uint8_t *data, size_t len)
{
    hash2(hs->h, hs->h, NOISE_HASHLEN, data, len);
}

/* MixKey(DH(sk, pk)); refuses an all-zero DH result (libsodium's crypto_scalarmult fails on it). */
static int mix_key_dh(struct noise_hs *hs, const uint8_t sk[NOISE_DHLEN],
                      const uint8_t pk[NOISE_DHLEN])
{
    uint8_t dh[NOISE_DHLEN];
    uint8_t temp_k[NOISE_HASHLEN];
    int rc = NOISE_E_DH;

    /* libsodium 1.0.18 already fails on an all-zero result; the second test keeps that property
     * independent of the library version. */
    if (crypto_scalarmult(dh, sk, pk) != 0 || sodium_is_zero(dh, sizeof dh))
        goto out;
    hkdf2(hs->ck, dh, sizeof dh, hs->ck, temp_k);
    cs_init_key(&hs->cs, temp_k); /* HASHLEN 64: the key is the first 32 bytes */
    rc = NOISE_OK;
out:
    sodium_memzero(dh, sizeof dh);
    sodium_memzero(temp_k, sizeof temp_k);
    return rc;
}

static int encrypt_and_hash(struct noise_hs *hs, const uint8_t *pt, size_t pt_len, uint8_t *out)
{
    int n = cs_encrypt_ad(&hs->cs, hs->h, NOISE_HASHLEN, pt, pt_len, out);

    if (n >= 0)
        mix_hash(hs, out, (size_t)n);
    return n;
}

static int decrypt_and_hash(struct noise_hs *hs, const uint8_t *ct, size_t ct_len, uint8_t *out)
{
    /* h must absorb the ciphertext, which out may overwrite if they alias: hash into a copy. */
    uint8_t h_next[NOISE_HASHLEN];
    int n;

    hash2(h_next, hs->h, NOISE_HASHLEN, ct, ct_len);
    n = cs_decrypt_ad(&hs->cs, hs->h, NOISE_HASHLEN, ct, ct_len, out);
    if (n >= 0)
        memcpy(hs->h, h_next, NOISE_HASHLEN);
    sodium_memzero(h_next, sizeof h_next);
    return n;
}

/* --- HandshakeState (§5.3) ---------------------------------------------------------------- */

enum token { TOK_END = 0, TOK_E, TOK_S, TOK_EE, TOK_ES, TOK_SE };

#define XX_MAX_TOKENS 4

/* The XX pattern; message i is written by the initiator when i is even. */
static const uint8_t xx_pattern[NOISE_STEP_DONE][XX_MAX_TOKENS + 1] = {
    {TOK_E},
    {TOK_E, TOK_EE, TOK_S, TOK_ES},
    {TOK_S, TOK_SE},
};

/* Bytes message hs->step adds around its payload: keys, their tags and the payload's tag. */
static size_t overhead(const struct noise_hs *hs)
{
    const uint8_t *tok = xx_pattern[hs->step];
    bool keyed = hs->cs.has_key;
    size_t len = 0;

    for (size_t i = 0; i < XX_MAX_TOKENS && tok[i] != TOK_END; i++) {
        if (tok[i] == TOK_E)
            len += NOISE_DHLEN;
        else if (tok[i] == TOK_S)
            len += NOISE_DHLEN + (keyed ? NOISE_TAGLEN : 0);
        else
            keyed = true; /* every DH token ends in MixKey */
    }
    return len + (keyed ? NOISE_TAGLEN : 0);
}

static bool my_turn(const struct noise_hs *hs)
{
    return hs->step < NOISE_STEP_DONE && ((hs->step % 2 == 0) == hs->initiator);
}

/* A failed handshake is dead: secrets gone, every later call refused. */
static int fail(struct noise_hs *hs, int err)
{
    assert(err < 0);
    noise_hs_wipe(hs);
    return err;
}

int noise_hs_init(struct noise_hs *hs, bool initiator, const uint8_t *prologue, size_t prologue_len,
                  const uint8_t s_sk[32], const uint8_t e_sk[32])
{
    assert(hs != NULL && s_sk != NULL && e_sk != NULL && (prologue != NULL || prologue_len == 0));
    memset(hs, 0, sizeof *hs);
    if (prologue_len > NOISE_MAX_PROLOGUE)
        return fail(hs, NOISE_E_NOSPACE);
    /* InitializeSymmetric: the name fits in HASHLEN, so h is the name zero-padded; ck = h. */
    memcpy(hs->h, NOISE_PROTOCOL_NAME, sizeof NOISE_PROTOCOL_NAME - 1);
    memcpy(hs->ck, hs->h, NOISE_HASHLEN);
    mix_hash(hs, prologue, prologue_len);
    memcpy(hs->s_sk, s_sk, 32);
    memcpy(hs->e_sk, e_sk, 32);
    if (crypto_scalarmult_base(hs->s_pk, hs->s_sk) != 0 ||
        crypto_scalarmult_base(hs->e_pk, hs->e_sk) != 0)
        return fail(hs, NOISE_E_DH);
    hs->initiator = initiator;
    hs->step = 0;
    return NOISE_OK;
}

/* ee, es, se: each side computes the DH with the private half it owns. */
static int mix_dh_token(struct noise_hs *hs, uint8_t tok)
{
    switch (tok) {
    case TOK_EE:
        return mix_key_dh(hs, hs->e_sk, hs->re);
    case TOK_ES:
        return hs->initiator ? mix_key_dh(hs, hs->e_sk, hs->rs) : mix_key_dh(hs, hs->s_sk, hs->re);
    case TOK_SE:
        return hs->initiator ? mix_key_dh(hs, hs->s_sk, hs->re) : mix_key_dh(hs, hs->e_sk, hs->rs);
    default:
        assert(!"not a DH token");
        return NOISE_E_STATE;
    }
}

static int write_token(struct noise_hs *hs, uint8_t tok, uint8_t *out, size_t *pos)
{
    int n;

    switch (tok) {
    case TOK_E:
        memcpy(out + *pos, hs->e_pk, NOISE_DHLEN);
        mix_hash(hs, hs->e_pk, NOISE_DHLEN);
        *pos += NOISE_DHLEN;
        return NOISE_OK;
    case TOK_S:
        n = encrypt_and_hash(hs, hs->s_pk, NOISE_DHLEN, out + *pos);
        if (n < 0)
            return n;
        *pos += (size_t)n;
        return NOISE_OK;
    default:
        return mix_dh_token(hs, tok);
    }
}

/* The caller has checked that msg holds every key this pattern carries. */
static int read_token(struct noise_hs *hs, uint8_t tok, const uint8_t *msg, size_t *pos)
{
    size_t len;
    int n;

    switch (tok) {
    case TOK_E:
        memcpy(hs->re, msg + *pos, NOISE_DHLEN);
        mix_hash(hs, hs->re, NOISE_DHLEN);
        *pos += NOISE_DHLEN;
        return NOISE_OK;
    case TOK_S:
        len = NOISE_DHLEN + (hs->cs.has_key ? NOISE_TAGLEN : 0);
        n = decrypt_and_hash(hs, msg + *pos, len, hs->rs);
        if (n < 0)
            return n;
        *pos += len;
        return NOISE_OK;
    default:
        return mix_dh_token(hs, tok);
    }
}

int noise_hs_write(struct noise_hs *hs, const uint8_t *payload, size_t payload_len, uint8_t *out,
                   size_t cap)
{
    const uint8_t *tok;
    size_t pos = 0, fixed;
    int rc;

    assert(hs != NULL && out != NULL && (payload != NULL || payload_len == 0));
    if (!my_turn(hs))
        return NOISE_E_STATE;
    /* Checked before any state changes, so a too-small buffer leaves the handshake usable. */
    fixed = overhead(hs);
    if (payload_len > NOISE_MAX_MSG - fixed || cap < fixed + payload_len)
        return NOISE_E_NOSPACE;

    tok = xx_pattern[hs->step];
    for (size_t i = 0; i < XX_MAX_TOKENS && tok[i] != TOK_END; i++)
        if ((rc = write_token(hs, tok[i], out, &pos)) < 0)
            return fail(hs, rc);
    if ((rc = encrypt_and_hash(hs, payload, payload_len, out + pos)) < 0)
        return fail(hs, rc);
    pos += (size_t)rc;
    assert(pos == fixed + payload_len);
    hs->step++;
    return (int)pos;
}

int noise_hs_read(struct noise_hs *hs, const uint8_t *msg, size_t len, uint8_t *payload, size_t cap)
{
    const uint8_t *tok;
    size_t pos = 0, fixed;
    int rc;

    assert(hs != NULL && (msg != NULL || len == 0) && (payload != NULL || cap == 0));
    if (hs->step >= NOISE_STEP_DONE || my_turn(hs))
        return NOISE_E_STATE;
    fixed = overhead(hs);
    if (len > NOISE_MAX_MSG)
        return fail(hs, NOISE_E_NOSPACE);
    if (len < fixed)
        return fail(hs, NOISE_E_SHORT);
    if (cap < len - fixed)
        return fail(hs, NOISE_E_NOSPACE);

    tok = xx_pattern[hs->step];
    for (size_t i = 0; i < XX_MAX_TOKENS && tok[i] != TOK_END; i++)
        if ((rc = read_token(hs, tok[i], msg, &pos)) < 0)
            return fail(hs, rc);
    if ((rc = decrypt_and_hash(hs, msg + pos, len - pos, payload)) < 0)
        return fail(hs, rc);
    assert((size_t)rc == len - fixed);
    hs->step++;
    return rc;
}

bool noise_hs_done(const struct noise_hs *hs)
{
    assert(hs != NULL);
    return hs->step == NOISE_STEP_DONE;
}

const uint8_t *noise_hs_remote_static(const struct noise_hs *hs)
{
    assert(hs != NULL);
    /* rs arrives in message 2 (initiator learns it) or message 3 (responder learns it). */
    if (hs->step == NOISE_STEP_DEAD || hs->step < (hs->initiator ? 2 : 3))
        return NULL;
    return hs->rs;
}

int noise_hs_split(struct noise_hs *hs, struct noise_cs *send, struct noise_cs *recv,
                   uint8_t handshake_hash[NOISE_HASHLEN])
{
    uint8_t k1[NOISE_HASHLEN], k2[NOISE_HASHLEN];

    assert(hs != NULL && send != NULL && recv != NULL && handshake_hash != NULL);
    if (!noise_hs_done(hs))
        return NOISE_E_STATE;
    hkdf2(hs->ck, NULL, 0, k1, k2);
    /* The first CipherState carries initiator -> responder traffic. */
    cs_init_key(send, hs->initiator ? k1 : k2);
    cs_init_key(recv, hs->initiator ? k2 : k1);
    memcpy(handshake_hash, hs->h, NOISE_HASHLEN);
    sodium_memzero(k1, sizeof k1);
    sodium_memzero(k2, sizeof k2);
    noise_hs_wipe(hs);
    return NOISE_OK;
}

void noise_hs_wipe(struct noise_hs *hs)
{
    assert(hs != NULL);
    sodium_memzero(hs, sizeof *hs);
    /* An all-zero state would otherwise look like a responder awaiting message 1. */
    hs->step = NOISE_STEP_DEAD;
}
