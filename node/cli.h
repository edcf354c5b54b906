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

#include "crypto/keys.h"
#include "node/config.h"
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

/* Prints "tlpmesh CMD: message\n" to stderr. */
void cli_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

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

/* Record ids are 64 lower-case hex digits on the command line. */
bool cli_parse_id(const char *hex, uint8_t id[LIMIT_ID_BYTES]);
void cli_id_hex(const uint8_t id[LIMIT_ID_BYTES], char out[2 * LIMIT_ID_BYTES + 1]);

/* Tells a running node (if any) that the store has new records of ours to send. Best effort:
 * a node that is not running picks them up when it starts. */
void cli_notify_node(const struct config *cfg);

/* Asks a running node (if any) to re-read its config; says on stdout whether it did. */
void cli_reload_node(const char *cmd, const char *conf_path);

int cli_keygen(int argc, char **argv);
int cli_pubkey(int argc, char **argv);
int cli_init(int argc, char **argv);
int cli_check_config(int argc, char **argv);
int cli_publish(int argc, char **argv);
int cli_query(int argc, char **argv);
int cli_show(int argc, char **argv);
int cli_list(int argc, char **argv);
int cli_revoke(int argc, char **argv);
int cli_run(int argc, char **argv);
int cli_status(int argc, char **argv);
int cli_peer(int argc, char **argv);

#endif
