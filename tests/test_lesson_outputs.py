"""Stored lesson outputs show nothing that changes from run to run or from machine to machine."""

import json
import re
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).parent.parent / "notebooks").glob("*.ipynb"))

VOLATILE = {
    "a port": re.compile(r"(?:127\.0\.0\.1|localhost|\[::1\]):\d{2,5}\b"),
    "a date": re.compile(r"\b\d\d:\d\d:\d\d GMT\b"),
    "a websockets version": re.compile(r"websockets/\d"),
    "a memory address": re.compile(r" at 0x[0-9a-f]{6,}"),
}


def outputs(path: Path) -> list[str]:
    texts = []
    for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
        for output in cell.get("outputs", []):
            texts.append("".join(output.get("text", "")))
            for value in output.get("data", {}).values():
                texts.append("".join(value) if isinstance(value, list) else str(value))
    return texts


def test_the_patterns_catch_what_they_are_meant_to():
    samples = ["Host: 127.0.0.1:50321", "Date: Wed, 25 Nov 2026 09:10:37 GMT", "Python/3.11 websockets/17.4"]
    samples.append("<object at 0x7f3a2b1c0d90>")
    assert [any(p.search(s) for p in VOLATILE.values()) for s in samples] == [True] * 4
    assert not any(p.search("Host: 127.0.0.1:<port>") for p in VOLATILE.values())


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_no_stored_lesson_output_shows_a_port_a_date_a_version_or_an_address(path):
    found = [
        f"{what}: {match.group(0)!r}"
        for text in outputs(path)
        for what, pattern in VOLATILE.items()
        for match in pattern.finditer(text)
    ]
    assert found == []
