/* SPDX-License-Identifier: MIT */
/*
 * test-plot.c - the cairo plotter: downsampling, ticks, PNG/SVG output read back.
 */
#include <cairo.h>
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "plot-internal.h"
#include "plot.h"

#define T0 1763164800000LL /* 2025-11-15 00:00:00 UTC */
#define MIN_MS 60000LL
#define DAY_MS (86400LL * 1000)

struct cols {
    struct plot_column c[4096];
    size_t n;
};

static void
collect(void *ctx, const struct plot_column *c)
{
    struct cols *cs = ctx;
    if (cs->n < ARRAY_SIZE(cs->c))
        cs->c[cs->n++] = *c;
}

static struct plot_point *
flat_series(size_t n, double v, int64_t step_ms)
{
    struct plot_point *p = calloc(n, sizeof(*p));
    assert_non_null(p);
    for (size_t i = 0; i < n; i++) {
        p[i].t_ms = T0 + (int64_t)i * step_ms;
        p[i].v = v;
    }
    return p;
}

static void
test_format_from_path(void **state)
{
    (void)state;
    assert_int_equal(plot_format_from_path("a.png"), PLOT_PNG);
    assert_int_equal(plot_format_from_path("dir.x/a.SVG"), PLOT_SVG);
    assert_int_equal(plot_format_from_path("a.jpg"), _PLOT_FORMAT_INVALID);
    assert_int_equal(plot_format_from_path("png"), _PLOT_FORMAT_INVALID);
    assert_int_equal(plot_format_from_path(NULL), _PLOT_FORMAT_INVALID);
}

static void
test_downsample_keeps_spike(void **state)
{
    (void)state;
    size_t n = 22 * 1440;
    struct plot_point *p = flat_series(n, 100.0, MIN_MS);
    struct plot_area a = {
        .x = 0, .y = 0, .w = 800, .h = 300, .from_ms = T0, .to_ms = T0 + (int64_t)(n - 1) * MIN_MS};
    struct cols *cs = calloc(1, sizeof(*cs));
    size_t total = 0, emitted;
    int spike_seen = 0;

    assert_non_null(cs);
    p[12345].v = 1000.0;
    emitted = plot_downsample(p, n, &a, 0, collect, cs);
    assert_int_equal(emitted, cs->n);
    assert_true(cs->n <= 801);
    assert_true(cs->n >= 790);
    for (size_t i = 0; i < cs->n; i++) {
        total += cs->c[i].n;
        if (cs->c[i].max == 1000.0) {
            spike_seen++;
            assert_true(cs->c[i].min == 100.0);
        }
        if (i > 0) {
            assert_true(cs->c[i].col > cs->c[i - 1].col);
            assert_false(cs->c[i].starts_segment);
        }
    }
    assert_true(cs->c[0].starts_segment);
    assert_int_equal(total, n);
    assert_int_equal(spike_seen, 1);
    free(cs);
    free(p);
}

static void
test_downsample_gap_and_window(void **state)
{
    (void)state;
    size_t n = 1000;
    struct plot_point *p = flat_series(n, 5.0, MIN_MS);
    struct cols *cs = calloc(1, sizeof(*cs));
    struct plot_area a = {
        .w = 100, .h = 100, .from_ms = T0 + 100 * MIN_MS, .to_ms = T0 + 199 * MIN_MS};
    size_t segs = 0, total = 0;

    assert_non_null(cs);
    /* A 2-hour outage: samples 150..269 missing. */
    for (size_t i = 150; i < n; i++)
        p[i].t_ms += 120 * MIN_MS;
    p[120].v = NAN;
    (void)plot_downsample(p, n, &a, 5 * MIN_MS, collect, cs);
    for (size_t i = 0; i < cs->n; i++) {
        segs += (size_t)cs->c[i].starts_segment;
        total += cs->c[i].n;
    }
    /* start, after the NaN, after the gap */
    assert_int_equal(segs, 3);
    /* samples 99..149 (with the left neighbour; NaN skipped) and the right neighbour */
    assert_int_equal(total, 51 - 1 + 1);
    free(cs);
    free(p);
}

