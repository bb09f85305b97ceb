/* SPDX-License-Identifier: MIT */
/* Unit tests of src/common/kmemleak.c: old and new report formats, grouping, bounds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "kmemleak.h"

/* Mainline >= ~6.7: "(crc %x)", no age, "[<addr>] sym+off/len" frames. */
static const char new_format[] =
    "unreferenced object 0xffff00000246b6c0 (size 192):\n"
    "  comm \"systemd\", pid 1, jiffies 4294893229\n"
    "  hex dump (first 32 bytes):\n"
    "    02 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00  ................\n"
    "    00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00  ................\n"
    "  backtrace (crc 133687fb):\n"
    "    [<000000005fe6d6b6>] kmemleak_alloc+0x38/0x44\n"
    "    [<00000000a1b2c3d4>] kmem_cache_alloc_noprof+0x214/0x300\n"
    "    [<00000000a1b2c3d5>] prepare_creds+0x24/0x338\n"
    "    [<00000000a1b2c3d6>] copy_creds+0x2c/0x1c0\n"
    "    [<00000000a1b2c3d7>] copy_process+0x354/0x14b4\n"
    "unreferenced object 0xffff000002a0c000 (size 256):\n"
    "  comm \"sh\", pid 400, jiffies 4294900000\n"
    "  hex dump (first 32 bytes):\n"
    "    00 00 00 00 1d 80 4a 0c 40 3e b4 44 47 a0 ff ff  ......J.@>.DG...\n"
    "  backtrace (crc 0badf00d):\n"
    "    [<000000005fe6d6b6>] kmemleak_alloc+0x38/0x44\n"
    "    [<00000000a1b2c3d4>] kmem_cache_alloc_noprof+0x214/0x300\n"
    "    [<00000000a1b2c3e0>] alloc_empty_file+0x54/0x11c\n"
    "    [<00000000a1b2c3e1>] path_openat+0x48/0xfd0\n"
    "    [<00000000a1b2c3e2>] do_filp_open+0xa8/0x170\n"
    "unreferenced object 0xffff000002a0c100 (size 256):\n"
    "  comm \"sh\", pid 401, jiffies 4294910000\n"
    "  hex dump (first 32 bytes):\n"
    "    00 00 00 00 1d 80 4a 0c 40 3e b4 44 47 a0 ff ff  ......J.@>.DG...\n"
    "  backtrace (crc 0badf00d):\n"
    "    [<000000005fe6d6b6>] kmemleak_alloc+0x38/0x44\n"
    "    [<00000000a1b2c3d4>] kmem_cache_alloc_noprof+0x214/0x300\n"
    "    [<00000000a1b2c3e0>] alloc_empty_file+0x54/0x11c\n"
    "    [<00000000a1b2c3e1>] path_openat+0x48/0xfd0\n"
    "    [<00000000a1b2c3e2>] do_filp_open+0xa8/0x170\n";

/* Before ~6.5: "(age ...)" on the comm line, "backtrace:" without crc. */
static const char old_format[] =
    "unreferenced object 0xffff888107c2a000 (size 2048):\n"
    "  comm \"kworker/u8:2\", pid 77, jiffies 4294945123 (age 311.252s)\n"
    "  hex dump (first 32 bytes):\n"
    "    6b 6b 6b 6b 6b 6b 6b 6b 6b 6b 6b 6b 6b 6b 6b 6b  kkkkkkkkkkkkkkkk\n"
    "  backtrace:\n"
    "    [<00000000f7789dcf>] kmem_cache_alloc_trace+0x163/0x4f0\n"
    "    [<000000003c8a7f2e>] __alloc_skb+0x5e/0x1c0\n"
    "    [<0000000071d9ef63>] tcp_send_fin+0x7a/0x2f0\n"
    "\n"
    "unreferenced object 0xffff888107c2b000 (size 2048):\n"
    "  comm \"kworker/u8:2\", pid 77, jiffies 4294945000 (age 312.000s)\n"
    "  hex dump (first 32 bytes):\n"
    "    6b 6b 6b 6b 6b 6b 6b 6b 6b 6b 6b 6b 6b 6b 6b 6b  kkkkkkkkkkkkkkkk\n"
    "  backtrace:\n"
    "    [<00000000f7789dcf>] kmem_cache_alloc_trace+0x163/0x4f0\n"
    "    [<000000003c8a7f2e>] __alloc_skb+0x5e/0x1c0\n"
    "    [<0000000071d9ef63>] tcp_send_fin+0x7a/0x2f0\n";

