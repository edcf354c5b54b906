/* test_noise.c - Noise XX against the cacophony vector, and every way a handshake or a transport
 * message must fail. */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <sodium.h>

#include "crypto/noise.h"

#define VECTOR_FILE   TLPMESH_DATA_DIR "/noise/noise-vectors.json"
#define VEC_MAX_MSGS  8
#define VEC_MAX_BYTES 512
#define HS_MSGS       3

struct vec_msg {
    uint8_t payload[VEC_MAX_BYTES];
    size_t payload_len;
    uint8_t ct[VEC_MAX_BYTES];
    size_t ct_len;
};

struct vector {
    uint8_t init_prologue[NOISE_MAX_PROLOGUE], resp_prologue[NOISE_MAX_PROLOGUE];
    size_t init_prologue_len, resp_prologue_len;
    uint8_t init_s[32], init_e[32], resp_s[32], resp_e[32];
    uint8_t hh[NOISE_HASHLEN];
    struct vec_msg msg[VEC_MAX_MSGS];
    size_t n_msgs;
};

static struct vector V;

/* Hex field of obj into out; returns its length or -1 (missing, bad hex, too long). */
static long unhex(json_t *obj, const char *key, uint8_t *out, size_t cap)
{
    const char *hex = json_string_value(json_object_get(obj, key));
    size_t len = 0;
    const char *end = NULL;

    if (hex == NULL || sodium_hex2bin(out, cap, hex, strlen(hex), NULL, &len, &end) != 0 ||
        *end != '\0')
        return -1;
    return (long)len;
}

static int unhex_exact(json_t *obj, const char *key, uint8_t *out, size_t len)
{
    return unhex(obj, key, out, len) == (long)len ? 0 : -1;
}

static int load_vector(json_t *v)
{
    json_t *msgs = json_object_get(v, "messages");
    long ip = unhex(v, "init_prologue", V.init_prologue, sizeof V.init_prologue);
    long rp = unhex(v, "resp_prologue", V.resp_prologue, sizeof V.resp_prologue);

    if (ip < 0 || rp < 0 || unhex_exact(v, "init_static", V.init_s, 32) ||
        unhex_exact(v, "init_ephemeral", V.init_e, 32) ||
        unhex_exact(v, "resp_static", V.resp_s, 32) ||
        unhex_exact(v, "resp_ephemeral", V.resp_e, 32) ||
        unhex_exact(v, "handshake_hash", V.hh, NOISE_HASHLEN) || !json_is_array(msgs) ||
        json_array_size(msgs) <= HS_MSGS || json_array_size(msgs) > VEC_MAX_MSGS)
        return -1;
    V.init_prologue_len = (size_t)ip;
    V.resp_prologue_len = (size_t)rp;
    V.n_msgs = json_array_size(msgs);
    for (size_t i = 0; i < V.n_msgs; i++) {
        json_t *m = json_array_get(msgs, i);
        long pl = unhex(m, "payload", V.msg[i].payload, VEC_MAX_BYTES);
        long cl = unhex(m, "ciphertext", V.msg[i].ct, VEC_MAX_BYTES);
        if (pl < 0 || cl < 0)
            return -1;
        V.msg[i].payload_len = (size_t)pl;
        V.msg[i].ct_len = (size_t)cl;
    }
    return 0;
}

static int group_setup(void **state)
{
    json_error_t err;
    json_t *root, *vectors;
    int rc = -1;

    (void)state;
    if (sodium_init() < 0)
        return -1;
    root = json_load_file(VECTOR_FILE, 0, &err);
    if (root == NULL) {
        print_error("%s:%d: %s\n", VECTOR_FILE, err.line, err.text);
        return -1;
    }
    vectors = json_object_get(root, "vectors");
    for (size_t i = 0; i < json_array_size(vectors); i++) {
        json_t *v = json_array_get(vectors, i);
        const char *name = json_string_value(json_object_get(v, "protocol_name"));
        if (name != NULL && strcmp(name, NOISE_PROTOCOL_NAME) == 0) {
            rc = load_vector(v);
            break;
        }
    }
    json_decref(root);
    if (rc != 0)
        print_error("%s: no usable %s vector\n", VECTOR_FILE, NOISE_PROTOCOL_NAME);
    return rc;
}

/* --- helpers ------------------------------------------------------------------------------ */

struct pair {
    struct noise_hs ini, resp;
};

