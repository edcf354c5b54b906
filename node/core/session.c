/* session.c - see session.h. */
#include "node/core/session.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

/* What only the handshake needs, apart from struct session: allocated by session_init, wiped
 * and freed when the handshake ends (with its static and ephemeral secrets), so that an open
 * session, or an idle slot of a hub's thousands and simnet's tens of thousands, holds none. */
struct session_hs {
    struct noise_hs noise;
    uint8_t auth[SESSION_AUTH_BYTES]; /* our handshake payload */
};

static void hs_end(struct session *s)
{
    if (s->hs == NULL)
        return;
    noise_hs_wipe(&s->hs->noise);
    sodium_memzero(s->hs, sizeof *s->hs);
    free(s->hs);
    s->hs = NULL;
}

unsigned session_hs_step(const struct session *s)
{
    return s->hs != NULL ? s->hs->noise.step : 3;
}

const char *session_strerror(int err)
{
    switch (err) {
    case SESSION_OK: return "ok";
    SESSION_ERRORS(ERRORS_CASE)
    default: return "unknown session error";
    }
}

const char *session_close_str(uint8_t reason)
{
    switch (reason) {
    case SESSION_CLOSE_NORMAL: return "normal";
    case SESSION_CLOSE_SHUTDOWN: return "shutdown";
    case SESSION_CLOSE_DUPLICATE: return "duplicate";
    case SESSION_CLOSE_REMOVED: return "removed";
    case SESSION_CLOSE_PROTOCOL: return "protocol error";
    case SESSION_CLOSE_TIMEOUT: return "timeout";
    case SESSION_CLOSE_OVERLOAD: return "overload";
    default: return "unknown";
    }
}

/* Writes one frame (length prefix + msg already placed at scratch + 2) and counts it. */
static int emit_frame(struct session *s, size_t msg_len, const struct session_cb *cb)
{
    assert(msg_len > 0 && msg_len <= LIMIT_FRAME_BYTES);
    cb->scratch[0] = (uint8_t)(msg_len >> 8);
    cb->scratch[1] = (uint8_t)(msg_len & 0xff);
    if (cb->send(cb->ctx, cb->scratch, msg_len + 2) < 0)
        return SESSION_E_SEND;
    s->frames_out++;
    return SESSION_OK;
}

/* sig over "tlpmesh-noise-static-v1" || x25519 static public key */
static void auth_message(const uint8_t noise_pk[LIMIT_KEY_BYTES],
                         uint8_t msg[sizeof SESSION_SIG_CONTEXT - 1 + LIMIT_KEY_BYTES])
{
    memcpy(msg, SESSION_SIG_CONTEXT, sizeof SESSION_SIG_CONTEXT - 1);
    memcpy(msg + sizeof SESSION_SIG_CONTEXT - 1, noise_pk, LIMIT_KEY_BYTES);
}

void session_auth_payload(const struct keys_identity *id, uint8_t out[SESSION_AUTH_BYTES])
{
    assert(id && out);
    uint8_t msg[sizeof SESSION_SIG_CONTEXT - 1 + LIMIT_KEY_BYTES];
    auth_message(id->noise_pk, msg);
    memcpy(out, id->sign_pk, LIMIT_KEY_BYTES);
    crypto_sign_detached(out + LIMIT_KEY_BYTES, NULL, msg, sizeof msg, id->sign_sk);
}

/* Checks the peer's 96-byte payload against the static key Noise authenticated. */
static int check_auth(struct session *s, const uint8_t *payload, int payload_len,
                      const struct session_cb *cb)
{
    if (payload_len != SESSION_AUTH_BYTES)
        return SESSION_E_AUTH;
    uint8_t msg[sizeof SESSION_SIG_CONTEXT - 1 + LIMIT_KEY_BYTES];
    auth_message(noise_hs_remote_static(&s->hs->noise), msg);
    if (crypto_sign_verify_detached(payload + LIMIT_KEY_BYTES, msg, sizeof msg, payload) != 0)
        return SESSION_E_AUTH;
    memcpy(s->peer_key, payload, LIMIT_KEY_BYTES);
    s->peer_key_signed = true;
    if (s->initiator) {
        if (sodium_memcmp(s->peer_key, s->expect_key, LIMIT_KEY_BYTES) != 0)
            return SESSION_E_WRONG_PEER;
    } else if (!cb->peer_allowed(cb->ctx, s->peer_key)) {
        return SESSION_E_UNKNOWN_PEER;
    }
    return SESSION_OK;
}

