"""Editor and office scratch files stay on this mount: listed and readable here, never uploaded,
gone at unmount; renamed to a real name, uploaded like any file. Real mounts, server via the SDK."""

from __future__ import annotations

import os
import subprocess

import pytest

from encordfs.fs.local_names import is_local_only
from tests.fs.conftest import encordfs

pytestmark = pytest.mark.fuse

SCRATCH = [".notes.txt.swp", ".notes.txt.swx", "4913", "notes.txt~", ".#notes.txt", "#notes.txt#", ".~lock.report.txt#"]


@pytest.mark.parametrize("name", SCRATCH)
def test_editor_scratch_names_are_local_only(name) -> None:
    assert is_local_only(name)


@pytest.mark.parametrize("name", ["notes.txt", "a~b.txt", ".hidden.txt", "4914", "#tag.txt"])
def test_real_names_are_not(name) -> None:
    assert not is_local_only(name)


def test_scratch_files_are_kept_here_and_never_uploaded(emulator, fs_root, mount_fs) -> None:
    mounted = mount_fs(emulator, fs_root.uuid, "--local-names", "*.lock,scratch-*")
    swap = bytes(range(256)) * 16  # binary: not even storable, and never checked
    for name, data in [(".notes.txt.swp", swap), ("notes.txt~", b"backup\n"), ("job.lock", b"pid 1\n"), ("scratch-1.txt", b"x\n")]:
        (mounted.path / name).write_bytes(data)
        assert (mounted.path / name).read_bytes() == data
    (mounted.path / "kept.txt").write_text("real\n")
    assert encordfs("sync", str(mounted.path)).returncode == 0
    assert sorted(os.listdir(mounted.path)) == sorted([".notes.txt.swp", "notes.txt~", "job.lock", "scratch-1.txt", "kept.txt"])
    assert [i.name for i in fs_root.list_items()] == ["kept.txt"]
    os.unlink(mounted.path / "job.lock")
    assert "job.lock" not in os.listdir(mounted.path)

    os.rename(mounted.path / "notes.txt~", mounted.path / "notes.txt")  # a scratch file renamed to a real name
    assert encordfs("sync", str(mounted.path)).returncode == 0
    assert sorted(i.name for i in fs_root.list_items()) == ["kept.txt", "notes.txt"]

    subprocess.run(["fusermount3", "-u", str(mounted.path)], check=True)
    mounted.process.wait(timeout=30)
    again = mount_fs(emulator, fs_root.uuid, cache_dir=mounted.cache_dir)
    assert sorted(os.listdir(again.path)) == ["kept.txt", "notes.txt"], "scratch files end with the mount"
    assert sorted(i.name for i in fs_root.list_items()) == ["kept.txt", "notes.txt"]
