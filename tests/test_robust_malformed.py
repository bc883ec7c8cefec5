"""Malformed traffic from raw TCP clients: each gets the RFC 6455 answer, leaves an event that says
why, and never stops the server from echoing for a healthy client on the same server.

Every attack runs twice: straight at the server, and through a wire in front of it, which must give
the same answer (it enforces the server's opening limits itself and passes what it cannot parse on)."""

from __future__ import annotations

import struct
import time
from collections.abc import Iterator

import pytest
from _attack import RawClient, bad_frame, handshake, request, wait_for
from websockets.frames import Frame, Opcode

import wslab
from wslab import Event

MAX_SIZE = 1000
OPEN_TIMEOUT = 0.5


@pytest.fixture
def lab(request: pytest.FixtureRequest) -> Iterator[wslab.Lab]:
    lab = wslab.Lab(clock="logical", timeout=3.0, settle=1.0, name=f"malformed-{request.node.name}")
    yield lab
    lab.close()


@pytest.fixture
def server(lab: wslab.Lab) -> wslab.Server:
    return lab.serve(open_timeout=OPEN_TIMEOUT, max_size=MAX_SIZE)


@pytest.fixture(params=["direct", "wire"])
def entry(request: pytest.FixtureRequest, lab: wslab.Lab, server: wslab.Server) -> wslab.Server | wslab.Wire:
    """Where the attacks go: the server itself, or a wire in front of it."""
    return server if request.param == "direct" else lab.wire(server)


@pytest.fixture
def healthy(lab: wslab.Lab, entry: wslab.Server | wslab.Wire) -> wslab.Client:
    client = lab.connect(entry, name="healthy")
    assert_echoes(client, "before")
    return client


ANSWERS = ("error", "reject", "accept", "connection")
"""The kinds that say how a handshake was answered, whether the server or the wire answered it."""


def assert_echoes(client: wslab.Client, text: str) -> None:
    client.send(text)
    assert client.recv() == f"Serveur a reçu : {text}"


def new_events(
    lab: wslab.Lab,
    healthy: wslab.Client,
    count: int,
    timeout: float = 3.0,
    sides: tuple[str, ...] = ("server",),
    kinds: tuple[str, ...] | None = None,
) -> list[Event]:
    """The events (of ``sides``, of ``kinds``) about connections other than the healthy one, once
    ``count`` are in."""

    def found() -> list[Event]:
        return [
            e
            for e in lab.events.filter(side=sides, kind=kinds)
            if e.conn != healthy.conn and e.endpoint != "healthy"
        ]

    wait_for(lambda: len(found()) >= count, timeout)
    return found()


def only(events: list[Event], kind: str) -> Event:
    matching = [e for e in events if e.kind == kind]
    assert len(matching) == 1, [(e.kind, e.error or e.detail) for e in events]
    return matching[0]


