"""The website's "Open in JupyterLab" button opens the lesson in a real JupyterLab.

README command (a) starts ``jupyter lab`` in a clone's top folder; every lesson page's button links to
``<that JupyterLab>/lab/tree/<the lesson's path in the repository>`` (tools/site_launch.py). Here a
JupyterLab serves a copy of the repository's layout (notebooks/ and notebooks/fr/ under one folder),
the button's HTML for an English and a French lesson is put in a page, and clicking it opens that
lesson in JupyterLab, with its kernel: the link is right for both editions, not only well formed.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _helpers import tool
from jupyterlab_page import CHROMIUM, KERNEL_STATUS, JupyterLab
from lesson_run import VIEWPORT, serve_lessons, shut_down_kernel

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parents[2]

if not Path(CHROMIUM).exists():
    pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)", allow_module_level=True)


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterLab]:
    """``jupyter lab`` over a folder laid out like a clone: notebooks/ with its lessons and fr/."""
    with serve_lessons(tmp_path_factory, "clone", under="notebooks") as server:
        yield server


@pytest.mark.parametrize(
    ("lesson", "lang", "button"),
    [
        ("notebooks/05-closing.ipynb", "en", "Open in JupyterLab"),
        ("notebooks/fr/05-fermeture.ipynb", "fr", "Ouvrir dans JupyterLab"),
    ],
)
def test_the_button_opens_the_lesson_in_jupyterlab(
    chromium: Any, clone: JupyterLab, lesson: str, lang: str, button: str
) -> None:
    html = tool("site_launch").launch_buttons(lesson, "", lab=clone.base, lang=lang)
    context = chromium.new_context(viewport=VIEWPORT)
    page = context.new_page()
    try:
        page.goto(f"{clone.base}/api/status?token={clone.token}")  # logged in, as after README's command
        page.set_content(f"<!doctype html><html><body>{html}</body></html>")
        page.get_by_role("link", name=button).click()
        page.wait_for_function(f"() => ({KERNEL_STATUS})() === 'idle'", timeout=60_000)
        opened = page.evaluate("() => window.jupyterapp.shell.currentWidget.context.path")
        assert opened == lesson
        first = page.evaluate(
            "() => window.jupyterapp.shell.currentWidget.content.widgets[0].model.sharedModel.getSource()"
        )
        assert first.startswith("# ")  # the lesson's title cell, not an empty new notebook
        shut_down_kernel(page)
    finally:
        context.close()
