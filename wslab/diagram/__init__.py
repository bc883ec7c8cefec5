"""The seed's lifecycle sequence diagram, drawn from real recorded events.

One layout (lifelines and rows) is computed from the events, then written three ways: an SVG
made with the standard library (no network, no JavaScript, so it shows the same in JupyterLab,
VS Code, nbviewer and exported HTML), a mermaid ``sequenceDiagram`` in the seed's own style, and
plain text for terminals. Only the last ``max_events`` events are drawn, so the cost of a drawing
never grows with the length of a session. Every text is escaped for the format it goes into.

The package's modules, one job each: :mod:`~wslab.diagram.model` (what a layout is made of),
:mod:`~wslab.diagram.layout` (events to lifelines and rows), :mod:`~wslab.diagram.svg`,
:mod:`~wslab.diagram.box` (the SVG in an HTML box that fits the page),
:mod:`~wslab.diagram.mermaid` and :mod:`~wslab.diagram.text`. This module holds the public API.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from ..events import Event
from .box import DEFAULT_HEIGHT, html_box
from .layout import IDLE_GAP_US, build
from .mermaid import mermaid_text
from .model import Detail
from .svg import FLOOR_FONT, Drawing, draw, svg_document
from .text import plain_text

__all__ = [
    "DEFAULT_HEIGHT",
    "DEFAULT_WINDOW",
    "FLOOR_FONT",
    "IDLE_GAP_US",
    "Detail",
    "Diagram",
    "Mermaid",
    "sequence_svg",
    "sequence_text",
    "to_mermaid",
]

DEFAULT_WINDOW = 60
"""How many of the latest events a diagram draws unless told otherwise."""


# --- public API -----------------------------------------------------------------------------------


def sequence_svg(
    events: Iterable[Event],
    *,
    detail: Detail = "messages",
    max_events: int | None = DEFAULT_WINDOW,
    time_unit: str | None = None,
    hidden: int = 0,
) -> str:
    """The lifecycle sequence diagram of ``events`` as a standalone SVG document.

    Draws the last ``max_events`` events (None: all); ``hidden`` counts earlier events the
    caller already left out, to say so on the drawing. ``detail="frames"`` adds a ``wire``
    lifeline for recorded frames. The time unit is taken from an :class:`EventLog`, else ticks.
    """
    return svg_document(draw(build(events, detail, max_events, time_unit, hidden)))


def to_mermaid(
    events: Iterable[Event],
    *,
    detail: Detail = "messages",
    max_events: int | None = DEFAULT_WINDOW,
    hidden: int = 0,
) -> Mermaid:
    """The same diagram as mermaid ``sequenceDiagram`` text, to paste into a Markdown cell."""
    return Mermaid(mermaid_text(build(events, detail, max_events, None, hidden)))


def sequence_text(
    events: Iterable[Event],
    *,
    detail: Detail = "messages",
    max_events: int | None = DEFAULT_WINDOW,
    time_unit: str | None = None,
    hidden: int = 0,
) -> str:
    """The same diagram as plain text, one line per row (for terminals and plain reprs)."""
    return plain_text(build(events, detail, max_events, time_unit, hidden))


class Mermaid(str):
    """Mermaid text that a notebook shows rendered (JupyterLab ≥ 4.1 draws mermaid in Markdown).

    It is a plain ``str`` otherwise: ``print()`` it, save it, paste it in a ```` ```mermaid ```` block.
    """

    __slots__ = ()

    def _repr_markdown_(self) -> str:
        return f"```mermaid\n{self}```\n"

    def _repr_pretty_(self, printer: object, cycle: bool) -> None:
        printer.text(str(self))  # type: ignore[attr-defined]


class Diagram:
    """A finished drawing of some events: in a notebook an SVG that fits the page, in a terminal text.

    ``Diagram(lab.events)``; ``.save("session.svg")`` (or ``.mmd`` / ``.md`` for mermaid);
    ``.to_mermaid()``. The drawing is computed once, from the window of events given. In a notebook
    it shows as HTML (:meth:`html`): as wide as the output area, never wider (text scaled down to
    ``FLOOR_FONT`` px at most, then a sideways scroll), taller drawings scroll under their lifeline names.
    """

    def __init__(
        self,
        events: Iterable[Event],
        *,
        detail: Detail = "messages",
        max_events: int | None = DEFAULT_WINDOW,
        time_unit: str | None = None,
        hidden: int = 0,
        max_height: int = DEFAULT_HEIGHT,
    ) -> None:
        self.detail: Detail = detail
        self.max_height = max_height
        self._layout = build(events, detail, max_events, time_unit, hidden)
        self._drawing: Drawing | None = None
        self._svg: str | None = None

    @property
    def _picture(self) -> Drawing:
        if self._drawing is None:
            self._drawing = draw(self._layout)
        return self._drawing

    @property
    def svg(self) -> str:
        """The SVG document (at its natural size: ``width`` × ``height`` px)."""
        if self._svg is None:
            self._svg = svg_document(self._picture)
        return self._svg

    @property
    def width(self) -> int:
        """px: the drawing's natural width."""
        return self._picture.width

    @property
    def height(self) -> int:
        """px: the drawing's natural height."""
        return self._picture.height

    @property
    def min_width(self) -> int:
        """px: the narrowest a page shows it (text at ``FLOOR_FONT`` px); a narrower box scrolls."""
        return self._picture.min_width

    def html(self, *, follow: bool = False, inline: bool = False) -> str:
        """The drawing in a box that fits the page (see the class); every text in it is escaped.

        ``follow``: start at the newest rows and, if it scrolls sideways, at the right end.
        ``inline``: the rows as an inline ``<svg>`` rather than an ``<img>``.
        """
        return html_box(self._picture, max_height=self.max_height, follow=follow, inline=inline)

    @property
    def lifelines(self) -> list[str]:
        """Participants, left to right: clients, then the wire (frames only), then servers."""
        return self._layout.names

    def to_mermaid(self) -> Mermaid:
        """Mermaid ``sequenceDiagram`` text in the seed's style."""
        return Mermaid(mermaid_text(self._layout))

    def to_text(self) -> str:
        """Plain text, one line per row."""
        return plain_text(self._layout)

    def save(self, path: str | Path) -> Path:
        """Write SVG, or mermaid text when the name ends in ``.mmd`` or ``.md``; returns the path."""
        target = Path(path)
        if target.suffix in (".mmd", ".md"):
            text = self.to_mermaid()
            target.write_text(f"```mermaid\n{text}```\n" if target.suffix == ".md" else text, "utf-8")
        else:
            target.write_text(self.svg, encoding="utf-8")
        return target

    def _repr_svg_(self) -> str:
        return self.svg

    def _repr_html_(self) -> str:
        return self.html()

    def __repr__(self) -> str:
        return self.to_text()
