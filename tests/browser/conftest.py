"""Real-browser tests: headless Debian Chromium driven by Playwright against a local JupyterLab."""

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "browser: needs /usr/bin/chromium and the playwright package (deselect with -m 'not browser')",
    )
