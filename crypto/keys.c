/* keys.c - the node key file and the two key pairs derived from it (contract in keys.h). */
#include "crypto/keys.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "crypto/atomicfile.h"

/* KDF contexts are exactly crypto_kdf_CONTEXTBYTES (8) characters; changing them changes every
 * node's identity, which tests/test_keys.c pins. */
#define KEYS_CTX_SIGN    "tlpmsign"
#define KEYS_CTX_NOISE   "tlpmnois"
#define KEYS_SUBKEY_ID   1
#define KEYS_B64_VARIANT sodium_base64_VARIANT_ORIGINAL

_Static_assert(sizeof KEYS_CTX_SIGN - 1 == crypto_kdf_CONTEXTBYTES, "kdf context length");
_Static_assert(sizeof KEYS_CTX_NOISE - 1 == crypto_kdf_CONTEXTBYTES, "kdf context length");
_Static_assert(crypto_kdf_KEYBYTES == LIMIT_KEY_BYTES, "seed is a kdf master key");
_Static_assert(crypto_sign_SEEDBYTES == LIMIT_KEY_BYTES, "ed25519 seed size");
_Static_assert(crypto_sign_SECRETKEYBYTES == sizeof((struct keys_identity *)0)->sign_sk,
               "ed25519 secret key size");
_Static_assert(crypto_scalarmult_BYTES == LIMIT_KEY_BYTES, "x25519 key size");
_Static_assert(sodium_base64_ENCODED_LEN(LIMIT_KEY_BYTES, KEYS_B64_VARIANT) ==
                   LIMIT_PUBKEY_B64_LEN + 1,
               "base64 of a key is 44 characters + NUL");

const char *keys_strerror(int err)
{
    switch (err) {
    case KEYS_OK:
        return "ok";
    KEYS_ERRORS(ERRORS_CASE)
    default:
        return "unknown keys error";
    }
}

