"""The wire's pure frame layer, tested the way websockets tests its frames: bytes in, meaning out."""

from __future__ import annotations

import subprocess
import sys
import zlib

import pytest
from websockets.exceptions import ProtocolError
from websockets.extensions.permessage_deflate import PerMessageDeflate
from websockets.frames import Close, Frame, Opcode

from wslab.wire.frames import (
    C2S,
    S2C,
    Deflate,
    Reader,
    flip_first_bit,
    frame_info,
    negotiate,
    set_host,
    stable_lines,
    unmasked,
)


def read_all(reader: Reader, data: bytes) -> list[tuple[str, object]]:
    parsed, error = reader.feed(data)
    assert error is None
    return [(p.frame.opcode.name, reader.meaning(p.frame).data) for p in parsed]


def test_the_frame_layer_imports_no_asyncio() -> None:
    code = "import sys, wslab.wire.frames; print('asyncio' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_frames_split_across_reads_come_out_whole_with_their_exact_bytes() -> None:
    text, binary = Frame(Opcode.TEXT, b"Bonjour"), Frame(Opcode.BINARY, b"\x00\xff")
    raw = text.serialize(mask=True) + binary.serialize(mask=True)
    reader = Reader(C2S, mask=True)
    got = []
    for byte in raw:  # one byte at a time: the worst a TCP stream can do
        parsed, error = reader.feed(bytes([byte]))
        assert error is None
        got += parsed
    assert b"".join(p.raw for p in got) == raw
    assert [reader.meaning(p.frame).data for p in got] == ["Bonjour", b"\x00\xff"]


def test_a_text_message_in_fragments_is_text_in_every_fragment() -> None:
    frames = [
        Frame(Opcode.TEXT, b"Bon", fin=False),
        Frame(Opcode.CONT, b"jour", fin=False),
        Frame(Opcode.CONT, b"!"),
    ]
    reader = Reader(S2C, mask=False)
    assert read_all(reader, b"".join(f.serialize(mask=False) for f in frames)) == [
        ("TEXT", "Bon"),
        ("CONT", "jour"),
        ("CONT", "!"),
    ]


def test_a_close_frame_means_its_code_and_reason_and_a_broken_one_its_bytes() -> None:
    reader = Reader(S2C, mask=False)
    parsed, _ = reader.feed(Frame(Opcode.CLOSE, Close(4000, "fini").serialize()).serialize(mask=False))
    meaning = reader.meaning(parsed[0].frame)
    assert (meaning.code, meaning.reason, meaning.data) == (4000, "fini", None)
    parsed, _ = reader.feed(Frame(Opcode.CLOSE, b"\x03").serialize(mask=False))
    assert reader.meaning(parsed[0].frame).data == b"\x03"


def test_invalid_utf8_in_a_text_frame_is_shown_as_bytes() -> None:
    reader = Reader(C2S, mask=True)
    assert read_all(reader, Frame(Opcode.TEXT, b"caf\xc3(").serialize(mask=True)) == [("TEXT", b"caf\xc3(")]


def test_an_unmasked_client_frame_breaks_the_stream_and_says_why() -> None:
    reader = Reader(C2S, mask=True)
    parsed, error = reader.feed(Frame(Opcode.TEXT, b"hi").serialize(mask=False))
    assert parsed == [] and reader.broken
    assert error is not None and "incorrect masking" in error
    assert reader.rest() == Frame(Opcode.TEXT, b"hi").serialize(mask=False)


def test_a_frame_websockets_rejects_after_reading_it_whole_is_kept_with_its_problem() -> None:
    ping = bytearray(Frame(Opcode.PING, b"p").serialize(mask=True))
    ping[0] &= 0x7F  # a fragmented ping
    reader = Reader(C2S, mask=True)
    parsed, error = reader.feed(bytes(ping))
    assert error is None and parsed[0].raw == bytes(ping)
    assert "fragmented control frame" in (parsed[0].problem or "")


def test_frame_info_reads_the_header_bits_and_the_mask_key_as_they_crossed() -> None:
    raw = Frame(Opcode.TEXT, b"x" * 300).serialize(mask=True)
    reader = Reader(C2S, mask=True)
    parsed, _ = reader.feed(raw)
    info = frame_info(C2S, parsed[0].frame, raw)
    assert (info.opcode, info.fin, info.rsv1, info.masked, info.length) == ("TEXT", True, False, True, 300)
    assert info.mask_key == raw[4:8].hex()  # after the 16-bit extended length


def test_flip_first_bit_flips_the_payload_bit_under_the_mask() -> None:
    raw = Frame(Opcode.TEXT, b"Bonjour").serialize(mask=True)
    reader = Reader(C2S, mask=True)
    parsed, _ = reader.feed(flip_first_bit(raw))
    assert reader.meaning(parsed[0].frame).data == "Conjour"


def test_unmasked_turns_the_mask_bit_around_and_keeps_the_first_byte() -> None:
    raw = Frame(Opcode.TEXT, b"hi").serialize(mask=True)
    frame = Frame(Opcode.TEXT, b"hi")
    out = unmasked(frame, raw, mask=True)
    assert out[0] == raw[0] and not out[1] & 0x80 and out[2:] == b"hi"


