"""The seed's JavaScript client, run in the notebook's own page and recorded as a third side.

``lab.browser(server)`` makes a widget whose page code runs the seed's client unchanged but for
its URL: ``new WebSocket(url)`` and the four listeners ``open``, ``message``, ``close`` and
``error``. The page reports every event to the kernel (widget messages); they are recorded with
``side="browser"`` under the widget's name, with the same connection id as the server's events,
so the table, the diagram and the panel show the page next to the server.

The page talks to the kernel only while the kernel is idle (between cells): :meth:`Browser.send`
and :meth:`Browser.close` ask the page and return at once; the events follow. Without a page (a
headless run such as nbval) nothing connects, and the widget's plain-text form says so.

Where the page is: :func:`page_route` is the one place that decides how the page reaches the
kernel's server: directly on 127.0.0.1 when the page is on the kernel's machine, else through the
notebook server's proxy (``<base_url>proxy/<port>/``, jupyter-server-proxy), which the page also
falls back to when the direct socket fails.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from .describe import preview
from .events import Kind
from .lifecycle import check_close

if TYPE_CHECKING:
    from .lab import Lab
    from .server import Server

__all__ = ["SEED_CLIENT_JS", "SEED_URL", "Browser", "Route", "page_route"]

_JS = Path(__file__).with_name("js")

SEED_CLIENT_JS = (_JS / "seed-client.js").read_text(encoding="utf-8")
"""The seed's JavaScript client, exactly as the seed document gives it."""

SEED_URL = "'wss://example.com/socket'"
"""The seed's placeholder address: the only thing wslab replaces (with the kernel server's URL)."""


def _module() -> str:
    """The widget's ES module: browser.js with the seed's code in place of ``/*SEED*/``."""
    if SEED_CLIENT_JS.count(SEED_URL) != 1:
        raise RuntimeError("wslab/js/seed-client.js must name the seed's URL exactly once")
    seed = SEED_CLIENT_JS.replace(SEED_URL, "url")
    return (_JS / "browser.js").read_text(encoding="utf-8").replace("/*SEED*/", seed)


@dataclass(frozen=True)
class Route:
    """How the page reaches a server in the kernel.

    ``kind`` is ``"direct"`` (``url`` on 127.0.0.1, for a page on the kernel's machine),
    ``"proxy"`` (through jupyter-server-proxy: ``proxy`` is the address under the notebook server's
    base URL, ``<base>proxy/<port>/<path>``) or ``"none"`` (``why`` says what is missing). A direct
    route also carries its ``proxy``: the page takes it when it is not on loopback, when a hub
    serves it, or when the direct socket fails. ``base`` is the base URL the kernel knows (from
    ``JUPYTERHUB_SERVICE_PREFIX``); the page prefers its own (``#jupyter-config-data``).
    """

    kind: Literal["direct", "proxy", "none"]
    url: str = ""
    path: str = ""
    why: str = ""
    proxy: str = ""
    base: str = ""

    def to_dict(self) -> dict[str, str]:
        return {
            "kind": self.kind,
            "url": self.url,
            "path": self.path,
            "why": self.why,
            "proxy": self.proxy,
            "base": self.base,
        }

    def words(self) -> str:
        """The route without its port, for text a lesson shows."""
        if self.kind == "direct":
            return f"direct: the page opens ws://127.0.0.1:<port>{self.path}"
        if self.kind == "proxy":
            return f"proxy: the page opens <notebook server>{self.base or '/'}proxy/<port>{self.path}"
        return f"none: {self.why}"


def page_route(server: Server, path: str, env: Mapping[str, str] | None = None) -> Route:
    """The route from the notebook page to ``server``, for a connection on ``path``.

    The one place in Python that decides it (the page may still switch a direct route to its proxy,
    see ``pageTargets`` in wslab/js/browser.js). Under JupyterHub (``JUPYTERHUB_SERVICE_PREFIX`` is
    set) the page comes from the hub's host, not the kernel's machine: loopback is out of reach, so
    the route goes through the notebook server's proxy. The address is derived, never typed.
    """
    env = os.environ if env is None else env
    if not path.startswith("/"):
        raise ValueError(f"a page path starts with '/': {path!r}")
    proxy = f"proxy/{server.port}{path}"
    prefix = env.get("JUPYTERHUB_SERVICE_PREFIX", "").strip("/")
    if prefix:
        return Route("proxy", path=path, proxy=proxy, base=f"/{prefix}/")
    host = server.host if ":" not in server.host else f"[{server.host}]"
    return Route("direct", url=f"ws://{host}:{server.port}{path}", path=path, proxy=proxy)


def _widget_class() -> type[Any]:
    """The anywidget class, made on first use so ``import wslab`` never needs anywidget."""
    global _WIDGET
    if _WIDGET is None:
        import anywidget
        import traitlets

        class BrowserWidget(anywidget.AnyWidget):
            _esm = _module()
            key = traitlets.Unicode("").tag(sync=True)
            endpoint = traitlets.Unicode("browser").tag(sync=True)
            server = traitlets.Unicode("server").tag(sync=True)
            route = traitlets.Dict().tag(sync=True)
            draft = traitlets.Unicode("Bonjour serveur!").tag(sync=True)

        _WIDGET = BrowserWidget
    return _WIDGET


_WIDGET: type[Any] | None = None


