"""Lessons that need a program outside Python are skipped, with the reason, when it is missing.

Their stored outputs show the program running, so comparing them on a machine without it would
only report the missing program as a difference. tests/run-all.sh installs both in CI.
"""

from __future__ import annotations

import shutil

import pytest

NEEDS: dict[str, tuple[str, str]] = {
    "11-node-ws-interop.ipynb": ("node", "Node.js is not installed (and `npm ci` installs ws)"),
    "12-scaling-out.ipynb": ("redis-server", "redis-server is not installed (apt-get install redis-server)"),
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        need = NEEDS.get(item.path.name)
        if need is not None and shutil.which(need[0]) is None:
            item.add_marker(pytest.mark.skip(reason=need[1]))
