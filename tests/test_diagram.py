"""The sequence diagram: its structure, golden SVG and mermaid files, windowing and escaping."""

import itertools
import os
import re
import subprocess
import sys
import xml.dom.minidom
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import unquote

import pytest

from wslab.diagram import FLOOR_FONT, Diagram, Mermaid, sequence_svg, sequence_text, to_mermaid
from wslab.eventlog import EventLog
from wslab.events import Event, FrameInfo
from wslab.recorder import LogicalClock, Recorder

GOLDEN = Path(__file__).parent / "golden"
REGEN = os.environ.get("WSLAB_REGEN_GOLDEN") == "1"
XSS = "<img src=x onerror=alert(1)>"


def seed_recorder() -> Recorder:
    """The seed's exchange, event for event as a lab records it (logical clock)."""
    r = Recorder(clock=LogicalClock())
    c = {"endpoint": "client", "conn": "c1", "peer": "server", "side": "client"}
    s = {"endpoint": "server", "conn": "c1", "peer": "client", "side": "server"}
    r.record(kind="connecting", data="ws://127.0.0.1:8765/", **c)
    r.record(kind="upgrade", detail="GET / HTTP/1.1", headers=(("Upgrade", "websocket"),), **s)
    r.record(kind="accept", detail="101 Switching Protocols", headers=(("Upgrade", "websocket"),), **s)
    r.record(kind="connection", **s)
    r.record(kind="open", **c)
    welcome = "Bienvenue sur le serveur WebSocket"
    r.record(kind="send", data=welcome, size=34, **s)
    r.record(kind="message", data=welcome, size=34, **c)
    r.record(kind="send", data="Bonjour serveur!", size=16, **c)
    r.record(kind="message", data="Bonjour serveur!", size=16, **s)
    echo = "Serveur a reçu : Bonjour serveur!"
    r.record(kind="send", data=echo, size=34, **s)
    r.record(kind="message", data=echo, size=34, **c)
    r.record(kind="closing", code=1000, reason="bye", **c)
    r.record(kind="close", code=1000, reason="bye", initiator="client", **s)
    r.record(kind="close", code=1000, reason="bye", initiator="client", **c)
    return r


NAMES = ["ana", "bob", "cleo", "dan", "early", "fay", "gus", "hal", "ivy", "watcher"]


def session(lifelines: int, payload: str = "un message assez long") -> Recorder:
    """A hub and ``lifelines - 1`` clients: each connects, says something long, and closes."""
    r = Recorder(clock=LogicalClock())
    clients = NAMES[: lifelines - 1]
    sides = [
        ({"endpoint": name, "conn": f"c{n}", "peer": "hub", "side": "client"},
         {"endpoint": "hub", "conn": f"c{n}", "peer": name, "side": "server"})
        for n, name in enumerate(clients, 1)
    ]  # fmt: skip
    for c, s in sides:
        r.record(kind="connecting", data="ws://127.0.0.1:8765/chat?room=general", **c)
        r.record(kind="upgrade", detail="GET /chat?room=general HTTP/1.1", **s)
        r.record(kind="accept", detail="101 Switching Protocols", **s)
        r.record(kind="connection", **s)
        r.record(kind="open", **c)
    for c, s in sides:
        text = f"Bonjour à tous, ici {c['endpoint']} : {payload} pour remplir la ligne"
        r.record(kind="send", data=text, size=len(text), **c)
        r.record(kind="message", data=text, size=len(text), **s)
    reason = "au revoir, " + "x" * 40
    for c, s in sides:
        r.record(kind="closing", code=4000, reason=reason, **c)
        r.record(kind="close", code=4000, reason=reason, initiator=c["endpoint"], **s)
        r.record(kind="close", code=4000, reason=reason, initiator=c["endpoint"], **c)
    return r


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if REGEN:
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8"), f"{name} changed; WSLAB_REGEN_GOLDEN=1 to accept"


def parse(svg: str) -> xml.dom.minidom.Document:
    return xml.dom.minidom.parseString(svg.encode("utf-8"))


def texts(svg: str) -> list[str]:
    doc = parse(svg)
    return [node.firstChild.data for node in doc.getElementsByTagName("text") if node.firstChild]


# --- structure ------------------------------------------------------------------------------------


def test_seed_session_has_a_client_and_a_server_lifeline():
    assert Diagram(seed_recorder().snapshot()).lifelines == ["client", "server"]


