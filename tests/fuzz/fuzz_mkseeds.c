/* fuzz_mkseeds.c - writes the seed files that hold real protocol messages:
 *   corpus/noise/    real XX messages 1, 2, 3 and a transport ciphertext for fuzz_noise.c;
 *   corpus/session/  real handshake transcripts and transport entry lists for fuzz_session.c;
 *   corpus/recon/    real peer messages and exchange parameters for fuzz_recon.c;
 *   corpus/gossip/, corpus/gossip_recon/  real gossip conversations (what the harness node of
 *                    fuzz_gnode.h hears from a real peer) and hand-made messages of every type;
 *   corpus/taxii/, corpus/http/, corpus/control/  requests naming the served collection and
 *                    records (fuzz_serve.h), with the harness's credentials.
 * Keys and item sets are the targets' own (fuzz.h, fuzz_recon_items.h), so every seed reaches
 * the path that succeeds. Usage: fuzz_mkseeds CORPUS_DIR (the directories must exist).
 * Other seeds (records, configs, samples, texts) are plain files copied from docs and samples.
 */
#include <stdbool.h>

#include <sodium.h>

#include "crypto/keys.h"
#include "crypto/noise.h"
#include "fuzz.h"
#include "fuzz_gnode.h"
#include "fuzz_recon_items.h"
#include "fuzz_serve.h"
#include "node/core/recon.h"
#include "node/core/session.h"
#include "node/formats/export.h"
#include "node/formats/taxii.h"

#define SEED_MAX 65536

struct buf {
    uint8_t b[SEED_MAX];
    size_t n;
};

static const char *corpus;

static void put(struct buf *b, const void *p, size_t n)
{
    FUZZ_CHECK(b->n + n <= sizeof b->b);
    memcpy(b->b + b->n, p, n);
    b->n += n;
}

static void put_u8(struct buf *b, uint8_t v)
{
    put(b, &v, 1);
}

static void put_u16(struct buf *b, size_t v)
{
    FUZZ_CHECK(v <= 0xffff);
    put_u8(b, (uint8_t)(v >> 8));
    put_u8(b, (uint8_t)v);
}

static void save(const char *dir, const char *name, const struct buf *b)
{
    char path[4096];
    FILE *f;

    snprintf(path, sizeof path, "%s/%s/%s", corpus, dir, name);
    f = fopen(path, "wb");
    FUZZ_CHECK(f != NULL);
    FUZZ_CHECK(fwrite(b->b, 1, b->n, f) == b->n);
    FUZZ_CHECK(fclose(f) == 0);
}

/* --- noise --- */

static void hs_start(struct noise_hs *hs, bool initiator)
{
    static const uint8_t prologue[] = "tlpmesh/1\0" FUZZ_NETWORK;
    uint8_t s[32], e[32];
    fuzz_key(s, initiator ? FUZZ_KEY_INITIATOR : FUZZ_KEY_RESPONDER);
    fuzz_key(e, initiator ? FUZZ_EPH_INITIATOR : FUZZ_EPH_RESPONDER);
    FUZZ_CHECK(noise_hs_init(hs, initiator, prologue, sizeof prologue - 1, s, e) == NOISE_OK);
}

static void noise_seeds(void)
{
    static struct buf b;
    uint8_t m1[64], m2[128], m3[128], ct[64];
    struct noise_hs i, r;
    struct noise_cs cs = {.n = 0, .has_key = true};
    int n1, n2, n3, nc;

    hs_start(&i, true);
    hs_start(&r, false);
    n1 = noise_hs_write(&i, NULL, 0, m1, sizeof m1);
    FUZZ_CHECK(noise_hs_read(&r, m1, (size_t)n1, NULL, 0) == 0);
    n2 = noise_hs_write(&r, NULL, 0, m2, sizeof m2);
    FUZZ_CHECK(noise_hs_read(&i, m2, (size_t)n2, NULL, 0) == 0);
    n3 = noise_hs_write(&i, NULL, 0, m3, sizeof m3);
    FUZZ_CHECK(n1 == 32 && n2 == 96 && n3 == 64);
    noise_hs_wipe(&i);
    noise_hs_wipe(&r);

    b.n = 0, put_u8(&b, 0), put(&b, m1, (size_t)n1), save("noise", "msg1", &b);
    b.n = 0, put_u8(&b, 1), put(&b, m2, (size_t)n2), save("noise", "msg2", &b);
    b.n = 0, put_u8(&b, 2), put(&b, m3, (size_t)n3), save("noise", "msg3", &b);

    fuzz_key(cs.k, FUZZ_KEY_INITIATOR);
    nc = noise_cs_encrypt(&cs, (const uint8_t *)"ad", 2, (const uint8_t *)"hello", 5, ct,
                          sizeof ct);
    b.n = 0, put_u8(&b, 3), put_u8(&b, 0), put_u8(&b, 2), put(&b, "ad", 2);
    put(&b, ct, (size_t)nc), save("noise", "transport", &b);
}

