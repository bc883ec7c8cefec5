"""wslab.browser without a browser: the page's reports are fed as the page would send them.

A real page runs in tests/browser/test_e2e_jupyterlab.py; here a Python socket stands in for the
page's WebSocket on the route the widget gives it, so the server's side is real.
"""

from __future__ import annotations

import contextlib
import http.server
import json
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _helpers import SECRETS, no_secret_in
from websockets.sync.client import connect

import wslab
from wslab._page_route import page_route
from wslab.browser import SEED_CLIENT_JS, SEED_URL, Browser, _module, advice
from wslab.lifecycle import summarize_connections

JS = Path(wslab.__file__).with_name("js")


def page_says(browser: Browser, **content: object) -> None:
    browser._on_page(None, content, None)


def test_the_widget_module_runs_the_seeds_client_with_only_its_url_replaced() -> None:
    module = _module()
    assert SEED_CLIENT_JS.count(SEED_URL) == 1
    assert SEED_CLIENT_JS.replace(SEED_URL, "url") in module
    for listener in ("'open'", "'message'", "'close'", "'error'"):
        assert f"socket.addEventListener({listener}" in module
    assert "/*SEED*/" not in module


def test_the_page_code_never_writes_html_from_data() -> None:
    code = (JS / "browser.js").read_text(encoding="utf-8")
    assert "innerHTML" not in code and "insertAdjacentHTML" not in code
    assert "textContent" in code


def test_a_page_session_is_recorded_as_side_browser_with_the_servers_connection_id(lab: wslab.Lab) -> None:
    server = lab.serve(welcome="Bienvenue sur le serveur WebSocket")
    browser = lab.browser(server)
    assert browser.route.kind == "direct"
    with connect(browser.route.url) as page_socket:  # the page's socket, on the widget's route
        page_says(browser, ev="open")
        page_says(browser, ev="message", text=page_socket.recv(timeout=3))
        page_says(browser, ev="send", text="Bonjour serveur!")
        page_socket.send("Bonjour serveur!")
        page_says(browser, ev="message", text=page_socket.recv(timeout=3))
        page_says(browser, ev="closing", code=4000, reason="fini")
        page_socket.close(4000, "fini")
    page_says(browser, ev="close", code=4000, reason="fini", wasClean=True)
    lab.settle()
    events = lab.events
    assert {e.conn for e in events} == {browser.conn}
    assert events.filter(side="browser").kinds() == [
        "browser:connecting",
        "browser:open",
        "browser:message",
        "browser:send",
        "browser:message",
        "browser:closing",
        "browser:close",
    ]
    server_close = events.filter(side="server", kind="close")[0]
    assert (server_close.peer, server_close.code, server_close.initiator) == ("browser", 4000, "browser")
    page_close = events.filter(side="browser", kind="close")[0]
    assert (page_close.code, page_close.reason, page_close.initiator) == (4000, "fini", "browser")
    assert lab.diagram().lifelines == ["browser", "server"]
    (summary,) = summarize_connections(events)
    assert (summary.peer, summary.messages_in, summary.close_code) == ("browser", 1, 4000)
    assert browser.state is wslab.State.CLOSED


def test_an_unclean_close_from_the_server_names_no_initiator_and_says_so(lab: wslab.Lab) -> None:
    server = lab.serve()
    browser = lab.browser(server)
    page_says(browser, ev="open")
    page_says(browser, ev="close", code=1006, reason="", wasClean=False)
    close = lab.events.filter(side="browser", kind="close")[0]
    assert close.initiator is None
    assert "wasClean false" in (close.detail or "")


def test_a_page_that_cannot_reach_the_kernel_says_so_once_as_error_then_close_1006(lab: wslab.Lab) -> None:
    server = lab.serve()
    browser = lab.browser(server)
    why = "this page comes from jupyter.example.org, not from the kernel's machine"
    page_says(browser, ev="unreachable", error=why)
    page_says(browser, ev="unreachable", error=why)
    log = lab.events.filter(side="browser", kind=("error", "close"))
    assert log.kinds() == ["browser:error", "browser:close"]
    assert why in (log[0].error or "") and log[1].code == 1006


def test_an_error_before_open_asks_whether_jupyterlab_is_on_another_machine(lab: wslab.Lab) -> None:
    browser = lab.browser(lab.serve())
    page_says(browser, ev="error", beforeOpen=True)
    assert "another machine" in (lab.events.filter(kind="error")[0].error or "")


def test_malformed_page_reports_are_ignored_not_recorded(lab: wslab.Lab) -> None:
    browser = lab.browser(lab.serve())
    before = lab.recorder.total
    browser._on_page(None, ["not", "a", "dict"], None)
    page_says(browser, ev="message", text=42)
    page_says(browser, ev="no such event")
    assert lab.recorder.total == before


def test_binary_messages_from_the_page_arrive_as_bytes(lab: wslab.Lab) -> None:
    browser = lab.browser(lab.serve())
    browser._on_page(None, {"ev": "message", "binary": True}, [memoryview(b"\x00\x01")])
    event = lab.events.filter(side="browser", kind="message")[0]
    assert (event.data, event.size) == (b"\x00\x01", 2)


def test_the_seeds_console_lines_are_kept_beside_the_table(lab: wslab.Lab) -> None:
    browser = lab.browser(lab.serve())
    page_says(browser, ev="console", level="log", line="Connexion ouverte")
    assert browser.console == ["Connexion ouverte"]
    assert not lab.events.filter(kind="note")


def test_the_plain_text_form_is_the_same_on_every_run_and_shows_no_port(lab: wslab.Lab) -> None:
    server = lab.serve()
    browser = lab.browser(server)
    text = browser._repr_mimebundle_()["text/plain"]
    assert text == repr(browser)
    assert str(server.port) not in text and browser.widget.key not in text
    assert "<Browser 'browser' c1 → server" in text


def test_close_codes_a_page_may_not_send_are_refused_in_python(lab: wslab.Lab) -> None:
    browser = lab.browser(lab.serve())
    with pytest.raises(ValueError, match="1000 or 3000-4999"):
        browser.close(1001)
    with pytest.raises(ValueError):
        browser.close(1005)
    with pytest.raises(TypeError):
        browser.send(b"bytes")  # type: ignore[arg-type]


def test_a_browser_for_a_server_of_another_lab_is_refused(lab: wslab.Lab) -> None:
    with wslab.Lab(name="other") as other:
        foreign = other.serve()
        with pytest.raises(wslab.WslabError, match="not a server or a wire of this lab"):
            lab.browser(foreign)


def test_two_browsers_get_their_own_names_paths_and_connections(lab: wslab.Lab) -> None:
    server = lab.serve()
    first, second = lab.browser(server), lab.browser(server)
    assert (first.name, second.name) == ("browser", "browser2")
    assert (first.path, second.path) == ("/browser", "/browser2")
    assert first.conn != second.conn


def test_a_message_reported_late_by_the_page_is_drawn_once(lab: wslab.Lab) -> None:
    server = lab.serve()
    browser = lab.browser(server)
    with connect(browser.route.url) as page_socket:
        page_socket.send("Bonjour serveur!")  # the server records its message and echo first...
        echo = page_socket.recv(timeout=3)
        lab.settle()
        page_says(browser, ev="open")  # ...the page's reports reach the kernel afterwards
        page_says(browser, ev="send", text="Bonjour serveur!")
        page_says(browser, ev="message", text=echo)
    text = lab.diagram().to_text()
    assert text.count("'Bonjour serveur!'") == 1
    assert text.count("'Serveur a reçu : Bonjour serveur!'") == 1


def test_a_close_the_page_started_but_reported_late_is_drawn_in_protocol_order(lab: wslab.Lab) -> None:
    server = lab.serve()
    browser = lab.browser(server)
    with connect(browser.route.url) as page_socket:
        page_socket.close(4000, "fini")  # the server records its close before the page reports
    lab.settle()
    page_says(browser, ev="open")
    page_says(browser, ev="closing", code=4000, reason="fini")
    page_says(browser, ev="close", code=4000, reason="fini", wasClean=True)
    rows = [line.split(maxsplit=1)[1] for line in lab.diagram().to_text().splitlines()[1:]]
    closes = [row for row in rows if "4000" in row]
    assert closes == [
        "browser -> server: Close 4000 private use by applications 'fini' (started by browser)",
        "server --> browser: Close 4000 private use by applications 'fini' (reply)",
        "[browser] ■ closed 4000 'fini' · by browser",
    ]


def test_the_open_event_says_which_route_the_page_took(lab: wslab.Lab) -> None:
    browser = lab.browser(lab.serve())
    page_says(browser, ev="open", via="proxy")
    opened = lab.events.filter(side="browser", kind="open")[-1]
    assert opened.detail == "the page's socket is open via the proxy route"


def test_watch_fills_in_when_the_page_reports_and_says_so_before(lab: wslab.Lab) -> None:
    browser = lab.browser(lab.serve())
    rows = browser.watch("closing", "close")
    assert repr(rows).endswith("(none yet)")
    assert "the page's arrive while the kernel is idle" in rows._repr_mimebundle_()["text/plain"]
    page_says(browser, ev="open")
    page_says(browser, ev="closing", code=4000, reason="fini")
    page_says(browser, ev="close", code=4000, reason="fini", wasClean=True)
    deadline = time.monotonic() + 3
    while "fini" not in rows.widget.value and time.monotonic() < deadline:
        time.sleep(0.02)
    assert "fini" in rows.widget.value and len(rows.rows()) == 2
    rows.close()


def test_an_advice_script_gets_one_connection_id_per_socket_and_records_its_console(lab: wslab.Lab) -> None:
    from wslab.browser import ADVICE_JS, advice

    assert set(ADVICE_JS) == {"reconnect", "heartbeat", "validate", "backpressure"}
    server = lab.serve()
    browser = advice(lab, server, "reconnect")
    assert browser.name == "reconnect" and browser in lab.browsers
    assert browser.conns == ["c1", "c2", "c3", "c4", "c5"]
    assert "c1…c5" in repr(browser) and "advice-reconnect.js" in repr(browser)
    page_says(browser, ev="connecting", n=2)
    page_says(browser, ev="console", level="log", line="Reconnexion dans 500 ms")
    page_says(browser, ev="open", n=2)
    page_says(browser, ev="open", n=9)  # no such socket: ignored
    rows = lab.events.filter(side="browser")
    assert [(e.kind, e.conn) for e in rows][1:] == [("connecting", "c2"), ("note", "c1"), ("open", "c2")]
    assert rows[2].detail == "console.log: Reconnexion dans 500 ms"
    with pytest.raises(ValueError, match="no advice"):
        advice(lab, server, "teleport")


def test_a_long_text_is_recorded_with_its_full_size(lab: wslab.Lab) -> None:
    browser = lab.browser(lab.serve())
    page_says(browser, ev="send", text="x" * 200, size=262144, cut=True)
    assert lab.events.filter(side="browser", kind="send")[0].size == 262144


def test_the_lab_closes_once_every_page_is_done_or_at_the_timeout() -> None:
    from wslab.browser import close_when_pages_are_done

    lab = wslab.Lab(clock="logical", timeout=3.0, settle=1.0, name="closing-later")
    browser = lab.browser(lab.serve())
    later = close_when_pages_are_done(lab, timeout=30)
    assert "1 page widget(s)" in repr(later) and not lab.closed
    page_says(browser, ev="idle")
    assert lab.closed
    other = wslab.Lab(clock="logical", timeout=3.0, settle=1.0, name="closing-at-timeout")
    other.browser(other.serve())
    close_when_pages_are_done(other, timeout=0.2)
    deadline = time.monotonic() + 5
    while not other.closed and time.monotonic() < deadline:
        time.sleep(0.02)
    assert other.closed


def test_the_widget_module_holds_every_script_and_room_for_long_line_numbers() -> None:
    from wslab.browser import ADVICE_JS

    module = _module()
    for name, code in ADVICE_JS.items():
        assert f"{name}: function (url, WebSocket, console, board," in module
        assert code in module
        assert ".innerHTML" not in code and "insertAdjacentHTML" not in code
    assert "padding-left: 3.5em" in module  # "10." and "100." were clipped at 2em


