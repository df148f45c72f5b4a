"""Medians, ratios and the printed tables; the JSON written next to them holds every sample."""

from __future__ import annotations

import argparse
import json
import statistics
from dataclasses import dataclass
from pathlib import Path

from bench.scales import Scale

SIDES = ("encordfs", "rclone")
SERVERS = ("emulator", "webdav")
TOOLS = ("curl", "httpx")


@dataclass(frozen=True)
class Metric:
    key: str
    title: str
    unit: str
    higher_is_better: bool


def metrics(scale: Scale) -> list[Metric]:
    mib = scale.big_file_bytes >> 20
    photos = f"{scale.small_files} files of {scale.small_file_bytes >> 10} KiB"
    copies = f"{scale.upload_files} files of {scale.upload_file_bytes >> 10} KiB"
    return [
        Metric("seq_read", f"sequential cold read, {mib} MiB video", "MB/s", True),
        Metric("small_read_1", f"read {photos}, 1 reader", "files/s", True),
        Metric("small_read_8", f"read {photos}, 8 readers", "files/s", True),
        Metric("ls_cold", f"ls -l of a {scale.flat_entries}-entry folder, cold", "s", False),
        Metric("ls_warm", f"ls -l of a {scale.flat_entries}-entry folder, warm", "s", False),
        Metric("stat_cold", "stat of one file in that folder, cold", "ms", False),
        Metric("stat_warm", "stat of one file in that folder, warm", "ms", False),
        Metric("find_cold", f"find over {scale.tree_entries} entries, cold", "s", False),
        Metric("cp_r", f"cp -r of {copies} in, until on the server", "files/s", True),
        Metric("cp_big", f"cp of a {scale.upload_big_bytes >> 20} MiB file in, until on the server", "MB/s", True),
        Metric("first_entry", f"first entry of a {scale.listing_entries}-entry folder, cold", "s", False),
        Metric("peak_rss", f"peak RSS of the mount after ls -l of {scale.listing_entries} entries", "MiB", False),
    ]


def median(samples: list[float] | None) -> float | None:
    return statistics.median(samples) if samples else None


def ratio(metric: Metric, encordfs: float | None, rclone: float | None) -> float | None:
    """How many times better encordfs does than rclone (>1: encordfs is faster or leaner)."""
    if not encordfs or not rclone:
        return None
    return encordfs / rclone if metric.higher_is_better else rclone / encordfs


def _fmt(value: float | None) -> str:
    if value is None:
        return "-"
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}"


def _pair(raw: dict, tool: str, key: str) -> str:
    values = [_fmt(median(raw.get(server, {}).get(tool, {}).get(key))) for server in SERVERS]
    return " / ".join(values) if any(v != "-" for v in values) else "-"


HEADER = ["workload", "unit", "encordfs", "rclone", "raw curl emu / dav", "raw httpx emu / dav", "encordfs vs rclone"]


def _rows(scale: Scale, result: dict) -> list[list[str]]:
    """Medians per workload, raw limits as emulator / webdav, and the ratio; rows nobody measured
    (peak RSS in the cloud, workloads filtered out) are left out."""
    samples, raw = result["samples"], result["raw"]
    rows = []
    for metric in metrics(scale):
        enc, rcl = (median(samples.get(side, {}).get(metric.key)) for side in SIDES)
        r = ratio(metric, enc, rcl)
        if enc is None and rcl is None and not any(metric.key in by_tool for tools in raw.values() for by_tool in tools.values()):
            continue
        rows.append(
            [
                metric.title,
                metric.unit,
                _fmt(enc),
                _fmt(rcl),
                _pair(raw, "curl", metric.key),
                _pair(raw, "httpx", metric.key),
                f"{r:.2f}x" if r else "-",
            ]
        )
    return rows


def _notes(result: dict) -> list[str]:
    return [f"FAILED {failure}" for failure in result["failures"]] + [
        f"skipped {side}: {why}" for side, why in result.get("skipped", {}).items()
    ]


def render(regime: str, scale: Scale, runs: int, result: dict) -> str:
    """One regime's table as aligned text."""
    rows = [HEADER, *_rows(scale, result)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(HEADER))]
    lines = [f"== {regime}: scale {scale.name}, medians of {runs} run(s); ratio > 1 means encordfs does better =="]
    for n, row in enumerate(rows):
        lines.append(" | ".join(cell.ljust(w) if i < 2 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths))))
        if n == 0:
            lines.append("-+-".join("-" * w for w in widths))
    return "\n".join(lines + _notes(result))


def render_markdown(regime: str, scale: Scale, runs: int, result: dict) -> str:
    """One regime's table as Markdown, for docs/performance.md."""
    lines = [
        f"**{regime}** (scale {scale.name}, medians of {runs} run(s))",
        "",
        "| " + " | ".join(HEADER) + " |",
        "|---|---|" + "---:|" * (len(HEADER) - 2),
    ]
    lines += ["| " + " | ".join(row) + " |" for row in _rows(scale, result)]
    return "\n".join(lines + [f"\n{note}" for note in _notes(result)])


def main(argv: list[str] | None = None) -> None:
    """``python -m bench.report RESULTS.json``: the run's tables again, in Markdown."""
    parser = argparse.ArgumentParser(prog="python -m bench.report", description=main.__doc__)
    parser.add_argument("results", type=Path)
    args = parser.parse_args(argv)
    document = json.loads(args.results.read_text())
    scale = Scale(**document["scale"])
    meta = f"encordfs {document['versions']['encordfs']}, {document['versions']['rclone']}, started {document['started']}"
    print(meta + "\n")
    for regime, result in document["regimes"].items():
        print(render_markdown(regime, scale, document["runs"], result) + "\n")


if __name__ == "__main__":
    main()
