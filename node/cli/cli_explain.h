/* cli_explain.h - "why did (or didn't) this record reach that party?" (tlpmesh explain, show
 * --explain, publish's warnings; docs/SHARING.md "Explain").
 *
 * Every answer comes from the gate itself (gate_check_reason in node/core/gate.h) asked with the
 * views the sending paths build: a peer as community_fill_peer sees it (gossip), a [Client] as
 * the TAXII server sees it (taxii_client_reader), this node's own export as export_receiver sees
 * it. This module only words the gate's reason in the terms of docs/SHARING.md and says where a
 * fact came from (a config line, a roster); it never decides anything itself.
 *
 * Ownership: struct cli_explainer is caller-owned; cli_explainer_open fills it from an opened
 * cli_node (config, store; the key is read for its public half) and cli_explainer_close frees
 * its community table. It keeps a pointer to the cli_node, which must outlive it.
 */
#ifndef TLPMESH_NODE_CLI_EXPLAIN_H
#define TLPMESH_NODE_CLI_EXPLAIN_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "node/cli/cli.h"
#include "node/core/community.h"
#include "node/core/gate.h"

struct cli_explainer {
    struct cli_node *n;
    struct community_table t;
    struct gate_self self;        /* this node as gossip and the TAXII server gate it */
    struct gate_self export_self; /* this node as `tlpmesh export` gates it (key, organisation) */
    uint64_t now_ms;
    json_t *holds; /* the running node's answer to "holds" for holds_id, or NULL (owned) */
    bool holds_asked;
    uint8_t holds_id[LIMIT_ID_BYTES];
};

enum cli_party_kind {
    CLI_PARTY_PEER = 0,   /* a configured [Peer] (gossip) */
    CLI_PARTY_CLIENT = 1, /* a configured [Client] (TAXII reader) */
    CLI_PARTY_EXPORT = 2, /* this node's own exports (tlpmesh export) */
};

/* A receiver and the gate's view of it. */
struct cli_party {
    enum cli_party_kind kind;
    const struct config_peer *peer;     /* CLI_PARTY_PEER, else NULL */
    const struct config_client *client; /* CLI_PARTY_CLIENT, else NULL */
    bool export_tlp_given;              /* CLI_PARTY_EXPORT: --max-tlp was given */
    char label[LIMIT_NAME_BYTES + 12];  /* Name, else Organisation, else a key prefix */
    struct gate_peer view;
};

/* Prints the error; CLI_OK, CLI_USAGE (key) or CLI_FAIL (store). */
int cli_explainer_open(const char *cmd, struct cli_node *n, struct cli_explainer *x);
void cli_explainer_close(struct cli_explainer *x);

void cli_party_of_peer(struct cli_explainer *x, const struct config_peer *peer,
                       struct cli_party *pt);
void cli_party_of_client(const struct config_client *c, struct cli_party *pt);
/* max_tlp: the export's ceiling (given: from --max-tlp, else the default). */
void cli_party_of_export(struct cli_explainer *x, int max_tlp, bool given, struct cli_party *pt);

/* The gate's verdict and reason for record s (target as for cli_explain_all) towards pt. */
enum gate_verdict cli_explain_party(struct cli_explainer *x, const struct cli_party *pt,
                                    const struct cli_shown *s, const struct proto_record *target,
                                    struct gate_reason *why);

/* why as one sentence ("deny: link ceiling amber < red (MaxTLP in FILE line 14)"). */
void cli_explain_words(const struct cli_explainer *x, const struct cli_party *pt,
                       const struct gate_reason *why, const struct proto_record *r,
                       const struct proto_record *target, char *out, size_t cap);

/* Whether pt is known to hold s already, as a code: "received", "sent", "announced" (what the
 * running node's gossip knows, asked over the control socket once per record), "origin" (the
 * peer is its origin), "not-known" (the node runs and knows nothing), "node-not-running",
 * "unknown" (a client: the TAXII server keeps no record) or "n/a" (an export). Static storage. */
const char *cli_explain_holds(struct cli_explainer *x, const struct cli_party *pt,
                              const struct cli_shown *s);
/* The code of cli_explain_holds in words: "yes (sent to it)", "not known", ... */
const char *cli_explain_holds_words(const char *how);

/* {id, party, name, key?, verdict, rule, ground, by_target, reason, holds ("yes", "not-known",
 * "unknown", "n/a"), holds_how (cli_explain_holds)} (new reference). */
json_t *cli_explain_json(struct cli_explainer *x, const struct cli_party *pt,
                         const struct cli_shown *s, const struct proto_record *target,
                         const struct gate_reason *why);

/* One line per configured peer and client for record s (target: the record a revocation or
 * sighting names, if stored, else NULL): text to stdout, or appended to arr as objects when arr
 * is not NULL. Returns the number of parties the gate allows. */
size_t cli_explain_all(struct cli_explainer *x, const struct cli_shown *s,
                       const struct proto_record *target, json_t *arr);

/* The record a revocation or sighting s names, if stored, into *out; NULL when s has none or N
 * does not hold it. */
const struct proto_record *cli_explain_target(struct cli_explainer *x, const struct cli_shown *s,
                                              struct cli_shown *out);

/* publish: one warning per recipient or community of r that cannot receive it today, each "why"
 * a sentence; to stderr as "tlpmesh publish: warning: ...", and appended to arr (strings) when
 * arr is not NULL. Returns the number of warnings. */
size_t cli_explain_unreachable(struct cli_explainer *x, const struct proto_record *r, json_t *arr);

/* cli_explain_unreachable with an explainer of its own over n. */
size_t cli_publish_warnings(struct cli_node *n, const struct proto_record *r, json_t *arr);

/* show --explain: the gate's verdict towards every configured peer and client, as text to
 * stdout, or as the array "explain" set in extra when extra is not NULL. */
int cli_explain_show(struct cli_node *n, const struct cli_shown *s, json_t *extra);

/* publish's output: the warnings of cli_explain_unreachable, then the id (or with json the
 * object {id, new, warnings}) on stdout. */
void cli_publish_report(struct cli_node *n, const struct proto_record *r, const char *idhex,
                        bool is_new, bool json);

#endif
