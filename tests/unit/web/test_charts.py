"""The SVG chart renderer: well-formed, escaped, accessible, proportional."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from madoguchi.core.aggregates import percentile_cont
from madoguchi.web.charts import bar_chart, line_chart

SVG = "{http://www.w3.org/2000/svg}"


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # noqa: S314 - our own output, under test


def test_bar_chart_is_well_formed_accessible_and_escaped() -> None:
    hostile = '<script>alert("x")</script> & "quotes"'
    svg = bar_chart([("Zoom", 3), (hostile, 1)], chart_id="c-1", title="T <&>", desc='D "q"')
    root = parse(svg)
    assert root.tag == SVG + "svg"
    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == "c-1-t" and root.get("aria-describedby") == "c-1-d"
    assert root.find(SVG + "title").text == "T <&>"
    assert root.find(SVG + "desc").text == 'D "q"'
    texts = [t.text for t in root.iter(SVG + "text")]
    assert hostile in texts
    assert "<script>" not in svg
    assert not root.findall(".//" + SVG + "script")


def test_bars_are_proportional_to_their_values() -> None:
    root = parse(bar_chart([("a", 40), ("b", 10), ("c", 0), ("d", 20)], chart_id="p", title="t"))
    widths = [float(r.get("width")) for r in root.iter(SVG + "rect")]
    assert widths[2] == 0
    assert widths[0] > 0
    assert abs(widths[1] / widths[0] - 0.25) < 0.01
    assert abs(widths[3] / widths[0] - 0.5) < 0.01
    assert [t.text for t in root.iter(SVG + "text")][1::2] == ["40", "10", "0", "20"]


def test_empty_and_all_zero_charts_are_valid() -> None:
    for items in ([], [("a", 0), ("b", 0)]):
        root = parse(bar_chart(items, chart_id="z", title="none"))
        assert all(float(r.get("width")) == 0 for r in root.iter(SVG + "rect"))
    parse(line_chart([], chart_id="l", title="none"))


def test_line_chart_spans_the_plot_and_scales_from_zero() -> None:
    points = [("2026-11-01", 0), ("2026-11-02", 5), ("2026-11-03", 10)]
    root = parse(line_chart(points, chart_id="b", title="backlog", height=220))
    assert root.get("role") == "img"
    (line,) = root.iter(SVG + "polyline")
    coords = [tuple(map(float, p.split(","))) for p in line.get("points").split()]
    xs, ys = [x for x, _y in coords], [y for _x, y in coords]
    assert xs == sorted(xs) and len(set(xs)) == 3
    # 0 at the bottom, 10 (the axis top) at the top, 5 half-way
    assert ys[0] > ys[1] > ys[2]
    assert abs((ys[0] - ys[1]) - (ys[1] - ys[2])) < 0.2
    labels = [t.text for t in root.iter(SVG + "text")]
    assert "2026-11-01" in labels and "2026-11-03" in labels and "10" in labels


def test_percentile_is_postgresqls_percentile_cont() -> None:
    assert percentile_cont([], 0.5) is None
    assert percentile_cont([4.0, 1.0, 2.0], 0.5) == 2.0
    assert abs(percentile_cont([1.0, 2.0, 4.0], 0.9) - 3.6) < 1e-9
    assert percentile_cont([1.0, 2.0], 0.5) == 1.5
    assert percentile_cont([7.0], 0.9) == 7.0
