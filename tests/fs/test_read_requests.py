"""How many requests reads cost, through a real mount and the emulator's request log."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpcore

from encordfs.emulator import mediagen
from encordfs.storage.auth import load_credentials
from encordfs.storage.client import StorageClient


class RequestLog:
    def __init__(self, path: Path) -> None:
        self.path = path

    def settled_lines(self) -> list[str]:
        """Complete log lines once the log stops growing (the server writes after answering)."""
        size = -1
        while size != self.path.stat().st_size:
            size = self.path.stat().st_size
            time.sleep(0.1)
        return self.path.read_text().split("\n")[:-1]

    def during(self, action: Callable[[], Any]) -> list[dict]:
        before = len(self.settled_lines())
        action()
        return [json.loads(line) for line in self.settled_lines()[before:]]


def read_all(path: Path) -> bytes:
    with path.open("rb", buffering=0) as handle:
        return handle.read()


def test_a_cold_small_file_costs_its_lookup_and_one_get(emulator_factory, make_sdk_client, mount_fs, tmp_path) -> None:
    log = RequestLog(tmp_path / "requests.jsonl")
    server = emulator_factory("--request-log", str(log.path))
    folder = make_sdk_client(server).create_storage_folder("small")
    notes = [mediagen.text(tmp_path / f"n{i}.txt", (f"note {i}",)) for i in range(3)]
    for i, note in enumerate(notes):
        folder.upload_text(note, title=f"n{i}.txt")
    mnt = mount_fs(server, folder.uuid).path

    data: list[bytes] = []
    requests = log.during(lambda: data.append(read_all(mnt / "n1.txt")))

    assert data == [notes[1].read_bytes()]
    item_calls = [r for r in requests if "/storage/items/" in r["path"]]
    assert item_calls == [], "the lookup's search brought the signed URL along"
    searches = [r for r in requests if r["path"].endswith("/items")]
    assert searches and all(("signUrls", "True") in map(tuple, r["query_list"]) for r in searches), searches
    assert len([r for r in requests if r["path"].startswith("/blobs/")]) == 1, requests


async def test_ranged_reads_reuse_one_connection(emulator, fs_root, tmp_path, monkeypatch) -> None:
    """A ranged GET reads its body to the end, so its connection goes back to the pool: a new TCP
    connection per chunk halved the sequential read rate."""
    data = "".join(f"line {i} {os.urandom(8).hex()}\n" for i in range(10_000)).encode()
    source = tmp_path / "blob.txt"
    source.write_bytes(data)
    fs_root.upload_text(source, title="blob.txt")
    connects = []
    real_connect = httpcore.TrioBackend.connect_tcp

    async def counting_connect(self, *args, **kwargs):
        connects.append(args)
        return await real_connect(self, *args, **kwargs)

    monkeypatch.setattr(httpcore.TrioBackend, "connect_tcp", counting_connect)
    credentials = load_credentials(ssh_key_file=emulator.key_path)
    async with StorageClient(credentials, emulator.url) as client:
        [item] = [i async for i in client.iter_items(fs_root.uuid)]
        parts = [await client.read_range(item, offset, 50_000) for offset in range(0, len(data), 50_000)]
    assert b"".join(parts) == data
    assert len(connects) == 1, connects


def test_the_client_reads_sockets_in_big_pieces() -> None:
    """httpcore's 64 KiB socket reads cost a sixth more CPU per byte of a big GET."""
    credentials = load_credentials(bearer_token="t")
    StorageClient(credentials, "http://127.0.0.1:9")
    assert httpcore.AsyncHTTP11Connection.READ_NUM_BYTES >= 256 * 1024


def test_a_sequential_read_is_exact_and_fetched_in_few_big_gets(emulator_factory, make_sdk_client, mount_fs, tmp_path) -> None:
    log = RequestLog(tmp_path / "requests.jsonl")
    server = emulator_factory("--request-log", str(log.path))
    folder = make_sdk_client(server).create_storage_folder("videos")
    video = mediagen.large_video(tmp_path / "v.mp4", 6 << 20)
    folder.upload_video(video, title="v.mp4")
    mnt = mount_fs(server, folder.uuid).path
    expected = video.read_bytes()

    data: list[bytes] = []
    requests = log.during(lambda: data.append(read_all(mnt / "v.mp4")))

    assert data == [expected]
    blob_gets = [r for r in requests if r["path"].startswith("/blobs/")]
    assert 1 < len(blob_gets) <= 3, "its first chunk, then the rest in spans of several chunks"
    with open(mnt / "v.mp4", "rb") as handle:  # random reads of the same open file stay exact
        for offset in (5_000_000, 17, 3 << 20):
            handle.seek(offset)
            assert handle.read(70_000) == expected[offset : offset + 70_000]


