"""Real-browser tests: headless Debian Chromium driven by Playwright against a local JupyterLab.

One ``chromium`` fixture for every module here: each module gets its own browser (module scope).
"""

from collections.abc import Iterator
from typing import Any

import pytest
from jupyterlab_page import CHROMIUM, FLAGS


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "browser: needs /usr/bin/chromium and the playwright package (deselect with -m 'not browser')",
    )


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """Headless Debian Chromium with the flags jupyter-facts.md found to work; closed after the module."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()
