/* cli_records.c - publish, query, show, list, revoke: records from the operator's side.
 *
 * Writes go straight into the store (LMDB serialises writers across processes) and a running
 * node is then told to pick them up; reads use read-only transactions, so all of this works
 * whether or not the node runs.
 */
#include <assert.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "node/cli/cli.h"
#include "node/cli/cli_explain.h"
#include "node/core/community.h"
#include "node/formats/timefmt.h"

static const char *kind_name(int kind)
{
    switch (kind) {
    case PROTO_KIND_INDICATOR: return "indicator";
    case PROTO_KIND_REVOCATION: return "revocation";
    case PROTO_KIND_SIGHTING: return "sighting";
    case PROTO_KIND_ROSTER: return "roster";
    default: return "?";
    }
}

static json_t *json_time(uint64_t ms)
{
    char t[TIMEFMT_RFC3339_LEN + 1];
    timefmt_format(ms, t);
    return json_string(t);
}

static json_t *json_key(const uint8_t key[LIMIT_KEY_BYTES])
{
    char b64[LIMIT_PUBKEY_B64_LEN + 1];
    keys_pubkey_to_b64(key, b64);
    return json_string(b64);
}

json_t *cli_shown_json(const struct cli_shown *s, json_t *sightings, json_t *extra)
{
    const struct proto_record *r = &s->rec;
    char idhex[2 * LIMIT_ID_BYTES + 1];
    cli_id_hex(s->id, idhex);
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(idhex));
    json_object_set_new(o, "kind", json_string(kind_name(r->kind)));
    json_object_set_new(o, "tlp", json_string(proto_tlp_name(r->tlp)));
    json_object_set_new(o, "origin", json_key(r->origin));
    json_object_set_new(o, "created", json_time(r->created_ms));
    json_t *comm = json_array(), *rcpt = json_array();
    for (size_t i = 0; i < r->audience.n_communities; i++)
        json_array_append_new(comm, json_string(r->audience.communities[i]));
    for (size_t i = 0; i < r->audience.n_recipients; i++)
        json_array_append_new(rcpt, json_key(r->audience.recipients[i]));
    json_object_set_new(o, "communities", comm);
    json_object_set_new(o, "recipients", rcpt);
    if (r->kind == PROTO_KIND_INDICATOR) {
        const struct proto_indicator *in = &r->u.ind;
        json_object_set_new(o, "type", json_string(proto_itype_name(in->type)));
        json_object_set_new(o, "value", json_string(in->value));
        json_object_set_new(o, "valid_until", json_time(in->valid_until_ms));
        json_object_set_new(o, "confidence", json_integer(in->confidence));
        json_t *tags = json_array();
        for (size_t i = 0; i < in->n_tags; i++)
            json_array_append_new(tags, json_string(in->tags[i]));
        json_object_set_new(o, "tags", tags);
        json_object_set_new(o, "comment", json_string(in->comment));
    } else if (r->kind == PROTO_KIND_REVOCATION) {
        char t[2 * LIMIT_ID_BYTES + 1];
        cli_id_hex(r->u.rev.target, t);
        json_object_set_new(o, "target", json_string(t));
        json_object_set_new(o, "reason", json_string(r->u.rev.reason));
    } else if (r->kind == PROTO_KIND_SIGHTING) {
        char t[2 * LIMIT_ID_BYTES + 1];
        cli_id_hex(r->u.sight.target, t);
        json_object_set_new(o, "target", json_string(t));
        json_object_set_new(o, "count", json_integer((json_int_t)(r->u.sight.count > INT64_MAX
                                                                      ? INT64_MAX
                                                                      : r->u.sight.count)));
        json_object_set_new(o, "first_seen", json_time(r->u.sight.first_seen_ms));
        json_object_set_new(o, "last_seen", json_time(r->u.sight.last_seen_ms));
    }
    if (sightings != NULL)
        json_object_set(o, "sightings", sightings);
    if (extra != NULL)
        json_object_update(o, extra);
    json_object_set_new(o, "seq", json_integer((json_int_t)s->seq));
    json_object_set_new(o, "revoked", json_boolean(s->revoked));
    json_object_set_new(o, "expired", json_boolean(s->expired));
    return o;
}

/* sightings, extra: show's per-organisation sighting summary and show_extra() to include, or
 * NULL (list, query). */
static void print_json(const struct cli_shown *s, json_t *sightings, json_t *extra)
{
    cli_print_json_line(cli_shown_json(s, sightings, extra));
}

