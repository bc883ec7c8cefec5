"""Shared helpers for the benchmark scenarios: statistics, payloads, variants, the lab loop."""

from __future__ import annotations

import asyncio
import random
import resource
import statistics
import string
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import wslab

__all__ = [
    "Result",
    "in_lab",
    "median_range",
    "noop_hook",
    "payload",
    "percentile",
    "raise_nofile",
]

T = TypeVar("T")


def payload(size: int, seed: int = 8) -> str:
    """A fixed printable text of ``size`` bytes: compressible like real text, the same every run."""
    rng = random.Random(seed)
    return "".join(rng.choice(string.ascii_letters + string.digits + " ") for _ in range(size))


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100), nearest rank."""
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1))))
    return ordered[rank]


def median_range(values: Sequence[float]) -> tuple[float, float, float]:
    return statistics.median(values), min(values), max(values)


def noop_hook(event: wslab.Event) -> None:
    """The cheapest hook a learner can write: what "hooks on" costs by itself."""


def raise_nofile(wanted: int) -> int:
    """Raise the soft RLIMIT_NOFILE toward ``wanted`` (capped at the hard limit); returns the new soft."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = min(wanted, hard) if hard != resource.RLIM_INFINITY else wanted
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def in_lab(lab: wslab.Lab, coro: Coroutine[Any, Any, T], timeout: float = 300.0) -> T:
    """Run ``coro`` on the lab's own loop thread (no per-call thread hop inside it)."""
    return lab._loop.run(coro, timeout, "bench")


@dataclass
class Result:
    """One metric of one scenario: values per variant, one value per run."""

    scenario: str
    metric: str
    unit: str
    higher_is_better: bool
    values: dict[str, list[float]] = field(default_factory=dict)

    def add(self, variant: str, value: float) -> None:
        self.values.setdefault(variant, []).append(value)


def run_coro(factory: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine in a fresh event loop in this thread (how plain websockets is measured)."""
    return asyncio.run(factory())