static void set_why(char *why, size_t why_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_why(char *why, size_t why_len, const char *fmt, ...)
{
    va_list ap;

    if (why == NULL || why_len == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(why, why_len, fmt, ap);
    va_end(ap);
}

static void encode_key(const uint8_t key[LIMIT_KEY_BYTES], char out[LIMIT_PUBKEY_B64_LEN + 1])
{
    sodium_bin2base64(out, LIMIT_PUBKEY_B64_LEN + 1, key, LIMIT_KEY_BYTES, KEYS_B64_VARIANT);
    assert(strlen(out) == LIMIT_PUBKEY_B64_LEN);
}

/* Exactly 44 characters of padded base64 decoding to 32 bytes. libsodium also refuses non-zero
 * trailing bits, so every key has one text: no two spellings of the same peer. */
static bool decode_key(const char *text, size_t len, uint8_t key[LIMIT_KEY_BYTES])
{
    uint8_t tmp[LIMIT_KEY_BYTES];
    size_t bin_len = 0;
    const char *end = NULL;
    bool ok;

    assert(text != NULL && key != NULL);
    ok = len == LIMIT_PUBKEY_B64_LEN &&
         sodium_base642bin(tmp, sizeof tmp, text, len, NULL, &bin_len, &end, KEYS_B64_VARIANT) ==
             0 &&
         bin_len == LIMIT_KEY_BYTES && end == text + len;
    if (ok)
        memcpy(key, tmp, sizeof tmp);
    sodium_memzero(tmp, sizeof tmp);
    return ok;
}

void keys_identity_from_seed(const uint8_t seed[LIMIT_KEY_BYTES], struct keys_identity *id)
{
    uint8_t sign_seed[crypto_sign_SEEDBYTES];
    int rc;

    assert(seed != NULL && id != NULL);
    memmove(id->seed, seed, LIMIT_KEY_BYTES); /* seed may be id->seed itself */
    rc = crypto_kdf_derive_from_key(sign_seed, sizeof sign_seed, KEYS_SUBKEY_ID, KEYS_CTX_SIGN,
                                    id->seed);
    assert(rc == 0);
    rc = crypto_sign_seed_keypair(id->sign_pk, id->sign_sk, sign_seed);
    assert(rc == 0);
    rc = crypto_kdf_derive_from_key(id->noise_sk, sizeof id->noise_sk, KEYS_SUBKEY_ID,
                                    KEYS_CTX_NOISE, id->seed);
    assert(rc == 0);
    rc = crypto_scalarmult_base(id->noise_pk, id->noise_sk);
    assert(rc == 0);
    (void)rc;
    sodium_memzero(sign_seed, sizeof sign_seed);
}

void keys_identity_wipe(struct keys_identity *id)
{
    assert(id != NULL);
    sodium_memzero(id, sizeof *id);
}

/* close() without losing the errno of the failure that led here. */
static void close_keep_errno(int fd)
{
    int saved = errno;

    close(fd);
    errno = saved;
}

int keys_file_write(const char *path, const uint8_t seed[LIMIT_KEY_BYTES], bool replace)
{
    char text[LIMIT_KEY_FILE_BYTES + 1]; /* base64, '\n', NUL */
    assert(path != NULL && seed != NULL);
    encode_key(seed, text);
    text[LIMIT_PUBKEY_B64_LEN] = '\n';
    text[LIMIT_KEY_FILE_BYTES] = '\0';
    /* CREATE: O_EXCL, so an existing key is never overwritten; a half-written key file is
     * removed, as it would only block the next keygen. REPLACE: a reader sees the old key or
     * the new one, never a part (atomicfile.h). */
    int rc = atomicfile_put(path, replace ? ATOMICFILE_REPLACE : ATOMICFILE_CREATE, 0600, text,
                            LIMIT_KEY_FILE_BYTES);
    sodium_memzero(text, sizeof text);
    return rc == ATOMICFILE_OK ? KEYS_OK : rc == ATOMICFILE_E_EXISTS ? KEYS_E_EXISTS : KEYS_E_IO;
}

int keys_file_generate(const char *path, struct keys_identity *id)
{
    uint8_t seed[LIMIT_KEY_BYTES];
    assert(path != NULL && id != NULL);
    randombytes_buf(seed, sizeof seed);
    int rc = keys_file_write(path, seed, false);
    if (rc == KEYS_OK)
        keys_identity_from_seed(seed, id);
    else
        keys_identity_wipe(id);
    sodium_memzero(seed, sizeof seed);
    return rc;
}

/* Reads at most cap bytes; returns the count or -1. */
static ssize_t read_bounded(int fd, char *buf, size_t cap)
{
    size_t got = 0;

    /* Each pass reads at least one byte, hits EOF or fails: cap + 1 passes bound the loop. */
    for (size_t pass = 0; got < cap && pass <= cap; pass++) {
        ssize_t r = read(fd, buf + got, cap - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        if (r == 0)
            break;
        got += (size_t)r;
    }
    return (ssize_t)got;
}

/* Checks type, mode and size of the open key file; KEYS_OK or an error with why filled in. */
static int check_key_file(int fd, const char *path, char *why, size_t why_len)
{
    struct stat st;

    if (fstat(fd, &st) != 0) {
        set_why(why, why_len, "cannot stat key file %s: %s", path, strerror(errno));
        return KEYS_E_IO;
    }
    if (!S_ISREG(st.st_mode)) {
        set_why(why, why_len, "key file %s is not a regular file", path);
        return KEYS_E_CORRUPT;
    }
    if ((st.st_mode & 077) != 0) {
        set_why(why, why_len,
                "key file %s is readable by group or others (mode %04o); run: chmod 600 %s", path,
                (unsigned)(st.st_mode & 07777), path);
        return KEYS_E_PERM;
    }
    if (st.st_size > LIMIT_KEY_FILE_BYTES) {
        set_why(why, why_len, "key file %s is too big (%lld bytes, at most %d)", path,
                (long long)st.st_size, (int)LIMIT_KEY_FILE_BYTES);
        return KEYS_E_CORRUPT;
    }
    return KEYS_OK;
}

int keys_file_load(const char *path, struct keys_identity *id, char *why, size_t why_len)
{
    uint8_t seed[LIMIT_KEY_BYTES];
    char text[LIMIT_KEY_FILE_BYTES + 1]; /* one byte more than allowed, to see a file that grew */
    ssize_t len = 0;
    int fd = -1;
    int rc;

    assert(path != NULL && id != NULL);
    set_why(why, why_len, "%s", "");
    /* O_NONBLOCK: a FIFO planted at the path must not hang the node; it is refused below. */
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        set_why(why, why_len, "cannot open key file %s: %s", path, strerror(errno));
        rc = KEYS_E_IO;
        goto out;
    }
    rc = check_key_file(fd, path, why, why_len);
    if (rc != KEYS_OK)
        goto out;
    len = read_bounded(fd, text, sizeof text);
    if (len < 0) {
        set_why(why, why_len, "cannot read key file %s: %s", path, strerror(errno));
        rc = KEYS_E_IO;
        goto out;
    }
    if (len > 0 && text[len - 1] == '\n')
        len--;
    if (!decode_key(text, (size_t)len, seed)) {
        set_why(why, why_len,
                "key file %s is not one line of 44 base64 characters encoding a 32-byte seed",
                path);
        rc = KEYS_E_CORRUPT;
        goto out;
    }
    keys_identity_from_seed(seed, id);
out:
    if (fd >= 0)
        close_keep_errno(fd);
    if (rc != KEYS_OK)
        keys_identity_wipe(id);
    sodium_memzero(seed, sizeof seed);
    sodium_memzero(text, sizeof text);
    return rc;
}

void keys_pubkey_to_b64(const uint8_t pk[LIMIT_KEY_BYTES], char out[LIMIT_PUBKEY_B64_LEN + 1])
{
    assert(pk != NULL && out != NULL);
    encode_key(pk, out);
}

int keys_pubkey_from_b64(const char *text, uint8_t pk[LIMIT_KEY_BYTES])
{
    assert(text != NULL && pk != NULL);
    /* strnlen: never read past one character more than a key can have. */
    if (!decode_key(text, strnlen(text, LIMIT_PUBKEY_B64_LEN + 1), pk))
        return KEYS_E_BADKEY;
    return KEYS_OK;
}
