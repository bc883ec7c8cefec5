"""What a lab holds right now: its open sockets, its asyncio tasks and its threads.

Every connection owns a socket, every server a listening socket, and the lab runs its loop in a
thread; a lab that leaks any of them slowly exhausts its process. :func:`measure` counts them the
same way on Linux, macOS and Windows: sockets through :mod:`psutil` (the TCP sockets this process
has open on a port the lab listens on or connects to), tasks on the lab's own loop, and the lab's
loop thread. After ``lab.close()`` every count is zero.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

import psutil  # type: ignore[import-untyped,unused-ignore]

from ._loop import LoopThread
from .errors import WslabError
from .i18n import ngettext

__all__ = ["Resources", "lab_ports", "measure", "process_sockets"]


@dataclass(frozen=True, slots=True)
class Resources:
    """Counts of what a lab holds open; ``lab.resources()`` measures them.

    ``sockets``: TCP sockets of this process on one of the lab's ports (listening sockets, both
    ends of a connection between the lab's own client and server, links to Redis);
    ``tasks``: asyncio tasks not yet done on the lab's loop; ``threads``: the lab's loop thread
    (1 while the lab is open, 0 after it is closed).
    """

    sockets: int
    tasks: int
    threads: int

    @property
    def released(self) -> bool:
        """True when nothing is held: no socket, no task, no thread."""
        return self.sockets == 0 and self.tasks == 0 and self.threads == 0

    def __repr__(self) -> str:
        sockets = ngettext("{n} open socket", "{n} open sockets", self.sockets).format(n=self.sockets)
        tasks = ngettext("{n} task", "{n} tasks", self.tasks).format(n=self.tasks)
        threads = ngettext("{n} thread", "{n} threads", self.threads).format(n=self.threads)
        return f"<Resources: {sockets}, {tasks}, {threads}>"


def _port_of(url: str) -> int | None:
    try:
        parts = urlsplit(url)
        if parts.port is not None:
            return parts.port
    except ValueError:
        return None
    return {"ws": 80, "http": 80, "wss": 443, "https": 443, "redis": 6379}.get(parts.scheme)


class HasPorts(Protocol):
    """What :func:`lab_ports` reads of a lab (the lab itself, seen from below it)."""

    @property
    def servers(self) -> Sequence[Any]: ...
    @property
    def wires(self) -> Sequence[Any]: ...
    @property
    def clients(self) -> Sequence[Any]: ...
    @property
    def buses(self) -> Sequence[Any]: ...


def lab_ports(lab: HasPorts) -> set[int]:
    """Every TCP port the lab listens on or connects to (ports stay known after a close)."""
    ports: set[int] = set()
    ports.update(server.port for server in lab.servers if server.port)
    ports.update(wire.port for wire in lab.wires if wire.port)
    for client in lab.clients:
        ports.update(p for url, _ in client.targets if (p := _port_of(url)) is not None)
    for bus in lab.buses:
        if (port := _port_of(bus.url)) is not None:
            ports.add(port)
    return ports


def process_sockets(ports: Iterable[int]) -> int:
    """How many TCP sockets of this process have ``ports`` at either end (any OS, via psutil)."""
    wanted = set(ports)
    if not wanted:
        return 0
    count = 0
    for conn in _tcp_sockets():
        local = conn.laddr.port if conn.laddr else None
        remote = conn.raddr.port if conn.raddr else None
        if local in wanted or remote in wanted:
            count += 1
    return count


def _tcp_sockets(attempts: int = 3) -> list[Any]:
    """This process's TCP sockets; a socket closing during the scan can fail it (psutil #1512 on macOS)."""
    for attempt in range(attempts):
        try:
            return list(psutil.Process().net_connections(kind="tcp"))
        except (OSError, psutil.Error) as exc:
            if attempt == attempts - 1:
                raise WslabError(f"could not list this process's sockets: {exc}") from exc
    return []


async def _pending_tasks() -> int:
    me = asyncio.current_task()
    return sum(1 for task in asyncio.all_tasks() if task is not me and not task.done())


def measure(lab: HasPorts, loop: LoopThread, *, closed: bool, timeout: float) -> Resources:
    """Count the sockets, tasks and threads a lab holds now, its loop being ``loop``."""
    alive = not closed and loop.alive
    tasks = loop.run(_pending_tasks(), timeout, "resources") if alive else 0
    thread = getattr(loop, "_thread", None)
    threads = 1 if isinstance(thread, threading.Thread) and thread.is_alive() else 0
    return Resources(sockets=process_sockets(lab_ports(lab)), tasks=tasks, threads=threads)
