"""Real mounts in the default background upload mode: namespace operations racing uploads in
flight, failed uploads, a crash replay and the times of a rewrite (issue 9's reproducers 1-9).

Each test widens its race window with the emulator's latency knob and loops, then checks the
final state on the server through the official SDK (``tests/fs/landing.py``). Each failed on the
write path before it kept one explicit upload state per file (``encordfs/fs/upload_state.py``).
"""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.fs.landing import items_named, mount_tree, pending, server_tree, settled_tree, wait_journal_empty

pytestmark = pytest.mark.fuse


def run(script: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", "-c", script], cwd=cwd, capture_output=True, text=True, timeout=60)


def errno_of(call: Any, *args: Any) -> int:
    """0, or the errno ``call(*args)`` failed with."""
    try:
        call(*args)
    except OSError as exc:
        return exc.errno or -1
    return 0


# --- 1. a rename racing the file's upload ------------------------------------------------------


def test_a_rename_there_and_back_during_the_upload_ends_where_the_user_left_it(emulator, fs_root, mount_fs) -> None:
    mounted = mount_fs(emulator, fs_root.uuid)
    rounds = 12
    failures = []
    for i in range(rounds):
        os.makedirs(mounted.path / f"d{i}" / "a")
    with emulator.faults(latency_ms=100):
        for i in range(rounds):
            d = mounted.path / f"d{i}"
            (d / "f.txt").write_bytes(b"")
            code = errno_of(os.rename, d / "f.txt", d / "a" / "g.txt")
            time.sleep(0.2 + 0.02 * (i % 10))  # the way back meets the upload as it lands (~0.3 s)
            code = code or errno_of(os.rename, d / "a" / "g.txt", d / "f.txt")
            if code:
                failures.append((i, os.strerror(code)))
    expected = {**{f"d{i}": None for i in range(rounds)}, **{f"d{i}/a": None for i in range(rounds)},
                **{f"d{i}/f.txt": b"" for i in range(rounds)}}
    assert failures == []
    assert settled_tree(fs_root, mounted.cache_dir, expected) == expected


# --- 2. rename onto a just-created (empty) file ---------------------------------------------------


def test_renaming_onto_a_just_created_file_leaves_one_file(emulator, fs_root, mount_fs) -> None:
    mounted = mount_fs(emulator, fs_root.uuid)
    rounds = 8
    with emulator.faults(latency_ms=150):
        for i in range(rounds):
            target = mounted.path / f"x{i}.txt"
            os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))  # reserve the name
            temp = mounted.path / f"x{i}.txt.tmp"
            temp.write_bytes(f"saved {i}\n".encode())
            os.rename(temp, target)  # g_file_set_contents, "reserve a name then save" editors
        listed = sorted(os.listdir(mounted.path))
    expected = {f"x{i}.txt": f"saved {i}\n".encode() for i in range(rounds)}
    assert listed == sorted(expected)
    assert settled_tree(fs_root, mounted.cache_dir, expected) == expected
    assert mount_tree(mounted.path) == expected


# --- 3. rm -rf of a folder whose file is uploading -----------------------------------------------


def test_rm_rf_of_a_folder_with_a_file_uploading_succeeds(emulator, fs_root, mount_fs) -> None:
    mounted = mount_fs(emulator, fs_root.uuid)
    rounds = 10
    failures = []
    for i in range(rounds):  # no added latency: with it, the upload lands before rm gets there
        result = run(f"mkdir r{i} && echo hello > r{i}/a.txt && rm -rf r{i}", mounted.path)
        if result.returncode != 0:
            failures.append(result.stderr.strip())
    assert failures == []
    assert os.listdir(mounted.path) == []
    assert settled_tree(fs_root, mounted.cache_dir, {}) == {}


# --- 4. an unlinked file whose folder is then removed ---------------------------------------------


def test_a_file_unlinked_mid_upload_then_its_folder_removed_leaves_nothing_pending(emulator, fs_root, mount_fs) -> None:
    mounted = mount_fs(emulator, fs_root.uuid)
    rounds = 16
    with emulator.faults(latency_ms=30):
        for i in range(rounds):
            folder = mounted.path / f"u{i}"
            folder.mkdir()
            for version in range(3):  # several versions of one file in flight
                (folder / "v.txt").write_text(f"version {version}\n")
            os.unlink(folder / "v.txt")
            deadline = time.monotonic() + 10
            while (code := errno_of(os.rmdir, folder)) in (errno.ENOTEMPTY, errno.EINVAL) and time.monotonic() < deadline:
                time.sleep(0.05)  # today's rmdir waits for the upload (reproducer 3); here the journal is what counts
            assert code == 0, os.strerror(code)
    left = wait_journal_empty(mounted.cache_dir, timeout=6)
    assert [(r.title, r.last_error) for r in left] == []
    assert server_tree(fs_root) == {}


