"""The SVG drawing (wslab/diagram/svg.py): escaped, well-formed, fitted to a notebook's output."""

import itertools

import pytest
from test_diagram import XSS, parse, seed_recorder, session, texts, xss_log

from wslab.diagram import FLOOR_FONT, Diagram, sequence_svg
from wslab.recorder import LogicalClock, Recorder


def test_html_in_a_payload_stays_text_in_the_svg():
    svg = sequence_svg(xss_log())
    doc = parse(svg)  # still well-formed XML
    assert not doc.getElementsByTagName("img") and not doc.getElementsByTagName("script")
    assert "<img" not in svg and "&lt;img src=x onerror=alert(1)&gt;" in svg
    assert any(XSS in t for t in texts(svg))


def test_control_characters_never_reach_the_svg():
    r = Recorder(clock=LogicalClock())
    r.record(side="client", kind="note", endpoint="cli\x00ent", detail="bell\x07 esc\x1b")
    parse(sequence_svg(r.snapshot()))


@pytest.mark.parametrize("lifelines", [2, 3, 4, 5])
def test_up_to_five_lifelines_fit_a_760_px_output_at_10_px_text(lifelines):
    diagram = Diagram(session(lifelines).snapshot())
    assert diagram.min_width <= 760  # labels are cut shorter first
    assert diagram.min_width == -(-diagram.width * FLOOR_FONT // 11)  # 11 px text scaled to 10 px


def test_a_small_drawing_keeps_its_labels_whole_and_is_never_blown_up():
    diagram = Diagram(seed_recorder().snapshot())
    assert diagram.width < 760
    assert "Close 1000 normal closure 'bye' (started by client)" in texts(diagram.svg)
    assert f"max-width:{diagram.width}px" in diagram.html()


def test_ten_lifelines_scroll_sideways_with_their_names_clear_of_each_other():
    diagram = Diagram(session(10).snapshot(), max_events=None)
    assert len(diagram.lifelines) == 10 and diagram.min_width > 760
    heads = sorted(
        (float(rect.getAttribute("x")), float(rect.getAttribute("width")))
        for rect in parse(diagram.svg).getElementsByTagName("rect")
        if rect.getAttribute("height") == "28" and float(rect.getAttribute("y")) < 60
    )
    assert len(heads) == 10
    for (x1, w1), (x2, _) in itertools.pairwise(heads):
        assert x1 + w1 + 10 <= x2  # no two names touch
    page = diagram.html()
    assert "overflow:auto" in page and "position:sticky;top:0" in page  # its own scroll box, names on top


def test_badges_side_by_side_in_one_row_never_overlap():
    for lifelines in (2, 5, 10):
        svg = Diagram(session(lifelines).snapshot(), max_events=None).svg
        rows: dict[str, list[tuple[float, float]]] = {}
        for rect in parse(svg).getElementsByTagName("rect"):
            if rect.getAttribute("rx") == "9":  # a badge
                rows.setdefault(rect.getAttribute("y"), []).append(
                    (float(rect.getAttribute("x")), float(rect.getAttribute("width")))
                )
        for badges in rows.values():
            for (x1, w1), (x2, _) in itertools.pairwise(sorted(badges)):
                assert x1 + w1 <= x2


def test_nothing_is_drawn_outside_the_drawing():
    for lifelines in (2, 5, 10):
        diagram = Diagram(session(lifelines).snapshot(), max_events=None)
        for rect in parse(diagram.svg).getElementsByTagName("rect"):
            x = float(rect.getAttribute("x") or 0)
            assert x >= 0 and x + float(rect.getAttribute("width")) <= diagram.width
