"""The layout: which lifelines, which rows (wslab/diagram/layout.py), read through the text output."""

from collections.abc import Sequence

import pytest
from test_diagram import parse, seed_recorder, texts

from wslab.diagram import Diagram, sequence_svg, sequence_text
from wslab.diagram.layout import LayoutBuilder
from wslab.eventlog import EventLog
from wslab.events import KINDS, Event, FrameInfo
from wslab.recorder import LogicalClock, Recorder


def test_every_event_kind_but_frame_has_its_own_method():
    builder = LayoutBuilder([], "messages", "tick")
    assert set(builder.handlers) == set(KINDS) - {"frame"}  # frames belong to the wire's method


def test_handshake_arrows_say_upgrade_and_101():
    text = sequence_text(seed_recorder().snapshot())
    assert "client -> server: HTTP Upgrade GET /" in text
    assert "server --> client: 101 Switching Protocols" in text


def test_a_send_and_its_message_make_one_arrow():
    lines = sequence_text(seed_recorder().snapshot()).splitlines()
    assert sum("'Bonjour serveur!'" in line for line in lines) == 1
    assert any("client -> server: 'Bonjour serveur!' (16 B)" in line for line in lines)


def test_a_message_whose_send_is_not_in_the_window_still_gets_an_arrow():
    events = list(seed_recorder().snapshot())
    received = [e for e in events if e.kind == "message" and e.side == "server"]
    assert "client -> server: 'Bonjour serveur!' (16 B)" in sequence_text(received)


def test_close_handshake_shows_code_reason_and_who_started_it():
    text = sequence_text(seed_recorder().snapshot())
    assert "client -> server: Close 1000 normal closure 'bye' (started by client)" in text
    assert "server --> client: Close 1000 normal closure 'bye' (reply)" in text
    assert "[client] ■ closed 1000 'bye' · by client" in text


def test_several_clients_get_one_lifeline_each():
    r = Recorder(clock=LogicalClock())
    for n, name in enumerate(("client", "client2", "client3"), 1):
        r.record(side="client", kind="open", endpoint=name, conn=f"c{n}", peer="server")
        r.record(side="server", kind="connection", endpoint="server", conn=f"c{n}", peer=name)
    assert Diagram(r.snapshot()).lifelines == ["client", "server", "client2", "client3"]


def test_lifelines_come_in_order_of_appearance_each_peer_next_to_its_first_partner():
    r = Recorder(clock=LogicalClock())
    for conn, (client, server) in enumerate((("ana", "hub"), ("watcher", "ticker"), ("bob", "hub")), 1):
        r.record(side="client", kind="open", endpoint=client, conn=f"c{conn}", peer=server)
    assert Diagram(r.snapshot()).lifelines == ["ana", "hub", "watcher", "ticker", "bob"]


def test_a_failed_connection_is_red_and_never_opened():
    r = Recorder(clock=LogicalClock())
    r.record(side="client", kind="connecting", endpoint="client", conn="c1", data="ws://127.0.0.1:1/")
    r.record(side="client", kind="error", endpoint="client", conn="c1", error="connection refused")
    r.record(side="client", kind="close", endpoint="client", conn="c1", code=1006, reason="")
    diagram = Diagram(r.snapshot())
    assert diagram.lifelines == ["client", "remote"]
    text = diagram.to_text()
    assert "client -x remote: HTTP Upgrade GET / (failed)" in text
    assert "[client] ■ closed 1006: never opened" in text
    svg = diagram.svg
    red = [n for n in parse(svg).getElementsByTagName("text") if n.getAttribute("fill") == "#c62828"]
    assert {n.firstChild.data for n in red} >= {"✖ error: connection refused", "■ closed 1006: never opened"}
    assert "client-xremote: HTTP Upgrade GET / (failed)" in diagram.to_mermaid()
    assert "rect rgb(255, 205, 210)" in diagram.to_mermaid()


def test_a_rejected_handshake_is_a_red_arrow():
    r = Recorder(clock=LogicalClock())
    r.record(
        side="server", kind="upgrade", endpoint="server", conn="c1", peer="client", detail="GET /x HTTP/1.1"
    )
    r.record(
        side="server",
        kind="reject",
        endpoint="server",
        conn="c1",
        peer="client",
        code=403,
        detail="403 Forbidden",
    )
    text = sequence_text(r.snapshot())
    assert "client -> server: HTTP Upgrade GET /x" in text
    assert "server --> client: ✖ 403 Forbidden (handshake refused)" in text


