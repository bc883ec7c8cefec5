"""The scenarios: what the puppet server does to each client, what the puppet client does to each server.

Every client under test behaves like the reference article's client: four listeners (open, message,
error, close) and ``socket.send('Bonjour serveur!')`` on open. Every server under test is the
article's server: ``Bienvenue sur le serveur WebSocket`` on connection, ``Serveur a reçu : …`` per
message. ``KNOWN_DIFFERENCES`` lists where wslab differs on purpose, with the reason.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from .puppet import (
    BINARY,
    CLOSE,
    PING,
    TEXT,
    ServerScript,
    Wire,
    close_payload,
    describe_close,
    frame,
    open_client,
    read_frame,
    read_head,
    refusal,
    reset,
    send,
    shut,
    switching,
    until_close,
)

WINDOW = 3.0
"""Seconds a scenario in which nothing is expected to happen is observed before recording "nothing"."""

ClientScript = Callable[[int, Wire], Awaitable[None]]


@dataclass(frozen=True)
class ClientScenario:
    """What the puppet *server* does; ``action`` is what the client itself does besides the article's code."""

    name: str
    what: str
    script: ServerScript | None  # None: nothing listens on the port
    action: str = ""  # "close after message" | "close before open"
    protocols: tuple[str, ...] = ()
    observe: bool = False  # nothing should end it: observe for WINDOW seconds


@dataclass(frozen=True)
class ServerScenario:
    """What the puppet *client* does to the article's server; ``throws``: the message handler throws."""

    name: str
    what: str
    script: ClientScript
    throws: bool = False
    observe: bool = False


# --- the puppet server's scripts (client side) --------------------------------------------------------


async def _handshake(reader: asyncio.StreamReader) -> str | None:
    head = await read_head(reader)
    return None if head is None else head.get("sec-websocket-key", "")


def _opened(
    then: Callable[[asyncio.StreamReader, asyncio.StreamWriter, Wire], Awaitable[None]],
) -> ServerScript:
    """Answer 101, wait for the article's ``Bonjour serveur!``, then play ``then``."""

    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, wire: Wire) -> None:
        key = await _handshake(reader)
        if key is None:
            return
        await send(writer, switching(key))
        got = await read_frame(reader)
        if got is None or got[0] != TEXT:
            wire.append(f"expected the greeting, got {got!r}")
            await shut(writer)
            return
        await then(reader, writer, wire)

    return script


async def _echo_then_wait(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, wire: Wire) -> None:
    await send(writer, frame(TEXT, "Serveur a reçu : Bonjour serveur!".encode()))
    await until_close(reader, writer, wire)


def _server_closes(code: int | None, reason: str = "") -> ServerScript:
    async def then(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, wire: Wire) -> None:
        await send(writer, frame(CLOSE, close_payload(code, reason)))
        await until_close(reader, writer, wire, echo=False)

    return _opened(then)


async def _cut(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, wire: Wire) -> None:
    await shut(writer)


async def _reset(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, wire: Wire) -> None:
    await reset(writer)


def _sends(raw: bytes) -> ServerScript:
    async def then(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, wire: Wire) -> None:
        await send(writer, raw)
        await until_close(reader, writer, wire)

    return _opened(then)


async def _ping(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, wire: Wire) -> None:
    await send(writer, frame(PING, b"hb"))
    got = await read_frame(reader)
    wire.append("pong" if got == (0xA, b"hb") else f"no pong: {got!r}")
    await send(writer, frame(CLOSE, close_payload(1000, "")))
    await until_close(reader, writer, wire, echo=False)


def _refuses(status: str) -> ServerScript:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, wire: Wire) -> None:
        if await _handshake(reader) is not None:
            await send(writer, refusal(status))
        await shut(writer)

    return script


async def _wrong_accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, wire: Wire) -> None:
    if await _handshake(reader) is not None:
        await send(writer, switching("", accept="dGhlIHNhbXBsZSBub25jZQ=="))  # RFC 6455's example key
        await until_close(reader, writer, wire)


async def _silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, wire: Wire) -> None:
    await read_head(reader)
    await asyncio.sleep(WINDOW + 5)


async def _no_protocol(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, wire: Wire) -> None:
    key = await _handshake(reader)
    if key is None:
        return
    await send(writer, switching(key))  # the client asked for `chat`: this names none
    got = await read_frame(reader)
    if got is not None and got[0] in (TEXT, BINARY):  # a client that accepted the 101: end it cleanly
        await send(writer, frame(CLOSE, close_payload(1000, "")))
        await until_close(reader, writer, wire, echo=False)
    else:
        wire.append("EOF" if got is None else f"opcode {got[0]}")
        await shut(writer)


async def _late(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, wire: Wire) -> None:
    """Answer 101 after 1 s. Whether the client had sent its request by then varies: nothing is noted."""
    key = await _handshake(reader)
    if key is None:
        return
    await asyncio.sleep(1.0)
    await send(writer, switching(key))
    await until_close(reader, writer, [])