/* --- session --- */

struct side {
    struct session s;
    struct buf out;
};

static uint8_t scratch[SESSION_SCRATCH_BYTES];

static int cb_send(void *ctx, const uint8_t *bytes, size_t len)
{
    put(&((struct side *)ctx)->out, bytes, len);
    return 0;
}

static bool cb_allowed(void *ctx, const uint8_t key[LIMIT_KEY_BYTES])
{
    (void)ctx, (void)key;
    return true;
}

static void cb_opened(void *ctx)
{
    (void)ctx;
}

static void cb_message(void *ctx, uint8_t type, const uint8_t *body, size_t len)
{
    (void)ctx, (void)type, (void)body, (void)len;
}

static struct session_cb cbs(struct side *d)
{
    return (struct session_cb){d, cb_send, cb_allowed, cb_opened, cb_message, scratch};
}

static void start(struct side *d, bool initiator, const struct keys_identity *id,
                  const struct keys_identity *peer)
{
    uint8_t eph[32], auth[SESSION_AUTH_BYTES];
    session_auth_payload(id, auth);
    struct session_params p = {.initiator = initiator, .id = id, .network = FUZZ_NETWORK,
                               .ephemeral_sk = eph, .expect_key = peer->sign_pk, .auth = auth};
    struct session_cb cb = cbs(d);
    fuzz_key(eph, initiator ? FUZZ_EPH_INITIATOR : FUZZ_EPH_RESPONDER);
    memset(d, 0, sizeof *d);
    FUZZ_CHECK(session_init(&d->s, &p, &cb) == SESSION_OK);
}

/* Both sides open; then each sends an application message, a KEEPALIVE and a CLOSE. */
static void session_transcripts(void)
{
    static struct side i, r;
    static struct buf b;
    struct keys_identity ki, kr;
    uint8_t seed[32];
    struct session_cb ci = cbs(&i), cr = cbs(&r);
    size_t i_hs, r_hs;

    fuzz_key(seed, FUZZ_KEY_INITIATOR);
    keys_identity_from_seed(seed, &ki);
    fuzz_key(seed, FUZZ_KEY_RESPONDER);
    keys_identity_from_seed(seed, &kr);
    start(&i, true, &ki, &kr);
    start(&r, false, &kr, &ki);
    FUZZ_CHECK(session_feed(&r.s, i.out.b, i.out.n, &cr) == SESSION_OK);
    i_hs = i.out.n;
    FUZZ_CHECK(session_feed(&i.s, r.out.b, r.out.n, &ci) == SESSION_OK);
    r_hs = r.out.n;
    FUZZ_CHECK(session_feed(&r.s, i.out.b + i_hs, i.out.n - i_hs, &cr) == SESSION_OK);
    FUZZ_CHECK(session_feed(&i.s, r.out.b + r_hs, r.out.n - r_hs, &ci) == SESSION_OK);
    FUZZ_CHECK(i.s.state == SESSION_OPEN && r.s.state == SESSION_OPEN);
    FUZZ_CHECK(session_send(&i.s, 16, (const uint8_t *)"gossip", 6, &ci) == SESSION_OK);
    FUZZ_CHECK(session_send(&r.s, 200, (const uint8_t *)"recon", 5, &cr) == SESSION_OK);
    FUZZ_CHECK(session_send(&i.s, SESSION_MSG_KEEPALIVE, NULL, 0, &ci) == SESSION_OK);
    FUZZ_CHECK(session_send(&r.s, SESSION_MSG_KEEPALIVE, NULL, 0, &cr) == SESSION_OK);
    session_close(&i.s, SESSION_CLOSE_NORMAL, &ci);
    session_close(&r.s, SESSION_CLOSE_SHUTDOWN, &cr);

    b.n = 0, put_u8(&b, 0), put(&b, i.out.b, i.out.n), save("session", "responder-full", &b);
    b.b[0] = 1 << 3 | 0; /* one byte at a time */
    save("session", "responder-full-bytewise", &b);
    b.n = 0, put_u8(&b, 1), put(&b, r.out.b, r.out.n), save("session", "initiator-full", &b);
    b.b[0] = 7 << 3 | 1;
    save("session", "initiator-full-chunked", &b);
    b.n = 0, put_u8(&b, 4), put(&b, i.out.b, i.out.n), save("session", "responder-refuses", &b);
    session_free(&i.s);
    session_free(&r.s);
    keys_identity_wipe(&ki);
    keys_identity_wipe(&kr);
}