static const char *state_word(const struct cli_shown *s)
{
    return s->revoked ? "revoked" : s->expired ? "expired" : "live";
}

static void print_row_header(void)
{
    printf("%-16s  %-12s  %-9s  %-7s  %-24s  %s\n", "ID", "TLP", "TYPE", "STATE", "VALID-UNTIL",
           "VALUE");
}

static void print_row(const struct cli_shown *s)
{
    char idhex[2 * LIMIT_ID_BYTES + 1], until[TIMEFMT_RFC3339_LEN + 1];
    cli_id_hex(s->id, idhex);
    const struct proto_indicator *in = &s->rec.u.ind;
    timefmt_format(in->valid_until_ms, until);
    /* one row per record: a rule shows its first line and its size (show prints it whole) */
    const size_t line = strcspn(in->value, "\r\n");
    const bool more = in->value[line] != '\0';
    printf("%.16s  %-12s  %-9s  %-7s  %-24s  %.*s%s", idhex, proto_tlp_name(s->rec.tlp),
           proto_itype_name(in->type), state_word(s), until, (int)line, in->value,
           more ? " ..." : "");
    if (more)
        printf(" (%zu bytes)", strlen(in->value));
    putchar('\n');
}

/* extra: show_extra()'s object. */
static void print_detail(const struct cli_shown *s, const json_t *extra)
{
    const struct proto_record *r = &s->rec;
    char idhex[2 * LIMIT_ID_BYTES + 1], t[TIMEFMT_RFC3339_LEN + 1], b64[LIMIT_PUBKEY_B64_LEN + 1];
    cli_id_hex(s->id, idhex);
    printf("id           %s\n", idhex);
    printf("kind         %s\n", kind_name(r->kind));
    printf("state        %s\n", state_word(s));
    const json_t *rev = json_object_get(extra, "revocation");
    if (rev) {
        const char *why = json_string_value(json_object_get(rev, "reason"));
        printf("revoked      %s by its origin: %s\n",
               json_string_value(json_object_get(rev, "time")), why[0] ? why : "(no reason given)");
    }
    printf("tlp          %s\n", proto_tlp_name(r->tlp));
    keys_pubkey_to_b64(r->origin, b64);
    printf("origin       %s\n", b64);
    const char *org = json_string_value(json_object_get(extra, "origin_organisation"));
    printf("organisation %s\n", org && org[0] ? org : "unknown (not in the config or a trusted "
                                                       "roster)");
    timefmt_format(r->created_ms, t);
    printf("created      %s\n", t);
    for (size_t i = 0; i < r->audience.n_communities; i++)
        printf("community    %s\n", r->audience.communities[i]);
    for (size_t i = 0; i < r->audience.n_recipients; i++) {
        keys_pubkey_to_b64(r->audience.recipients[i], b64);
        printf("recipient    %s\n", b64);
    }
    if (r->audience.n_communities == 0 && r->audience.n_recipients == 0)
        printf("audience     whole network\n");
    if (r->kind == PROTO_KIND_INDICATOR) {
        const struct proto_indicator *in = &r->u.ind;
        printf("type         %s\n", proto_itype_name(in->type));
        printf("value        %s\n", in->value);
        timefmt_format(in->valid_until_ms, t);
        printf("valid-until  %s\n", t);
        printf("confidence   %u\n", in->confidence);
        for (size_t i = 0; i < in->n_tags; i++)
            printf("tag          %s\n", in->tags[i]);
        if (in->comment[0])
            printf("comment      %s\n", in->comment);
    } else if (r->kind == PROTO_KIND_REVOCATION) {
        cli_id_hex(r->u.rev.target, idhex);
        printf("target       %s\n", idhex);
        printf("reason       %s\n", r->u.rev.reason);
    } else if (r->kind == PROTO_KIND_SIGHTING) {
        cli_id_hex(r->u.sight.target, idhex);
        printf("target       %s\n", idhex);
        printf("count        %llu\n", (unsigned long long)r->u.sight.count);
        timefmt_format(r->u.sight.first_seen_ms, t);
        printf("first-seen   %s\n", t);
        timefmt_format(r->u.sight.last_seen_ms, t);
        printf("last-seen    %s\n", t);
    } else if (r->kind == PROTO_KIND_ROSTER) {
        printf("roster       %s version %llu, %u members (tlpmesh community show)\n",
               r->u.roster.name, (unsigned long long)r->u.roster.version, r->u.roster.n_members);
    }
}

