"""Every lesson the way learners run it: JupyterLab, "Restart Kernel and Run All Cells", 1280×800.

One ``jupyter lab`` (over a temporary copy of notebooks/, so autosave never touches the repository)
and one headless Chromium serve every lesson (notebooks/NN-*.ipynb). Each lesson opens in a fresh
page at a 1280×800 viewport in JupyterLab's default layout (the file browser open in the left
sidebar), its outputs are cleared (so "not run" is visible), then Kernel → Restart Kernel and Run
All Cells is issued and its confirmation dialog accepted. Once the kernel is idle with every cell
run, the test checks what a learner sees, per lesson:

- no error: no ``error`` output (``ename``), nothing on stderr, no "Error displaying widget";
- every cell ran (Run All stops at the first error and leaves the rest unrun);
- every widget rendered: each ``application/vnd.jupyter.widget-view+json`` output is drawn by the
  widget manager, not left as its ``text/plain`` fallback or as "Loading widget...";
- nothing wider than its cell: for every output (and rendered Markdown) element,
  ``scrollWidth <= clientWidth + 1``. Content inside a *deliberate scroll box* is exempt: an element
  strictly inside the output whose computed ``overflow-x`` is ``auto`` or ``scroll``, or that has
  the class ``wslab-scroll`` (the output element itself is a scroll container in JupyterLab, so a
  scroll bar on it is exactly the failure). A failure names the cell and the outermost elements
  that stick out, with their widths;
- no output shows the notebook server's credentials (its token, the page's cookies);
- lesson 10: the page's own WebSocket events reach the live event tables: rows of side and who
  ``browser`` for a message the page received and for its close with 4000, which only the page can
  report.

Every lesson is saved as a screenshot of the whole notebook (the viewport is stretched to the
notebook's height after the checks, width unchanged) in tests/screenshots/lessons/ (git-ignored);
lesson 10's widget and rows also as 1280×800 views. Printed, not asserted: scroll boxes that hide
content and code lines wider than the editor.
Lessons 11 and 12 need ``node`` (with ``npm ci``) and ``redis-server``; they are skipped with the
reason when missing, like under nbval. Run: ``pytest tests/browser -k all_lessons``.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jupyterlab_page import CHROMIUM, JupyterLab
from lesson_run import (
    INSPECT,
    RUN_SECONDS,
    SETTLE_SECONDS,
    SHOTS,
    assert_no_problems,
    credentials_shown,
    lesson_page,
    not_run,
    notes_in,
    problems_in,
    restart_and_run_all,
    screenshot_whole_notebook,
    serve_lessons,
    settle_widgets,
)

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
LESSONS = sorted(path.name for path in (ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb"))

if not Path(CHROMIUM).exists():
    pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")


def _missing(name: str) -> str | None:
    """Why a lesson cannot run on this machine (the program it needs is missing), or None."""
    if name.startswith("11-"):
        import wslab.node

        return None if wslab.node.available() else wslab.node.why_unavailable()
    if name.startswith("12-") and shutil.which("redis-server") is None:
        return "redis-server is not installed (apt-get install redis-server)"
    return None


@pytest.fixture(scope="module")
def jupyter(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterLab]:
    with serve_lessons(tmp_path_factory, "all-lessons") as server:
        yield server


# --- lesson 10: the page's own events -----------------------------------------------------------------

# Lesson 10: the seed client's rows (side and who "browser") in every live table (widget) on the page,
# read by their header; a live table shows a window of recent rows, so all of them are read together.
BROWSER_ROWS = """() => {
  const rows = new Map();
  for (const table of document.querySelectorAll('.jp-OutputArea-output .jupyter-widgets table')) {
    const head = [...table.querySelectorAll('thead th')].map(th => th.textContent.trim());
    const at = name => head.indexOf(name);
    const [seq, side, who, kind, details] = [at('seq'), at('side'), at('who'), at('event'), at('details')];
    if (seq < 0 || side < 0 || kind < 0) continue;
    for (const tr of table.querySelectorAll('tbody tr')) {
      const td = [...tr.children].map(c => c.textContent.trim());
      if (td.length !== head.length || td[side] !== 'browser') continue;
      if (who >= 0 && td[who] !== 'browser') continue;
      const event = td[kind].replace(/^[^a-z]+/i, '');  // "⚡ open" is open
      rows.set(Number(td[seq]), `${event} ${details >= 0 ? td[details] : ''}`.trim());
    }
  }
  return [...rows.entries()].sort((a, b) => a[0] - b[0]).map(([n, row]) => `#${n} ${row}`);
}"""


def browser_rows(page: Any, seconds: float) -> list[str]:
    """Lesson 10's page-side rows once open, message and close 4000 are there (or after ``seconds``)."""
    deadline = time.monotonic() + seconds
    rows: list[str] = page.evaluate(BROWSER_ROWS)
    while time.monotonic() < deadline and _browser_story_missing(rows):
        time.sleep(0.25)
        rows = page.evaluate(BROWSER_ROWS)
    return rows


def _browser_story_missing(rows: list[str]) -> list[str]:
    """What only the page can report: it received a message, and it closed with the lesson's 4000."""
    kinds = [row.split(" ", 2)[1:] for row in rows]  # "#36 message 'Bienvenue…'" -> kind, details
    missing = [] if any(k[0] == "message" for k in kinds) else ["message"]
    if not any(k[0] == "close" and len(k) > 1 and k[1].startswith("4000") for k in kinds):
        missing.append("close 4000")
    return missing


