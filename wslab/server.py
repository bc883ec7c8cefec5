"""The in-kernel WebSocket server: a real ``websockets`` asyncio server whose events are recorded.

It behaves like the seed's Node ``ws`` server: ``connection``, ``message``, ``close`` and
``error`` on each connection, an optional welcome message, an echo that answers
``Serveur a reçu : …``, or a handler of your own.
"""

from __future__ import annotations

import asyncio
import inspect
import ipaddress
import time
import warnings
import weakref
from collections.abc import Awaitable, Callable
from typing import Any, TypeAlias

from websockets.asyncio.server import Server as WsServer
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import (
    ConnectionClosed,
)
from websockets.protocol import State

from ._bridge import twin
from ._connection import ending, payload_size, release_compression
from ._context import Context
from ._endpoint import Endpoint, HasContext
from ._handshakes import HandshakeReporter, Handshakes
from .errors import NotConnected
from .events import Kind, Payload
from .hooks import Hook
from .i18n import _, ngettext
from .peer import Peer
from .rooms import RoomsMixin
from .validation import Guard

__all__ = ["DEFAULT_ECHO", "Handler", "Peer", "Server"]

KEEP_CLOSED = 100
"""How many closed connections a server's registry keeps for looking back (the events keep all)."""

DEFAULT_ECHO = "Serveur a reçu : {}"
"""The seed's echo: the server answers every message with this, the message in place of ``{}``."""

