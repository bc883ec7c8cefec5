"""When and how often a client tries again: exponential backoff with a cap, jitter and a limit.

A policy is a value, the schedule it gives is a plain list of seconds: a lesson can print it before
anything runs, and a fixed ``jitter_seed`` makes the jitter the same on every run.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = ["Reconnect"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Reconnect:
    """Try again after an unexpected close: ``base × factor^(n-1)`` seconds, at most ``cap``.

    ``jitter`` spreads each delay by up to ±that fraction, so a crowd of clients that lost the same
    server does not come back in the same millisecond. ``max_attempts`` bounds the attempts in a row
    (None: forever). ``queue`` keeps messages sent while disconnected and sends them on reconnect;
    without it they are refused with ``NotConnected``.

    A server that closes on purpose (1008 policy violation, or an application code 4000–4999 such
    as 4001 'banned') meant it: by default the client does not come back, as Socket.IO does not
    after a server-side disconnect. ``retry_after_deliberate_close=True`` retries anyway.
    ``jitter_seed`` seeds the jitter's random numbers (None: different every run).
    """

    base: float = 0.1
    factor: float = 2.0
    cap: float = 5.0
    jitter: float = 0.1
    max_attempts: int | None = 5
    queue: bool = False
    jitter_seed: int | None = 0
    retry_after_deliberate_close: bool = False

    def __post_init__(self) -> None:
        if self.base < 0 or self.cap < 0 or self.factor < 1:
            raise ValueError("base and cap must be >= 0 and factor >= 1")
        if not 0 <= self.jitter <= 1:
            raise ValueError("jitter must be between 0 and 1")
        if self.max_attempts is not None and self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1 (or None for no limit)")

    def delays(self) -> Iterator[float]:
        """The wait before attempt 1, 2, 3, … (finite when ``max_attempts`` is set)."""
        rng = random.Random(self.jitter_seed)
        attempt = 0
        while self.max_attempts is None or attempt < self.max_attempts:
            attempt += 1
            delay = min(self.cap, self.base * self.factor ** (attempt - 1))
            if self.jitter:
                delay *= 1 + self.jitter * rng.uniform(-1.0, 1.0)
            yield round(max(0.0, delay), 3)

    def retries_after(self, code: int) -> bool:
        """Whether to try again after the server closed with ``code`` (not after 1008 or 4000–4999)."""
        deliberate = code == 1008 or 4000 <= code <= 4999
        return self.retry_after_deliberate_close or not deliberate

    def schedule(self, attempts: int = 8) -> list[float]:
        """The first ``attempts`` delays, to show before anything runs."""
        out: list[float] = []
        for delay in self.delays():
            if len(out) == attempts:
                break
            out.append(delay)
        return out