/* ---- publish ---- */

static int parse_publish_args(int argc, char **argv, struct cli_publish_args *a)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},    {"type", required_argument, NULL, 't'},
        {"value", required_argument, NULL, 'v'},     {"tlp", required_argument, NULL, 'l'},
        {"community", required_argument, NULL, 'C'}, {"to", required_argument, NULL, 'T'},
        {"valid-until", required_argument, NULL, 'u'}, {"confidence", required_argument, NULL, 'n'},
        {"tag", required_argument, NULL, 'g'},       {"comment", required_argument, NULL, 'm'},
        {"json", no_argument, NULL, 'j'},            {"warninglist", required_argument, NULL, 'w'},
        {"force", no_argument, NULL, 'f'},           {"value-file", required_argument, NULL, 'V'},
        {0, 0, 0, 0}};
    static char file_value[LIMIT_VALUE_BYTES + 2]; /* one byte more: an oversized file is seen */
    int c;
    bool ok = true;
    opterr = 0;
    while (ok && (c = getopt_long(argc, argv, ":c:", opts, NULL)) != -1) {
        switch (c) {
        case 'c': a->conf = optarg; break;
        case 't': a->type = optarg; break;
        case 'v': a->value = optarg; break;
        case 'V':
            if (cli_read_value_file("publish", optarg, file_value, sizeof file_value) != CLI_OK)
                return CLI_USAGE;
            a->value = file_value;
            break;
        case 'l': a->tlp = optarg; break;
        case 'u': a->valid_until = optarg; break;
        case 'n': a->confidence = optarg; break;
        case 'm': a->comment = optarg; break;
        case 'j': a->json = true; break;
        case 'f': a->force = true; break;
        case 'w': ok = cli_push(a->warninglists, &a->n_warninglists, LIMIT_WARNINGLIST_FILES, optarg); break;
        case 'C': ok = cli_push(a->communities, &a->n_communities, LIMIT_AUDIENCE_COMMUNITIES, optarg); break;
        case 'T': ok = cli_push(a->to, &a->n_to, LIMIT_AUDIENCE_RECIPIENTS, optarg); break;
        case 'g': ok = cli_push(a->tags, &a->n_tags, LIMIT_TAGS, optarg); break;
        default: return cli_bad_option("publish", argv, c);
        }
    }
    if (!ok) {
        cli_error("publish", "too many %s (at most %d communities, %d --to, %d tags, %d "
                             "warninglists)",
                  argv[optind - 2], LIMIT_AUDIENCE_COMMUNITIES, LIMIT_AUDIENCE_RECIPIENTS,
                  LIMIT_TAGS, LIMIT_WARNINGLIST_FILES);
        return CLI_USAGE;
    }
    if (optind != argc) {
        cli_error("publish", "unexpected argument '%s' (see tlpmesh publish --help)", argv[optind]);
        return CLI_USAGE;
    }
    if (!a->type || !a->value || !a->tlp) {
        cli_error("publish", "--type, --value (or --value-file) and --tlp are required (see "
                             "tlpmesh publish --help)");
        return CLI_USAGE;
    }
    return CLI_OK;
}

/* Copies text into a bounded field, refusing what does not fit. */
static bool set_text(char *dst, size_t cap, const char *src)
{
    const size_t n = strlen(src);
    if (n >= cap)
        return false;
    memcpy(dst, src, n + 1);
    return true;
}

/* Fills the audience from --community and --to. */
static int build_audience(const struct cli_publish_args *a, struct proto_audience *aud)
{
    return cli_build_audience("publish", a->communities, a->n_communities, a->to, a->n_to, aud);
}

