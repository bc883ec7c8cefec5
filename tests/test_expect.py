"""lab.expect(): patterns of events, and feedback a learner can act on (what, instead, a hint)."""

from __future__ import annotations

import re

import pytest
from _helpers import closed_by
from hypothesis import given, settings
from hypothesis import strategies as st

import wslab
from wslab import Event, EventLog, Step, Verdict, expect
from wslab.events import KINDS, SIDES
from wslab.recorder import LogicalClock, Recorder

# --- hand-made logs ---------------------------------------------------------------------------------


def test_an_ordered_pattern_passes_with_other_events_between():
    verdict = expect(closed_by("client"), [Step("connecting"), "client:open", Step("close", side="client")])
    assert verdict
    assert isinstance(verdict, Verdict)
    assert [e.seq for e in verdict.matched if e] == [1, 3, 6]
    assert str(verdict).startswith("✔ as expected: `connecting`, then the client's `open`, then")


def test_an_error_that_came_passes():
    r = Recorder(clock=LogicalClock())
    r.record(side="client", kind="error", endpoint="client", conn="c1", error="connection refused")
    r.record(side="client", kind="close", endpoint="client", conn="c1", code=1006, was_clean=False)
    assert expect(r.snapshot(), [Step("error"), Step("close", code=1006, was_clean=False)], partial=False)


def test_partial_false_wants_nothing_between():
    log = closed_by("client")
    assert not expect(log, ["client:connecting", "client:open"], partial=False)
    assert expect(log, ["client:connecting", "client:open"], partial=False, side="client")
    verdict = expect(log, ["client:connecting", "client:open"], partial=False)
    assert "other events came first: `connection`" in verdict.hint
    assert expect(log, ["server:close", "client:close"], partial=False)


def test_unordered_steps_each_take_a_different_event():
    log = closed_by("client")
    assert expect(log, ["close", "close"], ordered=False)
    verdict = expect(log, ["close", "close", "close"], ordered=False)
    assert not verdict
    assert "`close` happened only 2 times, fewer than expected" in str(verdict)
    assert "in any order" in verdict.expected
    # a general step must not take the event a specific one needs
    assert expect(log, [Step("close"), Step("close", side="server")], ordered=False)


def test_unordered_partial_false_wants_them_side_by_side():
    log = closed_by("client")
    assert expect(log, ["client:close", "server:close"], ordered=False, partial=False)
    verdict = expect(log, ["client:open", "server:connection"], ordered=False, partial=False)
    assert verdict  # connection (2) and open (3) are neighbours
    apart = expect(log, ["client:connecting", "server:close"], ordered=False, partial=False)
    assert not apart
    assert "each step happened, but with other events between" in str(apart)


def test_side_and_conn_limit_what_is_looked_at():
    log = closed_by("client")
    assert not expect(log, ["close"], side="browser")
    assert expect(log, ["open"], conn="c1")
    verdict = expect(log, ["open"], conn="c9")
    assert "(connection c9 only)" in verdict.expected
    assert not verdict


def test_steps_say_what_they_want_and_refuse_typos():
    assert Step("server:close") == Step("close", side="server")
    assert str(Step("close", side="server", code=1001, reason="bye", who="hub")) == (
        "hub's `close` (code 1001, reason 'bye')"
    )
    assert repr(Step("close", who="hub")) == "Step('close', who='hub')"
    with pytest.raises(TypeError, match="unknown fields"):
        Step("close", cdoe=1000)
    with pytest.raises(ValueError, match="unknown kind"):
        Step("closed")
    with pytest.raises(ValueError, match="unknown side"):
        Step("servr:close")


def test_a_callable_is_a_test_on_the_field():
    assert expect(closed_by("client"), [Step("close", code=lambda c: c < 2000)])
    verdict = expect(closed_by("client"), [Step("close", code=lambda c: c > 4000)])
    assert "code 1000, which fails the test" in str(verdict)


def test_eventlog_expect_and_a_plain_list_of_events():
    log = closed_by("server")
    assert log.expect("server:closing", "client:close")
    assert expect(list(log), ["server:closing"])
    assert expect(log, [])


def test_html_is_escaped():
    hostile = "<script>alert(1)</script>"
    verdict = expect(closed_by("client", 1000, hostile), [Step("close", side="server", reason="<b>x</b>")])
    page = verdict._repr_html_()
    assert "<script>" not in page
    assert "<b>" not in page
    assert "&lt;script&gt;" in page
    assert "<code>close</code>" in page
    assert "&lt;script&gt;" in expect(closed_by("client", 1000, hostile), ["close"])._repr_html_()


