"""Charts as inline SVG drawn on the server: no script, no library in the browser.

Each chart is an `<svg role="img">` named by its `<title>` and described by its `<desc>`
(`aria-labelledby`); its words come translated from the template, its numbers already
formatted for the page's language. Colour is never the only cue: bars carry their value as
text, the series of a stacked bar each have a pattern as well as a colour (and a legend), and
the page shows the table of every chart's numbers under it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup

WIDTH = 720
FONT = 14
LINE = 30  # a bar's row
LABEL_WIDTH = 200  # the labels' column, left of the bars: 22 characters at FONT
TEXT = "#1b1b1b"
MUTED = "#505a5f"
ACCENT = "#1f4e8c"

SERIES = (
    ("#1f4e8c", "solid"),
    ("#8a5a00", "stripes"),
    ("#116b3a", "dots"),
    ("#6a1b9a", "cross"),
    ("#b04500", "rows"),
    ("#505a5f", "columns"),
)
"""The colours (each at least 4.5:1 on white) and patterns of a stacked bar's series."""


@dataclass(frozen=True)
class Bar:
    """One bar: its label, its length (any unit, the longest is drawn full width), the text
    written beside it, and whether it is hatched (a rate over too few cases)."""

    label: str
    value: float
    text: str
    hatched: bool = False


@dataclass(frozen=True)
class Stack:
    """One stacked bar: its label and a count per series."""

    label: str
    counts: Sequence[int]


@dataclass(frozen=True)
class Point:
    """One point of a line: its label on the axis, its value, the text written above it."""

    label: str
    value: float
    text: str


def _frame(chart_id: str, title: str, desc: str, height: int, body: list[Markup]) -> Markup:
    return Markup(
        '<svg xmlns="http://www.w3.org/2000/svg" role="img" id="{id}" viewBox="0 0 {w} {h}" '
        'width="{w}" height="{h}" aria-labelledby="{id}-title {id}-desc" '
        'font-family="system-ui, sans-serif" font-size="{font}">'
        '<title id="{id}-title">{title}</title><desc id="{id}-desc">{desc}</desc>{body}</svg>'
    ).format(
        id=chart_id,
        w=WIDTH,
        h=height,
        font=FONT,
        title=title,
        desc=desc,
        body=Markup("").join(body),
    )


MARKS = {
    "solid": Markup(""),
    "stripes": Markup(
        '<path d="M-2,2 l4,-4 M0,8 l8,-8 M6,10 l4,-4" stroke="#fff" stroke-width="2"/>'
    ),
    "dots": Markup('<circle cx="4" cy="4" r="1.6" fill="#fff"/>'),
    "cross": Markup('<path d="M0,4 h8 M4,0 v8" stroke="#fff" stroke-width="1.5"/>'),
    "rows": Markup('<path d="M0,2 h8 M0,6 h8" stroke="#fff" stroke-width="1.2"/>'),
    "columns": Markup('<path d="M2,0 v8 M6,0 v8" stroke="#fff" stroke-width="1.2"/>'),
}
"""The white marks each pattern draws over its colour."""


def _pattern(pattern_id: str, colour: str, kind: str) -> Markup:
    """A fill of `colour` with white marks of `kind` over it."""
    return Markup(
        '<pattern id="{}" width="8" height="8" patternUnits="userSpaceOnUse">'
        '<rect width="8" height="8" fill="{}"/>{}</pattern>'
    ).format(pattern_id, colour, MARKS[kind])


def _text(x: float, y: float, text: str, anchor: str = "start", size: int = FONT) -> Markup:
    return Markup(
        '<text x="{:.1f}" y="{:.1f}" text-anchor="{}" font-size="{}" fill="{}">{}</text>'
    ).format(x, y, anchor, size, TEXT, text)


def _rect(x: float, y: float, width: float, height: float, fill: str, stroke: str) -> Markup:
    return Markup(
        '<rect x="{:.1f}" y="{:.1f}" width="{:.1f}" height="{:.1f}" fill="{}" stroke="{}"/>'
    ).format(x, y, width, height, fill, stroke)