int cli_publish_build(const struct cli_publish_args *a, const struct keys_identity *id,
                           uint64_t now_ms, struct proto_record *r)
{
    memset(r, 0, sizeof *r);
    r->version = PROTO_RECORD_VERSION;
    r->kind = PROTO_KIND_INDICATOR;
    r->created_ms = now_ms;
    memcpy(r->origin, id->sign_pk, LIMIT_KEY_BYTES);
    struct proto_indicator *in = &r->u.ind;
    const int itype = proto_itype_parse(a->type);
    if (itype < 0) {
        cli_error("publish", "--type '%s' is not a supported type (see tlpmesh publish --help)",
                  a->type);
        return CLI_USAGE;
    }
    in->type = (uint8_t)itype;
    char why[256] = "";
    if (proto_indicator_normalise(itype, a->value, in->value, sizeof in->value, why, sizeof why)) {
        cli_error("publish", "%s", why);
        return CLI_USAGE;
    }
    const int tlp = proto_tlp_parse(a->tlp);
    if (tlp < 0) {
        cli_error("publish", "--tlp '%s' is not one of clear, green, amber, amber+strict, red",
                  a->tlp);
        return CLI_USAGE;
    }
    r->tlp = (uint8_t)tlp;
    if (tlp == PROTO_TLP_RED && a->n_to == 0) {
        cli_error("publish", "--tlp red needs at least one --to PUBKEY: RED goes to named "
                             "recipients only");
        return CLI_USAGE;
    }
    in->valid_until_ms = now_ms + cli_default_validity_ms(itype);
    if (a->valid_until &&
        (timefmt_parse_point(a->valid_until, now_ms, 1, &in->valid_until_ms) != TIMEFMT_OK ||
         in->valid_until_ms <= now_ms)) {
        cli_error("publish", "--valid-until '%s' is not a future RFC 3339 time or a duration "
                             "like 30d",
                  a->valid_until);
        return CLI_USAGE;
    }
    in->confidence = 50;
    if (a->confidence) {
        char *end;
        const long v = strtol(a->confidence, &end, 10);
        if (*a->confidence == '\0' || *end || v < 0 || v > 100) {
            cli_error("publish", "--confidence '%s' is not a whole number from 0 to 100",
                      a->confidence);
            return CLI_USAGE;
        }
        in->confidence = (uint8_t)v;
    }
    for (size_t i = 0; i < a->n_tags; i++) {
        if (!a->tags[i][0] || !set_text(in->tags[i], sizeof in->tags[i], a->tags[i])) {
            cli_error("publish", "--tag '%s': tags are 1 to %d bytes", a->tags[i],
                      LIMIT_TAG_BYTES);
            return CLI_USAGE;
        }
    }
    in->n_tags = (uint8_t)a->n_tags;
    if (a->comment && !set_text(in->comment, sizeof in->comment, a->comment)) {
        cli_error("publish", "--comment is longer than %d bytes", LIMIT_COMMENT_BYTES);
        return CLI_USAGE;
    }
    int rc = build_audience(a, &r->audience);
    if (rc != CLI_OK)
        return rc;
    proto_record_normalise_sets(r);
    return CLI_OK;
}

int cli_warninglist_hit(const struct cli_publish_args *a, const struct config *cfg,
                        const struct proto_record *r, char *hit, size_t cap)
{
    struct warninglist_set set;
    warninglist_set_init(&set);
    int rc = cli_load_warninglists("publish", cfg, a->warninglists, a->n_warninglists, &set);
    const char *name = rc == CLI_OK ? warninglist_match(&set, r->u.ind.type, r->u.ind.value) : NULL;
    snprintf(hit, cap, "%s", name ? name : "");
    warninglist_set_free(&set);
    return rc;
}

/* A value on a warninglist is most likely benign (a public resolver, a CDN): refuse it unless the
 * operator insists with --force. */
static int check_warninglists(const struct cli_publish_args *a, const struct config *cfg,
                              const struct proto_record *r)
{
    char hit[LIMIT_NAME_BYTES + 64];
    int rc = cli_warninglist_hit(a, cfg, r, hit, sizeof hit);
    if (rc == CLI_OK && hit[0]) {
        cli_error("publish", "value %s is on warninglist '%s'; use --force to publish anyway",
                  r->u.ind.value, hit);
        rc = CLI_FAIL;
    }
    return rc;
}

int cli_publish_commit(struct cli_node *n, const struct proto_record *r,
                       uint8_t id[LIMIT_ID_BYTES], bool *is_new)
{
    const int frc = cli_find_duplicate(n->store, r, r->created_ms, id);
    if (frc < 0) {
        cli_error("publish", "store %s: %s", n->cfg.data_dir, store_strerror(frc));
        return CLI_FAIL;
    }
    *is_new = frc == 0;
    return frc == 0 ? cli_sign_and_store(n, "publish", r, id) : CLI_OK;
}

