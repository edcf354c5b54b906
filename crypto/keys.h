/* keys.h - a node's long-term identity (docs/ARCHITECTURE.md, docs/PROTOCOL.md "Channel").
 *
 * The key file holds a 32-byte random seed as one line of standard base64 (44 characters), like a
 * WireGuard private key, in a file of mode 0600. From the seed, two independent key pairs:
 *   sign_seed = crypto_kdf_derive_from_key(32, subkey 1, ctx "tlpmsign", seed)
 *   (sign_pk, sign_sk) = crypto_sign_seed_keypair(sign_seed)        -- identity, signs records
 *   noise_sk = crypto_kdf_derive_from_key(32, subkey 1, ctx "tlpmnois", seed)
 *   noise_pk = crypto_scalarmult_base(noise_sk)                      -- Noise static key only
 * One key is never used for both jobs. The public identity is base64(sign_pk), 44 characters.
 *
 * Ownership: struct keys_identity is caller-owned and holds secrets: call keys_identity_wipe()
 * when done (every exit path). On any error the functions below leave *id wiped.
 * The program calls sodium_init() once before using this module.
 */
#ifndef TLPMESH_CRYPTO_KEYS_H
#define TLPMESH_CRYPTO_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/errors.h"
#include "proto/limits.h"

struct keys_identity {
    uint8_t seed[LIMIT_KEY_BYTES];
    uint8_t sign_pk[LIMIT_KEY_BYTES];
    uint8_t sign_sk[64];
    uint8_t noise_pk[LIMIT_KEY_BYTES];
    uint8_t noise_sk[LIMIT_KEY_BYTES];
};

/* Error codes: X(name, value, message), range ERRORS_BASE_KEYS in proto/errors.h; the
 * comments say when each happens. */
#define KEYS_ERRORS(X)                                                                             \
    /* keygen: file exists; never overwritten */                                                   \
    X(KEYS_E_EXISTS, ERRORS_BASE_KEYS - 0, "key file already exists (it is never overwritten)")    \
    /* cannot open/read/write (errno kept) */                                                      \
    X(KEYS_E_IO, ERRORS_BASE_KEYS - 1, "cannot open, read or write the key file")                  \
    X(KEYS_E_PERM, ERRORS_BASE_KEYS - 2, "key file is readable by group or others")                \
    /* not one line of 44 base64 characters decoding to 32 bytes */                                \
    X(KEYS_E_CORRUPT, ERRORS_BASE_KEYS - 3,                                                        \
      "key file is not one line of 44 base64 characters (a 32-byte seed)")                         \
    /* public key text is not base64 of 32 bytes */                                                \
    X(KEYS_E_BADKEY, ERRORS_BASE_KEYS - 4,                                                         \
      "public key is not 44 characters of base64 encoding 32 bytes")

enum keys_err {
    KEYS_OK = 0,
    KEYS_ERRORS(ERRORS_ENUM)
};

const char *keys_strerror(int err);

/* Derives both key pairs from a seed (deterministic). */
void keys_identity_from_seed(const uint8_t seed[LIMIT_KEY_BYTES], struct keys_identity *id);

/* Creates path with O_EXCL and mode 0600, writes a fresh random seed, fills *id. */
int keys_file_generate(const char *path, struct keys_identity *id);

/* After `tlpmesh key rotate` / `key recover`, the key a node replaced is kept beside its key
 * file as KEYFILE.prev until the grace ends (docs/OPERATIONS.md "Keys that change"), and the new
 * key waits as KEYFILE.next until the rotation is committed. */
#define KEYS_PREV_SUFFIX ".prev"
#define KEYS_NEXT_SUFFIX ".next"

/* Writes seed as a key file (mode 0600): replace false creates it (KEYS_E_EXISTS if path
 * exists), true replaces it atomically (a reader sees the old key or the new one). */
int keys_file_write(const char *path, const uint8_t seed[LIMIT_KEY_BYTES], bool replace);

/* Loads a key file. KEYS_E_PERM if mode & 077; why (if not NULL) gets a one-line message that
 * names the file and says how to fix it ("chmod 600 FILE"). */
int keys_file_load(const char *path, struct keys_identity *id, char *why, size_t why_len);

void keys_identity_wipe(struct keys_identity *id);

/* base64 (standard alphabet, padded) of a 32-byte key: 44 characters + NUL. */
void keys_pubkey_to_b64(const uint8_t pk[LIMIT_KEY_BYTES], char out[LIMIT_PUBKEY_B64_LEN + 1]);

/* KEYS_OK or KEYS_E_BADKEY (wrong length, bad characters, not exactly 32 bytes). */
int keys_pubkey_from_b64(const char *text, uint8_t pk[LIMIT_KEY_BYTES]);

#endif
