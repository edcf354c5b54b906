/* cli_export.c - `tlpmesh export`: the store, through the gate, into files SOC tools read.
 *
 * Formats live in node/formats/export.c; this file reads the store (read-only: it runs beside the
 * node), decides the export's gate peer, and replaces files atomically so that a consumer (Zeek
 * rereads its intel files on change, Suricata on USR2, MISP over HTTP) never sees half a file:
 *   one file:   a temporary file in the same directory (mode 0640 less the umask, or --mode;
 *               --group before the first byte), written, fsync'ed, renamed over PATH, then the
 *               directory fsync'ed (crypto/atomicfile.h);
 *   directory:  PATH is created if missing and each of its files is replaced that way, in the
 *               order export_dir_files() gives (lists before the rules that load them, the MISP
 *               events before the manifest that names them). A failed export leaves every file that
 *               was not yet replaced as it was, and never leaves a temporary file behind. After a
 *               misp-feed, event files (<uuid>.json) it no longer writes are removed: the
 *               directory is the export's own.
 *   never:      a device, FIFO or symlink (-o /dev/stdout as root would become a file); -o -
 *               streams a single-file format to standard output instead.
 *
 * Ceiling: --max-tlp defaults to amber, the level partners routinely exchange
 * (CONFIG_DEFAULT_MAX_TLP): AMBER+STRICT and RED leave the node in a file only when the operator
 * asks for them. RED additionally needs N's own key among the record's recipients (export.h).
 */
#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "crypto/atomicfile.h"
#include "node/cli/cli.h"
#include "node/core/community.h"
#include "node/formats/export.h"
#include "node/formats/timefmt.h"

#define CMD "export"

struct export_args {
    const char *conf, *format, *max_tlp, *since, *every, *out, *mode, *group;
    bool stix_tlp1;
    uint64_t types;
    uint64_t every_ms;
};

/* --mode and --group for every file an export writes (a Suricata or Zeek of another user must
 * read them); set once by parse_args, read by write_atomic. */
static struct {
    mode_t mode; /* exactly this when has_mode; else 0640 less the umask */
    bool has_mode;
    gid_t gid;
    bool has_group;
} perms;

static int parse_type(const char *name, uint64_t *types)
{
    const int t = proto_itype_parse(name);
    if (t < 0) {
        cli_error(CMD, "--type '%s' is not a supported type (see tlpmesh publish --help)", name);
        return CLI_USAGE;
    }
    assert(t < 64);
    *types |= 1ull << t;
    return CLI_OK;
}

static bool to_stdout(const struct export_args *a)
{
    return strcmp(a->out, "-") == 0;
}

/* --mode (octal, at most 0777), --group (name or number), and what -o - allows. */
static int check_output(const struct export_args *a, int format)
{
    char *end = NULL;
    if (a->mode) {
        const unsigned long m = strtoul(a->mode, &end, 8);
        if (!a->mode[0] || *end || m > 0777) {
            cli_error(CMD, "--mode '%s' is not an octal file mode like 0640", a->mode);
            return CLI_USAGE;
        }
        perms.mode = (mode_t)m;
        perms.has_mode = true;
    }
    if (a->group) {
        const struct group *g = getgrnam(a->group);
        const unsigned long gid = g ? g->gr_gid : strtoul(a->group, &end, 10);
        if (!g && (!a->group[0] || *end)) {
            cli_error(CMD, "--group '%s' is neither a group name nor a number", a->group);
            return CLI_USAGE;
        }
        perms.gid = (gid_t)gid;
        perms.has_group = true;
    }
    if (to_stdout(a) && (export_format_is_dir(format) || a->every || a->mode || a->group)) {
        cli_error(CMD, "-o - (standard output) takes a single-file format, once: not %s",
                  export_format_is_dir(format) ? "a directory format"
                  : a->every                   ? "--every"
                                               : "--mode or --group");
        return CLI_USAGE;
    }
    return CLI_OK;
}

