"""``python -m bench.plot RESULTS.json OUT.svg``: how many times better encordfs does than rclone,
per workload and regime, as a bar chart (an SVG written by hand: no plotting dependency).

The ratios span two orders of magnitude, so the axis is logarithmic, from 1/``SPAN`` to ``SPAN``
times, with 1x (a tie) in the middle: bars to the right are workloads where encordfs is ahead.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from xml.sax.saxutils import escape

from bench.report import SIDES, median, metrics, ratio
from bench.scales import Scale

SPAN = 20.0
COLOURS = {"loopback": "#3b6ea8", "cloud": "#e08a2c"}
LABEL_W, PLOT_W, BAR_H, GAP, TOP = 400, 520, 14, 10, 46


def ratios(document: dict) -> dict[str, dict[str, float]]:
    """{workload title: {regime: ratio}} for the workloads both sides measured."""
    scale = Scale(**document["scale"])
    found: dict[str, dict[str, float]] = {}
    for metric in metrics(scale):
        for regime, result in document["regimes"].items():
            enc, rcl = (median(result["samples"].get(side, {}).get(metric.key)) for side in SIDES)
            value = ratio(metric, enc, rcl)
            if value:
                found.setdefault(metric.title, {})[regime] = value
    return found


def _x(value: float) -> float:
    """Position of a ratio on the log axis (clamped to the plot)."""
    clamped = min(max(value, 1 / SPAN), SPAN)
    return LABEL_W + PLOT_W * (math.log(clamped) + math.log(SPAN)) / (2 * math.log(SPAN))


def _text(x: float, y: float, body: str, anchor: str = "start", size: int = 12) -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}">{escape(body)}</text>'


def _axis(height: float) -> list[str]:
    parts = []
    for tick in (0.1, 0.2, 0.5, 1, 2, 5, 10, 20):
        if 1 / SPAN <= tick <= SPAN:
            x = _x(tick)
            width = 1.5 if tick == 1 else 0.5
            parts.append(f'<line x1="{x:.1f}" y1="{TOP - 6}" x2="{x:.1f}" y2="{height - 24}" stroke="#888" stroke-width="{width}"/>')
            parts.append(_text(x, height - 8, f"{tick:g}x", "middle", 11))
    return parts


def _rows(found: dict[str, dict[str, float]], regimes: list[str]) -> list[str]:
    parts, y = [], TOP
    for title, by_regime in found.items():
        parts.append(_text(LABEL_W - 8, y + BAR_H * len(regimes) / 2 + 4, title, "end"))
        for regime in regimes:
            value = by_regime.get(regime)
            if value is not None:
                left, right = sorted((_x(1), _x(value)))
                parts.append(
                    f'<rect x="{left:.1f}" y="{y}" width="{max(right - left, 1):.1f}" height="{BAR_H - 2}" '
                    f'fill="{COLOURS.get(regime, "#777")}"><title>{escape(regime)}: {value:.2f}x</title></rect>'
                )
                label_x, anchor = (right + 4, "start") if value >= 1 else (left - 4, "end")
                parts.append(_text(label_x, y + BAR_H - 4, f"{value:.2f}x", anchor, 10))
            y += BAR_H
        y += GAP
    return parts


def render(document: dict) -> str:
    found = ratios(document)
    regimes = list(document["regimes"])
    height = TOP + len(found) * (BAR_H * len(regimes) + GAP) + 30
    width = LABEL_W + PLOT_W + 60
    title = (
        f"encordfs vs rclone mount, scale {document['scale']['name']}, medians of {document['runs']} run(s): "
        "times better (right of 1x: encordfs ahead)"
    )
    legend = [
        _text(LABEL_W + i * 110, 34, f"■ {regime}", size=12).replace("<text", f'<text fill="{COLOURS.get(regime, "#777")}"')
        for i, regime in enumerate(regimes)
    ]
    body = [_text(10, 18, title, size=13), *legend, *_axis(height), *_rows(found, regimes)]
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height:.0f}" font-family="sans-serif">'
        f'<rect width="100%" height="100%" fill="white"/>{"".join(body)}</svg>\n'
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.plot", description=__doc__.split("\n\n")[0])
    parser.add_argument("results", type=Path)
    parser.add_argument("out", type=Path)
    args = parser.parse_args(argv)
    args.out.write_text(render(json.loads(args.results.read_text())))


if __name__ == "__main__":
    main()
