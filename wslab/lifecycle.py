"""The connection lifecycle as a data table, and what close codes mean.

A connection moves CONNECTING → OPEN → CLOSING → CLOSED (RFC 6455 section 4 and 7). Which
recorded event moves it where is the table :data:`TRANSITIONS`; the connection panel, the docs
and the lessons all read that table, so they cannot drift from each other.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from websockets.exceptions import ProtocolError
from websockets.frames import CLOSE_CODE_EXPLANATIONS, Close
from websockets.protocol import State

from .events import Event, Kind
from .i18n import N_, _

__all__ = [
    "KEEPALIVE_REASON",
    "TRANSITIONS",
    "ConnectionBook",
    "ConnectionSummary",
    "State",
    "check_close",
    "explain_close",
    "explain_close_code",
    "fold_summary",
    "summarize_connections",
]

TRANSITIONS: dict[Kind, State] = {
    "connecting": State.CONNECTING,
    "upgrade": State.CONNECTING,
    "accept": State.OPEN,
    "connection": State.OPEN,
    "open": State.OPEN,
    "closing": State.CLOSING,
    "close": State.CLOSED,
    "reject": State.CLOSED,
}
"""Which event kind puts a connection in which state (all other kinds leave it as it is)."""

_PLAIN_MEANINGS: dict[int, str] = {
    1000: N_("normal closure"),
    1001: N_("going away"),
    1002: N_("protocol error"),
    1003: N_("unsupported data"),
    1005: N_("no status code in the close frame"),
    1006: N_("abnormal closure: the connection ended without a close frame"),
    1007: N_("invalid data (e.g. bad UTF-8 in a text message)"),
    1008: N_("policy violation"),
    1009: N_("message too big"),
    1010: N_("a required extension was not negotiated"),
    1011: N_("server error: something failed inside the server"),
    1012: N_("service restart"),
    1013: N_("try again later"),
    1014: N_("bad gateway"),
    1015: N_("TLS handshake failure"),
}


def explain_close_code(code: int | None) -> str:
    """A plain-language meaning of a close code, for learners.

    Uses the wording above where we have one, and websockets' own table
    (``websockets.frames.CLOSE_CODE_EXPLANATIONS``) for the rest.
    """
    if code is None:
        return ""
    if code in _PLAIN_MEANINGS:
        return _(_PLAIN_MEANINGS[code])
    if code in CLOSE_CODE_EXPLANATIONS:
        return _(CLOSE_CODE_EXPLANATIONS[code])
    if 3000 <= code < 4000:
        return _("registered for libraries and frameworks")
    if 4000 <= code < 5000:
        return _("private use by applications")
    return _("unknown code")


WEBSOCKETS_EXPLANATIONS = (
    N_("OK"), N_("going away"), N_("protocol error"), N_("unsupported data"),
    N_("no status received [internal]"), N_("abnormal closure [internal]"), N_("invalid frame payload data"),
    N_("policy violation"), N_("message too big"), N_("mandatory extension"), N_("internal error"),
    N_("service restart"), N_("try again later"), N_("bad gateway"), N_("TLS handshake failure [internal]"),
)  # fmt: skip
"""websockets' own meanings (``CLOSE_CODE_EXPLANATIONS``), here so the catalogue translates them too."""


KEEPALIVE_REASON = "keepalive ping timeout"
"""The reason websockets puts in the 1011 it sends when its own keepalive gets no pong."""


def explain_close(code: int | None, reason: str | None) -> str:
    """:func:`explain_close_code`, except where the reason shows whose choice the code was.

    websockets closes with 1011 when its keepalive gets no pong: nothing failed inside a server,
    and neither RFC 6455 nor browsers nor Node ``ws`` have that keepalive.
    """
    if code == 1011 and reason == KEEPALIVE_REASON:
        return _("websockets' keepalive gave up: no pong came back in time")
    return explain_close_code(code)


NEVER_SENT = frozenset({1005, 1006, 1015})
"""Codes an endpoint reports but never puts in a close frame (RFC 6455 section 7.4.1)."""


