"""The website's own checks (tools/build_site.py), without building the site: the link checker catches a
broken link or anchor and passes good ones; the launch buttons never make up a URL; README.md's Binder
line matches mkdocs.yml's one setting."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("build_site", ROOT / "tools/build_site.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["build_site"] = module
    spec.loader.exec_module(module)
    return module


site = _load()


def _write(root: Path, rel: str, body: str) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"<!doctype html><html><body>{body}</body></html>")


@pytest.fixture
def built(tmp_path: Path) -> Path:
    _write(tmp_path, "index.html", '<h1 id="top">Home</h1><a href="docs/page.html#known">page</a>')
    _write(
        tmp_path,
        "docs/page.html",
        '<h2 id="known">Known</h2><a name="old-anchor"></a><a href="../index.html">home</a>'
        '<a href="#known">here</a><a href="https://example.org/x">out</a><a href="mailto:a@b.c">mail</a>'
        '<img src="img/pic.png">',
    )
    (tmp_path / "docs/img").mkdir()
    (tmp_path / "docs/img/pic.png").write_bytes(b"\x89PNG")
    return tmp_path


def test_good_links_and_existing_anchors_pass(built: Path) -> None:
    report = site.check_links(built)
    assert report.broken == []
    assert report.pages == 2
    assert report.internal == 4  # docs/page.html#known, ../index.html, #known, img/pic.png
    assert report.external == {"https://example.org/x"}  # listed, not fetched


def test_a_missing_file_is_caught(built: Path) -> None:
    _write(built, "docs/other.html", '<a href="fidelity.md">a source file, not a page</a>')
    report = site.check_links(built)
    assert report.broken == ["docs/other.html: fidelity.md (no such file)"]


def test_a_missing_anchor_is_caught_and_a_named_anchor_counts(built: Path) -> None:
    _write(built, "docs/other.html", '<a href="page.html#old-anchor">ok</a><a href="page.html#gone">gone</a>')
    report = site.check_links(built)
    assert len(report.broken) == 1
    assert report.broken[0].startswith("docs/other.html: page.html#gone (no id 'gone'")


def test_links_leaving_the_site_or_absolute_are_caught(built: Path) -> None:
    _write(built, "docs/other.html", '<a href="../../outside.html">x</a><a href="/index.html">y</a>')
    report = site.check_links(built)
    assert [b.split(" (")[1] for b in report.broken] == [
        "outside the site)",
        "absolute path: the site must work from any folder)",
    ]


def test_without_a_repository_url_no_link_is_made_up() -> None:
    html = site.launch_buttons("notebooks/05-closing.ipynb", "", teaching="../docs/teaching.html")
    assert "jupyter lab notebooks/05-closing.ipynb" in html
    assert "not configured" in html
    assert re.findall(r'href="([^"]+)"', html) == ["../docs/teaching.html#the-website-and-its-launch-buttons"]


def test_with_a_repository_url_binder_and_nbgitpuller_links() -> None:
    repo = "https://github.com/someone/wslab"
    html = site.launch_buttons("notebooks/05-closing.ipynb", repo, hub="https://hub.example.edu/")
    links = re.findall(r'href="([^"]+)"', html)
    assert "https://mybinder.org/v2/gh/someone/wslab/HEAD?labpath=notebooks/05-closing.ipynb" in links
    assert (
        "https://hub.example.edu/hub/user-redirect/git-pull?repo=https%3A%2F%2Fgithub.com%2Fsomeone%2Fwslab"
        "&urlpath=lab%2Ftree%2Fwslab%2Fnotebooks%2F05-closing.ipynb"
    ) in links
    assert site.binder_url("https://gitlab.com/someone/wslab", "notebooks/05-closing.ipynb") is None


def test_readme_carries_the_binder_line_for_the_setting() -> None:
    setting = re.search(r'(?m)^  repository:\s*"([^"]*)"', (ROOT / "mkdocs.yml").read_text())
    assert setting, "mkdocs.yml has extra.repository, a quoted string"
    repository = setting.group(1)
    assert site.check_readme_badge((ROOT / "README.md").read_text(), repository) is None


def test_lesson_links_point_at_the_built_pages() -> None:
    staged = {"notebooks/02-lifecycle-diagram.ipynb", "docs/fidelity.md", "notebooks/README.md"}
    text = (
        "[next](02-lifecycle-diagram.ipynb), [why](../docs/fidelity.md#known-differences), [path](README.md)"
    )
    out = site.rewrite_links(text, "notebooks/01-first-connection.ipynb", staged, "", to_html=True)
    assert out == (
        "[next](02-lifecycle-diagram.html), [why](../docs/fidelity.html#known-differences), "
        "[path](index.html)"
    )
