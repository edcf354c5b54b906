/* report.c - simnet's outputs: the human summary, the same figures as JSON, and an SVG with the
 * delivery-time CDF and the per-node bandwidth (docs/SIMNET.md "Output"). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "simnet/sim.h"

struct pct {
    uint64_t n;
    uint32_t p50, p90, p99, max;
};

static int cmp_u64_desc(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x > y ? -1 : x < y;
}

static struct pct percentiles(const struct sim_delays *d)
{
    const uint64_t n = d->n;
    struct pct p = {.n = n};
    if (n == 0)
        return p;
    p.p50 = sim_delays_at(d, (n - 1) * 50 / 100);
    p.p90 = sim_delays_at(d, (n - 1) * 90 / 100);
    p.p99 = sim_delays_at(d, (n - 1) * 99 / 100);
    p.max = d->max;
    return p;
}

/* All gossip delays, of every TLP (caller frees with sim_delays_free; n == 0 without memory). */
static struct sim_delays all_delays(const struct sim_result *r)
{
    struct sim_delays all = {0};
    for (int t = 0; t < PROTO_TLP_COUNT; t++)
        if (sim_delays_merge(&all, &r->tlp[t].delays) < 0) {
            sim_delays_free(&all);
            break;
        }
    return all;
}

static double ratio(uint64_t a, uint64_t b)
{
    return b ? (double)a / (double)b : 0.0;
}

/* Bytes received per delivery by what carried them: the kinds of gossip message, and the rest
 * of the wire (channel and Noise framing per message, handshakes, keepalives, HELLO). */
struct by_kind {
    double records, copies, announce, announce_ids, want, prune, recon, framing, messages;
};

struct figures {
    double rec_size, rx_per_delivery, rx_ratio, tx_per_delivery, dup_per_record;
    struct by_kind kind;
    double flood_rx_per_delivery, flood_ratio;
    struct pct all, flood;
};

static void figures(const struct sim_result *r, struct figures *f)
{
    memset(f, 0, sizeof *f);
    f->rec_size = ratio(r->record_bytes_total, r->records_published);
    f->rx_per_delivery = ratio(r->bytes_rx, r->deliveries);
    f->tx_per_delivery = ratio(r->bytes_tx, r->deliveries);
    f->rx_ratio = f->rec_size > 0 ? f->rx_per_delivery / f->rec_size : 0;
    f->dup_per_record = ratio(r->duplicates, r->records_published);
    const struct sim_app_bytes *a = &r->app_rx;
    const uint64_t app = a->records + a->announce + a->want + a->prune + a->recon;
    f->kind = (struct by_kind){
        ratio(a->records, r->deliveries),
        ratio(a->copies, r->deliveries),
        ratio(a->announce, r->deliveries),
        ratio(a->announce, 8 * r->deliveries), /* a short id is 8 bytes; the count is ~0 */
        ratio(a->want, r->deliveries),
        ratio(a->prune, r->deliveries),
        ratio(a->recon, r->deliveries),
        ratio(r->bytes_rx > app ? r->bytes_rx - app : 0, r->deliveries),
        ratio(a->messages, r->deliveries),
    };
    struct sim_delays all = all_delays(r);
    f->all = percentiles(&all);
    sim_delays_free(&all);
    if (r->flood_run) {
        f->flood_rx_per_delivery = ratio(r->flood_bytes_rx, r->flood_deliveries);
        f->flood_ratio = f->rec_size > 0 ? f->flood_rx_per_delivery / f->rec_size : 0;
        f->flood = percentiles(&r->flood_delays);
    }
}

static void hex(const uint8_t *b, size_t n, char *out)
{
    sodium_bin2hex(out, 2 * n + 1, b, n);
}

