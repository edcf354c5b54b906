/* console_gate.c - what of a record's neighbours a console client may see (console.h); pure.
 *
 * The TAXII server serves indicators only (taxii_reader_may_read), so the sightings a record
 * page sums up are judged here as the gate judges a sighting for a peer that is this client:
 * a sighting by another organisation may carry a higher TLP or a narrower audience than the
 * record it sights, and then it stays off the page. Never RED: a console client has no node key.
 */
#include "node/console/console.h"
#include "proto/tlp.h"

bool console_sighting_readable(const struct gate_self *self, const struct gate_peer *reader,
                               const struct proto_record *sighting,
                               const struct proto_record *target, uint64_t now_ms)
{
    if (sighting->kind != PROTO_KIND_SIGHTING || sighting->tlp == PROTO_TLP_RED)
        return false;
    const struct gate_record_state st = {.target = target};
    return gate_check(self, reader, sighting, &st, now_ms) == GATE_ALLOW;
}
