/* SPDX-License-Identifier: MIT */
/* soakd - the device agent (placeholder main until the daemon lands). */
#include <stdio.h>
#include <string.h>

#include "config.h"

int
main(int argc, char **argv)
{
    if (argc > 1 && (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0)) {
        (void)printf("soakd %s\n", SOAK_VERSION);
        return 0;
    }
    (void)fprintf(stderr, "soakd: daemon not built yet\n");
    return 1;
}
