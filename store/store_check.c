/* store_check.c - LMDB record store: the integrity check (store_check). Every record against
 * its id, signature, canonical form and index entries; every index entry against its record;
 * revocations against their targets. Contract: store.h; shared parts: store_int.h.
 *
 * The store never checks signatures on its own paths (its callers verify before they put); this
 * is the one place that does, because a check must not trust what it checks. */
#include "store/store_int.h"

#include "proto/succession.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

/* The log pass's state across its chunks. */
struct seq_walk {
    uint64_t next_seq; /* of the chunk's transaction; 0: none valid (nothing is walked) */
    uint64_t want, last_added;
};

struct check {
    struct store_check_report *rep;
    store_problem_cb cb;
    void *ctx;
    struct proto_record *r; /* scratch: one decoded record (~30 KB) */
    struct seq_walk *seq;   /* the log pass's state across its chunks */
};

static void hex(const uint8_t *b, size_t n, char *out)
{
    sodium_bin2hex(out, 2 * n + 1, b, n);
}

static void problem(struct check *ck, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void problem(struct check *ck, const char *fmt, ...)
{
    if (ck->rep->problems++ >= LIMIT_STORE_CHECK_LISTED || ck->cb == NULL)
        return;
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    ck->cb(line, ck->ctx);
}

/* 1 when db holds key (and, for val != NULL, exactly that value or duplicate), 0 when not, or a
 * negative store_err. Copies the stored value into got[0..got_cap) when got != NULL. */
static int has_entry(struct store *s, MDB_txn *txn, enum db_index db, const void *key,
                     size_t key_len, const void *val, size_t val_len)
{
    MDB_cursor *c = NULL;
    int rc = mdb_cursor_open(txn, s->dbi[db], &c);
    if (rc != MDB_SUCCESS)
        return map_err(rc);
    MDB_val k = {key_len, (void *)key}, v = {val_len, (void *)val};
    rc = mdb_cursor_get(c, &k, &v, val != NULL ? MDB_GET_BOTH : MDB_SET_KEY);
    mdb_cursor_close(c);
    if (rc == MDB_NOTFOUND)
        return 0;
    return rc == MDB_SUCCESS ? 1 : map_err(rc);
}

/* Decodes a stored record (decode_known: the log walk validated it) into ck->r. 1 decoded, 0
 * not, or a negative store_err passed on. */
static int decode_into(struct check *ck, int err, const struct store_rec *rec)
{
    if (err == STORE_E_NOTFOUND || err == STORE_E_CORRUPT)
        return 0; /* missing, pruned or damaged: the log and ids passes name which */
    if (err != STORE_OK)
        return err;
    return proto_record_decode_known(rec->signed_rec + LIMIT_SIG_BYTES,
                                     rec->len - LIMIT_SIG_BYTES, ck->r) == PROTO_OK;
}

/* The record stored under id / under seq, decoded into ck->r (and its seq to *seq / its id to
 * id_out when not NULL): 1 found, 0 missing or undecodable, or a negative store_err. */
static int load(struct store *s, MDB_txn *txn, struct check *ck, const uint8_t *id, uint64_t *seq)
{
    struct store_rec rec = {0};
    const int found = decode_into(ck, store_rec_by_id(s, txn, id, &rec), &rec);
    if (found == 1 && seq != NULL)
        *seq = rec.seq;
    return found;
}

static int load_seq(struct store *s, MDB_txn *txn, struct check *ck, uint64_t seq,
                    uint8_t id_out[LIMIT_ID_BYTES])
{
    struct store_rec rec = {0};
    const int found = decode_into(ck, store_rec_by_seq(s, txn, seq, &rec), &rec);
    if (found == 1)
        memcpy(id_out, rec.id, LIMIT_ID_BYTES);
    return found;
}

/* --- every record: id, canonical form, signature, and its index entries --- */

static int expect(struct check *ck, int found, const char *idx, const char *idhex)
{
    if (found == 0)
        problem(ck, "record %s: no %s index entry", idhex, idx);
    return found < 0 ? found : STORE_OK;
}

static int record_indexes(struct store *s, MDB_txn *txn, struct check *ck, const uint8_t *id,
                          uint64_t seq, const char *idhex)
{
    const struct proto_record *r = ck->r;
    uint8_t key[TIME_KEY_BYTES], val[REVOKED_VAL_BYTES];
    MDB_val ik = {LIMIT_ID_BYTES, (void *)id}, iv;
    int rc = mdb_get(txn, s->dbi[DB_IDS], &ik, &iv);
    if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND)
        return map_err(rc);
    if (rc == MDB_NOTFOUND || iv.mv_size != SEQ_BYTES || get_be64(iv.mv_data) != seq)
        problem(ck, "record %s: the ids index does not name seq %llu for it", idhex,
                (unsigned long long)seq);
    put_be64(key, r->created_ms);
    put_be64(key + 8, seq);
    int err =
        expect(ck, has_entry(s, txn, DB_BYTIME, key, TIME_KEY_BYTES, NULL, 0), "bytime", idhex);
    if (err != STORE_OK)
        return err;
    switch (r->kind) {
    case PROTO_KIND_INDICATOR: {
        uint8_t vkey[VALUE_KEY_BYTES], ev[EXPIRY_VAL_BYTES];
        store_value_key(vkey, r->u.ind.type, r->u.ind.value, strlen(r->u.ind.value));
        err = expect(ck, has_entry(s, txn, DB_BYVALUE, vkey, sizeof vkey, id, LIMIT_ID_BYTES),
                     "byvalue", idhex);
        uint8_t pkey[VALUE_KEY_BYTES];
        if (err == STORE_OK && store_part_key(pkey, r->u.ind.type, r->u.ind.value))
            err = expect(ck, has_entry(s, txn, DB_BYVALUE, pkey, sizeof pkey, id, LIMIT_ID_BYTES),
                         "byvalue (part)", idhex);
        put_be64(key, r->u.ind.valid_until_ms);
        put_be64(ev, r->created_ms);
        memcpy(ev + 8, vkey, VALUE_KEY_BYTES);
        if (err == STORE_OK)
            err = expect(ck, has_entry(s, txn, DB_EXPIRY, key, EXPIRY_KEY_BYTES, NULL, 0), "expiry",
                         idhex);
        MDB_val ek = {EXPIRY_KEY_BYTES, key}, evv;
        if (err == STORE_OK && mdb_get(txn, s->dbi[DB_EXPIRY], &ek, &evv) == MDB_SUCCESS &&
            (evv.mv_size != sizeof ev || memcmp(evv.mv_data, ev, sizeof ev) != 0))
            problem(ck, "record %s: its expiry entry names another value or time", idhex);
        return err;
    }
    case PROTO_KIND_REVOCATION:
        memcpy(val, r->origin, LIMIT_KEY_BYTES);
        memcpy(val + LIMIT_KEY_BYTES, id, LIMIT_ID_BYTES);
        return expect(
            ck, has_entry(s, txn, DB_REVOKED, r->u.rev.target, LIMIT_ID_BYTES, val, sizeof val),
            "revoked", idhex);
    case PROTO_KIND_SIGHTING:
        return expect(
            ck,
            has_entry(s, txn, DB_SIGHTED, r->u.sight.target, LIMIT_ID_BYTES, id, LIMIT_ID_BYTES),
            "sighted", idhex);
    case PROTO_KIND_ROSTER:
        return expect(ck,
                      has_entry(s, txn, DB_ROSTERS, r->origin, LIMIT_KEY_BYTES, id, LIMIT_ID_BYTES),
                      "rosters", idhex);
    }
    return STORE_OK;
}

