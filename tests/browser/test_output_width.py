"""The diagram and the tables fit a notebook's width, measured in headless Chromium.

JupyterLab 4 at 1280 px with the file browser open leaves an output area of about 760–850 px. Here
each output (the static diagram, the live diagram, the event table, the live table, the connection
panel) of a 2-, 5- and 10-lifeline session goes into a 760 px wide container styled with
JupyterLab's own rules for rendered HTML (its ``table-layout:fixed`` and cell padding included), and
the page measures: nothing is wider than the container, except the diagram's own scroll box, which
keeps its lifeline names in view (a sticky band) whichever way it is scrolled; text is at least
``FLOOR_FONT`` px. Screenshots go to tests/screenshots/fit/ (git-ignored), to look at.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import pytest
from jupyterlab_page import CHROMIUM
from test_diagram import session

from wslab.diagram import FLOOR_FONT, Diagram
from wslab.recorder import LogicalClock, Recorder
from wslab.widgets import ConnectionPanel, DiagramView, EventTable

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "tests" / "screenshots" / "fit"
WIDTH = 760
HOSTILE = "<img src=x onerror=alert(1)>"

if not Path(CHROMIUM).exists():
    pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")

# JupyterLab 4.6's rules for rendered HTML outputs that bear on width (from its jlab_core bundle)
JUPYTERLAB_CSS = """
body { margin: 0; font-family: sans-serif; font-size: 13px; }
.jp-RenderedHTMLCommon table { border-collapse: collapse; border-spacing: 0; border: none;
  font-size: 12px; table-layout: fixed; margin-left: auto; margin-right: auto; }
.jp-OutputArea-output.jp-RenderedHTMLCommon table { margin-left: 0; margin-right: 0; }
.jp-RenderedHTMLCommon td, .jp-RenderedHTMLCommon th, .jp-RenderedHTMLCommon tr {
  vertical-align: middle; padding: 0.5em; line-height: normal; white-space: normal; max-width: none;
  border: none; text-align: right; }
