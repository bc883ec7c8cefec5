"""The wire's opening (wslab/wire/opening.py): ``lab.wire(url)`` in front of any WebSocket server, ``ws://``
or ``wss://``, with the handshake forwarded as it came and recorded masked, both legs recorded, the server's
opening limits, and a close that leaves nothing open."""

from __future__ import annotations

import json
import os
import socket
import ssl
import time
from collections.abc import Iterator
from typing import Any

import pytest
from _attack import RawClient, request
from _helpers import frames, wait_until
from _peers import AiohttpServer, Page, chromium, needs_chromium, needs_node, node_client, node_server

import wslab

HELLO = "Bonjour serveur!"


def wire_frames(lab: wslab.Lab) -> list[tuple[str, Any]]:
    return [(e.frame.direction, e.data) for e in lab.events.filter(side="wire", kind="frame")]


def recorded(lab: wslab.Lab) -> str:
    """Everything the wire's notes say about the handshake (to look for secrets in)."""
    return " ".join(
        f"{e.data!r} {e.headers!r} {e.detail}" for e in lab.events.filter(side="wire", kind="note")
    )


@needs_node
def test_a_node_client_through_the_wire_reaches_a_node_server_with_its_handshake_intact(
    lab: wslab.Lab,
) -> None:
    with node_server() as url:
        wire = lab.wire(url)
        out = node_client(wire.url)
    seen = json.loads(out[0]["message"])
    port = url.split(":")[2].rstrip("/")
    assert seen["origin"] == "http://app.example" and seen["cookie"] == "session=s3cret"
    assert seen["protocol"] == "chat" and seen["host"] == f"127.0.0.1:{port}"  # Host is the upstream's
    assert out[1:] == [{"message": f"Serveur a reçu : {HELLO}"}, {"close": 1000}]
    directions = [d for d, _ in wire_frames(lab)]
    assert "client→server" in directions and "server→client" in directions  # both legs recorded
    assert ("client→server", HELLO) in wire_frames(lab)
    assert "Cookie: ***" in recorded(lab) and "s3cret" not in recorded(lab)


@needs_node
def test_a_lab_client_through_the_wire_to_a_url_gets_no_pair_to_wait_for(lab: wslab.Lab) -> None:
    with node_server() as url:
        wire = lab.wire(url)
        assert wire.server is None and wire.upstream.url == url
        client = lab.connect(wire)
        json.loads(client.recv())
        started = time.monotonic()
        client.send(HELLO)
        assert client.recv() == f"Serveur a reçu : {HELLO}"
        assert time.monotonic() - started < 0.5  # no settle waiting for a server that is not ours
        client.close()
    assert [e.code for e in lab.events.filter(side="client", kind="close")] == [1000]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as browser:
        yield browser


@needs_chromium
def test_a_page_through_the_wire_reaches_an_aiohttp_server_with_protocol_and_extensions(
    lab: wslab.Lab, browser: Any
) -> None:
    with AiohttpServer() as upstream:
        wire = lab.wire(upstream.url)
        assert wire.url.endswith("/chat")
        page = Page(browser, wire.url, protocols=("chat",))
        try:
            assert page.extensions.startswith("permessage-deflate")  # aiohttp agreed to Chromium's offer
            seen = json.loads(page.wait_for(1)[0])
            page.send(HELLO)
            assert page.wait_for(2)[1] == f"Serveur a reçu : {HELLO}"
        finally:
            page.close()
    assert seen["protocol"] == "chat" and seen["url"] == "/chat"
    assert "client_max_window_bits" in seen["extensions"]  # Chromium's offer, forwarded as it came
    assert seen["origin"] == "null"  # a blank page's origin, as Chromium sent it
    assert ("client→server", HELLO) in wire_frames(lab)


@pytest.fixture(scope="module")
def tls() -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A test CA: the server's context with a certificate for localhost, and a client context trusting it."""
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost").configure_cert(server)
    client = ssl.create_default_context()
    ca.configure_trust(client)
    return server, client


