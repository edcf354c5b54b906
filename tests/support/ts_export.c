/* ts_export.c - see ts_export.h. */
#include "tests/support/ts_export.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

char *ts_export_render(const struct export_job *j, const char *name, struct export_stats *st)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    assert_int_equal(export_write(j, name, f, st), EXPORT_OK);
    assert_int_equal(fclose(f), 0);
    return buf;
}