void report_text(const struct sim_scenario *s, const struct sim_result *r, FILE *out)
{
    struct figures f;
    figures(r, &f);
    char dg[65];
    hex(r->digest, sizeof r->digest, dg);
    fprintf(out, "simnet: %u nodes, degree %u, %llu records, seed %llu, virtual time %.1f s, "
                 "%llu events\n",
            r->nodes, s->degree, (unsigned long long)r->records_published,
            (unsigned long long)s->seed, r->virtual_ms / 1000.0, (unsigned long long)r->events);
    fprintf(out, "oracle: %s\n", r->oracle_ok ? "ok (no rule broken; every entitled node has every record)"
                                              : r->oracle_msg);
    fprintf(out, "\n%-13s %8s %10s %10s %9s %7s %7s %7s %7s%s\n", "TLP", "records", "entitled",
            "delivered", "ratio", "p50ms", "p90ms", "p99ms", "maxms",
            r->flood_run ? "   flood p50/p99 ms" : "");
    for (int t = 0; t < PROTO_TLP_COUNT; t++) {
        const struct sim_stats_tlp *st = &r->tlp[t];
        struct pct p = percentiles(&st->delays);
        fprintf(out, "%-13s %8llu %10llu %10llu %9.4f %7u %7u %7u %7u", proto_tlp_name(t),
                (unsigned long long)st->records, (unsigned long long)st->entitled,
                (unsigned long long)st->delivered, ratio(st->delivered, st->entitled), p.p50,
                p.p90, p.p99, p.max);
        if (r->flood_run) {
            const struct sim_stats_tlp *ft = &r->flood_tlp[t];
            struct pct q = percentiles(&ft->delays);
            fprintf(out, "   %7u / %u", q.p50, q.p99);
        }
        fputc('\n', out);
    }
    fprintf(out, "%-13s %8s %10s %10llu %9s %7u %7u %7u %7u\n", "all", "", "",
            (unsigned long long)r->deliveries, "", f.all.p50, f.all.p90, f.all.p99, f.all.max);
    fprintf(out, "\nmean record size              %.1f bytes (signed)\n", f.rec_size);
    fprintf(out, "%-29s %12s %12s\n", "", "gossip", s->baseline_flood ? "flood" : "");
    fprintf(out, "%-29s %12.1f", "bytes received / delivery", f.rx_per_delivery);
    if (r->flood_run)
        fprintf(out, " %12.1f", f.flood_rx_per_delivery);
    fprintf(out, "\n%-29s %12.2f", "  as x record size", f.rx_ratio);
    if (r->flood_run)
        fprintf(out, " %12.2f", f.flood_ratio);
    fprintf(out, "\n%-29s %12.1f\n", "bytes sent / delivery", f.tx_per_delivery);
    if (r->flood_run)
        fprintf(out, "%-29s %12u %12u\n%-29s %12u %12u\n", "delay p50 ms", f.all.p50, f.flood.p50,
                "delay p99 ms", f.all.p99, f.flood.p99);
    fprintf(out, "duplicates per record         %.2f\n", f.dup_per_record);
    fprintf(out, "app bytes received            records %llu, announce %llu, want %llu, "
                 "reconciliation %llu\n",
            (unsigned long long)r->app_rx.records, (unsigned long long)r->app_rx.announce,
            (unsigned long long)r->app_rx.want, (unsigned long long)r->app_rx.recon);
    const struct by_kind *k = &f.kind;
    fprintf(out, "received / delivery by kind   records %.1f B (%.2f copies), announce %.1f B (%.1f "
                 "ids), want %.1f B, prune %.1f B, reconciliation %.1f B, framing and sessions "
                 "%.1f B (%.2f gossip messages)\n",
            k->records, k->copies, k->announce, k->announce_ids, k->want, k->prune, k->recon,
            k->framing, k->messages);
    fprintf(out, "gate refusals (not peer-has)  %llu\n", (unsigned long long)r->gate_refusals);
    fprintf(out, "byzantine records sent        %llu; refused: forged/malformed %llu, inbound "
                 "gate %llu; accepted %llu\n",
            (unsigned long long)r->byz_sent, (unsigned long long)r->forged_refused,
            (unsigned long long)r->refused_inbound, (unsigned long long)r->byz_accepted);
    fprintf(out, "verify calls                  %llu (%llu answered by the shared cache)\n",
            (unsigned long long)r->verify_calls, (unsigned long long)r->verify_cached);
    fprintf(out, "sessions opened               %llu\n", (unsigned long long)r->sessions_opened);
    fprintf(out, "memory per node               %.0f KiB (RSS growth / nodes); peak RSS %.0f KiB / "
                 "nodes\n",
            r->mem_per_node_bytes / 1024.0,
            r->nodes ? (double)r->max_rss_bytes / 1024.0 / r->nodes : 0.0);
    fprintf(out, "  heap in use per node        %.0f KiB (malloc, at the end)\n",
            r->nodes ? (double)r->heap_bytes / 1024.0 / r->nodes : 0.0);
    fprintf(out, "  record store per node       %.1f KiB own tables; shared record pool %.0f KiB\n",
            r->store_bytes_per_node / 1024.0, (double)r->pool_bytes / 1024.0);
    fprintf(out, "wall time                     %.1f s on %u thread%s (setup and run, without the "
                 "baseline)\n",
            r->run_seconds, r->threads, r->threads == 1 ? "" : "s");
    fprintf(out, "trace digest                  %016llx\nresult digest                 %s\n",
            (unsigned long long)r->trace_digest, dg);
}

