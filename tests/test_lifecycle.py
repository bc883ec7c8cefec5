"""The lifecycle: summaries of connections, folded batch by batch (wslab/lifecycle.py)."""

import itertools
from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st
from test_diagram import seed_recorder

from wslab.events import Event
from wslab.lifecycle import ConnectionBook, State, summarize_connections


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
