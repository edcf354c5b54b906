/* ts_store.h - an LMDB store in a temporary directory for tests (module prefix ts_store_).
 *
 * ts_store_open opens (creating) a read-write store in an existing directory; ts_store_remove
 * deletes the store's two files (STORE_FILE_NAME and its lock) and then the directory, which must
 * then be empty (ts_dir_free). For the common case, ts_store_temp makes the directory and opens
 * the store; ts_store_temp_close closes and removes both. Every call fails the running cmocka test
 * on error, with store_open's reason.
 */
#ifndef TLPMESH_TESTS_TS_STORE_H
#define TLPMESH_TESTS_TS_STORE_H

#include <stddef.h>

#include "store/store.h"

struct ts_store {
    char *dir;           /* ts_dir_new's path, owned */
    struct store *store; /* owned */
};

/* map_size_bytes 0 = the store's default map size. */
struct store *ts_store_open(const char *dir, size_t map_size_bytes);
void ts_store_remove(char *dir);

void ts_store_temp(struct ts_store *t, const char *tag);
void ts_store_temp_close(struct ts_store *t);

#endif
