"""The seed's Node.js peers, for real: its ``ws`` server and its client, as child processes.

``start_server(lab)`` runs the seed's server example (``wslab/js/seed-server.js``: the seed's code,
only its port read from ``WSLAB_PORT``) with ``node``, waits until it listens, and returns a
handle; ``connect(lab, node)`` connects a wslab client to it, recorded as usual. ``run_client(lab,
server)`` runs the seed's client code under Node (``require('ws')`` for ``WebSocket``, the URL from
``WSLAB_URL``) against a wslab server, whose events name it ``node``.

What Node prints (the seed's ``console.log`` lines) is kept in ``NodeProcess.console``; with
``record_console=True`` each line is also recorded as a ``note`` event under the process's name (off
by default: Node prints when it likes, so the notes would land between the other events in a
different place on every run). Every process is stopped by ``lab.close()``.

Node needs the ``ws`` package: ``npm ci`` at the repository root installs the pinned version
(``package.json``); ``WSLAB_NODE_MODULES`` may point at another ``node_modules`` folder.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import WslabError, WslabTimeout
from .events import Side

if TYPE_CHECKING:
    from .client import Client
    from .lab import Lab
    from .server import Server

__all__ = [
    "SEED_CLIENT_NODE_JS",
    "SEED_SERVER_JS",
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
"""The seed's Node ``ws`` server; only its port changed: ``Number(process.env.WSLAB_PORT)``, not 8080."""

SEED_CLIENT_NODE_JS = "const WebSocket = require('ws');\n" + (_JS / "seed-client.js").read_text(
    encoding="utf-8"
).replace("'wss://example.com/socket'", "process.env.WSLAB_URL")
"""The seed's client under Node: ``ws`` gives ``WebSocket``, the URL comes from ``WSLAB_URL``."""


class NodeMissing(WslabError):
    """``node`` is not on PATH, or the ``ws`` package is not installed (run ``npm ci``)."""


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


class NodeProcess:
    """One ``node`` child process running seed code; what it prints is kept in ``console``."""

    def __init__(
        self,
        lab: Lab,
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
        self.name = name
        self.side = side
        self.conn = conn
        self.record_console = record_console
        self.console: list[str] = []
        self._lab = lab
        self._printed = threading.Condition()
        full_env = {k: v for k, v in os.environ.items() if k != "FORCE_COLOR"}
        full_env.update(env, NODE_PATH=str(modules), NO_COLOR="1", NODE_DISABLE_COLORS="1")
        self.process = subprocess.Popen(  # a fixed node command line, no shell
            ["node", "--require", str(_JS / "loopback.js"), "-e", script],
            cwd=str(modules.parent),
            env=full_env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            encoding="utf-8",
            errors="replace",
        )
        lab._cleanups.append(self.stop)
        self._reader = threading.Thread(target=self._read, name=f"wslab-{name}-stdout", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for raw in self.process.stdout:
            line = raw.rstrip("\n")
            with self._printed:
                self.console.append(line)
                self._printed.notify_all()
            if self.record_console:
                self._lab.recorder.record(
                    side=self.side, kind="note", endpoint=self.name, conn=self.conn, detail=f"node: {line}"
                )

    def wait_for_output(self, lines: int, timeout: float | None = None) -> list[str]:
        """Wait until Node has printed ``lines`` lines in all; returns them."""
        limit = self._lab.timeout if timeout is None else timeout
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
            code = self.process.wait(self._lab.timeout if timeout is None else timeout)
        except subprocess.TimeoutExpired:
            raise WslabTimeout(f"{self.name} is still running") from None
        self._reader.join(self._lab.timeout)
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
        state = "running" if self.running else f"exited {self.process.returncode}"
        return f"<NodeProcess {self.name!r} {state}, {len(self.console)} lines printed>"


class NodeServer(NodeProcess):
    """The seed's ``ws`` server in a ``node`` process, listening on ``url``."""

    def __init__(self, lab: Lab, name: str, port: int, *, record_console: bool = False) -> None:
        self.port = port
        env = {"WSLAB_PORT": str(port)}
        super().__init__(lab, name, "server", SEED_SERVER_JS, env, record_console=record_console)

    @property
    def url(self) -> str:
        """``ws://127.0.0.1:PORT/`` (the port varies: don't print it in a lesson)."""
        return f"ws://127.0.0.1:{self.port}/"

    def _wait_listening(self) -> None:
        deadline = time.monotonic() + self._lab.timeout
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
        raise WslabTimeout(f"the Node server did not listen within {self._lab.timeout} s")

    def __repr__(self) -> str:
        state = "listening" if self.running else f"exited {self.process.returncode}"
        return f"<NodeServer {self.name!r} (the seed's ws server) {state}, {len(self.console)} lines printed>"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(lab: Lab, *, name: str = "node", record_console: bool = False) -> NodeServer:
    """Run the seed's Node ``ws`` server on a free loopback port; returns once it listens."""
    server = NodeServer(lab, name, _free_port(), record_console=record_console)
    server._wait_listening()
    return server


def connect(lab: Lab, node: NodeServer, *, name: str | None = None) -> Client:
    """Connect a wslab client to the Node server; its events name the other end after it."""
    from .client import Client

    async def start() -> Client:
        client = Client(
            lab,
            lab._unique(name, "client", [c.name for c in lab.clients]),
            node.url,
            peer=node.name,
            on=None,
            options={"open_timeout": lab.timeout},
        )
        lab.clients.append(client)
        await client._open()
        return client

    return lab._block(lab._on_loop(start()), None, "connect")


def run_client(lab: Lab, server: Server, *, name: str = "node", record_console: bool = False) -> NodeProcess:
    """Run the seed's client under Node against ``server``; the server's events name it ``name``.

    It connects at once; it sends ``Bonjour serveur!`` on open, as the seed does, and ends when
    the connection closes (close it from the server: ``server.close()`` or the peer's ``close``).
    """
    conn = lab._new_conn_id()
    path = f"/{name}"
    lab._claim_path(path, conn, name, server.name)
    url = server.url.rstrip("/") + path
    env = {"WSLAB_URL": url}
    return NodeProcess(lab, name, "client", SEED_CLIENT_NODE_JS, env, conn, record_console=record_console)
