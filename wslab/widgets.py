"""Live views of a lab: the event table, the sequence diagram and the connection panel.

This is the only module that imports ipywidgets (the lab imports it on first use). Views know
nothing of sockets: they subscribe to a :class:`~wslab.recorder.Recorder`, whose callbacks may
arrive on any thread (the lab's loop thread, mostly). A callback only pokes a throttle; at most
every ``interval`` seconds a timer thread reads the new events with ``recorder.since(seq)``, folds
them into a bounded window and replaces one HTML value. So a burst of thousands of events costs a
few refreshes, the kernel stays free, and the cost of a refresh depends on the window, not on how
long the session has been running. Updates travel as widget state (comm messages), never as
``update_display_data`` or ``clear_output``, so notebooks with these views pass strict nbval.
"""

from __future__ import annotations

import html
import itertools
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import Any, Protocol

import ipywidgets as widgets  # type: ignore[import-untyped]

from .describe import format_size
from .diagram import DEFAULT_WINDOW, Detail, Diagram, sequence_text
from .eventlog import TABLE_STYLE, EventLog, cell_style, html_table, matches
from .events import KINDS, SIDES, Event
from .lifecycle import ConnectionSummary, State, explain_close_code, summarize_connections
from .recorder import Recorder, clock_unit

__all__ = [
    "ConnectionPanel",
    "DiagramView",
    "EventTable",
    "LabView",
    "Throttle",
    "show",
]

ALL = "all"


class _HasRecorder(Protocol):
    @property
    def recorder(self) -> Recorder: ...


Source = Recorder | _HasRecorder
"""A recorder, or anything that has one (a :class:`~wslab.lab.Lab`)."""


def _recorder(source: Source) -> Recorder:
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


class _Feed:
    """Follows a recorder: new events since the last look, handed to ``on_events`` throttled."""

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


class _Live:
    """What every view shares: a feed (unless a parent feeds it), flush before display, close."""

    _feed: _Feed | None
    _lock: threading.RLock
    _owner: _Live | None = None  # the LabView that feeds this part, if any

    def _start(self, recorder: Recorder, interval: float, live: bool) -> None:
        self._lock = threading.RLock()
        self._feed = _Feed(recorder, self._receive, interval) if live else None
        if self._feed is not None:
            self._feed.throttle.flush()
        else:
            self._render()

    def _receive(self, events: list[Event], missed: int) -> None:
        with self._lock:
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


def _options(values: Iterable[str]) -> list[tuple[str, str]]:
    return [(ALL, ""), *((v, v) for v in values)]


def _conn_key(conn: str) -> tuple[int, str]:
    digits = "".join(ch for ch in conn if ch.isdigit())
    return (int(digits) if digits else 0, conn)


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
        recorder = _recorder(source)
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
        self.side = widgets.Dropdown(options=_options(()), value="", description="side", **dropdown)
        self.kind = widgets.Dropdown(options=_options(()), value="", description="event", **dropdown)
        self.conn = widgets.Dropdown(options=_options(()), value="", description="conn", **dropdown)
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
                    self._update_options()
                control.value = value

    def _filter_changed(self, change: dict[str, Any]) -> None:
        if self._quiet:
            return
        with self._lock:
            self._render()

    def _criteria(self) -> tuple[str | None, str | None, str | None]:
        return (self.side.value or None, self.kind.value or None, self.conn.value or None)

    def _update_options(self) -> None:
        pairs = (
            (self.side, [s for s in SIDES if s in self._sides]),
            (self.kind, [k for k in KINDS if k in self._kinds]),
            (self.conn, sorted(self._conns, key=_conn_key)),
        )
        self._quiet = True
        try:
            for control, values in pairs:
                options = _options(values)
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
            self._update_options()

    def _render(self) -> None:
        side, kind, conn = self._criteria()
        picked: list[Event] = []
        if side is None and kind is None and conn is None:
            picked = list(itertools.islice(reversed(self._events), self.rows))[::-1]
            hidden = self._seen - len(picked)
        else:
            count = 0
            for e in reversed(self._events):
                if matches(e, side, kind, conn):  # type: ignore[arg-type]
                    count += 1
                    if len(picked) < self.rows:
                        picked.append(e)
            picked.reverse()
            hidden = count - len(picked)
        self._shown = EventLog(picked, time_unit=self.time_unit)
        self._hidden = hidden
        self.html.value = (
            "<div class='wslab-table' style='overflow-x:auto'>"
            + html_table(self._shown, self.limit, hidden=hidden, dropped=self._missed)
            + "</div>"
        )

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
        head = (
            f"EventTable: {self._seen} events seen; side={side or ALL}, event={kind or ALL}, "
            f"conn={conn or ALL}"
        )
        table = self._shown.to_text(self.limit)
        more = f"\n({self._hidden} older rows hidden)" if self._hidden else ""
        return f"{head}{more}\n{table}"

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
        recorder = _recorder(source)
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
        return sequence_text(
            list(self._window),
            detail=self.detail,
            max_events=None,
            time_unit=self.time_unit,
            hidden=self._seen - len(self._window),
        )


# --- the connection panel --------------------------------------------------------------------------

_STATE_COLOURS = {"CONNECTING": "#ef6c00", "OPEN": "#2e7d32", "CLOSING": "#f9a825", "CLOSED": "#616161"}
_PANEL_COLUMNS = ("conn", "who", "peer", "state", "msgs in", "msgs out", "bytes in", "bytes out", "close")


