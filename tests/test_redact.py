"""Credentials that come through a proxy never reach a recorded event or a view.

Behind JupyterHub, jupyter-server-proxy forwards the learner's request to the kernel's server as
it came (hub-facts.md): the hub's cookies, an ``Authorization: token …`` header, ``?token=``,
sometimes ``X-XSRFToken`` or a ``Referer`` quoting a URL with its token. The headers below are
those a real hub forwarded in tests/browser/test_hub_e2e.py, with credentials added as Python clients
and other proxies send them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from _helpers import SECRETS, no_secret_in
from hypothesis import given
from hypothesis import strategies as st

import wslab
from wslab._redact import (
    MASK,
    is_secret_header,
    is_secret_query,
    redact_headers,
    redact_http,
    redact_text,
    redact_url,
)
from wslab.diagram import Diagram, to_mermaid
from wslab.handshake import handshake_table
from wslab.recorder import LogicalClock, Recorder

HUB_HEADERS = {  # as the hub's proxy and jupyter-server-proxy forward a page's or a client's handshake
    "Origin": "http://127.0.0.1:8000",
    "Cookie": (
        f"jupyterhub-user-ada={SECRETS['hub_cookie']}; _xsrf={SECRETS['xsrf']}; "
        f"jupyterhub-session-id={SECRETS['session']}"
    ),
    "Authorization": f"token {SECRETS['api_token']}",
    "X-XSRFToken": SECRETS["xsrf"],
    "X-Api-Key": SECRETS["api_key"],
    "Referer": f"http://127.0.0.1:8000/user/ada/lab?token={SECRETS['referer_token']}",
    "X-Forwarded-For": "127.0.0.1",
    "X-Forwarded-Proto": "ws",
}
QUERY = f"?room=1&token={SECRETS['query_token']}&_xsrf={SECRETS['xsrf']}&jwt={SECRETS['jwt']}"


@pytest.fixture
def lab() -> Iterator[wslab.Lab]:
    lab = wslab.Lab(clock="logical")
    yield lab
    lab.close()


def test_a_handshake_forwarded_by_a_hub_proxy_is_recorded_and_shown_with_every_credential_masked(
    lab: wslab.Lab,
) -> None:
    server = lab.serve()
    wire = lab.wire(server)  # the raw bytes as well as the parsed headers
    client = lab.connect(f"ws://127.0.0.1:{wire.port}/browser{QUERY}", additional_headers=HUB_HEADERS)
    client.send("Bonjour")
    client.close()
    events = lab.events
    (upgrade,) = events.filter(side="server", kind="upgrade")
    headers = dict(upgrade.headers or ())
    assert headers["Cookie"] == MASK
    assert headers["Authorization"] == f"token {MASK}"
    assert headers["X-XSRFToken"] == MASK and headers["X-Api-Key"] == MASK
    assert headers["Referer"] == f"http://127.0.0.1:8000/user/ada/lab?token={MASK}"
    assert headers["X-Forwarded-For"] == "127.0.0.1" and headers["Origin"] == "http://127.0.0.1:8000"
    assert upgrade.detail == f"GET /browser?room=1&token={MASK}&_xsrf={MASK}&jwt={MASK} HTTP/1.1"
    shown = [
        events.to_jsonl(),
        repr(events),
        events._repr_html_(),
        str(handshake_table(upgrade)),
        handshake_table(upgrade)._repr_html_(),
        Diagram(events).svg,
        to_mermaid(events),
    ]
    shown += [repr(e.data) for e in events if isinstance(e.data, bytes)]  # the wire's raw handshake
    no_secret_in("\n".join(shown))
    assert sum(
        1 for e in events if e.side == "wire" and isinstance(e.data, bytes) and b"Cookie: ***" in e.data
    )


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("Authorization", True),
        ("Proxy-Authorization", True),
        ("Cookie", True),
        ("Set-Cookie", True),
        ("X-XSRFToken", True),
        ("X-CSRF-Token", True),
        ("X-Auth-Token", True),
        ("X-Api-Key", True),
        ("X-JupyterHub-Session-Id", True),
        ("X-Amz-Security-Token", True),
        ("Sec-WebSocket-Key", False),  # a nonce, shown (and explained) by the handshake lessons
        ("Sec-WebSocket-Accept", False),
        ("WWW-Authenticate", False),  # the challenge's scheme, not a credential
        ("Host", False),
        ("X-Forwarded-For", False),
    ],
)
def test_a_header_is_a_credential_by_what_its_name_holds(name: str, secret: bool) -> None:
    assert is_secret_header(name) is secret


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("token", True),
        ("_xsrf", True),
        ("jwt", True),
        ("refresh_token", True),
        ("jupyterhub_session", True),
        ("api_key", True),
        ("password", True),
        ("room", False),
        ("next", False),
        ("name", False),
    ],
)
def test_a_query_parameter_is_a_credential_by_what_its_name_holds(name: str, secret: bool) -> None:
    assert is_secret_query(name) is secret


def test_an_error_quoting_an_address_has_its_token_and_password_masked() -> None:
    words = "InvalidURI: ws://ada:pw0rd@hub:8000/user/ada/proxy/41234/x?room=1&token=abc isn't a valid URI"
    assert redact_text(words) == (
        f"InvalidURI: ws://ada:{MASK}@hub:8000/user/ada/proxy/41234/x?room=1&token={MASK} isn't a valid URI"
    )
    assert redact_text("open (permessage-deflate, client_max_window_bits=15)") == (
        "open (permessage-deflate, client_max_window_bits=15)"
    )


def test_whoever_records_an_event_its_credentials_are_masked() -> None:
    recorder = Recorder(clock=LogicalClock())
    event = recorder.record(
        side="server",
        kind="accept",
        endpoint="server",
        detail="101 Switching Protocols",
        headers=(("Set-Cookie", f"session={SECRETS['session']}"), ("Upgrade", "websocket")),
    )
    assert event.headers == (("Set-Cookie", MASK), ("Upgrade", "websocket"))
    failed = recorder.record(
        side="browser",
        kind="error",
        endpoint="browser",
        error=f"cannot open /proxy/1/b?token={SECRETS['api_token']}",
    )
    assert failed.error == f"cannot open /proxy/1/b?token={MASK}"
    no_secret_in(recorder.snapshot().to_jsonl())


def test_raw_handshake_bytes_mask_the_new_credential_headers_and_url_valued_headers() -> None:
    raw = (
        f"GET /x?_xsrf={SECRETS['xsrf']} HTTP/1.1\r\nHost: h\r\nX-XSRFToken: {SECRETS['xsrf']}\r\n"
        f"Referer: http://h/lab?token={SECRETS['referer_token']}\r\nSec-WebSocket-Key: abc==\r\n\r\n"
    ).encode()
    masked = redact_http(raw).decode()
    no_secret_in(masked)
    assert "Sec-WebSocket-Key: abc==" in masked and f"X-XSRFToken: {MASK}" in masked


names = st.sampled_from(["token", "room", "_xsrf", "next", "jwt", "a"])
values = st.text(alphabet="abcXYZ019-_.~%", min_size=0, max_size=8)


@given(st.lists(st.tuples(names, values), max_size=5))
def test_masking_twice_is_masking_once(items: list[tuple[str, str]]) -> None:
    url = "ws://h/p?" + "&".join(f"{n}={v}" for n, v in items)
    once = redact_url(url)
    assert redact_url(once) == once
    assert redact_text(once) == once
    pairs = tuple(("Cookie" if i % 2 else "X-Custom", f"{n}={v}") for i, (n, v) in enumerate(items))
    assert redact_headers(redact_headers(pairs)) == redact_headers(pairs)
    assert json.dumps(once)  # still plain text
