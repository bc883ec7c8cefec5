"""Scripted raw-TCP peers: hand-built HTTP answers and WebSocket frames, the same bytes for every system.

A *puppet server* (``PuppetServer``) listens on 127.0.0.1, port 0, and runs one scenario script per
accepted connection; a *puppet client* script connects to a real server and misbehaves. No WebSocket
library is involved on this side: only ``hashlib`` to compute ``Sec-WebSocket-Accept``. What the
peer sent back on the wire (its close code, a pong) is noted in a ``wire`` list, for the report.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import socket
import struct
import threading
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
TEXT, BINARY, CLOSE, PING, PONG = 0x1, 0x2, 0x8, 0x9, 0xA
READ_TIMEOUT = 3.0  # a peer that says nothing for this long is left alone

T = TypeVar("T")
Wire = list[str]
ServerScript = Callable[[asyncio.StreamReader, asyncio.StreamWriter, Wire], Awaitable[None]]


def accept_for(key: str) -> str:
    """The ``Sec-WebSocket-Accept`` value RFC 6455 asks for, for this ``Sec-WebSocket-Key``."""
    return base64.b64encode(hashlib.sha1((key + GUID).encode("ascii")).digest()).decode("ascii")


def frame(opcode: int, payload: bytes = b"", *, fin: bool = True, rsv: int = 0, mask: bool = False) -> bytes:
    """One WebSocket frame, built by hand; ``mask=True`` masks it with a fixed key (deterministic)."""
    head = bytes([(0x80 if fin else 0) | (rsv << 4) | opcode])
    bit = 0x80 if mask else 0
    size = len(payload)
    if size < 126:
        head += bytes([bit | size])
    elif size < 1 << 16:
        head += bytes([bit | 126]) + struct.pack("!H", size)
    else:
        head += bytes([bit | 127]) + struct.pack("!Q", size)
    if not mask:
        return head + payload
    key = b"\x11\x22\x33\x44"
    return head + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


def close_payload(code: int | None = None, reason: str = "") -> bytes:
    """A close frame's payload: empty, or a 2-byte code and a UTF-8 reason."""
    return b"" if code is None else struct.pack("!H", code) + reason.encode("utf-8")


def describe_close(payload: bytes) -> str:
    if len(payload) < 2:
        return "close (no code)"
    code = struct.unpack("!H", payload[:2])[0]
    reason = payload[2:].decode("utf-8", "replace")
    return f"close {code}" + (f" {reason!r}" if reason else "")


async def read_frame(reader: asyncio.StreamReader, timeout: float = READ_TIMEOUT) -> tuple[int, bytes] | None:
    """The next frame (opcode, unmasked payload), or None at EOF, on a reset or after ``timeout``."""
    try:
        async with asyncio.timeout(timeout):
            first, second = await reader.readexactly(2)
            size = second & 0x7F
            if size == 126:
                size = struct.unpack("!H", await reader.readexactly(2))[0]
            elif size == 127:
                size = struct.unpack("!Q", await reader.readexactly(8))[0]
            key = await reader.readexactly(4) if second & 0x80 else b""
            payload = await reader.readexactly(size)
    except (asyncio.IncompleteReadError, ConnectionError, TimeoutError):
        return None
    if key:
        payload = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
    return first & 0x0F, payload


async def read_head(reader: asyncio.StreamReader, timeout: float = READ_TIMEOUT) -> dict[str, str] | None:
    """An HTTP request or response head: the first line under ``""`` and lower-cased header names."""
    try:
        async with asyncio.timeout(timeout):
            raw = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError, TimeoutError):
        return None
    lines = raw.decode("latin-1").split("\r\n")
    head = {"": lines[0]}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            head[name.strip().lower()] = value.strip()
    return head


