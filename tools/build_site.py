"""Build the lessons as a static website from their stored outputs, then check every internal link.

    python tools/build_site.py            # stage, `mkdocs build --strict`, link check: build/site/

Two sites, one per language, each with Material's language selector (`extra.alternate`) pointing at
both home pages: the English one in build/site/ (README.md, docs/, notebooks/), and the French one in
build/site/fr/, with `theme.language: fr`, built from README.fr.md (its home page), notebooks/fr/
(README.md and the 13 lessons) and docs/teaching.fr.md. A French page's link to a page that exists in
English only (docs/fidelity.md, the teacher notes) goes to the English site's page, and the other way
round (README.md → fr/index.html).

Nothing is executed: mkdocs-jupyter renders the outputs committed in notebooks/ (execute: false). The
notebooks are not copied into the repository: this script stages each site's sources in a temporary
folder laid out like the repository (index.md, docs/…, notebooks/…; in French, notebooks/fr/… becomes
notebooks/… and docs/teaching.fr.md docs/teaching.md), so that a lesson's link to
`../docs/fidelity.md` still points at the same page. In the staged copies only, each lesson gets its
"Open in JupyterLab" and "Open in Binder" buttons (in its language), and its markdown links to
`.md`/`.ipynb` files are pointed at the pages built from them (nbconvert renders notebook markdown, so
MkDocs does not rewrite those links itself).

The one setting is mkdocs.yml `extra.repository` (empty by default): the public URL of the repository,
e.g. https://github.com/OWNER/REPO. With it, Binder buttons and links to files outside the site use
it; without it, the pages say how to open a lesson locally and that the repository URL is not
configured, never a made-up URL. `extra.jupyterhub` (optional) adds nbgitpuller links to a hub.

The link check (site_links.py) reads every built HTML page of both sites with html.parser: each internal
href/src must name a file of the site and each #anchor an id in it. External http(s) links are listed,
not fetched. The launch buttons and README's Binder line come from site_launch.py; MkDocs' hook that
points a lesson's table of contents at its headings is site_hooks.py.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import posixpath
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Any
from urllib.parse import unquote

# Its sibling modules, also when this file is loaded by path (by MkDocs' hooks or the tests).
sys.path.insert(0, str(Path(__file__).resolve().parent))

from site_launch import LOCAL_LAB, TEACHING_REPO_ANCHOR, badge_line, check_readme_badge, launch_buttons
from site_links import check_links

ROOT = Path(__file__).resolve().parents[1]
LESSON = re.compile(r"^\d\d-.+\.ipynb$")
# The README's sections that make the English home page, in this order.
HOME_SECTIONS = ("Quickstart", "The lessons", "True to the browser and to Node `ws`")


# ----------------------------------------------------------------------------------------------------
# Staging


MD_LINK = re.compile(r"(!?\[[^\]]*\]\()([^)\s]+)(\))")


def rewrite_links(
    text: str,
    src: str,
    staged: Collection[str] | Mapping[str, str],
    repository: str,
    *,
    to_html: bool,
    root: Path = ROOT,
    elsewhere: Mapping[str, str] | None = None,
) -> str:
    """Point relative markdown links of the staged file `src` (a repository path) at the site.

    `staged` holds the repository paths of this site's files; as a mapping, it gives each one's path in
    the site's sources (README.fr.md → index.md). A link to a staged file goes to it (with `to_html`,
    `.md`/`.ipynb` become the built page's `.html`). `elsewhere` maps repository paths to built pages of
    the other language's site, as URLs from this site's root (fr/index.html, ../docs/fidelity.html):
    a link to one of them becomes that URL, as raw HTML in a markdown page so that MkDocs, which does
    not know that site, leaves it alone (the link check checks it). A link to a repository file outside
    both sites goes to the repository when its URL is set, and is otherwise left as plain text (its
    words, then the path in code)."""
    pages = staged if isinstance(staged, Mapping) else {rel: rel for rel in staged}
    other = elsewhere or {}
    here = posixpath.dirname(pages.get(src, src))

    def fix(m: re.Match[str]) -> str:
        target = m.group(2)
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I) or target.startswith("#"):
            return m.group(0)
        path, _, anchor = target.partition("#")
        hash_ = f"#{anchor}" if anchor else ""
        base = Path(src).parent
        resolved = _normalise(base / unquote(path)) + ("/" if path.endswith("/") else "")
        if resolved.endswith("/") or resolved == "":
            for known in (pages, other):
                if f"{resolved}README.md" in known:
                    resolved = f"{resolved}README.md"
                    break
        if resolved in pages:
            new = _relative(pages[resolved], here)
            return f"{m.group(1)}{_page_url(new) if to_html else new}{hash_}{m.group(3)}"
        if resolved in other:
            new = _relative(other[resolved], here)
            if to_html:
                return f"{m.group(1)}{new}{hash_}{m.group(3)}"
            if m.group(1).startswith("!"):
                return f'<img alt="{escape(m.group(1)[2:-2])}" src="{new}">'
            return f'<a href="{new}{hash_}">{m.group(1)[1:-2]}</a>'
        if not (root / resolved).exists():
            return m.group(0)  # a link to nothing: left for `mkdocs build --strict` and the link check
        if repository:
            kind = "tree" if resolved.endswith("/") or (root / resolved).is_dir() else "blob"
            url = f"{repository.rstrip('/')}/{kind}/HEAD/{resolved.rstrip('/')}"
            return f"{m.group(1)}{url}{hash_}{m.group(3)}"
        words = m.group(1)[1:-2] if not m.group(1).startswith("!") else m.group(1)[2:-2]
        return words if words.strip("`") == target else f"{words} (`{target}`)"

    return MD_LINK.sub(fix, text)


def _relative(target: str, here: str) -> str:
    """`target` (a path from a site's root, maybe starting with ../) as seen from the folder `here`."""
    top = "/x/x/x/"  # room for the ../ of a link into the other language's site
    return posixpath.relpath(posixpath.normpath(top + target), posixpath.normpath(top + here))


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


@dataclass(frozen=True)
class Edition:
    """One language of the site: its sources in the repository and where its pages go."""

    lang: str  # theme.language
    name: str  # its entry in the language selector
    folder: str  # where its site goes inside the English one: "" or "fr/"
    readme: str  # the source of its home page
    lessons: str  # the folder of its lessons in the repository
    docs: tuple[tuple[str, str], ...]  # its other pages: (repository path, path in the site)
    answers: bool  # with the teacher notes (docs/answers/, in English)
    home_sections: tuple[str, ...]  # the README's sections that make the home page, in this order
    for_teachers: str  # the home page's last section
    teaching_anchor: str  # the id of the teaching guide's section on the launch buttons
    description: str
    words: dict[str, str]  # the nav's words


ENGLISH = Edition(
    lang="en",
    name="English",
    folder="",
    readme="README.md",
    lessons="notebooks",
    docs=tuple((d, d) for d in ("docs/teaching.md", "docs/fidelity.md", "docs/architecture.md")),
    answers=True,
    home_sections=HOME_SECTIONS,
    for_teachers=(
        "## For teachers\n\n[Teaching with wslab](docs/teaching.md) gives the install lines, "
        "JupyterHub and Binder setups, and the lessons' run times, answer keys and common misconceptions. "
        "[How faithful is wslab](docs/fidelity.md) compares it with a real browser and Node `ws`; "
        "[the architecture](docs/architecture.md) draws its layers.\n"
    ),
    teaching_anchor=TEACHING_REPO_ANCHOR,
    description="",  # mkdocs.yml's
    words={
        "home": "Home",
        "lessons": "Lessons",
        "path": "The path",
        "teaching": "Teaching",
        "guide": "Teaching with wslab",
        "notes": "Notes",
        "reference": "Reference",
        "fidelity": "Fidelity",
        "architecture": "Architecture",
    },
)
FRENCH = Edition(
    lang="fr",
    name="Français",
    folder="fr/",
    readme="README.fr.md",
    lessons="notebooks/fr",
    docs=(("docs/teaching.fr.md", "docs/teaching.md"),),
    answers=False,
    home_sections=(
        "Démarrage rapide",
        "Les leçons",
        "Fidèle au navigateur et à Node `ws`",
        "En français",
    ),
    for_teachers=(
        "## Pour les enseignants\n\n[Enseigner avec wslab](docs/teaching.fr.md) donne les lignes "
        "d'installation, les configurations JupyterHub et Binder, ainsi que la durée de chaque leçon, ses "
        "corrigés et les idées fausses courantes. [How faithful is wslab](docs/fidelity.md) (en anglais) "
        "compare wslab à un vrai navigateur et à Node `ws` ; [l'architecture](docs/architecture.md) "
        "(en anglais) en dessine les couches.\n"
    ),
    teaching_anchor="le-site-web-et-ses-boutons-de-lancement",
    description=(
        "Voir le cycle de vie d'une connexion WebSocket se dérouler, une cellule de notebook à la fois."
    ),
    words={
        "home": "Accueil",
        "lessons": "Leçons",
        "path": "Le parcours",
        "teaching": "Enseignement",
        "guide": "Enseigner avec wslab",
    },
)
EDITIONS = (ENGLISH, FRENCH)


def readme_home(readme: str, edition: Edition = ENGLISH) -> str:
    """The home page: the README's title and first part, then the edition's `home_sections`."""
    chunks = re.split(r"(?m)^(?=## )", readme)
    keep = [chunks[0]]
    for title in edition.home_sections:
        keep += [c for c in chunks[1:] if c.splitlines()[0][3:].strip() == title]
    # The README badge line (or the note in its place) is for GitHub; the site has its own buttons on
    # each lesson.
    lines = keep[0].splitlines()
    keep[0] = "\n".join(ln for ln in lines if not badge_line(ln)) + "\n"
    return "".join(keep).rstrip() + "\n\n" + edition.for_teachers


def site_pages(edition: Edition, root: Path = ROOT) -> dict[str, str]:
    """The edition's files: repository path → path in its site's sources, home page first."""
    lessons = sorted(p.name for p in (root / edition.lessons).glob("*.ipynb") if LESSON.match(p.name))
    pages = {edition.readme: "index.md", f"{edition.lessons}/README.md": "notebooks/README.md"}
    pages |= dict(edition.docs)
    if edition.answers:
        pages |= {
            f"docs/answers/{p.name}": f"docs/answers/{p.name}"
            for p in sorted((root / "docs/answers").glob("*.md"))
        }
    pages |= {f"{edition.lessons}/{name}": f"notebooks/{name}" for name in lessons}
    img = root / "docs/img"
    if img.is_dir():
        pages |= {f"docs/img/{p.name}": f"docs/img/{p.name}" for p in sorted(img.iterdir())}
    return pages


def elsewhere(edition: Edition, root: Path = ROOT) -> dict[str, str]:
    """The other editions' built pages: repository path → URL from `edition`'s site root."""
    out: dict[str, str] = {}
    for other in EDITIONS:
        if other == edition:
            continue
        up = _relative(other.folder or ".", edition.folder or ".")
        for rel, page in site_pages(other, root).items():
            out.setdefault(rel, posixpath.normpath(f"{up}/{_page_url(page)}"))
    return out


def alternate(edition: Edition) -> list[dict[str, str]]:
    """Material's language selector (`extra.alternate`) on `edition`'s pages: each edition's home page,
    as a URL from `edition`'s site root (relative, so that the site works from any folder)."""
    return [
        {
            "name": other.name,
            "link": posixpath.normpath(f"{_relative(other.folder or '.', edition.folder or '.')}/index.html"),
            "lang": other.lang,
        }
        for other in EDITIONS
    ]


@dataclass
class Staged:
    root: Path
    edition: Edition = ENGLISH
    lessons: list[str] = field(default_factory=list)  # notebooks/NN-….ipynb (notebooks/fr/… in French)
    answers: list[str] = field(default_factory=list)  # docs/answers/NN.md
    pages: dict[str, str] = field(default_factory=dict)  # repository path → path in the site's sources
    nav: list[dict[str, object]] = field(default_factory=list)


def stage(
    dest: Path,
    repository: str = "",
    hub: str = "",
    root: Path = ROOT,
    edition: Edition = ENGLISH,
    lab: str = LOCAL_LAB,
) -> Staged:
    """Lay out the edition's sources in `dest` (an empty folder) like the repository (README.md →
    index.md; a French edition's notebooks/fr/… → notebooks/…, docs/teaching.fr.md → docs/teaching.md)."""
    pages = site_pages(edition, root)
    missing = [rel for rel in pages if not (root / rel).is_file()]
    if missing:
        raise SystemExit(f"the {edition.name} site needs these files, missing: {', '.join(missing)}")
    out = Staged(dest, edition, pages=pages)
    out.lessons = [rel for rel in pages if rel.endswith(".ipynb")]
    out.answers = [rel for rel in pages if rel.startswith("docs/answers/")]
    other = elsewhere(edition, root)

    def md(rel: str, text: str) -> None:
        (dest / pages[rel]).parent.mkdir(parents=True, exist_ok=True)
        (dest / pages[rel]).write_text(
            rewrite_links(text, rel, pages, repository, to_html=False, root=root, elsewhere=other)
        )

    md(edition.readme, readme_home((root / edition.readme).read_text(), edition))
    for rel in pages:
        if rel.startswith("docs/img/"):
            (dest / pages[rel]).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(root / rel, dest / pages[rel])
        elif rel.endswith(".md") and rel != edition.readme:
            md(rel, (root / rel).read_text())
    teaching = _relative("docs/teaching.html", "notebooks")
    for rel in out.lessons:
        nb = json.loads((root / rel).read_text())
        for cell in nb["cells"]:
            if cell["cell_type"] == "markdown":
                text = "".join(cell["source"])
                cell["source"] = rewrite_links(
                    text, rel, pages, repository, to_html=True, root=root, elsewhere=other
                )
        buttons = launch_buttons(
            rel, repository, hub, teaching, lab=lab, lang=edition.lang, anchor=edition.teaching_anchor
        )
        at = 1 if nb["cells"] and nb["cells"][0]["cell_type"] == "markdown" else 0
        nb["cells"].insert(
            at, {"cell_type": "markdown", "id": "wslab-launch", "metadata": {}, "source": buttons}
        )
        (dest / pages[rel]).parent.mkdir(parents=True, exist_ok=True)
        (dest / pages[rel]).write_text(json.dumps(nb))

    def title(rel: str) -> str:
        if rel.endswith(".ipynb"):
            nb = json.loads((root / rel).read_text())
            first = "".join(nb["cells"][0]["source"]).splitlines()[0]
        else:
            first = (root / rel).read_text().splitlines()[0]
        return re.sub(r"[`*]", "", first.lstrip("# ").strip())

    w = edition.words
    lesson_title = {Path(r).name[:2]: title(r) for r in out.lessons}
    out.nav = [
        {w["home"]: "index.md"},
        {w["lessons"]: [{w["path"]: "notebooks/README.md"}, *[{title(r): pages[r]} for r in out.lessons]]},
        {
            w["teaching"]: [
                {w["guide"]: "docs/teaching.md"},
                *[{f"{w['notes']} · {lesson_title.get(Path(r).stem, title(r))}": r} for r in out.answers],
            ]
        },
    ]
    reference = [
        {w[k]: f"docs/{k}.md"} for k in ("fidelity", "architecture") if f"docs/{k}.md" in pages.values()
    ]
    if reference:
        out.nav.append({w["reference"]: reference})
    return out


# ----------------------------------------------------------------------------------------------------
# The build


def build(site: Path, config_file: Path = ROOT / "mkdocs.yml", root: Path = ROOT) -> list[Staged]:
    """Stage each edition's sources and run `mkdocs build --strict`: English into `site`, French into
    `site`/fr/, each with the language selector (`extra.alternate`) pointing at both home pages."""
    from mkdocs.commands.build import build as mkdocs_build
    from mkdocs.config import load_config
    from mkdocs.exceptions import Abort
    from mkdocs.utils import yaml_load

    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("mkdocs %(levelname)s: %(message)s"))
    log = logging.getLogger("mkdocs")
    log.addHandler(handler)
    log.setLevel(logging.WARNING)
    raw = yaml_load(config_file.read_text())
    cwd = Path.cwd()
    os.chdir(config_file.parent)  # mkdocs-jupyter's cache_dir is relative to the working directory
    built = []
    try:
        for edition in EDITIONS:  # English first: its build empties `site`, French's only site/fr/
            with tempfile.TemporaryDirectory(prefix=f"wslab-site-{edition.lang}-") as tmp:
                probe = load_config(str(config_file), docs_dir=tmp)
                extra = probe["extra"] or {}
                repository = str(extra.get("repository") or "")
                lab = str(extra.get("jupyterlab") or LOCAL_LAB)
                if edition is ENGLISH:
                    problem = check_readme_badge((root / "README.md").read_text(), repository)
                    if problem:
                        raise SystemExit(problem)
                hub = str(extra.get("jupyterhub") or "")
                staged = stage(Path(tmp), repository, hub, root, edition, lab)
                overrides: dict[str, Any] = {
                    "theme": {**raw["theme"], "language": edition.lang},
                    "extra": {**(raw.get("extra") or {}), "alternate": alternate(edition)},
                }
                if edition.description:
                    overrides["site_description"] = edition.description
                cfg = load_config(
                    str(config_file),
                    docs_dir=tmp,
                    site_dir=str((site / edition.folder).resolve()),
                    strict=True,
                    nav=staged.nav,
                    **overrides,
                )
                try:
                    mkdocs_build(cfg)
                except Abort as exc:
                    raise SystemExit(f"mkdocs build --strict failed ({edition.name}): {exc}") from None
                if edition.folder:  # a static host serves the top 404.html only, for any folder
                    (site / edition.folder / "404.html").unlink(missing_ok=True)
                built.append(staged)
    finally:
        os.chdir(cwd)
        log.removeHandler(handler)
    return built


def main(argv: Iterable[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--site-dir", type=Path, default=ROOT / "build/site", help="where to write the site")
    ap.add_argument("--check-only", action="store_true", help="only check the links of an existing site")
    args = ap.parse_args(list(argv) if argv is not None else None)
    started = time.monotonic()
    if not args.check_only:
        for staged in build(args.site_dir):
            print(
                f"built {staged.edition.name}: {len(staged.lessons)} lessons and {len(staged.answers)} "
                f"teacher notes into {args.site_dir / staged.edition.folder}"
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