.jp-RenderedHTMLCommon img, .jp-RenderedHTMLCommon svg { max-width: 100%; height: auto; }
.jp-OutputArea-output { width: 760px; overflow-x: auto; user-select: text; margin: 0 0 24px 0;
  outline: 1px solid #ddd; }
"""


def outputs(lifelines: int) -> dict[str, str]:
    """Every HTML output of one session, as a notebook would show it."""
    recorder = session(lifelines, payload=HOSTILE)
    log = recorder.snapshot()
    views = [DiagramView(recorder), EventTable(recorder, rows=12), ConnectionPanel(recorder)]
    try:
        return {
            "diagram": Diagram(log).html(),
            "live-diagram": views[0].value,
            "events": log[-12:].to_html(),
            "live-table": views[1].html.value,
            "panel": views[2].value,
        }
    finally:
        for view in views:
            view.close()


MEASURE = r"""(floor) => [...document.querySelectorAll('.jp-OutputArea-output')].map((out) => {
  const r = { name: out.dataset.name, client: out.clientWidth, scroll: out.scrollWidth, small: [] };
  const box = out.querySelector('.wslab-diagram');
  if (box) {
    const sheet = box.querySelector('.wslab-diagram-sheet');
    const names = box.querySelector('.wslab-diagram-names');
    const full = Number(sheet.style.maxWidth.replace('px', ''));
    r.font = 11 * sheet.getBoundingClientRect().width / full;
    r.boxClient = box.clientWidth; r.boxScroll = box.scrollWidth;
    r.boxRight = box.getBoundingClientRect().right;
    r.outRight = out.getBoundingClientRect().right;
    r.images = [...box.querySelectorAll('img')].every((img) => img.complete && img.naturalWidth > 0);
    const seen = () => { const b = box.getBoundingClientRect(), n = names.getBoundingClientRect();
      return n.height > 20 && n.top >= b.top - 1 && n.top <= b.top + 1 && n.bottom <= b.bottom; };
    r.namesAt = {};
    const across = getComputedStyle(box).direction === 'rtl' ? -1 : 1;  // rtl scrolls to negative x
    const down = box.style.flexDirection === 'column-reverse' ? -1 : 1;
    for (const [x, y] of [[0, 0], [1, 1], [0, 1], [1, 0]]) {  // each corner of the scroll box
      box.scrollLeft = x * across * box.scrollWidth;
      box.scrollTop = y * down * box.scrollHeight;
      r.namesAt[`${x}${y}`] = seen();
    }
  }
  for (const el of out.querySelectorAll('td, th, b, span')) {
    const size = parseFloat(getComputedStyle(el).fontSize);
    if (el.textContent.trim() && size < floor) r.small.push(el.textContent.slice(0, 30) + ' ' + size);
  }
  r.brokenNames = [];  // names (who, conn, peer) up to 16 characters stay on one line
  for (const td of out.querySelectorAll('td')) {
    const style = td.getAttribute('style');
    if (!/min-width:\s*\d+ch/.test(style) || /min-width:\s*16ch/.test(style)) continue;
    const range = document.createRange(); range.selectNodeContents(td);
    const lines = new Set([...range.getClientRects()].map((rect) => Math.round(rect.top)));
    if (lines.size > 1) r.brokenNames.push(td.textContent);
  }
  const table = out.querySelector('table');
  if (table) r.table = table.getBoundingClientRect().width;
  return r; })"""


@pytest.mark.parametrize("lifelines", [2, 5, 10])
def test_every_output_fits_760_px_and_the_diagram_keeps_its_names_in_view(
    chromium: Any, lifelines: int
) -> None:
    parts = outputs(lifelines)
    page_html = (
        f"<!doctype html><html><head><meta charset='utf-8'><style>{JUPYTERLAB_CSS}</style></head><body>"
        + "".join(
            f"<div class='jp-OutputArea-output jp-RenderedHTMLCommon' data-name='{name}'>{part}</div>"
            for name, part in parts.items()
        )
        + "</body></html>"
    )
    page = chromium.new_page(viewport={"width": 1000, "height": 900})
    alerts: list[str] = []
    page.on("dialog", lambda dialog: (alerts.append(dialog.message), dialog.dismiss()))
    page.set_content(page_html, wait_until="load")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{lifelines}-lifelines.png"), full_page=True)
    measured = {r["name"]: r for r in page.evaluate(MEASURE, FLOOR_FONT - 0.05)}
    page.close()

    assert alerts == []  # the hostile payload stayed text
    assert page_html.count(HOSTILE) == 0
    for name, r in measured.items():
        assert r["client"] == WIDTH, name
        assert r["scroll"] <= r["client"], f"{name} is wider than the output: {r}"
        assert r["small"] == [], f"{name} has text under {FLOOR_FONT} px: {r['small']}"
        assert r["brokenNames"] == [], f"{name} wraps names: {r['brokenNames']}"
    for name in ("diagram", "live-diagram"):
        r = measured[name]
        assert r["images"], f"{name}: an image did not load"
        assert r["boxRight"] <= r["outRight"] + 0.5, r
        assert r["font"] >= FLOOR_FONT - 0.05, f"{name}: text scaled to {r['font']:.1f} px"
        assert all(r["namesAt"].values()), f"{name}: lifeline names out of view when scrolled: {r}"
    for name in ("events", "live-table", "panel"):
        assert measured[name]["table"] <= WIDTH, measured[name]
    if lifelines == 2:  # a small drawing is shown at its natural size, never blown up
        assert measured["diagram"]["font"] == pytest.approx(11)
        assert measured["diagram"]["boxScroll"] <= measured["diagram"]["boxClient"]


def test_the_diagram_html_escapes_every_text() -> None:
    r = Recorder(clock=LogicalClock())
    r.record(side="client", kind="open", endpoint=HOSTILE, conn="c1", peer="<b>hub</b>")
    r.record(
        side="client", kind="send", endpoint=HOSTILE, conn="c1", peer="<b>hub</b>", data=HOSTILE, size=28
    )
    page = Diagram(r.snapshot()).html()
    assert "<b>" not in page and "<img src=x" not in page
    assert html.escape(f"lifelines: {HOSTILE}, <b>hub</b>", quote=True) in page
