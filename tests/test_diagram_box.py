"""The HTML box (wslab/diagram/box.py): pictures as data URIs, nothing breaks out of its attribute."""

import re
from urllib.parse import unquote

from test_diagram import XSS, parse, texts, xss_log

from wslab.diagram import Diagram
from wslab.recorder import LogicalClock, Recorder


def test_html_in_a_payload_stays_text_in_the_html_and_its_pictures():
    page = Diagram(xss_log()).html()
    assert "<script" not in page and "<img src=x" not in page
    pictures = [unquote(src) for src in re.findall(r"src='data:image/svg\+xml;charset=utf-8,([^']*)'", page)]
    assert len(pictures) == 2  # the names, and the rows
    for svg in pictures:
        parse(svg)
        assert "<img" not in svg and "<script" not in svg
    assert any(XSS in t for t in texts(pictures[1]))
    assert "'" not in "".join(re.findall(r"src='([^']*)'", page))  # no picture ends its attribute early


def test_the_html_cannot_break_out_of_its_attributes_or_tags():
    r = Recorder(clock=LogicalClock())
    r.record(side="client", kind="open", endpoint="a'><script>x</script>", conn="c1", peer='b"><i>')
    page = Diagram(r.snapshot()).html()
    assert "<script" not in page and "<i>" not in page
    assert "alt='lifelines: a&#x27;&gt;&lt;script&gt;x&lt;/script&gt;, b&quot;&gt;&lt;i&gt;'" in page