def _merge(old: ConnectionSummary | None, part: ConnectionSummary, moved: bool) -> ConnectionSummary:
    """Fold the summary of newer events into the summary so far."""
    if old is None:
        return part
    return replace(
        old,
        peer=old.peer or part.peer,
        state=part.state if moved else old.state,
        messages_in=old.messages_in + part.messages_in,
        messages_out=old.messages_out + part.messages_out,
        bytes_in=old.bytes_in + part.bytes_in,
        bytes_out=old.bytes_out + part.bytes_out,
        close_code=part.close_code if part.close_code is not None else old.close_code,
        close_reason=part.close_reason if part.close_code is not None else old.close_reason,
        errors=old.errors + part.errors,
    )


class ConnectionPanel(_Live, widgets.HTML):  # type: ignore[misc]
    """The server's registry, live: each connection, its state, traffic and close code.

    Built with :func:`wslab.lifecycle.summarize_connections` over each batch of new events, so it
    never re-reads the history. ``side="client"`` shows the clients' view, ``None`` both.
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
        recorder = _recorder(source)
        self.side = side
        self.rows = rows
        self.memory = memory
        self._forgotten = 0
        self._summaries: dict[tuple[str, str], ConnectionSummary] = {}
        super().__init__(value="")
        self.add_class("wslab-connections")
        self._start(recorder, interval, live)

    @property
    def connections(self) -> list[ConnectionSummary]:
        """The connections kept (all but the oldest closed beyond ``memory``), oldest first."""
        return list(self._summaries.values())

    def _absorb(self, events: list[Event], missed: int) -> None:
        from .lifecycle import TRANSITIONS

        moved = {(e.endpoint, e.conn) for e in events if e.kind in TRANSITIONS and e.conn is not None}
        for part in summarize_connections(events, side=self.side):
            key = (part.endpoint, part.conn)
            self._summaries[key] = _merge(self._summaries.get(key), part, key in moved)
        if len(self._summaries) > self.memory:  # forget the oldest closed ones, counted
            for key in [k for k, v in self._summaries.items() if v.state is State.CLOSED]:
                if len(self._summaries) <= self.memory:
                    break
                del self._summaries[key]
                self._forgotten += 1

    def _cells(self, s: ConnectionSummary) -> tuple[str, ...]:
        close = ""
        if s.close_code is not None:
            close = f"{s.close_code} {explain_close_code(s.close_code)}"
        return (
            s.conn,
            s.endpoint,
            s.peer or "",
            s.state.name.lower(),
            str(s.messages_in),
            str(s.messages_out),
            format_size(s.bytes_in),
            format_size(s.bytes_out),
            close,
        )

    def _visible(self) -> tuple[list[ConnectionSummary], int]:
        shown = list(itertools.islice(reversed(self._summaries.values()), self.rows))[::-1]
        return shown, len(self._summaries) + self._forgotten - len(shown)

    def _render(self) -> None:
        esc = html.escape
        shown, hidden = self._visible()
        head = "".join(f"<th style='{cell_style(h, h)}'>{esc(h)}</th>" for h in _PANEL_COLUMNS)
        body = []
        if hidden:
            body.append(
                f"<tr><td colspan='{len(_PANEL_COLUMNS)}' style='color:#777;font-style:italic;"
                f"padding:2px 8px'>{hidden} older connections hidden</td></tr>"
            )
        for s in shown:
            colour = _STATE_COLOURS.get(s.state.name, "#333")
            cells = []
            for name, text in zip(_PANEL_COLUMNS, self._cells(s), strict=True):
                inner = esc(text)
                if name == "state":
                    inner = f"<b style='color:{colour}'>● {inner}</b>"
                elif name == "close" and s.close_code not in (None, 1000, 1001):
                    inner = f"<span style='color:#c62828'>{inner}</span>"
                cells.append(f"<td style='{cell_style(name, text)}'>{inner}</td>")
            if s.errors:
                cells[-1] = cells[-1].replace("</td>", f" <b style='color:#c62828'>✖ {s.errors}</b></td>")
            body.append(f"<tr>{''.join(cells)}</tr>")
        if not shown:
            body.append(
                f"<tr><td colspan='{len(_PANEL_COLUMNS)}' style='color:#777;padding:2px 8px'>"
                "no connections yet</td></tr>"
            )
        title = "server registry" if self.side == "server" else f"{self.side or 'all'} connections"
        self.value = (
            "<div class='wslab-panel' style='overflow-x:auto'>"
            f"<b style='font-family:sans-serif'>{esc(title)}</b>"
            f"<table style='{TABLE_STYLE}'>"
            f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table></div>"
        )

    def __repr__(self) -> str:
        shown, hidden = self._visible()
        rows = [_PANEL_COLUMNS, *(self._cells(s) for s in shown)]
        widths = [max(len(r[i]) for r in rows) for i in range(len(_PANEL_COLUMNS))]
        lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
        title = "server registry" if self.side == "server" else f"{self.side or 'all'} connections"
        if hidden:
            lines.insert(1, f"({hidden} older connections hidden)")
        if not shown:
            lines.append("(no connections yet)")
        return f"ConnectionPanel: {title}\n" + "\n".join(lines)


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
        recorder = _recorder(source)
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
