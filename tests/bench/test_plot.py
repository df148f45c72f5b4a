"""The ratio chart: one bar per workload and regime both sides measured, on a log axis around 1x."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import asdict

from bench.plot import _x, render
from bench.scales import SCALES

SVG = "{http://www.w3.org/2000/svg}"


def _result(encordfs: dict, rclone: dict) -> dict:
    return {"samples": {"encordfs": encordfs, "rclone": rclone}, "raw": {}, "failures": []}


def test_each_measured_workload_gets_a_bar_per_regime_with_its_ratio() -> None:
    document = {
        "scale": asdict(SCALES["tiny"]),
        "runs": 1,
        "regimes": {
            "loopback": _result({"seq_read": [300.0], "ls_cold": [0.5]}, {"seq_read": [100.0], "ls_cold": [0.25]}),
            "cloud": _result({"seq_read": [50.0]}, {"seq_read": [100.0]}),
        },
    }
    root = ET.fromstring(render(document))
    bars = {rect.find(f"{SVG}title").text for rect in root.iter(f"{SVG}rect") if rect.find(f"{SVG}title") is not None}
    assert bars == {"loopback: 3.00x", "cloud: 0.50x", "loopback: 0.50x"}
    labels = [t.text for t in root.iter(f"{SVG}text")]
    assert "ls -l of a 20-entry folder, cold" in labels and "cp_r" not in " ".join(labels)


def test_the_axis_is_logarithmic_and_symmetric_around_a_tie() -> None:
    assert abs((_x(2) - _x(1)) - (_x(1) - _x(0.5))) < 1e-9
    assert _x(1000) == _x(20) and _x(0.0001) == _x(0.05), "clamped to the plot"
