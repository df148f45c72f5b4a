"""The content cache through real mounts: what a read costs the second time, across remounts,
within the bound, after a torn entry, after a change elsewhere, and when turned off."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from tests.fs.conftest import encordfs, unmount
from tests.fs.test_read_requests import RequestLog, read_all

BIG = 3 << 20


def _blob_gets(requests: list[dict[str, Any]]) -> int:
    return len([r for r in requests if r["path"].startswith("/blobs/")])


def _content_bytes(cache_dir: Path) -> int:
    return sum(p.stat().st_size for p in (cache_dir / "content").glob("*/*"))


class Setup:
    """A request-logging emulator with a folder of small files and one big one."""

    def __init__(self, emulator_factory: Any, make_sdk_client: Any, tmp_path: Path, small: int = 4) -> None:
        self.log = RequestLog(tmp_path / "requests.jsonl")
        self.server = emulator_factory("--request-log", str(self.log.path))
        self.folder = make_sdk_client(self.server).create_storage_folder("data")
        self.files: dict[str, bytes] = {}
        for i in range(small):
            self.add(tmp_path, f"s{i}.txt", os.urandom(20_000).hex().encode())
        self.add(tmp_path, "big.txt", os.urandom(BIG // 2).hex().encode())
        self.tmp_path = tmp_path

    def add(self, tmp_path: Path, name: str, data: bytes) -> Any:
        source = tmp_path / "src" / name
        source.parent.mkdir(exist_ok=True)
        source.write_bytes(data)
        self.files[name] = data
        return self.folder.upload_text(source, title=name)

    def read_everything(self, mnt: Path) -> list[dict[str, Any]]:
        """The requests made while every file is read once (and checked)."""

        def read() -> None:
            for name, data in self.files.items():
                assert read_all(mnt / name) == data, name

        return self.log.during(read)


def _remount(mount_fs: Any, setup: Setup, mounted: Any, *extra: str) -> Any:
    unmount(mounted.path)
    mounted.process.wait(timeout=15)
    return mount_fs(setup.server, setup.folder.uuid, *extra, cache_dir=mounted.cache_dir)


def test_files_read_again_after_a_remount_cost_no_get(emulator_factory, make_sdk_client, mount_fs, tmp_path) -> None:
    setup = Setup(emulator_factory, make_sdk_client, tmp_path)
    first = mount_fs(setup.server, setup.folder.uuid)
    assert _blob_gets(setup.read_everything(first.path)) >= len(setup.files)
    second = _remount(mount_fs, setup, first)
    requests = setup.read_everything(second.path)
    assert _blob_gets(requests) == 0, requests
    assert not [r for r in requests if "/storage/items/" in r["path"]], "no item call to sign a URL either"


def test_a_torn_entry_is_fetched_again(emulator_factory, make_sdk_client, mount_fs, tmp_path) -> None:
    setup = Setup(emulator_factory, make_sdk_client, tmp_path, small=1)
    first = mount_fs(setup.server, setup.folder.uuid)
    setup.read_everything(first.path)
    unmount(first.path)
    first.process.wait(timeout=15)
    entries = sorted((first.cache_dir / "content").glob("*/*"), key=lambda p: p.stat().st_size)
    assert entries
    with open(entries[0], "r+b") as handle:  # the small file: truncated as a crash mid-write could
        handle.truncate(entries[0].stat().st_size // 2)
    second = mount_fs(setup.server, setup.folder.uuid, cache_dir=first.cache_dir)
    assert _blob_gets(setup.read_everything(second.path)) == 1
    assert "torn entry" in second.log()


def test_an_item_replaced_elsewhere_is_fetched_again(emulator_factory, make_sdk_client, mount_fs, tmp_path) -> None:
    setup = Setup(emulator_factory, make_sdk_client, tmp_path, small=1)
    first = mount_fs(setup.server, setup.folder.uuid)
    setup.read_everything(first.path)
    unmount(first.path)
    first.process.wait(timeout=15)
    [old] = [i for i in setup.folder.list_items() if i.name == "s0.txt"]
    old.delete()
    setup.add(tmp_path, "s0.txt", b"a different, shorter text")
    second = mount_fs(setup.server, setup.folder.uuid, cache_dir=first.cache_dir)
    requests = setup.read_everything(second.path)
    assert _blob_gets(requests) == 1, "the new item only; the big file comes from the cache"


def test_the_cache_stays_within_its_bound_while_reading_more(emulator_factory, make_sdk_client, mount_fs, tmp_path) -> None:
    setup = Setup(emulator_factory, make_sdk_client, tmp_path)
    bound = 2 << 20
    mounted = mount_fs(setup.server, setup.folder.uuid, "--cache-size", "2M")
    with open(mounted.path / "big.txt", "rb", buffering=0) as handle:
        while handle.read(256 << 10):
            assert _content_bytes(mounted.cache_dir) <= bound
    for name in setup.files:
        read_all(mounted.path / name)
        assert _content_bytes(mounted.cache_dir) <= bound
    setup.log.settled_lines()
    assert 0 < _content_bytes(mounted.cache_dir) <= bound


def test_size_zero_turns_the_cache_off(emulator_factory, make_sdk_client, mount_fs, tmp_path) -> None:
    setup = Setup(emulator_factory, make_sdk_client, tmp_path, small=2)
    first = mount_fs(setup.server, setup.folder.uuid, "--cache-size", "0")
    setup.read_everything(first.path)
    second = _remount(mount_fs, setup, first, "-o", "cache_size=0")
    assert _blob_gets(setup.read_everything(second.path)) >= len(setup.files)
    assert not (first.cache_dir / "content").exists()


def test_warm_fetches_a_tree_so_reads_cost_no_get_and_status_shows_the_cache(emulator_factory, make_sdk_client, mount_fs, tmp_path) -> None:
    setup = Setup(emulator_factory, make_sdk_client, tmp_path)
    sub = setup.folder.create_subfolder("deeper")
    (tmp_path / "src" / "d.txt").write_bytes(b"below")
    sub.upload_text(tmp_path / "src" / "d.txt", title="d.txt")
    mounted = mount_fs(setup.server, setup.folder.uuid)

    flat = encordfs("warm", str(mounted.path), "--json")
    assert flat.returncode == 0, flat.stderr
    assert json.loads(flat.stdout)["files"] == len(setup.files)
    tree = encordfs("warm", str(mounted.path), "--recursive")
    assert tree.returncode == 0, tree.stderr
    assert f"warmed {len(setup.files) + 1} files" in tree.stdout and ", 5 fetched now)" in tree.stdout, tree.stdout

    requests = setup.read_everything(mounted.path)
    assert (mounted.path / "deeper" / "d.txt").read_bytes() == b"below"
    assert _blob_gets(requests) == 0, requests
    status = encordfs("status")
    assert status.returncode == 0, status.stderr
    [line] = [line for line in status.stdout.splitlines() if "content cache:" in line]
    hits = re.search(r"hits (\d+), misses 0 \(100% of", line)
    assert hits and int(hits[1]) >= len(setup.files) + 1, line


def test_warm_stops_at_the_cache_bound(emulator_factory, make_sdk_client, mount_fs, tmp_path) -> None:
    setup = Setup(emulator_factory, make_sdk_client, tmp_path, small=2)
    mounted = mount_fs(setup.server, setup.folder.uuid, "--cache-size", "1M")
    result = encordfs("warm", str(mounted.path), "--json")
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert (answer["files"], answer["skipped_files"]) == (2, 1), answer  # big.txt (3 MiB) is beyond it
    assert answer["cache_bytes"] <= 1 << 20 and _content_bytes(mounted.cache_dir) <= 1 << 20
