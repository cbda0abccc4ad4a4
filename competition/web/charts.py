"""Charts drawn on the server as inline SVG: no CDN, no script, readable on a phone.

Each function takes plain numbers and labels already in the page's language and returns markup
for a template. Bars are horizontal where labels are names (delegations, trades: the label sits
left of its bar, so a phone never has to tilt text) and vertical for days. Every chart is an
image with a title and a description for screen readers (`role="img"`, `<title>`, `<desc>`),
and every bar has its own `<title>`, which a browser shows as a tooltip.

The drawing is 400 units wide and scales with its box: about 1:1 on a phone, and the page's CSS
(`.chart`) caps its width on a wide screen so text stays a sensible size. Text takes the page's
font (CJK fonts first, static/css/app.css).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH = 400
FONT = 12  # px in the drawing's units
ROW = 22  # one bar and its gap
BAR = 15
LABEL_WIDTH = 120  # room for a label of ten CJK characters
VALUE_WIDTH = 46  # room for the number after the longest bar
PAD = 4
_ids = itertools.count(1)


@dataclass(frozen=True)
class Series:
    """One part of a stacked bar (e.g. entries in one status) and its colour."""

    name: str
    color: str


def text_width(text: str, size: float = FONT) -> float:
    """Width of a label: CJK and full-width characters are about 1 em, others about 0.6 em."""
    return sum(size if ord(ch) > 0x2E7F else size * 0.6 for ch in text)


def fit(text: str, width: float, size: float = FONT) -> str:
    """`text` cut with an ellipsis to fit `width` (the whole text stays in the bar's title)."""
    if text_width(text, size) <= width:
        return text
    out = ""
    for ch in text:
        if text_width(out + ch + "…", size) > width:
            break
        out += ch
    return out + "…"


def _number(value: float) -> str:
    return f"{value:,}" if isinstance(value, int) else f"{value:,.1f}"


def _svg(body: list[str], height: float, title: str, desc: str) -> Markup:
    uid = f"chart{next(_ids)}"
    # Every text that goes into `body` or here is escaped where it is put in.
    return Markup(  # noqa: S704
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height:.0f}" role="img" '
        f'aria-labelledby="{uid}-t {uid}-d" xmlns="http://www.w3.org/2000/svg">'
        f'<title id="{uid}-t">{escape(title)}</title><desc id="{uid}-d">{escape(desc)}</desc>'
        + "".join(body)
        + "</svg>"
    )


def _empty(title: str, empty: str) -> Markup:
    body = [
        f'<text x="{WIDTH / 2}" y="24" text-anchor="middle" font-size="{FONT}" '
        f'fill="#5d6776">{escape(empty)}</text>'
    ]
    return _svg(body, 40, title, empty)


def _scale(maximum: float) -> float:
    room = WIDTH - LABEL_WIDTH - VALUE_WIDTH - 2 * PAD
    return room / maximum if maximum > 0 else 0.0


def bar_chart(
    rows: Sequence[tuple[str, int | float]],
    *,
    title: str,
    desc: str = "",
    color: str = "#1f5fa8",
    colors: Sequence[str] | None = None,
    empty: str = "—",
) -> Markup:
    """One horizontal bar per (label, value), in the order given; `colors` gives each bar its
    own colour."""
    if not rows:
        return _empty(title, empty)
    scale = _scale(max(value for _label, value in rows))
    body = []
    for i, (label, value) in enumerate(rows):
        y = PAD + i * ROW
        width = value * scale
        body.append(
            f"<g><title>{escape(label)}: {_number(value)}</title>"
            f'<text x="{LABEL_WIDTH - 6}" y="{y + BAR - 3}" text-anchor="end" '
            f'font-size="{FONT}" fill="#1d2430">{escape(fit(label, LABEL_WIDTH - 8))}</text>'
            f'<rect x="{LABEL_WIDTH}" y="{y}" width="{width:.1f}" height="{BAR}" rx="2" '
            f'fill="{colors[i] if colors else color}"/>'
            f'<text x="{LABEL_WIDTH + width + 4:.1f}" y="{y + BAR - 3}" font-size="{FONT}" '
            f'fill="#1d2430">{_number(value)}</text></g>'
        )
    return _svg(body, PAD * 2 + len(rows) * ROW, title, desc or _describe(rows))


