"""Build the lessons as a static website from their stored outputs, then check every internal link.

    python tools/build_site.py            # stage, `mkdocs build --strict`, link check: build/site/

Nothing is executed: mkdocs-jupyter renders the outputs committed in notebooks/ (execute: false). The
notebooks are not copied into the repository: this script stages the site's sources in a temporary
folder laid out like the repository (index.md, docs/…, notebooks/…), so that a lesson's link to
`../docs/fidelity.md` still points at the same page. In the staged copies only, each lesson gets its
"Open in JupyterLab" and "Open in Binder" buttons, and its markdown links to `.md`/`.ipynb` files are
pointed at the pages built from them (nbconvert renders notebook markdown, so MkDocs does not rewrite
those links itself).

The one setting is mkdocs.yml `extra.repository` (empty by default): the public URL of the repository,
e.g. https://github.com/OWNER/REPO. With it, Binder buttons and links to files outside the site use
it; without it, the pages say how to open a lesson locally and that the repository URL is not
configured, never a made-up URL. `extra.jupyterhub` (optional) adds nbgitpuller links to a hub.

The link check reads every built HTML page with html.parser: each internal href/src must name a file
of the site and each #anchor an id in it. External http(s) links are listed, not fetched.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from html import unescape
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

ROOT = Path(__file__).resolve().parents[1]
LESSON = re.compile(r"^\d\d-.+\.ipynb$")
# The README's sections that make the home page, in this order.
HOME_SECTIONS = ("Quickstart", "The lessons", "True to the browser and to Node `ws`")
TEACHING_REPO_ANCHOR = "the-website-and-its-launch-buttons"


# ----------------------------------------------------------------------------------------------------
# Launch buttons


def github_owner_repo(repository: str) -> tuple[str, str] | None:
    """`OWNER`, `REPO` of a https://github.com/OWNER/REPO URL (or None for anything else)."""
    parts = urlsplit(repository.strip())
    bits = [b for b in parts.path.split("/") if b]
    if parts.scheme != "https" or parts.netloc.lower() != "github.com" or len(bits) < 2:
        return None
    return bits[0], bits[1].removesuffix(".git")


def binder_url(repository: str, notebook: str) -> str | None:
    """The mybinder.org link that opens `notebook` (a path in the repository) in JupyterLab."""
    gh = github_owner_repo(repository)
    if gh is None:
        return None
    return f"https://mybinder.org/v2/gh/{gh[0]}/{gh[1]}/HEAD?labpath={quote(notebook)}"


def nbgitpuller_url(hub: str, repository: str, notebook: str, branch: str = "") -> str:
    """The nbgitpuller link that clones (or updates) the repository on `hub` and opens `notebook`."""
    name = urlsplit(repository).path.rstrip("/").split("/")[-1].removesuffix(".git")
    query = f"repo={quote(repository, safe='')}"
    if branch:
        query += f"&branch={quote(branch, safe='')}"
    query += f"&urlpath={quote(f'lab/tree/{name}/{notebook}', safe='')}"
    return f"{hub.rstrip('/')}/hub/user-redirect/git-pull?{query}"


def launch_buttons(notebook: str, repository: str, hub: str = "", teaching: str = "") -> str:
    """The HTML put at the top of a lesson's page. `notebook` is its path in the repository
    (notebooks/NN-….ipynb); `teaching` the relative URL of the teaching guide's page."""
    local = f"<code>jupyter lab {notebook}</code>"
    howto = f"{teaching}#{TEACHING_REPO_ANCHOR}" if teaching else ""
    more = f'; <a href="{howto}">how to set it</a>' if howto else ""
    parts = []
    if repository and hub:
        url = nbgitpuller_url(hub, repository, notebook)
        parts.append(f'<a class="md-button md-button--primary" href="{url}">Open in JupyterLab</a>')
    else:
        parts.append(
            f"<strong>Open in JupyterLab:</strong> from a clone of the repository, after "
            f"<code>pip install -e .</code>, run {local}."
        )
    url = binder_url(repository, notebook) if repository else None
    if url:
        parts.append(f'<a class="md-button" href="{url}">Open in Binder</a>')
    elif repository:
        parts.append(f"<strong>Binder:</strong> only for a GitHub repository; {repository} is not one{more}.")
    else:
        parts.append(
            "<strong>Open in Binder:</strong> no link, because the repository URL is not configured "
            f"(<code>extra.repository</code> in mkdocs.yml is empty){more}."
        )
    if all(part.startswith("<a ") for part in parts):  # two buttons side by side
        parts = [" ".join(parts)]
    return '<div class="wslab-launch">\n<p>' + "</p>\n<p>".join(parts) + "</p>\n</div>"


BADGE_NOTE = (
    "*Binder: no launch badge yet, because the repository URL is not configured "
    "(`extra.repository` in mkdocs.yml); see [docs/teaching.md](docs/teaching.md#on-binder).*"
)


