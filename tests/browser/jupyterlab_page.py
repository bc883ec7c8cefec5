"""Driving JupyterLab in headless Chromium, shared by the real-browser tests.

Chromium is Debian's (never a Playwright download); JupyterLab is driven through its own
application object, which ``--LabApp.expose_app_in_browser=True`` puts on ``window.jupyterapp``.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

CHROMIUM = os.environ.get("WSLAB_CHROMIUM", "/usr/bin/chromium")
FLAGS = [  # jupyter-facts.md: headless Debian chromium without sandbox, sync or network chatter
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
KERNEL_STATUS = (
    "() => { const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;"
    " const k = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;"
    " return k ? k.status : 'none'; }"
)


def lab_command(port: int, token: str, root: object, *extra: str) -> list[str]:
    """``jupyter lab`` on loopback with a token, driveable from the page, without news or a browser."""
    return [
        sys.executable,
        "-m",
        "jupyter",
        "lab",
        "--no-browser",
        f"--port={port}",
        "--ip=127.0.0.1",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        "--LabApp.expose_app_in_browser=True",
        "--LabApp.news_url=",
        "--allow-root",
        *extra,
    ]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_idle(page: Any, seconds: float = 40, settle: float = 0.6) -> None:
    """Kernel idle and no cell waiting (``[*]``) for ``settle`` seconds in a row."""
    deadline = time.monotonic() + seconds
    quiet_since: float | None = None
    while time.monotonic() < deadline:
        waiting = page.evaluate(
            "() => [...document.querySelectorAll('.jp-InputPrompt')].some(p => p.textContent.includes('*'))"
        )
        if page.evaluate(KERNEL_STATUS) == "idle" and not waiting:
            quiet_since = quiet_since or time.monotonic()
            if time.monotonic() - quiet_since >= settle:
                return
        else:
            quiet_since = None
        time.sleep(0.1)
    raise TimeoutError("the kernel did not become idle in time")


def run_new_cell(page: Any, code: str) -> str:
    """Append a code cell, run it, and return the text of its output."""
    page.evaluate(
        "(code) => { const nb = window.jupyterapp.shell.currentWidget.content;"
        " nb.activeCellIndex = nb.widgets.length - 1;"
        " return window.jupyterapp.commands.execute('notebook:insert-cell-below').then(() => {"
        " nb.activeCell.model.sharedModel.setSource(code);"
        " return window.jupyterapp.commands.execute('notebook:run-cell'); }); }",
        code,
    )
    time.sleep(0.3)  # the execute request must be on its way before polling for idle
    wait_idle(page)
    return str(page.locator(".jp-Cell").last.locator(".jp-OutputArea").inner_text())


def errors_in(page: Any) -> list[str]:
    """The text of every stderr output on the page (a traceback, a warning)."""
    found = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
    return [str(found.nth(i).inner_text()) for i in range(found.count())]


class JupyterLab:
    """A ``jupyter lab`` child process serving a temporary copy of the lessons."""

    def __init__(self, work: Path) -> None:
        self.work = work
        self.port, self.token = free_port(), secrets.token_hex(16)
        env = {**os.environ, "JUPYTER_CONFIG_DIR": str(work / ".jupyter")}  # no saved workspace
        settings = work / ".jupyter" / "lab" / "user-settings" / "@jupyterlab" / "notebook-extension"
        settings.mkdir(parents=True, exist_ok=True)  # every cell in the DOM, not only the visible ones
        (settings / "tracker.jupyterlab-settings").write_text('{"windowingMode": "none"}')
        self.log = open(work / "jupyter.log", "w")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            lab_command(self.port, self.token, work),
            cwd=work,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=self.log,
        )

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_ready(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"jupyter lab exited: {(self.work / 'jupyter.log').read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{self.base}/api/status?token={self.token}", timeout=2):
                    return
            except OSError:
                time.sleep(0.2)
        raise TimeoutError(f"jupyter lab did not answer within {seconds} s")

    def stop(self) -> None:
        self.process.terminate()  # the server shuts its kernels down first
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)
        self.log.close()
