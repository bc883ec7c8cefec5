"""Automatic reconnection: the policy's schedule, and a client that comes back by itself."""

import pytest

from wslab import NotConnected, State
from wslab.reconnect import Reconnect


def test_backoff_grows_by_the_factor_up_to_the_cap():
    policy = Reconnect(base=0.1, factor=2, cap=1.0, jitter=0, max_attempts=6)
    assert policy.schedule() == [0.1, 0.2, 0.4, 0.8, 1.0, 1.0]


def test_jitter_spreads_delays_within_bounds_and_a_seed_repeats_them():
    policy = Reconnect(base=1.0, factor=1, cap=1.0, jitter=0.5, max_attempts=50, jitter_seed=7)
    delays = policy.schedule(50)
    assert all(0.5 <= d <= 1.5 for d in delays)
    assert len(set(delays)) > 10
    assert delays == Reconnect(
        base=1.0, factor=1, cap=1.0, jitter=0.5, max_attempts=50, jitter_seed=7
    ).schedule(50)


def test_max_attempts_bounds_the_schedule_and_none_means_forever():
    assert len(list(Reconnect(max_attempts=3).delays())) == 3
    assert len(Reconnect(max_attempts=None).schedule(100)) == 100


@pytest.mark.parametrize(
    "kwargs", [{"base": -1}, {"factor": 0.5}, {"jitter": 2}, {"max_attempts": 0}], ids=str
)
def test_nonsense_policies_are_refused(kwargs):
    with pytest.raises(ValueError):
        Reconnect(**kwargs)


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
