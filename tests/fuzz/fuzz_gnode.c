/* fuzz_gnode.c - a gossip node driven by fuzz input; see fuzz_gnode.h. */
#include "fuzz_gnode.h"

#include <sodium.h>

#include "node/core/session.h"
#include "proto/record.h"

#define HOUR_MS   (3600 * 1000ull)
#define CAP       256 /* gossip table sizes (recent, candidates, wants, announcements) */
#define SMALL_CAP 16  /* setup bit 3: the overload paths */

static const char *const org_of[FUZZ_GNODE_PEERS] = {"cert-peer", "cert-self"};

void fuzz_gnode_identity(enum fuzz_key_tag tag, struct keys_identity *out)
{
    uint8_t seed[LIMIT_KEY_BYTES];
    fuzz_key(seed, tag);
    keys_identity_from_seed(seed, out);
}

/* --- the preloaded records --- */

static void sign_into(struct proto_record *r, enum fuzz_key_tag by, struct fuzz_grec *out)
{
    struct keys_identity id;
    int len;

    fuzz_gnode_identity(by, &id);
    memcpy(r->origin, id.sign_pk, LIMIT_KEY_BYTES);
    proto_record_normalise_sets(r);
    len = proto_record_encode(r, out->bytes + LIMIT_SIG_BYTES, LIMIT_RECORD_BYTES);
    FUZZ_CHECK(len > 0);
    proto_record_sign(out->bytes + LIMIT_SIG_BYTES, (size_t)len, id.sign_sk, out->bytes);
    proto_record_id(out->bytes + LIMIT_SIG_BYTES, (size_t)len, out->id);
    out->len = LIMIT_SIG_BYTES + (size_t)len;
    out->rec = malloc(sizeof *out->rec);
    FUZZ_CHECK(out->rec != NULL);
    FUZZ_CHECK(proto_record_decode(out->bytes + LIMIT_SIG_BYTES, (size_t)len, out->rec, NULL, 0) ==
               PROTO_OK);
    keys_identity_wipe(&id);
}

static void base(struct proto_record *r, uint8_t kind, uint8_t tlp)
{
    memset(r, 0, sizeof *r);
    r->version = PROTO_RECORD_VERSION;
    r->kind = kind;
    r->tlp = tlp;
    r->created_ms = FUZZ_WALL0 - HOUR_MS;
}

static void indicator(struct proto_record *r, uint8_t tlp, uint8_t type, const char *value,
                      uint64_t valid_ms)
{
    base(r, PROTO_KIND_INDICATOR, tlp);
    r->u.ind.type = type;
    r->u.ind.valid_until_ms = FUZZ_WALL0 + valid_ms;
    snprintf(r->u.ind.value, sizeof r->u.ind.value, "%s", value);
}

static void recipient(struct proto_record *r, enum fuzz_key_tag tag)
{
    struct keys_identity id;
    fuzz_gnode_identity(tag, &id);
    memcpy(r->audience.recipients[r->audience.n_recipients++], id.sign_pk, LIMIT_KEY_BYTES);
    keys_identity_wipe(&id);
}

static void community(struct proto_record *r, const char *name)
{
    snprintf(r->audience.communities[r->audience.n_communities++], LIMIT_NAME_BYTES + 1, "%s",
             name);
}

