"""Scenario F: ``import wslab`` against ``import websockets.asyncio.server``, in fresh interpreters."""

from __future__ import annotations

import subprocess
import sys
import time

__all__ = ["STATEMENTS", "import_time"]

STATEMENTS = {
    "python -c pass": "pass",
    "import websockets.asyncio.server": "import websockets.asyncio.server",
    "import wslab": "import wslab",
    "import wslab; wslab.Lab": "import wslab; wslab.Lab",
}


def import_time(statement: str) -> float:
    """Wall seconds for a fresh interpreter to run ``statement`` (startup included)."""
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", statement], check=True)
    return time.perf_counter() - t0