def readme_badge(repository: str) -> str:
    """README.md's badge line for this setting: a Binder badge, or a plain note when it is empty."""
    url = binder_url(repository, "notebooks/01-first-connection.ipynb") if repository else None
    if url is None:
        return BADGE_NOTE
    return f"[![Open the lessons in Binder](https://mybinder.org/badge_logo.svg)]({url})"


def check_readme_badge(readme: str, repository: str) -> str | None:
    """None when README.md carries the badge line that `repository` calls for, else what to fix."""
    want = readme_badge(repository)
    if want in readme.splitlines():
        return None
    return f"README.md must carry this line for extra.repository = {repository!r}:\n{want}"


# ----------------------------------------------------------------------------------------------------
# Staging


MD_LINK = re.compile(r"(!?\[[^\]]*\]\()([^)\s]+)(\))")


def rewrite_links(
    text: str, src: str, staged: set[str], repository: str, *, to_html: bool, root: Path = ROOT
) -> str:
    """Point relative markdown links of the staged file `src` (a repository path) at the site.

    A link to a staged file stays (with `to_html`, `.md`/`.ipynb` become the built page's `.html`); a
    link to a repository file outside the site goes to the repository when its URL is set, and is
    otherwise left as plain text (its words, then the path in code)."""

    def fix(m: re.Match[str]) -> str:
        target = m.group(2)
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I) or target.startswith("#"):
            return m.group(0)
        path, _, anchor = target.partition("#")
        base = Path(src).parent
        resolved = _normalise(base / unquote(path)) + ("/" if path.endswith("/") else "")
        if (resolved.endswith("/") or resolved == "") and f"{resolved}README.md" in staged:
            resolved = f"{resolved}README.md"
            path = (path.rstrip("/") + "/README.md").lstrip("/")
        if resolved in staged:
            if to_html:
                new = _page_url(path)
                return f"{m.group(1)}{new}{'#' + anchor if anchor else ''}{m.group(3)}"
            return f"{m.group(1)}{path}{'#' + anchor if anchor else ''}{m.group(3)}"
        if not (root / resolved).exists():
            return m.group(0)  # a link to nothing: left for `mkdocs build --strict` and the link check
        if repository:
            kind = "tree" if resolved.endswith("/") or (root / resolved).is_dir() else "blob"
            url = f"{repository.rstrip('/')}/{kind}/HEAD/{resolved.rstrip('/')}"
            return f"{m.group(1)}{url}{'#' + anchor if anchor else ''}{m.group(3)}"
        words = m.group(1)[1:-2] if not m.group(1).startswith("!") else m.group(1)[2:-2]
        return words if words.strip("`") == target else f"{words} (`{target}`)"

    return MD_LINK.sub(fix, text)


def _normalise(p: Path) -> str:
    out: list[str] = []
    for part in p.as_posix().split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if out:
                out.pop()
            continue
        out.append(part)
    trailing = "/" if p.as_posix().endswith("/") or str(p) in (".", "") else ""
    return "/".join(out) + (trailing if out else "")


def _page_url(path: str) -> str:
    """The built page of a `.md`/`.ipynb` link (use_directory_urls: false)."""
    stem, dot, ext = path.rpartition(".")
    if not dot or ext not in ("md", "ipynb"):
        return path
    if stem == "README" or stem.endswith("/README"):
        stem = stem[: -len("README")] + "index"
    return f"{stem}.html"


def readme_home(readme: str) -> str:
    """The home page: the README's title and first part, then the sections in HOME_SECTIONS."""
    chunks = re.split(r"(?m)^(?=## )", readme)
    keep = [chunks[0]]
    for title in HOME_SECTIONS:
        keep += [c for c in chunks[1:] if c.splitlines()[0][3:].strip() == title]
    # The README badge line is for GitHub; the site has its own buttons on each lesson.
    lines = keep[0].splitlines()
    keep[0] = "\n".join(ln for ln in lines if "mybinder.org/badge" not in ln and ln != BADGE_NOTE) + "\n"
    return "".join(keep).rstrip() + (
        "\n\n## For teachers\n\n[Teaching with wslab](docs/teaching.md) gives the install lines, "
        "JupyterHub and Binder setups, and the lessons' run times, answer keys and common misconceptions. "
        "[How faithful is wslab](docs/fidelity.md) compares it with a real browser and Node `ws`; "
        "[the architecture](docs/architecture.md) draws its layers.\n"
    )


@dataclass
class Staged:
    root: Path
    lessons: list[str] = field(default_factory=list)  # notebooks/NN-….ipynb
    answers: list[str] = field(default_factory=list)  # docs/answers/NN.md
    nav: list[dict[str, object]] = field(default_factory=list)


