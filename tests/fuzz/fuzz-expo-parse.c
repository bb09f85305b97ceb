/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness: exposition text (Prometheus 0.0.4 / OpenMetrics) through the
 * streaming parser, fed in two pieces at a split point taken from the input, with
 * small limits; every sample goes through the canonical key and back through the key
 * helpers. The parser must never crash, hang or read out of bounds, and what it
 * reports must be consistent: sample names are valid metric names, and the canonical
 * key of a sample parses back (expo_series_parse) to the same name and labels.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "expo-parse.h"
#include "fuzz-common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Does the parsed key carry label name=value (values non-empty, as the key drops empty ones)? */
static int
series_has(const struct expo_series *ks, const char *name, const char *value)
{
    for (size_t j = 0; j < ks->n; j++)
        if (strcmp(ks->labels[j].name, name) == 0)
            return strcmp(ks->labels[j].value, value) == 0;
    return 0;
}

static int
on_sample(void *ctx, const struct expo_parsed_sample *s)
{
    struct buf *key = ctx;
    char name[256], val[300];
    struct expo_series ks;
    size_t nonempty = 0;
    int r;

    FUZZ_ASSERT(expo_valid_metric_name(s->name, strlen(s->name)));
    for (size_t i = 0; i < s->n; i++)
        FUZZ_ASSERT(expo_valid_label_name(s->labels[i].name, strlen(s->labels[i].name)));
    r = expo_canonical_key(s->name, s->labels, s->n, key);
    if (r == -EINVAL || r == -E2BIG)
        return 0; /* duplicate label is reported by the parser first; E2BIG is the cap */
    if (r < 0)
        return r;
    if (expo_key_name(buf_str(key), name, sizeof(name)) >= 0)
        FUZZ_ASSERT(strcmp(name, s->name) == 0);
    for (size_t i = 0; i < s->n; i++) {
        if (!s->labels[i].value[0])
            continue;
        nonempty++;
        r = expo_key_label(buf_str(key), s->labels[i].name, val, sizeof(val));
        FUZZ_ASSERT(r != -ENOENT);
        if (r >= 0)
            FUZZ_ASSERT(strcmp(val, s->labels[i].value) == 0);
    }
    /* Round trip: the canonical key parses back to the same series. */
    r = expo_series_parse(buf_str(key), &ks);
    FUZZ_ASSERT(r == 0 || r == -ENOMEM);
    if (r == 0) {
        FUZZ_ASSERT(strcmp(ks.name, s->name) == 0);
        FUZZ_ASSERT(ks.n == nonempty);
        for (size_t i = 0; i < s->n; i++)
            if (s->labels[i].value[0])
                FUZZ_ASSERT(series_has(&ks, s->labels[i].name, s->labels[i].value));
        expo_series_done(&ks);
    }
    return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct buf key;
    struct expo_parse_opts o = {
        .max_line = 512,
        .max_label_value = 64,
        .max_labels = 8,
        .on_sample = on_sample,
    };
    struct expo_parser *p = NULL;
    size_t split;
    char *text;
    struct expo_series s;

    if (size == 0)
        return 0;
    o.format = (enum expo_parse_format)(data[0] % 3);
    split = size > 1 ? data[1] % size : 0;
    buf_init(&key, 1024);
    o.ctx = &key;
    if (expo_parser_new(&o, &p) == 0) {
        if (expo_parser_feed(p, (const char *)data, split) == 0 &&
            expo_parser_feed(p, (const char *)data + split, size - split) == 0 &&
            expo_parser_finish(p) < 0) {
            /* a bad document: what counts is that the parser says so without crashing */
        }
        FUZZ_ASSERT(expo_parser_errline(p) <= expo_parser_lines(p) + 1);
        expo_parser_free(p);
    }
    buf_free(&key);
    text = malloc(size + 1);
    if (text) {
        memcpy(text, data, size);
        text[size] = '\0';
        if (expo_series_parse(text, &s) == 0) {
            FUZZ_ASSERT(!s.name[0] || expo_valid_metric_name(s.name, strlen(s.name)));
            for (size_t i = 0; i < s.n; i++)
                FUZZ_ASSERT(expo_valid_label_name(s.labels[i].name, strlen(s.labels[i].name)));
            expo_series_done(&s);
        }
        free(text);
    }
    return 0;
}
