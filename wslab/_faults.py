"""Faults a lesson injects into a client: cut its TCP connection, or freeze its reading.

A mixin of :class:`~wslab.client.Client`, apart so that the client module stays about one job:
being the browser-like end of one connection at a time. Breaking it on purpose is another.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from ._bridge import twin
from .i18n import _

if TYPE_CHECKING:
    from websockets.asyncio.client import ClientConnection

    from ._bridge import Bridge
    from ._context import Context
    from .events import Event, Kind

__all__ = ["Faults"]


class Faults:
    """``drop()`` and ``stall()``: the network failures a browser's socket can meet."""

    if TYPE_CHECKING:  # provided by Client
        _ctx: Context
        conn: str | None
        peer_name: str | None
        _reader: asyncio.Task[None] | None

        @property
        def bridge(self) -> Bridge: ...
        async def _emit(self, kind: Kind, **fields: Any) -> Event: ...
        def _require_open(self) -> ClientConnection: ...

    async def adrop(self, *, timeout: float | None = None) -> None:
        """Fault: cut the TCP connection with no close frame, as a crashed browser would: the server sees
        the end at once (1006). A lost network is quieter: see ``stall`` and keepalive."""
        await self._ctx.bridge.run(self._drop(), timeout, "drop")

    drop = twin(adrop)

    async def astall(self, seconds: float, *, timeout: float | None = None) -> None:
        """Fault: stop reading from the socket for ``seconds`` (a frozen peer; pings go unanswered)."""
        await self._ctx.bridge.run(self._stall(seconds), timeout, "stall")

    stall = twin(astall)

    async def _drop(self) -> None:
        ws = self._require_open()
        await self._emit(
            "note",
            conn=self.conn,
            peer=self.peer_name,
            detail=_("fault: the client's TCP connection is cut, no close frame"),
        )
        ws.transport.abort()
        reader = self._reader
        if reader is not None:
            await asyncio.gather(asyncio.shield(reader), return_exceptions=True)
        await self._ctx.session.settle()

    async def _stall(self, seconds: float) -> None:
        ws = self._require_open()
        await self._emit(
            "note",
            conn=self.conn,
            peer=self.peer_name,
            detail=_("fault: the client stops reading for {seconds} s").format(seconds=f"{seconds:g}"),
        )
        transport = ws.transport
        transport.pause_reading()
        asyncio.get_running_loop().call_later(seconds, _resume, transport)


def _resume(transport: asyncio.Transport) -> None:
    if not transport.is_closing():
        transport.resume_reading()
