/* cli_store.c - backup, restore, check-store: the store as an operator looks after it
 * (docs/OPERATIONS.md "Backups"). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "node/cli/cli.h"
#include "store/store.h"

/* Parses "-c CONF [--FLAG] [FILE]" (FLAG: flag_name, none when NULL; FILE when file != NULL). */
static int parse_args(const char *cmd, int argc, char **argv, const char **conf, bool *flag,
                      const char *flag_name, const char **file)
{
    const struct option opts[] = {{"config", required_argument, NULL, 'c'},
                                  {flag_name, no_argument, NULL, 'f'},
                                  {0, 0, 0, 0}};
    int c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":c:", opts, NULL)) != -1) {
        if (c == 'c')
            *conf = optarg;
        else if (c == 'f')
            *flag = true;
        else
            return cli_bad_option(cmd, argv, c);
    }
    const int want = file != NULL ? 1 : 0;
    if (argc - optind != want) {
        cli_error(cmd, "%s (see tlpmesh %s --help)",
                  want ? "give exactly one FILE" : "unexpected argument", cmd);
        return CLI_USAGE;
    }
    if (file != NULL)
        *file = argv[optind];
    return CLI_OK;
}

int cli_backup(int argc, char **argv)
{
    const char *conf = NULL, *file = NULL;
    bool force = false;
    int rc = parse_args("backup", argc, argv, &conf, &force, "force", &file);
    if (rc != CLI_OK)
        return rc;
    struct stat st;
    if (!force && lstat(file, &st) == 0) {
        cli_error("backup", "%s exists (remove it, or --force to replace it)", file);
        return CLI_FAIL;
    }
    struct cli_node n;
    rc = cli_open("backup", conf, CLI_OPEN_STORE_RO, &n);
    if (rc != CLI_OK)
        return rc;
    char why[LIMIT_PATH_BYTES + 128] = "";
    int err = store_backup(n.store, file, why, sizeof why);
    if (err != STORE_OK) {
        cli_error("backup", "%s", why[0] ? why : store_strerror(err));
        cli_close(&n);
        return CLI_FAIL;
    }
    if (stat(file, &st) != 0)
        st.st_size = 0;
    printf("backup: %s written (%lld bytes, compacted)\n", file, (long long)st.st_size);
    cli_close(&n);
    return CLI_OK;
}

/* --- restore --- */

/* Some process has the LMDB environment open: LMDB holds a shared lock on the first byte of the
 * lock file for as long as an environment is open. Its pid, or 0 when none. */
static pid_t store_holder(const char *data_dir)
{
    char path[LIMIT_PATH_BYTES];
    snprintf(path, sizeof path, "%s/%s-lock", data_dir, STORE_FILE_NAME);
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return 0;
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1};
    pid_t pid = fcntl(fd, F_GETLK, &fl) == 0 && fl.l_type != F_UNLCK ? fl.l_pid : 0;
    close(fd);
    return pid;
}

static bool node_answers(const struct config *cfg)
{
    json_t *resp = cli_control_ask(cfg->control_path, json_pack("{s:s}", "cmd", "status"));
    json_decref(resp);
    return resp != NULL;
}

static int refuse_if_open(const struct config *cfg)
{
    if (node_answers(cfg)) {
        cli_error("restore",
                  "the node of %s is running (its control socket %s answers): stop "
                  "it first",
                  cfg->path, cfg->control_path);
        return CLI_FAIL;
    }
    pid_t pid = store_holder(cfg->data_dir);
    if (pid != 0) {
        cli_error("restore",
                  "the store in DataDir %s is open in process %ld (a node or a "
                  "reader such as export --every): stop it first",
                  cfg->data_dir, (long)pid);
        return CLI_FAIL;
    }
    return CLI_OK;
}

/* Copies src to dst (created, 0600) and fsyncs it. */
static int copy_file(const char *src, const char *dst, char *why, size_t why_len)
{
    int in = open(src, O_RDONLY | O_CLOEXEC);
    if (in < 0) {
        snprintf(why, why_len, "%s: %s", src, strerror(errno));
        return -1;
    }
    int out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (out < 0) {
        snprintf(why, why_len, "%s: %s", dst, strerror(errno));
        close(in);
        return -1;
    }
    static char buf[1 << 16];
    ssize_t got;
    int rc = 0;
    /* each read advances through the file, so the loop ends at its size */
    while (rc == 0 && (got = read(in, buf, sizeof buf)) != 0) {
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0 || write(out, buf, (size_t)got) != got) {
            snprintf(why, why_len, "copying %s to %s: %s", src, dst, strerror(errno));
            rc = -1;
        }
    }
    if (rc == 0 && fsync(out) != 0) {
        snprintf(why, why_len, "%s: %s", dst, strerror(errno));
        rc = -1;
    }
    close(out);
    close(in);
    return rc;
}

