/* test_keys.c - key file generation/loading, permissions, corruption, derivation, base64. */
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "crypto/keys.h"
#include "tests/support/ts_dir.h"

/* Computed independently (Python hashlib.blake2b keyed, salt = LE64(1), person = context, then
 * the cryptography package's Ed25519/X25519) for seed = 00 01 .. 1f. */
#define PIN_SIGN_PK     "983816b9f14c9bc3a19a033912f029d280e3370b20ee825c49308c7058fc274c"
#define PIN_NOISE_PK    "091fa828db7ab2d62aef65d0fe5e052eb786bf90d511944f61e72e83a2ba3234"
#define PIN_SIGN_PK_B64 "mDgWufFMm8OhmgM5EvAp0oDjNwsg7oJcSTCMcFj8J0w="

struct fixture {
    char *dir;
    char path[128];
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);

    if (f == NULL || sodium_init() < 0)
        return -1;
    f->dir = ts_dir_new("keys");
    snprintf(f->path, sizeof f->path, "%s/node.key", f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    unlink(f->path);
    rmdir(f->path); /* the directory case */
    ts_dir_free(f->dir);
    free(f);
    return 0;
}

static void write_file(const char *path, const void *data, size_t len, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, len), (ssize_t)len);
    assert_int_equal(fchmod(fd, mode), 0);
    assert_int_equal(close(fd), 0);
}

static size_t read_file(const char *path, char *buf, size_t cap)
{
    int fd = open(path, O_RDONLY);
    ssize_t n;

    assert_true(fd >= 0);
    n = read(fd, buf, cap);
    assert_true(n >= 0);
    close(fd);
    return (size_t)n;
}

static bool all_zero(const void *p, size_t len)
{
    return sodium_is_zero(p, len) == 1;
}

