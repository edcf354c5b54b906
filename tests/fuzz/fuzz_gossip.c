/* fuzz_gossip.c - every gossip message type (RECORDS, ANNOUNCE, WANT, RECON, RECON_REQ and
 * unknown ones) from two peers into a real gossip instance over a memstore, interleaved with
 * flushes, clock steps, verification, local publishing and sessions ending and starting.
 * Input format and invariants: fuzz_gnode.h. Seeds: real conversations recorded by
 * fuzz_mkseeds.c plus hand-made messages.
 */
#include "fuzz_gnode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_gnode_run(data, size, 0);
    return 0;
}
