"""Short, deterministic words for an event: the text every view (table, diagram, mermaid) shares.

Nothing here escapes HTML: views escape what they draw. Nothing here shows a port, an address or
a random handshake key, so a lesson's output is the same on every run.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from .events import Event, Payload
from .i18n import _
from .lifecycle import explain_close

__all__ = ["close_words", "describe", "format_size", "one_line", "preview"]


def format_size(size: int) -> str:
    """``7 B``, ``16.0 KiB``, ``1.0 MiB`` (in French ``7 o``, ``16.0 Kio``, ``1.0 Mio``)."""
    if size < 1024:
        return _("{size} B").format(size=size)
    if size < 1024 * 1024:
        return _("{size} KiB").format(size=f"{size / 1024:.1f}")
    return _("{size} MiB").format(size=f"{size / (1024 * 1024):.1f}")


def preview(data: Payload | None, limit: int = 40) -> str:
    """A payload as a short, quoted, one-line preview; bytes as hex."""
    if data is None:
        return ""
    if isinstance(data, bytes):
        shown = data[: max(1, limit // 3)].hex(" ")
        more = "…" if len(data) > max(1, limit // 3) else ""
        return f"<{shown}{more}>"
    head = data[:limit] if limit > 0 else data  # escaping is per character: the head decides it all
    text = head.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")
    text = "".join(ch if ch.isprintable() else f"\\x{ord(ch):02x}" for ch in text)
    if len(text) > limit or len(data) > limit:
        text = text[: limit - 1] + "…"
    return f"'{text}'"


def close_words(code: int | None, reason: str | None) -> str:
    """``1000 normal closure, reason 'bye'``."""
    if code is None:
        return _("no close code")
    words = f"{code} {explain_close(code, reason)}"
    if reason:
        words += _(", reason {reason}").format(reason=preview(reason))
    return words


def _path_of(url: str) -> str:
    parts = urlsplit(url)
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


def one_line(text: str) -> str:
    """``text`` with line breaks and other unprintable characters escaped: one table row, always."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)


def describe(event: Event, limit: int = 40) -> str:
    """What happened, in a few words, without the seq, time or who (the table has columns for those)."""
    return one_line(_describe(event, limit))


def _describe(event: Event, limit: int) -> str:
    kind = event.kind
    if kind in ("ping", "pong"):
        # the payload stays in event.data: websockets' own pings carry random bytes, never shown
        size = format_size(event.size if event.size is not None else 0)
        return f"{_(event.detail) if event.detail else kind} ({size})"
    if kind in ("message", "send"):
        size = format_size(event.size if event.size is not None else 0)
        kind_word = _("binary") if event.is_binary else _("text")
        if event.is_binary and event.detail == "sent as a text frame":
            kind_word = _("raw bytes in a text frame")
        return f"{preview(event.data, limit)} ({kind_word}, {size})".replace("'' (", "(")
    if kind in ("close", "closing"):
        words = close_words(event.code, event.reason)
        if event.initiator:
            words += _("; closed by {who}").format(who=event.initiator)
        if event.was_clean is False:
            words += _("; wasClean false")
        if event.detail:
            words += f" ({_(event.detail)})"
        return words
    if kind == "error":
        return _(event.error) if event.error else "error"
    if kind == "connecting":
        if event.peer is None and isinstance(event.data, str):  # not one of ours: the URL says where
            return _("to {url}").format(url=event.data)
        target = _path_of(event.data) if isinstance(event.data, str) else ""
        return _("to {peer} {path}").format(peer=event.peer or "server", path=target).rstrip()
    if kind == "upgrade":
        count = len(event.headers or ())
        return _("{request} ({count} headers)").format(request=event.detail or "GET", count=count)
    if kind in ("accept", "reject"):
        count = len(event.headers or ())
        status = event.detail or (str(event.code) if event.code else "")
        return _("{request} ({count} headers)").format(request=status, count=count)
    if kind == "frame" and event.frame is not None:
        text = f"{event.frame.direction} {event.frame.describe()}"
        if event.data is not None:
            text += f" {preview(event.data, limit)}"
        if event.code is not None:
            text += f" {close_words(event.code, event.reason)}"
        return text
    if kind == "open" and event.detail:
        return _(event.detail)
    if kind == "connection":
        return _("from {peer}").format(peer=event.peer) if event.peer else ""
    return _(event.detail) if event.detail else ""