# 1280×800 views of one output each (the cell scrolled to the top of the notebook), for the README
DETAIL_SHOTS = {
    "10-the-browser-side.ipynb": [
        (".wslab-browser", "10-browser-widget.png"),  # the article's client running in the page
        ('browser.watch("send", "message")', "10-page-and-server-rows.png"),  # rows from both ends
    ],
}
SCROLL_TO = """([what, nth]) => {
  const cells = [...document.querySelectorAll('.jp-Notebook .jp-Cell')];
  const found = what.startsWith('.')
    ? cells.filter(c => c.querySelector(what))
    : cells.filter(c => c.querySelector('.jp-InputArea')?.textContent.includes(what));
  const cell = found[nth];
  if (!cell) return false;
  cell.scrollIntoView({block: 'start'});
  return true;
}"""


def detail_shots(page: Any, name: str) -> list[Path]:
    saved = []
    for what, file in DETAIL_SHOTS.get(name, []):
        if page.evaluate(SCROLL_TO, [what, 0]):
            time.sleep(0.3)
            page.screenshot(path=str(SHOTS / file))
            saved.append(SHOTS / file)
    return saved


# --- the test -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", LESSONS, ids=[name.removesuffix(".ipynb") for name in LESSONS])
def test_all_lessons_restart_and_run_all_at_1280(jupyter: JupyterLab, chromium: Any, name: str) -> None:
    why = _missing(name)
    if why:
        pytest.skip(why)
    started = time.monotonic()
    with lesson_page(chromium, jupyter, name) as page:
        page_errors: list[str] = []
        page.on("pageerror", lambda error: page_errors.append(str(error)))
        assert page.locator("#filebrowser").is_visible(), "the file browser is not open in the left sidebar"
        stuck = restart_and_run_all(page, RUN_SECONDS)
        ran = time.monotonic() - started
        with contextlib.suppress(sync_api.TimeoutError):  # reported below, per cell
            settle_widgets(page, SETTLE_SECONDS)
        problems: list[str] = [stuck] if stuck else []
        rows: list[str] = []
        if name.startswith("10-"):
            rows = browser_rows(page, SETTLE_SECONDS)
            missing = _browser_story_missing(rows)
            if missing:
                problems.append(
                    f"the page's events did not all reach the event table: missing browser {missing}; "
                    f"browser rows seen: {rows}"
                )
        report = page.evaluate(INSPECT)
        problems.extend(problems_in(report))
        problems.extend(credentials_shown(page, jupyter, report))
        unrun = not_run(report)
        if unrun:
            problems.append(f"{len(unrun)} cells never ran (Run All stopped): first {unrun[0]}")
        shot = SHOTS / f"{name.removesuffix('.ipynb')}.png"
        screenshot_whole_notebook(page, shot)
        print(f"\n{name}: opened and ran in {ran:.1f} s; screenshot {shot}")
        for detail in detail_shots(page, name):
            print(f"{name}: detail screenshot {detail}")
        if page_errors:
            print(f"{name}: page errors (not asserted): {page_errors[:3]}")
        for note in notes_in(report):
            print(f"{name}: note (not asserted): {note}")
        assert_no_problems(name, problems)


CHECKED_CELLS = [
    "from IPython.display import HTML, display\n\n"
    "display(HTML(\"<div style='width:2000px'>too wide</div>\"))",
    "display(HTML(\"<div style='overflow-x:auto'><div style='width:2000px'>scrolls</div></div>\"))",
    'import ipywidgets\n\nipywidgets.HTML("<b>a widget</b>")',
    "display(HTML(\"<pre id='jar'></pre><script>jar.textContent = document.cookie</script>\"))",
    'import sys\n\nprint("a warning", file=sys.stderr)',
    "1 / 0",
    'print("never runs")',
]


def test_all_lessons_checks_catch_what_they_should(jupyter: JupyterLab, chromium: Any) -> None:
    """The checks above, on a notebook made to fail them: a check that never fires proves nothing."""
    cells: list[dict[str, Any]] = [
        {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": source}
        for source in CHECKED_CELLS
    ]
    kernel = {"name": "python3", "display_name": "Python 3", "language": "python"}
    notebook = {"cells": cells, "metadata": {"kernelspec": kernel}, "nbformat": 4, "nbformat_minor": 5}
    (jupyter.work / "00-checks.ipynb").write_text(json.dumps(notebook), encoding="utf-8")
    with lesson_page(chromium, jupyter, "00-checks.ipynb") as page:
        assert restart_and_run_all(page, RUN_SECONDS) is None
        settle_widgets(page, SETTLE_SECONDS)
        report = page.evaluate(INSPECT)
        problems = problems_in(report)
        problems += credentials_shown(page, jupyter, report)
        assert len(problems) == 4, problems
        wide, warning, error, cookie = problems
        assert wide.startswith("cell #1 [1] 'from IPython.display import HTML, display'")
        assert "div" in wide and "2000px wide" in wide, wide  # names the element and its width
        assert warning.startswith("cell #5 [5]") and "stderr: a warning" in warning
        assert error.startswith("cell #6 [6] '1 / 0': error: ZeroDivisionError")
        assert cookie.startswith("cell #4 [4]") and "the page's cookie '_xsrf'" in cookie, cookie
        assert not_run(report) == ["cell #7 [ ] 'print(\"never runs\")'"]
