"""The website's own checks (tools/build_site.py, site_launch.py, site_links.py). Without building the
site: the link checker catches a broken link or anchor and passes good ones; the launch buttons never
make up a URL; README.md's Binder line matches mkdocs.yml's one setting; links between the English and
the French sites. Then on a built site (when the `.[docs]` extra is installed): the French edition
under fr/, the language selector on both sides, French words and wslab's French output on the French
lessons, no broken link."""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path

import pytest
from _helpers import tool

ROOT = Path(__file__).resolve().parents[1]


site = tool("build_site")
launch = tool("site_launch")
links = tool("site_links")


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
    report = links.check_links(built)
    assert report.broken == []
    assert report.pages == 2
    assert report.internal == 4  # docs/page.html#known, ../index.html, #known, img/pic.png
    assert report.external == {"https://example.org/x"}  # listed, not fetched


def test_a_missing_file_is_caught(built: Path) -> None:
    _write(built, "docs/other.html", '<a href="fidelity.md">a source file, not a page</a>')
    report = links.check_links(built)
    assert report.broken == ["docs/other.html: fidelity.md (no such file)"]


def test_a_missing_anchor_is_caught_and_a_named_anchor_counts(built: Path) -> None:
    _write(built, "docs/other.html", '<a href="page.html#old-anchor">ok</a><a href="page.html#gone">gone</a>')
    report = links.check_links(built)
    assert len(report.broken) == 1
    assert report.broken[0].startswith("docs/other.html: page.html#gone (no id 'gone'")


def test_links_leaving_the_site_or_absolute_are_caught(built: Path) -> None:
    _write(built, "docs/other.html", '<a href="../../outside.html">x</a><a href="/index.html">y</a>')
    report = links.check_links(built)
    assert [b.split(" (")[1] for b in report.broken] == [
        "outside the site)",
        "absolute path: the site must work from any folder)",
    ]


def test_without_a_repository_url_no_link_is_made_up() -> None:
    html = launch.launch_buttons("notebooks/05-closing.ipynb", "", teaching="../docs/teaching.html")
    assert "jupyter lab notebooks/05-closing.ipynb" in html
    assert "not configured" in html
    assert re.findall(r'href="([^"]+)"', html) == [
        "http://localhost:8888/lab/tree/notebooks/05-closing.ipynb",  # README command (a)'s JupyterLab
        "../docs/teaching.html#the-website-and-its-launch-buttons",
    ]
    other = launch.launch_buttons("notebooks/05-closing.ipynb", "", lab="http://lab.example.edu:9000/")
    assert 'href="http://lab.example.edu:9000/lab/tree/notebooks/05-closing.ipynb"' in other


def test_with_a_repository_url_binder_and_nbgitpuller_links() -> None:
    repo = "https://github.com/someone/wslab"
    html = launch.launch_buttons("notebooks/05-closing.ipynb", repo, hub="https://hub.example.edu/")
    links = re.findall(r'href="([^"]+)"', html)
    assert "https://mybinder.org/v2/gh/someone/wslab/HEAD?labpath=notebooks/05-closing.ipynb" in links
    assert (
        "https://hub.example.edu/hub/user-redirect/git-pull?repo=https%3A%2F%2Fgithub.com%2Fsomeone%2Fwslab"
        "&urlpath=lab%2Ftree%2Fwslab%2Fnotebooks%2F05-closing.ipynb"
    ) in links
    assert launch.binder_url("https://gitlab.com/someone/wslab", "notebooks/05-closing.ipynb") is None


def test_readme_carries_the_binder_line_for_the_setting() -> None:
    setting = re.search(r'(?m)^  repository:\s*"([^"]*)"', (ROOT / "mkdocs.yml").read_text())
    assert setting, "mkdocs.yml has extra.repository, a quoted string"
    repository = setting.group(1)
    assert launch.check_readme_badge((ROOT / "README.md").read_text(), repository) is None


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


