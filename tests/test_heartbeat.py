"""Heartbeats: pings and pongs made visible, and a dead peer detected by its missing pong."""


def test_pings_are_not_recorded_unless_asked(lab):
    client = lab.connect(lab.serve())
    client.ping("hello")
    assert not lab.events.filter(kind=("ping", "pong"))


def test_a_ping_and_its_automatic_pong_are_recorded_on_both_ends(lab):
    client = lab.connect(lab.serve(record_pings=True), record_pings=True)
    latency = client.ping("hello")
    assert 0 <= latency < 1
    rows = [(e.side, e.kind, e.detail, e.data) for e in lab.events.filter(kind=("ping", "pong"))]
    assert rows == [
        ("client", "ping", "sent", b"hello"),
        ("server", "ping", "received", b"hello"),
        ("server", "pong", "sent automatically in answer", b"hello"),
        ("client", "pong", "received", b"hello"),
    ]


def test_a_peer_that_stops_answering_is_closed_by_the_keepalive_timeout(lab):
    server = lab.serve(ping_interval=0.2, ping_timeout=0.2, record_pings=True)
    client = lab.connect(server)
    client.stall(1.5)
    client.wait_closed(timeout=4)
    error = lab.events.filter(side="server", kind="error")[0]
    assert "keepalive ping timeout" in (error.error or "")
    assert lab.events.filter(side="server", kind="ping")[0].detail == "sent"
    assert client.close_code == 1011 and client.close_reason == "keepalive ping timeout"
