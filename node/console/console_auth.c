/* console_auth.c - the console's tokens, sessions and sign-in limit (console.h): pure, the
 * caller passes now and the random bytes. */
#include <assert.h>
#include <string.h>

#include <sodium.h>

#include "node/console/console.h"

/* Here, with the pure parts, so that tests link it without the console's pages. */
const char *console_strerror(int err)
{
    switch (err) {
    case CONSOLE_OK: return "success";
    CONSOLE_ERRORS(ERRORS_CASE)
    default: return "unknown console error";
    }
}


void console_csrf(const uint8_t secret[LIMIT_CONSOLE_TOKEN_BYTES], const char *purpose,
                  const char *token, char out[CONSOLE_TOKEN_HEX + 1])
{
    uint8_t mac[LIMIT_CONSOLE_TOKEN_BYTES];
    crypto_generichash_state st;
    crypto_generichash_init(&st, secret, LIMIT_CONSOLE_TOKEN_BYTES, sizeof mac);
    crypto_generichash_update(&st, (const uint8_t *)purpose, strlen(purpose) + 1);
    crypto_generichash_update(&st, (const uint8_t *)token, strlen(token));
    crypto_generichash_final(&st, mac, sizeof mac);
    sodium_bin2hex(out, CONSOLE_TOKEN_HEX + 1, mac, sizeof mac);
}

bool console_csrf_ok(const uint8_t secret[LIMIT_CONSOLE_TOKEN_BYTES], const char *purpose,
                     const char *token, const char *given)
{
    if (!token || !given || strlen(given) != CONSOLE_TOKEN_HEX)
        return false;
    char want[CONSOLE_TOKEN_HEX + 1];
    console_csrf(secret, purpose, token, want);
    return sodium_memcmp(want, given, CONSOLE_TOKEN_HEX) == 0;
}

/* ---- sessions ---- */

static bool expired(const struct console_session *s, uint64_t now_ms)
{
    return now_ms - s->used_ms > (uint64_t)LIMIT_CONSOLE_SESSION_IDLE_S * 1000 ||
           now_ms - s->created_ms > (uint64_t)LIMIT_CONSOLE_SESSION_MAX_S * 1000 ||
           now_ms < s->created_ms;
}

void console_session_new(struct console_sessions *t, const uint8_t token[LIMIT_CONSOLE_TOKEN_BYTES],
                         const char *client, uint64_t now_ms, char hex[CONSOLE_TOKEN_HEX + 1])
{
    struct console_session *pick = &t->s[0];
    for (size_t i = 0; i < LIMIT_CONSOLE_SESSIONS; i++) {
        struct console_session *s = &t->s[i];
        if (!s->used || expired(s, now_ms)) {
            pick = s;
            break;
        }
        if (s->used_ms < pick->used_ms)
            pick = s;
    }
    console_session_end(pick);
    pick->used = true;
    memcpy(pick->token, token, LIMIT_CONSOLE_TOKEN_BYTES);
    snprintf(pick->client, sizeof pick->client, "%s", client);
    pick->created_ms = pick->used_ms = now_ms;
    sodium_bin2hex(hex, CONSOLE_TOKEN_HEX + 1, token, LIMIT_CONSOLE_TOKEN_BYTES);
}

struct console_session *console_session_find(struct console_sessions *t, const char *hex,
                                             uint64_t now_ms)
{
    uint8_t token[LIMIT_CONSOLE_TOKEN_BYTES];
    size_t len = 0;
    if (!hex || strlen(hex) != CONSOLE_TOKEN_HEX ||
        sodium_hex2bin(token, sizeof token, hex, CONSOLE_TOKEN_HEX, NULL, &len, NULL) != 0 ||
        len != sizeof token)
        return NULL;
    struct console_session *found = NULL;
    for (size_t i = 0; i < LIMIT_CONSOLE_SESSIONS; i++) /* every slot: timing tells nothing */
        if (sodium_memcmp(t->s[i].token, token, sizeof token) == 0 && t->s[i].used)
            found = &t->s[i];
    if (found && expired(found, now_ms)) {
        console_session_end(found);
        found = NULL;
    }
    if (found)
        found->used_ms = now_ms;
    return found;
}

void console_session_end(struct console_session *s)
{
    sodium_memzero(s, sizeof *s);
}

/* ---- the sign-in limit ---- */

/* The pair's key: addr never holds a line break, so the first one ends it. A name longer than
 * LIMIT_NAME_BYTES is no client's and is counted under its first bytes. */
static void pair_key(const char *addr, const char *user, char key[CONSOLE_SIGNIN_KEY_BYTES])
{
    snprintf(key, CONSOLE_SIGNIN_KEY_BYTES, "%.48s\n%.*s", addr,
             (int)LIMIT_NAME_BYTES, user);
}

static struct console_signin_count *find_key(const struct console_signin_count *t, size_t n,
                                             const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (t[i].fails && strcmp(t[i].key, key) == 0)
            return (struct console_signin_count *)&t[i];
    return NULL;
}

static bool in_window(const struct console_signin_count *a, uint64_t now_ms)
{
    return now_ms >= a->window_ms &&
           now_ms - a->window_ms < (uint64_t)LIMIT_CONSOLE_SIGNIN_WINDOW_S * 1000;
}

static bool below(const struct console_signin_count *t, size_t n, const char *key,
                  uint32_t fails, uint64_t now_ms)
{
    const struct console_signin_count *a = find_key(t, n, key);
    return !a || !in_window(a, now_ms) || a->fails < fails;
}

static void count(struct console_signin_count *t, size_t n, const char *key, uint64_t now_ms)
{
    struct console_signin_count *a = find_key(t, n, key);
    if (!a) { /* a free entry, else the one whose window started first */
        a = &t[0];
        for (size_t i = 0; i < n && a->fails; i++)
            if (!t[i].fails || t[i].window_ms < a->window_ms)
                a = &t[i];
        memset(a, 0, sizeof *a);
        snprintf(a->key, sizeof a->key, "%s", key);
    }
    if (!in_window(a, now_ms)) {
        a->window_ms = now_ms;
        a->fails = 0;
    }
    a->fails++;
}

bool console_signin_allowed(const struct console_signin_limit *l, const char *addr,
                            const char *user, uint64_t now_ms)
{
    char key[CONSOLE_SIGNIN_KEY_BYTES];
    pair_key(addr, user, key);
    return below(l->addrs, LIMIT_CONSOLE_SIGNIN_ADDRS, addr, LIMIT_CONSOLE_SIGNIN_ADDR_FAILS,
                 now_ms) &&
           below(l->names, LIMIT_CONSOLE_SIGNIN_NAMES, key, LIMIT_CONSOLE_SIGNIN_FAILS, now_ms);
}

void console_signin_failed(struct console_signin_limit *l, const char *addr, const char *user,
                           uint64_t now_ms)
{
    char key[CONSOLE_SIGNIN_KEY_BYTES];
    pair_key(addr, user, key);
    count(l->addrs, LIMIT_CONSOLE_SIGNIN_ADDRS, addr, now_ms);
    count(l->names, LIMIT_CONSOLE_SIGNIN_NAMES, key, now_ms);
}