static int parse_args(int argc, char **argv, struct export_args *a, struct export_job *job)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'}, {"format", required_argument, NULL, 'f'},
        {"max-tlp", required_argument, NULL, 'm'}, {"type", required_argument, NULL, 't'},
        {"since", required_argument, NULL, 's'},   {"stix-tlp1", no_argument, NULL, '1'},
        {"every", required_argument, NULL, 'e'},   {"output", required_argument, NULL, 'o'},
        {"mode", required_argument, NULL, 'M'},    {"group", required_argument, NULL, 'G'},
        {0, 0, 0, 0}};
    int c, rc = CLI_OK;
    opterr = 0;
    while (rc == CLI_OK && (c = getopt_long(argc, argv, ":c:o:", opts, NULL)) != -1) {
        switch (c) {
        case 'c': a->conf = optarg; break;
        case 'f': a->format = optarg; break;
        case 'm': a->max_tlp = optarg; break;
        case 't': rc = parse_type(optarg, &a->types); break;
        case 's': a->since = optarg; break;
        case '1': a->stix_tlp1 = true; break;
        case 'e': a->every = optarg; break;
        case 'o': a->out = optarg; break;
        case 'M': a->mode = optarg; break;
        case 'G': a->group = optarg; break;
        default: return cli_bad_option(CMD, argv, c);
        }
    }
    if (rc != CLI_OK)
        return rc;
    if (optind != argc) {
        cli_error(CMD, "unexpected argument '%s' (see tlpmesh export --help)", argv[optind]);
        return CLI_USAGE;
    }
    if (!a->format || !a->out) {
        cli_error(CMD, "--format and -o PATH are required (see tlpmesh export --help)");
        return CLI_USAGE;
    }
    if ((job->format = export_format_parse(a->format)) < 0) {
        cli_error(CMD, "--format '%s' is not one of zeek, suricata, suricata-iprep, csv, hosts, "
                       "stix, misp-feed, text",
                  a->format);
        return CLI_USAGE;
    }
    const int tlp = a->max_tlp ? proto_tlp_parse(a->max_tlp) : CONFIG_DEFAULT_MAX_TLP;
    if (tlp < 0) {
        cli_error(CMD, "--max-tlp '%s' is not one of clear, green, amber, amber+strict, red",
                  a->max_tlp);
        return CLI_USAGE;
    }
    job->max_tlp = (uint8_t)tlp;
    if (a->stix_tlp1 && job->format != EXPORT_FMT_STIX) {
        cli_error(CMD, "--stix-tlp1 applies to --format stix only");
        return CLI_USAGE;
    }
    job->stix_tlp = a->stix_tlp1 ? STIXMAP_TLP1 : STIXMAP_TLP2;
    job->types = a->types;
    uint64_t since;
    if (a->since && timefmt_parse_point(a->since, cli_now_ms(), -1, &since) != TIMEFMT_OK) {
        cli_error(CMD, "--since '%s' is not an RFC 3339 time or a duration like 7d", a->since);
        return CLI_USAGE;
    }
    if (a->every && (timefmt_parse_duration(a->every, &a->every_ms) != TIMEFMT_OK ||
                     a->every_ms < LIMIT_EXPORT_EVERY_MIN_MS)) {
        cli_error(CMD, "--every '%s' is not a duration of at least 1s (like 30s, 5m)", a->every);
        return CLI_USAGE;
    }
    return check_output(a, job->format);
}

/* ---- the store as an export source ---- */

struct store_source {
    struct store *st;
    uint64_t since_ms, now_ms;
    export_record_cb cb;
    void *cb_ctx;
    struct cli_shown *shown; /* one decode buffer: records are large */
    int err;
};

static int source_cb(const uint8_t id[LIMIT_ID_BYTES], const uint8_t *signed_rec, size_t len,
                     uint64_t seq, void *ctx)
{
    struct store_source *s = ctx;
    const int rc = cli_load_shown(s->st, id, signed_rec, len, seq, s->now_ms, s->shown);
    if (rc != PROTO_OK) {
        s->err = rc;
        return 1;
    }
    return s->cb(id, &s->shown->rec, s->shown->revoked, s->cb_ctx);
}

static int source_each(void *src, export_record_cb cb, void *cb_ctx)
{
    struct store_source *s = src;
    s->cb = cb;
    s->cb_ctx = cb_ctx;
    s->err = 0;
    const int rc = store_iter_time(s->st, s->since_ms, UINT64_MAX, source_cb, s);
    if (s->err)
        return -1;
    return rc;
}

/* ---- atomic files ---- */

