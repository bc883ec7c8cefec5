"""What a learner does with the frames held on the wire (the frames and each direction's state: state.py).

:class:`Steps` holds the public step actions (``hold``, ``deliver``, ``drop``, ``edit``, ``inject``,
``delay``, ``corrupt``, ``cut``, ``release``); the bytes they send go through the relay
(:mod:`wslab.wire.relay`), which decides whether a frame goes on as it came or is compressed again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import TYPE_CHECKING

from websockets.exceptions import ProtocolError
from websockets.frames import Close, Frame, Opcode

from .._bridge import twin
from .._endpoint import Endpoint
from ..describe import close_words, preview
from ..errors import WslabError
from ..events import Payload
from ..i18n import N_, _, ngettext
from .frames import C2S, ROLES, Corruption, flip_first_bit, held_frames, unmasked
from .state import Closing, Eof, HeldFrame

if TYPE_CHECKING:
    from .relay import Flow, Link

__all__ = ["Steps"]


class Steps(Endpoint):
    """The step actions of :class:`~wslab.wire.Wire`; the relay I/O they need is in its subclass."""

    links: list[Link]
    _held: list[HeldFrame]
    _holding: bool
    _hold_roles: frozenset[str] | None
    _hold_opcodes: frozenset[str] | None

    def _deliver(self, held: HeldFrame, verb: str) -> None:
        raise NotImplementedError

    async def _send_new(
        self, flow: Flow, new: Frame, status: str, held: HeldFrame | None, raw: bytes
    ) -> None:
        raise NotImplementedError

    def _encode(self, flow: Flow, frame: Frame, compress: bool) -> bytes:
        raise NotImplementedError

    def _take(self, held: HeldFrame) -> None:
        raise NotImplementedError

    def _after_take(self, flow: Flow) -> None:
        raise NotImplementedError

    def _cut(self, link: Link) -> None:
        raise NotImplementedError

    @property
    def holding(self) -> bool:
        """True after :meth:`hold`, until :meth:`release`."""
        return self._holding

    @property
    def pending(self) -> list[HeldFrame]:
        """Frames waiting, oldest first: ``[client→server TEXT fin=1 masked len=7 'Bonjour']``."""
        return list(self._held)

    async def ahold(
        self,
        direction: str | None = None,
        opcodes: str | Iterable[str] | None = None,
        *,
        timeout: float | None = None,
    ) -> None:
        """From now on frames wait on the wire (only those of ``direction`` or ``opcodes``, if given)."""
        roles: frozenset[str] | None = None
        if direction is not None:
            roles = frozenset({_role(direction)})
        names: frozenset[str] | None = None
        if opcodes is not None:
            names = frozenset([opcodes.upper()] if isinstance(opcodes, str) else [o.upper() for o in opcodes])
            unknown = names - {o.name for o in Opcode}
            if unknown:
                words = _("unknown opcode {opcode}: expected TEXT, BINARY, CONT, PING, PONG or CLOSE")
                raise ValueError(words.format(opcode=repr(sorted(unknown)[0])))

        async def start() -> None:
            self._holding, self._hold_roles, self._hold_opcodes = True, roles, names
            what, verb = (
                ("every frame", "waits") if names is None else ("/".join(sorted(names)) + " frames", "wait")
            )
            if roles is not None:
                what += f" going {next(iter(roles))}"
            self._record("note", detail=f"hold: from now on {what} {verb} on the wire")

        await self._ctx.bridge.run(start(), timeout, "hold")

    hold = twin(ahold)

    async def arelease(self, *, timeout: float | None = None) -> None:
        """Back to pass-through: deliver what is held, in order, and let every frame through."""

        async def run() -> None:
            self._holding = False
            if self._held:
                held = _("{held} delivered").format(held=held_frames(len(self._held)))
            else:
                held = _("nothing held")
            self._record("note", detail=_("release: pass-through again, {held}").format(held=held))
            while self._held:
                self._deliver(self._held[0], "deliver")
            await self._ctx.session.settle()

        await self._ctx.bridge.run(run(), timeout, "release")

    release = twin(arelease)

    async def adeliver(self, n: int | None = None, *, timeout: float | None = None) -> None:
        """Deliver the ``n`` oldest held frames (all by default); returns once their effects are recorded."""

        async def run() -> None:
            self._require_held(0)
            many = len(self._held) if n is None else n
            if many < 1 or many > len(self._held):
                # i18n: n is the keyword of wire.deliver(n=…); {count} is how many frames are held
                words = _("n must be between 1 and {count}, not {n}")
                raise ValueError(words.format(count=len(self._held), n=n))
            for held in self._held[:many]:
                self._deliver(held, "deliver")
            await self._ctx.session.settle()

        await self._ctx.bridge.run(run(), timeout, "deliver")

    deliver = twin(adeliver)

    async def adrop(self, index: int = 0, *, timeout: float | None = None) -> HeldFrame:
        """Throw away one held frame (the oldest by default): the peer never sees it."""

        async def run() -> HeldFrame:
            held = self._require_held(index)
            self._take(held)
            if held.message_end:
                held.flow.state.messages_lost += 1
            held.flow.diverge(held.meaning)
            self._record(
                "note", conn=held.conn, peer=held.flow.receiver, frame=held.info, detail=f"drop {held!r}"
            )
            self._after_take(held.flow)
            await self._ctx.session.settle()
            return held

        return await self._ctx.bridge.run(run(), timeout, "drop")

    drop = twin(adrop)

    async def aedit(
        self,
        payload: Payload | None = None,
        *,
        code: int | None = None,
        reason: str = "",
        index: int = 0,
        timeout: float | None = None,
    ) -> None:
        """Replace a held frame's payload (or a close frame's ``code`` and ``reason``), then deliver it.

        A compressed message stays compressed: the wire compresses the new payload itself.
        """

        async def run() -> None:
            held = self._require_held(index)
            opcode = held.frame.opcode
            if opcode is Opcode.CLOSE:
                if code is None:
                    raise ValueError(_("edit a close frame with code= (and reason=)"))
                try:
                    data = Close(code, reason).serialize()
                except ProtocolError as exc:
                    raise WslabError(_cannot_send(code, exc)) from None
            else:
                if payload is None:
                    raise ValueError(_("edit needs the new payload"))
                data = payload.encode("utf-8") if isinstance(payload, str) else bytes(payload)
                if opcode in (Opcode.TEXT, Opcode.BINARY):
                    opcode = Opcode.TEXT if isinstance(payload, str) else Opcode.BINARY
            new = Frame(opcode, data, held.frame.fin)
            self._take(held)
            self._record(
                "note", conn=held.conn, peer=held.flow.receiver, frame=held.info, detail=f"edit {held!r}"
            )
            held.flow.diverge(held.meaning)
            raw = self._encode(held.flow, new, held.meaning.compressed)
            await self._send_new(held.flow, new, "edited", held, raw)
            await self._ctx.session.settle()

        await self._ctx.bridge.run(run(), timeout, "edit")

    edit = twin(aedit)

    async def ainject(
        self, payload: Payload, direction: str = C2S, *, conn: str | None = None, timeout: float | None = None
    ) -> None:
        """Send a new message that neither end wrote, in ``direction``, on ``conn`` (the latest by default).

        It goes out uncompressed (allowed under permessage-deflate), so the sender's compressed
        stream stays valid and the frames after it still pass byte for byte.
        """
        role = _role(direction)

        async def run() -> None:
            link = self._open_link(conn)
            flow = link.c2s if role == C2S else link.s2c
            if flow is None or flow.state.eof is not Eof.OPEN or flow.state.closing is not Closing.NONE:
                # i18n: {conn} is a connection id (c1, c2…); {role} is client→server or server→client
                words = _("{conn} is closing: nothing more can go {role}")
                raise WslabError(words.format(conn=link.conn, role=role))
            opcode = Opcode.TEXT if isinstance(payload, str) else Opcode.BINARY
            new = Frame(opcode, payload.encode("utf-8") if isinstance(payload, str) else bytes(payload))
            self._record(
                "note", conn=link.conn, peer=flow.receiver, detail=f"inject {flow.arrow} {preview(payload)}"
            )
            await self._send_new(flow, new, "injected", None, new.serialize(mask=flow.reader.mask))
            await self._ctx.session.settle()

        await self._ctx.bridge.run(run(), timeout, "inject")

    inject = twin(ainject)

    async def adelay(self, seconds: float, index: int = 0, *, timeout: float | None = None) -> None:
        """Deliver one held frame ``seconds`` from now; returns when its effects are recorded."""

        async def run() -> None:
            held = self._require_held(index)
            if seconds < 0:
                raise ValueError(_("seconds must be positive"))
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
            await self._ctx.session.settle()

        await self._ctx.bridge.run(
            run(), seconds + (self._ctx.limits.timeout if timeout is None else timeout), "delay"
        )

    delay = twin(adelay)

    async def acorrupt(
        self, how: Corruption = "flip-bit", index: int = 0, *, timeout: float | None = None
    ) -> None:
        """Break a held frame, then deliver it: ``flip-bit``, ``bad-utf8`` (text frames) or ``unmask``.

        In a compressed message the bit flips in the message itself, which the wire compresses again.
        """

        async def run() -> None:
            held = self._require_held(index)
            frame, flow, meaning = held.frame, held.flow, held.meaning
            if how == "flip-bit":
                if not frame.data:
                    raise WslabError(_("this frame has no payload to corrupt"))
                if meaning.compressed:
                    plain = bytes([meaning.plain[0] ^ 0x01]) + meaning.plain[1:] if meaning.plain else b""
                    new = Frame(frame.opcode, plain, frame.fin)
                    out = None
                else:
                    new = Frame(
                        frame.opcode, bytes([frame.data[0] ^ 0x01]) + bytes(frame.data[1:]), frame.fin
                    )
                    out = flip_first_bit(held.raw)
            elif how == "bad-utf8":
                if not meaning.text:
                    raise WslabError(_("bad-utf8 corrupts text frames only"))
                new = Frame(frame.opcode, b"\xff" + meaning.plain[1:], frame.fin)
                out = None
            elif how == "unmask":
                new = Frame(frame.opcode, meaning.plain, frame.fin)
                out = unmasked(frame, held.raw, flow.reader.mask)
            else:
                raise ValueError(
                    _("how must be 'flip-bit', 'bad-utf8' or 'unmask', not {how}").format(how=repr(how))
                )
            self._take(held)
            self._record(
                "note",
                conn=held.conn,
                peer=flow.receiver,
                frame=held.info,
                detail=f"corrupt ({how}) {held!r}",
            )
            flow.diverge(meaning)
            if out is None:
                out = self._encode(flow, new, meaning.compressed)
            await self._send_new(flow, new, f"corrupted ({how})", held, out)
            await self._ctx.session.settle()

        await self._ctx.bridge.run(run(), timeout, "corrupt")

    corrupt = twin(acorrupt)

    async def acut(self, conn: str | None = None, *, timeout: float | None = None) -> None:
        """Close the TCP connections on both sides (of ``conn``, or of every link): no close frame, 1006."""

        async def run() -> None:
            links = [k for k in self.links if not k.closed and (conn is None or k.conn == conn)]
            if not links:
                raise WslabError(_no_open_connection(conn))
            for link in links:
                lost = [h for h in self._held if h.link is link]
                for held in lost:
                    self._take(held)
                    if held.message_end:
                        held.flow.state.messages_lost += 1
                words = _("cut {conn}: both TCP connections closed, no close frame").format(conn=link.conn)
                if lost:
                    words += "; " + _("{held} lost: {frames}").format(
                        held=held_frames(len(lost)), frames="; ".join(repr(h) for h in lost)
                    )
                self._record("note", conn=link.conn, detail=words)
                self._cut(link)
            self._ctx.session.changed()
            await self._ctx.session.settle()

        await self._ctx.bridge.run(run(), timeout, "cut")

    cut = twin(acut)

    async def aclose_links(self, code: int = 1001, reason: str = "", *, timeout: float | None = None) -> None:
        """Close every connection through the wire: a close frame to each end (1001, going away, as a
        proxy that stops sends), then both TCP connections once they answered or the settle time ran out.

        Held frames are reported and dropped first. The wire still listens until ``lab.close()``.
        """
        try:
            data = Close(code, reason).serialize()
        except ProtocolError as exc:
            raise WslabError(_cannot_send(code, exc)) from None

        async def run() -> None:
            self._abandon(N_("wire closing"))
            links = [k for k in self.links if not k.closed and k.s2c is not None]
            for link in links:
                self._record(
                    "note",
                    conn=link.conn,
                    detail=f"close {link.conn}: {close_words(code, reason)} to both ends",
                )
                for flow in link.flows():
                    if flow.state.eof is Eof.OPEN and flow.state.closing is Closing.NONE:
                        new = Frame(Opcode.CLOSE, data)
                        await self._send_new(
                            flow, new, "closed by the wire", None, new.serialize(mask=flow.reader.mask)
                        )
                link.closed_by_wire = True
            try:
                async with asyncio.timeout(self._ctx.limits.settle):
                    await asyncio.gather(*(link.ended.wait() for link in links))
            except TimeoutError:
                for link in links:
                    if not link.ended.is_set():
                        self._cut(link)
            await self._ctx.session.settle()

        await self._ctx.bridge.run(run(), timeout, "close_links")

    close_links = twin(aclose_links)

    def _abandon(self, why: str = N_("lab closing")) -> None:
        raise NotImplementedError

    def _open_link(self, conn: str | None) -> Link:
        links = [
            k for k in self.links if not k.closed and k.s2c is not None and (conn is None or k.conn == conn)
        ]
        if not links:
            raise WslabError(_no_open_connection(conn))
        return links[-1]

    def _require_held(self, index: int) -> HeldFrame:
        if not self._held:
            raise WslabError(_("no frame is held on the wire: call wire.hold() first, then send"))
        if not -len(self._held) <= index < len(self._held):
            count = len(self._held)
            # i18n: the English says "frames" even for one (its output is fixed); a translation may count.
            words = ngettext(
                "only {count} frames are held on the wire", "only {count} frames are held on the wire", count
            )
            raise IndexError(words.format(count=count))
        return self._held[index]


def _role(direction: str) -> str:
    if direction not in ROLES:
        words = _("direction must be 'client→server' or 'server→client', not {direction}")
        raise ValueError(words.format(direction=repr(direction)))
    return ROLES[direction]


def _no_open_connection(conn: str | None) -> str:
    """Why there is nothing to cut or close: no open connection (with id ``conn``) on the wire."""
    if conn:
        # i18n: {conn} is a connection id in quotes, e.g. 'c2'
        return _("no open connection on this wire with id {conn}").format(conn=repr(conn))
    return _("no open connection on this wire")


def _cannot_send(code: int, problem: Exception) -> str:
    """Why close code ``code`` cannot go in a close frame (``problem``: websockets' own words)."""
    # i18n: {problem} is websockets' explanation, in English
    return _("{code} cannot be sent in a close frame ({problem})").format(code=code, problem=problem)
