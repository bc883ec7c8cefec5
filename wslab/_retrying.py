"""Reconnection for the client: try again on the policy's schedule, fail over, and keep or refuse sends.

A mixin of :class:`~wslab.client.Client`, apart so that the client module stays about one job:
being the browser-like end of one connection at a time.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import TYPE_CHECKING, Any

from websockets.protocol import State

from .errors import ConnectionFailed
from .events import Payload
from .i18n import _

if TYPE_CHECKING:
    from ._context import Context
    from .events import Event, Kind
    from .reconnect import Reconnect

__all__ = ["Retrying"]


class Retrying:
    """The reconnection loop of a client (see :class:`~wslab.reconnect.Reconnect`)."""

    if TYPE_CHECKING:  # provided by Client
        _ctx: Context
        reconnect: Reconnect | None
        conn: str | None
        peer_name: str | None
        url: str
        targets: list[tuple[str, str | None]]
        outbox: deque[Payload]
        _closed_by_user: bool
        _retrying: asyncio.Task[None] | None
        _arrived: asyncio.Event

        @property
        def state(self) -> State: ...
        async def _emit(self, kind: Kind, **fields: Any) -> Event: ...
        def _record(self, kind: Kind, **fields: Any) -> Event: ...
        async def _attempt(self) -> None: ...
        async def _send_now(self, data: Payload, text: bool | None = None) -> None: ...

    async def _retry(self) -> None:
        """Try again on the policy's schedule until open, closed by the user, or out of attempts."""
        assert self.reconnect is not None
        attempt = 0
        for attempt, delay in enumerate(self.reconnect.delays(), 1):
            await self._emit(
                "reconnecting",
                conn=self.conn,
                peer=self.peer_name,
                detail=_("attempt {attempt} in {seconds} s").format(attempt=attempt, seconds=f"{delay:.3f}"),
            )
            await asyncio.sleep(delay)
            if self._closed_by_user:
                return
            if len(self.targets) > 1:  # fail over: the next server in turn
                at = (
                    self.targets.index((self.url, self.peer_name))
                    if (self.url, self.peer_name) in self.targets
                    else -1
                )
                self.url, self.peer_name = self.targets[(at + 1) % len(self.targets)]
            try:
                await self._attempt()
            except ConnectionFailed:
                continue
            self._retrying = None  # open again: the state is the new connection's
            self._arrived.set()
            await self._flush_outbox()
            return
        await self._emit(
            "error",
            conn=self.conn,
            peer=self.peer_name,
            error=_("gave up reconnecting after {count} attempts").format(count=attempt),
        )
        self._retrying = None
        self._refuse_outbox()

    async def _flush_outbox(self) -> None:
        while self.outbox and self.state is State.OPEN:
            await self._send_now(self.outbox.popleft())

    def _refuse_outbox(self) -> None:
        if self.outbox:
            lost = _("{count} queued messages never sent").format(count=len(self.outbox))
            self._record("note", conn=self.conn, detail=lost)
            self.outbox.clear()
        self._arrived.set()
        self._ctx.session.changed()
