"""What went wrong in an ``expect``, in plain words: the nearest events, and the usual mistakes.

:func:`wslab.expect.expect` finds where a pattern fails; this module says why, for a learner: the
events most like the missing step, and a hint from a small table of common mistakes (who closed,
what a close code means, when ``error`` fires). Pure: it reads events and nothing else.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING

from .describe import describe
from .i18n import N_, _
from .lifecycle import explain_close_code

if TYPE_CHECKING:
    from .eventlog import EventLog
    from .events import Event, Side
    from .expect import Step

__all__ = [
    "FIDELITY",
    "SHOWN",
    "hints_for",
    "instead",
    "kinds_in",
    "line",
    "nearest",
    "order_hint",
    "side_of",
    "unique",
]

FIDELITY = "docs/fidelity.md"
"""Where the browser's and Node's rules for ``error`` are written down (linked from a hint)."""

SHOWN = 3
"""How many of the nearest events are shown under "instead"."""

_CALLS = {"server": "server.close()", "client": "client.close()", "browser": "browser.close()"}


def side_of(step: Step, side: Side | None) -> str | None:
    wanted = step.get("side")
    return wanted if isinstance(wanted, str) else side


def line(event: Event) -> str:
    """One event in the feedback: ``seq 12, client close: 1000 normal closure; closed by client``."""
    who = event.side if event.endpoint == event.side else f"{event.side} {event.endpoint}"
    words = describe(event)
    return _("seq {seq}, {who} {kind}").format(seq=event.seq, who=who, kind=event.kind) + (
        f": {words}" if words else ""
    )


def nearest(events: Sequence[Event], step: Step, after: int) -> list[Event]:
    """The events most like ``step``: its kind (on its side if it has one), fewest differences, nearest."""
    side, who = step.get("side"), step.get("endpoint")
    alike = [
        (i, e)
        for i, e in enumerate(events)
        if (step.kind is None or e.kind == step.kind)
        and (not isinstance(side, str) or e.side == side)
        and (not isinstance(who, str) or e.endpoint == who)
    ]
    if not alike and step.kind is not None:  # that kind on any side
        alike = [(i, e) for i, e in enumerate(events) if e.kind == step.kind]
    ranked = sorted(alike, key=lambda pair: (len(step.misses(pair[1])), abs(pair[0] - after)))
    return sorted((e for _, e in ranked[:SHOWN]), key=lambda e: e.seq)


def instead(step: Step, near: Sequence[Event]) -> tuple[str, ...]:
    out = []
    for event in near:
        misses = step.misses(event)
        out.append(line(event) + (f" ({'; '.join(misses)})" if misses else ""))
    return tuple(out)


def kinds_in(events: Iterable[Event]) -> str:
    seen = dict.fromkeys(f"`{e.kind}`" for e in events)
    return ", ".join(seen) if seen else _("nothing")


def unique(hints: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(h for h in hints if h))


def order_hint(step: Step, previous: Step, side: Side | None) -> str:
    mine, theirs = side_of(step, side), side_of(previous, side)
    if step.kind == previous.kind == "close" and mine == "server" and theirs in ("client", "browser"):
        return _(
            "the server's `close` comes first whichever side closes: the server ends the TCP connection "
            "first (RFC 6455 7.1.1); to check who closed, expect a `closing` or `initiator=`"
        )
    return _("the order differs; pass `ordered=False` if the order does not matter")


def hints_for(
    log: EventLog, events: Sequence[Event], step: Step, near: Sequence[Event], side: Side | None
) -> list[str]:
    """The common mistakes that fit: who closed, close codes, `error`, nothing of that kind at all."""
    hints = [hint for rule in _RULES if (hint := rule(log, events, step, near, side)) is not None]
    if not hints:  # no mistake we know: at least say what did happen there
        hints.append(_nothing_like_it(log, events, step, near, side) or "")
    return hints


def _closed_first(
    log: EventLog, events: Sequence[Event], step: Step, near: Sequence[Event], side: Side | None
) -> str | None:
    """Expected one side to close, but the other side started the closing handshake."""
    mine = side_of(step, side)
    if step.kind not in ("close", "closing") or mine not in _CALLS:
        return None
    conns = {e.conn for e in near} or {step.get("conn")} - {None}
    closings = [e for e in log if e.kind == "closing" and (not conns or e.conn in conns)]
    if not closings or closings[0].side == mine:
        return None
    other = closings[0].side
    return _("the {other} closed first: did you call `{call}`?").format(other=other, call=_CALLS[mine])


_CODE_WORDS = {
    1000: N_("{code} is a normal close{by}"),
    1001: N_("{code} means going away (a server shutting down)"),
    1005: N_("{code} means the close frame had no code"),
    1006: N_("{code} means the connection ended without a close frame: no closing handshake at all"),
    1011: N_("{code} means the server failed: an exception in its handler"),
}


def _code_words(code: int, by: str) -> str:
    template = _(_CODE_WORDS.get(code, N_("{code} is {meaning}")))
    return template.format(code=code, by=by, meaning=explain_close_code(code))


def _wrong_code(
    log: EventLog, events: Sequence[Event], step: Step, near: Sequence[Event], side: Side | None
) -> str | None:
    """Expected one close code, got another: say what each one means."""
    want = step.get("code")
    if not isinstance(want, int) or step.kind not in ("close", "closing", None):
        return None
    other = next((e for e in near if e.code is not None and e.code != want), None)
    if other is None or other.code is None:
        return None
    closer = next((e.side for e in log if e.kind == "closing" and e.conn == other.conn), None)
    by = _(" from the {closer}").format(closer=closer) if closer else ""
    if 4000 <= want <= 4999 and 4000 <= other.code <= 4999:  # both the application's: meanings alike
        return _("{got} and {want} are both the application's own codes (4000–4999): pick {want}").format(
            got=other.code, want=want
        )
    return f"{_code_words(other.code, by)}; {_code_words(want, '')}"


def _no_error(
    log: EventLog, events: Sequence[Event], step: Step, near: Sequence[Event], side: Side | None
) -> str | None:
    """Expected an `error` that never came."""
    if step.kind != "error" or near:
        return None
    return _(
        "a browser or Node `ws` fires `error` only when the connection fails (a refused handshake, bad "
        "data, `close()` before open), not on a normal close nor when the peer just drops (that is "
        "`close` 1006 alone): see {page}"
    ).format(page=FIDELITY)


def _nothing_like_it(
    log: EventLog, events: Sequence[Event], step: Step, near: Sequence[Event], side: Side | None
) -> str | None:
    """Nothing of that kind at all: list the kinds that did happen there."""
    if step.kind is None:
        return None
    mine = side_of(step, side)
    who = step.get("endpoint")
    there = [
        e
        for e in events
        if (mine is None or e.side == mine) and (not isinstance(who, str) or e.endpoint == who)
    ]
    if any(e.kind == step.kind for e in there):
        return None
    place = who if isinstance(who, str) else _("the {side}").format(side=mine) if mine else _("the log")
    if not there:
        return _("nothing was recorded for {place} yet: has the exercise's cell run?").format(place=place)
    return _("{place} recorded only {kinds}").format(place=place, kinds=kinds_in(there))


_RULES: tuple[Callable[[EventLog, Sequence[Event], Step, Sequence[Event], Side | None], str | None], ...] = (
    _closed_first,
    _wrong_code,
    _no_error,
)
"""The table of common mistakes, in the order their hints are shown."""
