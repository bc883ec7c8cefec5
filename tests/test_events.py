"""The one event type: frozen, JSON round-trips, and speaks the seed's vocabulary."""

import dataclasses

import pytest

from wslab.events import CLIENT_EVENTS, KINDS, SERVER_EVENTS, Event, FrameInfo


def test_seed_vocabulary_is_the_browser_api_and_node_ws():
    assert CLIENT_EVENTS == ("open", "message", "close", "error")
    assert SERVER_EVENTS == ("connection", "message", "close", "error")
    assert set(CLIENT_EVENTS) | set(SERVER_EVENTS) <= set(KINDS)


def test_event_is_immutable():
    event = Event(seq=1, time=1, side="client", kind="open", endpoint="client")
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.kind = "close"  # type: ignore[misc]


def test_event_fields_are_keyword_only():
    with pytest.raises(TypeError):
        Event(1, 1, "client", "open", "client")  # type: ignore[misc]


def test_text_event_round_trips_through_a_dict():
    event = Event(
        seq=3,
        time=7,
        side="server",
        kind="upgrade",
        endpoint="server",
        conn="c1",
        peer="client",
        detail="GET / HTTP/1.1",
        headers=(("Host", "x"), ("Upgrade", "websocket")),
    )
    assert Event.from_dict(event.to_dict()) == event


def test_binary_payload_round_trips_as_base64():
    event = Event(seq=1, time=1, side="client", kind="send", endpoint="c", data=b"\x00\xff", size=2)
    raw = event.to_dict()
    assert raw["binary"] is True and raw["data"] == "AP8="
    assert Event.from_dict(raw) == event


def test_frame_info_round_trips_and_describes_itself():
    frame = FrameInfo(direction="client→server", opcode="TEXT", fin=True, masked=True, length=7)
    event = Event(seq=1, time=1, side="wire", kind="frame", endpoint="wire", frame=frame, data="Bonjour")
    assert Event.from_dict(event.to_dict()) == event
    assert frame.describe() == "TEXT fin=1 masked len=7"


def test_the_exception_is_kept_but_not_compared_or_exported():
    a = Event(seq=1, time=1, side="server", kind="error", endpoint="s", error="boom", exc=ValueError("x"))
    b = Event(seq=1, time=1, side="server", kind="error", endpoint="s", error="boom")
    assert a == b
    assert "exc" not in a.to_dict()
