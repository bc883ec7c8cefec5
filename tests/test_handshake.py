"""The opening handshake shown with stable values: no random key, date, port or version leaks."""

import base64
import hashlib

import pytest

import wslab
from wslab.events import Event
from wslab.handshake import (
    GUID,
    accept_matches,
    explain_headers,
    handshake_table,
    header,
)

RFC_KEY = "dGhlIHNhbXBsZSBub25jZQ=="  # RFC 6455 section 1.3
RFC_ACCEPT = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="


def event(kind, detail, headers):
    return Event(seq=1, time=1, side="server", kind=kind, endpoint="server", detail=detail, headers=headers)


def test_the_rfc_sample_key_matches_the_rfc_sample_accept():
    assert accept_matches(RFC_KEY, RFC_ACCEPT)


def test_an_accept_for_another_key_does_not_match():
    assert not accept_matches("AQIDBAUGBwgJCgsMDQ4PEA==", RFC_ACCEPT)


def test_the_guid_is_the_one_the_rfc_hashes_with():
    digest = hashlib.sha1((RFC_KEY + GUID).encode()).digest()
    assert base64.b64encode(digest).decode() == RFC_ACCEPT


def test_volatile_values_are_described_and_stable_ones_kept():
    lines = explain_headers(
        [
            ("Host", "127.0.0.1:54321"),
            ("Sec-WebSocket-Key", RFC_KEY),
            ("Sec-WebSocket-Version", "13"),
            ("User-Agent", "Python/3.11 websockets/17.4"),
        ]
    )
    values = {line.name: line.value for line in lines}
    assert values["Host"] == "127.0.0.1:<port>"
    assert values["Sec-WebSocket-Key"].startswith("<16 random bytes")
    assert values["Sec-WebSocket-Version"] == "13"
    assert "17.4" not in values["User-Agent"]
    assert all(line.meaning for line in lines)


def test_connection_close_is_explained_as_closing_not_upgrading():
    (close,) = explain_headers([("Connection", "close")])
    (upgrade,) = explain_headers([("Connection", "Upgrade")])
    assert "closes" in close.meaning and "Upgrade" in upgrade.meaning


def test_credentials_are_masked_keeping_the_scheme():
    (line,) = explain_headers([("Authorization", "Bearer s3cret")])
    assert line.value == "Bearer ***"


def test_an_ipv6_host_without_port_is_left_alone():
    (line,) = explain_headers([("Host", "[::1]")])
    assert line.value == "[::1]"


def test_header_lookup_ignores_case_and_returns_none_when_absent():
    e = event("upgrade", "GET / HTTP/1.1", (("Sec-WebSocket-Key", RFC_KEY),))
    assert header(e, "sec-websocket-key") == RFC_KEY
    assert header(e, "Origin") is None
    assert header([("A", "1")], "a") == "1"


def test_a_table_of_a_response_starts_with_the_status_line_and_escapes_html():
    e = event("accept", "101 Switching Protocols", (("X-Evil", "<script>"),))
    table = handshake_table(e)
    assert str(table).splitlines()[0] == "HTTP/1.1 101 Switching Protocols"
    assert "<script>" not in table._repr_html_()
    assert "&lt;script&gt;" in table._repr_html_()


def test_a_table_needs_a_handshake_event():
    with pytest.raises(ValueError, match="upgrade, accept or reject"):
        handshake_table(event("open", None, None))


def test_a_real_handshake_shows_no_key_port_or_date_and_its_accept_matches(lab):
    server = lab.serve()
    lab.connect(server)
    upgrade = lab.events.filter(kind="upgrade")[0]
    accept = lab.events.filter(kind="accept")[0]
    key, answer = header(upgrade, "Sec-WebSocket-Key"), header(accept, "Sec-WebSocket-Accept")
    assert key is not None and answer is not None
    assert accept_matches(key, answer)
    shown = str(handshake_table(upgrade)) + str(handshake_table(accept))
    shown += handshake_table(upgrade)._repr_html_() + handshake_table(accept)._repr_html_()
    for secret in (key, answer, str(server.port), header(accept, "Date")):
        assert secret is not None and secret not in shown


def test_the_module_is_exported_from_the_package():
    assert wslab.handshake_table is handshake_table
    assert wslab.accept_matches is accept_matches