def _mounted_notes(emulator_factory, make_sdk_client, mount_fs, tmp_path: Path, count: int) -> tuple[RequestLog, list[Path], Path]:
    """A request-logging emulator with a folder of ``count`` small text files, mounted."""
    log = RequestLog(tmp_path / "requests.jsonl")
    server = emulator_factory("--request-log", str(log.path))
    folder = make_sdk_client(server).create_storage_folder("notes")
    notes = [mediagen.text(tmp_path / f"n{i:02}.txt", (f"note {i}",)) for i in range(count)]
    for note in notes:
        folder.upload_text(note, title=note.name)
    return log, notes, mount_fs(server, folder.uuid).path


def test_files_read_by_name_one_after_another_cost_one_get_each_once_their_folder_is_hot(
    emulator_factory, make_sdk_client, mount_fs, tmp_path
) -> None:
    """A reader going through a folder's files by name (no ls first) gets its lookups answered from
    one listing after the first few, and each file from one GET: no item call, no search."""
    log, notes, mnt = _mounted_notes(emulator_factory, make_sdk_client, mount_fs, tmp_path, 24)
    data: list[bytes] = []
    requests = log.during(lambda: data.extend(read_all(mnt / note.name) for note in notes))

    assert data == [note.read_bytes() for note in notes]
    assert [r for r in requests if "/storage/items/" in r["path"]] == []
    assert len([r for r in requests if r["path"].startswith("/blobs/")]) == len(notes)
    listings = [dict(map(tuple, r["query_list"])) for r in requests if r["path"].endswith("/items")]
    full = [q for q in listings if "search" not in q]
    assert len(full) == 1 and full[0]["signUrls"] == "True", listings
    assert len(listings) - 1 <= len(notes) // 2, "most lookups came from the listing"


def test_files_of_a_listed_folder_get_their_download_urls_in_one_request(emulator_factory, make_sdk_client, mount_fs, tmp_path) -> None:
    """``ls`` brings no download URLs; reading the folder's files then asks for the URLs of the
    next files in one get-bulk, not one item call per file, and each file is still one GET."""
    log, notes, mnt = _mounted_notes(emulator_factory, make_sdk_client, mount_fs, tmp_path, 30)
    assert sorted(os.listdir(mnt)) == [note.name for note in notes]

    data: list[bytes] = []
    requests = log.during(lambda: data.extend(read_all(mnt / note.name) for note in notes))

    assert data == [note.read_bytes() for note in notes]
    assert [r for r in requests if r["method"] == "GET" and "/storage/items/" in r["path"]] == []
    assert len([r for r in requests if r["path"].endswith("/items/get-bulk")]) == 1
    assert len([r for r in requests if r["path"].startswith("/blobs/")]) == len(notes)


def _drop_kernel_caches() -> None:
    """What memory pressure does: the kernel drops dentries and inodes and FORGETs them."""
    os.sync()
    Path("/proc/sys/vm/drop_caches").write_text("2\n")


def test_a_second_epoch_after_the_kernel_forgot_the_files_costs_no_api_call(emulator_factory, make_sdk_client, mount_fs, tmp_path) -> None:
    """The kernel forgets inodes after ``drop_caches``; while their folder's listing is fresh their
    metadata stays, so reading the files again asks the API nothing (the bytes come from the
    content cache)."""
    log, notes, mnt = _mounted_notes(emulator_factory, make_sdk_client, mount_fs, tmp_path, 12)
    assert sorted(os.listdir(mnt)) == [note.name for note in notes]
    assert [read_all(mnt / note.name) for note in notes] == [note.read_bytes() for note in notes]
    data: list[bytes] = []

    def epoch_two() -> None:
        _drop_kernel_caches()
        data.extend(read_all(mnt / note.name) for note in reversed(notes))

    requests = log.during(epoch_two)
    assert data == [note.read_bytes() for note in reversed(notes)]
    assert requests == [], requests
