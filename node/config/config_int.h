/* config_int.h - what the parts of the config module share; private to node/config/.
 *
 * config.c holds the model (lookups, init/free) and the diagnostics, config_parse.c the line
 * reader that feeds inih, its section bookkeeping and the file reading, config_keys.c the table
 * of keys with one setter per key (and the value checks they use), config_edit.c the editors.
 * A parse runs on one struct config_parse: the parser owns it, setters fill p->cfg through it.
 */
#ifndef TLPMESH_NODE_CONFIG_INT_H
#define TLPMESH_NODE_CONFIG_INT_H

#include <assert.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "node/config/config.h"

#define CONFIG_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#define CONFIG_NOT_A_KEY "is not a public key (base64 of 32 bytes, 44 characters)"

enum config_section {
    CONFIG_SECTION_NONE,
    CONFIG_SECTION_NODE,
    CONFIG_SECTION_PEER,
    CONFIG_SECTION_HTTP,
    CONFIG_SECTION_CLIENT,
    CONFIG_SECTION_SKIP, /* after a duplicate or unknown section header (reported once): its keys
                            are ignored */
};

struct config_parse;
typedef void (*config_setter)(struct config_parse *p, const char *value);

struct config_key_spec {
    const char *name;
    enum config_section section;
    bool required;
    bool repeatable;
    config_setter set;
};

/* Every key of every section (config_keys.c). The declared size makes a table that gained or
 * lost a key fail to compile until CONFIG_N_KEYS follows. */
enum { CONFIG_N_KEYS = 33 };
extern const struct config_key_spec config_key_specs[CONFIG_N_KEYS];

struct config_parse {
    const char *file; /* display name in messages */
    const char *text;
    size_t len, pos;
    int lineno;
    enum config_section section;
    int node_line;    /* line of [Node], 0 before it */
    int http_line;    /* line of [HTTP], 0 before it */
    int control_line; /* line of Control, 0 if absent */
    int *seen;        /* per config_key_specs entry: line where set in this section, 0 if not */
    struct config *cfg;
    struct config_diag *diag;
    mode_t mode; /* of the file: an inline secret needs one only its owner reads */
    bool nomem;
};

/* --- diagnostics (config.c) --- */

/* Adds "FILE:LINE: message" ("FILE: message" for line 0), or counts it as dropped when diag is
 * full. */
__attribute__((format(printf, 4, 0))) void
config_diag_vadd(struct config_diag *diag, const char *file, int line, const char *fmt, va_list ap);
__attribute__((format(printf, 4, 5))) void
config_diag_add(struct config_diag *diag, const char *file, int line, const char *fmt, ...);

/* --- the parser (config_parse.c) --- */

/* A problem at the line being parsed. */
__attribute__((format(printf, 2, 3))) void config_problem(struct config_parse *p, const char *fmt,
                                                          ...);

/* Space, tab or CR: what the reader trims around a line. */
bool config_is_space(char c);

/* The [Peer] or [Client] being parsed. */
static inline struct config_peer *config_current_peer(struct config_parse *p)
{
    assert(p->section == CONFIG_SECTION_PEER && p->cfg->n_peers > 0);
    return &p->cfg->peers[p->cfg->n_peers - 1];
}

static inline struct config_client *config_current_client(struct config_parse *p)
{
    assert(p->section == CONFIG_SECTION_CLIENT && p->cfg->n_clients > 0);
    return &p->cfg->clients[p->cfg->n_clients - 1];
}

/* Parses text (the bytes of file; dir is its absolute directory; mode the file's permission bits)
 * into *out, every problem into diag. CONFIG_OK, CONFIG_E_INVALID or CONFIG_E_NOMEM. */
int config_parse_text(const char *file, const char *dir, const char *text, size_t len, mode_t mode,
                      struct config *out, struct config_diag *diag);

/* The absolute directory of path (which need not exist yet); -1 with errno on failure. */
int config_dir_of(const char *path, char out[LIMIT_PATH_BYTES]);

/* Reads the whole file (at most LIMIT_CONFIG_BYTES) into *text (malloc'd with room to grow to
 * LIMIT_CONFIG_BYTES, NUL-terminated) and its permission bits into *mode; a problem goes to
 * diag. CONFIG_OK, CONFIG_E_IO, CONFIG_E_INVALID (too big) or CONFIG_E_NOMEM. */
int config_read_text(const char *path, char **text, size_t *len, mode_t *mode,
                     struct config_diag *diag);

#endif
