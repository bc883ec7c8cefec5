"""The browser lesson behind a real JupyterHub, and behind a plain ``jupyter lab`` seen from afar.

A learner on a hub never sees the kernel's machine: the page must reach the kernel's server
through the notebook server's proxy (jupyter-server-proxy), at ``/user/NAME/proxy/PORT/``. This
test starts a hub on loopback (dummy authenticator, simple local spawner), logs a user in through
the login form in headless Chromium, opens the browser lesson through the hub, runs it, and checks
that the page's events (open, message, close) reached the kernel's recorder, that the connection
came through the proxy, and that the hub's cookie never reached a recorded event.

A second test opens a plain ``jupyter lab`` under a host name that is not loopback (Chromium maps
it to 127.0.0.1), as a remote JupyterLab would be: the page takes the proxy too. A third one has a
broken direct address and checks the page falls back to the proxy.

Skipped, with the reason, when jupyterhub, configurable-http-proxy (``npm ci`` installs it from
package.json), jupyter-server-proxy, Debian's chromium or the playwright package is missing. Every
process started here (hub, proxy, user server, kernels) is stopped at the end, even on failure.
Set ``WSLAB_HUB_RTT=1`` to print the echo round trip through the proxy and direct.
"""

from __future__ import annotations

import importlib.util
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jupyterlab_page import CHROMIUM, FLAGS, KERNEL_STATUS, errors_in, lab_command, run_new_cell, wait_idle

pytestmark = pytest.mark.hub

ROOT = Path(__file__).resolve().parents[2]
LESSON = ROOT / "notebooks" / "10-the-browser-side.ipynb"
USER = "ada"
REMOTE_NAME = "lab.wslab.test"  # a host name Chromium maps to 127.0.0.1: a "remote" JupyterLab


def _chp() -> str | None:
    if shutil.which("node") is None:  # configurable-http-proxy is a node program
        return None
    local = ROOT / "node_modules" / ".bin" / "configurable-http-proxy"
    return str(local) if local.exists() else shutil.which("configurable-http-proxy")


CHP = _chp()

if not Path(CHROMIUM).exists():
    pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)", allow_module_level=True)
if importlib.util.find_spec("jupyter_server_proxy") is None:
    pytest.skip("jupyter-server-proxy is not installed (pip install -e .)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
NO_HUB = (
    "jupyterhub is not installed (pip install -e '.[test]')"
    if importlib.util.find_spec("jupyterhub") is None
    else "node or configurable-http-proxy is not installed (apt-get install npm; npm ci, from package.json)"
    if CHP is None
    else ""
)


def _free_ports(count: int) -> list[int]:
    """``count`` distinct free loopback ports (held open together, so never the same twice)."""
    held = [socket.socket() for _ in range(count)]
    try:
        for sock in held:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in held]
    finally:
        for sock in held:
            sock.close()


