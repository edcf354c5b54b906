/* replay.c - a main() for fuzz targets when libFuzzer is not there (gcc, CI).
 *
 *   fuzz_replay_<target> CORPUS_DIR [MUTATIONS [SEED]]
 *
 * Runs the target over every regular file in CORPUS_DIR (name order), then over MUTATIONS inputs
 * (default FUZZ_REPLAY_MUTATIONS) made from those files by a fixed pseudo-random generator
 * (SEED, default 1): bit flips, byte edits, inserts, deletes, duplicated and spliced ranges,
 * truncation. The same arguments give the same inputs on every machine, so a failure in CI
 * reproduces exactly. It is a cheap smoke test of the target and its invariants, not a
 * replacement for coverage-guided fuzzing (scripts/fuzz.sh).
 *
 * When the target crashes or an invariant fails, the input is written to
 * fuzz-failure-<target>.bin in the current directory (and printed in hex when short) before the
 * process dies, so it can be minimised with libFuzzer and added to the corpus.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"

#define FUZZ_REPLAY_MUTATIONS 20000
#define FUZZ_REPLAY_MAX_FILES 4096
#define FUZZ_REPLAY_MAX_FILE (1u << 20)  /* seeds are small; a huge file is a mistake */
#define FUZZ_REPLAY_MAX_INPUT 16384      /* mutated inputs never grow past this */
#define FUZZ_REPLAY_MAX_EDITS 8          /* edits stacked on one mutated input */
#define FUZZ_REPLAY_HEX_MAX 512          /* failing inputs up to this size are printed in hex */

struct seed {
    uint8_t *data;
    size_t len;
};

/* The input being run, for the failure handlers (they may only use async-signal-safe calls). */
static const uint8_t *g_cur;
static size_t g_cur_len;
static char g_dump_path[256];

static void dump_current(void)
{
    static const char hex[] = "0123456789abcdef";
    int fd;

    if (g_cur == NULL)
        return;
    fd = open(g_dump_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
        ssize_t w = write(fd, g_cur, g_cur_len);
        (void)w;
        close(fd);
    }
    if (write(2, "fuzz-replay: failing input saved to ", 36) < 0 ||
        write(2, g_dump_path, strlen(g_dump_path)) < 0 || write(2, "\n", 1) < 0)
        return;
    if (g_cur_len > FUZZ_REPLAY_HEX_MAX)
        return;
    for (size_t i = 0; i < g_cur_len; i++) {
        char b[2] = {hex[g_cur[i] >> 4], hex[g_cur[i] & 15]};
        if (write(2, b, 2) < 0)
            return;
    }
    if (write(2, "\n", 1) < 0)
        return;
}

static void on_fatal_signal(int sig)
{
    dump_current();
    signal(sig, SIG_DFL);
    raise(sig);
}

/* Provided by the sanitizer runtimes (ASan reports and exits without a signal); absent in plain
 * builds, where the weak reference stays NULL. */
extern void __sanitizer_set_death_callback(void (*cb)(void)) __attribute__((weak));

static void install_failure_hooks(const char *argv0)
{
    const char *base = strrchr(argv0, '/');
    base = base ? base + 1 : argv0;
    if (strncmp(base, "fuzz_replay_", 12) == 0)
        base += 12;
    snprintf(g_dump_path, sizeof g_dump_path, "fuzz-failure-%s.bin", base);
    signal(SIGABRT, on_fatal_signal);
    signal(SIGSEGV, on_fatal_signal);
    signal(SIGBUS, on_fatal_signal);
    signal(SIGFPE, on_fatal_signal);
    if (__sanitizer_set_death_callback != NULL)
        __sanitizer_set_death_callback(dump_current);
}

static void run_one(const uint8_t *data, size_t len)
{
    g_cur = data;
    g_cur_len = len;
    FUZZ_CHECK(LLVMFuzzerTestOneInput(data, len) == 0);
    g_cur = NULL;
}

static int read_file(const char *path, struct seed *out)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    size_t len;
    int rc = -1;

    if (f == NULL)
        return -1;
    buf = malloc(FUZZ_REPLAY_MAX_FILE + 1);
    if (buf == NULL)
        goto out;
    len = fread(buf, 1, FUZZ_REPLAY_MAX_FILE + 1, f);
    if (ferror(f) || len > FUZZ_REPLAY_MAX_FILE) {
        fprintf(stderr, "fuzz-replay: %s: unreadable or over %u bytes\n", path,
                FUZZ_REPLAY_MAX_FILE);
        goto out;
    }
    out->data = buf;
    out->len = len;
    buf = NULL;
    rc = 0;
out:
    free(buf);
    fclose(f);
    return rc;
}

static int only_files(const struct dirent *d)
{
    return d->d_name[0] != '.';
}

