"""Editing files in place as on a local disk: truncate refusals, and each editor's or tool's save,
checked on the server through the SDK afterwards (one item, the right bytes, the metadata kept, and
no second entry in `ls` at any moment right after the save).
"""

from __future__ import annotations

import errno
import itertools
import os
import shutil
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from encordfs.emulator import mediagen

pytestmark = pytest.mark.fuse

KEPT = {"keep": True, "split": "train"}
UPLOAD_WAIT = 15.0


def sh(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), capture_output=True, text=True, timeout=60)


def sdk_bytes(item: Any) -> bytes:
    with urllib.request.urlopen(item.get_signed_url(), timeout=10) as response:
        return response.read()


def server_items(folder: Any) -> list[Any]:
    return [i for i in folder.list_items(get_signed_urls=True)]


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


# --- refusals and placeholders --------------------------------------------------------------------


def test_refused_formats_say_what_encord_stores(emulator, fs_root, mount_fs, tmp_path) -> None:
    mounted = mount_fs(emulator, fs_root.uuid)
    weights = tmp_path / "weights.npy"
    weights.write_bytes(b"\x93NUMPY\x01\x00" + b"\0" * 120)
    by_name = sh("cp", str(weights), str(mounted.path / "weights.npy"))
    assert by_name.returncode != 0 and "Operation not supported" in by_name.stderr
    by_content = sh("cp", str(weights), str(mounted.path / "weights"))
    assert by_content.returncode != 0 and "Operation not supported" in by_content.stderr
    assert sorted(os.listdir(mounted.path)) == []
    assert "a NumPy array" in mounted.log() and "it stores images (.jpg" in mounted.log()


def test_placeholders_stay_local_and_vanish_at_unmount(emulator, fs_root, mount_fs, tmp_path) -> None:
    cache = tmp_path / "cache"
    mnt = mount_fs(emulator, fs_root.uuid, cache_dir=cache).path
    (mnt / "empty.jpg").touch()
    (mnt / "empty.txt").touch()
    assert sorted(os.listdir(mnt)) == ["empty.jpg", "empty.txt"] and (mnt / "empty.jpg").stat().st_size == 0
    deadline = time.monotonic() + UPLOAD_WAIT
    while not server_items(fs_root) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert [(i.name, sdk_bytes(i)) for i in server_items(fs_root)] == [("empty.txt", b"")]
    assert sh("fusermount3", "-u", str(mnt)).returncode == 0
    again = mount_fs(emulator, fs_root.uuid, cache_dir=cache).path
    assert os.listdir(again) == ["empty.txt"]


def test_a_placeholder_reads_back_empty(emulator, fs_root, mount_fs) -> None:
    mnt = mount_fs(emulator, fs_root.uuid).path
    (mnt / "empty.jpg").touch()
    assert (mnt / "empty.jpg").read_bytes() == b""


# --- saves by editors and tools -------------------------------------------------------------------


class MetadataLost(AssertionError):
    """The saved item lost the client metadata the old item had."""


class PhantomEntry(AssertionError):
    """A second name showed in `ls` right after the save (the old and new item both listed)."""


class ScratchRefused(AssertionError):
    """The tool's scratch file (vim's .swp) was refused: the editor sees a close error."""


TITLE = "notes.txt"
RACY = 10  # saves of a tool that makes a new item next to the old one: the phantom entry is a race
SAVES = 3  # saves of a tool that renames a temp file onto the old one
DIR_TTL = "0.01"  # every listing has aged at once, as it has 10 s after an `ls` with the defaults
LATENCY_MS = 10  # per API answer: the new and old item coexist a little longer, as on a real network
AGED = 0.05  # seconds before each save
WATCH_AFTER = 0.1  # seconds of listing after the server settled


def _vim(*settings: str) -> Callable[[Path, bytes], Any]:
    """vim as a user runs it (nocompatible: backupcopy=auto), minus the vimrc; ``backupskip`` is
    emptied because its default skips the backup under /tmp, where the test mounts live. Its saves
    (traced): auto probes with a file ``4913``, renames ``f`` to ``f~``, writes a new ``f`` and
    deletes ``f~``; ``yes`` copies ``f`` to ``f~`` and rewrites ``f`` in place; ``no`` renames like
    auto without the probe. Each time it keeps ``.f.swp`` open beside."""

    def save(path: Path, line: bytes) -> Any:
        commands = [arg for setting in ("set backupskip=", *settings) for arg in ("-c", setting)]
        append = f'call append(line("$"), "{line.decode().rstrip()}")'
        return sh("vim", "-N", "-es", "-u", "NONE", "-i", "NONE", *commands, "-c", append, "-c", "wq", str(path))

    return save


def _sed(path: Path, line: bytes) -> Any:
    return sh("sed", "-i", f"$a {line.decode().rstrip()}", str(path))


def _append(path: Path, line: bytes) -> Any:
    return sh("sh", "-c", f"printf '%s\\n' '{line.decode().rstrip()}' >> '{path}'")


def _python_replace(path: Path, line: bytes) -> None:
    """Write a temp file next to it, then os.replace (Python's atomic save)."""
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "wb") as handle:
        handle.write(path.read_bytes() + line)
    os.replace(temp, path)


