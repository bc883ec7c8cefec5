"""The diagram as SVG, made with the standard library: no network, no JavaScript, so it shows the same
in JupyterLab, VS Code, nbviewer and exported HTML.

:func:`draw` places the lifelines (names and badges never overlap; labels are cut shorter before
a drawing grows past what a notebook output shows at ``FLOOR_FONT`` px) and draws the elements in two
bands (the names, then the rows), which :func:`svg_document` puts in one document and the HTML box
keeps apart.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TypeAlias

from ..i18n import _, language, ngettext
from .model import RED, REMOTE, Arrow, Badge, Item, Layout, escape, fit

__all__ = ["FLOOR_FONT", "Drawing", "draw", "svg_doc", "svg_document"]


_FONT = 11  # px: every text of the drawing, at its natural size
FLOOR_FONT = 10
"""px: a page may scale a drawing down until its text is this small; past that, its box scrolls."""
_CHAR_W = 6.6  # width of one character of 11px monospace, for fitting labels
_TIME_X = 8  # the time column's left edge
_PAD = 12  # px between the time column and the drawing, and after the drawing's right end
_COL_MIN = 130  # px between two neighbouring lifelines when there is room
_COL_MAX = 400  # px at most that an arrow's label asks for (about 56 characters)
_LABEL_MIN = 170  # px of an arrow's label kept before a drawing is let grow past _BUDGET (~22 characters)
_COL_SCROLL = 200  # px at most per gap when a drawing scrolls sideways anyway
_BUDGET = 836  # px: the widest drawing that still fits a 760 px output at FLOOR_FONT (760 * 11 / 10)
_MIN_WIDTH = 320
_HEAD_H = 28
_HEAD_GAP = 14  # from the lifeline names down to the first row
_ARROW_H = 32
_BADGE_H = 26
_NOTE_HALF = 140  # half the width of a note over one lifeline
_SELF_LABEL = 40  # characters of a self-arrow's label (it is drawn to the right of its lifeline)
_Need: TypeAlias = tuple[int, int, int]  # (gaps spanned, first gap, px)
_FILLS = {"client": "#e3f2fd", "server": "#ede7f6", "wire": "#e0f2f1"}


@dataclass(slots=True)
class Drawing:
    """The SVG elements of one diagram in two bands, each with y from 0: the lifeline names, and the rest.

    Kept apart so a page can keep the names in view (a sticky header) while the rows scroll.
    """

    names: list[str]
    title: str
    width: int
    head_h: int
    body_h: int
    head: list[str]
    body: list[str]
    head_label: str = ""
    """What the lifeline names' band is, in words (an image's ``alt``)."""

    @property
    def height(self) -> int:
        return self.head_h + self.body_h

    @property
    def min_width(self) -> int:
        """The narrowest this drawing may be scaled to: its text is then ``FLOOR_FONT`` px."""
        return -(-self.width * FLOOR_FONT // _FONT)


def _head_w(name: str) -> int:
    return max(70, int(len(fit(name, 18)) * _CHAR_W) + 20)


def _badge_text(badge: Badge) -> str:
    return fit(badge.label, 48 if badge.colour == RED else 40)


def _badge_w(badge: Badge) -> int:
    return int(len(_badge_text(badge)) * _CHAR_W) + 14


def _gap_needs(layout: Layout, index: dict[str, int]) -> tuple[list[_Need], list[_Need]]:
    """What must fit between lifelines, as (gaps spanned, first gap, px): names and badges side by side
    (they must never overlap) and ``_LABEL_MIN`` px of each arrow's label, then arrow labels whole
    (wanted, but they can be cut to fit)."""
    names = list(index)
    hard = [(1, i, (_head_w(a) + _head_w(b)) // 2 + 16) for i, (a, b) in enumerate(itertools.pairwise(names))]
    soft = []
    for r in layout.rows:
        badges = sorted(
            (index[i.who], _badge_w(i)) for i in r.items if isinstance(i, Badge) and i.who in index
        )
        for (lo, w_lo), (hi, w_hi) in itertools.pairwise(badges):  # badges side by side in one row
            if hi > lo:
                hard.append((hi - lo, lo, (w_lo + w_hi) // 2 + 10))
        for item in r.items:
            if isinstance(item, Arrow) and item.src in index and item.dst in index:
                lo, hi = sorted((index[item.src], index[item.dst]))
                if hi > lo:
                    label = int(len(item.text) * _CHAR_W) + 24
                    hard.append((hi - lo, lo, min(label, _LABEL_MIN)))
                    soft.append((hi - lo, lo, min(label, _COL_MAX)))
    return hard, soft


def _widen(gaps: list[int], needs: list[_Need]) -> list[int]:
    gaps = list(gaps)
    for span, lo, need in sorted(needs):  # one-gap needs first, then the ones that share gaps
        short = need - sum(gaps[lo : lo + span])
        if short > 0:
            for i in range(lo, lo + span):
                gaps[i] += -(-short // span)
    return gaps


def _gaps(layout: Layout, names: list[str]) -> tuple[list[int], list[int]]:
    """The narrowest gaps between lifelines (names and badges clear) and the roomiest (labels whole)."""
    hard_needs, soft_needs = _gap_needs(layout, {name: i for i, name in enumerate(names)})
    narrow = _widen([0] * max(len(names) - 1, 0), hard_needs)
    roomy = _widen([max(g, _COL_MIN) for g in narrow], [*hard_needs, *soft_needs])
    return narrow, roomy


def _squeeze(narrow: list[int], roomy: list[int], room: int) -> list[int]:
    """Gaps that add up to ``room`` px if they can: each between its narrowest and its roomiest."""
    if sum(roomy) <= room:
        return roomy
    if sum(narrow) >= room:  # it scrolls sideways anyway: keep labels readable, names clear
        return [max(n, min(r, _COL_SCROLL)) for n, r in zip(narrow, roomy, strict=True)]
    spare, extra = room - sum(narrow), sum(roomy) - sum(narrow)
    return [n + (r - n) * spare // extra for n, r in zip(narrow, roomy, strict=True)]


def _xs(names: list[str], gaps: list[int]) -> dict[str, int]:
    xs = dict.fromkeys(names, 0)
    for i, name in enumerate(names[1:]):
        xs[name] = xs[names[i]] + gaps[i]
    return xs


def _extent(layout: Layout, xs: dict[str, int]) -> tuple[int, int]:
    """The leftmost and rightmost x that the names, badges and self-arrows reach."""
    lo = min((x - _head_w(n) // 2 for n, x in xs.items()), default=0)
    hi = max((x + _head_w(n) // 2 for n, x in xs.items()), default=0)
    for r in layout.rows:
        for item in r.items:
            if isinstance(item, Badge) and item.who in xs:
                half = _badge_w(item) // 2
                lo, hi = min(lo, xs[item.who] - half), max(hi, xs[item.who] + half)
            elif isinstance(item, Arrow) and item.src == item.dst and item.src in xs:
                hi = max(hi, xs[item.src] + 36 + int(len(fit(item.text, _SELF_LABEL)) * _CHAR_W))
    return lo, hi


def _place(layout: Layout) -> tuple[dict[str, int], int, int]:
    """Lifeline x positions, the drawing's left edge (after the time column) and its width.

    Labels are cut shorter rather than let the drawing grow past ``_BUDGET`` px, as long as names and
    badges stay clear of each other; a drawing that still does not fit keeps roomier gaps (it scrolls).
    """
    names = [n for n, _ in layout.lifelines]
    times = max((len(r.time) for r in layout.rows), default=0)
    left = _TIME_X + int(times * _CHAR_W) + _PAD
    narrow, roomy = _gaps(layout, names)
    budget = _BUDGET
    for _round in range(3):  # the margins depend a little on the gaps (badges at the ends): settle them
        xs = _xs(names, roomy)
        lo, hi = _extent(layout, xs)
        margins = left - lo + hi - sum(roomy) + _PAD
        xs = _xs(names, _squeeze(narrow, roomy, budget - margins))
        lo, hi = _extent(layout, xs)
        width = left - lo + hi + _PAD
        if width <= _BUDGET or sum(narrow) + margins >= budget:
            break
        budget -= width - _BUDGET
    shift = left - lo
    return {n: x + shift for n, x in xs.items()}, left, max(_MIN_WIDTH, hi + shift + _PAD)


def _svg_heads(layout: Layout, xs: dict[str, int], y: int) -> list[str]:
    out = []
    for name, role in layout.lifelines:
        label = fit(name, 18)
        w, x = _head_w(name), xs[name]
        out.append(
            f'<rect x="{x - w // 2}" y="{y}" width="{w}" height="{_HEAD_H}" rx="4" '
            f'fill="{_FILLS[role]}" stroke="#455a64"/>'
            f'<text x="{x}" y="{y + 18}" text-anchor="middle" font-weight="bold">{escape(label)}</text>'
        )
    return out


def _svg_lifelines(layout: Layout, xs: dict[str, int], y1: int, y2: int) -> list[str]:
    out = []
    for name, role in layout.lifelines:
        dash = "2 3" if role == "wire" or name == REMOTE else "6 4"
        x = xs[name]
        out.append(
            f'<line x1="{x}" y1="{y1}" x2="{x}" y2="{y2}" stroke="#90a4ae" stroke-dasharray="{dash}"/>'
        )
    return out


def draw(layout: Layout) -> Drawing:
    """The layout's SVG elements, its words in the layout's language."""
    with language(layout.lang):
        return _draw(layout)


def _draw(layout: Layout) -> Drawing:
    names = [n for n, _ in layout.lifelines]
    xs, left, width = _place(layout)
    drawn = ngettext("{count} event", "{count} events", layout.drawn).format(count=layout.drawn)
    if layout.hidden:
        drawn += _(", {count} earlier not drawn").format(count=layout.hidden)
    title = _("WebSocket lifecycle: {names} ({drawn})").format(
        names=", ".join(names) or _("no participants"), drawn=drawn
    )

    head: list[str] = []  # the top band: what is left out, the names, the start of the lifelines
    y = 12
    if layout.hidden:
        note = "… " + _("{count} earlier events not drawn").format(count=layout.hidden)
        head.append(f'<text x="{left}" y="{y + 10}" fill="#777" font-style="italic">{escape(note)}</text>')
        y += 20
    head.extend(_svg_heads(layout, xs, y))
    head_h = y + _HEAD_H + _HEAD_GAP
    head.extend(_svg_lifelines(layout, xs, y + _HEAD_H, head_h))

    rows: list[str] = []
    y = 0
    for r in layout.rows:
        tall = any(isinstance(i, Arrow) for i in r.items)
        mid = y + (20 if tall else 13)
        if r.time:
            rows.append(f'<text x="{_TIME_X}" y="{mid + 4}" fill="#888">{escape(r.time)}</text>')
        rows.extend(_svg_item(item, xs, mid, left, width) for item in r.items)
        y += _ARROW_H if tall else _BADGE_H
    bottom = y + 6
    body = [*_svg_lifelines(layout, xs, 0, bottom), *rows, *_svg_heads(layout, xs, bottom)]
    if not names:
        empty = escape(_("(no events yet)"))
        body.append(f'<text x="{left}" y="18" fill="#777">{empty}</text>')
    head_label = _("lifelines: {names}").format(names=", ".join(names) or _("none"))
    return Drawing(names, title, width, head_h, bottom + _HEAD_H + 12, head, body, head_label)


def svg_doc(width: int, height: int, label: str, parts: Iterable[str]) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="monospace" font-size="{_FONT}" role="img" '
        f'aria-label="{escape(label)}">'
        f"<title>{escape(label)}</title>"
        f'<rect width="{width}" height="{height}" rx="6" fill="#ffffff"/>' + "".join(parts) + "</svg>"
    )


def svg_document(drawing: Drawing) -> str:
    """The whole drawing as one standalone SVG document."""
    body = f'<g transform="translate(0 {drawing.head_h})">{"".join(drawing.body)}</g>'
    return svg_doc(drawing.width, drawing.height, drawing.title, [*drawing.head, body])


def _svg_item(item: Item, xs: dict[str, int], mid: int, left: int, width: int) -> str:
    if isinstance(item, Arrow):
        x1, x2 = xs.get(item.src, xs.get(REMOTE, 0)), xs.get(item.dst, xs.get(REMOTE, 0))
        if x1 == x2:  # to itself: a small loop
            path = f"M{x1} {mid - 6} h30 v12 h-24"
            tip = f"{x1 + 6},{mid + 6} {x1 + 12},{mid + 2} {x1 + 12},{mid + 10}"
            room = 30
            lx, anchor = x1 + 36, "start"
            shape = f'<path d="{path}" fill="none" stroke="{item.colour}" stroke-width="1.5"/>'
        else:
            sign = 1 if x2 > x1 else -1
            dash = ' stroke-dasharray="5 3"' if item.dashed else ""
            shape = (
                f'<line x1="{x1}" y1="{mid}" x2="{x2 - sign * 8}" y2="{mid}" stroke="{item.colour}" '
                f'stroke-width="1.5"{dash}/>'
            )
            tip = f"{x2},{mid} {x2 - sign * 9},{mid - 4} {x2 - sign * 9},{mid + 4}"
            room = abs(x2 - x1) - 12
            lx, anchor = (x1 + x2) // 2, "middle"
        room_chars = int(room / _CHAR_W) if anchor == "middle" else _SELF_LABEL
        label = fit(item.label, room_chars - len(item.suffix)) + item.suffix
        cross = ""
        if item.failed:
            cx = x2 - (8 if x2 > x1 else -8) * 3
            cross = (
                f'<path d="M{cx - 5} {mid - 5} l10 10 M{cx + 5} {mid - 5} l-10 10" stroke="{RED}" '
                f'stroke-width="2"/>'
            )
        return (
            f"{shape}"
            f'<polygon points="{tip}" fill="{item.colour}"/>{cross}'
            f'<text x="{lx}" y="{mid - 5}" text-anchor="{anchor}" fill="{item.colour}">{escape(label)}</text>'
        )
    if isinstance(item, Badge):
        x = xs.get(item.who, 0)
        w = _badge_w(item)
        weight = ' font-weight="bold"' if item.colour == RED else ""
        return (
            f'<rect x="{x - w // 2}" y="{mid - 9}" width="{w}" height="18" rx="9" fill="#ffffff" '
            f'stroke="{item.colour}"/>'
            f'<text x="{x}" y="{mid + 4}" text-anchor="middle" fill="{item.colour}"{weight}>'
            f"{escape(_badge_text(item))}</text>"
        )
    if item.over is not None and item.over in xs:
        x0 = max(left, xs[item.over] - _NOTE_HALF)
        x1 = min(width - 10, xs[item.over] + _NOTE_HALF)
    else:
        x0, x1 = left, width - _PAD
    label = fit(item.text, int((x1 - x0 - 12) / _CHAR_W))
    return (
        f'<rect x="{x0}" y="{mid - 9}" width="{x1 - x0}" height="18" fill="#fff8e1" stroke="#ffb300"/>'
        f'<text x="{(x0 + x1) // 2}" y="{mid + 4}" text-anchor="middle" fill="{item.colour}">'
        f"{escape(label)}</text>"
    )
