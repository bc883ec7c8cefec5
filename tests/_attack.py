"""Raw TCP attackers for the robustness tests: just enough HTTP and WebSocket to misbehave.

Requests are written as bytes so they can be wrong on purpose; frames are built with websockets'
own ``Frame.serialize`` and, where the attack is a frame websockets refuses to build (reserved
bits, a reserved opcode, a fragmented ping), one header bit is flipped afterwards. Everything the
server sends back is parsed by websockets' own sans-I/O ``ClientProtocol``: no hand-written parser.
Every socket has a timeout, so no test can hang on a silent server.
"""

from __future__ import annotations

import base64
import os
import socket
import threading
import time
from collections.abc import Callable, Iterable

from websockets.client import ClientProtocol
from websockets.frames import Close, Frame, Opcode
from websockets.http11 import Request, Response
from websockets.protocol import State
from websockets.server import ServerProtocol
from websockets.uri import parse_uri

__all__ = [
    "HostileServer",
    "RawClient",
    "bad_frame",
    "handshake",
    "request",
    "wait_for",
]

TIMEOUT = 5.0


def request(
    path: str = "/",
    *,
    key: str | None = "auto",
    version: str | None = "13",
    upgrade: bool = True,
    extra: Iterable[tuple[str, str]] = (),
    method: str = "GET",
) -> bytes:
    """An opening-handshake request; pass ``key=None``/``version=None`` to leave a header out."""
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
    if upgrade:
        lines += ["Upgrade: websocket", "Connection: Upgrade"]
    if key == "auto":
        key = base64.b64encode(os.urandom(16)).decode()
    if key is not None:
        lines.append(f"Sec-WebSocket-Key: {key}")
    if version is not None:
        lines.append(f"Sec-WebSocket-Version: {version}")
    lines += [f"{name}: {value}" for name, value in extra]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def bad_frame(
    opcode: Opcode = Opcode.TEXT,
    data: bytes = b"x",
    *,
    mask: bool = True,
    fin: bool = True,
    rsv1: bool = False,
    raw_opcode: int | None = None,
) -> bytes:
    """A frame from websockets' serializer, then bent: clear FIN, set RSV1, or a reserved opcode."""
    wire = bytearray(Frame(opcode, data).serialize(mask=mask))
    if not fin:
        wire[0] &= 0x7F
    if rsv1:
        wire[0] |= 0x40
    if raw_opcode is not None:
        wire[0] = (wire[0] & 0xF0) | raw_opcode
    return bytes(wire)


class RawClient:
    """A blocking TCP client with a websockets sans-I/O protocol to read what the server says."""

    def __init__(self, port: int, timeout: float = TIMEOUT) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.protocol = ClientProtocol(parse_uri(f"ws://127.0.0.1:{port}/"))
        self.eof = False

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _pump(self) -> bool:
        """Read once from the socket into the protocol; False at EOF or reset."""
        if self.eof:
            return False
        try:
            data = self.sock.recv(65536)
        except (ConnectionResetError, BrokenPipeError):
            data = b""
        if not data:
            self.eof = True
            self.protocol.receive_eof()
            return False
        self.protocol.receive_data(data)
        return True

    def response(self) -> Response | None:
        """The server's HTTP response (None if it hung up without one)."""
        while True:
            for event in self.protocol.events_received():
                if isinstance(event, Response):
                    return event
            if not self._pump():
                for event in self.protocol.events_received():
                    if isinstance(event, Response):
                        return event
                return None

    def open(self, path: str = "/") -> None:
        """A correct opening handshake; the protocol is OPEN afterwards."""
        req = self.protocol.connect()
        req.path = path
        self.protocol.send_request(req)
        self.flush()
        response = self.response()
        assert response is not None and response.status_code == 101, response
        assert self.protocol.state is State.OPEN

    def flush(self) -> None:
        for data in self.protocol.data_to_send():
            if data:
                self.sock.sendall(data)

    def close_frame(self) -> Close | None:
        """Read until the server's close frame (or EOF); the close it sent, or None for none."""
        while self.protocol.close_rcvd is None:
            self.protocol.events_received()
            if not self._pump():
                break
        return self.protocol.close_rcvd

    def messages(self, count: int) -> list[Frame]:
        """Read ``count`` data frames."""
        got: list[Frame] = []
        while len(got) < count:
            got += [e for e in self.protocol.events_received() if isinstance(e, Frame)]
            if len(got) >= count or not self._pump():
                break
        return got

    def hangs_up(self) -> bool:
        """True when the server closes the TCP connection within the socket timeout."""
        try:
            while self._pump():
                pass
        except TimeoutError:
            return False
        return True

    def abort(self) -> None:
        """Drop the connection with a RST: no closing handshake, no FIN."""
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        self.sock.close()

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> RawClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.sock.close()


def handshake(port: int, raw: bytes, timeout: float = TIMEOUT) -> Response | None:
    """Send ``raw`` as the opening handshake; the server's response, or None if it just hung up."""
    with RawClient(port, timeout) as client:
        client.send(raw)
        return client.response()


def wait_for(predicate: Callable[[], bool], timeout: float = TIMEOUT, step: float = 0.01) -> bool:
    """Poll ``predicate`` until true or ``timeout`` seconds pass (events land on another thread)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()


class HostileServer:
    """A one-connection TCP server in a thread that misbehaves after (or instead of) the handshake.

    ``handshake=True`` answers the opening handshake properly (websockets' sans-I/O
    ``ServerProtocol`` builds the 101), then sends ``then`` as raw bytes; ``handshake=False``
    sends ``then`` in place of any HTTP response. ``hang_up`` closes the socket afterwards,
    otherwise it stays open (silent) until :meth:`close`.
    """

    def __init__(self, then: bytes = b"", *, handshake: bool = True, hang_up: bool = False) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(TIMEOUT)
        self.port = int(self.listener.getsockname()[1])
        self.then, self.handshake, self.hang_up = then, handshake, hang_up
        self.received = b""
        self._conn: socket.socket | None = None
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="hostile-server", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/"

    def _serve(self) -> None:
        try:
            conn, _ = self.listener.accept()
        except OSError:
            return
        self._conn = conn
        conn.settimeout(TIMEOUT)
        try:
            if self.handshake:
                protocol = ServerProtocol()
                while not (requests := [e for e in protocol.events_received() if isinstance(e, Request)]):
                    data = conn.recv(65536)
                    if not data:
                        return
                    protocol.receive_data(data)
                protocol.send_response(protocol.accept(requests[0]))
                for data in protocol.data_to_send():
                    conn.sendall(data)
            else:
                conn.recv(65536)
            conn.sendall(self.then)
            if self.hang_up:
                conn.close()
                return
            while not self._done.is_set():  # read (and keep) whatever the client says until closed
                try:
                    data = conn.recv(65536)
                except TimeoutError:
                    continue
                if not data:
                    break
                self.received += data
        except OSError:
            pass

    def close(self) -> None:
        self._done.set()
        if self._conn is not None:
            self._conn.close()
        self.listener.close()
        self._thread.join(TIMEOUT)

    def __enter__(self) -> HostileServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