def test_a_wss_upstream_is_verified_against_the_given_ca(
    lab: wslab.Lab, tls: tuple[ssl.SSLContext, ssl.SSLContext]
) -> None:
    with AiohttpServer(tls=tls[0]) as upstream:
        assert upstream.url.startswith("wss://localhost:")
        wire = lab.wire(upstream.url, ssl=tls[1])
        assert wire.url.startswith("ws://127.0.0.1:")
        client = lab.connect(wire.url, subprotocols=["chat"])
        assert json.loads(client.recv())["host"] == f"localhost:{upstream.port}"
        client.send(HELLO)
        assert client.recv() == f"Serveur a reçu : {HELLO}"
        client.close()
    assert ("server→client", f"Serveur a reçu : {HELLO}") in wire_frames(lab)


def test_a_wss_upstream_with_an_unknown_ca_is_refused_with_502_unless_verify_is_off(
    lab: wslab.Lab, tls: tuple[ssl.SSLContext, ssl.SSLContext]
) -> None:
    with AiohttpServer(tls=tls[0]) as upstream:
        strict = lab.wire(upstream.url)
        with pytest.raises(wslab.ConnectionFailed):
            lab.connect(strict.url, subprotocols=["chat"])
        reject = lab.events.filter(side="wire", kind="reject")
        error = lab.events.filter(side="wire", kind="error")
        assert [e.code for e in reject] == [502]
        assert "CERTIFICATE_VERIFY_FAILED" in (error[0].error or "")
        lenient = lab.wire(upstream.url, verify=False)
        client = lab.connect(lenient.url, subprotocols=["chat"])
        assert "protocol" in json.loads(client.recv())
        client.close()


def test_an_unreachable_upstream_is_a_502_and_an_error_that_names_it(lab: wslab.Lab) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nothing listens there once the socket closes
    wire = lab.wire(f"ws://127.0.0.1:{port}/")
    with pytest.raises(wslab.ConnectionFailed):
        lab.connect(wire)
    error = lab.events.filter(side="wire", kind="error")[0]
    assert f"the wire could not reach ws://127.0.0.1:{port}/" in (error.error or "")
    assert [e.code for e in lab.events.filter(side="wire", kind="reject")] == [502]


def test_the_wire_listens_on_loopback_unless_told_otherwise(lab: wslab.Lab) -> None:
    server = lab.serve()
    wire = lab.wire(server)
    assert wire.host == "127.0.0.1" and wire.url.startswith("ws://127.0.0.1:")
    import psutil

    listening = [
        c for c in psutil.net_connections("tcp") if c.status == "LISTEN" and c.laddr.port == wire.port
    ]
    assert [c.laddr.ip for c in listening] == ["127.0.0.1"]


def test_a_url_wire_drops_a_half_open_handshake_after_its_open_timeout(lab: wslab.Lab) -> None:
    wire = lab.wire("ws://127.0.0.1:9/", open_timeout=0.3)
    with RawClient(wire.port, timeout=3.0) as slow:
        started = time.monotonic()
        slow.send(b"GET / HTTP/1.1\r\nHost: x\r\n")
        assert slow.hangs_up()
        took = time.monotonic() - started
    assert 0.2 < took < 1.5
    error = lab.events.filter(side="wire", kind="error")[0]
    assert "opening handshake timed out after 0.3 s" in (error.error or "")


def test_oversized_headers_get_431_from_the_wire_itself(lab: wslab.Lab) -> None:
    wire = lab.wire("ws://127.0.0.1:9/")  # never reached: the wire answers first
    with RawClient(wire.port) as raw:
        raw.send(request(extra=[("X-Big", "a" * 9000)]))
        response = raw.response()
    assert response is not None and response.status_code == 431
    (reject,) = lab.events.filter(side="wire", kind="reject")
    (error,) = lab.events.filter(side="wire", kind="error")
    assert reject.code == 431 and "431 Request Header Fields Too Large" in (error.error or "")


