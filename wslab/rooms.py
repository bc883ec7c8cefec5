"""The server's registry put to work: rooms, presence, broadcast, a pool of servers and a bus.

The seed's fourth advice is to track connection state on the server "to spread the load or
broadcast messages". A server already keeps its registry (``server.connections``, each ``Peer``
with its state and ``meta``). This module adds what a chat or a live dashboard builds on it:

- rooms (topics): ``server.join(conn, room)``, ``server.leave(conn, room)``, ``server.rooms``; a
  connection leaves all its rooms when it closes;
- ``server.broadcast(data, room=..., exclude=...)``: one message to every open connection, or to
  one room, except the sender;
- ``server.presence()``: who is online, with the ``meta`` that hooks and handlers set on each peer;
- :class:`Pool`: spread new clients over several servers (round robin or least connections);
- :class:`Bus`: what the servers must share once there are several of them. A broadcast on one
  server only reaches *its* clients; published on a bus, it reaches the clients of every server.
  :class:`LocalBus` links servers of one lab, in one process; a cross-process backend (Redis
  pub/sub) implements the same two calls, ``publish(topic, message)`` and ``subscribe(callback)``.

Every membership change and every bus crossing is a ``note`` event, so the table and the diagram
show them next to the ``send`` events they cause.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeAlias, cast, runtime_checkable

from websockets.protocol import State

from ._bridge import Bridge
from .describe import preview
from .errors import NotConnected, WslabError
from .events import Payload
from .i18n import _

if TYPE_CHECKING:
    from .client import Client
    from .events import Kind
    from .hooks import Hook
    from .server import Peer, Server

__all__ = [
    "BROADCAST_TOPIC",
    "Bus",
    "BusCallback",
    "BusMessage",
    "LocalBus",
    "Pool",
    "RoomsMixin",
    "Strategy",
    "Subscribers",
]

BROADCAST_TOPIC = "wslab.broadcast"
"""The bus topic on which servers publish broadcasts for each other."""

Strategy: TypeAlias = Literal["round-robin", "least-connections"]


@dataclass(frozen=True, slots=True, kw_only=True)
class BusMessage:
    """A broadcast travelling between servers: plain data, so any backend can carry it."""

    origin: str
    """The name of the server that published it (it already delivered it to its own clients)."""
    data: Payload
    room: str | None = None
    exclude: str | None = None
    """A connection id that must not get it (the sender's)."""

    def to_json(self) -> str:
        """The message as JSON text (bytes as base64), for a backend that carries strings."""
        binary = isinstance(self.data, bytes)
        data = base64.b64encode(self.data).decode("ascii") if isinstance(self.data, bytes) else self.data
        return json.dumps(
            {
                "origin": self.origin,
                "data": data,
                "binary": binary,
                "room": self.room,
                "exclude": self.exclude,
            }
        )

    @classmethod
    def from_json(cls, text: str | bytes) -> BusMessage:
        """The inverse of :meth:`to_json`."""
        raw = json.loads(text)
        data: Payload = base64.b64decode(raw["data"]) if raw["binary"] else str(raw["data"])
        return cls(origin=str(raw["origin"]), data=data, room=raw["room"], exclude=raw["exclude"])


BusCallback: TypeAlias = Callable[[str, BusMessage], Awaitable[None]]
"""``callback(topic, message)``, awaited in the lab's loop for every message published."""


@runtime_checkable
class Bus(Protocol):
    """What servers share to act as one: publish to every subscriber, subscribe to everything.

    ``publish`` may call back the publisher's own subscription (Redis does): servers skip the
    messages whose ``origin`` is their own name, so each client gets a broadcast exactly once.
    """

    name: str

    async def publish(self, topic: str, message: BusMessage) -> None:
        """Hand ``message`` to every subscriber (this one included)."""
        ...

    def subscribe(self, callback: BusCallback) -> Callable[[], None]:
        """Call ``callback(topic, message)`` for each message published; returns an unsubscribe."""
        ...


class Subscribers:
    """The list of callbacks a bus calls for each message, shared by every kind of bus."""

    _subscribers: list[BusCallback]

    def subscribe(self, callback: BusCallback) -> Callable[[], None]:
        """Call ``callback(topic, message)`` for each message published; returns an unsubscribe."""
        self._subscribers.append(callback)

        def unsubscribe() -> None:
            if callback in self._subscribers:
                self._subscribers.remove(callback)

        return unsubscribe


class LocalBus(Subscribers):
    """A bus for servers of one lab, in one process: ``publish`` awaits each subscriber in turn.

    ``LocalBus([a, b])`` links servers ``a`` and ``b``; ``bus.attach(c)`` adds one more. Because
    it calls the subscribers directly, every delivery is recorded before ``publish`` returns, so
    the events come in the same order on every run. It also knows its servers, so it can answer
    ``presence(everywhere=True)``; a cross-process bus would keep presence in a shared store.
    """

    def __init__(self, servers: Sequence[Server] = (), *, name: str = "bus") -> None:
        self.name = name
        self.servers: list[Server] = []
        self._subscribers: list[BusCallback] = []
        self.published = 0
        for server in servers:
            self.attach(server)

    def attach(self, server: Server) -> None:
        """Link ``server`` to this bus (same as ``server.attach(bus)``)."""
        server.attach(self)

    async def publish(self, topic: str, message: BusMessage) -> None:
        self.published += 1
        for callback in list(self._subscribers):
            await callback(topic, message)

    def __repr__(self) -> str:
        names = ", ".join(s.name for s in self.servers)
        published = _("{n} published").format(n=self.published)
        return f"<LocalBus {self.name!r} " + _("linking [{names}]").format(names=names) + f", {published}>"


def _conn_id(conn: str | Peer | None) -> str | None:
    return conn if conn is None or isinstance(conn, str) else conn.id


class RoomsMixin:
    """Rooms, presence, targeted broadcast and a bus, mixed into :class:`~wslab.server.Server`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._room_lock = threading.Lock()
        self._members: dict[str, list[Peer]] = {}
        self.bus: Bus | None = None
        self._unsubscribe: Callable[[], None] | None = None

    def _me(self) -> Server:
        return cast("Server", self)

    @property
    def bridge(self) -> Bridge:
        """The lab's loop bridge, as the server's."""
        return self._me()._ctx.bridge

    # --- rooms ----------------------------------------------------------------------------------

    @property
    def rooms(self) -> dict[str, list[str]]:
        """``{room: [connection ids]}``, rooms in creation order, members in joining order."""
        with self._room_lock:
            return {room: [p.id for p in peers] for room, peers in self._members.items()}

    def rooms_of(self, conn: str | Peer) -> list[str]:
        """The rooms connection ``conn`` is in."""
        conn_id = _conn_id(conn)
        with self._room_lock:
            return [room for room, peers in self._members.items() if any(p.id == conn_id for p in peers)]

    def join(self, conn: str | Peer, room: str) -> bool:
        """Put connection ``conn`` in ``room`` (made on first use); False if it was already there.

        Usable anywhere: in a cell, a hook or a handler (it sends nothing, so it never waits).
        """
        me = self._me()
        peer = me.peer(conn) if isinstance(conn, str) else conn
        if peer.server is not me:
            # i18n: {server} and {me} are servers' names in the lab, e.g. server, east
            words = _("connection {id} is on {server}, not on {me}")
            raise NotConnected(words.format(id=peer.id, server=peer.server.name, me=me.name))
        if peer.state is not State.OPEN:
            raise NotConnected(
                _("connection {id} is {state}: it cannot join a room").format(
                    id=peer.id, state=peer.state.name.lower()
                )
            )
        with self._room_lock:
            peers = self._members.setdefault(room, [])
            if peer in peers:
                return False
            peers.append(peer)
        me._record(
            "note",
            conn=peer.id,
            peer=peer.name,
            detail=_("{conn} joined room {room}").format(conn=peer.id, room=repr(room)),
        )
        return True

    def leave(self, conn: str | Peer, room: str) -> bool:
        """Take connection ``conn`` out of ``room`` (gone when empty); False if it was not in it."""
        me = self._me()
        peer = me.peer(conn) if isinstance(conn, str) else conn
        if not self._drop_member(peer, room):
            return False
        me._record(
            "note",
            conn=peer.id,
            peer=peer.name,
            detail=_("{conn} left room {room}").format(conn=peer.id, room=repr(room)),
        )
        return True

    def _drop_member(self, peer: Peer, room: str) -> bool:
        with self._room_lock:
            peers = self._members.get(room)
            if peers is None or peer not in peers:
                return False
            peers.remove(peer)
            if not peers:
                del self._members[room]
            return True

    def _leave_all(self, peer: Peer) -> None:
        """A closed connection leaves every room it was in (called when its ``close`` is recorded)."""
        me = self._me()
        for room in self.rooms_of(peer):
            if self._drop_member(peer, room):
                words = _("{conn} left room {room} (closed)").format(conn=peer.id, room=repr(room))
                me._record("note", conn=peer.id, peer=peer.name, detail=words)

    # --- presence -------------------------------------------------------------------------------

    def presence(self, room: str | None = None, *, everywhere: bool = False) -> dict[str, dict[str, Any]]:
        """Who is online: ``{connection id: a copy of its peer.meta}``, open connections only.

        ``room`` keeps only that room's members. ``everywhere=True`` asks every server on this
        server's bus, so it also knows the users connected to the others.
        """
        servers: list[Server] = [self._me()]
        if everywhere:
            if self.bus is None:
                raise WslabError(
                    _("{name} is on no bus: presence(everywhere=True) needs one").format(name=self._me().name)
                )
            if not isinstance(self.bus, LocalBus):
                raise WslabError(_("bus {bus} cannot share presence").format(bus=repr(self.bus.name)))
            servers = list(self.bus.servers)
        online: dict[str, dict[str, Any]] = {}
        for server in servers:
            members = None if room is None else set(server.rooms.get(room, []))
            for peer in server.connections:
                if peer.state is State.OPEN and (members is None or peer.id in members):
                    online[peer.id] = dict(peer.meta)
        return online

    # --- broadcast ------------------------------------------------------------------------------

    async def abroadcast(
        self,
        data: Payload,
        room: str | None = None,
        exclude: str | Peer | None = None,
        *,
        everywhere: bool = False,
        timeout: float | None = None,
    ) -> int:
        """Send ``data`` to every open connection (or ``room``'s), except ``exclude``.

        ``everywhere=True`` also publishes it on this server's bus, so the other servers send it to
        their own clients. Returns how many connections *of this server* got it; it returns once
        every message it caused has arrived. In a handler or a hook, ``await`` this one: the call
        that triggered the handler settles for it.
        """
        bridge = self._me()._ctx.bridge
        if bridge.in_loop():  # in a handler or hook: the call that triggered it settles
            return await self._broadcast(data, room, _conn_id(exclude), everywhere)
        coro = self._broadcast_and_settle(data, room, _conn_id(exclude), everywhere)
        return await bridge.run(coro, timeout, "broadcast")

    def broadcast(
        self,
        data: Payload,
        room: str | None = None,
        exclude: str | Peer | None = None,
        *,
        everywhere: bool = False,
        timeout: float | None = None,
    ) -> int:
        """Blocking twin of :meth:`abroadcast` (not :func:`twin`: that one asks where it runs)."""
        coro = self._broadcast_and_settle(data, room, _conn_id(exclude), everywhere)
        return self.bridge.block(coro, timeout, "broadcast")

    async def _broadcast_and_settle(
        self, data: Payload, room: str | None, exclude: str | None, everywhere: bool
    ) -> int:
        sent = await self._broadcast(data, room, exclude, everywhere)
        await self._me()._ctx.session.settle()
        return sent

    async def _broadcast(self, data: Payload, room: str | None, exclude: str | None, everywhere: bool) -> int:
        me = self._me()
        if everywhere and self.bus is None:
            raise WslabError(
                _("{name} is on no bus: attach one first (server.attach(bus))").format(name=me.name)
            )
        sent = await self._deliver(data, room, exclude)
        if everywhere and self.bus is not None:
            words = (
                _("published {data} to room {room} on bus {bus}")
                if room is not None
                else _("published {data} on bus {bus}")
            )
            me._record(
                "note", detail=words.format(data=preview(data), room=repr(room), bus=repr(self.bus.name))
            )
            await self.bus.publish(
                BROADCAST_TOPIC, BusMessage(origin=me.name, data=data, room=room, exclude=exclude)
            )
        return sent

    async def _deliver(self, data: Payload, room: str | None, exclude: str | None) -> int:
        """Send to this server's own open connections (of ``room``), in joining/connecting order."""
        me = self._me()
        if room is None:
            targets = list(me.connections)
        else:
            with self._room_lock:
                targets = list(self._members.get(room, ()))
        sent = 0
        for peer in targets:
            if peer.state is State.OPEN and peer.id != exclude:
                try:
                    await me._send(peer, data)
                    sent += 1
                except NotConnected:
                    pass
        return sent

    # --- the bus --------------------------------------------------------------------------------

    def attach(self, bus: Bus) -> None:
        """Link this server to ``bus``: broadcasts with ``everywhere=True`` reach its clients too."""
        me = self._me()
        if self.bus is bus:
            return
        if self.bus is not None:
            raise WslabError(
                _("{name} is already on bus {bus}").format(name=me.name, bus=repr(self.bus.name))
            )
        if isinstance(bus, LocalBus) and any(s._ctx is not me._ctx for s in bus.servers):
            # a LocalBus calls its servers directly, so they must all run in one lab's loop
            words = _("bus {bus} links servers of another lab: a LocalBus stays in one lab")
            raise WslabError(words.format(bus=repr(bus.name)))
        self.bus = bus
        self._unsubscribe = bus.subscribe(self._from_bus)
        if isinstance(bus, LocalBus) and me not in bus.servers:
            bus.servers.append(me)
        me._record("note", detail=f"attached to bus {bus.name!r}")

    def detach(self) -> None:
        """Leave the bus: from now on this server is alone again."""
        me = self._me()
        bus, self.bus = self.bus, None
        if bus is None:
            return
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if isinstance(bus, LocalBus) and me in bus.servers:
            bus.servers.remove(me)
        me._record("note", detail=f"detached from bus {bus.name!r}")

    async def _from_bus(self, topic: str, message: BusMessage) -> None:
        me = self._me()
        if topic != BROADCAST_TOPIC or message.origin == me.name or not me.serving:
            return
        name = self.bus.name if self.bus is not None else "?"
        if message.room is not None:
            words = _("bus {bus} brought {data} to room {room} from {origin}")
        else:
            words = _("bus {bus} brought {data} from {origin}")
        detail = words.format(
            bus=repr(name), data=preview(message.data), room=repr(message.room), origin=message.origin
        )
        me._record("note", detail=detail)
        await self._deliver(message.data, message.room, message.exclude)


class Pool:
    """Spread new clients over several servers, as a load balancer does in front of a cluster.

    ``round-robin`` takes the servers in turn; ``least-connections`` takes the one with the fewest
    open connections (the first one on a tie). Each choice is a ``note`` on the chosen server.
    The servers share nothing because of the pool: link them with a :class:`LocalBus` for that.
    """

    def __init__(
        self, servers: Sequence[Server], strategy: Strategy = "round-robin", *, name: str = "pool"
    ) -> None:
        if not servers:
            raise ValueError(_("a pool needs at least one server"))
        if strategy not in ("round-robin", "least-connections"):
            words = _("strategy must be 'round-robin' or 'least-connections', not {strategy}")
            raise ValueError(words.format(strategy=repr(strategy)))
        self.servers = list(servers)
        self.strategy: Strategy = strategy
        self.name = name
        self._next = 0
        self._lock = threading.Lock()

    def pick(self) -> Server:
        """The server the next client goes to (and a ``note`` saying so)."""
        with self._lock:
            if self.strategy == "round-robin":
                server = self.servers[self._next % len(self.servers)]
                self._next += 1
                why = _("round robin")
            else:
                counts = [len(s.connections) for s in self.servers]
                server = self.servers[counts.index(min(counts))]
                why = _("least connections: ") + ", ".join(
                    f"{s.name} {n}" for s, n in zip(self.servers, counts, strict=True)
                )
        server._record(
            "note", detail=_("{pool} sends the next client here ({why})").format(pool=self.name, why=why)
        )
        return server

    def connect(
        self, *, path: str = "/", name: str | None = None, on: dict[Kind, Hook] | None = None, **options: Any
    ) -> Client:
        """Connect a new client to the server :meth:`pick` chooses; like ``lab.connect``."""
        server = self.pick()
        return cast("Client", server._ctx.connector.connect(server, path=path, name=name, on=on, **options))

    async def aconnect(
        self, *, path: str = "/", name: str | None = None, on: dict[Kind, Hook] | None = None, **options: Any
    ) -> Client:
        """Async twin of :meth:`connect`."""
        server = self.pick()
        client = await server._ctx.connector.aconnect(server, path=path, name=name, on=on, **options)
        return cast("Client", client)

    @property
    def connections(self) -> dict[str, list[str]]:
        """``{server name: [open connection ids]}``: how the load is spread."""
        return {s.name: [p.id for p in s.connections] for s in self.servers}

    def __repr__(self) -> str:
        spread = ", ".join(f"{s.name} {len(s.connections)}" for s in self.servers)
        return f"<Pool {self.name!r} {self.strategy}: {spread}>"