static void count_kind(struct store_check_report *rep, int kind)
{
    uint64_t *n[] = {[PROTO_KIND_INDICATOR] = &rep->indicators,
                     [PROTO_KIND_REVOCATION] = &rep->revocations,
                     [PROTO_KIND_SIGHTING] = &rep->sightings,
                     [PROTO_KIND_ROSTER] = &rep->rosters};
    if (kind >= 0 && (size_t)kind < sizeof n / sizeof n[0] && n[kind] != NULL)
        (*n[kind])++;
}

/* One log entry: seq 1 .. next_seq - 1 without gaps, arrival times strictly increasing (0: a
 * record migrated from before they were kept), a pruned record's arrival time alone; a record's
 * id (the BLAKE2b-256 of its body), canonical form, signature and index entries. Seqs are only
 * ever appended, so a walk in chunks sees the sequence a snapshot would, up to a later
 * next_seq. Returns STORE_OK after counting its problems, or a store error. */
static int check_record(struct store *s, MDB_txn *txn, struct check *ck, const MDB_val *k,
                        const MDB_val *v)
{
    struct seq_walk *w = ck->seq;
    const uint64_t seq = k->mv_size == SEQ_BYTES ? get_be64(k->mv_data) : 0, at = w->want++;
    if (seq != at || seq >= w->next_seq) {
        problem(ck, "log: entry %llu where %llu was due (next seq %llu)", (unsigned long long)seq,
                (unsigned long long)at, (unsigned long long)w->next_seq);
        w->want = seq + 1;
    }
    struct store_rec rec;
    const int shape = store_log_rec(k, v, &rec);
    if (shape == STORE_E_CORRUPT || v->mv_size > LOG_HEAD_BYTES + SIGNED_MAX) {
        problem(ck, "log: entry %llu has a value of %zu bytes", (unsigned long long)seq,
                v->mv_size);
        return STORE_OK;
    }
    const uint64_t added = get_be64(v->mv_data);
    if (added != 0 && added <= w->last_added)
        problem(ck, "log: entry %llu arrived before the one before it", (unsigned long long)seq);
    w->last_added = added > w->last_added ? added : w->last_added;
    if (shape == STORE_E_NOTFOUND) {
        ck->rep->pruned++;
        return STORE_OK;
    }
    ck->rep->records++;
    uint8_t id[LIMIT_ID_BYTES];
    char idhex[2 * LIMIT_ID_BYTES + 1];
    memcpy(id, rec.id, sizeof id);
    hex(id, sizeof id, idhex);
    const uint8_t *sig = rec.signed_rec, *body = sig + LIMIT_SIG_BYTES;
    const size_t len = rec.len - LIMIT_SIG_BYTES;
    uint8_t want[LIMIT_ID_BYTES];
    proto_record_id(body, len, want);
    if (memcmp(want, id, sizeof id) != 0)
        problem(ck, "record %s: id is not the BLAKE2b-256 of its body", idhex);
    memset(ck->r, 0, sizeof *ck->r);
    char why[160] = "";
    int prc = proto_record_decode(body, len, ck->r, why, sizeof why);
    if (prc != PROTO_OK) {
        problem(ck, "record %s: body does not decode canonically: %s", idhex,
                why[0] ? why : proto_strerror(prc));
        return STORE_OK;
    }
    count_kind(ck->rep, ck->r->kind);
    if (proto_record_verify(body, len, sig, ck->r->origin) != PROTO_OK)
        problem(ck, "record %s: signature does not verify", idhex);
    return record_indexes(s, txn, ck, id, seq, idhex);
}

