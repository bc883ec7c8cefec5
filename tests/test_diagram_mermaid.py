"""The mermaid text (wslab/diagram/mermaid.py): escaped with entity codes, aliases for odd names."""

import re

from test_diagram import seed_recorder, xss_log

from wslab.diagram import Mermaid, to_mermaid
from wslab.recorder import LogicalClock, Recorder


def test_mermaid_text_is_escaped_with_entity_codes():
    text = to_mermaid(xss_log())
    assert "#60;img src=x onerror=alert(1)#62;" in text
    assert "a#59;b#35;c d#96;e" in text
    for line in text.splitlines()[1:]:
        body = re.sub(r"#\d+;", "", line.split(":", 1)[1] if ":" in line else "")
        assert not set(body) & set('<>;`"{}'), line


def test_mermaid_gives_keyword_participants_an_alias():
    r = Recorder(clock=LogicalClock())
    r.record(side="client", kind="open", endpoint="end", conn="c1", peer="my server")
    text = to_mermaid(r.snapshot())
    assert "participant p1 as end" in text
    assert "participant p2 as my server" in text
    assert "note over p1: ⚡ open" in text


def test_mermaid_shows_as_a_mermaid_block_and_prints_as_text():
    text = to_mermaid(seed_recorder().snapshot())
    assert isinstance(text, Mermaid) and isinstance(text, str)
    assert text.startswith("sequenceDiagram\n    participant client\n    participant server\n")
    assert text._repr_markdown_() == f"```mermaid\n{text}```\n"
