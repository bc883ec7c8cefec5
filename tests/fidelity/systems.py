"""The systems under test, each run against the same puppet, each result a normalised event sequence.

Clients: a real Chromium page (Playwright, Debian's /usr/bin/chromium), the Node ``ws`` client and
the wslab client. Servers: the Node ``ws`` server and the wslab server. A sequence is a list of
strings such as ``open``, ``message``, ``error``, ``close 1006 wasClean=false``,
``close 4001 'banned' wasClean=true`` or ``process exited (code 1)``; an empty list means nothing
happened during the observation window.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from .puppet import PuppetLoop, PuppetServer, Wire
from .scenarios import WINDOW, ClientScenario, ServerScenario

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
CHROMIUM = os.environ.get("WSLAB_CHROMIUM", "/usr/bin/chromium")
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-sync",
]
END = 6.0  # seconds a scenario that should end may take before it is recorded as it stands
GRACE = 0.15  # after a close, how long to look for anything a system reports after it

CLIENTS = ("chromium", "node", "wslab")
SERVERS = ("node", "wslab")


def close_text(code: int | None, reason: str | None, clean: bool | None = None) -> str:
    text = f"close {code}"
    if reason:
        text += f" {reason!r}"
    if clean is not None:
        text += f" wasClean={'true' if clean else 'false'}"
    return text


@dataclass
class Outcome:
    """One system's normalised sequence for one scenario, and what the puppet saw it send back."""

    events: list[str]
    wire: Wire = field(default_factory=list)


# --- availability ------------------------------------------------------------------------------


def node_modules() -> Path | None:
    folder = Path(os.environ.get("WSLAB_NODE_MODULES", REPO / "node_modules"))
    return folder if (folder / "ws" / "package.json").is_file() else None


def why_missing(system: str) -> str | None:
    """Why a system cannot run here (``chromium``, ``node``), or None."""
    if system == "chromium":
        if not Path(CHROMIUM).exists():
            return f"no Chromium at {CHROMIUM} (apt-get install chromium)"
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            return "the playwright package is not installed"
        return None
    if system == "node":
        if shutil.which("node") is None:
            return "node is not on PATH"
        if node_modules() is None:
            return "the ws package is not installed: run `npm ci` at the repository root"
    return None


def versions(browser: Any | None) -> dict[str, str]:
    import websockets

    import wslab

    found = {"wslab": getattr(wslab, "__version__", "?"), "websockets": websockets.__version__}
    if browser is not None:
        found["Chromium"] = browser.version
    if why_missing("node") is None:
        found["Node"] = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()
        modules = node_modules()
        assert modules is not None
        found["ws"] = json.loads((modules / "ws" / "package.json").read_text())["version"]
    return found


@contextmanager
def chromium() -> Iterator[Any]:
    from playwright import sync_api

    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


# --- clients -----------------------------------------------------------------------------------

PAGE_CLIENT = """([url, action, protocols]) => {
    window.events = [];
    const socket = protocols.length ? new WebSocket(url, protocols) : new WebSocket(url);
    const note = (event) => window.events.push(
        { type: event.type, code: event.code, reason: event.reason, wasClean: event.wasClean });

    socket.addEventListener('open', (event) => {
        note(event);
        socket.send('Bonjour serveur!');
    });
    socket.addEventListener('message', (event) => {
        note(event);
        if (action === 'close after message') socket.close(1000, 'bye');
    });
    socket.addEventListener('close', (event) => note(event));
    socket.addEventListener('error', (event) => note(event));
    if (action === 'close before open') socket.close();
}"""


def run_chromium(browser: Any, scenario: ClientScenario, url: str) -> list[str]:
    page = browser.new_page()
    try:
        page.evaluate(PAGE_CLIENT, [url, scenario.action, list(scenario.protocols)])
        if scenario.observe:
            page.wait_for_timeout(WINDOW * 1000)
        else:
            with contextlib.suppress(Exception):  # playwright's TimeoutError: record what there is
                page.wait_for_function(
                    "() => window.events.some((e) => e.type === 'close')", timeout=END * 1000
                )
        seen = page.evaluate("() => window.events")
    finally:
        page.close()
    out = []
    for event in seen:
        if event["type"] == "close":
            out.append(close_text(event["code"], event["reason"], event["wasClean"]))
        else:
            out.append(event["type"])
    return out


