"""The server's view of one client: like ``ws`` in Node's ``wss.on('connection', ws => …)``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from websockets.asyncio.server import ServerConnection
from websockets.protocol import State

from .errors import NotConnected
from .events import Payload
from .i18n import _
from .lifecycle import check_close

if TYPE_CHECKING:
    from .server import Server

__all__ = ["Peer"]


class Peer:
    """The server's view of one client, like ``ws`` in Node's ``wss.on('connection', ws => …)``.

    Its ``meta`` dict is yours: hooks and handlers can keep per-connection state in it
    (a user name, a room). ``send`` and ``close`` are coroutines, for use in handlers and hooks.
    """

    def __init__(self, server: Server, conn: str, name: str, ws: ServerConnection) -> None:
        self.server = server
        self.id = conn
        self.name = name
        self._ws: ServerConnection | None = ws
        self.state = State.CONNECTING
        self.meta: dict[str, Any] = {}
        self.messages_in = 0
        self.messages_out = 0
        self.bytes_in = 0
        self.bytes_out = 0
        self.close_code: int | None = None
        self.close_reason: str | None = None

    @property
    def conn(self) -> str:
        """The connection's readable id (``"c1"``), as events and clients name it (``id`` is the same)."""
        return self.id

    @property
    def ws(self) -> ServerConnection:
        """The websockets connection; let go once closed, so a closed peer holds no socket state."""
        if self._ws is None:
            raise NotConnected(_("connection {id} is closed").format(id=self.id))
        return self._ws

    async def send(self, data: Payload) -> None:
        """Send one message to this client."""
        await self.server._send(self, data)

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Start the closing handshake from the server's side."""
        check_close(code, reason)
        await self.server._close_peer(self, code, reason)

    def __repr__(self) -> str:
        return (
            f"<Peer {self.id} {self.name} {self.state.name.lower()} "
            f"in={self.messages_in} out={self.messages_out}>"
        )
