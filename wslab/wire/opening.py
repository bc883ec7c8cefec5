"""The wire's opening: listen, accept a client, enforce the server's limits, open the upstream.

Like a websockets server, the wire drops a handshake that does not complete within
``open_timeout`` and answers an oversized request line or headers with 414 or 431 itself (the same
response websockets builds); each is recorded as a ``note`` that someone came, ``reject`` with the
status, and an ``error`` that says why. A ``wss://`` upstream is opened with TLS (certificate
verified unless the wire was made with ``verify=False``). For a URL upstream only ``Host`` is
changed in the forwarded request; Origin, cookies, subprotocols and extensions go on as they came.
"""

from __future__ import annotations

import asyncio
import contextlib
import http
import ssl
from collections.abc import Generator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

from websockets.datastructures import Headers
from websockets.exceptions import HeaderLineTooLong, RequestLineTooLong, TooManyHeaders
from websockets.http11 import Request, Response
from websockets.server import ServerProtocol
from websockets.uri import parse_uri

from .._redact import redact_headers, redact_http, redact_url
from ..i18n import _
from .frames import S2C, negotiate, set_host
from .relay import CHUNK, Flow, Link, Relay

if TYPE_CHECKING:
    from ..server import Server

__all__ = ["Opening", "Upstream"]

T = TypeVar("T")
_TOO_LARGE: dict[type[Exception], http.HTTPStatus] = {
    RequestLineTooLong: http.HTTPStatus.REQUEST_URI_TOO_LONG
}
_HEADERS_TOO_LARGE = (HeaderLineTooLong, TooManyHeaders)
_CAME = "a TCP connection came in; no complete HTTP request yet"


@dataclass(frozen=True)
class Upstream:
    """Where the wire connects: a server of the lab, or any ``ws://``/``wss://`` URL."""

    url: str
    host: str
    port: int
    tls: ssl.SSLContext | None
    server: Server | None = None  # the lab's server behind the wire, if it is one

    @classmethod
    def of(
        cls, target: Server | str, *, verify: bool = True, context: ssl.SSLContext | None = None
    ) -> Upstream:
        """``target`` as an upstream; a ``wss://`` URL verifies the certificate unless ``verify=False``."""
        if not isinstance(target, str):
            return cls(target.url, target.host, target.port, None, target)
        uri = parse_uri(target)  # raises InvalidURI for what is not ws:// or wss://
        tls = None
        if uri.secure:
            tls = context if context is not None else ssl.create_default_context()
            if not verify and context is None:
                tls.check_hostname = False
                tls.verify_mode = ssl.CERT_NONE
        return cls(target, uri.host, uri.port, tls)

    @property
    def name(self) -> str:
        """The far end's name in events: the lab server's name, else ``server``."""
        return self.server.name if self.server is not None else "server"

    @property
    def authority(self) -> str:
        """The ``Host`` header this upstream expects."""
        default = 443 if self.tls is not None else 80
        return self.host if self.port == default else f"{self.host}:{self.port}"

    @property
    def path(self) -> str:
        return "/" if self.server is not None else parse_uri(self.url).resource_name


