"""The wslab command, run as a real process: serve, connect, proxy and show, Ctrl-C included.

Ctrl-C is SIGINT sent to the process. On Windows a parent cannot send SIGINT to one child (only
CTRL_BREAK_EVENT to a process group), so those tests are skipped there; connect's end of input
(which closes with 1000) is the way to stop it that works everywhere.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import wslab

TIMEOUT = 20.0
HAR = Path(__file__).parents[1] / "notebooks" / "data" / "classic-example.har"
posix_only = pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to one child process is POSIX only")


class Command:
    """``python -m wslab …`` in the background, its output collected line by line."""

    def __init__(self, *args: str) -> None:
        env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "wslab", *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            encoding="utf-8",
            env=env,
        )
        self.lines: list[str] = []
        self._changed = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self._changed:
                self.lines.append(line.rstrip("\n"))
                self._changed.notify_all()

    def wait_for(self, pattern: str, timeout: float = TIMEOUT) -> re.Match[str]:
        """The first output line matching ``pattern``, waiting for it (bounded)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for line in self.lines:
                    found = re.search(pattern, line)
                    if found:
                        return found
                left = deadline - time.monotonic()
                if left <= 0 or (self.proc.poll() is not None and not self._more_soon()):
                    raise AssertionError(f"no line matching {pattern!r} in:\n" + "\n".join(self.lines))
                self._changed.wait(min(left, 0.2))

    def _more_soon(self) -> bool:
        return self.proc.stdout is not None and not self.proc.stdout.closed

    def type(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def end_input(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()

    def interrupt(self) -> int:
        """Ctrl-C: SIGINT, then the exit status (bounded)."""
        self.proc.send_signal(signal.SIGINT)
        return self.proc.wait(TIMEOUT)

    @property
    def output(self) -> str:
        with self._changed:
            return "\n".join(self.lines)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(TIMEOUT)


@pytest.fixture
def lab() -> Iterator[wslab.Lab]:
    with wslab.Lab(name="test-cli") as lab:
        yield lab


def run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    return subprocess.run(
        [sys.executable, "-m", "wslab", *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=TIMEOUT,
        env=env,
    )


@posix_only
def test_serve_welcomes_echoes_and_closes_with_1001_on_ctrl_c(lab: wslab.Lab, tmp_path: Path) -> None:
    record = tmp_path / "serve.jsonl"
    serve = Command("serve", "--port", "0", "--record", str(record))
    try:
        url = serve.wait_for(r"listening on (ws://\S+)").group(1)
        client = lab.connect(url)
        client.send("Bonjour serveur!")
        assert client.recv() == "Bienvenue sur le serveur WebSocket"
        assert client.recv() == "Serveur a reçu : Bonjour serveur!"
        serve.wait_for(r"message\s+'Bonjour serveur!'.*a message arrived")
        assert serve.interrupt() == 0
        client.wait_closed()
    finally:
        serve.kill()
    closes = lab.events.filter(kind="close", side="client")
    assert [(e.code, e.was_clean) for e in closes] == [(1001, True)]
    saved = wslab.load(record)
    assert [e.code for e in saved.filter(kind="close")] == [1001]
    assert "recorded" in serve.output


def test_connect_sends_each_line_and_shows_every_event_with_its_meaning(
    lab: wslab.Lab, tmp_path: Path
) -> None:
    server = lab.serve(welcome="Bienvenue sur le serveur WebSocket")
    record = tmp_path / "connect.jsonl"
    connect = Command("connect", server.url, "--record", str(record))
    try:
        connect.wait_for(r"open .*the handshake is done")
        connect.type("Bonjour serveur!")
        connect.wait_for(r"message\s+'Serveur a reçu : Bonjour serveur!'")
        connect.end_input()
        assert connect.proc.wait(TIMEOUT) == 0
    finally:
        connect.kill()
    connect.wait_for(r"close\s+1000 normal closure.*the connection is closed")
    lab.settle()
    assert [e.data for e in lab.events.filter(side="server", kind="message")] == ["Bonjour serveur!"]
    assert [e.code for e in lab.events.filter(side="server", kind="close")] == [1000]
    assert wslab.load(record).filter(kind="send")[0].data == "Bonjour serveur!"


@posix_only
def test_connect_closes_with_1001_on_ctrl_c_and_writes_the_record(lab: wslab.Lab, tmp_path: Path) -> None:
    server = lab.serve(welcome="Bienvenue sur le serveur WebSocket")
    record = tmp_path / "connect.jsonl"
    connect = Command("connect", server.url, "--record", str(record))
    try:
        connect.wait_for(r"message\s+'Bienvenue")
        assert connect.interrupt() == 0
    finally:
        connect.kill()
    lab.settle()
    assert [(e.code, e.reason) for e in lab.events.filter(side="server", kind="close")] == [(1001, "Ctrl-C")]
    assert [e.code for e in wslab.load(record).filter(kind="close")] == [1001]


def test_connect_to_nothing_says_why_and_fails() -> None:
    result = run("connect", "ws://127.0.0.1:9/", "--timeout", "2")
    assert result.returncode == 1
    assert "could not connect" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


@posix_only
def test_proxy_holds_and_edits_a_message_then_closes_with_1001(lab: wslab.Lab, tmp_path: Path) -> None:
    server = lab.serve(welcome="Bienvenue sur le serveur WebSocket")
    record = tmp_path / "proxy.jsonl"
    proxy = Command("proxy", "127.0.0.1:0", server.url, "--record", str(record))
    try:
        url = proxy.wait_for(r"listening on (ws://\S+) →").group(1)
        proxy.type("hold c2s")
        proxy.wait_for(r"holding")
        client = lab.connect(url)
        assert client.recv() == "Bienvenue sur le serveur WebSocket"
        client.send("Bonjour serveur!")
        proxy.wait_for(r"frame\s+client→server TEXT .*'Bonjour serveur!'")
        proxy.type("pending")
        proxy.wait_for(r"\[0\] .*'Bonjour serveur!'")
        proxy.type("edit Bonjour modifié")
        assert client.recv() == "Serveur a reçu : Bonjour modifié"
        proxy.type("release")
        proxy.wait_for(r"release: pass-through again")
        assert proxy.interrupt() == 0
        client.wait_closed()
    finally:
        proxy.kill()
    lab.settle()
    assert [e.code for e in lab.events.filter(side="client", kind="close")] == [1001]
    assert [e.data for e in lab.events.filter(side="server", kind="message")] == ["Bonjour modifié"]
    frames = wslab.load(record).filter(kind="frame")
    assert any(e.data == "Bonjour modifié" and e.detail and "edited" in e.detail for e in frames)


def test_a_bad_proxy_command_is_answered_not_fatal(lab: wslab.Lab) -> None:
    server = lab.serve()
    proxy = Command("proxy", "0", server.url)
    try:
        proxy.wait_for(r"listening on")
        proxy.type("drop")
        proxy.wait_for(r"WslabError: no frame is held")
        proxy.type("launch rockets")
        proxy.wait_for(r"unknown command 'launch'")
        assert proxy.proc.poll() is None
    finally:
        proxy.kill()


@posix_only
def test_proxy_live_view_draws_the_table_and_stops_on_ctrl_c(lab: wslab.Lab) -> None:
    server = lab.serve()
    proxy = Command("proxy", "0", server.url, "--live", "yes", "--hold")
    try:
        proxy.wait_for(r"listening on")
        proxy.type("pending")
        time.sleep(0.5)
        assert proxy.interrupt() == 0
        proxy.wait_for(r"stopping")
    finally:
        proxy.kill()
    assert re.search(r"┃ seq ┃ time .* ┃ event ┃ code ┃ details", proxy.output)
    assert re.search(r"│ note\s+│.*hold: from now on every frame waits on the wire", proxy.output)


def test_show_renders_a_recorded_session_as_a_table_mermaid_or_svg(tmp_path: Path) -> None:
    with wslab.Lab(clock="logical", name="test-cli-show") as lab:
        client = lab.connect(lab.serve(welcome="Bienvenue sur le serveur WebSocket"))
        client.send("<b>Bonjour</b>")
        client.close()
        path = tmp_path / "session.jsonl"
        path.write_text(lab.events.to_jsonl(), encoding="utf-8")
        mermaid = str(lab.to_mermaid())
    table = run("show", str(path))
    assert table.returncode == 0
    assert re.search(r"close\s+│\s+1000\s+│", table.stdout)
    assert "'<b>Bonjour</b>'" in table.stdout
    assert run("show", str(path), "--format", "mermaid").stdout == mermaid + "\n"
    svg = run("show", str(path), "--format", "svg").stdout
    assert svg.startswith("<svg") and "<b>" not in svg and "&lt;b&gt;" in svg


def test_show_reads_a_devtools_har() -> None:
    result = run("show", str(HAR), "--format", "mermaid")
    assert result.returncode == 0
    assert "browser->>server: 'Bonjour serveur!'" in result.stdout


def test_show_names_the_bad_line_of_a_bad_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    event = {"seq": 1, "time": 1, "side": "client", "kind": "open", "endpoint": "c"}
    bad.write_text(json.dumps(event) + "\n{oops\n", encoding="utf-8")
    result = run("show", str(bad))
    assert result.returncode == 2
    assert "line 2: not JSON" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_wslab_script_is_installed_with_the_package() -> None:
    script = Path(sys.executable).with_name("wslab.exe" if sys.platform == "win32" else "wslab")
    if not script.exists():
        pytest.skip("wslab is not installed in this environment (pip install -e . makes the script)")
    result = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=TIMEOUT)
    assert result.returncode == 0
    assert all(word in result.stdout for word in ("serve", "connect", "proxy", "show"))
