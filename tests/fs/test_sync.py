"""``encordfs sync``: the documented way for scripts to know background-mode writes reached Encord.

Real mounts of the emulator; the server is checked through the official SDK.
"""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from pathlib import Path

import pytest

from encordfs.fs.staging import read_pending

from .conftest import encordfs

pytestmark = pytest.mark.fuse


def titles(sdk_user, folder_uuid) -> list[str]:
    folder = sdk_user.get_storage_folder(folder_uuid)
    return sorted(item.name for item in folder.list_items())


def viewer_key(emulator, make_keypair) -> Path:
    private, public = make_keypair("viewer")
    added = subprocess.run(
        [sys.executable, "-m", "encordfs.cli", "emulator", "add-key", "--data", str(emulator.data_dir), "--role", "viewer", str(public)],
        capture_output=True,
        text=True,
    )
    assert added.returncode == 0, added.stderr
    return private


def test_sync_waits_until_every_file_is_on_the_server(emulator, fs_root, sdk_user, mount_fs) -> None:
    sub = sdk_user.create_storage_folder("batch", parent_folder=fs_root.uuid)
    with emulator.faults(latency_ms=300):  # uploads take a while: sync must wait for them
        mounted = mount_fs(emulator, fs_root.uuid)
        for i in range(5):
            (mounted.path / "batch" / f"f{i}.txt").write_text(f"file {i}\n")
        assert read_pending(mounted.cache_dir), "still uploading in the background"
        done = encordfs("sync", str(mounted.path / "batch"))
    assert done.returncode == 0, done.stdout + done.stderr
    assert " landed, 0 failed, 0 still pending" in done.stdout
    assert titles(sdk_user, sub.uuid) == [f"f{i}.txt" for i in range(5)]
    assert read_pending(mounted.cache_dir) == []
    again = encordfs("sync")  # every mount; nothing left to wait for
    assert again.returncode == 0 and f"{mounted.path}: 0 landed" in again.stdout


def test_sync_names_a_failed_file_which_stays_listed_readable_and_failed_across_remounts(
    emulator, fs_root, sdk_user, mount_fs, make_keypair, tmp_path
) -> None:
    key = viewer_key(emulator, make_keypair)
    cache = tmp_path / "viewer-cache"
    mounted = mount_fs(emulator, fs_root.uuid, "--ssh-key", str(key), cache_dir=cache)
    target = mounted.path / "notes.txt"
    target.write_text("precious\n")  # close() returns 0: journaled; the server refuses the upload
    done = encordfs("sync", str(mounted.path), "--json")
    assert done.returncode == 1, done.stdout + done.stderr
    [result] = __import__("json").loads(done.stdout)
    [failed] = result["failed"]
    assert failed["path"] == str(target) and "read-only" in failed["reason"]
    assert os.getxattr(target, "user.encord.upload_state") == b"failed"
    assert b"read-only" in os.getxattr(target, "user.encord.upload_error")
    assert target.read_text() == "precious\n" and os.listdir(mounted.path) == ["notes.txt"]
    assert mounted.log().count("failed for good") == 1, "logged once at WARNING, never retried by itself"
    plain = encordfs("sync", str(mounted.path))
    assert plain.returncode == 1 and f"failed: {target}: " in plain.stdout

    subprocess.run(["fusermount3", "-u", str(mounted.path)], check=True)
    mounted.process.wait(timeout=20)
    again = mount_fs(emulator, fs_root.uuid, "--ssh-key", str(key), cache_dir=cache)
    moved = again.path / "notes.txt"
    assert os.listdir(again.path) == ["notes.txt"] and moved.read_text() == "precious\n"
    assert os.getxattr(moved, "user.encord.upload_state") == b"failed"
    [record] = read_pending(cache)
    assert record.failure and "read-only" in record.failure
    status = encordfs("status")
    assert "FAILED notes.txt" in status.stdout, status.stdout
    os.unlink(moved)  # rm discards a failed file
    assert os.listdir(again.path) == [] and read_pending(cache) == []
    assert titles(sdk_user, fs_root.uuid) == []


def test_sync_times_out_with_exit_2_naming_what_is_still_pending(emulator_factory, make_sdk_client, mount_fs) -> None:
    server = emulator_factory()
    root = make_sdk_client(server).create_storage_folder("slow")
    mounted = mount_fs(server, root.uuid)
    server.set_faults(latency_ms=3000)
    (mounted.path / "slow.txt").write_text("eventually\n")
    done = encordfs("sync", str(mounted.path), "--timeout", "0.5")
    server.clear_faults()
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"pending: {mounted.path / 'slow.txt'}: uploading" in done.stdout
    finished = encordfs("sync", str(mounted.path), "--timeout", "60")
    assert finished.returncode == 0 and "1 landed" in finished.stdout


def test_sync_outside_a_mount_says_so(tmp_path) -> None:
    done = encordfs("sync", str(tmp_path))
    assert done.returncode == 1 and "not inside an encordfs mount" in done.stderr


def test_fsync_uploads_now_and_returns_the_failure(emulator, fs_root, sdk_user, mount_fs, make_keypair) -> None:
    mounted = mount_fs(emulator, fs_root.uuid)
    fd = os.open(mounted.path / "now.txt", os.O_WRONLY | os.O_CREAT)
    os.write(fd, b"on the server when fsync returns\n")
    os.fsync(fd)
    assert titles(sdk_user, fs_root.uuid) == ["now.txt"]
    os.close(fd)
    viewer = mount_fs(emulator, fs_root.uuid, "--ssh-key", str(viewer_key(emulator, make_keypair)))
    fd = os.open(viewer.path / "refused.txt", os.O_WRONLY | os.O_CREAT)
    os.write(fd, b"x\n")
    with pytest.raises(OSError) as refused:
        os.fsync(fd)
    assert refused.value.errno == errno.EACCES
    os.close(fd)


def test_fstat_of_a_file_unlinked_while_open_says_nlink_0(emulator, fs_root, mount_fs) -> None:
    mounted = mount_fs(emulator, fs_root.uuid)
    (mounted.path / "landed.txt").write_text("on the server\n")
    assert encordfs("sync", str(mounted.path)).returncode == 0
    for name in ("landed.txt", "pending.txt"):
        path = mounted.path / name
        if not path.exists():
            path.write_text("still local\n")
        fd = os.open(path, os.O_RDONLY)
        first = os.pread(fd, 100, 0)  # an item's bytes are gone with it: what was read stays readable
        os.unlink(path)
        assert os.fstat(fd).st_nlink == 0, name
        assert os.pread(fd, 100, 0) == first, "an open fd still reads it"
        os.close(fd)


def test_truncate_of_a_closed_file_makes_a_new_version(emulator, fs_root, sdk_user, mount_fs) -> None:
    mounted = mount_fs(emulator, fs_root.uuid)
    path = mounted.path / "notes.txt"
    path.write_text("one\ntwo\nthree\n")
    assert encordfs("sync", str(mounted.path)).returncode == 0
    os.truncate(path, 4)  # not open for writing: truncate(2) by path, as `truncate -s 4` does
    assert path.read_text() == "one\n" and path.stat().st_size == 4
    assert encordfs("sync", str(mounted.path)).returncode == 0
    [item] = sdk_user.get_storage_folder(fs_root.uuid).list_items()
    assert (item.name, item.file_size) == ("notes.txt", 4)
    with pytest.raises(OSError) as refused:  # longer: NUL bytes, which no text holds
        os.truncate(path, 10)
    assert refused.value.errno == errno.ENOTSUP
    assert path.stat().st_size == 4 and path.read_text() == "one\n", "a refused version changes nothing"