/* The preloaded indicators 0..7 (fuzz_gnode.h): by whom, for whom. */
static const struct {
    uint8_t tlp, type;
    const char *value;
    enum fuzz_key_tag by;
    const char *community; /* NULL: none */
    enum fuzz_key_tag to;  /* a recipient; 0: none */
} indicators[8] = {
    {PROTO_TLP_CLEAR, PROTO_ITYPE_IP_DST, "203.0.113.1", FUZZ_KEY_RESPONDER, NULL, 0},
    {PROTO_TLP_GREEN, PROTO_ITYPE_DOMAIN, "evil.example", FUZZ_KEY_RESPONDER, "energy", 0},
    {PROTO_TLP_AMBER, PROTO_ITYPE_URL, "http://evil.example/x", FUZZ_KEY_RESPONDER, NULL, 0},
    {PROTO_TLP_RED, PROTO_ITYPE_SHA256,
     "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", FUZZ_KEY_RESPONDER, NULL,
     FUZZ_KEY_INITIATOR},
    {PROTO_TLP_GREEN, PROTO_ITYPE_IP_SRC, "198.51.100.0/24", FUZZ_KEY_INITIATOR, NULL, 0},
    {PROTO_TLP_AMBER_STRICT, PROTO_ITYPE_HOSTNAME, "c2.evil.example", FUZZ_KEY_INITIATOR, "other",
     0},
    {PROTO_TLP_RED, PROTO_ITYPE_MD5, "d41d8cd98f00b204e9800998ecf8427e", FUZZ_KEY_THIRD, NULL,
     FUZZ_KEY_RESPONDER},
    {PROTO_TLP_AMBER, PROTO_ITYPE_EMAIL_SRC, "phish@evil.example", FUZZ_KEY_THIRD, "energy", 0},
};

static void build_records(struct fuzz_grec *recs, struct proto_record *r)
{
    const uint64_t month = 30 * 24 * HOUR_MS;
    struct keys_identity id;

    for (size_t i = 0; i < sizeof indicators / sizeof indicators[0]; i++) {
        indicator(r, indicators[i].tlp, indicators[i].type, indicators[i].value, month);
        if (indicators[i].community != NULL)
            community(r, indicators[i].community);
        if (indicators[i].to != 0)
            recipient(r, indicators[i].to);
        sign_into(r, indicators[i].by, &recs[i]);
    }
    base(r, PROTO_KIND_REVOCATION, PROTO_TLP_AMBER);
    memcpy(r->u.rev.target, recs[2].id, LIMIT_ID_BYTES);
    snprintf(r->u.rev.reason, sizeof r->u.rev.reason, "false positive");
    sign_into(r, FUZZ_KEY_RESPONDER, &recs[8]);
    base(r, PROTO_KIND_SIGHTING, PROTO_TLP_GREEN);
    memcpy(r->u.sight.target, recs[4].id, LIMIT_ID_BYTES);
    r->u.sight.count = 3;
    r->u.sight.first_seen_ms = r->u.sight.last_seen_ms = FUZZ_WALL0 - 2 * HOUR_MS;
    sign_into(r, FUZZ_KEY_INITIATOR, &recs[9]);
    indicator(r, PROTO_TLP_CLEAR, PROTO_ITYPE_FILENAME, "dropper.exe", 5 * 60 * 1000);
    sign_into(r, FUZZ_KEY_RESPONDER, &recs[10]);
    base(r, PROTO_KIND_ROSTER, PROTO_TLP_GREEN);
    snprintf(r->u.roster.name, sizeof r->u.roster.name, "energy");
    r->u.roster.version = 1;
    fuzz_gnode_identity(FUZZ_KEY_INITIATOR, &id);
    memcpy(r->u.roster.members[0].key, id.sign_pk, LIMIT_KEY_BYTES);
    snprintf(r->u.roster.members[0].org, sizeof r->u.roster.members[0].org, "cert-peer");
    r->u.roster.n_members = 1;
    keys_identity_wipe(&id);
    sign_into(r, FUZZ_KEY_INITIATOR, &recs[11]);
    for (unsigned i = 12; i < FUZZ_GNODE_RECORDS; i++) {
        char ip[16];
        snprintf(ip, sizeof ip, "192.0.2.%u", i);
        indicator(r, i % 2 ? PROTO_TLP_CLEAR : PROTO_TLP_GREEN, PROTO_ITYPE_IP_DST, ip, month);
        sign_into(r, FUZZ_KEY_INITIATOR, &recs[i]);
    }
}

const struct fuzz_grec *fuzz_gnode_records(void)
{
    static struct fuzz_grec recs[FUZZ_GNODE_RECORDS];
    static bool built;
    if (!built) {
        struct proto_record *r = malloc(sizeof *r);
        FUZZ_CHECK(r != NULL && sodium_init() >= 0);
        build_records(recs, r);
        free(r);
        built = true;
    }
    return recs;
}

