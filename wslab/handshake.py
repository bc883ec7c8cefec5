"""The opening handshake in words: each header, what it means, and a value that is the same every run.

A recorded ``upgrade`` (the client's HTTP request) or ``accept``/``reject`` (the server's answer)
event holds the real headers. Some values change on every run (the random key, the accept value
derived from it, the date, the port in ``Host``) or with the installed software (``User-Agent``,
``Server``); a lesson that printed them would never show the same output twice. This module shows
those as a description in angle brackets, masks credentials, and keeps every other value as sent.
Pure: no sockets, no asyncio.
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from dataclasses import dataclass

from websockets.utils import accept_key

from ._redact import redact_header
from .events import Event
from .i18n import N_, _

__all__ = [
    "GUID",
    "HEADER_MEANINGS",
    "VOLATILE_HEADERS",
    "HandshakeTable",
    "HeaderLine",
    "accept_matches",
    "explain_headers",
    "handshake_table",
    "header",
]

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
"""The fixed string RFC 6455 (section 1.3) appends to the key before hashing it."""

Headers = Iterable[tuple[str, str]]

VOLATILE_HEADERS: dict[str, str] = {
    "sec-websocket-key": N_("<16 random bytes, base64: new for every connection>"),
    "sec-websocket-accept": N_("<base64(SHA-1(key + GUID)): proves the server read this key>"),
    "date": N_("<when the server answered>"),
    "user-agent": N_("<the client's software and version>"),
    "server": N_("<the server's software and version>"),
}
"""Headers whose value changes from run to run (lowercase name → what is shown instead)."""

HEADER_MEANINGS: dict[str, str] = {
    "host": N_("which server the client wants (required by HTTP/1.1)"),
    "upgrade": N_("switch this TCP connection to the websocket protocol"),
    "connection": N_("Upgrade concerns this connection only (hop-by-hop)"),
    "sec-websocket-key": N_("a fresh nonce; the server must answer with a value derived from it"),
    "sec-websocket-version": N_("the protocol version: 13 is RFC 6455"),
    "sec-websocket-extensions": N_("extensions offered (request) or accepted (response)"),
    "sec-websocket-protocol": N_("subprotocols offered (request) or the one chosen (response)"),
    "sec-websocket-accept": N_("the key, hashed: the server really speaks WebSocket"),
    "origin": N_("the web page that opened the connection (browsers always send it)"),
    "authorization": N_("credentials (masked here)"),
    "cookie": N_("cookies (masked here)"),
    "user-agent": N_("the client software"),
    "server": N_("the server software"),
    "date": N_("when the response was made"),
    "content-type": N_("the type of the response body"),
    "content-length": N_("the size of the response body"),
    "www-authenticate": N_("how to authenticate (sent with 401)"),
}
"""A short meaning for the headers a learner meets in a WebSocket handshake (lowercase names)."""


@dataclass(frozen=True, slots=True)
class HeaderLine:
    """One header as a lesson shows it: name, a run-independent value, and its meaning."""

    name: str
    value: str
    meaning: str

    def shown(self) -> tuple[str, str]:
        """The value and the meaning in the language in effect (a masked or described value too)."""
        value = _(self.value) if VOLATILE_HEADERS.get(self.name.lower()) == self.value else self.value
        return value, _(self.meaning) if self.meaning else ""


@dataclass(frozen=True, slots=True)
class HandshakeTable:
    """A request or response line and its headers, printable as text and as an HTML table."""

    title: str
    lines: tuple[HeaderLine, ...]

    def __str__(self) -> str:
        shown = [(line.name, *line.shown()) for line in self.lines]
        width = min(max((len(f"{name}: {value}") for name, value, _m in shown), default=0), 48)
        rows = [self.title]
        for name, value, meaning in shown:
            text = f"{name}: {value}"
            rows.append(f"{text.ljust(width)}  # {meaning}" if meaning else text)
        return "\n".join(rows)

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        cell = "style='text-align:left;padding:2px 8px;vertical-align:top'"
        cells = "".join(
            f"<tr><td {cell}><code>{html.escape(name)}</code></td>"
            f"<td {cell}><code>{html.escape(value)}</code></td>"
            f"<td {cell}>{html.escape(meaning)}</td></tr>"
            for name, value, meaning in ((line.name, *line.shown()) for line in self.lines)
        )
        head = "".join(f"<th {cell}>{_(name)}</th>" for name in (N_("header"), N_("value"), N_("meaning")))
        return (
            "<table class='wslab-handshake' style='border-collapse:collapse'>"
            f"<caption style='text-align:left;padding:2px 8px'>"
            f"<code>{html.escape(self.title)}</code></caption>"
            f"<thead><tr>{head}</tr></thead><tbody>{cells}</tbody></table>"
        )


def _stable_value(name: str, value: str) -> str:
    lower = name.lower()
    if lower in VOLATILE_HEADERS:
        return VOLATILE_HEADERS[lower]
    if lower == "host":
        host, colon, port = value.rpartition(":")
        if colon and port.isdigit() and not host.endswith(":"):
            return f"{host}:<port>"
        return value
    return redact_header(name, value)


def explain_headers(headers: Headers) -> tuple[HeaderLine, ...]:
    """Each header in order, its value made stable (volatile ones described, secrets masked)."""
    return tuple(
        HeaderLine(name, _stable_value(name, value), _meaning(name, value)) for name, value in headers
    )


def _meaning(name: str, value: str) -> str:
    if name.lower() == "connection" and value.strip().lower() == "close":
        return N_("the server closes the TCP connection after this response")
    return HEADER_MEANINGS.get(name.lower(), "")


def handshake_table(event: Event) -> HandshakeTable:
    """The handshake half an ``upgrade``, ``accept`` or ``reject`` event recorded, ready to print."""
    if event.kind not in ("upgrade", "accept", "reject"):
        raise ValueError(f"a handshake table needs an upgrade, accept or reject event, not {event.kind!r}")
    title = event.detail or ""
    if event.kind != "upgrade":
        title = f"HTTP/1.1 {title}".rstrip()
    return HandshakeTable(title, explain_headers(event.headers or ()))


def header(source: Event | Headers, name: str) -> str | None:
    """The value of header ``name`` (any case) in an event or a list of pairs; None when absent."""
    pairs = (source.headers or ()) if isinstance(source, Event) else source
    wanted = name.lower()
    for key, value in pairs:
        if key.lower() == wanted:
            return value
    return None


def accept_matches(key: str, accept: str) -> bool:
    """True when ``accept`` is base64(SHA-1(key + GUID)), the answer RFC 6455 requires for ``key``."""
    return accept_key(key) == accept
