/* run_keys.c - `tlpmesh run` and keys that change: the statements in the store, the rotated-away
 * key kept for its grace, and what status shows (docs/PROTOCOL.md "Key succession"). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "node/formats/timefmt.h"
#include "node/shell/log.h"
#include "node/shell/run_int.h"

__attribute__((format(printf, 3, 4))) static void say(enum log_level level, const char *event,
                                                      const char *fmt, ...)
{
    char line[LIMIT_PATH_BYTES + 256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    log_event(level, event, line, (const char *)NULL);
}

static uint64_t grace_ms(const struct config *cfg)
{
    return cfg->key_grace_ms ? cfg->key_grace_ms : LIMIT_KEY_GRACE_MS;
}

int run_keys_prev(struct run *r, struct engine_params *ep)
{
    char path[LIMIT_PATH_BYTES + 8], why[LIMIT_PATH_BYTES + 128] = "";
    snprintf(path, sizeof path, "%s%s", r->cfg.key_file, KEYS_PREV_SUFFIX);
    struct stat st;
    if (stat(path, &st) != 0)
        return RUN_OK; /* no rotation under way */
    const uint64_t until = (uint64_t)st.st_mtime * 1000 + grace_ms(&r->cfg), wall = run_unix_ms();
    if (until <= wall) {
        if (unlink(path) == 0)
            say(LOG_INFO, "key_prev_removed",
                      "the key this node rotated away from is past its grace: %s removed", path);
        return RUN_OK;
    }
    if (keys_file_load(path, &r->prev_id, why, sizeof why) != KEYS_OK) {
        fprintf(stderr, "tlpmesh: %s\n", why);
        return RUN_USAGE;
    }
    r->has_prev = true;
    ep->prev_id = &r->prev_id;
    ep->prev_until = run_now(r) + (until - wall);
    return RUN_OK;
}

static int load_one(void *ctx, const uint8_t *bytes, size_t len)
{
    struct run *r = ctx;
    int rc = node_succession_load(&r->node, bytes, len);
    if (rc < 0)
        say(LOG_WARN, "succession_ignored", "a stored key succession is not used: %s",
                  proto_succession_strerror(rc));
    return 0;
}

void run_keys_load(struct run *r)
{
    int rc = store_successions_each(r->store, load_one, r);
    if (rc < 0)
        say(LOG_WARN, "succession_store", "cannot read the key successions: %s",
                  store_strerror(rc));
}

void run_keys_stored(void *ctx, const struct succession_table *t,
                     const struct proto_succession *accepted,
                     const struct succession_dropped *dropped)
{
    struct run *r = ctx;
    static uint8_t stmts[LIMIT_SUCCESSIONS][LIMIT_SUCCESSION_BYTES]; /* loop thread only */
    struct store_distrust d[2 * LIMIT_SUCCESSION_CHAIN + 1];
    size_t nd = 0;
    for (size_t i = 0; i < t->n; i++)
        memcpy(stmts[i], t->e[i].bytes, LIMIT_SUCCESSION_BYTES);
    for (size_t i = 0; i < dropped->n; i++)
        d[nd++] = (struct store_distrust){.since_ms = 0};
    for (size_t i = 0; i < dropped->n; i++)
        memcpy(d[i].origin, dropped->keys[i], LIMIT_KEY_BYTES);
    if (accepted->kind == PROTO_SUCCESSION_RECOVERY) {
        /* The stolen key and every key before it in the chain: a thief with the machine holds
         * the one a recent rotation left in its grace too. */
        const uint8_t *key = accepted->old_key;
        for (size_t i = 0; key != NULL && i <= LIMIT_SUCCESSION_CHAIN; i++) {
            d[nd] = (struct store_distrust){.since_ms = accepted->time_ms};
            memcpy(d[nd++].origin, key, LIMIT_KEY_BYTES);
            const struct proto_succession *before = succession_to(t, key);
            key = before != NULL ? before->old_key : NULL;
        }
    }
    int rc = store_successions_replace(r->store, stmts, t->n, d, nd);
    if (rc < 0) /* in memory it holds until the restart, which reads the store again */
        say(LOG_WARN, "succession_store", "cannot store a key succession: %s",
                  store_strerror(rc));
}

json_t *run_keys_peer_json(const struct run *r, const uint8_t key[LIMIT_KEY_BYTES])
{
    const struct proto_succession *s = succession_to(r->node.succ, key);
    if (s == NULL)
        return json_null();
    char old[LIMIT_PUBKEY_B64_LEN + 1], cfgkey[LIMIT_PUBKEY_B64_LEN + 1];
    keys_pubkey_to_b64(s->old_key, old);
    const struct config_peer *p = succession_peer(r->node.succ, &r->cfg, key);
    keys_pubkey_to_b64(p != NULL ? p->key : s->old_key, cfgkey);
    char at[TIMEFMT_RFC3339_LEN + 1];
    timefmt_format(s->time_ms, at);
    return json_pack("{s:s, s:s, s:s, s:I, s:s}", "kind", proto_succession_kind_name(s->kind),
                     "configured_key", cfgkey, "previous_key", old, "at",
                     (json_int_t)s->time_ms, "at_text", at);
}