def test_a_gap_over_a_second_on_a_wall_clock_gets_an_idle_note():
    def at(seq: int, time: int, kind: str) -> Event:
        return Event(
            seq=seq, time=time, side="client", kind=kind, endpoint="client", conn="c1", peer="server"
        )  # type: ignore[arg-type]

    events = EventLog(
        [at(1, 0, "open"), at(2, 2_500_000, "closing"), at(3, 2_600_000, "close")], time_unit="µs"
    )
    assert "note: ⏳ 2.5 s idle: nothing happened" in sequence_text(events)
    assert sequence_text(events).count("idle") == 1


def test_a_logical_clock_never_gets_idle_notes():
    events = EventLog(
        [Event(seq=i, time=i * 10_000_000, side="client", kind="open", endpoint="client") for i in (1, 2)]
    )
    assert "idle" not in sequence_text(events)


def wire_recorder() -> Recorder:
    r = Recorder(clock=LogicalClock())
    r.record(side="client", kind="send", endpoint="client", conn="c1", peer="server", data="hi", size=2)
    frame = FrameInfo(direction="client→server", opcode="TEXT", fin=True, masked=True, length=2)
    r.record(side="wire", kind="frame", endpoint="wire", conn="c1", data="hi", frame=frame)
    r.record(side="server", kind="message", endpoint="server", conn="c1", peer="client", data="hi", size=2)
    r.record(side="wire", kind="note", endpoint="wire", conn="c1", detail="hold: frames wait on the wire")
    r.record(side="wire", kind="note", endpoint="wire", conn="c1", detail="drop TEXT 'hi'", frame=frame)
    return r


def test_the_wire_lifeline_appears_only_with_frame_detail():
    log = wire_recorder().snapshot()
    assert Diagram(log).lifelines == ["client", "server"]
    frames = Diagram(log, detail="frames")
    assert frames.lifelines == ["client", "wire", "server"]
    assert "client -> wire: TEXT fin=1 masked len=2 'hi'" in frames.to_text()
    assert "note: ✎ hold: frames wait on the wire" in frames.to_text()
    assert "note: ✎ drop TEXT 'hi'" in frames.to_text()  # a note about a frame is still a note
    assert "hold" not in Diagram(log).to_text()  # wire remarks belong to the frame-level picture


def test_a_message_from_an_unnamed_peer_comes_from_a_remote_lifeline():
    r = Recorder(clock=LogicalClock())
    r.record(side="client", kind="message", endpoint="client", conn="c1", data="hi", size=2)
    diagram = Diagram(r.snapshot())
    assert diagram.lifelines == ["client", "remote"]
    assert "remote-->>client: 'hi' (2 B)" in diagram.to_mermaid()


def test_an_unknown_detail_is_refused():
    with pytest.raises(ValueError, match="detail must be"):
        sequence_svg([], detail="bytes")  # type: ignore[arg-type]


def long_log(count: int) -> EventLog:
    r = Recorder(clock=LogicalClock(), capacity=count)
    for i in range(count):
        r.record(
            side="client", kind="send", endpoint="client", conn="c1", peer="server", data=f"m{i}", size=2
        )
    return r.snapshot()


def test_only_the_last_events_are_drawn_and_the_earlier_ones_are_counted():
    diagram = Diagram(long_log(500), max_events=20)
    text = diagram.to_text()
    assert "(480 earlier events not drawn)" in text
    assert "'m499'" in text and "'m479'" not in text
    assert "… 480 earlier events not drawn" in texts(diagram.svg)
    assert "note over client,server: 480 earlier events not drawn" in diagram.to_mermaid()


class CountingSequence(Sequence[Event]):
    def __init__(self, events: Sequence[Event]) -> None:
        self.events = events
        self.reads = 0

    def __len__(self) -> int:
        return len(self.events)

    def __getitem__(self, index):  # type: ignore[no-untyped-def]
        self.reads += 1
        return self.events[index]


def test_drawing_reads_only_the_window_not_the_whole_history():
    events = CountingSequence(long_log(20_000))
    sequence_svg(events, max_events=60)
    assert events.reads == 60
