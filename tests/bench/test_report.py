"""The table's arithmetic: medians, and a ratio that reads the same way for rates and for times."""

from __future__ import annotations

from bench.report import Metric, median, ratio, render
from bench.scales import SCALES

RATE = Metric("r", "a rate", "files/s", higher_is_better=True)
TIME = Metric("t", "a time", "s", higher_is_better=False)


def test_ratio_is_above_one_when_encordfs_does_better_for_rates_and_times() -> None:
    assert ratio(RATE, 200.0, 100.0) == 2.0
    assert ratio(TIME, 0.5, 1.0) == 2.0
    assert ratio(TIME, 2.0, 1.0) == 0.5
    assert ratio(RATE, None, 100.0) is None


def test_median_of_runs() -> None:
    assert median([3.0, 1.0, 2.0]) == 2.0
    assert median([]) is None


def test_render_shows_medians_raw_pairs_failures_and_skips() -> None:
    result = {
        "samples": {"encordfs": {"seq_read": [100.0, 300.0, 200.0]}, "rclone": {"seq_read": [400.0]}},
        "raw": {"emulator": {"curl": {"seq_read": [900.0]}}, "webdav": {"curl": {"seq_read": [800.0]}}},
        "failures": ["rclone cp_r: CheckFailed: x"],
        "skipped": {"encordfs": "no mount"},
    }
    text = render("loopback", SCALES["tiny"], 3, result)
    row = next(line for line in text.splitlines() if line.startswith("sequential cold read"))
    cells = [cell.strip() for cell in row.split("|")]
    assert cells[2:] == ["200", "400", "900 / 800", "-", "0.50x"]
    assert "FAILED rclone cp_r: CheckFailed: x" in text
    assert "skipped encordfs: no mount" in text
    assert "ls -l" not in text  # rows nobody measured are left out
