"""The lessons in a real browser: JupyterLab, headless Chromium, Playwright; lessons 01, 02 and 10.

It starts ``jupyter lab`` on a free loopback port with a token, over a temporary copy of the
lessons (autosave must never touch the repository), opens each lesson, runs its cells, waits for
the kernel to be idle and checks what a learner sees: the event table's rows, the SVG diagram, and
in lesson 10 the browser-side events, recorded in the kernel from the page's own WebSocket.

Skipped, with the reason, when Debian's ``chromium`` or the ``playwright`` package is missing.
Playwright never downloads a browser here: it is pointed at /usr/bin/chromium. Screenshots go to
tests/screenshots/e2e/ (git-ignored).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jupyterlab_page import (
    CHROMIUM,
    KERNEL_STATUS,
    JupyterLab,
    errors_in,
    run_new_cell,
    wait_idle,
)
from lesson_run import serve_lessons

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "tests" / "screenshots" / "e2e"
LESSONS = ["01-first-connection.ipynb", "02-lifecycle-diagram.ipynb", "10-the-browser-side.ipynb"]

if not Path(CHROMIUM).exists():
    pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")


@pytest.fixture(scope="module")
def jupyter(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterLab]:
    with serve_lessons(tmp_path_factory, "lessons") as server:
        yield server


# --- driving JupyterLab through its own application object (exposed by expose_app_in_browser) ------


def open_lesson(browser: Any, lab: JupyterLab, name: str) -> Any:
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    workspace = name.split("-")[0]  # one workspace per lesson: JupyterLab reopens nothing else
    page.goto(f"{lab.base}/lab/workspaces/e2e-{workspace}/tree/{name}?token={lab.token}&reset")
    page.wait_for_function(f"() => ({KERNEL_STATUS})() === 'idle'", timeout=40_000)
    return page


def dismiss_news(page: Any) -> None:
    """JupyterLab's "notified about official Jupyter news?" toast would cover the screenshots."""
    news = page.get_by_role("button", name="No")
    if news.count():
        news.first.click()


def run(page: Any, command: str, last: int | None = None) -> None:
    """Run a notebook command; with ``last``, first make the cell at that index the active one."""
    page.evaluate(
        "([command, index]) => { const nb = window.jupyterapp.shell.currentWidget.content;"
        " if (index !== null) { nb.activeCellIndex = index < 0 ? nb.widgets.length + index : index; }"
        " return window.jupyterapp.commands.execute(command); }",
        [command, last],
    )
    time.sleep(0.3)  # the first execute request must be on its way before polling for idle
    wait_idle(page)


def shot(page: Any, name: str) -> None:
    dismiss_news(page)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / name), full_page=False)


# --- the lessons --------------------------------------------------------------------------------------


def test_lesson_01_shows_the_event_table_rows_in_the_page(jupyter: JupyterLab, chromium: Any) -> None:
    page = open_lesson(chromium, jupyter, LESSONS[0])
    run(page, "notebook:run-all-cells")
    assert errors_in(page) == []
    rows = page.locator(".jp-OutputArea-output table tr")
    assert rows.count() >= 14  # the seed exchange alone is 14 events
    text = page.locator(".jp-Notebook").inner_text()
    for words in ("connecting", "upgrade", "accept", "connection", "'Bonjour serveur!'", "Serveur a reçu"):
        assert words in text
    page.locator("table").first.scroll_into_view_if_needed()
    shot(page, "01-event-table.png")
    page.close()


def test_lesson_02_draws_the_sequence_diagram_as_svg(jupyter: JupyterLab, chromium: Any) -> None:
    page = open_lesson(chromium, jupyter, LESSONS[1])
    run(page, "notebook:run-all-cells")
    assert errors_in(page) == []
    # lab.diagram() outputs carry text/html (a .wslab-diagram box, as wide as the cell, drawing the SVG as
    # images) beside image/svg+xml; JupyterLab prefers the HTML. Three outside the widgets, each drawn.
    page.wait_for_function(
        "() => [...document.querySelectorAll('.jp-RenderedHTMLCommon .wslab-diagram')]"
        ".filter(d => !d.closest('.jupyter-widgets')"
        " && [...d.querySelectorAll('img, svg')].some(i => i.getBoundingClientRect().width > 0)).length >= 3",
        timeout=10_000,
    )
    view = page.locator(".wslab-lab-view").first
    view.locator("svg").wait_for(timeout=10_000)  # the live diagram inside the lab view
    assert view.locator("svg").count() == 1
    assert view.locator("tr").count() >= 5
    view.scroll_into_view_if_needed()
    shot(page, "02-live-views.png")
    page.close()


