/* log.h - the node's operational log: one line per event, as text or JSON (docs/OPERATIONS.md).
 *
 * Text (the default), one line per event:
 *   2026-11-23T16:40:00.123Z warn tlpmesh: refused peer=KEY addr=127.0.0.1:4242: DETAIL
 * i.e. timestamp, level, "tlpmesh:", the event, key=value fields (empty values and values with
 * spaces, quotes or backslashes are double-quoted with \" and \\ escaped), then ": detail".
 * JSON (--log-format json), one object per line, keys in this order:
 *   {"ts":"2026-11-23T16:40:00.123Z","level":"warn","event":"refused","peer":"KEY",
 *    "addr":"127.0.0.1:4242","detail":"..."}
 * The fields are top-level keys (like Suricata's EVE): `jq 'select(.event=="refused")'` works.
 *
 * One log per process: the logger is process-wide state, because the SIGHUP that reopens it and
 * every module that writes to it (engine events through run.c, the HTTP server) share it. It is
 * used from the libuv loop thread only. Before log_open() (and after log_close()) lines go to
 * stderr as text. Destination: a file opened for append (created 0640), or stderr. log_reopen()
 * opens the path again (logrotate: rename, SIGHUP, new lines go to the new file) and keeps the old
 * file when the new one cannot be opened.
 *
 * Reads the wall clock for the timestamp: this is shell code, not the sans-IO core.
 */
#ifndef TLPMESH_NODE_LOG_H
#define TLPMESH_NODE_LOG_H

#include <stdbool.h>
#include <stddef.h>

#include "proto/errors.h"

/* LOG_DEBUG lines are written only after log_set_debug(true) (`tlpmesh run --log-level debug`). */
enum log_level { LOG_INFO = 0, LOG_WARN = 1, LOG_ERROR = 2, LOG_DEBUG = 3 };

enum log_format { LOG_FORMAT_TEXT = 0, LOG_FORMAT_JSON = 1 };

/* Error codes: X(name, value, message), range ERRORS_BASE_LOG in proto/errors.h; the
 * comments say when each happens. */
#define LOG_ERRORS(X)                                                                              \
    /* cannot open the log file (why says which and why) */                                        \
    X(LOG_E_OPEN, ERRORS_BASE_LOG - 0, "cannot open the log file")                                 \
    /* unknown format name */                                                                      \
    X(LOG_E_INVAL, ERRORS_BASE_LOG - 1, "unknown log format (expected text or json)")

enum log_err {
    LOG_OK = 0,
    LOG_ERRORS(ERRORS_ENUM)
};

const char *log_strerror(int err);

/* "text" -> LOG_FORMAT_TEXT, "json" -> LOG_FORMAT_JSON, else LOG_E_INVAL. */
int log_format_parse(const char *name);

/* Command-line choices (`tlpmesh run --log-format/--log-file`) that win over the values later
 * passed to log_open() from the config: format < 0 and path NULL mean "not given". */
void log_set_overrides(int format, const char *path);

/* Whether LOG_DEBUG lines are written (default false); callers that would do work only for a
 * debug line ask log_debug_enabled() first. */
void log_set_debug(bool on);
bool log_debug_enabled(void);

/* Sets the format and the destination: path NULL or "" = stderr, each replaced by an override
 * when one was set. On failure the previous destination stays and why gets
 * "cannot open log file PATH: REASON". */
int log_open(enum log_format format, const char *path, char *why, size_t why_len);

/* Opens the same path again (no-op for stderr). On failure the old file stays open. */
int log_reopen(char *why, size_t why_len);

/* True while lines go to a file (LogFile or --log-file), not to stderr. */
bool log_to_file(void);

/* Back to text on stderr; closes a file. */
void log_close(void);

/* One line: event name, optional detail (NULL = none), then key, value pairs ending with a NULL
 * key; a NULL value is written as "-". At most LIMIT_LOG_FIELDS pairs are written. */
void log_event(enum log_level level, const char *event, const char *detail, ...)
    __attribute__((sentinel));

#endif
