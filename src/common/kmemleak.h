/* SPDX-License-Identifier: MIT */
/*
 * kmemleak.h - THE parser of /sys/kernel/debug/kmemleak reports, shared by the
 * agent's kmemleak collector and `soak kmemleak`.
 *
 * A report is a list of records:
 *
 *   unreferenced object 0xffff00000246b6c0 (size 192):
 *     comm "systemd", pid 1, jiffies 4294893229 (age 12.345s)   <- "(age ...)" before ~6.5
 *     hex dump (first 32 bytes):
 *       02 00 00 00 ...  ................
 *     backtrace (crc 133687fb):                                  <- "backtrace:" before ~6.7
 *       [<000000005fe6d6b6>] kmemleak_alloc+0x38/0x44             <- or a bare "sym+off/len"
 *       kmem_cache_alloc_noprof+0x214/0x300
 *       prepare_creds+0x24/0x338
 *
 * The parser is streaming (feed any chunks, then finish) and bounded: it keeps
 * one line (longer lines are cut) and one record, and counts records into
 * caller-provided fixed-size group tables:
 *   - by backtrace: key = the kernel's crc when printed, else a hash of the
 *     frame symbols (without the [<addr>] part);
 *   - by allocation site: the first frame that is not an allocator frame
 *     (kmemleak_alloc, kmem_cache_alloc*, kmalloc*, kvmalloc*, ...), e.g.
 *     alloc_empty_file or prepare_creds; key = hash of (site, caller).
 * Records that do not fit a full table are counted in the table's "other"
 * totals. Nothing allocates; nothing logs.
 */
#ifndef SOAK_KMEMLEAK_H
#define SOAK_KMEMLEAK_H

#include <stddef.h>
#include <stdint.h>

#include "macro.h"

#define KMEMLEAK_SYM_MAX 64    /* bytes of one frame symbol kept, with the NUL */
#define KMEMLEAK_COMM_MAX 24   /* bytes of a comm kept (kernel comm is <= 15) */
#define KMEMLEAK_FRAMES_MAX 16 /* frames kept per record and per group */
#define KMEMLEAK_LINE_MAX 512  /* longest line kept; the rest of a longer line is ignored */

/* One group of unreferenced objects (same backtrace, or same allocation site). */
struct kmemleak_group {
    uint64_t key;                  /* crc (has_crc) or a hash of the frames / of site+caller */
    int has_crc;                   /* key is the kernel's backtrace crc */
    char site[KMEMLEAK_SYM_MAX];   /* allocation site without offset ("" if none found) */
    char caller[KMEMLEAK_SYM_MAX]; /* the frame after the site, without offset ("" if none) */
    char comm[KMEMLEAK_COMM_MAX];  /* comm of the first object seen */
    uint64_t objects;
    uint64_t bytes;
    uint64_t first_jiffies;                             /* smallest jiffies seen */
    uint64_t last_jiffies;                              /* largest jiffies seen */
    unsigned nframes;                                   /* frames kept in frames[] */
    char frames[KMEMLEAK_FRAMES_MAX][KMEMLEAK_SYM_MAX]; /* "sym+0x24/0x338", as printed */
};

/* A caller-owned, fixed-size table of groups. */
struct kmemleak_table {
    struct kmemleak_group *g; /* cap entries, owned by the caller */
    size_t cap;
    size_t n;               /* entries in use */
    uint64_t other_objects; /* objects that did not fit (table full) */
    uint64_t other_bytes;
};

/* The record being parsed (internal to the parser, visible for sizing). */
struct kmemleak_record {
    uint64_t size;
    uint64_t jiffies;
    int64_t pid;
    uint32_t crc;
    int has_crc;
    char comm[KMEMLEAK_COMM_MAX];
    unsigned nframes;
    char frames[KMEMLEAK_FRAMES_MAX][KMEMLEAK_SYM_MAX];
};

enum kmemleak_state {
    KMEMLEAK_ST_NONE,      /* before the first record */
    KMEMLEAK_ST_HEADER,    /* in a record, before "backtrace" */
    KMEMLEAK_ST_BACKTRACE, /* reading frames */
};

struct kmemleak_parser {
    struct kmemleak_table *by_trace; /* may be NULL */
    struct kmemleak_table *by_site;  /* may be NULL */
    enum kmemleak_state state;
    int in_record;
    struct kmemleak_record rec;
    char line[KMEMLEAK_LINE_MAX];
    size_t line_len;
    int line_cut;       /* the current line was longer than KMEMLEAK_LINE_MAX */
    uint64_t objects;   /* records counted */
    uint64_t bytes;     /* sum of their sizes */
    uint64_t bad_lines; /* lines that looked like a record part but did not parse */
    uint64_t first_jiffies;
    uint64_t last_jiffies;
};

/* Set up an empty table over cap caller-provided groups. */
void kmemleak_table_init(struct kmemleak_table *t, struct kmemleak_group *g, size_t cap);

/*
 * Set up a parser that counts into by_trace and/or by_site (either may be NULL).
 * The tables must outlive the parser's use.
 */
void kmemleak_parser_init(struct kmemleak_parser *p, struct kmemleak_table *by_trace,
                          struct kmemleak_table *by_site);

/* Feed len bytes of report text (any chunking). Never fails; returns 0. */
int kmemleak_parser_feed(struct kmemleak_parser *p, const char *data, size_t len);

/*
 * End of input: parse a last unterminated line and count the last record.
 * Returns the number of objects counted in total.
 */
uint64_t kmemleak_parser_finish(struct kmemleak_parser *p);

/* Sort a table by objects (then bytes) descending, ties by key. */
void kmemleak_table_sort(struct kmemleak_table *t);

/* Find a group by key; NULL when absent. */
const struct kmemleak_group *kmemleak_table_find(const struct kmemleak_table *t, uint64_t key);

/*
 * 1 when sym (with or without "+off/len") is an allocator frame that the
 * allocation site skips (kmemleak_alloc, kmem_cache_alloc_noprof, __kmalloc, ...).
 */
int kmemleak_is_allocator_frame(const char *sym);

/*
 * The kernel object type well known to be allocated at site ("alloc_empty_file"
 * -> "struct file", "prepare_creds" -> "struct cred"); NULL when unknown.
 */
const char *kmemleak_site_type(const char *site);

/* Copy the symbol of a frame without its "+off/len" into out (size outlen). */
void kmemleak_frame_symbol(const char *frame, char *out, size_t outlen);

#endif