static int record_entry(struct store *s, MDB_txn *txn, const MDB_val *k, const MDB_val *v,
                        void *ctx)
{
    return check_record(s, txn, ctx, k, v);
}

/* An ids entry: the log holds a record of that id under its seq. */
static int ids_entry(struct store *s, MDB_txn *txn, const MDB_val *k, const MDB_val *v, void *ctx)
{
    struct check *ck = ctx;
    ck->rep->index_entries++;
    char idhex[2 * LIMIT_ID_BYTES + 1] = "?";
    if (k->mv_size != LIMIT_ID_BYTES || v->mv_size != SEQ_BYTES) {
        problem(ck, "index ids: an entry of %zu / %zu bytes, not id / seq", k->mv_size,
                v->mv_size);
        return STORE_OK;
    }
    hex(k->mv_data, LIMIT_ID_BYTES, idhex);
    struct store_rec rec;
    const int err = store_rec_by_seq(s, txn, get_be64(v->mv_data), &rec);
    if (err == STORE_OK && memcmp(rec.id, k->mv_data, LIMIT_ID_BYTES) == 0)
        return STORE_OK;
    if (err != STORE_OK && err != STORE_E_NOTFOUND && err != STORE_E_CORRUPT)
        return err;
    problem(ck, "index ids: %s names seq %llu, %s", idhex,
            (unsigned long long)get_be64(v->mv_data),
            err == STORE_OK ? "a record of another id" : "which holds no record");
    return STORE_OK;
}

