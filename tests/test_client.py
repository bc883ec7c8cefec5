"""The client fires what a browser fires (WHATWG rules), checked against hand-made servers.

Each test names the browser behaviour it mirrors; tests/fidelity/ checks the same scenarios
against a real Chromium page.
"""

from __future__ import annotations

import socket
import struct
import threading
import time
from collections.abc import Iterator

import pytest
from websockets.frames import Close, Frame, Opcode
from websockets.http11 import Request
from websockets.server import ServerProtocol

import wslab
from tests._attack import TIMEOUT, HostileServer, wait_for
from wslab import ConnectionFailed, NotConnected, State, WslabTimeout
from wslab.describe import describe


def client_rows(lab: wslab.Lab) -> list[str]:
    """The browser's four events, as a browser page would log them."""
    rows = []
    for event in lab.events.filter(side="client"):
        if event.kind in ("open", "message", "error"):
            rows.append(event.kind)
        elif event.kind == "close":
            rows.append(f"close {event.code} wasClean={str(event.was_clean).lower()}")
    return rows


class SilentServer:
    """Accepts TCP connections and never answers: a handshake that never completes."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.listener.getsockname()[1])

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/"

    def close(self) -> None:
        self.listener.close()


@pytest.fixture
def silent() -> Iterator[SilentServer]:
    server = SilentServer()
    yield server
    server.close()


def test_a_normal_close_is_clean(lab: wslab.Lab) -> None:
    client = lab.connect(lab.serve())
    client.close(1000, "bye")
    closed = lab.events.filter(side="client", kind="close")[0]
    assert (closed.code, closed.reason, closed.was_clean) == (1000, "bye", True)
    assert not lab.events.filter(kind="error")


def test_a_server_close_with_no_code_is_1005_and_clean(lab: wslab.Lab) -> None:
    empty_close = Frame(Opcode.CLOSE, b"").serialize(mask=False, extensions=[])
    with HostileServer(empty_close) as hostile:
        client = lab.connect(hostile.url)
        assert wait_for(lambda: client.close_code is not None, TIMEOUT)
    assert client_rows(lab) == ["open", "close 1005 wasClean=true"]


def test_a_refused_connect_says_no_tcp_connection_was_made_and_names_the_url(lab: wslab.Lab) -> None:
    with socket.create_server(("127.0.0.1", 0)) as spare:
        port = spare.getsockname()[1]
    with pytest.raises(wslab.ConnectionFailed, match="no TCP connection was made"):
        lab.connect(f"ws://127.0.0.1:{port}/chat")
    assert client_rows(lab) == ["error", "close 1006 wasClean=false"]
    connecting = lab.events.filter(kind="connecting")[0]
    assert f"ws://127.0.0.1:{port}/chat" in describe(connecting)


def test_close_before_open_gives_error_then_close_1006_as_in_a_browser(
    lab: wslab.Lab, silent: SilentServer
) -> None:
    client = lab.connect(silent.url, wait=False)
    assert client.state.name == "CONNECTING"
    client.close()
    assert client_rows(lab) == ["error", "close 1006 wasClean=false"]
    assert "before the connection was established" in (lab.events.filter(kind="error")[0].error or "")
    assert client.state.name == "CLOSED"
    client.close()  # never silent: a second close says there was nothing to do
    assert "nothing to do" in (lab.events.filter(kind="note")[-1].detail or "")


def test_connect_without_waiting_opens_later_and_records_a_failure_without_raising(lab: wslab.Lab) -> None:
    server = lab.serve(welcome="hi")
    client = lab.connect(server, wait=False)
    client.wait_open()
    assert client.recv() == "hi"
    with socket.create_server(("127.0.0.1", 0)) as spare:
        port = spare.getsockname()[1]
    refused = lab.connect(f"ws://127.0.0.1:{port}/", wait=False, name="refused")
    refused.wait_closed()
    assert [e.kind for e in lab.events.filter(who="refused")][-2:] == ["error", "close"]


def test_open_timeout_is_honoured(silent: SilentServer) -> None:
    with wslab.Lab(clock="logical", timeout=5.0, settle=0.5) as lab:
        started = time.monotonic()
        with pytest.raises(wslab.ConnectionFailed, match=r"timed out after 0\.3 s"):
            lab.connect(silent.url, open_timeout=0.3)
        assert time.monotonic() - started < 2.0
        slow = SilentServer()
        try:  # a limit above the lab's own timeout is not cut short by it
            started = time.monotonic()
            with pytest.raises(wslab.ConnectionFailed, match=r"timed out after 6\.5 s"):
                lab.connect(slow.url, open_timeout=6.5)
            assert time.monotonic() - started >= 6.4
        finally:
            slow.close()


def test_a_subprotocol_the_server_does_not_grant_fails_the_connection(lab: wslab.Lab) -> None:
    server = lab.serve()
    with pytest.raises(wslab.ConnectionFailed, match="subprotocol chat"):
        lab.connect(server, subprotocols=["chat"])
    assert client_rows(lab) == ["error", "close 1006 wasClean=false"]
    error = lab.events.filter(side="client", kind="error")[0]
    assert "named none" in (error.error or "")


def test_a_granted_subprotocol_opens(lab: wslab.Lab) -> None:
    server = lab.serve(subprotocols=["chat"])
    client = lab.connect(server, subprotocols=["chat"])
    assert "subprotocol chat" in (lab.events.filter(kind="open")[0].detail or "")
    client.close()


def _close_then_reset(listener: socket.socket) -> None:
    """Handshake, send close 1000, read the client's close, then reset TCP (SO_LINGER 0)."""
    conn, _ = listener.accept()
    conn.settimeout(TIMEOUT)
    protocol = ServerProtocol()
    while not (requests := [e for e in protocol.events_received() if isinstance(e, Request)]):
        protocol.receive_data(conn.recv(65536))
    protocol.send_response(protocol.accept(requests[0]))
    for data in protocol.data_to_send():
        conn.sendall(data)
    conn.sendall(Frame(Opcode.CLOSE, Close(1000, "bye").serialize()).serialize(mask=False, extensions=[]))
    conn.recv(65536)  # the client's answering close frame
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()


