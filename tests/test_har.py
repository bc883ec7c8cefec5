"""wslab.from_har: a session Chromium recorded (DevTools' HAR) renders like a live one; bad HARs say where."""

from __future__ import annotations

import copy
import itertools
import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import wslab
from tests._cdp_har import CHROMIUM, record_classic_har
from wslab.har import HarError, parse_har

needs_chromium = pytest.mark.skipif(
    not (os.path.exists(CHROMIUM) or shutil.which("chromium")), reason="needs Chromium at /usr/bin/chromium"
)


@pytest.fixture(scope="module")
def chromium_har() -> tuple[dict[str, Any], Any]:
    pytest.importorskip("playwright.sync_api")
    with wslab.Lab(name="test-har") as lab:
        server = lab.serve(welcome="Bienvenue sur le serveur WebSocket")
        extra = "if (received === 1) socket.send(new Uint8Array([1, 2, 255]));"
        return record_classic_har(server.url.rstrip("/") + "/app?token=s3cret", extra)


@needs_chromium
def test_a_chromium_session_reads_as_the_pages_events(chromium_har: tuple[dict[str, Any], Any]) -> None:
    har, outcome = chromium_har
    assert outcome == [1000, "fini", True]
    log = parse_har(json.dumps(har))
    assert log.kinds()[:2] == ["browser:connecting", "browser:open"]
    sent = [e.data for e in log.filter(kind="send")]
    received = [e.data for e in log.filter(kind="message")]
    assert sent == ["Bonjour serveur!", b"\x01\x02\xff"]
    assert received[:2] == ["Bienvenue sur le serveur WebSocket", "Serveur a reçu : Bonjour serveur!"]
    assert log[-1].kind == "note" and "does not record the close" in (log[-1].detail or "")
    assert [e.seq for e in log] == list(range(1, len(log) + 1))
    assert all(a.time <= b.time for a, b in itertools.pairwise(log))


@needs_chromium
def test_a_chromium_session_draws_like_a_live_one(chromium_har: tuple[dict[str, Any], Any]) -> None:
    log = parse_har(json.dumps(chromium_har[0]))
    mermaid = str(wslab.to_mermaid(log))
    assert "participant browser" in mermaid and "participant server" in mermaid
    assert "browser->>server: 'Bonjour serveur!'" in mermaid
    assert "server->>browser: 'Bienvenue sur le serveur WebSocket'" in mermaid
    assert "<svg" in wslab.Diagram(log).svg
    assert "Bonjour serveur!" in log._repr_html_()


@needs_chromium
def test_credentials_in_a_har_are_masked(chromium_har: tuple[dict[str, Any], Any]) -> None:
    log = parse_har(json.dumps(chromium_har[0]))
    assert "s3cret" in json.dumps(chromium_har[0])
    assert "s3cret" not in log.to_jsonl()


@needs_chromium
def test_the_lessons_har_is_a_chromium_session() -> None:
    log = wslab.from_har(Path(__file__).parents[1] / "notebooks" / "data" / "classic-example.har")
    assert [e.kind for e in log] == ["connecting", "open", "send", "message", "message", "note"]


@needs_chromium
def test_a_handshake_chromium_saw_refused_is_an_error_then_close_1006() -> None:
    pytest.importorskip("playwright.sync_api")
    with wslab.Lab(name="test-har-refused") as lab:
        server = lab.serve(token="s3cret")
        har, outcome = record_classic_har(server.url.rstrip("/") + "/app")
    assert outcome == [1006, "", False]
    log = parse_har(json.dumps(har))
    assert log.kinds() == ["browser:connecting", "browser:error", "browser:close"]
    assert "HTTP Authentication failed" in (log[1].error or "")
    assert (log[2].code, log[2].was_clean) == (1006, False)


def _har(*messages: dict[str, Any], status: int = 101, **entry: Any) -> dict[str, Any]:
    one = {
        "_resourceType": "websocket",
        "startedDateTime": "2025-01-01T00:00:00.000Z",
        "request": {"method": "GET", "url": "ws://127.0.0.1:8080/", "headers": []},
        "response": {"status": status, "statusText": "", "headers": []},
        "_webSocketMessages": list(messages),
        **entry,
    }
    return {"log": {"version": "1.2", "entries": [{"request": {"url": "https://x/"}}, one]}}


