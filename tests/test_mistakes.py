"""The hints of a failed expect (wslab/_mistakes.py): who closed first, what a close code means, when
`error` fires, what happened instead."""

from __future__ import annotations

from _helpers import closed_by

import wslab
from wslab import Step, expect


def test_expected_the_servers_close_but_the_client_closed_first():
    verdict = expect(closed_by("client"), [Step("closing", side="server"), Step("close", side="client")])
    assert not verdict
    text = str(verdict)
    assert "expected the server's `closing` before the client's `close`" in text
    assert "seq 4, client closing: 1000 normal closure" in text
    assert "hint: the client closed first: did you call `server.close()`?" in text


def test_expected_the_clients_close_but_the_server_closed_first():
    verdict = expect(closed_by("server", 1001), [Step("close", side="client", initiator="client")])
    assert not verdict
    assert "the server closed first: did you call `client.close()`?" in verdict.hints
    assert "(initiator hub, not client)" in str(verdict)


def test_a_wrong_close_code_is_explained_both_ways():
    verdict = expect(closed_by("client", 1000), [Step("close", side="server", code=1001)])
    assert not verdict
    assert "code 1000, not 1001" in str(verdict)
    assert (
        "1000 is a normal close from the client; 1001 means going away (a server shutting down)"
        in verdict.hints
    )


def test_an_error_that_never_came_says_when_error_fires():
    verdict = expect(closed_by("server"), [Step("error", side="client")])
    assert not verdict
    assert "fires `error` only when the connection fails" in verdict.hint
    assert "docs/fidelity.md" in verdict.hint
    assert "<a href='docs/fidelity.md'>" in verdict._repr_html_()


def test_a_step_that_matched_nothing_lists_the_kinds_of_that_side():
    verdict = expect(closed_by("client"), ["server:message"])
    assert verdict.hints == ("the server recorded only `connection`, `close`",)
    nobody = expect(closed_by("client"), [Step("open", side="browser")])
    assert "nothing was recorded for the browser yet" in nobody.hint


def test_the_wrong_order_says_so_and_why_the_server_closes_first():
    verdict = expect(closed_by("client"), ["client:close", "server:close"])
    assert not verdict
    assert "the server's `close` happened (seq 5) before the client's `close`, not after it" in str(verdict)
    assert "the server ends the TCP connection first (RFC 6455 7.1.1)" in verdict.hint
    assert "did you call" not in verdict.hint  # the order is the whole story here
    assert expect(closed_by("client"), ["client:close", "server:close"], ordered=False)


def test_two_application_codes_are_told_apart_by_the_code_not_the_meaning() -> None:
    lab = wslab.Lab(clock="logical", name="expect-codes")
    try:

        async def ban(message: object, peer: wslab.Peer) -> None:
            await peer.close(4000, "bye")

        client = lab.connect(lab.serve(ban, name="strict"), name="ivan")
        client.send("x")
        client.wait_closed()
        verdict = lab.expect(Step("close", side="server", code=4001))
        assert not verdict
        assert "4000 and 4001 are both the application's own codes" in verdict.hint
    finally:
        lab.close()
