"""One exception root for everything wslab raises.

WslabError
├── WslabTimeout        a wait ran out of time (no cell ever hangs)
├── LoopError           a sync call was made from inside the lab's own loop
├── ConnectionFailed    the client could not open a connection
├── NotConnected        an operation needs an open connection
├── Invalid             a received message failed validation (also a ValueError)
├── NodeMissing         node or its ws package is not installed
└── SessionFileError    a recorded session cannot be read (wslab.sessionfile; also a ValueError)
    └── HarError        a HAR file in particular (wslab.har)

``except wslab.WslabError`` catches everything wslab raises; a test checks that every exception
class in the package derives from it.
"""

from __future__ import annotations

__all__ = [
    "ConnectionFailed",
    "Invalid",
    "LoopError",
    "NodeMissing",
    "NotConnected",
    "WslabError",
    "WslabTimeout",
]


class WslabError(Exception):
    """Base class of every error raised by wslab."""


class WslabTimeout(WslabError, TimeoutError):
    """A wait ran out of time."""


class LoopError(WslabError, RuntimeError):
    """A blocking call was made from inside the lab's event loop, where it would deadlock."""


class ConnectionFailed(WslabError, ConnectionError):
    """The client could not open a WebSocket connection (refused, rejected, protocol error)."""


class NotConnected(WslabError):
    """The operation needs an open connection and there is none."""


class Invalid(WslabError, ValueError):
    """A received message failed validation; the text says why, for the error reply."""


class NodeMissing(WslabError):
    """``node`` is not on PATH, or the ``ws`` package is not installed (run ``npm ci``)."""
