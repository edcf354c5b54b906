/* hubload.c - a hub node's figures (issue 15, docs/OPERATIONS.md "Running a hub"): one real
 * `tlpmesh run` configured with PEERS [Peer] sections, SESSIONS of them opened over loopback by
 * this load generator with real Noise handshakes (node/core/session.h), each from its own
 * identity. Prints one JSON object, the bench/figures.d hook format:
 *   hub_config_load_s     wall time of `tlpmesh check-config` on that config (limit 1 s)
 *   hub_session_rss_kib   the hub's resident memory per open session (limit 64 KiB)
 *   hub_sessions_open     sessions open at once (limit SESSIONS)
 *   hub_ingest_ratio      records the hub ingests from its sessions per second, over cores x the
 *                         raw Ed25519 verify rate of one core measured in this run (limit 0.7)
 *   hub_ingest_cpu_ratio  the same from CPU time: a verify's CPU time over the hub's per record
 *                         (all its threads), what the ratio is when the hub has the cores to
 *                         itself; the wall ratio also pays for this generator and other load
 *
 * usage: tlpmesh-hubload TLPMESH DIR [PEERS [SESSIONS [RECORDS]]]   (defaults 2000, 1000, 100)
 *
 * Handshakes are started at most HANDSHAKES at a time, below the hub's half-open admission limit
 * (LIMIT_HALF_OPEN), the way constituents reconnecting after a restart spread. The sessions first
 * idle (the memory figure is what a hub pays per connected constituent), then every session but
 * the first sends RECORDS new records of its own: constituents reporting to their national CERT,
 * TLP:RED for the hub and the hub's own analysis node. That node is the first session (its
 * [Peer] has the hub's organisation and MaxTLP red): the hub passes every record it committed on
 * to it (announcement or tree push), which is how this generator learns that a record was ingested.
 *
 * The sessions speak the protocol as a constituent's node does: HELLO with its capabilities,
 * KEEPALIVE, answers to the hub's reconciliation rounds over the records they hold, and their own
 * records pushed in full unasked (an origin's push, within the hub's LIMIT_PEER_UNASKED budget).
 * Each sender keeps at most WINDOW / senders records sent but not yet passed on, so that all of
 * them together keep the hub's candidate table (LIMIT_GOSSIP_CANDIDATES) busy but never overfull:
 * the best constituents can do (a record the hub drops under overload comes again only by a later
 * reconciliation). The records are signed before the timed phase, on every core.
 */
#include <assert.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>
#include <uv.h>

#include "crypto/keys.h"
#include "node/core/gossip.h"
#include "node/core/recon.h"
#include "node/core/session.h"
#include "proto/indicator.h"
#include "proto/record.h"

enum {
    HANDSHAKES = LIMIT_HALF_OPEN / 4,
    DEADLINE_S = 120,
    IDLE_S = 5,
    OBSERVER = 0,                              /* the session the hub passes the records on to */
    WINDOW = LIMIT_GOSSIP_CANDIDATES * 3 / 4,  /* records sent, not yet passed on: all senders */
    REC_CAP = LIMIT_SIG_BYTES + 320,           /* sig || body of one record */
    VERIFY_SAMPLE = 4000,                      /* signatures timed for the raw verify rate */
    MAX_THREADS = 64,
    KEEPALIVE_MS = LIMIT_KEEPALIVE_MS / 2,     /* below the hub's LIMIT_DEAD_MS by far */
};

enum phase { PHASE_OPEN, PHASE_ROUNDS, PHASE_IDLE, PHASE_INGEST };

/* Every sender's records, signed before the timed phase; sender s (client 1 + s) owns
 * [s * per, (s + 1) * per). */
struct recs {
    size_t n, per;
    uint8_t (*signed_rec)[REC_CAP];
    uint16_t *len;
    uint8_t (*id)[LIMIT_ID_BYTES];
    uint64_t *ts;
    struct sid_ix { uint64_t sid; uint32_t rec; } *by_sid; /* sorted: ANNOUNCE items to records */
    uint8_t (*origin)[LIMIT_KEY_BYTES]; /* per sender */
    uint8_t *seen;
    size_t n_seen;
};

