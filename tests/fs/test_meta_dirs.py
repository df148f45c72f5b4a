"""Real mounts: what ``ls -a``, ``df``, ``stat -f`` and ``du`` show of directories and the drive."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from encordfs.emulator import mediagen
from encordfs.fs.core import FREE_BYTES

pytestmark = pytest.mark.fuse

BLOCK = 4096


def sh(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=60, check=True)


def ls_a(path: Path) -> list[tuple[int, str]]:
    """(inode, name) of every entry ``ls -a`` reads, in the order readdir returned them."""
    lines = sh("ls", "-a1if", str(path)).stdout.splitlines()
    return [(int(ino), name) for ino, name in (line.split(maxsplit=1) for line in lines)]


def test_every_directory_lists_dot_and_dotdot_once(emulator, fs_root, mount_fs, tmp_path) -> None:
    sub = fs_root.create_subfolder("sub")
    long_names = [f"{i:03}-" + "x" * 90 for i in range(100)]  # several readdir buffers' worth
    for name in long_names:
        sub.create_subfolder(name)
    sub.upload_text(mediagen.text(tmp_path / "n.txt"), title="note.txt")
    mnt = mount_fs(emulator, fs_root.uuid).path

    top = ls_a(mnt)
    assert [name for _, name in top] == [".", "..", "sub"]
    assert top[0][0] == os.stat(mnt).st_ino and top[2][0] == os.stat(mnt / "sub").st_ino

    listed = ls_a(mnt / "sub")
    assert [name for _, name in listed] == [".", "..", *long_names, "note.txt"]
    assert listed[0][0] == os.stat(mnt / "sub").st_ino and listed[1][0] == os.stat(mnt).st_ino
    again = ls_a(mnt / "sub")  # served from the cached listing
    assert again == listed
    la = sh("ls", "-la", str(mnt / "sub")).stdout.splitlines()
    assert la[1].startswith("d") and la[1].endswith(" .") and la[2].endswith(" ..")
    found = sh("find", str(mnt)).stdout.splitlines()
    assert len(found) == 1 + 1 + 100 + 1 and len(set(found)) == len(found)


def statfs_used_bytes(path: Path) -> tuple[int, int, int]:
    st = os.statvfs(path)
    return (st.f_blocks - st.f_bfree) * st.f_frsize, st.f_blocks * st.f_frsize, st.f_files - st.f_ffree


@pytest.mark.parametrize("counting", ["direct", "recursive"])
def test_df_counts_everything_below_the_root_whatever_summaries_count(
    emulator_factory, make_sdk_client, mount_fs, tmp_path, counting
) -> None:
    """Used space is what the folder summaries say is stored under the root, nested folders
    included, whether the server's summaries count a folder's direct contents or all below it."""
    server = emulator_factory(*(["--recursive-summaries"] if counting == "recursive" else []))
    user = make_sdk_client(server)
    sizes = {"a.txt": 10_000, "b.txt": 5_000, "c.txt": 9_000, "d.txt": 3_000}
    sources = {name: tmp_path / name for name in sizes}
    for name, size in sizes.items():
        sources[name].write_bytes(b"z" * size)
    one, two = user.create_storage_folder("one"), user.create_storage_folder("two")
    one.upload_text(sources["a.txt"], title="a.txt")
    nested = two.create_subfolder("nested")
    deeper = nested.create_subfolder("deeper")
    two.upload_text(sources["b.txt"], title="b.txt")
    nested.upload_text(sources["c.txt"], title="c.txt")
    deeper.upload_text(sources["d.txt"], title="d.txt")
    two_alone = two.get_summary().total_size
    assert two_alone == (17_000 if counting == "recursive" else 5_000)
    stored = sum(sizes.values())

    whole = mount_fs(server, None).path
    used, size, entries = statfs_used_bytes(whole)
    assert used == -(-stored // BLOCK) * BLOCK, "used = bytes stored, in whole blocks"
    assert size == used + FREE_BYTES and entries == 2 + 4 + 2  # top-level folders, files, nested folders
    assert os.statvfs(whole).f_bavail * BLOCK == FREE_BYTES
    df = sh("df", "-B1", "--output=used,size", str(whole)).stdout.splitlines()[1].split()
    assert [int(v) for v in df] == [used, size]
    du = int(sh("du", "-sb", str(whole)).stdout.split()[0])
    assert stored <= du <= stored + 6 * BLOCK  # plus each directory's apparent size

    rooted = mount_fs(server, nested.uuid).path
    used, _, entries = statfs_used_bytes(rooted)
    assert used == -(-12_000 // BLOCK) * BLOCK and entries == 3


def test_ls_l_is_told_once_that_security_and_acl_attributes_are_unsupported(emulator, fs_root, mount_fs, tmp_path) -> None:
    """ENOTSUP (not ENODATA) for xattrs outside ``user.``: ls -l then stops asking for each file's
    SELinux label and ACL, two FUSE round trips per entry."""
    for i in range(5):
        fs_root.upload_text(mediagen.text(tmp_path / "n.txt"), title=f"n{i}.txt")
    mnt = mount_fs(emulator, fs_root.uuid).path
    for name in ("security.selinux", "system.posix_acl_access", "trusted.x"):
        with pytest.raises(OSError) as refused:
            os.getxattr(mnt / "n0.txt", name)
        assert refused.value.errno == errno.ENOTSUP, name
    with pytest.raises(OSError) as unset:
        os.getxattr(mnt / "n0.txt", "user.other")
    assert unset.value.errno == errno.ENODATA
    assert os.getxattr(mnt / "n0.txt", "user.encord.item_type") == b"plainText"
    if shutil.which("strace"):
        traced = subprocess.run(["strace", "-f", "-c", "-e", "trace=getxattr,lgetxattr", "ls", "-l", str(mnt)],
                                capture_output=True, text=True, timeout=60)
        calls = sum(int(line.split()[3]) for line in traced.stderr.splitlines() if line.rstrip().endswith("getxattr"))
        assert 0 < calls <= 3, traced.stderr
