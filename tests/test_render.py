"""HTML and text for the views' tables (wslab/render.py): pure functions, no widgets."""

from wslab.events import Event
from wslab.lifecycle import ConnectionSummary, State
from wslab.render import conn_key, latest_rows, panel_html, panel_text


def event(seq: int, kind: str = "send", side: str = "client") -> Event:
    return Event(seq=seq, time=seq, side=side, kind=kind, endpoint=side, conn="c1")  # type: ignore[arg-type]


def test_connection_ids_sort_by_number():
    assert sorted(["c10", "c2", "c1", "x"], key=conn_key) == ["x", "c1", "c2", "c10"]


def test_the_latest_rows_count_every_event_seen_or_only_the_matching_ones():
    held = [event(n, "close" if n % 5 == 0 else "send") for n in range(1, 21)]
    picked, hidden = latest_rows(held, 3, seen=100)
    assert [e.seq for e in picked] == [18, 19, 20] and hidden == 97
    picked, hidden = latest_rows(held, 3, seen=100, kind="close")
    assert [e.seq for e in picked] == [10, 15, 20] and hidden == 1


def test_the_panel_escapes_names_and_says_when_it_is_empty():
    summary = ConnectionSummary(conn="c1", endpoint="<b>srv</b>", peer=None, state=State.OPEN)
    page = panel_html([summary], 2, "server")
    assert "&lt;b&gt;srv&lt;/b&gt;" in page and "<b>srv" not in page
    assert "2 older connections hidden" in page
    assert panel_text([], 0, None) == (
        "ConnectionPanel: all connections\n"
        "conn  who  peer  state  msgs in  msgs out  bytes in  bytes out  close\n"
        "(no connections yet)"
    )