def test_seed_session_matches_the_golden_svg():
    check_golden("seed.svg", sequence_svg(seed_recorder().snapshot()))


def test_seed_session_matches_the_golden_mermaid():
    check_golden("seed.mmd", to_mermaid(seed_recorder().snapshot()))


def test_seed_session_matches_the_golden_html():
    check_golden("seed.html", Diagram(seed_recorder().snapshot())._repr_html_() + "\n")


def test_seed_session_matches_the_golden_text():
    check_golden("seed.txt", sequence_text(seed_recorder().snapshot()) + "\n")


def test_a_real_lab_session_draws_the_golden_mermaid(lab):
    server = lab.serve(welcome="Bienvenue sur le serveur WebSocket")
    client = lab.connect(server)
    client.send("Bonjour serveur!")
    client.close(1000, "bye")
    lab.settle()
    assert lab.to_mermaid() == (GOLDEN / "seed.mmd").read_text(encoding="utf-8")


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


# --- windowing ------------------------------------------------------------------------------------


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


# --- escaping -------------------------------------------------------------------------------------


def xss_log() -> EventLog:
    r = Recorder(clock=LogicalClock())
    c = {"endpoint": "client", "conn": "c1", "peer": "server", "side": "client"}
    r.record(kind="send", data=XSS, size=len(XSS), **c)
    r.record(kind="closing", code=4000, reason='"><script>x</script>', **c)
    r.record(kind="error", error=XSS, **c)
    r.record(kind="note", detail="a;b#c\nd`e", **c)
    return r.snapshot()


def test_html_in_a_payload_stays_text_in_the_svg():
    svg = sequence_svg(xss_log())
    doc = parse(svg)  # still well-formed XML
    assert not doc.getElementsByTagName("img") and not doc.getElementsByTagName("script")
    assert "<img" not in svg and "&lt;img src=x onerror=alert(1)&gt;" in svg
    assert any(XSS in t for t in texts(svg))


def test_control_characters_never_reach_the_svg():
    r = Recorder(clock=LogicalClock())
    r.record(side="client", kind="note", endpoint="cli\x00ent", detail="bell\x07 esc\x1b")
    parse(sequence_svg(r.snapshot()))


def test_mermaid_text_is_escaped_with_entity_codes():
    text = to_mermaid(xss_log())
    assert "#60;img src=x onerror=alert(1)#62;" in text
    assert "a#59;b#35;c d#96;e" in text
    for line in text.splitlines()[1:]:
        body = re.sub(r"#\d+;", "", line.split(":", 1)[1] if ":" in line else "")
        assert not set(body) & set('<>;`"{}'), line


def test_mermaid_gives_keyword_participants_an_alias():
    r = Recorder(clock=LogicalClock())
    r.record(side="client", kind="open", endpoint="end", conn="c1", peer="my server")
    text = to_mermaid(r.snapshot())
    assert "participant p1 as end" in text
    assert "participant p2 as my server" in text
    assert "note over p1: ⚡ open" in text


def test_html_in_a_payload_stays_text_in_the_html_and_its_pictures():
    page = Diagram(xss_log()).html()
    assert "<script" not in page and "<img src=x" not in page
    pictures = [unquote(src) for src in re.findall(r"src='data:image/svg\+xml;charset=utf-8,([^']*)'", page)]
    assert len(pictures) == 2  # the names, and the rows
    for svg in pictures:
        parse(svg)
        assert "<img" not in svg and "<script" not in svg
    assert any(XSS in t for t in texts(pictures[1]))
    assert "'" not in "".join(re.findall(r"src='([^']*)'", page))  # no picture ends its attribute early


def test_the_html_cannot_break_out_of_its_attributes_or_tags():
    r = Recorder(clock=LogicalClock())
    r.record(side="client", kind="open", endpoint="a'><script>x</script>", conn="c1", peer='b"><i>')
    page = Diagram(r.snapshot()).html()
    assert "<script" not in page and "<i>" not in page
    assert "alt='lifelines: a&#x27;&gt;&lt;script&gt;x&lt;/script&gt;, b&quot;&gt;&lt;i&gt;'" in page


# --- fitting the page --------------------------------------------------------------------------------


