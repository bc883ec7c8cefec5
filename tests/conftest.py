"""Shared fixtures: a lab with a logical clock, always closed."""

import os
from collections.abc import Iterator

import pytest

import wslab


@pytest.fixture
def lab() -> Iterator[wslab.Lab]:
    lab = wslab.Lab(clock="logical", timeout=3.0, settle=1.0, name="test")
    try:
        yield lab
    finally:
        lab.close()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: load and churn tests (deselect with -m 'not slow')")
    config.addinivalue_line("markers", "fidelity: wslab against Chromium and Node ws (tests/fidelity, ~30 s)")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """With WSLAB_NO_SKIPS=1 (CI, where tests/run-all.sh installs every program the tests use), a skipped
    test fails the run: a skip there means something went missing, as when the Binder emulation's
    `npm ci --omit=dev` once removed the hub test's proxy and the test quietly skipped."""
    if os.environ.get("WSLAB_NO_SKIPS") != "1":
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter is not None else []
    if skipped:
        for report in skipped:
            print(f"\nWSLAB_NO_SKIPS: skipped {report.nodeid}: {report.longrepr}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
