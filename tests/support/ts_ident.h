/* ts_ident.h - test identities from a seed byte (module prefix ts_).
 *
 * ts_identity(b) derives the identity whose 32-byte seed is b repeated, so the same byte gives the
 * same keys in every test and every run (keys_identity_from_seed). The identity holds secrets like
 * any other: the caller wipes it (keys_identity_wipe) when done.
 */
#ifndef TLPMESH_TESTS_TS_IDENT_H
#define TLPMESH_TESTS_TS_IDENT_H

#include <stdint.h>

#include "crypto/keys.h"

void ts_identity(uint8_t b, struct keys_identity *id);

#endif
