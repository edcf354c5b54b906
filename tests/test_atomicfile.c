/* test_atomicfile.c - crypto/atomicfile.h: the mode is exact, a failure leaves the old file (or
 * none) and no temporary file, CREATE never overwrites. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/atomicfile.h"

struct dir {
    char path[64];
    char file[96];
};

static int setup(void **state)
{
    struct dir *d = calloc(1, sizeof(*d));
    assert_non_null(d);
    snprintf(d->path, sizeof(d->path), "/tmp/test_atomicfile.XXXXXX");
    assert_non_null(mkdtemp(d->path));
    snprintf(d->file, sizeof(d->file), "%s/f", d->path);
    *state = d;
    return 0;
}

static int teardown(void **state)
{
    struct dir *d = *state;
    DIR *dir = opendir(d->path);
    for (struct dirent *e; dir && (e = readdir(dir));) {
        char p[400];
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
            snprintf(p, sizeof(p), "%s/%s", d->path, e->d_name);
            if (unlink(p) != 0)
                rmdir(p);
        }
    }
    if (dir)
        closedir(dir);
    rmdir(d->path);
    free(d);
    return 0;
}

/* Entries in the directory besides "." and "..". */
static int entries(const char *path)
{
    DIR *dir = opendir(path);
    assert_non_null(dir);
    int n = 0;
    for (struct dirent *e; (e = readdir(dir));)
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(dir);
    return n;
}

static void assert_content(const char *path, const char *want, mode_t mode)
{
    char buf[64] = "";
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    assert_string_equal(buf, want);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, mode);
}

static void replace_sets_content_and_exact_mode(void **state)
{
    struct dir *d = *state;
    const mode_t um = umask(077); /* the umask does not narrow the mode asked for */
    assert_int_equal(atomicfile_put(d->file, ATOMICFILE_REPLACE, 0644, "one", 3), ATOMICFILE_OK);
    assert_content(d->file, "one", 0644);
    assert_int_equal(atomicfile_put(d->file, ATOMICFILE_REPLACE, 0600, "two", 3), ATOMICFILE_OK);
    assert_content(d->file, "two", 0600);
    umask(um);
    assert_int_equal(entries(d->path), 1); /* no temporary file left */
}

static void create_never_overwrites(void **state)
{
    struct dir *d = *state;
    assert_int_equal(atomicfile_put(d->file, ATOMICFILE_CREATE, 0600, "key", 3), ATOMICFILE_OK);
    assert_content(d->file, "key", 0600);
    assert_int_equal(atomicfile_put(d->file, ATOMICFILE_CREATE, 0600, "new", 3),
                     ATOMICFILE_E_EXISTS);
    assert_content(d->file, "key", 0600);
    assert_int_equal(entries(d->path), 1);
}

static void failed_rename_keeps_old_and_leaves_nothing(void **state)
{
    struct dir *d = *state;
    assert_int_equal(mkdir(d->file, 0700), 0); /* a directory cannot be renamed over */
    assert_int_equal(atomicfile_put(d->file, ATOMICFILE_REPLACE, 0600, "x", 1),
                     ATOMICFILE_E_RENAME);
    struct stat st;
    assert_int_equal(stat(d->file, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(entries(d->path), 1);
}

static void aborted_write_leaves_nothing(void **state)
{
    struct dir *d = *state;
    struct atomicfile af;
    assert_int_equal(atomicfile_open(&af, d->file, ATOMICFILE_CREATE, 0600), ATOMICFILE_OK);
    assert_int_equal(atomicfile_write(&af, "half", 4), ATOMICFILE_OK);
    atomicfile_abort(&af);
    atomicfile_abort(&af); /* a second abort is a no-op */
    assert_int_equal(entries(d->path), 0);
}

static void long_path_and_missing_dir_are_refused(void **state)
{
    struct dir *d = *state;
    char *path = malloc(LIMIT_PATH_BYTES + 1);
    assert_non_null(path);
    memset(path, 'a', LIMIT_PATH_BYTES);
    path[LIMIT_PATH_BYTES] = '\0';
    assert_int_equal(atomicfile_put(path, ATOMICFILE_REPLACE, 0600, "", 0), ATOMICFILE_E_PATH);
    free(path);
    char missing[128];
    snprintf(missing, sizeof(missing), "%s/no/f", d->path);
    assert_int_equal(atomicfile_put(missing, ATOMICFILE_REPLACE, 0600, "", 0), ATOMICFILE_E_CREATE);
    assert_int_equal(atomicfile_put(missing, ATOMICFILE_CREATE, 0600, "", 0), ATOMICFILE_E_CREATE);
    assert_string_equal(atomicfile_strerror(ATOMICFILE_E_EXISTS),
                        "file exists (it is never overwritten)");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(replace_sets_content_and_exact_mode, setup, teardown),
        cmocka_unit_test_setup_teardown(create_never_overwrites, setup, teardown),
        cmocka_unit_test_setup_teardown(failed_rename_keeps_old_and_leaves_nothing, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(aborted_write_leaves_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(long_path_and_missing_dir_are_refused, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
