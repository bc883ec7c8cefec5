"""The bridge between a caller's thread and the lab's private loop: every call, bounded, one rule.

Each public operation is written once, as a coroutine method; :func:`twin` makes its blocking
twin, so the two can never drift apart. Both take the same ``timeout`` and are bounded by the
same rule: ``timeout`` (the lab's ``timeout`` when None) plus the lab's settle time.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar

from ._loop import LoopThread, blocks_in_loop
from .errors import LoopError, WslabError, WslabTimeout
from .i18n import _

__all__ = ["SAFETY_NET", "Bridge", "Limits", "LoopThread", "twin"]  # LoopThread: what a Bridge runs on

SAFETY_NET = 86_400.0
"""How long a blocking twin waits for a coroutine that bounds itself: a day, so never forever."""

T = TypeVar("T")
P = ParamSpec("P")


@dataclass(slots=True)
class Limits:
    """The lab's two time limits, shared by everything that waits (learners may change them)."""

    timeout: float
    """Seconds an operation may take (a connect, a recv, a close)."""
    settle: float
    """Seconds a step waits, at most, for what it caused to be recorded."""


class Bridge:
    """Runs coroutines on the lab's loop: blocking from a caller's thread, awaited from any loop."""

    def __init__(self, loop: LoopThread, limits: Limits) -> None:
        self.loop = loop
        self.limits = limits
        self.closed = False

    def in_loop(self) -> bool:
        """True when called from the lab's own loop (a hook, a handler)."""
        return self.loop.in_loop()

    def bound(self, timeout: float | None) -> float:
        """The one timeout rule: ``timeout`` (the lab's when None) plus the settle time."""
        return (self.limits.timeout if timeout is None else timeout) + self.limits.settle

    def block(
        self, coro: Coroutine[Any, Any, T], timeout: float | None, what: str, *, bounded: bool = True
    ) -> T:
        """Run ``coro`` on the lab's loop and wait, bounded; refuse where waiting would deadlock.

        ``bounded=False`` is for a coroutine that bounds itself (an ``a…`` method, through
        :meth:`run`): the wait here is then only a safety net, so a longer limit of its own holds.
        """
        if self.closed:
            coro.close()
            raise WslabError(_("this lab is closed: make a new one with wslab.Lab()"))
        if self.loop.in_loop():
            coro.close()
            raise LoopError(blocks_in_loop(what))
        if not bounded:
            return self.loop.run(coro, SAFETY_NET, what)
        limit = self.bound(timeout)
        return self.loop.run(_bounded(coro, limit, what), limit, what)

    async def run(self, coro: Coroutine[Any, Any, T], timeout: float | None, what: str) -> T:
        """Await ``coro`` on the lab's loop, bounded by the same rule as :meth:`block`."""
        return await self.on_loop(_bounded(coro, self.bound(timeout), what))

    async def on_loop(self, coro: Coroutine[Any, Any, T]) -> T:
        """Await ``coro`` on the lab's loop, from any loop."""
        if self.closed:
            coro.close()
            raise WslabError(_("this lab is closed: make a new one with wslab.Lab()"))
        return await self.loop.arun(coro)


async def _bounded(coro: Coroutine[Any, Any, T], limit: float, what: str) -> T:
    bound = asyncio.timeout(limit)
    try:
        async with bound:
            return await coro
    except TimeoutError:
        if not bound.expired():  # the call timed out on its own and said why
            raise
        # i18n: {what} is the name of the wslab call that ran too long, e.g. recv or connect
        words = _("{what}() did not finish within {limit} s")
        raise WslabTimeout(words.format(what=what, limit=limit)) from None


class HasBridge(Protocol):
    @property
    def bridge(self) -> Bridge: ...


S = TypeVar("S", bound=HasBridge)


def twin(method: Callable[Concatenate[S, P], Coroutine[Any, Any, T]]) -> Callable[Concatenate[S, P], T]:
    """The blocking twin of an async method ``a<name>``: same arguments, same ``timeout`` rule.

    The object needs a ``bridge``; the twin is named after the method without its ``a``. The async
    method bounds itself (``bridge.run(…, timeout, …)``), so both twins stop at the same moment.
    """
    what = method.__name__.removeprefix("a")

    @functools.wraps(method)
    def blocking(self: S, /, *args: P.args, **kwargs: P.kwargs) -> T:
        return self.bridge.block(method(self, *args, **kwargs), None, what, bounded=False)

    blocking.__name__ = blocking.__qualname__ = what
    blocking.__doc__ = f"Blocking twin of :meth:`{method.__name__}`.\n\n{method.__doc__ or ''}"
    return blocking