static int send_hello(struct session *s, const struct session_cb *cb)
{
    uint8_t body[5] = {SESSION_VERSION, (uint8_t)(s->capabilities >> 24),
                       (uint8_t)(s->capabilities >> 16), (uint8_t)(s->capabilities >> 8),
                       (uint8_t)s->capabilities};
    return session_send(s, SESSION_MSG_HELLO, body, sizeof body, cb);
}

static int finish_handshake(struct session *s, const struct session_cb *cb)
{
    uint8_t hash[NOISE_HASHLEN];
    int rc = noise_hs_split(&s->hs->noise, &s->tx, &s->rx, hash);
    sodium_memzero(hash, sizeof hash);
    if (rc < 0)
        return SESSION_E_HANDSHAKE;
    hs_end(s);
    s->state = SESSION_WAIT_HELLO;
    return send_hello(s, cb);
}

static int write_handshake(struct session *s, const uint8_t *payload, size_t len,
                           const struct session_cb *cb)
{
    int n = noise_hs_write(&s->hs->noise, payload, len, cb->scratch + 2, LIMIT_FRAME_BYTES);
    if (n < 0)
        return SESSION_E_HANDSHAKE;
    return emit_frame(s, (size_t)n, cb);
}

int session_init(struct session *s, const struct session_params *p, const struct session_cb *cb)
{
    assert(s && p && p->id && p->network && p->ephemeral_sk && p->auth && cb && cb->scratch);
    assert(!p->initiator || p->expect_key);
    memset(s, 0, sizeof *s);
    s->initiator = p->initiator;
    s->rekey_interval = p->rekey_interval ? p->rekey_interval : LIMIT_REKEY_MESSAGES;
    s->capabilities = p->capabilities;
    if (p->expect_key)
        memcpy(s->expect_key, p->expect_key, LIMIT_KEY_BYTES);

    uint8_t prologue[NOISE_MAX_PROLOGUE];
    size_t plen = sizeof SESSION_PROLOGUE_PREFIX; /* includes the 0x00 separator */
    size_t nlen = strlen(p->network);
    if (plen + nlen > sizeof prologue) {
        s->state = SESSION_CLOSED;
        return SESSION_E_PROLOGUE;
    }
    memcpy(prologue, SESSION_PROLOGUE_PREFIX, plen);
    memcpy(prologue + plen, p->network, nlen);
    if ((s->hs = malloc(sizeof *s->hs)) == NULL) {
        s->state = SESSION_CLOSED;
        return SESSION_E_NOMEM;
    }
    memcpy(s->hs->auth, p->auth, sizeof s->hs->auth);
    if (noise_hs_init(&s->hs->noise, p->initiator, prologue, plen + nlen, p->id->noise_sk,
                      p->ephemeral_sk) < 0) {
        hs_end(s);
        s->state = SESSION_CLOSED;
        return SESSION_E_HANDSHAKE;
    }
    s->state = SESSION_HANDSHAKE;
    if (!p->initiator)
        return SESSION_OK;
    int rc = write_handshake(s, NULL, 0, cb);
    if (rc < 0)
        s->state = SESSION_CLOSED;
    return rc;
}

/* The exact size of the next handshake frame we may receive (anything else is malformed, so an
 * unauthenticated peer never makes us buffer more than 192 bytes). */
static size_t expected_handshake_len(const struct session *s)
{
    if (!s->initiator)
        return s->hs->noise.step == 0 ? SESSION_MSG1_BYTES : SESSION_MSG3_BYTES;
    return SESSION_MSG2_BYTES;
}

