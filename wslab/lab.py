"""The lab: one per notebook. It owns the loop, the recorder, and every server and client.

Every blocking call returns only when the events it caused are recorded (the server's
``message`` after ``send``, and its reply), so the event table after each cell is the same on
every run. Every wait has a timeout that raises :class:`~wslab.errors.WslabTimeout`.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import threading
import weakref
from collections.abc import Callable, Coroutine, Sequence
from typing import TYPE_CHECKING, Any, Literal, TypeAlias, TypeVar

from ._bridge import Bridge, Limits, twin
from ._context import Context
from ._fds import RUN_OUT, out_of_fds, raise_fd_limit
from ._lab_peers import LabPeers
from ._lab_views import LabViews
from ._loop import LoopThread
from ._session import Session
from .client import Client
from .errors import WslabError
from .eventlog import EventLog
from .events import Kind, Payload, Side
from .expect import Step, Verdict, expect
from .hooks import Hook
from .i18n import _, ngettext, normal_language, set_thread_language
from .reconnect import Reconnect
from .recorder import MAX_PAYLOAD, PAYLOAD_BUDGET, Clock, LogicalClock, Recorder, WallClock
from .server import DEFAULT_ECHO, Handler, Server
from .validation import Guard, RateLimit, Validator
from .wire import Wire

if TYPE_CHECKING:
    from ssl import SSLContext

    from .browser import Browser
    from .node import NodeProcess, NodeServer
    from .redis_bus import RedisBus
    from .resources import Resources

__all__ = ["Lab"]

T = TypeVar("T")

Target: TypeAlias = "Server | Wire | NodeServer | str"
"""What a client can connect to: a server of the lab, a wire, a Node server, or a URL."""

_FD_LIMIT_RAISED = False


def _raise_fd_limit_once() -> None:
    """The first lab of a process raises the soft limit on open files (see ``wslab._fds``)."""
    global _FD_LIMIT_RAISED
    if not _FD_LIMIT_RAISED:
        _FD_LIMIT_RAISED = True
        raise_fd_limit()


_NO_LIMIT = 86_400.0
"""How long a blocking call waits when its own limit is ``None``: a day, so still bounded."""

_LIVE: weakref.WeakValueDictionary[str, Lab] = weakref.WeakValueDictionary()
_LIVE_LOCK = threading.Lock()


class Lab(LabViews, LabPeers):
    """Servers and clients in one private event loop, every event recorded.

    ``Lab(clock="logical")`` numbers time 1, 2, 3, … so a notebook's output never changes;
    the default wall clock counts microseconds since the lab started. Making a lab with the name
    of one still open closes the old one first, so re-running a notebook from the top is clean.
    Memory stays bounded however long a learner plays: ``capacity`` events, payloads cut to
    ``max_payload`` bytes each and ``payload_budget`` bytes in all (see :class:`Recorder`).
    ``Lab(lang="fr")`` prints in French: its tables, diagrams, checks and recorded error words
    (without ``lang``, the process's language: ``wslab.set_language`` or ``WSLAB_LANG``).
    """

    def __init__(
        self,
        *,
        clock: Literal["wall", "logical"] | Clock = "wall",
        capacity: int = 100_000,
        timeout: float = 5.0,
        settle: float = 2.0,
        name: str = "lab",
        max_payload: int = MAX_PAYLOAD,
        payload_budget: int = PAYLOAD_BUDGET,
        keep_closed: int = 100,
        lang: str | None = None,
    ) -> None:
        if clock == "wall":
            clock = WallClock()
        elif clock == "logical":
            clock = LogicalClock()
        elif not callable(clock):
            raise ValueError(
                _("clock must be 'wall', 'logical' or a callable, not {clock}").format(clock=repr(clock))
            )
        self.name = name
        self.recorder = Recorder(
            capacity=capacity, clock=clock, max_payload=max_payload, payload_budget=payload_budget
        )
        self.lang = None if lang is None else normal_language(lang)
        """The language this lab prints in, ``"en"`` or ``"fr"`` (None: the process's: ``set_language``)."""
        self.recorder.lang = self.lang
        self.servers: list[Server] = []
        self.clients: list[Client] = []
        self.keep_closed = keep_closed
        """How many closed clients ``clients`` keeps to look back at (live ones are always kept)."""
        self.wires: list[Wire] = []
        self.browsers: list[Browser] = []  # wslab.browser: the classic client in the notebook page
        self.nodes: list[NodeProcess] = []  # wslab.node: Node servers and clients in child processes
        with _LIVE_LOCK:
            previous = _LIVE.get(name)
            _LIVE[name] = self
        if previous is not None and previous is not self:
            previous.close()
        self._loop = LoopThread(name=f"wslab-{name}")
        limits = Limits(timeout=timeout, settle=settle)
        self._session = Session(limits)
        self.context = Context(
            recorder=self.recorder,
            bridge=Bridge(self._loop, limits),
            session=self._session,
            limits=limits,
            connector=self,
        )
        """What endpoints get from this lab (they never see the lab itself)."""
        self.buses: list[RedisBus] = self._session.buses
        self._loop.loop.set_exception_handler(self._on_loop_exception)
        if self.lang is not None:  # what the loop thread records (errors, notes) is in the lab's language
            self._loop.loop.call_soon_threadsafe(set_thread_language, self.lang)
        _raise_fd_limit_once()

    # --- what learners call ---------------------------------------------------------------------

    @property
    def events(self) -> EventLog:
        """Every event kept so far, as a table when printed or displayed."""
        return self.recorder.snapshot()

    def expect(
        self,
        *steps: Step | str,
        ordered: bool = True,
        partial: bool = True,
        side: Side | None = None,
        conn: str | None = None,
    ) -> Verdict:
        """Check that ``steps`` happened: an exercise's check cell, with feedback in plain words."""
        return expect(self.events, steps, ordered=ordered, partial=partial, side=side, conn=conn)

    async def aserve(
        self,
        /,
        handler: Handler | None = None,
        *,
        echo: str | None = DEFAULT_ECHO,
        welcome: Payload | None = None,
        name: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        on: dict[Kind, Hook] | None = None,
        token: str | None = None,
        validate: Validator | None = None,
        rate_limit: RateLimit | None = None,
        on_invalid: Literal["reply", "close"] = "reply",
        record_pings: bool = False,
        timeout: float | None = None,
        **options: Any,
    ) -> Server:
        """Start a server now; by default it answers every message with ``Serveur a reçu : …``.

        ``handler(message, peer)`` replaces the echo (return a reply, or None); ``welcome`` is sent
        to each new client; ``record_pings=True`` records ping and pong frames; ``validate``,
        ``rate_limit`` and ``on_invalid`` guard what it receives (see :mod:`wslab.validation`); other keywords
        (``max_size``, ``compression``, ``ping_interval``, ``ping_timeout``, …)
        go to ``websockets.asyncio.server.serve``. It binds 127.0.0.1 unless ``host`` says otherwise
        (and warns when it does). ``token="…"`` refuses handshakes without ``?token=…`` or an
        ``Authorization: Bearer …`` header (401 missing, 403 wrong); ``origins=[…]`` refuses other
        ``Origin`` headers (403). Tokens and credentials are masked in every recorded event.
        """

        async def start() -> Server:
            server = Server(
                self.context,
                self._unique(name, "server", [s.name for s in self.servers]),
                handler=handler,
                echo=echo,
                welcome=welcome,
                host=host,
                port=port,
                on=on,
                options=options,
                token=token,
                guard=Guard.make(validate, rate_limit, on_invalid),
                record_pings=record_pings,
            )
            await server._start()
            self.servers.append(server)
            self._session.servers.add(server.name)
            return server

        return await self.context.bridge.run(start(), timeout, "serve")

    serve = twin(aserve)

    async def aconnect(
        self,
        /,
        target: Target | Sequence[Target],
        *,
        path: str = "/",
        name: str | None = None,
        on: dict[Kind, Hook] | None = None,
        reconnect: Reconnect | bool | None = None,
        wait: bool = True,
        record_pings: bool = False,
        timeout: float | None = None,
        **options: Any,
    ) -> Client:
        """Connect a new client to ``target`` (a server of this lab, a wire in front of one, or a URL).

        A list of targets gives a client that fails over: it connects to the first, and each
        reconnection attempt (with ``reconnect=``) tries the next one in turn.

        Returns once ``open`` (and the server's ``connection``) are recorded. A refused or rejected
        attempt records ``error`` and ``close`` (1006), then raises ``ConnectionFailed``. With
        ``wait=False`` it returns at once, as ``new WebSocket(url)`` does, the client still
        connecting: a failure is then only recorded, and ``close()`` abandons the attempt.
        ``open_timeout`` (seconds, ``None`` for no limit) bounds the TCP connect and handshake;
        it defaults to the lab's ``timeout``. ``subprotocols=[...]`` that the server's 101 does not
        grant fail the connection, as in a browser.
        ``reconnect=wslab.Reconnect(...)`` (or ``True`` for the defaults) makes the client come back
        by itself after a close it did not ask for.
        Other keywords (``compression``, ``max_size``, ``additional_headers``, …) go to
        ``websockets.asyncio.client.connect``.
        """

        def address(one: Target) -> tuple[str, str | None]:
            if isinstance(one, Server):
                return one.url.rstrip("/") + "/" + path.lstrip("/"), one.name
            if isinstance(one, Wire):  # through the wire; the peer is still the server (if it is ours)
                peer = one.server.name if one.server is not None else None
                return one.url.rstrip("/") + "/" + path.lstrip("/"), peer
            if isinstance(one, str):
                return one, None
            return one.url, one.name  # a Node server (wslab.node): the other end is named after it

        async def start() -> Client:
            if isinstance(target, str) or not isinstance(target, Sequence):
                targets = [address(target)]
            else:
                targets = [address(one) for one in target]
            if not targets:
                raise ValueError(_("connect() needs at least one server or URL"))
            options.setdefault("open_timeout", self.timeout)
            options.setdefault("close_timeout", self.settle_timeout)  # a silent peer: no 10 s hang
            client = Client(
                self.context,
                self._unique(name, "client", [c.name for c in self.clients]),
                targets[0][0],
                peer=targets[0][1],
                on=on,
                options=options,
                record_pings=record_pings,
                reconnect=Reconnect() if reconnect is True else (reconnect or None),
                fallbacks=targets[1:],
            )
            self._forget_old_clients()
            self.clients.append(client)
            if wait:
                await client._open()
            else:
                opening = client._open_quietly()
                client._opening = asyncio.create_task(opening, name=f"wslab-open-{client.name}")
            return client

        limit = options.get("open_timeout", self.timeout) if timeout is None else timeout
        return await self.context.bridge.run(start(), _NO_LIMIT if limit is None else float(limit), "connect")

    connect = twin(aconnect)

    async def awire(
        self,
        target: Server | str,
        *,
        name: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        verify: bool = True,
        ssl: SSLContext | None = None,
        open_timeout: float | None = None,
        timeout: float | None = None,
    ) -> Wire:
        """Put a wire in front of ``target``: a server of this lab, or any ``ws://`` or ``wss://`` URL.

        Clients that connect to ``wire.url`` (``lab.connect(wire)``, a page, your own app) go through
        it, frame by frame. It listens on ``host`` (loopback by default) and ``port`` (a free one by
        default). A ``wss://`` upstream's certificate is verified unless ``verify=False``; ``ssl=``
        takes an ``ssl.SSLContext`` of your own (a test CA, a client certificate). ``open_timeout``
        bounds each opening handshake: the server's own by default, else the lab's ``timeout``.
        """

        async def start() -> Wire:
            if not isinstance(target, str) and target not in self.servers:
                raise WslabError(_("{name} is not a server of this lab").format(name=target.name))
            wire = Wire(
                self.context,
                self._unique(name, "wire", [w.name for w in self.wires]),
                target,
                host=host,
                port=port,
                verify=verify,
                ssl=ssl,
                open_timeout=open_timeout,
            )
            await wire._start()
            self.wires.append(wire)
            return wire

        return await self.context.bridge.run(start(), timeout, "wire")

    wire = twin(awire)

    async def asettle(self, timeout: float | None = None) -> None:
        """Wait until every message between this lab's clients and servers has arrived."""
        await self.context.bridge.run(self._settle(timeout), timeout, "settle")

    settle = twin(asettle)

    def resources(self) -> Resources:
        """Count what this lab holds open now: sockets, asyncio tasks, threads (any OS; all 0 once closed)."""
        from .resources import measure

        return measure(self, self._loop, closed=self.closed, timeout=self.timeout)

    def close(self) -> None:
        """Close every client and server, then stop the loop: nothing is left running."""
        if self._closed:
            return
        try:
            if self._loop.alive:
                self._loop.run(self._shutdown(), self.timeout, "close")
        except WslabError:
            pass
        finally:
            self._finish()

    async def aclose(self) -> None:
        """Async twin of :meth:`close` (the loop thread itself is stopped from outside it)."""
        if self._closed:
            return
        try:
            await self._on_loop(self._shutdown())
        finally:
            if not self._loop.in_loop():
                await asyncio.to_thread(self._finish)

    @property
    def closed(self) -> bool:
        return self._closed

    def __enter__(self) -> Lab:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    async def __aenter__(self) -> Lab:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"  # the lab's state, in the API's words
        counts = [
            ngettext("{n} server", "{n} servers", len(self.servers)).format(n=len(self.servers)),
            ngettext("{n} client", "{n} clients", len(self.clients)).format(n=len(self.clients)),
            ngettext("{n} event", "{n} events", self.recorder.total).format(n=self.recorder.total),
        ]
        return f"<Lab {self.name!r} {state}: {', '.join(counts)}>"

    # --- limits and state, kept in the runtime objects the endpoints share ---------------------

    @property
    def timeout(self) -> float:
        """Seconds an operation may take (connect, recv, close…) before ``WslabTimeout``."""
        return self.context.limits.timeout

    @timeout.setter
    def timeout(self, value: float) -> None:
        self.context.limits.timeout = value

    @property
    def settle_timeout(self) -> float:
        """Seconds a step waits, at most, for what it caused to be recorded."""
        return self.context.limits.settle

    @settle_timeout.setter
    def settle_timeout(self, value: float) -> None:
        self.context.limits.settle = value

    @property
    def in_flight(self) -> int:
        """Work outside any pair that a step must wait for: broadcasts still crossing a bus."""
        return self._session.in_flight

    @property
    def bridge(self) -> Bridge:
        """The loop bridge the lab's blocking calls go through."""
        return self.context.bridge

    @property
    def _closed(self) -> bool:
        return self.context.bridge.closed

    # --- plumbing: the lab's own calls through the bridge --------------------------------------

    async def _on_loop(self, coro: Coroutine[Any, Any, T]) -> T:
        return await self.context.bridge.on_loop(coro)

    def _on_loop_exception(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        """A server's ``accept`` out of descriptors is an event, not a line on stderr."""
        exc = context.get("exception")
        listening = context.get("socket")
        if isinstance(exc, OSError) and exc.errno in RUN_OUT and listening is not None:
            for server in self.servers:
                if server._listens_on(listening):
                    words = f"{out_of_fds()}: {server.name} could not accept a connection"
                    task = loop.create_task(server._emit("error", error=words, exc=exc))
                    self._session.keep(task)
                    return
        loop.default_exception_handler(context)

    def _forget_old_clients(self) -> None:
        """Keep every live client and the newest ``keep_closed`` closed ones (amortised: in batches).

        A closed client keeps its story (codes, names) but no socket state; beyond the newest
        ``keep_closed``, the events still tell everything about the older ones.
        """
        if len(self.clients) < 2 * self.keep_closed + 16:
            return
        closed = [c for c in self.clients if c.finished]
        gone = {id(c) for c in closed[: max(0, len(closed) - self.keep_closed)]}
        self.clients = [c for c in self.clients if id(c) not in gone]

    @property
    def _cleanups(self) -> list[Callable[[], None]]:
        return self.context.cleanups

    def _unique(self, wanted: str | None, base: str, taken: list[str]) -> str:
        return self._session.unique(wanted, base, taken)

    async def _settle(self, timeout: float | None = None) -> None:
        await self._session.settle(timeout)

    async def _shutdown(self) -> None:
        for bus in self.buses:
            with contextlib.suppress(Exception):  # Redis may be gone already
                await bus._disconnect()
        for wire in self.wires:
            wire._abandon()  # report what is still held, so nothing is lost silently
        for client in self.clients:
            if client.finished:
                continue  # nothing to close (and no note to say so)
            with contextlib.suppress(WslabError):
                await client._close(1001, "lab closing")
        for server in self.servers:
            await server._stop(1001, "lab closing")
        for wire in self.wires:
            await wire._stop()

    def _finish(self) -> None:
        self.context.bridge.closed = True
        self._loop.stop()
        for cleanup in reversed(self._cleanups):
            with contextlib.suppress(Exception):  # one failing cleanup must not leave the others
                cleanup()
        self._cleanups.clear()
        with _LIVE_LOCK:
            if _LIVE.get(self.name) is self:
                del _LIVE[self.name]


@atexit.register
def _close_all_labs() -> None:  # pragma: no cover - runs at interpreter exit
    for lab in list(_LIVE.values()):
        lab.close()
