"""The seed's lifecycle sequence diagram, drawn from real recorded events.

One layout (lifelines and rows) is computed from the events, then written three ways: an SVG
made with the standard library (no network, no JavaScript, so it shows the same in JupyterLab,
VS Code, nbviewer and exported HTML), a mermaid ``sequenceDiagram`` in the seed's own style, and
plain text for terminals. Only the last ``max_events`` events are drawn, so the cost of a drawing
never grows with the length of a session. Every text is escaped for the format it goes into.
"""

from __future__ import annotations

import html
import itertools
import urllib.parse
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, TypeAlias

from .describe import format_size, preview
from .eventlog import KIND_COLOURS, EventLog, format_time
from .events import Event
from .lifecycle import explain_close_code

__all__ = [
    "DEFAULT_HEIGHT",
    "DEFAULT_WINDOW",
    "FLOOR_FONT",
    "IDLE_GAP_US",
    "Detail",
    "Diagram",
    "Mermaid",
    "sequence_svg",
    "sequence_text",
    "to_mermaid",
]

Detail: TypeAlias = Literal["messages", "frames"]

DEFAULT_WINDOW = 60
"""How many of the latest events a diagram draws unless told otherwise."""

IDLE_GAP_US = 1_000_000
"""On a wall clock, a pause longer than this (µs) between two events gets an "idle" note."""

REMOTE = "remote"
"""The lifeline for a peer the events do not name (a server outside the lab, a failed attempt)."""

_RED = "#c62828"
_GREY = "#616161"
_GREEN = KIND_COLOURS.get("accept", "#2e7d32")
_NORMAL_CLOSE = {1000, 1001}

Role: TypeAlias = Literal["client", "wire", "server"]


@dataclass(slots=True)
class _Arrow:
    src: str
    dst: str
    label: str
    colour: str
    dashed: bool = False
    failed: bool = False
    suffix: str = ""  # kept whole when the label is cut to fit, e.g. " (16 B)"

    @property
    def text(self) -> str:
        return self.label + self.suffix


@dataclass(slots=True)
class _Badge:
    who: str
    label: str
    colour: str


@dataclass(slots=True)
class _Note:
    text: str
    colour: str = "#8d6e00"
    over: str | None = None  # None: across every lifeline


_Item: TypeAlias = _Arrow | _Badge | _Note


@dataclass(slots=True)
class _Row:
    time: str
    items: list[_Item] = field(default_factory=list)

    @property
    def badges_only(self) -> bool:
        return all(isinstance(i, _Badge) for i in self.items)


@dataclass(slots=True)
class _Layout:
    lifelines: list[tuple[str, Role]]
    rows: list[_Row]
    hidden: int
    drawn: int


# --- choosing the events ----------------------------------------------------------------------


def _window(
    events: Iterable[Event], detail: Detail, max_events: int | None, hidden: int
) -> tuple[list[Event], int]:
    """The last ``max_events`` drawable events and how many earlier ones are left out."""
    if detail not in ("messages", "frames"):
        raise ValueError(f"detail must be 'messages' or 'frames', not {detail!r}")
    if max_events is not None and max_events < 1:
        raise ValueError("max_events must be at least 1 (or None for every event)")

    def drawable(e: Event) -> bool:
        return detail == "frames" or e.kind != "frame"

    if max_events is None:
        kept = [e for e in events if drawable(e)]
        return kept, hidden
    if isinstance(events, Sequence):  # walk back from the end: cost ~ window, not history
        picked: list[Event] = []
        index = len(events) - 1
        while index >= 0 and len(picked) < max_events:
            event = events[index]
            if drawable(event):
                picked.append(event)
            index -= 1
        picked.reverse()
        return picked, hidden + index + 1  # every earlier event, frames included
    ring: deque[Event] = deque(maxlen=max_events)
    seen = 0
    for e in events:
        if drawable(e):
            seen += 1
            ring.append(e)
    return list(ring), hidden + seen - len(ring)


# --- the layout, shared by every output ----------------------------------------------------------


def _path(url: object) -> str:
    if not isinstance(url, str) or "://" not in url:
        return "/"
    rest = url.split("://", 1)[1]
    return "/" + rest.split("/", 1)[1] if "/" in rest else "/"


def _close_label(code: int | None, reason: str | None) -> str:
    if code is None:
        return "no close code"
    text = f"{code} {explain_close_code(code).split(':')[0]}"
    if reason:
        text += f" {preview(reason, 24)}"
    return text


def _close_colour(code: int | None) -> str:
    return _GREY if code is None or code in _NORMAL_CLOSE else _RED