def horizontal_bars(chart_id: str, title: str, desc: str, bars: Sequence[Bar]) -> Markup:
    """Bars from a column of labels, each with its text beside it."""
    height = LINE * max(len(bars), 1) + 10
    longest = max((bar.value for bar in bars), default=0) or 1
    room = WIDTH - LABEL_WIDTH - 150  # the text beside the longest bar
    hatch = f"{chart_id}-hatched"
    body = [Markup("<defs>{}</defs>").format(_pattern(hatch, ACCENT, "stripes"))]
    for row, bar in enumerate(bars):
        y = 5 + row * LINE
        length = room * bar.value / longest
        fill = f"url(#{hatch})" if bar.hatched else ACCENT
        body += [
            _text(LABEL_WIDTH - 8, y + 19, _clipped(bar.label), "end"),
            _rect(LABEL_WIDTH, y + 4, max(length, 1), LINE - 10, fill, ACCENT),
            _text(LABEL_WIDTH + length + 6, y + 19, bar.text),
        ]
    return _frame(chart_id, title, desc, height, body)


def stacked_bars(
    chart_id: str, title: str, desc: str, series: Sequence[str], stacks: Sequence[Stack]
) -> Markup:
    """One bar per stack, its series end to end in their colours and patterns, a legend
    above; each series' count is in the segment's tooltip and in the table under it."""
    top = (len(series) + 1) // 2 * 24 + 10
    height = top + LINE * max(len(stacks), 1) + 10
    longest = max((sum(stack.counts) for stack in stacks), default=0) or 1
    room = WIDTH - LABEL_WIDTH - 60
    fills = [f"url(#{chart_id}-s{i})" for i in range(len(series))]
    body = [
        Markup("<defs>{}</defs>").format(
            Markup("").join(
                _pattern(f"{chart_id}-s{i}", *SERIES[i % len(SERIES)]) for i in range(len(series))
            )
        )
    ]
    for i, name in enumerate(series):
        left, y = 10 + (i % 2) * (WIDTH // 2), 4 + (i // 2) * 24
        body += [
            _rect(left, y, 18, 18, fills[i], TEXT),
            _text(left + 26, y + 14, _clipped(name, 36)),
        ]
    for row, stack in enumerate(stacks):
        y = top + row * LINE
        body.append(_text(LABEL_WIDTH - 8, y + 19, _clipped(stack.label), "end"))
        x = float(LABEL_WIDTH)
        for i, count in enumerate(stack.counts):
            if count:
                length = room * count / longest
                body.append(
                    Markup(
                        '<rect x="{:.1f}" y="{}" width="{:.1f}" height="{}" fill="{}" '
                        'stroke="#fff"><title>{}: {}</title></rect>'
                    ).format(x, y + 4, length, LINE - 10, fills[i], series[i], count)
                )
                x += length
        body.append(_text(x + 6, y + 19, str(sum(stack.counts))))
    return _frame(chart_id, title, desc, height, body)


def line(chart_id: str, title: str, desc: str, points: Sequence[Point]) -> Markup:
    """A line through the points, left to right, each marked and its text above it."""
    height, left, bottom, top = 240, 30.0, 200.0, 30.0
    step = (WIDTH - 2 * left) / max(len(points) - 1, 1)
    highest = max((point.value for point in points), default=0) or 1
    where = [
        (left + i * step, bottom - (bottom - top) * point.value / highest)
        for i, point in enumerate(points)
    ]
    body = [
        Markup('<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="{}"/>').format(
            left, bottom, WIDTH - left, bottom, MUTED
        ),
        Markup('<polyline fill="none" stroke="{}" stroke-width="3" points="{}"/>').format(
            ACCENT, " ".join(f"{x:.1f},{y:.1f}" for x, y in where)
        ),
    ]
    for (x, y), point in zip(where, points, strict=True):
        body += [
            Markup(
                '<circle cx="{:.1f}" cy="{:.1f}" r="5" fill="#fff" stroke="{}" stroke-width="3"/>'
            ).format(x, y, ACCENT),
            _text(x, y - 10, point.text, "middle"),
            _text(x, bottom + 20, point.label, "middle", 12),
        ]
    return _frame(chart_id, title, desc, height, body)


def _clipped(text: str, room: int = 22) -> str:
    """A label short enough for its column (the table under the chart has it whole)."""
    return text if len(text) <= room else text[: room - 1] + "…"
