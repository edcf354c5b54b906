/* record_encode.c - the canonical msgpack encoding of records (record.h). Encoding uses
 * msgpack-c's packer, which always writes the shortest header. */
#include "proto/record_int.h"

#include <assert.h>
#include <msgpack.h>
#include <string.h>

/* Packer sink over a caller buffer: counts every byte, copies those that fit. */
struct sink {
    uint8_t *p;
    size_t cap;
    size_t len;
};

static int sink_write(void *data, const char *buf, size_t len)
{
    struct sink *s = data;
    if (len <= s->cap && s->len <= s->cap - len)
        memcpy(s->p + s->len, buf, len);
    s->len += len;
    return 0;
}

static void pack_str(msgpack_packer *pk, const char *s)
{
    size_t n = strlen(s);
    msgpack_pack_str(pk, n);
    msgpack_pack_str_body(pk, s, n);
}

static void pack_key_bin(msgpack_packer *pk, const uint8_t key[LIMIT_KEY_BYTES])
{
    msgpack_pack_bin(pk, LIMIT_KEY_BYTES);
    msgpack_pack_bin_body(pk, key, LIMIT_KEY_BYTES);
}

static void pack_str_set(msgpack_packer *pk, const char *items, size_t stride, unsigned n)
{
    msgpack_pack_array(pk, n);
    for (unsigned i = 0; i < n; i++)
        pack_str(pk, items + (size_t)i * stride);
}

static void pack_id_bin(msgpack_packer *pk, const uint8_t id[LIMIT_ID_BYTES])
{
    msgpack_pack_bin(pk, LIMIT_ID_BYTES);
    msgpack_pack_bin_body(pk, id, LIMIT_ID_BYTES);
}

/* A map entry whose value is an unsigned integer. */
static void pack_uint_field(msgpack_packer *pk, uint64_t key, uint64_t v)
{
    msgpack_pack_uint64(pk, key);
    msgpack_pack_uint64(pk, v);
}

static void pack_indicator(msgpack_packer *pk, const struct proto_indicator *ind)
{
    msgpack_pack_uint64(pk, KEY_IND_TYPE);
    pack_str(pk, proto_itype_name(ind->type));
    msgpack_pack_uint64(pk, KEY_IND_VALUE);
    pack_str(pk, ind->value);
    msgpack_pack_uint64(pk, KEY_IND_VALID_UNTIL);
    msgpack_pack_uint64(pk, ind->valid_until_ms);
    msgpack_pack_uint64(pk, KEY_IND_CONFIDENCE);
    msgpack_pack_uint64(pk, ind->confidence);
    msgpack_pack_uint64(pk, KEY_IND_TAGS);
    pack_str_set(pk, ind->tags[0], sizeof ind->tags[0], ind->n_tags);
    msgpack_pack_uint64(pk, KEY_IND_COMMENT);
    pack_str(pk, ind->comment);
}

static void pack_sighting(msgpack_packer *pk, const struct proto_sighting *sg)
{
    msgpack_pack_uint64(pk, KEY_SIGHT_TARGET);
    pack_id_bin(pk, sg->target);
    pack_uint_field(pk, KEY_SIGHT_COUNT, sg->count);
    pack_uint_field(pk, KEY_SIGHT_FIRST_SEEN, sg->first_seen_ms);
    pack_uint_field(pk, KEY_SIGHT_LAST_SEEN, sg->last_seen_ms);
}

static void pack_roster(msgpack_packer *pk, const struct proto_roster *ro)
{
    assert(ro->n_members <= LIMIT_ROSTER_MEMBERS);
    msgpack_pack_uint64(pk, KEY_ROSTER_NAME);
    pack_str(pk, ro->name);
    msgpack_pack_uint64(pk, KEY_ROSTER_VERSION);
    msgpack_pack_uint64(pk, ro->version);
    msgpack_pack_uint64(pk, KEY_ROSTER_MEMBERS);
    msgpack_pack_array(pk, ro->n_members);
    for (unsigned i = 0; i < ro->n_members; i++) {
        msgpack_pack_array(pk, MEMBER_ENTRIES);
        pack_key_bin(pk, ro->members[i].key);
        pack_str(pk, ro->members[i].org);
    }
    if (ro->chunks == 0) /* a whole roster: fields 19..21 absent (docs/PROTOCOL.md) */
        return;
    pack_uint_field(pk, KEY_ROSTER_CHUNK, ro->chunk);
    pack_uint_field(pk, KEY_ROSTER_CHUNKS, ro->chunks);
    msgpack_pack_uint64(pk, KEY_ROSTER_DIGEST);
    pack_id_bin(pk, ro->digest);
}

/* Writes a validated record; returns the full length even when it exceeds cap. */
size_t proto_record_encode_valid(const struct proto_record *r, uint8_t *out, size_t cap)
{
    struct sink s = {.p = out, .cap = cap};
    msgpack_packer pk;
    msgpack_packer_init(&pk, &s, sink_write);
    const struct proto_audience *a = &r->audience;

    msgpack_pack_map(&pk, COMMON_FIELDS + proto_record_fields_of(r));
    msgpack_pack_uint64(&pk, KEY_VERSION);
    msgpack_pack_uint64(&pk, r->version);
    msgpack_pack_uint64(&pk, KEY_KIND);
    msgpack_pack_uint64(&pk, r->kind);
    msgpack_pack_uint64(&pk, KEY_ORIGIN);
    pack_key_bin(&pk, r->origin);
    msgpack_pack_uint64(&pk, KEY_CREATED);
    msgpack_pack_uint64(&pk, r->created_ms);
    msgpack_pack_uint64(&pk, KEY_TLP);
    msgpack_pack_uint64(&pk, r->tlp);
    msgpack_pack_uint64(&pk, KEY_COMMUNITIES);
    pack_str_set(&pk, a->communities[0], sizeof a->communities[0], a->n_communities);
    msgpack_pack_uint64(&pk, KEY_RECIPIENTS);
    msgpack_pack_array(&pk, a->n_recipients);
    for (unsigned i = 0; i < a->n_recipients; i++)
        pack_key_bin(&pk, a->recipients[i]);

    switch (r->kind) {
    case PROTO_KIND_INDICATOR:
        pack_indicator(&pk, &r->u.ind);
        break;
    case PROTO_KIND_SIGHTING:
        pack_sighting(&pk, &r->u.sight);
        break;
    case PROTO_KIND_ROSTER:
        pack_roster(&pk, &r->u.roster);
        break;
    default:
        assert(r->kind == PROTO_KIND_REVOCATION);
        msgpack_pack_uint64(&pk, KEY_REV_TARGET);
        pack_id_bin(&pk, r->u.rev.target);
        msgpack_pack_uint64(&pk, KEY_REV_REASON);
        pack_str(&pk, r->u.rev.reason);
        break;
    }
    return s.len;
}

int proto_record_encode(const struct proto_record *r, uint8_t *out, size_t cap)
{
    assert(r != NULL && out != NULL);
    int rc = proto_record_validate(r, NULL, 0);
    if (rc != PROTO_OK)
        return rc;
    size_t len = proto_record_encode_valid(r, out, cap);
    if (len > LIMIT_RECORD_BYTES)
        return PROTO_E_TOOBIG;
    if (len > cap)
        return PROTO_E_NOSPACE;
    return (int)len;
}
