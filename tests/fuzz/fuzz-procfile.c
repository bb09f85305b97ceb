/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness: the generic proc-file reader (buffer size from the first
 * byte, so over-long lines are exercised), the blank splitter, the "Key: value
 * unit" splitter and the vmstat line parser.
 */
#include <stdint.h>
#include <string.h>

#include "expo-parse.h"
#include "expo.h"
#include "fuzz-common.h"
#include "parsers.h"
#include "procfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char buf[300], copy[300], name[EXPO_NAME_MAX + 1], *line, *f[8], *k, *v, *u;
    struct procfile pf;
    size_t len, cap;
    double d;
    int fd;

    if (size < 1)
        return 0;
    cap = 2 + data[0] % (sizeof(buf) - 2);
    fd = fuzz_memfd(data + 1, size - 1);
    if (fd < 0)
        return 0;
    procfile_init(&pf, buf, cap);
    procfile_fdopen(&pf, fd);
    while (procfile_next(&pf, &line, &len) > 0) {
        size_t nf, n;

        FUZZ_ASSERT(len < cap && strlen(line) == len);
        memcpy(copy, line, len + 1);
        nf = procfile_split(copy, f, 8);
        FUZZ_ASSERT(nf <= len / 2 + 1); /* fields are separated by blanks */
        for (size_t i = 0; i < MIN(nf, (size_t)8); i++)
            FUZZ_ASSERT(f[i][0] != '\0' && !strpbrk(f[i], " \t"));
        memcpy(copy, line, len + 1);
        if (procfile_key_value(copy, &k, &v, &u) < 0) {
            /* not a "key: value unit" line: refused, no crash */
        }
        memcpy(copy, line, len + 1);
        if (vmstat_parse_line(copy, name, sizeof(name), &d) == 0) {
            FUZZ_ASSERT(strncmp(name, "node_vmstat_", 12) == 0);
            FUZZ_ASSERT(expo_valid_metric_name(name, strlen(name)));
        }
        n = procfile_copy_line(copy, sizeof(copy), line);
        FUZZ_ASSERT(n <= len && n == strlen(copy));
    }
    procfile_close(&pf);
    return 0;
}
