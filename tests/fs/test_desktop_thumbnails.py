"""Thumbnailers on a real mount (the real gdk-pixbuf-thumbnailer, and programs run under the names
of the others), downloads counted in the emulator's request log; and repeated opens of one file."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from encordfs.emulator import mediagen

from .test_read_requests import RequestLog

pytestmark = pytest.mark.fuse
needs_thumbnailer = pytest.mark.skipif(shutil.which("gdk-pixbuf-thumbnailer") is None, reason="needs libgdk-pixbuf2.0-bin")


def blob_gets(requests: list[dict]) -> list[dict]:
    return [r for r in requests if r["path"].startswith("/blobs/")]


def thumbnail(source: Path, out: Path) -> bool:
    result = subprocess.run(["gdk-pixbuf-thumbnailer", "-s", "128", str(source), str(out)], capture_output=True, timeout=60)
    return result.returncode == 0 and out.exists()


def as_named(tmp_path: Path, name: str, *args: str) -> subprocess.CompletedProcess[bytes]:
    """``cat`` run under another program's name (its /proc/PID/comm)."""
    program = tmp_path / name
    if not program.exists():
        shutil.copy(shutil.which("cat") or "/bin/cat", program)
    return subprocess.run([str(program), *args], capture_output=True, timeout=60)


@pytest.fixture
def photos(emulator_factory, make_sdk_client, tmp_path):
    log = RequestLog(tmp_path / "requests.jsonl")
    server = emulator_factory("--request-log", str(log.path))
    folder = make_sdk_client(server).create_storage_folder("photos")
    folder.upload_image(mediagen.jpeg(tmp_path / "small.jpg", 320, 240), title="small.jpg")
    folder.upload_image(mediagen.jpeg_of_size(tmp_path / "big.jpg", 9 << 20), title="big.jpg")
    folder.upload_video(mediagen.mp4(tmp_path / "clip.mp4", seconds=0.5), title="clip.mp4")
    return log, server, folder


@needs_thumbnailer
def test_small_photos_get_thumbnails_big_ones_and_videos_cost_nothing(photos, mount_fs, tmp_path) -> None:
    log, server, folder = photos
    mnt = mount_fs(server, folder.uuid).path
    assert sorted(p.name for p in mnt.iterdir()) == ["big.jpg", "clip.mp4", "small.jpg"]

    assert thumbnail(mnt / "small.jpg", tmp_path / "small.png")
    refused = log.during(
        lambda: [
            thumbnail(mnt / "big.jpg", tmp_path / "big.png"),
            as_named(tmp_path, "totem-video-thumbnailer", str(mnt / "clip.mp4")),
            as_named(tmp_path, "ffmpegthumbnailer", str(mnt / "clip.mp4")),
        ]
    )
    assert not (tmp_path / "big.png").exists()
    assert blob_gets(refused) == [], "a refused thumbnail downloads nothing"
    video = as_named(tmp_path, "totem-video-thumbnailer", str(mnt / "clip.mp4"))
    assert video.returncode != 0 and b"Permission denied" in video.stderr
    assert (mnt / "big.jpg").read_bytes() == (tmp_path / "big.jpg").read_bytes(), "anyone else reads it all"
    assert as_named(tmp_path, "tumblerd", str(mnt / "small.jpg")).stdout == (tmp_path / "small.jpg").read_bytes()


@needs_thumbnailer
@pytest.mark.parametrize("policy", ["none", "all"])
def test_thumbnails_none_and_all(photos, mount_fs, tmp_path, policy) -> None:
    _log, server, folder = photos
    mnt = mount_fs(server, folder.uuid, "--thumbnails", policy).path
    made = thumbnail(mnt / "small.jpg", tmp_path / "small.png"), thumbnail(mnt / "big.jpg", tmp_path / "big.png")
    assert made == ((False, False) if policy == "none" else (True, True))
    video = as_named(tmp_path, "totem-video-thumbnailer", str(mnt / "clip.mp4"))
    assert (video.stdout == (tmp_path / "clip.mp4").read_bytes()) == (policy == "all")


def test_a_second_open_reads_no_byte_twice(photos, mount_fs, tmp_path) -> None:
    """`file` then `cat` (or pcmanfm's two opens of every image): the second open's reader would
    fetch again what the first one fetched but the kernel did not keep (it caches what was read)."""
    log, server, folder = photos
    mnt = mount_fs(server, folder.uuid).path
    sorted(mnt.iterdir())
    results: list[bytes] = []

    def file_then_cat() -> None:
        assert b"JPEG" in subprocess.run(["file", "-b", str(mnt / "big.jpg")], capture_output=True).stdout
        results.append((mnt / "big.jpg").read_bytes())

    requests = log.during(file_then_cat)
    assert results[-1] == (tmp_path / "big.jpg").read_bytes()
    gets = blob_gets(requests)
    assert len(gets) == 2, gets  # file's first MiB, then only the rest (3 GETs without the kept bytes)
