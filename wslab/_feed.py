"""The throttled change feed that live views read: threads and a recorder, no widgets.

A recorder's callbacks may arrive on any thread (the lab's loop thread, mostly). A callback only
pokes a :class:`Throttle`; at most every ``interval`` seconds a timer thread reads the new events
with ``recorder.since(seq)`` and hands them on. So a burst of thousands of events costs a few
refreshes, and the kernel stays free.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Protocol

from .events import Event
from .recorder import Recorder

__all__ = ["Feed", "Source", "Throttle", "recorder_of"]


class _HasRecorder(Protocol):
    @property
    def recorder(self) -> Recorder: ...


Source = Recorder | _HasRecorder
"""A recorder, or anything that has one (a :class:`~wslab.lab.Lab`)."""


def recorder_of(source: Source) -> Recorder:
    """The recorder itself, or the one ``source`` has."""
    return source if isinstance(source, Recorder) else source.recorder


class Throttle:
    """Coalesce many :meth:`poke` calls into at most one call of ``fn`` per ``interval`` seconds.

    ``poke`` is cheap and safe from any thread; ``fn`` runs on a short-lived timer thread. A
    ``fn`` that raises is counted in ``errors`` and never stops later calls.
    """

    def __init__(self, fn: Callable[[], None], interval: float = 0.1) -> None:
        self._fn = fn
        self.interval = interval
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None
        self._last = float("-inf")
        self._closed = False
        self.calls = 0
        self.errors = 0
        self.last_error: BaseException | None = None

    def poke(self) -> None:
        """Ask for a call soon (no sooner than ``interval`` after the previous one)."""
        with self._lock:
            if self._closed or self._timer is not None:
                return
            delay = max(0.0, self._last + self.interval - time.monotonic())
            timer = threading.Timer(delay, self._fire)
            timer.daemon = True
            timer.name = "wslab-view-refresh"
            self._timer = timer
            timer.start()

    @property
    def pending(self) -> bool:
        """Whether a call is scheduled and has not run yet."""
        return self._timer is not None

    def _fire(self) -> None:
        with self._lock:
            self._timer = None
            if self._closed:
                return
            self._last = time.monotonic()
        self._call()

    def _call(self) -> None:
        try:
            self._fn()
        except Exception as exc:  # a broken view must not kill the timer thread loudly
            self.errors += 1
            self.last_error = exc
        self.calls += 1

    def flush(self) -> None:
        """Cancel any scheduled call and call ``fn`` now, on this thread."""
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            if self._closed:
                return
            self._last = time.monotonic()
        self._call()

    def close(self) -> None:
        """No more calls."""
        with self._lock:
            self._closed = True
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None


class Feed:
    """Follows a recorder: new events since the last look, handed to ``on_events`` throttled.

    ``on_events(events, missed)`` runs on the throttle's thread (or the caller's, for ``throttle.flush()``);
    ``missed`` counts events the recorder's ring dropped before the feed read them.
    """

    def __init__(
        self, recorder: Recorder, on_events: Callable[[list[Event], int], None], interval: float
    ) -> None:
        self.recorder = recorder
        self.seq = 0
        self._on_events = on_events
        self._lock = threading.RLock()
        self.throttle = Throttle(self.pump, interval)
        self.render_seconds: deque[float] = deque(maxlen=200)
        self.total_seconds = 0.0
        self._unsubscribe: Callable[[], None] | None = recorder.subscribe(self._poke)

    def _poke(self, event: Event) -> None:
        self.throttle.poke()

    def pump(self) -> None:
        """Read what is new and hand it on (also when nothing is: filters may have changed)."""
        with self._lock:
            started = time.perf_counter()
            new = self.recorder.since(self.seq)
            missed = 0
            if new:
                missed = max(0, new[0].seq - self.seq - 1)  # dropped by the ring before we looked
                self.seq = new[-1].seq
            self._on_events(new, missed)
            took = time.perf_counter() - started
            self.render_seconds.append(took)
            self.total_seconds += took

    def stats(self) -> dict[str, float]:
        """Refreshes so far and their time in ms (mean and max over the last 200; total over all)."""
        times = list(self.render_seconds)
        return {
            "refreshes": self.throttle.calls,
            "errors": self.throttle.errors,
            "last_ms": times[-1] * 1000 if times else 0.0,
            "mean_ms": sum(times) / len(times) * 1000 if times else 0.0,
            "max_ms": max(times) * 1000 if times else 0.0,
            "total_ms": self.total_seconds * 1000,
        }

    def close(self) -> None:
        self.throttle.close()
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
