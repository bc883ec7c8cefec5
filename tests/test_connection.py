"""``ending()``: what websockets kept, turned into the ``error`` and ``close`` a browser or Node reports.

No sockets: a stand-in holds exactly the fields ``ending`` reads from a websockets connection.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from websockets.exceptions import PayloadTooBig, ProtocolError
from websockets.frames import Close

from wslab._connection import ending


def connection(
    *,
    sent: Close | None = None,
    rcvd: Close | None = None,
    rcvd_first: bool | None = None,
    parser_exc: BaseException | None = None,
    connection_exc: BaseException | None = None,
) -> Any:
    protocol = SimpleNamespace(
        parser_exc=parser_exc, close_sent=sent, close_rcvd=rcvd, close_rcvd_then_sent=rcvd_first
    )
    return SimpleNamespace(protocol=protocol, connection_exc=connection_exc)


def test_a_completed_closing_handshake_is_clean_and_no_error() -> None:
    end = ending(connection(sent=Close(1000, "bye"), rcvd=Close(1000, "bye"), rcvd_first=False))
    assert (end.error, end.code, end.reason, end.was_clean) == (None, 1000, "bye", True)


def test_a_reset_after_a_completed_closing_handshake_is_still_clean() -> None:
    reset = ConnectionResetError(104, "Connection reset by peer")
    end = ending(connection(sent=Close(1001, ""), rcvd=Close(1001, ""), connection_exc=reset))
    assert end.error is None and end.was_clean and end.code == 1001


def test_a_close_frame_without_a_code_is_1005() -> None:
    end = ending(connection(sent=Close(1005, ""), rcvd=Close(1005, ""), rcvd_first=True))
    assert end.code == 1005 and end.was_clean


def test_a_drop_is_1006_not_clean_and_no_error() -> None:
    end = ending(connection(parser_exc=EOFError("unexpected end of stream")))
    assert (end.error, end.code, end.was_clean) == (None, 1006, False)
    assert end.detail == "the TCP connection dropped: unexpected end of stream"


def test_bad_data_fails_the_connection_error_then_1006_even_when_the_peer_answered() -> None:
    bad = ProtocolError("invalid status code 1005")
    end = ending(connection(sent=Close(1002, "invalid status code"), rcvd=Close(1002, ""), parser_exc=bad))
    assert end.error is not None and "bad data" in end.error
    assert (end.code, end.was_clean) == (1006, False)
    assert end.detail is not None and end.detail.startswith("sent 1002")


def test_a_message_too_big_is_a_failure_that_sent_1009() -> None:
    end = ending(connection(sent=Close(1009, "too big"), parser_exc=PayloadTooBig(2**21, 2**20)))
    assert end.error is not None and end.code == 1006
    assert end.detail is not None and "1009" in end.detail


def test_a_keepalive_timeout_says_whose_feature_it_is() -> None:
    end = ending(connection(sent=Close(1011, "keepalive ping timeout"), rcvd_first=False))
    assert end.error is not None and "websockets' keepalive" in end.error
    assert (
        end.detail is not None and "keepalive timeout" in end.detail and "inside the server" not in end.detail
    )
