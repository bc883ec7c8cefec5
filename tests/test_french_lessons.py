"""The French edition (notebooks/fr/) runs the English lessons' code and shows wslab's output in French.

The two editions may differ only where a French reader reads: markdown, comments, and the words a
``print(...)`` call shows. Everything else in a code cell is the same Python, cell for cell, so the
behaviour can't drift between them. Their stored outputs are compared by nbval in tests/run-all.sh.
"""

from __future__ import annotations

import ast
import functools
import json
import re
from pathlib import Path
from typing import Any

import pytest
from _helpers import catalogue_english

ROOT = Path(__file__).resolve().parent.parent
ENGLISH = ROOT / "notebooks"
FRENCH = ENGLISH / "fr"
PO = ROOT / "wslab" / "locale" / "fr" / "LC_MESSAGES" / "wslab.po"


def lessons(folder: Path) -> dict[str, Path]:
    return {p.name[:2]: p for p in sorted(folder.glob("[0-9][0-9]-*.ipynb"))}


def cells(path: Path) -> list[dict[str, Any]]:
    notebook: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    found: list[dict[str, Any]] = notebook["cells"]
    return found


def code_cells(path: Path) -> list[dict[str, Any]]:
    return [c for c in cells(path) if c["cell_type"] == "code"]


class _PrintedWordsBlanked(ast.NodeTransformer):
    """Blank the literal text inside ``print(...)`` calls: the words a French reader may translate."""

    def __init__(self) -> None:
        self.in_print = 0

    def visit_Call(self, node: ast.Call) -> ast.AST:
        is_print = isinstance(node.func, ast.Name) and node.func.id == "print"
        self.in_print += is_print
        self.generic_visit(node)
        self.in_print -= is_print
        return node

    def visit_Constant(self, node: ast.Constant) -> ast.AST:
        if self.in_print and isinstance(node.value, str):
            return ast.copy_location(ast.Constant(value="…"), node)
        return node


def behaviour(source: str) -> str:
    """The cell's Python with comments dropped and printed words blanked (IPython syntax made Python)."""
    from IPython.core.inputtransformer2 import TransformerManager

    tree = ast.parse(TransformerManager().transform_cell(source))
    return ast.dump(_PrintedWordsBlanked().visit(tree))


def nbval_marks(cell: dict[str, Any]) -> tuple[Any, ...]:
    metadata = cell.get("metadata", {})
    tags = sorted(t for t in metadata.get("tags", []) if t.startswith(("nbval", "raises")))
    return (tags, metadata.get("jupyter", {}).get("source_hidden", False))


PAIRS = [(n, e, lessons(FRENCH).get(n)) for n, e in lessons(ENGLISH).items()]


def test_every_lesson_has_a_french_edition_and_no_other() -> None:
    assert sorted(lessons(FRENCH)) == sorted(lessons(ENGLISH))


@pytest.mark.parametrize(("number", "english", "french"), PAIRS, ids=[n for n, _, _ in PAIRS])
def test_the_french_lesson_runs_the_same_code(number: str, english: Path, french: Path | None) -> None:
    assert french is not None, f"no French edition of {english.name} in notebooks/fr/"
    ours, theirs = code_cells(english), code_cells(french)
    assert len(theirs) == len(ours), f"{french.name}: {len(theirs)} code cells, the English has {len(ours)}"
    for i, (e, f) in enumerate(zip(ours, theirs, strict=True), 1):
        where = f"{french.name}, code cell {i}"
        assert behaviour("".join(f["source"])) == behaviour("".join(e["source"])), (
            f"{where} differs from the English beyond comments and printed words:\n{''.join(e['source'])}"
        )
        assert nbval_marks(f) == nbval_marks(e), f"{where}: tags or hidden solution differ"


@pytest.mark.parametrize(("number", "english", "french"), PAIRS, ids=[n for n, _, _ in PAIRS])
def test_the_french_lesson_is_written_in_french(number: str, english: Path, french: Path | None) -> None:
    assert french is not None
    prose = " ".join("".join(c["source"]) for c in cells(french) if c["cell_type"] == "markdown")
    words = re.findall(r"[a-zà-ÿ']+", prose.lower())
    french_words = sum(
        w in {"le", "la", "les", "des", "une", "est", "et", "vous", "qui", "pour"} for w in words
    )
    english_words = sum(w in {"the", "and", "you", "is", "which", "for", "this", "what"} for w in words)
    assert french_words > 10 * max(english_words, 1), f"{french.name}: {english_words} English words"
    for link in re.findall(r"\]\(([^)#]+\.ipynb)", prose):
        assert (FRENCH / link).exists(), f"{french.name} links to {link}, which is not in notebooks/fr/"


@functools.cache
def _english_messages() -> list[str]:
    return catalogue_english(PO, shortest=14)


def _outputs(path: Path) -> str:
    """The lesson's stored outputs, without what is data or code rather than wslab's words: quoted
    values (messages, close reasons, JSON sent on the wire) and the comments of the JavaScript
    that lessons 10 and 11 print (wslab/js and the Node servers are code, in English)."""
    texts: list[str] = []
    for cell in code_cells(path):
        for output in cell.get("outputs", []):
            texts.append("".join(output.get("text", [])))
            for mime in ("text/plain", "text/html", "text/markdown", "image/svg+xml"):
                texts.append("".join(output.get("data", {}).get(mime, [])))
    shown = "\n".join(texts).replace("&#x27;", "'").replace("&quot;", '"')
    shown = re.sub(r"//[^\n]*", "", shown)
    return re.sub(r"(?<!\w)'[^'\n]*'(?!\w)|(?<!\w)\"[^\"\n]*\"(?!\w)", "''", shown)


@pytest.mark.parametrize(("number", "english", "french"), PAIRS, ids=[n for n, _, _ in PAIRS])
def test_wslabs_output_in_the_french_lesson_is_french(
    number: str, english: Path, french: Path | None
) -> None:
    assert french is not None
    shown, english_shown = _outputs(french), _outputs(english)
    left = [m for m in _english_messages() if m in shown]
    assert not left, f"{french.name} shows wslab's English: {left[:5]}"
    used = [m for m in _english_messages() if m in english_shown]
    assert not used or len(shown) > 0.5 * len(english_shown), f"{french.name} lost its outputs"
