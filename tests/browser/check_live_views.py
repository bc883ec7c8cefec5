"""Check lesson 02's live views in a real browser (headless Chromium against JupyterLab).

Not collected by pytest (no ``test_`` prefix): it needs Debian's ``chromium`` and the ``playwright``
package (never ``playwright install``: it points at /usr/bin/chromium). Run it by hand:

    python tests/browser/check_live_views.py [--shots /tmp]

It serves a copy of the notebook (JupyterLab's autosave must not touch the repository), runs all
cells, then adds one cell whose server sends a message every half second from a background thread
and returns at once: while the kernel is idle, the script counts rows and arrows appearing in the
page. It prints what it saw and exits non-zero if the views did not update by themselves.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = "02-lifecycle-diagram.ipynb"
CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
IDLE_CELL = """
live = wslab.Lab(clock="logical", name="browser-check")
live_server = live.serve()
live_client = live.connect(live_server)


def pump(count=8, every=0.5):
    for i in range(1, count + 1):
        time.sleep(every)
        live_server.send(live_client.conn, f"idle tick {i}")


threading.Thread(target=pump, daemon=True).start()
live.show()
"""


XSS_CELL = """
from IPython.display import display

hostile = "<img src=x onerror=alert(1)>"
live_server.send(live_client.conn, hostile)
display(live.to_mermaid(), live.diagram())
live.show()
"""


def run_last_cell_below(page: Page, code: str) -> None:
    """Add a code cell at the end of the notebook and run it."""
    page.evaluate(
        "(code) => { const nb = window.jupyterapp.shell.currentWidget.content;"
        " nb.activeCellIndex = nb.widgets.length - 1;"
        " return window.jupyterapp.commands.execute('notebook:insert-cell-below').then(() => {"
        " nb.activeCell.model.sharedModel.setSource(code);"
        " return window.jupyterapp.commands.execute('notebook:run-cell'); }); }",
        code,
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"jupyter lab did not answer within {seconds} s")


def kernel_status(page: Page) -> str:
    return str(
        page.evaluate(
            "() => { const w = window.jupyterapp.shell.currentWidget;"
            " const k = w && w.sessionContext && w.sessionContext.session"
            " && w.sessionContext.session.kernel; return k ? k.status : 'none'; }"
        )
    )


def wait_idle(page: Page, seconds: float, settle: float = 1.0) -> None:
    """Kernel idle and no cell waiting to run (``[*]``), for ``settle`` seconds in a row."""
    deadline = time.monotonic() + seconds
    quiet_since = None
    while time.monotonic() < deadline:
        busy = page.evaluate(
            "() => [...document.querySelectorAll('.jp-InputPrompt')].some(p => p.textContent.includes('*'))"
        )
        if kernel_status(page) == "idle" and not busy:
            quiet_since = quiet_since or time.monotonic()
            if time.monotonic() - quiet_since >= settle:
                return
        else:
            quiet_since = None
        time.sleep(0.2)
    raise SystemExit("the kernel did not become idle in time")


def count_in_last_output(page: Page, text: str) -> int:
    return int(
        page.evaluate(
            "(text) => { const outs = document.querySelectorAll('.jp-Cell:last-child .jp-OutputArea');"
            " const html = outs.length ? outs[outs.length - 1].innerHTML : '';"
            " return html.split(text).length - 1; }",
            text,
        )
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shots", default="/tmp", help="folder for the screenshots")
    args = parser.parse_args()
    shots = Path(args.shots)
    work = Path(tempfile.mkdtemp(prefix="wslab-browser-"))
    shutil.copy(ROOT / "notebooks" / NOTEBOOK, work / NOTEBOOK)
    port, token = free_port(), secrets.token_hex(16)
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(work / ".jupyter")}  # no saved workspace or settings
    lab = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyter",
            "lab",
            "--no-browser",
            f"--port={port}",
            "--ip=127.0.0.1",
            f"--IdentityProvider.token={token}",
            f"--ServerApp.root_dir={work}",
            "--LabApp.expose_app_in_browser=True",
            "--allow-root",
        ],
        cwd=work,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(work / "jupyter.log", "w"),  # noqa: SIM115 - closed with the process
    )
    seen: dict[str, object] = {}
    try:
        base = f"http://127.0.0.1:{port}"
        wait_http(f"{base}/api/status?token={token}", 60)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS[1:], headless=True)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"{base}/lab/tree/{NOTEBOOK}?token={token}")
            page.wait_for_function(
                "() => window.jupyterapp && window.jupyterapp.shell.currentWidget", timeout=60_000
            )
            page.wait_for_function(
                "() => { const w = window.jupyterapp.shell.currentWidget; return w && w.sessionContext"
                " && w.sessionContext.session && w.sessionContext.session.kernel"
                " && w.sessionContext.session.kernel.status === 'idle'; }",
                timeout=60_000,
            )
            time.sleep(1)
            news = page.get_by_role("button", name="No")  # JupyterLab's "notified about news?" toast
            if news.count():
                news.first.click()
            page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
            time.sleep(2)
            wait_idle(page, 90)
            first = page.locator(".wslab-lab-view").first
            first.scroll_into_view_if_needed()
            time.sleep(1)
            seen["lab_views"] = page.locator(".wslab-lab-view").count()
            seen["rows_in_first_view"] = first.locator("tr[class^='wslab-']").count()
            seen["svg_in_first_view"] = first.locator("svg").count()
            seen["tick_rows_in_first_view"] = first.locator("text=tick 6").count()
            page.screenshot(path=str(shots / "views-shot.png"))
            seen["static_svg_outputs"] = page.locator(".jp-RenderedSVG").count()
            mermaid = page.locator(".jp-OutputArea-output.jp-RenderedMarkdown").first
            mermaid.scroll_into_view_if_needed()
            time.sleep(1)
            seen["mermaid_drawn"] = mermaid.locator("svg, img").count()
            page.screenshot(path=str(shots / "views-mermaid.png"))
            # A last cell that returns at once while its server keeps sending: the kernel is idle.
            run_last_cell_below(page, "import threading, time\nimport wslab\n" + IDLE_CELL)
            wait_idle(page, 30, settle=0.3)
            samples = []
            started = time.monotonic()
            while time.monotonic() - started < 5.5:
                samples.append(
                    (
                        round(time.monotonic() - started, 1),
                        kernel_status(page),
                        count_in_last_output(page, "idle tick"),
                    )
                )
                if len(samples) == 6:
                    page.locator(".jp-Cell").last.scroll_into_view_if_needed()
                    page.screenshot(path=str(shots / "views-idle.png"))
                time.sleep(0.5)
            seen["idle_samples"] = samples
            # Hostile text in every view, and in mermaid: it must show as text, never as an element.
            run_last_cell_below(page, XSS_CELL)
            wait_idle(page, 30, settle=1.0)
            page.locator(".jp-Cell").last.scroll_into_view_if_needed()
            time.sleep(1)
            seen["xss_elements"] = page.locator("img[src='x']").count()
            seen["xss_shown_as_text"] = count_in_last_output(page, "&lt;img src=x onerror=alert(1)&gt;")
            page.screenshot(path=str(shots / "views-xss.png"))
            browser.close()
    finally:
        lab.terminate()
        try:
            lab.wait(timeout=15)
        except subprocess.TimeoutExpired:
            lab.kill()
        if os.environ.get("WSLAB_KEEP") is None:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print("kept", work)
    samples = seen.pop("idle_samples")
    print(json.dumps(seen))
    print("seconds after the cell returned, kernel status, 'idle tick' count in the page:")
    for sample in samples:  # type: ignore[attr-defined]
        print("  ", *sample)
    seen["idle_samples"] = samples
    counts = [count for _, status, count in seen["idle_samples"] if status == "idle"]  # type: ignore[union-attr]
    ok = bool(counts) and counts[-1] > counts[0] and seen["svg_in_first_view"] == 1
    ok = ok and seen["xss_elements"] == 0 and int(seen["xss_shown_as_text"]) > 0  # type: ignore[call-overload]
    print("live updates while idle:", "yes" if ok else "NO")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