def test_a_refused_handshake_is_an_error_then_close_1006() -> None:
    log = parse_har(json.dumps(_har(status=403)))
    assert log.kinds() == ["browser:connecting", "browser:error", "browser:close"]
    assert log[-1].code == 1006 and log[-1].was_clean is False
    assert "HTTP 403" in (log[1].error or "")


def test_times_are_microseconds_from_the_first_event() -> None:
    message = {"type": "receive", "time": 1735689600.25, "opcode": 1, "data": "hi"}
    log = parse_har(json.dumps(_har(message)))
    assert log.time_unit == "µs"
    assert log.filter(kind="message")[0].time == 250_000


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda h: h["log"].pop("entries"), "no log.entries list"),
        (lambda h: h["log"]["entries"].append(3), "entry 3: an entry must be an object"),
        (lambda h: h["log"]["entries"][1].update(startedDateTime="yesterday"), "entry 2: startedDateTime"),
        (lambda h: h["log"]["entries"][1]["response"].update(status="101"), "entry 2: response.status"),
        (
            lambda h: h["log"]["entries"][1]["_webSocketMessages"].append({"type": "send", "time": "x"}),
            "entry 2: message 1: time must be a number",
        ),
        (
            lambda h: h["log"]["entries"][1]["_webSocketMessages"].append(
                {"type": "receive", "time": 1.0, "opcode": 2, "data": "!!"}
            ),
            "entry 2: message 1: a binary message's data must be base64",
        ),
        (lambda h: h["log"]["entries"][1]["request"].update(url="ws://[::1/"), "entry 2: request.url"),
    ],
)
def test_a_bad_har_names_the_entry_and_what_is_wrong(change: Any, words: str) -> None:
    har = _har()
    change(har)
    with pytest.raises(HarError) as caught:
        parse_har(json.dumps(har), path="devtools.har")
    assert words in str(caught.value)
    assert isinstance(caught.value, wslab.WslabError)


def test_nan_and_junk_are_refused_as_not_json() -> None:
    for text in ('{"log": {"entries": [NaN]}}', "{", "\x00"):
        with pytest.raises(HarError, match="not JSON"):
            parse_har(text)


def test_markup_in_a_har_is_shown_escaped() -> None:
    evil = "<img src=x onerror=alert(1)>"
    message = {"type": "receive", "time": 1735689600.0, "opcode": 1, "data": evil}
    har = _har(message, message | {"type": "error"})
    har["log"]["entries"][1]["request"]["url"] = f"ws://h/{evil}"
    log = parse_har(json.dumps(har))
    for shown in (log._repr_html_(), wslab.Diagram(log)._repr_html_(), wslab.Diagram(log).svg):
        assert "<img src=x" not in shown


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
_places = st.sampled_from(
    [
        ("startedDateTime",),
        ("request",),
        ("request", "url"),
        ("request", "headers"),
        ("response", "status"),
        ("response", "headers"),
        ("response", "_error"),
        ("_webSocketMessages",),
        ("_webSocketMessages", 0),
        ("_webSocketMessages", 0, "time"),
        ("_webSocketMessages", 0, "opcode"),
        ("_webSocketMessages", 0, "data"),
        ("_webSocketMessages", 0, "type"),
    ]
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(place=_places, value=_json)
def test_any_value_anywhere_in_an_entry_gives_a_log_or_a_har_error(
    place: tuple[Any, ...], value: object
) -> None:
    har = copy.deepcopy(_har({"type": "send", "time": 1735689600.5, "opcode": 1, "data": "x"}))
    target: Any = har["log"]["entries"][1]
    for key in place[:-1]:
        target = target[key]
    target[place[-1]] = value
    try:
        log = parse_har(json.dumps(har, allow_nan=True))
    except HarError as exc:
        assert "entry 2" in str(exc) or "not JSON" in str(exc)
    else:
        assert log.to_html() and wslab.Diagram(log).svg


@settings(max_examples=200, deadline=None)
@given(document=_json)
def test_any_json_document_gives_a_log_or_a_har_error(document: object) -> None:
    try:
        parse_har(json.dumps(document, allow_nan=True))
    except HarError as exc:
        assert str(exc)
