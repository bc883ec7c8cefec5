"""Live views of a lab: the event table, the sequence diagram and the connection panel.

This is the only module that imports ipywidgets (the lab imports it on first use). Views know
nothing of sockets, and little else: a :class:`~wslab._feed.Feed` follows the recorder (its
callbacks may arrive on any thread) and hands a view the new events at most every ``interval``
seconds; the view folds them into a bounded window and replaces one HTML value, drawn by
:mod:`wslab.render` (the tables) and :mod:`wslab.diagram`. So the cost of a refresh depends on the
window, not on how long the session has been running. Updates travel as widget state (comm
messages), never as ``update_display_data`` or ``clear_output``, so notebooks with these views pass
strict nbval.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Any

import ipywidgets as widgets  # type: ignore[import-untyped]

from ._feed import Feed, Source, Throttle, recorder_of
from .diagram import DEFAULT_WINDOW, Detail, Diagram, sequence_text
from .eventlog import EventLog
from .events import KINDS, SIDES, Event
from .i18n import language
from .lifecycle import ConnectionBook, ConnectionSummary
from .recorder import Recorder, clock_unit
from .render import (
    ALL,
    conn_key,
    filter_options,
    latest_rows,
    panel_html,
    panel_text,
    table_html,
    table_text,
)

__all__ = [
    "ConnectionPanel",
    "DiagramView",
    "EventTable",
    "LabView",
    "Throttle",
    "show",
]


class _Live:
    """What every view shares: a feed (unless a parent feeds it), flush before display, close."""

    _feed: Feed | None
    _lock: threading.RLock
    _owner: _Live | None = None  # the LabView that feeds this part, if any
    _lang: str | None = None  # the lab's language (None: the process's)

    def _start(self, recorder: Recorder, interval: float, live: bool) -> None:
        self._lock = threading.RLock()
        self._lang = recorder.lang
        self._feed = Feed(recorder, self._receive, interval) if live else None
        if self._feed is not None:
            self._feed.throttle.flush()
        else:
            with language(self._lang):
                self._render()

    def _receive(self, events: list[Event], missed: int) -> None:
        with self._lock, language(self._lang):
            self._absorb(events, missed)
            self._render()

    def _absorb(self, events: list[Event], missed: int) -> None:
        raise NotImplementedError

    def _render(self) -> None:
        raise NotImplementedError

    def refresh(self) -> None:
        """Bring the view up to date now (normally a timer does it within ``interval``)."""
        if self._feed is not None:
            self._feed.throttle.flush()
        elif self._owner is not None:
            self._owner.refresh()

    def stats(self) -> dict[str, float]:
        """How many refreshes ran and how long they took."""
        return self._feed.stats() if self._feed is not None else {}

    def _stop(self) -> None:
        if self._feed is not None:
            self._feed.close()

    def _close_parts(self) -> None:
        """Close the widgets this view is made of (none by default)."""

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        self.refresh()  # what is displayed, widget and plain text alike, is up to date
        data: dict[str, Any] = widgets.DOMWidget._repr_mimebundle_(self, include=include, exclude=exclude)
        if data:
            data["text/plain"] = repr(self)
        return data

    def close(self) -> None:
        """Stop following the recorder and close the widget, its parts, and their layout and style."""
        self._stop()
        self._close_parts()
        _close_own(self)
        super().close()  # type: ignore[misc]


def _close_all(widget: Any) -> None:
    """Close a widget, its children, and their layout and style models (widgets too)."""
    for child in getattr(widget, "children", ()):
        _close_all(child)
    _close_own(widget)
    widget.close()


def _close_own(widget: Any) -> None:
    for name in ("layout", "style"):
        part = getattr(widget, name, None)
        if isinstance(part, widgets.Widget):
            part.close()


# --- the event table ------------------------------------------------------------------------------


class EventTable(_Live, widgets.VBox):  # type: ignore[misc]
    """One row per event, newest at the bottom, live; filters by side, event kind and connection.

    Shows the last ``rows`` matching events (a line says how many older ones are hidden) from a
    memory of the last ``memory`` events, so a refresh costs the same after a million events.
    """

    def __init__(
        self,
        source: Source,
        *,
        rows: int = 20,
        memory: int = 5_000,
        limit: int = 40,
        interval: float = 0.1,
        live: bool = True,
    ) -> None:
        recorder = recorder_of(source)
        self.rows = rows
        self.limit = limit
        self.time_unit = clock_unit(recorder.clock)
        self._events: deque[Event] = deque(maxlen=memory)
        self._seen = 0
        self._missed = 0
        self._sides: set[str] = set()
        self._kinds: set[str] = set()
        self._conns: set[str] = set()
        self._shown = EventLog((), time_unit=self.time_unit)
        self._hidden = 0
        self._quiet = False
        dropdown = {"layout": widgets.Layout(width="170px"), "style": {"description_width": "40px"}}
        self.side = widgets.Dropdown(options=filter_options(()), value="", description="side", **dropdown)
        self.kind = widgets.Dropdown(options=filter_options(()), value="", description="event", **dropdown)
        self.conn = widgets.Dropdown(options=filter_options(()), value="", description="conn", **dropdown)
        self.html = widgets.HTML(value="")
        super().__init__(children=[widgets.HBox([self.side, self.kind, self.conn]), self.html])
        self.add_class("wslab-event-table")
        for control in (self.side, self.kind, self.conn):
            control.observe(self._filter_changed, names="value")
        self._start(recorder, interval, live)

    # filters -----------------------------------------------------------------------------------

    def set_filter(
        self, *, side: str | None = None, kind: str | None = None, conn: str | None = None
    ) -> None:
        """Show only one side / event kind / connection (``"all"`` or ``""`` clears one)."""
        with self._lock:
            for control, value, known in ((self.side, side, self._sides), (self.kind, kind, self._kinds),
                                          (self.conn, conn, self._conns)):  # fmt: skip
                if value is None:
                    continue
                value = "" if value == ALL else value
                if value and value not in known:  # allowed before it shows up: add it
                    known.add(value)
                    self._updatefilter_options()
                control.value = value

    def _filter_changed(self, change: dict[str, Any]) -> None:
        if self._quiet:
            return
        with self._lock:
            self._render()

    def _criteria(self) -> tuple[str | None, str | None, str | None]:
        return (self.side.value or None, self.kind.value or None, self.conn.value or None)

    def _updatefilter_options(self) -> None:
        pairs = (
            (self.side, [s for s in SIDES if s in self._sides]),
            (self.kind, [k for k in KINDS if k in self._kinds]),
            (self.conn, sorted(self._conns, key=conn_key)),
        )
        self._quiet = True
        try:
            for control, values in pairs:
                options = filter_options(values)
                if list(control.options) != options:
                    value = control.value
                    control.options = options
                    control.value = value if value in {v for _, v in options} else ""
        finally:
            self._quiet = False

    # feed ----------------------------------------------------------------------------------------

    def _absorb(self, events: list[Event], missed: int) -> None:
        self._missed += missed
        self._seen += len(events)
        grown = False
        for e in events[-(self._events.maxlen or len(events)) :]:
            self._events.append(e)
        for e in events:
            for known, value in ((self._sides, e.side), (self._kinds, e.kind), (self._conns, e.conn)):
                if value is not None and value not in known:
                    known.add(value)
                    grown = True
        if grown:
            self._updatefilter_options()

    def _render(self) -> None:
        side, kind, conn = self._criteria()
        picked, hidden = latest_rows(
            self._events, self.rows, seen=self._seen, side=side, kind=kind, conn=conn
        )
        self._shown = EventLog(picked, time_unit=self.time_unit, lang=self._lang)
        self._hidden = hidden
        self.html.value = table_html(self._shown, self.limit, hidden=hidden, dropped=self._missed)

    # display ------------------------------------------------------------------------------------

    @property
    def shown(self) -> EventLog:
        """The rows on screen now."""
        return self._shown

    @property
    def hidden(self) -> int:
        """How many older matching rows are not on screen."""
        return self._hidden

    def to_html(self) -> str:
        """The table's HTML as shown (escaped), e.g. to save to a file."""
        return str(self.html.value)

    def __repr__(self) -> str:
        side, kind, conn = self._criteria()
        with language(self._lang):
            return table_text(
                self._shown, self.limit, seen=self._seen, hidden=self._hidden, side=side, kind=kind, conn=conn
            )

    def _close_parts(self) -> None:
        for child in list(self.children):
            _close_all(child)