int cli_publish(int argc, char **argv)
{
    struct cli_publish_args a = {0};
    int rc = parse_publish_args(argc, argv, &a);
    if (rc != CLI_OK)
        return rc;
    struct cli_node n;
    rc = cli_open("publish", a.conf, CLI_OPEN_KEY | CLI_OPEN_STORE_RW, &n);
    if (rc != CLI_OK)
        return rc;
    struct proto_record *r = calloc(1, sizeof *r);
    if (!r) {
        cli_error("publish", "out of memory");
        rc = CLI_FAIL;
        goto out;
    }
    rc = cli_publish_build(&a, &n.id, cli_now_ms(), r);
    if (rc != CLI_OK)
        goto out;
    if (!a.force && (rc = check_warninglists(&a, &n.cfg, r)) != CLI_OK)
        goto out;
    uint8_t id[LIMIT_ID_BYTES];
    bool is_new = false;
    if ((rc = cli_publish_commit(&n, r, id, &is_new)) != CLI_OK)
        goto out;
    char idhex[2 * LIMIT_ID_BYTES + 1];
    cli_id_hex(id, idhex);
    cli_publish_report(&n, r, idhex, is_new, a.json);
out:
    free(r);
    cli_close(&n);
    return rc;
}

/* ---- reading commands ---- */

struct read_args {
    const char *conf, *type, *tlp, *since, *reason, *limit;
    bool json, all, exact, explain;
};

/* Parses the options shared by query/show/list/revoke; positional arguments stay in argv. */
static int parse_read_args(const char *cmd, int argc, char **argv, struct read_args *a,
                           int *first_pos)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'}, {"type", required_argument, NULL, 't'},
        {"tlp", required_argument, NULL, 'l'},    {"since", required_argument, NULL, 's'},
        {"reason", required_argument, NULL, 'r'}, {"json", no_argument, NULL, 'j'},
        {"all", no_argument, NULL, 'a'},          {"limit", required_argument, NULL, 'n'},
        {"exact", no_argument, NULL, 'x'},        {"explain", no_argument, NULL, 'E'},
        {0, 0, 0, 0}};
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":c:", opts, NULL)) != -1) {
        switch (c) {
        case 'c': a->conf = optarg; break;
        case 't': a->type = optarg; break;
        case 'l': a->tlp = optarg; break;
        case 's': a->since = optarg; break;
        case 'r': a->reason = optarg; break;
        case 'j': a->json = true; break;
        case 'a': a->all = true; break;
        case 'n': a->limit = optarg; break;
        case 'x':
            if (strcmp(cmd, "query") != 0) /* only query looks beyond the exact value */
                return cli_bad_option(cmd, argv, c);
            a->exact = true;
            break;
        case 'E':
            if (strcmp(cmd, "show") != 0) /* only show prints the gate's table */
                return cli_bad_option(cmd, argv, c);
            a->explain = true;
            break;
        default: return cli_bad_option(cmd, argv, c);
        }
    }
    *first_pos = optind;
    return CLI_OK;
}

struct emit_ctx {
    struct store *st;
    uint64_t now_ms;
    bool json, all, header_done;
    int type;        /* -1: any */
    int tlp;         /* -1: any */
    uint64_t since;  /* created_ms >= since */
    size_t count;
    size_t limit;    /* stop after this many (list --limit); 0: no limit */
    bool more;       /* stopped at the limit with another match left */
    const char *contains; /* query: these matches are ranges that contain this address */
    bool contains_said;   /* the text line that says so is out */
    int err;
};

static int emit_cb(const uint8_t id[LIMIT_ID_BYTES], const uint8_t *signed_rec, size_t len,
                   uint64_t seq, void *vctx)
{
    struct emit_ctx *c = vctx;
    struct cli_shown s;
    const int rc = cli_load_shown(c->st, id, signed_rec, len, seq, c->now_ms, &s);
    if (rc != PROTO_OK) {
        c->err = rc;
        return 1;
    }
    if (s.rec.kind != PROTO_KIND_INDICATOR || (!c->all && (s.revoked || s.expired)) ||
        (c->type >= 0 && s.rec.u.ind.type != c->type) || (c->tlp >= 0 && s.rec.tlp != c->tlp) ||
        s.rec.created_ms < c->since)
        return 0;
    if (c->limit && c->count == c->limit) {
        c->more = true;
        return 1;
    }
    if (c->json) {
        json_t *extra = c->contains ? json_pack("{s:s}", "contains", c->contains) : NULL;
        print_json(&s, NULL, extra);
        json_decref(extra);
    } else {
        if (c->contains && !c->contains_said)
            printf("ranges that contain %s, most specific first:\n", c->contains);
        c->contains_said = c->contains_said || c->contains;
        if (!c->header_done)
            print_row_header();
        c->header_done = true;
        print_row(&s);
    }
    c->count++;
    return 0;
}

