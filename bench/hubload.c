/* hubload.c - a hub node's figures (issue 15, docs/OPERATIONS.md "Running a hub"): one real
 * `tlpmesh run` configured with PEERS [Peer] sections, SESSIONS of them opened over loopback by
 * this load generator with real Noise handshakes (node/core/session.h), each from its own
 * identity. Prints one JSON object, the bench/figures.d hook format:
 *   hub_config_load_s     wall time of `tlpmesh check-config` on that config (limit 1 s)
 *   hub_session_rss_kib   the hub's resident memory per open session (limit 64 KiB)
 *   hub_sessions_open     sessions open at once (limit SESSIONS)
 *
 * usage: tlpmesh-hubload TLPMESH DIR [PEERS [SESSIONS]]   (defaults 2000, 1000)
 *
 * The sessions stay idle (no records): the memory figure is what a hub pays per connected
 * constituent. Handshakes are started at most HANDSHAKES at a time, below the hub's half-open
 * admission limit (LIMIT_HALF_OPEN), the way constituents reconnecting after a restart spread.
 */
#include <assert.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>
#include <uv.h>

#include "crypto/keys.h"
#include "node/core/session.h"

enum { HANDSHAKES = LIMIT_HALF_OPEN / 4, DEADLINE_S = 120, IDLE_S = 5 };

struct client {
    uv_tcp_t tcp;
    uv_connect_t connect_req;
    struct hub *h;
    struct keys_identity id;
    uint8_t auth[SESSION_AUTH_BYTES];
    struct session s;
    bool started, open, failed;
};

struct hub {
    uv_loop_t loop;
    uv_timer_t timer;
    struct sockaddr_in addr;
    uint8_t hub_key[LIMIT_KEY_BYTES];
    const char *network;
    struct client *clients;
    size_t n_clients, next, in_flight, n_open, n_failed;
    uint8_t *scratch;
};

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void die(const char *what)
{
    fprintf(stderr, "tlpmesh-hubload: %s\n", what);
    exit(1);
}

/* The peer identities: seeds from the index, so that the config and the clients agree. */
static void peer_identity(size_t i, struct keys_identity *id)
{
    uint8_t seed[LIMIT_KEY_BYTES] = {0x68, 0x75, 0x62};
    memcpy(seed + 8, &i, sizeof i);
    keys_identity_from_seed(seed, id);
}

