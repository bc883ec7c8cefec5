"""The wire: a relay between clients and a server that shows, and lets you hold, every frame.

``lab.wire(server)`` listens on a port of its own; clients connect to the wire
(``lab.connect(wire)``), the wire connects to the server and passes the bytes on. On the way it
parses both directions with the sans-I/O parser of ``websockets`` (``Frame.parse`` driven by a
``StreamReader``) and records each frame as a ``frame`` event with ``side="wire"``. In pass-through
mode the original bytes go on unchanged; after ``wire.hold()`` every frame waits on the wire until
you decide its fate: deliver, drop, edit, delay, corrupt, or cut the TCP connections.

Frame events carry: ``endpoint`` (the wire's name), ``conn`` (the same id as on both ends),
``peer`` (the name of the end the frame goes to), ``frame`` (a :class:`~wslab.events.FrameInfo`
whose ``direction`` is ``client→server`` or ``server→client``), ``data`` (the payload as the peer
sees it: unmasked, decompressed, text when it is valid UTF-8), ``size`` (that payload's length),
``code``/``reason`` for close frames, and ``detail``: ``None`` when passed through, else
``held``, ``edited``, ``corrupted (…)`` or ``unparsed: …``. The handshake is two ``note`` events
(``data`` = the raw bytes, ``headers``); every step action is a ``note`` whose ``detail`` starts
with its verb (``deliver``, ``drop``, ``edit``, ``delay``, ``corrupt``, ``cut``, ``hold``,
``release``) and whose ``frame`` is the held frame it acted on.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, TypeAlias, TypeVar, cast

from websockets.exceptions import ProtocolError, WebSocketException
from websockets.extensions.base import Extension
from websockets.extensions.permessage_deflate import PerMessageDeflate
from websockets.frames import Close, Frame, Opcode
from websockets.headers import parse_extension
from websockets.http11 import Request, Response
from websockets.streams import StreamReader

from ._endpoint import Endpoint, Pair
from ._redact import redact_headers, redact_http, redact_url
from .describe import close_words, preview
from .errors import WslabError
from .events import Event, FrameInfo, Payload

if TYPE_CHECKING:
    from .lab import Lab
    from .server import Server

__all__ = ["Corruption", "HeldFrame", "Wire"]

Corruption: TypeAlias = Literal["flip-bit", "bad-utf8", "unmask"]
"""How :meth:`Wire.corrupt` breaks a frame: one payload bit, the UTF-8 of a text frame, or the mask bit."""

T = TypeVar("T")

C2S = "client→server"
S2C = "server→client"
_ROLES = {C2S: C2S, S2C: S2C, "client->server": C2S, "server->client": S2C}
_CHUNK = 65536
_VARYING = ("host", "sec-websocket-key", "sec-websocket-accept", "date", "user-agent", "server")
"""Header values that vary per run or machine (port, keys, time, versions): ``handshake()`` hides them."""


class _Tap(Extension):
    """Lets ``Frame.parse`` accept reserved bits (the compressed flag) and keeps the frame as it came."""

    name = "wslab-tap"  # type: ignore[assignment]

    def __init__(self) -> None:
        self.seen: Frame | None = None

    def decode(self, frame: Frame, *, max_size: int | None = None) -> Frame:
        self.seen = frame
        return dataclasses.replace(frame, rsv1=False, rsv2=False, rsv3=False)

    def encode(self, frame: Frame) -> Frame:  # pragma: no cover - the wire never encodes with it
        return frame


@dataclass(eq=False)
class HeldFrame:
    """One frame waiting on the wire: its raw bytes and what they mean."""

    link: _Link = field(repr=False)
    flow: _Flow = field(repr=False)
    raw: bytes = field(repr=False)
    frame: Frame = field(repr=False)
    info: FrameInfo
    data: Payload | None
    code: int | None = None
    reason: str | None = None
    message_end: bool = False  # a data frame with FIN: delivering it completes a message

    @property
    def conn(self) -> str:
        return self.link.conn

    @property
    def direction(self) -> str:
        """``client→server`` or ``server→client``."""
        return self.info.direction

    @property
    def arrow(self) -> str:
        """The direction with the ends' names: ``alice→server``."""
        return self.flow.arrow

    def __repr__(self) -> str:
        text = f"{self.flow.arrow} {self.info.describe()}"
        if self.frame.opcode is Opcode.CLOSE:
            text += f" {close_words(self.code, self.reason)}"
        elif self.frame.opcode not in (Opcode.PING, Opcode.PONG) and self.data is not None:
            text += f" {preview(self.data)}"
        return text


