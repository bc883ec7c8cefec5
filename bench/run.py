"""Run every benchmark scenario, interleaved, and print medians, ranges and ratios.

    .venv/bin/python bench/run.py            # full run (5 repeats), about 4 minutes
    .venv/bin/python bench/run.py --quick    # smoke mode for CI (< 30 s), numbers meaningless
    .venv/bin/python bench/run.py --only A,E --runs 3 --json out.json

Each run goes through the variants in a rotated order, so neither side always goes first.
Every scenario ends with a ``RATIO <letter>`` line: wslab (hooks + recorder on) against plain
websockets, with the target and whether it is met.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.append(str(ROOT))  # appended: PYTHONPATH may point at another wslab to compare against

import websockets  # noqa: E402

import wslab  # noqa: E402
from bench import imports, lessons, live, memory, net  # noqa: E402
from bench._common import raise_nofile  # noqa: E402
from bench.views import views_kind  # noqa: E402

__all__ = ["main"]

FULL = {
    "runs": 5,
    "A": 2000,
    "B": (20_000, 1_000),
    "C": (1000, 100),
    "D": 300,
    "E": (100_000, 1_000_000, 100_000),
    "F": 15,
    "G": 3.0,
}
QUICK = {
    "runs": 1,
    "A": 200,
    "B": (1_000, 40),
    "C": (50, 10),
    "D": 20,
    "E": (10_000, 40_000, 10_000),
    "F": 1,
    "G": 0.5,
}

Rows = list[tuple[str, str, str, list[float], str]]  # scenario, metric, variant, values, unit


def _rotate(items: tuple[str, ...], run: int) -> list[str]:
    k = run % len(items)
    return list(items[k:] + items[:k])


def _collect(
    rows: Rows,
    scenario: str,
    variants: tuple[str, ...],
    runs: int,
    measure: Callable[[str], dict[str, float]],
) -> dict[tuple[str, str], list[float]]:
    values: dict[tuple[str, str], list[float]] = {}
    for run in range(runs):
        for variant in _rotate(variants, run):
            for metric, value in measure(variant).items():
                values.setdefault((metric, variant), []).append(value)
    for (metric, variant), vals in values.items():
        rows.append((scenario, metric, variant, vals, ""))
    return values


def _fmt(value: float) -> str:
    if value >= 1000:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def _med(values: list[float]) -> float:
    return statistics.median(values)


def _print_rows(values: dict[tuple[str, str], list[float]], scenario: str) -> None:
    for (metric, variant), vals in values.items():
        base = values.get((metric, "plain"))
        ratio = f"  {_med(vals) / _med(base):.2f}x plain" if base and _med(base) else ""
        print(
            f"  {scenario} {metric:<22} {variant:<12} median {_fmt(_med(vals)):>10}  "
            f"[{_fmt(min(vals))} – {_fmt(max(vals))}]{ratio}"
        )


def _ratio_line(scenario: str, what: str, ratio: float, target: str, ok: bool) -> str:
    line = f"RATIO {scenario} {what}: {ratio:.2f}x (target {target}) {'MET' if ok else 'MISSED'}"
    print(line, flush=True)
    return line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="smoke mode: tiny sizes, one run")
    parser.add_argument("--runs", type=int, default=None, help="repeats per variant (default 5, quick 1)")
    parser.add_argument("--only", default="ABCDEFGH", help="scenarios to run, e.g. A,B,E")
    parser.add_argument("--json", type=Path, default=None, help="write every value to this file")
    args = parser.parse_args(argv)
    p: dict[str, Any] = dict(QUICK if args.quick else FULL)
    runs = args.runs or p["runs"]
    only = set(args.only.replace(",", "").upper())
    started = time.perf_counter()
    fds = raise_nofile(8192)
    print(
        f"wslab {wslab.__version__}, websockets {websockets.__version__}, "
        f"Python {platform.python_version()}, "
        f"{platform.machine()} {os.cpu_count()} cores, RLIMIT_NOFILE soft {fds}; runs={runs}"
        f"{' (quick: sizes too small to mean anything)' if args.quick else ''}; views: {views_kind()}",
        flush=True,
    )
    rows: Rows = []
    ratios: list[str] = []
    out: dict[str, Any] = {}

    def section(name: str, values: dict[tuple[str, str], list[float]]) -> None:
        _print_rows(values, name)
        out[name] = {f"{m} | {v}": vals for (m, v), vals in values.items()}

    if only & set("ABCD"):  # the first lab of a process runs slower for a while: warm up, discard
        net.scenario_a("wslab-server", 50 if args.quick else 1000)
        net.scenario_a("plain", 50 if args.quick else 500)
    if "A" in only:
        print(f"A sequential echo 32 B, {p['A']} round trips, µs", flush=True)
        values = _collect(rows, "A", net.BOTH_VARIANTS, runs, lambda v: net.scenario_a(v, p["A"]))
        section("A", values)
        for variant, what in (
            ("wslab-server", "server hot path (plain client, wslab server)"),
            ("wslab", "both ends wslab, await client.asend/arecv on the lab loop"),
            ("learner", "learner's blocking client.send + recv from the main thread"),
        ):
            r = _med(values[("p50", variant)]) / _med(values[("p50", "plain")])
            ratios.append(_ratio_line("A", f"p50 round trip, {what}", r, "<= 1.10x", r <= 1.10))
    if "B" in only:
        n_small, n_large = p["B"]
        print(f"B pipelined echo ({n_small} × 32 B, {n_large} × 16 KiB), plain client, msg/s", flush=True)
        values = _collect(rows, "B", net.SERVER_VARIANTS, runs, lambda v: net.scenario_b(v, n_small, n_large))
        section("B", values)
        for metric in ("32B msg/s", "16KiB msg/s"):
            r = _med(values[(metric, "wslab-server")]) / _med(values[(metric, "plain")])
            ratios.append(_ratio_line("B", f"{metric} wslab server/plain", r, ">= 0.90x", r >= 0.90))
    if "C" in only:
        clients, broadcasts = p["C"]
        print(f"C fan-out: {clients} clients × {broadcasts} broadcasts of 64 B, deliveries/s", flush=True)
        values = _collect(
            rows, "C", net.SERVER_VARIANTS, runs, lambda v: net.scenario_c(v, clients, broadcasts)
        )
        section("C", values)
        r = _med(values[("deliveries/s", "wslab-server")]) / _med(values[("deliveries/s", "plain")])
        ratios.append(_ratio_line("C", "deliveries/s wslab server/plain", r, ">= 0.90x", r >= 0.90))
    if "D" in only:
        print(f"D churn: {p['D']} sequential connect + close, cycles/s", flush=True)
        values = _collect(rows, "D", net.BOTH_VARIANTS, runs, lambda v: net.scenario_d(v, p["D"]))
        section("D", values)
        for variant, what in (
            ("wslab-server", "plain client churning against a wslab server"),
            ("wslab", "both ends wslab, await lab.aconnect + client.aclose"),
        ):
            r = _med(values[("cycles/s", variant)]) / _med(values[("cycles/s", "plain")])
            ratios.append(_ratio_line("D", f"cycles/s, {what}", r, ">= 0.90x", r >= 0.90))
    if "E" in only:
        n, total, capacity = p["E"]
        print(f"E recorder memory: {n:,} events kept; {total:,} through a ring of {capacity:,}", flush=True)
        values = _collect(rows, "E", ("recorder",), runs, lambda v: memory.scenario_e(n, total, capacity))
        section("E", values)
        per = _med(values[("B/event", "recorder")])
        held = _med(values[(f"MiB at {total:,} events", "recorder")])
        bound = per * capacity / 2**20 * 1.2
        line = (
            f"RATIO E bytes/event: {per:.0f} B (target <= 300 B); {held:.1f} MiB held at {total:,} events "
            f"(ring of {capacity:,}: bounded {'yes' if held <= bound else 'NO'}) "
            f"{'MET' if per <= 300 and held <= bound else 'MISSED'}"
        )
        print(line, flush=True)
        ratios.append(line)
    if "F" in only:
        print(f"F import time, {p['F']} fresh interpreters each, ms (startup included)", flush=True)
        names = tuple(imports.STATEMENTS)

        def one_import(variant: str) -> dict[str, float]:
            wall, cpu = imports.import_time(imports.STATEMENTS[variant])
            return {"wall ms": wall * 1000, "cpu ms": cpu * 1000}

        values = _collect(rows, "F", names, max(runs, p["F"]), one_import)
        section("F", values)
        for metric in ("cpu ms", "wall ms"):
            base = _med(values[(metric, "python -c pass")])
            ws = _med(values[(metric, "import websockets.asyncio.server")])
            ours = _med(values[(metric, "import wslab")])
            r = ours / ws
            net_r = (ours - base) / max(ws - base, 1e-9)
            what = f"import wslab / websockets.asyncio.server, {metric[:-3]} (net of startup {net_r:.2f}x)"
            ratios.append(_ratio_line("F", what, r, "<= 1.1x", r <= 1.1))
    if "G" in only:
        seconds = p["G"]
        print(f"G live views under a 10k events/s burst for {seconds} s", flush=True)
        values = _collect(
            rows, "G", ("no views", "views"), runs, lambda v: live.burst(seconds, 10_000, v == "views")
        )
        section("G", values)
        refresh = _med(values[("refreshes/s", "views")])
        late = _med(values[("lateness max ms", "views")])
        cpu = _med(values[("cpu %", "views")]) - _med(values[("cpu %", "no views")])
        ok = refresh <= 10.5 and late <= 100 and cpu <= 10
        line = (
            f"RATIO G views: {refresh:.1f} refreshes/s (<= 10), max scheduling delay {late:.1f} ms (<= 100), "
            f"rendering {cpu:.1f}% of a core (<= 10%) {'MET' if ok else 'MISSED'}"
        )
        print(line, flush=True)
        ratios.append(line)
    if "H" in only:
        books = lessons.notebooks()
        if args.quick:
            line = f"RATIO H lessons under nbval: skipped in --quick ({len(books)} notebooks)"
        elif not books:
            line = "RATIO H lessons under nbval: skipped, notebooks/ has no lessons yet"
        else:
            wall, passed, last = lessons.lessons_wall_time()
            out["H"] = {"seconds": wall, "passed": passed, "summary": last}
            line = (
                f"RATIO H lessons under nbval: {wall:.1f} s for {len(books)} notebooks (target <= 60 s) "
                f"{'MET' if wall <= 60 and passed else 'MISSED'} [{last}]"
            )
        print(line, flush=True)
        ratios.append(line)
    print(f"done in {time.perf_counter() - started:.1f} s", flush=True)
    if args.json:
        out["ratios"] = ratios
        args.json.write_text(json.dumps(out, indent=1, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