def stage(dest: Path, repository: str = "", hub: str = "", root: Path = ROOT) -> Staged:
    """Lay out the site's sources in `dest` (an empty folder) like the repository."""
    out = Staged(dest)
    out.lessons = sorted(
        f"notebooks/{p.name}" for p in (root / "notebooks").glob("*.ipynb") if LESSON.match(p.name)
    )
    out.answers = sorted(f"docs/answers/{p.name}" for p in (root / "docs/answers").glob("*.md"))
    docs = ["docs/teaching.md", "docs/fidelity.md", "docs/architecture.md"]
    staged = {"README.md", "notebooks/README.md", *docs, *out.answers, *out.lessons}
    img = root / "docs/img"
    if img.is_dir():
        shutil.copytree(img, dest / "docs/img")
        staged |= {f"docs/img/{p.name}" for p in img.iterdir()}

    (dest / "index.md").write_text(
        rewrite_links(
            readme_home((root / "README.md").read_text()),
            "README.md",
            staged,
            repository,
            to_html=False,
            root=root,
        )
    )
    for rel in ["notebooks/README.md", *docs, *out.answers]:
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        text = (root / rel).read_text()
        text = rewrite_links(text, rel, staged, repository, to_html=False, root=root)
        (dest / rel).write_text(text.replace("](../README.md", "](../index.md"))
    for rel in out.lessons:
        nb = json.loads((root / rel).read_text())
        for cell in nb["cells"]:
            if cell["cell_type"] == "markdown":
                text = "".join(cell["source"])
                cell["source"] = rewrite_links(text, rel, staged, repository, to_html=True, root=root)
        buttons = launch_buttons(rel, repository, hub, teaching="../docs/teaching.html")
        at = 1 if nb["cells"] and nb["cells"][0]["cell_type"] == "markdown" else 0
        nb["cells"].insert(
            at, {"cell_type": "markdown", "id": "wslab-launch", "metadata": {}, "source": buttons}
        )
        (dest / rel).write_text(json.dumps(nb))

    def title(rel: str) -> str:
        if rel.endswith(".ipynb"):
            nb = json.loads((root / rel).read_text())
            first = "".join(nb["cells"][0]["source"]).splitlines()[0]
        else:
            first = (root / rel).read_text().splitlines()[0]
        return re.sub(r"[`*]", "", first.lstrip("# ").strip())

    lesson_title = {Path(r).name[:2]: title(r) for r in out.lessons}
    out.nav = [
        {"Home": "index.md"},
        {"Lessons": [{"The path": "notebooks/README.md"}, *[{title(r): r} for r in out.lessons]]},
        {
            "Teaching": [
                {"Teaching with wslab": "docs/teaching.md"},
                *[{f"Notes · {lesson_title.get(Path(r).stem, title(r))}": r} for r in out.answers],
            ]
        },
        {"Reference": [{"Fidelity": "docs/fidelity.md"}, {"Architecture": "docs/architecture.md"}]},
    ]
    return out


# ----------------------------------------------------------------------------------------------------
# MkDocs hook (mkdocs.yml `hooks:`): a lesson's table of contents points at its headings' real ids


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


# ----------------------------------------------------------------------------------------------------
# The link check


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


# ----------------------------------------------------------------------------------------------------
# The build


def build(site: Path, config_file: Path = ROOT / "mkdocs.yml") -> Staged:
    """Stage the sources and run `mkdocs build --strict` into `site`."""
    from mkdocs.commands.build import build as mkdocs_build
    from mkdocs.config import load_config
    from mkdocs.exceptions import Abort

    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("mkdocs %(levelname)s: %(message)s"))
    log = logging.getLogger("mkdocs")
    log.addHandler(handler)
    log.setLevel(logging.WARNING)

    os.chdir(config_file.parent)  # mkdocs-jupyter's cache_dir is relative to the working directory
    with tempfile.TemporaryDirectory(prefix="wslab-site-") as tmp:
        probe = load_config(str(config_file), docs_dir=tmp)
        extra = probe["extra"] or {}
        problem = check_readme_badge((ROOT / "README.md").read_text(), str(extra.get("repository") or ""))
        if problem:
            raise SystemExit(problem)
        staged = stage(Path(tmp), str(extra.get("repository") or ""), str(extra.get("jupyterhub") or ""))
        cfg = load_config(
            str(config_file), docs_dir=tmp, site_dir=str(site.resolve()), strict=True, nav=staged.nav
        )
        try:
            mkdocs_build(cfg)
        except Abort as exc:
            raise SystemExit(f"mkdocs build --strict failed: {exc}") from None
    return staged


def main(argv: Iterable[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--site-dir", type=Path, default=ROOT / "build/site", help="where to write the site")
    ap.add_argument("--check-only", action="store_true", help="only check the links of an existing site")
    args = ap.parse_args(list(argv) if argv is not None else None)
    started = time.monotonic()
    if not args.check_only:
        staged = build(args.site_dir)
        print(
            f"built {len(staged.lessons)} lessons and {len(staged.answers)} teacher notes "
            f"into {args.site_dir}"
        )
    report = check_links(args.site_dir)
    print(
        f"link check: {report.pages} pages, {report.internal} internal links and anchors, "
        f"{len(report.broken)} broken; {len(report.external)} external links listed, not fetched"
    )
    for url in sorted(report.external):
        print(f"  external: {url}")
    for line in report.broken:
        print(f"  BROKEN {line}", file=sys.stderr)
    print(f"site built and checked in {time.monotonic() - started:.1f} s")
    return 1 if report.broken else 0


if __name__ == "__main__":
    sys.exit(main())
