/* SPDX-License-Identifier: MIT */
#include "emit.h"

#include "buf.h"
#include "procfile.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"

/* base + "_total" into out; the family name in Prometheus text. */
static int
total_name(char out[EXPO_NAME_MAX + 1], const char *base)
{
    if (str_concat(out, EXPO_NAME_MAX + 1, base, "_total", NULL) < 0)
        return -ENAMETOOLONG;
    return 0;
}

int
emit_counter_family(struct expo_writer *w, const char *base, const char *help)
{
    char name[EXPO_NAME_MAX + 1];
    int r;

    if (w->format == EXPO_OPENMETRICS)
        return expo_family(w, base, METRIC_COUNTER, help);
    r = total_name(name, base);
    if (r < 0)
        return r;
    return expo_family(w, name, METRIC_COUNTER, help);
}

int
emit_counter_sample(struct expo_writer *w, const char *base, const struct expo_label *labels,
                    size_t nlabels, double value)
{
    char name[EXPO_NAME_MAX + 1];
    int r = total_name(name, base);

    if (r < 0)
        return r;
    return expo_sample(w, name, labels, nlabels, value);
}

int
emit_counter(struct expo_writer *w, const char *base, const char *help,
             const struct expo_label *labels, size_t nlabels, double value)
{
    int r = emit_counter_family(w, base, help);

    if (r < 0)
        return r;
    return emit_counter_sample(w, base, labels, nlabels, value);
}

int
emit_gauge_labels(struct expo_writer *w, const char *name, const char *help,
                  const struct expo_label *labels, size_t nlabels, double value)
{
    int r = expo_family(w, name, METRIC_GAUGE, help);

    if (r < 0)
        return r;
    return expo_sample(w, name, labels, nlabels, value);
}

/* The table has a power-of-two number of slots, at least twice max: probes stay short. */
int
emit_nameset_init(struct emit_nameset *s, size_t max)
{
    size_t slots = 16;

    while (slots < 2 * max)
        slots *= 2;
    s->n = 0;
    s->max = max;
    s->slots = slots;
    s->hashes = calloc(slots, sizeof(*s->hashes));
    s->used = calloc(max ? max : 1, sizeof(*s->used));
    if (!s->hashes || !s->used) {
        emit_nameset_free(s);
        return -ENOMEM;
    }
    return 0;
}

int
emit_nameset_add(struct emit_nameset *s, const char *name)
{
    uint64_t h = fnv1a(name) | 1; /* 0 marks a free slot */
    size_t i = (size_t)h & (s->slots - 1);

    while (s->hashes[i]) {
        if (s->hashes[i] == h)
            return 0;
        i = (i + 1) & (s->slots - 1);
    }
    if (s->n >= s->max)
        return -E2BIG;
    s->hashes[i] = h;
    s->used[s->n++] = (uint32_t)i;
    return 1;
}

void
emit_nameset_reset(struct emit_nameset *s)
{
    for (size_t k = 0; k < s->n; k++)
        s->hashes[s->used[k]] = 0;
    s->n = 0;
}

void
emit_nameset_free(struct emit_nameset *s)
{
    free(s->hashes);
    free(s->used);
    s->hashes = NULL;
    s->used = NULL;
    s->n = s->max = s->slots = 0;
}

int
emit_fields_file(struct procfile *pf, struct procfile_keep *keep, struct emit_nameset *seen,
                 const char *root,
                 const struct emit_fields_spec *spec, struct expo_writer *w)
{
    char *line, name[EXPO_NAME_MAX + 1], help[EXPO_NAME_MAX + 64];
    size_t len, plen = strlen(spec->prefix);
    int r, err = 0, fields = 0;

    emit_nameset_reset(seen);
    r = keep ? procfile_open_keep(pf, keep, root, spec->path) : procfile_open(pf, root, spec->path);
    if (r < 0)
        return r;
    while ((r = procfile_next(pf, &line, &len)) > 0) {
        double v;

        if (len == 0)
            continue;
        if (spec->parse_line(line, name, sizeof(name), &v) < 0) {
            err = -EINVAL;
            continue;
        }
        if (spec->wanted && !spec->wanted(spec->wanted_ctx, name + plen))
            continue;
        if (emit_nameset_add(seen, name) <= 0)
            continue; /* duplicate field or too many: first one wins */
        (void)str_concat(help, sizeof(help), spec->help, name + plen, ".", NULL);
        (void)expo_single(w, name, spec->type, help, v);
        fields++;
    }
    if (r < 0)
        err = r;
    if (pf->long_lines)
        err = -EINVAL;
    procfile_close(pf);
    if (err == 0 && fields == 0)
        err = -ENODATA;
    if (expo_error(w))
        return expo_error(w);
    return err;
}
