/* SPDX-License-Identifier: MIT */
/* libFuzzer harness: /proc/meminfo text through the bounded line reader and the line parser. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>

#include "expo-parse.h"
#include "expo.h"
#include "fuzz-common.h"
#include "parsers.h"
#include "procfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char buf[512], name[EXPO_NAME_MAX + 1], *line;
    struct procfile pf;
    size_t len;
    double v;
    int fd = fuzz_memfd(data, size);

    if (fd < 0)
        return 0;
    procfile_init(&pf, buf, sizeof(buf));
    procfile_fdopen(&pf, fd);
    while (procfile_next(&pf, &line, &len) > 0) {
        if (meminfo_parse_line(line, name, sizeof(name), &v) == 0) {
            FUZZ_ASSERT(strncmp(name, "node_memory_", 12) == 0);
            FUZZ_ASSERT(expo_valid_metric_name(name, strlen(name)));
            FUZZ_ASSERT(isfinite(v) && v >= 0); /* a u64 count, scaled by 1024 at most */
        }
    }
    procfile_close(&pf);
    return 0;
}