static void entry(struct buf *b, const void *p, size_t n)
{
    put_u16(b, n);
    put(b, p, n);
}

static void session_entries(void)
{
    static struct buf b;
    static const uint8_t hello[] = {1, 1, 0, 0, 0, 7}, app[] = {16, 'h', 'i'}, keep[] = {2},
                         close_[] = {3, 0}, raw[] = {0, 0};

    b.n = 0, put_u8(&b, 2), entry(&b, hello, sizeof hello), entry(&b, app, sizeof app);
    entry(&b, keep, sizeof keep), entry(&b, close_, sizeof close_);
    save("session", "transport-hello", &b);
    b.n = 0, put_u8(&b, 3 | 3 << 3), entry(&b, app, sizeof app), entry(&b, keep, sizeof keep);
    put_u16(&b, 0x8000 | sizeof raw), put(&b, raw, sizeof raw);
    save("session", "transport-open", &b);
}

/* --- recon --- */

#define SEED_ITEMS 600

struct recon_case {
    const char *name;
    unsigned common, only_a, only_b, gap, zero, cap_a, cap_b;
};

static void recon_exchange_seed(const struct recon_case *c)
{
    static struct buf b;
    b.n = 0;
    put_u8(&b, 1);
    put_u8(&b, (uint8_t)c->common), put_u8(&b, (uint8_t)c->only_a), put_u8(&b, (uint8_t)c->only_b);
    put_u8(&b, (uint8_t)c->gap), put_u8(&b, (uint8_t)c->zero);
    put_u16(&b, c->cap_a), put_u16(&b, c->cap_b);
    save("recon", c->name, &b);
}

/* The fuzz side holds items 0..n-1; a real peer holding items 10..n+29 initiates and answers:
 * the seed is the list of the peer's messages the fuzz side must answer in order. */
static void recon_messages_seed(const char *name, unsigned n, unsigned gap, unsigned zero)
{
    static struct recon_item mine[SEED_ITEMS], theirs[SEED_ITEMS];
    static uint8_t msg[2][LIMIT_RECON_MSG_BYTES];
    static struct buf b;
    struct recon a, p;
    int len;

    fuzz_make_items(mine, 0, n, gap, zero);
    fuzz_make_items(theirs, 10, n + 20, gap, zero);
    qsort(mine, n, sizeof mine[0], fuzz_item_cmp);
    qsort(theirs, n + 20, sizeof theirs[0], fuzz_item_cmp);
    FUZZ_CHECK(recon_init(&a, mine, n, LIMIT_RECON_MSG_BYTES) == RECON_OK);
    FUZZ_CHECK(recon_init(&p, theirs, n + 20, LIMIT_RECON_MSG_BYTES) == RECON_OK);
    b.n = 0;
    put_u8(&b, 0), put_u8(&b, (uint8_t)n), put_u8(&b, (uint8_t)gap), put_u8(&b, (uint8_t)zero);
    put_u16(&b, LIMIT_RECON_MSG_BYTES - LIMIT_RECON_MSG_MIN);
    len = recon_initiate(&p, msg[0], sizeof msg[0]);
    while (len > 0) {
        entry(&b, msg[0], (size_t)len);
        len = recon_respond(&a, msg[0], (size_t)len, msg[1], sizeof msg[1], NULL);
        FUZZ_CHECK(len >= 0);
        if (len == 0)
            break;
        len = recon_respond(&p, msg[1], (size_t)len, msg[0], sizeof msg[0], NULL);
        FUZZ_CHECK(len >= 0);
    }
    recon_free(&a);
    recon_free(&p);
    save("recon", name, &b);
}

