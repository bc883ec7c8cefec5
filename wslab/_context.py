"""What an endpoint gets from the lab that made it: a small context, never the lab itself.

Servers, clients, wires, buses and peers record through the recorder, run on the lab's loop
through the bridge, and keep their pairing and in-flight counts in the session. The lab builds
one context and hands it down, so imports go one way: nothing below ``wslab.lab`` imports it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from ._bridge import Bridge, Limits
from ._session import Session
from .recorder import Recorder

__all__ = ["Connector", "Context"]


class Connector(Protocol):
    """Makes clients (``wslab.client.Client``): what a pool needs to connect one to the server it picked."""

    def connect(self, target: Any, **options: Any) -> Any: ...

    async def aconnect(self, target: Any, **options: Any) -> Any: ...


@dataclass(frozen=True, slots=True)
class Context:
    """The recorder, the loop bridge, the session bookkeeping and the time limits of one lab."""

    recorder: Recorder
    bridge: Bridge
    session: Session
    limits: Limits
    connector: Connector
    cleanups: list[Callable[[], None]] = field(default_factory=list)
    """Run by ``lab.close()``, newest first: e.g. stopping a child process."""

    @property
    def timeout(self) -> float:
        return self.limits.timeout

    @property
    def settle_timeout(self) -> float:
        return self.limits.settle
