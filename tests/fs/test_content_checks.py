"""Real mounts: what the server would refuse is refused at close() with ENOTSUP and leaves nothing
behind (issue 9, deliver 4), while valid files of every storable type still upload."""

from __future__ import annotations

import errno
import os
import subprocess
from pathlib import Path

import pytest

from encordfs.emulator import mediagen
from encordfs.wire.enums import StorageItemType as T
from tests.fs.landing import mount_tree, pending, server_tree, settled_tree
from tests.fs.test_filetypes import MEDIA

pytestmark = pytest.mark.fuse


def _refused_and_gone(result: subprocess.CompletedProcess[str], directory: Path, cache_dir: Path) -> None:
    assert result.returncode != 0
    assert "Operation not supported" in result.stderr, result.stderr
    assert os.listdir(directory) == []
    assert pending(cache_dir) == []


def test_control_bytes_in_a_text_file_fail_at_close_and_leave_nothing(emulator, fs_root, mount_fs, tmp_path) -> None:
    mounted = mount_fs(emulator, fs_root.uuid)
    folder = mounted.path / "d"
    folder.mkdir()
    fd = os.open(folder / "ctl.txt", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.write(fd, b"abc\001def\n")
    with pytest.raises(OSError) as refused:
        os.close(fd)
    assert refused.value.errno == errno.ENOTSUP
    assert os.listdir(folder) == [] and pending(mounted.cache_dir) == []
    source = tmp_path / "bell.txt"
    source.write_bytes(b"ring \a ring\n")
    _refused_and_gone(subprocess.run(["cp", str(source), str(folder)], capture_output=True, text=True, timeout=30),
                      folder, mounted.cache_dir)
    assert server_tree(fs_root) == {"d": None}


def test_a_shell_redirect_of_refused_text_leaves_the_mount_and_the_server_agreeing(emulator, fs_root, mount_fs) -> None:
    mounted = mount_fs(emulator, fs_root.uuid)
    (mounted.path / "d").mkdir()
    result = subprocess.run(["bash", "-c", r"printf 'abc\001def\n' > d/ctl.txt"], cwd=mounted.path,
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0  # bash restores its stdout with dup2, which drops close()'s error
    assert "refusing 'ctl.txt'" in mounted.log()  # the refusal is logged, at least
    listed = mount_tree(mounted.path)
    assert settled_tree(fs_root, mounted.cache_dir, listed, timeout=5) == listed


@pytest.mark.parametrize("ext", ["jpg", "mp4"])
def test_truncated_media_fails_at_close_and_leaves_nothing(emulator, fs_root, mount_fs, tmp_path, ext) -> None:
    source = tmp_path / f"whole.{ext}"
    (mediagen.jpeg(source, width=320, height=240) if ext == "jpg" else mediagen.mp4(source))
    cut = tmp_path / f"cut.{ext}"
    cut.write_bytes(source.read_bytes()[: source.stat().st_size // 2])
    mounted = mount_fs(emulator, fs_root.uuid)
    result = subprocess.run(["cp", str(cut), str(mounted.path)], capture_output=True, text=True, timeout=30)
    _refused_and_gone(result, mounted.path, mounted.cache_dir)
    assert server_tree(fs_root) == {}


def test_valid_files_of_every_type_upload_as_their_type(emulator, fs_root, mount_fs, tmp_path) -> None:
    samples = [make(tmp_path / f"sample.{ext}") for ext, make in MEDIA.items()]
    mounted = mount_fs(emulator, fs_root.uuid)
    result = subprocess.run(["cp", *map(str, samples), str(mounted.path)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    expected = {p.name: p.read_bytes() for p in samples}
    assert settled_tree(fs_root, mounted.cache_dir, expected) == expected
    types = {i.name: i.item_type.value for i in fs_root.list_items()}
    kind = {"jpg": T.IMAGE, "png": T.IMAGE, "gif": T.IMAGE, "bmp": T.IMAGE, "tiff": T.IMAGE, "webp": T.IMAGE,
            "mp4": T.VIDEO, "mov": T.VIDEO, "webm": T.VIDEO, "mkv": T.VIDEO, "avi": T.VIDEO,
            "wav": T.AUDIO, "mp3": T.AUDIO, "flac": T.AUDIO, "ogg": T.AUDIO, "m4a": T.AUDIO,
            "pdf": T.PDF, "nii": T.NIFTI, "nii.gz": T.NIFTI, "txt": T.PLAIN_TEXT}
    assert types == {f"sample.{ext}": t.value for ext, t in kind.items()}
