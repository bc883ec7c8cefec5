"""What clients and servers share: a name, hooks, and one way to record an event.

Whoever records an event, and from wherever (a coroutine, a websockets callback, a caller's
thread), its hooks see it: awaited right away by :meth:`Endpoint._emit`, or run on the lab's loop
right after by :meth:`Endpoint._record` where nothing can be awaited. Subscribers (the live views)
see every event as the recorder stores it.
"""

from __future__ import annotations

from typing import Any, Protocol, TypeVar

from ._bridge import Bridge
from ._context import Context
from ._session import OnWire, Pair
from .events import Event, Kind, Side
from .hooks import SLOW_HOOK, Hook, HookRegistry, hook_name

T = TypeVar("T")

__all__ = ["Endpoint", "OnWire", "Pair"]  # OnWire and Pair live in _session; kept here for old imports


class HasContext(Protocol):
    """Something that has a context to give (the lab)."""

    @property
    def context(self) -> Context: ...


class Endpoint:
    """A named end of connections whose events go to the lab's recorder, then to its hooks."""

    side: Side

    def __init__(self, ctx: Context | HasContext, name: str, on: dict[Kind, Hook] | None = None) -> None:
        if isinstance(ctx, Context):
            self._ctx = ctx
        else:  # handed the lab itself: take its context
            self._ctx = ctx.context
        self.name = name
        self.hooks = HookRegistry()
        for kind, hook in (on or {}).items():
            self.hooks.on(kind, hook)

    def on(self, kind: Kind, hook: Hook | None = None) -> Any:
        """Register a hook for ``kind``: ``@endpoint.on("message")`` or ``endpoint.on("close", f)``."""
        return self.hooks.on(kind, hook)

    record_pings = False
    """Record ping and pong frames (off by default: keepalive pings would crowd the table)."""

    def _conn_of(self, ws: object) -> tuple[str | None, str | None]:
        """The connection id and peer name of one of this endpoint's websockets connections."""
        return None, None

    def _saw_control(self, ws: object, kind: Kind, payload: bytes | None, how: str) -> None:
        """A ping or pong crossed this endpoint (called by wslab._heartbeat.PingRecorder)."""
        if not self.record_pings:
            return
        conn, peer = self._conn_of(ws)
        size = 4 if payload is None else len(payload)  # websockets' own pings carry 4 random bytes
        self._record(kind, conn=conn, peer=peer, data=payload, size=size, detail=how)

    @property
    def bridge(self) -> Bridge:
        """The lab's loop bridge (what :func:`wslab._bridge.twin` runs blocking twins through)."""
        return self._ctx.bridge

    def _record(self, kind: Kind, **fields: Any) -> Event:
        """Record from code that cannot await; the kind's hooks run on the lab's loop right after."""
        event = self._store(kind, **fields)
        if kind in self.hooks:
            self._hooks_soon(event)
        return event

    def _store(self, kind: Kind, **fields: Any) -> Event:
        return self._ctx.recorder.record(side=self.side, kind=kind, endpoint=self.name, **fields)

    def _hooks_soon(self, event: Event) -> None:
        bridge, session = self._ctx.bridge, self._ctx.session
        loop = bridge.loop.loop

        def start() -> None:
            session.keep(loop.create_task(self._run_hooks(event)))

        if bridge.in_loop():
            start()
        elif not bridge.closed:
            loop.call_soon_threadsafe(start)

    def _data(self, kind: Kind, conn: str | None, peer: str | None, data: Any, size: int) -> Event | None:
        """Record a ``message`` or ``send`` (the per-message path): no keyword dicts, no coroutine.

        Returns the :class:`Event` when hooks for ``kind`` must see it (``await self._run_hooks``);
        otherwise None, and the recorder keeps it compact until someone reads it.
        """
        if kind in self.hooks:
            return self._ctx.recorder._note(self.side, kind, self.name, conn, peer, data, size)
        self._ctx.recorder._jot(self.side, kind, self.name, conn, peer, data, size)
        return None

    async def _emit(self, kind: Kind, **fields: Any) -> Event:
        """Record an event, then run its hooks; a failing hook becomes an ``error`` event."""
        event = self._store(kind, **fields)
        if kind in self.hooks:  # the hot path: no hook for this kind, nothing to await
            await self._run_hooks(event)
        return event

    async def _run_hooks(self, event: Event) -> None:
        """Run ``event.kind``'s hooks: a failing one becomes an ``error`` event, a slow one a ``note``."""
        kind = event.kind
        for hook, exc, seconds in await self.hooks.run(event):
            if exc is not None:
                name = hook_name(hook)
                error = self._store(  # its hooks run just below, once, and never for their own failure
                    "error",
                    conn=event.conn,
                    peer=event.peer,
                    error=f"hook {name} for '{kind}' raised {type(exc).__name__}: {exc}",
                    exc=exc,
                )
                if kind != "error":  # error hooks see hook failures, but never their own
                    for err_hook, err_exc, _ in await self.hooks.run(error):
                        if err_exc is not None:
                            self._store(
                                "error",
                                conn=event.conn,
                                peer=event.peer,
                                error=(
                                    f"hook {hook_name(err_hook)} for 'error' raised "
                                    f"{type(err_exc).__name__}: {err_exc}"
                                ),
                                exc=err_exc,
                            )
            elif seconds > SLOW_HOOK:
                record = self._store if kind == "note" else self._record  # a slow note hook: no chain
                record(
                    "note",
                    conn=event.conn,
                    detail=(
                        f"hook {hook_name(hook)} for '{kind}' took {seconds:.1f} s and blocked the lab's loop"
                    ),
                )
