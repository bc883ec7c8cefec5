"""The lab end to end on loopback: the seed's exchange, closes, errors, hooks, several clients."""

import os
import threading

import pytest

import wslab
from wslab import Lab

SEED_ORDER = [
    "client:connecting",
    "server:upgrade",
    "server:accept",
    "server:connection",
    "client:open",
    "server:send",
    "client:message",
    "client:send",
    "server:message",
    "server:send",
    "client:message",
    "client:closing",
    "server:close",
    "client:close",
]


def seed_exchange(lab: Lab) -> None:
    server = lab.serve(welcome="Bienvenue sur le serveur WebSocket")
    client = lab.connect(server)
    client.send("Bonjour serveur!")
    client.close()


def test_the_seed_exchange_records_all_eight_events_in_order(lab):
    seed_exchange(lab)
    events = lab.events
    assert events.kinds() == SEED_ORDER
    client_kinds = {e.kind for e in events.filter(side="client")}
    server_kinds = {e.kind for e in events.filter(side="server")}
    assert {"open", "message", "close"} <= client_kinds
    assert {"connection", "message", "close"} <= server_kinds
    assert [e.conn for e in events] == ["c1"] * len(SEED_ORDER)


def test_the_seed_exchange_carries_the_seed_data(lab):
    seed_exchange(lab)
    messages = lab.events.filter(kind="message")
    assert [(e.side, e.data) for e in messages] == [
        ("client", "Bienvenue sur le serveur WebSocket"),
        ("server", "Bonjour serveur!"),
        ("client", "Serveur a reçu : Bonjour serveur!"),
    ]
    assert messages[1].size == 16
    assert messages[2].size == len("Serveur a reçu : Bonjour serveur!".encode())
    closes = lab.events.filter(kind="close")
    assert [(e.side, e.code, e.initiator) for e in closes] == [
        ("server", 1000, "client"),
        ("client", 1000, "client"),
    ]


def test_the_upgrade_and_101_carry_their_headers(lab):
    server = lab.serve()
    lab.connect(server)
    upgrade = lab.events.filter(kind="upgrade")[0]
    accept = lab.events.filter(kind="accept")[0]
    request_headers = {k.lower(): v for k, v in upgrade.headers or ()}
    response_headers = {k.lower(): v for k, v in accept.headers or ()}
    assert upgrade.detail == "GET / HTTP/1.1"
    assert request_headers["upgrade"] == "websocket"
    assert "sec-websocket-key" in request_headers
    assert accept.detail == "101 Switching Protocols"
    assert "sec-websocket-accept" in response_headers


def test_the_same_cells_give_the_same_table_every_run():
    def run() -> str:
        with Lab(clock="logical", name="determinism") as lab:
            seed_exchange(lab)
            return lab.events.to_text()

    assert run() == run()


def test_a_new_lab_with_the_same_name_closes_the_old_one():
    first = Lab(name="rerun")
    first.connect(first.serve())
    second = Lab(name="rerun")
    try:
        assert first.closed and not second.closed
        second.connect(second.serve())
    finally:
        second.close()


def test_close_leaves_no_thread_task_or_socket_behind():
    def open_fds() -> int:
        return len(os.listdir("/proc/self/fd"))

    threads_before = set(threading.enumerate())
    fds_before = open_fds()
    lab = Lab(name="leaks")
    server = lab.serve(welcome="hi")
    clients = [lab.connect(server) for _ in range(3)]
    clients[0].send("x")
    clients[1].close()
    loop = lab.bridge.loop.loop
    lab.close()
    lab.close()  # twice is fine
    assert loop.is_closed()
    assert set(threading.enumerate()) == threads_before
    assert open_fds() == fds_before
    with pytest.raises(wslab.WslabError, match="this lab is closed"):
        lab.serve()


def test_lab_close_closes_open_connections_with_1001(lab):
    server = lab.serve()
    lab.connect(server)
    lab.close()
    closes = lab.events.filter(kind="close")
    assert sorted((e.side, e.code) for e in closes) == [("client", 1001), ("server", 1001)]
