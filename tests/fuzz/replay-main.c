/* SPDX-License-Identifier: MIT */
/*
 * replay-main.c - runs a libFuzzer harness without libFuzzer: every file named on
 * the command line, or every file in a directory named there, is handed to
 * LLVMFuzzerTestOneInput() once. `make test` builds each harness with this driver
 * (gcc, and again under ASan+UBSan) and replays its checked-in corpus, so a
 * harness's invariants keep holding on the seeds and on every input a fuzzing run
 * once found (tests/fuzz/corpus/<name>/). Exit 0, or 1 when an input cannot be read;
 * a broken invariant aborts.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "buf.h"
#include "rootfs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REPLAY_MAX (1u << 20) /* inputs are small; a larger file is a mistake */

static int
replay_file(const char *path, unsigned *count)
{
    struct buf b;
    int r;

    buf_init(&b, REPLAY_MAX);
    r = root_read_buf(NULL, path, &b);
    if (r < 0) {
        fprintf(stderr, "replay: %s: %s\n", path, strerror(-r));
        buf_free(&b);
        return -1;
    }
    (void)LLVMFuzzerTestOneInput((const uint8_t *)b.data, b.len);
    buf_free(&b);
    (*count)++;
    return 0;
}

int
main(int argc, char **argv)
{
    unsigned count = 0;
    int failed = 0;

    for (int i = 1; i < argc; i++) {
        struct stat st;
        DIR *d;
        struct dirent *e;

        if (stat(argv[i], &st) < 0) {
            fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
            failed = 1;
            continue;
        }
        if (!S_ISDIR(st.st_mode)) {
            failed |= replay_file(argv[i], &count) < 0;
            continue;
        }
        d = opendir(argv[i]);
        if (!d) {
            fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
            failed = 1;
            continue;
        }
        while ((e = readdir(d))) {
            char path[4096];
            if (e->d_name[0] == '.')
                continue;
            if ((size_t)snprintf(path, sizeof(path), "%s/%s", argv[i], e->d_name) >=
                sizeof(path)) {
                failed = 1;
                continue;
            }
            failed |= replay_file(path, &count) < 0;
        }
        closedir(d);
    }
    printf("replayed %u input(s)\n", count);
    return failed || count == 0 ? 1 : 0;
}