/* Opens the temporary file of path with the export's mode and group (crypto/atomicfile.h). */
static int open_target(const char *path, struct atomicfile *af)
{
    const mode_t um = umask(0);
    umask(um);
    /* Group-readable at most unless --mode says otherwise: an AMBER export is for the SOC's own
     * tools, never for every local user. */
    const int arc =
        atomicfile_open(af, path, ATOMICFILE_REPLACE, perms.has_mode ? perms.mode : 0640 & ~um);
    if (arc == ATOMICFILE_E_PATH) {
        cli_error(CMD, "-o path too long");
        return CLI_USAGE;
    }
    if (arc != ATOMICFILE_OK) {
        cli_error(CMD, "cannot create a file beside %s: %s", path, strerror(errno));
        return CLI_FAIL;
    }
    if (perms.has_group && atomicfile_set_group(af, perms.gid) != ATOMICFILE_OK) {
        cli_error(CMD, "--group: cannot give %s group %lu: %s", path, (unsigned long)perms.gid,
                  strerror(errno));
        return CLI_FAIL;
    }
    return CLI_OK;
}

/* Writes one export file to path through a temporary file beside it (crypto/atomicfile.h). */
static int write_atomic(const char *path, const struct export_job *job, const char *name,
                        struct export_stats *st)
{
    struct atomicfile af;
    const int orc = open_target(path, &af);
    if (orc != CLI_OK)
        return orc;
    /* A stream of its own descriptor: fclose() flushes it, the commit fsyncs and closes af's. */
    const int fd = dup(af.fd);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f && fd >= 0)
        close(fd);
    int erc = f ? export_write(job, name, f, st) : EXPORT_E_IO;
    int saved = errno; /* of the write that failed, not of the cleanup after it */
    if (f && fclose(f) != 0 && erc == EXPORT_OK) {
        erc = EXPORT_E_IO;
        saved = errno;
    }
    if (erc != EXPORT_OK) {
        atomicfile_abort(&af);
    } else {
        const int crc = atomicfile_commit(&af);
        if (crc == ATOMICFILE_OK)
            return CLI_OK;
        if (crc == ATOMICFILE_E_RENAME) {
            cli_error(CMD, "cannot replace %s: %s", path, strerror(errno));
            return CLI_FAIL;
        }
        erc = EXPORT_E_IO;
        saved = errno;
    }
    cli_error(CMD, "writing %s: %s%s%s", path, export_strerror(erc),
              erc == EXPORT_E_IO ? ": " : "", erc == EXPORT_E_IO ? strerror(saved) : "");
    return CLI_FAIL;
}

/* What lstat says path is, when an export must not replace it; NULL for a regular file or
 * nothing (replacing /dev/stdout with a file, or a symlink with one, would surprise). */
static const char *not_a_file(const char *path)
{
    struct stat sb;
    if (lstat(path, &sb) != 0 || S_ISREG(sb.st_mode))
        return NULL;
    return S_ISLNK(sb.st_mode)    ? "a symbolic link"
           : S_ISCHR(sb.st_mode)  ? "a character device"
           : S_ISBLK(sb.st_mode)  ? "a block device"
           : S_ISFIFO(sb.st_mode) ? "a FIFO"
           : S_ISDIR(sb.st_mode)  ? "a directory"
                                  : "not a regular file";
}

/* write_atomic, for a path that is a regular file or nothing yet. */
static int write_target(const char *path, const struct export_job *job, const char *name,
                        struct export_stats *st)
{
    const char *what = not_a_file(path);
    if (what) {
        cli_error(CMD, "-o %s is %s: an export replaces regular files only (-o - writes to "
                       "standard output)",
                  path, what);
        return CLI_FAIL;
    }
    return write_atomic(path, job, name, st);
}

/* -o -: one pass straight to standard output (a pipe, a terminal): nothing to replace. */
static int write_stdout(const struct export_job *job, struct export_stats *st)
{
    const int erc = export_write(job, NULL, stdout, st);
    if (erc != EXPORT_OK) {
        cli_error(CMD, "writing to standard output: %s", export_strerror(erc));
        return CLI_FAIL;
    }
    return CLI_OK;
}

/* "left out 3 records: 2 CIDR ranges: ..., 1 of type sha512: no file of suricata takes it" on
 * stderr, so that nothing is dropped without a word. */