static int on_handshake_frame(struct session *s, const uint8_t *msg, size_t len,
                              const struct session_cb *cb)
{
    uint8_t payload[SESSION_AUTH_BYTES + 1];
    int n = noise_hs_read(&s->hs->noise, msg, len, payload, sizeof payload);
    if (n < 0)
        return SESSION_E_HANDSHAKE;
    if (!s->initiator && s->hs->noise.step == 1) { /* read message 1: answer with message 2 */
        if (n != 0)
            return SESSION_E_FRAME;
        return write_handshake(s, s->hs->auth, sizeof s->hs->auth, cb);
    }
    int rc = check_auth(s, payload, n, cb);
    if (rc < 0)
        return rc;
    if (s->initiator) {
        rc = write_handshake(s, s->hs->auth, sizeof s->hs->auth, cb);
        if (rc < 0)
            return rc;
    }
    assert(noise_hs_done(&s->hs->noise));
    return finish_handshake(s, cb);
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int on_message(struct session *s, const uint8_t *pt, size_t len,
                      const struct session_cb *cb)
{
    if (len == 0)
        return SESSION_E_MESSAGE;
    uint8_t type = pt[0];
    const uint8_t *body = pt + 1;
    size_t blen = len - 1;
    if (s->state == SESSION_WAIT_HELLO && type != SESSION_MSG_HELLO)
        return SESSION_E_MESSAGE;
    switch (type) {
    case SESSION_MSG_HELLO:
        if (s->state != SESSION_WAIT_HELLO || blen != 5)
            return SESSION_E_MESSAGE;
        if (body[0] != SESSION_VERSION)
            return SESSION_E_VERSION;
        s->peer_version = body[0];
        s->peer_capabilities = be32(body + 1);
        s->state = SESSION_OPEN;
        cb->opened(cb->ctx);
        return SESSION_OK;
    case SESSION_MSG_KEEPALIVE:
        return blen == 0 ? SESSION_OK : SESSION_E_MESSAGE;
    case SESSION_MSG_CLOSE:
        if (blen != 1)
            return SESSION_E_MESSAGE;
        s->peer_reason = body[0];
        return SESSION_E_PEER_CLOSED;
    case SESSION_MSG_REKEY:
        if (blen != 0)
            return SESSION_E_MESSAGE;
        noise_cs_rekey(&s->rx); /* the peer's next frame is under the next key */
        s->rekeys++;
        return SESSION_OK;
    default:
        if (type < SESSION_MSG_APP_FIRST)
            return SESSION_E_MESSAGE;
        cb->message(cb->ctx, type, body, blen);
        return SESSION_OK;
    }
}

static int on_transport_frame(struct session *s, const uint8_t *msg, size_t len,
                              const struct session_cb *cb)
{
    if (len < NOISE_TAGLEN + 1)
        return SESSION_E_FRAME;
    /* the last third of scratch: the message handler may send (which uses the first two) */
    uint8_t *pt = cb->scratch + 2 * SESSION_SCRATCH_PART;
    int n = noise_cs_decrypt(&s->rx, NULL, 0, msg, len, pt, SESSION_SCRATCH_PART);
    if (n == NOISE_E_NONCE)
        return SESSION_E_NONCE;
    if (n < 0)
        return SESSION_E_DECRYPT;
    int rc = on_message(s, pt, (size_t)n, cb);
    sodium_memzero(pt, (size_t)n);
    return rc;
}

static int on_frame(struct session *s, const struct session_cb *cb)
{
    s->frames_in++;
    if (s->state == SESSION_HANDSHAKE)
        return on_handshake_frame(s, s->buf, s->buf_len, cb);
    return on_transport_frame(s, s->buf, s->buf_len, cb);
}

/* A frame header is complete: check its length before buffering a single body byte. */
static int on_header(struct session *s)
{
    s->frame_len = (size_t)s->hdr[0] << 8 | s->hdr[1];
    if (s->state == SESSION_HANDSHAKE && s->frame_len != expected_handshake_len(s)) {
        bool first = !s->initiator && s->hs->noise.step == 0;
        return first ? SESSION_E_FIRST : SESSION_E_FRAME;
    }
    if (s->frame_len == 0)
        return SESSION_E_FRAME;
    if (s->frame_len > s->buf_cap) {
        uint8_t *nb = realloc(s->buf, s->frame_len);
        if (!nb)
            return SESSION_E_NOMEM;
        s->buf = nb;
        s->buf_cap = s->frame_len;
    }
    s->buf_len = 0;
    return SESSION_OK;
}

/* After a frame: a buffer grown past LIMIT_SESSION_BUF_KEEP_BYTES goes, or every idle session
 * (a hub's thousands, simnet's tens of thousands) would keep its largest frame, up to 64 KiB. */
static void buf_trim(struct session *s)
{
    if (s->buf_cap > LIMIT_SESSION_BUF_KEEP_BYTES) {
        free(s->buf);
        s->buf = NULL;
        s->buf_cap = 0;
    }
}

int session_feed(struct session *s, const uint8_t *data, size_t len, const struct session_cb *cb)
{
    assert(s && cb && (data || len == 0));
    size_t off = 0;
    int rc = SESSION_OK;
    /* every iteration consumes at least one byte, so the loop ends after at most len turns */
    while (off < len && rc == SESSION_OK) {
        if (s->state == SESSION_CLOSED)
            return SESSION_E_STATE;
        if (s->hdr_len < 2) {
            s->hdr[s->hdr_len++] = data[off++];
            if (s->hdr_len == 2)
                rc = on_header(s);
            continue;
        }
        size_t take = s->frame_len - s->buf_len;
        if (take > len - off)
            take = len - off;
        memcpy(s->buf + s->buf_len, data + off, take);
        s->buf_len += take;
        off += take;
        if (s->buf_len == s->frame_len) {
            s->hdr_len = 0;
            rc = on_frame(s, cb);
            buf_trim(s);
        }
    }
    if (rc < 0)
        s->state = SESSION_CLOSED;
    return rc;
}

/* Encrypts and frames one message under the current sending key. */
static int send_message(struct session *s, uint8_t type, const uint8_t *body, size_t len,
                        const struct session_cb *cb)
{
    assert(len <= SESSION_MAX_BODY);
    /* frame in the first third of scratch, plaintext in the second: no overlap */
    uint8_t *pt = cb->scratch + SESSION_SCRATCH_PART;
    pt[0] = type;
    if (len)
        memcpy(pt + 1, body, len);
    int n = noise_cs_encrypt(&s->tx, NULL, 0, pt, len + 1, cb->scratch + 2, LIMIT_FRAME_BYTES);
    sodium_memzero(pt, len + 1);
    if (n == NOISE_E_NONCE)
        return SESSION_E_NONCE;
    assert(n == (int)(len + 1 + NOISE_TAGLEN));
    return emit_frame(s, (size_t)n, cb);
}

/* REKEY goes out under the old key; every later frame uses the new one. The key only changes
 * once the frame is queued, so the peer always sees REKEY before the first frame it must change
 * keys for. */
static int send_rekey(struct session *s, const struct session_cb *cb)
{
    int rc = send_message(s, SESSION_MSG_REKEY, NULL, 0, cb);
    if (rc < 0)
        return rc;
    noise_cs_rekey(&s->tx);
    s->rekeys++;
    s->tx_since_rekey = 0;
    return SESSION_OK;
}

static bool transport_up(const struct session *s)
{
    return s->state == SESSION_WAIT_HELLO || s->state == SESSION_OPEN;
}

int session_send(struct session *s, uint8_t type, const uint8_t *body, size_t len,
                 const struct session_cb *cb)
{
    assert(s && cb && (body || len == 0) && type != SESSION_MSG_REKEY);
    if (!transport_up(s))
        return SESSION_E_STATE;
    if (len > SESSION_MAX_BODY)
        return SESSION_E_SIZE;
    int rc = send_message(s, type, body, len, cb);
    if (rc < 0)
        return rc;
    if (++s->tx_since_rekey < s->rekey_interval)
        return SESSION_OK;
    return send_rekey(s, cb);
}

int session_rekey(struct session *s, const struct session_cb *cb)
{
    assert(s && cb);
    if (!transport_up(s))
        return SESSION_E_STATE;
    return send_rekey(s, cb);
}

void session_close(struct session *s, uint8_t reason, const struct session_cb *cb)
{
    assert(s && cb);
    if (transport_up(s))
        (void)session_send(s, SESSION_MSG_CLOSE, &reason, 1, cb); /* best effort: closing anyway */
    s->state = SESSION_CLOSED;
}

void session_free(struct session *s)
{
    if (!s)
        return;
    free(s->buf); /* frames in s->buf are ciphertext; plaintext lives in scratch, wiped */
    hs_end(s);
    noise_cs_wipe(&s->tx);
    noise_cs_wipe(&s->rx);
    sodium_memzero(s, sizeof *s);
}
