#!/usr/bin/env python3
"""Generate a farm-like OpenMetrics file for bench/store.sh.

One board's history at a fixed interval: memory gauges (page-sized random walks),
counters (CPU seconds, network and vmstat counters), slab object counts, a few
temperatures with sensor noise, and constant info/up gauges. Timestamps sit on the
interval grid with a few milliseconds of scrape jitter, like a real poller's.
Series are written one after the other (each family contiguous, as OpenMetrics
wants), each in time order; the file ends with '# EOF'.

usage: store-gen.py [--days D] [--interval S] [--series-scale K] [--seed N] > FILE
"""
import argparse
import random
import sys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--days", type=float, default=22)
    ap.add_argument("--interval", type=int, default=60)
    ap.add_argument("--series-scale", type=int, default=1,
                    help="multiply the number of series (more cpus, caches, ...)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--start", type=int, default=1760000000)
    a = ap.parse_args()
    rnd = random.Random(a.seed)
    n = int(a.days * 86400 / a.interval)
    times = [a.start * 1000 + i * a.interval * 1000 + rnd.randint(0, 20) for i in range(n)]
    ts = ["%d.%03d" % (t // 1000, t % 1000) for t in times]
    out = sys.stdout
    w = out.write

    def series(name, labels, values):
        lab = ""
        if labels:
            lab = "{" + ",".join('%s="%s"' % kv for kv in labels) + "}"
        key = name + lab
        w("".join("%s %s %s\n" % (key, v, t) for v, t in zip(values, ts)))

    def walk_pages(base, step_pages, p_change):
        v = base
        res = []
        for _ in range(n):
            if rnd.random() < p_change:
                v += rnd.randint(-step_pages, step_pages) * 4096
                v = max(v, 4096)
            res.append(v)
        return ["%d" % x for x in res]

    def counter(rate, jitter, decimals):
        v = 0.0
        res = []
        for _ in range(n):
            v += max(0.0, rate * a.interval * (1 + rnd.uniform(-jitter, jitter)))
            res.append(round(v, decimals))
        return [("%d" % x) if decimals == 0 else repr(x) for x in res]

    k = a.series_scale
    # Memory: /proc/meminfo fields
    mem_fields = ["MemTotal", "MemFree", "MemAvailable", "Buffers", "Cached", "SwapCached",
                  "Active", "Inactive", "Active_anon", "Inactive_anon", "Active_file",
                  "Inactive_file", "Unevictable", "Mlocked", "Dirty", "Writeback", "AnonPages",
                  "Mapped", "Shmem", "KReclaimable", "Slab", "SReclaimable", "SUnreclaim",
                  "KernelStack", "PageTables", "VmallocUsed", "Percpu", "CmaTotal", "CmaFree"]
    for f in mem_fields:
        name = "node_memory_%s_bytes" % f
        w("# TYPE %s gauge\n" % name)
        if f in ("MemTotal", "CmaTotal", "Mlocked", "Unevictable"):
            series(name, [], ["%d" % (rnd.randint(1, 256) * 1048576)] * n)
        else:
            series(name, [], walk_pages(rnd.randint(1000, 60000) * 4096, 64, 0.7))
    # CPU seconds per cpu and mode
    w("# TYPE node_cpu_seconds counter\n")
    for cpu in range(4 * k):
        for mode in ("user", "system", "idle", "iowait", "irq", "softirq", "nice", "steal"):
            rate = {"idle": 0.8, "user": 0.1, "system": 0.05}.get(mode, 0.002)
            if mode == "steal":
                series("node_cpu_seconds_total", [("cpu", str(cpu)), ("mode", mode)], ["0"] * n)
            else:
                series("node_cpu_seconds_total", [("cpu", str(cpu)), ("mode", mode)],
                       counter(rate, 0.3, 2))
    # Network counters
    for what in ("receive_bytes", "transmit_bytes", "receive_packets", "transmit_packets",
                 "receive_errs", "transmit_drop"):
        fam = "node_network_%s" % what
        w("# TYPE %s counter\n" % fam)
        for dev in ["eth0", "lo", "wlan0"][: 2 + (k > 1)]:
            rate = 0 if "errs" in what or "drop" in what else (2000 if "bytes" in what else 15)
            series(fam + "_total", [("device", dev)], counter(rate, 0.5, 0))
    # vmstat counters
    for f in ["pgfault", "pgmajfault", "pgpgin", "pgpgout", "pswpin", "pswpout", "oom_kill",
              "pgalloc_normal", "pgfree", "pgscan_kswapd", "pgsteal_kswapd", "nr_slab_unreclaimable"]:
        name = "node_vmstat_%s" % f
        w("# TYPE %s gauge\n" % name)
        rate = {"pgfault": 300, "pgalloc_normal": 500, "pgfree": 500}.get(f, 1)
        if f in ("oom_kill", "pswpin", "pswpout"):
            series(name, [], ["0"] * n)
        else:
            series(name, [], counter(rate, 0.5, 0))
    # Slab caches: object counts
    w("# TYPE soak_slab_objects gauge\n")
    caches = ["filp", "dentry", "inode_cache", "kmalloc-64", "kmalloc-128", "kmalloc-256",
              "kmalloc-512", "kmalloc-1k", "kmalloc-2k", "kmalloc-4k", "buffer_head", "radix_tree_node",
              "vm_area_struct", "anon_vma", "task_struct", "sock_inode_cache", "skbuff_head_cache",
              "ext4_inode_cache", "proc_inode_cache", "shmem_inode_cache"]
    for c in caches * k:
        base = rnd.randint(100, 50000)
        vals = []
        v = base
        for _ in range(n):
            if rnd.random() < 0.3:
                v = max(1, v + rnd.randint(-20, 21))
            vals.append("%d" % v)
        series("soak_slab_objects", [("cache", c)], vals)
    # Temperatures with sensor noise (millidegree resolution)
    w("# TYPE soak_sensor_celsius gauge\n")
    for s in ["soc", "board", "ambient", "pmic", "ddr"][: 3 + 2 * (k > 1)]:
        base = rnd.uniform(30, 60)
        vals = ["%.3f" % (base + 5 * rnd.random()) for _ in range(n)]
        series("soak_sensor_celsius", [("sensor", s)], vals)
    # Load averages
    for f in ("load1", "load5", "load15"):
        name = "node_%s" % f
        w("# TYPE %s gauge\n" % name)
        series(name, [], ["%.2f" % rnd.uniform(0, 2) for _ in range(n)])
    # Constant series
    w("# TYPE soak_build_info gauge\n")
    series("soak_build_info", [("build", "6.17.6"), ("board", "rock-pi-s")], ["1"] * n)
    w("# TYPE soak_poll_up gauge\n")
    series("soak_poll_up", [], ["1"] * n)
    w("# TYPE soak_poll_duration_seconds gauge\n")
    series("soak_poll_duration_seconds", [], ["%.4f" % rnd.uniform(0.002, 0.02) for _ in range(n)])
    w("# EOF\n")


if __name__ == "__main__":
    main()
