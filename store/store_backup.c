/* store_backup.c - LMDB record store: a compacted copy of the live store (store_backup), which
 * `tlpmesh backup` and the copy before a schema migration use. Contract: store.h; shared parts:
 * store_int.h. */
#include "store/store_int.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int backup_fail(char *why, size_t why_len, int err, const char *path, const char *what)
{
    if (why != NULL && why_len > 0)
        snprintf(why, why_len, "%s: %s", path, what);
    return err;
}

static int errno_err(int e)
{
    return e == ENOSPC || e == EDQUOT || e == EFBIG ? STORE_E_DISKFULL : STORE_E_IO;
}

/* Copies the store into fd: one read transaction (a consistent snapshot; writers go on),
 * compacted (free pages left out). A copy that meets a map another process grew adopts its size
 * and starts again. */
static int copy_into(struct store *s, int fd)
{
    for (unsigned i = 0; i < LIMIT_STORE_RESIZE_RETRIES; i++) {
        if (ftruncate(fd, 0) != 0 || lseek(fd, 0, SEEK_SET) != 0)
            return errno_err(errno);
        pthread_rwlock_rdlock(&s->resize_lock);
        int rc = mdb_env_copyfd2(s->env, fd, MDB_CP_COMPACT);
        pthread_rwlock_unlock(&s->resize_lock);
        if (rc != MDB_MAP_RESIZED)
            return rc == MDB_SUCCESS ? STORE_OK : map_err(rc);
        int err = store_adopt_mapsize(s);
        if (err != STORE_OK)
            return err;
    }
    return STORE_E_IO;
}

/* fsync of the directory that holds path: what makes a rename durable. */
static int sync_dir_of(const char *path)
{
    char copy[LIMIT_PATH_BYTES];
    snprintf(copy, sizeof copy, "%s", path);
    int dfd = open(dirname(copy), O_RDONLY | O_DIRECTORY);
    if (dfd < 0)
        return -1;
    int rc = fsync(dfd);
    close(dfd);
    return rc;
}

int store_backup(struct store *s, const char *path, char *why, size_t why_len)
{
    assert(s != NULL);
    if (why != NULL && why_len > 0)
        why[0] = '\0';
    if (path == NULL || path[0] == '\0')
        return backup_fail(why, why_len, STORE_E_INVAL, "(null)", "no backup file given");
    char tmp[LIMIT_PATH_BYTES];
    int n = snprintf(tmp, sizeof tmp, "%s.tmp", path);
    if (n < 0 || (size_t)n >= sizeof tmp)
        return backup_fail(why, why_len, STORE_E_INVAL, path, "path longer than LIMIT_PATH_BYTES");
    /* A tmp file left by a crashed backup is ours to replace. */
    if (unlink(tmp) != 0 && errno != ENOENT)
        return backup_fail(why, why_len, STORE_E_IO, tmp, strerror(errno));
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return backup_fail(why, why_len, errno_err(errno), tmp, strerror(errno));
    int err = copy_into(s, fd);
    if (err == STORE_OK && fsync(fd) != 0)
        err = errno_err(errno);
    if (close(fd) != 0 && err == STORE_OK)
        err = errno_err(errno);
    if (err == STORE_OK && rename(tmp, path) != 0)
        err = errno_err(errno);
    if (err != STORE_OK) {
        unlink(tmp);
        return backup_fail(why, why_len, err, path, store_strerror(err));
    }
    if (sync_dir_of(path) != 0)
        return backup_fail(why, why_len, STORE_E_IO, path, strerror(errno));
    return STORE_OK;
}
