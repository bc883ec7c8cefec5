"""The wire's relay: both directions of each connection, frame by frame, forwarded or held.

Each accepted TCP connection is a :class:`Link` with one :class:`Flow` per direction. Every frame
is parsed (:mod:`wslab.wire.frames`), recorded, and forwarded or held (:mod:`wslab.wire.held`); the
opening handshake before it is :mod:`wslab.wire.opening`'s.
"""

from __future__ import annotations

import asyncio
import contextlib

from websockets.frames import Frame, Opcode

from .._endpoint import Pair
from ..i18n import N_, _
from .frames import C2S, DATA, Meaning, Parsed, Reader, close_meaning, frame_info, held_frames, plain_meaning
from .held import Steps
from .state import Closing, Eof, FlowState, HeldFrame

__all__ = ["CHUNK", "Flow", "Link", "Relay"]

CHUNK = 65536


class Flow:
    """One direction of one link: where bytes come from and go, its reader, and its state row."""

    def __init__(self, link: Link, role: str, src: asyncio.StreamReader, mask: bool) -> None:
        self.link = link
        self.role = role
        self.src = src
        self.dst: asyncio.StreamWriter | None = None
        self.reader = Reader(role, mask)
        self.state = FlowState()
        self.reencoding = False  # the message under way is being compressed again by the wire
        self.tail = b""  # the bytes of a frame cut short by the end of the stream

    @property
    def partner(self) -> Flow | None:
        return self.link.s2c if self.role == C2S else self.link.c2s

    def awaiting(self) -> bool:
        """A close or ping the wire let go has had no answer yet."""
        partner = self.partner
        if partner is None:
            return False
        released = self.state.closing is Closing.RELEASED and partner.state.closing is Closing.NONE
        return released or self.state.pings_released > 0

    def diverge(self, meaning: Meaning) -> None:
        """A compressed message did not reach the receiver as sent: re-compress from now on."""
        deflate = self.reader.deflate
        if deflate is not None and meaning.compressed:
            deflate.diverged = True

    @property
    def sender(self) -> str:
        return self.link.client if self.role == C2S else self.link.server

    @property
    def receiver(self) -> str:
        return self.link.server if self.role == C2S else self.link.client

    @property
    def arrow(self) -> str:
        return f"{self.sender}→{self.receiver}"


class Link:
    """One client's TCP connection through the wire, and the wire's connection to the server."""

    def __init__(
        self, relay: Relay, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, server: str
    ) -> None:
        self.relay = relay
        self.conn = "?"
        self.client = "client"
        self.server = server
        self.client_writer = writer
        self.server_writer: asyncio.StreamWriter | None = None
        self.c2s = Flow(self, C2S, reader, mask=True)
        self.s2c: Flow | None = None
        self.request: bytes = b""
        self.response: bytes = b""
        self.cut = False
        self.closed = False
        self.pair: Pair | None = None
        self.ended = asyncio.Event()
        self.closed_by_wire = False  # the wire sent both ends a close frame: nothing more goes on

    def check_ended(self) -> None:
        """Both directions passed their end of stream on (or the link was cut): the relay may stop."""
        sent = self.s2c is not None and self.c2s.state.eof is Eof.SENT and self.s2c.state.eof is Eof.SENT
        if self.cut or sent:
            self.ended.set()

    def flows(self) -> list[Flow]:
        return [self.c2s] if self.s2c is None else [self.c2s, self.s2c]

    def table(self) -> list[dict[str, object]]:
        """The state of both directions as rows (what :meth:`explains` reads)."""
        return [{"conn": self.conn, "direction": f.role, **f.state.row()} for f in self.flows()]

    # --- what the lab's settle asks (see Pair.quiet) --------------------------------------------

    def explains(self, pair: Pair) -> bool:
        """True when nothing is in flight: what has not arrived sits on the wire, or died there."""
        passed = (Closing.PASSED, Closing.RELEASED)
        s2c = self.s2c
        if self.cut or (self.c2s.state.closing in passed and s2c is not None and s2c.state.closing in passed):
            return False  # the TCP connection ends next: wait for both ends to record their close
        if any(f.awaiting() for f in self.flows()) and not self.ended.is_set():
            return False  # a close or ping the wire let go has had no answer yet
        if pair.server is None:
            return True  # the server is not the lab's: nothing else to count
        c2s = self.c2s.state
        held_any = any(f.state.held for f in self.flows())
        c2s_ok = pair.c2s_sent - pair.c2s_received == c2s.messages_held + c2s.messages_lost
        if held_any and (
            pair.server_closed.is_set() or (s2c is not None and s2c.state.closing is not Closing.NONE)
        ):
            c2s_ok = True  # the server will take no more messages
        if s2c is None:
            return c2s_ok and pair.s2c_sent == pair.s2c_received
        s2c_ok = pair.s2c_sent - pair.s2c_received == s2c.state.messages_held + s2c.state.messages_lost
        if held_any and c2s.closing is not Closing.NONE:
            s2c_ok = True  # the client is closing: it will take no more messages
        return c2s_ok and s2c_ok

    def holding(self) -> bool:
        """True when a close frame (or the end of a stream) of this connection waits on the wire."""
        held = self.relay._held
        close_held = any(h.link is self and h.frame.opcode is Opcode.CLOSE for h in held)
        return close_held or any(f.state.eof is Eof.WAITING for f in self.flows())


