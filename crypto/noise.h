/* noise.h - Noise_XX_25519_ChaChaPoly_BLAKE2b (Noise spec rev. 34), sans-IO.
 *
 * Bytes in, bytes out: no socket, no clock, no random source. The caller supplies the 32-byte
 * ephemeral private key at init (random in production, fixed in tests), which is how the cacophony
 * vectors are reproduced. HMAC-BLAKE2b (RFC 2104, 128-byte block) and HKDF are written here:
 * libsodium 1.0.18 has neither, and keyed BLAKE2b is not HMAC.
 *
 * Ownership: both structs are caller-owned values with no heap memory; they hold secrets, so
 * noise_hs_wipe()/noise_cs_wipe() them on every exit path. noise_hs_split() wipes the handshake.
 * A wiped or failed handshake refuses every later call with NOISE_E_STATE.
 * The program calls sodium_init() once before using this module.
 */
#ifndef TLPMESH_CRYPTO_NOISE_H
#define TLPMESH_CRYPTO_NOISE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/errors.h"

#define NOISE_PROTOCOL_NAME "Noise_XX_25519_ChaChaPoly_BLAKE2b"
#define NOISE_DHLEN 32
#define NOISE_HASHLEN 64
#define NOISE_TAGLEN 16
#define NOISE_MAX_MSG 65535
#define NOISE_MAX_PROLOGUE 256
/* A CipherState refuses to encrypt or decrypt once its nonce reaches this (2^64-1 is reserved). */
#define NOISE_NONCE_MAX UINT64_MAX

/* Error codes: X(name, value, message), range ERRORS_BASE_NOISE in proto/errors.h; the
 * comments say when each happens. */
#define NOISE_ERRORS(X)                                                                            \
    /* call out of turn (e.g. write when it is the peer's turn) */                                 \
    X(NOISE_E_STATE, ERRORS_BASE_NOISE - 0,                                                        \
      "noise: call out of turn or on a finished/failed handshake")                                 \
    /* message too short for its pattern */                                                        \
    X(NOISE_E_SHORT, ERRORS_BASE_NOISE - 1, "noise: message too short")                            \
    /* authentication failed: wrong key, prologue, or tampered bytes */                            \
    X(NOISE_E_DECRYPT, ERRORS_BASE_NOISE - 2,                                                      \
      "noise: authentication failed (wrong key or prologue, or tampered)")                         \
    /* DH result is all zeros (low-order point) */                                                 \
    X(NOISE_E_DH, ERRORS_BASE_NOISE - 3,                                                           \
      "noise: Diffie-Hellman result is all zeros (low-order public key)")                          \
    /* output buffer too small or message over NOISE_MAX_MSG */                                    \
    X(NOISE_E_NOSPACE, ERRORS_BASE_NOISE - 4,                                                      \
      "noise: buffer too small or message over 65535 bytes")                                       \
    X(NOISE_E_NONCE, ERRORS_BASE_NOISE - 5, "noise: nonce exhausted; the session must end")

enum noise_err {
    NOISE_OK = 0,
    NOISE_ERRORS(ERRORS_ENUM)
};

const char *noise_strerror(int err);

struct noise_cs {
    uint8_t k[32];
    uint64_t n;
    bool has_key;
};

struct noise_hs {
    /* symmetric state */
    uint8_t ck[NOISE_HASHLEN];
    uint8_t h[NOISE_HASHLEN];
    struct noise_cs cs;
    /* keys */
    uint8_t s_sk[32], s_pk[32];
    uint8_t e_sk[32], e_pk[32];
    uint8_t rs[32], re[32];
    bool initiator;
    uint8_t step; /* next message index 0..3; 3 = handshake complete */
};

/* Starts a handshake. prologue is mixed into h (ours: "tlpmesh/1" 0x00 network-name). */
int noise_hs_init(struct noise_hs *hs, bool initiator, const uint8_t *prologue, size_t prologue_len,
                  const uint8_t s_sk[32], const uint8_t e_sk[32]);

/* Writes the next handshake message carrying payload. Returns its length or a negative error. */
int noise_hs_write(struct noise_hs *hs, const uint8_t *payload, size_t payload_len, uint8_t *out,
                   size_t cap);

/* Reads the next handshake message. Returns the payload length or a negative error. After an
 * error the handshake is dead (wipe it). */
int noise_hs_read(struct noise_hs *hs, const uint8_t *msg, size_t len, uint8_t *payload,
                  size_t cap);

bool noise_hs_done(const struct noise_hs *hs);

/* The peer's static X25519 key; valid once it has been received (after message 2 for the
 * initiator, message 3 for the responder); NULL before that. Copy it before noise_hs_split(). */
const uint8_t *noise_hs_remote_static(const struct noise_hs *hs);

/* After the last message: the two transport CipherStates (send/recv from this side's point of
 * view) and the handshake hash; wipes hs. */
int noise_hs_split(struct noise_hs *hs, struct noise_cs *send, struct noise_cs *recv,
                   uint8_t handshake_hash[NOISE_HASHLEN]);

/* Transport: ciphertext = plaintext + 16-byte tag. A failed decrypt leaves n unchanged.
 * Return the output length or a negative error (NOISE_E_STATE for a CipherState with no key). */
int noise_cs_encrypt(struct noise_cs *cs, const uint8_t *ad, size_t ad_len, const uint8_t *pt,
                     size_t pt_len, uint8_t *out, size_t cap);
int noise_cs_decrypt(struct noise_cs *cs, const uint8_t *ad, size_t ad_len, const uint8_t *ct,
                     size_t ct_len, uint8_t *out, size_t cap);

/* Rekey() per spec §4.2: k = first 32 bytes of ENCRYPT(k, 2^64-1, "", zeros). */
void noise_cs_rekey(struct noise_cs *cs);

void noise_hs_wipe(struct noise_hs *hs);
void noise_cs_wipe(struct noise_cs *cs);

#endif