# --- the diagram ------------------------------------------------------------------------------------


class DiagramView(_Live, widgets.HTML):  # type: ignore[misc]
    """The lifecycle sequence diagram, redrawn live from the last ``window`` events.

    At most ``height`` pixels tall, scrolled to the newest arrows (scroll up for older ones, under
    the lifeline names); as wide as the view, scaled down a little, then scrolling sideways.
    """

    def __init__(
        self,
        source: Source,
        *,
        detail: Detail = "messages",
        window: int = DEFAULT_WINDOW,
        height: int = 480,
        interval: float = 0.1,
        live: bool = True,
    ) -> None:
        recorder = recorder_of(source)
        self.height = height
        self.detail: Detail = detail
        self.time_unit = clock_unit(recorder.clock)
        self._window: deque[Event] = deque(maxlen=window)
        self._seen = 0
        self.svg = ""
        super().__init__(value="")
        self.add_class("wslab-diagram")
        self._start(recorder, interval, live)

    def _absorb(self, events: list[Event], missed: int) -> None:
        self._seen += missed
        for e in events:
            if self.detail == "frames" or e.kind != "frame":
                self._seen += 1
                self._window.append(e)

    def _render(self) -> None:
        hidden = self._seen - len(self._window)
        drawing = Diagram(
            self._window,
            detail=self.detail,
            max_events=None,
            time_unit=self.time_unit,
            hidden=hidden,
            max_height=self.height,
        )
        self.svg = drawing.svg
        # as wide as the view, never wider: scaled down to FLOOR_FONT px text, then a sideways scroll;
        # it starts at the newest rows (the bottom) and, when it scrolls sideways, at the right end,
        # with the lifeline names kept in view above the rows (the rows an inline <svg>)
        self.value = drawing.html(follow=True, inline=True)

    def __repr__(self) -> str:
        with language(self._lang):
            return sequence_text(
                list(self._window),
                detail=self.detail,
                max_events=None,
                time_unit=self.time_unit,
                hidden=self._seen - len(self._window),
            )


