"""Cross-process broadcast over Redis: latency and throughput, next to an in-process broadcast.

``python -m bench.scale [--count 2000] [--size 64]`` starts ``redis-server`` on loopback, a wslab
server *far* in a second Python process linked to it with a ``RedisBus``, and a server *near* in
this process on the same bus. A client of *far* receives what *near* broadcasts with
``everywhere=True``:

- latency: one broadcast at a time, from the call on *near*'s loop to the message in the client's
  inbox (Redis publish, the far process's subscription, its send, the client's read);
- throughput: ``count`` broadcasts back to back, until the last one has arrived;
- the same two for a broadcast to a client of *near* itself, without the bus: the floor.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

import wslab
from wslab.redis_bus import start_redis

from ._common import in_lab, payload, percentile

__all__ = ["main"]

FAR = """
import sys, wslab
with wslab.Lab(name="far") as lab:
    server = lab.serve(echo=None, name="far")
    lab.redis_bus(sys.argv[1], [server], name="bus-far")
    print(server.port, flush=True)
    sys.stdin.read()
"""


async def latency(
    near: wslab.Server, client: wslab.Client, count: int, text: str, everywhere: bool
) -> list[float]:
    times = []
    for _ in range(count):
        started = time.perf_counter()
        await near.abroadcast(text, everywhere=everywhere)
        await client.arecv()
        times.append((time.perf_counter() - started) * 1000)
    return times


async def throughput(
    near: wslab.Server, client: wslab.Client, count: int, text: str, everywhere: bool
) -> float:
    started = time.perf_counter()
    for _ in range(count):
        await near.abroadcast(text, everywhere=everywhere)
    for _ in range(count):
        await client.arecv(timeout=30)
    return count / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--size", type=int, default=64)
    args = parser.parse_args()
    text = payload(args.size)
    with start_redis() as redis:
        far = subprocess.Popen(
            [sys.executable, "-c", FAR, redis.url], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert far.stdout is not None and far.stdin is not None
        try:
            port = int(far.stdout.readline())
            with wslab.Lab(name="near", capacity=10_000) as lab:
                near = lab.serve(echo=None, name="near")
                lab.redis_bus(redis.url, [near], name="bus-near")
                remote = lab.connect(f"ws://127.0.0.1:{port}/", compression=None)
                cases = (("cross-process (Redis)", remote, True), ("same process, no bus", None, False))
                for label, client, everywhere in cases:
                    if client is None:  # the floor: near's own client, nothing published
                        client = lab.connect(near, compression=None)
                    in_lab(lab, latency(near, client, 50, text, everywhere))  # warm up
                    times = in_lab(lab, latency(near, client, args.count, text, everywhere))
                    rate = in_lab(lab, throughput(near, client, args.count, text, everywhere))
                    p50, p99 = percentile(times, 50), percentile(times, 99)
                    print(
                        f"{label:>22}: latency p50 {p50:.3f} ms, p99 {p99:.3f} ms; "
                        f"throughput {rate:,.0f} broadcasts/s ({args.count} × {args.size} B)"
                    )
        finally:
            far.stdin.close()
            far.wait(10)


if __name__ == "__main__":
    main()