def check_close(code: int, reason: str = "") -> None:
    """Refuse, before anything is sent or recorded, a close frame websockets would refuse to send.

    Without this the ``closing`` event would be recorded, then websockets would raise its own
    ``ProtocolError`` halfway through the close.
    """
    if code in NEVER_SENT:
        raise ValueError(
            _("close code {code} is never sent in a close frame: it reports {meaning}").format(
                code=code, meaning=explain_close_code(code)
            )
        )
    try:
        Close(code, reason).check()
    except ProtocolError:
        raise ValueError(
            _("close code {code} cannot be sent: use 1000-1003, 1007-1014, or 3000-4999").format(code=code)
        ) from None
    if len(reason.encode("utf-8")) > 123:
        raise ValueError(
            _("a close reason is at most 123 bytes of UTF-8 (a control frame carries 125 bytes)")
        )


@dataclass(frozen=True, slots=True)
class ConnectionSummary:
    """One connection as a server (or client) sees it: state and traffic counters."""

    conn: str
    endpoint: str
    peer: str | None
    state: State = State.CONNECTING
    messages_in: int = 0
    messages_out: int = 0
    bytes_in: int = 0
    bytes_out: int = 0
    close_code: int | None = None
    close_reason: str | None = None
    errors: int = 0


def summarize_connections(events: Iterable[Event], *, side: str | None = "server") -> list[ConnectionSummary]:
    """Fold events into one summary per (endpoint, connection), in order of first appearance.

    This is the server's registry as the events tell it: the connection panel draws this, and it
    needs no socket to do so.
    """
    found: dict[tuple[str, str], dict[str, Any]] = {}  # fields by connection, made frozen at the end
    for event in events:  # a live panel folds thousands of events a refresh: no copy per event
        if event.conn is None or (side is not None and event.side != side):
            continue
        key = (event.endpoint, event.conn)
        fields = found.get(key)
        if fields is None:
            fields = found[key] = {"conn": event.conn, "endpoint": event.endpoint, "peer": event.peer}
        kind = event.kind
        if kind in TRANSITIONS:
            fields["state"] = TRANSITIONS[kind]
        if kind == "message":
            fields["messages_in"] = fields.get("messages_in", 0) + 1
            fields["bytes_in"] = fields.get("bytes_in", 0) + (event.size or 0)
        elif kind == "send":
            fields["messages_out"] = fields.get("messages_out", 0) + 1
            fields["bytes_out"] = fields.get("bytes_out", 0) + (event.size or 0)
        elif kind == "close":
            fields["close_code"], fields["close_reason"] = event.code, event.reason
        elif kind == "error":
            fields["errors"] = fields.get("errors", 0) + 1
        if fields["peer"] is None and event.peer is not None:
            fields["peer"] = event.peer
    return [ConnectionSummary(**fields) for fields in found.values()]


def fold_summary(old: ConnectionSummary | None, part: ConnectionSummary, moved: bool) -> ConnectionSummary:
    """Fold the summary of newer events (``part``) into the summary so far (``old``).

    ``moved``: the newer events changed the connection's state (else ``part.state`` is only a default).
    """
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


class ConnectionBook:
    """Connection summaries kept up to date batch by batch, so no batch re-reads the history.

    Folding every batch with :meth:`add` gives what one :func:`summarize_connections` over all the
    events would. At most ``memory`` connections are kept: past that, the oldest closed ones are
    forgotten, and counted in ``forgotten``.
    """

    def __init__(self, *, side: str | None = "server", memory: int = 1_000) -> None:
        self.side = side
        self.memory = memory
        self.forgotten = 0
        self._summaries: dict[tuple[str, str], ConnectionSummary] = {}

    @property
    def connections(self) -> list[ConnectionSummary]:
        """The connections kept, oldest first."""
        return list(self._summaries.values())

    def add(self, events: Sequence[Event]) -> None:
        """Fold a batch of newer events in."""
        moved = {(e.endpoint, e.conn) for e in events if e.kind in TRANSITIONS and e.conn is not None}
        for part in summarize_connections(events, side=self.side):
            key = (part.endpoint, part.conn)
            self._summaries[key] = fold_summary(self._summaries.get(key), part, key in moved)
        if len(self._summaries) > self.memory:  # forget the oldest closed ones, counted
            for key in [k for k, v in self._summaries.items() if v.state is State.CLOSED]:
                if len(self._summaries) <= self.memory:
                    break
                del self._summaries[key]
                self.forgotten += 1

    def latest(self, count: int) -> tuple[list[ConnectionSummary], int]:
        """The newest ``count`` connections, oldest first, and how many others there are (forgotten too)."""
        shown = list(itertools.islice(reversed(self._summaries.values()), count))[::-1]
        return shown, len(self._summaries) + self.forgotten - len(shown)
