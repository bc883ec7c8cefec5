"""Reconnection in the client (wslab/_retrying.py): a client that comes back by itself, or gives up, and what
happens to what it sends meanwhile."""

import time

import pytest
from _attack import TIMEOUT, wait_for

import wslab
from wslab import NotConnected, State
from wslab.reconnect import Reconnect


def fast(**kwargs) -> Reconnect:
    return Reconnect(base=0.05, factor=2, cap=0.2, jitter=0, **kwargs)


def test_the_client_reconnects_after_the_server_restarts(lab):
    server = lab.serve()
    client = lab.connect(server, reconnect=fast(max_attempts=5))
    server.kill()
    assert client.reconnecting and client.state is State.CONNECTING
    server.restart()
    client.wait_open()
    client.send("back")
    assert client.recv() == "Serveur a reçu : back"
    kinds = lab.events.filter(who="client").kinds()
    assert kinds[kinds.index("client:close") :][:3] == [
        "client:close",
        "client:reconnecting",
        "client:connecting",
    ]
    assert (client.conn, client.attempts) == ("c2", 2)


def test_each_failed_attempt_is_visible_and_the_client_gives_up(lab):
    server = lab.serve()
    client = lab.connect(server, reconnect=fast(max_attempts=3))
    server.kill()
    client.wait_closed()
    client_events = lab.events.filter(who="client")
    assert len(client_events.filter(kind="reconnecting")) == 3
    assert [e.detail for e in client_events.filter(kind="reconnecting")] == [
        "attempt 1 in 0.050 s",
        "attempt 2 in 0.100 s",
        "attempt 3 in 0.200 s",
    ]
    assert client_events[-1].error == "gave up reconnecting after 3 attempts"
    assert client.state is State.CLOSED


def test_messages_sent_while_disconnected_are_queued_then_sent(lab):
    server = lab.serve()
    client = lab.connect(server, reconnect=fast(max_attempts=5, queue=True))
    server.kill()
    client.send("kept for later")
    assert list(client.outbox) == ["kept for later"]
    server.restart()
    client.wait_open()
    assert client.recv() == "Serveur a reçu : kept for later"
    assert not client.outbox


def test_messages_sent_while_disconnected_are_refused_without_a_queue(lab):
    server = lab.serve()
    client = lab.connect(server, reconnect=fast(max_attempts=5))
    server.kill()
    with pytest.raises(NotConnected, match="reconnecting"):
        client.send("lost")
    server.restart()
    client.wait_open()


def test_a_close_the_client_asks_for_is_final(lab):
    server = lab.serve()
    client = lab.connect(server, reconnect=fast())
    client.close()
    lab.settle()
    assert not client.reconnecting
    assert "client:reconnecting" not in lab.events.kinds()


def test_a_dropped_connection_reconnects(lab):
    server = lab.serve()
    client = lab.connect(server, reconnect=fast())
    client.drop()
    client.wait_open()
    codes = [(e.side, e.code) for e in lab.events.filter(kind="close")]
    assert codes == [("server", 1006), ("client", 1006)]
    assert client.state is State.OPEN


def test_a_close_while_reconnecting_stops_the_attempts(lab):
    server = lab.serve()
    client = lab.connect(server, reconnect=Reconnect(base=5.0, jitter=0))
    server.kill()
    assert client.reconnecting
    client.close()
    assert not client.reconnecting and client.state is State.CLOSED


async def ban(message: object, peer: wslab.Peer) -> None:
    await peer.close(4001, "banned")


def test_no_reconnection_after_the_server_closes_on_purpose(lab: wslab.Lab) -> None:
    server = lab.serve(ban)
    policy = wslab.Reconnect(base=0.05, jitter=0, max_attempts=3)
    client = lab.connect(server, reconnect=policy)
    client.send("anything")
    client.wait_closed()
    time.sleep(0.2)
    assert not lab.events.filter(kind="reconnecting")
    assert "closed on purpose with 4001" in (lab.events.filter(side="client", kind="note")[-1].detail or "")


def test_reconnection_after_a_deliberate_close_when_asked(lab: wslab.Lab) -> None:
    server = lab.serve(ban)
    policy = wslab.Reconnect(base=0.05, jitter=0, max_attempts=3, retry_after_deliberate_close=True)
    client = lab.connect(server, reconnect=policy)
    client.send("anything")
    assert wait_for(lambda: bool(lab.events.filter(kind="reconnecting")), TIMEOUT)
    client.wait_open()
    client.close()