# ----------------------------------------------------------------------------------------------------
# The French edition: its files, and links between the two sites


def test_the_french_edition_has_its_home_guide_and_the_thirteen_lessons() -> None:
    pages = site.site_pages(site.FRENCH)
    assert pages["README.fr.md"] == "index.md"
    assert pages["notebooks/fr/README.md"] == "notebooks/README.md"
    assert pages["docs/teaching.fr.md"] == "docs/teaching.md"
    lessons = {rel: page for rel, page in pages.items() if rel.endswith(".ipynb")}
    assert len(lessons) == 13
    assert lessons["notebooks/fr/05-fermeture.ipynb"] == "notebooks/05-fermeture.ipynb"
    assert "docs/fidelity.md" not in pages  # English only: French pages link to the English site's


def test_links_between_the_two_sites() -> None:
    french = site.site_pages(site.FRENCH)
    # A French lesson's link to an English-only page goes to the English site's page, one folder up.
    text = "[fidélité](../../docs/fidelity.md#known-differences), [suite](06-erreurs.ipynb)"
    out = site.rewrite_links(
        text,
        "notebooks/fr/05-fermeture.ipynb",
        french,
        "",
        to_html=True,
        elsewhere=site.elsewhere(site.FRENCH),
    )
    assert out == "[fidélité](../../docs/fidelity.html#known-differences), [suite](06-erreurs.html)"
    # In a markdown page, MkDocs does not know the other site: the link is raw HTML, which it leaves alone.
    text = "[English](README.md) · [le guide](docs/teaching.fr.md#sur-binder)"
    out = site.rewrite_links(
        text, "README.fr.md", french, "", to_html=False, elsewhere=site.elsewhere(site.FRENCH)
    )
    assert out == '<a href="../index.html">English</a> · [le guide](docs/teaching.md#sur-binder)'
    english = site.site_pages(site.ENGLISH)
    out = site.rewrite_links(
        "[en français](teaching.fr.md), [the lessons](../notebooks/fr/)",
        "docs/teaching.md",
        english,
        "",
        to_html=False,
        elsewhere=site.elsewhere(site.ENGLISH),
    )
    assert out == (
        '<a href="../fr/docs/teaching.html">en français</a>, '
        '<a href="../fr/notebooks/index.html">the lessons</a>'
    )


def test_the_language_selector_points_at_both_home_pages() -> None:
    assert site.alternate(site.ENGLISH) == [
        {"name": "English", "link": "index.html", "lang": "en"},
        {"name": "Français", "link": "fr/index.html", "lang": "fr"},
    ]
    assert [a["link"] for a in site.alternate(site.FRENCH)] == ["../index.html", "index.html"]


def test_french_launch_buttons() -> None:
    html = launch.launch_buttons(
        "notebooks/fr/05-fermeture.ipynb",
        "",
        teaching="../docs/teaching.html",
        lang="fr",
        anchor=site.FRENCH.teaching_anchor,
    )
    assert "jupyter lab notebooks/fr/05-fermeture.ipynb" in html
    assert "Ouvrir dans Binder" in html and "n'est pas configurée" in html
    assert re.findall(r'href="([^"]+)"', html) == [
        "http://localhost:8888/lab/tree/notebooks/fr/05-fermeture.ipynb",
        "../docs/teaching.html#le-site-web-et-ses-boutons-de-lancement",
    ]
    assert "Ouvrir dans JupyterLab" in html


# ----------------------------------------------------------------------------------------------------
# The built site (about ten seconds: mkdocs-jupyter renders the 26 lessons)


@pytest.fixture(scope="module")
def website(tmp_path_factory: pytest.TempPathFactory) -> Path:
    for module in ("mkdocs", "material", "mkdocs_jupyter"):
        pytest.importorskip(module, reason="the website needs the .[docs] extra")
    out = tmp_path_factory.mktemp("site") / "site"
    site.build(out)
    return out


