/* SPDX-License-Identifier: MIT */
/* libFuzzer harness: /proc/slabinfo text, line by line, through slabinfo_parse_line. */
#include <stdint.h>
#include <string.h>

#include "fuzz-common.h"
#include "parsers.h"
#include "procfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char buf[1024], *line;
    struct procfile pf;
    size_t len;
    int fd = fuzz_memfd(data, size);

    if (fd < 0)
        return 0;
    procfile_init(&pf, buf, sizeof(buf));
    procfile_fdopen(&pf, fd);
    while (procfile_next(&pf, &line, &len) > 0) {
        struct slabinfo_entry e;

        if (slabinfo_parse_line(line, &e) == 1) {
            /* the name is the first field: non-empty, cut to the buffer, no longer than the line */
            FUZZ_ASSERT(strlen(e.name) < sizeof(e.name));
            FUZZ_ASSERT(e.name[0] != '\0' && strlen(e.name) <= len);
            FUZZ_ASSERT(!strpbrk(e.name, " \t"));
        }
    }
    procfile_close(&pf);
    return 0;
}