/* --- the io --- */

/* One of GOSSIP_ERRORS, by its name: codes added to the list later count too. */
static bool is_gossip_err(int rc)
{
    return rc < 0 && strcmp(gossip_strerror(rc), "unknown gossip error") != 0;
}

static bool held(const struct fuzz_gnode *n, const uint8_t id[LIMIT_ID_BYTES])
{
    return memstore_has(&n->ms, id) == 1;
}

static bool is_recipient(const struct proto_record *r, const uint8_t key[LIMIT_KEY_BYTES])
{
    for (size_t i = 0; i < r->audience.n_recipients; i++)
        if (memcmp(r->audience.recipients[i], key, LIMIT_KEY_BYTES) == 0)
            return true;
    return false;
}

/* The coarse oracle of fuzz_gnode.h on every record of a RECORDS message. */
static void check_records_out(const struct fuzz_gnode *n, size_t peer, const uint8_t *b, size_t len)
{
    static struct proto_record r;
    size_t count, off = 2;

    FUZZ_CHECK(len >= 2);
    count = (size_t)b[0] << 8 | b[1];
    FUZZ_CHECK(count > 0);
    for (size_t i = 0; i < count; i++) {
        size_t l;
        uint8_t id[LIMIT_ID_BYTES];
        FUZZ_CHECK(len - off >= 2);
        l = (size_t)b[off] << 8 | b[off + 1];
        off += 2;
        FUZZ_CHECK(l > LIMIT_SIG_BYTES && len - off >= l);
        const uint8_t *body = b + off + LIMIT_SIG_BYTES;
        proto_record_id(body, l - LIMIT_SIG_BYTES, id);
        FUZZ_CHECK(held(n, id));
        FUZZ_CHECK(proto_record_decode(body, l - LIMIT_SIG_BYTES, &r, NULL, 0) == PROTO_OK);
        FUZZ_CHECK(proto_record_verify(body, l - LIMIT_SIG_BYTES, b + off, r.origin) == PROTO_OK);
        FUZZ_CHECK(r.tlp <= n->view[peer].ceiling);
        FUZZ_CHECK(r.tlp != PROTO_TLP_RED || is_recipient(&r, n->view[peer].key));
        FUZZ_CHECK(r.kind != PROTO_KIND_INDICATOR || r.u.ind.valid_until_ms > FUZZ_WALL0 + n->now);
        off += l;
    }
    FUZZ_CHECK(off == len);
}

static int short_seen(const uint8_t id[LIMIT_ID_BYTES], const uint8_t *rec, size_t len,
                      uint64_t seq, void *ctx)
{
    (void)id, (void)rec, (void)len, (void)seq;
    *(bool *)ctx = true;
    return 1;
}

static void check_announce_out(const struct fuzz_gnode *n, const uint8_t *b, size_t len)
{
    size_t count;
    FUZZ_CHECK(len >= 2);
    count = (size_t)b[0] << 8 | b[1];
    FUZZ_CHECK(count > 0 && len == 2 + count * LIMIT_SHORT_ID_BYTES);
    for (size_t i = 0; i < count; i++) {
        bool found = false;
        FUZZ_CHECK(
            memstore_find_short(&n->ms, b + 2 + i * LIMIT_SHORT_ID_BYTES, short_seen, &found) >= 0);
        FUZZ_CHECK(found);
    }
}

static void keep_out(struct fuzz_gnode *n, size_t peer, uint8_t type, const uint8_t *body,
                     size_t len)
{
    if (n->n_out == n->cap_out) {
        n->cap_out = n->cap_out ? 2 * n->cap_out : 64;
        n->out = realloc(n->out, n->cap_out * sizeof *n->out);
        FUZZ_CHECK(n->out != NULL);
    }
    n->out[n->n_out] = (struct fuzz_gmsg){peer, type, (uint8_t *)fuzz_strdup(body, len), len};
    n->n_out++;
}