def _create_empty_then_rename(path: Path, line: bytes) -> None:
    """GLib's g_file_set_contents: create the temp file empty (O_EXCL), close, write it, rename onto."""
    content = path.read_bytes() + line
    temp = path.parent / f".{path.name}.{os.urandom(3).hex()}"
    os.close(os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
    with open(temp, "wb") as handle:
        handle.write(content)
        os.fsync(handle.fileno())
    os.rename(temp, path)


def _gio_save(path: Path, line: bytes) -> Any:
    return subprocess.run(["gio", "save", str(path)], input=path.read_bytes() + line, capture_output=True, timeout=60)


def _cp_onto(path: Path, line: bytes) -> Any:
    source = path.parent.parent / "cp-source.txt"
    source.write_bytes(path.read_bytes() + line)
    return sh("cp", str(source), str(path))


def _rsync(path: Path, line: bytes) -> Any:
    source = path.parent.parent / "rsync-source" / path.name
    source.parent.mkdir(exist_ok=True)
    source.write_bytes(path.read_bytes() + line)
    return sh("rsync", "--checksum", str(source), str(path))


def _truncate(path: Path, line: bytes) -> Any:
    """Cut the file shorter by one line (``line`` only sets the pace)."""
    kept = path.read_bytes().splitlines(keepends=True)[:-1]
    return sh("truncate", "-s", str(len(b"".join(kept))), str(path))


def _after(tool: Callable[[Path, bytes], Any], content: bytes, line: bytes) -> bytes:
    if tool is _truncate:
        return b"".join(content.splitlines(keepends=True)[:-1])
    return content + line


SAVE_TOOLS = [
    pytest.param(_vim(), RACY, id="vim"),
    pytest.param(_vim("set backupcopy=yes"), RACY, id="vim backupcopy=yes"),
    pytest.param(_vim("set backupcopy=no"), RACY, id="vim backupcopy=no"),
    pytest.param(_sed, SAVES, id="sed -i"),
    pytest.param(_append, RACY, id=">>"),
    pytest.param(_python_replace, SAVES, id="python os.replace"),
    pytest.param(_create_empty_then_rename, SAVES, id="create empty then rename"),
    pytest.param(_gio_save, SAVES, id="gio save"),
    pytest.param(_cp_onto, RACY, id="cp onto"),
    pytest.param(_rsync, SAVES, id="rsync"),
    pytest.param(_truncate, RACY, id="truncate shorter"),
]


def _save_and_watch(folder: Any, mnt: Path, save: Callable[[], Any], expected: bytes) -> tuple[Any, list[Any], set[str]]:
    """Save once the listing has aged (as it has 10 s after an `ls` with the defaults), then list
    the mount every 10 ms until the server holds one item with the new bytes (the old item is
    deleted after the new one landed: the moment a phantom would show) and a little after. The
    tool's result, the server's items, and every other name seen."""
    time.sleep(AGED)
    result = save()
    seen: set[str] = set()
    deadline = time.monotonic() + UPLOAD_WAIT
    settled_at: float | None = None
    for tick in itertools.count():
        seen.update(n for n in os.listdir(mnt) if n != TITLE)
        now = time.monotonic()
        if settled_at is None and tick % 10 == 0:
            items = server_items(folder)
            if len(items) == 1 and items[0].name == TITLE and sdk_bytes(items[0]) == expected:
                settled_at = now
        if (settled_at is not None and now > settled_at + WATCH_AFTER) or now > deadline:
            break
        time.sleep(0.01)
    return result, server_items(folder), seen


@pytest.mark.parametrize(("tool", "saves"), SAVE_TOOLS)
def test_a_save_leaves_one_item_with_the_new_bytes_and_the_metadata(tool, saves, emulator, fs_root, mount_fs, tmp_path) -> None:
    content = b"".join(b"line %d\n" % n for n in range(saves + 2))
    source = tmp_path / "source.txt"
    source.write_bytes(content)
    fs_root.upload_text(source, title=TITLE, client_metadata=KEPT)
    mounted = mount_fs(emulator, fs_root.uuid, "--dir-ttl", DIR_TTL, "--attr-ttl", DIR_TTL)
    with emulator.faults(latency_ms=LATENCY_MS):
        _save_over_and_over(tool, saves, fs_root, mounted, content)


def _save_over_and_over(tool: Callable[[Path, bytes], Any], saves: int, folder: Any, mounted: Any, content: bytes) -> None:
    path = mounted.path / TITLE
    for n in range(saves):
        line = b"saved %d\n" % n
        expected = _after(tool, content, line)
        result, items, seen = _save_and_watch(folder, mounted.path, lambda line=line: tool(path, line), expected)
        assert getattr(result, "returncode", 0) == 0, result
        assert [i.name for i in items] == [TITLE], (n, [(i.name, i.uuid) for i in items])
        assert sdk_bytes(items[0]) == expected and path.read_bytes() == expected, n
        if "refusing '." in mounted.log():
            raise ScratchRefused(next(entry for entry in mounted.log().splitlines() if "refusing" in entry))
        if seen:
            raise PhantomEntry(f"save {n}: {sorted(seen)} listed next to {TITLE}")
        if items[0].client_metadata != KEPT:
            raise MetadataLost(f"save {n}: {items[0].client_metadata} instead of {KEPT}")
        content = expected
