/* console_peers.c - the peers page (console.h): the peers of `tlpmesh status --json` (asked
 * in-process), and the mesh as this node sees it as inline SVG: this node in the middle, each
 * configured peer around it, the link coloured by the peer's state and labelled with the
 * peer's organisation and the link's ceiling (MaxTLP). */
#include <math.h>
#include <string.h>

#include "node/console/console_int.h"
#include "node/formats/timefmt.h"
#include "proto/tlp.h"

#define MESH_W 720
#define MESH_H 460
#define MESH_R 170

static long long jint(const json_t *o, const char *key)
{
    return (long long)json_integer_value(json_object_get(o, key));
}

/* The link ceiling of the peer with key b64, as the config says ("?" when not configured). */
static const char *ceiling_of(const struct config *cfg, const char *b64)
{
    for (size_t i = 0; i < cfg->n_peers; i++)
        if (strcmp(cfg->peers[i].key_b64, b64) == 0)
            return proto_tlp_name(cfg->peers[i].max_tlp);
    return "?";
}

/* The nonzero counts of object o, "reason: n" each after a label; how many were written. */
static size_t counts(struct console_page *p, const json_t *o, const char *label, const char *skip)
{
    const char *reason;
    const json_t *n;
    size_t shown = 0;
    json_object_foreach((json_t *)o, reason, n) {
        if (json_integer_value(n) <= 0 || (skip && strcmp(reason, skip) == 0))
            continue;
        fprintf(p->f, "<li><span class=\"note\">%s</span> ", label);
        console_esc(p, reason);
        fprintf(p->f, ": %lld</li>", (long long)json_integer_value(n));
        shown++;
    }
    return shown;
}

/* Each reason with its count: what the gate withheld from this peer (by verdict; "peer-has"
 * is dedupe, not a refusal) and what this node refused of the peer's traffic (peerscore's
 * reasons: unknown_type, duplicate, time, gate, ...). */
static void refused_cell(struct console_page *p, const json_t *gossip)
{
    fputs("<ul class=\"refused\">", p->f);
    size_t n = counts(p, json_object_get(gossip, "refused"), "withheld",
                      gate_verdict_name(GATE_DENY_PEER_HAS));
    n += counts(p, json_object_get(gossip, "refused_by_reason"), "refused", NULL);
    if (n == 0)
        fputs("<li class=\"note\">none</li>", p->f);
    fputs("</ul>", p->f);
}

static void peer_row(struct console_page *p, const json_t *peer, const struct config *cfg)
{
    const json_t *g = json_object_get(peer, "gossip");
    char since[TIMEFMT_RFC3339_LEN + 1] = "";
    if (json_is_integer(json_object_get(peer, "since")))
        timefmt_format((uint64_t)jint(peer, "since"), since);
    fputs("<tr class=\"peer\"><td>", p->f);
    console_esc(p, console_jstr(peer, "name")[0] ? console_jstr(peer, "name") : console_jstr(peer, "key"));
    fputs("</td><td>", p->f);
    console_esc(p, console_jstr(peer, "org"));
    fputs("</td><td class=\"state\">", p->f);
    console_esc(p, console_jstr(peer, "state"));
    fputs("</td><td>", p->f);
    console_esc(p, since);
    fprintf(p->f, "</td><td>%lld / %lld</td><td>%lld / %lld</td><td>", jint(peer, "bytes_in"),
            jint(peer, "bytes_out"), jint(g, "records_sent"), jint(g, "records_received"));
    refused_cell(p, g);
    fputs("</td><td>", p->f);
    console_tlp_badge(p, ceiling_of(cfg, console_jstr(peer, "key")), false);
    fputs("</td><td>", p->f);
    console_esc(p, console_jstr(peer, "last_error"));
    fputs("</td></tr>\n", p->f);
}

static void mesh_node(struct console_page *p, double x, double y, const char *cls,
                      const char *line1, const char *line2)
{
    fprintf(p->f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"9\" class=\"", x, y);
    console_esc(p, cls);
    fputs("\"/>", p->f);
    fprintf(p->f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"12\">", x,
            y - 14);
    console_esc(p, line1);
    fprintf(p->f, "</text><text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"11\" "
                  "fill=\"#5b6475\">",
            x, y + 24);
    console_esc(p, line2);
    fputs("</text>\n", p->f);
}

static void mesh(struct console_page *p, const json_t *status, const struct config *cfg)
{
    const json_t *peers = json_object_get(status, "peers");
    const size_t n = json_array_size(peers);
    const double cx = MESH_W / 2.0, cy = MESH_H / 2.0;
    fprintf(p->f, "<svg id=\"mesh\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
                  "height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\"><title>the mesh as this node "
                  "sees it</title>\n",
            MESH_W, MESH_H, MESH_W, MESH_H);
    for (size_t i = 0; i < n; i++) { /* links first, nodes over them */
        const double a = 2 * M_PI * (double)i / (double)n - M_PI / 2;
        const json_t *peer = json_array_get(peers, i);
        fprintf(p->f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke-width=\"3\" "
                      "class=\"link st-",
                cx, cy, cx + MESH_R * cos(a), cy + MESH_R * sin(a));
        console_esc(p, console_jstr(peer, "state"));
        fputs("\"/>", p->f);
        fprintf(p->f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"10\">"
                      "&#8804; ",
                cx + MESH_R * 0.55 * cos(a), cy + MESH_R * 0.55 * sin(a) - 4);
        console_esc(p, ceiling_of(cfg, console_jstr(peer, "key")));
        fputs("</text>\n", p->f);
    }
    for (size_t i = 0; i < n; i++) {
        const double a = 2 * M_PI * (double)i / (double)n - M_PI / 2;
        const json_t *peer = json_array_get(peers, i);
        char cls[48];
        snprintf(cls, sizeof cls, "peer st-%s", console_jstr(peer, "state"));
        mesh_node(p, cx + MESH_R * cos(a), cy + MESH_R * sin(a), cls,
                  console_jstr(peer, "name")[0] ? console_jstr(peer, "name") : console_jstr(peer, "key"),
                  console_jstr(peer, "org"));
    }
    mesh_node(p, cx, cy, "self st-connected", "this node", cfg->organisation);
    fputs("</svg>\n<p class=\"legend\"><span class=\"st-connected\">&#9679;</span>connected "
          "<span class=\"st-connecting\">&#9679;</span>connecting "
          "<span class=\"st-backoff\">&#9679;</span>backing off "
          "<span class=\"st-idle\">&#9679;</span>idle (waits for the peer); labels: the link's "
          "ceiling</p>\n",
          p->f);
}

int console_peers_page(struct console_req *r)
{
    json_t *status = console_status(r);
    if (!status)
        return console_error(r, 500, "the node's status could not be read");
    struct console_page p;
    int rc = console_page_begin(&p, &r->who, "Peers");
    if (rc == CONSOLE_OK) {
        const struct config *cfg = r->c->env.cfg;
        mesh(&p, status, cfg);
        fputs("<table id=\"peers\"><thead><tr><th>peer</th><th>organisation</th><th>state</th>"
              "<th>since</th><th>bytes in / out</th><th>records sent / received</th>"
              "<th>refused by reason</th><th>ceiling</th><th>last error</th></tr></thead>"
              "<tbody>\n", p.f);
        size_t i;
        const json_t *peer;
        json_array_foreach(json_object_get(status, "peers"), i, peer)
            peer_row(&p, peer, cfg);
        fputs("</tbody></table>\n", p.f);
        rc = console_page_end(&p, r->resp, 200);
    }
    json_decref(status);
    return rc;
}