static void
test_time_ticks(void **state)
{
    int64_t t[PLOT_MAX_TICKS], step;
    size_t n;
    char label[32];

    (void)state;
    n = plot_time_ticks(T0, T0 + 22 * DAY_MS, 10, &step, t);
    assert_int_equal(step, 7 * DAY_MS);
    assert_true(n >= 3 && n <= 10);
    n = plot_time_ticks(T0, T0 + 22 * DAY_MS, 30, &step, t);
    assert_int_equal(step, DAY_MS);
    assert_int_equal(n, 23);
    assert_int_equal(t[0], T0);
    plot_time_label(t[1], step, label, sizeof(label));
    assert_string_equal(label, "Nov 16");
    n = plot_time_ticks(T0 + 90 * MIN_MS, T0 + 7 * 60 * MIN_MS, 6, &step, t);
    assert_int_equal(step, 60 * MIN_MS);
    assert_int_equal(t[0], T0 + 120 * MIN_MS);
    plot_time_label(t[0], step, label, sizeof(label));
    assert_string_equal(label, "02:00");
    plot_time_label(T0, step, label, sizeof(label));
    assert_string_equal(label, "Nov 15");
    assert_int_equal(plot_time_ticks(T0, T0, 6, &step, t), 0);
}

static void
test_nice_range(void **state)
{
    double lo, hi, step, div;
    char label[32];

    (void)state;
    plot_nice_range(0, 230428.0 * 1024, 5, PLOT_Y_BYTES, &lo, &hi, &step, &div);
    assert_true(div == 1024.0 * 1024);
    assert_true(lo == 0);
    assert_true(hi >= 230428.0 * 1024 && hi <= 260.0 * 1024 * 1024);
    assert_true(step == 50.0 * 1024 * 1024);
    plot_value_label(150.0 * 1024 * 1024, div, step, PLOT_Y_BYTES, NULL, label, sizeof(label));
    assert_string_equal(label, "150 MiB");
    plot_nice_range(18.2, 24.9, 4, PLOT_Y_PLAIN, &lo, &hi, &step, &div);
    assert_true(div == 1);
    assert_true(step == 2.0);
    assert_true(lo == 18.0 && hi == 26.0);
    plot_value_label(20, div, 2.5, PLOT_Y_PLAIN, "°C", label, sizeof(label));
    assert_string_equal(label, "20.0 °C");
    /* degenerate: one value */
    plot_nice_range(7, 7, 4, PLOT_Y_PLAIN, &lo, &hi, &step, &div);
    assert_true(lo < 7 && hi > 7 && step > 0);
    plot_nice_range(NAN, 1, 4, PLOT_Y_PLAIN, &lo, &hi, &step, &div);
    assert_true(hi > lo);
}

struct readback {
    const char *data;
    size_t len, off;
};

static cairo_status_t
read_cb(void *closure, unsigned char *data, unsigned int len)
{
    struct readback *r = closure;
    if (r->off + len > r->len)
        return CAIRO_STATUS_READ_ERROR;
    memcpy(data, r->data + r->off, len);
    r->off += len;
    return CAIRO_STATUS_SUCCESS;
}

static cairo_surface_t *
png_read(const struct buf *b)
{
    struct readback r = {.data = b->data, .len = b->len};
    cairo_surface_t *s = cairo_image_surface_create_from_png_stream(read_cb, &r);
    assert_int_equal(cairo_surface_status(s), CAIRO_STATUS_SUCCESS);
    return s;
}

static uint32_t
pixel(cairo_surface_t *s, int x, int y)
{
    const unsigned char *d = cairo_image_surface_get_data(s);
    int stride = cairo_image_surface_get_stride(s);
    uint32_t px;
    memcpy(&px, d + (size_t)y * (size_t)stride + (size_t)x * 4, 4);
    return px & 0xffffff;
}

/* Colour is "near" target when each channel is within tol. */
static int
near_rgb(uint32_t a, uint32_t b, int tol)
{
    for (int sh = 0; sh <= 16; sh += 8) {
        int ca = (int)((a >> sh) & 0xff), cb = (int)((b >> sh) & 0xff);
        if (abs(ca - cb) > tol)
            return 0;
    }
    return 1;
}

