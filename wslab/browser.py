"""The reference article's JavaScript client, run in the notebook's own page and recorded as a third side.

``lab.browser(server)`` makes a widget whose page code runs the article's client unchanged but for
its URL: ``new WebSocket(url)`` and the four listeners ``open``, ``message``, ``close`` and
``error``. The page reports every event to the kernel (widget messages); they are recorded with
``side="browser"`` under the widget's name, with the same connection id as the server's events,
so the table, the diagram and the panel show the page next to the server.

``advice(lab, server, "reconnect")`` runs one of the article's four pieces of advice, written for
a browser (``ADVICE_JS``: reconnect with backoff, an application heartbeat, validating JSON,
``bufferedAmount``), the same way; its ``console`` lines are also recorded as ``note`` events.
A script may open several sockets (a reconnection): each is its own connection, with its own id.

The page talks to the kernel only while the kernel is idle (between cells): :meth:`Browser.send`
and :meth:`Browser.close` ask the page and return at once; the events follow. Without a page (a
headless run such as nbval) nothing connects, and the widget's plain-text form says so.

Where the page is: :func:`page_route` (in wslab/_page_route.py) is the one place that decides how
the page reaches the kernel's server: directly on 127.0.0.1 when the page is on the kernel's
machine, else through the notebook server's proxy (``<base_url>proxy/<port>/``,
jupyter-server-proxy), which the page also falls back to when the direct socket fails.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from websockets.protocol import State

from ._endpoint import Endpoint
from ._page_route import Route, page_route
from .describe import preview
from .events import Event, Kind
from .i18n import _
from .lifecycle import check_close

if TYPE_CHECKING:
    from ._context import Context
    from .eventlog import EventLog
    from .hooks import Hook
    from .server import Server
    from .wire import Wire

__all__ = [
    "ADVICE_JS",
    "ARTICLE_CLIENT_JS",
    "ARTICLE_URL",
    "SEED_CLIENT_JS",
    "SEED_URL",
    "Browser",
    "PageRows",
    "Route",
    "advice",
    "close_when_pages_are_done",
    "page_route",
]

_JS = Path(__file__).with_name("js")

SEED_CLIENT_JS = (_JS / "seed-client.js").read_text(encoding="utf-8")
"""The reference article's JavaScript client, exactly as the article gives it."""

SEED_URL = "'wss://example.com/socket'"
"""The article's placeholder address: the only thing wslab replaces (with the kernel server's URL)."""

ARTICLE_CLIENT_JS = SEED_CLIENT_JS
"""The same client, under the name the lessons use."""

ARTICLE_URL = SEED_URL

ADVICE_JS: dict[str, str] = {
    name: (_JS / f"advice-{name}.js").read_text(encoding="utf-8")
    for name in ("reconnect", "heartbeat", "validate", "backpressure")
}
"""The article's advice for a browser client, one script each (wslab/js/advice-*.js), on ``url``."""

ATTEMPTS = {"reconnect": 5}
"""How many sockets a script may open: its own limit (``MAX_ATTEMPTS``), one connection id each."""

_PARAMS = "url, WebSocket, console, board, setTimeout, clearTimeout, setInterval, clearInterval"


def _module() -> str:
    """The widget's ES module: browser.js with every script, as a function, in place of ``/*SCRIPTS*/``."""
    if SEED_CLIENT_JS.count(SEED_URL) != 1:
        raise RuntimeError("wslab/js/seed-client.js must name the article's URL exactly once")
    scripts = {"article": SEED_CLIENT_JS.replace(SEED_URL, "url"), **ADVICE_JS}
    body = "".join(f"{name}: function ({_PARAMS}) {{\n{code}\n}},\n" for name, code in scripts.items())
    return (_JS / "browser.js").read_text(encoding="utf-8").replace("/*SCRIPTS*/", body)


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
            script = traitlets.Unicode("article").tag(sync=True)
            attempts = traitlets.Int(1).tag(sync=True)

        _WIDGET = BrowserWidget
    return _WIDGET


_WIDGET: type[Any] | None = None


