"""Property-based tests: any events at all (hostile text, bytes, odd codes, any order) render in
every view without an exception, never inject markup, and round-trip through JSON lines."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wslab import (
    Diagram,
    Event,
    EventLog,
    FrameInfo,
    Recorder,
    sequence_text,
    summarize_connections,
    to_mermaid,
)
from wslab.describe import describe, preview
from wslab.events import KINDS, SIDES
from wslab.recorder import LogicalClock

HOSTILE = st.sampled_from(
    [
        "<img src=x onerror=alert(1)>",
        "</table><script>alert(1)</script>",
        "]]>",
        "&amp;",
        "'\"",
        "\x00\x1b[31m",
    ]
)
TEXT = st.one_of(st.text(max_size=60), HOSTILE)
NAME = st.one_of(st.sampled_from(["client", "server", "client2", "browser"]), TEXT.filter(bool))

frames = st.builds(
    FrameInfo,
    direction=st.sampled_from(["client→server", "server→client"]),
    opcode=st.sampled_from(["TEXT", "BINARY", "CONT", "PING", "PONG", "CLOSE"]),
    fin=st.booleans(),
    rsv1=st.booleans(),
    masked=st.booleans(),
    mask_key=st.one_of(st.none(), st.binary(min_size=4, max_size=4).map(bytes.hex)),
    length=st.integers(0, 2**63 - 1),
)


@st.composite
def events(draw: st.DrawFn, seq: int = 1) -> Event:
    kind = draw(st.sampled_from(KINDS))
    return Event(
        seq=seq,
        time=draw(st.integers(0, 2**53)),
        side=draw(st.sampled_from(SIDES)),
        kind=kind,
        endpoint=draw(NAME),
        conn=draw(st.one_of(st.none(), st.sampled_from(["c1", "c2", "c3"]), TEXT)),
        peer=draw(st.one_of(st.none(), NAME)),
        data=draw(st.one_of(st.none(), TEXT, st.binary(max_size=64))),
        size=draw(st.one_of(st.none(), st.integers(0, 2**40))),
        code=draw(st.one_of(st.none(), st.integers(0, 65535))),
        reason=draw(st.one_of(st.none(), TEXT)),
        initiator=draw(st.one_of(st.none(), NAME)),
        detail=draw(st.one_of(st.none(), TEXT)),
        headers=draw(st.one_of(st.none(), st.lists(st.tuples(TEXT, TEXT), max_size=4).map(tuple))),
        error=draw(st.one_of(st.none(), TEXT)),
        frame=draw(st.one_of(st.none(), frames)) if kind == "frame" else None,
    )


@st.composite
def logs(draw: st.DrawFn, max_size: int = 12) -> EventLog:
    count = draw(st.integers(0, max_size))
    first = draw(st.integers(1, 1000))
    return EventLog(
        [draw(events(seq=first + i)) for i in range(count)],
        dropped=draw(st.integers(0, 5)),
        time_unit=draw(st.sampled_from(["tick", "µs"])),
    )


PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.handlers: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.handlers += [name for name, _ in attrs if name.startswith("on")]


@PROPERTY
@given(events())
def test_any_event_round_trips_through_a_dict_and_json(event: Event) -> None:
    raw = json.loads(json.dumps(event.to_dict(), ensure_ascii=False))
    assert Event.from_dict(raw) == event


@PROPERTY
@given(logs())
def test_any_log_round_trips_through_json_lines_one_line_per_event(log: EventLog) -> None:
    text = log.to_jsonl()
    assert len(text.split("\n")) - 1 == len(log)  # "\n" only: a payload may hold U+0085
    assert EventLog.from_jsonl(text) == log


@PROPERTY
@given(logs())
def test_any_log_renders_as_text_with_one_row_per_event(log: EventLog) -> None:
    text = log.to_text(max_rows=None)
    if not log:
        assert text == "(no events)"
    else:
        notes = 1 if log.dropped else 0
        # header, ring note, one line per event, whatever line breaks the events carry
        assert len(text.splitlines()) == 1 + notes + len(log)
    for event, cells in zip(log, log.rows(), strict=True):
        assert all(cell.isprintable() for cell in cells)
        describe(event)


@PROPERTY
@given(logs())
def test_any_log_renders_as_html_without_markup_from_the_events(log: EventLog) -> None:
    page = log.to_html()
    parser = _Tags()
    parser.feed(page)
    assert set(parser.tags) <= {"table", "thead", "tbody", "tr", "th", "td", "span"}
    assert parser.tags.count("table") == 1 and parser.handlers == []
    assert parser.tags.count("tr") == 1 + len(log) + (1 if log.dropped else 0)


@PROPERTY
@given(logs(max_size=8), st.sampled_from(["messages", "frames"]))
def test_any_log_draws_as_well_formed_svg_mermaid_and_text(log: EventLog, detail: str) -> None:
    diagram = Diagram(log, detail=detail)  # type: ignore[arg-type]
    root = ET.fromstring(diagram.svg)
    for element in root.iter():
        assert element.tag.rsplit("}", 1)[-1] not in {"script", "foreignObject", "img"}
        assert not [name for name in element.attrib if name.lower().startswith("on")]
    mermaid = to_mermaid(log, detail=detail)  # type: ignore[arg-type]
    assert mermaid.startswith("sequenceDiagram")
    assert "<" not in mermaid.replace("->>", "").replace("-->>", "")
    sequence_text(log, detail=detail)  # type: ignore[arg-type]


@PROPERTY
@given(logs())
def test_any_log_folds_into_connection_summaries(log: EventLog) -> None:
    for side in ("server", "client", None):
        summaries = summarize_connections(log, side=side)
        assert len(summaries) <= len(log)


@PROPERTY
@given(st.one_of(st.none(), TEXT, st.binary(max_size=200)), st.integers(1, 200))
def test_a_preview_is_one_short_line(data: str | bytes | None, limit: int) -> None:
    shown = preview(data, limit)
    assert "\n" not in shown and "\r" not in shown
    if isinstance(data, str):
        assert len(shown) <= max(limit, 1) + 2  # the quotes


OPS = st.lists(
    st.one_of(
        st.tuples(st.just("record"), st.sampled_from(KINDS)),
        st.tuples(st.just("since"), st.integers(-2, 60)),
        st.tuples(st.just("clear"), st.none()),
    ),
    max_size=80,
)


@PROPERTY
@given(st.integers(1, 12), OPS)
def test_the_recorder_numbers_without_gaps_and_counts_every_drop(capacity: int, ops: list[tuple]) -> None:
    recorder = Recorder(capacity=capacity, clock=LogicalClock())
    seen: list[Event] = []
    recorder.subscribe(seen.append)
    recorded = cleared = 0
    for op, arg in ops:
        if op == "record":
            recorded += 1
            event = recorder.record(side="server", kind=arg, endpoint="server")
            assert event.seq == recorded
        elif op == "since":
            newer = recorder.since(arg)
            assert [e.seq for e in newer] == [e.seq for e in recorder.snapshot() if e.seq > arg]
        else:
            cleared += len(recorder)
            recorder.clear()
        kept = recorder.snapshot()
        seqs = [e.seq for e in kept]
        assert seqs == list(range(recorded - len(seqs) + 1, recorded + 1))
        assert len(kept) <= capacity
        assert recorder.total == recorded
        assert recorder.dropped + cleared + len(kept) == recorded
    assert [e.seq for e in seen] == list(range(1, recorded + 1))
