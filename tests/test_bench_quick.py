"""The benchmark runner's smoke mode still runs: every scenario prints its ratio line (not timed)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_bench_quick_mode_exits_cleanly_and_prints_every_scenarios_ratio_line() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    ratio_lines = [line for line in done.stdout.splitlines() if line.startswith("RATIO ")]
    for scenario in "ABCDEFGH":
        assert any(line.startswith(f"RATIO {scenario} ") for line in ratio_lines), (scenario, done.stdout)
    assert sum(line.startswith("RATIO B ") for line in ratio_lines) == 2
