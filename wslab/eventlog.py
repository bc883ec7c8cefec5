"""An immutable, filterable list of events, with text and HTML tables and exports.

``lab.events`` returns one of these: printed it is a readable table (a terminal needs nothing
else), displayed in a notebook it is an escaped HTML table, and it exports to dicts, JSON lines
and a pandas DataFrame (pandas is imported only then).
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, overload

from .describe import describe, one_line
from .events import Event, Kind, Side
from .i18n import N_, _, language, ngettext
from .lifecycle import explain_close_code

if TYPE_CHECKING:
    import pandas

    from .expect import Step, Verdict

__all__ = ["COLUMNS", "EventLog", "format_time", "matches"]

COLUMNS = ("seq", "time", "conn", "side", "who", "event", "details")
_HEADINGS = (N_("seq"), N_("time"), N_("conn"), N_("side"), N_("who"), N_("event"), N_("details"))


def headings() -> list[str]:
    """The table's column headings in the language in effect (:data:`COLUMNS` are their English keys)."""
    return [_(h) for h in _HEADINGS]


KIND_ICONS: dict[str, str] = {
    "connecting": "…",
    "upgrade": "⇡",
    "accept": "⇣",
    "reject": "⛔",
    "connection": "⚡",
    "open": "⚡",
    "send": "→",
    "message": "✉",
    "ping": "·",
    "pong": "·",
    "closing": "⏏",
    "close": "■",
    "error": "✖",
    "reconnecting": "↻",
    "frame": "▭",
    "note": "✎",
}


def format_time(time: int, unit: str) -> str:
    """A tick as ``t5``; microseconds as milliseconds (``12.345 ms``)."""
    if unit == "tick":
        return f"t{time}"
    return f"{time / 1000:.3f} ms"


def matches(
    event: Event,
    side: Side | Iterable[Side] | None = None,
    kind: Kind | Iterable[Kind] | None = None,
    conn: str | Iterable[str] | None = None,
    who: str | Iterable[str] | None = None,
) -> bool:
    """Whether ``event`` passes a filter; each criterion is one value or a collection of them."""

    def ok(value: str | None, wanted: str | Iterable[str] | None) -> bool:
        if wanted is None:
            return True
        if isinstance(wanted, str):
            return value == wanted
        return value in set(wanted)

    return ok(event.side, side) and ok(event.kind, kind) and ok(event.conn, conn) and ok(event.endpoint, who)


