"""Scenario H: wall time of every lesson under nbval (``pytest --nbval notebooks/``)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

__all__ = ["lessons_wall_time", "notebooks"]

ROOT = Path(__file__).resolve().parent.parent


def notebooks() -> list[Path]:
    return sorted(p for p in (ROOT / "notebooks").glob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)


def lessons_wall_time() -> tuple[float, bool, str]:
    """Seconds for ``pytest --nbval notebooks/``, whether it passed, and its last output line."""
    t0 = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "--nbval", "-p", "no:cacheprovider", "notebooks/"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - t0
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    return wall, done.returncode == 0, lines[-1] if lines else ""