Handler: TypeAlias = Callable[[Any, "Peer"], "Payload | Awaitable[Payload | None] | None"]
"""``handler(message, peer)``: return a reply (or None for no reply); sync or async.

With a ``validate`` function, the handler gets what it returned (e.g. the parsed JSON)."""


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Server(RoomsMixin, Handshakes, Endpoint):
    """A WebSocket server running in the lab's loop; make one with ``lab.serve()``."""

    side = "server"

    def __init__(
        self,
        ctx: Context | HasContext,
        name: str,
        *,
        handler: Handler | None,
        echo: str | None,
        welcome: Payload | None,
        host: str,
        port: int,
        on: dict[Kind, Hook] | None,
        options: dict[str, Any],
        token: str | None = None,
        guard: Guard | None = None,
        record_pings: bool = False,
    ) -> None:
        super().__init__(ctx, name, on)
        self.token = token
        self.handler = handler
        self.echo = echo
        self.welcome = welcome
        self.host = host
        self._requested_port = port
        self.port = 0
        self.record_pings = record_pings
        self.guard = guard
        self._options = options
        self._ws_server: WsServer | None = None
        self._fault: Exception | None = None
        # weak: a connection websockets has let go takes its entry along (a rejected handshake too)
        self._peers: weakref.WeakKeyDictionary[ServerConnection, Peer] = weakref.WeakKeyDictionary()
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

    async def asend(self, conn: str, data: Payload, *, timeout: float | None = None) -> None:
        """Send ``data`` to connection ``conn`` and wait until what it caused is recorded."""
        await self._ctx.bridge.run(self._send_and_settle(conn, data), timeout, "send")

    send = twin(asend)

    async def aclose(self, *, timeout: float | None = None) -> None:
        """Close every connection (1001 going away) and stop listening."""
        await self._ctx.bridge.run(self._stop(1001, "server shutting down"), timeout, "close")

    close = twin(aclose)

    @property
    def open_timeout(self) -> float | None:
        """Seconds a client may take to finish its opening handshake (None: no limit)."""
        value = self._options.get("open_timeout", self._ctx.limits.timeout)
        return None if value is None else float(value)

    def _listens_on(self, sock: object) -> bool:
        """True when ``sock`` is one of this server's listening sockets."""
        ws_server = self._ws_server
        return ws_server is not None and any(
            getattr(one, "fileno", lambda: -2)() == getattr(sock, "fileno", lambda: -1)()
            for one in ws_server.sockets
        )

    def _conn_of(self, ws: object) -> tuple[str | None, str | None]:
        peer = self._peers.get(ws)  # type: ignore[call-overload]
        return (peer.id, peer.name) if peer is not None else (None, None)

    async def akill(self, *, timeout: float | None = None) -> None:
        """Fault: the server dies. Every TCP connection is cut with no close frame (1006)."""
        await self._ctx.bridge.run(self._kill(), timeout, "kill")

    kill = twin(akill)

    async def arestart(self, *, timeout: float | None = None) -> None:
        """Listen again on the same port after :meth:`kill` or :meth:`close`."""
        await self._ctx.bridge.run(self._restart(), timeout, "restart")

    restart = twin(arestart)

    def fail_next(self, error: Exception | None = None) -> None:
        """Fault: the handling of the next message raises ``error`` (the server closes with 1011)."""
        self._fault = error if error is not None else RuntimeError("injected fault")

    async def _kill(self) -> None:
        if self._ws_server is None:
            return
        killed = _("fault: {name} is killed; its connections are cut").format(name=self.name)
        await self._emit("note", detail=killed)
        ws_server, self._ws_server = self._ws_server, None
        ws_server.close(close_connections=False)
        for peer in self.connections:
            peer.ws.transport.abort()
        try:
            async with asyncio.timeout(self._ctx.limits.settle):
                await ws_server.wait_closed()
        except TimeoutError:
            pass
        await self._ctx.session.settle()

    async def _restart(self) -> None:
        if self.serving:
            return
        self._requested_port = self.port or self._requested_port
        await self._start()
        await self._emit("note", detail=_("{name} listens again").format(name=self.name))
        await self._ctx.session.settle()

    def __repr__(self) -> str:
        kind = _("handler") if self.handler else (_("echo") if self.echo else _("silent"))
        state = _("serving") if self.serving else _("stopped")
        n = len(self.connections)
        conns = ngettext("{n} open connection", "{n} open connections", n).format(n=n)
        return f"<Server {self.name!r} {kind}, {state}, {conns}>"

    # --- in the loop --------------------------------------------------------------------------

    async def _start(self) -> None:
        options = dict(self._options)
        options.setdefault("open_timeout", self._ctx.limits.timeout)
        options.setdefault("close_timeout", self._ctx.limits.settle)
        connection = type("Connection", (HandshakeReporter,), {"owner": self})
        self._ws_server = await serve(
            self._handle,
            self.host,
            self._requested_port,
            process_request=self._process_request,
            process_response=self._process_response,
            create_connection=connection,
            **options,
        )
        sockname = next(iter(self._ws_server.sockets)).getsockname()
        self.port = int(sockname[1])
        if not _is_loopback(self.host):
            words = (
                f"{self.name} listens on {self.host}, not on loopback: other machines can connect. "
                "wslab is a teaching tool, not an internet-facing server"
            )
            warnings.warn(words, stacklevel=2)
            await self._emit("note", detail=words)

    async def _handle(self, ws: ServerConnection) -> None:
        peer = self._peers[ws]
        pair = self._ctx.session.pairs.get(peer.id)
        peer.state = State.OPEN
        if pair is not None:
            pair.busy += 1  # the client's connect() settles only after our welcome is on its way
        try:
            try:
                await self._emit("connection", conn=peer.id, peer=peer.name)
                if pair is not None:
                    pair.server_connected.set()
                    await self._ctx.session.wait_flag(pair.client_opened)
                if self.welcome is not None:
                    await self._send(peer, self.welcome)
            finally:
                if pair is not None:
                    pair.busy -= 1
                    self._ctx.session.changed()
            async for message in ws:
                await self._on_message(peer, message)
        except (ConnectionClosed, NotConnected):  # also a reply to a peer that closed meanwhile
            pass
        finally:
            await self._closed(peer)

    async def _on_message(self, peer: Peer, message: Payload) -> None:
        pair = self._ctx.session.pairs.get(peer.id)
        if pair is not None:
            pair.busy += 1
            pair.c2s_received += 1
        try:
            size = payload_size(message)
            peer.messages_in += 1
            peer.bytes_in += size
            event = self._data("message", peer.id, peer.name, message, size)
            if event is not None:
                await self._run_hooks(event)
            reply = await self._reply_to(peer, message)
            if reply is not None:
                await self._send(peer, reply)
        finally:
            if pair is not None:
                pair.busy -= 1
            self._ctx.session.changed()

    async def _reply_to(self, peer: Peer, message: Payload) -> Payload | None:
        value: Any = message
        if self.guard is not None:
            verdict = self.guard.check(peer.id, message, time.monotonic())
            if not verdict.ok:
                await self._emit("error", conn=peer.id, peer=peer.name, error=verdict.problem)
                if verdict.close is not None:
                    await self._close_peer(peer, *verdict.close)
                return verdict.reply
            value = verdict.value
        try:
            if self._fault is not None:
                fault, self._fault = self._fault, None
                raise fault
            if self.handler is None:
                if self.echo is None:
                    return None
                return message if isinstance(message, bytes) else self.echo.format(message)
            reply = self.handler(value, peer)
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
                error=_("handler raised {kind}: {problem}").format(kind=type(exc).__name__, problem=exc),
                exc=exc,
            )
            await self._close_peer(peer, 1011, "internal error")
            return None

    async def _send(self, peer: Peer, data: Payload) -> None:
        if peer.state is not State.OPEN:
            raise NotConnected(
                _("connection {id} is {state}").format(id=peer.id, state=peer.state.name.lower())
            )
        size = payload_size(data)
        pair = self._ctx.session.pairs.get(peer.id)
        event = self._data("send", peer.id, peer.name, data, size)
        if event is not None:
            await self._run_hooks(event)
        if pair is not None:
            pair.s2c_sent += 1
        peer.messages_out += 1
        peer.bytes_out += size
        try:
            await peer.ws.send(data)
        except ConnectionClosed as exc:
            if pair is not None:
                pair.s2c_sent -= 1
            raise NotConnected(_("connection {id} is closed").format(id=peer.id)) from exc

    async def _send_and_settle(self, conn: str, data: Payload) -> None:
        peer = self.peer(conn)
        try:
            await self._send(peer, data)
        except NotConnected as exc:  # like ws.send() on a socket that is gone: an error, then raise
            failed = _("send failed: {problem}").format(problem=exc)
            await self._emit("error", conn=peer.id, peer=peer.name, error=failed)
            raise
        await self._ctx.session.settle()

    async def _close_peer(self, peer: Peer, code: int, reason: str) -> None:
        if peer.state is not State.OPEN:
            return
        peer.state = State.CLOSING
        await self._emit("closing", conn=peer.id, peer=peer.name, code=code, reason=reason)
        await peer.ws.close(code, reason)

    async def _closed(self, peer: Peer) -> None:
        ws = peer.ws
        await ws.wait_closed()
        if self.guard is not None:
            self.guard.forget(peer.id)
        peer.state = State.CLOSED
        by = ws.protocol.close_rcvd_then_sent
        initiator = None if by is None else (peer.name if by else self.name)
        end = ending(ws)  # as Node ws reports it: error only when this end failed the connection
        peer.close_code, peer.close_reason = end.code, end.reason
        if end.error is not None:
            await self._emit("error", conn=peer.id, peer=peer.name, error=end.error, exc=end.exc)
        await self._emit(
            "close",
            conn=peer.id,
            peer=peer.name,
            code=end.code,
            reason=end.reason,
            initiator=initiator,
            detail=end.detail,
            was_clean=end.was_clean,
        )
        self._leave_all(peer)  # rooms.py: a closed connection leaves its rooms
        release_compression(ws)
        self._peers.pop(ws, None)
        peer._ws = None  # the registry keeps the peer's story, not its websockets objects
        self._forget_old_closed()
        pair = self._ctx.session.pairs.get(peer.id)
        if pair is not None:
            pair.server_closed.set()
        self._ctx.session.changed()

    def _forget_old_closed(self) -> None:
        """Keep the newest :data:`KEEP_CLOSED` closed connections in the registry, forget older ones.

        The events keep the whole story; the registry keeps what a lesson looks back at, bounded,
        so a server that saw 100,000 connections does not hold 100,000 dead ones.
        """
        closed = [p for p in self.registry if p.state is State.CLOSED]
        for old in closed[: max(0, len(closed) - KEEP_CLOSED)]:
            self.registry.remove(old)

    async def _stop(self, code: int, reason: str) -> None:
        if self._ws_server is None:
            return
        ws_server = self._ws_server
        ws_server.close(close_connections=False)
        for peer in self.connections:  # one by one, so the events come in the same order every run
            await self._close_peer(peer, code, reason)
        grace = self._ctx.limits.settle
        try:
            async with asyncio.timeout(grace):
                await ws_server.wait_closed()
        except TimeoutError:  # a handler that never returns, a handshake still pending
            stuck = [task for task in ws_server.handler_tasks if not task.done()]
            if len(stuck) == 1:
                words = _("1 connection handler did not finish within {seconds} s: cancelled")
            else:
                words = _("{count} connection handlers did not finish within {seconds} s: cancelled")
            self._record("note", detail=words.format(count=len(stuck), seconds=grace))
            for task in stuck:
                task.cancel()
            if stuck:
                await asyncio.wait(stuck, timeout=grace)
            for peer in self.registry:
                if peer._ws is not None and not peer._ws.transport.is_closing():
                    peer._ws.transport.abort()
        await self._ctx.session.settle()
