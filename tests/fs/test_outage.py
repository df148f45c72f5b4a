"""While the server cannot be reached: cached listings and attributes are served past their TTL,
uncached bytes fail, and every failure is fast once the outage is detected."""

from __future__ import annotations

import errno
import os
import time
from urllib.parse import urlsplit

import pytest

pytestmark = pytest.mark.fuse

TTL = "0.3"


def timed(call):
    started = time.monotonic()
    try:
        return call(), time.monotonic() - started
    except OSError as exc:
        return exc, time.monotonic() - started


def test_cached_listings_and_attributes_outlive_an_outage(emulator_factory, make_sdk_client, mount_fs, tmp_path) -> None:
    server = emulator_factory()
    sdk = make_sdk_client(server)
    top = sdk.create_storage_folder("top")
    top.create_subfolder("sub")
    (tmp_path / "a.txt").write_text("seen before")
    (tmp_path / "b.txt").write_text("never read")
    top.upload_text(tmp_path / "a.txt", title="a.txt")
    top.upload_text(tmp_path / "b.txt", title="b.txt")
    mounted = mount_fs(server, top.uuid, "--dir-ttl", TTL, "--attr-ttl", TTL, "--negative-ttl", TTL)
    mnt = mounted.path
    assert sorted(os.listdir(mnt)) == ["a.txt", "b.txt", "sub"]
    assert os.listdir(mnt / "sub") == []
    size = os.stat(mnt / "a.txt").st_size

    port = urlsplit(server.url).port
    server.stop()
    time.sleep(float(TTL) * 2)
    listing, _ = timed(lambda: sorted(os.listdir(mnt)))  # this one finds out (after its retries)
    assert listing == ["a.txt", "b.txt", "sub"]
    for _ in range(3):
        listing, took = timed(lambda: sorted(os.listdir(mnt)))
        assert listing == ["a.txt", "b.txt", "sub"] and took < 0.5
        stat, took = timed(lambda: os.stat(mnt / "a.txt"))
        assert not isinstance(stat, OSError) and stat.st_size == size and took < 0.5
        missing, took = timed(lambda: os.stat(mnt / "never-listed.txt"))
        assert isinstance(missing, OSError) and missing.errno == errno.ENOENT and took < 0.5
        assert os.listdir(mnt / "sub") == []
        time.sleep(float(TTL))
    failed, took = timed(lambda: (mnt / "b.txt").read_bytes())  # bytes never fetched: no cache
    assert isinstance(failed, OSError) and failed.errno == errno.EIO and took < 0.5
    log = mounted.log()
    assert f"http://127.0.0.1:{port} is not answering" in log and "Traceback" not in log

    emulator_factory("--port", str(port), data_dir=server.data_dir, register_key=False)
    deadline = time.monotonic() + 5
    while isinstance(data := timed(lambda: (mnt / "b.txt").read_bytes())[0], OSError) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert data == b"never read"
    assert f"http://127.0.0.1:{port} answers again" in mounted.log()