static json_t *pct_json(struct pct p)
{
    return json_pack("{s:I, s:I, s:I, s:I, s:I}", "n", (json_int_t)p.n, "p50", (json_int_t)p.p50,
                     "p90", (json_int_t)p.p90, "p99", (json_int_t)p.p99, "max", (json_int_t)p.max);
}

int report_json(const struct sim_scenario *s, const struct sim_result *r, FILE *out)
{
    struct figures f;
    figures(r, &f);
    char dg[65], td[17];
    hex(r->digest, sizeof r->digest, dg);
    snprintf(td, sizeof td, "%016llx", (unsigned long long)r->trace_digest);
    json_t *tlp = json_object();
    for (int t = 0; t < PROTO_TLP_COUNT; t++) {
        const struct sim_stats_tlp *st = &r->tlp[t];
        json_t *o = json_pack("{s:I, s:I, s:I, s:f, s:o}", "records", (json_int_t)st->records,
                              "entitled", (json_int_t)st->entitled, "delivered",
                              (json_int_t)st->delivered, "delivery_ratio",
                              ratio(st->delivered, st->entitled),
                              "delay_ms", pct_json(percentiles(&st->delays)));
        if (o != NULL && r->flood_run) /* the baseline's delays for the same TLP */
            json_object_set_new(o, "flood_delay_ms",
                                pct_json(percentiles(&r->flood_tlp[t].delays)));
        json_object_set_new(tlp, proto_tlp_name(t), o);
    }
    json_t *root = json_pack(
        "{s:I, s:i, s:i, s:I, s:I, s:I, s:s, s:s, s:b, s:s, s:o, s:o, s:f, s:f, s:f, s:f, s:f,"
        " s:{s:I, s:I, s:I, s:I}, s:I, s:{s:I, s:I, s:I, s:I}, s:{s:I, s:I}, s:I, s:f}",
        "seed", (json_int_t)s->seed, "nodes", (int)r->nodes, "degree", (int)s->degree, "records",
        (json_int_t)r->records_published, "virtual_ms", (json_int_t)r->virtual_ms, "events",
        (json_int_t)r->events, "trace_digest", td, "result_digest", dg, "oracle_ok",
        r->oracle_ok, "oracle_message", r->oracle_msg, "tlp", tlp, "delay_ms", pct_json(f.all),
        "record_bytes_mean", f.rec_size, "rx_bytes_per_delivery", f.rx_per_delivery,
        "rx_per_delivery_over_record_size", f.rx_ratio, "tx_bytes_per_delivery",
        f.tx_per_delivery, "duplicates_per_record", f.dup_per_record, "app_rx_bytes", "records",
        (json_int_t)r->app_rx.records, "announce", (json_int_t)r->app_rx.announce, "want",
        (json_int_t)r->app_rx.want, "reconciliation", (json_int_t)r->app_rx.recon, "gate_refusals",
        (json_int_t)r->gate_refusals, "byzantine", "sent", (json_int_t)r->byz_sent,
        "refused_forged", (json_int_t)r->forged_refused, "refused_inbound",
        (json_int_t)r->refused_inbound, "accepted", (json_int_t)r->byz_accepted, "verify",
        "calls", (json_int_t)r->verify_calls, "cached", (json_int_t)r->verify_cached,
        "sessions_opened", (json_int_t)r->sessions_opened, "memory_per_node_bytes",
        r->mem_per_node_bytes);
    if (root != NULL) {
        json_object_set_new(root, "run_seconds", json_real(r->run_seconds));
        json_object_set_new(root, "threads", json_integer(r->threads));
        const struct by_kind *k = &f.kind;
        json_object_set_new(
            root, "rx_per_delivery_by_kind",
            json_pack("{s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f}", "records_bytes", k->records,
                      "record_copies", k->copies, "announce_bytes", k->announce, "announce_ids",
                      k->announce_ids, "want_bytes", k->want, "prune_bytes", k->prune,
                      "reconciliation_bytes", k->recon, "framing_bytes", k->framing,
                      "gossip_messages", k->messages));
    }
    if (root != NULL)
        json_object_set_new(root, "memory",
                            json_pack("{s:I, s:I, s:f, s:I}", "max_rss_bytes",
                                      (json_int_t)r->max_rss_bytes, "heap_bytes",
                                      (json_int_t)r->heap_bytes, "store_bytes_per_node",
                                      r->store_bytes_per_node, "pool_bytes",
                                      (json_int_t)r->pool_bytes));
    if (root == NULL)
        return SIM_E_NOMEM;
    if (r->flood_run)
        json_object_set_new(root, "flood",
                            json_pack("{s:f, s:f, s:I, s:o}", "rx_bytes_per_delivery",
                                      f.flood_rx_per_delivery,
                                      "rx_per_delivery_over_record_size", f.flood_ratio,
                                      "deliveries", (json_int_t)r->flood_deliveries, "delay_ms",
                                      pct_json(f.flood)));
    int rc = json_dumpf(root, out, JSON_INDENT(2)) == 0 ? SIM_OK : SIM_E_IO;
    fputc('\n', out);
    json_decref(root);
    return rc;
}

