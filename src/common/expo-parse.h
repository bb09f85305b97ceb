/* SPDX-License-Identifier: MIT */
/*
 * expo-parse.h - THE exposition-text parser: Prometheus text 0.0.4 and
 * OpenMetrics 1.0, streaming and bounded. Everybody who reads exposition text
 * (the poller, `soak import`, tests) goes through it.
 *
 * Feed it bytes in pieces of any size; it calls a callback per sample and per
 * family directive (# TYPE, # HELP, # UNIT). A line longer than max_line, a
 * label value longer than max_label_value or more than max_labels labels is
 * refused with -E2BIG; a malformed line with -EINVAL. Either way the parser
 * stops, and expo_parser_errline()/expo_parser_errmsg() say where and why.
 *
 * Format: EXPO_PARSE_AUTO decides from the text: "# EOF", "# UNIT", an
 * OpenMetrics-only type (unknown, stateset, info, gaugehistogram) or a
 * timestamp with a fraction or exponent mean OpenMetrics; an integer timestamp
 * >= 1e11 means Prometheus text (milliseconds), one below means OpenMetrics
 * (seconds; 1e11 ms would be March 1973). Once decided it stays.
 *
 * Timestamps reach the callback in milliseconds since the epoch:
 * OpenMetrics seconds (decimal, converted exactly, rounded to the nearest ms),
 * Prometheus text integer milliseconds.
 *
 * An OpenMetrics stream must end with "# EOF" (expo_parser_finish() checks),
 * and nothing may follow it. Blank lines and unknown comments are skipped.
 * OpenMetrics exemplars ("... # {a="b"} 1") are skipped.
 */
#ifndef SOAK_EXPO_PARSE_H
#define SOAK_EXPO_PARSE_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "expo.h"
#include "macro.h"

#define EXPO_PARSE_LINE_MAX (1024 * 1024) /* default longest line, bytes */
#define EXPO_PARSE_VALUE_MAX (64 * 1024)  /* default longest label value, bytes (unescaped) */
#define EXPO_PARSE_LABELS_MAX 64          /* default most labels on one sample */

enum expo_parse_format {
    EXPO_PARSE_AUTO,
    EXPO_PARSE_PROMETHEUS,  /* text 0.0.4, integer millisecond timestamps */
    EXPO_PARSE_OPENMETRICS, /* OpenMetrics 1.0, second timestamps, # EOF */
};

/* One parsed sample. Pointers are valid only during the callback. */
struct expo_parsed_sample {
    const char *name;                /* metric name as written (e.g. "x_total") */
    const struct expo_label *labels; /* unescaped, in the order written */
    size_t n;                        /* number of labels */
    double value;                    /* NaN and +-Inf allowed */
    int has_ts;
    int64_t ts_ms;      /* valid when has_ts */
    unsigned long line; /* 1-based line number */
};

enum expo_directive {
    EXPO_DIR_TYPE,
    EXPO_DIR_HELP,
    EXPO_DIR_UNIT,
};

/* One "# TYPE" / "# HELP" / "# UNIT" line. Pointers valid during the callback only. */
struct expo_parsed_family {
    enum expo_directive kind;
    const char *name;
    const char *text;      /* type name as written, HELP text unescaped, or the unit */
    enum metric_type type; /* for TYPE: gauge, counter, else untyped */
    unsigned long line;
};

/* Callbacks: a negative return stops the parse and is returned by feed/finish. */
typedef int (*expo_sample_fn)(void *ctx, const struct expo_parsed_sample *s);
typedef int (*expo_family_fn)(void *ctx, const struct expo_parsed_family *f);

struct expo_parse_opts {
    enum expo_parse_format format;
    size_t max_line;          /* 0 = EXPO_PARSE_LINE_MAX */
    size_t max_label_value;   /* 0 = EXPO_PARSE_VALUE_MAX */
    size_t max_labels;        /* 0 = EXPO_PARSE_LABELS_MAX */
    expo_sample_fn on_sample; /* may be NULL */
    expo_family_fn on_family; /* may be NULL */
    void *ctx;
};