CLIENT_SCENARIOS: list[ClientScenario] = [
    ClientScenario(
        "client closes 1000",
        "answers 101, echoes the greeting; the client closes 1000 'bye' on the first message",
        _opened(_echo_then_wait),
        action="close after message",
    ),
    ClientScenario("server closes 1000", "sends close 1000 (no reason)", _server_closes(1000)),
    ClientScenario(
        "server closes 4001 'banned'", "sends close 4001 'banned'", _server_closes(4001, "banned")
    ),
    ClientScenario(
        "empty close frame", "sends a close frame with no payload (no code)", _server_closes(None)
    ),
    ClientScenario(
        "TCP cut after open", "closes the TCP connection (FIN) with no close frame", _opened(_cut)
    ),
    ClientScenario("TCP reset after open", "resets TCP (RST) with no close frame", _opened(_reset)),
    ClientScenario("refused", "nothing listens on the port", None),
    ClientScenario("403", "answers the handshake with 403 Forbidden", _refuses("403 Forbidden")),
    ClientScenario("404", "answers the handshake with 404 Not Found", _refuses("404 Not Found")),
    ClientScenario(
        "wrong Sec-WebSocket-Accept", "answers 101 with a wrong Sec-WebSocket-Accept", _wrong_accept
    ),
    ClientScenario(
        "invalid UTF-8", "sends a text frame holding bytes FF FE", _sends(frame(TEXT, b"\xff\xfe"))
    ),
    ClientScenario(
        "masked server frame", "sends a masked text frame", _sends(frame(TEXT, b"masque", mask=True))
    ),
    ClientScenario("reserved opcode", "sends a frame with reserved opcode 0x3", _sends(frame(0x3, b"x"))),
    ClientScenario("server ping", "sends a ping, reads the pong, then closes 1000", _opened(_ping)),
    ClientScenario(
        "handshake never answered",
        f"reads the request, never answers (observed {WINDOW:g} s)",
        _silent,
        observe=True,
    ),
    ClientScenario(
        "subprotocol not chosen",
        "the client asks for `chat`; the 101 names none (a client that opens anyway gets close 1000)",
        _no_protocol,
        protocols=("chat",),
    ),
    ClientScenario(
        "close() before open",
        "answers 101 after 1 s; the client calls close() right after creating the socket",
        _late,
        action="close before open",
    ),
]


# --- the puppet client's scripts (server side) --------------------------------------------------------


def _connected(
    then: Callable[[asyncio.StreamReader, asyncio.StreamWriter, Wire], Awaitable[None]],
) -> ClientScript:
    """Handshake, read the welcome, then play ``then``."""

    async def script(port: int, wire: Wire) -> None:
        opened = await open_client(port, wire)
        if opened is None:
            return
        reader, writer = opened
        got = await read_frame(reader)
        if got is None or got[0] != TEXT:
            wire.append(f"expected the welcome, got {got!r}")
        await then(reader, writer, wire)

    return script


async def _exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await send(writer, frame(TEXT, b"Bonjour serveur!", mask=True))
    await read_frame(reader)


def _closes(code: int | None, reason: str = "") -> ClientScript:
    async def then(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, wire: Wire) -> None:
        await _exchange(reader, writer)
        await send(writer, frame(CLOSE, close_payload(code, reason), mask=True))
        await until_close(reader, writer, wire, echo=False, mask=True)

    return _connected(then)


async def _client_cut(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, wire: Wire) -> None:
    await _exchange(reader, writer)
    await shut(writer)


async def _client_reset(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, wire: Wire) -> None:
    await _exchange(reader, writer)
    await reset(writer)


def _client_sends(raw: bytes) -> ClientScript:
    async def then(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, wire: Wire) -> None:
        await send(writer, raw)
        await until_close(reader, writer, wire, mask=True)

    return _connected(then)


async def _big(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, wire: Wire) -> None:
    await send(writer, frame(TEXT, b"a" * (2 << 20), mask=True))
    got = await read_frame(reader)
    if got is not None and got[0] == TEXT:  # the echo came back: close normally
        wire.append(f"echo of {len(got[1])} bytes")
        await send(writer, frame(CLOSE, close_payload(1000, ""), mask=True))
        await until_close(reader, writer, wire, echo=False, mask=True)
    elif got is not None and got[0] == CLOSE:
        wire.append(f"server sent {describe_close(got[1])}")
        await send(writer, frame(CLOSE, got[1], mask=True))
        await until_close(reader, writer, wire, echo=False, mask=True)
    else:
        wire.append("EOF")
        await shut(writer)


async def _client_ping(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, wire: Wire) -> None:
    await send(writer, frame(PING, b"hb", mask=True))
    got = await read_frame(reader)
    wire.append("pong" if got == (0xA, b"hb") else f"no pong: {got!r}")
    await send(writer, frame(CLOSE, close_payload(1000, ""), mask=True))
    await until_close(reader, writer, wire, echo=False, mask=True)


