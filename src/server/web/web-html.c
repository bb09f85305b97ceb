/* SPDX-License-Identifier: MIT */
/*
 * web-html.c - HTML escaping, number and time formatting, the page chrome
 * (responsive CSS, no JavaScript) and inline SVG sparklines.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "web-internal.h"

int
html_escape(struct buf *b, const char *s)
{
    const char *run = s;
    int r;

    if (!s)
        return 0;
    for (const char *p = s; *p; p++) {
        const char *ent;

        switch (*p) {
        case '&':
            ent = "&amp;";
            break;
        case '<':
            ent = "&lt;";
            break;
        case '>':
            ent = "&gt;";
            break;
        case '"':
            ent = "&quot;";
            break;
        case '\'':
            ent = "&#39;";
            break;
        default:
            continue;
        }
        r = buf_append(b, run, (size_t)(p - run));
        if (r < 0)
            return r;
        r = buf_puts(b, ent);
        if (r < 0)
            return r;
        run = p + 1;
    }
    return buf_puts(b, run);
}

int
url_escape(struct buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    int r = 0;

    if (!s)
        return 0;
    for (const unsigned char *p = (const unsigned char *)s; *p && r >= 0; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '_' || *p == '.' || *p == '~') {
            r = buf_putc(b, (char)*p);
        } else {
            char e[3] = {'%', hex[*p >> 4], hex[*p & 15]};

            r = buf_append(b, e, 3);
        }
    }
    return r;
}

void
fmt_duration(char out[32], double s)
{
    if (isnan(s) || s < 0) {
        (void)snprintf(out, 32, "-");
        return;
    }
    uint64_t t = (uint64_t)(s + 0.5);
    if (t >= 86400)
        (void)snprintf(out, 32, "%llud %lluh", (unsigned long long)(t / 86400),
                       (unsigned long long)(t % 86400 / 3600));
    else if (t >= 3600)
        (void)snprintf(out, 32, "%lluh %02llum", (unsigned long long)(t / 3600),
                       (unsigned long long)(t % 3600 / 60));
    else if (t >= 60)
        (void)snprintf(out, 32, "%llum %02llus", (unsigned long long)(t / 60),
                       (unsigned long long)(t % 60));
    else if (s >= 1 || s == 0)
        (void)snprintf(out, 32, "%llus", (unsigned long long)t);
    else if (s >= 0.01)
        (void)snprintf(out, 32, "%.0f ms", s * 1000);
    else if (s >= 0.001)
        (void)snprintf(out, 32, "%.1f ms", s * 1000);
    else
        (void)snprintf(out, 32, "%.2f ms", s * 1000); /* a loopback or LAN poll: not "0 ms" */
}

void
fmt_bytes(char out[32], double v)
{
    static const char *const unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    size_t u = 0;

    if (isnan(v)) {
        (void)snprintf(out, 32, "-");
        return;
    }
    double a = fabs(v);
    while (a >= 1024 && u + 1 < ARRAY_SIZE(unit)) {
        a /= 1024;
        v /= 1024;
        u++;
    }
    if (u == 0)
        (void)snprintf(out, 32, "%.0f B", v);
    else
        (void)snprintf(out, 32, "%.1f %s", v, unit[u]);
}

void
fmt_time(char out[32], int64_t t_ms)
{
    struct tm tm;
    time_t t = (time_t)(t_ms / 1000);

    if (t_ms <= 0 || !gmtime_r(&t, &tm) || strftime(out, 32, "%Y-%m-%d %H:%M UTC", &tm) == 0)
        (void)snprintf(out, 32, "-");
}

void
fmt_value(char out[32], double v)
{
    if (isnan(v))
        (void)snprintf(out, 32, "-");
    else
        (void)snprintf(out, 32, "%.4g", v);
}