# --- the connection panel --------------------------------------------------------------------------


class ConnectionPanel(_Live, widgets.HTML):  # type: ignore[misc]
    """The server's registry, live: each connection, its state, traffic and close code.

    A :class:`wslab.lifecycle.ConnectionBook` folds in each batch of new events, so it never
    re-reads the history. ``side="client"`` shows the clients' view, ``None`` both.
    """

    def __init__(
        self,
        source: Source,
        *,
        side: str | None = "server",
        rows: int = 12,
        memory: int = 1_000,
        interval: float = 0.1,
        live: bool = True,
    ) -> None:
        recorder = recorder_of(source)
        self._book = ConnectionBook(side=side, memory=memory)
        self.rows = rows
        super().__init__(value="")
        self.add_class("wslab-connections")
        self._start(recorder, interval, live)

    @property
    def side(self) -> str | None:
        """Whose connections it shows: ``"server"``, ``"client"``, or ``None`` for both."""
        return self._book.side

    @side.setter
    def side(self, side: str | None) -> None:
        self._book.side = side

    @property
    def memory(self) -> int:
        """How many connections it keeps at most (the oldest closed ones are forgotten first)."""
        return self._book.memory

    @memory.setter
    def memory(self, memory: int) -> None:
        self._book.memory = memory

    @property
    def connections(self) -> list[ConnectionSummary]:
        """The connections kept (all but the oldest closed beyond ``memory``), oldest first."""
        return self._book.connections

    def _absorb(self, events: list[Event], missed: int) -> None:
        self._book.add(events)

    def _render(self) -> None:
        shown, hidden = self._book.latest(self.rows)
        self.value = panel_html(shown, hidden, self.side)

    def __repr__(self) -> str:
        shown, hidden = self._book.latest(self.rows)
        with language(self._lang):
            return panel_text(shown, hidden, self.side)


# --- all of it together -------------------------------------------------------------------------------


class LabView(_Live, widgets.VBox):  # type: ignore[misc]
    """Panel, diagram and table, one under the other, fed by one throttled reader."""

    def __init__(
        self,
        source: Source,
        *,
        detail: Detail = "messages",
        rows: int = 15,
        window: int = DEFAULT_WINDOW,
        interval: float = 0.1,
    ) -> None:
        recorder = recorder_of(source)
        self.panel = ConnectionPanel(recorder, live=False)
        self.diagram = DiagramView(recorder, detail=detail, window=window, live=False)
        self.table = EventTable(recorder, rows=rows, live=False)
        self.parts: tuple[_Live, ...] = (self.panel, self.diagram, self.table)
        for part in self.parts:
            part._owner = self
        super().__init__(children=[self.panel, self.diagram, self.table])
        self.add_class("wslab-lab-view")
        self._start(recorder, interval, True)

    def _absorb(self, events: list[Event], missed: int) -> None:
        for part in self.parts:
            with part._lock:
                part._absorb(events, missed)

    def _render(self) -> None:
        for part in self.parts:
            with part._lock:
                part._render()

    def __repr__(self) -> str:
        return "\n\n".join(repr(part) for part in self.parts)

    def _close_parts(self) -> None:
        self.panel.close()
        self.diagram.close()
        self.table.close()


def show(source: Source, *, detail: Detail = "messages") -> LabView:
    """Table, diagram and panel of a lab (or recorder), live: display the result in a cell."""
    return LabView(source, detail=detail)