static void pair_init_prologues(struct pair *p, const uint8_t *ip, size_t ip_len, const uint8_t *rp,
                                size_t rp_len)
{
    assert_int_equal(noise_hs_init(&p->ini, true, ip, ip_len, V.init_s, V.init_e), NOISE_OK);
    assert_int_equal(noise_hs_init(&p->resp, false, rp, rp_len, V.resp_s, V.resp_e), NOISE_OK);
}

static void pair_init(struct pair *p)
{
    pair_init_prologues(p, V.init_prologue, V.init_prologue_len, V.resp_prologue,
                        V.resp_prologue_len);
}

static struct noise_hs *writer(struct pair *p, size_t i)
{
    return i % 2 == 0 ? &p->ini : &p->resp;
}

static struct noise_hs *reader(struct pair *p, size_t i)
{
    return i % 2 == 0 ? &p->resp : &p->ini;
}

/* Plays handshake message i, checking it against the vector byte for byte. */
static void play(struct pair *p, size_t i)
{
    uint8_t buf[VEC_MAX_BYTES], pl[VEC_MAX_BYTES];
    const struct vec_msg *m = &V.msg[i];
    int n = noise_hs_write(writer(p, i), m->payload, m->payload_len, buf, sizeof buf);

    assert_int_equal(n, (int)m->ct_len);
    assert_memory_equal(buf, m->ct, m->ct_len);
    n = noise_hs_read(reader(p, i), buf, (size_t)n, pl, sizeof pl);
    assert_int_equal(n, (int)m->payload_len);
    assert_memory_equal(pl, m->payload, m->payload_len);
}

static void pair_run(struct pair *p, size_t upto)
{
    for (size_t i = 0; i < upto; i++)
        play(p, i);
}

struct session {
    struct noise_cs ini_send, ini_recv, resp_send, resp_recv;
};

static void pair_split(struct pair *p, struct session *s)
{
    uint8_t hh_i[NOISE_HASHLEN], hh_r[NOISE_HASHLEN];

    assert_int_equal(noise_hs_split(&p->ini, &s->ini_send, &s->ini_recv, hh_i), NOISE_OK);
    assert_int_equal(noise_hs_split(&p->resp, &s->resp_send, &s->resp_recv, hh_r), NOISE_OK);
    assert_memory_equal(hh_i, V.hh, NOISE_HASHLEN);
    assert_memory_equal(hh_r, V.hh, NOISE_HASHLEN);
}

static void session_open(struct session *s)
{
    struct pair p;

    pair_init(&p);
    pair_run(&p, HS_MSGS);
    pair_split(&p, s);
}

/* Sends pt from `from` to `to`; returns the ciphertext length (ct gets the bytes). */
static size_t transfer(struct noise_cs *from, struct noise_cs *to, const uint8_t *pt, size_t len,
                       uint8_t *ct)
{
    uint8_t out[VEC_MAX_BYTES];
    int n = noise_cs_encrypt(from, NULL, 0, pt, len, ct, VEC_MAX_BYTES);

    assert_int_equal(n, (int)(len + NOISE_TAGLEN));
    assert_int_equal(noise_cs_decrypt(to, NULL, 0, ct, (size_t)n, out, sizeof out), (int)len);
    assert_memory_equal(out, pt, len);
    return (size_t)n;
}

/* --- the vector --------------------------------------------------------------------------- */

static void test_vector(void **state)
{
    struct pair p;
    struct session s;
    uint8_t pk[32], ct[VEC_MAX_BYTES];

    (void)state;
    pair_init(&p);
    assert_null(noise_hs_remote_static(&p.ini));
    assert_null(noise_hs_remote_static(&p.resp));
    pair_run(&p, 2);
    assert_false(noise_hs_done(&p.ini));
    assert_int_equal(crypto_scalarmult_base(pk, V.resp_s), 0);
    assert_memory_equal(noise_hs_remote_static(&p.ini), pk, 32);
    assert_null(noise_hs_remote_static(&p.resp));
    play(&p, 2);
    assert_true(noise_hs_done(&p.ini));
    assert_true(noise_hs_done(&p.resp));
    assert_int_equal(crypto_scalarmult_base(pk, V.init_s), 0);
    assert_memory_equal(noise_hs_remote_static(&p.resp), pk, 32);
    pair_split(&p, &s);

    /* Transport messages keep alternating: responder first (message 3 overall). */
    for (size_t i = HS_MSGS; i < V.n_msgs; i++) {
        const struct vec_msg *m = &V.msg[i];
        bool from_ini = i % 2 == 0;
        size_t n = transfer(from_ini ? &s.ini_send : &s.resp_send,
                            from_ini ? &s.resp_recv : &s.ini_recv, m->payload, m->payload_len, ct);
        assert_int_equal(n, m->ct_len);
        assert_memory_equal(ct, m->ct, n);
    }
}