def test_negotiate_reads_context_takeover_and_window_bits_for_each_direction() -> None:
    c2s, s2c = negotiate("permessage-deflate; server_no_context_takeover; client_max_window_bits=10")
    assert c2s is not None and s2c is not None
    assert (c2s.sender_takeover, c2s.bits) == (True, 10)
    assert (s2c.sender_takeover, s2c.bits) == (False, 15)
    assert negotiate(None) == (None, None) and negotiate("x-other") == (None, None)


def compressed_messages(bits: int, texts: list[str], takeover: bool = True) -> list[bytes]:
    """What a websockets sender with this window and context takeover puts on the wire."""
    sender = PerMessageDeflate(False, not takeover, bits, bits)
    return [Frame(Opcode.TEXT, t.encode()).serialize(mask=False, extensions=[sender]) for t in texts]


@pytest.mark.parametrize("bits", [9, 12, 15])
def test_the_mirror_inflates_every_message_with_the_senders_context(bits: int) -> None:
    texts = ["Bonjour serveur!"] * 3
    reader = Reader(S2C, mask=False)
    _, reader.deflate = negotiate(f"permessage-deflate; server_max_window_bits={bits}")
    got = [read_all(reader, raw)[0] for raw in compressed_messages(bits, texts)]
    assert got == [("TEXT", t) for t in texts]


def receiver_reads(deflate_params: tuple[bool, int], wire: list[bytes]) -> list[str]:
    """What a websockets receiver inflates from these frames (it fails loudly on a bad stream)."""
    takeover, bits = deflate_params
    receiver = PerMessageDeflate(not takeover, False, bits, bits)
    out = []
    for raw in wire:
        reader = Reader(S2C, mask=False)
        parsed, _ = reader.feed(raw)
        frame = parsed[0].frame
        out.append(bytes(receiver.decode(frame).data).decode())
    return out


def test_a_dropped_compressed_message_breaks_the_raw_stream_for_the_receiver() -> None:
    """Why the wire re-compresses: the sender's next message points into the one dropped."""
    _, second = compressed_messages(15, ["Bonjour serveur!", "Bonjour serveur!"])
    with pytest.raises(ProtocolError, match="decompression failed"):  # the 1002 of the issue
        receiver_reads((True, 15), [second])


@pytest.mark.parametrize("bits", [9, 12, 15])
def test_after_a_drop_the_wire_recompresses_so_the_receiver_reads_every_later_message(bits: int) -> None:
    texts = ["Bonjour serveur!", "Bonjour serveur!", "Bonjour encore, serveur!"]
    deflate = Deflate(sender_takeover=True, bits=bits)
    reader = Reader(S2C, mask=False)
    reader.deflate = deflate
    sent = []
    for i, raw in enumerate(compressed_messages(bits, texts)):
        parsed, _ = reader.feed(raw)
        meaning = reader.meaning(parsed[0].frame)
        if i == 0:
            deflate.diverged = True  # dropped
            continue
        assert deflate.reencodes
        sent.append(deflate.serialize(Frame(Opcode.TEXT, meaning.plain), True, mask=False))
    assert receiver_reads((True, bits), sent) == texts[1:]
    assert all(raw[0] & 0x40 for raw in sent)  # still compressed


def test_without_context_takeover_a_diverged_direction_still_passes_bytes_as_they_came() -> None:
    deflate = Deflate(sender_takeover=False, bits=15)
    deflate.diverged = True
    assert not deflate.reencodes


def test_set_host_changes_only_the_host_header() -> None:
    request = b"GET /chat HTTP/1.1\r\nHost: 127.0.0.1:9\r\nOrigin: http://app\r\nCookie: a=b\r\n\r\n"
    assert set_host(request, "example.org") == request.replace(b"127.0.0.1:9", b"example.org")


def test_stable_lines_hide_what_varies_per_run() -> None:
    head = b"HTTP/1.1 101 Switching Protocols\r\nDate: Mon\r\nSec-WebSocket-Accept: abc\r\n"
    head += b"Upgrade: websocket\r\n\r\n"
    assert stable_lines(head) == [
        "HTTP/1.1 101 Switching Protocols",
        "Date: …",
        "Sec-WebSocket-Accept: …",
        "Upgrade: websocket",
    ]


def test_for_an_8_bit_window_the_wire_compresses_without_back_references() -> None:
    """zlib cannot compress with a 256-byte window; Huffman-only output fits any window."""
    deflate = Deflate(sender_takeover=True, bits=8)
    raw = deflate.serialize(Frame(Opcode.TEXT, b"Bonjour serveur! " * 40), True, mask=False)
    reader = Reader(S2C, mask=False)
    parsed, _ = reader.feed(raw)
    inflater = zlib.decompressobj(wbits=-8)
    assert inflater.decompress(bytes(parsed[0].frame.data) + b"\x00\x00\xff\xff") == b"Bonjour serveur! " * 40