def run_node_client(scenario: ClientScenario, url: str) -> list[str]:
    command = [
        "node",
        str(HERE / "node_client.js"),
        url,
        scenario.action,
        json.dumps(list(scenario.protocols)),
    ]
    process = subprocess.Popen(
        command, cwd=str(REPO), env=_node_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        out, _ = process.communicate(timeout=WINDOW if scenario.observe else END)
    except subprocess.TimeoutExpired:
        process.kill()
        out, _ = process.communicate()
    return [_node_line(json.loads(line)) for line in out.splitlines() if line.startswith("{")]


def _node_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "FORCE_COLOR"}
    modules = node_modules()
    env.update(NODE_PATH=str(modules), NO_COLOR="1")
    return env


def _node_line(event: dict[str, Any]) -> str:
    if event["type"] == "close":
        return close_text(event["code"], event["reason"])
    return str(event["type"])


CLIENT_KINDS = ("open", "message", "error", "close")
SERVER_KINDS = ("connection", "message", "error", "close")


def _wslab_sequence(lab: Any, side: str, kinds: tuple[str, ...]) -> list[str]:
    out = []
    for event in lab.events:
        if event.side != side or event.kind not in kinds:
            continue
        if event.kind == "close":
            clean = getattr(event, "was_clean", None) if side == "client" else None  # no wasClean in Node
            out.append(close_text(event.code, event.reason, clean))
        else:
            out.append(event.kind)
    return out


