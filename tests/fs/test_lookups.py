"""What lookups cost, on a real mount, counted in the emulator's request log: missing names are
kernel-cached negative entries, a name missing from a cached listing is asked about once, a typed
path costs one search per folder, frames of an image group need no request each."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from encordfs.emulator import mediagen

from .test_read_requests import RequestLog

pytestmark = pytest.mark.fuse


def api(requests: list[dict]) -> list[dict]:
    return [r for r in requests if r["path"].startswith("/v2/")]


def missing(path: Path) -> bool:
    try:
        os.stat(path)
    except FileNotFoundError:
        return True
    return False


@pytest.fixture
def logged(emulator_factory, make_sdk_client, tmp_path):
    log = RequestLog(tmp_path / "requests.jsonl")
    server = emulator_factory("--request-log", str(log.path))
    return log, server, make_sdk_client(server)


def test_missing_names_are_asked_once_then_cached_by_the_kernel(logged, mount_fs, tmp_path) -> None:
    log, server, sdk = logged
    folder = sdk.create_storage_folder("top")
    folder.upload_text(mediagen.text(tmp_path / "a.txt"), title="a.txt")
    mnt = mount_fs(server, folder.uuid, "-o", "negative_ttl=30").path
    os.listdir(mnt)

    requests = log.during(lambda: [missing(mnt / name) for _ in range(50) for name in (".Trash", ".Trash-0", "b.txt")])
    searches = api(requests)
    searched = sorted(dict(map(tuple, r["query_list"]))["search"] for r in searches)
    assert searched == [".Trash", ".Trash", ".Trash-0", ".Trash-0", "b.txt", "b.txt"], searches  # folders and items, once
    assert log.during(lambda: [missing(mnt / ".Trash") for _ in range(20)]) == []

    (mnt / "b.txt").write_text("made here")  # the mount's own creation replaces the negative entry
    assert (mnt / "b.txt").read_text() == "made here"
    os.mkdir(mnt / ".Trash-notes")
    assert (mnt / ".Trash-notes").is_dir()


def test_what_is_made_elsewhere_opens_by_path_at_once(logged, mount_fs, tmp_path) -> None:
    _log, server, sdk = logged
    folder = sdk.create_storage_folder("top")
    folder.upload_text(mediagen.text(tmp_path / "a.txt"), title="a.txt")
    mnt = mount_fs(server, folder.uuid, "--dir-ttl", "600").path
    assert os.listdir(mnt) == ["a.txt"]

    later = folder.create_subfolder("later")
    later.upload_text(mediagen.text(tmp_path / "in.txt", ["inside"]), title="in.txt")
    folder.upload_text(mediagen.text(tmp_path / "late.txt", ["late"]), title="late.txt")
    assert (mnt / "late.txt").read_text() == "late\n"
    assert os.listdir(mnt / "later") == ["in.txt"]
    assert (mnt / "later" / "in.txt").read_text() == "inside\n"
    assert os.listdir(mnt) == ["a.txt"], "the listing itself stays cached for --dir-ttl"


def test_a_typed_path_costs_one_search_per_folder_and_none_the_second_time(logged, mount_fs, tmp_path) -> None:
    log, server, sdk = logged
    top = sdk.create_storage_folder("top")
    deep = top.create_subfolder("CT phantom").create_subfolder("series").create_subfolder("day 1")
    deep.upload_text(mediagen.text(tmp_path / "notes.txt", ["deep"]), title="notes.txt")
    mnt = mount_fs(server, top.uuid).path
    path = mnt / "CT phantom" / "series" / "day 1" / "notes.txt"

    requests = api(log.during(lambda: path.stat()))
    folder_searches = [r for r in requests if r["path"].endswith("/folders")]
    item_searches = [r for r in requests if r["path"].endswith("/items")]
    assert len(folder_searches) == 4 and len(item_searches) == 1, requests  # the file: folders and items at once
    assert len(requests) == 5, requests
    time.sleep(0.1)
    assert api(log.during(lambda: [path.stat() for _ in range(5)])) == []


def test_frames_of_an_image_group_need_no_request_each(logged, mount_fs, tmp_path) -> None:
    log, server, sdk = logged
    folder = sdk.create_storage_folder("top")
    frames = [mediagen.png(tmp_path / f"f{i}.png", seed=i) for i in range(6)]
    folder.create_image_group(frames, title="views")
    mnt = mount_fs(server, folder.uuid).path
    os.listdir(mnt)

    data: list[bytes] = []
    requests = log.during(lambda: data.extend(p.read_bytes() for p in sorted((mnt / "views").iterdir())))
    assert sorted(data) == sorted(p.read_bytes() for p in frames)
    calls = api(requests)
    assert [r["path"].rsplit("/", 1)[-1] for r in calls] == ["child-items"], calls
    assert len([r for r in requests if r["path"].startswith("/blobs/")]) == len(frames)
