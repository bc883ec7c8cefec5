"""What the wire reads, without any I/O: frames split from a byte stream, what a payload means, and
permessage-deflate as each end of one direction sees it.

Pure on purpose (no asyncio): every rule about bytes can be tested by feeding bytes, the way
websockets tests its own frames. The relay (:mod:`wslab.wire.relay`) only moves bytes around.

Compression, the design. The wire forwards the sender's bytes untouched as long as nothing was
changed, so pass-through stays byte-exact. With context takeover, though, each compressed message
may point back into the previous ones: once the wire drops, edits, corrupts or injects a compressed
message, what the receiver inflated is no longer what the sender compressed. From that moment the
direction is *diverged*: the wire inflates every later message with a mirror of the sender's state
(it decoded every frame it saw, kept or not) and compresses it again on its own, one fresh
compressor per message, so nothing it sends points into history the receiver may not have. The
receiver still gets one valid permessage-deflate stream, and every message the frame table shows.
"""

from __future__ import annotations

import dataclasses
import zlib
from collections.abc import Generator
from dataclasses import dataclass
from typing import Literal, TypeAlias

from websockets.exceptions import ProtocolError
from websockets.extensions.base import Extension
from websockets.extensions.permessage_deflate import PerMessageDeflate
from websockets.frames import Close, Frame, Opcode
from websockets.headers import parse_extension
from websockets.streams import StreamReader

from ..events import FrameInfo, Payload
from ..i18n import ngettext

__all__ = [
    "C2S",
    "DATA",
    "ROLES",
    "S2C",
    "Corruption",
    "Deflate",
    "Meaning",
    "Parsed",
    "Reader",
    "close_meaning",
    "flip_first_bit",
    "frame_info",
    "held_frames",
    "negotiate",
    "payload_offset",
    "plain_meaning",
    "set_host",
    "stable_lines",
    "unmasked",
]

Corruption: TypeAlias = Literal["flip-bit", "bad-utf8", "unmask"]
"""How :meth:`Wire.corrupt` breaks a frame: one payload bit, the UTF-8 of a text frame, or the mask bit."""

C2S = "client→server"
S2C = "server→client"
ROLES = {C2S: C2S, S2C: S2C, "client->server": C2S, "server->client": S2C}
DATA = (Opcode.TEXT, Opcode.BINARY, Opcode.CONT)
MAX_INFLATE = 64 * 2**20
"""The most the wire inflates of one message: past it (a compression bomb?) it shows the compressed bytes."""
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


@dataclass(frozen=True)
class Parsed:
    """One frame cut from the stream: as websockets parsed it, its exact bytes, and what was wrong."""

    frame: Frame
    raw: bytes
    problem: str | None = None


@dataclass(frozen=True)
class Meaning:
    """A frame's payload as the receiving end sees it: unmasked, inflated, text when it is text."""

    data: Payload | None
    size: int
    code: int | None = None
    reason: str | None = None
    plain: bytes = b""  # the inflated payload of a data frame (what an edit or a re-compression starts from)
    text: bool = False  # part of a text message
    compressed: bool = False  # part of a message the sender compressed


class Deflate:
    """permessage-deflate in one direction: a mirror of the sender's compressor, and the wire's own.

    ``sender_takeover`` is whether the sender keeps its compression context between messages;
    ``bits`` is the window both ends of this direction agreed on.
    """

    def __init__(self, sender_takeover: bool, bits: int) -> None:
        self.sender_takeover = sender_takeover
        self.bits = bits
        self.decoder = PerMessageDeflate(not sender_takeover, True, bits, max(bits, 9))
        settings = {} if bits >= 9 else {"strategy": zlib.Z_HUFFMAN_ONLY}  # zlib has no 8-bit window
        self.encoder = PerMessageDeflate(True, True, bits, max(bits, 9), settings)
        self.diverged = False
        """The receiver's inflate history is no longer the sender's: later messages are re-compressed."""
        self._encoding = False  # the message being re-sent is compressed (for its CONT frames)

    @property
    def reencodes(self) -> bool:
        """True when the sender's compressed bytes can no longer go on as they are."""
        return self.diverged and self.sender_takeover

    def inflate(self, frame: Frame) -> bytes | None:
        """Inflate one frame with the sender's history (every frame must come here, in order)."""
        try:
            return bytes(self.decoder.decode(frame, max_size=MAX_INFLATE).data)
        except Exception:  # the receiving end will say what is wrong with it
            return None

    def serialize(self, frame: Frame, compress: bool, mask: bool) -> bytes:
        """``frame`` (plain) as the wire sends it: compressed on its own when ``compress``."""
        if frame.opcode in (Opcode.TEXT, Opcode.BINARY):
            self._encoding = compress
        if self._encoding and frame.opcode in DATA:
            return frame.serialize(mask=mask, extensions=[self.encoder])
        return frame.serialize(mask=mask)

    def passed_on(self, frame: Frame) -> None:
        """A message starts on its way as the sender made it (not compressed again by the wire)."""
        if frame.opcode in (Opcode.TEXT, Opcode.BINARY):
            self._encoding = False


