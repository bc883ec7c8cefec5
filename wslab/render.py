"""HTML and text for the live views' tables: the event table and the connection panel.

Pure functions of what a view holds (no widgets, no threads): a widget only puts their result in
its value. Every text is escaped here, at the output edge.
"""

from __future__ import annotations

import html
import itertools
from collections.abc import Iterable, Reversible, Sequence

from .describe import format_size
from .eventlog import TABLE_STYLE, EventLog, cell_style, html_table, matches
from .events import Event
from .i18n import N_, _, ngettext
from .lifecycle import ConnectionSummary, explain_close_code

__all__ = [
    "ALL",
    "PANEL_COLUMNS",
    "STATE_COLOURS",
    "conn_key",
    "filter_options",
    "latest_rows",
    "panel_cells",
    "panel_html",
    "panel_text",
    "panel_title",
    "table_html",
    "table_text",
]

ALL = N_("all")
"""A filter's label for "no filter" (its value is ``""``)."""

STATE_COLOURS = {"CONNECTING": "#ef6c00", "OPEN": "#2e7d32", "CLOSING": "#f9a825", "CLOSED": "#616161"}
PANEL_COLUMNS = ("conn", "who", "peer", "state", "msgs in", "msgs out", "bytes in", "bytes out", "close")
_PANEL_HEADINGS = (
    N_("conn"), N_("who"), N_("peer"), N_("state"), N_("msgs in"), N_("msgs out"), N_("bytes in"),
    N_("bytes out"), N_("close"),
)  # fmt: skip


def panel_headings() -> list[str]:
    """The panel's column headings in the language in effect (:data:`PANEL_COLUMNS` are their keys)."""
    return [_(h) for h in _PANEL_HEADINGS]


# --- the event table ------------------------------------------------------------------------------


def filter_options(values: Iterable[str]) -> list[tuple[str, str]]:
    """A filter's (label, value) choices: ``all``, then each value."""
    return [(_(ALL), ""), *((v, v) for v in values)]


def conn_key(conn: str) -> tuple[int, str]:
    """Sorts connection ids by number: ``c2`` before ``c10``."""
    digits = "".join(ch for ch in conn if ch.isdigit())
    return (int(digits) if digits else 0, conn)


def latest_rows(
    events: Reversible[Event],
    rows: int,
    *,
    seen: int,
    side: str | None = None,
    kind: str | None = None,
    conn: str | None = None,
) -> tuple[list[Event], int]:
    """The newest ``rows`` events that match, oldest first, and how many older matching ones are hidden.

    Without a filter, the hidden count is of every event ``seen``, also those no longer held.
    """
    if side is None and kind is None and conn is None:
        picked = list(itertools.islice(reversed(events), rows))[::-1]
        return picked, seen - len(picked)
    picked = []
    count = 0
    for e in reversed(events):
        if matches(e, side, kind, conn):  # type: ignore[arg-type]
            count += 1
            if len(picked) < rows:
                picked.append(e)
    picked.reverse()
    return picked, count - len(picked)


def table_html(shown: EventLog, limit: int, *, hidden: int, dropped: int) -> str:
    """The rows shown, in a box that scrolls sideways when the page is narrow."""
    return (
        "<div class='wslab-table' style='overflow-x:auto'>"
        + html_table(shown, limit, hidden=hidden, dropped=dropped)
        + "</div>"
    )


def table_text(
    shown: EventLog,
    limit: int,
    *,
    seen: int,
    hidden: int,
    side: str | None,
    kind: str | None,
    conn: str | None,
) -> str:
    """The table as plain text, its filters on the first line."""
    seen_words = ngettext("{count} event seen", "{count} events seen", seen).format(count=seen)
    every = _(ALL)
    filters = f"side={side or every}, event={kind or every}, conn={conn or every}"
    head = "EventTable: " + _("{seen}; {filters}").format(seen=seen_words, filters=filters)
    more = f"\n({_hidden_rows(hidden)})" if hidden else ""
    return f"{head}{more}\n{shown.to_text(limit)}"


# --- the connection panel --------------------------------------------------------------------------


def panel_title(side: str | None) -> str:
    if side == "server":
        return _("server registry")
    if not side:
        return _("all connections")
    return _("{side} connections").format(side=side)


def _hidden_rows(count: int) -> str:
    return ngettext("{count} older rows hidden", "{count} older rows hidden", count).format(count=count)


def _hidden_connections(count: int) -> str:
    return ngettext("{count} older connections hidden", "{count} older connections hidden", count).format(
        count=count
    )


def panel_cells(s: ConnectionSummary) -> tuple[str, ...]:
    """One connection's cells, as text, in the order of :data:`PANEL_COLUMNS`."""
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


def panel_html(shown: Sequence[ConnectionSummary], hidden: int, side: str | None) -> str:
    """The connections shown as a table under its title; states coloured, abnormal closes red."""
    esc = html.escape
    titles = zip(PANEL_COLUMNS, panel_headings(), strict=True)
    head = "".join(f"<th style='{cell_style(h, words)}'>{esc(words)}</th>" for h, words in titles)
    body = []
    if hidden:
        body.append(
            f"<tr><td colspan='{len(PANEL_COLUMNS)}' style='color:#777;font-style:italic;"
            f"padding:2px 8px'>{esc(_hidden_connections(hidden))}</td></tr>"
        )
    for s in shown:
        colour = STATE_COLOURS.get(s.state.name, "#333")
        cells = []
        for name, text in zip(PANEL_COLUMNS, panel_cells(s), strict=True):
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
        empty = esc(_("no connections yet"))  # not inside the f-string: Babel on 3.11 can't see there
        style = "color:#777;padding:2px 8px"
        body.append(f"<tr><td colspan='{len(PANEL_COLUMNS)}' style='{style}'>{empty}</td></tr>")
    return (
        "<div class='wslab-panel' style='overflow-x:auto'>"
        f"<b style='font-family:sans-serif'>{esc(panel_title(side))}</b>"
        f"<table style='{TABLE_STYLE}'>"
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table></div>"
    )


def panel_text(shown: Sequence[ConnectionSummary], hidden: int, side: str | None) -> str:
    """The connections shown as aligned plain text, under its title."""
    rows = [tuple(panel_headings()), *(panel_cells(s) for s in shown)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(PANEL_COLUMNS))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    if hidden:
        lines.insert(1, f"({_hidden_connections(hidden)})")
    if not shown:
        lines.append("(" + _("no connections yet") + ")")
    return f"ConnectionPanel: {panel_title(side)}\n" + "\n".join(lines)