/* --- SVG --- */

enum { W = 520, H = 320, PAD = 50 };

static void axes(FILE *f, int x0, const char *title, const char *xl, const char *yl)
{
    fprintf(f, "<g transform=\"translate(%d,0)\">\n", x0);
    fprintf(f, "<text x=\"%d\" y=\"20\" font-size=\"14\" text-anchor=\"middle\">%s</text>\n",
            W / 2, title);
    fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"black\"/>\n", PAD, H - PAD,
            W - 10, H - PAD);
    fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"black\"/>\n", PAD, 30, PAD,
            H - PAD);
    fprintf(f, "<text x=\"%d\" y=\"%d\" font-size=\"11\" text-anchor=\"middle\">%s</text>\n",
            W / 2, H - 12, xl);
    fprintf(f, "<text x=\"12\" y=\"%d\" font-size=\"11\" transform=\"rotate(-90 12 %d)\" "
               "text-anchor=\"middle\">%s</text>\n",
            H / 2, H / 2, yl);
}

static void label(FILE *f, double x, double y, const char *anchor, double v)
{
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"10\" text-anchor=\"%s\">%.6g</text>\n", x,
            y, anchor, v);
}

/* A tick step of 1, 2 or 5 times a power of ten giving about five ticks on [0, max]. */
static double nice_step(double max)
{
    double raw = max > 0 ? max / 5 : 1, p = pow(10, floor(log10(raw)));
    double m = raw / p;
    return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
}

/* Ticks and values along the x axis, [0, max] data units over [PAD, W - 10], labelled in units
 * of div (the step is a nice one in those units); and along the y axis over [H - PAD, 30]. */
static void x_ticks(FILE *f, double max, double div)
{
    double step = nice_step(max / div) * div;
    for (int k = 0; k <= 12 && k * step <= max * (1 + 1e-9); k++) {
        double x = PAD + (W - 10 - PAD) * (k * step / max);
        fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"black\"/>\n", x,
                H - PAD, x, H - PAD + 4);
        label(f, x, H - PAD + 15, "middle", k * step / div);
    }
}

static void y_ticks(FILE *f, double max, double div)
{
    double step = nice_step(max / div) * div;
    for (int k = 0; k <= 12 && k * step <= max * (1 + 1e-9); k++) {
        double y = H - PAD - (H - PAD - 30) * (k * step / max);
        fprintf(f, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#ddd\"/>\n", PAD, y,
                W - 10, y);
        label(f, PAD - 4, y + 3, "end", k * step / div);
    }
}

/* A dashed vertical line at delay p (ms) of [0, xmax], named name and p, at text row row. */
static void pct_mark(FILE *f, const char *name, double p, double xmax, int row, const char *color)
{
    double x = PAD + (W - 10 - PAD) * (p / xmax);
    fprintf(f, "<line x1=\"%.1f\" y1=\"30\" x2=\"%.1f\" y2=\"%d\" stroke=\"%s\" "
               "stroke-dasharray=\"3,3\"/>\n",
            x, x, H - PAD, color);
    fprintf(f, "<text x=\"%.1f\" y=\"%d\" font-size=\"9\" fill=\"%s\" stroke=\"white\" "
               "stroke-width=\"3\" paint-order=\"stroke\">%s %.0f ms</text>\n", x + 2,
            40 + 11 * row, color, name, p);
}

/* p50, p90, p99 of the delays, marked on the CDF (rows from row). */
static void pct_marks(FILE *f, const struct sim_delays *d, double xmax, int row,
                      const char *color)
{
    static const struct {
        const char *name;
        double q;
    } qs[] = {{"p50", 0.50}, {"p90", 0.90}, {"p99", 0.99}};
    for (size_t i = 0; d->n > 0 && i < sizeof qs / sizeof qs[0]; i++)
        pct_mark(f, qs[i].name, sim_delays_at(d, (uint64_t)(qs[i].q * (double)(d->n - 1))), xmax,
                 row + (int)i, color);
}