static int io_send(void *ctx, size_t peer, uint8_t type, const uint8_t *body, size_t len)
{
    struct fuzz_gnode *n = ctx;
    FUZZ_CHECK(peer < FUZZ_GNODE_PEERS && n->up[peer]);
    FUZZ_CHECK(type >= GOSSIP_MSG_RECORDS && type <= GOSSIP_MSG_PRUNE);
    FUZZ_CHECK(type != GOSSIP_MSG_PRUNE || (n->tree[peer] && len >= 2 + 8 && (len - 2) % 8 == 0));
    FUZZ_CHECK(len <= SESSION_MAX_BODY && (body != NULL || len == 0));
    if (type == GOSSIP_MSG_RECORDS)
        check_records_out(n, peer, body, len);
    else if (type == GOSSIP_MSG_ANNOUNCE)
        check_announce_out(n, body, len);
    if (n->record_out)
        keep_out(n, peer, type, body, len);
    return 0;
}

static void io_close(void *ctx, size_t peer, int err)
{
    struct fuzz_gnode *n = ctx;
    FUZZ_CHECK(peer < FUZZ_GNODE_PEERS);
    FUZZ_CHECK(err < 0); /* a reason: gossip's own or another module's error code */
    n->closing[peer] = true;
}

static void io_verify(void *ctx, struct gossip_job *job)
{
    struct fuzz_gnode *n = ctx;
    /* One message hands out at most one job, and a full table is run after that call. */
    FUZZ_CHECK(n->n_jobs < FUZZ_GNODE_JOBS);
    n->jobs[n->n_jobs++] = job;
}

static void io_stored(void *ctx, const uint8_t id[LIMIT_ID_BYTES], uint8_t kind)
{
    static uint8_t buf[LIMIT_SIGNED_RECORD_BYTES];
    static struct proto_record r;
    struct fuzz_gnode *n = ctx;
    size_t len;
    uint64_t seq;

    FUZZ_CHECK(memstore_get(&n->ms, id, buf, sizeof buf, &len, &seq) == STORE_OK);
    FUZZ_CHECK(len > LIMIT_SIG_BYTES);
    FUZZ_CHECK(proto_record_decode(buf + LIMIT_SIG_BYTES, len - LIMIT_SIG_BYTES, &r, NULL, 0) ==
               PROTO_OK);
    FUZZ_CHECK(r.kind == kind);
    FUZZ_CHECK(proto_record_verify(buf + LIMIT_SIG_BYTES, len - LIMIT_SIG_BYTES, buf, r.origin) ==
               PROTO_OK);
}

/* --- the node --- */

static void make_view(struct gate_peer *v, enum fuzz_key_tag tag, const char *org, uint8_t ceiling,
                      uint8_t relation)
{
    struct keys_identity id;
    fuzz_gnode_identity(tag, &id);
    memset(v, 0, sizeof *v);
    v->authenticated = true;
    memcpy(v->key, id.sign_pk, LIMIT_KEY_BYTES);
    snprintf(v->org, sizeof v->org, "%s", org);
    v->relation = relation;
    v->ceiling = ceiling;
    v->n_communities = 1;
    snprintf(v->communities[0], sizeof v->communities[0], "energy");
    keys_identity_wipe(&id);
}

