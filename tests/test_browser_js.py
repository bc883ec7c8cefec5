"""The widget's page code under Node, with a fake WebSocket and a fake widget model.

What the page reports, and in which order, when Python's requests arrive before the socket is open
(a "Run All"): they wait for ``open``, run after the seed's own ``open`` listener, and a close waits
until the socket has been quiet, so the replies still on their way are not dropped.
"""

from __future__ import annotations

import contextlib
import http.server
import json
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from wslab.browser import _module, advice

needs_node = pytest.mark.skipif(shutil.which("node") is None, reason="node is not on PATH")

HARNESS = r"""
const reports = [];
const sockets = [];
class FakeSocket {
    static CONNECTING = 0; static OPEN = 1; static CLOSING = 2; static CLOSED = 3;
    constructor(url) { this.url = url; this.readyState = 0; this.listeners = {}; sockets.push(this); }
    addEventListener(type, fn) { (this.listeners[type] ||= []).push(fn); }
    fire(type, fields = {}) {
        const event = { type, stopImmediatePropagation() {}, ...fields };
        for (const fn of this.listeners[type] || []) fn(event);
    }
    send(data) { this.sent = (this.sent || []).concat([data]); }
    close(code, reason) { this.readyState = 2; this.closeCalled = [code, reason]; }
}
globalThis.WebSocket = FakeSocket;
const where = { hostname: "127.0.0.1", host: "127.0.0.1:8888", origin: "http://127.0.0.1:8888" };
globalThis.window = { location: where };
globalThis.document = { getElementById: () => null };
const handlers = {};
const model = {
    get: (name) => ({ key: "k1", endpoint: "browser", server: "server", draft: "",
        route: { kind: "direct", url: "ws://127.0.0.1:9/browser", path: "/browser", why: "", proxy: "",
                 base: "" } })[name],
    send: (content) => reports.push(content),
    on: (name, fn) => { handlers[name] = fn; },
};
const widget = (await import(process.argv[2])).default;
const cleanup = widget.initialize({ model });
const socket = sockets[0];
handlers["msg:custom"]({ do: "send", text: "Salut depuis Python" });  // before open: waits
handlers["msg:custom"]({ do: "close", code: 4000, reason: "fini" });
socket.readyState = 1;
socket.fire("open");
await new Promise((done) => setTimeout(done, 50));
socket.fire("message", { data: "Serveur a reçu : Bonjour serveur!" });  // replies still arriving
const beforeQuiet = socket.closeCalled || null;
await new Promise((done) => setTimeout(done, 700));
console.log(JSON.stringify({ url: socket.url, sent: socket.sent, beforeQuiet, closeCalled: socket.closeCalled,
    reports: reports.map((r) => r.ev + (r.text ? " " + r.text : "") + (r.code ? " " + r.code : "")) }));
cleanup();
"""


@needs_node
def test_requests_made_before_open_wait_for_it_and_a_close_waits_for_quiet(tmp_path: Path) -> None:
    module = tmp_path / "browser.mjs"
    module.write_text(_module(), encoding="utf-8")
    harness = tmp_path / "harness.mjs"
    harness.write_text(HARNESS, encoding="utf-8")
    done = subprocess.run(
        ["node", str(harness), module.as_uri()], capture_output=True, text=True, timeout=20, check=True
    )
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["url"] == "ws://127.0.0.1:9/browser"
    assert seen["sent"] == ["Bonjour serveur!", "Salut depuis Python"]  # the seed's send comes first
    assert seen["beforeQuiet"] is None  # a reply arrived 50 ms ago: not yet
    assert seen["closeCalled"] == [4000, "fini"]
    assert seen["reports"][:3] == ["open", "console", "send Bonjour serveur!"]
    assert seen["reports"][-3:] == ["message Serveur a reçu : Bonjour serveur!", "console", "closing 4000"]
    assert "send Salut depuis Python" in seen["reports"]


# --- the advice scripts in real Chromium, against a real wslab server ---------------------------------

CHROMIUM = "/usr/bin/chromium"

PAGE = r"""
async ([code, route, script, attempts]) => {
    window.reports = [];
    const handlers = {};
    const model = {
        get: (name) => ({ key: "k-" + script, endpoint: script, server: "server", draft: "", route,
                          script, attempts })[name],
        send: (content) => window.reports.push(content),
        on: (name, fn) => { handlers[name] = fn; },
    };
    const url = URL.createObjectURL(new Blob([code], { type: "text/javascript" }));
    const widget = (await import(url)).default;
    widget.initialize({ model });
    const el = document.createElement("div");
    document.body.appendChild(el);
    widget.render({ model, el });
}
"""


