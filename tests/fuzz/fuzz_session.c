/* fuzz_session.c - session_feed(): the first code that sees a stranger's bytes.
 *
 * Input: 1 control byte, then the payload.
 *   control & 3   0  a responder fed the payload as raw socket bytes;
 *                 1  an initiator that sent a real message 1, fed the payload as the reply;
 *                 2  a responder after a real handshake, its peer's HELLO not yet received;
 *                 3  the same, HELLO received (the session is open);
 *   control & 4   the responder's peer_allowed() says no;
 *   control >> 3  chunk size 1..31 the bytes are fed in (0: all at once), to cover reassembly.
 * In modes 2 and 3 the payload is a list of entries, u16 big-endian n then n bytes: n < 0x8000
 * is a plaintext message that the real initiator's cipher state encrypts and frames (so the
 * fuzzer reaches the message parser behind the MAC); n >= 0x8000 appends n & 0x7fff raw bytes.
 * Keys are fixed (fuzz.h), so handshakes are deterministic and the corpus holds real transcripts.
 *
 * Invariants:
 *  - session_feed returns SESSION_OK or a session_err; after an error the session is closed and
 *    refuses any further byte with SESSION_E_STATE;
 *  - every send is exactly one frame (2-byte length = the rest), at most LIMIT_FRAME_BYTES;
 *  - opened() is called at most once, when the session is open; message() only when open, with an
 *    application type and a body of at most SESSION_MAX_BODY; peer_allowed() only on a responder
 *    and only for a key that signed the handshake;
 *  - session_close() and session_free() work in every state.
 */
#include <stdbool.h>

#include <sodium.h>

#include "crypto/keys.h"
#include "fuzz.h"
#include "node/core/session.h"

#define FUZZ_SESSION_OUT 4096 /* bytes of a side's output kept (handshake frames + HELLO) */

struct side {
    struct session s;
    bool initiator;
    bool allow;
    int opened;
    uint8_t out[FUZZ_SESSION_OUT];
    size_t out_len;
};

static struct keys_identity id_init, id_resp;
static uint8_t scratch[SESSION_SCRATCH_BYTES];

static int cb_send(void *ctx, const uint8_t *bytes, size_t len)
{
    struct side *d = ctx;
    FUZZ_CHECK(len >= 3 && len <= 2 + LIMIT_FRAME_BYTES);
    FUZZ_CHECK(((size_t)bytes[0] << 8 | bytes[1]) == len - 2);
    if (d->out_len + len <= sizeof d->out) {
        memcpy(d->out + d->out_len, bytes, len);
        d->out_len += len;
    }
    return 0;
}

static bool cb_peer_allowed(void *ctx, const uint8_t key[LIMIT_KEY_BYTES])
{
    struct side *d = ctx;
    FUZZ_CHECK(!d->initiator && d->s.peer_key_signed);
    FUZZ_CHECK(memcmp(key, d->s.peer_key, LIMIT_KEY_BYTES) == 0);
    return d->allow;
}

static void cb_opened(void *ctx)
{
    struct side *d = ctx;
    FUZZ_CHECK(d->s.state == SESSION_OPEN);
    FUZZ_CHECK(++d->opened == 1);
}

static void cb_message(void *ctx, uint8_t type, const uint8_t *body, size_t len)
{
    struct side *d = ctx;
    FUZZ_CHECK(d->s.state == SESSION_OPEN);
    FUZZ_CHECK(type >= SESSION_MSG_APP_FIRST && len <= SESSION_MAX_BODY);
    FUZZ_CHECK(body != NULL || len == 0);
}

static struct session_cb callbacks(struct side *d)
{
    return (struct session_cb){.ctx = d, .send = cb_send, .peer_allowed = cb_peer_allowed,
                               .opened = cb_opened, .message = cb_message, .scratch = scratch};
}

static void start(struct side *d, bool initiator, bool allow)
{
    uint8_t eph[32], auth[SESSION_AUTH_BYTES];
    session_auth_payload(initiator ? &id_init : &id_resp, auth);
    struct session_params p = {.initiator = initiator,
                               .id = initiator ? &id_init : &id_resp,
                               .network = FUZZ_NETWORK,
                               .ephemeral_sk = eph,
                               .expect_key = id_resp.sign_pk,
                               .auth = auth,
                               .capabilities = 0};
    struct session_cb cb = callbacks(d);

    memset(d, 0, sizeof *d);
    d->initiator = initiator;
    d->allow = allow;
    fuzz_key(eph, initiator ? FUZZ_EPH_INITIATOR : FUZZ_EPH_RESPONDER);
    FUZZ_CHECK(session_init(&d->s, &p, &cb) == SESSION_OK);
}

static bool is_session_err(int rc)
{
    return rc <= SESSION_E_FRAME && rc >= SESSION_E_PROLOGUE;
}

