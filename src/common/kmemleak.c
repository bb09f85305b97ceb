/* SPDX-License-Identifier: MIT */
#include "kmemleak.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "parse.h"

/*
 * Frames that belong to the allocator rather than to the code that asked for
 * memory. Matched as prefixes of the symbol; a trailing "_noprof" changes nothing.
 */
static const char *const allocator_prefixes[] = {
    "kmemleak_",
    "kmem_cache_alloc",
    "__kmem_cache_alloc",
    "kmem_cache_zalloc",
    "kmalloc",
    "__kmalloc",
    "kvmalloc",
    "__kvmalloc",
    "kvzalloc",
    "kzalloc",
    "kcalloc",
    "krealloc",
    "__krealloc",
    "kvrealloc",
    "kmemdup",
    "kstrdup",
    "kstrndup",
    "kvmemdup",
    "slab_alloc",
    "slab_post_alloc_hook",
    "__slab_alloc",
    "___slab_alloc",
    "new_slab",
    "allocate_slab",
    "__alloc_pages",
    "alloc_pages",
    "__alloc_frozen_pages",
    "alloc_frozen_pages",
    "__get_free_pages",
    "get_zeroed_page",
    "vmalloc",
    "__vmalloc",
    "vzalloc",
    "pcpu_alloc",
    "__alloc_percpu",
    "mempool_alloc",
    "alloc_slab_obj_exts",
    "__do_kmalloc_node",
    "kmalloc_node",
    "kmalloc_trace",
};

struct site_type {
    const char *site;
    const char *type;
};

/* Well-known allocation sites and the object they allocate. */
static const struct site_type site_types[] = {
    {"alloc_empty_file", "struct file"},
    {"alloc_empty_file_noaccount", "struct file"},
    {"alloc_file", "struct file"},
    {"alloc_file_pseudo", "struct file"},
    {"prepare_creds", "struct cred"},
    {"prepare_kernel_cred", "struct cred"},
    {"prepare_exec_creds", "struct cred"},
    {"copy_creds", "struct cred"},
    {"groups_alloc", "struct group_info"},
    {"__arm64_sys_setgroups", "struct group_info"},
    {"__x64_sys_setgroups", "struct group_info"},
    {"__do_sys_setgroups", "struct group_info"},
    {"alloc_bprm", "struct linux_binprm"},
    {"alloc_pid", "struct pid"},
    {"__d_alloc", "struct dentry"},
    {"d_alloc", "struct dentry"},
    {"alloc_inode", "struct inode"},
    {"new_inode", "struct inode"},
    {"getname_flags", "struct filename"},
    {"getname", "struct filename"},
    {"vm_area_alloc", "struct vm_area_struct"},
    {"vm_area_dup", "struct vm_area_struct"},
    {"anon_vma_alloc", "struct anon_vma"},
    {"anon_vma_clone", "struct anon_vma_chain"},
    {"anon_vma_fork", "struct anon_vma_chain"},
    {"dup_task_struct", "struct task_struct"},
    {"alloc_vfsmnt", "struct mount"},
    {"sk_prot_alloc", "struct sock"},
    {"__alloc_skb", "struct sk_buff"},
    {"kernfs_new_node", "struct kernfs_node"},
    {"__kernfs_new_node", "struct kernfs_node"},
    {"alloc_fdtable", "struct fdtable"},
    {"dup_fd", "struct files_struct"},
    {"mm_alloc", "struct mm_struct"},
    {"dup_mm", "struct mm_struct"},
    {"copy_fs_struct", "struct fs_struct"},
    {"copy_sighand", "struct sighand_struct"},
    {"copy_signal", "struct signal_struct"},
    {"alloc_buffer_head", "struct buffer_head"},
    {"mas_alloc_nodes", "struct maple_node"},
    {"mt_alloc_one", "struct maple_node"},
    {"bpf_prog_alloc", "struct bpf_prog"},
    {"copy_verifier_state", "struct bpf_verifier_state"},
};

int
kmemleak_is_allocator_frame(const char *sym)
{
    for (size_t i = 0; i < ARRAY_SIZE(allocator_prefixes); i++) {
        size_t n = strlen(allocator_prefixes[i]);
        if (strncmp(sym, allocator_prefixes[i], n) == 0)
            return 1;
    }
    return 0;
}

const char *
kmemleak_site_type(const char *site)
{
    char base[KMEMLEAK_SYM_MAX];
    size_t n;

    if (!site)
        return NULL;
    kmemleak_frame_symbol(site, base, sizeof(base));
    /* Compiler clones: "foo.isra.0", "foo.constprop.0" are foo. */
    n = strcspn(base, ".");
    base[n] = '\0';
    for (size_t i = 0; i < ARRAY_SIZE(site_types); i++)
        if (strcmp(base, site_types[i].site) == 0)
            return site_types[i].type;
    return NULL;
}

void
kmemleak_frame_symbol(const char *frame, char *out, size_t outlen)
{
    size_t n = strcspn(frame, "+ \t");

    if (outlen == 0)
        return;
    if (n >= outlen)
        n = outlen - 1;
    memcpy(out, frame, n);
    out[n] = '\0';
}

