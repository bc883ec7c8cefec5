"""A French lesson the way learners run it, in JupyterLab: what the page shows is in French.

notebooks/fr/wslab.toml (``lang = "fr"``) makes wslab print French when the kernel runs in that folder,
and a kernel starts in its notebook's folder. Here lesson 05 in French (fr/05-fermeture.ipynb, the
close codes: event tables, close-code meanings, error messages, the sequence diagram, the exercise's
feedback) is opened in JupyterLab at 1280×800 and run with Kernel → Restart Kernel and Run All Cells,
exactly as test_all_lessons.py runs every English lesson (same server over a temporary copy of
notebooks/, same helpers, from lesson_run.py). Then, from the rendered outputs on the page:

- no problem test_all_lessons.py looks for (no error, no stderr, every cell run, nothing wider than
  its cell, no credentials shown);
- every event table's headings are wslab's French ones (``n°`` … ``détails``), never the English ones;
- wslab's French words for what the lesson shows are there (``fermeture normale``,
  ``départ (le pair s'en va)``, ``fermée par``, ``Cycle de vie WebSocket``, ``comme prévu`` …) and
  their English equivalents are not (``normal closure``, ``going away``, ``closed by`` …);
- no English message of wslab's catalogue (wslab/locale/fr/LC_MESSAGES/wslab.po, the parts of a
  message between its placeholders, two words or more) is shown where the catalogue has French.

The lesson is saved as a whole-notebook screenshot in tests/screenshots/lessons/ (git-ignored).
Run: ``pytest tests/browser -k french``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _helpers import catalogue_english
from jupyterlab_page import CHROMIUM, JupyterLab
from lesson_run import (
    INSPECT,
    ROOT,
    RUN_SECONDS,
    SETTLE_SECONDS,
    SHOTS,
    assert_no_problems,
    credentials_shown,
    lesson_page,
    not_run,
    problems_in,
    restart_and_run_all,
    screenshot_whole_notebook,
    serve_lessons,
    settle_widgets,
)

pytestmark = pytest.mark.browser

if not Path(CHROMIUM).exists():
    pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)", allow_module_level=True)
pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")

LESSON = "fr/05-fermeture.ipynb"
CATALOGUE = ROOT / "wslab" / "locale" / "fr" / "LC_MESSAGES" / "wslab.po"
FRENCH_HEADINGS = ["n°", "temps", "conn", "côté", "qui", "événement", "détails"]
ENGLISH_HEADINGS = {"seq", "time", "side", "who", "event", "details"}
# What this lesson makes wslab say, in French, and the English it says in the English lesson.
WORDS = [
    ("fermeture normale", "normal closure"),  # 1000, in the tables, the diagram and the code list
    ("départ (le pair s'en va)", "going away"),  # 1001, the server shutting down
    ("erreur de protocole", "protocol error"),  # 1002, in the list of codes
    ("fermeture anormale : la connexion s'est terminée sans trame de fermeture", "abnormal closure"),
    ("usage privé des applications", "private use by applications"),  # 4000, 4001
    ("fermée par", "closed by"),  # who closed, in the details of a close
    ("(texte, 5 o)", "(text, 5 B)"),  # a message's kind and size
    ("n'est jamais envoyé dans une trame de fermeture", "is never sent in a close frame"),  # ValueError
    ("n'est pas connecté", "is not connected"),  # NotConnected
    ("panne : la connexion TCP du client est coupée", "fault: the client's TCP connection is cut"),
    ("Cycle de vie WebSocket", "WebSocket lifecycle"),  # the drawn diagram's title (its alt text)
    ("lignes de vie :", "lifelines:"),  # the diagram's band of names
    ("■ fermée 1000 'bye' · par alice", "■ closed"),  # a close, drawn on alice's lifeline
    ("✘ attendu :", "✘ expected"),  # the exercise's check, not yet done
    ("✔ comme prévu :", "✔ as expected"),  # the check under the solution
]

# Per code cell (position in the notebook): the text its outputs show (a drawn diagram's text too: the
# words of its SVG images and their alt text), and the headings of its tables.
SHOWN = """() => {
  const cells = [...window.jupyterapp.shell.currentWidget.content.widgets];
  const drawn = img => {
    const src = img.getAttribute('src') || '';
    const words = [img.alt];
    if (src.startsWith('data:image/svg+xml')) {
      const svg = new DOMParser().parseFromString(
        decodeURIComponent(src.slice(src.indexOf(',') + 1)), 'image/svg+xml');
      words.push(...[...svg.querySelectorAll('text, title')].map(t => t.textContent));
    }
    return words.filter(Boolean).join('\\n');
  };
  return cells.map((cell, i) => {
    const area = cell.model.type === 'code' ? cell.node.querySelector('.jp-OutputArea') : null;
    if (!area) return null;
    const tables = [...area.querySelectorAll('table')].map(
      t => [...t.querySelectorAll('thead th')].map(th => th.textContent.trim()));
    const images = [...area.querySelectorAll('img')].map(drawn);
    return {index: i + 1, text: [area.innerText, ...images].join('\\n'), tables, images: images.length};
  }).filter(Boolean);
}"""


@pytest.fixture(scope="module")
def jupyter(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterLab]:
    with serve_lessons(tmp_path_factory, "french-lesson") as server:
        yield server


def english_messages() -> list[str]:
    return catalogue_english(CATALOGUE, shortest=8)


def french_problems(shown: list[dict[str, Any]], english: list[str]) -> list[str]:
    """What is not French on the page: headings, missing French words, English words, catalogue English."""
    text = "\n".join(cell["text"] for cell in shown)
    problems = []
    tables = [(cell["index"], heads) for cell in shown for heads in cell["tables"]]
    if not tables:
        problems.append("no table in the outputs (the event tables did not render)")
    for index, heads in tables:
        if heads != FRENCH_HEADINGS or ENGLISH_HEADINGS & set(heads):
            problems.append(f"cell #{index}: a table's headings are {heads}, not {FRENCH_HEADINGS}")
    problems.extend(f"not shown: the French {fr!r}" for fr, _ in WORDS if fr not in text)
    for _, en in WORDS:
        cells = [cell["index"] for cell in shown if en in cell["text"]]
        if cells:
            problems.append(f"cells {cells} show the English {en!r}")
    for en in english:
        cells = [cell["index"] for cell in shown if en in cell["text"]]
        if cells:
            problems.append(f"cells {cells} show the English {en!r} (from wslab's catalogue)")
    return problems


def test_french_lesson_restart_and_run_all_shows_french(jupyter: JupyterLab, chromium: Any) -> None:
    english = english_messages()
    assert len(english) > 100, f"only {len(english)} English messages read from {CATALOGUE}"
    started = time.monotonic()
    with lesson_page(chromium, jupyter, LESSON) as page:
        stuck = restart_and_run_all(page, RUN_SECONDS)
        ran = time.monotonic() - started
        settle_widgets(page, SETTLE_SECONDS)
        report = page.evaluate(INSPECT)
        problems: list[str] = [stuck] if stuck else []
        problems.extend(problems_in(report))
        problems.extend(credentials_shown(page, jupyter, report))
        unrun = not_run(report)
        if unrun:
            problems.append(f"{len(unrun)} cells never ran (Run All stopped): first {unrun[0]}")
        shown = page.evaluate(SHOWN)
        problems.extend(french_problems(shown, english))
        shot = SHOTS / f"{Path(LESSON).stem}.png"
        screenshot_whole_notebook(page, shot)
        print(f"\n{LESSON}: opened and ran in {ran:.1f} s; screenshot {shot}")
        tables = sum(len(cell["tables"]) for cell in shown)
        images = sum(cell["images"] for cell in shown)
        print(f"{LESSON}: read {tables} tables, {images} images; checked {len(WORDS)} phrases", end="")
        print(f" and {len(english)} English messages of the catalogue")
        assert_no_problems(LESSON, problems)


def test_french_lesson_checks_catch_english(jupyter: JupyterLab, chromium: Any) -> None:
    """The same checks on the English lesson 05 (same code cells, no wslab.toml): each one fires."""
    with lesson_page(chromium, jupyter, "05-closing.ipynb") as page:
        assert restart_and_run_all(page, RUN_SECONDS) is None
        settle_widgets(page, SETTLE_SECONDS)
        shown = page.evaluate(SHOWN)
    problems = french_problems(shown, english_messages())
    tables = sum(len(cell["tables"]) for cell in shown)
    headings = [p for p in problems if "a table's headings are ['seq', 'time'" in p]
    assert tables >= 7 and len(headings) == tables, problems  # every event table of the lesson
    for fr, en in WORDS:
        assert f"not shown: the French {fr!r}" in problems, fr
        assert any(p.endswith(f"show the English {en!r}") for p in problems), en
    from_catalogue = {p.split(" show the English ")[1] for p in problems if "wslab's catalogue" in p}
    assert {"'normal closure' (from wslab's catalogue)", "'going away' (from wslab's catalogue)"} <= (
        from_catalogue
    ), problems