static void
test_png_line_pixels(void **state)
{
    size_t n = 22 * 1440;
    struct plot_point *p = flat_series(n, 50.0, MIN_MS);
    struct plot_line line = {
        .label = "flat", .pts = p, .n = n, .rgb = 0x0000ff, .style = PLOT_SOLID, .width = 3};
    struct plot_pane pane = {
        .title = "test", .y_min = 0, .y_max = 100, .lines = &line, .n_lines = 1};
    struct plot_mark mark = {.t_ms = T0 + 10 * DAY_MS, .kind = PLOT_MARK_REBOOT};
    struct plot_figure fig = {.title = "pixels",
                              .width = 640,
                              .height = 300,
                              .panes = &pane,
                              .n_panes = 1,
                              .marks = &mark,
                              .n_marks = 1};
    struct plot_area a;
    struct buf b;
    cairo_surface_t *s;
    int hits = 0, tries = 0;
    double py;

    (void)state;
    buf_init(&b, 16 << 20);
    assert_int_equal(plot_render_buf(&fig, PLOT_PNG, &b), 0);
    assert_true(b.len > 100);
    assert_memory_equal(b.data, "\x89PNG", 4);
    s = png_read(&b);
    assert_int_equal(cairo_image_surface_get_width(s), 640);
    assert_int_equal(cairo_image_surface_get_height(s), 300);
    assert_int_equal(plot_layout(&fig, 0, &a), 0);
    py = plot_area_y(&a, 50.0);
    assert_true(py > a.y && py < a.y + a.h);
    for (int x = (int)a.x + 5; x < (int)(a.x + a.w) - 5; x += 7) {
        int xm = (int)plot_area_x(&a, mark.t_ms);
        if (abs(x - xm) < 4)
            continue;
        tries++;
        if (near_rgb(pixel(s, x, (int)py), 0x0000ff, 40))
            hits++;
    }
    assert_true(tries > 50);
    assert_int_equal(hits, tries);
    /* Well above the line, inside the area: background, not blue. */
    assert_false(near_rgb(pixel(s, (int)(a.x + a.w / 3), (int)(a.y + a.h / 4) + 1), 0x0000ff, 80));
    cairo_surface_destroy(s);
    buf_free(&b);
    free(p);
}

static void
test_png_spike_visible(void **state)
{
    size_t n = 22 * 1440;
    struct plot_point *p = flat_series(n, 10.0, MIN_MS);
    struct plot_line line = {
        .label = "spiky", .pts = p, .n = n, .rgb = 0xff0000, .style = PLOT_SOLID, .width = 1};
    struct plot_pane pane = {.y_min = 0, .y_max = 100, .lines = &line, .n_lines = 1};
    struct plot_figure fig = {.width = 500, .height = 250, .panes = &pane, .n_panes = 1};
    struct plot_area a;
    struct buf b;
    cairo_surface_t *s;
    int x, found = 0;

    (void)state;
    p[20000].v = 90.0;
    buf_init(&b, 16 << 20);
    assert_int_equal(plot_render_buf(&fig, PLOT_PNG, &b), 0);
    s = png_read(&b);
    assert_int_equal(plot_layout(&fig, 0, &a), 0);
    x = (int)plot_area_x(&a, p[20000].t_ms);
    for (int dx = -1; dx <= 1; dx++)
        if (pixel(s, x + dx, (int)plot_area_y(&a, 80.0)) != 0xffffff)
            found = 1;
    assert_true(found);
    cairo_surface_destroy(s);
    buf_free(&b);
    free(p);
}