/* --- every index entry against the record it names --- */

/* kb is the part entry of composite indicator r (store_part_key). */
static bool is_part_key(const struct proto_record *r, const uint8_t *kb)
{
    uint8_t pkey[VALUE_KEY_BYTES];
    return store_part_key(pkey, r->u.ind.type, r->u.ind.value) &&
           memcmp(kb, pkey, sizeof pkey) == 0;
}

/* Whether the entry (k, v) of index db agrees with the record it names. 1 yes, 0 no (after
 * saying why), or a negative store_err. */
static int entry_ok(struct store *s, MDB_txn *txn, struct check *ck, enum db_index db,
                    const MDB_val *k, const MDB_val *v, const char *name)
{
    static const size_t key_len[DB_N] = {
        [DB_BYVALUE] = VALUE_KEY_BYTES, [DB_BYTIME] = TIME_KEY_BYTES,
        [DB_REVOKED] = LIMIT_ID_BYTES,  [DB_SIGHTED] = LIMIT_ID_BYTES,
        [DB_ROSTERS] = LIMIT_KEY_BYTES, [DB_EXPIRY] = EXPIRY_KEY_BYTES};
    static const size_t val_len[DB_N] = {
        [DB_BYVALUE] = LIMIT_ID_BYTES,    [DB_BYTIME] = 0,
        [DB_REVOKED] = REVOKED_VAL_BYTES, [DB_SIGHTED] = LIMIT_ID_BYTES,
        [DB_ROSTERS] = LIMIT_ID_BYTES,    [DB_EXPIRY] = EXPIRY_VAL_BYTES};
    const uint8_t *kb = k->mv_data, *vb = v->mv_data;
    char khex[2 * TIME_KEY_BYTES + 1] = "";
    hex(kb, k->mv_size < TIME_KEY_BYTES ? k->mv_size : TIME_KEY_BYTES, khex);
    if (k->mv_size != key_len[db] || v->mv_size != val_len[db]) {
        problem(ck, "index %s: entry %s has a key of %zu or value of %zu bytes", name, khex,
                k->mv_size, v->mv_size);
        return 0;
    }
    /* bytime and expiry name a seq, the others an id */
    uint8_t id[LIMIT_ID_BYTES];
    const bool by_seq = db == DB_BYTIME || db == DB_EXPIRY;
    memcpy(id, db == DB_REVOKED ? vb + LIMIT_KEY_BYTES : vb, by_seq ? 0 : LIMIT_ID_BYTES);
    int found = by_seq ? load_seq(s, txn, ck, get_be64(kb + 8), id) : load(s, txn, ck, id, NULL);
    if (found <= 0) {
        if (found == 0)
            problem(ck, "index %s: entry %s names no stored record", name, khex);
        return found;
    }
    const struct proto_record *r = ck->r;
    uint8_t vkey[VALUE_KEY_BYTES];
    bool ok = false;
    switch (db) {
    case DB_BYVALUE:
    case DB_EXPIRY:
        if (r->kind != PROTO_KIND_INDICATOR)
            break;
        store_value_key(vkey, r->u.ind.type, r->u.ind.value, strlen(r->u.ind.value));
        ok = db == DB_BYVALUE
                 ? memcmp(kb, vkey, sizeof vkey) == 0 || is_part_key(r, kb)
                 : get_be64(kb) == r->u.ind.valid_until_ms && get_be64(vb) == r->created_ms &&
                       memcmp(vb + 8, vkey, sizeof vkey) == 0;
        break;
    case DB_BYTIME:
        ok = get_be64(kb) == r->created_ms;
        break;
    case DB_REVOKED:
        ok = r->kind == PROTO_KIND_REVOCATION && memcmp(r->u.rev.target, kb, LIMIT_ID_BYTES) == 0 &&
             memcmp(r->origin, vb, LIMIT_KEY_BYTES) == 0;
        break;
    case DB_SIGHTED:
        ok = r->kind == PROTO_KIND_SIGHTING && memcmp(r->u.sight.target, kb, LIMIT_ID_BYTES) == 0;
        break;
    case DB_ROSTERS:
        ok = r->kind == PROTO_KIND_ROSTER && memcmp(r->origin, kb, LIMIT_KEY_BYTES) == 0;
        break;
    default:
        assert(0);
    }
    if (!ok)
        problem(ck, "index %s: entry %s does not match the record it names", name, khex);
    return ok;
}

