"""Check that an expected sequence of events happened, and say in plain words what went wrong.

An exercise's check cell is one call: ``lab.expect(Step("closing", side="server"), Step("close",
side="client"))``. The answer is a :class:`Verdict`, truthy when the events match, that reads as
feedback: what was expected, the nearest events that happened instead, and a hint taken from a
small table of the usual mistakes. Pure: it reads an :class:`EventLog` and nothing else.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, fields, replace
from typing import Any

from ._mistakes import (
    FIDELITY,
    SHOWN,
    hints_for,
    instead,
    kinds_in,
    line,
    nearest,
    order_hint,
    unique,
)
from .describe import preview
from .eventlog import EventLog
from .events import KINDS, SIDES, Event, Kind, Side
from .i18n import _, language

__all__ = ["FIDELITY", "Step", "Verdict", "expect"]

_FIELDS = frozenset(f.name for f in fields(Event)) - {"exc"}
_NOT_FROM_EVENT = frozenset({"seq", "time", "kind"})  # a pattern says what happened, not when


@dataclass(frozen=True, slots=True, init=False)
class Step:
    """One expected event: a kind and any Event fields it must have.

    ``Step("close", side="server", code=1001, reason="bye", who="hub")``. A value is compared with
    ``==``; a callable is a test (``data=lambda d: "hi" in d``). ``who`` is the endpoint's name.
    ``Step("server:close")`` is short for ``Step("close", side="server")``, as ``EventLog.kinds()``
    writes it.
    """

    kind: Kind | None
    wanted: tuple[tuple[str, Any], ...]

    def __init__(self, kind: str | None = None, /, **wanted: Any) -> None:
        if kind is None and isinstance(wanted.get("kind"), str):
            kind = wanted.pop("kind")
        if kind is not None and ":" in kind:
            prefix, _, kind = kind.partition(":")
            wanted = {"side": prefix, **wanted}
        if kind is not None and kind not in KINDS:
            raise ValueError(f"unknown kind {kind!r}: one of {', '.join(KINDS)}")
        if "who" in wanted:
            wanted["endpoint"] = wanted.pop("who")
        unknown = sorted(set(wanted) - _FIELDS - {"kind"})
        if unknown:
            raise TypeError(f"Step() got unknown fields {unknown}: an Event has {', '.join(sorted(_FIELDS))}")
        side = wanted.get("side")
        if isinstance(side, str) and side not in SIDES:
            raise ValueError(f"unknown side {side!r}: one of {', '.join(SIDES)}")
        object.__setattr__(self, "kind", kind)
        object.__setattr__(self, "wanted", tuple(wanted.items()))

    @classmethod
    def from_event(cls, event: Event) -> Step:
        """The step that ``event`` matches on every field but its seq and time."""
        values = {f.name: getattr(event, f.name) for f in fields(Event) if f.name in _FIELDS}
        kept = {name: value for name, value in values.items() if name not in _NOT_FROM_EVENT}
        return cls(event.kind, **kept)

    def get(self, name: str) -> Any:
        """The value this step wants for ``name`` (``who`` is ``endpoint``), or None."""
        name = "endpoint" if name == "who" else name
        return dict(self.wanted).get(name)

    def misses(self, event: Event) -> list[str]:
        """The fields where ``event`` differs from this step, in plain words; empty when it matches."""
        if self.kind is not None and event.kind != self.kind:
            return [_("it is a `{got}`, not a `{want}`").format(got=event.kind, want=self.kind)]
        out = []
        for name, want in self.wanted:
            got = getattr(event, name)
            ok = _passes(want, got) if callable(want) else got == want
            if not ok:
                label = "who" if name == "endpoint" else name
                if callable(want):
                    fails = _("{field} {got}, which fails the test")
                    out.append(fails.format(field=label, got=_value(name, got)))
                else:
                    out.append(
                        _("{field} {got}, not {want}").format(
                            field=label, got=_value(name, got), want=_value(name, want)
                        )
                    )
        return out

    def matches(self, event: Event) -> bool:
        """Whether ``event`` has the kind and every field this step asks for."""
        return not self.misses(event)

    def __str__(self) -> str:
        side, who = self.get("side"), self.get("endpoint")
        if isinstance(who, str):
            head = _("{who}'s `{kind}`") if self.kind else _("{who}'s event")
        elif isinstance(side, str):
            head = _("the {side}'s `{kind}`") if self.kind else _("the {side}'s event")
        else:
            head = "`{kind}`" if self.kind else _("an event")
        head = head.format(who=who, side=side, kind=self.kind)
        passing = _("passing a test")  # not inside the f-string: Babel on 3.11 can't see there
        rest = [
            f"{name} {passing if callable(v) else _value(name, v)}"
            for name, v in self.wanted
            if name not in ("side", "endpoint")
        ]
        return head + (f" ({', '.join(rest)})" if rest else "")

    def __repr__(self) -> str:
        args = [repr(self.kind)] if self.kind else []
        args += [f"{'who' if k == 'endpoint' else k}={v!r}" for k, v in self.wanted]
        return f"Step({', '.join(args)})"


def _passes(test: Callable[[Any], object], value: Any) -> bool:
    """A test that raises (``lambda c: c < 2000`` on no code) is a test that fails."""
    try:
        return bool(test(value))
    except Exception:
        return False


def _value(name: str, value: Any) -> str:
    if value is None:
        return _("none")
    if name in ("data", "reason") and isinstance(value, str | bytes):
        return preview(value) if value else "''"
    return str(value)


def _as_step(step: Step | str) -> Step:
    return step if isinstance(step, Step) else Step(step)


@dataclass(frozen=True, slots=True)
class Verdict:
    """What :func:`expect` found: truthy when it passed, feedback in plain words when printed."""

    passed: bool
    expected: str
    steps: tuple[Step, ...]
    matched: tuple[Event | None, ...]
    """The event each step matched, None where it matched nothing."""
    problem: str = ""
    instead: tuple[str, ...] = ()
    hints: tuple[str, ...] = ()
    lang: str | None = None
    """The language its feedback is in (the checked log's; None: the process's)."""

    def __bool__(self) -> bool:
        return self.passed

    @property
    def hint(self) -> str:
        """The hints as one line (empty when it passed)."""
        return " ".join(self.hints)

    def lines(self) -> list[str]:
        """The feedback, line by line."""
        with language(self.lang):
            return self._lines()

    def _lines(self) -> list[str]:
        if self.passed:
            out = [_("✔ as expected: {expected}").format(expected=self.expected)]
            shown = sorted((e for e in self.matched if e is not None), key=lambda e: e.seq)
            out += [f"  {line(e)}" for e in shown]
            return out
        out = [_("✘ expected {expected}").format(expected=self.expected)]
        out.append("  " + _("but {problem}").format(problem=self.problem))
        if self.instead:
            out.append("  " + _("what happened instead:"))
            out += [f"    {text}" for text in self.instead]
        out += ["  " + _("hint: {hint}").format(hint=h) for h in self.hints]
        return out

    def __str__(self) -> str:
        return "\n".join(self.lines())

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        colour = "#2e7d32" if self.passed else "#c62828"
        rows = "".join(
            f"<div style='white-space:pre-wrap;padding-left:{(len(t) - len(t.lstrip())) // 2}em'>"
            f"{_code(t.strip())}</div>"
            for t in self.lines()
        )
        return (
            f"<div class='wslab-verdict' style='font-family:monospace;font-size:12px;"
            f"border-left:4px solid {colour};padding:4px 8px'>{rows}</div>"
        )


def _code(text: str) -> str:
    """Escaped text with `backticks` as <code>; the docs link as a link."""
    escaped = html.escape(text)
    escaped = re.sub(r"`([^`]+)`", r"<code>\1</code>", escaped)
    return escaped.replace(FIDELITY, f"<a href='{FIDELITY}'>{FIDELITY}</a>", 1)


# --- matching ---------------------------------------------------------------------------------------


def _in_order(events: Sequence[Event], steps: Sequence[Step], start: int = 0) -> list[int]:
    """The positions of the steps matched in order from ``start``, greedily: earliest is best."""
    found: list[int] = []
    at = start
    for step in steps:
        hit = next((i for i in range(at, len(events)) if step.matches(events[i])), None)
        if hit is None:
            break
        found.append(hit)
        at = hit + 1
    return found


def _any_order(events: Sequence[Event], steps: Sequence[Step]) -> list[int | None]:
    """Each step's event, each event used once (a maximum bipartite matching, Kuhn's)."""
    can = [[i for i, e in enumerate(events) if s.matches(e)] for s in steps]
    owner: dict[int, int] = {}

    def place(s: int, seen: set[int]) -> bool:
        for i in can[s]:
            if i not in seen:
                seen.add(i)
                if i not in owner or place(owner[i], seen):
                    owner[i] = s
                    return True
        return False

    for s in range(len(steps)):
        place(s, set())
    got: list[int | None] = [None] * len(steps)
    for i, s in owner.items():
        got[s] = i
    return got


def expect(
    log: Iterable[Event],
    steps: Iterable[Step | str],
    *,
    ordered: bool = True,
    partial: bool = True,
    side: Side | None = None,
    conn: str | None = None,
) -> Verdict:
    """Whether ``steps`` happened in ``log``, as a :class:`Verdict` that says why not.

    ``ordered``: the steps happen in that order (else each matches a different event, in any order).
    ``partial=False``: no other event comes between them. ``side``/``conn`` look at one side or one
    connection only, so the other side's events never come between.
    """
    pattern = (_as_step(steps),) if isinstance(steps, Step | str) else tuple(_as_step(s) for s in steps)
    everything = log if isinstance(log, EventLog) else EventLog(list(log))
    with language(everything.lang):
        verdict = _expect(everything, pattern, ordered, partial, side, conn)
    return replace(verdict, lang=everything.lang)


def _expect(
    everything: EventLog,
    pattern: tuple[Step, ...],
    ordered: bool,
    partial: bool,
    side: Side | None,
    conn: str | None,
) -> Verdict:
    events = list(everything.filter(side=side, conn=conn))
    expected = _expected(pattern, ordered, partial, side, conn)
    if not pattern:
        return Verdict(True, expected, pattern, ())
    if ordered:
        return _ordered(everything, events, pattern, expected, partial, side)
    return _unordered(everything, events, pattern, expected, partial, side)


def _expected(steps: Sequence[Step], ordered: bool, partial: bool, side: str | None, conn: str | None) -> str:
    words = [str(s) for s in steps]
    if not words:
        text = _("nothing")
    elif ordered and len(words) == 2:
        text = _("{first} before {second}").format(first=words[0], second=words[1])
    elif ordered:
        text = _(", then ").join(words)
    elif len(words) > 1:
        text = _("{some} and {last}, in any order").format(some=", ".join(words[:-1]), last=words[-1])
    else:
        text = words[0]
    if not partial and len(words) > 1:
        text += _(", with nothing between")
    scope = [
        _("{side} side").format(side=side) if side else "",
        _("connection {conn}").format(conn=conn) if conn else "",
    ]
    if any(scope):
        text += " ({})".format(_("{scope} only").format(scope=_(" and ").join(s for s in scope if s)))
    return text


def _ordered(
    log: EventLog,
    events: list[Event],
    steps: tuple[Step, ...],
    expected: str,
    partial: bool,
    side: Side | None,
) -> Verdict:
    if partial:
        found = _in_order(events, steps)
    else:  # the longest run of steps matched back to back, at any start
        found = []
        for start in range(len(events)):
            run: list[int] = []
            for offset, step in enumerate(steps):
                at = start + offset
                if at >= len(events) or not step.matches(events[at]):
                    break
                run.append(at)
            if len(run) > len(found):
                found = run
            if len(found) == len(steps):
                break
    matched = tuple(events[i] for i in found) + (None,) * (len(steps) - len(found))
    if len(found) == len(steps):
        return Verdict(True, expected, steps, matched)
    failing = len(found)
    step = steps[failing]
    after = found[-1] if found else -1
    if found:
        where = (
            _("{step} did not come right after {previous} (seq {seq})")
            if not partial
            else _("{step} did not come after {previous} (seq {seq})")
        )
        problem = where.format(step=step, previous=steps[failing - 1], seq=events[after].seq)
    else:
        problem = _("{step} never happened").format(step=step)
    hints = []
    earlier = [e for e in events[: after + 1] if step.matches(e)]
    later = [e for e in events[after + 1 :] if step.matches(e)]
    if earlier and not later:
        problem = _("{step} happened (seq {seq}) before {previous}, not after it").format(
            step=step, seq=earlier[0].seq, previous=steps[failing - 1]
        )
        hints.append(order_hint(step, steps[failing - 1], side))
    elif later and not partial:
        between = events[after + 1 : events.index(later[0])]
        problem = _("{step} came (seq {seq}) with other events between").format(step=step, seq=later[0].seq)
        hints.append(
            _(
                "other events came first: {kinds}; pass `partial=True`, or look at one side "
                "or connection with `side=` or `conn=`"
            ).format(kinds=kinds_in(between))
        )
    near = nearest(events, step, after)
    if not hints or later:  # when it only came in the wrong order, the order is the whole story
        hints += hints_for(log, events, step, near, side)
    return Verdict(False, expected, steps, matched, problem, instead(step, near), unique(hints))


def _unordered(
    log: EventLog,
    events: list[Event],
    steps: tuple[Step, ...],
    expected: str,
    partial: bool,
    side: Side | None,
) -> Verdict:
    got = _any_order(events, steps)
    if None in got:
        failing = got.index(None)
        step = steps[failing]
        matched = tuple(events[i] if i is not None else None for i in got)
        alone = [e for e in events if step.matches(e)]
        if alone:  # there is one, but another step took it
            if len(alone) > 1:
                only = _("{step} happened only {count} times, fewer than expected")
            else:
                only = _("{step} happened only {count} time, fewer than expected")
            problem = only.format(step=step, count=len(alone))
        else:
            problem = _("{step} never happened").format(step=step)
        near = nearest(events, step, -1)
        hints = hints_for(log, events, step, near, side)
        return Verdict(False, expected, steps, matched, problem, instead(step, near), unique(hints))
    if partial:
        return Verdict(True, expected, steps, tuple(events[i] for i in got if i is not None))
    n = len(steps)
    for start in range(len(events) - n + 1):
        window = events[start : start + n]
        here = _any_order(window, steps)
        if None not in here:
            return Verdict(True, expected, steps, tuple(window[i] for i in here if i is not None))
    spots = sorted(i for i in got if i is not None)
    between = [e for e in events[spots[0] : spots[-1] + 1] if e not in {events[i] for i in spots}]
    matched = tuple(events[i] if i is not None else None for i in got)
    problem = _("each step happened, but with other events between")
    hint = _(
        "other events came between: {kinds}; pass `partial=True`, or look at one side or "
        "connection with `side=` or `conn=`"
    ).format(kinds=kinds_in(between))
    return Verdict(False, expected, steps, matched, problem, tuple(line(e) for e in between[:SHOWN]), (hint,))
