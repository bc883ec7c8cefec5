"""Sessions recorded by a browser: ``wslab.from_har("devtools.har")`` turns DevTools' export into an EventLog.

Chrome's DevTools (Network panel, "Export HAR") writes each WebSocket as one HAR entry with
``_resourceType: "websocket"``: the handshake's ``request`` and ``response`` (status, headers) and
the messages under ``_webSocketMessages``, each ``{"type": "send" | "receive" | "error", "time":
seconds since 1970, "opcode": 1 (text) or 2 (binary, data in base64), "data": …}``. Each entry
becomes one connection (``c1``, ``c2``, … in file order) seen from side ``browser``.

What a HAR cannot tell, so the log does not pretend to know it: how the connection ended (no close
code, reason, initiator or ``wasClean``: DevTools does not export the close), when exactly the
handshake finished (``open`` is put at the entry's start), ping/pong and close frames, how each
message was split into frames, whether it was compressed, and anything the server did. A handshake
that did not get ``101`` is knowable: it becomes ``error`` then ``close`` 1006, as in the page.
Credentials in URLs and headers are masked on the way in, as in a live session.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import os
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from ._redact import redact_headers, redact_url
from .eventlog import EventLog
from .events import Event, Payload
from .i18n import _
from .sessionfile import SessionFileError, read_text

__all__ = ["HarError", "from_har", "looks_like_har", "parse_har"]

PEER = "server"
"""The lifeline name for the other end: a HAR only knows the URL, never the server's own name."""

ENDPOINT = "browser"
"""Who recorded a HAR's events: the browser page (``side="browser"``)."""

_MAX_SECONDS = 1e11  # past the year 5000: a time beyond it is junk, not a session


class HarError(SessionFileError):
    """A HAR file that cannot be read; ``where`` names the entry (1-based, in file order) and message."""


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not a number JSON allows")


def looks_like_har(text: str) -> bool:
    """Whether ``text`` is a HAR (a JSON object with a ``log``) rather than JSON lines of events."""
    head = text.lstrip()[:200]
    return head.startswith("{") and '"log"' in head


