"""Real mounts: however many times one open file is flushed (dup'ed fds, shell redirects, a
``touch`` then an append), exactly one item results, with the last bytes written."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.fuse


def bash(script: str, cwd: Path) -> None:
    result = subprocess.run(["bash", "-c", script], cwd=cwd, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def items(folder: Any) -> list[tuple[str, int]]:
    """Every item of the folder on the server: (title, size), a duplicate title listed twice."""
    return sorted((i.name, i.file_size) for i in folder.list_items())


def settled_items(folder: Any, expected: dict[str, int], timeout: float = 15.0) -> list[tuple[str, int]]:
    """The folder's items once they match ``expected`` (uploads finish after close, and an
    overwrite deletes the old item just after the new one exists)."""
    deadline = time.monotonic() + timeout
    while (found := items(folder)) != sorted(expected.items()) and time.monotonic() < deadline:
        time.sleep(0.1)
    return found


def test_a_bash_redirect_makes_one_item(emulator, fs_root, mount_fs) -> None:
    mounted = mount_fs(emulator, fs_root.uuid)
    bash("echo hello > n.txt", mounted.path)
    assert (mounted.path / "n.txt").read_text() == "hello\n"
    assert settled_items(fs_root, {"n.txt": 6}) == [("n.txt", 6)]
    bash("echo again! > n.txt", mounted.path)  # an overwrite through the same redirect
    assert settled_items(fs_root, {"n.txt": 7}) == [("n.txt", 7)]
    time.sleep(0.3)  # a second item would show up by now
    assert items(fs_root) == [("n.txt", 7)]
    assert (mounted.path / "n.txt").read_text() == "again!\n"


def test_closing_a_dup_before_writing_makes_one_item(emulator, fs_root, mount_fs) -> None:
    mounted = mount_fs(emulator, fs_root.uuid)
    fd = os.open(mounted.path / "d.txt", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    copy = os.dup(fd)
    os.close(fd)  # a flush of an empty file
    os.write(copy, b"first line\n")
    second = os.dup(copy)
    os.close(copy)  # a flush of 11 bytes
    os.write(second, b"second line\n")
    os.close(second)  # the last flush: 23 bytes
    assert settled_items(fs_root, {"d.txt": 23}) == [("d.txt", 23)]
    assert (mounted.path / "d.txt").read_bytes() == b"first line\nsecond line\n"
    assert sorted(os.listdir(mounted.path)) == ["d.txt"]


def test_touch_then_appends_make_one_item(emulator, fs_root, mount_fs) -> None:
    mounted = mount_fs(emulator, fs_root.uuid)
    bash("touch a.txt && echo one >> a.txt && echo two >> a.txt", mounted.path)
    assert settled_items(fs_root, {"a.txt": 8}) == [("a.txt", 8)]
    assert (mounted.path / "a.txt").read_text() == "one\ntwo\n"


def test_the_folder_of_a_redirected_file_can_be_emptied_and_removed(emulator, fs_root, mount_fs) -> None:
    mounted = mount_fs(emulator, fs_root.uuid, "--dir-ttl", "0.2", "--attr-ttl", "0.2", "-o", "negative_ttl=0.2")
    (mounted.path / "sub").mkdir()
    bash("echo hello > sub/n.txt", mounted.path)
    os.unlink(mounted.path / "sub" / "n.txt")
    time.sleep(0.5)  # past every TTL: what remains is what the server has
    assert os.listdir(mounted.path / "sub") == []
    os.rmdir(mounted.path / "sub")
    assert items(fs_root) == []


def test_an_append_after_the_first_upload_landed_replaces_it(emulator, fs_root, mount_fs) -> None:
    mounted = mount_fs(emulator, fs_root.uuid)
    bash("touch late.txt", mounted.path)
    assert settled_items(fs_root, {"late.txt": 0}) == [("late.txt", 0)]
    bash("echo one >> late.txt", mounted.path)
    assert settled_items(fs_root, {"late.txt": 4}) == [("late.txt", 4)]
    assert (mounted.path / "late.txt").read_text() == "one\n"


def test_an_overwrite_replayed_on_the_next_mount_still_replaces_the_old_item(emulator, fs_root, mount_fs, tmp_path) -> None:
    note = tmp_path / "old.txt"
    note.write_text("old\n")
    fs_root.upload_text(note, title="n.txt")
    cache = tmp_path / "cache"
    first = mount_fs(emulator, fs_root.uuid, cache_dir=cache)
    with emulator.faults(error_rate=1.0, scope="blobs"):
        bash("echo hello > n.txt", first.path)  # journaled; every upload attempt fails
        deadline = time.monotonic() + 60
        while "upload of 'n.txt' failed" not in first.log():
            assert time.monotonic() < deadline, first.log()
            time.sleep(0.1)
        subprocess.run(["fusermount3", "-u", str(first.path)], check=True)
        first.process.wait(timeout=60)
    assert items(fs_root) == [("n.txt", 4)]
    mount_fs(emulator, fs_root.uuid, cache_dir=cache)
    assert settled_items(fs_root, {"n.txt": 6}) == [("n.txt", 6)]


def test_a_file_reads_back_and_grows_after_a_flush_while_still_open(emulator, fs_root, mount_fs) -> None:
    mounted = mount_fs(emulator, fs_root.uuid)
    fd = os.open(mounted.path / "rw.txt", os.O_RDWR | os.O_CREAT, 0o644)
    os.write(fd, b"journaled\n")
    os.close(os.dup(fd))  # a flush: the file is journaled, its staged copy frozen
    assert os.pread(fd, 100, 0) == b"journaled\n"
    os.pwrite(fd, b"and more\n", 10)  # continues in a copy of the frozen file
    assert os.pread(fd, 100, 0) == b"journaled\nand more\n"
    os.close(fd)
    assert (mounted.path / "rw.txt").read_bytes() == b"journaled\nand more\n"
    assert settled_items(fs_root, {"rw.txt": 19}) == [("rw.txt", 19)]


def test_a_reader_of_a_file_being_uploaded_does_not_hold_its_upload(emulator, fs_root, mount_fs) -> None:
    mounted = mount_fs(emulator, fs_root.uuid)
    with emulator.faults(blob_latency_ms=300):  # the first upload is still in flight below
        with open(mounted.path / "r.txt", "wb") as out:
            out.write(b"first\n")
        with open(mounted.path / "r.txt", "rb") as reader:  # reads the staged bytes
            with open(mounted.path / "r.txt", "ab") as out:
                out.write(b"second\n")
            assert settled_items(fs_root, {"r.txt": 13}) == [("r.txt", 13)]  # while the reader is open
            assert reader.read() == b"first\nsecond\n"
