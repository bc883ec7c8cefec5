"""Validating what a server receives: a shape check, a rate limit, and what to do on a violation.

The seed's first advice: validate received data, against injection and memory exhaustion. Size is
websockets' own job (``max_size``, close 1009) and bad UTF-8 too (1007); this module adds what is
the application's: is it the JSON you expect, and is this client sending too fast? A violation
becomes an ``error`` event, then either an error reply or a close with 1008 (policy violation).
Pure: no sockets, no asyncio; the server calls :meth:`Guard.check` with each message.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from .errors import Invalid
from .events import Payload

__all__ = ["Guard", "Invalid", "RateLimit", "Validator", "Verdict", "json_message"]

Validator = Callable[[Payload], Any]
"""Takes the received message, returns what the handler should get, raises ``ValueError`` if bad."""


def json_message(
    fields: Mapping[str, type | tuple[type, ...]] | None = None,
    *,
    allow_extra: bool = False,
    max_length: int | None = None,
) -> Validator:
    """A validator for JSON objects with these required fields and types.

    ``json_message({"type": str, "text": str})`` accepts ``{"type": "chat", "text": "hi"}`` and
    gives the handler the parsed dict. Binary messages, text that is not JSON, missing or extra
    fields and wrong types are refused with a message that says which.
    """
    wanted = dict(fields or {})

    def validate(message: Payload) -> Any:
        if isinstance(message, bytes):
            raise Invalid("expected a text message with JSON, got a binary message")
        if max_length is not None and len(message) > max_length:
            raise Invalid(f"message is {len(message)} characters, more than {max_length}")
        try:
            value = json.loads(message)
        except json.JSONDecodeError as exc:
            raise Invalid(f"not JSON: {exc.msg} at character {exc.pos}") from None
        if not wanted:
            return value
        if not isinstance(value, dict):
            raise Invalid(f"expected a JSON object, got {type(value).__name__}")
        missing = [name for name in wanted if name not in value]
        if missing:
            raise Invalid(f"missing field {', '.join(map(repr, missing))}")
        if not allow_extra:
            extra = sorted(set(value) - set(wanted))
            if extra:
                raise Invalid(f"unexpected field {', '.join(map(repr, extra))}")
        for name, kind in wanted.items():
            item = value[name]
            kinds = kind if isinstance(kind, tuple) else (kind,)
            if (isinstance(item, bool) and bool not in kinds) or not isinstance(item, kinds):
                names = " or ".join(k.__name__ for k in kinds)
                raise Invalid(f"field {name!r} must be {names}, not {type(item).__name__}")
        return value

    return validate


@dataclass(frozen=True, slots=True)
class RateLimit:
    """At most ``messages`` in any window of ``per`` seconds, per connection."""

    messages: int
    per: float = 1.0

    def __post_init__(self) -> None:
        if self.messages < 1 or self.per <= 0:
            raise ValueError("a rate limit needs messages >= 1 and per > 0")


@dataclass(frozen=True, slots=True)
class Verdict:
    """What the server should do with one message."""

    value: Any = None
    problem: str | None = None
    close: tuple[int, str] | None = None
    reply: Payload | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None


@dataclass
class Guard:
    """Checks each received message: rate first (cheap), then shape."""

    validate: Validator | None = None
    rate_limit: RateLimit | None = None
    on_invalid: Literal["reply", "close"] = "reply"
    _seen: dict[str, deque[float]] = field(default_factory=dict, repr=False)

    @classmethod
    def make(
        cls,
        validate: Validator | None,
        rate_limit: RateLimit | None,
        on_invalid: Literal["reply", "close"] = "reply",
    ) -> Guard | None:
        """A guard for a server's ``validate``, ``rate_limit`` and ``on_invalid``; None if none is asked."""
        if on_invalid not in ("reply", "close"):
            raise ValueError(f"on_invalid must be 'reply' or 'close', not {on_invalid!r}")
        if validate is None and rate_limit is None:
            return None
        return cls(validate=validate, rate_limit=rate_limit, on_invalid=on_invalid)

    def check(self, conn: str, message: Payload, now: float) -> Verdict:
        """Judge one message from connection ``conn`` received at time ``now`` (seconds)."""
        if self.rate_limit is not None:
            window = self._seen.setdefault(conn, deque())
            while window and now - window[0] >= self.rate_limit.per:
                window.popleft()
            window.append(now)
            if len(window) > self.rate_limit.messages:
                limit = self.rate_limit
                return Verdict(
                    problem=f"rate limit exceeded: more than {limit.messages} messages in {limit.per:g} s",
                    close=(1008, "rate limit exceeded"),
                )
        if self.validate is None:
            return Verdict(value=message)
        try:
            value = self.validate(message)
        except ValueError as exc:
            problem = f"invalid message: {exc}"
            if self.on_invalid == "close":
                return Verdict(problem=problem, close=(1008, "invalid message"))
            reply = json.dumps({"error": "invalid message", "detail": str(exc)}, ensure_ascii=False)
            return Verdict(problem=problem, reply=reply)
        return Verdict(value=value)

    def forget(self, conn: str) -> None:
        """Drop what was kept about a closed connection."""
        self._seen.pop(conn, None)
