"""Live views: filters, escaping, throttling under a burst, updates from other threads, no leaks.

No kernel is needed: ipywidgets gives widgets a dummy comm outside one.
"""

import threading
import time

import ipywidgets
import pytest
from test_diagram import XSS, seed_recorder
from test_feed import wait_for

from wslab.recorder import LogicalClock, Recorder
from wslab.widgets import ConnectionPanel, DiagramView, EventTable, LabView


@pytest.fixture
def views():
    made = []

    def make(cls, *args, **kwargs):
        view = cls(*args, **kwargs)
        made.append(view)
        return view

    yield make
    for view in made:
        view.close()


def widget_count() -> int:
    return len(ipywidgets.widgets.widget._instances)


# --- the table ------------------------------------------------------------------------------------


def test_the_table_has_a_row_per_event_with_close_meanings(views):
    table = views(EventTable, seed_recorder())
    assert [e.seq for e in table.shown] == list(range(1, 15))
    assert "1000 normal closure, reason &#x27;bye&#x27;; closed by client" in table.html.value
    assert "'Bonjour serveur!' (text, 16 B)" in repr(table)


def test_the_table_filters_by_side_event_and_connection(views):
    recorder = seed_recorder()
    recorder.record(side="client", kind="open", endpoint="client2", conn="c2", peer="server")
    table = views(EventTable, recorder)
    table.set_filter(side="server")
    assert {e.side for e in table.shown} == {"server"}
    table.set_filter(side="all", kind="close")
    assert [e.seq for e in table.shown] == [13, 14]
    table.set_filter(kind="all", conn="c2")
    assert [e.seq for e in table.shown] == [15]
    assert table.conn.options == (("all", ""), ("c1", "c1"), ("c2", "c2"))
    table.conn.value = ""  # as a click in the dropdown would
    assert len(table.shown) == 15


def test_the_table_shows_the_newest_rows_and_counts_the_hidden_ones(views):
    table = views(EventTable, seed_recorder(), rows=5)
    assert [e.seq for e in table.shown] == [10, 11, 12, 13, 14]
    assert table.hidden == 9
    assert "9 older rows hidden" in table.html.value
    table.set_filter(side="client")
    assert table.hidden == 7 - 5


def test_html_in_a_payload_is_text_in_the_table_and_the_diagram(views):
    recorder = seed_recorder()
    recorder.record(
        side="client", kind="send", endpoint="client", conn="c1", peer="server", data=XSS, size=28
    )
    recorder.record(side="client", kind="close", endpoint="client", conn="c1", code=4000, reason=XSS)
    view = views(LabView, recorder)
    for html in (view.table.html.value, view.diagram.value, view.panel.value):
        pictures = html.replace("<img src='data:image/svg+xml;charset=utf-8,", "")  # the lifeline names
        assert "<img" not in pictures
    assert "&lt;img src=x onerror=alert(1)&gt;" in view.table.html.value
    assert "&lt;img src=x onerror=alert(1)&gt;" in view.diagram.value


# --- the panel ------------------------------------------------------------------------------------


def test_the_panel_shows_state_counts_bytes_and_close_code(views):
    panel = views(ConnectionPanel, seed_recorder())
    (summary,) = panel.connections
    assert (summary.conn, summary.state.name, summary.messages_in, summary.messages_out) == (
        "c1",
        "CLOSED",
        1,
        2,
    )
    assert "1000 normal closure" in panel.value and "closed" in repr(panel)


def test_the_panel_forgets_the_oldest_closed_connections_beyond_its_memory(views):
    recorder = Recorder(clock=LogicalClock())
    for n in range(1, 31):
        recorder.record(side="server", kind="connection", endpoint="server", conn=f"c{n}", peer="x")
        if n <= 25:
            recorder.record(side="server", kind="close", endpoint="server", conn=f"c{n}", code=1000)
    panel = views(ConnectionPanel, recorder, memory=10, rows=4)
    assert len(panel.connections) == 10
    assert [s.conn for s in panel.connections[-5:]] == ["c26", "c27", "c28", "c29", "c30"]
    assert "26 older connections hidden" in panel.value


# --- live behaviour -----------------------------------------------------------------------------------


def record_burst(recorder: Recorder, count: int, seconds: float) -> None:
    """``count`` events spread over about ``seconds``, from a thread, like a busy server."""
    pause = seconds / (count / 50)
    for i in range(count):
        recorder.record(
            side="server", kind="send", endpoint="server", conn="c1", peer="client", data=f"m{i}", size=2
        )
        if i % 50 == 49:
            time.sleep(pause)