def negotiate(extensions: str | None) -> tuple[Deflate | None, Deflate | None]:
    """The client→server and server→client :class:`Deflate` that a 101's extensions header agreed on."""
    if not extensions:
        return None, None
    for name, params in parse_extension(extensions):
        if name != "permessage-deflate":
            continue
        values = dict(params)
        client_bits = int(values.get("client_max_window_bits") or 15)
        server_bits = int(values.get("server_max_window_bits") or 15)
        c2s = Deflate("client_no_context_takeover" not in values, client_bits)
        s2c = Deflate("server_no_context_takeover" not in values, server_bits)
        return c2s, s2c
    return None, None


class Reader:
    """One direction's byte stream, cut into frames (``feed``) and read (``meaning``)."""

    def __init__(self, role: str, mask: bool) -> None:
        self.role = role
        self.mask = mask  # frames in this direction must be masked (client→server)
        self.stream = StreamReader()
        self.raw = bytearray()  # bytes fed and not yet cut into a frame (ends with stream.buffer)
        self.parser: Generator[None, None, None] | None = None
        self.tap = _Tap()  # the current frame's tap: it has the frame once its bytes are all read
        self.parsed: list[Parsed] = []
        self.broken = False  # the stream cannot be cut into frames any more: bytes go on as they are
        self.deflate: Deflate | None = None
        self.text_message = False  # the CONT frames that follow belong to a text message
        self.compressed_message = False  # the CONT frames that follow belong to a compressed message

    def feed(self, data: bytes) -> tuple[list[Parsed], str | None]:
        """The frames completed by ``data``, and an error when the stream stopped making sense."""
        self.stream.feed_data(data)
        self.raw.extend(data)
        error = None
        while True:
            if self.parser is None:
                self.parser = self._parse()
            try:
                next(self.parser)
                break  # needs more bytes
            except StopIteration:  # pragma: no cover - _parse never returns
                self.parser = None
            except (ProtocolError, ValueError) as exc:
                self.parser = None
                seen = self.tap.seen
                if seen is None:  # not even a header: the stream cannot be cut into frames
                    self.broken = True
                    error = f"{type(exc).__name__}: {exc}"
                    break
                self.parsed.append(Parsed(seen, self.take(), f"{exc}"))
        parsed, self.parsed = self.parsed, []
        return parsed, error

    def take(self) -> bytes:
        """The bytes consumed so far by a parser; what follows stays for the next one."""
        consumed = len(self.raw) - len(self.stream.buffer)
        raw = bytes(self.raw[:consumed])
        del self.raw[:consumed]
        return raw

    def rest(self) -> bytes:
        """Every byte fed and not cut into a frame (for a stream passed on as it is)."""
        rest = bytes(self.raw)
        self.raw.clear()
        self.stream.buffer.clear()
        return rest

    def _parse(self) -> Generator[None, None, None]:
        while True:
            self.tap = _Tap()
            yield from Frame.parse(
                self.stream.read_exact, mask=self.mask, max_size=None, extensions=[self.tap]
            )
            seen = self.tap.seen
            assert seen is not None
            self.parsed.append(Parsed(seen, self.take()))

    def meaning(self, frame: Frame) -> Meaning:
        """What ``frame`` means to its receiver; call it once per frame, in order (it tracks messages)."""
        opcode = frame.opcode
        if opcode is Opcode.CLOSE:
            return close_meaning(bytes(frame.data))
        payload = bytes(frame.data)
        if opcode in (Opcode.TEXT, Opcode.BINARY):
            self.text_message = opcode is Opcode.TEXT
            self.compressed_message = frame.rsv1
        is_data = opcode in DATA
        compressed = is_data and self.compressed_message
        if self.deflate is not None and is_data:
            inflated = self.deflate.inflate(frame)
            if inflated is not None:
                payload = inflated
        text = is_data and self.text_message
        if frame.fin and is_data:
            self.text_message = self.compressed_message = False
        meaning = plain_meaning(payload, text)
        return dataclasses.replace(meaning, plain=payload, text=text, compressed=compressed)