/* Small, phone-first stylesheet; status is always a text label, colour only adds to it. */
static const char css[] =
    "*{box-sizing:border-box}"
    "body{font:15px/1.4 system-ui,-apple-system,'Segoe UI',sans-serif;margin:0;color:#1b1f24;"
    "background:#f6f7f9}"
    "header{background:#24292f;color:#fff;padding:.5em 1em;display:flex;flex-wrap:wrap;"
    "gap:.3em 1.2em;align-items:baseline}"
    "header a{color:#fff;text-decoration:none}header .brand{font-weight:700;font-size:1.15em}"
    "main{padding:.6em 1em;max-width:1200px;margin:auto}"
    "h1{font-size:1.35em;margin:.4em 0}h2{font-size:1.1em;margin:1.2em 0 .4em}"
    "table{border-collapse:collapse;width:100%;background:#fff}"
    "th,td{text-align:left;padding:.35em .5em;border-bottom:1px solid #d8dee4;"
    "vertical-align:top}"
    "th{font-size:.85em;color:#57606a}"
    ".scroll{overflow-x:auto}table.farm td:first-child{white-space:nowrap}"
    ".badge{display:inline-block;padding:0 .45em;border-radius:.3em;font-size:.8em;"
    "font-weight:700;border:1px solid #8c959f;margin:1px;white-space:nowrap}"
    ".bad{background:#ffebe9;border-color:#cf222e;color:#a40e26}"
    ".warn{background:#fff8c5;border-color:#bf8700;color:#7d4e00}"
    ".good{background:#dafbe1;border-color:#1a7f37;color:#116329}"
    ".muted{color:#57606a}"
    ".ranges a,.ranges span{margin-right:.6em}.ranges span{font-weight:700}"
    ".charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(420px,100%),1fr));gap:."
    "8em}"
    ".charts figure{margin:0;background:#fff;border:1px solid #d8dee4;padding:.3em}"
    ".charts img{width:100%;height:auto;display:block}"
    "svg.spark{display:block}"
    "ul.reasons{margin:0;padding-left:1.1em}"
    "pre{white-space:pre-wrap;word-break:break-all;font-size:.8em;background:#fff;"
    "border:1px solid #d8dee4;padding:.5em}"
    "form.range{display:flex;flex-wrap:wrap;gap:.4em;align-items:end;margin:.4em 0}"
    "footer{padding:1em;font-size:.8em;color:#57606a;text-align:center}"
    "@media (max-width:640px){.wide{display:none}body{font-size:14px}main{padding:.4em}"
    "svg.spark{width:96px;height:auto}th,td{padding:.3em .3em}"
    /* the farm table as one card per device, every cell labelled: no sideways scrolling */
    "table.farm thead{display:none}table.farm tr{display:block;border-bottom:1px solid #d8dee4;"
    "padding:.3em 0}table.farm td{display:block;border:0;padding:.1em .3em}"
    "table.farm td[data-label]::before{content:attr(data-label) \": \";color:#57606a;"
    "font-size:.85em}table.farm svg.spark{display:inline-block;vertical-align:middle}}";

const char *
html_css(void)
{
    return css;
}