@needs_chromium
def test_close_links_gives_a_page_and_an_aiohttp_server_a_clean_1001(lab: wslab.Lab, browser: Any) -> None:
    with AiohttpServer() as upstream:
        wire = lab.wire(upstream.url)
        page = Page(browser, wire.url, protocols=("chat",))
        try:
            page.wait_for(1)
            wire.close_links()
            assert wait_closed(page) == [1001, ""]
        finally:
            page.close()
    answers = [
        e for e in lab.events.filter(side="wire", kind="frame") if e.detail and "not passed on" in e.detail
    ]
    assert sorted(e.frame.direction for e in answers) == ["client→server", "server→client"]
    assert {e.frame.opcode for e in answers} == {"CLOSE"}  # each end's answer stopped at the wire


def wait_closed(page: Page, seconds: float = 5.0) -> list[Any] | None:
    deadline = time.monotonic() + seconds
    while page.closed() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    return page.closed()


@needs_node
@needs_chromium
def test_the_seeds_node_server_behind_a_wire_welcomes_a_page_and_a_lab_client(
    lab: wslab.Lab, browser: Any
) -> None:
    from wslab import node

    seed = node.start_server(lab)
    wire = lab.wire(seed.url)
    client = lab.connect(wire)
    assert client.recv() == "Bienvenue sur le serveur WebSocket"
    client.send(HELLO)
    assert client.recv() == f"Serveur a reçu : {HELLO}"
    page = Page(browser, wire.url)
    try:
        page.send(HELLO)
        assert page.wait_for(2) == ["Bienvenue sur le serveur WebSocket", f"Serveur a reçu : {HELLO}"]
    finally:
        page.close()
    conns = {e.conn for e in lab.events.filter(side="wire", kind="frame")}
    assert len(conns) == 2  # the lab client's and the page's, each recorded both ways


def test_closing_the_lab_reports_held_frames_and_leaves_nothing_open():
    import wslab

    before = len(os.listdir("/proc/self/fd"))
    lab = wslab.Lab(clock="logical", timeout=3.0, settle=1.0, name="test-wire-close")
    server = lab.serve()
    wire = lab.wire(server)
    client = lab.connect(wire)
    wire.hold()
    client.send("oublié")
    lab.close()
    note = [e for e in lab.events.filter(side="wire", kind="note") if e.detail.startswith("lab closing")]
    assert len(note) == 1 and "'oublié'" in note[0].detail
    assert lab.events.filter(side="client", kind="close")[0].code == 1001
    assert not wire._tasks and wire._listener is None
    assert all(link.client_writer.transport.is_closing() for link in wire.links)
    assert wait_until(lambda: len(os.listdir("/proc/self/fd")) <= before, 2.0)


def test_a_refused_handshake_crosses_the_wire_untouched(lab):
    from wslab import ConnectionFailed

    server = lab.serve(token="s3cret")
    wire = lab.wire(server)
    with pytest.raises(ConnectionFailed):
        lab.connect(wire)
    response = lab.events.filter(side="wire", kind="note")[-1]
    assert response.detail.startswith("HTTP response server→client: 401")
    assert not frames(lab)
    client = lab.connect(wire, path="/?token=s3cret")
    client.send("ok")
    assert client.recv() == "Serveur a reçu : ok"


def test_the_wire_masks_credentials_in_the_handshake_it_records(lab):
    server = lab.serve(token="s3cret")
    wire = lab.wire(server)
    lab.connect(wire, path="/?token=s3cret", additional_headers={"Authorization": "Bearer s3cret"})
    notes = lab.events.filter(side="wire", kind="note")
    seen = " ".join(f"{e.data!r} {e.headers!r} {e.detail}" for e in notes)
    assert "GET /?token=***" in seen and "Bearer ***" in seen
    assert "s3cret" not in seen
