/* log.c - see log.h. */
#include "node/shell/log.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "node/formats/timefmt.h"
#include "proto/limits.h"

static struct {
    enum log_format format;
    FILE *file; /* NULL: stderr */
    char path[LIMIT_PATH_BYTES];
    bool debug;
} lg;

static const char *const level_names[] = {"info", "warn", "error", "debug"};

void log_set_debug(bool on)
{
    lg.debug = on;
}

bool log_debug_enabled(void)
{
    return lg.debug;
}

const char *log_strerror(int err)
{
    switch (err) {
    case LOG_OK: return "success";
    LOG_ERRORS(ERRORS_CASE)
    default: return "unknown log error";
    }
}

int log_format_parse(const char *name)
{
    if (name && strcmp(name, "text") == 0)
        return LOG_FORMAT_TEXT;
    if (name && strcmp(name, "json") == 0)
        return LOG_FORMAT_JSON;
    return LOG_E_INVAL;
}

static FILE *open_append(const char *path, char *why, size_t why_len)
{
    const int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    FILE *f = fd >= 0 ? fdopen(fd, "a") : NULL;
    if (!f) {
        snprintf(why, why_len, "cannot open log file %s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    setvbuf(f, NULL, _IOLBF, 0);
    return f;
}

static struct {
    int format;       /* < 0: none */
    const char *path; /* NULL: none; argv storage, lives as long as the process */
} over = {-1, NULL};

void log_set_overrides(int format, const char *path)
{
    over.format = format;
    over.path = path;
}

int log_open(enum log_format format, const char *path, char *why, size_t why_len)
{
    if (over.format >= 0)
        format = (enum log_format)over.format;
    if (over.path)
        path = over.path;
    assert(format == LOG_FORMAT_TEXT || format == LOG_FORMAT_JSON);
    FILE *f = NULL;
    if (path && path[0]) {
        if (strlen(path) >= sizeof lg.path) {
            snprintf(why, why_len, "log file path too long (limit %d bytes)", LIMIT_PATH_BYTES - 1);
            return LOG_E_OPEN;
        }
        if ((f = open_append(path, why, why_len)) == NULL)
            return LOG_E_OPEN;
    }
    log_close();
    lg.format = format;
    lg.file = f;
    snprintf(lg.path, sizeof lg.path, "%s", f ? path : "");
    return LOG_OK;
}

int log_reopen(char *why, size_t why_len)
{
    if (!lg.file)
        return LOG_OK;
    FILE *f = open_append(lg.path, why, why_len);
    if (!f)
        return LOG_E_OPEN;
    fclose(lg.file);
    lg.file = f;
    return LOG_OK;
}

bool log_to_file(void)
{
    return lg.file != NULL;
}

void log_close(void)
{
    if (lg.file)
        fclose(lg.file);
    lg.file = NULL;
    lg.path[0] = '\0';
    lg.format = LOG_FORMAT_TEXT;
}

static void now_text(char out[TIMEFMT_RFC3339_LEN + 1])
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    timefmt_format((uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000, out);
}

/* A text value needs quotes when a reader could not tell where it ends ('=' is fine: a key ends
 * at the first one, and base64 keys end in '='). */
static bool needs_quotes(const char *v)
{
    return v[0] == '\0' || strpbrk(v, " \t\"\\\n\r") != NULL;
}

/* Appends to buf[*len..cap), cutting at the end; keeps buf NUL-terminated. */
static void add(char *buf, size_t cap, size_t *len, const char *s, size_t n)
{
    if (*len + 1 >= cap)
        return;
    if (n > cap - 1 - *len)
        n = cap - 1 - *len;
    memcpy(buf + *len, s, n);
    *len += n;
    buf[*len] = '\0';
}

static void add_text_value(char *buf, size_t cap, size_t *len, const char *v)
{
    if (!needs_quotes(v)) {
        add(buf, cap, len, v, strlen(v));
        return;
    }
    add(buf, cap, len, "\"", 1);
    for (const char *p = v; *p && *len + 1 < cap; p++) {
        if (*p == '"' || *p == '\\')
            add(buf, cap, len, "\\", 1);
        const char c = *p == '\n' || *p == '\r' ? ' ' : *p; /* one event, one line */
        add(buf, cap, len, &c, 1);
    }
    add(buf, cap, len, "\"", 1);
}

struct field {
    const char *key, *value;
};

static void write_text(FILE *out, const char *ts, enum log_level level, const char *event,
                       const char *detail, const struct field *f, size_t n)
{
    char line[LIMIT_LOG_LINE_BYTES];
    size_t len = 0;
    line[0] = '\0';
    const char *parts[] = {ts, " ", level_names[level], " tlpmesh: ", event};
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)
        add(line, sizeof line, &len, parts[i], strlen(parts[i]));
    for (size_t i = 0; i < n; i++) {
        add(line, sizeof line, &len, " ", 1);
        add(line, sizeof line, &len, f[i].key, strlen(f[i].key));
        add(line, sizeof line, &len, "=", 1);
        add_text_value(line, sizeof line, &len, f[i].value);
    }
    if (detail) {
        add(line, sizeof line, &len, ": ", 2);
        for (const char *p = detail; *p; p++) {
            const char c = *p == '\n' || *p == '\r' ? ' ' : *p;
            add(line, sizeof line, &len, &c, 1);
        }
    }
    fprintf(out, "%s\n", line);
}

static void write_json(FILE *out, const char *ts, enum log_level level, const char *event,
                       const char *detail, const struct field *f, size_t n)
{
    json_t *o = json_object();
    if (!o)
        return;
    json_object_set_new(o, "ts", json_string(ts));
    json_object_set_new(o, "level", json_string(level_names[level]));
    json_object_set_new(o, "event", json_string(event));
    for (size_t i = 0; i < n; i++)
        json_object_set_new(o, f[i].key, json_string(f[i].value));
    if (detail)
        json_object_set_new(o, "detail", json_string(detail));
    /* Invalid UTF-8 makes json_string() return NULL and drops the key; the line still goes out. */
    char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
    json_decref(o);
    if (s)
        fprintf(out, "%s\n", s);
    free(s);
}

void log_event(enum log_level level, const char *event, const char *detail, ...)
{
    assert(event != NULL && level >= LOG_INFO && level <= LOG_DEBUG);
    if (level == LOG_DEBUG && !lg.debug)
        return;
    struct field f[LIMIT_LOG_FIELDS];
    size_t n = 0;
    va_list ap;
    va_start(ap, detail);
    for (const char *k = va_arg(ap, const char *); k != NULL; k = va_arg(ap, const char *)) {
        const char *v = va_arg(ap, const char *);
        if (n < LIMIT_LOG_FIELDS)
            f[n++] = (struct field){k, v ? v : "-"};
    }
    va_end(ap);
    char ts[TIMEFMT_RFC3339_LEN + 1];
    now_text(ts);
    FILE *out = lg.file ? lg.file : stderr;
    if (lg.format == LOG_FORMAT_JSON)
        write_json(out, ts, level, event, detail, f, n);
    else
        write_text(out, ts, level, event, detail, f, n);
    fflush(out);
}
