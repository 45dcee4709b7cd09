"""Training curves as a self-contained SVG: loss and token accuracy against step.

Plain string building, no plotting library: loss on the left axis (from 0), token accuracy on
the right axis (0 to 1), one polyline per unbroken run of values (a ``None`` breaks the line,
a lone value is drawn as a dot, hollow for accuracy), full-validation loss as markers at epoch
ends. The output depends only on the input, so the same run always gives the same bytes.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

from ftflow.azure.results import MetricsRow

__all__ = ["curves_svg", "svg_data_uri"]

WIDTH, HEIGHT = 720, 420
LEFT, RIGHT, TOP, BOTTOM = 70, 650, 50, 320  # the plot area
_BLUE, _ORANGE, _GREEN = "#1f77b4", "#ff7f0e", "#2ca02c"


@dataclass(frozen=True)
class _Series:
    label: str
    column: str
    right_axis: bool
    color: str
    dashed: bool = False
    markers_only: bool = False


_SERIES = (
    _Series("train loss", "train_loss", False, _BLUE),
    _Series("valid loss", "valid_loss", False, _ORANGE),
    _Series("full valid loss", "full_valid_loss", False, _GREEN, markers_only=True),
    _Series("train accuracy", "train_mean_token_accuracy", True, _BLUE, dashed=True),
    _Series("valid accuracy", "valid_mean_token_accuracy", True, _ORANGE, dashed=True),
)


def _fmt(value: float) -> str:
    """A tick label without float noise (0.30000000000000004 → 0.3)."""
    return f"{round(value, 6):g}"


def _nice_step(span: float, target: int) -> float:
    """A 1, 2, 2.5 or 5 × 10^k step giving about ``target`` intervals over ``span``."""
    raw = span / target
    magnitude = 10.0 ** math.floor(math.log10(raw))
    for factor in (1.0, 2.0, 2.5, 5.0):
        if raw <= factor * magnitude:
            return factor * magnitude
    return 10 * magnitude


def _ticks(low: float, high: float, step: float) -> list[float]:
    first = math.ceil(low / step - 1e-9)
    last = math.floor(high / step + 1e-9)
    return [index * step for index in range(first, last + 1)]


def _x_domain(rows: Sequence[MetricsRow]) -> tuple[float, float, float]:
    """Step range and tick spacing (whole steps only); one step is centred in a range of 2."""
    steps = [row.step for row in rows] or [0]
    low, high = float(min(steps)), float(max(steps))
    if low == high:
        low, high = low - 1, high + 1
    return low, high, max(1.0, float(round(_nice_step(high - low, 6))))


def _loss_domain(rows: Sequence[MetricsRow]) -> tuple[float, float]:
    """Top of the loss axis (a whole number of ticks) and the tick spacing."""
    losses = [
        value
        for row in rows
        for series in _SERIES
        if not series.right_axis and (value := getattr(row, series.column)) is not None
    ]
    peak = max(losses, default=0.0)
    if peak <= 0:
        return 1.0, 0.2
    step = _nice_step(peak, 5)
    return math.ceil(peak / step - 1e-9) * step, step


def _runs(points: Sequence[tuple[float, float | None]]) -> list[list[tuple[float, float]]]:
    """Unbroken runs of values: a ``None`` ends a run."""
    runs: list[list[tuple[float, float]]] = [[]]
    for x, y in points:
        if y is None:
            if runs[-1]:
                runs.append([])
        else:
            runs[-1].append((x, y))
    return [run for run in runs if run]


def _series_svg(
    series: _Series,
    rows: Sequence[MetricsRow],
    px: Callable[[float], float],
    py: Callable[[float], float],
) -> list[str]:
    points = [(float(row.step), getattr(row, series.column)) for row in rows]
    dash = ' stroke-dasharray="6 4"' if series.dashed else ""
    parts: list[str] = []
    for run in _runs(points):
        coords = [(px(x), py(y)) for x, y in run]
        if len(coords) == 1 or series.markers_only:
            paint = (
                f'fill="white" stroke="{series.color}"'
                if series.dashed
                else f'fill="{series.color}"'
            )
            parts.extend(
                f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="3" {paint}/>' for cx, cy in coords
            )
        else:
            joined = " ".join(f"{cx:.1f},{cy:.1f}" for cx, cy in coords)
            parts.append(
                f'<polyline class="series" data-series={quoteattr(series.column)} '
                f'points="{joined}" fill="none" stroke="{series.color}" '
                f'stroke-width="1.5"{dash}/>'
            )
    return parts


def _legend() -> list[str]:
    parts: list[str] = []
    x, y = 40, BOTTOM + 62
    for series in _SERIES:
        if series.markers_only:
            mark = f'<circle cx="{x + 12}" cy="{y - 4}" r="3" fill="{series.color}"/>'
        else:
            dash = ' stroke-dasharray="6 4"' if series.dashed else ""
            mark = (
                f'<line x1="{x}" y1="{y - 4}" x2="{x + 24}" y2="{y - 4}" '
                f'stroke="{series.color}" stroke-width="2"{dash}/>'
            )
        parts += [mark, f'<text x="{x + 30}" y="{y}">{escape(series.label)}</text>']
        x += 30 + 6 * len(series.label) + 14
    return parts


def _axes(
    x_ticks: Sequence[float],
    loss_ticks: Sequence[float],
    px: Callable[[float], float],
    loss_y: Callable[[float], float],
    acc_y: Callable[[float], float],
) -> list[str]:
    parts = [
        f'<line x1="{LEFT}" y1="{BOTTOM}" x2="{RIGHT}" y2="{BOTTOM}" stroke="#333"/>',
        f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{BOTTOM}" stroke="#333"/>',
        f'<line x1="{RIGHT}" y1="{TOP}" x2="{RIGHT}" y2="{BOTTOM}" stroke="#333"/>',
    ]
    for tick in loss_ticks:
        y = loss_y(tick)
        parts.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{RIGHT}" y2="{y:.1f}" stroke="#e5e5e5"/>')
        parts.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{_fmt(tick)}</text>')
    for tick in (0.0, 0.2, 0.4, 0.6, 0.8, 1.0):
        y = acc_y(tick)
        parts.append(
            f'<line x1="{RIGHT}" y1="{y:.1f}" x2="{RIGHT + 4}" y2="{y:.1f}" stroke="#333"/>'
        )
        parts.append(f'<text x="{RIGHT + 8}" y="{y + 4:.1f}">{_fmt(tick)}</text>')
    for tick in x_ticks:
        x = px(tick)
        parts.append(
            f'<line x1="{x:.1f}" y1="{BOTTOM}" x2="{x:.1f}" y2="{BOTTOM + 4}" stroke="#333"/>'
        )
        parts.append(
            f'<text x="{x:.1f}" y="{BOTTOM + 18}" text-anchor="middle">{_fmt(tick)}</text>'
        )
    middle = (TOP + BOTTOM) / 2
    parts += [
        f'<text x="{(LEFT + RIGHT) / 2:.1f}" y="{BOTTOM + 36}" text-anchor="middle">step</text>',
        f'<text x="18" y="{middle:.1f}" text-anchor="middle" '
        f'transform="rotate(-90 18 {middle:.1f})">loss</text>',
        f'<text x="{WIDTH - 14}" y="{middle:.1f}" text-anchor="middle" '
        f'transform="rotate(90 {WIDTH - 14} {middle:.1f})">token accuracy</text>',
    ]
    return parts


def curves_svg(rows: Sequence[MetricsRow], *, title: str) -> str:
    """An SVG document plotting loss (left axis) and token accuracy (right axis) by step."""
    ordered = sorted(rows, key=lambda row: row.step)
    x_low, x_high, x_step = _x_domain(ordered)
    loss_top, loss_step = _loss_domain(ordered)

    def px(step: float) -> float:
        return LEFT + (step - x_low) / (x_high - x_low) * (RIGHT - LEFT)

    def loss_y(value: float) -> float:
        return BOTTOM - value / loss_top * (BOTTOM - TOP)

    def acc_y(value: float) -> float:
        return BOTTOM - value * (BOTTOM - TOP)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="12">',
        f"<title>{escape(title)}</title>",
        '<rect width="100%" height="100%" fill="white"/>',
        f'<text x="{WIDTH / 2:.1f}" y="28" text-anchor="middle" font-size="16">'
        f"{escape(title)}</text>",
    ]
    parts += _axes(_ticks(x_low, x_high, x_step), _ticks(0, loss_top, loss_step), px, loss_y, acc_y)
    for series in _SERIES:
        parts += _series_svg(series, ordered, px, acc_y if series.right_axis else loss_y)
    if not ordered:
        parts.append(
            f'<text x="{(LEFT + RIGHT) / 2:.1f}" y="{(TOP + BOTTOM) / 2:.1f}" '
            'text-anchor="middle" fill="#777">no metrics reported</text>'
        )
    parts += _legend()
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def svg_data_uri(svg: str) -> str:
    """``svg`` as a ``data:image/svg+xml;base64,…`` URI, for markdown image links."""
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")