class Opening(Relay):
    """Listening and opening handshakes; :class:`~wslab.wire.Wire` adds the public face."""

    upstream: Upstream
    host: str
    port: int
    open_timeout: float | None
    _listener: asyncio.Server | None
    _tasks: set[asyncio.Task[None]]

    async def _start(self) -> None:
        self._listener = await asyncio.start_server(self._accept, self.host, self.port)
        self.port = int(next(iter(self._listener.sockets)).getsockname()[1])

    def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.get_running_loop().create_task(
            self._relay(reader, writer), name=f"wslab-{self.name}-link"
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        link = Link(self, reader, writer, self.upstream.name)
        self.links.append(link)
        try:
            await self._handshake(link)
        except Exception as exc:  # a relay never dies of what crossed it: record and close
            failed = _("relay failed: {kind}: {problem}").format(kind=type(exc).__name__, problem=exc)
            await self._emit("error", conn=link.conn, error=failed, exc=exc)
        finally:
            link.closed = True
            for w in (link.client_writer, link.server_writer):
                if w is not None:
                    w.close()
                    with contextlib.suppress(Exception):
                        await w.wait_closed()
            for held in [h for h in self._held if h.link is link]:
                self._take(held)
                self._record(
                    "note",
                    conn=link.conn,
                    frame=held.info,
                    detail=_("connection closed: never delivered {frame}").format(frame=repr(held)),
                )
            self._ctx.session.changed()

    def _identify(self, link: Link, path: str | None) -> None:
        """Give the link the id and name the lab expects for this client (a new one for a stranger)."""
        peername = link.client_writer.get_extra_info("peername")
        link.conn, link.client, _ = self._ctx.session.identify(peername, self.name, path)
        link.pair = self._ctx.session.pairs.get(link.conn)
        if link.pair is not None:
            link.pair.wire = link

    async def _handshake(self, link: Link) -> None:
        flow = link.c2s
        request = await self._read_request(link)
        if request is None:
            return
        request_raw = flow.reader.take()
        self._identify(link, urlsplit(request.path).path)
        up = self.upstream
        try:
            async with asyncio.timeout(self.open_timeout):
                s_reader, s_writer = await asyncio.open_connection(
                    up.host, up.port, ssl=up.tls, server_hostname=up.host if up.tls is not None else None
                )
        except (OSError, TimeoutError) as exc:
            words = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            await self._refuse(
                link, http.HTTPStatus.BAD_GATEWAY, f"the wire could not reach {up.url}: {words}"
            )
            return
        link.server_writer = s_writer
        if up.server is not None:  # the lab's server: it gives this connection the client's id
            local = s_writer.get_extra_info("sockname")
            self._ctx.session.expected[(str(local[0]), int(local[1]))] = (link.conn, link.client)
        else:
            request_raw = set_host(request_raw, up.authority)
        link.request = request_raw
        line = f"GET {redact_url(request.path)} HTTP/1.1"
        words = _("HTTP request {arrow}: {line} ({count} headers)")
        self._note_http(link, (link.client, link.server), request_raw, request.headers, words, line)
        s_writer.write(request_raw)
        link.s2c = back = Flow(link, S2C, s_reader, mask=False)
        flow.dst, back.dst = s_writer, link.client_writer

        def parse_response(s: Any) -> Generator[None, None, Response]:
            return Response.parse(s.read_line, s.read_exact, s.read_to_eof)

        try:
            async with asyncio.timeout(self.open_timeout):
                response = await self._read_http(back, parse_response(back.reader.stream))
        except TimeoutError:
            await self._emit(
                "error",
                conn=link.conn,
                error=_(
                    "the server did not answer the opening handshake within {seconds} s: "
                    "the wire closed both TCP connections"
                ).format(seconds=self.open_timeout),
            )
            return
        except Exception as exc:  # not HTTP: the client is the one to say what is wrong with it
            await self._emit(
                "error",
                conn=link.conn,
                peer=link.client,
                error=_(
                    "the server's answer is no valid HTTP response ({kind}: {problem}): "
                    "the wire passes its bytes on as they are"
                ).format(kind=type(exc).__name__, problem=exc),
                exc=exc,
            )
            flow.reader.broken = back.reader.broken = True
            self._transmit(back, back.reader.rest())
            await asyncio.gather(self._pump(flow), self._pump(back))
            await link.ended.wait()
            return
        response_raw = back.reader.take()
        link.response = response_raw
        line = f"{response.status_code} {response.reason_phrase}"
        words = _("HTTP response {arrow}: {line} ({count} headers)")
        self._note_http(link, (link.server, link.client), response_raw, response.headers, words, line)
        link.client_writer.write(response_raw)
        if response.status_code != 101:
            flow.reader.broken = back.reader.broken = True
        else:
            flow.reader.deflate, back.reader.deflate = negotiate(
                response.headers.get("Sec-WebSocket-Extensions")
            )
            if link.pair is not None:  # a client of the lab: its `open` comes before the frames it gets
                await self._ctx.session.wait_flag(link.pair.client_opened)
        await asyncio.gather(self._pump(flow), self._pump(back))
        await link.ended.wait()

    def _note_http(
        self, link: Link, way: tuple[str, str], raw: bytes, headers: Headers, words: str, line: str
    ) -> None:
        """Record one half of the opening handshake, going ``way`` (from, to), as the wire saw it."""
        self._record(
            "note",
            conn=link.conn,
            peer=way[1],
            data=redact_http(raw),
            size=len(raw),
            headers=redact_headers(tuple(headers.raw_items())),
            detail=words.format(arrow="→".join(way), line=line, count=len(headers)),
        )

    async def _read_request(self, link: Link) -> Request | None:
        """The client's request, or None once a request the wire refuses has been answered and recorded."""
        flow = link.c2s
        try:
            async with asyncio.timeout(self.open_timeout):
                return await self._read_http(flow, Request.parse(flow.reader.stream.read_line))
        except TimeoutError:
            words = _(
                "opening handshake timed out after {seconds} s: the HTTP request never completed, "
                "so the wire closed the TCP connection"
            ).format(seconds=self.open_timeout)
            cause: Exception | None = None
        except (RequestLineTooLong, *_HEADERS_TOO_LARGE) as too_large:
            status = _TOO_LARGE.get(type(too_large), http.HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE)
            await self._refuse(link, status, f"{too_large}", too_large)
            return None
        except EOFError as exc:
            cause = exc
            if flow.reader.raw:
                words = _("did not receive a valid HTTP request ({problem})").format(problem=exc)
            else:
                words = _("the client hung up before sending a complete HTTP request")
        except Exception as exc:
            cause = exc
            words = _("did not receive a valid HTTP request ({problem})").format(problem=exc)
        self._identify(link, None)
        await self._emit(
            "note",
            conn=link.conn,
            peer=link.client,
            detail=_CAME,
        )
        await self._emit("error", conn=link.conn, peer=link.client, error=words, exc=cause)
        link.client_writer.transport.abort()
        return None

    async def _refuse(
        self, link: Link, status: http.HTTPStatus, words: str, exc: Exception | None = None
    ) -> None:
        """Answer the client with ``status`` (as websockets would), record ``reject`` then ``error``."""
        if link.conn == "?":
            self._identify(link, None)
            await self._emit(
                "note",
                conn=link.conn,
                peer=link.client,
                detail=_CAME,
            )
        response = ServerProtocol().reject(status, f"Failed to open a WebSocket connection: {words}.\n")
        phrase = f"{status.value} {status.phrase}"
        await self._emit("reject", conn=link.conn, peer=link.client, code=status.value, detail=phrase)
        await self._emit(
            "error",
            conn=link.conn,
            peer=link.client,
            error=_("handshake refused with {status}: {why}").format(status=phrase, why=words),
            exc=exc,
        )
        link.client_writer.write(response.serialize())  # after the record: who reads it finds it there
        with contextlib.suppress(OSError, RuntimeError):
            if link.client_writer.can_write_eof():
                link.client_writer.write_eof()

    async def _read_http(self, flow: Flow, gen: Generator[None, None, T]) -> T:
        """Run a sans-I/O HTTP parser on one direction until it returns (its errors go to the caller)."""
        stream = flow.reader.stream
        try:
            next(gen)
            while True:
                try:
                    data = await flow.src.read(CHUNK)
                except OSError:
                    data = b""
                if data:
                    stream.feed_data(data)
                    flow.reader.raw.extend(data)
                else:
                    stream.feed_eof()
                next(gen)
        except StopIteration as stop:
            value: T = stop.value
            return value

    async def _stop(self) -> None:
        """Stop listening and end every link (after the lab closed its clients and servers)."""
        if self._listener is not None:
            self._listener.close()
        for link in self.links:
            self._cut(link)
        if self._tasks:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._ctx.limits.timeout):
                    await asyncio.gather(*self._tasks, return_exceptions=True)
        for task in list(self._tasks):
            task.cancel()
        if self._listener is not None:
            await self._listener.wait_closed()
            self._listener = None