def stacked_bar_chart(
    rows: Sequence[tuple[str, Sequence[int]]],
    series: Sequence[Series],
    *,
    title: str,
    desc: str = "",
    empty: str = "—",
) -> Markup:
    """One horizontal bar per label, split into the parts of `series` (same order as each
    row's values), with a legend above and the row's total after the bar."""
    if not rows:
        return _empty(title, empty)
    legend, legend_height = _legend(series)
    scale = _scale(max(sum(values) for _label, values in rows))
    body = list(legend)
    for i, (label, values) in enumerate(rows):
        y = legend_height + PAD + i * ROW
        total = sum(values)
        parts = "、".join(
            f"{s.name} {_number(v)}" for s, v in zip(series, values, strict=True) if v
        )
        body.append(
            f"<g><title>{escape(label)}: {_number(total)} ({escape(parts)})</title>"
            f'<text x="{LABEL_WIDTH - 6}" y="{y + BAR - 3}" text-anchor="end" '
            f'font-size="{FONT}" fill="#1d2430">{escape(fit(label, LABEL_WIDTH - 8))}</text>'
        )
        x = float(LABEL_WIDTH)
        for s, value in zip(series, values, strict=True):
            if value:
                width = value * scale
                body.append(
                    f'<rect x="{x:.1f}" y="{y}" width="{width:.1f}" height="{BAR}" '
                    f'fill="{s.color}"/>'
                )
                x += width
        body.append(
            f'<text x="{x + 4:.1f}" y="{y + BAR - 3}" font-size="{FONT}" '
            f'fill="#1d2430">{_number(total)}</text></g>'
        )
    height = legend_height + PAD * 2 + len(rows) * ROW
    totals = [(label, sum(values)) for label, values in rows]
    return _svg(body, height, title, desc or _describe(totals))


def _legend(series: Sequence[Series]) -> tuple[list[str], float]:
    """Swatches and names, wrapped over as many lines as the width needs."""
    body, x, line = [], float(PAD), 0
    for s in series:
        width = 14 + text_width(s.name) + 12
        if x + width > WIDTH and x > PAD:
            x, line = float(PAD), line + 1
        y = PAD + line * 18
        body.append(
            f'<rect x="{x:.1f}" y="{y + 2}" width="10" height="10" rx="2" fill="{s.color}"/>'
            f'<text x="{x + 14:.1f}" y="{y + 11}" font-size="{FONT}" '
            f'fill="#1d2430">{escape(s.name)}</text>'
        )
        x += width
    return body, PAD + (line + 1) * 18 + 4


def column_chart(
    points: Sequence[tuple[str, int | float]],
    *,
    title: str,
    desc: str = "",
    color: str = "#1f5fa8",
    empty: str = "—",
    height: int = 160,
) -> Markup:
    """One vertical bar per (label, value), left to right (e.g. one per day), with the largest
    value marked and about six labels under the axis, first and last included."""
    if not points:
        return _empty(title, empty)
    top, axis, left, right = 18, height - 20, 30.0, WIDTH - PAD
    maximum = max(value for _label, value in points) or 1
    step = (right - left) / len(points)
    width = min(max(step * 0.75, 1.0), 24.0)
    body = [
        f'<line x1="{left}" y1="{axis}" x2="{right}" y2="{axis}" stroke="#c5ccd8"/>',
        f'<text x="{left - 4}" y="{top + 4}" text-anchor="end" font-size="{FONT - 2}" '
        f'fill="#5d6776">{_number(maximum)}</text>',
        f'<line x1="{left}" y1="{top}" x2="{right}" y2="{top}" stroke="#eef1f5"/>',
    ]
    for i, (label, value) in enumerate(points):
        x = left + i * step + (step - width) / 2
        bar = (axis - top) * value / maximum
        body.append(
            f"<g><title>{escape(label)}: {_number(value)}</title>"
            f'<rect x="{x:.1f}" y="{axis - bar:.1f}" width="{width:.1f}" height="{bar:.1f}" '
            f'fill="{color}"/></g>'
        )
    for i in _labelled(len(points)):
        x = left + i * step + step / 2
        body.append(
            f'<text x="{x:.1f}" y="{axis + 14}" text-anchor="middle" '
            f'font-size="{FONT - 2}" fill="#5d6776">{escape(points[i][0])}</text>'
        )
    return _svg(body, height, title, desc or _describe(points))


def _labelled(n: int, most: int = 6) -> list[int]:
    """Which of n columns get a label under the axis: about `most`, the first and the last, none
    crowding the last."""
    every = max(1, round(n / most))
    chosen = [i for i in range(0, n, every) if i == 0 or n - 1 - i >= every / 2]
    if n - 1 not in chosen:
        chosen.append(n - 1)
    return chosen


def _describe(rows: Sequence[tuple[str, int | float]]) -> str:
    """A short text of the chart for screen readers: its largest values."""
    largest = sorted(rows, key=lambda r: -r[1])[:3]
    return "; ".join(f"{label}: {_number(value)}" for label, value in largest)