static void recon_seeds(void)
{
    static const struct recon_case cases[] = {
        {"exchange-small", 100, 3, 2, 10, 0, 0xffff, 0xffff},
        {"exchange-tiny-cap", 255, 40, 40, 1, 8, 0, 0},
        {"exchange-one-side", 0, 5, 0, 3, 0, 500, 500},
        {"exchange-same-ts", 200, 20, 20, 0, 30, 1000, 200},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++)
        recon_exchange_seed(&cases[k]);
    recon_messages_seed("messages-few", 30, 7, 0);
    recon_messages_seed("messages-many", 250, 2, 4);
}

/* --- gossip --- */

/* An op-0 message: the type byte only where the target reads one. */
static void gossip_op_msg(struct buf *b, bool typed, size_t peer, uint8_t type, const uint8_t *body,
                          size_t len)
{
    put_u8(b, 0), put_u8(b, (uint8_t)peer);
    if (typed)
        put_u8(b, type);
    put_u16(b, len), put(b, body, len);
}

/* Delivers what `from` sent since *seen to `to` (the other node's slot 0); recorded into b when
 * `to` is the harness node (typed: fuzz_gossip; untyped: fuzz_gossip_recon, RECON only). */
static void gossip_deliver(struct fuzz_gnode *from, size_t *seen, struct fuzz_gnode *to,
                           struct buf *b, bool typed)
{
    for (; *seen < from->n_out; (*seen)++) {
        const struct fuzz_gmsg *m = &from->out[*seen];
        if (m->peer != 0)
            continue;
        if (b != NULL && (typed || m->type == GOSSIP_MSG_RECON))
            gossip_op_msg(b, typed, 0, m->type, m->body, m->len);
        else if (b != NULL && m->type == GOSSIP_MSG_RECON_REQ)
            put_u8(b, 5), put_u8(b, 0);
        else if (b != NULL)
            continue; /* the recon target cannot carry it: the harness never hears it */
        fuzz_gnode_message(to, 0, m->type, m->len ? m->body : NULL, m->len);
    }
}

/* The harness node (A) and a real peer (B, FUZZ_KEY_INITIATOR, holding other records) talk for
 * `steps` rounds of 40 ms; B publishes record `b_local` half-way. The seed holds A's setup and
 * every call into A, so replaying it takes A down the same path. */
static void gossip_conversation(const char *dir, const char *name, bool typed, uint8_t setup,
                                size_t b_local)
{
    static struct fuzz_gnode a, bn;
    static struct buf b;
    size_t seen_a = 0, seen_b = 0;

    b.n = 0;
    put_u8(&b, setup);
    fuzz_gnode_start(&a, FUZZ_KEY_RESPONDER, FUZZ_GNODE_HOLD_SELF, setup);
    fuzz_gnode_start(&bn, FUZZ_KEY_INITIATOR, FUZZ_GNODE_HOLD_FAR, 0);
    a.record_out = bn.record_out = true;
    for (unsigned step = 0; step < 40; step++) {
        put_u8(&b, 1), put_u16(&b, 40);
        fuzz_gnode_flush(&a, 40);
        gossip_deliver(&a, &seen_a, &bn, NULL, typed);
        if (step == 20)
            fuzz_gnode_add_local(&bn, b_local);
        fuzz_gnode_flush(&bn, 40);
        gossip_deliver(&bn, &seen_b, &a, &b, typed);
        put_u8(&b, 2);
        fuzz_gnode_run_jobs(&a);
        fuzz_gnode_run_jobs(&bn);
    }
    fuzz_gnode_stop(&a);
    fuzz_gnode_stop(&bn);
    save(dir, name, &b);
}