/* Reports an iteration that stopped on an error. */
static int iter_result(const char *cmd, const struct cli_node *n, int rc, const struct emit_ctx *e)
{
    if (rc < 0) {
        cli_error(cmd, "store %s: %s", n->cfg.data_dir, store_strerror(rc));
        return CLI_FAIL;
    }
    if (e->err) {
        cli_error(cmd, "store %s holds an undecodable record: %s", n->cfg.data_dir,
                  proto_strerror(e->err));
        return CLI_FAIL;
    }
    return CLI_OK;
}

/* The live ranges that contain the address addr (a normal form), most specific first; nothing
 * when addr is itself a range. */
static int query_ranges(struct cli_node *n, const char *addr, struct emit_ctx *e)
{
    if (strchr(addr, '/') != NULL)
        return CLI_OK;
    e->contains = addr;
    const int rc = store_find_covering(n->store, addr, emit_cb, e);
    e->contains = NULL;
    return iter_result("query", n, rc, e);
}

int cli_query(int argc, char **argv)
{
    struct read_args a = {0};
    int pos, rc = parse_read_args("query", argc, argv, &a, &pos);
    if (rc != CLI_OK)
        return rc;
    if (pos != argc - 1) {
        cli_error("query", "expected exactly one VALUE (see tlpmesh query --help)");
        return CLI_USAGE;
    }
    const char *value = argv[pos];
    struct cli_node n;
    if ((rc = cli_open("query", a.conf, CLI_OPEN_STORE_RO, &n)) != CLI_OK)
        return rc;
    struct emit_ctx e = {.st = n.store, .now_ms = cli_now_ms(), .json = a.json, .type = -1,
                         .tlp = -1};
    /* The same text may be a value of several types (ip-src and ip-dst); look under each. */
    char norm[LIMIT_VALUE_BYTES + 1];
    for (int t = PROTO_ITYPE_IP_SRC; t < PROTO_ITYPE_END && rc == CLI_OK; t++) {
        if (proto_indicator_normalise(t, value, norm, sizeof norm, NULL, 0) != 0)
            continue;
        rc = iter_result("query", &n, store_find_value(n.store, t, norm, emit_cb, &e), &e);
    }
    if (rc == CLI_OK && !a.exact &&
        proto_indicator_normalise(PROTO_ITYPE_IP_DST, value, norm, sizeof norm, NULL, 0) == 0)
        rc = query_ranges(&n, norm, &e);
    cli_close(&n);
    if (rc == CLI_OK && e.count == 0) {
        if (!a.json)
            fprintf(stderr, "tlpmesh query: no live record for '%s'\n", value);
        return CLI_FAIL;
    }
    return rc;
}

int cli_load_by_id(const char *cmd, struct cli_node *n, const char *text, struct cli_shown *s)
{
    uint8_t id[LIMIT_ID_BYTES];
    int rc = cli_resolve_id(cmd, n->store, text, id);
    if (rc != CLI_OK)
        return rc;
    char hex[2 * LIMIT_ID_BYTES + 1];
    cli_id_hex(id, hex);
    uint8_t buf[LIMIT_SIG_BYTES + LIMIT_RECORD_BYTES];
    size_t len;
    uint64_t seq;
    rc = store_get(n->store, id, buf, sizeof buf, &len, &seq);
    if (rc == STORE_E_NOTFOUND) {
        cli_error(cmd, "no record %s", hex);
        return CLI_FAIL;
    }
    if (rc == STORE_OK)
        rc = cli_load_shown(n->store, id, buf, len, seq, cli_now_ms(), s);
    if (rc != STORE_OK) {
        cli_error(cmd, "record %s: %s", hex,
                  ERRORS_OF(STORE, rc) ? store_strerror(rc) : proto_strerror(rc));
        return CLI_FAIL;
    }
    return CLI_OK;
}

