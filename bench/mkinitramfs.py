#!/usr/bin/env python3
# mkinitramfs.py DIR OUT: a gzip-compressed newc cpio archive of the tree DIR (an initramfs for
# the VM benchmarks, bench/vm-aarch64.sh and bench/systemd-sandbox.sh), without cpio(1).
# Owners become root; symlinks are kept as links; entries are sorted.
import gzip
import os
import stat
import sys


def entry(f, ino, name, mode, mtime, data=b""):
    hdr = "070701" + "".join("%08x" % v for v in (
        ino, mode, 0, 0, 1, mtime, len(data), 0, 0, 0, 0, len(name) + 1, 0))
    f.write(hdr.encode() + name.encode() + b"\0")
    f.write(b"\0" * ((4 - (110 + len(name) + 1) % 4) % 4))
    f.write(data)
    f.write(b"\0" * ((4 - len(data) % 4) % 4))


def main():
    root, out = sys.argv[1], sys.argv[2]
    ino = 1000
    with gzip.open(out, "wb", compresslevel=6) as f:
        for dp, dns, fns in os.walk(root):
            dns.sort()
            for n in sorted(dns) + sorted(fns):
                p = os.path.join(dp, n)
                st = os.lstat(p)
                name = os.path.relpath(p, root)
                ino += 1
                if stat.S_ISLNK(st.st_mode):
                    data = os.readlink(p).encode()
                elif stat.S_ISREG(st.st_mode):
                    with open(p, "rb") as r:
                        data = r.read()
                else:
                    data = b""
                entry(f, ino, name, st.st_mode, int(st.st_mtime), data)
        entry(f, 0, "TRAILER!!!", 0, 0)


if __name__ == "__main__":
    main()