class Relay(Steps):
    """Frames both ways (see the module doc); :class:`~wslab.wire.opening.Opening` starts each link."""

    async def _pump(self, flow: Flow) -> None:
        """Read one direction; parse, record, forward or hold each frame; then pass the end of stream on."""
        if flow.reader.raw:  # bytes that came right behind the handshake
            await self._bytes(flow, b"")
        while not flow.link.cut:
            try:
                data = await flow.src.read(CHUNK)
            except (ConnectionError, OSError):
                data = b""
            if not data:
                break
            await self._bytes(flow, data)
        if flow.link.cut:
            return
        flow.tail = flow.reader.rest()  # an unfinished frame: the receiver gets its bytes, then the end
        if flow.state.held and flow.state.last_held:
            flow.state.eof = Eof.WAITING  # the end of the stream comes after the frames held before it
            self._ctx.session.changed()
        else:
            self._send_eof(flow)

    async def _bytes(self, flow: Flow, data: bytes) -> None:
        reader = flow.reader
        if reader.broken:
            self._transmit(flow, reader.rest() + data)
            return
        parsed, error = reader.feed(data)
        for item in parsed:
            await self._frame(flow, item)
        if error is not None:
            lost = _("the wire cannot parse {arrow} any more ({problem}): it passes the bytes on as is")
            words = lost.format(arrow=flow.arrow, problem=error)
            await self._emit("error", conn=flow.link.conn, peer=flow.receiver, error=words)
            self._transmit(flow, reader.rest())

    async def _frame(self, flow: Flow, item: Parsed) -> None:
        frame, raw, state = item.frame, item.raw, flow.state
        meaning = flow.reader.meaning(frame)
        state.frames += 1
        hold = self._should_hold(flow, frame)
        out = raw if hold else self._outgoing(flow, item, meaning, state.frames)
        detail = "held" if hold else ("unparsed: " + item.problem if item.problem else None)
        if out is not raw:
            detail = f"re-compressed by the wire: {len(out)} bytes went on"
        if flow.link.closed_by_wire:
            hold, out, detail = False, b"", "not passed on: the wire closed this connection"
        await self._emit(
            "frame",
            conn=flow.link.conn,
            peer=flow.receiver,
            data=meaning.data,
            size=meaning.size,
            code=meaning.code,
            reason=meaning.reason,
            frame=frame_info(flow.role, frame, raw),
            detail=detail,
        )
        if frame.opcode is Opcode.CLOSE and state.closing is Closing.NONE:
            state.closing = Closing.SEEN
        partner = flow.partner
        if frame.opcode is Opcode.PONG and partner is not None and partner.state.pings_released:
            partner.state.pings_released -= 1
        state.last_held = hold
        if hold:
            held = HeldFrame(
                flow.link, flow, raw, frame, frame_info(flow.role, frame, raw), meaning, state.frames
            )
            self._held.append(held)
            state.held += 1
            if held.message_end:
                state.messages_held += 1
            self._ctx.session.changed()
        elif out and self._transmit(flow, out) and frame.opcode is Opcode.CLOSE:
            state.closing = Closing.PASSED

    def _outgoing(self, flow: Flow, item: Parsed, meaning: Meaning, number: int) -> bytes:
        """The bytes that go on for a frame the wire did not change: its own, or compressed again."""
        deflate, frame = flow.reader.deflate, item.frame
        if deflate is None or frame.opcode not in DATA or item.problem:
            return item.raw
        if any(h.flow is flow and h.number < number and h.meaning.compressed for h in self._held):
            deflate.diverged = True  # it overtakes a compressed message still held: the order changed
        if frame.opcode is not Opcode.CONT:
            flow.reencoding = deflate.reencodes and meaning.compressed
            if not flow.reencoding:
                deflate.passed_on(frame)
        if not flow.reencoding:
            return item.raw
        return deflate.serialize(Frame(frame.opcode, meaning.plain, frame.fin), True, flow.reader.mask)

    def _encode(self, flow: Flow, frame: Frame, compress: bool) -> bytes:
        deflate = flow.reader.deflate
        if deflate is None:
            return frame.serialize(mask=flow.reader.mask)
        return deflate.serialize(frame, compress, flow.reader.mask)

    def _should_hold(self, flow: Flow, frame: Frame) -> bool:
        if not self._holding:
            return False
        if self._hold_roles is not None and flow.role not in self._hold_roles:
            return False
        return self._hold_opcodes is None or frame.opcode.name in self._hold_opcodes

    def _transmit(self, flow: Flow, raw: bytes) -> bool:
        writer = flow.dst
        if writer is None or writer.is_closing() or flow.link.cut or flow.state.eof is Eof.SENT:
            return False
        writer.write(raw)
        return True

    def _send_eof(self, flow: Flow) -> None:
        writer = flow.dst
        already = flow.state.eof is Eof.SENT
        if flow.tail and not already:
            self._transmit(flow, flow.tail)
        flow.state.eof = Eof.SENT
        flow.link.check_ended()
        if writer is None or already or writer.is_closing():
            return
        with contextlib.suppress(OSError, RuntimeError):
            if writer.can_write_eof():
                writer.write_eof()
            else:  # pragma: no cover - TCP can always half-close
                writer.close()

    def _passed(self, flow: Flow, frame: Frame, held: bool) -> None:
        """A close or ping went on: when it was held, the lab's settle waits for its answer."""
        partner = flow.partner
        waits = held and partner is not None and partner.state.closing is Closing.NONE and not flow.link.cut
        if frame.opcode is Opcode.CLOSE:
            flow.state.closing = Closing.RELEASED if waits else Closing.PASSED
        elif frame.opcode is Opcode.PING and waits:
            flow.state.pings_released += 1

    def _take(self, held: HeldFrame) -> None:
        self._held.remove(held)
        held.flow.state.held -= 1
        if held.message_end:
            held.flow.state.messages_held -= 1

    def _after_take(self, flow: Flow) -> None:
        if flow.state.eof is Eof.WAITING and flow.state.held == 0:
            self._send_eof(flow)
        self._ctx.session.changed()

    def _deliver(self, held: HeldFrame, verb: str) -> None:
        self._take(held)
        flow = held.flow
        out = self._outgoing(flow, Parsed(held.frame, held.raw), held.meaning, held.number)
        if self._transmit(flow, out):
            self._passed(flow, held.frame, held=True)
            how = f" (re-compressed: {len(out)} bytes went on)" if out is not held.raw else ""
            self._record(
                "note", conn=held.conn, peer=flow.receiver, frame=held.info, detail=f"{verb}{how} {held!r}"
            )
        else:
            if held.message_end:
                flow.state.messages_lost += 1
            self._record(
                "note",
                conn=held.conn,
                peer=flow.receiver,
                frame=held.info,
                detail=_("not delivered, the connection is closed: {frame}").format(frame=repr(held)),
            )
        self._after_take(flow)

    async def _send_new(
        self, flow: Flow, new: Frame, status: str, held: HeldFrame | None, raw: bytes
    ) -> None:
        """Record and forward a frame the wire made (in place of ``held``, or injected)."""
        text = new.opcode is Opcode.TEXT or (
            new.opcode is Opcode.CONT and held is not None and held.meaning.text
        )
        payload = bytes(new.data)
        meaning = close_meaning(payload) if new.opcode is Opcode.CLOSE else plain_meaning(payload, text)
        await self._emit(
            "frame",
            conn=flow.link.conn,
            peer=flow.receiver,
            data=meaning.data,
            size=meaning.size,
            code=meaning.code,
            reason=meaning.reason,
            frame=frame_info(flow.role, new, raw),
            detail=status,
        )
        if self._transmit(flow, raw):
            self._passed(flow, new, held=True)
        elif held is not None and held.message_end:
            flow.state.messages_lost += 1
        if held is not None:
            self._after_take(flow)
        else:
            self._ctx.session.changed()

    def _cut(self, link: Link) -> None:
        link.cut = True
        link.ended.set()
        for writer in (link.client_writer, link.server_writer):
            if writer is not None:
                writer.transport.abort()

    def _abandon(self, why: str = N_("lab closing")) -> None:
        """The lab (``why``) is closing: report what is still held and drop it, but let close frames go."""
        self._holding = False
        lost = [h for h in self._held if h.frame.opcode is not Opcode.CLOSE]
        if lost:
            self._record(
                "note",
                detail=_("{why}: {held} never delivered: {frames}").format(
                    why=_(why), held=held_frames(len(lost)), frames="; ".join(repr(h) for h in lost)
                ),
            )
        while self._held:
            held = self._held[0]
            if held.frame.opcode is Opcode.CLOSE:  # so that the connection can still close cleanly
                self._deliver(held, f"{why}: deliver")
            else:
                self._take(held)
                if held.message_end:
                    held.flow.state.messages_lost += 1
                self._after_take(held.flow)
        for link in self.links:
            for flow in link.flows():
                if flow.state.eof is Eof.WAITING:
                    self._send_eof(flow)
