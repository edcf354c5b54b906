/* ts_export.h - one export file rendered to memory (module prefix ts_export_), for the export
 * tests (test_export, test_types).
 *
 * Like ts_client.h it uses node/ (node/formats/export.h), so it is compiled into its users as a
 * source, not into tlp_testsupport; it fails the running cmocka test on any error.
 */
#ifndef TLPMESH_TESTS_TS_EXPORT_H
#define TLPMESH_TESTS_TS_EXPORT_H

#include "node/formats/export.h"

/* The bytes export_write gives for file name of job j (NULL: the format's one file), as a
 * NUL-terminated string the caller frees; the counts to *st unless st is NULL. */
char *ts_export_render(const struct export_job *j, const char *name, struct export_stats *st);

#endif