/* Feeds bytes in chunks and checks what an error leaves behind. */
static void feed(struct side *d, const uint8_t *bytes, size_t len, size_t chunk)
{
    struct session_cb cb = callbacks(d);
    size_t off = 0;
    int rc = SESSION_OK;

    if (chunk == 0)
        chunk = len;
    while (off < len && rc == SESSION_OK) {
        size_t n = len - off < chunk ? len - off : chunk;
        rc = session_feed(&d->s, bytes + off, n, &cb);
        off += n;
    }
    if (rc != SESSION_OK) {
        FUZZ_CHECK(is_session_err(rc));
        FUZZ_CHECK(session_strerror(rc) != NULL);
        FUZZ_CHECK(d->s.state == SESSION_CLOSED);
        FUZZ_CHECK(session_feed(&d->s, bytes, 1, &cb) == SESSION_E_STATE);
    }
}

static void finish(struct side *d)
{
    struct session_cb cb = callbacks(d);
    session_close(&d->s, SESSION_CLOSE_PROTOCOL, &cb);
    FUZZ_CHECK(d->s.state == SESSION_CLOSED);
    session_free(&d->s);
}

/* A responder after a real handshake, and the initiator's send cipher state as it was before the
 * initiator's HELLO (hello == false) or after it, that HELLO delivered (hello == true). Built once
 * per process: the handshake is deterministic, and redoing its public-key operations per input
 * would cut the execution rate tenfold. The copy gets its own receive buffer. */
static void open_responder(struct side *r, struct noise_cs *tx, bool hello)
{
    static struct side snap[2];
    static struct noise_cs snap_tx[2];
    static bool ready;
    struct side *i;
    size_t msg3 = 2 + SESSION_MSG3_BYTES;

    if (!ready) {
        i = malloc(sizeof *i);
        FUZZ_CHECK(i != NULL);
        for (int h = 0; h < 2; h++) {
            start(i, true, true);
            start(&snap[h], false, true);
            feed(&snap[h], i->out, i->out_len, 0);
            feed(i, snap[h].out, snap[h].out_len, 0);
            FUZZ_CHECK(i->s.state == SESSION_WAIT_HELLO && i->out_len > 34 + msg3);
            feed(&snap[h], i->out + 32 + 2, h ? i->out_len - 34 : msg3, 0);
            FUZZ_CHECK(snap[h].s.state == (h ? SESSION_OPEN : SESSION_WAIT_HELLO));
            snap_tx[h] = i->s.tx;
            if (!h)
                snap_tx[h].n = 0; /* the HELLO it encrypted was never delivered */
            session_free(&i->s);
            snap[h].opened = 0;
            snap[h].out_len = 0;
        }
        free(i);
        ready = true;
    }
    *r = snap[hello];
    *tx = snap_tx[hello];
    r->s.buf = malloc(r->s.buf_cap);
    FUZZ_CHECK(r->s.buf != NULL);
    memcpy(r->s.buf, snap[hello].s.buf, r->s.buf_cap);
}

/* Turns the entry list (see the top) into wire bytes; returns their length. */
static size_t build_transport(struct fuzz_in *in, struct noise_cs *tx, uint8_t *wire, size_t cap)
{
    size_t len = 0;
    while (in->n >= 2) {
        uint16_t n = fuzz_u16(in);
        size_t got;
        const uint8_t *p = fuzz_bytes(in, n & 0x7fff, &got);
        if (n & 0x8000) {
            if (len + got > cap)
                break;
            memcpy(wire + len, p, got);
            len += got;
            continue;
        }
        if (len + 2 + got + NOISE_TAGLEN > cap)
            break;
        int ct = noise_cs_encrypt(tx, NULL, 0, p, got, wire + len + 2, cap - len - 2);
        FUZZ_CHECK(ct == (int)(got + NOISE_TAGLEN));
        wire[len] = (uint8_t)(ct >> 8);
        wire[len + 1] = (uint8_t)ct;
        len += 2 + (size_t)ct;
    }
    return len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool ready;
    static struct side d;
    static uint8_t wire[1 << 17];
    struct fuzz_in in = {data, size};
    uint8_t control = fuzz_u8(&in);
    size_t chunk = control >> 3;
    struct noise_cs tx;
    size_t len;

    if (!ready) {
        uint8_t seed[32];
        FUZZ_CHECK(sodium_init() >= 0);
        fuzz_key(seed, FUZZ_KEY_INITIATOR);
        keys_identity_from_seed(seed, &id_init);
        fuzz_key(seed, FUZZ_KEY_RESPONDER);
        keys_identity_from_seed(seed, &id_resp);
        ready = true;
    }
    switch (control & 3) {
    case 0:
    case 1:
        start(&d, (control & 3) == 1, !(control & 4));
        feed(&d, in.p, in.n, chunk);
        break;
    default:
        open_responder(&d, &tx, (control & 3) == 3);
        len = build_transport(&in, &tx, wire, sizeof wire);
        feed(&d, wire, len, chunk);
        noise_cs_wipe(&tx);
        break;
    }
    finish(&d);
    return 0;
}
