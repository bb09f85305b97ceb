/* SPDX-License-Identifier: MIT */
/* libFuzzer harness: os-release(5) text, line by line, through osrelease_parse_line. */
#include <stdint.h>
#include <string.h>

#include "fuzz-common.h"
#include "parsers.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char text[4096], key[32], value[64];
    char *p = text;

    fuzz_cstr(text, sizeof(text), data, size);
    while (p) {
        char *nl = strchr(p, '\n');

        if (nl)
            *nl = '\0';
        if (osrelease_parse_line(p, key, sizeof(key), value, sizeof(value)) == 1) {
            FUZZ_ASSERT(strlen(key) < sizeof(key) && strlen(value) < sizeof(value));
            /* a key is [A-Za-z_][A-Za-z0-9_]*; unquoting never lengthens the value */
            FUZZ_ASSERT(key[0] != '\0' && !(key[0] >= '0' && key[0] <= '9'));
            FUZZ_ASSERT(strspn(key, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                    "0123456789_") == strlen(key));
            FUZZ_ASSERT(strlen(key) + strlen(value) < strlen(p));
        }
        p = nl ? nl + 1 : NULL;
    }
    return 0;
}