HANDSHAKES = [
    # (case, raw request, HTTP status or None when the server just hangs up, words in the error)
    ("plain_http_get", b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", 426, "missing Connection header"),
    ("missing_key", request(key=None), 400, "missing Sec-WebSocket-Key header"),
    ("invalid_key", request(key="not-base64-16-bytes"), 400, "invalid Sec-WebSocket-Key header"),
    ("wrong_version", request(version="8"), 426, "invalid Sec-WebSocket-Version header: 8"),
    ("missing_version", request(version=None), 426, "missing Sec-WebSocket-Version header"),
    ("oversized_header", request(extra=[("X-Big", "a" * 9000)]), 431, "expected no more than 8192 bytes"),
    ("too_many_headers", request(extra=[(f"X-{i}", "a") for i in range(200)]), 431, "no more than 128"),
    ("oversized_request_line", request(path="/" + "a" * 9000), 414, "expected no more than 8192 bytes"),
    ("not_http", b"HELLO\r\n\r\n", None, "did not receive a valid HTTP request"),
    ("post_method", request(method="POST"), 405, "unsupported HTTP method: POST"),
    ("http_1_0", request().replace(b"HTTP/1.1", b"HTTP/1.0"), 505, "unsupported HTTP version: HTTP/1.0"),
]


@pytest.mark.parametrize(
    ("raw", "status", "words"), [c[1:] for c in HANDSHAKES], ids=[c[0] for c in HANDSHAKES]
)
def test_a_bad_handshake_gets_its_status_and_an_error_event_and_the_server_keeps_serving(
    lab: wslab.Lab,
    entry: wslab.Server | wslab.Wire,
    healthy: wslab.Client,
    raw: bytes,
    status: int | None,
    words: str,
) -> None:
    response = handshake(entry.port, raw)
    if status is None:
        assert response is None  # websockets hangs up on what is not HTTP
    else:
        assert response is not None and response.status_code == status
    events = new_events(lab, healthy, 1 if status is None else 2, sides=("server", "wire"), kinds=ANSWERS)
    error = only(events, "error")
    assert words in (error.error or "")
    if status is None:
        assert not [e for e in events if e.kind == "reject"]
    else:
        reject = only(events, "reject")
        assert reject.code == status and reject.seq < error.seq
        assert f"handshake refused with {status}" in (error.error or "")
    assert not [e for e in events if e.kind in ("accept", "connection")]
    wire_answers = isinstance(entry, wslab.Wire) and status in (None, 414, 431)  # what it cannot forward
    assert error.side == ("wire" if wire_answers else "server")
    assert_echoes(healthy, "after")


def test_wrong_version_is_answered_with_426_and_the_version_the_server_speaks(
    entry: wslab.Server | wslab.Wire,
) -> None:
    response = handshake(entry.port, request(version="8"))
    assert response is not None
    assert response.status_code == 426
    assert response.headers["Sec-WebSocket-Version"] == "13"


def test_a_slowloris_handshake_is_timed_out_by_the_server(
    lab: wslab.Lab, entry: wslab.Server | wslab.Wire, healthy: wslab.Client
) -> None:
    with RawClient(entry.port, timeout=0.05) as slow:
        started = time.monotonic()
        slow.send(b"GET / HTTP/1.1\r\nHost: x\r\n")
        hung_up_after = None
        for byte in b"Upgrade: websocket\r\n" * 10:  # a byte every 50 ms: never a whole request
            try:
                slow.send(bytes([byte]))
                if slow.sock.recv(1) == b"":
                    hung_up_after = time.monotonic() - started
                    break
            except TimeoutError:
                continue
            except OSError:
                hung_up_after = time.monotonic() - started
                break
    assert hung_up_after is not None, "the server let a slowloris handshake go on"
    assert OPEN_TIMEOUT * 0.8 <= hung_up_after < OPEN_TIMEOUT + 1.0
    error = only(new_events(lab, healthy, 1, sides=("server", "wire"), kinds=ANSWERS), "error")
    assert f"opening handshake timed out after {OPEN_TIMEOUT} s" in (error.error or "")
    assert_echoes(healthy, "after")


def test_a_client_that_connects_and_says_nothing_is_timed_out(
    lab: wslab.Lab, entry: wslab.Server | wslab.Wire, healthy: wslab.Client
) -> None:
    with RawClient(entry.port, timeout=3.0) as silent:
        assert silent.hangs_up()
    assert "timed out" in (
        only(new_events(lab, healthy, 1, sides=("server", "wire"), kinds=ANSWERS), "error").error or ""
    )
    assert_echoes(healthy, "after")


def test_a_client_that_hangs_up_mid_request_leaves_an_error_event(
    lab: wslab.Lab, entry: wslab.Server | wslab.Wire, healthy: wslab.Client
) -> None:
    with RawClient(entry.port) as quitter:
        quitter.send(b"GET / HTTP/1.1\r\nHost:")
    error = only(new_events(lab, healthy, 1, sides=("server", "wire"), kinds=ANSWERS), "error")
    assert "did not receive a valid HTTP request" in (error.error or "")
    assert_echoes(healthy, "after")


FRAMES = [
    # (case, bytes after a good handshake, close code the server must send, words in its error)
    ("unmasked_client_frame", bad_frame(mask=False), 1002, "incorrect masking"),
    ("reserved_data_opcode", bad_frame(raw_opcode=0x3), 1002, "invalid opcode"),
    ("reserved_control_opcode", bad_frame(raw_opcode=0xB), 1002, "invalid opcode"),
    ("rsv1_without_extension", bad_frame(rsv1=True), 1002, "reserved bits must be 0"),
    ("fragmented_ping", bad_frame(Opcode.PING, b"p", fin=False), 1002, "fragmented control frame"),
    ("continuation_without_start", bad_frame(Opcode.CONT), 1002, "unexpected continuation frame"),
    (
        "close_with_reserved_code",
        bad_frame(Opcode.CLOSE, struct.pack("!H", 1005)),
        1002,
        "invalid status code",
    ),
    ("invalid_utf8_text", bad_frame(data=b"caf\xc3("), 1007, "invalid continuation byte"),
    ("oversized_message", bad_frame(data=b"a" * (MAX_SIZE + 1)), 1009, f"exceeds limit of {MAX_SIZE} bytes"),
    (
        "oversized_fragmented_message",
        Frame(Opcode.TEXT, b"a" * 600, fin=False).serialize(mask=True)
        + Frame(Opcode.CONT, b"a" * 600).serialize(mask=True),
        1009,
        f"exceeds limit of {MAX_SIZE} bytes",
    ),
]


@pytest.mark.parametrize(("attack", "code", "words"), [c[1:] for c in FRAMES], ids=[c[0] for c in FRAMES])
def test_a_bad_frame_gets_its_close_code_and_an_error_event_before_close(
    lab: wslab.Lab,
    entry: wslab.Server | wslab.Wire,
    healthy: wslab.Client,
    attack: bytes,
    code: int,
    words: str,
) -> None:
    with RawClient(entry.port) as raw:
        raw.open()
        raw.send(attack)
        close = raw.close_frame()
        assert close is not None and close.code == code
        raw.flush()  # echo the close frame, as RFC 6455 asks
        assert raw.hangs_up()
    events = new_events(lab, healthy, 5)  # upgrade, accept, connection, error, close
    error, closed = only(events, "error"), only(events, "close")
    assert words in (error.error or "") and f"answered {code}" in (error.error or "")
    assert error.seq < closed.seq
    # the server failed the connection (RFC 6455 7.1.7): it hung up without waiting for the
    # echo, so no close frame was received and its own close code is 1006
    assert closed.code == 1006
    assert_echoes(healthy, "after")


def test_a_frame_cut_short_then_a_hang_up_is_a_1006_without_an_error(
    lab: wslab.Lab, entry: wslab.Server | wslab.Wire, healthy: wslab.Client
) -> None:
    with RawClient(entry.port) as raw:
        raw.open()
        raw.send(bad_frame(data=b"a" * 100)[:10])
    events = new_events(lab, healthy, 5)
    closed = only(events, "close")
    assert not [e for e in events if e.kind == "error"]  # Node ws: a peer gone mid-frame is close 1006 alone
    assert "the TCP connection dropped" in (closed.detail or "")
    assert "expected 100 bytes" in (closed.detail or "")
    assert closed.code == 1006 and closed.was_clean is False
    assert_echoes(healthy, "after")


def test_a_websockets_client_sending_too_much_is_closed_with_1009(
    lab: wslab.Lab, entry: wslab.Server | wslab.Wire, healthy: wslab.Client
) -> None:
    big = lab.connect(entry, name="big", max_size=None)
    big.send("a" * (MAX_SIZE + 1))
    assert wait_for(lambda: big.close_code is not None)
    assert big.close_code == 1009
    closed = lab.events.filter(side="server", kind="close", conn=big.conn)
    error = lab.events.filter(side="server", kind="error", conn=big.conn)
    assert [e.code for e in closed] == [1006]  # failed by the server: no close frame received
    assert "exceeds limit" in (error[0].error or "") and "answered 1009" in (error[0].error or "")
    assert_echoes(healthy, "after")


def test_a_compression_bomb_is_stopped_at_max_size_not_inflated(
    lab: wslab.Lab, entry: wslab.Server | wslab.Wire, healthy: wslab.Client
) -> None:
    bomb = lab.connect(entry, name="bomb", compression="deflate", max_size=None)
    assert bomb.ws is not None and bomb.ws.protocol.extensions, "permessage-deflate was not negotiated"
    bomb.send(b"\0" * 8_000_000)  # some 8 KB on the wire, 8 MB once inflated
    assert wait_for(lambda: bomb.close_code is not None)
    assert bomb.close_code == 1009
    error = lab.events.filter(side="server", kind="error", conn=bomb.conn)[0]
    assert f"exceeds limit of {MAX_SIZE} bytes" in (error.error or "")
    assert not lab.events.filter(side="server", kind="message", conn=bomb.conn)
    assert_echoes(healthy, "after")


def test_a_client_that_breaks_the_protocol_then_goes_silent_is_cut_off_after_close_timeout(
    lab: wslab.Lab, entry: wslab.Server | wslab.Wire, healthy: wslab.Client
) -> None:
    with RawClient(entry.port) as raw:
        raw.open()
        started = time.monotonic()
        raw.send(bad_frame(mask=False))
        assert raw.close_frame() is not None  # the server's 1002 … and the raw client never answers
        events = new_events(lab, healthy, 5, timeout=lab.settle_timeout + 2.0)
        took = time.monotonic() - started
    closed = only(events, "close")
    assert closed.code == 1006
    assert took < lab.settle_timeout + 1.5, f"the failed connection stayed open {took:.1f} s"
    assert_echoes(healthy, "after")
