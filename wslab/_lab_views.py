"""The lab's views: live widgets (imported on first use) and static pictures of the session.

A mixin of :class:`~wslab.lab.Lab`, apart so that the composition root stays about composing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from .diagram import Diagram, Mermaid, to_mermaid

if TYPE_CHECKING:
    from .eventlog import EventLog
    from .recorder import Recorder
    from .widgets import ConnectionPanel, DiagramView, EventTable, LabView

__all__ = ["LabViews"]


class LabViews:
    """``lab.show()``, ``lab.table()``, ``lab.panel()``, ``lab.diagram()``, ``lab.to_mermaid()``."""

    if TYPE_CHECKING:  # provided by Lab
        recorder: Recorder

        @property
        def events(self) -> EventLog: ...

    # --- views (wslab.widgets is imported on first use: ipywidgets is never needed before) ---------

    def show(self, detail: Literal["messages", "frames"] = "messages") -> LabView:
        """Panel, sequence diagram and event table, live, in one widget: display it in a cell."""
        from .widgets import LabView

        return LabView(self, detail=detail)

    def table(self, rows: int = 20) -> EventTable:
        """The live event table alone, with filters by side, event kind and connection."""
        from .widgets import EventTable

        return EventTable(self, rows=rows)

    def panel(self) -> ConnectionPanel:
        """The live connection panel alone: the server's registry as the events tell it."""
        from .widgets import ConnectionPanel

        return ConnectionPanel(self)

    def diagram(
        self, detail: Literal["messages", "frames"] = "messages", live: bool = False
    ) -> Diagram | DiagramView:
        """The sequence diagram of the session so far (a static SVG), or a live widget with ``live=True``."""
        if live:
            from .widgets import DiagramView

            return DiagramView(self, detail=detail)
        return Diagram(self.events, detail=detail)

    def to_mermaid(self, detail: Literal["messages", "frames"] = "messages") -> Mermaid:
        """The session so far as mermaid ``sequenceDiagram`` text, in the seed's style."""
        return to_mermaid(self.events, detail=detail)