/* Loads every file of dir into seeds[]; returns the count or -1. */
static int load_corpus(const char *dir, struct seed *seeds, size_t cap)
{
    struct dirent **names = NULL;
    int n = scandir(dir, &names, only_files, alphasort);
    size_t count = 0;
    int rc = 0;

    if (n < 0) {
        fprintf(stderr, "fuzz-replay: %s: %s\n", dir, strerror(errno));
        return -1;
    }
    for (int i = 0; i < n; i++) {
        char path[4096];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", dir, names[i]->d_name);
        if (rc == 0 && stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
            if (count == cap || read_file(path, &seeds[count]) < 0) {
                fprintf(stderr, "fuzz-replay: %s: cannot load\n", path);
                rc = -1;
            } else {
                count++;
            }
        }
        free(names[i]);
    }
    free(names);
    if (rc < 0) {
        for (size_t i = 0; i < count; i++)
            free(seeds[i].data);
        return -1;
    }
    return (int)count;
}

/* xorshift64*: fixed, portable, good enough to pick edits. */
static uint64_t rnd_next(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 0x2545F4914F6CDD1DULL;
}

static size_t rnd_below(uint64_t *s, size_t n)
{
    return n == 0 ? 0 : (size_t)(rnd_next(s) % n);
}

static const uint8_t interesting[] = {0x00, 0x01, 0x7f, 0x80, 0xff, 0xc0, 0xc4, 0xd9, 0xcf,
                                      '"', '\'', '\\', '\n', ',', '[', '{', '=', '#', '.', ':'};

/* Applies one edit to buf[0..*len) (capacity FUZZ_REPLAY_MAX_INPUT). */
static void mutate_once(uint64_t *s, uint8_t *buf, size_t *len, const struct seed *seeds,
                        size_t n_seeds)
{
    size_t at = rnd_below(s, *len + 1), span;

    switch (rnd_below(s, 8)) {
    case 0: /* flip a bit */
        if (*len > 0)
            buf[at % *len] ^= (uint8_t)(1u << rnd_below(s, 8));
        break;
    case 1: /* a random byte */
        if (*len > 0)
            buf[at % *len] = (uint8_t)rnd_next(s);
        break;
    case 2: /* a byte parsers care about */
        if (*len > 0)
            buf[at % *len] = interesting[rnd_below(s, sizeof interesting)];
        break;
    case 3: /* insert a byte */
        if (*len < FUZZ_REPLAY_MAX_INPUT) {
            memmove(buf + at + 1, buf + at, *len - at);
            buf[at] = (uint8_t)rnd_next(s);
            (*len)++;
        }
        break;
    case 4: /* delete a range */
        span = rnd_below(s, *len - at + 1);
        memmove(buf + at, buf + at + span, *len - at - span);
        *len -= span;
        break;
    case 5: /* duplicate a range in place */
        span = rnd_below(s, *len - at + 1);
        if (*len + span <= FUZZ_REPLAY_MAX_INPUT) {
            memmove(buf + at + span, buf + at, *len - at);
            *len += span;
        }
        break;
    case 6: { /* splice: the tail of another seed replaces ours from `at` */
        const struct seed *o = &seeds[rnd_below(s, n_seeds)];
        size_t from = rnd_below(s, o->len + 1);
        span = o->len - from;
        if (at + span > FUZZ_REPLAY_MAX_INPUT)
            span = FUZZ_REPLAY_MAX_INPUT - at;
        if (span > 0)
            memcpy(buf + at, o->data + from, span);
        *len = at + span;
        break;
    }
    default: /* truncate */
        *len = at;
        break;
    }
}

static void run_mutations(const struct seed *seeds, size_t n_seeds, unsigned long count,
                          uint64_t state)
{
    uint8_t *buf = malloc(FUZZ_REPLAY_MAX_INPUT);
    if (buf == NULL)
        abort();
    for (unsigned long i = 0; i < count; i++) {
        const struct seed *base = &seeds[rnd_below(&state, n_seeds)];
        size_t len = base->len < FUZZ_REPLAY_MAX_INPUT ? base->len : FUZZ_REPLAY_MAX_INPUT;
        size_t edits = 1 + rnd_below(&state, FUZZ_REPLAY_MAX_EDITS);
        memcpy(buf, base->data, len);
        for (size_t e = 0; e < edits; e++)
            mutate_once(&state, buf, &len, seeds, n_seeds);
        run_one(buf, len);
    }
    free(buf);
}

int main(int argc, char **argv)
{
    static struct seed seeds[FUZZ_REPLAY_MAX_FILES];
    unsigned long mutations = FUZZ_REPLAY_MUTATIONS;
    uint64_t state = 1;
    int n;

    if (argc < 2 || argc > 4) {
        fprintf(stderr, "usage: %s CORPUS_DIR [MUTATIONS [SEED]]\n", argv[0]);
        return 2;
    }
    if (argc > 2)
        mutations = strtoul(argv[2], NULL, 10);
    if (argc > 3)
        state = strtoull(argv[3], NULL, 10);
    if (state == 0)
        state = 1; /* xorshift's one fixed point */
    install_failure_hooks(argv[0]);
    n = load_corpus(argv[1], seeds, FUZZ_REPLAY_MAX_FILES);
    if (n <= 0) {
        fprintf(stderr, "fuzz-replay: %s: no seed files\n", argv[1]);
        return 1;
    }
    for (int i = 0; i < n; i++)
        run_one(seeds[i].data, seeds[i].len);
    run_mutations(seeds, (size_t)n, mutations, state);
    printf("fuzz-replay: %d seed files and %lu mutations passed\n", n, mutations);
    for (int i = 0; i < n; i++)
        free(seeds[i].data);
    return 0;
}
