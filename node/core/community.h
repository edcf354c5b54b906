/* community.h - who is in which community: rosters, trust, and the gate's membership lists
 * (docs/PROTOCOL.md "Roster", docs/SHARING.md "Words").
 *
 * A community is defined by roster records (kind 4): an owner (the roster's origin) lists member
 * node keys with their organisations. A node counts a roster only when its owner is trusted: the
 * node itself, or a key the config names with TrustRosterOwner. Per (owner, name) one roster
 * counts: the highest complete version (a version may be split into chunks, each a signed record;
 * until all are stored and agree the previous complete version stays in force); of two different
 * rosters with the same owner, name and version, the one with the smaller (chunk 0) id (a
 * deterministic choice every node makes alike; logged as a conflict, since an honest owner never
 * signs two). A roster its owner revoked still holds its version but grants no membership: a
 * revocation never brings back members an older version listed. Community names are one namespace:
 * trusted owners that define the same name all contribute members.
 *
 * A node's communities = the Community lines its [Peer] section declares (for a peer) united with
 * the trusted rosters that list its key. With no roster and no Community line a node is in no
 * named community; the default audience (the whole network) still reaches it, see gate.h.
 *
 * Fail closed: a membership over LIMIT_GATE_MEMBERSHIPS is cut (fewer grounds to send, never
 * more) and reported; an unknown key is in no community and of unknown organisation.
 *
 * Ownership: struct community_table is caller-owned: community_table_init, then
 * community_table_build (which may be called again to rebuild), community_table_free. The table
 * owns its roster array and member arrays; lookups return pointers into it, valid until the next
 * build or free. No function keeps a pointer to its arguments. No clock, no I/O beyond the store
 * reads of community_table_build.
 */
#ifndef TLPMESH_NODE_COMMUNITY_H
#define TLPMESH_NODE_COMMUNITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "node/config/config.h"
#include "node/core/gate.h"
#include "proto/errors.h"
#include "proto/limits.h"
#include "proto/record.h"
#include "store/store.h"

/* Error codes: X(name, value, message), range ERRORS_BASE_COMMUNITY in proto/errors.h; the
 * comments say when each happens. */
#define COMMUNITY_ERRORS(X)                                                                        \
    X(COMMUNITY_E_NOMEM, ERRORS_BASE_COMMUNITY - 0, "out of memory")                               \
    /* the store failed (store_err in the table's last_store_err) */                               \
    X(COMMUNITY_E_STORE, ERRORS_BASE_COMMUNITY - 1, "store error while reading rosters")           \
    X(COMMUNITY_E_CORRUPT, ERRORS_BASE_COMMUNITY - 2, "a stored roster does not decode")           \
    /* more memberships than LIMIT_GATE_MEMBERSHIPS: list was cut */                               \
    X(COMMUNITY_E_TOOMANY, ERRORS_BASE_COMMUNITY - 3,                                              \
      "more community memberships than LIMIT_GATE_MEMBERSHIPS")                                    \
    /* the trusted owners' stored roster records (all versions, all chunks) are too many */        \
    X(COMMUNITY_E_RECORDS, ERRORS_BASE_COMMUNITY - 4,                                              \
      "more stored roster records than LIMIT_COMMUNITY_RECORDS")

enum community_err {
    COMMUNITY_OK = 0,
    COMMUNITY_ERRORS(ERRORS_ENUM)
};

const char *community_strerror(int err);

/* The roster that counts for one (owner, name): the highest version whose chunks are all stored
 * and hold together (docs/PROTOCOL.md "Chunked rosters"); id is its chunk 0's. */
struct community_roster {
    uint8_t id[LIMIT_ID_BYTES];
    uint8_t owner[LIMIT_KEY_BYTES];
    char name[LIMIT_NAME_BYTES + 1];
    uint64_t version;
    uint8_t tlp;     /* the roster record's own TLP */
    bool trusted;    /* owner is this node or a TrustRosterOwner */
    bool conflict;   /* a different roster with the same owner, name and version was set aside */
    bool revoked;    /* its owner revoked it: it lists no members (fail closed; the owner
                        signs a higher version to define the community again) */
    uint16_t n_chunks;                   /* records of this version (1: a whole roster) */
    size_t n_members;                    /* <= LIMIT_COMMUNITY_MEMBERS */
    struct proto_roster_member *members; /* n_members, sorted by key; owned by the table */
};