void fuzz_gnode_start(struct fuzz_gnode *n, enum fuzz_key_tag self_tag, uint32_t hold,
                      uint8_t setup)
{
    static const uint8_t ceilings[4] = {PROTO_TLP_GREEN, PROTO_TLP_AMBER, PROTO_TLP_AMBER_STRICT,
                                        PROTO_TLP_RED};
    const struct fuzz_grec *recs = fuzz_gnode_records();
    const bool harness = self_tag == FUZZ_KEY_RESPONDER;
    struct store_put puts[FUZZ_GNODE_RECORDS];
    size_t n_puts = 0;
    struct gossip_store_ops ops;
    struct gossip_params p = {
        .max_peers = FUZZ_GNODE_PEERS, .track_holds = true, .log_refusals = true};
    struct gossip_io io = {.ctx = n,
                           .send = io_send,
                           .close_peer = io_close,
                           .verify = io_verify,
                           .stored = io_stored};

    memset(n, 0, sizeof *n);
    fuzz_gnode_identity(self_tag, &n->id);
    memset(p.hash_key, 0x5a, sizeof p.hash_key);
    FUZZ_CHECK(memstore_init(&n->ms, p.hash_key) == STORE_OK);
    for (size_t i = 0; i < FUZZ_GNODE_RECORDS; i++) {
        if (!(hold & (1u << i)))
            continue;
        puts[n_puts] = (struct store_put){.signed_rec = recs[i].bytes,
                                          .rec = recs[i].rec,
                                          .len = recs[i].len,
                                          .added_us = (FUZZ_WALL0 - HOUR_MS) * 1000 + i};
        memcpy(puts[n_puts++].id, recs[i].id, LIMIT_ID_BYTES);
    }
    FUZZ_CHECK(memstore_put_batch(&n->ms, puts, n_puts) == STORE_OK);
    memstore_gossip_ops(&n->ms, &ops);

    memcpy(p.self.key, n->id.sign_pk, LIMIT_KEY_BYTES);
    snprintf(p.self.org, sizeof p.self.org, "%s", harness ? "cert-self" : "cert-peer");
    p.self.n_communities = 1;
    snprintf(p.self.communities[0], sizeof p.self.communities[0], "energy");
    p.start_seq = memstore_last_seq(&n->ms);
    /* Tables far below the LIMIT_ defaults: gossip_new, gossip_free and gossip_peer_down walk
     * them whole, which at full size would cost most of each input. */
    p.recent_cap = p.cand_cap = p.want_cap = p.announce_cap = setup & 8 ? SMALL_CAP : CAP;
    FUZZ_CHECK(gossip_new(&n->g, &p, &ops, &io) == GOSSIP_OK);

    /* The far side (fuzz_mkseeds) sees the harness node in slot 0 as a partner with RED. */
    make_view(&n->view[0], harness ? FUZZ_KEY_INITIATOR : FUZZ_KEY_RESPONDER,
              harness ? org_of[0] : "cert-self", harness ? ceilings[setup & 3] : PROTO_TLP_RED,
              harness && (setup & 4) ? GATE_RELATION_CLIENT : GATE_RELATION_PARTNER);
    make_view(&n->view[1], FUZZ_KEY_THIRD, org_of[1], PROTO_TLP_RED, GATE_RELATION_PARTNER);
    fuzz_gnode_toggle(n, 0);
    if (setup & 16)
        fuzz_gnode_toggle(n, 1);
}

void fuzz_gnode_stop(struct fuzz_gnode *n)
{
    fuzz_gnode_run_jobs(n);
    gossip_free(n->g);
    memstore_free(&n->ms);
    for (size_t i = 0; i < n->n_out; i++)
        free(n->out[i].body);
    free(n->out);
    keys_identity_wipe(&n->id);
}

/* What the shell does when gossip asked to close a session: it ends, gossip hears of it. */
static void apply_closes(struct fuzz_gnode *n)
{
    for (size_t i = 0; i < FUZZ_GNODE_PEERS; i++) {
        if (n->closing[i] && n->up[i]) {
            gossip_peer_down(n->g, i);
            n->up[i] = false;
        }
        n->closing[i] = false;
    }
}

void fuzz_gnode_message(struct fuzz_gnode *n, size_t peer, uint8_t type, const uint8_t *body,
                        size_t len)
{
    const bool was_up = n->up[peer];
    int rc = gossip_on_message(n->g, peer, type, body, len, n->now, FUZZ_WALL0 + n->now);
    FUZZ_CHECK(rc == GOSSIP_OK || is_gossip_err(rc));
    /* A refused message closes the session of an up peer; a down peer's messages are dropped. */
    FUZZ_CHECK(rc == GOSSIP_OK || rc == GOSSIP_E_NOMEM || (was_up && n->closing[peer]));
    FUZZ_CHECK(was_up || rc == GOSSIP_OK);
    apply_closes(n);
    if (n->n_jobs == FUZZ_GNODE_JOBS)
        fuzz_gnode_run_jobs(n);
}