class Browser:
    """The seed's client in the notebook page, connected to a server of the lab.

    Display it (last line of a cell) to see the page's socket, an input with Send and Close
    buttons, and what happened; ``send`` and ``close`` do the same from Python. ``console`` holds
    the seed's ``console.log`` lines as the page reported them.
    """

    side = "browser"

    def __init__(self, lab: Lab, server: Server, name: str, *, env: Mapping[str, str] | None = None) -> None:
        self._lab = lab
        self.server = server
        self.name = name
        self.conn = lab._new_conn_id()
        self.path = f"/{name}"
        self.route = page_route(server, self.path, env)
        self.console: list[str] = []
        self.state = "connecting"
        self.close_code: int | None = None
        self.close_reason: str | None = None
        self._closing_by_page = False
        lab._claim_path(self.path, self.conn, name, server.name)
        self._record("connecting", data=self.route.url or self.path, detail="new WebSocket(url) in the page")
        self.widget = _widget_class()(
            key=uuid.uuid4().hex,
            endpoint=name,
            server=server.name,
            route=self.route.to_dict(),
        )
        self.widget.on_msg(self._on_page)
        if self.route.kind == "none":  # say it in the table too, not only in the page
            self._unreachable(self.route.why)

    # --- what learners call ---------------------------------------------------------------------

    def send(self, text: str) -> None:
        """Ask the page to send ``text`` (``socket.send``); returns at once, the page reports later."""
        if not isinstance(text, str):
            raise TypeError("the page sends text here: pass a str")
        self.widget.send({"do": "send", "text": text})

    def close(self, code: int = 1000, reason: str = "") -> None:
        """Ask the page to close its socket (``socket.close(code, reason)``); returns at once.

        A browser only lets a page send 1000 or 3000-4999 (the rest are the protocol's own).
        """
        check_close(code, reason)
        if code != 1000 and not 3000 <= code <= 4999:
            raise ValueError(f"a page can only close with 1000 or 3000-4999, not {code}")
        self.widget.send({"do": "close", "code": code, "reason": reason})

    def dispose(self) -> None:
        """Close the widget: the page closes its socket (1001) and forgets it."""
        self.widget.close()

    def __repr__(self) -> str:
        return (
            f"<Browser {self.name!r} {self.conn} → {self.server.name}: the seed's client runs in the "
            f"notebook page when this is displayed in JupyterLab ({self.route.words()})>"
        )

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        shown = self.widget._repr_mimebundle_(**kwargs) or {}
        bundle: dict[str, Any] = dict(shown[0] if isinstance(shown, tuple) else shown)
        bundle["text/plain"] = repr(self)  # the widget's own repr holds a random key: never show it
        return bundle

    # --- what the page reports ------------------------------------------------------------------

    def _record(self, kind: Kind, **fields: Any) -> None:
        self._lab.recorder.record(
            side="browser", kind=kind, endpoint=self.name, conn=self.conn, peer=self.server.name, **fields
        )

    def _unreachable(self, why: str) -> None:
        if self.state == "closed":  # said once, whether Python or the page noticed first
            return
        self.state = "closed"
        self.close_code = 1006
        self._record("error", error=f"the page cannot reach {self.server.name}: {why}")
        self._record("close", code=1006, reason="", detail="never opened")

    def _on_page(self, _widget: object, content: Any, buffers: Sequence[Any] | None) -> None:
        """One page event, as the page reported it: validate the shape, then record it."""
        if not isinstance(content, dict):
            return
        ev = content.get("ev")
        data: str | bytes | None
        if content.get("binary") and buffers:
            data = bytes(buffers[0])
        else:
            text = content.get("text")
            data = text if isinstance(text, str) else None
        size = None if data is None else len(data.encode("utf-8") if isinstance(data, str) else data)
        if ev == "open":
            self.state = "open"
            via = content.get("via")
            route = f" via the {via} route" if via in ("direct", "proxy") else ""
            self._record("open", detail=f"the page's socket is open{route}")
        elif ev == "send" and data is not None:
            self._record("send", data=data, size=size)
        elif ev == "message" and data is not None:
            self._record("message", data=data, size=size)
        elif ev == "closing":
            self._closing_by_page = True
            self.state = "closing"
            self._record("closing", code=_int(content.get("code")), reason=_str(content.get("reason")))
        elif ev == "close":
            code, reason = _int(content.get("code")), _str(content.get("reason"))
            clean = content.get("wasClean") is True
            by_page = self._closing_by_page or content.get("byPage") is True
            initiator = self.name if by_page else (self.server.name if clean else None)
            self.state, self.close_code, self.close_reason = "closed", code, reason
            self._record(
                "close",
                code=code,
                reason=reason,
                initiator=initiator,
                detail=None if clean else "wasClean false: no closing handshake",
            )
        elif ev == "error":
            before = content.get("beforeOpen") is True
            words = (
                "the page could not open the connection (a browser gives no reason; the close "
                "event follows). Is JupyterLab on another machine than this browser?"
                if before
                else "the page's WebSocket fired 'error' (a browser gives no reason; the close event follows)"
            )
            self._record("error", error=words)
        elif ev == "unreachable":
            self._unreachable(_str(content.get("error")) or "no route")
        elif ev == "console":  # kept beside the table, not in it: the events already say it
            self.console.append(_str(content.get("line")))
        elif ev == "refused":
            self._record(
                "note", detail=f"not sent, the socket is not open: {preview(_str(content.get('text')))}"
            )


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _str(value: object) -> str:
    return value if isinstance(value, str) else ""
