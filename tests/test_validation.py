"""Validating received data: shape, rate, and what the client sees when it breaks the rules."""

import json

import pytest

from wslab.validation import Guard, Invalid, RateLimit, json_message

chat = json_message({"type": str, "text": str})


@pytest.mark.parametrize(
    ("message", "problem"),
    [
        (b"\x00", "expected a text message with JSON, got a binary message"),
        ("hello", "not JSON: Expecting value at character 0"),
        ("[1, 2]", "expected a JSON object, got list"),
        ('{"type": "chat"}', "missing field 'text'"),
        ('{"type": "chat", "text": "hi", "admin": true}', "unexpected field 'admin'"),
        ('{"type": "chat", "text": 42}', "field 'text' must be str, not int"),
    ],
)
def test_json_message_says_exactly_what_is_wrong(message, problem):
    with pytest.raises(Invalid) as caught:
        chat(message)
    assert str(caught.value) == problem


def test_json_message_returns_the_parsed_object():
    assert chat('{"type": "chat", "text": "hi"}') == {"type": "chat", "text": "hi"}


def test_a_bool_is_not_an_int():
    with pytest.raises(Invalid, match="must be int, not bool"):
        json_message({"n": int})('{"n": true}')


def test_rate_limit_counts_within_a_sliding_window():
    guard = Guard(rate_limit=RateLimit(messages=3, per=1.0))
    verdicts = [guard.check("c1", "x", now) for now in (0.0, 0.1, 0.2, 0.3)]
    assert [v.ok for v in verdicts] == [True, True, True, False]
    assert verdicts[-1].close == (1008, "rate limit exceeded")
    assert guard.check("c1", "x", 1.25).ok  # the window slid past the first three
    assert guard.check("c2", "x", 0.3).ok  # per connection


def test_the_server_replies_with_a_clear_error_and_keeps_the_connection(lab):
    server = lab.serve(lambda msg, peer: f"{msg['text']}!", validate=chat)
    client = lab.connect(server)
    client.send('{"type": "chat", "text": "hi"}')
    assert client.recv() == "hi!"
    client.send("not json")
    assert json.loads(client.recv()) == {
        "error": "invalid message",
        "detail": "not JSON: Expecting value at character 0",
    }
    assert lab.events.filter(side="server", kind="error")[0].error == (
        "invalid message: not JSON: Expecting value at character 0"
    )
    client.send('{"type": "chat", "text": "still here"}')
    assert client.recv() == "still here!"


def test_the_server_can_close_with_1008_on_invalid_data(lab):
    client = lab.connect(lab.serve(validate=chat, on_invalid="close"))
    client.send("{}")
    client.wait_closed()
    assert (client.close_code, client.close_reason) == (1008, "invalid message")


def test_a_flooding_client_is_closed_with_1008(lab):
    client = lab.connect(lab.serve(rate_limit=RateLimit(messages=5, per=10)))
    for i in range(5):
        client.send(str(i))
    client.send("one too many")
    client.wait_closed()
    assert (client.close_code, client.close_reason) == (1008, "rate limit exceeded")
    assert "rate limit exceeded: more than 5 messages in 10 s" in [
        e.error for e in lab.events.filter(kind="error")
    ]


def test_a_message_over_max_size_is_refused_with_1009(lab):
    client = lab.connect(lab.serve(max_size=1024))
    client.send("x" * 2048)
    client.wait_closed()
    assert client.close_code == 1009