/* The backup, copied into DIR/restore.tmp/, must open as a store (read-write: a backup of the
 * previous schema is migrated there, with its own .bak) and pass store_check. */
static int stage(const char *file, const char *tmpdir, char *why, size_t why_len,
                 struct store_check_report *rep)
{
    char path[LIMIT_PATH_BYTES + 32];
    if (mkdir(tmpdir, 0700) != 0 && errno != EEXIST) {
        snprintf(why, why_len, "%s: %s", tmpdir, strerror(errno));
        return -1;
    }
    snprintf(path, sizeof path, "%s/%s", tmpdir, STORE_FILE_NAME);
    if (copy_file(file, path, why, why_len) != 0)
        return -1;
    struct store *s = NULL;
    char swhy[LIMIT_PATH_BYTES + 128] = "";
    int err = store_open(&s, tmpdir, NULL, swhy, sizeof swhy);
    if (err == STORE_OK)
        err = store_check(s, rep, NULL, NULL);
    store_close(s);
    if (err != STORE_OK) {
        snprintf(why, why_len, "%s is not a usable store: %s", file,
                 swhy[0] ? swhy : store_strerror(err));
        return -1;
    }
    if (rep->problems != 0) {
        snprintf(why, why_len, "%s fails check-store (%llu problems): not restored", file,
                 (unsigned long long)rep->problems);
        return -1;
    }
    return 0;
}

/* Removes what stage() may have left: the copy, its lock file, the backup a migration wrote. */
static void unstage(const char *tmpdir)
{
    char path[LIMIT_PATH_BYTES + 64], bak[32];
    snprintf(bak, sizeof bak, ".schema%d.bak", STORE_SCHEMA_VERSION - 1);
    const char *const suffix[] = {"", "-lock", bak};
    for (size_t i = 0; i < sizeof suffix / sizeof suffix[0]; i++) {
        snprintf(path, sizeof path, "%s/%s%s", tmpdir, STORE_FILE_NAME, suffix[i]);
        unlink(path);
    }
    rmdir(tmpdir);
}

/* Moves the current store aside (store.mdb.before-restore) and the staged one in; both renames
 * stay inside DataDir, so each is atomic, and an fsync of the directory makes them durable. */
static int swap_in(const char *data_dir, const char *tmpdir, bool *kept, char *why,
                   size_t why_len)
{
    char cur[LIMIT_PATH_BYTES + 32], old[LIMIT_PATH_BYTES + 64], staged[LIMIT_PATH_BYTES + 32];
    snprintf(cur, sizeof cur, "%s/%s", data_dir, STORE_FILE_NAME);
    snprintf(old, sizeof old, "%s/%s.before-restore", data_dir, STORE_FILE_NAME);
    snprintf(staged, sizeof staged, "%s/%s", tmpdir, STORE_FILE_NAME);
    /* run as root for a node of the tlpmesh user: the store stays that user's */
    if (cli_match_owner(staged, data_dir) != 0) {
        snprintf(why, why_len, "%s: cannot give it DataDir's owner: %s", cur, strerror(errno));
        return -1;
    }
    *kept = rename(cur, old) == 0;
    if (!*kept && errno != ENOENT) {
        snprintf(why, why_len, "%s: %s", cur, strerror(errno));
        return -1;
    }
    if (rename(staged, cur) != 0) {
        snprintf(why, why_len, "%s: %s", cur, strerror(errno));
        return -1;
    }
    int dfd = open(data_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        (void)fsync(dfd);
        close(dfd);
    }
    return 0;
}

