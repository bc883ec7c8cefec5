"""The sequence diagram: its structure, golden SVG and mermaid files, windowing and escaping."""

import os
import subprocess
import sys
import xml.dom.minidom
from pathlib import Path

from wslab.diagram import Diagram, sequence_svg, sequence_text, to_mermaid
from wslab.eventlog import EventLog
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


# --- the golden files: the seed, drawn four ways --------------------------------------------------


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


# --- a session with hostile text (the renderers' tests escape it) ---------------------------------


def xss_log() -> EventLog:
    r = Recorder(clock=LogicalClock())
    c = {"endpoint": "client", "conn": "c1", "peer": "server", "side": "client"}
    r.record(kind="send", data=XSS, size=len(XSS), **c)
    r.record(kind="closing", code=4000, reason='"><script>x</script>', **c)
    r.record(kind="error", error=XSS, **c)
    r.record(kind="note", detail="a;b#c\nd`e", **c)
    return r.snapshot()


# --- values and exports ---------------------------------------------------------------------------


def test_the_svg_is_the_same_on_every_render():
    log = seed_recorder().snapshot()
    assert sequence_svg(log) == sequence_svg(log) == Diagram(log)._repr_svg_()
    assert Diagram(log)._repr_html_() == Diagram(log).html()


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
