"""Scenario G: live views under a 10k events/s burst.

The burst is recorded on the lab's loop thread (as real traffic would be), paced in 10 ms steps.
Meanwhile a cell-like coroutine on the main thread's own loop (the kernel's) sleeps 5 ms again and
again; how late it wakes is the kernel's responsiveness. Rendering CPU is the process CPU time with
views attached minus the same burst without views, as a share of one core.
"""

from __future__ import annotations

import asyncio
import resource
import time

import wslab

from ._common import payload, percentile
from .views import attach_views

__all__ = ["burst"]


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def _record_burst(lab: wslab.Lab, seconds: float, rate: int) -> int:
    record = lab.recorder.record
    data = payload(32)
    step = 0.01
    per_step = int(rate * step)
    start = time.perf_counter()
    steps = int(seconds / step)
    for k in range(steps):
        for _ in range(per_step):
            record(
                side="server", kind="message", endpoint="server", conn="c1", peer="client", data=data, size=32
            )
        delay = start + (k + 1) * step - time.perf_counter()
        await asyncio.sleep(max(0.0, delay))
    return steps * per_step


async def _probe(seconds: float) -> list[float]:
    lateness: list[float] = []
    nap = 0.005
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        t0 = time.perf_counter()
        await asyncio.sleep(nap)
        lateness.append(time.perf_counter() - t0 - nap)
    return lateness


def burst(seconds: float, rate: int, views: bool) -> dict[str, float]:
    """One burst; returns events/s achieved, refreshes/s, lateness p99/max (ms), CPU share (%)."""
    lab = wslab.Lab(name="bench-g", capacity=100_000)
    attached = attach_views(lab) if views else None
    try:
        time.sleep(0.05)
        cpu0, t0 = _cpu(), time.perf_counter()
        refresh0 = attached.refreshes if attached else 0
        future = asyncio.run_coroutine_threadsafe(_record_burst(lab, seconds, rate), lab._loop.loop)
        lateness = asyncio.run(_probe(seconds))
        recorded = future.result(seconds * 10 + 10)
        wall = time.perf_counter() - t0
        cpu = _cpu() - cpu0
        refreshes = (attached.refreshes - refresh0) if attached else 0
        return {
            "events/s": recorded / wall,
            "refreshes/s": refreshes / wall,
            "lateness p99 ms": percentile(lateness, 99) * 1000,
            "lateness max ms": max(lateness) * 1000,
            "cpu %": cpu / wall * 100,
            "render time %": (attached.render_seconds / wall * 100) if attached else 0.0,
        }
    finally:
        if attached:
            attached.detach()
        lab.close()
