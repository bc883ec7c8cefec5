"""Helpers several test files share: a hand-made closed connection; the credentials a hub proxy forwards
and the check that none shows; everything a lesson can show of a log; waiting for a condition; the wire's
frame events; a tap on the bytes both ends see; a module of tools/, imported by name."""

import importlib
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

from wslab import Diagram, EventLog, sequence_text, to_mermaid
from wslab.describe import describe
from wslab.recorder import LogicalClock, Recorder

SECRETS = {
    "hub_cookie": "c00kieHUBvalue",
    "session": "sessIONvalue",
    "xsrf": "xsrfVALUE123",
    "api_token": "apiTOKEN456",
    "query_token": "queryTOKEN789",
    "referer_token": "refererTOKEN",
    "jwt": "jwtVALUE",
    "api_key": "apiKEYvalue",
}


def no_secret_in(text: str) -> None:
    for name, secret in SECRETS.items():
        assert secret not in text, name


def wait_until(condition: Callable[[], bool], seconds: float = 3.0) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def frames(lab, conn=None):
    return lab.events.filter(side="wire", kind="frame", conn=conn)


def tap(client, peer):
    """Record the bytes the client writes and the bytes the server's connection receives."""
    sent: list[bytes] = []
    seen: list[bytes] = []
    transport = client.ws.transport
    write = transport.write

    def recording_write(data):
        sent.append(bytes(data))
        write(data)

    transport.write = recording_write
    received = peer.ws.data_received

    def recording_received(data):
        seen.append(bytes(data))
        received(data)

    peer.ws.data_received = recording_received
    return sent, seen


def everything_shown(log: EventLog) -> str:
    """Every rendering a lesson can show or export, concatenated."""
    return "\n".join(
        [
            log.to_text(limit=200),
            log.to_html(limit=200),
            log.to_jsonl(),
            repr(list(log)),
            *(describe(e, 200) for e in log),
            Diagram(log).svg,
            to_mermaid(log),
            sequence_text(log),
        ]
    )


def closed_by(closer: str, code: int = 1000, reason: str = "") -> EventLog:
    """One connection, opened, then closed by ``closer`` ("client" or "server") the way the lab records it."""
    r = Recorder(clock=LogicalClock())
    r.record(side="client", kind="connecting", endpoint="client", conn="c1", peer="hub", data="ws://h:1/")
    r.record(side="server", kind="connection", endpoint="hub", conn="c1", peer="client")
    r.record(side="client", kind="open", endpoint="client", conn="c1", peer="hub")
    who = "hub" if closer == "server" else "client"
    r.record(side=closer, kind="closing", endpoint=who, conn="c1", code=code, reason=reason)  # type: ignore[arg-type]
    for side, endpoint in (("server", "hub"), ("client", "client")):
        r.record(
            side=side,  # type: ignore[arg-type]
            kind="close",
            endpoint=endpoint,
            conn="c1",
            code=code,
            reason=reason,
            initiator=who,
            was_clean=True,
        )
    return r.snapshot()


def catalogue_english(po: Path, shortest: int) -> list[str]:
    """The English of wslab's French catalogue that the French translates: each literal stretch of a
    message (between placeholders and code spans) with a space in it and at least ``shortest``
    characters, that the French does not keep as it is. Found in a French output, it is untranslated."""
    from babel.messages.pofile import read_po

    with po.open("rb") as f:
        catalogue = read_po(f)
    found: set[str] = set()
    for message in catalogue:
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        french = " ".join(s for s in strings if s)
        if not message.id or not french or message.fuzzy:
            continue
        for english in ids:
            for part in re.split(r"\{[^}]*\}|`[^`]*`|%\(?\w*\)?[sdr]", english):
                part = part.strip(" :;,.()'\"\n")
                if " " in part and len(part) >= shortest and part not in french:
                    found.add(part)
    return sorted(found)


def tool(name: str) -> ModuleType:
    """The module tools/<name>.py (tools/ is not a package: its scripts import each other by name)."""
    tools = str(Path(__file__).resolve().parents[1] / "tools")
    if tools not in sys.path:
        sys.path.insert(0, tools)
    return importlib.import_module(name)
