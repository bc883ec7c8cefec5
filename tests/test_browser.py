"""wslab.browser without a browser: the page's reports are fed as the page would send them.

A real page runs in tests/browser/test_e2e_jupyterlab.py; here a Python socket stands in for the
page's WebSocket on the route the widget gives it, so the server's side is real.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from _helpers import SECRETS, no_secret_in
from websockets.sync.client import connect

import wslab
from wslab.browser import SEED_CLIENT_JS, SEED_URL, Browser, _module
from wslab.lifecycle import summarize_connections

JS = Path(wslab.__file__).with_name("js")


def page_says(browser: Browser, **content: object) -> None:
    browser._on_page(None, content, None)


def test_the_widget_module_runs_the_seeds_client_with_only_its_url_replaced() -> None:
    module = _module()
    assert SEED_CLIENT_JS.count(SEED_URL) == 1
    assert SEED_CLIENT_JS.replace(SEED_URL, "url") in module
    for listener in ("'open'", "'message'", "'close'", "'error'"):
        assert f"socket.addEventListener({listener}" in module
    assert "/*SEED*/" not in module


def test_the_page_code_never_writes_html_from_data() -> None:
    code = (JS / "browser.js").read_text(encoding="utf-8")
    assert "innerHTML" not in code and "insertAdjacentHTML" not in code
    assert "textContent" in code


def test_a_page_session_is_recorded_as_side_browser_with_the_servers_connection_id(lab: wslab.Lab) -> None:
    server = lab.serve(welcome="Bienvenue sur le serveur WebSocket")
    browser = lab.browser(server)
    assert browser.route.kind == "direct"
    with connect(browser.route.url) as page_socket:  # the page's socket, on the widget's route
        page_says(browser, ev="open")
        page_says(browser, ev="message", text=page_socket.recv(timeout=3))
        page_says(browser, ev="send", text="Bonjour serveur!")
        page_socket.send("Bonjour serveur!")
        page_says(browser, ev="message", text=page_socket.recv(timeout=3))
        page_says(browser, ev="closing", code=4000, reason="fini")
        page_socket.close(4000, "fini")
    page_says(browser, ev="close", code=4000, reason="fini", wasClean=True)
    lab.settle()
    events = lab.events
    assert {e.conn for e in events} == {browser.conn}
    assert events.filter(side="browser").kinds() == [
        "browser:connecting",
        "browser:open",
        "browser:message",
        "browser:send",
        "browser:message",
        "browser:closing",
        "browser:close",
    ]
    server_close = events.filter(side="server", kind="close")[0]
    assert (server_close.peer, server_close.code, server_close.initiator) == ("browser", 4000, "browser")
    page_close = events.filter(side="browser", kind="close")[0]
    assert (page_close.code, page_close.reason, page_close.initiator) == (4000, "fini", "browser")
    assert lab.diagram().lifelines == ["browser", "server"]
    (summary,) = summarize_connections(events)
    assert (summary.peer, summary.messages_in, summary.close_code) == ("browser", 1, 4000)
    assert browser.state is wslab.State.CLOSED


def test_an_unclean_close_from_the_server_names_no_initiator_and_says_so(lab: wslab.Lab) -> None:
    server = lab.serve()
    browser = lab.browser(server)
    page_says(browser, ev="open")
    page_says(browser, ev="close", code=1006, reason="", wasClean=False)
    close = lab.events.filter(side="browser", kind="close")[0]
    assert close.initiator is None
    assert "wasClean false" in (close.detail or "")


def test_a_page_that_cannot_reach_the_kernel_says_so_once_as_error_then_close_1006(lab: wslab.Lab) -> None:
    server = lab.serve()
    browser = lab.browser(server)
    why = "this page comes from jupyter.example.org, not from the kernel's machine"
    page_says(browser, ev="unreachable", error=why)
    page_says(browser, ev="unreachable", error=why)
    log = lab.events.filter(side="browser", kind=("error", "close"))
    assert log.kinds() == ["browser:error", "browser:close"]
    assert why in (log[0].error or "") and log[1].code == 1006


def test_an_error_before_open_asks_whether_jupyterlab_is_on_another_machine(lab: wslab.Lab) -> None:
    browser = lab.browser(lab.serve())
    page_says(browser, ev="error", beforeOpen=True)
    assert "another machine" in (lab.events.filter(kind="error")[0].error or "")


def test_malformed_page_reports_are_ignored_not_recorded(lab: wslab.Lab) -> None:
    browser = lab.browser(lab.serve())
    before = lab.recorder.total
    browser._on_page(None, ["not", "a", "dict"], None)
    page_says(browser, ev="message", text=42)
    page_says(browser, ev="no such event")
    assert lab.recorder.total == before


def test_binary_messages_from_the_page_arrive_as_bytes(lab: wslab.Lab) -> None:
    browser = lab.browser(lab.serve())
    browser._on_page(None, {"ev": "message", "binary": True}, [memoryview(b"\x00\x01")])
    event = lab.events.filter(side="browser", kind="message")[0]
    assert (event.data, event.size) == (b"\x00\x01", 2)


def test_the_seeds_console_lines_are_kept_beside_the_table(lab: wslab.Lab) -> None:
    browser = lab.browser(lab.serve())
    page_says(browser, ev="console", level="log", line="Connexion ouverte")
    assert browser.console == ["Connexion ouverte"]
    assert not lab.events.filter(kind="note")


def test_the_plain_text_form_is_the_same_on_every_run_and_shows_no_port(lab: wslab.Lab) -> None:
    server = lab.serve()
    browser = lab.browser(server)
    text = browser._repr_mimebundle_()["text/plain"]
    assert text == repr(browser)
    assert str(server.port) not in text and browser.widget.key not in text
    assert "<Browser 'browser' c1 → server" in text


def test_close_codes_a_page_may_not_send_are_refused_in_python(lab: wslab.Lab) -> None:
    browser = lab.browser(lab.serve())
    with pytest.raises(ValueError, match="1000 or 3000-4999"):
        browser.close(1001)
    with pytest.raises(ValueError):
        browser.close(1005)
    with pytest.raises(TypeError):
        browser.send(b"bytes")  # type: ignore[arg-type]


def test_a_browser_for_a_server_of_another_lab_is_refused(lab: wslab.Lab) -> None:
    with wslab.Lab(name="other") as other:
        foreign = other.serve()
        with pytest.raises(wslab.WslabError, match="not a server or a wire of this lab"):
            lab.browser(foreign)


def test_two_browsers_get_their_own_names_paths_and_connections(lab: wslab.Lab) -> None:
    server = lab.serve()
    first, second = lab.browser(server), lab.browser(server)
    assert (first.name, second.name) == ("browser", "browser2")
    assert (first.path, second.path) == ("/browser", "/browser2")
    assert first.conn != second.conn


def test_a_message_reported_late_by_the_page_is_drawn_once(lab: wslab.Lab) -> None:
    server = lab.serve()
    browser = lab.browser(server)
    with connect(browser.route.url) as page_socket:
        page_socket.send("Bonjour serveur!")  # the server records its message and echo first...
        echo = page_socket.recv(timeout=3)
        lab.settle()
        page_says(browser, ev="open")  # ...the page's reports reach the kernel afterwards
        page_says(browser, ev="send", text="Bonjour serveur!")
        page_says(browser, ev="message", text=echo)
    text = lab.diagram().to_text()
    assert text.count("'Bonjour serveur!'") == 1
    assert text.count("'Serveur a reçu : Bonjour serveur!'") == 1


def test_a_close_the_page_started_but_reported_late_is_drawn_in_protocol_order(lab: wslab.Lab) -> None:
    server = lab.serve()
    browser = lab.browser(server)
    with connect(browser.route.url) as page_socket:
        page_socket.close(4000, "fini")  # the server records its close before the page reports
    lab.settle()
    page_says(browser, ev="open")
    page_says(browser, ev="closing", code=4000, reason="fini")
    page_says(browser, ev="close", code=4000, reason="fini", wasClean=True)
    rows = [line.split(maxsplit=1)[1] for line in lab.diagram().to_text().splitlines()[1:]]
    closes = [row for row in rows if "4000" in row]
    assert closes == [
        "browser -> server: Close 4000 private use by applications 'fini' (started by browser)",
        "server --> browser: Close 4000 private use by applications 'fini' (reply)",
        "[browser] ■ closed 4000 'fini' · by browser",
    ]


def test_the_open_event_says_which_route_the_page_took(lab: wslab.Lab) -> None:
    browser = lab.browser(lab.serve())
    page_says(browser, ev="open", via="proxy")
    opened = lab.events.filter(side="browser", kind="open")[-1]
    assert opened.detail == "the page's socket is open via the proxy route"


def test_watch_fills_in_when_the_page_reports_and_says_so_before(lab: wslab.Lab) -> None:
    browser = lab.browser(lab.serve())
    rows = browser.watch("closing", "close")
    assert repr(rows).endswith("(none yet)")
    assert "the page's arrive while the kernel is idle" in rows._repr_mimebundle_()["text/plain"]
    page_says(browser, ev="open")
    page_says(browser, ev="closing", code=4000, reason="fini")
    page_says(browser, ev="close", code=4000, reason="fini", wasClean=True)
    deadline = time.monotonic() + 3
    while "fini" not in rows.widget.value and time.monotonic() < deadline:
        time.sleep(0.02)
    assert "fini" in rows.widget.value and len(rows.rows()) == 2
    rows.close()


def test_an_advice_script_gets_one_connection_id_per_socket_and_records_its_console(lab: wslab.Lab) -> None:
    from wslab.browser import ADVICE_JS, advice

    assert set(ADVICE_JS) == {"reconnect", "heartbeat", "validate", "backpressure"}
    server = lab.serve()
    browser = advice(lab, server, "reconnect")
    assert browser.name == "reconnect" and browser in lab.browsers
    assert browser.conns == ["c1", "c2", "c3", "c4", "c5"]
    assert "c1…c5" in repr(browser) and "advice-reconnect.js" in repr(browser)
    page_says(browser, ev="connecting", n=2)
    page_says(browser, ev="console", level="log", line="Reconnexion dans 500 ms")
    page_says(browser, ev="open", n=2)
    page_says(browser, ev="open", n=9)  # no such socket: ignored
    rows = lab.events.filter(side="browser")
    assert [(e.kind, e.conn) for e in rows][1:] == [("connecting", "c2"), ("note", "c1"), ("open", "c2")]
    assert rows[2].detail == "console.log: Reconnexion dans 500 ms"
    with pytest.raises(ValueError, match="no advice"):
        advice(lab, server, "teleport")


def test_a_long_text_is_recorded_with_its_full_size(lab: wslab.Lab) -> None:
    browser = lab.browser(lab.serve())
    page_says(browser, ev="send", text="x" * 200, size=262144, cut=True)
    assert lab.events.filter(side="browser", kind="send")[0].size == 262144


def test_the_lab_closes_once_every_page_is_done_or_at_the_timeout() -> None:
    from wslab.browser import close_when_pages_are_done

    lab = wslab.Lab(clock="logical", timeout=3.0, settle=1.0, name="closing-later")
    browser = lab.browser(lab.serve())
    later = close_when_pages_are_done(lab, timeout=30)
    assert "1 page widget(s)" in repr(later) and not lab.closed
    page_says(browser, ev="idle")
    assert lab.closed
    other = wslab.Lab(clock="logical", timeout=3.0, settle=1.0, name="closing-at-timeout")
    other.browser(other.serve())
    close_when_pages_are_done(other, timeout=0.2)
    deadline = time.monotonic() + 5
    while not other.closed and time.monotonic() < deadline:
        time.sleep(0.02)
    assert other.closed


def test_the_widget_module_holds_every_script_and_room_for_long_line_numbers() -> None:
    from wslab.browser import ADVICE_JS

    module = _module()
    for name, code in ADVICE_JS.items():
        assert f"{name}: function (url, WebSocket, console, board," in module
        assert code in module
        assert ".innerHTML" not in code and "insertAdjacentHTML" not in code
    assert "padding-left: 3.5em" in module  # "10." and "100." were clipped at 2em


def test_a_closing_later_can_be_cancelled(lab: wslab.Lab) -> None:
    from wslab.browser import close_when_pages_are_done

    browser = lab.browser(lab.serve())
    later = close_when_pages_are_done(lab, timeout=0.1)
    later.cancel()
    time.sleep(0.3)
    page_says(browser, ev="idle")
    assert not lab.closed


def test_a_page_reporting_an_address_with_a_token_is_recorded_masked(lab: wslab.Lab) -> None:
    pytest.importorskip("anywidget")
    browser = lab.browser(lab.serve())
    error = f"The URL 'ws://hub/user/ada/proxy/1/browser?token={SECRETS['api_token']}' is invalid."
    page_says(browser, ev="unreachable", error=error)  # as the page reports it
    (recorded,) = lab.events.filter(side="browser", kind="error")
    assert "token=***" in (recorded.error or "")
    no_secret_in(lab.events.to_jsonl())
