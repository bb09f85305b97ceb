/* SPDX-License-Identifier: MIT */
/*
 * collect-root - tests-only driver: run every default-on collector (or the ones
 * named) once on ROOT and print the exposition, then one line per failed
 * collector on stderr ("collector NAME: error"). Exit 0.
 * Usage: collect-root ROOT [NAME...]
 */
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "collector.h"
#include "expo.h"

static int
wanted(const struct collector_ops *o, int argc, char **argv)
{
    if (argc <= 2)
        return !(o->flags & COLLECTOR_DEFAULT_OFF);
    for (int i = 2; i < argc; i++)
        if (strcmp(argv[i], o->name) == 0)
            return 1;
    return 0;
}

int
main(int argc, char **argv)
{
    struct buf out;

    if (argc < 2) {
        (void)fprintf(stderr, "usage: collect-root ROOT [NAME...]\n");
        return 2;
    }
    buf_init(&out, 16 * 1024 * 1024);
    for (size_t i = 0; collector_registry[i]; i++) {
        const struct collector_ops *o = collector_registry[i];
        struct expo_writer w;
        void *ctx = NULL;
        int r;

        if (!wanted(o, argc, argv))
            continue;
        if (o->init(&ctx) < 0)
            return 1;
        r = o->start ? o->start(ctx, argv[1]) : 0;
        buf_reset(&out);
        expo_writer_init(&w, &out, EXPO_PROMETHEUS);
        if (r == 0)
            r = o->read(ctx, argv[1], &w);
        (void)fwrite(buf_str(&out), 1, out.len, stdout);
        if (r < 0)
            (void)fprintf(stderr, "collector %s: %s\n", o->name, strerror(-r));
        o->fini(ctx);
    }
    buf_free(&out);
    return 0;
}
