/* cli_ids.c - record ids on the command line: 64 hex digits, or a unique prefix of at least
 * LIMIT_ID_PREFIX_MIN_HEX (list and query print LIMIT_ID_SHORT_HEX), resolved against the store. */
#include <ctype.h>
#include <string.h>

#include <sodium.h>

#include "node/cli/cli.h"

struct prefix_match {
    char want[2 * LIMIT_ID_BYTES + 1]; /* lower-case hex as typed */
    size_t want_len;
    size_t n;
    uint8_t ids[LIMIT_ID_CANDIDATES_LISTED][LIMIT_ID_BYTES]; /* the first ones, in id order */
};

/* The store matches whole bytes; an odd last digit is compared here. */
static int prefix_cb(const uint8_t id[LIMIT_ID_BYTES], const uint8_t *signed_rec, size_t len,
                     uint64_t seq, void *ctx)
{
    (void)signed_rec, (void)len, (void)seq;
    struct prefix_match *m = ctx;
    char hex[2 * LIMIT_ID_BYTES + 1];
    cli_id_hex(id, hex);
    if (strncmp(hex, m->want, m->want_len) != 0)
        return 0;
    if (m->n < LIMIT_ID_CANDIDATES_LISTED)
        memcpy(m->ids[m->n], id, LIMIT_ID_BYTES);
    m->n++;
    return 0;
}

bool cli_id_text_ok(const char *text)
{
    const size_t len = strlen(text);
    return len >= LIMIT_ID_PREFIX_MIN_HEX && len <= 2 * LIMIT_ID_BYTES &&
           strspn(text, "0123456789abcdefABCDEF") == len;
}

/* "ab12cd34ef567890, ab12cd34ef5678ff (and 3 more)": the candidates an ambiguous prefix names,
 * each as long as it takes to tell it from the prefix typed (at least the short form). */
static void list_candidates(const struct prefix_match *m, char *out, size_t cap)
{
    const int width = m->want_len < LIMIT_ID_SHORT_HEX ? LIMIT_ID_SHORT_HEX : 2 * LIMIT_ID_BYTES;
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < m->n && i < LIMIT_ID_CANDIDATES_LISTED && used < cap; i++) {
        char hex[2 * LIMIT_ID_BYTES + 1];
        cli_id_hex(m->ids[i], hex);
        used += (size_t)snprintf(out + used, cap - used, "%s%.*s", i ? ", " : "", width, hex);
    }
    if (m->n > LIMIT_ID_CANDIDATES_LISTED && used < cap)
        snprintf(out + used, cap - used, " (and %zu more)", m->n - LIMIT_ID_CANDIDATES_LISTED);
}

int cli_resolve_id(const char *cmd, struct store *st, const char *text,
                   uint8_t id[LIMIT_ID_BYTES])
{
    if (!cli_id_text_ok(text)) {
        cli_error(cmd, "'%s' is not a record id (64 hex digits, or a unique prefix of at least "
                       "%d)",
                  text, LIMIT_ID_PREFIX_MIN_HEX);
        return CLI_USAGE;
    }
    struct prefix_match m = {.want_len = strlen(text)};
    for (size_t i = 0; i < m.want_len; i++)
        m.want[i] = (char)tolower((unsigned char)text[i]);
    uint8_t prefix[LIMIT_ID_BYTES];
    size_t n = 0;
    const int hrc = sodium_hex2bin(prefix, sizeof prefix, m.want, m.want_len & ~(size_t)1, NULL,
                                   &n, NULL);
    const int rc = hrc == 0 ? store_find_prefix(st, prefix, n, prefix_cb, &m) : STORE_E_INVAL;
    if (rc < 0) {
        cli_error(cmd, "looking up %s: %s", text, store_strerror(rc));
        return CLI_FAIL;
    }
    if (m.n == 0) {
        cli_error(cmd, "no record %s", text);
        return CLI_FAIL;
    }
    if (m.n > 1) {
        char list[LIMIT_ID_CANDIDATES_LISTED * (2 * LIMIT_ID_BYTES + 2) + 32];
        list_candidates(&m, list, sizeof list);
        cli_error(cmd, "id prefix %s matches %zu records: %s; give more digits", text, m.n, list);
        return CLI_FAIL;
    }
    memcpy(id, m.ids[0], LIMIT_ID_BYTES);
    return CLI_OK;
}