def _layout(events: Sequence[Event], detail: Detail, time_unit: str, hidden: int) -> _Layout:
    roles: dict[str, Role] = {}
    order: list[str] = []  # first appearance, each peer right after the endpoint naming it
    wires: list[str] = []  # relays, drawn only with detail="frames"
    conn_client: dict[str, str] = {}
    conn_server: dict[str, str] = {}

    for e in events:  # an endpoint's own side wins over what its peers call it
        if e.side == "wire":
            if detail == "frames" and e.endpoint not in wires:
                wires.append(e.endpoint)
            continue
        role: Role = "server" if e.side == "server" else "client"
        roles.setdefault(e.endpoint, role)
        if e.conn is not None:
            (conn_server if role == "server" else conn_client).setdefault(e.conn, e.endpoint)
    for e in events:
        if e.side == "wire":
            continue
        if e.endpoint not in order:
            order.append(e.endpoint)
        peer = e.peer
        if peer is None and e.side != "server" and e.kind == "connecting":
            peer = REMOTE
        if peer is not None and peer not in order:
            order.append(peer)
            roles.setdefault(peer, "client" if e.side == "server" else "server")

    def peer_of(e: Event) -> str:
        if e.peer is not None:
            return e.peer
        if e.side == "server":
            return conn_client.get(e.conn or "", REMOTE)
        return conn_server.get(e.conn or "", REMOTE)

    rows: list[_Row] = []
    pending_connect: dict[str, _Arrow] = {}
    pending_send: dict[tuple[str, str], deque[object]] = {}
    early: dict[tuple[str, str], deque[object]] = {}  # received before the sender's send was recorded
    late_close: set[str] = set()  # conns whose closing was drawn from the other end's close
    pages = {e.endpoint for e in events if e.side == "browser"}  # ends whose reports arrive late
    pending_close: dict[str, str] = {}  # conn -> who sent the first close frame
    answered: set[str] = set()
    opened: set[str] = set()
    attempted: set[str] = set()
    last_time: int | None = None

    def row(e: Event, item: _Item) -> None:
        if (
            isinstance(item, _Badge)
            and rows
            and rows[-1].badges_only
            and all(isinstance(i, _Badge) and i.who != item.who for i in rows[-1].items)
        ):
            rows[-1].items.append(item)
            return
        rows.append(_Row(format_time(e.time, time_unit), [item]))

    for e in events:
        if time_unit != "tick" and last_time is not None and e.time - last_time > IDLE_GAP_US:
            gap = (e.time - last_time) / 1_000_000
            rows.append(_Row("", [_Note(f"⏳ {gap:.1f} s idle: nothing happened")]))
        last_time = e.time
        who = e.endpoint
        conn = e.conn or ""
        kind = e.kind
        if e.side == "wire":
            if detail == "frames" and e.kind == "frame" and e.frame is not None:
                towards_server = e.frame.direction.startswith("client")
                origin = conn_client.get(conn) if towards_server else conn_server.get(conn)
                text = e.frame.describe()
                if e.data is not None:
                    text += f" {preview(e.data, 16)}"
                if e.code is not None:
                    text += f" {e.code}"
                colour = KIND_COLOURS.get("frame", "#00838f")
                if origin is None:
                    row(e, _Badge(who, f"▭ {e.frame.direction} {text}", colour))
                else:
                    row(e, _Arrow(origin, who, text, colour))
            elif detail == "frames":
                rows.append(
                    _Row(format_time(e.time, time_unit), [_Note(f"✎ {e.detail or e.kind}", over=who)])
                )
            continue
        peer = peer_of(e)
        if kind == "connecting":
            attempted.add(conn)
            arrow = _Arrow(who, peer, f"HTTP Upgrade GET {_path(e.data)}", _GREY)
            pending_connect[conn] = arrow
            row(e, arrow)
        elif kind == "upgrade":
            if pending_connect.pop(conn, None) is None:
                request = (e.detail or "GET /").split(" HTTP/")[0]
                row(e, _Arrow(peer, who, f"HTTP Upgrade {request}", _GREY))
        elif kind == "accept":
            opened.add(conn)
            row(e, _Arrow(who, peer, e.detail or "101 Switching Protocols", _GREEN, dashed=True))
        elif kind == "reject":
            status = e.detail or (f"HTTP {e.code}" if e.code else "rejected")
            row(e, _Arrow(who, peer, f"✖ {status} (handshake refused)", _RED, dashed=True))
        elif kind in ("open", "connection"):
            opened.add(conn)
            row(e, _Badge(who, f"⚡ {kind}", _GREEN))
        elif kind == "send":
            size = f" ({format_size(e.size or 0)})"
            colour = KIND_COLOURS["message"]
            drawn = early.get((conn, who))
            if drawn and drawn[0] == e.data:  # a page reports late: its arrow is drawn already
                drawn.popleft()
                continue
            pending_send.setdefault((conn, who), deque()).append(e.data)
            row(e, _Arrow(who, peer, preview(e.data, 48), colour, dashed=e.side == "server", suffix=size))
        elif kind == "message":
            queue = pending_send.get((conn, peer))
            if queue and queue[0] == e.data:
                queue.popleft()  # drawn already, as the sender's arrow
            else:
                size = f" ({format_size(e.size or 0)})"
                colour = KIND_COLOURS["message"]
                row(e, _Arrow(peer, who, preview(e.data, 48), colour, dashed=e.side == "client", suffix=size))
                early.setdefault((conn, peer), deque()).append(e.data)
        elif kind in ("ping", "pong"):
            text = f"· {kind}" + (f" {preview(e.data, 12)}" if e.data else "")
            row(e, _Badge(who, text, _GREY))
        elif kind == "closing":
            if conn in late_close and pending_close.get(conn) == who:
                continue  # drawn already, when the other end recorded its close
            pending_close.setdefault(conn, who)
            text = f"Close {_close_label(e.code, e.reason)} (started by {who})"
            row(e, _Arrow(who, peer, text, _close_colour(e.code)))
        elif kind == "close":
            first = pending_close.get(conn)
            label = _close_label(e.code, e.reason)
            if first is None and e.initiator is not None and e.initiator == peer and peer in pages:
                # the peer started the close but reports late (a browser page): its frame came first
                pending_close[conn] = peer
                late_close.add(conn)
                answered.add(conn)
                row(e, _Arrow(peer, who, f"Close {label} (started by {peer})", _close_colour(e.code)))
                row(e, _Arrow(who, peer, f"Close {label} (reply)", _close_colour(e.code), dashed=True))
            elif first is not None and first != who and conn not in answered:
                answered.add(conn)  # the peer's reply close frame; the rest are badges
                row(e, _Arrow(who, peer, f"Close {label} (reply)", _close_colour(e.code), dashed=True))
            elif conn in attempted and conn not in opened:
                attempt = pending_connect.pop(conn, None)
                if attempt is not None:
                    attempt.failed, attempt.colour = True, _RED
                    attempt.label += " (failed)"
                row(e, _Badge(who, f"■ closed {e.code}: never opened", _RED))
            else:
                reason = f" {preview(e.reason, 12)}" if e.reason else ""
                by = f" · by {e.initiator}" if e.initiator else ""
                row(e, _Badge(who, f"■ closed {e.code}{reason}{by}", _close_colour(e.code)))
        elif kind == "error":
            row(e, _Badge(who, f"✖ error: {e.error or e.detail or 'unknown'}", _RED))
        elif kind == "reconnecting":
            row(e, _Badge(who, f"↻ reconnecting {e.detail or ''}".rstrip(), "#ef6c00"))
        elif kind == "note":
            rows.append(_Row(format_time(e.time, time_unit), [_Note(f"✎ {e.detail or ''}", over=who)]))
        else:  # a kind added later still shows up
            row(e, _Badge(who, kind, _GREY))

    for r in rows:  # every name an item points at gets a lifeline (an unnamed peer: "remote")
        for item in r.items:
            if isinstance(item, _Arrow):
                names: tuple[str | None, ...] = (item.src, item.dst)
            else:
                names = (item.who if isinstance(item, _Badge) else item.over,)
            for name in names:
                if name is not None and name not in order and name not in wires:
                    order.append(name)
                    roles.setdefault(name, "server")
    lifelines: list[tuple[str, Role]] = [(name, roles[name]) for name in order]
    if wires:  # the classic picture: clients, the wire, servers
        lifelines = [
            *(pair for pair in lifelines if pair[1] == "client"),
            *((name, "wire") for name in wires),
            *(pair for pair in lifelines if pair[1] == "server"),
        ]
    return _Layout(lifelines, rows, hidden, len(events))