def test_a_burst_of_5000_events_gives_at_most_about_ten_refreshes_a_second(views):
    recorder = Recorder(clock=LogicalClock())
    view = views(LabView, recorder)
    before = view.stats()["refreshes"]
    started = time.monotonic()
    burst = threading.Thread(target=record_burst, args=(recorder, 5_000, 1.0))
    burst.start()
    burst.join(timeout=10)
    elapsed = time.monotonic() - started
    assert wait_for(lambda: view.table.shown and view.table.shown[-1].seq == 5_000)
    refreshes = view.stats()["refreshes"] - before
    assert refreshes <= 12 * max(elapsed, 1.0) + 1, (refreshes, elapsed)
    assert refreshes >= 3  # it did refresh during the burst, not only at the end
    assert "'m4999'" in repr(view.diagram)
    assert view.stats()["errors"] == 0


def test_views_update_from_another_thread_while_no_cell_runs(views):
    recorder = seed_recorder()
    view = views(LabView, recorder)
    worker = threading.Thread(
        target=recorder.record,
        kwargs={
            "side": "server",
            "kind": "send",
            "endpoint": "server",
            "conn": "c1",
            "peer": "client",
            "data": "tick",
        },
    )
    worker.start()
    worker.join(timeout=5)
    assert wait_for(lambda: "&#x27;tick&#x27;" in view.table.html.value)
    assert wait_for(lambda: "&#x27;tick&#x27;" in view.diagram.value)


def test_a_real_lab_server_sending_while_idle_reaches_the_views(lab, views):
    server = lab.serve()
    lab.connect(server)
    view = views(LabView, lab)
    server.broadcast("pushed while idle")
    assert wait_for(lambda: "pushed while idle" in view.table.html.value)
    assert wait_for(lambda: view.panel.connections[0].messages_out == 1)


def test_updates_travel_as_widget_state_messages_sent_from_the_timer_thread(views):
    recorder = seed_recorder()
    table = views(EventTable, recorder)
    sent = []
    table.html.comm.send = lambda data=None, buffers=None, **kw: sent.append(
        (threading.current_thread().name, data)
    )
    recorder.record(side="client", kind="open", endpoint="client", conn="c7")
    assert wait_for(lambda: any("c7" in str(data) for _, data in sent))
    thread, data = next((t, d) for t, d in sent if "c7" in str(d))
    assert thread == "wslab-view-refresh"
    assert data["method"] == "update" and "value" in data["state"]


def test_a_part_of_a_lab_view_refreshes_through_its_owner(views):
    recorder = seed_recorder()
    view = views(LabView, recorder, interval=60)
    recorder.record(side="client", kind="open", endpoint="client", conn="c8")
    view.table.refresh()
    assert view.table.shown[-1].conn == "c8"


def test_the_plain_repr_is_what_the_view_shows_and_has_no_addresses(views):
    view = views(LabView, seed_recorder())
    bundle = view._repr_mimebundle_()
    assert bundle["text/plain"] == repr(view)
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert " at 0x" not in repr(view) and "127.0.0.1" not in repr(view)
    assert repr(view) == repr(views(LabView, seed_recorder()))


def test_display_catches_up_with_events_not_yet_refreshed(views):
    recorder = seed_recorder()
    table = views(EventTable, recorder, interval=60)
    recorder.record(side="client", kind="open", endpoint="client", conn="c9")
    assert "c9" in table._repr_mimebundle_()["text/plain"]


def test_closing_views_leaves_no_widget_and_stops_following(views):
    recorder = seed_recorder()
    before = widget_count()
    view = LabView(recorder)
    table = EventTable(recorder)
    assert widget_count() > before
    view.close()
    table.close()
    assert widget_count() == before
    recorder.record(side="client", kind="open", endpoint="client", conn="c2")
    time.sleep(0.2)
    assert view.stats()["refreshes"] == 1 and table.stats()["refreshes"] == 1


# --- the throttle ---------------------------------------------------------------------------------


def test_a_wide_live_diagram_starts_at_its_newest_corner(views):
    recorder = Recorder(clock=LogicalClock())
    narrow = views(DiagramView, recorder)
    for n in range(8):
        recorder.record(side="client", kind="open", endpoint=f"client{n}", conn=f"c{n}", peer=f"server{n}")
    wide = views(DiagramView, recorder)
    for view in (narrow, wide):  # the bottom first; the right end first when it scrolls sideways
        assert "flex-direction:column-reverse" in view.value and "direction:rtl" in view.value
        assert "position:sticky;top:0" in view.value  # the lifeline names stay in view
    assert wide.value.count("<svg ") == 1  # the rows inline, the names an image


def test_a_diagram_view_draws_only_its_window(views):
    recorder = Recorder(clock=LogicalClock())
    record_burst(recorder, 300, 0.0)
    view = views(DiagramView, recorder, window=20)
    assert "280 earlier events not drawn" in repr(view)
    assert view.svg.count("&#x27;m") == 20
