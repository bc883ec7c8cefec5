"""The wire's public face: :class:`Wire`, a relay between clients and a server that shows every frame.

``lab.wire(server)`` puts one in front of a server of the lab; ``lab.wire("wss://example.org/chat")``
in front of any WebSocket server (``wss://`` certificates are verified unless ``verify=False``, or
pass ``ssl=`` a context of your own). It listens on ``wire.url`` (loopback unless ``host=``): point
a client, a page or your own app there; the wire opens the upstream connection, forwards the
handshake as it came (Origin, cookies, subprotocols, extensions; only ``Host`` is set to the
upstream's for a URL) and passes the bytes on. On the way it parses both directions with the
sans-I/O parser of ``websockets`` and records each frame as a ``frame`` event with
``side="wire"``. In pass-through mode the original bytes go on unchanged; after ``wire.hold()``
every frame waits on the wire until you decide its fate: deliver, drop, edit, delay, corrupt,
inject a new one, or cut the TCP connections. Under permessage-deflate this stays safe: see
:mod:`wslab.wire.frames` for how the wire keeps the receiver's inflate state right.

Like the server, it drops a handshake that does not complete within ``open_timeout`` and answers
an oversized request with 414 or 431 itself (recorded as ``error``, and ``reject`` with the status).

Frame events carry: ``endpoint`` (the wire's name), ``conn`` (the same id as on both ends),
``peer`` (the name of the end the frame goes to), ``frame`` (a :class:`~wslab.events.FrameInfo`
whose ``direction`` is ``client→server`` or ``server→client``), ``data`` (the payload as the peer
sees it: unmasked, decompressed, text when it is valid UTF-8), ``size`` (that payload's length),
``code``/``reason`` for close frames, and ``detail``: ``None`` when passed through, else
``held``, ``edited``, ``injected``, ``corrupted (…)``, ``re-compressed …`` or ``unparsed: …``.
The handshake is two ``note`` events (``data`` = the raw bytes with credentials masked,
``headers``); every step action is a ``note`` whose ``detail`` starts with its verb (``deliver``,
``drop``, ``edit``, ``inject``, ``delay``, ``corrupt``, ``cut``, ``hold``, ``release``) and whose
``frame`` is the held frame it acted on.
"""

from __future__ import annotations

import asyncio
import ssl
from typing import TYPE_CHECKING

from .._redact import redact_http
from ..errors import WslabError
from ..events import Event
from ..i18n import _
from .frames import Corruption, stable_lines
from .opening import Opening, Upstream
from .relay import Link
from .state import HeldFrame

if TYPE_CHECKING:
    from .._context import Context
    from ..server import Server

__all__ = ["Corruption", "HeldFrame", "Wire"]


class Wire(Opening):
    """A relay in front of a server that records every frame and can hold them; see the module doc."""

    side = "wire"

    def __init__(
        self,
        ctx: Context,
        name: str,
        target: Server | str,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        verify: bool = True,
        ssl: ssl.SSLContext | None = None,
        open_timeout: float | None = None,
    ) -> None:
        super().__init__(ctx, name)
        self.upstream = Upstream.of(target, verify=verify, context=ssl)
        self.server = self.upstream.server
        """The lab's server behind the wire, or None when it fronts a URL (see ``upstream``)."""
        self.host = host
        self.port = port
        if open_timeout is None and self.server is not None:
            open_timeout = self.server.open_timeout  # refuse a slow handshake when the server would
        self.open_timeout = ctx.limits.timeout if open_timeout is None else open_timeout
        self.links: list[Link] = []
        self._held: list[HeldFrame] = []
        self._holding = False
        self._hold_roles: frozenset[str] | None = None
        self._hold_opcodes: frozenset[str] | None = None
        self._listener: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def url(self) -> str:
        """``ws://127.0.0.1:PORT/…``: where clients connect (the port varies: don't print it).

        Its path is the upstream URL's; the path a client asks for goes upstream unchanged.
        """
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"ws://{host}:{self.port}{self.upstream.path}"

    @property
    def frames(self) -> list[Event]:
        """Every frame event this wire recorded (the recorder's ring buffer may have dropped old ones)."""
        return [
            e
            for e in self._ctx.recorder.snapshot()
            if e.side == "wire" and e.endpoint == self.name and e.kind == "frame"
        ]

    def table(self) -> list[dict[str, object]]:
        """The relay's state, one row per direction of each open connection (for a curious look)."""
        return [row for link in self.links if not link.closed for row in link.table()]

    def handshake(self, conn: str | None = None) -> str:
        """The opening handshake as it crossed the wire, with values that vary per run shown as ``…``."""
        links = [k for k in self.links if k.request and (conn is None or k.conn == conn)]
        if not links:
            if conn:
                raise WslabError(
                    _("no connection went through this wire with id {conn}").format(conn=repr(conn))
                )
            raise WslabError(_("no connection went through this wire"))
        link = links[-1] if conn is None else links[0]
        parts = []
        for arrow, raw, what in (
            (f"{link.client}→{link.server}", link.request, _("request")),
            (f"{link.server}→{link.client}", link.response, _("response")),
        ):
            parts.append(f"--- {arrow} ({what})")
            parts.extend(stable_lines(redact_http(raw)))  # a cookie or a token never shows
        return "\n".join(parts)

    def __repr__(self) -> str:
        mode = _("holding") if self._holding else _("pass-through")
        counts = _("{held} held, {links} links").format(held=len(self._held), links=len(self.links))
        return f"<Wire {self.name!r} → {self.upstream.name!r}, {mode}, {counts}>"
