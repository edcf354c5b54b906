/* atomicfile.c - write a file atomically with a given mode (contract in atomicfile.h). */
#include "crypto/atomicfile.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *atomicfile_strerror(int err)
{
    switch (err) {
    case ATOMICFILE_OK: return "ok";
    ATOMICFILE_ERRORS(ERRORS_CASE)
    default: return "unknown atomicfile error";
    }
}

/* unlink() without losing the errno of the failure that led here. */
static void remove_keep_errno(const char *path)
{
    const int saved = errno;
    unlink(path);
    errno = saved;
}

/* Closes and removes the file being written, if af holds one: never a file it did not create
 * (after ATOMICFILE_E_EXISTS af->tmp names somebody else's file). */
static void discard(struct atomicfile *af)
{
    if (af->fd < 0)
        return;
    const int saved = errno;
    close(af->fd);
    af->fd = -1;
    errno = saved;
    remove_keep_errno(af->tmp);
}

int atomicfile_open(struct atomicfile *af, const char *path, enum atomicfile_how how, mode_t mode)
{
    assert(af && path);
    memset(af, 0, sizeof(*af));
    af->fd = -1;
    af->how = how;
    const int n = how == ATOMICFILE_REPLACE
                      ? snprintf(af->tmp, sizeof(af->tmp), "%s.tmp-XXXXXX", path)
                      : snprintf(af->tmp, sizeof(af->tmp), "%s", path);
    if (strlen(path) >= sizeof(af->path) || n < 0 || (size_t)n >= sizeof(af->tmp)) {
        errno = ENAMETOOLONG;
        return ATOMICFILE_E_PATH;
    }
    memcpy(af->path, path, strlen(path) + 1);
    if (how == ATOMICFILE_REPLACE)
        af->fd = mkostemp(af->tmp, O_CLOEXEC);
    else
        af->fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode & 07777);
    if (af->fd < 0)
        return how == ATOMICFILE_CREATE && errno == EEXIST ? ATOMICFILE_E_EXISTS
                                                           : ATOMICFILE_E_CREATE;
    if (fchmod(af->fd, mode & 07777) != 0) {
        discard(af);
        return ATOMICFILE_E_CREATE;
    }
    return ATOMICFILE_OK;
}

int atomicfile_set_group(struct atomicfile *af, gid_t gid)
{
    assert(af && af->fd >= 0);
    struct stat sb;
    /* chown clears set-id bits of the mode: it is set again, so that the mode stays exact */
    if (fstat(af->fd, &sb) != 0 || fchown(af->fd, (uid_t)-1, gid) != 0 ||
        fchmod(af->fd, sb.st_mode & 07777) != 0) {
        discard(af);
        return ATOMICFILE_E_GROUP;
    }
    return ATOMICFILE_OK;
}

int atomicfile_write(struct atomicfile *af, const void *buf, size_t len)
{
    assert(af && af->fd >= 0 && (buf || len == 0));
    const char *p = buf;
    size_t done = 0;
    /* Each pass writes at least one byte or fails, so len + 1 passes bound the loop. */
    for (size_t pass = 0; done < len && pass <= len; pass++) {
        const ssize_t w = write(af->fd, p + done, len - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return ATOMICFILE_E_WRITE;
        done += (size_t)w;
    }
    return done == len ? ATOMICFILE_OK : ATOMICFILE_E_WRITE;
}

/* A crash right after rename() could otherwise lose the new directory entry. */
static void fsync_dir(const char *path)
{
    char copy[LIMIT_PATH_BYTES];
    snprintf(copy, sizeof(copy), "%s", path);
    const int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd); /* best effort: the data itself was fsync'ed before the rename */
        close(fd);
    }
}

int atomicfile_commit(struct atomicfile *af)
{
    assert(af && af->fd >= 0);
    if (fsync(af->fd) != 0) {
        discard(af);
        return ATOMICFILE_E_WRITE;
    }
    const int rc = close(af->fd);
    af->fd = -1;
    if (rc != 0) {
        remove_keep_errno(af->tmp);
        return ATOMICFILE_E_WRITE;
    }
    if (af->how == ATOMICFILE_REPLACE && rename(af->tmp, af->path) != 0) {
        remove_keep_errno(af->tmp);
        return ATOMICFILE_E_RENAME;
    }
    fsync_dir(af->path);
    return ATOMICFILE_OK;
}

void atomicfile_abort(struct atomicfile *af)
{
    assert(af);
    discard(af);
}

int atomicfile_put(const char *path, enum atomicfile_how how, mode_t mode, const void *buf,
                   size_t len)
{
    struct atomicfile af;
    int rc = atomicfile_open(&af, path, how, mode);
    if (rc != ATOMICFILE_OK)
        return rc;
    rc = atomicfile_write(&af, buf, len);
    if (rc != ATOMICFILE_OK) {
        atomicfile_abort(&af);
        return rc;
    }
    return atomicfile_commit(&af);
}