def test_a_reset_after_a_completed_closing_handshake_is_no_error(lab: wslab.Lab) -> None:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        thread = threading.Thread(target=_close_then_reset, args=(listener,), daemon=True)
        thread.start()
        client = lab.connect(f"ws://127.0.0.1:{listener.getsockname()[1]}/")
        assert wait_for(lambda: client.close_code is not None, TIMEOUT)
        thread.join(TIMEOUT)
    assert client_rows(lab) == ["open", "close 1000 wasClean=true"]


def test_bad_data_from_the_server_fails_the_connection_error_then_1006(lab: wslab.Lab) -> None:
    bad_utf8 = Frame(Opcode.TEXT, b"\xff\xfe").serialize(mask=False, extensions=[])
    with HostileServer(bad_utf8) as hostile:
        client = lab.connect(hostile.url)
        assert wait_for(lambda: client.close_code is not None, TIMEOUT * 2)
    assert client_rows(lab) == ["open", "error", "close 1006 wasClean=false"]
    closed = lab.events.filter(side="client", kind="close")[0]
    assert "sent 1007" in (closed.detail or "")


def test_recv_returns_messages_in_order_and_times_out_clearly(lab):
    client = lab.connect(lab.serve(welcome="hi"))
    client.send("a")
    assert client.recv() == "hi"
    assert client.recv() == "Serveur a reçu : a"
    with pytest.raises(WslabTimeout, match=r"no message arrived within 0\.2 s"):
        client.recv(timeout=0.2)


def test_binary_messages_echo_as_bytes(lab):
    client = lab.connect(lab.serve())
    client.send(b"\x00\x01")
    assert client.recv() == b"\x00\x01"
    assert lab.events.filter(side="server", kind="message")[0].is_binary


def test_client_closes_with_a_code_and_reason_the_server_sees(lab):
    server = lab.serve()
    client = lab.connect(server)
    client.close(4000, "done here")
    server_close = lab.events.filter(side="server", kind="close")[0]
    assert (server_close.code, server_close.reason, server_close.initiator) == (4000, "done here", "client")
    assert client.state is wslab.State.CLOSED
    with pytest.raises(NotConnected):
        client.send("too late")


def test_a_refused_connection_gives_error_then_close_1006_like_a_browser(lab):
    server = lab.serve()
    url = server.url
    server.close()
    with pytest.raises(ConnectionFailed, match="connection refused"):
        lab.connect(url)
    tail = lab.events.filter(who="client")
    assert tail.kinds() == ["client:connecting", "client:error", "client:close"]
    assert tail[-1].code == 1006


def test_a_client_closing_with_1006_records_nothing_and_stays_open(lab):
    client = lab.connect(lab.serve())
    before = len(lab.events)
    with pytest.raises(ValueError, match="1006"):
        client.close(1006)
    assert len(lab.events) == before and client.state is State.OPEN
    client.close(1000)
    assert client.close_code == 1000


def test_wait_closed_returns_only_once_the_client_recorded_its_close(lab):
    # the wire keeps the client's answering close frame, so the server's end stays open a while:
    # the client's socket is closed before its close event can be recorded
    server = lab.serve()
    wire = lab.wire(server)
    client = lab.connect(wire)
    wire.hold("client→server")
    client.send("x")
    wire.corrupt("unmask")
    client.wait_closed()
    assert client.close_code == 1002
    assert lab.events.filter(side="client", kind="close")[-1].code == 1002


def test_close_to_a_peer_that_never_answers_ends_with_1006_after_the_settle_time() -> None:
    # Chromium fires the same close (1006, wasClean false) only when its closing handshake times out,
    # about 60 s after close(); Node ws's client after its closeTimeout, 30 s (docs/fidelity.md).
    with HostileServer() as deaf, wslab.Lab(clock="logical", settle=0.5) as lab:  # 101, then silence
        client = lab.connect(deaf.url)
        started = time.monotonic()
        client.close()
        assert 0.4 < time.monotonic() - started < 2.0
        assert client_rows(lab) == ["open", "close 1006 wasClean=false"]
        assert "no close frame came back" in (lab.events.filter(kind="close")[0].detail or "")
        assert deaf.received.startswith(bytes([0x88]))  # the close frame went out, unanswered


def test_a_close_timeout_longer_than_the_labs_timeout_is_honoured() -> None:
    with HostileServer() as deaf, wslab.Lab(clock="logical", timeout=1.0, settle=0.5) as lab:
        client = lab.connect(deaf.url, close_timeout=2.5)  # longer than the lab's 1 s: waits like a browser
        started = time.monotonic()
        client.close()
        assert 2.3 < time.monotonic() - started < 4.0
        assert client_rows(lab) == ["open", "close 1006 wasClean=false"]