def _seconds(value: object, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{what} must be a number, not {type(value).__name__}")
    if not math.isfinite(value) or abs(value) > _MAX_SECONDS:
        raise ValueError(f"{what} is out of range")
    return float(value)


def _headers(raw: object, what: str) -> tuple[tuple[str, str], ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise ValueError(f"{what} headers must be a list")
    out = []
    for item in raw:
        if not isinstance(item, dict):
            raise ValueError(f"{what} headers must be {{name, value}} objects")
        name, value = item.get("name"), item.get("value")
        if not isinstance(name, str) or not isinstance(value, str):
            raise ValueError(f"{what} header name and value must be strings")
        out.append((name, value))
    return redact_headers(tuple(out))


def _object(raw: object, what: str) -> Mapping[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ValueError(f"{what} must be an object, not {type(raw).__name__}")
    return raw


def _started(entry: Mapping[str, Any]) -> float | None:
    value = entry.get("startedDateTime")
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError("startedDateTime must be a string")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"startedDateTime is not an ISO 8601 date: {value[:40]!r}") from None
    if moment.tzinfo is None:
        raise ValueError("startedDateTime has no time zone")
    return _seconds(moment.timestamp(), "startedDateTime")


def is_websocket(entry: Mapping[str, Any]) -> bool:
    """DevTools marks its WebSocket entries ``_resourceType: "websocket"``; others say so by their URL."""
    if entry.get("_resourceType") == "websocket" or "_webSocketMessages" in entry:
        return True
    request = entry.get("request")
    url = request.get("url") if isinstance(request, dict) else None
    return isinstance(url, str) and url.lower().startswith(("ws://", "wss://"))


def _entry_events(entry: Mapping[str, Any], conn: str) -> list[tuple[float, dict[str, Any]]]:
    """One WebSocket entry's events, each ``(seconds, fields)``, in the order the page saw them."""
    request = _object(entry.get("request"), "request")
    response = _object(entry.get("response"), "response")
    url = request.get("url", "")
    if not isinstance(url, str):
        raise ValueError("request.url must be a string")
    try:
        shown_url = redact_url(url)
    except ValueError:
        raise ValueError(f"request.url is not a URL: {url[:40]!r}") from None
    messages = entry.get("_webSocketMessages", [])
    if not isinstance(messages, list):
        raise ValueError("_webSocketMessages must be a list")
    start = _started(entry)
    out: list[tuple[float, dict[str, Any]]] = []
    base = dict(side="browser", endpoint=ENDPOINT, conn=conn, peer=PEER)
    status = response.get("status", 0)
    if isinstance(status, bool) or not isinstance(status, int):
        raise ValueError("response.status must be an integer")
    text = response.get("statusText", "")
    if not isinstance(text, str):
        raise ValueError("response.statusText must be a string")
    got: list[tuple[float, dict[str, Any]]] = []
    for number, message in enumerate(messages, start=1):
        try:
            got.append(_message(message, base))
        except ValueError as exc:
            raise ValueError(f"message {number}: {exc}") from None
    if start is None:
        start = got[0][0] if got else 0.0
    out.append(
        (
            start,
            {
                **base,
                "kind": "connecting",
                "data": shown_url,
                "headers": _headers(request.get("headers"), "request"),
                "detail": "new WebSocket(url)",
            },
        )
    )
    response_headers = _headers(response.get("headers"), "response")
    if status == 101:
        words = f"101 {text or 'Switching Protocols'} " + _("(the HAR does not say when)")
        out.append((start, {**base, "kind": "open", "headers": response_headers, "detail": words}))
    else:  # the page saw 'error' then 'close' 1006; DevTools may add why, as a frame error
        failure = next((item for item in got if item[1]["kind"] == "error"), None)
        why = response.get("_error")
        if failure is not None:
            got.remove(failure)
            why = failure[1]["error"]
        reason = why if isinstance(why, str) and why else (f"HTTP {status} {text}".strip() if status else "")
        moment = max(start, failure[0]) if failure is not None else start
        words = f"the handshake failed ({reason or 'no response'}): a page sees only 'error'"
        out.append((moment, {**base, "kind": "error", "headers": response_headers, "error": words}))
        out.append((moment, {**base, "kind": "close", "code": 1006, "reason": "", "was_clean": False}))
    for moment, fields in got:
        out.append((max(moment, out[-1][0]), fields))  # never before the handshake
    if status == 101:
        out.append(
            (
                out[-1][0],
                {**base, "kind": "note", "detail": _("the HAR ends here: it does not record the close")},
            )
        )
    return out


def _message(raw: object, base: Mapping[str, Any]) -> tuple[float, dict[str, Any]]:
    if not isinstance(raw, dict):
        raise ValueError("it must be an object")
    moment = _seconds(raw.get("time"), "time")
    kind, opcode, data = raw.get("type"), raw.get("opcode"), raw.get("data", "")
    if not isinstance(data, str):
        raise ValueError("data must be a string")
    if kind == "error":
        return moment, {**base, "kind": "error", "error": data or "WebSocket frame error"}
    if kind not in ("send", "receive"):
        raise ValueError(f"type must be 'send', 'receive' or 'error', not {str(kind)[:20]!r}")
    if isinstance(opcode, bool) or not isinstance(opcode, int):
        raise ValueError("opcode must be an integer")
    payload: Payload
    if opcode == 1:
        payload = data
        size = len(data.encode("utf-8", "surrogatepass"))
    elif opcode == 2:
        try:
            payload = base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("a binary message's data must be base64") from None
        size = len(payload)
    else:
        return moment, {
            **base,
            "kind": "note",
            "detail": f"{kind} frame with opcode {opcode} (not a message)",
        }
    return moment, {**base, "kind": "send" if kind == "send" else "message", "data": payload, "size": size}


def parse_har(text: str, *, path: str | None = None) -> EventLog:
    """The WebSocket connections in HAR ``text`` as one :class:`EventLog` (time in µs from the first)."""
    try:
        document = json.loads(text, parse_constant=_reject_constant)
    except (json.JSONDecodeError, ValueError) as exc:
        where = f"line {exc.lineno}" if isinstance(exc, json.JSONDecodeError) else None
        words = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
        raise HarError(f"not JSON ({words})", path=path, where=where) from None
    except RecursionError:
        raise HarError("JSON nested too deeply", path=path) from None
    log = document.get("log") if isinstance(document, dict) else None
    entries = log.get("entries") if isinstance(log, dict) else None
    if not isinstance(entries, list):
        raise HarError("not a HAR file: no log.entries list", path=path)
    timed: list[tuple[float, int, dict[str, Any]]] = []
    count = 0
    for number, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict):
            raise HarError("an entry must be an object", path=path, where=f"entry {number}")
        if not is_websocket(entry):
            continue
        count += 1
        try:
            events = _entry_events(entry, f"c{count}")
        except ValueError as exc:
            raise HarError(str(exc), path=path, where=f"entry {number}") from None
        timed.extend((moment, len(timed) + i, fields) for i, (moment, fields) in enumerate(events))
    if not timed:
        return EventLog((), time_unit="µs")
    origin = min(moment for moment, _, _ in timed)
    timed.sort(key=lambda item: (item[0], item[1]))
    rows = [
        Event(seq=seq, time=round((moment - origin) * 1_000_000), **fields)
        for seq, (moment, _, fields) in enumerate(timed, start=1)
    ]
    return EventLog(rows, time_unit="µs")


def from_har(path: str | os.PathLike[str]) -> EventLog:
    """The WebSocket sessions in a HAR file (Chrome DevTools' "Export HAR") as an :class:`EventLog`.

    Each WebSocket entry is one connection seen by the page: ``connecting`` (URL and request
    headers), ``open`` (the 101's headers) or, for a refused handshake, ``error`` and ``close`` 1006,
    then a ``send`` or ``message`` row per message. The close is not in a HAR, nor are control frames
    or the server's own view: see the module's docstring. A file that is not such a HAR raises
    :class:`HarError` naming the entry.
    """
    name = os.fspath(path)
    return parse_har(read_text(name, "HAR file"), path=name)
