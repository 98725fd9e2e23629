"""Charts as inline SVG, rendered on the server: horizontal bars for a breakdown, a line
for a series over time. No JavaScript, no library, nothing to download.

The chart is a picture of a table the page shows beside it; the table is the accessible
source. The SVG says what it is (``role="img"``, labelled by its ``<title>`` and
``<desc>``), its text is escaped here (labels come from the database: category names),
and it uses presentation attributes only (the desk's CSP allows no inline style). The
colours are the desk's: text #1d2330 and bars #0b5cad on white (contrast 15.7:1 and
6.7:1; the grid lines 4.0:1), so a chart stays readable in print and in greyscale.

Pure: no Django, so it is tested in milliseconds.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from xml.sax.saxutils import escape, quoteattr

TEXT = "#1d2330"
BAR = "#0b5cad"
GRID = "#767f8f"  # 4.0:1 on white: visible, not loud
FONT = "system-ui, 'Noto Sans CJK JP', 'Hiragino Sans', sans-serif"


def _number(value: float) -> str:
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.1f}"


def _coord(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _open(chart_id: str, width: float, height: float, title: str, desc: str) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        f'width="{_coord(width)}" height="{_coord(height)}" '
        f'viewBox="0 0 {_coord(width)} {_coord(height)}" '
        f"aria-labelledby={quoteattr(chart_id + '-t')} "
        f"aria-describedby={quoteattr(chart_id + '-d')} "
        f'font-family={quoteattr(FONT)} font-size="12" fill={quoteattr(TEXT)}>',
        f"<title id={quoteattr(chart_id + '-t')}>{escape(title)}</title>",
        f"<desc id={quoteattr(chart_id + '-d')}>{escape(desc)}</desc>",
    ]


def _label_width(labels: Sequence[str]) -> float:
    """Room for the longest label: a CJK character is about one em, Latin half."""
    widest = 0.0
    for label in labels:
        widest = max(widest, sum(12.0 if ord(c) > 0x2E7F else 7.0 for c in label))
    return min(max(widest + 8, 40.0), 220.0)


def bar_chart(
    items: Sequence[tuple[str, float]],
    *,
    chart_id: str,
    title: str,
    desc: str = "",
    width: float = 560,
    bar_height: float = 18,
    gap: float = 6,
) -> str:
    """One horizontal bar per ``(label, value)``, in the given order; a bar's length is
    proportional to its value (the longest bar is the largest value). Negative values
    count as zero."""
    labels = [label for label, _value in items]
    left = _label_width(labels)
    right = 64.0  # the value written after the bar
    plot = max(width - left - right, 40.0)
    top = 8.0
    height = top * 2 + max(len(items), 1) * (bar_height + gap)
    largest = max((max(v, 0) for _label, v in items), default=0)
    out = _open(chart_id, width, height, title, desc)
    out.append(
        f'<line x1="{_coord(left)}" y1="{_coord(top - 4)}" x2="{_coord(left)}" '
        f'y2="{_coord(height - top + 4)}" stroke="{GRID}" stroke-width="1"/>'
    )
    for i, (label, value) in enumerate(items):
        y = top + i * (bar_height + gap)
        length = plot * max(value, 0) / largest if largest else 0.0
        middle = y + bar_height / 2
        out.append(
            f'<text x="{_coord(left - 6)}" y="{_coord(middle)}" text-anchor="end" '
            f'dominant-baseline="middle">{escape(label)}</text>'
        )
        out.append(
            f'<rect class="bar" x="{_coord(left)}" y="{_coord(y)}" width="{_coord(length)}" '
            f'height="{_coord(bar_height)}" fill="{BAR}"/>'
        )
        out.append(
            f'<text x="{_coord(left + length + 4)}" y="{_coord(middle)}" '
            f'dominant-baseline="middle">{escape(_number(value))}</text>'
        )
    out.append("</svg>")
    return "".join(out)


def _nice_ceiling(value: float) -> float:
    """1, 2 or 5 times a power of ten, at least ``value`` (the top of the y axis)."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if step * power >= value:
            return float(step * power)
    return float(10 * power)  # pragma: no cover - the loop always returns


def line_chart(
    points: Sequence[tuple[str, float]],
    *,
    chart_id: str,
    title: str,
    desc: str = "",
    width: float = 560,
    height: float = 220,
) -> str:
    """A line through ``(label, value)`` points spaced evenly (days, say), the y axis from
    zero; the first, middle and last labels are written under the axis."""
    left, right, top, bottom = 48.0, 16.0, 12.0, 28.0
    plot_w = width - left - right
    plot_h = height - top - bottom
    ceiling = _nice_ceiling(max((v for _label, v in points), default=0))
    out = _open(chart_id, width, height, title, desc)
    for fraction in (0.0, 0.5, 1.0):
        y = top + plot_h * (1 - fraction)
        out.append(
            f'<line x1="{_coord(left)}" y1="{_coord(y)}" x2="{_coord(width - right)}" '
            f'y2="{_coord(y)}" stroke="{GRID}" stroke-width="{1 if fraction == 0 else 0.5}"/>'
        )
        out.append(
            f'<text x="{_coord(left - 6)}" y="{_coord(y)}" text-anchor="end" '
            f'dominant-baseline="middle">{escape(_number(ceiling * fraction))}</text>'
        )
    n = len(points)

    def x_of(i: int) -> float:
        return left + (plot_w * i / (n - 1) if n > 1 else plot_w / 2)

    coords = [
        (x_of(i), top + plot_h * (1 - max(value, 0) / ceiling))
        for i, (_label, value) in enumerate(points)
    ]
    if coords:
        path = " ".join(f"{_coord(x)},{_coord(y)}" for x, y in coords)
        out.append(
            f'<polyline class="line" points="{path}" fill="none" stroke="{BAR}" '
            f'stroke-width="2" stroke-linejoin="round"/>'
        )
        if n == 1:
            x, y = coords[0]
            out.append(f'<circle cx="{_coord(x)}" cy="{_coord(y)}" r="3" fill="{BAR}"/>')
        shown = sorted({0, (n - 1) // 2, n - 1})
        for i in shown:
            anchor = "start" if i == 0 and n > 1 else "end" if i == n - 1 and n > 1 else "middle"
            out.append(
                f'<text x="{_coord(x_of(i))}" y="{_coord(height - 8)}" '
                f'text-anchor="{anchor}">{escape(points[i][0])}</text>'
            )
    out.append("</svg>")
    return "".join(out)
