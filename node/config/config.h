/* config.h - the node configuration file (docs/CONFIG.md is the user reference).
 *
 * A WireGuard-style INI file: one [Node] section, any number of [Peer] sections, an optional
 * [HTTP] section (the TAXII/metrics server) and any number of [Client] sections (HTTP
 * credentials; their secrets are wiped by config_free). Keys are
 * case-insensitive, values are trimmed, '#' and ';' start a comment anywhere on a line (so no
 * value can contain them). Parsed with inih through our own line reader, which knows the line
 * number of every setting and every [Peer] header (Debian builds inih without
 * INI_HANDLER_LINENO).
 *
 * config_load() reports every problem it finds, not just the first, each as one line
 * "FILE:LINE: message" (or "FILE: message" for the file as a whole), like a compiler.
 *
 * The editing functions (config_write_initial, config_peer_add, config_peer_remove) change the
 * file's text, keep every other byte as it was, validate the result with the same parser, and
 * replace the file atomically (crypto/atomicfile.h: temporary file, fsync, rename). They never
 * leave an invalid config behind. Two editors running at once are not serialised: the last
 * rename wins.
 *
 * Ownership: struct config is caller-owned; config_load() fills it and allocates the peer array;
 * config_free() releases it (safe on a zeroed, failed or freed config). struct config_diag is a
 * plain caller-owned value with fixed storage.
 */
#ifndef TLPMESH_NODE_CONFIG_H
#define TLPMESH_NODE_CONFIG_H

#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "proto/errors.h"
#include "proto/limits.h"
#include "proto/tlp.h"

/* Error codes: X(name, value, message), range ERRORS_BASE_CONFIG in proto/errors.h; the
 * comments say when each happens. */
#define CONFIG_ERRORS(X)                                                                           \
    /* cannot open, read or write a file (the message says which) */                               \
    X(CONFIG_E_IO, ERRORS_BASE_CONFIG - 0, "cannot read or write the config file")                 \
    /* the config (or the edited result) has problems; see diag / err */                           \
    X(CONFIG_E_INVALID, ERRORS_BASE_CONFIG - 1, "invalid config")                                  \
    /* write_initial: file exists; peer_add: key already configured */                             \
    X(CONFIG_E_EXISTS, ERRORS_BASE_CONFIG - 2, "already exists")                                   \
    /* peer_remove: no [Peer] with that key */                                                     \
    X(CONFIG_E_NOTFOUND, ERRORS_BASE_CONFIG - 3, "no such peer")                                   \
    X(CONFIG_E_NOMEM, ERRORS_BASE_CONFIG - 4, "out of memory")

enum config_err {
    CONFIG_OK = 0,
    CONFIG_ERRORS(ERRORS_ENUM)
};

const char *config_strerror(int err);

/* A peer's ceiling when its [Peer] has no MaxTLP. AMBER: what partners routinely exchange.
 * AMBER+STRICT and RED only cross a link whose operator raised the ceiling on purpose. */
#define CONFIG_DEFAULT_MAX_TLP PROTO_TLP_AMBER

enum config_relation {
    CONFIG_RELATION_PARTNER = 0, /* another organisation we exchange with (default) */
    CONFIG_RELATION_CLIENT = 1,  /* a constituent of our organisation: may get AMBER we are in */
};

/* "partner" / "client". */
const char *config_relation_name(enum config_relation relation);

struct config_endpoint {
    char host[LIMIT_CONFIG_HOST_BYTES + 1]; /* DNS name, IPv4 or IPv6 literal (no brackets) */
    uint16_t port;                          /* 1..65535 */
};

struct config_peer {
    uint8_t key[LIMIT_KEY_BYTES];           /* Ed25519 identity */
    char key_b64[LIMIT_PUBKEY_B64_LEN + 1]; /* as written in the file */
    bool has_endpoint;                      /* false: the peer only dials us */
    struct config_endpoint endpoint;
    char organisation[LIMIT_NAME_BYTES + 1]; /* "" when not configured */
    /* n_communities names (at most LIMIT_PEER_COMMUNITIES), owned (config_free), NULL when
     * none: most peers name none, and the 16 names inline were 1 KiB of every [Peer] (of a
     * hub's thousands, of each of simnet's nodes' neighbours). */
    char (*communities)[LIMIT_NAME_BYTES + 1];
    size_t n_communities;
    int max_tlp;      /* enum proto_tlp; CONFIG_DEFAULT_MAX_TLP if unset */
    int max_tlp_line; /* line of its MaxTLP; 0 when unset (tlpmesh explain names it) */
    enum config_relation relation;
    bool has_recovery_key;                  /* RecoveryKey given */
    uint8_t recovery_key[LIMIT_KEY_BYTES];  /* may sign a recovery succession (PROTOCOL.md) */
    char name[LIMIT_NAME_BYTES + 1]; /* label for logs; "" when not configured */
    int line;                        /* line of its [Peer] header */
    int key_line;                    /* line of its PublicKey; 0 before it */
    int last_line;                   /* line of its last setting */
};