struct expo_parser;

/* Allocate a parser (opts is copied). 0 or -ENOMEM. */
_warn_unused_result_ int expo_parser_new(const struct expo_parse_opts *opts,
                                         struct expo_parser **ret);

/* Free; accepts NULL; returns NULL. */
struct expo_parser *expo_parser_free(struct expo_parser *p);

/*
 * Parse n more bytes. Complete lines are handled now, a trailing partial line is
 * kept (up to max_line) for the next call. 0, or the first error (parse error or a
 * callback's return); after an error every call returns it again.
 */
_warn_unused_result_ int expo_parser_feed(struct expo_parser *p, const char *data, size_t n);

/*
 * End of input: parses a last line without newline and, for OpenMetrics, checks
 * that "# EOF" was seen. 0 or error.
 */
_warn_unused_result_ int expo_parser_finish(struct expo_parser *p);

/* The format decided so far (EXPO_PARSE_AUTO if nothing told yet). */
enum expo_parse_format expo_parser_format(const struct expo_parser *p);

/* Line of the error (1-based), 0 if none; lines read so far otherwise via expo_parser_lines(). */
unsigned long expo_parser_errline(const struct expo_parser *p);
unsigned long expo_parser_lines(const struct expo_parser *p);

/* The error message without line number ("unterminated label value"), "" if none. */
const char *expo_parser_errmsg(const struct expo_parser *p);

/* Samples passed to on_sample so far. */
unsigned long expo_parser_samples(const struct expo_parser *p);

/*
 * Parse a whole buffer in one go: new + feed + finish + free. On error, when errbuf is
 * not NULL, writes "LINE: message" into it. 0 or error.
 */
_warn_unused_result_ int expo_parse_buffer(const struct expo_parse_opts *opts, const char *data,
                                           size_t n, char *errbuf, size_t errlen);

/*
 * Render the canonical series key of (name, labels) into out (reset first):
 * name{a="x",b="y"} with labels sorted by name, empty values dropped (as
 * Prometheus does), values escaped like the writer (\\, \", \n), no braces when
 * no label is left. The same series gives the same key whatever the label order.
 * 0, -EINVAL (bad name, duplicate label), -E2BIG (out's cap), -ENOMEM.
 */
_warn_unused_result_ int expo_canonical_key(const char *name, const struct expo_label *labels,
                                            size_t n, struct buf *out);

/* Copy the metric name of a key (before '{') into out. Length, -E2BIG or -EINVAL. */
_warn_unused_result_ int expo_key_name(const char *key, char *out, size_t n);

/*
 * Copy the unescaped value of label `label` of a key into out (NUL-terminated).
 * Length, -ENOENT when the key has no such label, -E2BIG when out is too small,
 * -EINVAL for a malformed key.
 */
_warn_unused_result_ int expo_key_label(const char *key, const char *label, char *out, size_t n);

/*
 * A series selector or key split up: "name{a="x",b="y"}" (the name may be
 * empty: "{a="x"}"). Storage is owned by the struct; free with expo_series_done().
 */
struct expo_series {
    char *name;
    struct expo_label *labels;
    size_t n;
    struct buf store; /* backing storage of name and labels */
};

/* Parse text into s (any label order, blanks allowed). 0, -EINVAL, -E2BIG, -ENOMEM. */
_warn_unused_result_ int expo_series_parse(const char *text, struct expo_series *s);
void expo_series_done(struct expo_series *s);

/* Valid metric name ([a-zA-Z_:][a-zA-Z0-9_:]*) / label name ([a-zA-Z_][a-zA-Z0-9_]*)? */
int expo_valid_metric_name(const char *s, size_t n);
int expo_valid_label_name(const char *s, size_t n);

#endif
