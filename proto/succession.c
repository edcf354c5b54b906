/* succession.c - key succession statements (contract in succession.h). */
#include "proto/succession.h"

#include <assert.h>
#include <stdbool.h>
#include <sodium.h>
#include <string.h>

enum { OFF_VERSION = 0, OFF_KIND = 1, OFF_TIME = 2, OFF_OLD = 10, OFF_NEW = 42, OFF_AUTH = 74,
       OFF_SIG_AUTH = 106, OFF_SIG_NEW = 170 };
_Static_assert(OFF_SIG_AUTH == PROTO_SUCCESSION_BODY_BYTES, "layout");
_Static_assert(OFF_SIG_NEW + LIMIT_SIG_BYTES == LIMIT_SUCCESSION_BYTES, "layout");

#define CTX_LEN (sizeof PROTO_SUCCESSION_SIG_CONTEXT) /* with its 0x00 */
enum { MSG_BYTES = CTX_LEN + PROTO_SUCCESSION_BODY_BYTES };

const char *proto_succession_strerror(int err)
{
    switch (err) {
    case SUCCESSION_OK: return "ok";
        SUCCESSION_ERRORS(ERRORS_CASE)
    default: return "unknown succession error";
    }
}

const char *proto_succession_kind_name(uint8_t kind)
{
    switch (kind) {
    case PROTO_SUCCESSION_ROTATION: return "rotation";
    case PROTO_SUCCESSION_RECOVERY: return "recovery";
    default: return "?";
    }
}

/* The fields' own rules, independent of the signatures. */
static int check_fields(const struct proto_succession *s)
{
    if (s->kind != PROTO_SUCCESSION_ROTATION && s->kind != PROTO_SUCCESSION_RECOVERY)
        return SUCCESSION_E_KIND;
    const bool auth_is_old = memcmp(s->authority, s->old_key, LIMIT_KEY_BYTES) == 0;
    if (s->time_ms == 0 || memcmp(s->old_key, s->new_key, LIMIT_KEY_BYTES) == 0 ||
        memcmp(s->new_key, s->authority, LIMIT_KEY_BYTES) == 0 ||
        auth_is_old != (s->kind == PROTO_SUCCESSION_ROTATION))
        return SUCCESSION_E_RANGE;
    return SUCCESSION_OK;
}

/* The signed message: context || 0x00 || body. */
static void message(uint8_t msg[MSG_BYTES], const uint8_t body[PROTO_SUCCESSION_BODY_BYTES])
{
    memcpy(msg, PROTO_SUCCESSION_SIG_CONTEXT, CTX_LEN);
    memcpy(msg + CTX_LEN, body, PROTO_SUCCESSION_BODY_BYTES);
}

int proto_succession_sign(struct proto_succession *s, const uint8_t authority_sk[64],
                          const uint8_t new_sk[64])
{
    assert(s != NULL && authority_sk != NULL && new_sk != NULL);
    int rc = check_fields(s);
    if (rc != SUCCESSION_OK)
        return rc;
    uint8_t *b = s->bytes;
    b[OFF_VERSION] = PROTO_SUCCESSION_VERSION;
    b[OFF_KIND] = s->kind;
    for (int i = 0; i < 8; i++)
        b[OFF_TIME + i] = (uint8_t)(s->time_ms >> (56 - 8 * i));
    memcpy(b + OFF_OLD, s->old_key, LIMIT_KEY_BYTES);
    memcpy(b + OFF_NEW, s->new_key, LIMIT_KEY_BYTES);
    memcpy(b + OFF_AUTH, s->authority, LIMIT_KEY_BYTES);
    uint8_t msg[MSG_BYTES];
    message(msg, b);
    crypto_sign_detached(b + OFF_SIG_AUTH, NULL, msg, sizeof msg, authority_sk);
    crypto_sign_detached(b + OFF_SIG_NEW, NULL, msg, sizeof msg, new_sk);
    return SUCCESSION_OK;
}

int proto_succession_decode(const uint8_t *bytes, size_t len, uint64_t now_ms,
                            struct proto_succession *out)
{
    assert(out != NULL && (bytes != NULL || len == 0));
    if (len != LIMIT_SUCCESSION_BYTES)
        return SUCCESSION_E_LENGTH;
    if (bytes[OFF_VERSION] != PROTO_SUCCESSION_VERSION)
        return SUCCESSION_E_VERSION;
    struct proto_succession s = {.kind = bytes[OFF_KIND]};
    for (int i = 0; i < 8; i++)
        s.time_ms = s.time_ms << 8 | bytes[OFF_TIME + i];
    memcpy(s.old_key, bytes + OFF_OLD, LIMIT_KEY_BYTES);
    memcpy(s.new_key, bytes + OFF_NEW, LIMIT_KEY_BYTES);
    memcpy(s.authority, bytes + OFF_AUTH, LIMIT_KEY_BYTES);
    int rc = check_fields(&s);
    if (rc != SUCCESSION_OK)
        return rc;
    if (s.time_ms > now_ms + LIMIT_CLOCK_SKEW_MS)
        return SUCCESSION_E_FUTURE;
    uint8_t msg[MSG_BYTES];
    message(msg, bytes);
    if (crypto_sign_verify_detached(bytes + OFF_SIG_AUTH, msg, sizeof msg, s.authority) != 0)
        return SUCCESSION_E_SIG_AUTH;
    if (crypto_sign_verify_detached(bytes + OFF_SIG_NEW, msg, sizeof msg, s.new_key) != 0)
        return SUCCESSION_E_SIG_NEW;
    memcpy(s.bytes, bytes, LIMIT_SUCCESSION_BYTES);
    *out = s;
    return SUCCESSION_OK;
}
