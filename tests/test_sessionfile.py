"""wslab.load: a saved session reads back as the same EventLog, and a bad file says which line is wrong."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import wslab
from wslab.sessionfile import SessionFileError, event_from_dict, parse_jsonl


@pytest.fixture(scope="module")
def session() -> wslab.EventLog:
    with wslab.Lab(clock="logical", name="test-sessionfile") as lab:
        server = lab.serve(welcome="Bienvenue sur le serveur WebSocket")
        client = lab.connect(server)
        client.send("Bonjour serveur!")
        client.send(b"\x00\x01\xff")
        client.close(4000, "fini")
        lab.settle()
        return lab.events


def test_a_saved_session_loads_back_as_the_same_events(session: wslab.EventLog, tmp_path: Path) -> None:
    path = tmp_path / "session.jsonl"
    path.write_text(session.to_jsonl(), encoding="utf-8")
    loaded = wslab.load(path)
    assert loaded == session
    assert loaded.time_unit == "tick"
    assert loaded.to_text() == session.to_text()
    assert str(wslab.to_mermaid(loaded)) == str(wslab.to_mermaid(session))
    assert wslab.Diagram(loaded).svg == wslab.Diagram(session).svg


def test_binary_payloads_come_back_as_bytes(session: wslab.EventLog, tmp_path: Path) -> None:
    path = tmp_path / "session.jsonl"
    path.write_text(session.to_jsonl(), encoding="utf-8")
    sent = [e.data for e in wslab.load(str(path)).filter(side="client", kind="send")]
    assert sent == ["Bonjour serveur!", b"\x00\x01\xff"]


def test_a_wall_clock_session_is_read_in_microseconds(tmp_path: Path) -> None:
    with wslab.Lab(name="test-sessionfile-wall") as lab:
        client = lab.connect(lab.serve())
        client.close()
        text = lab.events.to_jsonl()
    path = tmp_path / "wall.jsonl"
    path.write_text(text, encoding="utf-8")
    assert wslab.load(path).time_unit == "µs"
    assert wslab.load(path, time_unit="tick").time_unit == "tick"


def _line(**fields: object) -> str:
    event = {"seq": 1, "time": 1, "side": "client", "kind": "open", "endpoint": "client", **fields}
    return json.dumps(event)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        (_line() + "\n{not json\n", "line 2: not JSON"),
        (_line(kind="explode"), "line 1: 'kind' must be one of"),
        (_line(seq="1"), "'seq' must be an integer"),
        (_line(data="%%%", binary=True), "not valid base64"),
        (_line(headers=[["a"]]), "'headers' must be a list of [name, value] string pairs"),
        (_line(frame={"direction": "x", "opcode": "TEXT", "fin": "yes"}), "'frame.fin' has the wrong type"),
        (_line() + "\n" + _line(), "line 2: seq 1 does not follow 1"),
        ("[" * 100_000, "line 1: JSON nested too deeply"),
        ("42", "an event is a JSON object, not int"),
    ],
)
def test_a_bad_line_is_named_with_what_is_wrong(text: str, words: str) -> None:
    with pytest.raises(SessionFileError) as caught:
        parse_jsonl(text, path="bad.jsonl")
    assert words in str(caught.value)
    assert str(caught.value).startswith("bad.jsonl: line")
    assert isinstance(caught.value, wslab.WslabError)


def test_a_missing_or_binary_file_is_a_wslab_error_too(tmp_path: Path) -> None:
    with pytest.raises(SessionFileError, match="cannot read"):
        wslab.load(tmp_path / "nowhere.jsonl")
    junk = tmp_path / "junk.jsonl"
    junk.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(SessionFileError, match="not UTF-8"):
        wslab.load(junk)


def test_markup_in_a_loaded_file_is_shown_escaped(tmp_path: Path) -> None:
    evil = "<script>alert(1)</script>"
    lines = [
        _line(endpoint=evil, conn=evil, peer=evil, kind="connecting", data=evil),
        _line(seq=2, time=2, endpoint=evil, peer=evil, kind="send", data=evil, size=25),
        _line(seq=3, time=3, endpoint=evil, peer=evil, kind="close", code=4000, reason=evil, detail=evil),
    ]
    path = tmp_path / "evil.jsonl"
    path.write_text("\n".join(lines), encoding="utf-8")
    loaded = wslab.load(path)
    assert len(loaded) == 3
    for shown in (loaded._repr_html_(), wslab.Diagram(loaded)._repr_html_(), wslab.Diagram(loaded).svg):
        assert "<script" not in shown


def test_a_har_given_to_load_is_read_as_a_har(tmp_path: Path) -> None:
    har = {"log": {"entries": [{"_resourceType": "websocket", "request": {"url": "ws://h/"}}]}}
    path = tmp_path / "x.har"
    path.write_text(json.dumps(har), encoding="utf-8")
    assert wslab.load(path).kinds()[:1] == ["browser:connecting"]


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
_fields = st.sampled_from(
    ["seq", "time", "side", "kind", "endpoint", "data", "binary", "headers", "frame", "code", "was_clean"]
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(field=_fields, value=_json)
def test_any_value_in_any_field_gives_an_event_or_a_clear_error(field: str, value: object) -> None:
    raw = json.loads(_line(data="x"))
    raw[field] = value
    try:
        event = event_from_dict(raw)
    except ValueError as exc:
        assert str(exc)
    else:
        assert wslab.EventLog([event]).to_html() and wslab.Diagram(wslab.EventLog([event])).svg


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=200))
def test_any_text_gives_a_log_or_a_session_file_error(text: str) -> None:
    try:
        parse_jsonl(text)
    except SessionFileError as exc:
        assert "line" in str(exc)
