"""The content cache's store on its own: keys per version, the bound, LRU order, torn entries, reloads."""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime
from pathlib import Path

import trio

from encordfs.fs.content_cache import CHUNK_SIZE, HEADER, ContentStore, entry_key, open_store
from encordfs.fs.content_reads import ContentReads

EDIT = datetime(2026, 1, 1, tzinfo=UTC)


def store_of(tmp_path: Path, limit: int, ttl: float = 0) -> ContentStore:
    store = ContentStore(tmp_path / "content", limit, ttl)
    store.load()
    return store


def test_an_entry_is_kept_under_its_version_and_survives_a_reload(tmp_path: Path) -> None:
    version = (uuid.uuid4(), EDIT, 5)
    store = store_of(tmp_path, 1 << 20)
    assert store.put(entry_key(version, 0), b"hello")
    assert store.get(entry_key(version, 0)) == b"hello"
    assert store.get(entry_key((version[0], EDIT.replace(year=2027), 5), 0)) is None
    assert store.get(entry_key((version[0], EDIT, 6), 0)) is None
    again = store_of(tmp_path, 1 << 20)
    assert again.get(entry_key(version, 0)) == b"hello"
    assert again.bytes == store.bytes == HEADER.size + 5


def test_the_bound_is_never_exceeded_and_the_least_recently_used_go_first(tmp_path: Path) -> None:
    entry = HEADER.size + 1000
    store = store_of(tmp_path, 3 * entry)
    keys = [f"{uuid.uuid4().hex}-0-1000-0" for _ in range(5)]
    for key in keys[:3]:
        assert store.put(key, os.urandom(1000))
    store.get(keys[0])  # used again: the second is now the oldest
    assert store.put(keys[3], os.urandom(1000))
    assert store.bytes <= 3 * entry
    assert [store.has(k) for k in keys[:4]] == [True, False, True, True]
    assert not store.put(keys[4], os.urandom(3 * entry))  # bigger than the bound: not kept
    disk = sum(p.stat().st_size for p in (tmp_path / "content").glob("*/*"))
    assert disk == store.bytes <= 3 * entry
    smaller = store_of(tmp_path, 2 * entry)  # a remount with a smaller bound trims the oldest
    assert smaller.bytes <= 2 * entry and smaller.has(keys[3])


def test_a_torn_entry_is_dropped_and_a_crashed_write_cleaned_up(tmp_path: Path) -> None:
    store = store_of(tmp_path, 1 << 20)
    key = f"{uuid.uuid4().hex}-0-4000-0"
    store.put(key, os.urandom(4000))
    path = tmp_path / "content" / key[:2] / key
    with open(path, "r+b") as handle:
        handle.truncate(2000)
    assert store.get(key) is None
    assert not path.exists() and store.bytes == 0 and not store.has(key)
    store.put(key, b"x" * 4000)
    data = bytearray(path.read_bytes())
    data[-1] ^= 1  # same length, one bit off: the CRC tells
    path.write_bytes(bytes(data))
    assert store.get(key) is None
    leftover = path.with_name(key + ".tmp123-0")
    leftover.write_bytes(b"half")
    store_of(tmp_path, 1 << 20)
    assert not leftover.exists()


def test_entries_unused_for_the_ttl_expire(tmp_path: Path) -> None:
    store = store_of(tmp_path, 1 << 20, ttl=60)
    old, new = f"{uuid.uuid4().hex}-0-1-0", f"{uuid.uuid4().hex}-0-1-0"
    store.put(old, b"a")
    path = tmp_path / "content" / old[:2] / old
    os.utime(path, (0, 0))
    reloaded = store_of(tmp_path, 1 << 20, ttl=60)
    reloaded.put(new, b"b")
    assert not reloaded.has(old) and reloaded.has(new) and not path.exists()


def test_size_zero_turns_the_cache_off_and_the_default_is_bounded(tmp_path: Path) -> None:
    assert open_store(tmp_path, 0, 0) is None
    store = open_store(tmp_path, None, 0)
    assert store is not None and 0 < store.limit <= 10 << 30


async def test_ranges_are_served_from_the_store_once_written_in_the_background(tmp_path: Path) -> None:
    store = store_of(tmp_path, 64 << 20)
    data = os.urandom(CHUNK_SIZE * 2 + 10)
    version = (uuid.uuid4(), EDIT, len(data))
    calls: list[tuple[int, int]] = []

    async def fetch(offset: int, length: int) -> bytes:
        calls.append((offset, length))
        return data[offset : offset + length]

    async with trio.open_nursery() as nursery:
        reads = ContentReads(store, lambda: nursery)
        assert await reads.read(version, 0, len(data), fetch) == data
        assert await reads.read(version, 5, 10, fetch) == data[5:15]  # unaligned: not cached, fetched
    async with trio.open_nursery() as nursery:
        reads = ContentReads(store, lambda: nursery)
        assert reads.cached(version, CHUNK_SIZE, CHUNK_SIZE)
        assert await reads.read(version, CHUNK_SIZE, CHUNK_SIZE + 10, fetch) == data[CHUNK_SIZE:]
        assert await reads.read(version, 0, CHUNK_SIZE, fetch) == data[:CHUNK_SIZE]
    assert calls == [(0, len(data)), (5, 10)]
    assert (reads.hits, reads.misses) == (2, 0)


async def test_only_the_missing_chunks_of_a_range_are_fetched_and_a_torn_one_refetches_all(tmp_path: Path) -> None:
    store = store_of(tmp_path, 64 << 20)
    data = os.urandom(CHUNK_SIZE * 4)
    version = (uuid.uuid4(), EDIT, len(data))
    for index in (0, 3):
        store.put(entry_key(version, index), data[index * CHUNK_SIZE : (index + 1) * CHUNK_SIZE])
    calls: list[tuple[int, int]] = []

    async def fetch(offset: int, length: int) -> bytes:
        calls.append((offset, length))
        return data[offset : offset + length]

    async with trio.open_nursery() as nursery:
        reads = ContentReads(store, lambda: nursery)
        assert await reads.read(version, 0, len(data), fetch) == data
    assert calls == [(CHUNK_SIZE, 2 * CHUNK_SIZE)]
    assert all(store.has(entry_key(version, i)) for i in range(4))
    key = entry_key(version, 3)
    (tmp_path / "content" / key[:2] / key).write_bytes(b"torn")
    async with trio.open_nursery() as nursery:
        reads = ContentReads(store, lambda: nursery)
        assert await reads.read(version, 0, len(data), fetch) == data
    assert calls[1:] == [(0, len(data))]
    assert store.has(key)