/* The revocation of s by its origin: {"id", "time", "reason"} (new reference), or NULL. */
static json_t *revocation_json(struct cli_node *n, const struct cli_shown *s)
{
    uint8_t rev_id[LIMIT_ID_BYTES];
    if (store_revocation_for(n->store, s->id, s->rec.origin, rev_id) != STORE_OK)
        return NULL;
    static uint8_t buf[LIMIT_SIG_BYTES + LIMIT_RECORD_BYTES];
    size_t len = 0;
    struct proto_record *r = malloc(sizeof *r);
    json_t *o = NULL;
    if (r && store_get(n->store, rev_id, buf, sizeof buf, &len, NULL) == STORE_OK &&
        len > LIMIT_SIG_BYTES &&
        proto_record_decode(buf + LIMIT_SIG_BYTES, len - LIMIT_SIG_BYTES, r, NULL, 0) == PROTO_OK &&
        r->kind == PROTO_KIND_REVOCATION) {
        char hex[2 * LIMIT_ID_BYTES + 1];
        cli_id_hex(rev_id, hex);
        o = json_pack("{s:s, s:o, s:s}", "id", hex, "time", json_time(r->created_ms), "reason",
                      r->u.rev.reason);
    }
    free(r);
    return o;
}

/* What show adds to the record: the origin's organisation as this node knows it (config,
 * trusted rosters; "" when unknown) and, for a revoked record, the revocation. NULL after
 * printing the error. */
static json_t *show_extra(struct cli_node *n, const struct cli_shown *s)
{
    struct community_table t;
    community_table_init(&t);
    json_t *x = NULL;
    if (cli_community_table("show", n, &t) == CLI_OK)
        x = json_pack("{s:s}", "origin_organisation",
                      community_org_of_key(&t, &n->cfg, s->rec.origin));
    community_table_free(&t);
    json_t *rev = x && s->revoked ? revocation_json(n, s) : NULL;
    if (rev)
        json_object_set_new(x, "revocation", rev);
    return x;
}

json_t *cli_show_json(struct cli_node *n, const struct cli_shown *s, bool explain)
{
    json_t *sightings = cli_sightings_json("show", n, s->id);
    json_t *extra = sightings ? show_extra(n, s) : NULL;
    json_t *o = NULL;
    if (extra && (!explain || cli_explain_show(n, s, extra) == CLI_OK))
        o = cli_shown_json(s, sightings, extra);
    json_decref(sightings);
    json_decref(extra);
    return o;
}

static int show_text(struct cli_node *n, const struct cli_shown *s, bool explain)
{
    json_t *sightings = cli_sightings_json("show", n, s->id);
    json_t *extra = sightings ? show_extra(n, s) : NULL;
    int rc = extra ? CLI_OK : CLI_FAIL;
    if (rc == CLI_OK) {
        print_detail(s, extra);
        cli_sightings_print(sightings);
        if (explain)
            rc = cli_explain_show(n, s, NULL);
    }
    json_decref(sightings);
    json_decref(extra);
    return rc;
}

int cli_show(int argc, char **argv)
{
    struct read_args a = {0};
    int pos, rc = parse_read_args("show", argc, argv, &a, &pos);
    if (rc != CLI_OK)
        return rc;
    if (pos != argc - 1) {
        cli_error("show", "expected exactly one ID (see tlpmesh show --help)");
        return CLI_USAGE;
    }
    struct cli_node n;
    if ((rc = cli_open("show", a.conf, CLI_OPEN_STORE_RO, &n)) != CLI_OK)
        return rc;
    struct cli_shown *s = calloc(1, sizeof *s);
    rc = s ? cli_load_by_id("show", &n, argv[pos], s) : CLI_FAIL;
    if (rc == CLI_OK && a.json) {
        json_t *o = cli_show_json(&n, s, a.explain);
        rc = o ? CLI_OK : CLI_FAIL;
        cli_print_json_line(o);
    } else if (rc == CLI_OK) {
        rc = show_text(&n, s, a.explain);
    }
    free(s);
    cli_close(&n);
    return rc;
}

/* --limit: 1..LIMIT_LIST_MAX, decimal, nothing else. */
static bool parse_limit(const char *text, size_t *out)
{
    char *end = NULL;
    const unsigned long v = strtoul(text, &end, 10);
    *out = (size_t)v;
    return text[0] >= '1' && text[0] <= '9' && *end == '\0' && v <= LIMIT_LIST_MAX;
}

