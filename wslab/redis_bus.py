"""Servers in several processes acting as one: a Redis pub/sub bus, and Redis as a child process.

One process can only broadcast to its own clients. Once clients are spread over several server
processes, a broadcast has to cross between them, and so does presence (who is online where).
:class:`RedisBus` carries :class:`~wslab.rooms.BusMessage` broadcasts over Redis pub/sub and keeps
each server's presence in a Redis hash that expires unless refreshed. Each server's registry stays
local: only broadcasts and presence are shared.

Presence has two ways out, and only two:

- **expiry**: every ``presence_every`` seconds the bus rewrites the hash of each of its servers that
  is serving, with a time to live of ``presence_ttl``. A server that stops serving (killed, or its
  whole process killed) is no longer refreshed, and Redis drops its hash ``presence_ttl`` seconds
  after the last refresh. Nobody deletes it: a dead process cannot, and the others must not guess.
- **clean shutdown**: ``bus.close()`` (and ``lab.close()``, which a process that exits normally
  runs) deletes the hashes of its servers at once.

:func:`start_redis` runs ``redis-server`` (Debian package ``redis-server``) as a child process on
loopback, for lessons and tests; :func:`redis_available` says whether it and redis-py are there.
:func:`spawn_server` runs a small chat server linked to the bus in a separate Python process
(``python -m wslab._redis_child``), so several processes really share one bus.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import importlib.util
import json
import os
import queue
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._bridge import Bridge, twin
from .errors import WslabError, WslabTimeout
from .i18n import N_, _
from .rooms import BusCallback, BusMessage, Subscribers

if TYPE_CHECKING:
    from ._context import Context
    from .server import Peer, Server

__all__ = ["RedisBus", "RedisProcess", "ServerProcess", "redis_available", "spawn_server", "start_redis"]

_CHILDREN: list[RedisProcess] = []


def redis_available() -> bool:
    """True when ``redis-server`` is on PATH and the ``redis`` package can be imported."""
    return shutil.which("redis-server") is not None and importlib.util.find_spec("redis") is not None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisProcess:
    """A ``redis-server`` child process on 127.0.0.1, with no persistence; stopped at exit."""

    def __init__(self, port: int | None = None, *, timeout: float = 5.0) -> None:
        if shutil.which("redis-server") is None:
            raise WslabError("redis-server is not installed: on Debian/Ubuntu, apt-get install redis-server")
        self.port = port or _free_port()
        self._dir = tempfile.TemporaryDirectory(prefix="wslab-redis-")
        args = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
        args += ["--appendonly", "no", "--daemonize", "no", "--dir", self._dir.name]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _CHILDREN.append(self)
        deadline = time.monotonic() + timeout
        while not self._pong():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise WslabTimeout(f"redis-server did not answer on port {self.port} within {timeout} s")
            time.sleep(0.01)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    def _pong(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL) and remove its folder."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(3)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(3)
        self._dir.cleanup()
        if self in _CHILDREN:
            _CHILDREN.remove(self)

    def __enter__(self) -> RedisProcess:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = _("running") if self.running else _("stopped")
        return f"<RedisProcess {state}>"


def start_redis(port: int | None = None) -> RedisProcess:
    """Start ``redis-server`` on loopback and wait until it answers PING."""
    return RedisProcess(port)


@atexit.register
def _stop_children() -> None:  # pragma: no cover - interpreter exit
    for child in list(_CHILDREN):
        child.stop()


class RedisBus(Subscribers):
    """A :class:`~wslab.rooms.Bus` over Redis pub/sub, with presence kept in expiring hashes.

    Make it with ``lab.redis_bus(url, servers)`` (``await lab.aredis_bus(…)`` in async code): it
    connects in the lab's loop, subscribes to ``<prefix>:*`` and links the servers. Every process that
    links its servers to the same Redis and prefix shares their broadcasts. Presence is written
    every ``presence_every`` seconds with a time to live of ``presence_ttl``, for the servers that
    are serving; a server that stops serving drops out when its time to live runs out, and
    :meth:`close` removes this bus's servers at once (see the module's docstring).
    """

    def __init__(
        self,
        ctx: Context,
        url: str,
        servers: Sequence[Server] = (),
        *,
        name: str = "redis",
        prefix: str = "wslab",
        presence_every: float = 0.5,
        presence_ttl: float = 2.0,
    ) -> None:
        if importlib.util.find_spec("redis") is None:
            raise WslabError("the redis package is not installed: pip install redis")
        if not 0 < presence_every < presence_ttl:
            raise ValueError("presence_every must be positive and shorter than presence_ttl")
        self._ctx = ctx
        self.url = url
        self.name = name
        self.prefix = prefix
        self.presence_every = presence_every
        self.presence_ttl = presence_ttl
        self.servers: list[Server] = []
        self.published = 0
        self.received = 0
        self.callback_errors = 0
        self._subscribers: list[BusCallback] = []
        self._client: Any = None
        self._pubsub: Any = None
        self._tasks: list[asyncio.Task[None]] = []
        self._servers_to_link = list(servers)

    @property
    def bridge(self) -> Bridge:
        return self._ctx.bridge

    async def _open(self) -> None:
        """Connect, subscribe and link the servers given (``lab.redis_bus`` awaits it on the loop)."""
        await self._connect()
        self._ctx.session.buses.append(self)
        for server in self._servers_to_link:
            self.attach(server)

    # --- Bus ------------------------------------------------------------------------------------

    async def publish(self, topic: str, message: BusMessage) -> None:
        """Publish on ``<prefix>:<topic>``; every subscribed process gets it, this one included."""
        self.published += 1
        # every bus of this lab on the same prefix will hear it: the lab's steps wait for all of them
        session = self._ctx.session
        session.in_flight += sum(1 for bus in session.buses if bus.prefix == self.prefix and bus._client)
        await self._client.publish(f"{self.prefix}:{topic}", message.to_json())

    # --- servers and presence ----------------------------------------------------------------

    def attach(self, server: Server) -> None:
        """Link ``server`` (same as ``server.attach(bus)``); its presence is published from now on."""
        server.attach(self)
        if server not in self.servers:
            self.servers.append(server)

    async def apresence(self, *, timeout: float | None = None) -> dict[str, dict[str, dict[str, Any]]]:
        """Who is online on every server of every process: ``{server: {conn: meta}}``.

        It first publishes this process's own presence, so its servers are always up to date.
        """
        return await self._ctx.bridge.run(self._read_presence(), timeout, "presence")

    presence = twin(apresence)

    async def arefresh_presence(self, *, timeout: float | None = None) -> None:
        """Write this bus's presence now instead of at the next round (after a change of ``meta``)."""
        await self._ctx.bridge.run(self._write_presence(), timeout, "refresh_presence")

    refresh_presence = twin(arefresh_presence)

    async def aclose(self, *, timeout: float | None = None) -> None:
        """Stop publishing presence, unsubscribe and disconnect (``lab.close()`` does it too)."""
        if self._client is not None:
            await self._ctx.bridge.run(self._disconnect(), timeout, "close")

    close = twin(aclose)

    def __repr__(self) -> str:
        names = ", ".join(s.name for s in self.servers)
        state = "connected" if self._client is not None else "closed"
        return f"<RedisBus {self.name!r} {state}, linking [{names}]>"

    # --- in the loop --------------------------------------------------------------------------

    async def _connect(self) -> None:
        import redis.asyncio as aioredis

        self._client = aioredis.from_url(self.url, decode_responses=True)
        self._pubsub = self._client.pubsub()
        await self._pubsub.psubscribe(f"{self.prefix}:*")
        self._tasks = [
            asyncio.create_task(self._read(), name=f"wslab-bus-{self.name}"),
            asyncio.create_task(self._keep_presence(), name=f"wslab-presence-{self.name}"),
        ]

    async def _read(self) -> None:
        start = len(self.prefix) + 1
        async for item in self._pubsub.listen():
            if item.get("type") != "pmessage":
                continue
            self.received += 1
            topic = str(item["channel"])[start:]
            try:
                message = BusMessage.from_json(item["data"])
            except (ValueError, KeyError, TypeError):
                self.callback_errors += 1
                continue
            try:
                for callback in list(self._subscribers):
                    try:
                        await callback(topic, message)
                    except Exception:  # one broken server must not stop the bus
                        self.callback_errors += 1
            finally:
                session = self._ctx.session
                if session.in_flight and message.origin in session.servers:
                    session.in_flight -= 1
                    session.changed()

    def _presence_key(self, server: Server) -> str:
        return f"{self.prefix}:presence:{server.name}"

    async def _write_presence(self) -> None:
        """Rewrite (atomically) the hash of every server that is serving; leave the others alone.

        A server that is not serving is not refreshed, so its hash expires by its time to live:
        deleting it here would make an in-process ``kill()`` look different from a dead process.
        """
        ttl_ms = int(self.presence_ttl * 1000)
        pipe = self._client.pipeline(transaction=True)
        for server in self.servers:
            if not server.serving:
                continue
            key = self._presence_key(server)
            pipe.delete(key)
            online = server.presence()
            if online:
                pipe.hset(key, mapping={c: json.dumps(m, default=str) for c, m in online.items()})
                pipe.pexpire(key, ttl_ms)
        await pipe.execute()

    async def _keep_presence(self) -> None:
        while True:
            with contextlib.suppress(Exception):  # Redis gone for a moment: try again next round
                await self._write_presence()
            await asyncio.sleep(self.presence_every)

    async def _read_presence(self) -> dict[str, dict[str, dict[str, Any]]]:
        for bus in self._ctx.session.buses:  # this process's serving servers are always up to date
            if bus._client is not None:
                await bus._write_presence()
        out: dict[str, dict[str, dict[str, Any]]] = {}
        pattern = f"{self.prefix}:presence:*"
        keys = sorted([key async for key in self._client.scan_iter(match=pattern)])
        for key in keys:
            entries = await self._client.hgetall(key)
            if entries:
                server = key[len(pattern) - 1 :]
                out[server] = {conn: json.loads(meta) for conn, meta in sorted(entries.items())}
        return out

    async def _disconnect(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        for server in list(self.servers):
            if server.bus is self:
                server.detach()
        if self._client is not None:
            with contextlib.suppress(Exception):
                keys = [self._presence_key(s) for s in self.servers]
                if keys:
                    await self._client.delete(*keys)
                await self._pubsub.aclose()
                await self._client.aclose()
        self._client = self._pubsub = None
        self._ctx.session.in_flight = 0  # what was still crossing this bus will not be heard now


# --- a server in another process ----------------------------------------------------------------


class ServerProcess:
    """A small chat server in a separate Python process, linked to a Redis bus; see :func:`spawn_server`.

    The child (``python -m wslab._redis_child``) has its own lab, server and :class:`RedisBus`, and
    prints its port once it serves. :meth:`kill` is a crash (SIGKILL: no cleanup runs, its presence
    expires by itself); :meth:`stop` is a clean shutdown (its ``lab.close()`` deletes its presence).
    """

    def __init__(
        self,
        redis_url: str,
        name: str,
        *,
        presence_ttl: float = 2.0,
        presence_every: float = 0.5,
        prefix: str = "wslab",
        timeout: float = 20.0,
    ) -> None:
        self.name = name
        self._ended: str | None = None  # "killed" or "stopped", once this object ended it
        self.presence_ttl = presence_ttl
        self.presence_every = presence_every
        package_root = str(Path(__file__).resolve().parent.parent)
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
        args = [sys.executable, "-m", "wslab._redis_child", redis_url, name]
        args += ["--ttl", str(presence_ttl), "--every", str(presence_every), "--prefix", prefix]
        self._log = tempfile.TemporaryFile(mode="w+", prefix=f"wslab-{name}-")  # noqa: SIM115
        self.process = subprocess.Popen(
            args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log, text=True, env=env
        )
        _SERVERS.append(self)
        self.port = self._read_port(timeout)

    def _read_port(self, timeout: float) -> int:
        lines: queue.Queue[str] = queue.Queue()
        stdout = self.process.stdout
        assert stdout is not None
        threading.Thread(target=lambda: lines.put(stdout.readline()), daemon=True).start()
        try:
            line = lines.get(timeout=timeout)
        except queue.Empty:
            line = ""
        if not line.strip().isdigit():
            if self.running:
                self.process.kill()
            self.process.wait(10)
            self._log.seek(0)
            why = self._log.read().strip().splitlines()[-1:] or [f"no port within {timeout} s"]
            self._forget()
            raise WslabError(f"server process {self.name!r} did not start: {why[0]}")
        return int(line)

    @property
    def url(self) -> str:
        """``ws://127.0.0.1:PORT/`` (the port varies: don't print it in a lesson)."""
        return f"ws://127.0.0.1:{self.port}/"

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        """Crash the process (SIGKILL): its sockets are cut by the OS, no cleanup of any kind runs."""
        if self.running:
            self.process.kill()
            self._ended = N_("killed")
        self.process.wait(10)
        self._forget()

    def stop(self, timeout: float = 10.0) -> None:
        """Shut the process down cleanly: its lab closes its connections (1001) and its presence."""
        if self.running and self.process.stdin is not None:
            self._ended = N_("stopped")
            with contextlib.suppress(OSError):
                self.process.stdin.close()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self._forget()

    def _forget(self) -> None:
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
        self._log.close()
        if self in _SERVERS:
            _SERVERS.remove(self)

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        if self.running:
            state = _("running")
        elif self._ended == "killed" or (self._ended == "stopped" and self.process.returncode == 0):
            state = _(self._ended)  # the same words on every OS (a SIGKILL's return code is not)
        else:
            state = _("exited {code}").format(code=self.process.returncode)
        return f"<ServerProcess {self.name!r} {state}>"


_SERVERS: list[ServerProcess] = []


def spawn_server(
    redis_url: str, name: str, *, presence_ttl: float = 2.0, presence_every: float = 0.5
) -> ServerProcess:
    """Start a chat server named ``name`` in a new Python process, linked to Redis at ``redis_url``.

    It speaks JSON: ``{"hello": "Alice"}`` sets the connection's ``user`` (answer ``welcome …``),
    ``{"join": "python"}`` joins a room (answer ``… joined …``), ``{"say": "…"}`` broadcasts
    ``"Alice: …"`` to every client of every linked server, ``{"say": "…", "room": "python"}`` to
    that room only. Returns when the server listens.
    """
    return ServerProcess(redis_url, name, presence_ttl=presence_ttl, presence_every=presence_every)


@atexit.register
def _stop_servers() -> None:  # pragma: no cover - interpreter exit
    for server in list(_SERVERS):
        server.kill()


def chat_handler(bus: RedisBus) -> Any:
    """The child's handler: hello, join and say (see :func:`spawn_server`)."""

    async def handle(message: str | bytes, peer: Peer) -> str | None:
        try:
            data = json.loads(message)
        except ValueError:
            return 'error: send JSON, e.g. {"hello": "Alice"}'
        if not isinstance(data, dict):
            return "error: send a JSON object"
        server = peer.server
        user = str(peer.meta.get("user", peer.id))
        if isinstance(data.get("hello"), str):
            peer.meta["user"] = data["hello"]
            await bus.arefresh_presence()  # readers see the name as soon as the answer is out
            return f"welcome {data['hello']}, this is {server.name}"
        if isinstance(data.get("join"), str):
            server.join(peer, data["join"])
            return f"{user} joined {data['join']} on {server.name}"
        if isinstance(data.get("say"), str):
            room = data.get("room")
            await server.abroadcast(f"{user}: {data['say']}", room=room, everywhere=True)
            return None
        return "error: unknown command (hello, join, say)"

    return handle