/* A variant with bare "sym+off/len" frames and a typed object header. */
static const char bare_frames[] = "unreferenced object (percpu) 0xffff800012345678 (size 64):\n"
                                  "  comm \"Web Content\", pid 9, jiffies 100\n"
                                  "  backtrace (crc deadbeef):\n"
                                  "    kmemleak_alloc_percpu+0x40/0x80\n"
                                  "    pcpu_alloc_noprof+0x300/0x900\n"
                                  "    alloc_vfsmnt+0x90/0x1c0\n"
                                  "    clone_mnt+0x30/0x300\n";

static uint64_t
parse_all(const char *text, size_t chunk, struct kmemleak_table *bt, struct kmemleak_table *bs,
          struct kmemleak_parser *p)
{
    size_t len = strlen(text);

    kmemleak_parser_init(p, bt, bs);
    for (size_t off = 0; off < len; off += chunk)
        assert_int_equal(kmemleak_parser_feed(p, text + off, MIN(chunk, len - off)), 0);
    return kmemleak_parser_finish(p);
}

static void
test_new_format(void **state)
{
    struct kmemleak_group tg[8], sg[8];
    struct kmemleak_table bt, bs;
    struct kmemleak_parser p;
    const struct kmemleak_group *g;

    (void)state;
    kmemleak_table_init(&bt, tg, ARRAY_SIZE(tg));
    kmemleak_table_init(&bs, sg, ARRAY_SIZE(sg));
    assert_int_equal(parse_all(new_format, 4096, &bt, &bs, &p), 3);
    assert_int_equal(p.bytes, 192 + 256 + 256);
    assert_int_equal(p.bad_lines, 0);
    assert_int_equal(bt.n, 2);
    kmemleak_table_sort(&bt);
    g = &bt.g[0];
    assert_true(g->has_crc);
    assert_int_equal(g->key, 0x0badf00d);
    assert_int_equal(g->objects, 2);
    assert_int_equal(g->bytes, 512);
    assert_string_equal(g->site, "alloc_empty_file");
    assert_string_equal(g->caller, "path_openat");
    assert_string_equal(g->comm, "sh");
    assert_int_equal(g->first_jiffies, 4294900000ULL);
    assert_int_equal(g->last_jiffies, 4294910000ULL);
    assert_int_equal(g->nframes, 5);
    assert_string_equal(g->frames[2], "alloc_empty_file+0x54/0x11c");
    assert_string_equal(kmemleak_site_type(g->site), "struct file");
    g = kmemleak_table_find(&bt, 0x133687fb);
    assert_non_null(g);
    assert_string_equal(g->site, "prepare_creds");
    assert_string_equal(g->caller, "copy_creds");
    assert_string_equal(g->comm, "systemd");
    assert_int_equal(g->first_jiffies, 4294893229ULL);
    assert_string_equal(kmemleak_site_type(g->site), "struct cred");
    assert_int_equal(bs.n, 2);
    assert_int_equal(p.first_jiffies, 4294893229ULL);
    assert_int_equal(p.last_jiffies, 4294910000ULL);
}

static void
test_old_format(void **state)
{
    struct kmemleak_group tg[4], sg[4];
    struct kmemleak_table bt, bs;
    struct kmemleak_parser p;

    (void)state;
    kmemleak_table_init(&bt, tg, ARRAY_SIZE(tg));
    kmemleak_table_init(&bs, sg, ARRAY_SIZE(sg));
    assert_int_equal(parse_all(old_format, 4096, &bt, &bs, &p), 2);
    assert_int_equal(p.bad_lines, 0);
    /* No crc: the two identical backtraces hash to one group. */
    assert_int_equal(bt.n, 1);
    assert_false(bt.g[0].has_crc);
    assert_int_equal(bt.g[0].objects, 2);
    assert_int_equal(bt.g[0].bytes, 4096);
    assert_string_equal(bt.g[0].comm, "kworker/u8:2");
    assert_string_equal(bt.g[0].site, "__alloc_skb");
    assert_string_equal(bt.g[0].caller, "tcp_send_fin");
    assert_int_equal(bt.g[0].first_jiffies, 4294945000ULL);
    assert_int_equal(bt.g[0].last_jiffies, 4294945123ULL);
    assert_string_equal(kmemleak_site_type("__alloc_skb"), "struct sk_buff");
    assert_int_equal(bs.n, 1);
}