static void print_left_out(const struct export_job *job, const struct export_stats *st)
{
    uint64_t total = 0;
    for (size_t i = 0; i < st->n_left; i++)
        total += st->left[i].n;
    for (int t = 0; t < PROTO_ITYPE_END; t++)
        total += st->left_type[t];
    if (total == 0)
        return;
    fprintf(stderr, "tlpmesh export: left out %llu records the %s format cannot carry:",
            (unsigned long long)total, export_format_name(job->format));
    const char *sep = " ";
    for (size_t i = 0; i < st->n_left; i++, sep = "; ")
        fprintf(stderr, "%s%llu %s", sep, (unsigned long long)st->left[i].n, st->left[i].why);
    for (int t = 0; t < PROTO_ITYPE_END; t++) {
        if (st->left_type[t] == 0)
            continue;
        fprintf(stderr, "%s%llu of type %s (no file of the format takes it)", sep,
                (unsigned long long)st->left_type[t], proto_itype_name(t));
        sep = "; ";
    }
    fputc('\n', stderr);
}

/* A file name an export's MISP event has: 36 characters of lower-case hex and '-', ".json". */
static bool event_file_name(const char *name)
{
    return strlen(name) == 41 && strcmp(name + 36, ".json") == 0 &&
           strspn(name, "0123456789abcdef-") == 36;
}

/* Removes the event files of an earlier export that this one no longer writes (an origin whose
 * records all left it), so that no file in the feed keeps records that left the export; the
 * manifest, written before, no longer names them. The directory is the export's own. */
static void prune_events(const char *path, char (*names)[LIMIT_EXPORT_FILE_NAME_BYTES],
                         size_t n)
{
    DIR *d = opendir(path);
    const struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        bool keep = !event_file_name(e->d_name);
        for (size_t i = 0; i < n && !keep; i++)
            keep = strcmp(names[i], e->d_name) == 0;
        char file[LIMIT_PATH_BYTES];
        if (!keep && (size_t)snprintf(file, sizeof file, "%s/%s", path, e->d_name) < sizeof file &&
            !not_a_file(file))
            (void)unlink(file); /* best effort: MISP reads only what the manifest names */
    }
    if (d)
        closedir(d);
}

static int write_dir(const char *path, const struct export_job *job, struct export_stats *st)
{
    struct stat sb;
    if (mkdir(path, 0777) != 0 && (errno != EEXIST || stat(path, &sb) != 0 || !S_ISDIR(sb.st_mode))) {
        cli_error(CMD, "-o %s: cannot create the directory for --format %s: %s", path,
                  export_format_name(job->format), errno == EEXIST ? "not a directory"
                                                                   : strerror(errno));
        return CLI_FAIL;
    }
    char(*names)[LIMIT_EXPORT_FILE_NAME_BYTES] = NULL;
    const int n = export_dir_files(job, &names);
    int rc = n < 0 ? CLI_FAIL : CLI_OK;
    if (n < 0)
        cli_error(CMD, "-o %s: %s", path, export_strerror(n));
    for (int i = 0; i < n && rc == CLI_OK; i++) {
        char file[LIMIT_PATH_BYTES];
        if ((size_t)snprintf(file, sizeof file, "%s/%s", path, names[i]) >= sizeof file) {
            cli_error(CMD, "-o path too long");
            rc = CLI_USAGE;
        } else {
            rc = write_target(file, job, names[i], st);
        }
    }
    if (rc == CLI_OK && job->format == EXPORT_FMT_MISP_FEED)
        prune_events(path, names, (size_t)n);
    free(names);
    return rc;
}

/* One export at now. */
static int export_once(const struct export_args *a, struct export_job *job,
                       struct store_source *src, struct export_stats *st)
{
    job->now_ms = cli_now_ms();
    job->since_ms = 0;
    if (a->since && timefmt_parse_point(a->since, job->now_ms, -1, &job->since_ms) != TIMEFMT_OK)
        return CLI_USAGE; /* parsed once already; only an out-of-range clock gets here */
    src->now_ms = job->now_ms;
    src->since_ms = job->since_ms;
    export_stats_init(st);
    int rc = to_stdout(a)                        ? write_stdout(job, st)
             : export_format_is_dir(job->format) ? write_dir(a->out, job, st)
                                                 : write_target(a->out, job, NULL, st);
    if (rc == CLI_OK && export_left_out(job, st) != EXPORT_OK) {
        cli_error(CMD, "store: reading the records failed");
        rc = CLI_FAIL;
    }
    if (rc == CLI_OK) {
        /* with -o - the records are stdout: the summary goes beside them */
        FILE *said = to_stdout(a) ? stderr : stdout;
        fprintf(said, "%s: %llu records (%s)\n", to_stdout(a) ? "standard output" : a->out,
                (unsigned long long)st->records, export_format_name(job->format));
        print_left_out(job, st);
        fflush(said);
    }
    return rc;
}

