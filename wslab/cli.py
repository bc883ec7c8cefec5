"""``wslab`` in a terminal: serve, connect, proxy, show. Every lifecycle event printed as it happens.

``wslab serve`` runs the classic example's server (welcome, then ``Serveur a reçu : …``);
``wslab connect URL`` is an interactive client like wscat (each line typed is sent);
``wslab proxy LISTEN URL`` puts the wire in front of any server, with a live table and hold /
deliver / drop / edit commands; ``wslab show FILE`` renders a recorded session (JSON lines or a
DevTools HAR) as a table, mermaid or SVG. ``--record FILE.jsonl`` saves the session, read back
by ``wslab.load``. Ctrl-C (SIGINT, or SIGTERM) closes every connection with 1001 "going away" and
writes the record. On Windows, Ctrl-C in the console is the same; a parent process can only send
``CTRL_BREAK_EVENT`` to a process group, which Python's default handler does not turn into a
clean stop, so there stop it by closing its stdin (``connect``) or with Ctrl-C.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import queue
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .describe import describe
from .errors import WslabError
from .eventlog import KIND_COLOURS, KIND_ICONS, EventLog, format_time
from .events import Event

if TYPE_CHECKING:
    from rich.console import Console, RenderableType

    from .lab import Lab

__all__ = ["MEANINGS", "main", "meaning"]

MEANINGS: dict[str, str] = {
    "connecting": "a connection attempt starts (new WebSocket(url))",
    "upgrade": "the server received the HTTP Upgrade request",
    "accept": "the server answered 101 Switching Protocols",
    "reject": "the server refused the handshake with an HTTP status",
    "connection": "a client is connected (ws: 'connection')",
    "open": "the handshake is done: messages can flow (browser: 'open')",
    "send": "a message was sent",
    "message": "a message arrived ('message')",
    "ping": "a ping frame (are you there?)",
    "pong": "a pong frame (the answer to a ping)",
    "closing": "this side starts the closing handshake",
    "close": "the connection is closed ('close')",
    "error": "this end failed the connection ('error')",
    "reconnecting": "waiting before another attempt",
    "frame": "one frame crossed the wire",
    "note": "",
}
"""What each event kind means, in the words a terminal shows after the row."""

LIMIT = 200
"""How much of a payload a terminal row shows (a notebook shows 40)."""


def meaning(event: Event) -> str:
    """What the event means (a close code is explained in the details): an HTTP status, or the kind."""
    if event.kind == "reject" and event.code is not None:
        return f"HTTP {event.code}: the handshake was refused"
    return MEANINGS.get(event.kind, "")


def _console(stream: Any = None) -> Console:
    from rich.console import Console

    stream = stream or sys.stdout
    width = None if stream.isatty() else int(os.environ.get("COLUMNS", "160"))  # a pipe or a file: roomy
    return Console(file=stream, width=width, highlight=False, soft_wrap=True, emoji=False)


def _line(event: Event, unit: str) -> Any:
    """One event as a coloured line: never parsed as markup, so a payload cannot style the terminal."""
    from rich.text import Text

    colour = KIND_COLOURS.get(event.kind, "default")
    text = Text()
    text.append(f"{format_time(event.time, unit):>12}  ", style="dim")
    text.append(f"{event.conn or '-':<4} {event.endpoint:<10} ")
    text.append(f"{KIND_ICONS.get(event.kind, ' ')} {event.kind:<10}", style=f"bold {colour}")
    text.append(f" {describe(event, LIMIT)}")
    words = meaning(event)
    if words:
        text.append(f"  — {words}", style="dim")
    return text


def table(log: EventLog, title: str | None = None, limit: int = LIMIT) -> Any:
    """The event log as a rich Table: seq, time, conn, who, event, code, details, meaning."""
    from rich.table import Table
    from rich.text import Text

    out = Table(title=title, show_lines=False, header_style="bold")
    for name in ("seq", "time", "conn", "side", "who", "event", "code", "details", "meaning"):
        free = name in ("details", "meaning")
        out.add_column(name, overflow="fold", no_wrap=not free, min_width=24 if name == "details" else None)
    for event, cells in zip(log, log.rows(limit), strict=False):
        colour = KIND_COLOURS.get(event.kind, "default")
        code = "" if event.code is None else str(event.code)
        out.add_row(
            *(Text(c) for c in cells[:5]),
            Text(cells[5], style=f"bold {colour}"),
            Text(code),
            Text(cells[6]),
            Text(meaning(event), style="dim"),
        )
    return out


class _Session:
    """A lab, its events streamed to the terminal, stdin read in a thread, the record written at the end."""

    def __init__(self, args: argparse.Namespace, console: Console) -> None:
        from .lab import Lab

        self.args = args
        self.console = console
        self.lab: Lab = Lab(name=f"wslab-cli-{os.getpid()}", timeout=args.timeout)
        self.seen = 0
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.stopping = False

    def read_stdin(self) -> None:
        def run() -> None:
            for line in sys.stdin:
                self.lines.put(line.rstrip("\r\n"))
            self.lines.put(None)

        threading.Thread(target=run, name="wslab-stdin", daemon=True).start()

    def new_events(self) -> list[Event]:
        events = self.lab.recorder.since(self.seen)
        if events:
            self.seen = events[-1].seq
        return events

    def print_new(self) -> list[Event]:
        unit = self.lab.events.time_unit
        events = self.new_events()
        for event in events:
            self.console.print(_line(event, unit))
        return events

    def say(self, words: str, style: str = "bold") -> None:
        from rich.text import Text

        self.console.print(Text(words, style=style))

    def finish(self, close: Callable[[], None] | None = None) -> None:
        """Close (1001 unless ``close`` does better), print what that caused, and write the record."""
        with contextlib.suppress(WslabError, ValueError):
            if close is not None:
                close()
        self.lab.close()
        self.print_new()
        record = self.args.record
        if record:
            Path(record).write_text(self.lab.events.to_jsonl(), encoding="utf-8")
            self.say(f"recorded {len(self.lab.events)} events in {record}", "dim")


def _stop_on_signals() -> None:
    """SIGINT and SIGTERM end the session alike: connections closed with 1001, the record written.

    SIGINT is set explicitly: a shell starts a background job with SIGINT ignored, and Python
    would keep it so.
    """

    def handler(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    for name in ("SIGINT", "SIGTERM"):
        with contextlib.suppress(ValueError, AttributeError, OSError):  # not the main thread / this OS
            signal.signal(getattr(signal, name), handler)


def _serve(args: argparse.Namespace, console: Console) -> int:
    session = _Session(args, console)
    echo = None if args.no_echo else args.echo
    server = session.lab.serve(welcome=args.welcome or None, echo=echo, host=args.host, port=args.port)
    session.say(f"listening on {server.url}  (Ctrl-C stops: connections close with 1001)")
    try:
        while True:
            session.print_new()
            time.sleep(0.05)
    except KeyboardInterrupt:
        session.say("stopping: closing every connection with 1001 going away", "dim")
        session.finish(lambda: server.close())
    return 0


def _connect(args: argparse.Namespace, console: Console) -> int:
    session = _Session(args, console)
    options: dict[str, Any] = {}
    if args.header:
        pairs = [h.partition(":") for h in args.header]
        if any(not colon or not name.strip() for name, colon, _ in pairs):
            raise WslabError("a header is 'Name: value'")
        options["additional_headers"] = [(name.strip(), value.strip()) for name, _, value in pairs]
    if args.subprotocol:
        options["subprotocols"] = args.subprotocol
    if args.origin:
        options["origin"] = args.origin
    if args.no_compression:
        options["compression"] = None
    try:
        client = session.lab.connect(args.url, **options)
    except WslabError as exc:
        session.print_new()
        session.say(f"could not connect: {exc}", "bold red")
        session.finish()
        return 1
    session.say("connected: type a line to send it; end of input closes with 1000, Ctrl-C with 1001")
    session.read_stdin()
    try:
        while True:
            events = session.print_new()
            if any(e.kind == "close" and e.endpoint == client.name for e in events):
                session.finish()
                return 0
            try:
                line = session.lines.get(timeout=0.05)
            except queue.Empty:
                continue
            if line is None:
                session.finish(lambda: client.close(1000))
                return 0
            try:
                client.send(line)
            except WslabError as exc:
                session.say(f"not sent: {exc}", "bold red")
    except KeyboardInterrupt:
        session.finish(lambda: client.close(1001, "Ctrl-C"))
    return 0


_DIRECTIONS = {"c2s": "client→server", "s2c": "server→client"}


def _listen(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    try:
        return host.strip("[]") or "127.0.0.1", int(port)
    except ValueError:
        raise WslabError(f"LISTEN is PORT or HOST:PORT, not {text!r}") from None


def _command(wire: Any, line: str) -> str | None:
    """Run one proxy command on ``wire``; returns words to print (None: nothing to say)."""
    verb, _, rest = line.strip().partition(" ")
    rest = rest.strip()
    if not verb:
        return None
    if verb in ("help", "?"):
        return COMMANDS_HELP
    if verb == "hold":
        wire.hold(_DIRECTIONS.get(rest, rest) if rest else None)
        return "holding: frames wait on the wire"
    if verb in ("pending", "p"):
        held = wire.pending
        return "\n".join(f"[{i}] {h!r}" for i, h in enumerate(held)) or "nothing held"
    if verb in ("deliver", "d"):
        wire.deliver(int(rest) if rest else None)
        return None
    if verb == "drop":
        return f"dropped {wire.drop(int(rest) if rest else 0)!r}"
    if verb == "edit":
        wire.edit(rest)
        return None
    if verb == "inject":
        where, _, text = rest.partition(" ")
        wire.inject(text, _DIRECTIONS.get(where, where))
        return None
    if verb == "release":
        wire.release()
        return None
    if verb == "cut":
        wire.cut(rest or None)
        return None
    return f"unknown command {verb!r}: {COMMANDS_HELP}"


def _proxy(args: argparse.Namespace, console: Console) -> int:
    session = _Session(args, console)
    host, port = _listen(args.listen)
    wire = session.lab.wire(args.url, host=host, port=port, verify=not args.insecure)
    if args.hold:
        wire.hold()
    live = args.live == "yes" or (args.live == "auto" and console.is_terminal)
    session.say(f"listening on {wire.url} → {args.url}  (Ctrl-C closes connections with 1001)")
    session.say("commands: " + COMMANDS_HELP, "dim")
    session.read_stdin()
    view = None
    if live:
        from rich.live import Live

        view = Live(
            renderable(session.lab.events, wire.pending, args.rows), console=console, auto_refresh=False
        )
        view.start()
    try:
        while True:
            events = session.new_events() if view is not None else session.print_new()
            if view is not None and events:
                view.update(renderable(session.lab.events, wire.pending, args.rows), refresh=True)
            try:
                line = session.lines.get(timeout=0.05)
            except queue.Empty:
                continue
            if line is None:
                continue
            try:
                words = _command(wire, line)
            except (WslabError, ValueError, IndexError) as exc:
                words = f"{type(exc).__name__}: {exc}"
            if words:
                session.say(words, "bold")
            if view is not None:
                view.update(renderable(session.lab.events, wire.pending, args.rows), refresh=True)
    except KeyboardInterrupt:
        if view is not None:
            view.stop()
            if not console.is_terminal:
                console.line()
        session.say("stopping: closing every connection with 1001 going away", "dim")
        session.finish(lambda: wire.close_links(1001, "wslab proxy stopped"))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``wslab`` command; returns its exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    console = _console()
    _stop_on_signals()
    try:
        code: int = args.run(args, console)
    except WslabError as exc:
        _console(sys.stderr).print(f"wslab: {exc}", markup=False, style="bold red")
        return 2
    except KeyboardInterrupt:
        return 130
    return code


def _show(args: argparse.Namespace, console: Console) -> int:
    from .diagram import Diagram, to_mermaid
    from .sessionfile import load

    log = load(args.file)
    if args.format == "mermaid":
        console.file.write(str(to_mermaid(log, detail=args.detail)) + "\n")
    elif args.format == "svg":
        console.file.write(Diagram(log, detail=args.detail).svg + "\n")
    elif args.format == "jsonl":
        console.file.write(log.to_jsonl())
    else:
        console.print(table(log, title=f"{args.file}: {len(log)} events"))
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The ``wslab`` command line: one sub-command per job."""
    from .server import DEFAULT_ECHO

    parser = argparse.ArgumentParser(
        prog="wslab", description="See the WebSocket lifecycle happen: every event, with its meaning."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--record", metavar="FILE.jsonl", help="save every event here at the end")
        p.add_argument("--timeout", type=float, default=5.0, help="seconds any step may take (default 5)")

    serve = sub.add_parser("serve", help="the classic example's welcome and echo server")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8080, help="port (default 8080, as in the article)")
    serve.add_argument("--welcome", default="Bienvenue sur le serveur WebSocket", help="sent on connection")
    serve.add_argument("--echo", default=DEFAULT_ECHO, help="the reply; {} is the message")
    serve.add_argument("--no-echo", action="store_true", help="do not answer messages")
    common(serve)
    serve.set_defaults(run=_serve)

    connect = sub.add_parser("connect", help="an interactive client: each line typed is sent")
    connect.add_argument("url", help="ws:// or wss:// URL")
    connect.add_argument("-H", "--header", action="append", metavar="'NAME: VALUE'", help="extra header")
    connect.add_argument("--subprotocol", action="append", help="offer this subprotocol")
    connect.add_argument("--origin", help="the Origin header to send")
    connect.add_argument("--no-compression", action="store_true", help="do not offer permessage-deflate")
    common(connect)
    connect.set_defaults(run=_connect)

    proxy = sub.add_parser("proxy", help="the wire in front of any server, with hold/deliver/drop commands")
    proxy.add_argument(
        "listen", metavar="LISTEN", help="PORT or HOST:PORT to listen on (loopback by default)"
    )
    proxy.add_argument("url", metavar="URL", help="the server to relay to: ws://… or wss://…")
    proxy.add_argument("--insecure", action="store_true", help="do not verify a wss:// certificate")
    proxy.add_argument("--hold", action="store_true", help="start holding every frame at once")
    proxy.add_argument(
        "--live", choices=("auto", "yes", "no"), default="auto", help="live table (a terminal)"
    )
    proxy.add_argument("--rows", type=int, default=15, help="rows in the live table (default 15)")
    common(proxy)
    proxy.set_defaults(run=_proxy)

    show = sub.add_parser("show", help="render a recorded session (JSON lines or a DevTools HAR)")
    show.add_argument("file", help="a .jsonl from --record / lab.events.to_jsonl(), or a .har")
    show.add_argument("--format", choices=("table", "mermaid", "svg", "jsonl"), default="table")
    show.add_argument("--detail", choices=("messages", "frames"), default="messages")
    show.set_defaults(run=_show)
    return parser


def renderable(log: EventLog, held: Sequence[object], rows: int) -> RenderableType:
    """The proxy's live view: the latest ``rows`` events, then the frames held on the wire."""
    from rich.console import Group
    from rich.text import Text

    parts: list[RenderableType] = [table(log[-rows:], title=f"{len(log)} events (latest {rows})")]
    if held:
        parts.append(Text(f"held on the wire ({len(held)}):", style="bold"))
        parts.extend(Text(f"  [{i}] {h!r}") for i, h in enumerate(held))
    parts.append(Text("commands: " + COMMANDS_HELP, style="dim"))
    return Group(*parts)


COMMANDS_HELP = (
    "hold [c2s|s2c], pending, deliver [N], drop [I], edit TEXT, inject c2s|s2c TEXT, release, cut, help"
)
