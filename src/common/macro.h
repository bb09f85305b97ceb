/* SPDX-License-Identifier: MIT */
/*
 * macro.h - small helpers shared by every part of soak: cleanup attributes,
 * ownership hand-over, array sizes and the test-visibility switch.
 */
#ifndef SOAK_MACRO_H
#define SOAK_MACRO_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define _warn_unused_result_ __attribute__((warn_unused_result))
#define _unused_ __attribute__((unused))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _noreturn_ __attribute__((noreturn))
#define _cleanup_(f) __attribute__((cleanup(f)))

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

/* SOAK_STATIC is static in shipped code and visible to unit tests. */
#ifdef SOAK_UNIT_TEST
#define SOAK_STATIC
#else
#define SOAK_STATIC static
#endif

static inline void
freep(void *p)
{
    free(*(void **)p);
}

static inline void
fclosep(FILE **f)
{
    if (*f)
        (void)fclose(*f);
}

static inline void
closep(int *fd)
{
    if (*fd >= 0)
        (void)close(*fd);
}

#define _cleanup_free_ _cleanup_(freep)
#define _cleanup_fclose_ _cleanup_(fclosep)
#define _cleanup_close_ _cleanup_(closep)

/* Move a pointer out of a cleanup variable: the caller now owns it. */
#define TAKE_PTR(p)                                                                                \
    ({                                                                                             \
        __typeof__(p) _tp = (p);                                                                   \
        (p) = NULL;                                                                                \
        _tp;                                                                                       \
    })

#define TAKE_FD(fd)                                                                                \
    ({                                                                                             \
        int _tf = (fd);                                                                            \
        (fd) = -1;                                                                                 \
        _tf;                                                                                       \
    })

#endif
