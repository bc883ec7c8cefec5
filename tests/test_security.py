"""Security across the package: credentials masked in everything shown, hostile strings escaped, payloads
never executed. The server's loopback binding is tested in test_server.py, its Origin and token checks in
test_handshakes.py."""

from __future__ import annotations

import ast
import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
from _helpers import everything_shown

import wslab
from wslab import Diagram, Event, EventLog, Peer, to_mermaid

HOSTILE = ("<img src=x onerror=alert(1)>", "</table><script>alert(1)</script>")
SECRET = "s3cret-Tok3n"


@pytest.fixture
def lab(request: pytest.FixtureRequest) -> Iterator[wslab.Lab]:
    lab = wslab.Lab(clock="logical", timeout=3.0, settle=1.0, name=f"security-{request.node.name}")
    yield lab
    lab.close()


def test_cookies_and_credentials_in_headers_are_masked_when_recorded(lab: wslab.Lab) -> None:
    server = lab.serve()
    lab.connect(
        server,
        additional_headers=[("Cookie", f"session={SECRET}"), ("Authorization", f"Basic {SECRET}")],
    )
    headers = dict(lab.events.filter(kind="upgrade")[0].headers or ())
    assert headers["Cookie"] == "***" and headers["Authorization"] == "Basic ***"
    assert SECRET not in everything_shown(lab.events)
    assert SECRET not in json.dumps(lab.events.to_dicts())


# --- escaping -------------------------------------------------------------------------------------------


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.handlers: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.handlers += [name for name, _ in attrs if name.startswith("on")]


def hostile_session(lab: wslab.Lab) -> EventLog:
    """A session where every string a peer controls is hostile: messages, reasons, errors, names."""

    def handler(message: str | bytes, peer: Peer) -> str:
        if message == "crash":
            raise ValueError(HOSTILE[0])
        return str(message)

    server = lab.serve(handler, name=HOSTILE[1], welcome=HOSTILE[0])
    client = lab.connect(server, name=HOSTILE[0], path="/" + HOSTILE[0].replace(" ", "%20"))
    for payload in HOSTILE:
        client.send(payload)
        client.send(payload.encode())
    client.close(4000, HOSTILE[1])
    crasher = lab.connect(server, name="crasher")
    crasher.send("crash")
    return lab.events


def test_hostile_strings_are_escaped_in_the_html_table(lab: wslab.Lab) -> None:
    log = hostile_session(lab)
    page = log.to_html(limit=200)
    parser = _Tags()
    parser.feed(page)
    assert set(parser.tags) <= {"table", "thead", "tbody", "tr", "th", "td", "span"}
    assert parser.tags.count("table") == 1 and page.count("</table>") == 1
    assert parser.handlers == []
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "&lt;/table&gt;&lt;script&gt;" in page
    assert "<script" not in page and "<img" not in page


def test_hostile_strings_are_escaped_in_the_svg_diagram(lab: wslab.Lab) -> None:
    svg = Diagram(hostile_session(lab)).svg
    root = ET.fromstring(svg)  # well-formed XML, or this raises
    for element in root.iter():
        tag = element.tag.rsplit("}", 1)[-1]
        assert tag not in {"script", "img", "foreignObject", "iframe"}
        assert not [name for name in element.attrib if name.lower().startswith("on")]
    assert "<script" not in svg and "<img" not in svg


def test_hostile_strings_cannot_break_out_of_a_mermaid_diagram(lab: wslab.Lab) -> None:
    text = to_mermaid(hostile_session(lab))
    assert not {"<", ">", "`"} & set(text.replace("->>", "").replace("-->>", "").replace("-x", ""))


# --- never executed -----------------------------------------------------------------------------------


def test_a_payload_is_data_and_never_executed(lab: wslab.Lab, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    payloads = [
        f"__import__('pathlib').Path({str(marker)!r}).touch()",
        f"{{{{ __import__('os').system('touch {marker}') }}}}",
        "{0.__class__.__mro__}",  # a str.format attack on the echo template
    ]
    server = lab.serve()
    client = lab.connect(server)
    for payload in payloads:
        client.send(payload)
        assert client.recv() == f"Serveur a reçu : {payload}"
    client.close()
    everything_shown(lab.events)
    EventLog.from_jsonl(lab.events.to_jsonl())
    assert not marker.exists()


def test_the_package_source_never_calls_eval_exec_unpickles_or_runs_a_shell() -> None:
    forbidden = {"eval", "exec", "compile", "__import__"}
    found = []
    for path in sorted(Path(wslab.__file__).parent.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            owner = getattr(getattr(node.func, "value", None), "id", None)
            shell = any(k.arg == "shell" and getattr(k.value, "value", False) for k in node.keywords)
            if (
                name in forbidden
                or owner in {"pickle", "marshal", "yaml", "shelve"}
                or (owner == "os" and (name in {"system", "popen"} or (name or "").startswith("exec")))
                or shell
            ):
                found.append(f"{path.name}:{node.lineno} {owner or ''}.{name}")
    assert found == []


def test_an_event_read_from_json_is_plain_data_and_unknown_fields_are_refused() -> None:
    line = json.dumps(
        {"seq": 1, "time": 1, "side": "server", "kind": "message", "endpoint": "s", "data": "x"}
    )
    event = EventLog.from_jsonl(line)[0]
    assert event.exc is None and event.data == "x"
    with pytest.raises(TypeError):
        Event.from_dict({**json.loads(line), "command": "os.system('x')"})


def test_a_password_in_the_url_is_masked_in_the_connecting_event_and_the_headers(lab: wslab.Lab) -> None:
    server = lab.serve()
    lab.connect(f"ws://learner:{SECRET}@127.0.0.1:{server.port}/")
    connecting = lab.events.filter(kind="connecting")[0]
    assert connecting.data == f"ws://learner:***@127.0.0.1:{server.port}/"
    headers = dict(lab.events.filter(kind="upgrade")[0].headers or ())
    assert headers["Authorization"] == "Basic ***"
    assert SECRET not in everything_shown(lab.events)