def switching(key: str, *, accept: str | None = None, protocol: str | None = None) -> bytes:
    """A ``101 Switching Protocols`` answer; ``accept`` replaces the right Sec-WebSocket-Accept."""
    lines = [
        "HTTP/1.1 101 Switching Protocols",
        "Upgrade: websocket",
        "Connection: Upgrade",
        f"Sec-WebSocket-Accept: {accept or accept_for(key)}",
    ]
    if protocol:
        lines.append(f"Sec-WebSocket-Protocol: {protocol}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def refusal(status: str) -> bytes:
    """A plain HTTP refusal such as ``403 Forbidden``, then the server closes."""
    body = status.encode()
    head = (
        f"HTTP/1.1 {status}\r\nContent-Type: text/plain\r\nContent-Length: {len(body)}\r\nConnection: close"
    )
    return head.encode("latin-1") + b"\r\n\r\n" + body


async def shut(writer: asyncio.StreamWriter) -> None:
    """Close the TCP connection (FIN), ignoring a peer that already went away."""
    try:
        writer.close()
        await writer.wait_closed()
    except (ConnectionError, OSError):
        pass


async def reset(writer: asyncio.StreamWriter) -> None:
    """Cut the TCP connection with a reset (RST): SO_LINGER 0, then close."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()
    await asyncio.sleep(0)


async def send(writer: asyncio.StreamWriter, data: bytes) -> None:
    try:
        writer.write(data)
        await writer.drain()
    except (ConnectionError, OSError):
        pass


async def until_close(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    wire: Wire,
    *,
    echo: bool = True,
    mask: bool = False,
) -> None:
    """Read frames until the peer's close frame (answered with the same payload) or EOF; then shut.

    Pings are answered with pongs; data frames are skipped. What the peer sent is noted in ``wire``.
    """
    while True:
        got = await read_frame(reader)
        if got is None:
            wire.append("EOF")
            break
        opcode, payload = got
        if opcode == CLOSE:
            wire.append(describe_close(payload))
            if echo:
                await send(writer, frame(CLOSE, payload, mask=mask))
            break
        if opcode == PING:
            await send(writer, frame(PONG, payload, mask=mask))
        elif opcode == PONG:
            wire.append("pong")
    await shut(writer)


class PuppetLoop:
    """One asyncio loop in a daemon thread, where every puppet runs."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="fidelity-puppets", daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def start(self, coro: Coroutine[Any, Any, T]) -> asyncio.Future[T]:
        future: Any = asyncio.run_coroutine_threadsafe(coro, self.loop)
        return future  # type: ignore[no-any-return]

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


class PuppetServer:
    """A listening socket on 127.0.0.1 that plays ``script`` for each connection; ``wire`` collects notes."""

    def __init__(self, puppets: PuppetLoop, script: ServerScript | None) -> None:
        self.puppets = puppets
        self.script = script
        self.wire: Wire = []
        self.tasks: set[asyncio.Task[None]] = set()
        self._server: asyncio.Server | None = None
        self._placeholder: Any = None
        self.port = puppets.run(self._start())

    async def _start(self) -> int:
        if self.script is None:  # nothing listening: a bound socket that never listens refuses
            self._placeholder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self._placeholder.bind(("127.0.0.1", 0))
            return int(self._placeholder.getsockname()[1])
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return int(self._server.sockets[0].getsockname()[1])

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        assert self.script is not None
        task = asyncio.current_task()
        assert task is not None
        self.tasks.add(task)
        try:
            await self.script(reader, writer, self.wire)
        except (ConnectionError, OSError):
            self.wire.append("reset")
        except asyncio.CancelledError:
            pass  # the scenario is over: not an error
        finally:
            writer.transport.abort()

    def close(self) -> None:
        async def stop() -> None:
            if self._placeholder is not None:
                self._placeholder.close()
            if self._server is not None:
                self._server.close()
            for task in list(self.tasks):
                task.cancel()
            await asyncio.sleep(0)

        self.puppets.run(stop())


async def open_client(
    port: int, wire: Wire, *, path: str = "/"
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
    """A puppet client's handshake, by hand; None (noted in ``wire``) when the server does not say 101."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    key = base64.b64encode(os.urandom(16)).decode("ascii")
    writer.write(request(port, key, path=path))
    await writer.drain()
    head = await read_head(reader)
    if head is None or " 101 " not in head[""] + " ":
        wire.append(f"handshake refused: {head and head['']}")
        await shut(writer)
        return None
    return reader, writer


def request(port: int, key: str, *, path: str = "/") -> bytes:
    lines = [
        f"GET {path} HTTP/1.1",
        f"Host: 127.0.0.1:{port}",
        "Upgrade: websocket",
        "Connection: Upgrade",
        f"Sec-WebSocket-Key: {key}",
        "Sec-WebSocket-Version: 13",
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
