"""Scenario F: ``import wslab`` against ``import websockets.asyncio.server``, in fresh interpreters."""

from __future__ import annotations

import resource
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


def import_time(statement: str) -> tuple[float, float]:
    """Wall and CPU seconds for a fresh interpreter to run ``statement`` (startup included).

    CPU time (user + system of the child) is what the import costs; wall time also counts
    waiting for a core, which on a shared machine is noise.
    """
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", statement], check=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu
