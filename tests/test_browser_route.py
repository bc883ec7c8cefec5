"""The route from the notebook page to a server in the kernel: page_route in Python, pageTargets in JS.

The Python half decides from the kernel's environment (a JupyterHub prefix); the page's half
(wslab/js/browser.js) decides from the page's own origin and PageConfig, and is run here under
node when node is installed, with the addresses a browser would see.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

import wslab
from wslab.browser import Route, page_route

JS = Path(wslab.__file__).with_name("js") / "browser.js"


@pytest.fixture
def server() -> Any:
    lab = wslab.Lab(clock="logical")
    try:
        yield lab.serve()
    finally:
        lab.close()


def test_a_kernel_outside_a_hub_routes_the_page_directly_with_the_proxy_as_fallback(server: Any) -> None:
    route = page_route(server, "/browser", env={})
    assert route.kind == "direct"
    assert route.url == f"ws://127.0.0.1:{server.port}/browser"
    assert route.proxy == f"proxy/{server.port}/browser"
    assert route.base == ""


def test_a_kernel_under_a_hub_routes_the_page_through_the_proxy_under_its_prefix(server: Any) -> None:
    route = page_route(server, "/browser", env={"JUPYTERHUB_SERVICE_PREFIX": "/user/ada/"})
    assert route.kind == "proxy"
    assert route.url == ""  # no loopback address for a page that is not on this machine
    assert route.proxy == f"proxy/{server.port}/browser"
    assert route.base == "/user/ada/"


@pytest.mark.parametrize("prefix", ["/user/ada", "user/ada/", "/user/ada/"])
def test_the_hub_prefix_is_normalised_to_one_leading_and_one_trailing_slash(server: Any, prefix: str) -> None:
    assert page_route(server, "/b", env={"JUPYTERHUB_SERVICE_PREFIX": prefix}).base == "/user/ada/"


def test_an_empty_hub_prefix_is_not_a_hub(server: Any) -> None:
    assert page_route(server, "/b", env={"JUPYTERHUB_SERVICE_PREFIX": ""}).kind == "direct"


def test_a_page_path_must_start_with_a_slash(server: Any) -> None:
    with pytest.raises(ValueError, match="starts with '/'"):
        page_route(server, "browser", env={})


def test_the_route_words_never_show_the_port(server: Any) -> None:
    direct = page_route(server, "/browser", env={}).words()
    proxied = page_route(server, "/browser", env={"JUPYTERHUB_SERVICE_PREFIX": "/user/ada/"}).words()
    assert direct == "direct: the page opens ws://127.0.0.1:<port>/browser"
    assert proxied == "proxy: the page opens <notebook server>/user/ada/proxy/<port>/browser"
    assert str(server.port) not in direct + proxied


def test_the_route_sent_to_the_page_holds_every_field(server: Any) -> None:
    route = page_route(server, "/browser", env={"JUPYTERHUB_SERVICE_PREFIX": "/user/ada/"})
    assert Route(**route.to_dict()) == route  # type: ignore[arg-type]


# --- the page's half, under node -------------------------------------------------------------------

NODE = shutil.which("node")


def page_targets(tmp_path: Path, cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """pageTargets(route, location, config) for each case, computed by browser.js itself."""
    module = tmp_path / "browser.mjs"
    module.write_text(JS.read_text(encoding="utf-8"), encoding="utf-8")
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
    server: Any, tmp_path: Path
) -> None:
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
    from wslab.browser import _module

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