static void
test_bare_frames(void **state)
{
    struct kmemleak_group tg[4];
    struct kmemleak_table bt;
    struct kmemleak_parser p;

    (void)state;
    kmemleak_table_init(&bt, tg, ARRAY_SIZE(tg));
    assert_int_equal(parse_all(bare_frames, 4096, &bt, NULL, &p), 1);
    assert_int_equal(bt.n, 1);
    assert_int_equal(bt.g[0].key, 0xdeadbeef);
    assert_string_equal(bt.g[0].comm, "Web Content");
    assert_string_equal(bt.g[0].site, "alloc_vfsmnt");
    assert_string_equal(bt.g[0].caller, "clone_mnt");
    assert_int_equal(bt.g[0].bytes, 64);
}

static void
test_chunking_is_invisible(void **state)
{
    struct kmemleak_group a[8], b[8];
    struct kmemleak_table ta, tb;
    struct kmemleak_parser pa, pb;

    (void)state;
    kmemleak_table_init(&ta, a, ARRAY_SIZE(a));
    kmemleak_table_init(&tb, b, ARRAY_SIZE(b));
    assert_int_equal(parse_all(new_format, 4096, &ta, NULL, &pa), 3);
    assert_int_equal(parse_all(new_format, 1, &tb, NULL, &pb), 3);
    assert_int_equal(ta.n, tb.n);
    for (size_t i = 0; i < ta.n; i++) {
        assert_int_equal(ta.g[i].key, tb.g[i].key);
        assert_int_equal(ta.g[i].objects, tb.g[i].objects);
    }
}

static void
test_table_full_counts_other(void **state)
{
    struct kmemleak_group tg[1];
    struct kmemleak_table bt;
    struct kmemleak_parser p;

    (void)state;
    kmemleak_table_init(&bt, tg, ARRAY_SIZE(tg));
    assert_int_equal(parse_all(new_format, 4096, &bt, NULL, &p), 3);
    assert_int_equal(bt.n, 1);
    assert_int_equal(bt.g[0].objects, 1);
    assert_int_equal(bt.other_objects, 2);
    assert_int_equal(bt.other_bytes, 512);
}

static void
test_garbage_and_long_lines(void **state)
{
    struct kmemleak_group tg[2];
    struct kmemleak_table bt;
    struct kmemleak_parser p;
    char big[3000];

    (void)state;
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    kmemleak_table_init(&bt, tg, ARRAY_SIZE(tg));
    kmemleak_parser_init(&p, &bt, NULL);
    assert_int_equal(kmemleak_parser_feed(&p, big, strlen(big)), 0);
    assert_int_equal(kmemleak_parser_feed(&p, "\nunreferenced object 0x1 (size x):\n", 36), 0);
    assert_int_equal(kmemleak_parser_feed(&p, "  comm \"a\", pid q\n  backtrace (crc zz):\n", 40),
                     0);
    assert_int_equal(kmemleak_parser_finish(&p), 1);
    assert_int_equal(p.bad_lines, 3);
    assert_int_equal(bt.n, 1);
    assert_int_equal(bt.g[0].bytes, 0);
}

static void
test_allocator_frames(void **state)
{
    (void)state;
    assert_true(kmemleak_is_allocator_frame("kmemleak_alloc"));
    assert_true(kmemleak_is_allocator_frame("__kmalloc_cache_noprof"));
    assert_true(kmemleak_is_allocator_frame("__kvmalloc_node_noprof"));
    assert_true(kmemleak_is_allocator_frame("kmem_cache_alloc_lru_noprof"));
    assert_false(kmemleak_is_allocator_frame("alloc_empty_file"));
    assert_false(kmemleak_is_allocator_frame("prepare_creds"));
    assert_string_equal(kmemleak_site_type("do_execveat_common.isra.0+0x6c/0x1e0") ?: "-", "-");
    assert_string_equal(kmemleak_site_type("alloc_bprm+0x28/0x240"), "struct linux_binprm");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new_format),
        cmocka_unit_test(test_old_format),
        cmocka_unit_test(test_bare_frames),
        cmocka_unit_test(test_chunking_is_invisible),
        cmocka_unit_test(test_table_full_counts_other),
        cmocka_unit_test(test_garbage_and_long_lines),
        cmocka_unit_test(test_allocator_frames),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