struct community_table {
    uint8_t self[LIMIT_KEY_BYTES];
    struct community_roster *rosters; /* n_rosters, sorted by (owner, name) */
    size_t n_rosters;
    size_t n_conflicts; /* equal-version conflicts resolved by the smaller id */
    size_t n_dropped;   /* (owner, name) pairs beyond LIMIT_COMMUNITY_ROSTERS, ignored */
    char (*self_pending)[LIMIT_NAME_BYTES + 1]; /* n_self_pending names: see community_fill_self */
    size_t n_self_pending;
    int last_store_err; /* the store_err behind COMMUNITY_E_STORE */
};

/* One line for the operator's log ("community: ..."); ctx is the caller's. */
typedef void (*community_log_fn)(void *ctx, const char *line);

void community_table_init(struct community_table *t);
void community_table_free(struct community_table *t);

/* Rebuilds t from the rosters in the store. include_untrusted also keeps the rosters of owners
 * the config does not trust (marked trusted = false; for `community show`), which never count
 * for membership; without it only trusted owners' rosters are read, so that a flood of
 * untrusted rosters cannot crowd out the trusted ones. log (may be NULL) gets each conflict and
 * drop. On error t is left empty. */
int community_table_build(struct community_table *t, struct store *s, const struct config *cfg,
                          const uint8_t self_key[LIMIT_KEY_BYTES], bool include_untrusted,
                          community_log_fn log, void *log_ctx);

/* The roster of (owner, name), or NULL. */
const struct community_roster *community_find(const struct community_table *t,
                                              const uint8_t owner[LIMIT_KEY_BYTES],
                                              const char *name);

/* The communities whose trusted rosters list key, sorted, unique: writes the first cap names to
 * out and returns how many there are (may exceed cap). */
size_t community_of_key(const struct community_table *t, const uint8_t key[LIMIT_KEY_BYTES],
                        char out[][LIMIT_NAME_BYTES + 1], size_t cap);

/* The organisation of key: this node's own (config Organisation) for self_key, else the
 * Organisation of its [Peer], else the organisation the first trusted roster (by owner, name)
 * lists for it; "" when unknown. For display only (sightings): the gate takes a peer's
 * organisation from the config alone. Static or table storage. */
const char *community_org_of_key(const struct community_table *t, const struct config *cfg,
                                 const uint8_t key[LIMIT_KEY_BYTES]);

/* Fills the gate's view of this node: key, organisation, roster memberships. This node also
 * counts itself a member of a community when a trusted owner's newer version, not complete yet,
 * has a stored chunk that lists it: the owner signed that it is one, and without it the inbound
 * gate would refuse the version's other chunks (they do not list it) and the version would never
 * complete. Peers count by complete versions only (community_fill_peer).
 * COMMUNITY_OK, or COMMUNITY_E_TOOMANY with the list cut to LIMIT_GATE_MEMBERSHIPS names. */
int community_fill_self(const struct community_table *t, const struct config *cfg,
                        struct gate_self *n);

/* community_table_build (trusted rosters only) and community_fill_self in one, with a list cut
 * at LIMIT_GATE_MEMBERSHIPS taken as is (fewer grounds to share, never more): the view of this
 * node a server builds per request, as rosters may arrive at any time. COMMUNITY_OK or an
 * error of the build. */
int community_self_view(struct store *s, const struct config *cfg,
                        const uint8_t self_key[LIMIT_KEY_BYTES], struct gate_self *n);

/* Fills the gate's view of the node with key: organisation from its [Peer] only (a roster's
 * member organisation is for display: it never puts a node in ours), relation and
 * ceiling from its [Peer] (an unconfigured key: partner, ceiling CLEAR; callers gating an export
 * set their own ceiling), communities = its [Peer] Community lines united with its trusted roster
 * memberships. authenticated as the caller established it.
 * COMMUNITY_OK, or COMMUNITY_E_TOOMANY with the list cut to LIMIT_GATE_MEMBERSHIPS names. */
int community_fill_peer(const struct community_table *t, const struct config *cfg,
                        const uint8_t key[LIMIT_KEY_BYTES], bool authenticated,
                        struct gate_peer *p);

#endif