def close_meaning(data: bytes) -> Meaning:
    """A close frame's code and reason (or its bytes, when they are no valid close payload)."""
    try:
        close = Close.parse(data)
    except (ProtocolError, UnicodeDecodeError):
        return Meaning(data, len(data))
    return Meaning(None, len(data), int(close.code), close.reason)


def plain_meaning(payload: bytes, text: bool) -> Meaning:
    """A data payload: a str when it is a text message in valid UTF-8, else bytes."""
    if text:
        try:
            return Meaning(payload.decode("utf-8"), len(payload))
        except UnicodeDecodeError:
            pass
    return Meaning(payload, len(payload))


def payload_offset(raw: bytes) -> int:
    """Where the payload starts in a frame's bytes (after the length and the mask key)."""
    length = raw[1] & 0x7F
    offset = 2 + (2 if length == 126 else 8 if length == 127 else 0)
    return offset + (4 if raw[1] & 0x80 else 0)


def frame_info(role: str, frame: Frame, raw: bytes) -> FrameInfo:
    """The frame table's row for ``raw``: its header bits as they crossed, its payload length."""
    masked = bool(raw[1] & 0x80)
    offset = payload_offset(raw)
    return FrameInfo(
        direction=role,
        opcode=frame.opcode.name,
        fin=bool(raw[0] & 0x80),
        rsv1=bool(raw[0] & 0x40),
        rsv2=bool(raw[0] & 0x20),
        rsv3=bool(raw[0] & 0x10),
        masked=masked,
        mask_key=raw[offset - 4 : offset].hex() if masked else None,
        length=len(raw) - offset,
    )


def flip_first_bit(raw: bytes) -> bytes:
    """``raw`` with the lowest bit of its first payload byte flipped (masking is XOR: it flips too)."""
    out = bytearray(raw)
    out[payload_offset(raw)] ^= 0x01
    return bytes(out)


def unmasked(frame: Frame, raw: bytes, mask: bool) -> bytes:
    """``frame`` with the mask bit the other way round; FIN, RSV and opcode kept exactly as they came."""
    plain = dataclasses.replace(frame, rsv1=False, rsv2=False, rsv3=False)
    out = bytearray(plain.serialize(mask=not mask))
    out[0] = raw[0]
    return bytes(out)


def set_host(request: bytes, host: str) -> bytes:
    """The request head with its ``Host`` header set to ``host`` (the upstream's, for a URL)."""
    lines = request.split(b"\r\n")
    for i, line in enumerate(lines):
        name, colon, _ = line.partition(b":")
        if i and colon and name.strip().lower() == b"host":
            lines[i] = b"Host: " + host.encode("ascii")
            break
    return b"\r\n".join(lines)


def stable_lines(raw: bytes) -> list[str]:
    """HTTP head lines, with the values that change on every run replaced by ``…``."""
    out = []
    for line in raw.decode("iso-8859-1").split("\r\n"):
        name, colon, _ = line.partition(":")
        if colon and name.strip().lower() in _VARYING:
            out.append(f"{name}: …")
        elif line:
            out.append(line)
    return out


def held_frames(n: int) -> str:
    """``1 held frame``, ``2 held frames``, in the language in effect."""
    return ngettext("{n} held frame", "{n} held frames", n).format(n=n)