static void test_generate_load_roundtrip(void **state)
{
    struct fixture *f = *state;
    struct keys_identity gen, load;
    char content[128], b64[LIMIT_PUBKEY_B64_LEN + 1];
    struct stat st;
    size_t n;

    assert_int_equal(keys_file_generate(f->path, &gen), KEYS_OK);
    assert_int_equal(stat(f->path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);

    n = read_file(f->path, content, sizeof content);
    assert_int_equal(n, LIMIT_PUBKEY_B64_LEN + 1);
    assert_int_equal(content[LIMIT_PUBKEY_B64_LEN], '\n');
    keys_pubkey_to_b64(gen.seed, b64);
    assert_memory_equal(content, b64, LIMIT_PUBKEY_B64_LEN);

    assert_int_equal(keys_file_load(f->path, &load, NULL, 0), KEYS_OK);
    assert_memory_equal(&gen, &load, sizeof gen);
    keys_identity_wipe(&gen);
    keys_identity_wipe(&load);
    assert_true(all_zero(&load, sizeof load));
}

static void test_generate_never_overwrites(void **state)
{
    struct fixture *f = *state;
    struct keys_identity id;
    char before[128], after[128];
    size_t n1, n2;

    assert_int_equal(keys_file_generate(f->path, &id), KEYS_OK);
    n1 = read_file(f->path, before, sizeof before);
    assert_int_equal(keys_file_generate(f->path, &id), KEYS_E_EXISTS);
    assert_true(all_zero(&id, sizeof id));
    n2 = read_file(f->path, after, sizeof after);
    assert_int_equal(n1, n2);
    assert_memory_equal(before, after, n1);
}

static void test_generate_refuses_symlink(void **state)
{
    struct fixture *f = *state;
    struct keys_identity id;
    char target[160];

    snprintf(target, sizeof target, "%s/elsewhere", f->dir);
    assert_int_equal(symlink(target, f->path), 0);
    assert_int_equal(keys_file_generate(f->path, &id), KEYS_E_EXISTS);
    assert_int_equal(access(target, F_OK), -1);
}

static void test_load_group_readable_is_refused(void **state)
{
    struct fixture *f = *state;
    struct keys_identity id;
    char why[512], expect[512];

    assert_int_equal(keys_file_generate(f->path, &id), KEYS_OK);
    assert_int_equal(chmod(f->path, 0644), 0);
    assert_int_equal(keys_file_load(f->path, &id, why, sizeof why), KEYS_E_PERM);
    assert_true(all_zero(&id, sizeof id));
    snprintf(expect, sizeof expect,
             "key file %s is readable by group or others (mode 0644); run: chmod 600 %s", f->path,
             f->path);
    assert_string_equal(why, expect);

    assert_int_equal(chmod(f->path, 0604), 0);
    assert_int_equal(keys_file_load(f->path, &id, why, sizeof why), KEYS_E_PERM);
    assert_int_equal(chmod(f->path, 0400), 0);
    assert_int_equal(keys_file_load(f->path, &id, why, sizeof why), KEYS_OK);
    keys_identity_wipe(&id);
}

static void expect_corrupt(const struct fixture *f, const void *data, size_t len)
{
    struct keys_identity id;
    char why[512];

    write_file(f->path, data, len, 0600);
    assert_int_equal(keys_file_load(f->path, &id, why, sizeof why), KEYS_E_CORRUPT);
    assert_non_null(strstr(why, f->path));
    assert_true(all_zero(&id, sizeof id));
}

static void test_load_corrupt_files(void **state)
{
    struct fixture *f = *state;
    static const char junk[] = {'\x00', '\xff', '\x10', '\n', '\x80', 'A', '='};
    const char *good = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    char big[200];

    expect_corrupt(f, "", 0);
    expect_corrupt(f, good, 43);                                             /* 43 chars */
    expect_corrupt(f, "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGx*dHh8=\n", 45); /* bad char */
    expect_corrupt(f, "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4v", 64);
    expect_corrupt(f, junk, sizeof junk);
    expect_corrupt(f, "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\r\n", 46); /* CRLF */
    expect_corrupt(f, "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8= ", 45);    /* trailing space */
    expect_corrupt(f, "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8", 43);      /* no padding */
    expect_corrupt(f, "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh9=", 44);     /* stray bits */
    expect_corrupt(f, "\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", 45);
    memset(big, 'A', sizeof big);
    expect_corrupt(f, big, sizeof big); /* too big */
}

static void test_load_directory_is_corrupt(void **state)
{
    struct fixture *f = *state;
    struct keys_identity id;
    char why[512];

    assert_int_equal(mkdir(f->path, 0700), 0);
    assert_int_equal(keys_file_load(f->path, &id, why, sizeof why), KEYS_E_CORRUPT);
    assert_non_null(strstr(why, f->path));
}

static void test_load_missing_is_io(void **state)
{
    struct fixture *f = *state;
    struct keys_identity id;
    char why[512];

    assert_int_equal(keys_file_load(f->path, &id, why, sizeof why), KEYS_E_IO);
    assert_non_null(strstr(why, f->path));
}

static void test_load_accepts_no_newline(void **state)
{
    struct fixture *f = *state;
    struct keys_identity id;
    uint8_t seed[LIMIT_KEY_BYTES];

    for (size_t i = 0; i < sizeof seed; i++)
        seed[i] = (uint8_t)i;
    write_file(f->path, "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", 44, 0600);
    assert_int_equal(keys_file_load(f->path, &id, NULL, 0), KEYS_OK);
    assert_memory_equal(id.seed, seed, sizeof seed);
    keys_identity_wipe(&id);
}

static void test_derivation_pinned(void **state)
{
    struct keys_identity a, b;
    uint8_t seed[LIMIT_KEY_BYTES], sig[64];
    char hex[2 * LIMIT_KEY_BYTES + 1], b64[LIMIT_PUBKEY_B64_LEN + 1];
    static const uint8_t msg[] = "tlpmesh";

    (void)state;
    for (size_t i = 0; i < sizeof seed; i++)
        seed[i] = (uint8_t)i;
    keys_identity_from_seed(seed, &a);
    keys_identity_from_seed(seed, &b);
    assert_memory_equal(&a, &b, sizeof a);
    assert_memory_equal(a.seed, seed, sizeof seed);

    sodium_bin2hex(hex, sizeof hex, a.sign_pk, sizeof a.sign_pk);
    assert_string_equal(hex, PIN_SIGN_PK);
    sodium_bin2hex(hex, sizeof hex, a.noise_pk, sizeof a.noise_pk);
    assert_string_equal(hex, PIN_NOISE_PK);
    keys_pubkey_to_b64(a.sign_pk, b64);
    assert_string_equal(b64, PIN_SIGN_PK_B64);

    /* Two independent keys, neither the raw seed; each secret matches its public half. */
    assert_memory_not_equal(a.sign_sk, a.noise_sk, 32);
    assert_memory_not_equal(a.sign_pk, a.noise_pk, 32);
    assert_memory_not_equal(a.sign_sk, seed, 32);
    assert_memory_not_equal(a.noise_sk, seed, 32);
    assert_int_equal(crypto_sign_detached(sig, NULL, msg, sizeof msg, a.sign_sk), 0);
    assert_int_equal(crypto_sign_verify_detached(sig, msg, sizeof msg, a.sign_pk), 0);
    uint8_t pk[32];
    assert_int_equal(crypto_scalarmult_base(pk, a.noise_sk), 0);
    assert_memory_equal(pk, a.noise_pk, 32);

    /* In place: the seed may live in the identity itself. */
    keys_identity_from_seed(b.seed, &b);
    assert_memory_equal(&a, &b, sizeof a);

    seed[0] ^= 1;
    keys_identity_from_seed(seed, &b);
    assert_memory_not_equal(a.sign_pk, b.sign_pk, 32);
    assert_memory_not_equal(a.noise_pk, b.noise_pk, 32);
    keys_identity_wipe(&a);
    keys_identity_wipe(&b);
}

static void test_b64_roundtrip(void **state)
{
    uint8_t pk[LIMIT_KEY_BYTES], back[LIMIT_KEY_BYTES];
    char b64[LIMIT_PUBKEY_B64_LEN + 1];

    (void)state;
    for (int round = 0; round < 64; round++) {
        randombytes_buf(pk, sizeof pk);
        keys_pubkey_to_b64(pk, b64);
        assert_int_equal(strlen(b64), LIMIT_PUBKEY_B64_LEN);
        assert_int_equal(keys_pubkey_from_b64(b64, back), KEYS_OK);
        assert_memory_equal(pk, back, sizeof pk);
    }
    memset(pk, 0xff, sizeof pk);
    keys_pubkey_to_b64(pk, b64);
    assert_string_equal(b64, "//////////////////////////////////////////8=");
}

static void test_b64_rejects(void **state)
{
    static const char *const bad[] = {
        "",
        "mDgWufFMm8OhmgM5EvAp0oDjNwsg7oJcSTCMcFj8J0w",   /* 43, no padding */
        "mDgWufFMm8OhmgM5EvAp0oDjNwsg7oJcSTCMcFj8J0w==", /* 45 */
        "mDgWufFMm8OhmgM5EvAp0oDjNwsg7oJcSTCMcFj8J0w= ", /* trailing space */
        " mDgWufFMm8OhmgM5EvAp0oDjNwsg7oJcSTCMcFj8J0w=", /* leading space */
        "mDgWufFMm8OhmgM5EvAp0oDjNwsg7oJcSTCMcFj8J0w=\n",
        "mDgWufFMm8OhmgM5EvAp0oDjNwsg7oJcSTCMcFj8J0x=", /* non-zero trailing bits */
        "mDgWufFMm8OhmgM5EvAp0oDjNwsg7oJcSTCMcFj8J0wA", /* 44 chars, 33 bytes */
        "mDgWufFMm8OhmgM5EvAp0oDjNwsg7oJcSTCMcFj8J0==", /* 31 bytes + extra pad */
        "mDgWufFMm8OhmgM5EvAp0oDjNwsg7oJcSTCMcFj8J0_=", /* URL-safe alphabet */
        "mDgWufFMm8OhmgM5EvAp0oDjNwsg-oJcSTCMcFj8J0w=", /* URL-safe alphabet */
        "mDgWufFMm8OhmgM5EvAp0oDjNwsg7oJcSTCMcFj8J0w=mDgW",
        "mDgWufFMm8Ohmg=5EvAp0oDjNwsg7oJcSTCMcFj8J0wA", /* padding inside */
    };
    uint8_t pk[LIMIT_KEY_BYTES], orig[LIMIT_KEY_BYTES];

    (void)state;
    memset(pk, 0x5a, sizeof pk);
    memcpy(orig, pk, sizeof pk);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(keys_pubkey_from_b64(bad[i], pk), KEYS_E_BADKEY);
        assert_memory_equal(pk, orig, sizeof pk); /* untouched on failure */
    }
    assert_int_equal(keys_pubkey_from_b64(PIN_SIGN_PK_B64, pk), KEYS_OK);
}

static void test_strerror(void **state)
{
    static const int codes[] = {KEYS_OK,     KEYS_E_EXISTS,  KEYS_E_IO,
                                KEYS_E_PERM, KEYS_E_CORRUPT, KEYS_E_BADKEY};

    (void)state;
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
        assert_string_not_equal(keys_strerror(codes[i]), keys_strerror(12345));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_generate_load_roundtrip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_generate_never_overwrites, setup, teardown),
        cmocka_unit_test_setup_teardown(test_generate_refuses_symlink, setup, teardown),
        cmocka_unit_test_setup_teardown(test_load_group_readable_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_load_corrupt_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_load_directory_is_corrupt, setup, teardown),
        cmocka_unit_test_setup_teardown(test_load_missing_is_io, setup, teardown),
        cmocka_unit_test_setup_teardown(test_load_accepts_no_newline, setup, teardown),
        cmocka_unit_test_setup_teardown(test_derivation_pinned, setup, teardown),
        cmocka_unit_test(test_b64_roundtrip),
        cmocka_unit_test(test_b64_rejects),
        cmocka_unit_test(test_strerror),
    };

    if (sodium_init() < 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
