/* SPDX-License-Identifier: MIT */
/* fuzz-common.h - helpers shared by the libFuzzer harnesses. */
#ifndef SOAK_FUZZ_COMMON_H
#define SOAK_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/*
 * An invariant of a parser's output: when cond is false, print it with file:line
 * to stderr and abort(), so libFuzzer records the input as a crash.
 */
#define FUZZ_ASSERT(cond)                                                                  \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            fprintf(stderr, "%s:%d: FUZZ_ASSERT(%s) failed\n", __FILE__, __LINE__, #cond); \
            abort();                                                                       \
        }                                                                                  \
    } while (0)

/* A memfd holding data, positioned at its start; -1 on failure. */
static inline int
fuzz_memfd(const uint8_t *data, size_t size)
{
    int fd = memfd_create("fuzz", MFD_CLOEXEC);
    size_t off = 0;

    if (fd < 0)
        return -1;
    while (off < size) {
        ssize_t n = write(fd, data + off, size - off);
        if (n <= 0) {
            close(fd);
            return -1;
        }
        off += (size_t)n;
    }
    if (lseek(fd, 0, SEEK_SET) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Copy data into a NUL-terminated buffer of size bytes (cut). Returns the length. */
static inline size_t
fuzz_cstr(char *dst, size_t size, const uint8_t *data, size_t n)
{
    if (n >= size)
        n = size - 1;
    memcpy(dst, data, n);
    dst[n] = '\0';
    return n;
}

#endif
