/* ts_file.h - whole files for tests (module prefix ts_file_).
 *
 * ts_file_write creates or truncates path and writes len bytes; ts_file_read returns the whole
 * file in a malloc'd buffer (the caller frees it) with a NUL after its last byte, its length in
 * *len. Both fail the running cmocka test on any error.
 */
#ifndef TLPMESH_TESTS_TS_FILE_H
#define TLPMESH_TESTS_TS_FILE_H

#include <stddef.h>

void ts_file_write(const char *path, const void *data, size_t len);
char *ts_file_read(const char *path, size_t *len);

#endif