static void records_msg(struct buf *b, const size_t *recs, size_t n, bool forge)
{
    const struct fuzz_grec *r = fuzz_gnode_records();
    static struct buf body;
    body.n = 0;
    put_u16(&body, n);
    for (size_t i = 0; i < n; i++) {
        size_t at = body.n + 2;
        put_u16(&body, r[recs[i]].len), put(&body, r[recs[i]].bytes, r[recs[i]].len);
        if (forge && i == n - 1)
            body.b[at] ^= 1; /* the signature's first byte */
    }
    gossip_op_msg(b, true, 0, GOSSIP_MSG_RECORDS, body.b, body.n);
}

static void sid_msg(struct buf *b, uint8_t type, const size_t *recs, size_t n)
{
    static struct buf body;
    body.n = 0;
    put_u16(&body, n);
    for (size_t i = 0; i < n; i++)
        put(&body, fuzz_gnode_records()[recs[i]].id, LIMIT_SHORT_ID_BYTES);
    gossip_op_msg(b, true, 0, type, body.b, body.n);
}

static void gossip_handmade(void)
{
    static struct buf b;
    static const size_t news[] = {9, 11}, mine[] = {0, 1, 2, 3, 6, 7, 8, 10}, one[] = {9};

    b.n = 0, put_u8(&b, 1 | 16), records_msg(&b, news, 2, false), put_u8(&b, 2);
    put_u8(&b, 1), put_u16(&b, 100), save("gossip", "records-new", &b);
    b.n = 0, put_u8(&b, 3), records_msg(&b, news, 2, true), put_u8(&b, 2);
    save("gossip", "records-forged", &b);
    b.n = 0, put_u8(&b, 1), sid_msg(&b, GOSSIP_MSG_ANNOUNCE, one, 1), put_u8(&b, 1);
    put_u16(&b, 3000), save("gossip", "announce-unknown", &b);
    b.n = 0, put_u8(&b, 3 | 4 | 16), sid_msg(&b, GOSSIP_MSG_WANT, mine, 8), put_u8(&b, 1);
    put_u16(&b, 10), put_u8(&b, 4), put_u8(&b, 9), put_u8(&b, 1), put_u16(&b, 60000);
    save("gossip", "want-mine", &b);
    b.n = 0, put_u8(&b, 2), gossip_op_msg(&b, true, 1, 21, (const uint8_t *)"future", 6);
    put_u8(&b, 5), put_u8(&b, 0), put_u8(&b, 3), put_u8(&b, 0), put_u8(&b, 3), put_u8(&b, 0);
    put_u8(&b, 1), put_u16(&b, 5), save("gossip", "unknown-type-toggle", &b);
}

static void gossip_seeds(void)
{
    gossip_conversation("gossip", "conversation-amber", true, 1, 11);
    gossip_conversation("gossip", "conversation-red-client", true, 3 | 4, 9);
    gossip_conversation("gossip", "conversation-small-tables", true, 1 | 8, 11);
    gossip_conversation("gossip", "conversation-two-peers", true, 0 | 16, 4);
    gossip_conversation("gossip_recon", "exchange-amber", false, 1, 11);
    gossip_conversation("gossip_recon", "exchange-red-client", false, 3 | 4, 9);
    gossip_conversation("gossip_recon", "exchange-small-tables", false, 1 | 8, 11);
    gossip_handmade();
}

/* --- TAXII, HTTP, control --- */

static void save_text(const char *dir, const char *name, uint8_t first, const char *text)
{
    static struct buf b;
    b.n = 0;
    put_u8(&b, first), put(&b, text, strlen(text)), save(dir, name, &b);
}

