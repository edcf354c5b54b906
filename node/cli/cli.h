/* cli.h - the tlpmesh command line: one function per command, shared helpers.
 *
 * Every command returns its exit code: CLI_OK (0), CLI_NOTFOUND_OR_RUNTIME (1) for "not found" or a
 * runtime failure, CLI_USAGE (2) for bad arguments or configuration. Errors go to stderr as one
 * line "tlpmesh COMMAND: what was wrong". Commands own everything they open and release it on
 * every path.
 */
#ifndef TLPMESH_NODE_CLI_H
#define TLPMESH_NODE_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "crypto/keys.h"
#include "node/config/config.h"
#include "node/formats/warninglist.h"
#include "store/store.h"

enum cli_exit {
    CLI_OK = 0,
    CLI_FAIL = 1,  /* not found, or a runtime error */
    CLI_USAGE = 2, /* usage or configuration error */
};

struct cli_command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
    const char *usage; /* full help text, with an example */
};

/* The command table (main.c), NULL-terminated by name. */
extern const struct cli_command cli_commands[];

/* Prints "tlpmesh CMD: message\n" to stderr; while a capture is set, keeps the first message
 * (without "tlpmesh CMD: ") in it instead. */
void cli_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Sets (buf) or ends (NULL) the capture of cli_error's messages and of publish's warning lines:
 * the web console reuses the commands' checks inside the running node and shows their words.
 * Not thread-safe: the console captures on the loop thread only. */
void cli_error_capture(char *buf, size_t cap);
bool cli_error_capturing(void);

/* Prints the command's usage to out. */
void cli_usage(const char *cmd, FILE *out);

/* True when argv holds -h/--help anywhere before "--". */
bool cli_wants_help(int argc, char **argv);

/* Reports a getopt_long '?' or ':' result for the word at argv[optind-1]; returns CLI_USAGE. */
int cli_bad_option(const char *cmd, char **argv, int opt);

/* Wall clock in Unix ms: the CLI is the shell, it may read clocks (the core never does). */
uint64_t cli_now_ms(void);

/* What a command needs of its node; cli_open() loads it, cli_close() releases all of it. */
struct cli_node {
    struct config cfg;
    struct keys_identity id; /* valid when has_key */
    bool has_key;
    struct store *store; /* NULL unless a store flag was given */
    /* The running node itself, when the caller is inside it (the web console): control
     * requests go to this function instead of the control socket, which the node's own loop
     * could not answer while it waits. NULL for the commands. */
    json_t *(*control)(void *ctx, const json_t *req);
    void *control_ctx;
};

enum cli_open_flags {
    CLI_OPEN_KEY = 1,      /* load the key file (secrets: wiped by cli_close) */
    CLI_OPEN_STORE_RO = 2, /* open the store read-only (works while the node runs) */
    CLI_OPEN_STORE_RW = 4, /* open the store for writing (creates it) */
};

/* Loads config (and key, store per flags), printing a one-line error on failure.
 * Returns CLI_OK, CLI_USAGE (config or key problem) or CLI_FAIL (store). On failure *n is
 * already released. */
int cli_open(const char *cmd, const char *conf_path, unsigned flags, struct cli_node *n);
void cli_close(struct cli_node *n);

/* Prints o as one compact JSON line on stdout and releases it (NULL: nothing). */
void cli_print_json_line(json_t *o);

/* Appends v to a bounded list of repeated option values; false when it is full. */
bool cli_push(const char **list, size_t *n, size_t cap, const char *v);

/* Reads an indicator value from path ("-": standard input) byte for byte into out[0..cap) with a
 * NUL: a rule file for publish --value-file. cap is the largest value + 2, so that a file one byte
 * too long is seen (and then refused by the type's own limit); a longer file, a NUL byte in it or
 * a read error is refused with one line naming the file. */
int cli_read_value_file(const char *cmd, const char *path, char *out, size_t cap);

/* True when text could name a record: LIMIT_ID_PREFIX_MIN_HEX to 64 hex digits (any case). */
bool cli_id_text_ok(const char *text);

/* The one stored record whose id starts with text (cli_id_text_ok; a full id too). Prints the
 * error: CLI_USAGE (not an id), CLI_FAIL (no such record; a prefix several records share, with
 * the first LIMIT_ID_CANDIDATES_LISTED of them; the store failed). node/cli/cli_ids.c. */
int cli_resolve_id(const char *cmd, struct store *st, const char *text,
                   uint8_t id[LIMIT_ID_BYTES]);