static uint16_t free_port(void)
{
    uv_loop_t loop;
    uv_tcp_t t;
    struct sockaddr_in a;
    uv_loop_init(&loop);
    uv_tcp_init(&loop, &t);
    uv_ip4_addr("127.0.0.1", 0, &a);
    if (uv_tcp_bind(&t, (const struct sockaddr *)&a, 0) != 0)
        die("cannot bind a port");
    int len = sizeof a;
    uv_tcp_getsockname(&t, (struct sockaddr *)&a, &len);
    uv_close((uv_handle_t *)&t, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    return ntohs(a.sin_port);
}

static void write_config(const char *dir, size_t peers, uint16_t port, struct keys_identity *hub,
                         char *conf, size_t conf_len)
{
    char path[LIMIT_PATH_BYTES];
    snprintf(path, sizeof path, "%s/hub.key", dir);
    unlink(path);
    if (keys_file_generate(path, hub) != KEYS_OK)
        die("cannot write the hub's key");
    snprintf(conf, conf_len, "%s/hub.conf", dir);
    FILE *f = fopen(conf, "w");
    if (!f)
        die("cannot write the config");
    fprintf(f, "[Node]\nKeyFile = hub.key\nDataDir = data\nNetwork = hubnet\nOrganisation = hub\n"
               "Listen = 127.0.0.1:%u\nControl = %s/control.sock\n",
            port, dir);
    for (size_t i = 0; i < peers; i++) {
        struct keys_identity id;
        char b64[LIMIT_PUBKEY_B64_LEN + 1];
        peer_identity(i, &id);
        keys_pubkey_to_b64(id.sign_pk, b64);
        keys_identity_wipe(&id);
        fprintf(f, "\n[Peer]\nName = c%zu\nPublicKey = %s\nOrganisation = org%zu\n", i, b64, i);
    }
    if (fclose(f) != 0)
        die("cannot write the config");
}

/* In a child: stdout is this bench's JSON, so the node's own lines go to stderr. */
static void quiet_stdout(void)
{
    dup2(2, 1);
}

static double check_config_s(const char *tlpmesh, const char *conf)
{
    const double t0 = now_s();
    pid_t pid = fork();
    if (pid == 0) {
        quiet_stdout();
        execl(tlpmesh, tlpmesh, "check-config", "-c", conf, (char *)NULL);
        _exit(127);
    }
    int st;
    if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
        die("check-config refused the generated config");
    return now_s() - t0;
}

/* The hub's CPU seconds so far (user + system, /proc/PID/stat fields 14 and 15). */
static double cpu_s(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f)
        fclose(f);
    buf[n] = 0;
    const char *p = strrchr(buf, ')'); /* the command name may hold spaces */
    unsigned long ut = 0, st = 0;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
        return 0;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* `tlpmesh status --json` against the hub: its output's size in bytes, its wall time in *s. */
static size_t status_bytes(const char *tlpmesh, const char *conf, double *s)
{
    char cmd[2 * LIMIT_PATH_BYTES + 64];
    snprintf(cmd, sizeof cmd, "'%s' status -c '%s' --json", tlpmesh, conf);
    const double t0 = now_s();
    FILE *p = popen(cmd, "r");
    size_t total = 0, n;
    char buf[1 << 14];
    while (p && (n = fread(buf, 1, sizeof buf, p)) > 0)
        total += n;
    if (!p || pclose(p) != 0)
        die("tlpmesh status failed");
    *s = now_s() - t0;
    return total;
}

static long rss_kib(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    long kib = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
            break;
    if (f)
        fclose(f);
    return kib;
}

/* --- the clients --- */

static void start_more(struct hub *h);

static void on_write(uv_write_t *w, int status)
{
    (void)status; /* a failed write shows as a read error */
    free(w);
}

static int c_send(void *ctx, const uint8_t *bytes, size_t len)
{
    struct client *c = ctx;
    uv_write_t *w = malloc(sizeof *w + len);
    if (!w)
        return -1;
    memcpy(w + 1, bytes, len);
    uv_buf_t b = uv_buf_init((char *)(w + 1), (unsigned)len);
    return uv_write(w, (uv_stream_t *)&c->tcp, &b, 1, on_write) == 0 ? 0 : -1;
}

static void c_opened(void *ctx)
{
    struct client *c = ctx;
    c->open = true;
    c->h->n_open++;
    c->h->in_flight--;
    start_more(c->h);
}

static void c_message(void *ctx, uint8_t type, const uint8_t *body, size_t len)
{
    (void)ctx, (void)type, (void)body, (void)len; /* an idle constituent: gossip is ignored */
}

static struct session_cb callbacks(struct client *c)
{
    return (struct session_cb){.ctx = c, .send = c_send, .opened = c_opened,
                               .message = c_message, .scratch = c->h->scratch};
}

static void fail(struct client *c)
{
    if (c->failed)
        return;
    c->failed = true;
    c->h->n_failed++;
    if (c->open)
        c->h->n_open--;
    else
        c->h->in_flight--;
    start_more(c->h);
}

static void on_alloc(uv_handle_t *hd, size_t want, uv_buf_t *b)
{
    (void)hd;
    static char buf[1 << 16];
    (void)want;
    *b = uv_buf_init(buf, sizeof buf);
}

static void on_read(uv_stream_t *st, ssize_t n, const uv_buf_t *b)
{
    struct client *c = st->data;
    if (n < 0) {
        fail(c);
        return;
    }
    const struct session_cb cb = callbacks(c);
    if (n > 0 && session_feed(&c->s, (const uint8_t *)b->base, (size_t)n, &cb) != SESSION_OK)
        fail(c);
}

static void on_connect(uv_connect_t *req, int status)
{
    struct client *c = req->data;
    if (status != 0) {
        fail(c);
        return;
    }
    uint8_t eph[32];
    randombytes_buf(eph, sizeof eph);
    const struct session_params p = {.initiator = true, .id = &c->id, .network = c->h->network,
                                     .ephemeral_sk = eph, .expect_key = c->h->hub_key,
                                     .auth = c->auth};
    const struct session_cb cb = callbacks(c);
    if (session_init(&c->s, &p, &cb) != SESSION_OK ||
        uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) != 0)
        fail(c);
}

