"""The training-curves SVG: well-formed, one polyline per unbroken run, axes that hold the data."""

from __future__ import annotations

import base64
import xml.etree.ElementTree as ET

from ftflow.azure.results import MetricsRow
from ftflow.charts import BOTTOM, LEFT, RIGHT, TOP, curves_svg, svg_data_uri

SVG = "{http://www.w3.org/2000/svg}"


def _row(
    step: int,
    train_loss: float | None = None,
    train_acc: float | None = None,
    valid_loss: float | None = None,
    valid_acc: float | None = None,
    full_valid_loss: float | None = None,
) -> MetricsRow:
    return MetricsRow(step, train_loss, train_acc, valid_loss, valid_acc, full_valid_loss, None)


def _parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # noqa: S314 (our own output, not untrusted input)


def _polylines(svg: str) -> dict[str, list[list[tuple[float, float]]]]:
    """Points of every data polyline, by series column."""
    found: dict[str, list[list[tuple[float, float]]]] = {}
    for line in _parse(svg).iter(f"{SVG}polyline"):
        pairs = [pair.partition(",") for pair in line.attrib["points"].split()]
        points = [(float(x), float(y)) for x, _, y in pairs]
        found.setdefault(line.attrib["data-series"], []).append(points)
    return found


def _texts(svg: str) -> list[str]:
    return [element.text or "" for element in _parse(svg).iter(f"{SVG}text")]


ROWS = [_row(step, 3.0 - step / 10, step / 20, 3.2 - step / 12, step / 25) for step in range(1, 11)]


def test_curves_svg_is_well_formed_with_title_axes_and_legend() -> None:
    svg = curves_svg(ROWS, title="job <ft> & co")
    root = _parse(svg)
    assert root.tag == f"{SVG}svg"
    assert root.findtext(f"{SVG}title") == "job <ft> & co"
    texts = _texts(svg)
    assert "job <ft> & co" in texts
    for label in ("step", "loss", "token accuracy", "train loss", "valid loss", "train accuracy"):
        assert label in texts
    assert {"0", "0.2", "0.4", "0.6", "0.8", "1"} <= set(texts)  # the accuracy axis


def test_curves_svg_draws_one_polyline_per_series() -> None:
    lines = _polylines(curves_svg(ROWS, title="t"))
    assert sorted(lines) == [
        "train_loss",
        "train_mean_token_accuracy",
        "valid_loss",
        "valid_mean_token_accuracy",
    ]
    assert all(len(runs) == 1 and len(runs[0]) == 10 for runs in lines.values())


def test_curves_svg_places_points_on_their_axes() -> None:
    rows = [_row(1, 2.0, 0.0), _row(5, 1.0, 1.0)]
    lines = _polylines(curves_svg(rows, title="t"))
    (loss,) = lines["train_loss"]
    (accuracy,) = lines["train_mean_token_accuracy"]
    assert loss[0][0] == LEFT  # the step range fills the width
    assert loss[-1][0] == RIGHT
    assert loss[0][1] == TOP  # the loss axis tops out at the highest loss, 2
    assert loss[-1][1] == (TOP + BOTTOM) / 2
    assert accuracy[0][1] == BOTTOM  # accuracy on 0..1
    assert accuracy[-1][1] == TOP


def test_curves_svg_breaks_lines_at_missing_values() -> None:
    rows = [_row(1, 2.0), _row(2, 1.8), _row(3), _row(4, 1.5), _row(5, 1.4), _row(6, 1.2)]
    lines = _polylines(curves_svg(rows, title="t"))
    assert [len(run) for run in lines["train_loss"]] == [2, 3]
    assert "valid_loss" not in lines


def test_curves_svg_draws_lone_values_as_dots() -> None:
    svg = curves_svg([_row(7, 1.5, 0.4, full_valid_loss=1.7)], title="one step")
    root = _parse(svg)
    assert _polylines(svg) == {}
    dots = [c for c in root.iter(f"{SVG}circle") if float(c.attrib["cy"]) <= BOTTOM]
    assert len(dots) >= 3  # train loss, train accuracy, full valid loss (+ the legend marker)
    assert "7" in _texts(svg)


def test_curves_svg_without_rows_still_draws_axes() -> None:
    svg = curves_svg([], title="pending")
    root = _parse(svg)
    assert root.find(f"{SVG}polyline") is None
    assert "no metrics reported" in _texts(svg)
    assert len(list(root.iter(f"{SVG}line"))) > 3


def test_curves_svg_is_deterministic_and_orders_steps() -> None:
    assert curves_svg(ROWS, title="t") == curves_svg(list(reversed(ROWS)), title="t")


def test_svg_data_uri_round_trips() -> None:
    svg = curves_svg(ROWS, title="ü")
    uri = svg_data_uri(svg)
    prefix = "data:image/svg+xml;base64,"
    assert uri.startswith(prefix)
    assert base64.b64decode(uri[len(prefix) :]).decode("utf-8") == svg