void cli_id_hex(const uint8_t id[LIMIT_ID_BYTES], char out[2 * LIMIT_ID_BYTES + 1]);

/* A stored record, decoded, with what a reader needs to know about it now. */
struct cli_shown {
    uint8_t id[LIMIT_ID_BYTES];
    uint64_t seq;
    struct proto_record rec;
    bool revoked; /* a revocation by the record's own origin is stored */
    bool expired; /* an indicator whose valid_until <= now_ms */
};

/* Decodes a stored signed record (as a store callback hands it) into *out and works out whether
 * it is live at now_ms. PROTO_OK, a negative proto_err, or a negative store_err. */
int cli_load_shown(struct store *st, const uint8_t id[LIMIT_ID_BYTES], const uint8_t *signed_rec,
                   size_t len, uint64_t seq, uint64_t now_ms, struct cli_shown *out);

struct cli_node;
/* Loads one record by id or unique id prefix (cli_resolve_id) into *s; prints the error.
 * CLI_OK, CLI_USAGE or CLI_FAIL. node/cli/cli_records.c. */
int cli_load_by_id(const char *cmd, struct cli_node *n, const char *text, struct cli_shown *s);

/* Default valid-until offset for a new indicator of itype: 30 days for addresses, 365 for hashes
 * and file names, 90 for the rest. */
uint64_t cli_default_validity_ms(int itype);

/* Dedupe for records of ours: 1 and its id when a live indicator from want's origin has the same
 * type, value, TLP and audience; 0 when none; or a negative store_err. */
int cli_find_duplicate(struct store *st, const struct proto_record *want, uint64_t now_ms,
                       uint8_t id[LIMIT_ID_BYTES]);

/* Encodes and signs r with the node key into out (sig || body) and computes its id. Returns the
 * signed length or a negative proto_err. */
int cli_sign_record(const struct keys_identity *ident, const struct proto_record *r,
                    uint8_t out[LIMIT_SIG_BYTES + LIMIT_RECORD_BYTES], uint8_t id[LIMIT_ID_BYTES]);

/* Encodes, signs (cli_sign_record) and commits one record of ours (n opened with the key and
 * the store read-write), tells a running node, and writes its id. Prints the error; returns
 * CLI_OK, CLI_USAGE (the record does not encode) or CLI_FAIL (store). */
int cli_sign_and_store(struct cli_node *n, const char *cmd, const struct proto_record *r,
                       uint8_t id[LIMIT_ID_BYTES]);

/* Fills aud from --community names and --to keys (counts already bounded by the caller);
 * prints the error and returns CLI_USAGE for a bad one. Call proto_record_normalise_sets after. */
int cli_build_audience(const char *cmd, const char *const *communities, size_t n_communities,
                       const char *const *to, size_t n_to, struct proto_audience *aud);

/* Loads the --warninglist files, then DataDir/../warninglists/ *.json if that directory exists.
 * Prints the error and returns CLI_USAGE for a bad list. */
int cli_load_warninglists(const char *cmd, const struct config *cfg, const char *const *files,
                          size_t n_files, struct warninglist_set *set);

/* Tells a running node (if any) that the store has new records of ours to send. Best effort:
 * a node that is not running picks them up when it starts. */
void cli_notify_node(const struct config *cfg);

/* Sends req (stolen) to n's running node: n->control when set, else the control socket. Its
 * answer (new reference), or NULL when no node answers. */
json_t *cli_node_ask(const struct cli_node *n, json_t *req);

/* Sends req (stolen) to the running node's control socket; its answer (new reference), or NULL
 * when no node answers. */
json_t *cli_control_ask(const char *control_path, json_t *req);

/* Asks a running node (if any) to re-read its config; says on stdout whether it did. */
void cli_reload_node(const char *cmd, const char *conf_path);

/* Run as root, gives path the owner and group of like (the file or directory it stands for):
 * a key or store that root's `tlpmesh key rotate` or `restore` writes for a node run by the
 * tlpmesh user must stay readable by that user. As any other user, or when like is missing, it
 * does nothing. 0, or -1 with errno. */
int cli_match_owner(const char *path, const char *like);

int cli_keygen(int argc, char **argv);
int cli_pubkey(int argc, char **argv);
int cli_key(int argc, char **argv);
/* check-config: each [Peer] whose key changed by a stored succession, one line each. */
void cli_key_print_successions(const char *conf_path, FILE *out);
int cli_init(int argc, char **argv);
int cli_check_config(int argc, char **argv);
/* What `tlpmesh publish` and the console's publish form give: text as typed, checked by
 * cli_publish_build. */
