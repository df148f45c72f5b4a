"""Read-ahead across the files of a folder read in order (``FolderPrefetch``)."""

from __future__ import annotations

import trio
import trio.testing

from encordfs.fs.inodes import ROOT_INO
from encordfs.fs.prefetch import MAX_FILES_AHEAD, SMALL_FILE, FolderPrefetch, Sibling
from encordfs.fs.reader import ReadAheadBudget

from .test_core import cat, ls, make_fs, staging, storage  # noqa: F401  (fixtures)


class Files:
    """A listing of ``count`` files whose fetches are counted."""

    def __init__(self, count: int, size: int = 10) -> None:
        self.listing = {f"f{i:03}": 100 + i for i in range(count)}
        self.size = size
        self.fetched: list[int] = []

    def sibling(self, ino: int) -> Sibling:
        async def fetch() -> bytes:
            self.fetched.append(ino)
            return bytes([ino % 256]) * self.size

        return Sibling(("key", ino), self.size, fetch)


async def test_files_read_in_order_fetch_a_growing_window_ahead(nursery) -> None:
    files = Files(100)
    prefetch = FolderPrefetch(lambda: nursery, ReadAheadBudget(1 << 20))
    prefetch.read_started(1, files.listing, 100, files.sibling)
    await trio.testing.wait_all_tasks_blocked()
    assert files.fetched == [], "one file read is no order yet"
    for ino in range(101, 106):
        prefetch.read_started(1, files.listing, ino, files.sibling)
        await trio.testing.wait_all_tasks_blocked()
    assert sorted(files.fetched) == list(range(102, 106 + MAX_FILES_AHEAD)), "2, 4, 8, 16, 16 ahead"
    assert await prefetch.take(("key", 102)) == bytes([102]) * 10
    assert await prefetch.take(("key", 102)) is None, "handed out once"


async def test_readers_a_little_out_of_order_keep_the_stream_and_a_far_jump_stops_it(nursery) -> None:
    files = Files(200)
    prefetch = FolderPrefetch(lambda: nursery, ReadAheadBudget(1 << 20))
    for ino in (100, 102, 101, 104, 103):
        prefetch.read_started(1, files.listing, ino, files.sibling)
    await trio.testing.wait_all_tasks_blocked()
    assert len(files.fetched) == len(set(files.fetched)) > 8, "nothing fetched twice"
    files.fetched.clear()
    prefetch.read_started(1, files.listing, 250, files.sibling)
    prefetch.read_started(1, files.listing, 150, files.sibling)
    await trio.testing.wait_all_tasks_blocked()
    assert files.fetched == []


async def test_big_files_and_a_spent_budget_are_not_fetched_ahead(nursery) -> None:
    big = Files(10, size=SMALL_FILE + 1)
    prefetch = FolderPrefetch(lambda: nursery, ReadAheadBudget(1 << 30))
    for ino in range(100, 104):
        prefetch.read_started(1, big.listing, ino, big.sibling)
    small = Files(10, size=400)
    budget = ReadAheadBudget(1000)
    limited = FolderPrefetch(lambda: nursery, budget)
    for ino in range(100, 104):
        limited.read_started(2, small.listing, ino, small.sibling)
    await trio.testing.wait_all_tasks_blocked()
    assert big.fetched == [] and len(small.fetched) == 2, "two of 400 bytes fit in 1000"
    assert await limited.take(("key", small.fetched[0])) is not None
    assert budget.used == 400, "what was taken gives its budget back"


async def test_reading_a_folder_in_order_fetches_each_file_once_and_exactly(storage, staging, nursery) -> None:
    top = storage.add_folder("top")
    for i in range(40):
        storage.add_item(top.uuid, f"f{i:02}.jpg", bytes([i]) * (1000 + i))
    fs = make_fs(storage, staging, nursery, root=top)
    names = await ls(fs, ROOT_INO)
    storage.calls.clear()
    lead = []
    for i in range(40):
        assert await cat(fs, names[f"f{i:02}.jpg"]) == bytes([i]) * (1000 + i)
        await trio.testing.wait_all_tasks_blocked()
        lead.append(storage.calls.count("read_range") - (i + 1))
    assert storage.calls.count("read_range") == 40, "each file fetched once"
    assert max(lead) == MAX_FILES_AHEAD, "fetches ran up to a full window ahead of the reader"
