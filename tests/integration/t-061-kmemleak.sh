#!/bin/sh
# soak kmemleak on reports written here in both kernel formats: the story's
# summary reads "N struct file from path_openat via alloc_empty_file", --json
# and --diff work, bad input gets a clear error.
set -u
. "$SOAK_SRC/tests/integration/t-06x-lib.sh"
echo "1..11"

# rec ADDR SIZE COMM JIFFIES CRC FRAMES...: one record in the new (6.7+) format.
rec() {
    printf 'unreferenced object 0x%s (size %s):\n  comm "%s", pid 1, jiffies %s\n' "$1" "$2" "$3" "$4"
    printf '  hex dump (first 32 bytes):\n    00 00 00 00 1d 80 4a 0c 40 3e b4 44 47 a0 ff ff  ......J.@>.DG...\n'
    printf '  backtrace (crc %s):\n' "$5"
    shift 5
    for f in "$@"; do printf '    [<0000000012345678>] %s\n' "$f"; done
}
file_frames="kmemleak_alloc+0x38/0x44 kmem_cache_alloc_noprof+0x214/0x300 alloc_empty_file+0x54/0x11c path_openat+0x48/0xfd0 do_filp_open+0xa8/0x170 do_sys_openat2+0x90/0xf8"
cred_frames="kmemleak_alloc+0x38/0x44 kmem_cache_alloc_noprof+0x214/0x300 prepare_creds+0x24/0x338 copy_creds+0x2c/0x1c0 copy_process+0x354/0x14b4"
{
    i=0
    while [ $i -lt 5 ]; do
        # shellcheck disable=SC2086
        rec "ffff0000024$i" 256 systemd $((4294893229 + i)) 0badf00d $file_frames
        i=$((i + 1))
    done
    # shellcheck disable=SC2086
    rec ffff00000246b6c0 192 systemd 4294893000 133687fb $cred_frames
    # shellcheck disable=SC2086
    rec ffff00000246b7c0 192 sshd 4294893100 133687fb $cred_frames
} >"$WORK/old.txt"
cp "$WORK/old.txt" "$WORK/new.txt"
i=0
while [ $i -lt 4 ]; do
    # shellcheck disable=SC2086
    rec "ffff0000035$i" 256 sh $((4294999000 + i)) 0badf00d $file_frames >>"$WORK/new.txt"
    i=$((i + 1))
done
# The pre-6.5 format: "(age ...)" and "backtrace:" without crc.
cat >"$WORK/oldfmt.txt" <<'EOT'
unreferenced object 0xffff888107c2a000 (size 2048):
  comm "kworker/u8:2", pid 77, jiffies 4294945123 (age 311.252s)
  hex dump (first 32 bytes):
    6b 6b 6b 6b 6b 6b 6b 6b 6b 6b 6b 6b 6b 6b 6b 6b  kkkkkkkkkkkkkkkk
  backtrace:
    [<00000000f7789dcf>] kmem_cache_alloc_trace+0x163/0x4f0
    [<000000003c8a7f2e>] __alloc_skb+0x5e/0x1c0
    [<0000000071d9ef63>] tcp_send_fin+0x7a/0x2f0
EOT

expect_rc 0 "summary of a new-format report" "$SOAK" kmemleak "$WORK/old.txt"
if grep -q "^7 unreferenced objects, 1,664 bytes" "$WORK/out" &&
    grep -q "5 struct file from path_openat via alloc_empty_file" "$WORK/out" &&
    grep -q "2 struct cred from copy_creds via prepare_creds" "$WORK/out"; then
    ok "reads as the story: struct file from path_openat via alloc_empty_file"
else
    not_ok "summary text" "$(cat "$WORK/out")"
fi
expect_rc 0 "stdin and --json" sh -c "\"$SOAK\" kmemleak --json - <\"$WORK/old.txt\""
jcheck "JSON: totals, sites with types, backtraces with crc keys" '.objects == 7 and .bytes == 1664 and .sites[0].type == "struct file" and .sites[0].objects == 5 and .backtraces[0].key == "000000000badf00d" and (.backtraces[0].backtrace | length == 6)' "$WORK/out"
expect_rc 0 "--diff OLD NEW" "$SOAK" kmemleak --diff "$WORK/old.txt" "$WORK/new.txt"
if grep -q "+4 struct file from path_openat via alloc_empty_file" "$WORK/out" &&
    ! grep -q "struct cred" "$WORK/out"; then
    ok "--diff shows what grew and only that"
else
    not_ok "--diff text" "$(cat "$WORK/out")"
fi
expect_rc 0 "old kernel format" "$SOAK" kmemleak --json "$WORK/oldfmt.txt"
jcheck "old format: age and no crc, site __alloc_skb (struct sk_buff)" '.objects == 1 and .sites[0].site == "__alloc_skb" and .sites[0].type == "struct sk_buff" and .backtraces[0].comm == "kworker/u8:2"' "$WORK/out"
expect_rc 1 "a missing file: exit 1" "$SOAK" kmemleak "$WORK/none.txt"
expect_rc 2 "bad --top: exit 2" "$SOAK" kmemleak --top x "$WORK/old.txt"
expect_rc 0 "--help" "$SOAK" kmemleak --help
exit 0
