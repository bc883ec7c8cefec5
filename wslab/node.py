"""The reference article's Node.js peers, for real: its ``ws`` server and its client, as child processes.

``start_server(lab)`` runs the article's server example (``wslab/js/seed-server.js``: the article's
code, only its port read from ``WSLAB_PORT``) with ``node``, waits until it listens, and returns a
handle; ``connect(lab, node)`` connects a wslab client to it, recorded as usual. ``run_client(lab,
server)`` runs the article's client code under Node (``require('ws')`` for ``WebSocket``, the URL from
``WSLAB_URL``) against a wslab server, whose events name it ``node``.

``start_server(lab, script="crash")`` runs another server instead (``SERVERS``: one that crashes
on a throw in its message handler, the try/catch fix, the ``ws`` heartbeat with ``maxPayload``).
Every server runs with a preload (``wslab/js/report.js``) that reports each event its sockets fire;
``NodeServer.record()`` puts them in the lab's table (side ``server``), when the lesson asks, so
their place among the other events is the same on every run.

What Node prints (``console.log`` lines) is kept in ``NodeProcess.console``; with
``record_console=True`` each line is also recorded as a ``note`` event under the process's name (off
by default: Node prints when it likes, so the notes would land between the other events in a
different place on every run). Every process is stopped by ``lab.close()``.

Node needs the ``ws`` package: ``npm ci`` at the repository root installs the pinned version
(``package.json``); ``WSLAB_NODE_MODULES`` may point at another ``node_modules`` folder.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, cast

from ._endpoint import Endpoint
from .errors import NodeMissing, WslabTimeout
from .eventlog import EventLog
from .events import Side
from .i18n import _, ngettext

if TYPE_CHECKING:
    from ._context import Context
    from .client import Client
    from .events import Kind
    from .server import Server

__all__ = [
    "ARTICLE_CLIENT_NODE_JS",
    "ARTICLE_SERVER_JS",
    "SEED_CLIENT_NODE_JS",
    "SEED_SERVER_JS",
    "SERVERS",
    "NodeMissing",
    "NodeProcess",
    "available",
    "connect",
    "run_client",
    "start_server",
    "why_unavailable",
]

_JS = Path(__file__).with_name("js")

SEED_SERVER_JS = (_JS / "seed-server.js").read_text(encoding="utf-8")
"""The article's Node ``ws`` server; only its port changed: ``Number(process.env.WSLAB_PORT)``, not 8080."""

SEED_CLIENT_NODE_JS = "const WebSocket = require('ws');\n" + (_JS / "seed-client.js").read_text(
    encoding="utf-8"
).replace("'wss://example.com/socket'", "process.env.WSLAB_URL")
"""The article's client under Node: ``ws`` gives ``WebSocket``, the URL comes from ``WSLAB_URL``."""

ARTICLE_SERVER_JS = SEED_SERVER_JS
"""The same server, under the name the lessons use."""

ARTICLE_CLIENT_NODE_JS = SEED_CLIENT_NODE_JS
"""The same client under Node, under the name the lessons use."""

SERVERS: dict[str, str] = {
    "article": SEED_SERVER_JS,
    **{
        name: (_JS / f"{name}-server.js").read_text(encoding="utf-8")
        for name in ("crash", "safe", "heartbeat")
    },
}
"""The Node servers ``start_server`` runs: the article's (``article``); ``crash``, its message handler
parsing JSON with no try/catch; ``safe``, the same with try/catch; ``heartbeat``, ws's ping and
``terminate()`` pattern with ``maxPayload`` 1024 bytes."""

REPORT = "@@wslab "
"""How wslab/js/report.js starts the lines that report an event (never shown in ``console``)."""


def _node_modules() -> Path | None:
    """The ``node_modules`` folder holding ``ws``: $WSLAB_NODE_MODULES, else next to the repo or cwd."""
    candidates: list[Path] = []
    if os.environ.get("WSLAB_NODE_MODULES"):
        candidates.append(Path(os.environ["WSLAB_NODE_MODULES"]))
    for start in (Path.cwd(), Path(__file__).resolve().parent):
        candidates.extend(folder / "node_modules" for folder in (start, *start.parents))
    for folder in candidates:
        if (folder / "ws" / "package.json").is_file():
            return folder
    return None