def test_a_closing_later_can_be_cancelled(lab: wslab.Lab) -> None:
    from wslab.browser import close_when_pages_are_done

    browser = lab.browser(lab.serve())
    later = close_when_pages_are_done(lab, timeout=0.1)
    later.cancel()
    time.sleep(0.3)
    page_says(browser, ev="idle")
    assert not lab.closed


def test_a_page_reporting_an_address_with_a_token_is_recorded_masked(lab: wslab.Lab) -> None:
    pytest.importorskip("anywidget")
    browser = lab.browser(lab.serve())
    error = f"The URL 'ws://hub/user/ada/proxy/1/browser?token={SECRETS['api_token']}' is invalid."
    page_says(browser, ev="unreachable", error=error)  # as the page reports it
    (recorded,) = lab.events.filter(side="browser", kind="error")
    assert "token=***" in (recorded.error or "")
    no_secret_in(lab.events.to_jsonl())


# ----------------------------------------------------------------------------------------------------
# The route from the notebook page to a server in the kernel: page_route in Python, pageTargets in JS.
#
# The Python half decides from the kernel's environment (a JupyterHub prefix); the page's half
# (wslab/js/browser.js) decides from the page's own origin and PageConfig, and is run here under
# node when node is installed, with the addresses a browser would see.


BROWSER_JS = Path(wslab.__file__).with_name("js") / "browser.js"


# --- the page's half, under node -------------------------------------------------------------------

NODE = shutil.which("node")


