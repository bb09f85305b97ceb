/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness: what a dashboard request carries. The input is split on
 * newlines into a URL path, range, from, to, a Cookie header and a name, and
 * each goes through the parsers of src/server/web/web-query.c and the escapers
 * of web-html.c. Checks: no crash, bounded outputs, consistent results.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "fuzz-common.h"
#include "web-internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char text[8192], cookie[64];
    char *field[6] = {NULL};
    struct web_route rt;
    struct web_range rg;
    char err[200];
    int64_t t;
    struct buf b;

    fuzz_cstr(text, sizeof(text), data, size);
    field[0] = text;
    for (size_t i = 1; i < 6 && field[i - 1]; i++) {
        char *nl = strchr(field[i - 1], '\n');
        if (nl) {
            *nl = '\0';
            field[i] = nl + 1;
        }
    }
    web_route(field[0], &rt);
    /* Every route but the ones without a name in the path carries a valid name. */
    FUZZ_ASSERT(rt.kind == ROUTE_NOT_FOUND || rt.kind == ROUTE_FARM || rt.kind == ROUTE_STYLE ||
                rt.kind == ROUTE_BUILDS || rt.kind == ROUTE_API_DEVICES ||
                rt.kind == ROUTE_API_BUILDS || rt.kind == ROUTE_API_ALERTS ||
                rt.kind == ROUTE_API_NOT_FOUND || web_name_valid(rt.name));
    if (web_range_parse(field[1], field[2], field[3], 1764165780000LL, &rg, err, sizeof(err)) ==
        0) {
        FUZZ_ASSERT(rg.from_ms < rg.to_ms);
        FUZZ_ASSERT((double)(rg.to_ms - rg.from_ms) <= WEB_RANGE_MAX_S * 1000);
    }
    if (field[2] && web_time_parse(field[2], &t) == 0)
        FUZZ_ASSERT(t >= 0);
    if (field[1] && web_duration_parse(field[1], &t) == 0)
        FUZZ_ASSERT(t > 0);
    if (field[4] && web_cookie_get(field[4], "soak_token", cookie, sizeof(cookie)))
        FUZZ_ASSERT(strlen(cookie) < sizeof(cookie) && strlen(cookie) <= strlen(field[4]));
    (void)web_metric_valid(field[5]);
    (void)web_token_equal(field[5], "s3cret");

    buf_init(&b, 1 << 16);
    if (html_escape(&b, field[0]) == 0) {
        /* No raw markup characters, and nothing dropped: at least as long as the input. */
        FUZZ_ASSERT(strpbrk(buf_str(&b), "<>\"'") == NULL);
        FUZZ_ASSERT(b.len >= strlen(field[0]));
    }
    buf_reset(&b);
    if (url_escape(&b, field[0]) == 0) {
        FUZZ_ASSERT(strpbrk(buf_str(&b), " /?&#<>\"'") == NULL);
        FUZZ_ASSERT(b.len >= strlen(field[0]));
    }
    buf_free(&b);
    return 0;
}
