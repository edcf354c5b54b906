/* ts_sample.c - the sample records of the record tests (ts_sample.h). */
#include <stdint.h>
#include <string.h>

#include "ts_mpack.h"
#include "ts_sample.h"

void ts_sample_origin(uint8_t k[32])
{
    for (int i = 0; i < 32; i++)
        k[i] = (uint8_t)(0x10 + i);
}

void ts_sample_indicator(struct proto_record *r)
{
    memset(r, 0, sizeof *r);
    r->version = PROTO_RECORD_VERSION;
    r->kind = PROTO_KIND_INDICATOR;
    r->tlp = PROTO_TLP_GREEN;
    r->created_ms = TS_SAMPLE_CREATED;
    ts_sample_origin(r->origin);
    r->audience.n_communities = 2;
    strcpy(r->audience.communities[0], "cert-eu");
    strcpy(r->audience.communities[1], "energy");
    r->u.ind.type = PROTO_ITYPE_IP_DST;
    strcpy(r->u.ind.value, "192.0.2.1");
    r->u.ind.valid_until_ms = TS_SAMPLE_VALID_UNTIL;
    r->u.ind.confidence = 80;
    r->u.ind.n_tags = 2;
    strcpy(r->u.ind.tags[0], "apt");
    strcpy(r->u.ind.tags[1], "c2");
    strcpy(r->u.ind.comment, "seen in phishing");
}

/* The same record as ts_sample_indicator(), written entry by entry. */
void ts_sample_indicator_fields(struct ts_mp_fields *fs)
{
    memset(fs, 0, sizeof *fs);
    uint8_t origin[32];
    ts_sample_origin(origin);
    ts_mp_uint(ts_mp_add_field(fs, 0), 1);
    ts_mp_uint(ts_mp_add_field(fs, 1), 1);
    ts_mp_bin32(ts_mp_add_field(fs, 2), origin);
    ts_mp_uint(ts_mp_add_field(fs, 3), TS_SAMPLE_CREATED);
    ts_mp_uint(ts_mp_add_field(fs, 4), 1);
    struct ts_mp_buf *c = ts_mp_add_field(fs, 5);
    ts_mp_array(c, 2), ts_mp_str(c, "cert-eu"), ts_mp_str(c, "energy");
    ts_mp_array(ts_mp_add_field(fs, 6), 0);
    ts_mp_str(ts_mp_add_field(fs, 16), "ip-dst");
    ts_mp_str(ts_mp_add_field(fs, 17), "192.0.2.1");
    ts_mp_uint(ts_mp_add_field(fs, 18), TS_SAMPLE_VALID_UNTIL);
    ts_mp_uint(ts_mp_add_field(fs, 19), 80);
    struct ts_mp_buf *t = ts_mp_add_field(fs, 20);
    ts_mp_array(t, 2), ts_mp_str(t, "apt"), ts_mp_str(t, "c2");
    ts_mp_str(ts_mp_add_field(fs, 21), "seen in phishing");
}

void ts_sample_revocation(struct proto_record *r)
{
    memset(r, 0, sizeof *r);
    r->version = PROTO_RECORD_VERSION;
    r->kind = PROTO_KIND_REVOCATION;
    r->tlp = PROTO_TLP_RED;
    r->created_ms = TS_SAMPLE_CREATED + 5;
    ts_sample_origin(r->origin);
    r->audience.n_recipients = 2;
    memset(r->audience.recipients[0], 0x01, 32);
    memset(r->audience.recipients[1], 0xfe, 32);
    memset(r->u.rev.target, 0xab, 32);
    strcpy(r->u.rev.reason, "false positive: shared hosting");
}

void ts_sample_revocation_fields(struct ts_mp_fields *fs)
{
    memset(fs, 0, sizeof *fs);
    uint8_t k[32];
    ts_sample_origin(k);
    ts_mp_uint(ts_mp_add_field(fs, 0), 1);
    ts_mp_uint(ts_mp_add_field(fs, 1), 2);
    ts_mp_bin32(ts_mp_add_field(fs, 2), k);
    ts_mp_uint(ts_mp_add_field(fs, 3), TS_SAMPLE_CREATED + 5);
    ts_mp_uint(ts_mp_add_field(fs, 4), 4);
    ts_mp_array(ts_mp_add_field(fs, 5), 0);
    struct ts_mp_buf *rc = ts_mp_add_field(fs, 6);
    ts_mp_array(rc, 2);
    memset(k, 0x01, 32), ts_mp_bin32(rc, k);
    memset(k, 0xfe, 32), ts_mp_bin32(rc, k);
    memset(k, 0xab, 32), ts_mp_bin32(ts_mp_add_field(fs, 16), k);
    ts_mp_str(ts_mp_add_field(fs, 17), "false positive: shared hosting");
}

