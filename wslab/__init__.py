"""wslab: see the WebSocket lifecycle happen, one notebook cell at a time.

The core (events, lifecycle, recorder, text/HTML rendering) is imported here and needs neither
asyncio nor ipywidgets; the servers, clients and the lab load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .diagram import Diagram, Mermaid, sequence_svg, sequence_text, to_mermaid
from .errors import ConnectionFailed, Invalid, LoopError, NotConnected, WslabError, WslabTimeout
from .eventlog import EventLog
from .events import CLIENT_EVENTS, KINDS, SERVER_EVENTS, Event, FrameInfo, Kind, Side
from .expect import Step, Verdict, expect
from .handshake import HandshakeTable, accept_matches, explain_headers, handshake_table
from .i18n import get_language, set_language
from .lifecycle import TRANSITIONS, ConnectionSummary, State, explain_close_code, summarize_connections
from .reconnect import Reconnect
from .recorder import LogicalClock, Recorder, WallClock
from .validation import RateLimit, json_message

if TYPE_CHECKING:
    from .browser import Browser
    from .client import Client
    from .har import from_har
    from .lab import Lab
    from .rooms import Bus, BusMessage, LocalBus, Pool
    from .server import Peer, Server
    from .sessionfile import load
    from .widgets import ConnectionPanel, DiagramView, EventTable, LabView, show
    from .wire import HeldFrame, Wire

__all__ = [
    "CLIENT_EVENTS",
    "KINDS",
    "SERVER_EVENTS",
    "TRANSITIONS",
    "Browser",
    "Bus",
    "BusMessage",
    "Client",
    "ConnectionFailed",
    "ConnectionPanel",
    "ConnectionSummary",
    "Diagram",
    "DiagramView",
    "Event",
    "EventLog",
    "EventTable",
    "FrameInfo",
    "HandshakeTable",
    "HeldFrame",
    "Invalid",
    "Kind",
    "Lab",
    "LabView",
    "LocalBus",
    "LogicalClock",
    "LoopError",
    "Mermaid",
    "NotConnected",
    "Peer",
    "Pool",
    "RateLimit",
    "Reconnect",
    "Recorder",
    "Server",
    "Side",
    "State",
    "Step",
    "Verdict",
    "WallClock",
    "Wire",
    "WslabError",
    "WslabTimeout",
    "accept_matches",
    "expect",
    "explain_close_code",
    "explain_headers",
    "from_har",
    "get_language",
    "handshake_table",
    "json_message",
    "load",
    "sequence_svg",
    "sequence_text",
    "set_language",
    "show",
    "summarize_connections",
    "to_mermaid",
]

__version__ = "0.1.0"

_LAZY = {"Lab": ".lab", "Client": ".client", "Server": ".server", "Peer": ".server"}
_LAZY.update(dict.fromkeys(("Wire", "HeldFrame"), ".wire"))
_LAZY["Browser"] = ".browser"
_LAZY.update(dict.fromkeys(("Bus", "BusMessage", "LocalBus", "Pool"), ".rooms"))
_LAZY.update({"load": ".sessionfile", "from_har": ".har"})
_LAZY.update(dict.fromkeys(("ConnectionPanel", "DiagramView", "EventTable", "LabView", "show"), ".widgets"))


def __dir__() -> list[str]:
    """Every public name, the lazy ones too, so tab completion shows ``wslab.Lab`` before first use."""
    return sorted(set(globals()) | set(__all__))


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'wslab' has no attribute {name!r}")