int
html_page_begin(struct buf *b, const struct html_page *p)
{
    int r =
        buf_puts(b, "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
                    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    if (r >= 0 && p->refresh > 0)
        r = buf_printf(b, "<meta http-equiv=\"refresh\" content=\"%u\">\n", p->refresh);
    if (r >= 0)
        r = buf_puts(b, "<title>");
    if (r >= 0)
        r = html_escape(b, p->title);
    if (r >= 0)
        r = buf_puts(b, " - soak</title>\n<style>");
    if (r >= 0)
        r = buf_puts(b, css);
    if (r >= 0)
        r = buf_puts(b, "</style></head>\n<body><header><a class=\"brand\" href=\"/\">soak</a>"
                        "<a href=\"/\">farm</a><a href=\"/builds\">builds</a>"
                        "<a href=\"/api/v1/devices\">API</a>");
    if (r >= 0 && p->refresh > 0 && p->refresh_off_url) {
        r = buf_printf(b, "<a href=\"");
        if (r >= 0)
            r = html_escape(b, p->refresh_off_url);
        if (r >= 0)
            r = buf_printf(b, "\">auto refresh %us: stop</a>", p->refresh);
    } else if (r >= 0 && p->refresh == 0 && p->refresh_on_url) {
        r = buf_printf(b, "<a href=\"");
        if (r >= 0)
            r = html_escape(b, p->refresh_on_url);
        if (r >= 0)
            r = buf_puts(b, "\">auto refresh: off (turn on)</a>");
    }
    if (r >= 0)
        r = buf_puts(b, "</header>\n<main>\n");
    return r;
}

int
html_page_end(struct buf *b)
{
    return buf_printf(b, "</main>\n<footer>soak %s</footer>\n</body></html>\n", SOAK_VERSION);
}

int
html_badge(struct buf *b, const char *cls, const char *label)
{
    int r = buf_puts(b, "<span class=\"badge ");

    if (r >= 0)
        r = html_escape(b, cls);
    if (r >= 0)
        r = buf_puts(b, "\">");
    if (r >= 0)
        r = html_escape(b, label);
    if (r >= 0)
        r = buf_puts(b, "</span>");
    return r;
}

size_t
samples_minmax(const struct sample *s, size_t n, int64_t from_ms, int64_t to_ms, size_t buckets,
               struct sample *out)
{
    size_t k = 0;
    size_t i = 0;

    if (buckets == 0 || to_ms <= from_ms)
        return 0;
    while (i < n && s[i].t_ms < from_ms)
        i++;
    double span = (double)(to_ms - from_ms);
    while (i < n && s[i].t_ms <= to_ms) {
        size_t bk = (size_t)((double)(s[i].t_ms - from_ms) / span * (double)buckets);
        if (bk >= buckets)
            bk = buckets - 1;
        const struct sample *lo = NULL, *hi = NULL;
        for (; i < n && s[i].t_ms <= to_ms; i++) {
            size_t bi = (size_t)((double)(s[i].t_ms - from_ms) / span * (double)buckets);
            if (bi >= buckets)
                bi = buckets - 1;
            if (bi != bk)
                break;
            if (isnan(s[i].v))
                continue;
            if (!lo || s[i].v < lo->v)
                lo = &s[i];
            if (!hi || s[i].v > hi->v)
                hi = &s[i];
        }
        if (!lo)
            continue;
        if (lo == hi) {
            out[k++] = *lo;
        } else if (lo->t_ms <= hi->t_ms) {
            out[k++] = *lo;
            out[k++] = *hi;
        } else {
            out[k++] = *hi;
            out[k++] = *lo;
        }
    }
    return k;
}

int
html_sparkline(struct buf *b, const struct sample *s, size_t n, int64_t from_ms, int64_t to_ms,
               double ymin, double ymax, unsigned w, unsigned h, const char *title)
{
    int r = buf_printf(b,
                       "<svg class=\"spark\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%u\" "
                       "height=\"%u\" viewBox=\"0 0 %u %u\" role=\"img\"><title>",
                       w, h, w, h);
    if (r >= 0)
        r = html_escape(b, title);
    if (r >= 0)
        r = buf_printf(b,
                       "</title><rect x=\"0.5\" y=\"0.5\" width=\"%u\" height=\"%u\" "
                       "fill=\"#fff\" stroke=\"#d8dee4\"/>",
                       w - 1, h - 1);
    if (r < 0)
        return r;

    double lo = ymin, hi = ymax;
    size_t shown = 0;
    double lx = 0, ly = 0;
    if (isnan(lo) || isnan(hi)) {
        double dlo = INFINITY, dhi = -INFINITY;
        for (size_t i = 0; i < n; i++) {
            if (s[i].t_ms < from_ms || s[i].t_ms > to_ms || isnan(s[i].v))
                continue;
            dlo = fmin(dlo, s[i].v);
            dhi = fmax(dhi, s[i].v);
        }
        if (isnan(lo))
            lo = dlo;
        if (isnan(hi))
            hi = dhi;
    }
    if (to_ms > from_ms && isfinite(lo) && isfinite(hi)) {
        if (hi <= lo) {
            hi = lo + 1;
            lo = lo - 1;
        }
        double xs = (double)(w - 4) / (double)(to_ms - from_ms);
        double ys = (double)(h - 4) / (hi - lo);
        for (size_t i = 0; i < n && r >= 0; i++) {
            if (s[i].t_ms < from_ms || s[i].t_ms > to_ms || isnan(s[i].v))
                continue;
            double x = 2 + (double)(s[i].t_ms - from_ms) * xs;
            double y = (double)h - 2 - (s[i].v - lo) * ys;
            lx = x;
            ly = y;
            r = buf_printf(b, "%s%.1f,%.1f",
                           shown == 0 ? "<polyline fill=\"none\" "
                                        "stroke=\"#0969da\" stroke-width=\"1.5\" "
                                        "points=\""
                                      : " ",
                           x, y);
            shown++;
        }
        if (r >= 0 && shown > 0)
            r = buf_puts(b, "\"/>");
        if (r >= 0 && shown == 1)
            r = buf_printf(b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2\" fill=\"#0969da\"/>", lx, ly);
    }
    if (r >= 0 && shown == 0)
        r = buf_printf(b,
                       "<text x=\"%u\" y=\"%u\" font-size=\"11\" text-anchor=\"middle\" "
                       "fill=\"#57606a\">no data</text>",
                       w / 2, h / 2 + 4);
    if (r >= 0)
        r = buf_puts(b, "</svg>");
    return r;
}