int cli_list(int argc, char **argv)
{
    struct read_args a = {0};
    int pos, rc = parse_read_args("list", argc, argv, &a, &pos);
    if (rc != CLI_OK)
        return rc;
    if (pos != argc) {
        cli_error("list", "unexpected argument '%s' (see tlpmesh list --help)", argv[pos]);
        return CLI_USAGE;
    }
    const uint64_t now = cli_now_ms();
    struct emit_ctx e = {.now_ms = now, .json = a.json, .all = a.all, .type = -1, .tlp = -1};
    if (a.type && (e.type = proto_itype_parse(a.type)) < 0) {
        cli_error("list", "--type '%s' is not a supported type", a.type);
        return CLI_USAGE;
    }
    if (a.tlp && (e.tlp = proto_tlp_parse(a.tlp)) < 0) {
        cli_error("list", "--tlp '%s' is not one of clear, green, amber, amber+strict, red", a.tlp);
        return CLI_USAGE;
    }
    if (a.since && timefmt_parse_point(a.since, now, -1, &e.since) != TIMEFMT_OK) {
        cli_error("list", "--since '%s' is not an RFC 3339 time or a duration like 2h", a.since);
        return CLI_USAGE;
    }
    if (a.limit && !parse_limit(a.limit, &e.limit)) {
        cli_error("list", "--limit '%s' is not a whole number from 1 to %d", a.limit,
                  LIMIT_LIST_MAX);
        return CLI_USAGE;
    }
    struct cli_node n;
    if ((rc = cli_open("list", a.conf, CLI_OPEN_STORE_RO, &n)) != CLI_OK)
        return rc;
    e.st = n.store;
    rc = iter_result("list", &n, store_iter_time(n.store, e.since, UINT64_MAX, emit_cb, &e), &e);
    cli_close(&n);
    /* Said on stderr, so that --json stays one record per line. */
    if (rc == CLI_OK && e.more)
        fprintf(stderr, "tlpmesh list: the first %zu shown (oldest first); more match: raise "
                        "--limit or narrow --since\n", e.limit);
    return rc;
}

int cli_revoke_record(struct cli_node *n, const struct cli_shown *s, const char *reason,
                      const char *name, struct proto_record *r, uint8_t rev_id[LIMIT_ID_BYTES])
{
    if (memcmp(s->rec.origin, n->id.sign_pk, LIMIT_KEY_BYTES) != 0 ||
        s->rec.kind != PROTO_KIND_INDICATOR) {
        cli_error("revoke", "record %s is not an indicator this node published: only its origin "
                            "may revoke it",
                  name);
        return CLI_FAIL;
    }
    if (reason && strlen(reason) > LIMIT_COMMENT_BYTES) {
        cli_error("revoke", "--reason is longer than %d bytes", LIMIT_COMMENT_BYTES);
        return CLI_USAGE;
    }
    if (s->revoked)
        return store_revocation_for(n->store, s->id, s->rec.origin, rev_id) == STORE_OK ? CLI_OK
                                                                                        : CLI_FAIL;
    /* The revocation carries the target's TLP and audience: it goes where the record went. */
    memset(r, 0, sizeof *r);
    r->version = PROTO_RECORD_VERSION;
    r->kind = PROTO_KIND_REVOCATION;
    r->tlp = s->rec.tlp;
    r->created_ms = cli_now_ms();
    memcpy(r->origin, n->id.sign_pk, LIMIT_KEY_BYTES);
    r->audience = s->rec.audience;
    memcpy(r->u.rev.target, s->id, LIMIT_ID_BYTES);
    if (reason)
        memcpy(r->u.rev.reason, reason, strlen(reason) + 1);
    return cli_sign_and_store(n, "revoke", r, rev_id);
}

int cli_revoke(int argc, char **argv)
{
    struct read_args a = {0};
    int pos, rc = parse_read_args("revoke", argc, argv, &a, &pos);
    if (rc != CLI_OK)
        return rc;
    if (pos != argc - 1) {
        cli_error("revoke", "expected exactly one ID (see tlpmesh revoke --help)");
        return CLI_USAGE;
    }
    struct cli_node n;
    if ((rc = cli_open("revoke", a.conf, CLI_OPEN_KEY | CLI_OPEN_STORE_RW, &n)) != CLI_OK)
        return rc;
    struct cli_shown *s = calloc(1, sizeof *s);
    struct proto_record *r = calloc(1, sizeof *r);
    if (!s || !r) {
        rc = CLI_FAIL;
        goto out;
    }
    if ((rc = cli_load_by_id("revoke", &n, argv[pos], s)) != CLI_OK)
        goto out;
    uint8_t rev_id[LIMIT_ID_BYTES];
    rc = cli_revoke_record(&n, s, a.reason, argv[pos], r, rev_id);
    if (rc == CLI_OK) {
        char hex[2 * LIMIT_ID_BYTES + 1];
        cli_id_hex(rev_id, hex);
        printf("%s\n", hex);
    }
out:
    free(s);
    free(r);
    cli_close(&n);
    return rc;
}
