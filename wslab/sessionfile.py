"""Read a recorded session back: ``wslab.load("session.jsonl")`` gives the :class:`EventLog` it was.

A session file is what :meth:`EventLog.to_jsonl` writes (and ``wslab … --record FILE.jsonl``): one
event per line, as :meth:`Event.to_dict` made it. The file may come from anyone, so every line is
checked field by field before it becomes an :class:`Event`: a bad line raises
:class:`SessionFileError` naming the line, never a ``KeyError`` or ``TypeError`` from deep inside.
Nothing read is ever evaluated; the views escape whatever text it holds.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from collections.abc import Mapping
from dataclasses import fields
from typing import Any, Literal

from .errors import WslabError
from .eventlog import EventLog
from .events import KINDS, SIDES, Event, FrameInfo

__all__ = ["MAX_BYTES", "SessionFileError", "guess_time_unit", "load", "parse_jsonl"]

MAX_BYTES = 256 * 1024 * 1024
"""The largest file :func:`load` reads: a session is a teaching artefact, not a data lake."""

_INT_FIELDS = ("seq", "time", "size", "code")
_STR_FIELDS = ("endpoint", "conn", "peer", "reason", "initiator", "detail", "error")
_FRAME_FIELDS = {f.name: f for f in fields(FrameInfo)}


class SessionFileError(WslabError, ValueError):
    """A session file (JSON lines or HAR) that cannot be read; ``where`` says which line or entry."""

    def __init__(self, message: str, *, path: str | None = None, where: str | None = None) -> None:
        self.path = path
        self.where = where
        prefix = ": ".join(p for p in (path, where) if p)
        super().__init__(f"{prefix}: {message}" if prefix else message)


def _int(raw: Mapping[str, Any], name: str, *, required: bool = False) -> int | None:
    value = raw.get(name)
    if value is None:
        if required:
            raise ValueError(f"'{name}' is missing")
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"'{name}' must be an integer, not {type(value).__name__}")
    return value


def _str(raw: Mapping[str, Any], name: str) -> str | None:
    value = raw.get(name)
    if value is not None and not isinstance(value, str):
        raise ValueError(f"'{name}' must be a string, not {type(value).__name__}")
    return value


def event_from_dict(raw: object) -> Event:
    """One :class:`Event` from a decoded JSON value, every field type-checked (``ValueError`` if not)."""
    if not isinstance(raw, dict):
        raise ValueError(f"an event is a JSON object, not {type(raw).__name__}")
    values: dict[str, Any] = {}
    for name in _INT_FIELDS:
        values[name] = _int(raw, name, required=name in ("seq", "time"))
    for name in _STR_FIELDS:
        values[name] = _str(raw, name)
    if values["endpoint"] is None:
        raise ValueError("'endpoint' is missing")
    side, kind = raw.get("side"), raw.get("kind")
    if side not in SIDES:
        raise ValueError(f"'side' must be one of {', '.join(SIDES)}, not {str(side)[:40]!r}")
    if kind not in KINDS:
        raise ValueError(f"'kind' must be one of {', '.join(KINDS)}, not {str(kind)[:40]!r}")
    values["side"], values["kind"] = side, kind
    data, binary = raw.get("data"), raw.get("binary", False)
    if not isinstance(binary, bool):
        raise ValueError("'binary' must be true or false")
    if data is not None and not isinstance(data, str):
        raise ValueError(f"'data' must be a string, not {type(data).__name__}")
    if binary and data is not None:
        try:
            values["data"] = base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("'data' is marked binary but is not valid base64") from None
    else:
        values["data"] = data
    headers = raw.get("headers")
    if headers is not None:
        if not isinstance(headers, list) or not all(
            isinstance(pair, list) and len(pair) == 2 and all(isinstance(x, str) for x in pair)
            for pair in headers
        ):
            raise ValueError("'headers' must be a list of [name, value] string pairs")
        values["headers"] = tuple((k, v) for k, v in headers)
    frame = raw.get("frame")
    if frame is not None:
        values["frame"] = _frame(frame)
    was_clean = raw.get("was_clean")
    if was_clean is not None and not isinstance(was_clean, bool):
        raise ValueError("'was_clean' must be true, false or null")
    values["was_clean"] = was_clean
    return Event(**values)


def _frame(raw: object) -> FrameInfo:
    if not isinstance(raw, dict):
        raise ValueError("'frame' must be an object")
    unknown = set(raw) - set(_FRAME_FIELDS)
    if unknown:
        raise ValueError(f"'frame' has unknown field {sorted(unknown)[0][:40]!r}")
    checks: dict[str, tuple[type, ...]] = {
        "direction": (str,),
        "opcode": (str,),
        "fin": (bool,),
        "rsv1": (bool,),
        "rsv2": (bool,),
        "rsv3": (bool,),
        "masked": (bool,),
        "mask_key": (str, type(None)),
        "length": (int,),
    }
    for name in ("direction", "opcode", "fin"):
        if name not in raw:
            raise ValueError(f"'frame' needs '{name}'")
    for name, value in raw.items():
        ok = isinstance(value, checks[name]) and not (name == "length" and isinstance(value, bool))
        if not ok:
            raise ValueError(f"'frame.{name}' has the wrong type ({type(value).__name__})")
    return FrameInfo(**raw)


def guess_time_unit(events: list[Event]) -> str:
    """``"tick"`` when every time equals its seq (a logical clock), else ``"µs"`` (a wall clock)."""
    return "tick" if events and all(e.time == e.seq for e in events) else "µs"


def parse_jsonl(text: str, *, path: str | None = None, time_unit: str | None = None) -> EventLog:
    """An :class:`EventLog` from JSON lines text; a bad line raises :class:`SessionFileError`."""
    events: list[Event] = []
    # split on "\n" only: str.splitlines() would also cut at U+2028 inside a payload
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        where = f"line {number}"
        try:
            raw = json.loads(line)
        except json.JSONDecodeError as exc:
            raise SessionFileError(
                f"not JSON ({exc.msg} at column {exc.colno})", path=path, where=where
            ) from None
        except RecursionError:
            raise SessionFileError("JSON nested too deeply", path=path, where=where) from None
        try:
            event = event_from_dict(raw)
        except ValueError as exc:
            raise SessionFileError(str(exc), path=path, where=where) from None
        if events and event.seq <= events[-1].seq:
            raise SessionFileError(
                f"seq {event.seq} does not follow {events[-1].seq}: events must be in order",
                path=path,
                where=where,
            )
        events.append(event)
    return EventLog(events, time_unit=time_unit or guess_time_unit(events))


def read_text(path: str | os.PathLike[str], what: str) -> str:
    """A file's text, UTF-8, bounded in size; every failure a :class:`SessionFileError`."""
    name = os.fspath(path)
    try:
        with open(name, "rb") as f:
            raw = f.read(MAX_BYTES + 1)
    except OSError as exc:
        raise SessionFileError(f"cannot read this {what}: {exc.strerror or exc}", path=name) from None
    if len(raw) > MAX_BYTES:
        raise SessionFileError(f"larger than {MAX_BYTES // (1024 * 1024)} MiB", path=name)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SessionFileError(f"not UTF-8 text (byte {exc.start})", path=name) from None


def load(path: str | os.PathLike[str], *, time_unit: Literal["tick", "µs"] | None = None) -> EventLog:
    """The session recorded in ``path`` (JSON lines, as ``lab.events.to_jsonl()`` writes), as an EventLog.

    It prints, displays and draws (``wslab.Diagram(log)``, ``wslab.to_mermaid(log)``) like
    ``lab.events``. The file does not say which clock recorded it: a log whose times equal its
    sequence numbers is read as a logical clock's ticks, any other as microseconds (``time_unit``
    overrides the guess). A HAR file (a JSON object with a ``log``) is read as :func:`wslab.from_har` does.
    """
    text = read_text(path, "session file")
    from .har import looks_like_har, parse_har

    if looks_like_har(text):
        return parse_har(text, path=os.fspath(path))
    return parse_jsonl(text, path=os.fspath(path), time_unit=time_unit)
