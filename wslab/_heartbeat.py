"""Ping and pong frames made visible: a mixin for websockets' connection classes.

websockets answers pings and sends keepalive pings by itself, below the message API; learners
only see them if the connection reports them. An endpoint made with ``record_pings=True`` records
each ping and pong it sends or receives (the automatic pong answering a ping included).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from websockets.asyncio.connection import Connection
from websockets.frames import Frame, Opcode

from .i18n import _

if TYPE_CHECKING:
    from collections.abc import Awaitable

    from ._endpoint import Endpoint
    from .events import Kind

__all__ = ["PingRecorder"]


class PingRecorder(Connection):
    """Put first in the bases of a ``ServerConnection`` or ``ClientConnection`` subclass."""

    owner: ClassVar[Endpoint]

    def process_event(self, event: Any) -> None:
        super().process_event(event)
        if isinstance(event, Frame) and event.opcode in (Opcode.PING, Opcode.PONG):
            kind: Kind = "ping" if event.opcode is Opcode.PING else "pong"
            self.owner._saw_control(self, kind, bytes(event.data), _("received"))
            if event.opcode is Opcode.PING:
                self.owner._saw_control(self, "pong", bytes(event.data), _("sent automatically in answer"))

    async def ping(self, data: Any = None) -> Awaitable[float]:
        waiter = await super().ping(data)
        payload = data.encode() if isinstance(data, str) else (bytes(data) if data is not None else None)
        self.owner._saw_control(self, "ping", payload, _("sent"))
        return waiter
