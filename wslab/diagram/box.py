"""The diagram in an HTML box that fits the page: as wide as the output area, never wider.

The SVGs go in as ``<img>`` data URIs (or the rows as an inline ``<svg>``), so HTML sanitizers that
drop ``<svg>`` still show them; the lifeline names stay in view (sticky) while the rows scroll.
"""

from __future__ import annotations

import urllib.parse

from .model import escape
from .svg import Drawing, svg_doc

__all__ = ["DEFAULT_HEIGHT", "data_uri", "html_box"]

DEFAULT_HEIGHT = 640
"""px: a drawing taller than this scrolls inside its box, under its lifeline names."""


def data_uri(svg: str) -> str:
    """A data URI that stays readable (and searchable) in a stored notebook: only what a URI or a
    quoted HTML attribute cannot hold is %-encoded (``<>&#%'`` and non-ASCII)."""
    return "data:image/svg+xml;charset=utf-8," + urllib.parse.quote(svg, safe=' /:=,;.()-_!*"')


def html_box(
    drawing: Drawing, *, max_height: int = DEFAULT_HEIGHT, follow: bool = False, inline: bool = False
) -> str:
    """The drawing in a box as wide as the page, never wider: it scales down to ``FLOOR_FONT`` px text,
    then scrolls sideways; taller than ``max_height``, it scrolls under its lifeline names (sticky).

    The SVGs go in as ``<img>`` data URIs (``inline``: the rows as an inline ``<svg>``), so HTML
    sanitizers that drop ``<svg>`` still show them. ``follow`` starts the box at the newest rows (the
    bottom) and, when it scrolls sideways, at its right end.
    """
    w = drawing.width
    head_label = drawing.head_label or f"lifelines: {', '.join(drawing.names) or 'none'}"
    head_svg = svg_doc(w, drawing.head_h, head_label, drawing.head)
    body_svg = svg_doc(w, drawing.body_h, drawing.title, drawing.body)
    img = "display:block;width:100%;height:auto"
    head = (
        f"<img src='{data_uri(head_svg)}' width='{w}' height='{drawing.head_h}' "
        f"alt='{escape(head_label)}' style='{img}'>"
    )
    if inline:
        body = body_svg.replace("<svg ", f"<svg style='{img}' ", 1)
    else:
        body = (
            f"<img src='{data_uri(body_svg)}' width='{w}' height='{drawing.body_h}' "
            f"alt='{escape(drawing.title)}' style='{img}'>"
        )
    box = f"overflow:auto;max-height:{max_height}px;max-width:100%;box-sizing:border-box;background:#fff;"
    sheet = f"width:100%;min-width:{drawing.min_width}px;max-width:{w}px;"
    if follow:  # column-reverse: starts scrolled to the bottom; rtl: to the right end, when wider
        box += "display:flex;flex-direction:column-reverse;width:0;min-width:100%;direction:rtl;"
        sheet += "direction:ltr;margin-right:auto;flex:none;"
    return (
        f"<div class='wslab-diagram' style='{box}'><div class='wslab-diagram-sheet' style='{sheet}'>"
        f"<div class='wslab-diagram-names' style='position:sticky;top:0;z-index:1;background:#fff'>"
        f"{head}</div>{body}</div></div>"
    )
