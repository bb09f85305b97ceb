/* SPDX-License-Identifier: MIT */
/* libFuzzer harness: one /dev/kmsg record (prefix parser and OOM-kill matcher). */
#include <stdint.h>
#include <string.h>

#include "fuzz-common.h"
#include "parsers.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char line[2048], comm[16];
    struct kmsg_record r;
    const char *text = line;
    uint64_t pid;

    fuzz_cstr(line, sizeof(line), data, size);
    if (kmsg_parse_record(line, &r) == 0) {
        FUZZ_ASSERT(r.level <= 7);
        /* text points into line, just past the ';' that ends the prefix */
        FUZZ_ASSERT(r.text > line && r.text <= line + strlen(line) && r.text[-1] == ';');
        FUZZ_ASSERT(line[0] >= '0' && line[0] <= '9');
        text = r.text;
    }
    if (kmsg_parse_oom_kill(text, &pid, comm, sizeof(comm)) == 1) {
        FUZZ_ASSERT(strlen(comm) < sizeof(comm));
        FUZZ_ASSERT(strstr(text, "Killed process ") != NULL);
    }
    return 0;
}