void fuzz_gnode_flush(struct fuzz_gnode *n, uint64_t dt_ms)
{
    int rc;
    n->now += dt_ms;
    rc = gossip_flush(n->g, n->now, FUZZ_WALL0 + n->now);
    FUZZ_CHECK(rc == GOSSIP_OK || is_gossip_err(rc));
    apply_closes(n);
}

void fuzz_gnode_run_jobs(struct fuzz_gnode *n)
{
    /* Jobs may hand out new jobs only through messages, never from on_verified; bounded anyway. */
    for (size_t i = 0; i < n->n_jobs; i++) {
        struct gossip_job *job = n->jobs[i];
        gossip_job_run(job);
        gossip_on_verified(n->g, job, n->now, FUZZ_WALL0 + n->now);
        apply_closes(n);
    }
    n->n_jobs = 0;
}

void fuzz_gnode_toggle(struct fuzz_gnode *n, size_t peer)
{
    int rc;
    if (n->up[peer]) {
        gossip_peer_down(n->g, peer);
        n->up[peer] = false;
        return;
    }
    n->up[peer] = true;
    rc = gossip_peer_up(n->g, peer, &n->view[peer], n->view[peer].key, n->now);
    FUZZ_CHECK(rc == GOSSIP_OK || is_gossip_err(rc));
    if (rc != GOSSIP_OK) /* refused (e.g. a key in back-off): the session does not open */
        n->up[peer] = false;
    n->tree[peer] = rc == GOSSIP_OK && peer % 2 == 1; /* odd slots relay along trees */
    if (n->tree[peer])
        gossip_peer_caps(n->g, peer, GOSSIP_CAP_TREE);
    apply_closes(n);
}

void fuzz_gnode_add_local(struct fuzz_gnode *n, size_t rec)
{
    const struct fuzz_grec *r = &fuzz_gnode_records()[rec % FUZZ_GNODE_RECORDS];
    struct store_put put = {.signed_rec = r->bytes,
                            .rec = r->rec,
                            .len = r->len,
                            .added_us = (FUZZ_WALL0 + n->now) * 1000};
    int rc;
    memcpy(put.id, r->id, LIMIT_ID_BYTES);
    FUZZ_CHECK(memstore_put_batch(&n->ms, &put, 1) == STORE_OK);
    rc = gossip_local_scan(n->g, n->now, FUZZ_WALL0 + n->now);
    FUZZ_CHECK(rc == GOSSIP_OK || is_gossip_err(rc));
    apply_closes(n);
}

void fuzz_gnode_run(const uint8_t *data, size_t size, uint8_t fixed_type)
{
    static struct fuzz_gnode n;
    struct fuzz_in in = {data, size};
    fuzz_gnode_start(&n, FUZZ_KEY_RESPONDER, FUZZ_GNODE_HOLD_SELF, fuzz_u8(&in));
    while (in.n > 0) {
        uint8_t op = fuzz_u8(&in) % 6;
        size_t peer, len;
        uint8_t type;
        const uint8_t *body;
        switch (op) {
        case 0:
            peer = fuzz_u8(&in) % FUZZ_GNODE_PEERS;
            type = fixed_type ? fixed_type : fuzz_u8(&in);
            body = fuzz_bytes(&in, fuzz_u16(&in), &len);
            fuzz_gnode_message(&n, peer, type, len ? body : NULL, len);
            break;
        case 1:
            fuzz_gnode_flush(&n, fuzz_u16(&in));
            break;
        case 2:
            fuzz_gnode_run_jobs(&n);
            break;
        case 3:
            fuzz_gnode_toggle(&n, fuzz_u8(&in) % FUZZ_GNODE_PEERS);
            break;
        case 4:
            fuzz_gnode_add_local(&n, fuzz_u8(&in));
            break;
        default:
            fuzz_gnode_message(&n, fuzz_u8(&in) % FUZZ_GNODE_PEERS, GOSSIP_MSG_RECON_REQ, NULL, 0);
            break;
        }
    }
    fuzz_gnode_stop(&n);
}
