"""RecentReads on its own: what is kept, for how long, for which version, within what memory."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import trio

from encordfs.fs.recent_reads import HEAD_LIMIT, RecentReads
from encordfs.fs.thumbnails import ThumbnailPolicy, Thumbnails, process_names

EDIT = datetime(2026, 1, 1, tzinfo=UTC)


class Source:
    def __init__(self, data: bytes) -> None:
        self.data, self.calls = data, []

    async def fetch(self, offset: int, length: int) -> bytes:
        self.calls.append((offset, length))
        await trio.sleep(0.01)
        return self.data[offset : offset + length]


async def test_a_version_is_fetched_once_and_a_new_version_again() -> None:
    source = Source(bytes(range(256)) * 40)
    kept = RecentReads()
    version = (uuid.uuid4(), EDIT, len(source.data))
    async with trio.open_nursery() as nursery:  # two opens at once share one fetch
        for _ in range(2):
            nursery.start_soon(kept.read, version, 0, 4096, source.fetch)
    assert await kept.read(version, 100, 50, source.fetch) == source.data[100:150]
    assert source.calls == [(0, 4096)]
    edited = (version[0], EDIT.replace(year=2027), len(source.data))
    await kept.read(edited, 0, 4096, source.fetch)
    assert len(source.calls) == 2


async def test_kept_bytes_expire_and_stay_within_their_budget() -> None:
    source = Source(b"x" * (HEAD_LIMIT * 4))
    kept = RecentReads(keep=0.05, max_bytes=2 * HEAD_LIMIT)
    big = (uuid.uuid4(), EDIT, 100 << 20)  # only the head of a big file is kept
    await kept.read(big, HEAD_LIMIT, 4096, source.fetch)
    await kept.read(big, HEAD_LIMIT, 4096, source.fetch)
    assert kept.bytes == 0 and len(source.calls) == 2
    for _ in range(4):
        await kept.read((uuid.uuid4(), EDIT, HEAD_LIMIT), 0, HEAD_LIMIT, source.fetch)
    assert kept.bytes <= 2 * HEAD_LIMIT
    await trio.sleep(0.1)
    await kept.read((uuid.uuid4(), EDIT, 10), 0, 10, source.fetch)
    assert kept.bytes == 10


def test_a_thumbnailer_is_told_by_its_process_name(tmp_path) -> None:
    for pid, name in ((10, "gdk-pixbuf-thum"), (11, "cp")):
        (tmp_path / str(pid)).mkdir()
        (tmp_path / str(pid) / "comm").write_text(name + "\n")
        (tmp_path / str(pid) / "status").write_text(f"Name:\t{name}\nTgid:\t{pid}\n")
    assert process_names(10, tmp_path) == ("gdk-pixbuf-thum",)
    assert process_names(99, tmp_path) == ()
    assert not Thumbnails(ThumbnailPolicy.NONE).is_thumbnailer(1)  # pid 1 is init/systemd
