"""The whole vocabulary of wslab: one immutable :class:`Event`.

Every lifecycle moment, on either side, becomes one ``Event``. Views, exports and hooks all read
this one type, so they cannot disagree about what happened.

The names follow what learners meet elsewhere: the browser's ``WebSocket`` fires ``open``,
``message``, ``close`` and ``error`` on the client; Node's ``ws`` fires ``connection``,
``message``, ``close`` and ``error`` on the server. The other kinds are what a lifecycle diagram
needs besides: the attempt, the opening handshake and the messages each side sends.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Literal, TypeAlias, get_args

__all__ = [
    "CLIENT_EVENTS",
    "KINDS",
    "SERVER_EVENTS",
    "SIDES",
    "Event",
    "FrameInfo",
    "Kind",
    "Payload",
    "Side",
]

Side: TypeAlias = Literal["client", "server", "wire", "browser"]
"""Who recorded the event: a client, a server, the wire between them, or a browser page."""

Kind: TypeAlias = Literal[
    "connecting",  # client: a connection attempt starts (data = URL)
    "upgrade",  # server: HTTP Upgrade request received (headers)
    "accept",  # server: 101 Switching Protocols sent (headers)
    "reject",  # server: the handshake was refused with an HTTP status (code)
    "connection",  # server: a client is connected (Node ws)
    "open",  # client: the connection is open (browser API)
    "send",  # either: a message was sent
    "message",  # either: a message was received
    "ping",  # either: a ping was sent or received
    "pong",  # either: a pong was sent or received
    "closing",  # either: this side starts the closing handshake (code, reason)
    "close",  # either: the connection is closed (code, reason)
    "error",  # either: something went wrong (error)
    "reconnecting",  # client: waiting before another attempt
    "frame",  # wire: one frame crossed the wire
    "note",  # anyone: a remark worth showing on the timeline
]

Payload: TypeAlias = str | bytes

SIDES: tuple[Side, ...] = get_args(Side)
KINDS: tuple[Kind, ...] = get_args(Kind)
CLIENT_EVENTS: tuple[Kind, ...] = ("open", "message", "close", "error")
"""The browser WebSocket API's four events, as the seed teaches them."""
SERVER_EVENTS: tuple[Kind, ...] = ("connection", "message", "close", "error")
"""Node ws's four events, as the seed teaches them."""


@dataclass(frozen=True, slots=True, kw_only=True)
class FrameInfo:
    """What one WebSocket frame looked like on the wire (RFC 6455 section 5.2)."""

    direction: str  # e.g. "client→server"
    opcode: str  # TEXT, BINARY, CONT, PING, PONG, CLOSE
    fin: bool
    rsv1: bool = False
    rsv2: bool = False
    rsv3: bool = False
    masked: bool = False
    mask_key: str | None = None  # hex
    length: int = 0  # payload length as sent on the wire

    def describe(self) -> str:
        """A one-line summary such as ``TEXT fin=1 masked len=7``."""
        bits = [self.opcode, f"fin={int(self.fin)}"]
        if self.rsv1:
            bits.append("rsv1=1")
        if self.rsv2:
            bits.append("rsv2=1")
        if self.rsv3:
            bits.append("rsv3=1")
        if self.masked:
            bits.append("masked")
        bits.append(f"len={self.length}")
        return " ".join(bits)


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """One thing that happened to a connection, as recorded.

    ``seq`` is contiguous from 1 across the whole lab, so a gap always means a drop. ``time`` is
    a logical tick or microseconds since the lab started, whichever clock the lab uses.
    ``endpoint`` names who saw it (``"client"``, ``"server"``) and ``peer`` the other end, so a
    diagram can draw an arrow between them; ``conn`` is the readable id of the TCP connection
    (``"c1"``), the same on both ends when the lab owns both.
    """

    seq: int
    time: int
    side: Side
    kind: Kind
    endpoint: str
    conn: str | None = None
    peer: str | None = None
    data: Payload | None = None
    size: int | None = None
    code: int | None = None
    reason: str | None = None
    initiator: str | None = None
    detail: str | None = None
    headers: tuple[tuple[str, str], ...] | None = None
    error: str | None = None
    exc: BaseException | None = field(default=None, compare=False, repr=False)
    frame: FrameInfo | None = None
    was_clean: bool | None = None
    """On ``close``: the browser's ``CloseEvent.wasClean``, true when the closing handshake completed."""

    @property
    def who(self) -> str:
        """Who saw it: ``endpoint`` by the name ``EventLog.filter(who=…)`` and the tables use."""
        return self.endpoint

    @property
    def is_binary(self) -> bool:
        """True when the payload is bytes (a binary message)."""
        return isinstance(self.data, bytes)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; bytes payloads are base64 with ``binary: true``."""
        out: dict[str, Any] = {}
        for f in fields(self):
            if f.name == "exc":
                continue
            value = getattr(self, f.name)
            if f.name == "data" and isinstance(value, bytes):
                out["data"] = base64.b64encode(value).decode("ascii")
                out["binary"] = True
                continue
            if f.name == "headers" and value is not None:
                value = [list(pair) for pair in value]
            elif f.name == "frame" and value is not None:
                value = {g.name: getattr(value, g.name) for g in fields(value)}
            out[f.name] = value
        out.setdefault("binary", False)
        return out

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Event:
        """The inverse of :meth:`to_dict` (the exception object itself is not kept)."""
        values = dict(raw)
        binary = bool(values.pop("binary", False))
        if binary and values.get("data") is not None:
            values["data"] = base64.b64decode(values["data"])
        if values.get("headers") is not None:
            values["headers"] = tuple((str(k), str(v)) for k, v in values["headers"])
        if values.get("frame") is not None:
            values["frame"] = FrameInfo(**values["frame"])
        return cls(**values)
