"""The recorder: a bounded, thread-safe log of events that views subscribe to.

It is the one place events are numbered. Its buffer is a ring: when full, the oldest event goes,
and the drop is counted, never silent (``dropped``, and the gap before the first ``seq``).
"""

from __future__ import annotations

import dataclasses
import itertools
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from ._redact import redact_headers, redact_text
from .eventlog import EventLog
from .events import Event, Kind, Side

__all__ = ["Clock", "LogicalClock", "Recorder", "Subscriber", "WallClock", "clock_unit"]

Clock = Callable[[], int]
"""A clock returns an integer time: a logical tick or microseconds."""

Subscriber = Callable[[Event], None]


_EVENT_FIELDS = [
    "seq",
    "time",
    "side",
    "kind",
    "endpoint",
    "conn",
    "peer",
    "data",
    "size",
    "code",
    "reason",
    "initiator",
    "detail",
    "headers",
    "error",
    "exc",
    "frame",
    "was_clean",
]
_new = object.__new__
_set = tuple(getattr(Event, name).__set__ for name in _EVENT_FIELDS if hasattr(Event, name))


def _fast_event(
    seq: int,
    time: int,
    side: Any,
    kind: Any,
    endpoint: str,
    conn: Any = None,
    peer: Any = None,
    data: Any = None,
    size: Any = None,
    code: Any = None,
    reason: Any = None,
    initiator: Any = None,
    detail: Any = None,
    headers: Any = None,
    error: Any = None,
    exc: Any = None,
    frame: Any = None,
    was_clean: Any = None,
) -> Event:
    """``Event(**fields)`` in about half the time: the recorder makes one per lifecycle moment.

    A frozen slotted dataclass sets each field through ``object.__setattr__``, looked up again
    for every field; this sets the slots through their own descriptors, which makes the same
    object. :func:`_event_maker` keeps it only while it matches ``Event`` field for field.
    """
    e = _new(Event)
    s = _set
    s[0](e, seq)
    s[1](e, time)
    s[2](e, side)
    s[3](e, kind)
    s[4](e, endpoint)
    s[5](e, conn)
    s[6](e, peer)
    s[7](e, data)
    s[8](e, size)
    s[9](e, code)
    s[10](e, reason)
    s[11](e, initiator)
    s[12](e, detail)
    s[13](e, headers)
    s[14](e, error)
    s[15](e, exc)
    s[16](e, frame)
    s[17](e, was_clean)
    return e


def _event_maker() -> Callable[..., Event]:
    """:func:`_fast_event` if it still matches ``Event`` exactly, else ``Event`` itself."""
    fields = dataclasses.fields(Event)
    if (
        tuple(f.name for f in fields) != tuple(_EVENT_FIELDS)
        or hasattr(Event, "__post_init__")
        or any(not f.init or f.default_factory is not dataclasses.MISSING for f in fields)
        or any(f.default not in (None, dataclasses.MISSING) for f in fields)
    ):
        return Event
    sample: dict[str, Any] = {"seq": 1, "time": 2, "side": "server", "kind": "message", "endpoint": "s"}
    sample.update(conn="c1", data=b"x", size=1, headers=(("a", "b"),))
    if _fast_event(**sample) != Event(**sample) or repr(_fast_event(**sample)) != repr(Event(**sample)):
        return Event
    return _fast_event


_make_event = _event_maker()


def _slow_data_event(
    seq: int, time: int, side: Any, kind: Any, endpoint: str, conn: Any, peer: Any, data: Any, size: Any
) -> Event:
    return _make_event(
        seq=seq,
        time=time,
        side=side,
        kind=kind,
        endpoint=endpoint,
        conn=conn,
        peer=peer,
        data=data,
        size=size,
    )


# the per-message events (``message``, ``send``) pass their nine fields positionally
_make_data_event = _fast_event if _make_event is _fast_event else _slow_data_event


def clock_unit(clock: Clock) -> str:
    """``"tick"`` for a logical clock, ``"µs"`` otherwise."""
    return str(getattr(clock, "unit", "µs"))


class LogicalClock:
    """Ticks 1, 2, 3, …: the same notebook gives the same times on every run."""

    unit = "tick"

    def __init__(self) -> None:
        self._ticks = itertools.count(1)

    def __call__(self) -> int:
        return next(self._ticks)

    def __repr__(self) -> str:
        return "LogicalClock()"