async def _half(port: int, wire: Wire) -> None:
    _, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n".encode())
    await writer.drain()
    try:
        await asyncio.sleep(WINDOW + 5)
    finally:  # the window is over: let the server go, without waiting for its handshake timeout
        writer.transport.abort()


SERVER_SCENARIOS: list[ServerScenario] = [
    ServerScenario("client closes 1000", "greets, reads the echo, closes 1000", _closes(1000)),
    ServerScenario(
        "client cuts TCP", "greets, reads the echo, closes TCP with no close frame", _connected(_client_cut)
    ),
    ServerScenario(
        "client resets TCP", "greets, reads the echo, resets TCP (RST)", _connected(_client_reset)
    ),
    ServerScenario(
        "unmasked frame", "sends an unmasked text frame", _client_sends(frame(TEXT, b"Bonjour serveur!"))
    ),
    ServerScenario(
        "invalid UTF-8",
        "sends a text frame holding bytes FF FE",
        _client_sends(frame(TEXT, b"\xff\xfe", mask=True)),
    ),
    ServerScenario("2 MiB message", "sends a 2 MiB text message, then closes 1000", _connected(_big)),
    ServerScenario(
        "close 1005 on the wire",
        "sends a close frame with code 1005 (never valid on the wire)",
        _closes(1005),
    ),
    ServerScenario(
        "client closes 4000 'fini'", "greets, reads the echo, closes 4000 'fini'", _closes(4000, "fini")
    ),
    ServerScenario(
        "handler throws",
        "greets; the server's message handler throws",
        _client_sends(frame(TEXT, b"Bonjour serveur!", mask=True)),
        throws=True,
    ),
    ServerScenario("client ping", "sends a ping, reads the pong, closes 1000", _connected(_client_ping)),
    ServerScenario(
        "half handshake", f"sends half a handshake, then nothing (observed {WINDOW:g} s)", _half, observe=True
    ),
]


KNOWN_DIFFERENCES: dict[str, str] = {
    "server: handler throws": (
        "An exception in a Node `ws` 'message' listener is uncaught: the whole process exits (code 1) and "
        "every client loses its connection without a close frame. websockets (under wslab) catches it, "
        "closes only that connection with 1011 'internal error' and the server lives on: a lab that dies "
        "on a learner's typo would teach nothing. The Node fix is a try/catch in the handler."
    ),
    "server: 2 MiB message": (
        "Node `ws` accepts messages up to `maxPayload` = 100 MiB by default; Python websockets' `max_size` "
        "is 1 MiB, so wslab's server fails the connection: it sends close 1009 (message too big) and "
        "records error, close 1006, as Node does with `maxPayload` 1 MiB. Pass `max_size=None` (or a "
        "larger size) to `lab.serve()` to accept it."
    ),
}
"""``"client: <scenario>"`` or ``"server: <scenario>"`` → why wslab deliberately differs there."""

BEYOND_THE_WINDOWS: dict[str, str] = {
    "client: handshake never answered, after 5 s": (
        "Chromium and Node `ws` have no open timeout: they wait as long as TCP lets them. A wslab "
        "client gives up after `open_timeout` (the lab's `timeout`, 5 s by default) with error, close "
        "1006, so a lesson cell never hangs. `lab.connect(url, open_timeout=None)` waits like a browser "
        "(tests/test_client.py::test_open_timeout_is_honoured)."
    ),
    "server: half handshake, after 5 s": (
        "Node's HTTP server drops a request that never completes after its `headersTimeout` (60 s) and "
        "fires no `ws` event. websockets (under wslab) drops it after `open_timeout` (the lab's 5 s) and "
        "wslab records a note that a TCP connection came in, then an error."
    ),
    "both: keepalive pings": (
        "websockets sends a ping every 20 s and fails the connection with 1011 when no pong comes within "
        "20 s: a feature of that library, not of RFC 6455. Browsers cannot send pings at all, and Node `ws` "
        "leaves heartbeats to the application (`ws.ping()` + `terminate()`); wslab describes such a close "
        "as websockets' keepalive giving up (tests/test_heartbeat.py)."
    ),
    "client: close() to a peer that never answers": (
        "Same events everywhere (close 1006, wasClean false, no error), at different times. Chromium fires "
        "that close when its closing handshake times out, about 60 s after `close()` (measured once: "
        "60,212 ms); Node `ws` destroys the socket after its `closeTimeout`, 30 s (measured: 30,011 ms). "
        "A wslab client waits `close_timeout`, the lab's settle time (2 s by default), so a lesson cell "
        "does not hang; `lab.connect(url, close_timeout=60)` waits like Chromium "
        "(tests/test_client.py::test_close_to_a_peer_that_never_answers_ends_with_1006_after_the_settle_time)."
    ),
    "client: the code sent back on invalid UTF-8": (
        "Events agree (error, close 1006), but on the wire Chromium answers 1002 while Node `ws` and "
        "websockets answer 1007 (see the table of what each client sent back)."
    ),
}
"""Differences the scenarios above cannot show in their observation window, and where each is tested."""