def page_targets(tmp_path: Path, cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """pageTargets(route, location, config) for each case, computed by browser.js itself."""
    module = tmp_path / "browser.mjs"
    module.write_text(BROWSER_JS.read_text(encoding="utf-8"), encoding="utf-8")
    script = tmp_path / "run.mjs"
    script.write_text(
        "import { pageTargets } from './browser.mjs';\n"
        f"const cases = {json.dumps(cases)};\n"
        "console.log(JSON.stringify(cases.map(c => pageTargets(c.route, c.where, c.config))));\n",
        encoding="utf-8",
    )
    done = subprocess.run(
        [NODE or "node", str(script)], capture_output=True, text=True, timeout=20, check=True
    )
    result: list[dict[str, Any]] = json.loads(done.stdout)
    return result


def where(origin: str) -> dict[str, str]:
    _, _, hostport = origin.partition("://")
    host = hostport.rsplit(":", 1)[0] if not hostport.endswith("]") else hostport
    return {"origin": origin, "host": hostport, "hostname": host}


@pytest.mark.skipif(NODE is None, reason="node is not installed (apt-get install nodejs)")
def test_the_page_chooses_direct_then_proxy_on_loopback_and_only_the_proxy_elsewhere(
    lab: Any, tmp_path: Path
) -> None:
    server = lab.serve()
    local = page_route(server, "/browser", env={}).to_dict()
    hub = page_route(server, "/browser", env={"JUPYTERHUB_SERVICE_PREFIX": "/user/ada/"}).to_dict()
    port = server.port
    cases = [
        {"route": local, "where": where("http://127.0.0.1:8888"), "config": {"baseUrl": "/"}},
        {"route": local, "where": where("http://localhost:8888"), "config": {}},
        {"route": local, "where": where("http://[::1]:8888"), "config": {"baseUrl": "/"}},
        {"route": local, "where": where("https://lab.example.org"), "config": {"baseUrl": "/lab1/"}},
        {
            "route": local,
            "where": where("http://127.0.0.1:8000"),
            "config": {"baseUrl": "/user/ada/", "hubUser": "ada"},
        },
        {"route": hub, "where": where("https://hub.example.org"), "config": {"baseUrl": "/user/ada/"}},
        {"route": hub, "where": where("https://hub.example.org"), "config": {}},
        {"route": {"kind": "none", "why": "no way"}, "where": where("http://127.0.0.1:8888"), "config": {}},
    ]
    got = page_targets(tmp_path, cases)
    via = [[t["via"] for t in g.get("targets", [])] for g in got]
    assert via == [
        ["direct", "proxy"],
        ["direct", "proxy"],
        ["direct", "proxy"],
        ["proxy"],  # a page not served from loopback is not on the kernel's machine
        ["proxy"],  # a hub on this very machine: the page's config says hub
        ["proxy"],
        ["proxy"],
        [],
    ]
    assert got[0]["targets"][0]["url"] == f"ws://127.0.0.1:{port}/browser"
    assert got[0]["targets"][1]["url"] == f"ws://127.0.0.1:8888/proxy/{port}/browser"
    assert got[3]["targets"][0]["url"] == f"wss://lab.example.org/lab1/proxy/{port}/browser"
    assert got[3]["targets"][0]["probe"] == "https://lab.example.org/lab1/server-proxy/servers-info"
    assert got[5]["targets"][0]["url"] == f"wss://hub.example.org/user/ada/proxy/{port}/browser"
    # the kernel's prefix when the page has none
    assert got[6]["targets"][0]["url"] == got[5]["targets"][0]["url"]
    assert got[7] == {"error": "no way"}


# --- the page's attempts, under node: a fake WebSocket and a fake widget model -------------------------

ATTEMPTS = r"""
const [moduleUrl, scenario] = process.argv.slice(2);
const { hostname, probeStatus, failFirst } = JSON.parse(scenario);
const reports = [];
const sockets = [];
class FakeSocket {
    static CONNECTING = 0; static OPEN = 1; static CLOSING = 2; static CLOSED = 3;
    constructor(url) { this.url = url; this.readyState = 0; this.listeners = {}; sockets.push(this); }
    addEventListener(type, fn) { (this.listeners[type] ||= []).push(fn); }
    fire(type, fields = {}) {
        let stopped = false;
        const event = { type, stopImmediatePropagation() { stopped = true; }, ...fields };
        for (const fn of this.listeners[type] || []) { fn(event); if (stopped) break; }
    }
    send(data) {}
    close(code, reason) { this.readyState = 2; }
}
globalThis.WebSocket = FakeSocket;
const probes = [];
globalThis.fetch = async (url) => { probes.push(url); return { status: probeStatus }; };
const where = { hostname, host: hostname + ":8888", origin: "http://" + hostname + ":8888" };
globalThis.window = { location: where };
globalThis.document = { getElementById: () => null };
const model = {
    get: (name) => ({ key: "k1", endpoint: "browser", server: "server", draft: "",
        route: { kind: "direct", url: "ws://127.0.0.1:9/browser", path: "/browser", why: "",
                 proxy: "proxy/9/browser", base: "" } })[name],
    send: (content) => reports.push(content),
    on: () => {},
};
const fail = (socket) => {
    socket.readyState = 3;
    socket.fire("error");
    socket.fire("close", { code: 1006, reason: "", wasClean: false });
};
const widget = (await import(moduleUrl)).default;
const cleanup = widget.initialize({ model });
for (let i = 0; i < failFirst; i++) fail(sockets[i]);
await new Promise((done) => setTimeout(done, 20));
if (sockets.length > failFirst) { sockets[failFirst].readyState = 1; sockets[failFirst].fire("open"); }
await new Promise((done) => setTimeout(done, 20));
console.log(JSON.stringify({ urls: sockets.map((s) => s.url), probes,
    reports: reports.map((r) => [r.ev, r.via, r.error, r.line].filter(Boolean).join(" ")) }));
cleanup();
"""


def attempts(tmp_path: Path, **scenario: object) -> dict[str, Any]:
    module = tmp_path / "widget.mjs"
    module.write_text(_module(), encoding="utf-8")
    harness = tmp_path / "attempts.mjs"
    harness.write_text(ATTEMPTS, encoding="utf-8")
    done = subprocess.run(
        [NODE or "node", str(harness), module.as_uri(), json.dumps(scenario)],
        capture_output=True,
        text=True,
        timeout=20,
        check=True,
    )
    seen: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return seen


@pytest.mark.skipif(NODE is None, reason="node is not installed (apt-get install nodejs)")
def test_a_failed_direct_socket_hands_over_to_the_proxy_unseen_by_the_seed_and_the_kernel(
    tmp_path: Path,
) -> None:
    seen = attempts(tmp_path, hostname="127.0.0.1", probeStatus=200, failFirst=1)
    assert seen["urls"] == ["ws://127.0.0.1:9/browser", "ws://127.0.0.1:8888/proxy/9/browser"]
    assert seen["reports"][0] == "open proxy"  # no error, no close, no seed console line before it
    assert seen["probes"] == []


@pytest.mark.skipif(NODE is None, reason="node is not installed (apt-get install nodejs)")
def test_a_page_without_a_proxy_says_what_to_install_and_keeps_the_seeds_console_lines(
    tmp_path: Path,
) -> None:
    seen = attempts(tmp_path, hostname="hub.example.org", probeStatus=404, failFirst=1)
    assert seen["urls"] == ["ws://hub.example.org:8888/proxy/9/browser"]
    assert seen["probes"] == ["http://hub.example.org:8888/server-proxy/servers-info"]
    unreachable = [r for r in seen["reports"] if r.startswith("unreachable")]
    assert len(unreachable) == 1 and "install jupyter-server-proxy" in unreachable[0]
    assert not [r for r in seen["reports"] if r.split()[0] in ("error", "close")]  # said once, by Python
    assert any("Erreur WebSocket" in r for r in seen["reports"])  # the seed's own listener still ran


@pytest.mark.skipif(NODE is None, reason="node is not installed (apt-get install nodejs)")
def test_a_proxy_that_exists_but_fails_reports_the_browsers_error_and_close(tmp_path: Path) -> None:
    seen = attempts(tmp_path, hostname="hub.example.org", probeStatus=403, failFirst=1)
    kinds = [r.split()[0] for r in seen["reports"]]
    assert "unreachable" not in kinds
    assert kinds.index("error") < kinds.index("close")


# ----------------------------------------------------------------------------------------------------
# The widget's page code under Node, with a fake WebSocket and a fake widget model.
#
# What the page reports, and in which order, when Python's requests arrive before the socket is open
# (a "Run All"): they wait for ``open``, run after the seed's own ``open`` listener, and a close waits
# until the socket has been quiet, so the replies still on their way are not dropped.


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


# --- the reconnect advice's waits, under node: every close unexpected, Math.random at its extremes ------

RECONNECT_WAITS = r"""
const [code, random] = process.argv.slice(2);
const waits = [];
const lines = [];
class FakeSocket {
    constructor(url) {
        this.listeners = {};
        queueMicrotask(() => this.fire("close", { code: 1006, reason: "" }));  // refused: close 1006
    }
    addEventListener(type, fn) { (this.listeners[type] ||= []).push(fn); }
    fire(type, event) { for (const fn of this.listeners[type] || []) fn(event); }
    send(data) {}
}
Math.random = () => Number(random);
const log = (...words) => lines.push(words.join(" "));
const later = (fn, ms) => { waits.push(ms); queueMicrotask(fn); };
new Function("url", "WebSocket", "console", "setTimeout", code)("ws://x", FakeSocket, { log }, later);
setTimeout(() => console.log(JSON.stringify({ waits, last: lines[lines.length - 1] })), 50);
"""


@needs_node
@pytest.mark.parametrize(
    ("random", "waits"),
    [(0, [400, 800, 1600, 3200]), (0.5, [500, 1000, 2000, 4000]), (0.9999, [600, 1200, 2400, 4800])],
)
def test_reconnect_waits_double_with_jitter_and_give_up_after_five_attempts(
    tmp_path: Path, random: float, waits: list[int]
) -> None:
    from wslab.browser import ADVICE_JS

    harness = tmp_path / "waits.mjs"
    harness.write_text(RECONNECT_WAITS, encoding="utf-8")
    done = subprocess.run(
        ["node", str(harness), ADVICE_JS["reconnect"], str(random)],
        capture_output=True,
        text=True,
        timeout=20,
        check=True,
    )
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen == {"waits": waits, "last": "Abandon après 5 tentatives"}  # 8000 ms is never reached


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
    waits = [int(line.split()[2]) for line in browser.console if line.startswith("Reconnexion dans ")]
    assert len(waits) == 2 and 400 <= waits[0] <= 600 and 800 <= waits[1] <= 1200  # 500, 1000 ms ±20 %
    assert browser.console == [
        "Connexion ouverte, tentative 1",
        "Connexion fermée: 1011 oups",
        f"Reconnexion dans {waits[0]} ms",
        "Connexion ouverte, tentative 2",
        "Connexion fermée: 1012 redémarrage",
        f"Reconnexion dans {waits[1]} ms",
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
