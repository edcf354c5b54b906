/* ts_ident.c - test identities from a seed byte (ts_ident.h). */
#include <string.h>

#include "ts_ident.h"

void ts_identity(uint8_t b, struct keys_identity *id)
{
    uint8_t seed[LIMIT_KEY_BYTES];
    memset(seed, b, sizeof seed);
    keys_identity_from_seed(seed, id);
}
