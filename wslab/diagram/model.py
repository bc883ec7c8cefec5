"""What a diagram is made of, whatever it is drawn as: lifelines, and rows of arrows, badges and notes.

The layout (:mod:`wslab.diagram.layout`) fills these in from events; the renderers (SVG, the HTML box,
mermaid, text) only read them. The text helpers make any label printable, one line, and cut to fit.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Literal, TypeAlias

from ..eventlog import KIND_COLOURS

__all__ = [
    "GREEN",
    "GREY",
    "RED",
    "REMOTE",
    "Arrow",
    "Badge",
    "Detail",
    "Item",
    "Layout",
    "Note",
    "Role",
    "Row",
    "escape",
    "fit",
    "printable",
]

Detail: TypeAlias = Literal["messages", "frames"]
Role: TypeAlias = Literal["client", "wire", "server"]

REMOTE = "remote"
"""The lifeline for a peer the events do not name (a server outside the lab, a failed attempt)."""

RED = "#c62828"
GREY = "#616161"
GREEN = KIND_COLOURS.get("accept", "#2e7d32")


@dataclass(slots=True)
class Arrow:
    src: str
    dst: str
    label: str
    colour: str
    dashed: bool = False
    failed: bool = False
    suffix: str = ""  # kept whole when the label is cut to fit, e.g. " (16 B)"

    @property
    def text(self) -> str:
        return self.label + self.suffix


@dataclass(slots=True)
class Badge:
    who: str
    label: str
    colour: str


@dataclass(slots=True)
class Note:
    text: str
    colour: str = "#8d6e00"
    over: str | None = None  # None: across every lifeline


Item: TypeAlias = Arrow | Badge | Note


@dataclass(slots=True)
class Row:
    time: str
    items: list[Item] = field(default_factory=list)

    @property
    def badges_only(self) -> bool:
        return all(isinstance(i, Badge) for i in self.items)


@dataclass(slots=True)
class Layout:
    lifelines: list[tuple[str, Role]]
    rows: list[Row]
    hidden: int
    drawn: int
    lang: str | None = None
    """The language its words are in, and drawings of it write in (None: the process's)."""

    @property
    def names(self) -> list[str]:
        """The lifelines' names, left to right."""
        return [name for name, _ in self.lifelines]


# --- text helpers ---------------------------------------------------------------------------------


def printable(text: str) -> str:
    """No control characters (they are not allowed in XML), one line."""
    return "".join(ch if ch.isprintable() else " " for ch in text)


def fit(text: str, limit: int) -> str:
    """Printable, and at most ``limit`` characters (at least 4): cut with ``…``."""
    text = printable(text)
    limit = max(limit, 4)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def escape(text: str) -> str:
    """Printable text escaped for XML and HTML, attributes included."""
    return html.escape(printable(text), quote=True)
