"""Scenario E: what the recorder keeps per event, and that the ring bounds it at 1M events.

Events share the payload object they were given (no copy), so the cost measured here is the
event itself plus its slot in the ring; the payload string is made once, outside the measure.
"""

from __future__ import annotations

import gc
import time
import tracemalloc

from wslab.recorder import LogicalClock, Recorder, WallClock

from ._common import payload

__all__ = ["record_rate", "scenario_e"]


def _fill(recorder: Recorder, n: int, data: str) -> None:
    record = recorder.record
    for _ in range(n):
        record(side="server", kind="message", endpoint="server", conn="c1", peer="client", data=data, size=32)


def bytes_per_event(n: int) -> float:
    data = payload(32)
    recorder = Recorder(capacity=n, clock=WallClock())
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    _fill(recorder, n, data)
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    assert len(recorder) == n
    return (after - before) / n


def at_many(total: int, capacity: int) -> tuple[float, int]:
    """MiB held after ``total`` events through a ring of ``capacity``; and how many were dropped."""
    data = payload(32)
    recorder = Recorder(capacity=capacity, clock=LogicalClock())
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    _fill(recorder, total, data)
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    return (after - before) / 2**20, recorder.dropped


def record_rate(n: int) -> float:
    """Microseconds per ``Recorder.record`` call (no tracemalloc), no subscribers."""
    data = payload(32)
    recorder = Recorder(capacity=n, clock=WallClock())
    t0 = time.perf_counter()
    _fill(recorder, n, data)
    return (time.perf_counter() - t0) / n * 1e6


def scenario_e(n: int, total: int, capacity: int) -> dict[str, float]:
    mib, dropped = at_many(total, capacity)
    return {
        "B/event": bytes_per_event(n),
        f"MiB at {total:,} events": mib,
        "dropped": float(dropped),
        "µs/record": record_rate(n),
    }
