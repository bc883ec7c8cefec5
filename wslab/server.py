"""The in-kernel WebSocket server: a real ``websockets`` asyncio server whose events are recorded.

It behaves like the seed's Node ``ws`` server: ``connection``, ``message``, ``close`` and
``error`` on each connection, an optional welcome message, an echo that answers
``Serveur a reçu : …``, or a handler of your own.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeAlias

from websockets.asyncio.server import Server as WsServer
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.protocol import State

from ._endpoint import Endpoint
from .errors import NotConnected
from .events import Kind, Payload
from .hooks import Hook

if TYPE_CHECKING:
    from .lab import Lab

__all__ = ["DEFAULT_ECHO", "Handler", "Peer", "Server"]

DEFAULT_ECHO = "Serveur a reçu : {}"
"""The seed's echo: the server answers every message with this, the message in place of ``{}``."""

Handler: TypeAlias = Callable[["Payload", "Peer"], "Payload | Awaitable[Payload | None] | None"]
"""``handler(message, peer)``: return a reply (or None for no reply); sync or async."""


def payload_size(data: Payload) -> int:
    """Bytes on the wire before framing: UTF-8 length for text."""
    return len(data.encode("utf-8", "surrogatepass")) if isinstance(data, str) else len(data)


class Peer:
    """The server's view of one client, like ``ws`` in Node's ``wss.on('connection', ws => …)``.

    Its ``meta`` dict is yours: hooks and handlers can keep per-connection state in it
    (a user name, a room). ``send`` and ``close`` are coroutines, for use in handlers and hooks.
    """

    def __init__(self, server: Server, conn: str, name: str, ws: ServerConnection) -> None:
        self.server = server
        self.id = conn
        self.name = name
        self.ws = ws
        self.state = State.CONNECTING
        self.meta: dict[str, Any] = {}
        self.messages_in = 0
        self.messages_out = 0
        self.bytes_in = 0
        self.bytes_out = 0
        self.close_code: int | None = None
        self.close_reason: str | None = None

    async def send(self, data: Payload) -> None:
        """Send one message to this client."""
        await self.server._send(self, data)

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Start the closing handshake from the server's side."""
        await self.server._close_peer(self, code, reason)

    def __repr__(self) -> str:
        return (
            f"<Peer {self.id} {self.name} {self.state.name.lower()} "
            f"in={self.messages_in} out={self.messages_out}>"
        )


