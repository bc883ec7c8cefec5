"""One layout for every output: which lifelines, left to right, and which rows, top to bottom.

:func:`build` picks the window of events to draw (:func:`window`), then a :class:`LayoutBuilder`
turns it into rows: it first casts the lifelines (who is a client, a server, a wire), then reads
the events in order, one method per event kind, pairing what two ends recorded of one thing (a send
and its message, a close and its reply) into one arrow.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Sequence

from ..describe import format_size, preview
from ..eventlog import KIND_COLOURS, EventLog, format_time
from ..events import Event
from ..i18n import _, language
from ..lifecycle import explain_close_code
from .model import GREEN, GREY, RED, REMOTE, Arrow, Badge, Detail, Item, Layout, Note, Role, Row

__all__ = ["IDLE_GAP_US", "LayoutBuilder", "build", "window"]

IDLE_GAP_US = 1_000_000
"""On a wall clock, a pause longer than this (µs) between two events gets an "idle" note."""

_NORMAL_CLOSE = {1000, 1001}


# --- choosing the events ----------------------------------------------------------------------


def window(
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


def build(
    events: Iterable[Event],
    detail: Detail,
    max_events: int | None,
    time_unit: str | None,
    hidden: int,
) -> Layout:
    """The layout of the last ``max_events`` events (the time unit: given, an EventLog's, or ticks)."""
    unit = time_unit or (events.time_unit if isinstance(events, EventLog) else "tick")
    if isinstance(events, EventLog) and events.dropped:
        hidden += events.dropped
    picked, hidden = window(events, detail, max_events, hidden)
    lang = events.lang if isinstance(events, EventLog) else None
    with language(lang):
        layout = LayoutBuilder(picked, detail, unit).layout(hidden)
    layout.lang = lang
    return layout


# --- labels ---------------------------------------------------------------------------------------


def _path(url: object) -> str:
    if not isinstance(url, str) or "://" not in url:
        return "/"
    rest = url.split("://", 1)[1]
    return "/" + rest.split("/", 1)[1] if "/" in rest else "/"


def _close_label(code: int | None, reason: str | None) -> str:
    if code is None:
        return _("no close code")
    text = f"{code} {explain_close_code(code).split(':')[0]}"
    if reason:
        text += f" {preview(reason, 24)}"
    return text


def _close_colour(code: int | None) -> str:
    return GREY if code is None or code in _NORMAL_CLOSE else RED


def _size(e: Event) -> str:
    return f" ({format_size(e.size or 0)})"


# --- the builder ------------------------------------------------------------------------------------

_Handler = Callable[[Event, str], None]


class LayoutBuilder:
    """Rows from a window of events, one method per event kind (``peer`` is the other end's lifeline).

    The state pairs what two ends record of one exchange, keyed by connection id: an attempt waiting
    for its outcome, sends waiting for their messages (and messages a page reported before its send),
    and who sent the first close frame.
    """

    def __init__(self, events: Sequence[Event], detail: Detail, time_unit: str) -> None:
        self.events = events
        self.detail = detail
        self.time_unit = time_unit
        self.roles: dict[str, Role] = {}
        self.order: list[str] = []  # first appearance, each peer right after the endpoint naming it
        self.wires: list[str] = []  # relays, drawn only with detail="frames"
        self.conn_client: dict[str, str] = {}
        self.conn_server: dict[str, str] = {}
        self.pages = {e.endpoint for e in events if e.side == "browser"}  # ends whose reports arrive late
        self.rows: list[Row] = []
        self.pending_connect: dict[str, Arrow] = {}
        self.pending_send: dict[tuple[str, str], deque[object]] = {}
        self.early: dict[tuple[str, str], deque[object]] = {}  # received before the send was recorded
        self.late_close: set[str] = set()  # conns whose closing was drawn from the other end's close
        self.pending_close: dict[str, str] = {}  # conn -> who sent the first close frame
        self.answered: set[str] = set()
        self.opened: set[str] = set()
        self.attempted: set[str] = set()
        self.handlers: dict[str, _Handler] = {
            "connecting": self.connecting,
            "upgrade": self.upgrade,
            "accept": self.accept,
            "reject": self.reject,
            "open": self.open,
            "connection": self.open,
            "send": self.send,
            "message": self.message,
            "ping": self.ping,
            "pong": self.ping,
            "closing": self.closing,
            "close": self.close,
            "error": self.error,
            "reconnecting": self.reconnecting,
            "note": self.note,
        }
        self._cast()

    # lifelines -------------------------------------------------------------------------------------

    def _cast(self) -> None:
        """Who is a client, a server or a wire, and the lifelines' first order."""
        for e in self.events:  # an endpoint's own side wins over what its peers call it
            if e.side == "wire":
                if self.detail == "frames" and e.endpoint not in self.wires:
                    self.wires.append(e.endpoint)
                continue
            role: Role = "server" if e.side == "server" else "client"
            self.roles.setdefault(e.endpoint, role)
            if e.conn is not None:
                (self.conn_server if role == "server" else self.conn_client).setdefault(e.conn, e.endpoint)
        for e in self.events:
            if e.side == "wire":
                continue
            if e.endpoint not in self.order:
                self.order.append(e.endpoint)
            peer = e.peer
            if peer is None and e.side != "server" and e.kind == "connecting":
                peer = REMOTE
            if peer is not None and peer not in self.order:
                self.order.append(peer)
                self.roles.setdefault(peer, "client" if e.side == "server" else "server")

    def peer_of(self, e: Event) -> str:
        if e.peer is not None:
            return e.peer
        if e.side == "server":
            return self.conn_client.get(e.conn or "", REMOTE)
        return self.conn_server.get(e.conn or "", REMOTE)

    def _lifelines(self) -> list[tuple[str, Role]]:
        for r in self.rows:  # every name an item points at gets a lifeline (an unnamed peer: "remote")
            for item in r.items:
                if isinstance(item, Arrow):
                    names: tuple[str | None, ...] = (item.src, item.dst)
                else:
                    names = (item.who if isinstance(item, Badge) else item.over,)
                for name in names:
                    if name is not None and name not in self.order and name not in self.wires:
                        self.order.append(name)
                        self.roles.setdefault(name, "server")
        lifelines: list[tuple[str, Role]] = [(name, self.roles[name]) for name in self.order]
        if self.wires:  # the classic picture: clients, the wire, servers
            lifelines = [
                *(pair for pair in lifelines if pair[1] == "client"),
                *((name, "wire") for name in self.wires),
                *(pair for pair in lifelines if pair[1] == "server"),
            ]
        return lifelines

    # rows --------------------------------------------------------------------------------------------

    def layout(self, hidden: int) -> Layout:
        """Read every event in order and return the finished layout."""
        last_time: int | None = None
        for e in self.events:
            if self.time_unit != "tick" and last_time is not None and e.time - last_time > IDLE_GAP_US:
                gap = (e.time - last_time) / 1_000_000
                idle = _("⏳ {seconds} s idle: nothing happened").format(seconds=f"{gap:.1f}")
                self.rows.append(Row("", [Note(idle)]))
            last_time = e.time
            if e.side == "wire":
                self.wire(e)
            else:
                self.handlers.get(e.kind, self.other)(e, self.peer_of(e))
        return Layout(self._lifelines(), self.rows, hidden, len(self.events))

    def row(self, e: Event, item: Item) -> None:
        """A new row for ``item``; a badge joins the last row if it holds only badges of other ends."""
        rows = self.rows
        if (
            isinstance(item, Badge)
            and rows
            and rows[-1].badges_only
            and all(isinstance(i, Badge) and i.who != item.who for i in rows[-1].items)
        ):
            rows[-1].items.append(item)
            return
        rows.append(Row(format_time(e.time, self.time_unit), [item]))

    def note_row(self, e: Event, text: str) -> None:
        """A note over the recording end, always a row of its own."""
        self.rows.append(Row(format_time(e.time, self.time_unit), [Note(text, over=e.endpoint)]))

    # one method per event kind -----------------------------------------------------------------------

    def wire(self, e: Event) -> None:
        """A relay's event: drawn only with ``detail="frames"`` (a frame as an arrow or a badge)."""
        if self.detail != "frames":
            return
        if e.kind == "frame" and e.frame is not None:
            conn = e.conn or ""
            towards_server = e.frame.direction.startswith("client")
            origin = self.conn_client.get(conn) if towards_server else self.conn_server.get(conn)
            text = e.frame.describe()
            if e.data is not None:
                text += f" {preview(e.data, 16)}"
            if e.code is not None:
                text += f" {e.code}"
            colour = KIND_COLOURS.get("frame", "#00838f")
            if origin is None:
                self.row(e, Badge(e.endpoint, f"▭ {e.frame.direction} {text}", colour))
            else:
                self.row(e, Arrow(origin, e.endpoint, text, colour))
        else:
            self.note_row(e, f"✎ {_(e.detail) if e.detail else e.kind}")

    def connecting(self, e: Event, peer: str) -> None:
        conn = e.conn or ""
        self.attempted.add(conn)
        arrow = Arrow(e.endpoint, peer, f"HTTP Upgrade GET {_path(e.data)}", GREY)
        self.pending_connect[conn] = arrow
        self.row(e, arrow)

    def upgrade(self, e: Event, peer: str) -> None:
        if self.pending_connect.pop(e.conn or "", None) is None:  # the client's side is not recorded
            request = (e.detail or "GET /").split(" HTTP/")[0]
            self.row(e, Arrow(peer, e.endpoint, f"HTTP Upgrade {request}", GREY))

    def accept(self, e: Event, peer: str) -> None:
        self.opened.add(e.conn or "")
        self.row(e, Arrow(e.endpoint, peer, e.detail or "101 Switching Protocols", GREEN, dashed=True))

    def reject(self, e: Event, peer: str) -> None:
        status = e.detail or (f"HTTP {e.code}" if e.code else _("rejected"))
        text = _("✖ {status} (handshake refused)").format(status=status)
        self.row(e, Arrow(e.endpoint, peer, text, RED, dashed=True))

    def open(self, e: Event, peer: str) -> None:
        self.opened.add(e.conn or "")
        self.row(e, Badge(e.endpoint, f"⚡ {e.kind}", GREEN))

    def send(self, e: Event, peer: str) -> None:
        key = (e.conn or "", e.endpoint)
        drawn = self.early.get(key)
        if drawn and drawn[0] == e.data:  # a page reports late: its arrow is drawn already
            drawn.popleft()
            return
        self.pending_send.setdefault(key, deque()).append(e.data)
        colour = KIND_COLOURS["message"]
        dashed = e.side == "server"
        self.row(e, Arrow(e.endpoint, peer, preview(e.data, 48), colour, dashed=dashed, suffix=_size(e)))

    def message(self, e: Event, peer: str) -> None:
        key = (e.conn or "", peer)
        queue = self.pending_send.get(key)
        if queue and queue[0] == e.data:
            queue.popleft()  # drawn already, as the sender's arrow
            return
        colour = KIND_COLOURS["message"]
        dashed = e.side == "client"
        self.row(e, Arrow(peer, e.endpoint, preview(e.data, 48), colour, dashed=dashed, suffix=_size(e)))
        self.early.setdefault(key, deque()).append(e.data)

    def ping(self, e: Event, peer: str) -> None:
        text = f"· {e.kind}" + (f" {preview(e.data, 12)}" if e.data else "")
        self.row(e, Badge(e.endpoint, text, GREY))

    def closing(self, e: Event, peer: str) -> None:
        conn, who = e.conn or "", e.endpoint
        if conn in self.late_close and self.pending_close.get(conn) == who:
            return  # drawn already, when the other end recorded its close
        self.pending_close.setdefault(conn, who)
        text = _("Close {label} (started by {who})").format(label=_close_label(e.code, e.reason), who=who)
        self.row(e, Arrow(who, peer, text, _close_colour(e.code)))

    def close(self, e: Event, peer: str) -> None:
        conn, who = e.conn or "", e.endpoint
        first = self.pending_close.get(conn)
        label = _close_label(e.code, e.reason)
        colour = _close_colour(e.code)
        if first is None and e.initiator is not None and e.initiator == peer and peer in self.pages:
            # the peer started the close but reports late (a browser page): its frame came first
            self.pending_close[conn] = peer
            self.late_close.add(conn)
            self.answered.add(conn)
            started = _("Close {label} (started by {who})").format(label=label, who=peer)
            self.row(e, Arrow(peer, who, started, colour))
            self.row(e, Arrow(who, peer, _("Close {label} (reply)").format(label=label), colour, dashed=True))
        elif first is not None and first != who and conn not in self.answered:
            self.answered.add(conn)  # the peer's reply close frame; the rest are badges
            self.row(e, Arrow(who, peer, _("Close {label} (reply)").format(label=label), colour, dashed=True))
        elif conn in self.attempted and conn not in self.opened:
            attempt = self.pending_connect.pop(conn, None)
            if attempt is not None:
                attempt.failed, attempt.colour = True, RED
                attempt.label += _(" (failed)")
            self.row(e, Badge(who, _("■ closed {code}: never opened").format(code=e.code), RED))
        else:
            reason = f" {preview(e.reason, 12)}" if e.reason else ""
            by = _(" · by {who}").format(who=e.initiator) if e.initiator else ""
            self.row(e, Badge(who, _("■ closed {code}").format(code=e.code) + f"{reason}{by}", colour))

    def error(self, e: Event, peer: str) -> None:
        what = _(e.error) if e.error else _(e.detail) if e.detail else _("unknown")
        self.row(e, Badge(e.endpoint, _("✖ error: {what}").format(what=what), RED))

    def reconnecting(self, e: Event, peer: str) -> None:
        text = _("↻ reconnecting {detail}").format(detail=_(e.detail) if e.detail else "").rstrip()
        self.row(e, Badge(e.endpoint, text, "#ef6c00"))

    def note(self, e: Event, peer: str) -> None:
        self.note_row(e, f"✎ {_(e.detail) if e.detail else ''}")

    def other(self, e: Event, peer: str) -> None:
        """A kind added later still shows up."""
        self.row(e, Badge(e.endpoint, e.kind, GREY))
