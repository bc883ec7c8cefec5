"""Lifecycle faults: a server or a client killed mid-exchange, notebook cells run again, closing
twice, closing with connections still open. Nothing hangs, nothing is left behind."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pytest
from _attack import RawClient, wait_for

import wslab
from wslab.reconnect import Reconnect

TIMEOUT = 3.0
SETTLE = 1.0

ECHO_SERVER = """
import asyncio, sys
from websockets.asyncio.server import serve

async def echo(ws):
    async for message in ws:
        await ws.send(message)

async def main(port):
    async with serve(echo, "127.0.0.1", port) as server:
        print(server.sockets[0].getsockname()[1], flush=True)
        await asyncio.Future()

asyncio.run(main(int(sys.argv[1])))
"""


def start_echo_server(port: int = 0) -> tuple[subprocess.Popen[str], int]:
    """A plain websockets echo server in another process, so it can really be killed."""
    proc = subprocess.Popen([sys.executable, "-c", ECHO_SERVER, str(port)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.strip().isdigit(), "the echo server did not start"
    return proc, int(line)


def kill(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=5)
    if proc.stdout is not None:
        proc.stdout.close()


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def lab_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("wslab-") and t.is_alive()]


@pytest.fixture
def lab(request: pytest.FixtureRequest) -> Iterator[wslab.Lab]:
    lab = wslab.Lab(clock="logical", timeout=TIMEOUT, settle=SETTLE, name=f"lifecycle-{request.node.name}")
    yield lab
    lab.close()


def test_a_server_killed_mid_exchange_gives_the_client_1006_and_no_error_as_a_browser_does(
    lab: wslab.Lab,
) -> None:
    proc, port = start_echo_server()
    try:
        client = lab.connect(f"ws://127.0.0.1:{port}/")
        client.send("before")
        assert client.recv() == "before"
    finally:
        kill(proc)
    assert wait_for(lambda: client.close_code is not None, TIMEOUT)
    assert client.close_code == 1006
    closed = lab.events.filter(side="client", kind="close")[-1]
    assert not lab.events.filter(side="client", kind="error")
    assert closed.code == 1006 and closed.was_clean is False
    assert "the TCP connection dropped" in (closed.detail or "")
    with pytest.raises(wslab.NotConnected):
        client.send("after")


def test_a_client_with_reconnect_comes_back_when_the_killed_server_restarts(lab: wslab.Lab) -> None:
    proc, port = start_echo_server()
    try:
        client = lab.connect(
            f"ws://127.0.0.1:{port}/", reconnect=Reconnect(base=0.2, factor=1.0, jitter=0, max_attempts=20)
        )
        client.send("one")
        assert client.recv() == "one"
    finally:
        kill(proc)
    assert wait_for(lambda: bool(lab.events.filter(side="client", kind="reconnecting")), TIMEOUT)
    proc, _ = start_echo_server(port)  # the same port: it must be free again at once
    try:
        assert wait_for(lambda: len(lab.events.filter(side="client", kind="open")) == 2, TIMEOUT * 2)
        client.send("two")
        assert client.recv() == "two"
        assert lab.events.filter(side="client", kind="close")[0].code == 1006
    finally:
        kill(proc)


@pytest.mark.parametrize("how", ["reset", "fin"])
def test_a_client_killed_mid_exchange_gives_the_server_1006_and_no_error_as_node_ws_does(
    lab: wslab.Lab, how: str
) -> None:
    server = lab.serve()
    healthy = lab.connect(server, name="healthy")
    raw = RawClient(server.port)
    raw.open()
    if how == "reset":
        raw.abort()
    else:
        raw.close()
    assert wait_for(lambda: len(lab.events.filter(side="server", kind="close")) == 1, TIMEOUT)
    closed = lab.events.filter(side="server", kind="close")[0]
    assert not lab.events.filter(side="server", kind="error", conn=closed.conn)
    assert closed.code == 1006 and closed.was_clean is False
    assert "the TCP connection dropped" in (closed.detail or "")
    healthy.send("still")
    assert healthy.recv() == "Serveur a reçu : still"


def test_a_lab_client_killed_in_another_process_gives_the_server_1006(lab: wslab.Lab) -> None:
    server = lab.serve()
    code = (
        "import sys, time\n"
        "from websockets.sync.client import connect\n"
        f"ws = connect('ws://127.0.0.1:{server.port}/')\n"
        "ws.send('hello'); print(ws.recv(), flush=True); time.sleep(30)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "Serveur a reçu : hello"
    finally:
        kill(proc)
    assert wait_for(lambda: bool(lab.events.filter(side="server", kind="close")), TIMEOUT)
    assert lab.events.filter(side="server", kind="close")[0].code == 1006


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_running_the_same_cells_again_reuses_the_port_and_closes_the_old_lab() -> None:
    port = free_port()
    labs = []
    for run in range(3):  # a notebook run from the top three times
        lab = wslab.Lab(clock="logical", timeout=TIMEOUT, settle=SETTLE, name="rerun")
        labs.append(lab)
        server = lab.serve(port=port)
        client = lab.connect(server)
        client.send(f"run {run}")
        assert client.recv() == f"Serveur a reçu : run {run}"
        assert [e.seq for e in lab.events][:1] == [1]  # a fresh recording each time
    assert [lab.closed for lab in labs] == [True, True, False]
    first_kinds = labs[0].events.filter(side="client").kinds()
    assert first_kinds[-1] == "client:close"
    labs[-1].close()
    assert lab_threads() == []


def test_closing_twice_is_harmless_and_later_calls_say_the_lab_is_closed() -> None:
    lab = wslab.Lab(clock="logical", timeout=TIMEOUT, settle=SETTLE, name="twice")
    server = lab.serve()
    client = lab.connect(server)
    client.close()
    client.close()
    server.close()
    server.close()
    lab.close()
    lab.close()
    assert lab.closed
    with pytest.raises(wslab.WslabError, match="this lab is closed"):
        lab.serve()
    with pytest.raises(wslab.WslabError, match="this lab is closed"):
        client.send("x")
    closes = lab.events.filter(kind="close")
    assert len(closes) == 2  # one per side, not one per close() call


def test_closing_the_lab_with_connections_open_closes_them_all_and_leaves_nothing() -> None:
    fds_before, threads_before = open_fds(), lab_threads()
    lab = wslab.Lab(clock="logical", timeout=TIMEOUT, settle=SETTLE, name="open-at-close")
    server = lab.serve(open_timeout=TIMEOUT)
    clients = [lab.connect(server) for _ in range(5)]
    raw = RawClient(server.port)
    raw.open()  # a client that will never answer the close
    slow = RawClient(server.port)
    slow.send(b"GET / HTTP/1.1\r\n")  # a handshake still pending
    started = time.monotonic()
    lab.close()
    took = time.monotonic() - started
    raw.close()
    slow.close()
    assert took < TIMEOUT + 2 * SETTLE, f"lab.close() took {took:.1f} s"
    assert all(c.state is wslab.State.CLOSED for c in clients)
    assert {c.close_code for c in clients} == {1001}
    server_closes = lab.events.filter(side="server", kind="close")
    assert len(server_closes) == 6  # five lab clients and the raw one
    assert lab_threads() == threads_before
    assert wait_for(lambda: open_fds() <= fds_before, 2.0), (fds_before, open_fds())