@contextlib.contextmanager
def blank_page() -> Iterator[str]:
    """An empty page served on 127.0.0.1 (Chromium lets a loopback page, not any page, reach loopback)."""

    class Blank(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = b"<!doctype html><html><body></body></html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Blank)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/lab"
    finally:
        httpd.shutdown()
        httpd.server_close()


def run_in_chromium(browser: Any, seconds: float = 20) -> tuple[list[dict[str, Any]], str]:
    """Run ``browser``'s script in a real Chromium page; returns the page's reports and its text."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM}")
    flags = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
    with blank_page() as blank, sync_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=flags, headless=True)
        try:
            page = chromium.new_page()
            page.goto(blank)  # a page on the kernel's machine, as JupyterLab's is
            args = [_module(), browser.route.to_dict(), browser.script, len(browser.conns)]
            page.evaluate(PAGE, args)
            try:
                page.wait_for_function(
                    "() => window.reports.some((r) => r.ev === 'idle')", timeout=seconds * 1000
                )
            except sync_api.TimeoutError:
                seen = page.evaluate("() => window.reports")
                raise AssertionError(f"the page never went idle: {seen}") from None
            reports: list[dict[str, Any]] = page.evaluate("() => window.reports")
            text = str(page.inner_text("body"))
        finally:
            chromium.close()
    for content in reports:  # what the kernel would get over the widget's comm
        browser._on_page(None, content, None)
    return reports, text


def test_reconnect_backs_off_and_stops_after_a_deliberate_close(lab: Any) -> None:
    closes = iter([(1011, "oups"), (1012, "redémarrage"), (4001, "banni")])

    async def flaky(message: str, peer: Any) -> None:
        await peer.close(*next(closes))

    server = lab.serve(flaky)
    browser = advice(lab, server, "reconnect")
    run_in_chromium(browser)
    lab.settle()
    assert browser.console == [
        "Connexion ouverte, tentative 1",
        "Connexion fermée: 1011 oups",
        "Reconnexion dans 500 ms",
        "Connexion ouverte, tentative 2",
        "Connexion fermée: 1012 redémarrage",
        "Reconnexion dans 1000 ms",
        "Connexion ouverte, tentative 3",
        "Connexion fermée: 4001 banni",
        "Fermeture voulue par le serveur: pas de reconnexion",
    ]
    server_closes = [(e.conn, e.code) for e in lab.events.filter(side="server", kind="close")]
    page_closes = [(e.conn, e.code) for e in lab.events.filter(side="browser", kind="close")]
    assert server_closes == page_closes == list(zip(browser.conns[:3], [1011, 1012, 4001], strict=True))
    assert {e.peer for e in lab.events.filter(side="server", kind="connection")} == {"reconnect"}
    assert browser.done


def test_the_heartbeat_notices_a_server_that_stops_answering(lab: Any) -> None:
    pongs = iter(range(2))

    def until_muted(message: str, peer: Any) -> str | None:
        return '{"type":"pong"}' if next(pongs, None) is not None else None

    browser = advice(lab, lab.serve(until_muted), "heartbeat")
    run_in_chromium(browser)
    lab.settle()
    pings = lab.events.filter(side="browser", kind="send")
    assert len(pings) >= 4 and {e.data for e in pings} == {'{"type":"ping"}'}
    assert "Pas de pong depuis 2500 ms: serveur muet, on ferme" in browser.console
    close = lab.events.filter(side="server", kind="close")[0]
    assert (close.code, close.reason, close.initiator) == (4408, "pas de pong", "heartbeat")


def test_validation_rejects_bad_json_and_shows_markup_as_text(lab: Any) -> None:
    messages = [
        '{"type":"chat","from":"alice","text":"<img src=x onerror=alert(1)>"}',
        "{oops",
        '{"type":"chat","from":"bob","text":42}',
        '{"type":"fin"}',
    ]

    async def send_all(message: str, peer: Any) -> None:
        for text in messages:
            await peer.send(text)

    browser = advice(lab, lab.serve(send_all), "validate")
    _, text = run_in_chromium(browser)
    assert "alice: <img src=x onerror=alert(1)>" in text  # the markup, as text
    assert browser.console == [
        "Message rejeté (JSON invalide): {oops",
        'Message rejeté (forme inattendue): {"type":"chat","from":"bob","text":42}',
    ]
    notes = [e.detail for e in lab.events.filter(side="browser", kind="note")]
    assert notes[0] == "console.error: Message rejeté (JSON invalide): {oops"
    assert lab.events.filter(side="browser", kind="close")[0].code == 1000


def test_backpressure_pauses_while_buffered_amount_is_high(lab: Any) -> None:
    server = lab.serve(lambda message, peer: None)
    browser = advice(lab, server, "backpressure")
    run_in_chromium(browser, seconds=30)
    lab.settle()
    assert any(line.startswith("Pause: bufferedAmount = ") for line in browser.console)
    assert browser.console[-1].startswith("Tout est parti: 16 messages,")
    sends = lab.events.filter(side="browser", kind="send")
    assert len(sends) == 16 and {e.size for e in sends} == {256 * 1024}
    assert len(lab.events.filter(side="server", kind="message")) == 16
