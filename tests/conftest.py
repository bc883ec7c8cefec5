"""Shared fixtures: a lab with a logical clock, always closed."""

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
