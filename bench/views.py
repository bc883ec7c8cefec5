"""Live views for the benchmarks: wslab's widgets (``lab.show()``), else a representative renderer.

The stand-in does what a live table widget must do: the recorder calls it with every event (on the
lab's loop thread); it only marks itself dirty; a refresher re-renders ``EventLog.to_html`` of the
last 50 events at most 10 times a second, off the hot path. ``Views.refreshes`` counts renders.
"""

from __future__ import annotations

import importlib.util
import threading
import time
from collections.abc import Callable
from typing import Any

import wslab
from wslab.eventlog import EventLog
from wslab.recorder import clock_unit

__all__ = ["Views", "attach_views", "views_kind"]

RATE = 10.0  # refreshes per second, at most
LAST = 50  # events shown


def views_kind() -> str:
    """``"widgets"`` when wslab/widgets.py is importable, else ``"stand-in renderer"``."""
    return "widgets" if importlib.util.find_spec("wslab.widgets") is not None else "stand-in renderer"


class Views:
    """What is attached to a lab: counts refreshes and the time they took."""

    def __init__(self) -> None:
        self._refreshes = 0
        self._render_seconds = 0.0  # time spent rendering (stand-in: thread CPU; widgets: wall)
        self._detach: list[Callable[[], None]] = []
        self._stats: Callable[[], dict[str, float]] | None = None
        self.kind = ""
        self.last_html = ""

    @property
    def refreshes(self) -> int:
        if self._stats is not None:
            return int(self._stats().get("refreshes", 0))
        return self._refreshes

    @property
    def render_seconds(self) -> float:
        if self._stats is not None:
            stats = self._stats()
            return stats.get("mean_ms", 0.0) * stats.get("refreshes", 0) / 1000
        return self._render_seconds

    def detach(self) -> None:
        for undo in reversed(self._detach):
            undo()
        self._detach.clear()


class _StandIn:
    def __init__(self, recorder: wslab.Recorder, views: Views) -> None:
        self.recorder = recorder
        self.views = views
        self.dirty = threading.Event()
        self.stop = threading.Event()
        self.unsubscribe = recorder.subscribe(self.on_event)
        self.thread = threading.Thread(target=self.refresh_loop, name="bench-views", daemon=True)
        self.thread.start()

    def on_event(self, event: wslab.Event) -> None:
        self.dirty.set()

    def refresh_loop(self) -> None:
        period = 1.0 / RATE
        while not self.stop.is_set():
            if not self.dirty.wait(0.05):
                continue
            self.dirty.clear()
            cpu = time.thread_time()
            recorder = self.recorder
            events = recorder.since(max(0, recorder.total - LAST))
            log = EventLog(tuple(events), dropped=recorder.dropped, time_unit=clock_unit(recorder.clock))
            self.views.last_html = log.to_html(limit=LAST)
            self.views._render_seconds += time.thread_time() - cpu
            self.views._refreshes += 1
            self.stop.wait(period)

    def close(self) -> None:
        self.unsubscribe()
        self.stop.set()
        self.dirty.set()
        self.thread.join(2)


def _attach_widgets(lab: wslab.Lab, views: Views) -> bool:
    """Attach ``lab.show()``: wslab's panel + diagram + table, models updating, no browser."""
    if views_kind() != "widgets" or not hasattr(lab, "show"):
        return False
    view: Any = lab.show()
    if not callable(getattr(view, "stats", None)):
        view.close()
        return False
    views._stats = view.stats
    views.kind = f"widgets: lab.show() ({type(view).__name__}: panel, diagram, table; throttled)"
    views._detach.append(view.close)
    return True


def attach_views(lab: wslab.Lab) -> Views:
    """Attach live views to ``lab``: the real widgets if available, else the stand-in renderer."""
    views = Views()
    if _attach_widgets(lab, views):
        return views
    standin = _StandIn(lab.recorder, views)
    views.kind = "stand-in renderer (EventLog.to_html of the last 50 events, <= 10/s)"
    views._detach.append(standin.close)
    return views