class Browser(Endpoint):
    """A script in the notebook page (the article's client by default), connected to a server of the lab.

    Display it (last line of a cell) to see the page's socket, an input with Send and Close
    buttons, and what happened; ``send`` and ``close`` do the same from Python. ``console`` holds
    the script's ``console.log`` lines as the page reported them. ``script`` names one of
    ``ADVICE_JS`` instead of the article's client; ``attempts`` is how many sockets it may open
    (each gets its own connection id now, ``conns``, so the server's rows and the page's agree).
    """

    side = "browser"

    def __init__(
        self,
        ctx: Context,
        server: Server | Wire,
        name: str,
        *,
        env: Mapping[str, str] | None = None,
        script: str = "article",
        attempts: int | None = None,
        on: dict[Kind, Hook] | None = None,
    ) -> None:
        if script != "article" and script not in ADVICE_JS:
            raise ValueError(f"no script {script!r}: 'article' or one of {sorted(ADVICE_JS)}")
        attempts = ATTEMPTS.get(script, 1) if attempts is None else attempts
        if attempts < 1:
            raise ValueError("a page script opens at least one socket")
        super().__init__(ctx, name, on)
        self.server = server
        self.script = script
        self.conns = [ctx.session.new_conn_id() for _ in range(attempts)]
        self.conn = self.conns[0]
        self.path = f"/{name}"
        self.route = page_route(server, self.path, env)
        self.console: list[str] = []
        self.state = State.CONNECTING
        self.close_code: int | None = None
        self.close_reason: str | None = None
        self.done = False
        """True once the page said its script has nothing left to do (no socket open, no timer)."""
        self._closing_by_page: set[str] = set()
        self._on_done: list[Callable[[], None]] = []
        for n, conn in enumerate(self.conns, start=1):  # the page asks for /name, /name/2, /name/3…
            ctx.session.claim_path(self._path_of(n), conn, name, server.name)
        self._record("connecting", data=self.route.url or self.path, detail="new WebSocket(url) in the page")
        self.widget = _widget_class()(
            key=uuid.uuid4().hex,
            endpoint=name,
            server=server.name,
            route=self.route.to_dict(),
            script=script,
            attempts=attempts,
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
            raise ValueError(_("a page can only close with 1000 or 3000-4999, not {code}").format(code=code))
        self.widget.send({"do": "close", "code": code, "reason": reason})

    def watch(self, *kinds: Kind) -> PageRows:
        """A live view of this page's rows of ``kinds`` on both sides (its connections, page and server).

        Display it: it fills in as the page reports, whether the cells run one by one or all at once.
        """
        return PageRows(self, kinds or ("closing", "close"))

    def dispose(self) -> None:
        """Close the widget: the page closes its socket (1001) and forgets it."""
        self.widget.close()

    def __repr__(self) -> str:
        what = _("the article's client") if self.script == "article" else f"advice-{self.script}.js"
        conns = self.conn if len(self.conns) == 1 else f"{self.conns[0]}…{self.conns[-1]}"
        words = _("{what} runs in the notebook page when this is displayed in JupyterLab ({route})")
        return (
            f"<Browser {self.name!r} {conns} → {self.server.name}: "
            + words.format(what=what, route=self.route.words())
            + ">"
        )

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        shown = self.widget._repr_mimebundle_(**kwargs) or {}
        bundle: dict[str, Any] = dict(shown[0] if isinstance(shown, tuple) else shown)
        bundle["text/plain"] = repr(self)  # the widget's own repr holds a random key: never show it
        return bundle

    # --- what the page reports ------------------------------------------------------------------

    def _path_of(self, n: int) -> str:
        return self.path if n == 1 else f"{self.path}/{n}"

    def _record(self, kind: Kind, conn: str | None = None, **fields: Any) -> Event:
        """What the page reported, through the one record path (hooks on this browser see it)."""
        fields.setdefault("peer", self.server.name)
        return super()._record(kind, conn=conn or self.conn, **fields)

    def _unreachable(self, why: str) -> None:
        if self.state is State.CLOSED:  # said once, whether Python or the page noticed first
            return
        self.state = State.CLOSED
        self.close_code = 1006
        self._record("error", error=f"the page cannot reach {self.server.name}: {why}")
        self._record("close", code=1006, reason="", detail="never opened")
        self._finished()

    def _finished(self) -> None:
        """The page's script has nothing left to do: tell whoever waits (close_when_pages_are_done)."""
        self.done = True
        waiting, self._on_done = self._on_done, []
        for callback in waiting:
            callback()

    def _on_page(self, _widget: object, content: Any, buffers: Sequence[Any] | None) -> None:
        """One page event, as the page reported it: validate the shape, then record it."""
        if not isinstance(content, dict):
            return
        ev = content.get("ev")
        n = _int(content.get("n")) or 1
        if not 1 <= n <= len(self.conns):
            return
        conn = self.conns[n - 1]
        data: str | bytes | None
        if content.get("binary") and buffers:
            data = bytes(buffers[0])
        else:
            text = content.get("text")
            data = text if isinstance(text, str) else None
        size = None if data is None else len(data.encode("utf-8") if isinstance(data, str) else data)
        if content.get("cut") is True and _int(content.get("size")) is not None:
            size = _int(content.get("size"))  # a long text: the page sent its size and first characters
        if ev == "connecting" and n > 1:
            self.state, self.done = State.CONNECTING, False
            self._record("connecting", conn, data=self._path_of(n), detail=f"the page's socket {n}")
        elif ev == "open":
            self.state = State.OPEN
            via = content.get("via")
            route = f" via the {via} route" if via in ("direct", "proxy") else ""
            self._record("open", conn, detail=f"the page's socket is open{route}")
        elif ev == "send" and data is not None:
            self._record("send", conn, data=data, size=size)
        elif ev == "message" and data is not None:
            self._record("message", conn, data=data, size=size)
        elif ev == "closing":
            self._closing_by_page.add(conn)
            self.state = State.CLOSING
            self._record("closing", conn, code=_int(content.get("code")), reason=_str(content.get("reason")))
        elif ev == "close":
            code, reason = _int(content.get("code")), _str(content.get("reason"))
            clean = content.get("wasClean") is True
            by_page = conn in self._closing_by_page or content.get("byPage") is True
            initiator = self.name if by_page else (self.server.name if clean else None)
            self.state, self.close_code, self.close_reason = State.CLOSED, code, reason
            self._record(
                "close",
                conn,
                code=code,
                reason=reason,
                initiator=initiator,
                detail=None if clean else "wasClean false: no closing handshake",
            )
        elif ev == "idle":
            self._finished()
        elif ev == "error":
            before = content.get("beforeOpen") is True
            words = (
                "the page could not open the connection (a browser gives no reason; the close "
                "event follows). Is JupyterLab on another machine than this browser?"
                if before
                else "the page's WebSocket fired 'error' (a browser gives no reason; the close event follows)"
            )
            self._record("error", conn, error=words)
        elif ev == "unreachable":
            self._unreachable(_str(content.get("error")) or "no route")
        elif ev == "console":
            line = _str(content.get("line"))
            self.console.append(line)
            if self.script != "article":  # the advice's own words ("Reconnexion dans 500 ms"): in the table
                level = "error" if content.get("level") == "error" else "log"
                self._record("note", conn, detail=f"console.{level}: {line}")
        elif ev == "refused":
            why = _str(content.get("why"))
            words = why or f"not sent, the socket is not open: {preview(_str(content.get('text')))}"
            self._record("note", conn, detail=words)


def _words(items: Sequence[str]) -> str:
    if len(items) == 1:
        return items[0]
    return _("{first} and {last}").format(first=", ".join(items[:-1]), last=items[-1])


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _str(value: object) -> str:
    return value if isinstance(value, str) else ""


class PageLab(Protocol):
    """What the page helpers need of a lab (``wslab.Lab``), seen from below it."""

    name: str
    browsers: list[Browser]

    def browser(self, server: Any, *, name: str | None = None, script: str = ...) -> Browser: ...
    def close(self) -> None: ...


def advice(lab: PageLab, server: Server, script: str, *, name: str | None = None) -> Browser:
    """``lab.browser(server, script=script)``: one of the article's pieces of advice in the page."""
    if script not in ADVICE_JS:
        raise ValueError(f"no advice {script!r}: one of {sorted(ADVICE_JS)}")
    return lab.browser(server, name=name, script=script)


class ClosingLater:
    """A lab that closes once every page script is done, or after ``timeout`` seconds at the latest.

    Why: a page runs beside the kernel and reports only while the kernel is idle, so a last cell
    ``lab.close()`` run by "Run All" would stop the servers before the page has even connected.
    """

    def __init__(self, lab: PageLab, timeout: float) -> None:
        self.lab = lab
        self.timeout = timeout
        self._lock = threading.Lock()
        self._fired = False
        self._timer = threading.Timer(timeout, self._close)
        self._timer.daemon = True
        self._pages = list(lab.browsers)
        for browser in self._pages:
            if not browser.done:
                browser._on_done.append(self._maybe_close)
        self._timer.start()
        self._maybe_close()

    def _maybe_close(self) -> None:
        if all(browser.done for browser in self._pages):
            self._close()

    def _close(self) -> None:
        with self._lock:
            if self._fired:
                return
            self._fired = True
        self._timer.cancel()
        self.lab.close()

    def cancel(self) -> None:
        """Keep the lab open after all (close it yourself later)."""
        with self._lock:
            self._fired = True
        self._timer.cancel()

    def __repr__(self) -> str:
        pages = len(self._pages)
        words = _(
            "closes once the script of each of its {pages} page widget(s) is done, "
            "or in {seconds} s at the latest"
        )
        return f"<lab {self.lab.name!r}: " + words.format(pages=pages, seconds=f"{self.timeout:g}") + ">"


def close_when_pages_are_done(lab: PageLab, timeout: float = 60.0) -> ClosingLater:
    """Close ``lab`` once every page script in it is done (see :class:`ClosingLater`); returns at once."""
    return ClosingLater(lab, timeout)


class PageRows:
    """Live rows of a page's connections, both sides, for some event kinds (``Browser.watch``).

    Why: the page reports only while the kernel is idle, so a cell that prints the rows right after
    asking the page for something shows nothing yet; this view fills in when the reports arrive.
    Its plain-text form (what a test run stores) says so, and shows the rows there were when shown.
    """

    def __init__(self, browser: Browser, kinds: Sequence[Kind]) -> None:
        import ipywidgets  # type: ignore[import-untyped]

        self.browser = browser
        self.kinds = tuple(kinds)
        self.widget = ipywidgets.HTML()
        self._later: threading.Timer | None = None
        self._refresh()
        self._unsubscribe = browser._ctx.recorder.subscribe(self._poke)

    def rows(self) -> EventLog:
        """The matching rows recorded so far."""
        return self.browser._ctx.recorder.snapshot().filter(kind=self.kinds, conn=self.browser.conns)

    def _poke(self, event: Any) -> None:
        if event.kind in self.kinds and event.conn in self.browser.conns and self._later is None:
            self._later = threading.Timer(0.05, self._refresh)  # never render inside the recorder's call
            self._later.daemon = True
            self._later.start()

    def _refresh(self) -> None:
        self._later = None
        self.widget.value = self.rows()._repr_html_()

    def close(self) -> None:
        """Stop following the recorder."""
        self._unsubscribe()
        self.widget.close()

    def __repr__(self) -> str:
        rows = self.rows()
        conns = ", ".join(self.browser.conns)
        head = _(
            "live: the {kinds} rows of {conns} (page and server); the page's arrive while the kernel is idle"
        ).format(kinds=_words(self.kinds), conns=conns)
        return head + "\n" + (rows.to_text() if len(rows) else _("(none yet)"))

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        shown = self.widget._repr_mimebundle_(**kwargs) or {}
        bundle: dict[str, Any] = dict(shown[0] if isinstance(shown, tuple) else shown)
        bundle["text/plain"] = repr(self)
        return bundle
