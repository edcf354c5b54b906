/* console_activity.c - the activity page (console.h): records received (new), sent, published
 * here and refused, per minute over the last LIMIT_ACTIVITY_MINUTES, as an inline SVG chart.
 * The figures are gossip's activity ring (gossip_activity, node/core/activity.h) as `tlpmesh status --json`
 * exports it ("activity", oldest minute first), asked in-process. */
#include <string.h>

#include "node/console/console_int.h"
#include "node/formats/timefmt.h"

#define CHART_W 720
#define CHART_H 280
#define CHART_PAD 44

/* Colours come from the stylesheet's .series-KEY classes (console_html.c): the CSP forbids
 * inline style attributes, so a legend swatch coloured inline would render black. */
struct series {
    const char *key, *label;
};

static const struct series series[] = {
    {"received", "received"},
    {"sent", "sent"},
    {"published", "published here"},
    {"refused", "refused"},
};

enum { CHART_Y_TICKS = 4, CHART_X_TICK_MIN = 15 };

static long long count_at(const json_t *minutes, size_t i, const char *key)
{
    return (long long)json_integer_value(json_object_get(json_array_get(minutes, i), key));
}

static long long peak(const json_t *minutes)
{
    long long top = 1;
    for (size_t i = 0; i < json_array_size(minutes); i++)
        for (size_t s = 0; s < sizeof series / sizeof series[0]; s++)
            if (count_at(minutes, i, series[s].key) > top)
                top = count_at(minutes, i, series[s].key);
    return top;
}

static void polyline(struct console_page *p, const json_t *minutes, const struct series *s,
                     long long top)
{
    const size_t n = json_array_size(minutes);
    const double w = CHART_W - 2 * CHART_PAD, h = CHART_H - 2 * CHART_PAD;
    fprintf(p->f, "<polyline class=\"series-%s\" fill=\"none\" stroke-width=\"2\" points=\"",
            s->key);
    for (size_t i = 0; i < n; i++)
        fprintf(p->f, "%.1f,%.1f ", CHART_PAD + (n > 1 ? w * (double)i / (double)(n - 1) : 0),
                CHART_PAD + h - h * (double)count_at(minutes, i, s->key) / (double)top);
    fputs("\"/>\n", p->f);
}

/* Horizontal grid lines with counts, so a reader sees the scale without hovering. */
static void y_ticks(struct console_page *p, long long top)
{
    const double h = CHART_H - 2 * CHART_PAD;
    for (int t = 0; t <= CHART_Y_TICKS; t++) {
        const double y = CHART_PAD + h - h * t / CHART_Y_TICKS;
        fprintf(p->f, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#e3e6ec\"/>"
                      "<text x=\"%d\" y=\"%.1f\" font-size=\"11\" text-anchor=\"end\">%lld</text>",
                CHART_PAD, y, CHART_W - CHART_PAD, y, CHART_PAD - 4, y + 4,
                top * t / CHART_Y_TICKS);
    }
}

/* A tick every CHART_X_TICK_MIN minutes, labelled by its age ("-45 min"); the newest is "now",
 * and the UTC time of the oldest and newest minute sit under the axis. */
static void x_ticks(struct console_page *p, const json_t *minutes)
{
    const size_t n = json_array_size(minutes);
    const double w = CHART_W - 2 * CHART_PAD;
    const int y = CHART_H - CHART_PAD;
    for (size_t i = 0; n > 1 && i < n; i++) {
        const size_t age = n - 1 - i;
        if (age % CHART_X_TICK_MIN)
            continue;
        const double x = CHART_PAD + w * (double)i / (double)(n - 1);
        fprintf(p->f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#8a93a6\"/>",
                x, y, x, y + 4);
        if (age)
            fprintf(p->f, "<text x=\"%.1f\" y=\"%d\" font-size=\"11\" text-anchor=\"middle\">"
                          "-%zu min</text>", x, y + 16, age);
        else
            fprintf(p->f, "<text x=\"%.1f\" y=\"%d\" font-size=\"11\" text-anchor=\"middle\">"
                          "now</text>", x, y + 16);
    }
    char first[TIMEFMT_RFC3339_LEN + 1] = "", last[TIMEFMT_RFC3339_LEN + 1] = "";
    if (n) {
        timefmt_format((uint64_t)count_at(minutes, 0, "start_ms"), first);
        timefmt_format((uint64_t)count_at(minutes, n - 1, "start_ms"), last);
    }
    fprintf(p->f, "<text x=\"%d\" y=\"%d\" font-size=\"11\">%s</text>"
                  "<text x=\"%d\" y=\"%d\" font-size=\"11\" text-anchor=\"end\">%s</text>",
            CHART_PAD, y + 30, first, CHART_W - CHART_PAD, y + 30, last);
}

static void axes(struct console_page *p, const json_t *minutes, long long top)
{
    y_ticks(p, top);
    fprintf(p->f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#8a93a6\"/>"
                  "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#8a93a6\"/>",
            CHART_PAD, CHART_H - CHART_PAD, CHART_W - CHART_PAD, CHART_H - CHART_PAD, CHART_PAD,
            CHART_PAD, CHART_PAD, CHART_H - CHART_PAD);
    fprintf(p->f, "<text x=\"%d\" y=\"%d\" font-size=\"11\">records per minute</text>\n",
            CHART_PAD, CHART_PAD - 10);
    x_ticks(p, minutes);
}

static void chart(struct console_page *p, const json_t *minutes)
{
    const long long top = peak(minutes);
    fprintf(p->f, "<svg id=\"activity\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
                  "height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\"><title>records per "
                  "minute</title>\n",
            CHART_W, CHART_H, CHART_W, CHART_H);
    axes(p, minutes, top);
    for (size_t s = 0; s < sizeof series / sizeof series[0]; s++)
        polyline(p, minutes, &series[s], top);
    fputs("</svg>\n<p class=\"legend\">", p->f);
    for (size_t s = 0; s < sizeof series / sizeof series[0]; s++)
        fprintf(p->f, "<span class=\"series-%s\">&#9632;</span>%s ", series[s].key,
                series[s].label);
    fputs("(per minute)</p>\n", p->f);
}

static void totals(struct console_page *p, const json_t *minutes)
{
    fprintf(p->f, "<table id=\"activity-totals\"><caption>last %d minutes</caption><thead><tr>",
            LIMIT_ACTIVITY_MINUTES);
    for (size_t s = 0; s < sizeof series / sizeof series[0]; s++)
        fprintf(p->f, "<th>%s</th>", series[s].label);
    fputs("</tr></thead><tbody><tr>", p->f);
    for (size_t s = 0; s < sizeof series / sizeof series[0]; s++) {
        long long sum = 0;
        for (size_t i = 0; i < json_array_size(minutes); i++)
            sum += count_at(minutes, i, series[s].key);
        fprintf(p->f, "<td>%lld</td>", sum);
    }
    fputs("</tr></tbody></table>\n", p->f);
}

int console_activity_page(struct console_req *r)
{
    json_t *status = console_status(r);
    if (!status)
        return console_error(r, 500, "the node's status could not be read");
    const json_t *minutes = json_object_get(status, "activity");
    struct console_page p;
    int rc = console_page_begin(&p, &r->who, "Activity");
    if (rc == CONSOLE_OK) {
        if (!json_is_array(minutes))
            fputs("<p class=\"note\">this node's status has no activity figures</p>\n", p.f);
        chart(&p, minutes); /* an absent array draws empty axes */
        totals(&p, minutes);
        rc = console_page_end(&p, r->resp, 200);
    }
    json_decref(status);
    return rc;
}
