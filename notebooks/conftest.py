"""Lessons that need a program outside Python are skipped, with the reason, when it is missing.

Their stored outputs show the program running, so comparing them on a machine without it would
only report the missing program as a difference. tests/run-all.sh installs both in CI.
"""

from __future__ import annotations

import functools
import shutil
from collections.abc import Callable

import pytest


@functools.cache
def _missing_node() -> str | None:
    import wslab.node

    return None if wslab.node.available() else wslab.node.why_unavailable()


@functools.cache
def _missing_redis() -> str | None:
    if shutil.which("redis-server") is None:
        return "redis-server is not installed (apt-get install redis-server)"
    return None


NEEDS: dict[str, Callable[[], str | None]] = {
    "11": _missing_node,  # by lesson number: the English and the French edition (notebooks/fr/)
    "12": _missing_redis,
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        check = NEEDS.get(item.path.name[:2])
        why = check() if check is not None else None
        if why is not None:
            item.add_marker(pytest.mark.skip(reason=why))
