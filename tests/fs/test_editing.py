"""Editing files in place as on a local disk: truncate refusals, and each editor's or tool's save,
checked on the server through the SDK afterwards (one item, the right bytes, the metadata kept, and
no second entry in `ls` at any moment right after the save).

Saves that need the write path's upload state (the lead's work) are marked xfail(strict): they
turn into failures once fixed, to be unmarked then.
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any, Callable

import pytest

from encordfs.emulator import mediagen

pytestmark = pytest.mark.fuse

KEPT = {"keep": True, "split": "train"}
ORIGINAL = b"one\ntwo\n"
UPLOAD_WAIT = 15.0
WRITE_PATH = "needs the write-path upload state (lead)"


def sh(*args: str, cwd: Path | None = None, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), capture_output=True, text=True, timeout=60, cwd=cwd, input=stdin)


def sdk_bytes(item: Any) -> bytes:
    with urllib.request.urlopen(item.get_signed_url(), timeout=10) as response:
        return response.read()


def server_items(folder: Any) -> list[Any]:
    return [i for i in folder.list_items(get_signed_urls=True)]


def settled(folder: Any, title: str, expected: bytes) -> list[Any]:
    """The folder's items once one item titled ``title`` holds ``expected`` and nothing else is
    there (close() returns once journaled; the upload and the old item's deletion follow)."""
    deadline = time.monotonic() + UPLOAD_WAIT
    while True:
        items = server_items(folder)
        done = len(items) == 1 and items[0].name == title and sdk_bytes(items[0]) == expected
        if done or time.monotonic() > deadline:
            return items
        time.sleep(0.1)


def assert_saved(folder: Any, title: str, expected: bytes, metadata: dict[str, Any] | None = KEPT) -> None:
    items = settled(folder, title, expected)
    assert [i.name for i in items] == [title], [(i.name, i.uuid) for i in items]
    assert sdk_bytes(items[0]) == expected
    if metadata is not None:
        assert items[0].client_metadata == metadata


@pytest.fixture
def note(fs_root: Any, mount_fs: Any, emulator: Any, tmp_path: Path) -> tuple[Any, Path]:
    """A text item with client metadata, on a fresh mount: (its folder, its path on the mount)."""
    source = tmp_path / "src.txt"
    source.write_bytes(ORIGINAL)
    fs_root.upload_text(source, title="notes.txt", client_metadata=KEPT)
    mnt = mount_fs(emulator, fs_root.uuid).path
    return fs_root, mnt / "notes.txt"


def watch_listing(folder: Path, action: Callable[[], Any], title: str, after: float = 1.0) -> tuple[Any, set[str]]:
    """Run ``action``, then list ``folder`` over and over for ``after`` seconds: the result and
    every name other than ``title`` seen (a phantom entry, a leftover temp file)."""
    result = action()
    seen: set[str] = set()
    deadline = time.monotonic() + after
    while time.monotonic() < deadline:
        seen.update(n for n in os.listdir(folder) if n != title)
        time.sleep(0.02)
    return result, seen


# --- truncate ------------------------------------------------------------------------------------


def test_truncating_media_to_nothing_fails_at_the_call(emulator, sdk_user, fs_root, mount_fs, tmp_path) -> None:
    sources = {
        "photo.jpg": mediagen.jpeg(tmp_path / "photo.jpg"),
        "clip.mp4": mediagen.mp4(tmp_path / "clip.mp4", seconds=0.3),
        "tone.wav": mediagen.wav(tmp_path / "tone.wav", seconds=0.2),
        "doc.pdf": mediagen.pdf(tmp_path / "doc.pdf"),
        "scan.nii": mediagen.nifti(tmp_path / "scan.nii"),
    }
    mnt = mount_fs(emulator, fs_root.uuid).path
    for name, source in sources.items():
        shutil.copyfile(source, mnt / name)
    for name, source in sources.items():
        refused = sh("truncate", "-s", "0", str(mnt / name))
        assert refused.returncode != 0 and "Operation not supported" in refused.stderr, (name, refused)
        with open(mnt / name, "r+b") as handle:
            with pytest.raises(OSError) as ftruncate:
                os.ftruncate(handle.fileno(), 0)
            assert ftruncate.value.errno == errno.ENOTSUP
        assert (mnt / name).stat().st_size == source.stat().st_size
        assert (mnt / name).read_bytes() == source.read_bytes()
    deadline = time.monotonic() + UPLOAD_WAIT
    while len(items := server_items(fs_root)) != len(sources) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert {i.name: sdk_bytes(i) for i in items} == {n: s.read_bytes() for n, s in sources.items()}
    (mnt / "empty.jpg").touch()  # an empty placeholder stays empty: nothing to refuse
    assert sh("truncate", "-s", "0", str(mnt / "empty.jpg")).returncode == 0
