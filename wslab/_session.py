"""Session bookkeeping: connection ids, pairing both ends, in-flight counts, and settling.

When the lab owns both ends of a connection it counts what is in flight between them, so each
blocking call returns only once what it caused is recorded: the same table on every run. This is
that bookkeeping, apart from the lab itself, so endpoints depend on it and never on the lab.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any, Protocol

from ._bridge import Limits
from .i18n import _

__all__ = ["Limits", "OnWire", "Pair", "Session"]  # Limits: what a Session is made with

_EXPECTED_KEPT = 1000
"""Client addresses kept for pairing: a Node server reports its side late, so they outlive the handshake."""


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


class Session:
    """Ids, pairs and in-flight counts of one lab; ``settle()`` waits until all pairs are quiet."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.pairs: dict[str, Pair] = {}
        self.expected: dict[tuple[str, int], tuple[str, str]] = {}  # client's local address -> (conn, name)
        self.paths: dict[str, tuple[str, str, str]] = {}  # path -> (conn, peer, server), see claim_path
        self.servers: set[str] = set()  # the names of this lab's servers: only those are paired
        self.buses: list[Any] = []  # this lab's buses (wslab.redis_bus), for their in-flight counts
        self.in_flight = 0
        """Work outside any pair that a step must wait for: broadcasts still crossing a bus."""
        self.background: set[asyncio.Future[Any]] = set()
        self._conn_count = 0
        self._next_number: dict[str, int] = {}
        self._activity: asyncio.Event | None = None

    def new_conn_id(self) -> str:
        self._conn_count += 1
        return f"c{self._conn_count}"

    def unique(self, wanted: str | None, base: str, taken: list[str]) -> str:
        """``wanted`` if free (else ValueError), or ``base``, ``base2``, ``base3``… numbered on."""
        if wanted is not None:
            if wanted in taken:
                # i18n: {wanted} is the name asked for, in quotes, e.g. 'alice'
                raise ValueError(_("the name {wanted} is taken in this lab").format(wanted=repr(wanted)))
            return wanted
        if base not in taken:
            return base
        used = set(taken)  # a set, and numbering goes on from the last one: churn stays linear
        n = self._next_number.get(base, 2)
        while f"{base}{n}" in used:
            n += 1
        self._next_number[base] = n + 1
        return f"{base}{n}"

    def expect(self, conn: str, local: Any, client: str, server: str | None) -> None:
        """A client of ours is about to shake hands from ``local``: pair it with our server."""
        self.expected[(str(local[0]), int(local[1]))] = (conn, client)
        if len(self.expected) > _EXPECTED_KEPT:  # a server not ours never claims: forget the oldest
            del self.expected[next(iter(self.expected))]
        ours = server if server in self.servers else None  # else: not ours to wait on
        self.pairs[conn] = Pair(conn=conn, client=client, server=ours)

    def claim_path(self, path: str, conn: str, peer: str, server: str) -> None:
        """A peer we cannot see the address of (a page, a Node process) will ask ``server`` for ``path``."""
        self.paths[path] = (conn, peer, server)

    def identify(self, remote: Any, server: str, path: str | None = None) -> tuple[str, str, bool]:
        """``(conn, name, expected)`` for a connection ``server`` (or a wire) just accepted from ``remote``.

        A client of ours announced its address (``expect``); a page or a Node process announced its
        path (``claim_path``); anyone else is a stranger with a new id, named ``peer-<id>``.
        """
        key = (str(remote[0]), int(remote[1])) if remote else ("", 0)
        if path is not None and path in self.paths and self.paths[path][2] == server:
            conn, peer, _ = self.paths.pop(path)  # once: a second visit is someone else
            # First: an address kept for a Node server's late report may be stale, a client long gone
            # whose port the system has given to this peer (seen in CI: a Node client named after it).
            self.expected.pop(key, None)
            return conn, peer, False
        found = self.expected.pop(key, None)
        if found is not None:
            return found[0], found[1], True
        conn = self.new_conn_id()
        return conn, f"peer-{conn}", False

    def claim(self, remote: Any, server: str, path: str | None = None) -> tuple[str, str]:
        """The connection id and peer name for a connection one of our servers just accepted."""
        conn, name, expected = self.identify(remote, server, path)
        pair = self.pairs.get(conn) if expected else None
        if pair is not None and pair.server != server:  # reached one of our servers by URL: pair them now
            pair.server = server
        return conn, name

    def changed(self) -> None:
        """Something a settle may be waiting on has moved: look again."""
        if self._activity is not None:
            self._activity.set()

    def keep(self, task: asyncio.Future[Any]) -> None:
        """Hold a background task until it is done (the loop keeps only weak references)."""
        self.background.add(task)
        task.add_done_callback(self.background.discard)

    async def settle(self, timeout: float | None = None) -> None:
        """Wait (best effort, bounded) until all our pairs are quiet."""
        if self._activity is None:
            self._activity = asyncio.Event()
        limit = self.limits.settle if timeout is None else timeout
        for conn in [c for c, p in self.pairs.items() if p.done]:
            del self.pairs[conn]  # a finished pair is quiet for good: stop scanning it on every call
        try:
            async with asyncio.timeout(limit):
                while self.in_flight or not all(p.quiet() for p in self.pairs.values()):
                    self._activity.clear()
                    await self._activity.wait()
        except TimeoutError:
            pass
        await asyncio.sleep(0)

    async def wait_flag(self, flag: asyncio.Event) -> None:
        """Wait for one of a pair's flags, at most the settle time."""
        try:
            async with asyncio.timeout(self.limits.settle):
                await flag.wait()
        except TimeoutError:
            pass

    async def unless_held(self, conn: str | None, awaitable: Awaitable[Any]) -> None:
        """Await ``awaitable``, but return as soon as a wire holds this connection's close frame."""
        task = asyncio.ensure_future(awaitable)
        pair = self.pairs.get(conn or "")
        if pair is None or pair.wire is None:
            await task
            return
        if self._activity is None:
            self._activity = asyncio.Event()
        while not task.done():
            if pair.wire is not None and pair.wire.holding():
                self.keep(task)  # it ends when the wire lets the frame go (or the lab closes)
                return
            self._activity.clear()
            waiter = asyncio.ensure_future(self._activity.wait())
            await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
            waiter.cancel()
        task.result()