class Server(Endpoint):
    """A WebSocket server running in the lab's loop; make one with ``lab.serve()``."""

    side = "server"

    def __init__(
        self,
        lab: Lab,
        name: str,
        *,
        handler: Handler | None,
        echo: str | None,
        welcome: Payload | None,
        host: str,
        port: int,
        on: dict[Kind, Hook] | None,
        options: dict[str, Any],
    ) -> None:
        super().__init__(lab, name, on)
        self.handler = handler
        self.echo = echo
        self.welcome = welcome
        self.host = host
        self._requested_port = port
        self.port = 0
        self._options = options
        self._ws_server: WsServer | None = None
        self._peers: dict[ServerConnection, Peer] = {}
        self.registry: list[Peer] = []

    # --- public, blocking and async twins -----------------------------------------------------

    @property
    def url(self) -> str:
        """``ws://127.0.0.1:PORT/`` (the port varies: don't print it in a lesson)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"ws://{host}:{self.port}/"

    @property
    def serving(self) -> bool:
        return self._ws_server is not None and self._ws_server.is_serving()

    @property
    def connections(self) -> list[Peer]:
        """The live registry: every connection not yet closed, oldest first."""
        return [p for p in self.registry if p.state is not State.CLOSED]

    def peer(self, conn: str) -> Peer:
        """The connection with id ``conn`` (``"c1"``)."""
        for peer in self.registry:
            if peer.id == conn:
                return peer
        raise NotConnected(f"no connection {conn!r} on {self.name}")

    def send(self, conn: str, data: Payload, timeout: float | None = None) -> None:
        """Send ``data`` to connection ``conn`` and wait until what it caused is recorded."""
        self._lab._block(self.asend(conn, data), timeout, "send")

    async def asend(self, conn: str, data: Payload) -> None:
        """Async twin of :meth:`send`."""
        await self._lab._on_loop(self._send_and_settle(conn, data))

    def broadcast(self, data: Payload, timeout: float | None = None) -> int:
        """Send ``data`` to every open connection; returns how many got it."""
        return self._lab._block(self.abroadcast(data), timeout, "broadcast")

    async def abroadcast(self, data: Payload) -> int:
        """Async twin of :meth:`broadcast`."""
        return await self._lab._on_loop(self._broadcast_and_settle(data))

    def close(self, timeout: float | None = None) -> None:
        """Close every connection (1001 going away) and stop listening."""
        self._lab._block(self.aclose(), timeout, "close")

    async def aclose(self) -> None:
        """Async twin of :meth:`close`."""
        await self._lab._on_loop(self._stop(1001, "server shutting down"))

    def __repr__(self) -> str:
        kind = "handler" if self.handler else ("echo" if self.echo else "silent")
        state = "serving" if self.serving else "stopped"
        return f"<Server {self.name!r} {kind}, {state}, {len(self.connections)} open connections>"

    # --- in the loop --------------------------------------------------------------------------

    async def _start(self) -> None:
        options = dict(self._options)
        self._ws_server = await serve(
            self._handle,
            self.host,
            self._requested_port,
            process_request=self._process_request,
            process_response=self._process_response,
            **options,
        )
        sockname = next(iter(self._ws_server.sockets)).getsockname()
        self.port = int(sockname[1])

    async def _process_request(self, ws: ServerConnection, request: Request) -> Response | None:
        conn, name = self._lab._claim(ws.remote_address, self.name)
        peer = Peer(self, conn, name, ws)
        self._peers[ws] = peer
        self.registry.append(peer)
        await self._emit(
            "upgrade",
            conn=conn,
            peer=name,
            detail=f"GET {request.path} HTTP/1.1",
            headers=tuple(request.headers.raw_items()),
        )
        return None

    async def _process_response(
        self, ws: ServerConnection, request: Request, response: Response
    ) -> Response | None:
        peer = self._peers[ws]
        status = f"{response.status_code} {response.reason_phrase}"
        headers = tuple(response.headers.raw_items())
        if response.status_code == 101:
            await self._emit("accept", conn=peer.id, peer=peer.name, detail=status, headers=headers)
        else:
            peer.state = State.CLOSED
            await self._emit(
                "reject",
                conn=peer.id,
                peer=peer.name,
                code=response.status_code,
                detail=status,
                headers=headers,
                data=response.body.decode("utf-8", "replace") if response.body else None,
            )
        return None

    async def _handle(self, ws: ServerConnection) -> None:
        peer = self._peers[ws]
        pair = self._lab._pairs.get(peer.id)
        peer.state = State.OPEN
        try:
            await self._emit("connection", conn=peer.id, peer=peer.name)
            if pair is not None:
                pair.server_connected.set()
                await self._lab._wait_flag(pair.client_opened)
            if self.welcome is not None:
                await self._send(peer, self.welcome)
            async for message in ws:
                await self._on_message(peer, message)
        except ConnectionClosed:
            pass
        finally:
            await self._closed(peer)

    async def _on_message(self, peer: Peer, message: Payload) -> None:
        pair = self._lab._pairs.get(peer.id)
        if pair is not None:
            pair.busy += 1
            pair.c2s_received += 1
        try:
            size = payload_size(message)
            peer.messages_in += 1
            peer.bytes_in += size
            await self._emit("message", conn=peer.id, peer=peer.name, data=message, size=size)
            reply = await self._reply_to(peer, message)
            if reply is not None:
                await self._send(peer, reply)
        finally:
            if pair is not None:
                pair.busy -= 1
            self._lab._changed()

    async def _reply_to(self, peer: Peer, message: Payload) -> Payload | None:
        if self.handler is None:
            if self.echo is None:
                return None
            if isinstance(message, bytes):
                return message
            return self.echo.format(message)
        try:
            reply = self.handler(message, peer)
            if inspect.isawaitable(reply):
                reply = await reply
            return reply
        except ConnectionClosed:
            return None
        except Exception as exc:
            await self._emit(
                "error",
                conn=peer.id,
                peer=peer.name,
                error=f"handler raised {type(exc).__name__}: {exc}",
                exc=exc,
            )
            await self._close_peer(peer, 1011, "internal error")
            return None

    async def _send(self, peer: Peer, data: Payload) -> None:
        if peer.state is not State.OPEN:
            raise NotConnected(f"connection {peer.id} is {peer.state.name.lower()}")
        size = payload_size(data)
        pair = self._lab._pairs.get(peer.id)
        await self._emit("send", conn=peer.id, peer=peer.name, data=data, size=size)
        if pair is not None:
            pair.s2c_sent += 1
        peer.messages_out += 1
        peer.bytes_out += size
        try:
            await peer.ws.send(data)
        except ConnectionClosed as exc:
            if pair is not None:
                pair.s2c_sent -= 1
            raise NotConnected(f"connection {peer.id} is closed") from exc

    async def _send_and_settle(self, conn: str, data: Payload) -> None:
        await self._send(self.peer(conn), data)
        await self._lab._settle()

    async def _broadcast_and_settle(self, data: Payload) -> int:
        sent = 0
        for peer in self.connections:
            if peer.state is State.OPEN:
                try:
                    await self._send(peer, data)
                    sent += 1
                except NotConnected:
                    pass
        await self._lab._settle()
        return sent

    async def _close_peer(self, peer: Peer, code: int, reason: str) -> None:
        if peer.state is not State.OPEN:
            return
        peer.state = State.CLOSING
        await self._emit("closing", conn=peer.id, peer=peer.name, code=code, reason=reason)
        await peer.ws.close(code, reason)

    async def _closed(self, peer: Peer) -> None:
        ws = peer.ws
        await ws.wait_closed()
        peer.state = State.CLOSED
        peer.close_code = ws.close_code
        peer.close_reason = ws.close_reason
        by = ws.protocol.close_rcvd_then_sent
        initiator = None if by is None else (peer.name if by else self.name)
        await self._emit(
            "close",
            conn=peer.id,
            peer=peer.name,
            code=ws.close_code,
            reason=ws.close_reason,
            initiator=initiator,
        )
        pair = self._lab._pairs.get(peer.id)
        if pair is not None:
            pair.server_closed.set()
        self._lab._changed()

    async def _stop(self, code: int, reason: str) -> None:
        if self._ws_server is None:
            return
        self._ws_server.close(close_connections=False)
        for peer in self.connections:
            await self._close_peer(peer, code, reason)
        await self._ws_server.wait_closed()
        await self._lab._settle()