class _Flow:
    """One direction of one link: its parser, its held frames, and whether its end of stream waits."""

    def __init__(self, link: _Link, role: str, reader: asyncio.StreamReader, mask: bool) -> None:
        self.link = link
        self.role = role
        self.src = reader
        self.dst: asyncio.StreamWriter | None = None
        self.mask = mask  # frames in this direction must be masked (client→server)
        self.stream = StreamReader()
        self.raw = bytearray()  # bytes fed and not yet assigned to a frame (ends with stream.buffer)
        self.parser: Generator[None, None, None] | None = None
        self._tap = _Tap()  # the current frame's tap: it has the frame once its bytes are all read
        self.parsed: list[tuple[Frame, bytes, str | None]] = []
        self.decoder: PerMessageDeflate | None = None
        self.broken = False
        self.text_message = False  # the CONT frames that follow belong to a text message
        self.held = 0
        self.last_held = False
        self.eof_waiting = False
        self.eof_sent = False
        self.close_seen = False
        self.messages_held = 0
        self.messages_lost = 0
        self.close_passed = False  # a close frame went on to the other end
        self.close_let_go = False  # a held close frame was delivered: its answer is awaited
        self.pings_let_go = 0  # held pings delivered: their pongs are awaited

    @property
    def partner(self) -> _Flow | None:
        return self.link.s2c if self.role == C2S else self.link.c2s

    def awaiting(self) -> bool:
        partner = self.partner
        if partner is None:
            return False
        return (self.close_let_go and not partner.close_seen) or self.pings_let_go > 0

    @property
    def sender(self) -> str:
        return self.link.client if self.role == C2S else self.link.server

    @property
    def receiver(self) -> str:
        return self.link.server if self.role == C2S else self.link.client

    @property
    def arrow(self) -> str:
        return f"{self.sender}→{self.receiver}"

    def feed(self, data: bytes) -> str | None:
        """Parse what arrived; completed frames go to ``parsed``. Returns an error that stops parsing."""
        self.stream.feed_data(data)
        self.raw.extend(data)
        while True:
            if self.parser is None:
                self.parser = self._parse()
            try:
                next(self.parser)
                return None  # needs more bytes
            except StopIteration:  # pragma: no cover - _parse never returns
                self.parser = None
            except (ProtocolError, ValueError) as exc:
                self.parser = None
                tap_frame = self._tap.seen
                if tap_frame is None:  # not even a header: the stream cannot be split into frames
                    self.broken = True
                    return f"{type(exc).__name__}: {exc}"
                consumed = len(self.raw) - len(self.stream.buffer)
                raw = bytes(self.raw[:consumed])
                del self.raw[:consumed]
                self.parsed.append((tap_frame, raw, f"{exc}"))

    def _parse(self) -> Generator[None, None, None]:
        while True:
            self._tap = _Tap()
            yield from Frame.parse(
                self.stream.read_exact, mask=self.mask, max_size=None, extensions=[self._tap]
            )
            frame = self._tap.seen
            assert frame is not None
            consumed = len(self.raw) - len(self.stream.buffer)
            raw = bytes(self.raw[:consumed])
            del self.raw[:consumed]
            self.parsed.append((frame, raw, None))