int cli_restore(int argc, char **argv)
{
    const char *conf = NULL, *file = NULL;
    bool unused = false;
    int rc = parse_args("restore", argc, argv, &conf, &unused, NULL, &file);
    if (rc != CLI_OK)
        return rc;
    struct cli_node n;
    rc = cli_open("restore", conf, 0, &n);
    if (rc != CLI_OK)
        return rc;
    rc = refuse_if_open(&n.cfg);
    char tmpdir[LIMIT_PATH_BYTES + 16], why[2 * LIMIT_PATH_BYTES] = "";
    snprintf(tmpdir, sizeof tmpdir, "%s/restore.tmp", n.cfg.data_dir);
    struct store_check_report rep;
    bool kept = false;
    if (rc == CLI_OK && mkdir(n.cfg.data_dir, 0700) != 0 && errno != EEXIST) {
        snprintf(why, sizeof why, "cannot create DataDir %s: %s", n.cfg.data_dir, strerror(errno));
        rc = CLI_FAIL;
    }
    if (rc == CLI_OK && stage(file, tmpdir, why, sizeof why, &rep) != 0)
        rc = CLI_FAIL;
    /* again, just before the swap: a node may have started while the copy was checked */
    if (rc == CLI_OK)
        rc = refuse_if_open(&n.cfg);
    if (rc == CLI_OK && swap_in(n.cfg.data_dir, tmpdir, &kept, why, sizeof why) != 0)
        rc = CLI_FAIL;
    unstage(tmpdir);
    if (why[0])
        cli_error("restore", "%s", why);
    if (rc == CLI_OK && kept)
        printf("restore: %s is the store of %s now (%llu records; the previous one is "
               "%s/%s.before-restore)\n",
               file, n.cfg.path, (unsigned long long)rep.records, n.cfg.data_dir, STORE_FILE_NAME);
    else if (rc == CLI_OK)
        printf("restore: %s is the store of %s now (%llu records; there was none before)\n",
               file, n.cfg.path, (unsigned long long)rep.records);
    cli_close(&n);
    return rc;
}

/* --- check-store --- */

struct problems {
    bool json;
    json_t *list;
};

static void on_problem(const char *line, void *ctx)
{
    struct problems *p = ctx;
    if (p->json)
        json_array_append_new(p->list, json_string(line));
    else
        printf("problem: %s\n", line);
}

static json_t *report_json(const struct store_check_report *r)
{
    return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "records",
                     (json_int_t)r->records, "indicators", (json_int_t)r->indicators, "revocations",
                     (json_int_t)r->revocations, "sightings", (json_int_t)r->sightings, "rosters",
                     (json_int_t)r->rosters, "index_entries", (json_int_t)r->index_entries,
                     "pruned", (json_int_t)r->pruned, "revoked", (json_int_t)r->revoked,
                     "foreign_revocations", (json_int_t)r->foreign_revocations, "unknown_targets",
                     (json_int_t)r->unknown_targets, "problems", (json_int_t)r->problems);
}

int cli_check_store(int argc, char **argv)
{
    const char *conf = NULL;
    struct problems p = {0};
    int rc = parse_args("check-store", argc, argv, &conf, &p.json, "json", NULL);
    if (rc != CLI_OK)
        return rc;
    struct cli_node n;
    rc = cli_open("check-store", conf, CLI_OPEN_STORE_RO, &n);
    if (rc != CLI_OK)
        return rc;
    p.list = p.json ? json_array() : NULL;
    struct store_check_report r;
    int err = store_check(n.store, &r, on_problem, &p);
    if (err != STORE_OK) {
        cli_error("check-store", "DataDir %s: %s", n.cfg.data_dir, store_strerror(err));
        json_decref(p.list);
        cli_close(&n);
        return CLI_FAIL;
    }
    if (p.json) {
        json_t *o = report_json(&r);
        json_object_set_new(o, "problem_lines", p.list);
        cli_print_json_line(o);
    } else {
        if (r.problems > LIMIT_STORE_CHECK_LISTED)
            printf("problem: ... and %llu more\n",
                   (unsigned long long)(r.problems - LIMIT_STORE_CHECK_LISTED));
        printf("check-store: DataDir %s: %llu records (%llu indicators, %llu revocations, %llu "
               "sightings, %llu rosters), %llu index entries, %llu pruned, %llu revoked, %llu "
               "revocations or sightings of unknown records: %llu problems\n",
               n.cfg.data_dir, (unsigned long long)r.records, (unsigned long long)r.indicators,
               (unsigned long long)r.revocations, (unsigned long long)r.sightings,
               (unsigned long long)r.rosters, (unsigned long long)r.index_entries,
               (unsigned long long)r.pruned, (unsigned long long)r.revoked,
               (unsigned long long)r.unknown_targets, (unsigned long long)r.problems);
    }
    cli_close(&n);
    return r.problems == 0 ? CLI_OK : CLI_FAIL;
}