void
kmemleak_table_init(struct kmemleak_table *t, struct kmemleak_group *g, size_t cap)
{
    t->g = g;
    t->cap = cap;
    t->n = 0;
    t->other_objects = 0;
    t->other_bytes = 0;
}

void
kmemleak_parser_init(struct kmemleak_parser *p, struct kmemleak_table *by_trace,
                     struct kmemleak_table *by_site)
{
    memset(p, 0, sizeof(*p));
    p->by_trace = by_trace;
    p->by_site = by_site;
    p->state = KMEMLEAK_ST_NONE;
}

static uint64_t
hash_field(uint64_t h, const char *s)
{
    /* A separator so that ("ab","c") and ("a","bc") differ. */
    h = fnv1a_add(h, s) ^ 0xff;
    return h * FNV1A_PRIME;
}


static void
copy_str(char *dst, size_t dstlen, const char *src)
{
    size_t n = strlen(src);

    if (n >= dstlen)
        n = dstlen - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static void
table_add(struct kmemleak_table *t, uint64_t key, int has_crc, const struct kmemleak_record *r,
          const char *site, const char *caller, int keep_frames)
{
    struct kmemleak_group *g = NULL;

    for (size_t i = t->n; i > 0; i--)
        if (t->g[i - 1].key == key) {
            g = &t->g[i - 1];
            break;
        }
    if (!g) {
        if (t->n >= t->cap) {
            t->other_objects++;
            t->other_bytes += r->size;
            return;
        }
        g = &t->g[t->n++];
        memset(g, 0, sizeof(*g));
        g->key = key;
        g->has_crc = has_crc;
        copy_str(g->site, sizeof(g->site), site);
        copy_str(g->caller, sizeof(g->caller), caller);
        copy_str(g->comm, sizeof(g->comm), r->comm);
        g->first_jiffies = r->jiffies;
        g->last_jiffies = r->jiffies;
        if (keep_frames) {
            g->nframes = r->nframes;
            memcpy(g->frames, r->frames, sizeof(g->frames[0]) * r->nframes);
        }
    }
    g->objects++;
    g->bytes += r->size;
    if (r->jiffies < g->first_jiffies)
        g->first_jiffies = r->jiffies;
    if (r->jiffies > g->last_jiffies)
        g->last_jiffies = r->jiffies;
}

static void
record_count(struct kmemleak_parser *p)
{
    const struct kmemleak_record *r = &p->rec;
    char site[KMEMLEAK_SYM_MAX] = "";
    char caller[KMEMLEAK_SYM_MAX] = "";
    uint64_t h;

    if (!p->in_record)
        return;
    p->in_record = 0;
    if (p->objects == 0 || r->jiffies < p->first_jiffies)
        p->first_jiffies = r->jiffies;
    if (r->jiffies > p->last_jiffies)
        p->last_jiffies = r->jiffies;
    p->objects++;
    p->bytes += r->size;

    for (unsigned i = 0; i < r->nframes; i++) {
        char sym[KMEMLEAK_SYM_MAX];
        kmemleak_frame_symbol(r->frames[i], sym, sizeof(sym));
        if (kmemleak_is_allocator_frame(sym))
            continue;
        copy_str(site, sizeof(site), sym);
        if (i + 1 < r->nframes)
            kmemleak_frame_symbol(r->frames[i + 1], caller, sizeof(caller));
        break;
    }

    if (p->by_trace) {
        if (r->has_crc) {
            h = r->crc;
        } else {
            h = FNV1A_BASIS;
            for (unsigned i = 0; i < r->nframes; i++)
                h = hash_field(h, r->frames[i]);
        }
        table_add(p->by_trace, h, r->has_crc, r, site, caller, 1);
    }
    if (p->by_site) {
        h = hash_field(hash_field(FNV1A_BASIS, site), caller);
        table_add(p->by_site, h, 0, r, site, caller, 0);
    }
}

static int
starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Parse the decimal digits at s (no sign); *end is set past them. 0 or -EINVAL. */
static int
parse_digits(const char *s, const char **end, uint64_t *ret)
{
    size_t n = strspn(s, "0123456789");
    int r;

    if (n == 0)
        return -EINVAL;
    r = parse_u64_n(s, n, ret);
    if (r < 0)
        return r;
    *end = s + n;
    return 0;
}

static int
parse_hex32(const char *s, uint32_t *ret)
{
    uint64_t v = 0;
    size_t n = 0;

    for (; s[n]; n++) {
        char c = s[n];
        unsigned d;
        if (c >= '0' && c <= '9')
            d = (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            d = (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            d = (unsigned)(c - 'A' + 10);
        else
            break;
        if (n >= 8)
            return -ERANGE;
        v = v * 16 + d;
    }
    if (n == 0)
        return -EINVAL;
    *ret = (uint32_t)v;
    return 0;
}

static void
parse_header(struct kmemleak_parser *p, const char *line)
{
    const char *s = strstr(line, "(size ");
    const char *end;
    uint64_t v;

    record_count(p);
    memset(&p->rec, 0, sizeof(p->rec));
    p->in_record = 1;
    p->state = KMEMLEAK_ST_HEADER;
    if (!s || parse_digits(s + 6, &end, &v) < 0 || *end != ')') {
        p->bad_lines++;
        return;
    }
    p->rec.size = v;
}

/* comm "systemd", pid 1, jiffies 4294893229 (age 12.345s) */
static void
parse_comm(struct kmemleak_parser *p, const char *line)
{
    const char *s = line + strlen("comm \"");
    const char *q = strstr(s, "\", pid ");
    const char *end;
    uint64_t v;
    size_t n;

    if (!q) {
        p->bad_lines++;
        return;
    }
    n = (size_t)(q - s);
    if (n >= sizeof(p->rec.comm))
        n = sizeof(p->rec.comm) - 1;
    memcpy(p->rec.comm, s, n);
    p->rec.comm[n] = '\0';
    s = q + strlen("\", pid ");
    if (parse_digits(s, &end, &v) < 0) {
        p->bad_lines++;
        return;
    }
    p->rec.pid = (int64_t)v;
    s = strstr(end, "jiffies ");
    if (!s || parse_digits(s + strlen("jiffies "), &end, &v) < 0) {
        p->bad_lines++;
        return;
    }
    p->rec.jiffies = v;
}

static void
parse_backtrace_line(struct kmemleak_parser *p, const char *line)
{
    const char *s = strstr(line, "(crc ");

    p->state = KMEMLEAK_ST_BACKTRACE;
    if (s) {
        if (parse_hex32(s + 5, &p->rec.crc) == 0)
            p->rec.has_crc = 1;
        else
            p->bad_lines++;
    }
}

static void
parse_frame(struct kmemleak_parser *p, const char *line)
{
    const char *s = line;
    size_t n;

    if (s[0] == '[' && s[1] == '<') {
        s = strchr(s, ']');
        if (!s) {
            p->bad_lines++;
            return;
        }
        s = skip_blanks(s + 1);
    }
    n = strcspn(s, " \t");
    if (n == 0)
        return;
    if (p->rec.nframes >= KMEMLEAK_FRAMES_MAX)
        return;
    if (n >= KMEMLEAK_SYM_MAX)
        n = KMEMLEAK_SYM_MAX - 1;
    memcpy(p->rec.frames[p->rec.nframes], s, n);
    p->rec.frames[p->rec.nframes][n] = '\0';
    p->rec.nframes++;
}

static void
parse_line(struct kmemleak_parser *p, char *line)
{
    size_t n = strlen(line);
    const char *s;

    while (n > 0 && (line[n - 1] == '\r' || line[n - 1] == ' ' || line[n - 1] == '\t'))
        line[--n] = '\0';
    s = skip_blanks(line);
    if (*s == '\0')
        return;
    if (starts_with(s, "unreferenced object")) {
        parse_header(p, s);
        return;
    }
    if (!p->in_record)
        return;
    if (p->state == KMEMLEAK_ST_HEADER) {
        if (starts_with(s, "comm \""))
            parse_comm(p, s);
        else if (starts_with(s, "backtrace"))
            parse_backtrace_line(p, s);
        /* "hex dump (...)" and the hex lines carry nothing we count. */
        return;
    }
    if (p->state == KMEMLEAK_ST_BACKTRACE)
        parse_frame(p, s);
}

int
kmemleak_parser_feed(struct kmemleak_parser *p, const char *data, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        char c = data[i];
        if (c == '\n') {
            p->line[p->line_len] = '\0';
            parse_line(p, p->line);
            p->line_len = 0;
            p->line_cut = 0;
            continue;
        }
        if (c == '\0')
            c = ' ';
        if (p->line_len + 1 < sizeof(p->line))
            p->line[p->line_len++] = c;
        else
            p->line_cut = 1;
    }
    return 0;
}

uint64_t
kmemleak_parser_finish(struct kmemleak_parser *p)
{
    if (p->line_len > 0) {
        p->line[p->line_len] = '\0';
        parse_line(p, p->line);
        p->line_len = 0;
    }
    record_count(p);
    p->state = KMEMLEAK_ST_NONE;
    return p->objects;
}

static int
group_cmp(const void *a, const void *b)
{
    const struct kmemleak_group *x = a, *y = b;

    if (x->objects != y->objects)
        return x->objects > y->objects ? -1 : 1;
    if (x->bytes != y->bytes)
        return x->bytes > y->bytes ? -1 : 1;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    return 0;
}

void
kmemleak_table_sort(struct kmemleak_table *t)
{
    if (t->n > 1)
        qsort(t->g, t->n, sizeof(t->g[0]), group_cmp);
}

const struct kmemleak_group *
kmemleak_table_find(const struct kmemleak_table *t, uint64_t key)
{
    for (size_t i = 0; i < t->n; i++)
        if (t->g[i].key == key)
            return &t->g[i];
    return NULL;
}