# --- 5. a refused close must not hide the old file -------------------------------------------------


def test_a_refused_rewrite_during_the_upload_keeps_the_old_file(emulator, fs_root, mount_fs) -> None:
    mounted = mount_fs(emulator, fs_root.uuid)
    rounds = 5
    problems = []
    with emulator.faults(latency_ms=150):
        for i in range(rounds):
            path = mounted.path / f"t{i}.txt"
            path.write_text("hello\n")
            fd = os.open(path, os.O_WRONLY | os.O_TRUNC)
            os.write(fd, b"\x00\x00\x00\x00")
            assert errno_of(os.close, fd) == errno.ENOTSUP  # NUL bytes: not text Encord stores
            try:
                os.lstat(path)
                content = path.read_bytes()
            except OSError as exc:
                problems.append((path.name, exc.strerror))
                continue
            if content != b"hello\n":
                problems.append((path.name, content))
    assert problems == []
    expected = {f"t{i}.txt": b"hello\n" for i in range(rounds)}
    assert settled_tree(fs_root, mounted.cache_dir, expected) == expected


# --- 6 and 7. a failed upload stays listed, readable, says why, and rm discards it ------------------


def _upload_error(path: Path) -> str:
    result = subprocess.run(["getfattr", "--only-values", "-n", "user.encord.upload_error", str(path)],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_a_file_whose_upload_fails_stays_listed_and_readable_across_a_remount(emulator, fs_root, mount_fs, tmp_path) -> None:
    cache = tmp_path / "cache"
    with emulator.faults(error_rate=1.0, scope="blobs"):  # every PUT of the bytes fails
        first = mount_fs(emulator, fs_root.uuid, cache_dir=cache)
        (first.path / "kept.txt").write_text("nothing written is thrown away\n")
        deadline = time.monotonic() + 20
        while not any(r.attempts for r in pending(cache)):
            assert time.monotonic() < deadline, first.log()[-2000:]
            time.sleep(0.1)
        subprocess.run(["fusermount3", "-u", str(first.path)], check=True)
        first.process.wait(timeout=60)
        second = mount_fs(emulator, fs_root.uuid, cache_dir=cache)
        assert os.listdir(second.path) == ["kept.txt"]
        assert (second.path / "kept.txt").read_text() == "nothing written is thrown away\n"
    expected = {"kept.txt": b"nothing written is thrown away\n"}
    assert settled_tree(fs_root, cache, expected, timeout=90) == expected  # retried once the server answers


@pytest.fixture
def viewer_key(emulator, make_keypair) -> Path:
    private, public = make_keypair("viewer")
    added = subprocess.run([sys.executable, "-m", "encordfs.cli", "emulator", "add-key", "--data", str(emulator.data_dir),
                            str(public), "--role", "viewer"], capture_output=True, text=True, timeout=30)
    assert added.returncode == 0, added.stderr
    return private


def test_an_upload_the_server_refuses_is_failed_with_its_reason_and_rm_discards_it(emulator, fs_root, mount_fs, tmp_path, viewer_key) -> None:
    source = tmp_path / "notes.txt"
    source.write_text("written with a viewer key\n")
    cache = tmp_path / "cache"
    first = mount_fs(emulator, fs_root.uuid, "--ssh-key", str(viewer_key), cache_dir=cache)
    result = subprocess.run(["cp", str(source), str(first.path / "notes.txt")], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr  # background mode: close() cannot know yet
    target = first.path / "notes.txt"
    deadline = time.monotonic() + 10
    while not (error := _upload_error(target)):
        assert time.monotonic() < deadline, first.log()[-2000:]
        time.sleep(0.1)
    assert "403" in error or "read-only" in error, error
    assert target.read_text() == "written with a viewer key\n"
    warnings = [line for line in first.log().splitlines() if " WARNING " in line and "notes.txt" in line]
    assert len(warnings) == 1, first.log()[-2000:]  # said once, not at every retry
    time.sleep(2.0)  # a permanent failure is not retried
    assert [r.attempts for r in pending(cache)] == [1]
    subprocess.run(["fusermount3", "-u", str(first.path)], check=True)
    first.process.wait(timeout=60)
    second = mount_fs(emulator, fs_root.uuid, "--ssh-key", str(viewer_key), cache_dir=cache)
    assert os.listdir(second.path) == ["notes.txt"]  # kept across the remount, still failed
    assert _upload_error(second.path / "notes.txt") == error
    os.unlink(second.path / "notes.txt")  # rm discards a failed file
    assert os.listdir(second.path) == [] and pending(cache) == []
    assert server_tree(fs_root) == {}


# --- 8. a crash right after the upload landed -------------------------------------------------------


def _kill(mounted: Any) -> None:
    mounted.process.send_signal(signal.SIGKILL)
    mounted.process.wait(timeout=10)
    subprocess.run(["fusermount3", "-uz", str(mounted.path)], capture_output=True)


def test_a_crash_after_the_item_exists_replays_without_a_duplicate(emulator_factory, make_sdk_client, mount_fs, tmp_path) -> None:
    server = emulator_factory()
    root = make_sdk_client(server).create_storage_folder("crash")
    cache = tmp_path / "cache"
    first = mount_fs(server, root.uuid, cache_dir=cache)
    server.set_faults(latency_ms=1500)  # the mount hears of the item 1.5 s after it exists
    (first.path / "f.txt").write_text("exactly once\n")
    deadline = time.monotonic() + 20
    while items_named(server.data_dir, "f.txt") == 0:
        assert time.monotonic() < deadline, first.log()[-2000:]
        time.sleep(0.02)
    _kill(first)
    server.clear_faults()
    mount_fs(server, root.uuid, cache_dir=cache)
    assert wait_journal_empty(cache) == []
    time.sleep(0.5)
    assert server_tree(root) == {"f.txt": b"exactly once\n"}


# --- 9. the times of an O_TRUNC rewrite --------------------------------------------------------------


def test_a_rewrite_has_the_time_of_its_write_before_its_upload_lands(emulator, fs_root, mount_fs) -> None:
    mounted = mount_fs(emulator, fs_root.uuid)
    rounds = 3
    for i in range(rounds):
        (mounted.path / f"m{i}.txt").write_text("first\n")
    expected = {f"m{i}.txt": b"first\n" for i in range(rounds)}
    assert settled_tree(fs_root, mounted.cache_dir, expected) == expected
    time.sleep(2.1)  # the rewrite's time must differ from the first version's by seconds
    stale = []
    with emulator.faults(latency_ms=300):
        for i in range(rounds):
            path = mounted.path / f"m{i}.txt"
            before = time.time()
            with open(path, "w") as rewrite:  # O_TRUNC
                rewrite.write("second\n")
            info = os.stat(path)
            if not (before - 1 <= info.st_mtime <= time.time() + 1 and before - 1 <= info.st_ctime <= time.time() + 1):
                stale.append((path.name, round(before - info.st_mtime, 1), round(before - info.st_ctime, 1)))
    assert stale == []


# --- found by the differential test (tests/fs/test_differential.py) ----------------------------------


def _write(path: Path, data: bytes, flags: int) -> None:
    fd = os.open(path, os.O_WRONLY | flags, 0o644)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


def test_a_read_after_an_o_trunc_rewrite_returns_the_new_bytes(emulator, fs_root, mount_fs) -> None:
    mounted = mount_fs(emulator, fs_root.uuid)
    stale = []
    for i in range(16):
        path = mounted.path / f"r{i}.txt"
        _write(path, b"first version\n", os.O_CREAT | os.O_TRUNC)
        path.read_bytes()  # the kernel caches these pages
        if i % 2:
            time.sleep(0.2)  # half the rounds: the first version has landed meanwhile
        _write(path, b"more\n", os.O_APPEND)
        path.read_bytes()
        _write(path, b"bab", os.O_CREAT | os.O_TRUNC)
        if (got := path.read_bytes()) != b"bab":
            stale.append((path.name, got))
    assert stale == []


def test_a_move_with_a_new_name_during_the_upload_lands_and_can_be_renamed_onto(emulator, fs_root, mount_fs) -> None:
    mounted = mount_fs(emulator, fs_root.uuid)
    rounds = 12
    failures = []
    for i in range(rounds):
        d = mounted.path / f"e{i}"
        (d / "b").mkdir(parents=True)
        _write(d / "b" / "x.txt", b"moved\n", os.O_CREAT | os.O_EXCL)
        _write(d / "y.txt", b"renamed onto it\n", os.O_CREAT | os.O_EXCL)
        code = errno_of(os.rename, d / "b" / "x.txt", d / "a.txt")  # while x.txt uploads
        time.sleep(0.1 + 0.05 * (i % 4))  # x.txt has landed; following its move is under way
        code = code or errno_of(os.rename, d / "y.txt", d / "a.txt")
        if code:
            failures.append((d.name, os.strerror(code)))
    assert failures == []
    expected = {**{f"e{i}": None for i in range(rounds)}, **{f"e{i}/b": None for i in range(rounds)},
                **{f"e{i}/a.txt": b"renamed onto it\n" for i in range(rounds)}}
    assert settled_tree(fs_root, mounted.cache_dir, expected) == expected