struct client {
    uv_tcp_t tcp;
    uv_connect_t connect_req;
    struct hub *h;
    struct keys_identity id;
    uint8_t auth[SESSION_AUTH_BYTES];
    struct session s;
    struct recon rc;           /* the hub's round in progress (rc_active) */
    struct recon_item *items;  /* what this client holds: its records, sorted */
    size_t first, end, next;   /* its records [first, end), the next to send */
    size_t in_flight;          /* sent, not yet passed on to the observer */
    bool started, open, failed, rc_active;
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
    uv_timer_t keepalive;
    enum phase phase;
    size_t rounds_due, rounds_done; /* the hub's first rounds, with the clients it initiates to */
    size_t window;                  /* per sender */
    struct recs r;
    double t_done;
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
        if (i == OBSERVER) /* the hub's own analysis node: its organisation, every TLP */
            fprintf(f, "\n[Peer]\nName = soc\nPublicKey = %s\nOrganisation = hub\nMaxTLP = red\n",
                    b64);
        else
            fprintf(f, "\n[Peer]\nName = c%zu\nPublicKey = %s\nOrganisation = org%zu\n", i, b64,
                    i);
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

/* `tlpmesh status --json` against the hub (a copy in save, if not NULL): its output's size in
 * bytes, its wall time in *s. */
static size_t status_bytes(const char *tlpmesh, const char *conf, const char *save, double *s)
{
    char cmd[3 * LIMIT_PATH_BYTES + 64];
    snprintf(cmd, sizeof cmd, "'%s' status -c '%s' --json%s%s%s", tlpmesh, conf,
             save ? " | tee '" : "", save ? save : "", save ? "'" : "");
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

/* --- the records --- */

static uint64_t wall_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

static size_t n_cores(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > MAX_THREADS ? MAX_THREADS : (size_t)n;
}

struct sign_job {
    struct recs *r;
    const uint8_t *hub_key, *observer_key;
    uint64_t base_ms;
    size_t lo, hi;
    int err;
};

/* Record i: an ip-dst indicator of sender i / per, TLP:RED for the hub and its analysis node. */
static int make_record(struct sign_job *j, size_t i, const struct keys_identity *id)
{
    struct recs *r = j->r;
    struct proto_record rec = {.version = PROTO_RECORD_VERSION, .kind = PROTO_KIND_INDICATOR,
                               .tlp = PROTO_TLP_RED, .created_ms = j->base_ms - r->n + i};
    memcpy(rec.origin, id->sign_pk, LIMIT_KEY_BYTES);
    rec.audience.n_recipients = 2;
    memcpy(rec.audience.recipients[0], j->hub_key, LIMIT_KEY_BYTES);
    memcpy(rec.audience.recipients[1], j->observer_key, LIMIT_KEY_BYTES);
    proto_record_normalise_sets(&rec);
    rec.u.ind.type = PROTO_ITYPE_IP_DST;
    snprintf(rec.u.ind.value, sizeof rec.u.ind.value, "10.%u.%u.%u", (unsigned)(i >> 16) & 255,
             (unsigned)(i >> 8) & 255, (unsigned)i & 255);
    rec.u.ind.valid_until_ms = rec.created_ms + 30ULL * 86400 * 1000;
    rec.u.ind.confidence = 80;
    rec.u.ind.n_tags = 1;
    strcpy(rec.u.ind.tags[0], "c2");
    strcpy(rec.u.ind.comment, "reported to the hub");
    uint8_t *body = r->signed_rec[i] + LIMIT_SIG_BYTES;
    const int blen = proto_record_encode(&rec, body, REC_CAP - LIMIT_SIG_BYTES);
    if (blen < 0)
        return blen;
    proto_record_sign(body, (size_t)blen, id->sign_sk, r->signed_rec[i]);
    proto_record_id(body, (size_t)blen, r->id[i]);
    r->len[i] = (uint16_t)(LIMIT_SIG_BYTES + (size_t)blen);
    r->ts[i] = rec.created_ms;
    memcpy(&r->by_sid[i].sid, r->id[i], sizeof r->by_sid[i].sid);
    r->by_sid[i].rec = (uint32_t)i;
    return 0;
}

static void *sign_range(void *p)
{
    struct sign_job *j = p;
    struct keys_identity id;
    size_t owner = SIZE_MAX;
    for (size_t i = j->lo; i < j->hi && j->err == 0; i++) {
        if (i / j->r->per != owner) { /* a sender's records are contiguous: one key each */
            if (owner != SIZE_MAX)
                keys_identity_wipe(&id);
            owner = i / j->r->per;
            peer_identity(1 + owner, &id);
            memcpy(j->r->origin[owner], id.sign_pk, LIMIT_KEY_BYTES);
        }
        j->err = make_record(j, i, &id);
    }
    if (owner != SIZE_MAX)
        keys_identity_wipe(&id);
    return NULL;
}

static int sid_order(const void *a, const void *b)
{
    const struct sid_ix *x = a, *y = b;
    return x->sid < y->sid ? -1 : x->sid > y->sid;
}

/* senders x per records, signed on every core. */
static void recs_make(struct recs *r, size_t senders, size_t per, const uint8_t *hub_key)
{
    r->n = senders * per;
    r->per = per;
    r->signed_rec = calloc(r->n ? r->n : 1, sizeof *r->signed_rec);
    r->len = calloc(r->n ? r->n : 1, sizeof *r->len);
    r->id = calloc(r->n ? r->n : 1, sizeof *r->id);
    r->ts = calloc(r->n ? r->n : 1, sizeof *r->ts);
    r->by_sid = calloc(r->n ? r->n : 1, sizeof *r->by_sid);
    r->seen = calloc(r->n ? r->n : 1, 1);
    r->origin = calloc(senders ? senders : 1, sizeof *r->origin);
    if (!r->signed_rec || !r->len || !r->id || !r->ts || !r->by_sid || !r->seen || !r->origin)
        die("out of memory for the records");
    struct keys_identity obs;
    peer_identity(OBSERVER, &obs);
    const size_t threads = n_cores();
    struct sign_job jobs[MAX_THREADS];
    pthread_t t[MAX_THREADS];
    for (size_t k = 0; k < threads; k++) {
        jobs[k] = (struct sign_job){.r = r, .hub_key = hub_key, .observer_key = obs.sign_pk,
                                    .base_ms = wall_ms(), .lo = r->n * k / threads,
                                    .hi = r->n * (k + 1) / threads};
        if (pthread_create(&t[k], NULL, sign_range, &jobs[k]) != 0)
            die("cannot start a signing thread");
    }
    int err = 0;
    for (size_t k = 0; k < threads; k++) {
        pthread_join(t[k], NULL);
        err = err ? err : jobs[k].err;
    }
    keys_identity_wipe(&obs);
    if (err != 0)
        die(proto_strerror(err));
    qsort(r->by_sid, r->n, sizeof *r->by_sid, sid_order);
}

static void recs_free(struct recs *r)
{
    free(r->signed_rec);
    free(r->len);
    free(r->id);
    free(r->ts);
    free(r->by_sid);
    free(r->seen);
    free(r->origin);
}

static double thread_cpu_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* proto_record_verify on one core over the first VERIFY_SAMPLE records, the raw rate the ingest
 * figures are ratios to, in this run: per second of wall time, and CPU microseconds per
 * signature (*cpu_us), which a busy machine does not change. */
static double raw_verify_per_s(const struct recs *r, double *cpu_us)
{
    const size_t n = r->n < VERIFY_SAMPLE ? r->n : VERIFY_SAMPLE;
    const double t0 = now_s(), c0 = thread_cpu_s();
    for (size_t i = 0; i < n; i++) {
        const uint8_t *b = r->signed_rec[i];
        if (proto_record_verify(b + LIMIT_SIG_BYTES, r->len[i] - LIMIT_SIG_BYTES, b,
                                r->origin[i / r->per]) != PROTO_OK)
            die("a record of this run does not verify");
    }
    *cpu_us = 1e6 * (thread_cpu_s() - c0) / (double)n;
    return (double)n / (now_s() - t0);
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

static void put_be16(uint8_t *p, size_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static size_t get_be16(const uint8_t *p)
{
    return (size_t)p[0] << 8 | p[1];
}

static void fail(struct client *c);
static struct session_cb callbacks(struct client *c);

/* Sends the client's next records, in one RECORDS message, while its window has room. */
static void c_feed(struct client *c)
{
    static uint8_t body[SESSION_MAX_BODY];
    const struct recs *r = &c->h->r;
    size_t off = 2, k = 0;
    if (c->failed)
        return;
    for (; c->next < c->end && c->in_flight + k < c->h->window &&
           off + 2 + r->len[c->next] <= sizeof body;
         c->next++, k++) {
        put_be16(body + off, r->len[c->next]);
        memcpy(body + off + 2, r->signed_rec[c->next], r->len[c->next]);
        off += 2 + r->len[c->next];
    }
    if (k == 0)
        return;
    put_be16(body, k);
    c->in_flight += k;
    const struct session_cb cb = callbacks(c);
    if (session_send(&c->s, GOSSIP_MSG_RECORDS, body, off, &cb) != SESSION_OK)
        fail(c);
}

/* The hub's round (it initiates with keys above its own, gossip.c): answered over what the
 * client holds, as its node would. */
static void c_recon(struct client *c, const uint8_t *body, size_t len)
{
    static uint8_t out[LIMIT_RECON_MSG_BYTES];
    const struct recs *r = &c->h->r;
    if (!c->rc_active) {
        const size_t n = c->end - c->first;
        if (c->items == NULL && (c->items = calloc(n ? n : 1, sizeof *c->items)) == NULL)
            die("out of memory");
        for (size_t i = 0; i < n; i++) { /* created_ms ascends with the index: sorted */
            c->items[i].ts = r->ts[c->first + i];
            memcpy(c->items[i].id, r->id[c->first + i], LIMIT_ID_BYTES);
        }
        if (recon_init(&c->rc, c->items, n, LIMIT_RECON_MSG_BYTES) != RECON_OK)
            die("cannot start a reconciliation");
        c->rc_active = true;
    }
    const struct session_cb cb = callbacks(c);
    int n = recon_respond(&c->rc, body, len, out, sizeof out, NULL);
    for (; n > 0; n = recon_next(&c->rc, out, sizeof out))
        if (session_send(&c->s, GOSSIP_MSG_RECON, out, (size_t)n, &cb) != SESSION_OK)
            n = -1;
    const bool done = recon_done(&c->rc);
    if (n < 0 || done) {
        recon_free(&c->rc);
        c->rc_active = false;
    }
    if (n < 0) {
        fail(c);
    } else if (done && ++c->h->rounds_done == c->h->rounds_due && c->h->phase == PHASE_ROUNDS) {
        uv_stop(&c->h->loop);
    }
}

/* A record the hub passed on to the observer (short id, the first bytes of its id): ingested. */
static void observe(struct hub *h, const uint8_t *sid)
{
    struct sid_ix key = {.rec = 0};
    memcpy(&key.sid, sid, sizeof key.sid);
    const struct sid_ix *e = bsearch(&key, h->r.by_sid, h->r.n, sizeof key, sid_order);
    if (e == NULL || h->r.seen[e->rec])
        return;
    h->r.seen[e->rec] = 1;
    h->clients[1 + e->rec / h->r.per].in_flight--;
    if (++h->r.n_seen == h->r.n && h->phase == PHASE_INGEST) {
        h->t_done = now_s();
        uv_stop(&h->loop);
    }
}

/* ANNOUNCE (u16 count || short ids) and RECORDS (u16 count || u16 length || sig || body) to
 * the observer. Malformed input ends the run: the hub is the code under test. */
static void observer_message(struct hub *h, uint8_t type, const uint8_t *body, size_t len)
{
    if (len < 2)
        die("the hub sent a message without its count");
    const size_t n = get_be16(body);
    if (type == GOSSIP_MSG_ANNOUNCE) {
        if (len != 2 + n * GOSSIP_SHORT_ID_BYTES)
            die("the hub sent a malformed ANNOUNCE");
        for (size_t i = 0; i < n; i++)
            observe(h, body + 2 + i * GOSSIP_SHORT_ID_BYTES);
        return;
    }
    size_t off = 2;
    for (size_t i = 0; i < n; i++) {
        const size_t rl = off + 2 <= len ? get_be16(body + off) : 0;
        if (rl <= LIMIT_SIG_BYTES || off + 2 + rl > len)
            die("the hub sent a malformed RECORDS");
        uint8_t id[LIMIT_ID_BYTES];
        proto_record_id(body + off + 2 + LIMIT_SIG_BYTES, rl - LIMIT_SIG_BYTES, id);
        observe(h, id);
        off += 2 + rl;
    }
}

static void c_message(void *ctx, uint8_t type, const uint8_t *body, size_t len)
{
    struct client *c = ctx;
    if (type == GOSSIP_MSG_RECON)
        c_recon(c, body, len);
    else if (c == &c->h->clients[OBSERVER] &&
             (type == GOSSIP_MSG_ANNOUNCE || type == GOSSIP_MSG_RECORDS))
        observer_message(c->h, type, body, len);
    /* the rest (RECON_REQ, the hub's own announcements...) asks nothing of a constituent */
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

/* After the observer's input: every sender whose window it opened sends more. Outside
 * session_feed, so that no session sends while another decrypts into the shared scratch. */
static void feed_senders(struct hub *h)
{
    for (size_t i = OBSERVER + 1; h->phase == PHASE_INGEST && i < h->next; i++)
        if (h->clients[i].open && !h->clients[i].failed)
            c_feed(&h->clients[i]);
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
    if (c == &c->h->clients[OBSERVER])
        feed_senders(c->h);
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
                                     .auth = c->auth,
                                     .capabilities = PROTO_CAP_ITYPES_2 | GOSSIP_CAP_TREE};
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
        if (h->next > OBSERVER) { /* the observer holds nothing; sender s has its per records */
            c->first = c->next = (h->next - OBSERVER - 1) * h->r.per;
            c->end = c->first + h->r.per;
        }
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
    if (h->phase == PHASE_OPEN && h->n_open + h->n_failed == h->n_clients)
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

/* The hub's first round with each client it initiates to (LIMIT_RECON_START_DELAY_MS after
 * the session opened) is over before the timed phase: what is measured is ingest. */
static void wait_rounds(struct hub *h)
{
    h->phase = PHASE_ROUNDS;
    for (size_t i = 0; i < h->next; i++)
        h->rounds_due += h->clients[i].open &&
                         memcmp(h->hub_key, h->clients[i].id.sign_pk, LIMIT_KEY_BYTES) < 0;
    if (h->rounds_done >= h->rounds_due)
        return;
    uv_timer_start(&h->timer, on_deadline, DEADLINE_S * 1000, 0);
    uv_run(&h->loop, UV_RUN_DEFAULT);
    if (h->rounds_done < h->rounds_due)
        fprintf(stderr, "tlpmesh-hubload: %zu of the hub's %zu first rounds over by the deadline\n",
                h->rounds_done, h->rounds_due);
}

static void on_keepalive(uv_timer_t *t)
{
    struct hub *h = t->data;
    for (size_t i = 0; i < h->next; i++) {
        struct client *c = &h->clients[i];
        const struct session_cb cb = callbacks(c);
        if (c->open && !c->failed && session_send(&c->s, SESSION_MSG_KEEPALIVE, NULL, 0, &cb) != 0)
            fail(c);
    }
}

struct ingest_result {
    double rate, hub_cpu_s, self_cpu_s, wall_s;
    double hub_cpu_us, self_cpu_us; /* CPU per record passed on */
};

static double self_cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* The timed phase: every sender fills its window, the observer's input opens it again, until the
 * hub passed every record on (or the deadline). */
static struct ingest_result ingest(struct hub *h, pid_t pid)
{
    const size_t senders = h->n_clients > OBSERVER + 1 ? h->n_clients - OBSERVER - 1 : 0;
    h->window = senders ? (WINDOW / senders ? WINDOW / senders : 1) : 0;
    h->phase = PHASE_INGEST;
    const double c0 = cpu_s(pid), s0 = self_cpu_s(), t0 = now_s();
    h->t_done = 0;
    if (h->r.n > 0) {
        feed_senders(h);
        uv_timer_start(&h->timer, on_deadline, DEADLINE_S * 1000, 0);
        uv_run(&h->loop, UV_RUN_DEFAULT);
    }
    if (h->r.n_seen < h->r.n)
        fprintf(stderr, "tlpmesh-hubload: the hub passed on %zu of %zu records by the deadline\n",
                h->r.n_seen, h->r.n);
    struct ingest_result res = {.hub_cpu_s = cpu_s(pid) - c0, .self_cpu_s = self_cpu_s() - s0,
                                .wall_s = (h->t_done > 0 ? h->t_done : now_s()) - t0};
    /* Over what was passed on: a run cut by the deadline still gives the rate it held. */
    res.rate = res.wall_s > 0 ? (double)h->r.n_seen / res.wall_s : 0;
    res.hub_cpu_us = h->r.n_seen ? 1e6 * res.hub_cpu_s / (double)h->r.n_seen : 0;
    res.self_cpu_us = h->r.n_seen ? 1e6 * res.self_cpu_s / (double)h->r.n_seen : 0;
    return res;
}

static void close_clients(struct hub *h)
{
    for (size_t i = 0; i < h->next; i++) {
        session_free(&h->clients[i].s);
        keys_identity_wipe(&h->clients[i].id);
        recon_free(&h->clients[i].rc);
        free(h->clients[i].items);
        uv_close((uv_handle_t *)&h->clients[i].tcp, NULL);
    }
    uv_close((uv_handle_t *)&h->timer, NULL);
    uv_close((uv_handle_t *)&h->keepalive, NULL);
    uv_run(&h->loop, UV_RUN_DEFAULT); /* the closes and the writes they cancel */
    uv_loop_close(&h->loop);
    free(h->clients);
    free(h->scratch);
    recs_free(&h->r);
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
    if (argc < 3 || argc > 6)
        die("usage: tlpmesh-hubload TLPMESH DIR [PEERS [SESSIONS [RECORDS]]]");
    const size_t peers = argc > 3 ? strtoul(argv[3], NULL, 10) : 2000;
    const size_t sessions = argc > 4 ? strtoul(argv[4], NULL, 10) : 1000;
    const size_t per = argc > 5 ? strtoul(argv[5], NULL, 10) : 100;
    if (peers == 0 || peers > LIMIT_PEERS || sessions > peers || sodium_init() < 0)
        die("PEERS must be 1..LIMIT_PEERS and SESSIONS at most PEERS");
    if (per > LIMIT_PEER_UNASKED_BURST / 2)
        die("RECORDS must stay within the hub's unasked budget (LIMIT_PEER_UNASKED_BURST / 2)");
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

    struct hub h = {.network = "hubnet", .n_clients = sessions};
    memcpy(h.hub_key, hub_id.sign_pk, LIMIT_KEY_BYTES);
    keys_identity_wipe(&hub_id);
    const double sign0 = now_s();
    recs_make(&h.r, sessions > OBSERVER + 1 ? sessions - OBSERVER - 1 : 0, per, h.hub_key);
    const double sign_s = now_s() - sign0;
    double verify_us = 0;
    const double verify = h.r.n > 0 ? raw_verify_per_s(&h.r, &verify_us) : 0;

    pid_t pid = fork();
    if (pid == 0) {
        quiet_stdout();
        prctl(PR_SET_PDEATHSIG, SIGTERM); /* a generator that dies takes its hub along */
        execl(argv[1], argv[1], "run", "-c", conf, (char *)NULL);
        _exit(127);
    }
    if (pid < 0)
        die("cannot start the hub");
    wait_listening(port);
    const long before = rss_kib(pid);

    h.clients = calloc(sessions ? sessions : 1, sizeof *h.clients);
    h.scratch = malloc(SESSION_SCRATCH_BYTES);
    if (!h.clients || !h.scratch)
        die("out of memory");
    uv_loop_init(&h.loop);
    uv_ip4_addr("127.0.0.1", port, &h.addr);
    uv_timer_init(&h.loop, &h.timer);
    uv_timer_init(&h.loop, &h.keepalive);
    h.keepalive.data = &h;
    uv_timer_start(&h.keepalive, on_keepalive, KEEPALIVE_MS, KEEPALIVE_MS);
    uv_timer_start(&h.timer, on_deadline, DEADLINE_S * 1000, 0);
    const double t0 = now_s();
    start_more(&h);
    if (sessions > 0)
        uv_run(&h.loop, UV_RUN_DEFAULT);
    const double open_s = now_s() - t0;
    const long after = rss_kib(pid);
    const size_t open = h.n_open;
    wait_rounds(&h);
    double status_s;
    const size_t status_len = status_bytes(argv[1], conf, NULL, &status_s);
    h.phase = PHASE_IDLE;
    const double idle = idle_cpu_fraction(&h, pid);
    const struct ingest_result in = ingest(&h, pid);
    const size_t failed = h.n_failed;
    if (h.r.n_seen < h.r.n) { /* the hub's counters say where the rest went */
        char save[LIMIT_PATH_BYTES];
        snprintf(save, sizeof save, "%s/status-at-deadline.json", argv[2]);
        double s;
        status_bytes(argv[1], conf, save, &s);
        fprintf(stderr, "tlpmesh-hubload: the hub's status at the deadline: %s\n", save);
    }

    kill(pid, SIGTERM);
    int st;
    waitpid(pid, &st, 0);
    const size_t cores = n_cores();
    const double kib = open ? (double)(after - before) / (double)open : 0;
    const double ratio = verify > 0 ? in.rate / ((double)cores * verify) : 0;
    const double cpu_ratio = in.hub_cpu_us > 0 ? verify_us / in.hub_cpu_us : 0;
    fprintf(stderr, "tlpmesh-hubload: %zu peers, %zu/%zu sessions open in %.2f s (%zu failed by "
                    "the end), hub RSS %ld -> %ld KiB; status --json %zu bytes in %.3f s; idle "
                    "CPU %.1f %%\n"
                    "tlpmesh-hubload: %zu records signed in %.2f s; ingest of %zu from %zu "
                    "sessions (window %zu each) in %.2f s: %.0f/s, raw verify %.0f/s (%.1f us CPU) "
                    "x %zu cores, ratio %.3f; hub CPU %.1f us/record (ratio %.3f), this "
                    "generator's %.1f us/record\n",
            peers, open, sessions, open_s, failed, before, after, status_len, status_s,
            100 * idle, h.r.n, sign_s, h.r.n_seen, sessions > 1 ? sessions - 1 : 0, h.window,
            in.wall_s, in.rate, verify, verify_us, cores, ratio, in.hub_cpu_us, cpu_ratio,
            in.self_cpu_us);
    printf("{\"hub_config_load_s\": {\"value\": %.3f, \"limit\": 1.0, \"sense\": \"max\"},\n"
           " \"hub_session_rss_kib\": {\"value\": %.1f, \"limit\": 64, \"sense\": \"max\"},\n"
           " \"hub_sessions_open\": {\"value\": %zu, \"limit\": %zu, \"sense\": \"min\"},\n"
           " \"hub_idle_cpu_pct\": {\"value\": %.2f, \"limit\": null, \"sense\": \"max\"},\n"
           " \"hub_status_json_kib\": {\"value\": %.1f, \"limit\": null, \"sense\": \"max\"},\n"
           " \"hub_status_s\": {\"value\": %.3f, \"limit\": null, \"sense\": \"max\"},\n"
           " \"hub_ingest_per_s\": {\"value\": %.0f, \"limit\": null, \"sense\": \"min\"},\n"
           " \"hub_ingest_ratio\": {\"value\": %.3f, \"limit\": 0.7, \"sense\": \"min\"},\n"
           " \"hub_ingest_cpu_us\": {\"value\": %.1f, \"limit\": null, \"sense\": \"max\"},\n"
           " \"hub_ingest_cpu_ratio\": {\"value\": %.3f, \"limit\": 0.7, \"sense\": \"min\"}}\n",
           load_s, kib, open, sessions, 100 * idle, (double)status_len / 1024, status_s, in.rate,
           ratio, in.hub_cpu_us, cpu_ratio);
    close_clients(&h);
    return 0;
}
