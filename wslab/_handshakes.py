"""The server's opening handshakes: the Upgrade, the token check, the 101 or the refusal, and failures.

A mixin of :class:`~wslab.server.Server`. Every handshake leaves events, even one websockets ends
before any hook of ours would run (an unparseable or oversized request, one that never completes).
"""

from __future__ import annotations

import asyncio
import hmac
from typing import TYPE_CHECKING, Any, ClassVar, cast
from urllib.parse import parse_qsl, urlsplit

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import HeaderLineTooLong, InvalidHeader, RequestLineTooLong, TooManyHeaders
from websockets.http11 import Request, Response
from websockets.protocol import State

from ._connection import CloseWatchdog
from ._heartbeat import PingRecorder
from ._redact import redact_headers, redact_url
from .i18n import _
from .peer import Peer

if TYPE_CHECKING:
    import weakref

    from ._context import Context
    from .events import Event, Kind
    from .server import Server

__all__ = ["HandshakeReporter", "Handshakes"]


_TOO_LARGE: dict[type[Exception], tuple[int, str]] = {
    RequestLineTooLong: (414, "Request-URI Too Long"),
    HeaderLineTooLong: (431, "Request Header Fields Too Large"),
    TooManyHeaders: (431, "Request Header Fields Too Large"),
}
"""The statuses websockets sends by itself, before ``process_request``, for oversized requests."""


class HandshakeReporter(PingRecorder, CloseWatchdog, ServerConnection):
    """A ``ServerConnection`` that reports handshakes failing where no hook of ours would see them.

    websockets answers an unparseable or oversized request, and drops a request that never
    completes (``open_timeout``), before calling ``process_request``; without this, such a
    connection would leave no event at all.
    """

    owner: ClassVar[Server]

    async def handshake(self, *args: Any, **kwargs: Any) -> None:
        try:
            await super().handshake(*args, **kwargs)
        except asyncio.CancelledError:  # open_timeout, or the lab shutting down
            if self.owner.serving:
                await self.owner._handshake_failed(self, timed_out=True)
            self.transport.abort()  # websockets aborts on a timeout, not on a cancel: never leak it
            raise
        if self.request is None:
            await self.owner._handshake_failed(self, timed_out=False)


class Handshakes:
    """How a server answers opening handshakes, and records each one."""

    if TYPE_CHECKING:  # provided by Server
        _ctx: Context
        name: str
        token: str | None
        registry: list[Peer]
        _peers: weakref.WeakKeyDictionary[ServerConnection, Peer]

        @property
        def open_timeout(self) -> float | None: ...
        async def _emit(self, kind: Kind, **fields: Any) -> Event: ...
        def _forget_old_closed(self) -> None: ...

    async def _process_request(self, ws: ServerConnection, request: Request) -> Response | None:
        conn, name = self._ctx.session.claim(ws.remote_address, self.name, urlsplit(request.path).path)
        peer = Peer(cast("Server", self), conn, name, ws)
        self._peers[ws] = peer
        self.registry.append(peer)
        await self._emit(
            "upgrade",
            conn=conn,
            peer=name,
            detail=f"GET {redact_url(request.path)} HTTP/1.1",
            headers=redact_headers(tuple(request.headers.raw_items())),
        )
        return self._check_token(ws, request)

    def _check_token(self, ws: ServerConnection, request: Request) -> Response | None:
        """With ``token=``, refuse a handshake without it: 401 when missing, 403 when wrong."""
        if self.token is None:
            return None
        given = dict(parse_qsl(urlsplit(request.path).query)).get("token")
        scheme, _sep, credentials = request.headers.get("Authorization", "").partition(" ")
        if given is None and scheme.lower() == "bearer":
            given = credentials.strip()
        if given is None:
            response = ws.respond(401, "missing token: add ?token=… or an Authorization: Bearer header\n")
            response.headers["WWW-Authenticate"] = "Bearer"
            return response
        if not hmac.compare_digest(given.encode(), self.token.encode()):
            return ws.respond(403, "wrong token\n")
        return None

    async def _process_response(
        self, ws: ServerConnection, request: Request, response: Response
    ) -> Response | None:
        peer = self._peers[ws]
        replaced = None
        exc = ws.protocol.handshake_exc
        if isinstance(exc, InvalidHeader) and exc.name == "Sec-WebSocket-Version":
            # RFC 6455 4.2.2: answer an unknown version with 426 and the version we speak
            response = replaced = ws.respond(426, f"Failed to open a WebSocket connection: {exc}.\n")
            response.headers["Sec-WebSocket-Version"] = "13"
        status = f"{response.status_code} {response.reason_phrase}"
        headers = redact_headers(tuple(response.headers.raw_items()))  # a Set-Cookie never shows
        if response.status_code == 101:
            await self._emit("accept", conn=peer.id, peer=peer.name, detail=status, headers=headers)
        else:
            peer.state = State.CLOSED
            peer._ws = None  # refused: nothing more to send it, nothing to keep
            self._forget_old_closed()
            await self._emit(
                "reject",
                conn=peer.id,
                peer=peer.name,
                code=response.status_code,
                detail=status,
                headers=headers,
                data=response.body.decode("utf-8", "replace") if response.body else None,
            )
            why = ws.protocol.handshake_exc or response.body.decode("utf-8", "replace").strip()
            await self._emit(
                "error",
                conn=peer.id,
                peer=peer.name,
                error=_("handshake refused with {status}: {why}").format(
                    status=status, why=why or _("no reason given")
                ),
                exc=ws.protocol.handshake_exc,
            )
        return replaced

    async def _handshake_failed(self, ws: ServerConnection, *, timed_out: bool) -> None:
        """Record a handshake that ended before ``process_response``: ``reject`` if a status went out."""
        peer = self._peers.get(ws)
        if peer is not None:
            if peer.state is not State.CONNECTING:
                return
            peer.state = State.CLOSED
            conn, name = peer.id, peer.name
        else:
            conn, name = self._ctx.session.claim(ws.remote_address, self.name)
        exc = ws.protocol.handshake_exc
        if peer is None:  # no complete request, so no upgrade row: say first that someone came
            came = _("a TCP connection came in; no complete HTTP request yet")
            await self._emit("note", conn=conn, peer=name, detail=came)
        if timed_out:
            limit = self.open_timeout
            words = _(
                "opening handshake timed out after {seconds} s: the HTTP request never completed, "
                "so the server closed the TCP connection"
            ).format(seconds=limit)
        elif exc is None:
            words = _("the client hung up before sending a complete HTTP request")
        else:
            cause = f" ({exc.__cause__})" if exc.__cause__ is not None else ""
            words = f"{exc}{cause}"
        status = _TOO_LARGE.get(type(exc)) if exc is not None else None
        if status is not None:
            await self._emit(
                "reject", conn=conn, peer=name, code=status[0], detail=f"{status[0]} {status[1]}"
            )
            refused = _("handshake refused with {status}: {why}")
            words = refused.format(status=f"{status[0]} {status[1]}", why=words)
        await self._emit("error", conn=conn, peer=name, error=words, exc=exc)
