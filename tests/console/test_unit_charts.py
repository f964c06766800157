"""services/console/charts.py: inline SVG charts that are readable without colour and self-contained."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest
from markupsafe import Markup

from services.console.charts import bar_chart, line_chart

SVG = "{http://www.w3.org/2000/svg}"
CATS = ["2026-10", "2026-11", "2026-12"]


def _parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # raises if it is not well-formed XML


@pytest.mark.timeout(60)
def test_bar_chart_is_accessible_svg_with_values_and_hatches() -> None:
    svg = bar_chart("各单位月度办件量", CATS, {"公安局": [12, 30, 5], "民政局": [0, 3, 7.5]})
    assert isinstance(svg, Markup)
    assert svg.startswith("<svg") and "<?xml" not in svg and "DOCTYPE" not in svg
    root = _parse(svg)
    assert root.get("role") == "img"
    label = root.get("aria-label")
    assert label.startswith("各单位月度办件量") and "公安局" in label and "2026-11 30" in label and "7.5" in label
    assert root.find(f"{SVG}title").text == "各单位月度办件量"
    texts = {t.text for t in root.iter(f"{SVG}text")}  # fonttype none: text stays text
    assert {"30", "12", "7.5", "公安局", "民政局", "2026-12"} <= texts
    # Each series its own hatch pattern (two series → two distinct <pattern>s used by the bars).
    patterns = root.findall(f".//{SVG}pattern")
    assert len(patterns) == 2
    assert len({ET.tostring(p) for p in patterns}) == 2


@pytest.mark.timeout(60)
def test_line_chart_uses_different_markers_and_styles_and_percent() -> None:
    svg = line_chart("按期办结率", CATS, {"全中心": [0.9, 0.95, 1.0], "公安局": [0.8, 0.85, 0.9]}, percent=True)
    root = _parse(svg)
    texts = {t.text for t in root.iter(f"{SVG}text")}
    assert {"95%", "100%", "85%"} <= texts
    # Markers are <defs> paths stroked in the series' colour; two series → two different shapes.
    marker_defs = {p.get("d") for p in root.iter(f"{SVG}path")
                   if p.get("id") and "#000000" not in (p.get("style") or "")}
    assert len(marker_defs) >= 2
    dashes = re.findall(r'stroke-dasharray="([0-9., ]+)"', svg)
    assert dashes, "the second series is dashed, not only differently coloured"


@pytest.mark.timeout(60)
def test_no_external_urls_and_unique_ids_per_chart() -> None:
    a = bar_chart("甲", CATS, {"x": [1, 2, 3]})
    b = bar_chart("乙", CATS, {"x": [1, 2, 4]})
    for svg in (a, b):
        urls = set(re.findall(r"https?://[^\"'\s)]+", svg))
        assert urls <= {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}, urls
        assert "<metadata" not in svg
        # The console's CSP (style-src 'self') drops inline styles: presentation attributes only.
        assert "style=" not in svg and "<style" not in svg
    ids_a = set(re.findall(r'id="([^"]+)"', a))
    ids_b = set(re.findall(r'id="([^"]+)"', b))
    assert ids_a and not ids_a & ids_b  # two charts on one page never share an id


@pytest.mark.timeout(60)
def test_identical_input_is_memoised_and_mismatched_lengths_refused() -> None:
    a = bar_chart("甲", CATS, {"x": [1, 2, 3]})
    assert bar_chart("甲", list(CATS), {"x": [1.0, 2.0, 3.0]}) is a
    with pytest.raises(ValueError):
        bar_chart("甲", CATS, {"x": [1, 2]})
    assert line_chart("空", [], {}).startswith("<svg")  # an empty chart still renders
