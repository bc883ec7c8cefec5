"""Live views for the benchmarks: wslab's widgets when they exist, else a representative renderer.

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
    """What is attached to a lab: counts refreshes and the CPU time they took."""

    def __init__(self) -> None:
        self.refreshes = 0
        self.render_cpu = 0.0  # thread CPU seconds spent rendering (stand-in only)
        self._detach: list[Callable[[], None]] = []
        self.kind = ""
        self.last_html = ""

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
            self.views.render_cpu += time.thread_time() - cpu
            self.views.refreshes += 1
            self.stop.wait(period)

    def close(self) -> None:
        self.unsubscribe()
        self.stop.set()
        self.dirty.set()
        self.thread.join(2)


def _attach_widgets(lab: wslab.Lab, views: Views) -> bool:
    """Attach wslab's own live widgets (models updating, no browser); False if the API is unknown."""
    try:
        widgets: Any = importlib.import_module("wslab.widgets")
    except Exception:
        return False
    made: list[Any] = []
    for name in ("EventTable", "LiveEvents", "EventsView", "LiveTable", "Timeline", "ConnectionsView"):
        cls = getattr(widgets, name, None)
        if cls is None:
            continue
        try:
            made.append(cls(lab))
        except TypeError:
            try:
                made.append(cls(lab.recorder))
            except Exception:
                continue
    if not made:
        return False

    def count(_change: Any) -> None:
        views.refreshes += 1

    for view in made:
        widget = getattr(view, "widget", view)
        if hasattr(widget, "observe"):
            widget.observe(count, names="value")
    views.kind = "widgets: " + ", ".join(type(v).__name__ for v in made)

    def close() -> None:
        for view in made:
            for method in ("close", "detach", "stop"):
                fn = getattr(view, method, None)
                if callable(fn):
                    fn()
                    break

    views._detach.append(close)
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
