"""The site's offline link check: every internal href/src names a file of the site, every #anchor an id
in it. External http(s) links are listed, not fetched (CI has no network to ask)."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        for key in ("id", "name") if tag == "a" else ("id",):
            if a.get(key):
                self.ids.add(a[key] or "")
        for key in ("href", "src"):
            value = a.get(key)
            if value is not None and tag in ("a", "link", "img", "script", "iframe", "source", "area"):
                self.links.append(value)


@dataclass
class LinkReport:
    pages: int = 0
    internal: int = 0
    broken: list[str] = field(default_factory=list)  # "page: link (why)"
    external: set[str] = field(default_factory=set)


def check_links(site: Path) -> LinkReport:
    """Every internal link and #anchor of the HTML files under `site`; external ones are listed."""
    report = LinkReport()
    parsed: dict[Path, _Page] = {}

    def page(path: Path) -> _Page:
        if path not in parsed:
            p = _Page()
            p.feed(path.read_text(errors="replace"))
            parsed[path] = p
        return parsed[path]

    for html in sorted(site.rglob("*.html")):
        report.pages += 1
        for link in page(html).links:
            parts = urlsplit(link)
            if parts.scheme in ("http", "https") or link.startswith("//"):
                report.external.add(link)
                continue
            if parts.scheme or not link.strip():
                continue  # mailto:, data:, javascript:
            report.internal += 1
            where = f"{html.relative_to(site).as_posix()}: {link}"
            if parts.path.startswith("/") and html.name == "404.html" and html.parent == site:
                parts = urlsplit(link.lstrip("/"))  # the 404 page is served at any depth: site-absolute
            elif parts.path.startswith("/"):
                report.broken.append(f"{where} (absolute path: the site must work from any folder)")
                continue
            target = (html.parent / unquote(parts.path)).resolve() if parts.path else html
            if target.is_dir():
                target = target / "index.html"
            try:
                target.relative_to(site.resolve())
            except ValueError:
                report.broken.append(f"{where} (outside the site)")
                continue
            if not target.is_file():
                report.broken.append(f"{where} (no such file)")
                continue
            anchor = unquote(parts.fragment)
            if anchor and target.suffix == ".html" and anchor not in page(target).ids:
                report.broken.append(f"{where} (no id {anchor!r} in {target.relative_to(site.resolve())})")
    return report
