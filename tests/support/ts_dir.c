/* ts_dir.c - temporary directories for tests (ts_dir.h). */
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "ts_dir.h"

char *ts_dir_new(const char *tag)
{
    char tmpl[64];
    const int n = snprintf(tmpl, sizeof tmpl, "/tmp/tlp-%s-XXXXXX", tag);
    assert_true(n > 0 && (size_t)n < sizeof tmpl);
    assert_non_null(mkdtemp(tmpl));
    char *dir = strdup(tmpl);
    assert_non_null(dir);
    return dir;
}

void ts_dir_free(char *dir)
{
    if (rmdir(dir) != 0)
        fail_msg("%s: not empty or not removable at the end of the test", dir);
    free(dir);
}

static int remove_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st;
    (void)type;
    (void)ftw;
    return remove(path);
}

void ts_dir_free_tree(char *dir)
{
    enum { OPEN_FDS = 16 };
    /* depth first (FTW_DEPTH) so that each directory is empty when its turn comes; FTW_PHYS
     * removes a symbolic link itself, never what it points at */
    if (nftw(dir, remove_one, OPEN_FDS, FTW_DEPTH | FTW_PHYS) != 0)
        fail_msg("%s: cannot remove the tree", dir);
    free(dir);
}
