/* session.h - one authenticated channel over one TCP connection, sans-IO (docs/ARCHITECTURE.md, docs/PROTOCOL.md "Channel").
 *
 * Bytes in, events and bytes out; no socket, clock or random source. The engine feeds what the
 * socket delivered to session_feed(); the session calls back to send framed bytes, to ask whether
 * a key is an allowed peer, and to deliver application messages.
 *
 * Wire format (docs/PROTOCOL.md "## Channel"):
 *   frame     = u16 big-endian length || Noise message (1..65535 bytes)
 *   handshake = Noise_XX_25519_ChaChaPoly_BLAKE2b, prologue "tlpmesh/1" 0x00 network-name;
 *               message 1 payload empty (the frame is exactly 32 bytes), messages 2 and 3 carry
 *               ed25519_pk(32) || ed25519_sig(64) over "tlpmesh-noise-static-v1" || x25519_static_pk
 *   transport = each frame decrypts to: u8 type || body
 *               HELLO     (1): u8 version || u32 BE capabilities; first message each way
 *               KEEPALIVE (2): empty
 *               CLOSE     (3): u8 reason (enum session_close)
 *               REKEY     (4): empty; the sender's next frames use the next key
 *               5..15 reserved (an error); 16..255 application (gossip) -> on_message
 *   rekey     = the sender sends REKEY, then calls noise_cs_rekey() on its sending cipher state;
 *               the receiver calls it on its receiving one right after decrypting REKEY. The
 *               session sends REKEY after every rekey_interval other messages; the engine also
 *               calls session_rekey() on a timer. Only the sender decides, so nothing races.
 *
 * Ownership: struct session is caller-owned; session_init() allocates the receive buffer and
 * session_free() releases it and wipes every key. It holds secrets (keys, cipher states).
 */
#ifndef TLPMESH_NODE_SESSION_H
#define TLPMESH_NODE_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/keys.h"
#include "crypto/noise.h"
#include "proto/errors.h"
#include "proto/limits.h"

#define SESSION_VERSION 1
#define SESSION_PROLOGUE_PREFIX "tlpmesh/1"
#define SESSION_SIG_CONTEXT "tlpmesh-noise-static-v1"
#define SESSION_AUTH_BYTES (LIMIT_KEY_BYTES + LIMIT_SIG_BYTES) /* 96: handshake payload */
#define SESSION_MSG1_BYTES 32                                  /* e */
#define SESSION_MSG2_BYTES (32 + 32 + 16 + SESSION_AUTH_BYTES + 16) /* e, s, payload */
#define SESSION_MSG3_BYTES (32 + 16 + SESSION_AUTH_BYTES + 16)      /* s, payload */
#define SESSION_MAX_BODY (LIMIT_FRAME_BYTES - NOISE_TAGLEN - 1)     /* app body after type */
/* scratch: outgoing frame | outgoing plaintext | incoming plaintext */
#define SESSION_SCRATCH_PART (2 + LIMIT_FRAME_BYTES)
#define SESSION_SCRATCH_BYTES (3 * SESSION_SCRATCH_PART)

enum session_msg {
    SESSION_MSG_HELLO = 1,
    SESSION_MSG_KEEPALIVE = 2,
    SESSION_MSG_CLOSE = 3,
    SESSION_MSG_REKEY = 4,
    SESSION_MSG_APP_FIRST = 16, /* 16..255 belong to the application (gossip) */
};

/* CLOSE reasons on the wire (one byte). */
enum session_close {
    SESSION_CLOSE_NORMAL = 0,
    SESSION_CLOSE_SHUTDOWN = 1,  /* the node is stopping */
    SESSION_CLOSE_DUPLICATE = 2, /* another session with the same peer won the tie-break */
    SESSION_CLOSE_REMOVED = 3,   /* the peer was removed from the config */
    SESSION_CLOSE_PROTOCOL = 4,  /* malformed or undecryptable input */
    SESSION_CLOSE_TIMEOUT = 5,   /* handshake deadline or dead-session timeout */
    SESSION_CLOSE_OVERLOAD = 6,  /* send queue full */
};

/* Error codes: X(name, value, message), range ERRORS_BASE_SESSION in proto/errors.h; the
 * comments say when each happens. */
#define SESSION_ERRORS(X)                                                                          \
    /* frame length 0 or wrong for the handshake step */                                           \
    X(SESSION_E_FRAME, ERRORS_BASE_SESSION - 0, "malformed frame")                                 \
    /* responder: first frame length is not 32 */                                                  \
    X(SESSION_E_FIRST, ERRORS_BASE_SESSION - 1, "first frame is not a 32-byte handshake message")  \
    /* Noise rejected a handshake message (other network?) */                                      \
    X(SESSION_E_HANDSHAKE, ERRORS_BASE_SESSION - 2,                                                \
      "handshake failed (different network or tampered)")                                          \
    /* handshake payload not 96 bytes or bad signature */                                          \
    X(SESSION_E_AUTH, ERRORS_BASE_SESSION - 3, "bad handshake identity (payload or signature)")    \
    /* Ed25519 key is not an allowed peer */                                                       \
    X(SESSION_E_UNKNOWN_PEER, ERRORS_BASE_SESSION - 4, "key is not an allowed peer")               \
    /* initiator: responder is not the peer it dialled */                                          \
    X(SESSION_E_WRONG_PEER, ERRORS_BASE_SESSION - 5, "responder is not the peer that was dialled") \
    /* transport frame failed authentication */                                                    \
    X(SESSION_E_DECRYPT, ERRORS_BASE_SESSION - 6, "frame failed to decrypt")                       \
    /* malformed message (reserved type, bad HELLO/CLOSE) */                                       \
    X(SESSION_E_MESSAGE, ERRORS_BASE_SESSION - 7, "malformed message")                             \
    /* HELLO with a version we do not speak */                                                     \
    X(SESSION_E_VERSION, ERRORS_BASE_SESSION - 8, "unsupported protocol version")                  \
    /* peer sent CLOSE (reason in session.peer_reason) */                                          \
    X(SESSION_E_PEER_CLOSED, ERRORS_BASE_SESSION - 9, "closed by peer")                            \
    X(SESSION_E_NONCE, ERRORS_BASE_SESSION - 10, "nonce exhausted")                                \
    /* send before the session is open, or after close */                                          \
    X(SESSION_E_STATE, ERRORS_BASE_SESSION - 11, "session not open")                               \
    /* application body larger than SESSION_MAX_BODY */                                            \
    X(SESSION_E_SIZE, ERRORS_BASE_SESSION - 12, "message too large")                               \
    /* the send callback refused the bytes (queue full) */                                         \
    X(SESSION_E_SEND, ERRORS_BASE_SESSION - 13, "send queue full")                                 \
    X(SESSION_E_NOMEM, ERRORS_BASE_SESSION - 14, "out of memory")                                  \
    /* network name too long for the prologue */                                                   \
    X(SESSION_E_PROLOGUE, ERRORS_BASE_SESSION - 15, "network name too long")

