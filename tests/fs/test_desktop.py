"""The desktop on a real mount, through GIO (what nautilus and pcmanfm use): it cannot make a
trash folder on Encord storage, so `gio trash` fails and leaves the file where it is and `gio
remove` deletes it; and the drive's free space and size are believable."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess

import pytest

from encordfs.emulator import mediagen

pytestmark = [pytest.mark.fuse, pytest.mark.skipif(shutil.which("gio") is None, reason="needs gio (libglib2.0-bin)")]


def gio(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["gio", *args], capture_output=True, text=True, timeout=60)


def test_gio_trash_is_refused_and_gio_remove_deletes(emulator, sdk_user, fs_root, mount_fs, tmp_path) -> None:
    fs_root.upload_text(mediagen.text(tmp_path / "a.txt", ["a"]), title="a.txt")
    fs_root.upload_text(mediagen.text(tmp_path / "b.txt", ["b"]), title="b.txt")
    mnt = mount_fs(emulator, fs_root.uuid).path

    trashed = gio("trash", str(mnt / "a.txt"))
    assert trashed.returncode != 0, trashed.stdout
    assert "trash" in trashed.stderr.lower(), trashed.stderr
    assert sorted(os.listdir(mnt)) == ["a.txt", "b.txt"]
    assert sorted(i.name for i in fs_root.list_items()) == ["a.txt", "b.txt"]
    assert [f.name for f in fs_root.list_subfolders()] == [], "no trash folder on the server"

    removed = gio("remove", str(mnt / "a.txt"))
    assert removed.returncode == 0, removed.stderr
    assert sorted(i.name for i in fs_root.list_items()) == ["b.txt"]
    assert os.listdir(mnt) == ["b.txt"]


@pytest.mark.parametrize("name", [".Trash", f".Trash-{os.getuid()}", ".Trash-1000"])
def test_trash_names_cannot_be_made(emulator, fs_root, mount_fs, tmp_path, name) -> None:
    fs_root.create_subfolder("sub")
    mnt = mount_fs(emulator, fs_root.uuid).path
    for attempt in (lambda: (mnt / name).mkdir(), lambda: (mnt / "sub" / name).write_text("x"), lambda: (mnt / "sub").rename(mnt / name)):
        with pytest.raises(OSError) as refused:
            attempt()
        assert refused.value.errno == errno.EPERM
    assert [f.name for f in fs_root.list_subfolders()] == ["sub"]
    (mnt / ".Trash-notes").mkdir()  # only the trash names themselves
    assert sorted(f.name for f in fs_root.list_subfolders()) == [".Trash-notes", "sub"]


def test_a_trash_folder_left_on_the_server_takes_nothing(emulator, sdk_user, fs_root, mount_fs, tmp_path) -> None:
    """A trash folder made before encordfs refused them (or by another client): GIO would use it
    as it is, so nothing can be created in it either; it can still be deleted."""
    leftover = fs_root.create_subfolder(f".Trash-{os.getuid()}")
    leftover.create_subfolder("files")
    fs_root.upload_text(mediagen.text(tmp_path / "a.txt", ["a"]), title="a.txt")
    mnt = mount_fs(emulator, fs_root.uuid).path

    trashed = gio("trash", str(mnt / "a.txt"))
    assert trashed.returncode != 0, trashed.stdout
    assert [i.name for i in fs_root.list_items()] == ["a.txt"]
    assert [i.name for i in leftover.list_items()] == [] and [f.name for f in leftover.list_subfolders()] == ["files"]
    with pytest.raises(OSError) as refused:
        (mnt / leftover.name / "files" / "x.txt").write_text("x")
    assert refused.value.errno == errno.EPERM

    assert gio("remove", str(mnt / leftover.name / "files")).returncode == 0
    os.rmdir(mnt / leftover.name)
    assert [f.name for f in fs_root.list_subfolders()] == []


def test_a_file_manager_sees_a_believable_drive(emulator, fs_root, mount_fs, tmp_path) -> None:
    """GIO's free and size figures (what nautilus shows and checks a copy against)."""
    from encordfs.fs.core import FREE_BYTES

    fs_root.upload_text(mediagen.text(tmp_path / "a.txt", ["x" * 5000]), title="a.txt")
    mnt = mount_fs(emulator, fs_root.uuid).path
    info = dict(line.strip().split(": ", 1) for line in gio("info", "-f", str(mnt)).stdout.splitlines() if ": " in line)
    free, size = int(info["filesystem::free"]), int(info["filesystem::size"])
    assert free == FREE_BYTES and FREE_BYTES < size < FREE_BYTES + (1 << 20)