/* A revocation counts only when its target's own origin issued it: one from anyone else is
 * kept (store.h) and harmless, but worth a count. */
static void check_revocation_target(struct store *s, MDB_txn *txn, struct check *ck,
                                    const MDB_val *k, const MDB_val *v)
{
    uint8_t origin[LIMIT_KEY_BYTES];
    memcpy(origin, v->mv_data, sizeof origin);
    if (load(s, txn, ck, k->mv_data, NULL) != 1) {
        ck->rep->unknown_targets++;
        return;
    }
    if (memcmp(ck->r->origin, origin, LIMIT_KEY_BYTES) == 0)
        ck->rep->revoked++;
    else
        ck->rep->foreign_revocations++;
}

struct index_walk {
    struct check *ck;
    enum db_index db;
    const char *name;
};

static int index_entry(struct store *s, MDB_txn *txn, const MDB_val *k, const MDB_val *v, void *ctx)
{
    const struct index_walk *w = ctx;
    w->ck->rep->index_entries++;
    const int ok = entry_ok(s, txn, w->ck, w->db, k, v, w->name);
    if (ok == 1 && w->db == DB_REVOKED)
        check_revocation_target(s, txn, w->ck, k, v);
    else if (ok == 1 && w->db == DB_SIGHTED && load(s, txn, w->ck, k->mv_data, NULL) == 0)
        w->ck->rep->unknown_targets++;
    return ok < 0 ? ok : STORE_OK;
}


/* A stored key succession: a statement that decodes and verifies, under its old key. */
static int succession_entry(struct store *s, MDB_txn *txn, const MDB_val *k, const MDB_val *v,
                            void *ctx)
{
    (void)s, (void)txn;
    struct check *ck = ctx;
    char khex[2 * LIMIT_KEY_BYTES + 1] = "?";
    if (k->mv_size == LIMIT_KEY_BYTES)
        hex(k->mv_data, LIMIT_KEY_BYTES, khex);
    struct proto_succession st;
    /* the time rule was the receiver's when it took it: not checked again */
    int rc = proto_succession_decode(v->mv_data, v->mv_size, UINT64_MAX - LIMIT_CLOCK_SKEW_MS,
                                     &st);
    if (rc != SUCCESSION_OK)
        problem(ck, "successions: entry %s: %s", khex, proto_succession_strerror(rc));
    else if (k->mv_size != LIMIT_KEY_BYTES || memcmp(k->mv_data, st.old_key, LIMIT_KEY_BYTES))
        problem(ck, "successions: entry %s is not stored under its old key", khex);
    return STORE_OK;
}

