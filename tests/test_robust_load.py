"""Load and churn, bounded for a small shared machine: many clients at once, many connections one
after the other, a burst of messages. No lost event, memory bounded, nothing leaked after close().

Each test prints what it measured (run with ``-s`` to see it); the slow ones are marked ``slow``.
"""

from __future__ import annotations

import asyncio
import gc
import os
import resource
import threading
import time

import pytest
from websockets.asyncio.client import ClientConnection, connect

import wslab
import wslab.server

TIMEOUT = 5.0
SETTLE = 2.0


def rss_mib() -> float:
    """Resident memory of this process, from /proc/self/statm."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def lab_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("wslab-") and t.is_alive()]


def ensure_fds(needed: int) -> None:
    """Raise the soft RLIMIT_NOFILE to what the test needs, or skip if the hard limit is lower."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= needed:
        return
    if hard != resource.RLIM_INFINITY and hard < needed:
        pytest.skip(f"needs {needed} file descriptors, the hard limit is {hard}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))


def assert_contiguous(lab: wslab.Lab) -> None:
    """Every kept event numbered one after the other; what the ring let go is counted exactly."""
    seqs = [e.seq for e in lab.events]
    assert seqs == list(range(lab.recorder.total - len(seqs) + 1, lab.recorder.total + 1))
    assert lab.recorder.dropped == lab.recorder.total - len(seqs)


def assert_nothing_left(lab: wslab.Lab, fds_before: int, threads_before: list[str]) -> None:
    loop = lab.bridge.loop.loop
    lab.close()
    assert loop.is_closed()
    assert [t for t in asyncio.all_tasks(loop) if not t.done()] == []
    assert lab_threads() == threads_before
    deadline = time.monotonic() + 2.0
    while open_fds() > fds_before and time.monotonic() < deadline:
        time.sleep(0.02)
    assert open_fds() <= fds_before, f"{open_fds() - fds_before} file descriptors leaked"


@pytest.mark.slow
def test_a_thousand_concurrent_clients_each_get_their_echo() -> None:
    clients = 1000
    ensure_fds(4 * clients + 256)
    fds_before, threads_before = open_fds(), lab_threads()
    lab = wslab.Lab(clock="logical", timeout=TIMEOUT, settle=SETTLE, name="load-concurrent")
    server = lab.serve()
    healthy = lab.connect(server, name="healthy")

    async def crowd() -> list[str | bytes]:
        async def one(i: int) -> str | bytes:
            async with connect(server.url, open_timeout=60, close_timeout=10) as ws:
                await ws.send(f"client {i}")
                return await ws.recv()

        return await asyncio.gather(*(one(i) for i in range(clients)))

    started = time.monotonic()
    replies = asyncio.run(crowd())
    took = time.monotonic() - started
    assert sorted(replies) == sorted(f"Serveur a reçu : client {i}" for i in range(clients))
    healthy.send("after the crowd")
    assert healthy.recv() == "Serveur a reçu : after the crowd"
    lab.settle()
    assert len(lab.events.filter(side="server", kind="connection")) == clients + 1
    server_closes = lab.events.filter(side="server", kind="close")
    assert len(server_closes) == clients and {e.code for e in server_closes} == {1000}
    assert not lab.events.filter(kind="error")
    assert len(server.connections) == 1
    assert_contiguous(lab)
    print(f"\n{clients} concurrent clients: {took:.2f} s, {clients / took:.0f} handshakes/s")
    assert_nothing_left(lab, fds_before, threads_before)


@pytest.mark.slow
def test_ten_thousand_connect_close_cycles_leak_nothing() -> None:
    """10,000 websockets clients, one after the other, in one coroutine: the lab's sync API
    costs a thread hand-off per call (about 2x slower), so it churns 1,000 below instead."""
    cycles = 10_000
    fds_before, threads_before = open_fds(), lab_threads()
    capacity = 20_000  # smaller than the 40,000 events: the ring must drop, and count it
    lab = wslab.Lab(clock="logical", timeout=TIMEOUT, settle=SETTLE, capacity=capacity, name="load-churn")
    server = lab.serve()
    gc.collect()
    fds_open, rss_before = open_fds(), rss_mib()

    async def churn() -> int:
        most = 0
        for i in range(cycles):
            async with connect(server.url):
                pass
            if i % 1000 == 0:
                most = max(most, open_fds())
        return most

    started = time.monotonic()
    most_fds = asyncio.run(churn())
    took = time.monotonic() - started
    lab.settle()
    gc.collect()
    rss_after = rss_mib()
    assert most_fds <= fds_open + 4, "sockets pile up during the churn"
    assert wait_for_fds(fds_open + 1)
    assert len(server.connections) == 0 and len(server.registry) == wslab.server.KEEP_CLOSED
    assert len(lab.events) == capacity and lab.recorder.dropped == lab.recorder.total - capacity > 0
    assert_contiguous(lab)
    closes = lab.events.filter(kind="close")
    assert len(closes) > 0 and {e.code for e in closes} == {1000}
    assert not lab.events.filter(kind="error")
    per_connection = (rss_after - rss_before) * 1024 / cycles
    print(
        f"\n{cycles} websockets connect/close cycles: {took:.1f} s ({cycles / took:.0f}/s), "
        f"{lab.recorder.total} events, {lab.recorder.dropped} dropped by the ring, "
        f"RSS {rss_before:.0f} → {rss_after:.0f} MiB ({per_connection:.1f} KiB per connection), "
        f"fds {fds_open} → {open_fds()}"
    )
    assert per_connection < 20, "closed connections are not let go"
    assert_nothing_left(lab, fds_before, threads_before)


@pytest.mark.slow
def test_a_thousand_lab_clients_one_after_the_other_leak_nothing() -> None:
    cycles = 1000
    fds_before, threads_before = open_fds(), lab_threads()
    lab = wslab.Lab(clock="logical", timeout=TIMEOUT, settle=SETTLE, name="load-lab-churn")
    server = lab.serve()
    gc.collect()
    fds_open, rss_before = open_fds(), rss_mib()
    started = time.monotonic()
    for i in range(cycles):
        client = lab.connect(server)
        client.close()
        if i % 250 == 0:
            assert open_fds() <= fds_open + 2, "a cycle kept its socket"
    took = time.monotonic() - started
    gc.collect()
    rss_after = rss_mib()
    assert [e.code for e in lab.events.filter(kind="close")] == [1000] * (2 * cycles)
    assert not lab.events.filter(kind="error")
    assert_contiguous(lab)
    per_connection = (rss_after - rss_before) * 1024 / cycles
    print(
        f"\n{cycles} lab.connect/close cycles: {took:.1f} s ({cycles / took:.0f}/s), "
        f"RSS {rss_before:.0f} → {rss_after:.0f} MiB ({per_connection:.1f} KiB per closed pair kept)"
    )
    assert per_connection < 60, "each closed client and peer keeps more than it needs"
    assert_nothing_left(lab, fds_before, threads_before)


def wait_for_fds(limit: int, timeout: float = 2.0) -> bool:
    deadline = time.monotonic() + timeout
    while open_fds() > limit and time.monotonic() < deadline:
        time.sleep(0.02)
    return open_fds() <= limit


@pytest.mark.slow
def test_a_burst_of_a_hundred_thousand_messages_loses_no_event() -> None:
    messages = 100_000
    fds_before, threads_before = open_fds(), lab_threads()
    gc.collect()
    rss_before = rss_mib()
    lab = wslab.Lab(clock="logical", timeout=TIMEOUT, settle=SETTLE, name="load-burst")
    server = lab.serve()
    healthy = lab.connect(server, name="healthy")
    first_seq = lab.recorder.total

    async def burst() -> list[str | bytes]:
        async with connect(server.url, max_queue=None) as ws:

            async def read(ws: ClientConnection) -> list[str | bytes]:
                return [await ws.recv() for _ in range(messages)]

            reader = asyncio.create_task(read(ws))
            for i in range(messages):
                await ws.send(f"m{i}")
            return await reader

    started = time.monotonic()
    replies = asyncio.run(burst())
    took = time.monotonic() - started
    rss_peak = rss_mib()
    assert replies == [f"Serveur a reçu : m{i}" for i in range(messages)]
    healthy.send("still here")
    assert healthy.recv() == "Serveur a reçu : still here"
    lab.settle()
    recorder = lab.recorder
    assert recorder.total >= first_seq + 2 * messages  # a message and a send per message
    assert_contiguous(lab)
    assert recorder.dropped > 0 and len(lab.events) == recorder.capacity
    kept = [e for e in lab.events.filter(side="server", kind="message") if str(e.data).startswith("m")]
    numbers = [int(str(e.data)[1:]) for e in kept]
    assert numbers == list(range(messages - len(numbers), messages))  # the newest, in order, no gap
    text = lab.events[-200:].to_text()
    assert "Serveur a reçu" in text
    print(
        f"\nburst of {messages} messages: {took:.1f} s ({messages / took:.0f} msg/s), "
        f"{recorder.total} events, {recorder.dropped} dropped by the ring (capacity {recorder.capacity}), "
        f"RSS {rss_before:.0f} → {rss_peak:.0f} MiB"
    )
    assert rss_peak - rss_before < 300, "memory grew beyond what the bounded ring explains"
    assert_nothing_left(lab, fds_before, threads_before)
    del lab, kept, replies
    gc.collect()
    print(f"RSS after close and collection: {rss_mib():.0f} MiB")


def test_a_small_burst_through_the_lab_client_keeps_every_event_in_order() -> None:
    lab = wslab.Lab(clock="logical", timeout=TIMEOUT, settle=SETTLE, name="load-small")
    server = lab.serve()
    client = lab.connect(server)

    async def send_all() -> None:
        for i in range(500):
            await client.asend(f"n{i}")

    asyncio.run(send_all())
    got = [client.recv() for _ in range(500)]
    assert got == [f"Serveur a reçu : n{i}" for i in range(500)]
    sends = [e.data for e in lab.events.filter(side="client", kind="send")]
    assert sends == [f"n{i}" for i in range(500)]
    assert_contiguous(lab)
    lab.close()
