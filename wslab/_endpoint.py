"""What clients and servers share: a name, hooks, and recording events through the lab."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from .events import Event, Kind, Side
from .hooks import SLOW_HOOK, Hook, HookRegistry, hook_name

if TYPE_CHECKING:
    from .lab import Lab

__all__ = ["Endpoint", "OnWire", "Pair"]


class Endpoint:
    """A named end of connections whose events go to the lab's recorder, then to its hooks."""

    side: Side

    def __init__(self, lab: Lab, name: str, on: dict[Kind, Hook] | None = None) -> None:
        self._lab = lab
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

    def _record(self, kind: Kind, **fields: Any) -> Event:
        return self._lab.recorder.record(side=self.side, kind=kind, endpoint=self.name, **fields)

    def _data(self, kind: Kind, conn: str | None, peer: str | None, data: Any, size: int) -> Event | None:
        """Record a ``message`` or ``send`` (the per-message path): no keyword dicts, no coroutine.

        Returns the :class:`Event` when hooks for ``kind`` must see it (``await self._run_hooks``);
        otherwise None, and the recorder keeps it compact until someone reads it.
        """
        if kind in self.hooks:
            return self._lab.recorder._note(self.side, kind, self.name, conn, peer, data, size)
        self._lab.recorder._jot(self.side, kind, self.name, conn, peer, data, size)
        return None

    async def _emit(self, kind: Kind, **fields: Any) -> Event:
        """Record an event, then run its hooks; a failing hook becomes an ``error`` event."""
        event = self._lab.recorder.record(side=self.side, kind=kind, endpoint=self.name, **fields)
        if kind in self.hooks:  # the hot path: no hook for this kind, nothing to await
            await self._run_hooks(event)
        return event

    async def _run_hooks(self, event: Event) -> None:
        """Run ``event.kind``'s hooks: a failing one becomes an ``error`` event, a slow one a ``note``."""
        kind = event.kind
        for hook, exc, seconds in await self.hooks.run(event):
            if exc is not None:
                name = hook_name(hook)
                error = self._record(
                    "error",
                    conn=event.conn,
                    peer=event.peer,
                    error=f"hook {name} for '{kind}' raised {type(exc).__name__}: {exc}",
                    exc=exc,
                )
                if kind != "error":  # error hooks see hook failures, but never their own
                    for err_hook, err_exc, _ in await self.hooks.run(error):
                        if err_exc is not None:
                            self._record(
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
                self._record(
                    "note",
                    conn=event.conn,
                    detail=(
                        f"hook {hook_name(hook)} for '{kind}' took {seconds:.1f} s and blocked the lab's loop"
                    ),
                )


class OnWire(Protocol):
    """What a wire between the two ends of a pair tells the lab (see :mod:`wslab.wire`)."""

    def explains(self, pair: Pair) -> bool:
        """True when nothing is in flight: what has not arrived sits on the wire, or died there."""

    def holding(self) -> bool:
        """True when a close frame of this connection waits on the wire."""


@dataclass(eq=False)
class Pair:
    """Both ends of one connection when the lab owns both: what makes each step deterministic.

    The lab waits for ``quiet()`` after each blocking call, so the events a call caused are all
    recorded when it returns; the three flags put the two ends' open and close in one order.
    """

    conn: str
    client: str
    server: str | None
    c2s_sent: int = 0
    c2s_received: int = 0
    s2c_sent: int = 0
    s2c_received: int = 0
    busy: int = 0
    done: bool = False
    server_connected: asyncio.Event = field(default_factory=asyncio.Event)
    client_opened: asyncio.Event = field(default_factory=asyncio.Event)
    server_closed: asyncio.Event = field(default_factory=asyncio.Event)
    wire: OnWire | None = None  # a wire (wslab.wire) between the two ends, if any

    def quiet(self) -> bool:
        if self.done or self.busy:
            return self.done
        if self.wire is not None:  # the wire knows what it holds, dropped or still awaits
            return self.wire.explains(self)
        if self.server is None:  # the other end is not ours (a URL, a Node process): nothing to wait for
            return True
        return self.c2s_sent == self.c2s_received and self.s2c_sent == self.s2c_received
