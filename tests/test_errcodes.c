/* test_errcodes.c - every module's negative error codes are distinct (review regression test).
 *
 * Callers pass codes up through several layers (engine_strerror also names session codes,
 * cli_records picks store_strerror or proto_strerror by range), so two modules sharing a value
 * print the wrong reason. The switch below does not compile when two codes are equal: a
 * duplicate case label is an error. A module with a new enum adds its codes here.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "crypto/keys.h"
#include "crypto/noise.h"
#include "node/core/community.h"
#include "node/config/config.h"
#include "node/shell/control.h"
#include "node/core/engine.h"
#include "node/formats/export.h"
#include "node/core/gossip.h"
#include "node/shell/http.h"
#include "node/formats/import.h"
#include "node/shell/log.h"
#include "node/core/recon.h"
#include "node/core/session.h"
#include "node/formats/stixmap.h"
#include "node/formats/taxii.h"
#include "node/formats/timefmt.h"
#include "node/formats/warninglist.h"
#include "proto/record.h"
#include "store/store.h"

/* The module a code belongs to; "" for 0 and unknown codes. */
static const char *owner(int err)
{
    switch (err) {
    case PROTO_E_NOSPACE: case PROTO_E_MALFORMED: case PROTO_E_NONCANON: case PROTO_E_FIELD:
    case PROTO_E_RANGE: case PROTO_E_TOOBIG: case PROTO_E_UTF8: case PROTO_E_VALUE:
    case PROTO_E_SIGNATURE: case PROTO_E_FUTURE: case PROTO_E_EXPIRED: case PROTO_E_VERSION:
    case PROTO_E_AUDIENCE:
        return "proto";
    case KEYS_E_EXISTS: case KEYS_E_IO: case KEYS_E_PERM: case KEYS_E_CORRUPT: case KEYS_E_BADKEY:
        return "keys";
    case NOISE_E_STATE: case NOISE_E_SHORT: case NOISE_E_DECRYPT: case NOISE_E_DH:
    case NOISE_E_NOSPACE: case NOISE_E_NONCE:
        return "noise";
    case STORE_E_NOTFOUND: case STORE_E_NOSTORE: case STORE_E_CORRUPT: case STORE_E_MAPFULL:
    case STORE_E_READONLY: case STORE_E_INVAL: case STORE_E_NOSPACE: case STORE_E_IO:
        return "store";
    case CONFIG_E_IO: case CONFIG_E_INVALID: case CONFIG_E_EXISTS: case CONFIG_E_NOTFOUND:
    case CONFIG_E_NOMEM:
        return "config";
    case CONTROL_E_CONNECT: case CONTROL_E_IO: case CONTROL_E_TIMEOUT: case CONTROL_E_PROTOCOL:
    case CONTROL_E_PATH: case CONTROL_E_BUSY: case CONTROL_E_LISTEN:
        return "control";
    case SESSION_E_FRAME: case SESSION_E_FIRST: case SESSION_E_HANDSHAKE: case SESSION_E_AUTH:
    case SESSION_E_UNKNOWN_PEER: case SESSION_E_WRONG_PEER: case SESSION_E_DECRYPT:
    case SESSION_E_MESSAGE: case SESSION_E_VERSION: case SESSION_E_PEER_CLOSED:
    case SESSION_E_NONCE: case SESSION_E_STATE: case SESSION_E_SIZE: case SESSION_E_SEND:
    case SESSION_E_NOMEM: case SESSION_E_PROLOGUE:
        return "session";
    case ENGINE_E_NOMEM: case ENGINE_E_PEERS: case ENGINE_E_RATE: case ENGINE_E_HALF_OPEN:
    case ENGINE_E_CONNS: case ENGINE_E_HS_TIMEOUT: case ENGINE_E_DEAD: case ENGINE_E_DUPLICATE:
    case ENGINE_E_REMOVED: case ENGINE_E_SHUTDOWN: case ENGINE_E_CONNECT:
    case ENGINE_E_NOT_CONNECTED: case ENGINE_E_SELF:
        return "engine";
    case COMMUNITY_E_NOMEM: case COMMUNITY_E_STORE: case COMMUNITY_E_CORRUPT:
    case COMMUNITY_E_TOOMANY:
        return "community";
    case RECON_E_INPUT: case RECON_E_NOMEM: case RECON_E_VERSION: case RECON_E_TRUNCATED:
    case RECON_E_VARINT: case RECON_E_BOUND: case RECON_E_MODE: case RECON_E_COUNT:
    case RECON_E_ITEM: case RECON_E_TRAILING: case RECON_E_PROTO: case RECON_E_ROUNDS:
    case RECON_E_TOO_BIG: case RECON_E_NOSPACE: case RECON_E_LIMIT:
        return "recon";
    case GOSSIP_E_NOMEM: case GOSSIP_E_MALFORMED: case GOSSIP_E_INVAL: case GOSSIP_E_STORE:
    case GOSSIP_E_RECON: case GOSSIP_E_FORGED:
        return "gossip";
    case STIXMAP_E_TYPE: case STIXMAP_E_NOSPACE: case STIXMAP_E_PATTERN:
        return "stixmap";
    case WARNINGLIST_E_IO: case WARNINGLIST_E_FORMAT: case WARNINGLIST_E_TYPE:
    case WARNINGLIST_E_LIMIT: case WARNINGLIST_E_NOMEM:
        return "warninglist";
    case LOG_E_OPEN: case LOG_E_INVAL:
        return "log";
    case TAXII_E_NOMEM:
        return "taxii";
    case HTTP_E_NOMEM: case HTTP_E_LISTEN:
        return "http";
    case TIMEFMT_E_SYNTAX: case TIMEFMT_E_RANGE:
        return "timefmt";
    case EXPORT_E_IO: case EXPORT_E_NOMEM: case EXPORT_E_SOURCE: case EXPORT_E_INVAL:
        return "export";
    case IMPORT_E_IO: case IMPORT_E_FORMAT: case IMPORT_E_LIMIT: case IMPORT_E_USAGE:
    case IMPORT_E_NOMEM:
        return "import";
    default:
        return "";
    }
}

/* The codes that collided before the review renumbered timefmt, export and import. */
static void formerly_colliding_codes_have_one_owner(void **state)
{
    (void)state;
    assert_string_equal(owner(SESSION_E_FRAME), "session");
    assert_string_equal(owner(TIMEFMT_E_SYNTAX), "timefmt");
    assert_string_equal(owner(COMMUNITY_E_NOMEM), "community");
    assert_string_equal(owner(EXPORT_E_IO), "export");
    assert_string_equal(owner(LOG_E_OPEN), "log");
    assert_string_equal(owner(IMPORT_E_IO), "import");
    assert_string_equal(owner(0), "");
}

/* engine_strerror() falls back to session_strerror(): both name their own codes. */
static void strerror_names_own_codes(void **state)
{
    (void)state;
    assert_string_equal(engine_strerror(SESSION_E_FIRST),
                        "first frame is not a 32-byte handshake message");
    assert_string_not_equal(export_strerror(EXPORT_E_IO), "unknown export error");
    assert_string_equal(import_strerror(IMPORT_E_IO), "cannot read the input");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(formerly_colliding_codes_have_one_owner),
        cmocka_unit_test(strerror_names_own_codes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