/* --- handshake failures ------------------------------------------------------------------- */

static void test_wrong_prologue_fails_at_message_2(void **state)
{
    static const uint8_t other[] = "tlpmesh/1\0othernet";
    struct pair p;
    uint8_t buf[VEC_MAX_BYTES], pl[VEC_MAX_BYTES];
    int n;

    (void)state;
    pair_init_prologues(&p, V.init_prologue, V.init_prologue_len, other, sizeof other - 1);
    n = noise_hs_write(&p.ini, NULL, 0, buf, sizeof buf);
    assert_int_equal(n, NOISE_DHLEN);
    assert_int_equal(noise_hs_read(&p.resp, buf, (size_t)n, pl, sizeof pl), 0);
    n = noise_hs_write(&p.resp, NULL, 0, buf, sizeof buf);
    assert_true(n > 0);
    assert_int_equal(noise_hs_read(&p.ini, buf, (size_t)n, pl, sizeof pl), NOISE_E_DECRYPT);
    /* The failed side is dead, not left half-way. */
    assert_int_equal(noise_hs_read(&p.ini, buf, (size_t)n, pl, sizeof pl), NOISE_E_STATE);
    assert_int_equal(noise_hs_write(&p.ini, NULL, 0, buf, sizeof buf), NOISE_E_STATE);
    noise_hs_wipe(&p.ini);
    noise_hs_wipe(&p.resp);
}

/* Flips bit `bit` of handshake message m in flight. Messages 2 and 3 are authenticated, so their
 * own read fails. Message 1 (e and payload in clear) cannot be checked when read; it changes the
 * responder's h and ee, so the flip is caught at message 2: by the initiator's read, or earlier by
 * the responder's ee if the flip made e a low-order point. */
static void flip_handshake_bit(size_t m, size_t bit)
{
    struct pair p;
    uint8_t buf[VEC_MAX_BYTES], pl[VEC_MAX_BYTES];
    int rc;

    pair_init(&p);
    pair_run(&p, m);
    rc = noise_hs_write(writer(&p, m), V.msg[m].payload, V.msg[m].payload_len, buf, sizeof buf);
    assert_int_equal(rc, (int)V.msg[m].ct_len);
    buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    rc = noise_hs_read(reader(&p, m), buf, V.msg[m].ct_len, pl, sizeof pl);
    if (m == 0) {
        assert_int_equal(rc, (int)V.msg[0].payload_len);
        rc = noise_hs_write(&p.resp, V.msg[1].payload, V.msg[1].payload_len, buf, sizeof buf);
        if (rc != NOISE_E_DH) {
            assert_int_equal(rc, (int)V.msg[1].ct_len);
            rc = noise_hs_read(&p.ini, buf, (size_t)rc, pl, sizeof pl);
        }
        assert_true(rc == NOISE_E_DECRYPT || rc == NOISE_E_DH);
    } else {
        assert_int_equal(rc, NOISE_E_DECRYPT);
    }
    noise_hs_wipe(&p.ini);
    noise_hs_wipe(&p.resp);
}

static void test_every_handshake_bit_flip_fails(void **state)
{
    (void)state;
    for (size_t m = 0; m < HS_MSGS; m++)
        for (size_t bit = 0; bit < V.msg[m].ct_len * 8; bit++)
            flip_handshake_bit(m, bit);
}

static void test_truncated_handshake_message(void **state)
{
    struct pair p;
    uint8_t pl[VEC_MAX_BYTES];

    (void)state;
    pair_init(&p);
    assert_int_equal(noise_hs_read(&p.resp, V.msg[0].ct, NOISE_DHLEN - 1, pl, sizeof pl),
                     NOISE_E_SHORT);
    pair_init(&p);
    pair_run(&p, 1);
    assert_int_equal(noise_hs_write(&p.resp, NULL, 0, pl, sizeof pl), 96);
    assert_int_equal(noise_hs_read(&p.ini, pl, 95, pl, sizeof pl), NOISE_E_SHORT);
    noise_hs_wipe(&p.resp);
}