def _build(
    events: Iterable[Event],
    detail: Detail,
    max_events: int | None,
    time_unit: str | None,
    hidden: int,
) -> _Layout:
    unit = time_unit or (events.time_unit if isinstance(events, EventLog) else "tick")
    if isinstance(events, EventLog) and events.dropped:
        hidden += events.dropped
    window, hidden = _window(events, detail, max_events, hidden)
    return _layout(window, detail, unit, hidden)


# --- text helpers ---------------------------------------------------------------------------------


def _printable(text: str) -> str:
    """No control characters (they are not allowed in XML), one line."""
    return "".join(ch if ch.isprintable() else " " for ch in text)


def _fit(text: str, limit: int) -> str:
    text = _printable(text)
    limit = max(limit, 4)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _x(text: str) -> str:
    return html.escape(_printable(text), quote=True)


_MERMAID_UNSAFE = set(';#<>&"{}`%')


def _mm(text: str) -> str:
    """Mermaid-safe text: risky characters become entity codes such as ``#59;``."""
    return "".join(f"#{ord(ch)};" if ch in _MERMAID_UNSAFE else ch for ch in _printable(text))


# --- SVG ------------------------------------------------------------------------------------------

_FONT = 11  # px: every text of the drawing, at its natural size
FLOOR_FONT = 10
"""px: a page may scale a drawing down until its text is this small; past that, its box scrolls."""
_CHAR_W = 6.6  # width of one character of 11px monospace, for fitting labels
_TIME_X = 8  # the time column's left edge
_PAD = 12  # px between the time column and the drawing, and after the drawing's right end
_COL_MIN = 130  # px between two neighbouring lifelines when there is room
_COL_MAX = 400  # px at most that an arrow's label asks for (about 56 characters)
_LABEL_MIN = 170  # px of an arrow's label kept before a drawing is let grow past _BUDGET (~22 characters)
_COL_SCROLL = 200  # px at most per gap when a drawing scrolls sideways anyway
_BUDGET = 836  # px: the widest drawing that still fits a 760 px output at FLOOR_FONT (760 * 11 / 10)
_MIN_WIDTH = 320
_HEAD_H = 28
_HEAD_GAP = 14  # from the lifeline names down to the first row
_ARROW_H = 32
_BADGE_H = 26
_NOTE_HALF = 140  # half the width of a note over one lifeline
_SELF_LABEL = 40  # characters of a self-arrow's label (it is drawn to the right of its lifeline)
_Need: TypeAlias = tuple[int, int, int]  # (gaps spanned, first gap, px)
_FILLS = {"client": "#e3f2fd", "server": "#ede7f6", "wire": "#e0f2f1"}


