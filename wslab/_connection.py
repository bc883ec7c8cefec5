"""What both ends share about a ``websockets`` connection: how it ended, in the words of the real systems.

A browser's ``WebSocket`` and Node's ``ws`` agree on one rule (WHATWG WebSocket standard, RFC 6455
section 7.1.7): ``error`` fires only when *this* end fails the connection (bad data from the peer,
a dead peer), and then ``close`` says 1006 because a failing end reads nothing more, not even the
peer's close frame. A peer that simply goes away gives ``close`` 1006 with ``wasClean`` false and
no ``error``. A completed closing handshake is clean, whatever happens to TCP afterwards (a reset
right after it is common: Chromium tabs, wscat, Autobahn). :func:`ending` applies that rule to what
websockets kept, so the client and the server record the same story the same way.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from websockets.asyncio.connection import Connection
from websockets.exceptions import PayloadTooBig, ProtocolError, TooManyFragments
from websockets.extensions.permessage_deflate import PerMessageDeflate
from websockets.protocol import State

from .events import Payload
from .i18n import _
from .lifecycle import KEEPALIVE_REASON, explain_close_code

__all__ = ["KEEPALIVE_REASON", "CloseWatchdog", "Ending", "ending", "payload_size", "release_compression"]

_BAD_DATA = (ProtocolError, PayloadTooBig, TooManyFragments, UnicodeDecodeError)


@dataclass(frozen=True, slots=True)
class Ending:
    """How one end saw its connection end: the ``error`` to record (if any) and the ``close``."""

    error: str | None
    code: int
    reason: str
    was_clean: bool
    detail: str | None
    exc: BaseException | None


def _sent_words(code: int, reason: str) -> str:
    if reason == KEEPALIVE_REASON:
        return _("sent {code} (websockets' keepalive timeout)").format(code=code)
    return _("sent {code} {meaning}").format(code=code, meaning=explain_close_code(code))


def ending(ws: Connection) -> Ending:
    """The ``error`` and ``close`` a browser (client) or Node ``ws`` (server) would report here."""
    protocol = ws.protocol
    exc = protocol.parser_exc or ws.connection_exc
    sent, rcvd = protocol.close_sent, protocol.close_rcvd
    we_started = protocol.close_rcvd_then_sent is not True
    if sent is not None and sent.reason == KEEPALIVE_REASON and we_started:
        words = _(
            "no pong came back in time: the peer looks dead (websockets' keepalive ping timeout; "
            "browsers and Node ws have none built in)"
        )
        answered = _("the peer answered late") if rcvd is not None else _("no close frame came back")
        return Ending(words, 1006, "", False, f"{_sent_words(sent.code, sent.reason)}, {answered}", exc)
    if isinstance(exc, _BAD_DATA):  # this end failed the connection: error, then 1006
        what = sent.reason if sent is not None and sent.reason else str(exc)
        if sent is None:
            alone = _("bad data from the other end: {what}").format(what=what)
            return Ending(alone, 1006, "", False, None, exc)
        words = _("bad data from the other end: {what}; answered {code} {meaning}").format(
            what=what, code=sent.code, meaning=explain_close_code(sent.code)
        )
        failed = _("{sent}; 1006 as it failed").format(sent=_sent_words(sent.code, sent.reason))
        return Ending(words, 1006, "", False, failed, exc)
    if rcvd is None:  # the peer went away without a close frame: 1006, not clean, and no error
        detail: str | None
        if sent is not None:
            detail = _("{sent}, no close frame came back").format(sent=_sent_words(sent.code, sent.reason))
        elif exc is not None and str(exc):  # a reset, or a frame cut short: say which
            detail = _("the TCP connection dropped: {cause}").format(cause=exc)
        else:
            detail = _("the TCP connection dropped")
        return Ending(None, 1006, "", False, detail, exc)
    if sent is not None:  # a close frame each way: clean, even if TCP is reset afterwards
        return Ending(None, rcvd.code, rcvd.reason, True, None, None)
    late = _("the TCP connection dropped before this end's close frame went out")
    return Ending(None, rcvd.code, rcvd.reason, False, late, exc)


def payload_size(data: Payload) -> int:
    """Bytes on the wire before framing: UTF-8 length for text."""
    if isinstance(data, str):  # ASCII text (the common case) is its own length: no encoding pass
        return len(data) if data.isascii() else len(data.encode("utf-8", "surrogatepass"))
    return len(data)


def release_compression(ws: Connection) -> None:
    """Let a closed connection's zlib state go (about 40 KiB per end and direction).

    Closed connections stay in the registry so a lesson can look back at them; their
    permessage-deflate encoder and decoder are never used again, and 10,000 of them would
    otherwise hold over a gigabyte.
    """
    if ws.protocol.state is not State.CLOSED:
        return
    for extension in ws.protocol.extensions:
        if isinstance(extension, PerMessageDeflate):
            extension.__dict__.pop("encoder", None)
            extension.__dict__.pop("decoder", None)


class CloseWatchdog(Connection):
    """Enforces ``close_timeout`` when a connection fails and the peer then goes silent.

    When websockets fails a connection on bad data it sends a close frame and sets a close
    deadline, but only a pending ``send()`` or ``close()`` enforces that deadline: a peer that
    never answers (nor hangs up) would keep the connection CLOSING, and its handler waiting, for
    ever. Put it before ``ServerConnection`` or ``ClientConnection`` in a subclass's bases.
    """

    _watchdog: asyncio.TimerHandle | None = None

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self._watchdog is None and self.protocol.state is State.CLOSING and self.close_deadline:
            self._watchdog = self.loop.call_at(self.close_deadline, self._close_stalled)

    def _close_stalled(self) -> None:
        if self.protocol.state is not State.CLOSED:
            self.set_connection_exc(TimeoutError("timed out while closing connection"))
            self.transport.abort()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._watchdog is not None:
            self._watchdog.cancel()
        super().connection_lost(exc)
