#!/usr/bin/env python3
"""Simulated agents for bench/poller.sh: one asyncio process listening on N loopback
ports, each answering GET /metrics with the same static Prometheus exposition of about
SIZE bytes (HTTP/1.1 keep-alive), anything else with 404. Prints the ports, one per
line, then "ready"; runs until killed. Usage: poller-agents.py N [SIZE]"""
import asyncio
import sys


def exposition(size):
    lines = []
    fields = ["MemTotal", "MemFree", "MemAvailable", "Buffers", "Cached", "SwapCached",
              "Active", "Inactive", "Slab", "SReclaimable", "SUnreclaim", "KernelStack",
              "PageTables", "CommitLimit", "Committed_AS", "VmallocUsed", "Shmem"]
    lines.append("# TYPE node_memory_MemTotal_bytes gauge")
    for i, f in enumerate(fields):
        lines.append("node_memory_%s_bytes %d" % (f, 235147264 - i * 1048576))
    lines.append("node_load1 0.12\nnode_load5 0.2\nnode_load15 0.31")
    lines.append("node_vmstat_oom_kill 0\nsoak_uptime_seconds 389412.37")
    i = 0
    text = "\n".join(lines) + "\n"
    while len(text) < size:
        cache = "cache_%04d" % i
        text += ('node_slabinfo_active_objects{slab="%s"} %d\n'
                 'node_slabinfo_objects{slab="%s"} %d\n'
                 'node_slabinfo_object_size_bytes{slab="%s"} %d\n'
                 % (cache, 1000 + i, cache, 1100 + i, cache, 64 + 8 * (i % 32)))
        i += 1
    return text.encode()


async def main():
    n = int(sys.argv[1])
    size = int(sys.argv[2]) if len(sys.argv) > 2 else 50000
    body = exposition(size)
    ok = (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\n"
          b"Content-Length: %d\r\n\r\n" % len(body)) + body
    notfound = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"

    async def handle(reader, writer):
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                writer.write(ok if head.startswith(b"GET /metrics") else notfound)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()

    servers = []
    for _ in range(n):
        servers.append(await asyncio.start_server(handle, "127.0.0.1", 0, backlog=64))
    for s in servers:
        print(s.sockets[0].getsockname()[1])
    print("ready", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main())