static void
test_svg_paths(void **state)
{
    struct plot_point *p = flat_series(3000, 1e8, MIN_MS);
    struct plot_point *q = flat_series(3000, 5e7, MIN_MS);
    struct plot_line lines[2] = {
        {.label = "MemTotal", .pts = p, .n = 3000, .rgb = 0x800080, .style = PLOT_SOLID},
        {.label = "MemAvailable", .pts = q, .n = 3000, .rgb = 0x0000ff, .style = PLOT_DASHED},
    };
    struct plot_projection proj = {.t0_ms = T0 + 2999 * MIN_MS,
                                   .v0 = 5e7,
                                   .t1_ms = T0 + 3500 * MIN_MS,
                                   .v1 = 0,
                                   .label = "exhaustion"};
    struct plot_pane pane = {.title = "memory",
                             .yfmt = PLOT_Y_BYTES,
                             .y_min = NAN,
                             .y_max = NAN,
                             .zero_based = 1,
                             .lines = lines,
                             .n_lines = 2,
                             .proj = &proj,
                             .n_proj = 1};
    struct plot_figure fig = {.title = "svg",
                              .width = 800,
                              .height = 360,
                              .panes = &pane,
                              .n_panes = 1,
                              .from_ms = T0,
                              .to_ms = T0 + 3600 * MIN_MS};
    struct buf b;
    const char *s;

    (void)state;
    buf_init(&b, 16 << 20);
    assert_int_equal(plot_render_buf(&fig, PLOT_SVG, &b), 0);
    s = buf_str(&b);
    assert_non_null(strstr(s, "<svg"));
    assert_non_null(strstr(s, "width=\"800"));
    assert_non_null(strstr(s, "height=\"360"));
    assert_non_null(strstr(s, "<path"));
    /* the two series strokes (cairo writes colours as percentages) */
    assert_non_null(strstr(s, "rgb(50.196078%, 0%, 50.196078%)")
                        ? strstr(s, "rgb(50.196078%, 0%, 50.196078%)")
                        : strstr(s, "rgb(50.196078%,0%,50.196078%)"));
    assert_true(strstr(s, "rgb(0%, 0%, 100%)") || strstr(s, "rgb(0%,0%,100%)"));
    /* the dashed style of MemAvailable */
    assert_non_null(strstr(s, "stroke-dasharray"));
    /* text is drawn as glyphs, and given as text in <title> and <desc> */
    assert_non_null(strstr(s, "glyph"));
    assert_non_null(strstr(s, "<title>svg</title>"));
    assert_non_null(strstr(s, "<desc>memory: MemTotal, MemAvailable, exhaustion</desc>"));
    assert_true(strstr(s, "<title>") > strstr(s, "<svg"));
    buf_free(&b);
    free(p);
    free(q);
}

static void
test_empty_and_single(void **state)
{
    struct plot_point one = {.t_ms = T0, .v = 42};
    struct plot_line line = {.label = "one", .pts = &one, .n = 1, .rgb = 0x00a000};
    struct plot_line none = {.label = "none", .pts = NULL, .n = 0, .rgb = 0x00a000};
    struct plot_pane panes[2] = {
        {.lines = &line, .n_lines = 1, .y_min = NAN, .y_max = NAN},
        {.lines = &none, .n_lines = 1, .y_min = NAN, .y_max = NAN},
    };
    struct plot_figure fig = {.width = 400, .height = 300, .panes = panes, .n_panes = 2};
    struct plot_figure empty = {.panes = &panes[1], .n_panes = 1};
    struct plot_area a;
    struct buf b;
    cairo_surface_t *s;
    int found = 0;

    (void)state;
    buf_init(&b, 16 << 20);
    assert_int_equal(plot_render_buf(&fig, PLOT_PNG, &b), 0);
    s = png_read(&b);
    assert_int_equal(plot_layout(&fig, 0, &a), 0);
    assert_true(a.from_ms < T0 && a.to_ms > T0);
    for (int dx = -2; dx <= 2; dx++)
        for (int dy = -2; dy <= 2; dy++)
            if (near_rgb(pixel(s, (int)plot_area_x(&a, T0) + dx, (int)plot_area_y(&a, 42) + dy),
                         0x00a000, 90))
                found = 1;
    assert_true(found);
    cairo_surface_destroy(s);
    buf_reset(&b);
    assert_int_equal(plot_render_buf(&empty, PLOT_PNG, &b), 0);
    s = png_read(&b);
    assert_int_equal(cairo_image_surface_get_width(s), 900);
    cairo_surface_destroy(s);
    buf_reset(&b);
    assert_int_equal(plot_render_buf(&empty, PLOT_SVG, &b), 0);
    buf_free(&b);
}