class WallClock:
    """Microseconds since the clock was made (monotonic)."""

    unit = "µs"

    def __init__(self) -> None:
        self._start = time.monotonic_ns()

    def __call__(self) -> int:
        return (time.monotonic_ns() - self._start) // 1000

    def __repr__(self) -> str:
        return "WallClock()"


MAX_PAYLOAD = 64 * 1024
"""Bytes of one event's payload that the ring keeps: a larger one keeps its head and its real size."""

PAYLOAD_BUDGET = 64 * 1024 * 1024
"""Bytes of payload the ring keeps in all: past it, the oldest events go, counted as dropped."""


def _kept_bytes(item: Any) -> int:
    """How many payload bytes one ring entry (an Event, or a compact tuple from ``_jot``) holds."""
    data = item[7] if type(item) is tuple else item.data
    return len(data) if data is not None else 0


class Recorder:
    """Numbers, stores and publishes events, within a count and a byte budget.

    It is safe to call from any thread. Subscribers are called synchronously with each new event;
    one that raises is counted in ``subscriber_errors`` and never stops recording. Memory is
    bounded however long a lab runs: at most ``capacity`` events, each payload cut to its first
    ``max_payload`` bytes (``truncated`` counts them; ``size`` keeps the real size), and at most
    ``payload_budget`` bytes of payload in all (the oldest events go first, counted in ``dropped``).
    """

    def __init__(
        self,
        *,
        capacity: int = 100_000,
        clock: Clock | None = None,
        max_payload: int = MAX_PAYLOAD,
        payload_budget: int = PAYLOAD_BUDGET,
    ) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        if max_payload < 0 or payload_budget < max_payload:
            raise ValueError("max_payload must be >= 0 and payload_budget >= max_payload")
        self.capacity = capacity
        self.max_payload = max_payload
        self.payload_budget = payload_budget
        self.truncated = 0
        """How many payloads were cut to their first ``max_payload`` bytes."""
        self._payload_bytes = 0
        self.clock: Clock = clock if clock is not None else WallClock()
        self.lang: str | None = None
        """The language the lab prints in, passed to every snapshot (None: the process's)."""
        self._events: deque[Event] = deque(maxlen=capacity)
        # _jot() may keep its newest events as compact tuples; every event up to this seq is an Event
        self._thawed = 0
        self._lock = threading.RLock()
        self._seq = 0
        self._dropped = 0
        self._subscribers: tuple[Subscriber, ...] = ()  # replaced, never mutated: record() needs no copy
        self.cleared = 0
        self.subscriber_errors = 0
        self.last_subscriber_error: BaseException | None = None

    @property
    def dropped(self) -> int:
        """How many of the oldest events the ring buffer has let go."""
        return self._dropped

    @property
    def total(self) -> int:
        """How many events were ever recorded (kept plus dropped)."""
        return self._seq

    def __len__(self) -> int:
        return len(self._events)

    def record(self, **fields: Any) -> Event:
        """Make the next event from ``fields`` (everything but ``seq`` and ``time``) and publish it.

        Credentials never enter the log, whoever records: header values, and the query values and
        passwords of URLs quoted in ``detail`` or ``error``, are masked here too (see ``_redact``).
        """
        if fields.get("headers"):
            fields["headers"] = redact_headers(tuple(fields["headers"]))
        for name in ("detail", "error"):
            text = fields.get(name)
            if isinstance(text, str) and text:
                fields[name] = redact_text(text)
        data = fields.get("data")
        if data is not None and len(data) > self.max_payload:
            fields["data"] = self._clip(data)
        with self._lock:
            self._seq += 1
            event = _make_event(seq=self._seq, time=self.clock(), **fields)
            if self._thawed == self._seq - 1:  # nothing for _thaw to do: readers skip it
                self._thawed = self._seq
            self._append(event, event.data)
            subscribers = self._subscribers
        if subscribers:
            self._publish(subscribers, event)
        return event

    def _note(
        self,
        side: Side,
        kind: Kind,
        endpoint: str,
        conn: str | None,
        peer: str | None,
        data: Any,
        size: int | None,
    ) -> Event:
        """``record(side=…, kind=…, endpoint=…, conn=…, peer=…, data=…, size=…)``, for the hot path.

        The same event, numbered and published the same way, without the keyword dicts; it takes
        no headers, detail or error, so there is nothing to redact.
        """
        if size is not None and size > self.max_payload:
            data = self._clip(data)
        with self._lock:
            self._seq = seq = self._seq + 1
            event = _make_data_event(seq, self.clock(), side, kind, endpoint, conn, peer, data, size)
            if self._thawed == seq - 1:
                self._thawed = seq
            self._append(event, data)
            subscribers = self._subscribers
        if subscribers:
            self._publish(subscribers, event)
        return event

    def _jot(
        self,
        side: Side,
        kind: Kind,
        endpoint: str,
        conn: str | None,
        peer: str | None,
        data: Any,
        size: int | None,
    ) -> None:
        """:meth:`_note` when nobody needs the event now (no hook for its kind, no subscriber).

        The ring keeps a tuple of its fields; :meth:`_thaw` turns it into the same :class:`Event`
        when someone reads the ring (``snapshot``, ``since``). Numbering, drops and times are
        decided here, as for any event.
        """
        if size is not None and size > self.max_payload:
            data = self._clip(data)
        with self._lock:
            self._seq = seq = self._seq + 1
            subscribers = self._subscribers
            if not subscribers:
                self._append((seq, self.clock(), side, kind, endpoint, conn, peer, data, size), data)
                return
            # someone follows every event (decided under the lock, as record() does): make it now
            event = _make_data_event(seq, self.clock(), side, kind, endpoint, conn, peer, data, size)
            self._append(event, data)
            if self._thawed == seq - 1:
                self._thawed = seq
        self._publish(subscribers, event)

    def _clip(self, data: Any) -> Any:
        """The head of an oversized payload (the event's ``size`` still says how big it was)."""
        self.truncated += 1
        return data[: self.max_payload]

    def _append(self, item: Any, data: Any) -> None:
        """The ring's one way in (hold the lock): count and byte budgets, drops counted."""
        events = self._events
        if len(events) == self.capacity:
            self._dropped += 1
            self._payload_bytes -= _kept_bytes(events[0])  # the deque lets it go on append
        events.append(item)
        if data is not None:
            self._payload_bytes += len(data)
            while self._payload_bytes > self.payload_budget and len(events) > 1:
                self._payload_bytes -= _kept_bytes(events.popleft())
                self._dropped += 1

    @property
    def payload_bytes(self) -> int:
        """Payload bytes the ring holds now (at most ``payload_budget``)."""
        return self._payload_bytes

    def _thaw(self) -> None:
        """Make Events of the tuples :meth:`_jot` left at the ring's newest end (hold the lock)."""
        events = self._events
        count = min(len(events), self._seq - self._thawed)
        self._thawed = self._seq
        if count:
            tail: list[Any] = [events.pop() for _ in range(count)]
            tail.reverse()
            events.extend(_make_data_event(*item) if type(item) is tuple else item for item in tail)

    def _publish(self, subscribers: tuple[Subscriber, ...], event: Event) -> None:
        for subscriber in subscribers:
            try:
                subscriber(event)
            except Exception as exc:  # a broken view must never break recording
                self.subscriber_errors += 1
                self.last_subscriber_error = exc

    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        """Call ``subscriber`` with every new event; returns a function that unsubscribes."""
        with self._lock:
            self._subscribers = (*self._subscribers, subscriber)

        def unsubscribe() -> None:
            with self._lock:
                if subscriber in self._subscribers:
                    kept = list(self._subscribers)
                    kept.remove(subscriber)
                    self._subscribers = tuple(kept)

        return unsubscribe

    def snapshot(self) -> EventLog:
        """The kept events as an immutable :class:`EventLog`."""
        with self._lock:
            if self._thawed != self._seq:
                self._thaw()
            return EventLog(
                tuple(self._events), dropped=self._dropped, time_unit=clock_unit(self.clock), lang=self.lang
            )

    def since(self, seq: int) -> list[Event]:
        """Events with a sequence number above ``seq`` that are still kept (for incremental views)."""
        with self._lock:
            if self._thawed != self._seq:
                self._thaw()
            if not self._events or self._events[-1].seq <= seq:
                return []
            newer = min(len(self._events), self._events[-1].seq - seq)
            # from the right end: a view asking for 10 new events never walks 100,000 old ones
            found = list(itertools.islice(reversed(self._events), newer))
        found.reverse()
        return found

    def clear(self) -> None:
        """Forget the kept events (numbering goes on, so nothing is ever renumbered)."""
        with self._lock:
            self.cleared += len(self._events)
            self._events.clear()
            self._payload_bytes = 0
            self._thawed = self._seq
