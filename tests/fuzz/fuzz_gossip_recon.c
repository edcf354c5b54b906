/* fuzz_gossip_recon.c - reconciliation as gossip runs it (node/core/gossip_recon.c): a peer's
 * RECON messages (and RECON_REQ, flushes that start rounds, sessions that end mid-exchange) into a
 * real gossip instance over a memstore, whose answers name records the gate must allow.
 * fuzz_recon.c fuzzes the recon codec alone; this drives it through gossip's sets, timers and
 * WANTs. Input format and invariants: fuzz_gnode.h, with every op-0 message of type RECON (no
 * type byte). Seeds: real exchanges recorded by fuzz_mkseeds.c.
 */
#include "fuzz_gnode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_gnode_run(data, size, GOSSIP_MSG_RECON);
    return 0;
}
