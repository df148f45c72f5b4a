"""Real mounts: what close() promised survives the mount process being killed right after it."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from encordfs.emulator import mediagen
from encordfs.fs.staging import Staging

pytestmark = pytest.mark.fuse


def crash(mounted) -> None:  # type: ignore[no-untyped-def]
    """SIGKILL the mount (no drain, no cleanup) and detach what it leaves (a dead mount point
    answers ENOTCONN, which ``os.path.ismount`` does not call mounted)."""
    mounted.process.send_signal(signal.SIGKILL)
    mounted.process.wait(timeout=10)
    subprocess.run(["fusermount3", "-uz", str(mounted.path)], capture_output=True)


def test_a_file_closed_then_the_mount_killed_is_in_the_journal_alone(emulator, fs_root, mount_fs, tmp_path: Path) -> None:
    photos = [mediagen.jpeg(tmp_path / f"p{i}.jpg", seed=i) for i in range(3)]
    mounted = mount_fs(emulator, fs_root.uuid)
    assert mounted.process is not None
    with emulator.faults(blob_latency_ms=5000):  # no upload can land before the kill
        for photo in photos:
            (mounted.path / photo.name).write_bytes(photo.read_bytes())  # close() returned 0
        crash(mounted)
    with Staging(mounted.cache_dir) as journal:  # nothing of the killed process but its cache dir
        pending = {r.title: journal.open_data(r).pread(r.size + 1, 0) for r in journal.pending()}
    assert pending == {p.name: p.read_bytes() for p in photos}


def test_the_next_mount_uploads_what_a_killed_mount_journaled(emulator, fs_root, mount_fs, tmp_path: Path) -> None:
    photo = mediagen.jpeg(tmp_path / "kept.jpg", seed=7)
    mounted = mount_fs(emulator, fs_root.uuid)
    assert mounted.process is not None
    with emulator.faults(blob_latency_ms=5000):
        (mounted.path / "kept.jpg").write_bytes(photo.read_bytes())
        crash(mounted)
    mount_fs(emulator, fs_root.uuid, cache_dir=mounted.cache_dir)
    deadline = time.monotonic() + 15
    while [(i.name, i.file_size) for i in fs_root.list_items()] != [("kept.jpg", photo.stat().st_size)]:
        assert time.monotonic() < deadline, os.listdir(mounted.cache_dir / "pending")
        time.sleep(0.1)
