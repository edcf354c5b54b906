/* run_status.c - `tlpmesh status`: the running node's answer, printed (run.h). */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "node/shell/run.h"
#include "node/shell/run_int.h"

static const char *jstr(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s && s[0] ? s : "-";
}

/* A Unix-ms JSON integer as UTC time, "-" when it is not one. */
static void print_since(const json_t *since, char *out, size_t len)
{
    if (!json_is_integer(since)) {
        snprintf(out, len, "-");
        return;
    }
    time_t t = (time_t)(json_integer_value(since) / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* "37s gate": the back-off left and the reason of a penalized peer, "-" for none. */
static void print_backoff(const json_t *p, char *out, size_t len)
{
    json_int_t ms = json_integer_value(json_object_get(p, "backoff_ms"));
    if (ms <= 0)
        snprintf(out, len, "-");
    else
        snprintf(out, len, "%" JSON_INTEGER_FORMAT "s %s", (ms + 999) / 1000,
                 jstr(p, "penalty_reason"));
}

/* "store    N records" and, while commits fail for lack of space, since when. */
static void print_store(const json_t *st, FILE *out)
{
    const json_t *s = json_object_get(st, "store");
    if (json_object_get(s, "error")) {
        fprintf(out, "store    %s\n", jstr(s, "error"));
        return;
    }
    fprintf(out, "store    %" JSON_INTEGER_FORMAT " records", json_integer_value(
                                                               json_object_get(s, "records")));
    if (json_is_true(json_object_get(s, "disk_full"))) {
        char since[32];
        print_since(json_object_get(s, "disk_full_since"), since, sizeof since);
        fprintf(out, "; DISK FULL since %s: the last commit failed, no space left on device", since);
    }
    fputc('\n', out);
}

static void print_table(const json_t *st, FILE *out)
{
    fprintf(out, "node     %s\nnetwork  %s\norg      %s\nlisten   %s\n", jstr(st, "key"),
            jstr(st, "network"), jstr(st, "organisation"), jstr(st, "listen"));
    print_store(st, out);
    fputc('\n', out);
    const json_t *peers = json_object_get(st, "peers");
    int wname = 4, waddr = 7;
    size_t i;
    const json_t *p;
    json_array_foreach(peers, i, p) {
        int n = (int)strlen(jstr(p, "name")), a = (int)strlen(jstr(p, "address"));
        wname = n > wname ? n : wname;
        waddr = a > waddr ? a : waddr;
    }
    fprintf(out, "%-*s  %-44s  %-10s  %-*s  %-20s  %12s  %12s  %9s  %9s  %9s  %9s  %-18s  %s\n",
            wname, "NAME", "KEY", "STATE", waddr, "ADDRESS", "SINCE", "BYTES IN", "BYTES OUT",
            "RECS SENT", "RECS RECV", "DUP", "REFUSED", "BACKOFF", "LAST ERROR");
    json_array_foreach(peers, i, p) {
        char since[32], backoff[48];
        print_since(json_object_get(p, "since"), since, sizeof since);
        print_backoff(p, backoff, sizeof backoff);
        const json_t *g = json_object_get(p, "gossip");
        fprintf(out, "%-*s  %-44s  %-10s  %-*s  %-20s  %12" JSON_INTEGER_FORMAT "  %12"
                JSON_INTEGER_FORMAT "  %9" JSON_INTEGER_FORMAT "  %9" JSON_INTEGER_FORMAT
                "  %9" JSON_INTEGER_FORMAT "  %9" JSON_INTEGER_FORMAT "  %-18s  %s\n", wname,
                jstr(p, "name"), jstr(p, "key"), jstr(p, "state"), waddr, jstr(p, "address"),
                since, json_integer_value(json_object_get(p, "bytes_in")),
                json_integer_value(json_object_get(p, "bytes_out")),
                json_integer_value(json_object_get(g, "records_sent")),
                json_integer_value(json_object_get(g, "records_received")),
                json_integer_value(json_object_get(g, "duplicates")),
                json_integer_value(json_object_get(g, "refused_total")), backoff,
                jstr(p, "last_error"));
    }
    json_array_foreach(peers, i, p) { /* keys that changed without an edit of the config */
        const json_t *k = json_object_get(p, "key_rotated");
        if (json_is_object(k))
            fprintf(out, "peer %s: key %s to %s at %s (was %s; configured %s)\n",
                    jstr(p, "name"), strcmp(jstr(k, "kind"), "recovery") == 0 ? "recovered"
                                                                                : "rotated",
                    jstr(p, "key"), json_string_value(json_object_get(k, "at_text")),
                    jstr(k, "previous_key"), jstr(k, "configured_key"));
    }
}

int run_status_print(const char *config_path, bool json, FILE *out)
{
    struct config cfg;
    struct config_diag diag;
    config_init(&cfg);
    int code = RUN_OK;
    if (config_load(config_path, &cfg, &diag) < 0) {
        config_diag_print(&diag, stderr);
        config_free(&cfg);
        return RUN_USAGE;
    }
    json_t *req = json_pack("{s:s}", "cmd", "status"), *resp = NULL;
    int rc = req ? control_request(cfg.control_path, req, &resp, LIMIT_CONTROL_TIMEOUT_MS)
                 : CONTROL_E_IO;
    if (rc < 0) {
        fprintf(stderr, "tlpmesh: status: %s: %s\n", cfg.control_path, control_strerror(rc));
        code = RUN_FAIL;
    } else if (json) {
        json_dumpf(resp, out, JSON_COMPACT);
        fputc('\n', out);
    } else {
        print_table(resp, out);
    }
    json_decref(req);
    json_decref(resp);
    config_free(&cfg);
    return code;
}