@dataclass(slots=True)
class _Drawing:
    """The SVG elements of one diagram in two bands, each with y from 0: the lifeline names, and the rest.

    Kept apart so a page can keep the names in view (a sticky header) while the rows scroll.
    """

    names: list[str]
    title: str
    width: int
    head_h: int
    body_h: int
    head: list[str]
    body: list[str]

    @property
    def height(self) -> int:
        return self.head_h + self.body_h

    @property
    def min_width(self) -> int:
        """The narrowest this drawing may be scaled to: its text is then ``FLOOR_FONT`` px."""
        return -(-self.width * FLOOR_FONT // _FONT)


def _head_w(name: str) -> int:
    return max(70, int(len(_fit(name, 18)) * _CHAR_W) + 20)


def _badge_text(badge: _Badge) -> str:
    return _fit(badge.label, 48 if badge.colour == _RED else 40)


def _badge_w(badge: _Badge) -> int:
    return int(len(_badge_text(badge)) * _CHAR_W) + 14


def _gap_needs(layout: _Layout, index: dict[str, int]) -> tuple[list[_Need], list[_Need]]:
    """What must fit between lifelines, as (gaps spanned, first gap, px): names and badges side by side
    (they must never overlap) and ``_LABEL_MIN`` px of each arrow's label, then arrow labels whole
    (wanted, but they can be cut to fit)."""
    names = list(index)
    hard = [(1, i, (_head_w(a) + _head_w(b)) // 2 + 16) for i, (a, b) in enumerate(itertools.pairwise(names))]
    soft = []
    for r in layout.rows:
        badges = sorted(
            (index[i.who], _badge_w(i)) for i in r.items if isinstance(i, _Badge) and i.who in index
        )
        for (lo, w_lo), (hi, w_hi) in itertools.pairwise(badges):  # badges side by side in one row
            if hi > lo:
                hard.append((hi - lo, lo, (w_lo + w_hi) // 2 + 10))
        for item in r.items:
            if isinstance(item, _Arrow) and item.src in index and item.dst in index:
                lo, hi = sorted((index[item.src], index[item.dst]))
                if hi > lo:
                    label = int(len(item.text) * _CHAR_W) + 24
                    hard.append((hi - lo, lo, min(label, _LABEL_MIN)))
                    soft.append((hi - lo, lo, min(label, _COL_MAX)))
    return hard, soft


def _widen(gaps: list[int], needs: list[_Need]) -> list[int]:
    gaps = list(gaps)
    for span, lo, need in sorted(needs):  # one-gap needs first, then the ones that share gaps
        short = need - sum(gaps[lo : lo + span])
        if short > 0:
            for i in range(lo, lo + span):
                gaps[i] += -(-short // span)
    return gaps


def _gaps(layout: _Layout, names: list[str]) -> tuple[list[int], list[int]]:
    """The narrowest gaps between lifelines (names and badges clear) and the roomiest (labels whole)."""
    hard_needs, soft_needs = _gap_needs(layout, {name: i for i, name in enumerate(names)})
    narrow = _widen([0] * max(len(names) - 1, 0), hard_needs)
    roomy = _widen([max(g, _COL_MIN) for g in narrow], [*hard_needs, *soft_needs])
    return narrow, roomy


def _squeeze(narrow: list[int], roomy: list[int], room: int) -> list[int]:
    """Gaps that add up to ``room`` px if they can: each between its narrowest and its roomiest."""
    if sum(roomy) <= room:
        return roomy
    if sum(narrow) >= room:  # it scrolls sideways anyway: keep labels readable, names clear
        return [max(n, min(r, _COL_SCROLL)) for n, r in zip(narrow, roomy, strict=True)]
    spare, extra = room - sum(narrow), sum(roomy) - sum(narrow)
    return [n + (r - n) * spare // extra for n, r in zip(narrow, roomy, strict=True)]


def _xs(names: list[str], gaps: list[int]) -> dict[str, int]:
    xs = dict.fromkeys(names, 0)
    for i, name in enumerate(names[1:]):
        xs[name] = xs[names[i]] + gaps[i]
    return xs


def _extent(layout: _Layout, xs: dict[str, int]) -> tuple[int, int]:
    """The leftmost and rightmost x that the names, badges and self-arrows reach."""
    lo = min((x - _head_w(n) // 2 for n, x in xs.items()), default=0)
    hi = max((x + _head_w(n) // 2 for n, x in xs.items()), default=0)
    for r in layout.rows:
        for item in r.items:
            if isinstance(item, _Badge) and item.who in xs:
                half = _badge_w(item) // 2
                lo, hi = min(lo, xs[item.who] - half), max(hi, xs[item.who] + half)
            elif isinstance(item, _Arrow) and item.src == item.dst and item.src in xs:
                hi = max(hi, xs[item.src] + 36 + int(len(_fit(item.text, _SELF_LABEL)) * _CHAR_W))
    return lo, hi


def _place(layout: _Layout) -> tuple[dict[str, int], int, int]:
    """Lifeline x positions, the drawing's left edge (after the time column) and its width.

    Labels are cut shorter rather than let the drawing grow past ``_BUDGET`` px, as long as names and
    badges stay clear of each other; a drawing that still does not fit keeps roomier gaps (it scrolls).
    """
    names = [n for n, _ in layout.lifelines]
    times = max((len(r.time) for r in layout.rows), default=0)
    left = _TIME_X + int(times * _CHAR_W) + _PAD
    narrow, roomy = _gaps(layout, names)
    budget = _BUDGET
    for _ in range(3):  # the margins depend a little on the gaps (badges at the ends): settle them
        xs = _xs(names, roomy)
        lo, hi = _extent(layout, xs)
        margins = left - lo + hi - sum(roomy) + _PAD
        xs = _xs(names, _squeeze(narrow, roomy, budget - margins))
        lo, hi = _extent(layout, xs)
        width = left - lo + hi + _PAD
        if width <= _BUDGET or sum(narrow) + margins >= budget:
            break
        budget -= width - _BUDGET
    shift = left - lo
    return {n: x + shift for n, x in xs.items()}, left, max(_MIN_WIDTH, hi + shift + _PAD)


def _svg_heads(layout: _Layout, xs: dict[str, int], y: int) -> list[str]:
    out = []
    for name, role in layout.lifelines:
        label = _fit(name, 18)
        w, x = _head_w(name), xs[name]
        out.append(
            f'<rect x="{x - w // 2}" y="{y}" width="{w}" height="{_HEAD_H}" rx="4" '
            f'fill="{_FILLS[role]}" stroke="#455a64"/>'
            f'<text x="{x}" y="{y + 18}" text-anchor="middle" font-weight="bold">{_x(label)}</text>'
        )
    return out


def _svg_lifelines(layout: _Layout, xs: dict[str, int], y1: int, y2: int) -> list[str]:
    out = []
    for name, role in layout.lifelines:
        dash = "2 3" if role == "wire" or name == REMOTE else "6 4"
        x = xs[name]
        out.append(
            f'<line x1="{x}" y1="{y1}" x2="{x}" y2="{y2}" stroke="#90a4ae" stroke-dasharray="{dash}"/>'
        )
    return out


def _drawing(layout: _Layout) -> _Drawing:
    names = [n for n, _ in layout.lifelines]
    xs, left, width = _place(layout)
    drawn = f"{layout.drawn} events" + (f", {layout.hidden} earlier not drawn" if layout.hidden else "")
    title = f"WebSocket lifecycle: {', '.join(names) or 'no participants'} ({drawn})"

    head: list[str] = []  # the top band: what is left out, the names, the start of the lifelines
    y = 12
    if layout.hidden:
        note = f"… {layout.hidden} earlier events not drawn"
        head.append(f'<text x="{left}" y="{y + 10}" fill="#777" font-style="italic">{_x(note)}</text>')
        y += 20
    head.extend(_svg_heads(layout, xs, y))
    head_h = y + _HEAD_H + _HEAD_GAP
    head.extend(_svg_lifelines(layout, xs, y + _HEAD_H, head_h))

    rows: list[str] = []
    y = 0
    for r in layout.rows:
        tall = any(isinstance(i, _Arrow) for i in r.items)
        mid = y + (20 if tall else 13)
        if r.time:
            rows.append(f'<text x="{_TIME_X}" y="{mid + 4}" fill="#888">{_x(r.time)}</text>')
        rows.extend(_svg_item(item, xs, mid, left, width) for item in r.items)
        y += _ARROW_H if tall else _BADGE_H
    bottom = y + 6
    body = [*_svg_lifelines(layout, xs, 0, bottom), *rows, *_svg_heads(layout, xs, bottom)]
    if not names:
        body.append(f'<text x="{left}" y="18" fill="#777">{_x("(no events yet)")}</text>')
    return _Drawing(names, title, width, head_h, bottom + _HEAD_H + 12, head, body)


def _svg_doc(width: int, height: int, label: str, parts: Iterable[str]) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="monospace" font-size="{_FONT}" role="img" '
        f'aria-label="{_x(label)}">'
        f"<title>{_x(label)}</title>"
        f'<rect width="{width}" height="{height}" rx="6" fill="#ffffff"/>' + "".join(parts) + "</svg>"
    )


def _svg(drawing: _Drawing) -> str:
    """The whole drawing as one standalone SVG document."""
    body = f'<g transform="translate(0 {drawing.head_h})">{"".join(drawing.body)}</g>'
    return _svg_doc(drawing.width, drawing.height, drawing.title, [*drawing.head, body])


def _svg_item(item: _Item, xs: dict[str, int], mid: int, left: int, width: int) -> str:
    if isinstance(item, _Arrow):
        x1, x2 = xs.get(item.src, xs.get(REMOTE, 0)), xs.get(item.dst, xs.get(REMOTE, 0))
        if x1 == x2:  # to itself: a small loop
            path = f"M{x1} {mid - 6} h30 v12 h-24"
            tip = f"{x1 + 6},{mid + 6} {x1 + 12},{mid + 2} {x1 + 12},{mid + 10}"
            room = 30
            lx, anchor = x1 + 36, "start"
            shape = f'<path d="{path}" fill="none" stroke="{item.colour}" stroke-width="1.5"/>'
        else:
            sign = 1 if x2 > x1 else -1
            dash = ' stroke-dasharray="5 3"' if item.dashed else ""
            shape = (
                f'<line x1="{x1}" y1="{mid}" x2="{x2 - sign * 8}" y2="{mid}" stroke="{item.colour}" '
                f'stroke-width="1.5"{dash}/>'
            )
            tip = f"{x2},{mid} {x2 - sign * 9},{mid - 4} {x2 - sign * 9},{mid + 4}"
            room = abs(x2 - x1) - 12
            lx, anchor = (x1 + x2) // 2, "middle"
        room_chars = int(room / _CHAR_W) if anchor == "middle" else _SELF_LABEL
        label = _fit(item.label, room_chars - len(item.suffix)) + item.suffix
        cross = ""
        if item.failed:
            cx = x2 - (8 if x2 > x1 else -8) * 3
            cross = (
                f'<path d="M{cx - 5} {mid - 5} l10 10 M{cx + 5} {mid - 5} l-10 10" stroke="{_RED}" '
                f'stroke-width="2"/>'
            )
        return (
            f"{shape}"
            f'<polygon points="{tip}" fill="{item.colour}"/>{cross}'
            f'<text x="{lx}" y="{mid - 5}" text-anchor="{anchor}" fill="{item.colour}">{_x(label)}</text>'
        )
    if isinstance(item, _Badge):
        x = xs.get(item.who, 0)
        w = _badge_w(item)
        weight = ' font-weight="bold"' if item.colour == _RED else ""
        return (
            f'<rect x="{x - w // 2}" y="{mid - 9}" width="{w}" height="18" rx="9" fill="#ffffff" '
            f'stroke="{item.colour}"/>'
            f'<text x="{x}" y="{mid + 4}" text-anchor="middle" fill="{item.colour}"{weight}>'
            f"{_x(_badge_text(item))}</text>"
        )
    if item.over is not None and item.over in xs:
        x0 = max(left, xs[item.over] - _NOTE_HALF)
        x1 = min(width - 10, xs[item.over] + _NOTE_HALF)
    else:
        x0, x1 = left, width - _PAD
    label = _fit(item.text, int((x1 - x0 - 12) / _CHAR_W))
    return (
        f'<rect x="{x0}" y="{mid - 9}" width="{x1 - x0}" height="18" fill="#fff8e1" stroke="#ffb300"/>'
        f'<text x="{(x0 + x1) // 2}" y="{mid + 4}" text-anchor="middle" fill="{item.colour}">'
        f"{_x(label)}</text>"
    )


# --- HTML: the drawing in a box that fits the page ------------------------------------------------

DEFAULT_HEIGHT = 640
"""px: a drawing taller than this scrolls inside its box, under its lifeline names."""


def _data_uri(svg: str) -> str:
    """A data URI that stays readable (and searchable) in a stored notebook: only what a URI or a
    quoted HTML attribute cannot hold is %-encoded (``<>&#%'`` and non-ASCII)."""
    return "data:image/svg+xml;charset=utf-8," + urllib.parse.quote(svg, safe=' /:=,;.()-_!*"')


def _html(
    drawing: _Drawing, *, max_height: int = DEFAULT_HEIGHT, follow: bool = False, inline: bool = False
) -> str:
    """The drawing in a box as wide as the page, never wider: it scales down to ``FLOOR_FONT`` px text,
    then scrolls sideways; taller than ``max_height``, it scrolls under its lifeline names (sticky).

    The SVGs go in as ``<img>`` data URIs (``inline``: the rows as an inline ``<svg>``), so HTML
    sanitizers that drop ``<svg>`` still show them. ``follow`` starts the box at the newest rows (the
    bottom) and, when it scrolls sideways, at its right end.
    """
    w, names = drawing.width, ", ".join(drawing.names) or "none"
    head_svg = _svg_doc(w, drawing.head_h, f"lifelines: {names}", drawing.head)
    body_svg = _svg_doc(w, drawing.body_h, drawing.title, drawing.body)
    img = "display:block;width:100%;height:auto"
    head = (
        f"<img src='{_data_uri(head_svg)}' width='{w}' height='{drawing.head_h}' "
        f"alt='{_x(f'lifelines: {names}')}' style='{img}'>"
    )
    if inline:
        body = body_svg.replace("<svg ", f"<svg style='{img}' ", 1)
    else:
        body = (
            f"<img src='{_data_uri(body_svg)}' width='{w}' height='{drawing.body_h}' "
            f"alt='{_x(drawing.title)}' style='{img}'>"
        )
    box = f"overflow:auto;max-height:{max_height}px;max-width:100%;box-sizing:border-box;background:#fff;"
    sheet = f"width:100%;min-width:{drawing.min_width}px;max-width:{w}px;"
    if follow:  # column-reverse: starts scrolled to the bottom; rtl: to the right end, when wider
        box += "display:flex;flex-direction:column-reverse;width:0;min-width:100%;direction:rtl;"
        sheet += "direction:ltr;margin-right:auto;flex:none;"
    return (
        f"<div class='wslab-diagram' style='{box}'><div class='wslab-diagram-sheet' style='{sheet}'>"
        f"<div class='wslab-diagram-names' style='position:sticky;top:0;z-index:1;background:#fff'>"
        f"{head}</div>{body}</div></div>"
    )


# --- mermaid and text ---------------------------------------------------------------------------

_MERMAID_WORDS = {
    "end", "participant", "actor", "loop", "alt", "else", "opt", "par", "and", "rect", "note", "critical",
    "break", "box", "activate", "deactivate", "autonumber", "title", "links", "link", "create", "destroy",
}  # fmt: skip


def _mermaid(layout: _Layout) -> str:
    ids: dict[str, str] = {}
    lines = ["sequenceDiagram"]
    for i, (name, _) in enumerate(layout.lifelines, 1):
        simple = name.isidentifier() and name.isascii() and name.lower() not in _MERMAID_WORDS
        ids[name] = name if simple else f"p{i}"
        lines.append(f"    participant {name}" if simple else f"    participant p{i} as {_mm(name)}")
    names = [n for n, _ in layout.lifelines]
    span = f"{ids[names[0]]},{ids[names[-1]]}" if len(names) > 1 else (ids[names[0]] if names else "")
    if layout.hidden and span:
        lines.append(f"    note over {span}: {layout.hidden} earlier events not drawn")
    for r in layout.rows:
        for item in r.items:
            if isinstance(item, _Arrow):
                src = ids.get(item.src, ids.get(REMOTE, item.src))
                dst = ids.get(item.dst, ids.get(REMOTE, item.dst))
                arrow = (
                    ("--x" if item.dashed else "-x") if item.failed else ("-->>" if item.dashed else "->>")
                )
                text = f"    {src}{arrow}{dst}: {_mm(item.text)}"
            elif isinstance(item, _Badge):
                text = f"    note over {ids[item.who]}: {_mm(item.label)}"
            else:
                over = ids.get(item.over or "", span)
                if not over:
                    continue
                text = f"    note over {over}: {_mm(item.text)}"
            if item.colour == _RED:
                lines.extend(["    rect rgb(255, 205, 210)", "    " + text, "    end"])
            else:
                lines.append(text)
    return "\n".join(lines) + "\n"


def _text(layout: _Layout) -> str:
    names = [n for n, _ in layout.lifelines]
    lines = [f"sequence diagram: {' | '.join(names) or '(no events yet)'} ({layout.drawn} events)"]
    if layout.hidden:
        lines.append(f"  ({layout.hidden} earlier events not drawn)")
    width = max([5, *(len(r.time) for r in layout.rows)])
    for r in layout.rows:
        parts = []
        for item in r.items:
            if isinstance(item, _Arrow):
                arrow = "-x" if item.failed else ("-->" if item.dashed else "->")
                parts.append(f"{item.src} {arrow} {item.dst}: {_printable(item.text)}")
            elif isinstance(item, _Badge):
                parts.append(f"[{item.who}] {_printable(item.label)}")
            else:
                parts.append(f"note: {_printable(item.text)}")
        lines.append(f"  {r.time:>{width}}  " + "   ".join(parts))
    return "\n".join(lines)


# --- public API -----------------------------------------------------------------------------------


def sequence_svg(
    events: Iterable[Event],
    *,
    detail: Detail = "messages",
    max_events: int | None = DEFAULT_WINDOW,
    time_unit: str | None = None,
    hidden: int = 0,
) -> str:
    """The lifecycle sequence diagram of ``events`` as a standalone SVG document.

    Draws the last ``max_events`` events (None: all); ``hidden`` counts earlier events the
    caller already left out, to say so on the drawing. ``detail="frames"`` adds a ``wire``
    lifeline for recorded frames. The time unit is taken from an :class:`EventLog`, else ticks.
    """
    return _svg(_drawing(_build(events, detail, max_events, time_unit, hidden)))


def to_mermaid(
    events: Iterable[Event],
    *,
    detail: Detail = "messages",
    max_events: int | None = DEFAULT_WINDOW,
    hidden: int = 0,
) -> Mermaid:
    """The same diagram as mermaid ``sequenceDiagram`` text, to paste into a Markdown cell."""
    return Mermaid(_mermaid(_build(events, detail, max_events, None, hidden)))


def sequence_text(
    events: Iterable[Event],
    *,
    detail: Detail = "messages",
    max_events: int | None = DEFAULT_WINDOW,
    time_unit: str | None = None,
    hidden: int = 0,
) -> str:
    """The same diagram as plain text, one line per row (for terminals and plain reprs)."""
    return _text(_build(events, detail, max_events, time_unit, hidden))


class Mermaid(str):
    """Mermaid text that a notebook shows rendered (JupyterLab ≥ 4.1 draws mermaid in Markdown).

    It is a plain ``str`` otherwise: ``print()`` it, save it, paste it in a ```` ```mermaid ```` block.
    """

    __slots__ = ()

    def _repr_markdown_(self) -> str:
        return f"```mermaid\n{self}```\n"

    def _repr_pretty_(self, printer: object, cycle: bool) -> None:
        printer.text(str(self))  # type: ignore[attr-defined]


class Diagram:
    """A finished drawing of some events: in a notebook an SVG that fits the page, in a terminal text.

    ``Diagram(lab.events)``; ``.save("session.svg")`` (or ``.mmd`` / ``.md`` for mermaid);
    ``.to_mermaid()``. The drawing is computed once, from the window of events given. In a notebook
    it shows as HTML (:meth:`html`): as wide as the output area, never wider (text scaled down to
    ``FLOOR_FONT`` px at most, then a sideways scroll), taller drawings scroll under their lifeline names.
    """

    def __init__(
        self,
        events: Iterable[Event],
        *,
        detail: Detail = "messages",
        max_events: int | None = DEFAULT_WINDOW,
        time_unit: str | None = None,
        hidden: int = 0,
        max_height: int = DEFAULT_HEIGHT,
    ) -> None:
        self.detail: Detail = detail
        self.max_height = max_height
        self._layout = _build(events, detail, max_events, time_unit, hidden)
        self._drawing: _Drawing | None = None
        self._svg: str | None = None

    @property
    def _picture(self) -> _Drawing:
        if self._drawing is None:
            self._drawing = _drawing(self._layout)
        return self._drawing

    @property
    def svg(self) -> str:
        """The SVG document (at its natural size: ``width`` × ``height`` px)."""
        if self._svg is None:
            self._svg = _svg(self._picture)
        return self._svg

    @property
    def width(self) -> int:
        """px: the drawing's natural width."""
        return self._picture.width

    @property
    def height(self) -> int:
        """px: the drawing's natural height."""
        return self._picture.height

    @property
    def min_width(self) -> int:
        """px: the narrowest a page shows it (text at ``FLOOR_FONT`` px); a narrower box scrolls."""
        return self._picture.min_width

    def html(self, *, follow: bool = False, inline: bool = False) -> str:
        """The drawing in a box that fits the page (see the class); every text in it is escaped.

        ``follow``: start at the newest rows and, if it scrolls sideways, at the right end.
        ``inline``: the rows as an inline ``<svg>`` rather than an ``<img>``.
        """
        return _html(self._picture, max_height=self.max_height, follow=follow, inline=inline)

    @property
    def lifelines(self) -> list[str]:
        """Participants, left to right: clients, then the wire (frames only), then servers."""
        return [name for name, _ in self._layout.lifelines]

    def to_mermaid(self) -> Mermaid:
        """Mermaid ``sequenceDiagram`` text in the seed's style."""
        return Mermaid(_mermaid(self._layout))

    def to_text(self) -> str:
        """Plain text, one line per row."""
        return _text(self._layout)

    def save(self, path: str | Path) -> Path:
        """Write SVG, or mermaid text when the name ends in ``.mmd`` or ``.md``; returns the path."""
        target = Path(path)
        if target.suffix in (".mmd", ".md"):
            text = self.to_mermaid()
            target.write_text(f"```mermaid\n{text}```\n" if target.suffix == ".md" else text, "utf-8")
        else:
            target.write_text(self.svg, encoding="utf-8")
        return target

    def _repr_svg_(self) -> str:
        return self.svg

    def _repr_html_(self) -> str:
        return self.html()

    def __repr__(self) -> str:
        return self.to_text()
