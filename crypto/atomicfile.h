/* atomicfile.h - write a file so that a reader sees the old content or the new, never a part.
 *
 * Key files, configs and export files are read by other processes at any time (the node, Zeek,
 * Suricata, MISP) and must survive a crash; one helper does it for all of them:
 *   ATOMICFILE_REPLACE: a temporary file beside PATH ("PATH.tmp-XXXXXX") gets the bytes and the
 *                       mode, is fsync'ed, renamed over PATH, and the directory is fsync'ed;
 *   ATOMICFILE_CREATE:  PATH itself is created with O_EXCL (an existing file is never
 *                       overwritten: key generation, `tlpmesh init`), written and fsync'ed.
 * The mode is set with fchmod, so the umask does not change it. A failure leaves PATH as it was
 * (absent, for CREATE), removes what was created, and keeps errno for the caller's message.
 *
 * Ownership: struct atomicfile is the caller's value; between atomicfile_open() and
 * atomicfile_commit() or atomicfile_abort() it owns one descriptor and one file on disk.
 */
#ifndef TLPMESH_CRYPTO_ATOMICFILE_H
#define TLPMESH_CRYPTO_ATOMICFILE_H

#include <stddef.h>
#include <sys/types.h>

#include "proto/errors.h"
#include "proto/limits.h"

/* Error codes: X(name, value, message), range ERRORS_BASE_ATOMICFILE in proto/errors.h. */
#define ATOMICFILE_ERRORS(X)                                                                       \
    /* PATH (with the temporary suffix) longer than LIMIT_PATH_BYTES */                            \
    X(ATOMICFILE_E_PATH, ERRORS_BASE_ATOMICFILE - 0, "path too long")                              \
    X(ATOMICFILE_E_EXISTS, ERRORS_BASE_ATOMICFILE - 1, "file exists (it is never overwritten)")    \
    /* the file (or the temporary file) cannot be created or given its mode */                     \
    X(ATOMICFILE_E_CREATE, ERRORS_BASE_ATOMICFILE - 2, "cannot create the file")                   \
    /* write, fsync or close failed */                                                             \
    X(ATOMICFILE_E_WRITE, ERRORS_BASE_ATOMICFILE - 3, "cannot write the file")                     \
    X(ATOMICFILE_E_RENAME, ERRORS_BASE_ATOMICFILE - 4, "cannot rename the file into place")        \
    /* fchown to the group failed: not a member of it, and not root */                             \
    X(ATOMICFILE_E_GROUP, ERRORS_BASE_ATOMICFILE - 5, "cannot give the file its group")

enum atomicfile_err {
    ATOMICFILE_OK = 0,
    ATOMICFILE_ERRORS(ERRORS_ENUM)
};

const char *atomicfile_strerror(int err);

enum atomicfile_how { ATOMICFILE_REPLACE, ATOMICFILE_CREATE };

struct atomicfile {
    int fd;                          /* write the content here (or through atomicfile_write) */
    enum atomicfile_how how;
    char path[LIMIT_PATH_BYTES];     /* the destination */
    char tmp[LIMIT_PATH_BYTES + 16]; /* the file being written (PATH itself for CREATE); stays
                                        readable after a failure, for messages */
};

/* Creates the file to write with exactly mode. ATOMICFILE_OK, or ATOMICFILE_E_PATH,
 * ATOMICFILE_E_EXISTS (CREATE only) or ATOMICFILE_E_CREATE with nothing left behind. */
int atomicfile_open(struct atomicfile *af, const char *path, enum atomicfile_how how, mode_t mode);

/* Gives the file being written group gid (the owner stays), before any byte is in it, so that a
 * reader of another user (Suricata, Zeek) may read the file under its final name from the start.
 * The mode of atomicfile_open holds afterwards. ATOMICFILE_OK, or ATOMICFILE_E_GROUP with nothing
 * left behind, as after a failed open (atomicfile_abort is then a no-op). */
int atomicfile_set_group(struct atomicfile *af, gid_t gid);

/* Writes all of buf. ATOMICFILE_OK or ATOMICFILE_E_WRITE (then call atomicfile_abort). */
int atomicfile_write(struct atomicfile *af, const void *buf, size_t len);

/* fsync, close, rename into place (REPLACE), fsync the directory (best effort: the data is
 * durable already). ATOMICFILE_OK, or ATOMICFILE_E_WRITE / ATOMICFILE_E_RENAME after cleaning
 * up as atomicfile_abort does. Either way af holds no descriptor afterwards. */
int atomicfile_commit(struct atomicfile *af);

/* Closes and removes the file being written (no-op once commit or abort ran); errno is kept. */
void atomicfile_abort(struct atomicfile *af);

/* open + write + commit of one buffer (aborting on failure). */
int atomicfile_put(const char *path, enum atomicfile_how how, mode_t mode, const void *buf,
                   size_t len);

#endif