struct cli_publish_args {
    const char *conf, *type, *value, *tlp, *valid_until, *confidence, *comment;
    const char *communities[LIMIT_AUDIENCE_COMMUNITIES + 1];
    const char *to[LIMIT_AUDIENCE_RECIPIENTS + 1];
    const char *tags[LIMIT_TAGS + 1];
    const char *warninglists[LIMIT_WARNINGLIST_FILES + 1];
    size_t n_communities, n_to, n_tags, n_warninglists;
    bool json, force;
};

/* Builds the indicator record of a (origin id, created now_ms); every refusal names the argument
 * (cli_error). CLI_OK or CLI_USAGE. node/cli/cli_records.c. */
int cli_publish_build(const struct cli_publish_args *a, const struct keys_identity *id,
                      uint64_t now_ms, struct proto_record *r);

/* The warninglist r's value is on: its name into hit (cap bytes), "" when none. CLI_OK, or
 * CLI_USAGE for a list that does not load (error printed). */
int cli_warninglist_hit(const struct cli_publish_args *a, const struct config *cfg,
                        const struct proto_record *r, char *hit, size_t cap);

/* Stores r (built by cli_publish_build) unless a live duplicate of ours exists: *is_new says
 * which, id is the stored or the duplicate record's. Tells the running node. CLI_OK, CLI_USAGE or
 * CLI_FAIL (error printed). */
int cli_publish_commit(struct cli_node *n, const struct proto_record *r,
                       uint8_t id[LIMIT_ID_BYTES], bool *is_new);

/* Revokes s, an indicator of n's own key, with reason (NULL: none; name is how the error names
 * s), building the revocation in *r; rev_id is the revocation's id (the stored one when s was
 * revoked already). CLI_OK, CLI_USAGE or CLI_FAIL (error printed). */
int cli_revoke_record(struct cli_node *n, const struct cli_shown *s, const char *reason,
                      const char *name, struct proto_record *r, uint8_t rev_id[LIMIT_ID_BYTES]);

/* s as `tlpmesh list --json` shows it, with show's sightings and extra members when not NULL
 * (new reference). */
json_t *cli_shown_json(const struct cli_shown *s, json_t *sightings, json_t *extra);

/* s as `tlpmesh show --json [--explain]` prints it: sightings by organisation, the origin's
 * organisation, the revocation, and with explain the gate's verdict towards every peer and
 * client. New reference, or NULL after the error. */
json_t *cli_show_json(struct cli_node *n, const struct cli_shown *s, bool explain);

int cli_publish(int argc, char **argv);
int cli_query(int argc, char **argv);
int cli_show(int argc, char **argv);
int cli_list(int argc, char **argv);
int cli_revoke(int argc, char **argv);
int cli_run(int argc, char **argv);
int cli_status(int argc, char **argv);
int cli_reload(int argc, char **argv);
int cli_peer(int argc, char **argv);
int cli_export(int argc, char **argv);
int cli_import(int argc, char **argv);
int cli_community(int argc, char **argv);
int cli_sight(int argc, char **argv);
int cli_explain(int argc, char **argv);
int cli_backup(int argc, char **argv);
int cli_restore(int argc, char **argv);
int cli_check_store(int argc, char **argv);

/* The sightings of record id summed per organisation of the sighter (config, trusted rosters,
 * else "unknown (KEY...)"), sorted by organisation: a JSON array of {organisation, reports,
 * count, first_seen, last_seen} (new reference), or NULL after printing the error. */
json_t *cli_sightings_json(const char *cmd, struct cli_node *n, const uint8_t id[LIMIT_ID_BYTES]);
/* The same of only the sightings may(sighting, ctx) allows (the web console: those its
 * signed-in client may read). */
json_t *cli_sightings_json_if(const char *cmd, struct cli_node *n,
                              const uint8_t id[LIMIT_ID_BYTES],
                              bool (*may)(const struct proto_record *sighting, void *ctx),
                              void *ctx);

struct community_table;

/* Builds t (community_table_init'ed by the caller) from the trusted rosters in n's store, as the
 * running node would: what organisation an origin key belongs to, who is in which community.
 * Prints the error; CLI_OK, CLI_USAGE (key) or CLI_FAIL (store). */
int cli_community_table(const char *cmd, struct cli_node *n, struct community_table *t);

/* One "sighting ..." line per element of cli_sightings_json's array, for `show`. */
void cli_sightings_print(const json_t *sightings);

#endif