/* Each constituent from its own loopback /24 (127.0.0.0/8 is all local), as constituents come
 * from their own networks: the hub's per-address and per-subnet admission limits then see them
 * as the distinct hosts they model. */
static struct sockaddr_in source_addr(size_t i)
{
    char ip[32];
    snprintf(ip, sizeof ip, "127.%zu.%zu.1", 1 + i / 256, i % 256);
    struct sockaddr_in a;
    uv_ip4_addr(ip, 0, &a);
    return a;
}

/* Keeps HANDSHAKES handshakes in flight until every client started. */
static void start_more(struct hub *h)
{
    while (h->in_flight < HANDSHAKES && h->next < h->n_clients) {
        struct client *c = &h->clients[h->next];
        c->h = h;
        peer_identity(h->next++, &c->id);
        session_auth_payload(&c->id, c->auth);
        uv_tcp_init(&h->loop, &c->tcp);
        c->tcp.data = c;
        struct sockaddr_in src = source_addr(h->next - 1);
        c->connect_req.data = c;
        c->started = true;
        h->in_flight++;
        if (uv_tcp_bind(&c->tcp, (const struct sockaddr *)&src, 0) != 0 ||
            uv_tcp_connect(&c->connect_req, &c->tcp, (const struct sockaddr *)&h->addr,
                           on_connect) != 0)
            fail(c);
    }
    if (h->n_open + h->n_failed == h->n_clients)
        uv_stop(&h->loop);
}

static void on_deadline(uv_timer_t *t)
{
    uv_stop(t->loop);
}

/* The hub's CPU while its sessions idle for IDLE_S (keepalives, timers, its loop turns): what
 * scanning 2,000 peers' deadlines costs. The clients keep reading meanwhile. */
static double idle_cpu_fraction(struct hub *h, pid_t pid)
{
    const double c0 = cpu_s(pid), t0 = now_s();
    uv_timer_start(&h->timer, on_deadline, IDLE_S * 1000, 0);
    uv_run(&h->loop, UV_RUN_DEFAULT);
    return (cpu_s(pid) - c0) / (now_s() - t0);
}

static void close_clients(struct hub *h)
{
    for (size_t i = 0; i < h->next; i++) {
        session_free(&h->clients[i].s);
        keys_identity_wipe(&h->clients[i].id);
        uv_close((uv_handle_t *)&h->clients[i].tcp, NULL);
    }
    uv_close((uv_handle_t *)&h->timer, NULL);
    uv_run(&h->loop, UV_RUN_DEFAULT); /* the closes and the writes they cancel */
    uv_loop_close(&h->loop);
    free(h->clients);
    free(h->scratch);
}

/* Waits (deadline) until the hub accepts on its port. */
static void wait_listening(uint16_t port)
{
    const double until = now_s() + 30;
    while (now_s() < until) {
        struct sockaddr_in a;
        uv_ip4_addr("127.0.0.1", port, &a);
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        bool ok = fd >= 0 && connect(fd, (const struct sockaddr *)&a, sizeof a) == 0;
        if (fd >= 0)
            close(fd);
        if (ok)
            return;
        const struct timespec ms10 = {0, 10 * 1000 * 1000};
        nanosleep(&ms10, NULL); /* polling for a condition, bounded by the deadline */
    }
    die("the hub never listened");
}

