/* ts_store.c - an LMDB store in a temporary directory for tests (ts_store.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#include <cmocka.h>

#include "ts_dir.h"
#include "ts_store.h"

struct store *ts_store_open(const char *dir, size_t map_size_bytes)
{
    const struct store_opts opts = {.read_only = false, .map_size_bytes = map_size_bytes};
    struct store *s = NULL;
    char why[256];
    if (store_open(&s, dir, &opts, why, sizeof why) != STORE_OK)
        fail_msg("store_open %s: %s", dir, why);
    return s;
}

void ts_store_remove(char *dir)
{
    char path[LIMIT_PATH_BYTES];
    snprintf(path, sizeof path, "%s/%s", dir, STORE_FILE_NAME);
    unlink(path);
    snprintf(path, sizeof path, "%s/%s-lock", dir, STORE_FILE_NAME);
    unlink(path);
    ts_dir_free(dir);
}

void ts_store_temp(struct ts_store *t, const char *tag)
{
    t->dir = ts_dir_new(tag);
    t->store = ts_store_open(t->dir, 0);
}

void ts_store_temp_close(struct ts_store *t)
{
    store_close(t->store);
    t->store = NULL;
    ts_store_remove(t->dir);
    t->dir = NULL;
}
