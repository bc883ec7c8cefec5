"""The throttled change feed (wslab/_feed.py): coalesced calls, kept apart, never stopped by an error."""

import itertools
import time
from collections.abc import Callable

from wslab._feed import Feed, Throttle
from wslab.recorder import LogicalClock, Recorder

WAIT = 3.0  # seconds: the longest any test waits for a timer thread


def wait_for(condition: Callable[[], bool], timeout: float = WAIT) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


def test_the_throttle_coalesces_many_pokes_and_keeps_calls_apart():
    calls = []
    throttle = Throttle(lambda: calls.append(time.monotonic()), interval=0.05)
    started = time.monotonic()
    for _ in range(1000):
        throttle.poke()
    poking = time.monotonic() - started
    assert wait_for(lambda: not throttle.pending and len(calls) >= 1)
    time.sleep(0.12)
    # the first poke at once, then at most one call per interval while pokes kept coming, then one
    assert 1 <= len(calls) <= 2 + int(poking / 0.05), (len(calls), poking)
    assert all(later - earlier >= 0.045 for earlier, later in itertools.pairwise(calls))
    throttle.close()


def test_a_raising_refresh_is_counted_and_the_next_one_still_runs():
    def broken() -> None:
        raise RuntimeError("boom")

    throttle = Throttle(broken, interval=0.01)
    throttle.poke()
    assert wait_for(lambda: throttle.calls == 1)
    throttle.poke()
    assert wait_for(lambda: throttle.calls == 2)
    assert throttle.errors == 2 and isinstance(throttle.last_error, RuntimeError)
    throttle.close()


def test_the_feed_hands_on_only_what_is_new_and_counts_what_the_ring_dropped():
    recorder = Recorder(clock=LogicalClock(), capacity=3)
    batches: list[tuple[list[int], int]] = []
    feed = Feed(recorder, lambda events, missed: batches.append(([e.seq for e in events], missed)), 60.0)
    feed.throttle.close()  # pumped by hand only: a first poke would otherwise pump at once, on a timer thread
    try:
        recorder.record(side="client", kind="open", endpoint="client")
        feed.pump()
        for _ in range(5):
            recorder.record(side="client", kind="ping", endpoint="client")
        feed.pump()
        feed.pump()
        assert batches == [([1], 0), ([4, 5, 6], 2), ([], 0)]
        assert feed.stats()["errors"] == 0
    finally:
        feed.close()