# --- real labs --------------------------------------------------------------------------------------


def test_a_real_client_close(lab: wslab.Lab):
    server = lab.serve(name="hub")
    client = lab.connect(server)
    client.send("Bonjour serveur!")
    client.close()
    assert lab.expect(
        "client:open",
        Step("send", side="client", data="Bonjour serveur!"),
        Step("message", side="server", data="Bonjour serveur!"),
        Step("closing", side="client", code=1000),
        Step("close", side="server", who="hub", code=1000, initiator="client"),
        Step("close", side="client", code=1000, was_clean=True),
    )
    verdict = lab.expect(Step("closing", side="server"), Step("close", side="client"))
    assert not verdict
    assert "the client closed first: did you call `server.close()`?" in str(verdict)
    wrong = lab.expect(Step("close", side="server", code=1001))
    assert "1000 is a normal close from the client; 1001 means going away" in wrong.hint


def test_a_real_server_shutdown(lab: wslab.Lab):
    server = lab.serve(name="hub")
    first = lab.connect(server)
    second = lab.connect(server)
    first.send("hi")
    server.close()
    second.wait_closed()
    bye = Step("close", side="client", code=1001, reason="server shutting down", initiator="hub")
    assert lab.expect(Step("closing", side="server", code=1001), bye)
    assert lab.expect("server:closing", "server:close", "client:close", conn="c2", partial=False)
    assert lab.expect(bye, bye, ordered=False)
    verdict = lab.expect(Step("closing", side="client"), conn="c1")
    assert "the server closed first: did you call `client.close()`?" in verdict.hints
    assert not lab.expect("client:error")


def test_a_real_hostile_reason_is_escaped(lab: wslab.Lab):
    server = lab.serve()
    client = lab.connect(server)
    client.close(4000, "<script>alert(1)</script>")
    verdict = lab.expect(Step("close", side="server", code=1000))
    assert not verdict
    assert "<script>" in str(verdict)  # plain text keeps it, as the table does
    assert "<script>" not in verdict._repr_html_()
    assert "4000 is private use by applications; 1000 is a normal close" in verdict.hint


# --- properties -------------------------------------------------------------------------------------

NAMES = st.sampled_from(["client", "hub", "client2", "<b>"])
events_strategy = st.lists(
    st.builds(
        dict,
        side=st.sampled_from(SIDES),
        kind=st.sampled_from(KINDS),
        endpoint=NAMES,
        conn=st.sampled_from([None, "c1", "c2"]),
        data=st.one_of(st.none(), st.text(max_size=8), st.binary(max_size=4)),
        code=st.sampled_from([None, 1000, 1001, 1006]),
        reason=st.one_of(st.none(), st.text(max_size=8)),
        initiator=st.one_of(st.none(), NAMES),
    ),
    max_size=12,
)


def as_log(raw: list[dict[str, object]]) -> EventLog:
    return EventLog([Event(seq=i + 1, time=i + 1, **fields) for i, fields in enumerate(raw)])  # type: ignore[arg-type]


@settings(max_examples=200, deadline=None)
@given(events_strategy)
def test_a_log_satisfies_the_pattern_made_from_its_own_events(raw: list[dict[str, object]]) -> None:
    log = as_log(raw)
    steps = [Step.from_event(e) for e in log]
    for ordered in (True, False):
        for partial in (True, False):
            verdict = expect(log, steps, ordered=ordered, partial=partial)
            assert verdict, str(verdict)
            assert str(verdict).startswith("✔")


@settings(max_examples=200, deadline=None)
@given(events_strategy, st.data())
def test_feedback_always_renders_and_never_injects_markup(raw: list[dict[str, object]], data: st.DataObject):
    log = as_log(raw)
    steps = data.draw(
        st.lists(
            st.builds(
                Step,
                st.sampled_from(KINDS),
                side=st.sampled_from(SIDES),
                code=st.sampled_from([None, 1000, 1001]),
            ),
            max_size=4,
        )
    )
    verdict = expect(log, steps, ordered=data.draw(st.booleans()), partial=data.draw(st.booleans()))
    assert str(verdict)
    tags = set(re.findall(r"<(/?[a-z]+)", verdict._repr_html_()))
    assert tags <= {"div", "/div", "code", "/code", "a", "/a"}


def test_one_step_alone_is_a_pattern_of_one():
    assert expect(closed_by("client"), "server:close")
    assert expect(closed_by("client"), Step("open"))
    assert expect(EventLog(), ["client:open"], ordered=False).expected == "the client's `open`"
