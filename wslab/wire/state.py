"""What the wire holds and where each direction of a connection stands: the data the step actions
(:mod:`wslab.wire.held`) and the relay (:mod:`wslab.wire.relay`) share.

:class:`FlowState` is one direction's state as one table row (no flags scattered over the relay);
:class:`HeldFrame` is one frame waiting on the wire, with what its bytes mean.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING

from websockets.frames import Frame, Opcode

from ..describe import close_words, preview
from ..events import FrameInfo, Payload
from .frames import DATA, Meaning

if TYPE_CHECKING:
    from .relay import Flow, Link

__all__ = ["Closing", "Eof", "FlowState", "HeldFrame"]


class Eof(enum.Enum):
    """Where the end of one direction's TCP stream is."""

    OPEN = "open"  # the sender has not closed its side
    WAITING = "waiting"  # it has, behind held frames: it goes on after them
    SENT = "sent"  # passed on to the receiver


class Closing(enum.Enum):
    """Where this direction's close frame is."""

    NONE = "none"
    SEEN = "seen"  # arrived on the wire (held, dropped, or about to go on)
    PASSED = "passed"  # went on to the receiver
    RELEASED = "released"  # went on after it was held: the lab waits for the answer


@dataclass
class FlowState:
    """The relay's state for one direction of one connection: every field is a column of :meth:`table`."""

    held: int = 0  # frames waiting on the wire
    messages_held: int = 0  # of which end a message (delivering them completes one)
    messages_lost: int = 0  # messages dropped, or that found the connection closed
    last_held: bool = False  # the latest frame was held: the end of stream must wait behind it
    eof: Eof = Eof.OPEN
    closing: Closing = Closing.NONE
    pings_released: int = 0  # held pings delivered whose pongs have not come back yet
    frames: int = 0  # frames read so far (each frame's number in its direction)

    def row(self) -> dict[str, object]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(eq=False)
class HeldFrame:
    """One frame waiting on the wire: its raw bytes and what they mean."""

    link: Link = field(repr=False)
    flow: Flow = field(repr=False)
    raw: bytes = field(repr=False)
    frame: Frame = field(repr=False)
    info: FrameInfo
    meaning: Meaning = field(repr=False)
    number: int = field(repr=False, default=0)  # its place in its direction

    @property
    def data(self) -> Payload | None:
        """The payload as the receiver would see it (None for a valid close frame)."""
        return self.meaning.data

    @property
    def code(self) -> int | None:
        return self.meaning.code

    @property
    def reason(self) -> str | None:
        return self.meaning.reason

    @property
    def message_end(self) -> bool:
        """A data frame with FIN: delivering it completes a message."""
        return self.frame.fin and self.frame.opcode in DATA

    @property
    def conn(self) -> str:
        return self.link.conn

    @property
    def direction(self) -> str:
        """``client→server`` or ``server→client``."""
        return self.info.direction

    @property
    def arrow(self) -> str:
        """The direction with the ends' names: ``alice→server``."""
        return self.flow.arrow

    def __repr__(self) -> str:
        text = f"{self.flow.arrow} {self.info.describe()}"
        if self.frame.opcode is Opcode.CLOSE:
            text += f" {close_words(self.code, self.reason)}"
        elif self.frame.opcode not in (Opcode.PING, Opcode.PONG) and self.data is not None:
            text += f" {preview(self.data)}"
        return text
