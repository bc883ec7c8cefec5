"""The server (wslab/server.py): Node ws's four events, its faults, its registry and its guards."""

from __future__ import annotations

import socket
import warnings

import pytest

import wslab
from wslab import NotConnected, State

SECRET = "s3cret-Tok3n"


def test_server_closes_one_connection_with_a_code_the_client_sees(lab):
    async def close_on_message(message, peer):
        await peer.close(4001, "bye from server")

    client = lab.connect(lab.serve(close_on_message))
    client.send("please close")
    lab.settle()
    client_close = lab.events.filter(side="client", kind="close")[0]
    assert (client_close.code, client_close.reason, client_close.initiator) == (
        4001,
        "bye from server",
        "server",
    )


def test_an_exception_in_the_server_handler_closes_with_1011(lab):
    def broken(message, peer):
        raise ValueError("bad input")

    client = lab.connect(lab.serve(broken))
    client.send("x")
    lab.settle()
    error = lab.events.filter(side="server", kind="error")[0]
    assert error.error == "handler raised ValueError: bad input"
    assert isinstance(error.exc, ValueError)
    assert lab.events.filter(side="client", kind="close")[0].code == 1011


def test_two_clients_get_their_own_connection_ids_and_broadcast_reaches_both(lab):
    server = lab.serve(echo=None)
    alice = lab.connect(server, name="alice")
    bob = lab.connect(server)
    assert (alice.conn, bob.conn, bob.name) == ("c1", "c2", "client")
    assert server.broadcast("hello all") == 2
    assert alice.recv() == bob.recv() == "hello all"
    assert [p.id for p in server.connections] == ["c1", "c2"]


def test_a_handler_closing_with_a_reserved_code_is_a_handler_error_1011(lab):
    async def handler(message, peer):
        await peer.close(1005)

    client = lab.connect(lab.serve(handler))
    client.send("x")
    client.wait_closed()
    errors = lab.events.filter(side="server", kind="error")
    assert "1005" in (errors[0].error or "")
    assert client.close_code == 1011


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


def test_a_server_binds_loopback_by_default_and_says_nothing(lab: wslab.Lab) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        server = lab.serve()
    assert server.host == "127.0.0.1"
    assert server._ws_server is not None
    assert {s.getsockname()[0] for s in server._ws_server.sockets} == {"127.0.0.1"}
    assert not lab.events.filter(kind="note")


def test_a_server_bound_beyond_loopback_warns_loudly(lab: wslab.Lab) -> None:
    with pytest.warns(UserWarning, match="not on loopback: other machines can connect"):
        server = lab.serve(host="0.0.0.0")
    notes = lab.events.filter(side="server", kind="note")
    assert len(notes) == 1 and "not an internet-facing server" in (notes[0].detail or "")
    client = lab.connect(f"ws://127.0.0.1:{server.port}/")
    client.send("still works")
    assert client.recv() == "Serveur a reçu : still works"


def test_the_server_never_listens_on_a_port_it_was_not_told_about(lab: wslab.Lab) -> None:
    server = lab.serve()
    assert server._ws_server is not None
    sockets = list(server._ws_server.sockets)
    assert len(sockets) == 1 and sockets[0].family == socket.AF_INET
