"""Words for events (wslab/describe.py)."""

from __future__ import annotations


def test_a_keepalive_1011_is_not_called_a_server_failure() -> None:
    from wslab.describe import close_words

    words = close_words(1011, "keepalive ping timeout")
    assert "keepalive" in words and "inside the server" not in words
    assert "inside the server" in close_words(1011, "internal error")