class EventLog(Sequence[Event]):
    """A snapshot of recorded events. Immutable; filtering returns a new log."""

    __slots__ = ("_events", "dropped", "lang", "time_unit")

    def __init__(
        self,
        events: Sequence[Event] = (),
        *,
        dropped: int = 0,
        time_unit: str = "tick",
        lang: str | None = None,
    ):
        self._events = tuple(events)
        self.dropped = dropped
        self.time_unit = time_unit
        self.lang = lang
        """The language its tables, diagrams and checks print in (None: the process's, see wslab.i18n)."""

    @overload
    def __getitem__(self, index: int) -> Event: ...
    @overload
    def __getitem__(self, index: slice) -> EventLog: ...
    def __getitem__(self, index: int | slice) -> Event | EventLog:
        if isinstance(index, slice):
            return EventLog(self._events[index], time_unit=self.time_unit, lang=self.lang)
        return self._events[index]

    def __len__(self) -> int:
        return len(self._events)

    def __iter__(self) -> Iterator[Event]:
        return iter(self._events)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, EventLog):
            return self._events == other._events
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def filter(
        self,
        side: Side | Iterable[Side] | None = None,
        kind: Kind | Iterable[Kind] | None = None,
        conn: str | Iterable[str] | None = None,
        who: str | Iterable[str] | None = None,
    ) -> EventLog:
        """The events that match every given criterion (``kind=("open", "close")`` for several)."""
        return EventLog(
            [e for e in self._events if matches(e, side, kind, conn, who)],
            time_unit=self.time_unit,
            lang=self.lang,
        )

    def expect(
        self,
        *steps: Step | str,
        ordered: bool = True,
        partial: bool = True,
        side: Side | None = None,
        conn: str | None = None,
    ) -> Verdict:
        """:func:`wslab.expect.expect` on this log: a saved session can be checked like a live lab."""
        from .expect import expect

        return expect(self, steps, ordered=ordered, partial=partial, side=side, conn=conn)

    def kinds(self) -> list[str]:
        """``["client:open", "server:connection", …]``: handy to check an order at a glance."""
        return [f"{e.side}:{e.kind}" for e in self._events]

    # --- export -------------------------------------------------------------------------------

    def to_dicts(self) -> list[dict[str, Any]]:
        """Every event as a JSON-ready dict."""
        return [e.to_dict() for e in self._events]

    def to_jsonl(self) -> str:
        """JSON lines: one event per line."""
        return "".join(json.dumps(d, ensure_ascii=False) + "\n" for d in self.to_dicts())

    @classmethod
    def from_jsonl(cls, text: str) -> EventLog:
        """Read back what :meth:`to_jsonl` wrote."""
        # split on "\n" only: str.splitlines() would also cut at U+0085 or U+2028 inside a payload
        return cls([Event.from_dict(json.loads(line)) for line in text.split("\n") if line.strip()])

    def to_dataframe(self) -> pandas.DataFrame:
        """A pandas DataFrame, one row per event (pandas is imported here, not before)."""
        import pandas

        frame = pandas.DataFrame(self.to_dicts(), columns=[*_dict_columns()])
        return frame.set_index("seq")

    # --- rendering ----------------------------------------------------------------------------

    def rows(self, limit: int = 40) -> list[tuple[str, ...]]:
        """The table's cells as plain strings, one tuple per event (escape before showing as HTML)."""
        with language(self.lang):
            return self._rows(limit)

    def _rows(self, limit: int) -> list[tuple[str, ...]]:
        return [
            (
                str(e.seq),
                format_time(e.time, self.time_unit),
                one_line(e.conn or ""),
                e.side,
                one_line(e.endpoint),
                e.kind,
                describe(e, limit),
            )
            for e in self._events
        ]

    def to_text(self, limit: int = 40, max_rows: int | None = None) -> str:
        """A plain-text table, aligned, newest last."""
        with language(self.lang):
            return self._text(limit, max_rows)

    def _text(self, limit: int, max_rows: int | None) -> str:
        rows = self.rows(limit)
        hidden = 0
        if max_rows is not None and len(rows) > max_rows:
            hidden = len(rows) - max_rows
            rows = rows[hidden:]
        if not rows:
            return _("(no events)")
        heads = headings()
        widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(heads)]
        right = {0, 1}

        def line(cells: Sequence[str]) -> str:
            out = [
                c.rjust(w) if i in right else c.ljust(w)
                for i, (c, w) in enumerate(zip(cells, widths, strict=False))
            ]
            return "  ".join(out).rstrip()

        lines = [line(heads)]
        notes = []
        if self.dropped:
            notes.append(f"({_dropped_words(self.dropped)})")
        if hidden:
            notes.append(f"({_hidden_words(hidden)})")
        lines.extend(notes)
        lines.extend(line(r) for r in rows)
        return "\n".join(lines)

    def to_html(self, limit: int = 40, max_rows: int | None = None) -> str:
        """An HTML table; every cell is escaped."""
        events = self._events
        hidden = 0
        if max_rows is not None and len(events) > max_rows:
            hidden = len(events) - max_rows
            events = events[hidden:]
        with language(self.lang):
            return html_table(
                EventLog(events, time_unit=self.time_unit), limit, hidden=hidden, dropped=self.dropped
            )

    def __repr__(self) -> str:
        return self.to_text()

    def _repr_html_(self) -> str:
        return self.to_html(max_rows=200)


