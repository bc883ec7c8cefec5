"""The in-kernel WebSocket client: a real ``websockets`` asyncio client whose events are recorded.

It fires what the browser's ``WebSocket`` fires: ``open``, ``message``, ``close`` and ``error``
(a failed attempt gives ``error`` then ``close`` with 1006, as in a browser). Messages are read
as they arrive, so ``message`` events are recorded whether or not you call ``recv()``.
"""

from __future__ import annotations

import asyncio
import socket
from collections import deque
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus
from websockets.protocol import State

from ._endpoint import Endpoint
from .errors import ConnectionFailed, NotConnected, WslabTimeout
from .events import Kind, Payload
from .hooks import Hook
from .server import payload_size

if TYPE_CHECKING:
    from .lab import Lab

__all__ = ["Client"]


class Client(Endpoint):
    """A WebSocket client in the lab's loop; make one with ``lab.connect(server)``."""

    side = "client"

    def __init__(
        self,
        lab: Lab,
        name: str,
        url: str,
        *,
        peer: str | None,
        on: dict[Kind, Hook] | None,
        options: dict[str, Any],
    ) -> None:
        super().__init__(lab, name, on)
        self.url = url
        self.peer_name = peer
        self._options = options
        self.ws: ClientConnection | None = None
        self.conn: str | None = None
        self.inbox: deque[Payload] = deque()
        self.received: list[Payload] = []
        self._arrived = asyncio.Event()
        self._reader: asyncio.Task[None] | None = None
        self.close_code: int | None = None
        self.close_reason: str | None = None

    # --- public, blocking and async twins -----------------------------------------------------

    @property
    def state(self) -> State:
        """CONNECTING, OPEN, CLOSING or CLOSED (websockets' own ``State``)."""
        if self.ws is None:
            return State.CLOSED if self.close_code is not None else State.CONNECTING
        if self._reader is not None and self._reader.done():
            return State.CLOSED
        return self.ws.state

    def send(self, data: Payload, timeout: float | None = None) -> None:
        """Send one message; returns once the server got it and what it answered has arrived."""
        self._lab._block(self.asend(data), timeout, "send")

    async def asend(self, data: Payload) -> None:
        """Async twin of :meth:`send`."""
        await self._lab._on_loop(self._send_and_settle(data))

    def recv(self, timeout: float | None = None) -> Payload:
        """The oldest message not yet read; waits up to ``timeout`` seconds for one."""
        return self._lab._block(self.arecv(timeout), timeout, "recv")

    async def arecv(self, timeout: float | None = None) -> Payload:
        """Async twin of :meth:`recv`."""
        return await self._lab._on_loop(self._recv(timeout))

    def close(self, code: int = 1000, reason: str = "", timeout: float | None = None) -> None:
        """Start the closing handshake with ``code`` and ``reason``; returns when both ends closed."""
        self._lab._block(self.aclose(code, reason), timeout, "close")

    async def aclose(self, code: int = 1000, reason: str = "") -> None:
        """Async twin of :meth:`close`."""
        await self._lab._on_loop(self._close(code, reason))

    def __repr__(self) -> str:
        return f"<Client {self.name!r} {self.conn or '-'} {self.state.name.lower()}>"

    # --- in the loop --------------------------------------------------------------------------

    async def _open(self) -> None:
        lab = self._lab
        self.conn = conn = lab._new_conn_id()
        await self._emit("connecting", conn=conn, peer=self.peer_name, data=self.url)
        parts = urlsplit(self.url)
        host = parts.hostname or "127.0.0.1"
        port = parts.port or (443 if parts.scheme == "wss" else 80)
        sock: socket.socket | None = None
        try:
            async with asyncio.timeout(lab.timeout):
                sock = await _open_socket(host, port)
                lab._expect(conn, sock.getsockname(), self.name, self.peer_name)
                self.ws = await connect(self.url, sock=sock, proxy=None, **self._options)
        except (OSError, InvalidHandshake, TimeoutError) as exc:
            if sock is not None and self.ws is None:
                sock.close()
            await self._failed(exc)
        assert self.ws is not None
        pair = lab._pairs.get(conn)
        if pair is not None and pair.server is not None:
            await lab._wait_flag(pair.server_connected)
        await self._emit("open", conn=conn, peer=self.peer_name, detail=_negotiated(self.ws))
        if pair is not None:
            pair.client_opened.set()
        self._reader = asyncio.create_task(self._read(), name=f"wslab-read-{self.name}")
        await lab._settle()

    async def _failed(self, exc: BaseException) -> None:
        """A failed attempt, as a browser reports it: ``error``, then ``close`` with 1006."""
        if isinstance(exc, ConnectionRefusedError):
            words = "connection refused: nothing is listening at this address"
        elif isinstance(exc, InvalidStatus):
            words = str(exc)
        elif isinstance(exc, TimeoutError):
            words = f"opening handshake timed out after {self._lab.timeout} s"
        else:
            words = f"{type(exc).__name__}: {exc}"
        self.close_code = 1006
        await self._emit("error", conn=self.conn, peer=self.peer_name, error=words, exc=exc)
        await self._emit("close", conn=self.conn, peer=self.peer_name, code=1006, reason="")
        pair = self._lab._pairs.get(self.conn or "")
        if pair is not None:
            pair.done = True
        raise ConnectionFailed(words) from exc

    async def _read(self) -> None:
        ws = self.ws
        assert ws is not None and self.conn is not None
        pair = self._lab._pairs.get(self.conn)
        try:
            async for message in ws:
                self.inbox.append(message)
                self.received.append(message)
                await self._emit(
                    "message", conn=self.conn, peer=self.peer_name, data=message, size=payload_size(message)
                )
                if pair is not None:
                    pair.s2c_received += 1
                self._arrived.set()
                self._lab._changed()
        except ConnectionClosed:
            pass
        await ws.wait_closed()
        if pair is not None and pair.server is not None:
            await self._lab._wait_flag(pair.server_closed)
        self.close_code = ws.close_code
        self.close_reason = ws.close_reason
        by = ws.protocol.close_rcvd_then_sent
        initiator = None if by is None else ((self.peer_name or "server") if by else self.name)
        await self._emit(
            "close",
            conn=self.conn,
            peer=self.peer_name,
            code=ws.close_code,
            reason=ws.close_reason,
            initiator=initiator,
        )
        if pair is not None:
            pair.done = True
        self._arrived.set()
        self._lab._changed()

    async def _send_and_settle(self, data: Payload) -> None:
        ws = self._require_open()
        pair = self._lab._pairs.get(self.conn or "")
        await self._emit("send", conn=self.conn, peer=self.peer_name, data=data, size=payload_size(data))
        if pair is not None:
            pair.c2s_sent += 1
        try:
            await ws.send(data)
        except ConnectionClosed as exc:
            if pair is not None:
                pair.c2s_sent -= 1
            raise NotConnected(f"connection {self.conn} is closed ({exc})") from exc
        await self._lab._settle()

    async def _recv(self, timeout: float | None) -> Payload:
        limit = self._lab.timeout if timeout is None else timeout
        try:
            async with asyncio.timeout(limit):
                while not self.inbox:
                    if self.state is State.CLOSED:
                        raise NotConnected(
                            f"connection {self.conn} is closed ({self.close_code}) and no message is left"
                        )
                    self._arrived.clear()
                    await self._arrived.wait()
        except TimeoutError:
            raise WslabTimeout(f"no message arrived within {limit} s") from None
        return self.inbox.popleft()

    async def _close(self, code: int, reason: str) -> None:
        ws = self.ws
        if ws is None or self._reader is None:
            return
        if ws.state is State.OPEN:
            await self._emit("closing", conn=self.conn, peer=self.peer_name, code=code, reason=reason)
            await ws.close(code, reason)
        try:
            async with asyncio.timeout(self._lab.timeout):
                await asyncio.shield(self._reader)
        except TimeoutError:
            raise WslabTimeout(f"the connection did not close within {self._lab.timeout} s") from None
        await self._lab._settle()

    def _require_open(self) -> ClientConnection:
        if self.ws is None or self.state is not State.OPEN:
            raise NotConnected(f"{self.name} is not connected (state {self.state.name.lower()})")
        return self.ws


def _negotiated(ws: ClientConnection) -> str | None:
    """What the handshake agreed on besides the defaults: ``permessage-deflate``, a subprotocol."""
    words = [str(ext.name) for ext in ws.protocol.extensions]
    if ws.subprotocol:
        words.append(f"subprotocol {ws.subprotocol}")
    return ", ".join(words) or None


async def _open_socket(host: str, port: int) -> socket.socket:
    """Open the TCP connection ourselves, so the lab knows the local port before the handshake."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    last: OSError | None = None
    for family, kind, proto, _, address in infos:
        sock = socket.socket(family, kind, proto)
        sock.setblocking(False)
        try:
            await loop.sock_connect(sock, address)
            return sock
        except OSError as exc:
            sock.close()
            last = exc
    raise last or OSError(f"cannot resolve {host}")
