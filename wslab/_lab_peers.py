"""The lab's peers outside its own servers and clients: Redis buses, Node processes, page scripts.

A mixin of :class:`~wslab.lab.Lab`: peers are added one way, through the lab, which hands each
the context and keeps it in a list that ``lab.close()`` walks.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from ._bridge import twin
from .errors import WslabError
from .i18n import _

if TYPE_CHECKING:
    from ._bridge import Bridge
    from ._context import Context
    from .browser import Browser, ClosingLater
    from .events import Kind
    from .hooks import Hook
    from .node import NodeProcess, NodeServer
    from .redis_bus import RedisBus
    from .server import Server
    from .wire import Wire

__all__ = ["LabPeers"]


class LabPeers:
    """``lab.redis_bus()``, ``lab.node_server()``, ``lab.node_client()``, ``lab.browser()``."""

    if TYPE_CHECKING:  # provided by Lab
        name: str
        context: Context
        servers: list[Server]
        wires: list[Wire]
        browsers: list[Browser]
        nodes: list[NodeProcess]

        @property
        def bridge(self) -> Bridge: ...
        def _unique(self, wanted: str | None, base: str, taken: list[str]) -> str: ...
        def close(self) -> None: ...

    async def aredis_bus(
        self,
        url: str,
        servers: Sequence[Server] = (),
        *,
        name: str = "redis",
        prefix: str = "wslab",
        presence_every: float = 0.5,
        presence_ttl: float = 2.0,
        timeout: float | None = None,
    ) -> RedisBus:
        """Link ``servers`` to a Redis pub/sub bus at ``url``: broadcasts and presence cross processes.

        See :mod:`wslab.redis_bus` (``start_redis()`` runs a local ``redis-server`` for lessons).
        """
        from .redis_bus import RedisBus

        bus = RedisBus(
            self.context,
            url,
            servers,
            name=name,
            prefix=prefix,
            presence_every=presence_every,
            presence_ttl=presence_ttl,
        )
        await self.context.bridge.run(bus._open(), timeout, "redis_bus")
        return bus

    redis_bus = twin(aredis_bus)

    def node_server(
        self, *, name: str = "node", script: str = "article", record_console: bool = False
    ) -> NodeServer:
        """Run a Node ``ws`` server (the article's by default; :mod:`wslab.node`); returns once it listens.

        ``lab.connect(node)`` connects a wslab client to it; ``node.record()`` puts what Node
        reported in the table. Needs ``node`` and ``npm ci`` (``NodeMissing`` says what is missing).
        """
        from .node import new_server

        node = new_server(self.context, name, script=script, record_console=record_console)
        self.nodes.append(node)
        return node

    def node_client(self, server: Server, *, name: str = "node", record_console: bool = False) -> NodeProcess:
        """Run the article's client under Node against ``server`` (see :mod:`wslab.node`)."""
        from .node import new_client

        if server not in self.servers:
            raise WslabError(_("{name} is not a server of this lab").format(name=server.name))
        node = new_client(self.context, server, name, record_console=record_console)
        self.nodes.append(node)
        return node

    def browser(
        self,
        server: Server | Wire,
        *,
        name: str | None = None,
        script: str = "article",
        attempts: int | None = None,
        on: dict[Kind, Hook] | None = None,
    ) -> Browser:
        """The article's JavaScript client in the notebook page, connected to ``server``: display it.

        ``server`` is a server of this lab, or a wire in front of one (or of any server): the page
        then goes through the wire. ``script`` runs one of the article's pieces of advice instead
        (``wslab.browser.ADVICE_JS``). Its page events are recorded with ``side="browser"`` and go
        through hooks like any other (``on=``); see :mod:`wslab.browser`.
        """
        from .browser import Browser

        if server not in self.servers and server not in self.wires:
            raise WslabError(_("{name} is not a server or a wire of this lab").format(name=server.name))
        base = "browser" if script == "article" else script
        browser = Browser(
            self.context,
            server,
            self._unique(name, base, [b.name for b in self.browsers]),
            script=script,
            attempts=attempts,
            on=on,
        )
        self.browsers.append(browser)
        return browser

    def close_when_pages_are_done(self, timeout: float = 60.0) -> ClosingLater:
        """Close the lab once every page script is done, or after ``timeout`` s (the last cell of a lesson).

        A page runs beside the kernel and reports only while the kernel is idle, so a plain
        ``lab.close()`` under "Run All" would stop the servers before the page even connected.
        """
        from .browser import ClosingLater

        return ClosingLater(self, timeout)
