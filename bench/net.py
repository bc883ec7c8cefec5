"""Scenarios A-D: echo latency, pipelined throughput, fan-out and churn.

Every scenario is one coroutine run either in a fresh asyncio loop (plain ``websockets``, server
and client in that one loop) or on the lab's own loop thread (wslab), so the wslab numbers are the
cost of hooks + recorder on the hot path, not of the thread hop. The thread hop is what a learner's
blocking call adds on top: the ``learner`` variant measures it (``client.send`` from the main thread).
Compression: websockets' default (permessage-deflate) on both sides in every variant.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.asyncio.server import ServerConnection, serve

import wslab

from ._common import in_lab, noop_hook, payload, percentile, run_coro
from .views import attach_views

__all__ = ["BOTH_VARIANTS", "SERVER_VARIANTS", "scenario_a", "scenario_b", "scenario_c", "scenario_d"]

SERVER_VARIANTS = ("plain", "wslab-server", "wslab-server+views")
"""B and C: a plain client against a plain server, a wslab server (hooks + recorder), and that with views."""
BOTH_VARIANTS = ("plain", "wslab-server", "wslab", "wslab+views", "learner")
"""A and D add both ends wslab (``await client.asend`` on the lab's loop) and a learner's blocking call."""


# --- plain websockets servers ---------------------------------------------------------------------


async def _plain_echo(ws: ServerConnection) -> None:
    async for message in ws:
        await ws.send(message)


_cpu: list[float] = [0.0]  # process CPU seconds of the last timed region (all threads: loop, views)


def _url(server: Any) -> str:
    port = next(iter(server.sockets)).getsockname()[1]
    return f"ws://127.0.0.1:{port}/"


# --- wslab setup ----------------------------------------------------------------------------------


def _lab(views: bool) -> tuple[wslab.Lab, Callable[[], None]]:
    lab = wslab.Lab(name="bench", timeout=30.0, settle=30.0)
    detach: Callable[[], None] = lambda: None  # noqa: E731
    if views:
        detach = attach_views(lab).detach

    def done() -> None:
        detach()
        lab.close()

    return lab, done


async def _wslab_server(lab: wslab.Lab, **kwargs: Any) -> wslab.Server:
    server = await lab.aserve(**kwargs)
    server.on("message", noop_hook)
    server.on("send", noop_hook)
    return server


def _measure(variant: str, body: Callable[..., Awaitable[Any]], **kwargs: Any) -> Any:
    """Run ``body(make_server, lab_or_None)`` for one variant."""
    if variant == "plain":
        return run_coro(lambda: body(None, **kwargs))
    lab, done = _lab(views=variant.endswith("+views"))
    try:
        return in_lab(lab, body(lab, **kwargs))
    finally:
        done()


# --- A: sequential echo round trip ----------------------------------------------------------------


async def _plain_rtt(url: str, message: str, n: int) -> list[float]:
    lat: list[float] = []
    clock = time.perf_counter_ns
    async with connect(url) as ws:
        for _ in range(20):
            await ws.send(message)
            await ws.recv()
        c0 = time.process_time()
        for _ in range(n):
            t0 = clock()
            await ws.send(message)
            await ws.recv()
            lat.append(clock() - t0)
        _cpu[0] = time.process_time() - c0
    return lat


async def _a_body(lab: wslab.Lab | None, n: int, size: int, both: bool = True) -> list[float]:
    message = payload(size)
    lat: list[float] = []
    clock = time.perf_counter_ns
    if lab is None:
        async with serve(_plain_echo, "127.0.0.1", 0) as server:
            return await _plain_rtt(_url(server), message, n)
    server = await _wslab_server(lab, echo="{}")
    if not both:
        return await _plain_rtt(server.url, message, n)
    client = await lab.aconnect(server)
    client.on("message", noop_hook)
    for _ in range(20):
        await client.asend(message)
        await client.arecv()
    c0 = time.process_time()
    for _ in range(n):
        t0 = clock()
        await client.asend(message)
        await client.arecv()
        lat.append(clock() - t0)
    _cpu[0] = time.process_time() - c0
    await client.aclose()
    return lat


def _a_learner(n: int, size: int, views: bool) -> list[float]:
    """What a notebook cell pays: the blocking ``client.send`` + ``client.recv`` from the main thread."""
    message = payload(size)
    lab, done = _lab(views)
    try:
        server = lab.serve(echo="{}")
        server.on("message", noop_hook)
        server.on("send", noop_hook)
        client = lab.connect(server)
        client.on("message", noop_hook)
        for _ in range(20):
            client.send(message)
            client.recv()
        lat: list[float] = []
        clock = time.perf_counter_ns
        c0 = time.process_time()
        for _ in range(n):
            t0 = clock()
            client.send(message)
            client.recv()
            lat.append(clock() - t0)
        _cpu[0] = time.process_time() - c0
        client.close()
        return lat
    finally:
        done()


def scenario_a(variant: str, n: int) -> dict[str, float]:
    """Sequential echo of 32 B: p50 and p99 round trip in µs."""
    if variant.startswith("learner"):
        lat = _a_learner(n, 32, views=variant.endswith("+views"))
    else:
        lat = _measure(variant, _a_body, n=n, size=32, both=variant != "wslab-server")
    return {
        "p50": percentile(lat, 50) / 1000,
        "p99": percentile(lat, 99) / 1000,
        "cpu µs/round trip": _cpu[0] / n * 1e6,
    }


# --- B: pipelined echo throughput (a plain client against the server under test) -----------------


async def _pipeline(url: str, message: str, n: int) -> float:
    async with connect(url) as ws:
        for _ in range(10):
            await ws.send(message)
            await ws.recv()

        async def receive(ws: ClientConnection) -> None:
            for _ in range(n):
                await ws.recv()

        t0, c0 = time.perf_counter(), time.process_time()
        reader = asyncio.create_task(receive(ws))
        for _ in range(n):
            await ws.send(message)
        await reader
        _cpu[0] = time.process_time() - c0
        return n / (time.perf_counter() - t0)


async def _b_body(lab: wslab.Lab | None, n: int, size: int) -> float:
    message = payload(size)
    if lab is None:
        async with serve(_plain_echo, "127.0.0.1", 0) as server:
            return await _pipeline(_url(server), message, n)
    server = await _wslab_server(lab, echo="{}")
    try:
        return await _pipeline(server.url, message, n)
    finally:
        await server.aclose()


def scenario_b(variant: str, n_small: int, n_large: int) -> dict[str, float]:
    """Pipelined echo: messages/s for 32 B and 16 KiB."""
    small = _measure(variant, _b_body, n=n_small, size=32)
    small_cpu = _cpu[0] / n_small * 1e6
    large = _measure(variant, _b_body, n=n_large, size=16 * 1024)
    return {
        "32B msg/s": small,
        "16KiB msg/s": large,
        "32B cpu µs/msg": small_cpu,
        "16KiB cpu µs/msg": _cpu[0] / n_large * 1e6,
    }


# --- C: fan-out -----------------------------------------------------------------------------------


async def _fan_clients(url: str, clients: int, expected: int) -> tuple[list[ClientConnection], asyncio.Event]:
    done = asyncio.Event()
    counts = [0]
    total = clients * expected

    async def reader(ws: ClientConnection) -> None:
        async for _ in ws:
            counts[0] += 1
            if counts[0] == total:
                done.set()

    conns: list[ClientConnection] = []
    for start in range(0, clients, 50):
        batch = await asyncio.gather(
            *(connect(url, open_timeout=60) for _ in range(min(50, clients - start)))
        )
        conns.extend(batch)
    for ws in conns:
        asyncio.get_running_loop().create_task(reader(ws))
    return conns, done


async def _close_all(conns: list[ClientConnection]) -> None:
    for start in range(0, len(conns), 100):
        await asyncio.gather(*(ws.close() for ws in conns[start : start + 100]))


async def _c_body(lab: wslab.Lab | None, clients: int, broadcasts: int) -> float:
    message = payload(64)
    if lab is None:
        peers: set[ServerConnection] = set()

        async def handler(ws: ServerConnection) -> None:
            peers.add(ws)
            try:
                await ws.wait_closed()
            finally:
                peers.discard(ws)

        async with serve(handler, "127.0.0.1", 0) as server:
            conns, done = await _fan_clients(_url(server), clients, broadcasts)
            for _ in range(1000):
                if len(peers) == clients:
                    break
                await asyncio.sleep(0.01)
            t0, c0 = time.perf_counter(), time.process_time()
            for _ in range(broadcasts):
                for ws in list(peers):
                    await ws.send(message)
            await asyncio.wait_for(done.wait(), 120)
            rate = clients * broadcasts / (time.perf_counter() - t0)
            _cpu[0] = time.process_time() - c0
            await _close_all(conns)
            return rate
    server = await _wslab_server(lab, echo=None)
    conns, done = await _fan_clients(server.url, clients, broadcasts)
    for _ in range(1000):
        if len(server.connections) == clients:
            break
        await asyncio.sleep(0.01)
    t0, c0 = time.perf_counter(), time.process_time()
    for _ in range(broadcasts):
        await server.abroadcast(message)
    await asyncio.wait_for(done.wait(), 120)
    rate = clients * broadcasts / (time.perf_counter() - t0)
    _cpu[0] = time.process_time() - c0
    await _close_all(conns)
    await server.aclose()
    return rate


def scenario_c(variant: str, clients: int, broadcasts: int) -> dict[str, float]:
    """Fan-out: deliveries/s of ``broadcasts`` × 64 B to ``clients`` plain clients."""
    rate = _measure(variant, _c_body, clients=clients, broadcasts=broadcasts)
    return {"deliveries/s": rate, "cpu µs/delivery": _cpu[0] / (clients * broadcasts) * 1e6}


# --- D: churn -------------------------------------------------------------------------------------


async def _d_body(lab: wslab.Lab | None, n: int, both: bool = True) -> float:
    if lab is None:
        async with serve(_plain_echo, "127.0.0.1", 0) as server:
            url = _url(server)
            t0, c0 = time.perf_counter(), time.process_time()
            for _ in range(n):
                ws = await connect(url)
                await ws.close()
            _cpu[0] = time.process_time() - c0
            return n / (time.perf_counter() - t0)
    server = await _wslab_server(lab, echo="{}")
    t0, c0 = time.perf_counter(), time.process_time()
    for _ in range(n):
        if both:
            client = await lab.aconnect(server)
            await client.aclose()
        else:
            ws = await connect(server.url)
            await ws.close()
    rate = n / (time.perf_counter() - t0)
    _cpu[0] = time.process_time() - c0
    await server.aclose()
    return rate


def _d_learner(n: int) -> float:
    lab, done = _lab(views=False)
    try:
        server = lab.serve(echo="{}")
        t0, c0 = time.perf_counter(), time.process_time()
        for _ in range(n):
            lab.connect(server).close()
        _cpu[0] = time.process_time() - c0
        return n / (time.perf_counter() - t0)
    finally:
        done()


def scenario_d(variant: str, n: int) -> dict[str, float]:
    """Churn: sequential connect + close cycles/s (``wslab-server``: a plain client churning)."""
    if variant == "learner":
        rate = _d_learner(n)
    else:
        rate = _measure(variant, _d_body, n=n, both=variant != "wslab-server")
    return {"cycles/s": rate, "cpu µs/cycle": _cpu[0] / n * 1e6}
