"""The lab's client against hostile servers: bad answers and bad frames give the client the RFC 6455
close code, an ``error`` event saying why before its ``close``, and never a hang.

Every attack runs twice: straight from the server, and through a wire in front of it, which must
give the client the same answer (it passes on what it cannot parse as it came)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest
from _attack import HostileServer, bad_frame, wait_for
from websockets.frames import Frame, Opcode

import wslab

TIMEOUT = 2.0


@pytest.fixture
def lab(request: pytest.FixtureRequest) -> Iterator[wslab.Lab]:
    lab = wslab.Lab(clock="logical", timeout=TIMEOUT, settle=0.5, name=f"hostile-{request.node.name}")
    yield lab
    lab.close()


@pytest.fixture(params=["direct", "wire"])
def route(request: pytest.FixtureRequest, lab: wslab.Lab) -> Callable[[HostileServer], str]:
    """How the client reaches a hostile server: its URL, or a wire in front of it."""
    if request.param == "direct":
        return lambda hostile: hostile.url
    return lambda hostile: lab.wire(hostile.url).url


ANSWERS = [
    ("not_http", b"SSH-2.0-OpenSSH_9.6\r\n", "did not receive a valid HTTP response"),
    (
        "plain_200",
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi",
        "the server answered HTTP 200 OK, not 101",
    ),
    (
        "http_1_0",
        b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nhi",
        "unsupported protocol; expected HTTP/1.1: HTTP/1.0 200 OK",
    ),
    (
        "101_without_accept_key",
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
        "missing Sec-WebSocket-Accept header",
    ),
]


@pytest.mark.parametrize(("answer", "words"), [a[1:] for a in ANSWERS], ids=[a[0] for a in ANSWERS])
def test_a_bad_handshake_answer_fails_the_connect_with_error_then_close_1006(
    lab: wslab.Lab, route: Callable[[HostileServer], str], answer: bytes, words: str
) -> None:
    with (
        HostileServer(answer, handshake=False, hang_up=True) as hostile,
        pytest.raises(wslab.ConnectionFailed),
    ):
        lab.connect(route(hostile))
    error, closed = (lab.events.filter(side="client", kind=k) for k in ("error", "close"))
    assert len(error) == 1 and words in (error[0].error or "")
    assert [e.code for e in closed] == [1006] and error[0].seq < closed[0].seq


def test_a_server_that_never_answers_the_handshake_times_out(
    lab: wslab.Lab, route: Callable[[HostileServer], str]
) -> None:
    with HostileServer(b"", handshake=False) as hostile:
        started = time.monotonic()
        with pytest.raises(wslab.ConnectionFailed, match="timed out"):
            lab.connect(route(hostile))
        assert time.monotonic() - started < TIMEOUT + 1.0
    assert [e.code for e in lab.events.filter(side="client", kind="close")] == [1006]


FRAMES = [
    ("masked_server_frame", bad_frame(mask=True), 1002, "incorrect masking"),
    ("reserved_opcode", bad_frame(mask=False, raw_opcode=0x5), 1002, "invalid opcode"),
    ("rsv2_bit", bytes([0xA1]) + bad_frame(mask=False)[1:], 1002, "reserved bits must be 0"),
    ("invalid_utf8", bad_frame(mask=False, data=b"\xed\xa0\x80"), 1007, "invalid continuation byte"),
    (
        "too_big_for_the_client",
        Frame(Opcode.BINARY, b"x" * 2000).serialize(mask=False),
        1009,
        "exceeds limit of 1000 bytes",
    ),
]


@pytest.mark.parametrize(("attack", "code", "words"), [f[1:] for f in FRAMES], ids=[f[0] for f in FRAMES])
def test_a_bad_frame_from_the_server_gives_the_client_its_close_code_and_an_error(
    lab: wslab.Lab, route: Callable[[HostileServer], str], attack: bytes, code: int, words: str
) -> None:
    with HostileServer(attack) as hostile:
        client = lab.connect(route(hostile), max_size=1000)
        assert wait_for(lambda: client.close_code is not None, TIMEOUT * 2)
        # the hostile server never closes the TCP connection: the client gives up after its
        # close_timeout (the lab's settle time) instead of the 10 s websockets default
    error = lab.events.filter(side="client", kind="error")
    closed = lab.events.filter(side="client", kind="close")
    assert (
        len(error) == 1 and words in (error[0].error or "") and f"answered {code}" in (error[0].error or "")
    )
    assert len(closed) == 1 and error[0].seq < closed[0].seq
    assert client.state is wslab.State.CLOSED
    assert hostile.received.startswith(bytes([0x88]))  # the client did send its close frame
    with pytest.raises(wslab.NotConnected):
        client.send("after")


def test_a_server_that_vanishes_mid_frame_gives_the_client_1006(
    lab: wslab.Lab, route: Callable[[HostileServer], str]
) -> None:
    with HostileServer(bad_frame(mask=False, data=b"a" * 100)[:20], hang_up=True) as hostile:
        client = lab.connect(route(hostile))
        assert wait_for(lambda: client.close_code is not None, TIMEOUT * 2)
    assert client.close_code == 1006
    assert not lab.events.filter(side="client", kind="error")  # a drop is no error in a browser
    closed = lab.events.filter(side="client", kind="close")[0]
    assert "the TCP connection dropped" in (closed.detail or "") and closed.was_clean is False
