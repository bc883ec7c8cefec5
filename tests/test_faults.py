"""Faults a lesson injects into a client (wslab/_faults.py): a cut TCP connection, a frozen reader."""

import time


def test_dropping_the_client_tcp_gives_1006_on_both_ends_without_close_frames(lab):
    server = lab.serve()
    client = lab.connect(server)
    client.drop()
    closes = lab.events.filter(kind="close")
    assert [(e.side, e.code, e.initiator) for e in closes] == [("server", 1006, None), ("client", 1006, None)]
    assert "client:closing" not in lab.events.kinds()


def test_a_stalled_client_receives_nothing_until_the_stall_ends(lab):
    server = lab.serve()
    client = lab.connect(server)
    started = time.monotonic()
    client.stall(0.4)
    server.broadcast("while stalled")  # returns once the client got it
    assert time.monotonic() - started >= 0.35
    assert client.recv(timeout=0) == "while stalled"
    assert lab.events.filter(kind="note")[0].detail == "fault: the client stops reading for 0.4 s"
