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
from jupyterlab_page import CHROMIUM, KERNEL_STATUS, JupyterLab

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "tests" / "screenshots" / "lessons"
LESSONS = sorted(path.name for path in (ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb"))
VIEWPORT = {"width": 1280, "height": 800}
RUN_SECONDS = 180  # one lesson, restart to last cell; lessons take 2-30 s here
SETTLE_SECONDS = 10  # widgets still loading / the page's events still arriving after the kernel is idle

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
    work = tmp_path_factory.mktemp("all-lessons")  # the whole folder: lessons read files beside them (data/)
    skip = shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__", "conftest.py")
    shutil.copytree(ROOT / "notebooks", work, ignore=skip, dirs_exist_ok=True)
    server = JupyterLab(work)
    try:
        server.wait_ready(40)
        yield server
    finally:
        server.stop()


# --- what the page shows, read in one pass ------------------------------------------------------------

RUN_STATE = """() => {
  const panel = window.jupyterapp.shell.currentWidget;
  const k = panel && panel.sessionContext.session && panel.sessionContext.session.kernel;
  const cells = panel.content.widgets.filter(c => c.model.type === 'code');
  const star = cells.some(c => (c.node.querySelector('.jp-InputPrompt') || {}).textContent?.includes('*'));
  const runnable = cells.filter(c => c.model.sharedModel.getSource().trim() !== '');
  const ran = runnable.filter(c => c.model.executionCount !== null).length;
  const failed = cells.some(c => c.model.outputs.toJSON().some(o => o.output_type === 'error'));
  return {status: k ? k.status : 'none', star, ran, runnable: runnable.length, failed};
}"""

# Everything a learner could see go wrong, per cell. Scroll boxes: see the module docstring.
INSPECT = """() => {
  const nb = window.jupyterapp.shell.currentWidget.content;
  const WIDGET = 'application/vnd.jupyter.widget-view+json';
  const name = el => {
    let s = el.tagName.toLowerCase();
    if (el.id) s += '#' + el.id;
    const cls = [...el.classList].slice(0, 3);
    if (cls.length) s += '.' + cls.join('.');
    if (el.tagName === 'IMG') {
      const src = el.getAttribute('src') || '';
      s += `[${src.slice(0, src.indexOf(',') > 0 ? Math.min(src.indexOf(','), 30) : 30)}`
        + ` natural ${el.naturalWidth}x${el.naturalHeight}]`;
    }
    if (el.tagName.toLowerCase() === 'svg') s += `[width=${el.getAttribute('width')}]`;
    const text = (el.innerText || el.textContent || '').trim().replace(/\\s+/g, ' ');
    return text ? `${s} "${text.slice(0, 50)}"` : s;
  };
  const scrollBox = el => el.classList.contains('wslab-scroll')
    || ['auto', 'scroll'].includes(getComputedStyle(el).overflowX);
  const overflow = out => {
    const inner = out.clientWidth;
    if (out.scrollWidth <= inner + 1) return null;
    const box = out.getBoundingClientRect();
    const x0 = box.left + out.clientLeft - out.scrollLeft;
    const sticking = new Set();
    const spilling = [];
    const walk = el => {
      for (const child of el.children) {
        const r = child.getBoundingClientRect();
        if (r.width > 0 && r.right - x0 > inner + 1) sticking.add(child);
        else if (getComputedStyle(child).overflowX === 'visible' && child.clientWidth > 0
                 && child.scrollWidth > child.clientWidth + 1
                 && r.left - x0 + child.scrollWidth > inner + 1) spilling.push(child);
        if (!scrollBox(child)) walk(child);
      }
    };
    walk(out);
    const outer = [...sticking].filter(el => !sticking.has(el.parentElement));
    const deepest = spilling.filter(el => !spilling.some(o => o !== el && el.contains(o)));
    const what = outer.length
      ? outer.slice(0, 3).map(el => {
          const r = el.getBoundingClientRect();
          const cells = [...el.querySelectorAll('td')];
          const widest = cells.sort((a, b) => b.offsetWidth - a.offsetWidth)[0];
          const why = widest ? ` (widest cell ${widest.offsetWidth}px: ${name(widest)})` : '';
          const right = Math.round(r.right - x0);
          return `${name(el)} is ${Math.round(r.width)}px wide, right edge at ${right}px${why}`;
        })
      : deepest.slice(0, 3).map(el => `${name(el)}: content ${el.scrollWidth}px in ${el.clientWidth}px`);
    return {scrollWidth: out.scrollWidth, clientWidth: inner, what};
  };
  const report = [];
  nb.widgets.forEach((cell, i) => {
    const model = cell.model;
    const source = model.sharedModel.getSource();
    const entry = {index: i + 1, type: model.type, count: model.executionCount ?? null,
                   source: source.split('\\n').find(l => l.trim() && !l.startsWith('#')) || '',
                   runnable: source.trim() !== '', errors: [], widgets: [], overflow: [], notes: []};
    if (model.type === 'code') {
      const outputs = model.outputs.toJSON();
      const views = [...cell.node.querySelectorAll('.jp-OutputArea-child > .jp-OutputArea-output')];
      const fromModel = outputs.length === views.length;
      outputs.forEach((o, j) => {
        if (o.output_type === 'error') entry.errors.push(`${o.ename}: ${o.evalue}`);
        const text = [].concat(o.text || []).join('');
        if (o.output_type === 'stream' && o.name === 'stderr') entry.errors.push('stderr: ' + text.trim());
        const view = fromModel ? views[j] : null;
        if (o.data && o.data[WIDGET] && o.data[WIDGET].model_id !== '') {
          // drawn by the widget manager: a panel with no data-mime-type; a fallback names its mime type
          const shown = view ? view.getAttribute('data-mime-type') || WIDGET : 'missing';
          const seen = view ? view.textContent.trim().replace(/\\s+/g, ' ') : '';
          const out = `output ${j + 1}`;
          if (shown !== WIDGET) entry.widgets.push(`${out} shown as ${shown}: "${seen.slice(0, 80)}"`);
          else if (seen.startsWith('Loading widget')) entry.widgets.push(`${out} still "Loading widget..."`);
          else if (view.getBoundingClientRect().height < 2) entry.widgets.push(`${out} rendered empty`);
        }
      });
      views.forEach((view, j) => {
        const mime = view.getAttribute('data-mime-type');
        if (view.textContent.includes('Error displaying widget'))
          entry.errors.push(`output ${j + 1}: ${view.textContent.trim().slice(0, 120)}`);
        else if (!fromModel && mime === 'application/vnd.jupyter.stderr')
          entry.errors.push('stderr: ' + view.textContent.trim().slice(0, 300));
        const wide = overflow(view);
        if (wide) entry.overflow.push({output: j + 1, mime, ...wide});
      });
    } else if (model.type === 'markdown') {
      const md = cell.node.querySelector('.jp-MarkdownOutput');
      const wide = md && cell.rendered ? overflow(md) : null;
      if (wide) entry.overflow.push({output: 'markdown', mime: 'text/markdown', ...wide});
    }
    // Not asserted, printed: what a learner must scroll to see (scroll boxes, code lines past the editor)
    for (const box of cell.node.querySelectorAll('.jp-OutputArea-output *')) {
      if (!scrollBox(box) || box.clientWidth === 0) continue;
      const [w, h] = [box.scrollWidth - box.clientWidth, box.scrollHeight - box.clientHeight];
      if (w > 1 || h > 1)
        entry.notes.push(`scroll box ${name(box).split(' ')[0]} ${box.clientWidth}x${box.clientHeight}px`
          + ` hides ${w > 1 ? w : 0}px across, ${h > 1 ? h : 0}px down`);
    }
    const editor = cell.node.querySelector('.jp-InputArea .cm-scroller');
    if (editor && editor.scrollWidth > editor.clientWidth + 1)
      entry.notes.push(`a code line is ${editor.scrollWidth}px in a ${editor.clientWidth}px editor`);
    report.push(entry);
  });
  return report;
}"""

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


def _cell(entry: dict[str, Any]) -> str:
    count = entry["count"] if entry["count"] is not None else " "
    return f"cell #{entry['index']} [{count}] {entry['source'][:60]!r}"


# Which cells' outputs show one of the given secret strings (index into the list, never the secret)
SECRETS_SHOWN = """(secrets) => {
  const cells = [...window.jupyterapp.shell.currentWidget.content.widgets];
  const shown = [];
  cells.forEach((cell, i) => {
    const area = cell.node.querySelector('.jp-OutputArea');
    const text = area ? area.textContent : '';
    secrets.forEach((secret, k) => { if (text.includes(secret)) shown.push([i + 1, k]); });
  });
  return shown;
}"""


def credentials_shown(page: Any, lab: JupyterLab, report: list[dict[str, Any]]) -> list[str]:
    """The notebook server's token and the page's cookies must never appear in an output."""
    names = ["the server's token"]
    values = [lab.token]
    for cookie in page.context.cookies():
        if len(cookie["value"]) >= 8:
            names.append(f"the page's cookie {cookie['name']!r}")
            values.append(cookie["value"])
    cells = {entry["index"]: entry for entry in report}
    return [
        f"{_cell(cells[index])}: an output shows {names[k]} (credentials in the notebook)"
        for index, k in page.evaluate(SECRETS_SHOWN, values)
    ]


def problems_in(report: list[dict[str, Any]]) -> list[str]:
    """One line per problem, naming the cell (position in the notebook, prompt, first code line)."""
    found: list[str] = []
    for entry in report:
        where = _cell(entry)
        found.extend(f"{where}: error: {error[:400]}" for error in entry["errors"])
        found.extend(f"{where}: widget not rendered: {widget}" for widget in entry["widgets"])
        for wide in entry["overflow"]:
            found.append(
                f"{where}: output {wide['output']} ({wide['mime']}) is wider than its cell: "
                f"scrollWidth {wide['scrollWidth']}px > clientWidth {wide['clientWidth']}px; "
                + "; ".join(wide["what"] or ["(no element found sticking out)"])
            )
    return found


def notes_in(report: list[dict[str, Any]]) -> list[str]:
    return [f"{_cell(entry)}: {note}" for entry in report for note in entry["notes"]]


def not_run(report: list[dict[str, Any]]) -> list[str]:
    return [_cell(e) for e in report if e["type"] == "code" and e["runnable"] and e["count"] is None]


# --- driving one lesson -------------------------------------------------------------------------------


def open_lesson(browser: Any, lab: JupyterLab, name: str) -> Any:
    page = browser.new_page(viewport=VIEWPORT)
    workspace = name.split("-")[0]  # a fresh default layout per lesson (JupyterLab reopens nothing else)
    page.goto(f"{lab.base}/lab/workspaces/all-{workspace}/tree/{name}?token={lab.token}&reset")
    page.wait_for_function(f"() => ({KERNEL_STATUS})() === 'idle'", timeout=60_000)
    return page


def restart_and_run_all(page: Any, seconds: float) -> str | None:
    """Kernel → Restart Kernel and Run All Cells, confirmed; None once finished, else what is stuck."""
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:clear-all-cell-outputs')")
    page.evaluate("() => { window.jupyterapp.commands.execute('notebook:restart-run-all'); }")
    page.locator(".jp-Dialog .jp-mod-accept").click(timeout=15_000)  # "Confirm Kernel Restart"
    deadline = time.monotonic() + seconds
    quiet_since: float | None = None
    state: dict[str, Any] = {}
    while time.monotonic() < deadline:
        state = page.evaluate(RUN_STATE)
        finished = state["ran"] == state["runnable"] or state["failed"]
        if state["status"] == "idle" and not state["star"] and finished:
            quiet_since = quiet_since or time.monotonic()
            if time.monotonic() - quiet_since >= 1.0:
                return None
        else:
            quiet_since = None
        time.sleep(0.1)
    return f"Run All did not finish in {seconds:.0f} s: {state}"


def settle_widgets(page: Any, seconds: float) -> None:
    """Give widget views that are still "Loading widget..." a few seconds to draw."""
    page.wait_for_function(
        "() => ![...document.querySelectorAll('.jp-OutputArea-output')]"
        ".some(o => o.textContent.trim().startsWith('Loading widget'))",
        timeout=seconds * 1000,
        polling=200,
    )


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


def screenshot_whole_notebook(page: Any, path: Path) -> None:
    """The viewport stretched to the notebook's height (same width), so one image shows the lesson."""
    news = page.get_by_role("button", name="No")  # JupyterLab's news toast would cover a cell
    if news.count():
        news.first.click()
    extra = page.evaluate(
        "() => { const s = document.querySelector('.jp-NotebookPanel .jp-WindowedPanel-outer')"
        " || document.querySelector('.jp-NotebookPanel .jp-Notebook');"
        " return s ? s.scrollHeight - s.clientHeight : 0; }"
    )
    page.set_viewport_size({"width": VIEWPORT["width"], "height": min(16_000, VIEWPORT["height"] + extra)})
    time.sleep(0.5)
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=True)
    page.set_viewport_size(VIEWPORT)


def shut_down_kernel(page: Any) -> None:
    page.evaluate("() => window.jupyterapp.shell.currentWidget.sessionContext.shutdown()")


# --- the test -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", LESSONS, ids=[name.removesuffix(".ipynb") for name in LESSONS])
def test_all_lessons_restart_and_run_all_at_1280(jupyter: JupyterLab, chromium: Any, name: str) -> None:
    why = _missing(name)
    if why:
        pytest.skip(why)
    started = time.monotonic()
    page = open_lesson(chromium, jupyter, name)
    page_errors: list[str] = []
    page.on("pageerror", lambda error: page_errors.append(str(error)))
    try:
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
        for problem in problems:
            print(f"{name}: {problem}")
        assert not problems, f"{name}: {len(problems)} problems:\n  " + "\n  ".join(problems)
    finally:
        try:
            shut_down_kernel(page)
        finally:
            page.close()


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
    page = open_lesson(chromium, jupyter, "00-checks.ipynb")
    try:
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
    finally:
        shut_down_kernel(page)
        page.close()
