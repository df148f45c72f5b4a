"""Real mounts: ``--upload-mode sync`` (close() returns once the item exists, a failed upload is
close()'s error) against the default ``background`` (close() returns once journaled), and
``encordfs status`` listing each mount's pending uploads."""

from __future__ import annotations

import argparse
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from encordfs.fs.options import MountOptions, OptionError, UploadMode, add_mount_arguments, options_from_args
from tests.fs.conftest import encordfs
from tests.fs.test_write_flushes import items, settled_items


def _options(*argv: str) -> MountOptions:
    parser = argparse.ArgumentParser()
    add_mount_arguments(parser)
    return options_from_args(parser.parse_args(["/mnt", *argv]))


def test_the_upload_mode_is_background_unless_asked_for_sync() -> None:
    assert _options().upload_mode is UploadMode.BACKGROUND
    assert _options("--upload-mode", "sync").upload_mode is UploadMode.SYNC
    assert _options("-o", "upload_mode=sync").upload_mode is UploadMode.SYNC
    assert _options("-o", "upload_mode=sync", "--upload-mode", "background").upload_mode is UploadMode.BACKGROUND
    with pytest.raises(OptionError, match="upload_mode"):
        _options("-o", "upload_mode=later")


def _cp(source: Path, target: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["cp", str(source), str(target)], capture_output=True, text=True, timeout=120)


def _wait_for_log(mounted: Any, text: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while text not in mounted.log():
        assert time.monotonic() < deadline, mounted.log()
        time.sleep(0.1)


def _unmount(mounted: Any) -> None:
    subprocess.run(["fusermount3", "-u", str(mounted.path)], check=True)
    mounted.process.wait(timeout=60)


def _status_of(mountpoint: Path) -> str:
    """The lines ``encordfs status`` prints for one mount (others may be mounted meanwhile)."""
    output = encordfs("status").stdout
    start = output.index(f"mounted: {mountpoint} ")
    end = output.find("\nmounted: ", start)
    return output[start:] if end < 0 else output[start : end + 1]


@pytest.mark.fuse
def test_sync_close_returns_once_the_items_exist(emulator, fs_root, mount_fs, tmp_path) -> None:
    mounted = mount_fs(emulator, fs_root.uuid, "--upload-mode", "sync")
    sources = []
    for i in range(3):
        sources.append(tmp_path / f"s{i}.txt")
        sources[-1].write_text(f"file {i}\n" * (i + 1))
    with emulator.faults(blob_latency_ms=200):  # a background upload would still be in flight
        result = subprocess.run(["cp", *map(str, sources), str(mounted.path)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert items(fs_root) == [(s.name, s.stat().st_size) for s in sources]  # no waiting: they exist
    assert (mounted.path / "s2.txt").read_text() == "file 2\n" * 3
    assert _status_of(mounted.path).endswith(f"pending uploads in {mounted.cache_dir}: 0\n")


@pytest.mark.fuse
def test_sync_cp_reports_a_failed_upload_and_the_next_mount_replays_it(emulator, fs_root, mount_fs, tmp_path) -> None:
    source = tmp_path / "strict.txt"
    source.write_text("must exist on Encord\n")
    cache = tmp_path / "cache"
    first = mount_fs(emulator, fs_root.uuid, "-o", "upload_mode=sync", cache_dir=cache)
    with emulator.faults(error_rate=1.0, scope="blobs"):
        result = _cp(source, first.path / "strict.txt")
        assert result.returncode != 0
        assert "Input/output error" in result.stderr
        status = _status_of(first.path)
        assert f"(cache dir {cache})" in status and f"pending uploads in {cache}: 1\n" in status
        assert "strict.txt (21 bytes" in status and "1 failed attempt(s), last error:" in status
        assert "Signature=" not in status and "X-Amz" not in status
        assert (first.path / "strict.txt").read_text() == "must exist on Encord\n"  # journaled, readable
        _unmount(first)
    assert items(fs_root) == []
    mount_fs(emulator, fs_root.uuid, cache_dir=cache)
    assert settled_items(fs_root, {"strict.txt": 21}) == [("strict.txt", 21)]


@pytest.mark.fuse
def test_background_cp_returns_0_and_the_upload_lands_after_faults_clear(emulator, fs_root, mount_fs, tmp_path) -> None:
    source = tmp_path / "later.txt"
    source.write_text("uploaded later\n")
    cache = tmp_path / "cache"
    first = mount_fs(emulator, fs_root.uuid, cache_dir=cache)
    with emulator.faults(error_rate=1.0, scope="blobs"):
        result = _cp(source, first.path / "later.txt")
        assert result.returncode == 0, result.stderr
        _wait_for_log(first, "upload of 'later.txt' failed")
        status = _status_of(first.path)
        assert f"pending uploads in {cache}: 1\n" in status and "later.txt (15 bytes" in status
        _unmount(first)
    assert items(fs_root) == []
    mount_fs(emulator, fs_root.uuid, cache_dir=cache)
    assert settled_items(fs_root, {"later.txt": 15}) == [("later.txt", 15)]