/* Low-order X25519 points (libsodium's blacklist): every one makes DH all zeros. */
static const uint8_t low_order[][32] = {
    {0},
    {1},
    {0xe0, 0xeb, 0x7a, 0x7c, 0x3b, 0x41, 0xb8, 0xae, 0x16, 0x56, 0xe3,
     0xfa, 0xf1, 0x9f, 0xc4, 0x6a, 0xda, 0x09, 0x8d, 0xeb, 0x9c, 0x32,
     0xb1, 0xfd, 0x86, 0x62, 0x05, 0x16, 0x5f, 0x49, 0xb8, 0x00},
    {0x5f, 0x9c, 0x95, 0xbc, 0xa3, 0x50, 0x8c, 0x24, 0xb1, 0xd0, 0xb1,
     0x55, 0x9c, 0x83, 0xef, 0x5b, 0x04, 0x44, 0x5c, 0xc4, 0x58, 0x1c,
     0x8e, 0x86, 0xd8, 0x22, 0x4e, 0xdd, 0xd0, 0x9f, 0x11, 0x57},
    {0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
    {0xed, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
    {0xee, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
};

static void test_low_order_ephemeral_is_refused(void **state)
{
    uint8_t buf[VEC_MAX_BYTES], pl[VEC_MAX_BYTES];

    (void)state;
    for (size_t i = 0; i < sizeof low_order / sizeof low_order[0]; i++) {
        struct pair p;

        /* Responder side: a bad e in message 1 is caught when message 2 computes ee. */
        pair_init(&p);
        assert_int_equal(noise_hs_read(&p.resp, low_order[i], 32, pl, sizeof pl), 0);
        assert_int_equal(noise_hs_write(&p.resp, NULL, 0, buf, sizeof buf), NOISE_E_DH);
        assert_int_equal(noise_hs_write(&p.resp, NULL, 0, buf, sizeof buf), NOISE_E_STATE);

        /* Initiator side: a bad e in message 2 is caught by ee before any decryption. */
        assert_int_equal(noise_hs_write(&p.ini, NULL, 0, buf, sizeof buf), NOISE_DHLEN);
        memset(buf, 0, 96);
        memcpy(buf, low_order[i], 32);
        assert_int_equal(noise_hs_read(&p.ini, buf, 96, pl, sizeof pl), NOISE_E_DH);
        noise_hs_wipe(&p.ini);
    }
}

static void test_out_of_turn(void **state)
{
    struct pair p;
    struct noise_cs a, b;
    uint8_t buf[VEC_MAX_BYTES], hh[NOISE_HASHLEN];

    (void)state;
    pair_init(&p);
    assert_int_equal(noise_hs_write(&p.resp, NULL, 0, buf, sizeof buf), NOISE_E_STATE);
    assert_int_equal(noise_hs_read(&p.ini, V.msg[0].ct, V.msg[0].ct_len, buf, sizeof buf),
                     NOISE_E_STATE);
    assert_int_equal(noise_hs_split(&p.ini, &a, &b, hh), NOISE_E_STATE);
    assert_int_equal(noise_hs_write(&p.ini, NULL, 0, buf, sizeof buf), NOISE_DHLEN);
    assert_int_equal(noise_hs_write(&p.ini, NULL, 0, buf, sizeof buf), NOISE_E_STATE);
    /* Refused calls change nothing: the handshake still completes against the vector. */
    pair_init(&p);
    assert_int_equal(noise_hs_write(&p.resp, NULL, 0, buf, sizeof buf), NOISE_E_STATE);
    pair_run(&p, HS_MSGS);
    assert_int_equal(noise_hs_write(&p.ini, NULL, 0, buf, sizeof buf), NOISE_E_STATE);
    assert_int_equal(noise_hs_read(&p.ini, buf, 64, buf, sizeof buf), NOISE_E_STATE);
    struct session s;
    pair_split(&p, &s);
    /* split wiped the handshakes: nothing more comes out of them. */
    assert_int_equal(noise_hs_write(&p.ini, NULL, 0, buf, sizeof buf), NOISE_E_STATE);
    assert_int_equal(noise_hs_read(&p.resp, V.msg[0].ct, V.msg[0].ct_len, buf, sizeof buf),
                     NOISE_E_STATE);
    assert_int_equal(noise_hs_split(&p.ini, &a, &b, hh), NOISE_E_STATE);
    /* A CipherState without a key never passes plaintext through. */
    memset(&a, 0, sizeof a);
    assert_int_equal(noise_cs_encrypt(&a, NULL, 0, buf, 4, buf + 64, 64), NOISE_E_STATE);
    assert_int_equal(noise_cs_decrypt(&a, NULL, 0, buf, 20, buf + 64, 64), NOISE_E_STATE);
}

static void test_size_limits(void **state)
{
    static uint8_t big[NOISE_MAX_MSG + 1], out[NOISE_MAX_MSG + 1];
    struct pair p;
    struct session s;

    (void)state;
    pair_init(&p);
    /* Too small a buffer is refused before any state changes. */
    assert_int_equal(
        noise_hs_write(&p.ini, V.msg[0].payload, V.msg[0].payload_len, out, V.msg[0].ct_len - 1),
        NOISE_E_NOSPACE);
    assert_int_equal(noise_hs_write(&p.ini, big, NOISE_MAX_MSG - NOISE_DHLEN + 1, out, sizeof out),
                     NOISE_E_NOSPACE);
    assert_int_equal(noise_hs_write(&p.ini, big, NOISE_MAX_MSG - NOISE_DHLEN, out, sizeof out),
                     NOISE_MAX_MSG);
    noise_hs_wipe(&p.ini);
    noise_hs_wipe(&p.resp);

    session_open(&s);
    assert_int_equal(noise_cs_encrypt(&s.ini_send, NULL, 0, big, NOISE_MAX_MSG - NOISE_TAGLEN + 1,
                                      out, sizeof out),
                     NOISE_E_NOSPACE);
    assert_int_equal(noise_cs_encrypt(&s.ini_send, NULL, 0, big, 10, out, 10 + NOISE_TAGLEN - 1),
                     NOISE_E_NOSPACE);
    assert_int_equal(s.ini_send.n, 0);
    assert_int_equal(
        noise_cs_encrypt(&s.ini_send, NULL, 0, big, NOISE_MAX_MSG - NOISE_TAGLEN, out, sizeof out),
        NOISE_MAX_MSG);
    assert_int_equal(
        noise_cs_decrypt(&s.resp_recv, NULL, 0, out, NOISE_MAX_MSG + 1, big, sizeof big),
        NOISE_E_NOSPACE);
    assert_int_equal(
        noise_cs_decrypt(&s.resp_recv, NULL, 0, out, NOISE_TAGLEN - 1, big, sizeof big),
        NOISE_E_SHORT);
    assert_int_equal(noise_cs_decrypt(&s.resp_recv, NULL, 0, out, NOISE_MAX_MSG, big,
                                      NOISE_MAX_MSG - NOISE_TAGLEN - 1),
                     NOISE_E_NOSPACE);
    assert_int_equal(noise_cs_decrypt(&s.resp_recv, NULL, 0, out, NOISE_MAX_MSG, big, sizeof big),
                     NOISE_MAX_MSG - NOISE_TAGLEN);
    noise_cs_wipe(&s.ini_send);
    noise_cs_wipe(&s.resp_recv);
}

/* --- transport ---------------------------------------------------------------------------- */

static void test_transport_bit_flip_does_not_advance_n(void **state)
{
    const struct vec_msg *m = &V.msg[HS_MSGS]; /* responder -> initiator */
    struct session s;
    uint8_t ct[VEC_MAX_BYTES], out[VEC_MAX_BYTES];

    (void)state;
    session_open(&s);
    assert_int_equal(noise_cs_decrypt(&s.ini_recv, NULL, 0, m->ct, 0, out, sizeof out),
                     NOISE_E_SHORT);
    for (size_t bit = 0; bit < m->ct_len * 8; bit++) {
        memcpy(ct, m->ct, m->ct_len);
        ct[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        assert_int_equal(noise_cs_decrypt(&s.ini_recv, NULL, 0, ct, m->ct_len, out, sizeof out),
                         NOISE_E_DECRYPT);
        assert_int_equal(s.ini_recv.n, 0);
    }
    /* Dropping the last byte, or wrong associated data, fails too. */
    assert_int_equal(noise_cs_decrypt(&s.ini_recv, NULL, 0, m->ct, m->ct_len - 1, out, sizeof out),
                     NOISE_E_DECRYPT);
    assert_int_equal(
        noise_cs_decrypt(&s.ini_recv, (const uint8_t *)"x", 1, m->ct, m->ct_len, out, sizeof out),
        NOISE_E_DECRYPT);
    assert_int_equal(s.ini_recv.n, 0);
    /* The genuine message still decrypts after all that. */
    assert_int_equal(noise_cs_decrypt(&s.ini_recv, NULL, 0, m->ct, m->ct_len, out, sizeof out),
                     (int)m->payload_len);
    assert_memory_equal(out, m->payload, m->payload_len);
    assert_int_equal(s.ini_recv.n, 1);
    /* A replay is a decryption failure: the nonce has moved on. */
    assert_int_equal(noise_cs_decrypt(&s.ini_recv, NULL, 0, m->ct, m->ct_len, out, sizeof out),
                     NOISE_E_DECRYPT);
}

static void test_rekey(void **state)
{
    static const uint8_t zeros[32],
        nonce[12] = {0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    static const uint8_t msg[] = "after rekey";
    struct session s;
    uint8_t expect[32 + NOISE_TAGLEN], ct[VEC_MAX_BYTES], out[VEC_MAX_BYTES];
    int n;

    (void)state;
    session_open(&s);
    transfer(&s.ini_send, &s.resp_recv, msg, sizeof msg, ct);

    /* REKEY(k) = first 32 bytes of ENCRYPT(k, 2^64-1, "", zeros[32]); n is kept. */
    assert_int_equal(crypto_aead_chacha20poly1305_ietf_encrypt(expect, NULL, zeros, 32, NULL, 0,
                                                               NULL, nonce, s.ini_send.k),
                     0);
    noise_cs_rekey(&s.ini_send);
    assert_memory_equal(s.ini_send.k, expect, 32);
    assert_int_equal(s.ini_send.n, 1);

    /* Rekey on one side only: the other cannot decrypt, and stays where it was. */
    n = noise_cs_encrypt(&s.ini_send, NULL, 0, msg, sizeof msg, ct, sizeof ct);
    assert_int_equal(n, (int)(sizeof msg + NOISE_TAGLEN));
    assert_int_equal(noise_cs_decrypt(&s.resp_recv, NULL, 0, ct, (size_t)n, out, sizeof out),
                     NOISE_E_DECRYPT);
    /* Rekey there too and the same message goes through. */
    noise_cs_rekey(&s.resp_recv);
    assert_int_equal(noise_cs_decrypt(&s.resp_recv, NULL, 0, ct, (size_t)n, out, sizeof out),
                     (int)sizeof msg);
    assert_memory_equal(out, msg, sizeof msg);

    /* Both directions, several rounds. */
    for (int round = 0; round < 4; round++) {
        noise_cs_rekey(&s.resp_send);
        noise_cs_rekey(&s.ini_recv);
        transfer(&s.resp_send, &s.ini_recv, msg, sizeof msg, ct);
        transfer(&s.ini_send, &s.resp_recv, msg, sizeof msg, ct);
    }
    noise_cs_wipe(&s.ini_send);
    noise_cs_wipe(&s.ini_recv);
    noise_cs_wipe(&s.resp_send);
    noise_cs_wipe(&s.resp_recv);
}

static void test_nonce_exhaustion(void **state)
{
    static const uint8_t msg[] = "last";
    struct session s;
    uint8_t ct[VEC_MAX_BYTES], out[VEC_MAX_BYTES];
    int n;

    (void)state;
    session_open(&s);
    s.ini_send.n = NOISE_NONCE_MAX - 1;
    s.resp_recv.n = NOISE_NONCE_MAX - 1;
    n = (int)transfer(&s.ini_send, &s.resp_recv, msg, sizeof msg, ct);
    assert_true(s.ini_send.n == NOISE_NONCE_MAX);
    assert_int_equal(noise_cs_encrypt(&s.ini_send, NULL, 0, msg, sizeof msg, ct, sizeof ct),
                     NOISE_E_NONCE);
    assert_true(s.ini_send.n == NOISE_NONCE_MAX);
    assert_int_equal(noise_cs_decrypt(&s.resp_recv, NULL, 0, ct, (size_t)n, out, sizeof out),
                     NOISE_E_NONCE);
    assert_true(s.resp_recv.n == NOISE_NONCE_MAX);
    noise_cs_wipe(&s.ini_send);
    noise_cs_wipe(&s.resp_recv);
}

static void test_random_keys_and_our_payloads(void **state)
{
    /* Our own shape: prologue "tlpmesh/1" 0 network, empty message 1, 96-byte payloads. */
    static const uint8_t prologue[] = "tlpmesh/1\0testnet";
    uint8_t is[32], ie[32], rs[32], re[32], pay[96], buf[VEC_MAX_BYTES], pl[VEC_MAX_BYTES];
    uint8_t hh_i[NOISE_HASHLEN], hh_r[NOISE_HASHLEN], pk[32];
    struct noise_hs ini, resp;
    struct session s;

    (void)state;
    randombytes_buf(is, 32);
    randombytes_buf(ie, 32);
    randombytes_buf(rs, 32);
    randombytes_buf(re, 32);
    randombytes_buf(pay, sizeof pay);
    assert_int_equal(noise_hs_init(&ini, true, prologue, sizeof prologue - 1, is, ie), NOISE_OK);
    assert_int_equal(noise_hs_init(&resp, false, prologue, sizeof prologue - 1, rs, re), NOISE_OK);
    assert_int_equal(noise_hs_write(&ini, NULL, 0, buf, sizeof buf), 32);
    assert_int_equal(noise_hs_read(&resp, buf, 32, pl, sizeof pl), 0);
    assert_int_equal(noise_hs_write(&resp, pay, 96, buf, sizeof buf), 192);
    assert_int_equal(noise_hs_read(&ini, buf, 192, pl, 96), 96);
    assert_memory_equal(pl, pay, 96);
    assert_int_equal(noise_hs_write(&ini, pay, 96, buf, sizeof buf), 160);
    assert_int_equal(noise_hs_read(&resp, buf, 160, pl, 96), 96);
    assert_memory_equal(pl, pay, 96);
    assert_int_equal(crypto_scalarmult_base(pk, is), 0);
    assert_memory_equal(noise_hs_remote_static(&resp), pk, 32);
    assert_int_equal(noise_hs_split(&ini, &s.ini_send, &s.ini_recv, hh_i), NOISE_OK);
    assert_int_equal(noise_hs_split(&resp, &s.resp_send, &s.resp_recv, hh_r), NOISE_OK);
    assert_memory_equal(hh_i, hh_r, NOISE_HASHLEN);
    transfer(&s.ini_send, &s.resp_recv, pay, sizeof pay, buf);
    transfer(&s.resp_send, &s.ini_recv, pay, sizeof pay, buf);
    noise_cs_wipe(&s.ini_send);
    noise_cs_wipe(&s.ini_recv);
    noise_cs_wipe(&s.resp_send);
    noise_cs_wipe(&s.resp_recv);
}

static void test_prologue_limit_and_strerror(void **state)
{
    static const uint8_t big[NOISE_MAX_PROLOGUE + 1];
    static const int codes[] = {NOISE_OK,   NOISE_E_STATE,   NOISE_E_SHORT, NOISE_E_DECRYPT,
                                NOISE_E_DH, NOISE_E_NOSPACE, NOISE_E_NONCE};
    struct noise_hs hs;
    uint8_t buf[64];

    (void)state;
    assert_int_equal(noise_hs_init(&hs, true, big, sizeof big, V.init_s, V.init_e),
                     NOISE_E_NOSPACE);
    assert_int_equal(noise_hs_write(&hs, NULL, 0, buf, sizeof buf), NOISE_E_STATE);
    assert_int_equal(noise_hs_init(&hs, true, big, sizeof big - 1, V.init_s, V.init_e), NOISE_OK);
    noise_hs_wipe(&hs);
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
        assert_string_not_equal(noise_strerror(codes[i]), noise_strerror(1));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vector),
        cmocka_unit_test(test_wrong_prologue_fails_at_message_2),
        cmocka_unit_test(test_every_handshake_bit_flip_fails),
        cmocka_unit_test(test_truncated_handshake_message),
        cmocka_unit_test(test_low_order_ephemeral_is_refused),
        cmocka_unit_test(test_out_of_turn),
        cmocka_unit_test(test_size_limits),
        cmocka_unit_test(test_transport_bit_flip_does_not_advance_n),
        cmocka_unit_test(test_rekey),
        cmocka_unit_test(test_nonce_exhaustion),
        cmocka_unit_test(test_random_keys_and_our_payloads),
        cmocka_unit_test(test_prologue_limit_and_strerror),
    };

    return cmocka_run_group_tests(tests, group_setup, NULL);
}