def why_unavailable() -> str | None:
    """Why the Node cells cannot run here, or None when they can."""
    if shutil.which("node") is None:
        return "node is not on PATH: install Node.js (Debian: apt-get install nodejs npm) to run these cells"
    if _node_modules() is None:
        return "the ws package is not installed: run `npm ci` at the root of the wslab repository"
    return None


def available() -> bool:
    """True when ``node`` is on PATH and the ``ws`` package is installed."""
    return why_unavailable() is None


def _lines_printed(n: int) -> str:
    return ngettext("{n} line printed", "{n} lines printed", n).format(n=n)


class NodeProcess(Endpoint):
    """One ``node`` child process running the article's code; its output is kept in ``console``.

    Its events go through the lab's one record path, so hooks (``node.on("close", f)``) see them.
    """

    def __init__(
        self,
        ctx: Context,
        name: str,
        side: Side,
        script: str,
        env: dict[str, str],
        conn: str | None = None,
        *,
        record_console: bool = False,
    ) -> None:
        missing = why_unavailable()
        if missing is not None:
            raise NodeMissing(missing)
        modules = _node_modules()
        assert modules is not None
        super().__init__(ctx, name)
        self.side = side
        self.conn = conn
        self.record_console = record_console
        self.console: list[str] = []
        self.reports: list[dict[str, Any]] = []
        """The events report.js saw, in the order Node fired them (see ``NodeServer.record``)."""
        self._printed = threading.Condition()
        full_env = {k: v for k, v in os.environ.items() if k != "FORCE_COLOR"}
        full_env.update(env, NODE_PATH=str(modules), NO_COLOR="1", NODE_DISABLE_COLORS="1")
        preload = ["--require", str(_JS / "loopback.js")]
        if side == "server":
            preload += ["--require", str(_JS / "report.js")]
        self.process = subprocess.Popen(  # a fixed node command line, no shell
            ["node", *preload, "-e", script],
            cwd=str(modules.parent),
            env=full_env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            encoding="utf-8",
            errors="replace",
        )
        ctx.cleanups.append(self.stop)
        self._reader = threading.Thread(target=self._read, name=f"wslab-{name}-stdout", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for raw in self.process.stdout:
            line = raw.rstrip("\n")
            if line.startswith(REPORT):
                with contextlib.suppress(ValueError):
                    report = json.loads(line[len(REPORT) :])
                    if isinstance(report, dict):
                        if report.get("ev") == "connection" and isinstance(report.get("port"), int):
                            self._find_client(report["port"])
                        with self._printed:
                            self.reports.append(report)
                            self._printed.notify_all()
                continue
            with self._printed:
                self.console.append(line)
                self._printed.notify_all()
            if self.record_console:
                self._record("note", conn=self.conn, detail=f"node: {line}")

    def _find_client(self, port: int) -> None:
        """Only a server learns which client connects (see NodeServer)."""

    def wait_for_output(self, lines: int, timeout: float | None = None) -> list[str]:
        """Wait until Node has printed ``lines`` lines in all; returns them."""
        limit = self._ctx.limits.timeout if timeout is None else timeout
        with self._printed:
            if not self._printed.wait_for(lambda: len(self.console) >= lines, limit):
                raise WslabTimeout(
                    f"{self.name} printed {len(self.console)} lines, not {lines}, in {limit} s"
                )
            return list(self.console)

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    def wait(self, timeout: float | None = None) -> int:
        """Wait until the process ends by itself; returns its exit code."""
        try:
            code = self.process.wait(self._ctx.limits.timeout if timeout is None else timeout)
        except subprocess.TimeoutExpired:
            raise WslabTimeout(f"{self.name} is still running") from None
        self._reader.join(self._ctx.limits.timeout)
        return code

    def stop(self) -> None:
        """Stop the process (SIGTERM, then SIGKILL) and wait for it: nothing is left behind."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(2.0)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(2.0)
        self._reader.join(2.0)
        if self.process.stdout is not None:
            self.process.stdout.close()

    def __repr__(self) -> str:
        state = _("running") if self.running else _("exited {code}").format(code=self.process.returncode)
        return f"<NodeProcess {self.name!r} {state}, {_lines_printed(len(self.console))}>"


class NodeServer(NodeProcess):
    """A Node ``ws`` server (the article's by default) in a ``node`` process, listening on ``url``."""

    def __init__(
        self, ctx: Context, name: str, port: int, *, script: str = "article", record_console: bool = False
    ) -> None:
        if script not in SERVERS:
            raise ValueError(f"no Node server {script!r}: one of {sorted(SERVERS)}")
        self.port = port
        self.script = script
        self._recorded = 0
        self._closing: set[int] = set()
        self._conns: dict[int, tuple[str | None, str | None]] = {}  # Node's socket number -> conn, client
        self._ports: dict[int, tuple[str | None, str | None]] = {}  # the client's port -> conn, client
        env = {"WSLAB_PORT": str(port)}
        super().__init__(ctx, name, "server", SERVERS[script], env, record_console=record_console)

    def record(self, until: str | None = None, timeout: float | None = None) -> EventLog:
        """Put what Node reported since the last call in the lab's table; returns those events.

        ``until`` (an event kind such as ``"close"``, or ``"exit"``) first waits until Node has
        reported one since the last call, or has exited. Why not as they happen: Node prints when it
        likes, and recording at a point the lesson chooses keeps the table the same on every run.
        """
        limit = self._ctx.limits.timeout if timeout is None else timeout
        if until is not None:

            def arrived() -> bool:
                fresh = self.reports[self._recorded :]
                return any(r.get("ev") == until for r in fresh) or not self.running

            with self._printed:
                if not self._printed.wait_for(arrived, limit):
                    raise WslabTimeout(f"{self.name} reported no {until!r} within {limit} s")
            if not self.running:
                self._reader.join(limit)  # everything it printed before exiting
        with self._printed:
            fresh, self._recorded = self.reports[self._recorded :], len(self.reports)
        before = self._ctx.recorder.total
        for report in fresh:
            self._record_one(report)
        mine = self._ctx.recorder.snapshot().filter(who=self.name)
        return EventLog([e for e in mine if e.seq > before], time_unit=mine.time_unit)

    def _record_one(self, report: dict[str, Any]) -> None:
        ev, ident = report.get("ev"), report.get("id")
        conn, peer = self._conns.get(ident, (None, None)) if isinstance(ident, int) else (None, None)
        record = self._record_kind
        common: dict[str, Any] = {"conn": conn, "peer": peer}
        size = report.get("size") if isinstance(report.get("size"), int) else None
        text = report.get("text") if isinstance(report.get("text"), str) else None
        data: str | bytes = text if text is not None else _bytes(report.get("b64"))
        reason = report.get("reason") if isinstance(report.get("reason"), str) else ""
        if ev == "connection" and isinstance(ident, int):
            conn, peer = self._client_at(report.get("port"))
            self._conns[ident] = (conn, peer)
            common.update(conn=conn, peer=peer)
            record(kind="connection", detail=f"ws.on('connection'): GET {report.get('path')}", **common)
        elif ev in ("message", "send"):
            record(kind=ev, data=data, size=size, **common)
        elif ev == "closing":
            self._closing.add(ident if isinstance(ident, int) else -1)
            record(kind="closing", code=report.get("code"), reason=reason, **common)
        elif ev == "close":
            code = report.get("code") if isinstance(report.get("code"), int) else None
            initiator = self.name if ident in self._closing else (peer if code != 1006 else None)
            record(kind="close", code=code, reason=reason, initiator=initiator, **common)
        elif ev == "error":
            record(
                kind="error", error=f"ws.on('error'): {report.get('error')} ({report.get('code')})", **common
            )
        elif ev == "terminate":
            record(kind="note", detail=_("ws.terminate(): the socket is destroyed, no close frame"), **common)
        elif ev == "exit":
            common.update(conn=None, peer=None)
            detail = _("the node process exits with code {code}").format(code=report.get("code"))
            record(kind="note", detail=detail, **common)

    def _record_kind(self, *, kind: Kind, **fields: Any) -> None:
        self._record(kind, **fields)

    def _client_at(self, port: object) -> tuple[str | None, str | None]:
        """The wslab client that connected from ``port`` (found when Node reported the connection)."""
        return self._ports.get(port, (None, None)) if isinstance(port, int) else (None, None)

    def _find_client(self, port: int) -> None:
        """Which wslab client connects from ``port``: asked as soon as Node reports the connection.

        The lab's client announced its address before its handshake (the session keeps the newest
        addresses after it, for this late report); a few short retries cover a thread switch.
        """
        for _attempt in range(50):
            found = self._ctx.session.expected.get(("127.0.0.1", port))
            if found is not None:
                self._ports[port] = (found[0] or None, found[1])
                return
            time.sleep(0.005)

    @property
    def url(self) -> str:
        """``ws://127.0.0.1:PORT/`` (the port varies: don't print it in a lesson)."""
        return f"ws://127.0.0.1:{self.port}/"

    def _wait_listening(self) -> None:
        deadline = time.monotonic() + self._ctx.limits.timeout
        while time.monotonic() < deadline:
            if not self.running:
                self._reader.join(1.0)
                raise NodeMissing(f"node exited with {self.process.returncode}: {' / '.join(self.console)}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.02)
        self.stop()
        raise WslabTimeout(f"the Node server did not listen within {self._ctx.limits.timeout} s")

    def __repr__(self) -> str:
        state = _("listening") if self.running else _("exited {code}").format(code=self.process.returncode)
        what = _("the article's ws server") if self.script == "article" else f"{self.script}-server.js"
        return f"<NodeServer {self.name!r} ({what}) {state}, {_lines_printed(len(self.console))}>"


def _bytes(b64: object) -> bytes:
    """A binary message as report.js gave it (base64); nothing when the report is malformed."""
    if not isinstance(b64, str):
        return b""
    try:
        return base64.b64decode(b64, validate=True)
    except ValueError:
        return b""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class NodeLab(Protocol):
    """How a lesson's lab makes Node peers (``wslab.Lab`` does): the one way to add them."""

    def node_server(
        self, *, name: str = ..., script: str = ..., record_console: bool = ...
    ) -> NodeServer: ...
    def node_client(self, server: Server, *, name: str = ..., record_console: bool = ...) -> NodeProcess: ...
    def connect(self, target: Any, **options: Any) -> Any: ...


def start_server(
    lab: NodeLab, *, name: str = "node", script: str = "article", record_console: bool = False
) -> NodeServer:
    """``lab.node_server(...)``: a Node ``ws`` server on a free loopback port, once it listens."""
    return lab.node_server(name=name, script=script, record_console=record_console)


def connect(lab: NodeLab, node: NodeServer, *, name: str | None = None) -> Client:
    """``lab.connect(node)``: a wslab client to the Node server; its events name the other end after it."""
    return cast("Client", lab.connect(node, name=name))


def run_client(
    lab: NodeLab, server: Server, *, name: str = "node", record_console: bool = False
) -> NodeProcess:
    """``lab.node_client(server)``: the article's client under Node against ``server``."""
    return lab.node_client(server, name=name, record_console=record_console)


def new_server(
    ctx: Context, name: str, *, script: str = "article", record_console: bool = False
) -> NodeServer:
    """Run a Node ``ws`` server (``SERVERS[script]``, the article's by default) on a free loopback port.

    Returns once it listens.
    """
    server = NodeServer(ctx, name, _free_port(), script=script, record_console=record_console)
    server._wait_listening()
    return server


def new_client(ctx: Context, server: Server, name: str, *, record_console: bool = False) -> NodeProcess:
    """Run the article's client under Node against ``server``; the server's events name it ``name``.

    It connects at once; it sends ``Bonjour serveur!`` on open, as the article's does, and ends when
    the connection closes (close it from the server: ``server.close()`` or the peer's ``close``).
    """
    conn = ctx.session.new_conn_id()
    path = f"/{name}"
    ctx.session.claim_path(path, conn, name, server.name)
    url = server.url.rstrip("/") + path
    env = {"WSLAB_URL": url}
    return NodeProcess(ctx, name, "client", SEED_CLIENT_NODE_JS, env, conn, record_console=record_console)
