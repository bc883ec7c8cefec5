"""The diagram as mermaid ``sequenceDiagram`` text in the seed's style, to paste into a Markdown cell.

Every text is made mermaid-safe: risky characters become entity codes (``#59;``), and a name that is
not a plain identifier (or is a mermaid keyword) gets an alias (``participant p2 as ...``).
"""

from __future__ import annotations

from ..i18n import _, language
from .model import RED, REMOTE, Arrow, Badge, Layout, printable

__all__ = ["mermaid_safe", "mermaid_text"]

_MERMAID_UNSAFE = set(';#<>&"{}`%')

_MERMAID_WORDS = {
    "end", "participant", "actor", "loop", "alt", "else", "opt", "par", "and", "rect", "note", "critical",
    "break", "box", "activate", "deactivate", "autonumber", "title", "links", "link", "create", "destroy",
}  # fmt: skip


def mermaid_safe(text: str) -> str:
    """Mermaid-safe text: risky characters become entity codes such as ``#59;``."""
    return "".join(f"#{ord(ch)};" if ch in _MERMAID_UNSAFE else ch for ch in printable(text))


def mermaid_text(layout: Layout) -> str:
    """The layout as mermaid ``sequenceDiagram`` text (failures in a red ``rect``)."""
    with language(layout.lang):
        return _mermaid_text(layout)


def _mermaid_text(layout: Layout) -> str:
    ids: dict[str, str] = {}
    lines = ["sequenceDiagram"]
    for i, (name, _role) in enumerate(layout.lifelines, 1):
        simple = name.isidentifier() and name.isascii() and name.lower() not in _MERMAID_WORDS
        ids[name] = name if simple else f"p{i}"
        lines.append(f"    participant {name}" if simple else f"    participant p{i} as {mermaid_safe(name)}")
    names = layout.names
    span = f"{ids[names[0]]},{ids[names[-1]]}" if len(names) > 1 else (ids[names[0]] if names else "")
    if layout.hidden and span:
        hidden = _("{count} earlier events not drawn").format(count=layout.hidden)
        lines.append(f"    note over {span}: {hidden}")
    for r in layout.rows:
        for item in r.items:
            if isinstance(item, Arrow):
                src = ids.get(item.src, ids.get(REMOTE, item.src))
                dst = ids.get(item.dst, ids.get(REMOTE, item.dst))
                arrow = (
                    ("--x" if item.dashed else "-x") if item.failed else ("-->>" if item.dashed else "->>")
                )
                text = f"    {src}{arrow}{dst}: {mermaid_safe(item.text)}"
            elif isinstance(item, Badge):
                text = f"    note over {ids[item.who]}: {mermaid_safe(item.label)}"
            else:
                over = ids.get(item.over or "", span)
                if not over:
                    continue
                text = f"    note over {over}: {mermaid_safe(item.text)}"
            if item.colour == RED:
                lines.extend(["    rect rgb(255, 205, 210)", "    " + text, "    end"])
            else:
                lines.append(text)
    return "\n".join(lines) + "\n"
