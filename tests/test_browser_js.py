"""The widget's page code under Node, with a fake WebSocket and a fake widget model.

What the page reports, and in which order, when Python's requests arrive before the socket is open
(a "Run All"): they wait for ``open``, run after the seed's own ``open`` listener, and a close waits
until the socket has been quiet, so the replies still on their way are not dropped.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from wslab.browser import _module

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="node is not on PATH")

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