static void serve_seeds(void)
{
    struct keys_identity self;
    char coll[37], oid[EXPORT_UUID_TEXT], path[256], text[1024];
    const char *objects;

    fuzz_gnode_identity(FUZZ_KEY_RESPONDER, &self);
    taxii_collection_id(self.sign_pk, coll);
    export_record_uuid(fuzz_gnode_records()[0].id, oid);
    keys_identity_wipe(&self);

    /* fuzz_taxii: flags (1 Accept, 2 Authorization), method, path, [Accept], [Auth], params */
    save_text("taxii", "discovery", 1, "GET\n/taxii2/\n" TAXII_MEDIA_TYPE);
    save_text("taxii", "api-root", 2, "GET\n/tlpmesh/\n" FUZZ_SERVE_BASIC);
    save_text("taxii", "collections", 3,
              "GET\n/tlpmesh/collections/\napplication/taxii+json\nBearer " FUZZ_SERVE_TOKEN);
    snprintf(path, sizeof path, "/tlpmesh/collections/%s/objects/", coll);
    objects = path;
    snprintf(text, sizeof text, "GET\n%s\n%s\nlimit=2\nadded_after=2023-11-14T20:00:00Z\n"
             "match[type]=indicator,identity\nmatch[spec_version]=2.1", objects, FUZZ_SERVE_BASIC);
    save_text("taxii", "objects-filtered", 2, text);
    snprintf(text, sizeof text, "GET\n%s\nmatch[id]=indicator--%s\nmatch[version]=first,last,"
             "2023-11-14T21:13:20.000Z\nnext=00000000000000030000000000000000", objects, oid);
    save_text("taxii", "objects-anonymous-match", 0, text);
    snprintf(text, sizeof text, "GET\n/tlpmesh/collections/%s/objects/indicator--%s/versions/\n"
             "Token " FUZZ_SERVE_TOKEN, coll, oid);
    save_text("taxii", "object-versions", 2, text);
    snprintf(text, sizeof text, "GET\n/tlpmesh/collections/%s/manifest/\n" FUZZ_SERVE_BASIC
             "\nlimit=1", coll);
    save_text("taxii", "manifest", 2, text);
    snprintf(text, sizeof text, "POST\n%s\nBasic bm9ib2R5Om5vcGU=", objects);
    save_text("taxii", "post-bad-auth", 2, text);

    /* fuzz_http: flags (1 the MetricsListen listener), raw bytes */
    save_text("http", "healthz", 0, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    save_text("http", "metrics-auth", 0,
              "GET /metrics HTTP/1.1\r\nHost: x\r\nAuthorization: " FUZZ_SERVE_BASIC "\r\n\r\n");
    save_text("http", "metrics-listener", 1, "GET /metrics HTTP/1.0\r\n\r\nGET /taxii2/ HTTP/1.0\r\n\r\n");
    snprintf(text, sizeof text, "GET %s?limit=1&match%%5Btype%%5D=indicator&added_after=2023-11-14T20"
             "%%3A00%%3A00Z HTTP/1.1\r\nHost: x\r\nAccept: " TAXII_MEDIA_TYPE "\r\n"
             "Authorization: Bearer " FUZZ_SERVE_TOKEN "\r\n\r\nGET /taxii2/ HTTP/1.1\r\n"
             "Host: x\r\n\r\n", objects);
    save_text("http", "taxii-pipelined", 0, text);
    snprintf(text, sizeof text, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n"
             "Content-Type: application/taxii+json\r\n\r\n{\"objects\":1}", objects);
    save_text("http", "taxii-post", 0, text);
    save_text("http", "chunked-bad", 0,
              "PUT /tlpmesh/ HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n");

    /* fuzz_control: lines */
    save_text("control", "commands", '{',
              "\"cmd\":\"status\"}\n{\"cmd\":\"holds\",\"id\":\"00ff\"}\n"
              "{\"cmd\":\"reload\"}\n{\"cmd\":\"records-added\"}\n");
    save_text("control", "not-objects", '[', "1,2]\n\"x\"\n\n{\"a\":\n{\"cmd\":\"status\"}");
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
        return 2;
    }
    corpus = argv[1];
    FUZZ_CHECK(sodium_init() >= 0);
    noise_seeds();
    session_transcripts();
    session_entries();
    recon_seeds();
    gossip_seeds();
    serve_seeds();
    return 0;
}