enum session_err {
    SESSION_OK = 0,
    SESSION_ERRORS(ERRORS_ENUM)
};

const char *session_strerror(int err);
const char *session_close_str(uint8_t reason);

enum session_state {
    SESSION_HANDSHAKE = 0, /* Noise messages in flight */
    SESSION_WAIT_HELLO,    /* transport keys ready, our HELLO sent, theirs not yet received */
    SESSION_OPEN,          /* both HELLOs exchanged */
    SESSION_CLOSED,        /* after an error or CLOSE: feeds and sends are refused */
};

struct session_cb {
    void *ctx;
    /* Queue bytes for the connection; negative refuses (queue full). */
    int (*send)(void *ctx, const uint8_t *bytes, size_t len);
    /* Responder side: is this Ed25519 key an allowed peer? */
    bool (*peer_allowed)(void *ctx, const uint8_t key[LIMIT_KEY_BYTES]);
    /* Peer's HELLO arrived: the session is open. */
    void (*opened)(void *ctx);
    /* Application message (type >= SESSION_MSG_APP_FIRST). */
    void (*message)(void *ctx, uint8_t type, const uint8_t *body, size_t len);
    /* SESSION_SCRATCH_BYTES of memory the session may use while inside a call (shared). */
    uint8_t *scratch;
};

struct session_params {
    bool initiator;
    const struct keys_identity *id;
    const char *network;                     /* mixed into the prologue */
    const uint8_t *ephemeral_sk;             /* 32 random bytes from the caller */
    const uint8_t *expect_key;               /* initiator: Ed25519 key of the dialled peer */
    const uint8_t *auth; /* SESSION_AUTH_BYTES from session_auth_payload(id), made once */
    uint64_t rekey_interval;                 /* 0 = LIMIT_REKEY_MESSAGES */
    uint32_t capabilities;                   /* sent in HELLO */
};

struct session_hs; /* what only the handshake needs (session.c) */

struct session {
    enum session_state state;
    bool initiator;
    struct session_hs *hs; /* while the handshake runs (SESSION_HANDSHAKE), else NULL */
    struct noise_cs tx, rx;
    uint8_t expect_key[LIMIT_KEY_BYTES];
    uint8_t peer_key[LIMIT_KEY_BYTES]; /* valid when peer_key_signed */
    bool peer_key_signed; /* the peer proved it holds peer_key (it may still be refused) */
    uint8_t peer_version;
    uint32_t peer_capabilities;
    uint32_t capabilities;
    uint8_t peer_reason; /* CLOSE reason received (SESSION_E_PEER_CLOSED) */
    uint64_t rekey_interval;
    uint64_t tx_since_rekey; /* messages sent under the current sending key, REKEY excluded */
    uint64_t frames_in, frames_out, rekeys; /* rekeys: both directions */
    /* receive buffer: 2-byte header then the body of the frame being assembled */
    uint8_t hdr[2];
    size_t hdr_len;
    size_t frame_len;
    uint8_t *buf;
    size_t buf_len, buf_cap;
};

/* The 96-byte handshake payload of identity id. It never changes for an identity: compute it
 * once (engine_init) and pass it in session_params.auth, so that accepting a connection from an
 * unauthenticated client costs no signature. */
void session_auth_payload(const struct keys_identity *id, uint8_t out[SESSION_AUTH_BYTES]);

/* Starts the handshake (allocating its state: SESSION_E_NOMEM); the initiator sends message 1
 * through cb. */
int session_init(struct session *s, const struct session_params *p, const struct session_cb *cb);

/* The handshake's next message index, 0..2; 3 when no handshake runs (done, or never started). */
unsigned session_hs_step(const struct session *s);

/* Consumes received bytes. Returns SESSION_OK or the error that ended the session (the caller
 * closes the connection; the session is then SESSION_CLOSED). */
int session_feed(struct session *s, const uint8_t *data, size_t len, const struct session_cb *cb);

/* Sends one message (HELLO/KEEPALIVE/CLOSE/application) once the transport keys exist. */
int session_send(struct session *s, uint8_t type, const uint8_t *body, size_t len,
                 const struct session_cb *cb);

/* Sends REKEY and moves the sending direction to the next key (the time-based rekey). */
int session_rekey(struct session *s, const struct session_cb *cb);

/* Sends CLOSE(reason) if the transport is up, then marks the session closed. */
void session_close(struct session *s, uint8_t reason, const struct session_cb *cb);

void session_free(struct session *s);

#endif