def _selector(page: Path) -> dict[str, Path]:
    """The language selector of a built page: language → the page its link opens."""
    links = re.findall(r'<a href="([^"]+)" hreflang="([^"]+)" class="md-select__link">', page.read_text())
    return {lang: (page.parent / href).resolve() for href, lang in links}


def _text(page: Path) -> str:
    html = page.read_text()
    return unescape(re.sub(r"<[^>]+>", " ", html[html.index("<article") : html.index("</article>")]))


def test_the_french_pages_are_built(website: Path) -> None:
    french = website / "fr"
    for rel in ("index.html", "notebooks/index.html", "docs/teaching.html"):
        assert (french / rel).is_file(), rel
        assert '<html lang="fr"' in (french / rel).read_text()
    lessons = sorted(p.stem for p in (ROOT / "notebooks/fr").glob("[0-9][0-9]-*.ipynb"))
    assert len(lessons) == 13
    assert sorted(p.stem for p in (french / "notebooks").glob("[0-9][0-9]-*.html")) == lessons
    assert '<html lang="en"' in (website / "index.html").read_text()
    assert not (website / "notebooks/fr").exists()  # the English site stays as it was
    assert not (french / "404.html").exists()  # a host serves the top one for every folder


def test_the_language_switch_goes_both_ways(website: Path) -> None:
    home, home_fr = (website / "index.html").resolve(), (website / "fr/index.html").resolve()
    for page in ("index.html", "docs/teaching.html", "notebooks/05-closing.html"):
        assert _selector(website / page) == {"en": home, "fr": home_fr}, page
    for page in ("index.html", "docs/teaching.html", "notebooks/05-fermeture.html"):
        assert _selector(website / "fr" / page) == {"en": home, "fr": home_fr}, page
    assert "Français" in (website / "index.html").read_text()


def test_the_french_nav_reaches_every_french_lesson(website: Path) -> None:
    html = (website / "fr/index.html").read_text()
    nav = html[html.index('<nav class="md-nav md-nav--primary"') :]
    for lesson in (ROOT / "notebooks/fr").glob("[0-9][0-9]-*.ipynb"):
        assert f'href="notebooks/{lesson.stem}.html"' in nav, lesson.name
    assert "Accueil" in nav and "Leçons" in nav and "Enseigner avec wslab" in nav


def test_french_lessons_show_french_text_and_wslab_french_output(website: Path) -> None:
    text = _text(website / "fr/notebooks/05-fermeture.html")
    assert "Fermer une connexion" in text  # the lesson's words
    assert "Récapitulatif" in text
    assert "fermeture normale" in text  # wslab's output, in French (the meaning of close code 1000)
    assert "normal closure" not in text
    assert "Ouvrir dans JupyterLab" in text and "jupyter lab notebooks/fr/05-fermeture.ipynb" in text
    first = _text(website / "fr/notebooks/01-premiere-connexion.html")
    assert "Votre première connexion WebSocket" in first and "fermeture normale" in first


def test_the_built_site_has_no_broken_link(website: Path) -> None:
    report = links.check_links(website)
    assert report.broken == []
    french = [p for p in website.glob("fr/**/*.html")]
    assert len(french) == 16  # home, the path, the teaching guide, 13 lessons: all checked
    assert report.pages == len(list(website.rglob("*.html")))


def test_every_lesson_page_opens_its_lesson_in_jupyterlab(website: Path) -> None:
    pages = {
        **{p: f"notebooks/{p.stem}.ipynb" for p in (website / "notebooks").glob("[0-9][0-9]-*.html")},
        **{p: f"notebooks/fr/{p.stem}.ipynb" for p in (website / "fr/notebooks").glob("[0-9][0-9]-*.html")},
    }
    assert len(pages) == 26
    for page, lesson in pages.items():
        assert (ROOT / lesson).is_file()
        assert f'href="http://localhost:8888/lab/tree/{lesson}"' in page.read_text(), page
