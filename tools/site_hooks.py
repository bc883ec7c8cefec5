"""MkDocs hook (mkdocs.yml `hooks:`): a lesson's table of contents points at its headings' real ids."""

from __future__ import annotations

import re
from collections.abc import Iterable
from html import unescape
from typing import Any

HEADING = re.compile(r"<h([1-6])[^>]*\bid=\"([^\"]+)\"[^>]*>(.*?)</h\1>", re.S)


def on_page_content(html: str, page: Any, **_: Any) -> str:
    """mkdocs-jupyter slugs the table of contents from a markdown copy of the notebook (code spans
    removed), while nbconvert gives the headings their own ids: pair them by order and level."""
    if not str(page.file.src_uri).endswith(".ipynb") or not getattr(page, "toc", None):
        return html
    headings = [
        (int(level), ident, unescape(re.sub(r"<a [^>]*>.*?</a>|<[^>]+>", "", inner)).strip())
        for level, ident, inner in HEADING.findall(html)
    ]
    at = 0

    def walk(items: Iterable[Any]) -> None:
        nonlocal at
        for item in items:
            for j in range(at, len(headings)):
                if headings[j][0] == item.level:
                    item.id, at = headings[j][1], j + 1
                    item.title = headings[j][2] or item.title  # with its code spans, which the toc drops
                    break
            walk(item.children)

    walk(page.toc)
    return html
