/* gate_fixture.c - the builders of gate_fixture.h: real gate structs from a described situation. */
#include <stdio.h>
#include <string.h>

#include "tests/gate_fixture.h"
#include "tests/support/ts_record.h"

static const struct {
    const char *n, *p;
} ORGS[ORG_COUNT] = {
    [ORG_SAME] = {"cert-a", "cert-a"},   [ORG_DIFFERENT] = {"cert-a", "cert-b"},
    [ORG_P_UNKNOWN] = {"cert-a", ""},    [ORG_N_UNKNOWN] = {"", "cert-a"},
    [ORG_BOTH_UNKNOWN] = {"", ""},
};

const struct shape_has SHAPES[SH_COUNT] = {
    [SH_DEFAULT] = {0, 0, 0, 0}, [SH_CP] = {1, 0, 0, 0},    [SH_CX] = {0, 1, 0, 0},
    [SH_RP] = {0, 0, 1, 0},      [SH_RX] = {0, 0, 0, 1},    [SH_CP_RP] = {1, 0, 1, 0},
    [SH_CP_RX] = {1, 0, 0, 1},   [SH_CX_RP] = {0, 1, 1, 0}, [SH_CX_RX] = {0, 1, 0, 1},
};

void set_key(uint8_t key[LIMIT_KEY_BYTES], uint8_t fill)
{
    memset(key, fill, LIMIT_KEY_BYTES);
}

void add_community(struct proto_audience *a, const char *name)
{
    snprintf(a->communities[a->n_communities++], LIMIT_NAME_BYTES + 1, "%s", name);
}

void add_recipient(struct proto_audience *a, uint8_t fill)
{
    set_key(a->recipients[a->n_recipients++], fill);
}

/* Fills *a in sorted order: communities cn < cp < cx, recipients X < N < P. */
void make_audience(struct proto_audience *a, enum shape sh, enum n_via nv)
{
    memset(a, 0, sizeof *a);
    if (nv == NVIA_COMMUNITY)
        add_community(a, "cn");
    if (SHAPES[sh].cp)
        add_community(a, "cp");
    if (SHAPES[sh].cx)
        add_community(a, "cx");
    if (SHAPES[sh].rx)
        add_recipient(a, KEY_X);
    if (nv == NVIA_KEY)
        add_recipient(a, KEY_N);
    if (SHAPES[sh].rp)
        add_recipient(a, KEY_P);
}

void make_indicator(struct proto_record *r, int tlp, enum shape sh, enum n_via nv, bool expired)
{
    ts_record(r, PROTO_KIND_INDICATOR, (uint8_t)tlp, NOW - 1000);
    set_key(r->origin, KEY_O);
    make_audience(&r->audience, sh, nv);
    r->u.ind.type = 0;
    r->u.ind.confidence = 50;
    r->u.ind.valid_until_ms = expired ? NOW : NOW + 1;
    snprintf(r->u.ind.value, sizeof r->u.ind.value, "%s", "198.51.100.7");
}

void make_revocation(struct proto_record *r, int tlp, enum shape sh)
{
    ts_record(r, PROTO_KIND_REVOCATION, (uint8_t)tlp, NOW - 10);
    set_key(r->origin, KEY_O);
    make_audience(&r->audience, sh, NVIA_NONE);
    memset(r->u.rev.target, 0xab, LIMIT_ID_BYTES);
    snprintf(r->u.rev.reason, sizeof r->u.rev.reason, "%s", "false positive");
}

/* A sighting by X (anyone may sight a record) of the record whose id is 0xcd... */
void make_sighting(struct proto_record *r, int tlp, enum shape sh)
{
    ts_record(r, PROTO_KIND_SIGHTING, (uint8_t)tlp, NOW - 10);
    set_key(r->origin, KEY_X);
    make_audience(&r->audience, sh, NVIA_NONE);
    memset(r->u.sight.target, 0xcd, LIMIT_ID_BYTES);
    r->u.sight.count = 1;
    r->u.sight.first_seen_ms = NOW - 20;
    r->u.sight.last_seen_ms = NOW - 20;
}

void make_self(struct gate_self *n, enum org_case oc)
{
    memset(n, 0, sizeof *n);
    set_key(n->key, KEY_N);
    snprintf(n->org, sizeof n->org, "%s", ORGS[oc].n);
    snprintf(n->communities[n->n_communities++], LIMIT_NAME_BYTES + 1, "%s", "cn");
    snprintf(n->communities[n->n_communities++], LIMIT_NAME_BYTES + 1, "%s", "n-other");
}

void make_peer(struct gate_peer *p, bool authenticated, enum org_case oc, int relation, int ceiling)
{
    memset(p, 0, sizeof *p);
    p->authenticated = authenticated;
    set_key(p->key, KEY_P);
    snprintf(p->org, sizeof p->org, "%s", ORGS[oc].p);
    p->relation = (uint8_t)relation;
    p->ceiling = (uint8_t)ceiling;
    snprintf(p->communities[p->n_communities++], LIMIT_NAME_BYTES + 1, "%s", "cp");
    snprintf(p->communities[p->n_communities++], LIMIT_NAME_BYTES + 1, "%s", "zz-other");
}

void make_state(struct gate_record_state *st, bool revoked, enum has_case hc)
{
    memset(st, 0, sizeof *st);
    st->revoked = revoked;
    st->sent_to_peer = hc == HAS_SENT;
    st->received_from_peer = hc == HAS_RECEIVED;
}