def _watch(
    lab: Any, side: str, kinds: tuple[str, ...], done: Callable[[list[str]], bool], limit: float
) -> list[str]:
    """Poll the lab's events until ``done`` or ``limit`` seconds; then a short grace for late events."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if done(_wslab_sequence(lab, side, kinds)):
            time.sleep(GRACE)
            break
        time.sleep(0.02)
    return _wslab_sequence(lab, side, kinds)


def _closed(seq: list[str]) -> bool:
    return any(s.startswith("close") for s in seq)


def run_wslab_client(scenario: ClientScenario, url: str) -> list[str]:
    import wslab

    lab = wslab.Lab(clock="logical", name=f"fidelity-client-{scenario.name}")
    failure: list[str] = []

    def drive() -> None:
        try:
            options: dict[str, Any] = {"subprotocols": list(scenario.protocols)} if scenario.protocols else {}
            if scenario.action == "close before open":
                client = lab.connect(url, wait=False, **options)
                client.close()
                return
            try:
                client = lab.connect(url, **options)
            except wslab.ConnectionFailed:
                return
            client.send("Bonjour serveur!")  # the article's open listener
            if scenario.action == "close after message":
                client.recv()
                client.close(1000, "bye")
        except Exception as exc:  # an API that is missing, or a step that timed out: shown as it is
            if not lab.closed:
                failure.append(f"raised {type(exc).__name__}")

    try:
        worker = threading.Thread(target=drive, name="fidelity-wslab-client", daemon=True)
        worker.start()
        if scenario.observe:
            time.sleep(WINDOW)
            seen = _wslab_sequence(lab, "client", CLIENT_KINDS)
        else:
            seen = _watch(lab, "client", CLIENT_KINDS, lambda seq: _closed(seq) or bool(failure), END)
            worker.join(END)
    finally:
        lab.close()
    return seen + failure


def run_client_scenario(
    puppets: PuppetLoop, browser: Any | None, scenario: ClientScenario, node: bool = True
) -> dict[str, Outcome]:
    """Every client against its own copy of the same puppet server, the three at once."""
    servers = {name: PuppetServer(puppets, scenario.script) for name in CLIENTS}
    urls = {name: f"ws://127.0.0.1:{server.port}/" for name, server in servers.items()}
    results: dict[str, list[str]] = {}
    runners: dict[str, Callable[[], list[str]]] = {"wslab": lambda: run_wslab_client(scenario, urls["wslab"])}
    if node:
        runners["node"] = lambda: run_node_client(scenario, urls["node"])
    threads = [threading.Thread(target=_into, args=(results, n, r)) for n, r in runners.items()]
    for thread in threads:
        thread.start()
    try:
        if browser is not None:
            results["chromium"] = run_chromium(browser, scenario, urls["chromium"])
    finally:
        for thread in threads:
            thread.join(END + WINDOW + 5)
        time.sleep(0.05)
        outcomes = {n: Outcome(results[n], list(servers[n].wire)) for n in CLIENTS if n in results}
        for server in servers.values():
            server.close()
    return outcomes


def _into(results: dict[str, Any], name: str, run: Callable[[], Any]) -> None:
    """Run one system in its thread; a runner that breaks is shown as such, not as a missing key."""
    try:
        results[name] = run()
    except Exception as exc:
        results[name] = [f"runner raised {type(exc).__name__}: {exc}"]


# --- servers -----------------------------------------------------------------------------------


def run_node_server(puppets: PuppetLoop, scenario: ServerScenario) -> Outcome:
    command = ["node", str(HERE / "node_server.js"), "throws" if scenario.throws else ""]
    process = subprocess.Popen(
        command, cwd=str(REPO), env=_node_env(), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    assert process.stdout is not None
    first = json.loads(process.stdout.readline())
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(process.stdout or ()), daemon=True)
    reader.start()
    wire: Wire = []
    puppet = puppets.start(scenario.script(int(first["port"]), wire))

    def sequence() -> list[str]:
        seq = [_node_line(json.loads(line)) for line in list(lines) if line.startswith("{")]
        if process.poll() is not None:
            reader.join(1)
            seq = [_node_line(json.loads(line)) for line in list(lines) if line.startswith("{")]
            seq.append(f"process exited (code {process.returncode})")
        return seq

    try:
        if scenario.observe:
            time.sleep(WINDOW)
        else:
            deadline = time.monotonic() + END
            while time.monotonic() < deadline and not (_closed(sequence()) or process.poll() is not None):
                time.sleep(0.02)
            time.sleep(GRACE)
        seen = sequence()
    finally:
        puppet.cancel()
        if process.poll() is None:
            process.kill()
        process.wait()
    return Outcome(seen, wire)


def run_wslab_server(puppets: PuppetLoop, scenario: ServerScenario) -> Outcome:
    import wslab

    def throw(message: Any, peer: Any) -> None:
        raise RuntimeError("boom")

    lab = wslab.Lab(clock="logical", name=f"fidelity-server-{scenario.name}")
    wire: Wire = []
    puppet = None
    try:
        if scenario.throws:
            server = lab.serve(throw, welcome="Bienvenue sur le serveur WebSocket")
        else:
            server = lab.serve(welcome="Bienvenue sur le serveur WebSocket")
        port = int(server.url.rsplit(":", 1)[1].strip("/"))
        puppet = puppets.start(scenario.script(port, wire))
        if scenario.observe:
            time.sleep(WINDOW)
            seen = _wslab_sequence(lab, "server", SERVER_KINDS)
        else:
            seen = _watch(lab, "server", SERVER_KINDS, _closed, END)
    finally:
        if puppet is not None:
            puppet.cancel()
            time.sleep(0.05)  # the puppet lets go of its socket first
        lab.close()
    return Outcome(seen, wire)


def run_server_scenario(
    puppets: PuppetLoop, scenario: ServerScenario, node: bool = True
) -> dict[str, Outcome]:
    """The Node ``ws`` server and the wslab server, each against the same puppet client, both at once."""
    results: dict[str, Outcome] = {}
    thread = None
    if node:
        run = partial(run_node_server, puppets, scenario)
        thread = threading.Thread(target=_into, args=(results, "node", run))
        thread.start()
    results["wslab"] = run_wslab_server(puppets, scenario)
    if thread is not None:
        thread.join(END + WINDOW + 5)
    if isinstance(results.get("node"), list):  # its runner broke
        results["node"] = Outcome(results["node"])
    return {n: results[n] for n in SERVERS if n in results}
