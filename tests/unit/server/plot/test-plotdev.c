/* SPDX-License-Identifier: MIT */
/*
 * test-plotdev.c - panels built from a store: the simulated rock-pi-s's last
 * 8 days (the 6.17.6 boot that panicked and the one after) loaded into SQLite,
 * then each panel's figure checked (lines, colours, marks, spans, projection).
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "expo-parse.h"
#include "farm.h"
#include "plotdev.h"
#include "sim.h"
#include "store.h"

#define NOW 1764201600LL
#define DAY 86400LL

struct fixture {
    char dir[64];
    struct store *st;
};

struct loader {
    struct store *st;
    int64_t dev;
    struct buf key;
};

static int
on_sample(void *ctx, const struct expo_parsed_sample *s)
{
    struct loader *l = ctx;
    int r = expo_canonical_key(s->name, s->labels, s->n, &l->key);

    if (r < 0)
        return r;
    r = store_append(l->st, l->dev, buf_str(&l->key), s->ts_ms, s->value);
    return r < 0 ? r : 0;
}

static int
setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof(*fx));
    struct farm *f = NULL;
    char *text = NULL, spec[128], err[256];
    size_t len = 0;
    FILE *m;
    struct loader l = {0};
    struct expo_parse_opts o = {.on_sample = on_sample, .ctx = &l};

    assert_non_null(fx);
    (void)snprintf(fx->dir, sizeof(fx->dir), "/tmp/test-plotdev-XXXXXX");
    assert_non_null(mkdtemp(fx->dir));
    (void)snprintf(spec, sizeof(spec), "sqlite:%s/farm.db", fx->dir);
    assert_int_equal(store_open(spec, &fx->st, err, sizeof(err)), 0);
    assert_int_equal(farm_new(1, NOW, &f), 0);
    m = open_memstream(&text, &len);
    assert_non_null(m);
    assert_true(sim_history_write(f, 0, NOW - 8 * DAY, NOW, 300, m) > 0);
    assert_int_equal(fclose(m), 0);
    l.st = fx->st;
    buf_init(&l.key, 4096);
    assert_int_equal(store_device(fx->st, "rock-pi-s", 1, &l.dev), 0);
    assert_int_equal(store_begin(fx->st), 0);
    assert_int_equal(expo_parse_buffer(&o, text, len, err, sizeof(err)), 0);
    assert_int_equal(store_commit(fx->st), 0);
    buf_free(&l.key);
    free(text);
    farm_free(f);
    *state = fx;
    return 0;
}

static int
teardown(void **state)
{
    struct fixture *fx = *state;
    char cmd[128];

    fx->st = store_close(fx->st);
    (void)snprintf(cmd, sizeof(cmd), "rm -rf %s", fx->dir);
    assert_int_equal(system(cmd), 0);
    free(fx);
    return 0;
}

static const struct plot_pane *
pane(const struct plot_figure *f, size_t i)
{
    assert_true(i < f->n_panes);
    return &f->panes[i];
}

static int
has_mark(const struct plot_figure *f, enum plot_mark_kind k)
{
    for (size_t i = 0; i < f->n_marks; i++)
        if (f->marks[i].kind == k)
            return 1;
    return 0;
}

static void
test_memory(void **state)
{
    struct fixture *fx = *state;
    struct plotdev_opts o = {.width = 800, .height = 300};
    struct plotdev_fig *pf = NULL;
    const struct plot_figure *f;
    const struct plot_pane *p;

    assert_int_equal(plotdev_load(fx->st, "rock-pi-s", PLOTDEV_MEMORY, &o, &pf), 0);
    f = plotdev_figure(pf);
    assert_int_equal(plot_check(f, NULL, 0), 0);
    p = pane(f, 0);
    assert_int_equal(p->n_lines, 3);
    assert_string_equal(p->lines[0].label, "MemTotal");
    assert_int_equal(p->lines[0].rgb, 0x8000a0); /* purple */
    assert_string_equal(p->lines[1].label, "MemAvailable");
    assert_int_equal(p->lines[1].rgb, 0x1f5fd0); /* blue */
    assert_int_equal(p->lines[1].style, PLOT_DASHED);
    assert_string_equal(p->lines[2].label, "MemFree");
    assert_int_equal(p->lines[2].rgb, 0x2a9d2a); /* green */
    assert_int_equal(p->yfmt, PLOT_Y_BYTES);
    assert_true(p->lines[1].n > 2000);
    /* the panic and the reboot after it, from events derived on the fly */
    assert_true(has_mark(f, PLOT_MARK_PANIC));
    assert_true(has_mark(f, PLOT_MARK_REBOOT));
    assert_true(f->n_spans >= 1); /* the 3 minutes of reboot */
    /* the newest boot leaks: a projection to its exhaustion, after the last sample */
    assert_int_equal(p->n_proj, 1);
    assert_true(p->proj[0].t1_ms > NOW * 1000);
    assert_true(f->to_ms >= p->proj[0].t1_ms);
    assert_non_null(strstr(p->proj[0].label, "exhaustion"));
    assert_true(plotdev_samples(pf) > 4000);
    pf = plotdev_fig_free(pf);

    /* without the analysis: no projection, the range ends at the last sample */
    o.no_leak = 1;
    assert_int_equal(plotdev_load(fx->st, "rock-pi-s", PLOTDEV_MEMORY, &o, &pf), 0);
    f = plotdev_figure(pf);
    assert_int_equal(pane(f, 0)->n_proj, 0);
    assert_true(f->to_ms == NOW * 1000);
    pf = plotdev_fig_free(pf);
}