# i18n: the English says "events" and "rows" even for one (its output is fixed); a translation may count.
def _dropped_words(count: int) -> str:
    return ngettext(
        "{count} oldest events dropped by the ring buffer",
        "{count} oldest events dropped by the ring buffer",
        count,
    ).format(count=count)


def _hidden_words(count: int) -> str:
    return ngettext("{count} older rows hidden", "{count} older rows hidden", count).format(count=count)


def _dict_columns() -> list[str]:
    from dataclasses import fields

    names = [f.name for f in fields(Event) if f.name != "exc"]
    return [*names, "binary"]


KIND_COLOURS: dict[str, str] = {
    "open": "#2e7d32",
    "connection": "#2e7d32",
    "accept": "#2e7d32",
    "message": "#1565c0",
    "send": "#6a1b9a",
    "close": "#616161",
    "closing": "#616161",
    "error": "#c62828",
    "reject": "#c62828",
    "reconnecting": "#ef6c00",
    "frame": "#00838f",
}


_CELL = "text-align:left;vertical-align:top;padding:2px 8px"
_NAMES = {"conn", "who", "peer"}  # short names: whole up to _NAME_CH characters, wrapped past that
_NAME_CH = 16
TABLE_STYLE = (
    "border-collapse:collapse;font-family:monospace;font-size:12px;table-layout:auto;width:auto;"
    "max-width:100%"
)
"""The event table's own style: never wider than the page (JupyterLab's ``table-layout:fixed`` undone)."""


def cell_style(column: str, text: str = "") -> str:
    """A table cell's style. Names stay whole up to 16 characters; free text (``details``, ``close``)
    wraps at spaces, or anywhere in a long run; short fields (seq, time, side, event) stay on one line.

    ``overflow-wrap:anywhere`` lets a cell shrink to one character, so the table never outgrows the
    page; the ``min-width`` (in ``ch``, one character of the monospace font) keeps names whole.
    """
    if column in _NAMES:
        return f"{_CELL};white-space:pre-wrap;overflow-wrap:anywhere;min-width:{min(len(text), _NAME_CH)}ch"
    if column in ("details", "close"):
        return f"{_CELL};white-space:pre-wrap;overflow-wrap:anywhere;min-width:{_NAME_CH}ch"
    return f"{_CELL};white-space:nowrap"


def html_table(log: EventLog, limit: int = 40, *, hidden: int = 0, dropped: int = 0) -> str:
    """The event table as HTML. Every value is escaped with :func:`html.escape`.

    As wide as its content up to the page's width; past that, the details column wraps.
    """
    esc = html.escape
    shown = zip(COLUMNS, headings(), strict=True)
    head = "".join(f"<th style='{cell_style(h, words)}'>{esc(words)}</th>" for h, words in shown)
    notes = []
    if dropped:
        notes.append(_dropped_words(dropped))
    if hidden:
        notes.append(_hidden_words(hidden))
    note_rows = "".join(
        f"<tr><td colspan='{len(COLUMNS)}' style='{_CELL};color:#777;font-style:italic'>{esc(n)}</td></tr>"
        for n in notes
    )
    body = []
    for event, cells in zip(log, log.rows(limit), strict=False):
        colour = KIND_COLOURS.get(event.kind, "#333")
        icon = KIND_ICONS.get(event.kind, "")
        tds = []
        for i, cell in enumerate(cells):
            text = esc(cell)
            if COLUMNS[i] == "event":
                text = f"<span style='color:{colour};font-weight:600'>{esc(icon)} {text}</span>"
            elif COLUMNS[i] == "details" and event.kind in ("close", "closing") and event.code:
                text = f"<span title='{esc(explain_close_code(event.code))}'>{text}</span>"
            tds.append(f"<td style='{cell_style(COLUMNS[i], cell)}'>{text}</td>")
        body.append(f"<tr class='wslab-{esc(event.kind)}'>{''.join(tds)}</tr>")
    return (
        f"<table class='wslab-events' style='{TABLE_STYLE}'>"
        f"<thead><tr>{head}</tr></thead><tbody>{note_rows}{''.join(body)}</tbody></table>"
    )
