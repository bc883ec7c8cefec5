"""The in-kernel WebSocket client: a real ``websockets`` asyncio client whose events are recorded.

It fires what the browser's ``WebSocket`` fires, by the WHATWG standard's rules: ``open``,
``message``, ``close`` and ``error``. ``error`` comes only where a browser would *fail the
connection* (a refused or rejected handshake, bad data from the server, ``close()`` before open),
always followed by ``close`` 1006; a server that just drops TCP gives ``close`` 1006 alone, with
``was_clean`` false. What a page cannot see but the lab can (the HTTP status, websockets' exact
cause) stays in the row's words. Messages are read as they arrive, so ``message`` events are
recorded whether or not you call ``recv()``.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import socket
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlsplit

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, NegotiationError
from websockets.protocol import State

from ._bridge import twin
from ._connection import CloseWatchdog, ending, payload_size, release_compression
from ._context import Context
from ._endpoint import Endpoint, HasContext
from ._faults import Faults
from ._fds import headroom_error
from ._heartbeat import PingRecorder
from ._opening import check_subprotocol, failure_words, negotiated, open_socket
from ._redact import redact_url
from ._retrying import Retrying
from .errors import ConnectionFailed, NotConnected, WslabTimeout
from .events import Kind, Payload
from .hooks import Hook
from .i18n import N_, _
from .lifecycle import check_close
from .reconnect import Reconnect

__all__ = ["INBOX_BUDGET", "Client"]

INBOX_BUDGET = 16 * 1024 * 1024
"""Bytes of unread messages a client keeps for ``recv()``; past it the oldest go, with a note."""


class Client(Retrying, Faults, Endpoint):
    """A WebSocket client in the lab's loop; make one with ``lab.connect(server)``.

    With a :class:`~wslab.reconnect.Reconnect` policy it comes back by itself after a close it did
    not ask for, each attempt visible as ``reconnecting`` and ``connecting`` events.
    """

    side = "client"

    def __init__(
        self,
        ctx: Context | HasContext,
        name: str,
        url: str,
        *,
        peer: str | None,
        on: dict[Kind, Hook] | None,
        options: dict[str, Any],
        record_pings: bool = False,
        reconnect: Reconnect | None = None,
        fallbacks: Sequence[tuple[str, str | None]] = (),
    ) -> None:
        super().__init__(ctx, name, on)
        self.url = url
        self.peer_name = peer
        self.targets: list[tuple[str, str | None]] = [(url, peer), *fallbacks]
        self.reconnect = reconnect
        self.record_pings = record_pings
        self._options = options
        self.ws: ClientConnection | None = None
        self.conn: str | None = None
        self.inbox: deque[Payload] = deque()
        self.inbox_budget = INBOX_BUDGET
        self.inbox_dropped = 0
        """Unread messages let go because the inbox was over ``inbox_budget`` bytes."""
        self._inbox_bytes = 0
        self.outbox: deque[Payload] = deque()
        self.attempts = 0
        self._arrived = asyncio.Event()
        self._reader: asyncio.Task[None] | None = None
        self._retrying: asyncio.Task[None] | None = None
        self._opening: asyncio.Task[None] | None = None  # connect(wait=False): the first attempt
        self._closed_by_user = False
        self._connection_class = type(
            "ClientConnection", (PingRecorder, CloseWatchdog, ClientConnection), {"owner": self}
        )
        self.close_code: int | None = None
        self.close_reason: str | None = None

    # --- public, blocking and async twins -----------------------------------------------------

    @property
    def state(self) -> State:
        """CONNECTING (also while reconnecting), OPEN, CLOSING or CLOSED: websockets' ``State``."""
        if self._retrying is not None and not self._retrying.done():
            return State.CONNECTING
        if self.ws is None:
            return State.CLOSED if self.close_code is not None else State.CONNECTING
        if self._reader is not None and self._reader.done():
            return State.CLOSED
        if self.ws.state is State.CLOSED and self._reader is not None:
            return State.CLOSING  # the socket is closed, but the close event is not recorded yet
        return self.ws.state

    @property
    def finished(self) -> bool:
        """True once closed for good: not open, not opening, not about to reconnect."""
        return self.state is State.CLOSED and not self.reconnecting

    @property
    def reconnecting(self) -> bool:
        """True while the client waits for, or makes, another attempt."""
        return self._retrying is not None and not self._retrying.done()

    async def asend(self, data: Payload, *, text: bool | None = None, timeout: float | None = None) -> None:
        """Send one message; returns once the server got it and what it answered has arrived.

        ``str`` goes as a text frame, ``bytes`` as a binary one; ``text=True`` sends bytes as a
        text frame as they are (how to send invalid UTF-8 on purpose). While reconnecting, a client
        whose policy has ``queue=True`` keeps the message and sends it on reconnect; otherwise the
        message is refused with ``NotConnected``.
        """
        await self._ctx.bridge.run(self._send_and_settle(data, text), timeout, "send")

    send = twin(asend)

    async def arecv(self, timeout: float | None = None) -> Payload:
        """The oldest message not yet read; waits up to ``timeout`` seconds for one."""
        return await self._ctx.bridge.run(self._recv(timeout), timeout, "recv")

    def recv(self, timeout: float | None = None) -> Payload:
        """Blocking twin of :meth:`arecv`; a message already here is returned without the loop."""
        bridge = self._ctx.bridge
        if self.inbox and not bridge.closed and not bridge.in_loop():
            return self._take()  # already here (send settles): no trip through the lab's loop
        return bridge.block(self.arecv(timeout), timeout, "recv")

    async def aclose(self, code: int = 1000, reason: str = "", *, timeout: float | None = None) -> None:
        """Start the closing handshake with ``code`` and ``reason``; returns when both ends closed.

        It also stops any reconnection: a close you ask for is final. Before open (after
        ``connect(..., wait=False)``) it abandons the attempt as a browser does: ``error``, then
        ``close`` 1006. On a client already closed it records a note saying there was nothing to do.
        A peer that never answers the close frame is given ``close_timeout`` (a ``connect`` keyword,
        the lab's settle time by default), even when that is longer than the lab's timeout.
        """
        limit = self._close_limit() if timeout is None else timeout
        await self._ctx.bridge.run(self._close(code, reason, limit), limit, "close")

    close = twin(aclose)

    async def aping(self, data: Payload | None = None, *, timeout: float | None = None) -> float:
        """Send a ping and wait for its pong; returns the round trip in seconds."""
        return await self._ctx.bridge.run(self._ping(data), timeout, "ping")

    ping = twin(aping)

    async def _ping(self, data: Payload | None) -> float:
        ws = self._require_open()
        limit = self._ctx.limits.timeout
        try:
            async with asyncio.timeout(limit):
                latency = await (await ws.ping(data))
        except TimeoutError:
            raise WslabTimeout(_("no pong within {limit} s").format(limit=limit)) from None
        except ConnectionClosed as exc:
            raise NotConnected(_("connection {id} is closed ({why})").format(id=self.conn, why=exc)) from exc
        await self._ctx.session.settle()
        return latency

    def _conn_of(self, ws: object) -> tuple[str | None, str | None]:
        return self.conn, self.peer_name

    async def await_open(self, timeout: float | None = None) -> None:
        """Wait until the client is open again (after a reconnection), or raise ``WslabTimeout``."""
        # i18n: {name} is the client's name in the lab, e.g. client, alice
        late = N_("{name} was not open within {limit} s")
        opened = self._wait(lambda: self.state is State.OPEN, timeout, late)
        await self._ctx.bridge.run(opened, timeout, "wait_open")

    wait_open = twin(await_open)

    async def await_closed(self, timeout: float | None = None) -> None:
        """Wait until the client is closed for good (closed, or gave up reconnecting)."""
        # i18n: {name} is the client's name in the lab, e.g. client, alice
        late = N_("{name} was not closed within {limit} s")
        closed = self._wait(lambda: self.state is State.CLOSED, timeout, late)
        await self._ctx.bridge.run(closed, timeout, "wait_closed")

    wait_closed = twin(await_closed)

    def __repr__(self) -> str:
        return f"<Client {self.name!r} {self.conn or '-'} {self.state.name.lower()}>"

    # --- in the loop --------------------------------------------------------------------------

    async def _open(self) -> None:
        """The first connection: failures raise ``ConnectionFailed`` to the caller."""
        await self._attempt()
        await self._ctx.session.settle()

    async def _open_quietly(self) -> None:
        """The first attempt of ``connect(wait=False)``: a failure is recorded, not raised."""
        with contextlib.suppress(ConnectionFailed):
            await self._open()

    async def _attempt(self) -> None:
        session = self._ctx.session
        self.attempts += 1
        self.conn = conn = session.new_conn_id()
        self.ws = None
        await self._emit("connecting", conn=conn, peer=self.peer_name, data=redact_url(self.url))
        parts = urlsplit(self.url)
        host = parts.hostname or "127.0.0.1"
        port = parts.port or (443 if parts.scheme == "wss" else 80)
        sock: socket.socket | None = None
        try:
            async with asyncio.timeout(self._options.get("open_timeout")):
                ours = self.peer_name is not None  # a server of this lab needs a descriptor too
                short = headroom_error(2 if ours else 1)
                if short is not None:  # fail now: a server out of descriptors never answers
                    raise OSError(errno.EMFILE, short)
                sock = await open_socket(host, port)
                session.expect(conn, sock.getsockname(), self.name, self.peer_name)
                self.ws = await connect(
                    self.url, sock=sock, proxy=None, create_connection=self._connection_class, **self._options
                )
            check_subprotocol(self.ws, self._options.get("subprotocols"))
        except (OSError, InvalidHandshake, TimeoutError) as exc:
            if sock is not None and self.ws is None:
                sock.close()
            await self._failed(exc)
        except asyncio.CancelledError:  # close() before open: websockets aborts its own transport
            if sock is not None and self.ws is None:
                sock.close()
            raise
        assert self.ws is not None
        pair = session.pairs.get(conn)
        if pair is not None and pair.server is not None:
            await session.wait_flag(pair.server_connected)
        await self._emit("open", conn=conn, peer=self.peer_name, detail=negotiated(self.ws))
        if pair is not None:
            pair.client_opened.set()
        self.close_code = self.close_reason = None
        self._reader = asyncio.create_task(self._read(), name=f"wslab-read-{self.name}")
        self._ctx.session.changed()

    async def _failed(self, exc: BaseException) -> None:
        """A failed attempt, as a browser reports it: ``error``, then ``close`` with 1006."""
        words = failure_words(exc, self.peer_name or redact_url(self.url), self._options.get("open_timeout"))
        if self.ws is not None:  # the 101 came but did not fit (a subprotocol): fail it, as a browser does
            self.ws.transport.abort()
            self.ws = None
        self.close_code = 1006
        await self._end_attempt(words, exc)
        raise ConnectionFailed(words) from exc

    async def _end_attempt(self, words: str, exc: BaseException | None) -> None:
        """``error`` then ``close`` 1006 for an attempt that never opened; its pair is finished."""
        pair = self._ctx.session.pairs.get(self.conn or "")
        if (
            pair is not None
            and pair.server is not None
            and self.ws is None
            and isinstance(exc, NegotiationError)
        ):
            await self._ctx.session.wait_flag(pair.server_connected)  # the server's rows first, every run
        await self._emit("error", conn=self.conn, peer=self.peer_name, error=words, exc=exc)
        await self._emit(
            "close",
            conn=self.conn,
            peer=self.peer_name,
            code=1006,
            reason="",
            detail=_("the connection never opened"),
            was_clean=False,
        )
        if pair is not None:
            pair.client_opened.set()  # a server waiting for our open may go on
            pair.done = True
        self._arrived.set()
        self._ctx.session.changed()

    async def _read(self) -> None:
        ws = self.ws
        assert ws is not None and self.conn is not None
        conn = self.conn
        pair = self._ctx.session.pairs.get(conn)
        try:
            async for message in ws:
                self.inbox.append(message)
                self._inbox_bytes += len(message)
                if self._inbox_bytes > self.inbox_budget:
                    await self._trim_inbox(conn)
                event = self._data("message", conn, self.peer_name, message, payload_size(message))
                if event is not None:
                    await self._run_hooks(event)
                if pair is not None:
                    pair.s2c_received += 1
                self._arrived.set()
                self._ctx.session.changed()
        except ConnectionClosed:
            pass
        await ws.wait_closed()
        if pair is not None and pair.server is not None:
            await self._ctx.session.wait_flag(pair.server_closed)
        end = ending(ws)  # as a browser reports it: error only when this end failed the connection
        self.close_code, self.close_reason = end.code, end.reason
        by = ws.protocol.close_rcvd_then_sent
        initiator = None if by is None else ((self.peer_name or "server") if by else self.name)
        rcvd = ws.protocol.close_rcvd
        stop = None
        if self.reconnect is not None and not self._closed_by_user:
            if by and rcvd is not None and not self.reconnect.retries_after(rcvd.code):
                stop = _("no reconnection: the server closed on purpose with {code}").format(code=rcvd.code)
            else:
                self._retrying = asyncio.create_task(self._retry(), name=f"wslab-retry-{self.name}")
        if end.error is not None:
            await self._emit("error", conn=conn, peer=self.peer_name, error=end.error, exc=end.exc)
        await self._emit(
            "close",
            conn=conn,
            peer=self.peer_name,
            code=end.code,
            reason=end.reason,
            initiator=initiator,
            detail=end.detail,
            was_clean=end.was_clean,
        )
        if stop is not None:
            hint = _("Reconnect(retry_after_deliberate_close=True) would try again")
            await self._emit("note", conn=conn, peer=self.peer_name, detail=f"{stop} ({hint})")
        release_compression(ws)
        if self.ws is ws:  # closed for good: keep the story (codes, events), not the websockets objects
            self.ws = None
        if pair is not None:
            pair.done = True
        self._arrived.set()
        self._ctx.session.changed()

    async def _send_and_settle(self, data: Payload, text: bool | None = None) -> None:
        if self.reconnecting and self.reconnect is not None and self.reconnect.queue:
            self.outbox.append(data)
            await self._emit(
                "note",
                conn=self.conn,
                peer=self.peer_name,
                data=data,
                size=payload_size(data),
                detail=_("queued while reconnecting ({count} waiting)").format(count=len(self.outbox)),
            )
            return
        await self._send_now(data, text)
        await self._ctx.session.settle()

    async def _send_now(self, data: Payload, text: bool | None = None) -> None:
        ws = self._require_open()
        pair = self._ctx.session.pairs.get(self.conn or "")
        if text and isinstance(data, bytes):
            await self._emit(
                "send",
                conn=self.conn,
                peer=self.peer_name,
                data=data,
                size=payload_size(data),
                detail="sent as a text frame",
            )
        else:
            event = self._data("send", self.conn, self.peer_name, data, payload_size(data))
            if event is not None:
                await self._run_hooks(event)
        if pair is not None:
            pair.c2s_sent += 1
        try:
            await ws.send(data, text=text)
        except ConnectionClosed as exc:
            if pair is not None:
                pair.c2s_sent -= 1
            raise NotConnected(_("connection {id} is closed ({why})").format(id=self.conn, why=exc)) from exc

    async def _recv(self, timeout: float | None) -> Payload:
        limit = self._ctx.limits.timeout if timeout is None else timeout
        try:
            async with asyncio.timeout(limit):
                while not self.inbox:
                    if self.state is State.CLOSED:
                        words = _("connection {id} is closed ({code}) and no message is left")
                        raise NotConnected(words.format(id=self.conn, code=self.close_code))
                    self._arrived.clear()
                    await self._arrived.wait()
        except TimeoutError:
            raise WslabTimeout(_("no message arrived within {limit} s").format(limit=limit)) from None
        return self._take()

    def _take(self) -> Payload:
        message = self.inbox.popleft()
        self._inbox_bytes -= len(message)
        return message

    async def _trim_inbox(self, conn: str) -> None:
        """Let the oldest unread messages go: nobody reads them, and memory must stay bounded."""
        count = 0
        while self._inbox_bytes > self.inbox_budget and len(self.inbox) > 1:
            self._take()
            count += 1
        first = self.inbox_dropped == 0
        self.inbox_dropped += count
        if first:  # once: every later one is counted in inbox_dropped, not noted again
            words = _(
                "inbox over {budget} bytes of unread messages: the oldest are let go "
                "({name}.inbox_dropped counts them)"
            ).format(budget=self.inbox_budget, name=self.name)
            await self._emit("note", conn=conn, peer=self.peer_name, detail=words)

    async def _wait(self, done: Callable[[], bool], timeout: float | None, late: str) -> None:
        """Wait until ``done()``, or raise ``WslabTimeout`` with ``late`` (an ``N_`` message)."""
        limit = self._ctx.limits.timeout if timeout is None else timeout
        try:
            async with asyncio.timeout(limit):
                while not done():
                    self._arrived.clear()
                    await self._arrived.wait()
        except TimeoutError:
            raise WslabTimeout(_(late).format(name=self.name, limit=limit)) from None
        await self._ctx.session.settle()

    def _close_limit(self) -> float:
        """How long close() waits: the lab's timeout, or the connection's longer ``close_timeout``."""
        close_timeout = self._options.get("close_timeout")
        return max(self._ctx.limits.timeout, close_timeout if isinstance(close_timeout, (int, float)) else 0)

    async def _close(self, code: int, reason: str, limit: float | None = None) -> None:
        check_close(code, reason)  # before anything is recorded: a bad code changes nothing
        limit = self._ctx.limits.timeout if limit is None else limit
        self._closed_by_user = True
        retrying = self._retrying
        if retrying is not None and not retrying.done():
            retrying.cancel()
            await asyncio.gather(retrying, return_exceptions=True)
            self._refuse_outbox()
        opening = self._opening
        if opening is not None and not opening.done():
            opening.cancel()
            await asyncio.gather(opening, return_exceptions=True)
        if self._reader is None and self.close_code is None:  # still opening: abandon it, as a browser does
            if self.ws is not None:
                self.ws.transport.abort()
                self.ws = None
            self.close_code = 1006
            words = _("close() before the connection was established: the attempt is abandoned")
            await self._end_attempt(words, None)
            return
        ws = self.ws
        if ws is None or self._reader is None or self._reader.done():
            if self._reader is None:
                detail = _("close(): {name} never opened, nothing to do").format(name=self.name)
            else:
                detail = _("close(): {name} is already closed ({code}), nothing to do").format(
                    name=self.name, code=self.close_code
                )
            await self._emit("note", conn=self.conn, peer=self.peer_name, detail=detail)
            return
        if ws.state is State.OPEN:
            await self._emit("closing", conn=self.conn, peer=self.peer_name, code=code, reason=reason)
            await self._ctx.session.unless_held(self.conn, ws.close(code, reason))
        try:
            async with asyncio.timeout(limit):
                await self._ctx.session.unless_held(self.conn, asyncio.shield(self._reader))
        except TimeoutError:
            raise WslabTimeout(
                _("the connection did not close within {limit} s").format(limit=limit)
            ) from None
        await self._ctx.session.settle()

    def _require_open(self) -> ClientConnection:
        if self.ws is None or self.state is not State.OPEN:
            if self.reconnecting:
                words = _("{name} is not connected (reconnecting)")
            else:
                words = _("{name} is not connected (state {state})")
            raise NotConnected(words.format(name=self.name, state=self.state.name.lower()))
        return self.ws