void ts_sample_sighting(struct proto_record *r)
{
    memset(r, 0, sizeof *r);
    r->version = PROTO_RECORD_VERSION;
    r->kind = PROTO_KIND_SIGHTING;
    r->tlp = PROTO_TLP_GREEN;
    r->created_ms = TS_SAMPLE_CREATED + 7;
    ts_sample_origin(r->origin);
    memset(r->u.sight.target, 0xcd, 32);
    r->u.sight.count = 300;
    r->u.sight.first_seen_ms = TS_SAMPLE_CREATED - 1000;
    r->u.sight.last_seen_ms = TS_SAMPLE_CREATED;
}

void ts_sample_sighting_fields(struct ts_mp_fields *fs)
{
    memset(fs, 0, sizeof *fs);
    uint8_t k[32];
    ts_sample_origin(k);
    ts_mp_uint(ts_mp_add_field(fs, 0), 1);
    ts_mp_uint(ts_mp_add_field(fs, 1), 3);
    ts_mp_bin32(ts_mp_add_field(fs, 2), k);
    ts_mp_uint(ts_mp_add_field(fs, 3), TS_SAMPLE_CREATED + 7);
    ts_mp_uint(ts_mp_add_field(fs, 4), 1);
    ts_mp_array(ts_mp_add_field(fs, 5), 0);
    ts_mp_array(ts_mp_add_field(fs, 6), 0);
    memset(k, 0xcd, 32), ts_mp_bin32(ts_mp_add_field(fs, 16), k);
    ts_mp_uint(ts_mp_add_field(fs, 17), 300);
    ts_mp_uint(ts_mp_add_field(fs, 18), TS_SAMPLE_CREATED - 1000);
    ts_mp_uint(ts_mp_add_field(fs, 19), TS_SAMPLE_CREATED);
}

void ts_sample_roster(struct proto_record *r)
{
    memset(r, 0, sizeof *r);
    r->version = PROTO_RECORD_VERSION;
    r->kind = PROTO_KIND_ROSTER;
    r->tlp = PROTO_TLP_GREEN;
    r->created_ms = TS_SAMPLE_CREATED + 9;
    ts_sample_origin(r->origin);
    r->audience.n_communities = 1;
    strcpy(r->audience.communities[0], "eu-energy");
    strcpy(r->u.roster.name, "eu-energy");
    r->u.roster.version = 2;
    r->u.roster.n_members = 2;
    memset(r->u.roster.members[0].key, 0x02, 32);
    strcpy(r->u.roster.members[0].org, "cert-b");
    memset(r->u.roster.members[1].key, 0x07, 32);
    strcpy(r->u.roster.members[1].org, "cert-a");
}

/* A member [key of byte b repeated, org] into v. */
void ts_sample_member(struct ts_mp_buf *v, uint8_t b, const char *org)
{
    uint8_t k[32];
    memset(k, b, 32);
    ts_mp_array(v, 2), ts_mp_bin32(v, k), ts_mp_str(v, org);
}

void ts_sample_roster_fields(struct ts_mp_fields *fs)
{
    memset(fs, 0, sizeof *fs);
    uint8_t k[32];
    ts_sample_origin(k);
    ts_mp_uint(ts_mp_add_field(fs, 0), 1);
    ts_mp_uint(ts_mp_add_field(fs, 1), 4);
    ts_mp_bin32(ts_mp_add_field(fs, 2), k);
    ts_mp_uint(ts_mp_add_field(fs, 3), TS_SAMPLE_CREATED + 9);
    ts_mp_uint(ts_mp_add_field(fs, 4), 1);
    struct ts_mp_buf *c = ts_mp_add_field(fs, 5);
    ts_mp_array(c, 1), ts_mp_str(c, "eu-energy");
    ts_mp_array(ts_mp_add_field(fs, 6), 0);
    ts_mp_str(ts_mp_add_field(fs, 16), "eu-energy");
    ts_mp_uint(ts_mp_add_field(fs, 17), 2);
    struct ts_mp_buf *m = ts_mp_add_field(fs, 18);
    ts_mp_array(m, 2), ts_sample_member(m, 0x02, "cert-b"), ts_sample_member(m, 0x07, "cert-a");
}

int ts_sample_decode(const struct ts_mp_fields *fs, char *why)
{
    struct ts_mp_buf body;
    struct proto_record r;
    ts_mp_assemble(fs, &body);
    return proto_record_decode(body.b, body.n, &r, why, TS_WHY_LEN);
}
