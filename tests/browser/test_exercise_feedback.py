"""A learner does lesson 01's exercise wrong, then right, in JupyterLab, and sees both pieces of feedback.

One ``jupyter lab`` over a temporary copy of lesson 01 (autosave never touches the repository) and a
headless Chromium page. The test runs every cell above the exercise, as a learner who has read the
lesson so far; then, like a learner, it clicks into the exercise cell, replaces its text with an answer
that closes with 1000 instead of ``4000 'fini'``, and runs that cell and the check under it with
Shift+Enter. The check must say "not yet" in plain words (``✘ expected`` and the close-code hint).
Then it types the right answer (with new names: a lab keeps every name it gave out), runs both cells
again and the check must say ``✔ as expected``. The solution's source must be collapsed on the page.

Skipped, with the reason, when Debian's ``chromium`` or the ``playwright`` package is missing.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jupyterlab_page import CHROMIUM, FLAGS, KERNEL_STATUS, JupyterLab, errors_in, wait_idle
from lesson_run import serve_lessons

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
LESSON = "01-first-connection.ipynb"
EXERCISE, CHECK, SOLUTION = "01-ex1", "01-ex1-check", "1fe7e487"  # nbformat cell ids in the lesson

WRONG = """loud = lab.serve(lambda message, peer: message.upper(), name="loud")
shout = lab.connect(loud, name="shout")
shout.send("salut")
print(shout.recv())
shout.close()
"""
RIGHT = """loud = lab.serve(lambda message, peer: message.upper(), name="loud2")
shout = lab.connect(loud, name="shout2")
shout.send("salut")
print(shout.recv())
shout.close(4000, "fini")
"""

if not Path(CHROMIUM).exists():
    pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")


@pytest.fixture(scope="module")
def jupyter(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterLab]:
    with serve_lessons(tmp_path_factory, "exercise") as server:
        yield server


@pytest.fixture(scope="module")
def page(jupyter: JupyterLab) -> Iterator[Any]:
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        try:
            tab = browser.new_page(viewport={"width": 1280, "height": 800})
            tab.goto(f"{jupyter.base}/lab/workspaces/exercise/tree/{LESSON}?token={jupyter.token}&reset")
            tab.wait_for_function(f"() => ({KERNEL_STATUS})() === 'idle'", timeout=40_000)
            try:
                yield tab
            finally:
                tab.evaluate("() => window.jupyterapp.shell.currentWidget.sessionContext.shutdown()")
        finally:
            browser.close()


INDEX = "(id) => window.jupyterapp.shell.currentWidget.content.widgets.findIndex(c => c.model.id === id)"


def cell(page: Any, index: int) -> Any:
    return page.locator(".jp-Notebook .jp-Cell").nth(index)


def run_all_above(page: Any, index: int) -> None:
    """Select the exercise cell and run every cell above it (Run → Run All Above Selected Cell)."""
    page.evaluate(
        "(i) => { const nb = window.jupyterapp.shell.currentWidget.content; nb.activeCellIndex = i;"
        " return window.jupyterapp.commands.execute('notebook:run-all-above'); }",
        index,
    )
    time.sleep(0.3)  # the execute requests must be on their way before polling for idle
    wait_idle(page, 40)


def answer_and_check(page: Any, exercise: int, code: str) -> str:
    """Type ``code`` into the exercise cell, Shift+Enter twice (it, then its check); the check's text."""
    editor = cell(page, exercise).locator(".cm-content")
    editor.click()
    page.keyboard.press("Control+A")
    page.keyboard.insert_text(code)  # as pasted: no auto-indent or closing brackets added
    source = "(i) => window.jupyterapp.shell.currentWidget.content.widgets[i].model.sharedModel.getSource()"
    typed = page.evaluate(source, exercise)
    assert typed.strip() == code.strip(), f"the exercise cell holds {typed!r}"
    page.keyboard.press("Shift+Enter")  # runs the exercise cell, selects the check cell
    time.sleep(0.2)
    page.keyboard.press("Shift+Enter")  # runs the check cell
    time.sleep(0.3)
    wait_idle(page, 30)
    output = cell(page, exercise + 1).locator(".jp-OutputArea")
    output.locator(".wslab-verdict").wait_for(timeout=10_000)
    return str(output.inner_text())


def test_exercise_wrong_then_right_shows_both_feedbacks(page: Any) -> None:
    started = time.monotonic()
    exercise, check = page.evaluate(INDEX, EXERCISE), page.evaluate(INDEX, CHECK)
    assert exercise >= 0 and check == exercise + 1, (exercise, check)
    solution = page.evaluate(INDEX, SOLUTION)
    hidden = page.evaluate(
        "(i) => window.jupyterapp.shell.currentWidget.content.widgets[i].inputHidden", solution
    )
    assert hidden, "the solution's source is not collapsed on the page"

    run_all_above(page, exercise)
    assert not errors_in(page), errors_in(page)

    wrong = answer_and_check(page, exercise, WRONG)
    assert "✘ expected" in wrong, wrong
    assert "4000" in wrong and "1000 is a normal close" in wrong, wrong  # the close-code hint
    assert "✔" not in wrong, wrong

    right = answer_and_check(page, exercise, RIGHT)
    assert "✔ as expected" in right, right
    assert "shout2" in right, right  # it matched the learner's own connection
    assert not errors_in(page), errors_in(page)
    print(f"\nwrong then right in {time.monotonic() - started:.1f} s")