static int distrust_entry(struct store *s, MDB_txn *txn, const MDB_val *k, const MDB_val *v,
                          void *ctx)
{
    (void)s, (void)txn;
    if (k->mv_size != LIMIT_KEY_BYTES || v->mv_size != 8)
        problem(ctx, "distrust: an entry of %zu / %zu bytes, not key / time", k->mv_size,
                v->mv_size);
    return STORE_OK;
}

/* The walks of a check, in order; each goes through its database in chunks. */
static const struct pass {
    enum db_index db;
    const char *name;
    store_entry_fn fn;
} passes[] = {{DB_LOG, "log", record_entry},        {DB_IDS, "ids", ids_entry},
              {DB_BYVALUE, "byvalue", index_entry},  {DB_BYTIME, "bytime", index_entry},
              {DB_REVOKED, "revoked", index_entry},  {DB_SIGHTED, "sighted", index_entry},
              {DB_ROSTERS, "rosters", index_entry},  {DB_EXPIRY, "expiry", index_entry},
              {DB_SUCCESSIONS, "successions", succession_entry},
              {DB_DISTRUST, "distrust", distrust_entry}};

struct chunk {
    struct check *ck;
    const struct pass *pass;
    struct store_walk_pos pos;
};

static int chunk_entry(struct store *s, MDB_txn *txn, const MDB_val *k, const MDB_val *v,
                       void *ctx)
{
    const struct chunk *c = ctx;
    if (c->pass->fn != index_entry)
        return c->pass->fn(s, txn, k, v, c->ck);
    struct index_walk w = {c->ck, c->pass->db, c->pass->name};
    return index_entry(s, txn, k, v, &w);
}

/* One read transaction: the next LIMIT_STORE_CHECK_CHUNK entries of the pass. */
static int chunk_txn(struct store *s, MDB_txn *txn, void *ctx)
{
    struct chunk *c = ctx;
    if (c->pass->db == DB_LOG) {
        int err = store_meta_next_seq(s, txn, &c->ck->seq->next_seq);
        if (err != STORE_OK) {
            problem(c->ck, "meta: no valid store.next_seq");
            c->pos.done = true; /* the log cannot be judged without it */
            return err == STORE_E_CORRUPT ? STORE_OK : err;
        }
    }
    int err = store_walk_chunk(s, txn, c->pass->db, &c->pos, LIMIT_STORE_CHECK_CHUNK, chunk_entry,
                               c);
    struct seq_walk *w = c->ck->seq;
    if (err == STORE_OK && c->pos.done && c->pass->db == DB_LOG && w->want != w->next_seq)
        problem(c->ck, "log: ends at %llu, next seq is %llu",
                (unsigned long long)w->want - 1, (unsigned long long)w->next_seq);
    return err;
}

int store_check(struct store *s, struct store_check_report *rep, store_problem_cb cb, void *ctx)
{
    assert(s != NULL && rep != NULL);
    memset(rep, 0, sizeof *rep);
    struct seq_walk seq = {.want = 1};
    struct check ck = {rep, cb, ctx, malloc(sizeof(struct proto_record)), &seq};
    struct chunk *c = malloc(sizeof *c);
    int err = ck.r != NULL && c != NULL ? STORE_OK : STORE_E_IO;
    for (size_t i = 0; err == STORE_OK && i < sizeof passes / sizeof passes[0]; i++) {
        *c = (struct chunk){.ck = &ck, .pass = &passes[i]};
        /* each chunk visits new entries, so the loop is bounded by the databases' sizes */
        while (err == STORE_OK && !c->pos.done)
            err = store_run_read(s, chunk_txn, c);
    }
    free(c);
    free(ck.r);
    return err;
}
