"""EventLog: filters, exports and the text/HTML tables learners read."""

import json
import re

from wslab.eventlog import EventLog
from wslab.recorder import LogicalClock, Recorder


def seed_log() -> EventLog:
    r = Recorder(clock=LogicalClock())
    r.record(side="client", kind="connecting", endpoint="client", conn="c1", peer="server", data="ws://h:1/")
    r.record(side="server", kind="connection", endpoint="server", conn="c1", peer="client")
    r.record(side="client", kind="open", endpoint="client", conn="c1", peer="server")
    r.record(side="client", kind="send", endpoint="client", conn="c1", data="Bonjour serveur!", size=16)
    r.record(side="server", kind="message", endpoint="server", conn="c1", data="Bonjour serveur!", size=16)
    r.record(side="client", kind="message", endpoint="client", conn="c2", data=b"\x01\x02", size=2)
    r.record(side="client", kind="close", endpoint="client", conn="c1", code=1000, reason="bye")
    return r.snapshot()


def test_filter_by_side_kind_and_connection():
    log = seed_log()
    assert log.filter(side="server").kinds() == ["server:connection", "server:message"]
    assert [e.seq for e in log.filter(kind=("open", "close"))] == [3, 7]
    assert [e.seq for e in log.filter(conn="c2")] == [6]
    assert [e.seq for e in log.filter(side="client", kind="message")] == [6]


def test_text_table_has_a_row_per_event_and_plain_close_meanings():
    text = seed_log().to_text()
    lines = text.splitlines()
    assert lines[0].split() == ["seq", "time", "conn", "side", "who", "event", "details"]
    assert len(lines) == 1 + 7
    assert "1000 normal closure, reason 'bye'" in text
    assert "'Bonjour serveur!' (text, 16 B)" in text
    assert "<01 02> (binary, 2 B)" in text


def test_text_table_hides_old_rows_and_says_so():
    text = seed_log().to_text(max_rows=2)
    assert "(5 older rows hidden)" in text
    assert len(text.splitlines()) == 1 + 1 + 2


def test_no_port_appears_in_the_table():
    assert "h:1" not in seed_log().to_text()


def test_jsonl_round_trip():
    log = seed_log()
    text = log.to_jsonl()
    assert len(text.splitlines()) == 7
    json.loads(text.splitlines()[0])
    assert EventLog.from_jsonl(text) == log


def test_dataframe_has_one_row_per_event():
    frame = seed_log().to_dataframe()
    assert list(frame.index) == [1, 2, 3, 4, 5, 6, 7]
    assert frame.loc[7, "code"] == 1000


def test_html_table_escapes_hostile_payloads():
    r = Recorder(clock=LogicalClock())
    r.record(side="server", kind="message", endpoint="server", data="<img src=x onerror=alert(1)>", size=28)
    r.record(side="server", kind="close", endpoint="<b>s</b>", code=1000, reason="</table><script>x</script>")
    html = r.snapshot().to_html()
    assert "<img" not in html and "<script" not in html and "<b>s" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html


def test_html_table_wraps_free_text_and_never_grows_past_the_page():
    r = Recorder(clock=LogicalClock())
    r.record(side="client", kind="message", endpoint="w" * 60, conn="c1", data="x" * 300, size=300)
    r.record(side="client", kind="message", endpoint="early", conn="c2", data="x", size=1)
    html = r.snapshot().to_html()
    assert "table-layout:auto;width:auto;max-width:100%" in html  # JupyterLab's table-layout:fixed undone
    cells = re.findall(r"<td style='([^']*)'>", html)
    assert len(cells) == 14
    for column, style in zip(("seq", "time", "conn", "side", "who", "event", "details"), cells, strict=False):
        if column in ("conn", "who", "details"):
            assert "overflow-wrap:anywhere" in style and "white-space:pre-wrap" in style, column
        else:
            assert "white-space:nowrap" in style, column
    assert "min-width:16ch" in cells[4] and "min-width:5ch" in cells[7 + 4]  # a name stays whole up to 16
    assert "min-width:2ch" in cells[2]  # the conn column is no wider than "c1"
