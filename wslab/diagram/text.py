"""The diagram as plain text, one line per row: for terminals, plain reprs and text-only outputs."""

from __future__ import annotations

from ..i18n import _, language, ngettext
from .model import Arrow, Badge, Layout, printable

__all__ = ["plain_text"]


def plain_text(layout: Layout) -> str:
    """The layout as text: a title line, then each row's time and items (``a -> b: label``)."""
    with language(layout.lang):
        return _plain_text(layout)


def _plain_text(layout: Layout) -> str:
    names = layout.names
    count = ngettext("{count} event", "{count} events", layout.drawn).format(count=layout.drawn)
    title = _("sequence diagram: {names} ({count})")
    lines = [title.format(names=" | ".join(names) or _("(no events yet)"), count=count)]
    if layout.hidden:
        lines.append("  ({})".format(_("{count} earlier events not drawn").format(count=layout.hidden)))
    width = max([5, *(len(r.time) for r in layout.rows)])
    for r in layout.rows:
        parts = []
        for item in r.items:
            if isinstance(item, Arrow):
                arrow = "-x" if item.failed else ("-->" if item.dashed else "->")
                parts.append(f"{item.src} {arrow} {item.dst}: {printable(item.text)}")
            elif isinstance(item, Badge):
                parts.append(f"[{item.who}] {printable(item.label)}")
            else:
                parts.append(_("note: {text}").format(text=printable(item.text)))
        lines.append(f"  {r.time:>{width}}  " + "   ".join(parts))
    return "\n".join(lines)
