"""Running a lesson the way learners do, in JupyterLab in headless Chromium, and reading what the page shows.

Shared by the real-browser lesson tests (test_all_lessons.py, test_french_lesson.py): a ``jupyter lab``
over a temporary copy of notebooks/ (autosave never touches the repository), a lesson opened in a fresh
1280×800 page in JupyterLab's default layout, Kernel → Restart Kernel and Run All Cells confirmed, and
the checks of what a learner sees (errors, widgets not rendered, outputs wider than their cell, the
server's credentials shown, cells never run) read from the page in one pass. test_all_lessons.py's
docstring describes each check.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from jupyterlab_page import KERNEL_STATUS, JupyterLab

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "tests" / "screenshots" / "lessons"
VIEWPORT = {"width": 1280, "height": 800}
RUN_SECONDS = 180  # one lesson, restart to last cell; lessons take 2-30 s here
SETTLE_SECONDS = 10  # widgets still loading / the page's events still arriving after the kernel is idle


@contextmanager
def serve_lessons(
    tmp_path_factory: pytest.TempPathFactory, folder: str, under: str = ""
) -> Iterator[JupyterLab]:
    """``jupyter lab`` over a temporary copy of notebooks/ (in a new temporary ``folder``, or in its
    subfolder ``under``, to serve a clone's layout), stopped after."""
    work = tmp_path_factory.mktemp(folder)  # the whole folder: lessons read files beside them (data/)
    skip = shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__", "conftest.py")
    shutil.copytree(ROOT / "notebooks", work / under, ignore=skip, dirs_exist_ok=True)
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

# Everything a learner could see go wrong, per cell. Scroll boxes: see test_all_lessons.py's docstring.
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
    # a fresh default layout per lesson (JupyterLab reopens nothing else): "05" or, for fr/05-…, "fr-05"
    workspace = name.split("-")[0].replace("/", "-")
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


# --- what the learner is left with -----------------------------------------------------------------


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


@contextmanager
def lesson_page(browser: Any, lab: JupyterLab, name: str) -> Iterator[Any]:
    """:func:`open_lesson`; on the way out, whatever happened, its kernel shut down and the page closed."""
    page = open_lesson(browser, lab, name)
    try:
        yield page
    finally:
        try:
            shut_down_kernel(page)
        finally:
            page.close()


def assert_no_problems(name: str, problems: list[str]) -> None:
    """Print each problem under the lesson's name, then fail with all of them (or pass with none)."""
    for problem in problems:
        print(f"{name}: {problem}")
    assert not problems, f"{name}: {len(problems)} problems:\n  " + "\n  ".join(problems)
