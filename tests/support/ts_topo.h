/* ts_topo.h - topologies for in-memory nets of several engines or gossips (module prefix
 * ts_topo_, ts_rand).
 *
 * A struct ts_topo is an undirected graph of nodes 0..n-1 in which each node numbers its links
 * 0, 1, ... in the order they were added: that number is the peer slot the test hands to the node
 * (gossip_peer_up, engine peers). The builders add links to what is there already, so shapes
 * combine (a ring plus random chords). ts_rand is the tests' LCG: the same seed gives the same
 * graph, and the same sequence to the test's later draws, on every platform.
 * The caller owns the struct (no allocation); every call fails the running cmocka test when a
 * bound would be passed or a link is not there.
 */
#ifndef TLPMESH_TESTS_TS_TOPO_H
#define TLPMESH_TESTS_TS_TOPO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum { TS_TOPO_MAX_NODES = 64, TS_TOPO_MAX_DEGREE = 16 };

struct ts_topo {
    size_t n;
    size_t max_degree;                                  /* <= TS_TOPO_MAX_DEGREE */
    size_t degree[TS_TOPO_MAX_NODES];                   /* links of each node */
    size_t peer[TS_TOPO_MAX_NODES][TS_TOPO_MAX_DEGREE]; /* peer[a][slot]: the node at the far end */
};

/* 15 random bits; advances *rng. */
uint32_t ts_rand(uint32_t *rng);

void ts_topo_init(struct ts_topo *t, size_t n, size_t max_degree);
bool ts_topo_linked(const struct ts_topo *t, size_t a, size_t b);
void ts_topo_link(struct ts_topo *t, size_t a, size_t b);
/* a's slot for its link to b. */
size_t ts_topo_slot(const struct ts_topo *t, size_t a, size_t b);

/* 0 - 1 - ... - n-1; ts_topo_ring closes it with n-1 - 0; ts_topo_complete links every pair. */
void ts_topo_line(struct ts_topo *t);
void ts_topo_ring(struct ts_topo *t);
void ts_topo_complete(struct ts_topo *t);
/* `tries` random pairs (a then b from *rng); links those that are distinct, not yet linked and
 * both under `cap` links. Returns how many links it added. */
size_t ts_topo_random(struct ts_topo *t, size_t tries, size_t cap, uint32_t *rng);

#endif