static void
test_other_panels(void **state)
{
    struct fixture *fx = *state;
    struct plotdev_opts o = {.from_ms = (NOW - 3 * DAY) * 1000, .to_ms = NOW * 1000};
    struct plotdev_fig *pf = NULL;
    const struct plot_figure *f;

    assert_int_equal(plotdev_load(fx->st, "rock-pi-s", PLOTDEV_SLAB, &o, &pf), 0);
    f = plotdev_figure(pf);
    assert_int_equal(pane(f, 0)->yfmt, PLOT_Y_BYTES);
    assert_true(pane(f, 0)->n_lines >= 3);
    /* filp holds most and grows ~20 MB/day */
    assert_int_equal(strncmp(pane(f, 0)->lines[0].label, "filp +", 6), 0);
    assert_non_null(strstr(pane(f, 0)->lines[0].label, "MiB/d"));
    pf = plotdev_fig_free(pf);

    assert_int_equal(plotdev_load(fx->st, "rock-pi-s", PLOTDEV_SENSORS, &o, &pf), 0);
    f = plotdev_figure(pf);
    assert_int_equal(f->n_panes, 3); /* temperature, humidity, light */
    assert_string_equal(pane(f, 0)->title, "temperature");
    assert_int_equal(pane(f, 0)->n_lines, 2);
    assert_string_equal(pane(f, 2)->unit, "lx");
    pf = plotdev_fig_free(pf);

    assert_int_equal(plotdev_load(fx->st, "rock-pi-s", PLOTDEV_LATENCY, &o, &pf), 0);
    f = plotdev_figure(pf);
    assert_string_equal(pane(f, 0)->unit, "ms");
    assert_true(pane(f, 0)->lines[0].pts[0].v > 1 && pane(f, 0)->lines[0].pts[0].v < 1000);
    assert_true(f->n_spans >= 1); /* soak_poll_up 0 while it rebooted */
    pf = plotdev_fig_free(pf);

    /* an empty range: figures without samples */
    o.from_ms = 1000;
    o.to_ms = 2000;
    assert_int_equal(plotdev_load(fx->st, "rock-pi-s", PLOTDEV_MEMORY, &o, &pf), 0);
    assert_int_equal(plotdev_samples(pf), 0);
    assert_int_equal(plot_check(plotdev_figure(pf), NULL, 0), 0);
    pf = plotdev_fig_free(pf);
}

static void
test_errors(void **state)
{
    struct fixture *fx = *state;
    struct plotdev_opts o = {0};
    struct plotdev_fig *pf = NULL;

    assert_int_equal(plotdev_load(fx->st, "nosuch", PLOTDEV_MEMORY, &o, &pf), -ENOENT);
    assert_int_equal(plotdev_load(fx->st, "rock-pi-s", _PLOTDEV_PANEL_INVALID, &o, &pf), -EINVAL);
    o.from_ms = 2000;
    o.to_ms = 1000;
    assert_int_equal(plotdev_load(fx->st, "rock-pi-s", PLOTDEV_MEMORY, &o, &pf), -EINVAL);
    assert_null(pf);
    assert_int_equal(plotdev_panel_from_name("slab"), PLOTDEV_SLAB);
    assert_int_equal(plotdev_panel_from_name("cpu"), _PLOTDEV_PANEL_INVALID);
    assert_string_equal(plotdev_panel_name(PLOTDEV_LATENCY), "latency");
    assert_null(plotdev_fig_free(NULL));
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
        cmocka_unit_test(test_memory),
        cmocka_unit_test(test_other_panels),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
