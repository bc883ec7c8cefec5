"""The lifecycle: summaries of connections, folded batch by batch (wslab/lifecycle.py)."""

import itertools
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_diagram import seed_recorder

from wslab.events import Event
from wslab.lifecycle import ConnectionBook, State, check_close, summarize_connections


@settings(max_examples=30, deadline=None)
@given(cuts=st.lists(st.integers(min_value=1, max_value=13), max_size=5))
def test_a_book_folded_batch_by_batch_equals_one_summary_of_everything(cuts):
    events = list(seed_recorder().snapshot())
    events += [replace(e, seq=e.seq + 14, conn="c2") for e in events[:9]]
    book = ConnectionBook()
    bounds = [0, *sorted(set(cuts)), len(events)]
    for start, end in itertools.pairwise(bounds):
        book.add(events[start:end])
    assert book.connections == summarize_connections(events)


def test_a_book_forgets_the_oldest_closed_connections_beyond_its_memory_and_counts_them():
    events = [
        Event(
            seq=n, time=n, side="server", kind="close" if n % 2 else "connection", endpoint="s", conn=f"c{n}"
        )
        for n in range(1, 21)
    ]
    book = ConnectionBook(memory=12)
    book.add(events)
    assert len(book.connections) == 12 and book.forgotten == 8
    assert all(s.state is State.OPEN for s in book.connections[:2])  # open ones are never forgotten
    shown, hidden = book.latest(4)
    assert [s.conn for s in shown] == ["c17", "c18", "c19", "c20"] and hidden == 16


@pytest.mark.parametrize("code", [1000, 1001, 1008, 1011, 3000, 4999])
def test_codes_allowed_on_the_wire_pass(code):
    check_close(code, "ok")


@pytest.mark.parametrize("code", [1005, 1006, 1015])
def test_reporting_codes_are_never_sent(code):
    with pytest.raises(ValueError, match="never sent in a close frame"):
        check_close(code)


@pytest.mark.parametrize("code", [0, 999, 1004, 2999, 5000])
def test_codes_outside_the_sendable_ranges_are_refused(code):
    with pytest.raises(ValueError, match="cannot be sent"):
        check_close(code)


def test_a_reason_longer_than_123_bytes_is_refused():
    check_close(1000, "é" * 61)  # 122 bytes
    with pytest.raises(ValueError, match="123 bytes"):
        check_close(1000, "é" * 62)