/* CDF of the delays on [0, xmax] ms. */
static void cdf_line(FILE *f, const struct sim_delays *d, double xmax, const char *color)
{
    const uint64_t n = d->n;
    if (n == 0)
        return;
    fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\" points=\"", color);
    uint64_t step = n / 400 ? n / 400 : 1;
    for (uint64_t i = 0; i < n; i += step) {
        double x = PAD + (W - 10 - PAD) * (sim_delays_at(d, i) / xmax),
               y = H - PAD - (H - PAD - 30) * ((double)(i + 1) / n);
        fprintf(f, "%.1f,%.1f ", x, y);
    }
    fprintf(f, "%.1f,%.1f\"/>\n", PAD + (W - 10 - PAD) * (d->max / xmax), 30.0);
}

/* Per-node bytes received, nodes sorted by it, descending. */
static void bw_line(FILE *f, const uint64_t *rx, uint32_t n, double ymax, const char *color)
{
    uint64_t *v = malloc((n ? n : 1) * sizeof *v);
    if (v == NULL || n == 0) {
        free(v);
        return;
    }
    memcpy(v, rx, n * sizeof *v);
    qsort(v, n, sizeof *v, cmp_u64_desc);
    fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\" points=\"", color);
    uint32_t step = n / 400 ? n / 400 : 1;
    for (uint32_t i = 0; i < n; i += step)
        fprintf(f, "%.1f,%.1f ", PAD + (W - 10 - PAD) * ((double)i / (n > 1 ? n - 1 : 1)),
                H - PAD - (H - PAD - 30) * (v[i] / ymax));
    fprintf(f, "\"/>\n");
    free(v);
}

int report_svg(const struct sim_scenario *s, const struct sim_result *r, const char *path)
{
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        fprintf(stderr, "tlpmesh-simnet: %s: cannot write the SVG\n", path);
        return SIM_E_IO;
    }
    struct sim_delays all = all_delays(r);
    const struct sim_delays *fl = r->flood_run ? &r->flood_delays : NULL;
    double xmax = 1;
    if (all.n > 0)
        xmax = all.max;
    if (fl && fl->n > 0 && fl->max > xmax)
        xmax = fl->max;
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
               "font-family=\"sans-serif\">\n<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
            2 * W, H);
    axes(f, 0, "delivery time CDF", "delay after publication (ms)", "fraction of deliveries");
    x_ticks(f, xmax, 1);
    y_ticks(f, 1, 1);
    cdf_line(f, &all, xmax, "#1f77b4");
    pct_marks(f, &all, xmax, 0, "#1f77b4");
    if (fl) {
        cdf_line(f, fl, xmax, "#d62728");
        pct_marks(f, fl, xmax, 3, "#d62728");
    }
    fprintf(f, "<text x=\"%d\" y=\"%d\" font-size=\"11\" fill=\"#1f77b4\">gossip</text>\n",
            W - 120, H - PAD - 40);
    if (fl)
        fprintf(f, "<text x=\"%d\" y=\"%d\" font-size=\"11\" fill=\"#d62728\">flood</text>\n",
                W - 120, H - PAD - 25);
    fprintf(f, "</g>\n");
    double ymax = 1;
    for (uint32_t i = 0; i < r->nodes; i++) {
        ymax = r->node_rx[i] > ymax ? r->node_rx[i] : ymax;
        if (r->flood_node_rx)
            ymax = r->flood_node_rx[i] > ymax ? r->flood_node_rx[i] : ymax;
    }
    static const char *const units[] = {"bytes", "KiB", "MiB", "GiB"};
    size_t u = 0;
    double div = 1;
    while (u + 1 < sizeof units / sizeof units[0] && ymax / div >= 10 * 1024) {
        div *= 1024;
        u++;
    }
    double ystep = nice_step(ymax / div) * div; /* the top at a tick: the busiest node shows */
    ymax = ceil(ymax / ystep) * ystep;
    char yl[32];
    snprintf(yl, sizeof yl, "received (%s)", units[u]);
    axes(f, W, "bytes received per node", "nodes, by bytes received (rank)", yl);
    x_ticks(f, r->nodes > 1 ? r->nodes - 1 : 1, 1);
    y_ticks(f, ymax, div);
    bw_line(f, r->node_rx, r->nodes, ymax, "#1f77b4");
    if (r->flood_node_rx)
        bw_line(f, r->flood_node_rx, r->nodes, ymax, "#d62728");
    fprintf(f, "</g>\n</svg>\n");
    (void)s;
    sim_delays_free(&all);
    return fclose(f) == 0 ? SIM_OK : SIM_E_IO;
}