/* How an HTTP client presents its secret (docs/CONFIG.md "[Client]"). */
enum config_http_scheme {
    CONFIG_SCHEME_BASIC = 0,  /* Authorization: Basic base64(Name:Secret) */
    CONFIG_SCHEME_BEARER = 1, /* Authorization: Bearer Secret (or Token Secret) */
    CONFIG_SCHEME_TOKEN = 2,  /* Authorization: Token Secret (or Bearer Secret) */
};

/* "basic" / "bearer" / "token". */
const char *config_scheme_name(enum config_http_scheme scheme);

/* What a [Client] may do in the web console (node/console/console.h). */
enum config_console {
    CONFIG_CONSOLE_NONE = 0,      /* default: no console sign-in */
    CONFIG_CONSOLE_READER = 1,    /* search, records, peers, activity */
    CONFIG_CONSOLE_PUBLISHER = 2, /* also publish and revoke this node's records */
};

/* A TAXII reader's credential: the gate sees it as an authenticated reader of organisation
 * `organisation` with this relation, ceiling and communities (node/formats/taxii.h). */
struct config_client {
    char name[LIMIT_NAME_BYTES + 1];         /* Basic user name; label in logs */
    char organisation[LIMIT_NAME_BYTES + 1];
    char secret[LIMIT_HTTP_SECRET_BYTES + 1]; /* Secret, or the first line of SecretFile */
    enum config_http_scheme scheme;
    int max_tlp;                              /* enum proto_tlp, <= AMBER+STRICT; default AMBER */
    int max_tlp_line;                         /* line of its MaxTLP; 0 when unset */
    enum config_relation relation;
    char communities[LIMIT_PEER_COMMUNITIES][LIMIT_NAME_BYTES + 1];
    size_t n_communities;
    enum config_console console; /* Console = reader | publisher */
    int line; /* line of its [Client] header */
};

/* The [HTTP] section. */
struct config_http {
    bool enabled;                  /* Listen given */
    struct config_endpoint listen; /* TAXII, /healthz, /metrics (authenticated) */
    bool has_metrics_listen;       /* MetricsListen given */
    struct config_endpoint metrics_listen; /* /metrics and /healthz only, no authentication */
    bool anonymous;                /* Anonymous = yes: readers without credentials see CLEAR */
    uint32_t max_page_size;        /* MaxPageSize, 1..LIMIT_TAXII_PAGE_MAX */
    bool secure_cookie;            /* SecureCookie = yes: the console's cookies are Secure */
};

struct config {
    char path[LIMIT_PATH_BYTES];     /* the config file, as given */
    char dir[LIMIT_PATH_BYTES];      /* absolute directory of the config file */
    char key_file[LIMIT_PATH_BYTES]; /* resolved (absolute) paths */
    char data_dir[LIMIT_PATH_BYTES];
    char control_path[LIMIT_PATH_BYTES]; /* Control, or DATA_DIR/control.sock */
    bool has_listen;                     /* false: this node does not listen */
    struct config_endpoint listen;
    char network[LIMIT_NAME_BYTES + 1];
    char organisation[LIMIT_NAME_BYTES + 1];
    uint8_t roster_owners[LIMIT_TRUSTED_ROSTER_OWNERS][LIMIT_KEY_BYTES];
    size_t n_roster_owners;
    struct config_peer *peers; /* n_peers entries, owned */
    size_t n_peers;
    char log_file[LIMIT_PATH_BYTES]; /* [Node] LogFile, resolved; "" = stderr */
    int log_format;                  /* [Node] LogFormat: 0 text (default), 1 json (log.h) */
    uint32_t store_map_mb; /* [Node] StoreMapInitialMB; 0 = LIMIT_STORE_MAPSIZE_INITIAL_MB */
    uint64_t key_grace_ms; /* [Node] KeyGraceSeconds in ms; 0 = LIMIT_KEY_GRACE_MS */
    struct config_http http;
    struct config_client *clients;   /* n_clients entries, owned; secrets wiped on free */
    size_t n_clients;
};

