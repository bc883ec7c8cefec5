"""Closing: codes that may not be sent are refused before anything happens."""

import pytest

from wslab import State
from wslab.lifecycle import check_close


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


def test_a_client_closing_with_1006_records_nothing_and_stays_open(lab):
    client = lab.connect(lab.serve())
    before = len(lab.events)
    with pytest.raises(ValueError, match="1006"):
        client.close(1006)
    assert len(lab.events) == before and client.state is State.OPEN
    client.close(1000)
    assert client.close_code == 1000


def test_a_handler_closing_with_a_reserved_code_is_a_handler_error_1011(lab):
    async def handler(message, peer):
        await peer.close(1005)

    client = lab.connect(lab.serve(handler))
    client.send("x")
    client.wait_closed()
    errors = lab.events.filter(side="server", kind="error")
    assert "1005" in (errors[0].error or "")
    assert client.close_code == 1011


def test_wait_closed_returns_only_once_the_client_recorded_its_close(lab):
    # the wire keeps the client's answering close frame, so the server's end stays open a while:
    # the client's socket is closed before its close event can be recorded
    server = lab.serve()
    wire = lab.wire(server)
    client = lab.connect(wire)
    wire.hold("client→server")
    client.send("x")
    wire.corrupt("unmask")
    client.wait_closed()
    assert client.close_code == 1002
    assert lab.events.filter(side="client", kind="close")[-1].code == 1002
