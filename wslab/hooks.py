"""Hooks: user functions called with each event an endpoint records.

A hook is ``Callable[[Event], Awaitable[None] | None]``: sync or async, several per kind. A hook
that raises becomes an ``error`` event on the same endpoint and nothing else happens to it: the
server goes on serving and the recorder goes on recording. Hooks run in the lab's loop, so they
must not block; one that takes longer than :data:`SLOW_HOOK` seconds is reported as a ``note``.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import TypeAlias, overload

from .events import KINDS, Event, Kind

__all__ = ["SLOW_HOOK", "Hook", "HookRegistry"]

Hook: TypeAlias = Callable[[Event], Awaitable[None] | None]

SLOW_HOOK = 0.5
"""Seconds after which a hook is reported as slow (it blocks every connection of the lab)."""


class HookRegistry:
    """Hooks by event kind, in registration order."""

    def __init__(self, kinds: Iterable[Kind] = KINDS) -> None:
        self._allowed = frozenset(kinds)
        self._hooks: dict[Kind, list[Hook]] = {}

    @overload
    def on(self, kind: Kind, hook: None = None) -> Callable[[Hook], Hook]: ...
    @overload
    def on(self, kind: Kind, hook: Hook) -> Hook: ...
    def on(self, kind: Kind, hook: Hook | None = None) -> Hook | Callable[[Hook], Hook]:
        """Register ``hook`` for ``kind``; usable as ``@x.on("message")`` or ``x.on("message", f)``."""
        if kind not in self._allowed:
            allowed = ", ".join(sorted(self._allowed))
            raise ValueError(f"unknown event kind {kind!r}: expected one of {allowed}")

        def register(fn: Hook) -> Hook:
            if not callable(fn):
                raise TypeError(f"a hook must be callable, not {type(fn).__name__}")
            self._hooks.setdefault(kind, []).append(fn)
            return fn

        return register if hook is None else register(hook)

    def off(self, kind: Kind, hook: Hook | None = None) -> None:
        """Remove one hook, or every hook of ``kind``."""
        if hook is None:
            self._hooks.pop(kind, None)
        elif hook in self._hooks.get(kind, []):
            self._hooks[kind].remove(hook)

    def __contains__(self, kind: object) -> bool:
        """True when at least one hook is registered for ``kind`` (lets endpoints skip ``run``)."""
        return bool(self._hooks.get(kind))  # type: ignore[call-overload]

    def hooks_for(self, kind: Kind) -> tuple[Hook, ...]:
        return tuple(self._hooks.get(kind, ()))

    async def run(self, event: Event) -> list[tuple[Hook, BaseException | None, float]]:
        """Call every hook for ``event.kind``; return (hook, exception or None, seconds) for each."""
        results: list[tuple[Hook, BaseException | None, float]] = []
        for hook in self.hooks_for(event.kind):
            started = time.perf_counter()
            error: BaseException | None = None
            try:
                outcome = hook(event)
                if outcome is not None and inspect.isawaitable(outcome):
                    await outcome
            except Exception as exc:
                error = exc
            results.append((hook, error, time.perf_counter() - started))
        return results


def hook_name(hook: Callable[..., object]) -> str:
    """A hook's readable name for messages (``on_message``)."""
    return str(getattr(hook, "__name__", None) or type(hook).__name__)