static int last_seq(struct store *s, uint64_t *seq)
{
    struct store_stats ss;
    const int rc = store_stats(s, &ss);
    if (rc == STORE_OK)
        *seq = ss.last_seq;
    return rc;
}

/* --every: re-export when the store got a record (or a revocation) or an exported record expired,
 * at most once per period, until SIGINT/SIGTERM. Runs until told to stop, by design. */
static int export_every(const struct export_args *a, struct export_job *job,
                        struct store_source *src, struct cli_node *n)
{
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    sigprocmask(SIG_BLOCK, &stop, NULL); /* taken only by sigtimedwait below: no handler races */
    struct export_stats st;
    uint64_t seen = 0;
    const int src_rc = last_seq(n->store, &seen);
    if (src_rc != STORE_OK) {
        cli_error(CMD, "store %s: %s", n->cfg.data_dir, store_strerror(src_rc));
        return CLI_FAIL;
    }
    const int rc = export_once(a, job, src, &st);
    if (rc != CLI_OK)
        return rc; /* a first failure is a setup problem (bad -o...): say so now */
    const struct timespec period = {.tv_sec = (time_t)(a->every_ms / 1000),
                                     .tv_nsec = (long)(a->every_ms % 1000) * 1000000L};
    for (;;) {
        const int sig = sigtimedwait(&stop, NULL, &period);
        if (sig == SIGINT || sig == SIGTERM)
            return CLI_OK;
        uint64_t now_seq = seen;
        if (last_seq(n->store, &now_seq) != STORE_OK)
            continue; /* a busy or growing store: try again next period */
        if (now_seq == seen && cli_now_ms() < st.next_expiry_ms)
            continue;
        seen = now_seq;
        /* A failure later on (disk full...) is reported and retried; the old files stay. */
        (void)export_once(a, job, src, &st);
    }
}

struct org_lookup {
    const struct community_table *t;
    const struct config *cfg;
};

static const char *origin_org(void *ctx, const uint8_t key[LIMIT_KEY_BYTES])
{
    const struct org_lookup *o = ctx;
    return community_org_of_key(o->t, o->cfg, key);
}

int cli_export(int argc, char **argv)
{
    struct export_args a = {0};
    struct export_job *job = calloc(1, sizeof *job);
    struct cli_shown *shown = calloc(1, sizeof *shown);
    int rc = CLI_FAIL;
    if (!job || !shown) {
        cli_error(CMD, "out of memory");
        goto out_free;
    }
    if ((rc = parse_args(argc, argv, &a, job)) != CLI_OK)
        goto out_free;
    struct cli_node n;
    if ((rc = cli_open(CMD, a.conf, CLI_OPEN_KEY | CLI_OPEN_STORE_RO, &n)) != CLI_OK)
        goto out_free;
    /* Provenance names each origin's organisation as this node knows it (export.h). */
    struct community_table t;
    community_table_init(&t);
    struct org_lookup orgs = {.t = &t, .cfg = &n.cfg};
    if ((rc = cli_community_table(CMD, &n, &t)) != CLI_OK)
        goto out_close;
    job->origin_org = origin_org;
    job->origin_ctx = &orgs;
    /* The export is gated as N itself: only the public key is needed, the secret goes now. */
    memcpy(job->self.key, n.id.sign_pk, LIMIT_KEY_BYTES);
    keys_identity_wipe(&n.id);
    n.has_key = false;
    snprintf(job->self.org, sizeof job->self.org, "%s", n.cfg.organisation);
    struct store_source src = {.st = n.store, .shown = shown};
    job->src = (struct export_source){.each = source_each, .src = &src};
    if (a.every) {
        rc = export_every(&a, job, &src, &n);
    } else {
        struct export_stats st;
        rc = export_once(&a, job, &src, &st);
    }
out_close:
    community_table_free(&t);
    cli_close(&n);
out_free:
    free(job);
    free(shown);
    return rc;
}