static void
test_errors(void **state)
{
    struct plot_line line = {.label = NULL};
    struct plot_pane pane = {.lines = &line, .n_lines = 1};
    struct plot_figure fig = {.width = 10, .height = 10, .panes = &pane, .n_panes = 1};
    struct plot_line ok_line = {.label = "x"};
    struct plot_pane ok_pane = {.lines = &ok_line, .n_lines = 1, .y_min = NAN, .y_max = NAN};
    struct plot_figure ok = {.panes = &ok_pane, .n_panes = 1};
    struct buf b;
    char err[128];

    (void)state;
    assert_int_equal(plot_check(&fig, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "size"));
    fig.width = 300;
    fig.height = 200;
    assert_int_equal(plot_check(&fig, err, sizeof(err)), -EINVAL);
    fig.n_panes = 0;
    assert_int_equal(plot_check(&fig, err, sizeof(err)), -EINVAL);
    assert_int_equal(plot_render_file(&ok, "/tmp/x.jpg"), -EINVAL);
    /* A cap too small for the image: -E2BIG, buffer untouched. */
    buf_init(&b, 64);
    assert_int_equal(buf_puts(&b, "keep"), 0);
    assert_int_equal(plot_render_buf(&ok, PLOT_PNG, &b), -E2BIG);
    assert_string_equal(buf_str(&b), "keep");
    buf_free(&b);
    assert_true(plot_render_file(&ok, "/nonexistent-dir/x.png") < 0);
}

static void
test_render_file(void **state)
{
    char dir[] = "/tmp/test-plot-XXXXXX", path[256], cmd[300];
    struct plot_point pts[3] = {{T0, 1}, {T0 + MIN_MS, 2}, {T0 + 2 * MIN_MS, 3}};
    struct plot_line line = {.label = "x", .pts = pts, .n = 3, .rgb = 0};
    struct plot_pane pane = {.lines = &line, .n_lines = 1, .y_min = NAN, .y_max = NAN};
    struct plot_figure fig = {.width = 300, .height = 200, .panes = &pane, .n_panes = 1};
    cairo_surface_t *s;

    (void)state;
    assert_non_null(mkdtemp(dir));
    (void)snprintf(path, sizeof(path), "%s/out.png", dir);
    assert_int_equal(plot_render_file(&fig, path), 0);
    s = cairo_image_surface_create_from_png(path);
    assert_int_equal(cairo_surface_status(s), CAIRO_STATUS_SUCCESS);
    assert_int_equal(cairo_image_surface_get_height(s), 200);
    cairo_surface_destroy(s);
    (void)snprintf(path, sizeof(path), "%s/out.svg", dir);
    assert_int_equal(plot_render_file(&fig, path), 0);
    assert_int_equal(access(path, R_OK), 0);
    (void)snprintf(cmd, sizeof(cmd), "test $(ls %s | wc -l) -eq 2 && rm -rf %s", dir, dir);
    assert_int_equal(system(cmd), 0);
}

/*
 * fontconfig (under cairo's text drawing) keeps a few allocations for the life of
 * the process by design; LeakSanitizer reads this hook and ignores them.
 */
const char *__lsan_default_suppressions(void);
const char *
__lsan_default_suppressions(void)
{
    return "leak:libfontconfig.so\n";
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format_from_path),
        cmocka_unit_test(test_downsample_keeps_spike),
        cmocka_unit_test(test_downsample_gap_and_window),
        cmocka_unit_test(test_time_ticks),
        cmocka_unit_test(test_nice_range),
        cmocka_unit_test(test_png_line_pixels),
        cmocka_unit_test(test_png_spike_visible),
        cmocka_unit_test(test_svg_paths),
        cmocka_unit_test(test_empty_and_single),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_render_file),
    };
    int r = cmocka_run_group_tests(tests, NULL, NULL);

    cairo_debug_reset_static_data();
    return r;
}
