"""Fault injection: each fault is one call and leaves clear events."""

import time

import pytest

from wslab import NotConnected, State


def test_killing_the_server_cuts_every_connection_with_1006(lab):
    server = lab.serve()
    a, b = lab.connect(server), lab.connect(server)
    server.kill()
    assert not server.serving
    assert a.state is State.CLOSED and b.state is State.CLOSED
    assert lab.events.filter(kind="note")[0].detail == "fault: server is killed; its connections are cut"
    assert sorted({e.code for e in lab.events.filter(kind="close")}) == [1006]
    assert len(lab.events.filter(kind="close")) == 4


def test_a_restarted_server_listens_on_the_same_port(lab):
    server = lab.serve()
    port = server.port
    server.kill()
    server.restart()
    assert server.serving and server.port == port
    client = lab.connect(server)
    client.send("again")
    assert client.recv() == "Serveur a reçu : again"


def test_dropping_the_client_tcp_gives_1006_on_both_ends_without_close_frames(lab):
    server = lab.serve()
    client = lab.connect(server)
    client.drop()
    closes = lab.events.filter(kind="close")
    assert [(e.side, e.code, e.initiator) for e in closes] == [("server", 1006, None), ("client", 1006, None)]
    assert "client:closing" not in lab.events.kinds()


def test_fail_next_makes_the_handler_raise_once_with_1011(lab):
    server = lab.serve()
    first = lab.connect(server)
    server.fail_next(ValueError("planned"))
    first.send("x")
    assert lab.events.filter(side="server", kind="error")[0].error == "handler raised ValueError: planned"
    assert first.close_code == 1011
    second = lab.connect(server)
    second.send("y")
    assert second.recv() == "Serveur a reçu : y"


def test_a_stalled_client_receives_nothing_until_the_stall_ends(lab):
    server = lab.serve()
    client = lab.connect(server)
    started = time.monotonic()
    client.stall(0.4)
    server.broadcast("while stalled")  # returns once the client got it
    assert time.monotonic() - started >= 0.35
    assert client.recv(timeout=0) == "while stalled"
    assert lab.events.filter(kind="note")[0].detail == "fault: the client stops reading for 0.4 s"


def test_the_registry_keeps_a_bounded_number_of_closed_connections(lab, monkeypatch):
    import wslab.server

    monkeypatch.setattr(wslab.server, "KEEP_CLOSED", 3)
    server = lab.serve()
    for _ in range(5):
        lab.connect(server).close()
    still_open = lab.connect(server)
    assert [p.id for p in server.registry] == ["c3", "c4", "c5", still_open.conn]
    assert len(lab.events.filter(side="server", kind="close")) == 5  # the events keep the whole story


def test_sending_to_a_client_that_is_gone_is_an_error_event_and_raises(lab):
    server = lab.serve()
    client = lab.connect(server)
    client.drop()
    with pytest.raises(NotConnected, match="connection c1 is closed"):
        server.send(client.conn, "anyone there?")
    assert lab.events[-1].error == "send failed: connection c1 is closed"