def test_lesson_10_records_the_pages_own_websocket_events(jupyter: JupyterLab, chromium: Any) -> None:
    page = open_lesson(chromium, jupyter, LESSONS[2])
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    run(page, "notebook:run-all-above", last=-1)  # everything but the final lab.close()
    assert errors_in(page) == []

    # The page ran the seed's client: open, welcome, Bonjour and its echo, then the exercise's close.
    widget = page.locator(".wslab-browser").first
    widget.wait_for(timeout=10_000)
    page.wait_for_function(
        "() => { const l = document.querySelector('.wslab-browser-log');"
        " return l && l.textContent.includes('close  code=4000'); }",
        timeout=10_000,
    )
    log = widget.locator(".wslab-browser-log").inner_text()
    assert "open" in log and "Serveur a reçu : Bonjour serveur!" in log
    assert any("Connexion ouverte" in line for line in console)  # the seed's own console.log

    # While the kernel sits idle, the page's reports reach the recorder and the live table.
    view = page.locator(".wslab-lab-view").first
    page.wait_for_function(
        "() => { const v = document.querySelector('.wslab-lab-view');"
        " return v && [...v.querySelectorAll('tr')].some(r => r.textContent.includes('browser')"
        " && r.textContent.includes('4000')); }",
        timeout=10_000,
    )
    assert view.locator("svg").count() == 1
    view.scroll_into_view_if_needed()
    shot(page, "10-live-views-with-browser.png")

    kinds = run_new_cell(
        page,
        'print(lab.events.filter(side="browser").kinds())\n'
        'print([(e.side, e.code, e.reason, e.initiator) for e in lab.events.filter(kind="close")])',
    )
    for kind in ("connecting", "open", "message", "send", "closing", "close"):
        assert f"browser:{kind}" in kinds
    assert "('browser', 4000, 'fini', 'browser')" in kinds
    assert "('server', 4000, 'fini', 'browser')" in kinds

    # A second page client: the Send button, then closing the widget closes its socket.
    run_new_cell(page, "again = lab.browser(server)\nagain")
    again = page.locator(".wslab-browser").last
    page.wait_for_function(
        "() => [...document.querySelectorAll('.wslab-browser-log')].pop().textContent"
        ".includes('Serveur a reçu : Bonjour serveur!')",
        timeout=10_000,
    )
    again.locator("input").fill("tapé dans la page")
    again.get_by_role("button", name="Send").click()
    page.wait_for_function(
        "() => [...document.querySelectorAll('.wslab-browser-log')].pop().textContent"
        ".includes('Serveur a reçu : tapé dans la page')",
        timeout=10_000,
    )
    again.scroll_into_view_if_needed()
    shot(page, "10-browser-widget.png")
    run_new_cell(page, "again.dispose()")
    deadline = time.monotonic() + 10
    gone = ""
    while "widget closed" not in gone and time.monotonic() < deadline:
        gone = run_new_cell(
            page, 'print([(e.conn, e.code, e.reason) for e in lab.events.filter(who="server", kind="close")])'
        )
    assert re.search(r"\('c\d+', 1000, 'widget closed'\)", gone), gone  # its id depends on the lesson
    sent = run_new_cell(page, 'print(lab.events.filter(side="browser", kind="send"))')
    assert "tapé dans la page" in sent

    # A kernel restart closes the page's socket as well (the server is gone, the widget forgotten).
    run_new_cell(page, "third = lab.browser(server)\nthird")
    last_log = "[...document.querySelectorAll('.wslab-browser-log')].pop().textContent"
    page.wait_for_function(f"() => {last_log}.includes('Serveur a reçu : Bonjour serveur!')", timeout=10_000)
    page.evaluate("() => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.restart()")
    page.wait_for_function(f"() => {last_log}.includes('close  code=')", timeout=15_000)
    closed = str(page.evaluate(f"() => {last_log}"))
    # the dying kernel closes its labs (1001), or is cut (1006), or the page drops the widget (1000)
    assert re.search(r'close  code=(1001 reason="lab closing"|1006|1000 reason="widget closed")', closed)
    wait_idle(page)
    page.close()


IDLE_CELL = """
import threading, time
import wslab

live = wslab.Lab(clock="logical", name="browser-check")
live_server = live.serve()
live_client = live.connect(live_server)


def pump(count=8, every=0.4):
    for i in range(1, count + 1):
        time.sleep(every)
        live_server.send(live_client.conn, f"idle tick {i}")


threading.Thread(target=pump, daemon=True).start()
live.show()
"""

XSS_CELL = """
from IPython.display import display

live_server.send(live_client.conn, "<img src=x onerror=alert(1)>")
display(live.to_mermaid(), live.diagram())
live.show()
"""


def ticks_in_last_output(page: Any) -> int:
    return int(
        page.evaluate(
            "() => { const outs = document.querySelectorAll('.jp-Cell:last-child .jp-OutputArea');"
            " const html = outs.length ? outs[outs.length - 1].innerHTML : '';"
            " return html.split('idle tick').length - 1; }"
        )
    )


def test_live_views_update_while_the_kernel_is_idle_and_show_hostile_text_as_text(
    jupyter: JupyterLab, chromium: Any
) -> None:
    page = open_lesson(chromium, jupyter, LESSONS[1])
    run_new_cell(page, IDLE_CELL)  # returns at once; a thread keeps the server sending
    samples = []
    for _ in range(8):
        samples.append((page.evaluate(KERNEL_STATUS), ticks_in_last_output(page)))
        time.sleep(0.5)
    assert {status for status, _ in samples} == {"idle"}
    counts = [count for _, count in samples]
    assert counts[-1] > counts[0], f"no row arrived while the kernel was idle: {samples}"
    shot(page, "02-updates-while-idle.png")

    run_new_cell(page, XSS_CELL)
    time.sleep(1)
    assert page.locator("img[src='x']").count() == 0
    html = page.locator(".jp-Cell").last.locator(".jp-OutputArea").inner_html()
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert errors_in(page) == []
    page.close()