int main(int argc, char **argv)
{
    if (argc < 3 || argc > 5)
        die("usage: tlpmesh-hubload TLPMESH DIR [PEERS [SESSIONS]]");
    const size_t peers = argc > 3 ? strtoul(argv[3], NULL, 10) : 2000;
    const size_t sessions = argc > 4 ? strtoul(argv[4], NULL, 10) : 1000;
    if (peers == 0 || peers > LIMIT_PEERS || sessions > peers || sodium_init() < 0)
        die("PEERS must be 1..LIMIT_PEERS and SESSIONS at most PEERS");
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl); /* one descriptor per session here too */
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    mkdir(argv[2], 0700);
    const uint16_t port = free_port();
    struct keys_identity hub_id;
    char conf[LIMIT_PATH_BYTES];
    write_config(argv[2], peers, port, &hub_id, conf, sizeof conf);
    const double load_s = check_config_s(argv[1], conf);

    pid_t pid = fork();
    if (pid == 0) {
        quiet_stdout();
        execl(argv[1], argv[1], "run", "-c", conf, (char *)NULL);
        _exit(127);
    }
    if (pid < 0)
        die("cannot start the hub");
    wait_listening(port);
    const long before = rss_kib(pid);

    struct hub h = {.network = "hubnet", .n_clients = sessions};
    memcpy(h.hub_key, hub_id.sign_pk, LIMIT_KEY_BYTES);
    keys_identity_wipe(&hub_id);
    h.clients = calloc(sessions ? sessions : 1, sizeof *h.clients);
    h.scratch = malloc(SESSION_SCRATCH_BYTES);
    if (!h.clients || !h.scratch)
        die("out of memory");
    uv_loop_init(&h.loop);
    uv_ip4_addr("127.0.0.1", port, &h.addr);
    uv_timer_init(&h.loop, &h.timer);
    uv_timer_start(&h.timer, on_deadline, DEADLINE_S * 1000, 0);
    const double t0 = now_s();
    start_more(&h);
    if (sessions > 0)
        uv_run(&h.loop, UV_RUN_DEFAULT);
    const double open_s = now_s() - t0;
    const long after = rss_kib(pid);
    const size_t open = h.n_open;
    double status_s;
    const size_t status_len = status_bytes(argv[1], conf, &status_s);
    const double idle = idle_cpu_fraction(&h, pid);

    kill(pid, SIGTERM);
    int st;
    waitpid(pid, &st, 0);
    const double per = open ? (double)(after - before) / (double)open : 0;
    fprintf(stderr, "tlpmesh-hubload: %zu peers, %zu/%zu sessions open in %.2f s (%zu failed), "
                    "hub RSS %ld -> %ld KiB; status --json %zu bytes in %.3f s; idle CPU %.1f %%\n",
            peers, open, sessions, open_s, h.n_failed, before, after, status_len, status_s,
            100 * idle);
    printf("{\"hub_config_load_s\": {\"value\": %.3f, \"limit\": 1.0, \"sense\": \"max\"},\n"
           " \"hub_session_rss_kib\": {\"value\": %.1f, \"limit\": 64, \"sense\": \"max\"},\n"
           " \"hub_sessions_open\": {\"value\": %zu, \"limit\": %zu, \"sense\": \"min\"},\n"
           " \"hub_idle_cpu_pct\": {\"value\": %.2f, \"limit\": null, \"sense\": \"max\"},\n"
           " \"hub_status_json_kib\": {\"value\": %.1f, \"limit\": null, \"sense\": \"max\"},\n"
           " \"hub_status_s\": {\"value\": %.3f, \"limit\": null, \"sense\": \"max\"}}\n",
           load_s, per, open, sessions, 100 * idle, (double)status_len / 1024, status_s);
    close_clients(&h);
    return 0;
}