@pytest.mark.parametrize("lifelines", [2, 3, 4, 5])
def test_up_to_five_lifelines_fit_a_760_px_output_at_10_px_text(lifelines):
    diagram = Diagram(session(lifelines).snapshot())
    assert diagram.min_width <= 760  # labels are cut shorter first
    assert diagram.min_width == -(-diagram.width * FLOOR_FONT // 11)  # 11 px text scaled to 10 px


def test_a_small_drawing_keeps_its_labels_whole_and_is_never_blown_up():
    diagram = Diagram(seed_recorder().snapshot())
    assert diagram.width < 760
    assert "Close 1000 normal closure 'bye' (started by client)" in texts(diagram.svg)
    assert f"max-width:{diagram.width}px" in diagram.html()


def test_ten_lifelines_scroll_sideways_with_their_names_clear_of_each_other():
    diagram = Diagram(session(10).snapshot(), max_events=None)
    assert len(diagram.lifelines) == 10 and diagram.min_width > 760
    heads = sorted(
        (float(rect.getAttribute("x")), float(rect.getAttribute("width")))
        for rect in parse(diagram.svg).getElementsByTagName("rect")
        if rect.getAttribute("height") == "28" and float(rect.getAttribute("y")) < 60
    )
    assert len(heads) == 10
    for (x1, w1), (x2, _) in itertools.pairwise(heads):
        assert x1 + w1 + 10 <= x2  # no two names touch
    page = diagram.html()
    assert "overflow:auto" in page and "position:sticky;top:0" in page  # its own scroll box, names on top


def test_badges_side_by_side_in_one_row_never_overlap():
    for lifelines in (2, 5, 10):
        svg = Diagram(session(lifelines).snapshot(), max_events=None).svg
        rows: dict[str, list[tuple[float, float]]] = {}
        for rect in parse(svg).getElementsByTagName("rect"):
            if rect.getAttribute("rx") == "9":  # a badge
                rows.setdefault(rect.getAttribute("y"), []).append(
                    (float(rect.getAttribute("x")), float(rect.getAttribute("width")))
                )
        for badges in rows.values():
            for (x1, w1), (x2, _) in itertools.pairwise(sorted(badges)):
                assert x1 + w1 <= x2


def test_nothing_is_drawn_outside_the_drawing():
    for lifelines in (2, 5, 10):
        diagram = Diagram(session(lifelines).snapshot(), max_events=None)
        for rect in parse(diagram.svg).getElementsByTagName("rect"):
            x = float(rect.getAttribute("x") or 0)
            assert x >= 0 and x + float(rect.getAttribute("width")) <= diagram.width


# --- values and exports ---------------------------------------------------------------------------


def test_the_svg_is_the_same_on_every_render():
    log = seed_recorder().snapshot()
    assert sequence_svg(log) == sequence_svg(log) == Diagram(log)._repr_svg_()
    assert Diagram(log)._repr_html_() == Diagram(log).html()


def test_mermaid_shows_as_a_mermaid_block_and_prints_as_text():
    text = to_mermaid(seed_recorder().snapshot())
    assert isinstance(text, Mermaid) and isinstance(text, str)
    assert text.startswith("sequenceDiagram\n    participant client\n    participant server\n")
    assert text._repr_markdown_() == f"```mermaid\n{text}```\n"


def test_save_writes_svg_or_mermaid_by_suffix(tmp_path):
    diagram = Diagram(seed_recorder().snapshot())
    assert diagram.save(tmp_path / "s.svg").read_text(encoding="utf-8") == diagram.svg
    assert diagram.save(tmp_path / "s.mmd").read_text(encoding="utf-8") == diagram.to_mermaid()
    assert (
        diagram.save(tmp_path / "s.md").read_text(encoding="utf-8").startswith("```mermaid\nsequenceDiagram")
    )


def test_the_plain_repr_is_the_text_diagram():
    diagram = Diagram(seed_recorder().snapshot())
    assert repr(diagram) == diagram.to_text()
    assert repr(diagram).startswith("sequence diagram: client | server (14 events)")


def test_text_fallbacks_need_no_widget_library():
    code = (
        "import sys, wslab; from wslab.recorder import Recorder, LogicalClock\n"
        "r = Recorder(clock=LogicalClock())\n"
        "r.record(side='client', kind='open', endpoint='client', conn='c1', peer='server')\n"
        "log = r.snapshot(); print(log); print(wslab.to_mermaid(log)); print(repr(wslab.Diagram(log)))\n"
        "print(sorted(m for m in ('asyncio', 'ipywidgets') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert "participant client" in out.stdout
    assert out.stdout.strip().endswith("[]")