class _Link:
    """One client's TCP connection through the wire, and the wire's connection to the server."""

    def __init__(self, wire: Wire, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.wire = wire
        self.conn = "?"
        self.client = "client"
        self.server = wire.server.name
        self.client_writer = writer
        self.server_writer: asyncio.StreamWriter | None = None
        self.c2s = _Flow(self, C2S, reader, mask=True)
        self.s2c: _Flow | None = None
        self.request: bytes = b""
        self.response: bytes = b""
        self.cut = False
        self.closed = False
        self.pair: Pair | None = None
        self.ended = asyncio.Event()

    def check_ended(self) -> None:
        """Both directions passed their end of stream on (or the link was cut): the relay may stop."""
        if self.cut or (self.s2c is not None and self.c2s.eof_sent and self.s2c.eof_sent):
            self.ended.set()

    def flows(self) -> list[_Flow]:
        return [self.c2s] if self.s2c is None else [self.c2s, self.s2c]

    # --- what the lab's settle asks (see Pair.quiet) --------------------------------------------

    def explains(self, pair: Pair) -> bool:
        """True when nothing is in flight: what has not arrived sits on the wire, or died there."""
        if self.cut or (self.c2s.close_passed and self.s2c is not None and self.s2c.close_passed):
            return False  # the TCP connection ends next: wait for both ends to record their close
        if any(f.awaiting() for f in self.flows()) and not self.ended.is_set():
            return False  # a close or ping the wire let go has had no answer yet
        s2c = self.s2c
        held_any = any(f.held for f in self.flows())
        c2s_ok = pair.c2s_sent - pair.c2s_received == self.c2s.messages_held + self.c2s.messages_lost
        if held_any and (pair.server_closed.is_set() or (s2c is not None and s2c.close_seen)):
            c2s_ok = True  # the server will take no more messages
        if s2c is None:
            return c2s_ok and pair.s2c_sent == pair.s2c_received
        s2c_ok = pair.s2c_sent - pair.s2c_received == s2c.messages_held + s2c.messages_lost
        if held_any and self.c2s.close_seen:
            s2c_ok = True  # the client is closing: it will take no more messages
        return c2s_ok and s2c_ok

    def holding(self) -> bool:
        """True when a close frame (or the end of a stream) of this connection waits on the wire."""
        return any(h.link is self and h.frame.opcode is Opcode.CLOSE for h in self.wire._held) or any(
            f.eof_waiting for f in self.flows()
        )


class Wire(Endpoint):
    """A relay in front of a server that records every frame and can hold them; see the module doc."""

    side = "wire"

    def __init__(self, lab: Lab, name: str, server: Server) -> None:
        super().__init__(lab, name)
        self.server = server
        self.host = "127.0.0.1"
        self.port = 0
        self.links: list[_Link] = []
        self._held: list[HeldFrame] = []
        self._holding = False
        self._hold_roles: frozenset[str] | None = None
        self._hold_opcodes: frozenset[str] | None = None
        self._listener: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    # --- public, blocking and async twins -----------------------------------------------------

    @property
    def url(self) -> str:
        """``ws://127.0.0.1:PORT/``: where clients connect (the port varies: don't print it)."""
        return f"ws://{self.host}:{self.port}/"

    @property
    def holding(self) -> bool:
        """True after :meth:`hold`, until :meth:`release`."""
        return self._holding

    @property
    def pending(self) -> list[HeldFrame]:
        """Frames waiting, oldest first: ``[client→server TEXT fin=1 masked len=7 'Bonjour']``."""
        return list(self._held)

    @property
    def frames(self) -> list[Event]:
        """Every frame event this wire recorded (the recorder's ring buffer may have dropped old ones)."""
        return [
            e
            for e in self._lab.recorder.snapshot()
            if e.side == "wire" and e.endpoint == self.name and e.kind == "frame"
        ]

    def hold(self, direction: str | None = None, opcodes: str | Iterable[str] | None = None) -> None:
        """From now on frames wait on the wire (only those of ``direction`` or ``opcodes``, if given)."""
        self._lab._block(self.ahold(direction, opcodes), None, "hold")

    async def ahold(self, direction: str | None = None, opcodes: str | Iterable[str] | None = None) -> None:
        """Async twin of :meth:`hold`."""
        roles: frozenset[str] | None = None
        if direction is not None:
            if direction not in _ROLES:
                raise ValueError(f"direction must be 'client→server' or 'server→client', not {direction!r}")
            roles = frozenset({_ROLES[direction]})
        names: frozenset[str] | None = None
        if opcodes is not None:
            names = frozenset([opcodes.upper()] if isinstance(opcodes, str) else [o.upper() for o in opcodes])
            unknown = names - {o.name for o in Opcode}
            if unknown:
                raise ValueError(
                    f"unknown opcode {sorted(unknown)[0]!r}: expected TEXT, BINARY, CONT, PING, PONG or CLOSE"
                )

        async def start() -> None:
            self._holding, self._hold_roles, self._hold_opcodes = True, roles, names
            what, verb = (
                ("every frame", "waits") if names is None else ("/".join(sorted(names)) + " frames", "wait")
            )
            if roles is not None:
                what += f" going {next(iter(roles))}"
            self._record("note", detail=f"hold: from now on {what} {verb} on the wire")

        await self._lab._on_loop(start())

    def release(self) -> None:
        """Back to pass-through: deliver what is held, in order, and let every frame through."""
        self._lab._block(self.arelease(), None, "release")

    async def arelease(self) -> None:
        """Async twin of :meth:`release`."""

        async def run() -> None:
            self._holding = False
            count = len(self._held)
            held = f"{_count(count, 'held frame')} delivered" if count else "nothing held"
            self._record("note", detail=f"release: pass-through again, {held}")
            while self._held:
                self._deliver(self._held[0], "deliver")
            await self._lab._settle()

        await self._lab._on_loop(run())

    def deliver(self, n: int | None = None) -> None:
        """Deliver the ``n`` oldest held frames (all by default); returns once their effects are recorded."""
        self._lab._block(self.adeliver(n), None, "deliver")

    async def adeliver(self, n: int | None = None) -> None:
        """Async twin of :meth:`deliver`."""

        async def run() -> None:
            self._require_held(0)
            count = len(self._held) if n is None else n
            if count < 1 or count > len(self._held):
                raise ValueError(f"n must be between 1 and {len(self._held)}, not {n}")
            for held in self._held[:count]:
                self._deliver(held, "deliver")
            await self._lab._settle()

        await self._lab._on_loop(run())

    def drop(self, index: int = 0) -> HeldFrame:
        """Throw away one held frame (the oldest by default): the peer never sees it."""
        return self._lab._block(self.adrop(index), None, "drop")

    async def adrop(self, index: int = 0) -> HeldFrame:
        """Async twin of :meth:`drop`."""

        async def run() -> HeldFrame:
            held = self._take(index)
            if held.message_end:
                held.flow.messages_lost += 1
            self._record(
                "note", conn=held.conn, peer=held.flow.receiver, frame=held.info, detail=f"drop {held!r}"
            )
            self._after_take(held.flow)
            await self._lab._settle()
            return held

        return await self._lab._on_loop(run())

    def edit(
        self, payload: Payload | None = None, *, code: int | None = None, reason: str = "", index: int = 0
    ) -> None:
        """Replace a held frame's payload (or a close frame's ``code`` and ``reason``), then deliver it."""
        self._lab._block(self.aedit(payload, code=code, reason=reason, index=index), None, "edit")

    async def aedit(
        self, payload: Payload | None = None, *, code: int | None = None, reason: str = "", index: int = 0
    ) -> None:
        """Async twin of :meth:`edit`."""

        async def run() -> None:
            held = self._require_held(index)
            opcode = held.frame.opcode
            if opcode is Opcode.CLOSE:
                if code is None:
                    raise ValueError("edit a close frame with code= (and reason=)")
                try:
                    data = Close(code, reason).serialize()
                except ProtocolError as exc:
                    raise WslabError(f"{code} cannot be sent in a close frame ({exc})") from None
            else:
                if payload is None:
                    raise ValueError("edit needs the new payload")
                data = payload.encode("utf-8") if isinstance(payload, str) else bytes(payload)
                if opcode in (Opcode.TEXT, Opcode.BINARY):
                    opcode = Opcode.TEXT if isinstance(payload, str) else Opcode.BINARY
            new = Frame(opcode, data, held.frame.fin)
            raw = new.serialize(mask=held.flow.mask)
            self._take(index)
            self._record(
                "note", conn=held.conn, peer=held.flow.receiver, frame=held.info, detail=f"edit {held!r}"
            )
            await self._send_new(held, new, raw, "edited")
            await self._lab._settle()

        await self._lab._on_loop(run())

    def delay(self, seconds: float, index: int = 0) -> None:
        """Deliver one held frame ``seconds`` from now; returns when its effects are recorded."""
        self._lab._block(
            self.adelay(seconds, index), seconds + self._lab.timeout + self._lab.settle_timeout, "delay"
        )

    async def adelay(self, seconds: float, index: int = 0) -> None:
        """Async twin of :meth:`delay`."""

        async def run() -> None:
            held = self._require_held(index)
            if seconds < 0:
                raise ValueError("seconds must be positive")
            self._record(
                "note",
                conn=held.conn,
                peer=held.flow.receiver,
                frame=held.info,
                detail=f"delay {seconds:g} s {held!r}",
            )
            await asyncio.sleep(seconds)
            if held in self._held:
                self._deliver(held, "deliver")
            await self._lab._settle()

        await self._lab._on_loop(run())

    def corrupt(self, how: Corruption = "flip-bit", index: int = 0) -> None:
        """Break a held frame, then deliver it: ``flip-bit``, ``bad-utf8`` (text frames) or ``unmask``."""
        self._lab._block(self.acorrupt(how, index), None, "corrupt")

    async def acorrupt(self, how: Corruption = "flip-bit", index: int = 0) -> None:
        """Async twin of :meth:`corrupt`."""

        async def run() -> None:
            held = self._require_held(index)
            frame, flow = held.frame, held.flow
            masked = flow.mask
            if how == "flip-bit":
                if not frame.data:
                    raise WslabError("this frame has no payload to corrupt")
                raw = bytearray(held.raw)
                raw[_payload_offset(held.raw)] ^= 0x01  # masking is XOR: the same bit flips in the payload
                new = dataclasses.replace(frame, data=bytes([frame.data[0] ^ 0x01]) + bytes(frame.data[1:]))
                out = bytes(raw)
            elif how == "bad-utf8":
                if not (frame.opcode is Opcode.TEXT or (frame.opcode is Opcode.CONT and flow.text_message)):
                    raise WslabError("bad-utf8 corrupts text frames only")
                new = Frame(frame.opcode, b"\xff" + _message_bytes(held)[1:], frame.fin)
                out = new.serialize(mask=masked)
            elif how == "unmask":
                new = frame
                masked = not flow.mask
                plain = dataclasses.replace(frame, rsv1=False, rsv2=False, rsv3=False)
                serialized = bytearray(plain.serialize(mask=masked))
                serialized[0] = held.raw[0]  # keep FIN, RSV and opcode exactly as they were
                out = bytes(serialized)
            else:
                raise ValueError(f"how must be 'flip-bit', 'bad-utf8' or 'unmask', not {how!r}")
            self._take(index)
            self._record(
                "note",
                conn=held.conn,
                peer=flow.receiver,
                frame=held.info,
                detail=f"corrupt ({how}) {held!r}",
            )
            await self._send_new(held, new, out, f"corrupted ({how})")
            await self._lab._settle()

        await self._lab._on_loop(run())

    def cut(self, conn: str | None = None) -> None:
        """Close the TCP connections on both sides (of ``conn``, or of every link): no close frame, 1006."""
        self._lab._block(self.acut(conn), None, "cut")

    async def acut(self, conn: str | None = None) -> None:
        """Async twin of :meth:`cut`."""

        async def run() -> None:
            links = [k for k in self.links if not k.closed and (conn is None or k.conn == conn)]
            if not links:
                raise WslabError("no open connection on this wire" + (f" with id {conn!r}" if conn else ""))
            for link in links:
                lost = [h for h in self._held if h.link is link]
                for held in lost:
                    self._held.remove(held)
                    if held.message_end:
                        held.flow.messages_held -= 1
                        held.flow.messages_lost += 1
                    held.flow.held -= 1
                words = f"cut {link.conn}: both TCP connections closed, no close frame"
                if lost:
                    words += f"; {_count(len(lost), 'held frame')} lost: " + "; ".join(repr(h) for h in lost)
                self._record("note", conn=link.conn, detail=words)
                link.cut = True
                link.ended.set()
                for writer in (link.client_writer, link.server_writer):
                    if writer is not None:
                        writer.transport.abort()
            self._lab._changed()
            await self._lab._settle()

        await self._lab._on_loop(run())

    def handshake(self, conn: str | None = None) -> str:
        """The opening handshake as it crossed the wire, with values that vary per run shown as ``…``."""
        links = [k for k in self.links if conn is None or k.conn == conn]
        if not links:
            raise WslabError("no connection went through this wire" + (f" with id {conn!r}" if conn else ""))
        link = links[-1] if conn is None else links[0]
        parts = []
        for arrow, raw in (
            (f"{link.client}→{link.server}", link.request),
            (f"{link.server}→{link.client}", link.response),
        ):
            parts.append(f"--- {arrow} ({'request' if arrow.startswith(link.client) else 'response'})")
            parts.extend(_stable_lines(raw))
        return "\n".join(parts)

    def __repr__(self) -> str:
        mode = "holding" if self._holding else "pass-through"
        held, links = len(self._held), len(self.links)
        return f"<Wire {self.name!r} → {self.server.name!r}, {mode}, {held} held, {links} links>"

    # --- in the loop --------------------------------------------------------------------------

    async def _start(self) -> None:
        self._listener = await asyncio.start_server(self._accept, self.host, 0)
        self.port = int(next(iter(self._listener.sockets)).getsockname()[1])

    def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.get_running_loop().create_task(
            self._relay(reader, writer), name=f"wslab-{self.name}-link"
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        link = _Link(self, reader, writer)
        self.links.append(link)
        try:
            await self._handshake(link)
        except Exception as exc:  # a relay never dies of what crossed it: record and close
            self._record("error", conn=link.conn, error=f"relay failed: {type(exc).__name__}: {exc}", exc=exc)
        finally:
            link.closed = True
            for w in (link.client_writer, link.server_writer):
                if w is not None:
                    w.close()
                    with contextlib.suppress(Exception):
                        await w.wait_closed()
            for held in [h for h in self._held if h.link is link]:
                self._held.remove(held)
                self._record(
                    "note",
                    conn=link.conn,
                    frame=held.info,
                    detail=f"connection closed: never delivered {held!r}",
                )
            self._lab._changed()

    async def _handshake(self, link: _Link) -> None:
        flow = link.c2s
        request = await self._read_http(flow, lambda s: Request.parse(s.read_line))
        if request is None:
            return
        request_raw = _take_raw(flow)
        peername = link.client_writer.get_extra_info("peername")
        found = self._lab._expected.pop((str(peername[0]), int(peername[1])), None) if peername else None
        if found is not None:
            link.conn, link.client = found
        else:
            link.conn = self._lab._new_conn_id()
            link.client = f"peer-{link.conn}"
        link.pair = self._lab._pairs.get(link.conn)
        if link.pair is not None:
            link.pair.wire = link
        s_reader, s_writer = await asyncio.open_connection(self.server.host, self.server.port)
        link.server_writer = s_writer
        local = s_writer.get_extra_info("sockname")
        self._lab._expected[(str(local[0]), int(local[1]))] = (link.conn, link.client)
        link.request = request_raw
        self._record(
            "note",
            conn=link.conn,
            peer=link.server,
            data=redact_http(request_raw),
            size=len(request_raw),
            headers=redact_headers(tuple(request.headers.raw_items())),
            detail=f"HTTP request {link.client}→{link.server}: GET {redact_url(request.path)} HTTP/1.1 "
            f"({len(request.headers)} headers)",
        )
        s_writer.write(request_raw)
        link.s2c = back = _Flow(link, S2C, s_reader, mask=False)
        flow.dst, back.dst = s_writer, link.client_writer

        def parse_response(s: StreamReader) -> Generator[None, None, Response]:
            return Response.parse(s.read_line, s.read_exact, s.read_to_eof)

        response = await self._read_http(back, parse_response)
        if response is None:
            return
        response_raw = _take_raw(back)
        link.response = response_raw
        self._record(
            "note",
            conn=link.conn,
            peer=link.client,
            data=redact_http(response_raw),
            size=len(response_raw),
            headers=redact_headers(tuple(response.headers.raw_items())),
            detail=f"HTTP response {link.server}→{link.client}: {response.status_code} "
            f"{response.reason_phrase} ({len(response.headers)} headers)",
        )
        link.client_writer.write(response_raw)
        if response.status_code != 101:
            flow.broken = back.broken = True
        else:
            _negotiate(link, response)
        await asyncio.gather(self._pump(flow), self._pump(back))
        await link.ended.wait()

    async def _read_http(
        self, flow: _Flow, parse: Callable[[StreamReader], Generator[None, None, T]]
    ) -> T | None:
        """Run a sans-I/O HTTP parser on one direction until it returns; None if the stream was no HTTP."""
        gen = parse(flow.stream)
        try:
            next(gen)
            while True:
                try:
                    data = await flow.src.read(_CHUNK)
                except OSError:
                    data = b""
                if data:
                    flow.stream.feed_data(data)
                    flow.raw.extend(data)
                else:
                    flow.stream.feed_eof()
                next(gen)
        except StopIteration as stop:
            return cast(T, stop.value)
        except (EOFError, ValueError, NotImplementedError, WebSocketException) as exc:
            self._record("error", conn=flow.link.conn, error=f"no HTTP handshake {flow.role}: {exc}", exc=exc)
            return None

    async def _pump(self, flow: _Flow) -> None:
        """Read one direction; parse, record, forward or hold each frame; then pass the end of stream on."""
        if flow.raw:  # bytes that came right behind the handshake
            await self._bytes(flow, b"")
        while not flow.link.cut:
            try:
                data = await flow.src.read(_CHUNK)
            except (ConnectionError, OSError):
                data = b""
            if not data:
                break
            await self._bytes(flow, data)
        if flow.link.cut:
            return
        if flow.held and flow.last_held:
            flow.eof_waiting = True  # the end of the stream comes after the frames held before it
            self._lab._changed()
        else:
            self._send_eof(flow)

    async def _bytes(self, flow: _Flow, data: bytes) -> None:
        if flow.broken:
            rest = bytes(flow.raw) + data
            flow.raw.clear()
            flow.stream.buffer.clear()
            self._forward(flow, rest)
            return
        error = flow.feed(data)
        parsed, flow.parsed = flow.parsed, []
        for frame, raw, problem in parsed:
            await self._frame(flow, frame, raw, problem)
        if error is not None:
            rest = bytes(flow.raw)
            flow.raw.clear()
            await self._emit(
                "error",
                conn=flow.link.conn,
                peer=flow.receiver,
                error=f"the wire cannot parse {flow.arrow} any more ({error}): it passes the bytes on as is",
            )
            self._forward(flow, rest)

    async def _frame(self, flow: _Flow, frame: Frame, raw: bytes, problem: str | None) -> None:
        data, size, code, reason = self._meaning(flow, frame)
        hold = self._should_hold(flow, frame)
        info = _info(flow.role, frame, raw)
        await self._emit(
            "frame",
            conn=flow.link.conn,
            peer=flow.receiver,
            data=data,
            size=size,
            code=code,
            reason=reason,
            frame=info,
            detail="held" if hold else ("unparsed: " + problem if problem else None),
        )
        if frame.opcode is Opcode.CLOSE:
            flow.close_seen = True
        partner = flow.partner
        if frame.opcode is Opcode.PONG and partner is not None and partner.pings_let_go:
            partner.pings_let_go -= 1
        message_end = frame.fin and frame.opcode in (Opcode.TEXT, Opcode.BINARY, Opcode.CONT)
        flow.last_held = hold
        if hold:
            held = HeldFrame(flow.link, flow, raw, frame, info, data, code, reason, message_end)
            self._held.append(held)
            flow.held += 1
            if message_end:
                flow.messages_held += 1
            self._lab._changed()
        elif self._forward(flow, raw) and frame.opcode is Opcode.CLOSE:
            flow.close_passed = True

    def _meaning(self, flow: _Flow, frame: Frame) -> tuple[Payload | None, int, int | None, str | None]:
        """The payload as the receiving end sees it: unmasked, decompressed, text when it is text."""
        opcode = frame.opcode
        if opcode is Opcode.CLOSE:
            try:
                close = Close.parse(frame.data)
                return None, len(frame.data), int(close.code), close.reason
            except (ProtocolError, UnicodeDecodeError):
                return bytes(frame.data), len(frame.data), None, None
        payload = bytes(frame.data)
        if flow.decoder is not None and opcode in (Opcode.TEXT, Opcode.BINARY, Opcode.CONT):
            with contextlib.suppress(Exception):  # the receiving end will say what is wrong
                payload = bytes(flow.decoder.decode(frame).data)
        if opcode is Opcode.TEXT:
            flow.text_message = not frame.fin
        elif opcode is Opcode.BINARY:
            flow.text_message = False
        is_text = opcode is Opcode.TEXT or (opcode is Opcode.CONT and flow.text_message)
        if opcode is Opcode.CONT and frame.fin:
            flow.text_message = False
        if is_text:
            try:
                return payload.decode("utf-8"), len(payload), None, None
            except UnicodeDecodeError:
                pass
        return payload, len(payload), None, None

    def _should_hold(self, flow: _Flow, frame: Frame) -> bool:
        if not self._holding:
            return False
        if self._hold_roles is not None and flow.role not in self._hold_roles:
            return False
        return self._hold_opcodes is None or frame.opcode.name in self._hold_opcodes

    def _forward(self, flow: _Flow, raw: bytes) -> bool:
        writer = flow.dst
        if writer is None or writer.is_closing() or flow.link.cut or flow.eof_sent:
            return False
        writer.write(raw)
        return True

    def _send_eof(self, flow: _Flow) -> None:
        writer = flow.dst
        flow.eof_waiting = False
        if writer is None or flow.eof_sent or writer.is_closing():
            flow.eof_sent = True
            flow.link.check_ended()
            return
        flow.eof_sent = True
        flow.link.check_ended()
        with contextlib.suppress(OSError, RuntimeError):
            if writer.can_write_eof():
                writer.write_eof()
            else:  # pragma: no cover - TCP can always half-close
                writer.close()

    def _let_go(self, flow: _Flow, frame: Frame) -> None:
        """A held close or ping goes on: the lab's settle waits for its answer."""
        partner = flow.partner
        if partner is None or partner.close_seen or flow.link.cut:
            return
        if frame.opcode is Opcode.CLOSE:
            flow.close_let_go = True
        elif frame.opcode is Opcode.PING:
            flow.pings_let_go += 1

    def _require_held(self, index: int) -> HeldFrame:
        if not self._held:
            raise WslabError("no frame is held on the wire: call wire.hold() first, then send")
        if not -len(self._held) <= index < len(self._held):
            raise IndexError(f"only {len(self._held)} frames are held on the wire")
        return self._held[index]

    def _take(self, index: int) -> HeldFrame:
        held = self._require_held(index)
        self._held.remove(held)
        held.flow.held -= 1
        if held.message_end:
            held.flow.messages_held -= 1
        return held

    def _after_take(self, flow: _Flow) -> None:
        if flow.eof_waiting and flow.held == 0:
            self._send_eof(flow)
        self._lab._changed()

    def _deliver(self, held: HeldFrame, verb: str) -> None:
        self._take(self._held.index(held))
        self._let_go(held.flow, held.frame)
        if self._forward(held.flow, held.raw):
            held.flow.close_passed |= held.frame.opcode is Opcode.CLOSE
            self._record(
                "note", conn=held.conn, peer=held.flow.receiver, frame=held.info, detail=f"{verb} {held!r}"
            )
        else:
            if held.message_end:
                held.flow.messages_lost += 1
            self._record(
                "note",
                conn=held.conn,
                peer=held.flow.receiver,
                frame=held.info,
                detail=f"not delivered, the connection is closed: {held!r}",
            )
        self._after_take(held.flow)

    async def _send_new(self, held: HeldFrame, new: Frame, raw: bytes, status: str) -> None:
        """Record and forward a frame the wire made in place of a held one."""
        flow = held.flow
        self._let_go(flow, new)
        info = dataclasses.replace(
            _info(flow.role, new, raw),
            rsv1=bool(raw[0] & 0x40),
        )
        text = new.opcode is Opcode.TEXT or (new.opcode is Opcode.CONT and isinstance(held.data, str))
        data, size, code, reason = _plain_meaning(new, text)
        await self._emit(
            "frame",
            conn=held.conn,
            peer=flow.receiver,
            data=data,
            size=size,
            code=code,
            reason=reason,
            frame=info,
            detail=status,
        )
        if not self._forward(flow, raw):
            if held.message_end:
                flow.messages_lost += 1
        elif new.opcode is Opcode.CLOSE:
            flow.close_passed = True
        self._after_take(flow)

    def _abandon(self) -> None:
        """The lab is closing: report what is still held and drop it, but let close frames go."""
        self._holding = False
        lost = [h for h in self._held if h.frame.opcode is not Opcode.CLOSE]
        if lost:
            self._record(
                "note",
                detail=f"lab closing: {_count(len(lost), 'held frame')} never delivered: "
                + "; ".join(repr(h) for h in lost),
            )
        while self._held:
            held = self._held[0]
            if held.frame.opcode is Opcode.CLOSE:  # so that the connection can still close cleanly
                self._deliver(held, "lab closing: deliver")
            else:
                self._take(0)
                if held.message_end:
                    held.flow.messages_lost += 1
                self._after_take(held.flow)
        for link in self.links:
            for flow in link.flows():
                if flow.eof_waiting:
                    self._send_eof(flow)

    async def _stop(self) -> None:
        """Stop listening and end every link (after the lab closed its clients and servers)."""
        if self._listener is not None:
            self._listener.close()
        for link in self.links:
            link.cut = True
            link.ended.set()
            for writer in (link.client_writer, link.server_writer):
                if writer is not None and not writer.is_closing():
                    writer.transport.abort()
        if self._tasks:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._lab.timeout):
                    await asyncio.gather(*self._tasks, return_exceptions=True)
        for task in list(self._tasks):
            task.cancel()
        if self._listener is not None:
            await self._listener.wait_closed()
            self._listener = None


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _take_raw(flow: _Flow) -> bytes:
    """The bytes a handshake parser consumed; what follows stays for the frame parser."""
    consumed = len(flow.raw) - len(flow.stream.buffer)
    raw = bytes(flow.raw[:consumed])
    del flow.raw[:consumed]
    return raw


def _negotiate(link: _Link, response: Response) -> None:
    """Set up a decoder per direction if the handshake agreed on permessage-deflate."""
    header = response.headers.get("Sec-WebSocket-Extensions")
    if not header:
        return
    for name, params in parse_extension(header):
        if name != "permessage-deflate":
            continue
        values = dict(params)
        server_nct = "server_no_context_takeover" in values
        client_nct = "client_no_context_takeover" in values
        server_bits = int(values.get("server_max_window_bits") or 15)
        client_bits = int(values.get("client_max_window_bits") or 15)
        # Decode client→server frames as the server does, server→client frames as the client does.
        link.c2s.decoder = PerMessageDeflate(client_nct, server_nct, client_bits, server_bits)
        assert link.s2c is not None
        link.s2c.decoder = PerMessageDeflate(server_nct, client_nct, server_bits, client_bits)
        return


def _payload_offset(raw: bytes) -> int:
    """Where the payload starts in a frame's bytes (after the length and the mask key)."""
    length = raw[1] & 0x7F
    offset = 2 + (2 if length == 126 else 8 if length == 127 else 0)
    return offset + (4 if raw[1] & 0x80 else 0)


def _info(role: str, frame: Frame, raw: bytes) -> FrameInfo:
    masked = bool(raw[1] & 0x80)
    offset = _payload_offset(raw)
    return FrameInfo(
        direction=role,
        opcode=frame.opcode.name,
        fin=frame.fin,
        rsv1=frame.rsv1,
        rsv2=frame.rsv2,
        rsv3=frame.rsv3,
        masked=masked,
        mask_key=raw[offset - 4 : offset].hex() if masked else None,
        length=len(raw) - offset,
    )


def _message_bytes(held: HeldFrame) -> bytes:
    data = held.data
    if isinstance(data, str):
        return data.encode("utf-8")
    return bytes(data or b"")


def _plain_meaning(frame: Frame, text: bool) -> tuple[Payload | None, int, int | None, str | None]:
    if frame.opcode is Opcode.CLOSE:
        try:
            close = Close.parse(frame.data)
            return None, len(frame.data), int(close.code), close.reason
        except (ProtocolError, UnicodeDecodeError):
            return bytes(frame.data), len(frame.data), None, None
    payload = bytes(frame.data)
    if text:
        try:
            return payload.decode("utf-8"), len(payload), None, None
        except UnicodeDecodeError:
            pass
    return payload, len(payload), None, None


def _stable_lines(raw: bytes) -> list[str]:
    """HTTP head lines, with the values that change on every run replaced by ``…``."""
    lines = raw.decode("iso-8859-1").split("\r\n")
    out = []
    for line in lines:
        name, colon, _ = line.partition(":")
        if colon and name.strip().lower() in _VARYING:
            out.append(f"{name}: …")
        elif line:
            out.append(line)
    return out