def _descendants(root: int) -> list[int]:
    """Every live process below ``root`` (children first found, grandchildren after), from /proc."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        parents.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _stop_tree(process: subprocess.Popen[bytes], seconds: float) -> None:
    """SIGTERM ``process`` (it stops what it started), then end whatever of its tree is left."""
    tree = _descendants(process.pid)  # the user server starts a new session: find it before it is orphaned
    process.terminate()
    try:
        process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)
    left = [pid for pid in tree if _alive(pid)]
    for pid in left:
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 5
    while left and time.monotonic() < deadline:
        time.sleep(0.1)
        left = [pid for pid in left if _alive(pid)]
    for pid in left:
        os.kill(pid, signal.SIGKILL)


def _wait_http(url: str, process: subprocess.Popen[bytes], log: Path, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args} exited: {log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer within {seconds} s: {log.read_text()[-3000:]}")


def _notebook(path: Path, cells: list[str]) -> None:
    notebook = {
        "cells": [
            {"cell_type": "code", "metadata": {}, "source": c, "outputs": [], "execution_count": None}
            for c in cells
        ],
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path.write_text(json.dumps(notebook))


def _lesson(home: Path) -> str:
    """The browser lesson in ``home`` (or, while it is not written, a tiny stand-in); its name."""
    home.mkdir(parents=True, exist_ok=True)
    if LESSON.exists():
        shutil.copy(LESSON, home / LESSON.name)
        return LESSON.name
    cells = [
        'import wslab\nlab = wslab.Lab(clock="logical")\nserver = lab.serve()',
        "browser = lab.browser(server)\nbrowser",
        'browser.send("Bonjour par le hub")',
        'browser.close(4000, "fini")',
        "lab.close()",
    ]
    _notebook(home / "browser-side.ipynb", cells)
    return "browser-side.ipynb"


# A direct address nobody listens on (port 1), as when the kernel runs in a container: the page
# must fall back to the proxy without the seed or the kernel seeing the failed attempt.
FALLBACK = [
    "import dataclasses\nimport wslab\nimport wslab.browser\n"
    'lab = wslab.Lab(clock="logical")\nserver = lab.serve()\n'
    "real = wslab.browser.page_route\n"
    "wslab.browser.page_route = lambda s, p, env=None: dataclasses.replace(real(s, p, env), "
    "url='ws://127.0.0.1:1/broken')\n"
    "try:\n    broken = lab.browser(server)\nfinally:\n    wslab.browser.page_route = real\nbroken",
    "lab.close()",
]


def _lab_settings(config_dir: Path) -> None:
    """Every cell in the DOM, not only the visible ones (JupyterLab's windowing off)."""
    settings = config_dir / "lab" / "user-settings" / "@jupyterlab" / "notebook-extension"
    settings.mkdir(parents=True, exist_ok=True)
    (settings / "tracker.jupyterlab-settings").write_text('{"windowingMode": "none"}')


def _env() -> dict[str, str]:
    """This interpreter's scripts (jupyterhub-singleuser) first on PATH, then node's."""
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    return {**os.environ, "PATH": path}


class Hub:
    """A JupyterHub on loopback: dummy authenticator, simple local spawner, its own proxy."""

    def __init__(self, work: Path) -> None:
        self.work = work
        self.port, hub_port, api_port = _free_ports(3)
        self.notebook = _lesson(work / "home" / USER)
        _lab_settings(work / "jupyter")
        args = ["--LabApp.expose_app_in_browser=True", "--LabApp.news_url="]
        if os.geteuid() == 0:
            args.append("--allow-root")  # hub-facts.md: else the spawn fails with HTTP 500
        config = {
            "JupyterHub.ip": "127.0.0.1",
            "JupyterHub.port": self.port,
            "JupyterHub.hub_ip": "127.0.0.1",
            "JupyterHub.hub_port": hub_port,
            "JupyterHub.db_url": f"sqlite:///{work / 'hub.sqlite'}",
            "JupyterHub.cookie_secret_file": str(work / "cookie_secret"),
            "JupyterHub.pid_file": str(work / "hub.pid"),
            "JupyterHub.authenticator_class": "dummy",
            "JupyterHub.spawner_class": "simple",
            "ConfigurableHTTPProxy.api_url": f"http://127.0.0.1:{api_port}",
            "ConfigurableHTTPProxy.command": [CHP],
            "ConfigurableHTTPProxy.auth_token": secrets.token_hex(16),
            "Authenticator.allow_all": True,
            "SimpleLocalProcessSpawner.home_dir_template": str(work / "home" / "{username}"),
            "Spawner.args": args,
            "Spawner.default_url": "/lab",
            "Spawner.environment": {"JUPYTER_CONFIG_DIR": str(work / "jupyter")},
            "Spawner.start_timeout": 40,
            "Spawner.http_timeout": 40,
        }
        lines = ["c = get_config()  # noqa"] + [
            f"c.{key.split('.')[0]}.{key.split('.')[1]} = {value!r}" for key, value in config.items()
        ]
        (work / "jupyterhub_config.py").write_text("\n".join(lines) + "\n")
        self.log = work / "hub.log"
        with open(self.log, "w") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "jupyterhub", "-f", str(work / "jupyterhub_config.py")],
                cwd=work,
                env=_env(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        _stop_tree(self.process, 15)


class Lab:
    """A plain ``jupyter lab`` on loopback, reachable under any host name (a remote JupyterLab)."""

    def __init__(self, work: Path, *, proxy: bool = True) -> None:
        self.work = work
        (self.port,) = _free_ports(1)
        self.token = secrets.token_hex(16)
        self.notebook = _lesson(work / "home")
        _notebook(work / "home" / "fallback.ipynb", FALLBACK)
        _lab_settings(work / "jupyter")
        if not proxy:  # the user's config wins over the one jupyter-server-proxy installs
            extensions = {"ServerApp": {"jpserver_extensions": {"jupyter_server_proxy": False}}}
            (work / "jupyter" / "jupyter_server_config.json").write_text(json.dumps(extensions))
        self.log = work / "lab.log"
        with open(self.log, "w") as log:
            self.process = subprocess.Popen(
                # its Host is REMOTE_NAME, not localhost: remote access allowed
                lab_command(self.port, self.token, work / "home", "--ServerApp.allow_remote_access=True"),
                cwd=work,
                env={**_env(), "JUPYTER_CONFIG_DIR": str(work / "jupyter")},
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def stop(self) -> None:
        _stop_tree(self.process, 15)


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=[*FLAGS, f"--host-resolver-rules=MAP {REMOTE_NAME} 127.0.0.1"],
            headless=True,
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[Hub]:
    if NO_HUB:
        pytest.skip(NO_HUB)
    server = Hub(tmp_path)
    try:
        _wait_http(f"{server.url}/hub/api", server.process, server.log, 30)
        yield server
    finally:
        server.stop()


def _lab(work: Path, proxy: bool) -> Iterator[Lab]:
    server = Lab(work, proxy=proxy)
    try:
        _wait_http(
            f"http://127.0.0.1:{server.port}/api/status?token={server.token}", server.process, server.log, 40
        )
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def remote_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    yield from _lab(tmp_path_factory.mktemp("remote-lab"), proxy=True)


@pytest.fixture
def lab_without_proxy(tmp_path: Path) -> Iterator[Lab]:
    yield from _lab(tmp_path, proxy=False)


# --- driving JupyterLab through its own application object (expose_app_in_browser) -----------------


def run_all_but_last(page: Any) -> None:
    """Run every cell but the last one (the lesson's ``lab.close()``)."""
    page.evaluate(
        "() => { const nb = window.jupyterapp.shell.currentWidget.content;"
        " nb.activeCellIndex = nb.widgets.length - 1;"
        " return window.jupyterapp.commands.execute('notebook:run-all-above'); }"
    )
    time.sleep(0.3)  # the first execute request must be on its way before polling for idle
    wait_idle(page)


def wait_for_log(page: Any, words: str, seconds: float = 15) -> str:
    """The last browser widget's log, once it holds ``words``."""
    page.wait_for_function(
        "(words) => { const logs = [...document.querySelectorAll('.wslab-browser-log')];"
        " return logs.length && logs[logs.length - 1].textContent.includes(words); }",
        arg=words,
        timeout=seconds * 1000,
    )
    return str(page.locator(".wslab-browser-log").last.inner_text())


_REPORT = """
import json
ours = lab.browsers[-1]
upgrade = [e for e in lab.events.filter(kind="upgrade") if e.conn == ours.conn]
print(json.dumps({
    "kinds": [e.kind for e in lab.events.filter(side="browser") if e.conn == ours.conn],
    "errors": [e.error for e in lab.events.filter(side="browser", kind="error") if e.conn == ours.conn],
    "route": ours.route.kind,
    "headers": [list(h) for h in (upgrade[0].headers if upgrade else ())],
    "detail": upgrade[0].detail if upgrade else None,
    "port": server.port,
    "jsonl": lab.events.to_jsonl(),
}))
"""


def report(page: Any) -> dict[str, Any]:
    out = run_new_cell(page, _REPORT)
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


def assert_came_through_the_proxy(seen: dict[str, Any], log: str, secrets_seen: list[str]) -> None:
    """The page's events reached the recorder, over a connection the proxy made; no secret recorded."""
    for kind in ("connecting", "open", "message", "close"):
        assert kind in seen["kinds"], (kind, seen["kinds"], log)
    assert "through the notebook server's proxy" in log
    headers = {name.lower(): value for name, value in seen["headers"]}
    assert headers["host"] != f"127.0.0.1:{seen['port']}", headers  # the page's host: the proxy called
    assert headers.get("cookie") == "***", headers  # the hub's cookies reached the server, masked
    everything = json.dumps(seen["headers"]) + str(seen["detail"]) + seen["jsonl"]
    for secret in secrets_seen:
        assert secret not in everything


# --- the tests ---------------------------------------------------------------------------------------


def test_a_learner_on_a_hub_runs_the_browser_lesson_through_the_proxy(hub: Hub, chromium: Any) -> None:
    context = chromium.new_context(viewport={"width": 1400, "height": 1000})
    try:
        page = context.new_page()
        page.goto(f"{hub.url}/hub/login", timeout=20_000)
        page.fill("#username_input", USER)
        page.fill("#password_input", "any password: the dummy authenticator takes it")
        page.click("#login_submit")
        page.wait_for_load_state()
        lesson = f"/user/{USER}/lab/tree/{hub.notebook}"
        page.goto(f"{hub.url}/hub/spawn/{USER}?next={lesson}", timeout=40_000)
        page.wait_for_url(f"**{lesson}", timeout=40_000)
        page.wait_for_function(f"() => ({KERNEL_STATUS})() === 'idle'", timeout=40_000)
        run_all_but_last(page)
        assert errors_in(page) == []
        log = wait_for_log(page, "close  code=")
        seen = report(page)
        cookies = [c["value"] for c in context.cookies() if len(c["value"]) >= 8]
        assert any(c["name"].startswith("jupyterhub-") for c in context.cookies())
        assert seen["route"] == "proxy"  # the kernel knew it runs under a hub
        assert_came_through_the_proxy(seen, log, cookies)
        if os.environ.get("WSLAB_HUB_RTT"):
            print("\nhub:", rtt(page, f"/user/{USER}/proxy/{seen['port']}/rtt", seen["port"]))
    finally:
        context.close()


def test_a_remote_jupyterlab_page_goes_through_its_proxy(remote_lab: Lab, chromium: Any) -> None:
    context = chromium.new_context(viewport={"width": 1400, "height": 1000})
    try:
        page = context.new_page()
        base = f"http://{REMOTE_NAME}:{remote_lab.port}"
        page.goto(
            f"{base}/lab/workspaces/remote/tree/{remote_lab.notebook}?token={remote_lab.token}",
            timeout=30_000,
        )
        page.wait_for_function(f"() => ({KERNEL_STATUS})() === 'idle'", timeout=40_000)
        run_all_but_last(page)
        assert errors_in(page) == []
        log = wait_for_log(page, "close  code=")
        seen = report(page)
        assert seen["route"] == "direct"  # the kernel cannot tell: the page saw it is not on loopback
        assert_came_through_the_proxy(seen, log, [remote_lab.token])
        if os.environ.get("WSLAB_HUB_RTT"):
            print("\nremote lab:", rtt(page, f"/proxy/{seen['port']}/rtt", seen["port"]))
    finally:
        context.close()


def test_a_page_whose_direct_route_fails_falls_back_to_the_proxy(remote_lab: Lab, chromium: Any) -> None:
    context = chromium.new_context(viewport={"width": 1400, "height": 1000})
    try:
        page = context.new_page()
        page.goto(
            f"http://127.0.0.1:{remote_lab.port}/lab/workspaces/fallback/tree/fallback.ipynb"
            f"?token={remote_lab.token}",
            timeout=30_000,
        )
        page.wait_for_function(f"() => ({KERNEL_STATUS})() === 'idle'", timeout=40_000)
        run_all_but_last(page)
        assert errors_in(page) == []
        log = wait_for_log(page, "Serveur a reçu : Bonjour serveur!")
        assert "the direct route failed: trying the proxy" in log
        assert "through the notebook server's proxy" in log
        seen = report(page)
        kinds = seen["kinds"]
        assert "open" in kinds and "message" in kinds and "error" not in kinds  # the failure stayed unseen
    finally:
        context.close()


def test_a_page_says_what_to_install_when_the_notebook_server_has_no_proxy(
    lab_without_proxy: Lab, chromium: Any
) -> None:
    context = chromium.new_context(viewport={"width": 1400, "height": 1000})
    try:
        page = context.new_page()
        base = f"http://{REMOTE_NAME}:{lab_without_proxy.port}"
        page.goto(
            f"{base}/lab/workspaces/bare/tree/fallback.ipynb?token={lab_without_proxy.token}", timeout=30_000
        )
        page.wait_for_function(f"() => ({KERNEL_STATUS})() === 'idle'", timeout=40_000)
        run_all_but_last(page)
        log = wait_for_log(page, "install jupyter-server-proxy")
        assert "(404)" in log
        seen = report(page)
        assert seen["kinds"][-2:] == ["error", "close"]
        assert "install jupyter-server-proxy" in seen["errors"][-1]
        assert "open" not in seen["kinds"]
    finally:
        context.close()


def rtt(page: Any, proxied_path: str, port: int, count: int = 200) -> dict[str, float]:
    """Median and p90 echo round trip (ms, 64 bytes) from the page: through the proxy and direct."""
    result: dict[str, float] = page.evaluate(
        """async ([proxied, direct, count]) => {
            const one = (url) => new Promise((resolve, reject) => {
                const ws = new WebSocket(url);
                const times = [];
                let start = 0, welcomed = false;
                ws.onerror = () => reject(new Error("cannot open " + url));
                ws.onmessage = () => {
                    if (welcomed) times.push(performance.now() - start);
                    welcomed = true;
                    if (times.length === count) { ws.close(); times.sort((a, b) => a - b);
                        resolve([times[count >> 1], times[Math.floor(count * 0.9)]]); return; }
                    start = performance.now();
                    ws.send("x".repeat(64));
                };
            });
            const origin = location.origin.replace(/^http/, "ws");
            const [pm, p90] = await one(origin + proxied);
            const [dm, d90] = await one(direct);
            return { proxy_p50: pm, proxy_p90: p90, direct_p50: dm, direct_p90: d90 };
        }""",
        [proxied_path, f"ws://127.0.0.1:{port}/rtt-direct", count],
    )
    return {k: round(v, 3) for k, v in result.items()}
