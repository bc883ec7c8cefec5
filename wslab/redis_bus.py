"""Servers in several processes acting as one: a Redis pub/sub bus, and Redis as a child process.

One process can only broadcast to its own clients. Once clients are spread over several server
processes, a broadcast has to cross between them, and so does presence (who is online where).
:class:`RedisBus` carries :class:`~wslab.rooms.BusMessage` broadcasts over Redis pub/sub and keeps
each server's presence in a Redis hash that expires unless refreshed, so a server that dies stops
being listed by itself. Each server's registry stays local: only broadcasts and presence are shared.

:func:`start_redis` runs ``redis-server`` (Debian package ``redis-server``) as a child process on
loopback, for lessons and tests; :func:`redis_available` says whether it and redis-py are there.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import importlib.util
import json
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .errors import WslabError, WslabTimeout
from .rooms import BusCallback, BusMessage, Subscribers

if TYPE_CHECKING:
    from .lab import Lab
    from .server import Server

__all__ = ["RedisBus", "RedisProcess", "redis_available", "start_redis"]

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
        return f"<RedisProcess {'running' if self.running else 'stopped'}>"


def start_redis(port: int | None = None) -> RedisProcess:
    """Start ``redis-server`` on loopback and wait until it answers PING."""
    return RedisProcess(port)


@atexit.register
def _stop_children() -> None:  # pragma: no cover - interpreter exit
    for child in list(_CHILDREN):
        child.stop()


class RedisBus(Subscribers):
    """A :class:`~wslab.rooms.Bus` over Redis pub/sub, with presence kept in expiring hashes.

    Make it with ``lab.redis_bus(url, servers)`` (or ``RedisBus(lab, url, servers)``): it connects
    in the lab's loop, subscribes to ``<prefix>:*`` and links the servers. Every process that
    links its servers to the same Redis and prefix shares their broadcasts. Presence is written
    every ``presence_every`` seconds with a time to live of ``presence_ttl``.
    """

    def __init__(
        self,
        lab: Lab,
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
        self._lab = lab
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
        lab._block(self._connect(), None, "redis_bus")
        lab.buses.append(self)
        for server in servers:
            self.attach(server)

    # --- Bus ------------------------------------------------------------------------------------

    async def publish(self, topic: str, message: BusMessage) -> None:
        """Publish on ``<prefix>:<topic>``; every subscribed process gets it, this one included."""
        self.published += 1
        # every bus of this lab on the same prefix will hear it: the lab's steps wait for all of them
        self._lab.in_flight += sum(1 for bus in self._lab.buses if bus.prefix == self.prefix and bus._client)
        await self._client.publish(f"{self.prefix}:{topic}", message.to_json())

    # --- servers and presence ----------------------------------------------------------------

    def attach(self, server: Server) -> None:
        """Link ``server`` (same as ``server.attach(bus)``); its presence is published from now on."""
        server.attach(self)
        if server not in self.servers:
            self.servers.append(server)

    def presence(self) -> dict[str, dict[str, dict[str, Any]]]:
        """Who is online on every server of every process: ``{server: {conn: meta}}``."""
        return self._lab._block(self.apresence(), None, "presence")

    async def apresence(self) -> dict[str, dict[str, dict[str, Any]]]:
        """Async twin of :meth:`presence` (it first publishes this process's own presence)."""
        return await self._lab._on_loop(self._read_presence())

    def close(self) -> None:
        """Stop publishing presence, unsubscribe and disconnect (``lab.close()`` does it too)."""
        if self._client is not None:
            self._lab._block(self.aclose(), None, "close")

    async def aclose(self) -> None:
        """Async twin of :meth:`close`."""
        await self._lab._on_loop(self._disconnect())

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
                if self._lab.in_flight and any(s.name == message.origin for s in self._lab.servers):
                    self._lab.in_flight -= 1
                    self._lab._changed()

    def _presence_key(self, server: Server) -> str:
        return f"{self.prefix}:presence:{server.name}"

    async def _write_presence(self) -> None:
        ttl_ms = int(self.presence_ttl * 1000)
        pipe = self._client.pipeline()
        for server in self.servers:
            key = self._presence_key(server)
            pipe.delete(key)
            if server.serving:
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
        for bus in self._lab.buses:  # this process's own servers are always up to date
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
        self._lab.in_flight = 0  # what was still crossing this bus will not be heard now