struct config_diag {
    size_t count;   /* lines kept below */
    size_t dropped; /* problems beyond LIMIT_CONFIG_DIAGS, counted only */
    char lines[LIMIT_CONFIG_DIAGS][LIMIT_CONFIG_DIAG_BYTES];
};

void config_init(struct config *cfg);
void config_free(struct config *cfg);

/* Reads and validates path. *out must be initialised (config_init) or hold an earlier load,
 * which is freed first; *diag is cleared and gets every
 * problem. Returns CONFIG_OK, CONFIG_E_IO (cannot open/read: one diag line says why),
 * CONFIG_E_INVALID or CONFIG_E_NOMEM. Relative paths in the file are resolved against the
 * directory of path. The key file is read only to refuse a [Peer] whose PublicKey is this node's
 * own (a node that dials itself); when it cannot be read that check is skipped and the key is
 * the caller's to load (crypto/keys.h). The same check runs for the editors and reloads. */
int config_load(const char *path, struct config *out, struct config_diag *diag);

/* The [Client] with that Name, or NULL. */
const struct config_client *config_find_client(const struct config *cfg, const char *name);

/* The peer with that identity key, or NULL. In the header so that the sans-IO core
 * (node/core/community.c) reads the config model without linking tlp_config. */
static inline const struct config_peer *config_find_peer(const struct config *cfg,
                                                         const uint8_t key[LIMIT_KEY_BYTES])
{
    assert(cfg && key);
    for (size_t i = 0; i < cfg->n_peers; i++)
        if (cfg->peers[i].key_b64[0] && memcmp(cfg->peers[i].key, key, LIMIT_KEY_BYTES) == 0)
            return &cfg->peers[i];
    return NULL;
}

/* Writes every diag line to f, then "N more problems not shown" when some were dropped.
 * Returns the number of problems (count + dropped). */
size_t config_diag_print(const struct config_diag *diag, FILE *f);

/* For `tlpmesh check-config -c FILE`: loads path and prints every problem to f.
 * Returns the number of problems; 0 means the config is valid. */
size_t config_check(const char *path, FILE *f);

/* For `tlpmesh init`: the values of a fresh config. NULL key_file/data_dir mean "node.key" and
 * "data"; NULL listen means no Listen line (the node only dials out). */
struct config_initial {
    const char *organisation;
    const char *network;
    const char *listen;
    const char *key_file;
    const char *data_dir;
};

/* Creates path (O_EXCL, mode 0600) holding a commented config with these values. Never
 * overwrites: CONFIG_E_EXISTS if path exists. Invalid values: CONFIG_E_INVALID, nothing written.
 * On error err gets one line saying what and where. */
int config_write_initial(const char *path, const struct config_initial *init, char *err,
                         size_t err_len);

/* A [Peer] to append. NULL (or zero count) leaves the line out, so the default applies.
 * Values must be single-line and must not contain '#' or ';'. */
struct config_peer_text {
    const char *public_key; /* required */
    const char *endpoint;
    const char *organisation;
    const char *const *communities;
    size_t n_communities;
    const char *max_tlp;
    const char *relation;
    const char *name;
};

/* Appends a [Peer] section (after one blank line) to the config at path. Refuses when the
 * current file is invalid (CONFIG_E_INVALID), when the key is already configured
 * (CONFIG_E_EXISTS) or when the new section is invalid (CONFIG_E_INVALID, message names the
 * setting). The file keeps its mode. */
int config_peer_add(const char *path, const struct config_peer_text *peer, char *err,
                    size_t err_len);

/* Removes the [Peer] section with that key: the lines from its header to its last setting, and
 * the one blank line just before the header if there is one (the separator config_peer_add
 * writes), so that add then remove restores the file byte for byte. Comments above the header
 * and below the last setting stay. CONFIG_E_NOTFOUND if no peer has that key (file unchanged). */
int config_peer_remove(const char *path, const char *public_key_b64, char *err, size_t err_len);
/* Rewrites the PublicKey line of the [Peer] with key old_b64 to new_b64 (a partner's key changed
 * and no succession statement can vouch for it: docs/OPERATIONS.md "Keys that change"); every
 * other byte stays. CONFIG_E_NOTFOUND (no such peer), CONFIG_E_EXISTS (new key configured
 * already) or CONFIG_E_INVALID (a bad key); the file is then unchanged. */
int config_peer_replace_key(const char *path, const char *old_b64, const char *new_b64, char *err,
                            size_t err_len);

#endif
